//! The integration tests, one binary: each file is a module (one link of the crate and
//! polars instead of one per file, which cut the test build's disk use and link time).

mod arrow_interop;
mod bad_input;
mod cdnow_summary;
mod churn;
mod cli;
mod cli_stages;
mod clv_checks;
mod clv_conditional;
mod clv_covariates;
mod clv_lifetimes;
mod clv_properties;
mod clv_reference;
mod covariates;
mod derived_covariates;
mod determinism;
#[cfg(feature = "ballista")]
mod engine_ballista;
#[cfg(feature = "datafusion")]
mod engine_datafusion;
#[cfg(feature = "datafusion")]
mod engine_parts;
mod frame_free;
mod hyp2f1_reference;
mod intervals;
mod k_rule;
mod malformed_inputs;
mod model_compare;
mod out_of_core;
mod pipeline;
mod profitability;
mod readers;
mod rows_accounted;
mod segmentation;
mod summary_rules;
mod targeting_cohorts;
mod tracking;
mod whale_curve;
mod whatif;

/// The example cost-to-serve rates of `datasets/costs_example.toml` (the crate's own
/// default prices no activity, and the profitability stage refuses it).
pub(crate) fn example_costs() -> patronage::profitability::CostModel {
    patronage::profitability::CostModel::from_path("datasets/costs_example.toml").unwrap()
}
