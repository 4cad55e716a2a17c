//! The whale-curve fixture (20 customers; peak 132.4% of total profit, top 20% = 95.7%;
//! docs/guide/profitability.md), exactly.

use patronage::profitability::{Tier, pyramid, whale_curve};

const PROFITS: [f64; 20] = [
    1700.0, 5000.0, -5400.0, 900.0, -700.0, 100.0, -3100.0, 1800.0, 7900.0, -2300.0, 50.0, 8700.0,
    1500.0, 200.0, 500.0, 9026.0, 60.0, 8300.0, 10.0, 1200.0,
];

#[test]
fn fixture_peak_and_concentration() {
    let w = whale_curve(&PROFITS).unwrap();
    assert_eq!(w.total, 35_446.0);
    // Peak 132.4% after 15-16 customers (the 16th adds 10: 132.41% vs 132.39%).
    assert_eq!(format!("{:.1}", 100.0 * w.peak_share), "132.4");
    assert!(
        (15..=16).contains(&w.peak_customers),
        "{}",
        w.peak_customers
    );
    assert_eq!(format!("{:.1}", 100.0 * w.points[14]), "132.4");
    // Top 20% (4 customers) bring 95.7%.
    assert_eq!(format!("{:.1}", 100.0 * w.top20_share), "95.7");
    assert_eq!(w.loss_making, 4);
    assert_eq!(w.loss_total, -11_500.0);
    assert!((w.points[19] - 1.0).abs() < 1e-12);
    // Gini by the pairwise definition sum|p_i - p_j| / (2 n^2 mean), computed by hand:
    // 1.1821 (above 1 because of the loss-makers).
    assert!((w.gini.unwrap() - 1.182_099_531_681_995).abs() < 1e-12);
}

#[test]
fn pyramid_tiers_and_errors() {
    let tiers = pyramid(&PROFITS, [0.05, 0.20, 0.50]).unwrap();
    assert_eq!(tiers[15], Tier::Platinum); // 9026, the top 5% (1 of 20)
    assert_eq!(tiers[11], Tier::Gold); // 8700
    assert_eq!(tiers[2], Tier::Lead); // -5400
    let count = |t| tiers.iter().filter(|x| **x == t).count();
    assert_eq!(
        (
            count(Tier::Platinum),
            count(Tier::Gold),
            count(Tier::Iron),
            count(Tier::Lead)
        ),
        (1, 3, 6, 10)
    );
    assert!(pyramid(&PROFITS, [0.5, 0.2, 0.9]).is_err());
    assert!(whale_curve(&[]).is_err());
    assert!(whale_curve(&[1.0, f64::NAN]).is_err());
    assert!(whale_curve(&[-1.0, 0.5]).is_err());
    // All equal: no concentration.
    let w = whale_curve(&[5.0; 10]).unwrap();
    assert!(w.gini.unwrap().abs() < 1e-12);
    assert_eq!(w.peak_customers, 10);
}
