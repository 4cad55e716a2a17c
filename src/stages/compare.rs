//! Model choice (what `patronage fit compare` and the pipeline's `model = "auto"` run):
//! BG/NBD, MBG/NBD and Pareto/NBD fitted on the same period of one summary, scored side
//! by side, and one chosen by a stated rule.
//!
//! Per model: the log-likelihood, AIC and BIC of the fit (BIC with `n` = customers
//! fitted); with a calibration end, the holdout mean absolute error per customer
//! (`|actual holdout purchases - expected|` averaged over the customers with calibration
//! data) and the holdout total error (`sum expected - sum actual`: positive when the model
//! over-predicts); and the Pearson chi-square of the fitted period's repeat-purchase
//! histogram against the model, with frequency bins `0, 1, ...` up to the largest
//! observed (capped at [`HISTOGRAM_BINS`], the last bin open) pooled so that each group
//! expects at least 5 customers ([`crate::clv::goodness::pooled_chi_square`]).
//!
//! The rule ([`SelectionRule`]): the lowest holdout MAE when there is a holdout (it
//! measures what the model is used for, predicting each customer's purchases, on data the
//! fit did not see), else the lowest BIC (the three models have four parameters each, so
//! BIC orders them as the log-likelihood does, and stays right should a model with
//! another count join). A model whose fit fails is listed with its error and never
//! chosen; ties go to the first of BG/NBD, MBG/NBD, Pareto/NBD.

use std::str::FromStr;

use rayon::prelude::*;
use serde_json::{Value, json};

use crate::clv::FitOptions;
use crate::clv::check::histogram_check;
use crate::clv::goodness::{PooledChiSquare, aic, bic, pooled_chi_square};
use crate::error::{Error, Result};
use crate::stages::fit::{AnyFitted, ModelKind, fit_repeat, holdout_inputs};
use crate::transactions::summary::Summary;

/// The models compared, in tie-breaking order.
pub const COMPARED: [ModelKind; 3] = [ModelKind::BgNbd, ModelKind::MbgNbd, ModelKind::ParetoNbd];

/// Frequency bins of the chi-square before pooling: `0 ..= HISTOGRAM_BINS - 1` and an
/// open last bin, or fewer when no customer made that many repeat purchases.
pub const HISTOGRAM_BINS: u32 = 50;

/// Smallest expected count of a pooled chi-square group.
pub const MIN_EXPECTED: f64 = 5.0;

/// How [`compare_models`] chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SelectionRule {
    /// Lowest holdout mean absolute error per customer (there is a holdout).
    HoldoutMae,
    /// Lowest BIC (no holdout).
    Bic,
}

impl SelectionRule {
    /// The key written in JSON: `holdout_mae` or `bic`.
    pub fn key(self) -> &'static str {
        match self {
            SelectionRule::HoldoutMae => "holdout_mae",
            SelectionRule::Bic => "bic",
        }
    }

    /// The rule in words, for a table or a page.
    pub fn describe(self) -> &'static str {
        match self {
            SelectionRule::HoldoutMae => {
                "lowest holdout mean absolute error per customer (the models were fitted on the calibration period and predict the holdout)"
            }
            SelectionRule::Bic => {
                "lowest BIC (no holdout period: give a calibration end to choose on predictions)"
            }
        }
    }
}

/// One model's row of a [`ModelComparison`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ModelScore {
    /// The model.
    pub model: ModelKind,
    /// Total log-likelihood of the fit (`None` when the fit failed).
    pub log_likelihood: Option<f64>,
    /// `2k - 2 LL`.
    pub aic: Option<f64>,
    /// `k ln(customers) - 2 LL`.
    pub bic: Option<f64>,
    /// Mean over customers of `|actual - expected|` holdout purchases (with a holdout).
    pub holdout_mae: Option<f64>,
    /// `sum expected - sum actual` holdout purchases: positive = over-prediction.
    pub holdout_total_error: Option<f64>,
    /// Pooled Pearson chi-square of the fitted period's repeat-purchase histogram.
    pub chi_square: Option<PooledChiSquare>,
    /// Why the model has no scores (its fit failed, or a prediction could not be
    /// computed); such a model is never chosen.
    pub error: Option<String>,
    /// The fitted model, when the fit succeeded.
    pub fitted: Option<AnyFitted>,
}

impl ModelScore {
    fn failed(model: ModelKind, error: &Error, fitted: Option<AnyFitted>) -> Self {
        let ll = fitted
            .as_ref()
            .and_then(|f| f.report().map(|r| r.log_likelihood));
        ModelScore {
            model,
            log_likelihood: ll,
            aic: None,
            bic: None,
            holdout_mae: None,
            holdout_total_error: None,
            chi_square: None,
            error: Some(error.to_string()),
            fitted,
        }
    }

    /// The figure `rule` ranks by.
    fn metric(&self, rule: SelectionRule) -> Option<f64> {
        if self.error.is_some() {
            return None;
        }
        match rule {
            SelectionRule::HoldoutMae => self.holdout_mae,
            SelectionRule::Bic => self.bic,
        }
        .filter(|v| v.is_finite())
    }
}

/// The result of [`compare_models`]: one row per model, the rule and the choice.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ModelComparison {
    /// BG/NBD, MBG/NBD, Pareto/NBD, in that order.
    pub models: Vec<ModelScore>,
    /// The chosen model; `None` when no model could be scored.
    pub chosen: Option<ModelKind>,
    /// The rule the choice followed.
    pub rule: SelectionRule,
}

impl ModelComparison {
    /// The chosen model.
    ///
    /// # Errors
    ///
    /// As [`ModelComparison::chosen_fit`].
    pub fn chosen_model(&self) -> Result<ModelKind> {
        self.chosen_fit()?;
        self.chosen.ok_or_else(|| self.none_chosen())
    }

    /// The chosen model's fit.
    ///
    /// # Errors
    ///
    /// [`Error::Model`] (model `auto`) when no model could be fitted and scored, with
    /// each model's error.
    pub fn chosen_fit(&self) -> Result<&AnyFitted> {
        self.chosen
            .and_then(|k| self.models.iter().find(|m| m.model == k))
            .and_then(|m| m.fitted.as_ref())
            .ok_or_else(|| self.none_chosen())
    }

    fn none_chosen(&self) -> Error {
        Error::Model {
            model: "auto".into(),
            reason: format!(
                "no model could be fitted and scored: {}",
                self.models
                    .iter()
                    .map(|m| format!(
                        "{}: {}",
                        m.model.name(),
                        m.error.as_deref().unwrap_or("no score")
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        }
    }

    /// The JSON object of `patronage fit compare --json` and of report.json's
    /// `model_comparison`: `models` (each `model, log_likelihood, aic, bic, holdout_mae,
    /// holdout_total_error, chi_square, error`; null where a figure does not apply),
    /// `chosen` (a model name or null) and `rule` (`holdout_mae` or `bic`).
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::prelude::*;
    /// use patronage::stages::compare::compare_models;
    /// let s = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?
    ///     .summary(&SummaryOptions::weekly())?;
    /// let json = compare_models(&s, &Default::default())?.to_json();
    /// assert_eq!(json["rule"], "bic");
    /// assert_eq!(json["models"].as_array().unwrap().len(), 3);
    /// assert!(json["models"][0]["holdout_mae"].is_null()); // no calibration end
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn to_json(&self) -> Value {
        let num = |v: Option<f64>| match v {
            Some(v) if v.is_finite() => json!(v),
            _ => Value::Null,
        };
        let models: Vec<Value> = self
            .models
            .iter()
            .map(|m| {
                json!({
                    "model": m.model.name(),
                    "log_likelihood": num(m.log_likelihood),
                    "aic": num(m.aic),
                    "bic": num(m.bic),
                    "holdout_mae": num(m.holdout_mae),
                    "holdout_total_error": num(m.holdout_total_error),
                    "chi_square": num(m.chi_square.as_ref().map(|c| c.statistic)),
                    "error": m.error,
                })
            })
            .collect();
        json!({
            "models": models,
            "chosen": self.chosen.map(ModelKind::name),
            "rule": self.rule.key(),
        })
    }
}

/// Holdout figures of one model: `(MAE per customer, sum expected - sum actual)`.
fn holdout_errors(model: &AnyFitted, h: &[Vec<f64>; 5]) -> Result<(f64, f64)> {
    let Some(pm) = model.purchase_model() else {
        return Err(Error::invalid("model", "not a purchase model"));
    };
    let [x, tx, t, actual, duration] = h;
    if x.is_empty() {
        return Err(Error::EmptyTable {
            what: "no customer has calibration-period data".into(),
        });
    }
    let expected: Vec<f64> = (0..x.len())
        .into_par_iter()
        .map(|i| pm.conditional_expected_purchases(duration[i], x[i], tx[i], t[i]))
        .collect::<Result<_>>()?;
    // Summed in customer order after the parallel map: the same on any thread count.
    let (mut abs, mut diff) = (0.0, 0.0);
    for (e, a) in expected.iter().zip(actual) {
        abs += (e - a).abs();
        diff += e - a;
    }
    Ok((abs / x.len() as f64, diff))
}

/// Scores one fitted model; an error in a prediction becomes the row's error.
fn score(
    kind: ModelKind,
    fitted: AnyFitted,
    hist: (&[f64], &[f64]),
    holdout: Option<&[Vec<f64>; 5]>,
) -> ModelScore {
    let inner = || -> Result<ModelScore> {
        let report = fitted.report().ok_or_else(|| Error::Model {
            model: kind.name().into(),
            reason: "no fit report".into(),
        })?;
        let (ll, n) = (report.log_likelihood, report.n_customers);
        let k = fitted.params().len();
        let pm = fitted
            .purchase_model()
            .ok_or_else(|| Error::invalid("model", "not a purchase model"))?;
        let (x, t) = hist;
        let top = x.iter().fold(0.0f64, |m, v| m.max(*v));
        // One bin past the largest frequency (it holds the model's tail), at most
        // HISTOGRAM_BINS: pooling merges the sparse tail anyway.
        let bins = ((top as u32).saturating_add(1)).min(HISTOGRAM_BINS);
        let h = histogram_check(pm, x, t, bins)?;
        let actual: Vec<f64> = h.bins.iter().map(|b| b.actual).collect();
        let expected: Vec<f64> = h.bins.iter().map(|b| b.expected).collect();
        let chi = pooled_chi_square(&actual, &expected, MIN_EXPECTED, k)?;
        let (mae, total) = match holdout {
            Some(h) => {
                let (m, t) = holdout_errors(&fitted, h)?;
                (Some(m), Some(t))
            }
            None => (None, None),
        };
        Ok(ModelScore {
            model: kind,
            log_likelihood: Some(ll),
            aic: Some(aic(ll, k)),
            bic: Some(bic(ll, k, n)),
            holdout_mae: mae,
            holdout_total_error: total,
            chi_square: Some(chi),
            error: None,
            fitted: None,
        })
    };
    match inner() {
        Ok(mut row) => {
            row.fitted = Some(fitted);
            row
        }
        Err(e) => ModelScore::failed(kind, &e, Some(fitted)),
    }
}

/// Fits BG/NBD, MBG/NBD and Pareto/NBD on the summary's fitted period (the calibration
/// period when it has a calibration end), scores each and chooses one (the rule and the
/// figures are in the module documentation).
///
/// # Errors
///
/// Missing summary columns, [`Error::EmptyTable`] without customers in the fitted
/// period, [`Error::InvalidOption`] for bad fit options. A model whose fit fails is not
/// an error: it appears with its error and is not chosen ([`ModelComparison::chosen`] is
/// `None` when no model could be scored).
///
/// # Example
///
/// ```
/// use patronage::prelude::*;
/// use patronage::stages::compare::{compare_models, SelectionRule};
/// let s = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?
///     .summary(&SummaryOptions::weekly().calibration_end("2024-03-31"))?;
/// let c = compare_models(&s, &Default::default())?;
/// assert_eq!(c.rule, SelectionRule::HoldoutMae);
/// // Every model that could be scored has a holdout MAE; the chosen one has the lowest.
/// let scored: Vec<_> = c.models.iter().filter(|m| m.error.is_none()).collect();
/// let best = scored.iter().min_by(|a, b| a.holdout_mae.unwrap().total_cmp(&b.holdout_mae.unwrap()));
/// assert_eq!(c.chosen, best.map(|m| m.model));
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn compare_models(summary: &Summary, opts: &FitOptions) -> Result<ModelComparison> {
    let data = summary.repeat_data()?;
    let (x, _, t) = summary.repeat_columns()?;
    let holdout = match summary.calibration_end() {
        Some(_) => Some(holdout_inputs(summary)?),
        None => None,
    };
    let rule = if holdout.is_some() {
        SelectionRule::HoldoutMae
    } else {
        SelectionRule::Bic
    };
    let mut models = Vec::with_capacity(COMPARED.len());
    for kind in COMPARED {
        let row = match fit_repeat(kind, &data, opts) {
            Ok(fitted) => score(kind, fitted, (&x, &t), holdout.as_ref()),
            // Bad options are the caller's mistake, the same for every model: say so
            // once instead of listing three failed fits.
            Err(e @ Error::InvalidOption { .. }) => return Err(e),
            Err(e) => ModelScore::failed(kind, &e, None),
        };
        models.push(row);
    }
    let mut chosen: Option<(ModelKind, f64)> = None;
    for m in &models {
        if let Some(v) = m.metric(rule)
            && chosen.is_none_or(|(_, best)| v < best)
        {
            chosen = Some((m.model, v));
        }
    }
    Ok(ModelComparison {
        models,
        chosen: chosen.map(|(k, _)| k),
        rule,
    })
}

/// A model setting that may also be `auto`: a purchase model by name, or the model
/// [`compare_models`] chooses. Settings that need one model (`patronage fit MODEL`)
/// refuse `auto` with [`ModelChoice::fixed`].
///
/// # Example
///
/// ```
/// use patronage::stages::compare::ModelChoice;
/// use patronage::stages::fit::ModelKind;
/// assert_eq!("auto".parse::<ModelChoice>()?, ModelChoice::Auto);
/// assert_eq!("pnbd".parse::<ModelChoice>()?, ModelChoice::Fixed(ModelKind::ParetoNbd));
/// assert!(ModelChoice::Auto.fixed("model").is_err());
/// # Ok::<(), patronage::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModelChoice {
    /// This model.
    Fixed(ModelKind),
    /// The model [`compare_models`] chooses.
    Auto,
}

impl PartialEq<ModelKind> for ModelChoice {
    fn eq(&self, other: &ModelKind) -> bool {
        *self == ModelChoice::Fixed(*other)
    }
}

impl ModelChoice {
    /// The setting as written: `auto` or the model's name.
    pub fn name(self) -> &'static str {
        match self {
            ModelChoice::Fixed(k) => k.name(),
            ModelChoice::Auto => "auto",
        }
    }
}

impl serde::Serialize for ModelChoice {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for ModelChoice {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl FromStr for ModelChoice {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        if s.eq_ignore_ascii_case("auto") {
            Ok(ModelChoice::Auto)
        } else {
            s.parse().map(ModelChoice::Fixed)
        }
    }
}

impl ModelChoice {
    /// The model, for a setting where `auto` makes no sense.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] naming `setting` for [`ModelChoice::Auto`].
    pub fn fixed(self, setting: &str) -> Result<ModelKind> {
        match self {
            ModelChoice::Fixed(k) => Ok(k),
            ModelChoice::Auto => Err(Error::invalid(
                setting,
                "`auto` chooses between models and is not a model here: name one (bg-nbd, mbg-nbd, pareto-nbd, bg-bb, gamma-gamma), or run `patronage fit compare`",
            )),
        }
    }
}
