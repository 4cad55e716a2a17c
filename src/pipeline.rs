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
//! model = "bg-nbd"               # bg-nbd | mbg-nbd | pareto-nbd
//! spend = "gamma-gamma"          # gamma-gamma | historic
//! margin = 0.3                   # a rate, or "cost" (per customer from the cost column)
//! horizon = 52                   # time units
//!
//! [segmentation]
//! k = { Range = [2, 6] }
//! channel_mix = true
//!
//! [costs]                        # the cost model of `patronage profitability`
//! margin_rate = 0.3              # needed when the data have no cost column
//!
//! [profitability]
//! split = "median"               # median | mean | qN | x,y
//!
//! [cohorts]
//! period = "month"               # month | week
//! ```
//!
//! ```
//! use patronage::prelude::*;
//! use patronage::pipeline::Pipeline;
//! let pipeline = Pipeline::builder()
//!     .summary_options(SummaryOptions::weekly().calibration_end("2024-03-31"))
//!     .build()?;
//! let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
//! let out = pipeline.run(&tx)?;
//! assert_eq!(out.customers.height(), out.summary.n_customers());
//! assert!(out.customers.column("clv").is_ok() && out.customers.column("quadrant").is_ok());
//! # Ok::<(), patronage::Error>(())
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::clv::fit::FitOptions;
use crate::cohort::Cohorts;
use crate::error::{Error, Result};
use crate::io::{CsvOptions, InputFormat, TransactionSchema};
use crate::profitability::{
    CostModel, MatrixAxis, Profitability, Split, analyse_table, cost_table,
};
use crate::rfm::{RfmOptions, RfmTable, SegmentRules};
use crate::segmentation::{FeatureSpec, Scale, Segmentation, SegmentationSpec, segment};
use crate::stages::clv::{
    ClvOutcome, ClvSettings, MarginSource, ScoringPeriod, SpendSource, clv_table_on,
};
use crate::stages::fit::{FitOutcome, ModelKind, fit_summary, purchase_checks};
use crate::transactions::Transactions;
use crate::transactions::aggregate::{CohortPeriod, CustomerTable};
use crate::transactions::options::SummaryOptions;
use crate::transactions::summary::Summary;

/// How the input file is read (the `[input]` table). Without `format` it is chosen by
/// the file's extension as the CLI does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InputConfig {
    /// `csv`, `whitespace`, `parquet` or `ipc`; None = by extension.
    pub format: Option<String>,
    /// One-character delimiter (or `tab`) of delimited text.
    pub delimiter: Option<String>,
    /// Whether text files have a header line.
    pub header: bool,
}

impl Default for InputConfig {
    fn default() -> Self {
        InputConfig {
            format: None,
            delimiter: None,
            header: true,
        }
    }
}

/// RFM settings (the `[rfm]` table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RfmConfig {
    /// Quantile bins per score (2..=20).
    pub bins: u8,
    /// `rfm` (the R package's table), `rf-map`, or the path of a TOML/JSON rules file.
    pub segments: String,
}

impl Default for RfmConfig {
    fn default() -> Self {
        RfmConfig {
            bins: 5,
            segments: "rfm".into(),
        }
    }
}

/// CLV settings (the `[clv]` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClvConfig {
    /// Run the CLV stage.
    pub enabled: bool,
    /// `bg-nbd`, `mbg-nbd` or `pareto-nbd` (a model that predicts purchases).
    pub model: ModelKind,
    /// `gamma-gamma` or `historic`.
    pub spend: SpendSource,
    /// A margin rate (1 = revenue CLV), or `"cost"`.
    pub margin: MarginSource,
    /// Horizon in time units.
    pub horizon: f64,
    /// Discount rate per time unit.
    pub discount_rate: f64,
    /// Discounting step in time units.
    pub step: f64,
    /// Scores on the full period (default) or on the fitted (calibration) period.
    pub scoring: ScoringPeriod,
    /// Fit options of both models.
    pub fit: FitOptions,
}

impl Default for ClvConfig {
    fn default() -> Self {
        let s = ClvSettings::default();
        ClvConfig {
            enabled: true,
            model: s.model,
            spend: s.spend,
            margin: s.margin,
            horizon: s.horizon,
            discount_rate: s.discount_rate,
            step: s.step,
            scoring: ScoringPeriod::Full,
            fit: s.fit,
        }
    }
}

/// Segmentation settings (the `[segmentation]` table): the [`SegmentationSpec`] keys
/// plus `enabled` and `channel_mix`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SegmentationConfig {
    /// Run the segmentation stage.
    pub enabled: bool,
    /// Add each channel's share of a customer's purchase rows as features (needs a
    /// channel column).
    pub channel_mix: bool,
    /// Features, k, method, runs, seed.
    #[serde(flatten)]
    pub spec: SegmentationSpec,
}

/// Rejects unknown keys in `[segmentation]`. serde cannot deny unknown fields next to a
/// flattened struct (the spec's keys sit in the same table), so the keys are checked
/// against those of the default settings, which serialise every field.
fn check_segmentation_keys(table: &toml::Table) -> Result<()> {
    let Some(toml::Value::Table(given)) = table.get("segmentation") else {
        return Ok(());
    };
    let known = match toml::Value::try_from(SegmentationConfig::default()) {
        Ok(toml::Value::Table(t)) => t,
        other => {
            return Err(Error::Parse {
                what: "segmentation defaults".into(),
                reason: format!("did not serialise to a table: {other:?}"),
            });
        }
    };
    match given.keys().find(|k| !known.contains_key(*k)) {
        None => Ok(()),
        Some(key) => {
            let mut names: Vec<&str> = known.keys().map(String::as_str).collect();
            names.sort_unstable();
            Err(Error::Parse {
                what: "pipeline configuration".into(),
                reason: format!(
                    "unknown key `{key}` in [segmentation]; expected one of {}",
                    names.join(", ")
                ),
            })
        }
    }
}

impl Default for SegmentationConfig {
    fn default() -> Self {
        SegmentationConfig {
            enabled: true,
            channel_mix: false,
            spec: SegmentationSpec::default(),
        }
    }
}

/// Profitability settings (the `[profitability]` table; the cost model is `[costs]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProfitabilityConfig {
    /// Run the profitability stage.
    pub enabled: bool,
    /// Matrix split: `median`, `mean`, `qN` or `x,y`.
    pub split: String,
    /// First axis of the matrix: `margin` (gross margin %) or `contribution` (gross
    /// profit in money; use it when every customer has the same margin).
    pub axis: MatrixAxis,
    /// Activity table (customer_id, service_contacts, visits) to read.
    pub activity: Option<PathBuf>,
}

impl Default for ProfitabilityConfig {
    fn default() -> Self {
        ProfitabilityConfig {
            enabled: true,
            split: "median".into(),
            axis: MatrixAxis::Margin,
            activity: None,
        }
    }
}

/// Cohort settings (the `[cohorts]` table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CohortConfig {
    /// `month` or `week`.
    pub period: CohortPeriod,
}

/// Everything a run needs, as one TOML file.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PipelineConfig {
    /// How the input file is read.
    pub input: InputConfig,
    /// Column mapping.
    pub schema: TransactionSchema,
    /// Purchase unit, time unit, observation and calibration ends, cleaning rules.
    pub time: SummaryOptions,
    /// RFM scores and segments.
    pub rfm: RfmConfig,
    /// CLV models.
    pub clv: ClvConfig,
    /// Segmentation.
    pub segmentation: SegmentationConfig,
    /// Cost model.
    pub costs: CostModel,
    /// Matrix split and activity table.
    pub profitability: ProfitabilityConfig,
    /// Cohort period.
    pub cohorts: CohortConfig,
}

impl PipelineConfig {
    /// Parses TOML.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] for malformed TOML or an unknown key (the message names it).
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::pipeline::PipelineConfig;
    /// let c = PipelineConfig::from_toml("[clv]\nmodel = \"pareto-nbd\"\nmargin = 0.3\n")?;
    /// assert_eq!(c.clv.model, patronage::stages::fit::ModelKind::ParetoNbd);
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn from_toml(text: &str) -> Result<Self> {
        let parse_error = |e: toml::de::Error| Error::Parse {
            what: "pipeline configuration".into(),
            reason: e.to_string(),
        };
        let table: toml::Table = toml::from_str(text).map_err(parse_error)?;
        check_segmentation_keys(&table)?;
        toml::from_str(text).map_err(parse_error)
    }

    /// Reads a TOML file.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be read; as [`PipelineConfig::from_toml`].
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::pipeline::PipelineConfig;
    /// let c = PipelineConfig::from_path("datasets/cdnow/report.toml")?;
    /// assert_eq!(c.time.calibration_end.as_deref(), Some("1997-09-30"));
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&text)
    }
}

/// A stage of [`Pipeline::run_with`], reported to the progress callback as it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
            Stage::Assemble => "customer table",
        }
    }
}

/// Builds a [`Pipeline`]; nothing is checked until [`PipelineBuilder::build`].
#[derive(Debug, Clone, Default)]
pub struct PipelineBuilder {
    config: PipelineConfig,
    rfm: Option<RfmOptions>,
    clv: Option<ClvSettings>,
    split: Option<Split>,
    activity: Option<DataFrame>,
}

impl PipelineBuilder {
    /// Starts from a whole configuration (typed settings given afterwards win).
    #[must_use]
    pub fn config(mut self, config: PipelineConfig) -> Self {
        self.config = config;
        self
    }
    /// The column mapping.
    #[must_use]
    pub fn schema(mut self, schema: TransactionSchema) -> Self {
        self.config.schema = schema;
        self
    }
    /// Purchase unit, time unit, observation and calibration ends, cleaning rules.
    #[must_use]
    pub fn summary_options(mut self, options: SummaryOptions) -> Self {
        self.config.time = options;
        self
    }
    /// RFM options.
    #[must_use]
    pub fn rfm(mut self, options: RfmOptions) -> Self {
        self.rfm = Some(options);
        self
    }
    /// CLV settings (model, spend, margin, horizon, discounting).
    #[must_use]
    pub fn clv(mut self, settings: ClvSettings) -> Self {
        self.clv = Some(settings);
        self.config.clv.enabled = true;
        self
    }
    /// Which period the CLV scores use.
    #[must_use]
    pub fn clv_scoring(mut self, period: ScoringPeriod) -> Self {
        self.config.clv.scoring = period;
        self
    }
    /// Leaves out the CLV stage (and the CLV columns).
    #[must_use]
    pub fn without_clv(mut self) -> Self {
        self.config.clv.enabled = false;
        self
    }
    /// The segmentation spec.
    #[must_use]
    pub fn segmentation(mut self, spec: SegmentationSpec) -> Self {
        self.config.segmentation.spec = spec;
        self.config.segmentation.enabled = true;
        self
    }
    /// Adds channel shares as segmentation features.
    #[must_use]
    pub fn channel_mix(mut self, on: bool) -> Self {
        self.config.segmentation.channel_mix = on;
        self
    }
    /// Leaves out the segmentation.
    #[must_use]
    pub fn without_segmentation(mut self) -> Self {
        self.config.segmentation.enabled = false;
        self
    }
    /// The cost model.
    #[must_use]
    pub fn costs(mut self, model: CostModel) -> Self {
        self.config.costs = model;
        self.config.profitability.enabled = true;
        self
    }
    /// The matrix split.
    #[must_use]
    pub fn split(mut self, split: Split) -> Self {
        self.split = Some(split);
        self
    }
    /// The activity table (service contacts, visits).
    #[must_use]
    pub fn activity(mut self, activity: DataFrame) -> Self {
        self.activity = Some(activity);
        self
    }
    /// Leaves out the profitability stage.
    #[must_use]
    pub fn without_profitability(mut self) -> Self {
        self.config.profitability.enabled = false;
        self
    }
    /// The cohort period.
    #[must_use]
    pub fn cohorts(mut self, period: CohortPeriod) -> Self {
        self.config.cohorts.period = period;
        self
    }

    /// Checks every setting and returns the runnable pipeline.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] naming the setting: unparseable dates or a calibration
    /// end not before the observation end, RFM bins outside 2..=20 or an unreadable rules
    /// file, an unknown model/spend/margin, a non-positive horizon or step, a negative
    /// discount rate, an invalid segmentation spec, a negative cost rate, an unknown
    /// split, an unreadable activity table, an unknown input format.
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::pipeline::{Pipeline, PipelineConfig};
    /// let bad = PipelineConfig::from_toml("[clv]\nhorizon = -1\n")?;
    /// assert!(Pipeline::builder().config(bad).build().is_err());
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn build(self) -> Result<Pipeline> {
        let c = &self.config;
        let format = input_format(&c.input)?;
        c.time.check()?;
        let rfm = match self.rfm {
            Some(r) => r,
            None => {
                let rules = match c.rfm.segments.as_str() {
                    "rfm" => SegmentRules::rfm_package(),
                    "rf-map" => SegmentRules::rf_map(),
                    path => SegmentRules::from_path(path)?,
                };
                RfmOptions::default().bins(c.rfm.bins).segments(rules)
            }
        };
        crate::rfm::scores::check_bins(rfm.bins)?;
        rfm.segments.validate(rfm.bins)?;
        let clv = if c.clv.enabled {
            let settings = match self.clv {
                Some(s) => s,
                None => clv_settings(&c.clv)?,
            };
            check_clv(&settings)?;
            Some((settings, c.clv.scoring))
        } else {
            None
        };
        let segmentation = if c.segmentation.enabled {
            crate::segmentation::check_spec(&c.segmentation.spec)?;
            Some((c.segmentation.spec.clone(), c.segmentation.channel_mix))
        } else {
            None
        };
        let profitability = if c.profitability.enabled {
            c.costs.validate()?;
            let split = match self.split {
                Some(s) => s,
                None => c.profitability.split.parse()?,
            };
            let activity = match (self.activity, &c.profitability.activity) {
                (Some(a), _) => Some(a),
                (None, Some(path)) => Some(crate::io::read_table(path)?),
                (None, None) => None,
            };
            if let Some(a) = &activity {
                crate::profitability::activity_counts(a)?;
            }
            Some((c.costs.clone(), split, c.profitability.axis, activity))
        } else {
            None
        };
        Ok(Pipeline {
            format,
            rfm,
            clv,
            segmentation,
            profitability,
            config: self.config,
        })
    }
}

fn input_format(c: &InputConfig) -> Result<Option<InputFormat>> {
    let delimiter = match c.delimiter.as_deref() {
        None => None,
        Some("tab") | Some("\\t") => Some(b'\t'),
        Some(d) if d.len() == 1 => Some(d.as_bytes()[0]),
        Some(d) => {
            return Err(Error::invalid(
                "input.delimiter",
                format!("`{d}` is not one character (or `tab`)"),
            ));
        }
    };
    let has_header = c.header;
    Ok(match (c.format.as_deref(), delimiter) {
        (None, None) => None,
        (None | Some("csv"), Some(delimiter)) => Some(InputFormat::Csv(CsvOptions {
            delimiter,
            has_header,
        })),
        (Some("csv"), None) => Some(InputFormat::Csv(CsvOptions {
            delimiter: b',',
            has_header,
        })),
        (Some("whitespace"), None) => Some(InputFormat::Whitespace { has_header }),
        (Some("parquet"), None) => Some(InputFormat::Parquet),
        (Some("ipc"), None) => Some(InputFormat::Ipc),
        (Some(f), Some(_)) if ["whitespace", "parquet", "ipc"].contains(&f) => {
            return Err(Error::invalid(
                "input.delimiter",
                format!("a delimiter does not apply to {f} input"),
            ));
        }
        (Some(f), _) => {
            return Err(Error::invalid(
                "input.format",
                format!("`{f}` is not csv, whitespace, parquet or ipc"),
            ));
        }
    })
}

fn clv_settings(c: &ClvConfig) -> Result<ClvSettings> {
    let (model, spend, margin) = (c.model, c.spend, c.margin);
    Ok(ClvSettings {
        model,
        fit: c.fit.clone(),
        spend,
        margin,
        horizon: c.horizon,
        discount_rate: c.discount_rate,
        step: c.step,
    })
}

fn check_clv(s: &ClvSettings) -> Result<()> {
    if !s.model.predicts_purchases() {
        return Err(Error::invalid(
            "clv.model",
            format!(
                "{} does not predict purchases; use bg-nbd, mbg-nbd or pareto-nbd",
                s.model.name()
            ),
        ));
    }
    if !(s.horizon.is_finite() && s.horizon > 0.0) {
        return Err(Error::invalid(
            "clv.horizon",
            format!("{} is not a positive number of time units", s.horizon),
        ));
    }
    if !(s.step.is_finite() && s.step > 0.0) {
        return Err(Error::invalid(
            "clv.step",
            format!("{} is not a positive number of time units", s.step),
        ));
    }
    if !(s.discount_rate.is_finite() && s.discount_rate >= 0.0) {
        return Err(Error::invalid(
            "clv.discount_rate",
            format!("{} is not a rate >= 0", s.discount_rate),
        ));
    }
    if let MarginSource::Rate(r) = s.margin
        && !r.is_finite()
    {
        return Err(Error::invalid("clv.margin", format!("{r} is not finite")));
    }
    Ok(())
}

/// A checked, runnable composition of every stage. Build with [`Pipeline::builder`].
#[derive(Debug, Clone)]
pub struct Pipeline {
    format: Option<InputFormat>,
    rfm: RfmOptions,
    clv: Option<(ClvSettings, ScoringPeriod)>,
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
    /// The segmentation (model, k table, profiles).
    pub segmentation: Option<Segmentation>,
    /// The profitability matrix, whale curve, grid and cross-tab.
    pub profitability: Option<Profitability>,
    /// Acquisition cohorts.
    pub cohorts: Cohorts,
    /// What the run decided on its own (for example spend falling back to historic
    /// means when Gamma-Gamma has q <= 1).
    pub notes: Vec<String>,
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
    /// and schema.
    ///
    /// # Errors
    ///
    /// As [`Transactions::scan_format`].
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
        let format = match &self.format {
            Some(f) => f.clone(),
            None => InputFormat::detect(path, self.config.input.header)?,
        };
        Transactions::scan_format(path, &format, self.config.schema.clone())
    }

    /// Runs every stage on `tx`.
    ///
    /// # Errors
    ///
    /// Cleaning errors (strict mode, missing columns, an empty table); fit errors
    /// ([`Error::NotConverged`]); a cost model that needs a cost column the data lack
    /// (set `costs.margin_rate`); segmentation errors (fewer customers than k).
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::pipeline::Pipeline;
    /// let p = Pipeline::builder().build()?;
    /// let out = p.run(&p.scan("datasets/retail_sample.csv")?)?;
    /// assert!(out.profitability.is_some() && out.segmentation.is_some());
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn run(&self, tx: &Transactions) -> Result<PipelineOutput> {
        self.run_with(tx, &mut |_| {})
    }

    /// [`Pipeline::run`] calling `progress` as each stage starts.
    ///
    /// # Errors
    ///
    /// As [`Pipeline::run`].
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::pipeline::{Pipeline, Stage};
    /// let p = Pipeline::builder().build()?;
    /// let mut seen = Vec::new();
    /// p.run_with(&p.scan("datasets/retail_sample.csv")?, &mut |s| seen.push(s))?;
    /// assert_eq!(seen.first(), Some(&Stage::Clean));
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn run_with(
        &self,
        tx: &Transactions,
        progress: &mut dyn FnMut(Stage),
    ) -> Result<PipelineOutput> {
        let options = &self.config.time;
        let mut notes = Vec::new();
        progress(Stage::Clean);
        let clean = tx.clean(options)?;
        // One aggregation pass gives every per-customer figure: the summary, the
        // activity counts cost-to-serve prices, the channel counts and the cohorts.
        progress(Stage::Summary);
        let table = CustomerTable::from_clean(clean, options, Some(self.config.cohorts.period))?;
        progress(Stage::Cohorts);
        let cohort_table = crate::stages::cohorts::cohorts(&table)?;
        let costs = match &self.profitability {
            Some((model, _, _, activity)) => {
                progress(Stage::Costs);
                Some(cost_table(table.frame(), model, activity.as_ref())?)
            }
            None => None,
        };
        let mix = match &self.segmentation {
            Some((_, true)) => Some(crate::segmentation::channel_shares(table.frame())?),
            _ => None,
        };
        let summary = table.into_summary()?;
        progress(Stage::Rfm);
        let rfm = summary.rfm(&self.rfm)?;

        let mut customers = summary.frame().clone();
        let rfm_frame = rfm.frame();
        same_customers(&customers, rfm_frame, "rfm")?;
        for (from, to) in [
            ("r_score", "r_score"),
            ("f_score", "f_score"),
            ("m_score", "m_score"),
            ("rfm_score", "rfm_score"),
            ("segment", "rfm_segment"),
        ] {
            let mut c = rfm_frame.column(from)?.clone();
            c.rename(to.into());
            customers.with_column(c)?;
        }

        let (clv, checks) = match &self.clv {
            Some((settings, period)) => {
                progress(Stage::Clv);
                let out = match clv_table_on(&summary, settings, *period) {
                    Err(first) if settings.spend == SpendSource::GammaGamma => {
                        // The purchase fit is deterministic: when the same run with
                        // historic spend succeeds, the failure was Gamma-Gamma's.
                        let historic = ClvSettings {
                            spend: SpendSource::Historic,
                            ..settings.clone()
                        };
                        let out = clv_table_on(&summary, &historic, *period)?;
                        notes.push(format!(
                            "Gamma-Gamma could not give expected spend ({first}); CLV uses each customer's historic mean repeat spend instead"
                        ));
                        out
                    }
                    other => other?,
                };
                same_customers(&customers, &out.frame, "clv")?;
                for name in ["p_alive", "expected_purchases", "expected_spend", "clv"] {
                    customers.with_column(out.frame.column(name)?.clone())?;
                }
                progress(Stage::Checks);
                // Without a calibration end the checks' fit is the scoring fit (same
                // customers, same data): reuse it instead of fitting again.
                let checks = if summary.calibration_end().is_none() {
                    let (histogram, holdout) = purchase_checks(&out.purchase, &summary)?;
                    FitOutcome {
                        model: out.purchase.clone(),
                        excluded: None,
                        holdout,
                        histogram,
                    }
                } else {
                    fit_summary(settings.model, &summary, &settings.fit)?
                };
                (Some(out), Some(checks))
            }
            None => (None, None),
        };

        // Profitability columns first: the segment profiles use gross_profit.
        let profitability = match (costs, &self.profitability) {
            (Some(table), Some((_, split, axis, _))) => {
                progress(Stage::Profitability);
                let p = analyse_table(table, rfm_frame, *split, *axis)?;
                let mut names = vec![
                    "revenue",
                    "cogs",
                    "cost_to_serve",
                    "net_contribution",
                    "margin_pct",
                    "cts_share",
                    "quadrant",
                    "tier",
                ];
                if customers.column("gross_profit").is_err() {
                    names.insert(2, "gross_profit");
                }
                let aligned = align(&customers, &p.table, &names)?;
                for c in aligned {
                    customers.with_column(c)?;
                }
                Some(p)
            }
            _ => None,
        };
        let segmentation = match &self.segmentation {
            Some((spec, _)) => {
                progress(Stage::Segmentation);
                let mut spec = spec.clone();
                if let Some(mix) = &mix {
                    same_customers(&customers, mix, "channel mix")?;
                    for c in mix.columns().iter().skip(1) {
                        customers.with_column(c.clone())?;
                        if !spec.features.iter().any(|f| f.column == c.name().as_str()) {
                            spec.features.push(FeatureSpec {
                                column: c.name().to_string(),
                                log1p: false,
                                scale: Scale::Standardize,
                            });
                        }
                    }
                }
                let seg = segment(&customers, &spec)?;
                customers.with_column(Column::new(
                    "cluster".into(),
                    seg.assignments
                        .iter()
                        .map(|&s| s as u32)
                        .collect::<Vec<_>>(),
                ))?;
                let labels: Vec<&str> = seg
                    .assignments
                    .iter()
                    .map(|&s| {
                        seg.profiles
                            .iter()
                            .find(|p| p.segment == s)
                            .map_or("", |p| p.label.as_str())
                    })
                    .collect();
                customers.with_column(Column::new("cluster_label".into(), labels))?;
                Some(seg)
            }
            None => None,
        };

        progress(Stage::Assemble);
        Ok(PipelineOutput {
            customers,
            summary,
            rfm,
            clv,
            checks,
            segmentation,
            profitability,
            cohorts: cohort_table,
            notes,
        })
    }
}

/// Fails unless `other` has the same `customer_id` column as `base` (same order): the
/// stages computed from one summary keep its rows.
fn same_customers(base: &DataFrame, other: &DataFrame, stage: &str) -> Result<()> {
    if base
        .column("customer_id")?
        .equals_missing(other.column("customer_id")?)
    {
        Ok(())
    } else {
        Err(Error::Model {
            model: "pipeline".into(),
            reason: format!("the {stage} stage returned other customers than the summary"),
        })
    }
}

/// `columns` of `other` in the row order of `base`, matched by `customer_id` (null for
/// customers `other` lacks).
fn align(base: &DataFrame, other: &DataFrame, columns: &[&str]) -> Result<Vec<Column>> {
    let pick = |df: &DataFrame| -> Result<Vec<Column>> {
        columns.iter().map(|c| Ok(df.column(c)?.clone())).collect()
    };
    if base
        .column("customer_id")?
        .equals_missing(other.column("customer_id")?)
    {
        return pick(other);
    }
    let text = crate::io::frame::customer_ids_as_text;
    let index: HashMap<String, IdxSize> = text(other)?
        .into_iter()
        .enumerate()
        .filter_map(|(i, id)| Some((id?, i as IdxSize)))
        .collect();
    let rows: IdxCa = text(base)?
        .into_iter()
        .map(|id| id.and_then(|id| index.get(&id).copied()))
        .collect();
    pick(&other.take(&rows)?)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn align_matches_by_id_and_fills_missing_with_null() {
        let base = df!("customer_id" => ["b", "a", "c"]).unwrap();
        let other = df!("customer_id" => ["a", "b"], "v" => [1.0, 2.0]).unwrap();
        let cols = align(&base, &other, &["v"]).unwrap();
        let v: Vec<Option<f64>> = cols[0].f64().unwrap().iter().collect();
        assert_eq!(v, vec![Some(2.0), Some(1.0), None]);
    }

    #[test]
    fn config_round_trips_through_toml() {
        let c = PipelineConfig::default();
        let text = toml::to_string(&c).unwrap();
        assert_eq!(PipelineConfig::from_toml(&text).unwrap(), c);
    }

    #[test]
    fn build_names_the_bad_setting() {
        let cases = [
            (
                "[time]\ncalibration_end = \"1997-13-40\"\n",
                "calibration_end",
            ),
            (
                "[time]\nobservation_end = \"1998-01-01\"\ncalibration_end = \"1998-02-01\"\n",
                "calibration_end",
            ),
            ("[rfm]\nbins = 1\n", "bins"),
            ("[clv]\nmodel = \"gamma-gamma\"\n", "clv.model"),
            ("[clv]\nstep = 0\n", "clv.step"),
            ("[clv]\ndiscount_rate = -0.1\n", "clv.discount_rate"),
            ("[segmentation]\nk = { Range = [5, 2] }\n", "k-range"),
            ("[segmentation]\nfeatures = []\n", "features"),
            ("[costs]\nper_order = -1\n", "per_order"),
            ("[profitability]\nsplit = \"middle\"\n", "split"),
            ("[input]\nformat = \"xlsx\"\n", "input.format"),
            (
                "[input]\nformat = \"parquet\"\ndelimiter = \";\"\n",
                "input.delimiter",
            ),
        ];
        for (text, needle) in cases {
            let c = PipelineConfig::from_toml(text).unwrap();
            let err = Pipeline::builder().config(c).build().unwrap_err();
            assert!(
                matches!(&err, Error::InvalidOption { option, reason }
                    if option.contains(needle) || reason.contains(needle)),
                "{text}: `{err:?}` does not name {needle}"
            );
        }
        // A rules file that cannot be read is an I/O error naming the file.
        let c =
            PipelineConfig::from_toml("[rfm]\nsegments = \"/nonexistent/rules.toml\"\n").unwrap();
        let err = Pipeline::builder().config(c).build().unwrap_err();
        assert!(
            matches!(&err, Error::Io { path, .. } if path.ends_with("rules.toml")),
            "{err:?}"
        );
        // Typed settings: a value that is not one of the setting's own is refused while
        // the file is read, naming the key.
        for (text, key) in [
            ("[clv]\nmodel = \"nope\"\n", "model"),
            ("[clv]\nspend = \"nope\"\n", "spend"),
            ("[clv]\nmargin = \"lots\"\n", "margin"),
        ] {
            let err = PipelineConfig::from_toml(text).unwrap_err();
            assert!(
                matches!(&err, Error::Parse { reason, .. } if reason.contains(key)),
                "{text}: `{err:?}` does not name {key}"
            );
        }
    }

    #[test]
    fn typed_clv_settings_read_and_write_their_names() {
        let c = PipelineConfig::from_toml(
            "[clv]\nmodel = \"mbg-nbd\"\nspend = \"historic\"\nmargin = \"cost\"\n",
        )
        .unwrap();
        assert_eq!(c.clv.model, ModelKind::MbgNbd);
        assert_eq!(c.clv.spend, SpendSource::Historic);
        assert_eq!(c.clv.margin, MarginSource::Cost);
        let text = toml::to_string(&c).unwrap();
        assert!(
            text.contains("model = \"mbg-nbd\"") && text.contains("margin = \"cost\""),
            "{text}"
        );
        let rate = PipelineConfig::from_toml("[clv]\nmargin = 0.3\n").unwrap();
        assert_eq!(rate.clv.margin, MarginSource::Rate(0.3));
        assert_eq!(
            "0.25".parse::<MarginSource>().unwrap(),
            MarginSource::Rate(0.25)
        );
        assert!(matches!(
            "lots".parse::<MarginSource>(),
            Err(Error::InvalidOption { option, .. }) if option == "clv.margin"
        ));
        assert!(matches!(
            "nope".parse::<SpendSource>(),
            Err(Error::InvalidOption { option, .. }) if option == "clv.spend"
        ));
    }

    #[test]
    fn unknown_keys_are_parse_errors() {
        let err = PipelineConfig::from_toml("[clv]\nhorizn = 3\n").unwrap_err();
        assert!(
            matches!(&err, Error::Parse { reason, .. } if reason.contains("horizn")),
            "{err}"
        );
        // [segmentation] too, although its spec is flattened into the table.
        let err = PipelineConfig::from_toml("[segmentation]\nk_rnage = 3\n").unwrap_err();
        assert!(
            matches!(&err, Error::Parse { reason, .. } if reason.contains("k_rnage")),
            "{err}"
        );
        let ok =
            PipelineConfig::from_toml("[segmentation]\nseed = 3\nchannel_mix = true\n").unwrap();
        assert_eq!(ok.segmentation.spec.seed, 3);
    }
}
