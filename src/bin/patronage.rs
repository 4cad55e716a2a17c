//! The `patronage` command-line tool.
//!
//! Exit codes: 0 success, 1 a data error, 2 a usage error. Errors are one line on stderr.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use patronage::prelude::*;

#[derive(Parser)]
#[command(
    name = "patronage",
    version,
    about = "Customer analytics on transaction tables: per-customer summaries, RFM scores and segments",
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
    #[arg(
        long,
        default_value = "net",
        value_name = "net|exclude",
        help_heading = "Input"
    )]
    returns: String,
    /// Exact duplicate rows: `keep` (default; reported) or `drop` (rejected).
    #[arg(
        long,
        default_value = "keep",
        value_name = "keep|drop",
        help_heading = "Input"
    )]
    duplicates: String,
    /// Write the rejected rows (row, column, reason, value) to this file.
    #[arg(long, value_name = "FILE", help_heading = "Input")]
    rejects: Option<PathBuf>,
    /// Fail on the first bad row instead of rejecting it.
    #[arg(long, help_heading = "Input")]
    strict: bool,
}

#[derive(Args)]
struct TimeArgs {
    /// Transactions of one customer within one unit are one purchase.
    #[arg(
        long,
        default_value = "day",
        value_name = "day|week|month",
        help_heading = "Time"
    )]
    purchase_unit: String,
    /// Unit of recency, T and durations.
    #[arg(
        long,
        default_value = "week",
        value_name = "day|week|month|year",
        help_heading = "Time"
    )]
    time_unit: String,
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
    Ok(SummaryOptions {
        purchase_unit: time.purchase_unit.parse()?,
        time_unit: time.time_unit.parse()?,
        observation_end: time.observation_end.clone(),
        calibration_end: time.calibration_end.clone(),
        returns: input.returns.parse()?,
        duplicates: input.duplicates.parse()?,
        strict: input.strict,
    })
}

fn summarise(input: &InputArgs, time: &TimeArgs) -> patronage::Result<Summary> {
    let options = summary_options(input, time)?;
    let tx = load(input)?;
    let summary = tx.summary(&options)?;
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
    Ok(summary)
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
        } => {
            let summary = summarise(&input, &time)?;
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
    }
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
