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
}
