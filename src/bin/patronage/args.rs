//! The command line as clap types: `Cli` and its `Command` enum (one variant per
//! subcommand, with each option's help text), and the argument groups the commands share:
//! `InputArgs` (the transaction file, column mapping and cleaning options), `TimeArgs`
//! (purchase unit, time unit, observation and calibration ends), `FitArgs` (penalizer
//! and iteration budget, turned into `FitOptions`) and `IntervalArgs` (level, draws,
//! bootstrap and seed of the intervals, turned into `IntervalOptions`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use patronage::clv::FitOptions;
use patronage::clv::interval::{DEFAULT_DRAWS, DEFAULT_SEED, IntervalMethod, IntervalOptions};

/// The INPUT `fit` sees when none is given (only allowed with `--survival`).
pub(crate) const NO_INPUT: &str = "<no input>";

#[derive(Parser)]
#[command(
    name = "patronage",
    version,
    about = "Customer analytics on transaction tables: per-customer summaries, RFM scores and segments, lifetime-value models, behavioural segmentation",
    long_about = None
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Per-customer summary: frequency, recency, T, monetary_value (BTYD sense), first and
    /// last purchase, n_purchases, total_spend, recency_days; calibration/holdout columns
    /// with --calibration-end.
    Summary {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        time: TimeArgs,
        /// Write the table here (.csv, .parquet, .json, .ndjson, .arrow by extension);
        /// with --part-files, the directory of part files; default: CSV on standard
        /// output.
        #[arg(short = 'o', long = "output", value_name = "PATH")]
        output: Option<PathBuf>,
        /// Summarise the customers in P id ranges one at a time to bound memory (the rows
        /// are first spilled to temporary Parquet files, one per range); 1 holds every row
        /// at once. Default: one range per 10M input rows. Same output either way.
        #[arg(long, value_name = "P")]
        partitions: Option<usize>,
        /// Write the summary as Parquet part files in the directory given by -o (one per
        /// block of the datafusion or ballista engine, one with the memory engine),
        /// never gathering it in memory: with those engines the peak follows a block
        /// and --memory-limit, not the number of customers. Read in order, the files
        /// are the one-file summary row for row. A directory of an earlier run's part
        /// files is replaced; any other existing path is refused.
        #[arg(long, requires = "output", conflicts_with = "partitions")]
        part_files: bool,
    },
    /// RFM scores (quantile bins, recency reversed) and named segments.
    Rfm {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        time: TimeArgs,
        /// Number of score bins (2..=20).
        #[arg(long, default_value_t = 5)]
        bins: u8,
        /// Segment table: `rfm` (the R rfm package's), `rf-map` (recency x frequency map)
        /// or a TOML/JSON rule file.
        #[arg(long, default_value = "rfm", value_name = "rfm|rf-map|FILE")]
        segments: String,
        /// Rank M on the mean spend per purchase instead of total spend.
        #[arg(long)]
        mean_monetary: bool,
        /// Write the scores here (.csv, .parquet, .json by extension); with
        /// --part-files, the directory of part files; default: CSV on standard output
        /// unless --json is given.
        #[arg(short = 'o', long = "output", value_name = "PATH")]
        output: Option<PathBuf>,
        /// Print the segment summary as JSON on standard output.
        #[arg(long)]
        json: bool,
        /// Write the scores as Parquet part files in the directory given by -o, one per
        /// summary part (see `summary --part-files`): the summary is written block by
        /// block, the score cuts are found in passes over its parts and each part is
        /// scored as it is read, so the customers are never gathered. The scores and
        /// the segment summary are the one-file run's, exactly.
        #[arg(long, requires = "output")]
        part_files: bool,
    },
    /// Fit a model (bg-nbd, mbg-nbd, pareto-nbd, bg-bb, gamma-gamma) by maximum
    /// likelihood and print its coefficients; with --calibration-end, fit on the
    /// calibration period and check against the holdout. `fit compare` fits BG/NBD,
    /// MBG/NBD and Pareto/NBD and prints log-likelihood, AIC, BIC, holdout errors and
    /// the pooled chi-square of each, and the model chosen (lowest holdout MAE with
    /// --calibration-end, else lowest BIC). `fit sbg --survival FILE` fits the
    /// contractual-churn (shifted-beta-geometric) model to a survival table instead of
    /// transactions; `fit sbg INPUT [--cohort month|week]` to the acquisition cohorts of
    /// a subscription log.
    // INPUT is not needed with --survival (sbg); the placeholder default only lets the
    // shared `InputArgs` be built then (clap treats an empty default as no value), and
    // `run_fit` refuses INPUT and --survival together.
    #[command(mut_arg("input", |a| a
        .required(false)
        .required_unless_present("survival")
        .default_value(NO_INPUT)
        .hide_default_value(true)))]
    Fit {
        /// bg-nbd | mbg-nbd | pareto-nbd | bg-bb | gamma-gamma | sbg, or `compare`
        #[arg(value_name = "MODEL|compare")]
        model: String,
        /// The transactions (every model but sbg; sbg takes --survival).
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        sbg: SbgArgs,
        #[command(flatten)]
        time: TimeArgs,
        /// INPUT is a per-customer table (frequency, recency, T or x, t_x, T; optional
        /// monetary_value/zbar and weights; for bg-bb frequency, recency, periods, weights)
        /// rather than transactions.
        #[arg(long)]
        summary: bool,
        #[command(flatten)]
        fit: FitArgs,
        #[command(flatten)]
        covariates: CovariateArgs,
        /// Print one JSON object (params, standard_errors, log_likelihood, n_customers,
        /// converged, iterations; holdout check with --calibration-end).
        #[arg(long)]
        json: bool,
        /// Save the fitted model as JSON (load with `Fitted::from_json`).
        #[arg(long, value_name = "FILE")]
        save_model: Option<PathBuf>,
        /// bg-bb with --interval: per-customer P(alive) at the next opportunity and
        /// expected transactions in the next `--horizon` opportunities, with their
        /// intervals (the other models' intervals are `patronage clv --interval`).
        #[command(flatten)]
        interval: IntervalArgs,
        /// With --interval: profile-likelihood intervals of the parameters at that level
        /// instead of per-customer scores (every model but sbg; printed after the
        /// coefficients, `profile_intervals` in the JSON). No draws: not with --bootstrap
        /// or --output.
        #[arg(
            long,
            requires = "interval",
            conflicts_with_all = ["bootstrap", "output"],
            help_heading = "Intervals"
        )]
        profile: bool,
        /// bg-bb with --interval: opportunities ahead for the expected transactions.
        #[arg(long, default_value_t = 52.0, requires = "interval")]
        horizon: f64,
        /// bg-bb with --interval: write the per-customer table here (.csv, .parquet,
        /// .json by extension); default: CSV on standard output unless --json is given.
        #[arg(
            short = 'o',
            long = "output",
            value_name = "FILE",
            requires = "interval"
        )]
        output: Option<PathBuf>,
    },
    /// Per-customer P(alive), expected purchases, expected spend and CLV from a purchase
    /// model and Gamma-Gamma spend.
    Clv {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        time: TimeArgs,
        /// Purchase model; `auto`: the one `patronage fit compare` chooses (lowest
        /// holdout MAE with --calibration-end, else lowest BIC).
        #[arg(
            long,
            default_value = "bg-nbd",
            value_name = "bg-nbd|mbg-nbd|pareto-nbd|auto"
        )]
        model: String,
        /// Horizon in time units (--time-unit).
        #[arg(long, default_value_t = 52.0)]
        horizon: f64,
        /// Discount rate per time unit (e.g. 0.0019 a week is about 10% a year).
        #[arg(long, default_value_t = 0.0)]
        discount_rate: f64,
        /// Discount every STEP time units (e.g. 4.345 weeks: monthly, as lifetimes).
        #[arg(long, default_value_t = 1.0)]
        step: f64,
        /// Profit margin on spend: a number (0.3 = 30%), or `cost` for each customer's
        /// gross profit / revenue from the cost column.
        #[arg(long, default_value = "1", value_name = "M|cost")]
        margin: String,
        /// Expected spend from a Gamma-Gamma fit, or each customer's historic mean.
        #[arg(
            long,
            default_value = "gamma-gamma",
            value_name = "gamma-gamma|historic"
        )]
        spend: String,
        /// Fit and score on the full observation period (for acting today), or on the
        /// fitted period: the calibration period when --calibration-end is given (scores
        /// a holdout can check).
        #[arg(long, default_value = "full", value_name = "full|fitted")]
        scoring: String,
        /// Score with a purchase model saved by `patronage fit ... --save-model FILE`
        /// instead of fitting one (--model and the fitting options are then not used).
        #[arg(long, value_name = "FILE")]
        purchase_model: Option<PathBuf>,
        /// Score with a Gamma-Gamma model saved by `patronage fit gamma-gamma ...
        /// --save-model FILE` instead of fitting one.
        #[arg(long, value_name = "FILE")]
        spend_model: Option<PathBuf>,
        #[command(flatten)]
        fit: FitArgs,
        #[command(flatten)]
        interval: IntervalArgs,
        #[command(flatten)]
        covariates: CovariateArgs,
        /// Print the models, customer equity, notes and assumptions as JSON on standard
        /// output (the table then goes only to -o FILE).
        #[arg(long)]
        json: bool,
        /// Write the table here (.csv, .parquet, .json by extension); with
        /// --part-files, the directory of part files; default: CSV on standard output.
        #[arg(short = 'o', long = "output", value_name = "PATH")]
        output: Option<PathBuf>,
        /// Write the CLV table as Parquet part files in the directory given by -o, one
        /// per summary part (see `summary --part-files`): the summary is written block by
        /// block, the models are fitted on its compressed data and each part is scored
        /// as it is read, so the customers are never gathered. Read in order, the files
        /// are the one-file table row for row. Not with --model auto, saved models,
        /// --json, intervals or covariates (they need every customer at once).
        #[arg(
            long,
            requires = "output",
            conflicts_with_all = ["json", "purchase_model", "spend_model"]
        )]
        part_files: bool,
    },
    /// Cluster customers into behavioural segments (k-means or a Gaussian mixture), choose
    /// k over a range (--k-rule), and describe each segment.
    Segment {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        time: TimeArgs,
        /// Exactly N segments.
        #[arg(long, conflicts_with = "k_range")]
        k: Option<usize>,
        /// Choose k in A..B (inclusive) by --k-rule.
        #[arg(long, default_value = "2..8", value_name = "A..B")]
        k_range: String,
        /// Comma-separated features, each `column[:transform]` (transform: log1p,
        /// standardize, robust, minmax, none, log1p-robust, log1p-minmax, log1p-none).
        /// Columns of the summary (recency_days, n_purchases, total_spend,
        /// monetary_value, tenure, gross_profit, ...) or of the CLV scores (p_alive,
        /// expected_purchases, clv: a BG/NBD + Gamma-Gamma fit is run for them).
        #[arg(
            long,
            default_value = "recency_days,n_purchases,total_spend",
            value_name = "LIST"
        )]
        features: String,
        /// kmeans or gmm (Gaussian mixture).
        #[arg(long, default_value = "kmeans", value_name = "kmeans|gmm")]
        method: String,
        /// Seed of the initialisations and the silhouette sample.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Above this many customers, choose k on a seeded sample of this size, then
        /// iterate the chosen k on everyone (0: every k on every customer).
        #[arg(long, default_value_t = 200_000, value_name = "N")]
        fit_sample: usize,
        /// How k is chosen over --k-range: the highest mean silhouette, the gap
        /// statistic, or the stability of the segments across subsamples (default: the
        /// library's, see docs/guide/segmentation.md).
        #[arg(long, value_name = "silhouette|gap|stability")]
        k_rule: Option<String>,
        /// Write customer_id, segment, segment_label and the features here (.csv,
        /// .parquet, .json by extension); with --part-files, the directory of part files.
        #[arg(short = 'o', long = "output", value_name = "PATH")]
        output: Option<PathBuf>,
        /// Print the chosen k, the k-selection table and the profiles as JSON.
        #[arg(long)]
        json: bool,
        /// Save the fitted segmentation (JSON) to assign new customers later.
        #[arg(long, value_name = "FILE")]
        save_model: Option<PathBuf>,
        /// Write the segments as Parquet part files in the directory given by -o, one per
        /// summary part (see `summary --part-files`): the summary is written block by
        /// block and only the features (a few numbers a customer) are gathered for the
        /// clustering, never the customer rows. The segments, model and profiles are
        /// the one-file run's, exactly. With channel_mix the whole customer table is
        /// written as part files instead (it holds the per-channel counts).
        #[arg(long, requires = "output")]
        part_files: bool,
    },
    /// Per-customer cost-to-serve and net contribution, the profit vs cost-to-serve
    /// matrix, the whale curve and the customer pyramid.
    Profitability {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        time: TimeArgs,
        #[command(flatten)]
        costs: CostArgs,
        /// Where to split the matrix axes (margin %, cost-to-serve): median, mean, qN, or x,y.
        #[arg(long, default_value = "median", value_name = "median|mean|qN|x,y")]
        split: String,
        /// Write the per-customer table here; default: CSV on standard output unless
        /// --json; with --part-files, the directory of part files.
        #[arg(short = 'o', long = "output", value_name = "PATH")]
        output: Option<PathBuf>,
        /// Print thresholds, quadrant summary and whale-curve figures as JSON.
        #[arg(long)]
        json: bool,
        /// Write the per-customer table as Parquet part files in the directory given by
        /// -o, one per block of the customer table (see `summary --part-files`): the
        /// customer table is written block by block and only five numbers a customer
        /// (and its RFM segment) are gathered for the matrix, never the customer rows.
        /// The table and figures are the one-file run's, exactly.
        #[arg(long, requires = "output")]
        part_files: bool,
    },
    /// A ranked target list by CLV, expected purchases or P(alive) x value, cut by a count
    /// or by contact cost; with --calibration-end, gain and lift on the holdout.
    Target {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        time: TimeArgs,
        /// Ranking score (clv-lower: the lower bound of CLV's interval, computed at
        /// --interval, 0.9 by default).
        #[arg(
            long,
            default_value = "clv",
            value_name = "clv|clv-lower|expected-purchases|p-alive-value"
        )]
        by: String,
        /// Select the best N customers.
        #[arg(long, conflicts_with = "contact_cost")]
        top: Option<usize>,
        /// Select customers whose CLV exceeds the cost of contacting them.
        #[arg(long, value_name = "C")]
        contact_cost: Option<f64>,
        /// Horizon in time units for the CLV and expected purchases.
        #[arg(long, default_value_t = 52.0)]
        horizon: f64,
        /// Profit margin on spend.
        #[arg(long, default_value_t = 1.0)]
        margin: f64,
        #[command(flatten)]
        interval: IntervalArgs,
        /// Write the ranked list here; default: CSV on standard output unless --json.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
        /// Print the selection count and the holdout gain table as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run every stage (summary, RFM, CLV, segmentation, profitability, cohorts) in one
    /// pass over the transactions and write the report: customers.parquet/.csv,
    /// segments.csv, rfm_segments.csv, matrix.csv, whale.csv, cohorts.csv, models.json,
    /// report.json, SVG charts and a self-contained report.html.
    ///
    /// Settings come from --config (TOML; see docs/guide/report.md); input and time
    /// options given on the command line override it.
    Report {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        time: TimeArgs,
        /// Pipeline configuration (TOML): [input], [schema], [time], [rfm], [clv],
        /// [segmentation], [costs], [profitability], [cohorts], [whatif], [report].
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Cost-to-serve rates (TOML or JSON, the keys of [costs]); replaces the
        /// configuration's [costs]. Without any rate the profitability stage is skipped.
        #[arg(long, value_name = "FILE")]
        costs: Option<PathBuf>,
        /// Gross margin rate for data without a cost column (sets [costs] margin_rate).
        #[arg(long, value_name = "RATE")]
        margin_rate: Option<f64>,
        /// Also write customers.csv (customers.parquet is always written; sets [report]
        /// csv).
        #[arg(long)]
        csv: bool,
        /// The log is of contract payments (subscriptions): also fit the contractual-churn
        /// (sBG) model to the acquisition cohorts and add the "Contractual retention"
        /// section (sets [cohorts] contractual; the cohorts' period is [cohorts] period).
        #[arg(long)]
        contractual: bool,
        /// With --contractual: the discount rate a year at which the residual lifetime by
        /// renewal count is valued (sets [cohorts] annual_discount_rate; 0.1 by default).
        #[arg(long, value_name = "RATE")]
        annual_discount_rate: Option<f64>,
        #[command(flatten)]
        interval: IntervalArgs,
        #[command(flatten)]
        covariates: CovariateArgs,
        #[command(flatten)]
        whatif: ReportWhatifArgs,
        /// How the segmentation chooses k (sets [segmentation] k_rule): silhouette, gap
        /// or stability.
        #[arg(long, value_name = "silhouette|gap|stability")]
        k_rule: Option<String>,
        /// Directory to write into (created when missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// No progress display and no summary line.
        #[arg(short, long)]
        quiet: bool,
        /// Print the wall time of each stage (and of writing the files) on stderr.
        #[arg(long)]
        timings: bool,
    },
    /// Retention what-if: customer equity before and after the retention rate (the
    /// expected share of today's active customers still active --period time units
    /// later) moves by --retention points, with the gain per point and the break-even
    /// spend per customer retained; per RFM segment or profitability quadrant with --by,
    /// net of cost-to-serve with a cost model (--costs, --margin-rate or --by quadrant).
    Whatif {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        time: TimeArgs,
        /// Change of the retention rate in percentage points (5 = from 62% to 67%;
        /// negative lowers it).
        #[arg(long, allow_hyphen_values = true, value_name = "POINTS")]
        retention: f64,
        /// The period the retention rate is measured over, in time units (--time-unit).
        #[arg(long, default_value_t = 52.0)]
        period: f64,
        /// Break the figures down by RFM segment or profitability quadrant.
        #[arg(long, value_name = "segment|quadrant")]
        by: Option<String>,
        #[command(flatten)]
        clv: ClvArgs,
        #[command(flatten)]
        costs: CostArgs,
        /// Where to split the profitability matrix (for --by quadrant).
        #[arg(long, default_value = "median", value_name = "median|mean|qN|x,y")]
        split: String,
        /// The matrix's first axis: margin %, or gross profit (`contribution`, for data
        /// where every customer has one margin rate).
        #[arg(long, default_value = "margin", value_name = "margin|contribution")]
        axis: String,
        #[command(flatten)]
        fit: FitArgs,
        /// Write the per-customer table (CLV before and after, gain) here.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
        /// Print the figures as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Acquisition cohorts: retention and revenue by period since acquisition.
    Cohorts {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        time: TimeArgs,
        /// Cohort period.
        #[arg(long, default_value = "month", value_name = "month|week")]
        cohort: String,
        /// Write `cohort, period, customers, active, retention, revenue` here; default:
        /// CSV on standard output.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Write a seeded synthetic transaction log drawn from known BG/NBD (or Pareto/NBD)
    /// and Gamma-Gamma parameters, with quantity, cost, channel and returns.
    Simulate {
        /// Number of customers.
        #[arg(long)]
        customers: usize,
        /// Random seed (same seed, same file, whatever the thread count).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// First day of the log.
        #[arg(long, default_value = "2024-01-01", value_name = "DATE")]
        start: String,
        /// Length of the log in weeks.
        #[arg(long, default_value_t = 78.0)]
        weeks: f64,
        /// Purchase process.
        #[arg(long, default_value = "bg-nbd", value_name = "bg-nbd|pareto-nbd")]
        model: String,
        /// Also write the per-customer truth (rates, dropout, service contacts) here.
        #[arg(long, value_name = "FILE")]
        truth: Option<PathBuf>,
        /// Output file (.csv or .parquet, ...).
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: PathBuf,
    },
}

/// The cost model of `patronage profitability`: a file, the activity table, and the
/// margin rate for data without a cost column (the flags `report` has too).
#[derive(Args)]
pub(crate) struct CostArgs {
    /// Cost-to-serve rates (TOML or JSON: per_order, per_line, per_delivery, ...; see
    /// datasets/costs_example.toml). Required: a rate left out is zero, and the crate
    /// invents no costs.
    #[arg(long, value_name = "FILE")]
    pub(crate) costs: Option<PathBuf>,
    /// Per-customer activity table: customer_id with service_contacts and/or visits.
    #[arg(long, value_name = "FILE")]
    pub(crate) activity: Option<PathBuf>,
    /// Gross margin rate for data without a cost column (sets the cost model's
    /// margin_rate).
    #[arg(long, value_name = "RATE")]
    pub(crate) margin_rate: Option<f64>,
}

/// The CLV settings of `patronage whatif` (`patronage clv` has the same options).
#[derive(Args)]
pub(crate) struct ClvArgs {
    /// Purchase model.
    #[arg(
        long,
        default_value = "bg-nbd",
        value_name = "bg-nbd|mbg-nbd|pareto-nbd"
    )]
    pub(crate) model: String,
    /// CLV horizon in time units.
    #[arg(long, default_value_t = 52.0)]
    pub(crate) horizon: f64,
    /// Discount rate per time unit.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) discount_rate: f64,
    /// Discount every STEP time units.
    #[arg(long, default_value_t = 1.0)]
    pub(crate) step: f64,
    /// Profit margin on spend: a number, or `cost` (from the cost column).
    #[arg(long, default_value = "1", value_name = "M|cost")]
    pub(crate) margin: String,
    /// Expected spend from a Gamma-Gamma fit, or each customer's historic mean.
    #[arg(
        long,
        default_value = "gamma-gamma",
        value_name = "gamma-gamma|historic"
    )]
    pub(crate) spend: String,
}

impl CostArgs {
    /// The cost model: the `--costs` file (or every rate's default), with
    /// `--margin-rate` when given.
    pub(crate) fn model(&self) -> patronage::Result<patronage::profitability::CostModel> {
        let mut model = match &self.costs {
            Some(path) => patronage::profitability::CostModel::from_path(path)?,
            None => patronage::profitability::CostModel::default(),
        };
        if let Some(rate) = self.margin_rate {
            model.margin_rate = Some(rate);
        }
        Ok(model)
    }
}

/// Time-invariant covariates for `fit bg-nbd|pareto-nbd|gamma-gamma` (issue #18).
#[derive(Args)]
pub(crate) struct CovariateArgs {
    /// Per-customer covariate table (CSV, Parquet or Arrow IPC) with a `customer_id`
    /// column, joined to the fitted customers; bg-nbd, pareto-nbd and gamma-gamma only
    /// (on `clv` and `report`: the purchase model and Gamma-Gamma, each customer scored
    /// at their own parameters; sets [clv] covariates).
    #[arg(
        long,
        value_name = "FILE",
        requires = "covariate_cols",
        help_heading = "Covariates"
    )]
    pub(crate) covariates: Option<PathBuf>,
    /// The table's columns to use, comma-separated: numbers as they are, text as dummies
    /// against the most frequent level (sets [clv] covariate_cols).
    #[arg(
        long,
        value_name = "A,B",
        value_delimiter = ',',
        requires = "covariates",
        help_heading = "Covariates"
    )]
    pub(crate) covariate_cols: Vec<String>,
    /// Covariates derived from the log, comma-separated: channel (of the first
    /// purchase), cohort (period of the first purchase), first-order-value (ln(1 + the
    /// first purchase day's spend)); with or without --covariates (sets [clv]
    /// derived_covariates).
    #[arg(
        long,
        value_name = "channel,cohort,first-order-value",
        value_delimiter = ',',
        help_heading = "Covariates"
    )]
    pub(crate) derived_covariates: Vec<String>,
    /// The cohort covariate's period: month, quarter (default) or year (sets [clv]
    /// acquisition_period).
    #[arg(
        long,
        value_name = "month|quarter|year",
        requires = "derived_covariates",
        help_heading = "Covariates"
    )]
    pub(crate) acquisition_period: Option<String>,
}

impl CovariateArgs {
    /// The derived covariates asked for, checked: `None` without `--derived-covariates`.
    pub(crate) fn derived(
        &self,
    ) -> patronage::Result<Option<patronage::stages::covariates::DerivedCovariates>> {
        let covariates = self
            .derived_covariates
            .iter()
            .map(|c| c.parse())
            .collect::<patronage::Result<Vec<_>>>()?;
        let period = self
            .acquisition_period
            .as_deref()
            .map(str::parse)
            .transpose()?;
        patronage::stages::covariates::DerivedCovariates::from_settings(&covariates, period)
    }

    /// The covariate settings asked for: the table read (and its columns checked) and the
    /// derived covariates checked, before any transaction is read; `None` without either.
    pub(crate) fn settings(
        &self,
    ) -> patronage::Result<Option<patronage::stages::covariates::CovariateSettings>> {
        use patronage::stages::covariates::{CovariateSettings, CovariateTable};
        let derived = self.derived()?;
        let table = match &self.covariates {
            Some(path) => Some(CovariateTable::read(path, &self.covariate_cols)?),
            None => None,
        };
        Ok(match (table, derived) {
            (Some(t), Some(d)) => Some(CovariateSettings::from_table(t).with_derived(d)),
            (Some(t), None) => Some(CovariateSettings::from_table(t)),
            (None, Some(d)) => Some(CovariateSettings::from_derived(d)),
            (None, None) => None,
        })
    }
}

/// The report's retention what-if (the `[whatif]` table; `patronage whatif` has the
/// same figures as a command of its own).
#[derive(Args, Debug, Clone)]
pub(crate) struct ReportWhatifArgs {
    /// Add the "Retention what-if" section: customer equity before and after the
    /// retention rate moves by this many points, per profitability quadrant (or RFM
    /// segment) and net of cost-to-serve (sets [whatif] retention).
    #[arg(long, value_name = "POINTS", allow_negative_numbers = true)]
    pub(crate) whatif: Option<f64>,
    /// The period the retention rate is measured over, in time units (sets [whatif]
    /// period; default a year: 52 weeks, 12 months, 365 days).
    #[arg(long, value_name = "TIME_UNITS")]
    pub(crate) whatif_period: Option<f64>,
    /// The what-if's breakdown (sets [whatif] by; default quadrant when the
    /// profitability matrix runs, else segment).
    #[arg(long, value_name = "quadrant|segment")]
    pub(crate) whatif_by: Option<String>,
}

/// The options of `patronage fit sbg` (the contractual-churn model).
#[derive(Args)]
pub(crate) struct SbgArgs {
    /// sbg only: survival table (CSV, Parquet or Arrow IPC) with columns `period,
    /// customers`: customers still active at the start of each period, period 0 first.
    #[arg(long, value_name = "FILE")]
    pub(crate) survival: Option<PathBuf>,
    /// sbg on a subscription log (INPUT): the period of the acquisition cohorts and
    /// renewals, month when not given (a customer is subscribed from the period of
    /// their first payment to that of their last).
    #[arg(long, value_name = "month|week")]
    pub(crate) cohort: Option<String>,
    /// sbg: the discount rate a year at which the residual lifetime by renewal count
    /// (DERL) is valued; 0.1 (10%) when not given.
    #[arg(long, value_name = "RATE")]
    pub(crate) annual_discount_rate: Option<f64>,
    /// sbg --survival: how many of the table's periods make a year (1 when not given:
    /// annual contracts; 12 for monthly ones). A log's --cohort sets it.
    #[arg(long, value_name = "N")]
    pub(crate) periods_per_year: Option<f64>,
    /// sbg: the payment per period, to value the residual lifetimes (a `value` column:
    /// DERL times the payment). A log's is its mean payment per subscribed period; this
    /// overrides it (a list price, say).
    #[arg(long, value_name = "AMOUNT")]
    pub(crate) payment_per_period: Option<f64>,
}

#[derive(Args)]
pub(crate) struct FitArgs {
    /// L2 penalty on the parameters (0 = maximum likelihood).
    #[arg(long, default_value_t = 0.0, help_heading = "Fitting")]
    penalizer: f64,
    /// Optimiser iteration budget.
    #[arg(long, default_value_t = 1000, help_heading = "Fitting")]
    max_iterations: u64,
    /// Start every fit from the initial values. By default a fit on more than 40,000
    /// distinct rows starts from the estimate on a systematic sample of 20,000
    /// customers, which reaches the same optimum (to the gradient tolerance) sooner.
    #[arg(long, help_heading = "Fitting")]
    cold_start: bool,
}

impl FitArgs {
    pub(crate) fn options(&self) -> FitOptions {
        FitOptions {
            penalizer: self.penalizer,
            max_iterations: self.max_iterations,
            warm_start: !self.cold_start,
            ..FitOptions::default()
        }
    }
}

/// Intervals from parameter uncertainty (`[clv] interval, draws, bootstrap, seed` in
/// the pipeline's TOML).
#[derive(Args)]
pub(crate) struct IntervalArgs {
    /// Intervals at this level (e.g. 0.9) from the models' parameter uncertainty: adds
    /// p_alive_lo/hi, expected_purchases_lo/hi, expected_spend_lo/hi (Gamma-Gamma) and
    /// clv_lo/hi, and customer equity's interval.
    #[arg(long, value_name = "LEVEL", help_heading = "Intervals")]
    pub(crate) interval: Option<f64>,
    /// Parameter draws for the intervals (needs --interval).
    #[arg(
        long,
        value_name = "N",
        default_value_t = DEFAULT_DRAWS,
        requires = "interval",
        help_heading = "Intervals"
    )]
    pub(crate) draws: usize,
    /// Draw parameters by refitting on customers resampled with replacement instead of
    /// from the fit's asymptotic normal (slower: one fit per draw; needs --interval).
    #[arg(long, requires = "interval", help_heading = "Intervals")]
    pub(crate) bootstrap: bool,
    /// Seed of the draws (same seed, same intervals, whatever the thread count; needs
    /// --interval).
    #[arg(
        long,
        value_name = "N",
        default_value_t = DEFAULT_SEED,
        requires = "interval",
        help_heading = "Intervals"
    )]
    pub(crate) seed: u64,
}

impl IntervalArgs {
    /// The interval settings, when --interval is given.
    pub(crate) fn options(&self) -> Option<IntervalOptions> {
        self.interval.map(|level| {
            IntervalOptions::new(level)
                .draws(self.draws)
                .seed(self.seed)
                .method(if self.bootstrap {
                    IntervalMethod::Bootstrap
                } else {
                    IntervalMethod::Asymptotic
                })
        })
    }
}

#[derive(Args)]
pub(crate) struct InputArgs {
    /// Transaction file: CSV (default), TSV, whitespace-separated text, Parquet, Arrow IPC.
    #[arg(value_name = "INPUT")]
    pub(crate) input: PathBuf,
    /// Customer id column (default: auto-detect customer_id, CustomerID, customer, ...).
    #[arg(long, value_name = "C", help_heading = "Input")]
    pub(crate) customer_col: Option<String>,
    /// Date column (default: auto-detect date, InvoiceDate, timestamp, order_date, ...).
    #[arg(long, value_name = "C", help_heading = "Input")]
    pub(crate) date_col: Option<String>,
    /// Amount column (default: auto-detect amount, revenue, sales, dollar_value, ...;
    /// or price x quantity). Negative amounts are returns.
    #[arg(long, value_name = "C", help_heading = "Input")]
    pub(crate) amount_col: Option<String>,
    /// Unit price column; amount = price x quantity when there is no amount column.
    #[arg(long, value_name = "C", help_heading = "Input")]
    pub(crate) price_col: Option<String>,
    /// Quantity column. Negative quantities mark returns.
    #[arg(long, value_name = "C", help_heading = "Input")]
    pub(crate) quantity_col: Option<String>,
    /// Cost-of-goods column (line total); adds gross_profit.
    #[arg(long, value_name = "C", help_heading = "Input")]
    pub(crate) cost_col: Option<String>,
    /// Cost-of-goods per unit column (multiplied by quantity), when there is no line cost.
    #[arg(long, value_name = "C", help_heading = "Input")]
    pub(crate) unit_cost_col: Option<String>,
    /// Order id column.
    #[arg(long, value_name = "C", help_heading = "Input")]
    pub(crate) order_col: Option<String>,
    /// Channel column.
    #[arg(long, value_name = "C", help_heading = "Input")]
    pub(crate) channel_col: Option<String>,
    /// Return flag column (true/false, 1/0, yes/no).
    #[arg(long, value_name = "C", help_heading = "Input")]
    pub(crate) return_col: Option<String>,
    /// strftime format of text dates (default: ISO dates/datetimes or YYYYMMDD).
    #[arg(long, value_name = "FMT", help_heading = "Input")]
    pub(crate) date_format: Option<String>,
    /// Field delimiter of delimited text (one character, or `tab`).
    #[arg(
        long,
        value_name = "X",
        conflicts_with = "whitespace",
        help_heading = "Input"
    )]
    pub(crate) delimiter: Option<String>,
    /// Fields separated by runs of spaces/tabs (the CDNOW files).
    #[arg(long, help_heading = "Input")]
    pub(crate) whitespace: bool,
    /// The file has no header line; columns are column_1..column_n.
    #[arg(long, help_heading = "Input")]
    pub(crate) no_header: bool,
    /// Returns: `net` (subtract from the latest purchase; default) or `exclude`.
    #[arg(long, value_name = "net|exclude", help_heading = "Input")]
    pub(crate) returns: Option<String>,
    /// Exact duplicate rows: `keep` (default; reported) or `drop` (rejected).
    #[arg(long, value_name = "keep|drop", help_heading = "Input")]
    pub(crate) duplicates: Option<String>,
    /// Write the rejected rows (row, column, reason, value) to this file.
    #[arg(long, value_name = "FILE", help_heading = "Input")]
    pub(crate) rejects: Option<PathBuf>,
    /// Fail on the first bad row instead of rejecting it.
    #[arg(long, help_heading = "Input")]
    pub(crate) strict: bool,
    #[command(flatten)]
    pub(crate) engine: EngineArgs,
}

/// The engine of phase 1 (reading, cleaning and aggregating the rows per customer).
#[derive(Args)]
pub(crate) struct EngineArgs {
    /// `memory` (default: every row in memory), `datafusion` (Parquet input, a directory
    /// or a glob of Parquet files, or delimited text: rows sorted by customer out of core,
    /// spilling to disk above --memory-limit; needs a build with the `datafusion`
    /// feature) or `ballista` (the same on a Ballista cluster, --scheduler, or on a
    /// scheduler and --executors started here; needs the `ballista` feature). Same
    /// results on each.
    #[arg(
        long,
        value_name = "memory|datafusion|ballista",
        help_heading = "Engine"
    )]
    pub(crate) engine: Option<String>,
    /// datafusion, ballista: memory pool of the sort (e.g. 4GiB, 512MiB); above it sorted
    /// runs spill to disk. Default: no limit. (Ballista: the executors started here.)
    #[arg(long, value_name = "SIZE", help_heading = "Engine")]
    pub(crate) memory_limit: Option<String>,
    /// datafusion, ballista: directory for spill files and staged input (text; on a
    /// cluster without --patronage-cluster, Parquet too) (default: the system's
    /// temporary directory).
    #[arg(long, value_name = "DIR", help_heading = "Engine")]
    pub(crate) spill_dir: Option<PathBuf>,
    /// datafusion, ballista: parallel partitions of the scan and sort (default: the
    /// number of cores). (`summary --partitions` is the in-memory engine's id ranges.)
    #[arg(long, value_name = "N", help_heading = "Engine")]
    pub(crate) engine_partitions: Option<usize>,
    /// datafusion, ballista: input rows per block of whole customers cleaned at a time
    /// (default 1048576).
    #[arg(long, value_name = "N", help_heading = "Engine")]
    pub(crate) block_rows: Option<usize>,
    /// ballista: a running scheduler, df://HOST:PORT (its executors must read the input
    /// at the same paths). Without it, a scheduler and --executors start in this process.
    #[arg(long, value_name = "df://HOST:PORT", help_heading = "Engine")]
    pub(crate) scheduler: Option<String>,
    /// ballista without --scheduler: executors started in this process (default 2).
    #[arg(long, value_name = "N", help_heading = "Engine")]
    pub(crate) executors: Option<usize>,
    /// ballista with --scheduler: the cluster runs patronage-scheduler and
    /// patronage-executor, so Parquet is read where it is (not staged here first).
    #[arg(long, help_heading = "Engine")]
    pub(crate) patronage_cluster: bool,
}

impl EngineArgs {
    /// `base` (the configuration file's engine, or the default) with the flags applied.
    pub(crate) fn apply(
        &self,
        base: patronage::engine::Engine,
    ) -> patronage::Result<patronage::engine::Engine> {
        use patronage::engine::{BallistaSettings, DataFusionSettings, Engine};
        let engine = match self.engine.as_deref() {
            None => base,
            Some("memory") => Engine::Memory,
            Some("datafusion") => match base {
                e @ Engine::DataFusion(_) => e,
                _ => Engine::DataFusion(DataFusionSettings::default()),
            },
            Some("ballista") => match base {
                e @ Engine::Ballista(_) => e,
                _ => Engine::Ballista(BallistaSettings::default()),
            },
            Some(other) => {
                return Err(patronage::Error::InvalidOption {
                    option: "engine.kind".into(),
                    reason: format!("`{other}` is not an engine (memory, datafusion or ballista)"),
                });
            }
        };
        let flag = |keys: &[(&'static str, bool)]| {
            keys.iter().find(|(_, given)| *given).map(|(key, _)| *key)
        };
        let engine_flag = flag(&[
            ("memory_limit", self.memory_limit.is_some()),
            ("spill_dir", self.spill_dir.is_some()),
            ("partitions", self.engine_partitions.is_some()),
            ("block_rows", self.block_rows.is_some()),
        ]);
        let ballista_flag = flag(&[
            ("scheduler", self.scheduler.is_some()),
            ("executors", self.executors.is_some()),
            ("patronage_cluster", self.patronage_cluster),
        ]);
        let memory_limit = self.memory_limit.as_deref().map(str::parse).transpose()?;
        let e = match engine {
            Engine::DataFusion(mut s) => {
                if let Some(key) = ballista_flag {
                    return Err(only_for(key, "the ballista engine", "--engine ballista"));
                }
                s.memory_limit = memory_limit.or(s.memory_limit);
                s.spill_dir = self.spill_dir.clone().or(s.spill_dir);
                s.partitions = self.engine_partitions.or(s.partitions);
                s.block_rows = self.block_rows.unwrap_or(s.block_rows);
                Engine::DataFusion(s)
            }
            Engine::Ballista(mut s) => {
                s.memory_limit = memory_limit.or(s.memory_limit);
                s.spill_dir = self.spill_dir.clone().or(s.spill_dir);
                s.partitions = self.engine_partitions.or(s.partitions);
                s.block_rows = self.block_rows.unwrap_or(s.block_rows);
                s.scheduler = self.scheduler.clone().or(s.scheduler);
                s.executors = self.executors.unwrap_or(s.executors);
                s.patronage_cluster |= self.patronage_cluster;
                if s.scheduler.is_some() && self.executors.is_some() {
                    return Err(patronage::Error::InvalidOption {
                        option: "engine.executors".into(),
                        reason: "starts executors in this process; with --scheduler the cluster's own executors run the plan".into(),
                    });
                }
                Engine::Ballista(s)
            }
            other => {
                if let Some(key) = ballista_flag {
                    return Err(only_for(key, "the ballista engine", "--engine ballista"));
                }
                if let Some(key) = engine_flag {
                    return Err(only_for(
                        key,
                        "the datafusion and ballista engines",
                        "--engine datafusion or --engine ballista",
                    ));
                }
                other
            }
        };
        e.check()?;
        Ok(e)
    }
}

/// The error for an engine flag given without its engine.
fn only_for(key: &str, engines: &str, add: &str) -> patronage::Error {
    patronage::Error::InvalidOption {
        option: format!("engine.{key}"),
        reason: format!("applies to {engines} only (add {add})"),
    }
}

#[derive(Args)]
pub(crate) struct TimeArgs {
    /// Transactions of one customer within one unit are one purchase (default: day).
    #[arg(long, value_name = "day|week|month", help_heading = "Time")]
    pub(crate) purchase_unit: Option<String>,
    /// Unit of recency, T and durations (default: week).
    #[arg(long, value_name = "day|week|month|year", help_heading = "Time")]
    pub(crate) time_unit: Option<String>,
    /// Last observed day (default: the last date in the data, not after today).
    #[arg(long, value_name = "DATE", help_heading = "Time")]
    pub(crate) observation_end: Option<String>,
    /// Last day of the calibration period; adds calibration and holdout columns.
    #[arg(long, value_name = "DATE", help_heading = "Time")]
    pub(crate) calibration_end: Option<String>,
}

/// The command-line flag of a setting an error names by its TOML key (the library names
/// settings the way the pipeline's TOML file does), as a hint to print after the error;
/// for a derived covariate that is constant, why it can be and what to do.
pub(crate) fn flag_hint(e: &patronage::Error) -> String {
    if let patronage::Error::ConstantCovariate { column } = e {
        // The derived covariates (--derived-covariates): why one can be constant.
        return match column.split('=').next().unwrap_or_default() {
            "acquisition_cohort" => " (every fitted customer was acquired in the same period: a shorter --acquisition-period, or leave cohort out of --derived-covariates)".into(),
            "acquisition_channel" => " (every fitted customer was acquired through the same channel: leave channel out of --derived-covariates)".into(),
            "log_first_order_value" => " (every fitted customer's first order has the same value: leave first-order-value out of --derived-covariates)".into(),
            _ => String::new(),
        };
    }
    let patronage::Error::InvalidOption { option, .. } = e else {
        return String::new();
    };
    if option == "costs.margin_rate" {
        return " (command-line flag --margin-rate, or a key of the --costs file)".into();
    }
    if option == "costs" {
        return " (command-line flag --costs FILE, a TOML or JSON file of rates)".into();
    }
    if option.starts_with("costs.") {
        return " (a key of the --costs file)".into();
    }
    let flag = match option.as_str() {
        "input.delimiter" => "--delimiter",
        "engine.kind" => "--engine",
        "engine.memory_limit" => "--memory-limit",
        "engine.spill_dir" => "--spill-dir",
        "engine.partitions" => "--engine-partitions",
        "engine.block_rows" => "--block-rows",
        "engine.scheduler" => "--scheduler",
        "engine.patronage_cluster" => "--patronage-cluster",
        "engine.executors" => "--executors",
        "time.purchase_unit" => "--purchase-unit",
        "time.time_unit" => "--time-unit",
        "time.observation_end" => "--observation-end",
        "time.calibration_end" => "--calibration-end",
        "time.returns" => "--returns",
        "time.duplicates" => "--duplicates",
        "rfm.bins" => "--bins",
        "rfm.segments" => "--segments",
        "segmentation.k" => "--k or --k-range",
        "segmentation.fit_sample" => "--fit-sample",
        "segmentation.k_rule" => "--k-rule",
        "segmentation.features" => "--features",
        "profitability.split" => "--split",
        "clv.fit.penalizer" => "--penalizer",
        "clv.fit.max_iterations" => "--max-iterations",
        "clv.model" => "--model",
        "clv.spend" => "--spend",
        "clv.margin" => "--margin",
        "clv.horizon" => "--horizon",
        "clv.discount_rate" => "--discount-rate",
        "clv.step" => "--step",
        "clv.interval" => "--interval",
        "clv.covariates" => "--covariates or --derived-covariates",
        "clv.draws" => "--draws",
        "clv.scoring" => "--scoring",
        "clv.covariate_cols" => "--covariate-cols",
        "clv.derived_covariates" => "--derived-covariates",
        "clv.acquisition_period" => "--acquisition-period",
        "cohorts.period" => "--cohort",
        "cohorts.annual_discount_rate" => "--annual-discount-rate",
        "periods_per_year" => "--periods-per-year",
        "payment_per_period" => "--payment-per-period",
        "whatif.retention" => "--retention; report: --whatif",
        "whatif.period" => "--period; report: --whatif-period",
        "whatif.by" => "--by; report: --whatif-by",
        "profitability.axis" => "--axis",
        "survival" => "--survival",
        _ => return String::new(),
    };
    format!(" (command-line flag {flag})")
}
