//! Customer ids: interning in order of first appearance, and the id order of output tables.
//!
//! Both run on every core and give the same result whatever the number of threads: the
//! interning is defined by first appearance (not by which thread saw a key first), and the
//! id sort orders distinct ids, so an unstable sort has only one possible outcome.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};

use foldhash::fast::FixedState;
use polars::prelude::*;
use rayon::prelude::*;

use crate::error::{Error, Result};

/// Hash shards of the interning: each shard's map stays small enough for the caches.
const SHARDS: usize = 128;
/// Marks a row without a key (null or blank id) in the per-row shard numbers.
const NO_SHARD: u8 = u8::MAX;
/// Rows per block of the parallel passes.
const BLOCK: usize = 1 << 16;
/// Shards are interned in this many rounds (each holds a copy of its rows' keys).
const ROUNDS: usize = 4;

/// A text id as a map key: up to 15 bytes packed in two integers (with the length, so
/// trailing zero bytes stay distinct), longer ids by reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum TextKey<'a> {
    Short([u64; 2]),
    Long(&'a str),
}

fn text_key(s: &str) -> TextKey<'_> {
    let b = s.as_bytes();
    if b.len() < 16 {
        let mut buf = [0u8; 16];
        buf[..b.len()].copy_from_slice(b);
        buf[15] = b.len() as u8;
        let (a, b) = buf.split_at(8);
        let word = |x: &[u8]| {
            let mut w = [0u8; 8];
            w.copy_from_slice(x);
            u64::from_le_bytes(w)
        };
        TextKey::Short([word(a), word(b)])
    } else {
        TextKey::Long(s)
    }
}

/// A contiguous run of rows inside one chunk.
struct Block {
    chunk: usize,
    /// First row in the chunk.
    lo: usize,
    /// Rows in the block.
    len: usize,
    /// Row number of `lo` in the whole column.
    start: usize,
}

fn blocks(chunk_lens: &[usize]) -> Vec<Block> {
    let mut out = Vec::new();
    let mut start = 0;
    for (chunk, &n) in chunk_lens.iter().enumerate() {
        let mut lo = 0;
        while lo < n {
            let len = BLOCK.min(n - lo);
            out.push(Block {
                chunk,
                lo,
                len,
                start,
            });
            lo += len;
            start += len;
        }
    }
    out
}

fn shard_of<K: Hash>(k: &K) -> u8 {
    // Middle bits of the hash: hashbrown takes the low bits for the bucket and the top
    // seven for its tags, so within a shard both still vary.
    ((FixedState::with_seed(0x5eed).hash_one(k) >> 32) as usize % SHARDS) as u8
}

/// Interns the keys of a chunked column: `(codes, first)` where `codes[i]` is the index
/// of row `i`'s key in order of first appearance (`u32::MAX` for no key) and `first[c]`
/// is the row where key `c` first appears.
fn intern_chunks<A, K, F>(chunks: &[A], chunk_lens: &[usize], key: F) -> (Vec<u32>, Vec<usize>)
where
    A: Sync,
    K: Hash + Eq + Copy + Send + Sync,
    F: Fn(&A, usize) -> Option<K> + Sync,
{
    let blocks = blocks(chunk_lens);
    // 1. Per block: the shard of each row.
    let shards: Vec<Vec<u8>> = blocks
        .par_iter()
        .map(|b| {
            let a = &chunks[b.chunk];
            (0..b.len)
                .map(|j| key(a, b.lo + j).map_or(NO_SHARD, |k| shard_of(&k)))
                .collect()
        })
        .collect();
    // 2. Per shard: local codes in order of first appearance within the shard. The keys
    //    are copied out in row order first (so the maps never read the column at random),
    //    a round of shards at a time to bound the memory this takes.
    let mut per_shard: Vec<(Vec<u32>, Vec<u32>)> = Vec::with_capacity(SHARDS);
    let mut split: Vec<Vec<usize>> = vec![vec![0; SHARDS]; blocks.len()];
    for round in 0..ROUNDS {
        let lo = round * SHARDS / ROUNDS;
        let hi = (round + 1) * SHARDS / ROUNDS;
        let lists: Vec<Vec<Vec<(K, u32)>>> = blocks
            .par_iter()
            .zip(&shards)
            .map(|(b, sh)| {
                let a = &chunks[b.chunk];
                let mut out: Vec<Vec<(K, u32)>> = vec![Vec::new(); hi - lo];
                for (j, &s) in sh.iter().enumerate() {
                    let s = s as usize;
                    if (lo..hi).contains(&s)
                        && let Some(k) = key(a, b.lo + j)
                    {
                        out[s - lo].push((k, (b.start + j) as u32));
                    }
                }
                out
            })
            .collect();
        for (counts, l) in split.iter_mut().zip(&lists) {
            for (s, v) in l.iter().enumerate() {
                counts[lo + s] = v.len();
            }
        }
        let done: Vec<(Vec<u32>, Vec<u32>)> = (lo..hi)
            .into_par_iter()
            .map(|s| {
                let mut map: HashMap<K, u32, FixedState> =
                    HashMap::with_hasher(FixedState::default());
                let total: usize = lists.iter().map(|l| l[s - lo].len()).sum();
                let mut local = Vec::with_capacity(total);
                let mut firsts: Vec<u32> = Vec::new();
                for l in &lists {
                    for &(k, r) in &l[s - lo] {
                        let code = *map.entry(k).or_insert_with(|| {
                            firsts.push(r);
                            (firsts.len() - 1) as u32
                        });
                        local.push(code);
                    }
                }
                (local, firsts)
            })
            .collect();
        per_shard.extend(done);
    }
    // 3. The global order: a key's code is the number of first appearances before its
    //    own, counted on a bitmap of the first rows (one bit per row).
    let n: usize = chunk_lens.iter().sum();
    let mut bits = vec![0u64; n.div_ceil(64)];
    for (_, f) in &per_shard {
        for &r in f {
            bits[r as usize / 64] |= 1 << (r % 64);
        }
    }
    let mut before = Vec::with_capacity(bits.len());
    let mut acc = 0u32;
    for w in &bits {
        before.push(acc);
        acc += w.count_ones();
    }
    let rank = |r: u32| -> u32 {
        let (w, b) = (r as usize / 64, r % 64);
        before[w] + (bits[w] & ((1u64 << b) - 1)).count_ones()
    };
    // Each shard's rows, now with global codes (in place of the local ones).
    let global: Vec<Vec<u32>> = per_shard
        .into_par_iter()
        .map(|(mut local, f)| {
            let g: Vec<u32> = f.iter().map(|&r| rank(r)).collect();
            local.iter_mut().for_each(|c| *c = g[*c as usize]);
            local
        })
        .collect();
    let mut first = Vec::with_capacity(acc as usize);
    for (w, &word) in bits.iter().enumerate() {
        let mut x = word;
        while x != 0 {
            first.push(w * 64 + x.trailing_zeros() as usize);
            x &= x - 1;
        }
    }
    // 4. Codes in row order: each block reads its rows' local codes from the shards, at
    //    the offset where the block's rows start in each shard.
    let mut offsets = vec![vec![0usize; SHARDS]; blocks.len()];
    let mut acc = vec![0usize; SHARDS];
    for (o, counts) in offsets.iter_mut().zip(&split) {
        o.copy_from_slice(&acc);
        for (a, c) in acc.iter_mut().zip(counts) {
            *a += c;
        }
    }
    let mut codes = vec![u32::MAX; n];
    let mut parts: Vec<&mut [u32]> = Vec::with_capacity(blocks.len());
    let mut rest: &mut [u32] = &mut codes;
    for b in &blocks {
        let (head, tail) = rest.split_at_mut(b.len);
        parts.push(head);
        rest = tail;
    }
    parts
        .into_par_iter()
        .zip(&shards)
        .zip(offsets)
        .for_each(|((out, shard), mut cursor)| {
            for (c, &s) in out.iter_mut().zip(shard) {
                if s != NO_SHARD {
                    let s = s as usize;
                    *c = global[s][cursor[s]];
                    cursor[s] += 1;
                }
            }
        });
    (codes, first)
}

/// `f` of every row of a chunked column (given as its arrays and their lengths), in row
/// order, computed in blocks on every core.
pub(crate) fn map_rows<A, T, F>(chunks: &[A], chunk_lens: &[usize], f: F) -> Vec<T>
where
    A: Sync,
    T: Send,
    F: Fn(&A, usize) -> T + Sync,
{
    blocks(chunk_lens)
        .par_iter()
        .flat_map_iter(|b| {
            let a = &chunks[b.chunk];
            (b.lo..b.lo + b.len).map(|j| f(a, j))
        })
        .collect()
}

/// Interns a text column with few distinct values (channels): the index of each row's
/// value among the names, numbered in order of first appearance; nulls are `null_name`.
pub(crate) fn intern_few(ca: &StringChunked, null_name: &str) -> (Vec<u32>, Vec<String>) {
    let chunks: Vec<_> = ca.downcast_iter().collect();
    let lens: Vec<usize> = chunks.iter().map(|a| a.len()).collect();
    // Per block: local codes and names (a linear search while the names are few).
    let parts: Vec<(Vec<u32>, Vec<&str>)> = blocks(&lens)
        .par_iter()
        .map(|b| {
            let a = &chunks[b.chunk];
            let mut names: Vec<&str> = Vec::new();
            let mut index: HashMap<&str, u32, FixedState> =
                HashMap::with_hasher(FixedState::default());
            let codes = (b.lo..b.lo + b.len)
                .map(|j| {
                    let name = a.get(j).unwrap_or(null_name);
                    let found = if names.len() <= 32 {
                        names.iter().position(|n| *n == name).map(|k| k as u32)
                    } else {
                        index.get(name).copied()
                    };
                    found.unwrap_or_else(|| {
                        let k = names.len() as u32;
                        names.push(name);
                        if names.len() > 32 {
                            if index.is_empty() {
                                index.extend(names.iter().enumerate().map(|(k, n)| (*n, k as u32)));
                            } else {
                                index.insert(name, k);
                            }
                        }
                        k
                    })
                })
                .collect();
            (codes, names)
        })
        .collect();
    // Merge the names in block order, then renumber each block's codes.
    let mut names: Vec<String> = Vec::new();
    let mut index: HashMap<&str, u32, FixedState> = HashMap::with_hasher(FixedState::default());
    let maps: Vec<Vec<u32>> = parts
        .iter()
        .map(|(_, local)| {
            local
                .iter()
                .map(|&n| {
                    *index.entry(n).or_insert_with(|| {
                        names.push(n.to_string());
                        (names.len() - 1) as u32
                    })
                })
                .collect()
        })
        .collect();
    let codes = parts
        .into_par_iter()
        .zip(maps)
        .flat_map_iter(|((codes, _), map)| codes.into_iter().map(move |c| map[c as usize]))
        .collect();
    (codes, names)
}

/// Interns customer ids; `u32::MAX` marks a null or blank id. Returns the code of each
/// row (customers numbered in order of first appearance) and each customer's first row.
pub(crate) fn intern(name: &str, c: &Column) -> Result<(Vec<u32>, Vec<usize>)> {
    let dt = c.dtype().clone();
    let (codes, first) = if matches!(dt, DataType::String) {
        let ca = c.str()?;
        let chunks: Vec<_> = ca.downcast_iter().collect();
        let lens: Vec<usize> = chunks.iter().map(|a| a.len()).collect();
        intern_chunks(&chunks, &lens, |a, j| {
            a.get(j).filter(|s| !s.trim().is_empty()).map(text_key)
        })
    } else if dt.is_integer() {
        let i = c.cast(&DataType::Int64)?;
        let ca = i.i64()?;
        let chunks: Vec<_> = ca.downcast_iter().collect();
        let lens: Vec<usize> = chunks.iter().map(|a| a.len()).collect();
        intern_chunks(&chunks, &lens, |a, j| a.get(j))
    } else {
        return Err(Error::WrongType {
            column: name.to_string(),
            found: dt.to_string(),
            expected: "text or integer customer ids".into(),
        });
    };
    if first.len() >= u32::MAX as usize {
        return Err(Error::invalid(
            "customer_id",
            "more than 4,294,967,294 customers",
        ));
    }
    Ok((codes, first))
}

/// The first (up to) 16 bytes of a text as a big-endian integer, zero-padded: comparing
/// two of these agrees with comparing the texts whenever they differ.
fn prefix(s: &str) -> u128 {
    let b = s.as_bytes();
    let n = b.len().min(16);
    let mut buf = [0u8; 16];
    buf[..n].copy_from_slice(&b[..n]);
    u128::from_be_bytes(buf)
}

/// The row order that sorts distinct, non-null customer ids ascending (text by bytes,
/// integers by value), as polars' sort would; `None` for another id type or when an id is
/// null (the caller then falls back to polars' sort).
fn id_order(ids: &Column) -> Result<Option<Vec<IdxSize>>> {
    let dt = ids.dtype();
    if ids.null_count() > 0 {
        return Ok(None);
    }
    let mut order: Vec<IdxSize> = (0..ids.len() as IdxSize).collect();
    if matches!(dt, DataType::String) {
        let ca = ids.str()?;
        let text: Vec<&str> = ca.iter().map(Option::unwrap_or_default).collect();
        let mut keyed: Vec<(u128, IdxSize)> = text
            .par_iter()
            .zip(order.par_iter())
            .map(|(s, &i)| (prefix(s), i))
            .collect();
        keyed.par_sort_unstable_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| text[a.1 as usize].cmp(text[b.1 as usize]))
                .then(a.1.cmp(&b.1))
        });
        order = keyed.into_iter().map(|(_, i)| i).collect();
    } else if dt.is_unsigned_integer() {
        let v = ids.cast(&DataType::UInt64)?;
        let v: Vec<u64> = v.u64()?.into_no_null_iter().collect();
        order.par_sort_unstable_by_key(|&i| (v[i as usize], i));
    } else if dt.is_integer() {
        let v = ids.cast(&DataType::Int64)?;
        let v: Vec<i64> = v.i64()?.into_no_null_iter().collect();
        order.par_sort_unstable_by_key(|&i| (v[i as usize], i));
    } else {
        return Ok(None);
    }
    Ok(Some(order))
}

/// Sorts a per-customer table by its `customer_id` column (distinct ids, so the order is
/// unique): one parallel sort of the ids, then one gather of every column.
pub(crate) fn sort_by_customer_id(df: DataFrame) -> Result<DataFrame> {
    match id_order(df.column("customer_id")?)? {
        Some(order) => {
            let idx = IdxCa::from_vec("".into(), order);
            Ok(df.take(&idx)?)
        }
        None => Ok(df.sort(["customer_id"], SortMultipleOptions::default())?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// The plain definition: one map, rows in order.
    fn naive(keys: &[Option<String>]) -> (Vec<u32>, Vec<usize>) {
        let mut map = std::collections::HashMap::new();
        let mut first = Vec::new();
        let codes = keys
            .iter()
            .enumerate()
            .map(|(i, k)| match k {
                Some(s) if !s.trim().is_empty() => *map.entry(s.clone()).or_insert_with(|| {
                    first.push(i);
                    (first.len() - 1) as u32
                }),
                _ => u32::MAX,
            })
            .collect();
        (codes, first)
    }

    /// Ids of every kind (short, exactly 15 and 16 bytes, long, with trailing NULs,
    /// blank, null), over several chunks and more rows than one block.
    fn text_ids(n: usize, seed: u64) -> Vec<Option<String>> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| {
                let c: u32 = rng.random_range(0..(n as u32 / 3).max(1));
                match rng.random_range(0..20) {
                    0 => None,
                    1 => Some("  ".to_string()),
                    2 => Some(format!("customer-with-a-long-id-{c:08}")),
                    3 => Some(format!("{c:015}")),
                    4 => Some(format!("{c:016}")),
                    5 => Some(format!("a{}", "\0".repeat((c % 3) as usize))),
                    _ => Some(format!("C{c:05}")),
                }
            })
            .collect()
    }

    fn chunked(keys: &[Option<String>], pieces: usize) -> Column {
        let size = keys.len().div_ceil(pieces);
        let mut s = Series::new("id".into(), &keys[..size.min(keys.len())]);
        for part in keys[size.min(keys.len())..].chunks(size) {
            s.append(&Series::new("id".into(), part)).unwrap();
        }
        s.into_column()
    }

    #[test]
    fn sharded_interning_equals_first_appearance_order() {
        for (n, pieces, seed) in [(1, 1, 1), (1000, 3, 2), (200_000, 1, 3), (300_000, 7, 4)] {
            let keys = text_ids(n, seed);
            let c = chunked(&keys, pieces);
            assert_eq!(intern("id", &c).unwrap(), naive(&keys), "n={n}");
        }
    }

    #[test]
    fn integer_ids_intern_by_value() {
        let keys: Vec<Option<i64>> = (0..150_000i64)
            .map(|i| {
                if i % 97 == 0 {
                    None
                } else {
                    Some((i * 7919) % 40_000 - 20_000)
                }
            })
            .collect();
        let c = Series::new("id".into(), &keys).into_column();
        let text: Vec<Option<String>> = keys.iter().map(|k| k.map(|x| x.to_string())).collect();
        assert_eq!(intern("id", &c).unwrap(), naive(&text));
    }

    #[test]
    fn id_sort_equals_polars_sort() {
        let mut keys: Vec<String> = text_ids(50_000, 5).into_iter().flatten().collect();
        keys.sort();
        keys.dedup();
        // Shuffle deterministically.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(6);
        for i in (1..keys.len()).rev() {
            keys.swap(i, rng.random_range(0..=i));
        }
        let vals: Vec<u32> = (0..keys.len() as u32).collect();
        let df = DataFrame::new_infer_height(vec![
            Column::new("customer_id".into(), &keys),
            Column::new("v".into(), vals),
        ])
        .unwrap();
        let want = df
            .sort(["customer_id"], SortMultipleOptions::default())
            .unwrap();
        assert!(sort_by_customer_id(df).unwrap().equals(&want));

        let ints: Vec<i64> = (0..10_000i64)
            .map(|i| (i * 7919) % 10_007 - 5_000)
            .collect();
        let df =
            DataFrame::new_infer_height(vec![Column::new("customer_id".into(), &ints)]).unwrap();
        let want = df
            .sort(["customer_id"], SortMultipleOptions::default())
            .unwrap();
        assert!(sort_by_customer_id(df).unwrap().equals(&want));
    }
}
