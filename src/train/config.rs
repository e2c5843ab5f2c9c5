//! Training settings: defaults, then a `train.toml`, then command-line flags.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{toml_error, Error, IoContext, Result};
use crate::features::SplitMethod;

/// The kind of model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// Logistic regression: one linear layer.
    Logreg,
    /// Multi-layer perceptron: linear + ReLU layers, then one linear output.
    #[default]
    Mlp,
}

/// The optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    /// Adam with decoupled weight decay (PyTorch's defaults: betas 0.9/0.999, eps 1e-8).
    #[default]
    Adamw,
    /// Plain stochastic gradient descent; weight decay is added to the gradient.
    Sgd,
}

/// How positive and negative rows are weighted in the loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ClassWeight {
    /// Every row counts the same.
    #[default]
    None,
    /// Each class weighs n / (2 * n_class), as scikit-learn's "balanced".
    Balanced,
}

/// What early stopping and "best epoch" watch on the validation split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Monitor {
    /// Validation AUROC (higher is better).
    #[default]
    Auroc,
    /// Validation log loss (lower is better).
    Loss,
}

/// Where the arithmetic runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    #[default]
    Cpu,
    Cuda,
}

impl DeviceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Cpu => "cpu",
            DeviceKind::Cuda => "cuda",
        }
    }
}

/// Which implementation runs the training steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum EngineKind {
    /// Fused kernels on the CPU, candle on other devices.
    #[default]
    Auto,
    /// Hand-written forward/backward on flat buffers (CPU only).
    Fused,
    /// candle tensors and autograd (any device; slower on the CPU).
    Candle,
}

/// Every setting that changes what training computes. Saved in the run so
/// `--resume` continues with exactly the same settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    pub model: ModelKind,
    /// Hidden layer sizes of the MLP (ignored for logreg).
    pub hidden: Vec<usize>,
    pub epochs: u32,
    pub batch_size: usize,
    pub lr: f64,
    pub weight_decay: f64,
    pub class_weight: ClassWeight,
    /// Stop after this many epochs without improvement; `None` runs every epoch.
    pub early_stopping: Option<u32>,
    pub monitor: Monitor,
    pub optimizer: OptimizerKind,
    pub device: DeviceKind,
    pub engine: EngineKind,
    pub seed: u64,
    pub split: SplitMethod,
    /// A SQL query whose columns (joined on `stay_id`) become extra numeric
    /// features; it runs on `cdm.sqlite` beside the analysis table
    /// (see `features::sql`). `None`: the data dictionary's features only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub features_sql: Option<std::path::PathBuf>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            model: ModelKind::Mlp,
            hidden: vec![64, 32],
            epochs: 10,
            batch_size: 256,
            lr: 1e-3,
            weight_decay: 0.01,
            class_weight: ClassWeight::None,
            early_stopping: None,
            monitor: Monitor::Auroc,
            optimizer: OptimizerKind::Adamw,
            device: DeviceKind::Cpu,
            engine: EngineKind::Auto,
            seed: 42,
            split: SplitMethod::Hash,
            features_sql: None,
        }
    }
}

impl TrainConfig {
    /// Read a `train.toml` (any subset of the fields; unknown keys are errors).
    pub fn from_toml_file(path: &Path) -> Result<TrainConfig> {
        let text = std::fs::read_to_string(path).at(path)?;
        toml::from_str(&text).map_err(|e| toml_error(path, &text, &e))
    }

    /// The hidden sizes actually used: none for logistic regression.
    pub fn hidden_layers(&self) -> Vec<usize> {
        match self.model {
            ModelKind::Logreg => Vec::new(),
            ModelKind::Mlp => self.hidden.clone(),
        }
    }

    /// Reject settings that cannot train, naming the setting.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str, expected: &str, found: String| {
            Err(Error::bad_input(
                "training settings",
                Some(what.to_string()),
                expected,
                found,
            ))
        };
        if self.epochs == 0 {
            return bad("epochs", "at least 1", "0".into());
        }
        if self.batch_size == 0 {
            return bad("batch_size", "at least 1", "0".into());
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad("lr", "a positive number", self.lr.to_string());
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad(
                "weight_decay",
                "zero or a positive number",
                self.weight_decay.to_string(),
            );
        }
        if self.model == ModelKind::Mlp && self.hidden.contains(&0) {
            return bad(
                "hidden",
                "layer sizes of at least 1",
                format!("{:?}", self.hidden),
            );
        }
        if self.early_stopping == Some(0) {
            return bad(
                "early_stopping",
                "a patience of at least 1 epoch",
                "0".into(),
            );
        }
        if self.engine == EngineKind::Fused && self.device != DeviceKind::Cpu {
            return bad("engine", "candle or auto off the CPU", "fused".into());
        }
        Ok(())
    }

    /// Whether training steps run on candle (else the fused CPU kernels).
    pub fn uses_candle(&self) -> bool {
        self.engine == EngineKind::Candle || self.device != DeviceKind::Cpu
    }
}

/// Parse `64,32` into layer sizes (an empty string is no hidden layer).
pub fn parse_hidden(text: &str) -> Result<Vec<usize>> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>().map_err(|_| {
                Error::bad_input(
                    "--hidden",
                    None,
                    "comma-separated layer sizes like 64,32",
                    text,
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_overrides_defaults_and_rejects_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("train.toml");
        std::fs::write(&path, "model = \"logreg\"\nepochs = 3\nlr = 0.05\n").unwrap();
        let c = TrainConfig::from_toml_file(&path).unwrap();
        assert_eq!((c.model, c.epochs, c.lr), (ModelKind::Logreg, 3, 0.05));
        assert_eq!(c.batch_size, 256);
        assert!(c.hidden_layers().is_empty());
        std::fs::write(&path, "epochs = 3\nlearning_rate = 0.1\n").unwrap();
        let err = TrainConfig::from_toml_file(&path).unwrap_err().to_string();
        assert!(
            err.contains("line 2") && err.contains("learning_rate"),
            "{err}"
        );
    }

    #[test]
    fn validation_and_hidden_parsing() {
        assert_eq!(parse_hidden("64, 32").unwrap(), vec![64, 32]);
        assert!(parse_hidden("").unwrap().is_empty());
        assert!(parse_hidden("64,x").is_err());
        let c = TrainConfig {
            epochs: 0,
            ..Default::default()
        };
        assert!(c.validate().unwrap_err().to_string().contains("epochs"));
        assert!(TrainConfig::default().validate().is_ok());
    }
}
