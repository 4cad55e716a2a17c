//! BG/NBD + Gamma-Gamma fit and per-customer scoring (P(alive), expected purchases over
//! 52 weeks, CLV over 12 months discounted monthly at 1%: lifetimes' defaults) at 100k
//! and 1M customers, and 10M with PATRONAGE_BENCH_10M=1.
//!
//! Data: BG/NBD summaries with ages in whole days (as from a transaction log), drawn by
//! `simulate_repeat_data` with T uniform on 1..78 weeks. To compare with lifetimes on the
//! identical file, point PATRONAGE_BENCH_SUMMARY_DIR at a folder holding
//! `bgnbd_summary_{1e5,1e6,1e7}.parquet` (made by benches/peers/gen_btyd_summary.py)
//! and run benches/peers/clv_lifetimes.py on the same files.
//!
//! cargo bench --bench clv

use criterion::{Criterion, criterion_group, criterion_main};
use patronage::clv::value::{CustomerInputs, score};
use patronage::clv::{BgNbd, ClvOptions, GammaGamma, Margin, RepeatData, SpendData};
use patronage::simulate::{Process, simulate_repeat_data};
use polars::prelude::*;

struct Customers {
    x: Vec<f64>,
    t_x: Vec<f64>,
    t: Vec<f64>,
    m: Vec<f64>,
}

fn from_file(path: &std::path::Path) -> Customers {
    let df = patronage::io::read_table(path).expect("readable summary");
    let col = |n: &str| -> Vec<f64> {
        df.column(n)
            .expect("column")
            .cast(&DataType::Float64)
            .expect("numeric")
            .f64()
            .expect("f64")
            .iter()
            .map(|v| v.unwrap_or(0.0))
            .collect()
    };
    Customers {
        x: col("frequency"),
        t_x: col("recency"),
        t: col("T"),
        m: col("monetary_value"),
    }
}

fn simulated(n: usize) -> Customers {
    let s = simulate_repeat_data(
        &Process::BgNbd {
            r: 0.243,
            alpha: 4.414,
            a: 0.793,
            b: 2.426,
        },
        n,
        1.0,
        78.0,
        20_240_601,
    )
    .expect("valid spec");
    // Whole days, as ages computed from a log are.
    let day = |v: &f64| (v * 7.0).floor() / 7.0;
    let t: Vec<f64> = s.t.iter().map(day).collect();
    let t_x: Vec<f64> = s.recency.iter().map(day).collect();
    let m = s
        .frequency
        .iter()
        .enumerate()
        .map(|(i, x)| {
            if *x > 0.0 {
                10.0 + (i % 97) as f64
            } else {
                0.0
            }
        })
        .collect();
    Customers {
        x: s.frequency,
        t_x,
        t,
        m,
    }
}

fn customers(tag: &str, n: usize) -> Customers {
    match std::env::var_os("PATRONAGE_BENCH_SUMMARY_DIR") {
        Some(dir) => {
            from_file(&std::path::Path::new(&dir).join(format!("bgnbd_summary_{tag}.parquet")))
        }
        None => simulated(n),
    }
}

fn bench(c: &mut Criterion) {
    let mut sizes = vec![("1e5", 100_000usize), ("1e6", 1_000_000)];
    if std::env::var_os("PATRONAGE_BENCH_10M").is_some() {
        sizes.push(("1e7", 10_000_000));
    }
    let mut group = c.benchmark_group("clv");
    group.sample_size(10);
    for (tag, n) in sizes {
        let cu = customers(tag, n);
        let data = RepeatData::new(&cu.x, &cu.t_x, &cu.t).expect("valid data");
        eprintln!(
            "{tag}: {} customers, {} distinct (x, t_x, T)",
            data.n_customers(),
            data.len()
        );
        group.bench_function(format!("bgnbd_fit_{tag}"), |b| {
            b.iter(|| {
                BgNbd::fitter()
                    .fit(&RepeatData::new(&cu.x, &cu.t_x, &cu.t).expect("valid"))
                    .expect("fit")
            })
        });
        let spend = SpendData::new(&cu.x, &cu.m).expect("spend");
        group.bench_function(format!("gamma_gamma_fit_{tag}"), |b| {
            b.iter(|| GammaGamma::fitter().fit(&spend).expect("fit"))
        });
        let bg = BgNbd::fitter().fit(&data).expect("fit");
        let gg = GammaGamma::fitter().fit(&spend).expect("fit");
        eprintln!("{tag}: {:?} {:?}", bg.params(), gg.params());
        // lifetimes' customer_lifetime_value(time=12, discount_rate=0.01, freq="W").
        let opts = ClvOptions {
            horizon: 12.0 * 4.345,
            step: 4.345,
            discount_rate: 1.01f64.powf(1.0 / 4.345) - 1.0,
            margin: Margin::Rate(1.0),
        };
        group.bench_function(format!("score_{tag}"), |b| {
            b.iter(|| {
                let input = CustomerInputs {
                    x: &cu.x,
                    t_x: &cu.t_x,
                    t: &cu.t,
                    monetary: &cu.m,
                };
                score(&bg, Some(&gg), input, &opts).expect("score")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
