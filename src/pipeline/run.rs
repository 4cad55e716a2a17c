//! [`Pipeline::run_with`]: the stages in order on one customer table, and the joins of
//! their results into one row per customer.

use std::collections::HashMap;

use polars::prelude::*;

use crate::error::{Error, Result};
use crate::profitability::{analyse_table, cost_table};
use crate::segmentation::{FeatureSpec, Scale, segment};
use crate::stages::clv::{ClvSettings, SpendSource, clv_table_on};
use crate::stages::fit::{FitOutcome, fit_summary, purchase_checks};
use crate::transactions::Transactions;
use crate::transactions::aggregate::CustomerTable;

use super::{Pipeline, PipelineOutput, Stage};

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
        let mut notes = Vec::new();
        progress(Stage::Clean);
        let clean = tx.clean(options)?;
        // One aggregation pass gives every per-customer figure: the summary, the
        // activity counts cost-to-serve prices, the channel counts and the cohorts.
        progress(Stage::Summary);
        let table = CustomerTable::from_clean(clean, options, Some(self.config.cohorts.period))?;
        progress(Stage::Cohorts);
        let cohort_table = crate::stages::cohorts::cohorts(&table)?;
        let costs = match &self.profitability {
            Some((model, _, _, activity)) => {
                progress(Stage::Costs);
                Some(cost_table(table.frame(), model, activity.as_ref())?)
            }
            None => None,
        };
        let mix = match &self.segmentation {
            Some((_, true)) => Some(crate::segmentation::channel_shares(table.frame())?),
            _ => None,
        };
        let summary = table.into_summary()?;
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

        let (clv, checks) = match &self.clv {
            Some((settings, period)) => {
                progress(Stage::Clv);
                let out = match clv_table_on(&summary, settings, *period) {
                    Err(first) if settings.spend == SpendSource::GammaGamma => {
                        // The purchase fit is deterministic: when the same run with
                        // historic spend succeeds, the failure was Gamma-Gamma's.
                        let historic = ClvSettings {
                            spend: SpendSource::Historic,
                            ..settings.clone()
                        };
                        let out = clv_table_on(&summary, &historic, *period)?;
                        notes.push(format!(
                            "Gamma-Gamma could not give expected spend ({first}); CLV uses each customer's historic mean repeat spend instead"
                        ));
                        out
                    }
                    other => other?,
                };
                same_customers(&customers, &out.frame, "clv")?;
                for name in ["p_alive", "expected_purchases", "expected_spend", "clv"] {
                    customers.with_column(out.frame.column(name)?.clone())?;
                }
                progress(Stage::Checks);
                // Without a calibration end the checks' fit is the scoring fit (same
                // customers, same data): reuse it instead of fitting again.
                let checks = if summary.calibration_end().is_none() {
                    let (histogram, holdout) = purchase_checks(&out.purchase, &summary)?;
                    FitOutcome {
                        model: out.purchase.clone(),
                        excluded: None,
                        holdout,
                        histogram,
                    }
                } else {
                    fit_summary(settings.model, &summary, &settings.fit)?
                };
                (Some(out), Some(checks))
            }
            None => (None, None),
        };

        // Profitability columns first: the segment profiles use gross_profit.
        let profitability = match (costs, &self.profitability) {
            (Some(table), Some((_, split, axis, _))) => {
                progress(Stage::Profitability);
                let p = analyse_table(table, rfm_frame, *split, *axis)?;
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
        let segmentation = match &self.segmentation {
            Some((spec, _)) => {
                progress(Stage::Segmentation);
                let mut spec = spec.clone();
                if let Some(mix) = &mix {
                    same_customers(&customers, mix, "channel mix")?;
                    for c in mix.columns().iter().skip(1) {
                        customers.with_column(c.clone())?;
                        if !spec.features.iter().any(|f| f.column == c.name().as_str()) {
                            spec.features.push(FeatureSpec {
                                column: c.name().to_string(),
                                log1p: false,
                                scale: Scale::Standardize,
                            });
                        }
                    }
                }
                let seg = segment(&customers, &spec)?;
                customers.with_column(Column::new(
                    "cluster".into(),
                    seg.assignments
                        .iter()
                        .map(|&s| s as u32)
                        .collect::<Vec<_>>(),
                ))?;
                let labels: Vec<&str> = seg
                    .assignments
                    .iter()
                    .map(|&s| {
                        seg.profiles
                            .iter()
                            .find(|p| p.segment == s)
                            .map_or("", |p| p.label.as_str())
                    })
                    .collect();
                customers.with_column(Column::new("cluster_label".into(), labels))?;
                Some(seg)
            }
            None => None,
        };

        progress(Stage::Assemble);
        Ok(PipelineOutput {
            customers,
            summary,
            rfm,
            clv,
            checks,
            segmentation,
            profitability,
            cohorts: cohort_table,
            notes,
        })
    }
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
