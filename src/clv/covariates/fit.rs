//! The fitting engine for models with covariates.
//!
//! The parameters are the model's base parameters on the log scale (as in
//! [`crate::clv::fit`]) followed by the coefficients on their own (unbounded) scale,
//! process by process: `[ln r, ln α, ln a, ln b, γ_purchase…, γ_dropout_a…, γ_dropout_b…]`
//! for BG/NBD. Each customer's parameter vector is the base one with parameter `j` of a
//! process scaled by `exp(sign · γᵀ z_i)`.
//!
//! The gradient is analytic: the model gives the per-customer log-likelihood's gradient
//! in its own parameters, and the chain rule carries it to the log base parameters
//! (`∂θ_ij/∂ ln θ_j = θ_ij`) and the coefficients (`∂θ_ij/∂γ_k = sign · θ_ij z_ik`). The
//! fit starts at the plain model's estimate with every coefficient at zero, runs argmin's
//! L-BFGS on the mean negative log-likelihood with time (or money) rescaled as the plain
//! fit does, and takes the covariance of all parameters from the inverse Hessian of the
//! total negative log-likelihood in these coordinates (central differences of the
//! analytic gradient, step 1e-4, as the plain fits): standard errors `θ_j sqrt(cov_jj)`
//! for the base parameters (delta method) and `sqrt(cov_jj)` for the coefficients.

use std::cell::RefCell;
use std::marker::PhantomData;

use serde::{Deserialize, Serialize};
use statrs::distribution::{ChiSquared, ContinuousCDF};

use crate::clv::covariates::CovariateData;
use crate::clv::fit::{
    FitOptions, FitReport, Fitter, Model, Smooth, chunked_sum_vec, invert_spd, lbfgs_restarts, norm,
};
use crate::clv::{Fitted, PurchaseModel};
use crate::error::{Error, Result};

/// A model that takes covariates: which base parameters they act on, and the
/// log-likelihood of one row given that row's own parameters.
pub trait CovariateModel: Model + Sized {
    /// Per process: its name in the output (`purchase`, ...), the index of the base
    /// parameter it scales, and the sign of the exponent (`θ_i = θ exp(sign · γᵀ z_i)`).
    const PROCESSES: &'static [(&'static str, usize, f64)];
    /// The data with covariates (the plain model's data plus a covariate row each).
    type CovData: CovariateData<Plain = Self::Data>;

    /// Row `i`'s log-likelihood at its parameters `theta`, and (when `grad`) its gradient
    /// in `theta` (entries beyond the model's parameter count are zero).
    fn row_ll(theta: &[f64], data: &Self::CovData, i: usize, grad: bool) -> (f64, [f64; 4]);
}

/// The likelihood-ratio test of the model with covariates against the model without:
/// `statistic = 2 (LL_cov − LL_plain)`, chi-square with `df` (the number of
/// coefficients) degrees of freedom under the null that every coefficient is zero.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LikelihoodRatio {
    /// `2 (LL_cov − LL_plain)`, at least 0.
    pub statistic: f64,
    /// Degrees of freedom: the number of coefficients.
    pub df: usize,
    /// `P(χ²_df ≥ statistic)`; 1 without coefficients.
    pub p_value: f64,
}

impl LikelihoodRatio {
    fn new(ll_cov: f64, ll_plain: f64, df: usize) -> Self {
        // The covariate model nests the plain one: a negative difference is the
        // optimisers' tolerance, not evidence.
        let statistic = (2.0 * (ll_cov - ll_plain)).max(0.0);
        let p_value = match ChiSquared::new(df as f64) {
            Ok(chi) if df > 0 => (1.0 - chi.cdf(statistic)).clamp(0.0, 1.0),
            _ => 1.0,
        };
        LikelihoodRatio {
            statistic,
            df,
            p_value,
        }
    }
}

/// A model fitted with covariates: base parameters, coefficients, the fit report (its
/// `standard_errors` and `log_covariance` cover base parameters and coefficients, in
/// [`CovariateFit::param_names`] order; the covariance is of the log base parameters and
/// the raw coefficients), the plain fit and the likelihood-ratio test against it.
///
/// # Example
///
/// ```
/// use patronage::clv::BgNbd;
/// use patronage::clv::covariates::{Covariates, CovariateFit, CovariateRepeatData};
/// let x = [0.0, 1.0, 3.0, 0.0, 2.0, 5.0, 1.0, 0.0];
/// let t_x = [0.0, 5.0, 20.0, 0.0, 12.0, 30.0, 3.0, 0.0];
/// let t = [30.0, 32.0, 35.0, 20.0, 33.0, 36.0, 31.0, 25.0];
/// let z = Covariates::new(vec!["web".into()], vec![vec![0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0]])?;
/// let data = CovariateRepeatData::new(&x, &t_x, &t, &z)?;
/// let fit = CovariateFit::<BgNbd>::fit(&data, &Default::default())?;
/// assert_eq!(fit.param_names()[4], "purchase.web");
/// assert_eq!(fit.likelihood_ratio().df, 3);
/// let customer = fit.for_customer(&[1.0])?; // a plain BG/NBD at this customer's parameters
/// # Ok::<(), patronage::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CovariateFit<M> {
    base: Vec<f64>,
    coefficients: Vec<f64>,
    covariates: Vec<String>,
    report: FitReport,
    plain: Fitted<M>,
    likelihood_ratio: LikelihoodRatio,
    _model: PhantomData<M>,
}

impl<M: CovariateModel> CovariateFit<M> {
    /// Fits the plain model, then the model with covariates from the plain estimate.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] for a penalizer other than 0 (a penalised fit is not a
    /// likelihood the ratio test can use) or bad options as in [`Fitter::fit`]; the plain
    /// fit's errors; [`Error::NotConverged`] when the fit with covariates stops above the
    /// gradient tolerance.
    pub fn fit(data: &M::CovData, opts: &FitOptions) -> Result<Self> {
        if opts.penalizer != 0.0 {
            return Err(Error::invalid(
                "clv.fit.penalizer",
                "fits with covariates take no penalizer (the likelihood-ratio test needs plain maximum likelihood)",
            ));
        }
        let plain = Fitter::<M>::with_options(opts.clone()).fit(data.plain_data())?;
        fit_from(data, opts, plain)
    }

    /// Covariate names.
    pub fn covariate_names(&self) -> &[String] {
        &self.covariates
    }

    /// Base parameters, in the plain model's order.
    pub fn base(&self) -> &[f64] {
        &self.base
    }

    /// Coefficients, process by process (`PROCESSES` order), covariates in order within.
    pub fn coefficients(&self) -> &[f64] {
        &self.coefficients
    }

    /// The coefficient of `covariate` in `process` (`purchase`, `dropout_a`, ...).
    pub fn coefficient(&self, process: &str, covariate: &str) -> Option<f64> {
        let p = M::PROCESSES.iter().position(|(n, _, _)| *n == process)?;
        let j = self.covariates.iter().position(|c| c == covariate)?;
        Some(self.coefficients[p * self.covariates.len() + j])
    }

    /// Parameter names: the base ones, then `<process>.<covariate>`.
    pub fn param_names(&self) -> Vec<String> {
        let mut names: Vec<String> = M::PARAM_NAMES.iter().map(|s| s.to_string()).collect();
        for (p, _, _) in M::PROCESSES {
            for c in &self.covariates {
                names.push(format!("{p}.{c}"));
            }
        }
        names
    }

    /// Every estimate with its name, in [`CovariateFit::param_names`] order.
    pub fn params(&self) -> Vec<(String, f64)> {
        self.param_names()
            .into_iter()
            .zip(self.base.iter().chain(&self.coefficients).copied())
            .collect()
    }

    /// The fit report (log-likelihood with covariates, standard errors of every
    /// parameter, iterations, ...).
    pub fn report(&self) -> &FitReport {
        &self.report
    }

    /// The model fitted on the same customers without covariates.
    pub fn plain(&self) -> &Fitted<M> {
        &self.plain
    }

    /// The likelihood-ratio test against [`CovariateFit::plain`].
    pub fn likelihood_ratio(&self) -> LikelihoodRatio {
        self.likelihood_ratio
    }

    /// The plain model at the parameters of a customer with covariates `z` (in
    /// [`CovariateFit::covariate_names`] order): every prediction of the plain model
    /// ([`PurchaseModel`], Gamma-Gamma's expected spend) for that customer.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] (option `covariates`) when `z` has the wrong length or a
    /// value that is not finite; [`Error::Model`] when a parameter overflows.
    pub fn for_customer(&self, z: &[f64]) -> Result<Fitted<M>> {
        check_row(&self.covariates, z)?;
        Fitted::from_params(&individual::<M>(&self.base, &self.coefficients, z))
    }
}

impl<M: CovariateModel> CovariateFit<M>
where
    Fitted<M>: PurchaseModel,
{
    /// P(alive at `T`) of a customer with history `(x, t_x, T)` and covariates `z`.
    ///
    /// # Errors
    ///
    /// As [`CovariateFit::for_customer`].
    pub fn p_alive(&self, x: f64, t_x: f64, t: f64, z: &[f64]) -> Result<f64> {
        Ok(self.for_customer(z)?.p_alive(x, t_x, t))
    }

    /// Expected purchases in `(T, T + horizon]` of a customer with history
    /// `(x, t_x, T)` and covariates `z`.
    ///
    /// # Errors
    ///
    /// As [`CovariateFit::for_customer`] and
    /// [`PurchaseModel::conditional_expected_purchases`].
    pub fn conditional_expected_purchases(
        &self,
        horizon: f64,
        x: f64,
        t_x: f64,
        t: f64,
        z: &[f64],
    ) -> Result<f64> {
        self.for_customer(z)?
            .conditional_expected_purchases(horizon, x, t_x, t)
    }
}

/// A customer's covariate row: one finite value per covariate `names`.
pub(crate) fn check_row(names: &[String], z: &[f64]) -> Result<()> {
    if z.len() != names.len() || !z.iter().all(|v| v.is_finite()) {
        return Err(Error::invalid(
            "covariates",
            format!(
                "expected {} finite values ({})",
                names.len(),
                names.join(", ")
            ),
        ));
    }
    Ok(())
}

/// A customer's parameters: the base ones scaled per process by `exp(sign γᵀ z)`.
pub(crate) fn individual<M: CovariateModel>(base: &[f64], coefs: &[f64], z: &[f64]) -> Vec<f64> {
    let k = z.len();
    let mut theta = base.to_vec();
    for (p, &(_, j, sign)) in M::PROCESSES.iter().enumerate() {
        let eta: f64 = coefs[p * k..(p + 1) * k]
            .iter()
            .zip(z)
            .map(|(g, v)| g * v)
            .sum();
        theta[j] *= (sign * eta).exp();
    }
    theta
}

/// Total negative log-likelihood at `base` (natural scale) and `coefs`, and its gradient
/// in `[ln base, coefs]`.
fn neg_ll<M: CovariateModel>(
    base: &[f64],
    coefs: &[f64],
    data: &M::CovData,
    want_grad: bool,
) -> (f64, Vec<f64>) {
    let nb = base.len();
    let k = data.covariate_names().len();
    let len = 1 + nb + coefs.len();
    let total = chunked_sum_vec(data.rows(), len, |i, acc| {
        let (z, w) = data.z_w(i);
        let theta = individual::<M>(base, coefs, z);
        let (ll, g) = M::row_ll(&theta, data, i, want_grad);
        acc[0] -= w * ll;
        if !want_grad {
            return;
        }
        for j in 0..nb {
            acc[1 + j] -= w * g[j] * theta[j];
        }
        for (p, &(_, j, sign)) in M::PROCESSES.iter().enumerate() {
            let d = w * g[j] * theta[j] * sign;
            for (c, v) in z.iter().enumerate() {
                acc[1 + nb + p * k + c] -= d * v;
            }
        }
    });
    (total[0], total[1..].to_vec())
}

#[cfg(test)]
pub(crate) fn test_neg_ll<M: CovariateModel>(
    base: &[f64],
    coefs: &[f64],
    data: &M::CovData,
    want_grad: bool,
) -> (f64, Vec<f64>) {
    neg_ll::<M>(base, coefs, data, want_grad)
}

/// A cached evaluation: point, value, gradient.
type Evaluation = (Vec<f64>, f64, Vec<f64>);

/// The mean objective in `u = [ln base (rescaled), coefs]`, with a one-point cache.
struct Objective<'a, M: CovariateModel> {
    data: &'a M::CovData,
    nb: usize,
    n: f64,
    cache: RefCell<Option<Evaluation>>,
}

impl<M: CovariateModel> Smooth for Objective<'_, M> {
    fn value_grad(&self, u: &[f64]) -> (f64, Vec<f64>) {
        if let Some((p, v, g)) = self.cache.borrow().as_ref()
            && p.as_slice() == u
        {
            return (*v, g.clone());
        }
        let base: Vec<f64> = u[..self.nb].iter().map(|v| v.exp()).collect();
        let (nll, g) = neg_ll::<M>(&base, &u[self.nb..], self.data, true);
        let (v, g): (f64, Vec<f64>) = (nll / self.n, g.iter().map(|x| x / self.n).collect());
        *self.cache.borrow_mut() = Some((u.to_vec(), v, g.clone()));
        (v, g)
    }
}

/// |log base parameter| or |coefficient| beyond which a fit that stopped short is taken
/// to be running off to the edge of the parameter space (a factor of e^10 ≈ 22,000).
const RUNAWAY: f64 = 10.0;

/// L-BFGS runs at most (the first and the restarts).
const RESTARTS: usize = 4;

/// The optimiser's coordinates for one data set: time (or money) rescaled as the plain
/// fit does, covariates standardised (weighted mean 0, sd 1), so a covariate in the
/// hundreds starts as well as a dummy; estimates are mapped back to the data's units.
struct Scaled<M: CovariateModel> {
    data: M::CovData,
    /// Each base parameter's unit (`scale^power`).
    unit: Vec<f64>,
    mu: Vec<f64>,
    sd: Vec<f64>,
    /// Customers (sum of weights).
    n: f64,
}

impl<M: CovariateModel> Scaled<M> {
    fn of(data: &M::CovData) -> Self {
        let k = data.covariate_names().len();
        let nb = M::PARAM_NAMES.len();
        let (n, _) = M::size(data.plain_data());
        let (scale, powers) = M::time_scale(data.plain_data());
        let unit: Vec<f64> = (0..nb).map(|j| scale.powf(powers[j])).collect();
        let (mu, sd) = moments::<M>(data, k);
        let scaled = data.rescaled(scale, &mu, &sd);
        Scaled {
            data: scaled,
            unit,
            mu,
            sd,
            n,
        }
    }

    fn objective(&self) -> Objective<'_, M> {
        Objective::<M> {
            data: &self.data,
            nb: M::PARAM_NAMES.len(),
            n: self.n,
            cache: RefCell::new(None),
        }
    }

    /// The linear map from the optimiser's `[ln θ̃, γ̃]` to `[ln θ / unit, γ]`:
    /// `γ_k = γ̃_k / sd_k`, and each process's base parameter absorbs the centring,
    /// `ln θ_j = ln θ̃_j − sign Σ_k γ̃_k mu_k / sd_k`.
    fn map(&self) -> Vec<Vec<f64>> {
        let (nb, k) = (M::PARAM_NAMES.len(), self.mu.len());
        let dim = nb + M::PROCESSES.len() * k;
        let mut a = vec![vec![0.0; dim]; dim];
        for (j, row) in a.iter_mut().enumerate().take(nb) {
            row[j] = 1.0;
        }
        for (p, &(_, j, sign)) in M::PROCESSES.iter().enumerate() {
            for c in 0..k {
                a[j][nb + p * k + c] = -sign * self.mu[c] / self.sd[c];
                a[nb + p * k + c][nb + p * k + c] = 1.0 / self.sd[c];
            }
        }
        a
    }

    /// Base parameters (natural scale, data units) and coefficients of the optimiser's
    /// point `u`.
    fn to_original(&self, a: &[Vec<f64>], u: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let nb = M::PARAM_NAMES.len();
        let u_orig: Vec<f64> = a
            .iter()
            .map(|row| row.iter().zip(u).map(|(x, v)| x * v).sum())
            .collect();
        let base = u_orig[..nb]
            .iter()
            .zip(&self.unit)
            .map(|(v, s)| v.exp() * s)
            .collect();
        (base, u_orig[nb..].to_vec())
    }

    /// The optimiser's point of base parameters `base` (natural scale, data units) and
    /// coefficients `coefs`: the inverse of [`Scaled::to_original`].
    fn to_optimiser(&self, base: &[f64], coefs: &[f64]) -> Vec<f64> {
        let k = self.mu.len();
        let mut u: Vec<f64> = base
            .iter()
            .zip(&self.unit)
            .map(|(v, s)| (v / s).ln())
            .collect();
        for (p, &(_, j, sign)) in M::PROCESSES.iter().enumerate() {
            for c in 0..k {
                u[j] += sign * coefs[p * k + c] * self.mu[c];
            }
        }
        u.extend(
            coefs
                .iter()
                .enumerate()
                .map(|(i, g)| g * self.sd[i % k.max(1)]),
        );
        u
    }
}

/// L-BFGS from `start`, restarted from its best point (a fresh curvature memory) while
/// the line search stops short of the tolerance, at most [`RESTARTS`] times: the point,
/// the iterations and the gradient norm there.
///
/// # Errors
///
/// [`Error::NotConverged`] when it stops above the gradient tolerance.
fn optimise<M: CovariateModel>(
    obj: &Objective<'_, M>,
    start: Vec<f64>,
    opts: &FitOptions,
) -> Result<(Vec<f64>, u64, f64)> {
    let (u, iterations) = lbfgs_restarts(obj, start, opts, RESTARTS, opts.tolerance.max(1e-7));
    let (v, g) = obj.value_grad(&u);
    let gradient_norm = norm(&g);
    if !(v.is_finite() && gradient_norm <= opts.tolerance.max(1e-5)) {
        return Err(Error::NotConverged {
            model: format!("{} with covariates", M::NAME),
            iterations,
            gradient_norm,
            hint: if u.iter().any(|v| v.abs() > RUNAWAY) {
                "estimates run off towards infinity or zero (a covariate level's customers give the likelihood no maximum at finite coefficients, often too few repeat buyers in a level): use fewer covariates or merge rare levels"
            } else {
                "raise max_iterations, or centre and scale numeric covariates"
            }
            .into(),
        });
    }
    Ok((u, iterations, gradient_norm))
}

/// Refits on `data` (a bootstrap resample, say) from the estimates `base` and `coefs`:
/// the new `[base…, coefficients…]`, without the covariance or the plain fit.
///
/// # Errors
///
/// [`Error::NotConverged`] as [`CovariateFit::fit`].
pub(crate) fn refit_from<M: CovariateModel>(
    data: &M::CovData,
    opts: &FitOptions,
    base: &[f64],
    coefs: &[f64],
) -> Result<Vec<f64>> {
    let scaled = Scaled::<M>::of(data);
    let obj = scaled.objective();
    let (u, _, _) = optimise(&obj, scaled.to_optimiser(base, coefs), opts)?;
    let (mut params, coefs) = scaled.to_original(&scaled.map(), &u);
    params.extend(coefs);
    Ok(params)
}

/// Fits the model with covariates from the plain fit `plain` (same customers).
fn fit_from<M: CovariateModel>(
    data: &M::CovData,
    opts: &FitOptions,
    plain: Fitted<M>,
) -> Result<CovariateFit<M>> {
    let covariates = data.covariate_names().to_vec();
    let k = covariates.len();
    let nb = M::PARAM_NAMES.len();
    let n_coef = M::PROCESSES.len() * k;
    let scaled = Scaled::<M>::of(data);
    let n = scaled.n;
    let obj = scaled.objective();
    // From the plain estimate with every coefficient at zero.
    let start = scaled.to_optimiser(plain.params(), &vec![0.0; n_coef]);
    let (u, iterations, gradient_norm) = optimise(&obj, start, opts)?;
    let covariance = covariance(&obj, &u, n);
    // Back to the covariates' own units. The map is linear in (ln θ, γ), so the
    // covariance goes through it as A C Aᵀ.
    let dim = nb + n_coef;
    let a = scaled.map();
    let (base, coefficients) = scaled.to_original(&a, &u);
    let (nll, _) = neg_ll::<M>(&base, &coefficients, data, false);
    let log_likelihood = -nll;
    let covariance = covariance.map(|c| {
        // A C Aᵀ
        let ac: Vec<Vec<f64>> = (0..dim)
            .map(|i| {
                (0..dim)
                    .map(|j| (0..dim).map(|m| a[i][m] * c[m][j]).sum())
                    .collect()
            })
            .collect();
        (0..dim)
            .map(|i| {
                (0..dim)
                    .map(|j| (0..dim).map(|m| ac[i][m] * a[j][m]).sum())
                    .collect()
            })
            .collect::<Vec<Vec<f64>>>()
    });
    let standard_errors: Vec<f64> = match &covariance {
        Some(cov) => (0..dim)
            .map(|j| {
                let var = cov[j][j];
                let s = if j < nb { base[j] } else { 1.0 };
                if var > 0.0 { s * var.sqrt() } else { f64::NAN }
            })
            .collect(),
        None => vec![f64::NAN; dim],
    };
    let ll_plain = plain.report().map_or(f64::NAN, |r| r.log_likelihood);
    let likelihood_ratio = LikelihoodRatio::new(log_likelihood, ll_plain, n_coef);
    let report = FitReport {
        log_likelihood,
        n_customers: n,
        n_distinct: data.rows(),
        iterations,
        gradient_norm,
        converged: true,
        method: "lbfgs".into(),
        standard_errors,
        penalizer: 0.0,
        log_covariance: covariance.unwrap_or_default(),
        warm_start: None,
    };
    Ok(CovariateFit {
        base,
        coefficients,
        covariates,
        report,
        plain,
        likelihood_ratio,
        _model: PhantomData,
    })
}

/// The weighted mean and standard deviation of each covariate over the rows (sd 1 for a
/// column without spread, which [`Covariates::new`](super::Covariates::new) refuses).
fn moments<M: CovariateModel>(data: &M::CovData, k: usize) -> (Vec<f64>, Vec<f64>) {
    let rows = data.rows();
    let (mut sw, mut s1, mut s2) = (0.0, vec![0.0; k], vec![0.0; k]);
    for i in 0..rows {
        let (z, w) = data.z_w(i);
        sw += w;
        for c in 0..k {
            s1[c] += w * z[c];
        }
    }
    let mu: Vec<f64> = s1.iter().map(|v| v / sw).collect();
    for i in 0..rows {
        let (z, w) = data.z_w(i);
        for c in 0..k {
            s2[c] += w * (z[c] - mu[c]).powi(2);
        }
    }
    let sd = s2
        .iter()
        .map(|v| {
            let s = (v / sw).sqrt();
            if s > 0.0 && s.is_finite() { s } else { 1.0 }
        })
        .collect();
    (mu, sd)
}

/// The inverse Hessian of the total objective in `u` (central differences of the
/// analytic gradient); None when it is not positive definite.
#[allow(clippy::needless_range_loop)] // small dense algebra reads best with indices
fn covariance<M: CovariateModel>(
    obj: &Objective<'_, M>,
    u: &[f64],
    n: f64,
) -> Option<Vec<Vec<f64>>> {
    let dim = u.len();
    let h = 1e-4;
    let mut hess = vec![vec![0.0; dim]; dim];
    for j in 0..dim {
        let mut up = u.to_vec();
        let mut down = u.to_vec();
        up[j] += h;
        down[j] -= h;
        let (_, gu) = obj.value_grad(&up);
        let (_, gd) = obj.value_grad(&down);
        for i in 0..dim {
            hess[i][j] = n * (gu[i] - gd[i]) / (2.0 * h);
        }
    }
    for i in 0..dim {
        for j in 0..i {
            let v = 0.5 * (hess[i][j] + hess[j][i]);
            hess[i][j] = v;
            hess[j][i] = v;
        }
    }
    invert_spd(&hess)
}
