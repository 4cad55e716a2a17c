//! Parquet datasets: one input given as a file, a directory of Parquet files or a glob
//! (`logs/2026-*.parquet`), the form a lake of part files takes.
//!
//! A dataset's rows are numbered as one table: the files in ascending path order, each
//! file's rows in file order, from 1. Both engines number them so (the in-memory scan
//! concatenates the files in that order; the DataFusion engine adds each file's offset
//! to the row's index within its file), so rejects name the same rows either way.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Whether `path` is a glob pattern rather than a file name (`*`, `?` or `[` in it).
///
/// # Example
/// ```
/// use patronage::io::dataset::is_glob;
/// assert!(is_glob("logs/part-*.parquet".as_ref()));
/// assert!(!is_glob("logs/part-0.parquet".as_ref()));
/// ```
pub fn is_glob(path: &Path) -> bool {
    path.to_string_lossy().contains(['*', '?', '['])
}

/// Whether `path` names a dataset of several Parquet files (a directory or a glob)
/// rather than one file.
///
/// # Example
/// ```
/// use patronage::io::dataset::is_dataset;
/// assert!(is_dataset("datasets".as_ref()));
/// assert!(!is_dataset("datasets/retail_sample.csv".as_ref()));
/// ```
pub fn is_dataset(path: &Path) -> bool {
    path.is_dir() || is_glob(path)
}

/// The Parquet files of a dataset in the order its rows are numbered: `path` itself when
/// it is a file; the `.parquet` files directly in it (case-insensitive extension, no
/// recursion) when it is a directory; the files a glob matches. Sorted by path.
///
/// # Errors
/// [`Error::InvalidOption`] (option `input`) for a malformed glob; [`Error::Io`] when a
/// directory cannot be listed, or when a directory or glob holds no Parquet file (kind
/// `NotFound`, naming the directory or pattern).
///
/// # Example
/// ```
/// use patronage::io::dataset::parquet_files;
/// let dir = tempfile::tempdir()?;
/// for name in ["b.parquet", "a.parquet", "notes.txt"] {
///     std::fs::write(dir.path().join(name), b"")?;
/// }
/// let files = parquet_files(dir.path())?;
/// assert_eq!(files, vec![dir.path().join("a.parquet"), dir.path().join("b.parquet")]);
/// let glob = parquet_files(&dir.path().join("*.parquet"))?;
/// assert_eq!(glob, files);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parquet_files(path: &Path) -> Result<Vec<PathBuf>> {
    let io = |source: std::io::Error| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut files: Vec<PathBuf> = if path.is_dir() {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(path).map_err(io)? {
            let p = entry.map_err(io)?.path();
            let parquet = p
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
            if parquet && p.is_file() {
                out.push(p);
            }
        }
        out
    } else if is_glob(path) {
        let pattern = path.to_string_lossy();
        let paths = glob::glob(&pattern).map_err(|e| {
            Error::invalid("input", format!("`{pattern}` is not a valid glob: {e}"))
        })?;
        let mut out = Vec::new();
        for p in paths {
            let p = p.map_err(|e| Error::Io {
                path: e.path().to_path_buf(),
                source: std::io::Error::new(e.error().kind(), e.error().to_string()),
            })?;
            if p.is_file() {
                out.push(p);
            }
        }
        out
    } else {
        return Ok(vec![path.to_path_buf()]);
    };
    files.sort();
    if files.is_empty() {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no Parquet file here",
        )));
    }
    Ok(files)
}
