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
//! `covariate_cols`) go through [`clv_scores`]: the purchase model and Gamma-Gamma fitted
//! with the same covariates on the scored customers, and every customer scored at their
//! own parameters ([`crate::clv::covariates::score`]).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use polars::prelude::*;
use serde_json::{Value, json};

use crate::clv::covariates::{
    CovariateFit, CovariateModel, CovariateRepeatData, CovariateSpendData, Covariates,
};
use crate::clv::value::{ClvOptions, CustomerInputs, Scores};
use crate::clv::{BgNbd, FitOptions, Fitted, GammaGamma, ParetoNbd, PurchaseModel, SpendData};
use crate::error::{Error, Result};
use crate::io::frame::{column, customer_ids_as_text};
use crate::stages::fit::{AnyFitted, ModelKind};
use crate::transactions::summary::Summary;

/// One covariate column as read: numbers, or text levels (None = missing).
#[derive(Debug, Clone, PartialEq)]
enum Values {
    Numeric(Vec<Option<f64>>),
    Text(Vec<Option<String>>),
}

/// A per-customer covariate table: the requested columns by customer id.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CovariateTable {
    columns: Vec<(String, Values)>,
    rows: HashMap<String, usize>,
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
            out.push((name.clone(), values));
        }
        Ok(CovariateTable { columns: out, rows })
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
        for (name, values) in &self.columns {
            let missing = |id: &String| Error::MissingCovariate {
                column: name.clone(),
                customer: id.clone(),
            };
            let cell = |id: &String| self.rows.get(id).copied().ok_or_else(|| missing(id));
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
        columns: table.columns.iter().map(|(n, _)| n.clone()).collect(),
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
}

impl CovariateSettings {
    /// Covariates from a per-customer table.
    pub fn from_table(table: CovariateTable) -> Self {
        CovariateSettings { table: Some(table) }
    }

    /// The covariate table for a summary's customers.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] (option `clv.covariates`) when no covariates are set.
    pub(crate) fn resolve(&self, _summary: &Summary) -> Result<CovariateTable> {
        self.table.clone().ok_or_else(|| {
            Error::invalid(
                "clv.covariates",
                "no covariates: give a covariate table and its columns",
            )
        })
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
}

/// Fits `kind` (BG/NBD or Pareto/NBD) and, with `gamma_gamma`, Gamma-Gamma with the
/// covariates of `table` for the customers `ids` (whose inputs are `input`), and scores
/// every customer at their own parameters. When Gamma-Gamma with covariates cannot give
/// expected spend, the customers are scored on their historic spend with a note, as the
/// CLV stage does without covariates.
///
/// # Errors
///
/// [`Error::CovariatesUnsupported`] for another model; as [`CovariateTable::design`]
/// (a customer missing from the table: [`Error::MissingCovariate`]), [`CovariateFit::fit`]
/// and [`crate::clv::covariates::score::score`].
pub(crate) fn clv_scores(
    kind: ModelKind,
    table: &CovariateTable,
    ids: &[String],
    input: CustomerInputs<'_>,
    fit: &FitOptions,
    gamma_gamma: bool,
    clv: &ClvOptions,
) -> Result<CovariateScores> {
    match kind {
        ModelKind::BgNbd => scores_with::<BgNbd>(table, ids, input, fit, gamma_gamma, clv),
        ModelKind::ParetoNbd => scores_with::<ParetoNbd>(table, ids, input, fit, gamma_gamma, clv),
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

fn scores_with<M: PurchaseWithCovariates<CovData = CovariateRepeatData>>(
    table: &CovariateTable,
    ids: &[String],
    input: CustomerInputs<'_>,
    fit: &FitOptions,
    gamma_gamma: bool,
    clv: &ClvOptions,
) -> Result<CovariateScores>
where
    Fitted<M>: PurchaseModel,
{
    let design = table.design(ids)?;
    let z = &design.covariates;
    let columns: Vec<String> = table.columns.iter().map(|(n, _)| n.clone()).collect();
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
                .filter(|(n, _)| cols.contains(&n.as_str()))
                .cloned()
                .collect(),
            rows: t.rows.clone(),
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
}
