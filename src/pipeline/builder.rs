//! [`PipelineBuilder`]: a configuration and typed settings in, every setting checked
//! once, a runnable [`Pipeline`] out.

use polars::prelude::*;

use crate::clv::interval::{IntervalMethod, IntervalOptions};
use crate::error::{Error, Result};
use crate::io::TransactionSchema;
use crate::profitability::{CostModel, Split};
use crate::rfm::RfmOptions;
use crate::segmentation::SegmentationSpec;
use crate::stages::clv::{ClvSettings, MarginSource, ScoringPeriod, check_covariates};
use crate::stages::compare::{COMPARED, ModelChoice};
use crate::stages::covariates::{CovariateSettings, CovariateTable, DerivedCovariates};
use crate::stages::whatif::WhatIfGroup;
use crate::transactions::aggregate::CohortPeriod;
use crate::transactions::options::SummaryOptions;

use super::{ClvConfig, Pipeline, PipelineConfig};

/// Builds a [`Pipeline`]; nothing is checked until [`PipelineBuilder::build`].
#[derive(Debug, Clone, Default)]
pub struct PipelineBuilder {
    config: PipelineConfig,
    rfm: Option<RfmOptions>,
    clv: Option<ClvSettings>,
    activity: Option<DataFrame>,
}

impl PipelineBuilder {
    /// Starts from a whole configuration (typed settings given afterwards win).
    #[must_use]
    pub fn config(mut self, config: PipelineConfig) -> Self {
        self.config = config;
        self
    }
    /// The column mapping.
    #[must_use]
    pub fn schema(mut self, schema: TransactionSchema) -> Self {
        self.config.schema = schema;
        self
    }
    /// Purchase unit, time unit, observation and calibration ends, cleaning rules.
    #[must_use]
    pub fn summary_options(mut self, options: SummaryOptions) -> Self {
        self.config.time = options;
        self
    }
    /// RFM options.
    #[must_use]
    pub fn rfm(mut self, options: RfmOptions) -> Self {
        self.rfm = Some(options);
        self
    }
    /// CLV settings (model, spend, margin, horizon, discounting).
    #[must_use]
    pub fn clv(mut self, settings: ClvSettings) -> Self {
        self.clv = Some(settings);
        self.config.clv.enabled = true;
        self
    }
    /// Which period the CLV scores use.
    #[must_use]
    pub fn clv_scoring(mut self, period: ScoringPeriod) -> Self {
        self.config.clv.scoring = period;
        self
    }
    /// Leaves out the CLV stage (and the CLV columns).
    #[must_use]
    pub fn without_clv(mut self) -> Self {
        self.config.clv.enabled = false;
        self
    }
    /// The segmentation spec.
    #[must_use]
    pub fn segmentation(mut self, spec: SegmentationSpec) -> Self {
        self.config.segmentation.spec = spec;
        self.config.segmentation.enabled = true;
        self
    }
    /// Adds channel shares as segmentation features.
    #[must_use]
    pub fn channel_mix(mut self, on: bool) -> Self {
        self.config.segmentation.channel_mix = on;
        self
    }
    /// The engine of phase 1 (see [`crate::engine`]).
    #[must_use]
    pub fn engine(mut self, engine: crate::engine::Engine) -> Self {
        self.config.engine = engine;
        self
    }
    /// Leaves out the segmentation.
    #[must_use]
    pub fn without_segmentation(mut self) -> Self {
        self.config.segmentation.enabled = false;
        self
    }
    /// The cost model.
    #[must_use]
    pub fn costs(mut self, model: CostModel) -> Self {
        self.config.costs = model;
        self.config.profitability.enabled = true;
        self
    }
    /// The matrix split.
    #[must_use]
    pub fn split(mut self, split: Split) -> Self {
        self.config.profitability.split = split;
        self
    }
    /// The activity table (service contacts, visits).
    #[must_use]
    pub fn activity(mut self, activity: DataFrame) -> Self {
        self.activity = Some(activity);
        self
    }
    /// Leaves out the profitability stage.
    #[must_use]
    pub fn without_profitability(mut self) -> Self {
        self.config.profitability.enabled = false;
        self
    }
    /// The cohort period.
    #[must_use]
    pub fn cohorts(mut self, period: CohortPeriod) -> Self {
        self.config.cohorts.period = period;
        self
    }

    /// The retention what-if: `points` of retention over `period` time units (`None`: a
    /// year), broken down `by` quadrant or RFM segment (`None`: by quadrant when the
    /// profitability matrix runs, else by segment). See [`crate::pipeline::WhatIfConfig`].
    #[must_use]
    pub fn whatif(mut self, points: f64, period: Option<f64>, by: Option<WhatIfGroup>) -> Self {
        self.config.whatif.retention = Some(points);
        self.config.whatif.period = period;
        self.config.whatif.by = by;
        self
    }

    /// Checks every setting and returns the runnable pipeline.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] naming the setting: unparseable dates or a calibration
    /// end not before the observation end, RFM bins outside 2..=20 or an unreadable rules
    /// file, an unknown model/spend/margin, a non-positive horizon or step, a negative
    /// discount rate, an invalid segmentation spec, a negative cost rate, an unknown
    /// split, an unreadable activity table, an unknown input format.
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::pipeline::{Pipeline, PipelineConfig};
    /// let bad = PipelineConfig::from_toml("[clv]\nhorizon = -1\n")?;
    /// assert!(Pipeline::builder().config(bad).build().is_err());
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn build(self) -> Result<Pipeline> {
        let c = &self.config;
        c.input.check()?;
        c.time.check()?;
        c.engine.check()?;
        let rfm = match self.rfm {
            Some(r) => r,
            None => {
                let rules = c.rfm.segments.rules(c.rfm.bins)?;
                RfmOptions::default().bins(c.rfm.bins).segments(rules)
            }
        };
        crate::rfm::scores::check_bins(rfm.bins)?;
        rfm.segments.validate(rfm.bins)?;
        if c.cohorts.contractual {
            crate::stages::churn::Discounting::of_cohorts(
                c.cohorts.annual_discount_rate,
                c.cohorts.period,
            )?;
        }
        if c.report.whale_points < 2 {
            return Err(Error::invalid(
                "report.whale_points",
                "the whale curve needs at least 2 points (its first and last customer)",
            ));
        }
        // `auto` comes from the file; settings given to the builder name their model.
        let clv_auto = self.clv.is_none() && c.clv.model == ModelChoice::Auto;
        if clv_auto && (c.clv.covariates.is_some() || !c.clv.derived_covariates.is_empty()) {
            return Err(Error::invalid(
                "clv.model",
                "\"auto\" compares the models without covariates: name bg-nbd or pareto-nbd with clv.covariates or clv.derived_covariates",
            ));
        }
        let clv = if c.clv.enabled {
            let settings = match self.clv {
                Some(s) => s,
                None => clv_settings(&c.clv)?,
            };
            check_clv(&settings)?;
            Some((settings, c.clv.scoring))
        } else {
            None
        };
        check_whatif(c)?;
        let segmentation = if c.segmentation.enabled {
            crate::segmentation::check_spec(&c.segmentation.spec)?;
            Some((c.segmentation.spec.clone(), c.segmentation.channel_mix))
        } else {
            None
        };
        let profitability = if c.profitability.enabled {
            c.costs.validate()?;
            let split = c.profitability.split;
            let activity = match (self.activity, &c.profitability.activity) {
                (Some(a), _) => Some(a),
                (None, Some(path)) => Some(crate::io::read_table(path)?),
                (None, None) => None,
            };
            if let Some(a) = &activity {
                crate::profitability::activity_counts(a)?;
            }
            Some((c.costs.clone(), split, c.profitability.axis, activity))
        } else {
            None
        };
        Ok(Pipeline {
            rfm,
            clv,
            clv_auto,
            segmentation,
            profitability,
            config: self.config,
        })
    }
}

/// The what-if's settings need the CLV stage, a model without covariates, a finite
/// change, a positive period, and the quadrants a cost model; whether the change is in
/// reach depends on the data (the run skips it with the reason when it is not).
fn check_whatif(c: &PipelineConfig) -> Result<()> {
    let w = &c.whatif;
    let Some(points) = w.retention else {
        if w.period.is_some() || w.by.is_some() {
            return Err(Error::invalid(
                "whatif.retention",
                "whatif.period and whatif.by need the change of retention (whatif.retention)",
            ));
        }
        return Ok(());
    };
    if !points.is_finite() || points == 0.0 {
        return Err(Error::invalid(
            "whatif.retention",
            format!("{points} is not a finite, non-zero change in points"),
        ));
    }
    let period = w.period_in(c.time.time_unit);
    if !(period.is_finite() && period > 0.0) {
        return Err(Error::invalid(
            "whatif.period",
            format!("{period} is not a positive number of time units"),
        ));
    }
    if !c.clv.enabled {
        return Err(Error::invalid(
            "whatif.retention",
            "the what-if moves the CLV stage's purchase model: turn [clv] on",
        ));
    }
    if c.clv.covariates.is_some() || !c.clv.derived_covariates.is_empty() {
        return Err(Error::invalid(
            "whatif.retention",
            "the what-if moves one dropout distribution; with covariates every customer has their own",
        ));
    }
    if w.by == Some(WhatIfGroup::Quadrant) && !c.profitability.enabled {
        return Err(Error::invalid(
            "whatif.by",
            "the quadrant breakdown needs the profitability matrix: turn [profitability] on",
        ));
    }
    Ok(())
}

fn clv_settings(c: &ClvConfig) -> Result<ClvSettings> {
    let (spend, margin) = (c.spend, c.margin);
    let model = match c.model {
        ModelChoice::Fixed(kind) => kind,
        // Replaced by the comparison's choice when the pipeline runs; every compared
        // model predicts purchases, so the checks of the other settings hold for it.
        ModelChoice::Auto => COMPARED[0],
    };
    Ok(ClvSettings {
        model,
        fit: c.fit.clone(),
        spend,
        margin,
        horizon: c.horizon,
        discount_rate: c.discount_rate,
        step: c.step,
        interval: interval_options(c)?,
        covariates: covariate_settings(c)?,
    })
}

/// `[clv] covariates` and `covariate_cols`: the table read and its columns checked (each
/// key needs the other); `derived_covariates` (and its `acquisition_period`) with or
/// without them.
fn covariate_settings(c: &ClvConfig) -> Result<Option<CovariateSettings>> {
    let derived = DerivedCovariates::from_settings(&c.derived_covariates, c.acquisition_period)?;
    let table = covariate_table(c)?;
    Ok(match (table, derived) {
        (Some(table), Some(derived)) => Some(table.with_derived(derived)),
        (Some(table), None) => Some(table),
        (None, Some(derived)) => Some(CovariateSettings::from_derived(derived)),
        (None, None) => None,
    })
}

fn covariate_table(c: &ClvConfig) -> Result<Option<CovariateSettings>> {
    match (&c.covariates, c.covariate_cols.is_empty()) {
        (None, true) => Ok(None),
        (None, false) => Err(Error::invalid(
            "clv.covariate_cols",
            "has no effect without clv.covariates (the covariate table)",
        )),
        (Some(_), true) => Err(Error::invalid(
            "clv.covariate_cols",
            "name the covariate table's columns to use (clv.covariates is set)",
        )),
        (Some(path), false) => Ok(Some(CovariateSettings::from_table(CovariateTable::read(
            path,
            &c.covariate_cols,
        )?))),
    }
}

/// `[clv] interval, draws, bootstrap, seed` as interval settings: none without
/// `interval`, and then the other three keys are refused rather than ignored.
fn interval_options(c: &ClvConfig) -> Result<Option<IntervalOptions>> {
    let Some(level) = c.interval else {
        for (key, given) in [
            ("clv.draws", c.draws.is_some()),
            ("clv.bootstrap", c.bootstrap),
            ("clv.seed", c.seed.is_some()),
        ] {
            if given {
                return Err(Error::invalid(
                    key,
                    "has no effect without clv.interval (the level of the intervals, e.g. 0.9)",
                ));
            }
        }
        return Ok(None);
    };
    let defaults = IntervalOptions::new(level);
    let options = defaults
        .draws(c.draws.unwrap_or(defaults.draws))
        .seed(c.seed.unwrap_or(defaults.seed))
        .method(if c.bootstrap {
            IntervalMethod::Bootstrap
        } else {
            IntervalMethod::Asymptotic
        });
    options.validate()?;
    Ok(Some(options))
}

fn check_clv(s: &ClvSettings) -> Result<()> {
    if let Some(options) = &s.interval {
        options.validate()?;
    }
    if s.covariates.is_some() {
        check_covariates(s, false)?;
    }
    if !s.model.predicts_purchases() {
        return Err(Error::invalid(
            "clv.model",
            format!(
                "{} does not predict purchases; use bg-nbd, mbg-nbd or pareto-nbd",
                s.model.name()
            ),
        ));
    }
    if !(s.horizon.is_finite() && s.horizon > 0.0) {
        return Err(Error::invalid(
            "clv.horizon",
            format!("{} is not a positive number of time units", s.horizon),
        ));
    }
    if !(s.step.is_finite() && s.step > 0.0) {
        return Err(Error::invalid(
            "clv.step",
            format!("{} is not a positive number of time units", s.step),
        ));
    }
    if !(s.discount_rate.is_finite() && s.discount_rate >= 0.0) {
        return Err(Error::invalid(
            "clv.discount_rate",
            format!("{} is not a rate >= 0", s.discount_rate),
        ));
    }
    if let MarginSource::Rate(r) = s.margin
        && !r.is_finite()
    {
        return Err(Error::invalid("clv.margin", format!("{r} is not finite")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_names_the_bad_setting() {
        let cases = [
            (
                "[time]\ncalibration_end = \"1997-13-40\"\n",
                "time.calibration_end",
            ),
            (
                "[time]\nobservation_end = \"1998-01-01\"\ncalibration_end = \"1998-02-01\"\n",
                "time.calibration_end",
            ),
            ("[rfm]\nbins = 1\n", "rfm.bins"),
            ("[clv]\nmodel = \"gamma-gamma\"\n", "clv.model"),
            ("[clv]\nstep = 0\n", "clv.step"),
            ("[clv]\ndiscount_rate = -0.1\n", "clv.discount_rate"),
            ("[segmentation]\nk = { Range = [5, 2] }\n", "segmentation.k"),
            ("[segmentation]\nfeatures = []\n", "segmentation.features"),
            ("[costs]\nper_order = -1\n", "costs.per_order"),
            ("[report]\nwhale_points = 1\n", "report.whale_points"),
            (
                "[input]\nformat = \"parquet\"\ndelimiter = \";\"\n",
                "input.delimiter",
            ),
        ];
        for (text, needle) in cases {
            let c = PipelineConfig::from_toml(text).unwrap();
            let err = Pipeline::builder().config(c).build().unwrap_err();
            // The option is always the TOML key, so the CLI can add the flag.
            assert!(
                matches!(&err, Error::InvalidOption { option, .. } if option == needle),
                "{text}: `{err:?}` does not name {needle}"
            );
        }
        // A rules file that cannot be read is an I/O error naming the file.
        let c =
            PipelineConfig::from_toml("[rfm]\nsegments = \"/nonexistent/rules.toml\"\n").unwrap();
        let err = Pipeline::builder().config(c).build().unwrap_err();
        assert!(
            matches!(&err, Error::Io { path, .. } if path.ends_with("rules.toml")),
            "{err:?}"
        );
        // Typed settings: a value that is not one of the setting's own is refused while
        // the file is read, naming the key.
        for (text, key) in [
            ("[clv]\nmodel = \"nope\"\n", "model"),
            ("[clv]\nspend = \"nope\"\n", "spend"),
            ("[clv]\nmargin = \"lots\"\n", "margin"),
            ("[input]\nformat = \"xlsx\"\n", "format"),
            ("[input]\ndelimiter = \";;\"\n", "delimiter"),
            ("[profitability]\nsplit = \"middle\"\n", "split"),
        ] {
            let err = PipelineConfig::from_toml(text).unwrap_err();
            assert!(
                matches!(&err, Error::Parse { reason, .. } if reason.contains(key)),
                "{text}: `{err:?}` does not name {key}"
            );
        }
    }
}
