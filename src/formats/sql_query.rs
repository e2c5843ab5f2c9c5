//! A SQL query from a file, run read-only on a SQLite database: the labs'
//! SQL checks and `train --features-sql` both run a learner's query on the
//! CDM database ingest writes, with the same errors.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};

/// The text of `query` and a read-only connection to `db`; `query_is` and
/// `db_is` say what each should be, for the error when one is not.
pub fn open(db: &Path, db_is: &str, query: &Path, query_is: &str) -> Result<(Connection, String)> {
    let sql = std::fs::read_to_string(query)
        .map_err(|e| Error::bad_input(query.display(), None, query_is, e.to_string()))?;
    if !db.is_file() {
        return Err(Error::bad_input(db.display(), None, db_is, "no such file"));
    }
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| Error::bad_input(db.display(), None, "a SQLite database", e.to_string()))?;
    Ok((conn, sql))
}

/// The error of a query SQLite could not prepare or run, naming its file.
pub fn error(query: &Path) -> impl Fn(rusqlite::Error) -> Error + Copy + '_ {
    move |e| {
        Error::bad_input(
            query.display(),
            None,
            "a query SQLite can run",
            e.to_string(),
        )
    }
}
