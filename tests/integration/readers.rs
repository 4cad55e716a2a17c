//! Every reader gives the same summary: Parquet, Arrow IPC, CSV, whitespace text, frames;
//! Datetime columns and ragged whitespace lines.

use std::io::Write;

use patronage::prelude::*;
use polars::prelude::*;

fn sample() -> DataFrame {
    df!(
        "customer_id" => ["007", "007", "010", "007"],
        "date" => ["2024-01-01", "2024-01-09", "2024-01-03", "2024-02-01"],
        "amount" => [5.0, 7.5, 3.0, -2.0],
    )
    .unwrap()
}

fn summary_of(tx: Transactions) -> DataFrame {
    tx.summary(&SummaryOptions::daily().observation_end("2024-02-10"))
        .unwrap()
        .into_frame()
}

#[test]
fn parquet_ipc_csv_and_frames_agree() {
    let dir = tempfile::tempdir().unwrap();
    let want =
        summary_of(Transactions::from_frame(sample(), TransactionSchema::default()).unwrap());
    assert_eq!(want.height(), 2);
    for ext in ["parquet", "arrow", "csv"] {
        let path = dir.path().join(format!("tx.{ext}"));
        patronage::io::write_frame(&mut sample(), &path).unwrap();
        let got = summary_of(Transactions::scan(&path, TransactionSchema::default()).unwrap());
        assert!(got.equals_missing(&want), "{ext}:\n{got}\n{want}");
    }
}

#[test]
fn datetime_columns_are_read_as_utc_days() {
    let stamps = Column::new("timestamp".into(), [0i64, 86_399_999_999, 86_400_000_000])
        .cast(&DataType::Datetime(
            polars::prelude::TimeUnit::Microseconds,
            None,
        ))
        .unwrap();
    let df = DataFrame::new_infer_height(vec![
        Column::new("customer_id".into(), ["a", "a", "a"]),
        stamps,
        Column::new("amount".into(), [1.0, 2.0, 4.0]),
    ])
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dt.parquet");
    patronage::io::write_frame(&mut df.clone(), &path).unwrap();
    let s = Transactions::scan_parquet(&path, TransactionSchema::default())
        .unwrap()
        .summary(&SummaryOptions::daily())
        .unwrap();
    let f = s.frame();
    // 1970-01-01 00:00 and 23:59:59.999999 are one purchase; 1970-01-02 is the second.
    assert_eq!(
        f.column("n_purchases").unwrap().u32().unwrap().get(0),
        Some(2)
    );
    assert_eq!(
        f.column("monetary_value").unwrap().f64().unwrap().get(0),
        Some(4.0)
    );
    assert_eq!(s.observation_end().to_string(), "1970-01-02");
}

#[test]
fn ragged_whitespace_lines_reject_the_missing_fields() {
    let mut f = tempfile::Builder::new().suffix(".txt").tempfile().unwrap();
    f.write_all(b"customer_id date amount\r\n 001 19970101 5.0\r\n\r\n 002 19970102\r\n 001 19970105 2.5\r\n")
        .unwrap();
    // The .txt file has no delimiter in its first line: sniffed as whitespace-separated.
    let tx = Transactions::scan(f.path(), TransactionSchema::default()).unwrap();
    let s = tx
        .summary(&SummaryOptions::daily().observation_end("1997-01-31"))
        .unwrap();
    let r = s.report();
    assert_eq!((r.rows_read, r.rows_used), (3, 2));
    // The blank line keeps its number: the short line is row 3.
    assert_eq!(
        (r.rejects[0].row, r.rejects[0].column.as_str()),
        (3, "amount")
    );
    assert_eq!(r.rejects[0].reason, RejectReason::Null);
    let ids = s
        .frame()
        .column("customer_id")
        .unwrap()
        .str()
        .unwrap()
        .get(0)
        .map(str::to_string);
    assert_eq!(ids.as_deref(), Some("001"));
}
