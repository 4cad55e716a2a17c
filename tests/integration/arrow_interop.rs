//! Feature "arrow": arrow-rs record batches in and out. A transaction log given as
//! batches summarises exactly as the same log given as a polars frame; per-customer
//! tables and the CDNOW sample survive a round trip; bad batches give typed errors.
#![cfg(feature = "arrow")]

use std::sync::Arc;

use arrow_array::builder::StringDictionaryBuilder;
use arrow_array::types::Int32Type;
use arrow_array::{
    Array, ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float16Array, Float64Array,
    Int64Array, ListArray, RecordBatch, StringArray, TimestampMicrosecondArray,
    TimestampMillisecondArray, UInt32Array,
};
use arrow_schema::{DataType as ArrowType, Field, Schema};
use patronage::io::arrow::{frame_from_record_batches, record_batches_from_frame};
use patronage::prelude::*;
use polars::prelude::*;

/// Days since 1970-01-01 of an ISO date.
fn day(iso: &str) -> i32 {
    let d = chrono::NaiveDate::parse_from_str(iso, "%Y-%m-%d").unwrap();
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    i32::try_from((d - epoch).num_days()).unwrap()
}

/// A hand-made log: ids with leading zeros, one return, one customer first seen after the
/// calibration end, split over two batches.
struct Log {
    ids: Vec<&'static str>,
    dates: Vec<&'static str>,
    amounts: Vec<f64>,
    quantities: Vec<i64>,
    channels: Vec<&'static str>,
}

fn log() -> Log {
    Log {
        ids: vec![
            "0007", "0007", "0042", "0007", "0042", "0100", "0007", "0042", "0100", "0003",
        ],
        dates: vec![
            "2024-01-02",
            "2024-01-20",
            "2024-01-05",
            "2024-02-11",
            "2024-02-11",
            "2024-02-15",
            "2024-03-01",
            "2024-03-10",
            "2024-03-20",
            "2024-04-02",
        ],
        amounts: vec![10.5, 20.0, 7.25, -5.0, 12.0, 99.99, 30.0, 8.0, 15.5, 40.0],
        quantities: vec![1, 2, 1, -1, 3, 1, 2, 1, 1, 4],
        channels: vec![
            "web", "store", "web", "web", "app", "store", "web", "app", "store", "web",
        ],
    }
}

const SPLIT: usize = 6;

fn options() -> SummaryOptions {
    SummaryOptions::daily()
        .calibration_end("2024-02-29")
        .observation_end("2024-04-30")
}

/// The log as a polars frame (the reference path).
fn log_frame() -> DataFrame {
    let l = log();
    let days: Vec<i32> = l.dates.iter().map(|d| day(d)).collect();
    df!(
        "customer_id" => l.ids,
        "date" => Column::new("date".into(), days).cast(&DataType::Date).unwrap().take_materialized_series(),
        "amount" => l.amounts,
        "quantity" => l.quantities,
    )
    .unwrap()
}

/// The log as two record batches; `date` and `amount` built by the given closures.
fn log_batches(
    date: impl Fn(&[i32]) -> ArrayRef,
    amount: impl Fn(&[f64]) -> ArrayRef,
    with_channel: bool,
) -> Vec<RecordBatch> {
    let l = log();
    let days: Vec<i32> = l.dates.iter().map(|d| day(d)).collect();
    [(0, SPLIT), (SPLIT, l.ids.len())]
        .into_iter()
        .map(|(lo, hi)| {
            let mut cols: Vec<(&str, ArrayRef)> = vec![
                (
                    "customer_id",
                    Arc::new(StringArray::from(l.ids[lo..hi].to_vec())),
                ),
                ("date", date(&days[lo..hi])),
                ("amount", amount(&l.amounts[lo..hi])),
                (
                    "quantity",
                    Arc::new(Int64Array::from(l.quantities[lo..hi].to_vec())),
                ),
            ];
            if with_channel {
                let mut b = StringDictionaryBuilder::<Int32Type>::new();
                for c in &l.channels[lo..hi] {
                    b.append_value(c);
                }
                cols.push(("channel", Arc::new(b.finish())));
            }
            RecordBatch::try_from_iter(cols).unwrap()
        })
        .collect()
}

fn date32(days: &[i32]) -> ArrayRef {
    Arc::new(Date32Array::from(days.to_vec()))
}

fn float64(amounts: &[f64]) -> ArrayRef {
    Arc::new(Float64Array::from(amounts.to_vec()))
}

fn assert_frames_equal(got: &DataFrame, want: &DataFrame) {
    assert_eq!(got.schema(), want.schema());
    assert_eq!(got.height(), want.height());
    assert!(
        got.equals_missing(want),
        "frames differ:\n{got}\nwant:\n{want}"
    );
}

#[test]
fn batches_summarise_like_the_same_frame() {
    let want = Transactions::from_frame(log_frame(), TransactionSchema::default())
        .unwrap()
        .summary(&options())
        .unwrap();
    let batches = log_batches(date32, float64, false);
    let got = Transactions::from_record_batches(&batches, TransactionSchema::default())
        .unwrap()
        .summary(&options())
        .unwrap();
    assert_frames_equal(got.frame(), want.frame());
    assert_eq!(got.report(), want.report());
    // Ids keep their leading zeros; the customer first seen after the calibration end is
    // in the table with null calibration columns.
    let ids: Vec<&str> = got
        .frame()
        .column("customer_id")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .collect();
    assert_eq!(ids, ["0003", "0007", "0042", "0100"]);
    assert_eq!(got.frame().column("frequency_cal").unwrap().null_count(), 1);
    assert_eq!(got.report().returns_used, 1);
}

#[test]
fn timestamps_decimals_and_dictionaries_summarise_like_plain_columns() {
    let want = Transactions::from_frame(log_frame(), TransactionSchema::default())
        .unwrap()
        .summary(&options())
        .unwrap();
    // Timestamps at 13:30 UTC, in milliseconds with a zone and in microseconds without.
    let ms = |days: &[i32]| -> ArrayRef {
        let v: Vec<i64> = days
            .iter()
            .map(|&d| i64::from(d) * 86_400_000 + 48_600_000)
            .collect();
        Arc::new(TimestampMillisecondArray::from(v).with_timezone("UTC"))
    };
    let us = |days: &[i32]| -> ArrayRef {
        let v: Vec<i64> = days
            .iter()
            .map(|&d| i64::from(d) * 86_400_000_000 + 48_600_000_000)
            .collect();
        Arc::new(TimestampMicrosecondArray::from(v))
    };
    // DECIMAL(10, 2): cents.
    let decimal = |amounts: &[f64]| -> ArrayRef {
        let v: Vec<i128> = amounts
            .iter()
            .map(|a| (a * 100.0).round() as i128)
            .collect();
        Arc::new(
            Decimal128Array::from(v)
                .with_precision_and_scale(10, 2)
                .unwrap(),
        )
    };
    for (what, batches) in [
        ("timestamp(ms, UTC)", log_batches(ms, float64, true)),
        ("timestamp(us)", log_batches(us, float64, false)),
        ("decimal(10, 2)", log_batches(date32, decimal, true)),
    ] {
        let tx = Transactions::from_record_batches(&batches, TransactionSchema::default())
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let got = tx.summary(&options()).unwrap();
        let (g, w) = (got.frame(), want.frame());
        assert_eq!(g.schema(), w.schema(), "{what}");
        for name in w.get_column_names() {
            let (a, b) = (g.column(name).unwrap(), w.column(name).unwrap());
            if b.dtype().is_float() {
                let (a, b) = (a.f64().unwrap(), b.f64().unwrap());
                assert_eq!(a.null_count(), b.null_count(), "{what}: nulls of {name}");
                for (x, y) in a.iter().zip(b.iter()) {
                    let d = (x.unwrap_or(0.0) - y.unwrap_or(0.0)).abs();
                    assert!(d < 1e-9, "{what}: column {name}: {x:?} vs {y:?}");
                }
            } else {
                assert!(a.equals_missing(b), "{what}: column {name} differs");
            }
        }
    }
    // The dictionary column arrives as plain strings.
    let df = frame_from_record_batches(&log_batches(date32, float64, true)).unwrap();
    assert_eq!(df.column("channel").unwrap().dtype(), &DataType::String);
    assert_eq!(
        df.column("channel").unwrap().str().unwrap().get(7),
        Some("app")
    );
    let ts = frame_from_record_batches(&log_batches(ms, float64, false)).unwrap();
    assert!(matches!(
        ts.column("date").unwrap().dtype(),
        DataType::Datetime(TimeUnit::Milliseconds, Some(_))
    ));
}

/// A per-customer summary with every optional column: gross profit and the calibration
/// and holdout columns (with nulls).
fn full_summary() -> Summary {
    let mut df = log_frame();
    let cost = Column::new(
        "cost".into(),
        vec![4.0, 8.0, 3.0, -2.0, 5.0, 40.0, 12.0, 3.0, 6.0, 16.0],
    );
    df.with_column(cost).unwrap();
    Transactions::from_frame(df, TransactionSchema::default().cost("cost"))
        .unwrap()
        .summary(&options())
        .unwrap()
}

#[test]
fn summary_round_trips_through_record_batches() {
    let summary = full_summary();
    let frame = summary.frame();
    assert!(frame.column("gross_profit").is_ok());
    let batches = summary.to_record_batches().unwrap();
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows, frame.height());
    let schema = batches[0].schema();
    let arrow_type = |name: &str| schema.field_with_name(name).unwrap().data_type().clone();
    assert_eq!(arrow_type("customer_id"), ArrowType::Utf8View);
    assert_eq!(arrow_type("frequency"), ArrowType::UInt32);
    assert_eq!(arrow_type("recency"), ArrowType::Float64);
    assert_eq!(arrow_type("first_purchase"), ArrowType::Date32);
    assert_eq!(arrow_type("recency_days"), ArrowType::Int32);
    assert_eq!(arrow_type("frequency_cal"), ArrowType::UInt32);
    let freq_cal = batches[0]
        .column_by_name("frequency_cal")
        .unwrap()
        .as_any()
        .downcast_ref::<UInt32Array>()
        .unwrap();
    assert_eq!(freq_cal.null_count(), 1);

    let back = frame_from_record_batches(&batches).unwrap();
    assert_frames_equal(&back, frame);
}

#[test]
fn frames_of_several_chunks_give_several_batches() {
    let a = df!("id" => ["1", "2"], "x" => [1.0, 2.0]).unwrap();
    let b = df!("id" => ["3"], "x" => [3.0]).unwrap();
    let mut df = a.vstack(&b).unwrap();
    assert_eq!(df.first_col_n_chunks(), 2);
    let batches = record_batches_from_frame(&df).unwrap();
    assert_eq!(
        batches
            .iter()
            .map(RecordBatch::num_rows)
            .collect::<Vec<_>>(),
        [2, 1]
    );
    let back = frame_from_record_batches(&batches).unwrap();
    df.rechunk_mut();
    assert_frames_equal(&back, &df);
}

/// The CDNOW sample read as whitespace text, minus the reader's row-number column.
fn cdnow_frame() -> DataFrame {
    let tx =
        Transactions::scan_whitespace("datasets/cdnow/CDNOW_sample.txt", false, cdnow_schema())
            .unwrap();
    tx.lazy()
        .select([
            col("column_2"),
            col("column_3"),
            col("column_4"),
            col("column_5"),
        ])
        .collect()
        .unwrap()
}

fn cdnow_schema() -> TransactionSchema {
    TransactionSchema::default()
        .customer_id("column_2")
        .date("column_3")
        .amount("column_5")
        .quantity("column_4")
}

#[test]
fn cdnow_sample_round_trips_and_summarises_alike() {
    let df = cdnow_frame();
    assert_eq!(df.height(), 6919);
    let batches = record_batches_from_frame(&df).unwrap();
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows, 6919);
    let back = frame_from_record_batches(&batches).unwrap();
    assert_frames_equal(&back, &df);

    let options = SummaryOptions::weekly()
        .calibration_end("1997-09-30")
        .observation_end("1998-06-30");
    let want =
        Transactions::scan_whitespace("datasets/cdnow/CDNOW_sample.txt", false, cdnow_schema())
            .unwrap()
            .summary(&options)
            .unwrap();
    let got = Transactions::from_record_batches(&batches, cdnow_schema())
        .unwrap()
        .summary(&options)
        .unwrap();
    assert_eq!(got.n_customers(), 2357);
    assert_frames_equal(got.frame(), want.frame());
    assert_eq!(got.report(), want.report());
    let out = got.to_record_batches().unwrap();
    assert_frames_equal(&frame_from_record_batches(&out).unwrap(), want.frame());
}

#[test]
fn rejected_rows_are_numbered_across_batches() {
    let mut batches = log_batches(date32, float64, false);
    // A null amount in the second batch's second row: data row SPLIT + 2.
    let l = log();
    let second = &batches[1];
    let amounts: Vec<Option<f64>> = l.amounts[SPLIT..]
        .iter()
        .enumerate()
        .map(|(i, &a)| (i != 1).then_some(a))
        .collect();
    let mut cols: Vec<(String, ArrayRef)> = second
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .zip(second.columns().iter().cloned())
        .collect();
    cols[2].1 = Arc::new(Float64Array::from(amounts));
    // `amount` is nullable in this batch only.
    batches[1] = RecordBatch::try_from_iter(cols).unwrap();
    let s = Transactions::from_record_batches(&batches, TransactionSchema::default())
        .unwrap()
        .summary(&options())
        .unwrap();
    assert_eq!(s.report().rejects.len(), 1);
    assert_eq!(s.report().rejects[0].row, (SPLIT + 2) as u64);
    assert_eq!(s.report().rejects[0].column, "amount");
}

#[test]
fn nullability_may_differ_between_batches() {
    let strict = Schema::new(vec![Field::new("x", ArrowType::Float64, false)]);
    let loose = Schema::new(vec![Field::new("x", ArrowType::Float64, true)]);
    let a = RecordBatch::try_new(
        Arc::new(strict),
        vec![Arc::new(Float64Array::from(vec![1.0, 2.0]))],
    )
    .unwrap();
    let b = RecordBatch::try_new(
        Arc::new(loose),
        vec![Arc::new(Float64Array::from(vec![Some(3.0), None]))],
    )
    .unwrap();
    let df = frame_from_record_batches(&[a, b]).unwrap();
    assert_eq!(df.height(), 4);
    assert_eq!(df.column("x").unwrap().null_count(), 1);
}

#[test]
fn mismatched_batch_schemas_are_a_typed_error() {
    let batches = log_batches(date32, float64, false);
    // Same names, another type for `amount`.
    let other_type = log_batches(
        date32,
        |a| {
            let v: Vec<i64> = a.iter().map(|x| *x as i64).collect();
            Arc::new(Int64Array::from(v)) as ArrayRef
        },
        false,
    );
    let err = frame_from_record_batches(&[batches[0].clone(), other_type[1].clone()]).unwrap_err();
    match &err {
        Error::SchemaMismatch { batch, reason } => {
            assert_eq!(*batch, 1);
            assert!(reason.contains("amount"), "{reason}");
        }
        other => panic!("expected SchemaMismatch, got {other:?}"),
    }
    // Another column set.
    let with_channel = log_batches(date32, float64, true);
    let err = Transactions::from_record_batches(
        &[
            batches[0].clone(),
            batches[1].clone(),
            with_channel[1].clone(),
        ],
        TransactionSchema::default(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::SchemaMismatch { batch: 2, reason } if reason.contains("channel")),
        "{err}"
    );
}

#[test]
fn a_batch_without_the_customer_column_names_it() {
    let batch = RecordBatch::try_from_iter([
        ("client", Arc::new(StringArray::from(vec!["1"])) as ArrayRef),
        ("date", date32(&[day("2024-01-01")])),
        ("amount", float64(&[1.0])),
    ])
    .unwrap();
    // Explicit name: the error names it.
    let err = Transactions::from_record_batches(
        std::slice::from_ref(&batch),
        TransactionSchema::default().customer_id("customer_id"),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::MissingColumn { column, available }
            if column == "customer_id" && available.contains("client")),
        "{err}"
    );
    // Auto-detection: the error names the role and the input's columns.
    let no_id = batch.project(&[1, 2]).unwrap();
    let err =
        Transactions::from_record_batches(&[no_id], TransactionSchema::default()).unwrap_err();
    assert!(
        matches!(&err, Error::MissingColumn { column, available }
            if column.contains("customer id") && available.contains("amount")),
        "{err}"
    );
}

#[test]
fn empty_inputs() {
    // No batch at all: no schema, a typed error.
    assert!(matches!(
        frame_from_record_batches(&[]),
        Err(Error::EmptyTable { .. })
    ));
    assert!(matches!(
        Transactions::from_record_batches(&[], TransactionSchema::default()),
        Err(Error::EmptyTable { .. })
    ));
    // A batch with zero rows: an empty frame with the columns and their types.
    let schema = log_batches(date32, float64, true)[0].schema();
    let empty = RecordBatch::new_empty(schema);
    let df = frame_from_record_batches(std::slice::from_ref(&empty)).unwrap();
    assert_eq!(df.height(), 0);
    assert_eq!(
        df.get_column_names()
            .iter()
            .map(|n| n.as_str())
            .collect::<Vec<_>>(),
        ["customer_id", "date", "amount", "quantity", "channel"]
    );
    assert_eq!(df.column("date").unwrap().dtype(), &DataType::Date);
    assert_eq!(df.column("channel").unwrap().dtype(), &DataType::String);
    // ... which the summary refuses as empty.
    let tx = Transactions::from_record_batches(&[empty], TransactionSchema::default()).unwrap();
    assert!(matches!(
        tx.summary(&options()),
        Err(Error::EmptyTable { .. })
    ));
    // An empty frame gives one empty batch that keeps the schema.
    let empty_frame = log_frame().head(Some(0));
    let batches = record_batches_from_frame(&empty_frame).unwrap();
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].num_rows(), 0);
    assert_eq!(batches[0].num_columns(), 4);
    assert_frames_equal(&frame_from_record_batches(&batches).unwrap(), &empty_frame);
}

#[test]
fn unsupported_types_are_refused_by_column_name() {
    let half = Float16Array::from(vec![half_one()]);
    let list = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1)])]);
    for (name, array) in [
        ("weights", Arc::new(half) as ArrayRef),
        ("baskets", Arc::new(list) as ArrayRef),
    ] {
        let batch = RecordBatch::try_from_iter([
            (
                "customer_id",
                Arc::new(StringArray::from(vec!["1"])) as ArrayRef,
            ),
            (name, array),
        ])
        .unwrap();
        let err = frame_from_record_batches(&[batch]).unwrap_err();
        assert!(
            matches!(&err, Error::WrongType { column, .. } if column == name),
            "{err}"
        );
    }
}

fn half_one() -> <arrow_array::types::Float16Type as arrow_array::ArrowPrimitiveType>::Native {
    <arrow_array::types::Float16Type as arrow_array::ArrowPrimitiveType>::Native::ONE
}

#[test]
fn duplicate_column_names_are_an_error_not_a_panic() {
    let batch = RecordBatch::try_from_iter([
        ("x", Arc::new(Float64Array::from(vec![1.0])) as ArrayRef),
        ("x", Arc::new(BooleanArray::from(vec![true])) as ArrayRef),
    ])
    .unwrap();
    let err = frame_from_record_batches(&[batch]).unwrap_err();
    assert!(
        matches!(&err, Error::Polars(PolarsError::Duplicate(_))),
        "{err}"
    );
    assert!(err.to_string().contains("`x`"), "{err}");
}

#[test]
fn every_accepted_type_reaches_polars() {
    use arrow_array::builder::PrimitiveDictionaryBuilder;
    use arrow_array::types::{Int8Type, UInt16Type};
    use arrow_array::*;
    let n = 4;
    let batch = RecordBatch::try_from_iter([
        ("null", Arc::new(NullArray::new(n)) as ArrayRef),
        (
            "bool",
            Arc::new(BooleanArray::from(vec![
                Some(true),
                None,
                Some(false),
                Some(true),
            ])),
        ),
        ("i8", Arc::new(Int8Array::from(vec![1, -2, 3, 4]))),
        ("i16", Arc::new(Int16Array::from(vec![1, -2, 3, 4]))),
        (
            "i32",
            Arc::new(Int32Array::from(vec![Some(1), None, Some(3), Some(4)])),
        ),
        ("u8", Arc::new(UInt8Array::from(vec![1, 2, 3, 255]))),
        ("u16", Arc::new(UInt16Array::from(vec![1, 2, 3, 4]))),
        ("u64", Arc::new(UInt64Array::from(vec![1, 2, 3, u64::MAX]))),
        (
            "f32",
            Arc::new(Float32Array::from(vec![1.5, 2.0, f32::NAN, 4.0])),
        ),
        (
            "large_utf8",
            Arc::new(LargeStringArray::from(vec![
                Some("a"),
                None,
                Some(""),
                Some("0001"),
            ])),
        ),
        (
            "utf8_view",
            Arc::new(StringViewArray::from(vec![
                "a long string past twelve bytes",
                "b",
                "c",
                "d",
            ])),
        ),
        (
            "binary",
            Arc::new(BinaryArray::from(vec![&b"x"[..], b"", b"yz", b"\0"])),
        ),
        (
            "binary_view",
            Arc::new(BinaryViewArray::from(vec![&b"x"[..], b"", b"yz", b"\0"])),
        ),
        (
            "fixed",
            Arc::new(
                FixedSizeBinaryArray::try_from_iter(
                    vec![[1u8, 2], [3, 4], [5, 6], [7, 8]].into_iter(),
                )
                .unwrap(),
            ),
        ),
        (
            "date64",
            Arc::new(Date64Array::from(vec![
                0,
                86_400_000,
                2 * 86_400_000,
                3 * 86_400_000,
            ])),
        ),
        (
            "ts_s",
            Arc::new(TimestampSecondArray::from(vec![0, 60, 3600, 86_400])),
        ),
        (
            "ts_ns_tz",
            Arc::new(TimestampNanosecondArray::from(vec![0, 1, 2, 3]).with_timezone("+02:00")),
        ),
        (
            "dec32",
            Arc::new(
                Decimal32Array::from(vec![Some(125), None, Some(-5), Some(0)])
                    .with_precision_and_scale(5, 2)
                    .unwrap(),
            ),
        ),
        (
            "dec64",
            Arc::new(
                Decimal64Array::from(vec![1, 2, 3, 4])
                    .with_precision_and_scale(10, -1)
                    .unwrap(),
            ),
        ),
        ("dict_i8", {
            let mut b = StringDictionaryBuilder::<Int8Type>::new();
            b.append_value("web");
            b.append_null();
            b.append_value("store");
            b.append_value("web");
            Arc::new(b.finish()) as ArrayRef
        }),
        ("dict_u16_int", {
            let mut b =
                PrimitiveDictionaryBuilder::<UInt16Type, arrow_array::types::Int64Type>::new();
            for v in [7, 7, 9, 7] {
                b.append_value(v);
            }
            Arc::new(b.finish()) as ArrayRef
        }),
    ])
    .unwrap();
    // A slice (non-zero offsets) as second batch.
    let sliced = batch.slice(1, 3);
    let df = frame_from_record_batches(&[batch, sliced]).unwrap();
    assert_eq!(df.height(), 7);
    let dtype = |name: &str| df.column(name).unwrap().dtype().clone();
    assert_eq!(dtype("null"), DataType::Null);
    assert_eq!(dtype("i8"), DataType::Int32);
    assert_eq!(dtype("u8"), DataType::UInt32);
    assert_eq!(df.column("u8").unwrap().u32().unwrap().get(3), Some(255));
    assert_eq!(dtype("u64"), DataType::UInt64);
    assert_eq!(dtype("large_utf8"), DataType::String);
    assert_eq!(dtype("utf8_view"), DataType::String);
    assert_eq!(dtype("binary"), DataType::Binary);
    assert_eq!(dtype("fixed"), DataType::Binary);
    assert_eq!(
        dtype("date64"),
        DataType::Datetime(TimeUnit::Milliseconds, None)
    );
    assert_eq!(
        dtype("ts_s"),
        DataType::Datetime(TimeUnit::Milliseconds, None)
    );
    assert_eq!(dtype("dec32"), DataType::Float64);
    assert_eq!(dtype("dict_i8"), DataType::String);
    assert_eq!(dtype("dict_u16_int"), DataType::Int64);
    let f64_at = |name: &str, i: usize| df.column(name).unwrap().f64().unwrap().get(i);
    assert_eq!(f64_at("dec32", 0), Some(1.25));
    assert_eq!(f64_at("dec32", 1), None);
    assert_eq!(f64_at("dec64", 1), Some(20.0));
    let ts = df
        .column("ts_s")
        .unwrap()
        .datetime()
        .unwrap()
        .physical()
        .get(3);
    assert_eq!(ts, Some(86_400_000));
    assert_eq!(df.column("dict_i8").unwrap().str().unwrap().get(1), None);
    assert_eq!(
        df.column("large_utf8").unwrap().str().unwrap().get(6),
        Some("0001")
    );
    // polars back to arrow-rs and again to polars: the same frame.
    let again = frame_from_record_batches(&record_batches_from_frame(&df).unwrap()).unwrap();
    assert_frames_equal(&again, &df);
}

#[test]
fn a_batch_without_columns() {
    let batch = RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        vec![],
        &arrow_array::RecordBatchOptions::new().with_row_count(Some(3)),
    )
    .unwrap();
    let df = frame_from_record_batches(&[batch]).unwrap();
    assert_eq!(df.width(), 0);
}

#[test]
fn extension_and_polars_metadata_are_not_passed_on() {
    use std::collections::HashMap;
    let md = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let schema = Schema::new(vec![
        Field::new("json", ArrowType::Utf8, false)
            .with_metadata(md(&[("ARROW:extension:name", "arrow.json")])),
        Field::new("object", ArrowType::Binary, false)
            .with_metadata(md(&[("ARROW:extension:name", "_POLARS_PYTHON_OBJECT")])),
        Field::new("cat", ArrowType::Utf8, false)
            .with_metadata(md(&[("_PL_CATEGORICAL2", "garbage")])),
    ]);
    let batch = RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(StringArray::from(vec!["{}"])),
            Arc::new(arrow_array::BinaryArray::from(vec![&b"x"[..]])),
            Arc::new(StringArray::from(vec!["a"])),
        ],
    )
    .unwrap();
    let df = frame_from_record_batches(&[batch]).unwrap();
    assert_eq!(df.column("json").unwrap().dtype(), &DataType::String);
    assert_eq!(df.column("object").unwrap().dtype(), &DataType::Binary);
    assert_eq!(df.column("cat").unwrap().dtype(), &DataType::String);
}

#[test]
fn pipeline_customer_table_round_trips_through_record_batches() {
    let p = patronage::pipeline::Pipeline::builder()
        .costs(crate::example_costs())
        .build()
        .unwrap();
    let out = p
        .run(&p.scan("datasets/retail_sample.csv").unwrap())
        .unwrap();
    let batches = out.customers_record_batches().unwrap();
    let back = patronage::io::arrow::frame_from_record_batches(&batches).unwrap();
    assert_eq!(back.height(), out.customers.height());
    assert_eq!(back.get_column_names(), out.customers.get_column_names());
    for name in ["clv", "p_alive", "net_contribution", "rfm_score"] {
        let a = back.column(name).unwrap().cast(&DataType::Float64).unwrap();
        let b = out
            .customers
            .column(name)
            .unwrap()
            .cast(&DataType::Float64)
            .unwrap();
        assert!(a.equals_missing(&b), "{name}");
    }
}
