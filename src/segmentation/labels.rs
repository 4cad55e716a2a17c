//! Segment labels: true relative to the whole customer base, and distinct by construction.
//!
//! Each feature's segment median is placed among all customers' values (its mid-rank
//! percentile) and read in quintiles: level 0 is the base's lowest fifth, 4 its highest.
//! A level below the middle also requires the segment median to lie strictly below the
//! base median, and one above the middle strictly above it, so "recent" always means a
//! median recency below the base's median (with many ties a mid-rank alone could say
//! otherwise).
//!
//! The label names up to three known dimensions (recency, then P(alive), purchases, spend,
//! CLV, profit, tenure); when two segments would share a label, the feature that best
//! tells them apart is added to theirs, then the next, until every label differs. Only
//! segments equal on every feature's quintile get a figure (the median of the feature
//! on which they differ most) and, failing that, their size.

use super::FeatureSummary;

/// Known columns, in the order they enter a label.
const LABEL_ORDER: &[&str] = &[
    "recency_days",
    "p_alive",
    "n_purchases",
    "frequency",
    "expected_purchases",
    "total_spend",
    "monetary_value",
    "clv",
    "gross_profit",
    "T",
    "tenure",
];

/// Prefix of channel-share features, named through the segment's main channel instead.
const CHANNEL: &str = "channel_share_";

/// Mid-rank percentile of `x` among the sorted values: the share below plus half the
/// share equal.
fn percentile(sorted: &[f64], x: f64) -> f64 {
    if sorted.is_empty() || x.is_nan() {
        return 0.5;
    }
    let below = sorted.partition_point(|v| *v < x);
    let upto = sorted.partition_point(|v| *v <= x);
    (below + upto) as f64 / (2 * sorted.len()) as f64
}

/// The base median of sorted values.
fn base_median(sorted: &[f64]) -> f64 {
    crate::stats::quantile(sorted, 0.5)
}

/// Quintile level (0 = lowest fifth .. 4 = highest) of a segment median in the base,
/// never below the middle unless the median is below the base median, nor above it
/// unless above.
pub(crate) fn level(sorted: &[f64], seg_median: f64) -> usize {
    if seg_median.is_nan() || sorted.is_empty() {
        return 2;
    }
    let p = percentile(sorted, seg_median);
    let m = base_median(sorted);
    let raw = ((p * 5.0).floor() as usize).min(4);
    match raw {
        0 | 1 if seg_median < m => raw,
        3 | 4 if seg_median > m => raw,
        _ => 2,
    }
}

/// The word for a level of a known dimension (`seg_median` in the feature's units).
pub(crate) fn word(column: &str, level: usize, seg_median: f64) -> String {
    let pick = |w: [&str; 5]| w[level.min(4)].to_string();
    match column {
        "recency_days" => pick(["recent", "fairly recent", "cooling", "lapsing", "lapsed"]),
        "n_purchases" if seg_median <= 1.0 => "one-time".into(),
        "frequency" if seg_median <= 0.0 => "one-time".into(),
        "n_purchases" | "frequency" | "expected_purchases" => {
            pick(["rare", "infrequent", "occasional", "regular", "frequent"])
        }
        "total_spend" | "monetary_value" => pick([
            "lowest spend",
            "low spend",
            "mid spend",
            "high spend",
            "top spend",
        ]),
        "clv" => pick([
            "lowest value",
            "low value",
            "mid value",
            "high value",
            "top value",
        ]),
        "gross_profit" => pick([
            "lowest profit",
            "low profit",
            "mid profit",
            "high profit",
            "top profit",
        ]),
        // P(alive) is a probability: its words follow the value itself, not the base.
        "p_alive" => match seg_median {
            p if p < 0.2 => "likely gone".into(),
            p if p < 0.4 => "probably gone".into(),
            p if p <= 0.6 => "uncertain".into(),
            p if p <= 0.8 => "probably active".into(),
            _ => "likely active".into(),
        },
        "T" | "tenure" => pick([
            "newest",
            "new",
            "established",
            "long-standing",
            "longest-standing",
        ]),
        other => format!(
            "{} {}",
            ["lowest", "low", "mid", "high", "top"][level.min(4)],
            other
        ),
    }
}

/// Labels for the segments, in segment order: `sorted_base[j]` holds all customers'
/// values of feature `j` sorted ascending, `summaries[s][j]` segment `s`'s summary of
/// it, `sizes[s]` its customers. Distinct whenever the segments differ at all.
pub(crate) fn labels(
    sorted_base: &[Vec<f64>],
    summaries: &[Vec<FeatureSummary>],
    sizes: &[usize],
) -> Vec<String> {
    let k = summaries.len();
    let Some(first) = summaries.first() else {
        return Vec::new();
    };
    let names: Vec<&str> = first.iter().map(|f| f.feature.as_str()).collect();
    let d = names.len();
    let med = |s: usize, j: usize| summaries[s][j].median;
    let levels: Vec<Vec<usize>> = (0..k)
        .map(|s| (0..d).map(|j| level(&sorted_base[j], med(s, j))).collect())
        .collect();
    let words: Vec<Vec<String>> = (0..k)
        .map(|s| {
            (0..d)
                .map(|j| word(names[j], levels[s][j], med(s, j)))
                .collect()
        })
        .collect();
    let is_channel = |j: usize| names[j].starts_with(CHANNEL);
    // Dimensions: the known ones first, at most three; else the first three features.
    let mut dims: Vec<usize> = LABEL_ORDER
        .iter()
        .filter_map(|c| names.iter().position(|n| n == c))
        .take(3)
        .collect();
    if dims.is_empty() {
        dims = (0..d).filter(|&j| !is_channel(j)).take(3).collect();
    }
    let mut parts: Vec<Vec<String>> = (0..k)
        .map(|s| dims.iter().map(|&j| words[s][j].clone()).collect())
        .collect();
    // With channel-share features, name the segment's main channel.
    let channels: Vec<usize> = (0..d).filter(|&j| is_channel(j)).collect();
    if !channels.is_empty() {
        for (s, p) in parts.iter_mut().enumerate() {
            if let Some(&top) = channels
                .iter()
                .max_by(|&&a, &&b| summaries[s][a].mean.total_cmp(&summaries[s][b].mean))
            {
                p.push(format!("{}-first", names[top].trim_start_matches(CHANNEL)));
            }
        }
    }
    // Every segment starts with the same dimensions; `used[s]` grows per clash group.
    let mut used: Vec<Vec<usize>> = vec![dims.clone(); k];
    let spread = |group: &[usize], j: usize| -> (usize, f64) {
        let mut ls: Vec<usize> = group.iter().map(|&s| levels[s][j]).collect();
        let mut ws: Vec<&str> = group.iter().map(|&s| words[s][j].as_str()).collect();
        ls.sort_unstable();
        ls.dedup();
        ws.sort_unstable();
        ws.dedup();
        let ps: Vec<f64> = group
            .iter()
            .map(|&s| percentile(&sorted_base[j], med(s, j)))
            .collect();
        let range = ps.iter().copied().fold(f64::NEG_INFINITY, f64::max)
            - ps.iter().copied().fold(f64::INFINITY, f64::min);
        (ws.len(), range)
    };
    // Add words to clashing groups until every label differs or nothing is left.
    for _ in 0..=d {
        let groups = clashes(&parts);
        if groups.is_empty() {
            break;
        }
        let mut progressed = false;
        for group in groups {
            let candidates: Vec<usize> = (0..d)
                .filter(|&j| !is_channel(j) && !used[group[0]].contains(&j))
                .collect();
            let best = candidates.into_iter().max_by(|&a, &b| {
                let (wa, ra) = spread(&group, a);
                let (wb, rb) = spread(&group, b);
                wa.cmp(&wb).then(ra.total_cmp(&rb)).then(b.cmp(&a))
            });
            if let Some(j) = best {
                for &s in &group {
                    used[s].push(j);
                    let w = words[s][j].clone();
                    parts[s].push(w);
                }
                progressed = true;
            }
        }
        if !progressed {
            break;
        }
    }
    // Same words on every feature: a figure, then the size, then the number.
    for group in clashes(&parts) {
        let j = (0..d).max_by(|&a, &b| {
            let r = |j: usize| {
                let v: Vec<f64> = group.iter().map(|&s| med(s, j)).collect();
                let (lo, hi) = v
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), x| {
                        (l.min(*x), h.max(*x))
                    });
                let scale = (sorted_base[j].last().copied().unwrap_or(0.0)
                    - sorted_base[j].first().copied().unwrap_or(0.0))
                .abs();
                if scale > 0.0 { (hi - lo) / scale } else { 0.0 }
            };
            r(a).total_cmp(&r(b))
        });
        for &s in &group {
            if let Some(j) = j {
                parts[s].push(format!("median {} {}", names[j], figure(med(s, j))));
            }
        }
    }
    for group in clashes(&parts) {
        for &s in &group {
            parts[s].push(format!("{} customers", sizes.get(s).copied().unwrap_or(0)));
        }
    }
    for group in clashes(&parts) {
        for &s in &group {
            parts[s].push(format!("segment {s}"));
        }
    }
    parts.into_iter().map(|p| p.join(", ")).collect()
}

/// A median printed with just enough digits.
fn figure(x: f64) -> String {
    if x.is_nan() {
        "n/a".into()
    } else if x.abs() >= 100.0 || x.fract() == 0.0 {
        format!("{x:.0}")
    } else if x.abs() >= 1.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.3}")
    }
}

/// Groups (two or more segments, in order) whose labels are equal.
fn clashes(parts: &[Vec<String>]) -> Vec<Vec<usize>> {
    let mut seen: Vec<bool> = vec![false; parts.len()];
    let mut out = Vec::new();
    for a in 0..parts.len() {
        if seen[a] {
            continue;
        }
        let group: Vec<usize> = (a..parts.len()).filter(|&b| parts[b] == parts[a]).collect();
        for &b in &group {
            seen[b] = true;
        }
        if group.len() > 1 {
            out.push(group);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn summaries_of(
        names: &[&str],
        cols: &[Vec<f64>],
        assign: &[usize],
        k: usize,
    ) -> (Vec<Vec<f64>>, Vec<Vec<FeatureSummary>>, Vec<usize>) {
        let sorted: Vec<Vec<f64>> = cols.iter().map(|c| crate::stats::sorted(c)).collect();
        let mut sizes = vec![0; k];
        for &a in assign {
            sizes[a] += 1;
        }
        let sums = (0..k)
            .map(|s| {
                names
                    .iter()
                    .zip(cols)
                    .map(|(n, c)| {
                        let v: Vec<f64> = assign
                            .iter()
                            .zip(c)
                            .filter(|(a, _)| **a == s)
                            .map(|(_, x)| *x)
                            .collect();
                        FeatureSummary {
                            feature: n.to_string(),
                            mean: v.iter().sum::<f64>() / v.len().max(1) as f64,
                            median: crate::stats::median(&v),
                        }
                    })
                    .collect()
            })
            .collect();
        (sorted, sums, sizes)
    }

    /// Random bases: recency, purchases (many one-time ties), spend and CLV, in k
    /// random groups of random sizes, some groups copies of others.
    fn random_case(seed: u64) -> (Vec<&'static str>, Vec<Vec<f64>>, Vec<usize>, usize) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = rng.random_range(20..400);
        let k = rng.random_range(2..9);
        let names = vec!["recency_days", "n_purchases", "total_spend", "clv"];
        let centres: Vec<[f64; 4]> = (0..k)
            .map(|_| {
                [
                    rng.random_range(0.0..500.0),
                    rng.random_range(1.0..6.0),
                    rng.random_range(10.0..1000.0),
                    rng.random_range(0.0..300.0),
                ]
            })
            .collect();
        let mut assign = Vec::with_capacity(n);
        let mut cols = vec![Vec::new(); 4];
        for i in 0..n {
            let s = if i < k { i } else { rng.random_range(0..k) };
            assign.push(s);
            let c = centres[s];
            let noise = rng.random_range(0.0..0.3);
            cols[0].push((c[0] * (1.0 + noise)).round());
            cols[1].push(if rng.random_bool(0.5) {
                1.0
            } else {
                c[1].round()
            });
            cols[2].push(c[2] * (1.0 + noise));
            cols[3].push(c[3]);
        }
        (names, cols, assign, k)
    }

    #[test]
    fn distinct_on_many_random_configurations() {
        for seed in 0..400 {
            let (names, cols, assign, k) = random_case(seed);
            let (sorted, sums, sizes) = summaries_of(&names, &cols, &assign, k);
            let l = labels(&sorted, &sums, &sizes);
            let mut u = l.clone();
            u.sort();
            u.dedup();
            assert_eq!(u.len(), k, "seed {seed}: {l:?}");
            assert!(l.iter().all(|x| !x.contains("(2)")), "{l:?}");
        }
    }

    #[test]
    fn identical_segments_still_get_distinct_labels() {
        let names = ["recency_days", "n_purchases"];
        let cols = vec![vec![5.0, 5.0, 5.0, 5.0], vec![2.0, 2.0, 2.0, 2.0]];
        let (sorted, sums, sizes) = summaries_of(&names, &cols, &[0, 1, 0, 1], 2);
        let l = labels(&sorted, &sums, &sizes);
        assert_ne!(l[0], l[1]);
    }

    #[test]
    fn words_are_true_relative_to_the_base() {
        for seed in 0..400 {
            let (names, cols, assign, k) = random_case(seed);
            let (sorted, sums, sizes) = summaries_of(&names, &cols, &assign, k);
            let l = labels(&sorted, &sums, &sizes);
            let base_rec = crate::stats::median(&sorted[0]);
            let base_spend = crate::stats::median(&sorted[2]);
            let base_n = crate::stats::median(&sorted[1]);
            for s in 0..k {
                let words: Vec<&str> = l[s].split(", ").collect();
                let rec = sums[s][0].median;
                if words.contains(&"recent") || words.contains(&"fairly recent") {
                    assert!(
                        rec < base_rec,
                        "seed {seed}: {} at {rec} vs {base_rec}",
                        l[s]
                    );
                }
                if words.contains(&"lapsed") || words.contains(&"lapsing") {
                    assert!(rec > base_rec, "seed {seed}: {}", l[s]);
                }
                if words.contains(&"recent") {
                    assert!(percentile(&sorted[0], rec) < 0.2);
                }
                let spend = sums[s][2].median;
                if words
                    .iter()
                    .any(|w| *w == "high spend" || *w == "top spend")
                {
                    assert!(spend > base_spend, "seed {seed}: {}", l[s]);
                }
                if words
                    .iter()
                    .any(|w| *w == "low spend" || *w == "lowest spend")
                {
                    assert!(spend < base_spend, "seed {seed}: {}", l[s]);
                }
                let np = sums[s][1].median;
                if words.iter().any(|w| *w == "frequent" || *w == "regular") {
                    assert!(np > base_n, "seed {seed}: {}", l[s]);
                }
                if words.contains(&"one-time") {
                    assert!(np <= 1.0);
                }
            }
        }
    }

    #[test]
    fn levels_need_the_median_on_the_right_side() {
        // 60% ones: a segment median of 1 is the base median, so it is "mid", not low.
        let base = crate::stats::sorted(&[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(level(&base, 1.0), 2);
        assert_eq!(level(&base, 5.0), 4);
        assert_eq!(level(&base, 0.5), 0);
        assert_eq!(level(&[], 3.0), 2);
        assert_eq!(level(&base, f64::NAN), 2);
    }

    #[test]
    fn clashing_segments_get_the_feature_that_separates_them() {
        // Same recency, purchases and spend; CLV tells them apart.
        let names = ["recency_days", "n_purchases", "total_spend", "clv"];
        let cols = vec![
            vec![
                10.0, 10.0, 10.0, 10.0, 400.0, 400.0, 400.0, 400.0, 400.0, 400.0,
            ],
            vec![5.0, 5.0, 5.0, 5.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
            vec![
                900.0, 900.0, 900.0, 900.0, 20.0, 20.0, 20.0, 20.0, 20.0, 20.0,
            ],
            vec![500.0, 500.0, 50.0, 50.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        ];
        let assign = [0, 0, 1, 1, 2, 2, 2, 2, 2, 2];
        let (sorted, sums, sizes) = summaries_of(&names, &cols, &assign, 3);
        let l = labels(&sorted, &sums, &sizes);
        assert_eq!(l[0], "fairly recent, frequent, top spend, top value");
        assert_eq!(l[1], "fairly recent, frequent, top spend, high value");
        // Six in ten customers share its recency and spend: the base median, so "mid".
        assert_eq!(l[2], "cooling, one-time, mid spend");
    }
}
