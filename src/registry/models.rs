//! Model versions, their stages, aliases and tags.
//!
//! An alias (`champion`, `challenger`) names one version of a model and is
//! moved, not copied: `set_alias` replaces where it points and records the
//! move in `alias_changes` in one transaction, so a reader sees the old or
//! the new version, never none. `NAME@ALIAS` then resolves wherever
//! `NAME@production` does.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};

use super::{now, Registry, Stage};
use crate::error::{Error, Result};

/// One version of one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelVersion {
    pub name: String,
    pub version: u32,
    pub run_id: String,
    pub run_dir: String,
    pub stage: Stage,
    pub created_at: String,
    pub stage_changed_at: String,
    /// The aliases pointing at this version, sorted.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The version's tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// An alias set or moved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AliasChange {
    pub name: String,
    pub alias: String,
    /// The version it pointed at before, if it existed.
    pub from: Option<u32>,
    pub to: u32,
}

/// One entry of a model's history: a stage change or an alias move.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub changed_at: String,
    pub version: u32,
    /// `stage` or `alias`.
    pub kind: String,
    /// `staging -> production`, or `champion: 2 -> 3` (`new -> 3` when set
    /// for the first time).
    pub change: String,
}

/// Whether `alias` may name a version: a lower-case word (letters, digits,
/// `-`, `_`, starting with a letter) that is no stage name, so `NAME@X`
/// always means one thing.
fn check_alias(alias: &str) -> Result<()> {
    let word = alias.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && alias
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !word || alias.len() > 64 {
        return Err(Error::usage(format!(
            "alias {alias:?} must be a lower-case word of letters, digits, '-' or '_' starting with a letter"
        )));
    }
    if alias.parse::<Stage>().is_ok() {
        return Err(Error::usage(format!(
            "alias {alias:?} is a stage name; NAME@{alias} already means the stage"
        )));
    }
    Ok(())
}

/// A stage change, and any version it moved out of production.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageChange {
    pub name: String,
    pub version: u32,
    pub from: Stage,
    pub to: Stage,
    /// Versions archived because this one took production.
    pub archived: Vec<u32>,
}

fn parse_stage(s: String) -> rusqlite::Result<Stage> {
    s.parse().map_err(|e: Error| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

impl Registry {
    /// Register the run `run` (id, unique name or directory) as the next
    /// version of model `name`; returns the version number (1, 2, ...).
    pub fn register_model(&mut self, name: &str, run: &str) -> Result<u32> {
        if name.is_empty() || name.contains('@') || name.chars().any(char::is_whitespace) {
            return Err(Error::usage(format!(
                "model name {name:?} must be non-empty, without spaces or '@'"
            )));
        }
        let run_id = self.find_run(run)?;
        let at = now();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT OR IGNORE INTO models (name, created_at) VALUES (?1, ?2)",
            params![name, at],
        )?;
        let version: u32 = tx.query_row(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions WHERE name = ?1",
            [name],
            |r| r.get(0),
        )?;
        tx.execute(
            "INSERT INTO model_versions (name, version, run_id, stage, created_at, stage_changed_at)
             VALUES (?1, ?2, ?3, 'none', ?4, ?4)",
            params![name, version, run_id, at],
        )?;
        tx.commit()?;
        Ok(version)
    }

    /// Move a version to `stage`. Promoting to production archives the
    /// version that was in production, in the same transaction.
    pub fn promote(&mut self, name: &str, version: u32, stage: Stage) -> Result<StageChange> {
        let at = now();
        let path = self.path.display().to_string();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let from: Option<String> = tx
            .query_row(
                "SELECT stage FROM model_versions WHERE name = ?1 AND version = ?2",
                params![name, version],
                |r| r.get(0),
            )
            .optional()?;
        let from: Stage = match from {
            Some(s) => s.parse()?,
            None => {
                return Err(Error::bad_input(
                    format!("registry {path}"),
                    Some(format!("model {name} version {version}")),
                    "a registered model version",
                    "none",
                ))
            }
        };
        let mut archived = Vec::new();
        if stage == Stage::Production {
            let mut stmt = tx.prepare(
                "SELECT version FROM model_versions WHERE name = ?1 AND stage = 'production' AND version != ?2",
            )?;
            archived = stmt
                .query_map(params![name, version], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<u32>>>()?;
            drop(stmt);
            for v in &archived {
                tx.execute(
                    "UPDATE model_versions SET stage = 'archived', stage_changed_at = ?3 WHERE name = ?1 AND version = ?2",
                    params![name, v, at],
                )?;
                tx.execute(
                    "INSERT INTO stage_changes (name, version, from_stage, to_stage, changed_at)
                     VALUES (?1, ?2, 'production', 'archived', ?3)",
                    params![name, v, at],
                )?;
            }
        }
        if from != stage {
            tx.execute(
                "UPDATE model_versions SET stage = ?3, stage_changed_at = ?4 WHERE name = ?1 AND version = ?2",
                params![name, version, stage.as_str(), at],
            )?;
            tx.execute(
                "INSERT INTO stage_changes (name, version, from_stage, to_stage, changed_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![name, version, from.as_str(), stage.as_str(), at],
            )?;
        }
        tx.commit()?;
        Ok(StageChange {
            name: name.to_string(),
            version,
            from,
            to: stage,
            archived,
        })
    }

    /// The version's stage, or an error naming what is not registered.
    fn version_exists(
        tx: &rusqlite::Transaction<'_>,
        path: &str,
        name: &str,
        version: u32,
    ) -> Result<()> {
        let found: Option<u32> = tx
            .query_row(
                "SELECT version FROM model_versions WHERE name = ?1 AND version = ?2",
                params![name, version],
                |r| r.get(0),
            )
            .optional()?;
        match found {
            Some(_) => Ok(()),
            None => Err(Error::bad_input(
                format!("registry {path}"),
                Some(format!("model {name} version {version}")),
                "a registered model version",
                "none",
            )),
        }
    }

    /// Point `alias` of model `name` at `version`, moving it from the
    /// version it named before, and record the move; one transaction.
    pub fn set_alias(&mut self, name: &str, alias: &str, version: u32) -> Result<AliasChange> {
        check_alias(alias)?;
        let at = now();
        let path = self.path.display().to_string();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        Self::version_exists(&tx, &path, name, version)?;
        let from: Option<u32> = tx
            .query_row(
                "SELECT version FROM model_aliases WHERE name = ?1 AND alias = ?2",
                params![name, alias],
                |r| r.get(0),
            )
            .optional()?;
        if from != Some(version) {
            tx.execute(
                "INSERT INTO model_aliases (name, alias, version, set_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version, set_at = excluded.set_at",
                params![name, alias, version, at],
            )?;
            tx.execute(
                "INSERT INTO alias_changes (name, alias, from_version, to_version, changed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![name, alias, from, version, at],
            )?;
        }
        tx.commit()?;
        Ok(AliasChange {
            name: name.to_string(),
            alias: alias.to_string(),
            from,
            to: version,
        })
    }

    /// Set tags on a version (a key set again takes the new value).
    pub fn set_tags(&mut self, name: &str, version: u32, tags: &[(String, String)]) -> Result<()> {
        for (key, _) in tags {
            if key.is_empty() || key.contains('=') || key.chars().any(char::is_whitespace) {
                return Err(Error::usage(format!(
                    "tag key {key:?} must be non-empty, without spaces or '='"
                )));
            }
        }
        let at = now();
        let path = self.path.display().to_string();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        Self::version_exists(&tx, &path, name, version)?;
        for (key, value) in tags {
            tx.execute(
                "INSERT INTO version_tags (name, version, key, value, set_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (name, version, key) DO UPDATE SET value = excluded.value, set_at = excluded.set_at",
                params![name, version, key, value, at],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// A model's stage changes and alias moves, oldest first (times are to
    /// the second: within one second, stage changes come before alias
    /// moves, each in the order made).
    pub fn history(&self, name: &str) -> Result<Vec<HistoryEntry>> {
        let mut stmt = self.conn.prepare(
            "SELECT changed_at, version, 'stage', from_stage || ' -> ' || to_stage, change_id, 0
               FROM stage_changes WHERE name = ?1
             UNION ALL
             SELECT changed_at, to_version, 'alias',
                    alias || ': ' || COALESCE(CAST(from_version AS TEXT), 'new') || ' -> ' || to_version,
                    change_id, 1
               FROM alias_changes WHERE name = ?1
             ORDER BY 1, 6, 5",
        )?;
        let rows = stmt.query_map([name], |r| {
            Ok(HistoryEntry {
                changed_at: r.get(0)?,
                version: r.get(1)?,
                kind: r.get(2)?,
                change: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Archive a version (take it out of service, keep its record).
    pub fn archive(&mut self, name: &str, version: u32) -> Result<StageChange> {
        self.promote(name, version, Stage::Archived)
    }

    /// Model versions, by name then version; one model's when `name` is given.
    pub fn list_models(&self, name: Option<&str>) -> Result<Vec<ModelVersion>> {
        let mut stmt = self.conn.prepare(
            "SELECT m.name, m.version, m.run_id, r.run_dir, m.stage, m.created_at, m.stage_changed_at
             FROM model_versions m JOIN runs r USING (run_id)
             WHERE ?1 IS NULL OR m.name = ?1
             ORDER BY m.name, m.version",
        )?;
        let rows = stmt.query_map([name], |r| {
            Ok(ModelVersion {
                name: r.get(0)?,
                version: r.get(1)?,
                run_id: r.get(2)?,
                run_dir: r.get(3)?,
                stage: parse_stage(r.get(4)?)?,
                created_at: r.get(5)?,
                stage_changed_at: r.get(6)?,
                aliases: Vec::new(),
                tags: BTreeMap::new(),
            })
        })?;
        let mut versions: Vec<ModelVersion> = rows.collect::<rusqlite::Result<_>>()?;
        let mut at: BTreeMap<(String, u32), usize> = versions
            .iter()
            .enumerate()
            .map(|(i, m)| ((m.name.clone(), m.version), i))
            .collect();
        let mut aliases = self.conn.prepare(
            "SELECT name, version, alias FROM model_aliases WHERE ?1 IS NULL OR name = ?1 ORDER BY alias",
        )?;
        let mut tags = self.conn.prepare(
            "SELECT name, version, key, value FROM version_tags WHERE ?1 IS NULL OR name = ?1",
        )?;
        let found = aliases.query_map([name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, None)))?;
        let found = found.chain(tags.query_map([name], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, Some(r.get(3)?)))
        })?);
        for row in found {
            let (n, v, key, value): (String, u32, String, Option<String>) = row?;
            if let Some(i) = at.get_mut(&(n, v)) {
                let m = &mut versions[*i];
                match value {
                    None => m.aliases.push(key),
                    Some(value) => {
                        m.tags.insert(key, value);
                    }
                }
            }
        }
        Ok(versions)
    }

    /// The version a reference names: `NAME@production`, `NAME@staging`,
    /// `NAME@3`, `NAME@ALIAS` (`readmission@champion`), or `NAME` alone for
    /// production.
    pub fn resolve_version(&self, reference: &str) -> Result<ModelVersion> {
        let (name, which) = reference
            .split_once('@')
            .unwrap_or((reference, "production"));
        let versions = self.list_models(Some(name))?;
        let found = match which.parse::<u32>() {
            Ok(v) => versions.into_iter().find(|m| m.version == v),
            Err(_) => match which.parse::<Stage>() {
                // Newest version in that stage (only one can be in production).
                Ok(stage) => versions
                    .into_iter()
                    .filter(|m| m.stage == stage)
                    .max_by_key(|m| m.version),
                Err(_) if versions.is_empty() => None,
                Err(_) => {
                    let known: Vec<&str> = versions
                        .iter()
                        .flat_map(|m| m.aliases.iter().map(String::as_str))
                        .collect();
                    match versions.iter().find(|m| m.aliases.iter().any(|a| a == which)) {
                        Some(m) => Some(m.clone()),
                        None => {
                            return Err(Error::bad_input(
                                format!("registry {}", self.path.display()),
                                Some(format!("model reference {reference}")),
                                format!(
                                    "a version number, a stage (none, staging, production, archived) or an alias of {name} ({})",
                                    if known.is_empty() { "it has none".to_string() } else { known.join(", ") }
                                ),
                                format!("{which:?}"),
                            ))
                        }
                    }
                }
            },
        };
        found.ok_or_else(|| self.not_found("model version", reference))
    }

    /// The run directory behind a model reference (see [`Self::resolve_version`]):
    /// what serving loads.
    pub fn resolve(&self, reference: &str) -> Result<PathBuf> {
        Ok(PathBuf::from(self.resolve_version(reference)?.run_dir))
    }
}
