//! The RFM stage (what `patronage rfm` runs, and the pipeline's RFM step): scores and
//! segments of a summary's customers, by [`crate::rfm::score`] on the summary's frame.

use crate::error::Result;
use crate::rfm::{RfmOptions, RfmTable, score};
use crate::transactions::summary::Summary;

impl Summary {
    /// RFM scores and segments of this summary's customers: R from `recency_days`, F from
    /// `n_purchases`, M from `total_spend` (or the mean per purchase), segments by the
    /// options' rule table, in the summary's row order.
    ///
    /// # Errors
    ///
    /// As [`crate::rfm::score`].
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::prelude::*;
    /// let s = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?
    ///     .summary(&SummaryOptions::weekly())?;
    /// let rfm = s.rfm(&RfmOptions::default())?;
    /// assert_eq!(rfm.frame().height(), s.n_customers());
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn rfm(&self, options: &RfmOptions) -> Result<RfmTable> {
        score(self.frame(), options)
    }
}
