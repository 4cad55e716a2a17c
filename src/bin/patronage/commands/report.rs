//! `patronage report`: merges the `--config` pipeline configuration with the input and
//! time options given on the command line, runs every pipeline stage over one scan of the
//! transactions with a progress spinner (and per-stage wall times with `--timings`), and
//! writes the report files into `--out`.

use std::path::PathBuf;

use crate::args::{CovariateArgs, InputArgs, IntervalArgs, ReportWhatifArgs, TimeArgs};
use crate::input::apply_time_options;

#[allow(clippy::too_many_arguments)] // one per command-line option
pub(crate) fn run_report(
    input: &InputArgs,
    time: &TimeArgs,
    config: Option<&PathBuf>,
    (costs, margin_rate): (Option<&PathBuf>, Option<f64>),
    (csv, contractual, annual_discount_rate): (bool, bool, Option<f64>),
    (interval, covariates, k_rule): (&IntervalArgs, &CovariateArgs, Option<&str>),
    whatif: &ReportWhatifArgs,
    out: &std::path::Path,
    quiet: bool,
    timings: bool,
) -> patronage::Result<()> {
    use patronage::pipeline::{FileFormat, Pipeline, PipelineConfig};
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
        c.input.format = Some(FileFormat::Whitespace);
        c.input.delimiter = None;
    }
    if let Some(d) = &input.delimiter {
        c.input.format = Some(FileFormat::Csv);
        c.input.delimiter = Some(d.parse()?);
    }
    if input.no_header {
        c.input.header = false;
    }
    c.time = apply_time_options(c.time.clone(), input, time)?;
    c.engine = input.engine.apply(c.engine.clone())?;
    if let Some(path) = costs {
        c.costs = patronage::profitability::CostModel::from_path(path)?;
    }
    if let Some(rate) = margin_rate {
        c.costs.margin_rate = Some(rate);
    }
    if csv {
        c.report.csv = true;
    }
    if contractual {
        c.cohorts.contractual = true;
    }
    if let Some(rate) = annual_discount_rate {
        if !c.cohorts.contractual {
            return Err(patronage::Error::InvalidOption {
                option: "cohorts.annual_discount_rate".into(),
                reason: "values the contractual section's residual lifetimes: has no effect without --contractual (or [cohorts] contractual = true)".into(),
            });
        }
        c.cohorts.annual_discount_rate = rate;
    }
    if let Some(level) = interval.interval {
        c.clv.interval = Some(level);
        c.clv.draws = Some(interval.draws);
        c.clv.seed = Some(interval.seed);
        c.clv.bootstrap = interval.bootstrap;
    }
    if let Some(path) = &covariates.covariates {
        c.clv.covariates = Some(path.clone());
        c.clv.covariate_cols.clone_from(&covariates.covariate_cols);
    }
    if let Some(derived) = covariates.derived()? {
        c.clv.derived_covariates = derived.covariates;
        // The flag overrides the file's period; without it the file's stays.
        if covariates.acquisition_period.is_some() {
            c.clv.acquisition_period = Some(derived.period);
        }
    }
    if let Some(points) = whatif.whatif {
        c.whatif.retention = Some(points);
    }
    if let Some(period) = whatif.whatif_period {
        c.whatif.period = Some(period);
    }
    if let Some(by) = &whatif.whatif_by {
        c.whatif.by = Some(by.parse()?);
    }
    if let Some(rule) = k_rule {
        c.segmentation.spec.k_rule = rule.parse()?;
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
        // What the configuration asked for and the data could not support, as the
        // page's "Not run" list says, so nobody has to open the page to find out.
        for skip in &output.skipped {
            eprintln!(
                "patronage: not run: {}: {}",
                skip.stage.describe(),
                skip.reason
            );
        }
        crate::print::print_notes(&output.notes);
    }
    Ok(())
}
