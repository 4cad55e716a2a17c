//! Engines of phase 1: what reads the rows, groups them by customer and runs the
//! cleaning and aggregation code on them.
//!
//! - [`Engine::Memory`] (the default): the input is read whole and cleaned and aggregated
//!   in blocks of customers on rayon ([`Transactions::customer_table`]).
//! - [`Engine::DataFusion`] (feature `datafusion`): Apache DataFusion reads a Parquet
//!   dataset (or uncompressed delimited text, staged as Parquet with its row numbers
//!   first), sorts its rows by (customer id, row number) under a memory pool, spilling
//!   sorted runs to disk when the pool is full, and the sorted stream is cut at customer
//!   boundaries into blocks of about [`DataFusionSettings::block_rows`] rows; each block
//!   goes through the same cleaning and aggregation as the in-memory engine's rows, and
//!   the blocks' tables and cleaning reports are merged with the rules that need every
//!   row settled across blocks ([`crate::transactions::partition`] documents them). So
//!   only one block of rows is in memory at a time besides DataFusion's pool, and the
//!   customer table, rejects and cleaning report are the in-memory engine's, value for
//!   value (the per-customer sums see each customer's rows in input order either way,
//!   and the figures added across customers are exact sums).
//!
//! - [`Engine::Ballista`] (feature `ballista`): the same plan as DataFusion's, planned by
//!   a Ballista scheduler and run on its executors (a cluster's, or a scheduler and
//!   executors started in this process), the sorted stream cut into blocks and cleaned
//!   here as on DataFusion, so the table is again the in-memory engine's.
//!
//! Phase 2 (models, RFM, segmentation, profitability, the report) reads the customer
//! table whatever engine made it.

#[cfg(feature = "ballista")]
mod ballista;
#[cfg(feature = "ballista")]
pub mod cluster;
#[cfg(feature = "datafusion")]
pub mod datafusion;
#[cfg(feature = "ballista")]
mod numbered;
mod parts;
#[cfg(feature = "datafusion")]
mod staging;

use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::transactions::Transactions;
use crate::transactions::aggregate::{CohortPeriod, CustomerTable};
use crate::transactions::options::SummaryOptions;
use crate::transactions::partition::Keep;
use crate::transactions::summary::Summary;

pub(crate) use parts::{PartDir, part_columns, read_part};
pub use parts::{SummaryParts, TableParts, check_part_dir};

/// Which engine runs phase 1 (TOML: an `[engine]` table with `kind = "memory"`,
/// `kind = "datafusion"` or `kind = "ballista"` and that engine's settings beside it;
/// CLI: `--engine`).
///
/// # Example
/// ```
/// use patronage::engine::Engine;
/// let e: Engine = toml::from_str("kind = \"datafusion\"\nmemory_limit = \"4GiB\"")?;
/// let Engine::DataFusion(s) = e else { panic!() };
/// assert_eq!(s.memory_limit.map(|m| m.bytes()), Some(4 << 30));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
#[non_exhaustive]
pub enum Engine {
    /// Every row in memory, blocks of customers on rayon.
    #[default]
    Memory,
    /// Apache DataFusion: out of core, spilling under a memory limit (feature
    /// `datafusion`; without it, choosing this engine is an
    /// [`Error::InvalidOption`] naming `engine.kind`).
    #[serde(rename = "datafusion")]
    DataFusion(DataFusionSettings),
    /// Apache Ballista: DataFusion's plan on a cluster's executors (feature `ballista`;
    /// without it, choosing this engine is an [`Error::InvalidOption`] naming
    /// `engine.kind`).
    Ballista(BallistaSettings),
}

impl Engine {
    /// The engine's name as the settings spell it (`memory`, `datafusion`).
    pub fn name(&self) -> &'static str {
        match self {
            Engine::Memory => "memory",
            Engine::DataFusion(_) => "datafusion",
            Engine::Ballista(_) => "ballista",
        }
    }

    /// Checks the settings (a block of at least one row, at least one partition; for
    /// Ballista a `df://HOST:PORT` scheduler, or at least one in-process executor and no
    /// in-process settings beside a scheduler).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming the `engine.*` key at fault; `engine.kind` for
    /// `datafusion` or `ballista` in a build without that feature.
    pub fn check(&self) -> Result<()> {
        match self {
            Engine::Memory => Ok(()),
            Engine::DataFusion(s) => {
                if !cfg!(feature = "datafusion") {
                    return Err(Error::invalid(
                        "engine.kind",
                        "this build of patronage has no DataFusion engine (build it with the `datafusion` feature)",
                    ));
                }
                if s.block_rows == 0 {
                    return Err(Error::invalid("engine.block_rows", "must be at least 1"));
                }
                if s.partitions == Some(0) {
                    return Err(Error::invalid("engine.partitions", "must be at least 1"));
                }
                Ok(())
            }
            Engine::Ballista(s) => s.check(),
        }
    }
}

/// How the DataFusion engine runs (TOML keys of the `[engine]` table).
///
/// # Example
/// ```
/// use patronage::engine::{DataFusionSettings, MemoryLimit};
/// let mut s = DataFusionSettings::default();
/// s.memory_limit = Some("512MiB".parse()?);
/// assert_eq!(s.memory_limit, Some(MemoryLimit::from_bytes(512 << 20)));
/// # Ok::<(), patronage::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct DataFusionSettings {
    /// The memory pool of DataFusion's sort: above it, sorted runs spill to disk. `None`:
    /// no limit (nothing spills). The process uses more than this: one block of rows
    /// being cleaned (about 200 bytes a row), the customer table (about 90 bytes a
    /// customer), and what DataFusion does not account (apache/datafusion#12937).
    pub memory_limit: Option<MemoryLimit>,
    /// Where spill files go; `None`: the system's temporary directory.
    pub spill_dir: Option<PathBuf>,
    /// DataFusion's target partitions (parallel scans and sorts); `None`: the number of
    /// cores.
    pub partitions: Option<usize>,
    /// Input rows per block of whole customers handed to cleaning and aggregation
    /// (a block ends at the first customer boundary after this many rows).
    pub block_rows: usize,
}

/// Rows per block by default: about 200 MB of cleaning state per block.
pub const DEFAULT_BLOCK_ROWS: usize = 1 << 20;

impl Default for DataFusionSettings {
    fn default() -> Self {
        DataFusionSettings {
            memory_limit: None,
            spill_dir: None,
            partitions: None,
            block_rows: DEFAULT_BLOCK_ROWS,
        }
    }
}

/// How the Ballista engine runs (TOML keys of the `[engine]` table with
/// `kind = "ballista"`).
///
/// With `scheduler`, the plan goes to a running Ballista cluster: its executors read the
/// input at the paths given here (so they must see the same files, a shared file system
/// or the same mount), and they are sized where they are started. Without it, a
/// scheduler and `executors` executors start in this process on 127.0.0.1 for the run
/// (for trying the engine and for tests), sharing `memory_limit`, with their shuffle
/// files in a directory under `spill_dir` removed at the end.
///
/// # Example
/// ```
/// use patronage::engine::{BallistaSettings, Engine};
/// let e: Engine = toml::from_str("kind = \"ballista\"\nscheduler = \"df://10.0.0.5:50050\"")?;
/// let Engine::Ballista(s) = e else { panic!() };
/// assert_eq!(s.scheduler.as_deref(), Some("df://10.0.0.5:50050"));
/// assert_eq!(BallistaSettings::default().executors, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct BallistaSettings {
    /// A running scheduler, `df://HOST:PORT`; `None`: start one in this process.
    pub scheduler: Option<String>,
    /// Executors started in this process when there is no `scheduler` (default 2).
    pub executors: usize,
    /// The in-process executors' memory pool (shared; above it their sorts spill).
    /// `None`: no limit. Not allowed with `scheduler`.
    pub memory_limit: Option<MemoryLimit>,
    /// Where an input is staged as Parquet (text always; every input for a cluster of
    /// Ballista's stock binaries), and the in-process executors' shuffle and spill
    /// files; `None`: the system's temporary directory. With `scheduler`, a staged file
    /// must be readable by the executors at this path.
    pub spill_dir: Option<PathBuf>,
    /// Partitions of the plan (parallel scans and sorts across the executors); `None`:
    /// the number of cores here.
    pub partitions: Option<usize>,
    /// Input rows per block of whole customers cleaned at a time, as on DataFusion.
    pub block_rows: usize,
    /// The cluster at `scheduler` runs `patronage-scheduler` and `patronage-executor`
    /// (Ballista's with our plan nodes' codecs registered), so Parquet is read where it
    /// is and numbered on the executors, as on the in-process cluster. `false`: a cluster
    /// of Ballista's stock binaries, for which the input is staged first. Only with
    /// `scheduler`.
    pub patronage_cluster: bool,
}

/// In-process executors by default: two, so a trial run shuffles between executors as
/// a cluster does.
pub const DEFAULT_EXECUTORS: usize = 2;

impl Default for BallistaSettings {
    fn default() -> Self {
        BallistaSettings {
            scheduler: None,
            executors: DEFAULT_EXECUTORS,
            memory_limit: None,
            spill_dir: None,
            partitions: None,
            block_rows: DEFAULT_BLOCK_ROWS,
            patronage_cluster: false,
        }
    }
}

impl BallistaSettings {
    /// See [`Engine::check`].
    fn check(&self) -> Result<()> {
        if !cfg!(feature = "ballista") {
            return Err(Error::invalid(
                "engine.kind",
                "this build of patronage has no Ballista engine (build it with the `ballista` feature)",
            ));
        }
        if self.block_rows == 0 {
            return Err(Error::invalid("engine.block_rows", "must be at least 1"));
        }
        if self.partitions == Some(0) {
            return Err(Error::invalid("engine.partitions", "must be at least 1"));
        }
        match &self.scheduler {
            None if self.executors == 0 => Err(Error::invalid(
                "engine.executors",
                "must be at least 1 (or give a running scheduler)",
            )),
            None if self.patronage_cluster => Err(Error::invalid(
                "engine.patronage_cluster",
                "goes with engine.scheduler (it says the cluster there runs patronage-scheduler and patronage-executor); the cluster started in this process always reads Parquet where it is",
            )),
            None => Ok(()),
            Some(url) => {
                scheduler_address(url)?;
                if self.memory_limit.is_some() {
                    return Err(Error::invalid(
                        "engine.memory_limit",
                        "sizes the executors started in this process; a running cluster's executors are sized where they are started",
                    ));
                }
                Ok(())
            }
        }
    }
}

/// `(host, port)` of a `df://HOST:PORT` scheduler address.
///
/// # Errors
/// [`Error::InvalidOption`] naming `engine.scheduler` when `url` is not of that form.
fn scheduler_address(url: &str) -> Result<(&str, u16)> {
    let bad = || {
        Error::invalid(
            "engine.scheduler",
            format!(
                "`{url}` is not a scheduler address (df://HOST:PORT, e.g. df://localhost:50050)"
            ),
        )
    };
    let rest = url.strip_prefix("df://").ok_or_else(bad)?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    if host.is_empty() || port == 0 || host.contains('/') {
        return Err(bad());
    }
    Ok((host, port))
}

/// A memory size: bytes, or a number with a unit `KiB`, `MiB`, `GiB`, `TiB` (powers of
/// 1024) or `KB`, `MB`, `GB`, `TB` (powers of 1000); case-insensitive, optional space.
///
/// # Example
/// ```
/// use patronage::engine::MemoryLimit;
/// assert_eq!("4GiB".parse::<MemoryLimit>()?.bytes(), 4 << 30);
/// assert_eq!("1.5 gb".parse::<MemoryLimit>()?.bytes(), 1_500_000_000);
/// assert_eq!("65536".parse::<MemoryLimit>()?.bytes(), 65_536);
/// assert!("4 parsecs".parse::<MemoryLimit>().is_err());
/// # Ok::<(), patronage::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MemoryLimit(u64);

impl MemoryLimit {
    /// A limit of `bytes` bytes.
    pub fn from_bytes(bytes: u64) -> Self {
        MemoryLimit(bytes)
    }

    /// The limit in bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }
}

impl FromStr for MemoryLimit {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::invalid(
                "engine.memory_limit",
                format!(
                    "`{s}` is not a memory size (bytes, or a number with KiB, MiB, GiB, TiB, KB, MB, GB or TB)"
                ),
            )
        };
        let t = s.trim();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (number, unit) = t.split_at(split);
        let number: f64 = number.parse().map_err(|_| bad())?;
        let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1.0,
            "kib" => 1024.0,
            "mib" => 1024.0 * 1024.0,
            "gib" => 1024.0 * 1024.0 * 1024.0,
            "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
            "kb" => 1e3,
            "mb" => 1e6,
            "gb" => 1e9,
            "tb" => 1e12,
            _ => return Err(bad()),
        };
        let bytes = (number * scale).round();
        if !bytes.is_finite() || bytes < 1.0 || bytes > u64::MAX as f64 {
            return Err(Error::invalid(
                "engine.memory_limit",
                format!("`{s}` must be at least one byte"),
            ));
        }
        Ok(MemoryLimit(bytes as u64))
    }
}

impl TryFrom<String> for MemoryLimit {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<MemoryLimit> for String {
    fn from(m: MemoryLimit) -> String {
        m.0.to_string()
    }
}

/// What an engine run did besides the table (the DataFusion and Ballista engines'
/// blocks, DataFusion's spills; zeros for the in-memory engine).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct EngineRun {
    /// The engine that ran.
    pub engine: String,
    /// Blocks of whole customers cleaned and aggregated.
    pub blocks: usize,
    /// Times DataFusion's sort spilled to disk. Ballista's executors keep their own
    /// metrics, so on Ballista this counts only what spilled in this process's part of
    /// the plan (the client's: nothing).
    pub spill_count: usize,
    /// Bytes it spilled (as `spill_count`).
    pub spilled_bytes: usize,
    /// Input rows copied to a staged Parquet file with their row numbers before the plan
    /// ran: a text input on either engine, and every input on a Ballista cluster reached
    /// by `--scheduler` (whose stock executors cannot number rows). 0 when the engine
    /// read the Parquet files where they are.
    pub staged_rows: u64,
}

/// The customer table of `tx` made by `engine`: [`Transactions::customer_table`] for
/// [`Engine::Memory`], the DataFusion engine (see the module docs) for
/// [`Engine::DataFusion`], Ballista for [`Engine::Ballista`]; the same table and
/// cleaning report on each.
///
/// # Errors
/// As [`Transactions::customer_table`]; for DataFusion also [`Error::InvalidOption`]
/// (`engine.kind`) when `tx` is read neither from Parquet files nor from uncompressed
/// delimited text, [`Error::Io`] when the text cannot be staged, and `Error::DataFusion`
/// (feature `datafusion`) when DataFusion fails (a memory limit too small even to
/// spill, say) or a plan fails on Ballista's executors; `Error::Ballista` (feature
/// `ballista`) when the scheduler given does not answer or the in-process cluster
/// cannot start.
///
/// # Example
/// ```
/// use patronage::engine::{Engine, customer_table};
/// use patronage::prelude::*;
/// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
/// let (table, run) = customer_table(&tx, &SummaryOptions::weekly(), None, &Engine::Memory)?;
/// assert_eq!(run.engine, "memory");
/// assert!(table.n_customers() > 0);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn customer_table(
    tx: &Transactions,
    options: &SummaryOptions,
    cohorts: Option<CohortPeriod>,
    engine: &Engine,
) -> Result<(CustomerTable, EngineRun)> {
    table_on(tx, options, cohorts, engine, Keep::Table)
}

/// The per-customer summary on `engine`: [`customer_table`] without cohorts, turned into
/// its summary. On DataFusion each block keeps only the summary's columns before the
/// blocks are gathered, so the peak follows the summary (about 200 bytes a customer),
/// not the whole customer table.
///
/// # Errors
/// As [`customer_table`].
///
/// # Example
/// ```
/// use patronage::engine::{Engine, summary};
/// use patronage::prelude::*;
/// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
/// let (s, run) = summary(&tx, &SummaryOptions::weekly(), &Engine::Memory)?;
/// assert_eq!(run.engine, "memory");
/// assert!(s.frame().equals_missing(tx.summary(&SummaryOptions::weekly())?.frame()));
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn summary(
    tx: &Transactions,
    options: &SummaryOptions,
    engine: &Engine,
) -> Result<(Summary, EngineRun)> {
    let (table, run) = table_on(tx, options, None, engine, Keep::Summary)?;
    Ok((table.into_summary()?, run))
}

/// The per-customer summary on `engine` written as Parquet part files in the directory
/// `dir`, never gathered in memory: each block's summary is written as it is made (one
/// file for the memory engine, which holds every row anyway). Reading the files in order
/// gives [`summary`]'s frame, row for row and bit for bit; the returned
/// [`SummaryParts`] lists them with the cleaning report. So on DataFusion or Ballista the
/// peak follows one block and the engine's memory pool, not the number of customers.
///
/// `dir` is created; an existing directory is replaced only when it holds nothing but
/// part files (an earlier run's), and only once this run has succeeded: a failed run
/// leaves no file.
///
/// # Errors
/// As [`summary`]; [`Error::Io`] naming `dir` when it is a file or a directory holding
/// other files, or when a part file cannot be written or moved.
///
/// # Example
/// ```
/// use patronage::engine::{Engine, summary_parts};
/// use patronage::prelude::*;
/// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
/// let dir = std::env::temp_dir().join(format!("patronage-doc-parts-{}", std::process::id()));
/// let (parts, run) = summary_parts(&tx, &SummaryOptions::weekly(), &Engine::Memory, &dir)?;
/// assert_eq!(run.engine, "memory");
/// assert_eq!(parts.files.len(), 1);
/// assert_eq!(parts.customers as usize, tx.summary(&SummaryOptions::weekly())?.frame().height());
/// std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn summary_parts(
    tx: &Transactions,
    options: &SummaryOptions,
    engine: &Engine,
    dir: &std::path::Path,
) -> Result<(SummaryParts, EngineRun)> {
    let (table, run) = parts_on(tx, options, None, engine, dir, Keep::Summary)?;
    Ok((table.parts, run))
}

/// The whole customer table on `engine` written as Parquet part files in the directory
/// `dir`, never gathered in memory: [`summary_parts`] with every column of
/// [`CustomerTable::frame`] (the activity counts, cost of goods, tenure, acquisition
/// and channel columns) instead of the summary's. Reading the files in order gives
/// [`customer_table`]'s frame, row for row and bit for bit: a part whose block never
/// saw a channel counts zero for it, as the gathered table does. With a cohort period
/// the blocks' cohort activity is merged as they are written
/// ([`TableParts::cohorts`]). The profitability stage on parts
/// ([`TableParts::profitability`]) reads these parts.
///
/// # Errors
/// As [`summary_parts`].
///
/// # Example
/// ```
/// use patronage::engine::{Engine, customer_table, customer_table_parts};
/// use patronage::prelude::*;
/// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
/// let options = SummaryOptions::weekly();
/// let dir = std::env::temp_dir().join(format!("patronage-doc-table-parts-{}", std::process::id()));
/// let (parts, _) = customer_table_parts(&tx, &options, None, &Engine::Memory, &dir)?;
/// let (table, _) = customer_table(&tx, &options, None, &Engine::Memory)?;
/// let file = polars::prelude::ParquetReader::new(std::fs::File::open(&parts.parts.files[0])?);
/// use polars::prelude::SerReader;
/// assert!(file.finish()?.equals_missing(table.frame()));
/// std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn customer_table_parts(
    tx: &Transactions,
    options: &SummaryOptions,
    cohorts: Option<CohortPeriod>,
    engine: &Engine,
    dir: &std::path::Path,
) -> Result<(TableParts, EngineRun)> {
    parts_on(tx, options, cohorts, engine, dir, Keep::Table)
}

/// [`summary_parts`] (in a [`TableParts`] without channels or cohorts) or
/// [`customer_table_parts`], per `keep`.
fn parts_on(
    tx: &Transactions,
    options: &SummaryOptions,
    cohorts: Option<CohortPeriod>,
    engine: &Engine,
    dir: &std::path::Path,
    keep: Keep,
) -> Result<(TableParts, EngineRun)> {
    engine.check()?;
    let mut writer = parts::PartWriter::new(dir, keep)?;
    match engine {
        #[cfg(feature = "datafusion")]
        Engine::DataFusion(settings) => datafusion::with_blocks(
            tx,
            options,
            cohorts,
            settings,
            keep,
            |cut, runtime, ctx, input| writer.write_blocks(cut, runtime, ctx, input, "datafusion"),
        ),
        #[cfg(feature = "ballista")]
        Engine::Ballista(settings) => ballista::with_blocks(
            tx,
            options,
            cohorts,
            settings,
            keep,
            |cut, runtime, ctx, input| writer.write_blocks(cut, runtime, ctx, input, "ballista"),
        ),
        // The memory engine (and, in a build without them, the engines `check` refused).
        _ => {
            let (table, run) = table_on(tx, options, cohorts, engine, keep)?;
            let (report, obs) = (table.report().clone(), table.observation_day());
            let cal = options.parsed_calibration_end(obs)?;
            writer.write_table(table)?;
            Ok((writer.finish_with(report, obs, options, cal)?, run))
        }
    }
}

/// The customer table on `engine`, keeping `keep` of each block (the memory engine has
/// one block, which `keep` would only copy).
#[cfg_attr(not(feature = "datafusion"), allow(unused_variables))]
fn table_on(
    tx: &Transactions,
    options: &SummaryOptions,
    cohorts: Option<CohortPeriod>,
    engine: &Engine,
    keep: Keep,
) -> Result<(CustomerTable, EngineRun)> {
    engine.check()?;
    match engine {
        Engine::Memory => Ok((
            tx.customer_table(options, cohorts)?,
            EngineRun {
                engine: engine.name().into(),
                ..EngineRun::default()
            },
        )),
        #[cfg(feature = "datafusion")]
        Engine::DataFusion(settings) => {
            datafusion::customer_table(tx, options, cohorts, settings, keep)
        }
        #[cfg(feature = "ballista")]
        Engine::Ballista(settings) => {
            ballista::customer_table(tx, options, cohorts, settings, keep)
        }
        // `check` refused these above; the arms only complete the match.
        #[cfg(not(feature = "datafusion"))]
        Engine::DataFusion(_) => Err(Error::invalid(
            "engine.kind",
            "this build of patronage has no DataFusion engine",
        )),
        #[cfg(not(feature = "ballista"))]
        Engine::Ballista(_) => Err(Error::invalid(
            "engine.kind",
            "this build of patronage has no Ballista engine",
        )),
    }
}
