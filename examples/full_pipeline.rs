//! Every stage in one run on the CDNOW master file, configured from one TOML file, and
//! the report written to a temporary directory.
//!
//! Run with `cargo run --example full_pipeline`.

use patronage::pipeline::{Pipeline, Stage};

fn main() -> patronage::Result<()> {
    let pipeline = Pipeline::from_config_path("datasets/cdnow/report.toml")?;
    let tx = pipeline.scan("datasets/cdnow/CDNOW_master.txt")?;
    let mut stages: Vec<Stage> = Vec::new();
    let out = pipeline.run_with(&tx, &mut |s| stages.push(s))?;
    println!(
        "stages: {}",
        stages
            .iter()
            .map(|s| s.describe())
            .collect::<Vec<_>>()
            .join(" -> ")
    );

    let n = out.summary.n_customers();
    println!(
        "{n} customers, {} columns per customer",
        out.customers.width()
    );
    let clv = out.clv.as_ref().expect("CLV is on in report.toml");
    println!(
        "{}: {}",
        clv.purchase.name(),
        clv.purchase
            .params()
            .iter()
            .map(|(k, v)| format!("{k} {v:.4}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("customer equity over 52 weeks: {:.0}", clv.customer_equity);
    if let Some(h) = out.checks.as_ref().and_then(|c| c.holdout.as_ref()) {
        println!(
            "holdout: {:.0} purchases, model {:.0}",
            h.actual_total, h.expected_total
        );
    }
    let seg = out.segmentation.as_ref().expect("segmentation is on");
    for p in &seg.profiles {
        println!(
            "segment {} {:<32} {:>5.1}% of customers {:>5.1}% of revenue",
            p.segment,
            p.label,
            100.0 * p.share,
            100.0 * p.revenue_share.unwrap_or(0.0)
        );
    }
    let profit = out.profitability.as_ref().expect("profitability is on");
    for q in &profit.quadrants {
        println!(
            "{:<17} {:>6} customers {:>6.1}% of net contribution",
            q.quadrant,
            q.customers,
            100.0 * q.net_contribution_share
        );
    }

    let dir = std::env::temp_dir().join("patronage-full-pipeline");
    let files = patronage::report::write_report(&out, pipeline.config(), &dir)?;
    println!("{} files in {}", files.len(), dir.display());

    // What the run must give on CDNOW.
    assert_eq!(n, 23_570);
    assert_eq!(out.customers.height(), n);
    assert_eq!(stages.first(), Some(&Stage::Clean));
    assert!(
        out.summary.report().rejects.is_empty(),
        "every CDNOW row is used"
    );
    for column in [
        "rfm_segment",
        "p_alive",
        "clv",
        "cluster",
        "quadrant",
        "net_contribution",
    ] {
        assert!(out.customers.column(column).is_ok(), "{column}");
    }
    assert!(clv.customer_equity > 0.0);
    assert!((2..=6).contains(&seg.chosen_k));
    assert_eq!(profit.quadrants.len(), 4);
    assert_eq!(out.cohorts.labels, ["1997-01", "1997-02", "1997-03"]);
    assert!(files.iter().any(|f| f.ends_with("report.html")));
    Ok(())
}
