//! Acquisition cohorts: customers grouped by the month (or ISO week) of their first
//! purchase; per cohort and period since acquisition, the share still buying (retention)
//! and the revenue.

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::transactions::clean::CleanTransactions;
use crate::transactions::units::{PurchaseUnit, date_of, day_number, unit_start};

/// The cohort period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CohortPeriod {
    /// Calendar months.
    #[default]
    Month,
    /// ISO weeks (Monday start).
    Week,
}

impl std::str::FromStr for CohortPeriod {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "month" => Ok(CohortPeriod::Month),
            "week" => Ok(CohortPeriod::Week),
            _ => Err(Error::invalid(
                "cohort",
                format!("`{s}` is not month or week"),
            )),
        }
    }
}

fn period_of(day: i32, p: CohortPeriod) -> i64 {
    use chrono::Datelike;
    match p {
        CohortPeriod::Month => {
            let d = date_of(day);
            i64::from(d.year()) * 12 + i64::from(d.month0())
        }
        // Mondays are the days with (day + 3) divisible by 7 (1970-01-01 was a Thursday).
        CohortPeriod::Week => (i64::from(unit_start(day, PurchaseUnit::Week)) + 3).div_euclid(7),
    }
}

fn label_of(period: i64, p: CohortPeriod) -> String {
    match p {
        CohortPeriod::Month => {
            format!("{}-{:02}", period.div_euclid(12), period.rem_euclid(12) + 1)
        }
        CohortPeriod::Week => date_of((period * 7 - 3) as i32).to_string(),
    }
}

/// Retention and revenue by cohort.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cohorts {
    /// Cohort labels (`2024-01`, or the Monday of the week), oldest first.
    pub labels: Vec<String>,
    /// Customers acquired in each cohort.
    pub sizes: Vec<usize>,
    /// `retention[c][k]`: share of cohort `c` buying in its `k`-th period after
    /// acquisition (`k = 0` is the acquisition period, always 1); periods after the
    /// observation end are not listed.
    pub retention: Vec<Vec<f64>>,
    /// `revenue[c][k]`: net revenue of cohort `c` in period `k` (returns netted).
    pub revenue: Vec<Vec<f64>>,
}

impl Cohorts {
    /// Long table: `cohort, period, customers, active, retention, revenue`.
    ///
    /// # Errors
    ///
    /// Polars errors building the frame.
    pub fn frame(&self) -> Result<DataFrame> {
        let (mut cohort, mut period, mut customers, mut active, mut retention, mut revenue) = (
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
        );
        for (c, label) in self.labels.iter().enumerate() {
            for k in 0..self.retention[c].len() {
                cohort.push(label.clone());
                period.push(k as u32);
                customers.push(self.sizes[c] as u32);
                active.push((self.retention[c][k] * self.sizes[c] as f64).round() as u32);
                retention.push(self.retention[c][k]);
                revenue.push(self.revenue[c][k]);
            }
        }
        Ok(DataFrame::new_infer_height(vec![
            Column::new("cohort".into(), cohort),
            Column::new("period".into(), period),
            Column::new("customers".into(), customers),
            Column::new("active".into(), active),
            Column::new("retention".into(), retention),
            Column::new("revenue".into(), revenue),
        ])?)
    }
}

/// Builds the cohort tables from cleaned transactions.
///
/// # Errors
///
/// [`Error::EmptyTable`] without customers.
///
/// # Example
///
/// ```
/// use patronage::prelude::*;
/// use patronage::cohort::{cohorts, CohortPeriod};
/// let tx = Transactions::scan_whitespace("datasets/cdnow/CDNOW_master.txt", true, TransactionSchema::default())?;
/// let c = cohorts(&tx.clean(&SummaryOptions::weekly())?, CohortPeriod::Month)?;
/// assert_eq!(c.labels[0], "1997-01");
/// assert_eq!(c.retention[0][0], 1.0);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn cohorts(clean: &CleanTransactions, period: CohortPeriod) -> Result<Cohorts> {
    let n = clean.n_customers();
    if n == 0 {
        return Err(Error::EmptyTable {
            what: "no customers for cohorts".into(),
        });
    }
    let (days, amounts, ret, offsets) = (
        clean.days(),
        clean.amounts(),
        clean.returns(),
        clean.offsets(),
    );
    let last = period_of(day_number(clean.observation_end()), period);
    let first_of: Vec<i64> = (0..n)
        .map(|c| period_of(days[offsets[c]], period))
        .collect();
    let lo = first_of.iter().copied().min().unwrap_or(last);
    let n_cohorts = (last - lo + 1).max(1) as usize;
    let mut sizes = vec![0usize; n_cohorts];
    let mut active = vec![vec![0usize; 0]; n_cohorts];
    let mut revenue = vec![vec![0.0; 0]; n_cohorts];
    for c in 0..n_cohorts {
        let periods = (last - (lo + c as i64) + 1).max(0) as usize;
        active[c] = vec![0; periods];
        revenue[c] = vec![0.0; periods];
    }
    for c in 0..n {
        let ci = (first_of[c] - lo) as usize;
        sizes[ci] += 1;
        let mut seen = Vec::new();
        for j in offsets[c]..offsets[c + 1] {
            let k = (period_of(days[j], period) - first_of[c]) as usize;
            if k < revenue[ci].len() {
                revenue[ci][k] += amounts[j];
                if !ret[j] && !seen.contains(&k) {
                    seen.push(k);
                    active[ci][k] += 1;
                }
            }
        }
    }
    // Keep cohorts that acquired someone.
    let keep: Vec<usize> = (0..n_cohorts).filter(|&c| sizes[c] > 0).collect();
    Ok(Cohorts {
        labels: keep
            .iter()
            .map(|&c| label_of(lo + c as i64, period))
            .collect(),
        sizes: keep.iter().map(|&c| sizes[c]).collect(),
        retention: keep
            .iter()
            .map(|&c| {
                active[c]
                    .iter()
                    .map(|&a| a as f64 / sizes[c] as f64)
                    .collect()
            })
            .collect(),
        revenue: keep.iter().map(|&c| revenue[c].clone()).collect(),
    })
}
