//! The first phases of cleaning, row by row: every role column read (a bad value marks
//! its row with the column's role), amounts and costs multiplied out, returns recognised
//! and signed, then the observation window settled and the rows outside it marked.

use polars::prelude::{Column, DataType};

use super::role::{Role, RowCheck};
use super::values::{Bad, days, flags, numbers, text_of};
use super::{PartFacts, RejectReason, RoleColumns};
use crate::error::{Error, Result};
use crate::transactions::options::{ReturnPolicy, SummaryOptions};
use crate::transactions::units::date_of;

/// The values of every input row (a default where the row is bad).
pub(super) struct Parsed {
    /// 1-based input row numbers.
    pub rows: Vec<u64>,
    /// Dense customer index per row (`u32::MAX` for a null id).
    pub codes: Vec<u32>,
    /// The first row of each customer.
    pub first_pos: Vec<usize>,
    /// Day numbers.
    pub day: Vec<i32>,
    /// Amounts (price x quantity when the amount is a product), returns negative.
    pub amount: Vec<f64>,
    /// Quantities as magnitudes, when mapped.
    pub quantity: Option<Vec<f64>>,
    /// Costs of goods (unit cost x quantity when a product), returns negative.
    pub cost: Option<Vec<f64>>,
    /// Whether each row is a return.
    pub is_return: Vec<bool>,
    /// Returns marked only by the flag column (the column to blame when one is rejected).
    pub by_flag: Vec<bool>,
}

/// Reads every role column of `cols`, marking bad values in `check` and recording in
/// `facts` what the merge of partitions needs to know about text columns.
pub(super) fn parse(
    cols: &RoleColumns,
    lenient: bool,
    check: &mut RowCheck,
    facts: &mut PartFacts,
) -> Result<Parsed> {
    let n = cols.row.len();
    let rows: Vec<u64> = cols
        .row
        .cast(&DataType::UInt64)?
        .u64()?
        .iter()
        .map(|v| v.unwrap_or(0))
        .collect();

    let (codes, first_pos) = crate::transactions::ids::intern(&cols.id.0, &cols.id.1)?;
    for (i, &c) in codes.iter().enumerate() {
        if c == u32::MAX {
            check.mark(i, Role::Id, RejectReason::Null);
        }
    }
    facts.first_row = rows[0];
    facts.first_date = text_of(&cols.date.1, 0);
    let (day, bad) = days(&cols.date.0, &cols.date.1, &cols.date_format, lenient)?;
    if matches!(cols.date.1.dtype(), DataType::String) {
        facts.date_text = Some((
            bad.len() < n,
            bad.iter().any(|b| b.1 == Bad::UnparseableDate),
        ));
    }
    for (i, r) in bad {
        check.mark(i, Role::Date, r);
    }
    let mut take_numbers =
        |role: Role, col: &Option<(String, Column)>| -> Result<Option<Vec<f64>>> {
            let Some((name, c)) = col else {
                return Ok(None);
            };
            let (out, bad) = numbers(name, c, lenient)?;
            if matches!(c.dtype(), DataType::String) {
                let any_ok = bad.len() < n;
                let any_value = any_ok || bad.iter().any(|b| b.1 != Bad::Null);
                facts.number_text.push((name.clone(), any_ok, any_value));
            }
            for (i, r) in bad {
                check.mark(i, role, r);
            }
            Ok(Some(out))
        };
    let amount_col = Some(cols.amount.clone());
    let mut amount = take_numbers(Role::Amount, &amount_col)?.unwrap_or_default();
    let factor = take_numbers(Role::AmountFactor, &cols.amount_factor)?;
    let quantity = take_numbers(Role::Quantity, &cols.quantity)?;
    let mut cost = take_numbers(Role::Cost, &cols.cost)?;
    let cost_factor = take_numbers(Role::CostFactor, &cols.cost_factor)?;
    if let Some(f) = &factor {
        amount.iter_mut().zip(f).for_each(|(a, q)| *a *= q);
    }
    if let (Some(c), Some(f)) = (&mut cost, &cost_factor) {
        c.iter_mut().zip(f).for_each(|(a, q)| *a *= q);
    }
    // A row is a return when its amount (or quantity) is negative or its flag is set.
    // Returns carry a negative amount and a negative cost of goods (the goods come back);
    // quantities are kept as magnitudes.
    let mut is_return: Vec<bool> = amount.iter().map(|&a| a < 0.0).collect();
    if let Some(q) = &quantity {
        for (r, &x) in is_return.iter_mut().zip(q) {
            *r |= x < 0.0;
        }
    }
    // Returns marked only by the flag (neither amount nor quantity negative): the flag
    // column is the one to name when such a row is rejected as a return.
    let mut by_flag = vec![false; n];
    if let Some((name, c)) = &cols.return_flag {
        for (i, f) in flags(name, c)?.into_iter().enumerate() {
            match f {
                Ok(true) => {
                    by_flag[i] = !is_return[i];
                    is_return[i] = true;
                }
                Ok(false) => {}
                Err(r) => check.mark(i, Role::ReturnFlag, r),
            }
        }
    }
    for (i, &ret) in is_return.iter().enumerate() {
        if ret {
            amount[i] = -amount[i].abs();
            if let Some(c) = &mut cost {
                c[i] = -c[i].abs();
            }
        }
    }
    let quantity = quantity.map(|q| q.into_iter().map(f64::abs).collect::<Vec<f64>>());
    Ok(Parsed {
        rows,
        codes,
        first_pos,
        day,
        amount,
        quantity,
        cost,
        is_return,
        by_flag,
    })
}

/// The observation end (explicit, or the last valid date not after today) and the rows
/// it leaves out; with [`ReturnPolicy::Exclude`] the returns are marked too.
///
/// In a partition (`partition = Some(today)`) without a valid row, rows after today are
/// the ones after the end: the input's end is the last valid date not after today, so no
/// valid row is between it and today.
pub(super) fn window(
    opts: &SummaryOptions,
    partition: Option<i32>,
    p: &Parsed,
    check: &mut RowCheck,
    facts: &mut PartFacts,
) -> Result<i32> {
    let lenient = partition.is_some();
    let (n, day, is_return, by_flag) = (p.day.len(), &p.day, &p.is_return, &p.by_flag);
    let explicit_end = opts.parsed_observation_end()?;
    let today = partition.unwrap_or_else(super::today);
    let last_valid = match explicit_end {
        Some(_) => None,
        None => (0..n)
            .filter(|&i| check.ok(i) && day[i] <= today)
            .map(|i| day[i])
            .max(),
    };
    let observation_end = match (explicit_end, last_valid) {
        (Some(e), _) | (None, Some(e)) => e,
        (None, None) if lenient => today,
        (None, None) => {
            return Err(Error::EmptyTable {
                what: "no row has a valid customer id, date and amount".into(),
            });
        }
    };
    facts.observation_end = explicit_end.or(last_valid);
    for (i, &d) in day.iter().enumerate() {
        if check.ok(i) && d > observation_end {
            let reason = if explicit_end.is_some() {
                RejectReason::AfterObservationEnd {
                    observation_end: date_of(observation_end).to_string(),
                }
            } else {
                RejectReason::InTheFuture {
                    today: date_of(today).to_string(),
                }
            };
            check.mark(i, Role::Date, reason);
        }
    }
    if opts.returns == ReturnPolicy::Exclude {
        for i in 0..n {
            if check.ok(i) && is_return[i] {
                let role = if by_flag[i] {
                    Role::ReturnFlag
                } else {
                    Role::Amount
                };
                check.mark(i, role, RejectReason::ReturnExcluded);
            }
        }
    }
    Ok(observation_end)
}
