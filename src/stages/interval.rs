//! The CLV stage's intervals (issue #17, "know how sure"): with
//! [`ClvSettings::interval`](super::clv::ClvSettings::interval) set, the stage draws the
//! purchase model's (and Gamma-Gamma's) parameters ([`crate::clv::interval`]), re-scores
//! every customer under each draw and adds the bounds to its table (`p_alive_lo`,
//! `p_alive_hi`, `expected_purchases_lo`, `expected_purchases_hi`, `expected_spend_lo`,
//! `expected_spend_hi` when spend comes from Gamma-Gamma, `clv_lo`, `clv_hi`); customer
//! equity's interval, the population's expected purchases' and each parameter's are in
//! [`ClvIntervals`]. BG/BB, scored over discrete opportunities and without a spend model,
//! has its own entry: [`bgbb_interval_table`] (what `patronage fit bg-bb --interval` runs).

use polars::prelude::*;
use serde::Serialize;
use serde_json::{Value, json};

use super::fit::AnyFitted;
use crate::clv::covariates::{CovariateFit, CovariateModel};
use crate::clv::fit::Model;
use crate::clv::interval::{
    IntervalMethod, IntervalOptions, Range, ScoreIntervals, bgbb_intervals, parameter_draws,
    score_intervals,
};
use crate::clv::value::CustomerInputs;
use crate::clv::{
    BgBb, ClvOptions, FitOptions, Fitted, Fitter, GammaGamma, PurchaseModel, RepeatData, SpendData,
};
use crate::error::{Error, Result};
use crate::transactions::summary::Summary;

/// The bound columns the CLV table can have, in their order (`expected_spend_lo/hi` only
/// when spend comes from Gamma-Gamma).
pub const BOUND_COLUMNS: [&str; 8] = [
    "p_alive_lo",
    "p_alive_hi",
    "expected_purchases_lo",
    "expected_purchases_hi",
    "expected_spend_lo",
    "expected_spend_hi",
    "clv_lo",
    "clv_hi",
];

/// Customer equity with its interval: what `report.json` holds as
/// `clv.customer_equity_interval`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[non_exhaustive]
pub struct EquityInterval {
    /// The sum of CLV at the estimates.
    pub estimate: f64,
    /// Lower bound (the `(1 - level) / 2` quantile of the per-draw sums).
    pub lo: f64,
    /// Upper bound.
    pub hi: f64,
    /// Nominal coverage.
    pub level: f64,
    /// Parameter draws.
    pub draws: usize,
    /// How the parameters were drawn.
    pub method: IntervalMethod,
    /// Bootstrap refits that failed and were replaced by fresh resamples, over the
    /// purchase model and Gamma-Gamma (0 for asymptotic draws; see
    /// [`crate::clv::interval::bootstrap_draws`]).
    pub bootstrap_failed_refits: usize,
}

/// One parameter's interval (quantiles of its draws).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ParameterInterval {
    /// The model (`bg-nbd`, `gamma-gamma`, ...).
    pub model: &'static str,
    /// The parameter's name: the model's (`r`, `alpha`, ...), or with covariates a
    /// coefficient's `<process>.<covariate>` (`purchase.web`).
    pub parameter: String,
    /// The estimate.
    pub estimate: f64,
    /// Lower bound.
    pub lo: f64,
    /// Upper bound.
    pub hi: f64,
}

/// The intervals of a CLV run beyond the per-customer columns.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ClvIntervals {
    /// Level, draws, seed and method used.
    pub options: IntervalOptions,
    /// Customer equity with its interval.
    pub customer_equity: EquityInterval,
    /// The population's expected purchases over the horizon: the sum at the estimates
    /// and the interval of the per-draw sums.
    pub total_expected_purchases: (f64, Range),
    /// Every parameter of the purchase model, then of Gamma-Gamma when it gave spend.
    pub parameters: Vec<ParameterInterval>,
    /// Bootstrap refits that failed and were replaced, per model drawn (purchase model
    /// first); 0 each for asymptotic draws.
    pub failed_refits: Vec<(&'static str, usize)>,
}

impl ClvIntervals {
    /// As JSON: `{level, draws, seed, method, bootstrap_failed_refits, customer_equity:
    /// {estimate, lo, hi, level, draws, method, bootstrap_failed_refits},
    /// total_expected_purchases: {estimate, lo, hi}, parameters: [{model, parameter,
    /// estimate, lo, hi}], failed_refits: {model: count}}`: `bootstrap_failed_refits` is
    /// the sum over the models of the refits replaced.
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::prelude::*;
    /// use patronage::clv::interval::IntervalOptions;
    /// use patronage::stages::clv::{clv_table, ClvSettings, SpendSource};
    /// let s = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?
    ///     .summary(&SummaryOptions::weekly())?;
    /// let settings = ClvSettings {
    ///     spend: SpendSource::Historic,
    ///     interval: Some(IntervalOptions::new(0.9).draws(50)),
    ///     ..ClvSettings::default()
    /// };
    /// let out = clv_table(&s, &settings)?;
    /// let json = out.intervals.unwrap().to_json();
    /// assert_eq!(json["customer_equity"]["method"], "asymptotic");
    /// assert!(json["customer_equity"]["lo"].as_f64() <= json["customer_equity"]["hi"].as_f64());
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn to_json(&self) -> Value {
        let (estimate, r) = self.total_expected_purchases;
        json!({
            "level": self.options.level,
            "draws": self.options.draws,
            "seed": self.options.seed,
            "method": self.options.method,
            "bootstrap_failed_refits": self.customer_equity.bootstrap_failed_refits,
            "failed_refits": self.failed_refits.iter().map(|(m, n)| (m.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
            "customer_equity": self.customer_equity,
            "total_expected_purchases": { "estimate": estimate, "lo": r.lo, "hi": r.hi },
            "parameters": self.parameters,
        })
    }
}

/// What the CLV stage hands over to compute intervals.
pub(crate) struct IntervalInputs<'a> {
    pub(crate) purchase: &'a AnyFitted,
    pub(crate) data: &'a RepeatData,
    /// Gamma-Gamma and the data it was fitted on, when it gave the spend.
    pub(crate) spend: Option<(&'a Fitted<GammaGamma>, &'a SpendData)>,
    pub(crate) fit: &'a FitOptions,
    pub(crate) customers: CustomerInputs<'a>,
    pub(crate) clv: &'a ClvOptions,
    /// Customer equity and the population's expected purchases at the estimates.
    pub(crate) estimates: (f64, f64),
}

fn parameter_rows<M: Model>(fit: &Fitted<M>, ranges: &[Range]) -> Vec<ParameterInterval> {
    M::PARAM_NAMES
        .iter()
        .zip(fit.params())
        .zip(ranges)
        .map(|((name, estimate), r)| ParameterInterval {
            model: M::NAME,
            parameter: name.to_string(),
            estimate: *estimate,
            lo: r.lo,
            hi: r.hi,
        })
        .collect()
}

fn draw_and_score<M: Model<Data = RepeatData>>(
    fit: &Fitted<M>,
    inputs: &IntervalInputs<'_>,
    options: &IntervalOptions,
) -> Result<(ScoreIntervals, Vec<ParameterInterval>, FailedRefits)>
where
    Fitted<M>: PurchaseModel,
{
    let purchase = parameter_draws(fit, inputs.data, inputs.fit, options)?;
    let mut parameters = parameter_rows(fit, &purchase.intervals(options.level)?);
    let mut failed = vec![(M::NAME, purchase.failed_refits)];
    let spend = match inputs.spend {
        Some((gg, data)) => {
            let draws = parameter_draws(gg, data, inputs.fit, options)?;
            parameters.extend(parameter_rows(gg, &draws.intervals(options.level)?));
            failed.push((GammaGamma::NAME, draws.failed_refits));
            Some(draws.models()?)
        }
        None => None,
    };
    let scores = score_intervals(
        &purchase.models()?,
        spend.as_deref(),
        inputs.customers,
        inputs.clv,
        options.level,
    )?;
    Ok((scores, parameters, failed))
}

/// Failed refits replaced, per model drawn.
pub(crate) type FailedRefits = Vec<(&'static str, usize)>;

/// Draws, scores and summarises: the per-customer bounds (in the scored customers'
/// order) and the [`ClvIntervals`].
pub(crate) fn clv_intervals(
    inputs: &IntervalInputs<'_>,
    options: &IntervalOptions,
) -> Result<(ScoreIntervals, ClvIntervals)> {
    let (scores, parameters, failed_refits) = match inputs.purchase {
        AnyFitted::BgNbd(m) => draw_and_score(m, inputs, options)?,
        AnyFitted::MbgNbd(m) => draw_and_score(m, inputs, options)?,
        AnyFitted::ParetoNbd(m) => draw_and_score(m, inputs, options)?,
        other => {
            return Err(Error::invalid(
                "clv.model",
                format!("{} does not predict purchases", other.name()),
            ));
        }
    };
    let summary = summarise(
        &scores,
        parameters,
        failed_refits,
        inputs.estimates,
        options,
    );
    Ok((scores, summary))
}

/// The [`ClvIntervals`] of scored draws: `estimates` are customer equity and the
/// population's expected purchases at the estimates.
pub(crate) fn summarise(
    scores: &ScoreIntervals,
    parameters: Vec<ParameterInterval>,
    failed_refits: FailedRefits,
    estimates: (f64, f64),
    options: &IntervalOptions,
) -> ClvIntervals {
    let (equity, purchases) = estimates;
    ClvIntervals {
        options: *options,
        customer_equity: EquityInterval {
            estimate: equity,
            lo: scores.customer_equity.lo,
            hi: scores.customer_equity.hi,
            level: options.level,
            draws: options.draws,
            method: options.method,
            bootstrap_failed_refits: failed_refits.iter().map(|(_, n)| n).sum(),
        },
        total_expected_purchases: (purchases, scores.total_expected_purchases),
        parameters,
        failed_refits,
    }
}

/// Each parameter of a fit with covariates (base parameters, then coefficients) with
/// its interval.
pub(crate) fn covariate_parameter_rows<M: CovariateModel>(
    fit: &CovariateFit<M>,
    ranges: &[Range],
) -> Vec<ParameterInterval> {
    fit.params()
        .into_iter()
        .zip(ranges)
        .map(|((parameter, estimate), r)| ParameterInterval {
            model: M::NAME,
            parameter,
            estimate,
            lo: r.lo,
            hi: r.hi,
        })
        .collect()
}

/// The bound columns of the CLV table, each scattered to all customers by `scatter`
/// (null where there was nothing to score).
pub(crate) fn bound_columns(
    scores: &ScoreIntervals,
    scatter: impl Fn(&[f64]) -> Vec<Option<f64>>,
) -> Vec<Column> {
    let mut named = vec![
        ("p_alive", &scores.p_alive),
        ("expected_purchases", &scores.expected_purchases),
    ];
    if let Some(spend) = &scores.expected_spend {
        named.push(("expected_spend", spend));
    }
    named.push(("clv", &scores.clv));
    named
        .into_iter()
        .flat_map(|(name, b)| {
            [
                Column::new(format!("{name}_lo").into(), scatter(&b.lo)),
                Column::new(format!("{name}_hi").into(), scatter(&b.hi)),
            ]
        })
        .collect()
}

/// BG/BB's per-customer scores with their intervals (issue #17): what `patronage fit
/// bg-bb --interval LEVEL` writes and prints.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BgBbIntervals {
    /// One row per customer of the fitted period: `customer_id, frequency, recency,
    /// periods, p_alive, p_alive_lo, p_alive_hi, expected_purchases,
    /// expected_purchases_lo, expected_purchases_hi` (P(alive) at the next opportunity,
    /// expected transactions in the next `horizon` opportunities).
    pub frame: DataFrame,
    /// The BG/BB fit the scores come from.
    pub model: Fitted<BgBb>,
    /// Level, draws, seed and method used.
    pub options: IntervalOptions,
    /// Horizon in opportunities.
    pub horizon: f64,
    /// The population's expected transactions over the horizon: the sum at the
    /// estimates and the interval of the per-draw sums.
    pub total_expected_purchases: (f64, Range),
    /// Each parameter's interval.
    pub parameters: Vec<ParameterInterval>,
    /// Bootstrap refits that failed and were replaced (0 for asymptotic draws).
    pub bootstrap_failed_refits: usize,
}

impl BgBbIntervals {
    /// As JSON: `{model, params, horizon, intervals: {level, draws, seed, method,
    /// bootstrap_failed_refits, total_expected_purchases: {estimate, lo, hi},
    /// parameters: [{model, parameter, estimate, lo, hi}]}}`.
    pub fn to_json(&self) -> Value {
        let (estimate, r) = self.total_expected_purchases;
        let params: serde_json::Map<String, Value> = BgBb::PARAM_NAMES
            .iter()
            .zip(self.model.params())
            .map(|(n, v)| (n.to_string(), json!(v)))
            .collect();
        json!({
            "model": BgBb::NAME,
            "params": params,
            "horizon": self.horizon,
            "intervals": {
                "level": self.options.level,
                "draws": self.options.draws,
                "seed": self.options.seed,
                "method": self.options.method,
                "bootstrap_failed_refits": self.bootstrap_failed_refits,
                "total_expected_purchases": { "estimate": estimate, "lo": r.lo, "hi": r.hi },
                "parameters": self.parameters,
            },
        })
    }
}

/// Fits BG/BB on `summary`'s fitted period (as [`super::fit::fit_summary`]), draws its
/// parameters (`options.method`) and scores every customer under each draw
/// ([`crate::clv::interval::bgbb_intervals`]): P(alive) at the next opportunity and the
/// expected transactions in the next `horizon` opportunities, with their bounds, and the
/// population total's interval.
///
/// # Errors
///
/// [`Error::InvalidOption`] for bad interval options (`clv.interval`, `clv.draws`) or a
/// horizon that is not positive and finite (`clv.horizon`), checked before fitting; as
/// [`Summary::discrete_data`], the fit, and the draws
/// ([`crate::clv::interval::parameter_draws`]).
///
/// # Example
///
/// ```
/// use patronage::prelude::*;
/// use patronage::clv::interval::IntervalOptions;
/// use patronage::clv::FitOptions;
/// use patronage::stages::interval::bgbb_interval_table;
/// let weeks = SummaryOptions::weekly().purchase_unit(PurchaseUnit::Week);
/// let s = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?
///     .summary(&weeks)?;
/// // The sample's BG/BB likelihood needs a small penalty to have a finite maximum.
/// let fit = FitOptions { penalizer: 0.001, ..FitOptions::default() };
/// let out = bgbb_interval_table(&s, &fit, 10.0, &IntervalOptions::new(0.9).draws(50))?;
/// let (estimate, r) = out.total_expected_purchases;
/// assert!(r.lo <= estimate && estimate <= r.hi);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn bgbb_interval_table(
    summary: &Summary,
    fit: &FitOptions,
    horizon: f64,
    options: &IntervalOptions,
) -> Result<BgBbIntervals> {
    options.validate()?;
    if !(horizon > 0.0 && horizon.is_finite()) {
        return Err(Error::invalid(
            "clv.horizon",
            format!("the horizon must be a positive number of opportunities, got {horizon}"),
        ));
    }
    let data = summary.discrete_data()?;
    let model = Fitter::<BgBb>::with_options(fit.clone()).fit(&data)?;
    let draws = parameter_draws(&model, &data, fit, options)?;
    let parameters = parameter_rows(&model, &draws.intervals(options.level)?);
    let (rows, [x, t_x, n]) = summary.repeat_rows()?;
    let iv = bgbb_intervals(&draws.models()?, &x, &t_x, &n, horizon, options.level)?;
    let p_alive: Vec<f64> = (0..x.len())
        .map(|i| model.p_alive(1.0, x[i], t_x[i], n[i]))
        .collect();
    let expected: Vec<f64> = (0..x.len())
        .map(|i| model.conditional_expected_purchases(horizon, x[i], t_x[i], n[i]))
        .collect();
    let index: IdxCa = rows.iter().map(|&i| Some(i as IdxSize)).collect();
    let ids = summary.frame().column("customer_id")?.take(&index)?;
    let frame = DataFrame::new_infer_height(vec![
        ids,
        Column::new("frequency".into(), &x).cast(&DataType::UInt32)?,
        Column::new("recency".into(), &t_x),
        Column::new("periods".into(), &n),
        Column::new("p_alive".into(), &p_alive),
        Column::new("p_alive_lo".into(), &iv.p_alive.lo),
        Column::new("p_alive_hi".into(), &iv.p_alive.hi),
        Column::new("expected_purchases".into(), &expected),
        Column::new("expected_purchases_lo".into(), &iv.expected_transactions.lo),
        Column::new("expected_purchases_hi".into(), &iv.expected_transactions.hi),
    ])?;
    Ok(BgBbIntervals {
        frame,
        options: *options,
        horizon,
        total_expected_purchases: (expected.iter().sum(), iv.total_expected_transactions),
        parameters,
        bootstrap_failed_refits: draws.failed_refits,
        model,
    })
}
