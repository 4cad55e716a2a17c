//! The covariate stage: a per-customer covariate table read from a file, joined on
//! `customer_id` to a summary's fitted customers, and BG/NBD, Pareto/NBD or Gamma-Gamma
//! fitted with it ([`crate::clv::covariates`]); what `patronage fit
//! bg-nbd|pareto-nbd|gamma-gamma --covariates FILE --covariate-cols a,b` runs.
//!
//! Numeric (and boolean) columns enter as they are; a text column becomes 0/1 dummies
//! named `column=level`, one per level but the base level, which is the most frequent
//! level among the fitted customers (ties broken by name) and is reported.
//!
//! The CLV stage's covariates ([`CovariateSettings`], `[clv] covariates` and
//! `covariate_cols`) go through `clv_scores`: the purchase model and Gamma-Gamma fitted
//! with the same covariates on the scored customers, and every customer scored at their
//! own parameters ([`crate::clv::covariates::score`]).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use polars::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::clv::covariates::draws::covariate_draws;
use crate::clv::covariates::intervals::covariate_score_intervals;
use crate::clv::covariates::{
    CovariateFit, CovariateModel, CovariateRepeatData, CovariateSpendData, Covariates,
};
use crate::clv::fit::Model;
use crate::clv::interval::{IntervalOptions, ScoreIntervals};
use crate::clv::value::{ClvOptions, CustomerInputs, Scores};
use crate::clv::{BgNbd, FitOptions, Fitted, GammaGamma, ParetoNbd, PurchaseModel, SpendData};
use crate::error::{Error, Result};
use crate::io::frame::{column, customer_ids_as_text};
use crate::stages::fit::{AnyFitted, ModelKind};
use crate::stages::interval::{FailedRefits, ParameterInterval, covariate_parameter_rows};
use crate::transactions::summary::Summary;

/// One covariate column as read: numbers, or text levels (None = missing).
#[derive(Debug, Clone, PartialEq)]
enum Values {
    Numeric(Vec<Option<f64>>),
    Text(Vec<Option<String>>),
}

/// One covariate column: its name, its values and where each customer's value is.
#[derive(Debug, Clone, PartialEq)]
struct TableColumn {
    name: String,
    values: Values,
    /// Customer id → index into `values`; shared by the columns of one source (a file,
    /// or the summary for the derived covariates), which may hold other customers.
    rows: Arc<HashMap<String, usize>>,
}

/// A per-customer covariate table: the requested columns by customer id, from a file
/// ([`CovariateTable::read`]), derived from the log ([`DerivedCovariates::table`]), or
/// both ([`CovariateTable::join`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CovariateTable {
    columns: Vec<TableColumn>,
}

/// A design matrix for given customers, with the base level of each text column.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Design {
    /// The checked design matrix, one row per customer asked for.
    pub covariates: Covariates,
    /// Text column → its base level (the level without a dummy).
    pub base_levels: BTreeMap<String, String>,
}

impl CovariateTable {
    /// Reads `columns` and `customer_id` from a CSV, Parquet or Arrow IPC file.
    ///
    /// # Errors
    ///
    /// As [`crate::io::read_table`]; [`Error::InvalidOption`] (option `covariate-cols`)
    /// for no columns; [`Error::MissingColumn`] for a column (or `customer_id`) the file
    /// lacks; [`Error::WrongType`] for a column neither numeric, boolean nor text;
    /// [`Error::BadRow`] for a customer id that appears twice.
    ///
    /// # Example
    ///
    /// ```no_run
    /// use patronage::stages::covariates::CovariateTable;
    /// let table = CovariateTable::read("covariates.csv", &["channel".into(), "age".into()])?;
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn read(path: impl AsRef<Path>, columns: &[String]) -> Result<Self> {
        Self::from_frame(&crate::io::read_table(path)?, columns)
    }

    /// As [`CovariateTable::read`] from a frame.
    ///
    /// # Errors
    ///
    /// As [`CovariateTable::read`].
    pub fn from_frame(df: &DataFrame, columns: &[String]) -> Result<Self> {
        if columns.is_empty() {
            return Err(Error::invalid(
                "covariate-cols",
                "name at least one covariate column",
            ));
        }
        column(df, "customer_id")?;
        let ids = customer_ids_as_text(df)?;
        let mut rows = HashMap::with_capacity(ids.len());
        for (i, id) in ids.into_iter().enumerate() {
            let Some(id) = id else { continue };
            if rows.insert(id.clone(), i).is_some() {
                return Err(Error::BadRow {
                    row: i as u64 + 1,
                    column: "customer_id".into(),
                    reason: "customer id appears more than once in the covariate table".into(),
                    value: id,
                });
            }
        }
        let rows = Arc::new(rows);
        let mut out = Vec::with_capacity(columns.len());
        for name in columns {
            let col = column(df, name)?;
            let dtype = col.dtype();
            let values = if dtype.is_primitive_numeric() || dtype.is_bool() {
                let c = col.cast(&DataType::Float64)?;
                Values::Numeric(c.f64()?.iter().collect())
            } else if matches!(dtype, DataType::String) {
                Values::Text(col.str()?.iter().map(|v| v.map(str::to_string)).collect())
            } else {
                return Err(Error::WrongType {
                    column: name.clone(),
                    found: dtype.to_string(),
                    expected: "a number, boolean or text".into(),
                });
            };
            out.push(TableColumn {
                name: name.clone(),
                values,
                rows: Arc::clone(&rows),
            });
        }
        Ok(CovariateTable { columns: out })
    }

    /// The columns' names, in order.
    pub fn columns(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.name.clone()).collect()
    }

    /// This table's columns followed by `other`'s: a file's covariates with the derived
    /// ones. Each column keeps its own customers, so a customer must be in both.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] (option `clv.covariate_cols`) for a column name in both
    /// tables.
    ///
    /// # Example
    ///
    /// ```no_run
    /// use patronage::prelude::*;
    /// use patronage::stages::covariates::{CovariateTable, DerivedCovariate, DerivedCovariates};
    /// let tx = Transactions::scan("transactions.csv", TransactionSchema::default())?;
    /// let summary = tx.summary(&SummaryOptions::weekly())?;
    /// let file = CovariateTable::read("covariates.csv", &["age".into()])?;
    /// let derived = DerivedCovariates::new(&[DerivedCovariate::Channel]).table(&summary)?;
    /// assert_eq!(file.join(derived)?.columns(), ["age", "acquisition_channel"]);
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn join(mut self, other: CovariateTable) -> Result<Self> {
        for c in &other.columns {
            if self.columns.iter().any(|own| own.name == c.name) {
                return Err(Error::invalid(
                    "clv.covariate_cols",
                    format!(
                        "`{}` is both a column of the covariate table and a derived covariate: rename the table's column",
                        c.name
                    ),
                ));
            }
        }
        self.columns.extend(other.columns);
        Ok(self)
    }

    /// The design matrix for `customers` (ids, in order): numeric columns as they are,
    /// text columns as dummies against their base level.
    ///
    /// # Errors
    ///
    /// [`Error::MissingCovariate`] for a customer not in the table or with an empty
    /// cell (naming the column and the id); as [`Covariates::new`] for constant or
    /// collinear columns.
    pub fn design(&self, customers: &[String]) -> Result<Design> {
        let mut names = Vec::new();
        let mut cols = Vec::new();
        let mut base_levels = BTreeMap::new();
        for TableColumn { name, values, rows } in &self.columns {
            let missing = |id: &String| Error::MissingCovariate {
                column: name.clone(),
                customer: id.clone(),
            };
            let cell = |id: &String| rows.get(id).copied().ok_or_else(|| missing(id));
            match values {
                Values::Numeric(v) => {
                    let col = customers
                        .iter()
                        .map(|id| {
                            v[cell(id)?]
                                .filter(|x| !x.is_nan())
                                .ok_or_else(|| missing(id))
                        })
                        .collect::<Result<Vec<f64>>>()?;
                    names.push(name.clone());
                    cols.push(col);
                }
                Values::Text(v) => {
                    let levels = customers
                        .iter()
                        .map(|id| v[cell(id)?].as_deref().ok_or_else(|| missing(id)))
                        .collect::<Result<Vec<&str>>>()?;
                    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
                    for l in &levels {
                        *counts.entry(l).or_default() += 1;
                    }
                    // Most frequent; the BTreeMap's name order breaks ties.
                    let base = counts
                        .iter()
                        .fold(None::<(&str, usize)>, |best, (l, c)| match best {
                            Some((_, bc)) if bc >= *c => best,
                            _ => Some((l, *c)),
                        })
                        .map(|(l, _)| l.to_string())
                        .unwrap_or_default();
                    if counts.len() < 2 {
                        return Err(Error::ConstantCovariate {
                            column: name.clone(),
                        });
                    }
                    for level in counts.keys().filter(|l| **l != base) {
                        names.push(format!("{name}={level}"));
                        cols.push(
                            levels
                                .iter()
                                .map(|l| if l == level { 1.0 } else { 0.0 })
                                .collect(),
                        );
                    }
                    base_levels.insert(name.clone(), base);
                }
            }
        }
        Ok(Design {
            covariates: Covariates::new(names, cols)?,
            base_levels,
        })
    }
}

/// A covariate derived from the transaction log itself rather than read from a table
/// (issue #18); each is computed in phase 1's one aggregation pass (the customer table's
/// `acquisition_channel`, `first_purchase` and `first_order_value` columns).
///
/// Parsed from the names the CLI and the TOML use (`channel`, `cohort`,
/// `first-order-value`); an unknown name is [`Error::InvalidOption`] (option
/// `clv.derived_covariates`).
///
/// # Example
///
/// ```
/// use patronage::stages::covariates::DerivedCovariate;
/// let c: DerivedCovariate = "first-order-value".parse()?;
/// assert_eq!(c, DerivedCovariate::FirstOrderValue);
/// assert_eq!(c.column(), "log_first_order_value");
/// assert!("colour".parse::<DerivedCovariate>().is_err());
/// # Ok::<(), patronage::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum DerivedCovariate {
    /// `acquisition_channel`: the channel of the customer's first purchase row (the
    /// earliest purchase day, and on that day the first row in input order; `(none)`
    /// for a row without a channel); text, so dummies against the most frequent
    /// channel. Needs a channel column.
    Channel,
    /// `acquisition_cohort`: the period of the first purchase ([`AcquisitionPeriod`],
    /// `2024-Q1` by default); text, so dummies against the most frequent cohort.
    Cohort,
    /// `log_first_order_value`: ln(1 + v), v the first purchase day's purchase rows
    /// summed (returns not netted). Logged because order values are right-skewed, so a
    /// coefficient acts per e-fold of value rather than per currency unit; 1 + v so a
    /// free first order (v = 0) enters as 0.
    #[serde(alias = "first_order_value")]
    FirstOrderValue,
}

impl DerivedCovariate {
    /// The covariate column's name: `acquisition_channel`, `acquisition_cohort` or
    /// `log_first_order_value` (coefficients are `<process>.<name>`, dummies
    /// `<process>.<name>=<level>`).
    pub fn column(self) -> &'static str {
        match self {
            DerivedCovariate::Channel => "acquisition_channel",
            DerivedCovariate::Cohort => "acquisition_cohort",
            DerivedCovariate::FirstOrderValue => "log_first_order_value",
        }
    }
}

impl std::str::FromStr for DerivedCovariate {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "channel" => Ok(DerivedCovariate::Channel),
            "cohort" => Ok(DerivedCovariate::Cohort),
            "first-order-value" | "first_order_value" => Ok(DerivedCovariate::FirstOrderValue),
            other => Err(Error::invalid(
                "clv.derived_covariates",
                format!("`{other}` is not channel, cohort or first-order-value"),
            )),
        }
    }
}

/// The period of the acquisition cohort covariate: the calendar month, quarter
/// (default: a handful of levels a year, each with enough customers to estimate its
/// coefficient) or year of the first purchase. Parsed from `month`, `quarter`, `year`
/// (anything else is [`Error::InvalidOption`], option `clv.acquisition_period`).
///
/// # Example
///
/// ```
/// use patronage::stages::covariates::AcquisitionPeriod;
/// let day = chrono::NaiveDate::from_ymd_opt(2024, 5, 17).unwrap();
/// assert_eq!(AcquisitionPeriod::default().label(day), "2024-Q2");
/// assert_eq!("month".parse::<AcquisitionPeriod>()?.label(day), "2024-05");
/// assert_eq!(AcquisitionPeriod::Year.label(day), "2024");
/// # Ok::<(), patronage::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum AcquisitionPeriod {
    /// Calendar months, labelled `2024-01`.
    Month,
    /// Calendar quarters, labelled `2024-Q1`.
    #[default]
    Quarter,
    /// Calendar years, labelled `2024`.
    Year,
}

impl std::str::FromStr for AcquisitionPeriod {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "month" => Ok(AcquisitionPeriod::Month),
            "quarter" => Ok(AcquisitionPeriod::Quarter),
            "year" => Ok(AcquisitionPeriod::Year),
            _ => Err(Error::invalid(
                "clv.acquisition_period",
                format!("`{s}` is not month, quarter or year"),
            )),
        }
    }
}

impl AcquisitionPeriod {
    /// The label of the period holding `date`; labels sort in time order.
    pub fn label(self, date: chrono::NaiveDate) -> String {
        use chrono::Datelike;
        match self {
            AcquisitionPeriod::Month => format!("{}-{:02}", date.year(), date.month()),
            AcquisitionPeriod::Quarter => format!("{}-Q{}", date.year(), date.month0() / 3 + 1),
            AcquisitionPeriod::Year => date.year().to_string(),
        }
    }
}

/// Which covariates to derive from the log ([`DerivedCovariate`]) and the cohort's
/// period: `[clv] derived_covariates` and `acquisition_period` in the pipeline's TOML,
/// `--derived-covariates channel,cohort,first-order-value` and `--acquisition-period`
/// on `patronage fit`, `clv` and `report`.
///
/// # Example
///
/// ```
/// use patronage::prelude::*;
/// use patronage::stages::covariates::{AcquisitionPeriod, DerivedCovariate, DerivedCovariates};
/// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
/// let summary = tx.summary(&SummaryOptions::weekly())?;
/// let derived = DerivedCovariates::new(&[DerivedCovariate::Channel, DerivedCovariate::Cohort])
///     .period(AcquisitionPeriod::Year);
/// let design = derived.design(&summary)?;
/// assert_eq!(design.covariates.n_rows(), summary.n_customers());
/// assert!(design.base_levels.contains_key("acquisition_channel"));
/// # Ok::<(), patronage::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct DerivedCovariates {
    /// The covariates, in the order their columns enter the design.
    pub covariates: Vec<DerivedCovariate>,
    /// The acquisition cohort's period.
    pub period: AcquisitionPeriod,
}

impl DerivedCovariates {
    /// These covariates, with cohorts by quarter.
    pub fn new(covariates: &[DerivedCovariate]) -> Self {
        DerivedCovariates {
            covariates: covariates.to_vec(),
            period: AcquisitionPeriod::default(),
        }
    }

    /// The acquisition cohort's period.
    #[must_use]
    pub fn period(mut self, period: AcquisitionPeriod) -> Self {
        self.period = period;
        self
    }

    /// The derived columns for every customer of `summary`, as a covariate table keyed
    /// by customer id (to join with a file's with [`CovariateTable::join`], or to pass
    /// to [`fit_covariates`]). The columns come from the summary's acquisition figures,
    /// which phase 1 computed with the rest, so the rows are not read again.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] (option `clv.derived_covariates`) for no covariate or
    /// one named twice; [`Error::MissingRole`] (role `channel`) for the acquisition
    /// channel when no channel column is mapped.
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::prelude::*;
    /// use patronage::stages::covariates::{DerivedCovariate, DerivedCovariates, fit_covariates};
    /// use patronage::stages::fit::ModelKind;
    /// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
    /// let summary = tx.summary(&SummaryOptions::weekly())?;
    /// let table = DerivedCovariates::new(&[DerivedCovariate::FirstOrderValue]).table(&summary)?;
    /// let fit = fit_covariates(ModelKind::BgNbd, &summary, &table, &Default::default())?;
    /// assert_eq!(fit.columns, ["log_first_order_value"]);
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn table(&self, summary: &Summary) -> Result<CovariateTable> {
        self.check()?;
        let ids = summary.customer_ids()?;
        let rows: HashMap<String, usize> =
            ids.into_iter().enumerate().map(|(i, id)| (id, i)).collect();
        let rows = Arc::new(rows);
        let mut columns = Vec::with_capacity(self.covariates.len());
        for &c in &self.covariates {
            let values = match c {
                DerivedCovariate::Channel => {
                    let channels =
                        summary
                            .acquisition_channel()?
                            .ok_or_else(|| Error::MissingRole {
                                role: "channel".into(),
                                needed_by: "the derived covariate `channel` (acquisition channel)"
                                    .into(),
                            })?;
                    Values::Text(channels.into_iter().map(Some).collect())
                }
                DerivedCovariate::Cohort => {
                    let first = summary.frame().column("first_purchase")?.to_physical_repr();
                    Values::Text(
                        first
                            .i32()?
                            .iter()
                            .map(|d| {
                                d.map(|d| self.period.label(crate::transactions::units::date_of(d)))
                            })
                            .collect(),
                    )
                }
                DerivedCovariate::FirstOrderValue => Values::Numeric(
                    summary
                        .first_order_value()?
                        .into_iter()
                        .map(|v| Some(v.ln_1p()))
                        .collect(),
                ),
            };
            columns.push(TableColumn {
                name: c.column().into(),
                values,
                rows: Arc::clone(&rows),
            });
        }
        Ok(CovariateTable { columns })
    }

    /// The settings `[clv] derived_covariates` and `acquisition_period` (also the CLI's
    /// `--derived-covariates` and `--acquisition-period`) checked: `None` without
    /// covariates; a period without the cohort covariate is refused rather than ignored.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] (option `clv.acquisition_period`) for a period without
    /// `cohort`; as [`DerivedCovariates::check`].
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::stages::covariates::{AcquisitionPeriod, DerivedCovariate, DerivedCovariates};
    /// let d = DerivedCovariates::from_settings(&[DerivedCovariate::Cohort], Some(AcquisitionPeriod::Month))?;
    /// assert_eq!(d.unwrap().period, AcquisitionPeriod::Month);
    /// assert!(DerivedCovariates::from_settings(&[DerivedCovariate::Channel], Some(AcquisitionPeriod::Year)).is_err());
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn from_settings(
        covariates: &[DerivedCovariate],
        period: Option<AcquisitionPeriod>,
    ) -> Result<Option<Self>> {
        if period.is_some() && !covariates.contains(&DerivedCovariate::Cohort) {
            return Err(Error::invalid(
                "clv.acquisition_period",
                "has no effect without the cohort covariate (clv.derived_covariates = [\"cohort\", ...])",
            ));
        }
        if covariates.is_empty() {
            return Ok(None);
        }
        let derived = DerivedCovariates::new(covariates).period(period.unwrap_or_default());
        derived.check()?;
        Ok(Some(derived))
    }

    /// Checks the list before any data are read.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] (option `clv.derived_covariates`) for no covariate or
    /// one named twice.
    pub fn check(&self) -> Result<()> {
        if self.covariates.is_empty() {
            return Err(Error::invalid(
                "clv.derived_covariates",
                "name at least one derived covariate: channel, cohort or first-order-value",
            ));
        }
        for (i, c) in self.covariates.iter().enumerate() {
            if self.covariates[..i].contains(c) {
                return Err(Error::invalid(
                    "clv.derived_covariates",
                    format!("`{}` is named more than once", c.column()),
                ));
            }
        }
        Ok(())
    }

    /// The design matrix of the derived covariates for every customer of `summary`, in
    /// the summary's order ([`DerivedCovariates::table`], then [`CovariateTable::design`]).
    ///
    /// # Errors
    ///
    /// As [`DerivedCovariates::table`]; [`Error::ConstantCovariate`] naming a derived
    /// column that takes one value only (one channel, one cohort, one first-order
    /// value), [`Error::CollinearCovariates`] as [`Covariates::new`].
    pub fn design(&self, summary: &Summary) -> Result<Design> {
        self.table(summary)?.design(&summary.customer_ids()?)
    }
}

/// A fit with covariates of either model.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AnyCovariateFit {
    /// BG/NBD (`purchase.*`, `dropout_a.*`, `dropout_b.*`).
    BgNbd(CovariateFit<BgNbd>),
    /// Pareto/NBD (`purchase.*`, `dropout.*`).
    ParetoNbd(CovariateFit<ParetoNbd>),
    /// Gamma-Gamma (`spend.*`).
    GammaGamma(CovariateFit<GammaGamma>),
}

/// The result of [`fit_covariates`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CovariateOutcome {
    /// The fit.
    pub model: AnyCovariateFit,
    /// The covariate table's columns as asked for.
    pub columns: Vec<String>,
    /// Text column → base level.
    pub base_levels: BTreeMap<String, String>,
}

/// Fits `kind` (BG/NBD, Pareto/NBD or Gamma-Gamma) on the summary's fitted period with
/// the table's covariates joined on `customer_id`.
///
/// # Example
///
/// ```no_run
/// use patronage::prelude::*;
/// use patronage::stages::covariates::{CovariateTable, fit_covariates};
/// use patronage::stages::fit::ModelKind;
/// let tx = Transactions::scan_csv("transactions.csv", TransactionSchema::default())?;
/// let summary = tx.summary(&SummaryOptions::weekly())?;
/// let table = CovariateTable::read("covariates.csv", &["channel".into()])?;
/// let out = fit_covariates(ModelKind::ParetoNbd, &summary, &table, &Default::default())?;
/// println!("{}", out.to_json()["params"]["dropout.channel=web"]);
/// # Ok::<(), patronage::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::CovariatesUnsupported`] for another model; as [`CovariateTable::design`]
/// and [`CovariateFit::fit`].
pub fn fit_covariates(
    kind: ModelKind,
    summary: &Summary,
    table: &CovariateTable,
    opts: &FitOptions,
) -> Result<CovariateOutcome> {
    let ids = summary.customer_ids()?;
    let pick = |rows: &[usize]| -> Vec<String> { rows.iter().map(|&i| ids[i].clone()).collect() };
    let (model, base_levels) = match kind {
        ModelKind::BgNbd | ModelKind::ParetoNbd => {
            let (rows, [x, t_x, t]) = summary.repeat_rows()?;
            let design = table.design(&pick(&rows))?;
            let data = CovariateRepeatData::new(&x, &t_x, &t, &design.covariates)?;
            let fit = if kind == ModelKind::BgNbd {
                AnyCovariateFit::BgNbd(CovariateFit::fit(&data, opts)?)
            } else {
                AnyCovariateFit::ParetoNbd(CovariateFit::fit(&data, opts)?)
            };
            (fit, design.base_levels)
        }
        ModelKind::GammaGamma => {
            let (rows, [x, m]) = summary.spend_rows()?;
            // Only repeat customers with positive spend enter the fit: only they need
            // covariates, and only their levels set the base.
            let kept: Vec<usize> = (0..rows.len())
                .filter(|&i| x[i] > 0.0 && m[i] > 0.0)
                .collect();
            let design = table.design(&pick(&kept.iter().map(|&i| rows[i]).collect::<Vec<_>>()))?;
            let (xs, ms): (Vec<f64>, Vec<f64>) = kept.iter().map(|&i| (x[i], m[i])).unzip();
            let data = CovariateSpendData::new(&xs, &ms, &design.covariates)?;
            (
                AnyCovariateFit::GammaGamma(CovariateFit::fit(&data, opts)?),
                design.base_levels,
            )
        }
        other => {
            return Err(Error::CovariatesUnsupported {
                model: other.name().into(),
            });
        }
    };
    Ok(CovariateOutcome {
        model,
        columns: table.columns(),
        base_levels,
    })
}

fn fit_json<M: CovariateModel>(fit: &CovariateFit<M>) -> Value {
    let r = fit.report();
    let params: serde_json::Map<String, Value> = fit
        .params()
        .into_iter()
        .map(|(n, v)| (n, json!(v)))
        .collect();
    let se: serde_json::Map<String, Value> = fit
        .param_names()
        .into_iter()
        .zip(&r.standard_errors)
        .map(|(n, s)| (n, if s.is_finite() { json!(s) } else { Value::Null }))
        .collect();
    let lr = fit.likelihood_ratio();
    let plain = fit.plain();
    let plain_params: serde_json::Map<String, Value> = plain
        .param_names()
        .iter()
        .zip(plain.params())
        .map(|(n, v)| (n.to_string(), json!(v)))
        .collect();
    json!({
        "model": M::NAME,
        "params": params,
        "standard_errors": se,
        "log_likelihood": r.log_likelihood,
        "n_customers": r.n_customers,
        "n_distinct": r.n_distinct,
        "converged": r.converged,
        "iterations": r.iterations,
        "gradient_norm": r.gradient_norm,
        "method": r.method,
        "likelihood_ratio": { "statistic": lr.statistic, "df": lr.df, "p_value": lr.p_value },
        "without_covariates": {
            "params": plain_params,
            "log_likelihood": plain.report().map(|r| r.log_likelihood),
        },
    })
}

fn estimates<M: CovariateModel>(fit: &CovariateFit<M>) -> Vec<(String, f64, f64)> {
    fit.params()
        .into_iter()
        .zip(&fit.report().standard_errors)
        .map(|((n, v), s)| (n, v, *s))
        .collect()
}

impl CovariateOutcome {
    /// Every parameter in order (base parameters, then `<process>.<covariate>`) with its
    /// estimate and standard error.
    pub fn estimates(&self) -> Vec<(String, f64, f64)> {
        match &self.model {
            AnyCovariateFit::BgNbd(f) => estimates(f),
            AnyCovariateFit::ParetoNbd(f) => estimates(f),
            AnyCovariateFit::GammaGamma(f) => estimates(f),
        }
    }

    /// The JSON object `patronage fit … --covariates FILE --json` prints: `model`,
    /// `params` and `standard_errors` (base parameters and `<process>.<covariate>`
    /// coefficients), `log_likelihood`, `n_customers`, `n_distinct`, `converged`,
    /// `iterations`, `gradient_norm`, `method`, `likelihood_ratio {statistic, df,
    /// p_value}`, `without_covariates {params, log_likelihood}` and `covariates
    /// {columns, names, base_levels}`.
    pub fn to_json(&self) -> Value {
        let (mut out, names) = match &self.model {
            AnyCovariateFit::BgNbd(f) => (fit_json(f), f.covariate_names().to_vec()),
            AnyCovariateFit::ParetoNbd(f) => (fit_json(f), f.covariate_names().to_vec()),
            AnyCovariateFit::GammaGamma(f) => (fit_json(f), f.covariate_names().to_vec()),
        };
        out["covariates"] = json!({
            "columns": self.columns,
            "names": names,
            "base_levels": self.base_levels,
        });
        out
    }
}

/// Where the CLV stage's covariates come from (`[clv] covariates` and `covariate_cols`
/// in the pipeline's TOML; `--covariates FILE --covariate-cols a,b` on `patronage clv`
/// and `patronage report`).
///
/// # Example
///
/// ```no_run
/// use patronage::stages::covariates::{CovariateSettings, CovariateTable};
/// let table = CovariateTable::read("covariates.csv", &["channel".into()])?;
/// let settings = CovariateSettings::from_table(table);
/// # Ok::<(), patronage::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CovariateSettings {
    /// A per-customer table joined on `customer_id`.
    pub table: Option<CovariateTable>,
    /// Covariates derived from the log (after the table's columns).
    pub derived: Option<DerivedCovariates>,
}

impl CovariateSettings {
    /// The optional column roles the covariates need read from the log (beyond the
    /// customer id, date and amount): the channel for
    /// [`DerivedCovariate::Channel`]. A command that reads only some roles
    /// ([`crate::transactions::Transactions::reading`]) adds these.
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::io::OptionalRole;
    /// use patronage::stages::covariates::{CovariateSettings, DerivedCovariate, DerivedCovariates};
    /// let s = CovariateSettings::from_derived(DerivedCovariates::new(&[DerivedCovariate::Channel]));
    /// assert_eq!(s.roles(), [OptionalRole::Channel]);
    /// let s = CovariateSettings::from_derived(DerivedCovariates::new(&[DerivedCovariate::Cohort]));
    /// assert!(s.roles().is_empty());
    /// ```
    pub fn roles(&self) -> Vec<crate::io::OptionalRole> {
        let channel = self
            .derived
            .as_ref()
            .is_some_and(|d| d.covariates.contains(&DerivedCovariate::Channel));
        if channel {
            vec![crate::io::OptionalRole::Channel]
        } else {
            Vec::new()
        }
    }

    /// Covariates from a per-customer table.
    pub fn from_table(table: CovariateTable) -> Self {
        CovariateSettings {
            table: Some(table),
            derived: None,
        }
    }

    /// Covariates derived from the log.
    pub fn from_derived(derived: DerivedCovariates) -> Self {
        CovariateSettings {
            table: None,
            derived: Some(derived),
        }
    }

    /// Adds covariates derived from the log to a table's.
    #[must_use]
    pub fn with_derived(mut self, derived: DerivedCovariates) -> Self {
        self.derived = Some(derived);
        self
    }

    /// The covariate table for a summary's customers: the file's columns, then the
    /// derived ones.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] (option `clv.covariates`) when no covariates are set; as
    /// [`DerivedCovariates::table`] and [`CovariateTable::join`].
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::prelude::*;
    /// use patronage::stages::covariates::{CovariateSettings, DerivedCovariate, DerivedCovariates};
    /// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
    /// let summary = tx.summary(&SummaryOptions::weekly())?;
    /// let settings = CovariateSettings::from_derived(DerivedCovariates::new(&[DerivedCovariate::FirstOrderValue]));
    /// assert_eq!(settings.resolve(&summary)?.columns(), ["log_first_order_value"]);
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn resolve(&self, summary: &Summary) -> Result<CovariateTable> {
        let derived = self
            .derived
            .as_ref()
            .map(|d| d.table(summary))
            .transpose()?;
        match (self.table.clone(), derived) {
            (Some(table), Some(derived)) => table.join(derived),
            (Some(table), None) => Ok(table),
            (None, Some(derived)) => Ok(derived),
            (None, None) => Err(Error::invalid(
                "clv.covariates",
                "no covariates: give a covariate table and its columns, or derived covariates",
            )),
        }
    }
}

/// The CLV stage's fits with covariates: the purchase model's and, when Gamma-Gamma gave
/// expected spend, Gamma-Gamma's (same covariates, same base levels).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ClvCovariates {
    /// The purchase model with covariates (BG/NBD or Pareto/NBD).
    pub purchase: CovariateOutcome,
    /// Gamma-Gamma with covariates; `None` with historic spend.
    pub spend: Option<CovariateOutcome>,
}

impl ClvCovariates {
    /// `{purchase, spend}`, each [`CovariateOutcome::to_json`] (`spend` null with
    /// historic spend): report.json's `clv.covariates` and `patronage clv --json`'s
    /// `covariates`.
    pub fn to_json(&self) -> Value {
        json!({
            "purchase": self.purchase.to_json(),
            "spend": self.spend.as_ref().map(CovariateOutcome::to_json),
        })
    }
}

/// What [`clv_scores`] gives the CLV stage.
pub(crate) struct CovariateScores {
    /// The purchase model fitted on the same customers without covariates.
    pub(crate) plain: AnyFitted,
    /// Gamma-Gamma without covariates on the same customers, with its data (for the
    /// customers it left out), when spend came from Gamma-Gamma.
    pub(crate) spend: Option<(Fitted<GammaGamma>, SpendData)>,
    pub(crate) scores: Scores,
    pub(crate) covariates: ClvCovariates,
    pub(crate) notes: Vec<String>,
    /// With an interval: the per-customer bounds, each parameter's interval and the
    /// failed bootstrap refits replaced per model.
    pub(crate) intervals: Option<(ScoreIntervals, Vec<ParameterInterval>, FailedRefits)>,
}

/// Fits `kind` (BG/NBD or Pareto/NBD) and, with `gamma_gamma`, Gamma-Gamma with the
/// covariates of `table` for the customers `ids` (whose inputs are `input`), and scores
/// every customer at their own parameters; with `interval`, draws both fits' parameters
/// jointly ([`crate::clv::covariates::draws`]) and re-scores every customer at their own
/// parameters per draw ([`crate::clv::covariates::intervals`]). When Gamma-Gamma with
/// covariates cannot give expected spend, the customers are scored on their historic
/// spend with a note, as the CLV stage does without covariates.
///
/// # Errors
///
/// [`Error::CovariatesUnsupported`] for another model; as [`CovariateTable::design`]
/// (a customer missing from the table: [`Error::MissingCovariate`]), [`CovariateFit::fit`]
/// and [`crate::clv::covariates::score::score`]; the draws' and the interval scoring's.
#[allow(clippy::too_many_arguments)] // the CLV stage's inputs, passed through
pub(crate) fn clv_scores(
    kind: ModelKind,
    table: &CovariateTable,
    ids: &[String],
    input: CustomerInputs<'_>,
    fit: &FitOptions,
    gamma_gamma: bool,
    clv: &ClvOptions,
    interval: Option<&IntervalOptions>,
) -> Result<CovariateScores> {
    let how = (fit, gamma_gamma, clv, interval);
    match kind {
        ModelKind::BgNbd => scores_with::<BgNbd>(table, ids, input, how),
        ModelKind::ParetoNbd => scores_with::<ParetoNbd>(table, ids, input, how),
        other => Err(Error::CovariatesUnsupported {
            model: other.name().into(),
        }),
    }
}

/// A purchase model with covariates as one of [`AnyCovariateFit`] and its plain fit as
/// one of [`AnyFitted`].
trait PurchaseWithCovariates: CovariateModel + Clone + Send + Sync {
    fn wrap(fit: CovariateFit<Self>) -> AnyCovariateFit;
    fn wrap_plain(fit: Fitted<Self>) -> AnyFitted;
}

impl PurchaseWithCovariates for BgNbd {
    fn wrap(fit: CovariateFit<Self>) -> AnyCovariateFit {
        AnyCovariateFit::BgNbd(fit)
    }
    fn wrap_plain(fit: Fitted<Self>) -> AnyFitted {
        AnyFitted::BgNbd(fit)
    }
}

impl PurchaseWithCovariates for ParetoNbd {
    fn wrap(fit: CovariateFit<Self>) -> AnyCovariateFit {
        AnyCovariateFit::ParetoNbd(fit)
    }
    fn wrap_plain(fit: Fitted<Self>) -> AnyFitted {
        AnyFitted::ParetoNbd(fit)
    }
}

/// How [`scores_with`] fits and scores: fit options, Gamma-Gamma or historic spend,
/// the CLV options and the interval.
type How<'a> = (
    &'a FitOptions,
    bool,
    &'a ClvOptions,
    Option<&'a IntervalOptions>,
);

fn scores_with<M: PurchaseWithCovariates<CovData = CovariateRepeatData>>(
    table: &CovariateTable,
    ids: &[String],
    input: CustomerInputs<'_>,
    (fit, gamma_gamma, clv, interval): How<'_>,
) -> Result<CovariateScores>
where
    Fitted<M>: PurchaseModel,
{
    let design = table.design(ids)?;
    let z = &design.covariates;
    let columns: Vec<String> = table.columns();
    let data = CovariateRepeatData::new(input.x, input.t_x, input.t, z)?;
    let purchase = CovariateFit::<M>::fit(&data, fit)?;
    let mut notes = Vec::new();
    let spend = if gamma_gamma {
        let fitted = CovariateSpendData::new(input.x, input.monetary, z).and_then(|data| {
            let gg = CovariateFit::<GammaGamma>::fit(&data, fit)?;
            gg.plain().mean_spend()?;
            Ok((gg, data))
        });
        match fitted {
            Ok(done) => Some(done),
            Err(e) => {
                notes.push(format!(
                    "Gamma-Gamma with covariates could not give expected spend ({e}); CLV uses each customer's historic mean repeat spend instead"
                ));
                None
            }
        }
    } else {
        None
    };
    let scores = crate::clv::covariates::score::score(
        &purchase,
        spend.as_ref().map(|(gg, _)| gg),
        z,
        input,
        clv,
    )?;
    let intervals = match interval {
        Some(options) => {
            let level = options.level;
            let draws = covariate_draws(&purchase, &data, fit, options)?;
            let mut parameters = covariate_parameter_rows(&purchase, &draws.intervals(level)?);
            let mut failed = vec![(M::NAME, draws.failed_refits)];
            let spend_draws = match &spend {
                Some((gg, spend_data)) => {
                    let d = covariate_draws(gg, spend_data, fit, options)?;
                    parameters.extend(covariate_parameter_rows(gg, &d.intervals(level)?));
                    failed.push((GammaGamma::NAME, d.failed_refits));
                    Some(d)
                }
                None => None,
            };
            let scored =
                covariate_score_intervals(&draws, spend_draws.as_ref(), z, input, clv, level)?;
            Some((scored, parameters, failed))
        }
        None => None,
    };
    let outcome = |model| CovariateOutcome {
        model,
        columns: columns.clone(),
        base_levels: design.base_levels.clone(),
    };
    let plain = M::wrap_plain(purchase.plain().clone());
    let (spend_plain, spend_outcome) = match spend {
        Some((gg, data)) => (
            Some((gg.plain().clone(), data.plain().clone())),
            Some(outcome(AnyCovariateFit::GammaGamma(gg))),
        ),
        None => (None, None),
    };
    Ok(CovariateScores {
        plain,
        spend: spend_plain,
        scores,
        covariates: ClvCovariates {
            purchase: outcome(M::wrap(purchase)),
            spend: spend_outcome,
        },
        notes,
        intervals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> CovariateTable {
        let df = df!(
            "customer_id" => ["c1", "c2", "c3", "c4", "c5"],
            "channel" => [Some("web"), Some("store"), Some("web"), Some("phone"), None],
            "age" => [Some(30.0), Some(41.0), Some(25.0), Some(52.0), Some(33.0)],
            "age2" => [60.0, 82.0, 50.0, 104.0, 66.0],
            "one" => ["x", "x", "x", "x", "x"],
        )
        .unwrap();
        let cols = ["channel", "age", "age2", "one"].map(String::from);
        CovariateTable::from_frame(&df, &cols).unwrap()
    }

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn only(t: &CovariateTable, cols: &[&str]) -> CovariateTable {
        CovariateTable {
            columns: t
                .columns
                .iter()
                .filter(|c| cols.contains(&c.name.as_str()))
                .cloned()
                .collect(),
        }
    }

    #[test]
    fn covariate_text_columns_become_dummies_against_the_most_frequent_level() {
        let t = only(&table(), &["channel", "age"]);
        let d = t.design(&ids(&["c1", "c2", "c3", "c4"])).unwrap();
        assert_eq!(d.base_levels["channel"], "web");
        assert_eq!(
            d.covariates.names(),
            ["channel=phone", "channel=store", "age"]
        );
        assert_eq!(d.covariates.row(1), &[0.0, 1.0, 41.0]);
        // A tie goes to the first level by name.
        let d = only(&t, &["channel"])
            .design(&ids(&["c1", "c2", "c4"]))
            .unwrap();
        assert_eq!(d.base_levels["channel"], "phone");
    }

    #[test]
    fn covariate_table_errors_name_column_and_customer() {
        let t = table();
        let e = only(&t, &["age"]).design(&ids(&["c1", "zz"])).unwrap_err();
        assert!(
            matches!(e, Error::MissingCovariate { ref column, ref customer }
            if column == "age" && customer == "zz")
        );
        let e = only(&t, &["channel"])
            .design(&ids(&["c1", "c5"]))
            .unwrap_err();
        assert!(
            matches!(e, Error::MissingCovariate { ref column, ref customer }
            if column == "channel" && customer == "c5")
        );
        let e = only(&t, &["one"]).design(&ids(&["c1", "c2"])).unwrap_err();
        assert!(matches!(e, Error::ConstantCovariate { ref column } if column == "one"));
        let e = only(&t, &["age", "age2"])
            .design(&ids(&["c1", "c2", "c3"]))
            .unwrap_err();
        assert!(matches!(e, Error::CollinearCovariates { ref columns }
            if columns == &["age2".to_string(), "age".to_string()]));
        let df = df!("customer_id" => ["a", "a"], "v" => [1.0, 2.0]).unwrap();
        let e = CovariateTable::from_frame(&df, &["v".into()]).unwrap_err();
        assert!(matches!(e, Error::BadRow { row: 2, ref column, .. } if column == "customer_id"));
        let df = df!("customer_id" => ["a", "b"], "v" => [1.0, 2.0]).unwrap();
        let e = CovariateTable::from_frame(&df, &["w".into()]).unwrap_err();
        assert!(matches!(e, Error::MissingColumn { ref column, .. } if column == "w"));
    }

    fn log_summary(channel: bool) -> Summary {
        use crate::prelude::*;
        let mut df = df!(
            "customer_id" => ["a", "a", "b", "c", "c", "d", "e"],
            "date" => ["2024-01-02", "2024-02-10", "2024-04-03", "2024-03-30", "2024-03-30",
                       "2024-11-20", "2024-01-15"],
            "amount" => [10.0, 4.0, 0.0, 20.0, 30.0, 8.0, 2.0],
        )
        .unwrap();
        if channel {
            df.with_column(Column::new(
                "channel".into(),
                ["web", "store", "store", "web", "phone", "web", "store"],
            ))
            .unwrap();
        }
        Transactions::from_frame(df, TransactionSchema::default())
            .unwrap()
            .summary(&SummaryOptions::weekly().observation_end("2024-12-31"))
            .unwrap()
    }

    #[test]
    fn derived_covariates_come_from_the_first_purchase() {
        use DerivedCovariate::*;
        let s = log_summary(true);
        let d = DerivedCovariates::new(&[Channel, Cohort, FirstOrderValue])
            .design(&s)
            .unwrap();
        // Channels web (a, c: the first row of c's first day, d), store (b, e).
        assert_eq!(d.base_levels["acquisition_channel"], "web");
        // Quarters 2024-Q1 (a, c, e), Q2 (b), Q4 (d): the base is Q1.
        assert_eq!(d.base_levels["acquisition_cohort"], "2024-Q1");
        assert_eq!(
            d.covariates.names(),
            [
                "acquisition_channel=store",
                "acquisition_cohort=2024-Q2",
                "acquisition_cohort=2024-Q4",
                "log_first_order_value"
            ]
        );
        let rows: Vec<Vec<f64>> = (0..5).map(|i| d.covariates.row(i).to_vec()).collect();
        assert_eq!(rows[0], [0.0, 0.0, 0.0, 10f64.ln_1p()]);
        assert_eq!(rows[1], [1.0, 1.0, 0.0, 0.0]);
        assert_eq!(rows[2], [0.0, 0.0, 0.0, 50f64.ln_1p()]);
        assert_eq!(rows[3], [0.0, 0.0, 1.0, 8f64.ln_1p()]);
        assert_eq!(rows[4], [1.0, 0.0, 0.0, 2f64.ln_1p()]);
        // The period is a setting; months give the labels `2024-01`.
        let months = DerivedCovariates::new(&[Cohort])
            .period(AcquisitionPeriod::Month)
            .table(&s)
            .unwrap()
            .design(&ids(&["a", "b", "c"]))
            .unwrap();
        assert_eq!(months.base_levels["acquisition_cohort"], "2024-01");
        assert_eq!(
            months.covariates.names(),
            ["acquisition_cohort=2024-03", "acquisition_cohort=2024-04"]
        );
        // A file's columns first, then the derived ones, each joined on the id.
        let file = only(&table(), &["age"]);
        let both = CovariateSettings::from_table(file)
            .with_derived(DerivedCovariates::new(&[FirstOrderValue]))
            .resolve(&s)
            .unwrap();
        assert_eq!(both.columns(), ["age", "log_first_order_value"]);
        let e = both.design(&ids(&["a", "c1"])).unwrap_err();
        assert!(
            matches!(e, Error::MissingCovariate { ref column, ref customer }
            if column == "age" && customer == "a")
        );
    }

    #[test]
    fn derived_covariate_errors_are_typed() {
        use DerivedCovariate::*;
        let s = log_summary(true);
        let e = DerivedCovariates::new(&[Channel])
            .table(&log_summary(false))
            .unwrap_err();
        assert!(matches!(e, Error::MissingRole { ref role, .. } if role == "channel"));
        assert!(e.is_usage());
        // One channel, one cohort among the customers asked for: the constant-column
        // error naming the derived column.
        let t = DerivedCovariates::new(&[Channel, Cohort])
            .period(AcquisitionPeriod::Year)
            .table(&s)
            .unwrap();
        let e = t.design(&ids(&["a", "c"])).unwrap_err();
        assert!(
            matches!(e, Error::ConstantCovariate { ref column } if column == "acquisition_channel")
        );
        let e = DerivedCovariates::new(&[Cohort])
            .period(AcquisitionPeriod::Year)
            .design(&s)
            .unwrap_err();
        assert!(
            matches!(e, Error::ConstantCovariate { ref column } if column == "acquisition_cohort")
        );
        for bad in [vec![], vec![Channel, Channel]] {
            let e = DerivedCovariates::new(&bad).table(&s).unwrap_err();
            assert!(
                matches!(e, Error::InvalidOption { ref option, .. } if option == "clv.derived_covariates")
            );
        }
        let e = "first-order".parse::<DerivedCovariate>().unwrap_err();
        assert!(
            matches!(e, Error::InvalidOption { ref option, .. } if option == "clv.derived_covariates")
        );
        let e = "week".parse::<AcquisitionPeriod>().unwrap_err();
        assert!(
            matches!(e, Error::InvalidOption { ref option, .. } if option == "clv.acquisition_period")
        );
        let e = DerivedCovariates::from_settings(&[Channel], Some(AcquisitionPeriod::Month))
            .unwrap_err();
        assert!(
            matches!(e, Error::InvalidOption { ref option, .. } if option == "clv.acquisition_period")
        );
        assert_eq!(DerivedCovariates::from_settings(&[], None).unwrap(), None);
        // A file column with a derived covariate's name.
        let df = df!("customer_id" => ["a", "b"], "acquisition_channel" => ["x", "y"]).unwrap();
        let file = CovariateTable::from_frame(&df, &["acquisition_channel".into()]).unwrap();
        let e = CovariateSettings::from_table(file)
            .with_derived(DerivedCovariates::new(&[Channel]))
            .resolve(&s)
            .unwrap_err();
        assert!(
            matches!(e, Error::InvalidOption { ref option, .. } if option == "clv.covariate_cols")
        );
        let e = CovariateSettings {
            table: None,
            derived: None,
        }
        .resolve(&s)
        .unwrap_err();
        assert!(matches!(e, Error::InvalidOption { ref option, .. } if option == "clv.covariates"));
    }

    /// A planted effect recovered through the whole path: two groups simulated from the
    /// same BG/NBD but for the purchase scale, store-acquired customers with
    /// alpha = alpha_web * exp(-0.5), i.e. purchase coefficient +0.5 on
    /// `acquisition_channel=store` in the sign convention of the fits (a positive
    /// coefficient buys more often). The channel reaches the fit only through the log:
    /// phase 1 derives it from each customer's first purchase row, and the later rows
    /// carry other channels.
    #[test]
    fn derived_channel_recovers_a_planted_purchase_effect() {
        use crate::prelude::*;
        use crate::simulate::{SimulationSpec, simulate_groups};
        let base = SimulationSpec {
            customers: 3000,
            seed: 41,
            return_rate: 0.0,
            ..SimulationSpec::default()
        };
        let planted: f64 = 0.5;
        let store = SimulationSpec {
            customers: 2000,
            seed: 42,
            alpha: base.alpha * (-planted).exp(),
            ..base.clone()
        };
        let sim = simulate_groups(&[("web".into(), base), ("store".into(), store)]).unwrap();
        // Each customer's first row (the log is sorted by date) gets the group's channel;
        // every later row keeps the simulator's channel, so only the derivation from the
        // first purchase can tell the groups apart.
        let mut tx = sim.transactions;
        let ids: Vec<String> = tx
            .column("customer_id")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|v| v.unwrap_or_default().to_string())
            .collect();
        let old: Vec<String> = tx
            .column("channel")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|v| v.unwrap_or_default().to_string())
            .collect();
        let mut seen = std::collections::HashSet::new();
        let channel: Vec<String> = ids
            .iter()
            .zip(old)
            .map(|(id, c)| {
                if seen.insert(id.clone()) {
                    if id.starts_with("G0-") {
                        "web"
                    } else {
                        "store"
                    }
                    .to_string()
                } else {
                    c
                }
            })
            .collect();
        tx.with_column(Column::new("channel".into(), channel))
            .unwrap();
        // The other lines of the first order keep the simulator's channel: the first
        // row's wins (the tie rule).
        let summary = Transactions::from_frame(tx, TransactionSchema::default())
            .unwrap()
            .summary(&SummaryOptions::weekly())
            .unwrap();
        let firsts = summary.acquisition_channel().unwrap().unwrap();
        let cids = summary.customer_ids().unwrap();
        assert!(cids.iter().zip(&firsts).all(|(id, c)| {
            c == if id.starts_with("G0-") {
                "web"
            } else {
                "store"
            }
        }));
        let table = DerivedCovariates::new(&[DerivedCovariate::Channel])
            .table(&summary)
            .unwrap();
        let out = fit_covariates(ModelKind::BgNbd, &summary, &table, &Default::default()).unwrap();
        assert_eq!(out.base_levels["acquisition_channel"], "web");
        let est: BTreeMap<String, (f64, f64)> = out
            .estimates()
            .into_iter()
            .map(|(n, v, s)| (n, (v, s)))
            .collect();
        let (b, se) = est["purchase.acquisition_channel=store"];
        eprintln!("planted {planted}, estimated {b} ± {se}; {est:?}");
        assert!(se.is_finite() && se > 0.0);
        assert!((b - planted).abs() < 2.0 * se, "{b} ± {se} vs {planted}");
        // The effect is told apart from zero, and the dropout, planted equal, is not.
        assert!(b > 2.0 * se, "{b} ± {se}");
        for name in [
            "dropout_a.acquisition_channel=store",
            "dropout_b.acquisition_channel=store",
        ] {
            let (d, s) = est[name];
            assert!(d.abs() < 2.0 * s, "{name}: {d} ± {s}");
        }
    }
}
