//! The DataFusion engine of phase 1 (feature `datafusion`) gives the in-memory engine's
//! customer table, cleaning report and errors: on a frame with a bad row of every kind,
//! the retail sample, CDNOW and a simulated log; for a dataset of several files (a
//! directory and a glob) with global row numbers; in blocks of a few rows and of many;
//! on one and two partitions; and when a small memory pool makes its sort spill.

use std::path::{Path, PathBuf};

use patronage::engine::{DataFusionSettings, Engine, EngineRun, MemoryLimit};
use patronage::prelude::*;
use patronage::simulate::{SimulationSpec, simulate};
use patronage::stages::summary::summary_on;
use polars::prelude::*;

use crate::out_of_core::{messy, option_sets};
use crate::pipeline::column_str;

pub(crate) fn datafusion(block_rows: usize, partitions: usize, limit: Option<u64>) -> Engine {
    let mut s = DataFusionSettings::default();
    s.block_rows = block_rows;
    s.partitions = Some(partitions);
    s.memory_limit = limit.map(MemoryLimit::from_bytes);
    Engine::DataFusion(s)
}

pub(crate) fn write_parquet(df: &DataFrame, path: &Path) {
    patronage::io::write_frame(&mut df.clone(), path).unwrap();
}

/// The table of `tx` on `engine` equals the in-memory engine's (table, cohorts, report)
/// or both fail with the same error; returns the run when both succeed.
pub(crate) fn same_as_memory(
    tx: &Transactions,
    opts: &SummaryOptions,
    engine: &Engine,
    cohorts: Option<CohortPeriod>,
) -> Option<EngineRun> {
    let memory = summary_on(tx, opts, cohorts, &Engine::Memory);
    let other = summary_on(tx, opts, cohorts, engine);
    match (memory, other) {
        (Ok((m, _)), Ok((d, run))) => {
            assert_eq!(m.frame().schema(), d.frame().schema(), "{opts:?}");
            assert!(
                m.frame().equals_missing(d.frame()),
                "{opts:?}\n{}\n{}",
                m.frame(),
                d.frame()
            );
            assert_eq!(m.report(), d.report(), "{opts:?}");
            assert_eq!(m.observation_end(), d.observation_end());
            // Cohort revenue is an exact sum: equal values, whatever the order of adding.
            let end = m.observation_end();
            assert_eq!(
                m.cohort_activity().map(|a| a.table(end)),
                d.cohort_activity().map(|a| a.table(end))
            );
            let (ms, ds) = (m.summary().unwrap(), d.summary().unwrap());
            assert_eq!(ms.purchase_timeline(), ds.purchase_timeline());
            // What the derived covariates read (issue #18): the same from every block split.
            assert_eq!(
                ms.acquisition_channel().unwrap(),
                ds.acquisition_channel().unwrap()
            );
            let bits = |v: Vec<f64>| v.into_iter().map(f64::to_bits).collect::<Vec<_>>();
            assert_eq!(
                bits(ms.first_order_value().unwrap()),
                bits(ds.first_order_value().unwrap())
            );
            Some(run)
        }
        (Err(a), Err(b)) => {
            assert_eq!(a.to_string(), b.to_string(), "{opts:?}");
            None
        }
        (a, b) => panic!(
            "{opts:?}: in memory {:?}, {} {:?}",
            a.map(|t| t.0.n_customers()),
            engine.name(),
            b.map(|t| t.0.n_customers())
        ),
    }
}

#[test]
fn every_bad_row_kind_gives_the_memory_engines_table_report_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("messy.parquet");
    write_parquet(&messy(), &path);
    let tx = Transactions::scan_parquet(&path, TransactionSchema::default()).unwrap();
    let mut summaries = 0;
    for opts in option_sets() {
        for engine in [datafusion(3, 1, None), datafusion(1 << 20, 2, None)] {
            let run = same_as_memory(&tx, &opts, &engine, Some(CohortPeriod::Month));
            if let Some(run) = run {
                assert_eq!(run.engine, "datafusion");
                assert!(run.blocks >= 1);
                summaries += 1;
            }
        }
    }
    // Strict and the two bad calibration ends fail; the other five summarise, twice.
    assert_eq!(summaries, 10);
}

#[test]
fn strict_mode_fails_on_the_lowest_bad_row_of_the_whole_input() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("messy.parquet");
    write_parquet(&messy(), &path);
    let tx = Transactions::scan_parquet(&path, TransactionSchema::default()).unwrap();
    let opts = SummaryOptions::daily().strict(true);
    match summary_on(&tx, &opts, None, &datafusion(2, 2, None)) {
        Err(Error::BadRow { row, column, .. }) => assert_eq!((row, column.as_str()), (4, "date")),
        other => panic!("{:?}", other.map(|t| t.0.n_customers())),
    }
}

/// The retail sample split into three files: the dataset read in memory equals the
/// single file (row numbers run on across the files), and DataFusion on the directory
/// and on a glob equals both.
/// The retail sample written as three Parquet files of unequal size in `dir/parts`.
pub(crate) fn retail_in_parts(dir: &Path) -> PathBuf {
    let df = patronage::io::read_table("datasets/retail_sample.csv").unwrap();
    let parts = dir.join("parts");
    std::fs::create_dir(&parts).unwrap();
    let n = df.height() as i64;
    for (k, (off, len)) in [(0, n / 3), (n / 3, n / 2 - n / 3), (n / 2, n)]
        .into_iter()
        .enumerate()
    {
        write_parquet(
            &df.slice(off, len as usize),
            &parts.join(format!("part-{k}.parquet")),
        );
    }
    parts
}

/// CDNOW's rows (69,659) as `dir/cdnow.parquet`.
pub(crate) fn cdnow_parquet(dir: &Path) -> PathBuf {
    let text = Transactions::scan(
        "datasets/cdnow/CDNOW_master.txt",
        TransactionSchema::default(),
    )
    .unwrap();
    let rows = text
        .lazy()
        .drop(cols(["__patronage_row"]))
        .collect()
        .unwrap();
    assert_eq!(rows.height(), 69_659);
    let path = dir.join("cdnow.parquet");
    write_parquet(&rows, &path);
    path
}

#[test]
fn a_dataset_of_files_is_numbered_as_one_table() {
    let dir = tempfile::tempdir().unwrap();
    let df = patronage::io::read_table("datasets/retail_sample.csv").unwrap();
    let whole = dir.path().join("whole.parquet");
    write_parquet(&df, &whole);
    let parts = retail_in_parts(dir.path());
    let opts = SummaryOptions::weekly().calibration_end("2023-06-30");
    let single = Transactions::scan_parquet(&whole, TransactionSchema::default()).unwrap();
    let (want, _) = summary_on(&single, &opts, None, &Engine::Memory).unwrap();
    let glob: PathBuf = parts.join("part-*.parquet");
    for path in [&parts, &glob] {
        let tx = Transactions::scan_parquet_dataset(path, TransactionSchema::default()).unwrap();
        assert_eq!(tx.parquet_files().len(), 3);
        for engine in [Engine::Memory, datafusion(500, 2, None)] {
            let (got, _) = summary_on(&tx, &opts, None, &engine).unwrap();
            assert!(
                want.frame().equals_missing(got.frame()),
                "{path:?} {engine:?}"
            );
            assert_eq!(want.report(), got.report(), "{path:?} {engine:?}");
        }
    }
}

#[test]
fn cdnow_in_blocks_equals_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = cdnow_parquet(dir.path());
    let tx = Transactions::scan_parquet(&path, TransactionSchema::default()).unwrap();
    let opts = SummaryOptions::weekly().calibration_end("1997-09-30");
    let run = same_as_memory(
        &tx,
        &opts,
        &datafusion(5000, 2, None),
        Some(CohortPeriod::Month),
    )
    .unwrap();
    assert!(run.blocks > 5, "{run:?}");
}

/// A pool far smaller than the rows makes the sort spill; the table is still the
/// in-memory one, on one partition and on two.
#[test]
fn a_small_memory_pool_spills_and_changes_nothing() {
    let sim = simulate(&SimulationSpec {
        customers: 20_000,
        seed: 5,
        return_rate: 0.05,
        ..SimulationSpec::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sim.parquet");
    write_parquet(&sim.transactions, &path);
    let tx = Transactions::scan_parquet(&path, TransactionSchema::default()).unwrap();
    let opts = SummaryOptions::weekly().calibration_end("2024-09-30");
    for partitions in [1, 2] {
        let run = same_as_memory(
            &tx,
            &opts,
            &datafusion(20_000, partitions, Some(4 << 20)),
            Some(CohortPeriod::Month),
        )
        .unwrap();
        assert!(run.spill_count > 0, "no spill with 4 MiB: {run:?}");
        assert!(run.spilled_bytes > 0, "{run:?}");
    }
    // Without a limit nothing spills.
    let run = same_as_memory(&tx, &opts, &datafusion(20_000, 2, None), None).unwrap();
    assert_eq!(run.spill_count, 0);
}

/// The summary alone (`engine::summary`, what `patronage summary --engine datafusion`
/// runs) keeps only the summary's columns of each block before gathering them: the same
/// summary, acquisition columns, timeline and report as the memory engine's, in blocks
/// of a few rows and under a pool small enough to spill.
#[test]
fn the_summary_alone_equals_the_memory_engines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("messy.parquet");
    write_parquet(&messy(), &path);
    let tx = Transactions::scan_parquet(&path, TransactionSchema::default()).unwrap();
    let sim = simulate(&SimulationSpec {
        customers: 5_000,
        seed: 9,
        return_rate: 0.05,
        ..SimulationSpec::default()
    })
    .unwrap();
    let sim_path = dir.path().join("sim.parquet");
    write_parquet(&sim.transactions, &sim_path);
    let sim_tx = Transactions::scan_parquet(&sim_path, TransactionSchema::default()).unwrap();
    let cases = option_sets()
        .into_iter()
        .map(|o| (&tx, o, datafusion(3, 2, None)))
        .chain([(
            &sim_tx,
            SummaryOptions::weekly().calibration_end("2024-09-30"),
            datafusion(5_000, 2, Some(2 << 20)),
        )]);
    let mut compared = 0;
    for (tx, opts, engine) in cases {
        let memory = patronage::engine::summary(tx, &opts, &Engine::Memory);
        let (m, d, run) = match (memory, patronage::engine::summary(tx, &opts, &engine)) {
            (Ok((m, _)), Ok((d, run))) => (m, d, run),
            (Err(a), Err(b)) => {
                assert_eq!(a.to_string(), b.to_string(), "{opts:?}");
                continue;
            }
            (a, b) => panic!("{opts:?}: {:?} / {:?}", a.is_ok(), b.is_ok()),
        };
        assert_eq!(run.engine, "datafusion");
        assert!(m.frame().equals_missing(d.frame()), "{opts:?}");
        assert_eq!(m.report(), d.report(), "{opts:?}");
        assert_eq!(m.purchase_timeline(), d.purchase_timeline(), "{opts:?}");
        assert_eq!(
            m.acquisition_channel().unwrap(),
            d.acquisition_channel().unwrap()
        );
        assert_eq!(
            m.first_order_value().unwrap(),
            d.first_order_value().unwrap()
        );
        compared += 1;
    }
    // The five option sets that summarise the messy log, and the simulated log.
    assert_eq!(compared, 6);
}

/// `messy()` as delimited text, with an unused column holding a quoted line break and a
/// short line: every row numbered as the in-memory reader numbers it.
fn messy_text(delimiter: char) -> String {
    let df = messy();
    let col = |name: &str| column_str(&df, name);
    let (ids, dates, amounts, returns) = (
        col("customer_id"),
        col("date"),
        col("amount"),
        col("is_return"),
    );
    let d = delimiter;
    let mut text = format!("customer_id{d}date{d}amount{d}is_return{d}note\n");
    for i in 0..df.height() {
        let note = match i {
            2 => "\"two\nlines\"",
            7 => "\"quoted, with the delimiter\"",
            _ => "",
        };
        text.push_str(&format!(
            "{}{d}{}{d}{}{d}{}{d}{note}\n",
            ids[i].as_deref().unwrap_or(""),
            dates[i].as_deref().unwrap_or(""),
            amounts[i].as_deref().unwrap_or(""),
            returns[i].as_deref().unwrap_or(""),
        ));
        if i == 10 {
            // Fewer fields than the header: nulls, and the row rejected for its amount.
            text.push_str(&format!("p{d}2024-02-02\n"));
        }
    }
    text
}

/// CSV and TSV on DataFusion: staged as Parquet with their row numbers, they give the
/// in-memory engine's table, report and errors for every option set (the rejects name
/// the same rows across a quoted line break and a short line), and the staged copy is
/// removed from the spill directory.
#[test]
fn delimited_text_gives_the_memory_engines_table_report_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut summaries = 0;
    for (name, delimiter) in [("messy.csv", ','), ("messy.tsv", '\t')] {
        let path = dir.path().join(name);
        std::fs::write(&path, messy_text(delimiter)).unwrap();
        let tx = Transactions::scan(&path, TransactionSchema::default()).unwrap();
        for opts in option_sets() {
            let spill = tempfile::tempdir().unwrap();
            let mut s = DataFusionSettings::default();
            s.block_rows = 3;
            s.partitions = Some(2);
            s.spill_dir = Some(spill.path().to_path_buf());
            if let Some(run) = same_as_memory(&tx, &opts, &Engine::DataFusion(s), None) {
                assert_eq!(run.engine, "datafusion");
                summaries += 1;
            }
            assert_eq!(std::fs::read_dir(spill.path()).unwrap().count(), 0);
        }
    }
    assert_eq!(summaries, 10);
    // The bundled retail sample, in blocks.
    let tx =
        Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default()).unwrap();
    let opts = SummaryOptions::weekly().calibration_end("2024-03-31");
    let run = same_as_memory(
        &tx,
        &opts,
        &datafusion(500, 2, None),
        Some(CohortPeriod::Month),
    );
    assert!(run.unwrap().blocks > 1);
}

#[test]
fn text_input_and_bad_settings_are_refused_by_name() {
    // Whitespace-separated text (CDNOW) and compressed text are not staged.
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("retail.csv.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    std::io::Write::write_all(
        &mut enc,
        &std::fs::read("datasets/retail_sample.csv").unwrap(),
    )
    .unwrap();
    enc.finish().unwrap();
    let opts = SummaryOptions::weekly();
    for tx in [
        Transactions::scan_whitespace(
            "datasets/cdnow/CDNOW_master.txt",
            true,
            TransactionSchema::default(),
        )
        .unwrap(),
        Transactions::scan(&gz, TransactionSchema::default()).unwrap(),
    ] {
        match summary_on(&tx, &opts, None, &datafusion(100, 1, None)) {
            Err(Error::InvalidOption { option, .. }) => assert_eq!(option, "engine.kind"),
            other => panic!("{:?}", other.map(|t| t.0.n_customers())),
        }
    }
    let tx =
        Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default()).unwrap();
    for (engine, key) in [
        (datafusion(0, 1, None), "engine.block_rows"),
        (datafusion(10, 0, None), "engine.partitions"),
    ] {
        match summary_on(&tx, &opts, None, &engine) {
            Err(Error::InvalidOption { option, .. }) => assert_eq!(option, key),
            other => panic!("{:?}", other.map(|t| t.0.n_customers())),
        }
    }
    match "12 parsecs".parse::<MemoryLimit>() {
        Err(Error::InvalidOption { option, .. }) => assert_eq!(option, "engine.memory_limit"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_file_of_another_schema_in_a_dataset_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let a = df!("customer_id" => ["a", "b"], "date" => ["2024-01-01", "2024-01-02"], "amount" => [1.0, 2.0]).unwrap();
    let b = df!("customer_id" => ["c"], "date" => ["2024-01-03"], "amount" => ["3"]).unwrap();
    write_parquet(&a, &dir.path().join("a.parquet"));
    write_parquet(&b, &dir.path().join("b.parquet"));
    match Transactions::scan_parquet_dataset(dir.path(), TransactionSchema::default()) {
        Err(Error::DatasetMismatch { path, column, .. }) => {
            assert_eq!(path, dir.path().join("b.parquet"));
            assert_eq!(column, "amount");
        }
        other => panic!("{other:?}"),
    }
    let empty = tempfile::tempdir().unwrap();
    match Transactions::scan_parquet_dataset(empty.path(), TransactionSchema::default()) {
        Err(Error::Io { source, .. }) => assert_eq!(source.kind(), std::io::ErrorKind::NotFound),
        other => panic!("{other:?}"),
    }
}

/// The CLI: `summary` and `report` on the DataFusion engine print and write what the
/// memory engine does; DataFusion flags without the engine are refused with exit 2.
#[test]
fn the_cli_gives_the_same_summary_and_report_on_either_engine() {
    use crate::cli::patronage;
    let dir = tempfile::tempdir().unwrap();
    let path = same_summary_as_memory(
        dir.path(),
        &[
            "--engine",
            "datafusion",
            "--memory-limit",
            "64MiB",
            "--block-rows",
            "300",
        ],
    );
    let file = path.to_str().unwrap();

    let (code, _, err) = patronage(&["summary", file, "--memory-limit", "1GiB"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--memory-limit"), "{err}");

    same_report_as_memory(file, "datafusion", dir.path());
}

/// `patronage summary FILE ENGINE_ARGS` prints the memory engine's summary and cleaning
/// line, FILE the retail sample as `dir/retail.parquet` (returned).
pub(crate) fn same_summary_as_memory(dir: &Path, engine_args: &[&str]) -> PathBuf {
    let df = patronage::io::read_table("datasets/retail_sample.csv").unwrap();
    let path = dir.join("retail.parquet");
    write_parquet(&df, &path);
    let file = path.to_str().unwrap();
    let memory = crate::cli::patronage(&["summary", file]);
    let args: Vec<&str> = ["summary", file]
        .into_iter()
        .chain(engine_args.iter().copied())
        .collect();
    let engine = crate::cli::patronage(&args);
    assert_eq!(memory.0, 0, "{}", memory.2);
    assert_eq!(engine.0, 0, "{engine_args:?}: {}", engine.2);
    assert_eq!(memory.1, engine.1);
    assert_eq!(memory.2, engine.2);
    path
}

/// `patronage report FILE --engine ENGINE` writes the memory engine's customer table and
/// report figures (data, RFM, CLV, segmentation), and report.json names the engine.
pub(crate) fn same_report_as_memory(file: &str, engine: &str, dir: &Path) {
    let mut reports = Vec::new();
    for engine in ["memory", engine] {
        let out = dir.join(format!("report-{engine}"));
        let (code, _, err) = crate::cli::patronage(&[
            "report",
            file,
            "--engine",
            engine,
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ]);
        assert_eq!(code, 0, "{err}");
        let customers = patronage::io::read_table(out.join("customers.parquet")).unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap())
                .unwrap();
        assert_eq!(json["engine"]["engine"], engine);
        reports.push((customers, json));
    }
    assert!(reports[0].0.equals_missing(&reports[1].0));
    for key in ["data", "rfm", "clv", "segmentation"] {
        assert_eq!(reports[0].1[key], reports[1].1[key], "{key}");
    }
}

/// The part files of `parts` read in order, as one frame.
pub(crate) fn read_parts(parts: &patronage::engine::SummaryParts) -> DataFrame {
    let mut all: Option<DataFrame> = None;
    for f in &parts.files {
        let df = patronage::io::read_table(f).unwrap();
        match &mut all {
            None => all = Some(df),
            Some(a) => {
                a.vstack_mut_owned(df).unwrap();
            }
        }
    }
    all.unwrap()
}

/// [`patronage::engine::summary_parts`] on `engine` into `out` gives the gathered
/// summary's rows in its order (or the same error, leaving no file); returns the parts.
pub(crate) fn same_parts_as_memory(
    tx: &Transactions,
    opts: &SummaryOptions,
    engine: &Engine,
    out: &Path,
) -> Option<patronage::engine::SummaryParts> {
    let memory = patronage::engine::summary(tx, opts, &Engine::Memory);
    match (
        memory,
        patronage::engine::summary_parts(tx, opts, engine, out),
    ) {
        (Ok((m, _)), Ok((parts, run))) => {
            assert_eq!(run.engine, engine.name());
            assert_eq!(parts.dir, out);
            let d = read_parts(&parts);
            assert_eq!(m.frame().schema(), d.schema(), "{opts:?}");
            assert!(m.frame().equals_missing(&d), "{opts:?}\n{}\n{d}", m.frame());
            assert_eq!(m.report(), &parts.report, "{opts:?}");
            assert_eq!(parts.customers as usize, m.frame().height());
            // Nothing but the part files in the output, nothing left beside it.
            let names: Vec<_> = std::fs::read_dir(out).unwrap().collect();
            assert_eq!(names.len(), parts.files.len());
            Some(parts)
        }
        (Err(a), Err(b)) => {
            assert_eq!(a.to_string(), b.to_string(), "{opts:?}");
            None
        }
        (a, b) => panic!("{opts:?}: {:?} / {:?}", a.is_ok(), b.map(|p| p.0.files)),
    }
}

/// `customers` customers with three purchases each, the later the greater the id
/// (customer `k` buys on days `k / 20`, `k / 20 + 7` and `k / 20 + 30` after 2023-01-01).
pub(crate) fn later_ids_buy_later(customers: usize) -> DataFrame {
    let start = chrono::NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
    let (mut ids, mut dates, mut amounts) = (Vec::new(), Vec::new(), Vec::new());
    for k in 0..customers {
        for (j, gap) in [0u64, 7, 30].into_iter().enumerate() {
            ids.push(format!("c{k:06}"));
            let day = start + chrono::Days::new(k as u64 / 20 + gap);
            dates.push(day.to_string());
            amounts.push(10.0 + (k % 7) as f64 + j as f64);
        }
    }
    df!("customer_id" => ids, "date" => dates, "amount" => amounts).unwrap()
}

/// The names and sizes of the files in `dir` (`None` when it does not exist).
fn listing(dir: &Path) -> Option<Vec<(String, u64)>> {
    let mut v: Vec<(String, u64)> = std::fs::read_dir(dir)
        .ok()?
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            (name, e.metadata().unwrap().len())
        })
        .collect();
    v.sort();
    Some(v)
}

/// The part files of `dir` in name order, read end to end: (files, frame).
pub(crate) fn read_part_dir(dir: &Path) -> (usize, DataFrame) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut all = patronage::io::read_table(&files[0]).unwrap();
    for f in &files[1..] {
        all.vstack_mut_owned(patronage::io::read_table(f).unwrap())
            .unwrap();
    }
    (files.len(), all)
}

/// Entries of `dir` whose name starts with a dot (the part writer's work directories).
pub(crate) fn hidden_entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect()
}

#[test]
fn the_summary_as_part_files_equals_the_gathered_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("messy.parquet");
    write_parquet(&messy(), &path);
    let tx = Transactions::scan_parquet(&path, TransactionSchema::default()).unwrap();
    let sim = simulate(&SimulationSpec {
        customers: 3_000,
        seed: 11,
        return_rate: 0.05,
        ..SimulationSpec::default()
    })
    .unwrap();
    let sim_path = dir.path().join("sim.parquet");
    write_parquet(&sim.transactions, &sim_path);
    let sim_tx = Transactions::scan_parquet(&sim_path, TransactionSchema::default()).unwrap();
    let out = dir.path().join("out").join("summary");
    let (mut written, mut failed) = (0, 0);
    for opts in option_sets() {
        for engine in [datafusion(3, 2, None), Engine::Memory] {
            let before = listing(&out);
            match same_parts_as_memory(&tx, &opts, &engine, &out) {
                Some(parts) => {
                    written += 1;
                    if engine.name() == "memory" {
                        assert_eq!(parts.files.len(), 1);
                    }
                }
                None => {
                    // A failed run leaves the output as it was (absent, or the last
                    // run's parts).
                    failed += 1;
                    assert_eq!(listing(&out), before, "{opts:?}");
                }
            }
            // No work directory left beside the output either way.
            assert!(hidden_entries(out.parent().unwrap()).is_empty());
        }
    }
    // Strict and the two bad calibration ends fail; the other five write, on both engines.
    assert_eq!((written, failed), (10, 6));

    // Later ids buy later: the first blocks end before the input's last date, so their
    // parts are written again with the whole input's observation end.
    let later_path = dir.path().join("later.parquet");
    write_parquet(&later_ids_buy_later(4_000), &later_path);
    let later = Transactions::scan_parquet(&later_path, TransactionSchema::default()).unwrap();
    for opts in [
        SummaryOptions::daily(),
        SummaryOptions::weekly().calibration_end("2023-04-30"),
    ] {
        let parts = same_parts_as_memory(&later, &opts, &datafusion(2_000, 2, None), &out).unwrap();
        assert!(parts.files.len() > 1);
        assert!(parts.rewritten > 0 && parts.rewritten < parts.files.len());
    }
    // With the observation end given, every block has it: nothing is rewritten.
    let opts = SummaryOptions::daily().observation_end("2023-12-31");
    let parts = same_parts_as_memory(&later, &opts, &datafusion(2_000, 2, None), &out).unwrap();
    assert!(parts.files.len() > 1);
    assert_eq!(parts.rewritten, 0);

    // Many blocks and a spilling sort, with calibration columns.
    let opts = SummaryOptions::weekly().calibration_end("2024-09-30");
    let parts =
        same_parts_as_memory(&sim_tx, &opts, &datafusion(2_000, 2, Some(2 << 20)), &out).unwrap();
    assert!(parts.files.len() > 1, "{}", parts.files.len());
}

#[test]
fn an_empty_input_gives_the_gathered_error_and_no_part_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.parquet");
    write_parquet(&messy().head(Some(0)), &path);
    let tx = Transactions::scan_parquet(&path, TransactionSchema::default()).unwrap();
    let out = dir.path().join("parts");
    for engine in [datafusion(3, 1, None), Engine::Memory] {
        assert!(same_parts_as_memory(&tx, &SummaryOptions::daily(), &engine, &out).is_none());
        assert!(matches!(
            patronage::engine::summary_parts(&tx, &SummaryOptions::daily(), &engine, &out),
            Err(Error::EmptyTable { .. })
        ));
        assert!(!out.exists());
        assert!(hidden_entries(dir.path()).is_empty());
    }
}

#[test]
fn part_files_never_replace_other_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("messy.parquet");
    write_parquet(&messy(), &path);
    let tx = Transactions::scan_parquet(&path, TransactionSchema::default()).unwrap();
    let opts = SummaryOptions::daily();
    let engine = datafusion(3, 1, None);
    // A directory holding something else, and a file, are refused by path.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "keep me").unwrap();
    for out in [other.clone(), path.clone()] {
        match patronage::engine::summary_parts(&tx, &opts, &engine, &out) {
            Err(Error::Io { path, .. }) => assert_eq!(path, out),
            other => panic!("{:?}", other.map(|p| p.0.files)),
        }
    }
    assert_eq!(
        std::fs::read_to_string(other.join("notes.txt")).unwrap(),
        "keep me"
    );
    assert!(hidden_entries(dir.path()).is_empty());
    // An empty directory is used; an earlier run's parts are replaced whole.
    let later_path = dir.path().join("later.parquet");
    write_parquet(&later_ids_buy_later(4_000), &later_path);
    let later = Transactions::scan_parquet(&later_path, TransactionSchema::default()).unwrap();
    let out = dir.path().join("parts");
    std::fs::create_dir(&out).unwrap();
    let first = same_parts_as_memory(&later, &opts, &datafusion(2_000, 1, None), &out).unwrap();
    let fewer = same_parts_as_memory(&tx, &opts, &datafusion(1 << 20, 1, None), &out).unwrap();
    assert!(fewer.files.len() < first.files.len());
    // A strict run that fails leaves the earlier parts as they were.
    let before = read_parts(&fewer);
    let strict = SummaryOptions::daily().strict(true);
    assert!(matches!(
        patronage::engine::summary_parts(&tx, &strict, &engine, &out),
        Err(Error::BadRow { .. })
    ));
    assert!(read_parts(&fewer).equals_missing(&before));
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), fewer.files.len());
    assert!(hidden_entries(dir.path()).is_empty());
}

#[test]
fn the_cli_writes_part_files_equal_to_the_one_file_summary() {
    use crate::cli::patronage;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("later.parquet");
    write_parquet(&later_ids_buy_later(4_000), &path);
    let file = path.to_str().unwrap();
    let one = dir.path().join("one.parquet");
    let (code, _, err) = patronage(&["summary", file, "-o", one.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let parts_dir = dir.path().join("parts");
    let parts = parts_dir.to_str().unwrap();
    let args = [
        "summary",
        file,
        "--engine",
        "datafusion",
        "--block-rows",
        "2000",
        "--part-files",
        "-o",
        parts,
    ];
    let (code, _, err) = patronage(&args);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("4000 customers written to"), "{err}");
    let (files, all) = read_part_dir(&parts_dir);
    assert!(files > 1);
    assert!(all.equals_missing(&patronage::io::read_table(&one).unwrap()));
    // Without -o, and into a directory of other files: a usage error, and a refusal
    // naming the directory, which keeps its file.
    let (code, _, err) = patronage(&["summary", file, "--part-files"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--output"), "{err}");
    std::fs::write(parts_dir.join("notes.txt"), "mine").unwrap();
    let (code, _, err) = patronage(&args);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(parts) && err.contains("notes.txt"), "{err}");
    assert!(parts_dir.join("notes.txt").exists());
}
