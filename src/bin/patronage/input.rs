//! From the command-line options to data: reading the transaction file with the column
//! mapping and format options (`load`), the `SummaryOptions` the time and cleaning options
//! make (`summary_options`, `apply_time_options`), and the summary stage's customer table
//! (`customer_table`, `summarise`, `summarise_partitioned`) with its one-line cleaning
//! report on stderr and the rejects file (`report_cleaning`).

use patronage::engine::Engine;
use patronage::io::OptionalRole;
use patronage::pipeline::{FileFormat, InputConfig};
use patronage::prelude::*;
use patronage::stages::summary::summary_roles;

use crate::args::{InputArgs, TimeArgs};

pub(crate) fn load(input: &InputArgs) -> patronage::Result<Transactions> {
    let schema = TransactionSchema {
        customer_id: input.customer_col.clone(),
        date: input.date_col.clone(),
        amount: input.amount_col.clone(),
        price: input.price_col.clone(),
        quantity: input.quantity_col.clone(),
        cost: input.cost_col.clone(),
        unit_cost: input.unit_cost_col.clone(),
        order_id: input.order_col.clone(),
        channel: input.channel_col.clone(),
        return_flag: input.return_col.clone(),
        date_format: input.date_format.clone(),
    };
    // The pipeline's `[input]` settings, so both read a file the same way.
    let config = InputConfig {
        format: input.whitespace.then_some(FileFormat::Whitespace),
        delimiter: input.delimiter.as_deref().map(str::parse).transpose()?,
        header: !input.no_header,
    };
    if patronage::io::dataset::is_dataset(&input.input) {
        return Transactions::scan_parquet_dataset(&input.input, schema);
    }
    let format = config.format_for(&input.input)?;
    Transactions::scan_format(&input.input, &format, schema)
}

pub(crate) fn summary_options(
    input: &InputArgs,
    time: &TimeArgs,
) -> patronage::Result<SummaryOptions> {
    apply_time_options(SummaryOptions::weekly(), input, time)
}

/// `base` with every time and cleaning option given on the command line applied.
pub(crate) fn apply_time_options(
    mut base: SummaryOptions,
    input: &InputArgs,
    time: &TimeArgs,
) -> patronage::Result<SummaryOptions> {
    if let Some(u) = &time.purchase_unit {
        base.purchase_unit = u.parse()?;
    }
    if let Some(u) = &time.time_unit {
        base.time_unit = u.parse()?;
    }
    if time.observation_end.is_some() {
        base.observation_end = time.observation_end.clone();
    }
    if time.calibration_end.is_some() {
        base.calibration_end = time.calibration_end.clone();
    }
    if let Some(r) = &input.returns {
        base.returns = r.parse()?;
    }
    if let Some(d) = &input.duplicates {
        base.duplicates = d.parse()?;
    }
    base.strict |= input.strict;
    Ok(base)
}

/// The customer table of the summary stage (`stages::summary::summary`) with every
/// mapped role read, with the cleaning report on stderr and the rejects file.
pub(crate) fn customer_table(
    input: &InputArgs,
    time: &TimeArgs,
) -> patronage::Result<CustomerTable> {
    let options = summary_options(input, time)?;
    table_of(load(input)?, input, &options)
}

fn table_of(
    tx: Transactions,
    input: &InputArgs,
    options: &SummaryOptions,
) -> patronage::Result<CustomerTable> {
    let engine = input.engine.apply(Engine::Memory)?;
    let (table, _) = patronage::stages::summary::summary_on(&tx, options, None, &engine)?;
    report_cleaning(input, table.report())?;
    Ok(table)
}

/// The summary columns of the customer table, reading only the roles they need
/// (`stages::summary::summary_roles`) and the `extra` roles a command also uses; rows
/// are rejected only for the columns read.
pub(crate) fn summarise(
    input: &InputArgs,
    time: &TimeArgs,
    extra: &[OptionalRole],
) -> patronage::Result<Summary> {
    let options = summary_options(input, time)?;
    table_of(lean(input, &options, extra)?, input, &options)?.into_summary()
}

/// The transactions reading the summary's roles and `extra`.
fn lean(
    input: &InputArgs,
    options: &SummaryOptions,
    extra: &[OptionalRole],
) -> patronage::Result<Transactions> {
    let mut keep = summary_roles(options).to_vec();
    keep.extend_from_slice(extra);
    Ok(load(input)?.reading(&keep))
}

/// The summary one customer partition at a time (`stages::summary::summary_partitioned`),
/// reading the roles of [`summarise`] and the cost (for the `gross_profit` column).
pub(crate) fn summarise_partitioned(
    input: &InputArgs,
    time: &TimeArgs,
    partitions: Option<usize>,
) -> patronage::Result<Summary> {
    let options = summary_options(input, time)?;
    let tx = lean(input, &options, &[OptionalRole::Cost])?;
    let engine = input.engine.apply(Engine::Memory)?;
    let table = match (&engine, partitions) {
        (Engine::Memory, _) => {
            // Gathers only the summary's columns of each id range.
            let summary = tx.summary_partitioned(&options, partitions)?;
            report_cleaning(input, summary.report())?;
            return Ok(summary);
        }
        (_, Some(_)) => {
            return Err(patronage::Error::InvalidOption {
                option: "partitions".into(),
                reason: "--partitions splits the memory engine's input into id ranges; with --engine datafusion or ballista use --engine-partitions and --memory-limit".into(),
            });
        }
        (engine, None) => patronage::engine::summary(&tx, &options, engine)?.0,
    };
    report_cleaning(input, table.report())?;
    Ok(table)
}

/// The summary written as Parquet part files in `dir` by the chosen engine
/// (`patronage::engine::summary_parts`), reading the roles of
/// [`summarise_partitioned`]; says on stderr how many files and customers it wrote.
pub(crate) fn summarise_to_parts(
    input: &InputArgs,
    time: &TimeArgs,
    dir: &std::path::Path,
) -> patronage::Result<()> {
    let parts = summary_parts(input, time, &[OptionalRole::Cost], dir)?;
    let n = parts.files.len();
    eprintln!(
        "patronage: {} customers written to {} as {n} Parquet part file{}",
        parts.customers,
        parts.dir.display(),
        if n == 1 { "" } else { "s" }
    );
    Ok(())
}

/// The summary written as part files in `dir` by the chosen engine, reading the
/// summary's roles and `extra`, with the cleaning line on stderr.
fn summary_parts(
    input: &InputArgs,
    time: &TimeArgs,
    extra: &[OptionalRole],
    dir: &std::path::Path,
) -> patronage::Result<patronage::engine::SummaryParts> {
    let options = summary_options(input, time)?;
    let tx = lean(input, &options, extra)?;
    let engine = input.engine.apply(Engine::Memory)?;
    let (parts, _) = patronage::engine::summary_parts(&tx, &options, &engine, dir)?;
    report_cleaning(input, &parts.report)?;
    Ok(parts)
}

/// `f` run on the summary written as part files in a hidden directory beside `out` (a
/// stage's output directory), which is removed afterwards whatever `f` returns: the
/// summary's parts are only the stage's input.
pub(crate) fn on_summary_parts<T>(
    input: &InputArgs,
    time: &TimeArgs,
    extra: &[OptionalRole],
    out: &std::path::Path,
    f: impl FnOnce(&patronage::engine::SummaryParts) -> patronage::Result<T>,
) -> patronage::Result<T> {
    on_hidden_parts(
        out,
        "summary",
        |dir| summary_parts(input, time, extra, dir),
        f,
    )
}

/// `f` run on the whole customer table (every role the input maps) written as part
/// files in a hidden directory beside `out`, removed afterwards as for
/// [`on_summary_parts`].
pub(crate) fn on_table_parts<T>(
    input: &InputArgs,
    time: &TimeArgs,
    out: &std::path::Path,
    f: impl FnOnce(&patronage::engine::TableParts) -> patronage::Result<T>,
) -> patronage::Result<T> {
    let table_parts = |dir: &std::path::Path| {
        let options = summary_options(input, time)?;
        let tx = load(input)?;
        let engine = input.engine.apply(Engine::Memory)?;
        let (parts, _) =
            patronage::engine::customer_table_parts(&tx, &options, None, &engine, dir)?;
        report_cleaning(input, &parts.parts.report)?;
        Ok(parts)
    };
    on_hidden_parts(out, "customers", table_parts, f)
}

/// `f` run on what `make` writes in a hidden directory (named for `stage`) beside the
/// stage's output directory `out`; the directory is removed afterwards whatever `f`
/// returns: its parts are only the stage's input.
fn on_hidden_parts<P, T>(
    out: &std::path::Path,
    stage: &str,
    make: impl FnOnce(&std::path::Path) -> patronage::Result<P>,
    f: impl FnOnce(&P) -> patronage::Result<T>,
) -> patronage::Result<T> {
    // Refused now rather than after the input is read.
    patronage::engine::check_part_dir(out)?;
    let dir = hidden_beside(out, stage);
    let result = make(&dir).and_then(|parts| f(&parts));
    // Best effort: a leftover hidden directory is harmless, and the stage's own result
    // (or error) is what the user needs to see.
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// A hidden directory beside the output `out` for an intermediate stage's part files
/// (`.NAME.STAGE-PID`): one per process and stage, so runs do not collide.
pub(crate) fn hidden_beside(out: &std::path::Path, stage: &str) -> std::path::PathBuf {
    let name = out
        .file_name()
        .map_or_else(|| "parts".into(), |n| n.to_string_lossy().into_owned());
    out.parent()
        .unwrap_or_else(|| std::path::Path::new("."))
        .join(format!(".{name}.{stage}-{}", std::process::id()))
}

/// Prints what cleaning did and writes the rejects when asked.
fn report_cleaning(input: &InputArgs, r: &CleaningReport) -> patronage::Result<()> {
    eprintln!(
        "patronage: {} rows read, {} used ({} returns netted), {} rejected, {} duplicates kept; {} customers; observation end {}",
        r.rows_read,
        r.rows_used,
        r.returns_used,
        r.rejects.len(),
        r.duplicates_kept.len(),
        r.customers,
        r.observation_end
    );
    if let Some(path) = &input.rejects {
        patronage::io::write_frame(&mut r.rejects_frame()?, path)?;
    }
    Ok(())
}
