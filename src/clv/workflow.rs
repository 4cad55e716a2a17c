//! The model workflows the CLI's `fit` and `clv` commands run, as library calls: pick a
//! model by name, fit it on a per-customer table or a transaction summary, check it on
//! the holdout, and score every customer.

use std::str::FromStr;

use polars::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::clv::check::{
    HistogramCheck, HoldoutCheck, HoldoutInputs, histogram_check, holdout_check,
};
use crate::clv::value::{CustomerInputs, score};
use crate::clv::{
    BgBb, BgNbd, ClvOptions, Coefficient, DiscreteData, FitOptions, FitReport, Fitted, Fitter,
    GammaGamma, Margin, MbgNbd, ParetoNbd, PurchaseModel, RepeatData, SpendData,
};
use crate::error::{Error, Result};
use crate::io::frame::nullable_f64;
use crate::transactions::summary::Summary;

/// A model chosen by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// BG/NBD.
    BgNbd,
    /// MBG/NBD.
    MbgNbd,
    /// Pareto/NBD.
    ParetoNbd,
    /// BG/BB (discrete time).
    BgBb,
    /// Gamma-Gamma (spend).
    GammaGamma,
}

impl FromStr for ModelKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(
            match s.to_ascii_lowercase().replace(['_', '/'], "-").as_str() {
                "bg-nbd" | "bgnbd" => ModelKind::BgNbd,
                "mbg-nbd" | "mbgnbd" => ModelKind::MbgNbd,
                "pareto-nbd" | "paretonbd" | "pnbd" => ModelKind::ParetoNbd,
                "bg-bb" | "bgbb" => ModelKind::BgBb,
                "gamma-gamma" | "gammagamma" | "gg" => ModelKind::GammaGamma,
                _ => {
                    return Err(Error::invalid(
                        "model",
                        format!(
                            "`{s}` is not one of bg-nbd, mbg-nbd, pareto-nbd, bg-bb, gamma-gamma"
                        ),
                    ));
                }
            },
        )
    }
}

impl ModelKind {
    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::BgNbd => "bg-nbd",
            ModelKind::MbgNbd => "mbg-nbd",
            ModelKind::ParetoNbd => "pareto-nbd",
            ModelKind::BgBb => "bg-bb",
            ModelKind::GammaGamma => "gamma-gamma",
        }
    }
}

/// Any fitted model.
#[derive(Debug, Clone, PartialEq)]
pub enum AnyFitted {
    /// BG/NBD.
    BgNbd(Fitted<BgNbd>),
    /// MBG/NBD.
    MbgNbd(Fitted<MbgNbd>),
    /// Pareto/NBD.
    ParetoNbd(Fitted<ParetoNbd>),
    /// BG/BB.
    BgBb(Fitted<BgBb>),
    /// Gamma-Gamma.
    GammaGamma(Fitted<GammaGamma>),
}

macro_rules! each {
    ($self:expr, $m:ident => $e:expr) => {
        match $self {
            AnyFitted::BgNbd($m) => $e,
            AnyFitted::MbgNbd($m) => $e,
            AnyFitted::ParetoNbd($m) => $e,
            AnyFitted::BgBb($m) => $e,
            AnyFitted::GammaGamma($m) => $e,
        }
    };
}

impl AnyFitted {
    /// Model name.
    pub fn name(&self) -> &'static str {
        each!(self, m => m.name())
    }

    /// Parameter names and values.
    pub fn params(&self) -> Vec<(&'static str, f64)> {
        each!(self, m => m.param_names().iter().copied().zip(m.params().iter().copied()).collect())
    }

    /// The fit report.
    pub fn report(&self) -> Option<&FitReport> {
        each!(self, m => m.report())
    }

    /// Coefficient table.
    pub fn summary(&self) -> Vec<Coefficient> {
        each!(self, m => m.summary())
    }

    /// The model as JSON ([`Fitted::to_json`]).
    ///
    /// # Errors
    ///
    /// As [`Fitted::to_json`].
    pub fn to_json(&self) -> Result<String> {
        each!(self, m => m.to_json())
    }

    /// The purchase-model view (BG/NBD, MBG/NBD, Pareto/NBD), for scoring.
    pub fn purchase_model(&self) -> Option<&dyn PurchaseModel> {
        match self {
            AnyFitted::BgNbd(m) => Some(m),
            AnyFitted::MbgNbd(m) => Some(m),
            AnyFitted::ParetoNbd(m) => Some(m),
            _ => None,
        }
    }
}

/// A fit with what the CLI reports about it.
#[derive(Debug, Clone, PartialEq)]
pub struct FitOutcome {
    /// The fitted model.
    pub model: AnyFitted,
    /// Gamma-Gamma only: customers left out `(no repeat purchase, mean spend <= 0)`.
    pub excluded: Option<(f64, f64)>,
    /// With a calibration period: holdout purchases against the model.
    pub holdout: Option<HoldoutCheck>,
    /// Purchase models fitted on a summary: the fitted period's repeat-purchase
    /// histogram against the model.
    pub histogram: Option<HistogramCheck>,
}

impl FitOutcome {
    /// The JSON object `patronage fit --json` prints: `model, params, standard_errors,
    /// log_likelihood, n_customers, converged, iterations` (+ `gradient_norm`, `method`,
    /// `excluded`, `holdout` where they apply).
    pub fn to_json(&self) -> Value {
        let params: serde_json::Map<String, Value> = self
            .model
            .params()
            .into_iter()
            .map(|(n, v)| (n.to_string(), json!(v)))
            .collect();
        let mut out = json!({ "model": self.model.name(), "params": params });
        if let Some(r) = self.model.report() {
            let se: serde_json::Map<String, Value> = self
                .model
                .params()
                .iter()
                .zip(&r.standard_errors)
                .map(|((n, _), s)| {
                    (
                        n.to_string(),
                        if s.is_finite() { json!(s) } else { Value::Null },
                    )
                })
                .collect();
            out["standard_errors"] = Value::Object(se);
            out["log_likelihood"] = json!(r.log_likelihood);
            out["n_customers"] = json!(r.n_customers);
            out["n_distinct"] = json!(r.n_distinct);
            out["converged"] = json!(r.converged);
            out["iterations"] = json!(r.iterations);
            out["gradient_norm"] = json!(r.gradient_norm);
            out["method"] = json!(r.method);
            out["penalizer"] = json!(r.penalizer);
        }
        if let AnyFitted::GammaGamma(m) = &self.model {
            let p = m.params();
            out["mean_spend"] = match m.mean_spend() {
                Ok(v) => json!(v),
                Err(_) => Value::Null,
            };
            if p[1] <= 1.0 {
                out["warning"] =
                    json!(format!("q = {:.4} <= 1: expected spend is undefined", p[1]));
            }
        }
        if let Some((none, non_positive)) = self.excluded {
            out["excluded"] =
                json!({ "no_repeat_purchase": none, "non_positive_spend": non_positive });
        }
        if let Some(h) = &self.holdout {
            out["holdout"] = serde_json::to_value(h).unwrap_or(Value::Null);
        }
        if let Some(h) = &self.histogram {
            out["period_transactions"] = serde_json::to_value(h).unwrap_or(Value::Null);
        }
        out
    }
}

fn fit_with<M: crate::clv::fit::Model>(opts: &FitOptions, data: &M::Data) -> Result<Fitted<M>> {
    Fitter::<M>::with_options(opts.clone()).fit(data)
}

fn fit_repeat(kind: ModelKind, data: &RepeatData, opts: &FitOptions) -> Result<AnyFitted> {
    Ok(match kind {
        ModelKind::BgNbd => AnyFitted::BgNbd(fit_with(opts, data)?),
        ModelKind::MbgNbd => AnyFitted::MbgNbd(fit_with(opts, data)?),
        ModelKind::ParetoNbd => AnyFitted::ParetoNbd(fit_with(opts, data)?),
        _ => {
            return Err(Error::invalid(
                "model",
                format!("{} is not a purchase model", kind.name()),
            ));
        }
    })
}

/// Fits `kind` on a per-customer table: `frequency, recency, T` (or `x, t_x, T`) and
/// optional `weights`; `frequency, monetary_value` (or `zbar`) for Gamma-Gamma;
/// `frequency, recency, periods` for BG/BB.
///
/// # Errors
///
/// Missing columns, bad rows and fit failures as in [`RepeatData::from_frame`] and
/// [`Fitter::fit`].
///
/// # Example
///
/// ```
/// use patronage::clv::workflow::{fit_table, ModelKind};
/// let df = patronage::io::read_table("datasets/cdnow/donations.csv")?;
/// let out = fit_table(ModelKind::BgBb, &df, &Default::default())?;
/// assert!((out.model.report().unwrap().log_likelihood + 33225.58).abs() < 0.01);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn fit_table(kind: ModelKind, df: &DataFrame, opts: &FitOptions) -> Result<FitOutcome> {
    let (model, excluded) = match kind {
        ModelKind::BgBb => (
            AnyFitted::BgBb(fit_with(opts, &DiscreteData::from_frame(df)?)?),
            None,
        ),
        ModelKind::GammaGamma => {
            let spend = SpendData::from_frame(df)?;
            (
                AnyFitted::GammaGamma(fit_with(opts, &spend)?),
                Some(spend.excluded()),
            )
        }
        _ => (fit_repeat(kind, &RepeatData::from_frame(df)?, opts)?, None),
    };
    Ok(FitOutcome {
        model,
        excluded,
        holdout: None,
        histogram: None,
    })
}

/// Holdout inputs of a calibration summary: customers with calibration data.
fn holdout_inputs(summary: &Summary) -> Result<[Vec<f64>; 5]> {
    let df = summary.frame();
    let cols: Vec<Vec<Option<f64>>> = [
        "frequency_cal",
        "recency_cal",
        "T_cal",
        "frequency_holdout",
        "duration_holdout",
    ]
    .iter()
    .map(|c| nullable_f64(df, c))
    .collect::<Result<_>>()?;
    let mut out: [Vec<f64>; 5] = Default::default();
    for i in 0..df.height() {
        if cols.iter().all(|c| c[i].is_some()) {
            for (k, c) in cols.iter().enumerate() {
                out[k].push(c[i].unwrap_or(0.0));
            }
        }
    }
    Ok(out)
}

/// Fits `kind` on a transaction summary: the calibration columns when the summary has a
/// calibration end (and then adds the holdout check for purchase models), else the
/// full-period columns. BG/BB needs whole-number recency and T: use the same purchase
/// unit and time unit (e.g. both `week`).
///
/// # Errors
///
/// [`Error::InvalidOption`] for BG/BB on fractional periods; otherwise as
/// [`fit_table`].
///
/// # Example
///
/// ```no_run
/// use patronage::prelude::*;
/// use patronage::clv::workflow::{fit_summary, ModelKind};
/// let s = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?
///     .summary(&SummaryOptions::weekly().calibration_end("2024-06-30"))?;
/// let out = fit_summary(ModelKind::BgNbd, &s, &Default::default())?;
/// println!("{}", out.to_json());
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn fit_summary(kind: ModelKind, summary: &Summary, opts: &FitOptions) -> Result<FitOutcome> {
    match kind {
        ModelKind::GammaGamma => {
            let spend = SpendData::from_summary(summary)?;
            let model = AnyFitted::GammaGamma(fit_with(opts, &spend)?);
            Ok(FitOutcome {
                model,
                excluded: Some(spend.excluded()),
                holdout: None,
                histogram: None,
            })
        }
        ModelKind::BgBb => {
            let (x, t_x, t) = crate::clv::data::summary_columns(summary)?;
            if let Some(i) = t_x.iter().chain(&t).position(|v| v.fract() != 0.0) {
                let v = t_x.iter().chain(&t).nth(i).copied().unwrap_or_default();
                return Err(Error::invalid(
                    "model",
                    format!(
                        "bg-bb needs whole-number periods, found {v}; use the same --purchase-unit and --time-unit (e.g. both week), or give a per-customer table with --summary"
                    ),
                ));
            }
            let data = DiscreteData::new(&x, &t_x, &t, None)?;
            Ok(FitOutcome {
                model: AnyFitted::BgBb(fit_with(opts, &data)?),
                excluded: None,
                holdout: None,
                histogram: None,
            })
        }
        _ => {
            let (x, t_x, t) = crate::clv::data::summary_columns(summary)?;
            let data = RepeatData::new(&x, &t_x, &t)?;
            let model = fit_repeat(kind, &data, opts)?;
            let (histogram, holdout) = purchase_checks(&model, summary)?;
            Ok(FitOutcome {
                model,
                excluded: None,
                holdout,
                histogram,
            })
        }
    }
}

/// The model checks of a purchase model fitted on `summary`'s fitted period (the
/// calibration period when the summary has one): the repeat-purchase histogram against
/// the model, and with a calibration end the holdout purchases by calibration frequency
/// (both with 7 as the open last bin). `(None, None)` for models that do not predict
/// purchases (Gamma-Gamma, BG/BB).
///
/// # Errors
///
/// Missing summary columns; a model that cannot evaluate the histogram.
///
/// # Example
///
/// ```
/// use patronage::prelude::*;
/// use patronage::clv::workflow::{fit_summary, purchase_checks, ModelKind};
/// let s = Transactions::scan_whitespace("datasets/cdnow/CDNOW_master.txt", true, TransactionSchema::default())?
///     .summary(&SummaryOptions::weekly().calibration_end("1997-09-30"))?;
/// let out = fit_summary(ModelKind::BgNbd, &s, &Default::default())?;
/// let (histogram, holdout) = purchase_checks(&out.model, &s)?;
/// assert!(histogram.is_some() && holdout.is_some());
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn purchase_checks(
    model: &AnyFitted,
    summary: &Summary,
) -> Result<(Option<HistogramCheck>, Option<HoldoutCheck>)> {
    let Some(pm) = model.purchase_model() else {
        return Ok((None, None));
    };
    let (x, _, t) = crate::clv::data::summary_columns(summary)?;
    let histogram = Some(histogram_check(pm, &x, &t, 7)?);
    let holdout = match summary.calibration_end() {
        Some(_) => {
            let [x, tx, t, xh, d] = holdout_inputs(summary)?;
            let input = HoldoutInputs {
                x: &x,
                t_x: &tx,
                t: &t,
                x_holdout: &xh,
                duration: &d,
            };
            Some(holdout_check(pm, input, 7)?)
        }
        None => None,
    };
    Ok((histogram, holdout))
}

/// Where expected spend per purchase comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpendSource {
    /// A Gamma-Gamma model fitted on the repeat customers (default).
    GammaGamma,
    /// Each customer's own mean repeat spend (0 for customers without repeats).
    Historic,
}

/// Where the margin comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MarginSource {
    /// One rate for everyone.
    Rate(f64),
    /// Per customer, gross profit / total spend from the cost column.
    Cost,
}

/// Settings of [`clv_table`].
#[derive(Debug, Clone, PartialEq)]
pub struct ClvSettings {
    /// Purchase model (BG/NBD, MBG/NBD or Pareto/NBD).
    pub model: ModelKind,
    /// Fit options for both models.
    pub fit: FitOptions,
    /// Spend source.
    pub spend: SpendSource,
    /// Margin source.
    pub margin: MarginSource,
    /// Horizon in time units.
    pub horizon: f64,
    /// Discount rate per time unit.
    pub discount_rate: f64,
    /// Discounting step in time units.
    pub step: f64,
}

impl Default for ClvSettings {
    /// BG/NBD with Gamma-Gamma spend, margin 1, 52 time units, no discounting, step 1.
    fn default() -> Self {
        ClvSettings {
            model: ModelKind::BgNbd,
            fit: FitOptions::default(),
            spend: SpendSource::GammaGamma,
            margin: MarginSource::Rate(1.0),
            horizon: 52.0,
            discount_rate: 0.0,
            step: 1.0,
        }
    }
}

/// The per-customer CLV table and the models behind it.
#[derive(Debug, Clone)]
pub struct ClvOutcome {
    /// `customer_id, frequency, recency, T, monetary_value, p_alive, expected_purchases,
    /// expected_spend, clv` (calibration-period inputs when the summary has a calibration
    /// end; customers born in the holdout then have null scores).
    pub frame: DataFrame,
    /// The purchase model.
    pub purchase: AnyFitted,
    /// The spend model, when used.
    pub spend: Option<FitOutcome>,
    /// Sum of CLV.
    pub customer_equity: f64,
}

/// Fits the purchase model (and Gamma-Gamma) on a summary and scores every customer.
///
/// # Errors
///
/// [`Error::InvalidOption`] for a non-purchase model or `MarginSource::Cost` without a
/// cost column; fit errors; [`Error::Model`] when Gamma-Gamma has `q <= 1` (use
/// `SpendSource::Historic` then).
///
/// # Example
///
/// ```no_run
/// use patronage::prelude::*;
/// use patronage::clv::workflow::{clv_table, ClvSettings};
/// let s = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?
///     .summary(&SummaryOptions::weekly())?;
/// let out = clv_table(&s, &ClvSettings::default())?;
/// println!("customer equity {:.0}", out.customer_equity);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn clv_table(summary: &Summary, settings: &ClvSettings) -> Result<ClvOutcome> {
    clv_table_on(summary, settings, ScoringPeriod::Fitted)
}

/// Which columns of a summary [`clv_table_on`] fits and scores on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScoringPeriod {
    /// The calibration columns when the summary has a calibration end, else the full
    /// period (what [`clv_table`] does: scores that a holdout can check).
    #[default]
    Fitted,
    /// Always the full observation period (`frequency, recency, T, monetary_value`):
    /// scores for acting on today, using every purchase.
    Full,
}

/// [`clv_table`] with the scoring period chosen explicitly.
///
/// # Errors
///
/// As [`clv_table`].
///
/// # Example
///
/// ```
/// use patronage::prelude::*;
/// use patronage::clv::workflow::{clv_table_on, ClvSettings, ScoringPeriod};
/// let s = Transactions::scan_whitespace("datasets/cdnow/CDNOW_master.txt", true, TransactionSchema::default())?
///     .summary(&SummaryOptions::weekly().calibration_end("1997-09-30"))?;
/// let today = clv_table_on(&s, &ClvSettings::default(), ScoringPeriod::Full)?;
/// assert_eq!(today.frame.height(), s.frame().height());
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn clv_table_on(
    summary: &Summary,
    settings: &ClvSettings,
    period: ScoringPeriod,
) -> Result<ClvOutcome> {
    if !matches!(
        settings.model,
        ModelKind::BgNbd | ModelKind::MbgNbd | ModelKind::ParetoNbd
    ) {
        return Err(Error::invalid(
            "model",
            format!(
                "{} does not predict purchases; use bg-nbd, mbg-nbd or pareto-nbd",
                settings.model.name()
            ),
        ));
    }
    let df = summary.frame();
    let cal = summary.calibration_end().is_some() && period == ScoringPeriod::Fitted;
    let names: [&str; 4] = if cal {
        [
            "frequency_cal",
            "recency_cal",
            "T_cal",
            "monetary_value_cal",
        ]
    } else {
        ["frequency", "recency", "T", "monetary_value"]
    };
    let cols: Vec<Vec<Option<f64>>> = names
        .iter()
        .map(|c| nullable_f64(df, c))
        .collect::<Result<_>>()?;
    let margins_all: Option<Vec<f64>> = match settings.margin {
        MarginSource::Rate(_) => None,
        MarginSource::Cost => {
            let gp = nullable_f64(df, "gross_profit").map_err(|_| {
                Error::invalid("margin", "`cost` needs a cost column in the transactions (--cost-col or --unit-cost-col)")
            })?;
            let spend = nullable_f64(df, "total_spend")?;
            Some(
                gp.iter()
                    .zip(&spend)
                    .map(|(g, s)| match (g, s) {
                        (Some(g), Some(s)) if *s > 0.0 => g / s,
                        _ => 0.0,
                    })
                    .collect(),
            )
        }
    };
    // Customers with data in the scoring period.
    let rows: Vec<usize> = (0..df.height())
        .filter(|&i| cols[0][i].is_some() && cols[1][i].is_some() && cols[2][i].is_some())
        .collect();
    let take = |k: usize| -> Vec<f64> { rows.iter().map(|&i| cols[k][i].unwrap_or(0.0)).collect() };
    let (x, t_x, t, m) = (take(0), take(1), take(2), take(3));
    let data = RepeatData::new(&x, &t_x, &t)?;
    let purchase = fit_repeat(settings.model, &data, &settings.fit)?;
    let pm = purchase
        .purchase_model()
        .ok_or_else(|| Error::invalid("model", "not a purchase model"))?;
    let spend = match settings.spend {
        SpendSource::GammaGamma => {
            let sd = SpendData::new(&x, &m)?;
            let gg: Fitted<GammaGamma> = fit_with(&settings.fit, &sd)?;
            gg.mean_spend()?;
            Some((gg, sd.excluded()))
        }
        SpendSource::Historic => None,
    };
    let margin = match (&settings.margin, &margins_all) {
        (MarginSource::Rate(r), _) => Margin::Rate(*r),
        (MarginSource::Cost, Some(all)) => {
            Margin::PerCustomer(rows.iter().map(|&i| all[i]).collect())
        }
        (MarginSource::Cost, None) => Margin::Rate(1.0),
    };
    let opts = ClvOptions {
        horizon: settings.horizon,
        discount_rate: settings.discount_rate,
        step: settings.step,
        margin,
    };
    let scores = score(
        pm,
        spend.as_ref().map(|s| &s.0),
        CustomerInputs {
            x: &x,
            t_x: &t_x,
            t: &t,
            monetary: &m,
        },
        &opts,
    )?;
    let customer_equity = scores.customer_equity();
    // Scatter back to all customers (null where there was nothing to score).
    let scatter = |v: &[f64]| -> Vec<Option<f64>> {
        let mut out = vec![None; df.height()];
        for (k, &i) in rows.iter().enumerate() {
            out[i] = Some(v[k]);
        }
        out
    };
    let mut columns = vec![df.column("customer_id")?.clone()];
    for (k, out_name) in ["frequency", "recency", "T", "monetary_value"]
        .iter()
        .enumerate()
    {
        columns.push(Column::new((*out_name).into(), cols[k].clone()));
    }
    columns.push(Column::new("p_alive".into(), scatter(&scores.p_alive)));
    columns.push(Column::new(
        "expected_purchases".into(),
        scatter(&scores.expected_purchases),
    ));
    columns.push(Column::new(
        "expected_spend".into(),
        scatter(&scores.expected_spend),
    ));
    columns.push(Column::new("clv".into(), scatter(&scores.clv)));
    let frame = DataFrame::new_infer_height(columns)?;
    Ok(ClvOutcome {
        frame,
        purchase,
        spend: spend.map(|(gg, excluded)| FitOutcome {
            model: AnyFitted::GammaGamma(gg),
            excluded: Some(excluded),
            holdout: None,
            histogram: None,
        }),
        customer_equity,
    })
}
