//! Time-invariant covariates (issue #18) in CLVTools' parametrisation: each customer's
//! row `z_i` of a design matrix scales a model's population parameters.
//!
//! | model | per-customer parameters | coefficients in output |
//! |---|---|---|
//! | BG/NBD | `α_i = α exp(−γ_pᵀ z_i)`, `a_i = a exp(γ_aᵀ z_i)`, `b_i = b exp(γ_bᵀ z_i)` | `purchase.<c>`, `dropout_a.<c>`, `dropout_b.<c>` |
//! | Pareto/NBD | `α_i = α exp(−γ_pᵀ z_i)`, `β_i = β exp(−γ_dᵀ z_i)` | `purchase.<c>`, `dropout.<c>` |
//! | Gamma-Gamma | `γ_i = γ exp(−γ_sᵀ z_i)` | `spend.<c>` |
//!
//! What a positive coefficient means: `purchase.<c> > 0` raises the mean purchase rate
//! (`r / α_i`); `dropout_a.<c> > 0` raises and `dropout_b.<c> > 0` lowers the mean dropout
//! probability (`a_i / (a_i + b_i)`); `dropout.<c> > 0` (Pareto/NBD) raises the mean dropout
//! rate (`s / β_i`), shortening the mean lifetime; `spend.<c> > 0` lowers the scale `γ_i` of the spend
//! rate distribution and with it the mean spend per transaction (`p γ_i / (q − 1)`).
//!
//! - [`Covariates`]: the design matrix, checked (no constant and no perfectly collinear
//!   columns).
//! - [`data`]: the models' data with covariates, compressed to weighted distinct
//!   `(x, t_x, T, z)` (or `(x, m, z)`) rows.
//! - [`fit`]: the fitting engine ([`CovariateModel`], [`CovariateFit`]): L-BFGS on the
//!   log base parameters and the raw coefficients, standard errors from the Hessian there,
//!   and the likelihood-ratio test against the model without covariates.
//! - [`bgnbd`], [`paretonbd`], [`gammagamma`]: the models' likelihoods with covariates.
//! - [`draws`]: joint parameter draws of a fit (asymptotic normal over base parameters
//!   and coefficients, or a bootstrap over customers), for intervals.
//! - [`intervals`]: per-customer and customer-equity intervals, every customer re-scored
//!   at their own parameters under each draw.
//! - [`score`]: CLV scores with every customer at their own parameters (one plain model
//!   per distinct covariate row, the shared work per distinct `(row, x, T)`).

pub mod bgnbd;
pub mod data;
pub mod draws;
pub mod fit;
pub mod gammagamma;
pub mod intervals;
pub mod paretonbd;
pub mod score;

pub use data::{CovariateData, CovariateRepeatData, CovariateSpendData};
pub use fit::{CovariateFit, CovariateModel, LikelihoodRatio};

use serde::{Deserialize, Serialize};

use crate::clv::fit::invert_spd;
use crate::error::{Error, Result};

/// What a positive coefficient of a process means, in words (the module table's
/// reading): `purchase`, `dropout_a`, `dropout_b` (BG/NBD), `dropout` (Pareto/NBD) and
/// `spend` (Gamma-Gamma); `None` for another name.
///
/// # Example
///
/// ```
/// use patronage::clv::covariates::positive_means;
/// assert_eq!(positive_means("purchase"), Some("buys more often"));
/// assert_eq!(positive_means("other"), None);
/// ```
pub fn positive_means(process: &str) -> Option<&'static str> {
    Some(match process {
        "purchase" => "buys more often",
        "dropout_a" => "more likely to drop out after a purchase",
        "dropout_b" => "less likely to drop out after a purchase",
        "dropout" => "drops out sooner",
        "spend" => "spends more per purchase",
        _ => return None,
    })
}

/// A checked design matrix: one row of covariate values per customer, one named column
/// per covariate (numeric columns as they are, a categorical column as 0/1 dummies
/// named `column=level`, built by the caller).
///
/// # Example
///
/// ```
/// use patronage::clv::covariates::Covariates;
/// let z = Covariates::new(vec!["age".into()], vec![vec![1.0, 2.0, 3.0]])?;
/// assert_eq!((z.n_rows(), z.n_columns()), (3, 1));
/// assert_eq!(z.row(2), &[3.0]);
/// // A constant column is refused, naming it.
/// assert!(Covariates::new(vec!["one".into()], vec![vec![1.0, 1.0]]).is_err());
/// # Ok::<(), patronage::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Covariates {
    names: Vec<String>,
    /// Row-major, `n_rows x names.len()`.
    values: Vec<f64>,
    n_rows: usize,
}

impl Covariates {
    /// A design matrix from named columns of equal length.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] (option `covariates`) for no rows, columns of unequal
    /// length or repeated names; [`Error::BadRow`] for a value that is not finite;
    /// [`Error::ConstantCovariate`] for a column with one value only;
    /// [`Error::CollinearCovariates`] when a column is a linear combination of the
    /// intercept and earlier columns.
    pub fn new(names: Vec<String>, columns: Vec<Vec<f64>>) -> Result<Self> {
        if names.len() != columns.len() {
            return Err(Error::invalid(
                "covariates",
                format!("{} names for {} columns", names.len(), columns.len()),
            ));
        }
        let n_rows = columns.first().map_or(0, Vec::len);
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                return Err(Error::invalid(
                    "covariates",
                    format!("column `{name}` appears more than once"),
                ));
            }
            if columns[i].len() != n_rows {
                return Err(Error::invalid(
                    "covariates",
                    format!(
                        "column `{name}` has {} values, the first has {n_rows}",
                        columns[i].len()
                    ),
                ));
            }
            if let Some(row) = columns[i].iter().position(|v| !v.is_finite()) {
                return Err(Error::BadRow {
                    row: row as u64 + 1,
                    column: name.clone(),
                    reason: "covariate values must be finite numbers".into(),
                    value: columns[i][row].to_string(),
                });
            }
        }
        if n_rows == 0 && !names.is_empty() {
            return Err(Error::invalid("covariates", "no rows"));
        }
        check_identified(&names, &columns)?;
        let k = names.len();
        let mut values = vec![0.0; n_rows * k];
        for (j, col) in columns.iter().enumerate() {
            for (i, v) in col.iter().enumerate() {
                values[i * k + j] = *v;
            }
        }
        Ok(Covariates {
            names,
            values,
            n_rows,
        })
    }

    /// No covariates for `n_rows` customers: the plain model.
    pub fn none(n_rows: usize) -> Self {
        Covariates {
            names: Vec::new(),
            values: Vec::new(),
            n_rows,
        }
    }

    /// Column names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Number of columns.
    pub fn n_columns(&self) -> usize {
        self.names.len()
    }

    /// Number of rows (customers).
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// Customer `i`'s covariate values.
    ///
    /// # Panics
    ///
    /// When `i >= n_rows()`.
    pub fn row(&self, i: usize) -> &[f64] {
        let k = self.names.len();
        &self.values[i * k..(i + 1) * k]
    }

    /// The rows kept by `keep` (one flag per row), in order.
    pub(crate) fn select(&self, keep: &[bool]) -> Self {
        let values = (0..self.n_rows)
            .filter(|&i| keep[i])
            .flat_map(|i| self.row(i).iter().copied())
            .collect();
        Covariates {
            names: self.names.clone(),
            values,
            n_rows: keep.iter().filter(|k| **k).count(),
        }
    }
}

/// Relative residual below which a centred column counts as a combination of others.
const COLLINEAR_TOL: f64 = 1e-9;

/// Refuses constant columns and columns that are linear combinations of the intercept
/// and the columns before them (least squares on the centred columns).
#[allow(clippy::needless_range_loop)] // small dense algebra reads best with indices
fn check_identified(names: &[String], columns: &[Vec<f64>]) -> Result<()> {
    let centred: Vec<Vec<f64>> = columns
        .iter()
        .map(|c| {
            let mean = c.iter().sum::<f64>() / c.len().max(1) as f64;
            c.iter().map(|v| v - mean).collect()
        })
        .collect();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    for (j, col) in columns.iter().enumerate() {
        if col.iter().all(|v| *v == col[0]) {
            return Err(Error::ConstantCovariate {
                column: names[j].clone(),
            });
        }
    }
    for j in 1..columns.len() {
        let y = &centred[j];
        let yy = dot(y, y);
        // Gram matrix of the earlier (independent) columns.
        let gram: Vec<Vec<f64>> = (0..j)
            .map(|a| (0..j).map(|b| dot(&centred[a], &centred[b])).collect())
            .collect();
        let Some(inv) = invert_spd(&gram) else {
            continue;
        };
        let xty: Vec<f64> = (0..j).map(|a| dot(&centred[a], y)).collect();
        let beta: Vec<f64> = (0..j)
            .map(|a| (0..j).map(|b| inv[a][b] * xty[b]).sum())
            .collect();
        let fitted_ss: f64 = (0..j).map(|a| beta[a] * xty[a]).sum();
        if yy - fitted_ss <= COLLINEAR_TOL * yy {
            let mut involved = vec![names[j].clone()];
            for a in 0..j {
                let scale = (gram[a][a] / yy).sqrt();
                if (beta[a] * scale).abs() > 1e-6 {
                    involved.push(names[a].clone());
                }
            }
            return Err(Error::CollinearCovariates { columns: involved });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_and_collinear_columns_are_named() {
        let e = Covariates::new(
            vec!["a".into(), "k".into()],
            vec![vec![1.0, 2.0, 3.0], vec![5.0, 5.0, 5.0]],
        )
        .unwrap_err();
        assert!(matches!(e, Error::ConstantCovariate { ref column } if column == "k"));
        let e = Covariates::new(
            vec!["a".into(), "b".into(), "c".into()],
            vec![
                vec![1.0, 2.0, 3.0, 4.0],
                vec![0.0, 1.0, 0.0, 1.0],
                vec![3.0, 6.0, 7.0, 10.0], // 2a + 2b + 1
            ],
        )
        .unwrap_err();
        match e {
            Error::CollinearCovariates { columns } => assert_eq!(columns, ["c", "a", "b"]),
            other => panic!("{other:?}"),
        }
        let ok = Covariates::new(
            vec!["a".into(), "b".into()],
            vec![vec![1.0, 2.0, 3.0, 4.0], vec![0.0, 1.0, 1.0, 0.0]],
        )
        .unwrap();
        assert_eq!(ok.row(1), &[2.0, 1.0]);
    }
}

#[cfg(test)]
mod model_tests;
