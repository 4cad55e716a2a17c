//! Covariates on the CLV stage, `patronage clv` and the report (issue #18): the command
//! equals the stage (and is the same on one and on two threads), every customer is scored
//! at their own parameters, report.json and the page carry the coefficients, and bad
//! settings are typed errors.

use std::io::Write;
use std::process::Command;

use patronage::clv::covariates::score::score;
use patronage::clv::value::CustomerInputs;
use patronage::pipeline::{Pipeline, PipelineConfig};
use patronage::prelude::*;
use patronage::stages::clv::{ClvSettings, FittedModels, ScoringPeriod, clv_table, clv_table_with};
use patronage::stages::covariates::{AnyCovariateFit, CovariateSettings, CovariateTable};
use patronage::stages::fit::ModelKind;

use crate::cli::patronage;
use crate::cli_stages::{assert_same, master, retail, summary_columns};

const MASTER: &str = "datasets/cdnow/CDNOW_master.txt";
const RETAIL: &str = "datasets/retail_sample.csv";

/// CDNOW's customers with their acquisition month (`jan`, `feb`, `mar`: text, so two
/// dummies against the most frequent month), ids written with their padding.
fn cdnow_cohorts(dir: &std::path::Path) -> std::path::PathBuf {
    let s = summary_columns(&master(), &SummaryOptions::weekly());
    let ids = s.customer_ids().unwrap();
    let first = s
        .frame()
        .column("first_purchase")
        .unwrap()
        .cast(&polars::prelude::DataType::String)
        .unwrap();
    let first = first.str().unwrap();
    let path = dir.join("cohorts.csv");
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(f, "customer_id,cohort").unwrap();
    for (id, day) in ids.iter().zip(first.iter()) {
        let month = match &day.unwrap()[5..7] {
            "01" => "jan",
            "02" => "feb",
            _ => "mar",
        };
        writeln!(f, "{id},{month}").unwrap();
    }
    path
}

/// The retail sample's customers with `half` (0/1 by position), `skip` of them left out.
fn retail_half(dir: &std::path::Path, skip: usize) -> std::path::PathBuf {
    let s = summary_columns(&retail(), &SummaryOptions::weekly());
    let ids = s.customer_ids().unwrap();
    let path = dir.join(format!("half{skip}.csv"));
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(f, "customer_id,half").unwrap();
    for (i, id) in ids.iter().enumerate().skip(skip) {
        writeln!(f, "{id},{}", i * 2 / ids.len()).unwrap();
    }
    path
}

fn with_covariates(path: &std::path::Path, cols: &[&str]) -> ClvSettings {
    let cols: Vec<String> = cols.iter().map(|c| c.to_string()).collect();
    ClvSettings {
        covariates: Some(CovariateSettings::from_table(
            CovariateTable::read(path, &cols).unwrap(),
        )),
        ..ClvSettings::default()
    }
}

fn patronage_threads(threads: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_patronage"))
        .args(args)
        .env("RAYON_NUM_THREADS", threads)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// On CDNOW (zero-padded ids in the log and the covariate file) `patronage clv
/// --covariates` prints the stage's JSON and writes its table, bit for bit, on one and
/// on two threads; each customer's scores are their own parameters' scores.
#[test]
fn clv_with_covariates_command_equals_the_stage_on_one_and_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    let cov = cdnow_cohorts(dir.path());
    let settings = with_covariates(&cov, &["cohort"]);
    let s = summary_columns(&master(), &SummaryOptions::weekly());
    let want = clv_table(&s, &settings).unwrap();
    let json = want.to_json(&settings, ScoringPeriod::Full);
    let c = &json["covariates"];
    for name in [
        "purchase.cohort=jan",
        "dropout_a.cohort=mar",
        "dropout_b.cohort=jan",
    ] {
        assert!(c["purchase"]["params"][name].is_number(), "{name}");
        assert!(c["purchase"]["standard_errors"][name].as_f64().unwrap() > 0.0);
    }
    assert_eq!(c["purchase"]["covariates"]["base_levels"]["cohort"], "feb");
    assert_eq!(c["purchase"]["likelihood_ratio"]["df"], 6);
    assert!(c["spend"]["params"]["spend.cohort=jan"].is_number());
    assert_eq!(c["spend"]["likelihood_ratio"]["df"], 2);
    assert!(want.notes.is_empty(), "{:?}", want.notes);
    // `purchase` and `spend` are the plain fits on the same customers.
    assert_eq!(json["purchase"]["model"], "bg-nbd");
    assert_eq!(
        json["purchase"]["params"]["r"],
        c["purchase"]["without_covariates"]["params"]["r"]
    );

    let cov_path = cov.to_str().unwrap();
    let run = |threads: &str| {
        let out = dir.path().join(format!("clv{threads}.parquet"));
        let (code, stdout, err) = patronage_threads(
            threads,
            &[
                "clv",
                MASTER,
                "--whitespace",
                "--covariates",
                cov_path,
                "--covariate-cols",
                "cohort",
                "--json",
                "-o",
                out.to_str().unwrap(),
            ],
        );
        assert_eq!(code, 0, "{err}");
        assert!(
            err.contains("bg-nbd with covariates: purchase.cohort="),
            "{err}"
        );
        (patronage::io::read_table(&out).unwrap(), stdout)
    };
    let (one, one_json) = run("1");
    let (two, two_json) = run("2");
    assert_same(&one, &want.frame);
    assert_same(&two, &want.frame);
    let text = serde_json::to_string_pretty(&json).unwrap() + "\n";
    assert_eq!(one_json, text);
    assert_eq!(two_json, text);

    // Customer by customer, the scores are the plain models' at the customer's own
    // parameters (a March customer's are not a January customer's).
    let (AnyCovariateFit::BgNbd(bg), Some(AnyCovariateFit::GammaGamma(gg))) = (
        &want.covariates.as_ref().unwrap().purchase.model,
        want.covariates
            .as_ref()
            .unwrap()
            .spend
            .as_ref()
            .map(|s| &s.model),
    ) else {
        panic!("bg-nbd and gamma-gamma fits expected")
    };
    let table = CovariateTable::read(&cov, &["cohort".into()]).unwrap();
    let ids = s.customer_ids().unwrap();
    let design = table.design(&ids).unwrap();
    let col = |name: &str| -> Vec<f64> {
        crate::pipeline::column_f64(s.frame(), name)
            .into_iter()
            .map(Option::unwrap)
            .collect()
    };
    let (x, t_x, t, m) = (
        col("frequency"),
        col("recency"),
        col("T"),
        col("monetary_value"),
    );
    let input = CustomerInputs {
        x: &x,
        t_x: &t_x,
        t: &t,
        monetary: &m,
    };
    let scores = score(bg, Some(gg), &design.covariates, input, &Default::default()).unwrap();
    let clv = crate::pipeline::column_f64(&want.frame, "clv");
    for (i, v) in scores.clv.iter().enumerate() {
        assert_eq!(clv[i], Some(*v), "customer {}", ids[i]);
    }
    let plain = clv_table(&s, &ClvSettings::default()).unwrap();
    assert_ne!(plain.customer_equity, want.customer_equity);
}

/// Bad settings with covariates are typed errors naming the model, the setting, or the
/// column and the customer; the command exits 2 for the caller's mistakes and 1 for the
/// data's.
#[test]
fn clv_covariate_errors_are_typed() {
    let dir = tempfile::tempdir().unwrap();
    let s = summary_columns(&retail(), &SummaryOptions::weekly());
    let first = s.customer_ids().unwrap()[0].clone();
    let missing = retail_half(dir.path(), 1);
    let e = clv_table(&s, &with_covariates(&missing, &["half"])).unwrap_err();
    assert!(
        matches!(&e, Error::MissingCovariate { column, customer } if column == "half" && *customer == first),
        "{e:?}"
    );
    let full = retail_half(dir.path(), 0);
    let mbg = ClvSettings {
        model: ModelKind::MbgNbd,
        ..with_covariates(&full, &["half"])
    };
    let e = clv_table(&s, &mbg).unwrap_err();
    assert!(
        matches!(&e, Error::CovariatesUnsupported { model } if model == "mbg-nbd"),
        "{e:?}"
    );
    assert!(e.is_usage());
    let interval = ClvSettings {
        interval: Some(patronage::clv::interval::IntervalOptions::new(0.9)),
        ..with_covariates(&full, &["half"])
    };
    // Intervals with covariates are computed (tests/integration/intervals.rs), and
    // name the coefficients among the parameters.
    let out = clv_table(&s, &interval).unwrap();
    let iv = out.intervals.unwrap();
    assert!(iv.parameters.iter().any(|p| p.parameter == "purchase.half"));
    let plain = clv_table(&s, &ClvSettings::default()).unwrap();
    let models = FittedModels::new(plain.purchase.clone(), None).unwrap();
    let e = clv_table_with(
        &s,
        &with_covariates(&full, &["half"]),
        ScoringPeriod::Full,
        &models,
    )
    .unwrap_err();
    assert!(matches!(&e, Error::InvalidOption { option, .. } if option == "clv.covariates"));

    let args = |file: &std::path::Path, model: &'static str| {
        patronage(&[
            "clv",
            RETAIL,
            "--model",
            model,
            "--covariates",
            file.to_str().unwrap(),
            "--covariate-cols",
            "half",
        ])
    };
    let (code, _, err) = args(&missing, "bg-nbd");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&format!("`{first}`")), "{err}");
    let (code, _, err) = args(&full, "mbg-nbd");
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = args(&full, "auto");
    assert_eq!(code, 2, "{err}");
}

/// `[clv] covariates` in the pipeline: the CLV step is the stage's, report.json carries
/// the coefficients with standard errors, what a positive sign means and the
/// likelihood-ratio test, and `patronage report --covariates` gives the same; the keys'
/// errors name them.
#[test]
fn report_with_covariates_carries_the_coefficients() {
    let dir = tempfile::tempdir().unwrap();
    let cov = retail_half(dir.path(), 0);
    let text = format!(
        "[clv]\ncovariates = {:?}\ncovariate_cols = [\"half\"]\n",
        cov.to_str().unwrap()
    );
    let config = PipelineConfig::from_toml(&text).unwrap();
    assert_eq!(
        PipelineConfig::from_toml(&toml::to_string(&config).unwrap()).unwrap(),
        config
    );
    let p = Pipeline::builder()
        .config(config)
        .without_segmentation()
        .build()
        .unwrap();
    let out = p.run(&p.scan(RETAIL).unwrap()).unwrap();
    let s = summary_columns(&retail(), &SummaryOptions::weekly());
    let want = clv_table(&s, &with_covariates(&cov, &["half"])).unwrap();
    let clv = out.clv.as_ref().unwrap();
    assert!(clv.frame.equals_missing(&want.frame));
    assert_eq!(clv.covariates, want.covariates);
    let f = patronage::report::figures(&out);
    let rows = f["clv"]["covariates"]["coefficients"].as_array().unwrap();
    let names: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{}.{}",
                r["process"].as_str().unwrap(),
                r["covariate"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        names[..3],
        ["purchase.half", "dropout_a.half", "dropout_b.half"]
    );
    assert_eq!(rows[0]["positive_means"], "buys more often");
    assert!(rows[0]["standard_error"].as_f64().unwrap() > 0.0);
    assert_eq!(
        f["clv"]["covariates"]["purchase"]["likelihood_ratio"]["df"],
        3
    );

    let report = dir.path().join("report");
    let (code, _, err) = patronage(&[
        "report",
        RETAIL,
        "--covariates",
        cov.to_str().unwrap(),
        "--covariate-cols",
        "half",
        "--out",
        report.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("report.json")).unwrap())
            .unwrap();
    let got = &json["clv"]["covariates"];
    assert_eq!(got["coefficients"][0]["estimate"], rows[0]["estimate"]);
    let html = std::fs::read_to_string(report.join("report.html")).unwrap();
    assert!(html.contains("id=\"covariates\"") && html.contains("purchase.half"));

    // Settings: each key needs the other, `auto` and other models are refused.
    for (toml_text, option) in [
        ("[clv]\ncovariate_cols = [\"half\"]\n", "clv.covariate_cols"),
        (
            &format!("[clv]\ncovariates = {:?}\n", cov.to_str().unwrap()),
            "clv.covariate_cols",
        ),
        (&format!("{text}model = \"auto\"\n"), "clv.model"),
    ] {
        let c = PipelineConfig::from_toml(toml_text).unwrap();
        let e = Pipeline::builder().config(c).build().unwrap_err();
        assert!(
            matches!(&e, Error::InvalidOption { option: o, .. } if o == option),
            "{toml_text}: {e:?}"
        );
    }
    let c = PipelineConfig::from_toml(&format!("{text}model = \"mbg-nbd\"\n")).unwrap();
    let e = Pipeline::builder().config(c).build().unwrap_err();
    assert!(matches!(&e, Error::CovariatesUnsupported { model } if model == "mbg-nbd"));
}
