//! Gamma-Gamma spend model (Colombo & Jiang 1999; Fader, Hardie & Lee 2005, "RFM and
//! CLV"): a customer's transaction values are Gamma(p, ν) with `ν ~ Gamma(q, γ)`, fitted
//! on repeat customers' mean repeat spend; independent of the purchase process.
//!
//! The population mean spend is `p γ / (q - 1)`, finite only for `q > 1`: with `q <= 1`
//! the model's expected spend is meaningless (pymc-marketing #594), so the spend methods
//! return an error instead of a number.

use crate::clv::bgnbd::engine::model_error;
use crate::clv::fit::{Model, chunked_sum};
use crate::clv::special::{digamma, ln_gamma};
use crate::clv::{Fitted, SpendData, model_marker};
use crate::error::Result;

/// The Gamma-Gamma model (marker type): `GammaGamma::fitter().fit(&spend)`.
///
/// # Example
///
/// ```
/// use patronage::clv::GammaGamma;
/// let m = GammaGamma::from_params(&[6.25, 3.74, 15.44])?;
/// let e = m.conditional_expected_spend(5.0, 50.0)?;
/// assert!(e > 35.2 && e < 50.0); // shrunk toward the population mean of 35.2
/// # Ok::<(), patronage::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GammaGamma;

model_marker!(GammaGamma);

/// A fitted Gamma-Gamma model.
pub type FittedGammaGamma = Fitted<GammaGamma>;

impl Model for GammaGamma {
    const NAME: &'static str = "gamma-gamma";
    const PARAM_NAMES: &'static [&'static str] = &["p", "q", "gamma"];
    type Data = SpendData;

    fn default_initial(data: &SpendData) -> Vec<f64> {
        vec![1.0, 1.0, mean_spend(data)]
    }

    fn time_scale(data: &SpendData) -> (f64, &'static [f64]) {
        // "Time" here is money: rescale spend to a mean of one.
        (mean_spend(data), &[0.0, 0.0, 1.0])
    }

    fn rescale(data: &SpendData, scale: f64) -> SpendData {
        data.rescaled(scale)
    }

    fn neg_ll(params: &[f64], data: &SpendData, grad: Option<&mut [f64]>) -> (f64, bool) {
        let (p, q, g) = (params[0], params[1], params[2]);
        let (ms, ws) = (data.m(), data.weights());
        let (x_values, x_group) = data.x_index();
        let (lg_q, psi_q, ln_g) = (ln_gamma(q), digamma(q), g.ln());
        let want = grad.is_some();
        // Everything that depends on x alone, once per distinct x:
        // (x, ln Γ(px+q) - ln Γ(px) + px ln x, ψ(px+q) - ψ(px) + ln x, ψ(px+q)).
        let per_x: Vec<[f64; 4]> = x_values
            .iter()
            .map(|&x| {
                let px = p * x;
                let (a, b) = if want {
                    let psi = digamma(px + q);
                    (psi - digamma(px) + x.ln(), psi)
                } else {
                    (0.0, 0.0)
                };
                [x, ln_gamma(px + q) - ln_gamma(px) + px * x.ln(), a, b]
            })
            .collect();
        let total = chunked_sum::<4>(data.len(), |i| {
            let [x, lg, dpx, psi_pxq] = per_x[x_group[i] as usize];
            let (m, w) = (ms[i], ws[i]);
            let px = p * x;
            let ln_m = m.ln();
            let lden = (g + m * x).ln();
            let ll = lg - lg_q + q * ln_g + (px - 1.0) * ln_m - (px + q) * lden;
            if !want {
                return [-w * ll, 0.0, 0.0, 0.0];
            }
            let dp = x * (dpx + ln_m - lden);
            let dq = psi_pxq - psi_q + ln_g - lden;
            let dg = q / g - (px + q) / (g + m * x);
            [-w * ll, -w * dp, -w * dq, -w * dg]
        });
        if let Some(gr) = grad {
            gr.copy_from_slice(&total[1..]);
        }
        (total[0], true)
    }

    fn size(data: &SpendData) -> (f64, usize) {
        (data.n_customers(), data.len())
    }

    fn sample(data: &SpendData, customers: usize) -> Option<SpendData> {
        data.sample(customers)
    }
}

fn mean_spend(data: &SpendData) -> f64 {
    let (num, den) = data
        .m()
        .iter()
        .zip(data.weights())
        .fold((0.0, 0.0), |(a, b), (m, w)| (a + m * w, b + w));
    if den > 0.0 && num > 0.0 {
        num / den
    } else {
        1.0
    }
}

impl Fitted<GammaGamma> {
    fn check_q(&self) -> Result<()> {
        let q = self.params()[1];
        if q <= 1.0 {
            return Err(model_error(
                GammaGamma::NAME,
                format!(
                    "q = {q:.4} <= 1: the mean spend is infinite, so expected spend is undefined; the spend data are too heavy-tailed for this model (check for outliers, or use mean historic spend)"
                ),
            ));
        }
        Ok(())
    }

    /// The population mean spend per transaction, `p γ / (q - 1)`.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Model`] when `q <= 1`.
    pub fn mean_spend(&self) -> Result<f64> {
        self.check_q()?;
        let p = self.params();
        Ok(p[0] * p[2] / (p[1] - 1.0))
    }

    /// Expected spend per transaction of a customer with `x` repeat purchases averaging
    /// `m` (`x = 0` gives the population mean): `p (γ + x m) / (p x + q - 1)`.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Model`] when `q <= 1`.
    pub fn conditional_expected_spend(&self, x: f64, m: f64) -> Result<f64> {
        self.check_q()?;
        let p = self.params();
        let (pp, q, g) = (p[0], p[1], p[2]);
        if x <= 0.0 {
            return Ok(pp * g / (q - 1.0));
        }
        Ok(pp * (g + x * m) / (pp * x + q - 1.0))
    }
}
