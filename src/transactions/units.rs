//! Calendar arithmetic on day numbers (days since 1970-01-01, the physical value of a
//! polars `Date`), the two time knobs of a summary, and date parsing.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The unit in which purchases are counted: several transactions by one customer in one
/// unit count as one purchase with their spend summed (lifetimes #91, #244; CLVTools).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PurchaseUnit {
    /// One purchase per customer per calendar day (the convention of the BTYD papers).
    #[default]
    Day,
    /// One purchase per customer per ISO week (Monday to Sunday).
    Week,
    /// One purchase per customer per calendar month.
    Month,
}

/// The unit in which `recency`, `T` and the holdout duration are measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeScale {
    /// Days.
    Day,
    /// Weeks of seven days (the CDNOW convention).
    #[default]
    Week,
    /// Calendar months: whole months by the calendar, plus the fraction of the month
    /// in progress (2024-01-31 to 2024-02-29 is one month; 2024-02-01 to 2024-02-15 is 14/29).
    Month,
    /// Calendar years: calendar months divided by twelve.
    Year,
}

impl std::str::FromStr for PurchaseUnit {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "day" | "d" | "daily" => Ok(PurchaseUnit::Day),
            "week" | "w" | "weekly" => Ok(PurchaseUnit::Week),
            "month" | "m" | "monthly" => Ok(PurchaseUnit::Month),
            other => Err(Error::invalid(
                "time.purchase_unit",
                format!("`{other}` is not one of day, week, month"),
            )),
        }
    }
}

impl std::str::FromStr for TimeScale {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "day" | "d" | "days" => Ok(TimeScale::Day),
            "week" | "w" | "weeks" => Ok(TimeScale::Week),
            "month" | "m" | "months" => Ok(TimeScale::Month),
            "year" | "y" | "years" => Ok(TimeScale::Year),
            other => Err(Error::invalid(
                "time.time_unit",
                format!("`{other}` is not one of day, week, month, year"),
            )),
        }
    }
}

const EPOCH_CE_DAYS: i32 = 719_163; // NaiveDate::from_ymd(1970,1,1).num_days_from_ce()

/// Day number (days since 1970-01-01) of a date.
pub fn day_number(date: NaiveDate) -> i32 {
    date.num_days_from_ce() - EPOCH_CE_DAYS
}

/// The date of a day number. Day numbers outside chrono's range saturate to its bounds.
pub fn date_of(day: i32) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(day.saturating_add(EPOCH_CE_DAYS)).unwrap_or(if day < 0 {
        NaiveDate::MIN
    } else {
        NaiveDate::MAX
    })
}

/// The first day of the purchase unit that contains `day`.
pub fn unit_start(day: i32, unit: PurchaseUnit) -> i32 {
    match unit {
        PurchaseUnit::Day => day,
        // 1970-01-01 was a Thursday: (day + 3) mod 7 is 0 on Mondays.
        PurchaseUnit::Week => day - (day + 3).rem_euclid(7),
        PurchaseUnit::Month => {
            let d = date_of(day);
            day - (d.day0() as i32)
        }
    }
}

/// Elapsed time from day `from` to day `to` in `unit` (negative when `to < from`).
pub fn elapsed(from: i32, to: i32, unit: TimeScale) -> f64 {
    match unit {
        TimeScale::Day => f64::from(to - from),
        TimeScale::Week => f64::from(to - from) / 7.0,
        TimeScale::Month => months_between(from, to),
        TimeScale::Year => months_between(from, to) / 12.0,
    }
}

/// `date` moved by `months` calendar months, the day clamped to the month's length.
pub(crate) fn add_months(date: NaiveDate, months: i32) -> NaiveDate {
    let total = date.year() * 12 + date.month0() as i32 + months;
    let (y, m0) = (total.div_euclid(12), total.rem_euclid(12) as u32);
    let first = NaiveDate::from_ymd_opt(y, m0 + 1, 1).unwrap_or(date);
    let next_first = if m0 == 11 {
        NaiveDate::from_ymd_opt(y + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(y, m0 + 2, 1)
    }
    .unwrap_or(first);
    let len = (next_first - first).num_days() as u32;
    first.with_day(date.day().min(len.max(1))).unwrap_or(first)
}

/// Calendar months from `from` to `to`, with the fraction of the month in progress.
fn months_between(from: i32, to: i32) -> f64 {
    if to < from {
        return -months_between(to, from);
    }
    let (a, b) = (date_of(from), date_of(to));
    let mut whole = (b.year() - a.year()) * 12 + b.month() as i32 - a.month() as i32;
    while whole > 0 && add_months(a, whole) > b {
        whole -= 1;
    }
    let anchor = day_number(add_months(a, whole));
    let next = day_number(add_months(a, whole + 1));
    f64::from(whole) + f64::from(to - anchor) / f64::from((next - anchor).max(1))
}

pub use crate::io::schema::DateFormat;

fn digits(b: &[u8]) -> Option<i32> {
    let mut v = 0i32;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i32::from(c - b'0');
    }
    Some(v)
}

fn ymd(y: i32, m: i32, d: i32) -> Option<i32> {
    NaiveDate::from_ymd_opt(y, u32::try_from(m).ok()?, u32::try_from(d).ok()?).map(day_number)
}

/// Reads an integer as `YYYYMMDD` (the CDNOW encoding).
pub fn parse_yyyymmdd(v: i64) -> Option<i32> {
    if !(10_000_101..=99_991_231).contains(&v) {
        return None;
    }
    let v = v as i32;
    ymd(v / 10_000, (v / 100) % 100, v % 100)
}

/// Parses one date or datetime string to a UTC day number. Naive datetimes are UTC;
/// datetimes with an offset are converted to UTC before the day is taken.
pub fn parse_date(s: &str, format: &DateFormat) -> Option<i32> {
    let s = s.trim();
    match format {
        DateFormat::Auto => parse_auto(s),
        DateFormat::Strftime(f) => {
            if let Ok(d) = NaiveDate::parse_from_str(s, f) {
                return Some(day_number(d));
            }
            if let Ok(dt) = NaiveDateTime::parse_from_str(s, f) {
                return Some(day_number(dt.date()));
            }
            DateTime::parse_from_str(s, f)
                .ok()
                .map(|dt| day_number(dt.naive_utc().date()))
        }
    }
}

fn parse_auto(s: &str) -> Option<i32> {
    let b = s.as_bytes();
    if b.len() == 8 {
        return parse_yyyymmdd(i64::from(digits(b)?));
    }
    if b.len() < 10 || !(b[4] == b'-' || b[4] == b'/') || b[7] != b[4] {
        return None;
    }
    let day = ymd(digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?)?;
    if b.len() == 10 {
        return Some(day);
    }
    if b[10] != b'T' && b[10] != b' ' {
        return None;
    }
    let iso = s.replacen(' ', "T", 1).replace('/', "-");
    if let Ok(dt) = DateTime::parse_from_rfc3339(&iso) {
        return Some(day_number(dt.naive_utc().date()));
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(&iso, f) {
            return Some(day_number(dt.date()));
        }
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%.f%#z"] {
        if let Ok(dt) = DateTime::parse_from_str(&iso, f) {
            return Some(day_number(dt.naive_utc().date()));
        }
    }
    None
}

/// Parses a date given as an option (observation end, calibration end): ISO or `YYYYMMDD`.
///
/// # Errors
/// [`Error::InvalidOption`] naming `option` when the text is not a date.
pub fn parse_option_date(option: &str, s: &str) -> Result<i32> {
    parse_auto(s.trim()).ok_or_else(|| {
        Error::invalid(
            option,
            format!("`{s}` is not a date (use YYYY-MM-DD or YYYYMMDD)"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> i32 {
        parse_auto(s).unwrap()
    }

    #[test]
    fn day_numbers_match_polars_epoch() {
        assert_eq!(d("1970-01-01"), 0);
        assert_eq!(d("1970-01-02"), 1);
        assert_eq!(d("1969-12-31"), -1);
        assert_eq!(date_of(d("1997-09-30")).to_string(), "1997-09-30");
    }

    #[test]
    fn parses_the_documented_forms() {
        let want = d("1997-01-12");
        assert_eq!(parse_auto("19970112"), Some(want));
        assert_eq!(parse_auto("1997/01/12"), Some(want));
        assert_eq!(parse_auto("1997-01-12T23:59:59"), Some(want));
        assert_eq!(parse_auto("1997-01-12 10:00:00.250"), Some(want));
        assert_eq!(parse_auto("1997-01-12T22:30:00-05:00"), Some(want + 1));
        assert_eq!(parse_auto("1997-01-12T01:30:00+02:00"), Some(want - 1));
        assert_eq!(parse_auto("1997-01-12T10:00:00Z"), Some(want));
        assert_eq!(parse_yyyymmdd(19970112), Some(want));
        for bad in [
            "",
            "1997-13-01",
            "1997-02-30",
            "19971301",
            "yesterday",
            "1997-01-12X",
        ] {
            assert_eq!(parse_auto(bad), None, "{bad}");
        }
        let f = DateFormat::Strftime("%d/%m/%Y".into());
        assert_eq!(parse_date("12/01/1997", &f), Some(want));
        let f = DateFormat::Strftime("%m/%d/%Y %H:%M".into());
        assert_eq!(parse_date("01/12/1997 18:05", &f), Some(want));
    }

    #[test]
    fn unit_starts() {
        // 1997-01-01 was a Wednesday; its ISO week starts Monday 1996-12-30.
        assert_eq!(
            unit_start(d("1997-01-01"), PurchaseUnit::Week),
            d("1996-12-30")
        );
        assert_eq!(
            unit_start(d("1997-01-05"), PurchaseUnit::Week),
            d("1996-12-30")
        );
        assert_eq!(
            unit_start(d("1997-01-06"), PurchaseUnit::Week),
            d("1997-01-06")
        );
        assert_eq!(
            unit_start(d("1997-02-28"), PurchaseUnit::Month),
            d("1997-02-01")
        );
        assert_eq!(
            unit_start(d("1969-12-31"), PurchaseUnit::Week),
            d("1969-12-29")
        );
    }

    #[test]
    fn calendar_months() {
        let m = |a: &str, b: &str| elapsed(d(a), d(b), TimeScale::Month);
        assert_eq!(m("2024-01-15", "2024-03-15"), 2.0);
        assert_eq!(m("2024-01-31", "2024-02-29"), 1.0);
        assert!((m("2024-02-01", "2024-02-15") - 14.0 / 29.0).abs() < 1e-12);
        assert!((m("2024-01-20", "2024-03-05") - (1.0 + 14.0 / 29.0)).abs() < 1e-12);
        assert_eq!(m("2024-03-15", "2024-01-15"), -2.0);
        assert_eq!(
            elapsed(d("2023-06-01"), d("2024-06-01"), TimeScale::Year),
            1.0
        );
        assert_eq!(
            elapsed(d("1997-01-01"), d("1997-09-30"), TimeScale::Week),
            272.0 / 7.0
        );
    }
}
