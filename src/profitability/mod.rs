//! Profitability: the whale curve, profit concentration and the customer pyramid.
//!
//! Cost-to-serve, the profit-contribution vs cost-to-serve matrix, targeting and cohorts
//! (issue #5) build on these; they are not here yet.

mod whale;

pub use whale::{Tier, WhaleCurve, pyramid, whale_curve};
