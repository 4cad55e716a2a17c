//! `patronage fit sbg --survival FILE`: fits the contractual-churn (shifted-beta-
//! geometric) model to a cohort's survival table and prints the coefficients with the
//! observed and fitted survival and retention per period, as text or JSON.

use std::path::PathBuf;

use patronage::stages::churn::{fit_survival, read_survival};

use crate::args::FitArgs;
use crate::print::{print_coefficients, save_model as save_model_file, to_json_text};

pub(crate) fn run_fit_sbg(
    survival: &PathBuf,
    fit: &FitArgs,
    json: bool,
    save_model: Option<&PathBuf>,
) -> patronage::Result<()> {
    let data = read_survival(survival)?;
    let out = fit_survival(&data, &fit.options())?;
    if let Some(path) = save_model {
        save_model_file(path, out.model.to_json()?)?;
    }
    if json {
        println!("{}", to_json_text(&out.to_json())?);
        return Ok(());
    }
    let m = &out.model;
    print_coefficients(m.name(), &m.summary());
    if let Some(r) = m.report() {
        println!(
            "log-likelihood {:.4}; cohort of {} customers over {} periods; {} in {} iterations",
            r.log_likelihood,
            r.n_customers,
            data.last_period(),
            if r.converged {
                "converged"
            } else {
                "NOT converged"
            },
            r.iterations
        );
    }
    println!(
        "{:>6} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "period", "customers", "survival", "fitted", "retention", "fitted"
    );
    let active = data.active();
    for (t, &n) in active.iter().enumerate() {
        let tu = t as u32;
        let (obs_r, fit_r) = match (t.checked_sub(1), m.retention_rate(tu)) {
            (Some(p), Some(r)) if active[p] > 0.0 => {
                (format!("{:.4}", n / active[p]), format!("{r:.4}"))
            }
            _ => (String::new(), String::new()),
        };
        println!(
            "{:>6} {:>10} {:>10.4} {:>10.4} {:>10} {:>10}",
            t,
            n,
            n / data.n_customers(),
            m.survival(tu),
            obs_r,
            fit_r
        );
    }
    Ok(())
}
