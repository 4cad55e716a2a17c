//! The models with covariates: gradients against central differences, the plain model
//! at zero coefficients, recovery of known coefficients from simulated data.

use super::*;
use crate::clv::fit::Model;
use crate::clv::{BgNbd, GammaGamma, ParetoNbd, RepeatData, SpendData};

fn small_repeat() -> (Vec<f64>, Vec<f64>, Vec<f64>, Covariates) {
    let x = vec![0.0, 1.0, 3.0, 0.0, 2.0, 5.0, 1.0, 0.0, 4.0, 2.0];
    let t_x = vec![0.0, 5.0, 20.0, 0.0, 12.0, 30.0, 3.0, 0.0, 25.0, 8.0];
    let t = vec![30.0, 32.0, 35.0, 20.0, 33.0, 36.0, 31.0, 25.0, 34.0, 28.0];
    let z = Covariates::new(
        vec!["web".into(), "age".into()],
        vec![
            vec![0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0],
            vec![0.3, -1.2, 0.5, 2.0, -0.4, 1.1, 0.0, -0.7, 0.9, 0.2],
        ],
    )
    .unwrap();
    (x, t_x, t, z)
}

/// The analytic gradient of the total negative log-likelihood in
/// `[ln base, coefficients]` against central differences of the value.
fn check_gradient<M: CovariateModel>(data: &M::CovData, base: &[f64], coefs: &[f64]) {
    let (_, g) = fit::test_neg_ll::<M>(base, coefs, data, true);
    let nb = base.len();
    for j in 0..nb + coefs.len() {
        let h = 1e-6;
        let at = |d: f64| {
            let mut b = base.to_vec();
            let mut c = coefs.to_vec();
            if j < nb {
                b[j] *= d.exp();
            } else {
                c[j - nb] += d;
            }
            fit::test_neg_ll::<M>(&b, &c, data, false).0
        };
        let fd = (at(h) - at(-h)) / (2.0 * h);
        assert!(
            (fd - g[j]).abs() <= 1e-5 * (1.0 + fd.abs()),
            "parameter {j}: analytic {} vs central difference {fd}",
            g[j]
        );
    }
}

#[test]
fn covariate_gradients_match_central_differences() {
    let (x, t_x, t, z) = small_repeat();
    let data = CovariateRepeatData::new(&x, &t_x, &t, &z).unwrap();
    check_gradient::<BgNbd>(
        &data,
        &[0.7, 4.0, 0.9, 2.2],
        &[0.3, -0.2, 0.1, 0.4, -0.5, 0.2],
    );
    let m = vec![0.0, 20.0, 35.5, 0.0, 12.0, 40.0, 9.0, 0.0, 22.0, 17.0];
    let sd = CovariateSpendData::new(&x, &m, &z.select(&[true; 10])).unwrap();
    check_gradient::<GammaGamma>(&sd, &[3.0, 4.0, 15.0], &[0.3, -0.2]);
    // Both sides of the 2F1 branch (α ≥ β and α < β).
    check_gradient::<ParetoNbd>(&data, &[0.7, 4.0, 0.9, 6.0], &[0.3, -0.2, 0.1, 0.4]);
    check_gradient::<ParetoNbd>(&data, &[0.7, 8.0, 0.9, 3.0], &[0.3, -0.2, 0.1, 0.4]);
}

#[test]
fn covariate_paretonbd_likelihood_at_zero_coefficients_is_the_plain_one() {
    let (x, t_x, t, z) = small_repeat();
    let data = CovariateRepeatData::new(&x, &t_x, &t, &z).unwrap();
    let p = [0.7, 4.0, 0.9, 6.0];
    let (cov, _) = fit::test_neg_ll::<ParetoNbd>(&p, &[0.0; 4], &data, false);
    let plain_data = RepeatData::new(&x, &t_x, &t).unwrap();
    let (plain, _) = ParetoNbd::neg_ll(&p, &plain_data, None);
    assert!(
        (cov - plain).abs() < 1e-10 * plain.abs(),
        "{cov} vs {plain}"
    );
}

#[test]
fn covariate_likelihood_at_zero_coefficients_is_the_plain_one() {
    let (x, t_x, t, z) = small_repeat();
    let data = CovariateRepeatData::new(&x, &t_x, &t, &z).unwrap();
    let p = [0.7, 4.0, 0.9, 2.2];
    let (cov, _) = fit::test_neg_ll::<BgNbd>(&p, &[0.0; 6], &data, false);
    let (plain, _) = BgNbd::neg_ll(&p, &RepeatData::new(&x, &t_x, &t).unwrap(), None);
    assert!(
        (cov - plain).abs() < 1e-10 * plain.abs(),
        "{cov} vs {plain}"
    );
}

#[test]
fn covariate_fit_without_columns_is_the_plain_fit() {
    let (x, t_x, t, _) = small_repeat();
    let data = CovariateRepeatData::new(&x, &t_x, &t, &Covariates::none(x.len())).unwrap();
    let fit = CovariateFit::<BgNbd>::fit(&data, &Default::default()).unwrap();
    let plain = BgNbd::fitter()
        .fit(&RepeatData::new(&x, &t_x, &t).unwrap())
        .unwrap();
    for (a, b) in fit.base().iter().zip(plain.params()) {
        assert!((a - b).abs() <= 1e-6 * b.abs(), "{a} vs {b}");
    }
    assert_eq!(fit.likelihood_ratio().df, 0);
    assert_eq!(fit.likelihood_ratio().p_value, 1.0);
    let ll = plain.report().unwrap().log_likelihood;
    assert!((fit.report().log_likelihood - ll).abs() < 1e-9 * ll.abs());
}

/// The fit that hung: Pareto/NBD on ten customers, whose plain fit walks to `s → 0` with
/// `α ≫ β`, where the likelihood's 2F1 series needed billions of terms. It now ends, with
/// estimates or with a typed error, and the likelihood stays finite along the way.
#[test]
fn covariate_paretonbd_fit_on_ten_customers_ends() {
    let (x, t_x, t, z) = small_repeat();
    let data = CovariateRepeatData::new(&x, &t_x, &t, &z).unwrap();
    match CovariateFit::<ParetoNbd>::fit(&data, &Default::default()) {
        Ok(fit) => {
            assert!(fit.report().log_likelihood.is_finite());
            assert_eq!(fit.param_names()[6], "dropout.web");
        }
        Err(e) => assert!(matches!(e, Error::NotConverged { .. }), "{e}"),
    }
}

#[test]
fn covariate_penalizer_is_refused() {
    let (x, t_x, t, z) = small_repeat();
    let data = CovariateRepeatData::new(&x, &t_x, &t, &z).unwrap();
    let opts = crate::clv::FitOptions {
        penalizer: 0.01,
        ..Default::default()
    };
    let e = CovariateFit::<BgNbd>::fit(&data, &opts).unwrap_err();
    assert!(matches!(e, Error::InvalidOption { ref option, .. } if option == "clv.fit.penalizer"));
}

#[test]
fn covariate_spend_data_keeps_repeat_customers_with_their_rows() {
    let (x, _, _, z) = small_repeat();
    let m = vec![0.0, 20.0, 35.5, 0.0, 12.0, 40.0, 9.0, 0.0, 22.0, 17.0];
    let d = CovariateSpendData::new(&x, &m, &z).unwrap();
    let plain = SpendData::new(&x, &m).unwrap();
    assert_eq!(d.n_customers(), plain.n_customers());
    assert_eq!(d.n_customers(), 7.0);
}

#[cfg(feature = "frames")]
mod simulated {
    use super::*;
    use crate::simulate::{Process, simulate_covariate_repeat_data, simulate_covariate_spend};

    /// `n` customers: `web` in {0, 1} and `tenure` in {−1, 0, 1}, so rows compress on z.
    fn design(n: usize) -> Covariates {
        let web = (0..n).map(|i| (i % 2) as f64).collect();
        let tenure = (0..n).map(|i| ((i / 2) % 3) as f64 - 1.0).collect();
        Covariates::new(vec!["web".into(), "tenure".into()], vec![web, tenure]).unwrap()
    }

    fn within_two_se(fit: &CovariateFit<impl CovariateModel>, truth: &[f64]) {
        let se = &fit.report().standard_errors;
        for (((name, est), s), t) in fit.params().iter().zip(se).zip(truth) {
            eprintln!("{name}: {est:.4} ± {s:.4} (truth {t})");
        }
        for (((name, est), s), t) in fit.params().iter().zip(se).zip(truth) {
            assert!(
                s.is_finite() && (est - t).abs() <= 2.0 * s,
                "{name}: {est} ± {s} vs {t}"
            );
        }
    }

    const BASE: [f64; 4] = [0.8, 5.0, 0.8, 2.5];

    #[test]
    fn covariate_bgnbd_recovers_known_coefficients() {
        let n = 8_000;
        let z = design(n);
        let coefs = [0.5, -0.3, 0.4, 0.0, -0.3, 0.2];
        let p = Process::BgNbd {
            r: BASE[0],
            alpha: BASE[1],
            a: BASE[2],
            b: BASE[3],
        };
        let s = simulate_covariate_repeat_data(&p, &z, &coefs, 30.0, 52.0, 18).unwrap();
        let data = CovariateRepeatData::new(&s.frequency, &s.recency, &s.t, &z).unwrap();
        let start = std::time::Instant::now();
        let fit = CovariateFit::<BgNbd>::fit(&data, &Default::default()).unwrap();
        eprintln!(
            "fit in {:?}, {} rows, {} iterations, gradient norm {:e}",
            start.elapsed(),
            data.len(),
            fit.report().iterations,
            fit.report().gradient_norm
        );
        let truth: Vec<f64> = BASE.iter().chain(&coefs).copied().collect();
        within_two_se(&fit, &truth);
        let lr = fit.likelihood_ratio();
        eprintln!("LR {lr:?}");
        assert_eq!(lr.df, 6);
        assert!(lr.p_value < 1e-6);
        // Predictions at a customer's z are the plain model's at that customer's parameters.
        let one = fit.for_customer(&[1.0, -1.0]).unwrap();
        let pa = fit.p_alive(3.0, 20.0, 40.0, &[1.0, -1.0]).unwrap();
        assert_eq!(
            pa,
            crate::clv::PurchaseModel::p_alive(&one, 3.0, 20.0, 40.0)
        );
    }

    #[test]
    fn covariate_bgnbd_with_zero_coefficients_fits_as_the_plain_model() {
        let n = 8_000;
        let z = design(n);
        let p = Process::BgNbd {
            r: BASE[0],
            alpha: BASE[1],
            a: BASE[2],
            b: BASE[3],
        };
        let s = simulate_covariate_repeat_data(&p, &z, &[0.0; 6], 30.0, 52.0, 19).unwrap();
        let data = CovariateRepeatData::new(&s.frequency, &s.recency, &s.t, &z).unwrap();
        let fit = CovariateFit::<BgNbd>::fit(&data, &Default::default()).unwrap();
        let lr = fit.likelihood_ratio();
        eprintln!("zero coefficients: LR {lr:?}");
        within_two_se(
            &fit,
            &BASE.iter().chain(&[0.0; 6]).copied().collect::<Vec<_>>(),
        );
        let plain = fit.plain();
        let se = &fit.report().standard_errors;
        for (j, s) in se.iter().enumerate().take(4) {
            let d = (fit.base()[j] - plain.params()[j]).abs();
            // The same data with more parameters: the base estimates move by estimation
            // noise, well inside a standard error.
            assert!(d <= *s, "{j}: {} vs {}", fit.base()[j], plain.params()[j]);
        }
        assert!(lr.p_value > 0.01);
    }

    #[test]
    fn covariate_gamma_gamma_recovers_known_coefficients() {
        let n = 10_000;
        let z = design(n);
        let p = Process::BgNbd {
            r: BASE[0],
            alpha: BASE[1],
            a: BASE[2],
            b: BASE[3],
        };
        let s = simulate_covariate_repeat_data(&p, &z, &[0.0; 6], 30.0, 52.0, 20).unwrap();
        let truth = [6.0, 4.0, 15.0];
        let coefs = [0.3, -0.2];
        let m = simulate_covariate_spend(truth, &z, &coefs, &s.frequency, 21).unwrap();
        let data = CovariateSpendData::new(&s.frequency, &m, &z).unwrap();
        let start = std::time::Instant::now();
        let fit = CovariateFit::<GammaGamma>::fit(&data, &Default::default()).unwrap();
        eprintln!(
            "fit in {:?}, {} rows, LR {:?}",
            start.elapsed(),
            data.len(),
            fit.likelihood_ratio()
        );
        assert_eq!(fit.param_names()[3], "spend.web");
        within_two_se(&fit, &[6.0, 4.0, 15.0, 0.3, -0.2]);
    }

    const PNBD: [f64; 4] = [0.8, 5.0, 0.6, 12.0];
    const PNBD_COEFS: [f64; 4] = [0.5, -0.3, 0.6, -0.4];

    /// Pareto/NBD data with known coefficients; with `days`, times in whole days
    /// (weeks / 7) as a transaction log gives them (fewer distinct rows).
    fn pareto_data(n: usize, coefs: &[f64], seed: u64, days: bool) -> CovariateRepeatData {
        let z = design(n);
        let p = Process::ParetoNbd {
            r: PNBD[0],
            alpha: PNBD[1],
            s: PNBD[2],
            beta: PNBD[3],
        };
        let s = simulate_covariate_repeat_data(&p, &z, coefs, 30.0, 52.0, seed).unwrap();
        if !days {
            return CovariateRepeatData::new(&s.frequency, &s.recency, &s.t, &z).unwrap();
        }
        let day = |v: f64| (v * 7.0).round() / 7.0;
        let t: Vec<f64> = s.t.iter().map(|&v| day(v)).collect();
        let t_x: Vec<f64> = s
            .recency
            .iter()
            .zip(&s.frequency)
            .zip(&t)
            .map(|((&r, &x), &t)| {
                if x > 0.0 {
                    day(r).clamp(1.0 / 7.0, t)
                } else {
                    0.0
                }
            })
            .collect();
        CovariateRepeatData::new(&s.frequency, &t_x, &t, &z).unwrap()
    }

    fn pareto_recovery(n: usize, seed: u64) {
        let data = pareto_data(n, &PNBD_COEFS, seed, true);
        let start = std::time::Instant::now();
        let fit = CovariateFit::<ParetoNbd>::fit(&data, &Default::default()).unwrap();
        eprintln!(
            "Pareto/NBD: {n} customers, {} rows, fit in {:?}, {} iterations, gradient norm {:e}",
            data.len(),
            start.elapsed(),
            fit.report().iterations,
            fit.report().gradient_norm
        );
        assert_eq!(
            fit.param_names()[4..],
            [
                "purchase.web",
                "purchase.tenure",
                "dropout.web",
                "dropout.tenure"
            ]
        );
        let truth: Vec<f64> = PNBD.iter().chain(&PNBD_COEFS).copied().collect();
        within_two_se(&fit, &truth);
        let lr = fit.likelihood_ratio();
        eprintln!("LR {lr:?}");
        assert_eq!(lr.df, 4);
        assert!(lr.p_value < 1e-3, "{lr:?}");
        // Predictions at a customer's z are the plain model's at its parameters.
        let one = fit.for_customer(&[1.0, -1.0]).unwrap();
        assert_eq!(
            fit.p_alive(3.0, 20.0, 40.0, &[1.0, -1.0]).unwrap(),
            crate::clv::PurchaseModel::p_alive(&one, 3.0, 20.0, 40.0)
        );
    }

    #[test]
    fn covariate_paretonbd_recovers_known_coefficients() {
        pareto_recovery(1_500, 31);
    }

    /// The same on 20,000 customers (about ten times the run time).
    #[test]
    #[ignore = "slow: run with --ignored"]
    fn covariate_paretonbd_recovers_known_coefficients_on_many_customers() {
        pareto_recovery(20_000, 32);
    }

    #[test]
    fn covariate_paretonbd_fit_without_columns_is_the_plain_fit() {
        let d = pareto_data(400, &[0.0; 4], 35, true);
        let rows: Vec<_> = (0..d.len()).map(|i| d.row(i)).collect();
        // Expand the compressed rows back to customers.
        let (mut x, mut t_x, mut t) = (vec![], vec![], vec![]);
        for (xi, txi, ti, _, w) in rows {
            for _ in 0..w as usize {
                x.push(xi);
                t_x.push(txi);
                t.push(ti);
            }
        }
        let data = CovariateRepeatData::new(&x, &t_x, &t, &Covariates::none(x.len())).unwrap();
        let fit = CovariateFit::<ParetoNbd>::fit(&data, &Default::default()).unwrap();
        let plain = ParetoNbd::fitter()
            .fit(&RepeatData::new(&x, &t_x, &t).unwrap())
            .unwrap();
        for (a, b) in fit.base().iter().zip(plain.params()) {
            assert!((a - b).abs() <= 1e-6 * b.abs(), "{a} vs {b}");
        }
        assert_eq!(fit.likelihood_ratio().df, 0);
        assert_eq!(fit.likelihood_ratio().p_value, 1.0);
        let ll = plain.report().unwrap().log_likelihood;
        assert!((fit.report().log_likelihood - ll).abs() < 1e-9 * ll.abs());
    }

    #[test]
    fn covariate_paretonbd_with_zero_coefficients_fits_as_the_plain_model() {
        let data = pareto_data(1_500, &[0.0; 4], 33, true);
        let fit = CovariateFit::<ParetoNbd>::fit(&data, &Default::default()).unwrap();
        let lr = fit.likelihood_ratio();
        eprintln!("Pareto/NBD zero coefficients: LR {lr:?}");
        within_two_se(
            &fit,
            &PNBD.iter().chain(&[0.0; 4]).copied().collect::<Vec<_>>(),
        );
        let se = &fit.report().standard_errors;
        for (j, s) in se.iter().enumerate().take(4) {
            let d = (fit.base()[j] - fit.plain().params()[j]).abs();
            assert!(
                d <= *s,
                "{j}: {} vs {}",
                fit.base()[j],
                fit.plain().params()[j]
            );
        }
        assert!(lr.p_value > 0.01, "{lr:?}");
    }

    #[test]
    fn covariate_paretonbd_fit_is_identical_on_one_and_two_threads() {
        // More than one chunk of rows (2,048), so the sums run in parallel.
        let data = pareto_data(2_200, &PNBD_COEFS, 34, false);
        assert!(data.len() > 2_048);
        let fit_on = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| CovariateFit::<ParetoNbd>::fit(&data, &Default::default()).unwrap())
        };
        assert_eq!(fit_on(1), fit_on(2));
    }
}

#[cfg(feature = "frames")]
#[test]
fn covariate_fit_is_identical_on_one_and_two_threads() {
    use crate::simulate::{Process, simulate_covariate_repeat_data};
    let n = 3_000; // more than one chunk of rows, so the sums run in parallel
    let z = Covariates::new(
        vec!["web".into()],
        vec![(0..n).map(|i| (i % 2) as f64).collect()],
    )
    .unwrap();
    let p = Process::BgNbd {
        r: 0.8,
        alpha: 5.0,
        a: 0.8,
        b: 2.5,
    };
    let s = simulate_covariate_repeat_data(&p, &z, &[0.3, 0.2, -0.1], 30.0, 52.0, 5).unwrap();
    let data = CovariateRepeatData::new(&s.frequency, &s.recency, &s.t, &z).unwrap();
    let fit_on = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| CovariateFit::<BgNbd>::fit(&data, &Default::default()).unwrap())
    };
    assert_eq!(fit_on(1), fit_on(2));
}
