//! Profitability (clean, per-customer costs, matrix, whale curve, pyramid, RFM cross-tab)
//! on simulated logs with order ids, channels, costs and returns: about 1M rows, and
//! 10M rows with PATRONAGE_BENCH_PROFIT_10M=1 (or any Parquet log with
//! PATRONAGE_BENCH_PROFIT_PARQUET=FILE).
//!
//! cargo bench --bench profitability

use criterion::{Criterion, criterion_group, criterion_main};
use patronage::prelude::*;
use patronage::profitability::{CostModel, Split};
use patronage::simulate::{SimulationSpec, simulate};
use patronage::stages::profitability::analyse;

fn log(customers: usize, dir: &std::path::Path) -> std::path::PathBuf {
    let mut sim = simulate(&SimulationSpec {
        customers,
        seed: 42,
        ..SimulationSpec::default()
    })
    .expect("valid spec");
    let path = dir.join(format!("tx_{customers}.parquet"));
    patronage::io::write_frame(&mut sim.transactions, &path).expect("writable temp dir");
    eprintln!("{}: {} rows", path.display(), sim.transactions.height());
    path
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut inputs = vec![("1e6_rows".to_string(), log(250_000, dir.path()))];
    if let Some(p) = std::env::var_os("PATRONAGE_BENCH_PROFIT_PARQUET") {
        inputs.push(("file".into(), p.into()));
    } else if std::env::var_os("PATRONAGE_BENCH_PROFIT_10M").is_some() {
        inputs.push(("1e7_rows".into(), log(2_500_000, dir.path())));
    }
    let rates = CostModel::from_path("datasets/costs_example.toml").expect("cost rates");
    let mut group = c.benchmark_group("profitability");
    group.sample_size(10);
    for (name, path) in inputs {
        group.bench_function(name, |b| {
            b.iter(|| {
                let tx =
                    Transactions::scan_parquet(&path, TransactionSchema::default()).expect("scan");
                analyse(&tx, &SummaryOptions::weekly(), &rates, None, Split::Median)
                    .expect("analyse")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
