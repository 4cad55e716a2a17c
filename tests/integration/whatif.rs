//! The retention what-if: the rate moves by exactly the asked points, the equities are
//! the CLV stage's under the fitted and the scenario model, the groups add up to the
//! total, typed errors, and `patronage whatif --json` equals the stage; the pipeline's
//! `[whatif]` step and the report's section equal it too.

use patronage::Error;
use patronage::clv::RepeatData;
use patronage::clv::retention::retention_rate;
use patronage::pipeline::{Pipeline, PipelineConfig, Stage};
use patronage::prelude::*;
use patronage::profitability::CostModel;
use patronage::stages::clv::{
    ClvSettings, FittedModels, ScoringPeriod, SpendSource, clv_table_on, clv_table_with,
};
use patronage::stages::fit::{AnyFitted, ModelKind};
use patronage::stages::summary::summary;
use patronage::stages::whatif::{WhatIf, WhatIfGroup, WhatIfSettings, whatif};

use crate::cli::patronage;
use crate::pipeline::column_f64;

const RETAIL: &str = "datasets/retail_sample.csv";

fn table() -> CustomerTable {
    let tx = Transactions::scan(RETAIL, TransactionSchema::default()).unwrap();
    summary(&tx, &SummaryOptions::weekly(), None).unwrap()
}

fn settings(model: ModelKind, points: f64) -> WhatIfSettings {
    let mut s = WhatIfSettings::new(points);
    s.clv.model = model;
    s.clv.spend = SpendSource::Historic;
    // Pareto/NBD's likelihood has no interior maximum on this small sample: a light
    // penalty gives it one.
    if model == ModelKind::ParetoNbd {
        s.clv.fit.penalizer = 0.001;
    }
    s
}

/// The retention rate of `m` recomputed from scratch on the summary's customers.
fn rate_of(m: &AnyFitted, s: &Summary, period: f64) -> f64 {
    let f = s.frame();
    let col = |c: &str| -> Vec<f64> {
        f.column(c)
            .unwrap()
            .cast(&polars::prelude::DataType::Float64)
            .unwrap()
            .f64()
            .unwrap()
            .into_no_null_iter()
            .collect()
    };
    let data = RepeatData::new(&col("frequency"), &col("recency"), &col("T")).unwrap();
    match m {
        AnyFitted::BgNbd(m) => retention_rate(m, &data, period),
        AnyFitted::MbgNbd(m) => retention_rate(m, &data, period),
        AnyFitted::ParetoNbd(m) => retention_rate(m, &data, period),
        _ => unreachable!(),
    }
    .unwrap()
}

#[test]
fn whatif_moves_retention_by_exactly_the_points_for_every_model() {
    let t = table();
    let s = t.summary().unwrap();
    for model in [ModelKind::BgNbd, ModelKind::MbgNbd, ModelKind::ParetoNbd] {
        // Lowering MBG/NBD's retention by 2 points is out of its reach here (with a + b
        // fixed, the slow buyers barely drop out however high the mean dropout).
        for points in [5.0, -1.0] {
            let w = whatif(&t, &settings(model, points), None).unwrap();
            let before = rate_of(&w.baseline, &s, 52.0);
            let after = rate_of(&w.scenario, &s, 52.0);
            assert!(
                (before - w.retention_rate_before).abs() < 1e-12,
                "{model:?}"
            );
            assert!(
                (after - before - points / 100.0).abs() < 1e-9,
                "{model:?} {points}: {before} -> {after}"
            );
            assert_eq!(w.total.gain > 0.0, points > 0.0, "{model:?} {points}");
        }
    }
}

#[test]
fn whatif_equities_are_the_clv_stage_under_both_models() {
    let t = table();
    let s = t.summary().unwrap();
    let set = settings(ModelKind::BgNbd, 5.0);
    let w = whatif(&t, &set, None).unwrap();
    let base = clv_table_on(&s, &set.clv, ScoringPeriod::Full).unwrap();
    let models = FittedModels::new(w.scenario.clone(), None).unwrap();
    let scen = clv_table_with(&s, &set.clv, ScoringPeriod::Full, &models).unwrap();
    assert_eq!(w.total.baseline_equity, base.customer_equity);
    assert!((w.total.scenario_equity - scen.customer_equity).abs() < 1e-6);
    assert!((w.total.gain_per_point * 5.0 - w.total.gain).abs() < 1e-9);
    let be = w.total.break_even_per_retained.unwrap();
    assert!((be * w.total.additional_retained - w.total.gain).abs() < 1e-6);
    // a + b kept, mean dropout lower
    let (AnyFitted::BgNbd(b0), AnyFitted::BgNbd(b1)) = (&w.baseline, &w.scenario) else {
        panic!("bg-nbd expected");
    };
    assert!((b0.a() + b0.b() - b1.a() - b1.b()).abs() < 1e-9);
    assert!(w.dropout_after < w.dropout_before);
}

fn assert_groups_add_up(w: &WhatIf) {
    assert!(!w.by.is_empty());
    let sum = |f: &dyn Fn(&patronage::stages::whatif::WhatIfFigures) -> f64| -> f64 {
        w.by.iter().map(f).sum()
    };
    assert_eq!(
        w.by.iter().map(|g| g.customers).sum::<usize>(),
        w.total.customers
    );
    assert!((sum(&|g| g.gain) - w.total.gain).abs() < 1e-6);
    assert!((sum(&|g| g.baseline_equity) - w.total.baseline_equity).abs() < 1e-6);
    assert!((sum(&|g| g.additional_retained) - w.total.additional_retained).abs() < 1e-9);
}

#[test]
fn whatif_by_segment_and_by_quadrant_add_up_to_the_total() {
    let t = table();
    let mut set = settings(ModelKind::BgNbd, 5.0);
    set.by = Some(WhatIfGroup::Segment);
    let w = whatif(&t, &set, None).unwrap();
    assert_groups_add_up(&w);
    assert!(w.total.net_gain.is_none());
    set.by = Some(WhatIfGroup::Quadrant);
    // The crate invents no costs: a cost model without rates is refused.
    set.costs = Some(CostModel::default());
    assert!(matches!(
        whatif(&t, &set, None),
        Err(patronage::Error::InvalidOption { option, .. }) if option == "costs"
    ));
    set.costs = Some(
        CostModel::from_toml("per_order = 2.5\nper_line = 0.5\nper_delivery = 4.0\n").unwrap(),
    );
    let w = whatif(&t, &set, None).unwrap();
    assert_groups_add_up(&w);
    // cost-to-serve of the extra purchases comes off the gain
    let net = w.total.net_gain.unwrap();
    assert!(net < w.total.gain && net > 0.0, "{net} vs {}", w.total.gain);
    let group_net: f64 = w.by.iter().map(|g| g.net_gain.unwrap()).sum();
    assert!((group_net - net).abs() < 1e-6);
    assert_eq!(w.by.len(), 4);
}

#[test]
fn whatif_refuses_what_it_cannot_answer() {
    let t = table();
    let mut set = settings(ModelKind::BgNbd, 5.0);
    set.by = Some(WhatIfGroup::Quadrant);
    assert!(matches!(
        whatif(&t, &set, None),
        Err(Error::InvalidOption { ref option, .. }) if option == "whatif.by"
    ));
    let set = settings(ModelKind::BgNbd, 60.0);
    assert!(matches!(
        whatif(&t, &set, None),
        Err(Error::InvalidOption { ref option, .. }) if option == "whatif.retention"
    ));
    let mut set = settings(ModelKind::BgNbd, 5.0);
    set.period = -1.0;
    assert!(matches!(
        whatif(&t, &set, None),
        Err(Error::InvalidOption { ref option, .. }) if option == "whatif.period"
    ));
}

#[test]
fn cli_whatif_json_equals_the_stage() {
    let (code, out, err) = patronage(&[
        "whatif",
        RETAIL,
        "--retention",
        "5",
        "--by",
        "segment",
        "--spend",
        "historic",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let cli: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut set = settings(ModelKind::BgNbd, 5.0);
    set.by = Some(WhatIfGroup::Segment);
    let stage = whatif(&table(), &set, None).unwrap().to_json();
    assert_eq!(cli, stage);
    for key in [
        "baseline_equity",
        "scenario_equity",
        "gain",
        "gain_per_point",
        "by",
        "retention_rate_before",
        "retention_rate_after",
    ] {
        assert!(cli.get(key).is_some(), "{key}");
    }
    assert!(cli["by"][0]["gain"].is_number());
    // out of reach: a usage error
    let (code, _, err) = patronage(&["whatif", RETAIL, "--retention", "60"]);
    assert_eq!(code, 2, "{err}");
}

// ---- The what-if in the pipeline and the report ([whatif], report --whatif) ----

const COSTS: &str = "per_order = 2.5\nper_line = 0.5\nper_delivery = 4.0\n";

fn historic() -> ClvSettings {
    ClvSettings {
        spend: SpendSource::Historic,
        ..ClvSettings::default()
    }
}

#[test]
fn pipeline_whatif_equals_the_stage_and_the_report_shows_it() {
    let p = Pipeline::builder()
        .clv(historic())
        .costs(CostModel::from_toml(COSTS).unwrap())
        .whatif(5.0, None, None)
        .build()
        .unwrap();
    let out = p.run(&p.scan(RETAIL).unwrap()).unwrap();
    let got = out.whatif.as_ref().expect("the what-if ran");
    // With the matrix, the default breakdown is by quadrant; a year is 52 weeks.
    let mut set = settings(ModelKind::BgNbd, 5.0);
    set.by = Some(WhatIfGroup::Quadrant);
    set.costs = Some(CostModel::from_toml(COSTS).unwrap());
    let stage = whatif(&table(), &set, None).unwrap();
    assert_eq!(got.to_json(), stage.to_json());
    assert_eq!(got.grouped_by, Some(WhatIfGroup::Quadrant));
    assert_groups_add_up(got);
    assert!(got.total.net_gain.is_some());
    // Every customer's scenario CLV is in the customer table, in the stage's order.
    assert!(
        out.customers
            .column("customer_id")
            .unwrap()
            .equals_missing(stage.customers.column("customer_id").unwrap())
    );
    assert_eq!(
        column_f64(&out.customers, "clv_whatif"),
        column_f64(&stage.customers, "clv_after")
    );

    // The CLI's report: report.json's `whatif` is the same object, the page has the
    // section and the chart.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("run.toml");
    std::fs::write(
        &config,
        format!("[clv]\nspend = \"historic\"\n[costs]\n{COSTS}[whatif]\nretention = 5\n"),
    )
    .unwrap();
    let report = dir.path().join("report");
    let (code, _, err) = patronage(&[
        "report",
        RETAIL,
        "--config",
        config.to_str().unwrap(),
        "--out",
        report.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(json["whatif"], stage.to_json());
    let page = std::fs::read_to_string(report.join("report.html")).unwrap();
    assert!(page.contains("id=\"whatif-table\"") && page.contains("data-chart=\"whatif\""));
    assert!(page.contains("Retention what-if by profitability quadrant"));
    // The "What to do" summary says what the change is worth.
    let advice = patronage::report::advice::advise_of(&out).unwrap();
    let retain = advice
        .iter()
        .find(|l| l.verb == "Retain")
        .expect("a Retain line");
    assert!(
        retain.items[0].starts_with("+5 points of retention over a year are worth"),
        "{retain:?}"
    );
    assert!(page.contains("<strong>Retain</strong>"));
    assert!(report.join("whatif.svg").exists());
    // The command-line flags say the same as the file.
    let flags = dir.path().join("flags");
    std::fs::write(
        &config,
        format!("[clv]\nspend = \"historic\"\n[costs]\n{COSTS}"),
    )
    .unwrap();
    let (code, _, err) = patronage(&[
        "report",
        RETAIL,
        "--config",
        config.to_str().unwrap(),
        "--whatif",
        "5",
        "--whatif-period",
        "52",
        "--whatif-by",
        "quadrant",
        "--out",
        flags.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(code, 0, "{err}");
    let again: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(flags.join("report.json")).unwrap()).unwrap();
    assert_eq!(again["whatif"], json["whatif"]);
}

#[test]
fn pipeline_whatif_by_segment_rescores_the_full_period() {
    // Scores on the calibration period: the what-if refits on the full period, as the
    // stage does; without the matrix it groups by RFM segment and has no net figures.
    let mut c = PipelineConfig {
        time: SummaryOptions::weekly().calibration_end("2024-03-31"),
        ..PipelineConfig::default()
    };
    c.clv.spend = SpendSource::Historic;
    c.clv.scoring = ScoringPeriod::Fitted;
    c.whatif.retention = Some(-1.0);
    c.whatif.period = Some(26.0);
    let p = Pipeline::builder()
        .config(c)
        .without_profitability()
        .build()
        .unwrap();
    let out = p.run(&p.scan(RETAIL).unwrap()).unwrap();
    let got = out.whatif.as_ref().expect("the what-if ran");
    let mut set = settings(ModelKind::BgNbd, -1.0);
    set.period = 26.0;
    set.by = Some(WhatIfGroup::Segment);
    let stage = whatif(&table(), &set, None).unwrap();
    assert_eq!(got.to_json(), stage.to_json());
    assert_eq!(got.grouped_by, Some(WhatIfGroup::Segment));
    assert!(got.total.net_gain.is_none() && got.total.gain < 0.0);
    assert_groups_add_up(got);
}

#[test]
fn a_whatif_out_of_reach_is_skipped_with_the_reason() {
    let p = Pipeline::builder()
        .clv(historic())
        .without_profitability()
        .whatif(60.0, None, None)
        .build()
        .unwrap();
    let out = p.run(&p.scan(RETAIL).unwrap()).unwrap();
    assert!(out.whatif.is_none());
    assert!(out.customers.column("clv_whatif").is_err());
    let skip: Vec<_> = out
        .skipped
        .iter()
        .filter(|s| s.stage == Stage::WhatIf)
        .collect();
    assert_eq!(skip.len(), 1);
    assert!(
        patronage::report::charts::skipped(&out)
            .iter()
            .any(|(id, _)| *id == "whatif")
    );
    // The other stages ran.
    assert!(out.clv.is_some() && out.segmentation.is_some());
    // By quadrant when the matrix is on but skipped for want of cost rates.
    let p = Pipeline::builder()
        .clv(historic())
        .whatif(5.0, None, Some(WhatIfGroup::Quadrant))
        .build()
        .unwrap();
    let out = p.run(&p.scan(RETAIL).unwrap()).unwrap();
    assert!(out.profitability.is_none() && out.whatif.is_none());
    assert!(out.skipped.iter().any(|s| s.stage == Stage::WhatIf));
}

#[test]
fn bad_whatif_settings_are_refused_when_the_pipeline_is_built() {
    let build = |toml: &str| {
        Pipeline::builder()
            .config(PipelineConfig::from_toml(toml).unwrap())
            .build()
    };
    let option_of = |toml: &str| match build(toml) {
        Err(Error::InvalidOption { option, .. }) => option,
        other => panic!("{toml}: {other:?}"),
    };
    for (toml, option) in [
        ("[whatif]\nretention = 0\n", "whatif.retention"),
        ("[whatif]\nretention = nan\n", "whatif.retention"),
        ("[whatif]\nretention = inf\n", "whatif.retention"),
        ("[whatif]\nperiod = 26\n", "whatif.retention"),
        ("[whatif]\nby = \"segment\"\n", "whatif.retention"),
        ("[whatif]\nretention = 5\nperiod = 0\n", "whatif.period"),
        ("[whatif]\nretention = 5\nperiod = -52\n", "whatif.period"),
        (
            "[clv]\nenabled = false\n[whatif]\nretention = 5\n",
            "whatif.retention",
        ),
        (
            "[clv]\nderived_covariates = [\"first-order-value\"]\n[whatif]\nretention = 5\n",
            "whatif.retention",
        ),
        (
            "[profitability]\nenabled = false\n[whatif]\nretention = 5\nby = \"quadrant\"\n",
            "whatif.by",
        ),
    ] {
        assert_eq!(option_of(toml), option, "{toml}");
    }
    assert!(matches!(
        PipelineConfig::from_toml("[whatif]\nby = \"cluster\"\n"),
        Err(Error::Parse { .. })
    ));
    assert!(build("[whatif]\nretention = 5\n").is_ok());
    // On the command line: usage errors (exit 2) before the data are read.
    for args in [
        &["--whatif", "0"][..],
        &["--whatif-period", "26"],
        &["--whatif", "5", "--whatif-by", "cluster"],
        &["--whatif", "5", "--whatif-period", "-1"],
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut all = vec!["report", RETAIL, "--out", dir.path().to_str().unwrap()];
        all.extend_from_slice(args);
        let (code, _, err) = patronage(&all);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(!dir.path().join("report.json").exists(), "{args:?}");
    }
}
