//! The survival table the sBG model fits on: customers still active at the start of each
//! period since acquisition, period 0 (the whole cohort) first.

use crate::error::{Error, Result};

/// Column name of the period index in a survival table.
pub const PERIOD_COLUMN: &str = "period";
/// Column name of the active-customer count in a survival table.
pub const CUSTOMERS_COLUMN: &str = "customers";

/// A cohort's survival counts: `active[t]` customers are still under contract at the
/// start of period `t` (`t = 0` is the cohort at acquisition). Those lost between `t - 1`
/// and `t` churned at their `t`-th renewal decision; the `active[last]` still there are
/// right-censored.
///
/// # Example
///
/// ```
/// use patronage::clv::sbg::SurvivalData;
/// let d = SurvivalData::from_counts(&[1000, 631, 468, 382])?;
/// assert_eq!(d.n_customers(), 1000.0);
/// assert_eq!(d.last_period(), 3);
/// assert_eq!(d.lost(), vec![369.0, 163.0, 86.0]);
/// # Ok::<(), patronage::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SurvivalData {
    active: Vec<f64>,
}

/// A number as the text an error shows.
fn shown(v: f64) -> String {
    if v.is_finite() && v == v.trunc() && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn bad_row(row: usize, column: &str, reason: impl Into<String>, value: String) -> Error {
    Error::BadRow {
        row: row as u64 + 1,
        column: column.into(),
        reason: reason.into(),
        value,
    }
}

impl SurvivalData {
    /// The counts in period order: `active[t]` customers at the start of period `t`.
    ///
    /// # Errors
    ///
    /// As [`SurvivalData::from_rows`] with periods `0, 1, 2, ...`.
    pub fn from_counts(active: &[u64]) -> Result<Self> {
        let periods: Vec<Option<f64>> = (0..active.len()).map(|t| Some(t as f64)).collect();
        let customers: Vec<Option<f64>> = active.iter().map(|&c| Some(c as f64)).collect();
        Self::from_rows(&periods, &customers)
    }

    /// The rows of a survival table (`period`, `customers`; `None` for an empty cell),
    /// checked row by row. Row numbers in errors are 1-based data rows.
    ///
    /// # Errors
    ///
    /// - [`Error::EmptyTable`] when there are no rows, or only period 0 (nothing to fit);
    /// - [`Error::BadRow`] naming the row and the column (`period` or `customers`) for
    ///   an empty cell, a value that is not a whole number or is negative, a first row
    ///   that is not period 0, a period out of sequence (a gap or a repeat: periods run
    ///   0, 1, 2, ... in order), no customers in period 0, or more customers than in the
    ///   period before (survivors cannot increase);
    /// - [`Error::InvalidOption`] when the two columns differ in length.
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::clv::sbg::SurvivalData;
    /// use patronage::Error;
    /// let err = SurvivalData::from_rows(&[Some(0.0), Some(2.0)], &[Some(10.0), Some(8.0)])
    ///     .unwrap_err();
    /// assert!(matches!(err, Error::BadRow { row: 2, ref column, .. } if column == "period"));
    /// ```
    pub fn from_rows(periods: &[Option<f64>], customers: &[Option<f64>]) -> Result<Self> {
        if periods.len() != customers.len() {
            return Err(Error::invalid(
                "survival",
                format!(
                    "{} periods but {} customer counts",
                    periods.len(),
                    customers.len()
                ),
            ));
        }
        if periods.is_empty() {
            return Err(Error::EmptyTable {
                what: "the survival table has no rows".into(),
            });
        }
        let mut active = Vec::with_capacity(customers.len());
        for (i, (p, c)) in periods.iter().zip(customers).enumerate() {
            let p = whole(i, PERIOD_COLUMN, *p)?;
            if p != i as f64 {
                let reason = if i == 0 {
                    "the first row must be period 0 (the cohort at acquisition)".to_string()
                } else {
                    format!(
                        "periods must run 0, 1, 2, ... in order without gaps or repeats: expected period {i}"
                    )
                };
                return Err(bad_row(i, PERIOD_COLUMN, reason, shown(p)));
            }
            let c = whole(i, CUSTOMERS_COLUMN, *c)?;
            if i == 0 && c == 0.0 {
                return Err(bad_row(
                    i,
                    CUSTOMERS_COLUMN,
                    "period 0 must have at least one customer",
                    shown(c),
                ));
            }
            if let Some(&prev) = active.last() {
                if c > prev {
                    return Err(bad_row(
                        i,
                        CUSTOMERS_COLUMN,
                        format!(
                            "more customers than in period {} ({}): survivors cannot increase",
                            i - 1,
                            shown(prev)
                        ),
                        shown(c),
                    ));
                }
            }
            active.push(c);
        }
        if active.len() < 2 {
            return Err(Error::EmptyTable {
                what: "the survival table has only period 0: at least one later period is needed to fit".into(),
            });
        }
        Ok(SurvivalData { active })
    }

    /// Customers active at the start of each period, period 0 first.
    pub fn active(&self) -> &[f64] {
        &self.active
    }

    /// The cohort size (customers in period 0).
    pub fn n_customers(&self) -> f64 {
        self.active[0]
    }

    /// The last observed period.
    pub fn last_period(&self) -> usize {
        self.active.len() - 1
    }

    /// Customers lost at each renewal: element `t - 1` is `active[t - 1] - active[t]`,
    /// those who churned at their `t`-th renewal decision.
    pub fn lost(&self) -> Vec<f64> {
        self.active.windows(2).map(|w| w[0] - w[1]).collect()
    }
}

/// A cell that must hold a whole number >= 0.
fn whole(row: usize, column: &str, v: Option<f64>) -> Result<f64> {
    let Some(v) = v else {
        return Err(bad_row(row, column, "empty cell", String::new()));
    };
    if !v.is_finite() || v != v.trunc() {
        return Err(bad_row(row, column, "not a whole number", shown(v)));
    }
    if v < 0.0 {
        return Err(bad_row(row, column, "negative", shown(v)));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(p: &[f64], c: &[f64]) -> Result<SurvivalData> {
        let p: Vec<Option<f64>> = p.iter().map(|v| Some(*v)).collect();
        let c: Vec<Option<f64>> = c.iter().map(|v| Some(*v)).collect();
        SurvivalData::from_rows(&p, &c)
    }

    fn bad(e: Error) -> (u64, String) {
        match e {
            Error::BadRow { row, column, .. } => (row, column),
            other => panic!("expected BadRow, got {other:?}"),
        }
    }

    #[test]
    fn each_bad_table_names_its_row_and_column() {
        // increasing counts
        let e = rows(&[0.0, 1.0, 2.0], &[10.0, 8.0, 9.0]).unwrap_err();
        assert_eq!(bad(e), (3, "customers".into()));
        // non-integer count
        let e = rows(&[0.0, 1.0], &[10.0, 7.5]).unwrap_err();
        assert_eq!(bad(e), (2, "customers".into()));
        // non-integer period
        let e = rows(&[0.0, 0.5], &[10.0, 7.0]).unwrap_err();
        assert_eq!(bad(e), (2, "period".into()));
        // negative count
        let e = rows(&[0.0, 1.0], &[10.0, -1.0]).unwrap_err();
        assert_eq!(bad(e), (2, "customers".into()));
        // missing period 0
        let e = rows(&[1.0, 2.0], &[10.0, 7.0]).unwrap_err();
        assert_eq!(bad(e), (1, "period".into()));
        // a gap
        let e = rows(&[0.0, 1.0, 3.0], &[10.0, 7.0, 5.0]).unwrap_err();
        assert_eq!(bad(e), (3, "period".into()));
        // a repeat
        let e = rows(&[0.0, 1.0, 1.0], &[10.0, 7.0, 5.0]).unwrap_err();
        assert_eq!(bad(e), (3, "period".into()));
        // an empty cell
        let e = SurvivalData::from_rows(&[Some(0.0), Some(1.0)], &[Some(10.0), None]).unwrap_err();
        assert_eq!(bad(e), (2, "customers".into()));
        // no one in period 0
        let e = rows(&[0.0, 1.0], &[0.0, 0.0]).unwrap_err();
        assert_eq!(bad(e), (1, "customers".into()));
        // empty, and period 0 alone
        assert!(matches!(rows(&[], &[]), Err(Error::EmptyTable { .. })));
        assert!(matches!(
            rows(&[0.0], &[5.0]),
            Err(Error::EmptyTable { .. })
        ));
        // columns of different lengths
        assert!(matches!(
            rows(&[0.0, 1.0], &[5.0]),
            Err(Error::InvalidOption { .. })
        ));
    }

    #[test]
    fn counts_and_losses() {
        let d = SurvivalData::from_counts(&[100, 100, 60, 0]).unwrap();
        assert_eq!(d.active(), [100.0, 100.0, 60.0, 0.0]);
        assert_eq!(d.lost(), [0.0, 40.0, 60.0]);
        assert_eq!(d.last_period(), 3);
    }
}
