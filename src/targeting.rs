//! Ranked target lists from a table of CLV scores, cut by a count or by campaign
//! economics, and evaluated on holdout purchases (gain and lift by decile).
//!
//! [`rank`] takes the scored customers as a frame (the CLV stage's table) and the
//! holdout purchases as a column; the stage that fits the models on a summary and calls
//! it is `stages::target`.

use polars::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::io::frame::nullable_f64;

/// What to rank customers by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TargetBy {
    /// CLV over the horizon.
    Clv,
    /// Expected purchases over the horizon.
    ExpectedPurchases,
    /// P(alive) x expected spend per purchase x margin: the value of the next purchase
    /// if the customer is still there.
    PAliveValue,
    /// The lower bound of CLV's interval (`clv_lo`, from parameter uncertainty): ranks
    /// first the customers who are worth the most even when the parameters are
    /// pessimistic.
    ClvLower,
}

impl std::str::FromStr for TargetBy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "clv" => Ok(TargetBy::Clv),
            "expected-purchases" => Ok(TargetBy::ExpectedPurchases),
            "p-alive-value" => Ok(TargetBy::PAliveValue),
            "clv-lower" => Ok(TargetBy::ClvLower),
            _ => Err(Error::invalid(
                "by",
                format!("`{s}` is not clv, clv-lower, expected-purchases or p-alive-value"),
            )),
        }
    }
}

/// Where to cut the list.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Cut {
    /// The best `n` customers.
    Top(usize),
    /// Everyone whose expected margin over the horizon (their CLV) exceeds the cost of
    /// contacting them.
    ContactCost(f64),
    /// Everyone (ranked, nobody cut).
    All,
}

impl Cut {
    /// Checks the cut's parameter.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] (option `contact-cost`) for a negative or non-finite
    /// contact cost.
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::targeting::Cut;
    /// assert!(Cut::ContactCost(2.5).validate().is_ok());
    /// assert!(Cut::ContactCost(-1.0).validate().is_err());
    /// ```
    pub fn validate(self) -> Result<()> {
        if let Cut::ContactCost(c) = self
            && !(c.is_finite() && c >= 0.0)
        {
            return Err(Error::invalid(
                "contact-cost",
                "must be a finite number >= 0",
            ));
        }
        Ok(())
    }
}

/// One decile of the holdout evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GainRow {
    /// 1 = the best-ranked tenth.
    pub decile: u32,
    /// Customers in the decile.
    pub customers: usize,
    /// Customers who bought in the holdout period.
    pub responders: usize,
    /// `responders / customers`.
    pub response_rate: f64,
    /// Share of all holdout buyers found in deciles 1..=this one.
    pub cumulative_gain: f64,
    /// `response_rate / base rate`.
    pub lift: f64,
    /// Holdout purchases of the decile's customers.
    pub purchases: f64,
    /// Their share of all holdout purchases (0.1 for a random ranking).
    pub purchase_share: f64,
    /// Share of all holdout purchases made by deciles 1..=this one.
    pub cumulative_purchase_share: f64,
}

/// The holdout evaluation: deciles, the base rate, and the top decile's hit rate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// Share of all scored customers who bought in the holdout.
    pub base_rate: f64,
    /// Response rate of the top decile.
    pub top_decile_hit_rate: f64,
    /// Per decile.
    pub deciles: Vec<GainRow>,
}

/// A ranked list and, with holdout purchases, its evaluation.
#[derive(Debug, Clone)]
pub struct Targeting {
    /// `customer_id, rank, score, clv, p_alive, expected_purchases, selected`, ranked
    /// (with `clv_lo, clv_hi` after `clv` when the score table has them).
    pub list: DataFrame,
    /// Customers selected by the cut.
    pub selected: usize,
    /// Holdout evaluation (when holdout purchases were given).
    pub evaluation: Option<Evaluation>,
}

/// Ranks the scored customers of a CLV table best first (ties in the table's order),
/// cuts the list, and with holdout purchases evaluates the ranking against who bought.
///
/// `scores` has `customer_id, p_alive, expected_purchases, expected_spend, clv` (the CLV
/// stage's table; customers with a null score are not ranked), and `clv_lo, clv_hi` for
/// [`TargetBy::ClvLower`] (the table with intervals; both are then in the list too). `margin` multiplies
/// `p_alive x expected_spend` for [`TargetBy::PAliveValue`]. `holdout` gives each row's
/// holdout purchases, in the order of `scores`.
///
/// # Errors
///
/// Missing or non-numeric columns (`clv_lo` for [`TargetBy::ClvLower`] on a table
/// without intervals: [`Error::MissingColumn`]); [`Error::InvalidOption`] for a negative
/// contact cost or a `holdout` whose length is not the table's height.
///
/// # Example
///
/// ```
/// use patronage::targeting::{rank, Cut, TargetBy};
/// use polars::prelude::*;
/// let scores = df!(
///     "customer_id" => ["a", "b", "c"],
///     "p_alive" => [Some(0.9), Some(0.2), None],
///     "expected_purchases" => [Some(3.0), Some(0.5), None],
///     "expected_spend" => [Some(20.0), Some(50.0), None],
///     "clv" => [Some(54.0), Some(5.0), None],
/// )?;
/// let t = rank(&scores, 1.0, TargetBy::Clv, Cut::Top(1), Some(&[2.0, 0.0, 1.0]))?;
/// assert_eq!(t.list.height(), 2); // "c" has no score
/// assert_eq!(t.selected, 1);
/// assert_eq!(t.evaluation.unwrap().deciles[0].responders, 1);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn rank(
    scores: &DataFrame,
    margin: f64,
    by: TargetBy,
    cut: Cut,
    holdout: Option<&[f64]>,
) -> Result<Targeting> {
    cut.validate()?;
    let f = scores;
    if let Some(h) = holdout
        && h.len() != f.height()
    {
        return Err(Error::invalid(
            "holdout",
            format!(
                "has {} values but the score table has {} rows",
                h.len(),
                f.height()
            ),
        ));
    }
    let col = |n: &str| nullable_f64(f, n);
    let (p_alive, expected, spend, value) = (
        col("p_alive")?,
        col("expected_purchases")?,
        col("expected_spend")?,
        col("clv")?,
    );
    // The interval's bounds, when the table has them (required to rank by the lower).
    let bounds = match (col("clv_lo"), col("clv_hi")) {
        (Ok(lo), Ok(hi)) => Some((lo, hi)),
        (Err(e), _) | (_, Err(e)) if by == TargetBy::ClvLower => return Err(e),
        _ => None,
    };
    let score: Vec<Option<f64>> = (0..f.height())
        .map(|i| match by {
            TargetBy::Clv => value[i],
            TargetBy::ClvLower => bounds.as_ref().and_then(|(lo, _)| lo[i]),
            TargetBy::ExpectedPurchases => expected[i],
            TargetBy::PAliveValue => p_alive[i].zip(spend[i]).map(|(p, s)| p * s * margin),
        })
        .collect();
    // Scored customers, best first (ties by input order).
    let mut order: Vec<usize> = (0..score.len()).filter(|&i| score[i].is_some()).collect();
    order.sort_by(|&a, &b| {
        score[b]
            .unwrap_or(f64::NEG_INFINITY)
            .total_cmp(&score[a].unwrap_or(f64::NEG_INFINITY))
            .then(a.cmp(&b))
    });
    let selected_flags: Vec<bool> = order
        .iter()
        .enumerate()
        .map(|(rank, &i)| match cut {
            Cut::Top(n) => rank < n,
            Cut::ContactCost(c) => value[i].unwrap_or(0.0) > c,
            Cut::All => true,
        })
        .collect();
    let idx = IdxCa::from_vec("".into(), order.iter().map(|&i| i as IdxSize).collect());
    let pick = |v: &[Option<f64>]| order.iter().map(|&i| v[i]).collect::<Vec<_>>();
    let mut columns = vec![
        f.column("customer_id")?.take(&idx)?,
        Column::new("rank".into(), (1..=order.len() as u32).collect::<Vec<_>>()),
        Column::new("score".into(), pick(&score)),
        Column::new("clv".into(), pick(&value)),
    ];
    if let Some((lo, hi)) = &bounds {
        columns.push(Column::new("clv_lo".into(), pick(lo)));
        columns.push(Column::new("clv_hi".into(), pick(hi)));
    }
    columns.extend([
        Column::new("p_alive".into(), pick(&p_alive)),
        Column::new("expected_purchases".into(), pick(&expected)),
        Column::new("selected".into(), selected_flags.clone()),
    ]);
    let list = DataFrame::new_infer_height(columns)?;
    let evaluation = holdout.map(|h| evaluate(&order.iter().map(|&i| h[i]).collect::<Vec<_>>()));
    Ok(Targeting {
        selected: selected_flags.iter().filter(|s| **s).count(),
        list,
        evaluation,
    })
}

/// Gain and lift by decile of a ranked list (`purchases[i]`: holdout purchases of the
/// i-th best-ranked customer; a responder is a customer with at least one). Deciles split
/// `n` customers as evenly as possible (the first `n % 10` get one more).
///
/// # Example
///
/// ```
/// use patronage::targeting::evaluate;
/// let purchases: Vec<f64> = (0..100).map(|i| if i < 20 { 2.0 } else { 0.0 }).collect(); // a perfect ranking
/// let e = evaluate(&purchases);
/// assert_eq!(e.top_decile_hit_rate, 1.0);
/// assert!((e.deciles[1].cumulative_gain - 1.0).abs() < 1e-12);
/// assert!((e.deciles[0].lift - 5.0).abs() < 1e-12);
/// ```
pub fn evaluate(purchases: &[f64]) -> Evaluation {
    let bought: Vec<bool> = purchases.iter().map(|p| *p > 0.0).collect();
    let n = bought.len();
    let total: usize = bought.iter().filter(|b| **b).count();
    let total_purchases: f64 = purchases.iter().sum();
    let mut cum_purchases = 0.0;
    let base_rate = if n > 0 { total as f64 / n as f64 } else { 0.0 };
    let mut deciles = Vec::with_capacity(10);
    let mut start = 0;
    let mut cum = 0;
    for d in 0..10 {
        let size = n / 10 + usize::from(d < n % 10);
        let hits = bought[start..start + size].iter().filter(|b| **b).count();
        let bought_here: f64 = purchases[start..start + size].iter().sum();
        cum += hits;
        cum_purchases += bought_here;
        let share = |x: f64| {
            if total_purchases > 0.0 {
                x / total_purchases
            } else {
                0.0
            }
        };
        let rate = if size > 0 {
            hits as f64 / size as f64
        } else {
            0.0
        };
        deciles.push(GainRow {
            decile: d as u32 + 1,
            customers: size,
            responders: hits,
            response_rate: rate,
            cumulative_gain: if total > 0 {
                cum as f64 / total as f64
            } else {
                0.0
            },
            lift: if base_rate > 0.0 {
                rate / base_rate
            } else {
                0.0
            },
            purchases: bought_here,
            purchase_share: share(bought_here),
            cumulative_purchase_share: share(cum_purchases),
        });
        start += size;
    }
    Evaluation {
        base_rate,
        top_decile_hit_rate: deciles[0].response_rate,
        deciles,
    }
}
