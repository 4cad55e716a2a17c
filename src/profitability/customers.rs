//! Per-customer revenue, cost of goods, returns, gross profit, cost-to-serve by activity
//! and net contribution, from the activity columns of the customer table (counted by
//! the customer-aggregation pass) and a cost model.

#[cfg(feature = "frames")]
use std::collections::HashMap;

#[cfg(feature = "frames")]
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
#[cfg(feature = "frames")]
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

/// What cost-to-serve prices, per customer, as slices (one value per customer, all the
/// same length): the frame-free input of [`costs_from_activity`], for crates built
/// without the `frames` feature. Start from [`CustomerActivity::new`] with each
/// customer's revenue and returns and add the activities there are; an activity not
/// given counts 0 for every customer (so costs nothing).
///
/// # Example
///
/// ```
/// use patronage::profitability::CustomerActivity;
/// let activity = CustomerActivity::new(&[120.0, 40.0], &[0.0, 10.0])
///     .orders(&[3.0, 1.0])
///     .lines(&[7.0, 2.0]);
/// assert_eq!(activity.len(), 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct CustomerActivity<'a> {
    revenue: &'a [f64],
    returns: &'a [f64],
    cogs: Option<&'a [f64]>,
    orders: Option<&'a [f64]>,
    lines: Option<&'a [f64]>,
    units: Option<&'a [f64]>,
    deliveries: Option<&'a [f64]>,
    return_count: Option<&'a [f64]>,
    tenure_months: Option<&'a [f64]>,
    service_contacts: Option<&'a [f64]>,
    visits: Option<&'a [f64]>,
    channel_orders: &'a [(&'a str, &'a [f64])],
}

impl<'a> CustomerActivity<'a> {
    /// Customers with their revenue (sales before returns) and the value of returned
    /// goods, and no other activity yet.
    pub fn new(revenue: &'a [f64], returns: &'a [f64]) -> Self {
        CustomerActivity {
            revenue,
            returns,
            cogs: None,
            orders: None,
            lines: None,
            units: None,
            deliveries: None,
            return_count: None,
            tenure_months: None,
            service_contacts: None,
            visits: None,
            channel_orders: &[],
        }
    }

    /// Number of customers (the length of the revenue slice).
    pub fn len(&self) -> usize {
        self.revenue.len()
    }

    /// True with no customers.
    pub fn is_empty(&self) -> bool {
        self.revenue.is_empty()
    }

    /// Orders per customer in each channel, `(channel, orders)`, priced by the cost
    /// model's `per_channel_order` (a channel it does not list costs nothing).
    #[must_use]
    pub fn channel_orders(mut self, channel_orders: &'a [(&'a str, &'a [f64])]) -> Self {
        self.channel_orders = channel_orders;
        self
    }

    /// Every slice with its name, to check their lengths.
    fn slices(&self) -> Vec<(&'a str, &'a [f64])> {
        [
            ("revenue", Some(self.revenue)),
            ("returns", Some(self.returns)),
        ]
        .into_iter()
        .chain(self.optional())
        .filter_map(|(n, v)| Some((n, v?)))
        .chain(self.channel_orders.iter().copied())
        .collect()
    }
}

/// The setters of the optional per-customer slices and `optional()`, the slices with
/// their names: one list, so a new activity cannot be settable but left unchecked.
macro_rules! optional_activities {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        impl<'a> CustomerActivity<'a> {
            $(
                $(#[$doc])*
                #[must_use]
                pub fn $name(mut self, values: &'a [f64]) -> Self {
                    self.$name = Some(values);
                    self
                }
            )*

            /// The optional slices, named as the setters (and the customer table's columns).
            fn optional(&self) -> Vec<(&'static str, Option<&'a [f64]>)> {
                vec![$((stringify!($name), self.$name)),*]
            }
        }
    };
}

optional_activities! {
    /// Cost of the goods kept; without it the cost model's `margin_rate` prices them.
    cogs,
    /// Orders per customer.
    orders,
    /// Order lines per customer.
    lines,
    /// Units per customer.
    units,
    /// Deliveries per customer.
    deliveries,
    /// Returned lines per customer.
    return_count,
    /// Months each customer has held an account (priced by `account_per_month`).
    tenure_months,
    /// Service contacts per customer.
    service_contacts,
    /// Visits per customer.
    visits,
}

/// Computes every customer's costs from per-customer activity slices and a cost model:
/// the frame-free form of [`customer_costs`], with the same results for the same
/// values.
///
/// # Errors
///
/// [`Error::InvalidOption`] when the model is invalid, when there is no cost of goods
/// and the model has no `margin_rate`, or when a slice's length differs from the
/// number of customers.
///
/// # Example
///
/// ```
/// use patronage::profitability::{costs_from_activity, CostModel, CustomerActivity};
/// let model = CostModel { margin_rate: Some(0.4), per_order: 2.0, ..CostModel::default() };
/// let activity = CustomerActivity::new(&[120.0, 40.0], &[0.0, 10.0]).orders(&[3.0, 1.0]);
/// let costs = costs_from_activity(&activity, &model)?;
/// assert_eq!(costs[0].gross_profit, 0.4 * 120.0);
/// assert_eq!(costs[1].cts[0], 2.0); // one order at 2.0
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn costs_from_activity(
    a: &CustomerActivity<'_>,
    model: &CostModel,
) -> Result<Vec<CustomerCosts>> {
    let rates = ChannelRates::checked(a, model)?;
    Ok((0..a.len())
        .into_par_iter()
        .map(|c| rates.price(a, model, c))
        .collect())
}

/// The cost model's rate for each of an activity's channels, once the activity and the
/// model are checked: what pricing one customer needs besides the slices.
struct ChannelRates(Vec<f64>);

impl ChannelRates {
    /// Checks the model, the slices' lengths and that the cost of goods is known.
    fn checked(a: &CustomerActivity<'_>, model: &CostModel) -> Result<Self> {
        model.validate()?;
        let n = a.len();
        if let Some((name, v)) = a.slices().into_iter().find(|(_, v)| v.len() != n) {
            return Err(Error::invalid(
                "activity",
                format!(
                    "`{name}` has {} values for {n} customers (the length of revenue): give one value per customer",
                    v.len()
                ),
            ));
        }
        if a.cogs.is_none() && model.margin_rate.is_none() {
            return Err(Error::invalid(
                "costs.margin_rate",
                "the transactions have no cost column: map one (--cost-col / --unit-cost-col) or set margin_rate in the cost model",
            ));
        }
        Ok(ChannelRates(
            a.channel_orders
                .iter()
                .map(|(n, _)| model.per_channel_order.get(*n).copied().unwrap_or(0.0))
                .collect(),
        ))
    }

    /// Customer `c`'s costs.
    fn price(&self, a: &CustomerActivity<'_>, model: &CostModel, c: usize) -> CustomerCosts {
        let count = |v: Option<&[f64]>| v.map_or(0.0, |v| v[c]);
        let mut k = CustomerCosts {
            revenue: a.revenue[c],
            returns: a.returns[c],
            orders: count(a.orders),
            lines: count(a.lines),
            units: count(a.units),
            deliveries: count(a.deliveries),
            return_count: count(a.return_count),
            service_contacts: count(a.service_contacts),
            visits: count(a.visits),
            ..CustomerCosts::default()
        };
        k.cogs = match (a.cogs, model.margin_rate) {
            (Some(cogs), _) => cogs[c],
            (None, Some(m)) => (1.0 - m) * (k.revenue - k.returns),
            (None, None) => 0.0,
        };
        k.gross_profit = k.revenue - k.returns - k.cogs;
        let channel_cost: f64 = a
            .channel_orders
            .iter()
            .zip(&self.0)
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
            model.account_per_month * count(a.tenure_months),
            model.discount_rate * k.revenue,
        ];
        k
    }
}

/// Prefix of the per-channel order counts in a customer table.
#[cfg(feature = "frames")]
const CHANNEL_ORDERS: &str = "channel_orders_";

/// A numeric column of a customer table as `f64`, a null counting 0.
#[cfg(feature = "frames")]
fn numbers(customers: &DataFrame, name: &str) -> Result<Vec<f64>> {
    Ok(crate::io::frame::column(customers, name)?
        .cast(&DataType::Float64)?
        .f64()?
        .iter()
        .map(|v| v.unwrap_or(0.0))
        .collect())
}

/// Computes every customer's costs from the activity columns of a customer table
/// ([`CustomerTable::frame`](crate::prelude::CustomerTable::frame): `customer_id,
/// revenue, returns, orders, lines, units, deliveries, return_count, tenure_months`,
/// `cogs` when the rows had a cost, and `channel_orders_<channel>` per channel): reads
/// them (service contacts and visits from `activity` by customer id) and runs
/// [`costs_from_activity`].
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
/// let costs = customer_costs(table.frame(), &CostModel::from_path("datasets/costs_example.toml")?, None)?;
/// assert_eq!(costs.len(), table.n_customers());
/// # Ok::<(), patronage::Error>(())
/// ```
#[cfg(feature = "frames")]
pub fn customer_costs(
    customers: &DataFrame,
    model: &CostModel,
    activity: Option<&HashMap<String, (f64, f64)>>,
) -> Result<Vec<CustomerCosts>> {
    // The model's own check before any column, as before there was a slice entry point.
    model.validate()?;
    with_activity(customers, activity, |a| costs_from_activity(a, model))
}

/// The cost table of [`crate::profitability::cost_table`]: [`customer_costs`] and
/// [`costs_frame`] in one, each customer's costs written straight into the columns
/// instead of into a record per customer first (at 3.5M customers the records alone
/// were 700 MB, written and read once).
#[cfg(feature = "frames")]
pub(crate) fn cost_frame(
    customers: &DataFrame,
    model: &CostModel,
    activity: Option<&HashMap<String, (f64, f64)>>,
) -> Result<DataFrame> {
    model.validate()?;
    with_activity(customers, activity, |a| {
        let rates = ChannelRates::checked(a, model)?;
        let columns = cost_columns(a.len(), |c| rates.price(a, model, c));
        frame_of(customers, columns)
    })
}

/// Reads the activity columns of a customer table (service contacts and visits from
/// `activity` by customer id) and hands them to `f` as a [`CustomerActivity`].
#[cfg(feature = "frames")]
fn with_activity<R>(
    customers: &DataFrame,
    activity: Option<&HashMap<String, (f64, f64)>>,
    f: impl FnOnce(&CustomerActivity<'_>) -> Result<R>,
) -> Result<R> {
    const FIXED: [&str; 8] = [
        "revenue",
        "returns",
        "orders",
        "lines",
        "units",
        "deliveries",
        "return_count",
        "tenure_months",
    ];
    let has_cogs = customers.column("cogs").is_ok();
    let channel_names: Vec<&str> = customers
        .get_column_names()
        .iter()
        .filter_map(|n| n.strip_prefix(CHANNEL_ORDERS))
        .collect();
    let mut names: Vec<String> = FIXED.iter().map(|n| n.to_string()).collect();
    names.extend(has_cogs.then(|| "cogs".to_string()));
    names.extend(channel_names.iter().map(|c| format!("{CHANNEL_ORDERS}{c}")));
    // One column per task: each is a cast and a copy of 3.5M values at 10M rows.
    // (Collected before the first error is taken, so a missing column is reported in
    // the order of `names` whatever the thread count.)
    let read: Vec<Result<Vec<f64>>> = names.par_iter().map(|n| numbers(customers, n)).collect();
    let read: Vec<Vec<f64>> = read.into_iter().collect::<Result<_>>()?;
    // Every name in `names` was read above, in that order.
    let col = |name: &str| {
        let at = names.iter().position(|n| n == name);
        at.map_or(&[][..], |i| read[i].as_slice())
    };
    let cogs = has_cogs.then(|| col("cogs"));
    let channels: Vec<(&str, &[f64])> = channel_names
        .iter()
        .map(|c| (*c, col(&format!("{CHANNEL_ORDERS}{c}"))))
        .collect();
    let n = customers.height();
    let (contacts, visits): (Vec<f64>, Vec<f64>) = match activity {
        Some(m) => {
            let ids = customers.column("customer_id")?.cast(&DataType::String)?;
            ids.str()?
                .iter()
                .map(|id| id.and_then(|id| m.get(id)).copied().unwrap_or((0.0, 0.0)))
                .unzip()
        }
        None => (vec![0.0; n], vec![0.0; n]),
    };
    // A literal rather than the builder: a field added to `CustomerActivity` must be
    // read here too, or this does not compile.
    let a = CustomerActivity {
        revenue: col("revenue"),
        returns: col("returns"),
        cogs,
        orders: Some(col("orders")),
        lines: Some(col("lines")),
        units: Some(col("units")),
        deliveries: Some(col("deliveries")),
        return_count: Some(col("return_count")),
        tenure_months: Some(col("tenure_months")),
        service_contacts: Some(&contacts),
        visits: Some(&visits),
        channel_orders: &channels,
    };
    f(&a)
}

/// The per-customer profitability table, in the row order of `customers`: `customer_id,
/// revenue, cogs, returns, gross_profit, cost_to_serve, net_contribution, margin_pct`
/// (gross profit over net revenue, null without net revenue), `cts_share` (cost-to-serve
/// over net revenue), the activity counts and the `cts_*` components.
///
/// # Errors
///
/// Polars errors building the frame.
#[cfg(feature = "frames")]
pub fn costs_frame(customers: &DataFrame, costs: &[CustomerCosts]) -> Result<DataFrame> {
    frame_of(customers, cost_columns(costs.len(), |c| costs[c]))
}

/// The frame of [`costs_frame`] from its columns.
#[cfg(feature = "frames")]
fn frame_of(customers: &DataFrame, columns: CostColumns) -> Result<DataFrame> {
    let ([margin_pct, cts_share], numbers) = columns;
    let mut numbers = numbers.into_iter();
    let mut next = |name: &str| Column::new(name.into(), numbers.next().unwrap_or_default());
    let mut cols = vec![customers.column("customer_id")?.clone()];
    for name in [
        "revenue",
        "cogs",
        "returns",
        "gross_profit",
        "cost_to_serve",
        "net_contribution",
    ] {
        cols.push(next(name));
    }
    cols.push(Column::new("margin_pct".into(), margin_pct));
    cols.push(Column::new("cts_share".into(), cts_share));
    for name in ACTIVITY_COUNTS.iter().chain(CTS_COMPONENTS.iter()) {
        cols.push(next(name));
    }
    Ok(DataFrame::new_infer_height(cols)?)
}

/// The activity counts of [`costs_frame`] (and of `patronage profitability`'s table), in
/// their column order.
pub const ACTIVITY_COUNTS: [&str; 7] = [
    "orders",
    "lines",
    "units",
    "deliveries",
    "return_count",
    "service_contacts",
    "visits",
];

/// The numeric columns of [`costs_frame`] after `customer_id`: the two ratios, then
/// revenue, cogs, returns, gross profit, cost-to-serve, net contribution, [`ACTIVITY_COUNTS`] and
/// the [`CTS_COMPONENTS`].
#[cfg(feature = "frames")]
type CostColumns = ([Vec<Option<f64>>; 2], Vec<Vec<f64>>);

/// One block's slices of the numeric and the ratio columns.
#[cfg(feature = "frames")]
type BlockColumns<'a> = (Vec<&'a mut [f64]>, Vec<&'a mut [Option<f64>]>);

/// The columns of `n` customers' costs, `cost(c)` giving customer `c`'s, in one pass
/// over the customers, a block of customers per task. (Reading a record per customer
/// once per output column instead, 25 strided passes over 700 MB at 3.5M customers, was
/// most of the cost-to-serve step.)
#[cfg(feature = "frames")]
fn cost_columns(n: usize, cost: impl Fn(usize) -> CustomerCosts + Sync) -> CostColumns {
    const BLOCK: usize = 1 << 14;
    const NUMBERS: usize = 6 + ACTIVITY_COUNTS.len() + CTS_COMPONENTS.len();
    let mut numbers: Vec<Vec<f64>> = (0..NUMBERS).map(|_| vec![0.0; n]).collect();
    let mut ratios: [Vec<Option<f64>>; 2] = [vec![None; n], vec![None; n]];
    // Per block, the block's slice of every column.
    let blocks = n.div_ceil(BLOCK);
    let mut parts: Vec<BlockColumns<'_>> = (0..blocks)
        .map(|_| (Vec::with_capacity(NUMBERS), Vec::with_capacity(2)))
        .collect();
    for column in &mut numbers {
        for (part, slice) in parts.iter_mut().zip(column.chunks_mut(BLOCK)) {
            part.0.push(slice);
        }
    }
    for column in &mut ratios {
        for (part, slice) in parts.iter_mut().zip(column.chunks_mut(BLOCK)) {
            part.1.push(slice);
        }
    }
    let ratio = |num: f64, k: &CustomerCosts| {
        let net = k.revenue - k.returns;
        if net > 0.0 { Some(num / net) } else { None }
    };
    parts
        .into_par_iter()
        .enumerate()
        .for_each(|(b, (mut numbers, mut ratios))| {
            let lo = b * BLOCK;
            for i in 0..BLOCK.min(n - lo) {
                let k = &cost(lo + i);
                let cts = k.cost_to_serve();
                let head = [
                    k.revenue,
                    k.cogs,
                    k.returns,
                    k.gross_profit,
                    cts,
                    k.gross_profit - cts,
                    k.orders,
                    k.lines,
                    k.units,
                    k.deliveries,
                    k.return_count,
                    k.service_contacts,
                    k.visits,
                ];
                for (column, value) in numbers.iter_mut().zip(head.iter().chain(&k.cts)) {
                    column[i] = *value;
                }
                // Rounded to 9 decimals: equal margins (a margin_rate without a cost
                // column) compare equal at the matrix split instead of by rounding noise.
                ratios[0][i] = ratio(100.0 * k.gross_profit, k).map(|m| (m * 1e9).round() / 1e9);
                ratios[1][i] = ratio(cts, k);
            }
        });
    (ratios, numbers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> CostModel {
        CostModel {
            per_order: 2.0,
            per_line: 0.5,
            per_unit: 0.1,
            per_delivery: 3.0,
            per_return: 5.0,
            per_service_contact: 4.0,
            per_visit: 1.5,
            per_channel_order: [("phone".to_string(), 6.0), ("web".to_string(), 1.0)].into(),
            account_per_month: 1.0,
            discount_rate: 0.02,
            margin_rate: None,
        }
    }

    #[test]
    fn prices_each_activity_from_slices() {
        let (revenue, returns, cogs) = ([350.0, 40.0], [50.0, 0.0], [210.0, 10.0]);
        let (orders, lines, units, deliveries) = ([2.0, 1.0], [3.0, 1.0], [4.0, 4.0], [2.0, 1.0]);
        let (return_count, tenure, contacts, visits) =
            ([1.0, 0.0], [3.0, 1.0], [2.0, 0.0], [0.0, 3.0]);
        let (phone, store) = ([1.0, 0.0], [0.0, 1.0]);
        let channels = [("phone", &phone[..]), ("store", &store[..])];
        let a = CustomerActivity::new(&revenue, &returns)
            .cogs(&cogs)
            .orders(&orders)
            .lines(&lines)
            .units(&units)
            .deliveries(&deliveries)
            .return_count(&return_count)
            .tenure_months(&tenure)
            .service_contacts(&contacts)
            .visits(&visits)
            .channel_orders(&channels);
        let costs = costs_from_activity(&a, &model()).unwrap();
        let first = &costs[0];
        assert_eq!(first.gross_profit, 350.0 - 50.0 - 210.0);
        assert_eq!(
            first.cts,
            [4.0, 1.5, 0.4, 6.0, 5.0, 8.0, 0.0, 6.0, 3.0, 0.02 * 350.0]
        );
        // The store is not in the model: its orders cost nothing extra.
        let second = &costs[1];
        assert_eq!(second.cts[6..8], [4.5, 0.0]);
        assert_eq!(second.net_contribution(), 30.0 - second.cost_to_serve());
    }

    /// The transposed frame holds each customer's record value for value, across
    /// several blocks of customers.
    #[cfg(feature = "frames")]
    #[test]
    fn costs_frame_is_the_records_column_by_column() {
        let n = 40_000;
        let f = |scale: f64| {
            (0..n)
                .map(|c| ((c * 7919) % 97) as f64 * scale)
                .collect::<Vec<f64>>()
        };
        let (revenue, returns, cogs) = (f(3.5), f(0.25), f(1.5));
        let (orders, lines) = (f(1.0), f(2.0));
        let a = CustomerActivity::new(&revenue, &returns)
            .cogs(&cogs)
            .orders(&orders)
            .lines(&lines);
        let costs = costs_from_activity(&a, &model()).unwrap();
        let ids = Column::new("customer_id".into(), (0..n as u32).collect::<Vec<_>>());
        let customers = DataFrame::new_infer_height(vec![ids]).unwrap();
        let frame = costs_frame(&customers, &costs).unwrap();
        let column = |name: &str| -> Vec<Option<f64>> {
            frame.column(name).unwrap().f64().unwrap().iter().collect()
        };
        let expect = |get: &dyn Fn(&CustomerCosts) -> Option<f64>| -> Vec<Option<f64>> {
            costs.iter().map(get).collect()
        };
        assert_eq!(column("revenue"), expect(&|k| Some(k.revenue)));
        assert_eq!(column("gross_profit"), expect(&|k| Some(k.gross_profit)));
        assert_eq!(
            column("cost_to_serve"),
            expect(&|k| Some(k.cost_to_serve()))
        );
        assert_eq!(
            column("net_contribution"),
            expect(&|k| Some(k.net_contribution()))
        );
        assert_eq!(column("lines"), expect(&|k| Some(k.lines)));
        assert_eq!(column("visits"), expect(&|k| Some(k.visits)));
        for (i, name) in CTS_COMPONENTS.iter().enumerate() {
            assert_eq!(column(name), expect(&|k| Some(k.cts[i])), "{name}");
        }
        let share = expect(&|k| {
            let net = k.revenue - k.returns;
            (net > 0.0).then(|| k.cost_to_serve() / net)
        });
        assert_eq!(column("cts_share"), share);
        // Customers with no net revenue have no margin.
        let margins = column("margin_pct");
        assert!(margins[0].is_none() && margins.iter().any(Option::is_some));
    }

    /// A customer table's activity columns for `n` customers (text ids, two channels,
    /// counts as integers as the aggregation writes them), with or without `cogs`.
    #[cfg(feature = "frames")]
    fn customer_frame(n: usize, with_cogs: bool) -> DataFrame {
        let f = |scale: f64| {
            (0..n)
                .map(|c| ((c * 7919) % 97) as f64 * scale)
                .collect::<Vec<f64>>()
        };
        let count = |m: u32| (0..n as u32).map(|c| (c * 31) % m).collect::<Vec<u32>>();
        let mut cols = vec![
            Column::new(
                "customer_id".into(),
                (0..n).map(|c| format!("C{c:06}")).collect::<Vec<_>>(),
            ),
            Column::new("revenue".into(), f(3.5)),
            Column::new("returns".into(), f(0.25)),
            Column::new("orders".into(), count(5)),
            Column::new("lines".into(), count(9)),
            Column::new("units".into(), f(2.0)),
            Column::new("deliveries".into(), count(4)),
            Column::new("return_count".into(), count(2)),
            Column::new("tenure_months".into(), f(0.5)),
            Column::new("channel_orders_phone".into(), count(3)),
            Column::new("channel_orders_web".into(), count(6)),
        ];
        if with_cogs {
            cols.push(Column::new("cogs".into(), f(1.5)));
        }
        DataFrame::new_infer_height(cols).unwrap()
    }

    #[cfg(feature = "frames")]
    #[test]
    fn the_cost_table_is_the_records_of_customer_costs() {
        let customers = customer_frame(40_000, true);
        let activity: HashMap<String, (f64, f64)> = [
            ("C000003".to_string(), (2.0, 1.0)),
            ("nobody".to_string(), (9.0, 9.0)),
        ]
        .into();
        for counts in [None, Some(&activity)] {
            let direct = cost_frame(&customers, &model(), counts).unwrap();
            let records = customer_costs(&customers, &model(), counts).unwrap();
            assert!(direct.equals_missing(&costs_frame(&customers, &records).unwrap()));
        }
        // No customers: an empty table with every column. A customer whose returns exceed
        // its revenue (negative net): no margin or cost share, as in the records' table.
        let empty = customer_frame(0, true);
        let direct = cost_frame(&empty, &model(), None).unwrap();
        assert_eq!(direct.height(), 0);
        assert!(direct.equals_missing(&costs_frame(&empty, &[]).unwrap()));
        let mut negative = customer_frame(3, true);
        negative
            .with_column(Column::new("returns".into(), [0.0, 500.0, 1.0]))
            .unwrap();
        let direct = cost_frame(&negative, &model(), None).unwrap();
        let records = customer_costs(&negative, &model(), None).unwrap();
        assert!(direct.equals_missing(&costs_frame(&negative, &records).unwrap()));
        assert_eq!(direct.column("margin_pct").unwrap().null_count(), 2);
        // Without a cost of goods: the margin rate prices the goods, or the model is refused.
        let customers = customer_frame(100, false);
        let margin = CostModel {
            margin_rate: Some(0.3),
            ..model()
        };
        let direct = cost_frame(&customers, &margin, None).unwrap();
        let records = customer_costs(&customers, &margin, None).unwrap();
        assert!(direct.equals_missing(&costs_frame(&customers, &records).unwrap()));
        match cost_frame(&customers, &model(), None) {
            Err(Error::InvalidOption { option, .. }) => assert_eq!(option, "costs.margin_rate"),
            other => panic!("expected InvalidOption, got {other:?}"),
        }
    }

    #[cfg(feature = "frames")]
    #[test]
    fn the_first_missing_activity_column_is_named() {
        let customers = customer_frame(10, true)
            .drop("returns")
            .unwrap()
            .drop("units")
            .unwrap();
        for _ in 0..20 {
            match cost_frame(&customers, &model(), None) {
                Err(Error::MissingColumn { column, .. }) => assert_eq!(column, "returns"),
                other => panic!("expected MissingColumn, got {other:?}"),
            }
        }
    }

    #[test]
    fn activities_not_given_cost_nothing() {
        let m = CostModel {
            margin_rate: Some(0.4),
            ..model()
        };
        let costs = costs_from_activity(&CustomerActivity::new(&[100.0], &[20.0]), &m).unwrap();
        assert_eq!(costs[0].cogs, (1.0 - 0.4) * 80.0);
        // Only the discount, which is priced on revenue.
        assert_eq!(costs[0].cost_to_serve(), 0.02 * 100.0);
        assert_eq!(costs[0].orders, 0.0);
    }

    #[test]
    fn slice_errors() {
        let a = CustomerActivity::new(&[100.0, 50.0], &[0.0, 0.0]);
        // No cost of goods and no margin rate.
        match costs_from_activity(&a, &model()) {
            Err(Error::InvalidOption { option, .. }) => assert_eq!(option, "costs.margin_rate"),
            other => panic!("expected InvalidOption, got {other:?}"),
        }
        // A slice shorter than revenue.
        match costs_from_activity(&a.cogs(&[1.0]), &model()) {
            Err(Error::InvalidOption { option, .. }) => assert_eq!(option, "activity"),
            other => panic!("expected InvalidOption, got {other:?}"),
        }
        let channel = [("web", &[1.0][..])];
        match costs_from_activity(&a.cogs(&[1.0, 2.0]).channel_orders(&channel), &model()) {
            Err(Error::InvalidOption { option, .. }) => assert_eq!(option, "activity"),
            other => panic!("expected InvalidOption, got {other:?}"),
        }
        // An invalid model before anything else.
        let negative = CostModel {
            per_order: -1.0,
            ..model()
        };
        match costs_from_activity(&a.cogs(&[1.0]), &negative) {
            Err(Error::InvalidOption { option, .. }) => assert_eq!(option, "costs.per_order"),
            other => panic!("expected InvalidOption, got {other:?}"),
        }
    }
}
