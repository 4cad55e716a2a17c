//! Unit tests of the profile-likelihood intervals: agreement with the asymptotic ones
//! where the likelihood is nearly quadratic, the deviance at the bounds, every model,
//! determinism on 1 and 2 threads, and the bad inputs.

use super::super::coverage::{Process, simulate_bgbb, simulate_purchases, simulate_spend};
use super::*;
use crate::clv::{BgBb, BgNbd, DiscreteData, GammaGamma, MbgNbd, ParetoNbd, RepeatData, SpendData};

const CDNOW: [f64; 4] = [0.243, 4.414, 0.793, 2.426];
const CDNOW_GG: [f64; 3] = [6.25, 3.74, 15.44];

fn bgnbd_data(customers: usize, seed: u64) -> RepeatData {
    let (x, t_x, t) = simulate_purchases(Process::Geometric, CDNOW, customers, seed);
    RepeatData::new(&x, &t_x, &t).unwrap()
}

/// Every bound's deviance is the quantile (to 1e-6), and the estimate is inside.
fn assert_bounds_on_quantile<M: Model>(fit: &Fitted<M>, data: &M::Data, level: f64) {
    let options = FitOptions::default();
    let q = profile_threshold(level).unwrap();
    let ranges = profile_intervals(fit, data, &options, level).unwrap();
    for ((name, est), r) in M::PARAM_NAMES.iter().zip(fit.params()).zip(&ranges) {
        assert!(
            r.lo < *est && *est < r.hi,
            "{} {name}: {r:?} around {est}",
            M::NAME
        );
        for bound in [r.lo, r.hi] {
            let d = profile_deviance(fit, data, &options, name, bound).unwrap();
            assert!(
                (d - q).abs() < 1e-6,
                "{} {name}: deviance {d} at {bound}, quantile {q}",
                M::NAME
            );
        }
    }
}

#[test]
fn threshold_is_the_chi_square_quantile() {
    use statrs::distribution::{ChiSquared, ContinuousCDF};
    let chi = ChiSquared::new(1.0).unwrap();
    for level in [0.5, 0.8, 0.9, 0.95, 0.99] {
        let q = profile_threshold(level).unwrap();
        assert!((q - chi.inverse_cdf(level)).abs() < 1e-8, "{level}: {q}");
    }
    assert!((profile_threshold(0.9).unwrap() - 2.705_543_454_095_404).abs() < 1e-9);
}

/// At 20,000 customers the BG/NBD likelihood is close to quadratic in the
/// log-parameters: the profile bounds are the asymptotic ones (in log space, within a
/// tenth of the half-width), and each bound's deviance is the chi-square quantile.
#[test]
fn profile_agrees_with_asymptotic_on_a_large_sample() {
    let data = bgnbd_data(20_000, 41);
    let fit = BgNbd::fitter().fit(&data).unwrap();
    let level = 0.9;
    let z = profile_threshold(level).unwrap().sqrt();
    let ranges = profile_intervals(&fit, &data, &FitOptions::default(), level).unwrap();
    let cov = &fit.report().unwrap().log_covariance;
    for (j, r) in ranges.iter().enumerate() {
        let (centre, half) = (fit.params()[j].ln(), z * cov[j][j].sqrt());
        let (lo, hi) = (r.lo.ln() - centre, r.hi.ln() - centre);
        assert!(
            (lo + half).abs() < 0.1 * half && (hi - half).abs() < 0.1 * half,
            "parameter {j}: profile {lo:.4} to {hi:.4}, asymptotic +-{half:.4}"
        );
    }
    assert_bounds_on_quantile(&fit, &data, level);
}

/// Every model with parameter intervals: bounds on the quantile around the estimate.
#[test]
fn every_model_has_bounds_on_the_quantile() {
    let (x, t_x, t) = simulate_purchases(
        Process::GeometricFromZero,
        [0.525, 6.183, 0.891, 1.614],
        2000,
        5,
    );
    let data = RepeatData::new(&x, &t_x, &t).unwrap();
    assert_bounds_on_quantile(&MbgNbd::fitter().fit(&data).unwrap(), &data, 0.9);
    let (x, t_x, t) = simulate_purchases(
        Process::Exponential,
        [0.553, 10.578, 0.606, 11.669],
        1000,
        6,
    );
    let data = RepeatData::new(&x, &t_x, &t).unwrap();
    assert_bounds_on_quantile(&ParetoNbd::fitter().fit(&data).unwrap(), &data, 0.8);
    let (x, t_x) = simulate_bgbb([1.204, 0.750, 0.657, 2.783], 2000, 7);
    let data = DiscreteData::new(&x, &t_x, &vec![6.0; x.len()], None).unwrap();
    assert_bounds_on_quantile(&BgBb::fitter().fit(&data).unwrap(), &data, 0.9);
    let (x, _, _) = simulate_purchases(Process::Geometric, CDNOW, 3000, 8);
    let m = simulate_spend(&x, CDNOW_GG, 9);
    let data = SpendData::new(&x, &m).unwrap();
    assert_bounds_on_quantile(&GammaGamma::fitter().fit(&data).unwrap(), &data, 0.95);
}

#[test]
fn profile_is_identical_on_one_and_two_threads() {
    let data = bgnbd_data(2000, 3);
    let fit = BgNbd::fitter().fit(&data).unwrap();
    let run = || profile_intervals(&fit, &data, &FitOptions::default(), 0.9).unwrap();
    let on = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(run)
    };
    assert_eq!(on(1), on(2));
}

#[test]
fn level_outside_zero_one_is_refused() {
    let data = bgnbd_data(300, 4);
    let fit = BgNbd::fitter().fit(&data).unwrap();
    for level in [0.0, 1.0, -0.5, 1.5, f64::NAN] {
        let e = profile_intervals(&fit, &data, &FitOptions::default(), level).unwrap_err();
        assert!(
            matches!(&e, Error::InvalidOption { option, .. } if option == "clv.interval"),
            "{level}: {e:?}"
        );
        let e = profile_threshold(level).unwrap_err();
        assert!(matches!(&e, Error::InvalidOption { option, .. } if option == "clv.interval"));
    }
}

#[test]
fn other_data_penalizer_or_unfitted_model_are_refused() {
    let data = bgnbd_data(300, 4);
    let fit = BgNbd::fitter().fit(&data).unwrap();
    let other = bgnbd_data(301, 5);
    let e = profile_intervals(&fit, &other, &FitOptions::default(), 0.9).unwrap_err();
    assert!(
        matches!(&e, Error::InvalidOption { option, .. } if option == "data"),
        "{e:?}"
    );
    let penalised = FitOptions {
        penalizer: 0.1,
        ..FitOptions::default()
    };
    let e = profile_intervals(&fit, &data, &penalised, 0.9).unwrap_err();
    assert!(
        matches!(&e, Error::InvalidOption { option, .. } if option == "clv.fit.penalizer"),
        "{e:?}"
    );
    let known = BgNbd::from_params(fit.params()).unwrap();
    let e = profile_intervals(&known, &data, &FitOptions::default(), 0.9).unwrap_err();
    assert!(
        matches!(&e, Error::Model { model, .. } if model == "bg-nbd"),
        "{e:?}"
    );
    for (name, value) in [("s", 1.0), ("r", 0.0), ("r", f64::INFINITY)] {
        let e = profile_deviance(&fit, &data, &FitOptions::default(), name, value).unwrap_err();
        assert!(
            matches!(&e, Error::InvalidOption { option, .. } if option == "parameter"),
            "{e:?}"
        );
    }
}

/// A penalised fit is profiled on the penalised likelihood it maximised: the bounds'
/// deviance is still the quantile.
#[test]
fn penalised_fit_profiles_its_own_objective() {
    let data = bgnbd_data(500, 12);
    let options = FitOptions {
        penalizer: 0.01,
        ..FitOptions::default()
    };
    let fit = BgNbd::fitter().penalizer(0.01).fit(&data).unwrap();
    let q = profile_threshold(0.9).unwrap();
    let ranges = profile_intervals(&fit, &data, &options, 0.9).unwrap();
    for (name, r) in BgNbd::PARAM_NAMES.iter().zip(&ranges) {
        for b in [r.lo, r.hi] {
            let d = profile_deviance(&fit, &data, &options, name, b).unwrap();
            assert!((d - q).abs() < 1e-6, "{name}: {d} at {b}");
        }
    }
}

/// Forty Gamma-Gamma customers (a data set of the simulation with a flat side): the
/// profile of p stays under the quantile upwards and gamma's downwards, out to the edge
/// of the parameter space, so those sides are reported unbounded; the deviance a
/// thousand-fold out confirms it, and the finite bounds are on the quantile.
#[test]
fn a_flat_side_is_reported_unbounded() {
    let (x, _, _) = simulate_purchases(Process::Geometric, CDNOW, 40, 203);
    let m = simulate_spend(&x, CDNOW_GG, 303);
    let data = SpendData::new(&x, &m).unwrap();
    let fit = GammaGamma::fitter().fit(&data).unwrap();
    let options = FitOptions::default();
    let q = profile_threshold(0.9).unwrap();
    let ranges = profile_intervals(&fit, &data, &options, 0.9).unwrap();
    let (p, gamma) = (fit.params()[0], fit.params()[2]);
    assert_eq!(ranges[0].hi, f64::INFINITY, "{ranges:?}");
    assert_eq!(ranges[2].lo, 0.0, "{ranges:?}");
    assert!(profile_deviance(&fit, &data, &options, "p", 1000.0 * p).unwrap() < q);
    assert!(profile_deviance(&fit, &data, &options, "gamma", gamma / 1000.0).unwrap() < q);
    for (name, bound) in [
        ("p", ranges[0].lo),
        ("q", ranges[1].lo),
        ("q", ranges[1].hi),
        ("gamma", ranges[2].hi),
    ] {
        let d = profile_deviance(&fit, &data, &options, name, bound).unwrap();
        assert!((d - q).abs() < 1e-6, "{name}: {d} at {bound}");
    }
}
