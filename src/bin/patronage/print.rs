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
}
