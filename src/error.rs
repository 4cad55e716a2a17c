//! The crate's one error type.
//!
//! Every variant that comes from user data names the column and, where one row is at
//! fault, the row (1-based data row number: the first row below a header is row 1).

use std::path::PathBuf;

/// Errors from loading, cleaning, summarising and scoring customer data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A column the run needs is not in the input.
    #[error("column `{column}` not found (input has: {available})")]
    MissingColumn {
        /// The column that was asked for (or the role, when auto-detection found nothing).
        column: String,
        /// The input's columns, comma-separated.
        available: String,
    },
    /// A column has a type that cannot hold what its role needs.
    #[error("column `{column}` has type {found}, expected {expected}")]
    WrongType {
        /// The column.
        column: String,
        /// The type found.
        found: String,
        /// What the role accepts.
        expected: String,
    },
    /// The input (or what remained of it after cleaning) has no rows.
    #[error("no usable rows: {what}")]
    EmptyTable {
        /// What was empty.
        what: String,
    },
    /// Record batches given together do not share one schema (feature `arrow`): the batch
    /// (0-based) whose column names or types differ from the first batch's.
    #[error("record batch {batch} does not match the first batch: {reason}")]
    SchemaMismatch {
        /// 0-based index of the first batch that differs.
        batch: usize,
        /// Which columns or types differ.
        reason: String,
    },
    /// A file of a Parquet dataset (a directory or glob of files read as one table) does
    /// not have the first file's columns and types.
    #[error("{path}: column `{column}` {reason} (the first file of the dataset is {first})")]
    DatasetMismatch {
        /// The file that differs.
        path: PathBuf,
        /// The dataset's first file, whose schema the others must have.
        first: PathBuf,
        /// The first column that differs.
        column: String,
        /// How it differs.
        reason: String,
    },
    /// arrow-rs failed to encode or decode record batches (feature `arrow`).
    #[cfg(feature = "arrow")]
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// A row failed a check and the run is strict.
    #[error("row {row}, column `{column}`: {reason} (value: {value})")]
    BadRow {
        /// 1-based data row number.
        row: u64,
        /// The column at fault.
        column: String,
        /// Why the row was refused.
        reason: String,
        /// The offending value as text.
        value: String,
    },
    /// An option or parameter given by the caller is out of range or inconsistent.
    #[error("invalid option `{option}`: {reason}")]
    InvalidOption {
        /// The option.
        option: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file is not what its reader takes it for: not Parquet or Arrow IPC (wrong magic
    /// bytes, a CSV named `.parquet`), cut short, or corrupt compressed data.
    #[error("{path}: cannot read as {format}: {reason}")]
    UnreadableFile {
        /// The file.
        path: PathBuf,
        /// The format it was read as (`Parquet`, `Arrow IPC`, `gzip-compressed text`, ...).
        format: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A text file has bytes that are not UTF-8 (a Latin-1 or Windows-1252 export, say)
    /// in a field the run reads.
    #[error(
        "{path}: row {row}, column `{column}` is not UTF-8 text (value with the bad bytes as \u{fffd}: {value}); convert the file to UTF-8, e.g. `iconv -f latin1 -t utf-8`"
    )]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// 1-based data row number; 0 for the header line.
        row: u64,
        /// The column at fault (in the header line: the name itself, bad bytes as
        /// U+FFFD).
        column: String,
        /// The field, its bad bytes replaced by U+FFFD.
        value: String,
    },
    /// Two columns of a file have one name: refused rather than picking one of them.
    #[error("{path}: column `{column}` appears more than once in the header")]
    DuplicateColumn {
        /// The file.
        path: PathBuf,
        /// The repeated name.
        column: String,
    },
    /// Text the caller gave (a TOML configuration or cost model, a JSON model or rule
    /// table) could not be parsed.
    #[error("cannot parse {what}: {reason}")]
    Parse {
        /// What was being parsed.
        what: String,
        /// The parser's message.
        reason: String,
    },
    /// A result could not be written as JSON (serde refused a value). Not the caller's
    /// mistake: the CLI exits 1 for it, not 2 as for a bad option.
    #[error("cannot write {what} as JSON: {source}")]
    Serialize {
        /// What was being written (`model JSON`, `report JSON`, ...).
        what: String,
        /// serde_json's error.
        source: serde_json::Error,
    },
    /// A model fit stopped before its gradient reached the tolerance.
    #[error(
        "{model} fit did not converge after {iterations} iterations (gradient norm {gradient_norm:.3e}): {hint}"
    )]
    NotConverged {
        /// The model (`bg-nbd`, ...).
        model: String,
        /// Optimiser iterations used.
        iterations: u64,
        /// Gradient norm of the mean objective at the stopping point.
        gradient_norm: f64,
        /// What to try.
        hint: String,
    },
    /// A bootstrap's refits failed on more resamples than it may replace: more than
    /// [`crate::clv::interval::MAX_FAILED_REFIT_SHARE`] of the draws (a refit fails when it
    /// does not converge, for instance because the estimates run off to the edge of the
    /// parameter space on that resample). A data problem, not a usage one: the model has
    /// no finite optimum on too many resamples of these customers.
    #[error(
        "{model}: {failed} bootstrap refits failed for {draws} draws, more than the {allowed} that may be replaced by fresh resamples; the first failure: {first}"
    )]
    BootstrapFailed {
        /// The model refitted (`mbg-nbd`, ...).
        model: String,
        /// Failed refits counted when the bootstrap stopped (more than `allowed`).
        failed: usize,
        /// Draws asked for.
        draws: usize,
        /// The most failed refits replaced for this many draws (a tenth of them).
        allowed: usize,
        /// The first failed refit in draw order: its draw and its error.
        first: String,
    },
    /// A fitted model cannot answer the question asked (for instance Gamma-Gamma with
    /// q <= 1 has no finite mean spend), or its parameters are not valid.
    #[error("{model}: {reason}")]
    Model {
        /// The model.
        model: String,
        /// Why.
        reason: String,
    },
    /// A customer of the fitted data has no value (a missing row or an empty cell) in a
    /// covariate column.
    #[error("covariate `{column}`: no value for customer `{customer}`")]
    MissingCovariate {
        /// The covariate column.
        column: String,
        /// The customer's id.
        customer: String,
    },
    /// A covariate column takes one value only over the fitted customers, so its
    /// coefficient cannot be told apart from the base parameters.
    #[error("covariate `{column}` is constant over the fitted customers")]
    ConstantCovariate {
        /// The covariate column (for a categorical column's dummy, `column=level`).
        column: String,
    },
    /// Covariate columns are perfectly collinear (with each other and the intercept): one
    /// of them is a linear combination of the others, so their coefficients are not
    /// identified.
    #[error("covariates {} are perfectly collinear", columns.join(", "))]
    CollinearCovariates {
        /// The columns involved: the one that is a combination of earlier ones first.
        columns: Vec<String>,
    },
    /// A setting needs a transaction column role that the schema does not map (and
    /// auto-detection did not find): e.g. the acquisition channel covariate without a
    /// channel column. A usage error: map the role or drop the setting.
    #[error(
        "{needed_by} needs the transactions' `{role}` column, and none is mapped (name it in [schema] {role} or with --{role}-col)"
    )]
    MissingRole {
        /// The role (`channel`).
        role: String,
        /// What needs it.
        needed_by: String,
    },
    /// Covariates were asked for with a model that takes none: covariates act on the
    /// BG/NBD and Pareto/NBD purchase models and on Gamma-Gamma spend only.
    #[error(
        "{model} takes no covariates: covariates are supported for bg-nbd and pareto-nbd (purchases) and gamma-gamma (spend)"
    )]
    CovariatesUnsupported {
        /// The model asked for (`mbg-nbd`, ...).
        model: String,
    },
    /// DataFusion failed while running phase 1 (feature `datafusion`): reading a file,
    /// or a memory limit too small for even a spilling sort (`ResourcesExhausted`).
    #[cfg(feature = "datafusion")]
    #[error("datafusion: {0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// The Ballista engine (feature `ballista`) found no scheduler at the address given,
    /// or its in-process cluster could not start (a scheduler or executor that failed to
    /// bind a port, say). (A plan that fails on the cluster is [`Error::DataFusion`].)
    #[cfg(feature = "ballista")]
    #[error("ballista: {reason}")]
    Ballista {
        /// What failed, with Ballista's or the network's own words.
        reason: String,
    },
    /// An error raised inside polars while reading or computing a frame.
    #[cfg(feature = "frames")]
    #[error("polars: {0}")]
    Polars(#[from] polars::error::PolarsError),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A settings or model file's text, with an unreadable file as [`Error::Io`] naming it.
pub(crate) fn read_text(path: &std::path::Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

impl Error {
    pub(crate) fn invalid(option: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidOption {
            option: option.into(),
            reason: reason.into(),
        }
    }

    /// True when the error is the caller's mistake in options or parameters rather than
    /// a problem in the data (the CLI exits 2 for these and 1 for data errors).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Error::InvalidOption { .. }
                | Error::Parse { .. }
                | Error::CovariatesUnsupported { .. }
                | Error::MissingRole { .. }
        )
    }
}
