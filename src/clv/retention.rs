//! Retention of the continuous-time purchase models, and the dropout change that moves it
//! by a given number of points (the retention what-if of issue #18).
//!
//! # The retention rate
//!
//! The retention rate over a period of `Δ` time units is **the expected share of today's
//! active customers still active `Δ` later**:
//!
//! `R(Δ) = Σ_i P(alive_i) ρ_i(Δ) / Σ_i P(alive_i)`,
//!
//! with `P(alive_i)` the model's probability that customer `i` is active at the end of
//! their observation (`T_i`) and `ρ_i(Δ) = P(alive at T_i + Δ | alive at T_i, history)`.
//! The numerator is the expected number of today's customers active `Δ` later, the
//! denominator the expected number active today.
//!
//! Given that a customer is alive at `T` with `x` repeat purchases, the purchase rate and
//! the dropout parameter are independent a posteriori, which gives `ρ` in closed form:
//!
//! - **Pareto/NBD**: the lifetime is exponential with rate `μ ~ Gamma(s, β)`; alive to
//!   `T` multiplies the prior by `e^{-μT}`, so `μ | alive ~ Gamma(s, β + T)` and
//!   `ρ = E[e^{-μΔ}] = ((β + T) / (β + T + Δ))^s`.
//! - **BG/NBD**: a customer drops out only right after a purchase, with probability `p`,
//!   and purchases at rate `λ`. The number of purchases in the next `Δ` is Poisson
//!   `(λΔ)`, and the customer is still active at its end only if none of them was followed
//!   by dropout: `P = Σ_k e^{-λΔ} (λΔ)^k / k! (1 - p)^k = e^{-λpΔ}`, which is the
//!   retention "through the expected purchases in one period": the dropout hazard is the
//!   expected purchases per time unit times `p`. Given alive at `T`,
//!   `λ ~ Gamma(r + x, α + T)` and `p ~ Beta(a, b + x)` (survived `x` dropout chances),
//!   so `ρ = E_p[(1 + pΔ/(α + T))^{-(r + x)}] = 2F1(r + x, a; a + b + x; -Δ/(α + T))`
//!   (Euler's integral for 2F1).
//! - **MBG/NBD**: as BG/NBD with one more dropout chance survived (at the first
//!   purchase): `p | alive ~ Beta(a, b + x + 1)`, `ρ = 2F1(r + x, a; a + b + x + 1;
//!   -Δ/(α + T))`.
//!
//! # Moving retention
//!
//! A scenario changes one number of the dropout distribution and keeps the rest:
//!
//! - BG/NBD and MBG/NBD: the mean dropout probability `a/(a + b)`, with `a + b` fixed
//!   (the spread of `p` around its mean stays as fitted);
//! - Pareto/NBD: the mean dropout rate `s/β`, with the shape `s` fixed (every customer's
//!   `μ` scaled by one factor).
//!
//! [`shift_retention`] solves for the value that moves `R(Δ)` by exactly the asked
//! number of points (a bracketed root search on the logit or log of that value, to
//! 1e-12). The scenario model is then the model everywhere: its `P(alive)` is
//! re-estimated too (a silent customer is more likely still active where dropout is
//! rarer), and `R` after the change uses it.

use crate::clv::bgnbd::engine::model_error;
use crate::clv::fit::chunked_sum;
use crate::clv::root::{Tolerance, brent};
use crate::clv::special::hyp2f1;
use crate::clv::{BgNbd, Fitted, MbgNbd, ParetoNbd, PurchaseModel, RepeatData};
use crate::error::{Error, Result};

/// A purchase model whose dropout can be moved along one number (see the module docs).
pub trait DropoutShift: PurchaseModel + Sized {
    /// `ρ(Δ)`: probability that a customer with `x` repeat purchases, alive at `T`, is
    /// still alive at `T + Δ`.
    ///
    /// # Errors
    ///
    /// [`Error::Model`] when 2F1 cannot be evaluated.
    fn stays(&self, x: f64, t: f64, period: f64) -> Result<f64>;

    /// The number a scenario moves: the mean dropout probability (BG/NBD, MBG/NBD) or
    /// the mean dropout rate (Pareto/NBD).
    fn mean_dropout(&self) -> f64;

    /// The model with its mean dropout set to `mean`, the other parameters kept.
    ///
    /// # Errors
    ///
    /// [`Error::Model`] when `mean` is outside the parameter's range.
    fn with_mean_dropout(&self, mean: f64) -> Result<Self>;

    /// True when the mean dropout is a probability (in `(0, 1)`), false for a rate.
    fn dropout_is_probability(&self) -> bool;

    /// How the scenario changes the model, in words (for reports).
    fn shift_rule(&self) -> &'static str;
}

fn bg_stays(p: &[f64], m: f64, x: f64, t: f64, period: f64, name: &str) -> Result<f64> {
    let (r, alpha, a, b) = (p[0], p[1], p[2], p[3]);
    let f =
        hyp2f1(r + x, a, a + b + x + m, -period / (alpha + t)).map_err(|e| model_error(name, e))?;
    Ok(f.value())
}

fn beta_mean_shift(p: &[f64], mean: f64, name: &str) -> Result<Vec<f64>> {
    if !(mean > 0.0 && mean < 1.0) {
        return Err(model_error(
            name,
            format!("a mean dropout probability must lie in (0, 1), got {mean}"),
        ));
    }
    let total = p[2] + p[3];
    Ok(vec![p[0], p[1], mean * total, (1.0 - mean) * total])
}

const BG_RULE: &str =
    "mean dropout probability a/(a+b) moved with a+b fixed (the spread of p kept)";

/// BG/NBD and MBG/NBD differ only in the dropout chances a customer alive at `T` has
/// survived (`M` more: the first purchase for MBG/NBD).
macro_rules! beta_dropout {
    ($model:ty, $name:literal, $m:literal) => {
        impl DropoutShift for Fitted<$model> {
            fn stays(&self, x: f64, t: f64, period: f64) -> Result<f64> {
                bg_stays(self.params(), $m, x, t, period, $name)
            }
            fn mean_dropout(&self) -> f64 {
                self.a() / (self.a() + self.b())
            }
            fn with_mean_dropout(&self, mean: f64) -> Result<Self> {
                Fitted::from_params(&beta_mean_shift(self.params(), mean, $name)?)
            }
            fn dropout_is_probability(&self) -> bool {
                true
            }
            fn shift_rule(&self) -> &'static str {
                BG_RULE
            }
        }
    };
}

beta_dropout!(BgNbd, "bg-nbd", 0.0);
beta_dropout!(MbgNbd, "mbg-nbd", 1.0);

impl DropoutShift for Fitted<ParetoNbd> {
    fn stays(&self, _x: f64, t: f64, period: f64) -> Result<f64> {
        let (s, beta) = (self.s(), self.beta());
        Ok(((beta + t) / (beta + t + period)).powf(s))
    }
    fn mean_dropout(&self) -> f64 {
        self.s() / self.beta()
    }
    fn with_mean_dropout(&self, mean: f64) -> Result<Self> {
        if !(mean > 0.0 && mean.is_finite()) {
            return Err(model_error(
                "pareto-nbd",
                format!("a mean dropout rate must be positive, got {mean}"),
            ));
        }
        let p = self.params();
        Fitted::from_params(&[p[0], p[1], p[2], p[2] / mean])
    }
    fn dropout_is_probability(&self) -> bool {
        false
    }
    fn shift_rule(&self) -> &'static str {
        "mean dropout rate s/beta moved with the shape s fixed (every customer's dropout rate scaled by one factor)"
    }
}

/// The expected active customers today, `Σ P(alive)`, and `Δ` later, `Σ P(alive) ρ(Δ)`,
/// over the (weighted) customers of `data`.
///
/// # Errors
///
/// As [`DropoutShift::stays`].
pub fn active_now_and_later<M: DropoutShift>(
    model: &M,
    data: &RepeatData,
    period: f64,
) -> Result<(f64, f64)> {
    let (xs, txs, ts, ws) = (data.x(), data.t_x(), data.t(), data.weights());
    let failed = std::sync::Mutex::new(None);
    let [now, later] = chunked_sum::<2>(data.len(), |i| {
        let alive = model.p_alive(xs[i], txs[i], ts[i]);
        match model.stays(xs[i], ts[i], period) {
            Ok(rho) => [ws[i] * alive, ws[i] * alive * rho],
            Err(e) => {
                if let Ok(mut slot) = failed.lock() {
                    slot.get_or_insert(e);
                }
                [0.0, 0.0]
            }
        }
    });
    if let Some(e) = failed.into_inner().ok().flatten() {
        return Err(e);
    }
    Ok((now, later))
}

/// `R(Δ)`: the expected share of today's active customers still active `period` time
/// units later (see the module docs).
///
/// # Errors
///
/// [`Error::InvalidOption`] (`whatif.period`) for a period that is not positive and
/// finite; [`Error::EmptyTable`] when no customer is expected to be active; as
/// [`DropoutShift::stays`].
///
/// # Example
///
/// ```
/// use patronage::clv::{ParetoNbd, RepeatData};
/// use patronage::clv::retention::retention_rate;
/// let m = ParetoNbd::from_params(&[0.55, 10.58, 0.61, 11.67])?;
/// let data = RepeatData::new(&[0.0, 2.0, 5.0], &[0.0, 10.0, 30.0], &[39.0, 39.0, 39.0])?;
/// let r = retention_rate(&m, &data, 52.0)?;
/// assert!(r > 0.0 && r < 1.0);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn retention_rate<M: DropoutShift>(model: &M, data: &RepeatData, period: f64) -> Result<f64> {
    if !(period > 0.0 && period.is_finite()) {
        return Err(Error::invalid(
            "whatif.period",
            format!("must be a positive number of time units, got {period}"),
        ));
    }
    let (now, later) = active_now_and_later(model, data, period)?;
    if now <= 0.0 || !now.is_finite() {
        return Err(Error::EmptyTable {
            what: "no customer is expected to be active: no retention rate".into(),
        });
    }
    Ok(later / now)
}

/// A model with its retention moved: the solved scenario model and the rates.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RetentionShift<M> {
    /// The scenario model (dropout moved, other parameters as fitted).
    pub model: M,
    /// `R(Δ)` of the fitted model.
    pub rate_before: f64,
    /// `R(Δ)` of the scenario model: `rate_before + points / 100` to 1e-12.
    pub rate_after: f64,
    /// Mean dropout (probability or rate) of the fitted model.
    pub dropout_before: f64,
    /// Mean dropout of the scenario model.
    pub dropout_after: f64,
}

/// Moves the retention rate `R(period)` by `points` percentage points (negative: down)
/// by changing the model's mean dropout (see the module docs for the rule per model).
///
/// # Errors
///
/// [`Error::InvalidOption`] (`whatif.retention`) when `points` is not finite or the
/// target rate is out of reach (at or above 1, or below what the highest dropout gives);
/// as [`retention_rate`].
///
/// # Example
///
/// ```
/// use patronage::clv::{BgNbd, RepeatData};
/// use patronage::clv::retention::{retention_rate, shift_retention};
/// let m = BgNbd::from_params(&[0.243, 4.414, 0.793, 2.426])?;
/// let data = RepeatData::new(&[0.0, 1.0, 4.0], &[0.0, 20.0, 30.0], &[38.0, 38.0, 38.0])?;
/// let s = shift_retention(&m, &data, 52.0, 5.0)?;
/// assert!((s.rate_after - s.rate_before - 0.05).abs() < 1e-9);
/// assert!((retention_rate(&s.model, &data, 52.0)? - s.rate_after).abs() < 1e-12);
/// assert!(s.dropout_after < s.dropout_before);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn shift_retention<M: DropoutShift>(
    model: &M,
    data: &RepeatData,
    period: f64,
    points: f64,
) -> Result<RetentionShift<M>> {
    if !points.is_finite() {
        return Err(Error::invalid(
            "whatif.retention",
            format!("must be a number of percentage points, got {points}"),
        ));
    }
    let before = retention_rate(model, data, period)?;
    let target = before + points / 100.0;
    let dropout_before = model.mean_dropout();
    if points == 0.0 {
        return Ok(RetentionShift {
            model: model.with_mean_dropout(dropout_before)?,
            rate_before: before,
            rate_after: before,
            dropout_before,
            dropout_after: dropout_before,
        });
    }
    // Search on an unbounded scale: logit of a probability, log of a rate.
    let prob = model.dropout_is_probability();
    let to_mean = |u: f64| {
        if prob {
            1.0 / (1.0 + (-u).exp())
        } else {
            u.exp()
        }
    };
    let u0 = if prob {
        (dropout_before / (1.0 - dropout_before)).ln()
    } else {
        dropout_before.ln()
    };
    let rate_at = |u: f64| -> Result<(f64, M)> {
        let m = model.with_mean_dropout(to_mean(u))?;
        Ok((retention_rate(&m, data, period)?, m))
    };
    let out_of_reach = |limit: f64| {
        Error::invalid(
            "whatif.retention",
            format!(
                "{points:+} points would take the retention rate from {:.4} to {target:.4}, out of reach of this model (limit {limit:.4} over {period} time units)",
                before
            ),
        )
    };
    if !(target > 0.0 && target < 1.0) {
        return Err(out_of_reach(if points > 0.0 { 1.0 } else { 0.0 }));
    }
    // Retention falls as dropout rises: raising retention lowers u. Bracket the root by
    // stepping away from u0 (far enough to reach a dropout of about 1e-12 or its
    // complement) and keep [lo, hi] with R(lo) >= target >= R(hi).
    let step = if points > 0.0 { -1.0 } else { 1.0 };
    let (mut near, mut near_rate) = (u0, before);
    let mut far = u0;
    let mut far_rate = before;
    let mut bracketed = false;
    for k in 0..8 {
        far = u0 + step * (0.5 * f64::from(1u32 << k.min(6))).min(30.0 + 1e-9);
        far_rate = rate_at(far)?.0;
        if (points > 0.0 && far_rate >= target) || (points < 0.0 && far_rate <= target) {
            bracketed = true;
            break;
        }
        near = far;
        near_rate = far_rate;
        // |u| = 30: a mean dropout of 1e-13 (or 1 - 1e-13): as far as the scale goes.
        if (far - u0).abs() > 30.0 {
            break;
        }
    }
    if !bracketed {
        return Err(out_of_reach(far_rate));
    }
    // The root of g(u) = R(u) - target in the bracket: the rate within 1e-13 of the
    // target, or u to the last few bits.
    let tolerance = Tolerance {
        x: 1e-15,
        f: 1e-13,
        max_iterations: 200,
    };
    let best = brent(
        near,
        near_rate - target,
        far,
        far_rate - target,
        tolerance,
        |u| Ok(rate_at(u)?.0 - target),
    )?;
    let (rate_after, scenario) = rate_at(best)?;
    if (rate_after - target).abs() > 1e-10 {
        return Err(out_of_reach(rate_after));
    }
    Ok(RetentionShift {
        dropout_after: scenario.mean_dropout(),
        model: scenario,
        rate_before: before,
        rate_after,
        dropout_before,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clv::special::ln_beta;

    /// CDNOW-like customers.
    fn data() -> RepeatData {
        RepeatData::new(
            &[0.0, 0.0, 1.0, 2.0, 5.0, 12.0, 3.0],
            &[0.0, 0.0, 4.0, 30.0, 35.0, 38.0, 10.0],
            &[38.0, 20.0, 36.0, 38.0, 38.0, 39.0, 37.0],
        )
        .unwrap()
    }

    /// ρ for BG/NBD against the integral over p of ((α+T)/(α+T+pΔ))^(r+x) by Simpson's
    /// rule (substituting p = u^(1/a) to remove the endpoint singularity of the density).
    #[test]
    fn bg_stay_probability_is_the_beta_integral() {
        for m in [0.0, 1.0] {
            let (r, alpha, a, b) = (0.243, 4.414, 0.793, 2.426);
            for &(x, t, d) in &[(0.0, 38.0, 52.0), (3.0, 20.0, 10.0), (12.0, 39.0, 1.0)] {
                let closed = bg_stays(&[r, alpha, a, b], m, x, t, d, "t").unwrap();
                let bb = b + x + m;
                // p = u^(1/a): dp p^(a-1) = du / a
                let n = 20_000;
                let h = 1.0 / n as f64;
                let f = |u: f64| {
                    let p = u.powf(1.0 / a);
                    (1.0 - p).powf(bb - 1.0) * ((alpha + t) / (alpha + t + p * d)).powf(r + x)
                };
                let mut s = f(0.0) + f(1.0 - 1e-15);
                for k in 1..n {
                    s += f(k as f64 * h) * if k % 2 == 1 { 4.0 } else { 2.0 };
                }
                let integral = s * h / 3.0 / a / ln_beta(a, bb).exp();
                assert!(
                    (closed - integral).abs() < 1e-6,
                    "m={m} x={x}: {closed} vs {integral}"
                );
            }
        }
    }

    #[test]
    fn moved_rates_differ_by_exactly_the_points() {
        let d = data();
        let bg = BgNbd::from_params(&[0.243, 4.414, 0.793, 2.426]).unwrap();
        let mbg = MbgNbd::from_params(&[0.525, 6.183, 0.891, 1.614]).unwrap();
        let pn = ParetoNbd::from_params(&[0.553, 10.578, 0.606, 11.669]).unwrap();
        for points in [5.0, 1.0, -3.0, 0.5] {
            let s = shift_retention(&bg, &d, 52.0, points).unwrap();
            let again = retention_rate(&s.model, &d, 52.0).unwrap();
            assert!(
                (again - s.rate_before - points / 100.0).abs() < 1e-9,
                "bg {points}"
            );
            // a + b kept
            assert!((s.model.a() + s.model.b() - (bg.a() + bg.b())).abs() < 1e-12);
            let s = shift_retention(&mbg, &d, 52.0, points).unwrap();
            let again = retention_rate(&s.model, &d, 52.0).unwrap();
            assert!(
                (again - s.rate_before - points / 100.0).abs() < 1e-9,
                "mbg {points}"
            );
            let s = shift_retention(&pn, &d, 52.0, points).unwrap();
            let again = retention_rate(&s.model, &d, 52.0).unwrap();
            assert!(
                (again - s.rate_before - points / 100.0).abs() < 1e-9,
                "pnbd {points}"
            );
            assert_eq!(s.model.s(), pn.s());
            assert_eq!(s.model.r(), pn.r());
        }
    }

    #[test]
    fn out_of_reach_and_bad_inputs_are_typed_errors() {
        let d = data();
        let pn = ParetoNbd::from_params(&[0.553, 10.578, 0.606, 11.669]).unwrap();
        let before = retention_rate(&pn, &d, 52.0).unwrap();
        let too_far = 100.0 * (1.0 - before) + 1.0;
        assert!(matches!(
            shift_retention(&pn, &d, 52.0, too_far),
            Err(Error::InvalidOption { ref option, .. }) if option == "whatif.retention"
        ));
        assert!(matches!(
            shift_retention(&pn, &d, 52.0, f64::NAN),
            Err(Error::InvalidOption { .. })
        ));
        assert!(matches!(
            retention_rate(&pn, &d, 0.0),
            Err(Error::InvalidOption { ref option, .. }) if option == "whatif.period"
        ));
    }

    #[test]
    fn pareto_stay_probability_of_a_new_customer_is_the_survival() {
        // x = 0, T = 0: P(alive at Δ) = (β/(β+Δ))^s, the prior survival.
        let pn = ParetoNbd::from_params(&[0.553, 10.578, 0.606, 11.669]).unwrap();
        let v = pn.stays(0.0, 0.0, 52.0).unwrap();
        assert!((v - (11.669f64 / 63.669).powf(0.606)).abs() < 1e-15);
    }
}
