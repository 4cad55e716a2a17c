//! The models' data with covariates: the plain data (for the fit without covariates the
//! likelihood-ratio test compares with) and the rows compressed on the model's columns
//! and the covariates together, so customers sharing `(x, t_x, T, z)` (BG/NBD) or
//! `(x, m, z)` (Gamma-Gamma) are one weighted row. With discrete covariates (a channel,
//! a cohort) a fit costs in proportion to the distinct rows, as without covariates.

use crate::clv::covariates::Covariates;
use crate::clv::data::compress::compress;
use crate::clv::interval::{Resample, kept};
use crate::clv::{RepeatData, SpendData};
use crate::error::{Error, Result};

/// Compressed rows: the representatives' column values, their covariate rows
/// (row-major) and weights.
#[derive(Debug, Clone, PartialEq)]
struct Rows {
    columns: Vec<Vec<f64>>,
    z: Vec<f64>,
    w: Vec<f64>,
}

/// Compresses `columns` (one value per customer each) with the covariate rows of `z`.
fn compress_with(columns: &[&[f64]], z: &Covariates) -> Rows {
    let n = z.n_rows();
    let k = z.n_columns();
    // +0.0 turns -0.0 into 0.0, so equal values have equal bits.
    let zcols: Vec<Vec<f64>> = (0..k)
        .map(|j| (0..n).map(|i| z.row(i)[j] + 0.0).collect())
        .collect();
    let mut keys: Vec<&[f64]> = columns.to_vec();
    keys.extend(zcols.iter().map(Vec::as_slice));
    let (reps, w) = compress(&keys, None, n);
    Rows {
        columns: columns
            .iter()
            .map(|c| reps.iter().map(|&i| c[i]).collect())
            .collect(),
        z: reps
            .iter()
            .flat_map(|&i| z.row(i).iter().copied())
            .collect(),
        w,
    }
}

/// `(z - mu) / sd` per column of row-major `z`.
fn standardise(z: &mut [f64], mu: &[f64], sd: &[f64]) {
    let k = mu.len();
    if k == 0 {
        return;
    }
    for row in z.chunks_mut(k) {
        for ((v, m), s) in row.iter_mut().zip(mu).zip(sd) {
            *v = (*v - m) / s;
        }
    }
}

fn check_rows(n: usize, z: &Covariates) -> Result<()> {
    if z.n_rows() != n {
        return Err(Error::invalid(
            "covariates",
            format!("{} covariate rows for {n} customers", z.n_rows()),
        ));
    }
    Ok(())
}

/// What the fitting engine reads of data with covariates, whichever model they are for:
/// the same customers without covariates, the compressed rows' covariates and weights,
/// and the rescaled copy the optimiser works on. Implemented by [`CovariateRepeatData`]
/// and [`CovariateSpendData`]; a [`CovariateModel`](super::CovariateModel) names its data
/// type and reads the model's own columns itself.
///
/// # Example
///
/// ```
/// use patronage::clv::covariates::{CovariateData, Covariates, CovariateRepeatData};
/// let z = Covariates::new(vec!["web".into()], vec![vec![0.0, 1.0, 1.0]])?;
/// let d = CovariateRepeatData::new(&[2.0, 2.0, 2.0], &[30.0, 30.0, 30.0], &[38.0; 3], &z)?;
/// assert_eq!(d.rows(), 2);
/// assert_eq!(d.z_w(1), (&[1.0][..], 2.0)); // the two web customers
/// # Ok::<(), patronage::Error>(())
/// ```
pub trait CovariateData: Sync + Sized {
    /// The data type of the model without covariates.
    type Plain;
    /// The same customers without covariates.
    fn plain_data(&self) -> &Self::Plain;
    /// Covariate names.
    fn covariate_names(&self) -> &[String];
    /// Distinct rows.
    fn rows(&self) -> usize;
    /// Row `i`'s covariates and weight (customers).
    fn z_w(&self, i: usize) -> (&[f64], f64);
    /// The data with times (or money) divided by `scale` and covariate `k` standardised
    /// to `(z - mu[k]) / sd[k]`.
    fn rescaled(&self, scale: f64, mu: &[f64], sd: &[f64]) -> Self;
}

/// `(x, t_x, T)` per customer with a covariate row each, for
/// BG/NBD with covariates (see [`CovariateModel`](super::CovariateModel)).
///
/// # Example
///
/// ```
/// use patronage::clv::covariates::{Covariates, CovariateRepeatData};
/// let z = Covariates::new(vec!["web".into()], vec![vec![0.0, 1.0, 1.0]])?;
/// let d = CovariateRepeatData::new(&[2.0, 2.0, 2.0], &[30.0, 30.0, 30.0], &[38.0; 3], &z)?;
/// assert_eq!(d.len(), 2); // the two web customers share one row
/// assert_eq!(d.n_customers(), 3.0);
/// # Ok::<(), patronage::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CovariateRepeatData {
    plain: RepeatData,
    names: Vec<String>,
    x: Vec<f64>,
    t_x: Vec<f64>,
    t: Vec<f64>,
    z: Vec<f64>,
    w: Vec<f64>,
}

impl CovariateRepeatData {
    /// Validates the columns as [`RepeatData::new`] does and compresses them with `z`
    /// (row `i` of `z` is customer `i`'s).
    ///
    /// # Errors
    ///
    /// As [`RepeatData::new`]; [`Error::InvalidOption`] when `z` has another number of
    /// rows.
    pub fn new(frequency: &[f64], recency: &[f64], t: &[f64], z: &Covariates) -> Result<Self> {
        let plain = RepeatData::new(frequency, recency, t)?;
        check_rows(frequency.len(), z)?;
        let rows = compress_with(&[frequency, recency, t], z);
        let [x, t_x, t]: [Vec<f64>; 3] = rows
            .columns
            .try_into()
            .map_err(|_| Error::invalid("covariates", "internal: three columns expected"))?;
        Ok(CovariateRepeatData {
            plain,
            names: z.names().to_vec(),
            x,
            t_x,
            t,
            z: rows.z,
            w: rows.w,
        })
    }

    /// The same customers without covariates.
    pub fn plain(&self) -> &RepeatData {
        &self.plain
    }

    /// Covariate names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Distinct `(x, t_x, T, z)` rows.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// True without rows (never, for a value built by [`CovariateRepeatData::new`]).
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// Customers (sum of weights).
    pub fn n_customers(&self) -> f64 {
        self.w.iter().sum()
    }

    pub(crate) fn row(&self, i: usize) -> (f64, f64, f64, &[f64], f64) {
        let k = self.names.len();
        (
            self.x[i],
            self.t_x[i],
            self.t[i],
            &self.z[i * k..(i + 1) * k],
            self.w[i],
        )
    }
}

impl CovariateData for CovariateRepeatData {
    type Plain = RepeatData;

    fn plain_data(&self) -> &RepeatData {
        &self.plain
    }

    fn covariate_names(&self) -> &[String] {
        &self.names
    }

    fn rows(&self) -> usize {
        self.x.len()
    }

    fn z_w(&self, i: usize) -> (&[f64], f64) {
        let (_, _, _, z, w) = self.row(i);
        (z, w)
    }

    fn rescaled(&self, scale: f64, mu: &[f64], sd: &[f64]) -> Self {
        let mut d = self.clone();
        d.t_x.iter_mut().for_each(|v| *v /= scale);
        d.t.iter_mut().for_each(|v| *v /= scale);
        standardise(&mut d.z, mu, sd);
        d
    }
}

/// Repeat customers' `(x, m)` (frequency, mean repeat spend) with a covariate row each,
/// for Gamma-Gamma with covariates. Customers without repeat
/// purchases or with a non-positive mean are left out, with their covariate rows, as
/// [`SpendData::new`] leaves them out.
///
/// # Example
///
/// ```
/// use patronage::clv::covariates::{Covariates, CovariateSpendData};
/// let z = Covariates::new(vec!["web".into()], vec![vec![0.0, 1.0, 0.0, 1.0]])?;
/// let d = CovariateSpendData::new(&[0.0, 2.0, 3.0, 1.0], &[0.0, 20.0, 35.5, 12.0], &z)?;
/// assert_eq!(d.n_customers(), 3.0); // the customer without repeat purchases is left out
/// # Ok::<(), patronage::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CovariateSpendData {
    plain: SpendData,
    names: Vec<String>,
    x: Vec<f64>,
    m: Vec<f64>,
    z: Vec<f64>,
    w: Vec<f64>,
}

impl CovariateSpendData {
    /// Validates the columns as [`SpendData::new`] does, keeps the customers it keeps and
    /// compresses them with their rows of `z`.
    ///
    /// # Errors
    ///
    /// As [`SpendData::new`]; [`Error::InvalidOption`] when `z` has another number of
    /// rows; as [`Covariates::new`] when a column is constant or collinear among the
    /// customers kept.
    pub fn new(frequency: &[f64], monetary: &[f64], z: &Covariates) -> Result<Self> {
        let plain = SpendData::new(frequency, monetary)?;
        check_rows(frequency.len(), z)?;
        let keep: Vec<bool> = frequency
            .iter()
            .zip(monetary)
            .map(|(x, m)| *x > 0.0 && *m > 0.0)
            .collect();
        let kept = z.select(&keep);
        // The kept customers' columns must still identify every coefficient.
        let zcols: Vec<Vec<f64>> = (0..kept.n_columns())
            .map(|j| (0..kept.n_rows()).map(|i| kept.row(i)[j]).collect())
            .collect();
        let kept = if zcols.is_empty() {
            kept
        } else {
            Covariates::new(kept.names().to_vec(), zcols)?
        };
        let xs: Vec<f64> = (0..keep.len())
            .filter(|&i| keep[i])
            .map(|i| frequency[i])
            .collect();
        let ms: Vec<f64> = (0..keep.len())
            .filter(|&i| keep[i])
            .map(|i| monetary[i])
            .collect();
        let rows = compress_with(&[&xs, &ms], &kept);
        let [x, m]: [Vec<f64>; 2] = rows
            .columns
            .try_into()
            .map_err(|_| Error::invalid("covariates", "internal: two columns expected"))?;
        Ok(CovariateSpendData {
            plain,
            names: z.names().to_vec(),
            x,
            m,
            z: rows.z,
            w: rows.w,
        })
    }

    /// The same customers without covariates.
    pub fn plain(&self) -> &SpendData {
        &self.plain
    }

    /// Covariate names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Distinct `(x, m, z)` rows.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// True without rows (never, for a value built by [`CovariateSpendData::new`]).
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// Customers fitted (sum of weights).
    pub fn n_customers(&self) -> f64 {
        self.w.iter().sum()
    }

    pub(crate) fn row(&self, i: usize) -> (f64, f64, &[f64], f64) {
        let k = self.names.len();
        (self.x[i], self.m[i], &self.z[i * k..(i + 1) * k], self.w[i])
    }
}

impl CovariateData for CovariateSpendData {
    type Plain = SpendData;

    fn plain_data(&self) -> &SpendData {
        &self.plain
    }

    fn covariate_names(&self) -> &[String] {
        &self.names
    }

    fn rows(&self) -> usize {
        self.x.len()
    }

    fn z_w(&self, i: usize) -> (&[f64], f64) {
        let (_, _, z, w) = self.row(i);
        (z, w)
    }

    fn rescaled(&self, scale: f64, mu: &[f64], sd: &[f64]) -> Self {
        let mut d = self.clone();
        d.m.iter_mut().for_each(|v| *v /= scale);
        standardise(&mut d.z, mu, sd);
        d
    }
}

/// Row-major covariate rows `z` (`k` per row) of the rows with a positive count.
fn kept_z(z: &[f64], k: usize, counts: &[f64]) -> Vec<f64> {
    (0..counts.len())
        .filter(|&i| counts[i] > 0.0)
        .flat_map(|i| z[i * k..(i + 1) * k].iter().copied())
        .collect()
}

/// A bootstrap resample: the same distinct rows (and covariate rows) with other
/// customer counts, the plain data rebuilt from them; nothing is read again.
impl Resample for CovariateRepeatData {
    fn row_weights(&self) -> &[f64] {
        &self.w
    }

    fn with_counts(&self, counts: &[f64]) -> Result<Self> {
        let (c, w) = kept(&[&self.x, &self.t_x, &self.t], counts);
        let plain = RepeatData::with_weights(&c[0], &c[1], &c[2], &w)?;
        let [x, t_x, t]: [Vec<f64>; 3] = c
            .try_into()
            .map_err(|_| Error::invalid("covariates", "internal: three columns expected"))?;
        Ok(CovariateRepeatData {
            plain,
            names: self.names.clone(),
            z: kept_z(&self.z, self.names.len(), counts),
            x,
            t_x,
            t,
            w,
        })
    }
}

/// As for [`CovariateRepeatData`]: the kept customers' rows with other counts.
impl Resample for CovariateSpendData {
    fn row_weights(&self) -> &[f64] {
        &self.w
    }

    fn with_counts(&self, counts: &[f64]) -> Result<Self> {
        let (c, w) = kept(&[&self.x, &self.m], counts);
        let plain = SpendData::with_weights(&c[0], &c[1], &w)?;
        let [x, m]: [Vec<f64>; 2] = c
            .try_into()
            .map_err(|_| Error::invalid("covariates", "internal: two columns expected"))?;
        Ok(CovariateSpendData {
            plain,
            names: self.names.clone(),
            z: kept_z(&self.z, self.names.len(), counts),
            x,
            m,
            w,
        })
    }
}
