//! [`Pipeline::run_with`]: the stage functions (`crate::stages`) in order on one customer
//! table, and the joins of their results into one row per customer. Every decision a
//! stage makes (Gamma-Gamma falling back to historic spend, the channel mix) is made in
//! the stage function, so the CLI's commands give what the pipeline gives.

use std::collections::HashMap;

use polars::prelude::*;

use crate::clv::FitOptions;
use crate::engine::{Engine, EngineRun};
use crate::error::{Error, Result};
use crate::profitability::{CostModel, MatrixAxis, Profitability, Split};
use crate::segmentation::{KChoice, SegmentationSpec};
use crate::stages::churn::contractual_churn;
use crate::stages::clv::clv_table_on;
use crate::stages::clv::{ClvOutcome, ClvSettings, MarginSource, ScoringPeriod};
use crate::stages::cohorts::cohorts;
use crate::stages::compare::compare_models;
use crate::stages::fit::{FitOutcome, fit_summary, purchase_checks, tracking_of};
use crate::stages::interval::BOUND_COLUMNS;
use crate::stages::profitability::{NO_RATES, matrix, price};
use crate::stages::segment::{CLV_COLUMNS, SegmentSettings, segment};
use crate::stages::summary::summary_of;
use crate::stages::whatif::{WhatIf, WhatIfGroup, WhatIfSettings, whatif_on};
use crate::transactions::Transactions;
use crate::transactions::summary::Summary;

use super::{Pipeline, PipelineOutput, SkippedStage, Stage};

impl Pipeline {
    /// [`Pipeline::run`] calling `progress` as each stage starts.
    ///
    /// # Errors
    ///
    /// As [`Pipeline::run`].
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::pipeline::{Pipeline, Stage};
    /// let p = Pipeline::builder().build()?;
    /// let mut seen = Vec::new();
    /// p.run_with(&p.scan("datasets/retail_sample.csv")?, &mut |s| seen.push(s))?;
    /// assert_eq!(seen.first(), Some(&Stage::Clean));
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn run_with(
        &self,
        tx: &Transactions,
        progress: &mut dyn FnMut(Stage),
    ) -> Result<PipelineOutput> {
        let options = &self.config.time;
        let period = Some(self.config.cohorts.period);
        let (table, engine) = match &self.config.engine {
            Engine::Memory => {
                progress(Stage::Clean);
                let clean = tx.clean(options)?;
                // One aggregation pass gives every per-customer figure: the summary, the
                // activity counts cost-to-serve prices, the channel counts and the cohorts.
                progress(Stage::Summary);
                let table = summary_of(clean, options, period)?;
                let run = EngineRun {
                    engine: "memory".into(),
                    ..EngineRun::default()
                };
                (table, run)
            }
            // Another engine cleans and aggregates block by block, as one step.
            other => {
                progress(Stage::Clean);
                let (table, run) = crate::engine::customer_table(tx, options, period, other)?;
                progress(Stage::Summary);
                (table, run)
            }
        };
        progress(Stage::Cohorts);
        let cohort_table = cohorts(&table)?;
        // Stages the data cannot support are skipped with their reason, before they run.
        let has_cost = table.frame().column("cogs").is_ok();
        let mut skipped = Vec::new();
        let profitability_setup = match &self.profitability {
            Some((model, ..)) if !model.prices_activity() => {
                skipped.push(SkippedStage {
                    stage: Stage::Profitability,
                    reason: format!("{NO_RATES} (a [costs] table in the configuration; --costs FILE on the command line)"),
                });
                None
            }
            Some((model, ..)) if !has_cost && model.margin_rate.is_none() => {
                skipped.push(SkippedStage {
                    stage: Stage::Profitability,
                    reason: "the transactions have no cost column, so gross profit is unknown: map one (--cost-col or --unit-cost-col) or give a gross margin rate (costs.margin_rate, --margin-rate)".into(),
                });
                None
            }
            other => other.as_ref(),
        };
        let clv_setup = match &self.clv {
            Some((settings, _)) if settings.margin == MarginSource::Cost && !has_cost => {
                skipped.push(SkippedStage {
                    stage: Stage::Clv,
                    reason: "clv.margin = \"cost\" (--margin cost) needs a cost column (--cost-col or --unit-cost-col); give a margin rate instead".into(),
                });
                None
            }
            other => other.as_ref(),
        };
        let segmentation_setup = match &self.segmentation {
            Some((spec, _)) if !enough_customers(spec, table.n_customers()) => {
                skipped.push(SkippedStage {
                    stage: Stage::Segmentation,
                    reason: format!(
                        "{} customers are too few for segmentation.k = {:?}",
                        table.n_customers(),
                        spec.k
                    ),
                });
                None
            }
            other => other.as_ref(),
        };
        let assumptions = assumptions(clv_setup, profitability_setup, has_cost);
        let costs = match profitability_setup {
            Some((model, _, _, activity)) => {
                progress(Stage::Costs);
                Some(price(table.frame(), model, activity.as_ref())?)
            }
            None => None,
        };
        // The channel mix reads the table's channel counts at the segmentation step;
        // otherwise only the summary is kept.
        let (summary, mix_table) = match segmentation_setup {
            Some((_, true)) => (table.summary()?, Some(table)),
            _ => (table.into_summary()?, None),
        };
        let churn = if self.config.cohorts.contractual {
            let period = self.config.cohorts.period;
            let rate = self.config.cohorts.annual_discount_rate;
            match contractual_churn(&summary, period, rate, &FitOptions::default()) {
                Ok(churn) => Some(churn),
                // The data cannot support it: the other stages run.
                Err(
                    e @ (Error::EmptyTable { .. }
                    | Error::NotConverged { .. }
                    | Error::Model { .. }),
                ) => {
                    skipped.push(SkippedStage {
                        stage: Stage::Cohorts,
                        reason: format!("cohorts.contractual: the sBG model cannot be fitted: {e}"),
                    });
                    None
                }
                Err(e) => return Err(e),
            }
        } else {
            None
        };
        progress(Stage::Rfm);
        let rfm = summary.rfm(&self.rfm)?;

        let mut customers = summary.frame().clone();
        let rfm_frame = rfm.frame();
        same_customers(&customers, rfm_frame, "rfm")?;
        for (from, to) in [
            ("r_score", "r_score"),
            ("f_score", "f_score"),
            ("m_score", "m_score"),
            ("rfm_score", "rfm_score"),
            ("segment", "rfm_segment"),
        ] {
            let mut c = rfm_frame.column(from)?.clone();
            c.rename(to.into());
            customers.with_column(c)?;
        }

        let (clv, checks, model_comparison, clv_used) = match clv_setup {
            Some((settings, period)) => {
                progress(Stage::Clv);
                // `auto`: compare the purchase models on the fitted period and score with
                // the chosen one (refitted on the scoring period when that differs).
                let mut settings = settings.clone();
                let comparison = if self.clv_auto {
                    let c = compare_models(&summary, &settings.fit)?;
                    settings.model = c.chosen_model()?;
                    Some(c)
                } else {
                    None
                };
                let out = clv_table_on(&summary, &settings, *period)?;
                same_customers(&customers, &out.frame, "clv")?;
                for name in CLV_COLUMNS {
                    customers.with_column(out.frame.column(name)?.clone())?;
                }
                // The interval bounds, when the settings asked for them.
                for name in BOUND_COLUMNS {
                    if let Ok(c) = out.frame.column(name) {
                        customers.with_column(c.clone())?;
                    }
                }
                progress(Stage::Checks);
                // The checks' model is the purchase model fitted on the fitted period:
                // without a calibration end the scoring fit, with `auto` the comparison's
                // fit (same data, same options); reuse it instead of fitting again.
                let fitted = match &comparison {
                    _ if summary.calibration_end().is_none() => Some(out.purchase.clone()),
                    Some(c) => Some(c.chosen_fit()?.clone()),
                    None => None,
                };
                let checks = match fitted {
                    Some(model) => {
                        let (histogram, holdout) = purchase_checks(&model, &summary)?;
                        let tracking = tracking_of(&model, &summary)?;
                        FitOutcome {
                            model,
                            excluded: None,
                            holdout,
                            histogram,
                            tracking,
                        }
                    }
                    None => fit_summary(settings.model, &summary, &settings.fit)?,
                };
                (
                    Some(out),
                    Some(checks),
                    comparison,
                    Some((settings, *period)),
                )
            }
            None => (None, None, None, None),
        };

        // Profitability columns first: the segment profiles use gross_profit.
        let profitability = match (costs, profitability_setup) {
            (Some(table), Some((_, split, axis, _))) => {
                progress(Stage::Profitability);
                let p = matrix(table, rfm_frame, *split, *axis)?;
                let mut names = vec![
                    "revenue",
                    "cogs",
                    "cost_to_serve",
                    "net_contribution",
                    "margin_pct",
                    "cts_share",
                    "quadrant",
                    "tier",
                ];
                if customers.column("gross_profit").is_err() {
                    names.insert(2, "gross_profit");
                }
                let aligned = align(&customers, &p.table, &names)?;
                for c in aligned {
                    customers.with_column(c)?;
                }
                Some(p)
            }
            _ => None,
        };
        let whatif = match (self.config.whatif.retention, &clv, &clv_used) {
            (Some(points), Some(base), Some((settings, period))) => {
                progress(Stage::WhatIf);
                let inputs = WhatIfRun {
                    points,
                    settings,
                    scoring: *period,
                    profitability: profitability.as_ref(),
                };
                match self.whatif(&summary, base, &mut customers, inputs)? {
                    Ok(w) => Some(w),
                    Err(reason) => {
                        skipped.push(SkippedStage {
                            stage: Stage::WhatIf,
                            reason,
                        });
                        None
                    }
                }
            }
            _ => None,
        };
        let segmentation = match segmentation_setup {
            Some((spec, channel_mix)) => {
                progress(Stage::Segmentation);
                // The customers already carry the CLV columns: none to add.
                let settings = SegmentSettings::new(spec.clone(), *channel_mix);
                let out = segment(&customers, mix_table.as_ref(), &settings, None)?;
                customers = out.customers;
                Some(out.segmentation)
            }
            None => None,
        };
        let mut notes = clv.as_ref().map(|c| c.notes.clone()).unwrap_or_default();
        if let Some(c) = &model_comparison {
            notes.push(format!(
                "clv.model = \"auto\": the CLV stage used {}, chosen among bg-nbd, mbg-nbd and pareto-nbd by {}",
                c.chosen.map_or("no model", |k| k.name()),
                c.rule.describe()
            ));
        }

        progress(Stage::Assemble);
        Ok(PipelineOutput {
            customers,
            summary,
            rfm,
            clv,
            checks,
            model_comparison,
            segmentation,
            profitability,
            cohorts: cohort_table,
            whatif,
            churn,
            notes,
            skipped,
            assumptions,
            engine,
        })
    }
}

/// What the what-if step takes from the run.
struct WhatIfRun<'a> {
    points: f64,
    /// The CLV stage's settings (with `auto`, the chosen model).
    settings: &'a ClvSettings,
    scoring: ScoringPeriod,
    profitability: Option<&'a Profitability>,
}

impl Pipeline {
    /// The retention what-if on the CLV stage's scores (refitted on the full period
    /// when the stage scored the calibration period), grouped by quadrant or RFM
    /// segment; adds `clv_whatif` to `customers`. The inner `Err` is why it cannot run
    /// on these data (a change out of reach, a model without dropout), for the skipped
    /// list.
    fn whatif(
        &self,
        summary: &Summary,
        base: &ClvOutcome,
        customers: &mut DataFrame,
        run: WhatIfRun<'_>,
    ) -> Result<std::result::Result<WhatIf, String>> {
        let c = &self.config.whatif;
        let mut settings = WhatIfSettings::new(run.points);
        settings.clv = run.settings.clone();
        settings.period = c.period_in(self.config.time.time_unit);
        let refitted;
        let base = if run.scoring == ScoringPeriod::Full || summary.calibration_end().is_none() {
            base
        } else {
            let mut full = run.settings.clone();
            full.interval = None;
            refitted = clv_table_on(summary, &full, ScoringPeriod::Full)?;
            &refitted
        };
        let by = c.by.unwrap_or(if run.profitability.is_some() {
            WhatIfGroup::Quadrant
        } else {
            WhatIfGroup::Segment
        });
        settings.by = Some(by);
        if by == WhatIfGroup::Quadrant && run.profitability.is_none() {
            // Asked for by quadrant, but the matrix was skipped (no cost rates, say).
            return Ok(Err(
                "whatif.by = \"quadrant\": the profitability matrix did not run (see its reason); group by segment or give the costs it needs".into(),
            ));
        }
        let text = |name: &str| -> Result<Vec<String>> {
            Ok(customers
                .column(name)?
                .str()?
                .iter()
                .map(|v| v.unwrap_or("(none)").to_string())
                .collect())
        };
        let groups = match by {
            WhatIfGroup::Quadrant => text("quadrant")?,
            _ => text("rfm_segment")?,
        };
        // Historic cost-to-serve per order, where the matrix priced the customer.
        let cost_per_order = match run.profitability {
            Some(p) => {
                let orders = align(customers, &p.table, &["orders"])?;
                let orders = orders[0]
                    .as_materialized_series()
                    .cast(&DataType::Float64)?;
                let cts = customers
                    .column("cost_to_serve")?
                    .cast(&DataType::Float64)?;
                let per_order: Vec<Option<f64>> = cts
                    .f64()?
                    .iter()
                    .zip(orders.f64()?.iter())
                    .map(|(c, o)| match (c, o) {
                        (Some(c), Some(o)) if o > 0.0 => Some(c / o),
                        _ => None,
                    })
                    .collect();
                Some(per_order)
            }
            None => None,
        };
        match whatif_on(
            summary,
            base,
            &settings,
            Some(&groups),
            cost_per_order.as_deref(),
        ) {
            Ok(mut w) => {
                let mut scenario = w.customers.column("clv_after")?.clone();
                scenario.rename("clv_whatif".into());
                customers.with_column(scenario)?;
                // The figures stay; the per-customer columns live in `customers`.
                w.customers = DataFrame::empty();
                Ok(Ok(w))
            }
            Err(Error::InvalidOption { option, reason })
                if matches!(
                    option.as_str(),
                    "whatif.retention" | "clv.model" | "clv.covariates"
                ) =>
            {
                Ok(Err(format!("{option}: {reason}")))
            }
            Err(e) => Err(e),
        }
    }
}

/// Whether `n` customers can be clustered under `spec`'s k (a range needs more customers
/// than its smallest k: a k is compared by silhouette only below n).
fn enough_customers(spec: &SegmentationSpec, n: usize) -> bool {
    match spec.k {
        KChoice::Fixed(k) => k <= n,
        KChoice::Range(lo, _) => lo < n,
    }
}

/// The assumptions in force that the data do not give, as sentences naming the setting.
fn assumptions(
    clv: Option<&(ClvSettings, ScoringPeriod)>,
    profitability: Option<&(CostModel, Split, MatrixAxis, Option<DataFrame>)>,
    has_cost: bool,
) -> Vec<String> {
    let mut out = Vec::new();
    if let Some((s, _)) = clv {
        out.push(match s.margin {
            MarginSource::Rate(1.0) => "CLV is revenue, not profit: no margin is applied (clv.margin = 1; set a gross margin rate, --margin)".to_string(),
            MarginSource::Rate(m) => format!("CLV applies a gross margin of {m} to every customer's spend (clv.margin)"),
            MarginSource::Cost => "CLV applies each customer's own margin from the cost column (clv.margin = \"cost\")".to_string(),
        });
        out.push(format!(
            "CLV horizon {} time units, discounted at {} per time unit in steps of {} (clv.horizon, clv.discount_rate, clv.step)",
            s.horizon, s.discount_rate, s.step
        ));
        if let Some(iv) = &s.interval {
            out.push(format!(
                "CLV intervals ({:.0}%, {} {} draws, seed {}) reflect the uncertainty of the fitted parameters only, not whether the model's form fits the customers (clv.interval, clv.draws, clv.bootstrap, clv.seed)",
                100.0 * iv.level,
                iv.draws,
                iv.method.name(),
                iv.seed
            ));
        }
    }
    if let Some((model, split, axis, activity)) = profitability {
        if let (false, Some(m)) = (has_cost, model.margin_rate) {
            out.push(format!(
                "cost of goods is (1 - {m}) x revenue for every customer: the data have no cost column (costs.margin_rate)"
            ));
        }
        // The stage runs only when some activity is priced, so the list is never empty;
        // a rate left at zero is left out: the crate sets no cost the user did not give.
        let mut rates: Vec<String> = model
            .rates()
            .into_iter()
            .filter(|(_, v)| *v != 0.0)
            .map(|(name, v)| format!("{name} {v}"))
            .collect();
        rates.extend(
            model
                .per_channel_order
                .iter()
                .filter(|(_, v)| **v != 0.0)
                .map(|(ch, v)| format!("per_channel_order.{ch} {v}")),
        );
        if model.discount_rate != 0.0 {
            rates.push(format!("discount_rate {}", model.discount_rate));
        }
        out.push(format!(
            "cost-to-serve rates in force (costs.*; every other rate is zero): {}",
            rates.join(", ")
        ));
        if activity.is_none() && (model.per_service_contact != 0.0 || model.per_visit != 0.0) {
            out.push("no activity table: service contacts and visits count as zero (profitability.activity)".to_string());
        }
        let axis = match axis {
            MatrixAxis::Margin => "gross margin %",
            MatrixAxis::Contribution => "gross profit",
        };
        out.push(format!("the matrix splits each axis at its {split} (profitability.split); first axis {axis} (profitability.axis)"));
    }
    out
}

/// Fails unless `other` has the same `customer_id` column as `base` (same order): the
/// stages computed from one summary keep its rows.
fn same_customers(base: &DataFrame, other: &DataFrame, stage: &str) -> Result<()> {
    if base
        .column("customer_id")?
        .equals_missing(other.column("customer_id")?)
    {
        Ok(())
    } else {
        Err(Error::Model {
            model: "pipeline".into(),
            reason: format!("the {stage} stage returned other customers than the summary"),
        })
    }
}

/// `columns` of `other` in the row order of `base`, matched by `customer_id` (null for
/// customers `other` lacks).
fn align(base: &DataFrame, other: &DataFrame, columns: &[&str]) -> Result<Vec<Column>> {
    let pick = |df: &DataFrame| -> Result<Vec<Column>> {
        columns.iter().map(|c| Ok(df.column(c)?.clone())).collect()
    };
    if base
        .column("customer_id")?
        .equals_missing(other.column("customer_id")?)
    {
        return pick(other);
    }
    let text = crate::io::frame::customer_ids_as_text;
    let index: HashMap<String, IdxSize> = text(other)?
        .into_iter()
        .enumerate()
        .filter_map(|(i, id)| Some((id?, i as IdxSize)))
        .collect();
    let rows: IdxCa = text(base)?
        .into_iter()
        .map(|id| id.and_then(|id| index.get(&id).copied()))
        .collect();
    pick(&other.take(&rows)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn align_matches_by_id_and_fills_missing_with_null() {
        let base = df!("customer_id" => ["b", "a", "c"]).unwrap();
        let other = df!("customer_id" => ["a", "b"], "v" => [1.0, 2.0]).unwrap();
        let cols = align(&base, &other, &["v"]).unwrap();
        let v: Vec<Option<f64>> = cols[0].f64().unwrap().iter().collect();
        assert_eq!(v, vec![Some(2.0), Some(1.0), None]);
    }
}
