//! A trained model as serving and evaluation see it: load a run directory,
//! score analysis rows with exactly the transform and weights training used.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::config::{ModelKind, TrainConfig};
use super::net::Mlp;
use super::weights;
use crate::clinical::AnalysisRow;
use crate::error::{Error, Result};
use crate::features::Transform;

/// Everything about a trained model except its weights: `model.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub kind: ModelKind,
    pub hidden: Vec<usize>,
    /// Names of the model's input columns, after the transform.
    pub feature_names: Vec<String>,
    pub transform: Transform,
    /// The settings training ran with.
    pub params: TrainConfig,
    pub data_path: String,
    pub data_sha256: String,
    /// Digest of the `manifest.json` beside the table, when there is one.
    pub data_manifest_digest: Option<String>,
    pub seed: u64,
    pub device: String,
    pub carelab_version: String,
    /// The epoch whose weights were kept (best on validation).
    pub best_epoch: u32,
    pub weights_file: String,
}

/// A loaded model: transform + network.
#[derive(Debug, Clone)]
pub struct Model {
    info: ModelInfo,
    mlp: Mlp,
    dir: PathBuf,
}

impl Model {
    /// Load `model.json` and `model.safetensors` from a run directory.
    pub fn load(run_dir: impl AsRef<Path>) -> Result<Model> {
        let dir = run_dir.as_ref().to_path_buf();
        let info: ModelInfo = crate::artifact::read_json(dir.join("model.json"))?;
        let weights_path = dir.join(&info.weights_file);
        let (tensors, _) = weights::load(&weights_path)?;
        let mut mlp = Mlp::zeros(info.feature_names.len(), &info.hidden);
        mlp.params = weights::flat_from(&mlp, &tensors, "", &weights_path)?;
        if info.transform.width() != mlp.inputs() {
            return Err(Error::bad_input(
                dir.join("model.json").display(),
                Some("transform".to_string()),
                format!("{} output columns", mlp.inputs()),
                format!("{}", info.transform.width()),
            ));
        }
        Ok(Model { info, mlp, dir })
    }

    /// Build from parts (training uses this to score with the same code).
    pub fn from_parts(info: ModelInfo, mlp: Mlp, dir: PathBuf) -> Model {
        Model { info, mlp, dir }
    }

    /// Probability of 30-day readmission for each row, in order.
    pub fn score(&self, rows: &[AnalysisRow]) -> Result<Vec<f64>> {
        let x = self.info.transform.apply(rows);
        let scores = self.mlp.predict(&x);
        if let Some(i) = scores.iter().position(|s| !s.is_finite()) {
            return Err(Error::failure(format!(
                "model {} gave a non-finite score for row {}",
                self.dir.display(),
                i + 1
            )));
        }
        Ok(scores)
    }

    /// The input columns the network sees, after the transform.
    pub fn feature_names(&self) -> &[String] {
        &self.info.feature_names
    }

    /// The network (its layer shapes and flat parameters), for export.
    pub fn mlp(&self) -> &Mlp {
        &self.mlp
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    pub fn run_dir(&self) -> &Path {
        &self.dir
    }
}
