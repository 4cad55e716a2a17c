//! The conditional predictions of `clv::conditional` against simulation from known
//! parameters: customers are drawn from each model, observed to their age `T`, and
//! followed to `T + t`. Given each customer's history the model's P(alive at T+t) is the
//! probability of a Bernoulli draw independent across customers, so the number found
//! alive has mean `sum p_i` and variance `sum p_i (1 - p_i)`; likewise the number with
//! exactly `n` purchases in `(T, T+t]` against `sum P_i(n)`. Each count must lie within
//! 4.5 standard deviations (a false alarm about once in 150,000 checks), overall and
//! within groups of calibration frequency, where a wrong formula would show.

use patronage::clv::conditional::ConditionalPurchases;
use patronage::clv::{BgNbd, MbgNbd, ParetoNbd};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, Exp, Gamma};

/// One simulated customer: calibration history and what happened after `T`.
struct Customer {
    x: f64,
    t_x: f64,
    t: f64,
    alive_later: bool,
    later_purchases: u32,
}

#[derive(Clone, Copy)]
enum Truth {
    /// BG/NBD (`mbg = false`) or MBG/NBD (`mbg = true`): r, alpha, a, b.
    Bg { p: [f64; 4], mbg: bool },
    /// Pareto/NBD: r, alpha, s, beta.
    Pareto([f64; 4]),
}

const FUTURE: f64 = 26.0;
const CUSTOMERS: usize = 60_000;

fn simulate(truth: Truth, seed: u64) -> Vec<Customer> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (r, alpha) = match truth {
        Truth::Bg { p, .. } | Truth::Pareto(p) => (p[0], p[1]),
    };
    let rate = Gamma::new(r, 1.0 / alpha).unwrap();
    (0..CUSTOMERS)
        .map(|_| {
            let t = 20.0 + 19.0 * rng.random::<f64>();
            let end = t + FUTURE;
            let lambda: f64 = rate.sample(&mut rng).max(1e-300);
            let gap = Exp::new(lambda).unwrap();
            // Purchase ages up to `end` and the age of death (infinite if alive at end).
            let mut purchases = Vec::new();
            let death = match truth {
                Truth::Bg { p, mbg } => {
                    let drop: f64 = Beta::new(p[2], p[3]).unwrap().sample(&mut rng);
                    let mut death = f64::INFINITY;
                    if !(mbg && rng.random::<f64>() < drop) {
                        let mut age = 0.0;
                        loop {
                            age += gap.sample(&mut rng);
                            if age > end {
                                break;
                            }
                            purchases.push(age);
                            if rng.random::<f64>() < drop {
                                death = age;
                                break;
                            }
                        }
                    } else {
                        death = 0.0;
                    }
                    death
                }
                Truth::Pareto(p) => {
                    let mu: f64 = Gamma::new(p[2], 1.0 / p[3])
                        .unwrap()
                        .sample(&mut rng)
                        .max(1e-300);
                    let life: f64 = Exp::new(mu).unwrap().sample(&mut rng);
                    let mut age = 0.0;
                    loop {
                        age += gap.sample(&mut rng);
                        if age > end.min(life) {
                            break;
                        }
                        purchases.push(age);
                    }
                    life
                }
            };
            let before: Vec<f64> = purchases.iter().copied().filter(|a| *a <= t).collect();
            Customer {
                x: before.len() as f64,
                t_x: before.last().copied().unwrap_or(0.0),
                t,
                alive_later: death > end,
                later_purchases: (purchases.len() - before.len()) as u32,
            }
        })
        .collect()
}

/// `observed` events against Bernoulli probabilities `p`: within 4.5 standard deviations.
fn within(what: &str, observed: usize, p: &[f64]) {
    let mean: f64 = p.iter().sum();
    let sd = p.iter().map(|v| v * (1.0 - v)).sum::<f64>().sqrt();
    let z = (observed as f64 - mean) / sd.max(1e-12);
    assert!(
        z.abs() < 4.5,
        "{what}: observed {observed}, expected {mean:.1} (sd {sd:.1}, z {z:.2})"
    );
}

/// Which calibration frequencies a group of customers holds.
type Keep = fn(f64) -> bool;

fn check(model: &dyn ConditionalPurchases, truth: Truth, seed: u64) {
    let name = model.model_name();
    let customers = simulate(truth, seed);
    // Groups of calibration frequency: 0, 1, 2-4, 5+, and everyone.
    let groups: [(&str, Keep); 5] = [
        ("x = 0", |x| x == 0.0),
        ("x = 1", |x| x == 1.0),
        ("x in 2..=4", |x| (2.0..=4.0).contains(&x)),
        ("x >= 5", |x| x >= 5.0),
        ("all", |_| true),
    ];
    for (label, keep) in groups {
        let members: Vec<&Customer> = customers.iter().filter(|c| keep(c.x)).collect();
        assert!(
            members.len() > 500,
            "{name} {label}: {} customers",
            members.len()
        );
        let p: Vec<f64> = members
            .iter()
            .map(|c| model.p_alive_at(FUTURE, c.x, c.t_x, c.t).unwrap())
            .collect();
        let alive = members.iter().filter(|c| c.alive_later).count();
        within(&format!("{name} {label} alive at T+t"), alive, &p);
        for n in 0..4u32 {
            let p: Vec<f64> = members
                .iter()
                .map(|c| {
                    model
                        .conditional_prob_purchases(n, FUTURE, c.x, c.t_x, c.t)
                        .unwrap()
                })
                .collect();
            let seen = members.iter().filter(|c| c.later_purchases == n).count();
            within(&format!("{name} {label} {n} purchases"), seen, &p);
        }
    }
}

const BG: [f64; 4] = [0.2425982, 4.4136842, 0.7929899, 2.4261667];
const MBG: [f64; 4] = [0.525, 6.183, 0.891, 1.614];
const PNBD: [f64; 4] = [0.553, 10.578, 0.606, 11.669];

#[test]
fn bgnbd_conditional_predictions_match_simulation() {
    let m = BgNbd::from_params(&BG).unwrap();
    check(&m, Truth::Bg { p: BG, mbg: false }, 11);
}

#[test]
fn mbgnbd_conditional_predictions_match_simulation() {
    let m = MbgNbd::from_params(&MBG).unwrap();
    check(&m, Truth::Bg { p: MBG, mbg: true }, 12);
}

#[test]
fn paretonbd_conditional_predictions_match_simulation() {
    let m = ParetoNbd::from_params(&PNBD).unwrap();
    check(&m, Truth::Pareto(PNBD), 13);
}

/// The check has power: the naive "P(alive now) stays P(alive) at T+t" is rejected.
#[test]
fn simulation_check_rejects_ignoring_future_dropout() {
    use patronage::clv::PurchaseModel;
    let m = BgNbd::from_params(&BG).unwrap();
    let customers = simulate(Truth::Bg { p: BG, mbg: false }, 11);
    let p: Vec<f64> = customers
        .iter()
        .map(|c| m.p_alive(c.x, c.t_x, c.t))
        .collect();
    let alive = customers.iter().filter(|c| c.alive_later).count();
    let mean: f64 = p.iter().sum();
    let sd = p.iter().map(|v| v * (1.0 - v)).sum::<f64>().sqrt();
    assert!((alive as f64 - mean) / sd < -4.5, "{alive} vs {mean}");
}
