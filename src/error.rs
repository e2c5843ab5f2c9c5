//! One error type for the whole library.
//!
//! Bad input (a file, a flag, a record the user can fix) is kept apart from
//! failures (the machine, a bug, something the user cannot fix) because the CLI
//! exits 2 for the first and 1 for the second, and scripts and the lab checker
//! rely on that. Messages never carry PHI: callers name files, lines and fields,
//! and quote found values only when those values are not identifiers.

use std::fmt;
use std::path::{Path, PathBuf};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input the user can fix: names where, what was expected and what was found.
    #[error("{source_name}{at}: expected {expected}, found {found}", at = fmt_at(.location))]
    BadInput {
        source_name: String,
        location: Option<String>,
        expected: String,
        found: String,
    },
    /// A flag or argument combination that cannot work.
    #[error("{0}")]
    Usage(String),
    /// Reading or writing a file failed.
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Anything else that went wrong and is not the input's fault.
    #[error("{0}")]
    Failure(String),
}

fn fmt_at(location: &Option<String>) -> String {
    match location {
        Some(l) => format!(" ({l})"),
        None => String::new(),
    }
}

impl Error {
    /// Bad input in a file or stream: `source` is a path or a stream name,
    /// `location` a line, record, segment or key.
    pub fn bad_input(
        source: impl fmt::Display,
        location: impl Into<Option<String>>,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        Error::BadInput {
            source_name: source.to_string(),
            location: location.into(),
            expected: expected.into(),
            found: found.into(),
        }
    }

    pub fn usage(msg: impl Into<String>) -> Self {
        Error::Usage(msg.into())
    }

    pub fn failure(msg: impl Into<String>) -> Self {
        Error::Failure(msg.into())
    }

    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    /// Process exit code: 2 for input the user can fix, 1 for failures.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::BadInput { .. } | Error::Usage(_) => 2,
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => 2,
            Error::Io { .. } | Error::Failure(_) => 1,
        }
    }

    /// A short machine-readable kind for `--json` error output.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::BadInput { .. } => "bad_input",
            Error::Usage(_) => "usage",
            Error::Io { .. } => "io",
            Error::Failure(_) => "failure",
        }
    }
}

/// Attach a path to an `std::io::Result`.
pub trait IoContext<T> {
    fn at(self, path: impl AsRef<Path>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: impl AsRef<Path>) -> Result<T> {
        self.map_err(|e| Error::io(path, e))
    }
}

impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Self {
        Error::Failure(format!("tensor error: {e}"))
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Failure(format!("registry database: {e}"))
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Failure(format!("JSON: {e}"))
    }
}

impl From<parquet::errors::ParquetError> for Error {
    fn from(e: parquet::errors::ParquetError) -> Self {
        Error::Failure(format!("parquet: {e}"))
    }
}

impl From<arrow_schema::ArrowError> for Error {
    fn from(e: arrow_schema::ArrowError) -> Self {
        Error::Failure(format!("arrow: {e}"))
    }
}

/// Turn a TOML parse error into bad input naming the file, the line and the key.
pub fn toml_error(path: impl AsRef<Path>, text: &str, e: &toml::de::Error) -> Error {
    let location = e.span().map(|span| {
        let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
        format!("line {line}")
    });
    Error::bad_input(
        path.as_ref().display(),
        location,
        "a valid file",
        e.message().to_string(),
    )
}
