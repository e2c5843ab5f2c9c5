//! The registry's tables, and the migrations that create them.
//!
//! The schema version lives in SQLite's own `PRAGMA user_version`, so the
//! `sqlite3` shell shows it too. Each migration runs once, in order, inside
//! one IMMEDIATE transaction, so two processes opening a new registry at the
//! same moment cannot both migrate. Metrics are plain rows (no blobs) so the
//! file can be read with nothing but `sqlite3`; see
//! book/src/reference/registry-schema.md.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::Result;

/// Migrations, oldest first; the schema version is their count.
pub const MIGRATIONS: &[&str] = &[
    // 1: experiments, runs, their params, metrics and artifacts; models.
    "
    CREATE TABLE experiments (
        experiment_id INTEGER PRIMARY KEY,
        name          TEXT NOT NULL UNIQUE,
        created_at    TEXT NOT NULL
    );
    CREATE TABLE runs (
        run_id          TEXT PRIMARY KEY,
        experiment_id   INTEGER NOT NULL REFERENCES experiments(experiment_id),
        name            TEXT NOT NULL,
        run_dir         TEXT NOT NULL UNIQUE,
        model_kind      TEXT NOT NULL,
        seed            INTEGER,
        data_path       TEXT NOT NULL,
        data_digest     TEXT NOT NULL,
        manifest_sha256 TEXT,
        carelab_version TEXT NOT NULL,
        status          TEXT NOT NULL,
        started_at      TEXT,
        finished_at     TEXT,
        recorded_at     TEXT NOT NULL
    );
    CREATE TABLE params (
        run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
        key    TEXT NOT NULL,
        value  TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
    );
    CREATE TABLE metrics (
        run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
        key    TEXT NOT NULL,
        step   INTEGER NOT NULL,
        value  REAL NOT NULL,
        PRIMARY KEY (run_id, key, step)
    );
    CREATE TABLE artifacts (
        run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
        path   TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        bytes  INTEGER NOT NULL,
        PRIMARY KEY (run_id, path)
    );
    CREATE TABLE models (
        name       TEXT PRIMARY KEY,
        created_at TEXT NOT NULL
    );
    CREATE TABLE model_versions (
        name             TEXT NOT NULL REFERENCES models(name),
        version          INTEGER NOT NULL,
        run_id           TEXT NOT NULL REFERENCES runs(run_id),
        stage            TEXT NOT NULL DEFAULT 'none'
                         CHECK (stage IN ('none', 'staging', 'production', 'archived')),
        created_at       TEXT NOT NULL,
        stage_changed_at TEXT NOT NULL,
        PRIMARY KEY (name, version)
    );
    -- At most one production version per model, enforced by the database.
    CREATE UNIQUE INDEX one_production_per_model
        ON model_versions(name) WHERE stage = 'production';
    CREATE TABLE stage_changes (
        change_id  INTEGER PRIMARY KEY,
        name       TEXT NOT NULL,
        version    INTEGER NOT NULL,
        from_stage TEXT NOT NULL,
        to_stage   TEXT NOT NULL,
        changed_at TEXT NOT NULL
    );
    CREATE INDEX metrics_by_key ON metrics(key, step);
    ",
    // 2: the checksum of the training data's own manifest, beside the data file's.
    "ALTER TABLE runs ADD COLUMN data_manifest_digest TEXT;",
    // 3: aliases (a name pointing at one version, moved atomically) and
    // their history; tags per version.
    "
    CREATE TABLE model_aliases (
        name    TEXT NOT NULL REFERENCES models(name),
        alias   TEXT NOT NULL,
        version INTEGER NOT NULL,
        set_at  TEXT NOT NULL,
        PRIMARY KEY (name, alias),
        FOREIGN KEY (name, version) REFERENCES model_versions(name, version)
    );
    CREATE TABLE alias_changes (
        change_id    INTEGER PRIMARY KEY,
        name         TEXT NOT NULL,
        alias        TEXT NOT NULL,
        from_version INTEGER,
        to_version   INTEGER NOT NULL,
        changed_at   TEXT NOT NULL
    );
    CREATE TABLE version_tags (
        name    TEXT NOT NULL,
        version INTEGER NOT NULL,
        key     TEXT NOT NULL,
        value   TEXT NOT NULL,
        set_at  TEXT NOT NULL,
        PRIMARY KEY (name, version, key),
        FOREIGN KEY (name, version) REFERENCES model_versions(name, version)
    );
    ",
];

/// The schema version this build writes.
pub fn current_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Bring the schema up to date. A registry made by a newer CareLab is
/// refused rather than guessed at.
pub fn migrate(conn: &mut Connection, path_for_errors: &str) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > current_version() {
        return Err(crate::error::Error::bad_input(
            path_for_errors,
            Some("PRAGMA user_version".into()),
            format!("schema version {} or older", current_version()),
            format!("version {found} (made by a newer CareLab)"),
        ));
    }
    for sql in MIGRATIONS.iter().skip(found.max(0) as usize) {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", current_version())?;
    tx.commit()?;
    Ok(())
}
