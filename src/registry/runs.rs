//! Recording, listing, showing and comparing runs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};

use super::{now, Registry};
use crate::artifact::{list_files, read_json, sha256_file, sha256_hex};
use crate::error::{Error, IoContext, Result};
use crate::eval::run_dir::{read_history, read_model_info};

/// Metrics that describe the whole run (not one epoch) are stored at this step.
pub const SUMMARY_STEP: i64 = -1;

/// One line of `runs list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub run_id: String,
    pub experiment: String,
    pub name: String,
    pub run_dir: String,
    pub model_kind: String,
    pub status: String,
    pub recorded_at: String,
    /// Summary metrics (step -1) by key.
    pub metrics: BTreeMap<String, f64>,
}

/// Everything recorded about one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunDetail {
    #[serde(flatten)]
    pub summary: RunSummary,
    pub seed: Option<i64>,
    pub data_path: String,
    pub data_digest: String,
    /// Checksum of the training data's manifest.json, when known.
    pub data_manifest_digest: Option<String>,
    /// Checksum of the run's own manifest.json.
    pub manifest_sha256: Option<String>,
    pub carelab_version: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub params: BTreeMap<String, String>,
    /// Per-epoch metrics: key -> [(step, value)].
    pub history: BTreeMap<String, Vec<(i64, f64)>>,
    /// Artifact path -> (sha256, bytes).
    pub artifacts: BTreeMap<String, (String, i64)>,
}

/// Runs side by side: every param and summary metric key, one value per run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub runs: Vec<String>,
    pub params: BTreeMap<String, Vec<Option<String>>>,
    pub metrics: BTreeMap<String, Vec<Option<f64>>>,
}

/// Flatten a JSON object into dotted keys: numbers to `numbers`, all
/// leaves as text to `texts`.
fn flatten(
    prefix: &str,
    value: &serde_json::Value,
    numbers: &mut BTreeMap<String, f64>,
    texts: &mut BTreeMap<String, String>,
) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, numbers, texts);
            }
        }
        serde_json::Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|f| f.is_finite()) {
                numbers.insert(prefix.to_string(), f);
            }
            texts.insert(prefix.to_string(), n.to_string());
        }
        serde_json::Value::String(s) => {
            texts.insert(prefix.to_string(), s.clone());
        }
        other => {
            texts.insert(prefix.to_string(), other.to_string());
        }
    }
}

/// The stable id of a run directory: its folder name and a short hash of
/// its absolute path, so recording the same directory twice finds one run.
fn run_id_for(canonical: &Path) -> String {
    let name = canonical
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    let digest = sha256_hex(canonical.to_string_lossy().as_bytes());
    format!("{name}-{}", digest.get(..8).unwrap_or(&digest))
}

impl Registry {
    /// Record (or re-record) the run directory `run_dir` under `experiment`;
    /// returns its run id. Idempotent by directory: recording it again
    /// refreshes its rows and keeps its id.
    pub fn record_run(&mut self, run_dir: impl AsRef<Path>, experiment: &str) -> Result<String> {
        let run_dir = run_dir.as_ref();
        let canonical = std::fs::canonicalize(run_dir).at(run_dir)?;
        let model = read_model_info(&canonical.join("model.json"))?;
        let history_path = canonical.join("history.csv");
        let history = if history_path.exists() {
            read_history(&history_path)?
        } else {
            Vec::new()
        };

        let mut summary = BTreeMap::new();
        let mut summary_text = BTreeMap::new();
        let train_metrics_path = canonical.join("train_metrics.json");
        if train_metrics_path.exists() {
            let v: serde_json::Value = read_json(&train_metrics_path)?;
            flatten("", &v, &mut summary, &mut summary_text);
        }
        // An evaluation already written beside the run adds its headline numbers.
        let eval_path = canonical.join("eval").join("eval.json");
        if eval_path.exists() {
            let v: serde_json::Value = read_json(&eval_path)?;
            let split = v
                .get("split")
                .and_then(|s| s.as_str())
                .unwrap_or("test")
                .to_string();
            if let Some(m) = v.get("metrics") {
                flatten(
                    &format!("eval.{split}"),
                    m,
                    &mut summary,
                    &mut BTreeMap::new(),
                );
            }
        }
        let status = summary_text.get("status").cloned().unwrap_or_else(|| {
            if canonical.join("model.safetensors").exists() {
                "finished".into()
            } else {
                "incomplete".into()
            }
        });
        let manifest_path = canonical.join("manifest.json");
        let manifest_sha = if manifest_path.exists() {
            Some(sha256_file(&manifest_path)?)
        } else {
            None
        };
        let mut params = BTreeMap::new();
        flatten(
            "",
            &serde_json::Value::Object(model.params.clone()),
            &mut BTreeMap::new(),
            &mut params,
        );
        let mut artifacts = Vec::new();
        for rel in list_files(&canonical)? {
            let full = canonical.join(&rel);
            let bytes = std::fs::metadata(&full).at(&full)?.len() as i64;
            artifacts.push((
                rel.to_string_lossy().replace('\\', "/"),
                sha256_file(&full)?,
                bytes,
            ));
        }

        let run_dir_text = canonical.to_string_lossy().into_owned();
        let recorded = now();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT OR IGNORE INTO experiments (name, created_at) VALUES (?1, ?2)",
            params![experiment, recorded],
        )?;
        let experiment_id: i64 = tx.query_row(
            "SELECT experiment_id FROM experiments WHERE name = ?1",
            [experiment],
            |r| r.get(0),
        )?;
        let existing: Option<String> = tx
            .query_row(
                "SELECT run_id FROM runs WHERE run_dir = ?1",
                [&run_dir_text],
                |r| r.get(0),
            )
            .optional()?;
        let run_id = existing.unwrap_or_else(|| run_id_for(&canonical));
        for table in ["params", "metrics", "artifacts"] {
            tx.execute(&format!("DELETE FROM {table} WHERE run_id = ?1"), [&run_id])?;
        }
        tx.execute(
            "INSERT INTO runs (run_id, experiment_id, name, run_dir, model_kind, seed, data_path, data_digest,
                               manifest_sha256, carelab_version, status, started_at, finished_at, recorded_at,
                               data_manifest_digest)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
             ON CONFLICT(run_id) DO UPDATE SET
                experiment_id = excluded.experiment_id, name = excluded.name, model_kind = excluded.model_kind,
                seed = excluded.seed, data_path = excluded.data_path, data_digest = excluded.data_digest,
                manifest_sha256 = excluded.manifest_sha256, carelab_version = excluded.carelab_version,
                status = excluded.status, started_at = excluded.started_at, finished_at = excluded.finished_at,
                recorded_at = excluded.recorded_at, data_manifest_digest = excluded.data_manifest_digest",
            params![
                run_id,
                experiment_id,
                canonical.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                run_dir_text,
                model.kind,
                model.seed.map(|s| s as i64),
                model.data_path,
                model.data_digest,
                manifest_sha,
                model.carelab_version,
                status,
                summary_text.get("started_at"),
                summary_text.get("finished_at"),
                recorded,
                Some(model.data_manifest_digest.as_str()).filter(|d| !d.is_empty()),
            ],
        )?;
        for (k, v) in &params {
            tx.execute(
                "INSERT INTO params (run_id, key, value) VALUES (?1, ?2, ?3)",
                params![run_id, k, v],
            )?;
        }
        let insert_metric = |key: &str, step: i64, value: f64| -> Result<()> {
            if value.is_finite() {
                tx.execute(
                    "INSERT OR REPLACE INTO metrics (run_id, key, step, value) VALUES (?1, ?2, ?3, ?4)",
                    params![run_id, key, step, value],
                )?;
            }
            Ok(())
        };
        for e in &history {
            for (key, value) in [
                ("train_loss", e.train_loss),
                ("valid_loss", e.valid_loss),
                ("valid_auroc", e.valid_auroc.unwrap_or(f64::NAN)),
                ("seconds", e.seconds),
                ("samples_per_sec", e.samples_per_sec),
            ] {
                insert_metric(key, e.epoch, value)?;
            }
        }
        for (k, v) in &summary {
            insert_metric(k, SUMMARY_STEP, *v)?;
        }
        for (path, sha, bytes) in &artifacts {
            tx.execute(
                "INSERT INTO artifacts (run_id, path, sha256, bytes) VALUES (?1, ?2, ?3, ?4)",
                params![run_id, path, sha, bytes],
            )?;
        }
        tx.commit()?;
        Ok(run_id)
    }

    /// Find a run by id, by name (when unique) or by directory.
    pub fn find_run(&self, reference: &str) -> Result<String> {
        let by_id: Option<String> = self
            .conn
            .query_row(
                "SELECT run_id FROM runs WHERE run_id = ?1",
                [reference],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = by_id {
            return Ok(id);
        }
        let mut stmt = self
            .conn
            .prepare("SELECT run_id FROM runs WHERE name = ?1 ORDER BY run_id")?;
        let by_name: Vec<String> = stmt
            .query_map([reference], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        match by_name.len() {
            1 => return Ok(by_name.into_iter().next().unwrap_or_default()),
            n if n > 1 => {
                return Err(Error::usage(format!(
                    "run name {reference} is ambiguous ({n} runs: {}); use a run id",
                    by_name.join(", ")
                )))
            }
            _ => {}
        }
        if let Ok(canonical) = std::fs::canonicalize(reference) {
            let by_dir: Option<String> = self
                .conn
                .query_row(
                    "SELECT run_id FROM runs WHERE run_dir = ?1",
                    [canonical.to_string_lossy()],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(id) = by_dir {
                return Ok(id);
            }
        }
        Err(self.not_found("run", reference))
    }

    fn summary_metrics(&self, run_id: &str) -> Result<BTreeMap<String, f64>> {
        let mut stmt = self.conn.prepare(
            "SELECT key, value FROM metrics WHERE run_id = ?1 AND step = ?2 ORDER BY key",
        )?;
        let rows = stmt.query_map(params![run_id, SUMMARY_STEP], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Runs, newest record first (then by id), optionally of one experiment.
    pub fn list_runs(&self, experiment: Option<&str>) -> Result<Vec<RunSummary>> {
        let mut stmt = self.conn.prepare(
            "SELECT r.run_id, e.name, r.name, r.run_dir, r.model_kind, r.status, r.recorded_at
             FROM runs r JOIN experiments e USING (experiment_id)
             WHERE ?1 IS NULL OR e.name = ?1
             ORDER BY r.recorded_at DESC, r.run_id",
        )?;
        let rows = stmt.query_map([experiment], run_summary)?;
        let mut out: Vec<RunSummary> = rows.collect::<rusqlite::Result<_>>()?;
        for run in &mut out {
            run.metrics = self.summary_metrics(&run.run_id)?;
        }
        Ok(out)
    }

    /// Everything about one run.
    pub fn run(&self, reference: &str) -> Result<RunDetail> {
        let run_id = self.find_run(reference)?;
        let mut detail = self.conn.query_row(
            "SELECT r.run_id, e.name, r.name, r.run_dir, r.model_kind, r.status, r.recorded_at,
                    r.seed, r.data_path, r.data_digest, r.manifest_sha256, r.carelab_version, r.started_at, r.finished_at,
                    r.data_manifest_digest
             FROM runs r JOIN experiments e USING (experiment_id) WHERE r.run_id = ?1",
            [&run_id],
            |r| {
                Ok(RunDetail {
                    summary: run_summary(r)?,
                    seed: r.get(7)?,
                    data_path: r.get(8)?,
                    data_digest: r.get(9)?,
                    manifest_sha256: r.get(10)?,
                    carelab_version: r.get(11)?,
                    started_at: r.get(12)?,
                    finished_at: r.get(13)?,
                    data_manifest_digest: r.get(14)?,
                    params: BTreeMap::new(),
                    history: BTreeMap::new(),
                    artifacts: BTreeMap::new(),
                })
            },
        )?;
        detail.summary.metrics = self.summary_metrics(&run_id)?;
        let mut stmt = self
            .conn
            .prepare("SELECT key, value FROM params WHERE run_id = ?1 ORDER BY key")?;
        detail.params = stmt
            .query_map([&run_id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut stmt = self
            .conn
            .prepare("SELECT key, step, value FROM metrics WHERE run_id = ?1 AND step >= 0 ORDER BY key, step")?;
        let rows = stmt.query_map([&run_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, f64>(2)?,
            ))
        })?;
        for row in rows {
            let (k, step, v) = row?;
            detail.history.entry(k).or_default().push((step, v));
        }
        let mut stmt = self
            .conn
            .prepare("SELECT path, sha256, bytes FROM artifacts WHERE run_id = ?1 ORDER BY path")?;
        detail.artifacts = stmt
            .query_map([&run_id], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(detail)
    }

    /// Runs side by side, over the union of their params and summary metrics.
    pub fn compare(&self, references: &[&str]) -> Result<Comparison> {
        let details: Vec<RunDetail> = references
            .iter()
            .map(|r| self.run(r))
            .collect::<Result<_>>()?;
        let param_keys: BTreeSet<&String> = details.iter().flat_map(|d| d.params.keys()).collect();
        let metric_keys: BTreeSet<&String> = details
            .iter()
            .flat_map(|d| d.summary.metrics.keys())
            .collect();
        Ok(Comparison {
            runs: details.iter().map(|d| d.summary.run_id.clone()).collect(),
            params: param_keys
                .into_iter()
                .map(|k| {
                    (
                        k.clone(),
                        details.iter().map(|d| d.params.get(k).cloned()).collect(),
                    )
                })
                .collect(),
            metrics: metric_keys
                .into_iter()
                .map(|k| {
                    (
                        k.clone(),
                        details
                            .iter()
                            .map(|d| d.summary.metrics.get(k).copied())
                            .collect(),
                    )
                })
                .collect(),
        })
    }

    /// The directory a run was recorded from.
    pub fn run_dir(&self, run_id: &str) -> Result<PathBuf> {
        let dir: Option<String> = self
            .conn
            .query_row(
                "SELECT run_dir FROM runs WHERE run_id = ?1",
                [run_id],
                |r| r.get(0),
            )
            .optional()?;
        dir.map(PathBuf::from)
            .ok_or_else(|| self.not_found("run", run_id))
    }
}

/// A run's summary from the first seven columns of a query that selects
/// `run_id, experiment name, name, run_dir, model_kind, status, recorded_at`
/// in that order; metrics are filled in afterwards.
fn run_summary(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunSummary> {
    Ok(RunSummary {
        run_id: r.get(0)?,
        experiment: r.get(1)?,
        name: r.get(2)?,
        run_dir: r.get(3)?,
        model_kind: r.get(4)?,
        status: r.get(5)?,
        recorded_at: r.get(6)?,
        metrics: BTreeMap::new(),
    })
}
