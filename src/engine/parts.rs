//! The per-customer summary, or the whole customer table, written as Parquet part
//! files, one per engine block, so a table larger than memory is never gathered
//! ([`super::summary_parts`], [`super::customer_table_parts`]). A whole table's part
//! whose block never saw a channel is written again with that channel's counts at zero
//! once every block is read, and the blocks' cohort activity is merged as they go.
//!
//! Each block's summary is written as soon as the block is aggregated, with the block's
//! own observation end (the last date among its rows). Only when every block is read is
//! the whole input's observation end known; the parts made with an earlier one are read
//! back and their `T`, `recency_days` and `duration_holdout` (and a table's
//! `tenure_months`) set again, as
//! [`CustomerTable::merge`] does for gathered blocks. They are few: a block of many
//! customers almost always holds the last date. The rules that need every row (strict
//! mode, an input with no usable row, a calibration end before the first purchase) are
//! settled across the blocks as for the gathered table, and give the same errors.
//!
//! The files are written into a directory beside the output and moved to the output's
//! name only when the run has succeeded, so a failed run leaves nothing behind and an
//! earlier run's parts are replaced whole, never mixed with the new ones.

use std::path::{Path, PathBuf};

use polars::prelude::{ChunkAgg, DataFrame, ParquetReader, SerReader};
use serde::Serialize;

#[cfg(feature = "datafusion")]
use super::EngineRun;
#[cfg(feature = "datafusion")]
use super::datafusion::{Blocks, Input};
use crate::cohort::Cohorts;
use crate::error::{Error, Result};
use crate::stages::cohorts::no_cohort_period;
#[cfg(feature = "datafusion")]
use crate::transactions::Transactions;
use crate::transactions::aggregate::{
    CohortActivity, CustomerTable, with_channels, with_observation_end,
};
use crate::transactions::clean::CleaningReport;
use crate::transactions::ids::sort_by_customer_id;
use crate::transactions::options::SummaryOptions;
use crate::transactions::partition::Keep;
#[cfg(feature = "datafusion")]
use crate::transactions::partition::Part;
use crate::transactions::summary::calibration_before_first;
use crate::transactions::units::date_of;
#[cfg(feature = "datafusion")]
use datafusion::prelude::SessionContext;

/// A summary written as Parquet part files by [`super::summary_parts`]: the files in
/// customer id order (each sorted by `customer_id`, every id of one file before every id
/// of the next, so reading them in order gives the in-memory summary's rows in its
/// order) and what cleaning did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SummaryParts {
    /// The directory holding the part files (nothing else).
    pub dir: PathBuf,
    /// The part files, `part-00000.parquet` on, in order.
    pub files: Vec<PathBuf>,
    /// Customers over all parts.
    pub customers: u64,
    /// Parts written again once the whole input's observation end was known (their
    /// block's last date was earlier) or, for a customer table's parts, every channel.
    pub rewritten: usize,
    /// The whole input's observation end (every part's `T` runs to it).
    pub observation_end: chrono::NaiveDate,
    /// The calibration end, when the summary has the calibration and holdout columns.
    pub calibration_end: Option<chrono::NaiveDate>,
    /// What cleaning did over the whole input: rows read and used, every reject with its
    /// input row number, duplicates kept, the observation end.
    pub report: CleaningReport,
}

/// The whole customer table written as Parquet part files by
/// [`super::customer_table_parts`]: every column of
/// [`CustomerTable::frame`](crate::prelude::CustomerTable::frame), in the gathered
/// table's column order, with the counts of every channel in every part (a channel a
/// block never saw counts zero there, as when the blocks are gathered). Its `parts` are
/// read like summary parts, so the summary's stages ([`SummaryParts::rfm`],
/// [`SummaryParts::clv`], [`SummaryParts::segment`]) run on them unchanged; the
/// profitability stage ([`TableParts::profitability`]) and the segmentation's channel
/// mix ([`TableParts::segment`]) need the activity and channel columns only these parts
/// hold.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TableParts {
    /// The files, the customers and what cleaning did, as for a summary.
    pub parts: SummaryParts,
    /// The channel names, sorted (empty without a channel column).
    pub channels: Vec<String>,
    /// The cohort activity of every block, when the table was made with a cohort
    /// period: the gathered table's
    /// [`cohort_activity`](crate::prelude::CustomerTable::cohort_activity) (its sums
    /// are exact, so they merge to the same values in any order).
    #[serde(skip)]
    pub cohort_activity: Option<CohortActivity>,
}

impl TableParts {
    /// The acquisition cohorts of the table, as
    /// [`stages::cohorts::cohorts`](crate::stages::cohorts::cohorts) gives them for the
    /// gathered table.
    ///
    /// # Errors
    /// As [`stages::cohorts::cohorts`](crate::stages::cohorts::cohorts):
    /// [`Error::InvalidOption`] (`cohorts.period`) when the parts were written without a
    /// cohort period.
    ///
    /// # Example
    /// ```
    /// use patronage::engine::{Engine, customer_table_parts};
    /// use patronage::prelude::*;
    /// use patronage::stages::cohorts::cohorts;
    /// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
    /// let options = SummaryOptions::weekly();
    /// let dir = std::env::temp_dir().join(format!("patronage-doc-cohort-parts-{}", std::process::id()));
    /// let (parts, _) = customer_table_parts(&tx, &options, Some(CohortPeriod::Month), &Engine::Memory, &dir)?;
    /// let gathered = cohorts(&tx.customer_table(&options, Some(CohortPeriod::Month))?)?;
    /// assert_eq!(parts.cohorts()?.labels, gathered.labels);
    /// std::fs::remove_dir_all(&dir).unwrap();
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn cohorts(&self) -> Result<Cohorts> {
        let activity = self.cohort_activity.as_ref().ok_or_else(no_cohort_period)?;
        let counts = activity.table(self.parts.observation_end);
        Cohorts::from_counts(counts.labels, counts.sizes, counts.active, counts.revenue)
    }
}

/// A part file written, and what the settling step needs of it.
struct Written {
    path: PathBuf,
    /// The channels its block saw (its table's channel count columns).
    channels: Vec<String>,
    /// The observation end its block was aggregated with.
    observation_end: i32,
    /// Its earliest first purchase (the calibration end must not be before it).
    first_purchase: Option<i32>,
    customers: u64,
}

/// A directory of part files being written: the files go to a work directory beside
/// the output, which [`PartDir::commit`] moves to the output's name (replacing an
/// earlier run's part files) and which is removed if it is dropped uncommitted.
pub(crate) struct PartDir {
    out: PathBuf,
    work: PathBuf,
    files: usize,
    done: bool,
}

impl PartDir {
    /// A part directory for the output `out`.
    ///
    /// # Errors
    /// [`Error::Io`] naming `out` when it is a file, or a directory holding anything but
    /// part files (an earlier run's output is replaced; other files are never removed),
    /// or when the work directory beside it cannot be made.
    pub(crate) fn new(out: &Path) -> Result<Self> {
        check_part_dir(out)?;
        let name = out
            .file_name()
            .map_or_else(|| "parts".into(), |n| n.to_string_lossy().into_owned());
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let work = parent.join(format!(".{name}.partial-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&work).map_err(|source| Error::Io {
            path: work.clone(),
            source,
        })?;
        Ok(PartDir {
            out: out.to_path_buf(),
            work,
            files: 0,
            done: false,
        })
    }

    /// Writes `frame` as the next part file; returns its path in the work directory.
    ///
    /// # Errors
    /// [`Error::Io`] or a polars error when the file cannot be written.
    pub(crate) fn write(&mut self, frame: &mut DataFrame) -> Result<PathBuf> {
        let path = self.work.join(part_name(self.files));
        crate::io::write_frame(frame, &path)?;
        self.files += 1;
        Ok(path)
    }

    /// Moves the written files to the output (an earlier run's part files there are
    /// removed first) and returns the output and the files' paths, in order.
    ///
    /// # Errors
    /// [`Error::Io`] when the earlier output cannot be removed or the work directory
    /// cannot be moved.
    pub(crate) fn commit(mut self) -> Result<(PathBuf, Vec<PathBuf>)> {
        if self.out.exists() {
            // `check_part_dir` found only part files there: an earlier run's output.
            std::fs::remove_dir_all(&self.out).map_err(|source| Error::Io {
                path: self.out.clone(),
                source,
            })?;
        }
        std::fs::rename(&self.work, &self.out).map_err(|source| Error::Io {
            path: self.out.clone(),
            source,
        })?;
        self.done = true;
        let files = (0..self.files)
            .map(|k| self.out.join(part_name(k)))
            .collect();
        Ok((self.out.clone(), files))
    }
}

impl Drop for PartDir {
    fn drop(&mut self) {
        if !self.done {
            // Best effort: a failed run's partial files are of no use to anyone.
            let _ = std::fs::remove_dir_all(&self.work);
        }
    }
}

/// The name of part `k`.
fn part_name(k: usize) -> String {
    format!("part-{k:05}.parquet")
}

/// Writes the blocks' summaries (or whole tables, per `keep`) as part files
/// ([`PartDir`]) and settles the parts made before the whole input's observation end
/// (or, for whole tables, every channel) was known.
pub(super) struct PartWriter {
    dir: PartDir,
    keep: Keep,
    written: Vec<Written>,
    /// The blocks' cohort activity, merged as they are written.
    cohorts: Option<CohortActivity>,
}

impl PartWriter {
    /// A writer of parts for the output directory `out`, keeping `keep` of each table.
    ///
    /// # Errors
    /// As [`PartDir::new`].
    pub(super) fn new(out: &Path, keep: Keep) -> Result<Self> {
        Ok(PartWriter {
            dir: PartDir::new(out)?,
            keep,
            written: Vec::new(),
            cohorts: None,
        })
    }

    /// Phase 1's blocks (`cut`'s, of the sorted plan on `ctx`) each written as a part
    /// as it is made, then [`PartWriter::finish`]; the run named `engine`.
    ///
    /// # Errors
    /// As the engine's phase 1 and [`PartWriter::finish`].
    #[cfg(feature = "datafusion")]
    pub(super) fn write_blocks(
        mut self,
        cut: &Blocks<'_>,
        runtime: &tokio::runtime::Runtime,
        ctx: &SessionContext,
        input: Input,
        engine: &str,
    ) -> Result<(TableParts, EngineRun)> {
        let mut parts = Vec::new();
        let run = cut.each(runtime, ctx, input, engine, &mut |part| {
            parts.push(self.write(part)?);
            Ok(())
        })?;
        Ok((self.finish(cut.tx, parts, cut.options, cut.cal)?, run))
    }

    /// Writes `part`'s table or summary (sorted by customer id) as the next part file and returns
    /// the part without its table, for [`Transactions::settle`].
    ///
    /// # Errors
    /// [`Error::Io`] or a polars error when the file cannot be written.
    #[cfg(feature = "datafusion")]
    pub(super) fn write(&mut self, mut part: Part) -> Result<Part> {
        if let Some(table) = part.frame.take() {
            self.write_table(table)?;
        }
        Ok(part)
    }

    /// Writes `table`'s summary, or the whole table, as the next part file.
    ///
    /// # Errors
    /// As [`PartWriter::write`].
    pub(super) fn write_table(&mut self, table: CustomerTable) -> Result<()> {
        let observation_end = table.observation_day();
        let channels = table.channels().to_vec();
        if let Some(a) = table.cohort_activity() {
            self.cohorts
                .get_or_insert_with(|| CohortActivity::new(a.period()))
                .merge(a);
        }
        let frame = match self.keep {
            Keep::Summary => table.into_summary()?.into_frame(),
            Keep::Table => table.into_frame(),
        };
        let mut frame = sort_by_customer_id(frame)?;
        let days = frame.column("first_purchase")?.to_physical_repr();
        let first_purchase = days.i32()?.min();
        let path = self.dir.write(&mut frame)?;
        self.written.push(Written {
            path,
            channels,
            observation_end,
            first_purchase,
            customers: frame.height() as u64,
        });
        Ok(())
    }

    /// Settles the whole-input rules over `parts` (the parts [`PartWriter::write`]
    /// returned), sets the whole input's observation end in the parts made with another
    /// (and, for whole tables, adds the channels a part's block never saw), and moves the
    /// files to the output directory. Returns the parts with every channel, sorted, and
    /// the cohort activity of every block (a summary's caller takes `parts`).
    ///
    /// # Errors
    /// The errors of the gathered summary for the same input (strict mode, no usable
    /// row, a calibration end before the first purchase, ...); [`Error::Io`] when a file
    /// cannot be rewritten or moved.
    #[cfg(feature = "datafusion")]
    pub(super) fn finish(
        self,
        tx: &Transactions,
        parts: Vec<Part>,
        options: &SummaryOptions,
        cal: Option<i32>,
    ) -> Result<TableParts> {
        let (report, obs, _) = tx.settle(parts, options, cal)?;
        self.finish_with(report, obs, options, cal)
    }

    /// [`PartWriter::finish`] with the report and observation end already settled.
    ///
    /// # Errors
    /// As [`PartWriter::finish`].
    pub(super) fn finish_with(
        self,
        report: CleaningReport,
        obs: i32,
        options: &SummaryOptions,
        cal: Option<i32>,
    ) -> Result<TableParts> {
        if let (Some(cal), Some(first)) = (
            cal,
            self.written.iter().filter_map(|w| w.first_purchase).min(),
        ) && cal < first
        {
            return Err(calibration_before_first(cal, first));
        }
        let mut channels: Vec<String> = match self.keep {
            Keep::Summary => Vec::new(),
            Keep::Table => self
                .written
                .iter()
                .flat_map(|w| w.channels.clone())
                .collect(),
        };
        channels.sort();
        channels.dedup();
        let mut rewritten = 0;
        for w in &self.written {
            let other_channels = self.keep == Keep::Table && w.channels != channels;
            if w.observation_end != obs || other_channels {
                let mut frame = read_part(&w.path, None)?;
                if w.observation_end != obs {
                    frame = with_observation_end(frame, obs, cal, options)?;
                }
                if other_channels {
                    frame = with_channels(frame, &channels)?;
                }
                crate::io::write_frame(&mut frame, &w.path)?;
                rewritten += 1;
            }
        }
        let customers = self.written.iter().map(|w| w.customers).sum();
        let (dir, files) = self.dir.commit()?;
        let parts = SummaryParts {
            dir,
            files,
            customers,
            rewritten,
            observation_end: date_of(obs),
            calibration_end: cal.map(date_of),
            report,
        };
        Ok(TableParts {
            parts,
            channels,
            cohort_activity: self.cohorts,
        })
    }
}

/// A part file read back: every column, or only `columns`.
///
/// # Errors
/// [`Error::Io`] naming the file when it cannot be opened; a polars error when it is
/// not Parquet or lacks one of `columns`.
pub(crate) fn read_part(path: &Path, columns: Option<&[&str]>) -> Result<DataFrame> {
    let file = std::fs::File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let names = columns.map(|c| c.iter().map(|n| n.to_string()).collect());
    Ok(ParquetReader::new(file).with_columns(names).finish()?)
}

/// The column names of a part file, in order, read from its footer (no rows are read).
///
/// # Errors
/// [`Error::Io`] naming the file when it cannot be opened; a polars error when it is
/// not Parquet.
pub(crate) fn part_columns(path: &Path) -> Result<Vec<String>> {
    let file = std::fs::File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(ParquetReader::new(file)
        .schema()?
        .iter_names()
        .map(|n| n.to_string())
        .collect())
}

/// Whether `name` is what [`PartDir`] names a part file.
fn is_part_file(name: &str) -> bool {
    name.strip_prefix("part-")
        .and_then(|n| n.strip_suffix(".parquet"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether `out` can take a run's part files: a path that does not exist yet, or a
/// directory holding nothing but part files (an earlier run's, which the run replaces).
/// The part writers check this before anything is read; a caller that runs a long step
/// first (the CLI writes the summary before a stage's parts) can check it sooner.
///
/// # Errors
/// [`Error::Io`] naming `out` when it is a file, or a directory holding anything but
/// `part-NNNNN.parquet` files (other files are never removed), or cannot be listed.
///
/// # Example
/// ```
/// use patronage::engine::check_part_dir;
/// let tmp = std::env::temp_dir().join(format!("patronage-doc-check-{}", std::process::id()));
/// assert!(check_part_dir(&tmp.join("new")).is_ok());
/// std::fs::create_dir_all(&tmp).unwrap();
/// std::fs::write(tmp.join("notes.txt"), "mine").unwrap();
/// assert!(matches!(check_part_dir(&tmp), Err(patronage::Error::Io { .. })));
/// std::fs::remove_dir_all(&tmp).unwrap();
/// ```
pub fn check_part_dir(out: &Path) -> Result<()> {
    let refuse = |why: String| Error::Io {
        path: out.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::AlreadyExists, why),
    };
    if !out.exists() {
        return Ok(());
    }
    if !out.is_dir() {
        return Err(refuse(
            "is a file; part files go in a directory (give a new one)".into(),
        ));
    }
    let entries = std::fs::read_dir(out).map_err(|source| Error::Io {
        path: out.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| Error::Io {
            path: out.to_path_buf(),
            source,
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !is_part_file(&name) {
            return Err(refuse(format!(
                "holds `{name}`, which is not a part file of an earlier run; give a new or empty directory (only part-NNNNN.parquet files are replaced)"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_file_names_are_recognised_and_nothing_else() {
        assert!(is_part_file("part-00000.parquet"));
        assert!(is_part_file("part-12.parquet"));
        for name in [
            "part-.parquet",
            "part-1a.parquet",
            "part-1.csv",
            "x.parquet",
            "notes",
        ] {
            assert!(!is_part_file(name), "{name}");
        }
    }
}
