//! The main types, for `use patronage::prelude::*` (without the `frames` feature, only
//! [`Error`] and [`Result`]: the rest are frame types).

pub use crate::error::{Error, Result};
#[cfg(feature = "frames")]
pub use crate::io::{CsvOptions, InputFormat, TransactionSchema};
#[cfg(feature = "frames")]
pub use crate::rfm::{MonetaryBasis, RfmOptions, RfmTable, SegmentRules};
#[cfg(feature = "frames")]
pub use crate::transactions::Transactions;
#[cfg(feature = "frames")]
pub use crate::transactions::aggregate::{CohortPeriod, CustomerTable};
#[cfg(feature = "frames")]
pub use crate::transactions::clean::{CleanTransactions, CleaningReport, Reject, RejectReason};
#[cfg(feature = "frames")]
pub use crate::transactions::options::{DuplicatePolicy, ReturnPolicy, SummaryOptions};
#[cfg(feature = "frames")]
pub use crate::transactions::summary::Summary;
#[cfg(feature = "frames")]
pub use crate::transactions::units::{PurchaseUnit, TimeScale};
