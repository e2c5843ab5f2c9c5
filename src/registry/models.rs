//! Model versions and their stages.

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
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The version a reference names: `NAME@production`, `NAME@staging`,
    /// `NAME@3`, or `NAME` alone for production.
    pub fn resolve_version(&self, reference: &str) -> Result<ModelVersion> {
        let (name, which) = reference
            .split_once('@')
            .unwrap_or((reference, "production"));
        let versions = self.list_models(Some(name))?;
        let found = match which.parse::<u32>() {
            Ok(v) => versions.into_iter().find(|m| m.version == v),
            Err(_) => {
                let stage: Stage = which.parse()?;
                // Newest version in that stage (only one can be in production).
                versions
                    .into_iter()
                    .filter(|m| m.stage == stage)
                    .max_by_key(|m| m.version)
            }
        };
        found.ok_or_else(|| self.not_found("model version", reference))
    }

    /// The run directory behind a model reference (see [`Self::resolve_version`]):
    /// what serving loads.
    pub fn resolve(&self, reference: &str) -> Result<PathBuf> {
        Ok(PathBuf::from(self.resolve_version(reference)?.run_dir))
    }
}
