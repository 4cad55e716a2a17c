//! Pareto/NBD with covariates: `α_i = α exp(−γ_pᵀ z_i)` (purchase) and
//! `β_i = β exp(−γ_dᵀ z_i)` (dropout), CLVTools' parametrisation. Each row's
//! log-likelihood is the plain model's (its hypergeometric `A0` term evaluated in log
//! space on the side of `α ≷ β` that keeps the series well behaved, see
//! [`crate::clv::paretonbd`]) at the row's own `(r, α_i, s, β_i)`.
//!
//! The plain model has no analytic gradient (2F1 has no closed-form derivative in its
//! parameters), so the gradient in `(r, α_i, s, β_i)` is taken per row by central
//! differences of that log-likelihood in the log parameters, step [`LOG_STEP`]
//! (`∂LL/∂θ_j = [LL(θ_j e^h) − LL(θ_j e^−h)] / (2h θ_j)`, truncation error `O(h²)`);
//! the engine ([`super::fit`]) carries it to the base parameters and coefficients. The
//! tests check the total gradient against central differences of the total likelihood.

use crate::clv::ParetoNbd;
use crate::clv::covariates::CovariateRepeatData;
use crate::clv::covariates::fit::CovariateModel;
use crate::clv::paretonbd::ln_lik;

/// Step in the log parameters for the per-row central differences: the truncation
/// error (`~h²`, 1e-10) and the rounding error (`~1e-16 |LL| / h`) are both far below
/// the fit's gradient tolerance.
const LOG_STEP: f64 = 1e-5;

impl CovariateModel for ParetoNbd {
    const PROCESSES: &'static [(&'static str, usize, f64)] =
        &[("purchase", 1, -1.0), ("dropout", 3, -1.0)];
    type CovData = CovariateRepeatData;

    fn plain(data: &CovariateRepeatData) -> &crate::clv::RepeatData {
        data.plain()
    }

    fn covariate_names(data: &CovariateRepeatData) -> &[String] {
        data.names()
    }

    fn n_rows(data: &CovariateRepeatData) -> usize {
        data.len()
    }

    fn z_w(data: &CovariateRepeatData, i: usize) -> (&[f64], f64) {
        let (_, _, _, z, w) = data.row(i);
        (z, w)
    }

    fn transform(
        data: &CovariateRepeatData,
        scale: f64,
        mu: &[f64],
        sd: &[f64],
    ) -> CovariateRepeatData {
        data.transformed(scale, mu, sd)
    }

    fn row_ll(theta: &[f64], data: &CovariateRepeatData, i: usize, grad: bool) -> (f64, [f64; 4]) {
        let (x, t_x, t, _, _) = data.row(i);
        let ll = ln_lik(theta, x, t_x, t);
        if !grad {
            return (ll, [0.0; 4]);
        }
        let mut g = [0.0; 4];
        let mut p = [theta[0], theta[1], theta[2], theta[3]];
        for (j, gj) in g.iter_mut().enumerate() {
            let v = theta[j];
            p[j] = v * LOG_STEP.exp();
            let up = ln_lik(&p, x, t_x, t);
            p[j] = v * (-LOG_STEP).exp();
            let down = ln_lik(&p, x, t_x, t);
            p[j] = v;
            *gj = (up - down) / (2.0 * LOG_STEP * v);
        }
        (ll, g)
    }
}
