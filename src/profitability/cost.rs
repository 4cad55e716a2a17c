//! Activity-based cost-to-serve: what each activity a customer causes costs.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Rates per activity (activity-based costing). Every field has a default, so a TOML or
/// JSON file only lists what differs:
///
/// ```toml
/// per_order = 3.0
/// per_return = 9.5
/// [per_channel_order]
/// phone = 4.0
/// store = 0.5
/// ```
///
/// Every rate defaults to zero: the crate does not invent what an order, a delivery or a
/// return costs. A model with no rate set prices no activity
/// ([`CostModel::prices_activity`] is false), and the profitability stage refuses it
/// (the pipeline skips the stage and says why): its matrix would put every customer at
/// zero cost-to-serve. Cost of goods comes from the cost column, or from
/// [`margin_rate`](CostModel::margin_rate) when the data have none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CostModel {
    /// Per order (distinct order id; a purchase day when there is no order id).
    pub per_order: f64,
    /// Per order line (a transaction row).
    pub per_line: f64,
    /// Per unit (summed quantity).
    pub per_unit: f64,
    /// Per delivery (a day with purchases).
    pub per_delivery: f64,
    /// Per returned line.
    pub per_return: f64,
    /// Per service contact (`service_contacts` in the activity table).
    pub per_service_contact: f64,
    /// Per visit (`visits` in the activity table: store or sales visits).
    pub per_visit: f64,
    /// Extra handling per order by channel (e.g. phone orders cost more than web).
    pub per_channel_order: BTreeMap<String, f64>,
    /// Fixed account cost per customer per calendar month from first purchase to the
    /// observation end.
    pub account_per_month: f64,
    /// Discounts given, as a share of revenue (a cost to serve).
    pub discount_rate: f64,
    /// Gross margin on revenue used for the cost of goods when the data have no cost
    /// column (`cogs = (1 - margin_rate) revenue`). None: a cost column is required.
    pub margin_rate: Option<f64>,
}

impl Default for CostModel {
    fn default() -> Self {
        CostModel {
            per_order: 0.0,
            per_line: 0.0,
            per_unit: 0.0,
            per_delivery: 0.0,
            per_return: 0.0,
            per_service_contact: 0.0,
            per_visit: 0.0,
            per_channel_order: BTreeMap::new(),
            account_per_month: 0.0,
            discount_rate: 0.0,
            margin_rate: None,
        }
    }
}

impl CostModel {
    /// Parses TOML.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] for malformed TOML or an unknown key; [`Error::InvalidOption`]
    /// for a negative or non-finite rate.
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::profitability::CostModel;
    /// let m = CostModel::from_toml("per_order = 3.0\n[per_channel_order]\nphone = 4.0\n").unwrap();
    /// assert_eq!(m.per_order, 3.0);
    /// assert_eq!(m.per_line, 0.0); // not listed: no cost
    /// ```
    pub fn from_toml(text: &str) -> Result<Self> {
        let m: CostModel = toml::from_str(text).map_err(|e| Error::Parse {
            what: "cost model (TOML)".into(),
            reason: e.to_string(),
        })?;
        m.validate()?;
        Ok(m)
    }

    /// Parses JSON.
    ///
    /// # Errors
    ///
    /// As [`CostModel::from_toml`].
    pub fn from_json(text: &str) -> Result<Self> {
        let m: CostModel = serde_json::from_str(text).map_err(|e| Error::Parse {
            what: "cost model (JSON)".into(),
            reason: e.to_string(),
        })?;
        m.validate()?;
        Ok(m)
    }

    /// Reads a `.toml` or `.json` file.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when unreadable, else as [`CostModel::from_toml`].
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = crate::error::read_text(path)?;
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            Self::from_json(&text)
        } else {
            Self::from_toml(&text)
        }
    }

    /// The activity rates by their TOML key, in the table's order (the per-channel order
    /// rates and the discount and margin rates are not activity rates).
    ///
    /// # Example
    /// ```
    /// use patronage::profitability::CostModel;
    /// let m = CostModel::default();
    /// assert_eq!(m.rates()[0], ("per_order", m.per_order));
    /// ```
    pub fn rates(&self) -> [(&'static str, f64); 8] {
        [
            ("per_order", self.per_order),
            ("per_line", self.per_line),
            ("per_unit", self.per_unit),
            ("per_delivery", self.per_delivery),
            ("per_return", self.per_return),
            ("per_service_contact", self.per_service_contact),
            ("per_visit", self.per_visit),
            ("account_per_month", self.account_per_month),
        ]
    }

    /// Whether any activity is priced: an activity rate, a per-channel order rate or a
    /// discount rate above zero. Without one, cost-to-serve is zero for every customer.
    ///
    /// # Example
    /// ```
    /// use patronage::profitability::CostModel;
    /// assert!(!CostModel::default().prices_activity());
    /// assert!(CostModel::from_toml("per_order = 2.0").unwrap().prices_activity());
    /// ```
    pub fn prices_activity(&self) -> bool {
        self.rates().iter().any(|(_, v)| *v > 0.0)
            || self.per_channel_order.values().any(|v| *v > 0.0)
            || self.discount_rate > 0.0
    }

    /// Checks every rate is finite and non-negative and the shares are in 0..=1.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] naming the field.
    pub fn validate(&self) -> Result<()> {
        for (name, v) in self.rates() {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::invalid(
                    format!("costs.{name}"),
                    format!("{v} must be a finite number >= 0"),
                ));
            }
        }
        for (ch, v) in &self.per_channel_order {
            if !(v.is_finite() && *v >= 0.0) {
                return Err(Error::invalid(
                    format!("costs.per_channel_order.{ch}"),
                    format!("{v} must be >= 0"),
                ));
            }
        }
        if !(0.0..=1.0).contains(&self.discount_rate) {
            return Err(Error::invalid("costs.discount_rate", "must be in 0..=1"));
        }
        if let Some(m) = self.margin_rate
            && !(0.0..=1.0).contains(&m)
        {
            return Err(Error::invalid("costs.margin_rate", "must be in 0..=1"));
        }
        Ok(())
    }
}
