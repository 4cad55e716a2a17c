//! The CLV stage on summary part files ([`SummaryParts::clv`]): the models fitted on
//! the whole summary's compressed data ([`SummaryParts::repeat_data`]), then each part
//! scored and written as it is read, so the customers are never gathered.

use std::path::{Path, PathBuf};

use crate::clv::value::{CustomerInputs, Scores, score};
use crate::engine::{PartDir, SummaryParts, read_part};
use crate::error::{Error, Result};
use crate::stages::clv::{
    ClvSettings, ScoringPeriod, ScoringRows, SpendSource, check_purchase_model, clv_frame,
    clv_options, gamma_gamma_on, historic_spend_note, spend_outcome,
};
use crate::stages::fit::{AnyFitted, FitOutcome, fit_repeat};

/// The CLV table written as part files by [`SummaryParts::clv`]: one per summary part,
/// in the same order, each with [`ClvOutcome::frame`](crate::stages::clv::ClvOutcome::frame)'s
/// columns for that part's customers.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClvParts {
    /// The directory holding the part files (nothing else).
    pub dir: PathBuf,
    /// The part files, `part-00000.parquet` on, in order.
    pub files: Vec<PathBuf>,
    /// The purchase model, fitted on every customer's compressed data.
    pub purchase: AnyFitted,
    /// The Gamma-Gamma model, when spend came from it.
    pub spend: Option<FitOutcome>,
    /// Sum of CLV over every customer, added in the gathered table's order.
    pub customer_equity: f64,
    /// What the stage decided on its own (Gamma-Gamma falling back to historic spend).
    pub notes: Vec<String>,
}

impl SummaryParts {
    /// The CLV stage on the part files: the purchase model (and Gamma-Gamma, per
    /// `settings.spend`) fitted on every customer's compressed data, then each part
    /// scored and written to `out` as a part file as it is read. The files read in order
    /// are [`clv_table_on`](crate::stages::clv::clv_table_on)'s table of the gathered summary,
    /// row for row and bit for bit, and the models and customer equity are its.
    ///
    /// Memory: the distinct `(x, t_x, T)` and `(x, m)` rows and one part at a time.
    ///
    /// # Errors
    ///
    /// As [`clv_table_on`](crate::stages::clv::clv_table_on) on the gathered summary;
    /// [`Error::InvalidOption`] naming `clv.interval` or `clv.covariates` when they are
    /// set (intervals and covariates need every customer at once and are not computed on
    /// part files); for `out`, as [`summary_parts`](crate::engine::summary_parts) for
    /// its directory (a file, or a directory of other files, is refused by
    /// [`Error::Io`] naming it).
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::engine::{Engine, summary_parts};
    /// use patronage::prelude::*;
    /// use patronage::stages::clv::{ClvSettings, ScoringPeriod, clv_table_on};
    /// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
    /// let options = SummaryOptions::weekly();
    /// let tmp = std::env::temp_dir().join(format!("patronage-doc-clv-{}", std::process::id()));
    /// let (parts, _) = summary_parts(&tx, &options, &Engine::Memory, &tmp.join("summary"))?;
    /// let settings = ClvSettings::default();
    /// let clv = parts.clv(&settings, ScoringPeriod::Full, &tmp.join("clv"))?;
    /// let gathered = clv_table_on(&tx.summary(&options)?, &settings, ScoringPeriod::Full)?;
    /// assert_eq!(clv.customer_equity, gathered.customer_equity);
    /// std::fs::remove_dir_all(&tmp).unwrap();
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn clv(
        &self,
        settings: &ClvSettings,
        period: ScoringPeriod,
        out: &Path,
    ) -> Result<ClvParts> {
        check_purchase_model(settings)?;
        if settings.interval.is_some() {
            return Err(Error::invalid(
                "clv.interval",
                "intervals are not computed on part files (they redraw every customer's scores): score the gathered summary for them",
            ));
        }
        if settings.covariates.is_some() {
            return Err(Error::invalid(
                "clv.covariates",
                "covariates are not fitted on part files: score the gathered summary with them",
            ));
        }
        let calibration = self.calibration_end.is_some() && period == ScoringPeriod::Fitted;
        let purchase = fit_repeat(
            settings.model,
            &self.repeat_data_for(calibration)?,
            &settings.fit,
        )?;
        let model = purchase
            .purchase_model()
            .ok_or_else(|| Error::invalid("clv.model", "not a purchase model"))?;
        let mut notes = Vec::new();
        let spend = match settings.spend {
            SpendSource::GammaGamma => {
                match self
                    .spend_data_for(calibration)
                    .and_then(|data| gamma_gamma_on(data, &settings.fit))
                {
                    Ok(fit) => Some(fit),
                    // As on the gathered summary: historic spend, with a note.
                    Err(e) => {
                        notes.push(historic_spend_note(&e));
                        None
                    }
                }
            }
            SpendSource::Historic => None,
        };
        let mut dir = PartDir::new(out)?;
        // The gathered table's equity is one sum over its rows in order; carried on
        // across the parts it is the same sum, to the bit.
        let mut customer_equity: f64 = std::iter::empty::<f64>().sum();
        for path in &self.files {
            let df = read_part(path, None)?;
            let scoring = ScoringRows::of(&df, calibration)?;
            let scores = if scoring.rows.is_empty() {
                Scores::default()
            } else {
                let (x, t_x, t, m) = (
                    scoring.take(0),
                    scoring.take(1),
                    scoring.take(2),
                    scoring.take(3),
                );
                let inputs = CustomerInputs {
                    x: &x,
                    t_x: &t_x,
                    t: &t,
                    monetary: &m,
                };
                let opts = clv_options(settings, &df, &scoring.rows)?;
                score(model, spend.as_ref().map(|(gg, _)| gg), inputs, &opts)?
            };
            customer_equity = scores.clv.iter().fold(customer_equity, |a, &b| a + b);
            dir.write(&mut clv_frame(&df, &scoring, &scores, None)?)?;
        }
        let (dir, files) = dir.commit()?;
        Ok(ClvParts {
            dir,
            files,
            purchase,
            spend: spend.map(|(gg, data)| spend_outcome(gg, &data)),
            customer_equity,
            notes,
        })
    }
}
