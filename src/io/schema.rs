//! Which input column plays which role, with auto-detection of common names.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How the date column's text is read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DateFormat {
    /// ISO dates (`2024-03-01`, `2024/03/01`), ISO datetimes with or without an offset
    /// (`2024-03-01T12:00:00`, `2024-03-01 12:00:00.5+02:00`), or `YYYYMMDD`.
    #[default]
    Auto,
    /// An explicit strftime format (`%d/%m/%Y`, `%m/%d/%Y %H:%M`, `%Y-%m-%dT%H:%M:%S%z`).
    Strftime(String),
}

/// Column mapping of a transaction table.
///
/// Every role left as `None` is auto-detected from common names (case, `_`, `-` and spaces
/// ignored): `customer_id` / `CustomerID` / `customer` / `client_id` / `user_id`; `date` /
/// `InvoiceDate` / `timestamp` / `order_date` / `transaction_date`; `amount` / `revenue` /
/// `sales` / `dollar_value` / `value` / `spend`; and, when no amount column exists,
/// `price` × `quantity`. Optional roles (quantity, cost of goods, order id, channel, return
/// flag) are used when found.
///
/// # Example
/// ```
/// use patronage::io::TransactionSchema;
/// let schema = TransactionSchema::default()
///     .customer_id("CustomerID")
///     .date("InvoiceDate")
///     .date_format("%m/%d/%Y %H:%M");
/// assert_eq!(schema.customer_id.as_deref(), Some("CustomerID"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TransactionSchema {
    /// Customer identifier (string or integer; kept as given).
    pub customer_id: Option<String>,
    /// Transaction date or datetime.
    pub date: Option<String>,
    /// Line value (revenue). Negative values are returns.
    pub amount: Option<String>,
    /// Unit price; used with `quantity` when there is no amount column.
    pub price: Option<String>,
    /// Quantity (units, items).
    pub quantity: Option<String>,
    /// Cost of goods of the line, in the amount's currency (the line total, not per unit).
    pub cost: Option<String>,
    /// Cost of goods per unit; multiplied by `quantity`. Used when `cost` is not given.
    pub unit_cost: Option<String>,
    /// Order (invoice) identifier.
    pub order_id: Option<String>,
    /// Sales channel.
    pub channel: Option<String>,
    /// Return flag (`true`/`false`, `1`/`0`, `yes`/`no`, `y`/`n`, `r`): a flagged row is a
    /// return of the absolute value of its amount.
    pub return_flag: Option<String>,
    /// strftime format of the date column when it is text; `None` detects ISO forms and
    /// `YYYYMMDD`.
    pub date_format: Option<String>,
}

macro_rules! setter {
    ($($name:ident),*) => {$(
        #[doc = concat!("Sets the `", stringify!($name), "` column.")]
        #[must_use]
        pub fn $name(mut self, column: impl Into<String>) -> Self {
            self.$name = Some(column.into());
            self
        }
    )*};
}

impl TransactionSchema {
    setter!(
        customer_id,
        date,
        amount,
        price,
        quantity,
        cost,
        unit_cost,
        order_id,
        channel,
        return_flag
    );

    /// Sets an explicit strftime format for the date column.
    #[must_use]
    pub fn date_format(mut self, format: impl Into<String>) -> Self {
        self.date_format = Some(format.into());
        self
    }

    /// The date format as the parser takes it.
    pub fn parsed_date_format(&self) -> DateFormat {
        match &self.date_format {
            Some(f) => DateFormat::Strftime(f.clone()),
            None => DateFormat::Auto,
        }
    }

    /// Resolves every role against the input's column names.
    ///
    /// # Errors
    /// [`Error::MissingColumn`] when a named column is absent or a required role (customer,
    /// date, amount or price × quantity) cannot be detected.
    pub fn resolve(&self, columns: &[String]) -> Result<ResolvedSchema> {
        // An explicit name must exist; otherwise the first candidate present is taken.
        let find = |explicit: &Option<String>, candidates: &[&str]| -> Result<Option<String>> {
            match explicit {
                Some(name) if columns.iter().any(|c| c == name) => Ok(Some(name.clone())),
                Some(name) => Err(missing(name, columns)),
                None => Ok(detect(columns, candidates)),
            }
        };
        let required = |found: Option<String>, role: &str, candidates: &[&str]| {
            found.ok_or_else(|| {
                missing(
                    &format!("{role} (none of: {})", candidates.join(", ")),
                    columns,
                )
            })
        };
        let customer_id = required(find(&self.customer_id, CUSTOMER)?, "customer id", CUSTOMER)?;
        let date = required(find(&self.date, DATE)?, "date", DATE)?;
        let quantity = find(&self.quantity, QUANTITY)?;
        let amount = match find(&self.amount, AMOUNT)? {
            Some(a) => AmountSource::Column(a),
            None => match (find(&self.price, PRICE)?, &quantity) {
                (Some(p), Some(q)) => AmountSource::PriceTimesQuantity {
                    price: p,
                    quantity: q.clone(),
                },
                _ => {
                    return Err(missing(
                        &format!(
                            "amount (none of: {}; nor price x quantity)",
                            AMOUNT.join(", ")
                        ),
                        columns,
                    ));
                }
            },
        };
        let cost = match find(&self.cost, COST)? {
            Some(c) => Some(CostSource::Line(c)),
            None => match (find(&self.unit_cost, UNIT_COST)?, &quantity) {
                (Some(u), Some(q)) => Some(CostSource::UnitTimesQuantity {
                    unit_cost: u,
                    quantity: q.clone(),
                }),
                (Some(u), None) => {
                    return Err(Error::invalid(
                        "unit_cost",
                        format!("column `{u}` is a unit cost but no quantity column was found"),
                    ));
                }
                _ => None,
            },
        };
        Ok(ResolvedSchema {
            customer_id,
            date,
            amount,
            quantity,
            cost,
            order_id: find(&self.order_id, ORDER)?,
            channel: find(&self.channel, CHANNEL)?,
            return_flag: find(&self.return_flag, RETURN)?,
            date_format: self.parsed_date_format(),
        })
    }
}

/// Where a row's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AmountSource {
    /// One column.
    Column(String),
    /// Price times quantity.
    PriceTimesQuantity {
        /// Unit price column.
        price: String,
        /// Quantity column.
        quantity: String,
    },
}

/// Where a row's cost of goods comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CostSource {
    /// A column holding the line's cost of goods.
    Line(String),
    /// Unit cost times quantity.
    UnitTimesQuantity {
        /// Unit cost column.
        unit_cost: String,
        /// Quantity column.
        quantity: String,
    },
}

/// A role a transaction table may map but a run does not always need: what
/// [`ResolvedSchema::keeping`] keeps or leaves unread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OptionalRole {
    /// The quantity column (the one price x quantity uses stays with the amount).
    Quantity,
    /// The cost of goods (a line cost, or unit cost x quantity).
    Cost,
    /// The order id.
    OrderId,
    /// The sales channel.
    Channel,
    /// The return flag (it decides an amount's sign, so every summary keeps it).
    ReturnFlag,
}

impl OptionalRole {
    /// Every optional role.
    pub const ALL: [OptionalRole; 5] = [
        OptionalRole::Quantity,
        OptionalRole::Cost,
        OptionalRole::OrderId,
        OptionalRole::Channel,
        OptionalRole::ReturnFlag,
    ];
}

/// A [`TransactionSchema`] resolved against an input: every role is an existing column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedSchema {
    /// Customer id column.
    pub customer_id: String,
    /// Date column.
    pub date: String,
    /// Amount source.
    pub amount: AmountSource,
    /// Quantity column.
    pub quantity: Option<String>,
    /// Cost of goods source.
    pub cost: Option<CostSource>,
    /// Order id column.
    pub order_id: Option<String>,
    /// Channel column.
    pub channel: Option<String>,
    /// Return flag column.
    pub return_flag: Option<String>,
    /// Date format.
    pub date_format: DateFormat,
}

impl ResolvedSchema {
    /// The input columns the run reads, each once.
    pub fn used_columns(&self) -> Vec<String> {
        let mut v = vec![self.customer_id.clone(), self.date.clone()];
        match &self.amount {
            AmountSource::Column(a) => v.push(a.clone()),
            AmountSource::PriceTimesQuantity { price, quantity } => {
                v.push(price.clone());
                v.push(quantity.clone());
            }
        }
        match &self.cost {
            Some(CostSource::Line(c)) => v.push(c.clone()),
            Some(CostSource::UnitTimesQuantity {
                unit_cost,
                quantity,
            }) => {
                v.push(unit_cost.clone());
                v.push(quantity.clone());
            }
            None => {}
        }
        for c in [
            &self.quantity,
            &self.order_id,
            &self.channel,
            &self.return_flag,
        ]
        .into_iter()
        .flatten()
        {
            v.push(c.clone());
        }
        let mut seen = std::collections::HashSet::new();
        v.retain(|c| seen.insert(c.clone()));
        v
    }

    /// This mapping without the optional roles that are not in `keep`: the customer id,
    /// the date and the amount (with the columns price x quantity needs) always stay.
    ///
    /// A run reads, and rejects rows for, only the columns its mapping holds: a command
    /// that needs no cost or channel reads neither, so a row whose cost does not parse is
    /// used by it (and rejected by a run that reads the cost). Duplicates are rows equal
    /// in every column read, so a run that drops duplicates should keep every role (see
    /// [`crate::stages::summary::summary_roles`]).
    ///
    /// # Example
    /// ```
    /// use patronage::io::schema::{OptionalRole, TransactionSchema};
    /// let columns: Vec<String> = ["customer_id", "date", "amount", "channel", "cost"]
    ///     .map(String::from).to_vec();
    /// let all = TransactionSchema::default().resolve(&columns)?;
    /// let lean = all.keeping(&[OptionalRole::Cost]);
    /// assert_eq!(lean.used_columns(), ["customer_id", "date", "amount", "cost"]);
    /// assert_eq!(lean.channel, None);
    /// # Ok::<(), patronage::Error>(())
    /// ```
    #[must_use]
    pub fn keeping(&self, keep: &[OptionalRole]) -> ResolvedSchema {
        let kept = |role: OptionalRole, column: &Option<String>| {
            column.clone().filter(|_| keep.contains(&role))
        };
        ResolvedSchema {
            customer_id: self.customer_id.clone(),
            date: self.date.clone(),
            amount: self.amount.clone(),
            quantity: kept(OptionalRole::Quantity, &self.quantity),
            cost: self
                .cost
                .clone()
                .filter(|_| keep.contains(&OptionalRole::Cost)),
            order_id: kept(OptionalRole::OrderId, &self.order_id),
            channel: kept(OptionalRole::Channel, &self.channel),
            return_flag: kept(OptionalRole::ReturnFlag, &self.return_flag),
            date_format: self.date_format.clone(),
        }
    }

    /// The column holding the row's amount (the price column for price × quantity).
    pub fn amount_column(&self) -> &str {
        match &self.amount {
            AmountSource::Column(a) => a,
            AmountSource::PriceTimesQuantity { price, .. } => price,
        }
    }
}

const CUSTOMER: &[&str] = &[
    "customer_id",
    "CustomerID",
    "customer",
    "cust_id",
    "client_id",
    "user_id",
    "member_id",
    "account_id",
    "buyer_id",
];
const DATE: &[&str] = &[
    "date",
    "InvoiceDate",
    "timestamp",
    "order_date",
    "transaction_date",
    "purchase_date",
    "datetime",
    "invoice_date",
    "created_at",
    "time",
];
const AMOUNT: &[&str] = &[
    "amount",
    "revenue",
    "sales",
    "dollar_value",
    "value",
    "spend",
    "monetary_value",
    "sale_amount",
    "net_amount",
    "line_total",
    "total",
];
const PRICE: &[&str] = &["price", "unit_price", "UnitPrice"];
const QUANTITY: &[&str] = &["quantity", "qty", "number_of_cds", "units", "items"];
const COST: &[&str] = &["cost", "cogs", "cost_of_goods", "line_cost"];
const UNIT_COST: &[&str] = &["unit_cost", "UnitCost"];
const ORDER: &[&str] = &[
    "order_id",
    "OrderID",
    "invoice",
    "InvoiceNo",
    "invoice_no",
    "transaction_id",
    "order",
];
const CHANNEL: &[&str] = &["channel", "sales_channel"];
const RETURN: &[&str] = &["is_return", "return_flag", "returned", "return"];

fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn detect(columns: &[String], candidates: &[&str]) -> Option<String> {
    let normed: Vec<String> = columns.iter().map(|c| norm(c)).collect();
    candidates.iter().find_map(|cand| {
        let n = norm(cand);
        normed
            .iter()
            .position(|c| *c == n)
            .map(|i| columns[i].clone())
    })
}

fn missing(column: &str, columns: &[String]) -> Error {
    Error::MissingColumn {
        column: column.to_string(),
        available: columns.join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn detects_common_names() {
        let r = TransactionSchema::default()
            .resolve(&cols(&[
                "InvoiceNo",
                "Quantity",
                "InvoiceDate",
                "UnitPrice",
                "CustomerID",
            ]))
            .unwrap();
        assert_eq!(r.customer_id, "CustomerID");
        assert_eq!(r.date, "InvoiceDate");
        assert_eq!(
            r.amount,
            AmountSource::PriceTimesQuantity {
                price: "UnitPrice".into(),
                quantity: "Quantity".into()
            }
        );
        assert_eq!(r.order_id.as_deref(), Some("InvoiceNo"));
        let r = TransactionSchema::default()
            .resolve(&cols(&[
                "customer_id",
                "date",
                "number_of_cds",
                "dollar_value",
            ]))
            .unwrap();
        assert_eq!(r.amount, AmountSource::Column("dollar_value".into()));
        assert_eq!(r.quantity.as_deref(), Some("number_of_cds"));
    }

    #[test]
    fn missing_columns_are_named() {
        let e = TransactionSchema::default()
            .customer_id("cid")
            .resolve(&cols(&["id", "date", "amount"]));
        match e {
            Err(Error::MissingColumn { column, available }) => {
                assert_eq!(column, "cid");
                assert_eq!(available, "id, date, amount");
            }
            other => panic!("{other:?}"),
        }
        let e = TransactionSchema::default().resolve(&cols(&["customer", "date"]));
        assert!(
            matches!(e, Err(Error::MissingColumn { column, .. }) if column.starts_with("amount"))
        );
    }
}
