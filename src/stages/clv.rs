//! The CLV stage (what `patronage clv` runs, and the pipeline's CLV step): fit the
//! purchase model and the spend model on a transaction summary and score every customer
//! ([`clv_table`], [`clv_table_on`]), with the choices of [`ClvSettings`].

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::covariates::{ClvCovariates, CovariateSettings, clv_scores};
use super::fit::{AnyFitted, FitOutcome, ModelKind, fit_repeat, fit_with};
use super::interval::{ClvIntervals, IntervalInputs, bound_columns, clv_intervals, summarise};
use crate::clv::interval::{IntervalOptions, ScoreIntervals};
use crate::clv::value::{CustomerInputs, Scores, score};
use crate::clv::{ClvOptions, FitOptions, Fitted, GammaGamma, Margin, RepeatData, SpendData};
use crate::error::{Error, Result};
use crate::io::frame::nullable_f64;
use crate::transactions::summary::Summary;

/// Where expected spend per purchase comes from (`gamma-gamma` or `historic` in the
/// pipeline's TOML and on the command line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SpendSource {
    /// A Gamma-Gamma model fitted on the repeat customers (default).
    GammaGamma,
    /// Each customer's own mean repeat spend (0 for customers without repeats).
    Historic,
}

/// Where the margin comes from: a number (one rate for everyone), or `cost` (each
/// customer's own margin from the cost column), in the pipeline's TOML and on the
/// command line.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "MarginValue", into = "MarginValue")]
#[non_exhaustive]
pub enum MarginSource {
    /// One rate for everyone.
    Rate(f64),
    /// Per customer, gross profit / total spend from the cost column.
    Cost,
}

impl std::str::FromStr for SpendSource {
    type Err = Error;
    /// `gamma-gamma` or `historic`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] naming `clv.spend` for anything else.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "gamma-gamma" => Ok(SpendSource::GammaGamma),
            "historic" => Ok(SpendSource::Historic),
            _ => Err(Error::invalid(
                "clv.spend",
                format!("`{s}` is not gamma-gamma or historic"),
            )),
        }
    }
}

impl std::str::FromStr for MarginSource {
    type Err = Error;
    /// A number (`0.3` = 30%) or `cost`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] naming `clv.margin` for anything else.
    fn from_str(s: &str) -> Result<Self> {
        if s == "cost" {
            return Ok(MarginSource::Cost);
        }
        s.trim().parse().map(MarginSource::Rate).map_err(|_| {
            Error::invalid(
                "clv.margin",
                format!("`{s}` is neither a number nor `cost`"),
            )
        })
    }
}

/// How a margin is written in TOML and JSON: a number or the word `cost`.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum MarginValue {
    Rate(f64),
    Named(String),
}

impl TryFrom<MarginValue> for MarginSource {
    type Error = Error;
    fn try_from(v: MarginValue) -> Result<Self> {
        match v {
            MarginValue::Rate(r) => Ok(MarginSource::Rate(r)),
            MarginValue::Named(s) => s.parse(),
        }
    }
}

impl From<MarginSource> for MarginValue {
    fn from(m: MarginSource) -> Self {
        match m {
            MarginSource::Rate(r) => MarginValue::Rate(r),
            MarginSource::Cost => MarginValue::Named("cost".into()),
        }
    }
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
    /// Intervals from parameter uncertainty (`None`: point scores only). See
    /// [`crate::stages::interval`].
    pub interval: Option<IntervalOptions>,
    /// Covariates (`None`: the plain models). With covariates the purchase model (BG/NBD
    /// or Pareto/NBD) and Gamma-Gamma are fitted with them and every customer is scored
    /// at their own parameters; see [`crate::stages::covariates`].
    pub covariates: Option<CovariateSettings>,
}

impl Default for ClvSettings {
    /// BG/NBD with Gamma-Gamma spend, margin 1, 52 time units, no discounting, step 1,
    /// no intervals, no covariates.
    fn default() -> Self {
        ClvSettings {
            model: ModelKind::BgNbd,
            fit: FitOptions::default(),
            spend: SpendSource::GammaGamma,
            margin: MarginSource::Rate(1.0),
            horizon: 52.0,
            discount_rate: 0.0,
            step: 1.0,
            interval: None,
            covariates: None,
        }
    }
}

/// The per-customer CLV table and the models behind it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClvOutcome {
    /// `customer_id, frequency, recency, T, monetary_value, p_alive, expected_purchases,
    /// expected_spend, clv` (with [`ScoringPeriod::Fitted`] and a calibration end, the
    /// calibration-period inputs, and customers born in the holdout have null scores),
    /// and with [`ClvSettings::interval`] the bounds `p_alive_lo, p_alive_hi,
    /// expected_purchases_lo, expected_purchases_hi`, `expected_spend_lo,
    /// expected_spend_hi` (when spend comes from Gamma-Gamma) and `clv_lo, clv_hi`.
    pub frame: DataFrame,
    /// The purchase model.
    pub purchase: AnyFitted,
    /// The spend model, when used.
    pub spend: Option<FitOutcome>,
    /// Sum of CLV.
    pub customer_equity: f64,
    /// What the stage decided on its own, one sentence each: with
    /// [`SpendSource::GammaGamma`], that Gamma-Gamma could not give expected spend (why,
    /// in the error's words) and historic spend was used instead (`spend` is then `None`).
    pub notes: Vec<String>,
    /// With [`ClvSettings::interval`]: customer equity's interval, the population's
    /// expected purchases' and each parameter's.
    pub intervals: Option<ClvIntervals>,
    /// With [`ClvSettings::covariates`]: the purchase model and Gamma-Gamma fitted with
    /// them (coefficients, standard errors, likelihood-ratio tests). `purchase` and
    /// `spend` are then the same models fitted on the same customers without covariates
    /// (what the checks and `models.json` show); the scores use the fits with covariates.
    pub covariates: Option<ClvCovariates>,
}

impl ClvOutcome {
    /// The JSON object `patronage clv --json` prints: `purchase` and `spend` (each in
    /// the shape of `patronage fit --json`; `spend` null when historic spend was used),
    /// `customer_equity`, `customers_scored` (customers with a CLV), the settings the
    /// scores rest on (`horizon, discount_rate, step, margin, scoring`), `notes` (what
    /// the stage decided on its own, e.g. the Gamma-Gamma fallback), `intervals`
    /// ([`ClvIntervals::to_json`]; null without [`ClvSettings::interval`]) and
    /// `covariates` ([`ClvCovariates::to_json`]; null without
    /// [`ClvSettings::covariates`]).
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::prelude::*;
    /// use patronage::stages::clv::{clv_table, ClvSettings, ScoringPeriod};
    /// let s = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?
    ///     .summary(&SummaryOptions::weekly())?;
    /// let settings = ClvSettings::default();
    /// let out = clv_table(&s, &settings)?;
    /// let json = out.to_json(&settings, ScoringPeriod::Full);
    /// assert_eq!(json["purchase"]["model"], "bg-nbd");
    /// assert_eq!(json["scoring"], "full");
    /// assert_eq!(json["notes"].as_array().unwrap().len(), out.notes.len());
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn to_json(&self, settings: &ClvSettings, period: ScoringPeriod) -> serde_json::Value {
        let purchase = FitOutcome {
            model: self.purchase.clone(),
            excluded: None,
            holdout: None,
            histogram: None,
            tracking: None,
        };
        let scored = self
            .frame
            .column("clv")
            .map(|c| c.len() - c.null_count())
            .unwrap_or(0);
        serde_json::json!({
            "purchase": purchase.to_json(),
            "spend": self.spend.as_ref().map(FitOutcome::to_json),
            "customer_equity": self.customer_equity,
            "customers_scored": scored,
            "horizon": settings.horizon,
            "discount_rate": settings.discount_rate,
            "step": settings.step,
            "margin": settings.margin,
            "scoring": period.name(),
            "notes": self.notes,
            "intervals": self.intervals.as_ref().map(ClvIntervals::to_json),
            "covariates": self.covariates.as_ref().map(ClvCovariates::to_json),
        })
    }
}

/// Fits the purchase model (and Gamma-Gamma) on a summary's full observation period and
/// scores every customer ([`ScoringPeriod::Full`], the default everywhere; with
/// [`clv_table_on`] and [`ScoringPeriod::Fitted`] on the calibration period instead).
///
/// When [`SpendSource::GammaGamma`] is asked for but Gamma-Gamma cannot give expected
/// spend (the fit fails, as on data whose likelihood has no interior optimum, or q <= 1
/// leaves the mean spend undefined), the customers are scored on their historic mean
/// repeat spend instead, `spend` is `None` and [`ClvOutcome::notes`] says why: every
/// caller (the pipeline, `patronage clv`, `target`, `segment`) gets the same result.
///
/// # Errors
///
/// [`Error::InvalidOption`] for a non-purchase model, `MarginSource::Cost` without a
/// cost column, or bad interval options (`clv.interval`, `clv.draws`; checked before any
/// fit), or intervals asked for with covariates (option `clv.interval`);
/// [`Error::CovariatesUnsupported`] for covariates with a model other than BG/NBD and
/// Pareto/NBD; as [`crate::stages::covariates::CovariateTable::design`] with covariates
/// (a scored customer missing from the table: [`Error::MissingCovariate`], naming the
/// column and the customer); the purchase model's fit errors ([`Error::NotConverged`]); bad customer rows
/// ([`Error::BadRow`]); with intervals, [`Error::Model`] when the fit has no covariance
/// to draw from or a Gamma-Gamma draw has no finite mean spend (see
/// [`crate::clv::interval::score_intervals`]).
///
/// # Example
///
/// ```
/// use patronage::prelude::*;
/// use patronage::stages::clv::{clv_table, ClvSettings};
/// let s = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?
///     .summary(&SummaryOptions::weekly())?;
/// // Gamma-Gamma has no interior optimum on this small sample: the stage scores each
/// // customer's own mean spend instead, and says so.
/// let out = clv_table(&s, &ClvSettings::default())?;
/// assert!(out.spend.is_none() && out.customer_equity > 0.0);
/// assert_eq!(out.notes.len(), 1);
/// println!("customer equity {:.0}", out.customer_equity);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn clv_table(summary: &Summary, settings: &ClvSettings) -> Result<ClvOutcome> {
    clv_table_on(summary, settings, ScoringPeriod::default())
}

/// Which columns of a summary [`clv_table_on`] fits and scores on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScoringPeriod {
    /// The calibration columns when the summary has a calibration end, else the full
    /// period: scores that a holdout can check (what the target stage ranks on, so its
    /// holdout gain and lift are honest).
    Fitted,
    /// Always the full observation period (`frequency, recency, T, monetary_value`):
    /// scores for acting on today, using every purchase. The default everywhere: the
    /// pipeline (`clv.scoring`), [`clv_table`] and `patronage clv` (`--scoring`).
    #[default]
    Full,
}

impl ScoringPeriod {
    /// The setting's spelling in TOML and on the command line (`full`, `fitted`).
    ///
    /// # Example
    /// ```
    /// use patronage::stages::clv::ScoringPeriod;
    /// assert_eq!(ScoringPeriod::default().name(), "full");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            ScoringPeriod::Fitted => "fitted",
            ScoringPeriod::Full => "full",
        }
    }
}

impl std::str::FromStr for ScoringPeriod {
    type Err = Error;

    /// Parses `full` or `fitted`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] with option `clv.scoring` for any other text.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "full" => Ok(ScoringPeriod::Full),
            "fitted" => Ok(ScoringPeriod::Fitted),
            other => Err(Error::invalid(
                "clv.scoring",
                format!("`{other}` is not a scoring period: use full or fitted"),
            )),
        }
    }
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
/// use patronage::stages::clv::{clv_table_on, ClvSettings, ScoringPeriod};
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
    scored(summary, settings, period, None)
}

/// Models fitted earlier (by `patronage fit --save-model`, or [`AnyFitted::from_json`]
/// on a file written by [`AnyFitted::to_json`]) to score a summary with, instead of
/// refitting: this month's customers on the models of the last fit.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FittedModels {
    /// A purchase model (BG/NBD, MBG/NBD or Pareto/NBD).
    pub purchase: AnyFitted,
    /// A Gamma-Gamma model for expected spend; `None`: [`ClvSettings::spend`] decides
    /// (fit Gamma-Gamma on this summary, or historic spend).
    pub spend: Option<Fitted<GammaGamma>>,
}

impl FittedModels {
    /// Pairs a purchase model with an optional spend model.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] with option `clv.model` when `purchase` does not predict
    /// purchases (BG/BB, Gamma-Gamma).
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::clv::BgNbd;
    /// use patronage::stages::clv::FittedModels;
    /// use patronage::stages::fit::AnyFitted;
    /// let m = AnyFitted::BgNbd(BgNbd::from_params(&[0.243, 4.414, 0.793, 2.426])?);
    /// assert!(FittedModels::new(m, None).is_ok());
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn new(purchase: AnyFitted, spend: Option<Fitted<GammaGamma>>) -> Result<Self> {
        if purchase.purchase_model().is_none() {
            return Err(Error::invalid(
                "clv.model",
                format!(
                    "the model given to score with is {}, which does not predict purchases; give a bg-nbd, mbg-nbd or pareto-nbd model",
                    purchase.name()
                ),
            ));
        }
        Ok(FittedModels { purchase, spend })
    }
}

/// [`clv_table_on`] with models fitted earlier: nothing is fitted except Gamma-Gamma when
/// `models.spend` is `None` and [`ClvSettings::spend`] asks for it; `settings.model` and
/// `settings.fit` are not used for the purchase model. [`ClvOutcome::purchase`] (and
/// `spend`) are the given models.
///
/// # Errors
///
/// As [`clv_table_on`], except fitting errors of the given models; a spend model with
/// q <= 1 (no finite mean spend) falls back to historic spend with a note, as a fit would;
/// [`Error::InvalidOption`] (option `clv.covariates`) with [`ClvSettings::covariates`]
/// (models fitted earlier carry no covariates).
///
/// # Example
///
/// ```
/// use patronage::prelude::*;
/// use patronage::stages::clv::{clv_table, clv_table_with, ClvSettings, FittedModels, ScoringPeriod};
/// let s = Transactions::scan_whitespace("datasets/cdnow/CDNOW_master.txt", true, TransactionSchema::default())?
///     .summary(&SummaryOptions::weekly())?;
/// let settings = ClvSettings::default();
/// let fitted = clv_table(&s, &settings)?;
/// let spend = match &fitted.spend.as_ref().unwrap().model {
///     patronage::stages::fit::AnyFitted::GammaGamma(gg) => Some(gg.clone()),
///     _ => None,
/// };
/// let models = FittedModels::new(fitted.purchase.clone(), spend)?;
/// // Scoring on the models already fitted gives the same table, without refitting.
/// let again = clv_table_with(&s, &settings, ScoringPeriod::Full, &models)?;
/// assert!(again.frame.equals_missing(&fitted.frame));
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn clv_table_with(
    summary: &Summary,
    settings: &ClvSettings,
    period: ScoringPeriod,
    models: &FittedModels,
) -> Result<ClvOutcome> {
    scored(summary, settings, period, Some(models))
}

/// The CLV stage: fits what `models` does not give, scores, and builds the table.
fn scored(
    summary: &Summary,
    settings: &ClvSettings,
    period: ScoringPeriod,
    models: Option<&FittedModels>,
) -> Result<ClvOutcome> {
    if models.is_none() {
        check_purchase_model(settings)?;
    }
    if let Some(options) = &settings.interval {
        options.validate()?;
    }
    if settings.covariates.is_some() {
        check_covariates(settings, models.is_some())?;
    }
    let df = summary.frame();
    let cal = summary.calibration_end().is_some() && period == ScoringPeriod::Fitted;
    let scoring = ScoringRows::of(df, cal)?;
    let rows = &scoring.rows;
    // The margins first: a missing cost column is named before any bad value.
    let opts = clv_options(settings, df, rows)?;
    let take = |k: usize| scoring.take(k);
    let (x, t_x, t, m) = (take(0), take(1), take(2), take(3));
    let data = RepeatData::new(&x, &t_x, &t)?;
    let inputs = CustomerInputs {
        x: &x,
        t_x: &t_x,
        t: &t,
        monetary: &m,
    };
    let mut notes = Vec::new();
    let mut covariate_intervals = None;
    let (purchase, scores, spend, covariates) = match &settings.covariates {
        Some(cov) => {
            let all_ids = summary.customer_ids()?;
            let ids: Vec<String> = rows.iter().map(|&i| all_ids[i].clone()).collect();
            let table = cov.resolve(summary)?;
            let gamma_gamma = settings.spend == SpendSource::GammaGamma;
            let done = clv_scores(
                settings.model,
                &table,
                &ids,
                inputs,
                &settings.fit,
                gamma_gamma,
                &opts,
                settings.interval.as_ref(),
            )?;
            notes.extend(done.notes);
            covariate_intervals = done.intervals;
            (done.plain, done.scores, done.spend, Some(done.covariates))
        }
        None => {
            let purchase = match models {
                Some(m) => m.purchase.clone(),
                None => fit_repeat(settings.model, &data, &settings.fit)?,
            };
            let given = models.and_then(|m| m.spend.clone());
            let (scores, spend) =
                plain_scores(&purchase, given, settings, inputs, &opts, &mut notes)?;
            (purchase, scores, spend, None)
        }
    };
    let customer_equity = scores.customer_equity();
    let estimates = (customer_equity, scores.expected_purchases.iter().sum());
    let intervals = match &settings.interval {
        // With covariates, drawn and scored at each customer's own parameters above.
        Some(options) if covariates.is_some() => {
            covariate_intervals.map(|(bounds, parameters, failed)| {
                let summary = summarise(&bounds, parameters, failed, estimates, options);
                (bounds, summary)
            })
        }
        Some(options) => {
            let inputs = IntervalInputs {
                purchase: &purchase,
                data: &data,
                spend: spend.as_ref().map(|(gg, data)| (gg, data)),
                fit: &settings.fit,
                customers: inputs,
                clv: &opts,
                estimates,
            };
            Some(clv_intervals(&inputs, options)?)
        }
        None => None,
    };
    if let Some((_, summary)) = &intervals {
        for (model, n) in &summary.failed_refits {
            if *n > 0 {
                notes.push(failed_refits_note(model, *n, summary.options.draws));
            }
        }
    }
    let frame = clv_frame(df, &scoring, &scores, intervals.as_ref().map(|(b, _)| b))?;
    Ok(ClvOutcome {
        frame,
        purchase,
        spend: spend.map(|(gg, data)| spend_outcome(gg, &data)),
        customer_equity,
        notes,
        intervals: intervals.map(|(_, summary)| summary),
        covariates,
    })
}

/// Refuses a `clv.model` that does not predict purchases (BG/BB, Gamma-Gamma).
///
/// # Errors
/// [`Error::InvalidOption`] naming `clv.model`.
pub(crate) fn check_purchase_model(settings: &ClvSettings) -> Result<()> {
    if settings.model.predicts_purchases() {
        return Ok(());
    }
    Err(Error::invalid(
        "clv.model",
        format!(
            "{} does not predict purchases; use bg-nbd, mbg-nbd or pareto-nbd",
            settings.model.name()
        ),
    ))
}

/// The scoring period's `frequency, recency, T, monetary_value` of every customer of a
/// summary frame, and the customers with data in it (the rows scored).
pub(crate) struct ScoringRows {
    pub(crate) cols: Vec<Vec<Option<f64>>>,
    pub(crate) rows: Vec<usize>,
}

impl ScoringRows {
    /// The calibration columns with `calibration`, else the full period's.
    ///
    /// # Errors
    /// A missing or non-numeric column.
    pub(crate) fn of(df: &DataFrame, calibration: bool) -> Result<Self> {
        let names: [&str; 4] = if calibration {
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
        // Customers with data in the scoring period.
        let rows: Vec<usize> = (0..df.height())
            .filter(|&i| cols[0][i].is_some() && cols[1][i].is_some() && cols[2][i].is_some())
            .collect();
        Ok(ScoringRows { cols, rows })
    }

    /// Column `k` (0 frequency, 1 recency, 2 T, 3 monetary value) of the scored rows,
    /// 0 where missing.
    pub(crate) fn take(&self, k: usize) -> Vec<f64> {
        self.rows
            .iter()
            .map(|&i| self.cols[k][i].unwrap_or(0.0))
            .collect()
    }
}

/// The valuation options of `settings` for the scored `rows` of `df` (each one's margin
/// from the cost column with [`MarginSource::Cost`]).
///
/// # Errors
/// As [`cost_margins`].
pub(crate) fn clv_options(
    settings: &ClvSettings,
    df: &DataFrame,
    rows: &[usize],
) -> Result<ClvOptions> {
    let margin = match settings.margin {
        MarginSource::Rate(r) => Margin::Rate(r),
        MarginSource::Cost => {
            let all = cost_margins(df)?;
            Margin::PerCustomer(rows.iter().map(|&i| all[i]).collect())
        }
    };
    Ok(ClvOptions {
        horizon: settings.horizon,
        discount_rate: settings.discount_rate,
        step: settings.step,
        margin,
    })
}

/// The CLV table of a summary frame's customers: the scoring period's inputs, then the
/// scores of the scored rows (null for the others) and, when given, their bounds.
///
/// # Errors
/// A polars error building the columns.
pub(crate) fn clv_frame(
    df: &DataFrame,
    scoring: &ScoringRows,
    scores: &Scores,
    bounds: Option<&ScoreIntervals>,
) -> Result<DataFrame> {
    let rows = &scoring.rows;
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
        let column = Column::new((*out_name).into(), scoring.cols[k].clone());
        // Repeat purchases are a count: the same integer type as the summary's
        // `frequency`, so `patronage clv` prints `39` where `patronage summary` does.
        columns.push(if k == 0 {
            column.cast(&DataType::UInt32)?
        } else {
            column
        });
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
    if let Some(bounds) = bounds {
        columns.extend(bound_columns(bounds, scatter));
    }
    Ok(DataFrame::new_infer_height(columns)?)
}

/// The note of a bootstrap whose failed refits were replaced.
pub(crate) fn failed_refits_note(model: &str, failed: usize, draws: usize) -> String {
    format!(
        "{model}: {failed} of the {draws} bootstrap refits failed (no finite optimum on the resample) and were replaced by fresh resamples; the interval is conditioned on a successful refit, which can make it too short on the side those resamples went"
    )
}

/// Covariates with other settings: models fitted earlier take none, and
/// only BG/NBD and Pareto/NBD take them (checked before anything is fitted).
pub(crate) fn check_covariates(settings: &ClvSettings, given_models: bool) -> Result<()> {
    if given_models {
        return Err(Error::invalid(
            "clv.covariates",
            "models fitted earlier carry no covariates: fit with covariates instead of scoring with saved models",
        ));
    }
    if !matches!(settings.model, ModelKind::BgNbd | ModelKind::ParetoNbd) {
        return Err(Error::CovariatesUnsupported {
            model: settings.model.name().into(),
        });
    }
    Ok(())
}

/// Gamma-Gamma fitted (or given) with the data it was fitted on.
type SpendFit = (Fitted<GammaGamma>, SpendData);

/// Scores with the plain purchase model and, per the settings, Gamma-Gamma (given, or
/// fitted here) or historic spend; Gamma-Gamma failing falls back to historic spend with
/// a note.
fn plain_scores(
    purchase: &AnyFitted,
    given: Option<Fitted<GammaGamma>>,
    settings: &ClvSettings,
    inputs: CustomerInputs<'_>,
    opts: &ClvOptions,
    notes: &mut Vec<String>,
) -> Result<(Scores, Option<SpendFit>)> {
    let pm = purchase
        .purchase_model()
        .ok_or_else(|| Error::invalid("clv.model", "not a purchase model"))?;
    let (x, m) = (inputs.x, inputs.monetary);
    // A spend model given to score with is used whatever `settings.spend` says.
    let spend_source = match given {
        Some(_) => SpendSource::GammaGamma,
        None => settings.spend,
    };
    Ok(match spend_source {
        SpendSource::GammaGamma => {
            let spend_model = match given {
                Some(gg) => SpendData::new(x, m).and_then(|data| {
                    gg.mean_spend()?;
                    Ok((gg, data))
                }),
                None => gamma_gamma(x, m, &settings.fit),
            };
            let with_gg = spend_model.and_then(|(gg, data)| {
                let scores = score(pm, Some(&gg), inputs, opts)?;
                Ok((scores, Some((gg, data))))
            });
            match with_gg {
                Ok(done) => done,
                // The purchase fit above succeeded, so what failed is the spend model
                // (no finite mean spend, no interior optimum, no repeat customers): score
                // on historic spend instead of failing the whole stage. If that fails
                // too, the error is not Gamma-Gamma's and is returned.
                Err(gg_error) => {
                    let scores = score(pm, None, inputs, opts)?;
                    notes.push(historic_spend_note(&gg_error));
                    (scores, None)
                }
            }
        }
        SpendSource::Historic => (score(pm, None, inputs, opts)?, None),
    })
}

/// Each customer's margin from the cost column, `gross_profit / total_spend` (0 without
/// spend): what [`MarginSource::Cost`] applies.
///
/// # Errors
///
/// [`Error::InvalidOption`] (`clv.margin`) when the summary has no cost column.
pub(crate) fn cost_margins(df: &DataFrame) -> Result<Vec<f64>> {
    let gp = nullable_f64(df, "gross_profit").map_err(|_| {
        Error::invalid(
            "clv.margin",
            "`cost` needs a cost column in the transactions (--cost-col or --unit-cost-col)",
        )
    })?;
    let spend = nullable_f64(df, "total_spend")?;
    Ok(gp
        .iter()
        .zip(&spend)
        .map(|(g, s)| match (g, s) {
            (Some(g), Some(s)) if *s > 0.0 => g / s,
            _ => 0.0,
        })
        .collect())
}

/// Fits Gamma-Gamma on the repeat customers' spend and checks that it has a finite mean
/// spend (q > 1); with the data it was fitted on (the customers it left out, and the
/// rows a bootstrap resamples).
fn gamma_gamma(x: &[f64], m: &[f64], fit: &FitOptions) -> Result<(Fitted<GammaGamma>, SpendData)> {
    gamma_gamma_on(SpendData::new(x, m)?, fit)
}

/// [`gamma_gamma`] on spend data already built.
pub(crate) fn gamma_gamma_on(
    data: SpendData,
    fit: &FitOptions,
) -> Result<(Fitted<GammaGamma>, SpendData)> {
    let gg: Fitted<GammaGamma> = fit_with(fit, &data)?;
    gg.mean_spend()?;
    Ok((gg, data))
}

/// The note when Gamma-Gamma could not give expected spend (`e` says why) and each
/// customer's historic spend is used instead.
pub(crate) fn historic_spend_note(e: &Error) -> String {
    format!(
        "Gamma-Gamma could not give expected spend ({e}); CLV uses each customer's historic mean repeat spend instead"
    )
}

/// The Gamma-Gamma outcome of a stage that used `gg` fitted on `data`.
pub(crate) fn spend_outcome(gg: Fitted<GammaGamma>, data: &SpendData) -> FitOutcome {
    FitOutcome {
        model: AnyFitted::GammaGamma(gg),
        excluded: Some(data.excluded()),
        holdout: None,
        histogram: None,
        tracking: None,
    }
}
