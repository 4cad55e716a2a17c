//! `patronage profitability`: reads the cost model and the optional activity table, runs
//! the profitability analysis on the transactions (`stages::profitability::analyse`), prints the
//! whale-curve figures on stderr, and writes the per-customer cost-to-serve and net
//! contribution table and/or the JSON figures.

use std::path::PathBuf;

use crate::args::{InputArgs, TimeArgs};
use crate::input::{load, summary_options};
use crate::print::{emit, to_json_text};

pub(crate) fn run_profitability(
    input: &InputArgs,
    time: &TimeArgs,
    costs: Option<&PathBuf>,
    activity: Option<&PathBuf>,
    split: &str,
    output: Option<&PathBuf>,
    json: bool,
) -> patronage::Result<()> {
    use patronage::profitability::{CostModel, Split};
    use patronage::stages::profitability::analyse;
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
