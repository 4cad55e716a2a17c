//! Keys of the duplicate check and of orders: hashes of a row's values read straight
//! from the input columns, without formatting them as text.

use std::hash::{BuildHasher, Hash, Hasher};

use foldhash::fast::FixedState;
use polars::prelude::{Column, DataType};

use crate::error::Result;

/// One key column of the duplicate check, in a form that hashes without formatting.
pub(super) enum KeyCol {
    Text(polars::prelude::StringChunked),
    Int(polars::prelude::Int64Chunked),
    Float(polars::prelude::Float64Chunked),
}

impl KeyCol {
    /// Wraps a column without copying its values where its type allows (a chunked
    /// array's `get` finds the chunk; only rows in shared (customer, day) groups are read).
    pub(super) fn new(c: &Column) -> Result<Self> {
        let dt = c.dtype();
        Ok(if matches!(dt, DataType::String) {
            KeyCol::Text(c.str()?.clone())
        } else if dt.is_float() {
            KeyCol::Float(c.cast(&DataType::Float64)?.f64()?.clone())
        } else if dt.is_integer() || dt.is_temporal() || dt.is_bool() {
            let p = c.to_physical_repr().cast(&DataType::Int64)?;
            KeyCol::Int(p.i64()?.clone())
        } else {
            KeyCol::Text(c.cast(&DataType::String)?.str()?.clone())
        })
    }

    /// The hash of every row, in row order (as [`KeyCol::hash_row`] with a fresh hasher).
    pub(super) fn hash_all(&self) -> Vec<u64> {
        fn one<T: Hash>(v: T) -> u64 {
            FixedState::default().hash_one(v)
        }
        use polars::prelude::StaticArray;
        match self {
            KeyCol::Text(ca) => {
                let c: Vec<_> = ca.downcast_iter().collect();
                crate::transactions::ids::map_rows(
                    &c,
                    &ca.chunk_lengths().collect::<Vec<_>>(),
                    |a, j| one(a.get(j)),
                )
            }
            KeyCol::Int(ca) => {
                let c: Vec<_> = ca.downcast_iter().collect();
                crate::transactions::ids::map_rows(
                    &c,
                    &ca.chunk_lengths().collect::<Vec<_>>(),
                    |a, j| one(a.get(j)),
                )
            }
            KeyCol::Float(ca) => {
                let c: Vec<_> = ca.downcast_iter().collect();
                crate::transactions::ids::map_rows(
                    &c,
                    &ca.chunk_lengths().collect::<Vec<_>>(),
                    |a, j| one(a.get(j).map(f64::to_bits)),
                )
            }
        }
    }

    /// Whether rows `i` and `j` hold the same value (nulls equal; floats by bits, as
    /// they are hashed).
    pub(super) fn same(&self, i: usize, j: usize) -> bool {
        match self {
            KeyCol::Text(ca) => ca.get(i) == ca.get(j),
            KeyCol::Int(ca) => ca.get(i) == ca.get(j),
            KeyCol::Float(ca) => ca.get(i).map(f64::to_bits) == ca.get(j).map(f64::to_bits),
        }
    }

    fn hash_row(&self, i: usize, h: &mut impl Hasher) {
        match self {
            KeyCol::Text(ca) => ca.get(i).hash(h),
            KeyCol::Int(ca) => ca.get(i).hash(h),
            KeyCol::Float(ca) => ca.get(i).map(f64::to_bits).hash(h),
        }
    }
}

/// Hashes everything a row says besides its customer and day (the raw timestamp, the
/// values, order id and channel), for the duplicate check. Only rows that share a
/// customer and a day with another row are ever hashed.
pub(super) struct Fingerprints<'a> {
    pub(super) stamp: KeyCol,
    pub(super) extra: Vec<KeyCol>,
    pub(super) amount: &'a [f64],
    pub(super) cost: Option<&'a [f64]>,
    pub(super) quantity: Option<&'a [f64]>,
    pub(super) is_return: &'a [bool],
}

impl Fingerprints<'_> {
    pub(super) fn of(&self, i: usize) -> u64 {
        let mut h = FixedState::default().build_hasher();
        self.stamp.hash_row(i, &mut h);
        self.amount[i].to_bits().hash(&mut h);
        self.cost.map(|c| c[i].to_bits()).hash(&mut h);
        self.quantity.map(|q| q[i].to_bits()).hash(&mut h);
        self.is_return[i].hash(&mut h);
        for e in &self.extra {
            e.hash_row(i, &mut h);
        }
        h.finish()
    }

    /// Whether rows `i` and `j` say the same thing in every value [`Fingerprints::of`]
    /// hashes: equal fingerprints are confirmed by this before a row counts as a
    /// duplicate, so a hash collision cannot drop a distinct row.
    pub(super) fn same(&self, i: usize, j: usize) -> bool {
        let bits = |v: Option<&[f64]>, k: usize| v.map(|v| v[k].to_bits());
        self.stamp.same(i, j)
            && self.amount[i].to_bits() == self.amount[j].to_bits()
            && bits(self.cost, i) == bits(self.cost, j)
            && bits(self.quantity, i) == bits(self.quantity, j)
            && self.is_return[i] == self.is_return[j]
            && self.extra.iter().all(|e| e.same(i, j))
    }
}

/// Makes order keys exact within each customer: rows whose order ids differ but hash
/// alike (a 64-bit collision) get distinct keys, so two orders are never merged.
/// `keys[r]` is the hash of used row `r`'s order id, `used[r]` its input row, and
/// customer `c` owns used rows `offsets[c]..offsets[c + 1]`. Only rows with equal hashes
/// inside one customer are compared by value.
pub(super) fn exact_order_keys(keys: &mut [u64], used: &[u32], offsets: &[usize], ids: &KeyCol) {
    use rayon::prelude::*;
    // Split `keys` into the customers' slices, to fix each customer on its own.
    let mut parts: Vec<(&mut [u64], &[u32])> = Vec::with_capacity(offsets.len());
    let mut rest = keys;
    for w in offsets.windows(2) {
        let (part, tail) = std::mem::take(&mut rest).split_at_mut(w[1] - w[0]);
        parts.push((part, &used[w[0]..w[1]]));
        rest = tail;
    }
    parts
        .into_par_iter()
        .for_each_init(Vec::new, |by_key, (keys, rows)| {
            if keys.len() < 2 {
                return;
            }
            by_key.clear();
            by_key.extend(0..keys.len());
            by_key.sort_unstable_by_key(|&k| (keys[k], k));
            // The keys in use, built only when a collision is found (almost never).
            let mut taken: Option<std::collections::HashSet<u64>> = None;
            let mut a = 0;
            while a < by_key.len() {
                let mut b = a + 1;
                while b < by_key.len() && keys[by_key[b]] == keys[by_key[a]] {
                    b += 1;
                }
                if b - a == 1 {
                    a = b;
                    continue;
                }
                // Distinct ids in this run of equal hashes: the first keeps the hash, every
                // other id gets a fresh key that no row of the customer uses. Almost always
                // every row repeats the first id, and nothing is allocated.
                let first = rows[by_key[a]] as usize;
                let mut ids_seen: Vec<(usize, u64)> = Vec::new();
                for &k in &by_key[a + 1..b] {
                    let row = rows[k] as usize;
                    if ids.same(first, row) {
                        continue;
                    }
                    if let Some(&(_, key)) = ids_seen
                        .iter()
                        .find(|&&(other, _)| ids.same(rows[other] as usize, row))
                    {
                        keys[k] = key;
                    } else {
                        let taken = taken.get_or_insert_with(|| keys.iter().copied().collect());
                        let mut fresh = keys[k];
                        while taken.contains(&fresh) {
                            fresh = fresh.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(1);
                        }
                        taken.insert(fresh);
                        ids_seen.push((k, fresh));
                        keys[k] = fresh;
                    }
                }
                a = b;
            }
        });
}

#[cfg(test)]
mod tests {
    use polars::prelude::*;

    use super::{KeyCol, exact_order_keys};

    #[test]
    fn colliding_order_hashes_stay_distinct_orders() {
        // One customer, four lines: orders A, B, A, C; every hash forced to collide.
        let ids = KeyCol::new(&Column::new("order".into(), ["A", "B", "A", "C"])).unwrap();
        let mut keys = vec![5_u64; 4];
        exact_order_keys(&mut keys, &[0, 1, 2, 3], &[0, 4], &ids);
        assert_eq!(keys[0], keys[2], "the two lines of order A stay one order");
        assert_ne!(keys[0], keys[1]);
        assert_ne!(keys[0], keys[3]);
        assert_ne!(keys[1], keys[3]);
        // Two customers: equal keys in different customers are left alone.
        let mut keys = vec![5_u64; 4];
        exact_order_keys(&mut keys, &[0, 2, 1, 3], &[0, 2, 4], &ids);
        assert_eq!(keys, vec![5, 5, 5, keys[3]]);
        assert_ne!(keys[3], 5);
    }
}
