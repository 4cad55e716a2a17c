//! Targeting (ranked lists, cuts, holdout gain and lift) and acquisition cohorts.

use patronage::prelude::*;
use patronage::stages::clv::ClvSettings;
use patronage::stages::cohorts::cohorts;
use patronage::stages::target::target;
use patronage::targeting::{Cut, TargetBy};
use polars::prelude::*;

fn master_with_holdout() -> Summary {
    Transactions::scan_whitespace(
        "datasets/cdnow/CDNOW_master.txt",
        true,
        TransactionSchema::default(),
    )
    .unwrap()
    .summary(&SummaryOptions::weekly().calibration_end("1997-09-30"))
    .unwrap()
}

#[test]
fn ranking_by_clv_finds_the_holdout_buyers() {
    let s = master_with_holdout();
    let t = target(&s, &ClvSettings::default(), TargetBy::Clv, Cut::Top(1000))
        .unwrap()
        .targeting;
    assert_eq!(t.selected, 1000);
    assert_eq!(t.list.height(), 23_570);
    let e = t.evaluation.unwrap();
    // The top tenth buys in the holdout at more than twice the base rate.
    assert!(e.deciles[0].lift > 2.0, "{:?}", e.deciles[0]);
    assert!(e.top_decile_hit_rate > 2.0 * e.base_rate);
    let gains: Vec<f64> = e.deciles.iter().map(|d| d.cumulative_gain).collect();
    assert!(gains.windows(2).all(|w| w[0] <= w[1]));
    assert!((gains[9] - 1.0).abs() < 1e-12);
    assert_eq!(e.deciles.iter().map(|d| d.customers).sum::<usize>(), 23_570);
    // Ranked best first.
    let score = t.list.column("score").unwrap().f64().unwrap();
    assert!(score.get(0).unwrap() >= score.get(1).unwrap());
    // Campaign economics: everyone whose CLV beats the contact cost, and nobody else.
    let t = target(
        &s,
        &ClvSettings::default(),
        TargetBy::PAliveValue,
        Cut::ContactCost(25.0),
    )
    .unwrap()
    .targeting;
    let clv = t.list.column("clv").unwrap().f64().unwrap();
    let sel = t.list.column("selected").unwrap().bool().unwrap();
    for (c, s) in clv.iter().zip(sel.iter()) {
        assert_eq!(c.unwrap() > 25.0, s.unwrap());
    }
    assert!(
        target(
            &s,
            &ClvSettings::default(),
            TargetBy::Clv,
            Cut::ContactCost(-1.0)
        )
        .is_err()
    );
}

/// Acceptance (issue #5): ranked by expected purchases on the calibration period, the top
/// decile of CDNOW customers makes far more than 10% of the holdout purchases.
#[test]
fn top_decile_by_expected_purchases_captures_the_holdout_purchases() {
    let s = master_with_holdout();
    let t = target(
        &s,
        &ClvSettings::default(),
        TargetBy::ExpectedPurchases,
        Cut::All,
    )
    .unwrap()
    .targeting;
    let e = t.evaluation.unwrap();
    let top = &e.deciles[0];
    eprintln!(
        "top decile: {:.1}% of holdout purchases, lift {:.2}",
        100.0 * top.purchase_share,
        top.lift
    );
    assert!(top.purchase_share > 0.4, "{top:?}");
    assert!(top.lift > 2.0);
    let shares: f64 = e.deciles.iter().map(|d| d.purchase_share).sum();
    assert!((shares - 1.0).abs() < 1e-9);
}

#[test]
fn cohort_retention_and_revenue_by_hand() {
    let df = df!(
        "customer_id" => ["a", "a", "a", "b", "c", "c"],
        "date" => ["2024-01-05", "2024-02-10", "2024-03-01", "2024-01-20", "2024-02-03", "2024-02-20"],
        "amount" => [10.0, 20.0, 30.0, 5.0, 7.0, 8.0],
    )
    .unwrap();
    let tx = Transactions::from_frame(df, TransactionSchema::default()).unwrap();
    let table = |period| {
        tx.customer_table(
            &SummaryOptions::weekly().observation_end("2024-03-31"),
            Some(period),
        )
        .unwrap()
    };
    let c = cohorts(&table(CohortPeriod::Month)).unwrap();
    assert_eq!(c.labels, ["2024-01", "2024-02"]);
    assert_eq!(c.sizes, [2, 1]);
    // January (a, b): both in Jan, a in Feb and Mar.
    assert_eq!(c.retention[0], [1.0, 0.5, 0.5]);
    assert_eq!(c.revenue[0], [15.0, 20.0, 30.0]);
    // February (c): two purchases in Feb, nothing in Mar.
    assert_eq!(c.retention[1], [1.0, 0.0]);
    assert_eq!(c.revenue[1], [15.0, 0.0]);
    let f = c.frame().unwrap();
    assert_eq!(f.height(), 5);
    let w = cohorts(&table(CohortPeriod::Week)).unwrap();
    assert_eq!(w.sizes.iter().sum::<usize>(), 3);
    assert_eq!(w.labels[0], "2024-01-01"); // the Monday of a's first week
}
