//! Profile-likelihood intervals for a model's parameters.
//!
//! The asymptotic intervals assume the log-likelihood is quadratic in the
//! log-parameters; at a few thousand customers it is not for every model (MBG/NBD's
//! `ln r` and `ln b` have a wider, skewed sampling distribution there: issue #17,
//! docs/benchmarks.md). The profile interval of parameter `j` makes no such assumption:
//! it is the set of values `theta_j` whose profile deviance
//! `D(theta_j) = 2 (ll_hat - max over the other parameters of ll)` is at most the
//! chi-square(1) quantile at the level (`z^2` with `z` the `(1 + level) / 2` normal
//! quantile: 2.7055 at 0.9). It is invariant to reparametrisation, so asymmetric where
//! the likelihood is.
//!
//! **How each bound is found.** The work is in the fit's own coordinates (log-parameters
//! of the time-rescaled data, [`crate::clv::fit`]). From the estimate the search steps
//! out to the asymptotic bound (`z` standard errors), then doubles the step until the
//! deviance passes the quantile, refitting the other parameters at each point from the
//! nearest point already refitted (warm start); then Brent's method on
//! `sqrt(D) - z`, which is nearly linear in the log-parameter, closes in on the bound.
//! A profile that stays below the quantile out to the edge of the parameter space (a
//! parameter a million-fold off the data's scale, [`RUNAWAY_LOG`]) has no bound on that
//! side: the lower bound is then reported as 0 and the upper as `+inf`, not invented.
//!
//! **Penalised fits.** With a penalizer the profile is of the penalised log-likelihood
//! the fit maximised, so the interval is consistent with the estimate it surrounds.
//!
//! **Deterministic.** No randomness; the `2 k` bound searches are independent and each is
//! sequential, so they run in parallel and give the same result on any number of threads.

use rayon::prelude::*;
use statrs::function::erf::erf_inv;

use super::{Range, check_level};
use crate::clv::Fitted;
use crate::clv::fit::{
    FitOptions, Model, Objective, RUNAWAY_LOG, Scaled, Smooth, lbfgs_restarts, norm, validate,
};
use crate::clv::root::{Tolerance, brent};
use crate::error::{Error, Result};

/// The chi-square(1) quantile at `level`: `z^2` with `z` the `(1 + level) / 2` quantile of
/// the standard normal. The profile deviance at either bound of a profile interval.
///
/// # Errors
///
/// [`Error::InvalidOption`] naming `clv.interval` for a level not strictly between 0 and
/// 1.
///
/// # Example
///
/// ```
/// use patronage::clv::interval::profile_threshold;
/// assert!((profile_threshold(0.9)? - 2.705_543).abs() < 1e-6);
/// assert!((profile_threshold(0.95)? - 3.841_459).abs() < 1e-6);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn profile_threshold(level: f64) -> Result<f64> {
    check_level(level)?;
    // The (1 + level) / 2 normal quantile is sqrt(2) erfinv(level).
    let z = std::f64::consts::SQRT_2 * erf_inv(level);
    Ok(z * z)
}

/// The profile-likelihood interval at `level` of each parameter of `fit` (fitted on
/// `data` with `fit_options`), in parameter order. A side on which the profile deviance
/// stays below the quantile out to the edge of the parameter space has no bound: the
/// lower bound is then 0 and the upper `f64::INFINITY`. The module documentation says
/// how the bounds are found.
///
/// # Errors
///
/// [`Error::InvalidOption`] naming `clv.interval` for a level not strictly between 0 and
/// 1, the fit options' own checks, and naming `data` or `clv.fit.penalizer` when `data`
/// or the penalizer are not those of the fit; [`Error::Model`] for a model built from
/// known parameters (there is no maximum to profile around); [`Error::NotConverged`] when
/// the estimate is not a maximum on `data`, or a refit of the other parameters at a
/// fixed value fails.
///
/// # Example
///
/// ```
/// use patronage::clv::{BgNbd, FitOptions, RepeatData};
/// use patronage::clv::interval::profile_intervals;
/// let data = RepeatData::new(
///     &[0.0, 1.0, 3.0, 0.0, 2.0, 5.0, 1.0, 0.0, 4.0, 2.0],
///     &[0.0, 5.0, 20.0, 0.0, 12.0, 30.0, 2.0, 0.0, 25.0, 8.0],
///     &[30.0, 32.0, 35.0, 20.0, 33.0, 36.0, 31.0, 25.0, 34.0, 29.0],
/// )?;
/// let options = FitOptions { penalizer: 0.01, ..FitOptions::default() };
/// let fit = BgNbd::fitter().penalizer(0.01).fit(&data)?;
/// let ranges = profile_intervals(&fit, &data, &options, 0.9)?;
/// for (range, estimate) in ranges.iter().zip(fit.params()) {
///     assert!(range.lo < *estimate && *estimate < range.hi);
/// }
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn profile_intervals<M: Model>(
    fit: &Fitted<M>,
    data: &M::Data,
    fit_options: &FitOptions,
    level: f64,
) -> Result<Vec<Range>> {
    let q = profile_threshold(level)?;
    let profiler = Profiler::new(fit, data, fit_options)?;
    let k = M::PARAM_NAMES.len();
    // Bound 2 j is parameter j's lower, 2 j + 1 its upper.
    let bounds: Vec<Result<f64>> = (0..2 * k)
        .into_par_iter()
        .map(|b| profiler.bound(b / 2, if b % 2 == 0 { -1.0 } else { 1.0 }, q))
        .collect();
    let mut out = Vec::with_capacity(k);
    let mut bounds = bounds.into_iter();
    // In parameter order, so the error reported is the same on any thread count.
    while let (Some(lo), Some(hi)) = (bounds.next(), bounds.next()) {
        out.push(Range { lo: lo?, hi: hi? });
    }
    Ok(out)
}

/// The profile deviance of `fit` on `data` at `parameter = value`: twice the drop of the
/// (penalised) log-likelihood from its maximum when that parameter is held at `value`
/// and the others are refitted (walking out from the estimate). 0 at the estimate; a profile
/// interval's bounds are where it equals [`profile_threshold`].
///
/// # Errors
///
/// [`Error::InvalidOption`] naming `parameter` for an unknown name or a value that is
/// not positive and finite, and as [`profile_intervals`].
///
/// # Example
///
/// ```
/// use patronage::clv::{GammaGamma, FitOptions, SpendData};
/// use patronage::clv::interval::profile_deviance;
/// let data = SpendData::new(&[1.0, 2.0, 3.0, 1.0, 4.0, 2.0, 5.0], &[10.0, 20.0, 15.0, 30.0, 12.0, 18.0, 25.0])?;
/// let options = FitOptions { penalizer: 0.01, ..FitOptions::default() };
/// let fit = GammaGamma::fitter().penalizer(0.01).fit(&data)?;
/// let p = fit.param("p").unwrap();
/// assert!(profile_deviance(&fit, &data, &options, "p", p)?.abs() < 1e-6);
/// assert!(profile_deviance(&fit, &data, &options, "p", 2.0 * p)? > 0.0);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn profile_deviance<M: Model>(
    fit: &Fitted<M>,
    data: &M::Data,
    fit_options: &FitOptions,
    parameter: &str,
    value: f64,
) -> Result<f64> {
    let j = M::PARAM_NAMES
        .iter()
        .position(|n| *n == parameter)
        .ok_or_else(|| {
            Error::invalid(
                "parameter",
                format!(
                    "{} has no parameter `{parameter}` (it has {})",
                    M::NAME,
                    M::PARAM_NAMES.join(", ")
                ),
            )
        })?;
    if !(value.is_finite() && value > 0.0) {
        return Err(Error::invalid(
            "parameter",
            format!("{parameter} = {value} must be positive and finite"),
        ));
    }
    let profiler = Profiler::new(fit, data, fit_options)?;
    let obj = profiler.scaled.objective(profiler.options.penalizer);
    let target = (value / profiler.scaled.unit_factor[j]).ln();
    // Walk out from the estimate in steps of a standard error, each refit warm-started
    // from the last: a refit started from the estimate's other parameters can fail far
    // out, where those have moved a long way.
    let from = profiler.centre[j];
    let steps = ((target - from).abs() / profiler.log_se[j].max(1e-3))
        .ceil()
        .clamp(1.0, MAX_WALK);
    let mut free = without(&profiler.centre, j);
    let mut d = 0.0;
    for i in 1..=steps as usize {
        let psi = from + (target - from) * i as f64 / steps;
        (d, free) = profiler.deviance(&obj, j, psi, &free)?;
    }
    Ok(d)
}

/// Steps at most on [`profile_deviance`]'s walk out from the estimate.
const MAX_WALK: f64 = 200.0;

/// The fit's objective around its maximum, ready to be profiled.
struct Profiler<'a, M: Model> {
    scaled: Scaled<M>,
    options: &'a FitOptions,
    /// The maximum in scaled log-parameters (the estimate, polished).
    centre: Vec<f64>,
    /// The mean objective there.
    minimum: f64,
    /// Per parameter, the asymptotic standard error of its log (the first step out).
    log_se: Vec<f64>,
}

/// The other parameters' values: `u` without coordinate `j`.
fn without(u: &[f64], j: usize) -> Vec<f64> {
    u.iter()
        .enumerate()
        .filter(|(i, _)| *i != j)
        .map(|(_, v)| *v)
        .collect()
}

/// The full point: `free` with `psi` inserted at `j`.
fn with(free: &[f64], j: usize, psi: f64) -> Vec<f64> {
    let mut p = free.to_vec();
    p.insert(j, psi);
    p
}

/// The objective with parameter `j` held at `psi`, over the other parameters.
struct Fixed<'a, 'b, M: Model> {
    inner: &'b Objective<'a, M>,
    j: usize,
    psi: f64,
}

impl<M: Model> Smooth for Fixed<'_, '_, M> {
    fn value_grad(&self, free: &[f64]) -> (f64, Vec<f64>) {
        let (v, mut g) = self.inner.value_grad(&with(free, self.j, self.psi));
        g.remove(self.j);
        (v, g)
    }
}

/// L-BFGS runs at most per refit (the first and restarts from where it stopped: a run
/// can stop early on a line-search failure while still improving).
const RESTARTS: usize = 4;
/// Where Brent's method stops on a bound: the log-parameter within 1e-10, or
/// `sqrt(D) - z` within 1e-10 (the deviance within about `2 z` times it of the
/// quantile); at most 100 evaluations (it needs about 10 on these smooth profiles).
const BOUND_TOLERANCE: Tolerance = Tolerance {
    x: 1e-10,
    f: 1e-10,
    max_iterations: 100,
};

impl<'a, M: Model> Profiler<'a, M> {
    fn new(fit: &Fitted<M>, data: &M::Data, options: &'a FitOptions) -> Result<Self> {
        let k = M::PARAM_NAMES.len();
        validate(options, k)?;
        let report = fit.report().ok_or_else(|| Error::Model {
            model: M::NAME.into(),
            reason: "the model was built from known parameters, not fitted: there is no maximum likelihood to profile around".into(),
        })?;
        let (n, n_distinct) = M::size(data);
        if n != report.n_customers || n_distinct != report.n_distinct {
            return Err(Error::invalid(
                "data",
                format!(
                    "the {} fit was on {} customers ({} distinct rows), these data hold {n} ({n_distinct}): profile on the data that were fitted",
                    M::NAME,
                    report.n_customers,
                    report.n_distinct
                ),
            ));
        }
        if options.penalizer != report.penalizer {
            return Err(Error::invalid(
                "clv.fit.penalizer",
                format!(
                    "the fit used penalizer {}, not {}: profile with the fit's own",
                    report.penalizer, options.penalizer
                ),
            ));
        }
        let scaled = Scaled::<M>::new(data);
        let obj = scaled.objective(options.penalizer);
        // The deviance is measured from the maximum, so the estimate is polished first:
        // a fit stopped at a gradient norm of 1e-5 can sit a little below it.
        let estimate = scaled.to_log(fit.params());
        let (centre, iterations) = refit(&obj, estimate, options);
        let (minimum, g) = obj.value_grad(&centre);
        let gradient_norm = norm(&g);
        if !(minimum.is_finite() && gradient_norm <= options.tolerance.max(1e-5)) {
            return Err(Error::NotConverged {
                model: M::NAME.into(),
                iterations,
                gradient_norm,
                hint: "the estimate is not a maximum of the likelihood on these data: profile on the data and with the options of the fit".into(),
            });
        }
        let log_se = (0..k)
            .map(|j| {
                let v = report
                    .log_covariance
                    .get(j)
                    .and_then(|row| row.get(j))
                    .copied()
                    .unwrap_or(f64::NAN);
                // Without a usable covariance the search starts with a modest step and
                // doubles it.
                if v.is_finite() && v > 0.0 {
                    v.sqrt()
                } else {
                    0.5
                }
            })
            .collect();
        Ok(Profiler {
            scaled,
            options,
            centre,
            minimum,
            log_se,
        })
    }

    /// The deviance at `psi` (parameter `j`'s scaled log), the other parameters refitted
    /// from `from`; with the refitted other parameters.
    fn deviance(
        &self,
        obj: &Objective<'_, M>,
        j: usize,
        psi: f64,
        from: &[f64],
    ) -> Result<(f64, Vec<f64>)> {
        let fixed = Fixed { inner: obj, j, psi };
        let (free, iterations) = if from.is_empty() {
            (Vec::new(), 0)
        } else {
            refit(&fixed, from.to_vec(), self.options)
        };
        let (v, g) = fixed.value_grad(&free);
        let gradient_norm = norm(&g);
        if !(v.is_finite() && gradient_norm <= self.options.tolerance.max(1e-5)) {
            return Err(Error::NotConverged {
                model: M::NAME.into(),
                iterations,
                gradient_norm,
                hint: format!(
                    "profiling {} at {}: the other parameters have no maximum there; the profile interval is not available (use the asymptotic or bootstrap interval)",
                    M::PARAM_NAMES[j],
                    psi.exp() * self.scaled.unit_factor[j]
                ),
            });
        }
        Ok((2.0 * self.scaled.n * (v - self.minimum), free))
    }

    /// Parameter `j`'s bound on side `side` (-1 lower, +1 upper) where the deviance is
    /// `q`, in the data's units; 0 or infinity when there is none.
    fn bound(&self, j: usize, side: f64, q: f64) -> Result<f64> {
        let obj = self.scaled.objective(self.options.penalizer);
        let z = q.sqrt();
        let psi_hat = self.centre[j];
        // The edge of the parameter space, and never nearer than a step past the estimate.
        let edge = side * RUNAWAY_LOG.max(psi_hat.abs() + 1.0);
        // Points refitted so far: (psi, sqrt(D) - z, other parameters).
        let mut seen: Vec<(f64, f64, Vec<f64>)> = vec![(psi_hat, -z, without(&self.centre, j))];
        let eval = |psi: f64, seen: &mut Vec<(f64, f64, Vec<f64>)>| -> Result<f64> {
            // Warm start from the nearest point refitted.
            let near = seen
                .iter()
                .min_by(|a, b| (a.0 - psi).abs().total_cmp(&(b.0 - psi).abs()))
                .map(|p| p.2.clone())
                .unwrap_or_default();
            let (d, free) = self.deviance(&obj, j, psi, &near)?;
            let f = d.max(0.0).sqrt() - z;
            seen.push((psi, f, free));
            Ok(f)
        };
        // Bracket: out to the asymptotic bound, then doubling.
        let mut step = (z * self.log_se[j]).max(1e-3);
        let (mut inner, mut f_inner) = (psi_hat, -z);
        let (outer, f_outer) = loop {
            let psi = if side > 0.0 {
                (psi_hat + step).min(edge)
            } else {
                (psi_hat - step).max(edge)
            };
            let f = eval(psi, &mut seen)?;
            if f >= 0.0 {
                break (psi, f);
            }
            if psi == edge {
                // Flat out to the edge: no bound on this side.
                return Ok(if side > 0.0 { f64::INFINITY } else { 0.0 });
            }
            (inner, f_inner) = (psi, f);
            step *= 2.0;
        };
        let psi = brent(inner, f_inner, outer, f_outer, BOUND_TOLERANCE, |psi| {
            eval(psi, &mut seen)
        })?;
        Ok(psi.exp() * self.scaled.unit_factor[j])
    }
}

/// Minimises `obj` from `start` (L-BFGS with restarts while it improves), down to the
/// fit's own tolerance: the best point and the iterations used.
fn refit<O: Smooth>(obj: &O, start: Vec<f64>, options: &FitOptions) -> (Vec<f64>, u64) {
    lbfgs_restarts(obj, start, options, RESTARTS, options.tolerance)
}

#[cfg(test)]
#[path = "profile_tests.rs"]
mod tests;
