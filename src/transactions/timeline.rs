//! The purchase timeline: how many customers made their first purchase, and how many
//! repeat purchases were made, on each calendar day. A whole-input aggregate of the
//! customer-aggregation pass ([`CustomerTable`](super::aggregate::CustomerTable)); the
//! tracking check ([`crate::stages::tracking`]) compares it with what a purchase model
//! expects over calendar time.
//!
//! Purchases are counted as the summary counts them: one per purchase occasion (a
//! customer's purchases in one purchase unit: a day, a week, a month), placed on the
//! first day of that unit, returns left out. So the repeat purchases on or before any
//! day `d` of a customer are their `frequency` as it stood at `d`, and the sum over all
//! days is the summary's total `frequency`.

use std::collections::BTreeMap;

use super::units::date_of;

/// Acquisitions and repeat purchases per day (see the module documentation). Counts of
/// blocks of customers add up exactly, in any order, so the timeline does not depend on
/// how the customers were split.
///
/// # Example
///
/// ```
/// use patronage::prelude::*;
/// use polars::prelude::*;
/// let df = df!(
///     "customer_id" => ["a", "a", "a", "b"],
///     "date" => ["2024-01-01", "2024-01-01", "2024-01-08", "2024-01-03"],
///     "amount" => [10.0, 5.0, 20.0, 5.0],
/// )?;
/// let s = Transactions::from_frame(df, TransactionSchema::default())?
///     .summary(&SummaryOptions::daily())?;
/// let t = s.purchase_timeline();
/// assert_eq!(t.total_acquired(), 2);
/// assert_eq!(t.total_repeats(), 1); // a's second day; the two rows of 2024-01-01 are one occasion
/// assert_eq!(t.repeats_on_or_before(chrono::NaiveDate::from_ymd_opt(2024, 1, 7).unwrap()), 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurchaseTimeline {
    /// Customers by the first day of the purchase unit of their first purchase.
    acquired: BTreeMap<i32, u64>,
    /// Repeat purchase occasions by the first day of their purchase unit.
    repeats: BTreeMap<i32, u64>,
}

impl PurchaseTimeline {
    /// Adds sorted-or-not day lists: `births` one entry per customer, `repeats` one per
    /// repeat occasion. Sorting first makes the map inserts one per distinct day.
    pub(crate) fn add_days(&mut self, mut births: Vec<i32>, mut repeats: Vec<i32>) {
        for (days, map) in [
            (&mut births, &mut self.acquired),
            (&mut repeats, &mut self.repeats),
        ] {
            days.sort_unstable();
            for run in days.chunk_by(|a, b| a == b) {
                *map.entry(run[0]).or_default() += run.len() as u64;
            }
        }
    }

    /// Adds another block's counts.
    pub(crate) fn merge(&mut self, other: &PurchaseTimeline) {
        for (mine, theirs) in [
            (&mut self.acquired, &other.acquired),
            (&mut self.repeats, &other.repeats),
        ] {
            for (&day, &n) in theirs {
                *mine.entry(day).or_default() += n;
            }
        }
    }

    /// Customers acquired per day (the first day of the purchase unit of their first
    /// purchase), oldest first.
    pub fn acquired(&self) -> impl Iterator<Item = (chrono::NaiveDate, u64)> + '_ {
        self.acquired.iter().map(|(&d, &n)| (date_of(d), n))
    }

    /// Repeat purchases per day (the first day of their purchase unit), oldest first.
    pub fn repeats(&self) -> impl Iterator<Item = (chrono::NaiveDate, u64)> + '_ {
        self.repeats.iter().map(|(&d, &n)| (date_of(d), n))
    }

    /// All customers.
    pub fn total_acquired(&self) -> u64 {
        self.acquired.values().sum()
    }

    /// All repeat purchases: the summary's total `frequency`.
    pub fn total_repeats(&self) -> u64 {
        self.repeats.values().sum()
    }

    /// Repeat purchases on or before `date`.
    pub fn repeats_on_or_before(&self, date: chrono::NaiveDate) -> u64 {
        self.repeats_through(super::units::day_number(date))
    }

    /// The first acquisition day (day number), if any.
    pub(crate) fn first_day(&self) -> Option<i32> {
        self.acquired.keys().next().copied()
    }

    /// Acquisition days (day numbers) with their customer counts.
    pub(crate) fn acquired_days(&self) -> &BTreeMap<i32, u64> {
        &self.acquired
    }

    /// Repeat purchases on or before day number `day`.
    pub(crate) fn repeats_through(&self, day: i32) -> u64 {
        self.repeats.range(..=day).map(|(_, &n)| n).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_whatever_the_split() {
        let mut whole = PurchaseTimeline::default();
        whole.add_days(vec![3, 1, 3, 2], vec![5, 4, 5, 5, 9]);
        let mut a = PurchaseTimeline::default();
        a.add_days(vec![3, 1], vec![5, 9]);
        let mut b = PurchaseTimeline::default();
        b.add_days(vec![3, 2], vec![4, 5, 5]);
        let mut merged = PurchaseTimeline::default();
        merged.merge(&b);
        merged.merge(&a);
        assert_eq!(merged, whole);
        assert_eq!(whole.total_acquired(), 4);
        assert_eq!(whole.total_repeats(), 5);
        assert_eq!(whole.repeats_through(4), 1);
        assert_eq!(whole.repeats_through(5), 4);
        assert_eq!(whole.repeats_through(100), 5);
        assert_eq!(whole.first_day(), Some(1));
        assert_eq!(whole.acquired_days().get(&3), Some(&2));
    }
}
