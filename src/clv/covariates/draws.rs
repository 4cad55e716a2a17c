//! Parameter draws of a fit with covariates (issue #17 with issue #18): the base
//! parameters and the coefficients drawn together, so a customer's parameters under
//! draw `d` are [`CovariateDraws::for_customer`] at their covariate row.
//!
//! - **Asymptotic** ([`asymptotic_covariate_draws`]): `[ln base, coefficients]` from the
//!   multivariate normal of the fit's covariance over all of them
//!   ([`FitReport::log_covariance`](crate::clv::FitReport::log_covariance), in
//!   [`CovariateFit::param_names`] order), the base parameters exponentiated; the same
//!   streams and normal draws as the plain [`asymptotic_draws`](crate::clv::interval::asymptotic_draws).
//! - **Bootstrap over customers** ([`bootstrap_covariate_draws`]): multinomial counts on
//!   the compressed `(columns, z)` rows ([`Resample`]), each resample refitted from the
//!   estimate (no plain fit, no covariance); failed refits replaced as the plain
//!   [`bootstrap_draws`](crate::clv::interval::bootstrap_draws) replaces them, up to
//!   [`MAX_FAILED_REFIT_SHARE`](crate::clv::interval::MAX_FAILED_REFIT_SHARE) of the
//!   draws, else [`Error::BootstrapFailed`].

use std::marker::PhantomData;

use crate::clv::Fitted;
use crate::clv::covariates::fit::{check_row, individual, refit_from};
use crate::clv::covariates::{CovariateFit, CovariateModel};
use crate::clv::fit::{FitOptions, cholesky};
use crate::clv::interval::{
    IntervalMethod, IntervalOptions, Range, Resample, bootstrap_rounds, coordinate_ranges,
    normal_draws,
};
use crate::error::{Error, Result};

/// Joint parameter draws of a fit with covariates: `values[d]` is draw `d`'s base
/// parameters (natural scale) then coefficients, in [`CovariateDraws::names`] order.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CovariateDraws<M> {
    /// Parameter names ([`CovariateFit::param_names`]).
    pub names: Vec<String>,
    /// Covariate names, in the order a customer's row is read.
    pub covariates: Vec<String>,
    /// One parameter vector per draw.
    pub values: Vec<Vec<f64>>,
    /// How they were drawn.
    pub method: IntervalMethod,
    /// Bootstrap refits that failed and were replaced (0 for asymptotic draws).
    pub failed_refits: usize,
    _model: PhantomData<M>,
}

impl<M: CovariateModel> CovariateDraws<M> {
    /// The `level` interval of each parameter (quantiles of its draws), in
    /// [`CovariateDraws::names`] order.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] naming `clv.interval` for a level not in (0, 1).
    pub fn intervals(&self, level: f64) -> Result<Vec<Range>> {
        coordinate_ranges(&self.values, self.names.len(), level)
    }

    /// The plain model at draw `d`'s parameters for a customer with covariates `z` (in
    /// [`CovariateDraws::covariates`] order).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] (option `covariates`) for no draw `d`, or a `z` of the
    /// wrong length or not finite; [`Error::Model`] when a parameter overflows.
    pub fn for_customer(&self, d: usize, z: &[f64]) -> Result<Fitted<M>> {
        let values = self.values.get(d).ok_or_else(|| {
            Error::invalid(
                "covariates",
                format!("no draw {d}: there are {}", self.values.len()),
            )
        })?;
        check_row(&self.covariates, z)?;
        let nb = M::PARAM_NAMES.len();
        Fitted::from_params(&individual::<M>(&values[..nb], &values[nb..], z))
    }

    fn new(fit: &CovariateFit<M>, values: Vec<Vec<f64>>, method: IntervalMethod) -> Self {
        CovariateDraws {
            names: fit.param_names(),
            covariates: fit.covariate_names().to_vec(),
            values,
            method,
            failed_refits: 0,
            _model: PhantomData,
        }
    }
}

/// Draws base parameters and coefficients together from the fit's asymptotic normal:
/// `[ln base, coefficients] = [ln base_hat, coefficients_hat] + L z` with `L Lᵀ` the
/// fit's covariance, seeded (`options.seed`, one stream per draw, as the plain draws).
///
/// # Errors
///
/// [`Error::InvalidOption`] for bad options ([`IntervalOptions::validate`]);
/// [`Error::Model`] when the fit has no covariance (its Hessian was not positive
/// definite).
///
/// # Example
///
/// ```
/// use patronage::clv::BgNbd;
/// use patronage::clv::covariates::{Covariates, CovariateFit, CovariateRepeatData};
/// use patronage::clv::covariates::draws::asymptotic_covariate_draws;
/// use patronage::clv::interval::IntervalOptions;
/// use patronage::simulate::{Process, simulate_covariate_repeat_data};
/// let web: Vec<f64> = (0..400).map(|i| (i % 2) as f64).collect();
/// let z = Covariates::new(vec!["web".into()], vec![web])?;
/// let p = Process::BgNbd { r: 0.8, alpha: 5.0, a: 0.8, b: 2.5 };
/// let sim = simulate_covariate_repeat_data(&p, &z, &[0.4, 0.0, 0.0], 30.0, 52.0, 7)?;
/// let data = CovariateRepeatData::new(&sim.frequency, &sim.recency, &sim.t, &z)?;
/// let fit = CovariateFit::<BgNbd>::fit(&data, &Default::default())?;
/// let draws = asymptotic_covariate_draws(&fit, &IntervalOptions::new(0.9).draws(50))?;
/// assert_eq!(draws.names[4], "purchase.web");
/// let web_customer = draws.for_customer(0, &[1.0])?; // draw 0's BG/NBD for a web customer
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn asymptotic_covariate_draws<M: CovariateModel>(
    fit: &CovariateFit<M>,
    options: &IntervalOptions,
) -> Result<CovariateDraws<M>> {
    options.validate()?;
    let nb = M::PARAM_NAMES.len();
    let dim = nb + fit.coefficients().len();
    let chol = cholesky(&fit.report().log_covariance)
        .filter(|l| l.len() == dim)
        .ok_or_else(|| Error::Model {
            model: format!("{} with covariates", M::NAME),
            reason: "the fit has no covariance: the Hessian at the estimate was not positive definite (standard errors NaN); use the bootstrap, or fewer covariates".into(),
        })?;
    let centre: Vec<f64> = fit
        .base()
        .iter()
        .map(|v| v.ln())
        .chain(fit.coefficients().iter().copied())
        .collect();
    let values = normal_draws::<M>(&centre, &chol, options, nb);
    Ok(CovariateDraws::new(fit, values, IntervalMethod::Asymptotic))
}

/// Draws base parameters and coefficients by refitting on customers resampled with
/// replacement (multinomial counts on `data`'s compressed rows), each refit starting at
/// `fit`'s estimate; failed refits are replaced by fresh resamples as in
/// [`bootstrap_draws`](crate::clv::interval::bootstrap_draws).
///
/// # Errors
///
/// [`Error::InvalidOption`] for bad options; [`Error::BootstrapFailed`] when more than
/// [`max_failed_refits`](crate::clv::interval::max_failed_refits) refits failed.
///
/// # Example
///
/// ```
/// use patronage::clv::BgNbd;
/// use patronage::clv::covariates::{Covariates, CovariateFit, CovariateRepeatData};
/// use patronage::clv::covariates::draws::bootstrap_covariate_draws;
/// use patronage::clv::interval::IntervalOptions;
/// use patronage::simulate::{Process, simulate_covariate_repeat_data};
/// let web: Vec<f64> = (0..400).map(|i| (i % 2) as f64).collect();
/// let z = Covariates::new(vec!["web".into()], vec![web])?;
/// let p = Process::BgNbd { r: 0.8, alpha: 5.0, a: 0.8, b: 2.5 };
/// let sim = simulate_covariate_repeat_data(&p, &z, &[0.4, 0.0, 0.0], 30.0, 52.0, 7)?;
/// let data = CovariateRepeatData::new(&sim.frequency, &sim.recency, &sim.t, &z)?;
/// let fit = CovariateFit::<BgNbd>::fit(&data, &Default::default())?;
/// let draws = bootstrap_covariate_draws(&fit, &data, &Default::default(), &IntervalOptions::new(0.9).draws(10))?;
/// assert_eq!(draws.values.len(), 10);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn bootstrap_covariate_draws<M: CovariateModel>(
    fit: &CovariateFit<M>,
    data: &M::CovData,
    fit_options: &FitOptions,
    options: &IntervalOptions,
) -> Result<CovariateDraws<M>>
where
    M::CovData: Resample,
{
    options.validate()?;
    let (base, coefs) = (fit.base(), fit.coefficients());
    let (values, failed) = bootstrap_rounds::<M>(data.row_weights(), options, |counts| {
        let resample = data.with_counts(counts)?;
        refit_from::<M>(&resample, fit_options, base, coefs)
    })?;
    let mut draws = CovariateDraws::new(fit, values, IntervalMethod::Bootstrap);
    draws.failed_refits = failed;
    Ok(draws)
}

/// Draws the way `options.method` says: [`asymptotic_covariate_draws`] or
/// [`bootstrap_covariate_draws`].
///
/// # Errors
///
/// As the method's function.
pub fn covariate_draws<M: CovariateModel>(
    fit: &CovariateFit<M>,
    data: &M::CovData,
    fit_options: &FitOptions,
    options: &IntervalOptions,
) -> Result<CovariateDraws<M>>
where
    M::CovData: Resample,
{
    match options.method {
        IntervalMethod::Asymptotic => asymptotic_covariate_draws(fit, options),
        IntervalMethod::Bootstrap => bootstrap_covariate_draws(fit, data, fit_options, options),
    }
}

#[cfg(all(test, feature = "frames"))]
mod tests {
    use super::*;
    use crate::clv::BgNbd;
    use crate::clv::covariates::{CovariateRepeatData, Covariates};
    use crate::simulate::{Process, simulate_covariate_repeat_data};

    fn fitted(coefs: &[f64], seed: u64) -> (CovariateFit<BgNbd>, CovariateRepeatData) {
        let n = 2_000;
        let web: Vec<f64> = (0..n).map(|i| (i % 2) as f64).collect();
        let z = Covariates::new(vec!["web".into()], vec![web]).unwrap();
        let p = Process::BgNbd {
            r: 0.8,
            alpha: 5.0,
            a: 0.8,
            b: 2.5,
        };
        let s = simulate_covariate_repeat_data(&p, &z, coefs, 30.0, 52.0, seed).unwrap();
        let data = CovariateRepeatData::new(&s.frequency, &s.recency, &s.t, &z).unwrap();
        (
            CovariateFit::fit(&data, &FitOptions::default()).unwrap(),
            data,
        )
    }

    #[test]
    fn covariate_draws_sample_covariance_approaches_the_fit_covariance() {
        let (fit, _) = fitted(&[0.4, 0.0, 0.2], 3);
        let draws =
            asymptotic_covariate_draws(&fit, &IntervalOptions::new(0.9).draws(20_000)).unwrap();
        let nb = 4;
        let u: Vec<Vec<f64>> = draws
            .values
            .iter()
            .map(|v| {
                v.iter()
                    .enumerate()
                    .map(|(i, x)| if i < nb { x.ln() } else { *x })
                    .collect()
            })
            .collect();
        let dim = u[0].len();
        let n = u.len() as f64;
        let mean: Vec<f64> = (0..dim)
            .map(|j| u.iter().map(|v| v[j]).sum::<f64>() / n)
            .collect();
        let cov = &fit.report().log_covariance;
        for i in 0..dim {
            for j in 0..dim {
                let s: f64 = u
                    .iter()
                    .map(|v| (v[i] - mean[i]) * (v[j] - mean[j]))
                    .sum::<f64>()
                    / (n - 1.0);
                // Within 5% of the scale sqrt(c_ii c_jj) (Monte Carlo sd ~1% at 20,000).
                let scale = (cov[i][i] * cov[j][j]).sqrt();
                assert!(
                    (s - cov[i][j]).abs() <= 0.05 * scale,
                    "({i}, {j}): {s} vs {}",
                    cov[i][j]
                );
            }
        }
    }

    #[test]
    fn covariate_draws_repeat_with_the_seed_and_on_any_thread_count() {
        let (fit, data) = fitted(&[0.4, 0.0, 0.0], 4);
        let options = IntervalOptions::new(0.9).draws(12);
        let boot = IntervalOptions {
            method: IntervalMethod::Bootstrap,
            ..options
        };
        let on = |threads: usize, o: &IntervalOptions| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| covariate_draws(&fit, &data, &FitOptions::default(), o).unwrap())
        };
        for o in [options, boot] {
            let one = on(1, &o);
            assert_eq!(one, on(2, &o));
            assert_eq!(one, on(2, &o));
            assert_eq!(one.values.len(), 12);
        }
        // Another seed, other draws.
        assert_ne!(on(1, &options.seed(5)).values, on(1, &options).values);
    }

    #[test]
    fn covariate_draws_refuse_bad_options_and_rows() {
        let (fit, data) = fitted(&[0.4, 0.0, 0.0], 4);
        let e = asymptotic_covariate_draws(&fit, &IntervalOptions::new(1.0)).unwrap_err();
        assert!(matches!(e, Error::InvalidOption { ref option, .. } if option == "clv.interval"));
        let e = bootstrap_covariate_draws(
            &fit,
            &data,
            &FitOptions::default(),
            &IntervalOptions::new(0.9).draws(1),
        )
        .unwrap_err();
        assert!(matches!(e, Error::InvalidOption { ref option, .. } if option == "clv.draws"));
        let draws = asymptotic_covariate_draws(&fit, &IntervalOptions::new(0.9).draws(3)).unwrap();
        for (d, z) in [(0, vec![]), (0, vec![f64::NAN]), (3, vec![1.0])] {
            let e = draws.for_customer(d, &z).unwrap_err();
            assert!(matches!(e, Error::InvalidOption { ref option, .. } if option == "covariates"));
        }
        // Draw 0 at z = 0 is its base parameters.
        let m = draws.for_customer(0, &[0.0]).unwrap();
        assert_eq!(m.params(), &draws.values[0][..4]);
    }
}
