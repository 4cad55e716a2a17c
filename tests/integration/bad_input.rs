//! One test per bad-input category: each ends in a typed error naming the column (and
//! row), or in a documented handling with the affected rows reported.

use std::io::Write;

use patronage::prelude::*;
use polars::prelude::*;

fn frame_tx(df: DataFrame) -> Transactions {
    Transactions::from_frame(df, TransactionSchema::default()).unwrap()
}

fn daily() -> SummaryOptions {
    SummaryOptions::daily().observation_end("2024-12-31")
}

fn csv_file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

#[test]
fn missing_column_is_named() {
    let df = df!("customer_id" => ["a"], "date" => ["2024-01-01"]).unwrap();
    match Transactions::from_frame(df.clone(), TransactionSchema::default()) {
        Err(Error::MissingColumn { column, available }) => {
            assert!(column.starts_with("amount"), "{column}");
            assert_eq!(available, "customer_id, date");
        }
        other => panic!("{other:?}"),
    }
    let e =
        Transactions::from_frame(df, TransactionSchema::default().amount("revenue")).unwrap_err();
    assert!(
        matches!(e, Error::MissingColumn { ref column, .. } if column == "revenue"),
        "{e}"
    );
    assert!(e.to_string().contains("revenue"));
}

#[test]
fn wrong_types_are_typed_errors_naming_the_column() {
    let df =
        df!("customer_id" => ["a"], "date" => ["2024-01-01"], "amount" => [Some(true)]).unwrap();
    match frame_tx(df).summary(&daily()) {
        Err(Error::WrongType { column, .. }) => assert_eq!(column, "amount"),
        other => panic!("{other:?}"),
    }
    let df = df!("customer_id" => ["a"], "date" => [1.5f64], "amount" => [1.0]).unwrap();
    match frame_tx(df).summary(&daily()) {
        Err(Error::WrongType { column, .. }) => assert_eq!(column, "date"),
        other => panic!("{other:?}"),
    }
    let df = df!("customer_id" => [1.5f64], "date" => ["2024-01-01"], "amount" => [1.0]).unwrap();
    match frame_tx(df).summary(&daily()) {
        Err(Error::WrongType { column, .. }) => assert_eq!(column, "customer_id"),
        other => panic!("{other:?}"),
    }
    // A text amount column with no number in it is the wrong column, not bad rows.
    let df = df!("customer_id" => ["a", "b"], "date" => ["2024-01-01", "2024-01-02"], "amount" => ["x", "y"]).unwrap();
    match frame_tx(df).summary(&daily()) {
        Err(Error::WrongType { column, .. }) => assert_eq!(column, "amount"),
        other => panic!("{other:?}"),
    }
    // Text dates none of which parse: the error says so and names the column.
    let df = df!("customer_id" => ["a"], "date" => ["01.02.2024"], "amount" => [1.0]).unwrap();
    let e = frame_tx(df).summary(&daily()).unwrap_err();
    assert!(
        matches!(e, Error::WrongType { ref column, .. } if column == "date"),
        "{e}"
    );
}

#[test]
fn unparseable_dates_null_ids_and_bad_amounts_are_rejected_with_row_and_column() {
    let df = df!(
        "customer_id" => [Some("a"), None, Some("b"), Some("c"), Some("d"), Some("e")],
        "date" => [Some("2024-01-01"), Some("2024-01-02"), Some("2024-02-30"), Some("2024-01-03"), None, Some("2024-01-04")],
        "amount" => [Some("5"), Some("5"), Some("5"), Some("abc"), Some("5"), Some("NaN")],
    )
    .unwrap();
    let s = frame_tx(df).summary(&daily()).unwrap();
    let r = s.report();
    assert_eq!(r.rows_read, 6);
    assert_eq!(r.rows_used, 1);
    let got: Vec<(u64, &str, String)> = r
        .rejects
        .iter()
        .map(|x| (x.row, x.column.as_str(), x.reason.to_string()))
        .collect();
    assert_eq!(
        got,
        vec![
            (2, "customer_id", "null or empty value".to_string()),
            (3, "date", "unparseable date".to_string()),
            (4, "amount", "not a number".to_string()),
            (5, "date", "null or empty value".to_string()),
            (6, "amount", "not a finite number".to_string()),
        ]
    );
    assert_eq!(r.rejects[1].value, "2024-02-30");
    let rejects = r.rejects_frame().unwrap();
    assert_eq!(
        rejects.get_column_names(),
        ["row", "column", "reason", "value"]
    );
    assert_eq!(rejects.height(), 5);
}

#[test]
fn nan_and_infinite_numeric_amounts_are_rejected() {
    let df = df!(
        "customer_id" => ["a", "a", "a"],
        "date" => ["2024-01-01", "2024-01-02", "2024-01-03"],
        "amount" => [f64::NAN, f64::INFINITY, 3.0],
    )
    .unwrap();
    let s = frame_tx(df).summary(&daily()).unwrap();
    assert_eq!(s.report().rejects.len(), 2);
    assert!(
        s.report()
            .rejects
            .iter()
            .all(|r| r.reason == RejectReason::NotFinite && r.column == "amount")
    );
}

#[test]
fn negative_amounts_are_returns_and_a_return_before_any_purchase_is_rejected() {
    let df = df!(
        "customer_id" => ["a", "a", "b"],
        "date" => ["2024-01-01", "2024-01-05", "2024-01-03"],
        "amount" => [-4.0, 10.0, -2.0],
    )
    .unwrap();
    let s = frame_tx(df).summary(&daily()).unwrap();
    let rows: Vec<(u64, &RejectReason)> = s
        .report()
        .rejects
        .iter()
        .map(|r| (r.row, &r.reason))
        .collect();
    assert_eq!(
        rows,
        vec![
            (1, &RejectReason::ReturnBeforeAnyPurchase),
            (3, &RejectReason::ReturnBeforeAnyPurchase)
        ]
    );
    // b had only a return: not a customer.
    assert_eq!(s.n_customers(), 1);
}

#[test]
fn zero_amounts_are_purchases() {
    let df = df!("customer_id" => ["a", "a"], "date" => ["2024-01-01", "2024-01-09"], "amount" => [0.0, 0.0]).unwrap();
    let s = frame_tx(df).summary(&daily()).unwrap();
    let df = s.frame();
    assert_eq!(
        df.column("frequency").unwrap().u32().unwrap().get(0),
        Some(1)
    );
    assert_eq!(
        df.column("monetary_value").unwrap().f64().unwrap().get(0),
        Some(0.0)
    );
}

#[test]
fn return_flag_marks_returns() {
    let df = df!(
        "customer_id" => ["a", "a", "a"],
        "date" => ["2024-01-01", "2024-01-02", "2024-01-03"],
        "amount" => [10.0, 4.0, 1.0],
        "is_return" => ["no", "yes", "maybe"],
    )
    .unwrap();
    let s = frame_tx(df).summary(&daily()).unwrap();
    assert_eq!(
        s.frame()
            .column("total_spend")
            .unwrap()
            .f64()
            .unwrap()
            .get(0),
        Some(6.0)
    );
    assert_eq!(s.report().rejects.len(), 1);
    assert_eq!(s.report().rejects[0].column, "is_return");
    assert_eq!(s.report().rejects[0].reason, RejectReason::NotABoolean);
}

#[test]
fn negative_quantities_mark_returns_with_their_cost_coming_back() {
    // The Online Retail convention: a return line has a negative quantity.
    let df = df!(
        "customer_id" => ["a", "a", "a"],
        "date" => ["2024-01-01", "2024-01-02", "2024-01-03"],
        "price" => [10.0, 10.0, 4.0],
        "quantity" => [3.0, -1.0, 1.0],
        "cost" => [18.0, 6.0, 2.0],
    )
    .unwrap();
    let s = frame_tx(df).summary(&daily()).unwrap();
    let f = s.frame();
    assert_eq!(s.report().returns_used, 1);
    assert_eq!(
        f.column("total_spend").unwrap().f64().unwrap().get(0),
        Some(24.0)
    ); // 30 - 10 + 4
    assert_eq!(
        f.column("returns").unwrap().f64().unwrap().get(0),
        Some(10.0)
    );
    assert_eq!(
        f.column("gross_profit").unwrap().f64().unwrap().get(0),
        Some(10.0)
    ); // 24 - (18 - 6 + 2)
    assert_eq!(
        f.column("frequency").unwrap().u32().unwrap().get(0),
        Some(1)
    );
}

#[test]
fn empty_tables_are_errors() {
    let df = df!("customer_id" => Vec::<String>::new(), "date" => Vec::<String>::new(), "amount" => Vec::<f64>::new()).unwrap();
    assert!(matches!(
        frame_tx(df).summary(&daily()),
        Err(Error::EmptyTable { .. })
    ));
    let header_only = csv_file("customer_id,date,amount\n");
    let e = Transactions::scan_csv(header_only.path(), TransactionSchema::default())
        .and_then(|t| t.summary(&daily()))
        .unwrap_err();
    assert!(matches!(e, Error::EmptyTable { .. }), "{e}");
    let empty = csv_file("");
    let e = Transactions::scan_csv(empty.path(), TransactionSchema::default()).unwrap_err();
    assert!(matches!(e, Error::EmptyTable { .. }), "{e}");
    // Every row bad: an error that names the first one.
    let df =
        df!("customer_id" => [None::<&str>], "date" => ["2024-01-01"], "amount" => [1.0]).unwrap();
    let e = frame_tx(df).summary(&daily()).unwrap_err();
    assert!(matches!(e, Error::EmptyTable { .. }));
    assert!(e.to_string().contains("row 1"), "{e}");
}

#[test]
fn one_customer_and_all_equal_values_share_the_lowest_bin() {
    let df = df!("customer_id" => ["a"], "date" => ["2024-01-01"], "amount" => [3.0]).unwrap();
    let s = frame_tx(df).summary(&daily()).unwrap();
    let rfm = s.rfm(&RfmOptions::default()).unwrap();
    assert_eq!(
        rfm.frame()
            .column("rfm_score")
            .unwrap()
            .u32()
            .unwrap()
            .get(0),
        Some(111)
    );
    let df = df!(
        "customer_id" => ["a", "b", "c", "d"],
        "date" => ["2024-01-01"; 4],
        "amount" => [3.0; 4],
    )
    .unwrap();
    let s = frame_tx(df).summary(&daily()).unwrap();
    let rfm = s.rfm(&RfmOptions::default()).unwrap();
    let scores: Vec<u32> = rfm
        .frame()
        .column("rfm_score")
        .unwrap()
        .u32()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(scores, vec![111; 4]);
    assert_eq!(rfm.segment_summary().len(), 1);
    assert_eq!(rfm.segment_summary()[0].segment, "Lost");
    assert_eq!(rfm.segment_summary()[0].share, 1.0);
}

#[test]
fn duplicated_rows_are_reported_kept_or_dropped() {
    let df = df!(
        "customer_id" => ["a", "a", "a", "a"],
        "date" => ["2024-01-01", "2024-01-01", "2024-01-01", "2024-01-02"],
        "amount" => [5.0, 5.0, 6.0, 5.0],
    )
    .unwrap();
    let s = frame_tx(df.clone()).summary(&daily()).unwrap();
    assert_eq!(s.report().duplicates_kept.len(), 1);
    assert_eq!(
        (
            s.report().duplicates_kept[0].row,
            s.report().duplicates_kept[0].first_row
        ),
        (2, 1)
    );
    assert_eq!(
        s.frame()
            .column("total_spend")
            .unwrap()
            .f64()
            .unwrap()
            .get(0),
        Some(21.0)
    );
    let s = frame_tx(df)
        .summary(&daily().duplicates(DuplicatePolicy::Drop))
        .unwrap();
    assert_eq!(s.report().rejects.len(), 1);
    assert_eq!(
        s.report().rejects[0].reason,
        RejectReason::Duplicate { first_row: 1 }
    );
    assert_eq!(
        s.frame()
            .column("total_spend")
            .unwrap()
            .f64()
            .unwrap()
            .get(0),
        Some(16.0)
    );
}

#[test]
fn future_dates_and_dates_after_the_observation_end_are_rejected() {
    let df = df!(
        "customer_id" => ["a", "a", "b"],
        "date" => ["2024-01-01", "2999-01-01", "2024-03-01"],
        "amount" => [1.0, 1.0, 1.0],
    )
    .unwrap();
    // No observation end: the year-2999 row is in the future, the end is the last real date.
    let s = frame_tx(df.clone())
        .summary(&SummaryOptions::daily())
        .unwrap();
    assert_eq!(s.observation_end().to_string(), "2024-03-01");
    assert_eq!(s.report().rejects.len(), 1);
    assert_eq!(s.report().rejects[0].row, 2);
    assert!(matches!(
        s.report().rejects[0].reason,
        RejectReason::InTheFuture { .. }
    ));
    // An explicit end: later rows are after it.
    let s = frame_tx(df)
        .summary(&SummaryOptions::daily().observation_end("2024-02-01"))
        .unwrap();
    let rows: Vec<u64> = s.report().rejects.iter().map(|r| r.row).collect();
    assert_eq!(rows, vec![2, 3]);
    assert_eq!(
        s.report().rejects[1].reason,
        RejectReason::AfterObservationEnd {
            observation_end: "2024-02-01".into()
        }
    );
}

#[test]
fn strict_mode_fails_on_the_first_bad_row() {
    let df = df!(
        "customer_id" => [Some("a"), Some("b"), None],
        "date" => ["2024-01-01", "garbage", "2024-01-01"],
        "amount" => [1.0, 1.0, 1.0],
    )
    .unwrap();
    match frame_tx(df).summary(&daily().strict(true)) {
        Err(Error::BadRow {
            row, column, value, ..
        }) => {
            assert_eq!(
                (row, column.as_str(), value.as_str()),
                (2, "date", "garbage")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_options_are_usage_errors() {
    let df = df!("customer_id" => ["a"], "date" => ["2024-01-01"], "amount" => [1.0]).unwrap();
    let t = frame_tx(df);
    let e = t
        .summary(&SummaryOptions::daily().observation_end("someday"))
        .unwrap_err();
    assert!(e.is_usage());
    assert!(e.to_string().contains("observation_end"));
    let e = t
        .summary(
            &SummaryOptions::daily()
                .observation_end("2024-01-31")
                .calibration_end("2024-02-01"),
        )
        .unwrap_err();
    assert!(
        matches!(e, Error::InvalidOption { ref option, .. } if option == "time.calibration_end")
    );
    // A calibration period with no transaction in it.
    let e = t
        .summary(
            &SummaryOptions::daily()
                .observation_end("2024-01-31")
                .calibration_end("2023-12-01"),
        )
        .unwrap_err();
    assert!(
        matches!(e, Error::InvalidOption { ref option, .. } if option == "time.calibration_end"),
        "{e}"
    );
    assert!(e.to_string().contains("before the first transaction"));
}

#[test]
fn csv_keeps_zero_padded_ids_and_rejects_bad_cells() {
    let f =
        csv_file("customer_id,date,amount\n007,2024-01-01,5\n007,2024-01-03,x\n010,20240102,7.5\n");
    let t = Transactions::scan_csv(f.path(), TransactionSchema::default()).unwrap();
    let s = t.summary(&daily()).unwrap();
    let ids: Vec<&str> = s
        .frame()
        .column("customer_id")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(Option::unwrap)
        .collect();
    assert_eq!(ids, vec!["007", "010"]);
    assert_eq!(s.report().rejects.len(), 1);
    assert_eq!(
        (
            s.report().rejects[0].row,
            s.report().rejects[0].value.as_str()
        ),
        (2, "x")
    );
}
