//! MBG/NBD (Batislam, Denizel & Filiztekin 2007): BG/NBD where a customer may also drop
//! out right after the first purchase, so customers without repeat purchases are not
//! assumed alive.

use crate::clv::bgnbd::engine;
use crate::clv::fit::Model;
use crate::clv::{Fitted, PurchaseModel, RepeatData, model_marker};
use crate::error::Result;

/// The MBG/NBD model (marker type): `MbgNbd::fitter().fit(&data)`.
///
/// # Example
///
/// ```
/// use patronage::clv::{MbgNbd, PurchaseModel};
/// let m = MbgNbd::from_params(&[0.525, 6.183, 0.891, 1.614])?;
/// assert!(m.p_alive(0.0, 0.0, 38.86) < 1.0); // zero-repeat customers may be gone
/// # Ok::<(), patronage::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MbgNbd;

model_marker!(MbgNbd);

/// A fitted MBG/NBD model.
pub type FittedMbgNbd = Fitted<MbgNbd>;

impl Model for MbgNbd {
    const NAME: &'static str = "mbg-nbd";
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
        engine::neg_ll::<1>(params, data, grad)
    }

    fn size(data: &RepeatData) -> (f64, usize) {
        (data.n_customers(), data.len())
    }

    fn sample(data: &RepeatData, customers: usize) -> Option<RepeatData> {
        data.sample(customers)
    }
}

impl PurchaseModel for Fitted<MbgNbd> {
    fn model_name(&self) -> &'static str {
        MbgNbd::NAME
    }

    fn p_alive(&self, x: f64, t_x: f64, t: f64) -> f64 {
        engine::p_alive::<1>(self.params(), x, t_x, t)
    }

    fn expected_if_alive(&self, x: f64, t: f64, horizon: f64) -> Result<f64> {
        engine::expected_alive::<1>(MbgNbd::NAME, self.params(), x, t, horizon)
    }

    fn expected_purchases(&self, horizon: f64) -> Result<f64> {
        // A new customer is alive after the first purchase with probability b/(a+b).
        let p = self.params();
        Ok(p[3] / (p[2] + p[3]) * self.expected_if_alive(0.0, 0.0, horizon)?)
    }

    fn prob_purchases(&self, n: u32, t: f64) -> Result<f64> {
        Ok(engine::prob_n::<1>(self.params(), n, t))
    }
}
