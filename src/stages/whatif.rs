//! The retention what-if (what `patronage whatif` runs): how much customer equity a
//! change of `X` points in the retention rate is worth, in total, per RFM segment or per
//! profitability quadrant, and net of cost-to-serve when a cost model is given.
//!
//! Steps:
//!
//! 1. the CLV stage ([`clv_table_on`], full observation period) fits the purchase model
//!    and scores every customer: the **baseline**;
//! 2. the model's dropout is moved until the retention rate `R(Δ)` (the expected share of
//!    today's active customers still active `Δ` time units later, `Δ` =
//!    [`WhatIfSettings::period`]) is exactly `X` points higher
//!    ([`crate::clv::retention`], where the definition, its derivation per model and the
//!    rule of the change are written down);
//! 3. the CLV stage scores every customer under that **scenario** model
//!    ([`clv_table_with`]); the spend model and the margin are the baseline's.
//!
//! Figures (per group and in total): baseline and scenario equity (sums of CLV), the
//! gain and the gain per point; the **customers retained additionally**, the expected
//! number of today's customers still active `Δ` later under the scenario minus under the
//! baseline (`Σ P'(alive) ρ' - Σ P(alive) ρ`); the **break-even spend per retained
//! customer**, the gain divided by that number: the most that keeping one more customer
//! may cost for the change to pay for itself over the CLV horizon. With a cost model the
//! **net gain** subtracts the cost-to-serve of the extra purchases: each customer's
//! historic cost-to-serve per order times the change in their discounted expected
//! purchases (CLV divided by expected spend times margin).
//!
//! The scenario re-scores with the changed model throughout, so `P(alive)` is
//! re-estimated too: where dropout is rarer, a silent customer is more likely still
//! active. The gain counts both effects, as the scenario model's own answer.

use std::collections::HashMap;

use polars::prelude::*;
use serde_json::{Value, json};

use super::clv::{
    ClvOutcome, ClvSettings, FittedModels, MarginSource, ScoringPeriod, clv_table_on,
    clv_table_with, cost_margins,
};
use super::fit::AnyFitted;
use crate::clv::RepeatData;
use crate::clv::retention::{DropoutShift, RetentionShift, shift_retention};
use crate::error::{Error, Result};
use crate::io::frame::{customer_ids_as_text, nullable_f64};
use crate::profitability::{CostModel, MatrixAxis, Split};
use crate::rfm::RfmOptions;
use crate::transactions::aggregate::CustomerTable;

/// How the what-if's figures are broken down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum WhatIfGroup {
    /// By RFM segment (the R `rfm` package's named segments, quintile scores).
    Segment,
    /// By profitability quadrant (needs a cost model).
    Quadrant,
}

impl std::str::FromStr for WhatIfGroup {
    type Err = Error;
    /// `segment` or `quadrant`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] naming `whatif.by` for anything else.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "segment" => Ok(WhatIfGroup::Segment),
            "quadrant" => Ok(WhatIfGroup::Quadrant),
            _ => Err(Error::invalid(
                "whatif.by",
                format!("`{s}` is not segment or quadrant"),
            )),
        }
    }
}

/// Settings of [`whatif`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WhatIfSettings {
    /// The CLV stage's settings (model, spend, margin, horizon, discounting).
    pub clv: ClvSettings,
    /// The change in the retention rate, in percentage points (5 = from 62% to 67%).
    pub retention_points: f64,
    /// `Δ`: the period the retention rate is measured over, in the summary's time unit
    /// (52 = a year in weeks).
    pub period: f64,
    /// The breakdown, if any.
    pub by: Option<WhatIfGroup>,
    /// Cost model for the net gain and the quadrants; `None`: no net figures.
    pub costs: Option<CostModel>,
    /// How the profitability matrix is split into quadrants.
    pub split: Split,
    /// The matrix's first axis (margin %, or gross profit where every customer has one
    /// margin).
    pub axis: MatrixAxis,
}

impl WhatIfSettings {
    /// `points` of retention over a year of weeks (`period` 52), on the default CLV
    /// settings, no breakdown, no cost model, the median split on margin %.
    pub fn new(points: f64) -> Self {
        WhatIfSettings {
            clv: ClvSettings::default(),
            retention_points: points,
            period: 52.0,
            by: None,
            costs: None,
            split: Split::Median,
            axis: MatrixAxis::Margin,
        }
    }
}

/// The what-if's figures for a set of customers (a group or all).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct WhatIfFigures {
    /// The group (`"all"` for the total).
    pub group: String,
    /// Customers scored.
    pub customers: usize,
    /// Sum of CLV under the fitted model.
    pub baseline_equity: f64,
    /// Sum of CLV under the scenario model.
    pub scenario_equity: f64,
    /// `scenario_equity - baseline_equity`.
    pub gain: f64,
    /// The gain per point of retention.
    pub gain_per_point: f64,
    /// Expected customers active today under the fitted model (`Σ P(alive)`).
    pub active_customers: f64,
    /// Expected customers still active `Δ` later, scenario minus baseline.
    pub additional_retained: f64,
    /// `gain / additional_retained` (`None` when no customer is retained additionally).
    pub break_even_per_retained: Option<f64>,
    /// The gain minus the cost-to-serve of the extra purchases (with a cost model).
    pub net_gain: Option<f64>,
}

/// The result of [`whatif`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WhatIf {
    /// The fitted purchase model.
    pub baseline: AnyFitted,
    /// The scenario model (dropout moved).
    pub scenario: AnyFitted,
    /// How the dropout was moved, in words.
    pub rule: String,
    /// The change asked for, in points.
    pub retention_points: f64,
    /// `Δ` in time units.
    pub period: f64,
    /// `R(Δ)` under the fitted model.
    pub retention_rate_before: f64,
    /// `R(Δ)` under the scenario (before + points / 100, to 1e-10).
    pub retention_rate_after: f64,
    /// Mean dropout (probability, or rate per time unit for Pareto/NBD), fitted.
    pub dropout_before: f64,
    /// Mean dropout of the scenario.
    pub dropout_after: f64,
    /// All customers.
    pub total: WhatIfFigures,
    /// Per group (in order of the groups' names), empty without a breakdown.
    pub by: Vec<WhatIfFigures>,
    /// What the groups are ([`WhatIfSettings::by`]; `None` without a breakdown or when
    /// [`whatif_on`] was given groups the settings do not name).
    pub grouped_by: Option<WhatIfGroup>,
    /// Per customer: `customer_id`, `group` (with a breakdown), `p_alive_before,
    /// p_alive_after, clv_before, clv_after, gain`, and `net_gain` with a cost model;
    /// unscored customers have nulls.
    pub customers: DataFrame,
    /// The CLV stage's notes (Gamma-Gamma falling back to historic spend).
    pub notes: Vec<String>,
}

impl WhatIf {
    /// The JSON object `patronage whatif --json` prints: `baseline_equity,
    /// scenario_equity, gain, gain_per_point, by` (the groups with the same figures),
    /// `retention_rate_before, retention_rate_after`, and `model, rule, retention_points,
    /// period, dropout_before, dropout_after, params_before, params_after,
    /// active_customers, additional_retained, break_even_per_retained, net_gain,
    /// grouped_by` (`segment`, `quadrant` or null) `, notes`.
    pub fn to_json(&self) -> Value {
        let params = |m: &AnyFitted| -> Value {
            m.params()
                .into_iter()
                .map(|(n, v)| (n.to_string(), json!(v)))
                .collect::<serde_json::Map<_, _>>()
                .into()
        };
        let t = &self.total;
        json!({
            "model": self.baseline.name(),
            "rule": self.rule,
            "retention_points": self.retention_points,
            "period": self.period,
            "retention_rate_before": self.retention_rate_before,
            "retention_rate_after": self.retention_rate_after,
            "dropout_before": self.dropout_before,
            "dropout_after": self.dropout_after,
            "params_before": params(&self.baseline),
            "params_after": params(&self.scenario),
            "customers": t.customers,
            "baseline_equity": t.baseline_equity,
            "scenario_equity": t.scenario_equity,
            "gain": t.gain,
            "gain_per_point": t.gain_per_point,
            "active_customers": t.active_customers,
            "additional_retained": t.additional_retained,
            "break_even_per_retained": t.break_even_per_retained,
            "net_gain": t.net_gain,
            "by": self.by,
            "grouped_by": self.grouped_by,
            "notes": self.notes,
        })
    }
}

/// The retention what-if on a customer table (see the module docs).
///
/// # Errors
///
/// The CLV stage's errors ([`clv_table_on`]); [`Error::InvalidOption`] for `whatif.
/// retention` out of reach or not finite, `whatif.period` not positive, or `whatif.by =
/// quadrant` without a cost model; the cost model's errors (`costs` when it prices no
/// activity, `costs.margin_rate` without a
/// cost column); [`Error::Model`] when a retention probability cannot be evaluated.
///
/// # Example
///
/// ```
/// use patronage::prelude::*;
/// use patronage::stages::clv::SpendSource;
/// use patronage::stages::summary::summary;
/// use patronage::stages::whatif::{whatif, WhatIfSettings};
/// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
/// let table = summary(&tx, &SummaryOptions::weekly(), None)?;
/// let mut settings = WhatIfSettings::new(5.0);
/// settings.clv.spend = SpendSource::Historic;
/// let w = whatif(&table, &settings, None)?;
/// assert!((w.retention_rate_after - w.retention_rate_before - 0.05).abs() < 1e-9);
/// assert!(w.total.gain > 0.0);
/// assert_eq!(w.to_json()["gain"].as_f64(), Some(w.total.gain));
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn whatif(
    table: &CustomerTable,
    settings: &WhatIfSettings,
    activity: Option<&DataFrame>,
) -> Result<WhatIf> {
    if settings.by == Some(WhatIfGroup::Quadrant) && settings.costs.is_none() {
        return Err(Error::invalid(
            "whatif.by",
            "the quadrant breakdown needs a cost model (profitability quadrants)",
        ));
    }
    let summary = table.summary()?;
    let base = clv_table_on(&summary, &settings.clv, ScoringPeriod::Full)?;
    let n = base.frame.height();
    let ids = customer_ids_as_text(&base.frame)?;
    let (cts_per_order, quadrant) = match &settings.costs {
        Some(model) => {
            let (cts, quad) = costs_by_id(table, &summary, model, activity, settings)?;
            let pick = |i: usize| ids[i].as_ref().and_then(|id| cts.get(id)).copied();
            (
                Some((0..n).map(pick).collect::<Vec<_>>()),
                Some(
                    (0..n)
                        .map(|i| ids[i].as_ref().and_then(|id| quad.get(id)).cloned())
                        .collect::<Vec<_>>(),
                ),
            )
        }
        None => (None, None),
    };
    let group: Option<Vec<String>> = match settings.by {
        None => None,
        Some(WhatIfGroup::Quadrant) => quadrant.clone().map(|q| {
            q.into_iter()
                .map(|g| g.unwrap_or_else(|| "(none)".into()))
                .collect()
        }),
        Some(WhatIfGroup::Segment) => {
            let rfm = summary.rfm(&RfmOptions::default())?;
            let rfm_ids = customer_ids_as_text(rfm.frame())?;
            let seg = rfm.frame().column("segment")?.str()?.clone();
            let by_id: HashMap<String, String> = rfm_ids
                .into_iter()
                .zip(seg.iter())
                .filter_map(|(id, s)| Some((id?, s?.to_string())))
                .collect();
            Some(
                ids.iter()
                    .map(|id| {
                        id.as_ref()
                            .and_then(|id| by_id.get(id).cloned())
                            .unwrap_or_else(|| "(none)".into())
                    })
                    .collect(),
            )
        }
    };

    whatif_on(
        &summary,
        &base,
        settings,
        group.as_deref(),
        cts_per_order.as_deref(),
    )
}

/// The retention what-if on a CLV outcome already computed: [`whatif`] without fitting
/// the baseline again, for callers that have scored every customer (the pipeline does).
///
/// `base` must be [`clv_table_on`]`(summary, &settings.clv, ScoringPeriod::Full)` (or
/// the same stage with intervals: they are not used); `groups` (each customer's group
/// name) and `cost_per_order` (each customer's historic cost-to-serve per order, `None`
/// for an unknown one, counted as zero) are aligned by row with `base.frame`. The
/// breakdown is by `groups` whatever [`WhatIfSettings::by`] says, and the net gain is
/// given exactly when `cost_per_order` is; [`WhatIfSettings::costs`] is not read.
///
/// # Errors
///
/// [`Error::InvalidOption`] for `whatif.retention` out of reach or not finite,
/// `whatif.period` not positive; `clv.model` for a model without dropout (BG/BB,
/// Gamma-Gamma); `clv.covariates` when `base` was scored with covariates (each customer
/// then has their own dropout: no single rate to move); `whatif.groups` when `groups`
/// or `cost_per_order` has another length than `base.frame` or `base.frame` has other
/// customers than `summary`; [`Error::Model`] when a retention probability cannot be
/// evaluated.
///
/// # Example
///
/// ```
/// use patronage::prelude::*;
/// use patronage::stages::clv::{clv_table_on, ScoringPeriod, SpendSource};
/// use patronage::stages::summary::summary;
/// use patronage::stages::whatif::{whatif, whatif_on, WhatIfSettings};
/// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
/// let table = summary(&tx, &SummaryOptions::weekly(), None)?;
/// let mut settings = WhatIfSettings::new(5.0);
/// settings.clv.spend = SpendSource::Historic;
/// let s = table.summary()?;
/// let base = clv_table_on(&s, &settings.clv, ScoringPeriod::Full)?;
/// // Two groups by whether the customer bought again: the figures add up to the total.
/// let groups: Vec<String> = base.frame.column("frequency")?.u32()?.iter()
///     .map(|x| if x.unwrap_or(0) > 0 { "repeat" } else { "one-off" }.to_string())
///     .collect();
/// let w = whatif_on(&s, &base, &settings, Some(&groups), None)?;
/// assert_eq!(w.by.len(), 2);
/// let sum: f64 = w.by.iter().map(|g| g.gain).sum();
/// assert!((sum - w.total.gain).abs() < 1e-6 * w.total.gain.abs().max(1.0));
/// // The same total as the what-if that fits its own baseline.
/// assert!((whatif(&table, &settings, None)?.total.gain - w.total.gain).abs() < 1e-9);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn whatif_on(
    summary: &crate::transactions::summary::Summary,
    base: &ClvOutcome,
    settings: &WhatIfSettings,
    groups: Option<&[String]>,
    cost_per_order: Option<&[Option<f64>]>,
) -> Result<WhatIf> {
    if base.covariates.is_some() {
        return Err(Error::invalid(
            "clv.covariates",
            "the what-if moves one dropout distribution; with covariates every customer has their own",
        ));
    }
    let n = base.frame.height();
    if n != summary.n_customers() {
        return Err(Error::invalid(
            "whatif.groups",
            format!(
                "the CLV table has {n} customers, the summary {}",
                summary.n_customers()
            ),
        ));
    }
    for (name, len) in [
        ("groups", groups.map(<[String]>::len)),
        ("cost_per_order", cost_per_order.map(<[Option<f64>]>::len)),
    ] {
        if let Some(len) = len.filter(|&len| len != n) {
            return Err(Error::invalid(
                "whatif.groups",
                format!("{name} has {len} rows for {n} customers"),
            ));
        }
    }
    let scored = ScoredRows::of(base)?;
    let data = RepeatData::new(&scored.x, &scored.t_x, &scored.t)?;
    let (points, period) = (settings.retention_points, settings.period);
    let moved = match &base.purchase {
        AnyFitted::BgNbd(m) => {
            Moved::of(shift_retention(m, &data, period, points)?, AnyFitted::BgNbd)
        }
        AnyFitted::MbgNbd(m) => Moved::of(
            shift_retention(m, &data, period, points)?,
            AnyFitted::MbgNbd,
        ),
        AnyFitted::ParetoNbd(m) => Moved::of(
            shift_retention(m, &data, period, points)?,
            AnyFitted::ParetoNbd,
        ),
        other => {
            return Err(Error::invalid(
                "clv.model",
                format!("{} has no dropout to move", other.name()),
            ));
        }
    };
    // The baseline's spend model, not refitted: only the purchase model moves. The
    // scenario is two point scores: no intervals drawn.
    let spend = base.spend.as_ref().and_then(|s| match &s.model {
        AnyFitted::GammaGamma(gg) => Some(gg.clone()),
        _ => None,
    });
    let mut clv = settings.clv.clone();
    clv.interval = None;
    let scen = clv_table_with(
        summary,
        &clv,
        ScoringPeriod::Full,
        &FittedModels::new(moved.scenario.clone(), spend)?,
    )?;

    // Per customer (all rows of the summary, in its order).
    let col = |o: &ClvOutcome, name: &str| nullable_f64(&o.frame, name);
    let (p0, p1) = (col(base, "p_alive")?, col(&scen, "p_alive")?);
    let (c0, c1) = (col(base, "clv")?, col(&scen, "clv")?);
    let (e0, e1) = (
        col(base, "expected_purchases")?,
        col(&scen, "expected_purchases")?,
    );
    let spend = col(base, "expected_spend")?;
    let (x, t) = (col(base, "frequency")?, col(base, "T")?);
    let stays = |m: &AnyFitted, i: usize| -> Result<f64> {
        let (xi, ti) = (x[i].unwrap_or(0.0), t[i].unwrap_or(0.0));
        match m {
            AnyFitted::BgNbd(m) => m.stays(xi, ti, period),
            AnyFitted::MbgNbd(m) => m.stays(xi, ti, period),
            AnyFitted::ParetoNbd(m) => m.stays(xi, ti, period),
            _ => Ok(0.0),
        }
    };
    let margins = margins(summary, settings.clv.margin, n)?;
    let group = groups;
    let mut rows: Vec<Row> = Vec::with_capacity(n);
    for i in 0..n {
        let (Some(a0), Some(a1), Some(v0), Some(v1)) = (p0[i], p1[i], c0[i], c1[i]) else {
            rows.push(Row::default());
            continue;
        };
        let later0 = a0 * stays(&base.purchase, i)?;
        let later1 = a1 * stays(&moved.scenario, i)?;
        // Discounted expected purchases: CLV over the value of one purchase; without a
        // value per purchase (no spend or no margin) the undiscounted expectation.
        let per_purchase = spend[i].unwrap_or(0.0) * margins[i];
        let purchases = |clv: f64, expected: Option<f64>| {
            if per_purchase > 0.0 {
                clv / per_purchase
            } else {
                expected.unwrap_or(0.0)
            }
        };
        let net = cost_per_order.map(|c| {
            let cost = c[i].unwrap_or(0.0);
            (v1 - v0) - cost * (purchases(v1, e1[i]) - purchases(v0, e0[i]))
        });
        rows.push(Row {
            scored: true,
            p0: a0,
            p1: a1,
            clv0: v0,
            clv1: v1,
            now: a0,
            extra: later1 - later0,
            net,
        });
    }
    let figures = |name: &str, members: &mut dyn Iterator<Item = &Row>| {
        let mut f = WhatIfFigures {
            group: name.to_string(),
            customers: 0,
            baseline_equity: 0.0,
            scenario_equity: 0.0,
            gain: 0.0,
            gain_per_point: 0.0,
            active_customers: 0.0,
            additional_retained: 0.0,
            break_even_per_retained: None,
            net_gain: cost_per_order.map(|_| 0.0),
        };
        for r in members.filter(|r| r.scored) {
            f.customers += 1;
            f.baseline_equity += r.clv0;
            f.scenario_equity += r.clv1;
            f.active_customers += r.now;
            f.additional_retained += r.extra;
            if let (Some(total), Some(v)) = (f.net_gain.as_mut(), r.net) {
                *total += v;
            }
        }
        f.gain = f.scenario_equity - f.baseline_equity;
        f.gain_per_point = if points != 0.0 { f.gain / points } else { 0.0 };
        f.break_even_per_retained =
            (f.additional_retained > 0.0).then(|| f.gain / f.additional_retained);
        f
    };
    let total = figures("all", &mut rows.iter());
    let by = match group {
        None => Vec::new(),
        Some(g) => {
            let mut names: Vec<&String> = g.iter().collect();
            names.sort();
            names.dedup();
            names
                .into_iter()
                .map(|name| {
                    figures(
                        name,
                        &mut rows
                            .iter()
                            .zip(g)
                            .filter(|(_, gi)| *gi == name)
                            .map(|(r, _)| r),
                    )
                })
                .collect()
        }
    };
    let opt = |f: &dyn Fn(&Row) -> f64| -> Vec<Option<f64>> {
        rows.iter().map(|r| r.scored.then(|| f(r))).collect()
    };
    let mut columns = vec![base.frame.column("customer_id")?.clone()];
    if let Some(g) = group {
        columns.push(Column::new("group".into(), g.to_vec()));
    }
    columns.push(Column::new("p_alive_before".into(), opt(&|r| r.p0)));
    columns.push(Column::new("p_alive_after".into(), opt(&|r| r.p1)));
    columns.push(Column::new("clv_before".into(), opt(&|r| r.clv0)));
    columns.push(Column::new("clv_after".into(), opt(&|r| r.clv1)));
    columns.push(Column::new("gain".into(), opt(&|r| r.clv1 - r.clv0)));
    if cost_per_order.is_some() {
        let net: Vec<Option<f64>> = rows.iter().map(|r| r.net).collect();
        columns.push(Column::new("net_gain".into(), net));
    }
    let customers = DataFrame::new_infer_height(columns)?;
    let mut notes = base.notes.clone();
    for note in scen.notes {
        if !notes.contains(&note) {
            notes.push(note);
        }
    }
    Ok(WhatIf {
        baseline: base.purchase.clone(),
        scenario: moved.scenario,
        rule: moved.rule.to_string(),
        retention_points: points,
        period,
        retention_rate_before: moved.rate_before,
        retention_rate_after: moved.rate_after,
        dropout_before: moved.dropout_before,
        dropout_after: moved.dropout_after,
        total,
        by,
        grouped_by: group.and(settings.by),
        customers,
        notes,
    })
}

/// One customer's figures.
#[derive(Debug, Default)]
struct Row {
    scored: bool,
    p0: f64,
    p1: f64,
    clv0: f64,
    clv1: f64,
    now: f64,
    extra: f64,
    net: Option<f64>,
}

/// The solved scenario, whatever the model.
struct Moved {
    scenario: AnyFitted,
    rule: &'static str,
    rate_before: f64,
    rate_after: f64,
    dropout_before: f64,
    dropout_after: f64,
}

impl Moved {
    fn of<M: DropoutShift>(s: RetentionShift<M>, wrap: fn(M) -> AnyFitted) -> Moved {
        Moved {
            rule: s.model.shift_rule(),
            rate_before: s.rate_before,
            rate_after: s.rate_after,
            dropout_before: s.dropout_before,
            dropout_after: s.dropout_after,
            scenario: wrap(s.model),
        }
    }
}

/// The scored customers' `(x, t_x, T)` (rows with a P(alive)), the inputs the retention
/// rate is averaged over.
struct ScoredRows {
    x: Vec<f64>,
    t_x: Vec<f64>,
    t: Vec<f64>,
}

impl ScoredRows {
    fn of(o: &ClvOutcome) -> Result<ScoredRows> {
        let get = |c: &str| nullable_f64(&o.frame, c);
        let (p, x, tx, t) = (
            get("p_alive")?,
            get("frequency")?,
            get("recency")?,
            get("T")?,
        );
        let mut rows = ScoredRows {
            x: Vec::new(),
            t_x: Vec::new(),
            t: Vec::new(),
        };
        for i in 0..p.len() {
            if let (Some(_), Some(x), Some(tx), Some(t)) = (p[i], x[i], tx[i], t[i]) {
                rows.x.push(x);
                rows.t_x.push(tx);
                rows.t.push(t);
            }
        }
        Ok(rows)
    }
}

/// Each customer's margin rate as the CLV stage applies it.
fn margins(
    summary: &crate::transactions::summary::Summary,
    margin: MarginSource,
    n: usize,
) -> Result<Vec<f64>> {
    match margin {
        MarginSource::Rate(r) => Ok(vec![r; n]),
        MarginSource::Cost => cost_margins(summary.frame()),
    }
}

/// Per customer id: historic cost-to-serve per order, and the profitability quadrant.
fn costs_by_id(
    table: &CustomerTable,
    summary: &crate::transactions::summary::Summary,
    model: &CostModel,
    activity: Option<&DataFrame>,
    settings: &WhatIfSettings,
) -> Result<(HashMap<String, f64>, HashMap<String, String>)> {
    let costs = super::profitability::price(table.frame(), model, activity)?;
    let rfm = summary.rfm(&RfmOptions::default())?;
    let p = super::profitability::matrix(costs, rfm.frame(), settings.split, settings.axis)?;
    let ids = customer_ids_as_text(&p.table)?;
    let cts = nullable_f64(&p.table, "cost_to_serve")?;
    let orders = nullable_f64(&p.table, "orders")?;
    let quad = p.table.column("quadrant")?.str()?.clone();
    let mut per_order = HashMap::with_capacity(ids.len());
    let mut quadrant = HashMap::with_capacity(ids.len());
    for (i, (id, q)) in ids.into_iter().zip(quad.iter()).enumerate() {
        let Some(id) = id else { continue };
        let cost = match (cts[i], orders[i]) {
            (Some(c), Some(o)) if o > 0.0 => c / o,
            _ => 0.0,
        };
        per_order.insert(id.clone(), cost);
        if let Some(q) = q {
            quadrant.insert(id, q.to_string());
        }
    }
    Ok((per_order, quadrant))
}
