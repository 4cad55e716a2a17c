//! The Ballista engine of phase 1 (feature `ballista`) gives the in-memory engine's
//! customer table, cleaning report and errors: on a scheduler and two executors started
//! in this process (and on three), on a running cluster reached by its address, for a
//! frame with a bad row of every kind, a dataset of several files, CDNOW and delimited
//! text; its work files are removed; its settings are checked by name.

use patronage::engine::{BallistaSettings, Engine, MemoryLimit};
use patronage::prelude::*;
use patronage::stages::summary::summary_on;

use crate::engine_datafusion::{
    cdnow_parquet, hidden_entries, later_ids_buy_later, retail_in_parts, same_as_memory,
    same_parts_as_memory, same_report_as_memory, same_summary_as_memory, write_parquet,
};
use crate::out_of_core::{messy, option_sets};

fn ballista(executors: usize, block_rows: usize, partitions: usize) -> BallistaSettings {
    let mut s = BallistaSettings::default();
    s.executors = executors;
    s.block_rows = block_rows;
    s.partitions = Some(partitions);
    s
}

#[test]
fn every_bad_row_kind_gives_the_memory_engines_table_report_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("messy.parquet");
    write_parquet(&messy(), &path);
    let tx = Transactions::scan_parquet(&path, TransactionSchema::default()).unwrap();
    let mut summaries = 0;
    // Blocks of a few rows on two executors, one block on three.
    for (k, opts) in option_sets().into_iter().enumerate() {
        let settings = if k % 2 == 0 {
            ballista(2, 3, 2)
        } else {
            ballista(3, 1 << 20, 3)
        };
        if let Some(run) = same_as_memory(
            &tx,
            &opts,
            &Engine::Ballista(settings),
            Some(CohortPeriod::Month),
        ) {
            assert_eq!(run.engine, "ballista");
            assert!(run.blocks >= 1);
            summaries += 1;
        }
    }
    // Strict and the two bad calibration ends fail; the other five summarise.
    assert_eq!(summaries, 5);
    // Strict mode names the lowest bad row of the whole input, whatever executor read it.
    let opts = SummaryOptions::daily().strict(true);
    match summary_on(&tx, &opts, None, &Engine::Ballista(ballista(2, 2, 2))) {
        Err(Error::BadRow { row, column, .. }) => assert_eq!((row, column.as_str()), (4, "date")),
        other => panic!("{:?}", other.map(|t| t.0.n_customers())),
    }
}

/// The summary as part files on two executors: the gathered summary's rows, the early
/// blocks' parts set to the whole input's observation end, the same errors.
#[test]
fn the_summary_as_part_files_equals_the_gathered_one() {
    let dir = tempfile::tempdir().unwrap();
    let later_path = dir.path().join("later.parquet");
    write_parquet(&later_ids_buy_later(4_000), &later_path);
    let later = Transactions::scan_parquet(&later_path, TransactionSchema::default()).unwrap();
    let messy_path = dir.path().join("messy.parquet");
    write_parquet(&messy(), &messy_path);
    let tx = Transactions::scan_parquet(&messy_path, TransactionSchema::default()).unwrap();
    let out = dir.path().join("parts");
    let engine = Engine::Ballista(ballista(2, 2_000, 2));
    let parts = same_parts_as_memory(&later, &SummaryOptions::daily(), &engine, &out).unwrap();
    assert!(parts.files.len() > 1 && parts.rewritten > 0);
    same_parts_as_memory(&tx, &SummaryOptions::weekly(), &engine, &out).unwrap();
    let strict = SummaryOptions::daily().strict(true);
    assert!(same_parts_as_memory(&tx, &strict, &engine, &out).is_none());
    assert!(hidden_entries(dir.path()).is_empty());
}

/// The retail sample in three files (a directory) and CDNOW in one, under a memory pool
/// on the executors: row numbers run on across the files as in memory, and the cluster's
/// work directory under the spill directory is gone after each run.
#[test]
fn datasets_of_files_and_cdnow_equal_memory_and_leave_no_files() {
    let dir = tempfile::tempdir().unwrap();
    let parts = retail_in_parts(dir.path());
    let spill = tempfile::tempdir().unwrap();
    let mut settings = ballista(2, 500, 2);
    settings.memory_limit = Some(MemoryLimit::from_bytes(64 << 20));
    settings.spill_dir = Some(spill.path().to_path_buf());
    let engine = Engine::Ballista(settings.clone());
    let tx = Transactions::scan_parquet_dataset(&parts, TransactionSchema::default()).unwrap();
    let opts = SummaryOptions::weekly().calibration_end("2023-06-30");
    let run = same_as_memory(&tx, &opts, &engine, Some(CohortPeriod::Month)).unwrap();
    assert!(run.blocks > 1, "{run:?}");
    // Read where they are: the in-process executors number the rows themselves.
    assert_eq!(run.staged_rows, 0, "{run:?}");
    assert_eq!(std::fs::read_dir(spill.path()).unwrap().count(), 0);

    let path = cdnow_parquet(dir.path());
    let tx = Transactions::scan_parquet(&path, TransactionSchema::default()).unwrap();
    settings.block_rows = 5000;
    let opts = SummaryOptions::weekly().calibration_end("1997-09-30");
    let run = same_as_memory(&tx, &opts, &Engine::Ballista(settings), None).unwrap();
    assert!(run.blocks > 5, "{run:?}");
    assert_eq!(std::fs::read_dir(spill.path()).unwrap().count(), 0);
}

/// Delimited text is staged as Parquet with its row numbers (in the spill directory,
/// which the in-process executors read) and gives the memory engine's table.
#[test]
fn delimited_text_is_staged_and_equals_memory() {
    let spill = tempfile::tempdir().unwrap();
    let mut settings = ballista(2, 300, 2);
    settings.spill_dir = Some(spill.path().to_path_buf());
    let tx =
        Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default()).unwrap();
    let opts = SummaryOptions::weekly().calibration_end("2024-03-31");
    let run = same_as_memory(
        &tx,
        &opts,
        &Engine::Ballista(settings),
        Some(CohortPeriod::Month),
    )
    .unwrap();
    assert!(run.blocks > 1);
    let lines = std::fs::read_to_string("datasets/retail_sample.csv")
        .unwrap()
        .lines()
        .count();
    assert_eq!(run.staged_rows, lines as u64 - 1);
    assert_eq!(std::fs::read_dir(spill.path()).unwrap().count(), 0);
}

/// `copies` copies of the frame with a bad row of every kind, one after the other, as a
/// Parquet file in `dir` of row groups of 7 rows: bad rows throughout, customers running
/// across row groups.
fn messy_in_row_groups(dir: &std::path::Path, copies: usize) -> std::path::PathBuf {
    let path = dir.join("many_groups.parquet");
    let one = messy();
    let mut all = one.clone();
    for _ in 1..copies {
        all.vstack_mut(&one).unwrap();
    }
    let mut file = std::fs::File::create(&path).unwrap();
    polars::prelude::ParquetWriter::new(&mut file)
        .with_row_group_size(Some(7))
        .finish(&mut all)
        .unwrap();
    path
}

/// A Parquet file of many small row groups, bad rows throughout and customers running
/// across row groups, numbered by our scan on an executor and spread over the others
/// by customer: every row is read once, and every reject keeps the row number the
/// in-memory engine gives it (a scan of several partitions was once read whole by each
/// of Ballista's tasks, doubling every figure: this caught it).
#[test]
fn many_row_groups_are_read_once_and_keep_their_row_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = messy_in_row_groups(dir.path(), 30);
    let tx = Transactions::scan_parquet(&path, TransactionSchema::default()).unwrap();
    for (executors, partitions, block_rows) in [(2, 3, 5), (3, 5, 1 << 20)] {
        let engine = Engine::Ballista(ballista(executors, block_rows, partitions));
        let run = same_as_memory(&tx, &SummaryOptions::weekly(), &engine, None).unwrap();
        assert_eq!(run.staged_rows, 0, "{run:?}");
    }
    let opts = SummaryOptions::daily().strict(true);
    match summary_on(&tx, &opts, None, &Engine::Ballista(ballista(2, 2, 3))) {
        Err(Error::BadRow { row, column, .. }) => assert_eq!((row, column.as_str()), (4, "date")),
        other => panic!("{:?}", other.map(|t| t.0.n_customers())),
    }
}

/// A cluster started apart from the run (Ballista's own in-process scheduler and two of
/// its executors, as a cluster's processes would be) and reached by `df://` address.
#[test]
fn a_running_cluster_is_reached_by_its_address() {
    let cluster = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let port = cluster.block_on(async {
        let addr = ballista_scheduler::standalone::new_standalone_scheduler()
            .await
            .unwrap();
        let url = format!("http://localhost:{}", addr.port());
        for _ in 0..2 {
            let client = loop {
                match ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient::connect(url.clone()).await {
                    Ok(c) => break c,
                    Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
                }
            };
            ballista_executor::new_standalone_executor(
                client,
                1,
                ballista_core::serde::BallistaCodec::default(),
            )
            .await
            .unwrap();
        }
        addr.port()
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("messy.parquet");
    write_parquet(&messy(), &path);
    let tx = Transactions::scan_parquet(&path, TransactionSchema::default()).unwrap();
    let mut settings = ballista(2, 4, 2);
    settings.scheduler = Some(format!("df://localhost:{port}"));
    let opts = SummaryOptions::weekly();
    let run = same_as_memory(&tx, &opts, &Engine::Ballista(settings.clone()), None).unwrap();
    assert!(run.blocks > 1);
    // Ballista's stock executors cannot number rows: the input was staged for them.
    assert_eq!(run.staged_rows, messy().height() as u64);
    // Saying it is a cluster of ours when it is not: the scheduler cannot read the plan.
    settings.patronage_cluster = true;
    match summary_on(&tx, &opts, None, &Engine::Ballista(settings)) {
        Err(Error::Ballista { .. }) => {}
        other => panic!("{:?}", other.map(|t| t.0.n_customers())),
    }
    drop(cluster);
}

#[test]
fn bad_settings_and_an_absent_scheduler_are_refused_by_name() {
    let tx =
        Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default()).unwrap();
    let opts = SummaryOptions::weekly();
    let with = |f: fn(&mut BallistaSettings)| {
        let mut s = BallistaSettings::default();
        f(&mut s);
        Engine::Ballista(s)
    };
    for (engine, key) in [
        (with(|s| s.executors = 0), "engine.executors"),
        (
            with(|s| s.patronage_cluster = true),
            "engine.patronage_cluster",
        ),
        (with(|s| s.block_rows = 0), "engine.block_rows"),
        (with(|s| s.partitions = Some(0)), "engine.partitions"),
        (
            with(|s| s.scheduler = Some("localhost:50050".into())),
            "engine.scheduler",
        ),
        (
            with(|s| s.scheduler = Some("df://localhost".into())),
            "engine.scheduler",
        ),
        (
            with(|s| {
                s.scheduler = Some("df://localhost:50050".into());
                s.memory_limit = Some(MemoryLimit::from_bytes(1 << 30));
            }),
            "engine.memory_limit",
        ),
    ] {
        match summary_on(&tx, &opts, None, &engine) {
            Err(Error::InvalidOption { option, .. }) => assert_eq!(option, key, "{engine:?}"),
            other => panic!("{engine:?}: {:?}", other.map(|t| t.0.n_customers())),
        }
    }
    // Nothing listens on port 1: named as an absent scheduler, not a hang.
    let absent = with(|s| s.scheduler = Some("df://127.0.0.1:1".into()));
    match summary_on(&tx, &opts, None, &absent) {
        Err(Error::Ballista { .. }) => {}
        other => panic!("{:?}", other.map(|t| t.0.n_customers())),
    }
}

/// The CLI: `summary` and `report` with `--engine ballista` print and write what the
/// memory engine does; Ballista's flags without the engine are refused with exit 2.
#[test]
fn the_cli_gives_the_same_summary_and_report_on_ballista() {
    use crate::cli::patronage;
    let dir = tempfile::tempdir().unwrap();
    let path = same_summary_as_memory(
        dir.path(),
        &[
            "--engine",
            "ballista",
            "--executors",
            "2",
            "--block-rows",
            "300",
        ],
    );
    let file = path.to_str().unwrap();

    for args in [
        &["summary", file, "--scheduler", "df://localhost:50050"][..],
        &[
            "summary",
            file,
            "--engine",
            "datafusion",
            "--executors",
            "2",
        ],
        &[
            "summary",
            file,
            "--engine",
            "ballista",
            "--scheduler",
            "df://localhost:50050",
            "--executors",
            "2",
        ],
    ] {
        let (code, _, err) = patronage(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        let flag = if args.contains(&"--scheduler") && !args.contains(&"--executors") {
            "--scheduler"
        } else {
            "--executors"
        };
        assert!(err.contains(flag), "{args:?}: {err}");
    }

    same_report_as_memory(file, "ballista", dir.path());
}

/// Child processes killed when dropped (a test that fails still stops its cluster).
#[cfg(feature = "cli")]
struct Processes(Vec<std::process::Child>);

#[cfg(feature = "cli")]
impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A port free on localhost now (the system's pick; released before it is used).
#[cfg(feature = "cli")]
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A cluster of our own binaries, as on separate machines: `patronage-scheduler` and two
/// `patronage-executor` processes. With `patronage_cluster` the client sends our
/// numbering scan, which they plan and run, so Parquet (one file of many row groups,
/// and a dataset of three files) is read where it is; text is staged as always; the
/// tables, rejects and reports are the memory engine's.
#[cfg(feature = "cli")]
#[test]
fn a_cluster_of_our_binaries_reads_parquet_where_it_is() {
    let scheduler_port = free_port();
    let mut cluster = Processes(Vec::new());
    let quiet = || std::process::Stdio::null();
    cluster.0.push(
        std::process::Command::new(env!("CARGO_BIN_EXE_patronage-scheduler"))
            .args([
                "--bind-host",
                "127.0.0.1",
                "--port",
                &scheduler_port.to_string(),
            ])
            .stderr(quiet())
            .spawn()
            .unwrap(),
    );
    let work = tempfile::tempdir().unwrap();
    for i in 0..2 {
        let dir = work.path().join(format!("executor-{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        cluster.0.push(
            std::process::Command::new(env!("CARGO_BIN_EXE_patronage-executor"))
                .args([
                    "--scheduler-port",
                    &scheduler_port.to_string(),
                    "--bind-host",
                    "127.0.0.1",
                    "--port",
                    &free_port().to_string(),
                    "--grpc-port",
                    &free_port().to_string(),
                    "--task-slots",
                    "1",
                    "--memory-limit",
                    "256MiB",
                    "--work-dir",
                ])
                .arg(&dir)
                .stderr(quiet())
                .spawn()
                .unwrap(),
        );
    }
    let mut settings = ballista(2, 5, 2);
    settings.scheduler = Some(format!("df://localhost:{scheduler_port}"));
    settings.patronage_cluster = true;
    let engine = Engine::Ballista(settings);

    let dir = tempfile::tempdir().unwrap();
    let path = messy_in_row_groups(dir.path(), 10);
    let tx = Transactions::scan_parquet(&path, TransactionSchema::default()).unwrap();
    let run = same_as_memory(&tx, &SummaryOptions::weekly(), &engine, None).unwrap();
    assert_eq!((run.engine.as_str(), run.staged_rows), ("ballista", 0));

    let parts = retail_in_parts(dir.path());
    let tx = Transactions::scan_parquet_dataset(&parts, TransactionSchema::default()).unwrap();
    let opts = SummaryOptions::weekly().calibration_end("2023-06-30");
    let run = same_as_memory(&tx, &opts, &engine, Some(CohortPeriod::Month)).unwrap();
    assert_eq!(run.staged_rows, 0);

    let tx =
        Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default()).unwrap();
    let run = same_as_memory(&tx, &opts, &engine, None).unwrap();
    assert!(run.staged_rows > 0);
    drop(cluster);
}
