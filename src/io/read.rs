//! Readers: CSV, whitespace-separated text, Parquet, Arrow IPC and in-memory frames, all
//! to a lazy frame that reads only the columns a run uses.
//!
//! Files are checked before polars reads them (the crate's `io/text.rs` and
//! `io/columnar.rs`), so malformed input ends in a typed error naming the
//! file (and the row and column where one is at fault), never a panic: empty files are
//! [`Error::EmptyTable`]; wrong magic bytes, files cut short and corrupt compressed data
//! [`Error::UnreadableFile`]; text that is not UTF-8 [`Error::NotUtf8`]; a header with a
//! name twice [`Error::DuplicateColumn`]; a Parquet/IPC column of a type polars cannot
//! read [`Error::WrongType`]. Text may be gzip or zstd compressed (found by its first
//! bytes; `.csv.gz`, `.tsv.zst`, `.txt.gz` ... name the format inside). Parquet and IPC
//! decimal columns are read as f64.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use polars::prelude::*;

use crate::error::{Error, Result};
use crate::io::columnar::{self, Columnar};
use crate::io::text::{self, COMPRESSED_SUFFIXES, io_err};

/// Name of the row-number column every reader adds (1-based data row number).
pub(crate) const ROW: &str = "__patronage_row";

/// Options of the delimited-text reader.
///
/// # Example
/// ```
/// use patronage::io::CsvOptions;
/// let opts = CsvOptions::default().delimiter(b';').has_header(false);
/// assert_eq!(opts.delimiter, b';');
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    /// Field separator (default `,`).
    pub delimiter: u8,
    /// Whether the first line names the columns (default true). Without a header the
    /// columns are named `column_1` .. `column_n`.
    pub has_header: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: b',',
            has_header: true,
        }
    }
}

impl CsvOptions {
    /// Sets the delimiter.
    #[must_use]
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }
    /// Sets whether the file has a header line.
    #[must_use]
    pub fn has_header(mut self, has_header: bool) -> Self {
        self.has_header = has_header;
        self
    }
}

/// The file formats the readers know.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputFormat {
    /// Delimited text.
    Csv(CsvOptions),
    /// Fields separated by runs of spaces or tabs, LF or CRLF line ends (the CDNOW files).
    Whitespace {
        /// Whether the first line names the columns.
        has_header: bool,
    },
    /// Apache Parquet.
    Parquet,
    /// Arrow IPC (Feather v2).
    Ipc,
}

impl InputFormat {
    /// Picks the format from the file's extension, looking through a compression suffix
    /// (`.gz`, `.gzip`, `.zst`, `.zstd`): `.parquet`/`.pq` Parquet, `.arrow`/`.ipc`/
    /// `.feather` Arrow IPC, `.tsv`/`.tab` tab-separated. Anything else is delimited text
    /// whose delimiter is sniffed from its first lines (comma, semicolon, tab or pipe; see
    /// below), comma when the first line has none; `.txt`/`.dat` files whose first line
    /// has none of them are whitespace-separated.
    ///
    /// The sniffer takes the delimiter the first non-blank line has; when it has several,
    /// the one found as often on each of the next lines (up to 20), else the most frequent,
    /// ties going in the order comma, semicolon, tab, pipe. Quoted text is not counted.
    ///
    /// # Errors
    /// [`Error::Io`] when a text file cannot be opened for sniffing.
    pub fn detect(path: &Path, has_header: bool) -> Result<Self> {
        let name = path
            .file_name()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        let mut parts: Vec<&str> = name.split('.').skip(1).collect();
        if parts
            .last()
            .is_some_and(|e| COMPRESSED_SUFFIXES.contains(e))
        {
            parts.pop();
        }
        let csv = |delimiter| {
            InputFormat::Csv(CsvOptions {
                delimiter,
                has_header,
            })
        };
        Ok(match parts.last().copied().unwrap_or_default() {
            "parquet" | "pq" => InputFormat::Parquet,
            "arrow" | "ipc" | "feather" => InputFormat::Ipc,
            "tsv" | "tab" => csv(b'\t'),
            "txt" | "dat" => match text::sniff_delimiter(path)? {
                Some(d) => csv(d),
                None => InputFormat::Whitespace { has_header },
            },
            _ => csv(text::sniff_delimiter(path)?.unwrap_or(b',')),
        })
    }
}

fn pl_path(path: &Path) -> Result<PlRefPath> {
    if !path.exists() {
        return Err(io_err(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        ));
    }
    Ok(PlRefPath::try_from_path(path)?)
}

/// [`Error::EmptyTable`] for a file of no bytes (or [`Error::Io`] when it cannot be found).
fn refuse_empty(path: &Path) -> Result<()> {
    if std::fs::metadata(path).map_err(|e| io_err(path, e))?.len() == 0 {
        return Err(Error::EmptyTable {
            what: format!("{} is an empty file", path.display()),
        });
    }
    Ok(())
}

/// A polars error while scanning or reading `path` as `format`, as
/// [`Error::UnreadableFile`].
fn unreadable<'a>(path: &'a Path, format: &'a str) -> impl Fn(PolarsError) -> Error + 'a {
    move |e| Error::UnreadableFile {
        path: path.to_path_buf(),
        format: format.to_string(),
        reason: e.to_string(),
    }
}

/// A lazy scan plus the names of its columns (not counting the row number).
pub(crate) struct Scan {
    pub lf: LazyFrame,
    pub columns: Vec<String>,
}

fn columns_of(lf: &mut LazyFrame) -> Result<Vec<String>> {
    Ok(lf
        .collect_schema()?
        .iter_names()
        .map(|n| n.to_string())
        .filter(|n| n != ROW)
        .collect())
}

/// Scans a file after checking it (see the module docs). For delimited text,
/// `text_columns` (once known) are read as strings so that zero-padded ids stay padded and
/// a bad value becomes a rejected row, not a failed read; see [`scan_csv`].
pub(crate) fn scan(path: &Path, format: &InputFormat) -> Result<Scan> {
    refuse_empty(path)?;
    match format {
        InputFormat::Csv(opts) => {
            text::check_delimited(path, opts.delimiter, opts.has_header)?;
            scan_csv(path, opts, None)
        }
        InputFormat::Whitespace { has_header } => read_whitespace(path, *has_header),
        InputFormat::Parquet => {
            columnar::check(path, Columnar::Parquet)?;
            let lf = LazyFrame::scan_parquet(pl_path(path)?, ScanArgsParquet::default())
                .map_err(unreadable(path, "Parquet"))?;
            columnar_scan(path, "Parquet", lf)
        }
        InputFormat::Ipc => {
            columnar::check(path, Columnar::Ipc)?;
            let lf = LazyFrame::scan_ipc(
                pl_path(path)?,
                Default::default(),
                UnifiedScanArgs::default(),
            )
            .map_err(unreadable(path, "Arrow IPC"))?;
            columnar_scan(path, "Arrow IPC", lf)
        }
    }
}

/// Scans the Parquet files of a dataset ([`crate::io::dataset::parquet_files`]) as one
/// table: each file checked as [`scan`] checks one, the files concatenated in the given
/// order, decimal columns as f64, then rows numbered from 1 across the files.
///
/// # Errors
/// As [`scan`] for each file; [`Error::DatasetMismatch`] for a file whose columns or
/// column types differ from the first file's.
pub(crate) fn scan_parquet_files(files: &[PathBuf]) -> Result<Scan> {
    let mut scans: Vec<LazyFrame> = Vec::with_capacity(files.len());
    let mut first: Option<(PathBuf, Schema)> = None;
    for path in files {
        refuse_empty(path)?;
        columnar::check(path, Columnar::Parquet)?;
        let mut lf = LazyFrame::scan_parquet(pl_path(path)?, ScanArgsParquet::default())
            .map_err(unreadable(path, "Parquet"))?;
        let schema = (*lf.collect_schema().map_err(unreadable(path, "Parquet"))?).clone();
        match &first {
            None => first = Some((path.clone(), schema)),
            Some((first_path, want)) => {
                if let Some((column, reason)) = schema_difference(want, &schema) {
                    return Err(Error::DatasetMismatch {
                        path: path.clone(),
                        first: first_path.clone(),
                        column,
                        reason,
                    });
                }
            }
        }
        scans.push(lf);
    }
    let Some((_, schema)) = first else {
        return Err(Error::EmptyTable {
            what: "the dataset has no files".into(),
        });
    };
    let lf = if scans.len() == 1 {
        scans.pop().unwrap_or_default()
    } else {
        concat(scans, UnionArgs::default())?
    };
    let columns = schema.iter_names().map(|n| n.to_string()).collect();
    let lf = columnar::decimals_as_f64(lf, &schema);
    Ok(Scan {
        lf: lf.with_row_index(ROW, Some(1)),
        columns,
    })
}

/// The first column (in `want`'s order, then `got`'s) whose presence or type differs
/// between two files' schemas, and how.
fn schema_difference(want: &Schema, got: &Schema) -> Option<(String, String)> {
    for (name, dtype) in want.iter() {
        match got.get(name) {
            None => return Some((name.to_string(), "missing from this file".into())),
            Some(t) if t != dtype => {
                return Some((
                    name.to_string(),
                    format!("type {t} here, {dtype} in the first file"),
                ));
            }
            Some(_) => {}
        }
    }
    got.iter_names()
        .find(|n| want.get(n).is_none())
        .map(|n| (n.to_string(), "not in the first file".into()))
}

/// The scan of a checked Parquet or IPC file: decimal columns as f64, row numbers added.
fn columnar_scan(path: &Path, format: &str, mut lf: LazyFrame) -> Result<Scan> {
    let schema = lf.collect_schema().map_err(unreadable(path, format))?;
    let columns = schema.iter_names().map(|n| n.to_string()).collect();
    let lf = columnar::decimals_as_f64(lf, &schema);
    Ok(Scan {
        lf: lf.with_row_index(ROW, Some(1)),
        columns,
    })
}

/// Scans a CSV (checked by [`scan`] first), reading `text_columns` as strings. Gzip and
/// zstd compressed text is decompressed by polars as it reads.
pub(crate) fn scan_csv(
    path: &Path,
    opts: &CsvOptions,
    text_columns: Option<&[String]>,
) -> Result<Scan> {
    let base = || -> Result<LazyCsvReader> {
        Ok(LazyCsvReader::new(pl_path(path)?)
            .with_separator(opts.delimiter)
            .with_has_header(opts.has_header)
            .with_truncate_ragged_lines(true))
    };
    let mut lf = base()?.finish().map_err(unreadable(path, "CSV"))?;
    let columns = columns_of(&mut lf).map_err(|e| match e {
        Error::Polars(e) => unreadable(path, "CSV")(e),
        e => e,
    })?;
    let lf = match text_columns {
        Some(text) => {
            let overwrite: Schema = text
                .iter()
                .map(|c| Field::new(c.as_str().into(), DataType::String))
                .collect();
            base()?
                .with_dtype_overwrite(Some(Arc::new(overwrite)))
                .with_row_index(Some(RowIndex {
                    name: ROW.into(),
                    offset: 1,
                }))
                .finish()
                .map_err(unreadable(path, "CSV"))?
        }
        None => lf.with_row_index(ROW, Some(1)),
    };
    Ok(Scan { lf, columns })
}

/// Reads whitespace-separated text (runs of spaces or tabs; LF or CRLF; gzip or zstd
/// compressed or not). Every field is read as a string. Lines with fewer fields than the
/// header get nulls for the missing fields (and are then rejected for them); blank lines
/// are skipped but keep their number.
fn read_whitespace(path: &Path, has_header: bool) -> Result<Scan> {
    let bytes = text::read_all(path)?;
    if bytes.is_empty() {
        return Err(Error::EmptyTable {
            what: format!("{} has no text", path.display()),
        });
    }
    let text = text::check_whitespace(path, bytes, has_header)?;
    let mut lines = text.lines().map(|l| l.trim_end_matches('\r'));
    let mut header: Option<Vec<String>> = None;
    if has_header {
        for line in lines.by_ref() {
            if !line.trim().is_empty() {
                header = Some(line.split_whitespace().map(str::to_string).collect());
                break;
            }
        }
    }
    let mut cols: Vec<Vec<Option<&str>>> = Vec::new();
    let mut rows: Vec<IdxSize> = Vec::new();
    let mut width = header.as_ref().map_or(0, Vec::len);
    for (i, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        if header.is_none() && fields.len() > width {
            width = fields.len();
        }
        while cols.len() < width {
            cols.push(vec![None; rows.len()]);
        }
        for (j, col) in cols.iter_mut().enumerate() {
            col.push(fields.get(j).copied());
        }
        rows.push(IdxSize::try_from(i + 1).unwrap_or(IdxSize::MAX));
    }
    let names: Vec<String> = match header {
        Some(h) => h,
        None => (1..=width).map(|i| format!("column_{i}")).collect(),
    };
    if rows.is_empty() {
        return Err(Error::EmptyTable {
            what: format!("{} has no data rows", path.display()),
        });
    }
    let mut series: Vec<Column> = vec![Column::new(ROW.into(), rows)];
    for (j, name) in names.iter().enumerate() {
        let values = cols
            .get(j)
            .cloned()
            .unwrap_or_else(|| vec![None; series[0].len()]);
        series.push(Column::new(name.as_str().into(), values));
    }
    let df = DataFrame::new_infer_height(series)?;
    Ok(Scan {
        lf: df.lazy(),
        columns: names,
    })
}

/// A lazy frame given by the caller.
pub(crate) fn from_lazy(mut lf: LazyFrame) -> Result<Scan> {
    let columns = columns_of(&mut lf)?;
    Ok(Scan {
        lf: lf.with_row_index(ROW, Some(1)),
        columns,
    })
}

/// Reads a whole table (a per-customer summary, say) from CSV (header row; delimiter by
/// extension and sniffing as in [`InputFormat::detect`]; gzip or zstd compressed or not),
/// Parquet or Arrow IPC, with polars' type inference, except that a CSV's `customer_id`
/// column is read as text (as the transaction readers read ids: `00042` keeps its padding
/// and joins to the log's `00042`). The file is checked first as the
/// scans check theirs (see the module docs); decimal columns are read as f64.
///
/// # Errors
///
/// - [`Error::Io`] when the file cannot be opened;
/// - [`Error::EmptyTable`] when it is empty or has no rows;
/// - [`Error::UnreadableFile`] when it is not the format its name says, is cut short, or
///   does not parse;
/// - [`Error::NotUtf8`] for text that is not UTF-8 (naming the row and column);
/// - [`Error::DuplicateColumn`] when two columns have one name;
/// - [`Error::WrongType`] for a Parquet/IPC column of a type polars cannot read;
/// - [`Error::InvalidOption`] for whitespace-separated text (not a table format here), or
///   a delimiter that leaves the header one column holding another delimiter.
///
/// # Example
///
/// ```
/// let df = patronage::io::read_table("datasets/cdnow/donations.csv").unwrap();
/// assert_eq!(df.height(), 22);
/// ```
pub fn read_table(path: impl AsRef<Path>) -> Result<DataFrame> {
    let path = path.as_ref();
    refuse_empty(path)?;
    let open = || std::fs::File::open(path).map_err(|e| io_err(path, e));
    let df = match InputFormat::detect(path, true)? {
        InputFormat::Parquet => {
            columnar::check(path, Columnar::Parquet)?;
            ParquetReader::new(open()?)
                .finish()
                .map_err(unreadable(path, "Parquet"))?
        }
        InputFormat::Ipc => {
            columnar::check(path, Columnar::Ipc)?;
            IpcReader::new(open()?)
                .finish()
                .map_err(unreadable(path, "Arrow IPC"))?
        }
        InputFormat::Csv(opts) => {
            text::check_delimited(path, opts.delimiter, true)?;
            // Customer ids are text, as in the transaction readers: `00042` keeps its
            // padding and joins to the transactions' `00042`.
            let ids: Schema = [Field::new("customer_id".into(), DataType::String)]
                .into_iter()
                .collect();
            CsvReadOptions::default()
                .with_has_header(true)
                .with_schema_overwrite(Some(Arc::new(ids)))
                .with_parse_options(CsvParseOptions::default().with_separator(opts.delimiter))
                .into_reader_with_file_handle(open()?)
                .finish()
                .map_err(unreadable(path, "CSV"))?
        }
        InputFormat::Whitespace { .. } => {
            return Err(Error::invalid(
                "input",
                format!(
                    "{}: a per-customer table must be CSV, Parquet or Arrow IPC",
                    path.display()
                ),
            ));
        }
    };
    let schema = df.schema().clone();
    let df = columnar::decimals_as_f64(df.lazy(), &schema).collect()?;
    if df.height() == 0 {
        return Err(Error::EmptyTable {
            what: format!("{} has no rows", path.display()),
        });
    }
    Ok(df)
}
