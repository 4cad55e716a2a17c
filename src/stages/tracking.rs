//! The tracking check: actual against expected repeat purchases over calendar time, for
//! the whole customer base (the tracking plot of Fader, Hardie and Lee's BG/NBD paper,
//! "Counting your customers the easy way", 2005, figures 2 and 3).
//!
//! At each period end `d` (one time unit apart, several when the window holds more than
//! [`MAX_POINTS`] units, on a grid through the calibration end when there is one, else
//! from the first acquisition; the first and last periods may be shorter, and the
//! observation end is always the last end) the actual figure is the repeat purchases on or before `d`
//! (from the summary's [`PurchaseTimeline`], counted as `frequency` counts them) and the
//! expected figure is `sum_i E[X(d - acquired_i)]` over the customers acquired before
//! `d`, with `E[X(t)]` the purchase model's expected repeat purchases of a new customer
//! in `(0, t]` and `d - acquired_i` in the summary's time unit (the way `T` is measured).
//! Customers acquired after the calibration end are included with the model fitted on the
//! calibration period: the model predicts new customers as it predicts old ones.
//!
//! Per period the incremental figures (the difference from the previous end) are given
//! too, with the period's length: the first period's are its cumulative ones, and a
//! shorter first or last period holds fewer purchases (the report plots rates per time
//! unit so they do not show as dips).

use rayon::prelude::*;
use serde::Serialize;

use crate::clv::PurchaseModel;
use crate::error::Result;
use crate::transactions::summary::Summary;
use crate::transactions::timeline::PurchaseTimeline;
use crate::transactions::units::{TimeScale, add_months, date_of, day_number, elapsed, unit_start};

/// The most period ends a tracking check computes: a window longer than this many time
/// units is tracked in steps of several units (5 years of weeks fit in one step).
pub const MAX_POINTS: usize = 260;

/// One period end of the [`TrackingCheck`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TrackingPoint {
    /// The period end's date (the first day of the purchase unit it falls in).
    pub date: String,
    /// Time units from the first acquisition to the period end.
    pub period_end: f64,
    /// Time units from the previous period end (from the first acquisition for the
    /// first): `step`, except for a shorter first or last period.
    pub period_length: f64,
    /// Repeat purchases made on or before the period end.
    pub actual: f64,
    /// Repeat purchases the model expects by the period end.
    pub expected: f64,
    /// Repeat purchases made in this period (after the previous end).
    pub actual_incremental: f64,
    /// Repeat purchases the model expects in this period.
    pub expected_incremental: f64,
}

/// Actual against expected cumulative and incremental repeat purchases over calendar
/// time (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TrackingCheck {
    /// The time unit of `period_end` (`day`, `week`, `month` or `year`).
    pub time_unit: &'static str,
    /// Time units per period (1 unless the window is longer than [`MAX_POINTS`] units).
    pub step: u32,
    /// The first acquisition date: `period_end` counts from here.
    pub origin: String,
    /// The calibration end in time units from `origin`, when the summary has one (it is
    /// one of the period ends, and the grid runs through it).
    pub calibration_end: Option<f64>,
    /// The period ends, oldest first.
    pub points: Vec<TrackingPoint>,
}

impl TrackingCheck {
    /// The point at the calibration end, when there is one.
    pub fn at_calibration_end(&self) -> Option<&TrackingPoint> {
        let cal = self.calibration_end?;
        self.points.iter().find(|p| p.period_end == cal)
    }

    /// The last point (the observation end).
    pub fn at_end(&self) -> Option<&TrackingPoint> {
        self.points.last()
    }
}

pub(crate) fn unit_name(unit: TimeScale) -> &'static str {
    match unit {
        TimeScale::Day => "day",
        TimeScale::Week => "week",
        TimeScale::Month => "month",
        TimeScale::Year => "year",
    }
}

/// The day `k` time units after `origin` (before it for negative `k`).
fn advance(origin: i32, k: i32, unit: TimeScale) -> i32 {
    match unit {
        TimeScale::Day => origin + k,
        TimeScale::Week => origin + 7 * k,
        TimeScale::Month => day_number(add_months(date_of(origin), k)),
        TimeScale::Year => day_number(add_months(date_of(origin), 12 * k)),
    }
}

/// The tracking check of `model` on `summary` (see the module documentation); `None` when
/// the summary has no customer or its window is shorter than one time unit.
///
/// # Errors
///
/// [`Error::Model`](crate::Error::Model) when the model cannot compute an expectation.
///
/// # Example
///
/// ```
/// use patronage::prelude::*;
/// use patronage::stages::fit::{fit_summary, ModelKind};
/// use patronage::stages::tracking::tracking;
/// let s = Transactions::scan_whitespace("datasets/cdnow/CDNOW_master.txt", true, TransactionSchema::default())?
///     .summary(&SummaryOptions::weekly().calibration_end("1997-09-30"))?;
/// let fit = fit_summary(ModelKind::BgNbd, &s, &Default::default())?;
/// let t = tracking(fit.model.purchase_model().unwrap(), &s)?.unwrap();
/// let end = t.at_end().unwrap();
/// assert_eq!(end.actual, s.frequency()?.iter().map(|&x| f64::from(x)).sum::<f64>()); // all repeat purchases
/// assert!((end.expected / end.actual - 1.0).abs() < 0.1);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn tracking(model: &dyn PurchaseModel, summary: &Summary) -> Result<Option<TrackingCheck>> {
    let timeline = summary.purchase_timeline();
    let options = summary.options();
    let (pu, tu) = (options.purchase_unit, options.time_unit);
    let Some(origin) = timeline.first_day() else {
        return Ok(None);
    };
    let last = unit_start(day_number(summary.observation_end()), pu);
    let units = elapsed(origin, last, tu);
    if units < 1.0 {
        return Ok(None);
    }
    let step = (units / MAX_POINTS as f64).ceil().max(1.0) as u32;
    let cal = summary
        .calibration_end()
        .map(|c| unit_start(day_number(c), pu))
        .filter(|&c| c > origin && c < last);
    // The grid runs through the calibration end when there is one (so no period straddles
    // it), else from the first acquisition; the first and last periods may be shorter.
    let anchor = cal.unwrap_or(origin);
    let s = step as i32;
    let mut ends: Vec<i32> = (1..)
        .map(|k| advance(anchor, -k * s, tu))
        .take_while(|&d| d > origin)
        .collect();
    ends.reverse();
    if cal.is_some() {
        ends.push(anchor);
    }
    ends.extend(
        (1..)
            .map(|k| advance(anchor, k * s, tu))
            .take_while(|&d| d < last),
    );
    ends.push(last);
    let acquired: Vec<(i32, f64)> = timeline
        .acquired_days()
        .iter()
        .map(|(&d, &n)| (d, n as f64))
        .collect();
    // Each end is independent; the inner sum runs in acquisition order, so the figures
    // do not depend on the thread count.
    let expected: Vec<f64> = ends
        .par_iter()
        .map(|&end| -> Result<f64> {
            let mut sum = 0.0;
            for &(day, n) in acquired.iter().take_while(|(d, _)| *d < end) {
                sum += n * model.expected_purchases(elapsed(day, end, tu))?;
            }
            Ok(sum)
        })
        .collect::<Result<_>>()?;
    let mut points = Vec::with_capacity(ends.len());
    let (mut prev_actual, mut prev_expected, mut prev_end) = (0.0, 0.0, origin);
    for (&end, &expected) in ends.iter().zip(&expected) {
        let actual = actual_through(timeline, end);
        points.push(TrackingPoint {
            date: date_of(end).to_string(),
            period_end: elapsed(origin, end, tu),
            period_length: elapsed(prev_end, end, tu),
            actual,
            expected,
            actual_incremental: actual - prev_actual,
            expected_incremental: expected - prev_expected,
        });
        (prev_actual, prev_expected, prev_end) = (actual, expected, end);
    }
    Ok(Some(TrackingCheck {
        time_unit: unit_name(tu),
        step,
        origin: date_of(origin).to_string(),
        calibration_end: cal.map(|c| elapsed(origin, c, tu)),
        points,
    }))
}

fn actual_through(timeline: &PurchaseTimeline, day: i32) -> f64 {
    timeline.repeats_through(day) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clv::BgNbd;
    use crate::prelude::*;
    use crate::transactions::units::PurchaseUnit;
    use polars::prelude::*;

    /// Weekly purchase occasions, time in weeks.
    fn weeks() -> SummaryOptions {
        let mut o = SummaryOptions::weekly();
        o.purchase_unit = PurchaseUnit::Week;
        o
    }

    fn summary(dates: &[(&str, &str)], options: &SummaryOptions) -> Summary {
        let df = df!(
            "customer_id" => dates.iter().map(|d| d.0).collect::<Vec<_>>(),
            "date" => dates.iter().map(|d| d.1).collect::<Vec<_>>(),
            "amount" => vec![10.0; dates.len()],
        )
        .unwrap();
        Transactions::from_frame(df, TransactionSchema::default())
            .unwrap()
            .summary(options)
            .unwrap()
    }

    #[test]
    fn weekly_periods_count_actual_and_expected_by_hand() {
        // a: acquired Mon 2024-01-01, repeats in weeks 2 and 3; b: acquired 2024-01-15
        // (week 3), no repeat. Observation end 2024-01-29 (week 5 starts).
        let s = summary(
            &[
                ("a", "2024-01-01"),
                ("a", "2024-01-09"),
                ("a", "2024-01-16"),
                ("b", "2024-01-15"),
                ("b", "2024-01-29"),
            ],
            &weeks(),
        );
        let m = BgNbd::from_params(&[0.5, 2.0, 0.7, 2.5]).unwrap();
        let t = tracking(&m, &s).unwrap().unwrap();
        assert_eq!(
            (t.time_unit, t.step, t.origin.as_str()),
            ("week", 1, "2024-01-01")
        );
        let dates: Vec<&str> = t.points.iter().map(|p| p.date.as_str()).collect();
        assert_eq!(
            dates,
            ["2024-01-08", "2024-01-15", "2024-01-22", "2024-01-29"]
        );
        // a's repeats fall in the weeks of 01-08 and 01-15, b's in the week of 01-29.
        let actual: Vec<f64> = t.points.iter().map(|p| p.actual).collect();
        assert_eq!(actual, [1.0, 2.0, 2.0, 3.0]);
        let e = |w: f64| m.expected_purchases(w).unwrap();
        let want = [e(1.0), e(2.0), e(3.0) + e(1.0), e(4.0) + e(2.0)];
        for (p, w) in t.points.iter().zip(want) {
            assert!((p.expected - w).abs() < 1e-12, "{} {w}", p.expected);
        }
        assert_eq!(t.points[1].actual_incremental, 1.0);
        assert_eq!(t.points[2].actual_incremental, 0.0);
        assert!(t.points.iter().all(|p| p.period_length == 1.0));
        assert!((t.points[3].expected_incremental - (want[3] - want[2])).abs() < 1e-12);
        assert_eq!(t.calibration_end, None);
    }

    #[test]
    fn the_calibration_end_is_a_period_end() {
        let s = summary(
            &[
                ("a", "2024-01-01"),
                ("a", "2024-01-12"),
                ("a", "2024-02-20"),
            ],
            &weeks().calibration_end("2024-01-17"),
        );
        let m = BgNbd::from_params(&[0.5, 2.0, 0.7, 2.5]).unwrap();
        let t = tracking(&m, &s).unwrap().unwrap();
        // 2024-01-17 is a Wednesday: its week starts on Monday 2024-01-15.
        let at = t.at_calibration_end().unwrap();
        assert_eq!((at.date.as_str(), at.period_end), ("2024-01-15", 2.0));
        assert_eq!(at.actual, 1.0);
        assert_eq!(t.at_end().unwrap().actual, 2.0);
    }

    #[test]
    fn the_grid_runs_through_a_calibration_end_between_weeks() {
        // Daily purchases, weeks: acquired Monday 2024-01-01, calibration end Wednesday
        // 2024-01-17, observation end Tuesday 2024-02-20.
        let s = summary(
            &[
                ("a", "2024-01-01"),
                ("a", "2024-01-12"),
                ("a", "2024-02-20"),
            ],
            &SummaryOptions::weekly().calibration_end("2024-01-17"),
        );
        let m = BgNbd::from_params(&[0.5, 2.0, 0.7, 2.5]).unwrap();
        let t = tracking(&m, &s).unwrap().unwrap();
        let dates: Vec<&str> = t.points.iter().map(|p| p.date.as_str()).collect();
        assert_eq!(
            dates,
            [
                "2024-01-03",
                "2024-01-10",
                "2024-01-17",
                "2024-01-24",
                "2024-01-31",
                "2024-02-07",
                "2024-02-14",
                "2024-02-20"
            ]
        );
        let lengths: Vec<f64> = t.points.iter().map(|p| p.period_length).collect();
        assert_eq!(
            lengths,
            [2.0 / 7.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 6.0 / 7.0]
        );
        assert_eq!(t.calibration_end, Some(16.0 / 7.0));
        assert_eq!(t.at_calibration_end().unwrap().actual, 1.0);
    }

    #[test]
    fn a_window_shorter_than_one_time_unit_has_no_tracking() {
        // One-time buyers within three days, in weeks: no period to track.
        let s = summary(&[("a", "2024-01-01"), ("b", "2024-01-03")], &weeks());
        let m = BgNbd::from_params(&[0.5, 2.0, 0.7, 2.5]).unwrap();
        assert_eq!(tracking(&m, &s).unwrap(), None);
    }

    #[test]
    fn long_windows_are_tracked_in_steps() {
        let s = summary(
            &[("a", "2000-01-01"), ("a", "2010-06-01")],
            &SummaryOptions::daily(),
        );
        let m = BgNbd::from_params(&[0.5, 20.0, 0.7, 2.5]).unwrap();
        let t = tracking(&m, &s).unwrap().unwrap();
        assert!(t.points.len() <= MAX_POINTS + 1 && t.step > 1);
        assert_eq!(t.at_end().unwrap().actual, 1.0);
        assert_eq!(t.at_end().unwrap().date, "2010-06-01");
    }

    #[test]
    fn monthly_time_units_step_by_calendar_months() {
        let mut options = SummaryOptions::daily();
        options.time_unit = TimeScale::Month;
        let s = summary(&[("a", "2024-01-31"), ("a", "2024-04-15")], &options);
        let m = BgNbd::from_params(&[0.5, 2.0, 0.7, 2.5]).unwrap();
        let t = tracking(&m, &s).unwrap().unwrap();
        let dates: Vec<&str> = t.points.iter().map(|p| p.date.as_str()).collect();
        assert_eq!(dates, ["2024-02-29", "2024-03-31", "2024-04-15"]);
        assert_eq!(t.time_unit, "month");
    }
}
