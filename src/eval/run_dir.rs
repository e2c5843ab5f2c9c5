//! Reading a training run directory: the contract between `train` and the
//! stages after it.
//!
//! `runs/<name>/` holds `model.json` (kind, params, feature names, seed, data
//! path and digest, CareLab version), `history.csv` (one row an epoch),
//! `predictions.csv` (one row a stay and split), `train_metrics.json`,
//! `manifest.json` and `model.safetensors`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::artifact::read_json;
use crate::error::{Error, Result};
use crate::formats::named_csv::NamedCsv;

/// One scored stay from `predictions.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub stay_id: String,
    pub patient_id: String,
    pub split: String,
    pub score: f64,
    pub label: bool,
    pub sex: String,
    pub age: f64,
    pub race_ethnicity: String,
    pub payer: String,
}

/// One epoch from `history.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Epoch {
    pub epoch: i64,
    pub train_loss: f64,
    pub valid_loss: f64,
    /// Empty in the file when validation had one class.
    pub valid_auroc: Option<f64>,
    pub seconds: f64,
    pub samples_per_sec: f64,
}

/// What `model.json` says about the model, read leniently: missing keys are
/// empty, unknown keys are kept in `params`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub kind: String,
    pub seed: Option<u64>,
    pub features: Vec<String>,
    pub data_path: String,
    pub data_digest: String,
    /// Checksum of the data's own manifest.json, when the trainer saw one.
    pub data_manifest_digest: String,
    pub carelab_version: String,
    pub params: serde_json::Map<String, serde_json::Value>,
}

pub const PREDICTION_COLUMNS: [&str; 9] = [
    "stay_id",
    "patient_id",
    "split",
    "score",
    "label",
    "sex",
    "age",
    "race_ethnicity",
    "payer",
];

pub const HISTORY_COLUMNS: [&str; 6] = [
    "epoch",
    "train_loss",
    "valid_loss",
    "valid_auroc",
    "seconds",
    "samples_per_sec",
];

/// Read `predictions.csv`. Scores must lie in [0, 1] and labels be 0 or 1;
/// anything else is an error naming the line (a bad score is a bug upstream,
/// not a row to drop quietly).
pub fn read_predictions(path: &Path) -> Result<Vec<Prediction>> {
    let mut csv = NamedCsv::open(path)?;
    let idx = csv.columns(&PREDICTION_COLUMNS)?;
    let mut out = Vec::new();
    for row in csv.rows() {
        let row = row?;
        let score = row.number(idx[3], "score")?;
        if !(0.0..=1.0).contains(&score) {
            return Err(row.bad("score", "a probability in [0, 1]", &score.to_string()));
        }
        let label = match row.text(idx[4], "label")?.as_str() {
            "0" | "0.0" | "false" => false,
            "1" | "1.0" | "true" => true,
            other => return Err(row.bad("label", "0 or 1", other)),
        };
        let split = row.text(idx[2], "split")?;
        if crate::features::Split::from_name(&split).is_none() {
            return Err(row.bad("split", "train, valid, calibration or test", &split));
        }
        out.push(Prediction {
            stay_id: row.text(idx[0], "stay_id")?,
            patient_id: row.text(idx[1], "patient_id")?,
            split,
            score,
            label,
            sex: row.text(idx[5], "sex")?,
            age: row.number(idx[6], "age")?,
            race_ethnicity: row.text(idx[7], "race_ethnicity")?,
            payer: row.text(idx[8], "payer")?,
        });
    }
    Ok(out)
}

/// Read `history.csv`, one row an epoch.
pub fn read_history(path: &Path) -> Result<Vec<Epoch>> {
    let mut csv = NamedCsv::open(path)?;
    let idx = csv.columns(&HISTORY_COLUMNS)?;
    let mut out = Vec::new();
    for row in csv.rows() {
        let row = row?;
        let epoch = row.text(idx[0], "epoch")?;
        out.push(Epoch {
            epoch: epoch
                .parse()
                .map_err(|_| row.bad("epoch", "a whole number", &epoch))?,
            train_loss: row.number(idx[1], "train_loss")?,
            valid_loss: row.number(idx[2], "valid_loss")?,
            valid_auroc: match row.text(idx[3], "valid_auroc")?.as_str() {
                "" => None,
                _ => Some(row.number(idx[3], "valid_auroc")?),
            },
            seconds: row.number(idx[4], "seconds")?,
            samples_per_sec: row.number(idx[5], "samples_per_sec")?,
        });
    }
    Ok(out)
}

/// Read `model.json` leniently (see [`ModelInfo`]).
pub fn read_model_info(path: &Path) -> Result<ModelInfo> {
    let value: serde_json::Value = read_json(path)?;
    let obj = value.as_object().ok_or_else(|| {
        Error::bad_input(path.display(), None, "a JSON object", "another JSON value")
    })?;
    let text = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| obj.get(*k).and_then(|v| v.as_str()))
            .unwrap_or_default()
            .to_string()
    };
    let features = ["features", "feature_names"]
        .iter()
        .find_map(|k| obj.get(*k).and_then(|v| v.as_array()))
        .map(|a| {
            a.iter()
                .map(|v| match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other
                        .get("name")
                        .and_then(|n| n.as_str())
                        .map(str::to_string)
                        .unwrap_or_else(|| other.to_string()),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(ModelInfo {
        kind: text(&["kind", "model"]),
        seed: obj.get("seed").and_then(|v| v.as_u64()),
        features,
        data_path: text(&["data_path", "data"]),
        data_digest: text(&["data_digest", "data_sha256", "data_checksum"]),
        data_manifest_digest: text(&["data_manifest_digest"]),
        carelab_version: text(&["carelab_version", "version"]),
        params: obj
            .get("params")
            .and_then(|v| v.as_object())
            .cloned()
            .unwrap_or_default(),
    })
}
