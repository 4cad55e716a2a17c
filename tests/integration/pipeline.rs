//! The pipeline gives what the separate stages give on the same input; the report writes
//! every file; configuration errors name the setting.

use patronage::pipeline::{Pipeline, PipelineConfig, Stage};
use patronage::prelude::*;
use patronage::profitability::Split;
use patronage::segmentation::{SegmentationSpec, segment};
use patronage::stages::clv::{ClvSettings, ScoringPeriod, clv_table_on};
use patronage::stages::cohorts::cohorts;
use patronage::stages::fit::fit_summary;
use patronage::stages::profitability::analyse;
use polars::prelude::*;

const RETAIL: &str = "datasets/retail_sample.csv";

fn options() -> SummaryOptions {
    SummaryOptions::weekly().calibration_end("2024-03-31")
}

pub(crate) fn column_f64(df: &DataFrame, name: &str) -> Vec<Option<f64>> {
    df.column(name)
        .unwrap()
        .cast(&DataType::Float64)
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .collect()
}

pub(crate) fn column_str(df: &DataFrame, name: &str) -> Vec<Option<String>> {
    df.column(name)
        .unwrap()
        .cast(&DataType::String)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|v| v.map(str::to_string))
        .collect()
}

#[test]
fn pipeline_output_equals_the_separate_stages() {
    let pipeline = Pipeline::builder()
        .costs(crate::example_costs())
        .summary_options(options())
        .build()
        .unwrap();
    let tx = Transactions::scan(RETAIL, TransactionSchema::default()).unwrap();
    let mut stages = Vec::new();
    let out = pipeline.run_with(&tx, &mut |s| stages.push(s)).unwrap();
    assert_eq!(stages.first(), Some(&Stage::Clean));
    assert_eq!(stages.last(), Some(&Stage::Assemble));

    // Summary and RFM.
    let summary = tx.summary(&options()).unwrap();
    assert!(out.summary.frame().equals_missing(summary.frame()));
    let rfm = summary.rfm(&RfmOptions::default()).unwrap();
    assert!(out.rfm.frame().equals_missing(rfm.frame()));
    assert_eq!(out.rfm.segment_summary(), rfm.segment_summary());

    // CLV on the full period, and the checks fitted on the calibration period. On this
    // sample Gamma-Gamma has no interior optimum (lifetimes 0.11 runs q to 1e7 on the
    // same summary), so the stage falls back to historic spend, with a note: the same
    // scores as asking for historic spend, and the pipeline's notes are the stage's.
    let clv = clv_table_on(&summary, &ClvSettings::default(), ScoringPeriod::Full).unwrap();
    let historic = ClvSettings {
        spend: patronage::stages::clv::SpendSource::Historic,
        ..ClvSettings::default()
    };
    let direct = clv_table_on(&summary, &historic, ScoringPeriod::Full).unwrap();
    assert!(direct.frame.equals_missing(&clv.frame) && direct.notes.is_empty());
    let got = out.clv.as_ref().unwrap();
    assert!(got.frame.equals_missing(&clv.frame));
    assert_eq!(got.customer_equity, clv.customer_equity);
    assert!(got.spend.is_none() && clv.spend.is_none());
    assert_eq!(clv.notes.len(), 1);
    assert_eq!(out.notes, clv.notes);
    let checks = fit_summary(
        patronage::stages::fit::ModelKind::BgNbd,
        &summary,
        &Default::default(),
    )
    .unwrap();
    assert_eq!(out.checks.as_ref().unwrap(), &checks);
    assert!(checks.holdout.is_some() && checks.histogram.is_some());

    // Segmentation of the same per-customer features.
    let seg = segment(summary.frame(), &SegmentationSpec::default()).unwrap();
    let got = out.segmentation.as_ref().unwrap();
    assert_eq!(got.assignments, seg.assignments);
    assert_eq!(got.k_table, seg.k_table);
    assert_eq!(got.profiles, seg.profiles);
    // The segmentation stage on the pipeline's customers (before its cluster columns).
    let before: Vec<&str> = out
        .customers
        .get_column_names()
        .into_iter()
        .map(|c| c.as_str())
        .filter(|c| !c.starts_with("cluster"))
        .collect();
    let stage = patronage::stages::segment::segment(
        &out.customers.select(before).unwrap(),
        None,
        &Default::default(),
        None,
    )
    .unwrap();
    assert!(stage.customers.equals_missing(&out.customers));
    assert_eq!(&stage.segmentation, got);

    // Profitability as `analyse` gives it.
    let p = analyse(
        &tx,
        &options(),
        &crate::example_costs(),
        None,
        Split::Median,
    )
    .unwrap();
    let got = out.profitability.as_ref().unwrap();
    assert!(got.table.equals_missing(&p.table));
    assert_eq!(got.thresholds, p.thresholds);
    assert_eq!(got.quadrants, p.quadrants);
    assert_eq!(got.by_rfm_segment, p.by_rfm_segment);
    assert_eq!(got.whale, p.whale);

    // Cohorts from the same cleaned rows.
    let c = cohorts(
        &tx.customer_table(&options(), Some(CohortPeriod::Month))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(out.cohorts, c);

    // The customer table carries each stage's columns, row for row.
    let t = &out.customers;
    assert_eq!(t.height(), summary.n_customers());
    assert_eq!(
        column_str(t, "customer_id"),
        column_str(summary.frame(), "customer_id")
    );
    assert_eq!(column_f64(t, "clv"), column_f64(&clv.frame, "clv"));
    assert_eq!(column_f64(t, "p_alive"), column_f64(&clv.frame, "p_alive"));
    assert_eq!(
        column_str(t, "rfm_segment"),
        column_str(rfm.frame(), "segment")
    );
    assert_eq!(
        column_f64(t, "rfm_score"),
        column_f64(rfm.frame(), "rfm_score")
    );
    let clusters: Vec<Option<f64>> = seg.assignments.iter().map(|&a| Some(a as f64)).collect();
    assert_eq!(column_f64(t, "cluster"), clusters);
    assert_eq!(column_str(t, "quadrant"), column_str(&p.table, "quadrant"));
    assert_eq!(
        column_f64(t, "net_contribution"),
        column_f64(&p.table, "net_contribution")
    );
    // The summary has gross_profit from the cost column; it is not replaced.
    assert_eq!(
        column_f64(t, "gross_profit"),
        column_f64(summary.frame(), "gross_profit")
    );
}

#[test]
fn stages_can_be_switched_off() {
    let pipeline = Pipeline::builder()
        .without_clv()
        .without_segmentation()
        .without_profitability()
        .build()
        .unwrap();
    let out = pipeline.run(&pipeline.scan(RETAIL).unwrap()).unwrap();
    assert!(out.clv.is_none() && out.checks.is_none());
    assert!(out.segmentation.is_none() && out.profitability.is_none());
    for gone in ["clv", "cluster", "quadrant"] {
        assert!(out.customers.column(gone).is_err(), "{gone}");
    }
    assert!(out.customers.column("rfm_segment").is_ok());
}

#[test]
fn one_toml_file_configures_a_run() {
    let text = r#"
[schema]
customer_id = "customer_id"
amount = "amount"

[time]
purchase_unit = "day"
time_unit = "week"
calibration_end = "2024-03-31"

[rfm]
bins = 5
segments = "rf-map"

[clv]
model = "mbg-nbd"
spend = "historic"
margin = "cost"
horizon = 26

[segmentation]
k = { Fixed = 3 }
channel_mix = true

[costs]
per_order = 3.0

[profitability]
split = "q75"
axis = "contribution"

[cohorts]
period = "week"
"#;
    let config = PipelineConfig::from_toml(text).unwrap();
    let pipeline = Pipeline::builder().config(config).build().unwrap();
    let out = pipeline.run(&pipeline.scan(RETAIL).unwrap()).unwrap();
    assert_eq!(out.clv.as_ref().unwrap().purchase.name(), "mbg-nbd");
    assert!(out.clv.as_ref().unwrap().spend.is_none());
    let seg = out.segmentation.as_ref().unwrap();
    assert_eq!(seg.chosen_k, 3);
    // Channel shares were added as features and as columns.
    assert!(
        seg.model
            .features
            .iter()
            .any(|f| f.column.starts_with("channel_share_"))
    );
    assert!(
        out.customers
            .get_column_names()
            .iter()
            .any(|c| c.starts_with("channel_share_"))
    );
    let scores: Vec<Option<f64>> = column_f64(&out.customers, "r_score");
    assert!(scores.iter().flatten().all(|&s| (1.0..=5.0).contains(&s)));
    assert!(
        column_str(&out.customers, "rfm_segment")
            .iter()
            .flatten()
            .any(|s| s == "Champions")
    );
    let p = out.profitability.as_ref().unwrap();
    assert_eq!(p.axis, patronage::profitability::MatrixAxis::Contribution);
    assert!(out.cohorts.labels.iter().all(|l| l.len() == 10)); // ISO week Mondays
}

#[test]
fn a_table_without_costs_runs_every_other_stage_and_says_why_profitability_did_not() {
    // CDNOW has an id, a date and an amount: no cost column, and no margin rate given.
    let pipeline = Pipeline::builder().build().unwrap();
    let tx = Transactions::scan_whitespace(
        "datasets/cdnow/CDNOW_master.txt",
        true,
        TransactionSchema::default(),
    )
    .unwrap();
    let out = pipeline.run(&tx).unwrap();
    assert!(out.profitability.is_none());
    assert_eq!(out.skipped.len(), 1);
    assert_eq!(out.skipped[0].stage, Stage::Profitability);
    assert!(out.clv.is_some() && out.segmentation.is_some());
    assert_eq!(out.customers.height(), 23_570);
    // No margin was given: the CLV assumption is stated, and no cost-to-serve rate is.
    assert!(!out.assumptions.is_empty());
    let figures = patronage::report::figures(&out);
    assert_eq!(figures["skipped_stages"][0]["stage"], "profitability");
    assert_eq!(
        figures["assumptions"].as_array().unwrap().len(),
        out.assumptions.len()
    );
    // A margin rate alone is not enough: no activity is priced, so the stage is still
    // skipped, now for that reason.
    let margin_only = Pipeline::builder()
        .costs(patronage::profitability::CostModel {
            margin_rate: Some(0.3),
            ..Default::default()
        })
        .build()
        .unwrap()
        .run(&tx)
        .unwrap();
    assert!(margin_only.profitability.is_none());
    assert_eq!(margin_only.skipped[0].stage, Stage::Profitability);
    assert!(margin_only.skipped[0].reason.contains("costs.per_order"));
    // With a margin rate and rates the stage runs, and the rates in force are listed.
    let with_margin = Pipeline::builder()
        .costs(patronage::profitability::CostModel {
            margin_rate: Some(0.3),
            per_order: 1.0,
            ..Default::default()
        })
        .build()
        .unwrap()
        .run(&tx)
        .unwrap();
    assert!(with_margin.skipped.is_empty() && with_margin.profitability.is_some());
    assert!(with_margin.assumptions.len() > out.assumptions.len());
}

#[test]
fn report_writes_every_file_and_the_models_reload() {
    let pipeline = Pipeline::builder()
        .costs(crate::example_costs())
        .summary_options(options())
        .build()
        .unwrap();
    let out = pipeline.run(&pipeline.scan(RETAIL).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = patronage::report::write_report(&out, pipeline.config(), dir.path()).unwrap();
    let expected = [
        "customers.parquet",
        "segments.csv",
        "rfm_segments.csv",
        "matrix.csv",
        "whale.csv",
        "cohorts.csv",
        "tracking.csv",
        "models.json",
        "report.json",
        "report.html",
        "matrix.svg",
        "whale.svg",
        "segments.svg",
        "clv_distribution.svg",
        "rfm_heatmap.svg",
        "holdout.svg",
        "holdout_gain.svg",
        "p_alive.svg",
        "period_transactions.svg",
        "tracking.svg",
        "tracking_periods.svg",
        "cohort_retention.svg",
    ];
    for name in expected {
        let path = dir.path().join(name);
        let len = std::fs::metadata(&path)
            .unwrap_or_else(|_| panic!("{name} missing"))
            .len();
        assert!(len > 0, "{name} is empty");
        assert!(files.contains(&path), "{name} not listed");
    }
    // The per-customer table reads back with every row.
    let back = patronage::io::read_table(dir.path().join("customers.parquet")).unwrap();
    assert!(back.equals_missing(&out.customers));
    // report.json lists the charts, and every chart is inline in the page.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    let charts = json["charts"].as_array().unwrap();
    assert_eq!(charts.len(), 12);
    assert_eq!(json["data"]["customers"], out.summary.n_customers());
    // customers.csv only when asked ([report] csv = true), and report.json says so.
    let skipped = json["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert!(skipped[0].to_string().contains("customers.csv"));
    assert!(!dir.path().join("customers.csv").exists());
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    for c in charts {
        let id = c.as_str().unwrap();
        let at = html
            .find(&format!("<figure class=\"chart\" id=\"{id}\""))
            .unwrap_or_else(|| panic!("{id} not in the page"));
        assert!(html[at..].find("<svg").unwrap() < html[at..].find("</figure>").unwrap());
    }
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"));
    // The segment chart names segments by their labels, not by number alone.
    let svg = std::fs::read_to_string(dir.path().join("segments.svg")).unwrap();
    for p in &out.segmentation.as_ref().unwrap().profiles {
        let start: String = p.label.chars().take(20).collect();
        assert!(svg.contains(&start), "{start} not on the segment chart");
    }
    // models.json holds reloadable models that score as the run did.
    let models: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("models.json")).unwrap())
            .unwrap();
    let bg =
        patronage::clv::Fitted::<patronage::clv::BgNbd>::from_json(&models["purchase"].to_string())
            .unwrap();
    let clv = out.clv.as_ref().unwrap();
    assert_eq!(
        bg.params().to_vec(),
        clv.purchase
            .params()
            .iter()
            .map(|p| p.1)
            .collect::<Vec<_>>()
    );
    let seg = patronage::segmentation::SegmentModel::from_json(&models["segmentation"].to_string())
        .unwrap();
    assert_eq!(
        seg.predict(&out.customers).unwrap(),
        out.segmentation.as_ref().unwrap().assignments
    );
}

#[test]
fn report_without_stages_lists_what_it_skipped() {
    let pipeline = Pipeline::builder()
        .without_clv()
        .without_profitability()
        .build()
        .unwrap();
    let out = pipeline.run(&pipeline.scan(RETAIL).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    patronage::report::write_report(&out, pipeline.config(), dir.path()).unwrap();
    for gone in ["matrix.csv", "whale.csv", "holdout.svg", "matrix.svg"] {
        assert!(!dir.path().join(gone).exists(), "{gone}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    let skipped: Vec<String> = json["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["file"].as_str().unwrap().to_string())
        .collect();
    for gone in ["matrix.csv", "whale.csv", "holdout.svg"] {
        assert!(
            skipped.iter().any(|s| s == gone),
            "{gone} not listed in {skipped:?}"
        );
    }
    assert!(dir.path().join("report.html").exists());
}

#[test]
fn pipeline_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Pipeline>();
    check::<patronage::pipeline::PipelineOutput>();
}

#[test]
fn the_guide_configuration_parses() {
    let guide = std::fs::read_to_string("docs/guide/report.md").unwrap();
    let start = guide.find("```toml\n").unwrap() + "```toml\n".len();
    let end = start + guide[start..].find("```").unwrap();
    let config = PipelineConfig::from_toml(&guide[start..end]).unwrap();
    assert_eq!(config.clv.model, patronage::stages::fit::ModelKind::BgNbd);
    assert_eq!(config.segmentation.spec.features.len(), 3);
    assert_eq!(
        config.profitability.activity.as_deref(),
        Some(std::path::Path::new("activity.csv"))
    );
    // Everything but the example activity file (which does not exist) checks out.
    let mut config = config;
    config.profitability.activity = None;
    Pipeline::builder().config(config).build().unwrap();
}

#[test]
fn tiny_and_empty_inputs_end_in_typed_errors_not_panics() {
    let pipeline = Pipeline::builder().build().unwrap();
    // No rows.
    let empty = df!(
        "customer_id" => Vec::<String>::new(),
        "date" => Vec::<String>::new(),
        "amount" => Vec::<f64>::new(),
    )
    .unwrap();
    let tx = Transactions::from_frame(empty, TransactionSchema::default()).unwrap();
    assert!(pipeline.run(&tx).is_err());
    // One customer: the k range 2..8 cannot be compared on one customer, so segmentation
    // is skipped with its reason and the other stages run.
    let one = df!(
        "customer_id" => ["a", "a", "a"],
        "date" => ["2024-01-01", "2024-02-01", "2024-03-01"],
        "amount" => [10.0, 12.0, 9.0],
        "cost" => [6.0, 7.0, 5.0],
    )
    .unwrap();
    let tx = Transactions::from_frame(one, TransactionSchema::default()).unwrap();
    let out = Pipeline::builder()
        .costs(crate::example_costs())
        .without_clv()
        .build()
        .unwrap()
        .run(&tx)
        .unwrap();
    assert!(out.segmentation.is_none() && out.profitability.is_some());
    assert_eq!(out.skipped.len(), 1);
    assert_eq!(out.skipped[0].stage, Stage::Segmentation);
    // Without the stages that need several customers nothing is skipped.
    let out = Pipeline::builder()
        .without_clv()
        .without_segmentation()
        .costs(crate::example_costs())
        .build()
        .unwrap()
        .run(&tx)
        .unwrap();
    assert_eq!(out.customers.height(), 1);
    assert!(out.skipped.is_empty());
}

#[test]
fn without_a_calibration_end_the_checks_reuse_the_scoring_fit() {
    let pipeline = Pipeline::builder()
        .without_segmentation()
        .without_profitability()
        .build()
        .unwrap();
    let tx = Transactions::scan(RETAIL, TransactionSchema::default()).unwrap();
    let out = pipeline.run(&tx).unwrap();
    let summary = tx.summary(&SummaryOptions::weekly()).unwrap();
    let separate = fit_summary(
        patronage::stages::fit::ModelKind::BgNbd,
        &summary,
        &Default::default(),
    )
    .unwrap();
    let checks = out.checks.as_ref().unwrap();
    assert_eq!(checks, &separate);
    assert!(checks.histogram.is_some() && checks.holdout.is_none());
    assert_eq!(checks.model, out.clv.as_ref().unwrap().purchase);
}
