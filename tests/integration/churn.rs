//! Contractual churn (the sBG model): the survival-table reader's typed errors, the
//! published fits through the stage, `patronage fit sbg --survival` against the stage,
//! and the cohorts of a subscription log (counted by hand; parameters recovered from a
//! simulated log; `patronage fit sbg LOG --cohort month` against the stage), and the
//! discounted expected residual lifetime and value by renewal count (CLI, JSON and
//! report).

use std::io::Write;

use patronage::Error;
use patronage::clv::sbg::SurvivalData;
use patronage::prelude::*;
use patronage::stages::churn::{Discounting, fit_survival, read_survival, survival_from_summary};

use crate::cli::patronage;

const HIGH_END: &str = "datasets/sbg/high_end.csv";
const REGULAR: &str = "datasets/sbg/regular.csv";

fn table(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

fn read(text: &str) -> patronage::Result<SurvivalData> {
    let f = table(text);
    read_survival(f.path())
}

/// Fader & Hardie (2007): alpha 0.668, beta 3.806 (high end) and 0.704, 1.182 (regular).
#[test]
fn survival_files_give_the_published_fits() {
    for (path, alpha, beta) in [(HIGH_END, 0.668, 3.806), (REGULAR, 0.704, 1.182)] {
        let out = fit_survival(&read_survival(path).unwrap(), &Default::default()).unwrap();
        assert!((out.model.alpha() - alpha).abs() < 5e-4, "{path}");
        assert!((out.model.beta() - beta).abs() < 5e-4, "{path}");
    }
}

#[test]
fn bad_survival_tables_are_typed_errors_naming_row_and_column() {
    let bad_row = |text: &str| match read(text) {
        Err(Error::BadRow { row, column, .. }) => (row, column),
        other => panic!("{text:?}: expected BadRow, got {other:?}"),
    };
    // increasing counts
    assert_eq!(
        bad_row("period,customers\n0,100\n1,80\n2,90\n"),
        (3, "customers".into())
    );
    // non-integer
    assert_eq!(
        bad_row("period,customers\n0,100\n1,80.5\n"),
        (2, "customers".into())
    );
    // negative
    assert_eq!(
        bad_row("period,customers\n0,100\n1,-3\n"),
        (2, "customers".into())
    );
    // missing period 0
    assert_eq!(
        bad_row("period,customers\n1,100\n2,80\n"),
        (1, "period".into())
    );
    // a gap
    assert_eq!(
        bad_row("period,customers\n0,100\n1,80\n3,70\n"),
        (3, "period".into())
    );
    // an empty cell
    assert_eq!(
        bad_row("period,customers\n0,100\n1,\n"),
        (2, "customers".into())
    );
    // empty: header only, or period 0 alone
    assert!(matches!(
        read("period,customers\n"),
        Err(Error::EmptyTable { .. })
    ));
    assert!(matches!(
        read("period,customers\n0,100\n"),
        Err(Error::EmptyTable { .. })
    ));
    // a column missing, or text in a number column
    assert!(matches!(
        read("period,active\n0,100\n1,80\n"),
        Err(Error::MissingColumn { ref column, .. }) if column == "customers"
    ));
    assert!(matches!(
        read("period,customers\n0,100\n1,eighty\n"),
        Err(Error::WrongType { ref column, .. }) if column == "customers"
    ));
}

#[test]
fn cli_fit_sbg_json_equals_the_stage() {
    let (code, out, err) = patronage(&["fit", "sbg", "--survival", REGULAR, "--json"]);
    assert_eq!(code, 0, "{err}");
    let cli: serde_json::Value = serde_json::from_str(&out).unwrap();
    let stage = fit_survival(&read_survival(REGULAR).unwrap(), &Default::default())
        .unwrap()
        .with_residual_lifetimes(Discounting::default())
        .unwrap()
        .to_json();
    assert_eq!(cli, stage);
    for key in ["standard_errors", "log_likelihood", "converged"] {
        assert!(cli.get(key).is_some(), "{key}");
    }
    assert!(cli["params"]["alpha"].is_number() && cli["params"]["beta"].is_number());
}

#[test]
fn cli_fit_sbg_refuses_what_does_not_fit() {
    // a bad table: a data error (exit 1; the library test above checks its row and column)
    let f = table("period,customers\n0,100\n1,120\n");
    let (code, _, err) = patronage(&["fit", "sbg", "--survival", f.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    // sbg with transactions, or --survival with another model: usage errors (exit 2)
    let (code, _, _) = patronage(&[
        "fit",
        "sbg",
        "datasets/retail_sample.csv",
        "--survival",
        REGULAR,
    ]);
    assert_eq!(code, 2);
    let (code, _, _) = patronage(&["fit", "bg-nbd", "--survival", REGULAR]);
    assert_eq!(code, 2);
}

/// A log's summary with the given observation end.
fn log_summary(csv: &str, end: &str) -> Summary {
    let f = table(csv);
    let tx = Transactions::scan(f.path(), TransactionSchema::default()).unwrap();
    tx.summary(&SummaryOptions::weekly().observation_end(end))
        .unwrap()
}

const SMALL_LOG: &str = "customer_id,date,amount\n\
    a,2024-01-05,10\na,2024-02-05,10\na,2024-03-05,10\n\
    b,2024-01-20,10\n\
    c,2024-02-10,10\nc,2024-04-10,10\n\
    d,2024-04-02,10\n\
    e,2024-05-03,10\n";

/// By hand: the last complete month before 2024-05-15 is April. January's cohort (a,
/// b) is observed for three renewals: a pays through March, b never renews; February's
/// (c) stays through April despite the gap in March; April's (d) has no renewal yet;
/// e, acquired in May, is left out.
#[test]
fn a_subscription_logs_cohorts_are_counted_by_hand() {
    let s =
        survival_from_summary(&log_summary(SMALL_LOG, "2024-05-15"), CohortPeriod::Month).unwrap();
    assert_eq!(s.labels, ["2024-01", "2024-02", "2024-04"]);
    assert_eq!(s.through, "2024-04");
    assert_eq!(s.left_out, 1);
    let cohorts: Vec<Vec<f64>> = vec![vec![2.0, 1.0, 1.0, 0.0], vec![1.0, 1.0, 1.0], vec![1.0]];
    assert_eq!(s.data.cohorts(), cohorts);
    // On the last day of May, May is complete: e joins as its own cohort, and a month
    // more of every cohort is observed.
    let s =
        survival_from_summary(&log_summary(SMALL_LOG, "2024-05-31"), CohortPeriod::Month).unwrap();
    assert_eq!(s.through, "2024-05");
    assert_eq!(s.left_out, 0);
    assert_eq!(s.data.cohorts()[1], [1.0, 1.0, 1.0, 0.0]);
    assert_eq!(s.data.cohorts().len(), 4);
}

#[test]
fn a_log_without_a_renewal_to_observe_is_an_empty_table() {
    // Everyone acquired in the last complete month, or after it.
    let log = "customer_id,date,amount\na,2024-04-03,10\nb,2024-05-02,10\n";
    let e =
        survival_from_summary(&log_summary(log, "2024-05-10"), CohortPeriod::Month).unwrap_err();
    assert!(matches!(e, Error::EmptyTable { .. }), "{e:?}");
    // Weeks: both acquired after the last complete week (to Sunday 2024-04-28).
    let log = "customer_id,date,amount\na,2024-04-30,10\nb,2024-05-02,10\n";
    let e = survival_from_summary(&log_summary(log, "2024-05-02"), CohortPeriod::Week).unwrap_err();
    assert!(matches!(e, Error::EmptyTable { .. }), "{e:?}");
}

/// A monthly subscription log from known parameters: 12 monthly cohorts of 400, each
/// customer paying on the same day every month until a churn drawn with probability
/// theta ~ Beta(0.9, 2.4), observed to the end of December 2023.
fn simulated_log(truth: [f64; 2]) -> String {
    use rand::{Rng, SeedableRng};
    use rand_distr::{Beta, Distribution};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let theta = Beta::new(truth[0], truth[1]).unwrap();
    let mut csv = String::from("customer_id,date,amount\n");
    let mut id = 0;
    for month in 1..=12u32 {
        for _ in 0..400 {
            id += 1;
            let day = rng.random_range(1..=28u32);
            let p: f64 = theta.sample(&mut rng);
            let mut m = month;
            loop {
                csv.push_str(&format!("s{id},2023-{m:02}-{day:02},20\n"));
                m += 1;
                if m > 12 || rng.random::<f64>() < p {
                    break;
                }
            }
        }
    }
    csv
}

#[test]
fn a_simulated_subscription_log_gives_back_its_parameters() {
    let truth = [0.9, 2.4];
    let f = table(&simulated_log(truth));
    let path = f.path().to_str().unwrap();
    let (code, out, err) = patronage(&[
        "fit",
        "sbg",
        path,
        "--cohort",
        "month",
        "--observation-end",
        "2023-12-31",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let cli: serde_json::Value = serde_json::from_str(&out).unwrap();
    let s = survival_from_summary(
        &log_summary(&simulated_log(truth), "2023-12-31"),
        CohortPeriod::Month,
    )
    .unwrap();
    let stage = fit_survival(&s.data, &Default::default())
        .unwrap()
        .with_residual_lifetimes(Discounting::of_cohorts(0.1, CohortPeriod::Month).unwrap())
        .unwrap()
        .with_payment_per_period(s.payment_per_period)
        .unwrap();
    let mut expected = stage.to_json();
    expected["cohort_labels"] = serde_json::json!(s.labels);
    expected["observed_through"] = serde_json::json!("2023-12");
    expected["left_out"] = serde_json::json!(0);
    assert_eq!(cli, expected);
    assert_eq!(cli["cohorts"], 12);
    let se = &stage.model.report().unwrap().standard_errors;
    for (j, name) in ["alpha", "beta"].iter().enumerate() {
        let estimate = cli["params"][name].as_f64().unwrap();
        assert!(
            (estimate - truth[j]).abs() < 2.0 * se[j],
            "{name}: {estimate} (se {}) vs {}",
            se[j],
            truth[j]
        );
    }
}

#[test]
fn cli_fit_sbg_on_a_log_refuses_mixed_sources() {
    let f = table(SMALL_LOG);
    let log = f.path().to_str().unwrap();
    // a log and a survival table at once; --cohort with another model; a bad period
    for args in [
        vec!["fit", "sbg", log, "--survival", REGULAR],
        vec!["fit", "sbg", "--survival", REGULAR, "--cohort", "month"],
        vec!["fit", "bg-nbd", log, "--cohort", "month"],
        vec!["fit", "sbg", log, "--cohort", "fortnight"],
    ] {
        let (code, _, err) = patronage(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
    }
}

/// The pipeline with `[cohorts] contractual`: its fit is the stage's on its own summary;
/// the report writes `churn`, the chart and the table, and leaves them out without the
/// flag.
#[test]
fn a_contractual_report_fits_the_cohorts() {
    use patronage::pipeline::{Pipeline, PipelineConfig};
    let truth = [0.9, 2.4];
    let f = table(&simulated_log(truth));
    let mut config = PipelineConfig::default();
    config.cohorts.contractual = true;
    config.time = SummaryOptions::weekly().observation_end("2023-12-31");
    let p = Pipeline::builder()
        .config(config)
        .without_segmentation()
        .without_profitability()
        .build()
        .unwrap();
    let out = p.run(&p.scan(f.path()).unwrap()).unwrap();
    let stage = patronage::stages::churn::contractual_churn(
        &out.summary,
        CohortPeriod::Month,
        0.1,
        &Default::default(),
    )
    .unwrap();
    assert_eq!(out.churn.as_ref(), Some(&stage));

    let dir = tempfile::tempdir().unwrap();
    let path = f.path().to_str().unwrap();
    let run = |extra: &[&str], out: &std::path::Path| {
        let mut args = vec![
            "report",
            path,
            "--observation-end",
            "2023-12-31",
            "--quiet",
            "--out",
        ];
        args.push(out.to_str().unwrap());
        args.extend_from_slice(extra);
        let (code, _, err) = patronage(&args);
        assert_eq!(code, 0, "{err}");
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap())
                .unwrap();
        let page = std::fs::read_to_string(out.join("report.html")).unwrap();
        (json, page)
    };
    let (json, page) = run(&["--contractual"], &dir.path().join("with"));
    assert_eq!(json["churn"]["cohorts"], 12);
    assert_eq!(json["churn"]["observed_through"], "2023-12");
    assert!(
        json["charts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "contractual_survival")
    );
    assert!(page.contains("id=\"contractual\"") && page.contains("id=\"contractual_survival\""));
    let (json, page) = run(&[], &dir.path().join("without"));
    assert!(json.get("churn").is_none());
    assert!(!page.contains("id=\"contractual\""));
}

/// A contractual log whose cohorts cannot support a fit: the report runs, and says why
/// the section is missing.
#[test]
fn a_contractual_report_without_renewals_says_why() {
    let f = table("customer_id,date,amount\na,2024-04-03,10\nb,2024-04-20,12\na,2024-04-25,10\n");
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = patronage(&[
        "report",
        f.path().to_str().unwrap(),
        "--contractual",
        "--observation-end",
        "2024-05-10",
        "--quiet",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert!(json.get("churn").is_none());
    let skipped = json["skipped_stages"].as_array().unwrap();
    assert!(
        skipped.iter().any(|s| s["stage"] == "cohorts"),
        "{skipped:?}"
    );
}

/// Nobody renews (single-purchase customers, one with a return): no finite maximum, a
/// typed error from the stage, a data error from the CLI, and the report skips the
/// section with the reason.
#[test]
fn a_log_where_nobody_renews_has_no_fit() {
    let log = "customer_id,date,amount\na,2024-01-03,10\nb,2024-01-20,12\nb,2024-01-25,-12\nc,2024-02-05,10\n";
    let s = survival_from_summary(&log_summary(log, "2024-05-31"), CohortPeriod::Month).unwrap();
    assert_eq!(s.data.active()[1], 0.0);
    let e = fit_survival(&s.data, &Default::default()).unwrap_err();
    assert!(
        matches!(e, Error::Model { ref model, .. } if model == "sbg"),
        "{e:?}"
    );
    let e = fit_survival(
        &SurvivalData::from_counts(&[40, 0, 0]).unwrap(),
        &Default::default(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::Model { .. }), "{e:?}");
    let f = table(log);
    let path = f.path().to_str().unwrap();
    let (code, _, err) = patronage(&["fit", "sbg", path, "--observation-end", "2024-05-31"]);
    assert_eq!(code, 1, "{err}");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let (code, _, err) = patronage(&[
        "report",
        path,
        "--contractual",
        "--observation-end",
        "2024-05-31",
        "--quiet",
        "--out",
        out,
    ]);
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert!(json.get("churn").is_none());
    assert!(
        json["skipped_stages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["stage"] == "cohorts")
    );
}

/// DERL by renewal count: the discounted sum of the conditional survival series at the
/// rate per period the annual rate gives; what the CLI prints for a table (with its
/// periods per year) and for a log (months), and what the report shows.
#[test]
fn residual_lifetimes_follow_the_discounting() {
    let data = read_survival(HIGH_END).unwrap();
    let d = Discounting::new(0.2, 12.0).unwrap();
    assert!(((1.0 + d.per_period()).powi(12) - 1.2).abs() < 1e-12);
    let out = fit_survival(&data, &Default::default())
        .unwrap()
        .with_residual_lifetimes(d)
        .unwrap();
    let r = out.residual.as_ref().unwrap();
    assert_eq!(r.by_renewals.len(), data.last_period() + 1);
    let m = &out.model;
    for (k, &derl) in r.by_renewals.iter().enumerate() {
        // The customer has made k renewals: alive at period k; the sum starts with the
        // renewal about to be decided (period k + 1), undiscounted.
        let at = m.survival(k as u32);
        let direct: f64 = (k as u32 + 1..20_000)
            .map(|t| m.survival(t) / at / (1.0 + d.per_period()).powi((t - k as u32 - 1) as i32))
            .sum();
        assert!(
            (derl - direct).abs() < 1e-6 * direct,
            "k {k}: {derl} vs {direct}"
        );
    }
    assert!(r.by_renewals.windows(2).all(|w| w[1] > w[0]));

    // The CLI: --annual-discount-rate and --periods-per-year reach the JSON.
    let (code, out_text, err) = patronage(&[
        "fit",
        "sbg",
        "--survival",
        HIGH_END,
        "--annual-discount-rate",
        "0.2",
        "--periods-per-year",
        "12",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let cli: serde_json::Value = serde_json::from_str(&out_text).unwrap();
    assert_eq!(cli, out.to_json());
    assert_eq!(cli["residual_lifetime"]["annual_discount_rate"], 0.2);
    assert_eq!(cli["periods"][3]["derl"].as_f64(), Some(r.by_renewals[3]));
    // The text output has the column.
    let (code, text, err) = patronage(&["fit", "sbg", "--survival", HIGH_END]);
    assert_eq!(code, 0, "{err}");
    assert!(
        text.lines().any(|l| l.trim_end().ends_with("derl")),
        "{text}"
    );

    // A log: the cohort period sets the periods per year.
    let f = table(&simulated_log([0.9, 2.4]));
    let log = f.path().to_str().unwrap();
    let (code, out_text, err) = patronage(&[
        "fit",
        "sbg",
        log,
        "--observation-end",
        "2023-12-31",
        "--annual-discount-rate",
        "0.05",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let cli: serde_json::Value = serde_json::from_str(&out_text).unwrap();
    assert_eq!(cli["residual_lifetime"]["periods_per_year"], 12.0);
    assert_eq!(cli["residual_lifetime"]["annual_discount_rate"], 0.05);
    let stage = patronage::stages::churn::contractual_churn(
        &log_summary(&simulated_log([0.9, 2.4]), "2023-12-31"),
        CohortPeriod::Month,
        0.05,
        &Default::default(),
    )
    .unwrap();
    assert_eq!(cli, stage.to_json());

    // The report: the rate from the flag, the column on the page.
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = patronage(&[
        "report",
        log,
        "--contractual",
        "--annual-discount-rate",
        "0.05",
        "--observation-end",
        "2023-12-31",
        "--quiet",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(json["churn"]["residual_lifetime"], cli["residual_lifetime"]);
    assert_eq!(json["churn"]["periods"], cli["periods"]);
    let page = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(page.contains("residual lifetime (discounted months)"));
}

/// The residual value: each lifetime times the payment per period, the log's mean
/// payment per subscribed period (by hand on a log with a gap and a late customer) or
/// the one given on the command line; bad payments are typed errors.
#[test]
fn residual_values_are_the_lifetimes_at_the_payment_per_period() {
    // a: 30 over Jan-Mar; b: 10 over Jan; c: 20 over Feb-Apr (a gap is not a churn);
    // d: 10 over Apr; e, acquired in May after the last complete month, is left out.
    let s =
        survival_from_summary(&log_summary(SMALL_LOG, "2024-05-20"), CohortPeriod::Month).unwrap();
    assert_eq!(s.left_out, 1);
    assert_eq!(s.payment_per_period, 70.0 / 8.0);

    let f = table(&simulated_log([0.9, 2.4]));
    let log = f.path().to_str().unwrap();
    let stage = patronage::stages::churn::contractual_churn(
        &log_summary(&simulated_log([0.9, 2.4]), "2023-12-31"),
        CohortPeriod::Month,
        0.1,
        &Default::default(),
    )
    .unwrap();
    // Every simulated payment is 20, one a month.
    assert!((stage.survival.payment_per_period - 20.0).abs() < 1e-12);
    let r = stage.fit.residual.as_ref().unwrap();
    assert_eq!(
        r.payment_per_period,
        Some(stage.survival.payment_per_period)
    );
    let json = stage.to_json();
    for (k, derl) in r.by_renewals.iter().enumerate() {
        let v = json["periods"][k]["residual_value"].as_f64().unwrap();
        assert!((v - derl * stage.survival.payment_per_period).abs() < 1e-9);
    }
    // --payment-per-period overrides the log's mean, and values a survival table.
    let (code, out_text, err) = patronage(&[
        "fit",
        "sbg",
        log,
        "--observation-end",
        "2023-12-31",
        "--payment-per-period",
        "35",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let cli: serde_json::Value = serde_json::from_str(&out_text).unwrap();
    assert_eq!(cli["residual_lifetime"]["payment_per_period"], 35.0);
    assert_eq!(
        cli["periods"][2]["residual_value"].as_f64(),
        Some(35.0 * r.by_renewals[2])
    );
    let table_fit = fit_survival(&read_survival(HIGH_END).unwrap(), &Default::default())
        .unwrap()
        .with_residual_lifetimes(Discounting::default())
        .unwrap();
    assert!(
        table_fit.to_json()["periods"][0]
            .get("residual_value")
            .is_none()
    );
    let (code, out_text, err) = patronage(&[
        "fit",
        "sbg",
        "--survival",
        HIGH_END,
        "--payment-per-period",
        "100",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let cli: serde_json::Value = serde_json::from_str(&out_text).unwrap();
    assert_eq!(
        cli,
        table_fit
            .clone()
            .with_payment_per_period(100.0)
            .unwrap()
            .to_json()
    );
    let (code, text, err) = patronage(&[
        "fit",
        "sbg",
        "--survival",
        HIGH_END,
        "--payment-per-period",
        "100",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        text.lines().any(|l| l.trim_end().ends_with("value")),
        "{text}"
    );

    // The report's contractual table has the value column at the log's payment.
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = patronage(&[
        "report",
        log,
        "--contractual",
        "--observation-end",
        "2023-12-31",
        "--quiet",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["churn"]["periods"], json["periods"]);
    let page = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(page.contains("residual value (discounted)"));

    // Bad payments: typed, and usage errors on the command line.
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            table_fit.clone().with_payment_per_period(bad),
            Err(Error::InvalidOption { option, .. }) if option == "payment_per_period"
        ));
    }
    let plain = fit_survival(&read_survival(HIGH_END).unwrap(), &Default::default()).unwrap();
    assert!(matches!(
        plain.with_payment_per_period(10.0),
        Err(Error::InvalidOption { option, .. }) if option == "payment_per_period"
    ));
    for args in [
        &[
            "fit",
            "sbg",
            "--survival",
            HIGH_END,
            "--payment-per-period",
            "-5",
        ][..],
        &["fit", "bg-nbd", log, "--payment-per-period", "5"],
    ] {
        let (code, _, err) = patronage(args);
        assert_eq!(code, 2, "{args:?}: {err}");
    }
}

/// A discount rate that is not positive and finite, periods per year with a log, the
/// sbg options on another model, and the report's rate without the contractual section:
/// typed errors naming the option (the library) and usage errors (the CLI, exit 2).
#[test]
fn bad_discounting_is_refused() {
    for (rate, per_year, option) in [
        (0.0, 1.0, "cohorts.annual_discount_rate"),
        (-0.1, 1.0, "cohorts.annual_discount_rate"),
        (f64::NAN, 1.0, "cohorts.annual_discount_rate"),
        (f64::INFINITY, 1.0, "cohorts.annual_discount_rate"),
        (0.1, 0.0, "periods_per_year"),
        (0.1, f64::NAN, "periods_per_year"),
    ] {
        let e = Discounting::new(rate, per_year).unwrap_err();
        assert!(
            matches!(e, Error::InvalidOption { option: ref o, .. } if o == option),
            "{rate} {per_year}: {e:?}"
        );
    }
    let e = patronage::stages::churn::contractual_churn(
        &log_summary(&simulated_log([0.9, 2.4]), "2023-12-31"),
        CohortPeriod::Month,
        0.0,
        &Default::default(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::InvalidOption { .. }), "{e:?}");
    let mut config = patronage::pipeline::PipelineConfig::default();
    config.cohorts.contractual = true;
    config.cohorts.annual_discount_rate = -1.0;
    let e = patronage::pipeline::Pipeline::builder()
        .config(config)
        .build()
        .unwrap_err();
    assert!(
        matches!(e, Error::InvalidOption { ref option, .. } if option == "cohorts.annual_discount_rate"),
        "{e:?}"
    );

    let f = table(SMALL_LOG);
    let log = f.path().to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    for args in [
        vec![
            "fit",
            "sbg",
            "--survival",
            REGULAR,
            "--annual-discount-rate",
            "0",
        ],
        vec![
            "fit",
            "sbg",
            "--survival",
            REGULAR,
            "--periods-per-year",
            "-3",
        ],
        vec!["fit", "sbg", log, "--periods-per-year", "12"],
        vec!["fit", "bg-nbd", log, "--annual-discount-rate", "0.1"],
        vec![
            "report",
            log,
            "--annual-discount-rate",
            "0.1",
            "--quiet",
            "--out",
            out,
        ],
    ] {
        let (code, _, err) = patronage(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
    }
}
