//! Native k-means over the contiguous row-major scaled matrix (n rows x d features):
//! greedy k-means++ starts, then Lloyd's iterations accelerated by Hamerly's bounds.
//!
//! **Same fixed point as Lloyd.** Hamerly's algorithm keeps, per row, an upper bound on
//! the distance to its centroid and a lower bound on the distance to the second nearest
//! one. A row keeps its centroid without computing distances only when the bounds prove,
//! with a relative margin far above rounding error, that no other centroid is nearer;
//! otherwise the distance to every centroid is computed and ties go to the lowest index,
//! exactly as [`super::metrics::nearest`] decides. Every iteration therefore makes the
//! assignment Lloyd's algorithm makes, and the centroids are recomputed from full sums.
//!
//! **Deterministic whatever the thread count.** Rows are processed in fixed chunks of
//! [`CHUNK`] rows on rayon; each chunk's sums are taken in row order and the chunk sums
//! are combined in chunk order. The random draws (first centre, k-means++ candidates)
//! come from a seeded ChaCha8 stream per run and never depend on scheduling.
//!
//! **Blocked, branch-free inner loops.** When the feature count is one of 1..=8 (known at
//! compile time) the k-means++ scoring passes and the assignment steps work on blocks of
//! [`RB`] rows copied feature by feature, so that the lanes of the vector instructions
//! run across rows: distances, the nearest and second-nearest search and the square
//! roots vectorise without padding the centres. In a chunk where few rows fail their
//! bounds, the bound tests, the tightening of the failing rows and the full scans of
//! the rows that still fail are three passes over lists of rows, without unpredictable
//! branches. Every distance is the same operations in the same order as [`dist2`] and
//! centres are visited in index order, so the results are bit-identical to the
//! row-by-row code kept for other feature counts (tested).
//!
//! **Convergence** as scikit-learn's: stop when an iteration changes no assignment, or
//! when the summed squared centroid shift is at most `tol` times the mean per-feature
//! variance of the data, or after `max_iterations`; then one last assignment step makes
//! the labels those of the returned centroids. An empty cluster is re-seeded at the row
//! farthest from its centroid (ties: lowest row), as scikit-learn does.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::metrics::dist2;
use crate::error::{Error, Result};

/// Rows per parallel work unit. Fixed (not derived from the thread count) so that sums
/// are grouped the same way on any number of threads; equal to the chunk of
/// [`super::metrics::inertia`], so the inertia of a fit is bit-identical to it.
pub(crate) const CHUNK: usize = 4096;

/// Relative margin on Hamerly's skip test: a row skips the distance computations only
/// when its upper bound is below its lower bound by more than this fraction. Rounding
/// in the bounds is of the order of 1e-15 relative; the margin makes sure a near-tie is
/// always settled by computing the distances, as Lloyd's algorithm does.
const MARGIN: f64 = 1e-9;

/// Settings of one k-means fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Params {
    /// Number of clusters.
    pub k: usize,
    /// Independent k-means++ starts; the fit with the lowest inertia is kept.
    pub n_runs: usize,
    /// Iteration budget per run.
    pub max_iterations: u64,
    /// Convergence tolerance relative to the mean per-feature variance (1e-4 in
    /// scikit-learn).
    pub tol: f64,
    /// Seed of the random starts.
    pub seed: u64,
}

/// A fitted k-means.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fit {
    /// Centroids, one row of d values each.
    pub centroids: Vec<Vec<f64>>,
    /// Nearest centroid of each row (as [`super::metrics::nearest`] decides).
    pub labels: Vec<usize>,
    /// Sum of squared distances of the rows to their centroids.
    pub inertia: f64,
    /// Lloyd iterations of the kept run.
    pub n_iter: u64,
}

/// Fits k-means: `n_runs` greedy k-means++ starts, each iterated to convergence; the run
/// with the lowest inertia is kept (ties: the earlier run).
///
/// # Errors
///
/// [`Error::InvalidOption`] when d = 0, the matrix is not n x d, there are no rows,
/// k = 0 or k > n, no runs or no iterations, or a value is not finite.
pub(crate) fn fit(x: &[f64], d: usize, params: &Params) -> Result<Fit> {
    check(x, d, params)?;
    let k = params.k;
    let tol = params.tol * mean_variance(x, d);
    let mut best: Option<Fit> = None;
    for run in 0..params.n_runs {
        let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
        rng.set_stream(run as u64);
        // The distance loops specialised for small numbers of features (unrolled).
        let f = match d {
            1 => run_once::<1>(x, d, k, &mut rng, params.max_iterations, tol),
            2 => run_once::<2>(x, d, k, &mut rng, params.max_iterations, tol),
            3 => run_once::<3>(x, d, k, &mut rng, params.max_iterations, tol),
            4 => run_once::<4>(x, d, k, &mut rng, params.max_iterations, tol),
            5 => run_once::<5>(x, d, k, &mut rng, params.max_iterations, tol),
            6 => run_once::<6>(x, d, k, &mut rng, params.max_iterations, tol),
            7 => run_once::<7>(x, d, k, &mut rng, params.max_iterations, tol),
            8 => run_once::<8>(x, d, k, &mut rng, params.max_iterations, tol),
            _ => run_once::<0>(x, d, k, &mut rng, params.max_iterations, tol),
        };
        if best.as_ref().is_none_or(|b| f.inertia < b.inertia) {
            best = Some(f);
        }
    }
    best.ok_or_else(|| Error::invalid("segmentation.n_runs", "must be at least 1"))
}

/// Lloyd's iterations on all of `x` from `centroids` (found on a sample of its rows): the
/// full-data step of the sampled segmentation. The tolerance is `tol` relative to the
/// mean per-feature variance of `x`, as in [`fit`].
///
/// # Errors
///
/// [`Error::InvalidOption`] as [`fit`] for a matrix that is not n x d, no rows, no
/// centroid, a centroid of another width, no iterations or a value that is not finite.
pub(crate) fn refine(
    x: &[f64],
    d: usize,
    centroids: &[Vec<f64>],
    max_iterations: u64,
    tol: f64,
) -> Result<Fit> {
    let k = centroids.len();
    check(
        x,
        d,
        &Params {
            k,
            n_runs: 1,
            max_iterations,
            tol,
            seed: 0,
        },
    )?;
    if centroids.iter().any(|c| c.len() != d) {
        return Err(Error::invalid(
            "segmentation.features",
            format!("centroids of {d} features expected"),
        ));
    }
    let tol = tol * mean_variance(x, d);
    let centers: Vec<f64> = centroids.concat();
    Ok(match d {
        1 => lloyd_hamerly::<1>(x, d, k, centers, max_iterations, tol),
        2 => lloyd_hamerly::<2>(x, d, k, centers, max_iterations, tol),
        3 => lloyd_hamerly::<3>(x, d, k, centers, max_iterations, tol),
        4 => lloyd_hamerly::<4>(x, d, k, centers, max_iterations, tol),
        5 => lloyd_hamerly::<5>(x, d, k, centers, max_iterations, tol),
        6 => lloyd_hamerly::<6>(x, d, k, centers, max_iterations, tol),
        7 => lloyd_hamerly::<7>(x, d, k, centers, max_iterations, tol),
        8 => lloyd_hamerly::<8>(x, d, k, centers, max_iterations, tol),
        _ => lloyd_hamerly::<0>(x, d, k, centers, max_iterations, tol),
    })
}

/// The checks of [`fit`] and [`refine`], before any work.
fn check(x: &[f64], d: usize, params: &Params) -> Result<()> {
    if d == 0 || !x.len().is_multiple_of(d) || x.is_empty() {
        return Err(Error::invalid(
            "segmentation.features",
            format!(
                "{} values are not a matrix of n rows x {d} features",
                x.len()
            ),
        ));
    }
    let n = x.len() / d;
    let k = params.k;
    if k == 0 || k > n {
        return Err(Error::invalid(
            "segmentation.k",
            format!("{k} clusters for {n} rows: k must be between 1 and the number of rows"),
        ));
    }
    if params.n_runs == 0 {
        return Err(Error::invalid("segmentation.n_runs", "must be at least 1"));
    }
    if params.max_iterations == 0 {
        return Err(Error::invalid(
            "segmentation.max_iterations",
            "must be at least 1",
        ));
    }
    if x.par_iter().any(|v| !v.is_finite()) {
        return Err(Error::invalid(
            "segmentation.features",
            "values must be finite",
        ));
    }
    Ok(())
}

fn run_once<const D: usize>(
    x: &[f64],
    d: usize,
    k: usize,
    rng: &mut ChaCha8Rng,
    max_iterations: u64,
    tol: f64,
) -> Fit {
    let centers = kmeans_plus_plus::<D>(x, d, k, rng);
    lloyd_hamerly::<D>(x, d, k, centers, max_iterations, tol)
}

/// Squared distance with the feature count fixed at compile time (`D > 0`) or not
/// (`D = 0`); the same operations in the same order as [`dist2`], so the same bits.
#[inline(always)]
fn dist<const D: usize>(a: &[f64], b: &[f64]) -> f64 {
    if D > 0 {
        a[..D]
            .iter()
            .zip(&b[..D])
            .map(|(x, y)| (x - y) * (x - y))
            .sum()
    } else {
        dist2(a, b)
    }
}

/// Mean over the features of the population variance (two passes, chunked sums).
fn mean_variance(x: &[f64], d: usize) -> f64 {
    let n = (x.len() / d) as f64;
    let column_sums = |f: &(dyn Fn(usize, f64) -> f64 + Sync)| -> Vec<f64> {
        let parts: Vec<Vec<f64>> = x
            .par_chunks(CHUNK * d)
            .map(|chunk| {
                let mut s = vec![0.0; d];
                for p in chunk.chunks_exact(d) {
                    for j in 0..d {
                        s[j] += f(j, p[j]);
                    }
                }
                s
            })
            .collect();
        let mut s = vec![0.0; d];
        for part in &parts {
            for j in 0..d {
                s[j] += part[j];
            }
        }
        s
    };
    let mean: Vec<f64> = column_sums(&|_, v| v).iter().map(|s| s / n).collect();
    let var = column_sums(&|j, v| (v - mean[j]) * (v - mean[j]));
    var.iter().map(|s| s / n).sum::<f64>() / d as f64
}

fn row(x: &[f64], d: usize, i: usize) -> &[f64] {
    &x[i * d..(i + 1) * d]
}

/// The smaller of a row's current closest squared distance and its squared distance to
/// a new centre, computed the same way everywhere so that sums agree to the bit.
#[inline(always)]
fn fold<const D: usize>(closest: f64, x: &[f64], centre: &[f64]) -> f64 {
    let v = dist::<D>(x, centre);
    if v < closest { v } else { closest }
}

/// Lanes of the blocked distance scans (a multiple of the vector width).
const LANES: usize = 4;

/// Centres laid out feature by feature (`t[j * kp + c]`), their count padded to a
/// multiple of [`LANES`], so that one row's distances to all of them vectorise.
struct Transposed {
    t: Vec<f64>,
    kp: usize,
}

fn transpose(centers: &[f64], d: usize) -> Transposed {
    let k = centers.len() / d;
    let kp = k.div_ceil(LANES) * LANES;
    let mut t = vec![0.0; d * kp];
    for (c, cent) in centers.chunks_exact(d).enumerate() {
        for j in 0..d {
            t[j * kp + c] = cent[j];
        }
    }
    Transposed { t, kp }
}

/// Squared distances from `p` to every (padded) centre into `out`: for each centre the
/// same operations in the same order as [`dist2`], so the same bits.
#[inline(always)]
fn distances<const D: usize>(p: &[f64], ct: &Transposed, out: &mut [f64]) {
    let d = if D > 0 { D } else { p.len() };
    let kp = ct.kp;
    for b in (0..kp).step_by(LANES) {
        let mut acc = [0.0f64; LANES];
        for (j, &pj) in p[..d].iter().enumerate() {
            let c = &ct.t[j * kp + b..j * kp + b + LANES];
            for l in 0..LANES {
                let v = pj - c[l];
                acc[l] += v * v;
            }
        }
        out[b..b + LANES].copy_from_slice(&acc);
    }
}

/// Greedy k-means++ (as scikit-learn's): the first centre is a uniformly drawn row;
/// each further centre is the best, by the resulting potential (sum of squared
/// distances to the nearest centre), of 2 + ln k rows drawn with probability
/// proportional to the squared distance to the nearest centre so far.
///
/// One pass over the rows per centre: the pass that scores the candidates also folds
/// the previous winner into the closest distances; the draws only need, per chunk, the
/// winner's potential (kept from the scoring pass) and the chunk's rows.
fn kmeans_plus_plus<const D: usize>(
    x: &[f64],
    d: usize,
    k: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<f64> {
    let n = x.len() / d;
    let trials = 2 + (k as f64).ln() as usize;
    let mut centers = Vec::with_capacity(k * d);
    let first = rng.random_range(0..n);
    centers.extend_from_slice(row(x, d, first));
    let mut closest = vec![0.0; n];
    let c0 = row(x, d, first);
    let mut partials: Vec<f64> = x
        .par_chunks(CHUNK * d)
        .zip(closest.par_chunks_mut(CHUNK))
        .map(|(xc, cc)| {
            let mut s = 0.0;
            for (p, c) in xc.chunks_exact(d).zip(cc.iter_mut()) {
                *c = dist::<D>(p, c0);
                s += *c;
            }
            s
        })
        .collect();
    // The winner of the previous round, not yet folded into `closest`.
    let mut pending: Option<usize> = None;
    for _ in 1..k {
        let pot: f64 = partials.iter().sum();
        let candidates: Vec<usize> = (0..trials)
            .map(|_| {
                if pot > 0.0 {
                    let r = rng.random::<f64>() * pot;
                    draw::<D>(x, d, &closest, &partials, pending, r)
                } else {
                    // Every row sits on a centre: any row will do.
                    rng.random_range(0..n)
                }
            })
            .collect();
        let pending_row: Option<Vec<f64>> = pending.map(|i| row(x, d, i).to_vec());
        let cand_rows: Vec<f64> = candidates
            .iter()
            .flat_map(|&i| row(x, d, i).iter().copied())
            .collect();
        let ct = transpose(&cand_rows, d);
        let scores: Vec<Vec<f64>> = x
            .par_chunks(CHUNK * d)
            .zip(closest.par_chunks_mut(CHUNK))
            .map(|(xc, cc)| {
                if D > 0 {
                    return score_chunk::<D>(xc, cc, pending_row.as_deref(), &cand_rows, trials);
                }
                let mut s = vec![0.0; trials];
                let mut dist_to = vec![0.0; ct.kp];
                for (p, c) in xc.chunks_exact(d).zip(cc.iter_mut()) {
                    if let Some(q) = &pending_row {
                        *c = fold::<D>(*c, p, q);
                    }
                    distances::<D>(p, &ct, &mut dist_to);
                    for (t, &v) in dist_to[..trials].iter().enumerate() {
                        // As `fold`: the smaller of the two, the closest on ties.
                        s[t] += if v < *c { v } else { *c };
                    }
                }
                s
            })
            .collect();
        let mut best = (0, f64::INFINITY);
        for t in 0..trials {
            let total: f64 = scores.iter().map(|s| s[t]).sum();
            if total < best.1 {
                best = (t, total);
            }
        }
        partials = scores.iter().map(|s| s[best.0]).collect();
        pending = Some(candidates[best.0]);
        centers.extend_from_slice(row(x, d, candidates[best.0]));
    }
    centers
}

/// One chunk of a k-means++ scoring pass, [`RB`] rows at a time with the lanes across
/// rows: folds the `pending` centre into the rows' closest distances and returns, per
/// candidate, the sum over the rows (in row order) of the closest distance with the
/// candidate folded in. The same operations in the same order as the row-by-row pass.
#[inline(always)]
fn score_chunk<const D: usize>(
    xc: &[f64],
    closest: &mut [f64],
    pending: Option<&[f64]>,
    cand_rows: &[f64],
    trials: usize,
) -> Vec<f64> {
    let mut s = vec![0.0; trials];
    for (xb, cb) in xc.chunks(RB * D).zip(closest.chunks_mut(RB)) {
        let m = cb.len();
        let mut xs = [[0.0f64; RB]; D];
        for (r, p) in xb.chunks_exact(D).enumerate() {
            for j in 0..D {
                xs[j][r] = p[j];
            }
        }
        let mut near = [0.0f64; RB];
        near[..m].copy_from_slice(cb);
        if let Some(q) = pending {
            let v = block_distances::<D>(&xs, &q[..D]);
            for r in 0..RB {
                near[r] = if v[r] < near[r] { v[r] } else { near[r] };
            }
            cb.copy_from_slice(&near[..m]);
        }
        for (t, st) in s.iter_mut().enumerate() {
            let v = block_distances::<D>(&xs, &cand_rows[t * D..(t + 1) * D]);
            for r in 0..m {
                // As `fold`: the smaller of the two, the closest on ties.
                *st += if v[r] < near[r] { v[r] } else { near[r] };
            }
        }
    }
    s
}

/// Squared distances from a block of rows (feature-major) to one point, the same
/// operations in the same order as [`dist2`].
#[inline(always)]
fn block_distances<const D: usize>(xs: &[[f64; RB]; D], q: &[f64]) -> [f64; RB] {
    let mut v = [0.0f64; RB];
    for j in 0..D {
        let qj = q[j];
        for r in 0..RB {
            let t = xs[j][r] - qj;
            v[r] += t * t;
        }
    }
    v
}

/// The row at which the running sum of weights first exceeds `r`, where a row's weight
/// is its closest squared distance with the `pending` centre folded in. `partials` are
/// the chunk sums of those weights, taken in row order, so the scan inside the chosen
/// chunk reproduces them exactly.
fn draw<const D: usize>(
    x: &[f64],
    d: usize,
    closest: &[f64],
    partials: &[f64],
    pending: Option<usize>,
    r: f64,
) -> usize {
    let weight = |i: usize| match pending {
        Some(q) => fold::<D>(closest[i], row(x, d, i), row(x, d, q)),
        None => closest[i],
    };
    let mut rest = r;
    let mut last_positive = None;
    for (ch, &s) in partials.iter().enumerate() {
        if s > 0.0 {
            last_positive = Some(ch);
        }
        if rest < s {
            let mut run = 0.0;
            let start = ch * CHUNK;
            let end = (start + CHUNK).min(closest.len());
            for i in start..end {
                run += weight(i);
                if run > rest {
                    return i;
                }
            }
        }
        rest -= s;
    }
    // Rounding pushed `r` past the total: the last row with a positive weight.
    let ch = last_positive.unwrap_or(0);
    let start = ch * CHUNK;
    let end = (start + CHUNK).min(closest.len());
    (start..end)
        .rev()
        .find(|&i| weight(i) > 0.0)
        .unwrap_or(start)
}

/// Half the distance from each centre to its nearest other centre (infinite for k = 1).
fn half_separation(centers: &[f64], d: usize, k: usize) -> Vec<f64> {
    (0..k)
        .map(|a| {
            let ca = &centers[a * d..(a + 1) * d];
            let min = (0..k)
                .filter(|&c| c != a)
                .map(|c| dist2(ca, &centers[c * d..(c + 1) * d]))
                .fold(f64::INFINITY, f64::min);
            0.5 * min.sqrt()
        })
        .collect()
}

/// Per-row state of Hamerly's algorithm, stored so that an iteration in which a row's
/// bounds still hold only reads it: the upper bound on the distance to its centroid is
/// `upper + moved[label]` and the lower bound on the distance to any other centroid is
/// `lower - moved_max`, where `moved[c]` is the total distance centroid c has travelled
/// and `moved_max` the sum over iterations of the largest move. `looked[chunk]` counts
/// the rows of each chunk whose bounds failed in the last step.
struct Bounds {
    labels: Vec<u32>,
    upper: Vec<f64>,
    lower: Vec<f64>,
    moved: Vec<f64>,
    moved_max: f64,
    looked: Vec<usize>,
}

/// A chunk in which at least this fraction (1 / FULL_SCAN) of the rows failed their
/// bounds in the last step is scanned in full (every distance of every row, without
/// branches), which is cheaper than testing and then scanning most rows one by one.
const FULL_SCAN: usize = 3;

/// Sums and counts of the rows of each cluster, per chunk of rows. A chunk's sums are
/// recomputed from its rows (in row order) when most of its rows were looked at anyway,
/// else updated with the rows that changed cluster (in row order); the cluster sums are
/// the chunk sums added in chunk order.
struct ChunkSums {
    sums: Vec<f64>,
    counts: Vec<usize>,
}

/// How an assignment step treats the chunk sums.
#[derive(Clone, Copy, PartialEq)]
enum SumUpdate {
    /// Leave them (the last step, which only labels and measures).
    Keep,
    /// Recompute every chunk from its rows.
    Exact,
    /// Recompute a chunk whose rows were mostly looked at, else apply the changes.
    Incremental,
}

/// One assignment step against `centers`, bringing the chunk sums up to date as
/// `update` says; with `inertia`, every row's distance to its centroid is computed and
/// the chunk sums of squared distances are returned. Returns the number of rows that
/// changed cluster and the inertia parts.
fn assign<const D: usize>(
    x: &[f64],
    d: usize,
    centers: &[f64],
    bounds: &mut Bounds,
    sums: &mut ChunkSums,
    update: SumUpdate,
    inertia: bool,
) -> (usize, Vec<f64>) {
    let k = centers.len() / d;
    let half = half_separation(centers, d, k);
    let ct = transpose(centers, d);
    let Bounds {
        labels,
        upper,
        lower,
        moved,
        moved_max,
        looked,
    } = bounds;
    let (moved, moved_max) = (&*moved, *moved_max);
    // Rounding in the bounds is relative to the distances and the travelled totals.
    let scale = moved.iter().fold(moved_max, |a, &b| a.max(b));
    let parts: Vec<(usize, f64)> = x
        .par_chunks(CHUNK * d)
        .zip(labels.par_chunks_mut(CHUNK))
        .zip(upper.par_chunks_mut(CHUNK))
        .zip(lower.par_chunks_mut(CHUNK))
        .zip(sums.sums.par_chunks_mut(k * d))
        .zip(sums.counts.par_chunks_mut(k))
        .zip(looked.par_iter_mut())
        .map(|((((((xc, lab), up), lo), s), cnt), looked)| {
            let rows = lab.len();
            let mut changed: Vec<(u32, u32, u32)> = Vec::new();
            let mut inertia_part = 0.0;
            let mut dist_to = vec![0.0; ct.kp];
            let full = *looked * FULL_SCAN >= rows;
            let mut now_looked = 0;
            // The vectorised paths (a known feature count, no inertia wanted).
            let fast = D > 0 && !inertia;
            if fast {
                let mut st = ChunkState {
                    lab: &mut *lab,
                    up: &mut *up,
                    lo: &mut *lo,
                    moved,
                    moved_max,
                    half: &half,
                    scale,
                };
                now_looked = if full {
                    st.full::<D>(xc, centers, k, &mut changed)
                } else {
                    st.sparse::<D>(xc, centers, k, &mut changed)
                };
            }
            for (i, p) in xc.chunks_exact(d).enumerate() {
                if fast {
                    break;
                }
                let a = lab[i] as usize;
                if !full {
                    let u = up[i] + moved[a];
                    let l = lo[i] - moved_max;
                    let m = half[a].max(l);
                    let bound = m - MARGIN * (m.abs() + scale);
                    if !inertia && u < bound {
                        continue;
                    }
                    let own = dist::<D>(p, &centers[a * d..(a + 1) * d]);
                    let u = own.sqrt();
                    if u < bound {
                        up[i] = u - moved[a];
                        inertia_part += own;
                        continue;
                    }
                }
                // Distances to every centre, ties to the lowest index (as `nearest`).
                distances::<D>(p, &ct, &mut dist_to);
                if full {
                    // Count the rows whose bounds would have failed.
                    let u = dist_to[a].sqrt();
                    let m = half[a].max(lo[i] - moved_max);
                    if u >= m - MARGIN * (m.abs() + scale) {
                        now_looked += 1;
                    }
                } else {
                    now_looked += 1;
                }
                let (mut b1, mut b2, mut c1) = (f64::INFINITY, f64::INFINITY, 0);
                for (c, &v) in dist_to[..k].iter().enumerate() {
                    let nearer = v < b1;
                    b2 = if nearer { b1 } else { b2.min(v) };
                    c1 = if nearer { c } else { c1 };
                    b1 = if nearer { v } else { b1 };
                }
                if c1 != a {
                    changed.push((i as u32, a as u32, c1 as u32));
                    lab[i] = c1 as u32;
                }
                up[i] = b1.sqrt() - moved[c1];
                lo[i] = b2.sqrt() + moved_max;
                inertia_part += b1;
            }
            if !inertia {
                *looked = now_looked;
            }
            if update != SumUpdate::Keep {
                if update == SumUpdate::Exact || now_looked * 4 >= rows {
                    s.iter_mut().for_each(|v| *v = 0.0);
                    cnt.iter_mut().for_each(|v| *v = 0);
                    for (p, &l) in xc.chunks_exact(d).zip(lab.iter()) {
                        let l = l as usize;
                        let t = &mut s[l * d..(l + 1) * d];
                        for j in 0..d {
                            t[j] += p[j];
                        }
                        cnt[l] += 1;
                    }
                } else {
                    for &(i, from, to) in &changed {
                        let p = &xc[i as usize * d..(i as usize + 1) * d];
                        let (from, to) = (from as usize, to as usize);
                        for j in 0..d {
                            s[from * d + j] -= p[j];
                            s[to * d + j] += p[j];
                        }
                        cnt[from] -= 1;
                        cnt[to] += 1;
                    }
                }
            }
            (changed.len(), inertia_part)
        })
        .collect();
    let changed = parts.iter().map(|p| p.0).sum();
    (changed, parts.into_iter().map(|p| p.1).collect())
}

/// Rows per block of [`scan_block`]: the lanes run across rows.
const RB: usize = 8;

/// Nearest and second-nearest squared distances of up to [`RB`] rows, the nearest
/// centre's index and the squared distance to each row's own centre.
struct BlockScan {
    b1: [f64; RB],
    b2: [f64; RB],
    c1: [f64; RB],
    to_own: [f64; RB],
}

/// Distances from a block of rows (feature-major, `xs[j][r]`) to every centre, with
/// the lanes across rows so that the distances and the search for the nearest two
/// vectorise. Each distance is the same operations in the same order as [`dist2`] and
/// the centres are visited in index order with ties to the lowest index, so the result
/// is that of [`distances`] followed by the row-by-row search. `own[r]` is row r's
/// current centre (as f64, so that every lane has the same width).
#[inline(always)]
fn scan_block<const D: usize>(
    xs: &[[f64; RB]; D],
    own: &[f64; RB],
    centers: &[f64],
    k: usize,
) -> BlockScan {
    let mut out = BlockScan {
        b1: [f64::INFINITY; RB],
        b2: [f64::INFINITY; RB],
        c1: [0.0; RB],
        to_own: [0.0; RB],
    };
    for c in 0..k {
        let v = block_distances::<D>(xs, &centers[c * D..(c + 1) * D]);
        let cf = c as f64;
        for r in 0..RB {
            let nearer = v[r] < out.b1[r];
            out.b2[r] = if nearer {
                out.b1[r]
            } else if v[r] < out.b2[r] {
                v[r]
            } else {
                out.b2[r]
            };
            out.c1[r] = if nearer { cf } else { out.c1[r] };
            out.b1[r] = if nearer { v[r] } else { out.b1[r] };
            out.to_own[r] = if cf == own[r] { v[r] } else { out.to_own[r] };
        }
    }
    out
}

/// Whether a row's bounds fail: its (upper bound on the) distance to its centre is not
/// below the skip threshold. A NaN never skips.
#[inline(always)]
fn fails(u: f64, bound: f64) -> bool {
    u.partial_cmp(&bound) != Some(std::cmp::Ordering::Less)
}

/// Where a chunk's rows stand in an assignment step.
struct ChunkState<'a> {
    lab: &'a mut [u32],
    up: &'a mut [f64],
    lo: &'a mut [f64],
    moved: &'a [f64],
    moved_max: f64,
    half: &'a [f64],
    scale: f64,
}

impl ChunkState<'_> {
    /// The skip threshold of row i: its centre is provably the nearest while its upper
    /// bound is below this.
    #[inline(always)]
    fn bound(&self, i: usize) -> f64 {
        let a = self.lab[i] as usize;
        let m = self.half[a].max(self.lo[i] - self.moved_max);
        m - MARGIN * (m.abs() + self.scale)
    }

    /// Scans the rows `idx` (chunk positions, increasing) against every centre, `RB` at
    /// a time: new labels (changes pushed to `changed` in row order) and exact bounds.
    #[inline(always)]
    fn scan_rows<const D: usize>(
        &mut self,
        xc: &[f64],
        idx: &[u32],
        centers: &[f64],
        k: usize,
        changed: &mut Vec<(u32, u32, u32)>,
    ) -> usize {
        let mut looked = 0;
        for block in idx.chunks(RB) {
            let mut xs = [[0.0f64; RB]; D];
            let mut own = [0.0f64; RB];
            for (r, &i) in block.iter().enumerate() {
                let i = i as usize;
                let p = &xc[i * D..(i + 1) * D];
                for j in 0..D {
                    xs[j][r] = p[j];
                }
                own[r] = self.lab[i] as f64;
            }
            let b = scan_block::<D>(&xs, &own, centers, k);
            let mut r1 = [0.0f64; RB];
            let mut r2 = [0.0f64; RB];
            let mut ro = [0.0f64; RB];
            for r in 0..RB {
                r1[r] = b.b1[r].sqrt();
                r2[r] = b.b2[r].sqrt();
                ro[r] = b.to_own[r].sqrt();
            }
            for (r, &i) in block.iter().enumerate() {
                let i = i as usize;
                let a = self.lab[i] as usize;
                looked += usize::from(fails(ro[r], self.bound(i)));
                let c = b.c1[r] as usize;
                if c != a {
                    changed.push((i as u32, a as u32, c as u32));
                    self.lab[i] = c as u32;
                }
                self.up[i] = r1[r] - self.moved[c];
                self.lo[i] = r2[r] + self.moved_max;
            }
        }
        looked
    }

    /// A chunk in which most rows failed their bounds last time: every row is scanned
    /// against every centre. Returns the rows whose bounds failed (judged with their
    /// exact distance to their own centre), which decides how the chunk is treated
    /// next time.
    #[inline(always)]
    fn full<const D: usize>(
        &mut self,
        xc: &[f64],
        centers: &[f64],
        k: usize,
        changed: &mut Vec<(u32, u32, u32)>,
    ) -> usize {
        let all: Vec<u32> = (0..self.lab.len() as u32).collect();
        self.scan_rows::<D>(xc, &all, centers, k, changed)
    }

    /// A chunk in which few rows fail their bounds: the bounds are tested for every row
    /// first, the failing rows' upper bounds tightened with the exact distance to their
    /// centre, and only the rows that still fail are scanned against every centre, each
    /// stage a branch-free pass over a list of rows. Returns the rows scanned.
    #[inline(always)]
    fn sparse<const D: usize>(
        &mut self,
        xc: &[f64],
        centers: &[f64],
        k: usize,
        changed: &mut Vec<(u32, u32, u32)>,
    ) -> usize {
        let rows = self.lab.len();
        let mut cand = vec![0u32; rows + 1];
        let mut nc = 0;
        for i in 0..rows {
            let a = self.lab[i] as usize;
            let u = self.up[i] + self.moved[a];
            cand[nc] = i as u32;
            nc += usize::from(fails(u, self.bound(i)));
        }
        let mut full = vec![0u32; nc + 1];
        let mut nf = 0;
        for &i in &cand[..nc] {
            let i = i as usize;
            let a = self.lab[i] as usize;
            let own = dist::<D>(&xc[i * D..(i + 1) * D], &centers[a * D..(a + 1) * D]);
            let u = own.sqrt();
            // Overwritten below when the row is scanned.
            self.up[i] = u - self.moved[a];
            full[nf] = i as u32;
            nf += usize::from(fails(u, self.bound(i)));
        }
        self.scan_rows::<D>(xc, &full[..nf], centers, k, changed);
        nf
    }
}

/// Lloyd's iterations with Hamerly's bounds from the given centres.
fn lloyd_hamerly<const D: usize>(
    x: &[f64],
    d: usize,
    k: usize,
    mut centers: Vec<f64>,
    max_iterations: u64,
    tol: f64,
) -> Fit {
    let n = x.len() / d;
    let n_chunks = n.div_ceil(CHUNK);
    let mut bounds = Bounds {
        labels: vec![0; n],
        upper: vec![f64::INFINITY; n],
        lower: vec![0.0; n],
        moved: vec![0.0; k],
        moved_max: 0.0,
        looked: vec![CHUNK; n_chunks],
    };
    let mut chunk_sums = ChunkSums {
        sums: vec![0.0; n_chunks * k * d],
        counts: vec![0; n_chunks * k],
    };
    let mut n_iter = 0;
    while n_iter < max_iterations {
        n_iter += 1;
        let update = if n_iter == 1 {
            SumUpdate::Exact
        } else {
            SumUpdate::Incremental
        };
        let (changed, _) = assign::<D>(x, d, &centers, &mut bounds, &mut chunk_sums, update, false);
        let mut sums = vec![0.0; k * d];
        let mut counts = vec![0usize; k];
        for (s, c) in chunk_sums
            .sums
            .chunks_exact(k * d)
            .zip(chunk_sums.counts.chunks_exact(k))
        {
            for (t, v) in sums.iter_mut().zip(s) {
                *t += v;
            }
            for (t, v) in counts.iter_mut().zip(c) {
                *t += v;
            }
        }
        if counts.contains(&0) {
            relocate_empty(x, d, &centers, &bounds.labels, &mut sums, &mut counts);
        }
        let mut shift_total = 0.0;
        let mut largest = 0.0f64;
        for c in 0..k {
            if counts[c] == 0 {
                continue;
            }
            let inv = 1.0 / counts[c] as f64;
            let new: Vec<f64> = sums[c * d..(c + 1) * d].iter().map(|s| s * inv).collect();
            let old = &mut centers[c * d..(c + 1) * d];
            let moved = dist2(old, &new);
            shift_total += moved;
            let moved = moved.sqrt();
            bounds.moved[c] += moved;
            largest = largest.max(moved);
            old.copy_from_slice(&new);
        }
        bounds.moved_max += largest;
        if n_iter > 1 && changed == 0 {
            break;
        }
        if shift_total <= tol {
            break;
        }
    }
    // The last assignment step: labels (and inertia) of the returned centroids.
    let (_, parts) = assign::<D>(
        x,
        d,
        &centers,
        &mut bounds,
        &mut chunk_sums,
        SumUpdate::Keep,
        true,
    );
    let inertia = parts.iter().sum();
    Fit {
        centroids: centers.chunks_exact(d).map(|c| c.to_vec()).collect(),
        labels: bounds.labels.iter().map(|&l| l as usize).collect(),
        inertia,
        n_iter,
    }
}

/// Re-seeds each empty cluster (in index order) at the rows farthest from their
/// centroids (largest distance first, ties: lowest row), moving each such row's sum
/// from its cluster to the empty one for this update, as scikit-learn does (the rows
/// keep their labels; the next assignment step settles them).
fn relocate_empty(
    x: &[f64],
    d: usize,
    centers: &[f64],
    labels: &[u32],
    sums: &mut [f64],
    counts: &mut [usize],
) {
    let empty: Vec<usize> = (0..counts.len()).filter(|&c| counts[c] == 0).collect();
    let far: Vec<f64> = x
        .par_chunks(d)
        .zip(labels.par_iter())
        .map(|(p, &l)| {
            let l = l as usize;
            dist2(p, &centers[l * d..(l + 1) * d])
        })
        .collect();
    let by_distance = |a: &usize, b: &usize| far[*b].total_cmp(&far[*a]).then(a.cmp(b));
    let mut order: Vec<usize> = (0..far.len()).collect();
    let take = empty.len().min(order.len());
    if take < order.len() {
        order.select_nth_unstable_by(take, by_distance);
    }
    order.truncate(take);
    order.sort_by(by_distance);
    for (&c, &i) in empty.iter().zip(&order) {
        let p = row(x, d, i);
        let old = labels[i] as usize;
        if counts[old] == 0 {
            continue;
        }
        for j in 0..d {
            sums[old * d + j] -= p[j];
        }
        counts[old] -= 1;
        sums[c * d..(c + 1) * d].copy_from_slice(p);
        counts[c] = 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segmentation::metrics::{inertia, nearest};

    fn params(k: usize) -> Params {
        Params {
            k,
            n_runs: 3,
            max_iterations: 300,
            tol: 1e-4,
            seed: 7,
        }
    }

    #[test]
    fn two_separated_blobs() {
        // Rows 0..3 around (0, 0), rows 3..6 around (10, 10).
        let x = [
            0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 10.0, 10.0, 11.0, 10.0, 10.0, 11.0,
        ];
        let f = fit(&x, 2, &params(2)).unwrap();
        assert_eq!(f.labels[0], f.labels[1]);
        assert_eq!(f.labels[1], f.labels[2]);
        assert_eq!(f.labels[3], f.labels[4]);
        assert_eq!(f.labels[4], f.labels[5]);
        assert_ne!(f.labels[0], f.labels[3]);
        let a = &f.centroids[f.labels[0]];
        let b = &f.centroids[f.labels[3]];
        assert!((a[0] - 1.0 / 3.0).abs() < 1e-12 && (a[1] - 1.0 / 3.0).abs() < 1e-12);
        assert!((b[0] - 31.0 / 3.0).abs() < 1e-12 && (b[1] - 31.0 / 3.0).abs() < 1e-12);
        // Each blob: squared distances 2/9 + 5/9 + 5/9 = 4/3.
        assert!((f.inertia - 8.0 / 3.0).abs() < 1e-12, "{}", f.inertia);
    }

    #[test]
    fn k_equals_n_puts_every_row_alone() {
        let x = [0.0, 3.0, 7.0, 20.0, 21.5];
        let f = fit(&x, 1, &params(5)).unwrap();
        let mut labels = f.labels.clone();
        labels.sort_unstable();
        assert_eq!(labels, [0, 1, 2, 3, 4]);
        assert_eq!(f.inertia, 0.0);
    }

    #[test]
    fn k_one_is_the_mean() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 9.0];
        let f = fit(&x, 2, &params(1)).unwrap();
        assert_eq!(f.labels, [0, 0, 0]);
        assert!((f.centroids[0][0] - 3.0).abs() < 1e-12);
        assert!((f.centroids[0][1] - 5.0).abs() < 1e-12);
        assert!((f.inertia - (4.0 + 9.0 + 0.0 + 1.0 + 4.0 + 16.0)).abs() < 1e-12);
    }

    #[test]
    fn duplicate_points() {
        // Two distinct values, three clusters asked for: inertia 0, every row on a
        // centroid, and nothing fails.
        let x = [1.0, 1.0, 1.0, 5.0, 5.0, 5.0, 5.0];
        let f = fit(&x, 1, &params(3)).unwrap();
        assert_eq!(f.inertia, 0.0);
        for (i, &l) in f.labels.iter().enumerate() {
            assert_eq!(f.centroids[l][0], x[i]);
        }
        // All rows identical.
        let same = [2.0; 8];
        let f = fit(&same, 2, &params(2)).unwrap();
        assert_eq!(f.inertia, 0.0);
    }

    #[test]
    fn empty_cluster_is_reseeded_at_the_farthest_row() {
        // Centres 1 and 2 start on top of each other: cluster 2 empties in the first
        // assignment (ties go to the lower index) and is re-seeded at the row farthest
        // from its centroid, 100.0.
        let x = [0.0, 1.0, 2.0, 50.0, 51.0, 100.0];
        let centers = vec![1.0, 50.0, 50.0];
        let f = lloyd_hamerly::<1>(&x, 1, 3, centers, 100, 0.0);
        assert_eq!(f.labels, [0, 0, 0, 1, 1, 2]);
        assert_eq!(f.centroids, [vec![1.0], vec![50.5], vec![100.0]]);
        assert!((f.inertia - 2.5).abs() < 1e-12);
    }

    #[test]
    fn matches_nearest_and_inertia_of_the_metrics() {
        // A grid with noise-free near-ties: labels must be those of `nearest`.
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let x: Vec<f64> = (0..3000 * 3)
            .map(|i| (i % 7) as f64 + rng.random::<f64>())
            .collect();
        for k in [2, 5, 9] {
            let f = fit(&x, 3, &params(k)).unwrap();
            for (p, &l) in x.chunks(3).zip(&f.labels) {
                assert_eq!(nearest(p, &f.centroids).0, l);
            }
            assert_eq!(f.inertia, inertia(&x, 3, &f.labels, &f.centroids));
        }
    }

    /// Overlapping blobs (so that many rows sit near boundaries and the sparse, full and
    /// row-by-row steps all run), with every 50th row a duplicate of the row before.
    fn overlapping_blobs(n: usize, d: usize) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut x = Vec::with_capacity(n * d);
        for i in 0..n {
            if i % 50 == 49 {
                let prev = x[(i - 1) * d..i * d].to_vec();
                x.extend(prev);
                continue;
            }
            let blob = (i % 4) as f64;
            for j in 0..d {
                x.push(blob * (j % 2) as f64 + 2.0 * rng.random::<f64>());
            }
        }
        x
    }

    #[test]
    fn vectorised_steps_equal_the_row_by_row_steps() {
        // The blocked paths (feature count known at compile time) against the
        // row-by-row code (D = 0), from the same random starts: the same bits.
        // 30,001 rows: a partial last chunk and a partial last block of rows.
        // Six distinct points repeated: for k > 6 centres coincide, so exact ties
        // between centres decide labels (lowest index).
        let repeated = |d: usize| -> Vec<f64> {
            (0..30_001)
                .flat_map(|i| (0..d).map(move |j| ((i % 6) * (j + 1) % 5) as f64))
                .collect()
        };
        for (d, x) in [3, 5]
            .into_iter()
            .flat_map(|d| [(d, overlapping_blobs(30_001, d)), (d, repeated(d))])
        {
            let tol = 1e-4 * mean_variance(&x, d);
            for k in 1..=8 {
                for run in 0..2u64 {
                    let start = || {
                        let mut rng = ChaCha8Rng::seed_from_u64(5 + k as u64);
                        rng.set_stream(run);
                        rng
                    };
                    let generic = run_once::<0>(&x, d, k, &mut start(), 300, tol);
                    let blocked = match d {
                        3 => run_once::<3>(&x, d, k, &mut start(), 300, tol),
                        _ => run_once::<5>(&x, d, k, &mut start(), 300, tol),
                    };
                    assert_eq!(blocked, generic, "d {d} k {k} run {run}");
                }
            }
        }
    }

    #[test]
    fn rejects_bad_input() {
        assert!(fit(&[1.0, 2.0, 3.0], 2, &params(1)).is_err());
        assert!(fit(&[1.0, 2.0], 1, &params(3)).is_err());
        assert!(fit(&[1.0, 2.0], 1, &params(0)).is_err());
        assert!(fit(&[1.0, f64::NAN], 1, &params(1)).is_err());
        assert!(fit(&[], 1, &params(1)).is_err());
    }
}
