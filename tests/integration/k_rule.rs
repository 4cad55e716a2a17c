//! Choosing k (issue #17, "Choosing k honestly"): the gap statistic and the stability
//! criterion beside the silhouette, their settings' validation, their determinism, and
//! the study of which rule recovers planted groups most often over a varied, seeded set
//! of simulated populations (`k_rule_study`, ignored: run it with
//! `cargo test --test integration k_rule_study -- --ignored --nocapture`, about a
//! minute; a quick version on four of the populations runs in the suite).

use patronage::Error;
use patronage::segmentation::{
    FeatureSpec, KChoice, KRule, Scale, Segmentation, SegmentationSpec, adjusted_rand_index,
    segment_columns,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// Planted Gaussian groups in `d` standardised dimensions: `sizes[g]` points around
/// centre `g` (a corner of a simplex-like layout at distance `separation`), spread 1.
/// Returns the columns `x0, x1, ...` and the planted labels.
fn gaussian_groups(
    sizes: &[usize],
    d: usize,
    separation: f64,
    seed: u64,
) -> (Vec<Vec<f64>>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let normal = Normal::new(0.0, 1.0).unwrap();
    let mut cols = vec![Vec::new(); d];
    let mut truth = Vec::new();
    for (g, &size) in sizes.iter().enumerate() {
        // Centre g: `separation` along axis g mod d, shifted along the next axis for
        // groups beyond the first d, so every pair of centres is at least `separation`
        // apart.
        let mut centre = vec![0.0; d];
        if g > 0 {
            centre[(g - 1) % d] = separation * (1 + (g - 1) / d) as f64;
        }
        for _ in 0..size {
            for j in 0..d {
                cols[j].push(centre[j] + normal.sample(&mut rng));
            }
            truth.push(g);
        }
    }
    (cols, truth)
}

/// The columns as features taken as they are (standardised, no log).
fn plain_spec(d: usize) -> SegmentationSpec {
    SegmentationSpec::default().features(
        (0..d)
            .map(|j| FeatureSpec {
                column: format!("x{j}"),
                log1p: false,
                scale: Scale::Standardize,
            })
            .collect(),
    )
}

fn run(cols: &[Vec<f64>], names: &[String], spec: &SegmentationSpec) -> Segmentation {
    let columns: Vec<(&str, &[f64])> = names
        .iter()
        .zip(cols)
        .map(|(n, v)| (n.as_str(), v.as_slice()))
        .collect();
    segment_columns(&columns, spec).unwrap()
}

fn names(d: usize) -> Vec<String> {
    (0..d).map(|j| format!("x{j}")).collect()
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

/// Four well-separated Gaussian groups of different sizes in three dimensions: the gap
/// statistic and the stability criterion both choose k = 4 out of 2..=8, fill in their
/// columns of the k table (and only theirs), and recover the groups.
#[test]
fn gap_and_stability_recover_planted_gaussian_groups() {
    let (cols, truth) = gaussian_groups(&[700, 500, 400, 300], 3, 7.0, 5);
    let names = names(3);
    for rule in [KRule::Gap, KRule::Stability] {
        let seg = run(&cols, &names, &plain_spec(3).k_rule(rule));
        assert_eq!(seg.k_rule, rule);
        assert_eq!(seg.chosen_k, 4, "{rule:?}: {:#?}", seg.k_table);
        let ari = adjusted_rand_index(&seg.assignments, &truth);
        assert!(ari >= 0.95, "{rule:?}: ARI {ari}");
        assert_eq!(seg.k_table.len(), 7);
        for row in &seg.k_table {
            assert_eq!(row.gap.is_some(), rule == KRule::Gap, "{row:?}");
            assert_eq!(row.gap_se.is_some(), rule == KRule::Gap, "{row:?}");
            assert_eq!(row.stability.is_some(), rule == KRule::Stability, "{row:?}");
            // The silhouette is reported whatever the rule.
            assert!(row.silhouette.is_some());
        }
        let json = seg.summary_json();
        assert_eq!(json["k_rule"], serde_json::to_value(rule).unwrap());
        assert_eq!(json["k_selection_rule"], rule.describe());
    }
    // Six groups, two of them small: both rules still find six.
    let (cols, truth) = gaussian_groups(&[600, 500, 400, 300, 150, 100], 3, 8.0, 9);
    for rule in [KRule::Gap, KRule::Stability] {
        let seg = run(&cols, &names, &plain_spec(3).k_rule(rule));
        assert_eq!(seg.chosen_k, 6, "{rule:?}: {:#?}", seg.k_table);
        let ari = adjusted_rand_index(&seg.assignments, &truth);
        assert!(ari >= 0.95, "{rule:?}: ARI {ari}");
    }
}

/// The gap rule's figures on its own terms: on four planted groups Gap(4) is at least
/// Gap(5) - s(5) and Gap(3) falls short of Gap(4) - s(4); s(k) is positive.
#[test]
fn gap_figures_satisfy_the_rule_at_the_chosen_k() {
    let (cols, _) = gaussian_groups(&[500, 500, 500, 500], 3, 7.0, 21);
    let seg = run(&cols, &names(3), &plain_spec(3).k_rule(KRule::Gap));
    let g = |k: usize| {
        let row = seg.k_table.iter().find(|r| r.k == k).unwrap();
        (row.gap.unwrap(), row.gap_se.unwrap())
    };
    assert_eq!(seg.chosen_k, 4, "{:#?}", seg.k_table);
    assert!(g(4).0 >= g(5).0 - g(5).1);
    assert!(g(3).0 < g(4).0 - g(4).1);
    assert!(seg.k_table.iter().all(|r| r.gap_se.unwrap() > 0.0));
}

/// The stability of the planted k is close to 1 and above that of a k that splits a
/// group.
#[test]
fn stability_is_highest_at_the_planted_k() {
    let (cols, _) = gaussian_groups(&[500, 500, 500], 2, 8.0, 33);
    let seg = run(
        &cols,
        &names(2),
        &plain_spec(2)
            .k(KChoice::Range(2, 6))
            .k_rule(KRule::Stability),
    );
    let s = |k: usize| seg.k_table.iter().find(|r| r.k == k).unwrap().stability;
    assert_eq!(seg.chosen_k, 3, "{:#?}", seg.k_table);
    assert!(s(3).unwrap() > 0.99, "{:?}", s(3));
    assert!(s(3).unwrap() > s(4).unwrap() && s(3).unwrap() > s(6).unwrap());
}

/// Seeded: gap and stability give the same bits on one and two threads.
#[test]
fn gap_and_stability_are_identical_on_one_and_two_threads() {
    let (cols, _) = gaussian_groups(&[900, 600, 500], 3, 5.0, 17);
    let names = names(3);
    for rule in [KRule::Gap, KRule::Stability] {
        let spec = plain_spec(3).k(KChoice::Range(2, 6)).k_rule(rule).seed(11);
        let one = in_pool(1, || run(&cols, &names, &spec));
        let two = in_pool(2, || run(&cols, &names, &spec));
        assert_eq!(one, two, "{rule:?}");
        let bits = |s: &Segmentation| {
            s.k_table
                .iter()
                .flat_map(|r| [r.gap, r.gap_se, r.stability])
                .map(|v| v.map(f64::to_bits))
                .collect::<Vec<_>>()
        };
        assert_eq!(bits(&one), bits(&two), "{rule:?}");
        // Another seed draws other reference sets or subsamples.
        let other = run(&cols, &names, &spec.clone().seed(12));
        assert_ne!(bits(&one), bits(&other), "{rule:?}");
    }
}

/// A fixed k ignores the rule (nothing to choose; no gap or stability computed); the
/// silhouette rule computes neither.
#[test]
fn fixed_k_and_the_silhouette_compute_no_gap_or_stability() {
    let (cols, _) = gaussian_groups(&[300, 300], 2, 6.0, 2);
    let names = names(2);
    for rule in [KRule::Silhouette, KRule::Gap, KRule::Stability] {
        let seg = run(
            &cols,
            &names,
            &plain_spec(2).k(KChoice::Fixed(2)).k_rule(rule),
        );
        assert_eq!(seg.chosen_k, 2);
        assert!(
            seg.k_table
                .iter()
                .all(|r| r.gap.is_none() && r.stability.is_none())
        );
    }
    let seg = run(&cols, &names, &plain_spec(2).k_rule(KRule::Silhouette));
    assert!(
        seg.k_table
            .iter()
            .all(|r| r.gap.is_none() && r.stability.is_none())
    );
}

/// Bad tuning values are refused before any fit, naming the setting.
#[test]
fn bad_gap_and_stability_settings_are_refused_by_name() {
    let (cols, _) = gaussian_groups(&[50, 50], 2, 6.0, 1);
    let names = names(2);
    let columns: Vec<(&str, &[f64])> = names
        .iter()
        .zip(&cols)
        .map(|(n, v)| (n.as_str(), v.as_slice()))
        .collect();
    let cases = [
        (
            plain_spec(2).gap_references(0),
            "segmentation.gap_references",
        ),
        (
            plain_spec(2).gap_references(1),
            "segmentation.gap_references",
        ),
        (
            plain_spec(2).stability_pairs(0),
            "segmentation.stability_pairs",
        ),
        (
            plain_spec(2).stability_fraction(0.5),
            "segmentation.stability_fraction",
        ),
        (
            plain_spec(2).stability_fraction(1.0),
            "segmentation.stability_fraction",
        ),
        (
            plain_spec(2).stability_fraction(f64::NAN),
            "segmentation.stability_fraction",
        ),
        (
            plain_spec(2).stability_fraction(0.0),
            "segmentation.stability_fraction",
        ),
    ];
    for (spec, want) in cases {
        match segment_columns(&columns, &spec) {
            Err(Error::InvalidOption { option, .. }) => assert_eq!(option, want),
            other => panic!("{want}: {other:?}"),
        }
    }
    // The edges that are allowed.
    for spec in [
        plain_spec(2).gap_references(2),
        plain_spec(2).stability_pairs(1),
        plain_spec(2).stability_fraction(0.51),
        plain_spec(2).stability_fraction(0.99),
    ] {
        assert!(segment_columns(&columns, &spec).is_ok());
    }
}

/// The default rule stays the silhouette (the study's finding: no rule is nowhere worse
/// than it); a spec saved before the rule existed loads with it and the default tuning
/// values.
#[test]
fn specs_without_a_k_rule_still_load() {
    let mut json = serde_json::to_value(SegmentationSpec::default()).unwrap();
    let obj = json.as_object_mut().unwrap();
    for key in [
        "k_rule",
        "gap_references",
        "stability_pairs",
        "stability_fraction",
    ] {
        assert!(obj.remove(key).is_some(), "{key}");
    }
    let spec: SegmentationSpec = serde_json::from_value(json).unwrap();
    assert_eq!(spec, SegmentationSpec::default());
    assert_eq!(spec.k_rule, KRule::Silhouette);
    assert_eq!(KRule::default(), KRule::Silhouette);
    assert_eq!(
        (
            spec.gap_references,
            spec.stability_pairs,
            spec.stability_fraction
        ),
        (10, 5, 0.8)
    );
}

/// `k_rule` and its tuning keys in the `[segmentation]` table of the pipeline file; a
/// rule that does not exist is refused.
#[test]
fn k_rule_in_the_pipeline_file() {
    use patronage::pipeline::PipelineConfig;
    let c = PipelineConfig::from_toml(
        "[segmentation]\nk_rule = \"stability\"\nstability_pairs = 3\nstability_fraction = 0.7\ngap_references = 4\n",
    )
    .unwrap();
    let spec = &c.segmentation.spec;
    assert_eq!(spec.k_rule, KRule::Stability);
    assert_eq!(
        (
            spec.stability_pairs,
            spec.stability_fraction,
            spec.gap_references
        ),
        (3, 0.7, 4)
    );
    let c = PipelineConfig::from_toml("[segmentation]\nk_rule = \"gap\"\n").unwrap();
    assert_eq!(c.segmentation.spec.k_rule, KRule::Gap);
    assert!(PipelineConfig::from_toml("[segmentation]\nk_rule = \"elbow\"\n").is_err());
    // A bad tuning value is refused when the pipeline is built, naming the key.
    let c = PipelineConfig::from_toml("[segmentation]\nstability_fraction = 1.5\n").unwrap();
    match patronage::pipeline::Pipeline::builder().config(c).build() {
        Err(Error::InvalidOption { option, .. }) => {
            assert_eq!(option, "segmentation.stability_fraction")
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
    // The rule's spellings parse; another word is a usage error naming the setting.
    for rule in RULES {
        assert_eq!(rule.name().parse::<KRule>().unwrap(), rule);
        assert_eq!(rule.to_string(), rule.name());
    }
    match "elbow".parse::<KRule>() {
        Err(Error::InvalidOption { option, .. }) => assert_eq!(option, "segmentation.k_rule"),
        other => panic!("{other:?}"),
    }
}

/// `patronage segment --k-rule` and `patronage report --k-rule`: the rule reaches the
/// JSON, the k table and the page; a bad rule is a usage error naming the flag.
#[test]
fn k_rule_on_the_command_line() {
    use crate::cli::patronage;
    let (code, json, err) = patronage(&[
        "segment",
        "datasets/cdnow/CDNOW_master.txt",
        "--k-range",
        "2..4",
        "--k-rule",
        "stability",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("k chosen by stability"), "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["k_rule"], "stability");
    let table = v["k_table"].as_array().unwrap();
    assert_eq!(table.len(), 3);
    assert!(table.iter().all(|r| r["stability"].is_f64()), "{table:?}");
    assert!(table.iter().all(|r| r["gap"].is_null()));
    let (code, _, err) = patronage(&[
        "segment",
        "datasets/cdnow/CDNOW_master.txt",
        "--k-rule",
        "elbow",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--k-rule"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let (code, _, err) = patronage(&[
        "report",
        "datasets/retail_sample.csv",
        "--k-rule",
        "gap",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(code, 0, "{err}");
    let figures: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(figures["segmentation"]["k_rule"], "gap");
    let rows = figures["segmentation"]["k_table"].as_array().unwrap();
    assert!(
        rows.iter()
            .all(|r| r["gap"].is_f64() && r["gap_se"].is_f64())
    );
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(page.contains("Choosing the number of segments"));
    assert!(page.contains("<th>gap</th>"), "the k table shows the gap");
    assert!(!page.contains("<th>stability (ARI)</th>"));
    assert!(page.contains("chosen by the gap rule"));
    let (code, _, err) = patronage(&[
        "report",
        "datasets/retail_sample.csv",
        "--k-rule",
        "elbow",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--k-rule"), "{err}");
}

// ---------------------------------------------------------------------------------
// The study: which rule recovers planted groups most often.
// ---------------------------------------------------------------------------------

/// One planted behaviour group, in the business's units: the medians of days since the
/// last purchase, number of purchases and total spend, and its share of the customers.
/// Purchases of 1 mean one-time buyers (exactly one purchase each).
#[derive(Clone, Copy)]
struct Group {
    share: f64,
    recency_days: f64,
    purchases: f64,
    spend: f64,
}

const fn g(share: f64, recency_days: f64, purchases: f64, spend: f64) -> Group {
    Group {
        share,
        recency_days,
        purchases,
        spend,
    }
}

/// A simulated population: groups, customers, the spread of each feature's logarithm
/// within a group (smaller: better separated) and a seed.
struct Population {
    name: &'static str,
    customers: usize,
    spread: f64,
    groups: Vec<Group>,
    seed: u64,
}

/// The study's populations: 2 to 6 groups, balanced and unbalanced (down to 3% of the
/// customers), well separated to overlapping, and the issue's case: frequency dominates
/// the geometry and two frequent-buyer groups differ mainly in spend.
fn populations() -> Vec<Population> {
    let p = |name, customers, spread, groups, seed| Population {
        name,
        customers,
        spread,
        groups,
        seed,
    };
    vec![
        p(
            "2 balanced: active vs lapsed",
            2000,
            0.35,
            vec![g(0.5, 20.0, 8.0, 400.0), g(0.5, 300.0, 2.0, 60.0)],
            101,
        ),
        p(
            "2 unbalanced 90/10: a few big spenders",
            3000,
            0.35,
            vec![g(0.9, 200.0, 2.0, 60.0), g(0.1, 15.0, 12.0, 900.0)],
            102,
        ),
        p(
            "3 balanced, well separated",
            2400,
            0.3,
            vec![
                g(1.0 / 3.0, 15.0, 10.0, 600.0),
                g(1.0 / 3.0, 120.0, 3.0, 150.0),
                g(1.0 / 3.0, 400.0, 1.0, 30.0),
            ],
            103,
        ),
        p(
            "3 unbalanced 70/20/10",
            3000,
            0.35,
            vec![
                g(0.7, 250.0, 1.0, 35.0),
                g(0.2, 60.0, 4.0, 200.0),
                g(0.1, 10.0, 15.0, 1200.0),
            ],
            104,
        ),
        p(
            "3 overlapping",
            2400,
            0.5,
            vec![
                g(0.4, 200.0, 2.0, 80.0),
                g(0.35, 40.0, 6.0, 300.0),
                g(0.25, 10.0, 20.0, 1500.0),
            ],
            105,
        ),
        p(
            "4, issue's case: frequent buyers differ in spend",
            3000,
            0.3,
            vec![
                g(0.4, 350.0, 1.0, 40.0),
                g(0.3, 150.0, 3.0, 120.0),
                g(0.15, 20.0, 15.0, 450.0),
                g(0.15, 20.0, 15.0, 1800.0),
            ],
            106,
        ),
        p(
            "4 balanced, well separated",
            2400,
            0.25,
            vec![
                g(0.25, 10.0, 20.0, 2000.0),
                g(0.25, 60.0, 6.0, 300.0),
                g(0.25, 250.0, 2.0, 150.0),
                g(0.25, 400.0, 1.0, 20.0),
            ],
            107,
        ),
        p(
            "4 unbalanced 55/25/15/5",
            4000,
            0.3,
            vec![
                g(0.55, 300.0, 1.0, 30.0),
                g(0.25, 90.0, 3.0, 120.0),
                g(0.15, 20.0, 8.0, 500.0),
                g(0.05, 5.0, 30.0, 4000.0),
            ],
            108,
        ),
        p(
            "5 moderate",
            3000,
            0.35,
            vec![
                g(0.2, 400.0, 1.0, 25.0),
                g(0.2, 200.0, 2.0, 250.0),
                g(0.2, 60.0, 5.0, 100.0),
                g(0.2, 15.0, 12.0, 600.0),
                g(0.2, 5.0, 30.0, 3000.0),
            ],
            109,
        ),
        p(
            "5 unbalanced, issue's case: one-time buyers differ in recency",
            4000,
            0.3,
            vec![
                g(0.35, 450.0, 1.0, 35.0),
                g(0.3, 40.0, 1.0, 35.0),
                g(0.2, 120.0, 4.0, 160.0),
                g(0.1, 15.0, 16.0, 500.0),
                g(0.05, 15.0, 16.0, 2200.0),
            ],
            110,
        ),
        p(
            "6 well separated",
            3600,
            0.25,
            vec![
                g(1.0 / 6.0, 500.0, 1.0, 20.0),
                g(1.0 / 6.0, 30.0, 1.0, 150.0),
                g(1.0 / 6.0, 200.0, 3.0, 60.0),
                g(1.0 / 6.0, 60.0, 8.0, 800.0),
                g(1.0 / 6.0, 10.0, 25.0, 300.0),
                g(1.0 / 6.0, 5.0, 40.0, 5000.0),
            ],
            111,
        ),
        p(
            "6 unbalanced 40/25/15/10/7/3",
            5000,
            0.3,
            vec![
                g(0.4, 350.0, 1.0, 30.0),
                g(0.25, 120.0, 2.0, 90.0),
                g(0.15, 40.0, 5.0, 250.0),
                g(0.1, 250.0, 6.0, 900.0),
                g(0.07, 10.0, 15.0, 700.0),
                g(0.03, 5.0, 40.0, 6000.0),
            ],
            112,
        ),
    ]
}

/// Populations written after the rules (and the stability tolerance) were fixed, to
/// check the study's finding on data it was not read from.
fn held_out_populations() -> Vec<Population> {
    let p = |name, customers, spread, groups, seed| Population {
        name,
        customers,
        spread,
        groups,
        seed,
    };
    vec![
        p(
            "held out: 2 overlapping, 600 customers",
            600,
            0.5,
            vec![g(0.6, 60.0, 4.0, 200.0), g(0.4, 300.0, 1.5, 50.0)],
            201,
        ),
        p(
            "held out: 3 differing only in spend",
            2400,
            0.3,
            vec![
                g(0.4, 30.0, 5.0, 100.0),
                g(0.35, 30.0, 5.0, 400.0),
                g(0.25, 30.0, 5.0, 1600.0),
            ],
            202,
        ),
        p(
            "held out: 4, frequent buyers differ 3x in spend",
            3000,
            0.3,
            vec![
                g(0.45, 350.0, 1.0, 40.0),
                g(0.3, 150.0, 3.0, 120.0),
                g(0.15, 20.0, 18.0, 500.0),
                g(0.1, 20.0, 18.0, 1500.0),
            ],
            203,
        ),
        p(
            "held out: 5 with a 2% group",
            5000,
            0.3,
            vec![
                g(0.5, 400.0, 1.0, 25.0),
                g(0.25, 150.0, 2.0, 80.0),
                g(0.15, 50.0, 5.0, 300.0),
                g(0.08, 15.0, 12.0, 900.0),
                g(0.02, 5.0, 40.0, 8000.0),
            ],
            204,
        ),
        p(
            "held out: 6 overlapping",
            4000,
            0.4,
            vec![
                g(0.25, 500.0, 1.0, 20.0),
                g(0.2, 40.0, 1.0, 120.0),
                g(0.2, 200.0, 3.0, 60.0),
                g(0.15, 60.0, 8.0, 800.0),
                g(0.12, 10.0, 25.0, 300.0),
                g(0.08, 5.0, 40.0, 5000.0),
            ],
            205,
        ),
    ]
}

/// The population's three columns and planted labels: each feature's logarithm normal
/// around the group's median with the population's spread; purchases whole numbers of
/// at least 1 (one-time groups exactly 1), recency whole days.
fn draw(pop: &Population) -> (Vec<Vec<f64>>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(pop.seed);
    let noise = Normal::new(0.0, pop.spread).unwrap();
    let mut cols = vec![Vec::new(), Vec::new(), Vec::new()];
    let mut truth = Vec::new();
    for (gi, grp) in pop.groups.iter().enumerate() {
        let size = (grp.share * pop.customers as f64).round() as usize;
        for _ in 0..size {
            let mut draw = |median: f64| median * noise.sample(&mut rng).exp();
            let recency = draw(grp.recency_days).round();
            let purchases = if grp.purchases <= 1.0 {
                1.0
            } else {
                draw(grp.purchases).round().max(1.0)
            };
            let spend = draw(grp.spend);
            cols[0].push(recency);
            cols[1].push(purchases);
            cols[2].push(spend);
            truth.push(gi);
        }
    }
    (cols, truth)
}

/// What one rule did on one population.
#[derive(Debug, Clone, Copy)]
struct Outcome {
    k: usize,
    ari: f64,
}

/// One population's results: the planted k, the ARI of a fit with k fixed at the
/// planted value (how recoverable the groups are at all), and each rule's outcome.
struct Row {
    name: &'static str,
    planted: usize,
    oracle_ari: f64,
    outcomes: Vec<(KRule, Outcome)>,
}

const RULES: [KRule; 3] = [KRule::Silhouette, KRule::Gap, KRule::Stability];

/// Runs every rule (the default features: recency, purchases, spend, log1p then
/// standardised; k in 2..=8; seed 42) on a population.
fn study_row(pop: &Population) -> Row {
    let (cols, truth) = draw(pop);
    study_columns(pop.name, pop.groups.len(), &cols, &truth)
}

/// [`study_row`] on given columns (recency_days, n_purchases, total_spend) and labels.
fn study_columns(name: &'static str, planted: usize, cols: &[Vec<f64>], truth: &[usize]) -> Row {
    let names: Vec<String> = ["recency_days", "n_purchases", "total_spend"]
        .map(String::from)
        .to_vec();
    let base = SegmentationSpec::default().k(KChoice::Range(2, 8));
    let oracle = run(cols, &names, &base.clone().k(KChoice::Fixed(planted)));
    let outcomes = RULES
        .iter()
        .map(|&rule| {
            let seg = run(cols, &names, &base.clone().k_rule(rule));
            let ari = adjusted_rand_index(&seg.assignments, truth);
            (
                rule,
                Outcome {
                    k: seg.chosen_k,
                    ari,
                },
            )
        })
        .collect();
    Row {
        name,
        planted,
        oracle_ari: adjusted_rand_index(&oracle.assignments, truth),
        outcomes,
    }
}

/// The four behaviour groups of simulated transactions of the segmentation tests
/// (champions, occasional, lapsed, big-ticket; `simulate::simulate_groups`), through
/// the summary.
fn transaction_groups_row() -> Row {
    let (summary, truth) = crate::segmentation::four_groups();
    let df = summary.frame();
    let cols: Vec<Vec<f64>> = ["recency_days", "n_purchases", "total_spend"]
        .iter()
        .map(|c| {
            df.column(c)
                .unwrap()
                .cast(&polars::prelude::DataType::Float64)
                .unwrap()
                .f64()
                .unwrap()
                .into_no_null_iter()
                .collect()
        })
        .collect();
    study_columns(
        "held out: 4 behaviour groups of simulated transactions",
        4,
        &cols,
        &truth,
    )
}

fn outcome(row: &Row, rule: KRule) -> Outcome {
    row.outcomes.iter().find(|(r, _)| *r == rule).unwrap().1
}

/// A rule is worse than the silhouette on a population when the silhouette recovers the
/// planted k and the rule does not, or when its ARI to the planted labels is lower by
/// more than 0.01.
fn worse_than_silhouette(row: &Row, rule: KRule) -> bool {
    let (s, o) = (outcome(row, KRule::Silhouette), outcome(row, rule));
    (s.k == row.planted && o.k != row.planted) || o.ari < s.ari - 0.01
}

/// Prints the study's table (Markdown, as in docs/guide/segmentation.md) and returns,
/// per rule, the populations recovered, the mean ARI and the populations where it is
/// worse than the silhouette.
fn report(rows: &[Row]) -> Vec<(KRule, usize, f64, usize)> {
    println!(
        "| population | planted k | ARI at planted k | silhouette k (ARI) | gap k (ARI) | stability k (ARI) |"
    );
    println!("|---|---|---|---|---|---|");
    for row in rows {
        let cell = |rule| {
            let o = outcome(row, rule);
            format!("{} ({:.2})", o.k, o.ari)
        };
        println!(
            "| {} | {} | {:.2} | {} | {} | {} |",
            row.name,
            row.planted,
            row.oracle_ari,
            cell(KRule::Silhouette),
            cell(KRule::Gap),
            cell(KRule::Stability)
        );
    }
    let totals: Vec<(KRule, usize, f64, usize)> = RULES
        .iter()
        .map(|&rule| {
            let hits = rows
                .iter()
                .filter(|r| outcome(r, rule).k == r.planted)
                .count();
            let mean = rows.iter().map(|r| outcome(r, rule).ari).sum::<f64>() / rows.len() as f64;
            let worse = rows
                .iter()
                .filter(|r| worse_than_silhouette(r, rule))
                .count();
            (rule, hits, mean, worse)
        })
        .collect();
    println!();
    println!("| rule | planted k recovered | mean ARI | worse than the silhouette on |");
    println!("|---|---|---|---|");
    for (rule, hits, mean, worse) in &totals {
        println!(
            "| {rule:?} | {hits} of {} | {mean:.3} | {worse} |",
            rows.len()
        );
    }
    totals
}

/// The full study (12 populations, then 6 held out; three rules): prints the tables of
/// the segmentation guide and checks its findings: the stability rule recovers the
/// planted k most often, but both it and the gap statistic are worse than the
/// silhouette on some population (the stability on the four behaviour groups of
/// simulated transactions), so the silhouette stays the default.
#[test]
#[ignore = "the k-rule study: about a minute; run with --ignored --nocapture"]
fn k_rule_study() {
    let study: Vec<Row> = populations().iter().map(study_row).collect();
    let mut held_out: Vec<Row> = held_out_populations().iter().map(study_row).collect();
    held_out.push(transaction_groups_row());
    println!("\nstudy:\n");
    let _ = report(&study);
    println!("\nheld out:\n");
    let _ = report(&held_out);
    println!("\nall:\n");
    let all: Vec<Row> = study.into_iter().chain(held_out).collect();
    let totals = report(&all);
    let of = |rule| *totals.iter().find(|t| t.0 == rule).unwrap();
    let (silhouette, gap, stability) =
        (of(KRule::Silhouette), of(KRule::Gap), of(KRule::Stability));
    assert!(
        stability.1 > gap.1 && stability.1 > silhouette.1,
        "{totals:?}"
    );
    assert!(gap.3 > 0 && stability.3 > 0, "{totals:?}");
    let four = all.last().unwrap();
    assert_eq!(outcome(four, KRule::Silhouette).k, 4);
    assert_eq!(outcome(four, KRule::Stability).k, 5);
}

/// The study's chosen k on four of its populations (the issue's case among them), as
/// recorded in docs/guide/segmentation.md: the silhouette merges the two frequent-buyer
/// groups that differ in spend, the gap statistic splits the large group of the 90/10
/// population, the stability rule recovers all four.
#[test]
fn k_rule_study_quick() {
    let pops = populations();
    let want = [
        ("2 unbalanced 90/10: a few big spenders", [2, 3, 2]),
        (
            "4, issue's case: frequent buyers differ in spend",
            [2, 4, 4],
        ),
        (
            "5 unbalanced, issue's case: one-time buyers differ in recency",
            [4, 5, 5],
        ),
        ("6 unbalanced 40/25/15/10/7/3", [6, 6, 6]),
    ];
    for (name, ks) in want {
        let pop = pops.iter().find(|p| p.name == name).unwrap();
        let row = study_row(pop);
        let got: Vec<usize> = RULES.iter().map(|&r| outcome(&row, r).k).collect();
        assert_eq!(got, ks, "{name}: silhouette, gap, stability");
        let stability = outcome(&row, KRule::Stability);
        assert!(stability.ari >= 0.97, "{name}: ARI {}", stability.ari);
        assert!(!worse_than_silhouette(&row, KRule::Stability), "{name}");
    }
}
