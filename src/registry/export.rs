//! `carelab models export`: a model as files other tools load.
//!
//! `onnx` writes `OUT/model.onnx` (see [`super::onnx`]) and a Triton model
//! repository beside it: `OUT/NAME/config.pbtxt` and `OUT/NAME/1/model.onnx`,
//! so `tritonserver --model-repository OUT` serves it over the same Open
//! Inference Protocol `carelab serve` speaks, with the same input tensor.
//!
//! `mlflow` writes an MLflow model directory around the same graph: an
//! `MLmodel` file with the `onnx` and `python_function` flavours, a tensor
//! signature, and an input example (the guide's example stay, its missing
//! numbers at the training medians: JSON has no NaN), so
//! `mlflow.pyfunc.load_model(OUT)` loads it.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::onnx;
use crate::artifact::{sha256_file, write_atomic};
use crate::error::{Error, IoContext, Result};

/// What an export wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Exported {
    pub name: String,
    pub version: String,
    pub run_dir: PathBuf,
    /// The input tensor's columns, in order.
    pub columns: Vec<String>,
    pub files: Vec<PathBuf>,
}

/// The model a reference names: its registry name and version, or for a
/// run directory outside the registry, the directory's name and the
/// weights' digest (what `carelab serve` calls it).
fn identify(spec: &str, registry: Option<&Path>) -> Result<(String, String, PathBuf)> {
    let path = Path::new(spec);
    if spec.contains('@') && !path.exists() {
        let reg = super::Registry::open(
            registry.map_or_else(super::Registry::default_path, Path::to_path_buf),
        )?;
        let v = reg.resolve_version(spec)?;
        return Ok((v.name, v.version.to_string(), PathBuf::from(v.run_dir)));
    }
    let dir = super::model_dir(spec, registry)?;
    let name = dir
        .canonicalize()
        .unwrap_or_else(|_| dir.clone())
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    Ok((name, String::new(), dir))
}

/// A model made ready for export: who it is and its ONNX bytes.
struct Prepared {
    name: String,
    version: String,
    run_dir: PathBuf,
    model: crate::train::Model,
    columns: Vec<String>,
    bytes: Vec<u8>,
}

fn prepare(spec: &str, registry: Option<&Path>) -> Result<Prepared> {
    let (name, version, run_dir) = identify(spec, registry)?;
    check_name(&name)?;
    let model = crate::train::Model::load(&run_dir)?;
    let info = model.info();
    let weights_sha256 = sha256_file(run_dir.join(&info.weights_file))?;
    let version = if version.is_empty() {
        weights_sha256[..12].to_string()
    } else {
        version
    };
    let facts = onnx::Facts {
        name: name.clone(),
        version: version.clone(),
        data_sha256: info.data_sha256.clone(),
        extra: vec![
            ("run".into(), run_dir.display().to_string()),
            ("weights_sha256".into(), weights_sha256),
            (
                "model_kind".into(),
                format!("{:?}", info.kind).to_lowercase(),
            ),
            (
                "output".into(),
                "probability of readmission within 30 days of discharge".into(),
            ),
        ],
    };
    let bytes = onnx::model_bytes(&info.transform, model.mlp(), &facts);
    let columns = info.transform.input_columns();
    Ok(Prepared {
        name,
        version,
        run_dir,
        model,
        columns,
        bytes,
    })
}

/// Export the model `spec` names as ONNX with a Triton repository in `out`.
pub fn export_onnx(spec: &str, registry: Option<&Path>, out: &Path) -> Result<Exported> {
    let p = prepare(spec, registry)?;
    let triton = out.join(&p.name);
    let version_dir = triton.join("1");
    std::fs::create_dir_all(&version_dir).at(&version_dir)?;
    let files = vec![
        out.join("model.onnx"),
        version_dir.join("model.onnx"),
        triton.join("config.pbtxt"),
    ];
    write_atomic(&files[0], &p.bytes)?;
    write_atomic(&files[1], &p.bytes)?;
    write_atomic(
        &files[2],
        triton_config(&p.name, p.columns.len()).as_bytes(),
    )?;
    Ok(Exported {
        name: p.name,
        version: p.version,
        run_dir: p.run_dir,
        columns: p.columns,
        files,
    })
}

/// Export the model `spec` names as an MLflow model directory in `out`.
pub fn export_mlflow(spec: &str, registry: Option<&Path>, out: &Path) -> Result<Exported> {
    let p = prepare(spec, registry)?;
    std::fs::create_dir_all(out).at(out)?;
    let info = p.model.info();
    // The guide's example stay, its missing numbers at the training medians.
    let example = info
        .transform
        .input_tensor(&[crate::serve::input::example_row()]);
    let mut row = example.data;
    let mut at = 0;
    for step in &info.transform.steps {
        match step {
            crate::features::transform::Step::Numeric { median, .. } => {
                if row[at].is_nan() {
                    row[at] = *median as f32;
                }
                at += 1;
            }
            crate::features::transform::Step::Binary { .. } => at += 1,
            crate::features::transform::Step::OneHot { levels, .. } => at += levels.len(),
        }
    }
    let tensor = |name: &str, width: usize| {
        serde_json::json!([{"type": "tensor", "name": name,
            "tensor-spec": {"dtype": "float32", "shape": [-1, width]}}])
        .to_string()
    };
    let carelab = serde_json::json!({
        "model_name": p.name,
        "model_version": p.version,
        "feature_order": p.columns,
        "training_data_sha256": info.data_sha256,
    });
    // JSON is YAML: the nested values need no YAML quoting of their own.
    let mlmodel = format!(
        "flavors:
  onnx:
    code: null
    data: model.onnx
    onnx_session_options: null
    providers:
    - CPUExecutionProvider
  python_function:
    data: model.onnx
    loader_module: mlflow.onnx
metadata: {carelab}
model_uuid: {uuid}
signature:
  inputs: {inputs}
  outputs: {outputs}
  params: null
saved_input_example_info:
  artifact_path: input_example.json
  serving_input_path: serving_input_example.json
  type: ndarray
utc_time_created: '{now}'
",
        uuid = &sha256_file_bytes(&p.bytes)[..32],
        inputs = serde_json::to_string(&tensor(oip_input(), p.columns.len()))?,
        outputs = serde_json::to_string(&tensor("probability", 1))?,
        now = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S%.6f"),
    );
    let example = serde_json::json!({ oip_input(): [row] });
    let files = vec![
        out.join("MLmodel"),
        out.join("model.onnx"),
        out.join("input_example.json"),
        out.join("serving_input_example.json"),
        out.join("requirements.txt"),
    ];
    write_atomic(&files[0], mlmodel.as_bytes())?;
    write_atomic(&files[1], &p.bytes)?;
    write_atomic(&files[2], serde_json::to_string(&example)?.as_bytes())?;
    write_atomic(
        &files[3],
        serde_json::to_string_pretty(&serde_json::json!({ "inputs": example }))?.as_bytes(),
    )?;
    write_atomic(&files[4], b"onnx\nonnxruntime\nnumpy\n")?;
    Ok(Exported {
        name: p.name,
        version: p.version,
        run_dir: p.run_dir,
        columns: p.columns,
        files,
    })
}

fn oip_input() -> &'static str {
    crate::serve::oip::INPUT
}

fn sha256_file_bytes(bytes: &[u8]) -> String {
    crate::artifact::sha256_hex(bytes)
}

/// Triton's model configuration: the ONNX Runtime backend, the batch
/// dimension Triton's own (dynamic batching up to 256 rows), and the input
/// and output as `carelab serve` names them.
fn triton_config(name: &str, width: usize) -> String {
    format!(
        r#"name: "{name}"
platform: "onnxruntime_onnx"
max_batch_size: 256
input [
  {{
    name: "features"
    data_type: TYPE_FP32
    dims: [ {width} ]
  }}
]
output [
  {{
    name: "probability"
    data_type: TYPE_FP32
    dims: [ 1 ]
  }}
]
dynamic_batching {{ }}
version_policy: {{ latest: {{ num_versions: 1 }} }}
"#
    )
}

/// A name Triton and file systems take as a directory.
pub fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.starts_with('.') || name.contains(['/', '\\']) {
        return Err(Error::usage(format!(
            "cannot export model {name:?}: its name is no directory name"
        )));
    }
    Ok(())
}
