//! CLV against lifetimes 0.11.3's `customer_lifetime_value` on its own CDNOW summary
//! (2,357 customers; `datasets/cdnow/cdnow_customers_summary_with_transactions.csv`):
//! 12 monthly steps of 4.345 weeks, discounted at 1% a month, Gamma-Gamma's conditional
//! expected spend. The reference values were computed once by
//! `tests/data/clv_lifetimes_ref.py` and are stored in
//! `tests/data/clv_lifetimes_cdnow.json` (to 12 significant digits).
//!
//! lifetimes discounts month `i`'s expected purchases by `1.01^i`; ours discounts each
//! step `k` of `step` time units by `(1 + rate)^(k step)`, so a weekly rate of
//! `1.01^(1 / 4.345) - 1` with `step = 4.345` and a horizon of 12 steps is the same sum.

use patronage::clv::value::{CustomerInputs, score};
use patronage::clv::{BgNbd, ClvOptions, Fitted, GammaGamma, Margin, RepeatData, SpendData};
use polars::prelude::*;
use serde_json::Value;

struct Cdnow {
    x: Vec<f64>,
    t_x: Vec<f64>,
    t: Vec<f64>,
    zbar: Vec<f64>,
}

fn cdnow() -> Cdnow {
    let df = CsvReadOptions::default()
        .with_has_header(true)
        .try_into_reader_with_file_path(Some(
            "datasets/cdnow/cdnow_customers_summary_with_transactions.csv".into(),
        ))
        .unwrap()
        .finish()
        .unwrap();
    let col = |name: &str| -> Vec<f64> {
        crate::pipeline::column_f64(&df, name)
            .into_iter()
            .map(Option::unwrap)
            .collect()
    };
    Cdnow {
        x: col("x"),
        t_x: col("t_x"),
        t: col("T"),
        zbar: col("zbar"),
    }
}

fn reference() -> Value {
    serde_json::from_str(&std::fs::read_to_string("tests/data/clv_lifetimes_cdnow.json").unwrap())
        .unwrap()
}

fn values(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// lifetimes' `time=12, discount_rate=0.01, freq="W"`.
fn lifetimes_job() -> ClvOptions {
    ClvOptions {
        horizon: 12.0 * 4.345,
        step: 4.345,
        discount_rate: 1.01f64.powf(1.0 / 4.345) - 1.0,
        margin: Margin::Rate(1.0),
    }
}

/// Our CLV of every customer for lifetimes' job.
fn clv(bg: &dyn patronage::clv::PurchaseModel, gg: &Fitted<GammaGamma>, d: &Cdnow) -> Vec<f64> {
    let input = CustomerInputs {
        x: &d.x,
        t_x: &d.t_x,
        t: &d.t,
        monetary: &d.zbar,
    };
    score(bg, Some(gg), input, &lifetimes_job()).unwrap().clv
}

#[test]
fn clv_at_the_published_parameters_equals_lifetimes() {
    let (d, r) = (cdnow(), reference());
    let bg = BgNbd::from_params(&[0.2425982, 4.4136842, 0.7929899, 2.4261667]).unwrap();
    let gg = GammaGamma::from_params(&[6.25, 3.74, 15.44]).unwrap();
    let ours = clv(&bg, &gg, &d);
    let theirs = values(&r["at_published"]["clv"]);
    assert_eq!(ours.len(), 2357);
    assert_eq!(ours.len(), theirs.len());
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        // The stored values carry 12 significant digits.
        assert!(
            (a - b).abs() <= 1e-10 * b.abs().max(1e-3),
            "customer {}: ours {a}, lifetimes {b}",
            i + 1
        );
    }
}

#[test]
fn clv_from_our_fits_is_lifetimes_clv_from_its_fits() {
    let (d, r) = (cdnow(), reference());
    let frame = df!(
        "frequency" => &d.x,
        "recency" => &d.t_x,
        "T" => &d.t,
        "monetary_value" => &d.zbar,
    )
    .unwrap();
    let bg = BgNbd::fitter()
        .fit(&RepeatData::from_frame(&frame).unwrap())
        .unwrap();
    let gg = GammaGamma::fitter()
        .fit(&SpendData::from_frame(&frame).unwrap())
        .unwrap();
    // Both optimisers stop near the same optimum: parameters agree to about 1e-4.
    let fit = &r["lifetimes_fit"];
    for (name, ours) in ["r", "alpha", "a", "b"].iter().zip(bg.params()) {
        let theirs = fit["bgnbd"][name].as_f64().unwrap();
        assert!(
            (ours / theirs - 1.0).abs() < 5e-4,
            "{name}: {ours} vs {theirs}"
        );
    }
    for (name, ours) in ["p", "q", "v"].iter().zip(gg.params()) {
        let theirs = fit["gamma_gamma"][name].as_f64().unwrap();
        assert!(
            (ours / theirs - 1.0).abs() < 5e-3,
            "{name}: {ours} vs {theirs}"
        );
    }
    let ours = clv(&bg, &gg, &d);
    let theirs = values(&fit["clv"]);
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert!(
            (a - b).abs() <= 2e-3 * b.abs().max(1.0),
            "customer {}: ours {a}, lifetimes {b}",
            i + 1
        );
    }
    let (sa, sb): (f64, f64) = (ours.iter().sum(), theirs.iter().sum());
    assert!((sa / sb - 1.0).abs() < 1e-3, "equity {sa} vs {sb}");
}
