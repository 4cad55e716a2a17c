//! Per-customer intervals for fits with covariates: every customer re-scored at their
//! own parameters under each joint draw ([`super::draws`]) of the purchase model (and of
//! Gamma-Gamma with covariates when it gives the spend), then the per-customer and
//! customer-equity quantiles, in the [`ScoreIntervals`] shape of the plain path.
//!
//! Customers are grouped by their covariate row (as [`super::score`] does) and sorted by
//! `(group, x, T, t_x)` into fixed chunks; each chunk builds its groups' models per draw,
//! and the per-draw sums are added in chunk order, so the result is the same on any
//! number of threads. Draw `d` of the purchase model is paired with draw `d` of the spend
//! model (they were fitted independently, so they are drawn independently).

use crate::clv::covariates::draws::CovariateDraws;
use crate::clv::covariates::score::groups;
use crate::clv::covariates::{CovariateModel, Covariates};
use crate::clv::interval::{ChunkModels, DrawModels, ScoreIntervals, score_draws};
use crate::clv::value::{ClvOptions, CustomerInputs};
use crate::clv::{Fitted, GammaGamma, PurchaseModel};
use crate::error::{Error, Result};

/// The covariate draws with the groups' covariate rows.
struct Grouped<'a, M> {
    purchase: &'a CovariateDraws<M>,
    spend: Option<&'a CovariateDraws<GammaGamma>>,
    rows: &'a [Vec<f64>],
}

/// Each draw's model of each group `first..=last`, group-major.
fn build<M: CovariateModel>(
    draws: &CovariateDraws<M>,
    rows: &[Vec<f64>],
    first: u32,
    last: u32,
    check: impl Fn(&Fitted<M>, usize) -> Result<()>,
) -> Result<Vec<Fitted<M>>> {
    let n = draws.values.len();
    let mut out = Vec::with_capacity((last - first + 1) as usize * n);
    for row in &rows[first as usize..=last as usize] {
        for d in 0..n {
            let m = draws.for_customer(d, row)?;
            check(&m, d)?;
            out.push(m);
        }
    }
    Ok(out)
}

impl<M: CovariateModel + Sync> DrawModels for Grouped<'_, M>
where
    Fitted<M>: PurchaseModel,
{
    type P = Fitted<M>;

    fn draws(&self) -> usize {
        self.purchase.values.len()
    }

    fn has_spend(&self) -> bool {
        self.spend.is_some()
    }

    fn purchase(&self, first: u32, last: u32) -> Result<ChunkModels<'_, Fitted<M>>> {
        build(self.purchase, self.rows, first, last, |_, _| Ok(())).map(ChunkModels::Owned)
    }

    fn spend(&self, first: u32, last: u32) -> Result<Option<ChunkModels<'_, Fitted<GammaGamma>>>> {
        let Some(spend) = self.spend else {
            return Ok(None);
        };
        let draws = spend.values.len();
        let models = build(spend, self.rows, first, last, |m, d| {
            m.mean_spend().map(|_| ()).map_err(|e| Error::Model {
                model: "gamma-gamma with covariates".into(),
                reason: format!(
                    "draw {} of {draws}: {e}; the spend interval is unbounded (use historic spend)",
                    d + 1
                ),
            })
        })?;
        Ok(Some(ChunkModels::Owned(models)))
    }
}

/// Scores every customer at their own parameters under each draw (`purchase` draw `d`
/// with `spend` draw `d`; historic spend without `spend`) and takes the `level`
/// quantiles per customer and of the per-draw totals, as
/// [`score_intervals`](crate::clv::interval::score_intervals) does for a plain fit. Row
/// `i` of `z` is customer `i`'s covariates, in the draws' covariate order.
///
/// # Errors
///
/// [`Error::InvalidOption`] for a level outside (0, 1), fewer than 2 draws, spend draws
/// of another count, or covariates unlike the draws' (option `covariates`); the checks
/// of [`crate::clv::value::score`]; [`Error::Model`] when a draw's parameters overflow
/// or a spend draw has no finite mean spend (`q <= 1`).
///
/// # Example
///
/// ```
/// use patronage::clv::{BgNbd, ClvOptions};
/// use patronage::clv::covariates::{Covariates, CovariateFit, CovariateRepeatData};
/// use patronage::clv::covariates::draws::asymptotic_covariate_draws;
/// use patronage::clv::covariates::intervals::covariate_score_intervals;
/// use patronage::clv::interval::IntervalOptions;
/// use patronage::clv::value::CustomerInputs;
/// use patronage::simulate::{Process, simulate_covariate_repeat_data};
/// let web: Vec<f64> = (0..400).map(|i| (i % 2) as f64).collect();
/// let z = Covariates::new(vec!["web".into()], vec![web])?;
/// let p = Process::BgNbd { r: 0.8, alpha: 5.0, a: 0.8, b: 2.5 };
/// let s = simulate_covariate_repeat_data(&p, &z, &[0.4, 0.0, 0.0], 30.0, 52.0, 7)?;
/// let fit = CovariateFit::<BgNbd>::fit(&CovariateRepeatData::new(&s.frequency, &s.recency, &s.t, &z)?, &Default::default())?;
/// let draws = asymptotic_covariate_draws(&fit, &IntervalOptions::new(0.9).draws(50))?;
/// let m = vec![10.0; 400];
/// let input = CustomerInputs { x: &s.frequency, t_x: &s.recency, t: &s.t, monetary: &m };
/// let iv = covariate_score_intervals(&draws, None, &z, input, &ClvOptions::default(), 0.9)?;
/// assert!(iv.customer_equity.lo <= iv.customer_equity.hi);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn covariate_score_intervals<M: CovariateModel + Sync>(
    purchase: &CovariateDraws<M>,
    spend: Option<&CovariateDraws<GammaGamma>>,
    z: &Covariates,
    input: CustomerInputs<'_>,
    opts: &ClvOptions,
    level: f64,
) -> Result<ScoreIntervals>
where
    Fitted<M>: PurchaseModel,
{
    let n = input.x.len();
    if z.n_rows() != n {
        return Err(Error::invalid(
            "covariates",
            format!("{} covariate rows for {n} customers", z.n_rows()),
        ));
    }
    let mismatch = |names: &[String]| names != z.names();
    if mismatch(&purchase.covariates) || spend.is_some_and(|s| mismatch(&s.covariates)) {
        return Err(Error::invalid(
            "covariates",
            format!(
                "the draws are of fits with other covariates than the customers' ({})",
                z.names().join(", ")
            ),
        ));
    }
    if let Some(s) = spend
        && s.values.len() != purchase.values.len()
    {
        return Err(Error::invalid(
            "clv.draws",
            format!(
                "{} spend draws for {} purchase draws",
                s.values.len(),
                purchase.values.len()
            ),
        ));
    }
    let (group_of, rows) = groups(z);
    let source = Grouped {
        purchase,
        spend,
        rows: &rows,
    };
    score_draws(&source, Some(&group_of), input, opts, level)
}

#[cfg(all(test, feature = "frames"))]
mod tests;
