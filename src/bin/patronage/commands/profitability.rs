//! `patronage profitability`: reads the cost model and the optional activity table, runs
//! the profitability stage on the summary stage's customer table (any engine;
//! `stages::profitability::analyse_customers`), prints the
//! whale-curve figures on stderr, and writes the per-customer cost-to-serve and net
//! contribution table and/or the JSON figures.

use std::path::PathBuf;

use crate::args::{CostArgs, InputArgs, TimeArgs};
use crate::input::customer_table;
use crate::print::{emit, to_json_text};

pub(crate) fn run_profitability(
    input: &InputArgs,
    time: &TimeArgs,
    costs: &CostArgs,
    split: &str,
    output: Option<&PathBuf>,
    json: bool,
) -> patronage::Result<()> {
    use patronage::profitability::Split;
    use patronage::stages::profitability::{analyse_customers, customer_frame};
    let split: Split = split.parse()?;
    let model = costs.model()?;
    let activity = costs
        .activity
        .as_ref()
        .map(patronage::io::read_table)
        .transpose()?;
    let customers = customer_table(input, time)?;
    let p = analyse_customers(&customers, &model, activity.as_ref(), split)?;
    let table = customer_frame(&p)?;
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
