//! Cluster-quality measures for choosing k, and the adjusted Rand index for comparing
//! two labelings. All run on the row-major scaled matrix; per-customer work runs on
//! rayon and sums are taken in a fixed order, so results do not depend on the thread
//! count.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Squared Euclidean distance (summed in feature order).
#[inline]
pub(crate) fn dist2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Index of the nearest centroid and the squared distance to it (ties: lowest index).
pub(crate) fn nearest(point: &[f64], centroids: &[Vec<f64>]) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    for (c, cent) in centroids.iter().enumerate() {
        let d = dist2(point, cent);
        if d < best.1 {
            best = (c, d);
        }
    }
    best
}

/// Within-cluster sum of squared distances to the centroids.
pub(crate) fn inertia(x: &[f64], d: usize, labels: &[usize], centroids: &[Vec<f64>]) -> f64 {
    let parts: Vec<f64> = x
        .par_chunks(d * 4096)
        .enumerate()
        .map(|(c, chunk)| {
            chunk
                .chunks(d)
                .enumerate()
                .map(|(k, p)| dist2(p, &centroids[labels[c * 4096 + k]]))
                .sum()
        })
        .collect();
    parts.iter().sum()
}

/// Calinski-Harabasz: between-cluster over within-cluster dispersion, each divided by
/// its degrees of freedom. Undefined (None) for k < 2 or k >= n.
pub(crate) fn calinski_harabasz(
    x: &[f64],
    d: usize,
    labels: &[usize],
    centroids: &[Vec<f64>],
    within: f64,
) -> Option<f64> {
    let n = x.len() / d;
    let k = centroids.len();
    if k < 2 || k >= n || within <= 0.0 {
        return None;
    }
    let mut mean = vec![0.0; d];
    for p in x.chunks(d) {
        for j in 0..d {
            mean[j] += p[j];
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let mut counts = vec![0usize; k];
    labels.iter().for_each(|&l| counts[l] += 1);
    let between: f64 = centroids
        .iter()
        .zip(&counts)
        .map(|(c, &m)| m as f64 * dist2(c, &mean))
        .sum();
    Some(between / (k - 1) as f64 / (within / (n - k) as f64))
}

/// Davies-Bouldin: the mean over clusters of the worst ratio of summed spreads to
/// centroid separation (lower is better). None for k < 2.
pub(crate) fn davies_bouldin(
    x: &[f64],
    d: usize,
    labels: &[usize],
    centroids: &[Vec<f64>],
) -> Option<f64> {
    let k = centroids.len();
    if k < 2 {
        return None;
    }
    let mut spread = vec![0.0; k];
    let mut counts = vec![0usize; k];
    for (p, &l) in x.chunks(d).zip(labels) {
        spread[l] += dist2(p, &centroids[l]).sqrt();
        counts[l] += 1;
    }
    for c in 0..k {
        if counts[c] > 0 {
            spread[c] /= counts[c] as f64;
        }
    }
    let mut total = 0.0;
    for i in 0..k {
        let worst = (0..k)
            .filter(|&j| j != i)
            .map(|j| {
                let sep = dist2(&centroids[i], &centroids[j]).sqrt();
                if sep > 0.0 {
                    (spread[i] + spread[j]) / sep
                } else {
                    f64::INFINITY
                }
            })
            .fold(0.0, f64::max);
        total += worst;
    }
    Some(total / k as f64)
}

/// The customers the silhouette is computed on: all of them when `n <= sample`, else a
/// seeded random sample of `sample` (ChaCha8, so the same on every machine), in order.
pub(crate) fn silhouette_sample(n: usize, sample: usize, seed: u64) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    if n <= sample {
        return idx;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    idx.shuffle(&mut rng);
    idx.truncate(sample);
    idx.sort_unstable();
    idx
}

/// Mean silhouette over the sampled customers (distances among the sample only, as
/// scikit-learn's `silhouette_score(sample_size=...)`). None for k < 2 or fewer than 2
/// clusters present in the sample. A customer alone in its cluster scores 0.
///
/// For each sampled customer in cluster A: a = mean distance to the other members of A
/// in the sample, b = the lowest mean distance to the members of another cluster present
/// in the sample, score = (b - a) / max(a, b) (0 when both are 0); the result is the mean
/// score.
///
/// Each unordered pair's distance is computed once. The sample is gathered once,
/// grouped by cluster and feature by feature, and cut into blocks of [`TILE`] customers
/// (fewer at the end of a cluster; more when the sample exceeds TILE * MAX_BLOCKS) that
/// never straddle two clusters. Each tile of blocks I <= J (in a diagonal tile, only the
/// pairs i < j) gives every row of I its distance sum to J's cluster and every column of
/// J its distance sum to I's cluster, in one vectorisable pass. The tiles run on rayon,
/// each into its own buffer; each customer then adds up its tiles' partial sums in block
/// order, and the scores are summed in a fixed order, so the result does not depend on
/// the thread count.
pub(crate) fn silhouette(
    x: &[f64],
    d: usize,
    labels: &[usize],
    k: usize,
    sample: &[usize],
) -> Option<f64> {
    silhouette_tiled(x, d, labels, k, sample, TILE, MAX_BLOCKS)
}

/// [`silhouette`] with blocks of at least `tile` customers and, when the sample is
/// larger than `tile * max_blocks`, of `sample.len() / max_blocks` (rounded up).
fn silhouette_tiled(
    x: &[f64],
    d: usize,
    labels: &[usize],
    k: usize,
    sample: &[usize],
    tile: usize,
    max_blocks: usize,
) -> Option<f64> {
    if k < 2 {
        return None;
    }
    let s = sample.len();
    let mut counts = vec![0usize; k];
    sample.iter().for_each(|&i| counts[labels[i]] += 1);
    if counts.iter().filter(|&&c| c > 0).count() < 2 {
        return None;
    }
    // Sample positions grouped by cluster (in sample order within a cluster).
    let mut starts = vec![0usize; k + 1];
    for c in 0..k {
        starts[c + 1] = starts[c] + counts[c];
    }
    let mut next = starts.clone();
    let mut grouped = vec![0usize; s];
    for &i in sample {
        let c = labels[i];
        grouped[next[c]] = i;
        next[c] += 1;
    }
    // Feature-major copy of the grouped sample: cols[f * s + t].
    let mut cols = vec![0.0; d * s];
    for (t, &i) in grouped.iter().enumerate() {
        for f in 0..d {
            cols[f * s + t] = x[i * d + f];
        }
    }
    // Blocks of grouped positions, each within one cluster. The block size grows with the
    // sample so that there are at most max_blocks + k of them (the tiles' buffers hold
    // about s * blocks values: 4 MB for 10,000 customers).
    let size = tile.max(s.div_ceil(max_blocks)).max(1);
    let blocks: Vec<Block> = (0..k)
        .flat_map(|c| {
            let end = starts[c + 1];
            (starts[c]..end).step_by(size).map(move |lo| Block {
                lo,
                hi: (lo + size).min(end),
                cluster: c,
            })
        })
        .collect();
    let nb = blocks.len();
    // Tiles (I, J), I <= J, row by row: tile (I, J) is at tile_index(nb, I, J).
    let pairs: Vec<(usize, usize)> = (0..nb).flat_map(|i| (i..nb).map(move |j| (i, j))).collect();
    let tiles: Vec<Tile> = pairs
        .par_iter()
        .map(|&(bi, bj)| tile_sums(&cols, s, d, &blocks[bi], &blocks[bj], bi == bj))
        .collect();
    // Per block: each customer's distance sums to every cluster (adding its tiles in block
    // order), then its score.
    let scores: Vec<f64> = (0..nb)
        .into_par_iter()
        .map(|bi| {
            let b = &blocks[bi];
            let own = b.cluster;
            let len = b.hi - b.lo;
            if counts[own] <= 1 {
                return 0.0;
            }
            let mut sums = vec![0.0; len * k];
            for (bj, other) in blocks.iter().enumerate() {
                let part: &[f64] = match bi.cmp(&bj) {
                    std::cmp::Ordering::Less => &tiles[tile_index(nb, bi, bj)].rows,
                    std::cmp::Ordering::Greater => &tiles[tile_index(nb, bj, bi)].cols,
                    std::cmp::Ordering::Equal => {
                        let t = &tiles[tile_index(nb, bi, bi)];
                        for (r, (&u, &v)) in t.rows.iter().zip(&t.cols).enumerate() {
                            sums[r * k + own] += u + v;
                        }
                        continue;
                    }
                };
                for (r, &v) in part.iter().enumerate() {
                    sums[r * k + other.cluster] += v;
                }
            }
            let mut total = 0.0;
            for row in sums.chunks(k) {
                let a = row[own] / (counts[own] - 1) as f64;
                let b = (0..k)
                    .filter(|&c| c != own && counts[c] > 0)
                    .map(|c| row[c] / counts[c] as f64)
                    .fold(f64::INFINITY, f64::min);
                let m = a.max(b);
                total += if m > 0.0 { (b - a) / m } else { 0.0 };
            }
            total
        })
        .collect();
    Some(scores.iter().sum::<f64>() / s as f64)
}

/// Customers per silhouette block (the side of a tile of pairs) for samples of up to
/// TILE * MAX_BLOCKS customers; larger samples get larger blocks instead of more.
const TILE: usize = 256;
/// See [`TILE`].
const MAX_BLOCKS: usize = 64;

/// Grouped sample positions `lo..hi`, all in `cluster`.
struct Block {
    lo: usize,
    hi: usize,
    cluster: usize,
}

/// Partial distance sums of one tile (I, J): `rows[r]` is the sum of the distances from
/// row `r` of block I to the tile's columns, `cols[c]` from column `c` of block J to the
/// tile's rows.
struct Tile {
    rows: Vec<f64>,
    cols: Vec<f64>,
}

/// Position of tile (i, j), i <= j, among the tiles listed row by row.
fn tile_index(nb: usize, i: usize, j: usize) -> usize {
    i * (2 * nb + 1 - i) / 2 + (j - i)
}

/// The distances between the customers of blocks `bi` and `bj` (on the diagonal, each
/// pair i < j once), summed by row and by column.
fn tile_sums(cols: &[f64], s: usize, d: usize, bi: &Block, bj: &Block, diagonal: bool) -> Tile {
    let mut rows = vec![0.0; bi.hi - bi.lo];
    let mut colsum = vec![0.0; bj.hi - bj.lo];
    let mut p = vec![0.0; d];
    for (r, row) in rows.iter_mut().enumerate() {
        let i = bi.lo + r;
        for (f, pf) in p.iter_mut().enumerate() {
            *pf = cols[f * s + i];
        }
        // On the diagonal, only the columns after the row.
        let first = if diagonal { r + 1 } else { 0 };
        *row = distance_sums(cols, s, &p, bj.lo + first, &mut colsum[first..]);
    }
    Tile { rows, cols: colsum }
}

/// Sum of the Euclidean distances from `p` to the gathered points `lo..lo + out.len()`
/// of the feature-major `cols` (stride `s`), in eight interleaved partial sums; each
/// distance is also added to its point's entry of `out`.
fn distance_sums(cols: &[f64], s: usize, p: &[f64], lo: usize, out: &mut [f64]) -> f64 {
    const L: usize = 8;
    let hi = lo + out.len();
    let mut acc = [0.0f64; L];
    let mut j = lo;
    while j + L <= hi {
        let mut t = [0.0f64; L];
        for (f, &pf) in p.iter().enumerate() {
            let c = &cols[f * s + j..f * s + j + L];
            for l in 0..L {
                let v = c[l] - pf;
                t[l] += v * v;
            }
        }
        let o = &mut out[j - lo..j - lo + L];
        for l in 0..L {
            let e = t[l].sqrt();
            acc[l] += e;
            o[l] += e;
        }
        j += L;
    }
    let mut tail = 0.0;
    for j in j..hi {
        let mut t = 0.0;
        for (f, &pf) in p.iter().enumerate() {
            let v = cols[f * s + j] - pf;
            t += v * v;
        }
        let e = t.sqrt();
        tail += e;
        out[j - lo] += e;
    }
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) + tail
}

/// Adjusted Rand index of two labelings of the same customers (1 = identical up to
/// renaming, about 0 = chance agreement).
///
/// # Example
///
/// ```
/// use patronage::segmentation::adjusted_rand_index;
/// assert_eq!(adjusted_rand_index(&[0, 0, 1, 1], &[1, 1, 0, 0]), 1.0);
/// ```
pub fn adjusted_rand_index(a: &[usize], b: &[usize]) -> f64 {
    let n = a.len().min(b.len());
    if n < 2 {
        return 1.0;
    }
    let ka = a.iter().take(n).max().map_or(0, |m| m + 1);
    let kb = b.iter().take(n).max().map_or(0, |m| m + 1);
    let mut table = vec![0f64; ka * kb];
    let (mut ra, mut rb) = (vec![0f64; ka], vec![0f64; kb]);
    for i in 0..n {
        table[a[i] * kb + b[i]] += 1.0;
        ra[a[i]] += 1.0;
        rb[b[i]] += 1.0;
    }
    let c2 = |v: f64| v * (v - 1.0) / 2.0;
    let index: f64 = table.iter().map(|&v| c2(v)).sum();
    let sa: f64 = ra.iter().map(|&v| c2(v)).sum();
    let sb: f64 = rb.iter().map(|&v| c2(v)).sum();
    let expected = sa * sb / c2(n as f64);
    let max = 0.5 * (sa + sb);
    if max == expected {
        return 1.0;
    }
    (index - expected) / (max - expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    /// The silhouette straight from its definition: every ordered pair, one distance at
    /// a time, each customer's sums in sample order.
    fn naive_silhouette(
        x: &[f64],
        d: usize,
        labels: &[usize],
        k: usize,
        sample: &[usize],
    ) -> Option<f64> {
        if k < 2 {
            return None;
        }
        let mut counts = vec![0usize; k];
        for &i in sample {
            counts[labels[i]] += 1;
        }
        if counts.iter().filter(|&&c| c > 0).count() < 2 {
            return None;
        }
        let mut total = 0.0;
        for &i in sample {
            let own = labels[i];
            if counts[own] == 1 {
                continue;
            }
            let mut sums = vec![0.0; k];
            for &j in sample {
                if j == i {
                    continue;
                }
                let mut dd = 0.0;
                for f in 0..d {
                    dd += (x[i * d + f] - x[j * d + f]).powi(2);
                }
                sums[labels[j]] += dd.sqrt();
            }
            let a = sums[own] / (counts[own] - 1) as f64;
            let mut b = f64::INFINITY;
            for c in 0..k {
                if c != own && counts[c] > 0 {
                    b = b.min(sums[c] / counts[c] as f64);
                }
            }
            let m = a.max(b);
            if m > 0.0 {
                total += (b - a) / m;
            }
        }
        Some(total / sample.len() as f64)
    }

    /// `n` points (row-major, `d` features) around `centres` random centres in
    /// [-5, 5]^d, with uniform noise of width 2, and the centres.
    fn blobs(n: usize, d: usize, centres: usize, seed: u64) -> (Vec<f64>, Vec<Vec<f64>>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let cents: Vec<Vec<f64>> = (0..centres)
            .map(|_| (0..d).map(|_| rng.random_range(-5.0..5.0)).collect())
            .collect();
        let mut x = Vec::with_capacity(n * d);
        for _ in 0..n {
            let c = rng.random_range(0..centres);
            for &m in &cents[c] {
                x.push(m + rng.random_range(-1.0..1.0));
            }
        }
        (x, cents)
    }

    fn nearest_labels(x: &[f64], d: usize, cents: &[Vec<f64>]) -> Vec<usize> {
        x.chunks(d).map(|p| nearest(p, cents).0).collect()
    }

    #[track_caller]
    fn assert_close(got: Option<f64>, want: Option<f64>) {
        match (got, want) {
            (Some(g), Some(w)) => assert!(
                (g - w).abs() <= 1e-12 * w.abs(),
                "silhouette {g} vs reference {w} (relative {:e})",
                ((g - w) / w).abs()
            ),
            _ => assert_eq!(got, want),
        }
    }

    #[test]
    fn silhouette_matches_the_naive_reference() {
        // 1,537 rows: clusters of several 256-row blocks and a partial block at each end.
        let (x, cents) = blobs(1537, 5, 8, 1);
        let all: Vec<usize> = (0..1537).collect();
        let sampled = silhouette_sample(1537, 1000, 7);
        for k in [2, 3, 5, 8] {
            let labels = nearest_labels(&x, 5, &cents[..k]);
            for sample in [&all, &sampled] {
                let want = naive_silhouette(&x, 5, &labels, k, sample);
                assert!(want.unwrap() > 0.05, "k = {k}: {want:?}");
                assert_close(silhouette(&x, 5, &labels, k, sample), want);
            }
        }
    }

    #[test]
    fn silhouette_matches_the_reference_with_small_and_growing_blocks() {
        let (x, cents) = blobs(203, 3, 6, 2);
        let sample = silhouette_sample(203, 150, 3);
        for k in [2, 4, 6] {
            let labels = nearest_labels(&x, 3, &cents[..k]);
            let want = naive_silhouette(&x, 3, &labels, k, &sample);
            // (tile, max_blocks): one-customer blocks, odd blocks, blocks grown to
            // 150 / 4 = 38, and one block per cluster.
            for (tile, max_blocks) in [(1, usize::MAX), (3, 1000), (7, 4), (1, 1), (256, 64)] {
                let got = silhouette_tiled(&x, 3, &labels, k, &sample, tile, max_blocks);
                assert_close(got, want);
            }
        }
    }

    #[test]
    fn silhouette_with_a_single_member_and_an_absent_cluster() {
        let (x, cents) = blobs(900, 4, 4, 4);
        let sample = silhouette_sample(900, 600, 5);
        let mut labels = nearest_labels(&x, 4, &cents);
        // Cluster 4: one sampled customer (and two left out of the sample); cluster 5:
        // only customers left out of the sample; cluster 6: nobody.
        let out: Vec<usize> = (0..900)
            .filter(|i| sample.binary_search(i).is_err())
            .collect();
        labels[sample[17]] = 4;
        labels[out[0]] = 4;
        labels[out[1]] = 4;
        labels[out[2]] = 5;
        labels[out[3]] = 5;
        let want = naive_silhouette(&x, 4, &labels, 7, &sample);
        assert!(want.unwrap() > 0.05);
        assert_close(silhouette(&x, 4, &labels, 7, &sample), want);
        for (tile, max_blocks) in [(1, usize::MAX), (5, 1000), (16, 8)] {
            assert_close(
                silhouette_tiled(&x, 4, &labels, 7, &sample, tile, max_blocks),
                want,
            );
        }
        // The sample holds cluster 4 once and clusters 5 and 6 not at all.
        let mut counts = [0usize; 7];
        sample.iter().for_each(|&i| counts[labels[i]] += 1);
        assert_eq!(counts[4..], [1, 0, 0]);
    }

    #[test]
    fn silhouette_with_duplicated_points() {
        let (base, cents) = blobs(300, 5, 3, 6);
        // Every point three times, and cluster 2's points all at one place.
        let mut x: Vec<f64> = base.chunks(5).flat_map(|p| p.repeat(3)).collect();
        let mut labels = nearest_labels(&x, 5, &cents);
        for (p, &l) in x.chunks_mut(5).zip(&labels) {
            if l == 2 {
                p.copy_from_slice(&cents[2]);
            }
        }
        let all: Vec<usize> = (0..900).collect();
        let sampled = silhouette_sample(900, 500, 8);
        for sample in [&all, &sampled] {
            let want = naive_silhouette(&x, 5, &labels, 3, sample);
            assert!(want.unwrap() > 0.05);
            assert_close(silhouette(&x, 5, &labels, 3, sample), want);
            assert_close(silhouette_tiled(&x, 5, &labels, 3, sample, 4, 1000), want);
        }
        // All points identical: every distance is 0, so every score is 0.
        x.iter_mut().for_each(|v| *v = 1.5);
        labels.iter_mut().enumerate().for_each(|(i, l)| *l = i % 3);
        assert_eq!(silhouette(&x, 5, &labels, 3, &all), Some(0.0));
        assert_eq!(naive_silhouette(&x, 5, &labels, 3, &all), Some(0.0));
    }

    #[test]
    fn silhouette_of_tiny_samples() {
        let x = [0.0, 0.0, 1.0, 0.0, 3.0, 0.0];
        // Two rows, one per cluster: both alone, so both score 0.
        assert_eq!(silhouette(&x, 2, &[0, 1], 2, &[0, 1]), Some(0.0));
        // Two rows in one cluster, or k = 1: undefined.
        assert_eq!(silhouette(&x, 2, &[1, 1], 2, &[0, 1]), None);
        assert_eq!(silhouette(&x, 2, &[0, 0], 1, &[0, 1]), None);
        assert_eq!(silhouette(&x, 2, &[0, 1, 0], 2, &[]), None);
        // Three rows: (0,0), (1,0) in cluster 0, (3,0) alone in cluster 1. Row 0: a = 1,
        // b = 3; row 1: a = 1, b = 2; row 2 scores 0.
        let want = (2.0 / 3.0 + 1.0 / 2.0) / 3.0;
        for labels in [[0, 0, 1], [1, 1, 0]] {
            let got = silhouette(&x, 2, &labels, 2, &[0, 1, 2]).unwrap();
            assert!((got - want).abs() <= 1e-15, "{got} vs {want}");
            assert_close(Some(got), naive_silhouette(&x, 2, &labels, 2, &[0, 1, 2]));
        }
        // Three rows, a cluster between the other's two members.
        assert_close(
            silhouette(&x, 2, &[0, 1, 0], 3, &[0, 1, 2]),
            naive_silhouette(&x, 2, &[0, 1, 0], 3, &[0, 1, 2]),
        );
    }

    #[test]
    fn silhouette_is_bit_identical_on_one_and_two_threads() {
        let (x, cents) = blobs(6000, 5, 8, 9);
        let sample = silhouette_sample(6000, 4000, 10);
        let run = |threads: usize| -> Vec<u64> {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| {
                    (2..=8)
                        .map(|k| {
                            let labels = nearest_labels(&x, 5, &cents[..k]);
                            silhouette(&x, 5, &labels, k, &sample).unwrap().to_bits()
                        })
                        .collect()
                })
        };
        let one = run(1);
        assert_eq!(one, run(2));
        assert_eq!(one, run(3));
    }
}
