//! The fit stage (what `patronage fit` runs): pick a model by name ([`ModelKind`]), fit
//! it on a per-customer table ([`fit_table`]) or a transaction summary
//! ([`fit_summary`]), and check a purchase model on the fitted period and the holdout
//! ([`purchase_checks`]). [`FitOutcome::to_json`] is the `fit --json` object.

use std::str::FromStr;

use polars::prelude::*;
use serde_json::{Value, json};

use crate::clv::check::{
    HistogramCheck, HoldoutCheck, HoldoutInputs, histogram_check, holdout_check,
};
use crate::clv::{
    BgBb, BgNbd, Coefficient, DiscreteData, FitOptions, FitReport, Fitted, Fitter, GammaGamma,
    MbgNbd, ParetoNbd, PurchaseModel, RepeatData, SpendData,
};
use crate::error::{Error, Result};
use crate::io::frame::nullable_f64;
use crate::stages::tracking::{TrackingCheck, tracking};
use crate::transactions::summary::Summary;

/// A model chosen by name: `"bg-nbd"`, `"mbg-nbd"`, `"pareto-nbd"` (alias `pnbd`),
/// `"bg-bb"` or `"gamma-gamma"` (alias `gg`), case-insensitive, with `_` or `/` for `-`.
///
/// # Example
///
/// ```
/// use patronage::stages::fit::ModelKind;
/// let kind: ModelKind = "Pareto/NBD".parse()?;
/// assert_eq!(kind, ModelKind::ParetoNbd);
/// assert_eq!(kind.name(), "pareto-nbd");
/// assert!(kind.predicts_purchases() && !ModelKind::GammaGamma.predicts_purchases());
/// assert!("nbd".parse::<ModelKind>().is_err());
/// # Ok::<(), patronage::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
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
    /// The command-line name (`bg-nbd`, `mbg-nbd`, `pareto-nbd`, `bg-bb`,
    /// `gamma-gamma`), which parses back to the same kind.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::BgNbd => "bg-nbd",
            ModelKind::MbgNbd => "mbg-nbd",
            ModelKind::ParetoNbd => "pareto-nbd",
            ModelKind::BgBb => "bg-bb",
            ModelKind::GammaGamma => "gamma-gamma",
        }
    }

    /// True for the models that predict purchases and so can score CLV (BG/NBD, MBG/NBD,
    /// Pareto/NBD); false for BG/BB and Gamma-Gamma.
    pub fn predicts_purchases(self) -> bool {
        matches!(
            self,
            ModelKind::BgNbd | ModelKind::MbgNbd | ModelKind::ParetoNbd
        )
    }
}

/// Any fitted model, with the views the stages and the report need without knowing which
/// model it is (name, parameters, fit report, coefficients, JSON, and the purchase-model
/// view for scoring).
///
/// # Example
///
/// ```
/// use patronage::clv::BgNbd;
/// use patronage::stages::fit::AnyFitted;
/// let m = AnyFitted::BgNbd(BgNbd::from_params(&[0.24, 4.41, 0.79, 2.43])?);
/// assert_eq!(m.name(), "bg-nbd");
/// assert_eq!(m.params()[1], ("alpha", 4.41));
/// assert!(m.report().is_none()); // known parameters, not a fit
/// assert!(m.purchase_model().is_some());
/// # Ok::<(), patronage::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
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
    /// The model's name (`bg-nbd`, `mbg-nbd`, `pareto-nbd`, `bg-bb`, `gamma-gamma`).
    pub fn name(&self) -> &'static str {
        each!(self, m => m.name())
    }

    /// Parameter names and values, in the literature's order.
    pub fn params(&self) -> Vec<(&'static str, f64)> {
        each!(self, m => m.param_names().iter().copied().zip(m.params().iter().copied()).collect())
    }

    /// The fit report (log-likelihood, standard errors, convergence); `None` for a
    /// model built from known parameters.
    pub fn report(&self) -> Option<&FitReport> {
        each!(self, m => m.report())
    }

    /// The coefficient table: estimate, standard error and 95% interval per parameter.
    pub fn summary(&self) -> Vec<Coefficient> {
        each!(self, m => m.summary())
    }

    /// The coefficient table as a frame, one row per parameter: `parameter, estimate,
    /// standard_error, lower_95, upper_95` (what `patronage fit` prints).
    ///
    /// # Errors
    /// A polars error building the frame (it always builds).
    ///
    /// # Example
    /// ```
    /// use patronage::clv::{BgNbd, RepeatData};
    /// use patronage::stages::fit::AnyFitted;
    /// let df = patronage::io::read_table("datasets/cdnow/cdnow_customers_summary.csv")?;
    /// let fitted = AnyFitted::BgNbd(BgNbd::fitter().fit(&RepeatData::from_frame(&df)?)?);
    /// let table = fitted.coefficients_frame()?;
    /// assert_eq!(table.height(), 4); // r, alpha, a, b
    /// assert_eq!(table.column("parameter")?.str()?.get(0), Some("r"));
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn coefficients_frame(&self) -> Result<DataFrame> {
        let rows = self.summary();
        let column = |name: &str, f: fn(&Coefficient) -> f64| {
            Column::new(name.into(), rows.iter().map(f).collect::<Vec<f64>>())
        };
        Ok(DataFrame::new_infer_height(vec![
            Column::new(
                "parameter".into(),
                rows.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ),
            column("estimate", |c| c.estimate),
            column("standard_error", |c| c.standard_error),
            column("lower_95", |c| c.lower_95),
            column("upper_95", |c| c.upper_95),
        ])?)
    }

    /// Loads a model written by [`AnyFitted::to_json`] (or `patronage fit --save-model`),
    /// whichever of the five models the file holds.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] for malformed JSON, a file without a known `model` name, or as
    /// [`Fitted::from_json`].
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::clv::ParetoNbd;
    /// use patronage::stages::fit::AnyFitted;
    /// let m = AnyFitted::ParetoNbd(ParetoNbd::from_params(&[0.55, 10.58, 0.61, 11.67])?);
    /// assert_eq!(AnyFitted::from_json(&m.to_json()?)?, m);
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn from_json(json: &str) -> Result<Self> {
        let value: Value = serde_json::from_str(json).map_err(|e| Error::Parse {
            what: "model JSON".into(),
            reason: e.to_string(),
        })?;
        let name = value["model"].as_str().unwrap_or_default();
        let kind: ModelKind = name.parse().map_err(|_| Error::Parse {
            what: "model JSON".into(),
            reason: format!(
                "`model` is `{name}`, not one of bg-nbd, mbg-nbd, pareto-nbd, bg-bb, gamma-gamma"
            ),
        })?;
        Ok(match kind {
            ModelKind::BgNbd => AnyFitted::BgNbd(Fitted::from_json(json)?),
            ModelKind::MbgNbd => AnyFitted::MbgNbd(Fitted::from_json(json)?),
            ModelKind::ParetoNbd => AnyFitted::ParetoNbd(Fitted::from_json(json)?),
            ModelKind::BgBb => AnyFitted::BgBb(Fitted::from_json(json)?),
            ModelKind::GammaGamma => AnyFitted::GammaGamma(Fitted::from_json(json)?),
        })
    }

    /// Reads a model file ([`AnyFitted::from_json`]).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when unreadable, else as [`AnyFitted::from_json`].
    pub fn from_path(path: impl AsRef<std::path::Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = crate::error::read_text(path)?;
        Self::from_json(&text)
    }

    /// The model as JSON ([`Fitted::to_json`]).
    ///
    /// # Errors
    ///
    /// As [`Fitted::to_json`].
    pub fn to_json(&self) -> Result<String> {
        each!(self, m => m.to_json())
    }

    /// The purchase-model view (BG/NBD, MBG/NBD, Pareto/NBD), for scoring; `None` for
    /// BG/BB and Gamma-Gamma.
    pub fn purchase_model(&self) -> Option<&dyn PurchaseModel> {
        match self {
            AnyFitted::BgNbd(m) => Some(m),
            AnyFitted::MbgNbd(m) => Some(m),
            AnyFitted::ParetoNbd(m) => Some(m),
            _ => None,
        }
    }
}

/// The result of the fit stage: the model and the checks `patronage fit` reports with
/// it (spend exclusions for Gamma-Gamma; the histogram, holdout and tracking checks for
/// purchase models fitted on a summary).
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
    /// Purchase models fitted on a summary: actual against expected repeat purchases
    /// over calendar time ([`tracking`](crate::stages::tracking)).
    pub tracking: Option<TrackingCheck>,
}

impl FitOutcome {
    /// The JSON object `patronage fit --json` prints: `model, params, standard_errors,
    /// log_likelihood, n_customers, converged, iterations` (+ `gradient_norm`, `method`,
    /// `excluded`, `holdout`, and `warm_start {customers, n_distinct, iterations}` where
    /// they apply).
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::stages::fit::{fit_table, ModelKind};
    /// let df = patronage::io::read_table("datasets/cdnow/donations.csv")?;
    /// let json = fit_table(ModelKind::BgBb, &df, &Default::default())?.to_json();
    /// assert_eq!(json["model"], "bg-bb");
    /// assert!(json["params"]["alpha"].is_number() && json["converged"] == true);
    /// # Ok::<(), patronage::Error>(())
    /// ```
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
            if let Some(w) = &r.warm_start {
                out["warm_start"] = json!(w);
            }
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
        if let Some(t) = &self.tracking {
            out["tracking"] = serde_json::to_value(t).unwrap_or(Value::Null);
        }
        out
    }
}

/// Fits model `M` with `opts`.
pub(crate) fn fit_with<M: crate::clv::fit::Model>(
    opts: &FitOptions,
    data: &M::Data,
) -> Result<Fitted<M>> {
    Fitter::<M>::with_options(opts.clone()).fit(data)
}

/// Fits a purchase model (BG/NBD, MBG/NBD or Pareto/NBD) chosen by `kind`.
///
/// # Errors
///
/// [`Error::InvalidOption`] for a model that is not a purchase model; fit errors.
pub(crate) fn fit_repeat(
    kind: ModelKind,
    data: &RepeatData,
    opts: &FitOptions,
) -> Result<AnyFitted> {
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
/// use patronage::stages::fit::{fit_table, ModelKind};
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
        tracking: None,
    })
}

/// Holdout inputs of a calibration summary: customers with calibration data.
pub(crate) fn holdout_inputs(summary: &Summary) -> Result<[Vec<f64>; 5]> {
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
/// ```
/// use patronage::prelude::*;
/// use patronage::stages::fit::{fit_summary, ModelKind};
/// let s = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?
///     .summary(&SummaryOptions::weekly().calibration_end("2024-03-31"))?;
/// let out = fit_summary(ModelKind::BgNbd, &s, &Default::default())?;
/// assert!(out.holdout.is_some() && out.histogram.is_some());
/// println!("{}", out.to_json());
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn fit_summary(kind: ModelKind, summary: &Summary, opts: &FitOptions) -> Result<FitOutcome> {
    match kind {
        ModelKind::GammaGamma => {
            let spend = summary.spend_data()?;
            let model = AnyFitted::GammaGamma(fit_with(opts, &spend)?);
            Ok(FitOutcome {
                model,
                excluded: Some(spend.excluded()),
                holdout: None,
                histogram: None,
                tracking: None,
            })
        }
        ModelKind::BgBb => {
            let data = summary.discrete_data()?;
            Ok(FitOutcome {
                model: AnyFitted::BgBb(fit_with(opts, &data)?),
                excluded: None,
                holdout: None,
                histogram: None,
                tracking: None,
            })
        }
        _ => {
            let model = fit_repeat(kind, &summary.repeat_data()?, opts)?;
            let (histogram, holdout) = purchase_checks(&model, summary)?;
            let tracking = tracking_of(&model, summary)?;
            Ok(FitOutcome {
                model,
                excluded: None,
                holdout,
                histogram,
                tracking,
            })
        }
    }
}

/// The tracking check ([`crate::stages::tracking`]) of a purchase model on `summary`;
/// `None` for models that do not predict purchases.
///
/// # Errors
///
/// As [`tracking`].
pub fn tracking_of(model: &AnyFitted, summary: &Summary) -> Result<Option<TrackingCheck>> {
    match model.purchase_model() {
        Some(pm) => tracking(pm, summary),
        None => Ok(None),
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
/// use patronage::stages::fit::{fit_summary, purchase_checks, ModelKind};
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
    let (x, _, t) = summary.repeat_columns()?;
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
