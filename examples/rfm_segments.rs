//! RFM scores and named segments on the full CDNOW log (23,570 customers, 69,659 rows).
//!
//! cargo run --example rfm_segments

use patronage::prelude::*;

fn main() -> patronage::Result<()> {
    // The master file is whitespace-separated with a header; ids are zero-padded text.
    let tx = Transactions::scan_whitespace(
        "datasets/cdnow/CDNOW_master.txt",
        true,
        TransactionSchema::default(), // detects customer_id, date (YYYYMMDD), dollar_value
    )?;
    let summary = tx.summary(&SummaryOptions::weekly().observation_end("1998-06-30"))?;
    let report = summary.report();
    println!(
        "{} rows read, {} used, {} rejected; {} customers",
        report.rows_read,
        report.rows_used,
        report.rejects.len(),
        summary.n_customers()
    );

    let rfm = summary.rfm(&RfmOptions::default())?;
    println!("{}", rfm.frame().head(Some(5)));
    println!(
        "{:<20} {:>9} {:>7} {:>9} {:>13} {:>10}",
        "segment", "customers", "share", "rev.share", "recency_days", "purchases"
    );
    for s in rfm.segment_summary() {
        println!(
            "{:<20} {:>9} {:>6.1}% {:>8.1}% {:>13.0} {:>10.2}",
            s.segment,
            s.customers,
            100.0 * s.share,
            100.0 * s.revenue_share,
            s.mean_recency_days,
            s.mean_n_purchases
        );
    }

    // The R-F map on the same scores.
    let rf = summary.rfm(&RfmOptions::default().segments(SegmentRules::rf_map()))?;
    let champions = rf
        .segment_summary()
        .iter()
        .find(|s| s.segment == "Champions");

    // Checks that hold for CDNOW whatever the presentation.
    assert_eq!(report.rows_read, 69_659);
    assert_eq!(summary.n_customers(), 23_570);
    let customers: u64 = rfm.segment_summary().iter().map(|s| s.customers).sum();
    assert_eq!(customers, 23_570);
    let share: f64 = rfm.segment_summary().iter().map(|s| s.revenue_share).sum();
    assert!((share - 1.0).abs() < 1e-9);
    // One-time buyers all share F = 1, so no one-time buyer is called loyal.
    let scores = rfm.frame();
    let n = scores.column("n_purchases")?.u32()?;
    let f = scores.column("f_score")?.u32()?;
    assert!(
        n.iter()
            .zip(f.iter())
            .all(|(n, f)| n != Some(1) || f == Some(1))
    );
    // Champions (recent and frequent) spend far more per head than the base.
    let champions = champions.expect("CDNOW has R-F champions");
    let base_spend: f64 = rf.segment_summary().iter().map(|s| s.revenue).sum::<f64>() / 23_570.0;
    assert!(champions.mean_total_spend > 2.0 * base_spend);
    println!(
        "Champions (R-F map): {} customers, mean spend {:.2} vs {:.2} overall",
        champions.customers, champions.mean_total_spend, base_spend
    );
    Ok(())
}
