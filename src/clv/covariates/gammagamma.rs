//! Gamma-Gamma with covariates: `γ_i = γ exp(−γ_sᵀ z_i)` (spend). Each row's
//! log-likelihood is the plain model's at the row's own `(p, q, γ_i)`:
//!
//! `LL_i = ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ_i + (px−1) ln m + px ln x
//!        − (px+q) ln(γ_i + m x)`
//!
//! with its analytic gradient in `(p, q, γ_i)`. A positive coefficient lowers `γ_i` and
//! with it the mean spend per transaction `p γ_i / (q − 1)`.

use crate::clv::GammaGamma;
use crate::clv::covariates::CovariateSpendData;
use crate::clv::covariates::fit::CovariateModel;
use crate::clv::special::{digamma, ln_gamma};

impl CovariateModel for GammaGamma {
    const PROCESSES: &'static [(&'static str, usize, f64)] = &[("spend", 2, -1.0)];
    type CovData = CovariateSpendData;

    fn row_ll(theta: &[f64], data: &CovariateSpendData, i: usize, grad: bool) -> (f64, [f64; 4]) {
        let (p, q, g) = (theta[0], theta[1], theta[2]);
        let (x, m, _, _) = data.row(i);
        let px = p * x;
        let (ln_m, ln_x, lden) = (m.ln(), x.ln(), (g + m * x).ln());
        let ll = ln_gamma(px + q) - ln_gamma(px) - ln_gamma(q)
            + q * g.ln()
            + (px - 1.0) * ln_m
            + px * ln_x
            - (px + q) * lden;
        if !grad {
            return (ll, [0.0; 4]);
        }
        let psi = digamma(px + q);
        let dp = x * (psi - digamma(px) + ln_x + ln_m - lden);
        let dq = psi - digamma(q) + g.ln() - lden;
        let dg = q / g - (px + q) / (g + m * x);
        (ll, [dp, dq, dg, 0.0])
    }
}
