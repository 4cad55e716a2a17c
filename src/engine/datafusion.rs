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

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::kernels::partition::partition;
use datafusion::execution::TaskContext;
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::functions::core::expr_fn::file_row_index;
#[cfg(feature = "ballista")]
use datafusion::logical_expr::Partitioning;
use datafusion::physical_plan::{ExecutionPlan, execute_stream};
use datafusion::prelude::{
    DataFrame as DfFrame, Expr, ParquetReadOptions, SessionConfig, SessionContext, ident, lit,
};
use futures::StreamExt;
use polars::prelude::{DataFrame, IntoLazy, ParquetReader, SerReader, SortMultipleOptions, col};

use super::staging::{Staged, stage_parquet, stage_text};
use super::{DataFusionSettings, EngineRun, MemoryLimit};
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
    with_blocks(
        tx,
        options,
        cohorts,
        settings,
        keep,
        |cut, runtime, ctx, input| cut.table(runtime, ctx, input, "datafusion"),
    )
}

/// `go` called with phase 1 set up on DataFusion: the blocks' settings, the runtime, the
/// session and the input read (see the module docs).
///
/// # Errors
/// As [`customer_table`], and what `go` returns.
pub(super) fn with_blocks<R>(
    tx: &Transactions,
    options: &SummaryOptions,
    cohorts: Option<CohortPeriod>,
    settings: &DataFusionSettings,
    keep: Keep,
    go: impl FnOnce(&Blocks<'_>, &tokio::runtime::Runtime, &SessionContext, Input) -> Result<R>,
) -> Result<R> {
    let cal = checked_calibration_end(tx, options)?;
    let partitions = settings.partitions.unwrap_or_else(cores);
    let runtime = runtime(partitions)?;
    let input = Input::read(tx, &runtime, settings.spill_dir.as_deref(), Stage::Text)?;
    let env = runtime_env(settings.memory_limit, settings.spill_dir.as_deref())?;
    let ctx =
        SessionContext::new_with_config_rt(session_config(partitions, settings.memory_limit), env);
    let cut = Blocks {
        tx,
        options,
        cal,
        cohorts,
        keep,
        block_rows: settings.block_rows,
    };
    go(&cut, &runtime, &ctx, input)
}

/// The calibration end of `options` once the options are checked, before anything is
/// read (as in memory), and after checking that `tx` is input an engine reads.
///
/// # Errors
/// As the options' checks; [`Error::InvalidOption`] (`engine.kind`) when `tx` is read
/// neither from Parquet files nor from uncompressed delimited text.
pub(super) fn checked_calibration_end(
    tx: &Transactions,
    options: &SummaryOptions,
) -> Result<Option<i32>> {
    if let Some(end) = options.parsed_observation_end()? {
        options.parsed_calibration_end(end)?;
    }
    let cal = options.parsed_calibration_end(i32::MAX)?;
    if tx.parquet_files().is_empty() && tx.text_source().is_none() {
        return Err(Error::invalid(
            "engine.kind",
            "the datafusion and ballista engines read Parquet input (a file, a directory of .parquet files or a glob) or uncompressed delimited text (CSV, TSV); convert this input or use the memory engine",
        ));
    }
    Ok(cal)
}

/// The machine's cores (1 when it cannot tell).
pub(super) fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The tokio runtime DataFusion's streams run on, `workers` threads.
pub(super) fn runtime(workers: usize) -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers.max(1))
        .enable_all()
        .thread_name("patronage-engine")
        .build()
        .map_err(|source| Error::Io {
            path: std::env::temp_dir(),
            source,
        })
}

/// The memory pool (spilling above `limit`) and spill directory of a run.
///
/// # Errors
/// [`Error::DataFusion`] when the runtime cannot be built.
pub(super) fn runtime_env(
    limit: Option<MemoryLimit>,
    spill_dir: Option<&Path>,
) -> Result<Arc<RuntimeEnv>> {
    let mut env = RuntimeEnvBuilder::new();
    if let Some(limit) = limit {
        let bytes = usize::try_from(limit.bytes()).unwrap_or(usize::MAX);
        env = env.with_memory_pool(Arc::new(FairSpillPool::new(bytes)));
    }
    if let Some(dir) = spill_dir {
        env = env.with_temp_file_path(dir);
    }
    Ok(env.build_arc()?)
}

/// `config` set for phase 1's plan: `partitions` parallel scans and sorts, batches of
/// [`BATCH_ROWS`], the row index kept on the scan, and a merge reservation that fits a
/// small pool.
pub(super) fn phase_one_config(
    mut config: SessionConfig,
    partitions: usize,
    limit: Option<MemoryLimit>,
) -> SessionConfig {
    config = config
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
    if let Some(limit) = limit {
        // The merge of spilled runs reserves this much up front (10 MB by default): at
        // most a quarter of a small pool, so a small limit spills instead of failing.
        let quarter = usize::try_from(limit.bytes() / 4).unwrap_or(usize::MAX);
        let reserve = &mut config.options_mut().execution.sort_spill_reservation_bytes;
        *reserve = (*reserve).min(quarter);
    }
    config
}

/// [`phase_one_config`] on DataFusion's defaults.
fn session_config(partitions: usize, limit: Option<MemoryLimit>) -> SessionConfig {
    phase_one_config(SessionConfig::new(), partitions, limit)
}

/// What phase 1 reads on an engine: Parquet files with the row number each file's first
/// row has, or the input staged as one Parquet file numbered while staging (removed
/// when this is dropped).
pub(super) struct Input {
    files: Vec<PathBuf>,
    offsets: Vec<u64>,
    staged: Option<Staged>,
    /// How the files are numbered: `super::numbered`'s scan asks for it.
    #[cfg(feature = "ballista")]
    stage: Stage,
}

/// Which inputs [`Input::read`] stages, and how the rows of Parquet read where it is are
/// numbered.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    /// Text only: Parquet is read where it is, numbered by DataFusion's row index.
    Text,
    /// Text only: Parquet is read where it is by our own scan, which numbers the rows
    /// where it runs (Ballista with our codecs: `super::numbered`).
    #[cfg(feature = "ballista")]
    TextNumberedScan,
    /// Parquet too (Ballista's stock executors, which get no row index).
    #[cfg_attr(not(feature = "ballista"), allow(dead_code))]
    All,
}

impl Input {
    /// `tx`'s files, staged as `stage` says under `stage_dir` (default: the system's
    /// temporary directory).
    ///
    /// # Errors
    /// [`Error::Io`] when a file cannot be opened or the input cannot be staged;
    /// [`Error::EmptyTable`] when the input has no rows.
    pub(super) fn read(
        tx: &Transactions,
        runtime: &tokio::runtime::Runtime,
        stage_dir: Option<&Path>,
        stage: Stage,
    ) -> Result<Input> {
        let columns = tx.schema().used_columns();
        let dir = || stage_dir.map_or_else(std::env::temp_dir, Path::to_path_buf);
        let staged = match tx.text_source() {
            Some(source) if tx.parquet_files().is_empty() => {
                Some(stage_text(runtime, source, &columns, &dir())?)
            }
            _ if stage == Stage::All => Some(stage_parquet(
                runtime,
                tx.parquet_files(),
                &columns,
                &dir(),
            )?),
            _ => None,
        };
        let files: Vec<PathBuf> = match &staged {
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
        Ok(Input {
            files,
            offsets,
            staged,
            #[cfg(feature = "ballista")]
            stage,
        })
    }
}

/// The plan of phase 1 on `ctx`: every file's used columns and global row number, all
/// files in one union, sorted by (customer id, row number).
///
/// # Errors
/// [`Error::Io`] when a path cannot be made absolute; [`Error::DataFusion`] when a file
/// cannot be read or planned.
async fn sorted_plan(
    ctx: &SessionContext,
    tx: &Transactions,
    input: &Input,
) -> Result<Arc<dyn ExecutionPlan>> {
    let columns = tx.schema().used_columns();
    let id = tx.schema().customer_id.as_str();
    let all = match numbered_scan(ctx, input, &columns, id)? {
        Some(scan) => Some(scan),
        None => union_of_files(ctx, input, &columns).await?,
    };
    let Some(all) = all else {
        return Err(Error::EmptyTable {
            what: "the dataset has no files".into(),
        });
    };
    let sorted = all.sort(vec![
        ident(id).sort(true, true),
        ident(ROW).sort(true, false),
    ])?;
    Ok(sorted.create_physical_plan().await?)
}

/// Every file's `columns` and global row number (DataFusion's row index plus the file's
/// offset, or the staged row number), the files in one union; `None` without files.
///
/// # Errors
/// As [`sorted_plan`].
async fn union_of_files(
    ctx: &SessionContext,
    input: &Input,
    columns: &[String],
) -> Result<Option<DfFrame>> {
    let mut all: Option<DfFrame> = None;
    for (path, offset) in input.files.iter().zip(&input.offsets) {
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
        if input.staged.is_some() {
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
    Ok(all)
}

/// The files read by our own numbering scan when `input` asks for it (Ballista with our
/// codecs, Parquet read where it is), repartitioned by customer id `id`; `None`
/// otherwise.
///
/// The scan is one partition: Ballista 55 hands each task of a stage a slice of the
/// partitions of the leaves it knows (file groups, shuffle readers) but runs a leaf it
/// does not know whole in every task, so a scan of several partitions would be read
/// once per task. One reader task, then the hash repartition by customer id spreads the
/// rows over the executors, whose sorts run in parallel.
///
/// # Errors
/// [`Error::DataFusion`] when a file's footer cannot be read or lacks a column.
#[cfg(feature = "ballista")]
fn numbered_scan(
    ctx: &SessionContext,
    input: &Input,
    columns: &[String],
    id: &str,
) -> Result<Option<DfFrame>> {
    if input.stage != Stage::TextNumberedScan || input.staged.is_some() {
        return Ok(None);
    }
    let scan = super::numbered::NumberedParquet::new(&input.files, &input.offsets, columns)?;
    let partitions = ctx.copied_config().target_partitions();
    Ok(Some(ctx.read_table(Arc::new(scan))?.repartition(
        Partitioning::Hash(vec![ident(id)], partitions),
    )?))
}

/// Without Ballista, nothing asks for our numbering scan.
#[cfg(not(feature = "ballista"))]
fn numbered_scan(_: &SessionContext, _: &Input, _: &[String], _: &str) -> Result<Option<DfFrame>> {
    Ok(None)
}

/// Cuts the sorted stream of phase 1 at customer boundaries into blocks of about
/// `block_rows` rows and cleans and aggregates each.
pub(super) struct Blocks<'a> {
    pub(super) tx: &'a Transactions,
    pub(super) options: &'a SummaryOptions,
    /// The checked calibration end.
    pub(super) cal: Option<i32>,
    pub(super) cohorts: Option<CohortPeriod>,
    pub(super) keep: Keep,
    pub(super) block_rows: usize,
}

impl Blocks<'_> {
    /// Phase 1 on `ctx`: [`sorted_plan`] of `input` executed, cut and cleaned block by
    /// block, the blocks merged; the run named `engine`, with the spills of the plan's
    /// operators in this process.
    ///
    /// # Errors
    /// As [`Blocks::run`], [`sorted_plan`] and [`Transactions::customer_table`].
    pub(super) fn table(
        &self,
        runtime: &tokio::runtime::Runtime,
        ctx: &SessionContext,
        input: Input,
        engine: &str,
    ) -> Result<(CustomerTable, EngineRun)> {
        let mut parts: Vec<Part> = Vec::new();
        let run = self.each(runtime, ctx, input, engine, &mut |part| {
            parts.push(part);
            Ok(())
        })?;
        // The whole-input rules (observation end, calibration checks, strict mode, report
        // order) are settled across the blocks, as across id-range partitions.
        let table = self.tx.merge(parts, self.options, self.cal)?;
        Ok((table, run))
    }

    /// Phase 1 on `ctx` as [`Blocks::table`], each block's part (its table cut to
    /// `keep`) handed to `on_part` in stream order (so in customer id order) instead of
    /// gathered; the whole-input rules are left to the caller.
    ///
    /// # Errors
    /// As [`Blocks::table`], and what `on_part` returns.
    pub(super) fn each(
        &self,
        runtime: &tokio::runtime::Runtime,
        ctx: &SessionContext,
        input: Input,
        engine: &str,
        on_part: &mut dyn FnMut(Part) -> Result<()>,
    ) -> Result<EngineRun> {
        let plan = runtime.block_on(sorted_plan(ctx, self.tx, &input))?;
        let blocks = self.run(runtime, plan.clone(), ctx.task_ctx(), on_part)?;
        let staged_rows = input.staged.as_ref().map_or(0, |s| s.rows);
        drop(input);
        let (spill_count, spilled_bytes) = spills(plan.as_ref());
        Ok(EngineRun {
            engine: engine.into(),
            blocks,
            spill_count,
            spilled_bytes,
            staged_rows,
        })
    }

    /// Executes `plan`, hands each block's part to `on_part` and returns the number of
    /// blocks.
    ///
    /// # Errors
    /// As the cleaning of a block ([`Error::BadRow`] in strict mode, say);
    /// [`Error::DataFusion`] when the stream fails; [`Error::MissingColumn`] when the
    /// customer id is not among the stream's columns.
    fn run(
        &self,
        runtime: &tokio::runtime::Runtime,
        plan: Arc<dyn ExecutionPlan>,
        task: Arc<TaskContext>,
        on_part: &mut dyn FnMut(Part) -> Result<()>,
    ) -> Result<usize> {
        let id = self.tx.schema().customer_id.as_str();
        let today = clean::today();
        let mut stream = {
            let _guard = runtime.enter();
            execute_stream(plan, task)?
        };
        let mut pending: Vec<RecordBatch> = Vec::new();
        let mut pending_rows = 0usize;
        let mut blocks = 0usize;
        let mut block = |batches: &mut Vec<RecordBatch>| -> Result<()> {
            if batches.is_empty() {
                return Ok(());
            }
            let rows = rows_in_input_order(std::mem::take(batches))?;
            if let Some(part) = self
                .tx
                .part(rows, self.options, self.cal, today, self.cohorts)?
            {
                on_part(part.keeping(self.keep)?)?;
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
            if pending_rows < self.block_rows {
                pending.push(batch);
                continue;
            }
            // Cut before the batch's last customer, whose rows may go on in the next batch.
            let id_column =
                batch
                    .column_by_name(id)
                    .cloned()
                    .ok_or_else(|| Error::MissingColumn {
                        column: id.to_string(),
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
            block(&mut pending)?;
            let rest = batch.slice(cut, batch.num_rows() - cut);
            pending_rows = rest.num_rows();
            pending.push(rest);
        }
        block(&mut pending)?;
        Ok(blocks)
    }
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
