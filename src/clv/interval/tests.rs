//! Unit tests of the parameter draws and the per-customer intervals: determinism on 1
//! and 2 threads, the draws' covariance, agreement with the point scores, and one test
//! per bad input.

use super::coverage::{Process, simulate_purchases, simulate_spend};
use super::*;
use crate::clv::value::score;
use crate::clv::{BgNbd, MbgNbd, ParetoNbd};

const CDNOW: [f64; 4] = [0.243, 4.414, 0.793, 2.426];
const CDNOW_GG: [f64; 3] = [6.25, 3.74, 15.44];

struct Sample {
    x: Vec<f64>,
    t_x: Vec<f64>,
    t: Vec<f64>,
    m: Vec<f64>,
}

impl Sample {
    fn new(customers: usize, seed: u64) -> Self {
        let (x, t_x, t) = simulate_purchases(Process::Geometric, CDNOW, customers, seed);
        let m = simulate_spend(&x, CDNOW_GG, seed + 1);
        Sample { x, t_x, t, m }
    }

    fn input(&self) -> CustomerInputs<'_> {
        CustomerInputs {
            x: &self.x,
            t_x: &self.t_x,
            t: &self.t,
            monetary: &self.m,
        }
    }

    fn repeat(&self) -> RepeatData {
        RepeatData::new(&self.x, &self.t_x, &self.t).unwrap()
    }

    fn spend(&self) -> SpendData {
        SpendData::new(&self.x, &self.m).unwrap()
    }
}

fn discounted() -> ClvOptions {
    ClvOptions {
        horizon: 12.0,
        discount_rate: 0.01,
        step: 4.0,
        margin: Margin::Rate(0.3),
    }
}

fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

#[test]
fn intervals_are_identical_on_one_and_two_threads() {
    let s = Sample::new(1500, 3);
    let options = IntervalOptions::new(0.9).draws(60).seed(11);
    let run = || {
        let bg = BgNbd::fitter().fit(&s.repeat()).unwrap();
        let gg = GammaGamma::fitter().fit(&s.spend()).unwrap();
        let pd = asymptotic_draws(&bg, &options).unwrap();
        let sd = asymptotic_draws(&gg, &options).unwrap();
        let spend = sd.models().unwrap();
        let iv = score_intervals(
            &pd.models().unwrap(),
            Some(&spend),
            s.input(),
            &discounted(),
            0.9,
        )
        .unwrap();
        let boot =
            bootstrap_draws(&gg, &s.spend(), &FitOptions::default(), &options.draws(4)).unwrap();
        (pd, sd, iv, boot)
    };
    let one = on_threads(1, run);
    let two = on_threads(2, run);
    assert_eq!(one, two);
    // The two models' streams differ (even and odd), so their normals do too.
    assert_ne!(
        standard_normals(&mut stream::<BgNbd>(11, 0), 3),
        standard_normals(&mut stream::<GammaGamma>(11, 0), 3)
    );
}

#[test]
fn seed_decides_the_draws() {
    let s = Sample::new(800, 5);
    let fit = BgNbd::fitter().fit(&s.repeat()).unwrap();
    let o = IntervalOptions::default().draws(20);
    let a = asymptotic_draws(&fit, &o).unwrap();
    assert_eq!(a, asymptotic_draws(&fit, &o).unwrap());
    assert_ne!(a, asymptotic_draws(&fit, &o.seed(o.seed + 1)).unwrap());
    // Draw d does not depend on how many draws there are.
    let more = asymptotic_draws(&fit, &o.draws(40)).unwrap();
    assert_eq!(a.values[..], more.values[..20]);
}

#[test]
fn draws_have_the_fit_covariance() {
    let s = Sample::new(2000, 7);
    let fit = BgNbd::fitter().fit(&s.repeat()).unwrap();
    let cov = &fit.report().unwrap().log_covariance;
    let draws = asymptotic_draws(&fit, &IntervalOptions::default().draws(20_000)).unwrap();
    let logs: Vec<Vec<f64>> = draws
        .values
        .iter()
        .map(|p| p.iter().map(|v| v.ln()).collect())
        .collect();
    let n = logs.len() as f64;
    let mean: Vec<f64> = (0..4)
        .map(|j| logs.iter().map(|p| p[j]).sum::<f64>() / n)
        .collect();
    for i in 0..4 {
        // The draws are centred on the estimate in log space.
        let centre = fit.params()[i].ln();
        assert!((mean[i] - centre).abs() < 0.05 * cov[i][i].sqrt() * 4.0);
        for j in 0..4 {
            let c = logs
                .iter()
                .map(|p| (p[i] - mean[i]) * (p[j] - mean[j]))
                .sum::<f64>()
                / (n - 1.0);
            let scale = (cov[i][i] * cov[j][j]).sqrt();
            assert!(
                (c - cov[i][j]).abs() < 0.05 * scale,
                "cov[{i}][{j}]: drawn {c}, fit {}",
                cov[i][j]
            );
        }
    }
    // The standard errors are the same matrix's.
    let se = &fit.report().unwrap().standard_errors;
    for j in 0..4 {
        let want = fit.params()[j] * cov[j][j].sqrt();
        assert!((se[j] - want).abs() <= 1e-12 * want);
    }
}

#[test]
fn draws_at_the_estimate_give_the_point_scores() {
    let s = Sample::new(700, 9);
    let bg = BgNbd::fitter().fit(&s.repeat()).unwrap();
    let gg = GammaGamma::fitter().fit(&s.spend()).unwrap();
    let opts = discounted();
    let point = score(&bg, Some(&gg), s.input(), &opts).unwrap();
    let models = vec![bg.clone(); 3];
    let spend = vec![gg.clone(); 3];
    let iv = score_intervals(&models, Some(&spend), s.input(), &opts, 0.8).unwrap();
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1e-300);
    let spend_bounds = iv.expected_spend.as_ref().unwrap();
    for i in 0..s.x.len() {
        for (b, v) in [
            (&iv.p_alive, point.p_alive[i]),
            (&iv.expected_purchases, point.expected_purchases[i]),
            (spend_bounds, point.expected_spend[i]),
            (&iv.clv, point.clv[i]),
        ] {
            assert!(close(b.lo[i], v) && close(b.hi[i], v), "customer {i}");
        }
    }
    let equity = point.customer_equity();
    assert!(close(iv.customer_equity.lo, equity) && close(iv.customer_equity.hi, equity));
    // Historic spend: no spend bounds.
    let historic = score_intervals(&models, None, s.input(), &opts, 0.8).unwrap();
    assert!(historic.expected_spend.is_none());
}

#[test]
fn intervals_hold_their_estimates_for_each_purchase_model() {
    let s = Sample::new(1200, 13);
    let data = s.repeat();
    let options = IntervalOptions::default().draws(200);
    let opts = discounted();
    fn check<M: Model>(fit: &Fitted<M>, s: &Sample, options: &IntervalOptions, opts: &ClvOptions)
    where
        Fitted<M>: PurchaseModel,
    {
        let models = asymptotic_draws(fit, options).unwrap().models().unwrap();
        let iv = score_intervals(&models, None, s.input(), opts, options.level).unwrap();
        let point = score(fit, None, s.input(), opts).unwrap();
        for i in 0..s.x.len() {
            assert!(0.0 <= iv.p_alive.lo[i] && iv.p_alive.lo[i] <= iv.p_alive.hi[i]);
            assert!(iv.p_alive.hi[i] <= 1.0);
            assert!(iv.expected_purchases.lo[i] <= iv.expected_purchases.hi[i]);
            assert!(iv.clv.lo[i] <= iv.clv.hi[i]);
        }
        let e = point.customer_equity();
        assert!(
            iv.customer_equity.lo < e && e < iv.customer_equity.hi,
            "{}",
            fit.name()
        );
        let p: f64 = point.expected_purchases.iter().sum();
        let t = iv.total_expected_purchases;
        assert!(t.lo < p && p < t.hi, "{}", fit.name());
    }
    check(&BgNbd::fitter().fit(&data).unwrap(), &s, &options, &opts);
    check(&MbgNbd::fitter().fit(&data).unwrap(), &s, &options, &opts);
    check(
        &ParetoNbd::fitter().fit(&data).unwrap(),
        &s,
        &options,
        &opts,
    );
}

#[test]
fn parameter_intervals_are_the_lognormal_ones() {
    // With many draws, the quantiles of the draws are the closed-form interval
    // `theta exp(+-z se_log)` of the coefficient table (at its level).
    let s = Sample::new(2000, 17);
    let fit = BgNbd::fitter().fit(&s.repeat()).unwrap();
    let draws = asymptotic_draws(&fit, &IntervalOptions::default().draws(40_000)).unwrap();
    let ranges = draws.intervals(0.95).unwrap();
    for (c, r) in fit.summary().iter().zip(&ranges) {
        let width = c.upper_95.ln() - c.lower_95.ln();
        assert!(
            (r.lo.ln() - c.lower_95.ln()).abs() < 0.03 * width,
            "{}",
            c.name
        );
        assert!(
            (r.hi.ln() - c.upper_95.ln()).abs() < 0.03 * width,
            "{}",
            c.name
        );
    }
    assert_eq!(draws.names(), ["r", "alpha", "a", "b"]);
}

#[test]
fn bootstrap_refits_vary_around_the_estimate() {
    let s = Sample::new(1500, 19);
    let data = s.repeat();
    let fit = BgNbd::fitter().fit(&data).unwrap();
    let o = IntervalOptions::default().draws(30);
    let boot = bootstrap_draws(&fit, &data, &FitOptions::default(), &o).unwrap();
    assert_eq!(boot.method, IntervalMethod::Bootstrap);
    let ranges = boot.intervals(0.9).unwrap();
    for (j, r) in ranges.iter().enumerate() {
        assert!(
            r.lo < fit.params()[j] && fit.params()[j] < r.hi,
            "parameter {j}"
        );
    }
    // The resamples hold as many customers as the data.
    let counts = multinomial_counts(data.weights(), &mut stream::<BgNbd>(1, 0));
    assert_eq!(counts.iter().sum::<f64>(), data.n_customers());
}

#[test]
fn bad_levels_and_draw_counts_are_typed_errors() {
    let option_of = |e: Error| match e {
        Error::InvalidOption { option, .. } => option,
        other => panic!("expected InvalidOption, got {other:?}"),
    };
    for level in [0.0, 1.0, -0.5, 1.5, f64::NAN, f64::INFINITY] {
        let e = IntervalOptions::new(level).validate().unwrap_err();
        assert_eq!(option_of(e), "clv.interval");
    }
    for draws in [0, 1, MAX_DRAWS + 1] {
        let e = IntervalOptions::default()
            .draws(draws)
            .validate()
            .unwrap_err();
        assert_eq!(option_of(e), "clv.draws");
    }
    let s = Sample::new(300, 23);
    let bg = BgNbd::from_params(&CDNOW).unwrap();
    let one = [bg.clone()];
    let opts = ClvOptions::default();
    let e = score_intervals(&one, None, s.input(), &opts, 0.9).unwrap_err();
    assert_eq!(option_of(e), "clv.draws");
    let two = [bg.clone(), bg.clone()];
    let e = score_intervals(&two, None, s.input(), &opts, 1.0).unwrap_err();
    assert_eq!(option_of(e), "clv.interval");
    let gg = [GammaGamma::from_params(&CDNOW_GG).unwrap()];
    let e = score_intervals(&two, Some(&gg), s.input(), &opts, 0.9).unwrap_err();
    assert_eq!(option_of(e), "clv.draws");
    let draws = ParameterDraws::<BgNbd> {
        values: vec![CDNOW.to_vec(); 2],
        method: IntervalMethod::Asymptotic,
        failed_refits: 0,
        _model: std::marker::PhantomData,
    };
    assert_eq!(option_of(draws.intervals(0.0).unwrap_err()), "clv.interval");
    // Bad customer rows are the scoring's typed errors.
    let bad = CustomerInputs {
        x: &[1.0],
        t_x: &[5.0],
        t: &[4.0],
        monetary: &[1.0],
    };
    let e = score_intervals(&two, None, bad, &opts, 0.9).unwrap_err();
    assert!(matches!(e, Error::BadRow { row: 1, .. }));
}

#[test]
fn models_without_a_covariance_cannot_draw_asymptotically() {
    let known = BgNbd::from_params(&CDNOW).unwrap();
    let e = asymptotic_draws(&known, &IntervalOptions::default()).unwrap_err();
    assert!(matches!(e, Error::Model { ref model, .. } if model == "bg-nbd"));
    // A saved fit keeps its covariance, so it draws the same after a JSON round trip.
    let s = Sample::new(600, 29);
    let fit = BgNbd::fitter().fit(&s.repeat()).unwrap();
    let back = BgNbd::from_json(&fit.to_json().unwrap()).unwrap();
    let o = IntervalOptions::default().draws(5);
    assert_eq!(
        asymptotic_draws(&fit, &o).unwrap().values,
        asymptotic_draws(&back, &o).unwrap().values
    );
}

#[test]
fn a_spend_draw_without_finite_mean_is_a_model_error() {
    let s = Sample::new(300, 31);
    let bg = BgNbd::from_params(&CDNOW).unwrap();
    let models = [bg.clone(), bg];
    let heavy = [
        GammaGamma::from_params(&CDNOW_GG).unwrap(),
        GammaGamma::from_params(&[6.25, 0.9, 15.44]).unwrap(),
    ];
    let e = score_intervals(
        &models,
        Some(&heavy),
        s.input(),
        &ClvOptions::default(),
        0.9,
    )
    .unwrap_err();
    assert!(
        matches!(e, Error::Model { ref model, ref reason } if model == "gamma-gamma" && reason.starts_with("draw 2 of 2"))
    );
}

/// MBG/NBD's truth on CDNOW (as in `coverage.rs`): on a few dozen customers some
/// resamples have no finite optimum.
const MBG: [f64; 4] = [0.525, 6.183, 0.891, 1.614];

fn small(customers: usize, seed: u64) -> RepeatData {
    let (x, t_x, t) = simulate_purchases(Process::GeometricFromZero, MBG, customers, seed);
    RepeatData::new(&x, &t_x, &t).unwrap()
}

/// 60 customers (23 with repeat purchases): 2 of 40 BG/NBD refits run off to the edge
/// and are replaced; the draws are the same on 1 and 2 threads, and draw `d` (its
/// replacements included) does not depend on how many draws there are.
#[test]
fn failed_refits_are_replaced_and_counted() {
    let data = small(60, 3);
    let fit = BgNbd::fitter().fit(&data).unwrap();
    let o = IntervalOptions::default().draws(40).seed(3);
    let run = || bootstrap_draws(&fit, &data, &FitOptions::default(), &o).unwrap();
    let one = on_threads(1, run);
    let two = on_threads(2, run);
    assert_eq!(one, two);
    assert_eq!(one.failed_refits, 2);
    assert!(one.failed_refits <= max_failed_refits(o.draws));
    assert_eq!(one.values.len(), 40);
    assert!(
        one.values
            .iter()
            .flatten()
            .all(|v| v.is_finite() && *v > 0.0)
    );
    // Each failed refit was genuinely one: refitting the draw's first resample fails.
    let start = FitOptions {
        initial: Some(fit.params().to_vec()),
        ..FitOptions::default()
    };
    let first_attempt_fails = (0..40)
        .filter(|&d| {
            let counts = multinomial_counts(data.weights(), &mut stream::<BgNbd>(3, d));
            Fitter::<BgNbd>::with_options(start.clone())
                .fit(&data.with_counts(&counts).unwrap())
                .is_err()
        })
        .count();
    assert!((1..=2).contains(&first_attempt_fails));
    let more = bootstrap_draws(&fit, &data, &FitOptions::default(), &o.draws(80)).unwrap();
    assert_eq!(more.values[..40], one.values[..]);
    assert!(more.failed_refits >= one.failed_refits);
}

/// 30 customers: more than a tenth of 40 MBG/NBD refits fail, a typed error with the
/// counts; bad fit options are their own error, not failed refits.
#[test]
fn too_many_failed_refits_are_a_typed_error() {
    let data = small(30, 0);
    let fit = MbgNbd::fitter().fit(&data).unwrap();
    let o = IntervalOptions::default().draws(40).seed(0);
    let run = || bootstrap_draws(&fit, &data, &FitOptions::default(), &o);
    for threads in [1, 2] {
        match on_threads(threads, run) {
            Err(Error::BootstrapFailed {
                model,
                failed,
                draws,
                allowed,
                ..
            }) => {
                assert_eq!((model.as_str(), draws, allowed), ("mbg-nbd", 40, 4));
                assert!(failed > allowed);
            }
            other => panic!("expected BootstrapFailed, got {other:?}"),
        }
    }
    let bad = FitOptions {
        penalizer: -1.0,
        ..FitOptions::default()
    };
    assert!(matches!(
        bootstrap_draws(&fit, &data, &bad, &o),
        Err(Error::InvalidOption { .. })
    ));
    // Below 10 draws nothing may be replaced.
    assert_eq!(max_failed_refits(9), 0);
}
