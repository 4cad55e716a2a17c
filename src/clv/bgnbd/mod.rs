//! BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): while
//! active a customer buys as a Poisson process with rate `λ ~ Gamma(r, α)`; after each
//! repeat purchase the customer drops out with probability `p ~ Beta(a, b)`.

pub(crate) mod engine;

use crate::clv::fit::Model;
use crate::clv::{Fitted, PurchaseModel, RepeatData, model_marker};
use crate::error::Result;

/// The BG/NBD model (marker type): `BgNbd::fitter().fit(&data)`.
///
/// # Example
///
/// ```
/// use patronage::clv::{BgNbd, PurchaseModel};
/// // Published CDNOW estimates (Fader, Hardie & Lee 2005).
/// let m = BgNbd::from_params(&[0.2425982, 4.4136842, 0.7929899, 2.4261667])?;
/// let e = m.conditional_expected_purchases(39.0, 2.0, 30.43, 38.86)?;
/// assert!((e - 1.226).abs() < 5e-4);
/// # Ok::<(), patronage::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BgNbd;

model_marker!(BgNbd);

/// A fitted BG/NBD model.
pub type FittedBgNbd = Fitted<BgNbd>;

impl Model for BgNbd {
    const NAME: &'static str = "bg-nbd";
    const PARAM_NAMES: &'static [&'static str] = &["r", "alpha", "a", "b"];
    type Data = RepeatData;

    fn default_initial(data: &RepeatData) -> Vec<f64> {
        vec![1.0, data.max_t().max(1e-9), 1.0, 1.0]
    }

    fn time_scale(data: &RepeatData) -> (f64, &'static [f64]) {
        (data.max_t().max(1e-9), &[0.0, 1.0, 0.0, 0.0])
    }

    fn rescale(data: &RepeatData, scale: f64) -> RepeatData {
        data.rescaled(scale)
    }

    fn neg_ll(params: &[f64], data: &RepeatData, grad: Option<&mut [f64]>) -> (f64, bool) {
        engine::neg_ll::<0>(params, data, grad)
    }

    fn size(data: &RepeatData) -> (f64, usize) {
        (data.n_customers(), data.len())
    }

    fn sample(data: &RepeatData, customers: usize) -> Option<RepeatData> {
        data.sample(customers)
    }
}

impl PurchaseModel for Fitted<BgNbd> {
    fn model_name(&self) -> &'static str {
        BgNbd::NAME
    }

    fn p_alive(&self, x: f64, t_x: f64, t: f64) -> f64 {
        engine::p_alive::<0>(self.params(), x, t_x, t)
    }

    fn expected_if_alive(&self, x: f64, t: f64, horizon: f64) -> Result<f64> {
        engine::expected_alive::<0>(BgNbd::NAME, self.params(), x, t, horizon)
    }

    fn expected_purchases(&self, horizon: f64) -> Result<f64> {
        self.expected_if_alive(0.0, 0.0, horizon)
    }

    fn prob_purchases(&self, n: u32, t: f64) -> Result<f64> {
        Ok(engine::prob_n::<0>(self.params(), n, t))
    }
}
