//! `patronage fit sbg --survival FILE` and `patronage fit sbg INPUT [--cohort P]`: fits
//! the contractual-churn (shifted-beta-geometric) model to a cohort's survival table or
//! to the acquisition cohorts of a subscription log, and prints the coefficients with
//! the observed and fitted survival and retention per period and the discounted
//! expected residual lifetime by renewal count, as text or JSON.

use std::path::PathBuf;

use patronage::prelude::CohortPeriod;
use patronage::stages::churn::{Discounting, contractual_churn, fit_survival, read_survival};

use crate::args::{FitArgs, InputArgs, TimeArgs};
use crate::input::summarise;
use crate::print::{print_coefficients, save_model as save_model_file, to_json_text};

/// What the sBG model is fitted to.
pub(crate) enum SbgSource<'a> {
    /// A survival table file (`period, customers`).
    Table(&'a PathBuf),
    /// A subscription log and the period of its cohorts.
    Log(&'a InputArgs, &'a TimeArgs, CohortPeriod),
}

pub(crate) fn run_fit_sbg(
    source: SbgSource<'_>,
    fit: &FitArgs,
    (discounting, payment): (Discounting, Option<f64>),
    json: bool,
    save_model: Option<&PathBuf>,
) -> patronage::Result<()> {
    let (out, value) = match source {
        SbgSource::Table(path) => {
            let mut out = fit_survival(&read_survival(path)?, &fit.options())?
                .with_residual_lifetimes(discounting)?;
            if let Some(p) = payment {
                out = out.with_payment_per_period(p)?;
            }
            let value = out.to_json();
            (out, value)
        }
        SbgSource::Log(input, time, period) => {
            let rate = discounting.annual_rate;
            let summary = summarise(input, time, &[])?;
            let mut churn = contractual_churn(&summary, period, rate, &fit.options())?;
            // A payment given overrides the log's mean.
            if let Some(p) = payment {
                churn.fit = churn.fit.with_payment_per_period(p)?;
            }
            let s = &churn.survival;
            eprintln!(
                "patronage: {} cohorts ({} to {}) observed through {}; {} customers acquired after it left out",
                s.labels.len(),
                s.labels.first().map_or("", String::as_str),
                s.labels.last().map_or("", String::as_str),
                s.through,
                s.left_out
            );
            let value = churn.to_json();
            (churn.fit, value)
        }
    };
    if let Some(path) = save_model {
        save_model_file(path, out.model.to_json()?)?;
    }
    if json {
        println!("{}", to_json_text(&value)?);
        return Ok(());
    }
    let data = &out.data;
    let m = &out.model;
    print_coefficients(m.name(), &m.summary());
    if let Some(r) = m.report() {
        println!(
            "log-likelihood {:.4}; {} of {} customers over {} periods; {} in {} iterations",
            r.log_likelihood,
            match data.cohorts().len() {
                1 => "cohort".to_string(),
                n => format!("{n} cohorts"),
            },
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
    let residual = out.residual.as_ref();
    if let Some(r) = residual {
        println!(
            "derl: discounted expected residual lifetime in periods of a customer who has made `period` renewals, at {}% a year ({:.4}% a period, {} periods a year)",
            r.discounting.annual_rate * 100.0,
            r.discounting.per_period() * 100.0,
            r.discounting.periods_per_year
        );
        if let Some(p) = r.payment_per_period {
            println!("value: derl times the payment per period, {p:.2}");
        }
    }
    let values = residual.and_then(|r| r.values());
    print!(
        "{:>6} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "period", "customers", "survival", "fitted", "retention", "fitted", "derl"
    );
    if values.is_some() {
        print!(" {:>12}", "value");
    }
    println!();
    let active = data.active();
    let observed = data.observed_survival();
    for (t, &n) in active.iter().enumerate() {
        let tu = t as u32;
        let (obs_r, fit_r) = match (data.observed_retention(t), m.retention_rate(tu)) {
            (Some(o), Some(r)) => (format!("{o:.4}"), format!("{r:.4}")),
            _ => (String::new(), String::new()),
        };
        let derl = residual
            .and_then(|r| r.by_renewals.get(t))
            .map_or(String::new(), |v| format!("{v:.3}"));
        print!(
            "{:>6} {:>10} {:>10.4} {:>10.4} {:>10} {:>10} {:>10}",
            t,
            n,
            observed[t],
            m.survival(tu),
            obs_r,
            fit_r,
            derl
        );
        if let Some(v) = values.as_ref().and_then(|v| v.get(t)) {
            print!(" {v:>12.2}");
        }
        println!();
    }
    Ok(())
}
