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
/// The sample is gathered once, grouped by cluster, feature by feature (so each
/// customer's distance sum to a cluster is one contiguous, vectorisable loop); each sum
/// is taken in a fixed order, so the result does not depend on the thread count.
pub(crate) fn silhouette(
    x: &[f64],
    d: usize,
    labels: &[usize],
    k: usize,
    sample: &[usize],
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
    let scores: Vec<f64> = sample
        .par_iter()
        .map(|&i| {
            let p = &x[i * d..(i + 1) * d];
            let own = labels[i];
            if counts[own] <= 1 {
                return 0.0;
            }
            // The customer's own distance (0) is part of its cluster's sum.
            let sum = |c: usize| distance_sum(&cols, s, p, starts[c], starts[c + 1]);
            let a = sum(own) / (counts[own] - 1) as f64;
            let b = (0..k)
                .filter(|&c| c != own && counts[c] > 0)
                .map(|c| sum(c) / counts[c] as f64)
                .fold(f64::INFINITY, f64::min);
            let m = a.max(b);
            if m > 0.0 { (b - a) / m } else { 0.0 }
        })
        .collect();
    Some(scores.iter().sum::<f64>() / scores.len() as f64)
}

/// Sum of the Euclidean distances from `p` to the gathered points `lo..hi` of the
/// feature-major `cols` (stride `s`), in four interleaved partial sums.
fn distance_sum(cols: &[f64], s: usize, p: &[f64], lo: usize, hi: usize) -> f64 {
    const L: usize = 4;
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
        for l in 0..L {
            acc[l] += t[l].sqrt();
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
        tail += t.sqrt();
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
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
