//! The main types, for `use patronage::prelude::*`.

pub use crate::error::{Error, Result};
pub use crate::io::{CsvOptions, InputFormat, TransactionSchema};
pub use crate::rfm::{MonetaryBasis, RfmOptions, RfmTable, SegmentRules};
pub use crate::transactions::Transactions;
pub use crate::transactions::aggregate::{CohortPeriod, CustomerTable};
pub use crate::transactions::clean::{CleanTransactions, CleaningReport, Reject, RejectReason};
pub use crate::transactions::options::{DuplicatePolicy, ReturnPolicy, SummaryOptions};
pub use crate::transactions::summary::Summary;
pub use crate::transactions::units::{PurchaseUnit, TimeScale};
