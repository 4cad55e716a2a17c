//! Reading role columns: per row the parsed value or why it could not be read (null,
//! unparseable date, not a number, not finite, not a boolean), for every column type the
//! readers produce.

use polars::prelude::{AnyValue, Column, DataType, TimeUnit as PlTimeUnit};
use rayon::prelude::*;

use super::RejectReason;
use crate::error::{Error, Result};
use crate::transactions::units::{DateFormat, parse_date, parse_yyyymmdd};

/// A value that could not be read: the small form of the per-value reasons, so the
/// per-row vectors of parsed values stay compact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Bad {
    Null,
    UnparseableDate,
    NotANumber,
    NotFinite,
    NotABoolean,
}

impl From<Bad> for RejectReason {
    fn from(b: Bad) -> Self {
        match b {
            Bad::Null => RejectReason::Null,
            Bad::UnparseableDate => RejectReason::UnparseableDate,
            Bad::NotANumber => RejectReason::NotANumber,
            Bad::NotFinite => RejectReason::NotFinite,
            Bad::NotABoolean => RejectReason::NotABoolean,
        }
    }
}

pub(super) fn dtype_name(c: &Column) -> String {
    c.dtype().to_string()
}

pub(super) fn text_of(c: &Column, i: usize) -> String {
    // polars formats zoned datetimes only with its "timezones" feature (it panics
    // without it), so those are formatted here: the stored UTC instant and the zone.
    if let DataType::Datetime(unit, Some(tz)) = c.dtype() {
        return match c.get(i) {
            Ok(AnyValue::Null) => "null".to_string(),
            Ok(v) => v
                .extract::<i64>()
                .and_then(|x| match unit {
                    PlTimeUnit::Milliseconds => chrono::DateTime::from_timestamp_millis(x),
                    PlTimeUnit::Microseconds => chrono::DateTime::from_timestamp_micros(x),
                    PlTimeUnit::Nanoseconds => Some(chrono::DateTime::from_timestamp_nanos(x)),
                })
                .map(|d| format!("{} UTC ({tz})", d.naive_utc()))
                .unwrap_or_default(),
            Err(_) => String::new(),
        };
    }
    match c.get(i) {
        Ok(AnyValue::String(s)) => s.to_string(),
        Ok(AnyValue::StringOwned(s)) => s.to_string(),
        Ok(AnyValue::Null) => "null".to_string(),
        Ok(v) => v.to_string(),
        Err(_) => String::new(),
    }
}

/// Values of one column: the value per row (a default where the row is bad) and the bad
/// rows with their reasons, ascending.
pub(super) type Values<T> = (Vec<T>, Vec<(usize, Bad)>);

fn split_bad<T: Default>(v: Vec<std::result::Result<T, Bad>>) -> Values<T> {
    let mut bad = Vec::new();
    let vals = v
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            r.unwrap_or_else(|b| {
                bad.push((i, b));
                T::default()
            })
        })
        .collect();
    (vals, bad)
}

/// The rows of a chunked array that are null, ascending.
fn null_rows<T: polars::prelude::PolarsDataType>(
    ca: &polars::prelude::ChunkedArray<T>,
) -> Vec<usize> {
    if ca.null_count() == 0 {
        return Vec::new();
    }
    ca.is_null()
        .iter()
        .enumerate()
        .filter(|(_, v)| *v == Some(true))
        .map(|(i, _)| i)
        .collect()
}

/// Numbers of a numeric or text column, with the bad rows and their reasons.
pub(super) fn numbers(name: &str, c: &Column, lenient: bool) -> Result<Values<f64>> {
    let dt = c.dtype();
    if dt.is_primitive_numeric() {
        let f = c.cast(&DataType::Float64)?;
        let ca = f.f64()?;
        let mut vals: Vec<f64> = Vec::with_capacity(ca.len());
        for arr in ca.downcast_iter() {
            vals.extend_from_slice(arr.values().as_slice());
        }
        let nulls = null_rows(ca);
        let mut bad: Vec<(usize, Bad)> = vals
            .par_iter()
            .enumerate()
            .filter(|(_, x)| !x.is_finite())
            .map(|(i, _)| (i, Bad::NotFinite))
            .collect();
        if !nulls.is_empty() {
            let null: std::collections::HashSet<usize> = nulls.iter().copied().collect();
            bad.retain(|(i, _)| !null.contains(i));
            bad.extend(nulls.iter().map(|&i| (i, Bad::Null)));
            bad.sort_by_key(|b| b.0);
            for &i in &nulls {
                vals[i] = 0.0;
            }
        }
        for &(i, _) in &bad {
            vals[i] = 0.0;
        }
        return Ok((vals, bad));
    }
    if matches!(dt, DataType::String) {
        let ca = c.str()?;
        let v: Vec<Option<&str>> = ca.iter().collect();
        let out: Vec<_> = v
            .par_chunks(1 << 15)
            .flat_map_iter(|chunk| {
                chunk.iter().map(|s| match s.map(str::trim) {
                    None | Some("") => Err(Bad::Null),
                    Some(t) => match t.parse::<f64>() {
                        Ok(x) if x.is_finite() => Ok(x),
                        Ok(_) => Err(Bad::NotFinite),
                        Err(_) => Err(Bad::NotANumber),
                    },
                })
            })
            .collect();
        let any_ok = out.iter().any(Result::is_ok);
        let any_value = out.iter().any(|r| !matches!(r, Err(Bad::Null)));
        if any_value && !any_ok && !lenient {
            return Err(no_number_error(name));
        }
        return Ok(split_bad(out));
    }
    Err(Error::WrongType {
        column: name.to_string(),
        found: dtype_name(c),
        expected: "a number (or text holding numbers)".into(),
    })
}

pub(super) fn days(
    name: &str,
    c: &Column,
    format: &DateFormat,
    lenient: bool,
) -> Result<Values<i32>> {
    let with_nulls = |mut vals: Vec<i32>, nulls: Vec<usize>| {
        for &i in &nulls {
            vals[i] = 0;
        }
        (vals, nulls.into_iter().map(|i| (i, Bad::Null)).collect())
    };
    match c.dtype() {
        DataType::Date => {
            let ca = c.date()?.physical();
            let mut vals: Vec<i32> = Vec::with_capacity(ca.len());
            for arr in ca.downcast_iter() {
                vals.extend_from_slice(arr.values().as_slice());
            }
            Ok(with_nulls(vals, null_rows(ca)))
        }
        DataType::Datetime(tu, _) => {
            let per_day: i64 = match tu {
                PlTimeUnit::Nanoseconds => 86_400_000_000_000,
                PlTimeUnit::Microseconds => 86_400_000_000,
                PlTimeUnit::Milliseconds => 86_400_000,
            };
            let ca = c.datetime()?.physical();
            let chunks: Vec<&[i64]> = ca.downcast_iter().map(|a| a.values().as_slice()).collect();
            let lens: Vec<usize> = chunks.iter().map(|a| a.len()).collect();
            let vals = crate::transactions::ids::map_rows(&chunks, &lens, |a, j| {
                i32::try_from(a[j].div_euclid(per_day)).unwrap_or(i32::MAX)
            });
            Ok(with_nulls(vals, null_rows(ca)))
        }
        dt if dt.is_integer() => {
            let i = c.cast(&DataType::Int64)?;
            Ok(split_bad(
                i.i64()?
                    .iter()
                    .map(|v| match v {
                        None => Err(Bad::Null),
                        Some(x) => parse_yyyymmdd(x).ok_or(Bad::UnparseableDate),
                    })
                    .collect(),
            ))
        }
        DataType::String => {
            let v: Vec<Option<&str>> = c.str()?.iter().collect();
            let out: Vec<_> = v
                .par_chunks(1 << 15)
                .flat_map_iter(|chunk| {
                    chunk.iter().map(|s| match s {
                        None => Err(Bad::Null),
                        Some(t) if t.trim().is_empty() => Err(Bad::Null),
                        Some(t) => parse_date(t, format).ok_or(Bad::UnparseableDate),
                    })
                })
                .collect();
            if !lenient
                && !out.iter().any(Result::is_ok)
                && out.iter().any(|r| matches!(r, Err(Bad::UnparseableDate)))
            {
                return Err(no_date_error(name, &text_of(c, 0), format));
            }
            Ok(split_bad(out))
        }
        _ => Err(Error::WrongType {
            column: name.to_string(),
            found: dtype_name(c),
            expected: "a date, a datetime, text dates or YYYYMMDD integers".into(),
        }),
    }
}

/// The error for a text column in which no value is a number.
pub(crate) fn no_number_error(name: &str) -> Error {
    Error::WrongType {
        column: name.to_string(),
        found: "text with no number in it".into(),
        expected: "numbers".into(),
    }
}

/// The error for a text date column in which no value parses (`first` is the value of
/// the first row).
pub(crate) fn no_date_error(name: &str, first: &str, format: &DateFormat) -> Error {
    let hint = match format {
        DateFormat::Auto => "ISO dates or datetimes, or YYYYMMDD; give a format".to_string(),
        DateFormat::Strftime(f) => format!("dates in the format `{f}`"),
    };
    Error::WrongType {
        column: name.to_string(),
        found: format!("text with no parseable date (first value: {first})"),
        expected: hint,
    }
}

pub(super) fn flags(name: &str, c: &Column) -> Result<Vec<std::result::Result<bool, Bad>>> {
    match c.dtype() {
        DataType::Boolean => Ok(c.bool()?.iter().map(|v| Ok(v.unwrap_or(false))).collect()),
        dt if dt.is_integer() => {
            let i = c.cast(&DataType::Int64)?;
            Ok(i.i64()?
                .iter()
                .map(|v| Ok(v.is_some_and(|x| x != 0)))
                .collect())
        }
        DataType::String => Ok(c
            .str()?
            .iter()
            .map(|v| match v.map(|s| s.trim().to_ascii_lowercase()) {
                None => Ok(false),
                Some(s) => match s.as_str() {
                    "" | "false" | "f" | "0" | "no" | "n" => Ok(false),
                    "true" | "t" | "1" | "yes" | "y" | "r" | "return" | "returned" => Ok(true),
                    _ => Err(Bad::NotABoolean),
                },
            })
            .collect()),
        _ => Err(Error::WrongType {
            column: name.to_string(),
            found: dtype_name(c),
            expected: "a boolean, an integer or text (true/false, yes/no, 1/0)".into(),
        }),
    }
}
