//! Profile-likelihood intervals of a fitted model's parameters
//! ([`crate::clv::interval::profile_intervals`]): what `patronage fit <model> --interval
//! LEVEL --profile` prints and adds to its JSON. Parameters only: the per-customer
//! intervals come from parameter draws (asymptotic or bootstrap, [`super::interval`]).

use polars::prelude::DataFrame;
use serde_json::{Map, Value, json};

use super::fit::AnyFitted;
use super::interval::ParameterInterval;
use crate::clv::fit::Model;
use crate::clv::interval::profile_intervals;
use crate::clv::{DiscreteData, FitOptions, Fitted, RepeatData, SpendData};
use crate::error::Result;
use crate::transactions::summary::Summary;

/// The profile-likelihood intervals of every parameter of one model.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ProfileIntervals {
    /// Nominal coverage.
    pub level: f64,
    /// One per parameter, in the model's order; a side without a bound has `lo = 0` or
    /// `hi = inf`.
    pub parameters: Vec<ParameterInterval>,
}

impl ProfileIntervals {
    /// As JSON: `{parameter: [lo, hi]}`, `null` for a side without a bound.
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::stages::fit::{fit_table, ModelKind};
    /// use patronage::stages::profile::profile_table;
    /// let df = patronage::io::read_table("datasets/cdnow/donations.csv")?;
    /// let out = fit_table(ModelKind::BgBb, &df, &Default::default())?;
    /// let profile = profile_table(&out.model, &df, &Default::default(), 0.9)?;
    /// let json = profile.to_json();
    /// let alpha = json["alpha"].as_array().unwrap();
    /// assert!(alpha[0].as_f64().unwrap() < 1.204 && 1.204 < alpha[1].as_f64().unwrap());
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn to_json(&self) -> Value {
        let bound = |v: f64| {
            if v > 0.0 && v.is_finite() {
                json!(v)
            } else {
                Value::Null
            }
        };
        Value::Object(
            self.parameters
                .iter()
                .map(|p| (p.parameter.clone(), json!([bound(p.lo), bound(p.hi)])))
                .collect::<Map<String, Value>>(),
        )
    }
}

/// The profile intervals of `model`, fitted by
/// [`fit_summary`](super::fit::fit_summary) on `summary` with `opts`.
///
/// # Errors
///
/// As [`profile_intervals`]; the summary's own errors as the fit's.
pub fn profile_summary(
    model: &AnyFitted,
    summary: &Summary,
    opts: &FitOptions,
    level: f64,
) -> Result<ProfileIntervals> {
    match model {
        AnyFitted::BgNbd(m) => rows(m, &summary.repeat_data()?, opts, level),
        AnyFitted::MbgNbd(m) => rows(m, &summary.repeat_data()?, opts, level),
        AnyFitted::ParetoNbd(m) => rows(m, &summary.repeat_data()?, opts, level),
        AnyFitted::BgBb(m) => rows(m, &summary.discrete_data()?, opts, level),
        AnyFitted::GammaGamma(m) => rows(m, &summary.spend_data()?, opts, level),
    }
}

/// The profile intervals of `model`, fitted by [`fit_table`](super::fit::fit_table) on
/// the per-customer table `df` with `opts`.
///
/// # Errors
///
/// As [`profile_intervals`]; the table's own errors as the fit's.
pub fn profile_table(
    model: &AnyFitted,
    df: &DataFrame,
    opts: &FitOptions,
    level: f64,
) -> Result<ProfileIntervals> {
    match model {
        AnyFitted::BgNbd(m) => rows(m, &RepeatData::from_frame(df)?, opts, level),
        AnyFitted::MbgNbd(m) => rows(m, &RepeatData::from_frame(df)?, opts, level),
        AnyFitted::ParetoNbd(m) => rows(m, &RepeatData::from_frame(df)?, opts, level),
        AnyFitted::BgBb(m) => rows(m, &DiscreteData::from_frame(df)?, opts, level),
        AnyFitted::GammaGamma(m) => rows(m, &SpendData::from_frame(df)?, opts, level),
    }
}

fn rows<M: Model>(
    fit: &Fitted<M>,
    data: &M::Data,
    opts: &FitOptions,
    level: f64,
) -> Result<ProfileIntervals> {
    let ranges = profile_intervals(fit, data, opts, level)?;
    let parameters = M::PARAM_NAMES
        .iter()
        .zip(fit.params())
        .zip(ranges)
        .map(|((name, estimate), r)| ParameterInterval {
            model: M::NAME,
            parameter: (*name).to_string(),
            estimate: *estimate,
            lo: r.lo,
            hi: r.hi,
        })
        .collect();
    Ok(ProfileIntervals { level, parameters })
}
