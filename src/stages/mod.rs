//! The stage layer: one function per stage (summary, rfm, fit, clv, segment,
//! profitability, target, cohorts, report), typed settings in and a typed result out.
//! The pipeline is their sequence, and every CLI command calls the same function, so a
//! stage behaves the same whichever door it is called through.
//!
//! Stages are where the two phases meet: they take the customer table that phase 1
//! (`crate::transactions`) aggregates from the rows and hand its columns to the
//! customer-level modules (`rfm`, `clv`, `segmentation`, `profitability`, `targeting`,
//! `cohort`), which never see transactions.

pub mod cohorts;
pub mod profitability;
