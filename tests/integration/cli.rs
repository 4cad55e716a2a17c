//! The command-line contract: outputs, exit codes, one-line errors.

use std::process::Command;

pub(crate) fn patronage(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_patronage"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const MASTER: &str = "datasets/cdnow/CDNOW_master.txt";

#[test]
fn rfm_on_cdnow_master_writes_the_contract_columns() {
    let (code, out, err) = patronage(&["rfm", MASTER, "--whitespace"]);
    assert_eq!(code, 0, "{err}");
    let mut lines = out.lines();
    assert_eq!(
        lines.next().unwrap(),
        "customer_id,recency_days,n_purchases,total_spend,r_score,f_score,m_score,rfm_score,segment"
    );
    assert_eq!(lines.count(), 23_570);
    assert!(out.contains("\n00001,"), "ids keep their padding");
    assert!(err.contains("69659 rows read"), "{err}");
    // The segment summary for people, on stderr: a header, a rule, one row per segment
    // with counts grouped by thousands.
    let header = err
        .lines()
        .position(|l| l.starts_with("segment ") && l.contains("customers"))
        .expect(&err);
    let lines: Vec<&str> = err.lines().collect();
    assert!(lines[header + 1].chars().all(|c| c == '-'), "{err}");
    assert!(
        lines[header + 2..]
            .iter()
            .any(|l| l.starts_with("Champions")),
        "{err}"
    );
    assert!(err.contains(','), "{err}");
}

#[test]
fn rfm_json_prints_the_segment_summary() {
    let (code, out, err) = patronage(&["rfm", MASTER, "--segments", "rf-map", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let segs = v.as_array().unwrap();
    let total: u64 = segs.iter().map(|s| s["customers"].as_u64().unwrap()).sum();
    assert_eq!(total, 23_570);
    let share: f64 = segs
        .iter()
        .map(|s| s["revenue_share"].as_f64().unwrap())
        .sum();
    assert!((share - 1.0).abs() < 1e-9);
    assert!(segs.iter().any(|s| s["segment"] == "Champions"));
}

#[test]
fn summary_writes_files_by_extension_and_rejects() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.parquet");
    let rej = dir.path().join("rejects.csv");
    let (code, _, err) = patronage(&[
        "summary",
        "datasets/cdnow/CDNOW_sample.txt",
        "--whitespace",
        "--no-header",
        "--customer-col",
        "column_2",
        "--date-col",
        "column_3",
        "--amount-col",
        "column_5",
        "--calibration-end",
        "1997-09-30",
        "--observation-end",
        "1998-06-30",
        "-o",
        out.to_str().unwrap(),
        "--rejects",
        rej.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::metadata(&out).unwrap().len() > 0);
    assert_eq!(
        std::fs::read_to_string(&rej).unwrap().trim(),
        "row,column,reason,value"
    );
    let json = dir.path().join("s.json");
    let (code, _, err) = patronage(&[
        "summary",
        "datasets/retail_sample.csv",
        "-o",
        json.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert!(v.as_array().unwrap()[0].get("gross_profit").is_some());
}

#[test]
fn exit_codes_and_one_line_errors() {
    // Usage errors: 2.
    let (code, _, err) = patronage(&["rfm"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = patronage(&["summary", MASTER, "--time-unit", "fortnight"]);
    assert_eq!(code, 2);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("fortnight"));
    let (code, _, _) = patronage(&["rfm", MASTER, "--bins", "1"]);
    assert_eq!(code, 2);
    // Data errors: 1.
    let (code, _, err) = patronage(&["summary", "does/not/exist.csv"]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("patronage: error:") && err.trim().lines().count() == 1,
        "{err}"
    );
    let (code, _, err) = patronage(&["summary", MASTER, "--whitespace", "--amount-col", "price"]);
    assert_eq!(code, 1);
    assert!(err.contains("`price` not found"), "{err}");
    assert!(!err.contains("panicked"));
    // Help: 0, and every option is explained.
    let (code, out, _) = patronage(&["rfm", "--help"]);
    assert_eq!(code, 0);
    for opt in [
        "--customer-col",
        "--date-format",
        "--whitespace",
        "--purchase-unit",
        "--calibration-end",
        "--segments",
        "--json",
    ] {
        assert!(out.contains(opt), "{opt} missing from help");
    }
    let (code, out, _) = patronage(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("summary") && out.contains("rfm"));
}

#[test]
fn price_times_quantity_and_unit_cost_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("lines.csv");
    std::fs::write(
        &input,
        "buyer;when;p;n;uc\nx;2024-01-01;2.5;4;1\nx;2024-01-09;10;-1;6\ny;2024-01-03;3;1;2\n",
    )
    .unwrap();
    let (code, out, err) = patronage(&[
        "summary",
        input.to_str().unwrap(),
        "--delimiter",
        ";",
        "--customer-col",
        "buyer",
        "--date-col",
        "when",
        "--price-col",
        "p",
        "--quantity-col",
        "n",
        "--unit-cost-col",
        "uc",
        "--time-unit",
        "day",
    ]);
    assert_eq!(code, 0, "{err}");
    let header: Vec<&str> = out.lines().next().unwrap().split(',').collect();
    let x: Vec<&str> = out.lines().nth(1).unwrap().split(',').collect();
    let col = |name: &str| x[header.iter().position(|h| *h == name).unwrap()];
    // x: bought 4 x 2.5 = 10 (cost 4), returned 1 x 10 (cost 6 comes back).
    assert_eq!(col("total_spend"), "0.0");
    assert_eq!(col("returns"), "10.0");
    assert_eq!(col("gross_profit"), "2.0");
    assert_eq!(col("n_purchases"), "1");
}

pub(crate) const SAMPLE_CAL: [&str; 4] = [
    "--calibration-end",
    "1997-09-30",
    "--observation-end",
    "1998-06-30",
];

#[test]
fn fit_json_reproduces_the_published_bgnbd_fit_with_a_holdout_check() {
    let mut args = vec![
        "fit",
        "bg-nbd",
        "datasets/cdnow/CDNOW_sample.txt",
        "--json",
        "--no-header",
    ];
    args.extend([
        "--customer-col",
        "column_2",
        "--date-col",
        "column_3",
        "--amount-col",
        "column_5",
    ]);
    args.extend(SAMPLE_CAL);
    let (code, out, err) = patronage(&args);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["model"], "bg-nbd");
    assert!((v["log_likelihood"].as_f64().unwrap() + 9582.429).abs() < 5e-4);
    assert!((v["params"]["r"].as_f64().unwrap() - 0.2426).abs() < 1e-4);
    assert!(v["standard_errors"]["alpha"].as_f64().unwrap() > 0.0);
    assert_eq!(v["n_customers"], 2357.0);
    assert_eq!(v["converged"], true);
    assert!(v["iterations"].as_u64().unwrap() > 0);
    // The holdout check: 1,882 actual repeat purchases (see cdnow_summary.rs), by bin.
    assert_eq!(v["holdout"]["actual_total"], 1882.0);
    let expected = v["holdout"]["expected_total"].as_f64().unwrap();
    assert!(expected > 1500.0 && expected < 1900.0, "{expected}");
    assert_eq!(v["holdout"]["bins"].as_array().unwrap().len(), 8);
}

#[test]
fn fit_summary_tables_and_the_gamma_gamma_exclusions() {
    let (code, out, err) = patronage(&[
        "fit",
        "bg-bb",
        "datasets/cdnow/donations.csv",
        "--summary",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!((v["log_likelihood"].as_f64().unwrap() + 33225.58).abs() < 5e-3);
    assert_eq!(v["n_customers"], 11104.0);

    let (code, out, err) = patronage(&[
        "fit",
        "gamma-gamma",
        "datasets/cdnow/cdnow_customers_summary_with_transactions.csv",
        "--summary",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["n_customers"], 946.0);
    assert_eq!(v["excluded"]["no_repeat_purchase"], 1411.0);

    // On the master log: one customer's mean repeat spend is 0 (zero-value orders).
    let (code, out, err) = patronage(&["fit", "gamma-gamma", MASTER, "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["excluded"]["non_positive_spend"], 1.0);

    // Human-readable output has the coefficient table.
    let (code, out, _) = patronage(&[
        "fit",
        "pareto-nbd",
        "datasets/cdnow/cdnow_customers_summary.csv",
        "--summary",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("std error") && out.contains("beta"), "{out}");
}

#[test]
fn fit_errors_are_usage_or_data_errors() {
    let (code, _, err) = patronage(&["fit", "bg-nbx", MASTER]);
    assert_eq!(code, 2);
    assert!(err.contains("bg-nbx") && err.lines().count() == 1, "{err}");
    // A per-customer table without the needed columns names them.
    let (code, _, err) = patronage(&["fit", "bg-nbd", "datasets/cdnow/donations.csv", "--summary"]);
    assert_eq!(code, 1);
    assert!(err.contains("column `T or T_cal` not found"), "{err}");
    // bg-bb on fractional periods says what to do.
    let (code, _, err) = patronage(&["fit", "bg-bb", MASTER]);
    assert_eq!(code, 2);
    assert!(err.contains("--purchase-unit"), "{err}");
}

#[test]
fn clv_writes_the_contract_columns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clv.csv");
    let (code, _, err) = patronage(&[
        "clv",
        MASTER,
        "--margin",
        "0.3",
        "--discount-rate",
        "0.002",
        "-o",
        path.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("customer equity"), "{err}");
    // A margin was given: no revenue-CLV note.
    assert!(!err.contains("--margin"), "{err}");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "customer_id,frequency,recency,T,monetary_value,p_alive,expected_purchases,expected_spend,clv"
    );
    assert_eq!(lines.count(), 23_570);
    let (code, _, err) = patronage(&["clv", MASTER, "--model", "gamma-gamma"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = patronage(&["clv", MASTER, "--margin", "cost"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cost column"), "{err}");
    // Without a margin, CLV is revenue: the run says so and names the flag.
    let (code, _, err) = patronage(&["clv", MASTER, "-o", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("patronage: assumption: ") && err.contains("--margin"),
        "{err}"
    );
}

#[test]
fn simulate_writes_a_log_the_models_can_fit() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("sim.parquet");
    let truth = dir.path().join("truth.csv");
    let (code, _, err) = patronage(&[
        "simulate",
        "--customers",
        "3000",
        "--seed",
        "9",
        "--model",
        "pareto-nbd",
        "--truth",
        truth.to_str().unwrap(),
        "-o",
        log.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let header = std::fs::read_to_string(&truth).unwrap();
    assert!(
        header.starts_with(
            "customer_id,birth_week,lambda,p_dropout,nu,death_week,purchases,service_contacts"
        ),
        "{header}"
    );
    let (code, out, err) = patronage(&["fit", "pareto-nbd", log.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["n_customers"], 3000.0);
    let (code, out, err) = patronage(&["clv", log.to_str().unwrap(), "--margin", "cost"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 3001);
}

#[test]
fn segment_chooses_k_writes_labels_and_saves_a_model() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("seg.csv");
    let model = dir.path().join("seg.json");
    let (code, json, err) = patronage(&[
        "segment",
        MASTER,
        "--k-range",
        "2..4",
        "--json",
        "-o",
        out.to_str().unwrap(),
        "--save-model",
        model.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let k = v["chosen_k"].as_u64().unwrap();
    assert!((2..=4).contains(&k));
    assert_eq!(v["k_table"].as_array().unwrap().len(), 3);
    assert_eq!(v["silhouette_sample_size"], 10_000);
    assert_eq!(v["profiles"].as_array().unwrap().len() as u64, k);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.starts_with(
            "customer_id,segment,segment_label,recency_days,n_purchases,total_spend\n"
        )
    );
    assert_eq!(text.lines().count(), 23_571);
    let saved =
        patronage::segmentation::SegmentModel::from_json(&std::fs::read_to_string(&model).unwrap())
            .unwrap();
    assert_eq!(saved.k() as u64, k);
    // CLV features trigger a model fit; a fixed k; the Gaussian mixture.
    let (code, _, err) = patronage(&[
        "segment",
        MASTER,
        "--k",
        "3",
        "--features",
        "p_alive,clv,n_purchases",
        "--method",
        "gmm",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("3 segments"), "{err}");
    // Channel mix from the channel column.
    let (code, out, err) = patronage(&[
        "segment",
        "datasets/retail_sample.csv",
        "--k",
        "3",
        "--features",
        "recency_days,total_spend,channel_mix",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("customer_id,segment,segment_label,recency_days,total_spend,channel_share_phone,channel_share_store,channel_share_web\n"), "{}", &out[..120]);
    assert!(err.contains("-first"), "{err}");
    let (code, _, err) = patronage(&["segment", MASTER, "--features", "total_spend,channel_mix"]);
    assert_eq!(code, 1, "{err}");
    // Usage errors.
    let (code, _, err) = patronage(&["segment", MASTER, "--k-range", "5"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = patronage(&["segment", MASTER, "--features", "total_spend:cube"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = patronage(&["segment", MASTER, "--features", "no_such_column"]);
    assert_eq!(code, 1, "{err}");
}

#[test]
fn profitability_writes_the_contract_columns_and_figures() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.csv");
    let truth = dir.path().join("truth.csv");
    let out = dir.path().join("prof.csv");
    let costs = dir.path().join("costs.toml");
    std::fs::write(
        &costs,
        "per_order = 3.0\nper_line = 0.5\nper_delivery = 4.0\nper_return = 7.5\nper_service_contact = 5.0\n[per_channel_order]\nphone = 4.0\n",
    )
    .unwrap();
    let (code, _, err) = patronage(&[
        "simulate",
        "--customers",
        "2000",
        "--seed",
        "4",
        "--truth",
        truth.to_str().unwrap(),
        "-o",
        log.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, json, err) = patronage(&[
        "profitability",
        log.to_str().unwrap(),
        "--costs",
        costs.to_str().unwrap(),
        "--activity",
        truth.to_str().unwrap(),
        "--split",
        "q75",
        "--json",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["quadrants"].as_array().unwrap().len(), 4);
    // With 3.00 an order, 4.00 a delivery and 5.00 a service contact this base loses
    // money overall: the whale figures are null and say why.
    assert!(v["total_net_contribution"].as_f64().unwrap() < 0.0);
    assert!(v["peak_share"].is_null());
    assert!(
        v["whale_note"].as_str().unwrap().contains("non-positive"),
        "{json}"
    );
    // At 2.50 an order and no extra for phone orders it earns money, and every figure
    // is there.
    std::fs::write(
        &costs,
        "per_order = 2.5\nper_line = 0.5\nper_delivery = 4.0\nper_return = 7.5\nper_service_contact = 5.0\n",
    )
    .unwrap();
    let (code, json, err) = patronage(&[
        "profitability",
        log.to_str().unwrap(),
        "--costs",
        costs.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    for key in [
        "thresholds",
        "quadrants",
        "peak_share",
        "peak_customer_share",
        "top20_share",
        "gini",
    ] {
        assert!(!v[key].is_null(), "{key} missing in {json}");
    }
    assert!(v["peak_share"].as_f64().unwrap() >= 1.0);
    assert_eq!(v["grid"].as_array().unwrap().len(), 9);
    assert!(!v["by_rfm_segment"].as_array().unwrap().is_empty());
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("customer_id,revenue,cogs,returns,gross_profit,cost_to_serve,net_contribution,margin_pct,quadrant,"), "{}", &text[..200]);
    assert_eq!(text.lines().count(), 2001);
    // Usage errors: a bad split, a bad cost file, no cost column and no margin rate.
    let (code, _, _) = patronage(&["profitability", log.to_str().unwrap(), "--split", "half"]);
    assert_eq!(code, 2);
    std::fs::write(&costs, "per_order = -3.0\n").unwrap();
    let (code, _, err) = patronage(&[
        "profitability",
        log.to_str().unwrap(),
        "--costs",
        costs.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    // No rates: refused, naming the flag (the crate invents no costs).
    let (code, _, err) = patronage(&["profitability", MASTER]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--costs FILE"), "{err}");
    // Rates but no cost column and no margin rate.
    let rates = dir.path().join("rates.toml");
    std::fs::write(&rates, "per_order = 1.0\nper_delivery = 2.0\n").unwrap();
    let rates = rates.to_str().unwrap();
    let (code, _, err) = patronage(&["profitability", MASTER, "--costs", rates]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--margin-rate"), "{err}");
    // The flag `report` has: enough for data without costs.
    let (code, out, err) = patronage(&[
        "profitability",
        MASTER,
        "--costs",
        rates,
        "--margin-rate",
        "0.3",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 23_571);
}

#[test]
fn target_and_cohorts_commands() {
    let (code, json, err) = patronage(&[
        "target",
        MASTER,
        "--calibration-end",
        "1997-09-30",
        "--top",
        "500",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["selected"], 500);
    assert_eq!(v["holdout"]["deciles"].as_array().unwrap().len(), 10);
    let (code, out, err) = patronage(&["target", MASTER, "--by", "expected-purchases"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("customer_id,rank,score,clv,p_alive,expected_purchases,selected\n"));
    let (code, _, _) = patronage(&["target", MASTER, "--by", "vibes"]);
    assert_eq!(code, 2);
    let (code, out, err) = patronage(&["cohorts", MASTER, "--cohort", "month"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(
            "cohort,period,customers,active,retention,revenue\n1997-01,0,7846,7846,1.0,"
        ),
        "{out}"
    );
    let (code, _, _) = patronage(&["cohorts", MASTER, "--cohort", "year"]);
    assert_eq!(code, 2);
}

#[test]
fn report_on_cdnow_writes_every_file() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("report");
    let (code, _, err) = patronage(&[
        "report",
        MASTER,
        "--config",
        "datasets/cdnow/report.toml",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("23570 customers"), "{err}");
    // Not a terminal: no progress display, just the summary line.
    assert_eq!(err.lines().count(), 1, "{err}");
    for name in [
        "customers.parquet",
        "customers.csv",
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
        "whatif.svg",
    ] {
        let len = std::fs::metadata(out_dir.join(name))
            .unwrap_or_else(|_| panic!("{name} missing"))
            .len();
        assert!(len > 0, "{name} is empty");
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("report.json")).unwrap())
            .unwrap();
    // The model checks: the BG/NBD fitted on the 39 calibration weeks, with the holdout.
    assert_eq!(json["checks"]["converged"], true);
    assert!(json["checks"]["holdout"]["bins"].as_array().unwrap().len() >= 7);
    // Twelve charts and the retention what-if's ([whatif] retention = 5).
    assert_eq!(json["charts"].as_array().unwrap().len(), 13);
    assert_eq!(json["whatif"]["grouped_by"], "quadrant");
    // The customer-value views: 50 customers by CLV, the holdout gain's ten deciles.
    assert_eq!(json["top_customers"].as_array().unwrap().len(), 50);
    assert_eq!(
        json["holdout_gain"]["evaluation"]["deciles"]
            .as_array()
            .unwrap()
            .len(),
        10
    );
    assert_eq!(json["data"]["rows_used"], 69659);
    assert_eq!(json["configuration"]["clv"]["model"], "bg-nbd");

    // --quiet: nothing on stderr.
    let (code, _, err) = patronage(&[
        "report",
        MASTER,
        "--config",
        "datasets/cdnow/report.toml",
        "--out",
        out_dir.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(code, 0);
    assert!(err.is_empty(), "{err}");
}

#[test]
fn report_errors_name_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[clv]\nhorizon = 0\n").unwrap();
    let out = dir.path().join("r");
    let (code, _, err) = patronage(&[
        "report",
        MASTER,
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("clv.horizon"), "{err}");
    std::fs::write(&config, "[clv]\nhorizn = 3\n").unwrap();
    let (code, _, err) = patronage(&[
        "report",
        MASTER,
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("horizn"), "{err}");
    // No cost column and no margin rate: the report runs, profitability is skipped and
    // report.json says why.
    let (code, _, err) = patronage(&["report", MASTER, "--out", out.to_str().unwrap(), "--quiet"]);
    assert_eq!(code, 0, "{err}");
    let figures: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(figures["skipped_stages"][0]["stage"], "profitability");
    assert!(!out.join("matrix.csv").exists() || figures["profitability"].is_null());
    // --margin-rate is enough for data without costs.
    let (code, _, err) = patronage(&[
        "report",
        MASTER,
        "--margin-rate",
        "0.3",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.join("report.html").exists());
}

#[test]
fn a_reader_that_stops_early_ends_the_run_quietly() {
    use std::io::Read;
    use std::process::Stdio;
    // `patronage summary FILE | head -c 100`: the reader closes the pipe after the first
    // bytes, while the CSV of 23,570 customers is still being written.
    let mut child = Command::new(env!("CARGO_BIN_EXE_patronage"))
        .args(["summary", "datasets/cdnow/CDNOW_master.txt"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0_u8; 100];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The pipe's read end is dropped here.
    let out = child.wait_with_output().unwrap();
    // The one-line cleaning report may be there; no error and no panic.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("error") && !stderr.contains("panicked"),
        "stderr: {stderr}"
    );
    // Ended by SIGPIPE (as `cat` or `grep` would be), or done before it noticed: never
    // the data-error exit 1 or a panic's 101.
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert!(
            out.status.signal() == Some(13) || out.status.success(),
            "{:?}",
            out.status
        );
    }
    assert!(String::from_utf8_lossy(&first).starts_with("customer_id"));
}

#[test]
fn rfm_with_four_bins_uses_the_rfm_table_on_quartiles() {
    // The default rule table is written for quintiles; it follows the bins (it refused
    // any other bin count before).
    let (code, out, err) = patronage(&["rfm", MASTER, "--whitespace", "--bins", "4"]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Vec<&str>> = out
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 23_570);
    let r_scores: std::collections::BTreeSet<&str> = rows.iter().map(|r| r[4]).collect();
    assert_eq!(
        r_scores.into_iter().collect::<Vec<_>>(),
        ["1", "2", "3", "4"]
    );
    // Top quartile on all three scores: the table's best segment.
    let top = rows
        .iter()
        .find(|r| r[4] == "4" && r[5] == "4" && r[6] == "4")
        .unwrap();
    assert_eq!(top[8], "Champions");
}

#[test]
fn commands_reject_rows_only_for_the_columns_they_read() {
    // Row 3's cost does not parse: `rfm` does not read the cost and uses the row;
    // `summary` reads it (for gross_profit) and rejects the row, naming the column.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.csv");
    std::fs::write(
        &log,
        "customer_id,date,amount,cost,channel\n\
         a,2024-01-01,10,4,web\n\
         a,2024-01-15,20,8,web\n\
         a,2024-02-05,30,n/a,store\n\
         b,2024-01-10,7,3,web\n",
    )
    .unwrap();
    let end = ["--observation-end", "2024-03-04"];
    let (code, _, err) = patronage(&[&["rfm", log.to_str().unwrap()][..], &end].concat());
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("4 rows read, 4 used"), "{err}");
    let rejects = dir.path().join("rejects.csv");
    let (code, _, err) = patronage(
        &[
            &[
                "summary",
                log.to_str().unwrap(),
                "--rejects",
                rejects.to_str().unwrap(),
            ][..],
            &end,
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("4 rows read, 3 used"), "{err}");
    let text = std::fs::read_to_string(&rejects).unwrap();
    assert!(
        text.lines().nth(1).unwrap().starts_with("3,cost,"),
        "{text}"
    );
}
