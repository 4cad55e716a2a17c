//! Every reader fed malformed files: each case must end in `Ok` or in the typed
//! `patronage::Error` variant it is pinned to (matched on variant and fields, never on
//! message text), and never in a panic.
//!
//! The files are made in a temporary directory for each reader (CSV, TSV, whitespace
//! text, Parquet, Arrow IPC): empty, header-only, truncated, wrong magic bytes, wrong
//! column types, gzip and zstd compressed, Latin-1 bytes, duplicate column names; plus
//! delimiter sniffing and decimal columns. A few Parquet/IPC files polars cannot write
//! (decimals, duplicate names, half floats) are fixtures in `tests/data`, made by
//! `tests/data/make_reader_fixtures.py`.
//!
//! Both entry points run on every file: `Transactions::scan` then `.summary(weekly)`,
//! and `patronage::io::read_table`. `catch_unwind` is only the harness's safety net: a
//! panic is reported as a failure of its case, and every failing case is listed at once.

use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use patronage::prelude::*;
use polars::prelude::*;

const CSV: &str = "customer_id,date,amount\n\
                   007,2024-01-01,5.0\n\
                   007,2024-01-09,7.5\n\
                   010,2024-01-03,3.0\n\
                   007,2024-02-01,2.0\n";

/// What one entry point must end in for one file.
#[derive(Debug, Clone, Copy)]
enum Want {
    /// `Ok`, and (for the summary) the same per-customer table as the plain CSV; (for
    /// `read_table`) four rows with a Float64 `amount` summing to 17.5.
    Same,
    /// `Ok` with this many rows (summary: customers; table: rows).
    Rows(usize),
    /// [`Error::EmptyTable`].
    Empty,
    /// [`Error::UnreadableFile`] naming the case's file.
    Unreadable,
    /// [`Error::NotUtf8`] naming the case's file, this row and column.
    NotUtf8(u64, &'static str),
    /// [`Error::NotUtf8`] naming the case's file and this row (the column is whatever
    /// random bytes make of it).
    NotUtf8Row(u64),
    /// [`Error::DuplicateColumn`] naming the case's file and this column.
    Duplicate(&'static str),
    /// [`Error::WrongType`] naming this column.
    WrongType(&'static str),
    /// [`Error::InvalidOption`] naming this option.
    Usage(&'static str),
}

struct Case {
    name: String,
    path: PathBuf,
    scan: Want,
    table: Want,
}

impl Case {
    /// A case whose file `name` is written in `dir` with `bytes`.
    fn written(dir: &Path, name: String, bytes: &[u8], scan: Want, table: Want) -> Case {
        let path = dir.join(&name);
        write(&path, bytes);
        Case {
            name,
            path,
            scan,
            table,
        }
    }

    /// A maker of cases whose files `NAME.ext` are written in `dir`.
    fn in_dir<'a>(dir: &'a Path, ext: &'a str) -> impl Fn(&str, &[u8], Want, Want) -> Case + 'a {
        move |name, bytes, scan, table| {
            Case::written(dir, format!("{name}.{ext}"), bytes, scan, table)
        }
    }

    /// A case on a fixture of `tests/data`.
    fn fixture(file: &str, scan: Want, table: Want) -> Case {
        Case {
            name: format!("fixture {file}"),
            path: Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/data")
                .join(file),
            scan,
            table,
        }
    }
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::File::create(path)
        .and_then(|mut f| f.write_all(bytes))
        .unwrap();
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn zstd(bytes: &[u8]) -> Vec<u8> {
    zstd::encode_all(bytes, 3).unwrap()
}

/// Deterministic bytes, all >= 0x80 and none a line end: not UTF-8, one "line".
fn high_bytes(n: usize) -> Vec<u8> {
    let mut x: u32 = 0x2545_f491;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            0x80 | (x & 0x7f) as u8
        })
        .collect()
}

/// The sample as a frame with typed columns (Parquet and IPC files are written from it).
fn typed_frame() -> DataFrame {
    df!(
        "customer_id" => ["007", "007", "010", "007"],
        "date" => ["2024-01-01", "2024-01-09", "2024-01-03", "2024-02-01"],
        "amount" => [5.0, 7.5, 3.0, 2.0],
    )
    .unwrap()
    .lazy()
    .with_column(col("date").cast(DataType::Date))
    .collect()
    .unwrap()
}

/// The delimited-text flavours: extension, field separator, `read_table` outcome for a
/// readable file.
const TEXT: [(&str, &str); 3] = [("csv", ","), ("tsv", "\t"), ("txt", "  ")];

fn text_cases(dir: &Path) -> Vec<Case> {
    let mut cases = Vec::new();
    for (ext, sep) in TEXT {
        let text = |s: &str| s.replace(',', sep);
        // read_table refuses whitespace-separated text (a per-customer table is CSV,
        // Parquet or IPC) once the file is known not to be empty.
        let table = |want: Want| {
            if ext == "txt" {
                Want::Usage("input")
            } else {
                want
            }
        };
        let written = Case::in_dir(dir, ext);
        let mut add = |name: &str, bytes: Vec<u8>, scan, table| {
            cases.push(written(name, &bytes, scan, table));
        };
        add(
            "plain",
            text(CSV).into_bytes(),
            Want::Same,
            table(Want::Same),
        );
        add("empty", Vec::new(), Want::Empty, Want::Empty);
        add(
            "header_only",
            text("customer_id,date,amount\n").into_bytes(),
            Want::Empty,
            table(Want::Empty),
        );
        // Cut inside the last line's date: that row is rejected, the rest summarised.
        let cut = text(CSV);
        let cut = &cut.as_bytes()[..cut.len() - 8];
        add(
            "truncated",
            cut.to_vec(),
            Want::Rows(2),
            table(Want::Rows(4)),
        );
        // Quoting faults: a file cut inside a quoted field (the quote runs to the end of
        // the file), and a lone quote inside an unquoted field (an inch mark), which
        // polars' CSV reader cannot split rows around. Whitespace text has no quoting:
        // there the short last line is rejected, and the mark is part of an id.
        for (name, body, txt) in [
            (
                "truncated_quote",
                "customer_id,date,amount\n007,2024-01-01,5.0\n\"010,2024-01-0",
                Want::Rows(1),
            ),
            (
                "inch_mark",
                "customer_id,date,amount\n007,2024-01-01,5.0\n15\",2024-01-03,3.0\n",
                Want::Rows(2),
            ),
        ] {
            let want = if ext == "txt" { txt } else { Want::Unreadable };
            add(name, text(body).into_bytes(), want, table(want));
        }
        add(
            "dates_as_numbers",
            text("customer_id,date,amount\n007,1.5,5.0\n010,2.5,3.0\n").into_bytes(),
            Want::WrongType("date"),
            table(Want::Rows(2)),
        );
        add(
            "amounts_as_text",
            text("customer_id,date,amount\n007,2024-01-01,abc\n010,2024-01-03,xyz\n").into_bytes(),
            Want::WrongType("amount"),
            table(Want::Rows(2)),
        );
        // Text with raw (non-UTF-8) bytes between two pieces.
        let raw = |before: &str, bytes: &[u8], after: &str| {
            [text(before).as_bytes(), bytes, text(after).as_bytes()].concat()
        };
        let gz = gzip(text(CSV).as_bytes());
        // Each of these ends the same through both entry points.
        for (name, bytes, want) in [
            ("gzip", gz.clone(), Want::Same),
            ("zstd", zstd(text(CSV).as_bytes()), Want::Same),
            // A gzip header followed by garbage: corrupt compressed data.
            (
                "corrupt_gzip",
                [&gz[..10], &[0xff; 40]].concat(),
                Want::Unreadable,
            ),
            (
                "truncated_gzip",
                gz[..gz.len() / 2].to_vec(),
                Want::Unreadable,
            ),
            (
                "latin1",
                raw(
                    "customer_id,date,amount\n007,2024-01-01,5.0\n",
                    b"M\xfcller",
                    ",2024-01-09,7.5\n",
                ),
                Want::NotUtf8(2, "customer_id"),
            ),
            (
                "latin1_header",
                raw(
                    "customer_id,date,amount,",
                    b"r\xe9gion",
                    "\n007,2024-01-01,5.0,n\n",
                ),
                Want::NotUtf8(0, "r\u{fffd}gion"),
            ),
            ("random_bytes", high_bytes(300), Want::NotUtf8Row(0)),
            (
                "duplicate_columns",
                text("customer_id,date,amount,amount\n007,2024-01-01,5.0,1\n").into_bytes(),
                Want::Duplicate("amount"),
            ),
        ] {
            add(name, bytes, want, table(want));
        }
    }
    // Compressed whitespace text and compressed TSV by their double extensions.
    let ws = CSV.replace(',', " ");
    let tsv = CSV.replace(',', "\t");
    for (name, bytes, table) in [
        ("tx.txt.gz", gzip(ws.as_bytes()), Want::Usage("input")),
        ("tx.txt.zst", zstd(ws.as_bytes()), Want::Usage("input")),
        ("tx.csv.gz", gzip(CSV.as_bytes()), Want::Same),
        ("tx.csv.zst", zstd(CSV.as_bytes()), Want::Same),
        ("tx.tsv.gz", gzip(tsv.as_bytes()), Want::Same),
        ("tx.csv.zstd", zstd(CSV.as_bytes()), Want::Same),
    ] {
        cases.push(Case::written(dir, name.into(), &bytes, Want::Same, table));
    }
    // Delimiters sniffed from the header of a `.csv` file.
    for (name, sep) in [("semicolon", ";"), ("tab", "\t"), ("pipe", "|")] {
        let bytes = CSV.replace(',', sep);
        cases.push(Case::written(
            dir,
            format!("{name}.csv"),
            bytes.as_bytes(),
            Want::Same,
            Want::Same,
        ));
    }
    cases
}

fn binary_cases(dir: &Path) -> Vec<Case> {
    let mut cases = Vec::new();
    for ext in ["parquet", "arrow"] {
        let written = Case::in_dir(dir, ext);
        let mut add = |name: &str, bytes: Vec<u8>, scan, table| {
            cases.push(written(name, &bytes, scan, table));
        };
        let plain = dir.join(format!("plain.{ext}"));
        patronage::io::write_frame(&mut typed_frame(), &plain).unwrap();
        let bytes = std::fs::read(&plain).unwrap();
        add("plain", bytes.clone(), Want::Same, Want::Same);
        add("empty", Vec::new(), Want::Empty, Want::Empty);
        let header_only = dir.join(format!("header_only.{ext}"));
        patronage::io::write_frame(&mut typed_frame().head(Some(0)), &header_only).unwrap();
        add(
            "header_only",
            std::fs::read(&header_only).unwrap(),
            Want::Empty,
            Want::Empty,
        );
        add(
            "truncated",
            bytes[..bytes.len() / 2].to_vec(),
            Want::Unreadable,
            Want::Unreadable,
        );
        add(
            "tail_cut",
            bytes[..bytes.len() - 3].to_vec(),
            Want::Unreadable,
            Want::Unreadable,
        );
        add(
            "csv_inside",
            CSV.as_bytes().to_vec(),
            Want::Unreadable,
            Want::Unreadable,
        );
        add(
            "random_bytes",
            high_bytes(300),
            Want::Unreadable,
            Want::Unreadable,
        );
        add("gzip", gzip(&bytes), Want::Unreadable, Want::Unreadable);
        let other = if ext == "parquet" { "arrow" } else { "parquet" };
        let other_path = dir.join(format!("other.{other}"));
        patronage::io::write_frame(&mut typed_frame(), &other_path).unwrap();
        add(
            "other_format",
            std::fs::read(&other_path).unwrap(),
            Want::Unreadable,
            Want::Unreadable,
        );
        let mut wrong = |name: &str, df: DataFrame, scan: Want| {
            let path = dir.join(format!("{name}.{ext}"));
            patronage::io::write_frame(&mut df.clone(), &path).unwrap();
            cases.push(Case {
                name: format!("{name}.{ext}"),
                path,
                scan,
                table: Want::Rows(df.height()),
            });
        };
        wrong(
            "dates_as_numbers",
            df!("customer_id" => ["007", "010"], "date" => [1.5, 2.5], "amount" => [5.0, 3.0])
                .unwrap(),
            Want::WrongType("date"),
        );
        wrong(
            "amounts_as_text",
            df!("customer_id" => ["007", "010"], "date" => ["2024-01-01", "2024-01-03"], "amount" => ["abc", "xyz"])
                .unwrap(),
            Want::WrongType("amount"),
        );
        for (name, scan, table) in [
            ("decimal", Want::Same, Want::Same),
            ("many_types", Want::Same, Want::Same),
            (
                "duplicate",
                Want::Duplicate("amount"),
                Want::Duplicate("amount"),
            ),
        ] {
            cases.push(Case::fixture(&format!("{name}.{ext}"), scan, table));
        }
    }
    for file in ["decimal256.parquet", "float16.arrow"] {
        cases.push(Case::fixture(
            file,
            Want::WrongType("amount"),
            Want::WrongType("amount"),
        ));
    }
    cases
}

/// Ok(rows) from an entry point, for comparison with [`Want`].
enum Got {
    Summary(DataFrame),
    Table(DataFrame),
}

fn check(case: &Case, want: Want, got: Result<Got>, reference: &DataFrame) -> Option<String> {
    let path = &case.path;
    let ok = match (&want, &got) {
        (Want::Same, Ok(Got::Summary(df))) => df.equals_missing(reference),
        (Want::Same, Ok(Got::Table(df))) => {
            df.height() == 4
                && df.column("amount").is_ok_and(|c| {
                    c.dtype() == &DataType::Float64
                        && c.as_materialized_series().sum::<f64>().ok() == Some(17.5)
                })
        }
        (Want::Rows(n), Ok(Got::Summary(df) | Got::Table(df))) => df.height() == *n,
        (Want::Empty, Err(Error::EmptyTable { .. })) => true,
        (Want::Unreadable, Err(Error::UnreadableFile { path: p, .. })) => p == path,
        (
            Want::NotUtf8(row, column),
            Err(Error::NotUtf8 {
                path: p,
                row: r,
                column: c,
                ..
            }),
        ) => p == path && r == row && c == column,
        (
            Want::NotUtf8Row(row),
            Err(Error::NotUtf8 {
                path: p, row: r, ..
            }),
        ) => p == path && r == row,
        (Want::Duplicate(column), Err(Error::DuplicateColumn { path: p, column: c })) => {
            p == path && c == column
        }
        (Want::WrongType(column), Err(Error::WrongType { column: c, .. })) => c == column,
        (Want::Usage(option), Err(Error::InvalidOption { option: o, .. })) => o == option,
        _ => false,
    };
    if ok {
        return None;
    }
    let got = match got {
        Ok(Got::Summary(df)) => format!("Ok(summary of {} customers)\n{df}", df.height()),
        Ok(Got::Table(df)) => format!("Ok(table of {} rows)\n{df}", df.height()),
        Err(e) => format!("Err({e:?})"),
    };
    Some(format!("{}: wanted {want:?}, got {got}", case.name))
}

/// Runs `f`, turning a panic into a failure message (the harness's safety net only).
fn no_panic(
    name: &str,
    f: impl FnOnce() -> Result<Got>,
) -> std::result::Result<Result<Got>, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_string()))
            .unwrap_or_default();
        format!("{name}: PANIC {msg}")
    })
}

fn summary(path: &Path) -> Result<Got> {
    let tx = Transactions::scan(path, TransactionSchema::default())?;
    Ok(Got::Summary(
        tx.summary(&SummaryOptions::weekly())?.into_frame(),
    ))
}

#[test]
fn every_reader_survives_malformed_files() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("reference.csv");
    write(&plain, CSV.as_bytes());
    let reference = match summary(&plain).unwrap() {
        Got::Summary(df) => df,
        Got::Table(_) => unreachable!(),
    };
    assert_eq!(reference.height(), 2);

    let mut cases = text_cases(dir.path());
    cases.extend(binary_cases(dir.path()));
    let mut failures = Vec::new();
    for case in &cases {
        let scanned = no_panic(&format!("{} (scan + summary)", case.name), || {
            summary(&case.path)
        });
        let table = no_panic(&format!("{} (read_table)", case.name), || {
            patronage::io::read_table(&case.path).map(Got::Table)
        });
        for (want, got) in [(case.scan, scanned), (case.table, table)] {
            match got {
                Err(panic) => failures.push(panic),
                Ok(got) => failures.extend(check(case, want, got, &reference)),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} checks failed:\n{}",
        failures.len(),
        2 * cases.len(),
        failures.join("\n")
    );
}

#[test]
fn an_explicit_wrong_delimiter_is_a_usage_error_naming_the_option() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tabs.csv");
    write(&path, CSV.replace(',', "\t").as_bytes());
    // scan_csv means "comma": the header then reads as one column full of tabs.
    match Transactions::scan_csv(&path, TransactionSchema::default()) {
        Err(Error::InvalidOption { option, .. }) => assert_eq!(option, "delimiter"),
        other => panic!("{other:?}"),
    }
    // The right delimiter reads it.
    let tx = Transactions::scan_csv_with(
        &path,
        CsvOptions::default().delimiter(b'\t'),
        TransactionSchema::default(),
    )
    .unwrap();
    assert_eq!(
        tx.summary(&SummaryOptions::weekly()).unwrap().n_customers(),
        2
    );
}

#[test]
fn latin1_in_a_column_the_run_does_not_use_is_named_too() {
    // polars refuses a file with invalid UTF-8 in any column, read or not; the readers
    // check the whole file first so the error names the row and column.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("names.csv");
    let mut bytes = b"customer_id,date,amount,name\n007,2024-01-01,5.0,Smith\n".to_vec();
    bytes.extend_from_slice(b"010,2024-01-03,3.0,\"M\xfcller, K.\"\r\n");
    write(&path, &bytes);
    let scanned = Transactions::scan(&path, TransactionSchema::default()).map(|_| ());
    let table = patronage::io::read_table(&path).map(|_| ());
    for got in [scanned, table] {
        match got {
            Err(Error::NotUtf8 {
                path: p,
                row,
                column,
                value,
            }) => {
                assert_eq!((&p, row, column.as_str()), (&path, 2, "name"));
                assert_eq!(value, "\"M\u{fffd}ller, K.\"");
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn gzip_named_plain_csv_is_read_by_its_magic_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.csv");
    write(&path, &gzip(CSV.replace(',', ";").as_bytes()));
    let tx = Transactions::scan(&path, TransactionSchema::default()).unwrap();
    assert_eq!(
        tx.summary(&SummaryOptions::weekly()).unwrap().n_customers(),
        2
    );
}
