//! Text files before polars reads them: compression found by magic bytes, the delimiter
//! sniffed from the first lines, and one pass over the (decompressed) text that checks it
//! is UTF-8, that its header has no repeated name and that no quoted field is left open,
//! so each of those ends in a typed error naming the file, row and column instead of a
//! bare polars message (or a panic) later.
//!
//! Quoting follows polars' CSV parser: a `"` opens a quoted field only at the start of a
//! field, `""` inside one is a literal quote, and line ends inside quotes belong to the
//! field. Rows are counted as polars numbers them: blank lines before the header are
//! skipped, the header is row 0 and the first record below it row 1 (row 1 is the first
//! record of a file without header).

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// How a text file is compressed, from its first bytes (not its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    /// Plain text.
    None,
    /// gzip (one or more members).
    Gzip,
    /// Zstandard.
    Zstd,
}

impl Compression {
    /// The compression of the file at `path`, from its magic bytes.
    pub(crate) fn of(path: &Path) -> Result<Self> {
        let mut magic = [0u8; 4];
        let mut f = std::fs::File::open(path).map_err(|e| io_err(path, e))?;
        let mut n = 0;
        while n < magic.len() {
            match f.read(&mut magic[n..]).map_err(|e| io_err(path, e))? {
                0 => break,
                k => n += k,
            }
        }
        Ok(match &magic[..n] {
            [0x1f, 0x8b, ..] => Compression::Gzip,
            [0x28, 0xb5, 0x2f, 0xfd] => Compression::Zstd,
            _ => Compression::None,
        })
    }

    /// What a file so compressed is read as, for [`Error::UnreadableFile`].
    fn format(self, what: &str) -> String {
        match self {
            Compression::None => what.to_string(),
            Compression::Gzip => format!("gzip-compressed {what}"),
            Compression::Zstd => format!("zstd-compressed {what}"),
        }
    }
}

/// The file names' compression suffixes the readers look through for the format.
pub(crate) const COMPRESSED_SUFFIXES: [&str; 4] = ["gz", "gzip", "zst", "zstd"];

/// Whether `path`'s last extension is one of [`COMPRESSED_SUFFIXES`] (case-insensitive).
pub(crate) fn is_compressed(path: &std::path::Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| COMPRESSED_SUFFIXES.contains(&e.to_ascii_lowercase().as_str()))
}

/// The delimiters sniffed for, in order of preference on a tie.
const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// How much decompressed text the sniffer looks at.
const SNIFF_BYTES: u64 = 64 * 1024;

/// Size of the reads of the checking pass.
const CHUNK: usize = 1 << 20;

pub(crate) fn io_err(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The file's text, decompressed as it is read.
fn open(path: &Path) -> Result<(Box<dyn Read>, Compression)> {
    let compression = Compression::of(path)?;
    let file = std::fs::File::open(path).map_err(|e| io_err(path, e))?;
    let reader: Box<dyn Read> = match compression {
        Compression::None => Box::new(file),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::new(
            file,
        ))),
        Compression::Zstd => Box::new(
            zstd::Decoder::new(file)
                .map_err(|e| unreadable(path, compression.format("text"), e.to_string()))?,
        ),
    };
    Ok((reader, compression))
}

fn unreadable(path: &Path, format: String, reason: String) -> Error {
    Error::UnreadableFile {
        path: path.to_path_buf(),
        format,
        reason,
    }
}

/// A failed read of `path`: an I/O error for plain text, corrupt data for compressed.
fn read_err(path: &Path, compression: Compression, e: std::io::Error) -> Error {
    match compression {
        Compression::None => io_err(path, e),
        _ => unreadable(
            path,
            compression.format("text"),
            format!("{e} (corrupt or cut short)"),
        ),
    }
}

/// Reads the whole text (decompressed) into memory.
pub(crate) fn read_all(path: &Path) -> Result<Vec<u8>> {
    let (mut r, compression) = open(path)?;
    let mut out = Vec::new();
    r.read_to_end(&mut out)
        .map_err(|e| read_err(path, compression, e))?;
    Ok(out)
}

/// The delimiter of delimited text, sniffed from its first lines (decompressed): the one of
/// `,` `;` tab `|` that the first non-blank line has, or, when it has several, the one
/// found as often on every following sampled line (then the most frequent; ties go in
/// that order). `None` when the first line has none of them. Quoted text is not counted.
/// A compressed file that fails part-way is sniffed from what decompressed; the reader
/// reports the fault.
pub(crate) fn sniff_delimiter(path: &Path) -> Result<Option<u8>> {
    let (r, _) = open(path)?;
    let mut sample = Vec::new();
    // A decoding error ends the sample; the read proper reports it.
    let complete = match r.take(SNIFF_BYTES).read_to_end(&mut sample) {
        Ok(n) => (n as u64) < SNIFF_BYTES,
        Err(_) => false,
    };
    let mut lines: Vec<&[u8]> = sample.split(|&b| b == b'\n').collect();
    if !complete && lines.len() > 1 {
        lines.pop();
    }
    let mut lines = lines
        .into_iter()
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .skip_while(|l| l.is_empty())
        .filter(|l| !l.is_empty());
    let Some(first) = lines.next() else {
        return Ok(None);
    };
    let head = counts(first);
    let rest: Vec<[usize; 4]> = lines.take(20).map(counts).collect();
    let pick = |consistent_only: bool| {
        DELIMITERS
            .iter()
            .enumerate()
            .filter(|&(i, _)| head[i] > 0)
            .filter(|&(i, _)| !consistent_only || rest.iter().all(|c| c[i] == head[i]))
            // max_by_key keeps the last of equals: reverse so the first in order wins.
            .rev()
            .max_by_key(|&(i, _)| head[i])
            .map(|(_, &d)| d)
    };
    Ok(pick(true).or_else(|| pick(false)))
}

/// Occurrences of each of [`DELIMITERS`] outside double quotes.
fn counts(line: &[u8]) -> [usize; 4] {
    let mut out = [0; 4];
    let mut quoted = false;
    for &b in line {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some(i) = DELIMITERS.iter().position(|&d| d == b) {
            out[i] += 1;
        }
    }
    out
}

/// A readable name for a delimiter byte, as the `--delimiter` option takes it.
fn delimiter_name(d: u8) -> String {
    match d {
        b'\t' => "tab".into(),
        _ => char::from(d).to_string(),
    }
}

/// Reads delimited text once (decompressing it) and checks it before polars does.
///
/// # Errors
/// - [`Error::EmptyTable`] when the (decompressed) text is empty;
/// - [`Error::NotUtf8`] for the first field with bytes that are not UTF-8;
/// - [`Error::DuplicateColumn`] when the header has a name twice;
/// - [`Error::InvalidOption`] (`delimiter`) when the first line reads as one column whose
///   text holds another of the usual delimiters (the file is delimited by that one);
/// - [`Error::UnreadableFile`] for corrupt compressed data, or a quoted field that is
///   still open at the end of the file (a file cut short);
/// - [`Error::Io`] when the file cannot be read.
pub(crate) fn check_delimited(path: &Path, delimiter: u8, has_header: bool) -> Result<()> {
    let (mut r, compression) = open(path)?;
    let mut buf = vec![0u8; CHUNK];
    let mut carry = 0usize; // bytes of an unfinished UTF-8 sequence kept at buf's front
    let mut offset = 0u64; // decompressed offset of buf[0]
    let mut quotes = 0u64;
    let mut first: Option<Vec<u8>> = None; // the start of the text, for the header
    let mut bad: Option<u64> = None;
    loop {
        let n = fill(&mut *r, &mut buf[carry..]).map_err(|e| read_err(path, compression, e))?;
        let len = carry + n;
        if first.is_none() {
            first = Some(buf[..len].to_vec());
        }
        if n == 0 {
            if carry > 0 {
                bad = Some(offset);
            }
            break;
        }
        let data = &buf[..len];
        quotes += data.iter().filter(|&&b| b == b'"').count() as u64;
        match std::str::from_utf8(data) {
            Ok(_) => {
                offset += len as u64;
                carry = 0;
            }
            Err(e) if e.error_len().is_none() => {
                // A sequence cut by the chunk's end: keep its bytes for the next read.
                let valid = e.valid_up_to();
                offset += valid as u64;
                buf.copy_within(valid..len, 0);
                carry = len - valid;
            }
            Err(e) => {
                bad = Some(offset + e.valid_up_to() as u64);
                break;
            }
        }
    }
    let first = first.unwrap_or_default();
    if first.is_empty() {
        return Err(Error::EmptyTable {
            what: format!("{} has no text", path.display()),
        });
    }
    let parser = Parser::new(delimiter, has_header);
    let first_record = parser.first_record(&first);
    let names: Vec<String> = first_record
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    if let Some(bad) = bad {
        let (mut r, _) = open(path)?;
        return Err(parser.locate(path, &mut *r, bad, &names, compression));
    }
    if let [only] = names.as_slice()
        && let Some(other) = DELIMITERS
            .iter()
            .copied()
            .filter(|&d| d != delimiter)
            .max_by_key(|&d| counts(only.as_bytes())[position(d)])
            .filter(|&d| counts(only.as_bytes())[position(d)] > 0)
    {
        return Err(Error::InvalidOption {
            option: "delimiter".into(),
            reason: format!(
                "{}: with the delimiter `{}` the first line is one column, `{}`, which holds \
                 the delimiter `{}`: give `--delimiter {}` (or leave the delimiter out to have \
                 it detected)",
                path.display(),
                delimiter_name(delimiter),
                only.escape_debug(),
                delimiter_name(other),
                delimiter_name(other),
            ),
        });
    }
    if has_header {
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = names
            .iter()
            .filter(|n| !n.is_empty())
            .find(|n| !seen.insert(n.as_str()))
        {
            return Err(Error::DuplicateColumn {
                path: path.to_path_buf(),
                column: dup.clone(),
            });
        }
    }
    if quotes % 2 == 1 {
        // An odd count of quotes: a quoted field left open (a file cut short), or a quote
        // inside an unquoted field, which polars' CSV reader fails on later (its line
        // splitter pairs every quote). Parse to tell which, and where.
        let (mut r, _) = open(path)?;
        let fault = parser
            .quote_fault(&mut *r)
            .map_err(|e| read_err(path, compression, e))?;
        let reason = match fault {
            Some(QuoteFault::Open(row)) => format!(
                "a quoted field opened in {} is not closed before the end of the file \
                 (cut short?)",
                row_name(row)
            ),
            Some(QuoteFault::Stray(row, field)) => format!(
                "{}, column `{}` has a `\"` inside an unquoted field, which the CSV reader \
                 cannot split rows around: quote the whole field and double the quote \
                 (`\"15\"\" screen\"`)",
                row_name(row),
                parser.column_name(&names, row, field)
            ),
            None => return Ok(()),
        };
        return Err(unreadable(path, compression.format("CSV"), reason));
    }
    Ok(())
}

/// Where the quoting of a text goes wrong (rows as [`Parser::row`] numbers them).
enum QuoteFault {
    /// A quoted field opened in this row is still open at the end.
    Open(u64),
    /// The first quote inside an unquoted field: row, 0-based field.
    Stray(u64, usize),
}

fn position(d: u8) -> usize {
    DELIMITERS.iter().position(|&x| x == d).unwrap_or(0)
}

fn row_name(row: u64) -> String {
    if row == 0 {
        "the header line".into()
    } else {
        format!("row {row}")
    }
}

/// Reads until `buf` is full or the input ends; the number of bytes read.
fn fill(r: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// A byte-at-a-time CSV record parser, for the rare slow paths (finding where a bad byte
/// or an open quote is) and for the header line.
struct Parser {
    delimiter: u8,
    has_header: bool,
}

/// Where the parser is in the text.
#[derive(Default)]
struct State {
    /// Records seen before the current one (blank leading lines not counted).
    record: u64,
    /// 0-based field of the current record.
    field: usize,
    /// Inside a quoted field.
    quoted: bool,
    /// The previous byte closed a quoted field (a `"` now is an escaped quote).
    just_closed: bool,
    /// No byte of the current field yet.
    field_start: bool,
    /// A record has begun (leading blank lines are behind).
    started: bool,
    /// The record in which the open quoted field began.
    quote_record: u64,
    /// The first quote inside an unquoted field: record, field.
    stray: Option<(u64, usize)>,
}

impl Parser {
    fn new(delimiter: u8, has_header: bool) -> Self {
        Parser {
            delimiter,
            has_header,
        }
    }

    /// Steps over one byte; returns true when the byte ends a record.
    fn step(&self, s: &mut State, b: u8) -> bool {
        if !s.started {
            if b == b'\n' || b == b'\r' {
                return false;
            }
            s.started = true;
            s.field_start = true;
        }
        if s.quoted {
            if b == b'"' {
                s.quoted = false;
                s.just_closed = true;
            }
            return false;
        }
        if b == b'"' && s.just_closed {
            s.quoted = true;
            s.just_closed = false;
            return false;
        }
        s.just_closed = false;
        if b == b'"' {
            if s.field_start {
                s.quoted = true;
                s.field_start = false;
                s.quote_record = s.record;
                return false;
            }
            s.stray.get_or_insert((s.record, s.field));
        }
        if b == self.delimiter {
            s.field += 1;
            s.field_start = true;
            return false;
        }
        if b == b'\n' {
            s.record += 1;
            s.field = 0;
            s.field_start = true;
            return true;
        }
        s.field_start = false;
        false
    }

    /// The fields of the first record of `text` (blank leading lines skipped, quotes
    /// removed, `""` inside quotes as `"`, a trailing `\r` dropped); the whole text when
    /// no record ends in it.
    fn first_record(&self, text: &[u8]) -> Vec<Vec<u8>> {
        let start = text
            .iter()
            .position(|&b| b != b'\n' && b != b'\r')
            .unwrap_or(text.len());
        let mut fields: Vec<Vec<u8>> = Vec::new();
        let mut field = Vec::new();
        let mut quoted = false;
        let mut field_start = true;
        let mut i = start;
        while let Some(&b) = text.get(i) {
            i += 1;
            if quoted {
                if b != b'"' {
                    field.push(b);
                } else if text.get(i) == Some(&b'"') {
                    field.push(b'"');
                    i += 1;
                } else {
                    quoted = false;
                }
            } else if b == b'"' && field_start {
                quoted = true;
            } else if b == self.delimiter {
                fields.push(std::mem::take(&mut field));
                field_start = true;
                continue;
            } else if b == b'\n' {
                break;
            } else {
                field.push(b);
            }
            field_start = false;
        }
        if field.last() == Some(&b'\r') {
            field.pop();
        }
        fields.push(field);
        fields
    }

    /// The data row number of record `record` (0-based, leading blank lines not counted).
    fn row(&self, record: u64) -> u64 {
        if self.has_header { record } else { record + 1 }
    }

    /// The error for the first bad UTF-8 byte, at decompressed offset `bad`: the row, the
    /// column and the field's text (bad bytes as U+FFFD).
    fn locate(
        &self,
        path: &Path,
        r: &mut dyn Read,
        bad: u64,
        names: &[String],
        compression: Compression,
    ) -> Error {
        let mut s = State::default();
        let mut field = Vec::new();
        let mut at = 0u64;
        let mut found: Option<(u64, usize)> = None;
        let mut buf = vec![0u8; 64 * 1024];
        'read: loop {
            let n = match r.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return read_err(path, compression, e),
            };
            for &b in &buf[..n] {
                let (record, f) = (s.record, s.field);
                let ended = self.step(&mut s, b);
                if found.is_some() && (ended || s.field != f) {
                    break 'read;
                }
                if at == bad {
                    found = Some((record, f));
                }
                if s.started && !ended && s.field == f {
                    field.push(b);
                } else {
                    field.clear();
                }
                at += 1;
            }
        }
        let (record, f) = found.unwrap_or((s.record, s.field));
        let value =
            String::from_utf8_lossy(field.strip_suffix(b"\r").unwrap_or(&field)).into_owned();
        let row = self.row(record);
        let column = if self.has_header && row == 0 {
            value.clone()
        } else {
            self.column_name(names, row, f)
        };
        Error::NotUtf8 {
            path: path.to_path_buf(),
            row,
            column,
            value,
        }
    }

    /// What is wrong with the quoting of the text, if anything: a quoted field still
    /// open at the end comes first, else the first quote inside an unquoted field.
    fn quote_fault(&self, r: &mut dyn Read) -> std::io::Result<Option<QuoteFault>> {
        let mut s = State::default();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = fill(r, &mut buf)?;
            if n == 0 {
                break;
            }
            for &b in &buf[..n] {
                self.step(&mut s, b);
            }
        }
        Ok(if s.quoted {
            Some(QuoteFault::Open(self.row(s.quote_record)))
        } else {
            s.stray
                .map(|(record, field)| QuoteFault::Stray(self.row(record), field))
        })
    }

    /// The name of 0-based `field` in `row`: the header's name for it (the field's own
    /// text in the header row is not known here: `column_N` then, as without a header).
    fn column_name(&self, names: &[String], row: u64, field: usize) -> String {
        if self.has_header
            && row > 0
            && let Some(name) = names.get(field)
        {
            return name.clone();
        }
        format!("column_{}", field + 1)
    }
}

/// Checks whitespace-separated text read whole: UTF-8 and unique header names.
///
/// # Errors
/// [`Error::NotUtf8`] for the first field with bytes that are not UTF-8 (rows numbered as
/// the whitespace reader numbers them: lines below the header line, blank ones counted);
/// [`Error::DuplicateColumn`] when the header has a name twice.
pub(crate) fn check_whitespace(path: &Path, bytes: Vec<u8>, has_header: bool) -> Result<String> {
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let bad = e.utf8_error().valid_up_to();
            let bytes = e.into_bytes();
            return Err(whitespace_bad_byte(path, &bytes, bad, has_header));
        }
    };
    if has_header && let Some(header) = text.lines().find(|l| !l.trim().is_empty()) {
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = header.split_whitespace().find(|n| !seen.insert(*n)) {
            return Err(Error::DuplicateColumn {
                path: path.to_path_buf(),
                column: dup.to_string(),
            });
        }
    }
    Ok(text)
}

fn whitespace_bad_byte(path: &Path, bytes: &[u8], bad: usize, has_header: bool) -> Error {
    let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    let header_line = if has_header {
        lines
            .iter()
            .position(|l| !l.iter().all(u8::is_ascii_whitespace))
    } else {
        None
    };
    let mut start = 0usize;
    for (i, line) in lines.iter().enumerate() {
        let end = start + line.len();
        if bad <= end {
            let pos = bad - start;
            let mut tokens = Vec::new();
            let mut token_start = None;
            for (j, &b) in line.iter().enumerate() {
                match (b.is_ascii_whitespace(), token_start) {
                    (true, Some(s)) => {
                        tokens.push(s..j);
                        token_start = None;
                    }
                    (false, None) => token_start = Some(j),
                    _ => {}
                }
            }
            if let Some(s) = token_start {
                tokens.push(s..line.len());
            }
            let k = tokens.iter().position(|t| t.contains(&pos)).unwrap_or(0);
            let value = tokens
                .get(k)
                .map(|t| String::from_utf8_lossy(&line[t.clone()]).into_owned())
                .unwrap_or_default();
            let (row, column) = match header_line {
                Some(h) if h == i => (0, value.clone()),
                Some(h) => {
                    let header = lines[h]
                        .split(u8::is_ascii_whitespace)
                        .filter(|t| !t.is_empty())
                        .nth(k)
                        .map(|t| String::from_utf8_lossy(t).into_owned());
                    (
                        (i - h) as u64,
                        header.unwrap_or_else(|| format!("column_{}", k + 1)),
                    )
                }
                None => ((i + 1) as u64, format!("column_{}", k + 1)),
            };
            return Error::NotUtf8 {
                path: path.to_path_buf(),
                row,
                column,
                value,
            };
        }
        start = end + 1;
    }
    Error::NotUtf8 {
        path: path.to_path_buf(),
        row: 0,
        column: String::new(),
        value: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_record_unquotes_and_keeps_escaped_quotes() {
        let p = Parser::new(b',', true);
        let f = p.first_record(b"\n\na,\"b,c\",\"d\"\"e\",f\r\n1,2,3,4\n");
        let f: Vec<String> = f
            .into_iter()
            .map(|x| String::from_utf8(x).unwrap())
            .collect();
        assert_eq!(f, ["a", "b,c", "d\"e", "f"]);
    }

    #[test]
    fn counts_skip_quoted_text() {
        assert_eq!(counts(b"a;\"b,c\";d|e"), [0, 2, 0, 1]);
    }
}
