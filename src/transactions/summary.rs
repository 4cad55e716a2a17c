//! Per-customer summary: RFM and BTYD features, with calibration and holdout columns.

use polars::prelude::*;
use rayon::prelude::*;

use super::clean::{CleanTransactions, CleaningReport};
use super::options::SummaryOptions;
use super::units::{PurchaseUnit, date_of, elapsed, unit_start};
use crate::error::Result;

/// One purchase occasion: the transactions of one customer in one purchase unit.
#[derive(Debug, Clone, Copy)]
struct Unit {
    start: i32,
    first_day: i32,
    spend: f64,
}

/// Builds purchase occasions from one customer's rows (sorted by day). Returns are netted
/// against the latest occasion whose first purchase is on or before the return's day; a
/// return with no such occasion is left out (only possible inside a calibration or holdout
/// window: cleaning rejects returns that precede every purchase).
fn occasions(
    rows: impl Iterator<Item = (i32, f64, bool)> + Clone,
    unit: PurchaseUnit,
) -> Vec<Unit> {
    let mut units: Vec<Unit> = Vec::new();
    for (day, amount, ret) in rows.clone() {
        if ret {
            continue;
        }
        let start = unit_start(day, unit);
        match units.last_mut() {
            Some(u) if u.start == start => u.spend += amount,
            _ => units.push(Unit {
                start,
                first_day: day,
                spend: amount,
            }),
        }
    }
    for (day, amount, ret) in rows {
        if ret {
            let k = units.partition_point(|u| u.first_day <= day);
            if k > 0 {
                units[k - 1].spend += amount;
            }
        }
    }
    units
}

fn repeat_mean(units: &[Unit]) -> f64 {
    if units.len() < 2 {
        0.0
    } else {
        units[1..].iter().map(|u| u.spend).sum::<f64>() / (units.len() - 1) as f64
    }
}

#[derive(Debug, Clone, Default)]
struct CustomerRow {
    frequency: u32,
    recency: f64,
    t: f64,
    monetary: f64,
    first_day: i32,
    last_day: i32,
    n_purchases: u32,
    total_spend: f64,
    returns: f64,
    recency_days: i32,
    gross_profit: f64,
    cal: Option<(u32, f64, f64, f64)>,
    holdout: Option<(u32, f64)>,
}

/// The per-customer summary and what cleaning did to get it.
#[derive(Debug, Clone)]
pub struct Summary {
    frame: DataFrame,
    report: CleaningReport,
    options: SummaryOptions,
    observation_end: i32,
    calibration_end: Option<i32>,
}

impl Summary {
    /// The per-customer table, sorted by `customer_id`.
    ///
    /// Columns: `customer_id, frequency, recency, T, monetary_value, first_purchase,
    /// last_purchase, n_purchases, total_spend, returns, recency_days`, `gross_profit` when
    /// a cost column is known, and with a calibration end `frequency_cal, recency_cal,
    /// T_cal, monetary_value_cal, frequency_holdout, monetary_value_holdout,
    /// duration_holdout` (null for customers whose first purchase is after it).
    pub fn frame(&self) -> &DataFrame {
        &self.frame
    }
    /// Takes the table.
    pub fn into_frame(self) -> DataFrame {
        self.frame
    }
    /// What cleaning did: rows read and used, rejects, duplicates.
    pub fn report(&self) -> &CleaningReport {
        &self.report
    }
    /// The options the summary was made with.
    pub fn options(&self) -> &SummaryOptions {
        &self.options
    }
    /// The observation end used.
    pub fn observation_end(&self) -> chrono::NaiveDate {
        date_of(self.observation_end)
    }
    /// The calibration end, when one was given.
    pub fn calibration_end(&self) -> Option<chrono::NaiveDate> {
        self.calibration_end.map(date_of)
    }
    /// Number of customers.
    pub fn n_customers(&self) -> usize {
        self.frame.height()
    }
}

/// The error for a calibration end before the first used transaction.
pub(crate) fn calibration_before_first(cal: i32, first: i32) -> crate::error::Error {
    crate::error::Error::invalid(
        "calibration_end",
        format!(
            "{} is before the first transaction ({}): the calibration period would be empty",
            date_of(cal),
            date_of(first)
        ),
    )
}

/// Aggregates clean transactions into the per-customer summary.
pub(crate) fn summarise(clean: CleanTransactions, options: &SummaryOptions) -> Result<Summary> {
    let obs = clean.observation_end;
    let cal = options.parsed_calibration_end(obs)?;
    if let (Some(c), Some(&first)) = (cal, clean.day.iter().min()) {
        if c < first {
            return Err(calibration_before_first(c, first));
        }
    }
    let (frame, report) = summary_frame(clean, options, cal)?;
    Ok(Summary::from_parts(frame, report, options, obs, cal))
}

/// `T` of a customer whose first purchase is on `first_day`.
fn t_of(first_day: i32, obs: i32, options: &SummaryOptions) -> f64 {
    let pu = options.purchase_unit;
    elapsed(
        unit_start(first_day, pu),
        unit_start(obs, pu),
        options.time_unit,
    )
}

/// The holdout duration.
fn duration_holdout(cal: i32, obs: i32, options: &SummaryOptions) -> f64 {
    let pu = options.purchase_unit;
    elapsed(unit_start(cal, pu), unit_start(obs, pu), options.time_unit)
}

impl Summary {
    pub(crate) fn from_parts(
        frame: DataFrame,
        report: CleaningReport,
        options: &SummaryOptions,
        observation_end: i32,
        calibration_end: Option<i32>,
    ) -> Self {
        Summary {
            frame,
            report,
            options: options.clone(),
            observation_end,
            calibration_end,
        }
    }
}

/// Recomputes the columns that depend on the observation end (`T`, `recency_days`,
/// `duration_holdout`) of a frame made by [`summary_frame`] for another end, from its
/// `first_purchase` and `last_purchase` columns, with the same arithmetic.
pub(crate) fn with_observation_end(
    mut frame: DataFrame,
    obs: i32,
    cal: Option<i32>,
    options: &SummaryOptions,
) -> Result<DataFrame> {
    let days_of = |name: &str| -> Result<Vec<i32>> {
        let c = frame.column(name)?.to_physical_repr();
        Ok(c.i32()?.into_no_null_iter().collect())
    };
    let first = days_of("first_purchase")?;
    let last = days_of("last_purchase")?;
    let t: Vec<f64> = first.iter().map(|&f| t_of(f, obs, options)).collect();
    let recency_days: Vec<i32> = last.iter().map(|&l| obs - l).collect();
    frame.with_column(Column::new("T".into(), t))?;
    frame.with_column(Column::new("recency_days".into(), recency_days))?;
    if let Some(cal) = cal {
        let d = duration_holdout(cal, obs, options);
        let has_cal = frame.column("frequency_cal")?.is_not_null();
        let v: Vec<Option<f64>> = has_cal
            .iter()
            .map(|b| b.unwrap_or(false).then_some(d))
            .collect();
        frame.with_column(Column::new("duration_holdout".into(), v))?;
    }
    Ok(frame)
}

/// The per-customer frame (sorted by customer id) of clean transactions, with an already
/// checked calibration end; the observation end is the clean rows'.
pub(crate) fn summary_frame(
    clean: CleanTransactions,
    options: &SummaryOptions,
    cal: Option<i32>,
) -> Result<(DataFrame, CleaningReport)> {
    let obs = clean.observation_end;
    let pu = options.purchase_unit;
    let tu = options.time_unit;
    let n_cust = clean.n_customers();

    let row_of = |c: usize| -> CustomerRow {
        let (lo, hi) = (clean.offsets[c], clean.offsets[c + 1]);
        let rows = (lo..hi).map(|j| (clean.day[j], clean.amount[j], clean.is_return[j]));
        let units = occasions(rows.clone(), pu);
        let (first, last) = (units[0], units[units.len() - 1]);
        let last_day = (lo..hi)
            .filter(|&j| !clean.is_return[j])
            .map(|j| clean.day[j])
            .max()
            .unwrap_or(first.first_day);
        let total_spend: f64 = (lo..hi).map(|j| clean.amount[j]).sum();
        let returns: f64 = (lo..hi)
            .filter(|&j| clean.is_return[j])
            .map(|j| -clean.amount[j])
            .sum();
        let gross_profit = clean.cost.as_ref().map_or(0.0, |cost| {
            total_spend - (lo..hi).map(|j| cost[j]).sum::<f64>()
        });
        let (cal_cols, holdout_cols) = match cal {
            None => (None, None),
            Some(cal) => {
                let cal_units = occasions(rows.clone().filter(|r| r.0 <= cal), pu);
                if cal_units.is_empty() {
                    (None, None)
                } else {
                    let (f, l) = (cal_units[0], cal_units[cal_units.len() - 1]);
                    let hold = occasions(rows.clone().filter(|r| r.0 > cal), pu);
                    let hold_mean = if hold.is_empty() {
                        0.0
                    } else {
                        hold.iter().map(|u| u.spend).sum::<f64>() / hold.len() as f64
                    };
                    (
                        Some((
                            (cal_units.len() - 1) as u32,
                            elapsed(f.start, l.start, tu),
                            elapsed(f.start, unit_start(cal, pu), tu),
                            repeat_mean(&cal_units),
                        )),
                        Some((hold.len() as u32, hold_mean)),
                    )
                }
            }
        };
        CustomerRow {
            frequency: (units.len() - 1) as u32,
            recency: elapsed(first.start, last.start, tu),
            t: t_of(first.first_day, obs, options),
            monetary: repeat_mean(&units),
            first_day: first.first_day,
            last_day,
            n_purchases: units.len() as u32,
            total_spend,
            returns,
            recency_days: obs - last_day,
            gross_profit,
            cal: cal_cols,
            holdout: holdout_cols,
        }
    };
    let out: Vec<CustomerRow> = if cfg!(feature = "parallel") {
        (0..n_cust).into_par_iter().map(row_of).collect()
    } else {
        (0..n_cust).map(row_of).collect()
    };

    let mut columns: Vec<Column> = Vec::with_capacity(20);
    let id = clean.ids.clone().with_name("customer_id".into());
    columns.push(id.into_column());
    macro_rules! col {
        ($name:expr, $f:expr) => {
            columns.push(Column::new(
                $name.into(),
                out.iter().map($f).collect::<Vec<_>>(),
            ))
        };
    }
    col!("frequency", |r| r.frequency);
    col!("recency", |r| r.recency);
    col!("T", |r| r.t);
    col!("monetary_value", |r| r.monetary);
    columns.push(date_column(
        "first_purchase",
        out.iter().map(|r| r.first_day),
    )?);
    columns.push(date_column(
        "last_purchase",
        out.iter().map(|r| r.last_day),
    )?);
    col!("n_purchases", |r| r.n_purchases);
    col!("total_spend", |r| r.total_spend);
    col!("returns", |r| r.returns);
    col!("recency_days", |r| r.recency_days);
    if clean.cost.is_some() {
        col!("gross_profit", |r| r.gross_profit);
    }
    if let Some(cal) = cal {
        col!("frequency_cal", |r| r.cal.map(|c| c.0));
        col!("recency_cal", |r| r.cal.map(|c| c.1));
        col!("T_cal", |r| r.cal.map(|c| c.2));
        col!("monetary_value_cal", |r| r.cal.map(|c| c.3));
        col!("frequency_holdout", |r| r.holdout.map(|h| h.0));
        col!("monetary_value_holdout", |r| r.holdout.map(|h| h.1));
        let duration = duration_holdout(cal, obs, options);
        col!("duration_holdout", |r| r.cal.map(|_| duration));
    }
    let frame = DataFrame::new_infer_height(columns)?;
    let frame = super::ids::sort_by_customer_id(frame)?;
    Ok((frame, clean.report))
}

fn date_column(name: &str, days: impl Iterator<Item = i32>) -> Result<Column> {
    Ok(Column::new(name.into(), days.collect::<Vec<i32>>()).cast(&DataType::Date)?)
}
