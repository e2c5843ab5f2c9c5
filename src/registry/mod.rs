//! Stage `registry`: runs and models in one SQLite file.
//!
//! A run is a training run directory (see [`crate::eval::run_dir`]) recorded
//! with its parameters, per-epoch and summary metrics, artifacts and the
//! checksum of the data it was trained on. A model is a name with numbered
//! versions, each pointing at a run, each in one stage: none, staging,
//! production or archived. Promoting a version to production archives the
//! one there before it, so serving always has exactly one answer to
//! `NAME@production` ([`Registry::resolve`]). Aliases (`NAME@champion`)
//! point at one version each and move atomically; versions carry tags.
//!
//! The file is plain SQLite (WAL mode, so readers never block the writer):
//! learners can open it with the `sqlite3` shell. Times in the registry are
//! wall-clock UTC: the registry is a log of what happened when, not a
//! reproducible artifact.

pub mod export;
pub mod models;
pub mod onnx;
pub mod runs;
pub mod schema;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};

pub use models::{AliasChange, HistoryEntry, ModelVersion, StageChange};
pub use runs::{Comparison, RunDetail, RunSummary};

/// The environment variable that names the registry file.
pub const ENV_VAR: &str = "CARELAB_REGISTRY";

/// An open registry.
pub struct Registry {
    conn: Connection,
    path: PathBuf,
}

impl Registry {
    /// `$CARELAB_REGISTRY`, or `./carelab-registry/registry.db`.
    pub fn default_path() -> PathBuf {
        std::env::var_os(ENV_VAR)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("carelab-registry").join("registry.db"))
    }

    /// Open (creating and migrating as needed) the registry at `path`.
    /// Safe to call from several processes at once.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).at(dir)?;
        }
        let mut conn = Connection::open(&path).map_err(|e| {
            Error::failure(format!("{}: cannot open registry: {e}", path.display()))
        })?;
        // Wait for other writers instead of failing at once.
        conn.busy_timeout(Duration::from_secs(30))?;
        // Switching a new file to WAL needs an exclusive lock, and SQLite
        // answers "database is locked" at once (no busy handler) while a
        // second process is opening the same new file: retry for a while.
        let mut attempt = 0;
        let _mode: String = loop {
            match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)) {
                Ok(mode) => break mode,
                Err(e)
                    if attempt < 600
                        && matches!(
                            e.sqlite_error_code(),
                            Some(
                                rusqlite::ErrorCode::DatabaseBusy
                                    | rusqlite::ErrorCode::DatabaseLocked
                            )
                        ) =>
                {
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(e.into()),
            }
        };
        conn.pragma_update(None, "foreign_keys", "ON")?;
        schema::migrate(&mut conn, &path.display().to_string())?;
        Ok(Registry { conn, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The connection, for read-only queries (tests, labs).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    fn not_found(&self, what: &str, key: &str) -> Error {
        Error::bad_input(
            format!("registry {}", self.path.display()),
            Some(format!("{what} {key}")),
            format!("a recorded {what}"),
            "none",
        )
    }
}

/// The run directory a model argument names: a registry reference
/// (`NAME@production`, `NAME@3`, `NAME@champion`) looked up in `registry`
/// (`None`: [`Registry::default_path`]), or else the path as it is (what
/// loads it says what is missing there). Serving, scoring, evaluation and
/// export all take their model through this.
pub fn model_dir(spec: &str, registry: Option<&Path>) -> Result<PathBuf> {
    let path = Path::new(spec);
    if spec.contains('@') && !path.exists() {
        let registry =
            Registry::open(registry.map_or_else(Registry::default_path, Path::to_path_buf))?;
        return registry.resolve(spec);
    }
    Ok(path.to_path_buf())
}

/// Now, as ISO-8601 UTC to the second.
fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The stage of a model version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    None,
    Staging,
    Production,
    Archived,
}

impl Stage {
    pub const ALL: [Stage; 4] = [
        Stage::None,
        Stage::Staging,
        Stage::Production,
        Stage::Archived,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::None => "none",
            Stage::Staging => "staging",
            Stage::Production => "production",
            Stage::Archived => "archived",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Stage {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Stage::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                Error::usage(format!(
                    "unknown stage {s:?}: expected none, staging, production or archived"
                ))
            })
    }
}
