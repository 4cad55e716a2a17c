//! The grouping phases of cleaning: the valid rows grouped by customer and ordered by
//! (day, row) within each customer; then, per customer, the duplicate rule and the rule
//! for returns that precede every purchase; then the rows kept, customer by customer.

use polars::prelude::IdxSize;
use rayon::prelude::*;

use super::keys::{Fingerprints, KeyCol};
use super::parse::Parsed;
use super::role::{Role, RowCheck};
use super::{DuplicateRow, PartFacts, RejectReason, RoleColumns};
use crate::error::Result;
use crate::transactions::options::{DuplicatePolicy, SummaryOptions};

/// The valid rows in customer order.
pub(super) struct Grouping {
    /// Input row indices, customer by customer, by (day, row) within a customer.
    pub order: Vec<u32>,
    /// Customer `c` owns `order[counts[c]..counts[c + 1]]`.
    pub counts: Vec<usize>,
}

/// Groups the rows that passed every check by customer (counting sort, stable in row
/// order), then sorts each customer's rows by day (stable, so ties stay in row order).
pub(super) fn by_customer(p: &Parsed, check: &RowCheck) -> Grouping {
    let (n, codes, first_pos, day) = (p.day.len(), &p.codes, &p.first_pos, &p.day);
    let n_cust = first_pos.len();
    let mut counts = vec![0usize; n_cust + 1];
    for i in 0..n {
        if check.ok(i) {
            counts[codes[i] as usize + 1] += 1;
        }
    }
    for c in 0..n_cust {
        counts[c + 1] += counts[c];
    }
    let mut order = vec![0u32; counts[n_cust]];
    let mut next = counts.clone();
    for (i, &code) in codes.iter().enumerate() {
        if check.ok(i) {
            let c = code as usize;
            order[next[c]] = i as u32;
            next[c] += 1;
        }
    }
    {
        let mut slices: Vec<&mut [u32]> = Vec::with_capacity(n_cust);
        let mut rest: &mut [u32] = &mut order;
        for c in 0..n_cust {
            let (head, tail) = rest.split_at_mut(counts[c + 1] - counts[c]);
            slices.push(head);
            rest = tail;
        }
        slices
            .par_iter_mut()
            .for_each(|s| s.sort_by_key(|&i| day[i as usize]));
    }

    Grouping { order, counts }
}

/// Applies the duplicate policy and rejects returns dated before the customer's first
/// purchase. Returns which grouped rows are kept and the duplicates that were kept.
pub(super) fn duplicates_and_returns(
    cols: &RoleColumns,
    opts: &SummaryOptions,
    p: &Parsed,
    g: &Grouping,
    check: &mut RowCheck,
    facts: &mut PartFacts,
) -> Result<(Vec<bool>, Vec<DuplicateRow>)> {
    let (rows, first_pos, day, is_return, by_flag) =
        (&p.rows, &p.first_pos, &p.day, &p.is_return, &p.by_flag);
    let (amount, cost, quantity) = (&p.amount, &p.cost, &p.quantity);
    let (order, counts) = (&g.order, &g.counts);
    let n_cust = first_pos.len();
    let fingerprints = Fingerprints {
        stamp: KeyCol::new(&cols.date.1)?,
        extra: cols
            .extra_keys
            .iter()
            .map(KeyCol::new)
            .collect::<Result<_>>()?,
        amount,
        cost: cost.as_deref(),
        quantity: quantity.as_deref(),
        is_return,
    };
    let mut group_fp: Vec<u64> = Vec::new();
    let mut keep = vec![true; order.len()];
    let mut duplicates_kept = Vec::new();
    for c in 0..n_cust {
        let (lo, hi) = (counts[c], counts[c + 1]);
        let mut a = lo;
        while a < hi {
            let d = day[order[a] as usize];
            let mut b = a;
            while b < hi && day[order[b] as usize] == d {
                b += 1;
            }
            if b - a > 1 {
                group_fp.clear();
                group_fp.extend((a..b).map(|j| fingerprints.of(order[j] as usize)));
            }
            for j in a + 1..b {
                let rj = order[j] as usize;
                if let Some(k) = first_equal(a, j, &keep, &group_fp, |k| {
                    fingerprints.same(order[k] as usize, rj)
                }) {
                    let first_row = rows[order[k] as usize];
                    match opts.duplicates {
                        DuplicatePolicy::Keep => {
                            duplicates_kept.push(DuplicateRow {
                                row: rows[rj],
                                first_row,
                            });
                            facts.duplicate_keys.push(rows[first_pos[c]]);
                        }
                        DuplicatePolicy::Drop => {
                            keep[j] = false;
                            check.mark(rj, Role::Id, RejectReason::Duplicate { first_row });
                        }
                    }
                }
            }
            a = b;
        }
        let first_purchase = (lo..hi)
            .filter(|&j| keep[j] && !is_return[order[j] as usize])
            .map(|j| day[order[j] as usize])
            .next();
        for j in lo..hi {
            let i = order[j] as usize;
            if keep[j] && is_return[i] && first_purchase.is_none_or(|f| day[i] < f) {
                keep[j] = false;
                let role = if by_flag[i] {
                    Role::ReturnFlag
                } else {
                    Role::Amount
                };
                check.mark(i, role, RejectReason::ReturnBeforeAnyPurchase);
            }
        }
    }
    Ok((keep, duplicates_kept))
}

/// The first kept row `k` in `a..j` whose fingerprint equals row `j`'s and whose values
/// `same(k)` confirms: equal hashes alone never make a duplicate.
fn first_equal(
    a: usize,
    j: usize,
    keep: &[bool],
    group_fp: &[u64],
    same: impl Fn(usize) -> bool,
) -> Option<usize> {
    (a..j).find(|&k| keep[k] && group_fp[k - a] == group_fp[j - a] && same(k))
}

/// The kept rows in customer order, the offsets of each customer that kept a row, and
/// the first input row of each such customer.
pub(super) fn used_rows(
    p: &Parsed,
    g: &Grouping,
    keep: &[bool],
) -> (Vec<u32>, Vec<usize>, Vec<IdxSize>) {
    let (order, counts, first_pos) = (&g.order, &g.counts, &p.first_pos);
    let n_cust = first_pos.len();
    let mut out_offsets = Vec::with_capacity(n_cust + 1);
    out_offsets.push(0usize);
    let mut kept_first = Vec::with_capacity(n_cust);
    let used: Vec<u32> = {
        let mut v = Vec::with_capacity(order.len());
        for c in 0..n_cust {
            let before = v.len();
            for j in counts[c]..counts[c + 1] {
                if keep[j] {
                    v.push(order[j]);
                }
            }
            if v.len() > before {
                kept_first.push(first_pos[c] as IdxSize);
                out_offsets.push(v.len());
            }
        }
        v
    };
    (used, out_offsets, kept_first)
}

#[cfg(test)]
mod tests {
    use super::first_equal;

    #[test]
    fn a_fingerprint_collision_is_not_a_duplicate() {
        // Three rows of one (customer, day) group whose fingerprints all collide; rows 0
        // and 2 hold the same values, row 1 other values.
        let fp = [7_u64, 7, 7];
        let values = [10.0, 99.0, 10.0];
        let keep = [true, true, true];
        let same = |j: usize| move |k: usize| values[k] == values[j];
        assert_eq!(first_equal(0, 1, &keep, &fp, same(1)), None);
        assert_eq!(first_equal(0, 2, &keep, &fp, same(2)), Some(0));
        // Distinct fingerprints are never compared by value.
        let fp = [1_u64, 2, 3];
        assert_eq!(first_equal(0, 2, &keep, &fp, |_| true), None);
    }
}
