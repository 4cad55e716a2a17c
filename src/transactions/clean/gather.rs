//! The last phase of cleaning: the values of the kept rows gathered in customer order,
//! with each row's order key and channel.

use polars::prelude::DataType;
use rayon::prelude::*;

use super::RoleColumns;
use super::keys::{KeyCol, exact_order_keys};
use super::parse::Parsed;
use crate::error::Result;

/// The kept rows' columns, in customer then (day, row) order.
pub(super) struct Gathered {
    pub row: Vec<u64>,
    pub day: Vec<i32>,
    pub amount: Vec<f64>,
    pub cost: Option<Vec<f64>>,
    pub quantity: Option<Vec<f64>>,
    pub is_return: Vec<bool>,
    pub order: Option<Vec<u64>>,
    pub channel: Option<(Vec<u32>, Vec<String>)>,
}

/// Gathers the rows `used` (input row indices in customer order) out of `p`.
/// Customer `c` owns `used[offsets[c]..offsets[c + 1]]`.
pub(super) fn gather(
    cols: &RoleColumns,
    p: Parsed,
    used: &[u32],
    offsets: &[usize],
) -> Result<Gathered> {
    let n = p.rows.len();
    let Parsed {
        rows,
        day,
        amount,
        quantity,
        cost,
        is_return,
        ..
    } = p;
    // Per input row: the order key hash and the channel (numbered in order of first
    // appearance in the input; renumbered below in order of first use).
    let order_ids: Option<KeyCol> = cols.order_id.as_ref().map(KeyCol::new).transpose()?;
    let order_hash: Option<Vec<u64>> = order_ids.as_ref().map(KeyCol::hash_all);
    let channel_raw: Option<(Vec<u32>, Vec<String>)> = match &cols.channel {
        Some(c) => {
            let text = c.cast(&DataType::String)?;
            Some(crate::transactions::ids::intern_few(text.str()?, "(none)"))
        }
        None => None,
    };
    // The used rows in customer order. The gathers read the input at random, so every
    // value a used row needs is first packed into one record per input row: one random
    // read per used row instead of one per column.
    let packed: Vec<Packed> = (0..n)
        .into_par_iter()
        .map(|i| Packed {
            amount: amount[i],
            cost: cost.as_ref().map_or(0.0, |c| c[i]),
            quantity: quantity.as_ref().map_or(0.0, |q| q[i]),
            order: order_hash.as_ref().map_or(0, |o| o[i]),
            day: day[i],
            tag: (channel_raw.as_ref().map_or(0, |c| c.0[i]) << 1) | u32::from(is_return[i]),
        })
        .collect();
    let (has_cost, has_quantity) = (cost.is_some(), quantity.is_some());
    drop((amount, cost, quantity, order_hash, day, is_return));
    let picked: Vec<Packed> = used.par_iter().map(|&i| packed[i as usize]).collect();
    drop(packed);
    // Row numbers are usually the row index plus one (a fresh scan): then no gather.
    let row: Vec<u64> = if rows.par_iter().enumerate().all(|(i, &r)| r == i as u64 + 1) {
        used.par_iter().map(|&i| u64::from(i) + 1).collect()
    } else {
        used.par_iter().map(|&i| rows[i as usize]).collect()
    };
    let day: Vec<i32> = picked.par_iter().map(|p| p.day).collect();
    let amount: Vec<f64> = picked.par_iter().map(|p| p.amount).collect();
    let cost = has_cost.then(|| picked.par_iter().map(|p| p.cost).collect());
    let quantity = has_quantity.then(|| picked.par_iter().map(|p| p.quantity).collect());
    let is_return: Vec<bool> = picked.par_iter().map(|p| p.tag & 1 == 1).collect();
    let order = order_ids.as_ref().map(|ids| {
        let mut keys: Vec<u64> = picked.par_iter().map(|p| p.order).collect();
        exact_order_keys(&mut keys, used, offsets, ids);
        keys
    });
    // Channels renumbered in order of first use (customer order), as the names are listed.
    let channel = channel_raw.map(|(_, raw_names)| {
        let mut renumber = vec![u32::MAX; raw_names.len()];
        let mut names: Vec<String> = Vec::new();
        let idx: Vec<u32> = picked
            .iter()
            .map(|p| {
                let raw = (p.tag >> 1) as usize;
                if renumber[raw] == u32::MAX {
                    renumber[raw] = names.len() as u32;
                    names.push(raw_names[raw].clone());
                }
                renumber[raw]
            })
            .collect();
        (idx, names)
    });
    drop(picked);
    Ok(Gathered {
        row,
        day,
        amount,
        cost,
        quantity,
        is_return,
        order,
        channel,
    })
}

/// The values of one input row a used row carries (gathered in one read).
#[derive(Debug, Clone, Copy)]
struct Packed {
    amount: f64,
    cost: f64,
    quantity: f64,
    order: u64,
    day: i32,
    /// Channel (raw number) shifted left once, and the return flag in the low bit.
    tag: u32,
}
