//! The shifted-beta-geometric (sBG) model of contractual retention (Fader & Hardie 2007,
//! "How to project customer retention", Journal of Interactive Marketing 21(1)).
//!
//! Each customer renews at the end of every period with a fixed probability `1 - θ` and
//! cancels with probability `θ`; `θ ~ Beta(α, β)` across customers. With `T` the period
//! in which a customer churns (`T = 1`: at the first renewal decision):
//!
//! - `P(T = t) = B(α + 1, β + t - 1) / B(α, β)`, `t = 1, 2, ...`
//! - `S(t) = P(T > t) = B(α, β + t) / B(α, β)`
//! - `r(t) = S(t) / S(t - 1) = (β + t - 1) / (α + β + t - 1)`: the retention rate
//!   rises with `t` as the customers most likely to churn leave (a sorting effect,
//!   not a change in anyone's behaviour).
//!
//! The likelihood of a cohort's survival table ([`SurvivalData`]) is
//! `Π_t P(T = t)^(n_{t-1} - n_t) × S(last)^(n_last)`: those lost at each renewal, and the
//! survivors at the last observed period right-censored. Several cohorts observed for
//! different lengths multiply their likelihoods (each censored at its own last period). It is maximised by the crate's
//! engine ([`crate::clv::fit`]), with the analytic gradient below.
//!
//! The discounted expected residual lifetime (Fader & Hardie 2010, "Customer-base
//! valuation in a contractual setting: the perils of ignoring heterogeneity", Marketing
//! Science 29(1), eq. 6) is [`Fitted::derl`].

mod data;

pub use data::{CUSTOMERS_COLUMN, PERIOD_COLUMN, SurvivalData};

use crate::clv::bgnbd::engine::model_error;
use crate::clv::fit::Model;
use crate::clv::special::{digamma, hyp2f1, ln_beta};
use crate::clv::{Fitted, model_marker};
use crate::error::Result;

/// The sBG model (marker type): `Sbg::fitter().fit(&survival)`.
///
/// # Example
///
/// The "regular" segment of Fader & Hardie (2007): of 1,000 customers, 631, 468, 382,
/// 326, 289, 262 and 241 are still active after one to seven years.
///
/// ```
/// use patronage::clv::sbg::{Sbg, SurvivalData};
/// let data = SurvivalData::from_counts(&[1000, 631, 468, 382, 326, 289, 262, 241])?;
/// let fit = Sbg::fitter().fit(&data)?;
/// assert!((fit.alpha() - 0.704).abs() < 5e-4 && (fit.beta() - 1.182).abs() < 5e-4);
/// // Retention rises from year to year: r(1) < r(2).
/// assert!(fit.retention_rate(1).unwrap() < fit.retention_rate(2).unwrap());
/// # Ok::<(), patronage::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sbg;

model_marker!(Sbg);

/// A fitted sBG model.
pub type FittedSbg = Fitted<Sbg>;

impl Model for Sbg {
    const NAME: &'static str = "sbg";
    const PARAM_NAMES: &'static [&'static str] = &["alpha", "beta"];
    type Data = SurvivalData;

    fn default_initial(_data: &SurvivalData) -> Vec<f64> {
        vec![1.0, 1.0]
    }

    fn rescale(data: &SurvivalData, _scale: f64) -> SurvivalData {
        data.clone()
    }

    fn neg_ll(params: &[f64], data: &SurvivalData, grad: Option<&mut [f64]>) -> (f64, bool) {
        let (al, be) = (params[0], params[1]);
        let lb = ln_beta(al, be);
        let (psi_a, psi_b, psi_ab) = (digamma(al), digamma(be), digamma(al + be));
        let want = grad.is_some();
        let (mut ll, mut g_a, mut g_b) = (0.0, 0.0, 0.0);
        for (i, lost) in data.lost().into_iter().enumerate() {
            if lost == 0.0 {
                continue;
            }
            let t = (i + 1) as f64;
            // ln P(T = t) = ln B(α + 1, β + t - 1) - ln B(α, β)
            ll += lost * (ln_beta(al + 1.0, be + t - 1.0) - lb);
            if want {
                let psi_abt = digamma(al + be + t);
                g_a += lost * (digamma(al + 1.0) - psi_abt - psi_a + psi_ab);
                g_b += lost * (digamma(be + t - 1.0) - psi_abt - psi_b + psi_ab);
            }
        }
        // The survivors of each cohort, right-censored at its last period (period 0
        // adds nothing: S(0) = 1).
        for (t, &survivors) in data.censored().iter().enumerate().skip(1) {
            if survivors == 0.0 {
                continue;
            }
            let t = t as f64;
            // ln S(t) = ln B(α, β + t) - ln B(α, β)
            ll += survivors * (ln_beta(al, be + t) - lb);
            if want {
                let psi_abt = digamma(al + be + t);
                g_a += survivors * (psi_ab - psi_abt);
                g_b += survivors * (digamma(be + t) - psi_abt - psi_b + psi_ab);
            }
        }
        if let Some(g) = grad {
            g[0] = -g_a;
            g[1] = -g_b;
        }
        (-ll, true)
    }

    fn size(data: &SurvivalData) -> (f64, usize) {
        (data.n_customers(), data.active().len())
    }
}

impl Fitted<Sbg> {
    /// α: first shape of the beta distribution of churn probabilities θ.
    pub fn alpha(&self) -> f64 {
        self.params()[0]
    }

    /// β: second shape of the beta distribution of churn probabilities θ (the mean churn
    /// probability of a new customer is `α / (α + β)`).
    pub fn beta(&self) -> f64 {
        self.params()[1]
    }

    /// `P(T = t)`: probability that a new customer churns at the `t`-th renewal decision
    /// (0 for `t = 0`: everyone is active in period 0).
    pub fn churn_probability(&self, t: u32) -> f64 {
        if t == 0 {
            return 0.0;
        }
        let (al, be) = (self.alpha(), self.beta());
        (ln_beta(al + 1.0, be + f64::from(t) - 1.0) - ln_beta(al, be)).exp()
    }

    /// `S(t)`: probability that a new customer is still active in period `t` (has
    /// renewed `t` times); `S(0) = 1`.
    pub fn survival(&self, t: u32) -> f64 {
        let (al, be) = (self.alpha(), self.beta());
        (ln_beta(al, be + f64::from(t)) - ln_beta(al, be)).exp()
    }

    /// `S(0), S(1), ..., S(periods)`: the survival projection, as shares of the cohort.
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::clv::sbg::Sbg;
    /// let m = Sbg::from_params(&[0.668, 3.806])?;
    /// let s = m.survival_curve(12);
    /// assert_eq!(s.len(), 13);
    /// assert_eq!(s[0], 1.0);
    /// assert!(s.windows(2).all(|w| w[1] < w[0]));
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn survival_curve(&self, periods: u32) -> Vec<f64> {
        (0..=periods).map(|t| self.survival(t)).collect()
    }

    /// `r(t) = S(t) / S(t - 1) = (β + t - 1) / (α + β + t - 1)`: the share of the
    /// customers active in period `t - 1` who renew into period `t`. `None` for `t = 0`
    /// (there is no period before it).
    pub fn retention_rate(&self, t: u32) -> Option<f64> {
        if t == 0 {
            return None;
        }
        let (al, be) = (self.alpha(), self.beta());
        let k = f64::from(t) - 1.0;
        Some((be + k) / (al + be + k))
    }

    /// The discounted expected residual lifetime of a customer in period `n` (who has
    /// made `n - 1` renewals), valued just before the `n`-th renewal decision, in
    /// periods, at discount rate `d` per period (Fader & Hardie 2010, eq. 6):
    ///
    /// `DERL(d | n) = Σ_{t>=n} S(t | T > n - 1) / (1 + d)^(t - n)
    ///              = (β + n - 1)/(α + β + n - 1) · 2F1(1, β + n; α + β + n; 1/(1 + d))`.
    ///
    /// The first term is the renewal about to be decided (paid now, not discounted).
    /// Multiplied by the margin per period it is the customer's residual value; `n = 1`
    /// values a customer acquired and in the first period.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Model`] when `d` is not positive and finite (without discounting
    /// the sum may diverge), when `n = 0`, or when 2F1 cannot be evaluated.
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::clv::sbg::Sbg;
    /// let m = Sbg::from_params(&[0.668, 3.806])?;
    /// let direct: f64 = (1..2000).map(|t| m.survival(t) / 1.1f64.powi(t as i32 - 1)).sum();
    /// assert!((m.derl(0.1, 1)? - direct).abs() < 1e-9);
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn derl(&self, d: f64, n: u32) -> Result<f64> {
        if !(d.is_finite() && d > 0.0) {
            return Err(model_error(
                Sbg::NAME,
                format!("the discount rate must be positive and finite, got {d}"),
            ));
        }
        if n == 0 {
            return Err(model_error(
                Sbg::NAME,
                "n is the customer's current period (n - 1 renewals made) and starts at 1",
            ));
        }
        let (al, be) = (self.alpha(), self.beta());
        let nf = f64::from(n);
        let lead = (be + nf - 1.0) / (al + be + nf - 1.0);
        // z = 1/(1 + d) lies in (0, 1) for d > 0: inside hyp2f1's domain.
        let f = hyp2f1(1.0, be + nf, al + be + nf, 1.0 / (1.0 + d))
            .map_err(|e| model_error(Sbg::NAME, e))?;
        Ok(lead * f.value())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HIGH_END: [u64; 8] = [1000, 869, 743, 653, 593, 551, 517, 491];
    const REGULAR: [u64; 8] = [1000, 631, 468, 382, 326, 289, 262, 241];

    /// Fader & Hardie (2007), section "Estimation": the published estimates to their
    /// three decimals.
    #[test]
    fn reproduces_the_published_fits() {
        for (counts, alpha, beta) in [(HIGH_END, 0.668, 3.806), (REGULAR, 0.704, 1.182)] {
            let data = SurvivalData::from_counts(&counts).unwrap();
            let fit = Sbg::fitter().fit(&data).unwrap();
            let r = fit.report().unwrap();
            assert!(r.converged);
            assert!((fit.alpha() - alpha).abs() < 5e-4, "alpha {}", fit.alpha());
            assert!((fit.beta() - beta).abs() < 5e-4, "beta {}", fit.beta());
            assert!(r.standard_errors.iter().all(|s| s.is_finite() && *s > 0.0));
            assert_eq!(r.n_customers, 1000.0);
        }
    }

    /// At α = β = 1, P(T = t) = 1/(t(t+1)) and S(t) = 1/(t+1): the likelihood in closed
    /// form.
    #[test]
    fn likelihood_at_one_one_is_the_closed_form() {
        let data = SurvivalData::from_counts(&HIGH_END).unwrap();
        let m = Sbg::from_params(&[1.0, 1.0]).unwrap();
        let mut expected = 0.0;
        for (i, lost) in data.lost().iter().enumerate() {
            let t = (i + 1) as f64;
            expected += lost * (1.0 / (t * (t + 1.0))).ln();
        }
        expected += 491.0 * (1.0f64 / 8.0).ln();
        assert!((m.log_likelihood_on(&data) - expected).abs() < 1e-9);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        assert_gradient(&SurvivalData::from_counts(&REGULAR).unwrap());
    }

    /// The analytic gradient against central differences at (0.8, 1.7).
    fn assert_gradient(data: &SurvivalData) {
        let p = [0.8, 1.7];
        let mut g = [0.0; 2];
        Sbg::neg_ll(&p, data, Some(&mut g));
        for j in 0..2 {
            let h = 1e-6;
            let (mut up, mut down) = (p, p);
            up[j] += h;
            down[j] -= h;
            let fd =
                (Sbg::neg_ll(&up, data, None).0 - Sbg::neg_ll(&down, data, None).0) / (2.0 * h);
            assert!(
                (g[j] - fd).abs() < 1e-4 * fd.abs().max(1.0),
                "{j}: {} vs {fd}",
                g[j]
            );
        }
    }

    /// Cohorts acquired in successive periods and observed to a common end (each
    /// censored after a different number of renewals), simulated from known
    /// parameters: the pooled fit recovers them within two standard errors, and the
    /// analytic gradient matches finite differences on the pooled data.
    #[test]
    fn recovers_the_parameters_from_censored_cohorts() {
        use rand::{Rng, SeedableRng};
        use rand_distr::{Beta, Distribution};
        let truth = [0.9, 2.4];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let theta = Beta::new(truth[0], truth[1]).unwrap();
        // 12 monthly cohorts of 800; the cohort acquired in month m is observed for
        // 12 - m renewals.
        let cohorts: Vec<Vec<u64>> = (0..12)
            .map(|m| {
                let periods = 12 - m;
                let mut counts = vec![0u64; periods + 1];
                for _ in 0..800 {
                    let p: f64 = theta.sample(&mut rng);
                    counts[0] += 1;
                    for count in counts.iter_mut().skip(1) {
                        if rng.random::<f64>() < p {
                            break;
                        }
                        *count += 1;
                    }
                }
                counts
            })
            .collect();
        let data = SurvivalData::from_cohorts(&cohorts).unwrap();
        let fit = Sbg::fitter().fit(&data).unwrap();
        let se = &fit.report().unwrap().standard_errors;
        for j in 0..2 {
            let z = (fit.params()[j] - truth[j]) / se[j];
            assert!(
                z.abs() < 2.0,
                "param {j}: {} (se {}) vs {}",
                fit.params()[j],
                se[j],
                truth[j]
            );
        }
        assert_gradient(&data);
    }

    #[test]
    fn curves_agree_with_each_other() {
        let m = Sbg::from_params(&[0.704, 1.182]).unwrap();
        assert_eq!(m.survival(0), 1.0);
        for t in 1..20 {
            let s = m.survival(t);
            // r(t) = S(t)/S(t-1), and P(T=t) = S(t-1) - S(t)
            assert!((m.retention_rate(t).unwrap() - s / m.survival(t - 1)).abs() < 1e-12);
            assert!((m.churn_probability(t) - (m.survival(t - 1) - s)).abs() < 1e-12);
        }
        assert_eq!(m.retention_rate(0), None);
        assert_eq!(m.churn_probability(0), 0.0);
    }

    /// DERL against the direct sum of the discounted conditional survival series, for
    /// several periods and discount rates (including d <= 0.1, where 2F1 takes its
    /// connection formula to 1 - z).
    #[test]
    fn derl_is_the_discounted_survival_series() {
        for params in [[0.668, 3.806], [0.704, 1.182], [1.0, 2.0], [3.2, 0.6]] {
            let m = Sbg::from_params(&params).unwrap();
            for n in [1u32, 2, 5, 12] {
                for d in [0.05, 0.1, 0.5] {
                    let s_prev = m.survival(n - 1);
                    let mut direct = 0.0;
                    let mut disc = 1.0;
                    for t in n..n + 20_000 {
                        direct += m.survival(t) / s_prev * disc;
                        disc /= 1.0 + d;
                        if disc < 1e-18 {
                            break;
                        }
                    }
                    let v = m.derl(d, n).unwrap();
                    assert!(
                        (v - direct).abs() < 1e-9 * direct.max(1.0),
                        "{params:?} n={n} d={d}: {v} vs {direct}"
                    );
                }
            }
        }
    }

    #[test]
    fn derl_refuses_what_it_cannot_value() {
        let m = Sbg::from_params(&[0.7, 1.2]).unwrap();
        assert!(matches!(m.derl(0.0, 1), Err(crate::Error::Model { .. })));
        assert!(matches!(
            m.derl(f64::NAN, 1),
            Err(crate::Error::Model { .. })
        ));
        assert!(matches!(m.derl(0.1, 0), Err(crate::Error::Model { .. })));
    }

    #[test]
    fn json_round_trip() {
        let data = SurvivalData::from_counts(&REGULAR).unwrap();
        let fit = Sbg::fitter().fit(&data).unwrap();
        let back = Sbg::from_json(&fit.to_json().unwrap()).unwrap();
        assert_eq!(fit, back);
        assert_eq!(fit.name(), "sbg");
    }
}
