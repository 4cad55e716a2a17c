//! The page's "Model choice" table, shown when the CLV model was `auto`: one row per
//! compared model (log-likelihood, BIC, holdout MAE and total error, chi-square), the
//! chosen one marked, and a sentence saying which model the CLV figures use and why.

use std::fmt::Write as _;

use super::html::esc;
use crate::stages::compare::ModelComparison;

fn cell(v: Option<f64>, digits: usize) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.digits$}"),
        _ => "–".into(),
    }
}

/// The section's HTML (`<h2>`, a sentence, the table).
pub(super) fn section(c: &ModelComparison) -> String {
    let mut h = String::from("<h2 id=\"model-choice\">Model choice</h2>\n");
    let _ = writeln!(
        h,
        "<p>The CLV figures use <strong>{}</strong>, chosen by {}. Holdout error is expected minus actual holdout purchases (positive: over-prediction); chi-square is Pearson's on the fitted period's repeat-purchase histogram, bins pooled to at least 5 expected customers.</p>",
        esc(c.chosen.map_or("no model", |k| k.name())),
        esc(c.rule.describe())
    );
    h.push_str("<table class=\"model-choice\">\n<thead><tr><th>model</th><th>log-likelihood</th><th>BIC</th><th>holdout MAE per customer</th><th>holdout error</th><th>chi-square (df)</th><th></th></tr></thead>\n<tbody>\n");
    for m in &c.models {
        let chi = m.chi_square.as_ref().map_or_else(
            || "–".to_string(),
            |x| {
                format!(
                    "{:.1} ({})",
                    x.statistic,
                    x.degrees_of_freedom
                        .map_or_else(|| "–".to_string(), |d| d.to_string())
                )
            },
        );
        let status = match (&m.error, c.chosen == Some(m.model)) {
            (Some(e), _) => format!("not scored: {}", esc(e)),
            (None, true) => "<strong>chosen</strong>".into(),
            (None, false) => String::new(),
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(m.model.name()),
            cell(m.log_likelihood, 1),
            cell(m.bic, 1),
            cell(m.holdout_mae, 3),
            cell(m.holdout_total_error, 1),
            chi,
            status
        );
    }
    h.push_str("</tbody>\n</table>\n");
    h
}
