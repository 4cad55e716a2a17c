//! Segmentation: recovery of known behaviour groups, determinism, reuse of a fitted
//! model, and the edge cases.

use patronage::prelude::*;
use patronage::segmentation::{
    FeatureSpec, KChoice, Method, SegmentModel, SegmentationSpec, adjusted_rand_index, segment,
};
use patronage::simulate::{SimulationSpec, simulate_groups};
use polars::prelude::*;

/// Four clearly different groups of 1,000 customers each (rates and spend with little
/// heterogeneity inside a group; dropout rare except in the lapsed group): champions
/// (about 1 purchase a week, $100), occasional low spenders (0.3 a week, $15), lapsed
/// (0.5 a week, half drop out after each repeat purchase, $40) and big-ticket buyers
/// (0.15 a week, $500).
pub(crate) fn four_groups() -> (Summary, Vec<usize>) {
    let base = SimulationSpec {
        customers: 1000,
        r: 20.0,
        a: 1.0,
        b: 999.0,
        p: 20.0,
        q: 50.0,
        return_rate: 0.0,
        ..SimulationSpec::default()
    };
    let groups = vec![
        (
            "champions".to_string(),
            SimulationSpec {
                seed: 1,
                alpha: 20.0,
                gamma: 245.0,
                ..base.clone()
            },
        ),
        (
            "occasional".to_string(),
            SimulationSpec {
                seed: 2,
                alpha: 67.0,
                gamma: 37.0,
                ..base.clone()
            },
        ),
        (
            "lapsed".to_string(),
            SimulationSpec {
                seed: 3,
                alpha: 40.0,
                a: 50.0,
                b: 50.0,
                gamma: 98.0,
                ..base.clone()
            },
        ),
        (
            "big-ticket".to_string(),
            SimulationSpec {
                seed: 4,
                alpha: 133.0,
                gamma: 1225.0,
                ..base
            },
        ),
    ];
    let sim = simulate_groups(&groups).unwrap();
    let summary = Transactions::from_frame(sim.transactions.clone(), TransactionSchema::default())
        .unwrap()
        .summary(&SummaryOptions::weekly())
        .unwrap();
    // Truth in the summary's (customer id) order.
    let truth: std::collections::HashMap<String, u32> = sim
        .customers
        .column("customer_id")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .zip(sim.customers.column("group").unwrap().u32().unwrap().iter())
        .map(|(id, g)| (id.unwrap().to_string(), g.unwrap()))
        .collect();
    let labels = summary
        .frame()
        .column("customer_id")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|id| truth[id.unwrap()] as usize)
        .collect();
    (summary, labels)
}

#[test]
fn recovers_four_behaviour_groups() {
    let (summary, truth) = four_groups();
    let df = summary.frame();
    let seg = segment(df, &SegmentationSpec::default()).unwrap();
    let ari = adjusted_rand_index(&seg.assignments, &truth);
    assert_eq!(seg.chosen_k, 4, "{:#?}", seg.k_table);
    assert!(ari >= 0.9, "ARI {ari}");
    assert_eq!(seg.k_table.len(), 7);
    assert_eq!(seg.silhouette_sample_size, 4000);
    // Profiles: numbered by revenue, shares add up, the champions come first.
    assert_eq!(seg.profiles.len(), 4);
    let total: f64 = seg.profiles.iter().map(|p| p.share).sum();
    assert!((total - 1.0).abs() < 1e-12);
    assert!(
        seg.profiles[0].label.contains("frequent"),
        "{}",
        seg.profiles[0].label
    );
    let labels: std::collections::HashSet<&str> =
        seg.profiles.iter().map(|p| p.label.as_str()).collect();
    assert_eq!(labels.len(), 4, "labels are distinct");
    // The Gaussian mixture finds them too.
    let gmm = segment(
        df,
        &SegmentationSpec::default()
            .k(KChoice::Fixed(4))
            .method(Method::GaussianMixture),
    )
    .unwrap();
    let ari = adjusted_rand_index(&gmm.assignments, &truth);
    assert!(ari >= 0.9, "GMM ARI {ari}");
    assert_eq!(gmm.model.predict(df).unwrap(), gmm.assignments);
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

#[test]
fn same_seed_same_labels_on_one_and_two_threads_and_predict_reproduces_them() {
    let (summary, _) = four_groups();
    let df = summary.frame();
    let spec = SegmentationSpec::default().k(KChoice::Range(2, 5)).seed(7);
    let one = in_pool(1, || segment(df, &spec).unwrap());
    let two = in_pool(2, || segment(df, &spec).unwrap());
    assert_eq!(one, two);
    assert_eq!(one.model.predict(df).unwrap(), one.assignments);
    let back = SegmentModel::from_json(&one.model.to_json().unwrap()).unwrap();
    assert_eq!(back, one.model);
    assert_eq!(back.predict(df).unwrap(), one.assignments);
    let out = one.frame(df).unwrap();
    let names: Vec<&str> = out.get_column_names().iter().map(|s| s.as_str()).collect();
    assert_eq!(
        names,
        [
            "customer_id",
            "segment",
            "segment_label",
            "recency_days",
            "n_purchases",
            "total_spend"
        ]
    );
}

fn tiny() -> DataFrame {
    df!(
        "customer_id" => ["a", "b", "c"],
        "recency_days" => [1.0, 50.0, 300.0],
        "n_purchases" => [5.0, 2.0, 1.0],
        "total_spend" => [500.0, 80.0, 10.0],
        "flat" => [3.0, 3.0, 3.0],
    )
    .unwrap()
}

#[test]
fn edge_cases() {
    use patronage::Error;
    let df = tiny();
    // More segments than customers.
    let e = segment(&df, &SegmentationSpec::default().k(KChoice::Fixed(5))).unwrap_err();
    assert!(
        matches!(&e, Error::InvalidOption { .. }) && e.to_string().contains("only 3 customers"),
        "{e}"
    );
    // A range is cut to k < n; 2..8 on 3 customers tries k = 2 only.
    let seg = segment(&df, &SegmentationSpec::default()).unwrap();
    assert_eq!(seg.k_table.len(), 1);
    // k = 1: everyone in segment 0, no silhouette.
    let seg = segment(&df, &SegmentationSpec::default().k(KChoice::Fixed(1))).unwrap();
    assert_eq!(seg.assignments, [0, 0, 0]);
    assert_eq!(seg.k_table[0].silhouette, None);
    // A constant feature is reported and does not break anything.
    let mut spec = SegmentationSpec::default().k(KChoice::Fixed(2));
    spec.features.push(FeatureSpec::default_for("flat"));
    let seg = segment(&df, &spec).unwrap();
    assert_eq!(seg.constant_features, ["flat"]);
    // A single customer: k = 1 works, a range cannot.
    let one = df.slice(0, 1);
    assert_eq!(
        segment(&one, &SegmentationSpec::default().k(KChoice::Fixed(1)))
            .unwrap()
            .assignments,
        [0]
    );
    assert!(matches!(
        segment(&one, &SegmentationSpec::default()),
        Err(Error::InvalidOption { .. })
    ));
    // NaN and null in a feature name the row and column.
    let bad = df!("recency_days" => [1.0, f64::NAN], "n_purchases" => [1.0, 2.0], "total_spend" => [1.0, 2.0]).unwrap();
    let e = segment(&bad, &SegmentationSpec::default().k(KChoice::Fixed(1))).unwrap_err();
    assert!(
        matches!(&e, Error::BadRow { row: 2, column, .. } if column == "recency_days"),
        "{e}"
    );
    // Missing column, empty table, bad options.
    let e = segment(
        &df.drop("total_spend").unwrap(),
        &SegmentationSpec::default(),
    )
    .unwrap_err();
    assert!(matches!(&e, Error::MissingColumn { .. }), "{e}");
    assert!(matches!(
        segment(&df.clear(), &SegmentationSpec::default()),
        Err(Error::EmptyTable { .. })
    ));
    assert!(FeatureSpec::parse("total_spend:cube").is_err());
    let dup =
        SegmentationSpec::default().features(vec![FeatureSpec::default_for("n_purchases"); 2]);
    assert!(matches!(
        segment(&df, &dup),
        Err(Error::InvalidOption { .. })
    ));
}

#[test]
fn channel_mix_features() {
    use patronage::segmentation::channel_shares;
    let df = df!(
        "customer_id" => ["A", "A", "A", "A", "B"],
        "date" => ["2024-01-02", "2024-01-02", "2024-02-10", "2024-02-15", "2024-03-01"],
        "amount" => [100.0, 50.0, 200.0, -50.0, 40.0],
        "channel" => ["web", "web", "phone", "web", "store"],
    )
    .unwrap();
    let tx = Transactions::from_frame(df, TransactionSchema::default()).unwrap();
    let table = tx.customer_table(&SummaryOptions::weekly(), None).unwrap();
    let mix = channel_shares(table.frame()).unwrap();
    let names: Vec<&str> = mix.get_column_names().iter().map(|s| s.as_str()).collect();
    assert_eq!(
        names,
        [
            "customer_id",
            "channel_share_phone",
            "channel_share_store",
            "channel_share_web"
        ]
    );
    // A: two web lines and one phone line (the web return is left out); B: the store.
    let get = |c: &str, i: usize| mix.column(c).unwrap().f64().unwrap().get(i).unwrap();
    assert!((get("channel_share_web", 0) - 2.0 / 3.0).abs() < 1e-12);
    assert!((get("channel_share_phone", 0) - 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(get("channel_share_store", 1), 1.0);
    // Without a channel column: a clear error.
    let plain = df!("customer_id" => ["A"], "date" => ["2024-01-02"], "amount" => [1.0]).unwrap();
    let tx = Transactions::from_frame(plain, TransactionSchema::default()).unwrap();
    let table = tx.customer_table(&SummaryOptions::weekly(), None).unwrap();
    assert!(channel_shares(table.frame()).is_err());
}

/// Both k-means engines reach the same optimum on the four behaviour groups: inertia
/// equal to 1e-6 relative, the same partition.
#[test]
fn native_and_linfa_kmeans_agree() {
    use patronage::segmentation::KMeansEngine;
    let (summary, _) = four_groups();
    let df = summary.frame();
    for k in [2, 4, 6] {
        let spec = |engine| {
            SegmentationSpec::default()
                .k(KChoice::Fixed(k))
                .kmeans_engine(engine)
        };
        let native = segment(df, &spec(KMeansEngine::Native)).unwrap();
        let linfa = segment(df, &spec(KMeansEngine::Linfa)).unwrap();
        let (a, b) = (native.k_table[0].inertia, linfa.k_table[0].inertia);
        assert!(
            (a - b).abs() <= 1e-6 * b,
            "k = {k}: native {a} vs linfa {b}"
        );
        let ari = adjusted_rand_index(&native.assignments, &linfa.assignments);
        assert!(ari > 0.99, "k = {k}: ARI {ari}");
    }
}

/// 30,000 rows (several of the native engine's 4,096-row chunks) from 5 seeded blobs in
/// 3 dimensions.
fn blobs() -> DataFrame {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let centres = [
        [0.0, 0.0, 0.0],
        [6.0, 0.0, 1.0],
        [0.0, 7.0, -2.0],
        [5.0, 5.0, 5.0],
        [-4.0, 3.0, 6.0],
    ];
    let mut cols = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..30_000 {
        let c = centres[rng.random_range(0..centres.len())];
        for j in 0..3 {
            // A sum of uniforms: roughly normal, spread 1.
            let noise: f64 = (0..4).map(|_| rng.random::<f64>() - 0.5).sum::<f64>() * 1.7;
            cols[j].push(c[j] + noise);
        }
    }
    df!("a" => &cols[0], "b" => &cols[1], "c" => &cols[2]).unwrap()
}

/// The blobs' three features as they are (standardised), k in 2..=7, seed 3.
fn blob_spec() -> SegmentationSpec {
    SegmentationSpec::default()
        .features(
            ["a", "b", "c"]
                .iter()
                .map(|c| FeatureSpec {
                    column: c.to_string(),
                    log1p: false,
                    scale: patronage::segmentation::Scale::Standardize,
                })
                .collect(),
        )
        .k(KChoice::Range(2, 7))
        .seed(3)
}

#[test]
fn native_kmeans_is_bit_identical_on_one_and_two_threads() {
    let df = blobs();
    let spec = blob_spec();
    let one = in_pool(1, || segment(&df, &spec).unwrap());
    let two = in_pool(2, || segment(&df, &spec).unwrap());
    assert_eq!(one, two);
    // Bits, not just equality of floats that compare equal.
    let bits = |s: &patronage::segmentation::Segmentation| {
        s.k_table
            .iter()
            .map(|r| r.inertia.to_bits())
            .chain(s.model.centroids.iter().flatten().map(|v| v.to_bits()))
            .collect::<Vec<_>>()
    };
    assert_eq!(bits(&one), bits(&two));
    assert_eq!(one.chosen_k, 5, "{:#?}", one.k_table);
    // The same optimum as linfa's engine on this data.
    let linfa = segment(
        &df,
        &spec
            .clone()
            .k(KChoice::Fixed(5))
            .kmeans_engine(patronage::segmentation::KMeansEngine::Linfa),
    )
    .unwrap();
    let five = &one.k_table[3];
    assert_eq!(five.k, 5);
    let rel = (five.inertia - linfa.k_table[0].inertia).abs() / linfa.k_table[0].inertia;
    assert!(rel <= 1e-6, "relative inertia difference {rel}");
    assert!(adjusted_rand_index(&one.assignments, &linfa.assignments) > 0.99);
}

#[test]
fn specs_without_an_engine_still_load() {
    use patronage::segmentation::KMeansEngine;
    let mut json = serde_json::to_value(SegmentationSpec::default()).unwrap();
    json.as_object_mut().unwrap().remove("kmeans_engine");
    let spec: SegmentationSpec = serde_json::from_value(json).unwrap();
    assert_eq!(spec.kmeans_engine, KMeansEngine::Native);
}

/// Issue #15: above `fit_sample` customers, k and the starts are chosen on a seeded
/// sample and only the chosen k is iterated on everyone. On planted groups the sampled
/// and the exhaustive paths choose the same k and agree (ARI >= 0.95), the result is the
/// same on one and two threads, and at or below the sample size nothing changes.
#[test]
fn sampled_k_choice_agrees_with_the_exhaustive_search() {
    let df = blobs();
    let spec = blob_spec();
    let exhaustive = segment(&df, &spec.clone().fit_sample(0)).unwrap();
    assert!(exhaustive.fit_sample.is_none());
    let sampled_spec = spec.clone().fit_sample(5_000);
    let sampled = in_pool(2, || segment(&df, &sampled_spec).unwrap());
    assert_eq!(
        sampled.chosen_k, exhaustive.chosen_k,
        "{:#?}",
        sampled.k_table
    );
    let ari = adjusted_rand_index(&sampled.assignments, &exhaustive.assignments);
    assert!(ari >= 0.95, "ARI {ari}");
    let f = sampled.fit_sample.as_ref().unwrap();
    assert_eq!(f.customers, 5_000);
    assert!(f.agreement >= 0.95, "agreement {}", f.agreement);
    assert!(f.inertia > 0.0);
    assert_eq!(sampled.k_table.len(), exhaustive.k_table.len());
    assert_eq!(sampled.assignments.len(), 30_000);
    assert!(sampled.summary_json()["fit_sample"]["customers"] == 5_000);
    // Seeded: the same on one thread.
    assert_eq!(in_pool(1, || segment(&df, &sampled_spec).unwrap()), sampled);
    // At or below the sample size, the exhaustive path, unchanged.
    assert_eq!(
        segment(&df, &spec.clone().fit_sample(30_000)).unwrap(),
        exhaustive
    );
    // The default (200,000) leaves this table on the exhaustive path.
    assert_eq!(segment(&df, &spec).unwrap(), exhaustive);

    // The planted behaviour groups, with the mixture too.
    let (summary, truth) = four_groups();
    let gmm = SegmentationSpec::default()
        .k(KChoice::Range(3, 5))
        .method(Method::GaussianMixture)
        .fit_sample(1_000);
    let seg = segment(summary.frame(), &gmm).unwrap();
    assert_eq!(seg.chosen_k, 4, "{:#?}", seg.k_table);
    assert!(adjusted_rand_index(&seg.assignments, &truth) >= 0.9);
    assert_eq!(seg.model.predict(summary.frame()).unwrap(), seg.assignments);

    // A sample too small to choose k on is refused, naming the setting.
    let err = segment(&df, &spec.fit_sample(10)).unwrap_err();
    assert!(
        matches!(&err, patronage::Error::InvalidOption { option, .. } if option == "segmentation.fit_sample"),
        "{err:?}"
    );
}
