//! The page's "Retention what-if" part, shown with `[whatif] retention`: a sentence
//! saying what the change is worth (in total, per point, net of cost-to-serve, and the
//! most one retained customer may cost), and a table with one row per group (quadrant
//! or RFM segment) and the total. The chart is `charts::whatif`; both read
//! [`WhatIf`] as the stage returns it, so the page, `report.json` and
//! `patronage whatif --json` agree.
//!
//! Only `period_words` is used without the `plots` feature (by the advice); the rest
//! writes the page and its chart's reading, so it is built with them.

#[cfg(feature = "plots")]
use std::fmt::Write as _;

#[cfg(feature = "plots")]
use super::html::esc;
#[cfg(feature = "plots")]
use super::readings::{count, money};
#[cfg(feature = "plots")]
use crate::stages::whatif::{WhatIf, WhatIfFigures, WhatIfGroup};
use crate::transactions::units::TimeScale;

/// `period` time units in words: "a year" for the usual year, else "N weeks".
pub(crate) fn period_words(period: f64, unit: TimeScale) -> String {
    let (name, year) = match unit {
        TimeScale::Day => ("days", 365.0),
        TimeScale::Week => ("weeks", 52.0),
        TimeScale::Month => ("months", 12.0),
        TimeScale::Year => ("years", 1.0),
    };
    if (period - year).abs() < 1e-9 {
        "a year".into()
    } else {
        format!("{} {name}", trim(period))
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(feature = "plots")]
fn pct(v: f64) -> String {
    format!("{:.1}%", 100.0 * v)
}

#[cfg(feature = "plots")]
/// What the what-if says, in one paragraph (the section's text and the chart's
/// reading): the rates, the gain in total and relative to today's equity, net of
/// cost-to-serve when priced, the break-even per retained customer, and the group
/// gaining most.
pub(crate) fn reading(w: &WhatIf, unit: TimeScale) -> String {
    let t = &w.total;
    let mut s = format!(
        "Raising retention by {} points (the share of today's active customers still active {} later, {} to {}) adds {} of customer equity ({} on {}; {} per point)",
        trim(w.retention_points),
        period_words(w.period, unit),
        pct(w.retention_rate_before),
        pct(w.retention_rate_after),
        money(t.gain),
        signed_pct(t.gain, t.baseline_equity),
        money(t.baseline_equity),
        money(t.gain_per_point),
    );
    if let Some(net) = t.net_gain {
        let _ = write!(
            s,
            ", {} net of the cost-to-serve of the extra orders",
            money(net)
        );
    }
    let _ = write!(
        s,
        ". It keeps about {} more customers active; ",
        count(t.additional_retained)
    );
    match t.break_even_per_retained {
        Some(b) => {
            let _ = write!(
                s,
                "the change pays for itself while keeping one more customer costs under {b}",
                b = money(b)
            );
        }
        None => s.push_str("no break-even spend: nobody is retained additionally"),
    }
    let best =
        w.by.iter()
            .filter(|g| g.customers > 0)
            .max_by(|a, b| value(a).total_cmp(&value(b)));
    if let Some(g) = best
        && value(g) > 0.0
        && w.by.len() > 1
    {
        let total = t.net_gain.unwrap_or(t.gain);
        let _ = write!(
            s,
            ". {} gains most ({}{}, {} of the total)",
            g.group,
            money(value(g)),
            if t.net_gain.is_some() { " net" } else { "" },
            if total > 0.0 {
                pct(value(g) / total)
            } else {
                "n/a".into()
            }
        );
    }
    s.push('.');
    s
}

#[cfg(feature = "plots")]
/// The figure a group is ranked by: the net gain where priced, else the gain.
fn value(f: &WhatIfFigures) -> f64 {
    f.net_gain.unwrap_or(f.gain)
}

#[cfg(feature = "plots")]
fn signed_pct(part: f64, whole: f64) -> String {
    if whole != 0.0 {
        format!("{:+.1}%", 100.0 * part / whole)
    } else {
        "n/a".into()
    }
}

#[cfg(feature = "plots")]
/// The section's HTML (`<h2>`, how the dropout moved, the table); the reading is the
/// chart's caption, not repeated.
pub(super) fn section(w: &WhatIf) -> String {
    let by = match w.grouped_by {
        Some(WhatIfGroup::Quadrant) => " by profitability quadrant",
        Some(WhatIfGroup::Segment) => " by RFM segment",
        _ => "",
    };
    let mut h = format!("<h2 id=\"whatif-table\">Retention what-if{by}</h2>\n");
    let _ = writeln!(
        h,
        "<p>{}: {} (mean dropout {:.4} to {:.4}); every customer re-scored with the moved model, spend and margin unchanged. Break-even: the gain divided by the customers retained additionally, the most keeping one more may cost over the CLV horizon.</p>",
        esc(w.baseline.name()),
        esc(&w.rule),
        w.dropout_before,
        w.dropout_after
    );
    let net = w.total.net_gain.is_some();
    h.push_str("<table class=\"whatif\">\n<thead><tr><th>group</th><th>customers</th><th>equity today</th><th>equity after</th><th>gain</th><th>gain per point</th><th>retained additionally</th><th>break-even per retained</th>");
    if net {
        h.push_str("<th>net gain</th>");
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for (f, total) in
        w.by.iter()
            .map(|f| (f, false))
            .chain(std::iter::once((&w.total, true)))
    {
        let name = if total {
            "<strong>all customers</strong>".to_string()
        } else {
            esc(&f.group)
        };
        let _ = write!(
            h,
            "<tr><td>{name}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            count(f.customers as f64),
            money(f.baseline_equity),
            money(f.scenario_equity),
            money(f.gain),
            money(f.gain_per_point),
            count(f.additional_retained),
            f.break_even_per_retained.map_or("–".into(), money)
        );
        if net {
            let _ = write!(h, "<td>{}</td>", f.net_gain.map_or("–".into(), money));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_year_is_said_as_a_year_in_every_unit() {
        assert_eq!(period_words(52.0, TimeScale::Week), "a year");
        assert_eq!(period_words(365.0, TimeScale::Day), "a year");
        assert_eq!(period_words(12.0, TimeScale::Month), "a year");
        assert_eq!(period_words(26.0, TimeScale::Week), "26 weeks");
        assert_eq!(period_words(2.5, TimeScale::Year), "2.5 years");
    }
}
