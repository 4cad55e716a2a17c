//! The targeting stage (what `patronage target` runs): the CLV stage on a summary, then
//! the ranked list, its cut and, with a calibration end, its evaluation on the holdout
//! purchases ([`crate::targeting::rank`]).

use super::clv::{ClvOutcome, ClvSettings, MarginSource, ScoringPeriod, clv_table_on};
use crate::clv::interval::IntervalOptions;
use crate::error::Result;
use crate::io::frame::nullable_f64;
use crate::targeting::{Cut, TargetBy, Targeting, rank};
use crate::transactions::summary::Summary;

/// A ranked, cut target list and the CLV models and scores behind it.
#[derive(Debug, Clone)]
pub struct TargetOutcome {
    /// The list, the number selected and (with a calibration end) the holdout evaluation.
    pub targeting: Targeting,
    /// The CLV table the list was ranked from, with its models.
    pub clv: ClvOutcome,
}

/// Ranks a summary's customers and cuts the list. The models are fitted and customers
/// scored by [`clv_table_on`] with [`ScoringPeriod::Fitted`]: on the calibration period
/// when the summary has a calibration end, and then the ranking is evaluated against who bought in the holdout
/// period (`frequency_holdout`; customers born in the holdout count as not buying).
/// With [`MarginSource::Cost`], [`TargetBy::PAliveValue`] ranks on `p_alive x
/// expected_spend` (margin 1). [`TargetBy::ClvLower`] needs CLV's interval: without
/// [`ClvSettings::interval`] the stage computes it with the defaults
/// ([`IntervalOptions::default`]: 90%, 500 draws, the default seed).
///
/// # Errors
///
/// [`crate::Error::InvalidOption`] for a negative contact cost (before any fit); as
/// [`clv_table_on`] and [`rank`].
///
/// # Example
///
/// ```
/// use patronage::prelude::*;
/// use patronage::stages::clv::{ClvSettings, SpendSource};
/// use patronage::stages::target::target;
/// use patronage::targeting::{Cut, TargetBy};
/// let s = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?
///     .summary(&SummaryOptions::weekly().calibration_end("2024-03-31"))?;
/// // Gamma-Gamma has no interior optimum on this small sample: each customer's own spend.
/// let settings = ClvSettings { spend: SpendSource::Historic, ..ClvSettings::default() };
/// let out = target(&s, &settings, TargetBy::Clv, Cut::Top(50))?;
/// assert_eq!(out.targeting.selected, 50);
/// assert!(out.targeting.evaluation.is_some());
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn target(
    summary: &Summary,
    settings: &ClvSettings,
    by: TargetBy,
    cut: Cut,
) -> Result<TargetOutcome> {
    cut.validate()?;
    // Ranked on the fitted (calibration) period, so that the holdout purchases the list
    // is checked against were not seen by the scores.
    let clv = if by == TargetBy::ClvLower && settings.interval.is_none() {
        let with_interval = ClvSettings {
            interval: Some(IntervalOptions::default()),
            ..settings.clone()
        };
        clv_table_on(summary, &with_interval, ScoringPeriod::Fitted)?
    } else {
        clv_table_on(summary, settings, ScoringPeriod::Fitted)?
    };
    let margin = match settings.margin {
        MarginSource::Rate(r) => r,
        MarginSource::Cost => 1.0,
    };
    let holdout: Option<Vec<f64>> = match summary.calibration_end() {
        Some(_) => Some(
            nullable_f64(summary.frame(), "frequency_holdout")?
                .into_iter()
                .map(|v| v.unwrap_or(0.0))
                .collect(),
        ),
        None => None,
    };
    let targeting = rank(&clv.frame, margin, by, cut, holdout.as_deref())?;
    Ok(TargetOutcome { targeting, clv })
}
