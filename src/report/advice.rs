//! "What to do": the short summary at the top of the report, which quadrant and which
//! segment to protect, invest in, reprice and let go, each with its figures, and with
//! `[whatif]` what a retention change is worth and where ("Retain").
//!
//! Quadrants follow [`crate::profitability::decide`]. Segments follow the same rules on
//! their own net contribution when the customers carry the profitability columns:
//! protect the one bringing the most, invest in the best of the rest by CLV per customer
//! (or revenue per customer without CLV), reprice a loss-making one whose gross profit
//! covers at least half its cost to serve, let go of one covering less. Nothing is
//! called "let go" or "reprice" unless it loses money; the summary says so instead.
//!
//! ```
//! use patronage::report::advice::{advise, SegmentFigures};
//! let seg = |label: &str, customers, net, clv| SegmentFigures {
//!     label: label.into(),
//!     customers,
//!     customer_share: customers as f64 / 100.0,
//!     revenue_share: None,
//!     gross_profit: Some(net + 10.0),
//!     cost_to_serve: Some(10.0),
//!     net_contribution: Some(net),
//!     mean_clv: Some(clv),
//! };
//! let a = advise(None, &[seg("top", 10, 500.0, 90.0), seg("rest", 90, 50.0, 5.0)]);
//! assert!(a.iter().any(|l| l.verb == "Protect" && l.items[0].contains("top")));
//! # let _ = a;
//! ```

use crate::error::Result;
use crate::pipeline::PipelineOutput;
use crate::profitability::{Decision, QuadrantSummary, decide};

/// One segment's figures for the summary.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentFigures {
    /// Its label.
    pub label: String,
    /// Its customers.
    pub customers: usize,
    /// Share of all customers.
    pub customer_share: f64,
    /// Share of revenue (with `total_spend`).
    pub revenue_share: Option<f64>,
    /// Gross profit, summed (with the profitability stage).
    pub gross_profit: Option<f64>,
    /// Cost-to-serve, summed.
    pub cost_to_serve: Option<f64>,
    /// Net contribution, summed.
    pub net_contribution: Option<f64>,
    /// Mean CLV per customer (with the CLV stage).
    pub mean_clv: Option<f64>,
}

/// One line of the summary: a verb and what it applies to, each item a sentence with
/// its figures.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AdviceLine {
    /// "Protect", "Invest", "Reprice", "Let go", or "Retain" (with the retention
    /// what-if: what a retention change is worth and where).
    pub verb: &'static str,
    /// Quadrant and segment sentences (or why there is none).
    pub items: Vec<String>,
}

fn pct(x: f64) -> String {
    format!("{:.0}%", 100.0 * x)
}

fn money(x: f64) -> String {
    super::readings::money(x)
}

/// The summary from the quadrant rows (in [`crate::profitability::Quadrant::ALL`]
/// order) and the segments' figures; lines with nothing to say are left out.
pub fn advise(
    quadrants: Option<&[QuadrantSummary]>,
    segments: &[SegmentFigures],
) -> Vec<AdviceLine> {
    let verbs = ["Protect", "Invest", "Reprice", "Let go"];
    let mut items: Vec<Vec<String>> = vec![Vec::new(); verbs.len()];
    if let Some(q) = quadrants {
        let decisions = decide(q);
        for (s, d) in q.iter().zip(&decisions) {
            let brings = format!(
                "{} of net contribution ({}) from {} of customers",
                pct(s.net_contribution_share),
                money(s.net_contribution),
                pct(s.customer_share)
            );
            let loses = format!(
                "loses {} on {} of customers; gross profit covers {} of its cost to serve",
                money(-s.net_contribution),
                pct(s.customer_share),
                pct(if s.cost_to_serve > 0.0 {
                    s.gross_profit / s.cost_to_serve
                } else {
                    0.0
                })
            );
            let (slot, text) = match d {
                Decision::Protect => (0, brings),
                Decision::Grow => (1, brings),
                Decision::Reprice => (2, loses),
                Decision::LetGo => (3, loses),
                _ => continue,
            };
            items[slot].push(format!("the {} quadrant: {text}", s.quadrant));
        }
        for (slot, what) in [(2, "reprice"), (3, "let go")] {
            if items[slot].is_empty() {
                items[slot].push(format!(
                    "no quadrant to {what}: {}",
                    if decisions
                        .iter()
                        .any(|d| matches!(d, Decision::Reprice | Decision::LetGo))
                    {
                        "the loss-making ones are listed above"
                    } else {
                        "every quadrant makes money"
                    }
                ));
            }
        }
    }
    segment_items(segments, &mut items);
    verbs
        .iter()
        .zip(items)
        .filter(|(_, i)| !i.is_empty())
        .map(|(verb, items)| AdviceLine { verb, items })
        .collect()
}

fn segment_items(segments: &[SegmentFigures], items: &mut [Vec<String>]) {
    if segments.is_empty() {
        return;
    }
    let total_net: Option<f64> = segments.iter().map(|s| s.net_contribution).sum();
    let total_customers: usize = segments.iter().map(|s| s.customers).sum();
    let base_clv = {
        let (sum, n) = segments.iter().fold((0.0, 0usize), |(a, n), s| {
            (
                a + s.mean_clv.unwrap_or(0.0) * s.customers as f64,
                n + s.customers,
            )
        });
        segments
            .iter()
            .all(|s| s.mean_clv.is_some())
            .then(|| sum / n.max(1) as f64)
    };
    let worth = |s: &SegmentFigures| -> f64 {
        match (s.net_contribution, s.revenue_share) {
            (Some(n), _) => n,
            (None, Some(r)) => r,
            _ => s.customers as f64,
        }
    };
    let describe = |s: &SegmentFigures| -> String {
        let mut parts = Vec::new();
        if let (Some(n), Some(t)) = (s.net_contribution, total_net) {
            if t != 0.0 {
                parts.push(format!("{} of net contribution ({})", pct(n / t), money(n)));
            }
        } else if let Some(r) = s.revenue_share {
            parts.push(format!("{} of revenue", pct(r)));
        }
        if let (Some(c), Some(b)) = (s.mean_clv, base_clv)
            && b > 0.0
        {
            parts.push(format!(
                "CLV {} a customer ({:.1}x the base's {})",
                money(c),
                c / b,
                money(b)
            ));
        }
        format!(
            "the segment \u{201c}{}\u{201d}: {} from {} of customers",
            s.label,
            if parts.is_empty() {
                "no figures".to_string()
            } else {
                parts.join(", ")
            },
            pct(s.customers as f64 / total_customers.max(1) as f64)
        )
    };
    let losing = |s: &SegmentFigures| s.net_contribution.is_some_and(|n| n < 0.0);
    // Protect: the most valuable segment that makes money.
    let protect = segments
        .iter()
        .enumerate()
        .filter(|(_, s)| !losing(s))
        .max_by(|a, b| worth(a.1).total_cmp(&worth(b.1)))
        .map(|(i, _)| i);
    if let Some(i) = protect {
        items[0].push(describe(&segments[i]));
    }
    // Invest: the best of the rest per customer, when it makes money.
    let per_customer = |s: &SegmentFigures| -> f64 {
        s.mean_clv
            .or_else(|| s.revenue_share.map(|r| r / s.customer_share.max(1e-12)))
            .unwrap_or(0.0)
    };
    if let Some(i) = segments
        .iter()
        .enumerate()
        .filter(|(i, s)| Some(*i) != protect && !losing(s))
        // Only a segment worth at least the base's average per customer.
        .filter(|(_, s)| match (s.mean_clv, base_clv) {
            (Some(c), Some(b)) => c >= b,
            _ => s.revenue_share.is_none_or(|r| r >= s.customer_share),
        })
        .max_by(|a, b| per_customer(a.1).total_cmp(&per_customer(b.1)))
        .map(|(i, _)| i)
    {
        items[1].push(describe(&segments[i]));
    }
    let mut any_loss = false;
    for s in segments.iter().filter(|s| losing(s)) {
        any_loss = true;
        let (g, c) = (
            s.gross_profit.unwrap_or(0.0),
            s.cost_to_serve.unwrap_or(0.0),
        );
        let covers = if c > 0.0 { g / c } else { 0.0 };
        let text = format!(
            "the segment \u{201c}{}\u{201d}: loses {} on {} of customers; gross profit covers {} of its cost to serve",
            s.label,
            money(-s.net_contribution.unwrap_or(0.0)),
            pct(s.customers as f64 / total_customers.max(1) as f64),
            pct(covers)
        );
        items[if covers < 0.5 { 3 } else { 2 }].push(text);
    }
    if !any_loss && total_net.is_some() {
        // The lowest-value segment: spend least on it, but it is not a loss.
        if let Some((_, s)) = segments
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != protect)
            .min_by(|a, b| per_customer(a.1).total_cmp(&per_customer(b.1)))
        {
            items[3].push(format!(
                "no segment loses money; spend least on {}",
                describe(s).trim_start_matches("the ")
            ));
        }
    }
}

/// The segments' figures of a pipeline run: profiles, with net contribution, gross
/// profit and cost-to-serve summed per segment from the customer table when the
/// profitability stage ran, and mean CLV when the CLV stage ran.
///
/// # Errors
///
/// Polars errors reading the customer table's columns.
pub fn segment_figures_of(out: &PipelineOutput) -> Result<Vec<SegmentFigures>> {
    let Some(seg) = &out.segmentation else {
        return Ok(Vec::new());
    };
    let df = &out.customers;
    let k = seg.profiles.len();
    // The pipeline's customer table names the segment column `cluster`; a segmentation
    // frame names it `segment`.
    let col = if df.column("cluster").is_ok() {
        "cluster"
    } else {
        "segment"
    };
    let segment: Vec<Option<f64>> = crate::io::frame::nullable_f64(df, col)?;
    let sum = |col: &str| -> Result<Option<Vec<(f64, usize)>>> {
        if df.column(col).is_err() {
            return Ok(None);
        }
        let v = crate::io::frame::nullable_f64(df, col)?;
        let mut acc = vec![(0.0, 0usize); k];
        for (s, x) in segment.iter().zip(&v) {
            if let (Some(s), Some(x)) = (s, x) {
                let s = *s as usize;
                if s < k && x.is_finite() {
                    acc[s].0 += x;
                    acc[s].1 += 1;
                }
            }
        }
        Ok(Some(acc))
    };
    let (gross, cost, net, clv) = if out.profitability.is_some() {
        (
            sum("gross_profit")?,
            sum("cost_to_serve")?,
            sum("net_contribution")?,
            sum("clv")?,
        )
    } else {
        (None, None, None, sum("clv")?)
    };
    Ok(seg
        .profiles
        .iter()
        .enumerate()
        .map(|(s, p)| SegmentFigures {
            label: p.label.clone(),
            customers: p.customers,
            customer_share: p.share,
            revenue_share: p.revenue_share,
            gross_profit: gross.as_ref().map(|g| g[s].0),
            cost_to_serve: cost.as_ref().map(|c| c[s].0),
            net_contribution: net.as_ref().map(|n| n[s].0),
            mean_clv: clv
                .as_ref()
                .and_then(|c| (c[s].1 > 0).then(|| c[s].0 / c[s].1 as f64)),
        })
        .collect())
}

/// The summary of a pipeline run.
///
/// # Errors
///
/// As [`segment_figures_of`].
pub fn advise_of(out: &PipelineOutput) -> Result<Vec<AdviceLine>> {
    let segments = segment_figures_of(out)?;
    let mut lines = advise(
        out.profitability.as_ref().map(|p| p.quadrants.as_slice()),
        &segments,
    );
    if let Some(w) = &out.whatif {
        lines.push(retain(w, out.summary.options().time_unit));
    }
    Ok(lines)
}

/// With the retention what-if: what the change is worth, where most of it lands and
/// the most a retained customer may cost (the "Retain" line).
fn retain(
    w: &crate::stages::whatif::WhatIf,
    unit: crate::transactions::units::TimeScale,
) -> AdviceLine {
    let t = &w.total;
    let value = |f: &crate::stages::whatif::WhatIfFigures| f.net_gain.unwrap_or(f.gain);
    let mut item = format!(
        "{:+} points of retention over {} are worth {} of customer equity{}",
        w.retention_points,
        super::whatif::period_words(w.period, unit),
        money(t.gain),
        t.net_gain.map_or(String::new(), |n| format!(
            " ({} net of cost-to-serve)",
            money(n)
        ))
    );
    let best =
        w.by.iter()
            .filter(|g| g.customers > 0)
            .max_by(|a, b| value(a).total_cmp(&value(b)));
    if let Some(g) = best.filter(|g| w.by.len() > 1 && value(g) > 0.0 && value(t) > 0.0) {
        item.push_str(&format!(
            ", {} of it in {}",
            pct(value(g) / value(t)),
            g.group
        ));
    }
    if let Some(b) = t.break_even_per_retained {
        item.push_str(&format!(
            "; keeping one more customer pays while it costs under {}",
            money(b)
        ));
    }
    AdviceLine {
        verb: "Retain",
        items: vec![item],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profitability::{Quadrant, quadrants, summarise};

    fn seg(label: &str, customers: usize, gross: f64, cost: f64, clv: f64) -> SegmentFigures {
        SegmentFigures {
            label: label.into(),
            customers,
            customer_share: customers as f64 / 100.0,
            revenue_share: Some(0.25),
            gross_profit: Some(gross),
            cost_to_serve: Some(cost),
            net_contribution: Some(gross - cost),
            mean_clv: Some(clv),
        }
    }

    fn line<'a>(a: &'a [AdviceLine], verb: &str) -> &'a AdviceLine {
        a.iter().find(|l| l.verb == verb).expect(verb)
    }

    #[test]
    fn loss_makers_are_repriced_or_let_go_and_the_best_protected() {
        let segs = [
            seg("champions", 10, 900.0, 100.0, 300.0),
            seg("promising", 20, 200.0, 50.0, 120.0),
            seg("thin", 30, 80.0, 100.0, 10.0),
            seg("costly", 40, 20.0, 100.0, 2.0),
        ];
        let a = advise(None, &segs);
        assert!(line(&a, "Protect").items[0].contains("champions"));
        assert!(line(&a, "Protect").items[0].contains("CLV 300.00 a customer"));
        assert!(line(&a, "Invest").items[0].contains("promising"));
        assert!(line(&a, "Reprice").items[0].contains("thin"));
        assert!(line(&a, "Reprice").items[0].contains("loses 20.00"));
        assert!(line(&a, "Let go").items[0].contains("costly"));
        assert!(line(&a, "Let go").items[0].contains("covers 20%"));
    }

    #[test]
    fn nothing_is_let_go_when_everything_makes_money() {
        let segs = [
            seg("a", 50, 900.0, 100.0, 300.0),
            seg("b", 50, 200.0, 50.0, 20.0),
        ];
        let q = quadrants(&[40.0, 5.0, 5.0], &[9.0, 9.0, 1.0], (20.0, 5.0));
        let s = summarise(&q, &[100.0; 3], &[50.0, 500.0, 20.0], &[9.0, 9.0, 1.0]);
        let a = advise(Some(&s), &segs);
        let protect = line(&a, "Protect");
        assert!(
            protect
                .items
                .iter()
                .any(|i| i.contains(Quadrant::Aggressive.name()))
        );
        let go = line(&a, "Let go");
        assert!(
            go.items
                .iter()
                .any(|i| i.starts_with("no quadrant to let go"))
        );
        assert!(
            go.items
                .iter()
                .any(|i| i.starts_with("no segment loses money"))
        );
        assert!(line(&a, "Reprice").items[0].contains("every quadrant makes money"));
    }

    #[test]
    fn no_inputs_say_nothing() {
        assert!(advise(None, &[]).is_empty());
    }
}
