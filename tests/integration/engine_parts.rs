//! Phase 2 on summary part files written by the DataFusion engine (feature
//! `datafusion`): the models' data and the CLV, RFM and segmentation stages read the
//! parts one at a time and give the gathered summary's fits, tables and figures to the
//! bit, in the library and through the CLI's `--part-files`.

use std::path::{Path, PathBuf};

use patronage::prelude::*;
use patronage::simulate::{SimulationSpec, simulate};
use polars::prelude::*;

use crate::engine_datafusion::{
    datafusion, hidden_entries, later_ids_buy_later, read_part_dir, same_parts_as_memory,
    write_parquet,
};

/// A simulated log of 4,000 customers (5% returns) written as `dir/sim.parquet`.
fn simulated_parquet(dir: &Path, seed: u64) -> Transactions {
    let sim = simulate(&SimulationSpec {
        customers: 4_000,
        seed,
        return_rate: 0.05,
        ..SimulationSpec::default()
    })
    .unwrap();
    let path = dir.join("sim.parquet");
    write_parquet(&sim.transactions, &path);
    Transactions::scan_parquet(&path, TransactionSchema::default()).unwrap()
}

/// The models' data read from part files one part at a time equal the gathered
/// summary's, so the fits are the same to the bit.
#[test]
fn models_fitted_from_part_files_equal_the_gathered_fits() {
    use patronage::clv::{BgNbd, GammaGamma};
    let dir = tempfile::tempdir().unwrap();
    let tx = simulated_parquet(dir.path(), 21);
    let out = dir.path().join("parts");
    for opts in [
        SummaryOptions::weekly(),
        SummaryOptions::weekly().calibration_end("2024-09-30"),
    ] {
        let parts = same_parts_as_memory(&tx, &opts, &datafusion(3_000, 2, None), &out).unwrap();
        assert!(parts.files.len() > 2, "{}", parts.files.len());
        assert_eq!(
            parts.calibration_end.is_some(),
            opts.calibration_end.is_some()
        );
        let summary = tx.summary(&opts).unwrap();
        let (repeat, spend) = (parts.repeat_data().unwrap(), parts.spend_data().unwrap());
        assert_eq!(repeat, summary.repeat_data().unwrap(), "{opts:?}");
        assert_eq!(spend, summary.spend_data().unwrap(), "{opts:?}");
        assert!(repeat.len() < summary.n_customers());
        let bits = |v: Vec<f64>| v.into_iter().map(f64::to_bits).collect::<Vec<_>>();
        let a = BgNbd::fitter().fit(&repeat).unwrap();
        let b = BgNbd::fitter()
            .fit(&summary.repeat_data().unwrap())
            .unwrap();
        assert_eq!(bits(a.params().to_vec()), bits(b.params().to_vec()));
        let a = GammaGamma::fitter().fit(&spend).unwrap();
        let b = GammaGamma::fitter()
            .fit(&summary.spend_data().unwrap())
            .unwrap();
        assert_eq!(bits(a.params().to_vec()), bits(b.params().to_vec()));
    }

    // A bad value in a later part is named by its row among all parts' customers, as
    // the gathered table's check names it.
    let parts = same_parts_as_memory(
        &tx,
        &SummaryOptions::weekly(),
        &datafusion(3_000, 2, None),
        &out,
    )
    .unwrap();
    let floats = |df: &DataFrame, name: &str| -> Vec<f64> {
        let c = df.column(name).unwrap().cast(&DataType::Float64).unwrap();
        c.f64().unwrap().into_no_null_iter().collect()
    };
    let mut second = patronage::io::read_table(&parts.files[1]).unwrap();
    let mut x = floats(&second, "frequency");
    x[2] = 1.5;
    second
        .with_column(Column::new("frequency".into(), x))
        .unwrap();
    write_parquet(&second, &parts.files[1]);
    // The parts' columns end to end (the changed part's frequency is now a float).
    let all = |name: &str| -> Vec<f64> {
        let tables = parts
            .files
            .iter()
            .map(|f| patronage::io::read_table(f).unwrap());
        tables.flat_map(|t| floats(&t, name)).collect()
    };
    let first_rows = patronage::io::read_table(&parts.files[0]).unwrap().height() as u64;
    let in_memory = (
        patronage::clv::RepeatData::new(&all("frequency"), &all("recency"), &all("T")),
        patronage::clv::SpendData::new(&all("frequency"), &all("monetary_value")),
    );
    for (from_parts, gathered) in [
        (parts.repeat_data().map(|_| ()), in_memory.0.map(|_| ())),
        (parts.spend_data().map(|_| ()), in_memory.1.map(|_| ())),
    ] {
        match (from_parts, gathered) {
            (
                Err(Error::BadRow { row, column, .. }),
                Err(Error::BadRow {
                    row: r, column: c, ..
                }),
            ) => {
                assert_eq!((row, column.as_str()), (first_rows + 3, "frequency"));
                assert_eq!((row, column), (r, c));
            }
            other => panic!("{other:?}"),
        }
    }
}

/// The CLV stage on part files gives the gathered summary's table, models and customer
/// equity, to the bit, whatever the scoring period and spend source.
#[test]
fn clv_on_part_files_equals_the_gathered_stage() {
    use patronage::stages::clv::{
        ClvSettings, MarginSource, ScoringPeriod, SpendSource, clv_table_on,
    };
    let dir = tempfile::tempdir().unwrap();
    let tx = simulated_parquet(dir.path(), 23);
    let (summary_dir, clv_dir) = (dir.path().join("summary"), dir.path().join("clv"));
    let historic = ClvSettings {
        spend: SpendSource::Historic,
        margin: MarginSource::Rate(0.3),
        ..ClvSettings::default()
    };
    let cases = [
        (
            SummaryOptions::weekly(),
            ScoringPeriod::Full,
            ClvSettings::default(),
        ),
        (
            SummaryOptions::weekly().calibration_end("2024-09-30"),
            ScoringPeriod::Fitted,
            ClvSettings::default(),
        ),
        (
            SummaryOptions::weekly().calibration_end("2024-09-30"),
            ScoringPeriod::Full,
            historic,
        ),
    ];
    for (opts, period, settings) in cases {
        let parts =
            same_parts_as_memory(&tx, &opts, &datafusion(3_000, 2, None), &summary_dir).unwrap();
        assert!(parts.files.len() > 2);
        let clv = parts.clv(&settings, period, &clv_dir).unwrap();
        let gathered = clv_table_on(&tx.summary(&opts).unwrap(), &settings, period).unwrap();
        assert_eq!(clv.files.len(), parts.files.len());
        let all = read_files(&clv.files);
        assert_eq!(all.schema(), gathered.frame.schema(), "{opts:?}");
        assert!(all.equals_missing(&gathered.frame), "{opts:?} {period:?}");
        assert_eq!(
            clv.customer_equity.to_bits(),
            gathered.customer_equity.to_bits()
        );
        assert_eq!(
            clv.purchase.to_json().unwrap(),
            gathered.purchase.to_json().unwrap()
        );
        assert_eq!(
            clv.spend.as_ref().map(|s| s.model.to_json().unwrap()),
            gathered.spend.as_ref().map(|s| s.model.to_json().unwrap())
        );
        assert_eq!(
            clv.spend.as_ref().map(|s| s.excluded),
            gathered.spend.as_ref().map(|s| s.excluded)
        );
        assert_eq!(clv.notes, gathered.notes);
    }
    // Later ids buy later: with an early calibration end, the last part's customers are
    // all born in the holdout, so it has no one to score (null scores, as gathered).
    let later_path = dir.path().join("later.parquet");
    write_parquet(&later_ids_buy_later(4_000), &later_path);
    let later = Transactions::scan_parquet(&later_path, TransactionSchema::default()).unwrap();
    let opts = SummaryOptions::weekly().calibration_end("2023-04-30");
    let parts =
        same_parts_as_memory(&later, &opts, &datafusion(2_000, 2, None), &summary_dir).unwrap();
    let settings = ClvSettings {
        spend: SpendSource::Historic,
        fit: patronage::clv::FitOptions {
            penalizer: 0.01,
            ..Default::default()
        },
        ..ClvSettings::default()
    };
    let clv = parts
        .clv(&settings, ScoringPeriod::Fitted, &clv_dir)
        .unwrap();
    let gathered = clv_table_on(
        &later.summary(&opts).unwrap(),
        &settings,
        ScoringPeriod::Fitted,
    )
    .unwrap();
    let (_, all) = read_part_dir(&clv_dir);
    assert!(all.equals_missing(&gathered.frame));
    assert_eq!(
        clv.customer_equity.to_bits(),
        gathered.customer_equity.to_bits()
    );
    let last = patronage::io::read_table(clv.files.last().unwrap()).unwrap();
    assert_eq!(last.column("clv").unwrap().null_count(), last.height());

    // Intervals and covariates need every customer at once: refused by name, and the
    // output is left alone.
    let parts = same_parts_as_memory(
        &tx,
        &SummaryOptions::weekly(),
        &datafusion(3_000, 2, None),
        &summary_dir,
    )
    .unwrap();
    let with_intervals = ClvSettings {
        interval: Some(Default::default()),
        ..ClvSettings::default()
    };
    match parts.clv(&with_intervals, ScoringPeriod::Full, &clv_dir) {
        Err(Error::InvalidOption { option, .. }) => assert_eq!(option, "clv.interval"),
        other => panic!("{:?}", other.map(|c| c.files)),
    }
    assert!(clv_dir.exists());
    assert!(hidden_entries(dir.path()).is_empty());
}

#[test]
fn the_cli_scores_part_files_equal_to_the_one_file_clv_table() {
    use crate::cli::patronage;
    let dir = tempfile::tempdir().unwrap();
    simulated_parquet(dir.path(), 31);
    let path = dir.path().join("sim.parquet");
    let file = path.to_str().unwrap();
    let one = dir.path().join("one.parquet");
    let (code, _, one_err) = patronage(&["clv", file, "-o", one.to_str().unwrap()]);
    assert_eq!(code, 0, "{one_err}");
    let parts_dir = dir.path().join("clv");
    let parts = parts_dir.to_str().unwrap();
    let engine = ["--engine", "datafusion", "--block-rows", "2000"];
    let args: Vec<&str> = ["clv", file, "--part-files", "-o", parts]
        .into_iter()
        .chain(engine)
        .collect();
    let (code, _, err) = patronage(&args);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("Parquet part files"), "{err}");
    // The same models and equity lines as the one-file run.
    let lines = |e: &str| -> Vec<String> {
        e.lines()
            .filter(|l| {
                l.starts_with("patronage: bg-nbd") || l.starts_with("patronage: gamma-gamma")
            })
            .map(String::from)
            .collect()
    };
    assert_eq!(lines(&err), lines(&one_err));
    let (files, all) = read_part_dir(&parts_dir);
    assert!(files > 1);
    assert!(all.equals_missing(&patronage::io::read_table(&one).unwrap()));
    // The summary's parts were removed; nothing else is left beside the output.
    assert!(hidden_entries(dir.path()).is_empty());
    // What needs every customer is refused before anything is read, by flag.
    for (extra, flag) in [
        (&["--model", "auto"][..], "--model"),
        (&["--interval", "0.9"][..], "--interval"),
    ] {
        let args: Vec<&str> = args.iter().copied().chain(extra.iter().copied()).collect();
        let (code, _, err) = patronage(&args);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(flag), "{err}");
    }
    let (code, _, err) = patronage(&["clv", file, "--part-files", "-o", parts, "--json"]);
    assert_eq!(code, 2, "{err}");
}

/// `files` read in order, as one frame.
fn read_files(files: &[PathBuf]) -> DataFrame {
    let mut all = patronage::io::read_table(&files[0]).unwrap();
    for f in &files[1..] {
        all.vstack_mut_owned(patronage::io::read_table(f).unwrap())
            .unwrap();
    }
    all
}

/// Sets `total_spend` of row `row` (0-based) of part `part` to NaN, writing the part
/// again; returns that customer's 1-based row among all parts.
fn nan_spend(files: &[PathBuf], part: usize, row: usize) -> u64 {
    let mut df = patronage::io::read_table(&files[part]).unwrap();
    let mut spend: Vec<f64> = df
        .column("total_spend")
        .unwrap()
        .f64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    spend[row] = f64::NAN;
    df.with_column(Column::new("total_spend".into(), spend))
        .unwrap();
    write_parquet(&df, &files[part]);
    let before: usize = files[..part]
        .iter()
        .map(|f| patronage::io::read_table(f).unwrap().height())
        .sum();
    (before + row + 1) as u64
}

/// The RFM stage on part files gives the gathered summary's scores, segments and
/// segment summary exactly, for any bins, monetary basis and rule table.
#[test]
fn rfm_on_part_files_equals_the_gathered_stage() {
    use patronage::rfm::{MonetaryBasis, RfmOptions, SegmentRules};
    let dir = tempfile::tempdir().unwrap();
    let tx = simulated_parquet(dir.path(), 41);
    let (summary_dir, rfm_dir) = (dir.path().join("summary"), dir.path().join("rfm"));
    let opts = SummaryOptions::weekly();
    let parts =
        same_parts_as_memory(&tx, &opts, &datafusion(3_000, 2, None), &summary_dir).unwrap();
    assert!(parts.files.len() > 2);
    let summary = tx.summary(&opts).unwrap();
    for options in [
        RfmOptions::default(),
        RfmOptions::default().bins(4).monetary(MonetaryBasis::Mean),
        RfmOptions::default()
            .bins(20)
            .segments(SegmentRules::rf_map().rescaled(5, 20)),
        RfmOptions::default().bins(2),
    ] {
        let rfm = parts.rfm(&options, &rfm_dir).unwrap();
        let gathered = summary.rfm(&options).unwrap();
        assert_eq!(rfm.files.len(), parts.files.len());
        let all = read_files(&rfm.files);
        assert_eq!(all.schema(), gathered.frame().schema());
        assert!(all.equals_missing(gathered.frame()), "{options:?}");
        assert_eq!(rfm.segments, gathered.segment_summary(), "{options:?}");
        assert!(
            rfm.segment_summary_frame()
                .unwrap()
                .equals_missing(&gathered.segment_summary_frame().unwrap())
        );
        // Spend is continuous: its cuts take more than one pass over the parts.
        assert!(rfm.passes > 1, "{}", rfm.passes);
    }
    assert!(hidden_entries(dir.path()).is_empty());

    // A null in a later part's `n_purchases` and one in the first part's `total_spend`:
    // the gathered check names the first column in scoring order that has one, at its
    // row among all customers, and so do the parts.
    let first_rows = patronage::io::read_table(&parts.files[0]).unwrap().height() as u64;
    let with_null = |path: &Path, name: &str, row: usize| {
        let df = patronage::io::read_table(path).unwrap();
        let mask: Vec<bool> = (0..df.height()).map(|i| i != row).collect();
        let c = df.column(name).unwrap().as_materialized_series().clone();
        let nulled = c
            .zip_with(
                &BooleanChunked::new("m".into(), mask),
                &Series::full_null(name.into(), df.height(), c.dtype()),
            )
            .unwrap();
        let mut df = df;
        df.with_column(nulled.into_column()).unwrap();
        write_parquet(&df, path);
    };
    with_null(&parts.files[1], "n_purchases", 4);
    with_null(&parts.files[0], "total_spend", 1);
    let whole = read_files(&parts.files);
    let options = RfmOptions::default();
    match (
        parts.rfm(&options, &rfm_dir),
        patronage::rfm::score(&whole, &options),
    ) {
        (
            Err(Error::BadRow { row, column, .. }),
            Err(Error::BadRow {
                row: r, column: c, ..
            }),
        ) => {
            assert_eq!((row, column.as_str()), (first_rows + 5, "n_purchases"));
            assert_eq!((row, column), (r, c));
        }
        (a, b) => panic!("{:?} / {:?}", a.map(|r| r.files), b.map(|_| ())),
    }
    // The earlier run's scores are kept, and nothing is left beside them.
    assert_eq!(read_part_dir(&rfm_dir).0, parts.files.len());
    assert!(hidden_entries(dir.path()).is_empty());

    // A NaN spend in the third part (the summary written again, clean): named by its
    // row among all customers, as the gathered check names it.
    let parts =
        same_parts_as_memory(&tx, &opts, &datafusion(3_000, 2, None), &summary_dir).unwrap();
    let nan_row = nan_spend(&parts.files, 2, 0);
    match (
        parts.rfm(&options, &rfm_dir),
        patronage::rfm::score(&read_files(&parts.files), &options),
    ) {
        (
            Err(Error::BadRow { row, column, .. }),
            Err(Error::BadRow {
                row: r, column: c, ..
            }),
        ) => {
            assert_eq!((row, column.as_str()), (nan_row, "total_spend"));
            assert_eq!((row, column), (r, c));
        }
        (a, b) => panic!("{:?} / {:?}", a.map(|r| r.files), b.map(|_| ())),
    }

    // An output that is a file is refused by name before anything is read.
    let file = dir.path().join("scores.csv");
    std::fs::write(&file, "mine").unwrap();
    match parts.rfm(&options, &file) {
        Err(Error::Io { path, .. }) => assert_eq!(path, file),
        other => panic!("{:?}", other.map(|r| r.files)),
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
}

#[test]
fn the_cli_scores_rfm_part_files_equal_to_the_one_file_table() {
    use crate::cli::patronage;
    let dir = tempfile::tempdir().unwrap();
    simulated_parquet(dir.path(), 43);
    let file = dir.path().join("sim.parquet");
    let file = file.to_str().unwrap();
    let one = dir.path().join("one.parquet");
    let (code, one_json, err) = patronage(&[
        "rfm",
        file,
        "--mean-monetary",
        "--json",
        "-o",
        one.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let parts_dir = dir.path().join("rfm");
    let parts = parts_dir.to_str().unwrap();
    let args = [
        "rfm",
        file,
        "--mean-monetary",
        "--part-files",
        "-o",
        parts,
        "--engine",
        "datafusion",
        "--block-rows",
        "2000",
    ];
    let (code, json, err) = patronage(&[&args[..], &["--json"]].concat());
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("Parquet part files"), "{err}");
    assert_eq!(json, one_json);
    let (files, all) = read_part_dir(&parts_dir);
    assert!(files > 1);
    assert!(all.equals_missing(&patronage::io::read_table(&one).unwrap()));
    assert!(hidden_entries(dir.path()).is_empty());
    // Without --json the segment summary is the usual text table on stderr.
    let (code, out, err) = patronage(&args);
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty() && err.contains("revenue share"), "{err}");
    // --part-files needs the directory.
    let (code, _, err) = patronage(&["rfm", file, "--part-files"]);
    assert_eq!(code, 2, "{err}");
    // An output that is a file is refused by name before the input is read, and kept.
    let taken = dir.path().join("scores.csv");
    std::fs::write(&taken, "mine").unwrap();
    let (code, _, err) = patronage(&["rfm", file, "--part-files", "-o", taken.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("scores.csv") && !err.contains("rows read"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&taken).unwrap(), "mine");
}

/// The segmentation on part files gives the gathered stage's segmentation (model, k
/// table, profiles, assignments) and frame exactly: every k on every customer, the
/// sampled path (k on a sample, Lloyd iterations on everyone), a Gaussian mixture on
/// `tenure` (read as `T`), and CLV scores as features from the CLV stage's parts.
#[test]
fn segmentation_on_part_files_equals_the_gathered_stage() {
    use patronage::segmentation::{FeatureSpec, KChoice, Method, SegmentationSpec};
    use patronage::stages::clv::{ClvSettings, ScoringPeriod, clv_table_on};
    use patronage::stages::segment::{SegmentSettings, segment};
    let dir = tempfile::tempdir().unwrap();
    let tx = simulated_parquet(dir.path(), 47);
    let (summary_dir, clv_dir, seg_dir) = (
        dir.path().join("summary"),
        dir.path().join("clv"),
        dir.path().join("segments"),
    );
    let opts = SummaryOptions::weekly();
    let parts =
        same_parts_as_memory(&tx, &opts, &datafusion(3_000, 2, None), &summary_dir).unwrap();
    assert!(parts.files.len() > 2);
    let summary = tx.summary(&opts).unwrap();
    let features = |list: &str| -> Vec<FeatureSpec> {
        list.split(',')
            .map(|f| FeatureSpec::parse(f).unwrap())
            .collect()
    };
    let range = SegmentationSpec::default().k(KChoice::Range(2, 4));
    let specs = [
        range.clone(),
        range.clone().fit_sample(1_000),
        SegmentationSpec::default()
            .features(features(
                "tenure:robust,n_purchases,total_spend:log1p-minmax",
            ))
            .k(KChoice::Fixed(3))
            .method(Method::GaussianMixture),
    ];
    for spec in specs {
        let settings = SegmentSettings::new(spec, false);
        let on_parts = parts.segment(&settings, None, &seg_dir).unwrap();
        let gathered = segment(summary.frame(), None, &settings, None).unwrap();
        assert_eq!(on_parts.segmentation, gathered.segmentation, "{settings:?}");
        assert_eq!(on_parts.files.len(), parts.files.len());
        let all = read_files(&on_parts.files);
        let frame = gathered.frame().unwrap();
        assert_eq!(all.schema(), frame.schema());
        assert!(all.equals_missing(&frame), "{settings:?}");
        if settings.spec.fit_sample == 1_000 {
            assert!(on_parts.segmentation.fit_sample.is_some());
        }
    }

    // CLV scores as features, from the CLV stage's parts of the same summary.
    let clv_settings = ClvSettings::default();
    let clv = parts
        .clv(&clv_settings, ScoringPeriod::Fitted, &clv_dir)
        .unwrap();
    let gathered_clv = clv_table_on(&summary, &clv_settings, ScoringPeriod::Fitted).unwrap();
    let settings = SegmentSettings::new(
        SegmentationSpec::default()
            .features(features("recency_days,p_alive:none,clv"))
            .k(KChoice::Fixed(4)),
        false,
    );
    let on_parts = parts.segment(&settings, Some(&clv), &seg_dir).unwrap();
    let gathered = segment(summary.frame(), None, &settings, Some(&gathered_clv)).unwrap();
    assert_eq!(on_parts.segmentation, gathered.segmentation);
    assert!(read_files(&on_parts.files).equals_missing(&gathered.frame().unwrap()));

    // CLV parts of other customers or another order are refused, as the gathered stage
    // refuses CLV scores of other customers: one part fewer, or two parts swapped.
    let mut fewer = clv.clone();
    fewer.files.pop();
    let mut swapped = clv.clone();
    swapped.files.swap(0, 1);
    for wrong in [fewer, swapped] {
        match parts.segment(&settings, Some(&wrong), &seg_dir) {
            Err(Error::InvalidOption { option, .. }) => assert_eq!(option, "clv"),
            other => panic!("{:?}", other.map(|s| s.files)),
        }
    }

    // The channel mix needs the customer table: refused by name.
    match parts.segment(&SegmentSettings::new(range.clone(), true), None, &seg_dir) {
        Err(Error::InvalidOption { option, .. }) => {
            assert_eq!(option, "segmentation.channel_mix")
        }
        other => panic!("{:?}", other.map(|s| s.files)),
    }
    // A feature the parts lack: the gathered error, naming the same columns.
    let missing =
        SegmentSettings::new(range.clone().features(features("recency_days,nope")), false);
    match (
        parts.segment(&missing, None, &seg_dir),
        segment(summary.frame(), None, &missing, None),
    ) {
        (
            Err(Error::MissingColumn { column, available }),
            Err(Error::MissingColumn {
                column: c,
                available: a,
            }),
        ) => {
            assert_eq!(column, "nope");
            assert_eq!((column, available), (c, a));
        }
        (a, b) => panic!("{:?} / {:?}", a.map(|s| s.files), b.map(|_| ())),
    }
    // More segments than customers: refused before anything is read or written.
    let fresh = dir.path().join("fresh");
    match parts.segment(
        &SegmentSettings::new(range.clone().k(KChoice::Fixed(5_000)), false),
        None,
        &fresh,
    ) {
        Err(Error::InvalidOption { .. }) => assert!(!fresh.exists()),
        other => panic!("{:?}", other.map(|s| s.files)),
    }

    // A NaN feature in the second part: named by its row among all customers, as the
    // gathered check names it; the earlier output is kept.
    let kept = read_part_dir(&seg_dir).1;
    let nan_row = nan_spend(&parts.files, 1, 1);
    let settings = SegmentSettings::new(range, false);
    match (
        parts.segment(&settings, None, &seg_dir),
        segment(&read_files(&parts.files), None, &settings, None),
    ) {
        (
            Err(Error::BadRow { row, column, .. }),
            Err(Error::BadRow {
                row: r, column: c, ..
            }),
        ) => {
            assert_eq!((row, column.as_str()), (nan_row, "total_spend"));
            assert_eq!((row, column), (r, c));
        }
        (a, b) => panic!("{:?} / {:?}", a.map(|s| s.files), b.map(|_| ())),
    }
    assert!(read_part_dir(&seg_dir).1.equals_missing(&kept));
    assert!(hidden_entries(dir.path()).is_empty());
}

#[test]
fn the_cli_segments_part_files_equal_to_the_one_file_run() {
    use crate::cli::patronage;
    let dir = tempfile::tempdir().unwrap();
    simulated_parquet(dir.path(), 53);
    let file = dir.path().join("sim.parquet");
    let file = file.to_str().unwrap();
    let one = dir.path().join("one.parquet");
    let model = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let common = ["segment", file, "--k-range", "2..4", "--features"];
    let features = "recency_days,n_purchases,clv";
    let (code, one_json, err) = patronage(
        &[
            &common[..],
            &[features, "--json", "-o", one.to_str().unwrap()],
            &["--save-model", &model("one.json")],
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{err}");
    let parts_dir = dir.path().join("segments");
    let parts = parts_dir.to_str().unwrap();
    let on_parts = [
        "--part-files",
        "-o",
        parts,
        "--engine",
        "datafusion",
        "--block-rows",
        "2000",
    ];
    let (code, json, err) = patronage(
        &[
            &common[..],
            &[features, "--json"],
            &on_parts[..],
            &["--save-model", &model("parts.json")],
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("Parquet part files"), "{err}");
    assert_eq!(json, one_json);
    assert_eq!(
        std::fs::read_to_string(model("parts.json")).unwrap(),
        std::fs::read_to_string(model("one.json")).unwrap()
    );
    let (files, all) = read_part_dir(&parts_dir);
    assert!(files > 1);
    assert!(all.equals_missing(&patronage::io::read_table(&one).unwrap()));
    assert!(hidden_entries(dir.path()).is_empty());
    // Without --json the profiles are the usual text table on stderr.
    let (code, out, err) = patronage(&[&common[..], &["recency_days"], &on_parts[..]].concat());
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty() && err.contains("segment"), "{err}");
    // With the channel mix: the whole table's parts, and the one-file run's segments.
    let mix = "recency_days,n_purchases,channel_mix";
    let (code, one_json, err) =
        patronage(&[&common[..], &[mix, "--json", "-o", one.to_str().unwrap()]].concat());
    assert_eq!(code, 0, "{err}");
    let (code, json, err) = patronage(&[&common[..], &[mix, "--json"], &on_parts[..]].concat());
    assert_eq!(code, 0, "{err}");
    assert_eq!(json, one_json);
    let (_, all) = read_part_dir(&parts_dir);
    assert!(all.column("channel_share_web").is_ok());
    assert!(all.equals_missing(&patronage::io::read_table(&one).unwrap()));
    assert!(hidden_entries(dir.path()).is_empty());
    // --part-files needs the directory.
    let (code, _, err) = patronage(&["segment", file, "--part-files"]);
    assert_eq!(code, 2, "{err}");
}

/// The simulated log of [`simulated_parquet`] (`seed`) as customer table parts in
/// `dir/customers` (DataFusion blocks of 3,000 rows, no cohorts), then the rows of the
/// first customer of the last part (its id order) moved to a channel no other customer
/// uses, so the earlier blocks never see it, and the parts written again with `cohorts`.
/// Returns the changed log, the first parts and the second.
fn late_channel_parts(
    dir: &Path,
    seed: u64,
    opts: &SummaryOptions,
    cohorts: Option<CohortPeriod>,
) -> (
    Transactions,
    patronage::engine::TableParts,
    patronage::engine::TableParts,
) {
    use patronage::engine::customer_table_parts;
    let (tx, out, engine) = (
        simulated_parquet(dir, seed),
        dir.join("customers"),
        datafusion(3_000, 2, None),
    );
    let (first, _) = customer_table_parts(&tx, opts, None, &engine, &out).unwrap();
    let tx = with_late_channel(dir, &first.parts.files);
    let (parts, run) = customer_table_parts(&tx, opts, cohorts, &engine, &out).unwrap();
    assert_eq!(run.engine, "datafusion");
    (tx, first, parts)
}

/// The log in `dir` with the rows of the first customer of the last of `parts` moved to
/// the channel `kiosk`; returns the transactions read again.
fn with_late_channel(dir: &Path, parts: &[PathBuf]) -> Transactions {
    let last = patronage::io::read_table(parts.last().unwrap()).unwrap();
    let id = last
        .column("customer_id")
        .unwrap()
        .get(0)
        .unwrap()
        .to_string();
    let path = dir.join("sim.parquet");
    let mut df = patronage::io::read_table(&path).unwrap();
    let channels: Vec<Option<String>> = df
        .column("customer_id")
        .unwrap()
        .as_materialized_series()
        .iter()
        .zip(df.column("channel").unwrap().str().unwrap().iter())
        .map(|(c, ch)| {
            if c.to_string() == id {
                Some("kiosk".to_string())
            } else {
                ch.map(str::to_string)
            }
        })
        .collect();
    df.with_column(Column::new("channel".into(), channels))
        .unwrap();
    write_parquet(&df, &path);
    Transactions::scan_parquet(&path, TransactionSchema::default()).unwrap()
}

/// The whole customer table written as part files equals the gathered table, column for
/// column, with a channel only the last block sees counted zero in the earlier parts.
#[test]
fn customer_table_parts_equal_the_gathered_table() {
    use patronage::engine::customer_table;
    let dir = tempfile::tempdir().unwrap();
    let opts = SummaryOptions::weekly().calibration_end("2024-09-30");
    let month = Some(CohortPeriod::Month);
    let (tx, first, parts) = late_channel_parts(dir.path(), 43, &opts, month);
    // Without a cohort period there are no cohorts, as for the gathered table.
    match first.cohorts() {
        Err(Error::InvalidOption { option, .. }) => assert_eq!(option, "cohorts.period"),
        other => panic!("{other:?}"),
    }
    assert!(parts.parts.files.len() > 2);
    let (table, _) = customer_table(&tx, &opts, month, &patronage::engine::Engine::Memory).unwrap();
    // The cohorts merged from the blocks are the gathered table's.
    assert_eq!(
        parts.cohorts().unwrap(),
        patronage::stages::cohorts::cohorts(&table).unwrap()
    );
    let all = read_files(&parts.parts.files);
    assert_eq!(all.schema(), table.frame().schema());
    assert!(all.equals_missing(table.frame()));
    assert_eq!(parts.channels, table.channels());
    assert!(parts.channels.iter().any(|c| c == "kiosk"));
    assert_eq!(&parts.parts.report, table.report());
    assert_eq!(parts.parts.customers as usize, table.n_customers());
    // Every part before the last lacked the new channel's columns and was written again.
    assert!(parts.parts.rewritten >= parts.parts.files.len() - 1);
    // The summary's stages read the table's parts as they read summary parts.
    let rfm = parts
        .parts
        .rfm(&RfmOptions::default(), &dir.path().join("rfm"))
        .unwrap();
    let gathered = table
        .summary()
        .unwrap()
        .rfm(&RfmOptions::default())
        .unwrap();
    assert!(read_files(&rfm.files).equals_missing(gathered.frame()));
    assert!(hidden_entries(dir.path()).is_empty());
}

/// The profitability stage on customer table part files gives the gathered stage's
/// per-customer table and figures to the bit, for each split and axis, with a channel
/// rate and an activity table; and the gathered stage's errors.
#[test]
fn profitability_on_part_files_equals_the_gathered_stage() {
    use patronage::profitability::{CostModel, MatrixAxis, Split, analyse_table, cost_table};
    use patronage::stages::profitability::customer_frame;
    let dir = tempfile::tempdir().unwrap();
    let (rfm_dir, out) = (dir.path().join("rfm"), dir.path().join("profit"));
    let opts = SummaryOptions::weekly();
    let (tx, _, parts) = late_channel_parts(dir.path(), 47, &opts, None);
    let rfm = parts.parts.rfm(&RfmOptions::default(), &rfm_dir).unwrap();
    let table = tx.customer_table(&opts, None).unwrap();
    let gathered_rfm = table
        .summary()
        .unwrap()
        .rfm(&RfmOptions::default())
        .unwrap();
    // Service contacts and visits for every seventh customer, and one id never seen.
    let ids: Vec<String> = table
        .frame()
        .column("customer_id")
        .unwrap()
        .as_materialized_series()
        .iter()
        .step_by(7)
        .map(|v| v.to_string().trim_matches('"').to_string())
        .chain(["nobody".to_string()])
        .collect();
    let n = ids.len();
    let activity = df!(
        "customer_id" => ids,
        "service_contacts" => (0..n).map(|i| (i % 4) as f64).collect::<Vec<_>>(),
        "visits" => (0..n).map(|i| (i % 9) as f64).collect::<Vec<_>>(),
    )
    .unwrap();
    let rates = "per_order = 2.5\nper_line = 0.4\nper_delivery = 4.0\nper_return = 7.5\n\
                 per_service_contact = 6.0\nper_visit = 1.5\naccount_per_month = 0.1\n\
                 [per_channel_order]\nkiosk = 30.0\nweb = 0.5\n";
    let model = CostModel::from_toml(rates).unwrap();
    let mut compared = 0;
    for (split, axis, with_activity) in [
        (Split::Median, MatrixAxis::Margin, false),
        (Split::Mean, MatrixAxis::Contribution, true),
        (Split::Quantile(0.8), MatrixAxis::Margin, true),
        (Split::Values(25.0, 40.0), MatrixAxis::Contribution, false),
    ] {
        let activity = with_activity.then_some(&activity);
        let p = parts
            .profitability(&model, activity, split, axis, &rfm, &out)
            .unwrap();
        let gathered = analyse_table(
            cost_table(table.frame(), &model, activity).unwrap(),
            gathered_rfm.frame(),
            split,
            axis,
        )
        .unwrap();
        assert_eq!(p.files.len(), parts.parts.files.len());
        let expected = customer_frame(&gathered).unwrap();
        let all = read_files(&p.files);
        assert_eq!(all.schema(), expected.schema());
        assert!(all.equals_missing(&expected), "{split:?} {axis:?}");
        assert_eq!(p.profitability.table.height(), 0);
        assert_eq!(p.profitability.table.schema(), expected.schema());
        assert_eq!(
            serde_json::to_string(&p.profitability.figures()).unwrap(),
            serde_json::to_string(&gathered.figures()).unwrap(),
            "{split:?} {axis:?}"
        );
        assert_eq!(p.profitability.thresholds, gathered.thresholds);
        assert_eq!(p.profitability.whale, gathered.whale);
        compared += 1;
    }
    assert_eq!(compared, 4);
    // The kiosk's rate reached the one customer who used it.
    let kiosk = read_part_dir(&out)
        .1
        .column("cts_channel")
        .unwrap()
        .as_materialized_series()
        .max::<f64>()
        .unwrap()
        .unwrap();
    assert!(kiosk >= 30.0, "{kiosk}");
    assert!(hidden_entries(dir.path()).is_empty());

    // RFM parts of another split of the customers, or in another order: refused by the
    // argument's name, the earlier output kept.
    let mut fewer = rfm.clone();
    fewer.files.pop();
    let mut swapped = rfm.clone();
    swapped.files.swap(0, 1);
    for other in [&fewer, &swapped] {
        match parts.profitability(&model, None, Split::Median, MatrixAxis::Margin, other, &out) {
            Err(Error::InvalidOption { option, .. }) => assert_eq!(option, "rfm"),
            x => panic!("{:?}", x.map(|p| p.files)),
        }
    }
    assert_eq!(read_part_dir(&out).0, parts.parts.files.len());
    // No rate: the gathered stage's error, before the output is made.
    let fresh = dir.path().join("never");
    match parts.profitability(
        &CostModel::default(),
        None,
        Split::Median,
        MatrixAxis::Margin,
        &rfm,
        &fresh,
    ) {
        Err(Error::InvalidOption { option, .. }) => assert_eq!(option, "costs"),
        x => panic!("{:?}", x.map(|p| p.files)),
    }
    assert!(!fresh.exists());
    // A negative visit count in the activity table: the gathered stage's row error.
    let bad = df!("customer_id" => ["x", "y"], "visits" => [1.0, -2.0]).unwrap();
    match (
        parts.profitability(
            &model,
            Some(&bad),
            Split::Median,
            MatrixAxis::Margin,
            &rfm,
            &fresh,
        ),
        cost_table(table.frame(), &model, Some(&bad)),
    ) {
        (
            Err(Error::BadRow { row, column, .. }),
            Err(Error::BadRow {
                row: r, column: c, ..
            }),
        ) => {
            assert_eq!((row, column), (r, c));
        }
        (a, b) => panic!("{:?} / {:?}", a.map(|p| p.files), b.map(|_| ())),
    }
    assert!(!fresh.exists());
    assert!(hidden_entries(dir.path()).is_empty());
}

/// `patronage profitability --part-files -o DIR` writes the one-file run's per-customer
/// table as part files and prints its JSON figures, byte for byte.
#[test]
fn the_cli_prices_part_files_equal_to_the_one_file_run() {
    use crate::cli::patronage;
    let dir = tempfile::tempdir().unwrap();
    simulated_parquet(dir.path(), 59);
    let file = dir.path().join("sim.parquet");
    let file = file.to_str().unwrap();
    let costs = dir.path().join("costs.toml");
    std::fs::write(
        &costs,
        "per_order = 2.5\nper_line = 0.4\nper_delivery = 4.0\nper_return = 7.5\n[per_channel_order]\nweb = 0.5\n",
    )
    .unwrap();
    let common = [
        "profitability",
        file,
        "--costs",
        costs.to_str().unwrap(),
        "--split",
        "q60",
        "--json",
    ];
    let one = dir.path().join("one.parquet");
    let (code, one_json, err) = patronage(&[&common[..], &["-o", one.to_str().unwrap()]].concat());
    assert_eq!(code, 0, "{err}");
    let parts_dir = dir.path().join("profit");
    let on_parts = [
        "--part-files",
        "-o",
        parts_dir.to_str().unwrap(),
        "--engine",
        "datafusion",
        "--block-rows",
        "2000",
    ];
    let (code, json, err) = patronage(&[&common[..], &on_parts[..]].concat());
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("Parquet part files") && err.contains("whale curve"),
        "{err}"
    );
    assert_eq!(json, one_json);
    let (files, all) = read_part_dir(&parts_dir);
    assert!(files > 1);
    assert!(all.equals_missing(&patronage::io::read_table(&one).unwrap()));
    assert!(hidden_entries(dir.path()).is_empty());
    // No rate: the one-file run's usage error, and nothing written.
    let fresh = dir.path().join("never");
    let (code, _, err) = patronage(&[
        "profitability",
        file,
        "--part-files",
        "-o",
        fresh.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("costs") && !err.contains("rows read"), "{err}");
    assert!(!fresh.exists());
    assert!(hidden_entries(dir.path()).is_empty());
    // --part-files needs the directory.
    let (code, _, err) = patronage(&["profitability", file, "--part-files"]);
    assert_eq!(code, 2, "{err}");
}

/// The segmentation with the channel mix on customer table part files equals the
/// gathered stage on the gathered table, with a channel only the last block sees.
#[test]
fn channel_mix_segmentation_on_table_parts_equals_the_gathered_stage() {
    use patronage::engine::customer_table_parts;
    use patronage::segmentation::{FeatureSpec, KChoice, SegmentationSpec};
    use patronage::stages::segment::{SegmentSettings, segment};
    let dir = tempfile::tempdir().unwrap();
    let seg_dir = dir.path().join("segments");
    let opts = SummaryOptions::weekly();
    let (tx, _, parts) = late_channel_parts(dir.path(), 61, &opts, None);
    assert!(parts.channels.iter().any(|c| c == "kiosk"));
    let table = tx.customer_table(&opts, None).unwrap();
    let summary = table.summary().unwrap();
    for spec in [
        SegmentationSpec::default().k(KChoice::Fixed(3)),
        SegmentationSpec::default()
            .k(KChoice::Range(2, 4))
            .fit_sample(1_000),
    ] {
        let settings = SegmentSettings::new(spec, true);
        let on_parts = parts.segment(&settings, None, &seg_dir).unwrap();
        let gathered = segment(summary.frame(), Some(&table), &settings, None).unwrap();
        assert_eq!(on_parts.segmentation, gathered.segmentation);
        let frame = gathered.frame().unwrap();
        assert!(frame.column("channel_share_kiosk").is_ok());
        let all = read_files(&on_parts.files);
        assert_eq!(all.schema(), frame.schema());
        assert!(all.equals_missing(&frame));
    }
    // A column of the table that the summary does not hold (a channel's line count, the
    // orders) is not a feature, on parts as in the gathered stage: the same missing
    // column, with the same list of columns.
    for feature in ["channel_lines_web", "orders"] {
        let spec = SegmentationSpec::default()
            .features(vec![FeatureSpec::parse(feature).unwrap()])
            .k(KChoice::Fixed(2));
        for mix in [true, false] {
            let settings = SegmentSettings::new(spec.clone(), mix);
            match (
                parts.segment(&settings, None, &seg_dir),
                segment(summary.frame(), Some(&table), &settings, None),
            ) {
                (
                    Err(Error::MissingColumn { column, available }),
                    Err(Error::MissingColumn {
                        column: c,
                        available: a,
                    }),
                ) => {
                    assert_eq!(column, feature);
                    assert_eq!((column, available), (c, a));
                }
                (a, b) => panic!("{:?} / {:?}", a.map(|p| p.files), b.map(|_| ())),
            }
        }
    }
    // Without the mix, the table's parts segment as the summary's do.
    let settings = SegmentSettings::new(SegmentationSpec::default().k(KChoice::Fixed(2)), false);
    let on_parts = parts.segment(&settings, None, &seg_dir).unwrap();
    let gathered = segment(summary.frame(), None, &settings, None).unwrap();
    assert_eq!(on_parts.segmentation, gathered.segmentation);
    assert!(hidden_entries(dir.path()).is_empty());

    // A log without channels: the gathered stage's missing column, and no output.
    let mut no_channel = patronage::io::read_table(dir.path().join("sim.parquet")).unwrap();
    no_channel.drop_in_place("channel").unwrap();
    let tx = Transactions::from_frame(no_channel, TransactionSchema::default()).unwrap();
    let plain = dir.path().join("plain");
    let (parts, _) =
        customer_table_parts(&tx, &opts, None, &patronage::engine::Engine::Memory, &plain).unwrap();
    let table = tx.customer_table(&opts, None).unwrap();
    let settings = SegmentSettings::new(SegmentationSpec::default().k(KChoice::Fixed(2)), true);
    let fresh = dir.path().join("never");
    match (
        parts.segment(&settings, None, &fresh),
        segment(
            table.summary().unwrap().frame(),
            Some(&table),
            &settings,
            None,
        ),
    ) {
        (
            Err(Error::MissingColumn { column, available }),
            Err(Error::MissingColumn {
                column: c,
                available: a,
            }),
        ) => assert_eq!((column, available), (c, a)),
        (a, b) => panic!("{:?} / {:?}", a.map(|p| p.files), b.map(|_| ())),
    }
    assert!(!fresh.exists());
}
