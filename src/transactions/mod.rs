//! Transaction tables: loading, cleaning, and the per-customer summary.
//!
//! [`Transactions`] holds a lazy scan and the resolved column mapping; nothing is read
//! until [`Transactions::clean`] or [`Transactions::summary`] runs, and then only the
//! mapped columns are read.

pub mod aggregate;
pub mod clean;
pub mod exact_sum;
pub(crate) mod ids;
pub mod options;
pub mod partition;
pub mod summary;
pub mod timeline;
pub mod units;

use std::path::Path;

use polars::prelude::*;

use crate::error::Result;
use crate::io::CsvOptions;
use crate::io::read::{self, InputFormat, ROW, Scan};
use crate::io::schema::{AmountSource, CostSource, ResolvedSchema, TransactionSchema};
use aggregate::{CohortPeriod, CustomerTable};
use clean::{CleanTransactions, RoleColumns};
use options::SummaryOptions;
use summary::Summary;

/// A transaction table: a lazy scan plus its column mapping.
///
/// # Example
/// ```
/// use patronage::prelude::*;
/// use polars::prelude::*;
/// let df = df!(
///     "customer_id" => ["a", "a", "b"],
///     "date" => ["2024-01-01", "2024-01-08", "2024-01-03"],
///     "amount" => [10.0, 20.0, 5.0],
/// ).unwrap();
/// let tx = Transactions::from_frame(df, TransactionSchema::default()).unwrap();
/// let summary = tx.summary(&SummaryOptions::daily()).unwrap();
/// assert_eq!(summary.n_customers(), 2);
/// ```
#[derive(Clone)]
pub struct Transactions {
    lf: LazyFrame,
    schema: ResolvedSchema,
    /// The file, when the input is a Parquet file (the partitioned summary reads it a
    /// slice at a time with the Parquet reader itself).
    parquet: Option<std::path::PathBuf>,
    /// The Parquet files behind the scan, in row-number order (one for a Parquet file,
    /// several for a dataset; none for other inputs): what an engine other than the
    /// in-memory one reads.
    files: Vec<std::path::PathBuf>,
    /// The uncompressed delimited-text file behind the scan, how it is read and all its
    /// columns: what the DataFusion engine stages as Parquet (none for other inputs).
    #[cfg_attr(not(feature = "datafusion"), allow(dead_code))]
    text: Option<TextSource>,
}

/// An uncompressed delimited-text input as the scan reads it (see
/// [`Transactions::text_source`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TextSource {
    /// The file.
    pub(crate) path: std::path::PathBuf,
    /// Delimiter and header.
    pub(crate) options: CsvOptions,
    /// Every column of the file, in file order, as the scan names them (`column_1` ..
    /// without a header).
    pub(crate) columns: Vec<String>,
}

impl std::fmt::Debug for Transactions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transactions")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl Transactions {
    fn from_scan(scan: Scan, schema: &TransactionSchema) -> Result<Self> {
        let resolved = schema.resolve(&scan.columns)?;
        Ok(Transactions {
            lf: scan.lf,
            schema: resolved,
            parquet: None,
            files: Vec::new(),
            text: None,
        })
    }

    /// Scans a file, choosing the reader from its extension (`.parquet`, `.arrow`/`.ipc`/
    /// `.feather`, `.tsv`, `.txt` sniffed for delimiters, anything else CSV with a header).
    ///
    /// # Errors
    /// [`Error::Io`](crate::Error::Io) for an unreadable file, [`Error::EmptyTable`](crate::Error::EmptyTable)
    /// for an empty one, [`Error::MissingColumn`](crate::Error::MissingColumn) when a role cannot be resolved.
    pub fn scan(path: impl AsRef<Path>, schema: TransactionSchema) -> Result<Self> {
        let path = path.as_ref();
        let format = InputFormat::detect(path, true)?;
        Self::scan_format(path, &format, schema)
    }

    /// Scans a file in an explicit format.
    ///
    /// # Errors
    /// As [`Transactions::scan`].
    pub fn scan_format(
        path: impl AsRef<Path>,
        format: &InputFormat,
        schema: TransactionSchema,
    ) -> Result<Self> {
        let path = path.as_ref();
        let scan = read::scan(path, format)?;
        match format {
            InputFormat::Csv(opts) => {
                // Re-scan with the mapped columns as text: ids keep their padding and a bad
                // value is a rejected row instead of a failed read.
                let resolved = schema.resolve(&scan.columns)?;
                let text = resolved.used_columns();
                let columns = scan.columns;
                let scan = read::scan_csv(path, opts, Some(&text))?;
                // A compressed file is decompressed by polars; DataFusion is built
                // without compression, so it cannot stage one.
                let source = (!crate::io::text::is_compressed(path)).then(|| TextSource {
                    path: path.to_path_buf(),
                    options: opts.clone(),
                    columns,
                });
                Ok(Transactions {
                    text: source,
                    ..Self::from_scan(scan, &schema)?
                })
            }
            InputFormat::Parquet => Ok(Transactions {
                parquet: Some(path.to_path_buf()),
                files: vec![path.to_path_buf()],
                ..Self::from_scan(scan, &schema)?
            }),
            _ => Self::from_scan(scan, &schema),
        }
    }

    /// Scans a Parquet dataset as one table: a file, a directory of `.parquet` files or a
    /// glob of them ([`parquet_files`](crate::io::dataset::parquet_files)), the files
    /// concatenated in path order and the rows numbered from 1 across them (see
    /// [`crate::io::dataset`]). A single file is [`Transactions::scan_parquet`].
    ///
    /// # Errors
    /// As [`Transactions::scan`] for each file; [`Error::DatasetMismatch`](crate::Error::DatasetMismatch)
    /// when a file's columns or types differ from the first file's; [`Error::Io`](crate::Error::Io)
    /// when a directory or glob holds no Parquet file.
    ///
    /// # Example
    /// ```
    /// use patronage::prelude::*;
    /// let dir = tempfile::tempdir()?;
    /// let mut df = patronage::io::read_table("datasets/retail_sample.csv")?;
    /// let half = df.height() / 2;
    /// patronage::io::write_frame(&mut df.slice(0, half), dir.path().join("part-0.parquet"))?;
    /// patronage::io::write_frame(&mut df.slice(half as i64, df.height()), dir.path().join("part-1.parquet"))?;
    /// let parts = Transactions::scan_parquet_dataset(dir.path(), TransactionSchema::default())?;
    /// assert_eq!(parts.parquet_files().len(), 2);
    /// assert_eq!(parts.count_rows()?, df.height() as u64);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn scan_parquet_dataset(path: impl AsRef<Path>, schema: TransactionSchema) -> Result<Self> {
        let path = path.as_ref();
        if !crate::io::dataset::is_dataset(path) {
            return Self::scan_format(path, &InputFormat::Parquet, schema);
        }
        let files = crate::io::dataset::parquet_files(path)?;
        if let [one] = files.as_slice() {
            return Self::scan_format(one, &InputFormat::Parquet, schema);
        }
        let scan = read::scan_parquet_files(&files)?;
        Ok(Transactions {
            files,
            ..Self::from_scan(scan, &schema)?
        })
    }

    /// The Parquet files behind this table, in row-number order: one for a table scanned
    /// from a Parquet file, the dataset's files for [`Transactions::scan_parquet_dataset`],
    /// none for any other input.
    pub fn parquet_files(&self) -> &[std::path::PathBuf] {
        &self.files
    }

    /// The uncompressed delimited-text file this table was scanned from, with its read
    /// options and columns; `None` for any other input.
    #[cfg_attr(not(feature = "datafusion"), allow(dead_code))]
    pub(crate) fn text_source(&self) -> Option<&TextSource> {
        self.text.as_ref()
    }

    /// Scans a CSV file with a header and comma delimiter.
    ///
    /// # Errors
    /// As [`Transactions::scan`].
    pub fn scan_csv(path: impl AsRef<Path>, schema: TransactionSchema) -> Result<Self> {
        Self::scan_format(path, &InputFormat::Csv(CsvOptions::default()), schema)
    }

    /// Scans delimited text with explicit options.
    ///
    /// # Errors
    /// As [`Transactions::scan`].
    pub fn scan_csv_with(
        path: impl AsRef<Path>,
        options: CsvOptions,
        schema: TransactionSchema,
    ) -> Result<Self> {
        Self::scan_format(path, &InputFormat::Csv(options), schema)
    }

    /// Reads whitespace-separated text (the CDNOW files); without a header the columns are
    /// `column_1` .. `column_n`.
    ///
    /// # Errors
    /// As [`Transactions::scan`].
    pub fn scan_whitespace(
        path: impl AsRef<Path>,
        has_header: bool,
        schema: TransactionSchema,
    ) -> Result<Self> {
        Self::scan_format(path, &InputFormat::Whitespace { has_header }, schema)
    }

    /// Scans a Parquet file (lazily: only the mapped columns are read, in parallel).
    ///
    /// # Errors
    /// As [`Transactions::scan`].
    pub fn scan_parquet(path: impl AsRef<Path>, schema: TransactionSchema) -> Result<Self> {
        Self::scan_format(path, &InputFormat::Parquet, schema)
    }

    /// Scans an Arrow IPC file.
    ///
    /// # Errors
    /// As [`Transactions::scan`].
    pub fn scan_ipc(path: impl AsRef<Path>, schema: TransactionSchema) -> Result<Self> {
        Self::scan_format(path, &InputFormat::Ipc, schema)
    }

    /// Wraps an in-memory frame.
    ///
    /// # Errors
    /// [`Error::MissingColumn`](crate::Error::MissingColumn) when a role cannot be resolved.
    pub fn from_frame(df: DataFrame, schema: TransactionSchema) -> Result<Self> {
        Self::from_lazy(df.lazy(), schema)
    }

    /// Wraps a lazy frame (nothing is computed until the summary runs).
    ///
    /// # Errors
    /// [`Error::MissingColumn`](crate::Error::MissingColumn) when a role cannot be resolved.
    pub fn from_lazy(lf: LazyFrame, schema: TransactionSchema) -> Result<Self> {
        Self::from_scan(read::from_lazy(lf)?, &schema)
    }

    /// The resolved column mapping.
    pub fn schema(&self) -> &ResolvedSchema {
        &self.schema
    }

    /// This table reading only the optional roles in `keep` (and always the customer id,
    /// the date and the amount): fewer columns read and parsed, and rows rejected only
    /// for the columns read. See [`ResolvedSchema::keeping`].
    ///
    /// # Example
    /// ```
    /// use patronage::prelude::*;
    /// use patronage::io::OptionalRole;
    /// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
    /// let lean = tx.clone().reading(&[OptionalRole::ReturnFlag]);
    /// assert!(lean.schema().used_columns().len() < tx.schema().used_columns().len());
    /// let options = SummaryOptions::weekly();
    /// assert_eq!(
    ///     lean.summary(&options)?.frequency()?,
    ///     tx.summary(&options)?.frequency()?,
    /// );
    /// # Ok::<(), patronage::Error>(())
    /// ```
    #[must_use]
    pub fn reading(mut self, keep: &[crate::io::OptionalRole]) -> Self {
        self.schema = self.schema.keeping(keep);
        self
    }

    /// The lazy frame of the mapped columns, each under its input name, plus the 1-based
    /// row number column `__patronage_row`.
    pub fn lazy(&self) -> LazyFrame {
        let mut cols = vec![col(ROW)];
        cols.extend(self.schema.used_columns().iter().map(|c| col(c.as_str())));
        self.lf.clone().select(cols)
    }

    /// Collects `lf` (this table's [`Transactions::lazy`]) as role columns.
    fn collect_roles(&self, lf: LazyFrame) -> Result<RoleColumns> {
        self.roles_of(lf.collect()?)
    }

    /// The role columns of a frame with the columns of [`Transactions::lazy`].
    pub(crate) fn roles_of(&self, df: DataFrame) -> Result<RoleColumns> {
        let get = |name: &str| -> Result<(String, Column)> {
            Ok((name.to_string(), df.column(name)?.clone()))
        };
        let s = &self.schema;
        let (amount, amount_factor) = match &s.amount {
            AmountSource::Column(a) => (get(a)?, None),
            AmountSource::PriceTimesQuantity { price, quantity } => {
                (get(price)?, Some(get(quantity)?))
            }
        };
        let (cost, cost_factor) = match &s.cost {
            None => (None, None),
            Some(CostSource::Line(c)) => (Some(get(c)?), None),
            Some(CostSource::UnitTimesQuantity {
                unit_cost,
                quantity,
            }) => (Some(get(unit_cost)?), Some(get(quantity)?)),
        };
        let opt = |c: &Option<String>| c.as_deref().map(get).transpose();
        let mut extra_keys = Vec::new();
        for c in [&s.order_id, &s.channel].into_iter().flatten() {
            extra_keys.push(df.column(c)?.clone());
        }
        Ok(RoleColumns {
            row: df.column(ROW)?.clone(),
            id: get(&s.customer_id)?,
            date: get(&s.date)?,
            amount,
            amount_factor,
            quantity: opt(&s.quantity)?,
            cost,
            cost_factor,
            return_flag: opt(&s.return_flag)?,
            extra_keys,
            order_id: s
                .order_id
                .as_deref()
                .map(|c| df.column(c).cloned())
                .transpose()?,
            channel: s
                .channel
                .as_deref()
                .map(|c| df.column(c).cloned())
                .transpose()?,
            date_format: s.date_format.clone(),
        })
    }

    /// Reads and cleans the table: every row is either used or in the report's rejects.
    ///
    /// # Errors
    /// [`Error::WrongType`](crate::Error::WrongType) for a column of the wrong type,
    /// [`Error::EmptyTable`](crate::Error::EmptyTable) when no row is usable,
    /// [`Error::BadRow`](crate::Error::BadRow) for the first bad row of a strict run,
    /// [`Error::InvalidOption`](crate::Error::InvalidOption) for a bad observation end.
    pub fn clean(&self, options: &SummaryOptions) -> Result<CleanTransactions> {
        clean::clean(&self.collect_roles(self.lazy())?, options)
    }

    /// Cleans the table and summarises it per customer.
    ///
    /// # Errors
    /// As [`Transactions::clean`], and [`Error::InvalidOption`](crate::Error::InvalidOption)
    /// for a calibration end that is not a date before the observation end.
    pub fn summary(&self, options: &SummaryOptions) -> Result<Summary> {
        // Check the options before reading anything.
        if let Some(end) = options.parsed_observation_end()? {
            options.parsed_calibration_end(end)?;
        }
        summary::summarise(self.clean(options)?, options)
    }

    /// Reads, cleans and aggregates the table into the customer table: the summary
    /// columns, the activity counts cost-to-serve needs, the channel counts and, with a
    /// cohort period, the cohort activity. One pass over the rows.
    ///
    /// # Errors
    ///
    /// As [`Transactions::summary`].
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::prelude::*;
    /// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
    /// let table = tx.customer_table(&SummaryOptions::weekly(), None)?;
    /// assert_eq!(table.n_customers(), tx.summary(&SummaryOptions::weekly())?.n_customers());
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn customer_table(
        &self,
        options: &SummaryOptions,
        cohorts: Option<CohortPeriod>,
    ) -> Result<CustomerTable> {
        if let Some(end) = options.parsed_observation_end()? {
            options.parsed_calibration_end(end)?;
        }
        CustomerTable::from_clean(self.clean(options)?, options, cohorts)
    }

    /// Summarises rows already cleaned with the same `options` (so a caller that also
    /// needs the cleaned rows, e.g. for channel shares, reads and cleans the table once).
    ///
    /// # Errors
    /// As [`Transactions::summary`].
    pub fn summary_of(clean: CleanTransactions, options: &SummaryOptions) -> Result<Summary> {
        if let Some(end) = options.parsed_observation_end()? {
            options.parsed_calibration_end(end)?;
        }
        summary::summarise(clean, options)
    }
}

#[cfg(feature = "arrow")]
impl Transactions {
    /// Wraps arrow-rs record batches of a transaction log (feature `arrow`): the batches
    /// are converted with [`frame_from_record_batches`](crate::io::arrow::frame_from_record_batches) and the columns resolved as in
    /// [`Transactions::from_frame`]. Row numbers in rejects count across the batches,
    /// in order, from 1.
    ///
    /// # Errors
    /// As [`frame_from_record_batches`](crate::io::arrow::frame_from_record_batches), and [`Error::MissingColumn`](crate::Error::MissingColumn) when a role cannot
    /// be resolved. Batches with zero rows are accepted here; the summary then fails with
    /// [`Error::EmptyTable`](crate::Error::EmptyTable).
    ///
    /// # Example
    /// ```
    /// use std::sync::Arc;
    /// use arrow_array::{Date32Array, Float64Array, RecordBatch, StringArray};
    /// use patronage::prelude::*;
    ///
    /// let batch = RecordBatch::try_from_iter([
    ///     ("customer_id", Arc::new(StringArray::from(vec!["a", "a", "b"])) as _),
    ///     // Days since 1970-01-01: 2024-01-01, 2024-01-08, 2024-01-03.
    ///     ("date", Arc::new(Date32Array::from(vec![19723, 19730, 19725])) as _),
    ///     ("amount", Arc::new(Float64Array::from(vec![10.0, 20.0, 5.0])) as _),
    /// ])?;
    /// let tx = Transactions::from_record_batches(&[batch], TransactionSchema::default())?;
    /// let summary = tx.summary(&SummaryOptions::daily())?;
    /// assert_eq!(summary.n_customers(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_record_batches(
        batches: &[arrow_array::RecordBatch],
        schema: TransactionSchema,
    ) -> Result<Self> {
        Transactions::from_frame(
            crate::io::arrow::frame_from_record_batches(batches)?,
            schema,
        )
    }
}
