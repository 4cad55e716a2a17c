//! `patronage clv`: parses the margin and spend sources, runs the CLV stage
//! (`stages::clv::clv_table`: the purchase model and Gamma-Gamma unless `--spend
//! historic`, falling back to historic spend with a note when Gamma-Gamma cannot give
//! expected spend) on the summary, prints the fitted parameters, the notes and the
//! customer equity on stderr (or all of it as JSON on stdout with `--json`), and writes
//! the per-customer P(alive), expected purchases, expected spend and CLV table.

use std::path::PathBuf;

use patronage::stages::clv::{ClvSettings, MarginSource, ScoringPeriod, SpendSource, clv_table_on};

use crate::args::{FitArgs, InputArgs, TimeArgs};
use crate::input::summarise;
use crate::print::{emit, print_margin_assumption, print_notes, to_json_text};

#[allow(clippy::too_many_arguments)] // one per command-line option
pub(crate) fn run_clv(
    input: &InputArgs,
    time: &TimeArgs,
    model: &str,
    horizon: f64,
    discount_rate: f64,
    step: f64,
    margin: &str,
    spend: &str,
    scoring: &str,
    fit: &FitArgs,
    json: bool,
    output: Option<&PathBuf>,
) -> patronage::Result<()> {
    let margin: MarginSource = margin.parse()?;
    let spend: SpendSource = spend.parse()?;
    let scoring: ScoringPeriod = scoring.parse()?;
    let settings = ClvSettings {
        model: model.parse()?,
        fit: fit.options(),
        spend,
        margin,
        horizon,
        discount_rate,
        step,
    };
    let out = clv_table_on(&summarise(input, time)?, &settings, scoring)?;
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
    print_notes(&out.notes);
    print_margin_assumption(margin);
    eprintln!(
        "patronage: customer equity {:.2} over {horizon} time units",
        out.customer_equity
    );
    if json {
        println!("{}", to_json_text(&out.to_json(&settings, scoring))?);
        if output.is_some() {
            emit(out.frame, output)?;
        }
        return Ok(());
    }
    emit(out.frame, output)
}
