//! Writers: CSV, Parquet or JSON chosen by the file's extension.

use std::fs::File;
use std::path::Path;

use polars::prelude::*;

use crate::error::{Error, Result};

/// Writes a frame to `path`: `.parquet` as Parquet, `.json` as an array of records,
/// `.ndjson`/`.jsonl` as one record per line, `.arrow`/`.ipc` as Arrow IPC, anything else
/// as CSV with a header.
///
/// # Errors
/// [`Error::Io`] when the file cannot be created, a polars error when writing fails.
///
/// # Example
/// ```
/// use polars::prelude::*;
/// let mut df = df!("a" => [1, 2]).unwrap();
/// let dir = std::env::temp_dir().join("patronage-doc-write");
/// std::fs::create_dir_all(&dir).unwrap();
/// patronage::io::write_frame(&mut df, dir.join("a.parquet")).unwrap();
/// ```
pub fn write_frame(df: &mut DataFrame, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let file = File::create(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "parquet" | "pq" => {
            ParquetWriter::new(file).finish(df)?;
        }
        "json" => JsonWriter::new(file)
            .with_json_format(JsonFormat::Json)
            .finish(df)?,
        "ndjson" | "jsonl" => JsonWriter::new(file)
            .with_json_format(JsonFormat::JsonLines)
            .finish(df)?,
        "arrow" | "ipc" | "feather" => IpcWriter::new(file).finish(df)?,
        _ => CsvWriter::new(file).include_header(true).finish(df)?,
    }
    Ok(())
}

/// Writes a frame as CSV to any writer (standard output, a buffer).
///
/// # Errors
/// A polars error when writing fails.
pub fn write_csv_to(df: &mut DataFrame, out: impl std::io::Write) -> Result<()> {
    CsvWriter::new(out).include_header(true).finish(df)?;
    Ok(())
}
