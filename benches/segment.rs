//! k selection over 2..8 on 1M customers x 5 features (k-means, 5 runs per k, silhouette
//! on a 10,000-customer sample, Calinski-Harabasz and Davies-Bouldin on all customers).
//!
//! The matrix: five standardised features drawn from a seeded mixture of 6 Gaussian
//! blobs. With PATRONAGE_BENCH_SEGMENT_FILE=path.parquet the matrix is read from there
//! (and written there first if missing), so benches/peers/segment_sklearn.py can run
//! scikit-learn on the identical numbers.
//!
//! cargo bench --bench segment

use criterion::{Criterion, criterion_group, criterion_main};
use patronage::segmentation::{FeatureSpec, KChoice, Scale, SegmentationSpec, segment};
use polars::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

const N: usize = 1_000_000;
const D: usize = 5;

fn generate() -> DataFrame {
    let mut rng = ChaCha8Rng::seed_from_u64(20_261_123);
    let centers: Vec<Vec<f64>> = (0..6)
        .map(|_| (0..D).map(|_| rng.random_range(-4.0..4.0)).collect())
        .collect();
    let noise = Normal::new(0.0, 1.0).expect("valid normal");
    let mut cols: Vec<Vec<f64>> = (0..D).map(|_| Vec::with_capacity(N)).collect();
    for _ in 0..N {
        let c = &centers[rng.random_range(0..centers.len())];
        for j in 0..D {
            cols[j].push(c[j] + noise.sample(&mut rng));
        }
    }
    DataFrame::new_infer_height(
        cols.into_iter()
            .enumerate()
            .map(|(j, v)| Column::new(format!("f{j}").into(), v))
            .collect(),
    )
    .expect("frame")
}

fn matrix() -> DataFrame {
    match std::env::var_os("PATRONAGE_BENCH_SEGMENT_FILE") {
        Some(path) => {
            let path = std::path::PathBuf::from(path);
            if !path.exists() {
                patronage::io::write_frame(&mut generate(), &path).expect("writable");
            }
            patronage::io::read_table(&path).expect("readable")
        }
        None => generate(),
    }
}

fn bench(c: &mut Criterion) {
    let df = matrix();
    let spec = SegmentationSpec::default()
        .features(
            (0..D)
                .map(|j| FeatureSpec {
                    column: format!("f{j}"),
                    log1p: false,
                    scale: Scale::Standardize,
                })
                .collect(),
        )
        .k(KChoice::Range(2, 8))
        .n_runs(5);
    let seg = segment(&df, &spec).expect("segment");
    eprintln!(
        "chosen k {}; {:?}",
        seg.chosen_k,
        seg.k_table
            .iter()
            .map(|s| (s.k, s.silhouette))
            .collect::<Vec<_>>()
    );
    let mut group = c.benchmark_group("segment");
    group.sample_size(10);
    group.bench_function("k_selection_2_to_8_1e6x5", |b| {
        b.iter(|| segment(&df, &spec).expect("segment"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
