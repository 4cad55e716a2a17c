//! arrow-rs [`RecordBatch`] in and out (feature `arrow`), so DataFusion and other
//! arrow-native crates can hand their batches to the library and take the per-customer
//! table back.
//!
//! polars has its own arrow implementation, so the two sides meet through an in-memory
//! Arrow IPC *file* (no `unsafe` code, no C Data Interface): arrow-rs' IPC writer and
//! polars' `IpcReader` one way, polars' `IpcWriter` and arrow-rs' IPC reader the other.
//! Nothing is compressed; the columns are copied (serialised and read back), not shared.
//!
//! # Types, arrow-rs to polars
//!
//! | arrow-rs | polars |
//! |---|---|
//! | `Boolean`, `Int32`, `Int64`, `UInt32`, `UInt64`, `Float32`, `Float64`, `Null` | the same |
//! | `Int8`, `Int16`; `UInt8`, `UInt16` | `Int32`; `UInt32` (polars here has no 8- and 16-bit columns) |
//! | `Utf8`, `LargeUtf8`, `Utf8View` | `String` |
//! | `Binary`, `LargeBinary`, `BinaryView`, `FixedSizeBinary` | `Binary` |
//! | `Date32`, `Date64` | `Date`, `Datetime(ms)` |
//! | `Timestamp(unit, tz)` | `Datetime` (seconds become milliseconds; the zone is kept) |
//! | `Decimal32`/`64`/`128(p, s)` | `Float64` (the value divided by 10^s) |
//! | `Dictionary(keys, values)` | the values' type (the dictionary is expanded) |
//!
//! Field and schema metadata are dropped, so an extension type (`ARROW:extension:name`)
//! arrives as its storage type. Any other type (nested lists and structs, `Float16`,
//! `Decimal256`, times, durations, intervals, unions) is refused with
//! [`Error::WrongType`] naming the column.
//!
//! # Types, polars to arrow-rs
//!
//! polars writes its newest Arrow types: `String` becomes `Utf8View` and `Binary`
//! `BinaryView` (DataFusion reads both; `arrow-cast` turns them into `Utf8`/`Binary` for
//! crates that do not), `Date` becomes `Date32`, `Datetime` `Timestamp`, unsigned and
//! signed integers and floats keep their width.

use std::io::Cursor;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Decimal32Type, Decimal64Type, Decimal128Type, Float64Type, Int8Type, Int16Type, Int32Type,
    UInt8Type, UInt16Type, UInt32Type,
};
use arrow_array::{Array, ArrayRef, ArrowPrimitiveType, RecordBatch, RecordBatchOptions};
use arrow_ipc::reader::FileReader;
use arrow_ipc::writer::FileWriter;
use arrow_schema::{DataType as ArrowType, Field, Schema, SchemaRef};
use polars::prelude::*;

use crate::error::{Error, Result};

/// Converts arrow-rs record batches (all with one schema) to a polars frame, one chunk
/// per batch.
///
/// Batches whose fields have the same names and types but differ in nullability or
/// metadata are accepted (the frame's columns are nullable). Field and schema metadata
/// are not passed on (so extension types arrive as their storage type). Batches with zero rows but
/// a schema give an empty frame with those columns. See the [module docs](self) for how
/// each Arrow type is mapped.
///
/// # Errors
/// - [`Error::EmptyTable`] when `batches` is empty: with no batch there is no schema to
///   build even an empty frame from (pass `RecordBatch::new_empty(schema)` for that);
/// - [`Error::SchemaMismatch`] when a batch's column names or types differ from the
///   first batch's;
/// - [`Error::WrongType`] for a column of a type polars cannot take here (nested, `Float16`,
///   `Decimal256`, time of day, duration, interval, union);
/// - [`Error::Polars`] (`PolarsError::Duplicate`) when two columns have one name;
/// - [`Error::Arrow`] or [`Error::Polars`] when encoding or decoding the in-memory IPC
///   file fails.
///
/// # Example
/// ```
/// use std::sync::Arc;
/// use arrow_array::{Float64Array, RecordBatch, StringArray};
/// use patronage::io::arrow::frame_from_record_batches;
///
/// let batch = RecordBatch::try_from_iter([
///     ("customer_id", Arc::new(StringArray::from(vec!["007", "042"])) as _),
///     ("amount", Arc::new(Float64Array::from(vec![12.5, 3.0])) as _),
/// ])?;
/// let df = frame_from_record_batches(&[batch])?;
/// assert_eq!(df.shape(), (2, 2));
/// assert_eq!(df.column("customer_id")?.str()?.get(0), Some("007"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn frame_from_record_batches(batches: &[RecordBatch]) -> Result<DataFrame> {
    let Some(first) = batches.first() else {
        return Err(Error::EmptyTable {
            what: "no record batches were given (an empty batch would carry the schema)".into(),
        });
    };
    let first_schema = first.schema();
    // polars' IPC reader asserts unique names: check before it sees them.
    let mut seen = std::collections::HashSet::new();
    if let Some(f) = first_schema
        .fields()
        .iter()
        .find(|f| !seen.insert(f.name()))
    {
        return Err(PolarsError::Duplicate(
            format!(
                "column `{}` appears more than once in the record batches",
                f.name()
            )
            .into(),
        )
        .into());
    }
    let mut nullable: Vec<bool> = first_schema
        .fields()
        .iter()
        .map(|f| f.is_nullable())
        .collect();
    for (i, batch) in batches.iter().enumerate().skip(1) {
        let schema = batch.schema();
        if let Some(reason) = mismatch(&first_schema, &schema) {
            return Err(Error::SchemaMismatch { batch: i, reason });
        }
        for (n, f) in nullable.iter_mut().zip(schema.fields()) {
            *n |= f.is_nullable();
        }
    }

    // Convert the columns polars cannot read as they are, batch by batch, then give every
    // batch the one schema (converted types, nullability merged).
    let mut columns: Vec<Vec<ArrayRef>> = Vec::with_capacity(batches.len());
    for batch in batches {
        let converted = first_schema
            .fields()
            .iter()
            .zip(batch.columns())
            .map(|(field, array)| for_polars(field.name(), array))
            .collect::<Result<Vec<_>>>()?;
        columns.push(converted);
    }
    let fields: Vec<Field> = first_schema
        .fields()
        .iter()
        .enumerate()
        .map(|(j, f)| {
            let dtype = columns
                .first()
                .and_then(|c| c.get(j))
                .map_or_else(|| f.data_type().clone(), |a| a.data_type().clone());
            // No metadata: polars reads an `ARROW:extension:name` key as an extension
            // type and `_PL_*` keys as its own dtype hints, and panics on ones it cannot
            // build (canonical extensions such as `arrow.json` included).
            Field::new(f.name(), dtype, nullable[j])
        })
        .collect();
    let schema: SchemaRef = Arc::new(Schema::new(fields));

    let mut writer = FileWriter::try_new(Vec::new(), &schema)?;
    for (batch, cols) in batches.iter().zip(columns) {
        let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
        let batch = RecordBatch::try_new_with_options(schema.clone(), cols, &options)?;
        writer.write(&batch)?;
    }
    writer.finish()?;
    let bytes = writer.into_inner()?;
    Ok(IpcReader::new(Cursor::new(bytes)).finish()?)
}

/// Converts a polars frame to arrow-rs record batches, one per chunk of the frame (an
/// empty frame gives one batch with zero rows, so the schema is never lost).
///
/// See the [module docs](self) for the Arrow types written (strings as `Utf8View`).
///
/// # Errors
/// [`Error::Polars`] when polars cannot write a column to Arrow IPC, [`Error::Arrow`] when
/// arrow-rs cannot read what polars wrote.
///
/// # Example
/// ```
/// use arrow_array::cast::AsArray;
/// use polars::prelude::*;
/// use patronage::io::arrow::record_batches_from_frame;
///
/// let df = df!("customer_id" => ["007", "042"], "frequency" => [3u32, 0])?;
/// let batches = record_batches_from_frame(&df)?;
/// let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
/// assert_eq!(rows, 2);
/// let ids = batches[0].column_by_name("customer_id").unwrap().as_string_view();
/// assert_eq!(ids.value(0), "007");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn record_batches_from_frame(df: &DataFrame) -> Result<Vec<RecordBatch>> {
    let mut bytes = Vec::new();
    let mut frame = df.clone();
    IpcWriter::new(&mut bytes)
        .with_compression(None)
        .finish(&mut frame)?;
    let reader = FileReader::try_new(Cursor::new(bytes), None)?;
    let schema = reader.schema();
    let batches = reader.collect::<std::result::Result<Vec<_>, _>>()?;
    if batches.is_empty() {
        return Ok(vec![RecordBatch::new_empty(schema)]);
    }
    Ok(batches)
}

/// Why `other` does not match `first` (names, order and types; nullability and metadata
/// may differ), or `None`.
fn mismatch(first: &Schema, other: &Schema) -> Option<String> {
    let names = |s: &Schema| {
        s.fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if first.fields().len() != other.fields().len()
        || first
            .fields()
            .iter()
            .zip(other.fields())
            .any(|(a, b)| a.name() != b.name())
    {
        return Some(format!(
            "columns [{}], expected [{}]",
            names(other),
            names(first)
        ));
    }
    first
        .fields()
        .iter()
        .zip(other.fields())
        .find(|(a, b)| a.data_type() != b.data_type())
        .map(|(a, b)| {
            format!(
                "column `{}` has type {}, expected {}",
                a.name(),
                b.data_type(),
                a.data_type()
            )
        })
}

/// `array` in a type polars reads from IPC without a panic and without polars features
/// this crate does not enable.
fn for_polars(name: &str, array: &ArrayRef) -> Result<ArrayRef> {
    use ArrowType as T;
    match array.data_type() {
        T::Null
        | T::Boolean
        | T::Int32
        | T::Int64
        | T::UInt32
        | T::UInt64
        | T::Float32
        | T::Float64
        | T::Utf8
        | T::LargeUtf8
        | T::Utf8View
        | T::Binary
        | T::LargeBinary
        | T::BinaryView
        | T::FixedSizeBinary(_)
        | T::Date32
        | T::Date64
        | T::Timestamp(_, _) => Ok(array.clone()),
        // polars builds 8- and 16-bit integer columns only with features this crate does
        // not enable (and panics without them): widen to 32 bits, values unchanged.
        T::Int8 => widen::<Int8Type, Int32Type>(name, array),
        T::Int16 => widen::<Int16Type, Int32Type>(name, array),
        T::UInt8 => widen::<UInt8Type, UInt32Type>(name, array),
        T::UInt16 => widen::<UInt16Type, UInt32Type>(name, array),
        T::Decimal32(_, scale) => decimal_to_f64::<Decimal32Type>(name, array, *scale),
        T::Decimal64(_, scale) => decimal_to_f64::<Decimal64Type>(name, array, *scale),
        T::Decimal128(_, scale) => decimal_to_f64::<Decimal128Type>(name, array, *scale),
        T::Dictionary(_, _) => {
            let Some(dict) = array.as_any_dictionary_opt() else {
                return Err(unsupported(name, array.data_type()));
            };
            let options = arrow_select::take::TakeOptions { check_bounds: true };
            let values = arrow_select::take::take(dict.values(), dict.keys(), Some(options))?;
            for_polars(name, &values)
        }
        other => Err(unsupported(name, other)),
    }
}

fn unsupported(name: &str, dtype: &ArrowType) -> Error {
    Error::WrongType {
        column: name.to_string(),
        found: format!("Arrow {dtype}"),
        expected: "a boolean, integer, float, decimal (up to 128 bits), string, binary, \
                   date or timestamp column (or a dictionary of one)"
            .into(),
    }
}

/// An integer column in a wider integer type.
fn widen<From, To>(name: &str, array: &ArrayRef) -> Result<ArrayRef>
where
    From: ArrowPrimitiveType,
    To: ArrowPrimitiveType,
    From::Native: Into<To::Native>,
{
    let Some(values) = array.as_primitive_opt::<From>() else {
        return Err(unsupported(name, array.data_type()));
    };
    Ok(Arc::new(values.unary::<_, To>(Into::into)))
}

/// Decimal values as `f64`: the unscaled integer divided by 10^scale.
fn decimal_to_f64<D>(name: &str, array: &ArrayRef, scale: i8) -> Result<ArrayRef>
where
    D: ArrowPrimitiveType,
    D::Native: Into<i128>,
{
    let divisor = 10f64.powi(i32::from(scale));
    let Some(values) = array.as_primitive_opt::<D>() else {
        return Err(unsupported(name, array.data_type()));
    };
    #[allow(clippy::cast_precision_loss)]
    let to_f64 = |v: D::Native| v.into() as f64 / divisor;
    Ok(Arc::new(values.unary::<_, Float64Type>(to_f64)))
}
