//! `patronage simulate`: draws a seeded synthetic transaction log from BG/NBD or
//! Pareto/NBD and Gamma-Gamma parameters (`patronage::simulate`), writes it, and the
//! per-customer truth when `--truth` is given.

use std::path::PathBuf;

pub(crate) fn run_simulate(
    customers: usize,
    seed: u64,
    start: String,
    weeks: f64,
    model: &str,
    truth: Option<&PathBuf>,
    output: &PathBuf,
) -> patronage::Result<()> {
    use patronage::simulate::{PurchaseProcess, SimulationSpec, simulate};
    let process = match model {
        "bg-nbd" => PurchaseProcess::BgNbd,
        "pareto-nbd" => PurchaseProcess::ParetoNbd,
        m => {
            return Err(patronage::Error::InvalidOption {
                option: "--model".into(),
                reason: format!("`{m}` is not bg-nbd or pareto-nbd"),
            });
        }
    };
    let spec = SimulationSpec {
        customers,
        seed,
        start,
        weeks,
        acquisition_weeks: weeks.min(SimulationSpec::default().acquisition_weeks),
        process,
        ..SimulationSpec::default()
    };
    let mut sim = simulate(&spec)?;
    patronage::io::write_frame(&mut sim.transactions, output)?;
    if let Some(path) = truth {
        patronage::io::write_frame(&mut sim.customers, path)?;
    }
    eprintln!(
        "patronage: {} transactions of {} customers written to {}",
        sim.transactions.height(),
        customers,
        output.display()
    );
    Ok(())
}
