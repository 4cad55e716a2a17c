//! Phase 1 on Apache DataFusion (feature `datafusion`): a Parquet dataset (or delimited
//! text, staged as Parquet first: `super::staging`) sorted by (customer id, row number)
//! under a memory pool, cut at customer boundaries into blocks, each block cleaned and
//! aggregated by our own code (see the [engine docs](super)).
//!
//! Row numbers are global: each file's rows get the file's offset (the rows of the files
//! before it, from their Parquet metadata) plus the row's index within the file
//! (DataFusion's `file_row_index()`, which the Parquet scan fills from the file itself),
//! so a reject names the row the in-memory engine names.
//!
//! The sort's order of customer ids is the customer table's: text by bytes, integers by
//! value, nulls first (cleaning rejects null ids), so the blocks' tables concatenated in
//! stream order are sorted by id as the in-memory table is. Within a block the rows are
//! put back in input order before cleaning, so a block is exactly a partition of
//! [`crate::transactions::partition`]: whole customers, rows in input order.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::kernels::partition::partition;
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::functions::core::expr_fn::file_row_index;
use datafusion::physical_plan::{ExecutionPlan, execute_stream};
use datafusion::prelude::{
    DataFrame as DfFrame, Expr, ParquetReadOptions, SessionConfig, SessionContext, ident, lit,
};
use futures::StreamExt;
use polars::prelude::{DataFrame, IntoLazy, ParquetReader, SerReader, SortMultipleOptions, col};

use super::{DataFusionSettings, EngineRun};
use crate::error::{Error, Result};
use crate::io::read::ROW;
use crate::transactions::Transactions;
use crate::transactions::aggregate::{CohortPeriod, CustomerTable};
use crate::transactions::clean;
use crate::transactions::options::SummaryOptions;
use crate::transactions::partition::{Keep, Part};

/// Record batches DataFusion emits (rows each).
const BATCH_ROWS: usize = 8192;

/// The customer table of `tx` on DataFusion (see the module docs).
///
/// # Errors
/// As [`Transactions::customer_table`]; [`Error::InvalidOption`] (`engine.kind`) when
/// `tx` is not read from Parquet files; [`Error::DataFusion`] when DataFusion fails.
pub(crate) fn customer_table(
    tx: &Transactions,
    options: &SummaryOptions,
    cohorts: Option<CohortPeriod>,
    settings: &DataFusionSettings,
    keep: Keep,
) -> Result<(CustomerTable, EngineRun)> {
    // The options are checked before anything is read, as in memory.
    if let Some(end) = options.parsed_observation_end()? {
        options.parsed_calibration_end(end)?;
    }
    let cal = options.parsed_calibration_end(i32::MAX)?;
    if tx.parquet_files().is_empty() && tx.text_source().is_none() {
        return Err(Error::invalid(
            "engine.kind",
            "the datafusion engine reads Parquet input (a file, a directory of .parquet files or a glob) or uncompressed delimited text (CSV, TSV); convert this input or use the memory engine",
        ));
    }
    let partitions = settings
        .partitions
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(partitions)
        .thread_name("patronage-datafusion")
        .build()
        .map_err(|source| Error::Io {
            path: std::env::temp_dir(),
            source,
        })?;
    let columns = tx.schema().used_columns();
    // Text is staged as Parquet with its row numbers (see `staging`); Parquet is read
    // where it is.
    let staged = match tx.text_source() {
        Some(source) if tx.parquet_files().is_empty() => {
            let dir = settings
                .spill_dir
                .clone()
                .unwrap_or_else(std::env::temp_dir);
            Some(super::staging::stage_text(
                &runtime, source, &columns, &dir,
            )?)
        }
        _ => None,
    };
    let files: Vec<std::path::PathBuf> = match &staged {
        Some(s) => vec![s.path.clone()],
        None => tx.parquet_files().to_vec(),
    };
    let mut offsets: Vec<u64> = Vec::with_capacity(files.len());
    let mut total = 0u64;
    for path in &files {
        offsets.push(total);
        let file = std::fs::File::open(path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        total += ParquetReader::new(file).num_rows()? as u64;
    }
    if total == 0 {
        return Err(Error::EmptyTable {
            what: "the input has no rows".into(),
        });
    }
    let mut env = RuntimeEnvBuilder::new();
    if let Some(limit) = settings.memory_limit {
        let bytes = usize::try_from(limit.bytes()).unwrap_or(usize::MAX);
        env = env.with_memory_pool(Arc::new(FairSpillPool::new(bytes)));
    }
    if let Some(dir) = &settings.spill_dir {
        env = env.with_temp_file_path(dir.clone());
    }
    let mut config = SessionConfig::new()
        .with_target_partitions(partitions)
        .with_batch_size(BATCH_ROWS);
    // `file_row_index()` is filled by the Parquet scan only when the projection holding
    // it sits directly on the scan; a round-robin repartition in between leaves it to be
    // evaluated (an error). Without it, files above 1 MiB are still split into byte
    // ranges across the partitions, so the sort stays parallel.
    config
        .options_mut()
        .optimizer
        .enable_round_robin_repartition = false;
    if let Some(limit) = settings.memory_limit {
        // The merge of spilled runs reserves this much up front (10 MB by default): at
        // most a quarter of a small pool, so a small limit spills instead of failing.
        let quarter = usize::try_from(limit.bytes() / 4).unwrap_or(usize::MAX);
        let reserve = &mut config.options_mut().execution.sort_spill_reservation_bytes;
        *reserve = (*reserve).min(quarter);
    }
    let ctx = SessionContext::new_with_config_rt(config, env.build_arc()?);

    let id = tx.schema().customer_id.clone();
    let plan: Arc<dyn ExecutionPlan> = runtime.block_on(async {
        let mut all: Option<DfFrame> = None;
        for (path, offset) in files.iter().zip(&offsets) {
            let path = std::path::absolute(path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            let read = ParquetReadOptions {
                file_extension: "",
                ..ParquetReadOptions::default()
            };
            let df = ctx
                .read_parquet(path.to_string_lossy().as_ref(), read)
                .await?;
            let mut select: Vec<Expr> = columns.iter().map(|c| ident(c.as_str())).collect();
            if staged.is_some() {
                // Numbered while staging.
                select.push(ident(ROW));
            } else {
                let first = i64::try_from(*offset + 1).unwrap_or(i64::MAX);
                select.push((file_row_index() + lit(first)).alias(ROW));
            }
            let df = df.select(select)?;
            all = Some(match all {
                None => df,
                Some(a) => a.union(df)?,
            });
        }
        let Some(all) = all else {
            return Err(Error::EmptyTable {
                what: "the dataset has no files".into(),
            });
        };
        let sorted = all.sort(vec![
            ident(id.as_str()).sort(true, true),
            ident(ROW).sort(true, false),
        ])?;
        Ok::<_, Error>(sorted.create_physical_plan().await?)
    })?;

    let today = clean::today();
    let mut stream = {
        let _guard = runtime.enter();
        execute_stream(plan.clone(), ctx.task_ctx())?
    };
    let mut parts: Vec<Part> = Vec::new();
    let mut pending: Vec<RecordBatch> = Vec::new();
    let mut pending_rows = 0usize;
    let mut blocks = 0usize;
    let mut block = |batches: &mut Vec<RecordBatch>, parts: &mut Vec<Part>| -> Result<()> {
        if batches.is_empty() {
            return Ok(());
        }
        let rows = rows_in_input_order(std::mem::take(batches))?;
        if let Some(part) = tx.part(rows, options, cal, today, cohorts)? {
            parts.push(part.keeping(keep)?);
        }
        blocks += 1;
        Ok(())
    };
    while let Some(batch) = runtime.block_on(stream.next()) {
        let batch = batch?;
        if batch.num_rows() == 0 {
            continue;
        }
        pending_rows += batch.num_rows();
        if pending_rows < settings.block_rows {
            pending.push(batch);
            continue;
        }
        // Cut before the batch's last customer, whose rows may go on in the next batch.
        let id_column = batch
            .column_by_name(&id)
            .cloned()
            .ok_or_else(|| Error::MissingColumn {
                column: id.clone(),
                available: batch
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        let runs = partition(&[id_column])?.ranges();
        let cut = runs.last().map_or(0, |r| r.start);
        if cut == 0 {
            // One customer fills the batch: keep reading until it ends.
            pending.push(batch);
            continue;
        }
        pending.push(batch.slice(0, cut));
        block(&mut pending, &mut parts)?;
        let rest = batch.slice(cut, batch.num_rows() - cut);
        pending_rows = rest.num_rows();
        pending.push(rest);
    }
    block(&mut pending, &mut parts)?;
    drop(stream);
    drop(staged);
    let (spill_count, spilled_bytes) = spills(plan.as_ref());
    // The whole-input rules (observation end, calibration checks, strict mode, report
    // order) are settled across the blocks, as across id-range partitions.
    let table = tx.merge(parts, options, cal)?;
    Ok((
        table,
        EngineRun {
            engine: "datafusion".into(),
            blocks,
            spill_count,
            spilled_bytes,
        },
    ))
}

/// A block's batches as one polars frame with its rows back in input order.
fn rows_in_input_order(batches: Vec<RecordBatch>) -> Result<DataFrame> {
    let df = crate::io::arrow::frame_from_record_batches(&batches)?;
    drop(batches);
    Ok(df
        .lazy()
        .sort([ROW], SortMultipleOptions::default())
        .select([col("*")])
        .collect()?)
}

/// Spills over every operator of an executed plan: (times, bytes).
fn spills(plan: &dyn ExecutionPlan) -> (usize, usize) {
    let (mut count, mut bytes) = plan.metrics().map_or((0, 0), |m| {
        (m.spill_count().unwrap_or(0), m.spilled_bytes().unwrap_or(0))
    });
    for child in plan.children() {
        let (c, b) = spills(child.as_ref());
        count += c;
        bytes += b;
    }
    (count, bytes)
}
