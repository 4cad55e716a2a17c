//! Feature matrices for clustering: columns of a per-customer table, transformed and
//! scaled, as the contiguous row-major `f64` buffer linfa's ndarray 0.16 arrays are
//! built from (copied through slices rather than through polars' `ndarray` feature,
//! which would build a second ndarray version beside linfa's).

#[cfg(feature = "frames")]
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::stats::{quantile, sorted};

/// How a feature is scaled after its optional log transform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scale {
    /// Subtract the mean, divide by the standard deviation.
    Standardize,
    /// Subtract the median, divide by the interquartile range.
    Robust,
    /// Map the observed minimum..maximum to 0..1.
    MinMax,
    /// Leave as is.
    None,
}

/// One feature: a numeric column, an optional signed `log1p`, and a scaling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSpec {
    /// Column of the per-customer table.
    pub column: String,
    /// Apply `sign(v) ln(1 + |v|)` first (for skewed counts and money; keeps the sign of
    /// net-negative spend).
    pub log1p: bool,
    /// Scaling after the transform.
    pub scale: Scale,
}

/// Columns the default transform treats as skewed (log1p, then standardise).
const SKEWED: &[&str] = &[
    "n_purchases",
    "frequency",
    "total_spend",
    "monetary_value",
    "gross_profit",
    "clv",
    "expected_purchases",
    "recency_days",
];

impl FeatureSpec {
    /// The default for a column: `log1p` + standardise for counts, money and day counts;
    /// standardise for the rest (`p_alive`, `T`).
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::segmentation::{FeatureSpec, Scale};
    /// assert!(FeatureSpec::default_for("total_spend").log1p);
    /// assert_eq!(FeatureSpec::default_for("p_alive").scale, Scale::Standardize);
    /// ```
    pub fn default_for(column: &str) -> Self {
        FeatureSpec {
            column: column.to_string(),
            log1p: SKEWED.contains(&column),
            scale: Scale::Standardize,
        }
    }

    /// Parses `column[:transform]` with transform one of `log1p`, `standardize`,
    /// `robust`, `minmax`, `none`, `log1p-robust`, `log1p-minmax`, `log1p-none`
    /// (no transform: the column's default).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] for an unknown transform.
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::segmentation::{FeatureSpec, Scale};
    /// let f = FeatureSpec::parse("total_spend:log1p-robust").unwrap();
    /// assert!(f.log1p && f.scale == Scale::Robust);
    /// ```
    pub fn parse(text: &str) -> Result<Self> {
        let (column, how) = match text.split_once(':') {
            Some((c, h)) => (c.trim(), Some(h.trim())),
            None => (text.trim(), None),
        };
        if column.is_empty() {
            return Err(Error::invalid(
                "segmentation.features",
                "empty feature name",
            ));
        }
        let Some(how) = how else {
            return Ok(Self::default_for(column));
        };
        let (log1p, scale) = match how {
            "log1p" | "log1p-standardize" => (true, Scale::Standardize),
            "standardize" => (false, Scale::Standardize),
            "robust" => (false, Scale::Robust),
            "minmax" => (false, Scale::MinMax),
            "none" => (false, Scale::None),
            "log1p-robust" => (true, Scale::Robust),
            "log1p-minmax" => (true, Scale::MinMax),
            "log1p-none" => (true, Scale::None),
            other => {
                return Err(Error::invalid(
                    "segmentation.features",
                    format!(
                        "`{other}` is not a transform (log1p, standardize, robust, minmax, none, log1p-robust, log1p-minmax, log1p-none)"
                    ),
                ));
            }
        };
        Ok(FeatureSpec {
            column: column.to_string(),
            log1p,
            scale,
        })
    }
}

/// The centre and scale a fitted feature subtracts and divides by.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scaler {
    /// Subtracted after the transform.
    pub center: f64,
    /// Divided by (1 for a constant feature).
    pub scale: f64,
}

pub(crate) fn signed_log1p(v: f64) -> f64 {
    v.signum() * v.abs().ln_1p()
}

/// Raw values of the features, per feature, from a per-customer table.
///
/// # Errors
///
/// [`Error::MissingColumn`] / [`Error::WrongType`] for the column; [`Error::BadRow`]
/// (1-based row) for a null, NaN or infinite value.
#[cfg(feature = "frames")]
pub(crate) fn raw_columns(df: &DataFrame, features: &[FeatureSpec]) -> Result<Vec<Vec<f64>>> {
    features
        .iter()
        .map(|f| {
            crate::io::frame::nullable_f64(df, &f.column)?
                .into_iter()
                .enumerate()
                .map(|(i, v)| finite(&f.column, i, v))
                .collect()
        })
        .collect()
}

/// The named columns of the features, in feature order, each checked finite.
///
/// # Errors
///
/// [`Error::MissingColumn`] for a feature with no column of its name; [`Error::BadRow`]
/// (1-based row) for a NaN or infinite value.
pub(crate) fn named_columns<'a>(
    columns: &[(&str, &'a [f64])],
    features: &[FeatureSpec],
) -> Result<Vec<&'a [f64]>> {
    features
        .iter()
        .map(|f| {
            let values = find(columns, &f.column).ok_or_else(|| Error::MissingColumn {
                column: f.column.clone(),
                available: columns
                    .iter()
                    .map(|(name, _)| *name)
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
            for (i, &v) in values.iter().enumerate() {
                finite(&f.column, i, Some(v))?;
            }
            Ok(values)
        })
        .collect()
}

/// The first column of this name.
pub(crate) fn find<'a>(columns: &[(&str, &'a [f64])], name: &str) -> Option<&'a [f64]> {
    columns.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

/// A feature value, or the [`Error::BadRow`] (1-based row) of a null, NaN or infinity.
fn finite(column: &str, row: usize, v: Option<f64>) -> Result<f64> {
    match v {
        Some(v) if v.is_finite() => Ok(v),
        other => Err(Error::BadRow {
            row: row as u64 + 1,
            column: column.to_string(),
            reason: "a clustering feature must be a finite number".into(),
            value: other.map_or("null".into(), |v| v.to_string()),
        }),
    }
}

/// Fits a scaler to transformed values; a constant feature gets scale 1 (it becomes all
/// zeros and so does not move any customer).
pub(crate) fn fit_scaler(values: &[f64], scale: Scale) -> Scaler {
    let n = values.len() as f64;
    let (center, spread) = match scale {
        Scale::None => (0.0, 1.0),
        Scale::Standardize => {
            let mean = values.iter().sum::<f64>() / n;
            let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
            (mean, var.sqrt())
        }
        Scale::Robust => {
            let s = sorted(values);
            (quantile(&s, 0.5), quantile(&s, 0.75) - quantile(&s, 0.25))
        }
        Scale::MinMax => {
            let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (lo, hi - lo)
        }
    };
    Scaler {
        center,
        scale: if spread > 0.0 && spread.is_finite() {
            spread
        } else {
            1.0
        },
    }
}

/// Transformed values of one feature (before scaling).
pub(crate) fn transform(values: &[f64], f: &FeatureSpec) -> Vec<f64> {
    if f.log1p {
        values.iter().map(|&v| signed_log1p(v)).collect()
    } else {
        values.to_vec()
    }
}

/// The row-major `n x d` matrix of scaled features.
pub(crate) fn matrix(raw: &[&[f64]], features: &[FeatureSpec], scalers: &[Scaler]) -> Vec<f64> {
    let n = raw.first().map_or(0, |c| c.len());
    let d = features.len();
    let mut out = vec![0.0; n * d];
    for (j, (f, s)) in features.iter().zip(scalers).enumerate() {
        for (i, v) in transform(raw[j], f).into_iter().enumerate() {
            out[i * d + j] = (v - s.center) / s.scale;
        }
    }
    out
}
