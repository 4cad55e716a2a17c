//! Per-customer revenue, cost of goods, returns, gross profit, cost-to-serve by activity
//! and net contribution, from the activity columns of the customer table (counted by
//! the customer-aggregation pass) and a cost model.

use std::collections::HashMap;

use polars::prelude::*;
use rayon::prelude::*;

use super::cost::CostModel;
use crate::error::{Error, Result};

/// Activity counts and money of one customer.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CustomerCosts {
    /// Sales before returns.
    pub revenue: f64,
    /// Value of returned goods.
    pub returns: f64,
    /// Cost of the goods kept.
    pub cogs: f64,
    /// `revenue - returns - cogs`.
    pub gross_profit: f64,
    /// Orders (distinct order ids; purchase days without an order id).
    pub orders: f64,
    /// Order lines (purchase rows).
    pub lines: f64,
    /// Units (summed quantity; lines without a quantity column).
    pub units: f64,
    /// Deliveries (days with purchases).
    pub deliveries: f64,
    /// Returned lines.
    pub return_count: f64,
    /// Service contacts (activity table).
    pub service_contacts: f64,
    /// Visits (activity table).
    pub visits: f64,
    /// Cost-to-serve by activity: orders, lines, units, deliveries, returns, service,
    /// visits, channel handling, account, discounts.
    pub cts: [f64; 10],
}

/// Names of the cost-to-serve components, in [`CustomerCosts::cts`] order.
pub const CTS_COMPONENTS: [&str; 10] = [
    "cts_orders",
    "cts_lines",
    "cts_units",
    "cts_deliveries",
    "cts_returns",
    "cts_service",
    "cts_visits",
    "cts_channel",
    "cts_account",
    "cts_discounts",
];

impl CustomerCosts {
    /// Total cost-to-serve.
    pub fn cost_to_serve(&self) -> f64 {
        self.cts.iter().sum()
    }

    /// Gross profit minus cost-to-serve.
    pub fn net_contribution(&self) -> f64 {
        self.gross_profit - self.cost_to_serve()
    }
}

/// Activity per customer id (text): `(service contacts, visits)` from an activity table
/// with `customer_id` and at least one of `service_contacts` and `visits` (an absent
/// column counts 0; rows of one customer add up).
///
/// # Errors
///
/// A missing `customer_id`, neither count column, a non-numeric count column;
/// [`Error::BadRow`] for a negative or non-finite count.
pub fn activity_counts(activity: &DataFrame) -> Result<HashMap<String, (f64, f64)>> {
    let names = || {
        activity
            .get_column_names()
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let ids = activity
        .column("customer_id")
        .map_err(|_| Error::MissingColumn {
            column: "customer_id".into(),
            available: names(),
        })?
        .cast(&DataType::String)?;
    let has = |c: &str| activity.column(c).is_ok();
    if !has("service_contacts") && !has("visits") {
        return Err(Error::MissingColumn {
            column: "service_contacts or visits".into(),
            available: names(),
        });
    }
    let counts = |c: &str| -> Result<Vec<f64>> {
        if !has(c) {
            return Ok(vec![0.0; activity.height()]);
        }
        let v = crate::io::frame::nullable_f64(activity, c)?;
        v.into_iter()
            .enumerate()
            .map(|(i, x)| {
                let x = x.unwrap_or(0.0);
                if x.is_finite() && x >= 0.0 {
                    Ok(x)
                } else {
                    Err(Error::BadRow {
                        row: i as u64 + 1,
                        column: c.into(),
                        reason: "must be a non-negative number".into(),
                        value: x.to_string(),
                    })
                }
            })
            .collect()
    };
    let (contacts, visits) = (counts("service_contacts")?, counts("visits")?);
    let mut out: HashMap<String, (f64, f64)> = HashMap::with_capacity(activity.height());
    for (i, id) in ids.str()?.iter().enumerate() {
        if let Some(id) = id {
            let e = out.entry(id.to_string()).or_insert((0.0, 0.0));
            e.0 += contacts[i];
            e.1 += visits[i];
        }
    }
    Ok(out)
}

/// The activity columns of a customer table that cost-to-serve prices, as `f64`.
struct Activity {
    revenue: Vec<f64>,
    returns: Vec<f64>,
    cogs: Option<Vec<f64>>,
    orders: Vec<f64>,
    lines: Vec<f64>,
    units: Vec<f64>,
    deliveries: Vec<f64>,
    return_count: Vec<f64>,
    tenure_months: Vec<f64>,
    /// Per channel (name, orders), from the `channel_orders_<name>` columns.
    channel_orders: Vec<(String, Vec<f64>)>,
}

/// Prefix of the per-channel order counts in a customer table.
const CHANNEL_ORDERS: &str = "channel_orders_";

fn numbers(customers: &DataFrame, name: &str) -> Result<Vec<f64>> {
    Ok(crate::io::frame::column(customers, name)?
        .cast(&DataType::Float64)?
        .f64()?
        .iter()
        .map(|v| v.unwrap_or(0.0))
        .collect())
}

impl Activity {
    fn of(customers: &DataFrame) -> Result<Self> {
        let get = |name: &str| numbers(customers, name);
        let channel_orders = customers
            .get_column_names()
            .iter()
            .filter_map(|n| n.strip_prefix(CHANNEL_ORDERS))
            .map(|channel| {
                Ok((
                    channel.to_string(),
                    get(&format!("{CHANNEL_ORDERS}{channel}"))?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Activity {
            revenue: get("revenue")?,
            returns: get("returns")?,
            cogs: customers
                .column("cogs")
                .is_ok()
                .then(|| get("cogs"))
                .transpose()?,
            orders: get("orders")?,
            lines: get("lines")?,
            units: get("units")?,
            deliveries: get("deliveries")?,
            return_count: get("return_count")?,
            tenure_months: get("tenure_months")?,
            channel_orders,
        })
    }
}

/// Computes every customer's costs from the activity columns of a customer table
/// ([`CustomerTable::frame`](crate::prelude::CustomerTable::frame): `customer_id,
/// revenue, returns, orders, lines, units, deliveries, return_count, tenure_months`,
/// `cogs` when the rows had a cost, and `channel_orders_<channel>` per channel).
///
/// # Errors
///
/// [`Error::InvalidOption`] when the table has no `cogs` column and the model no
/// `margin_rate`, or the model is invalid; [`Error::MissingColumn`] for a missing
/// activity column.
///
/// # Example
///
/// ```
/// use patronage::prelude::*;
/// use patronage::profitability::{customer_costs, CostModel};
/// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
/// let table = tx.customer_table(&SummaryOptions::weekly(), None)?;
/// let costs = customer_costs(table.frame(), &CostModel::default(), None)?;
/// assert_eq!(costs.len(), table.n_customers());
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn customer_costs(
    customers: &DataFrame,
    model: &CostModel,
    activity: Option<&HashMap<String, (f64, f64)>>,
) -> Result<Vec<CustomerCosts>> {
    model.validate()?;
    let a = Activity::of(customers)?;
    if a.cogs.is_none() && model.margin_rate.is_none() {
        return Err(Error::invalid(
            "costs.margin_rate",
            "the transactions have no cost column: map one (--cost-col / --unit-cost-col) or set margin_rate in the cost model",
        ));
    }
    let ids = customers.column("customer_id")?.cast(&DataType::String)?;
    let ids = ids.str()?;
    let channel_rate: Vec<f64> = a
        .channel_orders
        .iter()
        .map(|(n, _)| model.per_channel_order.get(n).copied().unwrap_or(0.0))
        .collect();
    let out: Vec<CustomerCosts> = (0..customers.height())
        .into_par_iter()
        .map(|c| {
            let mut k = CustomerCosts {
                revenue: a.revenue[c],
                returns: a.returns[c],
                orders: a.orders[c],
                lines: a.lines[c],
                units: a.units[c],
                deliveries: a.deliveries[c],
                return_count: a.return_count[c],
                ..CustomerCosts::default()
            };
            k.cogs = match (&a.cogs, model.margin_rate) {
                (Some(cogs), _) => cogs[c],
                (None, Some(m)) => (1.0 - m) * (k.revenue - k.returns),
                (None, None) => 0.0,
            };
            k.gross_profit = k.revenue - k.returns - k.cogs;
            let (contacts, visits) = activity
                .and_then(|m| ids.get(c).and_then(|id| m.get(id)))
                .copied()
                .unwrap_or((0.0, 0.0));
            k.service_contacts = contacts;
            k.visits = visits;
            let channel_cost: f64 = a
                .channel_orders
                .iter()
                .zip(&channel_rate)
                .map(|((_, orders), rate)| rate * orders[c])
                .sum();
            k.cts = [
                model.per_order * k.orders,
                model.per_line * k.lines,
                model.per_unit * k.units,
                model.per_delivery * k.deliveries,
                model.per_return * k.return_count,
                model.per_service_contact * k.service_contacts,
                model.per_visit * k.visits,
                channel_cost,
                model.account_per_month * a.tenure_months[c],
                model.discount_rate * k.revenue,
            ];
            k
        })
        .collect();
    Ok(out)
}

/// The per-customer profitability table, in the row order of `customers`: `customer_id,
/// revenue, cogs, returns, gross_profit, cost_to_serve, net_contribution, margin_pct`
/// (gross profit over net revenue, null without net revenue), `cts_share` (cost-to-serve
/// over net revenue), the activity counts and the `cts_*` components.
///
/// # Errors
///
/// Polars errors building the frame.
pub fn costs_frame(customers: &DataFrame, costs: &[CustomerCosts]) -> Result<DataFrame> {
    let col = |name: &str, f: &dyn Fn(&CustomerCosts) -> f64| {
        Column::new(name.into(), costs.iter().map(f).collect::<Vec<f64>>())
    };
    let ratio = |num: f64, k: &CustomerCosts| {
        let net = k.revenue - k.returns;
        if net > 0.0 { Some(num / net) } else { None }
    };
    let mut cols = vec![
        customers.column("customer_id")?.clone(),
        col("revenue", &|k| k.revenue),
        col("cogs", &|k| k.cogs),
        col("returns", &|k| k.returns),
        col("gross_profit", &|k| k.gross_profit),
        col("cost_to_serve", &|k| k.cost_to_serve()),
        col("net_contribution", &|k| k.net_contribution()),
        Column::new(
            "margin_pct".into(),
            costs
                .iter()
                // Rounded to 9 decimals: equal margins (a margin_rate without a cost
                // column) compare equal at the matrix split instead of by rounding noise.
                .map(|k| ratio(100.0 * k.gross_profit, k).map(|m| (m * 1e9).round() / 1e9))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "cts_share".into(),
            costs
                .iter()
                .map(|k| ratio(k.cost_to_serve(), k))
                .collect::<Vec<_>>(),
        ),
        col("orders", &|k| k.orders),
        col("lines", &|k| k.lines),
        col("units", &|k| k.units),
        col("deliveries", &|k| k.deliveries),
        col("return_count", &|k| k.return_count),
        col("service_contacts", &|k| k.service_contacts),
        col("visits", &|k| k.visits),
    ];
    for (i, name) in CTS_COMPONENTS.iter().enumerate() {
        cols.push(col(name, &|k| k.cts[i]));
    }
    Ok(DataFrame::new_infer_height(cols)?)
}
