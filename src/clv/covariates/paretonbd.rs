//! Pareto/NBD with covariates: `α_i = α exp(−γ_pᵀ z_i)` (purchase) and
//! `β_i = β exp(−γ_dᵀ z_i)` (dropout), CLVTools' parametrisation. Each row's
//! log-likelihood is the plain model's (its hypergeometric `A0` term evaluated in log
//! space on the side of `α ≷ β` that keeps the series well behaved, see
//! [`crate::clv::paretonbd`]) at the row's own `(r, α_i, s, β_i)`.
//!
//! The row log-likelihood is `ln Γ(r+x) − ln Γ(r) + r ln α_i + s ln β_i` (differentiated
//! analytically) plus `ln[(α_i+T)^−(r+x) (β_i+T)^−s + s/(r+s+x) A0]`, whose gradient in
//! `(r, α_i, s, β_i)` is the plain model's (`paretonbd::ln_lik_tail_grad`: analytic
//! through the 2F1 series where it is summed directly, central differences of the row's
//! likelihood elsewhere). The engine ([`super::fit`]) carries it to the base parameters
//! and coefficients. The tests check the total gradient against central differences of
//! the total likelihood.
//!
//! What a positive coefficient means: `purchase.<c> > 0` lowers `α_i` and raises the mean
//! purchase rate `r / α_i`; `dropout.<c> > 0` lowers `β_i` and raises the mean dropout
//! rate `s / β_i` (shorter lifetimes).
//!
//! # Example
//!
//! ```
//! use patronage::clv::ParetoNbd;
//! use patronage::clv::covariates::{CovariateFit, CovariateRepeatData, Covariates};
//! use patronage::simulate::{Process, simulate_covariate_repeat_data};
//! let web: Vec<f64> = (0..400).map(|i| (i % 2) as f64).collect();
//! let z = Covariates::new(vec!["web".into()], vec![web])?;
//! let p = Process::ParetoNbd { r: 0.8, alpha: 5.0, s: 0.6, beta: 12.0 };
//! // purchase.web = 0.5 (web customers buy more often), dropout.web = 0.0
//! let sim = simulate_covariate_repeat_data(&p, &z, &[0.5, 0.0], 30.0, 52.0, 7)?;
//! let data = CovariateRepeatData::new(&sim.frequency, &sim.recency, &sim.t, &z)?;
//! let fit = CovariateFit::<ParetoNbd>::fit(&data, &Default::default())?;
//! assert_eq!(fit.param_names()[4..], ["purchase.web", "dropout.web"]);
//! assert_eq!(fit.likelihood_ratio().df, 2);
//! # Ok::<(), patronage::Error>(())
//! ```
//!
//! Cost: one pass over each 2F1 series per distinct row and gradient (nine evaluations
//! on the rows that fall back to differences), or an adaptive quadrature where the
//! series would be slow (see [`crate::clv::paretonbd`]); rows are compressed on
//! `(x, t_x, T, z)`.

use crate::clv::ParetoNbd;
use crate::clv::covariates::CovariateRepeatData;
use crate::clv::covariates::fit::CovariateModel;
use crate::clv::paretonbd::{ln_lik_head, ln_lik_head_grad, ln_lik_tail, ln_lik_tail_grad};

impl CovariateModel for ParetoNbd {
    const PROCESSES: &'static [(&'static str, usize, f64)] =
        &[("purchase", 1, -1.0), ("dropout", 3, -1.0)];
    type CovData = CovariateRepeatData;

    fn row_ll(theta: &[f64], data: &CovariateRepeatData, i: usize, grad: bool) -> (f64, [f64; 4]) {
        let (x, t_x, t, _, _) = data.row(i);
        if !grad {
            return (
                ln_lik_head(theta, x) + ln_lik_tail(theta, x, t_x, t),
                [0.0; 4],
            );
        }
        let (tail, g_tail) = ln_lik_tail_grad(theta, x, t_x, t);
        let g_head = ln_lik_head_grad(theta, x);
        let g = std::array::from_fn(|j| g_head[j] + g_tail[j]);
        (ln_lik_head(theta, x) + tail, g)
    }
}
