//! Coverage of the asymptotic intervals, by simulation from known parameters: over many
//! simulated data sets, how often the nominal 90% interval of each parameter and of the
//! population's expected purchases in a holdout period holds the truth.
//!
//! The data sets are drawn here rather than with `crate::simulate` (which needs the
//! `frames` feature) so that the simulations run in the models' own test build, without
//! polars: `cargo test --no-default-features --lib interval_coverage -- --ignored
//! --nocapture` runs the full versions (200 data sets each; the numbers are recorded in
//! docs/benchmarks.md), and `interval_coverage_quick` (40 data sets) runs in the normal
//! suite.
//!
//! MBG/NBD's asymptotic intervals under-cover at CDNOW's size (r 75.5%, b 80.5%); its
//! profile-likelihood intervals (`interval_coverage_mbgnbd_profile`) cover r 83.5% and b
//! 86.0%. Why:
//! `simulator_matches_likelihood` and `mbgnbd_covariance_matches_likelihood_curvature`
//! (in the suite) rule out the simulator and the Hessian; the ignored
//! `mbgnbd_sampling_distribution` shows the estimates' sampling distribution still wide
//! and skewed at 2,357 customers and normal at 23,570; the ignored
//! `interval_coverage_mbgnbd_bootstrap` and `interval_coverage_mbgnbd_large` give the
//! coverage of the bootstrap and of 10x the customers (docs/benchmarks.md).
//!
//! A data set looks like CDNOW's calibration period: customers acquired over 12 weeks
//! and observed to week 39 (`T` uniform on whole days between 27 and 39 weeks), the
//! holdout 39 weeks. The truth for the population's expected holdout purchases is the sum
//! over customers of their conditional expectation under the true parameters.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, Exp, Gamma};
use rayon::prelude::*;

use super::*;
use crate::clv::{BgBb, BgNbd, MbgNbd, ParetoNbd};

/// Which purchase process [`simulate_purchases`] draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Process {
    /// BG/NBD: dropout with probability p ~ Beta(a, b) after each repeat purchase.
    Geometric,
    /// MBG/NBD: as BG/NBD, and also right after the first purchase (at time 0).
    GeometricFromZero,
    /// Pareto/NBD: an exponential lifetime with rate mu ~ Gamma(s, beta).
    Exponential,
}

/// Per customer `(x, t_x, T)` in weeks from `process`, purchase rate lambda ~
/// Gamma(r, alpha).
pub(super) fn simulate_purchases(
    process: Process,
    params: [f64; 4],
    customers: usize,
    seed: u64,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let rate = Gamma::new(params[0], 1.0 / params[1]).unwrap();
    let (mut x, mut t_x, mut t) = (
        Vec::with_capacity(customers),
        Vec::with_capacity(customers),
        Vec::with_capacity(customers),
    );
    for _ in 0..customers {
        let t_end = f64::from(rng.random_range(189u32..=273)) / 7.0;
        let lambda: f64 = rate.sample(&mut rng).max(1e-300);
        let gap = Exp::new(lambda).unwrap();
        let (mut n, mut last, mut now) = (0.0, 0.0, 0.0);
        if process == Process::Exponential {
            let mu: f64 = Gamma::new(params[2], 1.0 / params[3])
                .unwrap()
                .sample(&mut rng)
                .max(1e-300);
            let end = Exp::new(mu).unwrap().sample(&mut rng).min(t_end);
            loop {
                now += gap.sample(&mut rng);
                if now > end {
                    break;
                }
                n += 1.0;
                last = now;
            }
        } else {
            let p: f64 = Beta::new(params[2], params[3]).unwrap().sample(&mut rng);
            // MBG/NBD's customer may be gone before the first repeat purchase.
            let mut alive = !(process == Process::GeometricFromZero && rng.random::<f64>() < p);
            while alive {
                now += gap.sample(&mut rng);
                if now > t_end {
                    break;
                }
                n += 1.0;
                last = now;
                alive = rng.random::<f64>() >= p;
            }
        }
        x.push(n);
        t_x.push(last);
        t.push(t_end);
    }
    (x, t_x, t)
}

/// Mean repeat spend per customer from Gamma-Gamma `(p, q, gamma)`: nu ~ Gamma(q,
/// rate gamma), and the mean of `x` values Gamma(p, rate nu) is Gamma(p x, rate nu x);
/// 0 without repeats.
pub(super) fn simulate_spend(x: &[f64], params: [f64; 3], seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let nu_dist = Gamma::new(params[1], 1.0 / params[2]).unwrap();
    x.iter()
        .map(|&n| {
            if n == 0.0 {
                return 0.0;
            }
            let nu: f64 = nu_dist.sample(&mut rng);
            Gamma::new(params[0] * n, 1.0 / (nu * n))
                .unwrap()
                .sample(&mut rng)
        })
        .collect()
}

/// What a coverage run found.
#[derive(Debug)]
struct Coverage {
    /// Data sets whose fit succeeded (the shares are of these).
    fitted: usize,
    /// Data sets whose fit failed.
    failed: usize,
    /// Per parameter, the share of intervals holding the true value.
    parameters: Vec<f64>,
    /// The share of intervals of the population's expected holdout purchases holding
    /// the truth (purchase models only).
    purchases: Option<f64>,
    /// BG/BB only: per example customer of [`BGBB_CUSTOMERS`], the share of intervals of
    /// their expected holdout transactions holding the truth (their conditional
    /// expectation under the true parameters), then the same for P(alive).
    per_customer: Vec<f64>,
}

const LEVEL: f64 = 0.9;
const HOLDOUT: f64 = 39.0;

fn share(hits: &[bool]) -> f64 {
    hits.iter().filter(|h| **h).count() as f64 / hits.len() as f64
}

/// The columns of a simulated purchase data set.
type Columns = (Vec<f64>, Vec<f64>, Vec<f64>);

/// The data set of `seed` from `process` and `M`'s fit on it; None when the fit fails.
fn simulated_fit<M: Model<Data = RepeatData>>(
    process: Process,
    truth: [f64; 4],
    customers: usize,
    seed: u64,
) -> Option<(Columns, RepeatData, Fitted<M>)> {
    let (x, t_x, t) = simulate_purchases(process, truth, customers, seed);
    let data = RepeatData::new(&x, &t_x, &t).unwrap();
    let fit = Fitter::<M>::default().fit(&data).ok()?;
    Some(((x, t_x, t), data, fit))
}

fn purchase_coverage<M: Model<Data = RepeatData>>(
    process: Process,
    truth: [f64; 4],
    datasets: usize,
    customers: usize,
    draws: usize,
    method: IntervalMethod,
) -> Coverage
where
    Fitted<M>: PurchaseModel,
{
    let true_model = Fitted::<M>::from_params(&truth).unwrap();
    let runs: Vec<Option<(Vec<bool>, bool)>> = (0..datasets)
        .into_par_iter()
        .map(|k| {
            let seed = 1000 + k as u64;
            let ((x, t_x, t), data, fit) = simulated_fit::<M>(process, truth, customers, seed)?;
            let options = IntervalOptions::new(LEVEL)
                .draws(draws)
                .seed(seed)
                .method(method);
            let drawn = parameter_draws(&fit, &data, &FitOptions::default(), &options)
                .map_err(|e| eprintln!("data set {k}: {e}"))
                .ok()?;
            let params: Vec<bool> = drawn
                .intervals(LEVEL)
                .unwrap()
                .iter()
                .zip(truth)
                .map(|(r, v)| r.lo <= v && v <= r.hi)
                .collect();
            let ones = vec![1.0; x.len()];
            let input = CustomerInputs {
                x: &x,
                t_x: &t_x,
                t: &t,
                monetary: &ones,
            };
            let opts = ClvOptions {
                horizon: HOLDOUT,
                ..ClvOptions::default()
            };
            let iv = score_intervals(&drawn.models().unwrap(), None, input, &opts, LEVEL).unwrap();
            let truth_total: f64 = (0..x.len())
                .map(|i| {
                    true_model
                        .conditional_expected_purchases(HOLDOUT, x[i], t_x[i], t[i])
                        .unwrap()
                })
                .sum();
            let r = iv.total_expected_purchases;
            Some((params, r.lo <= truth_total && truth_total <= r.hi))
        })
        .collect();
    let ok: Vec<&(Vec<bool>, bool)> = runs.iter().flatten().collect();
    Coverage {
        fitted: ok.len(),
        failed: datasets - ok.len(),
        parameters: (0..4)
            .map(|j| share(&ok.iter().map(|r| r.0[j]).collect::<Vec<_>>()))
            .collect(),
        purchases: Some(share(&ok.iter().map(|r| r.1).collect::<Vec<_>>())),
        per_customer: Vec::new(),
    }
}

fn spend_coverage(truth: [f64; 3], datasets: usize, customers: usize, draws: usize) -> Coverage {
    let runs: Vec<Option<Vec<bool>>> = (0..datasets)
        .into_par_iter()
        .map(|k| {
            let seed = 5000 + k as u64;
            let (x, _, _) = simulate_purchases(
                Process::Geometric,
                [0.243, 4.414, 0.793, 2.426],
                customers,
                seed,
            );
            let m = simulate_spend(&x, truth, seed + 1);
            let fit = GammaGamma::fitter()
                .fit(&SpendData::new(&x, &m).unwrap())
                .ok()?;
            let options = IntervalOptions::new(LEVEL).draws(draws).seed(seed);
            let drawn = asymptotic_draws(&fit, &options).ok()?;
            Some(held(&drawn.intervals(LEVEL).unwrap(), &truth))
        })
        .collect();
    parameter_coverage(&runs)
}

/// Per parameter, whether its interval holds the true value.
fn held(ranges: &[Range], truth: &[f64]) -> Vec<bool> {
    ranges
        .iter()
        .zip(truth)
        .map(|(r, v)| r.lo <= *v && *v <= r.hi)
        .collect()
}

/// The parameters' coverage over data sets (`None`: the set got no intervals).
fn parameter_coverage(runs: &[Option<Vec<bool>>]) -> Coverage {
    let ok: Vec<&Vec<bool>> = runs.iter().flatten().collect();
    let k = ok.first().map_or(0, |r| r.len());
    Coverage {
        fitted: ok.len(),
        failed: runs.len() - ok.len(),
        parameters: (0..k)
            .map(|j| share(&ok.iter().map(|r| r[j]).collect::<Vec<_>>()))
            .collect(),
        purchases: None,
        per_customer: Vec::new(),
    }
}

/// Coverage of the profile-likelihood intervals ([`profile_intervals`]) of the
/// parameters, on the same simulated data sets as [`purchase_coverage`] (same seeds).
fn profile_coverage<M: Model<Data = RepeatData>>(
    process: Process,
    truth: [f64; 4],
    datasets: usize,
    customers: usize,
) -> Coverage {
    let runs: Vec<Option<Vec<bool>>> = (0..datasets)
        .into_par_iter()
        .map(|k| {
            let (_, data, fit) = simulated_fit::<M>(process, truth, customers, 1000 + k as u64)?;
            let ranges = profile_intervals(&fit, &data, &FitOptions::default(), LEVEL)
                .map_err(|e| eprintln!("data set {k}: {e}"))
                .ok()?;
            // Which side a miss falls on says whether the interval is too short or shifted.
            for ((name, r), v) in M::PARAM_NAMES.iter().zip(&ranges).zip(truth) {
                if v < r.lo || v > r.hi {
                    let side = if v < r.lo { "below" } else { "above" };
                    eprintln!("data set {k}: true {name} {side} its interval");
                }
            }
            Some(held(&ranges, &truth))
        })
        .collect();
    parameter_coverage(&runs)
}

/// Opportunities in a BG/BB data set's calibration and holdout periods (the donation
/// data's 6 and 5 years).
const BGBB_CALIBRATION: u32 = 6;
const BGBB_HOLDOUT: f64 = 5.0;
/// Example BG/BB customers `(x, t_x)` out of [`BGBB_CALIBRATION`] opportunities: none,
/// 2 with the last at 3, 4 with the last at 6.
const BGBB_CUSTOMERS: [(f64, f64); 3] = [(0.0, 0.0), (2.0, 3.0), (4.0, 6.0)];

/// Per customer `(x, t_x)` out of [`BGBB_CALIBRATION`] opportunities from BG/BB `(alpha,
/// beta, gamma, delta)`: p ~ Beta(alpha, beta), theta ~ Beta(gamma, delta); at each
/// opportunity a living customer first dies with probability theta, then (alive)
/// transacts with probability p (the order of Fader, Hardie & Shang's likelihood).
pub(super) fn simulate_bgbb(params: [f64; 4], customers: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (pd, td) = (
        Beta::new(params[0], params[1]).unwrap(),
        Beta::new(params[2], params[3]).unwrap(),
    );
    let (mut x, mut t_x) = (Vec::with_capacity(customers), Vec::with_capacity(customers));
    for _ in 0..customers {
        let (p, theta): (f64, f64) = (pd.sample(&mut rng), td.sample(&mut rng));
        let (mut n, mut last) = (0.0, 0.0);
        for j in 1..=BGBB_CALIBRATION {
            if rng.random::<f64>() < theta {
                break;
            }
            if rng.random::<f64>() < p {
                n += 1.0;
                last = f64::from(j);
            }
        }
        x.push(n);
        t_x.push(last);
    }
    (x, t_x)
}

/// One BG/BB data set's hits: per parameter, the population total, per example
/// customer score.
type BgBbHits = (Vec<bool>, bool, Vec<bool>);

/// BG/BB coverage: per parameter, and of the population's expected transactions in the
/// next [`BGBB_HOLDOUT`] opportunities (per draw, the sum over customers of their
/// conditional expectation; the truth is the same sum under the true parameters).
fn bgbb_coverage(truth: [f64; 4], datasets: usize, customers: usize, draws: usize) -> Coverage {
    let true_model = Fitted::<BgBb>::from_params(&truth).unwrap();
    let n = f64::from(BGBB_CALIBRATION);
    let runs: Vec<Option<BgBbHits>> = (0..datasets)
        .into_par_iter()
        .map(|k| {
            let seed = 9000 + k as u64;
            let (x, t_x) = simulate_bgbb(truth, customers, seed);
            let periods = vec![n; x.len()];
            let fit = Fitter::<BgBb>::default()
                .fit(&DiscreteData::new(&x, &t_x, &periods, None).unwrap())
                .ok()?;
            let options = IntervalOptions::new(LEVEL).draws(draws).seed(seed);
            let drawn = asymptotic_draws(&fit, &options).ok()?;
            let params: Vec<bool> = drawn
                .intervals(LEVEL)
                .unwrap()
                .iter()
                .zip(truth)
                .map(|(r, v)| r.lo <= v && v <= r.hi)
                .collect();
            let models = drawn.models().unwrap();
            let r = bgbb_intervals(&models, &x, &t_x, &periods, BGBB_HOLDOUT, LEVEL)
                .unwrap()
                .total_expected_transactions;
            let t: f64 = x
                .iter()
                .zip(&t_x)
                .map(|(&xi, &ti)| {
                    true_model.conditional_expected_purchases(BGBB_HOLDOUT, xi, ti, n)
                })
                .sum();
            let (ex, etx): (Vec<f64>, Vec<f64>) = BGBB_CUSTOMERS.iter().copied().unzip();
            let each = bgbb_intervals(&models, &ex, &etx, &[n; 3], BGBB_HOLDOUT, LEVEL).unwrap();
            let mut customers = Vec::new();
            for (i, &(xi, ti)) in BGBB_CUSTOMERS.iter().enumerate() {
                let v = true_model.conditional_expected_purchases(BGBB_HOLDOUT, xi, ti, n);
                let b = &each.expected_transactions;
                customers.push(b.lo[i] <= v && v <= b.hi[i]);
            }
            for (i, &(xi, ti)) in BGBB_CUSTOMERS.iter().enumerate() {
                let v = true_model.p_alive(1.0, xi, ti, n);
                customers.push(each.p_alive.lo[i] <= v && v <= each.p_alive.hi[i]);
            }
            Some((params, r.lo <= t && t <= r.hi, customers))
        })
        .collect();
    let ok: Vec<&BgBbHits> = runs.iter().flatten().collect();
    Coverage {
        fitted: ok.len(),
        failed: datasets - ok.len(),
        parameters: (0..4)
            .map(|j| share(&ok.iter().map(|r| r.0[j]).collect::<Vec<_>>()))
            .collect(),
        purchases: Some(share(&ok.iter().map(|r| r.1).collect::<Vec<_>>())),
        per_customer: (0..2 * BGBB_CUSTOMERS.len())
            .map(|j| share(&ok.iter().map(|r| r.2[j]).collect::<Vec<_>>()))
            .collect(),
    }
}

/// Asserts every share is within `[lo, hi]`, after printing them all.
fn assert_within(name: &str, c: &Coverage, lo: f64, hi: f64) {
    eprintln!("{name}: {c:?}");
    assert!(c.fitted > 0 && c.failed == 0, "{name}: fits failed");
    for (j, s) in c.parameters.iter().enumerate() {
        assert!(lo <= *s && *s <= hi, "{name}: parameter {j} covered in {s}");
    }
    for (j, s) in c.per_customer.iter().enumerate() {
        assert!(
            lo <= *s && *s <= hi,
            "{name}: example customer score {j} covered in {s}"
        );
    }
    if let Some(s) = c.purchases {
        assert!(
            lo <= s && s <= hi,
            "{name}: holdout purchases covered in {s}"
        );
    }
}

/// CDNOW's published BG/NBD estimates (Fader, Hardie & Lee 2005).
const BG_TRUTH: [f64; 4] = [0.243, 4.414, 0.793, 2.426];
/// CDNOW's published Pareto/NBD estimates (lifetimes' fit of the same data).
const PNBD_TRUTH: [f64; 4] = [0.553, 10.578, 0.606, 11.669];
/// CDNOW's MBG/NBD estimates (lifetimes' fit of the same data).
const MBG_TRUTH: [f64; 4] = [0.525, 6.183, 0.891, 1.614];
/// The donation data's published BG/BB estimates (Fader, Hardie & Shang 2010).
const BGBB_TRUTH: [f64; 4] = [1.204, 0.750, 0.657, 2.783];
/// CDNOW's published Gamma-Gamma estimates.
const GG_TRUTH: [f64; 3] = [6.25, 3.74, 15.44];

/// The quick version in the normal suite: 40 BG/NBD data sets of 1,000 customers, 100
/// draws. With 40 data sets a true 90% coverage gives 36 hits with a standard deviation
/// of 1.9, so the band (at least 30 of 40, 75%) only catches gross under-coverage; the
/// 85-95% check is the ignored 200-set version.
#[test]
fn interval_coverage_quick() {
    let c = purchase_coverage::<BgNbd>(
        Process::Geometric,
        BG_TRUTH,
        40,
        1000,
        100,
        IntervalMethod::Asymptotic,
    );
    assert_within("bg-nbd quick", &c, 0.75, 1.0);
}

/// The profile intervals' quick version in the normal suite: 20 MBG/NBD data sets of
/// 2,357 customers (the size where the asymptotic intervals under-cover). A true 90%
/// coverage gives 18 hits with a standard deviation of 1.3; the band (at least 14 of
/// 20, 70%) catches intervals gone wrong (too narrow, or centred off the estimate), not
/// a few points of under-coverage: that is the ignored 200-set version.
#[test]
fn interval_coverage_profile_quick() {
    let c = profile_coverage::<MbgNbd>(Process::GeometricFromZero, MBG_TRUTH, 20, 2357);
    assert_within("mbg-nbd profile quick", &c, 0.70, 1.0);
}

/// 200 BG/NBD data sets of 2,357 customers (CDNOW's size), 500 draws: 85-95%.
#[test]
#[ignore = "long: the full coverage simulation, run by hand and recorded in docs/benchmarks.md"]
fn interval_coverage_bgnbd() {
    let c = purchase_coverage::<BgNbd>(
        Process::Geometric,
        BG_TRUTH,
        200,
        2357,
        500,
        IntervalMethod::Asymptotic,
    );
    assert_within("bg-nbd", &c, 0.85, 0.95);
}

/// 200 Pareto/NBD data sets of 2,357 customers, 500 draws: 85-95%.
#[test]
#[ignore = "long: the full coverage simulation, run by hand and recorded in docs/benchmarks.md"]
fn interval_coverage_paretonbd() {
    let c = purchase_coverage::<ParetoNbd>(
        Process::Exponential,
        PNBD_TRUTH,
        200,
        2357,
        500,
        IntervalMethod::Asymptotic,
    );
    assert_within("pareto-nbd", &c, 0.85, 0.95);
}

/// 200 Gamma-Gamma data sets (the repeat customers of 2,357), 500 draws: 85-95%.
#[test]
#[ignore = "long: the full coverage simulation, run by hand and recorded in docs/benchmarks.md"]
fn interval_coverage_gammagamma() {
    let c = spend_coverage(GG_TRUTH, 200, 2357, 500);
    assert_within("gamma-gamma", &c, 0.85, 0.95);
}

/// 200 MBG/NBD data sets of 2,357 customers, 500 draws, asymptotic intervals: 85-95%.
/// Fails (r 75.5%, b 80.5%): at this size the sampling distribution of ln r and ln b is
/// wider and more skewed than the Hessian says (`mbgnbd_sampling_distribution`); the
/// bootstrap comes close (r 84.3%, the rest 87-92%) and 10x the customers cover (the two
/// tests below). docs/benchmarks.md, issue #17.
#[test]
#[ignore = "long, and fails: MBG/NBD's asymptotic intervals under-cover at 2,357 customers (docs/benchmarks.md)"]
fn interval_coverage_mbgnbd() {
    let c = purchase_coverage::<MbgNbd>(
        Process::GeometricFromZero,
        MBG_TRUTH,
        200,
        2357,
        500,
        IntervalMethod::Asymptotic,
    );
    assert_within("mbg-nbd", &c, 0.85, 0.95);
}

/// The same 200 MBG/NBD data sets of 2,357 customers with bootstrap intervals (200
/// refits each). Measured when the bootstrap still stopped at a failed refit: r 84.3%,
/// alpha 87.3%, a 91.9%, b 87.8%, the population's holdout purchases 89.3%, on the 197
/// sets with intervals (in 3 sets one refit of 200 ran off to infinite parameters).
/// Failed refits are now replaced by fresh resamples (up to a tenth of the draws), so
/// every set has its intervals: no set may be lost. Not re-measured since that change
/// (the 3 sets it adds cannot move a share by more than 1.5 points). So the check is
/// what the bootstrap achieves, and what separates it from the asymptotic intervals
/// (r 75.5%): every share within 80-95%.
#[test]
#[ignore = "long (about 5 minutes on 2 cores): the bootstrap coverage simulation, recorded in docs/benchmarks.md"]
fn interval_coverage_mbgnbd_bootstrap() {
    let c = purchase_coverage::<MbgNbd>(
        Process::GeometricFromZero,
        MBG_TRUTH,
        200,
        2357,
        200,
        IntervalMethod::Bootstrap,
    );
    assert_within("mbg-nbd bootstrap", &c, 0.80, 0.95);
}

/// The same 200 MBG/NBD data sets of 2,357 customers with profile-likelihood intervals
/// ([`profile_intervals`]), parameters only: 85-95%. Fails for r. Measured (2026-12-06,
/// session 18, in the dev profile, not run in release; 234 s on the shared 2-core
/// machine): r 83.5%, alpha 87.0%, a 88.5%, b 86.0%,
/// every set with intervals (82 s on a re-run); r's misses fall on both sides (17 below,
/// 16 above). Against the asymptotic intervals (r 75.5%, b 80.5%) the
/// profile brings b into the band and r within one standard error (2.1 points) of it,
/// about the bootstrap's 84.3% for r, without any refit per draw. docs/benchmarks.md,
/// issue #17.
#[test]
#[ignore = "long, and fails for r (83.5%): the profile-likelihood coverage simulation, recorded in docs/benchmarks.md"]
fn interval_coverage_mbgnbd_profile() {
    let started = std::time::Instant::now();
    let c = profile_coverage::<MbgNbd>(Process::GeometricFromZero, MBG_TRUTH, 200, 2357);
    eprintln!("mbg-nbd profile: {:.0} s", started.elapsed().as_secs_f64());
    assert_within("mbg-nbd profile", &c, 0.85, 0.95);
}

/// 200 MBG/NBD data sets of 23,570 customers (10x), 500 draws, asymptotic intervals:
/// 85-95%, where the normal approximation has become good enough.
#[test]
#[ignore = "long: the coverage simulation at 10x the customers, recorded in docs/benchmarks.md"]
fn interval_coverage_mbgnbd_large() {
    let c = purchase_coverage::<MbgNbd>(
        Process::GeometricFromZero,
        MBG_TRUTH,
        200,
        23_570,
        500,
        IntervalMethod::Asymptotic,
    );
    assert_within("mbg-nbd 10x", &c, 0.85, 0.95);
}

/// 200 BG/BB data sets of 2,000 customers over 6 opportunities, 500 draws: 85-95%, for
/// the parameters, the population total and the example customers' scores
/// ([`BGBB_CUSTOMERS`], through [`bgbb_intervals`]).
#[test]
#[ignore = "long: the full coverage simulation, run by hand and recorded in docs/benchmarks.md"]
fn interval_coverage_bgbb() {
    let c = bgbb_coverage(BGBB_TRUTH, 200, 2000, 500);
    assert_within("bg-bb", &c, 0.85, 0.95);
}

/// The x histogram of `customers` drawn from `process` against its expectation under
/// the true model `M` (bins 0 to 7 and 8 or more; the expectation sums the model's
/// P(X(T) = k) over customers, once per distinct `T`): the chi-square statistic, 8
/// degrees of freedom when the simulator draws from `M`.
fn simulator_chi_square<M: Model>(
    process: Process,
    truth: [f64; 4],
    customers: usize,
    seed: u64,
) -> f64
where
    Fitted<M>: PurchaseModel,
{
    let model = Fitted::<M>::from_params(&truth).unwrap();
    let (x, _, t) = simulate_purchases(process, truth, customers, seed);
    let mut actual = [0.0; 9];
    for v in &x {
        actual[(*v as usize).min(8)] += 1.0;
    }
    // T is a whole number of days: customers per day.
    let mut per_day = std::collections::BTreeMap::<u32, f64>::new();
    for ti in &t {
        *per_day.entry((ti * 7.0).round() as u32).or_default() += 1.0;
    }
    let mut expected = [0.0; 9];
    for (&day, &count) in &per_day {
        let ti = f64::from(day) / 7.0;
        let mut below = 0.0;
        for k in 0..8u32 {
            let p = model.prob_purchases(k, ti).unwrap();
            expected[k as usize] += count * p;
            below += p;
        }
        expected[8] += count * (1.0 - below);
    }
    actual
        .iter()
        .zip(&expected)
        .map(|(a, e)| (a - e).powi(2) / e)
        .sum()
}

/// The simulator draws what each likelihood describes: the x histogram of 100,000
/// simulated customers against the true model's P(X(T) = k), chi-square (8 degrees of
/// freedom) below 26.12, its 99.9% quantile. The control: BG/NBD's process (no drop-out
/// at time 0) scored as MBG/NBD is far off, so the check can tell the two apart.
#[test]
fn simulator_matches_likelihood() {
    let n = 100_000;
    let checks = [
        (
            "bg-nbd",
            simulator_chi_square::<BgNbd>(Process::Geometric, BG_TRUTH, n, 77),
        ),
        (
            "mbg-nbd",
            simulator_chi_square::<MbgNbd>(Process::GeometricFromZero, MBG_TRUTH, n, 77),
        ),
        (
            "pareto-nbd",
            simulator_chi_square::<ParetoNbd>(Process::Exponential, PNBD_TRUTH, n, 77),
        ),
    ];
    for (name, chi) in checks {
        eprintln!("{name}: chi-square {chi:.2}");
        assert!(chi < 26.12, "{name}: chi-square {chi}");
    }
    let control = simulator_chi_square::<MbgNbd>(Process::Geometric, MBG_TRUTH, n, 77);
    eprintln!("control: chi-square {control:.1}");
    assert!(control > 1000.0, "control: chi-square {control}");
}

/// The fit's log-parameter covariance (the inverse of the Hessian it takes by central
/// differences of the analytic gradient) against the inverse of a Hessian from second
/// differences of the negative log-likelihood's value alone, at the estimate of one
/// simulated MBG/NBD data set of 2,357 customers: the standard errors of ln theta agree
/// within 1%, so the curvature the intervals use is the likelihood's.
#[test]
fn mbgnbd_covariance_matches_likelihood_curvature() {
    let (x, t_x, t) = simulate_purchases(Process::GeometricFromZero, MBG_TRUTH, 2357, 1000);
    let data = RepeatData::new(&x, &t_x, &t).unwrap();
    let fit = Fitter::<MbgNbd>::default().fit(&data).unwrap();
    let centre: Vec<f64> = fit.params().iter().map(|p| p.ln()).collect();
    let k = centre.len();
    let value = |i: usize, si: f64, j: usize, sj: f64| {
        let mut at = centre.clone();
        at[i] += si;
        at[j] += sj;
        let p: Vec<f64> = at.iter().map(|v| v.exp()).collect();
        MbgNbd::neg_ll(&p, &data, None).0
    };
    let h = 1e-3;
    let hess: Vec<Vec<f64>> = (0..k)
        .map(|i| {
            (0..k)
                .map(|j| {
                    (value(i, h, j, h) - value(i, h, j, -h) - value(i, -h, j, h)
                        + value(i, -h, j, -h))
                        / (4.0 * h * h)
                })
                .collect()
        })
        .collect();
    let cov = crate::clv::fit::invert_spd(&hess).unwrap();
    let reported = &fit.report().unwrap().log_covariance;
    for j in 0..k {
        let (numeric, fitted) = (cov[j][j].sqrt(), reported[j][j].sqrt());
        eprintln!(
            "se(ln {}): fit {fitted:.5}, value differences {numeric:.5}",
            MbgNbd::PARAM_NAMES[j]
        );
        assert!((fitted / numeric - 1.0).abs() < 0.01, "parameter {j}");
    }
}

/// Sampling distribution of the log-parameter estimates over `datasets` simulated sets:
/// per parameter the mean bias of ln theta_hat, its SD across sets, the mean reported SE
/// (sqrt of the log-covariance's diagonal), the Wald 90% coverage in log space and the
/// skewness of the z-scores.
fn diagnose<M: Model<Data = RepeatData>>(
    name: &str,
    process: Process,
    truth: [f64; 4],
    datasets: usize,
    customers: usize,
) -> Vec<f64> {
    let runs: Vec<Option<(Vec<f64>, Vec<f64>)>> = (0..datasets)
        .into_par_iter()
        .map(|k| {
            let seed = 1000 + k as u64;
            let (x, t_x, t) = simulate_purchases(process, truth, customers, seed);
            let fit = Fitter::<M>::default()
                .fit(&RepeatData::new(&x, &t_x, &t).unwrap())
                .ok()?;
            let cov = &fit.report()?.log_covariance;
            let est: Vec<f64> = fit.params().iter().map(|p| p.ln()).collect();
            let se: Vec<f64> = (0..4).map(|j| cov[j][j].sqrt()).collect();
            Some((est, se))
        })
        .collect();
    let ok: Vec<&(Vec<f64>, Vec<f64>)> = runs.iter().flatten().collect();
    let n = ok.len() as f64;
    eprintln!(
        "{name}: {customers} customers, {} of {datasets} fitted",
        ok.len()
    );
    (0..4)
        .map(|j| {
            let lt = truth[j].ln();
            let mean = ok.iter().map(|r| r.0[j]).sum::<f64>() / n;
            let sd = (ok.iter().map(|r| (r.0[j] - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
            let se = ok.iter().map(|r| r.1[j]).sum::<f64>() / n;
            let z: Vec<f64> = ok.iter().map(|r| (r.0[j] - lt) / r.1[j]).collect();
            let zm = z.iter().sum::<f64>() / n;
            let zsd = (z.iter().map(|v| (v - zm).powi(2)).sum::<f64>() / n).sqrt();
            let skew = z.iter().map(|v| ((v - zm) / zsd).powi(3)).sum::<f64>() / n;
            let cover = z.iter().filter(|v| v.abs() <= 1.6449).count() as f64 / n;
            eprintln!(
                "  ln {:5}: bias {:+.4} sd {:.4} mean se {:.4} bias/sd {:+.2} z mean {:+.2} z sd {:.2} z skew {:+.2} wald90 {:.3}",
                M::PARAM_NAMES[j],
                mean - lt,
                sd,
                se,
                (mean - lt) / sd,
                zm,
                zsd,
                skew,
                cover
            );
            cover
        })
        .collect()
}

/// Why MBG/NBD's asymptotic intervals under-cover at CDNOW's size, and that it is the
/// sample size: over 200 data sets of 2,357 customers the z-scores of ln r and ln b
/// (estimate minus truth over the reported standard error) spread wider than a standard
/// normal (SD 1.35 and 1.41, skew -0.4 and -1.2), so the Wald 90% interval in log space
/// holds ln r in under 85% of the sets; at 23,570 customers every parameter's is within
/// 85-95%. The simulator and the Hessian are checked by the two tests above.
#[test]
#[ignore = "long (about a minute): the sampling distribution behind docs/benchmarks.md's MBG/NBD finding"]
fn mbgnbd_sampling_distribution() {
    let small = diagnose::<MbgNbd>("mbg-nbd", Process::GeometricFromZero, MBG_TRUTH, 200, 2357);
    assert!(small[0] < 0.85, "ln r at 2,357 customers: {}", small[0]);
    let large = diagnose::<MbgNbd>(
        "mbg-nbd",
        Process::GeometricFromZero,
        MBG_TRUTH,
        200,
        23_570,
    );
    for (j, c) in large.iter().enumerate() {
        assert!(
            (0.85..=0.95).contains(c),
            "parameter {j} at 23,570 customers: {c}"
        );
    }
}
