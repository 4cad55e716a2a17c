//! What the purchase models say about one customer's future beyond the expected count:
//! the probability of being alive at a later time `T + t`, the whole distribution of the
//! number of purchases in `(T, T + t]`, and the P(alive) path over a customer's history.
//!
//! # Derivations
//!
//! All three models give, for a customer alive at `T` with `x` repeat purchases, the
//! posterior of the purchase rate `λ ~ Gamma(r + x, α + T)` (the data's likelihood given
//! alive is `λ^x e^(-λT)` times a factor free of `λ`), independent of the dropout
//! parameter, whose posterior given alive is:
//!
//! - BG/NBD: `p ~ Beta(a, b + x)` (alive means `x` purchases not followed by dropout,
//!   `(1-p)^x`); MBG/NBD: `p ~ Beta(a, b + x + 1)` (one more chance to drop, at time 0);
//! - Pareto/NBD: `μ ~ Gamma(s, β + T)` (alive means a lifetime beyond `T`, `e^(-μT)`).
//!
//! From `T` on, an alive customer behaves as a new customer of the same model with those
//! posterior parameters and without a dropout chance at `T` itself. Hence:
//!
//! - **P(alive at T + t).** BG/NBD and MBG/NBD: dropouts are the purchases that end the
//!   customer, a thinning of the Poisson(λ) purchases with probability `p`, so the time
//!   to dropout is exponential with rate `λp` and `P(alive at T+t | alive at T, λ, p) =
//!   e^(-λpt)`. Averaging over the posterior of `λ` gives `(1 + pt/(α+T))^-(r+x)`, and
//!   over `p` Euler's integral gives
//!   `P(alive at T) · 2F1(r+x, a; a+b+x+M; -t/(α+T))` (`M = 0` BG/NBD, `1` MBG/NBD).
//!   Pareto/NBD: `P(alive at T) · ((β+T)/(β+T+t))^s`.
//! - **P(X(T, T+t] = n).** `(1 - P(alive at T)) [n = 0] + P(alive at T) P_post(X(t) = n)`,
//!   where `P_post` is the model's unconditional PMF (Fader, Hardie & Lee 2005 eq. 8 for
//!   BG/NBD; Fader, Hardie & Lee 2006 for Pareto/NBD) at the posterior parameters
//!   `(r+x, α+T, a, b+x+M)`, always with the BG/NBD form for MBG/NBD (no dropout at
//!   `T`), or `(r+x, α+T, s, β+T)` for Pareto/NBD. This is the expression of Fader &
//!   Hardie's note "Deriving the conditional PMF of the Pareto/NBD model" (2006) and of
//!   lifetimes' `conditional_probability_of_n_purchases_up_to_time` for BG/NBD.
//!
//! Both are checked against simulation from known parameters in
//! `tests/integration/clv_conditional.rs`; the PMF also sums to 1 and its mean equals
//! [`PurchaseModel::conditional_expected_purchases`] (tests below).

use crate::clv::bgnbd::engine::{self, model_error};
use crate::clv::special::hyp2f1;
use crate::clv::{BgNbd, Fitted, MbgNbd, ParetoNbd, PurchaseModel, paretonbd};
use crate::error::{Error, Result};

/// Conditional predictions beyond [`PurchaseModel`]: P(alive) at a later time and the
/// distribution of future purchases, for BG/NBD, MBG/NBD and Pareto/NBD (derivations in
/// the module documentation). Times are in the unit the model was fitted in; `x`, `t_x`,
/// `t` are the customer's repeat purchases, age at the last one and age now (`T`).
pub trait ConditionalPurchases: PurchaseModel {
    /// Probability the customer is still alive at age `t + future`, given the history
    /// up to `t`. Equals [`PurchaseModel::p_alive`] at `future = 0` and decreases with
    /// `future`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] for a negative or non-finite `future` or an impossible
    /// history (`x < 0`, `t_x < 0`, `t_x > t`); [`Error::Model`] when 2F1 cannot be
    /// evaluated.
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::clv::{BgNbd, PurchaseModel, conditional::ConditionalPurchases};
    /// let m = BgNbd::from_params(&[0.2425982, 4.4136842, 0.7929899, 2.4261667])?;
    /// let now = m.p_alive(2.0, 30.43, 38.86);
    /// let in_a_year = m.p_alive_at(52.0, 2.0, 30.43, 38.86)?;
    /// assert!(in_a_year < now);
    /// # Ok::<(), patronage::Error>(())
    /// ```
    fn p_alive_at(&self, future: f64, x: f64, t_x: f64, t: f64) -> Result<f64>;

    /// Probability of exactly `n` purchases in `(t, t + future]` given the history up to
    /// `t`. Sums to 1 over `n`; its mean is
    /// [`PurchaseModel::conditional_expected_purchases`].
    ///
    /// # Errors
    ///
    /// As [`ConditionalPurchases::p_alive_at`].
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::clv::{ParetoNbd, conditional::ConditionalPurchases};
    /// let m = ParetoNbd::from_params(&[0.553, 10.578, 0.606, 11.669])?;
    /// let p0 = m.conditional_prob_purchases(0, 39.0, 0.0, 0.0, 38.86)?;
    /// assert!(p0 > 0.9); // a one-time buyer of long ago most likely buys nothing
    /// # Ok::<(), patronage::Error>(())
    /// ```
    fn conditional_prob_purchases(
        &self,
        n: u32,
        future: f64,
        x: f64,
        t_x: f64,
        t: f64,
    ) -> Result<f64>;
}

/// Refuses a history no customer can have and a negative horizon.
fn check_args(future: f64, x: f64, t_x: f64, t: f64) -> Result<()> {
    if !(future.is_finite() && future >= 0.0) {
        return Err(Error::invalid(
            "future",
            format!("must be a finite time >= 0, got {future}"),
        ));
    }
    if !(x.is_finite() && x >= 0.0) {
        return Err(Error::invalid(
            "frequency",
            format!("must be >= 0, got {x}"),
        ));
    }
    if !(t_x.is_finite() && t.is_finite() && 0.0 <= t_x && t_x <= t) {
        return Err(Error::invalid(
            "recency",
            format!("needs 0 <= recency <= T, got recency {t_x}, T {t}"),
        ));
    }
    Ok(())
}

/// `P(alive at T+t)` for BG/NBD (`M = 0`) and MBG/NBD (`M = 1`).
fn bg_p_alive_at<const M: u8>(
    name: &str,
    p: &[f64],
    future: f64,
    x: f64,
    t_x: f64,
    t: f64,
) -> Result<f64> {
    check_args(future, x, t_x, t)?;
    let (r, alpha, a, b) = (p[0], p[1], p[2], p[3]);
    let now = engine::p_alive::<M>(p, x, t_x, t);
    if future == 0.0 {
        return Ok(now);
    }
    let c = a + b + x + f64::from(M);
    let survive = hyp2f1(r + x, a, c, -future / (alpha + t))
        .map_err(|e| model_error(name, e))?
        .value();
    Ok(now * survive)
}

/// The conditional PMF for BG/NBD (`M = 0`) and MBG/NBD (`M = 1`).
fn bg_conditional_pmf<const M: u8>(
    p: &[f64],
    n: u32,
    future: f64,
    x: f64,
    t_x: f64,
    t: f64,
) -> Result<f64> {
    check_args(future, x, t_x, t)?;
    let (r, alpha, a, b) = (p[0], p[1], p[2], p[3]);
    let alive = engine::p_alive::<M>(p, x, t_x, t);
    // From T an alive customer is a new BG/NBD customer at the posterior parameters,
    // with no dropout chance at T itself (so the BG/NBD form even for MBG/NBD).
    let post = [r + x, alpha + t, a, b + x + f64::from(M)];
    let given_alive = engine::prob_n::<0>(&post, n, future);
    Ok(if n == 0 { 1.0 - alive } else { 0.0 } + alive * given_alive)
}

/// BG/NBD (`M = 0`) and MBG/NBD (`M = 1`) share the formulas.
macro_rules! bg_conditional {
    ($model:ty, $m:literal) => {
        impl ConditionalPurchases for Fitted<$model> {
            fn p_alive_at(&self, future: f64, x: f64, t_x: f64, t: f64) -> Result<f64> {
                bg_p_alive_at::<$m>(self.name(), self.params(), future, x, t_x, t)
            }

            fn conditional_prob_purchases(
                &self,
                n: u32,
                future: f64,
                x: f64,
                t_x: f64,
                t: f64,
            ) -> Result<f64> {
                bg_conditional_pmf::<$m>(self.params(), n, future, x, t_x, t)
            }
        }
    };
}

bg_conditional!(BgNbd, 0);
bg_conditional!(MbgNbd, 1);

impl ConditionalPurchases for Fitted<ParetoNbd> {
    fn p_alive_at(&self, future: f64, x: f64, t_x: f64, t: f64) -> Result<f64> {
        check_args(future, x, t_x, t)?;
        let (s, beta) = (self.params()[2], self.params()[3]);
        let now = self.p_alive(x, t_x, t);
        if !now.is_finite() {
            return Err(model_error(self.name(), "P(alive) not finite"));
        }
        // E[e^(-μ t)] under μ ~ Gamma(s, β+T), in log form for accuracy at small t.
        Ok(now * (-s * (future / (beta + t)).ln_1p()).exp())
    }

    fn conditional_prob_purchases(
        &self,
        n: u32,
        future: f64,
        x: f64,
        t_x: f64,
        t: f64,
    ) -> Result<f64> {
        check_args(future, x, t_x, t)?;
        let p = self.params();
        let alive = self.p_alive(x, t_x, t);
        if !alive.is_finite() {
            return Err(model_error(self.name(), "P(alive) not finite"));
        }
        let post = [p[0] + x, p[1] + t, p[2], p[3] + t];
        let given_alive = paretonbd::prob_n(&post, n, future)?;
        Ok(if n == 0 { 1.0 - alive } else { 0.0 } + alive * given_alive)
    }
}

/// One point of [`p_alive_path`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct AlivePoint {
    /// Age (time since the first purchase).
    pub age: f64,
    /// Repeat purchases made up to and including `age` (at a purchase time the path has
    /// two points: before the purchase and after it).
    pub purchases: u32,
    /// P(alive) given the history up to `age`.
    pub p_alive: f64,
}

/// Most points [`p_alive_path`] returns; a finer grid is refused.
pub const MAX_PATH_POINTS: usize = 1_000_000;

/// The P(alive) path of one customer over their history: P(alive) at every multiple of
/// `step` from the first purchase (age 0) to `t`, at `t`, and at each repeat purchase
/// twice (just before it, with the history so far, and just after it), so a chart of the
/// points shows the decay between purchases and the jump at each one (lifetimes'
/// `calculate_alive_path` evaluates the same quantity on a daily grid).
///
/// `repeat_ages` are the ages of the repeat purchases (time since the first purchase),
/// in order, within `[0, t]`.
///
/// # Errors
///
/// [`Error::InvalidOption`] when `step` or `t` is not positive and finite, the ages are
/// out of order or outside `[0, t]`, or the grid would exceed [`MAX_PATH_POINTS`].
///
/// # Example
///
/// ```
/// use patronage::clv::{BgNbd, conditional::p_alive_path};
/// let m = BgNbd::from_params(&[0.2425982, 4.4136842, 0.7929899, 2.4261667])?;
/// let path = p_alive_path(&m, &[5.0, 9.0], 30.0, 1.0)?;
/// assert_eq!(path[0].p_alive, 1.0); // BG/NBD: alive until the first repeat purchase
/// let last = path.last().unwrap();
/// assert_eq!((last.age, last.purchases), (30.0, 2));
/// assert!(last.p_alive < 1.0);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn p_alive_path(
    model: &dyn PurchaseModel,
    repeat_ages: &[f64],
    t: f64,
    step: f64,
) -> Result<Vec<AlivePoint>> {
    if !(t.is_finite() && t > 0.0) {
        return Err(Error::invalid("T", format!("must be positive, got {t}")));
    }
    if !(step.is_finite() && step > 0.0) {
        return Err(Error::invalid(
            "step",
            format!("must be positive, got {step}"),
        ));
    }
    let mut previous = 0.0;
    for &age in repeat_ages {
        if !(age.is_finite() && previous <= age && age <= t) {
            return Err(Error::invalid(
                "purchase_ages",
                format!("must be in order within [0, {t}], found {age} after {previous}"),
            ));
        }
        previous = age;
    }
    let grid = (t / step).floor();
    if grid + 2.0 + 2.0 * repeat_ages.len() as f64 > MAX_PATH_POINTS as f64 {
        return Err(Error::invalid(
            "step",
            format!("{step} gives more than {MAX_PATH_POINTS} points over {t}"),
        ));
    }
    let point = |age: f64, x: usize, t_x: f64| AlivePoint {
        age,
        purchases: x as u32,
        p_alive: model.p_alive(x as f64, t_x, age),
    };
    let mut out = Vec::with_capacity(grid as usize + 2 + 2 * repeat_ages.len());
    let (mut x, mut t_x) = (0usize, 0.0);
    // Grid ages as multiples (not running sums) so that they carry no accumulated error.
    let mut k = 0.0;
    loop {
        let age = (k * step).min(t);
        while x < repeat_ages.len() && repeat_ages[x] <= age {
            let at = repeat_ages[x];
            if at > 0.0 && out.last().is_none_or(|p: &AlivePoint| p.age < at) {
                out.push(point(at, x, t_x));
            }
            x += 1;
            t_x = at;
            out.push(point(at, x, t_x));
        }
        if out.last().is_none_or(|p: &AlivePoint| p.age < age) {
            out.push(point(age, x, t_x));
        }
        if age >= t {
            break;
        }
        k += 1.0;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BG: [f64; 4] = [0.2425982, 4.4136842, 0.7929899, 2.4261667];
    const MBG: [f64; 4] = [0.525, 6.183, 0.891, 1.614];
    const PNBD: [f64; 4] = [0.553, 10.578, 0.606, 11.669];
    const HISTORIES: [(f64, f64, f64); 5] = [
        (0.0, 0.0, 38.86),
        (1.0, 2.0, 38.86),
        (2.0, 30.43, 38.86),
        (7.0, 20.0, 38.0),
        (26.0, 30.85714, 31.0),
    ];

    fn models() -> Vec<Box<dyn ConditionalPurchases>> {
        vec![
            Box::new(Fitted::<BgNbd>::from_params(&BG).unwrap()),
            Box::new(Fitted::<MbgNbd>::from_params(&MBG).unwrap()),
            Box::new(Fitted::<ParetoNbd>::from_params(&PNBD).unwrap()),
        ]
    }

    /// At `future = 0` the probability is today's P(alive); it falls as the horizon grows.
    #[test]
    fn p_alive_at_starts_at_p_alive_and_decreases() {
        for m in models() {
            for &(x, tx, t) in &HISTORIES {
                let now = m.p_alive(x, tx, t);
                let at0 = m.p_alive_at(0.0, x, tx, t).unwrap();
                assert!((at0 - now).abs() < 1e-15, "{}", m.model_name());
                let mut last = now;
                for future in [0.5, 5.0, 52.0, 520.0] {
                    let v = m.p_alive_at(future, x, tx, t).unwrap();
                    assert!(v < last && v > 0.0, "{} {future}: {v}", m.model_name());
                    last = v;
                }
            }
        }
    }

    /// BG/NBD's 2F1 factor equals the posterior expectation of e^(-λpt) integrated
    /// numerically over p (λ integrated in closed form).
    #[test]
    fn bgnbd_survival_factor_equals_the_integral() {
        let m = Fitted::<BgNbd>::from_params(&BG).unwrap();
        let (r, alpha, a, b) = (BG[0], BG[1], BG[2], BG[3]);
        for &(x, tx, t) in &HISTORIES {
            let future = 20.0;
            // ∫ (1 + p u)^-(r+x) Beta(p; a, b+x) dp by the midpoint rule on p = q^(1/a)
            // (the substitution removes the p^(a-1) singularity at 0).
            let u = future / (alpha + t);
            let n = 200_000;
            let mut sum = 0.0;
            for i in 0..n {
                let q = (i as f64 + 0.5) / n as f64;
                let p = q.powf(1.0 / a);
                sum += (1.0 + p * u).powf(-(r + x)) * (1.0 - p).powf(b + x - 1.0);
            }
            let integral = sum / n as f64 / a / crate::clv::special::ln_beta(a, b + x).exp();
            let want = m.p_alive(x, tx, t) * integral;
            let got = m.p_alive_at(future, x, tx, t).unwrap();
            assert!((got - want).abs() < 1e-6, "{x}: {got} vs {want}");
        }
    }

    /// The conditional PMF sums to 1 and its mean is the conditional expectation.
    #[test]
    fn conditional_pmf_sums_to_one_and_matches_the_mean() {
        for m in models() {
            for &(x, tx, t) in &HISTORIES {
                for future in [1.0, 39.0] {
                    let ps: Vec<f64> = (0..400)
                        .map(|n| m.conditional_prob_purchases(n, future, x, tx, t).unwrap())
                        .collect();
                    let name = m.model_name();
                    assert!(ps.iter().all(|p| (0.0..=1.0).contains(p)), "{name}");
                    let total: f64 = ps.iter().sum();
                    assert!((total - 1.0).abs() < 1e-8, "{name} {x}: sum {total}");
                    let mean: f64 = ps.iter().enumerate().map(|(n, p)| n as f64 * p).sum();
                    let want = m.conditional_expected_purchases(future, x, tx, t).unwrap();
                    assert!(
                        (mean - want).abs() < 1e-7 * want.max(1.0),
                        "{name} {x} {future}: mean {mean} vs {want}"
                    );
                }
            }
        }
    }

    /// A customer just acquired (x = 0, T = 0) has the unconditional distribution (for
    /// MBG/NBD the P(alive) of b/(a+b) at T = 0 is the dropout chance at 0 that the
    /// unconditional form holds).
    #[test]
    fn conditional_pmf_at_acquisition_is_the_unconditional_one() {
        for m in models() {
            for n in 0..20 {
                let c = m
                    .conditional_prob_purchases(n, 52.0, 0.0, 0.0, 0.0)
                    .unwrap();
                let u = m.prob_purchases(n, 52.0).unwrap();
                assert!((c - u).abs() < 1e-12, "{} {n}: {c} vs {u}", m.model_name());
            }
        }
    }

    #[test]
    fn bad_arguments_are_typed_errors() {
        let m = Fitted::<BgNbd>::from_params(&BG).unwrap();
        let option = |e: Error| match e {
            Error::InvalidOption { option, .. } => option,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            option(m.p_alive_at(-1.0, 1.0, 2.0, 3.0).unwrap_err()),
            "future"
        );
        assert_eq!(
            option(
                m.conditional_prob_purchases(0, 1.0, 1.0, 4.0, 3.0)
                    .unwrap_err()
            ),
            "recency"
        );
        assert_eq!(
            option(m.p_alive_at(1.0, f64::NAN, 2.0, 3.0).unwrap_err()),
            "frequency"
        );
        assert_eq!(
            option(p_alive_path(&m, &[3.0, 2.0], 5.0, 1.0).unwrap_err()),
            "purchase_ages"
        );
        assert_eq!(
            option(p_alive_path(&m, &[6.0], 5.0, 1.0).unwrap_err()),
            "purchase_ages"
        );
        assert_eq!(option(p_alive_path(&m, &[], 5.0, 0.0).unwrap_err()), "step");
        assert_eq!(
            option(p_alive_path(&m, &[], 1e9, 1e-3).unwrap_err()),
            "step"
        );
        assert_eq!(option(p_alive_path(&m, &[], -1.0, 1.0).unwrap_err()), "T");
    }

    /// The path: points in age order, each equal to P(alive) of the history so far, the
    /// two points at a purchase, and the last at T with every purchase counted.
    #[test]
    fn path_points_are_p_alive_of_the_history_so_far() {
        for m in models() {
            let ages = [2.5, 2.5, 7.0, 12.0];
            let path = p_alive_path(m.as_ref(), &ages, 20.0, 1.0).unwrap();
            assert!(path.windows(2).all(|w| w[0].age <= w[1].age));
            for p in &path {
                let made: Vec<f64> = ages.iter().copied().take(p.purchases as usize).collect();
                assert!(made.iter().all(|&a| a <= p.age));
                let t_x = made.last().copied().unwrap_or(0.0);
                let want = m.p_alive(made.len() as f64, t_x, p.age);
                assert_eq!(p.p_alive, want);
            }
            // 21 grid points + before/after at 2.5 (one "before": the second purchase at
            // the same age follows the first) + before/after at 7 and 12, whose grid
            // points coincide with the "after" points.
            let at = |age: f64| path.iter().filter(|p| p.age == age).count();
            assert_eq!((at(2.5), at(7.0), at(12.0), at(3.0)), (3, 2, 2, 1));
            let last = path.last().unwrap();
            assert_eq!((last.age, last.purchases), (20.0, 4));
            // A grid that does not divide T still ends at T.
            let odd = p_alive_path(m.as_ref(), &[], 10.0, 3.0).unwrap();
            let ages: Vec<f64> = odd.iter().map(|p| p.age).collect();
            assert_eq!(ages, [0.0, 3.0, 6.0, 9.0, 10.0]);
        }
    }
}
