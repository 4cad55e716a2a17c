//! One run through every stage: the transactions are cleaned and aggregated once, in one
//! pass that gives the customer table (the summary, the activity counts of cost-to-serve,
//! the channel mix and the cohort activity);
//! the summary feeds the RFM scores, the CLV models and their checks, the segmentation and
//! the profitability matrix. The result is one typed [`PipelineOutput`] whose
//! `customers` table has one row per customer with every figure.
//!
//! Configure it with the builder or from one TOML file ([`PipelineConfig`]; every key is
//! optional):
//!
//! ```toml
//! [time]
//! purchase_unit = "day"          # day | week | month
//! time_unit = "week"             # day | week | month | year
//! calibration_end = "1997-09-30" # adds the holdout check
//!
//! [rfm]
//! bins = 5
//! segments = "rfm"               # rfm | rf-map | a rules file (TOML/JSON)
//!
//! [clv]
//! model = "bg-nbd"               # bg-nbd | mbg-nbd | pareto-nbd | auto (chosen by stages::compare)
//! spend = "gamma-gamma"          # gamma-gamma | historic
//! margin = 0.3                   # a rate, or "cost" (per customer from the cost column)
//! horizon = 52                   # time units
//!
//! [segmentation]
//! k = { Range = [2, 6] }
//! channel_mix = true
//!
//! [costs]                        # the cost model of `patronage profitability`
//! per_order = 2.5                # rates left out are zero; with none, profitability
//! per_delivery = 4.0             # is skipped (the crate invents no costs)
//! margin_rate = 0.3              # needed when the data have no cost column
//!
//! [profitability]
//! split = "median"               # median | mean | qN | x,y
//!
//! [cohorts]
//! period = "month"               # month | week
//!
//! [whatif]                       # off unless retention is set
//! retention = 5                  # points of retention (62% -> 67%)
//! period = 52                    # time units the rate is measured over; default a year
//! by = "quadrant"                # quadrant | segment; default quadrant with profitability
//!
//! [report]
//! csv = false                    # customers.csv beside customers.parquet
//! whale_points = 1000            # points of the whale curve in whale.csv
//! ```
//!
//! ```
//! use patronage::prelude::*;
//! use patronage::pipeline::Pipeline;
//! let pipeline = Pipeline::builder()
//!     .summary_options(SummaryOptions::weekly().calibration_end("2024-03-31"))
//!     .costs(patronage::profitability::CostModel::from_path("datasets/costs_example.toml")?)
//!     .build()?;
//! let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
//! let out = pipeline.run(&tx)?;
//! assert_eq!(out.customers.height(), out.summary.n_customers());
//! assert!(out.customers.column("clv").is_ok() && out.customers.column("quadrant").is_ok());
//! # Ok::<(), patronage::Error>(())
//! ```

mod builder;
mod config;
mod run;

pub use builder::PipelineBuilder;
pub use config::{
    ClvConfig, CohortConfig, Delimiter, FileFormat, InputConfig, PipelineConfig,
    ProfitabilityConfig, ReportConfig, RfmConfig, SegmentationConfig, WhatIfConfig,
};

use std::path::Path;

use polars::prelude::*;

use crate::cohort::Cohorts;
use crate::error::Result;
use crate::profitability::{CostModel, MatrixAxis, Profitability, Split};
use crate::rfm::{RfmOptions, RfmTable};
use crate::segmentation::{Segmentation, SegmentationSpec};
use crate::stages::clv::{ClvOutcome, ClvSettings, ScoringPeriod};
use crate::stages::compare::ModelComparison;
use crate::stages::fit::FitOutcome;
use crate::transactions::Transactions;
use crate::transactions::summary::Summary;

/// A stage of [`Pipeline::run_with`], reported to the progress callback as it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Stage {
    /// Reading and cleaning the transactions.
    Clean,
    /// Acquisition cohorts.
    Cohorts,
    /// Cost-to-serve per customer.
    Costs,
    /// The per-customer summary.
    Summary,
    /// RFM scores and segments.
    Rfm,
    /// Fitting and scoring the CLV models.
    Clv,
    /// Model checks.
    Checks,
    /// Clustering.
    Segmentation,
    /// Matrix, whale curve, pyramid.
    Profitability,
    /// The retention what-if (`[whatif]`).
    WhatIf,
    /// Joining everything into the customer table.
    Assemble,
}

impl Stage {
    /// A short description.
    pub fn describe(self) -> &'static str {
        match self {
            Stage::Clean => "reading and cleaning transactions",
            Stage::Cohorts => "acquisition cohorts",
            Stage::Costs => "cost-to-serve",
            Stage::Summary => "aggregating customers (summary, activity, channels, cohorts)",
            Stage::Rfm => "RFM scores",
            Stage::Clv => "fitting and scoring CLV models",
            Stage::Checks => "model checks",
            Stage::Segmentation => "segmentation",
            Stage::Profitability => "profitability matrix",
            Stage::WhatIf => "retention what-if",
            Stage::Assemble => "customer table",
        }
    }
}

/// A checked, runnable composition of every stage. Build with [`Pipeline::builder`].
#[derive(Debug, Clone)]
pub struct Pipeline {
    rfm: RfmOptions,
    clv: Option<(ClvSettings, ScoringPeriod)>,
    /// `[clv] model = "auto"`: the purchase model is chosen by `compare_models` at run time.
    clv_auto: bool,
    segmentation: Option<(SegmentationSpec, bool)>,
    profitability: Option<(CostModel, Split, MatrixAxis, Option<DataFrame>)>,
    config: PipelineConfig,
}

/// Everything a run produces.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PipelineOutput {
    /// One row per customer, sorted by `customer_id`: the summary columns; RFM
    /// `r_score, f_score, m_score, rfm_score, rfm_segment`; with CLV `p_alive,
    /// expected_purchases, expected_spend, clv`; with profitability `revenue, cogs,
    /// cost_to_serve, net_contribution, margin_pct, cts_share, quadrant, tier` (and
    /// `gross_profit` when the summary has none: margin_rate x revenue); with
    /// segmentation `cluster, cluster_label` (and `channel_share_<channel>` with the channel
    /// mix).
    pub customers: DataFrame,
    /// The per-customer summary (with the cleaning report).
    pub summary: Summary,
    /// RFM scores, segments and the segment summary.
    pub rfm: RfmTable,
    /// The CLV table and the fitted purchase and spend models.
    pub clv: Option<ClvOutcome>,
    /// The purchase model fitted on the fitted period (the calibration period when there
    /// is one) with its period-transactions histogram and holdout check.
    pub checks: Option<FitOutcome>,
    /// With `[clv] model = "auto"`: the comparison of BG/NBD, MBG/NBD and Pareto/NBD on
    /// the fitted period whose chosen model the CLV stage used.
    pub model_comparison: Option<ModelComparison>,
    /// The segmentation (model, k table, profiles).
    pub segmentation: Option<Segmentation>,
    /// The profitability matrix, whale curve, grid and cross-tab.
    pub profitability: Option<Profitability>,
    /// Acquisition cohorts.
    pub cohorts: Cohorts,
    /// With `[whatif] retention`: the retention what-if on the CLV stage's model (by
    /// quadrant or RFM segment). Its per-customer frame is left empty: the scenario's
    /// CLV is the `customers` column `clv_whatif`.
    pub whatif: Option<crate::stages::whatif::WhatIf>,
    /// With `[cohorts] contractual = true`: the sBG model fitted to the acquisition
    /// cohorts' survival (skipped, with the reason under [`Stage::Cohorts`], when no
    /// cohort is observed past its first period or the fit has no maximum).
    pub churn: Option<crate::stages::churn::ContractualChurn>,
    /// What the run decided on its own (for example spend falling back to historic
    /// means when Gamma-Gamma has q <= 1).
    pub notes: Vec<String>,
    /// Stages the configuration asked for that the data cannot support, each with the
    /// reason and the setting that would enable it (profitability without a cost column
    /// or a margin rate, say). The other stages ran.
    pub skipped: Vec<SkippedStage>,
    /// Every assumption in force that the data do not give: the margin CLV applies, the
    /// cost-to-serve rates, a gross margin standing in for a cost column.
    pub assumptions: Vec<String>,
    /// The engine that ran phase 1, with its blocks and spills.
    pub engine: crate::engine::EngineRun,
}

impl PipelineOutput {
    /// Why `stage` has no result: its [`SkippedStage`] reason when the data could not
    /// support it, else that the configuration switched it off.
    ///
    /// # Example
    /// ```
    /// use patronage::pipeline::{Pipeline, Stage};
    /// let p = Pipeline::builder().without_segmentation().build()?;
    /// let out = p.run(&p.scan("datasets/retail_sample.csv")?)?;
    /// assert_eq!(out.not_run_reason(Stage::Segmentation), "segmentation is switched off");
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn not_run_reason(&self, stage: Stage) -> String {
        self.skipped.iter().find(|s| s.stage == stage).map_or_else(
            || format!("{} is switched off", stage.describe()),
            |s| s.reason.clone(),
        )
    }
}

/// A stage of the run that did not run, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct SkippedStage {
    /// The stage.
    pub stage: Stage,
    /// Why, naming the TOML key (and the CLI flag) that would enable it.
    pub reason: String,
}

impl Pipeline {
    /// A builder with every stage on and the defaults of each stage.
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::pipeline::Pipeline;
    /// let p = Pipeline::builder().without_profitability().build()?;
    /// assert!(!p.config().profitability.enabled);
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn builder() -> PipelineBuilder {
        PipelineBuilder::default()
    }

    /// A pipeline from a TOML configuration file.
    ///
    /// # Errors
    ///
    /// As [`PipelineConfig::from_path`] and [`PipelineBuilder::build`].
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::pipeline::Pipeline;
    /// let p = Pipeline::from_config_path("datasets/cdnow/report.toml")?;
    /// assert!(p.config().clv.enabled);
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn from_config_path(path: impl AsRef<Path>) -> Result<Self> {
        Pipeline::builder()
            .config(PipelineConfig::from_path(path)?)
            .build()
    }

    /// The configuration the pipeline was built from (typed settings given to the
    /// builder are not echoed here).
    pub fn config(&self) -> &PipelineConfig {
        &self.config
    }

    /// Scans `path` with the configured input format (by extension when none is set)
    /// and schema; a directory or a glob is a Parquet dataset
    /// ([`Transactions::scan_parquet_dataset`]).
    ///
    /// # Errors
    ///
    /// As [`Transactions::scan_format`] and [`Transactions::scan_parquet_dataset`].
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::pipeline::Pipeline;
    /// let p = Pipeline::builder().build()?;
    /// let tx = p.scan("datasets/retail_sample.csv")?;
    /// assert!(tx.schema().channel.is_some());
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn scan(&self, path: impl AsRef<Path>) -> Result<Transactions> {
        let path = path.as_ref();
        if crate::io::dataset::is_dataset(path) {
            return Transactions::scan_parquet_dataset(path, self.config.schema.clone());
        }
        let format = self.config.input.format_for(path)?;
        Transactions::scan_format(path, &format, self.config.schema.clone())
    }

    /// Runs every stage on `tx`.
    ///
    /// # Errors
    ///
    /// Cleaning errors (strict mode, missing columns, an empty table); fit errors
    /// ([`crate::Error::NotConverged`]); a cost model that needs a cost column the data lack
    /// (set `costs.margin_rate`); segmentation errors (fewer customers than k).
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::pipeline::Pipeline;
    /// use patronage::profitability::CostModel;
    /// let p = Pipeline::builder()
    ///     .costs(CostModel::from_path("datasets/costs_example.toml")?)
    ///     .build()?;
    /// let out = p.run(&p.scan("datasets/retail_sample.csv")?)?;
    /// assert!(out.profitability.is_some() && out.segmentation.is_some());
    /// // The crate invents no cost-to-serve rates: without them the stage is skipped.
    /// let bare = Pipeline::builder().build()?.run(&p.scan("datasets/retail_sample.csv")?)?;
    /// assert!(bare.profitability.is_none() && bare.skipped.len() == 1);
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn run(&self, tx: &Transactions) -> Result<PipelineOutput> {
        self.run_with(tx, &mut |_| {})
    }
}

#[cfg(feature = "arrow")]
impl PipelineOutput {
    /// The pipeline's per-customer table ([`PipelineOutput::customers`]: summary, RFM,
    /// CLV, profitability and cluster columns) as arrow-rs record batches (feature
    /// `arrow`), through [`record_batches_from_frame`](crate::io::arrow::record_batches_from_frame).
    ///
    /// # Errors
    /// As [`record_batches_from_frame`](crate::io::arrow::record_batches_from_frame).
    ///
    /// # Example
    /// ```
    /// use patronage::pipeline::Pipeline;
    /// let p = Pipeline::builder().build()?;
    /// let out = p.run(&p.scan("datasets/retail_sample.csv")?)?;
    /// let batches = out.customers_record_batches()?;
    /// let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    /// assert_eq!(rows, out.customers.height());
    /// assert!(batches[0].schema().field_with_name("clv").is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn customers_record_batches(&self) -> Result<Vec<arrow_array::RecordBatch>> {
        crate::io::arrow::record_batches_from_frame(&self.customers)
    }
}
