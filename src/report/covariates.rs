//! The CLV section's covariate table: one row per coefficient of the fits with
//! covariates (purchase model and Gamma-Gamma) with its estimate, standard error and
//! what a positive sign means, and each fit's likelihood-ratio test; in `report.json` as
//! `clv.covariates.coefficients` and on the page under "What drives customer value".

use serde::Serialize;

use crate::clv::covariates::positive_means;
use crate::stages::covariates::{ClvCovariates, CovariateOutcome};

/// One coefficient.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Coefficient {
    /// The model (`bg-nbd`, `pareto-nbd`, `gamma-gamma`).
    pub model: String,
    /// The process it acts on (`purchase`, `dropout_a`, `dropout_b`, `dropout`, `spend`).
    pub process: String,
    /// The covariate (`column`, or `column=level` for a text column's dummy).
    pub covariate: String,
    /// The estimate.
    pub estimate: f64,
    /// Its standard error (NaN when the Hessian was not positive definite).
    pub standard_error: f64,
    /// What a positive coefficient means for a customer, in words.
    pub positive_means: String,
}

/// Every coefficient of the CLV stage's fits with covariates, purchase model first.
///
/// # Example
///
/// ```no_run
/// use patronage::pipeline::{Pipeline, PipelineConfig};
/// let c = PipelineConfig::from_toml("[clv]\ncovariates = \"covariates.csv\"\ncovariate_cols = [\"channel\"]\n")?;
/// let p = Pipeline::builder().config(c).build()?;
/// let out = p.run(&p.scan("transactions.csv")?)?;
/// let cov = out.clv.as_ref().and_then(|c| c.covariates.as_ref()).unwrap();
/// for row in patronage::report::covariates::coefficients(cov) {
///     println!("{}.{} {:.3} ± {:.3}: {}", row.process, row.covariate, row.estimate, row.standard_error, row.positive_means);
/// }
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn coefficients(c: &ClvCovariates) -> Vec<Coefficient> {
    std::iter::once(&c.purchase)
        .chain(&c.spend)
        .flat_map(of_fit)
        .collect()
}

fn of_fit(fit: &CovariateOutcome) -> Vec<Coefficient> {
    let model = fit.to_json()["model"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    fit.estimates()
        .into_iter()
        .filter_map(|(name, estimate, standard_error)| {
            // Base parameters have plain names; coefficients are `<process>.<covariate>`.
            let (process, covariate) = name.split_once('.')?;
            Some(Coefficient {
                model: model.clone(),
                process: process.into(),
                covariate: covariate.into(),
                estimate,
                standard_error,
                positive_means: positive_means(process).unwrap_or_default().into(),
            })
        })
        .collect()
}

/// The page's section: a sentence on the sign convention, the table, each fit's
/// likelihood-ratio test and the base levels of text columns.
#[cfg(feature = "plots")]
pub(super) fn section(c: &ClvCovariates) -> String {
    use std::fmt::Write as _;

    use super::html::esc;
    let num = |v: f64, digits: usize| {
        if v.is_finite() {
            format!("{v:.digits$}")
        } else {
            "–".into()
        }
    };
    let mut h = String::from(
        "<h2 id=\"covariates\">What drives customer value: covariates</h2>\n<p>Each customer is scored at their own parameters: a coefficient scales the model parameter it acts on by exp(±coefficient) per unit of the covariate (a dummy: against the base level), and the last column says what a positive sign means for the customer. Estimates more than two standard errors from zero are marked *.</p>\n",
    );
    h.push_str("<table class=\"covariates\">\n<thead><tr><th>model</th><th>coefficient</th><th>estimate</th><th>std error</th><th>positive means the customer</th></tr></thead>\n<tbody>\n");
    for r in coefficients(c) {
        let strong = r.standard_error.is_finite() && r.estimate.abs() > 2.0 * r.standard_error;
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}.{}</td><td>{}{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.model),
            esc(&r.process),
            esc(&r.covariate),
            num(r.estimate, 3),
            if strong { " *" } else { "" },
            num(r.standard_error, 3),
            esc(&r.positive_means)
        );
    }
    h.push_str("</tbody>\n</table>\n<ul>\n");
    for fit in std::iter::once(&c.purchase).chain(&c.spend) {
        let j = fit.to_json();
        let lr = &j["likelihood_ratio"];
        let _ = writeln!(
            h,
            "<li>{}: likelihood-ratio test against the model without covariates, statistic {}, {} df, p-value {}.</li>",
            esc(j["model"].as_str().unwrap_or_default()),
            num(lr["statistic"].as_f64().unwrap_or(f64::NAN), 2),
            lr["df"],
            lr["p_value"].as_f64().map_or_else(
                || "–".into(),
                |p| if p >= 0.001 {
                    format!("{p:.3}")
                } else {
                    format!("{p:.1e}")
                }
            )
        );
    }
    for (column, base) in &c.purchase.base_levels {
        let _ = writeln!(
            h,
            "<li>Base level of <code>{}</code>: {} (its dummies compare with it).</li>",
            esc(column),
            esc(base)
        );
    }
    h.push_str("</ul>\n");
    h
}
