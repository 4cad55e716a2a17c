//! The report's small tables as frames.

use polars::prelude::*;
use serde_json::Value;

use crate::error::Result;
use crate::profitability::{Profitability, WhaleCurve};
use crate::segmentation::Segmentation;
use crate::stages::fit::{AnyFitted, FitOutcome};
use crate::stages::tracking::{TrackingCheck, TrackingPoint};

/// One row per cluster: `segment, label, customers, share, revenue_share, profit_share`
/// and `<feature>_mean`, `<feature>_median` per feature (original units).
///
/// # Errors
///
/// Polars errors building the frame.
///
/// # Example
///
/// ```
/// use patronage::prelude::*;
/// use patronage::segmentation::{segment, SegmentationSpec, KChoice};
/// let s = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?
///     .summary(&SummaryOptions::weekly())?;
/// let seg = segment(s.frame(), &SegmentationSpec::default().k(KChoice::Fixed(3)))?;
/// let t = patronage::report::cluster_profiles_frame(&seg)?;
/// assert_eq!(t.height(), 3);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn cluster_profiles_frame(seg: &Segmentation) -> Result<DataFrame> {
    let p = &seg.profiles;
    let mut cols = vec![
        Column::new(
            "segment".into(),
            p.iter().map(|p| p.segment as u32).collect::<Vec<_>>(),
        ),
        Column::new(
            "label".into(),
            p.iter().map(|p| p.label.clone()).collect::<Vec<_>>(),
        ),
        Column::new(
            "customers".into(),
            p.iter().map(|p| p.customers as u64).collect::<Vec<_>>(),
        ),
        Column::new(
            "share".into(),
            p.iter().map(|p| p.share).collect::<Vec<_>>(),
        ),
        Column::new(
            "revenue_share".into(),
            p.iter().map(|p| p.revenue_share).collect::<Vec<_>>(),
        ),
        Column::new(
            "profit_share".into(),
            p.iter().map(|p| p.profit_share).collect::<Vec<_>>(),
        ),
    ];
    if let Some(first) = p.first() {
        for (j, f) in first.features.iter().enumerate() {
            let get = |pick: fn(&crate::segmentation::FeatureSummary) -> f64| -> Vec<Option<f64>> {
                p.iter().map(|p| p.features.get(j).map(pick)).collect()
            };
            cols.push(Column::new(
                format!("{}_mean", f.feature).into(),
                get(|s| s.mean),
            ));
            cols.push(Column::new(
                format!("{}_median", f.feature).into(),
                get(|s| s.median),
            ));
        }
    }
    Ok(DataFrame::new_infer_height(cols)?)
}

/// One row per quadrant: `quadrant, action, customers, customer_share, revenue,
/// revenue_share, gross_profit, cost_to_serve, net_contribution,
/// net_contribution_share`, then the thresholds `margin_pct_split, cost_to_serve_split`.
///
/// # Errors
///
/// Polars errors building the frame.
///
/// # Example
///
/// ```
/// use patronage::prelude::*;
/// use patronage::profitability::{CostModel, Split};
/// use patronage::stages::profitability::analyse;
/// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
/// let p = analyse(&tx, &SummaryOptions::weekly(), &CostModel::from_path("datasets/costs_example.toml")?, None, Split::Median)?;
/// assert_eq!(patronage::report::matrix_frame(&p)?.height(), p.quadrants.len());
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn matrix_frame(p: &Profitability) -> Result<DataFrame> {
    let q = &p.quadrants;
    let f = |pick: fn(&crate::profitability::QuadrantSummary) -> f64| -> Vec<f64> {
        q.iter().map(pick).collect()
    };
    let cols = vec![
        Column::new(
            "quadrant".into(),
            q.iter().map(|q| q.quadrant.clone()).collect::<Vec<_>>(),
        ),
        Column::new(
            "action".into(),
            q.iter().map(|q| q.action.clone()).collect::<Vec<_>>(),
        ),
        Column::new(
            "customers".into(),
            q.iter().map(|q| q.customers as u64).collect::<Vec<_>>(),
        ),
        Column::new("customer_share".into(), f(|q| q.customer_share)),
        Column::new("revenue".into(), f(|q| q.revenue)),
        Column::new("revenue_share".into(), f(|q| q.revenue_share)),
        Column::new("gross_profit".into(), f(|q| q.gross_profit)),
        Column::new("cost_to_serve".into(), f(|q| q.cost_to_serve)),
        Column::new("net_contribution".into(), f(|q| q.net_contribution)),
        Column::new(
            "net_contribution_share".into(),
            f(|q| q.net_contribution_share),
        ),
        Column::new(
            format!("{}_split", p.axis.column()).into(),
            vec![p.thresholds.0; q.len()],
        ),
        Column::new("cost_to_serve_split".into(), vec![p.thresholds.1; q.len()]),
    ];
    Ok(DataFrame::new_infer_height(cols)?)
}

/// The whale curve, one row per customer ranked by net contribution:
/// `rank, customer_share, cumulative_share`.
///
/// # Errors
///
/// Polars errors building the frame.
///
/// # Example
///
/// ```
/// use patronage::profitability::whale_curve;
/// let w = whale_curve(&[5.0, -1.0, 2.0])?;
/// let t = patronage::report::whale_frame(&w)?;
/// assert_eq!(t.height(), 3);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn whale_frame(w: &WhaleCurve) -> Result<DataFrame> {
    whale_frame_thinned(w, usize::MAX)
}

/// [`whale_frame`] with at most `max_points` rows, evenly spaced by customer rank and
/// always with the first and the last customer (what the report writes: a curve of
/// 3.5 million points plots no better than one of 1,000; the exact concentration figures
/// are in [`WhaleCurve`]'s fields). All rows when there are no more than `max_points`.
///
/// # Errors
///
/// Polars errors building the frame.
///
/// # Example
///
/// ```
/// use patronage::profitability::whale_curve;
/// use patronage::report::whale_frame_thinned;
/// let w = whale_curve(&(0..10_000).map(|i| (i % 7) as f64 - 1.0).collect::<Vec<_>>())?;
/// let df = whale_frame_thinned(&w, 1_000)?;
/// assert_eq!(df.height(), 1_000);
/// assert_eq!(df.column("rank")?.u64()?.get(999), Some(10_000));
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn whale_frame_thinned(w: &WhaleCurve, max_points: usize) -> Result<DataFrame> {
    let n = w.points.len();
    // Ranks (1-based) of the rows kept: every one, or `max_points` evenly spaced from the
    // first to the last (distinct, since max_points < n).
    let ranks: Vec<usize> = if n <= max_points || max_points < 2 {
        (1..=n).collect()
    } else {
        (0..max_points)
            .map(|i| 1 + (i as u128 * (n as u128 - 1) / (max_points as u128 - 1)) as usize)
            .collect()
    };
    let cols = vec![
        Column::new(
            "rank".into(),
            ranks.iter().map(|&r| r as u64).collect::<Vec<_>>(),
        ),
        Column::new(
            "customer_share".into(),
            ranks
                .iter()
                .map(|&r| r as f64 / n as f64)
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "cumulative_share".into(),
            ranks.iter().map(|&r| w.points[r - 1]).collect::<Vec<_>>(),
        ),
    ];
    Ok(DataFrame::new_infer_height(cols)?)
}

/// The tracking check as a table (`tracking.csv`): `date, period_end, period_length,
/// actual, expected, actual_incremental, expected_incremental`, one row per period end.
pub(crate) fn tracking_frame(t: &TrackingCheck) -> Result<DataFrame> {
    let col = |name: &str, f: fn(&TrackingPoint) -> f64| {
        Column::new(name.into(), t.points.iter().map(f).collect::<Vec<_>>())
    };
    Ok(DataFrame::new_infer_height(vec![
        Column::new(
            "date".into(),
            t.points.iter().map(|p| p.date.as_str()).collect::<Vec<_>>(),
        ),
        col("period_end", |p| p.period_end),
        col("period_length", |p| p.period_length),
        col("actual", |p| p.actual),
        col("expected", |p| p.expected),
        col("actual_incremental", |p| p.actual_incremental),
        col("expected_incremental", |p| p.expected_incremental),
    ])?)
}

/// A fitted model's JSON figures (parameters, standard errors, log-likelihood).
pub(crate) fn fit_json(model: &AnyFitted) -> Value {
    FitOutcome {
        model: model.clone(),
        excluded: None,
        holdout: None,
        histogram: None,
        tracking: None,
    }
    .to_json()
}
