//! The summary computed one customer partition at a time
//! (`Transactions::summary_partitioned`) equals the in-memory summary: same table (columns,
//! values, row order), same cleaning report (rows, rejects with their row numbers,
//! duplicates), same errors.

use patronage::prelude::*;
use patronage::simulate::{SimulationSpec, simulate};
use polars::prelude::*;

const PARTITIONS: [usize; 4] = [1, 2, 3, 7];

/// Asserts that every partition count gives what the in-memory path gives (a summary or
/// an error); returns the in-memory result.
fn same(tx: &Transactions, opts: &SummaryOptions) -> std::result::Result<Summary, String> {
    let whole = tx.summary(opts).map_err(|e| e.to_string());
    for p in PARTITIONS {
        let split = tx
            .summary_partitioned(opts, Some(p))
            .map_err(|e| e.to_string());
        match (&whole, &split) {
            (Ok(w), Ok(s)) => {
                assert_eq!(w.frame().schema(), s.frame().schema(), "P = {p}, {opts:?}");
                assert!(
                    w.frame().equals_missing(s.frame()),
                    "P = {p}, {opts:?}\n{}\n{}",
                    w.frame(),
                    s.frame()
                );
                assert_eq!(w.report(), s.report(), "P = {p}, {opts:?}");
                assert_eq!(w.observation_end(), s.observation_end());
                assert_eq!(w.calibration_end(), s.calibration_end());
                // The acquisition figures the derived covariates read (issue #18).
                assert_eq!(
                    w.acquisition_channel().unwrap(),
                    s.acquisition_channel().unwrap(),
                    "P = {p}, {opts:?}"
                );
                let bits = |v: Vec<f64>| v.into_iter().map(f64::to_bits).collect::<Vec<_>>();
                assert_eq!(
                    bits(w.first_order_value().unwrap()),
                    bits(s.first_order_value().unwrap()),
                    "P = {p}, {opts:?}"
                );
            }
            (Err(a), Err(b)) => assert_eq!(a, b, "P = {p}, {opts:?}"),
            (a, b) => panic!(
                "P = {p}, {opts:?}: in memory {:?}, partitioned {:?}",
                a.as_ref().map(|s| s.n_customers()),
                b.as_ref().map(|s| s.n_customers())
            ),
        }
    }
    whole
}

pub(crate) fn option_sets() -> Vec<SummaryOptions> {
    vec![
        SummaryOptions::daily(),
        SummaryOptions::weekly().calibration_end("2024-03-31"),
        SummaryOptions::weekly()
            .observation_end("2024-07-31")
            .calibration_end("2024-03-31"),
        SummaryOptions::monthly()
            .purchase_unit(PurchaseUnit::Week)
            .returns(ReturnPolicy::Exclude)
            .duplicates(DuplicatePolicy::Drop),
        SummaryOptions::daily().duplicates(DuplicatePolicy::Drop),
        SummaryOptions::daily().strict(true),
        // Errors: the calibration end after the (implicit) observation end, and before
        // the first transaction.
        SummaryOptions::weekly().calibration_end("2024-12-01"),
        SummaryOptions::weekly().calibration_end("2023-01-01"),
    ]
}

/// Text columns as a CSV would give them, with a bad row of every kind spread over the
/// customers (so over the partitions). Customer `j` alone holds the last date, so the
/// other partitions' own ends differ from the input's.
pub(crate) fn messy() -> DataFrame {
    let rows: Vec<(Option<&str>, &str, &str, &str)> = vec![
        (Some("a"), "2024-01-05", "10", "false"),
        (Some("a"), "2024-02-01", "20", "false"),
        (Some("b"), "2024-01-10", "5", "false"),
        (Some("b"), "2024-13-45", "5", "false"), // unparseable date
        (Some("c"), "2024-03-01", "NaN", "false"), // not finite
        (Some("c"), "2024-03-02", "7", "false"),
        (Some("d"), "2999-01-01", "3", "false"), // future / after the end
        (Some("d"), "2024-04-01", "4", "false"),
        (Some("e"), "2024-05-01", "8", "false"),
        (Some("e"), "2024-05-01", "8", "false"), // exact duplicate
        (Some("f"), "2024-01-02", "-3", "false"), // return before any purchase
        (Some("f"), "2024-01-03", "12", "false"),
        (Some("f"), "2024-02-03", "-2", "false"), // return, netted
        (None, "2024-01-01", "1", "false"),       // null id
        (Some("g"), "2024-06-30", "9", "false"),
        (Some("g"), "2024-07-01", "4", "yes"), // return by flag
        (Some("h"), "abc", "1", "false"),      // unparseable date
        (Some("h"), "2024-06-01", "2", "false"),
        (Some("i"), "2024-01-01", "abc", "false"), // not a number
        (Some("j"), "2024-08-15", "30", "false"),  // the last date
        (Some("k"), "2024-02-02", "1", "false"),
        (Some("k"), "2024-02-02", "1", "false"), // exact duplicate
        (Some("k"), "2024-02-02", "1", "false"), // and another
        (Some("l"), "2024-03-03", "2", "maybe"), // not a boolean
        (Some("m"), "", "3", "false"),           // blank date
        (Some("  "), "2024-01-01", "2", "false"), // blank id
        (Some("n"), "2024-04-04", "6", "false"),
        (Some("a"), "2024-06-06", "1", "false"),
        (Some("o"), "2999-02-02", "6", "false"), // a customer with only a future row
    ];
    df!(
        "customer_id" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        "date" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        "amount" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
        "is_return" => rows.iter().map(|r| r.3).collect::<Vec<_>>(),
    )
    .unwrap()
}

#[test]
fn messy_text_frame_gives_the_same_summary_report_and_errors() {
    let tx = Transactions::from_frame(messy(), TransactionSchema::default()).unwrap();
    let mut summaries = 0;
    for opts in option_sets() {
        if same(&tx, &opts).is_ok() {
            summaries += 1;
        }
    }
    // Strict and the two bad calibration ends fail; the rest summarise.
    assert_eq!(summaries, 5);
    let s = same(&tx, &SummaryOptions::daily()).unwrap();
    let r = s.report();
    assert!(r.rejects.len() >= 10, "{:?}", r.rejects);
    assert_eq!(r.duplicates_kept.len(), 3);
    assert_eq!(s.observation_end().to_string(), "2024-08-15");
}

#[test]
fn strict_mode_fails_on_the_lowest_bad_row_of_the_whole_input() {
    let tx = Transactions::from_frame(messy(), TransactionSchema::default()).unwrap();
    let opts = SummaryOptions::daily().strict(true);
    for p in PARTITIONS {
        match tx.summary_partitioned(&opts, Some(p)) {
            Err(Error::BadRow { row, column, .. }) => {
                assert_eq!((row, column.as_str()), (4, "date"), "P = {p}");
            }
            other => panic!("P = {p}: {:?}", other.map(|s| s.n_customers())),
        }
    }
}

#[test]
fn integer_ids_and_typed_columns() {
    let n = 500;
    let df = df!(
        "customer_id" => (0..n).map(|i| (i * 7919) % 97 - 40).collect::<Vec<i64>>(),
        "date" => (0..n).map(|i| 19_700 + ((i * 31) % 300) as i32).collect::<Vec<i32>>(),
        "amount" => (0..n).map(|i| if i % 53 == 0 { f64::NAN } else if i % 41 == 0 { -2.0 } else { (i % 17) as f64 + 1.0 }).collect::<Vec<f64>>(),
        "cost" => (0..n).map(|i| (i % 5) as f64).collect::<Vec<f64>>(),
    )
    .unwrap()
    .lazy()
    .with_column(col("date").cast(DataType::Date))
    .collect()
    .unwrap();
    let tx = Transactions::from_frame(df, TransactionSchema::default()).unwrap();
    for opts in [
        SummaryOptions::weekly(),
        SummaryOptions::daily().calibration_end("2024-01-31"),
    ] {
        let s = same(&tx, &opts).unwrap();
        assert_eq!(s.n_customers(), 97);
        assert!(s.frame().column("gross_profit").is_ok());
    }
}

#[test]
fn a_partition_with_no_parseable_value_is_not_a_wrong_column() {
    // Ids z* (the last partitions) have only bad dates or bad amounts: fine as long as
    // another partition has good ones.
    let ids = ["a", "b", "c", "d", "za", "zb", "zc", "zd"];
    let df = df!(
        "customer_id" => ids,
        "date" => ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "x", "y", "2024-01-05", "2024-01-06"],
        "amount" => ["1", "2", "3", "4", "5", "6", "q", "r"],
    )
    .unwrap();
    let tx = Transactions::from_frame(df, TransactionSchema::default()).unwrap();
    let s = same(&tx, &SummaryOptions::daily()).unwrap();
    assert_eq!(s.n_customers(), 4);
    assert_eq!(s.report().rejects.len(), 4);

    // No date parses anywhere: the same wrong-type error, naming the first row's value.
    let df = df!("customer_id" => ids, "date" => ["p", "q", "r", "s", "t", "u", "v", "w"], "amount" => [1.0; 8]).unwrap();
    let tx = Transactions::from_frame(df, TransactionSchema::default()).unwrap();
    let e = same(&tx, &SummaryOptions::daily()).unwrap_err();
    assert!(e.contains("first value: p"), "{e}");

    // No amount parses anywhere.
    let df = df!("customer_id" => ids, "date" => ["2024-01-01"; 8], "amount" => ["p", "q", "r", "s", "t", "u", "v", "w"]).unwrap();
    let tx = Transactions::from_frame(df, TransactionSchema::default()).unwrap();
    let e = same(&tx, &SummaryOptions::daily()).unwrap_err();
    assert!(e.contains("amount"), "{e}");

    // Every row rejected, and no valid row at all.
    let df = df!("customer_id" => ids, "date" => ["2024-01-01"; 8], "amount" => [-1.0; 8]).unwrap();
    let tx = Transactions::from_frame(df, TransactionSchema::default()).unwrap();
    let e = same(&tx, &SummaryOptions::daily()).unwrap_err();
    assert!(e.contains("all 8 rows were rejected"), "{e}");
    let df = df!("customer_id" => ids, "date" => ["2999-01-01"; 8], "amount" => [1.0; 8]).unwrap();
    let tx = Transactions::from_frame(df, TransactionSchema::default()).unwrap();
    let e = same(&tx, &SummaryOptions::daily()).unwrap_err();
    assert!(e.contains("no row has a valid"), "{e}");
}

#[test]
fn retail_sample_csv() {
    let tx =
        Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default()).unwrap();
    for opts in [
        SummaryOptions::weekly(),
        SummaryOptions::weekly().calibration_end("2023-06-30"),
        SummaryOptions::daily()
            .returns(ReturnPolicy::Exclude)
            .duplicates(DuplicatePolicy::Drop),
    ] {
        let s = same(&tx, &opts).unwrap();
        assert!(s.n_customers() > 100);
    }
}

#[test]
fn cdnow_sample_and_master() {
    let sample = TransactionSchema::default()
        .customer_id("column_2")
        .date("column_3")
        .amount("column_5")
        .quantity("column_4");
    let master = TransactionSchema::default()
        .amount("dollar_value")
        .quantity("number_of_cds");
    for (file, header, schema) in [
        ("datasets/cdnow/CDNOW_sample.txt", false, sample),
        ("datasets/cdnow/CDNOW_master.txt", true, master),
    ] {
        let tx = Transactions::scan_whitespace(file, header, schema).unwrap();
        for opts in [
            SummaryOptions::weekly()
                .calibration_end("1997-09-30")
                .observation_end("1998-06-30"),
            SummaryOptions::weekly(),
        ] {
            same(&tx, &opts).unwrap();
        }
    }
}

#[test]
fn simulated_log_with_costs_channels_and_returns() {
    let sim = simulate(&SimulationSpec {
        customers: 2000,
        seed: 11,
        return_rate: 0.05,
        ..SimulationSpec::default()
    })
    .unwrap();
    let tx = Transactions::from_frame(sim.transactions, TransactionSchema::default()).unwrap();
    for opts in [
        SummaryOptions::weekly().calibration_end("2024-09-30"),
        SummaryOptions::daily().duplicates(DuplicatePolicy::Drop),
    ] {
        let s = same(&tx, &opts).unwrap();
        assert!(s.n_customers() > 1000);
    }
    // One thread or several: the same partitioned result.
    let tx2 = tx.clone();
    let opts = SummaryOptions::weekly().calibration_end("2024-09-30");
    let many = tx.summary_partitioned(&opts, Some(3)).unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let one = pool
        .install(|| tx2.summary_partitioned(&opts, Some(3)))
        .unwrap();
    assert!(many.frame().equals_missing(one.frame()));
    assert_eq!(many.report(), one.report());
}

#[test]
fn zero_partitions_is_an_invalid_option_and_auto_is_in_memory_for_small_inputs() {
    let tx = Transactions::from_frame(messy(), TransactionSchema::default()).unwrap();
    assert!(matches!(
        tx.summary_partitioned(&SummaryOptions::daily(), Some(0)),
        Err(Error::InvalidOption { .. })
    ));
    let auto = tx
        .summary_partitioned(&SummaryOptions::daily(), None)
        .unwrap();
    let whole = tx.summary(&SummaryOptions::daily()).unwrap();
    assert!(auto.frame().equals_missing(whole.frame()));
    assert_eq!(tx.count_rows().unwrap(), 29);
}
