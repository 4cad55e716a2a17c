//! `patronage profitability`: reads the cost model and the optional activity table, runs
//! the profitability stage on the summary stage's customer table (any engine;
//! `stages::profitability::analyse_customers`), prints the
//! whale-curve figures on stderr, and writes the per-customer cost-to-serve and net
//! contribution table and/or the JSON figures. With `--part-files` the customer table
//! and its RFM scores are written as part files in hidden directories and the stage runs
//! on them (`TableParts::profitability`), writing the per-customer table as part files.

use std::path::PathBuf;

use patronage::profitability::{MatrixAxis, Profitability, Split};
use patronage::rfm::RfmOptions;

use crate::args::{CostArgs, InputArgs, TimeArgs};
use crate::input::{customer_table, hidden_beside, on_table_parts};
use crate::print::{emit, print_parts_written, to_json_text};

pub(crate) fn run_profitability(
    input: &InputArgs,
    time: &TimeArgs,
    costs: &CostArgs,
    split: &str,
    output: Option<&PathBuf>,
    json: bool,
    part_files: bool,
) -> patronage::Result<()> {
    use patronage::stages::profitability::{analyse_customers, customer_frame};
    let split: Split = split.parse()?;
    let model = costs.model()?;
    // Refused before the input is read, as the stage would refuse it after.
    patronage::stages::profitability::check_rates(&model)?;
    let activity = costs
        .activity
        .as_ref()
        .map(patronage::io::read_table)
        .transpose()?;
    if let (true, Some(dir)) = (part_files, output) {
        let parts = on_table_parts(input, time, dir, |table| {
            // The RFM scores (the cross-tab's segments, scored as the one-file run
            // scores them) go to a hidden directory beside the output too.
            let rfm_dir = hidden_beside(dir, "rfm");
            let result = table
                .parts
                .rfm(&RfmOptions::default(), &rfm_dir)
                .and_then(|rfm| {
                    table.profitability(
                        &model,
                        activity.as_ref(),
                        split,
                        MatrixAxis::Margin,
                        &rfm,
                        dir,
                    )
                });
            let _ = std::fs::remove_dir_all(&rfm_dir);
            result
        })?;
        describe(&parts.profitability, parts.customers);
        if json {
            println!("{}", to_json_text(&parts.profitability.figures())?);
        }
        print_parts_written("profitability table", &parts.dir, parts.files.len());
        return Ok(());
    }
    let customers = customer_table(input, time)?;
    let p = analyse_customers(&customers, &model, activity.as_ref(), split)?;
    let table = customer_frame(&p)?;
    describe(&p, table.height());
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

/// The whale-curve figures of `customers` customers (stderr).
fn describe(p: &Profitability, customers: usize) {
    match &p.whale {
        Some(w) => eprintln!(
            "patronage: {customers} customers; net contribution {:.2}; whale curve peaks at {:.1}% after {} customers; top 20% bring {:.1}%",
            w.total,
            100.0 * w.peak_share,
            w.peak_customers,
            100.0 * w.top20_share
        ),
        None => eprintln!(
            "patronage: {customers} customers; net contribution {:.2}; no whale curve: {}",
            p.total_net_contribution,
            p.whale_note.as_deref().unwrap_or("")
        ),
    }
}
