//! `patronage target`: ranks customers by CLV, the lower bound of CLV's interval,
//! expected purchases or P(alive) x value (`stages::target::target`), cuts the list by a count or a contact cost, prints the CLV
//! stage's notes on stderr, and writes the ranked list and/or the selection count, the
//! holdout gain table and the notes as JSON.

use std::path::PathBuf;

use patronage::stages::clv::{ClvSettings, MarginSource};

use crate::args::{InputArgs, IntervalArgs, TimeArgs};
use crate::input::summarise;
use crate::print::{emit, print_margin_assumption, print_notes, to_json_text};

#[allow(clippy::too_many_arguments)] // one per command-line option
pub(crate) fn run_target(
    input: &InputArgs,
    time: &TimeArgs,
    by: &str,
    top: Option<usize>,
    contact_cost: Option<f64>,
    horizon: f64,
    margin: f64,
    interval: &IntervalArgs,
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
        interval: interval.options(),
        ..ClvSettings::default()
    };
    // Bad interval settings are refused before the data are read.
    if let Some(options) = &settings.interval {
        options.validate()?;
    }
    let out = target(&summarise(input, time, &[])?, &settings, by, cut)?;
    print_notes(&out.clv.notes);
    print_margin_assumption(settings.margin);
    let t = out.targeting;
    eprintln!(
        "patronage: {} of {} scored customers selected",
        t.selected,
        t.list.height()
    );
    if json {
        let mut value = serde_json::json!({
            "scored": t.list.height(),
            "selected": t.selected,
            "holdout": t.evaluation,
            "notes": out.clv.notes,
        });
        if let Some(iv) = &out.clv.intervals {
            value["intervals"] = iv.to_json();
        }
        println!("{}", to_json_text(&value)?);
        if output.is_some() {
            emit(t.list, output)?;
        }
        Ok(())
    } else {
        emit(t.list, output)
    }
}
