//! `patronage fit … --covariates FILE --covariate-cols …` (issue #18): the command's JSON
//! equals the covariate stage's, and a customer without covariates is a data error
//! naming the column and the customer.

use std::io::Write;

use patronage::prelude::*;
use patronage::stages::covariates::{CovariateTable, fit_covariates};
use patronage::stages::fit::ModelKind;

use crate::cli::patronage;
use crate::cli_stages::retail;

const RETAIL: &str = "datasets/retail_sample.csv";

/// A covariate file for the retail sample's customers: `half` (0/1 by position) and
/// `tier` (text, three levels); `skip` customers left out.
fn covariate_file(dir: &std::path::Path, skip: usize) -> std::path::PathBuf {
    let s = retail().summary(&SummaryOptions::weekly()).unwrap();
    let path = dir.join("covariates.csv");
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(f, "customer_id,half,tier").unwrap();
    let ids = s.customer_ids().unwrap();
    for (i, id) in ids.iter().enumerate().skip(skip) {
        let tier = ["gold", "silver", "silver", "bronze"][i % 4];
        writeln!(f, "{id},{},{tier}", (i * 2 / ids.len())).unwrap();
    }
    path
}

#[test]
fn covariate_fit_command_equals_the_covariate_stage() {
    let dir = tempfile::tempdir().unwrap();
    let path = covariate_file(dir.path(), 0);
    let file = path.to_str().unwrap();
    let (code, out, err) = patronage(&[
        "fit",
        "bg-nbd",
        RETAIL,
        "--covariates",
        file,
        "--covariate-cols",
        "half",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let s = retail().summary(&SummaryOptions::weekly()).unwrap();
    let table = CovariateTable::read(&path, &["half".into()]).unwrap();
    let want = fit_covariates(ModelKind::BgNbd, &s, &table, &Default::default()).unwrap();
    let json = want.to_json();
    assert_eq!(out, serde_json::to_string_pretty(&json).unwrap() + "\n");
    for name in ["r", "purchase.half", "dropout_a.half", "dropout_b.half"] {
        assert!(json["params"][name].is_number() && json["standard_errors"][name].is_number());
    }
    assert_eq!(json["likelihood_ratio"]["df"], 3);
    // A text column: dummies against the most frequent level, stated.
    let table = CovariateTable::read(&path, &["tier".into()]).unwrap();
    let out = fit_covariates(ModelKind::BgNbd, &s, &table, &Default::default()).unwrap();
    let json = out.to_json();
    assert_eq!(json["covariates"]["base_levels"]["tier"], "silver");
    assert!(json["params"]["purchase.tier=gold"].is_number());
}

#[test]
fn covariate_pareto_nbd_command_prints_purchase_and_dropout_coefficients() {
    // A simulated Pareto/NBD log (the retail sample has no finite plain Pareto/NBD
    // maximum) and a 0/1 covariate by customer.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("sim.parquet");
    let (code, _, err) = patronage(&[
        "simulate",
        "--customers",
        "3000",
        "--seed",
        "9",
        "--model",
        "pareto-nbd",
        "-o",
        log.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let path = dir.path().join("covariates.csv");
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(f, "customer_id,half").unwrap();
    for c in 0..=3000u32 {
        writeln!(f, "{},{}", patronage::simulate::customer_id(c), c % 2).unwrap();
    }
    drop(f);
    let (code, out, err) = patronage(&[
        "fit",
        "pareto-nbd",
        log.to_str().unwrap(),
        "--covariates",
        path.to_str().unwrap(),
        "--covariate-cols",
        "half",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["model"], "pareto-nbd");
    let mut want = vec!["r", "alpha", "s", "beta", "purchase.half", "dropout.half"];
    want.sort_unstable();
    for key in ["params", "standard_errors"] {
        let mut got: Vec<&str> = json[key]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        got.sort_unstable();
        assert_eq!(got, want, "{key}");
        for name in &want {
            assert!(json[key][name].is_number(), "{key}.{name}");
        }
    }
    assert!(json["standard_errors"]["dropout.half"].as_f64().unwrap() > 0.0);
    let lr = &json["likelihood_ratio"];
    assert_eq!(lr["df"], 2);
    assert!(lr["statistic"].as_f64().unwrap() >= 0.0);
    let p = lr["p_value"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&p));
    assert_eq!(json["n_customers"], 3000.0);
    assert!(json["without_covariates"]["params"]["beta"].is_number());
}

#[test]
fn covariate_fit_command_names_the_customer_without_covariates() {
    let dir = tempfile::tempdir().unwrap();
    let path = covariate_file(dir.path(), 1);
    let file = path.to_str().unwrap();
    let (code, _, err) = patronage(&[
        "fit",
        "bg-nbd",
        RETAIL,
        "--covariates",
        file,
        "--covariate-cols",
        "half",
    ]);
    assert_eq!(code, 1, "{err}");
    let first = retail()
        .summary(&SummaryOptions::weekly())
        .unwrap()
        .customer_ids()
        .unwrap()[0]
        .clone();
    assert!(err.contains("`half`") && err.contains(&first), "{err}");
    // Covariates on a model without them is a usage error.
    let (code, _, err) = patronage(&[
        "fit",
        "mbg-nbd",
        RETAIL,
        "--covariates",
        file,
        "--covariate-cols",
        "half",
    ]);
    assert_eq!(code, 2, "{err}");
}
