//! Maximum-likelihood fitting shared by every model.
//!
//! Each model supplies its negative log-likelihood (and, where it has one, the analytic
//! gradient) over compressed rows. This module optimises the log-parameters with argmin's
//! L-BFGS (More-Thuente line search) on the mean negative log-likelihood, with time
//! rescaled so that the scale parameters are of order one; falls back to Nelder-Mead when
//! the objective or gradient is not finite along the way, and polishes with L-BFGS again;
//! then computes the Hessian of the total negative log-likelihood by central differences
//! of the gradient and the standard errors by the delta method. A fit on more than
//! [`WARM_START_ROWS`] distinct rows is first fitted on a systematic sample of
//! [`WARM_START_CUSTOMERS`] customers, and Newton steps with that sample's Hessian take
//! the sample's estimate to the full data's optimum (L-BFGS as above if they do not).

use std::cell::RefCell;
use std::marker::PhantomData;

use argmin::core::{CostFunction, Executor, Gradient, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::neldermead::NelderMead;
use argmin::solver::quasinewton::LBFGS;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::clv::Fitted;
use crate::error::{Error, Result};

/// Settings for a fit. Build with a model's `fitter()` and the setters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FitOptions {
    /// L2 penalty on the parameters, added to the mean negative log-likelihood as
    /// `penalizer * sum(theta^2)` (the lifetimes convention). 0 = plain maximum likelihood.
    pub penalizer: f64,
    /// Starting values in the model's parameter order (original time units); `None`
    /// uses the model's defaults.
    pub initial: Option<Vec<f64>>,
    /// Convergence tolerance on the gradient norm of the mean negative log-likelihood
    /// with respect to the log-parameters.
    pub tolerance: f64,
    /// Iteration budget of each L-BFGS run (the Nelder-Mead fallback gets five times
    /// as many: its iterations are cheaper and it needs more of them).
    pub max_iterations: u64,
    /// On more than [`WARM_START_ROWS`] distinct rows, start from the estimate on a
    /// systematic sample of [`WARM_START_CUSTOMERS`] customers and its curvature (see
    /// [`WarmStart`]); the fit then stops at the same optimum, to `tolerance`, in a few
    /// full-data evaluations. `false` always starts from the initial values.
    pub warm_start: bool,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            penalizer: 0.0,
            initial: None,
            tolerance: 1e-9,
            max_iterations: 1000,
            warm_start: true,
        }
    }
}

/// How a fit went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FitReport {
    /// Total log-likelihood over customers at the estimate (without the penalty), in the
    /// data's time units: the figure the literature publishes.
    pub log_likelihood: f64,
    /// Customers fitted (sum of weights).
    pub n_customers: f64,
    /// Distinct rows after compression.
    pub n_distinct: usize,
    /// Optimiser iterations (all runs).
    pub iterations: u64,
    /// Final gradient norm of the mean objective in log-parameters.
    pub gradient_norm: f64,
    /// True when the gradient norm is within tolerance.
    pub converged: bool,
    /// `"lbfgs"`, `"nelder-mead+lbfgs"` when the fallback was needed, `"newton"` when
    /// Newton steps from a [`WarmStart`] reached the tolerance on their own, and
    /// `"newton+lbfgs"` (or `"newton+nelder-mead+lbfgs"`) when L-BFGS took over from them.
    pub method: String,
    /// Standard errors of the parameters (delta method), in parameter order; `NaN` when
    /// the Hessian is not positive definite.
    pub standard_errors: Vec<f64>,
    /// Penalizer used.
    pub penalizer: f64,
    /// Covariance of the log-parameters (row-major, `k x k`, parameter order): the
    /// inverse Hessian of the total objective in `ln theta`, from which the standard
    /// errors come (`se_j = theta_j sqrt(cov_jj)`) and from which
    /// [`crate::clv::interval`] draws parameters. Empty when the Hessian is not positive
    /// definite (the standard errors are then `NaN`) and in model files written before
    /// it was kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_covariance: Vec<Vec<f64>>,
    /// The sample the optimiser's starting point was estimated on, for fits on more than
    /// [`WARM_START_ROWS`] distinct rows; None when it started from the initial values.
    /// `iterations` counts the full data's iterations (Newton steps) only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warm_start: Option<WarmStart>,
}

/// Where a large fit started: the estimate on a systematic sample of its customers
/// (laid end to end in the compressed rows' sorted order, one taken per equal stretch; no
/// seed). From there Newton steps on every row, with the sample's curvature, reach the
/// tolerance in a few full-data evaluations where L-BFGS from the initial values takes
/// tens (L-BFGS takes over if they do not). The fit still stops at the full data's own
/// optimum, to the same gradient tolerance, so the estimate differs from a cold start's
/// only within that tolerance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WarmStart {
    /// Customers in the sample (sum of its weights).
    pub customers: f64,
    /// Distinct rows of the sample.
    pub n_distinct: usize,
    /// Optimiser iterations on the sample.
    pub iterations: u64,
}

/// Above this many distinct rows a fit starts from the estimate on a sample of
/// [`WARM_START_CUSTOMERS`] customers. Below it a fit is cheap and starts, as it always
/// did, from the initial values (so CDNOW and the published fits are untouched).
pub const WARM_START_ROWS: usize = 40_000;

/// Customers in a warm start's sample: enough for estimates within a few percent of the
/// full data's, few enough that the sample's fit costs a fraction of the full one.
pub const WARM_START_CUSTOMERS: usize = 20_000;

/// One row of [`Fitted::summary`]: a coefficient with its standard error and 95% interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coefficient {
    /// Parameter name (`r`, `alpha`, ...).
    pub name: String,
    /// Estimate.
    pub estimate: f64,
    /// Standard error (delta method).
    pub standard_error: f64,
    /// Lower bound of the 95% interval, `estimate * exp(-1.96 se / estimate)`: the
    /// interval is symmetric on the log scale the fit works on, so it stays positive.
    pub lower_95: f64,
    /// Upper bound of the 95% interval.
    pub upper_95: f64,
}

pub(crate) fn coefficient_table(names: &[&str], params: &[f64], se: &[f64]) -> Vec<Coefficient> {
    names
        .iter()
        .zip(params)
        .zip(se)
        .map(|((n, &p), &s)| {
            let se_log = s / p;
            Coefficient {
                name: (*n).to_string(),
                estimate: p,
                standard_error: s,
                lower_95: p * (-1.959_963_984_540_054 * se_log).exp(),
                upper_95: p * (1.959_963_984_540_054 * se_log).exp(),
            }
        })
        .collect()
}

/// What a model provides to the fitting engine.
pub trait Model {
    /// Model name as used on the command line (`bg-nbd`, ...).
    const NAME: &'static str;
    /// Parameter names in order.
    const PARAM_NAMES: &'static [&'static str];
    /// Per-customer data the model fits on.
    type Data: Sync;

    /// Starting values when the caller gives none.
    fn default_initial(data: &Self::Data) -> Vec<f64>;

    /// Time scale to divide the data's times by while fitting (1 for models without
    /// time), and per parameter the power of that scale the parameter carries.
    fn time_scale(_data: &Self::Data) -> (f64, &'static [f64]) {
        (1.0, &[0.0, 0.0, 0.0, 0.0])
    }

    /// The data with times divided by `scale`.
    fn rescale(data: &Self::Data, _scale: f64) -> Self::Data;

    /// Total (weighted) negative log-likelihood at `params`; when `grad` is given and the
    /// model has an analytic gradient, writes d(-LL)/d(param) into it and returns true.
    fn neg_ll(params: &[f64], data: &Self::Data, grad: Option<&mut [f64]>) -> (f64, bool);

    /// Customers and distinct rows.
    fn size(data: &Self::Data) -> (f64, usize);

    /// A systematic sample of about `customers` customers of `data`, which a fit on more
    /// than [`WARM_START_ROWS`] distinct rows is first estimated on (see
    /// [`FitOptions::warm_start`]); None (the default) for models whose data stay small,
    /// which then always start from the initial values.
    fn sample(_data: &Self::Data, _customers: usize) -> Option<Self::Data> {
        None
    }
}

/// The builder returned by a model's `fitter()`: set options, then [`Fitter::fit`].
#[derive(Debug, Clone)]
pub struct Fitter<M> {
    options: FitOptions,
    _model: PhantomData<M>,
}

impl<M: Model> Default for Fitter<M> {
    fn default() -> Self {
        Fitter {
            options: FitOptions::default(),
            _model: PhantomData,
        }
    }
}

impl<M: Model> Fitter<M> {
    /// Starts from explicit options.
    pub fn with_options(options: FitOptions) -> Self {
        Fitter {
            options,
            _model: PhantomData,
        }
    }

    /// L2 penalty (see [`FitOptions::penalizer`]).
    pub fn penalizer(mut self, penalizer: f64) -> Self {
        self.options.penalizer = penalizer;
        self
    }

    /// Starting values in parameter order.
    pub fn initial(mut self, initial: &[f64]) -> Self {
        self.options.initial = Some(initial.to_vec());
        self
    }

    /// Gradient-norm tolerance.
    pub fn tolerance(mut self, tolerance: f64) -> Self {
        self.options.tolerance = tolerance;
        self
    }

    /// Iteration budget per optimiser run.
    pub fn max_iterations(mut self, max_iterations: u64) -> Self {
        self.options.max_iterations = max_iterations;
        self
    }

    /// Whether a fit on more than [`WARM_START_ROWS`] distinct rows starts from a
    /// sample's estimate (see [`FitOptions::warm_start`]; on by default).
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::clv::BgNbd;
    /// let cold = BgNbd::fitter().warm_start(false);
    /// assert!(!cold.options().warm_start);
    /// ```
    pub fn warm_start(mut self, warm_start: bool) -> Self {
        self.options.warm_start = warm_start;
        self
    }

    /// The options as set.
    pub fn options(&self) -> &FitOptions {
        &self.options
    }

    /// Fits by maximum likelihood.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] for a negative penalizer, a non-positive tolerance, or
    /// initial values of the wrong length or not positive; [`Error::NotConverged`] when
    /// the optimiser stops with the gradient still above tolerance (the message says
    /// what to try).
    pub fn fit(&self, data: &M::Data) -> Result<Fitted<M>> {
        fit::<M>(&self.options, data)
    }
}

/// A cached evaluation: point, value, gradient.
type Evaluation = (Vec<f64>, f64, Vec<f64>);

/// The mean objective in log-parameters of the (time-rescaled) data.
pub(crate) struct Objective<'a, M: Model> {
    data: &'a M::Data,
    n: f64,
    penalizer: f64,
    /// Original-unit parameter = scaled parameter * unit_factor.
    unit_factor: Vec<f64>,
    cache: RefCell<Option<Evaluation>>,
}

impl<M: Model> Smooth for Objective<'_, M> {
    fn value_grad(&self, log_theta: &[f64]) -> (f64, Vec<f64>) {
        if let Some((p, v, g)) = self.cache.borrow().as_ref()
            && p.as_slice() == log_theta
        {
            return (*v, g.clone());
        }
        let (v, g) = self.evaluate(log_theta);
        *self.cache.borrow_mut() = Some((log_theta.to_vec(), v, g.clone()));
        (v, g)
    }
}

impl<M: Model> Objective<'_, M> {
    fn value(&self, log_theta: &[f64]) -> f64 {
        let theta: Vec<f64> = log_theta.iter().map(|v| v.exp()).collect();
        let (nll, _) = M::neg_ll(&theta, self.data, None);
        nll / self.n + self.penalty(&theta)
    }

    fn penalty(&self, theta: &[f64]) -> f64 {
        if self.penalizer == 0.0 {
            return 0.0;
        }
        theta
            .iter()
            .zip(&self.unit_factor)
            .map(|(t, u)| (t * u).powi(2))
            .sum::<f64>()
            * self.penalizer
    }

    fn evaluate(&self, log_theta: &[f64]) -> (f64, Vec<f64>) {
        let k = log_theta.len();
        let theta: Vec<f64> = log_theta.iter().map(|v| v.exp()).collect();
        let mut grad = vec![0.0; k];
        let (nll, analytic) = M::neg_ll(&theta, self.data, Some(&mut grad));
        let value = nll / self.n + self.penalty(&theta);
        if analytic {
            for j in 0..k {
                grad[j] = grad[j] * theta[j] / self.n
                    + 2.0 * self.penalizer * (theta[j] * self.unit_factor[j]).powi(2);
            }
        } else {
            // Central differences in log-parameters.
            let h = 1e-6;
            for j in 0..k {
                let mut up = log_theta.to_vec();
                let mut down = log_theta.to_vec();
                up[j] += h;
                down[j] -= h;
                grad[j] = (self.value(&up) - self.value(&down)) / (2.0 * h);
            }
        }
        (value, grad)
    }
}

/// An objective argmin's gradient solvers can minimise: value and gradient at a point.
/// The plain models' and the covariate models' objectives both implement it, so the
/// solver glue (non-finite values and gradients become argmin errors) exists once.
pub(crate) trait Smooth {
    /// Value and gradient at `p`.
    fn value_grad(&self, p: &[f64]) -> (f64, Vec<f64>);
}

/// argmin's view of a [`Smooth`] objective.
pub(crate) struct Problem<'a, O: Smooth>(pub(crate) &'a O);

impl<O: Smooth> CostFunction for Problem<'_, O> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, p: &Vec<f64>) -> std::result::Result<f64, argmin::core::Error> {
        let (v, _) = self.0.value_grad(p);
        if v.is_finite() {
            Ok(v)
        } else {
            Err(argmin::core::Error::msg("objective is not finite"))
        }
    }
}

impl<O: Smooth> Gradient for Problem<'_, O> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, p: &Vec<f64>) -> std::result::Result<Vec<f64>, argmin::core::Error> {
        let (_, g) = self.0.value_grad(p);
        if g.iter().all(|v| v.is_finite()) {
            Ok(g)
        } else {
            Err(argmin::core::Error::msg("gradient is not finite"))
        }
    }
}

/// Nelder-Mead sees a non-finite objective as +inf, so it walks away from it.
struct NmProblem<'a, 'b, M: Model>(&'b Objective<'a, M>);

impl<M: Model> CostFunction for NmProblem<'_, '_, M> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, p: &Vec<f64>) -> std::result::Result<f64, argmin::core::Error> {
        let v = self.0.value(p);
        Ok(if v.is_finite() { v } else { f64::MAX })
    }
}

/// Euclidean norm of a gradient.
pub(crate) fn norm(g: &[f64]) -> f64 {
    g.iter().map(|v| v * v).sum::<f64>().sqrt()
}

/// One L-BFGS run from `start`; returns (best point, iterations) or None when it failed.
pub(crate) fn lbfgs<O: Smooth>(
    obj: &O,
    start: Vec<f64>,
    opts: &FitOptions,
) -> Option<(Vec<f64>, u64)> {
    let linesearch = MoreThuenteLineSearch::new();
    let solver = LBFGS::new(linesearch, 10)
        .with_tolerance_grad(opts.tolerance)
        .ok()?
        .with_tolerance_cost(0.0)
        .ok()?;
    let res = Executor::new(Problem(obj), solver)
        .configure(|s| s.param(start).max_iters(opts.max_iterations))
        .run()
        .ok()?;
    let state = res.state();
    let best = state.get_best_param()?.clone();
    let finite = best.iter().all(|v| v.is_finite());
    if !finite {
        return None;
    }
    Some((best, state.get_iter()))
}

/// L-BFGS runs from `start`, restarting from where a run stopped while it still
/// improves (a run can stop early on a line-search failure), at most `restarts` runs or
/// until the gradient norm is within `stop`: the best point and the iterations used.
pub(crate) fn lbfgs_restarts<O: Smooth>(
    obj: &O,
    start: Vec<f64>,
    opts: &FitOptions,
    restarts: usize,
    stop: f64,
) -> (Vec<f64>, u64) {
    let (mut u, mut iterations) = (start, 0);
    for _ in 0..restarts {
        let Some((best, it)) = lbfgs(obj, u.clone(), opts) else {
            break;
        };
        iterations += it;
        let improved = obj.value_grad(&best).0 <= obj.value_grad(&u).0;
        if improved {
            u = best;
        }
        if !improved || norm(&obj.value_grad(&u).1) <= stop {
            break;
        }
    }
    (u, iterations)
}

fn nelder_mead<M: Model>(
    obj: &Objective<'_, M>,
    start: &[f64],
    opts: &FitOptions,
) -> Option<(Vec<f64>, u64)> {
    let mut simplex = vec![start.to_vec()];
    for j in 0..start.len() {
        let mut p = start.to_vec();
        p[j] += 0.5;
        simplex.push(p);
    }
    let solver = NelderMead::new(simplex).with_sd_tolerance(1e-12).ok()?;
    let res = Executor::new(NmProblem(obj), solver)
        .configure(|s| s.max_iters(opts.max_iterations.saturating_mul(5)))
        .run()
        .ok()?;
    let state = res.state();
    Some((state.get_best_param()?.clone(), state.get_iter()))
}

pub(crate) fn validate(opts: &FitOptions, k: usize) -> Result<()> {
    if !(opts.penalizer.is_finite() && opts.penalizer >= 0.0) {
        return Err(Error::invalid(
            "clv.fit.penalizer",
            "must be a finite number >= 0",
        ));
    }
    if !(opts.tolerance.is_finite() && opts.tolerance > 0.0) {
        return Err(Error::invalid(
            "clv.fit.tolerance",
            "must be a positive number",
        ));
    }
    if opts.max_iterations == 0 {
        return Err(Error::invalid(
            "clv.fit.max_iterations",
            "must be at least 1",
        ));
    }
    if let Some(init) = &opts.initial {
        if init.len() != k {
            return Err(Error::invalid(
                "initial",
                format!("expected {k} values, got {}", init.len()),
            ));
        }
        if !init.iter().all(|v| v.is_finite() && *v > 0.0) {
            return Err(Error::invalid(
                "initial",
                "every starting value must be positive",
            ));
        }
    }
    Ok(())
}

/// |ln θ| (parameters on the data's own scale) beyond which a fit that stopped without
/// converging is taken to be running off to the edge of the parameter space: 1e6 times
/// (or a millionth of) the data's scale.
pub(crate) const RUNAWAY_LOG: f64 = 13.8;

/// The data with times rescaled as the fit works on them, with the customers' count and
/// the factor from each scaled parameter back to the data's units.
pub(crate) struct Scaled<M: Model> {
    data: M::Data,
    /// Customers (sum of weights).
    pub(crate) n: f64,
    /// Original-unit parameter = scaled parameter * unit_factor.
    pub(crate) unit_factor: Vec<f64>,
}

impl<M: Model> Scaled<M> {
    /// `data` rescaled by the model's time scale.
    pub(crate) fn new(data: &M::Data) -> Self {
        let k = M::PARAM_NAMES.len();
        let (n, _) = M::size(data);
        let (scale, powers) = M::time_scale(data);
        Scaled {
            data: M::rescale(data, scale),
            n,
            unit_factor: (0..k).map(|j| scale.powf(powers[j])).collect(),
        }
    }

    /// The mean (penalised) objective on the rescaled data, in scaled log-parameters.
    pub(crate) fn objective(&self, penalizer: f64) -> Objective<'_, M> {
        Objective {
            data: &self.data,
            n: self.n,
            penalizer,
            unit_factor: self.unit_factor.clone(),
            cache: RefCell::new(None),
        }
    }

    /// Scaled log-parameters of parameters in the data's units.
    pub(crate) fn to_log(&self, params: &[f64]) -> Vec<f64> {
        params
            .iter()
            .zip(&self.unit_factor)
            .map(|(v, u)| (v / u).ln())
            .collect()
    }

    /// Parameters in the data's units of scaled log-parameters.
    pub(crate) fn to_params(&self, log_theta: &[f64]) -> Vec<f64> {
        log_theta
            .iter()
            .zip(&self.unit_factor)
            .map(|(v, u)| v.exp() * u)
            .collect()
    }
}

pub(crate) fn fit<M: Model>(opts: &FitOptions, data: &M::Data) -> Result<Fitted<M>> {
    let k = M::PARAM_NAMES.len();
    validate(opts, k)?;
    let (n, n_distinct) = M::size(data);
    let scaled = Scaled::<M>::new(data);
    let obj = scaled.objective(opts.penalizer);
    let init: Vec<f64> = opts
        .initial
        .clone()
        .unwrap_or_else(|| M::default_initial(data));
    let warm_start = warm_start::<M>(opts, data, &init, n_distinct);
    let (best, iterations, method) = match &warm_start {
        Some(warm) => {
            let start = scaled.to_log(&warm.params);
            match polish(&obj, start, &warm.inverse_hessian, opts) {
                Ok((u, steps)) => (Some(u), steps, "newton".to_string()),
                Err((reached, steps)) => {
                    let (best, iterations, method) = minimise(&obj, reached, opts);
                    (best, steps + iterations, format!("newton+{method}"))
                }
            }
        }
        None => minimise(&obj, scaled.to_log(&init), opts),
    };
    let Some(log_theta) = best else {
        return Err(Error::NotConverged {
            model: M::NAME.into(),
            iterations,
            gradient_norm: f64::NAN,
            hint:
                "the objective was not finite from the starting values; give other initial values"
                    .into(),
        });
    };
    let (_, g) = obj.value_grad(&log_theta);
    let gradient_norm = norm(&g);
    // The published fits stop at a gradient norm near 1e-6 of the mean objective; accept
    // that, and report the exact norm.
    let converged = gradient_norm.is_finite() && gradient_norm <= opts.tolerance.max(1e-5);
    if !converged {
        // Estimates a million-fold off the data's scale mean the likelihood keeps rising
        // towards the edge of the parameter space: no finite maximum, so more iterations
        // or other starting values cannot help, only a penalty (or another model).
        let runaway = log_theta.iter().any(|v| v.abs() > RUNAWAY_LOG);
        let hint = if runaway {
            "the estimates run off towards infinity or zero (the likelihood has no maximum at finite parameters on these data), so more iterations will not help: add a penalizer (e.g. 0.001) or use another model"
        } else {
            "raise max_iterations, give initial values near the expected estimate, or add a small penalizer (e.g. 0.001)"
        };
        return Err(Error::NotConverged {
            model: M::NAME.into(),
            iterations,
            gradient_norm,
            hint: hint.into(),
        });
    }
    let params = scaled.to_params(&log_theta);
    let (nll, _) = M::neg_ll(&params, data, None);
    let log_covariance = log_covariance::<M>(&params, data, n, opts.penalizer);
    let standard_errors = standard_errors(&params, log_covariance.as_deref());
    let report = FitReport {
        log_likelihood: -nll,
        n_customers: n,
        n_distinct,
        iterations,
        gradient_norm,
        converged,
        method,
        standard_errors,
        penalizer: opts.penalizer,
        log_covariance: log_covariance.unwrap_or_default(),
        warm_start: warm_start.map(|w| w.report),
    };
    Ok(Fitted::from_fit(params, report))
}

/// L-BFGS from `start` (log-parameters of the scaled data); when that ends away from a
/// stationary point, Nelder-Mead from the best finite point and L-BFGS again. Returns the
/// best point (None when nothing finite was found), the iterations of every run and the
/// method's name for the report.
fn minimise<M: Model>(
    obj: &Objective<'_, M>,
    start: Vec<f64>,
    opts: &FitOptions,
) -> (Option<Vec<f64>>, u64, String) {
    let mut iterations = 0;
    let mut method = "lbfgs".to_string();
    let mut best = match lbfgs(obj, start.clone(), opts) {
        Some((p, it)) => {
            iterations += it;
            Some(p)
        }
        None => None,
    };
    let good = |p: &Option<Vec<f64>>| {
        p.as_ref().is_some_and(|p| {
            let (v, g) = obj.value_grad(p);
            v.is_finite() && norm(&g) <= opts.tolerance.max(1e-6)
        })
    };
    if !good(&best) {
        method = "nelder-mead+lbfgs".into();
        let from = best
            .clone()
            .filter(|p| obj.value(p).is_finite())
            .unwrap_or(start);
        if let Some((p, it)) = nelder_mead(obj, &from, opts) {
            iterations += it;
            best = match lbfgs(obj, p.clone(), opts) {
                Some((q, it2)) => {
                    iterations += it2;
                    if obj.value(&q) <= obj.value(&p) {
                        Some(q)
                    } else {
                        Some(p)
                    }
                }
                None => Some(p),
            };
        }
    }
    (best, iterations, method)
}

/// What a large fit starts from: the estimate on the sample (data's units), the inverse
/// Hessian there of the sample's mean objective in log-parameters (which the Newton steps
/// of [`polish`] use for the full data's: a mean objective's curvature is the same
/// quantity on a sample, up to the sampling error), and the report's summary.
struct Warm {
    params: Vec<f64>,
    inverse_hessian: Vec<Vec<f64>>,
    report: WarmStart,
}

/// The start of a fit on more than [`WARM_START_ROWS`] distinct rows: the estimate on a
/// systematic sample of [`WARM_START_CUSTOMERS`] customers, fitted from `init` to a
/// looser tolerance (the sample's optimum is only near the full data's), with its
/// curvature. None below that size, for models without a sampler, and when the sample's
/// fit does not converge or its Hessian is not positive definite: the fit then starts
/// from `init`, as a small one does.
fn warm_start<M: Model>(
    opts: &FitOptions,
    data: &M::Data,
    init: &[f64],
    n_distinct: usize,
) -> Option<Warm> {
    if !opts.warm_start || n_distinct <= WARM_START_ROWS {
        return None;
    }
    let sample = M::sample(data, WARM_START_CUSTOMERS)?;
    let (customers, sample_distinct) = M::size(&sample);
    let scaled = Scaled::<M>::new(&sample);
    let obj = scaled.objective(opts.penalizer);
    let loose = FitOptions {
        tolerance: opts.tolerance.max(1e-6),
        ..opts.clone()
    };
    let (best, iterations, _) = minimise(&obj, scaled.to_log(init), &loose);
    let log_theta = best?;
    let (value, gradient) = obj.value_grad(&log_theta);
    if !(value.is_finite() && norm(&gradient) <= 1e-5) {
        return None;
    }
    let params = scaled.to_params(&log_theta);
    // The total objective's inverse Hessian times the customers is the mean's; in
    // log-parameters it does not depend on the time scale (rescaling shifts ln alpha).
    let covariance = log_covariance::<M>(&params, &sample, customers, opts.penalizer)?;
    let inverse_hessian = covariance
        .into_iter()
        .map(|row| row.into_iter().map(|v| v * customers).collect())
        .collect();
    Some(Warm {
        params,
        inverse_hessian,
        report: WarmStart {
            customers,
            n_distinct: sample_distinct,
            iterations,
        },
    })
}

/// Most Newton steps [`polish`] takes before handing over to L-BFGS. With the sample's
/// curvature each step shrinks the gradient by about the Hessian's sampling error (a
/// few percent at 20,000 customers), so from the sample's optimum the tolerance is
/// reached in a handful.
const POLISH_STEPS: u64 = 12;

/// Halvings of a Newton step before [`polish`] stops: a step along a good curvature
/// estimate is taken whole; one that must be cut further is at the rounding floor.
const POLISH_HALVINGS: usize = 4;

/// A gradient norm [`polish`] accepts when no step improves on it (above the tolerance):
/// the floor where rounding in the sums over a large table's rows stops a step from
/// lowering the gradient (about 3e-9 for Gamma-Gamma on 170,000 customers, where L-BFGS
/// from the initial values stops at 3.5e-8).
const POLISH_FLOOR: f64 = 1e-8;

/// Newton steps on the full data from the sample's estimate, with the sample's inverse
/// Hessian: each costs one full-data evaluation (L-BFGS from the same start needs a dozen
/// iterations to learn the curvature that the sample already gives). A step is halved
/// until the objective does not rise (within rounding, where the gradient still falls).
/// Returns the point and the steps taken once the gradient norm is within
/// `opts.tolerance`, or within [`POLISH_FLOOR`] when no step improves on it or the
/// steps run out; otherwise `Err` with the best point reached and the steps taken, and
/// the caller runs L-BFGS from that point.
fn polish<M: Model>(
    obj: &Objective<'_, M>,
    start: Vec<f64>,
    inverse_hessian: &[Vec<f64>],
    opts: &FitOptions,
) -> std::result::Result<(Vec<f64>, u64), (Vec<f64>, u64)> {
    let mut u = start;
    let (mut value, mut gradient) = obj.value_grad(&u);
    for step in 0..=POLISH_STEPS {
        let g_norm = norm(&gradient);
        if !(value.is_finite() && g_norm.is_finite()) {
            return Err((u, step));
        }
        if g_norm <= opts.tolerance {
            return Ok((u, step));
        }
        let next = (step < POLISH_STEPS)
            .then(|| newton_step(obj, &u, value, &gradient, inverse_hessian))
            .flatten();
        match next {
            Some(taken) => (u, value, gradient) = taken,
            None if g_norm <= opts.tolerance.max(POLISH_FLOOR) => return Ok((u, step)),
            None => return Err((u, step)),
        }
    }
    Err((u, POLISH_STEPS))
}

/// One Newton step from `u` (objective `value`, `gradient`) along `-inverse_hessian *
/// gradient`, halved at most [`POLISH_HALVINGS`] times until the objective falls, or
/// stays within rounding of `value` while the gradient norm falls: the new point with
/// its value and gradient, or None when no length qualifies.
fn newton_step<M: Model>(
    obj: &Objective<'_, M>,
    u: &[f64],
    value: f64,
    gradient: &[f64],
    inverse_hessian: &[Vec<f64>],
) -> Option<(Vec<f64>, f64, Vec<f64>)> {
    let direction: Vec<f64> = inverse_hessian
        .iter()
        .map(|row| -row.iter().zip(gradient).map(|(h, g)| h * g).sum::<f64>())
        .collect();
    let g_norm = norm(gradient);
    let rounding = 1e-12 * value.abs().max(1.0);
    let mut length = 1.0;
    for _ in 0..=POLISH_HALVINGS {
        let next: Vec<f64> = u
            .iter()
            .zip(&direction)
            .map(|(a, d)| a + length * d)
            .collect();
        let (v, g) = obj.value_grad(&next);
        let falls = v < value || (v <= value + rounding && norm(&g) < g_norm);
        if v.is_finite() && falls {
            return Some((next, v, g));
        }
        length *= 0.5;
    }
    None
}

/// Gradient of the total objective (negative LL + n * penalty) in log-parameters.
fn total_grad<M: Model>(log_theta: &[f64], data: &M::Data, n: f64, penalizer: f64) -> Vec<f64> {
    let obj = Objective::<M> {
        data,
        n,
        penalizer,
        unit_factor: vec![1.0; log_theta.len()],
        cache: RefCell::new(None),
    };
    let (_, g) = obj.evaluate(log_theta);
    g.into_iter().map(|v| v * n).collect()
}

/// Covariance of the log-parameters, `H^-1` with H the Hessian of the total objective
/// in log-parameters (central differences of the gradient); None when H is not
/// positive definite.
#[allow(clippy::needless_range_loop)]
fn log_covariance<M: Model>(
    params: &[f64],
    data: &M::Data,
    n: f64,
    penalizer: f64,
) -> Option<Vec<Vec<f64>>> {
    let k = params.len();
    let log_theta: Vec<f64> = params.iter().map(|v| v.ln()).collect();
    let h = 1e-4;
    let mut hess = vec![vec![0.0; k]; k];
    for j in 0..k {
        let mut up = log_theta.clone();
        let mut down = log_theta.clone();
        up[j] += h;
        down[j] -= h;
        let gu = total_grad::<M>(&up, data, n, penalizer);
        let gd = total_grad::<M>(&down, data, n, penalizer);
        for i in 0..k {
            hess[i][j] = (gu[i] - gd[i]) / (2.0 * h);
        }
    }
    for i in 0..k {
        for j in 0..i {
            let v = 0.5 * (hess[i][j] + hess[j][i]);
            hess[i][j] = v;
            hess[j][i] = v;
        }
    }
    invert_spd(&hess)
}

/// Standard errors by the delta method: Cov(theta) = J Cov(ln theta) J with
/// J = diag(theta); `NaN` without a covariance or for a non-positive variance.
fn standard_errors(params: &[f64], log_covariance: Option<&[Vec<f64>]>) -> Vec<f64> {
    match log_covariance {
        Some(cov) => params
            .iter()
            .zip(cov)
            .enumerate()
            .map(|(j, (p, row))| {
                let var = row[j];
                if var > 0.0 { p * var.sqrt() } else { f64::NAN }
            })
            .collect(),
        None => vec![f64::NAN; params.len()],
    }
}

/// The lower-triangular Cholesky factor `L` of a symmetric positive-definite matrix
/// (`A = L L^T`); None when not SPD.
#[allow(clippy::needless_range_loop)] // index-heavy matrix algebra reads best with indices
pub(crate) fn cholesky(a: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let k = a.len();
    let mut l = vec![vec![0.0; k]; k];
    for i in 0..k {
        for j in 0..=i {
            let s: f64 = (0..j).map(|m| l[i][m] * l[j][m]).sum();
            if i == j {
                let d = a[i][i] - s;
                if !(d > 0.0 && d.is_finite()) {
                    return None;
                }
                l[i][j] = d.sqrt();
            } else {
                l[i][j] = (a[i][j] - s) / l[j][j];
            }
        }
    }
    Some(l)
}

/// Inverse of a symmetric positive-definite matrix by Cholesky; None when not SPD.
#[allow(clippy::needless_range_loop)] // index-heavy matrix algebra reads best with indices
pub(crate) fn invert_spd(a: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let k = a.len();
    let l = cholesky(a)?;
    // Invert L, then A^-1 = L^-T L^-1.
    let mut li = vec![vec![0.0; k]; k];
    for i in 0..k {
        li[i][i] = 1.0 / l[i][i];
        for j in 0..i {
            let s: f64 = (j..i).map(|m| l[i][m] * li[m][j]).sum();
            li[i][j] = -s / l[i][i];
        }
    }
    let mut inv = vec![vec![0.0; k]; k];
    for i in 0..k {
        for j in 0..k {
            inv[i][j] = (i.max(j)..k).map(|m| li[m][i] * li[m][j]).sum();
        }
    }
    Some(inv)
}

/// Rows per chunk in parallel sums.
const CHUNK: usize = 2048;

/// Sums `f(i)` over `0..n` in fixed chunks (parallel across chunks, sequential within
/// and across chunk results in order), so the total is bit-identical whatever the
/// number of threads.
pub(crate) fn chunked_sum<const K: usize>(
    n: usize,
    f: impl Fn(usize) -> [f64; K] + Sync,
) -> [f64; K] {
    let n_chunks = n.div_ceil(CHUNK);
    let chunk = |c: usize| {
        let mut acc = [0.0; K];
        for i in c * CHUNK..((c + 1) * CHUNK).min(n) {
            let v = f(i);
            for k in 0..K {
                acc[k] += v[k];
            }
        }
        acc
    };
    let parts: Vec<[f64; K]> = if cfg!(feature = "parallel") && n_chunks > 1 {
        (0..n_chunks).into_par_iter().map(chunk).collect()
    } else {
        (0..n_chunks).map(chunk).collect()
    };
    let mut total = [0.0; K];
    for p in parts {
        for k in 0..K {
            total[k] += p[k];
        }
    }
    total
}

/// Like [`chunked_sum`] for a vector of `len` sums: `f(i, acc)` adds row `i`'s terms into
/// `acc`; chunks are summed in parallel and their results added in chunk order, so the
/// total is bit-identical whatever the number of threads.
pub(crate) fn chunked_sum_vec(
    n: usize,
    len: usize,
    f: impl Fn(usize, &mut [f64]) + Sync,
) -> Vec<f64> {
    let n_chunks = n.div_ceil(CHUNK);
    let chunk = |c: usize| {
        let mut acc = vec![0.0; len];
        for i in c * CHUNK..((c + 1) * CHUNK).min(n) {
            f(i, &mut acc);
        }
        acc
    };
    let parts: Vec<Vec<f64>> = if cfg!(feature = "parallel") && n_chunks > 1 {
        (0..n_chunks).into_par_iter().map(chunk).collect()
    } else {
        (0..n_chunks).map(chunk).collect()
    };
    let mut total = vec![0.0; len];
    for p in parts {
        for (t, v) in total.iter_mut().zip(p) {
            *t += v;
        }
    }
    total
}

#[cfg(all(test, feature = "frames"))]
mod tests {
    use super::*;
    use crate::clv::{BgNbd, RepeatData};
    use crate::simulate::{Process, simulate_repeat_data};

    /// The Newton polish reaches the tolerance in a few steps with the curvature at the
    /// optimum, and with a hundredth of it (each step a hundredth of the way) hands the
    /// best point it reached and its steps back for L-BFGS to finish.
    #[test]
    fn polish_converges_with_the_curvature_and_hands_over_without_it() {
        let process = Process::BgNbd {
            r: 0.243,
            alpha: 4.414,
            a: 0.793,
            b: 2.426,
        };
        let s = simulate_repeat_data(&process, 5_000, 1.0, 78.0, 11).unwrap();
        let d = RepeatData::new(&s.frequency, &s.recency, &s.t).unwrap();
        let scaled = Scaled::<BgNbd>::new(&d);
        let obj = scaled.objective(0.0);
        let opts = FitOptions::default();
        let init = scaled.to_log(&BgNbd::default_initial(&d));
        let optimum = minimise(&obj, init, &opts).0.unwrap();
        let (n, _) = BgNbd::size(&d);
        let covariance = log_covariance::<BgNbd>(&scaled.to_params(&optimum), &d, n, 0.0);
        let inverse: Vec<Vec<f64>> = covariance
            .unwrap()
            .into_iter()
            .map(|row| row.into_iter().map(|v| v * n).collect())
            .collect();
        let start: Vec<f64> = optimum.iter().map(|v| v + 0.05).collect();

        let (u, steps) = polish(&obj, start.clone(), &inverse, &opts).unwrap();
        assert!((1..POLISH_STEPS).contains(&steps), "{steps} steps");
        assert!(norm(&obj.value_grad(&u).1) <= opts.tolerance);

        let timid: Vec<Vec<f64>> = inverse
            .iter()
            .map(|row| row.iter().map(|v| v * 0.01).collect())
            .collect();
        let (reached, steps) = polish(&obj, start.clone(), &timid, &opts).unwrap_err();
        assert_eq!(steps, POLISH_STEPS);
        assert!(obj.value_grad(&reached).0 < obj.value_grad(&start).0);
    }
}
