//! Readers: CSV, whitespace-separated text, Parquet, Arrow IPC and in-memory frames, all
//! to a lazy frame that reads only the columns a run uses.

use std::path::Path;
use std::sync::Arc;

use polars::prelude::*;

use crate::error::{Error, Result};

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
    /// Picks the format from the file's extension; `.txt`/`.dat` files are sniffed: a first
    /// line with a comma, semicolon or tab is delimited text, otherwise whitespace-separated.
    ///
    /// # Errors
    /// [`Error::Io`] when a text file cannot be opened for sniffing.
    pub fn detect(path: &Path, has_header: bool) -> Result<Self> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
            .unwrap_or_default();
        Ok(match ext.as_str() {
            "parquet" | "pq" => InputFormat::Parquet,
            "arrow" | "ipc" | "feather" => InputFormat::Ipc,
            "tsv" | "tab" => InputFormat::Csv(CsvOptions {
                delimiter: b'\t',
                has_header,
            }),
            "txt" | "dat" => {
                let first = first_line(path)?;
                match [b',', b';', b'\t']
                    .into_iter()
                    .find(|d| first.as_bytes().contains(d))
                {
                    Some(d) => InputFormat::Csv(CsvOptions {
                        delimiter: d,
                        has_header,
                    }),
                    None => InputFormat::Whitespace { has_header },
                }
            }
            _ => InputFormat::Csv(CsvOptions {
                delimiter: b',',
                has_header,
            }),
        })
    }
}

fn io_err(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn first_line(path: &Path) -> Result<String> {
    use std::io::BufRead;
    let f = std::fs::File::open(path).map_err(|e| io_err(path, e))?;
    let mut line = String::new();
    std::io::BufReader::new(f)
        .read_line(&mut line)
        .map_err(|e| io_err(path, e))?;
    Ok(line)
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

/// Scans a file. For delimited text, `text_columns` (once known) are read as strings so
/// that zero-padded ids stay padded and a bad value becomes a rejected row, not a failed read.
pub(crate) fn scan(path: &Path, format: &InputFormat) -> Result<Scan> {
    if std::fs::metadata(path).map_err(|e| io_err(path, e))?.len() == 0 {
        return Err(Error::EmptyTable {
            what: format!("{} is an empty file", path.display()),
        });
    }
    match format {
        InputFormat::Csv(opts) => scan_csv(path, opts, None),
        InputFormat::Whitespace { has_header } => read_whitespace(path, *has_header),
        InputFormat::Parquet => {
            let mut lf = LazyFrame::scan_parquet(pl_path(path)?, ScanArgsParquet::default())?;
            let columns = columns_of(&mut lf)?;
            Ok(Scan {
                lf: lf.with_row_index(ROW, Some(1)),
                columns,
            })
        }
        InputFormat::Ipc => {
            let mut lf = LazyFrame::scan_ipc(
                pl_path(path)?,
                Default::default(),
                UnifiedScanArgs::default(),
            )?;
            let columns = columns_of(&mut lf)?;
            Ok(Scan {
                lf: lf.with_row_index(ROW, Some(1)),
                columns,
            })
        }
    }
}

/// Re-scans a CSV reading `text_columns` as strings.
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
    let mut lf = base()?.finish()?;
    let columns = columns_of(&mut lf)?;
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
                .finish()?
        }
        None => lf.with_row_index(ROW, Some(1)),
    };
    Ok(Scan { lf, columns })
}

/// Reads whitespace-separated text (runs of spaces or tabs; LF or CRLF). Every field is
/// read as a string. Lines with fewer fields than the header get nulls for the missing
/// fields (and are then rejected for them); blank lines are skipped but keep their number.
fn read_whitespace(path: &Path, has_header: bool) -> Result<Scan> {
    let text = std::fs::read_to_string(path).map_err(|e| io_err(path, e))?;
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
/// extension and sniffing as in [`InputFormat::detect`]), Parquet or Arrow IPC, with
/// polars' type inference.
///
/// # Errors
///
/// [`Error::Io`] when the file cannot be opened; [`Error::Polars`] when it cannot be
/// parsed; [`Error::EmptyTable`] when it has no rows.
///
/// # Example
///
/// ```
/// let df = patronage::io::read_table("datasets/cdnow/donations.csv").unwrap();
/// assert_eq!(df.height(), 22);
/// ```
pub fn read_table(path: impl AsRef<Path>) -> Result<DataFrame> {
    let path = path.as_ref();
    let io_err = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let df = match InputFormat::detect(path, true)? {
        InputFormat::Parquet => ParquetReader::new(file).finish()?,
        InputFormat::Ipc => IpcReader::new(file).finish()?,
        InputFormat::Csv(opts) => CsvReadOptions::default()
            .with_has_header(true)
            .with_parse_options(CsvParseOptions::default().with_separator(opts.delimiter))
            .into_reader_with_file_handle(file)
            .finish()?,
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
    if df.height() == 0 {
        return Err(Error::EmptyTable {
            what: format!("{} has no rows", path.display()),
        });
    }
    Ok(df)
}
