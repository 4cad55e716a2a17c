//! The pipeline's TOML file: one settings table per stage ([`PipelineConfig`]), every
//! key optional, unknown keys refused.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::clv::fit::FitOptions;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::io::{CsvOptions, InputFormat, TransactionSchema};
use crate::profitability::{CostModel, MatrixAxis, Split};
use crate::rfm::SegmentTable;
use crate::segmentation::SegmentationSpec;
use crate::stages::clv::{ClvSettings, MarginSource, ScoringPeriod, SpendSource};
use crate::stages::compare::ModelChoice;
use crate::stages::covariates::{AcquisitionPeriod, DerivedCovariate};
use crate::stages::whatif::WhatIfGroup;
use crate::transactions::aggregate::CohortPeriod;
use crate::transactions::options::SummaryOptions;
use crate::transactions::units::TimeScale;

/// How the input file is read (the `[input]` table). Without `format` and `delimiter`
/// it is chosen by the file's extension as the CLI does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InputConfig {
    /// The file's format; None = by extension.
    pub format: Option<FileFormat>,
    /// The delimiter of delimited text; None = sniffed from the file's first lines
    /// (comma, semicolon, tab or pipe), as for a file read by its extension.
    pub delimiter: Option<Delimiter>,
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

impl InputConfig {
    /// Fails when a delimiter is given for a format that has none.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming `input.delimiter`.
    pub fn check(&self) -> Result<()> {
        match (self.format, self.delimiter) {
            (
                Some(f @ (FileFormat::Whitespace | FileFormat::Parquet | FileFormat::Ipc)),
                Some(_),
            ) => Err(Error::invalid(
                "input.delimiter",
                format!("a delimiter does not apply to {} input", String::from(f)),
            )),
            _ => Ok(()),
        }
    }

    /// How `path` is read under these settings: by its extension when neither format nor
    /// delimiter is set ([`InputFormat::detect`]); delimited text with a delimiter
    /// sniffed from the file's first lines (comma when none is found) for `csv` without
    /// a delimiter.
    ///
    /// # Errors
    /// As [`InputConfig::check`]; [`Error::Io`] when a text file cannot be opened for
    /// sniffing.
    ///
    /// # Example
    /// ```
    /// use patronage::io::InputFormat;
    /// use patronage::pipeline::{FileFormat, InputConfig};
    /// let c = InputConfig { format: Some(FileFormat::Csv), ..InputConfig::default() };
    /// // The sample is comma-separated; the delimiter is read off the file.
    /// let f = c.format_for("datasets/retail_sample.csv".as_ref())?;
    /// assert!(matches!(f, InputFormat::Csv(o) if o.delimiter == b','));
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn format_for(&self, path: &Path) -> Result<InputFormat> {
        self.check()?;
        let has_header = self.header;
        let csv = |delimiter| {
            InputFormat::Csv(CsvOptions {
                delimiter,
                has_header,
            })
        };
        Ok(match (self.format, self.delimiter) {
            (None, None) => InputFormat::detect(path, has_header)?,
            (None | Some(FileFormat::Csv), Some(Delimiter(d))) => csv(d),
            (Some(FileFormat::Csv), None) => {
                csv(crate::io::text::sniff_delimiter(path)?.unwrap_or(b','))
            }
            (Some(FileFormat::Whitespace), _) => InputFormat::Whitespace { has_header },
            (Some(FileFormat::Parquet), _) => InputFormat::Parquet,
            (Some(FileFormat::Ipc), _) => InputFormat::Ipc,
        })
    }
}

impl From<FileFormat> for String {
    fn from(f: FileFormat) -> String {
        match f {
            FileFormat::Csv => "csv",
            FileFormat::Whitespace => "whitespace",
            FileFormat::Parquet => "parquet",
            FileFormat::Ipc => "ipc",
        }
        .into()
    }
}

/// A file format named in `[input] format`: `csv` (delimited text), `whitespace`,
/// `parquet` or `ipc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum FileFormat {
    /// Delimited text (any delimiter; see [`InputConfig::delimiter`]).
    Csv,
    /// Fields separated by runs of spaces or tabs.
    Whitespace,
    /// Apache Parquet.
    Parquet,
    /// Arrow IPC (Feather v2).
    Ipc,
}

/// The one-byte field delimiter of `[input] delimiter`: one ASCII character, or `tab`
/// (also written `\t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Delimiter(pub u8);

impl std::str::FromStr for Delimiter {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "tab" | "\\t" | "\t" => Ok(Delimiter(b'\t')),
            d if d.len() == 1 => Ok(Delimiter(d.as_bytes()[0])),
            d => Err(Error::invalid(
                "input.delimiter",
                format!("`{d}` is not one ASCII character (or `tab`)"),
            )),
        }
    }
}

impl TryFrom<String> for Delimiter {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<Delimiter> for String {
    fn from(d: Delimiter) -> String {
        match d.0 {
            b'\t' => "tab".into(),
            b => char::from(b).to_string(),
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
    pub segments: SegmentTable,
}

impl Default for RfmConfig {
    fn default() -> Self {
        RfmConfig {
            bins: 5,
            segments: SegmentTable::Rfm,
        }
    }
}

/// CLV settings (the `[clv]` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClvConfig {
    /// Run the CLV stage.
    pub enabled: bool,
    /// `bg-nbd`, `mbg-nbd` or `pareto-nbd` (a model that predicts purchases), or `auto`:
    /// the model [`compare_models`](crate::stages::compare::compare_models) chooses on
    /// the fitted period (holdout MAE with a calibration end, else BIC), whose comparison
    /// the output carries ([`crate::pipeline::PipelineOutput::model_comparison`]).
    pub model: ModelChoice,
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
    /// Intervals at this level from parameter uncertainty (strictly between 0 and 1,
    /// e.g. 0.9); none when absent. See `crate::stages::interval`.
    pub interval: Option<f64>,
    /// Parameter draws for the intervals (at least 2; default 500). Needs `interval`.
    pub draws: Option<usize>,
    /// Draw by refitting on resampled customers instead of from the asymptotic normal.
    /// Needs `interval`.
    pub bootstrap: bool,
    /// Seed of the draws (default 17). Needs `interval`.
    pub seed: Option<u64>,
    /// A per-customer covariate table (CSV, Parquet or Arrow IPC with a `customer_id`
    /// column): the purchase model (`bg-nbd` or `pareto-nbd`) and Gamma-Gamma are fitted
    /// with its `covariate_cols` and every customer is scored at their own parameters
    /// (see [`crate::stages::covariates`]). Needs `covariate_cols`.
    pub covariates: Option<PathBuf>,
    /// The covariate table's columns to use: numbers as they are, text as dummies
    /// against the most frequent level. Needs `covariates`.
    pub covariate_cols: Vec<String>,
    /// Covariates derived from the log (`channel`, `cohort`, `first-order-value`; see
    /// [`crate::stages::covariates::DerivedCovariate`]), with or without a table: the
    /// purchase model and Gamma-Gamma are fitted with them as with `covariates`.
    pub derived_covariates: Vec<DerivedCovariate>,
    /// The acquisition cohort's period (`month`, `quarter`, `year`; default `quarter`).
    /// Needs `cohort` among `derived_covariates`.
    pub acquisition_period: Option<AcquisitionPeriod>,
}

impl Default for ClvConfig {
    fn default() -> Self {
        let s = ClvSettings::default();
        ClvConfig {
            enabled: true,
            model: ModelChoice::Fixed(s.model),
            spend: s.spend,
            margin: s.margin,
            horizon: s.horizon,
            discount_rate: s.discount_rate,
            step: s.step,
            scoring: ScoringPeriod::default(),
            fit: s.fit,
            interval: None,
            draws: None,
            bootstrap: false,
            seed: None,
            covariates: None,
            covariate_cols: Vec::new(),
            derived_covariates: Vec::new(),
            acquisition_period: None,
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProfitabilityConfig {
    /// Run the profitability stage.
    pub enabled: bool,
    /// Matrix split: `median`, `mean`, `qN` or `x,y`.
    pub split: Split,
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
            split: Split::Median,
            axis: MatrixAxis::Margin,
            activity: None,
        }
    }
}

/// Cohort settings (the `[cohorts]` table).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CohortConfig {
    /// `month` or `week`.
    pub period: CohortPeriod,
    /// The log is of contract payments (a subscription, a membership): also fit the
    /// contractual-churn (sBG) model to the acquisition cohorts' survival
    /// ([`crate::stages::churn::contractual_churn`]), shown in the report's
    /// "Contractual retention" section and `report.json`'s `churn`. Off by default: on
    /// a non-contractual log, a customer who has not bought since some month has not
    /// cancelled anything.
    pub contractual: bool,
    /// With `contractual`: the discount rate a year at which the residual lifetimes by
    /// renewal count are valued (0.1 = 10%, the default, Fader and Hardie's; turned
    /// into a rate per cohort period: [`crate::stages::churn::Discounting`]).
    pub annual_discount_rate: f64,
}

impl Default for CohortConfig {
    fn default() -> Self {
        CohortConfig {
            period: CohortPeriod::default(),
            contractual: false,
            annual_discount_rate: 0.1,
        }
    }
}

/// What the report writes besides its fixed files (the `[report]` table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ReportConfig {
    /// Also write the per-customer table as `customers.csv` (`customers.parquet` is
    /// always written). Off by default: at millions of customers the CSV takes longer
    /// to write than the rest of the report and is several times the Parquet's size.
    pub csv: bool,
    /// Points of the whale curve in `whale.csv`: at most this many, evenly spaced by
    /// customer rank, always with the first and the last (the exact concentration
    /// figures are in report.json). At least 2.
    pub whale_points: usize,
}

impl Default for ReportConfig {
    fn default() -> Self {
        ReportConfig {
            csv: false,
            whale_points: 1_000,
        }
    }
}

/// The retention what-if (the `[whatif]` table): with `retention` set, the pipeline
/// moves the purchase model's dropout until the retention rate is that many points
/// higher and re-scores every customer ([`crate::stages::whatif::whatif_on`], on the CLV
/// stage's own scores), shown in the report's "Retention what-if" section and
/// `report.json`'s `whatif`. Off by default: it scores every customer a second time.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct WhatIfConfig {
    /// The change of the retention rate in percentage points (5 = from 62% to 67%);
    /// `None`: no what-if.
    pub retention: Option<f64>,
    /// The period the retention rate is measured over, in the time unit
    /// (`[time] time_unit`); `None`: a year (365 days, 52 weeks, 12 months or 1 year).
    pub period: Option<f64>,
    /// The breakdown: `quadrant` or `segment` (RFM); `None`: by quadrant when the
    /// profitability matrix runs, else by RFM segment.
    pub by: Option<WhatIfGroup>,
}

impl WhatIfConfig {
    /// The period in time units: `period`, or a year in `unit`.
    ///
    /// # Example
    /// ```
    /// use patronage::pipeline::WhatIfConfig;
    /// use patronage::transactions::units::TimeScale;
    /// assert_eq!(WhatIfConfig::default().period_in(TimeScale::Week), 52.0);
    /// ```
    pub fn period_in(&self, unit: TimeScale) -> f64 {
        self.period.unwrap_or(match unit {
            TimeScale::Day => 365.0,
            TimeScale::Week => 52.0,
            TimeScale::Month => 12.0,
            TimeScale::Year => 1.0,
        })
    }
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
    /// Optional report files.
    pub report: ReportConfig,
    /// The retention what-if (off unless `retention` is set).
    pub whatif: WhatIfConfig,
    /// The engine of phase 1 (`[engine] kind = "memory"` by default, or `"datafusion"`
    /// with its settings; see [`crate::engine`]).
    pub engine: Engine,
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
        let text = crate::error::read_text(path)?;
        Self::from_toml(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::fit::ModelKind;

    #[test]
    fn config_round_trips_through_toml() {
        let c = PipelineConfig::default();
        let text = toml::to_string(&c).unwrap();
        assert_eq!(PipelineConfig::from_toml(&text).unwrap(), c);
    }

    #[test]
    fn typed_clv_settings_read_and_write_their_names() {
        let c = PipelineConfig::from_toml(
            "[clv]\nmodel = \"mbg-nbd\"\nspend = \"historic\"\nmargin = \"cost\"\n",
        )
        .unwrap();
        assert_eq!(c.clv.model, ModelKind::MbgNbd);
        let auto = PipelineConfig::from_toml("[clv]\nmodel = \"auto\"\n").unwrap();
        assert_eq!(auto.clv.model, ModelChoice::Auto);
        assert!(toml::to_string(&auto).unwrap().contains("model = \"auto\""));
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
    fn text_settings_read_back_what_they_write() {
        let c = PipelineConfig::from_toml(
            "[input]\nformat = \"csv\"\ndelimiter = \"tab\"\n[rfm]\nsegments = \"rf-map\"\n[profitability]\nsplit = \"q75\"\n",
        )
        .unwrap();
        assert_eq!(c.input.format, Some(FileFormat::Csv));
        assert_eq!(c.input.delimiter, Some(Delimiter(b'\t')));
        assert_eq!(c.rfm.segments, SegmentTable::RfMap);
        assert_eq!(c.profitability.split, Split::Quantile(0.75));
        assert_eq!(
            PipelineConfig::from_toml(&toml::to_string(&c).unwrap()).unwrap(),
            c
        );
        for split in [
            Split::Median,
            Split::Mean,
            Split::Quantile(0.3),
            Split::Values(25.5, -3.0),
        ] {
            assert_eq!(split.to_string().parse::<Split>().unwrap(), split);
        }
        let file = PipelineConfig::from_toml("[rfm]\nsegments = \"my rules.toml\"\n").unwrap();
        assert_eq!(
            file.rfm.segments,
            SegmentTable::File("my rules.toml".into())
        );
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
