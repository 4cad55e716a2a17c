//! The whale curve and profit-concentration figures.
//!
//! Customers are ranked from most to least profitable; the curve is the cumulative
//! profit of the top customers as a share of the total. When some customers lose money
//! the curve rises above 100% and falls back to 100% at the last customer: its peak says
//! how much more the business would earn without its loss-makers (if their costs left
//! with them).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Concentration figures of a profit distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhaleCurve {
    /// Customers, most profitable first: cumulative profit share after each customer
    /// (`points[i]` = share after the top `i + 1` customers; the last is 1).
    pub points: Vec<f64>,
    /// Total profit over all customers.
    pub total: f64,
    /// Highest cumulative share (e.g. 1.324 = 132.4%).
    pub peak_share: f64,
    /// Customers up to and including the peak.
    pub peak_customers: usize,
    /// `peak_customers` as a share of all customers.
    pub peak_customer_share: f64,
    /// Cumulative share of the top 20% of customers (rounded to whole customers, at
    /// least one): the 80/20 check.
    pub top20_share: f64,
    /// Customers with negative profit.
    pub loss_making: usize,
    /// Their total profit (negative or zero).
    pub loss_total: f64,
    /// Gini coefficient of the profits, `sum_i sum_j |p_i - p_j| / (2 n^2 mean)`; above 1
    /// when some customers lose money, undefined (None) when the total is not positive.
    pub gini: Option<f64>,
}

/// Ranks `profits` and computes the whale curve.
///
/// # Errors
///
/// [`Error::EmptyTable`] with no customers; [`Error::BadRow`] for a non-finite profit;
/// [`Error::Model`] when the total profit is zero or negative (shares of a non-positive
/// total have no meaning: the curve would be upside down).
///
/// # Example
///
/// ```
/// use patronage::profitability::whale_curve;
/// let w = whale_curve(&[100.0, -50.0, 30.0, 20.0]).unwrap();
/// assert!((w.peak_share - 1.5).abs() < 1e-12); // 150 of a total of 100
/// assert_eq!(w.peak_customers, 3);
/// ```
pub fn whale_curve(profits: &[f64]) -> Result<WhaleCurve> {
    match whale_outcome(profits)? {
        WhaleOutcome::Curve(w) => Ok(w),
        WhaleOutcome::Undefined(reason) => Err(Error::Model {
            model: "whale curve".into(),
            reason,
        }),
    }
}

/// Why a whale curve of a non-positive total is not drawn.
fn non_positive_total(total: f64) -> String {
    format!("total profit is {total:.2}: shares of a non-positive total are not defined")
}

/// The whale curve, or the reason it is not defined for these profits (a non-positive
/// total), so a caller that can go on without a curve need not inspect an error.
pub(crate) enum WhaleOutcome {
    /// The curve.
    Curve(WhaleCurve),
    /// Why there is none.
    Undefined(String),
}

/// As [`whale_curve`], with a non-positive total as [`WhaleOutcome::Undefined`].
pub(crate) fn whale_outcome(profits: &[f64]) -> Result<WhaleOutcome> {
    if profits.is_empty() {
        return Err(Error::EmptyTable {
            what: "no customers for the whale curve".into(),
        });
    }
    if let Some(i) = profits.iter().position(|p| !p.is_finite()) {
        return Err(Error::BadRow {
            row: i as u64 + 1,
            column: "net_contribution".into(),
            reason: "profit must be finite".into(),
            value: profits[i].to_string(),
        });
    }
    // Descending; equal values have equal bits, so the sums below are the same
    // whichever sort placed them.
    let mut sorted = profits.to_vec();
    crate::stats::sort_f64(&mut sorted);
    sorted.reverse();
    let total: f64 = sorted.iter().sum();
    if total <= 0.0 {
        return Ok(WhaleOutcome::Undefined(non_positive_total(total)));
    }
    let n = sorted.len();
    let mut points = Vec::with_capacity(n);
    let mut cum = 0.0;
    let (mut peak_share, mut peak_customers) = (f64::NEG_INFINITY, 0);
    for (i, p) in sorted.iter().enumerate() {
        cum += p;
        let share = cum / total;
        points.push(share);
        if share > peak_share {
            peak_share = share;
            peak_customers = i + 1;
        }
    }
    let top = ((n as f64 * 0.2).round() as usize).clamp(1, n);
    let loss: Vec<f64> = sorted.iter().copied().filter(|p| *p < 0.0).collect();
    // Gini via the sorted (ascending) formula: sum_i (2i - n - 1) x_i / (n sum x).
    let gini = {
        let asc: Vec<f64> = sorted.iter().rev().copied().collect();
        let s: f64 = asc
            .iter()
            .enumerate()
            .map(|(i, x)| (2.0 * (i as f64 + 1.0) - n as f64 - 1.0) * x)
            .sum();
        Some(s / (n as f64 * total))
    };
    Ok(WhaleOutcome::Curve(WhaleCurve {
        total,
        peak_share,
        peak_customers,
        peak_customer_share: peak_customers as f64 / n as f64,
        top20_share: points[top - 1],
        loss_making: loss.len(),
        loss_total: loss.iter().sum(),
        gini,
        points,
    }))
}

/// A customer's tier in the customer pyramid (Zeithaml, Rust & Lemon 2001).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tier {
    /// The most profitable customers.
    Platinum,
    /// Profitable, below Platinum.
    Gold,
    /// Marginally profitable.
    Iron,
    /// The least profitable, typically loss-making.
    Lead,
}

impl Tier {
    /// The tier's name.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Platinum => "Platinum",
            Tier::Gold => "Gold",
            Tier::Iron => "Iron",
            Tier::Lead => "Lead",
        }
    }
}

/// Assigns tiers by profit rank: the top `cuts[0]` share of customers are Platinum, the
/// next up to `cuts[1]` Gold, up to `cuts[2]` Iron, the rest Lead; a customer with
/// negative profit is Lead whatever the rank. The default `[0.05, 0.20, 0.50]` reads
/// "top 5% Platinum, next 15% Gold, next 30% Iron". Ties in profit share a tier (the
/// higher one).
///
/// # Errors
///
/// [`Error::InvalidOption`] unless `0 < cuts[0] <= cuts[1] <= cuts[2] <= 1`.
///
/// # Example
///
/// ```
/// use patronage::profitability::{pyramid, Tier};
/// let t = pyramid(&[10.0, 500.0, -20.0, 40.0], [0.25, 0.5, 0.75]).unwrap();
/// assert_eq!(t, [Tier::Iron, Tier::Platinum, Tier::Lead, Tier::Gold]);
/// ```
pub fn pyramid(profits: &[f64], cuts: [f64; 3]) -> Result<Vec<Tier>> {
    if !(cuts[0] > 0.0 && cuts[0] <= cuts[1] && cuts[1] <= cuts[2] && cuts[2] <= 1.0) {
        return Err(Error::invalid(
            "pyramid cuts",
            "need 0 < platinum <= gold <= iron <= 1 (cumulative shares of customers)",
        ));
    }
    let n = profits.len();
    // Most profitable first (by `total_cmp`, as the negated key ascending), ties by index.
    let order = crate::stats::order_by(|i| -profits[i], n);
    let mut tiers = vec![Tier::Lead; n];
    let mut rank_of_value_start = 0;
    for (rank, &i) in order.iter().enumerate() {
        // Ties take the tier of the first customer with that profit.
        if rank > 0 && profits[i] != profits[order[rank - 1]] {
            rank_of_value_start = rank;
        }
        let share = (rank_of_value_start + 1) as f64 / n as f64;
        tiers[i] = if profits[i] < 0.0 {
            Tier::Lead
        } else if share <= cuts[0] {
            Tier::Platinum
        } else if share <= cuts[1] {
            Tier::Gold
        } else if share <= cuts[2] {
            Tier::Iron
        } else {
            Tier::Lead
        };
    }
    Ok(tiers)
}
