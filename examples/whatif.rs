//! The retention what-if on the CDNOW master file with the settings of
//! `datasets/cdnow/report.toml` (BG/NBD, Gamma-Gamma spend, a 30% margin, 10% a year
//! discounting, its cost model and contribution-axis quadrants): what raising the
//! one-year retention rate by 5 points is worth, in total and per profitability
//! quadrant, net of cost-to-serve, and the break-even spend per customer retained. Ends
//! in asserts, so `cargo run --example whatif` is also a test.

use patronage::pipeline::PipelineConfig;
use patronage::prelude::*;
use patronage::stages::clv::ClvSettings;
use patronage::stages::summary::summary;
use patronage::stages::whatif::{WhatIfGroup, WhatIfSettings, whatif};

fn main() -> patronage::Result<()> {
    let config = PipelineConfig::from_path("datasets/cdnow/report.toml")?;
    let tx = Transactions::scan_whitespace(
        "datasets/cdnow/CDNOW_master.txt",
        true,
        TransactionSchema::default(),
    )?;
    // The what-if acts on today: the full observation period, no calibration split.
    let mut time = config.time.clone();
    time.calibration_end = None;
    let table = summary(&tx, &time, None)?;

    let c = &config.clv;
    let mut settings = WhatIfSettings::new(5.0);
    settings.clv = ClvSettings {
        model: c.model.fixed("clv.model")?,
        fit: c.fit.clone(),
        spend: c.spend,
        margin: c.margin,
        horizon: c.horizon,
        discount_rate: c.discount_rate,
        step: c.step,
        interval: None,
        covariates: None,
    };
    settings.period = 52.0; // weeks: a one-year retention rate
    settings.by = Some(WhatIfGroup::Quadrant);
    settings.costs = Some(config.costs.clone());
    settings.split = config.profitability.split;
    settings.axis = config.profitability.axis;
    let w = whatif(&table, &settings, None)?;

    println!(
        "{}: one-year retention {:.4} -> {:.4}; mean dropout probability {:.4} -> {:.4}",
        w.baseline.name(),
        w.retention_rate_before,
        w.retention_rate_after,
        w.dropout_before,
        w.dropout_after
    );
    println!(
        "{:<18} {:>9} {:>12} {:>12} {:>10} {:>10} {:>10} {:>11}",
        "quadrant",
        "customers",
        "baseline",
        "scenario",
        "gain",
        "net gain",
        "retained+",
        "break-even"
    );
    for f in w.by.iter().chain(std::iter::once(&w.total)) {
        println!(
            "{:<18} {:>9} {:>12.0} {:>12.0} {:>10.0} {:>10.0} {:>10.1} {:>11.2}",
            f.group,
            f.customers,
            f.baseline_equity,
            f.scenario_equity,
            f.gain,
            f.net_gain.unwrap_or(f64::NAN),
            f.additional_retained,
            f.break_even_per_retained.unwrap_or(f64::NAN)
        );
    }
    println!(
        "gain per point of retention: {:.0}; break-even spend per customer retained: {:.2}",
        w.total.gain_per_point,
        w.total.break_even_per_retained.unwrap_or(f64::NAN)
    );

    assert!((w.retention_rate_after - w.retention_rate_before - 0.05).abs() < 1e-9);
    assert!(w.total.gain > 0.0 && w.dropout_after < w.dropout_before);
    let net = w.total.net_gain.expect("a cost model was given");
    assert!(net > 0.0 && net < w.total.gain);
    let by_quadrant: f64 = w.by.iter().map(|f| f.gain).sum();
    assert!((by_quadrant - w.total.gain).abs() < 1e-6 * w.total.gain);
    Ok(())
}
