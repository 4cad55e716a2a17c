//! The stage layer: one function per stage of the analysis, typed settings in and a
//! typed result out, between the two phases below it and the applications above it.
//!
//! Phase 1 (`transactions`) turns transaction rows into the customer table (a
//! [`CustomerTable`], whose summary columns are the [`Summary`]); phase 2 (`rfm`, `clv`,
//! `segmentation`, `profitability`, `targeting`, `cohort`) works on customer columns
//! (slices, or a frame of customers) and never sees a transaction or a summary. A stage
//! joins them: it reads the table's columns, calls the customer-level code and returns
//! one typed outcome. The pipeline (`crate::pipeline`) is their
//! sequence over one cleaning pass, and every CLI command calls the same function as the
//! pipeline step it matches, so a command's output and the pipeline's agree by
//! construction.
//!
//! | stage | function | settings → result | CLI |
//! |---|---|---|---|
//! | summary | [`summary::summary`], [`summary::summary_partitioned`], [`summary::summary_of`] | [`SummaryOptions`](crate::transactions::options::SummaryOptions), a cohort period → [`CustomerTable`] | `summary` (and the first step of every command) |
//! | RFM | [`Summary::rfm`] | [`RfmOptions`](crate::rfm::RfmOptions) → [`RfmTable`](crate::rfm::RfmTable) | `rfm` |
//! | model fit | [`fit::fit_summary`], [`fit::fit_table`] | [`fit::ModelKind`], [`FitOptions`](crate::clv::FitOptions) → [`fit::FitOutcome`] | `fit` |
//! | model choice | [`compare::compare_models`] | [`FitOptions`](crate::clv::FitOptions) → [`compare::ModelComparison`] (BG/NBD, MBG/NBD, Pareto/NBD scored; one chosen by holdout MAE, else BIC) | `fit compare` |
//! | CLV | [`clv::clv_table`], [`clv::clv_table_on`], [`clv::clv_table_with`] | [`clv::ClvSettings`] → [`clv::ClvOutcome`] (with notes: Gamma-Gamma falling back to historic spend; with `interval`, the bounds of [`interval`]) | `clv` |
//! | contractual churn | [`churn::read_survival`], [`churn::fit_survival`] | a survival table ([`SurvivalData`](crate::clv::sbg::SurvivalData)), [`FitOptions`](crate::clv::FitOptions) → [`churn::ChurnOutcome`] (the sBG model) | `fit sbg --survival` |
//! | cohorts | [`cohorts::cohorts`] | a [`CustomerTable`] made with a cohort period → [`Cohorts`](crate::cohort::Cohorts) | `cohorts` |
//! | profitability | [`profitability::analyse`], [`profitability::customer_frame`] | [`CostModel`](crate::profitability::CostModel), [`Split`](crate::profitability::Split) → [`Profitability`](crate::profitability::Profitability) | `profitability` |
//! | segmentation | [`segment::segment`] | [`segment::SegmentSettings`] (spec, channel mix), optional [`clv::ClvOutcome`] → [`segment::SegmentOutcome`] | `segment` |
//! | retention what-if | [`whatif::whatif`] | [`whatif::WhatIfSettings`] (points, period, breakdown, cost model) → [`whatif::WhatIf`] | `whatif` |
//! | tracking check | [`tracking::tracking`] | a purchase model and a [`Summary`] → [`tracking::TrackingCheck`] (actual vs expected repeat purchases over calendar time) | `fit` (JSON `tracking`), `report` |
//! | targeting | [`target::target`] | [`clv::ClvSettings`], [`TargetBy`](crate::targeting::TargetBy), [`Cut`](crate::targeting::Cut) → [`target::TargetOutcome`] | `target` |
//!
//! The model inputs a summary gives ([`Summary::repeat_data`], [`Summary::spend_data`],
//! [`Summary::discrete_data`], [`Summary::repeat_columns`]) are defined here too, as
//! `impl Summary` blocks, so that `clv` builds its data from slices only.
//!
//! ```
//! use patronage::prelude::*;
//! use patronage::stages::clv::{clv_table, ClvSettings, SpendSource};
//! let s = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?
//!     .summary(&SummaryOptions::weekly())?;
//! let rfm = s.rfm(&RfmOptions::default())?;
//! let settings = ClvSettings { spend: SpendSource::Historic, ..ClvSettings::default() };
//! let clv = clv_table(&s, &settings)?;
//! assert_eq!(rfm.frame().height(), clv.frame.height());
//! # Ok::<(), patronage::Error>(())
//! ```
//!
//! [`Summary`]: crate::transactions::summary::Summary
//! [`CustomerTable`]: crate::transactions::aggregate::CustomerTable
//! [`Summary::rfm`]: crate::transactions::summary::Summary::rfm
//! [`Summary::repeat_data`]: crate::transactions::summary::Summary::repeat_data
//! [`Summary::spend_data`]: crate::transactions::summary::Summary::spend_data
//! [`Summary::discrete_data`]: crate::transactions::summary::Summary::discrete_data
//! [`Summary::repeat_columns`]: crate::transactions::summary::Summary::repeat_columns

pub mod churn;
pub mod clv;
pub mod cohorts;
pub mod compare;
pub mod covariates;
pub mod fit;
mod inputs;
pub mod interval;
pub mod parts;
pub mod profile;
pub mod profitability;
mod rfm;
pub mod segment;
pub mod summary;
pub mod target;
pub mod tracking;
pub mod whatif;
