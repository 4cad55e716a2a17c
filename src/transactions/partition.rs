//! Out-of-core summary: the input is split into customer partitions by ranges of the
//! customer id, and each partition is read, cleaned and summarised on its own.
//!
//! Every rule of cleaning and of the summary works per customer except four, which are
//! settled over all partitions afterwards, so the result is the in-memory one:
//! - the observation end, when not given, is the last valid date not after today over
//!   every row. A partition is cleaned with its own last date; the rows it rejects as
//!   future are the same (a valid row after the input's end is after today either way),
//!   and the columns that depend on the end (`T`, `recency_days`, `duration_holdout`)
//!   are recomputed from `first_purchase` and `last_purchase` where its end differs;
//! - the checks that a calibration end is before the observation end and not before the
//!   first transaction;
//! - the errors that need every row: a text column in which no value parses, no usable
//!   row, and strict mode (the first bad row is the one with the lowest row number in the
//!   whole input, as in memory, so a strict run reads every partition before failing);
//! - the order of the report: rejects by row number, kept duplicates in order of their
//!   customer's first row.
//!
//! The ranges come from a sample of the ids (every k-th row, read a slice at a time), so
//! the partitions in id order give the output already sorted by customer id. Each
//! partition is one filtered scan of the input: a Parquet file is read once per partition
//! (only the mapped columns; the id filter runs in the reader), which keeps disk use at
//! zero and memory at one partition plus the output table.

use std::path::PathBuf;

use polars::prelude::*;

use super::Transactions;
use super::aggregate::CustomerTable;
use super::clean::{self, CleaningReport, DuplicateRow, PartFacts};
use super::options::SummaryOptions;
use super::summary::Summary;
use crate::error::{Error, Result};
use crate::io::read::ROW;

/// The number of input rows a partition aims at when the count is chosen automatically.
///
/// At about 220 bytes of peak memory per input row (the in-memory path: 10M rows of the
/// benchmark log peak at 2.2 GB), 10M rows per partition keep the working set near 2 GB.
pub const DEFAULT_ROWS_PER_PARTITION: u64 = 10_000_000;

/// Ids sampled to choose the partition boundaries.
const SAMPLE: u64 = 1 << 18;
/// Rows read at a time while sampling ids.
const SAMPLE_SLICE: u64 = 1 << 23;

/// The number of partitions for `rows` input rows at `rows_per_partition` rows each
/// (at least 1).
///
/// # Example
/// ```
/// use patronage::transactions::partition::partitions_for;
/// assert_eq!(partitions_for(5_000_000, 10_000_000), 1);
/// assert_eq!(partitions_for(100_000_000, 10_000_000), 10);
/// assert_eq!(partitions_for(100_000_001, 10_000_000), 11);
/// ```
pub fn partitions_for(rows: u64, rows_per_partition: u64) -> usize {
    usize::try_from(rows.div_ceil(rows_per_partition.max(1)))
        .unwrap_or(usize::MAX)
        .max(1)
}

/// Partition boundaries: ascending distinct ids; partition `k` holds the ids in
/// `[b[k-1], b[k])` (the first also holds null ids).
#[derive(Debug, Clone, PartialEq)]
enum Bounds {
    Text(Vec<String>),
    Signed(Vec<i64>),
    Unsigned(Vec<u64>),
}

impl Bounds {
    fn len(&self) -> usize {
        match self {
            Bounds::Text(v) => v.len(),
            Bounds::Signed(v) => v.len(),
            Bounds::Unsigned(v) => v.len(),
        }
    }

    fn lit(&self, k: usize) -> Expr {
        match self {
            Bounds::Text(v) => lit(v[k].as_str()),
            Bounds::Signed(v) => lit(v[k]),
            Bounds::Unsigned(v) => lit(v[k]),
        }
    }

    /// The filter of each partition, in id order.
    fn predicates(&self, id: &str) -> Vec<Expr> {
        let m = self.len();
        (0..=m)
            .map(|k| {
                let lower = (k > 0).then(|| col(id).gt_eq(self.lit(k - 1)));
                let upper = (k < m).then(|| col(id).lt(self.lit(k)));
                match (lower, upper) {
                    (None, Some(u)) => u.or(col(id).is_null()),
                    (Some(l), Some(u)) => l.and(u),
                    (Some(l), None) => l,
                    (None, None) => lit(true),
                }
            })
            .collect()
    }
}

/// `p - 1` boundaries at the quantiles of a sorted sample, without repeats.
fn quantiles<T: Clone + PartialEq>(sorted: &[T], p: usize) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(p.saturating_sub(1));
    if sorted.is_empty() {
        return out;
    }
    for k in 1..p {
        let v = &sorted[k * sorted.len() / p];
        if out.last() != Some(v) {
            out.push(v.clone());
        }
    }
    out
}

/// Rows read at a time when the input is split into partitions.
const SLICE: u64 = 1 << 22;

fn io_err(path: &std::path::Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A temporary directory of partition files, removed when dropped.
struct Spill {
    dir: PathBuf,
}

impl Drop for Spill {
    fn drop(&mut self) {
        // Best effort: a file left behind in the temporary directory is no error.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What a partitioned run keeps of each partition's customer table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keep {
    /// Every column (the customer table).
    Table,
    /// The summary's columns only (the 100M-row summary's peak is the gathered tables).
    Summary,
}

/// One partition's share of the result.
pub(crate) struct Part {
    /// The partition's customer table; `None` when every row was rejected.
    pub frame: Option<CustomerTable>,
    pub report: CleaningReport,
    pub facts: PartFacts,
}

impl Part {
    /// The part with only `keep` of its customer table.
    pub(crate) fn keeping(mut self, keep: Keep) -> Result<Part> {
        if keep == Keep::Summary {
            self.frame = self.frame.map(CustomerTable::keeping_summary).transpose()?;
        }
        Ok(self)
    }
}

impl Transactions {
    /// The number of input rows (from the file's metadata for Parquet and IPC; a scan
    /// of the file for text).
    ///
    /// # Errors
    /// A polars error when the input cannot be read.
    ///
    /// # Example
    /// ```
    /// use patronage::prelude::*;
    /// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default()).unwrap();
    /// assert!(tx.count_rows().unwrap() > 0);
    /// ```
    pub fn count_rows(&self) -> Result<u64> {
        let df = self.lf.clone().select([len().alias("n")]).collect()?;
        let n = df.column("n")?.cast(&DataType::UInt64)?;
        Ok(n.u64()?.get(0).unwrap_or(0))
    }

    /// The per-customer summary computed one customer partition at a time, so that an
    /// input larger than memory can be summarised: each partition (a range of customer
    /// ids) is read, cleaned and summarised on its own, and the results are joined.
    ///
    /// `partitions`: `Some(1)` is [`Transactions::summary`] itself; `Some(p)` splits into
    /// about `p` partitions (fewer when the ids are few); `None` chooses from the row
    /// count, one partition per [`DEFAULT_ROWS_PER_PARTITION`] rows.
    ///
    /// The result is the same as [`Transactions::summary`]'s: the same table, row order
    /// and values, and the same cleaning report (rejects with their input row numbers,
    /// sorted by row; kept duplicates in the same order). Peak memory is that of one
    /// partition plus the output table (about 90 bytes per customer). Each partition
    /// reads the input once more (only the mapped columns), so a text input is parsed
    /// `p` times: the split pays off for Parquet and IPC files.
    ///
    /// In strict mode the error is the same as in memory, the rejected row with the
    /// lowest row number, which is known only once every partition has been read.
    ///
    /// # Errors
    /// As [`Transactions::summary`]; [`Error::InvalidOption`] for `Some(0)` partitions.
    /// When an input has several faults the first error found may differ: a column of
    /// the wrong type is reported by the first partition, before a text column in which
    /// no value parses (found only after every partition).
    ///
    /// # Example
    /// ```
    /// use patronage::prelude::*;
    /// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default()).unwrap();
    /// let opts = SummaryOptions::weekly();
    /// let split = tx.summary_partitioned(&opts, Some(3)).unwrap();
    /// let whole = tx.summary(&opts).unwrap();
    /// assert!(split.frame().equals_missing(whole.frame()));
    /// assert_eq!(split.report(), whole.report());
    /// ```
    pub fn summary_partitioned(
        &self,
        options: &SummaryOptions,
        partitions: Option<usize>,
    ) -> Result<Summary> {
        self.partitioned(options, partitions, Keep::Summary)?
            .into_summary()
    }

    /// The customer table ([`Transactions::customer_table`] without cohorts) one customer
    /// partition at a time, as [`Transactions::summary_partitioned`] makes it: the same
    /// table, row order, values and cleaning report as in memory.
    ///
    /// # Errors
    /// As [`Transactions::summary_partitioned`].
    ///
    /// # Example
    /// ```
    /// use patronage::prelude::*;
    /// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
    /// let opts = SummaryOptions::weekly();
    /// let split = tx.customer_table_partitioned(&opts, Some(3))?;
    /// assert!(split.frame().equals_missing(tx.customer_table(&opts, None)?.frame()));
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn customer_table_partitioned(
        &self,
        options: &SummaryOptions,
        partitions: Option<usize>,
    ) -> Result<CustomerTable> {
        self.partitioned(options, partitions, Keep::Table)
    }

    /// [`Transactions::customer_table_partitioned`], keeping `keep` of each partition.
    fn partitioned(
        &self,
        options: &SummaryOptions,
        partitions: Option<usize>,
        keep: Keep,
    ) -> Result<CustomerTable> {
        if let Some(end) = options.parsed_observation_end()? {
            options.parsed_calibration_end(end)?;
        }
        let p = match partitions {
            Some(0) => {
                return Err(Error::invalid("partitions", "must be at least 1"));
            }
            Some(1) => return self.customer_table(options, None),
            Some(p) => p,
            None => 0,
        };
        let n = self.count_rows()?;
        let p = if p == 0 {
            partitions_for(n, DEFAULT_ROWS_PER_PARTITION)
        } else {
            p
        };
        self.summary_split(options, n, p, SLICE, keep)
    }

    /// [`Transactions::customer_table_partitioned`] with `p` partitions of `n` rows,
    /// reading `slice` rows at a time.
    fn summary_split(
        &self,
        options: &SummaryOptions,
        n: u64,
        p: usize,
        slice: u64,
        keep: Keep,
    ) -> Result<CustomerTable> {
        let cal = options.parsed_calibration_end(i32::MAX)?;
        if p == 1 || n == 0 {
            return self.customer_table(options, None);
        }
        let Some(bounds) = self.sample_bounds(n, p)? else {
            // Ids of a type cleaning refuses: the in-memory path reports it.
            return self.customer_table(options, None);
        };
        if bounds.len() == 0 {
            return self.customer_table(options, None);
        }
        let today = clean::today();
        let (_spill, files) = self.spill(&bounds.predicates(&self.schema.customer_id), slice)?;
        let mut parts: Vec<Part> = Vec::with_capacity(files.len());
        for path in files.iter().flatten() {
            let file = std::fs::File::open(path).map_err(|e| io_err(path, e))?;
            let rows = ParquetReader::new(file).finish()?;
            if let Some(part) = self.part(rows, options, cal, today, None)? {
                parts.push(part.keeping(keep)?);
            }
        }
        self.merge(parts, options, cal)
    }

    /// One partition's share: `rows` (the columns of [`Transactions::lazy`], every row of
    /// the customers they hold, in input order) cleaned leniently (the whole-input checks
    /// are left to [`Transactions::merge`]) and aggregated; `None` for no rows.
    pub(crate) fn part(
        &self,
        rows: DataFrame,
        options: &SummaryOptions,
        cal: Option<i32>,
        today: i32,
        cohorts: Option<super::aggregate::CohortPeriod>,
    ) -> Result<Option<Part>> {
        let cols = self.roles_of(rows)?;
        if cols.row.is_empty() {
            return Ok(None);
        }
        let (clean, facts) = clean::clean_rows(&cols, options, Some(today))?;
        drop(cols);
        let (frame, report) = if clean.n_customers() > 0 {
            let t = CustomerTable::block(clean, options, cal, cohorts)?;
            let r = t.report().clone();
            (Some(t), r)
        } else {
            (None, clean.report)
        };
        Ok(Some(Part {
            frame,
            report,
            facts,
        }))
    }

    /// Reads the input once, `slice` rows at a time, and appends each slice's rows of
    /// each partition (the mapped columns and the row number) to that partition's
    /// temporary Parquet file. Returns the directory (removed when dropped) and each
    /// partition's file (`None` when it has no row).
    fn spill(&self, predicates: &[Expr], slice: u64) -> Result<(Spill, Vec<Option<PathBuf>>)> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!(
            "patronage-partitions-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
        let spill = Spill { dir };
        let mut writers: Vec<
            Option<(
                PathBuf,
                polars::io::parquet::write::BatchedWriter<std::fs::File>,
            )>,
        > = predicates.iter().map(|_| None).collect();
        let mut off: u64 = 0;
        loop {
            let df = self.read_slice(off, slice, false)?;
            let height = df.height() as u64;
            if height == 0 {
                break;
            }
            for (k, pred) in predicates.iter().enumerate() {
                let mut part = df.clone().lazy().filter(pred.clone()).collect()?;
                if part.height() == 0 {
                    continue;
                }
                part.align_chunks_par();
                let writer = match &mut writers[k] {
                    Some((_, w)) => w,
                    slot @ None => {
                        let path = spill.dir.join(format!("{k}.parquet"));
                        let file = std::fs::File::create(&path).map_err(|e| io_err(&path, e))?;
                        let w = ParquetWriter::new(file)
                            .with_compression(ParquetCompression::Lz4Raw)
                            .batched(part.schema())?;
                        &mut slot.insert((path, w)).1
                    }
                };
                writer.write_batch(&part)?;
            }
            off += height;
            if height < slice {
                break;
            }
        }
        let mut files = Vec::with_capacity(writers.len());
        for w in writers {
            files.push(match w {
                Some((path, w)) => {
                    w.finish()?;
                    Some(path)
                }
                None => None,
            });
        }
        Ok((spill, files))
    }

    /// Rows `off..off + len` of the input: the customer id only, or the columns of
    /// [`Transactions::lazy`]. A Parquet file is read with polars' Parquet reader, which
    /// decodes only the row groups of the slice (a lazy scan's slice decoded far more:
    /// 4M-row slices of a 100M-row file peaked at 9 GB).
    fn read_slice(&self, off: u64, len: u64, ids_only: bool) -> Result<DataFrame> {
        let id = self.schema.customer_id.clone();
        match &self.parquet {
            Some(path) => {
                let file = std::fs::File::open(path).map_err(|e| io_err(path, e))?;
                let columns = if ids_only {
                    vec![id]
                } else {
                    self.schema.used_columns()
                };
                let start = usize::try_from(off).unwrap_or(usize::MAX);
                let len = usize::try_from(len).unwrap_or(usize::MAX);
                let df = ParquetReader::new(file)
                    .with_columns(Some(columns))
                    .with_slice(Some((start, len)))
                    .finish()?;
                if ids_only {
                    return Ok(df);
                }
                let first = IdxSize::try_from(off + 1).map_err(|_| {
                    Error::invalid("input", "more rows than polars' row index can number")
                })?;
                Ok(df.with_row_index(ROW.into(), Some(first))?)
            }
            None => {
                let lf = if ids_only {
                    self.lf.clone().select([col(id.as_str())])
                } else {
                    self.lazy()
                };
                let off = i64::try_from(off).unwrap_or(i64::MAX);
                let len = IdxSize::try_from(len).unwrap_or(IdxSize::MAX);
                Ok(lf.slice(off, len).collect()?)
            }
        }
    }

    /// Reads ids a slice at a time, keeps every k-th, and picks `p - 1` boundaries at the
    /// sample's quantiles; `None` when the ids are neither text nor integers.
    fn sample_bounds(&self, n: u64, p: usize) -> Result<Option<Bounds>> {
        let id = self.schema.customer_id.as_str();
        let step = (n / SAMPLE).max(1);
        let mut sample: Vec<Column> = Vec::new();
        let mut off = 0u64;
        while off < n {
            let len = SAMPLE_SLICE.min(n - off);
            let df = self.read_slice(off, len, true)?;
            let c = df.column(id)?;
            // Keep rows whose position in the whole input is a multiple of the step.
            let first = ((step - off % step) % step) as usize;
            if first < c.len() {
                sample.push(c.gather_every(step as usize, first)?);
            }
            off += len;
        }
        let Some(head) = sample.first() else {
            return Ok(None);
        };
        let dt = head.dtype().clone();
        let bounds = if matches!(dt, DataType::String) {
            let mut v: Vec<String> = Vec::new();
            for c in &sample {
                v.extend(c.str()?.iter().flatten().map(str::to_string));
            }
            v.sort_unstable();
            Bounds::Text(quantiles(&v, p))
        } else if dt.is_unsigned_integer() {
            let mut v: Vec<u64> = Vec::new();
            for c in &sample {
                v.extend(c.cast(&DataType::UInt64)?.u64()?.iter().flatten());
            }
            v.sort_unstable();
            Bounds::Unsigned(quantiles(&v, p))
        } else if dt.is_integer() {
            let mut v: Vec<i64> = Vec::new();
            for c in &sample {
                v.extend(c.cast(&DataType::Int64)?.i64()?.iter().flatten());
            }
            v.sort_unstable();
            Bounds::Signed(quantiles(&v, p))
        } else {
            return Ok(None);
        };
        Ok(Some(bounds))
    }

    /// Settles what needs every partition (see the module documentation) and joins the
    /// partitions' tables and reports.
    pub(crate) fn merge(
        &self,
        parts: Vec<Part>,
        options: &SummaryOptions,
        cal: Option<i32>,
    ) -> Result<CustomerTable> {
        let (report, obs, frames) = self.settle(parts, options, cal)?;
        CustomerTable::merge(frames, report, obs)
    }

    /// What needs every partition, settled: the whole input's cleaning report and
    /// observation end (or the error the in-memory path gives), and the partitions'
    /// tables, not yet joined (parts whose tables went elsewhere, to part files, carry
    /// none).
    pub(crate) fn settle(
        &self,
        parts: Vec<Part>,
        options: &SummaryOptions,
        cal: Option<i32>,
    ) -> Result<(CleaningReport, i32, Vec<CustomerTable>)> {
        let rows_read: u64 = parts.iter().map(|p| p.report.rows_read).sum();
        if rows_read == 0 {
            return Err(Error::EmptyTable {
                what: "the input has no rows".into(),
            });
        }
        // A text column in which nothing parses, in the order cleaning checks them.
        let date_text = parts.iter().filter_map(|p| p.facts.date_text).fold(
            None,
            |acc: Option<(bool, bool)>, (ok, bad)| {
                let (a, b) = acc.unwrap_or((false, false));
                Some((a || ok, b || bad))
            },
        );
        if let Some((false, true)) = date_text {
            let first = parts
                .iter()
                .min_by_key(|p| p.facts.first_row)
                .map(|p| p.facts.first_date.clone())
                .unwrap_or_default();
            return Err(clean::no_date_error(
                &self.schema.date,
                &first,
                &self.schema.date_format,
            ));
        }
        let roles = parts.first().map_or(0, |p| p.facts.number_text.len());
        for k in 0..roles {
            let any = |f: fn(&(String, bool, bool)) -> bool| {
                parts
                    .iter()
                    .any(|p| p.facts.number_text.get(k).is_some_and(f))
            };
            if any(|t| t.2) && !any(|t| t.1) {
                let name = parts[0].facts.number_text[k].0.clone();
                return Err(clean::no_number_error(&name));
            }
        }
        let obs = parts
            .iter()
            .filter_map(|p| p.facts.observation_end)
            .max()
            .ok_or_else(|| Error::EmptyTable {
                what: "no row has a valid customer id, date and amount".into(),
            })?;
        let mut rejects: Vec<clean::Reject> = Vec::new();
        let mut duplicates: Vec<(u64, DuplicateRow)> = Vec::new();
        let mut report = CleaningReport {
            rows_read,
            observation_end: crate::transactions::units::date_of(obs).to_string(),
            ..CleaningReport::default()
        };
        let mut frames: Vec<CustomerTable> = Vec::new();
        for p in parts {
            report.rows_used += p.report.rows_used;
            report.returns_used += p.report.returns_used;
            report.customers += p.report.customers;
            rejects.extend(p.report.rejects);
            duplicates.extend(
                p.facts
                    .duplicate_keys
                    .into_iter()
                    .zip(p.report.duplicates_kept),
            );
            if let Some(f) = p.frame {
                frames.push(f);
            }
        }
        rejects.sort_by_key(|r| r.row);
        if options.strict
            && let Some(r) = rejects.first()
        {
            return Err(r.to_error());
        }
        if report.rows_used == 0 {
            let what = match rejects.first() {
                Some(r) => format!(
                    "all {rows_read} rows were rejected (first: row {}, column `{}`: {})",
                    r.row, r.column, r.reason
                ),
                None => format!("all {rows_read} rows were rejected"),
            };
            return Err(Error::EmptyTable { what });
        }
        // The calibration end must be before the whole input's observation end (the
        // blocks were aggregated with it before that end was known).
        if cal.is_some() {
            options.parsed_calibration_end(obs)?;
        }
        // Kept duplicates by their customer's first row (each partition lists them in
        // that order already; a customer is in one partition).
        duplicates.sort_by_key(|d| d.0);
        report.duplicates_kept = duplicates.into_iter().map(|d| d.1).collect();
        report.rejects = rejects;
        Ok((report, obs, frames))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_same(tx: &Transactions, opts: &SummaryOptions, p: usize, slice: u64) {
        let whole = tx.summary(opts).unwrap();
        let n = tx.count_rows().unwrap();
        for keep in [Keep::Table, Keep::Summary] {
            let table = tx.summary_split(opts, n, p, slice, keep).unwrap();
            let gathered: Vec<String> = table
                .frame()
                .get_column_names()
                .iter()
                .map(|c| c.to_string())
                .collect();
            let split = table.into_summary().unwrap();
            if keep == Keep::Summary {
                // Only the summary's and the acquisition columns were gathered.
                for c in &gathered {
                    assert!(
                        split.frame().column(c).is_ok()
                            || ["first_order_value", "acquisition_channel"].contains(&c.as_str()),
                        "{c} gathered, P {p}"
                    );
                }
            } else {
                assert!(gathered.iter().any(|c| c == "orders"), "P {p}");
            }
            assert!(
                whole.frame().equals_missing(split.frame()),
                "P {p}, slice {slice}, {keep:?}"
            );
            assert_eq!(
                whole.report(),
                split.report(),
                "P {p}, slice {slice}, {keep:?}"
            );
        }
    }

    /// Many slices per partition: row numbers and row order survive the slicing, for a
    /// CSV scan and a Parquet scan.
    #[test]
    fn small_slices_keep_row_numbers() {
        use crate::io::TransactionSchema;
        let csv = "datasets/retail_sample.csv";
        let tx = Transactions::scan(csv, TransactionSchema::default()).unwrap();
        let opts = SummaryOptions::weekly().calibration_end("2023-06-30");
        for (p, slice) in [(2, 997), (5, 2500)] {
            assert_same(&tx, &opts, p, slice);
        }
        let mut df = crate::io::read_table(csv).unwrap();
        let path = std::env::temp_dir().join(format!(
            "patronage-partition-test-{}.parquet",
            std::process::id()
        ));
        crate::io::write_frame(&mut df, &path).unwrap();
        let tx = Transactions::scan(&path, TransactionSchema::default()).unwrap();
        for (p, slice) in [(2, 97), (4, 333)] {
            assert_same(&tx, &opts, p, slice);
        }
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn bounds_split_the_ids() {
        let b = Bounds::Text(vec!["b".into(), "d".into()]);
        let preds = b.predicates("id");
        assert_eq!(preds.len(), 3);
        let df =
            df!("id" => [Some("a"), None, Some("b"), Some("c"), Some("d"), Some("e")]).unwrap();
        let heights: Vec<usize> = preds
            .into_iter()
            .map(|p| df.clone().lazy().filter(p).collect().unwrap().height())
            .collect();
        assert_eq!(heights, vec![2, 2, 2]);
    }

    #[test]
    fn quantiles_are_distinct_and_ascending() {
        let v: Vec<i64> = vec![1, 1, 1, 1, 2, 3, 4, 5, 6, 7];
        assert_eq!(quantiles(&v, 1), Vec::<i64>::new());
        assert_eq!(quantiles(&v, 2), vec![3]);
        assert_eq!(quantiles(&v, 5), vec![1, 2, 4, 6]);
        assert_eq!(quantiles(&[7i64], 4), vec![7]);
        assert!(quantiles(&Vec::<i64>::new(), 4).is_empty());
    }
}
