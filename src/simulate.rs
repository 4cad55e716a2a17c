//! Seeded synthetic transaction logs drawn from known model parameters.
//!
//! Purchases follow the BG/NBD process (Fader, Hardie & Lee 2005): while alive a customer
//! buys as a Poisson process with rate λ ~ Gamma(r, α); after each repeat purchase the
//! customer drops out with probability p ~ Beta(a, b) (the first purchase never ends a
//! customer, as in the model's likelihood). Spend follows the Gamma-Gamma model (Fader,
//! Hardie & Lee 2005b): each customer has ν ~ Gamma(q, γ) and each transaction value is
//! Gamma(p_gg, ν), so the mean spend is p_gg / ν. Times are in weeks. With
//! [`PurchaseProcess::ParetoNbd`] the dropout is an exponential lifetime with rate
//! μ ~ Gamma(s, β) instead (Schmittlein, Morrison & Colombo 1987).
//!
//! Each purchase has one to three lines with a quantity, a line `cost` and `unit_cost`
//! at a 20-40% margin, a channel (a customer's preferred one 80% of the time), and a
//! `return_rate` chance of being returned 3-27 days later (a negative line flagged
//! `is_return`). The customer table holds the truth (rates, dropout, death) and a count of
//! service contacts for cost-to-serve.
//!
//! [`simulate_repeat_data`] draws `(frequency, recency, T)` directly, in continuous
//! time, for testing estimators.
//!
//! Each block of 4,096 customers draws from its own ChaCha8 stream of the seed, so the
//! output depends only on the spec and the seed, never on the thread count.

use polars::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, Exp, Gamma, Poisson};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::transactions::units::parse_option_date;

/// What to simulate.
///
/// # Example
/// ```
/// use patronage::simulate::{SimulationSpec, simulate};
/// let sim = simulate(&SimulationSpec { customers: 200, seed: 7, ..SimulationSpec::default() }).unwrap();
/// assert_eq!(sim.customers.height(), 200);
/// assert!(sim.transactions.height() >= 200);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimulationSpec {
    /// Number of customers.
    pub customers: usize,
    /// Seed of the random streams.
    pub seed: u64,
    /// First day of the log (ISO date).
    pub start: String,
    /// Customers are acquired uniformly over the first `acquisition_weeks` weeks.
    pub acquisition_weeks: f64,
    /// Length of the log in weeks.
    pub weeks: f64,
    /// BG/NBD purchase rate shape `r`.
    pub r: f64,
    /// BG/NBD purchase rate scale `alpha`.
    pub alpha: f64,
    /// BG/NBD dropout `a`.
    pub a: f64,
    /// BG/NBD dropout `b`.
    pub b: f64,
    /// Gamma-Gamma transaction shape `p`.
    pub p: f64,
    /// Gamma-Gamma shape `q`.
    pub q: f64,
    /// Gamma-Gamma scale `gamma`.
    pub gamma: f64,
    /// Probability that a purchase line is later (partly) returned.
    pub return_rate: f64,
    /// Purchase process: BG/NBD (dropout after repeat purchases, `a`, `b`) or Pareto/NBD
    /// (exponential lifetimes, `s`, `beta`).
    pub process: PurchaseProcess,
    /// Pareto/NBD: shape of the dropout-rate distribution.
    pub s: f64,
    /// Pareto/NBD: scale of the dropout-rate distribution (weeks).
    pub beta: f64,
    /// Mean service contacts per purchase (each customer's contacts are Poisson with mean
    /// `0.3 + service_rate * purchases`), reported in the customer table.
    pub service_rate: f64,
}

/// The purchase process of [`simulate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PurchaseProcess {
    /// BG/NBD: after each repeat purchase the customer drops out with probability p.
    #[default]
    BgNbd,
    /// Pareto/NBD: an exponential lifetime with rate mu ~ Gamma(s, beta).
    ParetoNbd,
}

impl Default for SimulationSpec {
    /// The CDNOW fits of the papers: BG/NBD r 0.243, alpha 4.414, a 0.793, b 2.426;
    /// Gamma-Gamma p 6.25, q 3.74, gamma 15.44; 12 weeks of acquisition, 78 weeks of log.
    fn default() -> Self {
        SimulationSpec {
            customers: 10_000,
            seed: 1,
            start: "2024-01-01".into(),
            acquisition_weeks: 12.0,
            weeks: 78.0,
            r: 0.243,
            alpha: 4.414,
            a: 0.793,
            b: 2.426,
            p: 6.25,
            q: 3.74,
            gamma: 15.44,
            return_rate: 0.03,
            process: PurchaseProcess::BgNbd,
            s: 0.606,
            beta: 11.669,
            service_rate: 0.2,
        }
    }
}

/// A simulated log and the truth behind it.
#[derive(Debug, Clone)]
pub struct Simulated {
    /// `order_id, customer_id, date, channel, quantity, amount, cost, is_return`, one row
    /// per order line, sorted by date.
    pub transactions: DataFrame,
    /// Per customer: `customer_id, birth_week, lambda, p_dropout, nu, death_week` (null
    /// when alive at the end), `purchases`.
    pub customers: DataFrame,
}

#[derive(Default)]
struct Block {
    order: Vec<u64>,
    cust: Vec<u32>,
    day: Vec<i32>,
    channel: Vec<&'static str>,
    qty: Vec<u32>,
    amount: Vec<f64>,
    cost: Vec<f64>,
    ret: Vec<bool>,
    birth: Vec<f64>,
    lambda: Vec<f64>,
    pdrop: Vec<f64>,
    nu: Vec<f64>,
    death: Vec<Option<f64>>,
    purchases: Vec<u32>,
    contacts: Vec<u32>,
}

const CHANNELS: [&str; 3] = ["web", "store", "phone"];
const BLOCK: usize = 4096;

fn check(spec: &SimulationSpec) -> Result<i32> {
    for (name, v) in [
        ("r", spec.r),
        ("alpha", spec.alpha),
        ("a", spec.a),
        ("b", spec.b),
        ("p", spec.p),
        ("q", spec.q),
        ("gamma", spec.gamma),
        ("weeks", spec.weeks),
        ("s", spec.s),
        ("beta", spec.beta),
    ] {
        if !(v.is_finite() && v > 0.0) {
            return Err(Error::invalid(
                name,
                format!("{v} must be positive and finite"),
            ));
        }
    }
    if !(spec.acquisition_weeks.is_finite() && (0.0..=spec.weeks).contains(&spec.acquisition_weeks))
    {
        return Err(Error::invalid("acquisition_weeks", "must be in 0..=weeks"));
    }
    if !(spec.service_rate.is_finite() && spec.service_rate >= 0.0) {
        return Err(Error::invalid("service_rate", "must be finite and >= 0"));
    }
    if !(0.0..=1.0).contains(&spec.return_rate) {
        return Err(Error::invalid("return_rate", "must be in 0..=1"));
    }
    if spec.customers == 0 || spec.customers > u32::MAX as usize {
        return Err(Error::invalid("customers", "must be in 1..=4294967295"));
    }
    parse_option_date("start", &spec.start)
}

fn dist_err(e: impl std::fmt::Display) -> Error {
    Error::invalid("parameters", e.to_string())
}

fn block(spec: &SimulationSpec, index: usize, start_day: i32) -> Result<Block> {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    rng.set_stream(index as u64);
    let rate = Gamma::new(spec.r, 1.0 / spec.alpha).map_err(dist_err)?;
    let drop = Beta::new(spec.a, spec.b).map_err(dist_err)?;
    let nu_d = Gamma::new(spec.q, 1.0 / spec.gamma).map_err(dist_err)?;
    let lo = index * BLOCK;
    let hi = ((index + 1) * BLOCK).min(spec.customers);
    let mut out = Block::default();
    let mut order = (index as u64) << 32;
    for c in lo..hi {
        let birth = rng.random::<f64>() * spec.acquisition_weeks;
        let lambda: f64 = rate.sample(&mut rng).max(1e-12);
        let p: f64 = drop.sample(&mut rng);
        let nu: f64 = nu_d.sample(&mut rng).max(1e-12);
        let spend = Gamma::new(spec.p, 1.0 / nu).map_err(dist_err)?;
        let gap = Exp::new(lambda).map_err(dist_err)?;
        let preferred = rng.random_range(0..CHANNELS.len());
        let mut t = birth;
        let mut death = None;
        let mut n = 0u32;
        // Pareto/NBD: the customer's end of life, drawn up front.
        let life_end = match spec.process {
            PurchaseProcess::BgNbd => f64::INFINITY,
            PurchaseProcess::ParetoNbd => {
                let mu: f64 = Gamma::new(spec.s, 1.0 / spec.beta)
                    .map_err(dist_err)?
                    .sample(&mut rng)
                    .max(1e-300);
                birth + Exp::new(mu).map_err(dist_err)?.sample(&mut rng)
            }
        };
        loop {
            n += 1;
            order += 1;
            let value: f64 = spend.sample(&mut rng);
            let day = start_day + (t * 7.0).floor() as i32;
            let channel = if rng.random::<f64>() < 0.8 {
                CHANNELS[preferred]
            } else {
                CHANNELS[rng.random_range(0..3)]
            };
            let lines =
                1 + usize::from(rng.random::<f64>() < 0.3) + usize::from(rng.random::<f64>() < 0.1);
            let weights: Vec<f64> = (0..lines).map(|_| 0.5 + rng.random::<f64>()).collect();
            let total_w: f64 = weights.iter().sum();
            for w in weights {
                let amount = (value * w / total_w * 100.0).round() / 100.0;
                let margin = 0.2 + 0.2 * rng.random::<f64>();
                let cost = (amount * (1.0 - margin) * 100.0).round() / 100.0;
                let qty = 1 + rng.random_range(0..4u32);
                out.order.push(order);
                out.cust.push(c as u32);
                out.day.push(day);
                out.channel.push(channel);
                out.qty.push(qty);
                out.amount.push(amount);
                out.cost.push(cost);
                out.ret.push(false);
                if rng.random::<f64>() < spec.return_rate {
                    let back = day + 3 + rng.random_range(0..25);
                    if f64::from(back - start_day) < spec.weeks * 7.0 {
                        order += 1;
                        out.order.push(order);
                        out.cust.push(c as u32);
                        out.day.push(back);
                        out.channel.push(channel);
                        out.qty.push(qty);
                        out.amount.push(-amount);
                        out.cost.push(-cost);
                        out.ret.push(true);
                    }
                }
            }
            // BG/NBD: dropout may follow a repeat purchase, never the first one.
            if spec.process == PurchaseProcess::BgNbd && n > 1 && rng.random::<f64>() < p {
                death = Some(t);
                break;
            }
            t += gap.sample(&mut rng);
            if t >= life_end && life_end < spec.weeks {
                death = Some(life_end);
                break;
            }
            if t >= spec.weeks {
                break;
            }
        }
        out.birth.push(birth);
        out.lambda.push(lambda);
        out.pdrop.push(p);
        out.nu.push(nu);
        out.death.push(death);
        out.purchases.push(n);
        let contacts: f64 = Poisson::new(0.3 + spec.service_rate * f64::from(n))
            .map_err(dist_err)?
            .sample(&mut rng);
        out.contacts.push(contacts as u32);
    }
    Ok(out)
}

/// Customer id text of index `c`: `C` and nine digits.
pub fn customer_id(c: u32) -> String {
    format!("C{c:09}")
}

/// Draws a log from `spec`.
///
/// # Errors
/// [`Error::InvalidOption`] for a parameter that is not positive and finite, a start that
/// is not a date, or zero customers.
pub fn simulate(spec: &SimulationSpec) -> Result<Simulated> {
    let start_day = check(spec)?;
    let n_blocks = spec.customers.div_ceil(BLOCK);
    let blocks: Vec<Block> = (0..n_blocks)
        .into_par_iter()
        .map(|i| block(spec, i, start_day))
        .collect::<Result<_>>()?;
    let rows: usize = blocks.iter().map(|b| b.day.len()).sum();
    let mut day = Vec::with_capacity(rows);
    let mut ids = Vec::with_capacity(rows);
    for b in &blocks {
        day.extend_from_slice(&b.day);
        ids.extend(b.cust.iter().map(|&c| customer_id(c)));
    }
    macro_rules! gather {
        ($field:ident) => {
            blocks
                .iter()
                .flat_map(|b| b.$field.iter().cloned())
                .collect::<Vec<_>>()
        };
    }
    let unit_cost: Vec<f64> = blocks
        .iter()
        .flat_map(|b| {
            b.cost
                .iter()
                .zip(&b.qty)
                .map(|(c, q)| (c / f64::from(*q) * 10_000.0).round() / 10_000.0)
        })
        .collect();
    let transactions = DataFrame::new_infer_height(vec![
        Column::new("order_id".into(), gather!(order)),
        Column::new("customer_id".into(), ids),
        Column::new("date".into(), day).cast(&DataType::Date)?,
        Column::new("channel".into(), gather!(channel)),
        Column::new("quantity".into(), gather!(qty)),
        Column::new("amount".into(), gather!(amount)),
        Column::new("cost".into(), gather!(cost)),
        Column::new("unit_cost".into(), unit_cost),
        Column::new("is_return".into(), gather!(ret)),
    ])?
    .sort(
        ["date", "order_id"],
        SortMultipleOptions::default().with_maintain_order(true),
    )?;
    let customers = DataFrame::new_infer_height(vec![
        Column::new(
            "customer_id".into(),
            (0..spec.customers as u32)
                .map(customer_id)
                .collect::<Vec<_>>(),
        ),
        Column::new("birth_week".into(), gather!(birth)),
        Column::new("lambda".into(), gather!(lambda)),
        Column::new("p_dropout".into(), gather!(pdrop)),
        Column::new("nu".into(), gather!(nu)),
        Column::new("death_week".into(), gather!(death)),
        Column::new("purchases".into(), gather!(purchases)),
        Column::new("service_contacts".into(), gather!(contacts)),
    ])?;
    Ok(Simulated {
        transactions,
        customers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_spec_checked() {
        let spec = SimulationSpec {
            customers: 5000,
            seed: 3,
            ..SimulationSpec::default()
        };
        let a = simulate(&spec).unwrap();
        let b = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| simulate(&spec).unwrap());
        assert!(a.transactions.equals_missing(&b.transactions));
        assert!(a.customers.equals_missing(&b.customers));
        let bad = SimulationSpec {
            r: -1.0,
            ..SimulationSpec::default()
        };
        assert!(simulate(&bad).is_err());
        let bad = SimulationSpec {
            start: "soon".into(),
            ..SimulationSpec::default()
        };
        assert!(simulate(&bad).is_err());
    }

    #[test]
    fn mean_rate_and_spend_match_the_parameters() {
        let spec = SimulationSpec {
            customers: 40_000,
            seed: 11,
            return_rate: 0.0,
            ..SimulationSpec::default()
        };
        let sim = simulate(&spec).unwrap();
        let lambda = sim
            .customers
            .column("lambda")
            .unwrap()
            .f64()
            .unwrap()
            .mean()
            .unwrap();
        // E[lambda] = r / alpha = 0.0551; standard error of the mean ~ 0.0006.
        assert!((lambda - spec.r / spec.alpha).abs() < 0.003, "{lambda}");
        let p = sim
            .customers
            .column("p_dropout")
            .unwrap()
            .f64()
            .unwrap()
            .mean()
            .unwrap();
        assert!((p - spec.a / (spec.a + spec.b)).abs() < 0.006, "{p}");
    }
}

/// The purchase process of [`simulate_repeat_data`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "kebab-case")]
pub enum Process {
    /// BG/NBD with `r, alpha, a, b`.
    BgNbd {
        /// Shape of the purchase-rate distribution.
        r: f64,
        /// Scale of the purchase-rate distribution.
        alpha: f64,
        /// Dropout Beta `a`.
        a: f64,
        /// Dropout Beta `b`.
        b: f64,
    },
    /// Pareto/NBD with `r, alpha, s, beta`.
    ParetoNbd {
        /// Shape of the purchase-rate distribution.
        r: f64,
        /// Scale of the purchase-rate distribution.
        alpha: f64,
        /// Shape of the dropout-rate distribution.
        s: f64,
        /// Scale of the dropout-rate distribution.
        beta: f64,
    },
}

/// Per-customer `(frequency, recency, T)` drawn directly from a purchase process in
/// continuous time, for testing estimators without any data preparation in between.
#[derive(Debug, Clone, PartialEq)]
pub struct RepeatSample {
    /// Repeat purchases.
    pub frequency: Vec<f64>,
    /// Age at the last repeat purchase (0 without repeats).
    pub recency: Vec<f64>,
    /// Age at the end of observation, uniform on `[t_min, t_max]`.
    pub t: Vec<f64>,
}

/// Draws `customers` recency-frequency triples from `process` with ages uniform on
/// `[t_min, t_max]`; seeded, one ChaCha8 stream per block of customers, so the result
/// is the same whatever the thread count.
///
/// # Errors
///
/// [`Error::InvalidOption`] for a non-positive parameter, an empty age range or zero
/// customers.
///
/// # Example
///
/// ```
/// use patronage::simulate::{Process, simulate_repeat_data};
/// let p = Process::BgNbd { r: 0.24, alpha: 4.41, a: 0.79, b: 2.43 };
/// let s = simulate_repeat_data(&p, 1000, 30.0, 39.0, 1).unwrap();
/// assert_eq!(s.frequency.len(), 1000);
/// assert!(s.recency.iter().zip(&s.t).all(|(r, t)| r <= t));
/// ```
pub fn simulate_repeat_data(
    process: &Process,
    customers: usize,
    t_min: f64,
    t_max: f64,
    seed: u64,
) -> Result<RepeatSample> {
    let params = check_repeat(process, customers, t_min, t_max)?;
    draw_repeat(process, customers, t_min, t_max, seed, |_| params)
}

/// The base parameters of `process`, after the checks of [`simulate_repeat_data`].
fn check_repeat(process: &Process, customers: usize, t_min: f64, t_max: f64) -> Result<[f64; 4]> {
    let params = match *process {
        Process::BgNbd { r, alpha, a, b } => [r, alpha, a, b],
        Process::ParetoNbd { r, alpha, s, beta } => [r, alpha, s, beta],
    };
    if !params.iter().all(|v| v.is_finite() && *v > 0.0) {
        return Err(Error::invalid(
            "parameters",
            "every parameter must be positive and finite",
        ));
    }
    if !(t_min.is_finite() && t_max.is_finite() && 0.0 <= t_min && t_min <= t_max && t_max > 0.0) {
        return Err(Error::invalid(
            "T range",
            "needs 0 <= t_min <= t_max, t_max > 0",
        ));
    }
    if customers == 0 {
        return Err(Error::invalid("customers", "must be at least 1"));
    }
    Ok(params)
}

/// The draws of [`simulate_repeat_data`] with customer `i`'s parameters `params(i)`
/// (in the process's order: `r, alpha, a, b` or `r, alpha, s, beta`).
fn draw_repeat(
    process: &Process,
    customers: usize,
    t_min: f64,
    t_max: f64,
    seed: u64,
    params: impl Fn(usize) -> [f64; 4] + Sync,
) -> Result<RepeatSample> {
    let n_blocks = customers.div_ceil(BLOCK);
    let blocks: Vec<Vec<(f64, f64, f64)>> = (0..n_blocks)
        .into_par_iter()
        .map(|bi| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(bi as u64);
            let lo = bi * BLOCK;
            let hi = ((bi + 1) * BLOCK).min(customers);
            let mut out = Vec::with_capacity(hi - lo);
            for c in lo..hi {
                let params = params(c);
                let rate = Gamma::new(params[0], 1.0 / params[1]).map_err(dist_err)?;
                let t_end = t_min + (t_max - t_min) * rng.random::<f64>();
                let lambda: f64 = rate.sample(&mut rng).max(1e-300);
                let gap = Exp::new(lambda).map_err(dist_err)?;
                let (mut x, mut t_x, mut t) = (0.0, 0.0, 0.0);
                match *process {
                    Process::BgNbd { .. } => {
                        let p: f64 = Beta::new(params[2], params[3])
                            .map_err(dist_err)?
                            .sample(&mut rng);
                        loop {
                            t += gap.sample(&mut rng);
                            if t > t_end {
                                break;
                            }
                            x += 1.0;
                            t_x = t;
                            if rng.random::<f64>() < p {
                                break;
                            }
                        }
                    }
                    Process::ParetoNbd { .. } => {
                        let mu: f64 = Gamma::new(params[2], 1.0 / params[3])
                            .map_err(dist_err)?
                            .sample(&mut rng)
                            .max(1e-300);
                        let life: f64 = Exp::new(mu).map_err(dist_err)?.sample(&mut rng);
                        let end = life.min(t_end);
                        loop {
                            t += gap.sample(&mut rng);
                            if t > end {
                                break;
                            }
                            x += 1.0;
                            t_x = t;
                        }
                    }
                }
                out.push((x, t_x, t_end));
            }
            Ok(out)
        })
        .collect::<Result<Vec<_>>>()?;
    let mut s = RepeatSample {
        frequency: Vec::with_capacity(customers),
        recency: Vec::with_capacity(customers),
        t: Vec::with_capacity(customers),
    };
    for (x, tx, t) in blocks.into_iter().flatten() {
        s.frequency.push(x);
        s.recency.push(tx);
        s.t.push(t);
    }
    Ok(s)
}

/// Like [`simulate_repeat_data`] with time-invariant covariates (customer `i`'s row
/// `z.row(i)`) acting through `coefficients` in the parametrisation of
/// [`crate::clv::covariates`], process by process, covariates in order within:
/// BG/NBD `[purchase…, dropout_a…, dropout_b…]` (`α_i = α e^{−γ_pᵀz}`,
/// `a_i = a e^{γ_aᵀz}`, `b_i = b e^{γ_bᵀz}`), Pareto/NBD `[purchase…, dropout…]`
/// (`α_i = α e^{−γ_pᵀz}`, `β_i = β e^{−γ_dᵀz}`). Seeded as [`simulate_repeat_data`]:
/// with every coefficient at zero the draws are the same.
///
/// # Errors
///
/// As [`simulate_repeat_data`]; [`Error::InvalidOption`] (option `coefficients`) when
/// their number is not the processes' times `z`'s columns or one is not finite.
///
/// # Example
///
/// ```
/// use patronage::clv::covariates::Covariates;
/// use patronage::simulate::{Process, simulate_covariate_repeat_data};
/// let z = Covariates::new(vec!["web".into()], vec![(0..100).map(|i| (i % 2) as f64).collect()])?;
/// let p = Process::BgNbd { r: 0.24, alpha: 4.41, a: 0.79, b: 2.43 };
/// let s = simulate_covariate_repeat_data(&p, &z, &[0.5, 0.0, 0.0], 30.0, 39.0, 1)?;
/// assert_eq!(s.frequency.len(), 100);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn simulate_covariate_repeat_data(
    process: &Process,
    z: &crate::clv::covariates::Covariates,
    coefficients: &[f64],
    t_min: f64,
    t_max: f64,
    seed: u64,
) -> Result<RepeatSample> {
    let (base, processes): ([f64; 4], &[(usize, f64)]) = match *process {
        Process::BgNbd { r, alpha, a, b } => ([r, alpha, a, b], &[(1, -1.0), (2, 1.0), (3, 1.0)]),
        Process::ParetoNbd { r, alpha, s, beta } => ([r, alpha, s, beta], &[(1, -1.0), (3, -1.0)]),
    };
    let k = z.n_columns();
    check_coefficients(coefficients, processes.len() * k)?;
    check_repeat(process, z.n_rows(), t_min, t_max)?;
    draw_repeat(process, z.n_rows(), t_min, t_max, seed, |i| {
        scaled_params(base, processes, coefficients, z.row(i))
    })
}

fn check_coefficients(coefficients: &[f64], expected: usize) -> Result<()> {
    if coefficients.len() != expected || !coefficients.iter().all(|v| v.is_finite()) {
        return Err(Error::invalid(
            "coefficients",
            format!("expected {expected} finite values (processes x covariates)"),
        ));
    }
    Ok(())
}

/// `base` with parameter `j` of each process `(j, sign)` scaled by `exp(sign γᵀz)`.
fn scaled_params<const K: usize>(
    mut base: [f64; K],
    processes: &[(usize, f64)],
    coefficients: &[f64],
    z: &[f64],
) -> [f64; K] {
    let k = z.len();
    for (p, &(j, sign)) in processes.iter().enumerate() {
        let eta: f64 = coefficients[p * k..(p + 1) * k]
            .iter()
            .zip(z)
            .map(|(g, v)| g * v)
            .sum();
        base[j] *= (sign * eta).exp();
    }
    base
}

/// Mean repeat spend per customer from Gamma-Gamma with covariates: customer `i` with
/// `frequency[i]` repeat purchases has spend rate `ν_i ~ Gamma(q, γ_i)`,
/// `γ_i = γ e^{−γ_sᵀ z_i}` (`coefficients` = `γ_s`, one per column of `z`), and mean
/// spend `Gamma(p x_i, ν_i x_i)` (the mean of `x_i` draws of `Gamma(p, ν_i)`); 0 for
/// customers without repeat purchases. Seeded, one ChaCha8 stream per block of
/// customers.
///
/// # Errors
///
/// [`Error::InvalidOption`] for a non-positive parameter, a coefficient count other than
/// `z`'s columns, or `frequency` of another length than `z`'s rows.
///
/// # Example
///
/// ```
/// use patronage::clv::covariates::Covariates;
/// use patronage::simulate::simulate_covariate_spend;
/// let z = Covariates::new(vec!["web".into()], vec![vec![0.0, 1.0, 0.0]])?;
/// let m = simulate_covariate_spend([6.0, 4.0, 15.0], &z, &[0.3], &[2.0, 3.0, 0.0], 7)?;
/// assert!(m[0] > 0.0 && m[1] > 0.0 && m[2] == 0.0);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn simulate_covariate_spend(
    params: [f64; 3],
    z: &crate::clv::covariates::Covariates,
    coefficients: &[f64],
    frequency: &[f64],
    seed: u64,
) -> Result<Vec<f64>> {
    if !params.iter().all(|v| v.is_finite() && *v > 0.0) {
        return Err(Error::invalid(
            "parameters",
            "every parameter must be positive and finite",
        ));
    }
    check_coefficients(coefficients, z.n_columns())?;
    if frequency.len() != z.n_rows() {
        return Err(Error::invalid(
            "frequency",
            format!(
                "{} values for {} covariate rows",
                frequency.len(),
                z.n_rows()
            ),
        ));
    }
    let n = frequency.len();
    let blocks: Vec<Vec<f64>> = (0..n.div_ceil(BLOCK))
        .into_par_iter()
        .map(|bi| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(bi as u64);
            ((bi * BLOCK)..((bi + 1) * BLOCK).min(n))
                .map(|i| {
                    let [p, q, g] = scaled_params(params, &[(2, -1.0)], coefficients, z.row(i));
                    let x = frequency[i];
                    let nu: f64 = Gamma::new(q, 1.0 / g).map_err(dist_err)?.sample(&mut rng);
                    if x <= 0.0 {
                        return Ok(0.0);
                    }
                    Gamma::new(p * x, 1.0 / (nu * x))
                        .map_err(dist_err)
                        .map(|d| d.sample(&mut rng))
                })
                .collect::<Result<Vec<f64>>>()
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(blocks.into_iter().flatten().collect())
}

/// Simulates several behaviour groups, each from its own spec (customers, seed and
/// parameters), into one log: customer ids get a `G<group>-` prefix and the customer
/// table a `group` column (the group's index) and `group_name`. Tests of segmentation
/// use it for customers whose true segment is known.
///
/// # Errors
///
/// As [`simulate`] for any group; [`Error::InvalidOption`] with no groups.
///
/// # Example
///
/// ```
/// use patronage::simulate::{SimulationSpec, simulate_groups};
/// let a = SimulationSpec { customers: 50, seed: 1, ..SimulationSpec::default() };
/// let b = SimulationSpec { customers: 30, seed: 2, alpha: 40.0, ..SimulationSpec::default() };
/// let sim = simulate_groups(&[("slow".into(), a), ("fast".into(), b)]).unwrap();
/// assert_eq!(sim.customers.height(), 80);
/// ```
pub fn simulate_groups(groups: &[(String, SimulationSpec)]) -> Result<Simulated> {
    if groups.is_empty() {
        return Err(Error::invalid("groups", "give at least one group"));
    }
    let mut tx: Option<DataFrame> = None;
    let mut cu: Option<DataFrame> = None;
    for (g, (name, spec)) in groups.iter().enumerate() {
        let sim = simulate(spec)?;
        let prefix = |df: &DataFrame| -> Result<Column> {
            let ids = df.column("customer_id")?.str()?;
            Ok(Column::new(
                "customer_id".into(),
                ids.iter()
                    .map(|v| format!("G{g}-{}", v.unwrap_or_default()))
                    .collect::<Vec<_>>(),
            ))
        };
        let mut t = sim.transactions.clone();
        t.with_column(prefix(&sim.transactions)?)?;
        let mut c = sim.customers.clone();
        c.with_column(prefix(&sim.customers)?)?;
        c.with_column(Column::new("group".into(), vec![g as u32; c.height()]))?;
        c.with_column(Column::new(
            "group_name".into(),
            vec![name.clone(); c.height()],
        ))?;
        tx = Some(match tx {
            Some(mut all) => {
                all.vstack_mut(&t)?;
                all
            }
            None => t,
        });
        cu = Some(match cu {
            Some(mut all) => {
                all.vstack_mut(&c)?;
                all
            }
            None => c,
        });
    }
    match (tx, cu) {
        (Some(transactions), Some(customers)) => Ok(Simulated {
            transactions,
            customers,
        }),
        _ => Err(Error::invalid("groups", "give at least one group")),
    }
}
