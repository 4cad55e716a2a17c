//! Behavioural segments of the 23,570 CDNOW customers: choose k over 2..8 on recency,
//! purchases, spend and P(alive), print the k-selection table and the profiles, and
//! check that the saved model assigns the customers exactly as the run did. Ends in
//! asserts, so `cargo run --example segment_customers` is also a test.

use patronage::prelude::*;
use patronage::segmentation::{FeatureSpec, SegmentModel, SegmentationSpec, segment};
use patronage::stages::clv::{ClvSettings, clv_table};
use patronage::stages::fit::ModelKind;

fn main() -> patronage::Result<()> {
    let tx = Transactions::scan_whitespace(
        "datasets/cdnow/CDNOW_master.txt",
        true,
        TransactionSchema::default(),
    )?;
    let summary = tx.summary(&SummaryOptions::weekly())?;
    // Add P(alive) to the summary's columns. MBG/NBD rather than BG/NBD: BG/NBD holds
    // every customer without a repeat purchase alive (P = 1), which would call the
    // one-time buyers of early 1997 "likely active".
    let settings = ClvSettings {
        model: ModelKind::MbgNbd,
        ..ClvSettings::default()
    };
    let clv = clv_table(&summary, &settings)?;
    let mut table = summary.frame().clone();
    table.with_column(clv.frame.column("p_alive")?.clone())?;

    let spec = SegmentationSpec::default().features(
        ["recency_days", "n_purchases", "total_spend", "p_alive"]
            .iter()
            .map(|c| FeatureSpec::default_for(c))
            .collect(),
    );
    let seg = segment(&table, &spec)?;
    println!(
        "k   inertia  silhouette  Calinski-Harabasz  Davies-Bouldin   (silhouette on {} customers)",
        seg.silhouette_sample_size
    );
    for s in &seg.k_table {
        println!(
            "{:<2} {:>9.0}  {:>10.3}  {:>17.0}  {:>14.3}",
            s.k,
            s.inertia,
            s.silhouette.unwrap_or(f64::NAN),
            s.calinski_harabasz.unwrap_or(f64::NAN),
            s.davies_bouldin.unwrap_or(f64::NAN)
        );
    }
    println!("chosen k = {} (highest silhouette)", seg.chosen_k);
    for p in &seg.profiles {
        println!(
            "segment {}: {:<36} {:>6} customers ({:>4.1}%), {:>5.1}% of revenue",
            p.segment,
            p.label,
            p.customers,
            100.0 * p.share,
            100.0 * p.revenue_share.unwrap_or(0.0)
        );
        for f in &p.features {
            println!(
                "    {:<14} mean {:>9.2}  median {:>9.2}",
                f.feature, f.mean, f.median
            );
        }
    }

    // The chosen k is the silhouette maximum; segments are ordered by revenue and their
    // shares add up; the saved model reproduces every assignment.
    let best = seg
        .k_table
        .iter()
        .map(|s| s.silhouette.unwrap_or(f64::NEG_INFINITY))
        .fold(f64::NEG_INFINITY, f64::max);
    let chosen = seg
        .k_table
        .iter()
        .find(|s| s.k == seg.chosen_k)
        .and_then(|s| s.silhouette);
    assert_eq!(chosen, Some(best));
    assert_eq!(seg.assignments.len(), 23_570);
    let revenue: Vec<f64> = seg
        .profiles
        .iter()
        .map(|p| p.revenue_share.unwrap_or(0.0))
        .collect();
    assert!(revenue.windows(2).all(|w| w[0] >= w[1]));
    assert!((revenue.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    let saved = SegmentModel::from_json(&seg.model.to_json()?)?;
    assert_eq!(saved.predict(&table)?, seg.assignments);
    // The top segment buys more recently and more often than the bottom one.
    let median = |s: usize, f: &str| {
        seg.profiles[s]
            .features
            .iter()
            .find(|x| x.feature == f)
            .map(|x| x.median)
            .unwrap_or(f64::NAN)
    };
    let last = seg.profiles.len() - 1;
    assert!(median(0, "recency_days") < median(last, "recency_days"));
    assert!(median(0, "n_purchases") > median(last, "n_purchases"));
    println!("ok");
    Ok(())
}
