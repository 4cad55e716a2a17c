//! Profitability of the bundled retail sample (orders, channels, unit costs, returns)
//! under `datasets/costs_example.toml`: the profit vs cost-to-serve matrix with the
//! strategy each quadrant calls for, the whale curve and the pyramid. Ends in asserts,
//! so `cargo run --example profitability_matrix` is also a test.

use patronage::prelude::*;
use patronage::profitability::{CostModel, Split};
use patronage::stages::profitability::analyse;

fn main() -> patronage::Result<()> {
    let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
    let model = CostModel::from_path("datasets/costs_example.toml")?;
    let p = analyse(&tx, &SummaryOptions::weekly(), &model, None, Split::Median)?;

    println!(
        "{} customers; matrix split at margin {:.1}% and cost-to-serve {:.2}",
        p.table.height(),
        p.thresholds.0,
        p.thresholds.1
    );
    println!(
        "{:<17} {:>9} {:>8} {:>12} {:>12} {:>12}",
        "quadrant", "customers", "revenue%", "gross", "cost-to-serve", "net"
    );
    for q in &p.quadrants {
        println!(
            "{:<17} {:>9} {:>7.1}% {:>12.2} {:>12.2} {:>12.2}",
            q.quadrant,
            q.customers,
            100.0 * q.revenue_share,
            q.gross_profit,
            q.cost_to_serve,
            q.net_contribution
        );
        println!("    -> {}", q.action);
    }
    let whale = p.whale.as_ref().expect("the sample earns money overall");
    println!(
        "whale curve: peaks at {:.1}% of net contribution after {} customers ({:.0}%); top 20% bring {:.1}%; {} loss-makers ({:.2}); Gini {:.2}",
        100.0 * whale.peak_share,
        whale.peak_customers,
        100.0 * whale.peak_customer_share,
        100.0 * whale.top20_share,
        whale.loss_making,
        whale.loss_total,
        whale.gini.unwrap_or(f64::NAN)
    );
    let tiers = p.table.column("tier")?.str()?.clone();
    for t in ["Platinum", "Gold", "Iron", "Lead"] {
        println!(
            "  {t:<9} {:>5} customers",
            tiers.iter().filter(|x| *x == Some(t)).count()
        );
    }

    // Every customer is in one quadrant; the quadrant sums are the table's sums; the
    // whale curve ends at 100% and peaks above it when there are loss-makers; channel
    // handling shows up as a cost component.
    let n = p.table.height();
    assert_eq!(p.quadrants.iter().map(|q| q.customers).sum::<usize>(), n);
    let net_total: f64 = p
        .table
        .column("net_contribution")?
        .f64()?
        .iter()
        .flatten()
        .sum();
    let quad_total: f64 = p.quadrants.iter().map(|q| q.net_contribution).sum();
    assert!((net_total - quad_total).abs() < 1e-6 * net_total.abs().max(1.0));
    assert!((whale.total - net_total).abs() < 1e-6 * net_total.abs().max(1.0));
    assert!((whale.points[n - 1] - 1.0).abs() < 1e-9);
    assert_eq!(whale.peak_share > 1.0, whale.loss_making > 0);
    let channel: f64 = p.table.column("cts_channel")?.f64()?.iter().flatten().sum();
    assert!(channel > 0.0, "phone and store orders carry channel costs");
    let returns: f64 = p.table.column("cts_returns")?.f64()?.iter().flatten().sum();
    assert!(returns > 0.0, "the sample has returns");
    println!("ok");
    Ok(())
}
