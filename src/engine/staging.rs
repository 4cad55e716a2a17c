//! Input staged for an engine: delimited text on DataFusion and Ballista, and Parquet on
//! Ballista. The files are read once, in order, numbered from 1 as they stream past (on
//! across the files of a dataset, as the in-memory engine numbers them), and written as
//! one Parquet file in the spill directory. Phase 1 then runs on that file as on any
//! Parquet input, with the row numbers the in-memory engine gives: a text file has no
//! row index of its own for the engine's sort to keep, and Ballista 55 cannot carry
//! DataFusion's Parquet row index to its executors (its plan serialisation drops the
//! scan's virtual row-index column).
//!
//! Text is read as text (every column a string, as the in-memory reader reads the mapped
//! ones, so our cleaning still parses each value and reports the rows it rejects);
//! Parquet keeps its types. Memory stays at a batch: the scan has one partition (so its
//! order is the file's) and each batch is written as it arrives. The staged file is
//! removed when the [`Staged`] guard is dropped.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::physical_plan::execute_stream;
use datafusion::prelude::{
    CsvReadOptions, DataFrame as DfFrame, ParquetReadOptions, SessionConfig, SessionContext, ident,
};
use futures::StreamExt;

use crate::error::{Error, Result};
use crate::io::read::ROW;
use crate::transactions::TextSource;

/// A staged Parquet copy of a text input, deleted on drop.
pub(super) struct Staged {
    /// The Parquet file: the used columns as text, then the row number.
    pub(super) path: PathBuf,
    /// Data rows staged.
    pub(super) rows: u64,
}

impl Drop for Staged {
    fn drop(&mut self) {
        // Best effort: a leftover file in the spill directory is not worth a panic.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Stages `source`'s `columns` with their row numbers as Parquet under `dir`.
///
/// # Errors
/// [`Error::Io`] when the staged file cannot be created or written;
/// [`Error::DataFusion`] when the text cannot be read (a line with more fields than the
/// header, say).
pub(super) fn stage_text(
    runtime: &tokio::runtime::Runtime,
    source: &TextSource,
    columns: &[String],
    dir: &Path,
) -> Result<Staged> {
    // Every column as text: nothing is parsed here.
    let all = Schema::new(
        source
            .columns
            .iter()
            .map(|c| Field::new(c.as_str(), DataType::Utf8, true))
            .collect::<Vec<_>>(),
    );
    let read = CsvReadOptions::new()
        .has_header(source.options.has_header)
        .delimiter(source.options.delimiter)
        .schema(&all)
        .file_extension("")
        // Quoted fields may hold line breaks, as the in-memory reader allows; a short
        // line gets nulls for its missing fields (then rejected for them), as there.
        .newlines_in_values(true)
        .truncated_rows(true);
    let absolute = std::path::absolute(&source.path).map_err(io(&source.path))?;
    let ctx = one_partition();
    let frame = runtime.block_on(ctx.read_csv(absolute.to_string_lossy().as_ref(), read))?;
    stage(runtime, &ctx, vec![frame], columns, dir)
}

/// Stages the used `columns` of Parquet `files` (in this order, numbered on across them,
/// as the in-memory engine numbers a dataset) with their row numbers as one Parquet file
/// under `dir`: for an engine whose plans cannot carry DataFusion's Parquet row index
/// (Ballista 55 serialises a scan without its virtual row-index column).
///
/// # Errors
/// [`Error::Io`] when a path cannot be made absolute or the staged file cannot be
/// written; [`Error::DataFusion`] when a file cannot be read.
pub(super) fn stage_parquet(
    runtime: &tokio::runtime::Runtime,
    files: &[PathBuf],
    columns: &[String],
    dir: &Path,
) -> Result<Staged> {
    let ctx = one_partition();
    let mut frames = Vec::with_capacity(files.len());
    for file in files {
        let path = std::path::absolute(file).map_err(io(file))?;
        let read = ParquetReadOptions {
            file_extension: "",
            ..ParquetReadOptions::default()
        };
        frames.push(runtime.block_on(ctx.read_parquet(path.to_string_lossy().as_ref(), read))?);
    }
    stage(runtime, &ctx, frames, columns, dir)
}

/// A context whose scans have one partition, so a file is read in its own order, which
/// the row numbers follow.
fn one_partition() -> SessionContext {
    SessionContext::new_with_config(SessionConfig::new().with_target_partitions(1))
}

/// Writes `columns` of `frames`, in order, with row numbers from 1 running on across
/// them, as one Parquet file under `dir`; a batch in memory at a time.
fn stage(
    runtime: &tokio::runtime::Runtime,
    ctx: &SessionContext,
    frames: Vec<DfFrame>,
    columns: &[String],
    dir: &Path,
) -> Result<Staged> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let path = dir.join(format!(
        "patronage-staged-{}-{nanos}.parquet",
        std::process::id()
    ));
    let file = std::fs::File::create(&path).map_err(io(&path))?;
    // From here the guard removes the file whatever fails.
    let mut staged = Staged { path, rows: 0 };
    let mut writer: Option<(ArrowWriter<std::fs::File>, SchemaRef)> = None;
    let mut file = Some(file);
    let mut number = 1i64;
    for df in frames {
        let mut stream = runtime.block_on(async {
            let df = df.select(
                columns
                    .iter()
                    .map(|c| ident(c.as_str()))
                    .collect::<Vec<_>>(),
            )?;
            let plan = df.create_physical_plan().await?;
            Ok::<_, Error>(execute_stream(plan, ctx.task_ctx())?)
        })?;
        let (w, schema) = match &mut writer {
            Some(w) => w,
            None => {
                let mut fields: Vec<Field> = stream
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.as_ref().clone())
                    .collect();
                fields.push(Field::new(ROW, DataType::Int64, false));
                let schema: SchemaRef = Arc::new(Schema::new(fields));
                let Some(f) = file.take() else {
                    return Err(Error::EmptyTable {
                        what: "the staged input".into(),
                    });
                };
                let w = ArrowWriter::try_new(f, schema.clone(), None)
                    .map_err(|e| parquet_error(&staged.path, e))?;
                writer.insert((w, schema))
            }
        };
        while let Some(batch) = runtime.block_on(stream.next()) {
            let batch = batch?;
            let n = batch.num_rows();
            let rows: ArrayRef = Arc::new(Int64Array::from_iter_values(number..number + n as i64));
            number += n as i64;
            let mut arrays = batch.columns().to_vec();
            arrays.push(rows);
            let out = RecordBatch::try_new(schema.clone(), arrays)?;
            w.write(&out).map_err(|e| parquet_error(&staged.path, e))?;
        }
    }
    if let Some((w, _)) = writer {
        w.close().map_err(|e| parquet_error(&staged.path, e))?;
    }
    staged.rows = (number - 1) as u64;
    Ok(staged)
}

/// An I/O error on `path`.
fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + use<> {
    let path = path.to_path_buf();
    move |source| Error::Io {
        path: path.clone(),
        source,
    }
}

fn parquet_error(path: &Path, e: datafusion::parquet::errors::ParquetError) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    }
}
