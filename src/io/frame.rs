//! Frame helpers shared by every layer: a named column or an error that lists the
//! columns there are, numeric columns read as `f64` (nullable, or by the first of several
//! accepted names), and customer ids as text for matching tables by id.
//!
//! They sit in `io` because they only speak polars: the customer-level modules (`rfm`,
//! `clv`, `segmentation`, `profitability`, `targeting`) read their input columns through
//! them, and so do the stage layer and the report.

use polars::prelude::*;

use crate::error::{Error, Result};

/// The frame's column names, comma-separated (for [`Error::MissingColumn`]).
pub(crate) fn available(df: &DataFrame) -> String {
    df.get_column_names()
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A named column.
///
/// # Errors
///
/// [`Error::MissingColumn`] listing the frame's columns.
pub(crate) fn column<'a>(df: &'a DataFrame, name: &str) -> Result<&'a Column> {
    df.column(name).map_err(|_| Error::MissingColumn {
        column: name.to_string(),
        available: available(df),
    })
}

/// A named column as `Option<f64>` per row (any numeric type; nulls stay `None`).
///
/// # Errors
///
/// [`Error::MissingColumn`]; [`Error::WrongType`] for a non-numeric column.
pub(crate) fn nullable_f64(df: &DataFrame, name: &str) -> Result<Vec<Option<f64>>> {
    let col = column(df, name)?;
    if !col.dtype().is_primitive_numeric() {
        return Err(Error::WrongType {
            column: name.to_string(),
            found: col.dtype().to_string(),
            expected: "a number".into(),
        });
    }
    let c = col.cast(&DataType::Float64)?;
    Ok(c.f64()?.iter().collect())
}

/// The first column present among `names` (accepted aliases of one role, such as
/// `frequency` or `x`), as non-null `f64`s.
///
/// # Errors
///
/// [`Error::MissingColumn`] naming every alias when none is present; otherwise as
/// [`optional_float_column`].
pub(crate) fn float_column(df: &DataFrame, names: &[&str]) -> Result<Vec<f64>> {
    optional_float_column(df, names)?.ok_or_else(|| Error::MissingColumn {
        column: names.join(" or "),
        available: available(df),
    })
}

/// The first column present among `names` as non-null `f64`s, or `None` when none of
/// them is present (for optional roles such as weights).
///
/// # Errors
///
/// [`Error::WrongType`] for a non-numeric column; [`Error::BadRow`] (1-based row) for a
/// null.
pub(crate) fn optional_float_column(df: &DataFrame, names: &[&str]) -> Result<Option<Vec<f64>>> {
    let Some(name) = names.iter().find(|n| df.column(n).is_ok()) else {
        return Ok(None);
    };
    let values = nullable_f64(df, name)?;
    let mut out = Vec::with_capacity(values.len());
    for (i, v) in values.into_iter().enumerate() {
        match v {
            Some(v) => out.push(v),
            None => {
                return Err(Error::BadRow {
                    row: i as u64 + 1,
                    column: name.to_string(),
                    reason: "missing value".into(),
                    value: "null".into(),
                });
            }
        }
    }
    Ok(Some(out))
}

/// A frame's `customer_id` column as text (integer ids formatted), for matching tables
/// by id.
///
/// # Errors
///
/// A polars error when there is no `customer_id` column or it cannot be cast to text.
pub(crate) fn customer_ids_as_text(df: &DataFrame) -> Result<Vec<Option<String>>> {
    Ok(df
        .column("customer_id")?
        .cast(&DataType::String)?
        .str()?
        .iter()
        .map(|v| v.map(str::to_string))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> DataFrame {
        df!(
            "customer_id" => [7i64, 12],
            "x" => [Some(1i32), None],
            "w" => [2.0, 3.0],
            "name" => ["a", "b"],
        )
        .unwrap()
    }

    #[test]
    fn nullable_f64_casts_and_keeps_nulls() {
        assert_eq!(nullable_f64(&frame(), "x").unwrap(), [Some(1.0), None]);
        assert!(matches!(
            nullable_f64(&frame(), "name"),
            Err(Error::WrongType { .. })
        ));
        match nullable_f64(&frame(), "y") {
            Err(Error::MissingColumn { column, available }) => {
                assert_eq!(column, "y");
                assert_eq!(available, "customer_id, x, w, name");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn aliases_take_the_first_present_and_refuse_nulls() {
        let df = frame();
        assert_eq!(float_column(&df, &["weight", "w"]).unwrap(), [2.0, 3.0]);
        assert_eq!(optional_float_column(&df, &["weight"]).unwrap(), None);
        assert!(matches!(
            float_column(&df, &["weight", "weights"]),
            Err(Error::MissingColumn { column, .. }) if column == "weight or weights"
        ));
        assert!(matches!(
            float_column(&df, &["x"]),
            Err(Error::BadRow { row: 2, .. })
        ));
    }

    #[test]
    fn integer_ids_as_text() {
        assert_eq!(
            customer_ids_as_text(&frame()).unwrap(),
            [Some("7".to_string()), Some("12".to_string())]
        );
    }
}
