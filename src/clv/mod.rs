//! Probabilistic customer-base models ("buy till you die") and the spend model, fitted by
//! maximum likelihood and scored per customer.
//!
//! | model | data | parameters | module |
//! |---|---|---|---|
//! | BG/NBD (Fader, Hardie & Lee 2005) | [`RepeatData`] | `r, alpha, a, b` | [`bgnbd`] |
//! | MBG/NBD (Batislam, Denizel & Filiztekin 2007) | [`RepeatData`] | `r, alpha, a, b` | [`mbgnbd`] |
//! | Pareto/NBD (Schmittlein, Morrison & Colombo 1987) | [`RepeatData`] | `r, alpha, s, beta` | [`paretonbd`] |
//! | BG/BB (Fader, Hardie & Shang 2010) | [`DiscreteData`] | `alpha, beta, gamma, delta` | [`bgbb`] |
//! | Gamma-Gamma (Fader, Hardie & Lee 2005; Colombo & Jiang 1999) | [`SpendData`] | `p, q, gamma` | [`gammagamma`] |
//! | sBG, contractual churn (Fader & Hardie 2007) | [`sbg::SurvivalData`] | `alpha, beta` | [`sbg`] |
//!
//! Every model is fitted the same way:
//!
//! ```
//! use patronage::clv::{BgNbd, RepeatData};
//! let data = RepeatData::new(&[0.0, 1.0, 3.0, 0.0, 2.0, 5.0], &[0.0, 5.0, 20.0, 0.0, 12.0, 30.0], &[30.0, 32.0, 35.0, 20.0, 33.0, 36.0])?;
//! let fit = BgNbd::fitter().penalizer(0.01).fit(&data)?;
//! assert!(fit.report().unwrap().converged);
//! # Ok::<(), patronage::Error>(())
//! ```
//!
//! Scoring ([`PurchaseModel`], [`value`]) runs in parallel over customers with results
//! identical whatever the thread count; model checks are in [`check`].

mod accessors;
pub mod bgbb;
pub mod bgnbd;
pub mod check;
pub mod conditional;
pub mod covariates;
pub(crate) mod data;
pub mod fit;
pub mod gammagamma;
pub mod goodness;
pub mod interval;
pub mod mbgnbd;
mod model;
pub mod paretonbd;
pub mod retention;
pub(crate) mod root;
pub mod sbg;
pub mod special;
pub mod value;

pub use bgbb::BgBb;
pub use bgnbd::BgNbd;
pub use data::{DiscreteData, RepeatData, SpendData};
pub use fit::{
    Coefficient, FitOptions, FitReport, Fitter, WARM_START_CUSTOMERS, WARM_START_ROWS, WarmStart,
};
pub use gammagamma::GammaGamma;
pub use mbgnbd::MbgNbd;
pub use model::{FORMAT_VERSION, Fitted};
pub use paretonbd::ParetoNbd;
pub use value::{ClvOptions, Margin};

use crate::error::Result;

/// What the continuous-time purchase models (BG/NBD, MBG/NBD, Pareto/NBD) answer per
/// customer, given `x` repeat purchases, the last at age `t_x`, observed to age `T`
/// (all in the time unit the model was fitted in).
pub trait PurchaseModel: Sync {
    /// Model name.
    fn model_name(&self) -> &'static str;

    /// Probability the customer is still active at `T`.
    fn p_alive(&self, x: f64, t_x: f64, t: f64) -> f64;

    /// Expected purchases in `(T, T + horizon]` for a customer who is alive at `T`:
    /// depends on `x` and `T` only, which lets CLV scoring share work between customers.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Model`] when the expectation is undefined at these parameters.
    fn expected_if_alive(&self, x: f64, t: f64, horizon: f64) -> Result<f64>;

    /// Expected purchases in `(T, T + horizon]` given the customer's history.
    ///
    /// # Errors
    ///
    /// As [`PurchaseModel::expected_if_alive`].
    fn conditional_expected_purchases(
        &self,
        horizon: f64,
        x: f64,
        t_x: f64,
        t: f64,
    ) -> Result<f64> {
        Ok(self.p_alive(x, t_x, t) * self.expected_if_alive(x, t, horizon)?)
    }

    /// Expected purchases in `(0, horizon]` for a new customer (acquired at 0).
    ///
    /// # Errors
    ///
    /// As [`PurchaseModel::expected_if_alive`].
    fn expected_purchases(&self, horizon: f64) -> Result<f64>;

    /// Probability of exactly `n` repeat purchases in `(0, t]` for a new customer.
    ///
    /// # Errors
    ///
    /// As [`PurchaseModel::expected_if_alive`].
    fn prob_purchases(&self, n: u32, t: f64) -> Result<f64>;
}

macro_rules! model_marker {
    ($ty:ident) => {
        impl $ty {
            /// The fit builder (penalizer, initial values, tolerance, iterations):
            /// `fitter().penalizer(0.01).fit(&data)` gives a `Fitted` model, whose
            /// `params()` are the estimates.
            pub fn fitter() -> $crate::clv::Fitter<$ty> {
                $crate::clv::Fitter::default()
            }

            /// The fit builder under its former name.
            #[deprecated(
                since = "0.2.0",
                note = "renamed `fitter()`: `params()` is the name of a fitted model's estimates"
            )]
            pub fn params() -> $crate::clv::Fitter<$ty> {
                Self::fitter()
            }

            /// The model at known parameters, in the literature's order.
            ///
            /// # Errors
            ///
            /// [`crate::Error::Model`] for a wrong count or a non-positive value.
            pub fn from_params(params: &[f64]) -> $crate::Result<$crate::clv::Fitted<$ty>> {
                $crate::clv::Fitted::from_params(params)
            }

            /// Loads a model saved with [`crate::clv::Fitted::to_json`].
            ///
            /// # Errors
            ///
            /// As [`crate::clv::Fitted::from_json`].
            pub fn from_json(json: &str) -> $crate::Result<$crate::clv::Fitted<$ty>> {
                $crate::clv::Fitted::from_json(json)
            }
        }
    };
}
pub(crate) use model_marker;
