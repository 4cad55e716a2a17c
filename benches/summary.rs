//! Load + per-customer summary on synthetic logs (Parquet), at 100k and 1M rows.
//!
//! cargo bench --bench summary
//! (and a file of your own with PATRONAGE_BENCH_PARQUET=FILE)

mod common;

use common::log;
use criterion::{Criterion, criterion_group, criterion_main};
use patronage::prelude::*;

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut group = c.benchmark_group("load_and_summary");
    group.sample_size(10);
    for rows in [100_000usize, 1_000_000] {
        let path = log(rows, dir.path());
        group.bench_function(format!("{rows}_rows_parquet"), |b| {
            b.iter(|| {
                let tx =
                    Transactions::scan_parquet(&path, TransactionSchema::default()).expect("scan");
                tx.summary(&SummaryOptions::weekly()).expect("summary")
            })
        });
    }
    // A file of your own (for the 10M-row figure in docs/benchmarks.md):
    // PATRONAGE_BENCH_PARQUET=tx_1e7.parquet cargo bench --bench summary
    if let Ok(path) = std::env::var("PATRONAGE_BENCH_PARQUET") {
        group.bench_function("file_parquet", |b| {
            b.iter(|| {
                let tx =
                    Transactions::scan_parquet(&path, TransactionSchema::default()).expect("scan");
                tx.summary(&SummaryOptions::weekly()).expect("summary")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
