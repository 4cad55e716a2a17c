//! Covariates derived from the log (issue #18): `--derived-covariates` on `fit`, `clv`
//! and `report` and `[clv] derived_covariates` in the pipeline equal the stage, alone
//! and with a covariate table; the settings' and the data's errors are typed and exit 2
//! (a caller's mistake: an unknown name, a period without the cohort, no channel
//! column) or 1 (a constant derived column).

use std::io::Write;

use patronage::pipeline::{Pipeline, PipelineConfig};
use patronage::prelude::*;
use patronage::stages::clv::{ClvSettings, ScoringPeriod, clv_table};
use patronage::stages::covariates::{
    AcquisitionPeriod, CovariateSettings, CovariateTable, DerivedCovariate, DerivedCovariates,
    fit_covariates,
};
use patronage::stages::fit::ModelKind;

use crate::cli::patronage;
use crate::cli_stages::{assert_same, master, retail, summary_columns};

const MASTER: &str = "datasets/cdnow/CDNOW_master.txt";
const RETAIL: &str = "datasets/retail_sample.csv";

fn derived(covariates: &[DerivedCovariate]) -> DerivedCovariates {
    DerivedCovariates::new(covariates)
}

/// The retail sample's customers with `half` (0/1 by position).
fn retail_half(dir: &std::path::Path) -> std::path::PathBuf {
    let s = summary_columns(&retail(), &SummaryOptions::weekly());
    let ids = s.customer_ids().unwrap();
    let path = dir.join("half.csv");
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(f, "customer_id,half").unwrap();
    for (i, id) in ids.iter().enumerate() {
        writeln!(f, "{id},{}", i * 2 / ids.len()).unwrap();
    }
    path
}

/// `fit bg-nbd --derived-covariates` prints the stage's JSON, alone and after a
/// covariate table's columns.
#[test]
fn fit_with_derived_covariates_equals_the_stage() {
    let s = retail().summary(&SummaryOptions::weekly()).unwrap();
    let d = derived(&[DerivedCovariate::Channel, DerivedCovariate::FirstOrderValue]);
    let want = fit_covariates(
        ModelKind::BgNbd,
        &s,
        &d.table(&s).unwrap(),
        &Default::default(),
    )
    .unwrap();
    let json = want.to_json();
    let (code, out, err) = patronage(&[
        "fit",
        "bg-nbd",
        RETAIL,
        "--derived-covariates",
        "channel,first-order-value",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, serde_json::to_string_pretty(&json).unwrap() + "\n");
    assert_eq!(
        json["covariates"]["columns"],
        serde_json::json!(["acquisition_channel", "log_first_order_value"])
    );
    assert!(json["covariates"]["base_levels"]["acquisition_channel"].is_string());
    for name in [
        "purchase.log_first_order_value",
        "dropout_a.log_first_order_value",
    ] {
        assert!(
            json["standard_errors"][name].as_f64().unwrap() > 0.0,
            "{name}"
        );
    }

    // With a table: its columns first, then the derived ones; the cohort by quarter.
    let dir = tempfile::tempdir().unwrap();
    let half = retail_half(dir.path());
    let settings =
        CovariateSettings::from_table(CovariateTable::read(&half, &["half".into()]).unwrap())
            .with_derived(derived(&[DerivedCovariate::Cohort]));
    let want = fit_covariates(
        ModelKind::BgNbd,
        &s,
        &settings.resolve(&s).unwrap(),
        &Default::default(),
    )
    .unwrap()
    .to_json();
    assert!(want["params"]["purchase.acquisition_cohort=2024-Q2"].is_number());
    assert_eq!(
        want["covariates"]["columns"],
        serde_json::json!(["half", "acquisition_cohort"])
    );
    let (code, out, err) = patronage(&[
        "fit",
        "bg-nbd",
        RETAIL,
        "--covariates",
        half.to_str().unwrap(),
        "--covariate-cols",
        "half",
        "--derived-covariates",
        "cohort",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, serde_json::to_string_pretty(&want).unwrap() + "\n");
}

/// `clv --derived-covariates` and `[clv] derived_covariates` in the pipeline (and
/// `report --derived-covariates`) give the CLV stage's table and fits.
#[test]
fn clv_and_pipeline_with_derived_covariates_equal_the_stage() {
    let s = summary_columns(&retail(), &SummaryOptions::weekly());
    // The retail sample is small: a fit with one channel and two cohort dummies on
    // three processes does not converge: the year of acquisition alone.
    let d = derived(&[DerivedCovariate::Cohort]).period(AcquisitionPeriod::Year);
    let settings = ClvSettings {
        covariates: Some(CovariateSettings::from_derived(d)),
        ..ClvSettings::default()
    };
    let want = clv_table(&s, &settings).unwrap();
    let cov = want.covariates.as_ref().unwrap();
    assert_eq!(
        cov.purchase.base_levels["acquisition_cohort"], "2023",
        "most customers were acquired in 2023"
    );
    let json = want.to_json(&settings, ScoringPeriod::Full);
    assert!(
        json["covariates"]["purchase"]["params"]["purchase.acquisition_cohort=2024"].is_number()
    );

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("clv.parquet");
    let (code, stdout, err) = patronage(&[
        "clv",
        RETAIL,
        "--derived-covariates",
        "cohort",
        "--acquisition-period",
        "year",
        "--json",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(stdout, serde_json::to_string_pretty(&json).unwrap() + "\n");
    assert_same(&patronage::io::read_table(&out).unwrap(), &want.frame);

    let text = "[clv]\nderived_covariates = [\"cohort\"]\nacquisition_period = \"year\"\n";
    let config = PipelineConfig::from_toml(text).unwrap();
    assert_eq!(
        PipelineConfig::from_toml(&toml::to_string(&config).unwrap()).unwrap(),
        config
    );
    let p = Pipeline::builder()
        .config(config)
        .without_segmentation()
        .build()
        .unwrap();
    let run = p.run(&p.scan(RETAIL).unwrap()).unwrap();
    let clv = run.clv.as_ref().unwrap();
    assert!(clv.frame.equals_missing(&want.frame));
    assert_eq!(clv.covariates, want.covariates);

    let report = dir.path().join("report");
    let (code, _, err) = patronage(&[
        "report",
        RETAIL,
        "--derived-covariates",
        "cohort",
        "--acquisition-period",
        "year",
        "--out",
        report.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(code, 0, "{err}");
    let figures: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(
        figures["clv"]["covariates"]["purchase"]["params"],
        json["covariates"]["purchase"]["params"]
    );
    // --derived-covariates without --acquisition-period keeps the file's period.
    let file = dir.path().join("year.toml");
    std::fs::write(&file, "[clv]\nacquisition_period = \"year\"\n").unwrap();
    let kept = dir.path().join("kept");
    let (code, _, err) = patronage(&[
        "report",
        RETAIL,
        "--config",
        file.to_str().unwrap(),
        "--derived-covariates",
        "cohort",
        "--out",
        kept.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(code, 0, "{err}");
    let again: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(kept.join("report.json")).unwrap()).unwrap();
    assert_eq!(
        again["clv"]["covariates"]["purchase"]["params"],
        json["covariates"]["purchase"]["params"]
    );
}

/// The settings' errors name the setting and are usage errors (exit 2); a log without a
/// channel column names the role; a derived column constant over the customers is the
/// constant-column error naming it (exit 1, the data's).
#[test]
fn derived_covariate_errors_are_typed() {
    // CDNOW has no channel column.
    let cdnow = summary_columns(&master(), &SummaryOptions::weekly());
    let settings = ClvSettings {
        covariates: Some(CovariateSettings::from_derived(derived(&[
            DerivedCovariate::Channel,
        ]))),
        ..ClvSettings::default()
    };
    let e = clv_table(&cdnow, &settings).unwrap_err();
    assert!(
        matches!(&e, Error::MissingRole { role, .. } if role == "channel"),
        "{e:?}"
    );
    let (code, _, err) = patronage(&[
        "fit",
        "bg-nbd",
        MASTER,
        "--whitespace",
        "--derived-covariates",
        "channel",
    ]);
    assert_eq!(code, 2, "{err}");
    // CDNOW's customers were all acquired in the first quarter of 1997.
    let e = fit_covariates(
        ModelKind::BgNbd,
        &cdnow,
        &derived(&[DerivedCovariate::Cohort]).table(&cdnow).unwrap(),
        &Default::default(),
    )
    .unwrap_err();
    assert!(
        matches!(&e, Error::ConstantCovariate { column } if column == "acquisition_cohort"),
        "{e:?}"
    );
    let (code, _, err) = patronage(&[
        "fit",
        "bg-nbd",
        MASTER,
        "--whitespace",
        "--derived-covariates",
        "cohort",
    ]);
    assert_eq!(code, 1, "{err}");
    // The CLI says why a derived column can be constant and what to change.
    assert!(err.contains("--acquisition-period"), "{err}");

    for args in [
        &["fit", "bg-nbd", RETAIL, "--derived-covariates", "colour"][..],
        &[
            "fit",
            "bg-nbd",
            RETAIL,
            "--derived-covariates",
            "channel,channel",
        ],
        &[
            "clv",
            RETAIL,
            "--derived-covariates",
            "channel",
            "--acquisition-period",
            "month",
        ],
        &["clv", RETAIL, "--acquisition-period", "month"],
        &[
            "clv",
            RETAIL,
            "--model",
            "auto",
            "--derived-covariates",
            "channel",
        ],
        &[
            "fit",
            "bg-nbd",
            RETAIL,
            "--summary",
            "--derived-covariates",
            "channel",
        ],
    ] {
        let (code, _, err) = patronage(args);
        assert_eq!(code, 2, "{args:?}: {err}");
    }

    for (text, option) in [
        (
            "[clv]\nderived_covariates = [\"channel\"]\nacquisition_period = \"month\"\n",
            "clv.acquisition_period",
        ),
        (
            "[clv]\nacquisition_period = \"month\"\n",
            "clv.acquisition_period",
        ),
        (
            "[clv]\nderived_covariates = [\"cohort\", \"cohort\"]\n",
            "clv.derived_covariates",
        ),
        (
            "[clv]\nmodel = \"auto\"\nderived_covariates = [\"channel\"]\n",
            "clv.model",
        ),
    ] {
        let c = PipelineConfig::from_toml(text).unwrap();
        let e = Pipeline::builder().config(c).build().unwrap_err();
        assert!(
            matches!(&e, Error::InvalidOption { option: o, .. } if o == option),
            "{text}: {e:?}"
        );
    }
    let e = PipelineConfig::from_toml("[clv]\nderived_covariates = [\"colour\"]\n").unwrap_err();
    assert!(matches!(e, Error::Parse { .. }), "{e:?}");
}
