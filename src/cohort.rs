//! Acquisition cohorts: customers grouped by the month (or ISO week) of their first
//! purchase; per cohort and period since acquisition, the share still buying (retention)
//! and the revenue.
//!
//! The counts come from the customer-aggregation pass (phase 1 counts who bought in
//! which period); this module turns them into the retention matrix and its table.

use polars::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};

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

impl Cohorts {
    /// The retention matrix of cohort counts: per cohort (oldest first) its label, the
    /// customers acquired, and per period since acquisition the customers buying and the
    /// net revenue. Periods after the observation end are not listed.
    ///
    /// # Errors
    ///
    /// [`Error::EmptyTable`] without cohorts or with an empty cohort;
    /// [`Error::InvalidOption`] when the lists disagree in length.
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::cohort::Cohorts;
    /// let c = Cohorts::from_counts(
    ///     vec!["2024-01".into(), "2024-02".into()],
    ///     vec![2, 1],
    ///     vec![vec![2, 1, 1], vec![1, 0]],
    ///     vec![vec![15.0, 20.0, 30.0], vec![15.0, 0.0]],
    /// )?;
    /// assert_eq!(c.retention[0], [1.0, 0.5, 0.5]);
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn from_counts(
        labels: Vec<String>,
        sizes: Vec<u64>,
        active: Vec<Vec<u64>>,
        revenue: Vec<Vec<f64>>,
    ) -> Result<Cohorts> {
        if labels.is_empty() || sizes.contains(&0) {
            return Err(Error::EmptyTable {
                what: "no customers for cohorts".into(),
            });
        }
        let n = labels.len();
        if sizes.len() != n
            || active.len() != n
            || revenue.len() != n
            || active.iter().zip(&revenue).any(|(a, r)| a.len() != r.len())
        {
            return Err(Error::invalid(
                "cohorts",
                "labels, sizes, active counts and revenue must have one entry per cohort and per period",
            ));
        }
        let retention = active
            .iter()
            .zip(&sizes)
            .map(|(a, &size)| a.iter().map(|&x| x as f64 / size as f64).collect())
            .collect();
        Ok(Cohorts {
            labels,
            sizes: sizes.into_iter().map(|s| s as usize).collect(),
            retention,
            revenue,
        })
    }
}
