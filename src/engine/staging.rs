//! Delimited text on the DataFusion engine: the file is read once, in order, as text
//! (every column a string, as the in-memory reader reads the mapped ones, so our cleaning
//! still parses each value and reports the rows it rejects), numbered from 1 as it
//! streams past, and written as one Parquet file in the spill directory. Phase 1 then
//! runs on that file as on any Parquet input, with the row numbers the in-memory engine
//! gives (a text file has no row index of its own for the engine's sort to keep).
//!
//! Memory stays at a batch: the scan has one partition (so its order is the file's)
//! and each batch is written as it arrives. The staged file is removed when the
//! [`Staged`] guard is dropped.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::physical_plan::execute_stream;
use datafusion::prelude::{CsvReadOptions, SessionConfig, SessionContext, ident};
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
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
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

    // Every column as text: nothing is parsed here.
    let all = Schema::new(
        source
            .columns
            .iter()
            .map(|c| Field::new(c.as_str(), DataType::Utf8, true))
            .collect::<Vec<_>>(),
    );
    // One partition: the scan's order is the file's, which the row numbers follow.
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(1));
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
    let mut stream = runtime.block_on(async {
        let df = ctx
            .read_csv(absolute.to_string_lossy().as_ref(), read)
            .await?
            .select(
                columns
                    .iter()
                    .map(|c| ident(c.as_str()))
                    .collect::<Vec<_>>(),
            )?;
        let plan = df.create_physical_plan().await?;
        Ok::<_, Error>(execute_stream(plan, ctx.task_ctx())?)
    })?;

    let mut fields: Vec<Field> = columns
        .iter()
        .map(|c| Field::new(c.as_str(), DataType::Utf8, true))
        .collect();
    fields.push(Field::new(ROW, DataType::Int64, false));
    let schema = Arc::new(Schema::new(fields));
    let mut writer = ArrowWriter::try_new(file, schema.clone(), None)
        .map_err(|e| parquet_error(&staged.path, e))?;
    let mut next = 1i64;
    while let Some(batch) = runtime.block_on(stream.next()) {
        let batch = batch?;
        let n = batch.num_rows();
        let rows: ArrayRef = Arc::new(Int64Array::from_iter_values(next..next + n as i64));
        next += n as i64;
        let mut arrays = batch.columns().to_vec();
        arrays.push(rows);
        let out = RecordBatch::try_new(schema.clone(), arrays)?;
        writer
            .write(&out)
            .map_err(|e| parquet_error(&staged.path, e))?;
    }
    writer.close().map_err(|e| parquet_error(&staged.path, e))?;
    staged.rows = (next - 1) as u64;
    Ok(staged)
}

fn parquet_error(path: &Path, e: datafusion::parquet::errors::ParquetError) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    }
}
