//! Property: every input row is either used or in the rejects table, never both.

use std::collections::BTreeSet;

use patronage::prelude::*;
use polars::prelude::*;
use proptest::prelude::*;

fn cell() -> impl Strategy<Value = (Option<String>, Option<String>, Option<String>)> {
    let id = prop_oneof![
        8 => "[a-d]".prop_map(Some),
        1 => Just(None),
        1 => Just(Some(String::new())),
    ];
    let date = prop_oneof![
        8 => (1u32..=28, 1u32..=12).prop_map(|(d, m)| Some(format!("2024-{m:02}-{d:02}"))),
        1 => Just(Some("2024-02-31".to_string())),
        1 => Just(Some("2031-01-01".to_string())),
        1 => Just(None),
    ];
    let amount = prop_oneof![
        8 => (-50i32..200).prop_map(|a| Some(format!("{}", f64::from(a) / 4.0))),
        1 => Just(Some("NaN".to_string())),
        1 => Just(Some("n/a".to_string())),
        1 => Just(None),
    ];
    (id, date, amount)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn every_row_is_used_or_rejected(
        rows in prop::collection::vec(cell(), 1..60),
        drop_dupes in any::<bool>(),
        exclude_returns in any::<bool>(),
    ) {
        let ids: Vec<Option<String>> = rows.iter().map(|r| r.0.clone()).collect();
        let dates: Vec<Option<String>> = rows.iter().map(|r| r.1.clone()).collect();
        let amounts: Vec<Option<String>> = rows.iter().map(|r| r.2.clone()).collect();
        let df = df!("customer_id" => ids, "date" => dates, "amount" => amounts).unwrap();
        let tx = Transactions::from_frame(df, TransactionSchema::default()).unwrap();
        let opts = SummaryOptions::daily()
            .observation_end("2024-12-31")
            .duplicates(if drop_dupes { DuplicatePolicy::Drop } else { DuplicatePolicy::Keep })
            .returns(if exclude_returns { ReturnPolicy::Exclude } else { ReturnPolicy::Net });
        match tx.clean(&opts) {
            Ok(clean) => {
                let used: BTreeSet<u64> = clean.used_rows().iter().copied().collect();
                let rejected: BTreeSet<u64> = clean.report().rejects.iter().map(|r| r.row).collect();
                prop_assert_eq!(used.len(), clean.used_rows().len());
                prop_assert_eq!(rejected.len(), clean.report().rejects.len());
                prop_assert!(used.is_disjoint(&rejected));
                let all: BTreeSet<u64> = used.union(&rejected).copied().collect();
                prop_assert_eq!(all, (1..=rows.len() as u64).collect::<BTreeSet<u64>>());
                prop_assert_eq!(clean.report().rows_used + clean.report().rejects.len() as u64, rows.len() as u64);
            }
            // Only possible when no row is usable, or a whole column is unusable.
            Err(Error::EmptyTable { .. }) | Err(Error::WrongType { .. }) => {}
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
    }
}
