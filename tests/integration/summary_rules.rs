//! Hand-computed cases for each summary rule.

use patronage::prelude::*;
use polars::prelude::*;

fn tx(ids: &[&str], dates: &[&str], amounts: &[f64]) -> Transactions {
    let df = df!("customer_id" => ids, "date" => dates, "amount" => amounts).unwrap();
    Transactions::from_frame(df, TransactionSchema::default()).unwrap()
}

fn f64_of(df: &DataFrame, name: &str, row: usize) -> f64 {
    df.column(name)
        .unwrap()
        .cast(&DataType::Float64)
        .unwrap()
        .f64()
        .unwrap()
        .get(row)
        .unwrap()
}

#[test]
fn same_day_purchases_merge_and_btyd_fields_follow_the_literature() {
    // a: 2024-01-01 10 + 5 (one purchase), 2024-01-15 20, 2024-02-05 30.
    let t = tx(
        &["a", "a", "a", "a", "b"],
        &[
            "2024-01-01",
            "2024-01-01",
            "2024-01-15",
            "2024-02-05",
            "2024-02-26",
        ],
        &[10.0, 5.0, 20.0, 30.0, 7.0],
    );
    let s = t
        .summary(&SummaryOptions::weekly().observation_end("2024-03-04"))
        .unwrap();
    let df = s.frame();
    assert_eq!(df.height(), 2);
    assert_eq!(f64_of(df, "frequency", 0), 2.0);
    assert_eq!(f64_of(df, "recency", 0), 5.0); // 35 days
    assert_eq!(f64_of(df, "T", 0), 9.0); // 63 days
    assert_eq!(f64_of(df, "monetary_value", 0), 25.0); // (20 + 30) / 2, first purchase left out
    assert_eq!(f64_of(df, "n_purchases", 0), 3.0);
    assert_eq!(f64_of(df, "total_spend", 0), 65.0);
    assert_eq!(f64_of(df, "recency_days", 0), 28.0);
    // b: one purchase, one week before the end.
    assert_eq!(f64_of(df, "frequency", 1), 0.0);
    assert_eq!(f64_of(df, "recency", 1), 0.0);
    assert_eq!(f64_of(df, "T", 1), 1.0);
    assert_eq!(f64_of(df, "monetary_value", 1), 0.0);
    let first = df.column("first_purchase").unwrap();
    assert_eq!(first.dtype(), &DataType::Date);
    assert_eq!(first.get(0).unwrap().to_string(), "2024-01-01");
}

#[test]
fn weekly_purchase_unit_merges_a_week_and_measures_from_week_starts() {
    // 2024-01-01 is a Monday. Wed 01-03 joins Monday's week; 01-08 starts the next week.
    let t = tx(
        &["a", "a", "a"],
        &["2024-01-01", "2024-01-03", "2024-01-10"],
        &[1.0, 2.0, 4.0],
    );
    let opts = SummaryOptions::weekly()
        .purchase_unit(PurchaseUnit::Week)
        .observation_end("2024-01-31"); // a Wednesday: its week starts 01-29
    let df = t.summary(&opts).unwrap().into_frame();
    assert_eq!(f64_of(&df, "frequency", 0), 1.0);
    assert_eq!(f64_of(&df, "recency", 0), 1.0);
    assert_eq!(f64_of(&df, "T", 0), 4.0);
    assert_eq!(f64_of(&df, "monetary_value", 0), 4.0);
    assert_eq!(f64_of(&df, "n_purchases", 0), 2.0);
    // recency_days stays in calendar days from the actual last purchase.
    assert_eq!(f64_of(&df, "recency_days", 0), 21.0);
}

#[test]
fn calendar_months_and_days_as_time_units() {
    let t = tx(&["a", "a"], &["2024-01-31", "2024-02-29"], &[1.0, 1.0]);
    let df = t
        .summary(&SummaryOptions::monthly().observation_end("2024-03-15"))
        .unwrap()
        .into_frame();
    assert_eq!(f64_of(&df, "recency", 0), 1.0);
    // 01-31 -> 02-29 is one month (clamped), then 15 of the 31 days to 03-31... the month
    // after 02-29 anchored on the 31st runs 02-29 .. 03-31 (31 days): 1 + 15/31.
    assert!((f64_of(&df, "T", 0) - (1.0 + 15.0 / 31.0)).abs() < 1e-12);
    let df = t
        .summary(&SummaryOptions::daily().observation_end("2024-03-15"))
        .unwrap()
        .into_frame();
    assert_eq!(f64_of(&df, "recency", 0), 29.0);
    assert_eq!(f64_of(&df, "T", 0), 44.0);
    let years = SummaryOptions::daily()
        .time_unit(TimeScale::Year)
        .observation_end("2025-01-31");
    let df = t.summary(&years).unwrap().into_frame();
    assert_eq!(f64_of(&df, "T", 0), 1.0);
}

#[test]
fn returns_net_against_the_latest_earlier_purchase() {
    let t = tx(
        &["a", "a", "a", "a"],
        &["2024-01-01", "2024-01-15", "2024-01-20", "2024-02-01"],
        &[10.0, 20.0, -5.0, 8.0],
    );
    let s = t
        .summary(&SummaryOptions::daily().observation_end("2024-02-10"))
        .unwrap();
    let df = s.frame();
    assert_eq!(f64_of(df, "frequency", 0), 2.0); // the return is not a purchase
    assert_eq!(f64_of(df, "monetary_value", 0), 11.5); // (20 - 5 + 8) / 2
    assert_eq!(f64_of(df, "total_spend", 0), 33.0);
    assert_eq!(f64_of(df, "returns", 0), 5.0);
    assert_eq!(s.report().returns_used, 1);
    // Exclude: the return is rejected and reported.
    let s = t
        .summary(
            &SummaryOptions::daily()
                .observation_end("2024-02-10")
                .returns(ReturnPolicy::Exclude),
        )
        .unwrap();
    assert_eq!(f64_of(s.frame(), "total_spend", 0), 38.0);
    assert_eq!(s.report().rejects.len(), 1);
    assert_eq!(s.report().rejects[0].row, 3);
    assert_eq!(s.report().rejects[0].reason, RejectReason::ReturnExcluded);
}

#[test]
fn calibration_and_holdout_split() {
    let t = tx(
        &["a", "a", "a", "a", "b", "c"],
        &[
            "2024-01-01",
            "2024-01-08",
            "2024-01-29",
            "2024-02-05",
            "2024-01-15",
            "2024-02-12",
        ],
        &[10.0, 20.0, 30.0, 50.0, 5.0, 9.0],
    );
    let opts = SummaryOptions::weekly()
        .calibration_end("2024-01-22")
        .observation_end("2024-02-19");
    let df = t.summary(&opts).unwrap().into_frame();
    // a: calibration 01-01, 01-08; holdout 01-29, 02-05.
    assert_eq!(f64_of(&df, "frequency_cal", 0), 1.0);
    assert_eq!(f64_of(&df, "recency_cal", 0), 1.0);
    assert_eq!(f64_of(&df, "T_cal", 0), 3.0);
    assert_eq!(f64_of(&df, "monetary_value_cal", 0), 20.0);
    assert_eq!(f64_of(&df, "frequency_holdout", 0), 2.0);
    assert_eq!(f64_of(&df, "monetary_value_holdout", 0), 40.0);
    assert_eq!(f64_of(&df, "duration_holdout", 0), 4.0);
    // b: calibration only.
    assert_eq!(f64_of(&df, "frequency_holdout", 1), 0.0);
    assert_eq!(f64_of(&df, "T_cal", 1), 1.0);
    // c: first purchase in the holdout: no calibration columns.
    assert!(
        df.column("frequency_cal")
            .unwrap()
            .get(2)
            .unwrap()
            .is_null()
    );
    assert!(
        df.column("frequency_holdout")
            .unwrap()
            .get(2)
            .unwrap()
            .is_null()
    );
    // full-period columns are there for everyone
    assert_eq!(f64_of(&df, "frequency", 0), 3.0);
    assert_eq!(f64_of(&df, "T", 2), 1.0);
}

#[test]
fn cost_gives_gross_profit_and_price_times_quantity_gives_amount() {
    let df = df!(
        "CustomerID" => [1i64, 1, 2],
        "InvoiceDate" => ["2024-01-01 10:00:00", "2024-01-01 12:30:00", "2024-01-05T09:00:00"],
        "UnitPrice" => [2.5, 4.0, 10.0],
        "Quantity" => [4.0, 1.0, 3.0],
        "unit_cost" => [1.0, 2.0, 6.0],
    )
    .unwrap();
    let t = Transactions::from_frame(df, TransactionSchema::default()).unwrap();
    let s = t.summary(&SummaryOptions::daily()).unwrap();
    let df = s.frame();
    assert_eq!(df.column("customer_id").unwrap().dtype(), &DataType::Int64);
    assert_eq!(f64_of(df, "total_spend", 0), 14.0);
    assert_eq!(f64_of(df, "n_purchases", 0), 1.0);
    assert_eq!(f64_of(df, "gross_profit", 0), 8.0); // 14 - (4 + 2)
    assert_eq!(f64_of(df, "gross_profit", 1), 12.0); // 30 - 18
    assert_eq!(s.observation_end().to_string(), "2024-01-05");
}

#[test]
fn datetimes_with_offsets_are_taken_in_utc() {
    let t = tx(
        &["a", "a"],
        &["2024-01-01T23:30:00-02:00", "2024-01-02T00:10:00Z"],
        &[1.0, 1.0],
    );
    let df = t.summary(&SummaryOptions::daily()).unwrap().into_frame();
    // Both are 2024-01-02 in UTC: one purchase.
    assert_eq!(f64_of(&df, "n_purchases", 0), 1.0);
    assert_eq!(
        df.column("first_purchase")
            .unwrap()
            .get(0)
            .unwrap()
            .to_string(),
        "2024-01-02"
    );
}

/// A log whose third row has a cost and a quantity that do not parse, and whose last two
/// rows differ only in their channel.
fn log_with_bad_unread_columns() -> Transactions {
    let df = df!(
        "customer_id" => ["a", "a", "a", "b", "b"],
        "date" => ["2024-01-01", "2024-01-15", "2024-02-05", "2024-01-10", "2024-01-10"],
        "amount" => [10.0, 20.0, 30.0, 7.0, 7.0],
        "cost" => ["4", "8", "n/a", "3", "3"],
        "quantity" => ["1", "2", "three", "1", "1"],
        "channel" => ["web", "web", "store", "web", "store"],
    )
    .unwrap();
    Transactions::from_frame(df, TransactionSchema::default()).unwrap()
}

#[test]
fn the_summary_roles_reject_rows_only_for_the_columns_read() {
    use patronage::io::OptionalRole;
    use patronage::stages::summary::summary_roles;
    let options = SummaryOptions::weekly().observation_end("2024-03-04");
    let full = log_with_bad_unread_columns().summary(&options).unwrap();
    // Reading every role: row 3 is rejected, blamed on the first column that fails.
    let rejects = &full.report().rejects;
    assert_eq!(rejects.len(), 1);
    assert_eq!(rejects[0].row, 3);
    assert_eq!(rejects[0].reason, RejectReason::NotANumber);
    assert!(["cost", "quantity"].contains(&rejects[0].column.as_str()));

    // The summary's roles: the cost and quantity are not read, so row 3 is a purchase.
    let lean_tx = log_with_bad_unread_columns().reading(summary_roles(&options));
    assert_eq!(
        lean_tx.schema().used_columns(),
        ["customer_id", "date", "amount"]
    );
    let lean = lean_tx.summary(&options).unwrap();
    assert!(lean.report().rejects.is_empty());
    assert_eq!(lean.report().rows_used, 5);
    assert_eq!(lean.frequency().unwrap(), [2, 0]);
    assert_eq!(full.frequency().unwrap(), [1, 0]);
    assert!(lean.frame().column("gross_profit").is_err());
    // Rows 4 and 5 differ only in the unread channel: equal in every column read.
    assert_eq!(lean.report().duplicates_kept.len(), 1);
    assert!(full.report().duplicates_kept.is_empty());

    // Dropping duplicates reads every role, so which rows are duplicates does not change.
    let drop = options.clone().duplicates(DuplicatePolicy::Drop);
    assert_eq!(summary_roles(&drop), OptionalRole::ALL);
    let dropped = log_with_bad_unread_columns()
        .reading(summary_roles(&drop))
        .summary(&drop)
        .unwrap();
    assert_eq!(dropped.report().rejects.len(), 1);
    assert_eq!(dropped.report().rows_used, 4);
}

#[test]
fn the_summary_roles_give_the_full_reads_summary_on_clean_data() {
    use patronage::stages::summary::summary_roles;
    let options = SummaryOptions::weekly().calibration_end("2023-09-30");
    let tx =
        Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default()).unwrap();
    let full = tx.summary(&options).unwrap();
    let lean = tx
        .clone()
        .reading(summary_roles(&options))
        .summary(&options)
        .unwrap();
    assert_eq!(full.report().rejects.len(), lean.report().rejects.len());
    let without_cost = full.frame().drop("gross_profit").unwrap();
    assert!(without_cost.equals_missing(lean.frame()));
}
