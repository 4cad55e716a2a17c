//! Exact score cuts of a column read in pieces: the order statistics that decide
//! [`quantile_scores`](super::quantile_scores), found without holding the column (for
//! RFM scores over summary part files).
//!
//! A value's score is `floor(bins * below / n) + 1`, `below` counting the values
//! strictly smaller. That is `1 + #{s in 1..bins : below >= ceil(s n / bins)}`, and
//! `below >= k` holds exactly when the value is greater than the k-th smallest value of
//! the column. So the scores of a whole column follow from `bins - 1` order statistics,
//! its cuts: a value scores one more than the number of cuts below it ([`score`]).
//!
//! The cuts are found by narrowing each one's rank 16 bits of an order-preserving key
//! at a time: a pass over the pieces counts the keys under each pending prefix in
//! 65,536 buckets (with each bucket's least and greatest key), the bucket holding the
//! rank becomes the new prefix, and a bucket whose keys are all equal gives the value.
//! At most four passes: small counts (purchases) take one, as each count has a bucket
//! of its own; days since the last purchase two (neighbouring days share a bucket's
//! 16 leading bits); continuous spend two to four. The memory is at most one 1.5 MB
//! histogram per cut, whatever the column's length.

use crate::error::{Error, Result};

/// Bits of the key a pass narrows.
const STEP: u32 = 16;
const BUCKETS: usize = 1 << STEP;

/// The search for one column's cuts (see the module documentation): [`CutSearch::pass`]
/// starts a pass over the pieces, [`CutSearch::finish`] narrows the cuts by it, until
/// [`CutSearch::cuts`] gives them.
#[derive(Debug, Clone)]
pub(crate) struct CutSearch {
    /// The column's length.
    n: u64,
    /// Passes finished (the key bits known of each pending cut: `STEP * level`).
    level: u32,
    targets: Vec<Target>,
}

/// One cut: its rank among the keys under `prefix`, and its value once found.
#[derive(Debug, Clone, Copy)]
struct Target {
    prefix: u64,
    rank: u64,
    value: Option<f64>,
}

/// One pass's counts: a histogram per pending prefix.
#[derive(Debug)]
pub(crate) struct CutPass {
    level: u32,
    seen: u64,
    histograms: Vec<(u64, Histogram)>,
}

#[derive(Debug)]
struct Histogram {
    count: Vec<u64>,
    least: Vec<u64>,
    greatest: Vec<u64>,
}

/// An order-preserving key of a number that is not NaN: `a < b` exactly when
/// `key(a) < key(b)` (-0.0 and 0.0, which compare equal, get one key).
fn key(v: f64) -> u64 {
    // -0.0 + 0.0 is 0.0.
    let bits = (v + 0.0).to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

/// The number whose [`key`] is `k`.
fn value_of(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

impl CutSearch {
    /// The search for the `bins - 1` cuts of a column of `n >= 1` values.
    pub(crate) fn new(n: u64, bins: u8) -> Self {
        let bins = u128::from(bins);
        let targets = (1..bins)
            .map(|s| {
                // k = ceil(s n / bins) is in 1..=n; the cut is the k-th smallest value.
                let k = (s * u128::from(n)).div_ceil(bins) as u64;
                Target {
                    prefix: 0,
                    rank: k.saturating_sub(1),
                    value: None,
                }
            })
            .collect();
        CutSearch {
            n,
            level: 0,
            targets,
        }
    }

    /// Whether a cut is still to be found (another pass is needed).
    pub(crate) fn pending(&self) -> bool {
        self.targets.iter().any(|t| t.value.is_none())
    }

    /// A pass over the column: feed every piece to [`CutPass::add`], then give it to
    /// [`CutSearch::finish`].
    pub(crate) fn pass(&self) -> CutPass {
        let mut histograms: Vec<(u64, Histogram)> = Vec::new();
        for t in self.targets.iter().filter(|t| t.value.is_none()) {
            if !histograms.iter().any(|(p, _)| *p == t.prefix) {
                histograms.push((
                    t.prefix,
                    Histogram {
                        count: vec![0; BUCKETS],
                        least: vec![u64::MAX; BUCKETS],
                        greatest: vec![0; BUCKETS],
                    },
                ));
            }
        }
        CutPass {
            level: self.level,
            seen: 0,
            histograms,
        }
    }

    /// Narrows the pending cuts by a finished pass.
    ///
    /// # Errors
    /// [`Error::Parse`] naming `source` when the pass did not see the column's `n`
    /// values (the pieces changed between passes).
    pub(crate) fn finish(&mut self, pass: CutPass, source: &str) -> Result<()> {
        let changed = |seen: u64| Error::Parse {
            what: source.to_string(),
            reason: format!(
                "the files changed while they were read: a later pass found {seen} values where the first found {}, or other values",
                self.n
            ),
        };
        if pass.seen != self.n || pass.level != self.level {
            return Err(changed(pass.seen));
        }
        for t in self.targets.iter_mut().filter(|t| t.value.is_none()) {
            // Every key under the prefix was counted and the rank is below their number,
            // unless the values changed since the pass that set them.
            let h = pass
                .histograms
                .iter()
                .find(|(p, _)| *p == t.prefix)
                .map(|(_, h)| h)
                .ok_or_else(|| changed(pass.seen))?;
            let mut below = 0u64;
            let b = (0..BUCKETS)
                .find(|&b| {
                    below += h.count[b];
                    below > t.rank
                })
                .ok_or_else(|| changed(pass.seen))?;
            t.rank -= below - h.count[b];
            // At the first pass the prefix is empty (0), so this is `b` alone.
            t.prefix = t.prefix << STEP | b as u64;
            // At the last pass a bucket is one key, so every cut is found by then.
            if h.least[b] == h.greatest[b] {
                t.value = Some(value_of(h.least[b]));
            }
        }
        self.level += 1;
        Ok(())
    }

    /// The cuts, in increasing order, once no cut is pending.
    pub(crate) fn cuts(&self) -> Vec<f64> {
        self.targets.iter().filter_map(|t| t.value).collect()
    }
}

impl CutPass {
    /// Counts one piece of the column (numbers, no NaN; the callers refuse NaN first).
    pub(crate) fn add(&mut self, values: &[f64]) {
        self.seen += values.len() as u64;
        let shift = 64 - STEP * (self.level + 1);
        for &v in values {
            let k = key(v);
            let prefix = if self.level == 0 {
                0
            } else {
                k >> (shift + STEP)
            };
            if let Some((_, h)) = self.histograms.iter_mut().find(|(p, _)| *p == prefix) {
                let b = ((k >> shift) as usize) & (BUCKETS - 1);
                h.count[b] += 1;
                h.least[b] = h.least[b].min(k);
                h.greatest[b] = h.greatest[b].max(k);
            }
        }
    }
}

/// The score of `v` given a column's cuts: one more than the number of cuts below it.
pub(crate) fn score(v: f64, cuts: &[f64]) -> u8 {
    1 + cuts.partition_point(|&c| c < v) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rfm::quantile_scores;

    /// The cuts of `values` fed in pieces of `piece` values; also the passes taken.
    fn cuts_in_pieces(values: &[f64], bins: u8, piece: usize) -> (Vec<f64>, u32) {
        let mut search = CutSearch::new(values.len() as u64, bins);
        let mut passes = 0;
        while search.pending() {
            let mut pass = search.pass();
            for chunk in values.chunks(piece) {
                pass.add(chunk);
            }
            search.finish(pass, "test").unwrap();
            passes += 1;
        }
        (search.cuts(), passes)
    }

    /// A small deterministic generator (the crate's models do not need `rand` here).
    fn lcg(seed: u64) -> impl FnMut() -> u64 {
        let mut s = seed;
        move || {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            s >> 11
        }
    }

    #[test]
    fn keys_keep_the_order_of_numbers() {
        let v = [
            f64::NEG_INFINITY,
            -1e300,
            -2.5,
            -f64::MIN_POSITIVE,
            0.0,
            5e-324,
            1.0,
            1.0 + f64::EPSILON,
            1e300,
            f64::INFINITY,
        ];
        for w in v.windows(2) {
            assert!(key(w[0]) < key(w[1]), "{w:?}");
        }
        for x in v {
            assert_eq!(value_of(key(x)).to_bits(), x.to_bits());
        }
        assert_eq!(key(-0.0), key(0.0));
    }

    #[test]
    fn scores_from_cuts_equal_quantile_scores_in_any_pieces() {
        let mut next = lcg(7);
        for case in 0..60u64 {
            let n = 1 + (next() % 3_000) as usize;
            let bins = 2 + (next() % 19) as u8;
            let values: Vec<f64> = (0..n)
                .map(|_| match case % 5 {
                    // Few distinct values (purchase counts, most of them 1).
                    0 => (1 + (next() % 7).saturating_sub(3)) as f64,
                    // Continuous spend.
                    1 => (next() % 1_000_000) as f64 / 97.0,
                    // Negated days since the last purchase (half days too), with both
                    // zeros.
                    2 => match next() % 4 {
                        0 => 0.0,
                        1 => -0.0,
                        _ => -((next() % 400) as f64) * 0.5,
                    },
                    // Every magnitude and sign.
                    3 => f64::from_bits((next() << 11) ^ next()),
                    _ => 42.0,
                })
                .filter(|v: &f64| !v.is_nan())
                .collect();
            if values.is_empty() {
                continue;
            }
            let want = quantile_scores(&values, bins).unwrap();
            let piece = 1 + (next() % 500) as usize;
            let (cuts, passes) = cuts_in_pieces(&values, bins, piece);
            assert_eq!(cuts.len(), usize::from(bins) - 1);
            assert!(passes <= 4, "{passes}");
            let got: Vec<u8> = values.iter().map(|&v| score(v, &cuts)).collect();
            assert_eq!(got, want, "case {case}, n {n}, bins {bins}");
        }
    }

    #[test]
    fn few_distinct_values_take_one_pass_and_one_value_scores_one() {
        let counts: Vec<f64> = (0..10_000).map(|i| f64::from(1 + i % 3 / 2)).collect();
        let (cuts, passes) = cuts_in_pieces(&counts, 5, 999);
        assert_eq!(passes, 1);
        assert_eq!(cuts, vec![1.0, 1.0, 1.0, 2.0]);
        assert_eq!(cuts_in_pieces(&[4.2], 5, 1).0, vec![4.2; 4]);
        assert_eq!(score(4.2, &[4.2; 4]), 1);
    }

    #[test]
    fn a_pass_over_other_pieces_is_refused() {
        let mut search = CutSearch::new(10, 5);
        let mut pass = search.pass();
        pass.add(&[1.0, 2.0, 3.0]);
        match search.finish(pass, "parts") {
            Err(Error::Parse { what, .. }) => assert_eq!(what, "parts"),
            other => panic!("{other:?}"),
        }
        // As many values as before but others: the second pass finds none under the
        // prefix the first chose, and says so instead of searching on.
        let first: Vec<f64> = (0..1_000).map(|i| 1.0 + f64::from(i) / 1e3).collect();
        let mut search = CutSearch::new(1_000, 5);
        let mut pass = search.pass();
        pass.add(&first);
        search.finish(pass, "parts").unwrap();
        assert!(search.pending());
        let mut pass = search.pass();
        pass.add(&vec![7.0; 1_000]);
        assert!(matches!(
            search.finish(pass, "parts"),
            Err(Error::Parse { .. })
        ));
    }
}
