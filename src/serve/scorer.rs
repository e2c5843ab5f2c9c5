//! What the server scores with: any model behind the small `Scorer` trait.
//!
//! The server never knows how a model is built. It asks a `Scorer` for risks
//! and for a description (`ModelInfo`) that names the model, its version and
//! the category levels it was trained on, which input validation uses. A
//! trained candle model and the transparent `LinearModel` below both fit.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::clinical::analysis::{AnalysisRow, FeatureKind, FeatureValue, FEATURES};
use crate::error::{Error, Result};

/// A model that turns analysis rows into risks in [0, 1].
pub trait Scorer: Send + Sync {
    /// One risk per row, in order.
    fn score(&self, rows: &[AnalysisRow]) -> Result<Vec<f64>>;
    /// Name, version and the inputs the model knows.
    fn info(&self) -> ModelInfo;
    /// Each feature's additive contribution to the score's log-odds for
    /// one row, for a model whose score decomposes so; `None` for one whose
    /// does not (nothing is made up for it).
    fn contributions(&self, _row: &AnalysisRow) -> Option<Vec<(String, f64)>> {
        None
    }
}

/// What a client and the monitor need to know about the model being served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub name: String,
    pub version: String,
    /// The feature names the model reads, in order.
    pub features: Vec<String>,
    /// Known levels of each categorical feature; a feature absent here
    /// accepts any non-empty string.
    pub levels: BTreeMap<String, Vec<String>>,
    /// The model card (Markdown), when the run has one.
    pub card: Option<String>,
    /// The operating threshold chosen when the model was evaluated
    /// (`eval/eval.json`), when it was; CDS Hooks cards band risks from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operating_point: Option<f64>,
    /// The columns of the model's input tensor, in order (the Open Inference
    /// Protocol's `features` input and the ONNX export's): a numeric or
    /// binary feature by its name, a categorical one as one `name=level`
    /// column a level it knows (one-hot).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
}

/// A logistic model written as JSON: an intercept, one weight a numeric or
/// binary feature and one weight a category level. Missing numbers
/// contribute nothing (they are imputed at the training mean, which is the
/// centre `means` gives). It is the model a learner can read by eye, and the
/// one the server's tests run against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearModel {
    pub name: String,
    pub version: String,
    pub intercept: f64,
    /// Weight per numeric or binary feature, applied to `(x - mean)`.
    #[serde(default)]
    pub weights: BTreeMap<String, f64>,
    /// Centre of each numeric feature (0 when absent).
    #[serde(default)]
    pub means: BTreeMap<String, f64>,
    /// Weight per level of each categorical feature; the listed levels are
    /// the ones the model knows (a level with weight 0 is the reference).
    #[serde(default)]
    pub levels: BTreeMap<String, BTreeMap<String, f64>>,
}

impl LinearModel {
    /// Read a model file, checking every feature it names exists.
    pub fn from_file(path: impl AsRef<Path>) -> Result<LinearModel> {
        let path = path.as_ref();
        let model: LinearModel = crate::artifact::read_json(path)?;
        let known = |name: &str| FEATURES.iter().any(|(f, _)| *f == name);
        for name in model.weights.keys().chain(model.levels.keys()) {
            if !known(name) {
                return Err(Error::bad_input(
                    path.display(),
                    Some(format!("feature {name:?}")),
                    "a feature named in the data dictionary",
                    "an unknown feature",
                ));
            }
        }
        Ok(model)
    }

    fn linear_predictor(&self, row: &AnalysisRow) -> f64 {
        self.intercept + self.terms(row).map(|(_, x)| x).sum::<f64>()
    }

    /// Each feature's term of the linear predictor (0 for a missing number
    /// or an unknown level): the score and its explanation share this code.
    fn terms<'a>(&'a self, row: &'a AnalysisRow) -> impl Iterator<Item = (&'a str, f64)> + 'a {
        let numbers = self.weights.iter().map(move |(name, w)| {
            let x = match row.feature(name) {
                Some(FeatureValue::Num(Some(x))) => {
                    w * (x - self.means.get(name).copied().unwrap_or(0.0))
                }
                _ => 0.0,
            };
            (name.as_str(), x)
        });
        let categories = self.levels.iter().map(move |(name, table)| {
            let x = match row.feature(name) {
                Some(FeatureValue::Cat(level)) => table.get(&level).copied().unwrap_or(0.0),
                _ => 0.0,
            };
            (name.as_str(), x)
        });
        numbers.chain(categories)
    }
}

/// The logistic function, safe for large |z|.
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

impl LinearModel {
    /// The input tensor's columns: every feature of the data dictionary in
    /// its order, a categorical one as a column a level the model weighs (a
    /// categorical it has no levels for has none, and the Open Inference
    /// Protocol refuses the model, saying so).
    fn columns(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (name, kind) in FEATURES {
            match kind {
                FeatureKind::Categorical => {
                    if let Some(levels) = self.levels.get(name) {
                        out.extend(levels.keys().map(|l| format!("{name}={l}")));
                    }
                }
                _ => out.push(name.to_string()),
            }
        }
        out
    }
}

impl Scorer for LinearModel {
    fn score(&self, rows: &[AnalysisRow]) -> Result<Vec<f64>> {
        Ok(rows
            .iter()
            .map(|r| sigmoid(self.linear_predictor(r)))
            .collect())
    }

    fn info(&self) -> ModelInfo {
        let mut features: Vec<String> = self
            .weights
            .keys()
            .chain(self.levels.keys())
            .cloned()
            .collect();
        // Data-dictionary order, so clients see the same order everywhere.
        features.sort_by_key(|f| FEATURES.iter().position(|(n, _)| n == f));
        ModelInfo {
            name: self.name.clone(),
            version: self.version.clone(),
            features,
            levels: self
                .levels
                .iter()
                .map(|(k, v)| (k.clone(), v.keys().cloned().collect()))
                .collect(),
            card: None,
            operating_point: None,
            columns: self.columns(),
        }
    }

    fn contributions(&self, row: &AnalysisRow) -> Option<Vec<(String, f64)>> {
        Some(self.terms(row).map(|(n, x)| (n.to_string(), x)).collect())
    }
}

/// Load the model a `--model` argument names: a linear model JSON file, a
/// run directory, or a registry reference (`NAME@stage`, `NAME@VERSION`,
/// `NAME@ALIAS`; `registry::model_dir`). This is the one place that knows where models
/// come from; the server calls it at start and on every reload.
pub fn load_model(spec: &str) -> Result<Arc<dyn Scorer>> {
    load_model_from(spec, None)
}

/// `load_model` with the registry `NAME@stage` is looked up in (`None`: the
/// default registry, `$CARELAB_REGISTRY` or ./carelab-registry).
pub fn load_model_from(spec: &str, registry: Option<&Path>) -> Result<Arc<dyn Scorer>> {
    let path = Path::new(spec);
    if path.is_file() {
        return Ok(Arc::new(LinearModel::from_file(path)?));
    }
    let dir = crate::registry::model_dir(spec, registry)?;
    let linear = dir.join("linear-model.json");
    if linear.is_file() {
        return Ok(Arc::new(LinearModel::from_file(linear)?));
    }
    Ok(Arc::new(TrainedModel::load(&dir)?))
}

/// A model `carelab train` made: the same transform and network as offline
/// scoring (`train::Model::score`), so serving cannot drift from evaluation.
pub struct TrainedModel {
    model: crate::train::Model,
    info: ModelInfo,
}

impl TrainedModel {
    pub fn load(run_dir: &Path) -> Result<TrainedModel> {
        let model = crate::train::Model::load(run_dir)?;
        let name = run_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".into());
        let weights = run_dir.join(&model.info().weights_file);
        let version = crate::artifact::sha256_file(&weights)?[..12].to_string();
        let card = std::fs::read_to_string(run_dir.join("eval").join("model_card.md")).ok();
        let info = ModelInfo {
            name,
            version,
            features: crate::clinical::FEATURES
                .iter()
                .map(|(n, _)| n.to_string())
                .collect(),
            levels: BTreeMap::new(),
            card,
            operating_point: operating_point(run_dir),
            columns: model.info().transform.input_columns(),
        };
        Ok(TrainedModel { model, info })
    }
}

/// The threshold `carelab eval` chose for a run (its `operating_point`), if
/// the run was evaluated.
pub(crate) fn operating_point(run_dir: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(run_dir.join("eval").join("eval.json")).ok()?;
    let report: serde_json::Value = serde_json::from_str(&text).ok()?;
    report
        .pointer("/operating_point/threshold")?
        .as_f64()
        .filter(|t| (0.0..=1.0).contains(t))
}

impl Scorer for TrainedModel {
    fn score(&self, rows: &[AnalysisRow]) -> Result<Vec<f64>> {
        self.model.score(rows)
    }
    fn info(&self) -> ModelInfo {
        self.info.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn demo() -> LinearModel {
        serde_json::from_value(serde_json::json!({
            "name": "demo", "version": "3", "intercept": -2.0,
            "weights": {"age": 0.03, "chf": 0.8},
            "means": {"age": 65.0},
            "levels": {"sex": {"F": 0.0, "M": 0.2}}
        }))
        .unwrap()
    }

    #[test]
    fn linear_model_scores_by_hand() {
        let m = demo();
        let row = AnalysisRow {
            age: 75.0,
            chf: 1.0,
            sex: "M".into(),
            ..Default::default()
        };
        let z: f64 = -2.0 + 0.03 * 10.0 + 0.8 + 0.2;
        let got = m.score(&[row]).unwrap();
        assert!((got[0] - 1.0 / (1.0 + (-z).exp())).abs() < 1e-12);
        let info = m.info();
        assert_eq!(info.features, vec!["age", "sex", "chf"]);
        assert_eq!(info.levels["sex"], vec!["F", "M"]);
    }

    #[test]
    fn a_run_carries_the_operating_point_its_evaluation_chose() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(operating_point(dir.path()), None);
        std::fs::create_dir(dir.path().join("eval")).unwrap();
        let eval = dir.path().join("eval").join("eval.json");
        std::fs::write(
            &eval,
            r#"{"operating_point": {"threshold": 0.23, "tp": 4}}"#,
        )
        .unwrap();
        assert_eq!(operating_point(dir.path()), Some(0.23));
        std::fs::write(&eval, r#"{"operating_point": {"threshold": 7}}"#).unwrap();
        assert_eq!(operating_point(dir.path()), None, "not a probability");
    }

    #[test]
    fn linear_contributions_add_up_to_the_linear_predictor() {
        let m = demo();
        let row = AnalysisRow {
            age: 75.0,
            chf: 1.0,
            sex: "M".into(),
            ..Default::default()
        };
        let c = m.contributions(&row).unwrap();
        let total: f64 = c.iter().map(|(_, x)| x).sum();
        assert!((m.intercept + total - m.linear_predictor(&row)).abs() < 1e-12);
        assert!(c.contains(&("chf".to_string(), 0.8)));
    }

    #[test]
    fn sigmoid_is_stable() {
        assert_eq!(sigmoid(0.0), 0.5);
        assert!(sigmoid(-1000.0) >= 0.0 && sigmoid(-1000.0) < 1e-300);
        assert_eq!(sigmoid(1000.0), 1.0);
    }
}
