//! `patronage clv`: parses the margin and spend sources, runs the CLV stage
//! (`stages::clv::clv_table`: the purchase model and Gamma-Gamma unless `--spend
//! historic`, falling back to historic spend with a note when Gamma-Gamma cannot give
//! expected spend) on the summary, prints the fitted parameters, the notes and the
//! customer equity on stderr (with its interval under `--interval`), and writes the
//! per-customer P(alive), expected purchases, expected spend and CLV table (with the
//! `_lo`/`_hi` bounds under `--interval`).

use std::path::PathBuf;

use patronage::stages::clv::{ClvSettings, MarginSource, SpendSource, clv_table};

use crate::args::{FitArgs, InputArgs, IntervalArgs, TimeArgs};
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
    interval: &IntervalArgs,
    output: Option<&PathBuf>,
) -> patronage::Result<()> {
    let margin: MarginSource = margin.parse()?;
    let spend: SpendSource = spend.parse()?;
    let settings = ClvSettings {
        model: model.parse()?,
        fit: fit.options(),
        spend,
        margin,
        horizon,
        discount_rate,
        step,
        interval: interval.options(),
    };
    // Bad interval settings are refused before the data are read.
    if let Some(options) = &settings.interval {
        options.validate()?;
    }
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
    print_notes(&out.notes);
    print_margin_assumption(margin);
    match &out.intervals {
        Some(iv) => {
            let e = iv.customer_equity;
            eprintln!(
                "patronage: customer equity {:.2} over {horizon} time units ({:.0}% interval {:.2} to {:.2}, {} {} draws)",
                e.estimate,
                e.level * 100.0,
                e.lo,
                e.hi,
                e.draws,
                e.method.name()
            );
        }
        None => eprintln!(
            "patronage: customer equity {:.2} over {horizon} time units",
            out.customer_equity
        ),
    }
    emit(out.frame, output)
}
