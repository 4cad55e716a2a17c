//! `patronage fit compare`: fits BG/NBD, MBG/NBD and Pareto/NBD on the transactions'
//! summary (the calibration period with `--calibration-end`), prints one row per model
//! and the chosen one with the rule, as text or JSON (`stages::compare`).

use std::path::PathBuf;

use patronage::stages::compare::{ModelComparison, compare_models};

use crate::args::{FitArgs, InputArgs, TimeArgs};
use crate::input::summarise;
use crate::print::{save_model as save_model_file, to_json_text};

pub(crate) fn run_compare(
    input: &InputArgs,
    time: &TimeArgs,
    summary: bool,
    fit: &FitArgs,
    json: bool,
    save_model: Option<&PathBuf>,
) -> patronage::Result<()> {
    if summary {
        // The holdout figures and the histogram need the transactions' own summary.
        return Err(patronage::Error::InvalidOption {
            option: "summary".into(),
            reason: "`fit compare` reads transactions (it needs the holdout columns of their summary); drop --summary".into(),
        });
    }
    let out = compare_models(&summarise(input, time, &[])?, &fit.options())?;
    if let Some(path) = save_model {
        save_model_file(path, out.chosen_fit()?.to_json()?)?;
    }
    if json {
        println!("{}", to_json_text(&out.to_json())?);
    } else {
        print_comparison(&out);
    }
    Ok(())
}

fn print_comparison(c: &ModelComparison) {
    let cell = |v: Option<f64>, w: usize, p: usize| match v {
        Some(v) if v.is_finite() => format!("{v:>w$.p$}"),
        _ => format!("{:>w$}", "-"),
    };
    println!(
        "{:<11} {:>14} {:>14} {:>14} {:>12} {:>14} {:>16}",
        "model", "log-lik", "AIC", "BIC", "holdout MAE", "holdout error", "chi-square (df)"
    );
    for m in &c.models {
        let chi = match &m.chi_square {
            Some(x) => format!(
                "{:.2} ({})",
                x.statistic,
                x.degrees_of_freedom
                    .map_or_else(|| "-".to_string(), |d| d.to_string())
            ),
            None => "-".into(),
        };
        println!(
            "{:<11} {} {} {} {} {} {:>16}{}",
            m.model.name(),
            cell(m.log_likelihood, 14, 4),
            cell(m.aic, 14, 4),
            cell(m.bic, 14, 4),
            cell(m.holdout_mae, 12, 4),
            cell(m.holdout_total_error, 14, 2),
            chi,
            if c.chosen == Some(m.model) {
                "  <- chosen"
            } else {
                ""
            }
        );
        if let Some(e) = &m.error {
            println!("{:<11} error: {e}", "");
        }
    }
    match c.chosen {
        Some(k) => println!("chosen: {} by {}", k.name(), c.rule.describe()),
        None => println!("chosen: none (no model could be fitted and scored)"),
    }
    println!(
        "holdout error = expected - actual holdout purchases, summed over customers (positive: the model over-predicts)"
    );
    println!(
        "chi-square: Pearson, fitted period's repeat-purchase histogram with bins pooled so each expects >= 5 customers; df = groups - 1 - 4 parameters"
    );
}
