//! `patronage clv`: parses the margin and spend sources (and with `--model auto` runs
//! the model comparison, `stages::compare`, and uses its choice), runs the CLV stage
//! (`stages::clv::clv_table`: the purchase model and Gamma-Gamma unless `--spend
//! historic`, falling back to historic spend with a note when Gamma-Gamma cannot give
//! expected spend) on the summary, prints the fitted parameters, the notes and the
//! customer equity on stderr, and writes the per-customer P(alive), expected purchases,
//! expected spend and CLV table.

use std::path::PathBuf;

use patronage::stages::clv::{ClvSettings, MarginSource, SpendSource, clv_table};
use patronage::stages::compare::{ModelChoice, compare_models};

use crate::args::{FitArgs, InputArgs, TimeArgs};
use crate::input::summarise;
use crate::print::{emit, print_margin_assumption, print_notes};

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
    fit: &FitArgs,
    output: Option<&PathBuf>,
) -> patronage::Result<()> {
    let margin: MarginSource = margin.parse()?;
    let spend: SpendSource = spend.parse()?;
    let summary = summarise(input, time)?;
    // `--model auto`: the model `fit compare` would choose, said on stderr.
    let model = match model.parse::<ModelChoice>()? {
        ModelChoice::Auto => {
            let c = compare_models(&summary, &fit.options())?;
            let chosen = c.chosen_model()?;
            print_notes(&[format!(
                "--model auto: {} chosen by {}",
                chosen.name(),
                c.rule.describe()
            )]);
            chosen
        }
        choice => choice.fixed("clv.model")?,
    };
    let settings = ClvSettings {
        model,
        fit: fit.options(),
        spend,
        margin,
        horizon,
        discount_rate,
        step,
    };
    let out = clv_table(&summary, &settings)?;
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
    emit(out.frame, output)
}
