//! Each CLI command's output equals, value for value, what its stage function returns
//! in-process with the same settings: the commands only parse, call the stage and print.

use std::path::Path;

use patronage::prelude::*;
use patronage::profitability::Split;
use patronage::segmentation::{FeatureSpec, KChoice, SegmentationSpec};
use patronage::stages::clv::{
    ClvSettings, FittedModels, MarginSource, ScoringPeriod, SpendSource, clv_table, clv_table_on,
    clv_table_with,
};
use patronage::stages::cohorts::cohorts;
use patronage::stages::fit::{AnyFitted, ModelKind, fit_summary};
use patronage::stages::profitability::{analyse, customer_frame};
use patronage::stages::segment::{SegmentSettings, segment};
use patronage::stages::summary::summary;
use patronage::stages::target::target;
use patronage::targeting::{Cut, TargetBy};
use polars::prelude::{DataFrame, DataType};

use crate::cli::patronage;

const RETAIL: &str = "datasets/retail_sample.csv";
const MASTER: &str = "datasets/cdnow/CDNOW_master.txt";

pub(crate) fn retail() -> Transactions {
    Transactions::scan(RETAIL, TransactionSchema::default()).unwrap()
}

pub(crate) fn master() -> Transactions {
    Transactions::scan_whitespace(MASTER, true, TransactionSchema::default()).unwrap()
}

/// Runs the CLI with `args` and `-o <dir>/out.parquet`, and reads the table back.
/// Returns the table, standard output and standard error.
pub(crate) fn run_to_parquet(args: &[&str]) -> (DataFrame, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.parquet");
    let mut all = args.to_vec();
    all.extend(["-o", path.to_str().unwrap()]);
    let (code, out, err) = patronage(&all);
    assert_eq!(code, 0, "{args:?}: {err}");
    (read(&path), out, err)
}

/// The summary stage's summary columns.
pub(crate) fn summary_columns(tx: &Transactions, options: &SummaryOptions) -> Summary {
    summary(tx, options, None).unwrap().into_summary().unwrap()
}

fn read(path: &Path) -> DataFrame {
    patronage::io::read_table(path).unwrap()
}

/// Same column names in the same order, same types, same values (nulls in the same
/// places; floats bit for bit).
pub(crate) fn assert_same(got: &DataFrame, want: &DataFrame) {
    assert_eq!(got.get_column_names(), want.get_column_names());
    assert_eq!(got.height(), want.height());
    for (g, w) in got.columns().iter().zip(want.columns()) {
        assert_eq!(g.dtype(), w.dtype(), "{}", g.name());
        assert!(
            g.as_materialized_series()
                .equals_missing(w.as_materialized_series()),
            "column {} differs",
            g.name()
        );
    }
}

/// JSON as the CLI prints it (pretty, one trailing newline): compared as text, so floats
/// are compared by their shortest round-trip form rather than through a float parser.
fn json_text(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap() + "\n"
}

fn retail_options() -> SummaryOptions {
    SummaryOptions::weekly().calibration_end("2024-03-31")
}

#[test]
fn summary_command_equals_the_summary_stage() {
    let (got, _, _) = run_to_parquet(&["summary", RETAIL, "--calibration-end", "2024-03-31"]);
    assert_same(&got, summary_columns(&retail(), &retail_options()).frame());
    // Split into partitions: the same table.
    let (got, _, _) = run_to_parquet(&["summary", RETAIL, "--partitions", "3"]);
    let want = summary_columns(&retail(), &SummaryOptions::weekly());
    assert_same(&got, want.frame());
}

#[test]
fn rfm_command_equals_the_rfm_stage() {
    let (got, _, _) = run_to_parquet(&["rfm", RETAIL, "--mean-monetary"]);
    let options = RfmOptions::default().monetary(MonetaryBasis::Mean);
    let s = summary_columns(&retail(), &SummaryOptions::weekly());
    assert_same(&got, s.rfm(&options).unwrap().frame());
}

#[test]
fn fit_command_equals_the_fit_stage() {
    let (code, out, err) = patronage(&[
        "fit",
        "bg-nbd",
        MASTER,
        "--whitespace",
        "--calibration-end",
        "1997-09-30",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let s = summary_columns(
        &master(),
        &SummaryOptions::weekly().calibration_end("1997-09-30"),
    );
    let want = fit_summary(ModelKind::BgNbd, &s, &Default::default()).unwrap();
    assert!(want.holdout.is_some());
    assert_eq!(out, json_text(&want.to_json()));
}

#[test]
fn clv_command_equals_the_clv_stage() {
    // Gamma-Gamma fits on CDNOW: its spend model is used.
    let (got, _, err) = run_to_parquet(&[
        "clv",
        MASTER,
        "--whitespace",
        "--margin",
        "0.3",
        "--discount-rate",
        "0.002",
    ]);
    let settings = ClvSettings {
        margin: MarginSource::Rate(0.3),
        discount_rate: 0.002,
        ..ClvSettings::default()
    };
    let s = summary_columns(&master(), &SummaryOptions::weekly());
    let want = clv_table(&s, &settings).unwrap();
    assert!(want.spend.is_some() && want.notes.is_empty());
    assert_same(&got, &want.frame);
    assert!(!err.contains("note:"), "{err}");
}

/// `patronage clv --json --scoring fitted`: the stage's JSON, scored on the calibration
/// period, and the table on that period (customers born in the holdout have no scores);
/// the default scoring period is the full one, as the pipeline's.
#[test]
fn clv_json_and_scoring_period_equal_the_stage() {
    let (got, out, _) = run_to_parquet(&[
        "clv",
        MASTER,
        "--whitespace",
        "--calibration-end",
        "1997-09-30",
        "--scoring",
        "fitted",
        "--margin",
        "0.3",
        "--json",
    ]);
    let options = SummaryOptions::weekly().calibration_end("1997-09-30");
    let s = summary_columns(&master(), &options);
    let settings = ClvSettings {
        margin: MarginSource::Rate(0.3),
        ..ClvSettings::default()
    };
    let want = clv_table_on(&s, &settings, ScoringPeriod::Fitted).unwrap();
    assert_same(&got, &want.frame);
    assert_eq!(
        out,
        json_text(&want.to_json(&settings, ScoringPeriod::Fitted))
    );
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["scoring"], "fitted");
    assert_eq!(json["purchase"]["model"], "bg-nbd");
    // Fitted on the 39 calibration weeks: other scores than the full period's default.
    let full = clv_table(&s, &settings).unwrap();
    assert_ne!(full.customer_equity, want.customer_equity);
    // `frequency` is a count, as in the summary.
    assert_eq!(got.column("frequency").unwrap().dtype(), &DataType::UInt32);
    // An unknown period is a usage error naming the flag.
    let (code, _, err) = patronage(&["clv", MASTER, "--whitespace", "--scoring", "today"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--scoring"), "{err}");
}

/// `patronage fit --save-model` then `patronage clv --purchase-model --spend-model`:
/// scoring on the saved models gives the table a fit gives, and `clv_table_with` is what
/// the command runs; a file of the wrong kind is a usage error naming the flag.
#[test]
fn clv_scores_with_saved_models() {
    let dir = tempfile::tempdir().unwrap();
    let bg = dir.path().join("bg.json");
    let gg = dir.path().join("gg.json");
    for (model, path) in [("bg-nbd", &bg), ("gamma-gamma", &gg)] {
        let (code, _, err) = patronage(&[
            "fit",
            model,
            MASTER,
            "--whitespace",
            "--save-model",
            path.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
    }
    let (got, _, _) = run_to_parquet(&[
        "clv",
        MASTER,
        "--whitespace",
        "--purchase-model",
        bg.to_str().unwrap(),
        "--spend-model",
        gg.to_str().unwrap(),
    ]);
    let s = summary_columns(&master(), &SummaryOptions::weekly());
    let purchase = AnyFitted::from_path(&bg).unwrap();
    let AnyFitted::GammaGamma(spend) = AnyFitted::from_path(&gg).unwrap() else {
        panic!("not a gamma-gamma file");
    };
    let models = FittedModels::new(purchase.clone(), Some(spend)).unwrap();
    let settings = ClvSettings::default();
    let want = clv_table_with(&s, &settings, ScoringPeriod::Full, &models).unwrap();
    assert_same(&got, &want.frame);
    assert_eq!(want.purchase, purchase);
    // The saved models are the ones a fit on the same summary gives.
    let fitted = clv_table(&s, &settings).unwrap();
    assert_eq!(fitted.purchase.params(), purchase.params());
    assert_same(&got, &fitted.frame);
    // The wrong kind of file, and a spend model alone: usage errors naming the flag.
    let gg_text = gg.to_str().unwrap();
    let bg_text = bg.to_str().unwrap();
    for (args, flag) in [
        (vec!["--purchase-model", gg_text], "--purchase-model"),
        (
            vec!["--purchase-model", bg_text, "--spend-model", bg_text],
            "--spend-model",
        ),
        (vec!["--spend-model", gg_text], "--spend-model"),
    ] {
        let mut all = vec!["clv", MASTER, "--whitespace"];
        all.extend(args);
        let (code, _, err) = patronage(&all);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(flag), "{err}");
    }
}

/// `patronage clv` on the retail sample failed ("gamma-gamma fit did not converge") before
/// the fallback moved into the stage; now it scores historic spend and says so.
#[test]
fn clv_on_the_retail_sample_falls_back_to_historic_spend_with_a_note() {
    let (got, _, err) = run_to_parquet(&["clv", RETAIL]);
    let s = summary_columns(&retail(), &SummaryOptions::weekly());
    let want = clv_table(&s, &ClvSettings::default()).unwrap();
    assert!(want.spend.is_none());
    assert_eq!(want.notes.len(), 1);
    assert_same(&got, &want.frame);
    // The same scores as asking for historic spend, and the note on stderr.
    let historic = ClvSettings {
        spend: SpendSource::Historic,
        ..ClvSettings::default()
    };
    let direct = clv_table(&s, &historic).unwrap();
    assert!(direct.notes.is_empty());
    assert!(direct.frame.equals_missing(&want.frame));
    assert_eq!(direct.customer_equity, want.customer_equity);
    let notes: Vec<&str> = err
        .lines()
        .filter_map(|l| l.strip_prefix("patronage: note: "))
        .collect();
    assert_eq!(notes, [want.notes[0].as_str()], "{err}");
}

#[test]
fn segment_command_equals_the_segment_stage() {
    // CLV features (with the Gamma-Gamma note) and the channel mix.
    let (got, out, err) = run_to_parquet(&[
        "segment",
        RETAIL,
        "--k",
        "3",
        "--features",
        "recency_days,total_spend,p_alive,channel_mix",
        "--seed",
        "7",
        "--json",
    ]);
    let table = summary(&retail(), &SummaryOptions::weekly(), None).unwrap();
    let s = table.summary().unwrap();
    let clv = clv_table(&s, &ClvSettings::default()).unwrap();
    let features = ["recency_days", "total_spend", "p_alive"]
        .into_iter()
        .map(|f| FeatureSpec::parse(f).unwrap())
        .collect();
    let spec = SegmentationSpec::default()
        .features(features)
        .k(KChoice::Fixed(3))
        .seed(7);
    let want = segment(
        s.frame(),
        Some(&table),
        &SegmentSettings::new(spec, true),
        Some(&clv),
    )
    .unwrap();
    assert_same(&got, &want.frame().unwrap());
    assert!(
        got.get_column_names()
            .iter()
            .any(|c| c.starts_with("channel_share_"))
    );
    let mut expected = want.segmentation.summary_json();
    expected["notes"] = serde_json::json!(clv.notes);
    assert_eq!(out, json_text(&expected));
    assert_eq!(clv.notes.len(), 1);
    assert!(err.contains("patronage: note: "), "{err}");
}

#[test]
fn profitability_command_equals_the_profitability_stage() {
    let (got, _, _) = run_to_parquet(&[
        "profitability",
        RETAIL,
        "--split",
        "q75",
        "--costs",
        "datasets/costs_example.toml",
    ]);
    let split: Split = "q75".parse().unwrap();
    let weekly = SummaryOptions::weekly();
    let p = analyse(&retail(), &weekly, &crate::example_costs(), None, split).unwrap();
    assert_same(&got, &customer_frame(&p).unwrap());
}

#[test]
fn target_command_equals_the_target_stage() {
    let (got, out, _) = run_to_parquet(&[
        "target",
        RETAIL,
        "--calibration-end",
        "2024-03-31",
        "--top",
        "50",
        "--margin",
        "0.4",
        "--json",
    ]);
    let s = summary_columns(&retail(), &retail_options());
    let settings = ClvSettings {
        margin: MarginSource::Rate(0.4),
        ..ClvSettings::default()
    };
    let want = target(&s, &settings, TargetBy::Clv, Cut::Top(50)).unwrap();
    assert_same(&got, &want.targeting.list);
    assert_eq!(want.targeting.selected, 50);
    let expected = serde_json::json!({
        "scored": want.targeting.list.height(),
        "selected": want.targeting.selected,
        "holdout": want.targeting.evaluation,
        "notes": want.clv.notes,
    });
    assert_eq!(out, json_text(&expected));
}

#[test]
fn cohorts_command_equals_the_cohorts_stage() {
    let (got, _, _) = run_to_parquet(&["cohorts", RETAIL, "--cohort", "week"]);
    let weekly = SummaryOptions::weekly();
    let table = summary(&retail(), &weekly, Some(CohortPeriod::Week)).unwrap();
    assert_same(&got, &cohorts(&table).unwrap().frame().unwrap());
}
