//! Options of the cleaning and summary stages.

use serde::{Deserialize, Serialize};

use super::units::{PurchaseUnit, TimeScale, parse_option_date};
use crate::error::{Error, Result};

/// What to do with returns (negative amounts, or rows whose return flag is set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReturnPolicy {
    /// A return is never a purchase occasion. Its value is subtracted from the spend of
    /// the customer's latest purchase on or before the return's date, and from
    /// `total_spend`. A return dated before any purchase of that customer is rejected.
    #[default]
    Net,
    /// Returns are left out and each is listed in the rejects table.
    Exclude,
}

/// What to do with exact duplicate rows (every mapped column equal, same customer and
/// same raw timestamp).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DuplicatePolicy {
    /// Keep them (two identical lines can be two identical items) and list them in the
    /// cleaning report's `duplicates`.
    #[default]
    Keep,
    /// Drop every copy after the first; each dropped row is in the rejects table.
    Drop,
}

impl std::str::FromStr for ReturnPolicy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "net" => Ok(ReturnPolicy::Net),
            "exclude" => Ok(ReturnPolicy::Exclude),
            other => Err(Error::invalid(
                "time.returns",
                format!("`{other}` is not net or exclude"),
            )),
        }
    }
}

impl std::str::FromStr for DuplicatePolicy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "keep" => Ok(DuplicatePolicy::Keep),
            "drop" => Ok(DuplicatePolicy::Drop),
            other => Err(Error::invalid(
                "time.duplicates",
                format!("`{other}` is not keep or drop"),
            )),
        }
    }
}

/// Options of [`Transactions::summary`](super::Transactions::summary).
///
/// Dates are text (`YYYY-MM-DD` or `YYYYMMDD`), checked when the summary runs.
///
/// # Example
/// ```
/// use patronage::prelude::*;
/// let opts = SummaryOptions::weekly().calibration_end("1997-09-30");
/// assert_eq!(opts.time_unit, TimeScale::Week);
/// assert_eq!(opts.purchase_unit, PurchaseUnit::Day);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SummaryOptions {
    /// Purchases by one customer within one unit count as one purchase.
    pub purchase_unit: PurchaseUnit,
    /// Unit of `recency`, `T` and the holdout duration.
    pub time_unit: TimeScale,
    /// Last day observed (inclusive). Default: the last transaction date in the data that
    /// is not after today (UTC). Later rows are rejected.
    pub observation_end: Option<String>,
    /// Last day of the calibration period (inclusive); adds the calibration and holdout
    /// columns.
    pub calibration_end: Option<String>,
    /// Returns handling.
    pub returns: ReturnPolicy,
    /// Duplicate rows handling.
    pub duplicates: DuplicatePolicy,
    /// When true, the first rejected row (lowest row number) is an error instead.
    pub strict: bool,
}

impl SummaryOptions {
    /// Daily purchases, time in days.
    pub fn daily() -> Self {
        SummaryOptions {
            time_unit: TimeScale::Day,
            ..Self::default()
        }
    }
    /// Daily purchases, time in weeks (the BTYD papers' CDNOW convention).
    pub fn weekly() -> Self {
        SummaryOptions {
            time_unit: TimeScale::Week,
            ..Self::default()
        }
    }
    /// Daily purchases, time in calendar months.
    pub fn monthly() -> Self {
        SummaryOptions {
            time_unit: TimeScale::Month,
            ..Self::default()
        }
    }
    /// Sets the purchase unit.
    #[must_use]
    pub fn purchase_unit(mut self, unit: PurchaseUnit) -> Self {
        self.purchase_unit = unit;
        self
    }
    /// Sets the time unit.
    #[must_use]
    pub fn time_unit(mut self, unit: TimeScale) -> Self {
        self.time_unit = unit;
        self
    }
    /// Sets the observation end (inclusive).
    #[must_use]
    pub fn observation_end(mut self, date: impl Into<String>) -> Self {
        self.observation_end = Some(date.into());
        self
    }
    /// Sets the calibration end (inclusive).
    #[must_use]
    pub fn calibration_end(mut self, date: impl Into<String>) -> Self {
        self.calibration_end = Some(date.into());
        self
    }
    /// Sets the returns policy.
    #[must_use]
    pub fn returns(mut self, policy: ReturnPolicy) -> Self {
        self.returns = policy;
        self
    }
    /// Sets the duplicates policy.
    #[must_use]
    pub fn duplicates(mut self, policy: DuplicatePolicy) -> Self {
        self.duplicates = policy;
        self
    }
    /// Makes the first bad row an error.
    #[must_use]
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Checks the dates without data: both parse, and the calibration end is before an
    /// explicit observation end.
    pub(crate) fn check(&self) -> Result<()> {
        let end = self.parsed_observation_end()?;
        self.parsed_calibration_end(end.unwrap_or(i32::MAX))?;
        Ok(())
    }

    pub(crate) fn parsed_observation_end(&self) -> Result<Option<i32>> {
        self.observation_end
            .as_deref()
            .map(|s| parse_option_date("time.observation_end", s))
            .transpose()
    }

    pub(crate) fn parsed_calibration_end(&self, observation_end: i32) -> Result<Option<i32>> {
        let Some(s) = self.calibration_end.as_deref() else {
            return Ok(None);
        };
        let cal = parse_option_date("time.calibration_end", s)?;
        if cal >= observation_end {
            return Err(Error::invalid(
                "time.calibration_end",
                format!(
                    "{s} is not before the observation end {}",
                    super::units::date_of(observation_end)
                ),
            ));
        }
        Ok(Some(cal))
    }
}
