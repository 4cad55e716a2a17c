//! How sure the scores are: intervals for the parameters, and per customer for
//! P(alive), expected purchases, expected spend and CLV, and for customer equity (the
//! sum of CLV), from the uncertainty of the fitted parameters (issue #17).
//!
//! Two ways to draw parameters:
//!
//! - **Asymptotic** ([`asymptotic_draws`]): the fit works on log-parameters, and its
//!   Hessian there gives the asymptotic covariance `Cov(ln theta)` (kept in
//!   [`FitReport::log_covariance`]; the standard errors come from the same matrix). Each
//!   draw is `ln theta_hat + L z` with `L L^T` that covariance and `z` standard normal, so
//!   every drawn parameter is positive.
//! - **Bootstrap over customers** ([`bootstrap_draws`]): each draw refits the model on
//!   the compressed rows with multinomial weights (as many customers as the data hold,
//!   drawn with replacement), starting from the estimate; the data are not read again.
//!
//! For the parameters alone there is a third way, without draws: **profile likelihood**
//! ([`profile_intervals`]), the values whose profile deviance is within the chi-square(1)
//! quantile of the level. It follows a skewed likelihood where the asymptotic normal
//! cannot (MBG/NBD at a few thousand customers), and gives no per-customer draws, so
//! the scores' intervals keep to the two methods above.
//!
//! Each draw re-scores every customer ([`score_intervals`]; for BG/BB, whose scores
//! count discrete opportunities, [`bgbb_intervals`]) and a customer's interval is
//! the `(1 - level) / 2` and `(1 + level) / 2` quantiles of that customer's draws (linear
//! interpolation between order statistics); customer equity's interval is the same
//! quantiles of the per-draw sums. The purchase model and Gamma-Gamma are fitted
//! independently, so their parameters are drawn independently and draw `d` of one is
//! paired with draw `d` of the other.
//!
//! **Failed refits.** On some resamples the model has no finite optimum (MBG/NBD on
//! 2,357 customers: at least 3 refits of the coverage simulation's 40,000 ran off to infinite
//! parameters) and the
//! refit fails. [`bootstrap_draws`] then replaces that resample by a fresh one for the
//! same draw (its own stream, keyed by seed, draw and attempt), and gives up with
//! [`Error::BootstrapFailed`] past [`max_failed_refits`] failures, a tenth of the draws
//! ([`MAX_FAILED_REFIT_SHARE`]); the count replaced is [`ParameterDraws::failed_refits`]
//! (and `bootstrap_failed_refits` in the JSON and report). Replacing conditions the
//! bootstrap distribution on "the refit succeeded". That is acceptable because the
//! estimate being bootstrapped exists only on such samples: the fit itself succeeded on
//! the data, so the interval describes the estimator where it is defined, which is
//! what the published bootstrap practice (and every refit-based library that skips
//! non-converged replicates) reports. The bias it can bring: the failed resamples are
//! not random ones but those pushing a parameter towards the edge (a dropout or
//! heterogeneity parameter towards infinity), so leaving them out trims that tail and
//! the interval on that side is too short, by at most the share replaced. At a few
//! refits in a thousand this is far below the Monte Carlo error of the quantiles; near
//! the 10% cap it is not, which is why the cap is there and why the count is reported:
//! a high count says the data hardly pin that parameter down (use the asymptotic
//! interval with care too, or a penalizer).
//!
//! **Deterministic.** Draw `d` of a model takes its random numbers from its own ChaCha8
//! stream: seed [`IntervalOptions::seed`], stream `2 d` for the purchase model and
//! `2 d + 1` for Gamma-Gamma (and for any other model, `2 d`). Scoring splits customers
//! into fixed chunks and adds the per-draw sums in chunk order, so the result is the same
//! on any number of threads.
//!
//! **Cost.** Scoring is `draws x customers` evaluations of P(alive), plus
//! `draws x distinct (x, T)` evaluations of the expected-if-alive path (once per
//! discounting step, or once in all without discounting); customers sharing `(x, t_x, T)`
//! share their P(alive) draws.
//!
//! ```
//! use patronage::clv::{BgNbd, RepeatData, ClvOptions};
//! use patronage::clv::interval::{asymptotic_draws, score_intervals, IntervalOptions};
//! use patronage::clv::value::CustomerInputs;
//! let (x, t_x, t) = (
//!     [0.0, 1.0, 3.0, 0.0, 2.0, 5.0, 1.0, 0.0],
//!     [0.0, 5.0, 20.0, 0.0, 12.0, 30.0, 2.0, 0.0],
//!     [30.0, 32.0, 35.0, 20.0, 33.0, 36.0, 31.0, 25.0],
//! );
//! let fit = BgNbd::fitter().penalizer(0.01).fit(&RepeatData::new(&x, &t_x, &t)?)?;
//! let options = IntervalOptions::new(0.9).draws(200);
//! let draws = asymptotic_draws(&fit, &options)?;
//! let models = draws.models()?;
//! let input = CustomerInputs { x: &x, t_x: &t_x, t: &t, monetary: &[1.0; 8] };
//! let iv = score_intervals(&models, None, input, &ClvOptions::default(), options.level)?;
//! assert!(iv.p_alive.lo[5] <= iv.p_alive.hi[5]);
//! assert!(iv.customer_equity.lo <= iv.customer_equity.hi);
//! # Ok::<(), patronage::Error>(())
//! ```

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::clv::fit::{FitOptions, FitReport, Fitter, Model, cholesky};
use crate::clv::value::{
    ClvOptions, CustomerInputs, Distinct, Margin, discount_grid, pair_value, validate,
};
use crate::clv::{DiscreteData, Fitted, GammaGamma, PurchaseModel, RepeatData, SpendData};
use crate::error::{Error, Result};
use crate::stats::quantile_in_place;

mod discrete;
mod profile;
pub use discrete::{DiscreteIntervals, bgbb_intervals};
pub use profile::{profile_deviance, profile_intervals, profile_threshold};

/// The seed used when none is given: intervals are reproducible by default.
pub const DEFAULT_SEED: u64 = 17;
/// Draws when none are given.
pub const DEFAULT_DRAWS: usize = 500;
/// The most draws accepted: memory grows with draws times the customers of one chunk.
pub const MAX_DRAWS: usize = 100_000;

/// How parameters are drawn (`asymptotic` or `bootstrap` in JSON and TOML).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum IntervalMethod {
    /// From the fit's asymptotic normal in log-parameter space (default).
    #[default]
    Asymptotic,
    /// Refits on customers resampled with replacement.
    Bootstrap,
}

impl IntervalMethod {
    /// `asymptotic` or `bootstrap`.
    pub fn name(self) -> &'static str {
        match self {
            IntervalMethod::Asymptotic => "asymptotic",
            IntervalMethod::Bootstrap => "bootstrap",
        }
    }
}

/// What interval to compute: level, number of draws, seed and method.
///
/// # Example
///
/// ```
/// use patronage::clv::interval::{IntervalOptions, IntervalMethod, DEFAULT_SEED};
/// let o = IntervalOptions::new(0.8).draws(100).method(IntervalMethod::Bootstrap);
/// assert_eq!((o.level, o.draws, o.seed), (0.8, 100, DEFAULT_SEED));
/// assert!(o.validate().is_ok());
/// assert!(IntervalOptions::new(1.0).validate().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IntervalOptions {
    /// Nominal coverage, strictly between 0 and 1 (0.9 = the 5% and 95% quantiles).
    pub level: f64,
    /// Parameter draws, at least 2.
    pub draws: usize,
    /// Seed of the draws' random streams.
    pub seed: u64,
    /// How parameters are drawn.
    pub method: IntervalMethod,
}

impl Default for IntervalOptions {
    /// Level 0.9, [`DEFAULT_DRAWS`] draws, [`DEFAULT_SEED`], asymptotic.
    fn default() -> Self {
        IntervalOptions {
            level: 0.9,
            draws: DEFAULT_DRAWS,
            seed: DEFAULT_SEED,
            method: IntervalMethod::Asymptotic,
        }
    }
}

impl IntervalOptions {
    /// The defaults at another level.
    pub fn new(level: f64) -> Self {
        IntervalOptions {
            level,
            ..IntervalOptions::default()
        }
    }

    /// Sets the number of draws.
    pub fn draws(mut self, draws: usize) -> Self {
        self.draws = draws;
        self
    }

    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the method.
    pub fn method(mut self, method: IntervalMethod) -> Self {
        self.method = method;
        self
    }

    /// Checks the settings.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] naming `clv.interval` for a level not strictly between 0
    /// and 1, `clv.draws` for fewer than 2 or more than [`MAX_DRAWS`] draws.
    pub fn validate(&self) -> Result<()> {
        check_level(self.level)?;
        if !(2..=MAX_DRAWS).contains(&self.draws) {
            return Err(Error::invalid(
                "clv.draws",
                format!("must be between 2 and {MAX_DRAWS}, got {}", self.draws),
            ));
        }
        Ok(())
    }
}

fn check_level(level: f64) -> Result<()> {
    if !(level.is_finite() && level > 0.0 && level < 1.0) {
        return Err(Error::invalid(
            "clv.interval",
            format!("the level must be strictly between 0 and 1, got {level}"),
        ));
    }
    Ok(())
}

/// A lower and an upper bound.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Range {
    /// The `(1 - level) / 2` quantile.
    pub lo: f64,
    /// The `(1 + level) / 2` quantile.
    pub hi: f64,
}

impl Range {
    /// The `level` interval of `values` (reorders them); NaN bounds for no values.
    fn of(values: &mut [f64], level: f64) -> Range {
        let lo = quantile_in_place(values, (1.0 - level) / 2.0);
        let hi = quantile_in_place(values, (1.0 + level) / 2.0);
        Range { lo, hi }
    }
}

/// Per-customer lower and upper bounds, in input order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Bounds {
    /// Lower bounds.
    pub lo: Vec<f64>,
    /// Upper bounds.
    pub hi: Vec<f64>,
}

/// Parameter draws of one model: `values[d]` is draw `d` in the model's parameter order.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ParameterDraws<M> {
    /// One parameter vector per draw.
    pub values: Vec<Vec<f64>>,
    /// How they were drawn.
    pub method: IntervalMethod,
    /// Bootstrap refits that failed and were replaced by a fresh resample (at most
    /// [`max_failed_refits`] of the draws); 0 for asymptotic draws.
    pub failed_refits: usize,
    _model: std::marker::PhantomData<M>,
}

impl<M: Model> ParameterDraws<M> {
    /// Parameter names in the model's order.
    pub fn names(&self) -> &'static [&'static str] {
        M::PARAM_NAMES
    }

    /// The `level` interval of each parameter (quantiles of its draws), in parameter
    /// order.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] naming `clv.interval` for a level not in (0, 1).
    pub fn intervals(&self, level: f64) -> Result<Vec<Range>> {
        coordinate_ranges(&self.values, M::PARAM_NAMES.len(), level)
    }

    /// One model per draw, for [`score_intervals`].
    ///
    /// # Errors
    ///
    /// [`Error::Model`] when a draw is not positive and finite (a draw so far out that
    /// `exp` overflows).
    pub fn models(&self) -> Result<Vec<Fitted<M>>> {
        self.values.iter().map(|p| Fitted::from_params(p)).collect()
    }
}

/// The stream of draw `d`: Gamma-Gamma's streams are odd, every other model's even, so
/// a purchase model and the spend model drawn from one seed are independent.
fn stream<M: Model>(seed: u64, draw: usize) -> ChaCha8Rng {
    let spend = u64::from(M::NAME == <GammaGamma as Model>::NAME);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(((draw as u64) << 1) | spend);
    rng
}

/// `k` independent standard normal numbers (Box-Muller on pairs of uniforms; the
/// uniform in the logarithm is in (0, 1], so the logarithm is finite).
fn standard_normals(rng: &mut ChaCha8Rng, k: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(k + 1);
    while out.len() < k {
        let u1 = 1.0 - rng.random::<f64>();
        let u2: f64 = rng.random();
        let radius = (-2.0 * u1.ln()).sqrt();
        let angle = std::f64::consts::TAU * u2;
        out.push(radius * angle.cos());
        out.push(radius * angle.sin());
    }
    out.truncate(k);
    out
}

/// The stream of the `attempt`-th replacement (1, 2, ...) of bootstrap draw `d`, whose
/// earlier refits failed: its own ChaCha8 key made of the seed, the draw and the attempt
/// (and a tag no 64-bit seed expands to in practice), on the draw's stream, so the
/// replacement depends on nothing but these and the model kind.
fn replacement_stream<M: Model>(seed: u64, draw: usize, attempt: usize) -> ChaCha8Rng {
    let spend = u64::from(M::NAME == <GammaGamma as Model>::NAME);
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&(draw as u64).to_le_bytes());
    key[16..24].copy_from_slice(&(attempt as u64).to_le_bytes());
    key[24..].copy_from_slice(b"refit#17");
    let mut rng = ChaCha8Rng::from_seed(key);
    rng.set_stream(((draw as u64) << 1) | spend);
    rng
}

/// The share of a bootstrap's draws whose failed refits may be replaced: 10%.
pub const MAX_FAILED_REFIT_SHARE: f64 = 0.1;

/// The most failed refits a bootstrap of `draws` draws replaces: a tenth of the draws,
/// rounded down (none below 10 draws). Past it, [`bootstrap_draws`] is an
/// [`Error::BootstrapFailed`].
///
/// # Example
///
/// ```
/// use patronage::clv::interval::max_failed_refits;
/// assert_eq!((max_failed_refits(200), max_failed_refits(9)), (20, 0));
/// ```
pub fn max_failed_refits(draws: usize) -> usize {
    draws / 10
}

fn model_error<M: Model>(reason: impl Into<String>) -> Error {
    Error::Model {
        model: M::NAME.into(),
        reason: reason.into(),
    }
}

/// Draws parameters from the fit's asymptotic normal in log-parameter space:
/// `exp(ln theta_hat + L z)` with `L L^T` = [`FitReport::log_covariance`].
///
/// # Errors
///
/// [`Error::InvalidOption`] for bad options (see [`IntervalOptions::validate`]);
/// [`Error::Model`] for a model built from known parameters (no fit, so no covariance)
/// or a fit without a log-parameter covariance (its Hessian was not positive definite,
/// or it was loaded from a model file written before the covariance was kept).
///
/// # Example
///
/// ```
/// use patronage::clv::{GammaGamma, SpendData};
/// use patronage::clv::interval::{asymptotic_draws, IntervalOptions};
/// let data = SpendData::new(&[1.0, 2.0, 3.0, 1.0, 4.0, 2.0, 5.0], &[10.0, 20.0, 15.0, 30.0, 12.0, 18.0, 25.0])?;
/// let fit = GammaGamma::fitter().penalizer(0.01).fit(&data)?;
/// let draws = asymptotic_draws(&fit, &IntervalOptions::default().draws(50))?;
/// assert_eq!(draws.values.len(), 50);
/// assert!(draws.values.iter().flatten().all(|v| *v > 0.0));
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn asymptotic_draws<M: Model>(
    fit: &Fitted<M>,
    options: &IntervalOptions,
) -> Result<ParameterDraws<M>> {
    options.validate()?;
    let report: &FitReport = fit.report().ok_or_else(|| {
        model_error::<M>("the model was built from known parameters, not fitted: there is no covariance to draw from")
    })?;
    let chol = cholesky(&report.log_covariance)
        .filter(|l| l.len() == M::PARAM_NAMES.len())
        .ok_or_else(|| {
            model_error::<M>("the fit has no log-parameter covariance: the Hessian at the estimate was not positive definite (standard errors NaN), or the model file predates it (refit to keep one); use the bootstrap, or refit")
        })?;
    let centre: Vec<f64> = fit.params().iter().map(|p| p.ln()).collect();
    let values = normal_draws::<M>(&centre, &chol, options, centre.len());
    Ok(ParameterDraws {
        values,
        method: IntervalMethod::Asymptotic,
        failed_refits: 0,
        _model: std::marker::PhantomData,
    })
}

/// `options.draws` draws of `centre + L z` (`z` standard normal from draw `d`'s stream
/// of model `M`), with the first `logs` coordinates exponentiated: the asymptotic draws
/// of a plain fit (every coordinate a log-parameter) and of a fit with covariates (log
/// base parameters, then raw coefficients).
pub(crate) fn normal_draws<M: Model>(
    centre: &[f64],
    chol: &[Vec<f64>],
    options: &IntervalOptions,
    logs: usize,
) -> Vec<Vec<f64>> {
    let k = centre.len();
    (0..options.draws)
        .into_par_iter()
        .map(|d| {
            let z = standard_normals(&mut stream::<M>(options.seed, d), k);
            (0..k)
                .map(|i| {
                    let shift: f64 = (0..=i).map(|j| chol[i][j] * z[j]).sum();
                    let v = centre[i] + shift;
                    if i < logs { v.exp() } else { v }
                })
                .collect()
        })
        .collect()
}

/// The `level` interval of each of the `k` coordinates of `values` (one vector per
/// draw).
pub(crate) fn coordinate_ranges(values: &[Vec<f64>], k: usize, level: f64) -> Result<Vec<Range>> {
    check_level(level)?;
    Ok((0..k)
        .map(|j| {
            let mut v: Vec<f64> = values.iter().map(|p| p[j]).collect();
            Range::of(&mut v, level)
        })
        .collect())
}

/// Data a bootstrap can resample: its distinct rows' weights (customers per row) and
/// the same rows with other weights.
pub trait Resample: Sized {
    /// Customers per distinct row.
    fn row_weights(&self) -> &[f64];

    /// The same distinct rows with `counts` customers each (rows with a zero count are
    /// left out).
    ///
    /// # Errors
    ///
    /// The data type's own checks (they do not fail for the rows of a valid value).
    fn with_counts(&self, counts: &[f64]) -> Result<Self>;
}

/// The rows with a positive count, gathered from each column.
pub(crate) fn kept(columns: &[&[f64]], counts: &[f64]) -> (Vec<Vec<f64>>, Vec<f64>) {
    let rows: Vec<usize> = (0..counts.len()).filter(|&i| counts[i] > 0.0).collect();
    let cols = columns
        .iter()
        .map(|c| rows.iter().map(|&i| c[i]).collect())
        .collect();
    (cols, rows.iter().map(|&i| counts[i]).collect())
}

impl Resample for RepeatData {
    fn row_weights(&self) -> &[f64] {
        self.weights()
    }

    fn with_counts(&self, counts: &[f64]) -> Result<Self> {
        let (c, w) = kept(&[self.x(), self.t_x(), self.t()], counts);
        RepeatData::with_weights(&c[0], &c[1], &c[2], &w)
    }
}

impl Resample for SpendData {
    fn row_weights(&self) -> &[f64] {
        self.weights()
    }

    fn with_counts(&self, counts: &[f64]) -> Result<Self> {
        let (c, w) = kept(&[self.x(), self.m()], counts);
        SpendData::with_weights(&c[0], &c[1], &w)
    }
}

impl Resample for DiscreteData {
    fn row_weights(&self) -> &[f64] {
        self.weights()
    }

    fn with_counts(&self, counts: &[f64]) -> Result<Self> {
        let (c, w) = kept(&[self.x(), self.t_x(), self.n()], counts);
        DiscreteData::new(&c[0], &c[1], &c[2], Some(&w))
    }
}

/// Multinomial counts over rows: `round(sum of weights)` customers drawn with
/// replacement, row `i` with probability `w_i / sum w` (binary search on the running
/// sums; the uniform draws are the stream's, in order).
fn multinomial_counts(weights: &[f64], rng: &mut ChaCha8Rng) -> Vec<f64> {
    let mut cumulative = Vec::with_capacity(weights.len());
    let mut total = 0.0;
    for w in weights {
        total += w;
        cumulative.push(total);
    }
    let customers = total.round().max(1.0) as u64;
    let mut counts = vec![0.0; weights.len()];
    for _ in 0..customers {
        let u = rng.random::<f64>() * total;
        let i = cumulative
            .partition_point(|c| *c <= u)
            .min(weights.len() - 1);
        counts[i] += 1.0;
    }
    counts
}

/// The bootstrap's rounds for model `M` (its streams, its name in errors): each draw
/// refits (`refit`, on multinomial counts over rows of weights `weights`), a failed refit
/// ([`Error::NotConverged`] or [`Error::Model`]) replaced by a fresh resample, as
/// [`bootstrap_draws`] describes. The draws in order and the failed refits replaced.
pub(crate) fn bootstrap_rounds<M: Model>(
    weights: &[f64],
    options: &IntervalOptions,
    refit: impl Fn(&[f64]) -> Result<Vec<f64>> + Sync,
) -> Result<(Vec<Vec<f64>>, usize)> {
    // Attempt 0 of draw d reads the draw's stream; a replacement its own stream.
    let refit = |d: usize, attempt: usize| -> Result<Vec<f64>> {
        let mut rng = match attempt {
            0 => stream::<M>(options.seed, d),
            a => replacement_stream::<M>(options.seed, d, a),
        };
        refit(&multinomial_counts(weights, &mut rng))
    };
    let allowed = max_failed_refits(options.draws);
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); options.draws];
    let mut pending: Vec<usize> = (0..options.draws).collect();
    let mut failed = 0;
    let mut first: Option<String> = None;
    // Rounds: every pending draw refits at the round's attempt; the ones that fail are
    // pending for the next. Which fail depends only on (seed, draw, attempt), so the
    // count and the draws are the same on any thread count. Each further round follows
    // at least one more failure, so there are at most `allowed + 1` rounds.
    for attempt in 0.. {
        let results: Vec<Result<Vec<f64>>> =
            pending.par_iter().map(|&d| refit(d, attempt)).collect();
        let mut next = Vec::new();
        for (d, result) in pending.iter().zip(results) {
            match result {
                Ok(params) => values[*d] = params,
                // A resample without a finite optimum: replaced, and counted.
                Err(e @ (Error::NotConverged { .. } | Error::Model { .. })) => {
                    failed += 1;
                    first.get_or_insert_with(|| {
                        format!(
                            "draw {} of {} (attempt {}): {e}",
                            d + 1,
                            options.draws,
                            attempt + 1
                        )
                    });
                    next.push(*d);
                }
                // Anything else (bad fit options) is not the resample's doing.
                Err(e) => return Err(e),
            }
        }
        if failed > allowed {
            return Err(Error::BootstrapFailed {
                model: M::NAME.into(),
                failed,
                draws: options.draws,
                allowed,
                first: first.unwrap_or_default(),
            });
        }
        if next.is_empty() {
            break;
        }
        pending = next;
    }
    Ok((values, failed))
}

/// Draws parameters by refitting on customers resampled with replacement: each draw
/// gives every distinct row of `data` a multinomial count (as many customers as `data`
/// holds, in proportion to the rows' weights) and refits with `fit_options`, starting
/// at `fit`'s estimate.
///
/// A refit that fails on its resample ([`Error::NotConverged`] or [`Error::Model`]: no
/// finite optimum there, say) is replaced by a fresh resample for the same draw, drawn
/// from a stream keyed by the seed, the draw and the attempt, until it succeeds or more
/// than [`max_failed_refits`] refits (a tenth of the draws) have failed; the count is
/// [`ParameterDraws::failed_refits`]. The module documentation says what conditioning
/// on a successful refit does to the interval.
///
/// # Errors
///
/// [`Error::InvalidOption`] for bad options (those of the fit too: the first refit's
/// in draw order); [`Error::BootstrapFailed`] when more than [`max_failed_refits`] refits
/// failed (naming the first failure).
///
/// # Example
///
/// ```
/// use patronage::clv::{BgNbd, RepeatData, FitOptions};
/// use patronage::clv::interval::{bootstrap_draws, IntervalOptions};
/// let data = RepeatData::new(
///     &[0.0, 1.0, 3.0, 0.0, 2.0, 5.0, 1.0, 0.0],
///     &[0.0, 5.0, 20.0, 0.0, 12.0, 30.0, 2.0, 0.0],
///     &[30.0, 32.0, 35.0, 20.0, 33.0, 36.0, 31.0, 25.0],
/// )?;
/// let options = FitOptions { penalizer: 0.01, ..FitOptions::default() };
/// let fit = BgNbd::fitter().penalizer(0.01).fit(&data)?;
/// let draws = bootstrap_draws(&fit, &data, &options, &IntervalOptions::default().draws(10))?;
/// assert_eq!(draws.values.len(), 10);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn bootstrap_draws<M: Model>(
    fit: &Fitted<M>,
    data: &M::Data,
    fit_options: &FitOptions,
    options: &IntervalOptions,
) -> Result<ParameterDraws<M>>
where
    M::Data: Resample,
{
    options.validate()?;
    let start = FitOptions {
        initial: Some(fit.params().to_vec()),
        ..fit_options.clone()
    };
    let (values, failed) = bootstrap_rounds::<M>(data.row_weights(), options, |counts| {
        let resample = data.with_counts(counts)?;
        Ok(Fitter::<M>::with_options(start.clone())
            .fit(&resample)?
            .params()
            .to_vec())
    })?;
    Ok(ParameterDraws {
        values,
        method: IntervalMethod::Bootstrap,
        failed_refits: failed,
        _model: std::marker::PhantomData,
    })
}

/// Draws parameters the way `options.method` says: [`asymptotic_draws`] (which needs
/// only the fit) or [`bootstrap_draws`] (which refits on `data` with `fit_options`).
///
/// # Errors
///
/// As [`asymptotic_draws`] or [`bootstrap_draws`].
///
/// # Example
///
/// ```
/// use patronage::clv::{BgNbd, RepeatData, FitOptions};
/// use patronage::clv::interval::{parameter_draws, IntervalOptions};
/// let data = RepeatData::new(&[0.0, 1.0, 3.0, 0.0, 2.0, 5.0], &[0.0, 5.0, 20.0, 0.0, 12.0, 30.0], &[30.0, 32.0, 35.0, 20.0, 33.0, 36.0])?;
/// let fit = BgNbd::fitter().penalizer(0.01).fit(&data)?;
/// let options = FitOptions { penalizer: 0.01, ..FitOptions::default() };
/// let draws = parameter_draws(&fit, &data, &options, &IntervalOptions::default().draws(20))?;
/// assert_eq!(draws.intervals(0.9)?.len(), 4);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn parameter_draws<M: Model>(
    fit: &Fitted<M>,
    data: &M::Data,
    fit_options: &FitOptions,
    options: &IntervalOptions,
) -> Result<ParameterDraws<M>>
where
    M::Data: Resample,
{
    match options.method {
        IntervalMethod::Asymptotic => asymptotic_draws(fit, options),
        IntervalMethod::Bootstrap => bootstrap_draws(fit, data, fit_options, options),
    }
}

/// Per-customer intervals and the intervals of the population totals, from scoring
/// every customer under every parameter draw.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ScoreIntervals {
    /// Nominal coverage.
    pub level: f64,
    /// Draws scored.
    pub draws: usize,
    /// P(alive) at `T`.
    pub p_alive: Bounds,
    /// Expected purchases over the horizon.
    pub expected_purchases: Bounds,
    /// Expected spend per purchase, when it comes from Gamma-Gamma draws (`None` for
    /// historic spend, which is data, not an estimate).
    pub expected_spend: Option<Bounds>,
    /// CLV.
    pub clv: Bounds,
    /// Customer equity (the sum of CLV).
    pub customer_equity: Range,
    /// The population's expected purchases over the horizon (the sum over customers).
    pub total_expected_purchases: Range,
    /// Customer equity under each draw, in draw order.
    pub equity_draws: Vec<f64>,
    /// The population's expected purchases under each draw, in draw order.
    pub purchases_draws: Vec<f64>,
}

/// Customers per chunk of the scoring: fixed, so the per-draw sums are added in the same
/// order whatever the thread count.
const CHUNK: usize = 512;

/// What one chunk gives: per customer `(index, [p_alive, purchases, spend, clv] x [lo,
/// hi])`, and the chunk's per-draw sums of CLV and expected purchases.
type ChunkOut = (Vec<(u32, [f64; 8])>, Vec<f64>, Vec<f64>);

/// Scores every customer under each draw (`purchase[d]` with `spend[d]`) and takes the
/// `level` quantiles per customer and of the per-draw totals. The scores follow
/// [`crate::clv::value::score`] (expected spend from Gamma-Gamma when `spend` is given,
/// else the customer's own mean repeat spend).
///
/// # Errors
///
/// [`Error::InvalidOption`] for a level outside (0, 1), fewer than 2 draws, a spend draw
/// count unlike the purchase draws', and the checks of [`crate::clv::value::score`]
/// ([`Error::BadRow`] for inconsistent customer data); [`Error::Model`] when a draw cannot
/// give an expectation (a Gamma-Gamma draw with `q <= 1` has no finite mean spend; the
/// reason names the draw).
///
/// # Example
///
/// See the [module documentation](self).
pub fn score_intervals<P: PurchaseModel>(
    purchase: &[P],
    spend: Option<&[Fitted<GammaGamma>]>,
    input: CustomerInputs<'_>,
    opts: &ClvOptions,
    level: f64,
) -> Result<ScoreIntervals> {
    let draws = purchase.len();
    check_draws(level, draws)?;
    if let Some(s) = spend {
        if s.len() != draws {
            return Err(Error::invalid(
                "clv.draws",
                format!("{} spend draws for {draws} purchase draws", s.len()),
            ));
        }
        for (d, gg) in s.iter().enumerate() {
            gg.mean_spend().map_err(|e| Error::Model {
                model: GammaGamma::NAME.into(),
                reason: format!(
                    "draw {} of {draws}: {e}; the spend interval is unbounded (use historic spend)",
                    d + 1
                ),
            })?;
        }
    }
    score_draws(&PlainDraws { purchase, spend }, None, input, opts, level)
}

fn check_draws(level: f64, draws: usize) -> Result<()> {
    check_level(level)?;
    if draws < 2 {
        return Err(Error::invalid(
            "clv.draws",
            format!("needs at least 2 draws, got {draws}"),
        ));
    }
    Ok(())
}

/// A chunk's models: borrowed (plain draws, one model per draw) or built for the chunk
/// (one per draw and covariate group).
pub(crate) enum ChunkModels<'a, P> {
    /// The draws' own models.
    Borrowed(&'a [P]),
    /// Models built for the chunk.
    Owned(Vec<P>),
}

impl<P> std::ops::Deref for ChunkModels<'_, P> {
    type Target = [P];
    fn deref(&self) -> &[P] {
        match self {
            ChunkModels::Borrowed(s) => s,
            ChunkModels::Owned(v) => v,
        }
    }
}

/// Where each draw's models come from, for the groups `first..=last` of a chunk: model
/// `(g - first) * draws + d` is draw `d`'s for group `g`.
pub(crate) trait DrawModels: Sync {
    /// The purchase model.
    type P: PurchaseModel;
    /// Draws.
    fn draws(&self) -> usize;
    /// Whether spend comes from Gamma-Gamma draws.
    fn has_spend(&self) -> bool;
    /// Purchase models of the groups `first..=last`.
    fn purchase(&self, first: u32, last: u32) -> Result<ChunkModels<'_, Self::P>>;
    /// Gamma-Gamma models of the groups `first..=last`; `None` for historic spend.
    fn spend(&self, first: u32, last: u32) -> Result<Option<ChunkModels<'_, Fitted<GammaGamma>>>>;
}

/// Plain draws: one model per draw whatever the group.
struct PlainDraws<'a, P> {
    purchase: &'a [P],
    spend: Option<&'a [Fitted<GammaGamma>]>,
}

impl<P: PurchaseModel> DrawModels for PlainDraws<'_, P> {
    type P = P;
    fn draws(&self) -> usize {
        self.purchase.len()
    }
    fn has_spend(&self) -> bool {
        self.spend.is_some()
    }
    fn purchase(&self, _: u32, _: u32) -> Result<ChunkModels<'_, P>> {
        Ok(ChunkModels::Borrowed(self.purchase))
    }
    fn spend(&self, _: u32, _: u32) -> Result<Option<ChunkModels<'_, Fitted<GammaGamma>>>> {
        Ok(self.spend.map(ChunkModels::Borrowed))
    }
}

/// [`score_intervals`] for draws whose models depend on the customer's group
/// (`group_of`, one per customer; one group when `None`): customers sorted by
/// `(group, x, T, t_x)` in fixed chunks, each chunk's models built for its groups.
pub(crate) fn score_draws<D: DrawModels>(
    source: &D,
    group_of: Option<&[u32]>,
    input: CustomerInputs<'_>,
    opts: &ClvOptions,
    level: f64,
) -> Result<ScoreIntervals> {
    let draws = source.draws();
    check_draws(level, draws)?;
    validate(&input, opts)?;
    let n = input.x.len();
    let (grid, factors) = discount_grid(opts);
    let distinct = Distinct::grouped(&input, group_of);
    let group = |i: usize| group_of.map_or(0, |g| g[i]);
    let n_chunks = n.div_ceil(CHUNK);
    let has_spend = source.has_spend();
    let chunk = |c: usize| -> Result<ChunkOut> {
        let members = &distinct.order[c * CHUNK..((c + 1) * CHUNK).min(n)];
        // Customers are sorted by (group, pair), so a chunk's pairs and groups are
        // contiguous ranges.
        let first = distinct.pair_of[members[0] as usize] as usize;
        let last = distinct.pair_of[members[members.len() - 1] as usize] as usize;
        let (g0, g1) = (distinct.pair_group[first], distinct.pair_group[last]);
        let purchase = source.purchase(g0, g1)?;
        let spend = source.spend(g0, g1)?;
        let at = |g: u32, d: usize| (g - g0) as usize * draws + d;
        // Per pair of the chunk, per draw: (g(H), discounted g).
        let mut per_pair = Vec::with_capacity((last - first + 1) * draws);
        for (&(x, t), &g) in distinct.pairs[first..=last]
            .iter()
            .zip(&distinct.pair_group[first..=last])
        {
            for d in 0..draws {
                per_pair.push(pair_value(&purchase[at(g, d)], x, t, &grid, &factors)?);
            }
        }
        let mut equity = vec![0.0; draws];
        let mut total = vec![0.0; draws];
        let mut out = Vec::with_capacity(members.len());
        let (mut alive, mut bought, mut spent, mut value) = (
            vec![0.0; draws],
            vec![0.0; draws],
            vec![0.0; draws],
            vec![0.0; draws],
        );
        let mut alive_draws = vec![0.0; draws];
        let mut shared: Option<(u32, u64, u64, u64)> = None;
        let mut shared_bounds = [0.0; 4];
        for &i in members {
            let i = i as usize;
            let (x, tx, t, m) = (input.x[i], input.t_x[i], input.t[i], input.monetary[i]);
            let g = group(i);
            let key = (
                g,
                (x + 0.0).to_bits(),
                (t + 0.0).to_bits(),
                (tx + 0.0).to_bits(),
            );
            let same = shared == Some(key);
            if !same {
                for (d, a) in alive_draws.iter_mut().enumerate() {
                    *a = purchase[at(g, d)].p_alive(x, tx, t);
                }
            }
            let pair = &per_pair[(distinct.pair_of[i] as usize - first) * draws..][..draws];
            let margin = match &opts.margin {
                Margin::Rate(r) => *r,
                Margin::PerCustomer(v) => v[i],
            };
            for d in 0..draws {
                let pa = alive_draws[d];
                let (g_h, disc) = pair[d];
                let s = match &spend {
                    Some(gg) => gg[at(g, d)].conditional_expected_spend(x, m)?,
                    None => m,
                };
                alive[d] = pa;
                bought[d] = pa * g_h;
                spent[d] = s;
                value[d] = margin * s * pa * disc;
                equity[d] += value[d];
                total[d] += bought[d];
            }
            // P(alive) and expected purchases depend on (group, x, t_x, T) only:
            // customers sharing them (adjacent in this order) share their bounds.
            if !same {
                let a = Range::of(&mut alive, level);
                let b = Range::of(&mut bought, level);
                shared_bounds = [a.lo, a.hi, b.lo, b.hi];
                shared = Some(key);
            }
            let s = Range::of(&mut spent, level);
            let v = Range::of(&mut value, level);
            let [alo, ahi, blo, bhi] = shared_bounds;
            out.push((i as u32, [alo, ahi, blo, bhi, s.lo, s.hi, v.lo, v.hi]));
        }
        Ok((out, equity, total))
    };
    let parts: Vec<Result<ChunkOut>> = if cfg!(feature = "parallel") && n_chunks > 1 {
        (0..n_chunks).into_par_iter().map(chunk).collect()
    } else {
        (0..n_chunks).map(chunk).collect()
    };
    let mut columns = vec![vec![0.0; n]; 8];
    let mut equity_draws = vec![0.0; draws];
    let mut purchases_draws = vec![0.0; draws];
    // In chunk order: the first error is the same whatever the thread count, and so
    // are the per-draw sums.
    for part in parts {
        let (rows, equity, total) = part?;
        for (i, v) in rows {
            for (col, value) in columns.iter_mut().zip(v) {
                col[i as usize] = value;
            }
        }
        for d in 0..draws {
            equity_draws[d] += equity[d];
            purchases_draws[d] += total[d];
        }
    }
    let customer_equity = Range::of(&mut equity_draws.clone(), level);
    let total_expected_purchases = Range::of(&mut purchases_draws.clone(), level);
    let mut cols = columns.into_iter();
    let mut bounds = || Bounds {
        lo: cols.next().unwrap_or_default(),
        hi: cols.next().unwrap_or_default(),
    };
    let p_alive = bounds();
    let expected_purchases = bounds();
    let expected_spend = bounds();
    let clv = bounds();
    Ok(ScoreIntervals {
        level,
        draws,
        p_alive,
        expected_purchases,
        expected_spend: has_spend.then_some(expected_spend),
        clv,
        customer_equity,
        total_expected_purchases,
        equity_draws,
        purchases_draws,
    })
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod coverage;
