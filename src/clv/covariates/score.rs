//! CLV scoring with covariates: every customer at their own parameters.
//!
//! [`score`] is [`crate::clv::value::score`] with one plain model per distinct covariate
//! row: the customers are grouped by their row of the design matrix (with discrete
//! covariates, a handful of groups), each group's purchase and spend models are the fits'
//! [`CovariateFit::for_customer`] at that row, and the expected purchases if alive are
//! computed once per distinct `(group, x, T)`. Every customer's figures depend only on
//! their own inputs and their group's models, each computed on its own, so the scores
//! are identical on any number of threads; customer equity is summed in input order.

use rayon::prelude::*;

use crate::clv::covariates::{CovariateFit, CovariateModel, Covariates};
use crate::clv::value::{ClvOptions, CustomerInputs, Margin, Scores, discount_grid, pair_value};
use crate::clv::{Fitted, GammaGamma, PurchaseModel};
use crate::error::{Error, Result};

/// Each customer's group (customers with equal covariate rows share one) and each
/// group's covariate row, groups in ascending order of their rows.
pub(crate) fn groups(z: &Covariates) -> (Vec<u32>, Vec<Vec<f64>>) {
    let n = z.n_rows();
    // +0.0 turns -0.0 into 0.0, so equal values have equal bits; the index makes
    // every key unique, so the unstable parallel sort is deterministic.
    let key = |i: usize| -> Vec<u64> { z.row(i).iter().map(|v| (v + 0.0).to_bits()).collect() };
    let mut order: Vec<(Vec<u64>, u32)> =
        (0..n).into_par_iter().map(|i| (key(i), i as u32)).collect();
    order.par_sort_unstable_by(|a, b| {
        // Compare as numbers (bits of negative values do not sort as numbers).
        let ra = z.row(a.1 as usize);
        let rb = z.row(b.1 as usize);
        ra.iter()
            .zip(rb)
            .map(|(x, y)| x.total_cmp(y))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.0.cmp(&b.0))
            .then(a.1.cmp(&b.1))
    });
    let mut group_of = vec![0u32; n];
    let mut rows: Vec<Vec<f64>> = Vec::new();
    let mut last: Option<&[u64]> = None;
    for (k, i) in &order {
        if last != Some(k.as_slice()) {
            rows.push(z.row(*i as usize).to_vec());
            last = Some(k.as_slice());
        }
        group_of[*i as usize] = (rows.len() - 1) as u32;
    }
    (group_of, rows)
}

fn check_names(fit_names: &[String], z: &Covariates, which: &str) -> Result<()> {
    if fit_names != z.names() {
        return Err(Error::invalid(
            "covariates",
            format!(
                "the {which} model was fitted with covariates ({}), the customers have ({})",
                fit_names.join(", "),
                z.names().join(", ")
            ),
        ));
    }
    Ok(())
}

/// Scores every customer at their own parameters: P(alive), expected purchases over the
/// horizon, expected spend (Gamma-Gamma with covariates when given, else the customer's
/// own mean repeat spend) and CLV, as [`crate::clv::value::score`] does for one model.
/// Row `i` of `z` is customer `i`'s covariates, in the fits' covariate order.
///
/// # Errors
///
/// As [`crate::clv::value::score`]; [`Error::InvalidOption`] (option `covariates`) when
/// `z` has another number of rows than the customers or other columns than a fit;
/// [`Error::Model`] when a customer's parameters overflow or the spend model has no
/// finite mean spend (`q <= 1`).
///
/// # Example
///
/// ```
/// use patronage::clv::{BgNbd, ClvOptions};
/// use patronage::clv::covariates::{Covariates, CovariateFit, CovariateRepeatData, score::score};
/// use patronage::clv::value::CustomerInputs;
/// let x = [0.0, 1.0, 3.0, 0.0, 2.0, 5.0, 1.0, 0.0];
/// let t_x = [0.0, 5.0, 20.0, 0.0, 12.0, 30.0, 3.0, 0.0];
/// let t = [30.0, 32.0, 35.0, 20.0, 33.0, 36.0, 31.0, 25.0];
/// let m = [0.0, 20.0, 35.0, 0.0, 15.0, 40.0, 10.0, 0.0];
/// let z = Covariates::new(vec!["web".into()], vec![vec![0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0]])?;
/// let fit = CovariateFit::<BgNbd>::fit(&CovariateRepeatData::new(&x, &t_x, &t, &z)?, &Default::default())?;
/// let input = CustomerInputs { x: &x, t_x: &t_x, t: &t, monetary: &m };
/// let s = score(&fit, None, &z, input, &ClvOptions::default())?;
/// assert_eq!(s.clv.len(), 8);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn score<M: CovariateModel + Send + Sync>(
    purchase: &CovariateFit<M>,
    spend: Option<&CovariateFit<GammaGamma>>,
    z: &Covariates,
    input: CustomerInputs<'_>,
    opts: &ClvOptions,
) -> Result<Scores>
where
    Fitted<M>: PurchaseModel,
{
    crate::clv::value::validate(&input, opts)?;
    let n = input.x.len();
    if z.n_rows() != n {
        return Err(Error::invalid(
            "covariates",
            format!("{} covariate rows for {n} customers", z.n_rows()),
        ));
    }
    check_names(purchase.covariate_names(), z, "purchase")?;
    if let Some(gg) = spend {
        check_names(gg.covariate_names(), z, "spend")?;
    }
    let (group_of, rows) = groups(z);
    let models: Vec<Fitted<M>> = rows
        .par_iter()
        .map(|row| purchase.for_customer(row))
        .collect::<Result<_>>()?;
    let spends: Option<Vec<Fitted<GammaGamma>>> = match spend {
        Some(gg) => Some(
            rows.par_iter()
                .map(|row| {
                    let m = gg.for_customer(row)?;
                    m.mean_spend()?;
                    Ok(m)
                })
                .collect::<Result<_>>()?,
        ),
        None => None,
    };
    let (grid, factors) = discount_grid(opts);
    // Distinct (group, x, T), sorted; each customer's index into them.
    let mut keys: Vec<(u32, u64, u64, u32)> = (0..n)
        .into_par_iter()
        .map(|i| {
            (
                group_of[i],
                (input.x[i] + 0.0).to_bits(),
                (input.t[i] + 0.0).to_bits(),
                i as u32,
            )
        })
        .collect();
    keys.par_sort_unstable();
    let mut pair_of = vec![0u32; n];
    let mut triples: Vec<(u32, f64, f64)> = Vec::new();
    let mut last = None;
    for &(g, xb, tb, i) in &keys {
        if last != Some((g, xb, tb)) {
            triples.push((g, f64::from_bits(xb), f64::from_bits(tb)));
            last = Some((g, xb, tb));
        }
        pair_of[i as usize] = (triples.len() - 1) as u32;
    }
    drop(keys);
    let per_triple: Vec<(f64, f64)> = triples
        .par_iter()
        .map(|&(g, x, t)| pair_value(&models[g as usize], x, t, &grid, &factors))
        .collect::<Result<_>>()?;
    let scored: Vec<[f64; 4]> = (0..n)
        .into_par_iter()
        .map(|i| {
            let (x, tx, t, m) = (input.x[i], input.t_x[i], input.t[i], input.monetary[i]);
            let g = group_of[i] as usize;
            let pa = models[g].p_alive(x, tx, t);
            let (g_h, disc) = per_triple[pair_of[i] as usize];
            let spend = match &spends {
                Some(s) => s[g].conditional_expected_spend(x, m)?,
                None => m,
            };
            let margin = match &opts.margin {
                Margin::Rate(r) => *r,
                Margin::PerCustomer(v) => v[i],
            };
            Ok([pa, pa * g_h, spend, margin * spend * pa * disc])
        })
        .collect::<Result<_>>()?;
    let mut out = Scores {
        p_alive: Vec::with_capacity(n),
        expected_purchases: Vec::with_capacity(n),
        expected_spend: Vec::with_capacity(n),
        clv: Vec::with_capacity(n),
    };
    for r in scored {
        out.p_alive.push(r[0]);
        out.expected_purchases.push(r[1]);
        out.expected_spend.push(r[2]);
        out.clv.push(r[3]);
    }
    Ok(out)
}

#[cfg(all(test, feature = "frames"))]
mod tests {
    use super::*;
    use crate::clv::covariates::{CovariateRepeatData, CovariateSpendData};
    use crate::clv::value;
    use crate::clv::{BgNbd, ParetoNbd};
    use crate::simulate::{Process, simulate_covariate_repeat_data, simulate_covariate_spend};

    /// 1,500 simulated customers with a 0/1 `web` and a continuous `age` covariate.
    fn data() -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>, Covariates) {
        let n = 1_500;
        let web = (0..n).map(|i| (i % 2) as f64).collect();
        let age = (0..n)
            .map(|i| ((i * 7919) % 101) as f64 / 50.0 - 1.0)
            .collect();
        let z = Covariates::new(vec!["web".into(), "age".into()], vec![web, age]).unwrap();
        let p = Process::BgNbd {
            r: 0.8,
            alpha: 5.0,
            a: 0.8,
            b: 2.5,
        };
        let coefs = [0.4, 0.1, -0.3, 0.0, 0.2, 0.0];
        let s = simulate_covariate_repeat_data(&p, &z, &coefs, 30.0, 52.0, 5).unwrap();
        let m =
            simulate_covariate_spend([6.0, 4.0, 15.0], &z, &[0.3, 0.0], &s.frequency, 6).unwrap();
        (s.frequency, s.recency, s.t, m, z)
    }

    /// Scoring all customers at once equals scoring each at their own plain model.
    fn matches_one_by_one<M: CovariateModel<CovData = CovariateRepeatData> + Send + Sync>()
    where
        Fitted<M>: PurchaseModel,
    {
        let (x, t_x, t, m, z) = data();
        let fit = CovariateFit::<M>::fit(
            &CovariateRepeatData::new(&x, &t_x, &t, &z).unwrap(),
            &Default::default(),
        )
        .unwrap();
        let gg = CovariateFit::<GammaGamma>::fit(
            &CovariateSpendData::new(&x, &m, &z).unwrap(),
            &Default::default(),
        )
        .unwrap();
        let opts = ClvOptions {
            discount_rate: 0.01,
            ..ClvOptions::default()
        };
        let input = CustomerInputs {
            x: &x,
            t_x: &t_x,
            t: &t,
            monetary: &m,
        };
        let all = score(&fit, Some(&gg), &z, input, &opts).unwrap();
        for i in (0..x.len()).step_by(37) {
            let one = CustomerInputs {
                x: &x[i..=i],
                t_x: &t_x[i..=i],
                t: &t[i..=i],
                monetary: &m[i..=i],
            };
            let plain = fit.for_customer(z.row(i)).unwrap();
            let spend = gg.for_customer(z.row(i)).unwrap();
            let s = value::score(&plain, Some(&spend), one, &opts).unwrap();
            assert_eq!(s.clv[0], all.clv[i], "customer {i}");
            assert_eq!(s.p_alive[0], all.p_alive[i]);
            assert_eq!(s.expected_spend[0], all.expected_spend[i]);
        }
        // Identical on one and on two threads.
        let on = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| score(&fit, Some(&gg), &z, input, &opts).unwrap())
        };
        assert_eq!(on(1), on(2));
        assert_eq!(on(1), all);
    }

    #[test]
    fn covariate_scores_equal_each_customer_scored_at_their_own_parameters() {
        matches_one_by_one::<BgNbd>();
        matches_one_by_one::<ParetoNbd>();
    }

    #[test]
    fn covariate_scores_refuse_other_covariates() {
        let (x, t_x, t, m, z) = data();
        let fit = CovariateFit::<BgNbd>::fit(
            &CovariateRepeatData::new(&x, &t_x, &t, &z).unwrap(),
            &Default::default(),
        )
        .unwrap();
        let input = CustomerInputs {
            x: &x,
            t_x: &t_x,
            t: &t,
            monetary: &m,
        };
        let other = Covariates::new(
            vec!["other".into()],
            vec![(0..x.len()).map(|i| (i % 3) as f64).collect()],
        )
        .unwrap();
        let e = score(&fit, None, &other, input, &ClvOptions::default()).unwrap_err();
        assert!(matches!(e, Error::InvalidOption { ref option, .. } if option == "covariates"));
        let short = CustomerInputs {
            x: &x[1..],
            t_x: &t_x[1..],
            t: &t[1..],
            monetary: &m[1..],
        };
        let e = score(&fit, None, &z, short, &ClvOptions::default()).unwrap_err();
        assert!(matches!(e, Error::InvalidOption { ref option, .. } if option == "covariates"));
    }
}
