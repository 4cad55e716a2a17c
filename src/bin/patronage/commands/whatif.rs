//! `patronage whatif`: the retention what-if (`stages::whatif::whatif`) on the
//! transactions' customer table: prints the retention rates, the equity before and after
//! and the gain (in total and per group) as text or JSON, and writes the per-customer
//! table with `-o`.

use std::path::PathBuf;

use patronage::stages::clv::ClvSettings;
use patronage::stages::whatif::{WhatIfFigures, WhatIfGroup, WhatIfSettings, whatif};

use crate::args::{ClvArgs, CostArgs, FitArgs, InputArgs, TimeArgs};
use crate::input::customer_table;
use crate::print::{emit, print_margin_assumption, print_notes, to_json_text};

/// The what-if's own options.
pub(crate) struct WhatifOptions<'a> {
    pub(crate) retention: f64,
    pub(crate) period: f64,
    pub(crate) by: Option<&'a str>,
    pub(crate) split: &'a str,
    pub(crate) axis: &'a str,
}

#[allow(clippy::too_many_arguments)] // one per group of command-line options
pub(crate) fn run_whatif(
    input: &InputArgs,
    time: &TimeArgs,
    options: WhatifOptions<'_>,
    clv: &ClvArgs,
    costs: &CostArgs,
    fit: &FitArgs,
    output: Option<&PathBuf>,
    json: bool,
) -> patronage::Result<()> {
    let mut settings = WhatIfSettings::new(options.retention);
    settings.clv = ClvSettings {
        model: clv.model.parse()?,
        fit: fit.options(),
        spend: clv.spend.parse()?,
        margin: clv.margin.parse()?,
        horizon: clv.horizon,
        discount_rate: clv.discount_rate,
        step: clv.step,
        // The what-if compares two point scores; intervals are not drawn for it.
        interval: None,
        covariates: None,
    };
    settings.period = options.period;
    settings.by = options.by.map(str::parse::<WhatIfGroup>).transpose()?;
    settings.split = options.split.parse()?;
    settings.axis = options.axis.parse()?;
    // A cost model when one is asked for, or when the quadrants need one.
    let wants_costs = costs.costs.is_some()
        || costs.margin_rate.is_some()
        || costs.activity.is_some()
        || settings.by == Some(WhatIfGroup::Quadrant);
    if wants_costs {
        settings.costs = Some(costs.model()?);
    }
    let activity = costs
        .activity
        .as_ref()
        .map(patronage::io::read_table)
        .transpose()?;
    let table = customer_table(input, time)?;
    let w = whatif(&table, &settings, activity.as_ref())?;
    print_notes(&w.notes);
    print_margin_assumption(settings.clv.margin);
    if json {
        println!("{}", to_json_text(&w.to_json())?);
    } else {
        println!(
            "{}: retention over {} time units {:.4} -> {:.4} ({:+} points; {})",
            w.baseline.name(),
            w.period,
            w.retention_rate_before,
            w.retention_rate_after,
            w.retention_points,
            w.rule
        );
        println!(
            "{:<24} {:>9} {:>14} {:>14} {:>12} {:>12} {:>10} {:>12} {:>12}",
            "group",
            "customers",
            "baseline",
            "scenario",
            "gain",
            "per point",
            "retained+",
            "break-even",
            "net gain"
        );
        for f in w.by.iter().chain(std::iter::once(&w.total)) {
            print_figures(f);
        }
    }
    if output.is_some() {
        emit(w.customers, output)?;
    }
    Ok(())
}

fn print_figures(f: &WhatIfFigures) {
    let opt = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.2}"));
    println!(
        "{:<24} {:>9} {:>14.2} {:>14.2} {:>12.2} {:>12.2} {:>10.1} {:>12} {:>12}",
        f.group,
        f.customers,
        f.baseline_equity,
        f.scenario_equity,
        f.gain,
        f.gain_per_point,
        f.additional_retained,
        opt(f.break_even_per_retained),
        opt(f.net_gain)
    );
}
