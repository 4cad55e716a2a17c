//! Pareto/NBD (Schmittlein, Morrison & Colombo 1987), in the formulation of Fader &
//! Hardie's note "A Note on Deriving the Pareto/NBD Model and Related Expressions"
//! (2005): while active a customer buys as a Poisson process with rate
//! `λ ~ Gamma(r, α)`; the lifetime is exponential with rate `μ ~ Gamma(s, β)`.
//!
//! The likelihood holds the difference `A0` of two 2F1 terms; each is evaluated in log
//! space after an Euler transform to `2F1(1, ·; r+s+x+1; z)` with `0 <= z < 1` (all-positive,
//! monotonically shrinking series terms), on the side (`α >= β` or `α < β`) that keeps
//! `z` in that range, as CLVTools' `pnbd.cpp` does. The gradient is analytic where the
//! series is summed directly (`z <= 0.9`, nearly every row): the derivatives of the
//! series in its parameters and argument are summed in the same pass
//! (`special::hyp2f1_unit_series`) and carried through the Euler transform by the chain
//! rule; a row on the other side (the connection formula, or `A0`'s quadrature) takes
//! central differences of its own likelihood (`ln_lik_tail_grad`).

use crate::clv::bgnbd::engine::model_error;
use crate::clv::fit::{Model, chunked_sum};
use crate::clv::special::{
    digamma, hyp2f1_budget, hyp2f1_unit_series, ln_gamma, ln_power_integral,
    ln_scaled_power_integral,
};
use crate::clv::{Fitted, PurchaseModel, RepeatData, model_marker};
use crate::error::Result;

/// The Pareto/NBD model (marker type): `ParetoNbd::fitter().fit(&data)`.
///
/// # Example
///
/// ```
/// use patronage::clv::{ParetoNbd, PurchaseModel};
/// let m = ParetoNbd::from_params(&[0.553, 10.578, 0.606, 11.669])?;
/// let p = m.p_alive(26.0, 30.85714, 31.0);
/// assert!((p - 0.997874).abs() < 1e-4);
/// # Ok::<(), patronage::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParetoNbd;

model_marker!(ParetoNbd);

/// A fitted Pareto/NBD model.
pub type FittedParetoNbd = Fitted<ParetoNbd>;

/// Terms a likelihood 2F1 series may take before `A0` is integrated instead: the series
/// the likelihood takes converge within about 400 terms (`z <= 0.9`, or the connection
/// formula's series in `1 − z < 0.1`); only the slow fallbacks need more.
const SERIES_BUDGET: usize = 1_000;

/// `ln[ 2F1(r+s+x, s+1 | r+x; r+s+x+1; z(t)) / (max(α,β)+t)^(r+s+x) ]`, the term of `A0`;
/// None when the series exceeds [`SERIES_BUDGET`].
fn ln_a0_term(p: &[f64], x: f64, t: f64) -> Option<f64> {
    let (r, alpha, s, beta) = (p[0], p[1], p[2], p[3]);
    let a = r + s + x;
    let (big, small, b_other) = if alpha >= beta {
        (alpha, beta, r + x) // 2F1(a, s+1; a+1; z) = (1-z)^-s 2F1(1, r+x; a+1; z)
    } else {
        (beta, alpha, s + 1.0) // 2F1(a, r+x; a+1; z) = (1-z)^(1-r-x) 2F1(1, s+1; a+1; z)
    };
    let z = (big - small) / (big + t);
    let euler_power = if alpha >= beta { -s } else { 1.0 - r - x };
    let f = hyp2f1_budget(1.0, b_other, a + 1.0, z, SERIES_BUDGET).ok()?;
    if f.sign <= 0.0 {
        return None;
    }
    // 1 - z = (small + t) / (big + t)
    let ln_1mz = ((small + t) / (big + t)).ln();
    Some(euler_power * ln_1mz + f.ln_abs - a * (big + t).ln())
}

/// [`ln_a0_term`] and its gradient in `(r, α, s, β)`, where the Euler-transformed series
/// is summed directly (`z <= 0.9`); None on the other side (the connection formula) or
/// past the budget. The value is [`ln_a0_term`]'s, bit for bit.
fn ln_a0_term_grad(p: &[f64], x: f64, t: f64) -> Option<(f64, [f64; 4])> {
    let (r, alpha, s, beta) = (p[0], p[1], p[2], p[3]);
    let a = r + s + x;
    let alpha_big = alpha >= beta;
    let (big, small, b_other) = if alpha_big {
        (alpha, beta, r + x)
    } else {
        (beta, alpha, s + 1.0)
    };
    let z = (big - small) / (big + t);
    let euler_power = if alpha_big { -s } else { 1.0 - r - x };
    let f = hyp2f1_unit_series(b_other, a + 1.0, z, SERIES_BUDGET)?;
    if f.value <= 0.0 {
        return None;
    }
    let ln_1mz = ((small + t) / (big + t)).ln();
    let value = euler_power * ln_1mz + f.value.ln() - a * (big + t).ln();
    // d ln F = (F_b db + F_c dc + F_z dz) / F, with c = a + 1 = r + s + x + 1.
    let (l_b, l_c, l_z) = (f.d_b / f.value, f.d_c / f.value, f.d_z / f.value);
    let ln_big = (big + t).ln();
    // Shared by r and s: through c and through a's power of (big + t).
    let common = l_c - ln_big;
    let (d_r, d_s) = if alpha_big {
        // b = r + x, euler power -s.
        (common + l_b, common - ln_1mz)
    } else {
        // b = s + 1, euler power 1 - r - x.
        (common - ln_1mz, common + l_b)
    };
    // z = (big - small) / (big + t); ln(1 - z) = ln(small + t) - ln(big + t).
    let d_big =
        -euler_power / (big + t) + l_z * (small + t) / ((big + t) * (big + t)) - a / (big + t);
    let d_small = euler_power / (small + t) - l_z / (big + t);
    let (d_alpha, d_beta) = if alpha_big {
        (d_big, d_small)
    } else {
        (d_small, d_big)
    };
    Some((value, [d_r, d_alpha, d_s, d_beta]))
}

/// `ln A0 = ln(term(t_x) - term(T))`, Some(None) when `t_x = T` (A0 = 0); by quadrature
/// of `A0`'s integral form when a term's series exceeds its budget; None when that fails
/// too.
fn ln_a0(p: &[f64], x: f64, t_x: f64, t: f64) -> Option<Option<f64>> {
    if let (Some(lo), Some(hi)) = (ln_a0_term(p, x, t_x), ln_a0_term(p, x, t)) {
        let d = hi - lo;
        if d >= 0.0 {
            return Some(None);
        }
        return Some(Some(lo + (-d.exp_m1()).ln()));
    }
    ln_a0_quadrature(p, x, t_x, t)
}

/// `ln A0 = ln(r+s+x) + ln ∫_{t_x}^T (α+τ)^−(r+x) (β+τ)^−(s+1) dτ`.
fn ln_a0_quadrature(p: &[f64], x: f64, t_x: f64, t: f64) -> Option<Option<f64>> {
    let (r, alpha, s, beta) = (p[0], p[1], p[2], p[3]);
    if t <= t_x {
        return Some(None);
    }
    let ln_i = ln_power_integral(r + x, s + 1.0, alpha, beta, t_x, t)?;
    Some(Some((r + s + x).ln() + ln_i))
}

/// Log-likelihood of one row, minus the parameters-only constant handled by the caller.
pub(crate) fn ln_lik(p: &[f64], x: f64, t_x: f64, t: f64) -> f64 {
    ln_lik_head(p, x) + ln_lik_tail(p, x, t_x, t)
}

/// The closed-form part of [`ln_lik`]: `ln Γ(r+x) − ln Γ(r) + r ln α + s ln β`.
pub(crate) fn ln_lik_head(p: &[f64], x: f64) -> f64 {
    let (r, alpha, s, beta) = (p[0], p[1], p[2], p[3]);
    ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + s * beta.ln()
}

/// The rest of [`ln_lik`]: `ln[(α+T)^−(r+x) (β+T)^−s + s/(r+s+x) A0]`.
pub(crate) fn ln_lik_tail(p: &[f64], x: f64, t_x: f64, t: f64) -> f64 {
    let (r, alpha, s, beta) = (p[0], p[1], p[2], p[3]);
    let first = -(r + x) * (alpha + t).ln() - s * (beta + t).ln();
    let Some(a0) = ln_a0(p, x, t_x, t) else {
        return f64::NAN;
    };
    match a0 {
        Some(la0) => {
            let second = (s / (r + s + x)).ln() + la0;
            let m = first.max(second);
            m + ((first - m).exp() + (second - m).exp()).ln()
        }
        None => first,
    }
}

/// Step in the log parameters of [`ln_lik_tail_grad`]'s central differences: the
/// truncation error (`~h²`, 1e-10) and the rounding error (`~1e-16 |LL| / h`) are both
/// far below a fit's gradient tolerance.
const LOG_STEP: f64 = 1e-5;

/// [`ln_lik_tail`] and its gradient in `(r, α, s, β)`. Analytic where both `A0` terms
/// are direct series (the common case: `z <= 0.9`); otherwise (the connection formula or
/// the quadrature of `A0`) by central differences in the log parameters, step
/// [`LOG_STEP`] (`∂/∂θ_j = [f(θ_j e^h) − f(θ_j e^−h)] / (2h θ_j)`). The value is
/// [`ln_lik_tail`]'s, bit for bit, on either route.
pub(crate) fn ln_lik_tail_grad(p: &[f64], x: f64, t_x: f64, t: f64) -> (f64, [f64; 4]) {
    if let Some(out) = ln_lik_tail_analytic(p, x, t_x, t) {
        return out;
    }
    let value = ln_lik_tail(p, x, t_x, t);
    let mut g = [0.0; 4];
    let mut q = [p[0], p[1], p[2], p[3]];
    for (j, gj) in g.iter_mut().enumerate() {
        let v = p[j];
        q[j] = v * LOG_STEP.exp();
        let up = ln_lik_tail(&q, x, t_x, t);
        q[j] = v * (-LOG_STEP).exp();
        let down = ln_lik_tail(&q, x, t_x, t);
        q[j] = v;
        *gj = (up - down) / (2.0 * LOG_STEP * v);
    }
    (value, g)
}

/// The analytic route of [`ln_lik_tail_grad`]; None when an `A0` term is not a direct
/// series.
fn ln_lik_tail_analytic(p: &[f64], x: f64, t_x: f64, t: f64) -> Option<(f64, [f64; 4])> {
    let (r, alpha, s, beta) = (p[0], p[1], p[2], p[3]);
    let first = -(r + x) * (alpha + t).ln() - s * (beta + t).ln();
    let g_first = [
        -(alpha + t).ln(),
        -(r + x) / (alpha + t),
        -(beta + t).ln(),
        -s / (beta + t),
    ];
    let (lo, g_lo) = ln_a0_term_grad(p, x, t_x)?;
    let (hi, g_hi) = ln_a0_term_grad(p, x, t)?;
    let d = hi - lo;
    if d >= 0.0 {
        // A0 = 0 (t_x = T), as in `ln_a0`.
        return Some((first, g_first));
    }
    // ln A0 = ln(e^lo − e^hi): d ln A0 = (d lo − e^d d hi) / (1 − e^d).
    let la0 = lo + (-d.exp_m1()).ln();
    let e_d = d.exp();
    let one_minus = -d.exp_m1();
    let rsx = r + s + x;
    let second = (s / rsx).ln() + la0;
    let mut g_second = [0.0; 4];
    for j in 0..4 {
        g_second[j] = (g_lo[j] - e_d * g_hi[j]) / one_minus;
    }
    g_second[0] -= 1.0 / rsx;
    g_second[2] += 1.0 / s - 1.0 / rsx;
    let m = first.max(second);
    let (w_first, w_second) = ((first - m).exp(), (second - m).exp());
    let value = m + (w_first + w_second).ln();
    let total = w_first + w_second;
    let mut g = [0.0; 4];
    for j in 0..4 {
        g[j] = (w_first * g_first[j] + w_second * g_second[j]) / total;
    }
    Some((value, g))
}

/// [`ln_lik_head`]'s gradient in `(r, α, s, β)`.
pub(crate) fn ln_lik_head_grad(p: &[f64], x: f64) -> [f64; 4] {
    let (r, alpha, s, beta) = (p[0], p[1], p[2], p[3]);
    [
        digamma(r + x) - digamma(r) + alpha.ln(),
        r / alpha,
        beta.ln(),
        s / beta,
    ]
}

impl Model for ParetoNbd {
    const NAME: &'static str = "pareto-nbd";
    const PARAM_NAMES: &'static [&'static str] = &["r", "alpha", "s", "beta"];
    type Data = RepeatData;

    fn default_initial(data: &RepeatData) -> Vec<f64> {
        let s = data.max_t().max(1e-9);
        vec![1.0, s, 1.0, s]
    }

    fn time_scale(data: &RepeatData) -> (f64, &'static [f64]) {
        (data.max_t().max(1e-9), &[0.0, 1.0, 0.0, 1.0])
    }

    fn rescale(data: &RepeatData, scale: f64) -> RepeatData {
        data.rescaled(scale)
    }

    fn neg_ll(params: &[f64], data: &RepeatData, grad: Option<&mut [f64]>) -> (f64, bool) {
        let (xs, txs, ts, ws) = (data.x(), data.t_x(), data.t(), data.weights());
        let Some(grad) = grad else {
            let total = chunked_sum::<1>(data.len(), |i| {
                [-ws[i] * ln_lik(params, xs[i], txs[i], ts[i])]
            });
            return (total[0], false);
        };
        // The value as `ln_lik` sums it (head + tail per row), the gradient beside it.
        let total = chunked_sum::<5>(data.len(), |i| {
            let (x, w) = (xs[i], ws[i]);
            let (tail, g_tail) = ln_lik_tail_grad(params, x, txs[i], ts[i]);
            let g_head = ln_lik_head_grad(params, x);
            [
                -w * (ln_lik_head(params, x) + tail),
                -w * (g_head[0] + g_tail[0]),
                -w * (g_head[1] + g_tail[1]),
                -w * (g_head[2] + g_tail[2]),
                -w * (g_head[3] + g_tail[3]),
            ]
        });
        grad.copy_from_slice(&total[1..]);
        (total[0], true)
    }

    fn size(data: &RepeatData) -> (f64, usize) {
        (data.n_customers(), data.len())
    }

    fn sample(data: &RepeatData, customers: usize) -> Option<RepeatData> {
        data.sample(customers)
    }
}

impl PurchaseModel for Fitted<ParetoNbd> {
    fn model_name(&self) -> &'static str {
        ParetoNbd::NAME
    }

    fn p_alive(&self, x: f64, t_x: f64, t: f64) -> f64 {
        let p = self.params();
        let (r, alpha, s, beta) = (p[0], p[1], p[2], p[3]);
        match ln_a0(p, x, t_x, t) {
            Some(Some(la0)) => {
                let ln_ratio =
                    (s / (r + s + x)).ln() + (r + x) * (alpha + t).ln() + s * (beta + t).ln() + la0;
                1.0 / (1.0 + ln_ratio.exp())
            }
            Some(None) => 1.0,
            None => f64::NAN,
        }
    }

    fn expected_if_alive(&self, x: f64, t: f64, horizon: f64) -> Result<f64> {
        let p = self.params();
        let (r, alpha, s, beta) = (p[0], p[1], p[2], p[3]);
        if horizon <= 0.0 {
            return Ok(0.0);
        }
        // (r+x)(β+T)/((α+T)(s-1)) [1 - ((β+T)/(β+T+t))^(s-1)], with its s -> 1 limit.
        let l = (horizon / (beta + t)).ln_1p();
        let factor = if (s - 1.0).abs() < 1e-12 {
            l
        } else {
            -(-(s - 1.0) * l).exp_m1() / (s - 1.0)
        };
        let v = (r + x) * (beta + t) / (alpha + t) * factor;
        if v.is_finite() {
            Ok(v)
        } else {
            Err(model_error(
                ParetoNbd::NAME,
                "expected purchases not finite",
            ))
        }
    }

    fn expected_purchases(&self, horizon: f64) -> Result<f64> {
        self.expected_if_alive(0.0, 0.0, horizon)
    }

    fn prob_purchases(&self, n: u32, t: f64) -> Result<f64> {
        prob_n(self.params(), n, t)
    }
}

impl Fitted<ParetoNbd> {
    /// Discounted expected residual transactions under continuous discounting at rate
    /// `delta` per time unit (Fader, Hardie & Lee 2005, "RFM and CLV", eq. 2):
    /// `α^r β^s δ^(s-1) Γ(r+x+1) U(s, s; δ(β+T)) / (Γ(r) (α+T)^(r+x+1) L)`, with
    /// `U(s, s; z) = e^z Γ(1-s, z)`. Multiply by expected margin per transaction for
    /// the customer's residual value.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Model`] when `delta` is not positive or the value is not finite.
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::clv::ParetoNbd;
    /// let m = ParetoNbd::from_params(&[0.553, 10.578, 0.606, 11.669])?;
    /// // 15% a year compounded continuously, in weeks.
    /// let d = m.dert(0.15 / 52.0, 26.0, 30.85714, 31.0)?;
    /// assert!(d > 25.0);
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn dert(&self, delta: f64, x: f64, t_x: f64, t: f64) -> Result<f64> {
        if !(delta > 0.0 && delta.is_finite()) {
            return Err(model_error(
                ParetoNbd::NAME,
                "the discount rate must be positive",
            ));
        }
        let p = self.params();
        let (r, alpha, s, beta) = (p[0], p[1], p[2], p[3]);
        let z = delta * (beta + t);
        let ug = crate::clv::special::upper_gamma(1.0 - s, z);
        if !(ug > 0.0 && ug.is_finite()) {
            return Err(model_error(
                ParetoNbd::NAME,
                "DERT not finite at these parameters",
            ));
        }
        let ln_u = z + ug.ln();
        let ln_d =
            r * alpha.ln() + s * beta.ln() + (s - 1.0) * delta.ln() + ln_gamma(r + x + 1.0) + ln_u
                - ln_gamma(r)
                - (r + x + 1.0) * (alpha + t).ln()
                - ln_lik(p, x, t_x, t);
        let v = ln_d.exp();
        if v.is_finite() {
            Ok(v)
        } else {
            Err(model_error(
                ParetoNbd::NAME,
                "DERT not finite at these parameters",
            ))
        }
    }
}

/// Terms a 2F1 series of `P(X(t) = n)` may take when it stands in for the quadrature:
/// the fast budget [`hyp2f1`](crate::clv::special::hyp2f1) itself tries first. Past it
/// lie the parameters where one side dwarfs the other (a fitted `s` and `β` in the
/// thousands and millions, as on retail logs with little churn): `z` within 1e-6 of 1, a
/// connection formula that cancels, and a direct series of millions of terms per call
/// (minutes for a histogram).
const PROB_SERIES_BUDGET: usize = 20_000;

/// `P(X(t) = n)` (Fader, Hardie & Lee 2006, "Deriving an expression for P(X(t) = x)
/// under the Pareto/NBD model"): the customers still alive at `t` with `n` purchases,
/// plus those who dropped out before `t` after `n` purchases.
///
/// The dropped-out term is integrated ([`dropped_out_by_quadrature`], about 1e-13
/// relative) rather than taken from the paper's hypergeometric form, which ends in a
/// difference that cancels for heavy buyers over short periods and whose 2F1 terms sit
/// at `z` near 1 when `s` and `β` are large: there the form was off by up to 4e-7
/// relative (and gave 0 for probabilities of 1e-14) against 50-digit quadrature, and took
/// millions of series terms per call. The form stays as the fallback should the
/// quadrature fail.
pub(crate) fn prob_n(p: &[f64], n: u32, t: f64) -> Result<f64> {
    if !(t >= 0.0 && t.is_finite()) {
        return Err(model_error(
            ParetoNbd::NAME,
            format!("P(X(t) = x) needs a finite t >= 0, got {t}"),
        ));
    }
    let (r, alpha, s, beta) = (p[0], p[1], p[2], p[3]);
    let x = f64::from(n);
    let first = (ln_gamma(r + x) - ln_gamma(r) - ln_gamma(x + 1.0)
        + r * (alpha / (alpha + t)).ln()
        + if n > 0 {
            x * (t / (alpha + t)).ln()
        } else {
            0.0
        }
        + s * (beta / (beta + t)).ln())
    .exp();
    let second = dropped_out_by_quadrature(p, n, t)
        .or_else(|| dropped_out_by_series(p, n, t, PROB_SERIES_BUDGET))
        .ok_or_else(|| model_error(ParetoNbd::NAME, crate::clv::special::HypError::NotConverged))?;
    Ok(first + second)
}

/// The dropped-out term of [`prob_n`] in Fader, Hardie & Lee's hypergeometric form;
/// None when a 2F1 series needs more than `budget` terms (or is not positive), or when
/// the difference the form ends in loses more than three digits.
fn dropped_out_by_series(p: &[f64], n: u32, t: f64, budget: usize) -> Option<f64> {
    let (r, alpha, s, beta) = (p[0], p[1], p[2], p[3]);
    let x = f64::from(n);
    // ln of the terms 2F1(r+s+j, s+1 | r+x; r+s+x+1; z(u)) / (max+u)^(r+s+j).
    let ln_term = |j: f64, u: f64| -> Option<f64> {
        let (big, small, b) = if alpha >= beta {
            (alpha, beta, s + 1.0)
        } else {
            (beta, alpha, r + x)
        };
        let z = (big - small) / (big + u);
        let f = hyp2f1_budget(r + s + j, b, r + s + x + 1.0, z, budget).ok()?;
        if f.sign <= 0.0 {
            return None;
        }
        Some(f.ln_abs - (r + s + j) * (big + u).ln())
    };
    let ln_b_ratio = ln_gamma(r + x) + ln_gamma(s + 1.0)
        - ln_gamma(r + s + x + 1.0)
        - (ln_gamma(r) + ln_gamma(s) - ln_gamma(r + s));
    let ln_b1 = ln_term(0.0, 0.0)?;
    // b1 - sum_j c_j term_j, relative to b1 so that nothing overflows.
    let mut sum = 0.0;
    for j in 0..=n {
        let jf = f64::from(j);
        let ln_coef = ln_gamma(r + s + jf) - ln_gamma(r + s) - ln_gamma(jf + 1.0)
            + if j > 0 { jf * t.ln() } else { 0.0 };
        sum += (ln_coef + ln_term(jf, t)? - ln_b1).exp();
    }
    // 1 - sum cancels for heavy buyers over short periods (the dropped-out term is then
    // a sliver of b1): past three lost digits the integral is the better answer.
    let rest = 1.0 - sum;
    if rest.is_nan() || rest < 1e-3 {
        return None;
    }
    Some((r * alpha.ln() + s * beta.ln() + ln_b_ratio + ln_b1).exp() * rest)
}

/// The dropped-out term of [`prob_n`] as the integral it comes from: a customer who
/// drops out at `τ < t` (density `s β^s (β+τ)^-(s+1)`) has made `n` purchases with the
/// gamma-mixed Poisson's probability `Γ(r+n)/(Γ(r) n!) α^r τ^n (α+τ)^-(r+n)`, so the term
/// is `Γ(r+n)/(Γ(r) n!) α^r s β^s ∫_0^t τ^n (α+τ)^-(r+n) (β+τ)^-(s+1) dτ`. None when the
/// quadrature fails.
fn dropped_out_by_quadrature(p: &[f64], n: u32, t: f64) -> Option<f64> {
    let (r, alpha, s, beta) = (p[0], p[1], p[2], p[3]);
    if t <= 0.0 {
        return Some(0.0);
    }
    let x = f64::from(n);
    // α^r s β^s times the integral's α^-(r+n) β^-(s+1), cancelled exactly.
    let ln_i = ln_scaled_power_integral(x, r + x, s + 1.0, alpha, beta, 0.0, t)?;
    let v =
        (ln_gamma(r + x) - ln_gamma(r) - ln_gamma(x + 1.0) + s.ln() - x * alpha.ln() - beta.ln()
            + ln_i)
            .exp();
    v.is_finite().then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dropped-out term of `P(X(t) = n)` by quadrature against the same integral
    /// evaluated with 50-digit arithmetic (mpmath's tanh-sinh `quad` on the float
    /// parameters), where the hypergeometric form is exact and where it is not: CDNOW's
    /// parameters, a heavy buyer over a short period (the form's difference cancels),
    /// and retail-like parameters with `s` and `β` in the thousands and millions.
    #[test]
    fn dropped_out_term_matches_fifty_digit_quadrature() {
        let retail = [0.6957304, 1.1753803, 13116.93, 851604.3];
        let cases: [([f64; 4], u32, f64, f64); 7] = [
            (
                [0.553, 10.578, 0.606, 11.669],
                2,
                39.0,
                0.036_039_220_059_565_52,
            ),
            ([2.5, 0.3, 1.7, 40.0], 25, 0.5, 1.496_359_701_598_221e-7),
            (retail, 0, 77.0, 0.112_013_192_518_751_6),
            (retail, 3, 77.0, 0.036_376_625_127_249_17),
            (retail, 10, 77.0, 0.015_191_798_546_397_043),
            (retail, 30, 10.0, 6.482_810_849_844_905e-5),
            (retail, 30, 1.0, 1.159_268_529_766_871_6e-14),
        ];
        for (p, n, t, want) in cases {
            let got = dropped_out_by_quadrature(&p, n, t).unwrap();
            assert!(
                (got - want).abs() <= 1e-12 * want,
                "{p:?} n={n} t={t}: {got} vs {want}"
            );
        }
    }

    /// Where the hypergeometric form converges without cancelling, it and the quadrature
    /// agree, on both sides of `α ≷ β`, for light and heavy buyers, short and long periods.
    #[test]
    fn dropped_out_term_by_quadrature_equals_the_series() {
        let params = [
            [0.553, 10.578, 0.606, 11.669], // CDNOW (Fader, Hardie & Lee 2005)
            [0.55, 10.6, 0.61, 2.0],
            [2.5, 0.3, 1.7, 40.0],
            [0.8, 3.0, 3.5, 1.0],
        ];
        let mut compared = 0;
        for p in &params {
            for n in [0, 1, 2, 7, 25] {
                for t in [0.5, 39.0, 78.0] {
                    let quad = dropped_out_by_quadrature(p, n, t).unwrap();
                    if let Some(series) = dropped_out_by_series(p, n, t, PROB_SERIES_BUDGET) {
                        compared += 1;
                        assert!(
                            (series - quad).abs() <= 1e-9 * quad,
                            "{p:?} n={n} t={t}: series {series} vs quadrature {quad}"
                        );
                    }
                }
            }
        }
        assert!(compared >= 40, "only {compared} cases had a series");
    }

    /// Retail-like parameters, where the series of `P(X(t) = n)` ran to millions of
    /// terms per call (a `fit compare` on the bundled retail sample took minutes): the
    /// budgeted series gives up, and the distribution from the quadrature sums to 1.
    #[test]
    fn prob_n_where_the_series_crawls_sums_to_one() {
        let p = [0.6957304, 1.1753803, 13116.93, 851604.3];
        assert!(dropped_out_by_series(&p, 10, 77.0, PROB_SERIES_BUDGET).is_none());
        for t in [1.0, 10.0, 77.0] {
            let total: f64 = (0..3000).map(|n| prob_n(&p, n, t).unwrap()).sum();
            assert!((total - 1.0).abs() < 1e-10, "t={t}: sum {total}");
        }
    }

    /// At `t = 0` every customer has made no purchase; a period that is negative, NaN or
    /// infinite is refused with the model's name rather than answered.
    #[test]
    fn prob_n_at_zero_and_outside_its_domain() {
        let p = [0.553, 10.578, 0.606, 11.669];
        assert!((prob_n(&p, 0, 0.0).unwrap() - 1.0).abs() < 1e-15);
        assert_eq!(prob_n(&p, 3, 0.0).unwrap(), 0.0);
        for t in [-1.0, f64::NAN, f64::INFINITY] {
            match prob_n(&p, 1, t) {
                Err(crate::Error::Model { model, .. }) => assert_eq!(model, ParetoNbd::NAME),
                other => panic!("t = {t}: {other:?}"),
            }
        }
    }

    /// The quadrature of `A0` against the 2F1 form where the series is exact, on both
    /// sides of `α ≷ β`, for heavy buyers and with `z` near 1 (connection formula).
    #[test]
    fn a0_by_quadrature_equals_the_hypergeometric_form() {
        let params = [
            [0.55, 10.6, 0.61, 11.7],
            [0.55, 10.6, 0.61, 2.0],
            [0.8, 1.0, 0.7, 5e4],
            [0.8, 3e5, 0.7, 0.5],
            [2.5, 0.3, 1.7, 40.0],
        ];
        let rows = [
            (0.0, 0.0, 30.0),
            (1.0, 2.5, 39.0),
            (4.0, 20.0, 35.0),
            (120.0, 38.0, 39.0),
            (3.0, 0.1, 52.0),
        ];
        for p in &params {
            for &(x, t_x, t) in &rows {
                let lo = ln_a0_term(p, x, t_x).unwrap();
                let hi = ln_a0_term(p, x, t).unwrap();
                let series = lo + (-(hi - lo).exp_m1()).ln();
                let quad = ln_a0_quadrature(p, x, t_x, t).unwrap().unwrap();
                assert!(
                    (series - quad).abs() < 1e-9,
                    "{p:?} {x} {t_x} {t}: {series} vs {quad}"
                );
            }
        }
    }

    /// Where the plain fit on ten customers hung: `s` near 0 with `α ≫ β`, so the
    /// connection formula cancels and the direct series needs billions of terms. The
    /// likelihood is now the integral's, checked against a composite Simpson rule.
    #[test]
    fn likelihood_where_the_series_is_hopeless_is_the_integral() {
        let p = [0.5, 1e6, 1e-7, 0.01];
        let (x, t_x, t) = (0.0, 0.0, 30.0);
        assert!(
            ln_a0_term(&p, x, t_x).is_none(),
            "the series route should give up"
        );
        let got = ln_a0(&p, x, t_x, t).unwrap().unwrap();
        // Simpson in v = ln(β + τ) on 200,000 panels.
        let (m, n, a, b) = (p[0] + x, p[2] + 1.0, p[1], p[3]);
        let (v0, v1) = ((b + t_x).ln(), (b + t).ln());
        let panels = 200_000;
        let h = (v1 - v0) / f64::from(panels);
        let f = |v: f64| {
            let tau = v.exp() - b;
            (-m * (a + tau).ln() - n * v + v).exp()
        };
        let mut sum = f(v0) + f(v1);
        for i in 1..panels {
            sum += f(v0 + f64::from(i) * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
        }
        let simpson = (p[0] + p[2] + x).ln() + (sum * h / 3.0).ln();
        assert!((got - simpson).abs() < 1e-9, "{got} vs {simpson}");
        assert!(ln_lik(&p, x, t_x, t).is_finite());
    }

    /// The analytic gradient of a row's likelihood against central differences in the
    /// log parameters (Richardson-extrapolated, so the reference is good to ~1e-9), on
    /// both sides of `α ≷ β`, at `α = β`, for one-time and heavy buyers, at `t_x = T`, and
    /// on rows whose `A0` terms take the connection formula or the quadrature (the
    /// fallback route). The value is `ln_lik_tail`'s bit for bit on every route.
    #[test]
    fn row_gradient_matches_differences_on_every_route() {
        let params = [
            [0.55, 10.6, 0.61, 11.7],
            [0.55, 10.6, 0.61, 2.0],
            [0.8, 4.0, 0.7, 4.0],
            [2.5, 0.3, 1.7, 40.0],
            [0.8, 1.0, 0.7, 5e4],
            [0.5, 1e6, 1e-3, 0.01],
        ];
        let rows = [
            (0.0, 0.0, 30.0),
            (1.0, 2.5, 39.0),
            (4.0, 20.0, 35.0),
            (7.0, 31.0, 31.0),
            (120.0, 38.0, 39.0),
            (3.0, 0.1, 52.0),
        ];
        let mut analytic = 0;
        for p in &params {
            for &(x, t_x, t) in &rows {
                let (v, g) = ln_lik_tail_grad(p, x, t_x, t);
                assert_eq!(v.to_bits(), ln_lik_tail(p, x, t_x, t).to_bits(), "{p:?}");
                if ln_lik_tail_analytic(p, x, t_x, t).is_some() {
                    analytic += 1;
                }
                let f = |j: usize, h: f64| {
                    let mut q = *p;
                    q[j] *= h.exp();
                    ln_lik_tail(&q, x, t_x, t)
                };
                for j in 0..4 {
                    let d = |h: f64| (f(j, h) - f(j, -h)) / (2.0 * h * p[j]);
                    let reference = (4.0 * d(1e-4) - d(2e-4)) / 3.0;
                    let scale = reference.abs().max(1.0 / p[j]).max(1e-3);
                    assert!(
                        (g[j] - reference).abs() <= 1e-6 * scale,
                        "{p:?} row ({x}, {t_x}, {t}) param {j}: {} vs {reference}",
                        g[j]
                    );
                }
            }
        }
        // Most rows take the analytic route; the others exercise the fallback.
        assert!(
            analytic >= 20 && analytic < params.len() * rows.len(),
            "{analytic}"
        );
    }

    /// The fit's total gradient (`neg_ll` with a gradient) against central differences
    /// of the total, and the value unchanged by asking for the gradient.
    #[test]
    fn total_gradient_matches_differences_of_the_total() {
        let data = RepeatData::new(
            &[0.0, 0.0, 1.0, 2.0, 5.0, 12.0, 3.0, 40.0],
            &[0.0, 0.0, 4.0, 30.0, 35.0, 38.0, 10.0, 39.0],
            &[38.0, 20.0, 36.0, 38.0, 38.0, 39.0, 37.0, 39.5],
        )
        .unwrap();
        for p in [[0.55, 10.6, 0.61, 11.7], [1.3, 2.0, 0.2, 30.0]] {
            let mut g = [0.0; 4];
            let (v, analytic) = ParetoNbd::neg_ll(&p, &data, Some(&mut g));
            assert!(analytic);
            assert_eq!(v.to_bits(), ParetoNbd::neg_ll(&p, &data, None).0.to_bits());
            for j in 0..4 {
                let at = |h: f64| {
                    let mut q = p;
                    q[j] *= h.exp();
                    ParetoNbd::neg_ll(&q, &data, None).0
                };
                let d = |h: f64| (at(h) - at(-h)) / (2.0 * h * p[j]);
                let reference = (4.0 * d(1e-4) - d(2e-4)) / 3.0;
                assert!(
                    (g[j] - reference).abs() <= 1e-6 * reference.abs().max(1.0),
                    "{p:?} param {j}: {} vs {reference}",
                    g[j]
                );
            }
        }
    }
}
