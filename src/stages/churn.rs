//! The contractual-churn stage (what `patronage fit sbg --survival FILE` runs): read a
//! cohort's survival table, fit the shifted-beta-geometric model
//! ([`crate::clv::sbg`]) and report the fit with the retention and survival curves it
//! implies next to the observed ones.

use std::path::Path;

use serde_json::{Value, json};

use crate::clv::FitOptions;
use crate::clv::sbg::{CUSTOMERS_COLUMN, FittedSbg, PERIOD_COLUMN, Sbg, SurvivalData};
use crate::error::Result;
use crate::io::frame::nullable_f64;

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

/// A fitted sBG model with the survival table it was fitted on.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ChurnOutcome {
    /// The fitted model.
    pub model: FittedSbg,
    /// The survival table.
    pub data: SurvivalData,
}

/// Fits the sBG model to a survival table by maximum likelihood.
///
/// # Errors
///
/// As [`crate::clv::Fitter::fit`]: [`crate::Error::NotConverged`] when the likelihood
/// has no finite maximum (for instance nobody churned in any period).
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
    let model = crate::clv::Fitter::<Sbg>::with_options(options.clone()).fit(data)?;
    Ok(ChurnOutcome {
        model,
        data: data.clone(),
    })
}

impl ChurnOutcome {
    /// The JSON object `patronage fit sbg --json` prints: as the other models' `fit
    /// --json` (`model, params {alpha, beta}, standard_errors, log_likelihood,
    /// n_customers, converged, iterations`), plus `periods`: per observed period the
    /// observed and fitted share still active and, from period 1, the observed and
    /// fitted retention rate `r(t) = S(t)/S(t-1)`.
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
        let n0 = self.data.n_customers();
        let periods: Vec<Value> = (0..active.len())
            .map(|t| {
                let tu = t as u32;
                let (observed_r, fitted_r) = if t == 0 {
                    (Value::Null, Value::Null)
                } else {
                    let prev = active[t - 1];
                    (
                        if prev > 0.0 {
                            json!(active[t] / prev)
                        } else {
                            Value::Null
                        },
                        json!(m.retention_rate(tu)),
                    )
                };
                json!({
                    "period": t,
                    "customers": active[t],
                    "observed_survival": active[t] / n0,
                    "fitted_survival": m.survival(tu),
                    "observed_retention": observed_r,
                    "fitted_retention": fitted_r,
                })
            })
            .collect();
        out["periods"] = Value::Array(periods);
        out
    }
}
