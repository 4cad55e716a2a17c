//! Parquet and Arrow IPC files checked before polars reads them: the magic bytes at both
//! ends (a CSV named `.parquet`, random bytes, a file cut short), the raw column names of
//! the file's own schema (polars' schema map would fold two columns of one name into one,
//! and its IPC reader then panics), and every column's Arrow type against the types
//! polars reads here (others panic inside polars-core).

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use polars::prelude::*;

use crate::error::{Error, Result};
use crate::io::text::io_err;

/// The two columnar formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Columnar {
    /// Apache Parquet.
    Parquet,
    /// Arrow IPC file (Feather v2).
    Ipc,
}

impl Columnar {
    fn name(self) -> &'static str {
        match self {
            Columnar::Parquet => "Parquet",
            Columnar::Ipc => "Arrow IPC",
        }
    }

    /// An [`Error::UnreadableFile`] for `path` read as this format.
    pub(crate) fn unreadable(self, path: &Path, reason: impl Into<String>) -> Error {
        Error::UnreadableFile {
            path: path.to_path_buf(),
            format: self.name().into(),
            reason: reason.into(),
        }
    }
}

const PARQUET_MAGIC: &[u8] = b"PAR1";
const ARROW_MAGIC: &[u8] = b"ARROW1";

/// Checks a Parquet or Arrow IPC file before polars reads it.
///
/// # Errors
/// - [`Error::UnreadableFile`] when the magic bytes are missing at either end or the
///   footer or schema does not decode;
/// - [`Error::DuplicateColumn`] when the file's schema has a name twice;
/// - [`Error::WrongType`] naming the first column of a type the readers cannot take;
/// - [`Error::Io`] when the file cannot be read.
pub(crate) fn check(path: &Path, kind: Columnar) -> Result<()> {
    let mut file = std::fs::File::open(path).map_err(|e| io_err(path, e))?;
    let len = file.metadata().map_err(|e| io_err(path, e))?.len();
    let names = match kind {
        Columnar::Parquet => parquet_names(path, &mut file, len)?,
        Columnar::Ipc => ipc_names(path, &mut file, len)?,
    };
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = names.iter().find(|n| !seen.insert(n.as_str())) {
        return Err(Error::DuplicateColumn {
            path: path.to_path_buf(),
            column: dup.clone(),
        });
    }
    file.seek(SeekFrom::Start(0)).map_err(|e| io_err(path, e))?;
    let schema = match kind {
        Columnar::Parquet => ParquetReader::new(file).schema(),
        Columnar::Ipc => IpcReader::new(file).schema(),
    }
    .map_err(|e| kind.unreadable(path, e.to_string()))?;
    if let Some((name, field)) = schema.iter().find(|(_, f)| !readable(&f.dtype)) {
        return Err(Error::WrongType {
            column: name.to_string(),
            found: format!("{} {:?}", kind.name(), field.dtype),
            expected: "a type polars reads here: booleans, integers up to 64 bits, 32- and \
                       64-bit floats, decimals of up to 38 digits (read as f64), strings, \
                       binary, dates, times, timestamps, durations, and lists, structs and \
                       dictionaries of those"
                .into(),
        });
    }
    Ok(())
}

/// Whether polars (with this crate's features) turns a column of this Arrow type into a
/// series without panicking.
fn readable(dtype: &ArrowDataType) -> bool {
    use ArrowDataType as A;
    match dtype {
        A::Null
        | A::Boolean
        | A::Int8
        | A::Int16
        | A::Int32
        | A::Int64
        | A::UInt8
        | A::UInt16
        | A::UInt32
        | A::UInt64
        | A::Float32
        | A::Float64
        | A::Timestamp(_, _)
        | A::Date32
        | A::Date64
        | A::Time32(_)
        | A::Time64(_)
        | A::Duration(_)
        | A::Binary
        | A::FixedSizeBinary(_)
        | A::LargeBinary
        | A::Utf8
        | A::LargeUtf8
        | A::BinaryView
        | A::Utf8View => true,
        A::Decimal(p, _) | A::Decimal32(p, _) | A::Decimal64(p, _) | A::Decimal256(p, _) => {
            *p <= 38
        }
        A::List(f) | A::LargeList(f) | A::Map(f, _) => readable(&f.dtype),
        A::Struct(fields) => fields.iter().all(|f| readable(&f.dtype)),
        A::Dictionary(_, values, _) => readable(values),
        _ => false,
    }
}

/// Reads `n` bytes at `from` (from the start; negative: from the end).
fn read_at(path: &Path, file: &mut std::fs::File, from: SeekFrom, n: usize) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    file.seek(from).map_err(|e| io_err(path, e))?;
    file.read_exact(&mut buf).map_err(|e| io_err(path, e))?;
    Ok(buf)
}

impl Columnar {
    /// The magic bytes this format starts and ends with.
    fn magic(self) -> &'static [u8] {
        match self {
            Columnar::Parquet => PARQUET_MAGIC,
            Columnar::Ipc => ARROW_MAGIC,
        }
    }

    /// What a file that starts with `head` instead of the magic bytes is, when known.
    fn known_other(self, head: &[u8]) -> Option<&'static str> {
        match self {
            Columnar::Parquet if head.starts_with(b"PARE") => {
                Some("an encrypted Parquet file (not supported)")
            }
            Columnar::Ipc if head.starts_with(&[0xff; 4]) => {
                Some("an Arrow IPC stream, not an IPC file (write it in the file format)")
            }
            Columnar::Ipc if head.starts_with(b"FEA1") => {
                Some("a Feather v1 file (not supported; Feather v2 is Arrow IPC)")
            }
            _ => None,
        }
    }
}

/// Refuses a file shorter than `min` bytes or without the format's magic bytes at its
/// start and at its end (the end's magic closes the last `tail` bytes); returns those
/// last `tail` bytes.
fn check_magic(
    path: &Path,
    file: &mut std::fs::File,
    len: u64,
    kind: Columnar,
    min: u64,
    tail: usize,
) -> Result<Vec<u8>> {
    let name = kind.name();
    let magic = kind.magic();
    let magic_text = String::from_utf8_lossy(magic);
    if len < min {
        return Err(kind.unreadable(
            path,
            format!("{len} bytes, shorter than a {name} file's header and footer"),
        ));
    }
    let head = read_at(path, file, SeekFrom::Start(0), magic.len())?;
    if head != magic {
        let what = kind.known_other(&head).map_or_else(
            || {
                format!(
                    "it does not start with the magic bytes `{magic_text}` (it starts with {}): \
                     not a {name} file",
                    describe(&head)
                )
            },
            str::to_string,
        );
        return Err(kind.unreadable(path, what));
    }
    let back = i64::try_from(tail).unwrap_or(i64::MAX);
    let end = read_at(path, file, SeekFrom::End(-back), tail)?;
    if !end.ends_with(magic) {
        return Err(kind.unreadable(
            path,
            format!(
                "it does not end with the magic bytes `{magic_text}`: cut short, or still being \
                 written"
            ),
        ));
    }
    Ok(end)
}

/// The top-level column names of a Parquet file's footer, after checking the magic bytes.
fn parquet_names(path: &Path, file: &mut std::fs::File, len: u64) -> Result<Vec<String>> {
    let kind = Columnar::Parquet;
    check_magic(path, file, len, kind, 12, 4)?;
    file.seek(SeekFrom::Start(0)).map_err(|e| io_err(path, e))?;
    let mut reader = ParquetReader::new(file.try_clone().map_err(|e| io_err(path, e))?);
    let metadata = reader
        .get_metadata()
        .map_err(|e| kind.unreadable(path, e.to_string()))?;
    Ok(metadata
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().to_string())
        .collect())
}

/// The top-level column names of an Arrow IPC file's footer, after checking the magic
/// bytes.
fn ipc_names(path: &Path, file: &mut std::fs::File, len: u64) -> Result<Vec<String>> {
    use polars_arrow_format::ipc::planus::ReadAsRoot;
    let kind = Columnar::Ipc;
    // Magic and padding (8); a footer length and the closing magic (10).
    let tail = check_magic(path, file, len, kind, 18, 10)?;
    let footer_len = i32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
    let footer_len = u64::try_from(footer_len)
        .ok()
        .filter(|&n| n > 0 && n <= len - 18)
        .ok_or_else(|| {
            kind.unreadable(
                path,
                format!("its footer length ({footer_len}) does not fit in the file"),
            )
        })?;
    let start = len - 10 - footer_len;
    let n = usize::try_from(footer_len)
        .map_err(|_| kind.unreadable(path, "its footer is larger than memory"))?;
    let footer = read_at(path, file, SeekFrom::Start(start), n)?;
    let bad = |e: polars_arrow_format::ipc::planus::Error| {
        kind.unreadable(path, format!("its footer does not decode: {e}"))
    };
    let footer = polars_arrow_format::ipc::FooterRef::read_as_root(&footer).map_err(bad)?;
    let Some(schema) = footer.schema().map_err(bad)? else {
        return Err(kind.unreadable(path, "its footer has no schema"));
    };
    let mut names = Vec::new();
    for field in schema.fields().map_err(bad)?.into_iter().flatten() {
        names.push(
            field
                .map_err(bad)?
                .name()
                .map_err(bad)?
                .unwrap_or("")
                .to_string(),
        );
    }
    Ok(names)
}

/// The first bytes of a file, as text when they are printable ASCII.
fn describe(bytes: &[u8]) -> String {
    if bytes.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        format!("`{}`", String::from_utf8_lossy(bytes))
    } else {
        let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!("bytes {}", hex.join(" "))
    }
}

/// Casts the decimal columns of `schema` (a polars schema) to f64 in `lf`.
pub(crate) fn decimals_as_f64(lf: LazyFrame, schema: &Schema) -> LazyFrame {
    let casts: Vec<Expr> = schema
        .iter()
        .filter(|(_, dt)| matches!(dt, DataType::Decimal(..)))
        .map(|(name, _)| col(name.clone()).cast(DataType::Float64))
        .collect();
    if casts.is_empty() {
        lf
    } else {
        lf.with_columns(casts)
    }
}
