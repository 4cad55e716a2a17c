//! Validation helpers shared by the three data types (lengths, weights, row-numbered
//! errors) and the compression of per-customer rows to weighted distinct rows.
//!
//! Rows are sorted by their keys and equal rows merged, their weights summed in input
//! order, so compression (and every sum over the compressed rows) is deterministic.

use rayon::prelude::*;

use crate::error::{Error, Result};

/// A [`Error::BadRow`] for 0-based `row` (reported 1-based).
pub(super) fn bad(row: usize, column: &str, reason: &str, value: f64) -> Error {
    Error::BadRow {
        row: row as u64 + 1,
        column: column.to_string(),
        reason: reason.to_string(),
        value: value.to_string(),
    }
}

/// The checks every constructor starts with: the other columns (and the weights, when
/// given) have `n` values (frequency's), `n > 0`, and every weight is positive and finite.
///
/// # Errors
///
/// As [`check_lengths`], then as [`check_weights`].
pub(super) fn check_inputs(
    n: usize,
    others: &[(&'static str, usize)],
    weights: Option<&[f64]>,
) -> Result<()> {
    let mut lens = others.to_vec();
    if let Some(w) = weights {
        lens.push(("weights", w.len()));
    }
    check_lengths(n, &lens)?;
    check_weights(weights)
}

/// Every other column has `n` values, and `n > 0`.
///
/// # Errors
///
/// [`Error::InvalidOption`] naming the column whose length differs;
/// [`Error::EmptyTable`] for no rows.
fn check_lengths(n: usize, others: &[(&str, usize)]) -> Result<()> {
    for (name, len) in others {
        if *len != n {
            return Err(Error::invalid(
                *name,
                format!("has {len} values but frequency has {n}"),
            ));
        }
    }
    if n == 0 {
        return Err(Error::EmptyTable {
            what: "no customers to fit".into(),
        });
    }
    Ok(())
}

/// Every weight is positive and finite.
///
/// # Errors
///
/// [`Error::BadRow`] for the first weight that is not.
fn check_weights(weights: Option<&[f64]>) -> Result<()> {
    if let Some(w) = weights {
        for (i, &v) in w.iter().enumerate() {
            if !(v.is_finite() && v > 0.0) {
                return Err(bad(i, "weights", "weight must be positive and finite", v));
            }
        }
    }
    Ok(())
}

/// Type of the compressed `(x, t_x, T, weight)` columns.
pub(super) type Triples = (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>);

/// Sorts `(x, t_x, T)` (non-negative, so bit patterns sort as numbers) and merges equal
/// rows, summing weights in input order.
pub(super) fn compress_triples(
    x: &[f64],
    t_x: &[f64],
    t: &[f64],
    weights: Option<&[f64]>,
) -> Triples {
    // +0.0 turns a -0.0 into 0.0 so that equal values have equal bits.
    let mut keys: Vec<(u64, u64, u64, u32)> = (0..x.len())
        .into_par_iter()
        .map(|i| {
            (
                (x[i] + 0.0).to_bits(),
                (t_x[i] + 0.0).to_bits(),
                (t[i] + 0.0).to_bits(),
                i as u32,
            )
        })
        .collect();
    // Keys are unique (the row index is last), so the unstable sort is deterministic.
    keys.par_sort_unstable();
    let mut out: Triples = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut last: Option<(u64, u64, u64)> = None;
    for &(a, b, c, i) in &keys {
        let wi = weights.map_or(1.0, |w| w[i as usize]);
        if last == Some((a, b, c)) {
            if let Some(lw) = out.3.last_mut() {
                *lw += wi;
            }
            continue;
        }
        last = Some((a, b, c));
        out.0.push(f64::from_bits(a));
        out.1.push(f64::from_bits(b));
        out.2.push(f64::from_bits(c));
        out.3.push(wi);
    }
    out
}

/// Sorts row indices by the given keys (non-negative or any finite values: compared by
/// `total_cmp`) and merges equal rows, summing weights in input order.
pub(crate) fn compress(
    keys: &[&[f64]],
    weights: Option<&[f64]>,
    n: usize,
) -> (Vec<usize>, Vec<f64>) {
    let mut order: Vec<usize> = (0..n).collect();
    // Ties broken by index, so the unstable parallel sort is deterministic.
    order.par_sort_unstable_by(|&i, &j| {
        for k in keys {
            let o = k[i].total_cmp(&k[j]);
            if o != std::cmp::Ordering::Equal {
                return o;
            }
        }
        i.cmp(&j)
    });
    let mut reps: Vec<usize> = Vec::new();
    let mut w = Vec::new();
    for &i in &order {
        let wi = weights.map_or(1.0, |w| w[i]);
        if let Some(&last) = reps.last()
            && keys.iter().all(|k| k[last].to_bits() == k[i].to_bits())
        {
            if let Some(lw) = w.last_mut() {
                *lw += wi;
            }
            continue;
        }
        reps.push(i);
        w.push(wi);
    }
    (reps, w)
}

/// A systematic sample of `m` customers from weighted rows: the customers laid end to end
/// in row order (weights as lengths, `total` their sum), one taken at the middle of each of
/// `m` equal stretches. Returns each row picked at least once with how many customers were
/// taken from it (the sample's weight). No seed is needed: over rows sorted by their keys
/// this is a stratified sample (every stretch of the sorted rows is represented in
/// proportion to its customers), and the same rows give the same sample.
pub(crate) fn systematic_sample(w: &[f64], total: f64, m: usize) -> Vec<(usize, f64)> {
    let step = total / m as f64;
    let mut picks: Vec<(usize, f64)> = Vec::new();
    let (mut taken, mut end) = (0usize, 0.0);
    for (i, &wi) in w.iter().enumerate() {
        end += wi;
        let mut count = 0.0;
        while taken < m && (taken as f64 + 0.5) * step < end {
            count += 1.0;
            taken += 1;
        }
        if count > 0.0 {
            picks.push((i, count));
        }
    }
    picks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systematic_sample_takes_customers_in_proportion_to_weight() {
        // 10 customers over four rows; a sample of 5 takes every second customer.
        let w = [4.0, 1.0, 3.0, 2.0];
        let picks = systematic_sample(&w, 10.0, 5);
        assert_eq!(picks, vec![(0, 2.0), (2, 2.0), (3, 1.0)]);
        let total: f64 = picks.iter().map(|p| p.1).sum();
        assert_eq!(total, 5.0);
    }

    #[test]
    fn systematic_sample_of_every_customer_keeps_every_row() {
        let w = [2.0, 1.0, 3.0];
        assert_eq!(
            systematic_sample(&w, 6.0, 6),
            vec![(0, 2.0), (1, 1.0), (2, 3.0)]
        );
    }
}
