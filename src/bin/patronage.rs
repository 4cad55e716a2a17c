//! The `patronage` command-line tool.
//!
//! Exit codes: 0 success, 1 a data error, 2 a usage error. Errors are one line on stderr.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use patronage::clv::FitOptions;
use patronage::prelude::*;
use patronage::stages::clv::{ClvSettings, MarginSource, SpendSource, clv_table};
use patronage::stages::fit::{FitOutcome, ModelKind, fit_summary, fit_table};

/// jemalloc keeps freed pages for reuse (see Cargo.toml): a 10M-row summary allocates and
/// frees many large buffers.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "patronage",
    version,
    about = "Customer analytics on transaction tables: per-customer summaries, RFM scores and segments, lifetime-value models, behavioural segmentation",
    long_about = None
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Per-customer summary: frequency, recency, T, monetary_value (BTYD sense), first and
    /// last purchase, n_purchases, total_spend, recency_days; calibration/holdout columns
    /// with --calibration-end.
    Summary {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        time: TimeArgs,
        /// Write the table here (.csv, .parquet, .json, .ndjson, .arrow by extension);
        /// default: CSV on standard output.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
        /// Summarise the customers in P id ranges one at a time to bound memory (the rows
        /// are first spilled to temporary Parquet files, one per range); 1 holds every row
        /// at once. Default: one range per 10M input rows. Same output either way.
        #[arg(long, value_name = "P")]
        partitions: Option<usize>,
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
        /// Write the scores here (.csv, .parquet, .json by extension); default: CSV on
        /// standard output unless --json is given.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
        /// Print the segment summary as JSON on standard output.
        #[arg(long)]
        json: bool,
    },
    /// Fit a model (bg-nbd, mbg-nbd, pareto-nbd, bg-bb, gamma-gamma) by maximum
    /// likelihood and print its coefficients; with --calibration-end, fit on the
    /// calibration period and check against the holdout.
    Fit {
        /// bg-nbd | mbg-nbd | pareto-nbd | bg-bb | gamma-gamma
        #[arg(value_name = "MODEL")]
        model: String,
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        time: TimeArgs,
        /// INPUT is a per-customer table (frequency, recency, T or x, t_x, T; optional
        /// monetary_value/zbar and weights; for bg-bb frequency, recency, periods, weights)
        /// rather than transactions.
        #[arg(long)]
        summary: bool,
        #[command(flatten)]
        fit: FitArgs,
        /// Print one JSON object (params, standard_errors, log_likelihood, n_customers,
        /// converged, iterations; holdout check with --calibration-end).
        #[arg(long)]
        json: bool,
        /// Save the fitted model as JSON (load with `Fitted::from_json`).
        #[arg(long, value_name = "FILE")]
        save_model: Option<PathBuf>,
    },
    /// Per-customer P(alive), expected purchases, expected spend and CLV from a purchase
    /// model and Gamma-Gamma spend.
    Clv {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        time: TimeArgs,
        /// Purchase model.
        #[arg(
            long,
            default_value = "bg-nbd",
            value_name = "bg-nbd|mbg-nbd|pareto-nbd"
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
        #[command(flatten)]
        fit: FitArgs,
        /// Write the table here (.csv, .parquet, .json by extension); default: CSV on
        /// standard output.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Cluster customers into behavioural segments (k-means or a Gaussian mixture), choose
    /// k by silhouette over a range, and describe each segment.
    Segment {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        time: TimeArgs,
        /// Exactly N segments.
        #[arg(long, conflicts_with = "k_range")]
        k: Option<usize>,
        /// Choose k in A..B (inclusive) by the highest silhouette.
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
        /// Write customer_id, segment, segment_label and the features here.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
        /// Print the chosen k, the k-selection table and the profiles as JSON.
        #[arg(long)]
        json: bool,
        /// Save the fitted segmentation (JSON) to assign new customers later.
        #[arg(long, value_name = "FILE")]
        save_model: Option<PathBuf>,
    },
    /// Per-customer cost-to-serve and net contribution, the profit vs cost-to-serve
    /// matrix, the whale curve and the customer pyramid.
    Profitability {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        time: TimeArgs,
        /// Cost model (TOML or JSON; every rate has a documented default).
        #[arg(long, value_name = "FILE")]
        costs: Option<PathBuf>,
        /// Per-customer activity table: customer_id with service_contacts and/or visits.
        #[arg(long, value_name = "FILE")]
        activity: Option<PathBuf>,
        /// Where to split the matrix axes (margin %, cost-to-serve): median, mean, qN, or x,y.
        #[arg(long, default_value = "median", value_name = "median|mean|qN|x,y")]
        split: String,
        /// Write the per-customer table here; default: CSV on standard output unless --json.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
        /// Print thresholds, quadrant summary and whale-curve figures as JSON.
        #[arg(long)]
        json: bool,
    },
    /// A ranked target list by CLV, expected purchases or P(alive) x value, cut by a count
    /// or by contact cost; with --calibration-end, gain and lift on the holdout.
    Target {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        time: TimeArgs,
        /// Ranking score.
        #[arg(
            long,
            default_value = "clv",
            value_name = "clv|expected-purchases|p-alive-value"
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
        /// [segmentation], [costs], [profitability], [cohorts].
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Gross margin rate for data without a cost column (sets [costs] margin_rate).
        #[arg(long, value_name = "RATE")]
        margin_rate: Option<f64>,
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

#[derive(Args)]
struct FitArgs {
    /// L2 penalty on the parameters (0 = maximum likelihood).
    #[arg(long, default_value_t = 0.0, help_heading = "Fitting")]
    penalizer: f64,
    /// Optimiser iteration budget.
    #[arg(long, default_value_t = 1000, help_heading = "Fitting")]
    max_iterations: u64,
}

impl FitArgs {
    fn options(&self) -> FitOptions {
        FitOptions {
            penalizer: self.penalizer,
            max_iterations: self.max_iterations,
            ..FitOptions::default()
        }
    }
}

#[derive(Args)]
struct InputArgs {
    /// Transaction file: CSV (default), TSV, whitespace-separated text, Parquet, Arrow IPC.
    #[arg(value_name = "INPUT")]
    input: PathBuf,
    /// Customer id column (default: auto-detect customer_id, CustomerID, customer, ...).
    #[arg(long, value_name = "C", help_heading = "Input")]
    customer_col: Option<String>,
    /// Date column (default: auto-detect date, InvoiceDate, timestamp, order_date, ...).
    #[arg(long, value_name = "C", help_heading = "Input")]
    date_col: Option<String>,
    /// Amount column (default: auto-detect amount, revenue, sales, dollar_value, ...;
    /// or price x quantity). Negative amounts are returns.
    #[arg(long, value_name = "C", help_heading = "Input")]
    amount_col: Option<String>,
    /// Unit price column; amount = price x quantity when there is no amount column.
    #[arg(long, value_name = "C", help_heading = "Input")]
    price_col: Option<String>,
    /// Quantity column. Negative quantities mark returns.
    #[arg(long, value_name = "C", help_heading = "Input")]
    quantity_col: Option<String>,
    /// Cost-of-goods column (line total); adds gross_profit.
    #[arg(long, value_name = "C", help_heading = "Input")]
    cost_col: Option<String>,
    /// Cost-of-goods per unit column (multiplied by quantity), when there is no line cost.
    #[arg(long, value_name = "C", help_heading = "Input")]
    unit_cost_col: Option<String>,
    /// Order id column.
    #[arg(long, value_name = "C", help_heading = "Input")]
    order_col: Option<String>,
    /// Channel column.
    #[arg(long, value_name = "C", help_heading = "Input")]
    channel_col: Option<String>,
    /// Return flag column (true/false, 1/0, yes/no).
    #[arg(long, value_name = "C", help_heading = "Input")]
    return_col: Option<String>,
    /// strftime format of text dates (default: ISO dates/datetimes or YYYYMMDD).
    #[arg(long, value_name = "FMT", help_heading = "Input")]
    date_format: Option<String>,
    /// Field delimiter of delimited text (one character, or `tab`).
    #[arg(
        long,
        value_name = "X",
        conflicts_with = "whitespace",
        help_heading = "Input"
    )]
    delimiter: Option<String>,
    /// Fields separated by runs of spaces/tabs (the CDNOW files).
    #[arg(long, help_heading = "Input")]
    whitespace: bool,
    /// The file has no header line; columns are column_1..column_n.
    #[arg(long, help_heading = "Input")]
    no_header: bool,
    /// Returns: `net` (subtract from the latest purchase; default) or `exclude`.
    #[arg(long, value_name = "net|exclude", help_heading = "Input")]
    returns: Option<String>,
    /// Exact duplicate rows: `keep` (default; reported) or `drop` (rejected).
    #[arg(long, value_name = "keep|drop", help_heading = "Input")]
    duplicates: Option<String>,
    /// Write the rejected rows (row, column, reason, value) to this file.
    #[arg(long, value_name = "FILE", help_heading = "Input")]
    rejects: Option<PathBuf>,
    /// Fail on the first bad row instead of rejecting it.
    #[arg(long, help_heading = "Input")]
    strict: bool,
}

#[derive(Args)]
struct TimeArgs {
    /// Transactions of one customer within one unit are one purchase (default: day).
    #[arg(long, value_name = "day|week|month", help_heading = "Time")]
    purchase_unit: Option<String>,
    /// Unit of recency, T and durations (default: week).
    #[arg(long, value_name = "day|week|month|year", help_heading = "Time")]
    time_unit: Option<String>,
    /// Last observed day (default: the last date in the data, not after today).
    #[arg(long, value_name = "DATE", help_heading = "Time")]
    observation_end: Option<String>,
    /// Last day of the calibration period; adds calibration and holdout columns.
    #[arg(long, value_name = "DATE", help_heading = "Time")]
    calibration_end: Option<String>,
}

fn load(input: &InputArgs) -> patronage::Result<Transactions> {
    let schema = TransactionSchema {
        customer_id: input.customer_col.clone(),
        date: input.date_col.clone(),
        amount: input.amount_col.clone(),
        price: input.price_col.clone(),
        quantity: input.quantity_col.clone(),
        cost: input.cost_col.clone(),
        unit_cost: input.unit_cost_col.clone(),
        order_id: input.order_col.clone(),
        channel: input.channel_col.clone(),
        return_flag: input.return_col.clone(),
        date_format: input.date_format.clone(),
    };
    let has_header = !input.no_header;
    let format = if input.whitespace {
        InputFormat::Whitespace { has_header }
    } else if let Some(d) = &input.delimiter {
        let byte = match d.as_str() {
            "tab" | "\\t" => b'\t',
            s if s.len() == 1 => s.as_bytes()[0],
            _ => {
                return Err(patronage::Error::InvalidOption {
                    option: "--delimiter".into(),
                    reason: format!("`{d}` is not one character (or `tab`)"),
                });
            }
        };
        InputFormat::Csv(CsvOptions {
            delimiter: byte,
            has_header,
        })
    } else {
        InputFormat::detect(&input.input, has_header)?
    };
    Transactions::scan_format(&input.input, &format, schema)
}

fn summary_options(input: &InputArgs, time: &TimeArgs) -> patronage::Result<SummaryOptions> {
    apply_time_options(SummaryOptions::weekly(), input, time)
}

/// `base` with every time and cleaning option given on the command line applied.
fn apply_time_options(
    mut base: SummaryOptions,
    input: &InputArgs,
    time: &TimeArgs,
) -> patronage::Result<SummaryOptions> {
    if let Some(u) = &time.purchase_unit {
        base.purchase_unit = u.parse()?;
    }
    if let Some(u) = &time.time_unit {
        base.time_unit = u.parse()?;
    }
    if time.observation_end.is_some() {
        base.observation_end = time.observation_end.clone();
    }
    if time.calibration_end.is_some() {
        base.calibration_end = time.calibration_end.clone();
    }
    if let Some(r) = &input.returns {
        base.returns = r.parse()?;
    }
    if let Some(d) = &input.duplicates {
        base.duplicates = d.parse()?;
    }
    base.strict |= input.strict;
    Ok(base)
}

fn summarise(input: &InputArgs, time: &TimeArgs) -> patronage::Result<Summary> {
    summarise_with(input, time, |_| Ok(())).map(|(summary, ())| summary)
}

/// The summary one customer partition at a time (see `Transactions::summary_partitioned`).
fn summarise_partitioned(
    input: &InputArgs,
    time: &TimeArgs,
    partitions: Option<usize>,
) -> patronage::Result<Summary> {
    let options = summary_options(input, time)?;
    let summary = load(input)?.summary_partitioned(&options, partitions)?;
    report_cleaning(input, &summary)?;
    Ok(summary)
}

/// Prints what cleaning did and writes the rejects when asked.
fn report_cleaning(input: &InputArgs, summary: &Summary) -> patronage::Result<()> {
    let r = summary.report();
    eprintln!(
        "patronage: {} rows read, {} used ({} returns netted), {} rejected, {} duplicates kept; {} customers; observation end {}",
        r.rows_read,
        r.rows_used,
        r.returns_used,
        r.rejects.len(),
        r.duplicates_kept.len(),
        r.customers,
        r.observation_end
    );
    if let Some(path) = &input.rejects {
        patronage::io::write_frame(&mut r.rejects_frame()?, path)?;
    }
    Ok(())
}

/// Cleans once, lets `also` use the cleaned rows, then summarises them.
fn summarise_with<T>(
    input: &InputArgs,
    time: &TimeArgs,
    also: impl FnOnce(&CleanTransactions) -> patronage::Result<T>,
) -> patronage::Result<(Summary, T)> {
    let options = summary_options(input, time)?;
    let clean = load(input)?.clean(&options)?;
    let extra = also(&clean)?;
    let summary = Transactions::summary_of(clean, &options)?;
    report_cleaning(input, &summary)?;
    Ok((summary, extra))
}

fn emit(mut df: polars::prelude::DataFrame, output: Option<&PathBuf>) -> patronage::Result<()> {
    match output {
        Some(path) => patronage::io::write_frame(&mut df, path),
        None => patronage::io::write_csv_to(&mut df, std::io::stdout().lock()),
    }
}

fn run(cli: Cli) -> patronage::Result<()> {
    match cli.command {
        Command::Summary {
            input,
            time,
            output,
            partitions,
        } => {
            let summary = summarise_partitioned(&input, &time, partitions)?;
            emit(summary.into_frame(), output.as_ref())
        }
        Command::Rfm {
            input,
            time,
            bins,
            segments,
            mean_monetary,
            output,
            json,
        } => {
            let rules = match segments.as_str() {
                "rfm" => SegmentRules::rfm_package(),
                "rf-map" => SegmentRules::rf_map(),
                path => SegmentRules::from_path(path)?,
            };
            let options =
                RfmOptions::default()
                    .bins(bins)
                    .segments(rules)
                    .monetary(if mean_monetary {
                        MonetaryBasis::Mean
                    } else {
                        MonetaryBasis::Total
                    });
            // Check the rule table before reading the data.
            options.segments.validate(bins)?;
            let summary = summarise(&input, &time)?;
            let table = summary.rfm(&options)?;
            if json {
                let text = serde_json::to_string_pretty(table.segment_summary()).map_err(|e| {
                    patronage::Error::Parse {
                        what: "segment summary".into(),
                        reason: e.to_string(),
                    }
                })?;
                println!("{text}");
                if output.is_some() {
                    emit(table.into_frame(), output.as_ref())?;
                }
                Ok(())
            } else {
                emit(table.into_frame(), output.as_ref())
            }
        }
        Command::Fit {
            model,
            input,
            time,
            summary,
            fit,
            json,
            save_model,
        } => run_fit(
            &model,
            &input,
            &time,
            summary,
            &fit,
            json,
            save_model.as_ref(),
        ),
        Command::Clv {
            input,
            time,
            model,
            horizon,
            discount_rate,
            step,
            margin,
            spend,
            fit,
            output,
        } => run_clv(
            &input,
            &time,
            &model,
            horizon,
            discount_rate,
            step,
            &margin,
            &spend,
            &fit,
            output.as_ref(),
        ),
        Command::Segment {
            input,
            time,
            k,
            k_range,
            features,
            method,
            seed,
            output,
            json,
            save_model,
        } => run_segment(
            &input,
            &time,
            k,
            &k_range,
            &features,
            &method,
            seed,
            output.as_ref(),
            json,
            save_model.as_ref(),
        ),
        Command::Profitability {
            input,
            time,
            costs,
            activity,
            split,
            output,
            json,
        } => run_profitability(
            &input,
            &time,
            costs.as_ref(),
            activity.as_ref(),
            &split,
            output.as_ref(),
            json,
        ),
        Command::Target {
            input,
            time,
            by,
            top,
            contact_cost,
            horizon,
            margin,
            output,
            json,
        } => run_target(
            &input,
            &time,
            &by,
            top,
            contact_cost,
            horizon,
            margin,
            output.as_ref(),
            json,
        ),
        Command::Report {
            input,
            time,
            config,
            margin_rate,
            out,
            quiet,
            timings,
        } => run_report(
            &input,
            &time,
            config.as_ref(),
            margin_rate,
            &out,
            quiet,
            timings,
        ),
        Command::Cohorts {
            input,
            time,
            cohort,
            output,
        } => run_cohorts(&input, &time, &cohort, output.as_ref()),
        Command::Simulate {
            customers,
            seed,
            start,
            weeks,
            model,
            truth,
            output,
        } => run_simulate(
            customers,
            seed,
            start,
            weeks,
            &model,
            truth.as_ref(),
            &output,
        ),
    }
}

fn to_json_text(value: &impl serde::Serialize) -> patronage::Result<String> {
    serde_json::to_string_pretty(value).map_err(|e| patronage::Error::Parse {
        what: "JSON output".into(),
        reason: e.to_string(),
    })
}

fn print_fit(out: &FitOutcome) {
    let m = &out.model;
    println!("{}", m.name());
    println!(
        "{:<8} {:>14} {:>14} {:>14} {:>14}",
        "param", "estimate", "std error", "lower 95%", "upper 95%"
    );
    for c in m.summary() {
        println!(
            "{:<8} {:>14.7} {:>14.7} {:>14.7} {:>14.7}",
            c.name, c.estimate, c.standard_error, c.lower_95, c.upper_95
        );
    }
    if let Some(r) = m.report() {
        println!(
            "log-likelihood {:.4}; {} customers ({} distinct rows); {} in {} iterations (gradient norm {:.2e}, {})",
            r.log_likelihood,
            r.n_customers,
            r.n_distinct,
            if r.converged {
                "converged"
            } else {
                "NOT converged"
            },
            r.iterations,
            r.gradient_norm,
            r.method
        );
    }
    if let Some((none, non_positive)) = out.excluded {
        println!(
            "left out: {none} customers without repeat purchases, {non_positive} with mean repeat spend <= 0"
        );
    }
    if let Some(h) = &out.histogram {
        let row = |f: &dyn Fn(&patronage::clv::check::HistogramBin) -> String| {
            h.bins.iter().map(f).collect::<Vec<_>>().join(" ")
        };
        println!("repeat purchases (chi-square {:.2}):", h.chi_square);
        println!(
            "  {:>9} {}",
            "frequency",
            row(&|b| format!(
                "{:>8}",
                format!("{}{}", b.frequency, if b.open_ended { "+" } else { "" })
            ))
        );
        println!(
            "  {:>9} {}",
            "actual",
            row(&|b| format!("{:>8.0}", b.actual))
        );
        println!(
            "  {:>9} {}",
            "model",
            row(&|b| format!("{:>8.1}", b.expected))
        );
    }
    if let Some(h) = &out.holdout {
        println!(
            "holdout: actual {:.1} vs expected {:.1} repeat purchases (MAE by customer {:.4}, chi-square {:.2})",
            h.actual_total, h.expected_total, h.mae, h.chi_square
        );
        println!(
            "{:>10} {:>10} {:>10} {:>10}",
            "frequency", "customers", "actual", "expected"
        );
        for b in &h.bins {
            println!(
                "{:>10} {:>10} {:>10.4} {:>10.4}",
                format!("{}{}", b.frequency, if b.open_ended { "+" } else { "" }),
                b.customers,
                b.actual,
                b.expected
            );
        }
    }
}

fn run_fit(
    model: &str,
    input: &InputArgs,
    time: &TimeArgs,
    summary: bool,
    fit: &FitArgs,
    json: bool,
    save_model: Option<&PathBuf>,
) -> patronage::Result<()> {
    let kind: ModelKind = model.parse()?;
    let opts = fit.options();
    let out = if summary {
        fit_table(kind, &patronage::io::read_table(&input.input)?, &opts)?
    } else {
        fit_summary(kind, &summarise(input, time)?, &opts)?
    };
    if let Some(path) = save_model {
        std::fs::write(path, out.model.to_json()?).map_err(|source| patronage::Error::Io {
            path: path.clone(),
            source,
        })?;
    }
    if json {
        println!("{}", to_json_text(&out.to_json())?);
    } else {
        print_fit(&out);
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)] // one per command-line option
fn run_clv(
    input: &InputArgs,
    time: &TimeArgs,
    model: &str,
    horizon: f64,
    discount_rate: f64,
    step: f64,
    margin: &str,
    spend: &str,
    fit: &FitArgs,
    output: Option<&PathBuf>,
) -> patronage::Result<()> {
    let margin = match margin {
        "cost" => MarginSource::Cost,
        m => MarginSource::Rate(m.parse().map_err(|_| patronage::Error::InvalidOption {
            option: "--margin".into(),
            reason: format!("`{m}` is neither a number nor `cost`"),
        })?),
    };
    let spend = match spend {
        "gamma-gamma" => SpendSource::GammaGamma,
        "historic" => SpendSource::Historic,
        s => {
            return Err(patronage::Error::InvalidOption {
                option: "--spend".into(),
                reason: format!("`{s}` is not gamma-gamma or historic"),
            });
        }
    };
    let settings = ClvSettings {
        model: model.parse()?,
        fit: fit.options(),
        spend,
        margin,
        horizon,
        discount_rate,
        step,
    };
    let out = clv_table(&summarise(input, time)?, &settings)?;
    let params = |m: &patronage::stages::fit::AnyFitted| {
        m.params()
            .iter()
            .map(|(n, v)| format!("{n} {v:.4}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    eprintln!(
        "patronage: {}: {}",
        out.purchase.name(),
        params(&out.purchase)
    );
    if let Some(gg) = &out.spend {
        let (none, bad) = gg.excluded.unwrap_or_default();
        eprintln!(
            "patronage: gamma-gamma: {} (left out {none} without repeats, {bad} with spend <= 0)",
            params(&gg.model)
        );
    }
    eprintln!(
        "patronage: customer equity {:.2} over {horizon} time units",
        out.customer_equity
    );
    emit(out.frame, output)
}

fn run_simulate(
    customers: usize,
    seed: u64,
    start: String,
    weeks: f64,
    model: &str,
    truth: Option<&PathBuf>,
    output: &PathBuf,
) -> patronage::Result<()> {
    use patronage::simulate::{PurchaseProcess, SimulationSpec, simulate};
    let process = match model {
        "bg-nbd" => PurchaseProcess::BgNbd,
        "pareto-nbd" => PurchaseProcess::ParetoNbd,
        m => {
            return Err(patronage::Error::InvalidOption {
                option: "--model".into(),
                reason: format!("`{m}` is not bg-nbd or pareto-nbd"),
            });
        }
    };
    let spec = SimulationSpec {
        customers,
        seed,
        start,
        weeks,
        acquisition_weeks: weeks.min(SimulationSpec::default().acquisition_weeks),
        process,
        ..SimulationSpec::default()
    };
    let mut sim = simulate(&spec)?;
    patronage::io::write_frame(&mut sim.transactions, output)?;
    if let Some(path) = truth {
        patronage::io::write_frame(&mut sim.customers, path)?;
    }
    eprintln!(
        "patronage: {} transactions of {} customers written to {}",
        sim.transactions.height(),
        customers,
        output.display()
    );
    Ok(())
}

#[allow(clippy::too_many_arguments)] // one per command-line option
fn run_segment(
    input: &InputArgs,
    time: &TimeArgs,
    k: Option<usize>,
    k_range: &str,
    features: &str,
    method: &str,
    seed: u64,
    output: Option<&PathBuf>,
    json: bool,
    save_model: Option<&PathBuf>,
) -> patronage::Result<()> {
    use patronage::segmentation::{FeatureSpec, KChoice, Method, SegmentationSpec};
    let usage = |option: &str, reason: String| patronage::Error::InvalidOption {
        option: option.into(),
        reason,
    };
    let k = match k {
        Some(k) => KChoice::Fixed(k),
        None => {
            let (a, b) = k_range
                .split_once("..")
                .ok_or_else(|| usage("--k-range", format!("`{k_range}` is not A..B")))?;
            let parse = |v: &str| {
                v.trim()
                    .trim_start_matches('=')
                    .parse::<usize>()
                    .map_err(|_| usage("--k-range", format!("`{k_range}` is not A..B")))
            };
            KChoice::Range(parse(a)?, parse(b)?)
        }
    };
    let method = match method {
        "kmeans" | "k-means" => Method::KMeans,
        "gmm" | "gaussian-mixture" => Method::GaussianMixture,
        m => return Err(usage("--method", format!("`{m}` is not kmeans or gmm"))),
    };
    let wants_mix = features.split(',').any(|f| f.trim() == "channel_mix");
    let features: Vec<FeatureSpec> = features
        .split(',')
        .filter(|f| !f.trim().is_empty() && f.trim() != "channel_mix")
        .map(FeatureSpec::parse)
        .collect::<patronage::Result<_>>()?;
    let spec = SegmentationSpec {
        features,
        k,
        method,
        seed,
        ..SegmentationSpec::default()
    };
    // One cleaning pass feeds both the summary and, when asked for, the channel shares.
    let (summary, mix) = summarise_with(input, time, |clean| {
        if wants_mix {
            patronage::segmentation::channel_shares(clean).map(Some)
        } else {
            Ok(None)
        }
    })?;
    let needs_clv = spec.features.iter().any(|f| {
        ["p_alive", "expected_purchases", "expected_spend", "clv"].contains(&f.column.as_str())
    });
    let table = if needs_clv {
        let clv = clv_table(&summary, &ClvSettings::default())?;
        let mut df = summary.frame().clone();
        for name in ["p_alive", "expected_purchases", "expected_spend", "clv"] {
            df.with_column(clv.frame.column(name)?.clone())?;
        }
        df
    } else {
        summary.frame().clone()
    };
    let mut table = table;
    if let Some(mix) = mix {
        // Channel shares of the same cleaned rows, in customer_id order like the summary.
        if !mix
            .column("customer_id")?
            .equals_missing(table.column("customer_id")?)
        {
            return Err(patronage::Error::InvalidOption {
                option: "features".into(),
                reason: "channel shares and summary disagree on the customers".into(),
            });
        }
        let mut spec = spec;
        for c in mix.columns().iter().skip(1) {
            table.with_column(c.clone())?;
            spec.features.push(FeatureSpec {
                column: c.name().to_string(),
                log1p: false,
                scale: patronage::segmentation::Scale::Standardize,
            });
        }
        return finish_segment(&table, &spec, output, json, save_model);
    }
    finish_segment(&table, &spec, output, json, save_model)
}

fn finish_segment(
    table: &polars::prelude::DataFrame,
    spec: &patronage::segmentation::SegmentationSpec,
    output: Option<&PathBuf>,
    json: bool,
    save_model: Option<&PathBuf>,
) -> patronage::Result<()> {
    let table = table.clone();
    let seg = patronage::segmentation::segment(&table, spec)?;
    eprintln!(
        "patronage: {} segments (silhouette on {} customers): {}",
        seg.chosen_k,
        seg.silhouette_sample_size,
        seg.profiles
            .iter()
            .map(|p| format!("{} {} ({:.0}%)", p.segment, p.label, 100.0 * p.share))
            .collect::<Vec<_>>()
            .join("; ")
    );
    if let Some(path) = save_model {
        std::fs::write(path, seg.model.to_json()?).map_err(|source| patronage::Error::Io {
            path: path.clone(),
            source,
        })?;
    }
    if json {
        println!("{}", to_json_text(&seg.summary_json())?);
        if output.is_some() {
            emit(seg.frame(&table)?, output)?;
        }
        Ok(())
    } else {
        emit(seg.frame(&table)?, output)
    }
}

fn run_profitability(
    input: &InputArgs,
    time: &TimeArgs,
    costs: Option<&PathBuf>,
    activity: Option<&PathBuf>,
    split: &str,
    output: Option<&PathBuf>,
    json: bool,
) -> patronage::Result<()> {
    use patronage::profitability::{CostModel, Split, analyse};
    let split: Split = split.parse()?;
    let model = match costs {
        Some(path) => CostModel::from_path(path)?,
        None => CostModel::default(),
    };
    let activity = activity.map(patronage::io::read_table).transpose()?;
    let options = summary_options(input, time)?;
    let tx = load(input)?;
    let p = analyse(&tx, &options, &model, activity.as_ref(), split)?;
    let mut columns: Vec<String> = [
        "customer_id",
        "revenue",
        "cogs",
        "returns",
        "gross_profit",
        "cost_to_serve",
        "net_contribution",
        "margin_pct",
        "quadrant",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    columns.extend(
        [
            "tier",
            "cts_share",
            "orders",
            "lines",
            "units",
            "deliveries",
            "return_count",
            "service_contacts",
            "visits",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    columns.extend(
        patronage::profitability::CTS_COMPONENTS
            .iter()
            .map(|s| s.to_string()),
    );
    let table = p.table.select(columns)?;
    match &p.whale {
        Some(w) => eprintln!(
            "patronage: {} customers; net contribution {:.2}; whale curve peaks at {:.1}% after {} customers; top 20% bring {:.1}%",
            table.height(),
            w.total,
            100.0 * w.peak_share,
            w.peak_customers,
            100.0 * w.top20_share
        ),
        None => eprintln!(
            "patronage: {} customers; net contribution {:.2}; no whale curve: {}",
            table.height(),
            p.total_net_contribution,
            p.whale_note.as_deref().unwrap_or("")
        ),
    }
    if json {
        println!("{}", to_json_text(&p.figures())?);
        if output.is_some() {
            emit(table, output)?;
        }
        Ok(())
    } else {
        emit(table, output)
    }
}

#[allow(clippy::too_many_arguments)] // one per command-line option
fn run_target(
    input: &InputArgs,
    time: &TimeArgs,
    by: &str,
    top: Option<usize>,
    contact_cost: Option<f64>,
    horizon: f64,
    margin: f64,
    output: Option<&PathBuf>,
    json: bool,
) -> patronage::Result<()> {
    use patronage::stages::target::target;
    use patronage::targeting::{Cut, TargetBy};
    let by: TargetBy = by.parse()?;
    let cut = match (top, contact_cost) {
        (Some(n), _) => Cut::Top(n),
        (None, Some(c)) => Cut::ContactCost(c),
        (None, None) => Cut::All,
    };
    let settings = ClvSettings {
        horizon,
        margin: MarginSource::Rate(margin),
        ..ClvSettings::default()
    };
    let t = target(&summarise(input, time)?, &settings, by, cut)?.targeting;
    eprintln!(
        "patronage: {} of {} scored customers selected",
        t.selected,
        t.list.height()
    );
    if json {
        let value = serde_json::json!({
            "scored": t.list.height(),
            "selected": t.selected,
            "holdout": t.evaluation,
        });
        println!("{}", to_json_text(&value)?);
        if output.is_some() {
            emit(t.list, output)?;
        }
        Ok(())
    } else {
        emit(t.list, output)
    }
}

#[allow(clippy::too_many_arguments)] // one per command-line option
fn run_report(
    input: &InputArgs,
    time: &TimeArgs,
    config: Option<&PathBuf>,
    margin_rate: Option<f64>,
    out: &std::path::Path,
    quiet: bool,
    timings: bool,
) -> patronage::Result<()> {
    use patronage::pipeline::{Pipeline, PipelineConfig};
    let mut c = match config {
        Some(path) => PipelineConfig::from_path(path)?,
        None => PipelineConfig::default(),
    };
    // Command-line options override the file.
    let s = &mut c.schema;
    for (slot, given) in [
        (&mut s.customer_id, &input.customer_col),
        (&mut s.date, &input.date_col),
        (&mut s.amount, &input.amount_col),
        (&mut s.price, &input.price_col),
        (&mut s.quantity, &input.quantity_col),
        (&mut s.cost, &input.cost_col),
        (&mut s.unit_cost, &input.unit_cost_col),
        (&mut s.order_id, &input.order_col),
        (&mut s.channel, &input.channel_col),
        (&mut s.return_flag, &input.return_col),
        (&mut s.date_format, &input.date_format),
    ] {
        if given.is_some() {
            slot.clone_from(given);
        }
    }
    if input.whitespace {
        c.input.format = Some("whitespace".into());
        c.input.delimiter = None;
    }
    if let Some(d) = &input.delimiter {
        c.input.format = Some("csv".into());
        c.input.delimiter = Some(d.clone());
    }
    if input.no_header {
        c.input.header = false;
    }
    c.time = apply_time_options(c.time.clone(), input, time)?;
    if let Some(rate) = margin_rate {
        c.costs.margin_rate = Some(rate);
    }
    let pipeline = Pipeline::builder().config(c).build()?;
    let bar = if quiet {
        indicatif::ProgressBar::hidden()
    } else {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    };
    bar.set_message("reading transactions");
    let tx = pipeline.scan(&input.input)?;
    let mut marks: Vec<(&'static str, std::time::Instant)> = Vec::new();
    let result = pipeline.run_with(&tx, &mut |stage| {
        marks.push((stage.describe(), std::time::Instant::now()));
        bar.set_message(stage.describe());
    });
    bar.finish_and_clear();
    let output = result?;
    let r = output.summary.report();
    if let Some(path) = &input.rejects {
        patronage::io::write_frame(&mut r.rejects_frame()?, path)?;
    }
    marks.push(("writing the report", std::time::Instant::now()));
    let files = patronage::report::write_report(&output, pipeline.config(), out)?;
    if timings {
        marks.push(("done", std::time::Instant::now()));
        for w in marks.windows(2) {
            eprintln!(
                "patronage: {:>7.2} s  {}",
                (w[1].1 - w[0].1).as_secs_f64(),
                w[0].0
            );
        }
    }
    if !quiet {
        eprintln!(
            "patronage: {} rows read, {} used, {} rejected; {} customers; {} files written to {}",
            r.rows_read,
            r.rows_used,
            r.rejects.len(),
            r.customers,
            files.len(),
            out.display()
        );
        for note in &output.notes {
            eprintln!("patronage: note: {note}");
        }
    }
    Ok(())
}

fn run_cohorts(
    input: &InputArgs,
    time: &TimeArgs,
    cohort: &str,
    output: Option<&PathBuf>,
) -> patronage::Result<()> {
    use patronage::cohort::{CohortPeriod, cohorts};
    let period: CohortPeriod = cohort.parse()?;
    let options = summary_options(input, time)?;
    let clean = load(input)?.clean(&options)?;
    let c = cohorts(&clean, period)?;
    eprintln!(
        "patronage: {} cohorts of {} customers",
        c.labels.len(),
        c.sizes.iter().sum::<usize>()
    );
    emit(c.frame()?, output)
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = e.exit_code();
            let _ = e.print();
            return ExitCode::from(u8::try_from(code).unwrap_or(2));
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("patronage: error: {e}");
            ExitCode::from(if e.is_usage() { 2 } else { 1 })
        }
    }
}
