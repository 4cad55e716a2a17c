//! BG/NBD with covariates: `α_i = α exp(−γ_pᵀ z_i)` (purchase), `a_i = a exp(γ_aᵀ z_i)`
//! and `b_i = b exp(γ_bᵀ z_i)` (dropout). Each row's log-likelihood is the plain
//! model's at the row's own `(r, α_i, a_i, b_i)`:
//!
//! `LL_i = ln Γ(r+x) − ln Γ(r) + r ln α_i + ln B(a_i, b_i+x) − ln B(a_i, b_i)
//!        + ln[(α_i+T)^−(r+x) + [x>0] a_i/(b_i+x−1) (α_i+t_x)^−(r+x)]`
//!
//! with its analytic gradient in `(r, α_i, a_i, b_i)`; the engine
//! ([`super::fit`]) carries it to the base parameters and coefficients.

use crate::clv::BgNbd;
use crate::clv::covariates::CovariateRepeatData;
use crate::clv::covariates::fit::CovariateModel;
use crate::clv::special::{digamma, ln_beta, ln_gamma};

impl CovariateModel for BgNbd {
    const PROCESSES: &'static [(&'static str, usize, f64)] = &[
        ("purchase", 1, -1.0),
        ("dropout_a", 2, 1.0),
        ("dropout_b", 3, 1.0),
    ];
    type CovData = CovariateRepeatData;

    fn row_ll(theta: &[f64], data: &CovariateRepeatData, i: usize, grad: bool) -> (f64, [f64; 4]) {
        let (r, alpha, a, b) = (theta[0], theta[1], theta[2], theta[3]);
        let (x, t_x, t, _, _) = data.row(i);
        let rx = r + x;
        let (l_t, l_tx) = ((alpha + t).ln(), (alpha + t_x).ln());
        let a3 = -rx * l_t;
        let (tail, w4) = if x > 0.0 {
            let a4 = a.ln() - (b + x - 1.0).ln() - rx * l_tx;
            // ln(e^a3 + e^a4) = max + ln(1 + e^-|a3 - a4|); w4 = e^a4 / (e^a3 + e^a4).
            let e = (-(a3 - a4).abs()).exp();
            let w_big = 1.0 / (1.0 + e);
            (
                a3.max(a4) + e.ln_1p(),
                if a4 >= a3 { w_big } else { e * w_big },
            )
        } else {
            (a3, 0.0)
        };
        let ll =
            ln_gamma(rx) - ln_gamma(r) + r * alpha.ln() + ln_beta(a, b + x) - ln_beta(a, b) + tail;
        if !grad {
            return (ll, [0.0; 4]);
        }
        let w3 = 1.0 - w4;
        let (psi_ab, psi_abx) = (digamma(a + b), digamma(a + b + x));
        let g_r = digamma(rx) - digamma(r) + alpha.ln() - w3 * l_t - w4 * l_tx;
        let g_alpha = r / alpha - rx * (w3 / (alpha + t) + w4 / (alpha + t_x));
        let g_a = psi_ab - psi_abx + if x > 0.0 { w4 / a } else { 0.0 };
        let g_b = digamma(b + x) - psi_abx - digamma(b) + psi_ab
            - if x > 0.0 { w4 / (b + x - 1.0) } else { 0.0 };
        (ll, [g_r, g_alpha, g_a, g_b])
    }
}
