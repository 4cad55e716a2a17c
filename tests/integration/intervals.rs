//! Intervals from parameter uncertainty (issue #17) through the stage, the CLI and the
//! pipeline: the commands equal the stage, the intervals do not depend on the thread
//! count, the report carries customer equity's interval, and bad settings are typed
//! errors naming their TOML key. The model-layer draws, scoring and coverage are the
//! unit tests of `clv::interval`.

use patronage::clv::FitOptions;
use patronage::clv::interval::{IntervalMethod, IntervalOptions};
use patronage::pipeline::{Pipeline, PipelineConfig};
use patronage::prelude::*;
use patronage::stages::clv::{ClvOutcome, ClvSettings, MarginSource, SpendSource, clv_table};
use patronage::stages::fit::{ModelKind, fit_summary};
use patronage::stages::interval::{BOUND_COLUMNS, bgbb_interval_table};
use patronage::stages::profile::profile_summary;
use patronage::stages::target::target;
use patronage::targeting::{Cut, TargetBy, rank};
use polars::prelude::*;

use crate::cli::patronage;
use crate::cli_stages::{assert_same, master, retail, run_to_parquet, summary_columns};
use crate::pipeline::column_f64;

const MASTER: &str = "datasets/cdnow/CDNOW_master.txt";
const RETAIL: &str = "datasets/retail_sample.csv";

fn cdnow_weekly() -> Summary {
    summary_columns(&master(), &SummaryOptions::weekly())
}

fn with_interval(options: IntervalOptions) -> ClvSettings {
    ClvSettings {
        margin: MarginSource::Rate(0.3),
        discount_rate: 0.002,
        interval: Some(options),
        ..ClvSettings::default()
    }
}

/// The bound columns are there (the spend pair only with Gamma-Gamma spend), null
/// where the scores are, each `lo <= hi`; customer equity's estimate is inside its
/// interval (checked with enough draws for that to be all but certain: with 4 draws all
/// four fall on one side of the estimate one time in eight).
fn check_bounds(out: &ClvOutcome, with_spend: bool) {
    let df = &out.frame;
    for pair in BOUND_COLUMNS.chunks(2) {
        let present = df.column(pair[0]).is_ok();
        let spend = pair[0].starts_with("expected_spend");
        assert_eq!(present, !spend || with_spend, "{}", pair[0]);
        if !present {
            continue;
        }
        let (lo, hi) = (column_f64(df, pair[0]), column_f64(df, pair[1]));
        for (l, h) in lo.iter().zip(&hi) {
            assert_eq!(l.is_some(), h.is_some());
            if let (Some(l), Some(h)) = (l, h) {
                assert!(l <= h, "{}: {l} > {h}", pair[0]);
            }
        }
    }
    let iv = out.intervals.as_ref().unwrap();
    let e = iv.customer_equity;
    assert_eq!(e.estimate, out.customer_equity);
    assert!(e.lo <= e.hi, "{e:?}");
    if e.draws >= 50 {
        assert!(e.lo < e.estimate && e.estimate < e.hi, "{e:?}");
    }
}

#[test]
fn clv_interval_command_equals_the_clv_stage() {
    let (got, _, err) = run_to_parquet(&[
        "clv",
        MASTER,
        "--whitespace",
        "--margin",
        "0.3",
        "--discount-rate",
        "0.002",
        "--interval",
        "0.8",
        "--draws",
        "60",
        "--seed",
        "5",
    ]);
    let want = clv_table(
        &cdnow_weekly(),
        &with_interval(IntervalOptions::new(0.8).draws(60).seed(5)),
    )
    .unwrap();
    assert!(want.spend.is_some());
    check_bounds(&want, true);
    assert_same(&got, &want.frame);
    let e = want.intervals.unwrap().customer_equity;
    assert!(
        err.contains(&format!("80% interval {:.2} to {:.2}", e.lo, e.hi)),
        "{err}"
    );
}

#[test]
fn target_by_clv_lower_equals_the_target_stage() {
    let (got, _, _) = run_to_parquet(&[
        "target",
        MASTER,
        "--whitespace",
        "--calibration-end",
        "1997-09-30",
        "--by",
        "clv-lower",
        "--top",
        "30",
    ]);
    let s = summary_columns(
        &master(),
        &SummaryOptions::weekly().calibration_end("1997-09-30"),
    );
    // Without --interval the stage uses the default interval to rank by its lower bound.
    let want = target(
        &s,
        &ClvSettings::default(),
        TargetBy::ClvLower,
        Cut::Top(30),
    )
    .unwrap();
    assert_eq!(
        want.clv.intervals.as_ref().unwrap().options,
        IntervalOptions::default()
    );
    assert_same(&got, &want.targeting.list);
    let list = &want.targeting.list;
    assert_eq!(column_f64(list, "score"), column_f64(list, "clv_lo"));
    let score = column_f64(list, "score");
    assert!(score.windows(2).all(|w| w[0] >= w[1]));
}

#[test]
fn clv_intervals_do_not_depend_on_the_thread_count() {
    let s = cdnow_weekly();
    let run = |threads: usize, settings: &ClvSettings| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| clv_table(&s, settings).unwrap())
    };
    for settings in [
        with_interval(IntervalOptions::new(0.9).draws(80)),
        ClvSettings {
            model: ModelKind::ParetoNbd,
            ..with_interval(IntervalOptions::new(0.9).draws(12))
        },
        with_interval(
            IntervalOptions::new(0.9)
                .draws(4)
                .method(IntervalMethod::Bootstrap),
        ),
    ] {
        let (one, two) = (run(1, &settings), run(2, &settings));
        assert!(one.frame.equals_missing(&two.frame));
        assert_eq!(one.intervals, two.intervals);
        check_bounds(&one, true);
    }
}

#[test]
fn historic_spend_has_no_spend_bounds() {
    let s = summary_columns(&retail(), &SummaryOptions::weekly());
    let settings = ClvSettings {
        spend: SpendSource::Historic,
        interval: Some(IntervalOptions::new(0.9).draws(50)),
        ..ClvSettings::default()
    };
    let out = clv_table(&s, &settings).unwrap();
    check_bounds(&out, false);
    // Gamma-Gamma has no interior optimum on this sample: the fallback to historic
    // spend gives the same bounds as asking for it.
    let fallback = clv_table(
        &s,
        &ClvSettings {
            interval: settings.interval,
            ..ClvSettings::default()
        },
    )
    .unwrap();
    assert!(fallback.spend.is_none() && fallback.notes.len() == 1);
    assert!(fallback.frame.equals_missing(&out.frame));
    // Only the parameters of the purchase model have intervals.
    let iv = out.intervals.unwrap();
    assert_eq!(iv.parameters.len(), 4);
    assert!(
        iv.parameters
            .iter()
            .all(|p| p.lo < p.estimate && p.estimate < p.hi)
    );
}

#[test]
fn the_report_has_customer_equity_with_its_interval() {
    let text = "[clv]\nspend = \"historic\"\ninterval = 0.9\ndraws = 40\nseed = 3\n\n[segmentation]\nenabled = false\n";
    let config = PipelineConfig::from_toml(text).unwrap();
    let pipeline = Pipeline::builder().config(config).build().unwrap();
    let out = pipeline.run(&pipeline.scan(RETAIL).unwrap()).unwrap();
    for name in ["p_alive_lo", "clv_lo", "clv_hi", "expected_purchases_hi"] {
        assert!(out.customers.column(name).is_ok(), "{name}");
    }
    assert!(out.customers.column("expected_spend_lo").is_err());
    let f = patronage::report::figures(&out);
    let e = &f["clv"]["customer_equity_interval"];
    assert_eq!(e["estimate"], f["clv"]["customer_equity"]);
    assert_eq!(e["level"], 0.9);
    assert_eq!(e["draws"], 40);
    assert_eq!(e["method"], "asymptotic");
    assert!(e["lo"].as_f64().unwrap() < e["hi"].as_f64().unwrap());
    assert_eq!(f["clv"]["intervals"]["seed"], 3);
    assert!(out.assumptions.iter().any(|a| a.contains("clv.interval")));
    // Without the key nothing changes: no bounds, no interval figures.
    let plain = Pipeline::builder()
        .config(PipelineConfig::from_toml("[segmentation]\nenabled = false\n").unwrap())
        .build()
        .unwrap();
    let out = plain.run(&plain.scan(RETAIL).unwrap()).unwrap();
    assert!(out.customers.column("clv_lo").is_err());
    assert!(patronage::report::figures(&out)["clv"]["customer_equity_interval"].is_null());
}

#[test]
fn interval_settings_are_typed_errors_naming_the_toml_key() {
    let option_of = |toml: &str| {
        let config = PipelineConfig::from_toml(toml).unwrap();
        match Pipeline::builder().config(config).build() {
            Err(Error::InvalidOption { option, .. }) => option,
            Err(other) => panic!("{toml}: expected InvalidOption, got {other:?}"),
            Ok(_) => panic!("{toml}: accepted"),
        }
    };
    assert_eq!(option_of("[clv]\ninterval = 1.5\n"), "clv.interval");
    assert_eq!(option_of("[clv]\ninterval = 0.0\n"), "clv.interval");
    assert_eq!(option_of("[clv]\ninterval = 0.9\ndraws = 1\n"), "clv.draws");
    assert_eq!(option_of("[clv]\ndraws = 100\n"), "clv.draws");
    assert_eq!(option_of("[clv]\nseed = 3\n"), "clv.seed");
    assert_eq!(option_of("[clv]\nbootstrap = true\n"), "clv.bootstrap");
    // A misspelt key is refused when the file is read.
    assert!(matches!(
        PipelineConfig::from_toml("[clv]\nintervals = 0.9\n"),
        Err(Error::Parse { .. })
    ));
    // The stage checks them before fitting, too.
    let s = summary_columns(&retail(), &SummaryOptions::weekly());
    let bad = ClvSettings {
        interval: Some(IntervalOptions::new(0.9).draws(0)),
        ..ClvSettings::default()
    };
    assert!(matches!(
        clv_table(&s, &bad),
        Err(Error::InvalidOption { ref option, .. }) if option == "clv.draws"
    ));
}

#[test]
fn ranking_by_the_lower_bound_needs_the_bounds() {
    let scores = df!(
        "customer_id" => ["a", "b"],
        "p_alive" => [0.9, 0.5],
        "expected_purchases" => [2.0, 1.0],
        "expected_spend" => [10.0, 30.0],
        "clv" => [18.0, 15.0],
    )
    .unwrap();
    assert!(matches!(
        rank(&scores, 1.0, TargetBy::ClvLower, Cut::All, None),
        Err(Error::MissingColumn { ref column, .. }) if column == "clv_lo"
    ));
    // With them, the lower bound decides: b is surer than a.
    let mut with = scores.clone();
    with.with_column(Column::new("clv_lo".into(), [6.0, 12.0]))
        .unwrap();
    with.with_column(Column::new("clv_hi".into(), [30.0, 18.0]))
        .unwrap();
    let t = rank(&with, 1.0, TargetBy::ClvLower, Cut::Top(1), None).unwrap();
    let first = t.list.column("customer_id").unwrap().str().unwrap().get(0);
    assert_eq!(first, Some("b"));
    assert_eq!("clv-lower".parse::<TargetBy>().unwrap(), TargetBy::ClvLower);
}

#[test]
fn bad_interval_flags_exit_2_before_reading() {
    for args in [
        vec!["clv", MASTER, "--whitespace", "--interval", "1.5"],
        vec![
            "clv",
            MASTER,
            "--whitespace",
            "--interval",
            "0.9",
            "--draws",
            "1",
        ],
        vec!["clv", MASTER, "--whitespace", "--draws", "10"],
        vec!["target", MASTER, "--whitespace", "--seed", "3"],
    ] {
        let (code, _, err) = patronage(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        // Refused before the data are read: no cleaning line.
        assert!(!err.contains("rows read"), "{args:?}: {err}");
    }
}

/// BG/BB's opportunities: weekly purchases on a weekly clock.
fn retail_weeks() -> Summary {
    summary_columns(
        &retail(),
        &SummaryOptions::weekly().purchase_unit(PurchaseUnit::Week),
    )
}

/// The retail sample's BG/BB likelihood has no finite maximum without a penalty.
fn penalized() -> FitOptions {
    FitOptions {
        penalizer: 0.001,
        ..FitOptions::default()
    }
}

const BGBB_ARGS: [&str; 15] = [
    "fit",
    "bg-bb",
    RETAIL,
    "--purchase-unit",
    "week",
    "--interval",
    "0.9",
    "--draws",
    "200",
    "--seed",
    "3",
    "--horizon",
    "10",
    "--penalizer",
    "0.001",
];

#[test]
fn bgbb_interval_command_equals_the_stage() {
    let (got, _, err) = run_to_parquet(&BGBB_ARGS);
    let want = bgbb_interval_table(
        &retail_weeks(),
        &penalized(),
        10.0,
        &IntervalOptions::new(0.9).draws(200).seed(3),
    )
    .unwrap();
    assert_same(&got, &want.frame);
    let (estimate, r) = want.total_expected_purchases;
    assert!(r.lo < estimate && estimate < r.hi, "{r:?}");
    assert!(
        err.contains(&format!("90% interval {:.2} to {:.2}", r.lo, r.hi)),
        "{err}"
    );
    // The bounds bracket the point scores.
    for name in ["p_alive", "expected_purchases"] {
        let point = column_f64(&got, name);
        let lo = column_f64(&got, &format!("{name}_lo"));
        let hi = column_f64(&got, &format!("{name}_hi"));
        for i in 0..point.len() {
            let (p, l, h) = (point[i].unwrap(), lo[i].unwrap(), hi[i].unwrap());
            assert!(l <= p && p <= h, "{name} row {i}: {l} {p} {h}");
        }
    }
    // The JSON is the stage's.
    let mut json = BGBB_ARGS.to_vec();
    json.push("--json");
    let (code, out, err) = patronage(&json);
    assert_eq!(code, 0, "{err}");
    let printed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        printed["intervals"]["total_expected_purchases"],
        want.to_json()["intervals"]["total_expected_purchases"]
    );
    assert_eq!(printed["intervals"]["bootstrap_failed_refits"], 0);
}

#[test]
fn bgbb_intervals_are_seeded() {
    let mut args = BGBB_ARGS.to_vec();
    args.push("--bootstrap");
    args[8] = "20";
    let (code, first, err) = patronage(&args);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("bootstrap draws, 0 failed refits replaced"),
        "{err}"
    );
    let (_, second, _) = patronage(&args);
    assert_eq!(first, second);
    assert!(first.starts_with("customer_id,frequency,recency,periods,p_alive,p_alive_lo,p_alive_hi,expected_purchases,expected_purchases_lo,expected_purchases_hi\n"));
}

#[test]
fn bad_bgbb_interval_levels_are_typed_errors() {
    let s = retail_weeks();
    for level in [0.0, 1.0, 1.5, f64::NAN] {
        let options = IntervalOptions::new(level).draws(20);
        assert!(matches!(
            bgbb_interval_table(&s, &penalized(), 10.0, &options),
            Err(Error::InvalidOption { ref option, .. }) if option == "clv.interval"
        ));
        let text = level.to_string();
        let mut args = BGBB_ARGS.to_vec();
        args[6] = &text;
        let (code, _, err) = patronage(&args);
        assert_eq!(code, 2, "{level}: {err}");
        assert!(err.contains("--interval"), "{err}");
        assert!(!err.contains("rows read"), "{err}");
    }
    // Intervals of the other models are `clv --interval`'s.
    let (code, _, _) = patronage(&["fit", "bg-nbd", RETAIL, "--interval", "0.9"]);
    assert_eq!(code, 2);
    // The sBG and covariate options do not apply to BG/BB's intervals: usage errors.
    for extra in [
        &["--cohort", "month"][..],
        &["--annual-discount-rate", "0.1"],
        &["--periods-per-year", "12"],
        &["--payment-per-period", "10"],
        &["--derived-covariates", "channel"],
    ] {
        let mut args = BGBB_ARGS.to_vec();
        args.extend_from_slice(extra);
        let (code, _, err) = patronage(&args);
        assert_eq!(code, 2, "{extra:?}: {err}");
        assert!(!err.contains("rows read"), "{extra:?}: {err}");
    }
}

/// `clv --derived-covariates cohort --interval 0.9` on CDNOW (acquisition month):
/// every customer re-scored at their own parameters per draw; the bound columns are
/// there with `lo <= hi`, customer equity's estimate is inside its interval, and the
/// parameter intervals name the coefficients. The bootstrap runs too, with few draws.
#[test]
fn clv_interval_with_covariates_on_cdnow() {
    let dir = tempfile::tempdir().unwrap();
    for (method, draws) in [("asymptotic", "200"), ("bootstrap", "8")] {
        let out = dir.path().join(format!("{method}.parquet"));
        let mut args = vec![
            "clv",
            MASTER,
            "--derived-covariates",
            "cohort",
            "--acquisition-period",
            "month",
            "--interval",
            "0.9",
            "--draws",
            draws,
            "--json",
            "-o",
            out.to_str().unwrap(),
        ];
        if method == "bootstrap" {
            args.push("--bootstrap");
        }
        let (code, stdout, err) = patronage(&args);
        assert_eq!(code, 0, "{err}");
        let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let iv = &json["intervals"];
        assert_eq!(iv["method"], method);
        let e = &iv["customer_equity"];
        let (lo, est, hi) = (
            e["lo"].as_f64().unwrap(),
            e["estimate"].as_f64().unwrap(),
            e["hi"].as_f64().unwrap(),
        );
        eprintln!("{method} ({draws} draws): equity {est} in [{lo}, {hi}]");
        assert!(lo <= hi, "{e}");
        if method == "asymptotic" {
            assert!(lo < est && est < hi, "{e}");
        }
        let names: Vec<&str> = iv["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["parameter"].as_str().unwrap())
            .collect();
        assert!(
            names
                .iter()
                .any(|n| n.starts_with("purchase.acquisition_cohort=")),
            "{names:?}"
        );
        let df = patronage::io::read_table(&out).unwrap();
        for pair in ["p_alive", "expected_purchases", "clv"] {
            let lo = column_f64(&df, &format!("{pair}_lo"));
            let hi = column_f64(&df, &format!("{pair}_hi"));
            for (l, h) in lo.iter().zip(&hi) {
                assert!(l.unwrap() <= h.unwrap(), "{pair}");
            }
        }
    }
}

const PROFILE_ARGS: [&str; 7] = [
    "fit",
    "mbg-nbd",
    MASTER,
    "--whitespace",
    "--interval",
    "0.9",
    "--profile",
];

/// `fit mbg-nbd --interval 0.9 --profile --json` on CDNOW: the stage's profile intervals
/// in `profile_intervals` (`{parameter: [lo, hi]}`), each around its estimate.
#[test]
fn fit_profile_command_equals_the_stage() {
    let mut json = PROFILE_ARGS.to_vec();
    json.push("--json");
    let (code, out, err) = patronage(&json);
    assert_eq!(code, 0, "{err}");
    let printed: serde_json::Value = serde_json::from_str(&out).unwrap();
    let s = cdnow_weekly();
    let fit = fit_summary(ModelKind::MbgNbd, &s, &Default::default()).unwrap();
    let want = profile_summary(&fit.model, &s, &Default::default(), 0.9).unwrap();
    assert_eq!(printed["profile_intervals"], want.to_json());
    assert_eq!(printed["profile_level"], 0.9);
    for p in &want.parameters {
        assert!(p.lo < p.estimate && p.estimate < p.hi, "{p:?}");
        assert_eq!(printed["params"][&p.parameter], p.estimate);
    }
    // The text form prints them after the coefficients.
    let (code, text, err) = patronage(&PROFILE_ARGS);
    assert_eq!(code, 0, "{err}");
    assert!(text.contains("profile-likelihood 90% intervals"), "{text}");
}

#[test]
fn bad_profile_settings_exit_2_before_reading() {
    let fit = |model: &'static str, extra: &[&'static str]| {
        let mut args = vec!["fit", model, RETAIL];
        args.extend_from_slice(extra);
        args
    };
    for args in [
        // A level outside (0, 1).
        fit("bg-nbd", &["--interval", "1.5", "--profile"]),
        // --profile needs --interval; no draws to bootstrap.
        fit("bg-nbd", &["--profile"]),
        fit("bg-nbd", &["--interval", "0.9", "--profile", "--bootstrap"]),
        // Plain models only.
        fit("compare", &["--interval", "0.9", "--profile"]),
        fit(
            "bg-nbd",
            &[
                "--interval",
                "0.9",
                "--profile",
                "--derived-covariates",
                "channel",
            ],
        ),
    ] {
        let (code, _, err) = patronage(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(!err.contains("rows read"), "{args:?}: {err}");
    }
}
