//! Output helpers shared by the commands: `emit` writes a table to a file (format by
//! extension) or as CSV on standard output, `to_json_text` pretty-prints a JSON value with
//! serialisation failures as `Error::Serialize`, `print_notes` prints a stage's notes on
//! stderr, `save_model` writes a model's JSON, and `print_fit` (with
//! `print_coefficients`) prints a fitted model's
//! coefficient table, fit report, repeat-purchase histogram and holdout check as text.

use std::path::PathBuf;

use patronage::stages::fit::FitOutcome;

pub(crate) fn emit(
    mut df: polars::prelude::DataFrame,
    output: Option<&PathBuf>,
) -> patronage::Result<()> {
    match output {
        Some(path) => patronage::io::write_frame(&mut df, path),
        None => patronage::io::write_csv_to(&mut df, std::io::stdout().lock()),
    }
}

/// What a stage decided on its own (`ClvOutcome::notes`, the pipeline's notes), one
/// line each on stderr.
pub(crate) fn print_notes(notes: &[String]) {
    for note in notes {
        eprintln!("patronage: note: {note}");
    }
}

/// Says so when CLV is valued at revenue because no margin was given: a default that
/// selects almost every customer at any contact cost should not pass in silence.
pub(crate) fn print_margin_assumption(margin: patronage::stages::clv::MarginSource) {
    if margin == patronage::stages::clv::MarginSource::Rate(1.0) {
        eprintln!(
            "patronage: assumption: CLV is revenue, not profit: no margin was applied (give --margin RATE, or --margin cost with a cost column)"
        );
    }
}

pub(crate) fn to_json_text(value: &impl serde::Serialize) -> patronage::Result<String> {
    serde_json::to_string_pretty(value).map_err(|source| patronage::Error::Serialize {
        what: "JSON output".into(),
        source,
    })
}

/// Writes a model's JSON to the `--save-model` file.
pub(crate) fn save_model(path: &PathBuf, json: String) -> patronage::Result<()> {
    std::fs::write(path, json).map_err(|source| patronage::Error::Io {
        path: path.clone(),
        source,
    })
}

/// The model's name and its coefficient table (estimate, standard error, 95% interval).
pub(crate) fn print_coefficients(name: &str, coefficients: &[patronage::clv::Coefficient]) {
    println!("{name}");
    println!(
        "{:<8} {:>14} {:>14} {:>14} {:>14}",
        "param", "estimate", "std error", "lower 95%", "upper 95%"
    );
    for c in coefficients {
        println!(
            "{:<8} {:>14.7} {:>14.7} {:>14.7} {:>14.7}",
            c.name, c.estimate, c.standard_error, c.lower_95, c.upper_95
        );
    }
}

/// The profile-likelihood intervals after the coefficients: `-` for a side without a
/// bound (the profile stays flat out to the edge of the parameter space).
pub(crate) fn print_profile(p: &patronage::stages::profile::ProfileIntervals) {
    let bound = |v: f64| {
        if v > 0.0 && v.is_finite() {
            format!("{v:>14.7}")
        } else {
            format!("{:>14}", "-")
        }
    };
    println!("profile-likelihood {:.0}% intervals", p.level * 100.0);
    println!(
        "{:<8} {:>14} {:>14} {:>14}",
        "param", "estimate", "lower", "upper"
    );
    for row in &p.parameters {
        println!(
            "{:<8} {:>14.7} {} {}",
            row.parameter,
            row.estimate,
            bound(row.lo),
            bound(row.hi)
        );
    }
}

/// The text form of a fit with covariates: every parameter
/// with its standard error, the likelihood-ratio test and the base levels.
pub(crate) fn print_covariate_fit(fit: &patronage::stages::covariates::CovariateOutcome) {
    let out = fit.to_json();
    println!(
        "{} with covariates",
        out["model"].as_str().unwrap_or_default()
    );
    let estimates = fit.estimates();
    // Names like `dropout_a.first_channel=phone` set the column's width.
    let width = estimates
        .iter()
        .map(|(name, ..)| name.len())
        .max()
        .unwrap_or(0)
        .max(5);
    println!("{:<width$} {:>14} {:>14}", "param", "estimate", "std error");
    for (name, v, se) in &estimates {
        println!("{name:<width$} {v:>14.7} {se:>14.7}");
    }
    println!(
        "log-likelihood {:.4} ({:.4} without covariates)",
        out["log_likelihood"].as_f64().unwrap_or(f64::NAN),
        out["without_covariates"]["log_likelihood"]
            .as_f64()
            .unwrap_or(f64::NAN)
    );
    let lr = &out["likelihood_ratio"];
    let p = lr["p_value"].as_f64().unwrap_or(f64::NAN);
    println!(
        "likelihood-ratio test: statistic {:.4}, df {}, p-value {}",
        lr["statistic"].as_f64().unwrap_or(f64::NAN),
        lr["df"],
        if p >= 1e-4 {
            format!("{p:.4}")
        } else {
            format!("{p:.2e}")
        }
    );
    if let Some(levels) = out["covariates"]["base_levels"].as_object() {
        for (column, level) in levels {
            println!(
                "base level of {column}: {}",
                level.as_str().unwrap_or_default()
            );
        }
    }
    note_unestimable(fit);
}

/// A note on stderr when a fit with covariates has standard errors that are not finite
/// (printed `NaN`, `null` in JSON): the likelihood is flat in some direction at the
/// estimates, so those estimates are not to be read.
pub(crate) fn note_unestimable(fit: &patronage::stages::covariates::CovariateOutcome) {
    let flat: Vec<String> = fit
        .estimates()
        .into_iter()
        .filter(|(_, _, se)| !se.is_finite())
        .map(|(name, ..)| name)
        .collect();
    if flat.is_empty() {
        return;
    }
    let total = fit.estimates().len();
    let which = if flat.len() == total {
        "no standard error is finite".to_string()
    } else {
        format!(
            "{} of {total} standard errors are not finite ({}{})",
            flat.len(),
            flat.iter().take(3).cloned().collect::<Vec<_>>().join(", "),
            if flat.len() > 3 { ", ..." } else { "" }
        )
    };
    eprintln!(
        "patronage: note: {which}: the likelihood is flat at the estimates, so these data do not identify them. Usually a covariate level with few customers or few repeat buyers: merge rare levels (for the acquisition cohort, a longer --acquisition-period such as year) or drop the covariate"
    );
}

pub(crate) fn print_fit(out: &FitOutcome) {
    let m = &out.model;
    print_coefficients(m.name(), &m.summary());
    if let Some(r) = m.report() {
        println!(
            "log-likelihood {:.4}; {} customers ({} distinct rows); {} in {} iterations (gradient norm {:.2e}, {})",
            r.log_likelihood,
            r.n_customers,
            r.n_distinct,
            if r.converged {
                "converged"
            } else {
                "NOT converged"
            },
            r.iterations,
            r.gradient_norm,
            r.method
        );
        if let Some(w) = &r.warm_start {
            println!(
                "started from the estimate on a systematic sample of {} customers ({} iterations there; --cold-start to start from the initial values)",
                w.customers, w.iterations
            );
        }
    }
    if let Some((none, non_positive)) = out.excluded {
        println!(
            "left out: {none} customers without repeat purchases, {non_positive} with mean repeat spend <= 0"
        );
    }
    if let Some(h) = &out.histogram {
        let row = |f: &dyn Fn(&patronage::clv::check::HistogramBin) -> String| {
            h.bins.iter().map(f).collect::<Vec<_>>().join(" ")
        };
        println!("repeat purchases (chi-square {:.2}):", h.chi_square);
        println!(
            "  {:>9} {}",
            "frequency",
            row(&|b| format!(
                "{:>8}",
                format!("{}{}", b.frequency, if b.open_ended { "+" } else { "" })
            ))
        );
        println!(
            "  {:>9} {}",
            "actual",
            row(&|b| format!("{:>8.0}", b.actual))
        );
        println!(
            "  {:>9} {}",
            "model",
            row(&|b| format!("{:>8.1}", b.expected))
        );
    }
    if let Some(h) = &out.holdout {
        println!(
            "holdout: actual {:.1} vs expected {:.1} repeat purchases (MAE by customer {:.4}, chi-square {:.2})",
            h.actual_total, h.expected_total, h.mae, h.chi_square
        );
        println!(
            "{:>10} {:>10} {:>10} {:>10}",
            "frequency", "customers", "actual", "expected"
        );
        for b in &h.bins {
            println!(
                "{:>10} {:>10} {:>10.4} {:>10.4}",
                format!("{}{}", b.frequency, if b.open_ended { "+" } else { "" }),
                b.customers,
                b.actual,
                b.expected
            );
        }
    }
    if let Some(t) = &out.tracking {
        // The two points a reader checks first; every period is in `--json`'s `tracking`.
        let line = |what: &str, p: &patronage::stages::tracking::TrackingPoint| {
            let off = if p.actual > 0.0 {
                format!(" ({:+.1}%)", 100.0 * (p.expected / p.actual - 1.0))
            } else {
                String::new()
            };
            println!(
                "  {what} {} ({} {:.1}): actual {}, expected {}{off}",
                p.date,
                t.time_unit,
                p.period_end,
                grouped(p.actual, 0),
                grouped(p.expected, 1)
            );
        };
        println!(
            "tracking: cumulative repeat purchases since {} ({} periods; every one in --json)",
            t.origin,
            t.points.len()
        );
        if let Some(p) = t.at_calibration_end() {
            line("calibration end", p);
        }
        if let Some(p) = t.at_end() {
            line("observation end", p);
        }
    }
}

/// A text table for people: the first `left` columns left-aligned (names), the rest
/// right-aligned (figures), two spaces between columns, a rule under the header.
pub(crate) fn text_table(headers: &[&str], rows: &[Vec<String>], left: usize) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| -> String {
        let parts: Vec<String> = cells
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, &w))| {
                if i < left {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect();
        parts.join("  ").trim_end().to_string()
    };
    let mut out = line(&mut headers.iter().copied());
    out.push('\n');
    out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1)));
    for row in rows {
        out.push('\n');
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

/// `x` with `decimals` places and commas between thousands (`1,234,567.89`).
pub(crate) fn grouped(x: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, x.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let mut digits = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            digits.push(',');
        }
        digits.push(ch);
    }
    let sign = if x < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') {
        "-"
    } else {
        ""
    };
    if frac.is_empty() {
        format!("{sign}{digits}")
    } else {
        format!("{sign}{digits}.{frac}")
    }
}

/// A share as a percentage with one decimal (`12.3%`).
pub(crate) fn percent(share: f64) -> String {
    format!("{:.1}%", 100.0 * share)
}

/// `, N failed refits replaced` after a bootstrap's draw count (nothing for asymptotic
/// draws).
pub(crate) fn failed_refits(
    method: patronage::clv::interval::IntervalMethod,
    failed: usize,
) -> String {
    match method {
        patronage::clv::interval::IntervalMethod::Bootstrap => {
            format!(", {failed} failed refits replaced")
        }
        _ => String::new(),
    }
}

/// The closing line of a `--part-files` run: what was written where, as how many files.
pub(crate) fn print_parts_written(what: &str, dir: &std::path::Path, files: usize) {
    eprintln!(
        "patronage: {what} written to {} as {files} Parquet part file{}",
        dir.display(),
        if files == 1 { "" } else { "s" }
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouped_numbers_and_aligned_tables() {
        assert_eq!(grouped(1_234_567.891, 2), "1,234,567.89");
        assert_eq!(grouped(999.0, 0), "999");
        assert_eq!(grouped(-1000.0, 1), "-1,000.0");
        assert_eq!(grouped(-0.001, 2), "0.00");
        assert_eq!(percent(0.1234), "12.3%");
        let t = text_table(
            &["segment", "customers"],
            &[
                vec!["Champions".into(), "1,200".into()],
                vec!["Lost".into(), "35".into()],
            ],
            1,
        );
        assert_eq!(
            t,
            "segment    customers\n--------------------\nChampions      1,200\nLost              35"
        );
    }
}
