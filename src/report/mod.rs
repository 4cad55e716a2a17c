//! The report of a pipeline run: tables (CSV/Parquet), every figure as JSON, and with the
//! feature "plots" SVG charts and one self-contained HTML page.
//!
//! | file | content |
//! |---|---|
//! | `customers.parquet` (and `customers.csv` with `[report] csv = true`) | [`PipelineOutput::customers`] |
//! | `segments.csv` | one row per cluster: size, shares, label, mean/median per feature |
//! | `rfm_segments.csv` | one row per RFM segment: customers, shares, means |
//! | `matrix.csv` | one row per profitability quadrant, with the action |
//! | `whale.csv` | customer rank, share of customers, cumulative share of net contribution (at most `[report] whale_points` rows, evenly spaced) |
//! | `cohorts.csv` | retention and revenue by acquisition cohort and period |
//! | `tracking.csv` | actual and expected repeat purchases over calendar time, cumulative and per period ([`crate::stages::tracking`]) |
//! | `models.json` | the fitted models (reloadable JSON) |
//! | `report.json` | every figure of the page |
//! | `*.svg`, `report.html` | charts and the page (feature "plots") |
//!
//! What each chart shows and the paragraph the page prints under it are computed in
//! [`readings`] (no plotters, so available without "plots"); `charts` only draws them.
//!
//! ```no_run
//! use patronage::pipeline::Pipeline;
//! use patronage::report::write_report;
//! let p = Pipeline::from_config_path("datasets/cdnow/report.toml")?;
//! let out = p.run(&p.scan("datasets/cdnow/CDNOW_master.txt")?)?;
//! let files = write_report(&out, p.config(), "report".as_ref())?;
//! println!("{} files", files.len());
//! # Ok::<(), patronage::Error>(())
//! ```

pub mod advice;
#[cfg(feature = "plots")]
mod align;
#[cfg(feature = "plots")]
pub mod charts;
pub mod covariates;
pub mod customer_value;
#[cfg(feature = "plots")]
mod html;
#[cfg(feature = "plots")]
mod model_choice;
pub mod readings;
mod tables;
mod whatif;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::pipeline::{PipelineConfig, PipelineOutput, Stage};

pub use tables::{cluster_profiles_frame, matrix_frame, whale_frame, whale_frame_thinned};

/// Customers listed in the report's top-customer table.
pub const TOP_CUSTOMERS: usize = 50;

/// Writes every report file into `dir` (created when missing) and returns their paths.
///
/// Stages that did not run (switched off in the configuration) leave their files out;
/// `report.json` lists what was written and what was skipped, and why.
///
/// # Errors
///
/// [`Error::Io`] when `dir` cannot be created or a file cannot be written; polars
/// errors building a table.
///
/// # Example
///
/// ```
/// use patronage::pipeline::Pipeline;
/// use patronage::report::write_report;
/// let p = Pipeline::builder().build()?;
/// let out = p.run(&p.scan("datasets/retail_sample.csv")?)?;
/// let dir = std::env::temp_dir().join("patronage-doc-report");
/// let files = write_report(&out, p.config(), &dir)?;
/// assert!(files.iter().any(|f| f.ends_with("report.json")));
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn write_report(
    out: &PipelineOutput,
    config: &PipelineConfig,
    dir: &Path,
) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    // The customer table is by far the largest file (290 MB for 3.5M customers, over a
    // second to encode), so it is written on its own thread while the summaries, charts
    // and page are built from the same in-memory frames (the writing step at 10M rows:
    // 3.8 s before, 2.5 s after); it is joined before report.json, which lists it.
    std::thread::scope(|scope| {
        let customers = scope.spawn(|| write_customer_table(out, config, dir));
        let files = write_summary_tables(out, config, dir)?;
        finish_report(out, config, dir, files, || {
            customers
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    })
}

/// Files written, and files left out with the reason.
type Written = (Vec<PathBuf>, Vec<(String, String)>);

/// Writes `frame` as `dir/name`, or records why it was left out when there is none.
fn write_table(
    dir: &Path,
    name: &str,
    df: Option<polars::prelude::DataFrame>,
    why: &str,
    (written, skipped): &mut Written,
) -> Result<()> {
    match df {
        Some(mut df) => {
            let path = dir.join(name);
            crate::io::write_frame(&mut df, &path)?;
            written.push(path);
        }
        None => skipped.push((name.to_string(), why.to_string())),
    }
    Ok(())
}

/// `customers.parquet`, and `customers.csv` when the configuration asks for it.
fn write_customer_table(
    out: &PipelineOutput,
    config: &PipelineConfig,
    dir: &Path,
) -> Result<Written> {
    let mut files = Written::default();
    write_table(
        dir,
        "customers.parquet",
        Some(out.customers.clone()),
        "",
        &mut files,
    )?;
    write_table(
        dir,
        "customers.csv",
        config.report.csv.then(|| out.customers.clone()),
        "customers.parquet holds the table; CSV only when asked ([report] csv = true, --csv)",
        &mut files,
    )?;
    Ok(files)
}

/// The small tables: segments, RFM segments, matrix, whale curve, cohorts, tracking.
fn write_summary_tables(
    out: &PipelineOutput,
    config: &PipelineConfig,
    dir: &Path,
) -> Result<Written> {
    let mut files = Written::default();
    let mut frame = |name: &str, df: Option<polars::prelude::DataFrame>, why: &str| {
        write_table(dir, name, df, why, &mut files)
    };
    frame(
        "segments.csv",
        out.segmentation
            .as_ref()
            .map(cluster_profiles_frame)
            .transpose()?,
        &out.not_run_reason(Stage::Segmentation),
    )?;
    frame(
        "rfm_segments.csv",
        Some(out.rfm.segment_summary_frame()?),
        "",
    )?;
    frame(
        "matrix.csv",
        out.profitability.as_ref().map(matrix_frame).transpose()?,
        &out.not_run_reason(Stage::Profitability),
    )?;
    let whale_why = out
        .profitability
        .as_ref()
        .and_then(|p| p.whale_note.clone())
        .unwrap_or_else(|| out.not_run_reason(Stage::Profitability));
    frame(
        "whale.csv",
        out.profitability
            .as_ref()
            .and_then(|p| p.whale.as_ref())
            .map(|w| whale_frame_thinned(w, config.report.whale_points))
            .transpose()?,
        &whale_why,
    )?;
    frame("cohorts.csv", Some(out.cohorts.frame()?), "")?;
    frame(
        "tracking.csv",
        out.checks
            .as_ref()
            .and_then(|c| c.tracking.as_ref())
            .map(tables::tracking_frame)
            .transpose()?,
        &match &out.checks {
            None => out.not_run_reason(Stage::Clv),
            Some(_) => "the data span less than one time unit".into(),
        },
    )?;

    Ok(files)
}

/// models.json, the charts and the page; then waits for the customer table (`customers`
/// gives its files) and writes report.json, which lists every file. The customer table's
/// files come first in the list, as they are first in the module's table.
fn finish_report(
    out: &PipelineOutput,
    config: &PipelineConfig,
    dir: &Path,
    (mut written, mut skipped): Written,
    customers: impl FnOnce() -> Result<Written>,
) -> Result<Vec<PathBuf>> {
    let models = models_json(out)?;
    written.push(write_text(dir, "models.json", &pretty(&models)?)?);

    // Once for report.json, the charts and the page.
    let views = customer_value::Views::of(out);
    #[cfg(feature = "plots")]
    let charts = {
        let charts = charts::all_with(out, &views)?;
        for c in &charts {
            written.push(write_text(dir, &format!("{}.svg", c.id), &c.svg)?);
        }
        for (id, why) in charts::skipped_with(out, &views) {
            skipped.push((format!("{id}.svg"), why));
        }
        charts
    };

    let mut figures = figures_with(out, &views);
    figures["configuration"] = serde_json::to_value(config).unwrap_or(Value::Null);
    #[cfg(feature = "plots")]
    {
        figures["charts"] = json!(charts.iter().map(|c| c.id).collect::<Vec<_>>());
        let top = views.top.as_deref().unwrap_or_default();
        let page = align::align_text_columns(&html::page(out, &figures, &charts, top));
        written.push(write_text(dir, "report.html", &page)?);
    }
    let (customer_files, customer_skipped) = customers()?;
    written.splice(0..0, customer_files);
    skipped.splice(0..0, customer_skipped);
    let mut files: Vec<String> = written
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    files.push("report.json".into());
    figures["files"] = json!(files);
    figures["skipped"] = json!(
        skipped
            .iter()
            .map(|(f, why)| json!({ "file": f, "reason": why }))
            .collect::<Vec<_>>()
    );
    written.push(write_text(dir, "report.json", &pretty(&figures)?)?);
    Ok(written)
}

fn pretty(v: &Value) -> Result<String> {
    serde_json::to_string_pretty(v).map_err(|source| Error::Serialize {
        what: "report JSON".into(),
        source,
    })
}

fn write_text(dir: &Path, name: &str, text: &str) -> Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

fn parse_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// The fitted models as one JSON object: `purchase` and `spend` (the models behind the
/// CLV scores), `calibration` (the purchase model of the model checks), `segmentation`.
/// Each is the reloadable JSON of its type (`Fitted::from_json`,
/// `SegmentModel::from_json`).
///
/// # Errors
///
/// Serialisation errors.
///
/// # Example
///
/// ```
/// use patronage::pipeline::Pipeline;
/// let p = Pipeline::builder().build()?;
/// let out = p.run(&p.scan("datasets/retail_sample.csv")?)?;
/// let models = patronage::report::models_json(&out)?;
/// assert_eq!(models["purchase"]["model"], "bg-nbd");
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn models_json(out: &PipelineOutput) -> Result<Value> {
    let mut models = json!({});
    if let Some(clv) = &out.clv {
        models["purchase"] = parse_json(&clv.purchase.to_json()?);
        if let Some(spend) = &clv.spend {
            models["spend"] = parse_json(&spend.model.to_json()?);
        }
    }
    if let Some(checks) = &out.checks {
        models["calibration"] = parse_json(&checks.model.to_json()?);
    }
    if let Some(seg) = &out.segmentation {
        models["segmentation"] = parse_json(&seg.model.to_json()?);
    }
    Ok(models)
}

/// Every figure of a run as JSON (what `report.json` holds, without the configuration
/// and the file list): `data` (rows read, used, rejected, customers, dates), `rfm`,
/// `clv` (fit, customer equity, mean P(alive); with intervals
/// `customer_equity_interval: {estimate, lo, hi, level, draws, method,
/// bootstrap_failed_refits}` and `intervals`,
/// see `ClvIntervals::to_json`; with covariates `covariates: {purchase, spend,
/// coefficients}`, the fits as `ClvCovariates::to_json` and one row per coefficient as
/// [`covariates::coefficients`]), `checks`, `model_comparison` (with
/// `[clv] model = "auto"`: the object of `patronage fit compare --json`), `segmentation`,
/// `profitability`, `cohorts`, `churn` (with `[cohorts] contractual`: the object of
/// `patronage fit sbg INPUT --json`), `whatif` (with `[whatif] retention`: the object of
/// `patronage whatif INPUT --json`, grouped by quadrant or RFM segment), `notes`, `skipped_stages` (stages the data cannot support, with
/// the reason), `assumptions` (every assumption in force the data do not give).
///
/// # Example
///
/// ```
/// use patronage::pipeline::Pipeline;
/// let p = Pipeline::builder().build()?;
/// let out = p.run(&p.scan("datasets/retail_sample.csv")?)?;
/// let f = patronage::report::figures(&out);
/// assert_eq!(f["data"]["customers"], out.summary.n_customers());
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn figures(out: &PipelineOutput) -> Value {
    figures_with(out, &customer_value::Views::of(out))
}

/// [`figures`] with the customer-value views already computed.
fn figures_with(out: &PipelineOutput, views: &customer_value::Views) -> Value {
    let r = out.summary.report();
    let revenue: f64 = out
        .customers
        .column("total_spend")
        .ok()
        .and_then(|c| c.f64().ok().map(|c| c.iter().flatten().sum()))
        .unwrap_or(0.0);
    let mut f = json!({
        "data": {
            "rows_read": r.rows_read,
            "rows_used": r.rows_used,
            "returns_netted": r.returns_used,
            "rows_rejected": r.rejects.len(),
            "duplicates_kept": r.duplicates_kept.len(),
            "customers": out.summary.n_customers(),
            "observation_end": out.summary.observation_end().to_string(),
            "calibration_end": out.summary.calibration_end().map(|d| d.to_string()),
            "total_spend": revenue,
        },
        // Which engine ran phase 1 (the figures are the same on every engine).
        "engine": out.engine,
        "rfm": out.rfm.segment_summary(),
        "notes": out.notes,
        "skipped_stages": out.skipped,
        "assumptions": out.assumptions,
    });
    if let Some(clv) = &out.clv {
        let mean = |name: &str| -> Option<f64> {
            let c = clv.frame.column(name).ok()?;
            let v: Vec<f64> = c.f64().ok()?.iter().flatten().collect();
            (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
        };
        f["clv"] = json!({
            "purchase_model": tables::fit_json(&clv.purchase),
            "spend_model": clv.spend.as_ref().map(|s| s.to_json()),
            "customer_equity": clv.customer_equity,
            "mean_p_alive": mean("p_alive"),
            "mean_expected_purchases": mean("expected_purchases"),
            "mean_clv": mean("clv"),
        });
        if let Some(cov) = &clv.covariates {
            let mut j = cov.to_json();
            j["coefficients"] =
                serde_json::to_value(covariates::coefficients(cov)).unwrap_or(Value::Null);
            f["clv"]["covariates"] = j;
        }
        if let Some(iv) = &clv.intervals {
            f["clv"]["customer_equity_interval"] =
                serde_json::to_value(iv.customer_equity).unwrap_or(Value::Null);
            f["clv"]["intervals"] = iv.to_json();
        }
    }
    if let Some(c) = &out.checks {
        f["checks"] = c.to_json();
    }
    if let Some(c) = &out.model_comparison {
        f["model_comparison"] = c.to_json();
    }
    if let Some(seg) = &out.segmentation {
        f["segmentation"] = seg.summary_json();
    }
    if let Some(p) = &out.profitability {
        f["profitability"] = serde_json::to_value(p.figures()).unwrap_or(Value::Null);
    }
    f["cohorts"] = serde_json::to_value(&out.cohorts).unwrap_or(Value::Null);
    if let Some(c) = &out.churn {
        f["churn"] = c.to_json();
    }
    if let Some(w) = &out.whatif {
        f["whatif"] = w.to_json();
    }
    // The customer-value views (what the page's CLV, top-customer and gain parts show);
    // a view that cannot be computed is left out with its error, not the whole report.
    fn view<T: serde::Serialize>(v: &Result<T>) -> Value {
        match v {
            Ok(v) => serde_json::to_value(v).unwrap_or(Value::Null),
            Err(e) => json!({ "error": e.to_string() }),
        }
    }
    f["clv_distribution"] = view(&views.distribution);
    f["top_customers"] = view(&views.top);
    f["holdout_gain"] = view(&views.gain);
    f
}
