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
///
/// Several cohorts observed for different lengths ([`SurvivalData::from_cohorts`]: the
/// acquisition cohorts of a subscription log, each right-censored at its own last
/// period) share one likelihood: the lost at each renewal and the censored survivors
/// are summed over the cohorts.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SurvivalData {
    /// Each cohort's counts, period 0 first.
    cohorts: Vec<Vec<f64>>,
    /// `at_risk[t]`: the customers active at the start of period `t`, summed over the
    /// cohorts observed through `t`.
    at_risk: Vec<f64>,
    /// `lost[t - 1]`: the customers lost at their `t`-th renewal, summed.
    lost: Vec<f64>,
    /// `censored[t]`: the survivors of the cohorts whose last observed period is `t`.
    censored: Vec<f64>,
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
            if let Some(&prev) = active.last()
                && c > prev
            {
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
            active.push(c);
        }
        if active.len() < 2 {
            return Err(Error::EmptyTable {
                what: "the survival table has only period 0: at least one later period is needed to fit".into(),
            });
        }
        Ok(Self::pooled(vec![active]))
    }

    /// Several cohorts' survival counts (`cohorts[c][t]`: customers of cohort `c` still
    /// active at the start of its period `t`), each observed up to its own last period
    /// and right-censored there. A cohort observed in period 0 only (acquired in the
    /// last observed period) adds its customers to period 0 and nothing to the
    /// likelihood.
    ///
    /// # Errors
    ///
    /// - [`Error::BadRow`] with the cohort as the row (1-based) and `period t` as the
    ///   column, for an empty cohort, a cohort without customers in period 0, or more
    ///   customers than in the period before;
    /// - [`Error::EmptyTable`] without cohorts, or when no cohort is observed beyond
    ///   period 0.
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::clv::sbg::SurvivalData;
    /// // Two cohorts: one observed for three renewals, one acquired a period later.
    /// let d = SurvivalData::from_cohorts(&[vec![100, 80, 70, 64], vec![50, 41, 36]])?;
    /// assert_eq!(d.n_customers(), 150.0);
    /// assert_eq!(d.active(), [150.0, 121.0, 106.0, 64.0]);
    /// assert_eq!(d.lost(), vec![29.0, 15.0, 6.0]);
    /// // The second cohort's 36 are censored at period 2.
    /// assert_eq!(d.censored(), [0.0, 0.0, 36.0, 64.0]);
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn from_cohorts(cohorts: &[Vec<u64>]) -> Result<Self> {
        if cohorts.is_empty() {
            return Err(Error::EmptyTable {
                what: "no cohorts to fit".into(),
            });
        }
        let mut out = Vec::with_capacity(cohorts.len());
        for (c, counts) in cohorts.iter().enumerate() {
            // A cohort matrix's row is the cohort, its column the period.
            let bad = |t: usize, reason: &str| {
                bad_row(
                    c,
                    &format!("period {t}"),
                    reason,
                    shown(counts.get(t).map_or(f64::NAN, |&n| n as f64)),
                )
            };
            match counts.first() {
                None => return Err(bad(0, "the cohort has no periods")),
                Some(0) => return Err(bad(0, "period 0 must have at least one customer")),
                Some(_) => {}
            }
            if let Some(t) = counts.windows(2).position(|w| w[1] > w[0]) {
                return Err(bad(
                    t + 1,
                    "more customers than in the period before: survivors cannot increase",
                ));
            }
            out.push(counts.iter().map(|&n| n as f64).collect::<Vec<f64>>());
        }
        if out.iter().all(|c| c.len() < 2) {
            return Err(Error::EmptyTable {
                what: "no cohort is observed beyond period 0: at least one later period is needed to fit".into(),
            });
        }
        Ok(Self::pooled(out))
    }

    /// The pooled counts of checked cohorts.
    fn pooled(cohorts: Vec<Vec<f64>>) -> Self {
        let periods = cohorts.iter().map(Vec::len).max().unwrap_or(0);
        let mut at_risk = vec![0.0; periods];
        let mut censored = vec![0.0; periods];
        let mut lost = vec![0.0; periods.saturating_sub(1)];
        for cohort in &cohorts {
            for (t, &n) in cohort.iter().enumerate() {
                at_risk[t] += n;
            }
            for (t, w) in cohort.windows(2).enumerate() {
                lost[t] += w[0] - w[1];
            }
            censored[cohort.len() - 1] += cohort[cohort.len() - 1];
        }
        SurvivalData {
            cohorts,
            at_risk,
            lost,
            censored,
        }
    }

    /// Customers active at the start of each period, period 0 first, summed over the
    /// cohorts observed through that period (one cohort: its counts).
    pub fn active(&self) -> &[f64] {
        &self.at_risk
    }

    /// The customers in period 0 (of every cohort).
    pub fn n_customers(&self) -> f64 {
        self.at_risk[0]
    }

    /// The last observed period (of the longest-observed cohort).
    pub fn last_period(&self) -> usize {
        self.at_risk.len() - 1
    }

    /// Customers lost at each renewal: element `t - 1` counts those who churned at
    /// their `t`-th renewal decision, summed over the cohorts (one cohort:
    /// `active[t - 1] - active[t]`).
    pub fn lost(&self) -> Vec<f64> {
        self.lost.clone()
    }

    /// Survivors right-censored at each period: element `t` sums the last observed
    /// count of the cohorts whose last period is `t`.
    pub fn censored(&self) -> &[f64] {
        &self.censored
    }

    /// Each cohort's counts, period 0 first, as given.
    pub fn cohorts(&self) -> &[Vec<f64>] {
        &self.cohorts
    }

    /// The observed retention rate of period `t >= 1`: the customers active at `t` over
    /// those active at `t - 1` in the cohorts observed through `t` (the product-limit
    /// estimate; one cohort: `active[t] / active[t - 1]`). `None` for period 0, beyond
    /// the last period, or with no one at risk.
    pub fn observed_retention(&self, t: usize) -> Option<f64> {
        if t == 0 || t > self.last_period() {
            return None;
        }
        let at_risk = self.at_risk[t - 1] - self.censored[t - 1];
        (at_risk > 0.0).then(|| self.at_risk[t] / at_risk)
    }

    /// The observed share surviving to each period: the product of the observed
    /// retention rates (one cohort: `active[t] / active[0]`).
    pub fn observed_survival(&self) -> Vec<f64> {
        if let [one] = self.cohorts.as_slice() {
            // The same shares as a division, not a product of rounded ratios.
            return one.iter().map(|n| n / one[0]).collect();
        }
        let mut s = 1.0;
        (0..=self.last_period())
            .map(|t| {
                if t > 0 {
                    s *= self.observed_retention(t).unwrap_or(0.0);
                }
                s
            })
            .collect()
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
    fn cohorts_pool_their_losses_and_censor_each_at_its_end() {
        let d = SurvivalData::from_cohorts(&[vec![100, 80, 70, 64], vec![50, 41, 36], vec![9]])
            .unwrap();
        assert_eq!(d.active(), [159.0, 121.0, 106.0, 64.0]);
        assert_eq!(d.lost(), [29.0, 15.0, 6.0]);
        assert_eq!(d.censored(), [9.0, 0.0, 36.0, 64.0]);
        // Period 3: only the first cohort is at risk (70 at period 2).
        assert_eq!(d.observed_retention(3), Some(64.0 / 70.0));
        assert_eq!(d.observed_retention(1), Some(121.0 / 150.0));
        let s = d.observed_survival();
        assert!((s[2] - (121.0 / 150.0) * (106.0 / 121.0)).abs() < 1e-15);
        // One cohort: the plain shares.
        let one = SurvivalData::from_counts(&[1000, 631, 468]).unwrap();
        assert_eq!(one.observed_survival(), [1.0, 0.631, 0.468]);
        assert_eq!(
            one,
            SurvivalData::from_cohorts(&[vec![1000, 631, 468]]).unwrap()
        );
    }

    #[test]
    fn bad_cohorts_are_named() {
        let e = SurvivalData::from_cohorts(&[vec![5, 4], vec![3, 4]]).unwrap_err();
        assert_eq!(bad(e), (2, "period 1".into()));
        let e = SurvivalData::from_cohorts(&[vec![5, 4], vec![]]).unwrap_err();
        assert_eq!(bad(e), (2, "period 0".into()));
        let e = SurvivalData::from_cohorts(&[vec![0, 0]]).unwrap_err();
        assert_eq!(bad(e), (1, "period 0".into()));
        assert!(matches!(
            SurvivalData::from_cohorts(&[]),
            Err(Error::EmptyTable { .. })
        ));
        assert!(matches!(
            SurvivalData::from_cohorts(&[vec![5], vec![7]]),
            Err(Error::EmptyTable { .. })
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
