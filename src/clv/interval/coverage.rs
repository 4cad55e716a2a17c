//! Coverage of the asymptotic intervals, by simulation from known parameters: over many
//! simulated data sets, how often the nominal 90% interval of each parameter and of the
//! population's expected purchases in a holdout period holds the truth.
//!
//! The data sets are drawn here rather than with `crate::simulate` (which needs the
//! `frames` feature) so that the simulations run in the models' own test build, without
//! polars: `cargo test --no-default-features --lib interval_coverage -- --ignored
//! --nocapture` runs the full versions (200 data sets each; the numbers are recorded in
//! docs/benchmarks.md), and `interval_coverage_quick` (40 data sets) runs in the normal
//! suite.
//!
//! A data set looks like CDNOW's calibration period: customers acquired over 12 weeks
//! and observed to week 39 (`T` uniform on whole days between 27 and 39 weeks), the
//! holdout 39 weeks. The truth for the population's expected holdout purchases is the sum
//! over customers of their conditional expectation under the true parameters.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, Exp, Gamma};
use rayon::prelude::*;

use super::*;
use crate::clv::{BgBb, BgNbd, MbgNbd, ParetoNbd};

/// Which purchase process [`simulate_purchases`] draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Process {
    /// BG/NBD: dropout with probability p ~ Beta(a, b) after each repeat purchase.
    Geometric,
    /// MBG/NBD: as BG/NBD, and also right after the first purchase (at time 0).
    GeometricFromZero,
    /// Pareto/NBD: an exponential lifetime with rate mu ~ Gamma(s, beta).
    Exponential,
}

/// Per customer `(x, t_x, T)` in weeks from `process`, purchase rate lambda ~
/// Gamma(r, alpha).
pub(super) fn simulate_purchases(
    process: Process,
    params: [f64; 4],
    customers: usize,
    seed: u64,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let rate = Gamma::new(params[0], 1.0 / params[1]).unwrap();
    let (mut x, mut t_x, mut t) = (
        Vec::with_capacity(customers),
        Vec::with_capacity(customers),
        Vec::with_capacity(customers),
    );
    for _ in 0..customers {
        let t_end = f64::from(rng.random_range(189u32..=273)) / 7.0;
        let lambda: f64 = rate.sample(&mut rng).max(1e-300);
        let gap = Exp::new(lambda).unwrap();
        let (mut n, mut last, mut now) = (0.0, 0.0, 0.0);
        if process == Process::Exponential {
            let mu: f64 = Gamma::new(params[2], 1.0 / params[3])
                .unwrap()
                .sample(&mut rng)
                .max(1e-300);
            let end = Exp::new(mu).unwrap().sample(&mut rng).min(t_end);
            loop {
                now += gap.sample(&mut rng);
                if now > end {
                    break;
                }
                n += 1.0;
                last = now;
            }
        } else {
            let p: f64 = Beta::new(params[2], params[3]).unwrap().sample(&mut rng);
            // MBG/NBD's customer may be gone before the first repeat purchase.
            let mut alive = !(process == Process::GeometricFromZero && rng.random::<f64>() < p);
            while alive {
                now += gap.sample(&mut rng);
                if now > t_end {
                    break;
                }
                n += 1.0;
                last = now;
                alive = rng.random::<f64>() >= p;
            }
        }
        x.push(n);
        t_x.push(last);
        t.push(t_end);
    }
    (x, t_x, t)
}

/// Mean repeat spend per customer from Gamma-Gamma `(p, q, gamma)`: nu ~ Gamma(q,
/// rate gamma), and the mean of `x` values Gamma(p, rate nu) is Gamma(p x, rate nu x);
/// 0 without repeats.
pub(super) fn simulate_spend(x: &[f64], params: [f64; 3], seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let nu_dist = Gamma::new(params[1], 1.0 / params[2]).unwrap();
    x.iter()
        .map(|&n| {
            if n == 0.0 {
                return 0.0;
            }
            let nu: f64 = nu_dist.sample(&mut rng);
            Gamma::new(params[0] * n, 1.0 / (nu * n))
                .unwrap()
                .sample(&mut rng)
        })
        .collect()
}

/// What a coverage run found.
#[derive(Debug)]
struct Coverage {
    /// Data sets whose fit succeeded (the shares are of these).
    fitted: usize,
    /// Data sets whose fit failed.
    failed: usize,
    /// Per parameter, the share of intervals holding the true value.
    parameters: Vec<f64>,
    /// The share of intervals of the population's expected holdout purchases holding
    /// the truth (purchase models only).
    purchases: Option<f64>,
}

const LEVEL: f64 = 0.9;
const HOLDOUT: f64 = 39.0;

fn share(hits: &[bool]) -> f64 {
    hits.iter().filter(|h| **h).count() as f64 / hits.len() as f64
}

fn purchase_coverage<M: Model<Data = RepeatData>>(
    process: Process,
    truth: [f64; 4],
    datasets: usize,
    customers: usize,
    draws: usize,
) -> Coverage
where
    Fitted<M>: PurchaseModel,
{
    let true_model = Fitted::<M>::from_params(&truth).unwrap();
    let runs: Vec<Option<(Vec<bool>, bool)>> = (0..datasets)
        .into_par_iter()
        .map(|k| {
            let seed = 1000 + k as u64;
            let (x, t_x, t) = simulate_purchases(process, truth, customers, seed);
            let fit = Fitter::<M>::default()
                .fit(&RepeatData::new(&x, &t_x, &t).unwrap())
                .ok()?;
            let options = IntervalOptions::new(LEVEL).draws(draws).seed(seed);
            let drawn = asymptotic_draws(&fit, &options).ok()?;
            let params: Vec<bool> = drawn
                .intervals(LEVEL)
                .unwrap()
                .iter()
                .zip(truth)
                .map(|(r, v)| r.lo <= v && v <= r.hi)
                .collect();
            let ones = vec![1.0; x.len()];
            let input = CustomerInputs {
                x: &x,
                t_x: &t_x,
                t: &t,
                monetary: &ones,
            };
            let opts = ClvOptions {
                horizon: HOLDOUT,
                ..ClvOptions::default()
            };
            let iv = score_intervals(&drawn.models().unwrap(), None, input, &opts, LEVEL).unwrap();
            let truth_total: f64 = (0..x.len())
                .map(|i| {
                    true_model
                        .conditional_expected_purchases(HOLDOUT, x[i], t_x[i], t[i])
                        .unwrap()
                })
                .sum();
            let r = iv.total_expected_purchases;
            Some((params, r.lo <= truth_total && truth_total <= r.hi))
        })
        .collect();
    let ok: Vec<&(Vec<bool>, bool)> = runs.iter().flatten().collect();
    Coverage {
        fitted: ok.len(),
        failed: datasets - ok.len(),
        parameters: (0..4)
            .map(|j| share(&ok.iter().map(|r| r.0[j]).collect::<Vec<_>>()))
            .collect(),
        purchases: Some(share(&ok.iter().map(|r| r.1).collect::<Vec<_>>())),
    }
}

fn spend_coverage(truth: [f64; 3], datasets: usize, customers: usize, draws: usize) -> Coverage {
    let runs: Vec<Option<Vec<bool>>> = (0..datasets)
        .into_par_iter()
        .map(|k| {
            let seed = 5000 + k as u64;
            let (x, _, _) = simulate_purchases(
                Process::Geometric,
                [0.243, 4.414, 0.793, 2.426],
                customers,
                seed,
            );
            let m = simulate_spend(&x, truth, seed + 1);
            let fit = GammaGamma::fitter()
                .fit(&SpendData::new(&x, &m).unwrap())
                .ok()?;
            let options = IntervalOptions::new(LEVEL).draws(draws).seed(seed);
            let drawn = asymptotic_draws(&fit, &options).ok()?;
            Some(
                drawn
                    .intervals(LEVEL)
                    .unwrap()
                    .iter()
                    .zip(truth)
                    .map(|(r, v)| r.lo <= v && v <= r.hi)
                    .collect(),
            )
        })
        .collect();
    let ok: Vec<&Vec<bool>> = runs.iter().flatten().collect();
    Coverage {
        fitted: ok.len(),
        failed: datasets - ok.len(),
        parameters: (0..3)
            .map(|j| share(&ok.iter().map(|r| r[j]).collect::<Vec<_>>()))
            .collect(),
        purchases: None,
    }
}

/// Opportunities in a BG/BB data set's calibration and holdout periods (the donation
/// data's 6 and 5 years).
const BGBB_CALIBRATION: u32 = 6;
const BGBB_HOLDOUT: f64 = 5.0;

/// Per customer `(x, t_x)` out of [`BGBB_CALIBRATION`] opportunities from BG/BB `(alpha,
/// beta, gamma, delta)`: p ~ Beta(alpha, beta), theta ~ Beta(gamma, delta); at each
/// opportunity a living customer first dies with probability theta, then (alive)
/// transacts with probability p (the order of Fader, Hardie & Shang's likelihood).
fn simulate_bgbb(params: [f64; 4], customers: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (pd, td) = (
        Beta::new(params[0], params[1]).unwrap(),
        Beta::new(params[2], params[3]).unwrap(),
    );
    let (mut x, mut t_x) = (Vec::with_capacity(customers), Vec::with_capacity(customers));
    for _ in 0..customers {
        let (p, theta): (f64, f64) = (pd.sample(&mut rng), td.sample(&mut rng));
        let (mut n, mut last) = (0.0, 0.0);
        for j in 1..=BGBB_CALIBRATION {
            if rng.random::<f64>() < theta {
                break;
            }
            if rng.random::<f64>() < p {
                n += 1.0;
                last = f64::from(j);
            }
        }
        x.push(n);
        t_x.push(last);
    }
    (x, t_x)
}

/// BG/BB coverage: per parameter, and of the population's expected transactions in the
/// next [`BGBB_HOLDOUT`] opportunities (per draw, the sum over customers of their
/// conditional expectation; the truth is the same sum under the true parameters).
fn bgbb_coverage(truth: [f64; 4], datasets: usize, customers: usize, draws: usize) -> Coverage {
    let true_model = Fitted::<BgBb>::from_params(&truth).unwrap();
    let n = f64::from(BGBB_CALIBRATION);
    let runs: Vec<Option<(Vec<bool>, bool)>> = (0..datasets)
        .into_par_iter()
        .map(|k| {
            let seed = 9000 + k as u64;
            let (x, t_x) = simulate_bgbb(truth, customers, seed);
            let periods = vec![n; x.len()];
            let fit = Fitter::<BgBb>::default()
                .fit(&DiscreteData::new(&x, &t_x, &periods, None).unwrap())
                .ok()?;
            let options = IntervalOptions::new(LEVEL).draws(draws).seed(seed);
            let drawn = asymptotic_draws(&fit, &options).ok()?;
            let params: Vec<bool> = drawn
                .intervals(LEVEL)
                .unwrap()
                .iter()
                .zip(truth)
                .map(|(r, v)| r.lo <= v && v <= r.hi)
                .collect();
            let total = |m: &Fitted<BgBb>| -> f64 {
                x.iter()
                    .zip(&t_x)
                    .map(|(&xi, &ti)| m.conditional_expected_purchases(BGBB_HOLDOUT, xi, ti, n))
                    .sum()
            };
            let mut totals: Vec<f64> = drawn.models().unwrap().iter().map(total).collect();
            let r = Range::of(&mut totals, LEVEL);
            let t = total(&true_model);
            Some((params, r.lo <= t && t <= r.hi))
        })
        .collect();
    let ok: Vec<&(Vec<bool>, bool)> = runs.iter().flatten().collect();
    Coverage {
        fitted: ok.len(),
        failed: datasets - ok.len(),
        parameters: (0..4)
            .map(|j| share(&ok.iter().map(|r| r.0[j]).collect::<Vec<_>>()))
            .collect(),
        purchases: Some(share(&ok.iter().map(|r| r.1).collect::<Vec<_>>())),
    }
}

/// Asserts every share is within `[lo, hi]`, after printing them all.
fn assert_within(name: &str, c: &Coverage, lo: f64, hi: f64) {
    eprintln!("{name}: {c:?}");
    assert!(c.fitted > 0 && c.failed == 0, "{name}: fits failed");
    for (j, s) in c.parameters.iter().enumerate() {
        assert!(lo <= *s && *s <= hi, "{name}: parameter {j} covered in {s}");
    }
    if let Some(s) = c.purchases {
        assert!(
            lo <= s && s <= hi,
            "{name}: holdout purchases covered in {s}"
        );
    }
}

/// CDNOW's published BG/NBD estimates (Fader, Hardie & Lee 2005).
const BG_TRUTH: [f64; 4] = [0.243, 4.414, 0.793, 2.426];
/// CDNOW's published Pareto/NBD estimates (lifetimes' fit of the same data).
const PNBD_TRUTH: [f64; 4] = [0.553, 10.578, 0.606, 11.669];
/// CDNOW's MBG/NBD estimates (lifetimes' fit of the same data).
const MBG_TRUTH: [f64; 4] = [0.525, 6.183, 0.891, 1.614];
/// The donation data's published BG/BB estimates (Fader, Hardie & Shang 2010).
const BGBB_TRUTH: [f64; 4] = [1.204, 0.750, 0.657, 2.783];
/// CDNOW's published Gamma-Gamma estimates.
const GG_TRUTH: [f64; 3] = [6.25, 3.74, 15.44];

/// The quick version in the normal suite: 40 BG/NBD data sets of 1,000 customers, 100
/// draws. With 40 data sets a true 90% coverage gives 36 hits with a standard deviation
/// of 1.9, so the band (at least 30 of 40, 75%) only catches gross under-coverage; the
/// 85-95% check is the ignored 200-set version.
#[test]
fn interval_coverage_quick() {
    let c = purchase_coverage::<BgNbd>(Process::Geometric, BG_TRUTH, 40, 1000, 100);
    assert_within("bg-nbd quick", &c, 0.75, 1.0);
}

/// 200 BG/NBD data sets of 2,357 customers (CDNOW's size), 500 draws: 85-95%.
#[test]
#[ignore = "long: the full coverage simulation, run by hand and recorded in docs/benchmarks.md"]
fn interval_coverage_bgnbd() {
    let c = purchase_coverage::<BgNbd>(Process::Geometric, BG_TRUTH, 200, 2357, 500);
    assert_within("bg-nbd", &c, 0.85, 0.95);
}

/// 200 Pareto/NBD data sets of 2,357 customers, 500 draws: 85-95%.
#[test]
#[ignore = "long: the full coverage simulation, run by hand and recorded in docs/benchmarks.md"]
fn interval_coverage_paretonbd() {
    let c = purchase_coverage::<ParetoNbd>(Process::Exponential, PNBD_TRUTH, 200, 2357, 500);
    assert_within("pareto-nbd", &c, 0.85, 0.95);
}

/// 200 Gamma-Gamma data sets (the repeat customers of 2,357), 500 draws: 85-95%.
#[test]
#[ignore = "long: the full coverage simulation, run by hand and recorded in docs/benchmarks.md"]
fn interval_coverage_gammagamma() {
    let c = spend_coverage(GG_TRUTH, 200, 2357, 500);
    assert_within("gamma-gamma", &c, 0.85, 0.95);
}

/// 200 MBG/NBD data sets of 2,357 customers, 500 draws: 85-95%. Fails today (r 75.5%,
/// b 80.5%; the population's holdout purchases 90.5%): docs/benchmarks.md, issue #17.
#[test]
#[ignore = "long, and fails today (MBG/NBD's r and b under-cover): docs/benchmarks.md"]
fn interval_coverage_mbgnbd() {
    let c = purchase_coverage::<MbgNbd>(Process::GeometricFromZero, MBG_TRUTH, 200, 2357, 500);
    assert_within("mbg-nbd", &c, 0.85, 0.95);
}

/// 200 BG/BB data sets of 2,000 customers over 6 opportunities, 500 draws: 85-95%.
#[test]
#[ignore = "long: the full coverage simulation, run by hand and recorded in docs/benchmarks.md"]
fn interval_coverage_bgbb() {
    let c = bgbb_coverage(BGBB_TRUTH, 200, 2000, 500);
    assert_within("bg-bb", &c, 0.85, 0.95);
}
