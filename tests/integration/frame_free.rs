//! The frame-free entry points of the models (issue #13: a crate that embeds only the
//! models builds no polars) give exactly what the frame entry points give, on the retail
//! sample read through the pipeline's own types.

use patronage::prelude::*;
use patronage::profitability::{
    CostModel, CustomerActivity, activity_counts, costs_from_activity, customer_costs,
};
use patronage::segmentation::{
    FeatureSpec, KChoice, Method, SegmentationSpec, segment, segment_columns,
};
use polars::prelude::*;

use crate::pipeline::column_f64;

fn retail() -> CustomerTable {
    Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())
        .unwrap()
        .customer_table(&SummaryOptions::weekly(), None)
        .unwrap()
}

/// A numeric column as `f64`; the columns read here have no nulls (a null fails the test
/// rather than being read as some value).
fn numbers(df: &DataFrame, name: &str) -> Vec<f64> {
    column_f64(df, name)
        .into_iter()
        .map(Option::unwrap)
        .collect()
}

#[test]
fn segment_columns_gives_what_segment_gives() {
    let summary = retail().summary().unwrap();
    let df = summary.frame();
    let names = [
        "recency_days",
        "n_purchases",
        "total_spend",
        "T",
        "gross_profit",
    ];
    let values: Vec<Vec<f64>> = names.iter().map(|n| numbers(df, n)).collect();
    let columns: Vec<(&str, &[f64])> = names
        .iter()
        .zip(&values)
        .map(|(n, v)| (*n, v.as_slice()))
        .collect();
    let specs = [
        // k chosen over a range by silhouette, native k-means.
        SegmentationSpec::default(),
        // A Gaussian mixture on four features, `tenure` read from `T`.
        SegmentationSpec::default()
            .features(
                ["recency_days", "n_purchases", "total_spend", "tenure"]
                    .iter()
                    .map(|c| FeatureSpec::default_for(c))
                    .collect(),
            )
            .method(Method::GaussianMixture)
            .k(KChoice::Fixed(3)),
    ];
    for spec in &specs {
        let from_frame = segment(df, spec).unwrap();
        let from_slices = segment_columns(&columns, spec).unwrap();
        // Everything: assignments, profiles (labels, shares, feature summaries), the
        // k table and the fitted model.
        assert_eq!(from_slices, from_frame);
        assert!(from_frame.profiles[0].revenue_share.is_some());
        assert!(from_frame.profiles[0].profit_share.is_some());
        assert_eq!(
            from_frame.model.predict_columns(&columns).unwrap(),
            from_frame.model.predict(df).unwrap()
        );
    }
}

/// Costs of the retail sample's customers from the customer table and from the same
/// columns as slices, with service contacts and visits for a few customers.
fn costs_both_ways(customers: &DataFrame, model: &CostModel) -> (Vec<f64>, usize) {
    let ids: Vec<String> = customers
        .column("customer_id")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|s| s.unwrap().to_string())
        .collect();
    // Two rows for one customer (they add up) and an id not in the table (ignored).
    let picked = [
        ids[0].as_str(),
        ids[0].as_str(),
        ids[7].as_str(),
        ids[42].as_str(),
        "nobody",
    ];
    let activity = df!(
        "customer_id" => picked,
        "service_contacts" => [1.0, 2.0, 4.0, 0.0, 9.0],
        "visits" => [0.0, 1.0, 3.0, 5.0, 9.0],
    )
    .unwrap();
    let counts = activity_counts(&activity).unwrap();
    let from_frame = customer_costs(customers, model, Some(&counts)).unwrap();

    let get = |name: &str| numbers(customers, name);
    let (revenue, returns) = (get("revenue"), get("returns"));
    let (orders, lines, units) = (get("orders"), get("lines"), get("units"));
    let (deliveries, return_count) = (get("deliveries"), get("return_count"));
    let tenure_months = get("tenure_months");
    let channel_values: Vec<(String, Vec<f64>)> = customers
        .get_column_names()
        .iter()
        .filter_map(|n| n.strip_prefix("channel_orders_"))
        .map(|c| (c.to_string(), get(&format!("channel_orders_{c}"))))
        .collect();
    assert_eq!(channel_values.len(), 3);
    let channels: Vec<(&str, &[f64])> = channel_values
        .iter()
        .map(|(c, v)| (c.as_str(), v.as_slice()))
        .collect();
    let (contacts, visits): (Vec<f64>, Vec<f64>) = ids
        .iter()
        .map(|id| counts.get(id).copied().unwrap_or((0.0, 0.0)))
        .unzip();
    let cogs = customers.column("cogs").is_ok().then(|| get("cogs"));
    let mut slices = CustomerActivity::new(&revenue, &returns)
        .orders(&orders)
        .lines(&lines)
        .units(&units)
        .deliveries(&deliveries)
        .return_count(&return_count)
        .tenure_months(&tenure_months)
        .service_contacts(&contacts)
        .visits(&visits)
        .channel_orders(&channels);
    if let Some(cogs) = &cogs {
        slices = slices.cogs(cogs);
    }
    let from_slices = costs_from_activity(&slices, model).unwrap();
    assert_eq!(from_slices, from_frame);
    let served = from_frame
        .iter()
        .filter(|c| c.service_contacts > 0.0 || c.visits > 0.0)
        .count();
    (
        from_frame.iter().map(|c| c.net_contribution()).collect(),
        served,
    )
}

#[test]
fn costs_from_activity_gives_what_customer_costs_gives() {
    let table = retail();
    let model = CostModel::from_toml(
        "per_unit = 0.2\nper_visit = 1.5\naccount_per_month = 0.75\ndiscount_rate = 0.03\n\
         [per_channel_order]\nphone = 4.0\nstore = 0.5\n",
    )
    .unwrap();
    // With the sample's cost column.
    let (net, served) = costs_both_ways(table.frame(), &model);
    assert_eq!(net.len(), table.n_customers());
    assert_eq!(served, 3);
    // Without it: cost of goods from the margin rate.
    let no_cogs = table.frame().drop("cogs").unwrap();
    let margin = CostModel {
        margin_rate: Some(0.35),
        ..model
    };
    let (net_margin, _) = costs_both_ways(&no_cogs, &margin);
    assert_ne!(net_margin, net);
}
