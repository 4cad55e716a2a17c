//! Customer lifetime value on the CDNOW sample: fit BG/NBD and Gamma-Gamma on the 39-week
//! calibration period, check the fit against the 39-week holdout, and list the top
//! customers by CLV. Ends in asserts, so `cargo run --example clv_cdnow` is also a test.

use patronage::clv::check::{HoldoutInputs, histogram_check, holdout_check};
use patronage::clv::value::{CustomerInputs, score};
use patronage::clv::{BgNbd, ClvOptions, GammaGamma, Margin, PurchaseModel};
use patronage::prelude::*;

fn column(summary: &Summary, name: &str) -> Vec<f64> {
    summary
        .frame()
        .column(name)
        .and_then(|c| c.cast(&polars::prelude::DataType::Float64))
        .map(|c| {
            c.f64()
                .map(|v| v.iter().map(|x| x.unwrap_or(0.0)).collect())
                .unwrap_or_default()
        })
        .unwrap_or_default()
}

fn main() -> patronage::Result<()> {
    // CDNOW 1/10 sample: id, sample id, YYYYMMDD date, CDs, dollars; no header.
    let schema = TransactionSchema::default()
        .customer_id("column_2")
        .date("column_3")
        .amount("column_5");
    let tx = Transactions::scan_whitespace("datasets/cdnow/CDNOW_sample.txt", false, schema)?;
    let summary = tx.summary(
        &SummaryOptions::weekly()
            .calibration_end("1997-09-30")
            .observation_end("1998-06-30"),
    )?;

    // 1. Fit on the calibration period.
    let data = summary.repeat_data()?;
    let bg = BgNbd::fitter().fit(&data)?;
    println!(
        "BG/NBD on {} customers ({} distinct rows):",
        data.n_customers(),
        data.len()
    );
    for c in bg.summary() {
        println!(
            "  {:<6} {:>9.4}  se {:.4}  95% [{:.4}, {:.4}]",
            c.name, c.estimate, c.standard_error, c.lower_95, c.upper_95
        );
    }
    let ll = bg.log_likelihood().unwrap_or(f64::NAN);
    println!("  log-likelihood {ll:.3} (published: -9582.429)");

    let spend = summary.spend_data()?;
    let gg = GammaGamma::fitter().fit(&spend)?;
    println!(
        "Gamma-Gamma on {} repeat customers: p {:.3}, q {:.3}, gamma {:.3}; mean spend {:.2}",
        spend.n_customers(),
        gg.params()[0],
        gg.params()[1],
        gg.params()[2],
        gg.mean_spend()?
    );

    // 2. Check against the holdout.
    let (x, t_x, t) = (
        column(&summary, "frequency_cal"),
        column(&summary, "recency_cal"),
        column(&summary, "T_cal"),
    );
    let (x_h, dur) = (
        column(&summary, "frequency_holdout"),
        column(&summary, "duration_holdout"),
    );
    let check = holdout_check(
        &bg,
        HoldoutInputs {
            x: &x,
            t_x: &t_x,
            t: &t,
            x_holdout: &x_h,
            duration: &dur,
        },
        7,
    )?;
    println!(
        "Holdout: {:.0} actual vs {:.0} expected repeat purchases",
        check.actual_total, check.expected_total
    );
    println!(
        "  {:>9} {:>9} {:>8} {:>8}",
        "frequency", "customers", "actual", "model"
    );
    for b in &check.bins {
        let label = format!("{}{}", b.frequency, if b.open_ended { "+" } else { "" });
        println!(
            "  {label:>9} {:>9} {:>8.3} {:>8.3}",
            b.customers, b.actual, b.expected
        );
    }
    let hist = histogram_check(&bg, &x, &t, 7)?;
    println!(
        "Calibration histogram chi-square {:.1} over {} bins",
        hist.chi_square,
        hist.bins.len()
    );

    // 3. CLV over the next 52 weeks, 10% a year, 30% margin, scored at the end of
    //    calibration.
    let m = column(&summary, "monetary_value_cal");
    let opts = ClvOptions {
        horizon: 52.0,
        discount_rate: 1.1f64.powf(1.0 / 52.0) - 1.0,
        step: 1.0,
        margin: Margin::Rate(0.3),
    };
    let scores = score(
        &bg,
        Some(&gg),
        CustomerInputs {
            x: &x,
            t_x: &t_x,
            t: &t,
            monetary: &m,
        },
        &opts,
    )?;
    let ids = summary.frame().column("customer_id")?.str()?.clone();
    let mut order: Vec<usize> = (0..scores.clv.len()).collect();
    order.sort_by(|&a, &b| scores.clv[b].total_cmp(&scores.clv[a]).then(a.cmp(&b)));
    println!(
        "Top 10 customers by 52-week CLV (customer equity {:.0}):",
        scores.customer_equity()
    );
    println!(
        "  {:>6} {:>3} {:>7} {:>7} {:>7} {:>9} {:>8}",
        "id", "x", "t_x", "P(alive)", "E[X]", "E[spend]", "CLV"
    );
    for &i in order.iter().take(10) {
        println!(
            "  {:>6} {:>3} {:>7.2} {:>7.3} {:>7.2} {:>9.2} {:>8.2}",
            ids.get(i).unwrap_or("?"),
            x[i],
            t_x[i],
            scores.p_alive[i],
            scores.expected_purchases[i],
            scores.expected_spend[i],
            scores.clv[i]
        );
    }

    // The published fit, the holdout count, and sane scores.
    assert!((ll + 9582.429).abs() < 5e-4, "log-likelihood {ll}");
    assert_eq!(check.actual_total, 1882.0);
    assert!((check.expected_total / check.actual_total - 0.88).abs() < 0.02);
    assert!((gg.params()[0] - 6.25).abs() < 5e-3 && (gg.params()[1] - 3.74).abs() < 5e-3);
    assert!(scores.p_alive.iter().all(|p| (0.0..=1.0).contains(p)));
    assert!(scores.clv.iter().all(|v| v.is_finite() && *v >= 0.0));
    let top = order[0];
    assert!(
        x[top] >= 10.0 && scores.p_alive[top] > 0.9,
        "the top customer buys often and recently"
    );
    // Scoring agrees with the model's own conditional expectation.
    let e = bg.conditional_expected_purchases(52.0, x[top], t_x[top], t[top])?;
    assert!((e - scores.expected_purchases[top]).abs() < 1e-12);
    // Saved and loaded, the model scores identically.
    let back = BgNbd::from_json(&bg.to_json()?)?;
    assert_eq!(back.p_alive(x[top], t_x[top], t[top]), scores.p_alive[top]);
    println!("ok");
    Ok(())
}
