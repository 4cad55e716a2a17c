//! BG/BB (Fader, Hardie & Shang 2010, "Customer-base analysis in a discrete-time
//! noncontractual setting"): at each of `n` transaction opportunities an active customer
//! transacts with probability `p ~ Beta(α, β)` and drops out before the next with
//! probability `θ ~ Beta(γ, δ)`.

use crate::clv::bgnbd::engine::model_error;
use crate::clv::fit::{Model, chunked_sum};
use crate::clv::special::{digamma, hyp2f1, ln_beta, ln_gamma};
use crate::clv::{DiscreteData, Fitted, model_marker};
use crate::error::Result;

/// The BG/BB model (marker type): `BgBb::fitter().fit(&data)`.
///
/// # Example
///
/// ```
/// use patronage::clv::BgBb;
/// let m = BgBb::from_params(&[1.203507, 0.7497667, 0.6567568, 2.783887])?;
/// let p = m.p_alive(1.0, 6.0, 6.0, 6.0);
/// assert!((p - 0.93).abs() < 0.005);
/// # Ok::<(), patronage::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BgBb;

model_marker!(BgBb);

/// A fitted BG/BB model.
pub type FittedBgBb = Fitted<BgBb>;

/// Log of each likelihood term and its gradient; the likelihood is their sum.
fn ln_lik_grad(p: &[f64], x: f64, t_x: f64, n: f64, grad: Option<&mut [f64; 4]>) -> f64 {
    let (al, be, ga, de) = (p[0], p[1], p[2], p[3]);
    let lb_ab = ln_beta(al, be);
    let lb_gd = ln_beta(ga, de);
    let n_extra = (n - t_x).max(0.0) as usize;
    let mut logs = Vec::with_capacity(n_extra + 1);
    logs.push(ln_beta(al + x, be + n - x) - lb_ab + ln_beta(ga, de + n) - lb_gd);
    for i in 0..n_extra {
        let fi = i as f64;
        logs.push(
            ln_beta(al + x, be + t_x - x + fi) - lb_ab + ln_beta(ga + 1.0, de + t_x + fi) - lb_gd,
        );
    }
    let m = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let weights: Vec<f64> = logs.iter().map(|l| (l - m).exp()).collect();
    let total: f64 = weights.iter().sum();
    if let Some(g) = grad {
        let (psi_ab, psi_gd) = (digamma(al + be), digamma(ga + de));
        let (psi_a, psi_b, psi_g, psi_d) = (digamma(al), digamma(be), digamma(ga), digamma(de));
        let psi_ax = digamma(al + x);
        let mut acc = [0.0; 4];
        for (k, wk) in weights.iter().enumerate() {
            let share = wk / total;
            let d = if k == 0 {
                [
                    psi_ax - digamma(al + be + n) - psi_a + psi_ab,
                    digamma(be + n - x) - digamma(al + be + n) - psi_b + psi_ab,
                    psi_g - digamma(ga + de + n) - psi_g + psi_gd,
                    digamma(de + n) - digamma(ga + de + n) - psi_d + psi_gd,
                ]
            } else {
                let fi = (k - 1) as f64;
                [
                    psi_ax - digamma(al + be + t_x + fi) - psi_a + psi_ab,
                    digamma(be + t_x - x + fi) - digamma(al + be + t_x + fi) - psi_b + psi_ab,
                    digamma(ga + 1.0) - digamma(ga + de + 1.0 + t_x + fi) - psi_g + psi_gd,
                    digamma(de + t_x + fi) - digamma(ga + de + 1.0 + t_x + fi) - psi_d + psi_gd,
                ]
            };
            for j in 0..4 {
                acc[j] += share * d[j];
            }
        }
        *g = acc;
    }
    m + total.ln()
}

impl Model for BgBb {
    const NAME: &'static str = "bg-bb";
    const PARAM_NAMES: &'static [&'static str] = &["alpha", "beta", "gamma", "delta"];
    type Data = DiscreteData;

    fn default_initial(_data: &DiscreteData) -> Vec<f64> {
        vec![1.0, 1.0, 1.0, 1.0]
    }

    fn rescale(data: &DiscreteData, _scale: f64) -> DiscreteData {
        data.clone()
    }

    fn neg_ll(params: &[f64], data: &DiscreteData, grad: Option<&mut [f64]>) -> (f64, bool) {
        let (xs, txs, ns, ws) = (data.x(), data.t_x(), data.n(), data.weights());
        let want = grad.is_some();
        let total = chunked_sum::<5>(data.len(), |i| {
            let mut g = [0.0; 4];
            let ll = ln_lik_grad(params, xs[i], txs[i], ns[i], want.then_some(&mut g));
            let w = ws[i];
            [-w * ll, -w * g[0], -w * g[1], -w * g[2], -w * g[3]]
        });
        if let Some(g) = grad {
            g.copy_from_slice(&total[1..]);
        }
        (total[0], true)
    }

    fn size(data: &DiscreteData) -> (f64, usize) {
        (data.n_customers(), data.len())
    }
}

impl Fitted<BgBb> {
    fn ln_lik(&self, x: f64, t_x: f64, n: f64) -> f64 {
        ln_lik_grad(self.params(), x, t_x, n, None)
    }

    /// Probability that a customer with `x` transactions, the last at opportunity `t_x`,
    /// out of `n`, is alive at opportunity `n + m` (`m = 1`: the next one).
    pub fn p_alive(&self, m: f64, x: f64, t_x: f64, n: f64) -> f64 {
        let p = self.params();
        let (al, be, ga, de) = (p[0], p[1], p[2], p[3]);
        (ln_beta(al + x, be + n - x) - ln_beta(al, be) + ln_beta(ga, de + n + m)
            - ln_beta(ga, de)
            - self.ln_lik(x, t_x, n))
        .exp()
    }

    /// `Γ(γ+δ)/Γ(1+δ) [Γ(1+δ+u)/Γ(γ+δ+u) - Γ(1+δ+v)/Γ(γ+δ+v)] / (γ-1)`, with the
    /// digamma limit at `γ = 1`.
    fn survival_sum(&self, u: f64, v: f64) -> f64 {
        let p = self.params();
        let (ga, de) = (p[2], p[3]);
        if (ga - 1.0).abs() < 1e-9 {
            return digamma(1.0 + de + v) - digamma(1.0 + de + u);
        }
        let k = ln_gamma(ga + de) - ln_gamma(1.0 + de);
        let f = |w: f64| (k + ln_gamma(1.0 + de + w) - ln_gamma(ga + de + w)).exp();
        (f(u) - f(v)) / (ga - 1.0)
    }

    /// Expected transactions in the next `m` opportunities, given `(x, t_x, n)`.
    pub fn conditional_expected_purchases(&self, m: f64, x: f64, t_x: f64, n: f64) -> f64 {
        let p = self.params();
        let (al, be, de) = (p[0], p[1], p[3]);
        (ln_beta(al + x + 1.0, be + n - x) - ln_beta(al, be) - self.ln_lik(x, t_x, n)).exp()
            * de
            * self.survival_sum(n, n + m)
    }

    /// Expected transactions in the first `n` opportunities of a new customer.
    pub fn expected_purchases(&self, n: f64) -> f64 {
        let p = self.params();
        let (al, be, de) = (p[0], p[1], p[3]);
        al / (al + be) * de * self.survival_sum(0.0, n)
    }

    /// Probability of exactly `x` transactions in the first `n` opportunities.
    pub fn prob_purchases(&self, x: u32, n: u32) -> f64 {
        let p = self.params();
        let (al, be, ga, de) = (p[0], p[1], p[2], p[3]);
        let (xf, nf) = (f64::from(x), f64::from(n));
        if x > n {
            return 0.0;
        }
        let ln_choose =
            |a: f64, b: f64| ln_gamma(a + 1.0) - ln_gamma(b + 1.0) - ln_gamma(a - b + 1.0);
        let (lb_ab, lb_gd) = (ln_beta(al, be), ln_beta(ga, de));
        let mut total = (ln_choose(nf, xf) + ln_beta(al + xf, be + nf - xf) - lb_ab
            + ln_beta(ga, de + nf)
            - lb_gd)
            .exp();
        for i in x..n {
            let fi = f64::from(i);
            total += (ln_choose(fi, xf) + ln_beta(al + xf, be + fi - xf) - lb_ab
                + ln_beta(ga + 1.0, de + fi)
                - lb_gd)
                .exp();
        }
        total
    }

    /// Discounted expected residual transactions at discount rate `d` per opportunity
    /// (Fader, Hardie & Shang 2010, eq. 14).
    ///
    /// # Errors
    ///
    /// [`crate::Error::Model`] if `d <= 0` or the 2F1 evaluation fails.
    pub fn dert(&self, d: f64, x: f64, t_x: f64, n: f64) -> Result<f64> {
        if !(d > 0.0 && d.is_finite()) {
            return Err(model_error(
                BgBb::NAME,
                "the discount rate must be positive",
            ));
        }
        let p = self.params();
        let (al, be, ga, de) = (p[0], p[1], p[2], p[3]);
        let f = hyp2f1(1.0, de + n + 1.0, ga + de + n + 1.0, 1.0 / (1.0 + d))
            .map_err(|e| model_error(BgBb::NAME, e))?;
        Ok(
            (ln_beta(al + x + 1.0, be + n - x) - ln_beta(al, be) + ln_beta(ga, de + n + 1.0)
                - ln_beta(ga, de)
                - (1.0 + d).ln()
                + f.ln_abs
                - self.ln_lik(x, t_x, n))
            .exp(),
        )
    }
}
