//! The tracking check (actual against expected repeat purchases over calendar time) on
//! the CDNOW master log, checked against figures computed independently from the
//! summary's columns, and the purchase timeline behind it split into partitions.

use patronage::prelude::*;
use patronage::stages::fit::{ModelKind, fit_summary};
use patronage::stages::summary::{summary, summary_partitioned};

fn cdnow() -> Transactions {
    Transactions::scan_whitespace(
        "datasets/cdnow/CDNOW_master.txt",
        true,
        TransactionSchema::default(),
    )
    .unwrap()
}

fn column(s: &patronage::transactions::summary::Summary, name: &str) -> Vec<Option<f64>> {
    crate::pipeline::column_f64(s.frame(), name)
}

#[test]
fn tracking_agrees_with_the_summary_on_cdnow() {
    let s = cdnow()
        .summary(&SummaryOptions::weekly().calibration_end("1997-09-30"))
        .unwrap();
    let fit = fit_summary(ModelKind::BgNbd, &s, &Default::default()).unwrap();
    let t = fit
        .tracking
        .as_ref()
        .expect("a purchase model on a summary");
    let model = fit.model.purchase_model().unwrap();
    let sum = |v: &[Option<f64>]| v.iter().flatten().sum::<f64>();
    let expected_over = |ages: &[Option<f64>]| {
        ages.iter()
            .flatten()
            .map(|&t| model.expected_purchases(t).unwrap())
            .sum::<f64>()
    };

    // Daily purchases over 78 weeks from 1997-01-01: one point a week, the calibration
    // end (a Tuesday, so not on the weekly grid) inserted, and the observation end last.
    assert_eq!(
        (t.time_unit, t.step, t.origin.as_str()),
        ("week", 1, "1997-01-01")
    );
    let cal = t.at_calibration_end().unwrap();
    assert_eq!(cal.date, "1997-09-30");
    let end = t.at_end().unwrap();
    assert_eq!(end.date, "1998-06-30");

    // Actual: every repeat purchase by the end, the calibration ones by the calibration end.
    assert_eq!(end.actual, sum(&column(&s, "frequency")));
    assert_eq!(cal.actual, sum(&column(&s, "frequency_cal")));
    // Expected: each customer's E[X(T)] at their age, at both ends (every CDNOW customer
    // was acquired in the first quarter of 1997, so all are in the calibration period).
    let rel = |a: f64, b: f64| (a - b).abs() / b.abs();
    assert!(rel(end.expected, expected_over(&column(&s, "T"))) < 1e-12);
    assert!(rel(cal.expected, expected_over(&column(&s, "T_cal"))) < 1e-12);

    // Cumulative figures never fall, and the per-period ones add up to them.
    for w in t.points.windows(2) {
        assert!(w[1].actual >= w[0].actual && w[1].expected >= w[0].expected);
    }
    let added: f64 = t.points.iter().map(|p| p.expected_incremental).sum();
    assert!(rel(added, end.expected) < 1e-12);
    let added: f64 = t.points.iter().map(|p| p.actual_incremental).sum();
    assert_eq!(added, end.actual);

    // In the JSON `patronage fit --json` prints.
    let json = fit.to_json();
    assert_eq!(
        json["tracking"]["points"].as_array().unwrap().len(),
        t.points.len()
    );
}

#[test]
fn the_timeline_is_the_same_however_many_partitions() {
    let tx = cdnow();
    let options = SummaryOptions::weekly();
    let whole = summary(&tx, &options, None)
        .unwrap()
        .into_summary()
        .unwrap();
    for parts in [2, 5] {
        let split = summary_partitioned(&tx, &options, Some(parts))
            .unwrap()
            .into_summary()
            .unwrap();
        assert_eq!(split.purchase_timeline(), whole.purchase_timeline());
    }
    let t = whole.purchase_timeline();
    assert_eq!(t.total_acquired(), 23_570);
    assert_eq!(
        t.total_repeats() as f64,
        column(&whole, "frequency").iter().flatten().sum::<f64>()
    );
}

#[test]
fn gamma_gamma_and_bg_bb_have_no_tracking() {
    let s = cdnow().summary(&SummaryOptions::weekly()).unwrap();
    let gg = fit_summary(ModelKind::GammaGamma, &s, &Default::default()).unwrap();
    assert!(gg.tracking.is_none());
    assert!(gg.to_json().get("tracking").is_none());
}
