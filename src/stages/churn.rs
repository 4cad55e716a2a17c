//! The contractual-churn stage (what `patronage fit sbg` runs): read a cohort's survival
//! table, or derive the acquisition cohorts' survival from a subscription log's summary,
//! fit the shifted-beta-geometric model ([`crate::clv::sbg`]) and report the fit with
//! the retention and survival curves it implies next to the observed ones.

use std::path::Path;

use serde_json::{Value, json};

use crate::clv::FitOptions;
use crate::clv::sbg::{CUSTOMERS_COLUMN, FittedSbg, PERIOD_COLUMN, Sbg, SurvivalData};
use crate::error::{Error, Result};
use crate::io::frame::nullable_f64;
use crate::transactions::aggregate::CohortPeriod;
use crate::transactions::summary::Summary;
use crate::transactions::units::day_number;

/// Reads a survival table: a CSV (or Parquet, Arrow IPC) file with the columns
/// `period, customers`, the customers still active at the start of each period, period
/// 0 (the cohort at acquisition) first.
///
/// # Errors
///
/// The reader's errors ([`crate::io::read_table`]); [`crate::Error::MissingColumn`]
/// without a `period` or `customers` column; [`crate::Error::WrongType`] when one holds
/// text; otherwise as [`SurvivalData::from_rows`] (row-numbered [`crate::Error::BadRow`]s
/// for increasing counts, non-integers, negatives, a missing period 0, gaps; and
/// [`crate::Error::EmptyTable`]).
///
/// # Example
///
/// ```
/// use patronage::stages::churn::read_survival;
/// let data = read_survival("datasets/sbg/regular.csv")?;
/// assert_eq!(data.active()[..3], [1000.0, 631.0, 468.0]);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn read_survival(path: impl AsRef<Path>) -> Result<SurvivalData> {
    let df = crate::io::read_table(path)?;
    let periods = nullable_f64(&df, PERIOD_COLUMN)?;
    let customers = nullable_f64(&df, CUSTOMERS_COLUMN)?;
    SurvivalData::from_rows(&periods, &customers)
}

/// The acquisition cohorts' survival in a subscription log ([`survival_from_summary`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LogSurvival {
    /// The cohorts' labels (`2024-01`, or the Monday of the week), oldest first, one per
    /// cohort of `data`.
    pub labels: Vec<String>,
    /// Per cohort, the customers still subscribed at the start of each period since
    /// acquisition, up to the last complete period.
    pub data: SurvivalData,
    /// The last complete period's label: the end every cohort is censored at.
    pub through: String,
    /// Customers acquired after the last complete period (left out: no renewal of
    /// theirs could be observed).
    pub left_out: usize,
    /// The mean payment per subscribed period of the fitted customers: their total
    /// spend over the periods from their first payment's to their last's, inclusive
    /// (what a period's renewal is worth, for the residual value).
    pub payment_per_period: f64,
}

/// The survival table of each acquisition cohort of a subscription log, from its
/// summary ([`crate::stages::summary::summary`]): a customer is acquired in the period
/// (calendar month or ISO week) of their first payment and still subscribed at the
/// start of every period up to that of their last payment (the contractual reading:
/// one who stops paying has churned, and a gap between payments is not a churn). Each
/// cohort is observed to the last complete period before the observation end (a
/// partial period would count as churned everyone whose payment in it is not yet due)
/// and right-censored there; customers acquired after it are left out and counted.
///
/// # Errors
///
/// [`Error::EmptyTable`] when no customer was acquired by the last complete period,
/// or no cohort is observed beyond its acquisition period (nothing to fit).
///
/// # Example
///
/// ```
/// use patronage::prelude::*;
/// use patronage::stages::churn::{fit_survival, survival_from_summary};
/// use patronage::transactions::aggregate::CohortPeriod;
/// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
/// let summary = tx.summary(&SummaryOptions::weekly())?;
/// let s = survival_from_summary(&summary, CohortPeriod::Month)?;
/// assert_eq!(s.labels.len(), s.data.cohorts().len());
/// assert_eq!(s.data.n_customers() as usize + s.left_out, summary.n_customers());
/// let fit = fit_survival(&s.data, &Default::default())?;
/// assert!(fit.model.alpha() > 0.0);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn survival_from_summary(summary: &Summary, period: CohortPeriod) -> Result<LogSurvival> {
    let days = |name: &str| -> Result<Vec<i32>> {
        let c = summary.frame().column(name)?.to_physical_repr();
        Ok(c.i32()?.into_no_null_iter().collect())
    };
    let (first, last) = (days("first_purchase")?, days("last_purchase")?);
    let end = day_number(summary.observation_end());
    // The last complete period: the observation end's own when it is the period's last
    // day, else the one before.
    let complete = if period.of(end + 1) != period.of(end) {
        period.of(end)
    } else {
        period.of(end) - 1
    };
    // Per cohort, the customers by the number of periods they stayed (capped at the
    // last complete period).
    let mut stayed: std::collections::BTreeMap<i64, Vec<u64>> = Default::default();
    let mut left_out = 0;
    let spend = summary.total_spend()?;
    // Revenue over subscribed periods (uncapped: a payment in the partial last period
    // counts with its period), summed exactly so the order of customers cannot matter.
    let (mut revenue, mut periods) = (crate::transactions::exact_sum::ExactSum::default(), 0u64);
    for ((&f, &l), &paid) in first.iter().zip(&last).zip(&spend) {
        let cohort = period.of(f);
        if cohort > complete {
            left_out += 1;
            continue;
        }
        revenue.add(paid);
        periods += (period.of(l) - cohort + 1) as u64;
        let span = (complete - cohort) as usize;
        let k = ((period.of(l).min(complete) - cohort) as usize).min(span);
        let counts = stayed.entry(cohort).or_insert_with(|| vec![0; span + 1]);
        counts[k] += 1;
    }
    if stayed.is_empty() {
        return Err(Error::EmptyTable {
            what: format!(
                "no customer was acquired by the last complete {} ({})",
                period_name(period),
                period.label(complete)
            ),
        });
    }
    let (labels, cohorts): (Vec<String>, Vec<Vec<u64>>) = stayed
        .into_iter()
        .map(|(cohort, counts)| {
            // Active at the start of period t: those who stayed t periods or more.
            let mut active = counts;
            for t in (0..active.len().saturating_sub(1)).rev() {
                active[t] += active[t + 1];
            }
            (period.label(cohort), active)
        })
        .unzip();
    let data = SurvivalData::from_cohorts(&cohorts).map_err(|e| match e {
        Error::EmptyTable { .. } => Error::EmptyTable {
            what: format!(
                "every customer was acquired in the last complete {} ({}): no renewal to fit",
                period_name(period),
                period.label(complete)
            ),
        },
        other => other,
    })?;
    Ok(LogSurvival {
        labels,
        data,
        through: period.label(complete),
        left_out,
        payment_per_period: revenue.value() / periods.max(1) as f64,
    })
}

/// The sBG model fitted to a subscription log's acquisition cohorts: what `patronage
/// fit sbg INPUT` prints and the report's contractual-retention section shows.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ContractualChurn {
    /// The cohorts' survival the model was fitted to.
    pub survival: LogSurvival,
    /// The fit.
    pub fit: ChurnOutcome,
}

impl ContractualChurn {
    /// [`ChurnOutcome::to_json`] with `cohort_labels`, `observed_through` (the last
    /// complete period) and `left_out` (customers acquired after it).
    pub fn to_json(&self) -> Value {
        let mut value = self.fit.to_json();
        value["cohort_labels"] = json!(self.survival.labels);
        value["observed_through"] = json!(self.survival.through);
        value["left_out"] = json!(self.survival.left_out);
        value
    }
}

/// [`survival_from_summary`], then [`fit_survival`], with the residual lifetimes by
/// renewal count discounted at `annual_discount_rate` a year
/// ([`Discounting::of_cohorts`], [`ChurnOutcome::with_residual_lifetimes`]) and valued
/// at the log's mean payment per subscribed period
/// ([`LogSurvival::payment_per_period`], [`ChurnOutcome::with_payment_per_period`]).
///
/// # Errors
///
/// As those: [`Error::InvalidOption`] for a discount rate that is not positive and
/// finite (checked first), [`Error::EmptyTable`] when no cohort is observed beyond its
/// acquisition period, [`Error::NotConverged`] when the likelihood has no finite
/// maximum (nobody cancelled, say), [`Error::Model`] when nobody renewed.
///
/// # Example
///
/// ```
/// use patronage::prelude::*;
/// use patronage::stages::churn::contractual_churn;
/// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
/// let summary = tx.summary(&SummaryOptions::weekly())?;
/// let churn = contractual_churn(&summary, CohortPeriod::Month, 0.1, &Default::default())?;
/// assert_eq!(churn.to_json()["cohorts"], churn.survival.labels.len());
/// assert!(churn.to_json()["periods"][0]["derl"].as_f64().unwrap() > 0.0);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn contractual_churn(
    summary: &Summary,
    period: CohortPeriod,
    annual_discount_rate: f64,
    options: &FitOptions,
) -> Result<ContractualChurn> {
    let discounting = Discounting::of_cohorts(annual_discount_rate, period)?;
    let survival = survival_from_summary(summary, period)?;
    let fit = fit_survival(&survival.data, options)?
        .with_residual_lifetimes(discounting)?
        .with_payment_per_period(survival.payment_per_period)?;
    Ok(ContractualChurn { survival, fit })
}

fn period_name(period: CohortPeriod) -> &'static str {
    match period {
        CohortPeriod::Week => "week",
        _ => "month",
    }
}

/// How residual lifetimes are discounted: an annual rate and the number of the model's
/// periods in a year, from which the rate per period is
/// `d = (1 + annual_rate)^(1 / periods_per_year) - 1`.
///
/// The default is Fader and Hardie's (2010) 10% a year on annual contracts (one period
/// a year). A subscription log's cohorts fix the periods per year
/// ([`Discounting::of_cohorts`]: 12 for months, 365.25 / 7 for ISO weeks).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Discounting {
    /// The discount rate per year (0.1 = 10%).
    pub annual_rate: f64,
    /// How many of the model's periods make a year.
    pub periods_per_year: f64,
}

impl Default for Discounting {
    fn default() -> Self {
        Discounting {
            annual_rate: 0.1,
            periods_per_year: 1.0,
        }
    }
}

impl Discounting {
    /// An annual rate on periods of `1 / periods_per_year` of a year.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] (option `cohorts.annual_discount_rate`) when the rate is
    /// not positive and finite (without discounting the residual lifetime of an sBG
    /// customer can be infinite), or (option `periods_per_year`) when the periods per
    /// year are not positive and finite.
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::stages::churn::Discounting;
    /// let monthly = Discounting::new(0.1, 12.0)?;
    /// assert!((1.0 + monthly.per_period()).powi(12) - 1.1 < 1e-12);
    /// assert!(Discounting::new(0.0, 12.0).is_err());
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn new(annual_rate: f64, periods_per_year: f64) -> Result<Self> {
        if !(annual_rate.is_finite() && annual_rate > 0.0) {
            return Err(Error::invalid(
                "cohorts.annual_discount_rate",
                format!(
                    "the annual discount rate must be positive and finite (0.1 for 10%), got {annual_rate}: without discounting a customer's residual lifetime can be infinite"
                ),
            ));
        }
        if !(periods_per_year.is_finite() && periods_per_year > 0.0) {
            return Err(Error::invalid(
                "periods_per_year",
                format!("the periods per year must be positive and finite, got {periods_per_year}"),
            ));
        }
        Ok(Discounting {
            annual_rate,
            periods_per_year,
        })
    }

    /// An annual rate on a subscription log's cohort periods: 12 a year for months,
    /// 365.25 / 7 for ISO weeks.
    ///
    /// # Errors
    ///
    /// As [`Discounting::new`].
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::stages::churn::Discounting;
    /// use patronage::transactions::aggregate::CohortPeriod;
    /// let d = Discounting::of_cohorts(0.1, CohortPeriod::Month)?;
    /// assert_eq!(d.periods_per_year, 12.0);
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn of_cohorts(annual_rate: f64, period: CohortPeriod) -> Result<Self> {
        let per_year = match period {
            CohortPeriod::Week => 365.25 / 7.0,
            _ => 12.0,
        };
        Discounting::new(annual_rate, per_year)
    }

    /// The discount rate per period, `(1 + annual_rate)^(1 / periods_per_year) - 1`.
    pub fn per_period(&self) -> f64 {
        (1.0 + self.annual_rate).powf(1.0 / self.periods_per_year) - 1.0
    }
}

/// The discounted expected residual lifetime (Fader and Hardie 2010) by renewal count:
/// what a customer who has renewed `k` times is still expected to pay, in periods'
/// payments, discounted to today ([`Fitted::derl`](crate::clv::Fitted::derl) with `n = k + 1`).
/// Multiplied by the payment per period it is the customer's residual value.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ResidualLifetimes {
    /// The discounting used.
    pub discounting: Discounting,
    /// Element `k`: a customer who has made `k` renewals (is in period `k`), for `k`
    /// from 0 (just acquired, before the first renewal) to the last observed period.
    pub by_renewals: Vec<f64>,
    /// The payment per period the residual values are in
    /// ([`ChurnOutcome::with_payment_per_period`]); `None`: lifetimes only.
    pub payment_per_period: Option<f64>,
}

impl ResidualLifetimes {
    /// The discounted expected residual value by renewal count: each lifetime times
    /// the payment per period (`None` without one). The payment is taken as constant
    /// over the customer's remaining periods, as in Fader and Hardie (2010).
    ///
    /// # Example
    /// ```
    /// use patronage::clv::sbg::SurvivalData;
    /// use patronage::stages::churn::{fit_survival, Discounting};
    /// let data = SurvivalData::from_counts(&[1000, 869, 743, 653, 593, 551, 517, 491])?;
    /// let out = fit_survival(&data, &Default::default())?
    ///     .with_residual_lifetimes(Discounting::default())?
    ///     .with_payment_per_period(100.0)?;
    /// let r = out.residual.as_ref().unwrap();
    /// assert_eq!(r.values().unwrap()[0], 100.0 * r.by_renewals[0]);
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn values(&self) -> Option<Vec<f64>> {
        let p = self.payment_per_period?;
        Some(self.by_renewals.iter().map(|l| l * p).collect())
    }
}

/// A fitted sBG model with the survival table it was fitted on.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ChurnOutcome {
    /// The fitted model.
    pub model: FittedSbg,
    /// The survival table.
    pub data: SurvivalData,
    /// The discounted expected residual lifetime by renewal count
    /// ([`ChurnOutcome::with_residual_lifetimes`]; `None` until asked for).
    pub residual: Option<ResidualLifetimes>,
}

/// Fits the sBG model to a survival table by maximum likelihood.
///
/// # Errors
///
/// As [`crate::clv::Fitter::fit`]: [`crate::Error::NotConverged`] when the likelihood
/// has no finite maximum (for instance nobody churned in any period);
/// [`Error::Model`] when nobody renewed even once (every customer observed past
/// acquisition cancelled at the first renewal).
///
/// # Example
///
/// ```
/// use patronage::clv::sbg::SurvivalData;
/// use patronage::stages::churn::fit_survival;
/// let data = SurvivalData::from_counts(&[1000, 869, 743, 653, 593, 551, 517, 491])?;
/// let out = fit_survival(&data, &Default::default())?;
/// let json = out.to_json();
/// assert_eq!(json["model"], "sbg");
/// assert!((json["params"]["alpha"].as_f64().unwrap() - 0.668).abs() < 5e-4);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn fit_survival(data: &SurvivalData, options: &FitOptions) -> Result<ChurnOutcome> {
    // Everyone observed past acquisition cancelled at the first renewal: the likelihood
    // rises without bound as every customer's churn probability goes to 1, and the
    // optimiser would stop at an arbitrary huge alpha with no standard errors.
    if data.active().get(1) == Some(&0.0) {
        return Err(Error::Model {
            model: "sbg".into(),
            reason: "every customer observed past acquisition cancelled at the first renewal: the likelihood has no finite maximum (no renewal to learn retention from)".into(),
        });
    }
    let model = crate::clv::Fitter::<Sbg>::with_options(options.clone()).fit(data)?;
    Ok(ChurnOutcome {
        model,
        data: data.clone(),
        residual: None,
    })
}

impl ChurnOutcome {
    /// The outcome with the discounted expected residual lifetime of a customer at each
    /// renewal count from 0 to the last observed period ([`ResidualLifetimes`]).
    ///
    /// # Errors
    ///
    /// [`Error::Model`] when the hypergeometric series cannot be evaluated at these
    /// parameters.
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::clv::sbg::SurvivalData;
    /// use patronage::stages::churn::{fit_survival, Discounting};
    /// let data = SurvivalData::from_counts(&[1000, 869, 743, 653, 593, 551, 517, 491])?;
    /// let out = fit_survival(&data, &Default::default())?
    ///     .with_residual_lifetimes(Discounting::default())?;
    /// let derl = &out.residual.as_ref().unwrap().by_renewals;
    /// assert_eq!(derl.len(), 8);
    /// // Those who have renewed are likelier to stay: their residual lifetime is longer.
    /// assert!(derl.windows(2).all(|w| w[1] > w[0]));
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn with_residual_lifetimes(mut self, discounting: Discounting) -> Result<Self> {
        let d = discounting.per_period();
        let by_renewals = (0..=self.data.last_period() as u32)
            .map(|k| self.model.derl(d, k + 1))
            .collect::<Result<Vec<f64>>>()?;
        self.residual = Some(ResidualLifetimes {
            discounting,
            by_renewals,
            payment_per_period: None,
        });
        Ok(self)
    }

    /// Values the residual lifetimes at `payment` per period: the discounted expected
    /// residual value by renewal count ([`ResidualLifetimes::values`]).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] naming `payment_per_period` for a payment that is
    /// negative or not finite, or when the residual lifetimes were not computed
    /// ([`ChurnOutcome::with_residual_lifetimes`] first).
    ///
    /// # Example
    /// ```
    /// use patronage::clv::sbg::SurvivalData;
    /// use patronage::stages::churn::{fit_survival, Discounting};
    /// let data = SurvivalData::from_counts(&[1000, 631, 468, 382, 326, 289, 262, 241])?;
    /// let fit = fit_survival(&data, &Default::default())?;
    /// assert!(fit.clone().with_payment_per_period(10.0).is_err());
    /// let out = fit.with_residual_lifetimes(Discounting::default())?.with_payment_per_period(10.0)?;
    /// assert_eq!(out.to_json()["residual_lifetime"]["payment_per_period"], 10.0);
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn with_payment_per_period(mut self, payment: f64) -> Result<Self> {
        if !(payment.is_finite() && payment >= 0.0) {
            return Err(Error::invalid(
                "payment_per_period",
                format!("{payment} is not a payment (finite, zero or more)"),
            ));
        }
        let Some(residual) = self.residual.as_mut() else {
            return Err(Error::invalid(
                "payment_per_period",
                "values the residual lifetimes: compute them first (with_residual_lifetimes)",
            ));
        };
        residual.payment_per_period = Some(payment);
        Ok(self)
    }

    /// The JSON object `patronage fit sbg --json` prints: as the other models' `fit
    /// --json` (`model, params {alpha, beta}, standard_errors, log_likelihood,
    /// n_customers, converged, iterations`), plus `cohorts` (how many the table pools)
    /// and `periods`: per observed period the customers at risk, the observed and fitted
    /// share still active and, from period 1, the observed and fitted retention rate
    /// `r(t) = S(t)/S(t-1)` (observed over the cohorts observed through `t`:
    /// [`SurvivalData::observed_retention`], [`SurvivalData::observed_survival`]).
    /// With [`ChurnOutcome::with_residual_lifetimes`]: each period also has `derl`, the
    /// discounted expected residual lifetime of a customer who has made that many
    /// renewals, and `residual_lifetime` holds `annual_discount_rate`,
    /// `periods_per_year`, `discount_rate_per_period` and `payment_per_period` (null
    /// until [`ChurnOutcome::with_payment_per_period`]; with it each period also has
    /// `residual_value`, `derl` times the payment).
    pub fn to_json(&self) -> Value {
        let m = &self.model;
        let names = m.param_names();
        let params: serde_json::Map<String, Value> = names
            .iter()
            .zip(m.params())
            .map(|(n, v)| ((*n).to_string(), json!(v)))
            .collect();
        let mut out = json!({ "model": m.name(), "params": params });
        if let Some(r) = m.report() {
            let se: serde_json::Map<String, Value> = names
                .iter()
                .zip(&r.standard_errors)
                .map(|(n, s)| {
                    let v = if s.is_finite() { json!(s) } else { Value::Null };
                    ((*n).to_string(), v)
                })
                .collect();
            out["standard_errors"] = Value::Object(se);
            out["log_likelihood"] = json!(r.log_likelihood);
            out["n_customers"] = json!(r.n_customers);
            out["converged"] = json!(r.converged);
            out["iterations"] = json!(r.iterations);
            out["gradient_norm"] = json!(r.gradient_norm);
            out["method"] = json!(r.method);
        }
        let active = self.data.active();
        let observed = self.data.observed_survival();
        let periods: Vec<Value> = (0..active.len())
            .map(|t| {
                let tu = t as u32;
                json!({
                    "period": t,
                    "customers": active[t],
                    "observed_survival": observed[t],
                    "fitted_survival": m.survival(tu),
                    "observed_retention": self.data.observed_retention(t),
                    "fitted_retention": m.retention_rate(tu),
                })
            })
            .collect();
        out["cohorts"] = json!(self.data.cohorts().len());
        out["periods"] = Value::Array(periods);
        if let Some(r) = &self.residual {
            out["residual_lifetime"] = json!({
                "annual_discount_rate": r.discounting.annual_rate,
                "periods_per_year": r.discounting.periods_per_year,
                "discount_rate_per_period": r.discounting.per_period(),
                "payment_per_period": r.payment_per_period,
            });
            if let Some(values) = r.values() {
                for (p, v) in out["periods"]
                    .as_array_mut()
                    .into_iter()
                    .flatten()
                    .zip(values)
                {
                    p["residual_value"] = json!(v);
                }
            }
            for (p, derl) in out["periods"]
                .as_array_mut()
                .into_iter()
                .flatten()
                .zip(&r.by_renewals)
            {
                p["derl"] = json!(derl);
            }
        }
        out
    }
}
