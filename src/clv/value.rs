//! Customer lifetime value: per customer P(alive), expected purchases and spend over a
//! horizon, and the discounted margin they bring; customer equity is the sum.
//!
//! CLV over `H` time units with discount rate `d` per time unit, discounting at steps of
//! `step` time units (`t_k = min(k step, H)`):
//!
//! `CLV = margin * E[spend] * P(alive) * sum_k (g(t_k) - g(t_{k-1})) / (1 + d)^t_k`
//!
//! where `g(t)` is the expected purchases in `(T, T + t]` of a customer alive at `T`. With
//! `step = 4.345` weeks, `H = 52.14` weeks and `d = 1.01^(1/4.345) - 1` this is exactly
//! lifetimes' `customer_lifetime_value(time=12, discount_rate=0.01, freq="W")`. Because
//! `g` depends only on `(x, T)`, it is computed once per distinct pair and shared.

use rayon::prelude::*;

use crate::clv::{Fitted, GammaGamma, PurchaseModel};
use crate::error::{Error, Result};

/// Profit margin applied to expected spend.
#[derive(Debug, Clone, PartialEq)]
pub enum Margin {
    /// The same share of revenue for every customer (1.0 = revenue CLV).
    Rate(f64),
    /// One margin per customer (e.g. gross profit / revenue from the cost column).
    PerCustomer(Vec<f64>),
}

/// Horizon, discounting and margin for [`score`].
#[derive(Debug, Clone, PartialEq)]
pub struct ClvOptions {
    /// Horizon in the model's time unit.
    pub horizon: f64,
    /// Discount rate per time unit (0 = undiscounted).
    pub discount_rate: f64,
    /// Discounting step in time units (1 = every time unit).
    pub step: f64,
    /// Margin.
    pub margin: Margin,
}

impl Default for ClvOptions {
    /// 52 time units (a year in weeks), no discounting, step 1, margin 1.
    fn default() -> Self {
        ClvOptions {
            horizon: 52.0,
            discount_rate: 0.0,
            step: 1.0,
            margin: Margin::Rate(1.0),
        }
    }
}

/// Per-customer scores, in input order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scores {
    /// P(alive) at `T`.
    pub p_alive: Vec<f64>,
    /// Expected purchases over the horizon.
    pub expected_purchases: Vec<f64>,
    /// Expected spend per purchase.
    pub expected_spend: Vec<f64>,
    /// Discounted margin over the horizon.
    pub clv: Vec<f64>,
}

impl Scores {
    /// Customer equity: the sum of CLV over customers (summed in input order).
    pub fn customer_equity(&self) -> f64 {
        self.clv.iter().sum()
    }
}

/// The per-customer inputs to [`score`]: repeat purchases, recency, age, mean repeat
/// spend (0 for customers without repeats).
#[derive(Debug, Clone, Copy)]
pub struct CustomerInputs<'a> {
    /// Repeat purchases.
    pub x: &'a [f64],
    /// Age at last repeat purchase.
    pub t_x: &'a [f64],
    /// Age at the end of observation.
    pub t: &'a [f64],
    /// Mean repeat spend.
    pub monetary: &'a [f64],
}

pub(crate) fn validate(input: &CustomerInputs<'_>, opts: &ClvOptions) -> Result<()> {
    let n = input.x.len();
    // Customers are indexed by u32 in the shared-work grouping.
    if n > u32::MAX as usize {
        return Err(Error::invalid(
            "frequency",
            "more than 4,294,967,295 customers in one call: score in batches",
        ));
    }
    for (name, len) in [
        ("recency", input.t_x.len()),
        ("T", input.t.len()),
        ("monetary_value", input.monetary.len()),
    ] {
        if len != n {
            return Err(Error::invalid(
                name,
                format!("has {len} values, frequency has {n}"),
            ));
        }
    }
    if !(opts.horizon.is_finite() && opts.horizon >= 0.0) {
        return Err(Error::invalid(
            "clv.horizon",
            "must be a finite number >= 0",
        ));
    }
    if !(opts.discount_rate.is_finite() && opts.discount_rate > -1.0) {
        return Err(Error::invalid(
            "clv.discount_rate",
            "must be a finite number > -1",
        ));
    }
    if !(opts.step.is_finite() && opts.step > 0.0) {
        return Err(Error::invalid("clv.step", "must be positive"));
    }
    match &opts.margin {
        Margin::Rate(m) if !m.is_finite() => {
            return Err(Error::invalid("clv.margin", "must be finite"));
        }
        Margin::PerCustomer(v) if v.len() != n => {
            return Err(Error::invalid(
                "clv.margin",
                format!("has {} values for {n} customers", v.len()),
            ));
        }
        _ => {}
    }
    for i in 0..n {
        let (x, tx, t, m) = (input.x[i], input.t_x[i], input.t[i], input.monetary[i]);
        if !(x.is_finite() && x >= 0.0 && tx.is_finite() && tx >= 0.0 && t.is_finite() && t >= tx) {
            return Err(Error::BadRow {
                row: i as u64 + 1,
                column: "frequency/recency/T".into(),
                reason: "needs frequency >= 0 and 0 <= recency <= T".into(),
                value: format!("{x}, {tx}, {t}"),
            });
        }
        if !m.is_finite() {
            return Err(Error::BadRow {
                row: i as u64 + 1,
                column: "monetary_value".into(),
                reason: "not finite".into(),
                value: m.to_string(),
            });
        }
    }
    Ok(())
}

/// Scores every customer: P(alive), expected purchases over the horizon, expected spend
/// (Gamma-Gamma when given, else the customer's own mean repeat spend) and CLV.
///
/// # Errors
///
/// [`Error::InvalidOption`] for a bad horizon, rate, step or margin length;
/// [`Error::BadRow`] for inconsistent customer data; [`Error::Model`] when the model
/// cannot give an expectation (for instance Gamma-Gamma with `q <= 1`).
///
/// # Example
///
/// ```
/// use patronage::clv::{BgNbd, GammaGamma, ClvOptions};
/// use patronage::clv::value::{score, CustomerInputs};
/// let bg = BgNbd::from_params(&[0.2425982, 4.4136842, 0.7929899, 2.4261667])?;
/// let gg = GammaGamma::from_params(&[6.25, 3.74, 15.44])?;
/// let input = CustomerInputs { x: &[0.0, 5.0], t_x: &[0.0, 30.0], t: &[38.86, 38.86], monetary: &[0.0, 50.0] };
/// let s = score(&bg, Some(&gg), input, &ClvOptions::default())?;
/// assert!(s.clv[1] > s.clv[0]);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn score(
    model: &dyn PurchaseModel,
    spend: Option<&Fitted<GammaGamma>>,
    input: CustomerInputs<'_>,
    opts: &ClvOptions,
) -> Result<Scores> {
    validate(&input, opts)?;
    let n = input.x.len();
    if let Some(gg) = spend {
        gg.mean_spend()?;
    }
    let (grid, factors) = discount_grid(opts);
    let distinct = Distinct::of(&input);
    // Per pair: (g(H), discounted sum of increments).
    let per_pair: Vec<(f64, f64)> = distinct
        .pairs
        .par_iter()
        .map(|&(x, t)| pair_value(model, x, t, &grid, &factors))
        .collect::<Result<Vec<_>>>()?;
    let pair_of = &distinct.pair_of;

    let rows: Vec<[f64; 4]> = (0..n)
        .into_par_iter()
        .map(|i| {
            let (x, tx, t, m) = (input.x[i], input.t_x[i], input.t[i], input.monetary[i]);
            let pa = model.p_alive(x, tx, t);
            let (g_h, disc) = per_pair[pair_of[i] as usize];
            let spend = match spend {
                Some(gg) => gg.conditional_expected_spend(x, m)?,
                None => m,
            };
            let margin = match &opts.margin {
                Margin::Rate(r) => *r,
                Margin::PerCustomer(v) => v[i],
            };
            Ok([pa, pa * g_h, spend, margin * spend * pa * disc])
        })
        .collect::<Result<Vec<_>>>()?;
    let mut out = Scores {
        p_alive: Vec::with_capacity(n),
        expected_purchases: Vec::with_capacity(n),
        expected_spend: Vec::with_capacity(n),
        clv: Vec::with_capacity(n),
    };
    for r in rows {
        out.p_alive.push(r[0]);
        out.expected_purchases.push(r[1]);
        out.expected_spend.push(r[2]);
        out.clv.push(r[3]);
    }
    Ok(out)
}

/// The discounting grid `t_k = min(k step, H)`, `k = 1..ceil(H / step)`, and the
/// discount factor `(1 + d)^-t_k` at each point.
pub(crate) fn discount_grid(opts: &ClvOptions) -> (Vec<f64>, Vec<f64>) {
    let k = (opts.horizon / opts.step).ceil().max(0.0) as usize;
    let grid: Vec<f64> = (1..=k)
        .map(|i| (i as f64 * opts.step).min(opts.horizon))
        .collect();
    let factors: Vec<f64> = grid
        .iter()
        .map(|t| (1.0 + opts.discount_rate).powf(-t))
        .collect();
    (grid, factors)
}

/// For a customer alive at `T` with `x` repeats: `(g(H), sum_k (g(t_k) - g(t_{k-1})) /
/// (1 + d)^t_k)`, the undiscounted and the discounted expected purchases over the grid.
pub(crate) fn pair_value(
    model: &dyn PurchaseModel,
    x: f64,
    t: f64,
    grid: &[f64],
    factors: &[f64],
) -> Result<(f64, f64)> {
    // Without discounting the increments telescope to g(H): one evaluation instead of
    // one per step (the draws of an interval evaluate this per draw and pair).
    if factors.iter().all(|f| *f == 1.0) {
        let g = match grid.last() {
            Some(h) => model.expected_if_alive(x, t, *h)?,
            None => 0.0,
        };
        return Ok((g, g));
    }
    let mut prev = 0.0;
    let mut disc = 0.0;
    for (tk, f) in grid.iter().zip(factors) {
        let g = model.expected_if_alive(x, t, *tk)?;
        disc += (g - prev) * f;
        prev = g;
    }
    Ok((prev, disc))
}

/// The customers grouped for shared work: sorted by `(group, x, T, t_x)` (then input
/// index; the group is a covariate row's, 0 without covariates), the distinct
/// `(group, x, T)` in that order, and each customer's.
pub(crate) struct Distinct {
    /// Customer indices sorted by `(group, x, T, t_x, index)`.
    pub(crate) order: Vec<u32>,
    /// Distinct `(x, T)` per distinct `(group, x, T)`, ascending.
    pub(crate) pairs: Vec<(f64, f64)>,
    /// The group of each of `pairs`.
    pub(crate) pair_group: Vec<u32>,
    /// Index into `pairs` per customer (input order).
    pub(crate) pair_of: Vec<u32>,
}

impl Distinct {
    /// Groups validated inputs (non-negative values, fewer than 2^32 customers).
    pub(crate) fn of(input: &CustomerInputs<'_>) -> Self {
        Distinct::grouped(input, None)
    }

    /// Groups validated inputs within the groups `group_of` (one per customer; all 0
    /// when `None`).
    pub(crate) fn grouped(input: &CustomerInputs<'_>, group_of: Option<&[u32]>) -> Self {
        let n = input.x.len();
        // Values are validated non-negative, so their bit patterns sort as numbers; the
        // index makes every key unique, so the unstable parallel sort is deterministic.
        // +0.0 turns a -0.0 into 0.0 so that equal values have equal bits.
        let mut keys: Vec<(u32, u64, u64, u64, u32)> = (0..n)
            .into_par_iter()
            .map(|i| {
                (
                    group_of.map_or(0, |g| g[i]),
                    (input.x[i] + 0.0).to_bits(),
                    (input.t[i] + 0.0).to_bits(),
                    (input.t_x[i] + 0.0).to_bits(),
                    i as u32,
                )
            })
            .collect();
        keys.par_sort_unstable();
        let mut pair_of = vec![0u32; n];
        let mut pairs: Vec<(f64, f64)> = Vec::new();
        let mut pair_group = Vec::new();
        let mut last = None;
        for &(g, xb, tb, _, i) in &keys {
            if last != Some((g, xb, tb)) {
                pairs.push((f64::from_bits(xb), f64::from_bits(tb)));
                pair_group.push(g);
                last = Some((g, xb, tb));
            }
            pair_of[i as usize] = (pairs.len() - 1) as u32;
        }
        Distinct {
            order: keys.into_iter().map(|k| k.4).collect(),
            pairs,
            pair_group,
            pair_of,
        }
    }
}
