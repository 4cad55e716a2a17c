//! The `patronage` command-line tool: the entry point, which parses the command line
//! (`args`), dispatches each subcommand to its module under `commands`, and maps the
//! outcome to an exit code; the binary's allocator (jemalloc).
//!
//! Exit codes: 0 success, 1 a data error, 2 a usage error. Errors are one line on stderr.
//! A closed standard output (`patronage summary FILE | head`) ends the process by
//! SIGPIPE, without a message, as it ends `cat` or `grep`.

mod args;
mod commands;
mod input;
mod print;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::commands::whatif::WhatifOptions;
use crate::commands::{
    clv::run_clv, cohorts::run_cohorts, fit::run_fit, profitability::run_profitability,
    report::run_report, rfm::run_rfm, segment::run_segment, simulate::run_simulate,
    summary::run_summary, target::run_target, whatif::run_whatif,
};

/// jemalloc keeps freed pages for reuse (see Cargo.toml): a 10M-row summary allocates and
/// frees many large buffers.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn run(cli: Cli) -> patronage::Result<()> {
    match cli.command {
        Command::Summary {
            input,
            time,
            output,
            partitions,
            part_files,
        } => run_summary(&input, &time, output.as_ref(), partitions, part_files),
        Command::Rfm {
            input,
            time,
            bins,
            segments,
            mean_monetary,
            output,
            json,
            part_files,
        } => run_rfm(
            &input,
            &time,
            (bins, &segments, mean_monetary),
            output.as_ref(),
            json,
            part_files,
        ),
        Command::Fit {
            model,
            input,
            sbg,
            time,
            summary,
            fit,
            covariates,
            json,
            save_model,
            interval,
            profile,
            horizon,
            output,
        } => run_fit(
            &model,
            &input,
            &sbg,
            &time,
            summary,
            &fit,
            &covariates,
            json,
            save_model.as_ref(),
            (&interval, profile, horizon, output.as_ref()),
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
            scoring,
            purchase_model,
            spend_model,
            fit,
            interval,
            covariates,
            json,
            output,
            part_files,
        } => run_clv(
            &input,
            &time,
            &model,
            horizon,
            discount_rate,
            step,
            &margin,
            &spend,
            &scoring,
            (purchase_model.as_ref(), spend_model.as_ref()),
            &fit,
            (&interval, &covariates),
            json,
            output.as_ref(),
            part_files,
        ),
        Command::Segment {
            input,
            time,
            k,
            k_range,
            features,
            method,
            seed,
            fit_sample,
            k_rule,
            output,
            json,
            save_model,
            part_files,
        } => run_segment(
            &input,
            &time,
            k,
            &k_range,
            &features,
            &method,
            (seed, fit_sample, k_rule.as_deref()),
            output.as_ref(),
            json,
            save_model.as_ref(),
            part_files,
        ),
        Command::Profitability {
            input,
            time,
            costs,
            split,
            output,
            json,
            part_files,
        } => run_profitability(
            &input,
            &time,
            &costs,
            &split,
            output.as_ref(),
            json,
            part_files,
        ),
        Command::Target {
            input,
            time,
            by,
            top,
            contact_cost,
            horizon,
            margin,
            interval,
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
            &interval,
            output.as_ref(),
            json,
        ),
        Command::Report {
            input,
            time,
            config,
            costs,
            margin_rate,
            csv,
            contractual,
            annual_discount_rate,
            interval,
            covariates,
            whatif,
            k_rule,
            out,
            quiet,
            timings,
        } => run_report(
            &input,
            &time,
            config.as_ref(),
            (costs.as_ref(), margin_rate),
            (csv, contractual, annual_discount_rate),
            (&interval, &covariates, k_rule.as_deref()),
            &whatif,
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
        Command::Whatif {
            input,
            time,
            retention,
            period,
            by,
            clv,
            costs,
            split,
            axis,
            fit,
            output,
            json,
        } => run_whatif(
            &input,
            &time,
            WhatifOptions {
                retention,
                period,
                by: by.as_deref(),
                split: &split,
                axis: &axis,
            },
            &clv,
            &costs,
            &fit,
            output.as_ref(),
            json,
        ),
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

fn main() -> ExitCode {
    // A reader that stops early (`| head`) ends the run quietly, as for any Unix tool.
    sigpipe::reset();
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
            eprintln!("patronage: error: {e}{}", args::flag_hint(&e));
            ExitCode::from(if e.is_usage() { 2 } else { 1 })
        }
    }
}
