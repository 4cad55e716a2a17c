//! `patronage clv`: parses the margin and spend sources (and with `--model auto` runs
//! the model comparison, `stages::compare`, and uses its choice), runs the CLV stage
//! (`stages::clv::clv_table`: the purchase model and Gamma-Gamma unless `--spend
//! historic`, falling back to historic spend with a note when Gamma-Gamma cannot give
//! expected spend) on the summary, prints the fitted parameters, the notes and the
//! customer equity on stderr (with its interval under `--interval`; or all of it as JSON
//! on stdout with `--json`), and writes the per-customer P(alive), expected purchases,
//! expected spend and CLV table (with the `_lo`/`_hi` bounds under `--interval`).

use std::path::PathBuf;

use patronage::io::OptionalRole;
use patronage::stages::clv::{
    ClvSettings, FittedModels, MarginSource, ScoringPeriod, SpendSource, clv_table_on,
    clv_table_with,
};
use patronage::stages::compare::{ModelChoice, compare_models};
use patronage::stages::fit::{AnyFitted, FitOutcome};

use crate::args::{CovariateArgs, FitArgs, InputArgs, IntervalArgs, TimeArgs};
use crate::input::{on_summary_parts, summarise};
use crate::print::{emit, print_margin_assumption, print_notes, to_json_text};

#[allow(clippy::too_many_arguments)] // one per command-line option
pub(crate) fn run_clv(
    input: &InputArgs,
    time: &TimeArgs,
    model: &str,
    horizon: f64,
    discount_rate: f64,
    step: f64,
    margin: &str,
    spend: &str,
    scoring: &str,
    (purchase_model, spend_model): (Option<&PathBuf>, Option<&PathBuf>),
    fit: &FitArgs,
    (interval, covariates): (&IntervalArgs, &CovariateArgs),
    json: bool,
    output: Option<&PathBuf>,
    part_files: bool,
) -> patronage::Result<()> {
    let margin: MarginSource = margin.parse()?;
    let spend: SpendSource = spend.parse()?;
    let scoring: ScoringPeriod = scoring.parse()?;
    // Bad interval settings are refused before the data are read.
    let interval = interval.options();
    if let Some(options) = &interval {
        options.validate()?;
    }
    let models = saved_models(purchase_model, spend_model)?;
    // The covariate table is read (and its columns checked) before the transactions.
    let covariates = covariates.settings()?;
    // The cost column is read only when the margin comes from it, the channel only for
    // the acquisition-channel covariate.
    let mut extra: Vec<OptionalRole> = covariates.as_ref().map(|c| c.roles()).unwrap_or_default();
    if margin == MarginSource::Cost {
        extra.push(OptionalRole::Cost);
    }
    let with_covariates = covariates.is_some();
    let settings_of = |model| ClvSettings {
        model,
        fit: fit.options(),
        spend,
        margin,
        horizon,
        discount_rate,
        step,
        interval,
        covariates,
    };
    if let (true, Some(dir)) = (part_files, output) {
        // clap refuses --json and saved models beside --part-files.
        let model = match model.parse::<ModelChoice>()? {
            ModelChoice::Auto => {
                return Err(patronage::Error::InvalidOption {
                    option: "clv.model".into(),
                    reason: "auto compares the models on the gathered summary: name bg-nbd, mbg-nbd or pareto-nbd with --part-files".into(),
                });
            }
            choice => choice.fixed("clv.model")?,
        };
        return clv_on_parts(input, time, &extra, &settings_of(model), scoring, dir);
    }
    let summary = summarise(input, time, &extra)?;
    // `--model auto`: the model `fit compare` would choose, said on stderr (not with
    // a saved purchase model, which is used as it is).
    let model = match model.parse::<ModelChoice>()? {
        ModelChoice::Auto if with_covariates => {
            return Err(patronage::Error::InvalidOption {
                option: "model".into(),
                reason: "auto compares the models without covariates: name bg-nbd or pareto-nbd with --covariates or --derived-covariates".into(),
            });
        }
        ModelChoice::Auto if models.is_none() => {
            let c = compare_models(&summary, &fit.options())?;
            let chosen = c.chosen_model()?;
            print_notes(&[format!(
                "--model auto: {} chosen by {}",
                chosen.name(),
                c.rule.describe()
            )]);
            chosen
        }
        // With a saved purchase model the settings' model is not used.
        ModelChoice::Auto => patronage::stages::fit::ModelKind::BgNbd,
        choice => choice.fixed("clv.model")?,
    };
    let settings = settings_of(model);
    let out = match &models {
        Some(models) => clv_table_with(&summary, &settings, scoring, models)?,
        None => clv_table_on(&summary, &settings, scoring)?,
    };
    print_models(&out.purchase, out.spend.as_ref());
    if let Some(cov) = &out.covariates {
        // Standard output carries the table: the coefficients go to stderr.
        for fit in std::iter::once(&cov.purchase).chain(&cov.spend) {
            print_coefficients(fit);
        }
    }
    print_notes(&out.notes);
    print_margin_assumption(margin);
    match &out.intervals {
        Some(iv) => {
            let e = iv.customer_equity;
            eprintln!(
                "patronage: customer equity {:.2} over {horizon} time units ({:.0}% interval {:.2} to {:.2}, {} {} draws{})",
                e.estimate,
                e.level * 100.0,
                e.lo,
                e.hi,
                e.draws,
                e.method.name(),
                crate::print::failed_refits(e.method, e.bootstrap_failed_refits)
            );
        }
        None => eprintln!(
            "patronage: customer equity {:.2} over {horizon} time units",
            out.customer_equity
        ),
    }
    if json {
        println!("{}", to_json_text(&out.to_json(&settings, scoring))?);
        if output.is_some() {
            emit(out.frame, output)?;
        }
        return Ok(());
    }
    emit(out.frame, output)
}

/// The fitted models' parameters on stderr (Gamma-Gamma's with the customers it left
/// out).
fn print_models(purchase: &AnyFitted, spend: Option<&FitOutcome>) {
    let params = |m: &AnyFitted| {
        m.params()
            .iter()
            .map(|(n, v)| format!("{n} {v:.4}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    eprintln!("patronage: {}: {}", purchase.name(), params(purchase));
    if let Some(gg) = spend {
        let (none, bad) = gg.excluded.unwrap_or_default();
        eprintln!(
            "patronage: gamma-gamma: {} (left out {none} without repeats, {bad} with spend <= 0)",
            params(&gg.model)
        );
    }
}

/// `clv --part-files`: the summary as part files in a hidden directory beside `dir`
/// (removed at the end), then the CLV stage on them (`SummaryParts::clv`) writing the
/// table's part files in `dir`; the models, notes and customer equity on stderr.
fn clv_on_parts(
    input: &InputArgs,
    time: &TimeArgs,
    extra: &[OptionalRole],
    settings: &ClvSettings,
    scoring: ScoringPeriod,
    dir: &std::path::Path,
) -> patronage::Result<()> {
    // Refused before anything is read (the stage would refuse them after the summary).
    for (set, option) in [
        (settings.interval.is_some(), "clv.interval"),
        (settings.covariates.is_some(), "clv.covariates"),
    ] {
        if set {
            return Err(patronage::Error::InvalidOption {
                option: option.into(),
                reason: "needs every customer at once, so it is not computed with --part-files"
                    .into(),
            });
        }
    }
    let clv = on_summary_parts(input, time, extra, dir, |parts| {
        parts.clv(settings, scoring, dir)
    })?;
    print_models(&clv.purchase, clv.spend.as_ref());
    print_notes(&clv.notes);
    print_margin_assumption(settings.margin);
    let n = clv.files.len();
    eprintln!(
        "patronage: customer equity {:.2} over {} time units; written to {} as {n} Parquet part file{}",
        clv.customer_equity,
        settings.horizon,
        clv.dir.display(),
        if n == 1 { "" } else { "s" }
    );
    Ok(())
}

/// The models given by `--purchase-model` and `--spend-model`, read and checked for
/// their kind before any data is read (a spend model alone is refused: scoring needs a
/// purchase model, and one fitted here would not be the saved one the user meant).
fn saved_models(
    purchase: Option<&PathBuf>,
    spend: Option<&PathBuf>,
) -> patronage::Result<Option<FittedModels>> {
    let wrong = |flag: &str, path: &PathBuf, reason: String| patronage::Error::Parse {
        what: format!("{flag} {}", path.display()),
        reason,
    };
    let spend = match spend {
        Some(path) => match AnyFitted::from_path(path)? {
            AnyFitted::GammaGamma(gg) => Some(gg),
            other => {
                return Err(wrong(
                    "--spend-model",
                    path,
                    format!(
                        "holds a {} model; give a gamma-gamma model file",
                        other.name()
                    ),
                ));
            }
        },
        None => None,
    };
    let Some(path) = purchase else {
        return match spend {
            Some(_) => Err(patronage::Error::Parse {
                what: "--spend-model".into(),
                reason: "needs --purchase-model too: give the purchase model saved with it".into(),
            }),
            None => Ok(None),
        };
    };
    let model = AnyFitted::from_path(path)?;
    if model.purchase_model().is_none() {
        return Err(wrong(
            "--purchase-model",
            path,
            format!(
                "holds a {} model; give a bg-nbd, mbg-nbd or pareto-nbd model file",
                model.name()
            ),
        ));
    }
    Ok(Some(FittedModels::new(model, spend)?))
}

/// A fit with covariates on stderr: its coefficients with standard errors, the
/// likelihood-ratio test against the model without covariates, and the base level of
/// each text covariate (what its dummies are measured against).
fn print_coefficients(fit: &patronage::stages::covariates::CovariateOutcome) {
    let json = fit.to_json();
    // Base parameters have plain names; coefficients are `<process>.<covariate>`.
    let coefficients: Vec<String> = fit
        .estimates()
        .into_iter()
        .filter(|(name, ..)| name.contains('.'))
        .map(|(name, v, se)| format!("{name} {v:.4} (se {se:.4})"))
        .collect();
    let lr = &json["likelihood_ratio"];
    eprintln!(
        "patronage: {} with covariates: {}; likelihood-ratio statistic {:.2}, df {}, p-value {:.3e}",
        json["model"].as_str().unwrap_or_default(),
        coefficients.join(", "),
        lr["statistic"].as_f64().unwrap_or(f64::NAN),
        lr["df"],
        lr["p_value"].as_f64().unwrap_or(f64::NAN)
    );
    if !fit.base_levels.is_empty() {
        let levels: Vec<String> = fit
            .base_levels
            .iter()
            .map(|(column, level)| format!("{column}={level}"))
            .collect();
        eprintln!("patronage: base levels: {}", levels.join(", "));
    }
    crate::print::note_unestimable(fit);
}
