//! The main job: every pipeline stage and the report's files, on a simulated 1M-row log
//! (Parquet), and on a file of your own with PATRONAGE_BENCH_PARQUET=FILE (the 10M-row
//! figure of docs/benchmarks.md). The run is `Pipeline::run` then `write_report` into a
//! fresh directory, as `patronage report` does, with a cost model so the profitability
//! matrix runs.
//!
//! cargo bench --bench pipeline
//! PATRONAGE_BENCH_PARQUET=tx_1e7.parquet cargo bench --bench pipeline

mod common;

use common::log;
use criterion::{Criterion, criterion_group, criterion_main};
use patronage::pipeline::Pipeline;
use patronage::profitability::CostModel;

fn pipeline() -> Pipeline {
    // The rates the benchmarks of docs/benchmarks.md use (per order, line, delivery,
    // return, service contact) and a margin for data without a cost column.
    let costs = CostModel::from_toml(
        "per_order = 2.5\nper_line = 0.5\nper_delivery = 4.0\nper_return = 7.5\nper_service_contact = 5.0\nmargin_rate = 0.3\n",
    )
    .expect("cost model");
    Pipeline::builder().costs(costs).build().expect("pipeline")
}

fn run(p: &Pipeline, path: &std::path::Path) {
    let tx = p.scan(path).expect("scan");
    let out = p.run(&tx).expect("run");
    let dir = tempfile::tempdir().expect("temp dir");
    patronage::report::write_report(&out, p.config(), dir.path()).expect("report");
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = pipeline();
    let mut group = c.benchmark_group("pipeline_and_report");
    group.sample_size(10);
    let path = log(1_000_000, dir.path());
    group.bench_function("1M_rows_parquet", |b| b.iter(|| run(&p, &path)));
    if let Ok(file) = std::env::var("PATRONAGE_BENCH_PARQUET") {
        let file = std::path::PathBuf::from(file);
        group.bench_function("file_parquet", |b| b.iter(|| run(&p, &file)));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
