//! What the benches share: a simulated log written as Parquet.

use patronage::simulate::{SimulationSpec, simulate};

/// A simulated log of about `rows` rows (the CDNOW process gives about 4.3 rows per
/// customer over 78 weeks), written as Parquet under `dir`.
pub fn log(rows: usize, dir: &std::path::Path) -> std::path::PathBuf {
    let spec = SimulationSpec {
        customers: rows * 10 / 43,
        seed: 42,
        ..SimulationSpec::default()
    };
    let mut sim = simulate(&spec).expect("valid spec");
    let path = dir.join(format!("tx_{rows}.parquet"));
    patronage::io::write_frame(&mut sim.transactions, &path).expect("writable temp dir");
    eprintln!(
        "{}: {} rows, {} customers",
        path.display(),
        sim.transactions.height(),
        spec.customers
    );
    path
}
