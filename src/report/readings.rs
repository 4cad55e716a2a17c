//! What each chart of the report shows and says, without drawing it: the figures behind
//! every chart (quantile-based axis ranges, shares, counts, thinning) as small typed
//! structs, and the one-paragraph reading the HTML page prints under the chart, built
//! from those figures.
//!
//! [`crate::report::charts`] draws from these structs; nothing here needs plotters, so
//! the module compiles (and its tests run) without the feature "plots". Inputs are the
//! typed stage results or plain slices; the `*_of` adapters read the per-customer
//! columns a chart needs from a [`PipelineOutput`].
//!
//! ```
//! use patronage::profitability::whale_curve;
//! use patronage::report::readings;
//! let w = whale_curve(&[100.0, -50.0, 30.0, 20.0])?;
//! let r = readings::whale(&w).expect("four customers");
//! assert_eq!(r.peak_customers, 3);
//! assert!(r.text.contains("peaks at 150.0% after the best 3 customers"));
//! # Ok::<(), patronage::Error>(())
//! ```

use crate::clv::PurchaseModel;
use crate::clv::check::{HistogramCheck, HoldoutCheck};
use crate::cohort::Cohorts;
use crate::error::Result;
use crate::pipeline::PipelineOutput;
use crate::profitability::{MatrixAxis, Quadrant, QuadrantSummary, WhaleCurve};
use crate::segmentation::{KRule, SegmentProfile, Segmentation};
use crate::stages::churn::ContractualChurn;
use crate::stages::tracking::{TrackingCheck, TrackingPoint};

/// Customers drawn at most on the matrix scatter; larger tables draw every n-th.
pub const MATRIX_MAX_DOTS: usize = 4000;
/// Points drawn at most on the whale curve; longer curves draw every n-th customer.
pub const WHALE_MAX_POINTS: usize = 1000;
/// Cohorts drawn at most on the retention heat map (the latest ones).
pub const COHORT_MAX_ROWS: usize = 36;
/// Customers a cell of the RFM heat map needs before the reading names it as the best.
pub const RFM_MIN_CELL: usize = 30;
/// Recency columns of the P(alive) grid.
pub const P_ALIVE_COLUMNS: usize = 40;

/// The value at quantile `q` of ascending `sorted` values: the nearest rank
/// `round((n - 1) q)`, no interpolation; 0 for no values.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// A share as a percentage with one decimal: `0.1234` -> `12.3%`.
fn pct(v: f64) -> String {
    format!("{:.1}%", 100.0 * v)
}

/// An amount of money: two decimals below 10 000, then `12.3k`, then `1.23M`; negative
/// zero (an empty sum of floats) prints as `0.00`.
pub(crate) fn money(v: f64) -> String {
    let v = v + 0.0;
    if v.abs() >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v.abs() >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.2}")
    }
}

/// A frequency bin's label: `3`, or `7+` for the open last bin.
fn bin_label(frequency: u32, open_ended: bool) -> String {
    if open_ended {
        format!("{frequency}+")
    } else {
        frequency.to_string()
    }
}

/// `n` with its English ordinal suffix: `1st`, `2nd`, `3rd`, `4th`, `11th`, `22nd`.
fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// The axis labels of frequency bins given as `(frequency, open_ended, actual,
/// expected)`, and the highest actual or expected value (0 when there is none).
fn bin_axis(bins: impl Iterator<Item = (u32, bool, f64, f64)>) -> (Vec<String>, f64) {
    let mut max = 0.0;
    let labels = bins
        .map(|(frequency, open_ended, actual, expected)| {
            max = f64::max(max, actual.max(expected));
            bin_label(frequency, open_ended)
        })
        .collect();
    (labels, max)
}

/// The per-customer columns the matrix scatter plots, one entry per customer in the
/// same order (rows past the shortest slice are not drawn).
#[derive(Debug, Clone, Copy)]
pub struct MatrixCustomers<'a> {
    /// Cost-to-serve (horizontal axis).
    pub cost_to_serve: &'a [Option<f64>],
    /// Gross margin % or gross profit, per the matrix axis (vertical axis).
    pub value: &'a [Option<f64>],
    /// Quadrant name ([`Quadrant::name`]).
    pub quadrant: &'a [Option<String>],
}

/// The dots of one quadrant that fall inside the chart.
#[derive(Debug, Clone, PartialEq)]
pub struct QuadrantDots {
    /// Quadrant name.
    pub quadrant: &'static str,
    /// `(cost_to_serve, value)` of each drawn customer inside the axis ranges.
    pub points: Vec<(f64, f64)>,
}

/// One quadrant's share of the customers and of the net contribution.
#[derive(Debug, Clone, PartialEq)]
pub struct QuadrantShare {
    /// Quadrant name.
    pub quadrant: String,
    /// Share of all customers.
    pub customer_share: f64,
    /// Share of the total net contribution (can be negative, or above 1).
    pub net_contribution_share: f64,
}

/// What the profitability matrix shows and says.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixReading {
    /// What the vertical axis measures.
    pub axis: MatrixAxis,
    /// Where the vertical axis is split (margin % or gross profit).
    pub value_split: f64,
    /// Where the cost-to-serve axis is split.
    pub cost_split: f64,
    /// The horizontal axis runs from 0 to this: 1.05 x the 99th percentile of
    /// cost-to-serve, at least 1.2 x its split.
    pub x_max: f64,
    /// The vertical axis: the 1st to 99th percentile (widened to include the split),
    /// padded by 5% of that span, at least 1 (contribution) or 5 (margin %) each side.
    pub y_range: (f64, f64),
    /// Every customer has the same vertical value (the matrix then separates by
    /// cost-to-serve only).
    pub constant_value: bool,
    /// Every `stride`-th customer is drawn (1 up to [`MATRIX_MAX_DOTS`] customers).
    pub stride: usize,
    /// Drawn dots inside the axis ranges, per quadrant in [`Quadrant::ALL`] order.
    pub dots: Vec<QuadrantDots>,
    /// Dots drawn.
    pub shown: usize,
    /// Drawn customers outside the axis ranges (not plotted).
    pub outside: usize,
    /// Customers exactly on the cost-to-serve split and exactly on the value split: a
    /// tie counts on the low side of its split (cheap to serve, low value). With few
    /// distinct costs (one-order customers all cost the same) this can be half the base.
    pub on_splits: (usize, usize),
    /// The quadrant with the most net contribution (the last one on ties).
    pub largest: Option<QuadrantShare>,
    /// The quadrant with the least net contribution (the first one on ties).
    pub smallest: Option<QuadrantShare>,
    /// The reading.
    pub text: String,
}

fn quadrant_share(q: &QuadrantSummary) -> QuadrantShare {
    QuadrantShare {
        quadrant: q.quadrant.clone(),
        customer_share: q.customer_share,
        net_contribution_share: q.net_contribution_share,
    }
}

/// The matrix of profit contribution (or margin %) against cost-to-serve: axis ranges
/// from the percentiles, the dots to draw (every n-th customer above
/// [`MATRIX_MAX_DOTS`]), the quadrants with the most and the least net contribution,
/// and the reading.
///
/// `thresholds` is `(value split, cost-to-serve split)` as in
/// [`crate::profitability::Profitability::thresholds`]; `quadrants` the per-quadrant
/// sums.
pub fn matrix(
    customers: MatrixCustomers<'_>,
    axis: MatrixAxis,
    thresholds: (f64, f64),
    quadrants: &[QuadrantSummary],
) -> MatrixReading {
    let MatrixCustomers {
        cost_to_serve: cts,
        value,
        quadrant,
    } = customers;
    let contribution = axis == MatrixAxis::Contribution;
    let n = cts.len();
    let stride = n.div_ceil(MATRIX_MAX_DOTS).max(1);
    let mut xs: Vec<f64> = cts.iter().flatten().copied().collect();
    let mut ys: Vec<f64> = value.iter().flatten().copied().collect();
    crate::stats::sort_f64(&mut xs);
    crate::stats::sort_f64(&mut ys);
    let (t_value, t_cts) = thresholds;
    let x_max = (quantile(&xs, 0.99) * 1.05).max(t_cts * 1.2).max(1e-9);
    let (q_lo, q_hi) = (
        quantile(&ys, 0.01).min(t_value),
        quantile(&ys, 0.99).max(t_value),
    );
    let pad = ((q_hi - q_lo) * 0.05).max(if contribution { 1.0 } else { 5.0 });
    let (y_lo, y_hi) = (q_lo - pad, q_hi + pad);
    let constant_value = ys.first().zip(ys.last()).is_some_and(|(a, b)| a == b);

    let (mut outside, mut shown) = (0usize, 0usize);
    let dots: Vec<QuadrantDots> = Quadrant::ALL
        .iter()
        .map(|q| {
            let name = q.name();
            let pts: Vec<(f64, f64)> = (0..n)
                .step_by(stride)
                .filter(|&i| quadrant.get(i).and_then(|q| q.as_deref()) == Some(name))
                .filter_map(|i| Some((cts[i]?, (*value.get(i)?)?)))
                .collect();
            let inside: Vec<(f64, f64)> = pts
                .iter()
                .copied()
                .filter(|(x, y)| *x <= x_max && *y >= y_lo && *y <= y_hi)
                .collect();
            outside += pts.len() - inside.len();
            shown += inside.len();
            QuadrantDots {
                quadrant: name,
                points: inside,
            }
        })
        .collect();

    let largest = quadrants
        .iter()
        .max_by(|a, b| a.net_contribution.total_cmp(&b.net_contribution))
        .map(quadrant_share);
    let smallest = quadrants
        .iter()
        .min_by(|a, b| a.net_contribution.total_cmp(&b.net_contribution))
        .map(quadrant_share);

    let mut text = if contribution {
        format!(
            "Each dot is a customer: gross profit (profit contribution before service costs) against the cost of serving them. The lines split both axes at {} gross profit and {} cost-to-serve.",
            money(t_value),
            money(t_cts)
        )
    } else {
        format!(
            "Each dot is a customer: gross margin as a share of revenue against the cost of serving them. The lines split both axes at {:.1}% margin and {} cost-to-serve.",
            t_value,
            money(t_cts)
        )
    };
    if constant_value {
        text.push_str(" Every customer has the same value on the vertical axis (a margin rate without a cost column?): the matrix separates customers by cost-to-serve only; set the profitability axis to contribution.");
    }
    if let (Some(b), Some(w)) = (&largest, &smallest) {
        text.push_str(&format!(
            " {} customers ({} of the base) bring {} of net contribution; {} ({}) bring {}.",
            b.quadrant,
            pct(b.customer_share),
            pct(b.net_contribution_share),
            w.quadrant,
            pct(w.customer_share),
            pct(w.net_contribution_share)
        ));
    }
    let on_splits = (
        cts.iter().filter(|c| **c == Some(t_cts)).count(),
        value.iter().filter(|v| **v == Some(t_value)).count(),
    );
    if on_splits.0 > 0 {
        text.push_str(&format!(
            " {} customers ({}) sit exactly on the cost-to-serve split and count as cheap to serve (a customer on a split line counts on its low side).",
            count(on_splits.0 as f64),
            pct(on_splits.0 as f64 / n.max(1) as f64)
        ));
    }
    if on_splits.1 > 0 && !constant_value {
        text.push_str(&format!(
            " {} sit exactly on the value split and count as low value.",
            count(on_splits.1 as f64)
        ));
    }
    if stride > 1 {
        text.push_str(&format!(
            " Every {} customer is drawn ({shown} dots).",
            ordinal(stride)
        ));
    }
    if outside > 0 {
        text.push_str(&format!(
            " {outside} drawn customers beyond the 1st-99th percentile range are off the chart."
        ));
    }
    MatrixReading {
        axis,
        value_split: t_value,
        cost_split: t_cts,
        x_max,
        y_range: (y_lo, y_hi),
        constant_value,
        stride,
        dots,
        shown,
        outside,
        on_splits,
        largest,
        smallest,
        text,
    }
}

/// [`matrix`] on a run: the `cost_to_serve`, matrix-axis and `quadrant` columns of
/// [`PipelineOutput::customers`]; None when profitability is switched off.
///
/// # Errors
///
/// [`crate::Error::MissingColumn`] / [`crate::Error::WrongType`] when a column is missing
/// or not numeric; polars errors when `quadrant` is not text.
pub fn matrix_of(out: &PipelineOutput) -> Result<Option<MatrixReading>> {
    let Some(p) = &out.profitability else {
        return Ok(None);
    };
    let df = &out.customers;
    let cost_to_serve = crate::io::frame::nullable_f64(df, "cost_to_serve")?;
    let value = crate::io::frame::nullable_f64(df, p.axis.column())?;
    let quadrant: Vec<Option<String>> = df
        .column("quadrant")?
        .str()?
        .iter()
        .map(|v| v.map(str::to_string))
        .collect();
    let customers = MatrixCustomers {
        cost_to_serve: &cost_to_serve,
        value: &value,
        quadrant: &quadrant,
    };
    Ok(Some(matrix(customers, p.axis, p.thresholds, &p.quadrants)))
}

/// What the whale curve shows and says.
#[derive(Debug, Clone, PartialEq)]
pub struct WhaleReading {
    /// Every `stride`-th customer is a point of the drawn curve (1 up to
    /// [`WHALE_MAX_POINTS`] customers).
    pub stride: usize,
    /// The drawn curve in percent: `(0, 0)`, then (% of customers, cumulative % of net
    /// contribution) after every `stride`-th customer, and always after the last one
    /// (listed twice when it is also a `stride`-th one).
    pub curve: Vec<(f64, f64)>,
    /// The peak in percent: (% of customers up to it, % of net contribution).
    pub peak: (f64, f64),
    /// Cumulative share of the top 20% of customers.
    pub top20_share: f64,
    /// Total net contribution.
    pub total: f64,
    /// Highest cumulative share.
    pub peak_share: f64,
    /// Customers up to and including the peak.
    pub peak_customers: usize,
    /// Their share of all customers.
    pub peak_customer_share: f64,
    /// Loss-making customers.
    pub loss_making: usize,
    /// Their total net contribution.
    pub loss_total: f64,
    /// Gini of net contribution.
    pub gini: Option<f64>,
    /// The reading.
    pub text: String,
}

/// The whale curve's drawn points, peak and concentration figures, and the reading;
/// None for a curve without customers.
pub fn whale(w: &WhaleCurve) -> Option<WhaleReading> {
    let n = w.points.len();
    if n == 0 {
        return None;
    }
    let stride = n.div_ceil(WHALE_MAX_POINTS).max(1);
    let mut curve: Vec<(f64, f64)> = vec![(0.0, 0.0)];
    curve.extend(
        (0..n)
            .step_by(stride)
            .chain(std::iter::once(n - 1))
            .map(|i| (100.0 * (i + 1) as f64 / n as f64, 100.0 * w.points[i])),
    );
    let text = format!(
        "The top 20% of customers bring {} of total net contribution ({}). The curve peaks at {} after the best {} customers ({} of the base): {} customers lose money, together {}.{}",
        pct(w.top20_share),
        money(w.total),
        pct(w.peak_share),
        count(w.peak_customers as f64),
        pct(w.peak_customer_share),
        count(w.loss_making as f64),
        money(w.loss_total),
        match w.gini {
            Some(g) => format!(" Gini of net contribution: {g:.3}."),
            None => String::new(),
        }
    );
    Some(WhaleReading {
        stride,
        curve,
        peak: (100.0 * w.peak_customer_share, 100.0 * w.peak_share),
        top20_share: w.top20_share,
        total: w.total,
        peak_share: w.peak_share,
        peak_customers: w.peak_customers,
        peak_customer_share: w.peak_customer_share,
        loss_making: w.loss_making,
        loss_total: w.loss_total,
        gini: w.gini,
        text,
    })
}

/// One segment's bar pair.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentBar {
    /// Segment number.
    pub segment: usize,
    /// Generated description.
    pub label: String,
    /// Share of customers.
    pub customer_share: f64,
    /// Share of revenue (None when the table had no spend).
    pub revenue_share: Option<f64>,
}

/// What the segment chart shows and says.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentsReading {
    /// The chosen number of segments.
    pub chosen_k: usize,
    /// Customers the silhouette was computed on.
    pub silhouette_sample_size: usize,
    /// The rule that chose k over a range; None when a single k was tried (fixed by the
    /// settings, or a range cut to one k by the number of customers).
    pub k_rule: Option<KRule>,
    /// One bar pair per segment, in segment order.
    pub bars: Vec<SegmentBar>,
    /// The largest share drawn (customers or revenue), 0 when there is none.
    pub max_share: f64,
    /// The reading.
    pub text: String,
}

/// Share of customers and of revenue per segment, and the reading (which states the
/// rule that chose k: `k_rule`, None when only one k was tried); None without segments.
///
/// ```
/// use patronage::report::readings::segments;
/// use patronage::segmentation::KRule;
/// let r = segments(&[], 2, 100, Some(KRule::Gap));
/// assert!(r.is_none());
/// ```
pub fn segments(
    profiles: &[SegmentProfile],
    chosen_k: usize,
    silhouette_sample_size: usize,
    k_rule: Option<KRule>,
) -> Option<SegmentsReading> {
    if profiles.is_empty() {
        return None;
    }
    let max_share = profiles
        .iter()
        .map(|p| p.share.max(p.revenue_share.unwrap_or(0.0)))
        .fold(0.0, f64::max);
    let parts: Vec<String> = profiles
        .iter()
        .map(|s| {
            format!(
                "segment {} \u{201c}{}\u{201d}: {} of customers, {} of revenue",
                s.segment,
                s.label,
                pct(s.share),
                s.revenue_share.map_or("n/a".into(), pct)
            )
        })
        .collect();
    let how = match k_rule {
        Some(KRule::Gap) => {
            "k chosen by the gap statistic over the k range: the fewest segments whose gap is within one standard error of the next k's".to_string()
        }
        Some(KRule::Stability) => {
            "k chosen by stability over the k range: the k whose segments agree most between fits on overlapping subsamples".to_string()
        }
        Some(_) => format!(
            "highest silhouette over the k range, computed on {} customers",
            count(silhouette_sample_size as f64)
        ),
        None => "k fixed by the settings".to_string(),
    };
    let text = format!(
        "{} segments were chosen ({how}). {}. Segments are numbered by revenue, largest first.",
        chosen_k,
        parts.join("; ")
    );
    Some(SegmentsReading {
        chosen_k,
        silhouette_sample_size,
        k_rule,
        bars: profiles
            .iter()
            .map(|p| SegmentBar {
                segment: p.segment,
                label: p.label.clone(),
                customer_share: p.share,
                revenue_share: p.revenue_share,
            })
            .collect(),
        max_share,
        text,
    })
}

/// [`segments`] of a segmentation.
pub fn segments_of(seg: &Segmentation) -> Option<SegmentsReading> {
    segments(
        &seg.profiles,
        seg.chosen_k,
        seg.silhouette_sample_size,
        (seg.k_table.len() > 1).then_some(seg.k_rule),
    )
}

/// One cell of the RFM heat map.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RfmCell {
    /// Recency score (1-based).
    pub r_score: usize,
    /// Frequency score (1-based).
    pub f_score: usize,
    /// Mean total spend of its customers.
    pub mean_spend: f64,
    /// Its customers.
    pub customers: usize,
}

/// What the RFM heat map shows and says.
#[derive(Debug, Clone, PartialEq)]
pub struct RfmHeatmapReading {
    /// Scores per axis: the highest score seen (rounded), at least 1.
    pub bins: usize,
    /// `customers[r - 1][f - 1]`: customers with R score r and F score f.
    pub customers: Vec<Vec<usize>>,
    /// `mean_spend[r - 1][f - 1]`: their mean total spend (None for an empty cell).
    pub mean_spend: Vec<Vec<Option<f64>>>,
    /// Lowest and highest cell mean (None when every cell is empty).
    pub mean_range: Option<(f64, f64)>,
    /// The cell with the highest mean among those with at least [`RFM_MIN_CELL`]
    /// customers, or among all cells when none has that many (the last one in R-then-F
    /// order on ties).
    pub best: Option<RfmCell>,
    /// The reading.
    pub text: String,
}

/// Mean total spend per (R score, F score) cell, from per-customer scores and spend in
/// the same order; customers missing any of the three, or with a score outside
/// `1..=bins`, are left out (fractional scores are truncated).
pub fn rfm_heatmap(
    r_score: &[Option<f64>],
    f_score: &[Option<f64>],
    spend: &[Option<f64>],
) -> RfmHeatmapReading {
    let bins = r_score
        .iter()
        .chain(f_score)
        .flatten()
        .fold(1.0_f64, |a, &b| a.max(b))
        .round() as usize;
    let mut sum = vec![vec![0.0; bins]; bins];
    let mut count = vec![vec![0usize; bins]; bins];
    for ((r, f), m) in r_score.iter().zip(f_score).zip(spend) {
        if let (Some(r), Some(f), Some(m)) = (r, f, m) {
            let (ri, fi) = (*r as usize, *f as usize);
            if (1..=bins).contains(&ri) && (1..=bins).contains(&fi) {
                sum[ri - 1][fi - 1] += m;
                count[ri - 1][fi - 1] += 1;
            }
        }
    }
    let mean_spend: Vec<Vec<Option<f64>>> = (0..bins)
        .map(|ri| {
            (0..bins)
                .map(|fi| (count[ri][fi] > 0).then(|| sum[ri][fi] / count[ri][fi] as f64))
                .collect()
        })
        .collect();
    let values: Vec<f64> = mean_spend.iter().flatten().flatten().copied().collect();
    let mean_range = (!values.is_empty()).then(|| {
        values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            })
    });
    // A mean over a handful of customers is noise: name the best cell among those with
    // at least RFM_MIN_CELL customers, and say so when no cell has that many.
    let best_of = |min: usize| {
        (0..bins)
            .flat_map(|ri| (0..bins).map(move |fi| (ri, fi)))
            .filter(|&(ri, fi)| count[ri][fi] >= min.max(1))
            .filter_map(|(ri, fi)| mean_spend[ri][fi].map(|v| (ri, fi, v)))
            .max_by(|a, b| a.2.total_cmp(&b.2))
            .map(|(ri, fi, v)| RfmCell {
                r_score: ri + 1,
                f_score: fi + 1,
                mean_spend: v,
                customers: count[ri][fi],
            })
    };
    let (best, well_filled) = match best_of(RFM_MIN_CELL) {
        Some(c) => (Some(c), true),
        None => (best_of(1), false),
    };
    let intro = "Each cell holds the customers with one recency score (rows) and one frequency score (columns), coloured by their mean total spend; grey cells have no customers (ties in the frequency score leave some empty).";
    let text = match best {
        Some(c) if well_filled => format!(
            "{intro} Among cells of at least {RFM_MIN_CELL} customers the highest mean, {}, is at R {} / F {} ({} customers).",
            money(c.mean_spend),
            c.r_score,
            c.f_score,
            self::count(c.customers as f64)
        ),
        Some(c) => format!(
            "{intro} No cell has {RFM_MIN_CELL} customers; the highest mean, {}, is at R {} / F {} ({} customers), too few to act on.",
            money(c.mean_spend),
            c.r_score,
            c.f_score,
            self::count(c.customers as f64)
        ),
        None => "No customer has both scores.".into(),
    };
    RfmHeatmapReading {
        bins,
        customers: count,
        mean_spend,
        mean_range,
        best,
        text,
    }
}

/// [`rfm_heatmap`] on a run: `r_score`, `f_score` and `total_spend` of the RFM table.
///
/// # Errors
///
/// [`crate::Error::MissingColumn`] / [`crate::Error::WrongType`] when a column is missing
/// or not numeric.
pub fn rfm_heatmap_of(out: &PipelineOutput) -> Result<RfmHeatmapReading> {
    let df = out.rfm.frame();
    let r = crate::io::frame::nullable_f64(df, "r_score")?;
    let f = crate::io::frame::nullable_f64(df, "f_score")?;
    let m = crate::io::frame::nullable_f64(df, "total_spend")?;
    Ok(rfm_heatmap(&r, &f, &m))
}

/// What the calibration-vs-holdout chart shows and says.
#[derive(Debug, Clone, PartialEq)]
pub struct HoldoutReading {
    /// Axis label of each calibration-frequency bin (`7+` for the open last one).
    pub labels: Vec<String>,
    /// Actual holdout purchases, all customers.
    pub actual_total: f64,
    /// Expected holdout purchases, all customers.
    pub expected_total: f64,
    /// Expected minus actual: positive when the model over-forecasts the holdout.
    pub over_forecast: f64,
    /// `over_forecast` as a share of the actual purchases (None when there are none).
    pub over_forecast_share: Option<f64>,
    /// Customer-weighted mean absolute error of the bin means.
    pub mae: f64,
    /// The highest bin mean, actual or expected (0 when there is none).
    pub max_mean: f64,
    /// The reading.
    pub text: String,
}

/// The holdout check's bins, totals and under/over-forecast, and the reading; None
/// without bins.
pub fn holdout(h: &HoldoutCheck) -> Option<HoldoutReading> {
    if h.bins.is_empty() {
        return None;
    }
    let (labels, max_mean) = bin_axis(
        h.bins
            .iter()
            .map(|b| (b.frequency, b.open_ended, b.actual, b.expected)),
    );
    let over_forecast = h.expected_total - h.actual_total;
    let over_forecast_share = (h.actual_total != 0.0).then(|| over_forecast / h.actual_total);
    let verdict = match over_forecast_share {
        Some(e) if e < 0.0 => format!(" The model under-forecasts the holdout by {}.", pct(-e)),
        Some(e) if e > 0.0 => format!(" The model over-forecasts the holdout by {}.", pct(e)),
        _ => String::new(),
    };
    let text = format!(
        "Customers grouped by their repeat purchases in the calibration period; for each group the mean number of purchases they made in the holdout period, and what the model fitted on the calibration period expected. In all: {} actual against {} expected holdout purchases (mean absolute error per group {:.3}).{verdict}",
        count(h.actual_total),
        count(h.expected_total),
        h.mae
    );
    Some(HoldoutReading {
        labels,
        actual_total: h.actual_total,
        expected_total: h.expected_total,
        over_forecast,
        over_forecast_share,
        mae: h.mae,
        max_mean,
        text,
    })
}

/// What the P(alive) matrix shows and says.
#[derive(Debug, Clone, PartialEq)]
pub struct PAliveReading {
    /// The purchase model's name.
    pub model: String,
    /// The customer age the grid is computed at: the largest `T`.
    pub age: f64,
    /// The time unit of ages and recencies (`week`, `month`, ...).
    pub unit: String,
    /// The highest repeat-purchase row: the 99.5th percentile of frequency, rounded,
    /// within 5..=60.
    pub max_frequency: usize,
    /// Width of a recency column (`age / P_ALIVE_COLUMNS`).
    pub column_width: f64,
    /// `grid[x][c]`: P(alive) at `x` repeat purchases and recency the middle of column
    /// `c`; row 0 has only column 0 (without repeat purchases recency is 0), the other
    /// cells of row 0 are None (cannot occur).
    pub grid: Vec<Vec<Option<f64>>>,
    /// P(alive) at `max_frequency` repeat purchases and the earliest recency column.
    pub many_but_early: f64,
    /// P(alive) without repeat purchases.
    pub no_repeat: f64,
    /// The reading.
    pub text: String,
}

/// P(alive) of `model` over repeat purchases and recency at the largest customer age,
/// from the customers' `frequency` and age `T` (in `unit`s: `week`, `month`, ...); None
/// without customers or with no positive age.
pub fn p_alive(
    model: &dyn PurchaseModel,
    model_name: &str,
    frequency: &[f64],
    age: &[f64],
    unit: &str,
) -> Option<PAliveReading> {
    let t = age.iter().copied().fold(0.0, f64::max);
    if frequency.is_empty() || t <= 0.0 {
        return None;
    }
    let mut sorted = frequency.to_vec();
    crate::stats::sort_f64(&mut sorted);
    let max_x = quantile(&sorted, 0.995).clamp(5.0, 60.0).round() as usize;
    let cols = P_ALIVE_COLUMNS;
    let dt = t / cols as f64;
    let grid: Vec<Vec<Option<f64>>> = (0..=max_x)
        .map(|xi| {
            (0..cols)
                .map(|c| {
                    let t_x = (c as f64 + 0.5) * dt;
                    if xi == 0 {
                        (c == 0).then(|| model.p_alive(0.0, 0.0, t))
                    } else {
                        Some(model.p_alive(xi as f64, t_x, t))
                    }
                })
                .collect()
        })
        .collect();
    let many_but_early = grid
        .get(max_x.min(grid.len() - 1))
        .and_then(|row| row.first().copied().flatten())
        .unwrap_or(f64::NAN);
    let no_repeat = model.p_alive(0.0, 0.0, t);
    let mut text = format!(
        "The fitted {} model's probability that a customer is still active, for a customer first seen {t:.1} {unit}s before the end (dark = likely active). Customers with many purchases whose last purchase was long ago (top left) are the likeliest to have left: at {max_x} repeat purchases and the earliest recency P(alive) is {:.3}. Customers without repeat purchases (bottom row) have one value, {:.3}; grey cells cannot occur.",
        model_name, many_but_early, no_repeat
    );
    if no_repeat > 0.999 {
        // Why the mean P(alive) can sit beside a large RFM "Lost" segment.
        text.push_str(&format!(
            " The {model_name} model lets a customer drop out only right after a repeat purchase, so every one-time buyer counts as active however long ago they bought: the mean P(alive) includes them at 1 while RFM calls the old ones lost. MBG/NBD and Pareto/NBD do not assume this (compare them with `patronage fit compare`)."
        ));
    }
    Some(PAliveReading {
        model: model_name.to_string(),
        age: t,
        unit: unit.to_string(),
        max_frequency: max_x,
        column_width: dt,
        grid,
        many_but_early,
        no_repeat,
        text,
    })
}

/// [`p_alive`] on a run: the purchase model and the `frequency` and `T` columns of the
/// CLV table; None when CLV is switched off or the model has no P(alive) (BG/BB).
///
/// # Errors
///
/// [`crate::Error::MissingColumn`] / [`crate::Error::WrongType`] when a column is missing
/// or not numeric.
pub fn p_alive_of(out: &PipelineOutput) -> Result<Option<PAliveReading>> {
    let Some(clv) = &out.clv else {
        return Ok(None);
    };
    let Some(pm) = clv.purchase.purchase_model() else {
        return Ok(None);
    };
    let x: Vec<f64> = crate::io::frame::nullable_f64(&clv.frame, "frequency")?
        .into_iter()
        .flatten()
        .collect();
    let t: Vec<f64> = crate::io::frame::nullable_f64(&clv.frame, "T")?
        .into_iter()
        .flatten()
        .collect();
    let unit = crate::stages::tracking::unit_name(out.summary.options().time_unit);
    Ok(p_alive(pm, clv.purchase.name(), &x, &t, unit))
}

/// What the period-transactions chart shows and says.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodTransactionsReading {
    /// Axis label of each frequency bin (`7+` for the open last one).
    pub labels: Vec<String>,
    /// Customers without repeat purchase (the first bin): (actual, model).
    pub no_repeat: Option<(f64, f64)>,
    /// Chi-square over the bins.
    pub chi_square: f64,
    /// The highest bin count, actual or model (0 when there is none).
    pub max_count: f64,
    /// The reading.
    pub text: String,
}

/// The repeat-purchase histogram against the model, and the reading; None without
/// bins.
pub fn period_transactions(h: &HistogramCheck) -> Option<PeriodTransactionsReading> {
    if h.bins.is_empty() {
        return None;
    }
    let (labels, max_count) = bin_axis(
        h.bins
            .iter()
            .map(|b| (b.frequency, b.open_ended, b.actual, b.expected)),
    );
    let no_repeat = h.bins.first().map(|b| (b.actual, b.expected));
    let text = format!(
        "How many customers made 0, 1, 2, ... repeat purchases in the period the model was fitted on, against the counts the fitted model implies for the same customer ages.{} Chi-square over the bins: {:.1}.",
        match no_repeat {
            Some((a, e)) => format!(
                " Without repeat purchase: {} customers, model {}.",
                count(a),
                count(e)
            ),
            None => String::new(),
        },
        h.chi_square
    );
    Some(PeriodTransactionsReading {
        labels,
        no_repeat,
        chi_square: h.chi_square,
        max_count,
        text,
    })
}

/// A count with thousands separators: `4156.4` -> `4,156` (also the tracking charts'
/// axis labels).
pub(crate) fn count(v: f64) -> String {
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v.round() < 0.0 {
        out.insert(0, '-');
    }
    out
}

/// What the tracking charts (cumulative and per-period repeat purchases over calendar
/// time) show and say.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackingReading {
    /// Axis title of the time axis: `weeks since 1997-01-01`.
    pub x_label: String,
    /// The last period end (time units since the origin).
    pub x_max: f64,
    /// The highest cumulative figure, actual or expected.
    pub max_cumulative: f64,
    /// Per period: `(period end, actual, expected)` repeat purchases per time unit (the
    /// period's purchases over its length, so that a shorter first or last period is
    /// not a dip).
    pub rates: Vec<(f64, f64, f64)>,
    /// The highest rate, actual or expected.
    pub max_rate: f64,
    /// The calibration end, when the model was fitted on a calibration period.
    pub calibration_end: Option<f64>,
    /// `(actual, expected)` repeat purchases after the calibration end (the holdout), or
    /// over the whole window without one.
    pub judged: (f64, f64),
    /// `expected / actual - 1` of `judged` (None without actual purchases): negative when
    /// the model under-forecasts.
    pub error_share: Option<f64>,
    /// The period with the largest `|actual - expected|` gap in rates (the first period
    /// left out: it holds only the earliest customers): its end date, actual and
    /// expected rate.
    pub largest_gap: (String, f64, f64),
    /// The reading under the cumulative chart.
    pub text: String,
    /// The reading under the per-period chart.
    pub incremental_text: String,
}

/// The tracking check's axis, the holdout (or whole-window) error and the largest
/// per-period gap, and the readings; None without points.
pub fn tracking(t: &TrackingCheck) -> Option<TrackingReading> {
    let (first, end) = (t.points.first()?, t.at_end()?);
    let unit = if t.step == 1 {
        format!("{}s", t.time_unit)
    } else {
        format!("{}s (periods of {})", t.time_unit, t.step)
    };
    let max_cumulative = t
        .points
        .iter()
        .fold(0.0f64, |m, p| m.max(p.actual).max(p.expected));
    let rates: Vec<(f64, f64, f64)> = t
        .points
        .iter()
        .filter(|p| p.period_length > 0.0)
        .map(|p| {
            (
                p.period_end,
                p.actual_incremental / p.period_length,
                p.expected_incremental / p.period_length,
            )
        })
        .collect();
    let max_rate = rates.iter().fold(0.0f64, |m, r| m.max(r.1).max(r.2));
    let at_cal = t.at_calibration_end();
    let judged = match at_cal {
        Some(c) => (end.actual - c.actual, end.expected - c.expected),
        None => (end.actual, end.expected),
    };
    let error_share = (judged.0 > 0.0).then(|| judged.1 / judged.0 - 1.0);
    let verdict = match error_share {
        Some(e) if e < 0.0 => format!("the model under-forecasts by {}", pct(-e)),
        Some(e) => format!("the model over-forecasts by {}", pct(e)),
        None => "no actual purchase to compare with".into(),
    };
    let text = match at_cal {
        Some(c) => format!(
            "Cumulative repeat purchases of the whole base since the first acquisition ({}), against what the model fitted on the calibration period expects from each customer's acquisition date. By the calibration end ({}): {} actual, {} expected. After it, in the holdout: {} actual against {} expected: {verdict}.",
            t.origin,
            c.date,
            count(c.actual),
            count(c.expected),
            count(judged.0),
            count(judged.1)
        ),
        None => format!(
            "Cumulative repeat purchases of the whole base since the first acquisition ({}), against what the fitted model expects from each customer's acquisition date. By {}: {} actual against {} expected: {verdict}. Without a calibration end this is an in-sample check; give one to judge forecasts.",
            t.origin,
            end.date,
            count(judged.0),
            count(judged.1)
        ),
    };
    let rate = |p: &TrackingPoint| {
        let l = p.period_length.max(f64::MIN_POSITIVE);
        (p.actual_incremental / l, p.expected_incremental / l)
    };
    let gap = t
        .points
        .iter()
        .skip(1)
        .filter(|p| p.period_length > 0.0)
        .max_by(|a, b| {
            let (ra, rb) = (rate(a), rate(b));
            (ra.0 - ra.1).abs().total_cmp(&(rb.0 - rb.1).abs())
        })
        .unwrap_or(first);
    let (gap_actual, gap_expected) = rate(gap);
    let incremental_text = format!(
        "Repeat purchases per {}{} against the model's expectation. The model has no seasons or campaigns, so periods far from its curve point to them (or to gaps in the data); the largest gap is the period ending {}: {} actual against {} expected per {}.",
        t.time_unit,
        if t.step == 1 {
            String::new()
        } else {
            format!(", in periods of {} {}s", t.step, t.time_unit)
        },
        gap.date,
        count(gap_actual),
        count(gap_expected),
        t.time_unit
    );
    Some(TrackingReading {
        x_label: format!("{unit} since {}", t.origin),
        x_max: end.period_end,
        max_cumulative,
        rates,
        max_rate,
        calibration_end: t.calibration_end,
        judged,
        error_share,
        largest_gap: (gap.date.clone(), gap_actual, gap_expected),
        text,
        incremental_text,
    })
}

/// What the cohort retention heat map shows and says.
#[derive(Debug, Clone, PartialEq)]
pub struct CohortReading {
    /// All cohorts.
    pub cohorts: usize,
    /// All customers (sum of the cohort sizes).
    pub customers: usize,
    /// Index of the first drawn cohort: the latest [`COHORT_MAX_ROWS`] are drawn.
    pub first_drawn: usize,
    /// Period columns: the longest retention row drawn, at least 1.
    pub periods: usize,
    /// Unweighted mean, over the drawn cohorts that have one, of the retention in the
    /// period after acquisition (None when no drawn cohort has it).
    pub mean_next_period: Option<f64>,
    /// The top of the colour scale: the highest retention of a drawn cohort after its
    /// acquisition period (0 when there is none).
    pub colour_max: f64,
    /// The reading.
    pub text: String,
}

/// Retention by acquisition cohort: which cohorts are drawn, the mean retention in the
/// period after acquisition, and the reading.
pub fn cohort_retention(c: &Cohorts) -> CohortReading {
    let first = c.labels.len().saturating_sub(COHORT_MAX_ROWS);
    let rows = first..c.labels.len();
    let periods = rows
        .clone()
        .map(|i| c.retention.get(i).map_or(0, Vec::len))
        .max()
        .unwrap_or(0)
        .max(1);
    let p1: Vec<f64> = rows
        .filter_map(|i| c.retention.get(i).and_then(|r| r.get(1)).copied())
        .collect();
    let customers = c.sizes.iter().sum::<usize>();
    let mean_next_period = (!p1.is_empty()).then(|| p1.iter().sum::<f64>() / p1.len() as f64);
    // Period 0 is 100% by definition: scaling the colours to it would leave every later
    // period pale, so the scale runs to the highest retention after it.
    let colour_max = (first..c.labels.len())
        .filter_map(|i| c.retention.get(i))
        .flat_map(|r| r.iter().skip(1).copied())
        .fold(0.0f64, f64::max);
    let mut text = format!(
        "Customers grouped by the period of their first purchase (rows); each cell is the share of the cohort buying again in that period since acquisition. The acquisition period (100% by definition) is grey; the colours run from 0 (light) to {} (dark), the highest share after it. {} cohorts, {} customers.",
        pct(colour_max),
        c.labels.len(),
        count(customers as f64)
    );
    if let Some(m) = mean_next_period {
        text.push_str(&format!(
            " On average {} of a cohort buy again in the period after acquisition.",
            pct(m)
        ));
    }
    if first > 0 {
        text.push_str(&format!(
            " The latest {COHORT_MAX_ROWS} cohorts are drawn; cohorts.csv has all."
        ));
    }
    CohortReading {
        cohorts: c.labels.len(),
        customers,
        first_drawn: first,
        periods,
        mean_next_period,
        colour_max,
        text,
    }
}

/// What the contractual-retention chart shows and says.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ChurnReading {
    /// Per observed period `t`: the observed and the fitted share still subscribed.
    pub survival: Vec<(f64, f64, f64)>,
    /// Periods drawn: the observed ones, and as many again projected by the model.
    pub horizon: u32,
    /// The model's survival over `0..=horizon`.
    pub projection: Vec<(f64, f64)>,
    /// The reading.
    pub text: String,
}

/// The sBG fit to a subscription log's cohorts: observed against fitted survival, the
/// mean cancellation probability, how retention rises, and the projection.
pub fn churn(c: &ContractualChurn) -> ChurnReading {
    let m = &c.fit.model;
    let data = &c.fit.data;
    let observed = data.observed_survival();
    let last = data.last_period() as u32;
    let horizon = (2 * last).max(2);
    let survival: Vec<(f64, f64, f64)> = observed
        .iter()
        .enumerate()
        .map(|(t, &o)| (t as f64, o, m.survival(t as u32)))
        .collect();
    let projection: Vec<(f64, f64)> = (0..=horizon)
        .map(|t| (f64::from(t), m.survival(t)))
        .collect();
    let (alpha, beta) = (m.alpha(), m.beta());
    let first = m.retention_rate(1).unwrap_or(f64::NAN);
    let later = m.retention_rate(last.max(1)).unwrap_or(f64::NAN);
    let text = format!(
        "The share of each acquisition cohort still paying, period by period since acquisition (the {} cohorts from {} to {}, each observed to {}), against the shifted-beta-geometric model (alpha {:.3}, beta {:.3}), projected to period {}. A new customer cancels at the first renewal with probability {} on average; retention rises from {} at the first renewal to {} at period {} as the customers most likely to cancel leave first (a sorting effect, not growing loyalty). The model expects {} of a new cohort to be paying after {} periods.",
        c.survival.labels.len(),
        c.survival.labels.first().map_or("", String::as_str),
        c.survival.labels.last().map_or("", String::as_str),
        c.survival.through,
        alpha,
        beta,
        horizon,
        pct(alpha / (alpha + beta)),
        pct(first),
        pct(later),
        last.max(1),
        pct(m.survival(horizon)),
        horizon
    );
    ChurnReading {
        survival,
        horizon,
        projection,
        text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clv::check::{HistogramBin, HoldoutBin};
    use crate::profitability::whale_curve;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    fn point(
        date: &str,
        (end, length): (f64, f64),
        actual: f64,
        expected: f64,
        prev: (f64, f64),
    ) -> TrackingPoint {
        TrackingPoint {
            date: date.into(),
            period_end: end,
            period_length: length,
            actual,
            expected,
            actual_incremental: actual - prev.0,
            expected_incremental: expected - prev.1,
        }
    }

    #[test]
    fn tracking_judges_the_holdout_and_finds_the_largest_gap() {
        let t = TrackingCheck {
            time_unit: "week",
            step: 1,
            origin: "2024-01-01".into(),
            calibration_end: Some(2.0),
            points: vec![
                point("2024-01-08", (1.0, 1.0), 10.0, 12.0, (0.0, 0.0)),
                point("2024-01-15", (2.0, 1.0), 30.0, 28.0, (10.0, 12.0)),
                point("2024-01-22", (3.0, 1.0), 1030.0, 48.0, (30.0, 28.0)),
                // A last period of half a week.
                point("2024-01-25", (3.5, 0.5), 1080.0, 1098.0, (1030.0, 48.0)),
            ],
        };
        let r = tracking(&t).unwrap();
        // Holdout: 1080 - 30 = 1050 actual, 1098 - 28 = 1070 expected.
        assert_eq!(r.judged, (1050.0, 1070.0));
        assert!(close(r.error_share.unwrap(), 1070.0 / 1050.0 - 1.0));
        assert!(
            r.text
                .contains("1,050 actual against 1,070 expected: the model over-forecasts by 1.9%"),
            "{}",
            r.text
        );
        // Per week: 1000 vs 20 in the week to 01-22 (gap 980); 50 vs 1050 in the half
        // week after, i.e. 100 vs 2100 a week (gap 2000).
        assert_eq!(r.largest_gap, ("2024-01-25".into(), 100.0, 2100.0));
        assert_eq!(r.rates[2], (3.0, 1000.0, 20.0));
        assert_eq!(
            (r.x_label.as_str(), r.x_max),
            ("weeks since 2024-01-01", 3.5)
        );
        assert_eq!((r.max_cumulative, r.max_rate), (1098.0, 2100.0));
        assert!(
            r.incremental_text
                .contains("period ending 2024-01-25: 100 actual against 2,100 expected per week"),
            "{}",
            r.incremental_text
        );
    }

    #[test]
    fn tracking_without_calibration_is_in_sample_and_says_under_forecast() {
        let t = TrackingCheck {
            time_unit: "day",
            step: 7,
            origin: "2024-01-01".into(),
            calibration_end: None,
            points: vec![
                point("2024-01-08", (7.0, 7.0), 0.0, 1.0, (0.0, 0.0)),
                point("2024-01-15", (14.0, 7.0), 200.0, 150.0, (0.0, 1.0)),
            ],
        };
        let r = tracking(&t).unwrap();
        assert_eq!(r.judged, (200.0, 150.0));
        assert!(r.text.contains("under-forecasts by 25.0%"), "{}", r.text);
        assert!(r.text.contains("in-sample"));
        assert_eq!(r.x_label, "days (periods of 7) since 2024-01-01");
        assert!(
            r.incremental_text
                .starts_with("Repeat purchases per day, in periods of 7 days against"),
            "{}",
            r.incremental_text
        );
        // 200 and 149 purchases over 7 days.
        assert!(
            r.incremental_text
                .contains("29 actual against 21 expected per day")
        );
        assert_eq!(count(1234567.4), "1,234,567");
        assert_eq!(count(-1234.0), "-1,234");
        assert_eq!(count(999.0), "999");
    }

    // ---- helpers ----

    #[test]
    fn quantile_is_the_nearest_rank_and_zero_for_no_values() {
        assert_eq!(quantile(&[], 0.5), 0.0);
        assert_eq!(quantile(&[7.0], 0.99), 7.0);
        // 4 values: rank round(3 q); q = 0.5 -> round(1.5) = 2 -> the third value.
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.5), 3.0);
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.01), 1.0);
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.99), 4.0);
    }

    #[test]
    fn money_and_percent_formats() {
        assert_eq!(money(9999.994), "9999.99");
        assert_eq!(money(12_345.0), "12.3k");
        assert_eq!(money(-12_345.0), "-12.3k");
        assert_eq!(money(1_234_567.0), "1.23M");
        assert_eq!(money(-0.0), "0.00");
        let ords: Vec<String> = [1, 2, 3, 4, 6, 11, 12, 13, 21, 22, 23, 101, 111]
            .into_iter()
            .map(ordinal)
            .collect();
        assert_eq!(
            ords,
            [
                "1st", "2nd", "3rd", "4th", "6th", "11th", "12th", "13th", "21st", "22nd", "23rd",
                "101st", "111th"
            ]
        );
        assert_eq!(pct(0.1234), "12.3%");
        assert_eq!(pct(-0.1), "-10.0%");
        assert_eq!(bin_label(3, false), "3");
        assert_eq!(bin_label(7, true), "7+");
    }

    // ---- matrix ----

    fn quadrant(
        name: &str,
        customers: usize,
        net: f64,
        total_net: f64,
        n: usize,
    ) -> QuadrantSummary {
        QuadrantSummary {
            quadrant: name.into(),
            action: String::new(),
            customers,
            revenue: 0.0,
            gross_profit: 0.0,
            cost_to_serve: 0.0,
            net_contribution: net,
            customer_share: customers as f64 / n as f64,
            revenue_share: 0.0,
            net_contribution_share: net / total_net,
        }
    }

    /// Cost-to-serve, gross profit, quadrant per customer; sums per quadrant.
    type Four = (
        Vec<Option<f64>>,
        Vec<Option<f64>>,
        Vec<Option<String>>,
        Vec<QuadrantSummary>,
    );

    /// Four customers at cost-to-serve 1, 2, 3, 4 and gross profit 10, 30, 30, 40, split
    /// at 25 gross profit and 2.5 cost-to-serve; net contribution by quadrant 25, 30, -5,
    /// 0 of a total of 50.
    fn four() -> Four {
        let cts = vec![Some(1.0), Some(2.0), Some(3.0), Some(4.0)];
        let value = vec![Some(10.0), Some(30.0), Some(30.0), Some(40.0)];
        let q = [
            "Bargain basement",
            "Passive",
            "Carriage trade",
            "Carriage trade",
        ]
        .map(|s| Some(s.to_string()))
        .to_vec();
        let sums = vec![
            quadrant("Passive", 1, 25.0, 50.0, 4),
            quadrant("Carriage trade", 2, 30.0, 50.0, 4),
            quadrant("Bargain basement", 1, -5.0, 50.0, 4),
            quadrant("Aggressive", 0, 0.0, 50.0, 4),
        ];
        (cts, value, q, sums)
    }

    fn customers<'a>(
        cts: &'a [Option<f64>],
        value: &'a [Option<f64>],
        quadrant: &'a [Option<String>],
    ) -> MatrixCustomers<'a> {
        MatrixCustomers {
            cost_to_serve: cts,
            value,
            quadrant,
        }
    }

    #[test]
    fn matrix_four_customers_on_the_contribution_axis() {
        let (cts, value, q, sums) = four();
        let r = matrix(
            customers(&cts, &value, &q),
            MatrixAxis::Contribution,
            (25.0, 2.5),
            &sums,
        );
        assert_eq!((r.value_split, r.cost_split), (25.0, 2.5));
        // x: 99th percentile of cost-to-serve is 4 (rank round(2.97) = 3); 4 x 1.05 = 4.2
        // beats 1.2 x 2.5 = 3.
        assert!(close(r.x_max, 4.2));
        // y: 1st-99th percentile 10..40, padded by 5% of 30 = 1.5 (above the minimum 1).
        assert!(close(r.y_range.0, 8.5) && close(r.y_range.1, 41.5));
        assert!(!r.constant_value);
        assert_eq!((r.stride, r.shown, r.outside), (1, 4, 0));
        let names: Vec<&str> = r.dots.iter().map(|d| d.quadrant).collect();
        assert_eq!(
            names,
            [
                "Passive",
                "Carriage trade",
                "Bargain basement",
                "Aggressive"
            ]
        );
        assert_eq!(r.dots[0].points, vec![(2.0, 30.0)]);
        assert_eq!(r.dots[1].points, vec![(3.0, 30.0), (4.0, 40.0)]);
        assert_eq!(r.dots[2].points, vec![(1.0, 10.0)]);
        assert!(r.dots[3].points.is_empty());
        let big = r.largest.as_ref().unwrap();
        assert_eq!(big.quadrant, "Carriage trade");
        assert!(close(big.customer_share, 0.5) && close(big.net_contribution_share, 0.6));
        let worst = r.smallest.as_ref().unwrap();
        assert_eq!(worst.quadrant, "Bargain basement");
        assert!(close(worst.net_contribution_share, -0.1));
        assert!(
            r.text
                .contains("at 25.00 gross profit and 2.50 cost-to-serve")
        );
        assert!(r.text.contains(
            "Carriage trade customers (50.0% of the base) bring 60.0% of net contribution; Bargain basement (25.0%) bring -10.0%."
        ));
        assert!(!r.text.contains("is drawn") && !r.text.contains("off the chart"));
    }

    #[test]
    fn matrix_counts_customers_on_the_split_lines() {
        // Split at 30 value and 3 cost-to-serve: customer 3 (3.0, 30.0) is on both lines,
        // customer 2 (2.0, 30.0) on the value line only.
        let (cts, value, q, sums) = four();
        let r = matrix(
            customers(&cts, &value, &q),
            MatrixAxis::Contribution,
            (30.0, 3.0),
            &sums,
        );
        assert_eq!(r.on_splits, (1, 2));
        assert!(r.text.contains(
            " 1 customers (25.0%) sit exactly on the cost-to-serve split and count as cheap to serve"
        ));
        assert!(
            r.text
                .contains(" 2 sit exactly on the value split and count as low value.")
        );
        // Off the lines: nothing said.
        let r = matrix(
            customers(&cts, &value, &q),
            MatrixAxis::Contribution,
            (25.0, 2.5),
            &sums,
        );
        assert_eq!(r.on_splits, (0, 0));
        assert!(!r.text.contains("exactly on"));
    }

    #[test]
    fn matrix_margin_axis_pads_by_at_least_five_points() {
        let (cts, value, q, sums) = four();
        let r = matrix(
            customers(&cts, &value, &q),
            MatrixAxis::Margin,
            (25.0, 2.5),
            &sums,
        );
        // 5% of 30 = 1.5 is below the minimum pad of 5 percentage points.
        assert!(close(r.y_range.0, 5.0) && close(r.y_range.1, 45.0));
        assert!(r.text.contains("at 25.0% margin and 2.50 cost-to-serve"));
    }

    #[test]
    fn matrix_all_equal_values_are_flagged() {
        let cts = vec![Some(1.0), Some(2.0), Some(3.0)];
        let value = vec![Some(30.0); 3];
        let q = vec![Some("Passive".to_string()); 3];
        let r = matrix(
            customers(&cts, &value, &q),
            MatrixAxis::Contribution,
            (30.0, 2.0),
            &[],
        );
        assert!(r.constant_value);
        // Span 0: the minimum pad of 1 each side.
        assert_eq!(r.y_range, (29.0, 31.0));
        assert_eq!(r.shown, 3);
        assert!(
            r.text
                .contains("Every customer has the same value on the vertical axis")
        );
        // No quadrant sums: no sentence about them.
        assert!(r.largest.is_none() && r.smallest.is_none());
        assert!(!r.text.contains("of the base"));
    }

    #[test]
    fn matrix_counts_customers_beyond_the_percentiles() {
        // 200 customers at 0, 1, ..., 199 and one at 1000, all at cost-to-serve 1: the
        // 99th percentile is rank round(200 x 0.99) = 198 -> 198, the 1st rank 2 -> 2;
        // pad 5% of 196 = 9.8, so the axis ends at 207.8 and 1000 is off the chart.
        let n = 201;
        let cts = vec![Some(1.0); n];
        let value: Vec<Option<f64>> = (0..200)
            .map(|i| Some(f64::from(i)))
            .chain([Some(1000.0)])
            .collect();
        let q = vec![Some("Passive".to_string()); n];
        let r = matrix(
            customers(&cts, &value, &q),
            MatrixAxis::Contribution,
            (100.0, 1.0),
            &[],
        );
        assert!(close(r.y_range.0, -7.8) && close(r.y_range.1, 207.8));
        assert_eq!((r.stride, r.shown, r.outside), (1, 200, 1));
        assert!(
            r.text
                .contains(" 1 drawn customers beyond the 1st-99th percentile range")
        );
    }

    #[test]
    fn matrix_thins_above_4000_customers() {
        // 4001 customers: every 2nd is drawn, i = 0, 2, ..., 4000: 2001 dots.
        let n = 4001;
        let cts = vec![Some(1.0); n];
        let value: Vec<Option<f64>> = (0..n).map(|i| Some(i as f64)).collect();
        let q = vec![Some("Aggressive".to_string()); n];
        let r = matrix(
            customers(&cts, &value, &q),
            MatrixAxis::Contribution,
            (2000.0, 1.0),
            &[],
        );
        assert_eq!((r.stride, r.shown, r.outside), (2, 2001, 0));
        assert_eq!(r.dots[3].points.len(), 2001);
        assert_eq!(r.dots[3].points[1], (1.0, 2.0));
        assert!(r.text.contains(" Every 2nd customer is drawn (2001 dots)."));
    }

    #[test]
    fn matrix_skips_customers_without_a_value_or_quadrant() {
        let cts = vec![None, Some(2.0), Some(3.0)];
        let value = vec![Some(1.0), Some(2.0), Some(3.0)];
        let q = vec![
            Some("Passive".to_string()),
            None,
            Some("Passive".to_string()),
        ];
        let r = matrix(
            customers(&cts, &value, &q),
            MatrixAxis::Contribution,
            (2.0, 2.0),
            &[],
        );
        assert_eq!(r.shown, 1);
        assert_eq!(r.dots[0].points, vec![(3.0, 3.0)]);
    }

    #[test]
    fn matrix_without_customers_and_with_tied_quadrants() {
        let sums = vec![
            quadrant("Passive", 0, 0.0, 1.0, 1),
            quadrant("Carriage trade", 0, 0.0, 1.0, 1),
            quadrant("Bargain basement", 0, 0.0, 1.0, 1),
            quadrant("Aggressive", 0, 0.0, 1.0, 1),
        ];
        let r = matrix(
            customers(&[], &[], &[]),
            MatrixAxis::Contribution,
            (0.0, 0.0),
            &sums,
        );
        assert_eq!(r.x_max, 1e-9);
        assert_eq!(r.y_range, (-1.0, 1.0));
        assert!(!r.constant_value);
        assert_eq!((r.stride, r.shown, r.outside), (1, 0, 0));
        assert!(r.dots.iter().all(|d| d.points.is_empty()));
        // Ties: the last quadrant is the largest, the first the smallest.
        assert_eq!(r.largest.unwrap().quadrant, "Aggressive");
        assert_eq!(r.smallest.unwrap().quadrant, "Passive");
    }

    // ---- whale ----

    #[test]
    fn whale_of_four_customers() {
        // Best first: 100, 30, 20, -50 of a total of 100: cumulative 100%, 130%, 150%,
        // 100%; the top 20% is round(0.8) = 1 customer; Gini on the ascending values
        // (-3 x -50 - 1 x 20 + 1 x 30 + 3 x 100) / (4 x 100) = 460 / 400 = 1.15.
        let w = whale_curve(&[100.0, -50.0, 30.0, 20.0]).unwrap();
        let r = whale(&w).unwrap();
        assert_eq!(r.stride, 1);
        let expected = [
            (0.0, 0.0),
            (25.0, 100.0),
            (50.0, 130.0),
            (75.0, 150.0),
            (100.0, 100.0),
            (100.0, 100.0),
        ];
        assert_eq!(r.curve.len(), expected.len());
        for (a, b) in r.curve.iter().zip(expected) {
            assert!(close(a.0, b.0) && close(a.1, b.1), "{a:?} vs {b:?}");
        }
        assert!(close(r.peak.0, 75.0) && close(r.peak.1, 150.0));
        assert_eq!((r.peak_customers, r.loss_making), (3, 1));
        assert!(close(r.peak_share, 1.5) && close(r.peak_customer_share, 0.75));
        assert!(close(r.top20_share, 1.0) && close(r.total, 100.0));
        assert!(close(r.loss_total, -50.0) && close(r.gini.unwrap(), 1.15));
        assert!(
            r.text
                .contains("bring 100.0% of total net contribution (100.00)")
        );
        assert!(
            r.text
                .contains("peaks at 150.0% after the best 3 customers (75.0% of the base)")
        );
        assert!(r.text.contains("1 customers lose money, together -50.00."));
        assert!(r.text.ends_with(" Gini of net contribution: 1.150."));
    }

    #[test]
    fn whale_of_one_customer() {
        let r = whale(&whale_curve(&[5.0]).unwrap()).unwrap();
        assert_eq!(r.curve, vec![(0.0, 0.0), (100.0, 100.0), (100.0, 100.0)]);
        assert_eq!((r.peak_customers, r.loss_making), (1, 0));
        assert_eq!(r.peak, (100.0, 100.0));
        assert_eq!(r.gini, Some(0.0));
        assert_eq!(r.loss_total, 0.0);
        assert!(r.text.contains(": 0 customers lose money, together 0.00."));
    }

    #[test]
    fn whale_thins_long_curves_and_keeps_the_last_point() {
        // 2500 equal customers: every 3rd (i = 0, 3, ..., 2499) is drawn, 834 points,
        // plus the origin and the last customer again.
        let r = whale(&whale_curve(&vec![1.0; 2500]).unwrap()).unwrap();
        assert_eq!(r.stride, 3);
        assert_eq!(r.curve.len(), 836);
        assert!(close(r.curve[1].0, 0.04) && close(r.curve[2].0, 0.16));
        assert_eq!(r.curve[835], (100.0, 100.0));
        // All equal: no concentration, the peak is the whole base.
        assert_eq!(r.gini, Some(0.0));
        assert_eq!(r.peak_customers, 2500);
        assert!(r.text.contains("Gini of net contribution: 0.000."));
    }

    #[test]
    fn whale_without_points_or_gini() {
        let mut w = whale_curve(&[3.0, 1.0]).unwrap();
        w.gini = None;
        let r = whale(&w).unwrap();
        assert!(!r.text.contains("Gini"));
        // No loss-maker: the loss total is an empty sum (-0.0), shown as 0.00.
        assert!(r.text.ends_with(" customers lose money, together 0.00."));
        w.points.clear();
        assert!(whale(&w).is_none());
    }

    // ---- segments ----

    fn profile(segment: usize, label: &str, share: f64, revenue: Option<f64>) -> SegmentProfile {
        SegmentProfile {
            segment,
            label: label.into(),
            customers: (share * 100.0) as usize,
            share,
            revenue_share: revenue,
            profit_share: None,
            features: Vec::new(),
        }
    }

    #[test]
    fn segments_two_profiles() {
        let p = [
            profile(0, "loyal", 0.25, Some(0.6)),
            profile(1, "lapsed", 0.75, Some(0.4)),
        ];
        let r = segments(&p, 2, 40, Some(KRule::Silhouette)).unwrap();
        assert_eq!((r.chosen_k, r.silhouette_sample_size), (2, 40));
        assert_eq!(r.bars.len(), 2);
        assert_eq!(r.bars[1].label, "lapsed");
        assert_eq!(r.bars[0].revenue_share, Some(0.6));
        // The tallest bar: 75% of the customers in segment 1.
        assert_eq!(r.max_share, 0.75);
        assert!(r.text.starts_with("2 segments were chosen"));
        assert!(r.text.contains("computed on 40 customers"));
        assert!(r.text.contains(
            "segment 0 \u{201c}loyal\u{201d}: 25.0% of customers, 60.0% of revenue; segment 1 \u{201c}lapsed\u{201d}: 75.0% of customers, 40.0% of revenue."
        ));
    }

    #[test]
    fn segments_reading_names_the_rule_that_chose_k() {
        let p = [
            profile(0, "loyal", 0.25, Some(0.6)),
            profile(1, "lapsed", 0.75, Some(0.4)),
        ];
        let text = |rule| segments(&p, 2, 40, rule).unwrap().text;
        assert!(text(Some(KRule::Gap)).contains("k chosen by the gap statistic"));
        assert!(!text(Some(KRule::Gap)).contains("silhouette"));
        assert!(text(Some(KRule::Stability)).contains("k chosen by stability"));
        assert!(text(None).contains("k fixed by the settings"));
        assert_eq!(
            segments(&p, 2, 40, Some(KRule::Gap)).unwrap().k_rule,
            Some(KRule::Gap)
        );
    }

    #[test]
    fn segments_without_revenue_and_without_profiles() {
        let r = segments(&[profile(0, "all", 1.0, None)], 1, 3, None).unwrap();
        assert_eq!(r.max_share, 1.0);
        assert_eq!(r.bars[0].revenue_share, None);
        assert!(r.text.contains("100.0% of customers, n/a of revenue"));
        assert!(segments(&[], 0, 0, None).is_none());
    }

    // ---- RFM heat map ----

    #[test]
    fn rfm_heatmap_means_per_cell() {
        // (R, F, spend): two customers at R1/F1 spending 10 and 20 (mean 15), one at
        // R3/F2 spending 100; one without spend and one without R score are left out
        // (but their scores still count for the grid size: 3).
        let r = [Some(1.0), Some(1.0), Some(3.0), Some(2.0), None];
        let f = [Some(1.0), Some(1.0), Some(2.0), Some(3.0), Some(1.0)];
        let m = [Some(10.0), Some(20.0), Some(100.0), None, Some(5.0)];
        let h = rfm_heatmap(&r, &f, &m);
        assert_eq!(h.bins, 3);
        assert_eq!(
            h.customers,
            vec![vec![2, 0, 0], vec![0, 0, 0], vec![0, 1, 0]]
        );
        assert_eq!(h.mean_spend[0][0], Some(15.0));
        assert_eq!(h.mean_spend[2][1], Some(100.0));
        assert_eq!(h.mean_spend[1][2], None);
        assert_eq!(h.mean_range, Some((15.0, 100.0)));
        assert_eq!(
            h.best,
            Some(RfmCell {
                r_score: 3,
                f_score: 2,
                mean_spend: 100.0,
                customers: 1
            })
        );
        assert!(
            h.text.contains(
                "No cell has 30 customers; the highest mean, 100.00, is at R 3 / F 2 (1 customers), too few to act on."
            ),
            "{}",
            h.text
        );
    }

    #[test]
    fn rfm_heatmap_names_the_best_cell_of_at_least_30_customers() {
        // 30 customers at R1/F1 spending 10 each, one at R3/F2 spending 100.
        let mut r = vec![Some(1.0); 30];
        let mut f = vec![Some(1.0); 30];
        let mut m = vec![Some(10.0); 30];
        r.push(Some(3.0));
        f.push(Some(2.0));
        m.push(Some(100.0));
        let h = rfm_heatmap(&r, &f, &m);
        let best = h.best.unwrap();
        assert_eq!((best.r_score, best.f_score, best.customers), (1, 1, 30));
        assert!(h.text.contains(
            "Among cells of at least 30 customers the highest mean, 10.00, is at R 1 / F 1 (30 customers)."
        ));
    }

    #[test]
    fn rfm_heatmap_ties_pick_the_last_cell() {
        // R1/F2 and R2/F1 both average 50: in R-then-F order R2/F1 comes last.
        let r = [Some(1.0), Some(2.0)];
        let f = [Some(2.0), Some(1.0)];
        let m = [Some(50.0), Some(50.0)];
        let h = rfm_heatmap(&r, &f, &m);
        let best = h.best.unwrap();
        assert_eq!((best.r_score, best.f_score), (2, 1));
        assert_eq!(h.mean_range, Some((50.0, 50.0)));
    }

    #[test]
    fn rfm_heatmap_leaves_out_scores_outside_the_grid() {
        // A score of 0 is outside 1..=bins; 2.7 is truncated to 2 (the grid is 3 wide:
        // the highest score, rounded).
        let r = [Some(0.0), Some(2.7)];
        let f = [Some(1.0), Some(1.0)];
        let m = [Some(5.0), Some(8.0)];
        let h = rfm_heatmap(&r, &f, &m);
        assert_eq!(h.bins, 3);
        assert_eq!(h.customers.iter().flatten().sum::<usize>(), 1);
        assert_eq!(h.customers[1][0], 1);
    }

    #[test]
    fn rfm_heatmap_without_customers() {
        let h = rfm_heatmap(&[], &[], &[]);
        assert_eq!(h.bins, 1);
        assert_eq!(h.customers, vec![vec![0]]);
        assert_eq!(h.mean_spend, vec![vec![None]]);
        assert_eq!((h.mean_range, h.best), (None, None));
        assert_eq!(h.text, "No customer has both scores.");
    }

    // ---- holdout ----

    fn holdout_bin(
        frequency: u32,
        open_ended: bool,
        customers: usize,
        actual: f64,
        expected: f64,
    ) -> HoldoutBin {
        HoldoutBin {
            frequency,
            open_ended,
            customers,
            actual,
            expected,
        }
    }

    #[test]
    fn holdout_totals_and_under_forecast() {
        // Totals: actual 10 x 0.2 + 5 x 0.8 + 2 x 2.5 = 11, expected 10 x 0.25 + 5 x 0.7
        // + 2 x 2.0 = 10: the model under-forecasts by 1 purchase (1/11).
        let h = HoldoutCheck {
            bins: vec![
                holdout_bin(0, false, 10, 0.2, 0.25),
                holdout_bin(1, false, 5, 0.8, 0.7),
                holdout_bin(2, true, 2, 2.5, 2.0),
            ],
            actual_total: 11.0,
            expected_total: 10.0,
            mae: 2.0 / 17.0,
            chi_square: 0.0,
            expected_by_customer: Vec::new(),
        };
        let r = holdout(&h).unwrap();
        assert_eq!(r.labels, ["0", "1", "2+"]);
        assert_eq!(r.over_forecast, -1.0);
        assert!(close(r.over_forecast_share.unwrap(), -1.0 / 11.0));
        assert_eq!(r.max_mean, 2.5);
        assert!(r.text.contains(
            "In all: 11 actual against 10 expected holdout purchases (mean absolute error per group 0.118). The model under-forecasts the holdout by 9.1%."
        ));
    }

    #[test]
    fn holdout_without_purchases_or_bins() {
        let mut h = HoldoutCheck {
            bins: vec![holdout_bin(0, true, 4, 0.0, 0.5)],
            actual_total: 0.0,
            expected_total: 2.0,
            mae: 0.5,
            chi_square: 0.0,
            expected_by_customer: Vec::new(),
        };
        let r = holdout(&h).unwrap();
        assert_eq!(r.over_forecast, 2.0);
        assert_eq!(r.over_forecast_share, None);
        assert_eq!(r.labels, ["0+"]);
        h.bins.clear();
        assert!(holdout(&h).is_none());
    }

    // ---- P(alive) ----

    /// P(alive) = sqrt(recency / age) with repeat purchases, 0.6 without.
    struct Fake;

    impl PurchaseModel for Fake {
        fn model_name(&self) -> &'static str {
            "fake"
        }
        fn p_alive(&self, x: f64, t_x: f64, t: f64) -> f64 {
            if x == 0.0 { 0.6 } else { (t_x / t).sqrt() }
        }
        fn expected_if_alive(&self, _x: f64, _t: f64, _horizon: f64) -> Result<f64> {
            Ok(0.0)
        }
        fn expected_purchases(&self, _horizon: f64) -> Result<f64> {
            Ok(0.0)
        }
        fn prob_purchases(&self, _n: u32, _t: f64) -> Result<f64> {
            Ok(0.0)
        }
    }

    #[test]
    fn p_alive_grid_at_the_largest_age() {
        // Largest age 20: 40 columns of 0.5; 99.5th percentile of (0, 1, 2, 10) is rank
        // round(2.985) = 3 -> 10 repeat purchases, 11 rows.
        let r = p_alive(
            &Fake,
            "fake",
            &[0.0, 1.0, 2.0, 10.0],
            &[10.0, 20.0, 20.0, 5.0],
            "month",
        )
        .unwrap();
        assert_eq!((r.age, r.max_frequency, r.column_width), (20.0, 10, 0.5));
        assert_eq!(r.model, "fake");
        assert_eq!(r.grid.len(), 11);
        assert!(r.grid.iter().all(|row| row.len() == P_ALIVE_COLUMNS));
        // Row 0: one cell (recency 0), the rest cannot occur.
        assert_eq!(r.grid[0][0], Some(0.6));
        assert!(r.grid[0][1..].iter().all(Option::is_none));
        // Column c is centred at (c + 0.5) x 0.5: column 39 at 19.75.
        assert!(close(r.grid[3][39].unwrap(), (19.75_f64 / 20.0).sqrt()));
        // Earliest recency 0.25: sqrt(0.25 / 20) = 0.1118.
        assert!(close(r.many_but_early, (0.25_f64 / 20.0).sqrt()));
        assert_eq!(r.no_repeat, 0.6);
        assert!(r.text.contains("The fitted fake model's"));
        assert!(r.text.contains("first seen 20.0 months before the end"));
        assert!(
            r.text
                .contains("at 10 repeat purchases and the earliest recency P(alive) is 0.112")
        );
        assert!(r.text.contains("have one value, 0.600;"));
        // Below 1 for one-time buyers: no word on counting them as active.
        assert!(!r.text.contains("counts as active"));
    }

    #[test]
    fn p_alive_explains_one_time_buyers_at_one() {
        let bg = crate::clv::BgNbd::from_params(&[0.24, 4.41, 0.79, 2.43]).unwrap();
        let r = p_alive(&bg, "bg-nbd", &[0.0, 3.0], &[30.0, 30.0], "week").unwrap();
        assert_eq!(r.no_repeat, 1.0);
        assert!(r.text.contains(
            "The bg-nbd model lets a customer drop out only right after a repeat purchase, so every one-time buyer counts as active"
        ));
    }

    #[test]
    fn p_alive_rows_are_clamped_to_5_and_60() {
        let few = p_alive(&Fake, "fake", &[0.0, 1.0], &[4.0, 4.0], "week").unwrap();
        assert_eq!(few.max_frequency, 5);
        assert_eq!(few.grid.len(), 6);
        let many = p_alive(&Fake, "fake", &[500.0], &[4.0], "week").unwrap();
        assert_eq!(many.max_frequency, 60);
        // One customer, all values equal: the percentile is that value.
        let one = p_alive(&Fake, "fake", &[12.0], &[8.0], "week").unwrap();
        assert_eq!(one.max_frequency, 12);
    }

    #[test]
    fn p_alive_needs_customers_and_a_positive_age() {
        assert!(p_alive(&Fake, "fake", &[], &[3.0], "week").is_none());
        assert!(p_alive(&Fake, "fake", &[1.0], &[0.0], "week").is_none());
        assert!(p_alive(&Fake, "fake", &[1.0], &[], "week").is_none());
    }

    // ---- period transactions ----

    #[test]
    fn period_transactions_zero_bin_and_chi_square() {
        let h = HistogramCheck {
            bins: vec![
                HistogramBin {
                    frequency: 0,
                    open_ended: false,
                    actual: 60.0,
                    expected: 55.4,
                },
                HistogramBin {
                    frequency: 1,
                    open_ended: false,
                    actual: 25.0,
                    expected: 28.2,
                },
                HistogramBin {
                    frequency: 2,
                    open_ended: true,
                    actual: 15.0,
                    expected: 16.4,
                },
            ],
            chi_square: 1.234,
        };
        let r = period_transactions(&h).unwrap();
        assert_eq!(r.labels, ["0", "1", "2+"]);
        assert_eq!(r.no_repeat, Some((60.0, 55.4)));
        assert_eq!((r.max_count, r.chi_square), (60.0, 1.234));
        assert!(
            r.text
                .contains(" Without repeat purchase: 60 customers, model 55.")
        );
        assert!(r.text.ends_with(" Chi-square over the bins: 1.2."));
    }

    #[test]
    fn period_transactions_without_bins() {
        let h = HistogramCheck {
            bins: Vec::new(),
            chi_square: 0.0,
        };
        assert!(period_transactions(&h).is_none());
    }

    // ---- cohorts ----

    fn cohorts(retention: Vec<Vec<f64>>, sizes: Vec<usize>) -> Cohorts {
        Cohorts {
            labels: (0..retention.len()).map(|i| format!("c{i}")).collect(),
            sizes,
            revenue: retention.iter().map(|r| vec![0.0; r.len()]).collect(),
            retention,
        }
    }

    #[test]
    fn cohort_retention_three_cohorts() {
        // Period-1 retention 0.5 and 0.3 (the last cohort has none yet): mean 0.4.
        let c = cohorts(
            vec![vec![1.0, 0.5, 0.2], vec![1.0, 0.3], vec![1.0]],
            vec![10, 20, 5],
        );
        let r = cohort_retention(&c);
        assert_eq!(
            (r.cohorts, r.customers, r.first_drawn, r.periods),
            (3, 35, 0, 3)
        );
        assert!(close(r.mean_next_period.unwrap(), 0.4));
        assert!(r.text.contains("3 cohorts, 35 customers."));
        assert_eq!(r.colour_max, 0.5);
        assert!(
            r.text
                .contains("the colours run from 0 (light) to 50.0% (dark)")
        );
        assert!(r.text.contains(" On average 40.0% of a cohort buy again"));
        assert!(!r.text.contains("latest"));
    }

    #[test]
    fn cohort_retention_draws_the_latest_36() {
        // 40 cohorts: the first 4 (retention 1.0 in period 1, 5 periods) are not drawn;
        // the 36 drawn have 0.5 in period 1 and 2 periods. Figures of the drawn rows
        // only, counts of all.
        let retention: Vec<Vec<f64>> = (0..40)
            .map(|i| if i < 4 { vec![1.0; 5] } else { vec![1.0, 0.5] })
            .collect();
        let r = cohort_retention(&cohorts(retention, vec![1; 40]));
        assert_eq!(
            (r.cohorts, r.customers, r.first_drawn, r.periods),
            (40, 40, 4, 2)
        );
        assert_eq!(r.mean_next_period, Some(0.5));
        assert!(r.text.contains("40 cohorts, 40 customers."));
        assert!(
            r.text
                .ends_with(" The latest 36 cohorts are drawn; cohorts.csv has all.")
        );
    }

    #[test]
    fn cohort_retention_empty_and_single() {
        let r = cohort_retention(&cohorts(Vec::new(), Vec::new()));
        assert_eq!(
            (r.cohorts, r.customers, r.first_drawn, r.periods),
            (0, 0, 0, 1)
        );
        assert_eq!(r.mean_next_period, None);
        assert!(r.text.ends_with("0 cohorts, 0 customers."));
        // One cohort still in its acquisition period: no period-1 figure.
        let r = cohort_retention(&cohorts(vec![vec![1.0]], vec![7]));
        assert_eq!((r.cohorts, r.customers, r.periods), (1, 7, 1));
        assert_eq!(r.mean_next_period, None);
        assert!(!r.text.contains("On average"));
    }
}
