//! Cost-to-serve and net contribution on a hand-computed example; the matrix; cost-model
//! files and errors.

use patronage::prelude::*;
use patronage::profitability::{CostModel, Quadrant, Split, quadrants, thresholds};
use patronage::stages::profitability::analyse;
use patronage::transactions::units::{TimeScale, day_number, elapsed};
use polars::prelude::*;

fn log() -> DataFrame {
    df!(
        "customer_id" => ["A", "A", "A", "A", "B"],
        "date" => ["2024-01-02", "2024-01-02", "2024-02-10", "2024-02-15", "2024-03-01"],
        "amount" => [100.0, 50.0, 200.0, -50.0, 40.0],
        "quantity" => [2.0, 1.0, 1.0, -1.0, 4.0],
        "cost" => [60.0, 30.0, 150.0, -30.0, 10.0],
        "order_id" => ["o1", "o1", "o2", "o3", "o4"],
        "channel" => ["web", "web", "phone", "web", "store"],
    )
    .unwrap()
}

fn model() -> CostModel {
    CostModel::from_toml(
        "per_order = 2.0\nper_line = 0.5\nper_unit = 0.1\nper_delivery = 3.0\nper_return = 5.0\n\
         per_service_contact = 4.0\naccount_per_month = 1.0\ndiscount_rate = 0.02\n\
         [per_channel_order]\nphone = 6.0\nweb = 1.0\n",
    )
    .unwrap()
}

fn months(from: &str, to: &str) -> f64 {
    let d = |s: &str| day_number(chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap());
    elapsed(d(from), d(to), TimeScale::Month)
}

#[test]
fn hand_computed_costs_and_contribution() {
    let tx = Transactions::from_frame(log(), TransactionSchema::default()).unwrap();
    let activity = df!("customer_id" => ["A", "Z"], "service_contacts" => [2.0, 9.0]).unwrap();
    let opts = SummaryOptions::weekly().observation_end("2024-03-31");
    let p = analyse(&tx, &opts, &model(), Some(&activity), Split::Median).unwrap();
    let t = &p.table;
    let get = |name: &str, row: usize| t.column(name).unwrap().f64().unwrap().get(row).unwrap();
    // A: revenue 350, returns 50, cogs 60 + 30 + 150 - 30 = 210, gross 90.
    assert_eq!(
        (
            get("revenue", 0),
            get("returns", 0),
            get("cogs", 0),
            get("gross_profit", 0)
        ),
        (350.0, 50.0, 210.0, 90.0)
    );
    // Orders o1, o2 (the return is not an order); 3 lines; 4 units; 2 delivery days.
    assert_eq!(
        (
            get("orders", 0),
            get("lines", 0),
            get("units", 0),
            get("deliveries", 0)
        ),
        (2.0, 3.0, 4.0, 2.0)
    );
    assert_eq!(
        (get("return_count", 0), get("service_contacts", 0)),
        (1.0, 2.0)
    );
    // Cost-to-serve: 2x2 + 3x0.5 + 4x0.1 + 2x3 + 1x5 + 2x4 + (web 1 + phone 6) + months + 2% of 350.
    let acct_a = months("2024-01-02", "2024-03-31");
    let cts_a = 4.0 + 1.5 + 0.4 + 6.0 + 5.0 + 8.0 + 7.0 + acct_a + 7.0;
    assert!((get("cost_to_serve", 0) - cts_a).abs() < 1e-9);
    assert!((get("cts_channel", 0) - 7.0).abs() < 1e-12);
    assert!((get("net_contribution", 0) - (90.0 - cts_a)).abs() < 1e-9);
    assert!((get("margin_pct", 0) - 100.0 * 90.0 / 300.0).abs() < 1e-9);
    // B: 40 revenue, 10 cogs; one order of 4 units in the store (no channel rate).
    let acct_b = months("2024-03-01", "2024-03-31");
    let cts_b = 2.0 + 0.5 + 0.4 + 3.0 + acct_b + 0.8;
    assert!((get("cost_to_serve", 1) - cts_b).abs() < 1e-9);
    assert_eq!(get("gross_profit", 1), 30.0);
    // Quadrants at the medians (of two customers: the midpoints): A has the higher
    // cost-to-serve and the lower margin.
    let q = t.column("quadrant").unwrap().str().unwrap();
    assert_eq!(q.get(0), Some("Aggressive"));
    assert_eq!(q.get(1), Some("Passive"));
    let total: usize = p.quadrants.iter().map(|s| s.customers).sum();
    assert_eq!(total, 2);
}

#[test]
fn margin_rate_replaces_a_missing_cost_column() {
    let df = log().drop("cost").unwrap();
    let tx = Transactions::from_frame(df, TransactionSchema::default()).unwrap();
    let opts = SummaryOptions::weekly().observation_end("2024-03-31");
    let e = analyse(&tx, &opts, &model(), None, Split::Median).unwrap_err();
    assert!(e.to_string().contains("margin_rate"), "{e}");
    let m = CostModel {
        margin_rate: Some(0.4),
        ..model()
    };
    let p = analyse(&tx, &opts, &m, None, Split::Median).unwrap();
    let cogs = p
        .table
        .column("cogs")
        .unwrap()
        .f64()
        .unwrap()
        .get(0)
        .unwrap();
    assert!((cogs - 0.6 * 300.0).abs() < 1e-9);
}

#[test]
fn cost_model_files_and_splits() {
    assert!(CostModel::from_toml("per_order = -1").is_err());
    assert!(
        CostModel::from_toml("per_orders = 1")
            .unwrap_err()
            .to_string()
            .contains("per_orders")
    );
    assert!(CostModel::from_json("{\"discount_rate\": 2}").is_err());
    assert_eq!(CostModel::from_json("{}").unwrap(), CostModel::default());
    assert_eq!("q75".parse::<Split>().unwrap(), Split::Quantile(0.75));
    assert_eq!("20,5".parse::<Split>().unwrap(), Split::Values(20.0, 5.0));
    assert!("q0".parse::<Split>().is_err() && "half".parse::<Split>().is_err());
    let m = [10.0, 20.0, 30.0, 40.0];
    let c = [4.0, 3.0, 2.0, 1.0];
    assert_eq!(thresholds(&m, &c, Split::Mean).unwrap(), (25.0, 2.5));
    let q = quadrants(&m, &c, thresholds(&m, &c, Split::Median).unwrap());
    assert_eq!(
        q,
        [
            Quadrant::Aggressive,
            Quadrant::Aggressive,
            Quadrant::Passive,
            Quadrant::Passive
        ]
    );
}

#[test]
fn grid_and_rfm_crosstab_cover_every_customer() {
    use patronage::simulate::{SimulationSpec, simulate};
    let sim = simulate(&SimulationSpec {
        customers: 1500,
        seed: 8,
        ..SimulationSpec::default()
    })
    .unwrap();
    let tx = Transactions::from_frame(sim.transactions, TransactionSchema::default()).unwrap();
    let p = analyse(
        &tx,
        &SummaryOptions::weekly(),
        &crate::example_costs(),
        None,
        Split::Median,
    )
    .unwrap();
    let n = p.table.height();
    assert_eq!(p.grid.len(), 9);
    assert_eq!(p.grid.iter().map(|c| c.customers).sum::<usize>(), n);
    assert_eq!(
        p.by_rfm_segment.iter().map(|c| c.customers).sum::<usize>(),
        n
    );
    let total: f64 = p.by_rfm_segment.iter().map(|c| c.net_contribution).sum();
    assert!(
        (total - p.total_net_contribution).abs() < 1e-6 * p.total_net_contribution.abs().max(1.0)
    );
    assert!(p.by_rfm_segment.iter().all(|c| c.group != "(none)"));
    // Quantile bands hold about a third of customers each way.
    let band1: usize = p
        .grid
        .iter()
        .filter(|c| c.margin_band == 1)
        .map(|c| c.customers)
        .sum();
    assert!(band1 * 3 >= n - 3 && band1 * 3 <= n + 3, "{band1} of {n}");
}

/// Acceptance (issue #5): on a simulated log with a known cost structure (service
/// contacts, channel mix, returns), every customer's cost-to-serve and net contribution
/// equal a direct recomputation from the simulated rows.
#[test]
fn simulated_costs_match_a_direct_recomputation() {
    use patronage::simulate::{SimulationSpec, simulate};
    use std::collections::{BTreeMap, BTreeSet, HashMap};
    let sim = simulate(&SimulationSpec {
        customers: 800,
        seed: 11,
        return_rate: 0.08,
        ..SimulationSpec::default()
    })
    .unwrap();
    let model = CostModel::from_toml(
        "per_order = 2.0\nper_line = 0.3\nper_unit = 0.05\nper_delivery = 4.0\nper_return = 6.0\n\
         per_service_contact = 3.5\ndiscount_rate = 0.01\n[per_channel_order]\nphone = 2.5\nstore = 0.75\n",
    )
    .unwrap();
    let tx =
        Transactions::from_frame(sim.transactions.clone(), TransactionSchema::default()).unwrap();
    let p = analyse(
        &tx,
        &SummaryOptions::weekly(),
        &model,
        Some(&sim.customers),
        Split::Median,
    )
    .unwrap();
    assert!(p.table.height() == 800);

    // Direct recomputation from the simulated rows.
    let t = &sim.transactions;
    let s = |c: &str| {
        t.column(c)
            .unwrap()
            .cast(&DataType::String)
            .unwrap()
            .str()
            .unwrap()
            .clone()
    };
    let f = |c: &str| {
        t.column(c)
            .unwrap()
            .cast(&DataType::Float64)
            .unwrap()
            .f64()
            .unwrap()
            .clone()
    };
    let (ids, orders, dates, channels) = (s("customer_id"), s("order_id"), s("date"), s("channel"));
    let (amount, qty, cost) = (f("amount"), f("quantity"), f("cost"));
    let ret = t.column("is_return").unwrap().bool().unwrap().clone();
    #[derive(Default)]
    struct Acc {
        revenue: f64,
        returns: f64,
        cogs: f64,
        lines: f64,
        units: f64,
        return_lines: f64,
        orders: BTreeMap<String, (String, String)>, // order -> (date, channel) of its first row
        days: BTreeSet<String>,
    }
    let mut acc: HashMap<String, Acc> = HashMap::new();
    // Rows in (date, order) order, as simulated.
    for i in 0..t.height() {
        let a = acc.entry(ids.get(i).unwrap().to_string()).or_default();
        if ret.get(i).unwrap() {
            a.returns += amount.get(i).unwrap().abs();
            a.cogs -= cost.get(i).unwrap().abs();
            a.return_lines += 1.0;
        } else {
            a.revenue += amount.get(i).unwrap();
            a.cogs += cost.get(i).unwrap();
            a.lines += 1.0;
            a.units += qty.get(i).unwrap();
            a.days.insert(dates.get(i).unwrap().to_string());
            a.orders
                .entry(orders.get(i).unwrap().to_string())
                .or_insert((
                    dates.get(i).unwrap().to_string(),
                    channels.get(i).unwrap().to_string(),
                ));
        }
    }
    let contacts: HashMap<String, f64> = {
        let c = &sim.customers;
        let ids = c.column("customer_id").unwrap().str().unwrap().clone();
        let n = c
            .column("service_contacts")
            .unwrap()
            .cast(&DataType::Float64)
            .unwrap()
            .f64()
            .unwrap()
            .clone();
        (0..c.height())
            .map(|i| (ids.get(i).unwrap().to_string(), n.get(i).unwrap()))
            .collect()
    };
    let out_ids = p
        .table
        .column("customer_id")
        .unwrap()
        .str()
        .unwrap()
        .clone();
    let col = |c: &str| p.table.column(c).unwrap().f64().unwrap().clone();
    let (cts, net, gross) = (
        col("cost_to_serve"),
        col("net_contribution"),
        col("gross_profit"),
    );
    for i in 0..p.table.height() {
        let id = out_ids.get(i).unwrap();
        let a = &acc[id];
        let channel: f64 = a
            .orders
            .values()
            .map(|(_, ch)| match ch.as_str() {
                "phone" => 2.5,
                "store" => 0.75,
                _ => 0.0,
            })
            .sum();
        let expected_cts = 2.0 * a.orders.len() as f64
            + 0.3 * a.lines
            + 0.05 * a.units
            + 4.0 * a.days.len() as f64
            + 6.0 * a.return_lines
            + 3.5 * contacts[id]
            + channel
            + 0.01 * a.revenue;
        let expected_gross = a.revenue - a.returns - a.cogs;
        let tol = 1e-9 * (1.0 + a.revenue.abs());
        assert!(
            (cts.get(i).unwrap() - expected_cts).abs() < tol,
            "{id}: cost-to-serve {} vs {expected_cts}",
            cts.get(i).unwrap()
        );
        assert!(
            (gross.get(i).unwrap() - expected_gross).abs() < tol,
            "{id}: gross"
        );
        assert!(
            (net.get(i).unwrap() - (expected_gross - expected_cts)).abs() < tol,
            "{id}: net"
        );
    }
}

#[test]
fn visits_from_the_activity_table_are_priced() {
    let tx = Transactions::from_frame(log(), TransactionSchema::default()).unwrap();
    let opts = SummaryOptions::weekly().observation_end("2024-03-31");
    let m = CostModel {
        per_visit: 1.25,
        ..model()
    };
    // Two rows for A add up; B has visits only through a second row type.
    let activity = df!("customer_id" => ["A", "A", "B"], "visits" => [2.0, 1.0, 4.0]).unwrap();
    let p = analyse(&tx, &opts, &m, Some(&activity), Split::Median).unwrap();
    let v = p.table.column("cts_visits").unwrap().f64().unwrap().clone();
    assert_eq!((v.get(0), v.get(1)), (Some(3.0 * 1.25), Some(4.0 * 1.25)));
    let s = p
        .table
        .column("cts_service")
        .unwrap()
        .f64()
        .unwrap()
        .clone();
    assert_eq!(s.get(0), Some(0.0)); // no service_contacts column: none counted
    let bad = df!("customer_id" => ["A"], "calls" => [1.0]).unwrap();
    let e = analyse(&tx, &opts, &m, Some(&bad), Split::Median).unwrap_err();
    assert!(e.to_string().contains("service_contacts or visits"), "{e}");
    let neg = df!("customer_id" => ["A"], "visits" => [-1.0]).unwrap();
    assert!(analyse(&tx, &opts, &m, Some(&neg), Split::Median).is_err());
}
