//! The segmentation stage (what `patronage segment` runs, and the pipeline's
//! segmentation step): the customer frame with the CLV columns and the channel mix added,
//! clustered by [`crate::segmentation::segment`], with each customer's cluster and label.

use polars::prelude::*;

use super::clv::ClvOutcome;
use crate::error::{Error, Result};
use crate::segmentation::{FeatureSpec, Scale, Segmentation, SegmentationSpec, channel_shares};
use crate::transactions::aggregate::CustomerTable;

/// The CLV columns [`segment`] adds to the customers from a [`ClvOutcome`].
pub const CLV_COLUMNS: [&str; 4] = ["p_alive", "expected_purchases", "expected_spend", "clv"];

/// What the CLV scores are called in the error for scores of other customers.
pub(crate) const CLV_SCORES: &str = "the CLV scores";

/// Settings of [`segment`].
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct SegmentSettings {
    /// Features, k, method, seed.
    pub spec: SegmentationSpec,
    /// Add each customer's channel mix (`channel_share_<channel>`, standardised) as
    /// columns and as features (features already in `spec` are not added twice).
    pub channel_mix: bool,
}

impl SegmentSettings {
    /// Settings from a spec and the channel-mix switch.
    pub fn new(spec: SegmentationSpec, channel_mix: bool) -> Self {
        SegmentSettings { spec, channel_mix }
    }
}

/// The result of [`segment`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SegmentOutcome {
    /// The model, the k table, the profiles and each customer's segment.
    pub segmentation: Segmentation,
    /// The customers given, in their order, with the CLV columns (when given), the
    /// `channel_share_<channel>` columns (with the channel mix), `cluster` (u32) and
    /// `cluster_label`.
    pub customers: DataFrame,
}

impl SegmentOutcome {
    /// `customer_id`, `segment`, `segment_label` and the feature columns used, one row per
    /// customer: what `patronage segment -o` writes ([`Segmentation::frame`]).
    ///
    /// # Errors
    ///
    /// Polars errors building the frame.
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::prelude::*;
    /// use patronage::stages::segment::{segment, SegmentSettings};
    /// use patronage::stages::summary::summary;
    /// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
    /// let table = summary(&tx, &SummaryOptions::weekly(), None)?;
    /// let out = segment(table.frame(), None, &SegmentSettings::default(), None)?;
    /// assert_eq!(out.frame()?.get_column_names()[..3], ["customer_id", "segment", "segment_label"]);
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn frame(&self) -> Result<DataFrame> {
        self.segmentation.frame(&self.customers)
    }
}

/// Clusters customers. `customers` is one row per customer holding the features (the
/// summary's frame, a customer table's frame, or the pipeline's joined customers); with
/// `clv` its [`CLV_COLUMNS`] are added first (so `p_alive` or `clv` can be features);
/// with `settings.channel_mix` the channel shares of `table` (the customer table the
/// customers come from: its per-channel line counts) are added as columns and as
/// standardised features. The segments are numbered by revenue and labelled
/// ([`crate::segmentation::segment`]), and `cluster` and `cluster_label` are added to the
/// customers.
///
/// # Errors
///
/// [`Error::InvalidOption`] naming `segmentation.channel_mix` for the channel mix without
/// a `table`, or naming the argument (`table`, `clv`) when it holds other customers than
/// `customers` or another order; [`Error::MissingColumn`] for the channel mix of data without a channel column,
/// or a feature the customers lack; as [`crate::segmentation::segment`] (fewer customers
/// than k, a bad spec).
///
/// # Example
///
/// ```
/// use patronage::prelude::*;
/// use patronage::segmentation::{KChoice, SegmentationSpec};
/// use patronage::stages::segment::{segment, SegmentSettings};
/// use patronage::stages::summary::summary;
/// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
/// let table = summary(&tx, &SummaryOptions::weekly(), None)?;
/// let settings = SegmentSettings::new(SegmentationSpec::default().k(KChoice::Fixed(3)), true);
/// let out = segment(table.summary()?.frame(), Some(&table), &settings, None)?;
/// assert_eq!(out.segmentation.chosen_k, 3);
/// assert!(out.customers.column("channel_share_web").is_ok());
/// assert!(out.customers.column("cluster_label").is_ok());
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn segment(
    customers: &DataFrame,
    table: Option<&CustomerTable>,
    settings: &SegmentSettings,
    clv: Option<&ClvOutcome>,
) -> Result<SegmentOutcome> {
    let mut customers = customers.clone();
    let mut spec = settings.spec.clone();
    if let Some(clv) = clv {
        same_customers(&customers, &clv.frame, "clv", CLV_SCORES)?;
        for name in CLV_COLUMNS {
            customers.with_column(clv.frame.column(name)?.clone())?;
        }
    }
    if settings.channel_mix {
        let table = table.ok_or_else(|| {
            Error::invalid(
                "segmentation.channel_mix",
                "the channel mix needs the customer table the customers come from",
            )
        })?;
        let mix = channel_shares(table.frame())?;
        same_customers(&customers, &mix, "table", "the channel mix")?;
        for c in mix.columns().iter().skip(1) {
            customers.with_column(c.clone())?;
            if !spec.features.iter().any(|f| f.column == c.name().as_str()) {
                spec.features.push(FeatureSpec {
                    column: c.name().to_string(),
                    log1p: false,
                    scale: Scale::Standardize,
                });
            }
        }
    }
    let segmentation = crate::segmentation::segment(&customers, &spec)?;
    let clusters: Vec<u32> = segmentation.assignments.iter().map(|&s| s as u32).collect();
    let labels: Vec<&str> = segmentation
        .assignments
        .iter()
        .map(|&s| {
            segmentation
                .profiles
                .iter()
                .find(|p| p.segment == s)
                .map_or("", |p| p.label.as_str())
        })
        .collect();
    customers.with_column(Column::new("cluster".into(), clusters))?;
    customers.with_column(Column::new("cluster_label".into(), labels))?;
    Ok(SegmentOutcome {
        segmentation,
        customers,
    })
}

/// Fails unless `other` has the customers of `base` in the same order: columns are added
/// by position.
pub(crate) fn same_customers(
    base: &DataFrame,
    other: &DataFrame,
    argument: &str,
    what: &str,
) -> Result<()> {
    if base
        .column("customer_id")?
        .equals_missing(other.column("customer_id")?)
    {
        Ok(())
    } else {
        Err(different_customers(argument, what))
    }
}

/// The error of [`same_customers`]: `what` (given as `argument`) holds other customers
/// than the customers, or another order.
pub(crate) fn different_customers(argument: &str, what: &str) -> Error {
    Error::invalid(
        argument,
        format!("{what} and the customers disagree on the customers or their order"),
    )
}
