//! `report.html`: one self-contained page (charts inline, no external resources).
//!
//! A short script at the end checks that every chart the page lists holds a drawn SVG
//! and marks `<body data-check="ok">`; any script error marks `data-check="error"`
//! instead. CI renders the page in headless Chromium and reads that mark.

use std::fmt::Write as _;

use serde_json::Value;

use super::charts::Chart;
use super::readings::count;
use crate::pipeline::PipelineOutput;
use crate::profitability::MatrixAxis;

pub(super) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn fmt_money(v: f64) -> String {
    if v.abs() >= 1e6 {
        format!("{:.2} M", v / 1e6)
    } else if v.abs() >= 1e3 {
        format!("{:.1} k", v / 1e3)
    } else {
        format!("{v:.2}")
    }
}

/// Where the matrix's first axis is split, in its unit: `30.0% gross margin` or
/// `13.02 gross profit`.
fn split_value(axis: MatrixAxis, split: f64) -> String {
    match axis {
        MatrixAxis::Margin => format!("{split:.1}% gross margin"),
        MatrixAxis::Contribution => format!("{} gross profit", fmt_money(split)),
    }
}

fn fmt_pct(v: f64) -> String {
    format!("{:.1}%", 100.0 * v)
}

/// The k table of the segmentation: every k tried with its inertia, silhouette,
/// Calinski-Harabasz and Davies-Bouldin, plus the gap statistic (with its standard error)
/// and the stability when the rule computed them; the chosen k in bold, and a sentence
/// naming the rule that chose it.
fn k_table(seg: &crate::segmentation::Segmentation) -> String {
    let rows = &seg.k_table;
    let has_gap = rows.iter().any(|r| r.gap.is_some());
    let has_stability = rows.iter().any(|r| r.stability.is_some());
    let opt = |v: Option<f64>, digits: usize| {
        v.map_or("\u{2013}".to_string(), |v| format!("{v:.digits$}"))
    };
    // Large figures with thousands separators, small ones with two decimals.
    let big = |v: f64| {
        if v.abs() >= 1000.0 {
            count(v)
        } else {
            format!("{v:.2}")
        }
    };
    let mut h = String::from("<h2 id=\"k-table\">Choosing the number of segments</h2>\n");
    let rule = if rows.len() > 1 {
        format!(
            "k = {} was chosen by the {} rule: {}.",
            seg.chosen_k,
            seg.k_rule,
            esc(seg.k_rule.describe())
        )
    } else {
        format!("k = {} was fixed by the settings.", seg.chosen_k)
    };
    let _ = writeln!(h, "<p>{rule}</p>");
    h.push_str("<table>\n<thead><tr><th>k</th><th>inertia</th><th>silhouette</th><th>Calinski-Harabasz</th><th>Davies-Bouldin</th>");
    if has_gap {
        h.push_str("<th>gap</th><th>gap s(k)</th>");
    }
    if has_stability {
        h.push_str("<th>stability (ARI)</th>");
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for r in rows {
        let chosen = r.k == seg.chosen_k;
        let (open, close) = if chosen {
            ("<strong>", "</strong>")
        } else {
            ("", "")
        };
        let _ = write!(
            h,
            "<tr><td>{open}{}{close}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            r.k,
            big(r.inertia),
            opt(r.silhouette, 3),
            r.calinski_harabasz.map_or("\u{2013}".to_string(), big),
            opt(r.davies_bouldin, 3)
        );
        if has_gap {
            let _ = write!(h, "<td>{}</td><td>{}</td>", opt(r.gap, 3), opt(r.gap_se, 3));
        }
        if has_stability {
            let _ = write!(h, "<td>{}</td>", opt(r.stability, 3));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table>\n");
    h
}

/// The page.
pub(super) fn page(
    out: &PipelineOutput,
    figures: &Value,
    charts: &[Chart],
    top: &[super::customer_value::TopCustomer],
) -> String {
    let mut h = String::new();
    let d = &figures["data"];
    let mut tiles: Vec<(String, String)> = vec![
        (
            "customers".into(),
            count(d["customers"].as_u64().unwrap_or(0) as f64),
        ),
        (
            "transactions used".into(),
            format!(
                "{} of {}",
                count(d["rows_used"].as_u64().unwrap_or(0) as f64),
                count(d["rows_read"].as_u64().unwrap_or(0) as f64)
            ),
        ),
        (
            "rows rejected".into(),
            count(d["rows_rejected"].as_u64().unwrap_or(0) as f64),
        ),
        (
            "total spend".into(),
            fmt_money(num(&d["total_spend"]).unwrap_or(0.0)),
        ),
    ];
    if let Some(v) = num(&figures["clv"]["customer_equity"]) {
        tiles.push(("customer equity (CLV)".into(), fmt_money(v)));
    }
    let equity = &figures["clv"]["customer_equity_interval"];
    if let (Some(lo), Some(hi), Some(level)) = (
        num(&equity["lo"]),
        num(&equity["hi"]),
        num(&equity["level"]),
    ) {
        // The interval gets a tile of its own next to the estimate, saying what it is.
        tiles.push((
            format!(
                "customer equity, {:.0}% interval ({} {} draws{})",
                100.0 * level,
                equity["draws"].as_u64().unwrap_or(0),
                equity["method"].as_str().unwrap_or(""),
                match equity["bootstrap_failed_refits"].as_u64() {
                    Some(n) if equity["method"] == "bootstrap" => {
                        format!(", {n} failed refits replaced")
                    }
                    _ => String::new(),
                }
            ),
            format!("{} to {}", fmt_money(lo), fmt_money(hi)),
        ));
    }
    if let Some(v) = num(&figures["clv"]["mean_p_alive"]) {
        tiles.push(("mean P(alive)".into(), fmt_pct(v)));
    }
    if let Some(seg) = &out.segmentation {
        tiles.push(("segments".into(), seg.chosen_k.to_string()));
    }
    if let Some(v) = num(&figures["profitability"]["top20_share"]) {
        tiles.push(("net contribution of top 20%".into(), fmt_pct(v)));
    }
    if let Some(v) = num(&figures["profitability"]["peak_share"]) {
        tiles.push(("whale curve peak".into(), fmt_pct(v)));
    }

    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>patronage report</title>\n<style>\n{}\n</style>\n</head>\n<body data-check=\"pending\">\n",
        STYLE
    );
    let _ = writeln!(
        h,
        "<header><h1>Customer report</h1><p>Observation end {}{}. Made by patronage {}.</p></header>",
        esc(d["observation_end"].as_str().unwrap_or("")),
        match d["calibration_end"].as_str() {
            Some(c) => format!("; calibration period up to {}", esc(c)),
            None => String::new(),
        },
        env!("CARGO_PKG_VERSION")
    );
    h.push_str("<section class=\"tiles\">\n");
    for (label, value) in &tiles {
        let _ = writeln!(
            h,
            "<div class=\"tile\"><div class=\"value\">{}</div><div class=\"label\">{}</div></div>",
            esc(value),
            esc(label)
        );
    }
    h.push_str("</section>\n");
    // What to do, from the matrix figures, the segments and CLV (advice.rs).
    let advice = super::advice::advise_of(out).unwrap_or_default();
    if !advice.is_empty() {
        h.push_str("<section class=\"advice\" id=\"what-to-do\"><h2>What to do</h2><ul>\n");
        for line in &advice {
            let _ = writeln!(
                h,
                "<li><strong>{}</strong>: {}.</li>",
                esc(line.verb),
                esc(&line.items.join("; "))
            );
        }
        h.push_str("</ul></section>\n");
    }
    if !out.notes.is_empty() {
        h.push_str("<section class=\"notes\"><h2>Notes</h2><ul>\n");
        for n in &out.notes {
            let _ = writeln!(h, "<li>{}</li>", esc(n));
        }
        h.push_str("</ul></section>\n");
    }
    if !out.skipped.is_empty() {
        h.push_str("<section class=\"notes\" id=\"skipped\"><h2>Not run</h2><ul>\n");
        for s in &out.skipped {
            let _ = writeln!(
                h,
                "<li><strong>{}</strong>: {}</li>",
                esc(s.stage.describe()),
                esc(&s.reason)
            );
        }
        h.push_str("</ul></section>\n");
    }
    if !out.assumptions.is_empty() {
        h.push_str(
            "<section class=\"assumptions\" id=\"assumptions\"><h2>Assumptions in force</h2><ul>\n",
        );
        for a in &out.assumptions {
            let _ = writeln!(h, "<li>{}</li>", esc(a));
        }
        h.push_str("</ul></section>\n");
    }
    h.push_str("<nav><ul>\n");
    for c in charts {
        let _ = writeln!(h, "<li><a href=\"#{}\">{}</a></li>", c.id, esc(&c.title));
    }
    h.push_str("<li><a href=\"#tables\">Tables</a></li></ul></nav>\n");
    for c in charts {
        let _ = write!(
            h,
            "<figure class=\"chart\" id=\"{}\" data-chart=\"{}\">\n<h2>{}</h2>\n{}\n<figcaption>{}</figcaption>\n</figure>\n",
            c.id,
            c.id,
            esc(&c.title),
            strip_xml_declaration(&c.svg),
            esc(&c.reading)
        );
    }
    h.push_str("<section id=\"tables\">\n");
    if let Some(w) = &out.whatif {
        h.push_str(&super::whatif::section(w));
    }
    if let Some(c) = &out.churn {
        h.push_str(&churn_table(c));
    }
    if let Some(c) = &out.model_comparison {
        h.push_str(&super::model_choice::section(c));
    }
    if let Some(cov) = out.clv.as_ref().and_then(|c| c.covariates.as_ref()) {
        h.push_str(&super::covariates::section(cov));
    }
    if !top.is_empty() {
        h.push_str(&top_customers_table(top));
    }
    if let Some(seg) = &out.segmentation {
        h.push_str("<h2>Segments</h2>\n<table>\n<thead><tr><th>segment</th><th>label</th><th>customers</th><th>share</th><th>revenue share</th>");
        let features: Vec<&str> = seg
            .profiles
            .first()
            .map(|p| p.features.iter().map(|f| f.feature.as_str()).collect())
            .unwrap_or_default();
        for f in &features {
            let _ = write!(h, "<th>{} (median)</th>", esc(f));
        }
        h.push_str("</tr></thead>\n<tbody>\n");
        for p in &seg.profiles {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
                p.segment,
                esc(&p.label),
                count(p.customers as f64),
                fmt_pct(p.share),
                p.revenue_share.map_or("n/a".into(), fmt_pct)
            );
            for f in &p.features {
                let _ = write!(h, "<td>{:.2}</td>", f.median);
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</tbody>\n</table>\n");
        h.push_str(&k_table(seg));
    }
    if let Some(p) = &out.profitability {
        let _ = write!(
            h,
            "<h2>Profitability quadrants</h2>\n<p>Split at {} and {} cost-to-serve.</p>\n<table>\n<thead><tr><th>quadrant</th><th>customers</th><th>share</th><th>revenue share</th><th>net contribution</th><th>share of net contribution</th><th>action</th></tr></thead>\n<tbody>\n",
            split_value(p.axis, p.thresholds.0),
            fmt_money(p.thresholds.1)
        );
        for q in &p.quadrants {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&q.quadrant),
                count(q.customers as f64),
                fmt_pct(q.customer_share),
                fmt_pct(q.revenue_share),
                fmt_money(q.net_contribution),
                fmt_pct(q.net_contribution_share),
                esc(&q.action)
            );
        }
        h.push_str("</tbody>\n</table>\n");
    }
    h.push_str("<h2>RFM segments</h2>\n<table>\n<thead><tr><th>segment</th><th>customers</th><th>share</th><th>revenue share</th><th>mean days since last purchase</th><th>mean purchases</th><th>mean spend</th></tr></thead>\n<tbody>\n");
    for s in out.rfm.segment_summary() {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.0}</td><td>{:.2}</td><td>{}</td></tr>",
            esc(&s.segment),
            count(s.customers as f64),
            fmt_pct(s.share),
            fmt_pct(s.revenue_share),
            s.mean_recency_days,
            s.mean_n_purchases,
            fmt_money(s.mean_total_spend)
        );
    }
    h.push_str("</tbody>\n</table>\n</section>\n");
    let ids: Vec<String> = charts.iter().map(|c| format!("\"{}\"", c.id)).collect();
    let _ = write!(
        h,
        "<footer>Every figure on this page is in report.json; the per-customer table is customers.parquet (and customers.csv when asked).</footer>\n<script>\n{}\n</script>\n</body>\n</html>\n",
        CHECK_SCRIPT.replace("__CHARTS__", &ids.join(","))
    );
    h
}

/// The contractual-retention table: the sBG parameters, then per period the customers
/// at risk and the observed and fitted survival and retention.
fn churn_table(c: &crate::stages::churn::ContractualChurn) -> String {
    let m = &c.fit.model;
    let data = &c.fit.data;
    let se = m
        .report()
        .map(|r| r.standard_errors.clone())
        .unwrap_or_default();
    let se_of = |j: usize| {
        se.get(j)
            .filter(|s| s.is_finite())
            .map_or("n/a".into(), |s| format!("{s:.3}"))
    };
    let mut h = format!(
        "<h2 id=\"contractual\">Contractual retention (sBG)</h2>\n<p>alpha {:.3} (standard error {}), beta {:.3} ({}); {} customers in {} acquisition cohorts observed to {}{}.</p>\n",
        m.alpha(),
        se_of(0),
        m.beta(),
        se_of(1),
        count(data.n_customers()),
        c.survival.labels.len(),
        esc(&c.survival.through),
        if c.survival.left_out > 0 {
            format!(
                "; {} acquired after it left out",
                count(c.survival.left_out as f64)
            )
        } else {
            String::new()
        }
    );
    let residual = c.fit.residual.as_ref();
    if let (Some(r), Some(first)) = (residual, residual.and_then(|r| r.by_renewals.first())) {
        let last = r.by_renewals.len() - 1;
        let unit = period_unit(r.discounting.periods_per_year);
        let value = match (r.payment_per_period, r.values()) {
            (Some(p), Some(v)) => format!(
                " At the mean payment of {} a {}, that is a residual value of {} for a customer just acquired and {} after {last} renewals.",
                fmt_money(p),
                unit.trim_end_matches('s'),
                fmt_money(v[0]),
                fmt_money(v[last]),
            ),
            _ => format!(
                " Times the payment per {} it is their residual value.",
                unit.trim_end_matches('s')
            ),
        };
        let _ = writeln!(
            h,
            "<p>Residual lifetime: a customer just acquired is still expected to pay for {first:.1} more {unit}, discounted at {} a year; one who has renewed {last} times, for {:.1}. Those who stay are the ones least likely to leave, so each renewal raises what a customer is worth.{}</p>",
            fmt_pct(r.discounting.annual_rate),
            r.by_renewals[last],
            esc(&value),
        );
    }
    h.push_str("<table>\n<thead><tr><th>period</th><th>customers at risk</th><th>observed survival</th><th>fitted survival</th><th>observed retention</th><th>fitted retention</th>");
    if residual.is_some() {
        h.push_str("<th>residual lifetime (discounted ");
        h.push_str(residual.map_or("periods", |r| period_unit(r.discounting.periods_per_year)));
        h.push_str(")</th>");
    }
    let values = residual.and_then(|r| r.values());
    if values.is_some() {
        h.push_str("<th>residual value (discounted)</th>");
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    let observed = data.observed_survival();
    let rate = |r: Option<f64>| r.map_or(String::new(), fmt_pct);
    for (t, n) in data.active().iter().enumerate() {
        let tu = t as u32;
        let _ = write!(
            h,
            "<tr><td>{t}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            count(*n),
            fmt_pct(observed[t]),
            fmt_pct(m.survival(tu)),
            rate(data.observed_retention(t)),
            rate(m.retention_rate(tu))
        );
        if let Some(v) = residual.and_then(|r| r.by_renewals.get(t)) {
            let _ = write!(h, "<td>{v:.2}</td>");
        }
        if let Some(v) = values.as_ref().and_then(|v| v.get(t)) {
            let _ = write!(h, "<td>{}</td>", fmt_money(*v));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table>\n");
    h
}

/// The cohorts' period in words, from how many make a year.
fn period_unit(per_year: f64) -> &'static str {
    if (per_year - 12.0).abs() < 1e-9 {
        "months"
    } else if (per_year - 365.25 / 7.0).abs() < 1e-9 {
        "weeks"
    } else {
        "periods"
    }
}

/// The top customers by CLV: rank, id, CLV (with its interval when computed), P(alive),
/// segment and quadrant (columns the run has no data for are left out).
fn top_customers_table(top: &[super::customer_value::TopCustomer]) -> String {
    let interval = top.iter().any(|t| t.clv_lo.is_some());
    let p_alive = top.iter().any(|t| t.p_alive.is_some());
    let segment = top.iter().any(|t| t.segment.is_some());
    let quadrant = top.iter().any(|t| t.quadrant.is_some());
    let mut h = format!(
        "<h2 id=\"top-customers\">Top {} customers by CLV</h2>\n<table>\n<thead><tr><th>rank</th><th>customer</th><th>CLV</th>",
        top.len()
    );
    if interval {
        h.push_str("<th>CLV interval</th>");
    }
    if p_alive {
        h.push_str("<th>P(alive)</th>");
    }
    if segment {
        h.push_str("<th>segment</th>");
    }
    if quadrant {
        h.push_str("<th>quadrant</th>");
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for t in top {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td>",
            t.rank,
            esc(&t.customer_id),
            fmt_money(t.clv)
        );
        if interval {
            let _ = write!(
                h,
                "<td>{}</td>",
                match (t.clv_lo, t.clv_hi) {
                    (Some(lo), Some(hi)) => format!("{} to {}", fmt_money(lo), fmt_money(hi)),
                    _ => "n/a".into(),
                }
            );
        }
        if p_alive {
            let _ = write!(h, "<td>{}</td>", t.p_alive.map_or("n/a".into(), fmt_pct));
        }
        if segment {
            let _ = write!(h, "<td>{}</td>", esc(t.segment.as_deref().unwrap_or("n/a")));
        }
        if quadrant {
            let _ = write!(
                h,
                "<td>{}</td>",
                esc(t.quadrant.as_deref().unwrap_or("n/a"))
            );
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table>\n");
    h
}

fn strip_xml_declaration(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    }
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{margin-bottom:.2em}header p{color:#555;margin-top:0}
.tiles{display:flex;flex-wrap:wrap;gap:.8em;margin:1.2em 0}
.tile{border:1px solid #ddd;border-radius:6px;padding:.6em .9em;min-width:150px}
.tile .value{font-size:1.4em;font-weight:600}.tile .label{color:#555;font-size:.9em}
nav ul{display:flex;flex-wrap:wrap;gap:.4em 1.2em;padding:0;list-style:none}
figure.chart{margin:2em 0;border-top:1px solid #eee;padding-top:.5em}
figure.chart svg{max-width:100%;height:auto}
figcaption{color:#333;max-width:760px}
table{border-collapse:collapse;margin:1em 0;font-size:.92em}
th,td{border-bottom:1px solid #ddd;padding:.3em .6em;text-align:right}
th.t,td.t{text-align:left}
.advice{background:#eef8ee;padding:.4em 1em;border-radius:6px}
.notes{background:#fff8e1;padding:.4em 1em;border-radius:6px}
.assumptions{background:#eef3fb;padding:.4em 1em;border-radius:6px;font-size:.95em}
footer{color:#666;margin:3em 0 1em;font-size:.9em}";

const CHECK_SCRIPT: &str = "(function () {
  var body = document.body;
  window.addEventListener('error', function () { body.setAttribute('data-check', 'error'); });
  var expected = [__CHARTS__];
  var missing = expected.filter(function (id) {
    var fig = document.getElementById(id);
    var svg = fig && fig.querySelector('svg');
    if (!svg) { return true; }
    var box = svg.getBoundingClientRect();
    return svg.childElementCount < 3 || box.width < 10 || box.height < 10;
  });
  body.setAttribute('data-charts', String(expected.length - missing.length));
  body.setAttribute('data-missing', missing.join(' '));
  if (body.getAttribute('data-check') !== 'error') {
    body.setAttribute('data-check', missing.length === 0 ? 'ok' : 'missing');
  }
})();";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quadrant_split_is_said_in_the_axis_unit() {
        assert_eq!(split_value(MatrixAxis::Margin, 30.0), "30.0% gross margin");
        // Gross profit is money, not a percentage.
        assert_eq!(
            split_value(MatrixAxis::Contribution, 13.016),
            "13.02 gross profit"
        );
        assert_eq!(
            split_value(MatrixAxis::Contribution, 1500.0),
            "1.5 k gross profit"
        );
    }
}
