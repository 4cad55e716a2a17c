//! The likelihood and expectations shared by BG/NBD and MBG/NBD.
//!
//! The two differ only in when a customer may drop out: BG/NBD after each repeat
//! purchase, MBG/NBD also right after the first purchase (time 0). With `M = 0` for
//! BG/NBD and `M = 1` for MBG/NBD:
//!
//! - `LL = ln Γ(r+x) - ln Γ(r) + r ln α + ln B(a, b+x+M) - ln B(a, b)
//!        + ln[ (α+T)^-(r+x) + [x>0 or M=1] a/(b+x+M-1) (α+t_x)^-(r+x) ]`
//! - `P(alive) = 1 / (1 + [x>0 or M=1] a/(b+x+M-1) ((α+T)/(α+t_x))^(r+x))`
//! - `E[Y(t) | alive, x, T] = (a+b+x+M-1)/(a-1) [1 - (1-z)^(a-1) 2F1(a+b+M-1-r, a-1; a+b+x+M-1; z)]`,
//!   `z = t/(α+T+t)`: the Euler transform of the published
//!   `[1 - ((α+T)/(α+T+t))^(r+x) 2F1(r+x, b+x+M; a+b+x+M-1; z)]`, whose numerator
//!   parameters do not grow with `x`, so heavy buyers converge in a few terms.

use crate::clv::RepeatData;
use crate::clv::fit::chunked_sum;
use crate::clv::special::{digamma, hyp2f1, ln_beta, ln_gamma};
use crate::error::{Error, Result};

/// Per distinct `x`: the constant part of the log-likelihood and its derivatives.
struct XTerms {
    base: f64,
    d_r: f64,
    d_alpha: f64,
    d_a: f64,
    d_b: f64,
    /// `ln a - ln(b+x+M-1)`, or None when the second term is absent.
    ln_c4: Option<f64>,
    /// d(ln_c4)/d b.
    c4_db: f64,
}

pub(crate) fn neg_ll<const M: u8>(
    p: &[f64],
    data: &RepeatData,
    grad: Option<&mut [f64]>,
) -> (f64, bool) {
    let (r, alpha, a, b) = (p[0], p[1], p[2], p[3]);
    let m = f64::from(M);
    let (lg_r, ln_alpha, lb_ab) = (ln_gamma(r), alpha.ln(), ln_beta(a, b));
    let (psi_r, psi_b, psi_ab) = (digamma(r), digamma(b), digamma(a + b));
    let terms: Vec<XTerms> = data
        .x_runs()
        .iter()
        .map(|&(x, _, _)| {
            let has4 = x > 0.0 || M == 1;
            let bx = b + x + m;
            let psi_abx = digamma(a + bx);
            XTerms {
                base: ln_gamma(r + x) - lg_r + r * ln_alpha + ln_beta(a, bx) - lb_ab,
                d_r: digamma(r + x) - psi_r + ln_alpha,
                d_alpha: r / alpha,
                d_a: psi_ab - psi_abx,
                d_b: digamma(bx) - psi_abx - psi_b + psi_ab,
                ln_c4: has4.then(|| a.ln() - (bx - 1.0).ln()),
                c4_db: if has4 { -1.0 / (bx - 1.0) } else { 0.0 },
            }
        })
        .collect();
    let (xs, ws, group) = (data.x(), data.weights(), data.x_group());
    let (times, tx_idx, t_idx) = data.time_index();
    // ln(alpha + age) and 1/(alpha + age) once per distinct age.
    let ln_at: Vec<f64> = times.iter().map(|v| (alpha + v).ln()).collect();
    let want_grad = grad.is_some();
    let inv_at: Vec<f64> = if want_grad {
        times.iter().map(|v| 1.0 / (alpha + v)).collect()
    } else {
        Vec::new()
    };
    let total = chunked_sum::<5>(data.len(), |i| {
        let xt = &terms[group[i] as usize];
        let rx = r + xs[i];
        let (ti, txi) = (t_idx[i] as usize, tx_idx[i] as usize);
        let (l_t, l_tx) = (ln_at[ti], ln_at[txi]);
        let a3 = -rx * l_t;
        // ln(e^a3 + e^a4) = max + ln(1 + e^-|a3 - a4|); w4 = e^a4 / (e^a3 + e^a4).
        let (ll, w4) = match xt.ln_c4 {
            Some(c4) => {
                let a4 = c4 - rx * l_tx;
                let e = (-(a3 - a4).abs()).exp();
                let w_big = 1.0 / (1.0 + e);
                let w4 = if a4 >= a3 { w_big } else { e * w_big };
                (xt.base + a3.max(a4) + e.ln_1p(), w4)
            }
            None => (xt.base + a3, 0.0),
        };
        let w = ws[i];
        if !want_grad {
            return [-w * ll, 0.0, 0.0, 0.0, 0.0];
        }
        let w3 = 1.0 - w4;
        let g_r = xt.d_r - w3 * l_t - w4 * l_tx;
        let g_alpha = xt.d_alpha - rx * (w3 * inv_at[ti] + w4 * inv_at[txi]);
        let g_a = xt.d_a + w4 / a;
        let g_b = xt.d_b + w4 * xt.c4_db;
        [-w * ll, -w * g_r, -w * g_alpha, -w * g_a, -w * g_b]
    });
    if let Some(g) = grad {
        g.copy_from_slice(&total[1..]);
    }
    (total[0], true)
}

pub(crate) fn model_error(model: &str, e: impl std::fmt::Display) -> Error {
    Error::Model {
        model: model.to_string(),
        reason: e.to_string(),
    }
}

pub(crate) fn p_alive<const M: u8>(p: &[f64], x: f64, t_x: f64, t: f64) -> f64 {
    let (r, alpha, a, b) = (p[0], p[1], p[2], p[3]);
    if x == 0.0 && M == 0 {
        return 1.0;
    }
    let m = f64::from(M);
    let ln_ratio = (a / (b + x + m - 1.0)).ln() + (r + x) * ((alpha + t) / (alpha + t_x)).ln();
    1.0 / (1.0 + ln_ratio.exp())
}

/// `E[Y(t) | alive, x, T]`.
pub(crate) fn expected_alive<const M: u8>(
    name: &str,
    p: &[f64],
    x: f64,
    t: f64,
    horizon: f64,
) -> Result<f64> {
    let (r, alpha, a, b) = (p[0], p[1], p[2], p[3]);
    if horizon <= 0.0 {
        return Ok(0.0);
    }
    let m = f64::from(M);
    let z = horizon / (alpha + t + horizon);
    let c = a + b + x + m - 1.0;
    let f = hyp2f1(a + b + m - 1.0 - r, a - 1.0, c, z).map_err(|e| model_error(name, e))?;
    // 1 - (1-z)^(a-1) F, accurately when the product is close to 1. F is negative only
    // when c = a+b+x+M-1 is in (-1, 0) (x = 0 with a + b < 1, lifetimes #442); then c F
    // stays finite and the bracket is 1 + |.|.
    let ln_prod = (a - 1.0) * (-z).ln_1p() + f.ln_abs;
    let bracket = if f.sign > 0.0 {
        -ln_prod.exp_m1()
    } else {
        1.0 + ln_prod.exp()
    };
    Ok(c / (a - 1.0) * bracket)
}

/// `P(X(t) = n)` for a customer picked at random at time 0.
pub(crate) fn prob_n<const M: u8>(p: &[f64], n: u32, t: f64) -> f64 {
    let (r, alpha, a, b) = (p[0], p[1], p[2], p[3]);
    let m = f64::from(M);
    let nf = f64::from(n);
    let lb_ab = ln_beta(a, b);
    let ln_q = (alpha / (alpha + t)).ln();
    let ln_pz = (t / (alpha + t)).ln();
    let nb_term = |j: f64| {
        ln_gamma(r + j) - ln_gamma(r) - ln_gamma(j + 1.0)
            + r * ln_q
            + if j > 0.0 { j * ln_pz } else { 0.0 }
    };
    let first = (ln_beta(a, b + nf + m) - lb_ab + nb_term(nf)).exp();
    if n == 0 && M == 0 {
        return first;
    }
    let partial: f64 = (0..n).map(|j| nb_term(f64::from(j)).exp()).sum();
    let second = (ln_beta(a + 1.0, b + nf + m - 1.0) - lb_ab).exp() * (1.0 - partial).max(0.0);
    first + second
}
