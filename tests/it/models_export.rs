//! `carelab models export NAME@ALIAS --format onnx`: the files, the graph's
//! facts read back with prost, the Triton repository; and an independent
//! runtime (onnxruntime, `scripts/onnx-score.py`, after
//! `onnx.checker.check_model`) scoring the committed baseline table as
//! CareLab scores it.
//!
//! The checker is Python: it runs from `$PEERS_VENV/bin/python`. Without it
//! (PEERS_VENV unset, or no onnx/onnxruntime there) that part says so and
//! passes, unless `CARELAB_REQUIRE_CHECKERS=1` (as CI sets).

use std::path::{Path, PathBuf};
use std::process::Command;

use carelab::registry::onnx::ModelProto;
use prost::Message;
use serde_json::Value;

use crate::serve_support::{baseline_table, tiny_model};

/// `$PEERS_VENV/bin/python` when it imports onnx and onnxruntime.
fn onnx_python() -> Option<PathBuf> {
    peer_python("onnx, onnxruntime")
}

/// `$PEERS_VENV/bin/python` when it imports `modules`. Otherwise `None`
/// after printing why, or a panic when `CARELAB_REQUIRE_CHECKERS=1`.
fn peer_python(modules: &str) -> Option<PathBuf> {
    let required = std::env::var("CARELAB_REQUIRE_CHECKERS").as_deref() == Ok("1");
    let missing = |why: String| {
        assert!(!required, "CARELAB_REQUIRE_CHECKERS=1 but {why}");
        eprintln!("skipped: {why} (set PEERS_VENV to a venv with {modules})");
        None
    };
    let Some(venv) = std::env::var_os("PEERS_VENV") else {
        return missing("PEERS_VENV is not set".into());
    };
    let python = Path::new(&venv).join("bin").join("python");
    let imports = Command::new(&python)
        .args(["-c", &format!("import {modules}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !imports {
        return missing(format!("{} cannot import {modules}", python.display()));
    }
    Some(python)
}

#[test]
fn an_aliased_model_exports_to_onnx_and_triton_and_scores_as_carelab_does() {
    let work = tempfile::tempdir().unwrap();
    let run = tiny_model(work.path());
    let registry = work.path().join("registry.db");
    {
        let mut reg = carelab::registry::Registry::open(&registry).unwrap();
        let id = reg.record_run(&run, "exp").unwrap();
        reg.register_model("readmission", &id).unwrap();
        reg.set_alias("readmission", "champion", 1).unwrap();
    }
    let out = work.path().join("export");
    let done = Command::new(env!("CARGO_BIN_EXE_carelab"))
        .args([
            "--json",
            "models",
            "export",
            "readmission@champion",
            "--format",
            "onnx",
            "--out",
        ])
        .arg(&out)
        .env("CARELAB_REGISTRY", &registry)
        .output()
        .unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let report: Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_eq!(report["name"], "readmission");
    assert_eq!(report["version"], "1");
    eprintln!("export took {} s", report["seconds"]);

    // The model, in both places, read back with the same messages.
    let bytes = std::fs::read(out.join("model.onnx")).unwrap();
    assert_eq!(
        bytes,
        std::fs::read(out.join("readmission/1/model.onnx")).unwrap()
    );
    let model = ModelProto::decode(bytes.as_slice()).unwrap();
    assert_eq!(model.opset_import[0].version, 17);
    assert_eq!(model.model_version, 1);
    let meta: std::collections::BTreeMap<&str, &str> = model
        .metadata_props
        .iter()
        .map(|e| (e.key.as_str(), e.value.as_str()))
        .collect();
    let loaded = carelab::train::Model::load(&run).unwrap();
    let columns = loaded.info().transform.input_columns();
    assert_eq!(meta["model_name"], "readmission");
    assert_eq!(meta["model_version"], "1");
    assert_eq!(meta["training_data_sha256"], loaded.info().data_sha256);
    assert_eq!(
        meta["feature_order"],
        serde_json::to_string(&columns).unwrap()
    );
    assert_eq!(report["columns"], serde_json::json!(columns));
    let config = std::fs::read_to_string(out.join("readmission/config.pbtxt")).unwrap();
    assert!(config.contains("name: \"readmission\""), "{config}");
    assert!(
        config.contains("platform: \"onnxruntime_onnx\""),
        "{config}"
    );
    assert!(
        config.contains(&format!("dims: [ {} ]", columns.len())),
        "{config}"
    );

    // An independent runtime scores the baseline table as CareLab does.
    let Some(python) = onnx_python() else {
        return;
    };
    let rows = carelab::clinical::analysis::read_analysis_csv(baseline_table()).unwrap();
    let want = loaded.score(&rows).unwrap();
    let x = loaded.info().transform.input_tensor(&rows);
    // Yes/no columns count as 1 above 0.5, as the transform has them: every
    // other row sends 0.9 and 0.3 for 1 and 0, and must score the same.
    let binary: Vec<usize> = loaded
        .info()
        .transform
        .steps
        .iter()
        .filter_map(|s| match s {
            carelab::features::transform::Step::Binary { feature } => {
                columns.iter().position(|c| c == feature)
            }
            _ => None,
        })
        .collect();
    assert!(!binary.is_empty());
    let json_rows: Vec<Vec<Value>> = (0..x.rows)
        .map(|i| {
            x.row(i)
                .iter()
                .enumerate()
                .map(|(j, v)| match *v {
                    v if v.is_nan() => Value::Null,
                    v if i % 2 == 0 && binary.contains(&j) => {
                        serde_json::json!(if v > 0.5 { 0.9 } else { 0.3 })
                    }
                    v => serde_json::json!(v),
                })
                .collect()
        })
        .collect();
    let missing = x.data.iter().filter(|v| v.is_nan()).count();
    assert!(
        missing > 0,
        "the table should exercise the missing-value path"
    );
    let rows_file = work.path().join("rows.json");
    std::fs::write(&rows_file, serde_json::to_vec(&json_rows).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/onnx-score.py");
    let scored = Command::new(python)
        .arg(script)
        .arg(out.join("readmission/1/model.onnx"))
        .arg(&rows_file)
        .output()
        .unwrap();
    assert!(
        scored.status.success(),
        "{}",
        String::from_utf8_lossy(&scored.stderr)
    );
    let answer: Value = serde_json::from_slice(&scored.stdout).unwrap();
    assert_eq!(answer["opset"], serde_json::json!([17]));
    assert_eq!(answer["dtype"], "float32");
    assert_eq!(answer["metadata"]["model_name"], "readmission");
    assert_eq!(answer["inputs"][0]["name"], "features");
    assert_eq!(
        answer["inputs"][0]["shape"],
        serde_json::json!(["batch", columns.len()])
    );
    assert_eq!(
        answer["outputs"][0]["shape"],
        serde_json::json!(["batch", 1])
    );
    let got: Vec<f64> = serde_json::from_value(answer["probability"].clone()).unwrap();
    assert_eq!(got.len(), want.len());
    let max = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f64, f64::max);
    eprintln!(
        "onnxruntime against CareLab on {} stays: max |difference| {max:e}",
        got.len()
    );
    assert!(max < 1e-5, "max difference {max}");
}

/// `--format mlflow`: a directory MLflow's own loader reads, whose input
/// example it scores as CareLab scores the same stay.
#[test]
fn an_mlflow_export_loads_in_mlflow_and_predicts_its_example_as_carelab_does() {
    let work = tempfile::tempdir().unwrap();
    let run = tiny_model(work.path());
    let registry = work.path().join("registry.db");
    {
        let mut reg = carelab::registry::Registry::open(&registry).unwrap();
        let id = reg.record_run(&run, "exp").unwrap();
        reg.register_model("readmission", &id).unwrap();
        reg.register_model("readmission", &id).unwrap();
        reg.set_alias("readmission", "challenger", 2).unwrap();
    }
    let out = work.path().join("mlflow");
    let done = Command::new(env!("CARGO_BIN_EXE_carelab"))
        .args([
            "--json",
            "models",
            "export",
            "readmission@challenger",
            "--format",
            "mlflow",
            "--out",
        ])
        .arg(&out)
        .env("CARELAB_REGISTRY", &registry)
        .output()
        .unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let report: Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_eq!(report["version"], "2");
    let mlmodel = std::fs::read_to_string(out.join("MLmodel")).unwrap();
    assert!(
        mlmodel.contains("    loader_module: mlflow.onnx\n"),
        "{mlmodel}"
    );
    assert!(mlmodel.contains("    data: model.onnx\n"), "{mlmodel}");
    let model =
        ModelProto::decode(std::fs::read(out.join("model.onnx")).unwrap().as_slice()).unwrap();
    assert_eq!(model.model_version, 2);

    // The example is the guide's stay with its missing numbers at the
    // training medians; CareLab scores that stay.
    let scorer = carelab::serve::load_model(run.to_str().unwrap()).unwrap();
    let loaded = carelab::train::Model::load(&run).unwrap();
    let mut stay = carelab::serve::input::example_request();
    for step in &loaded.info().transform.steps {
        if let carelab::features::transform::Step::Numeric {
            feature, median, ..
        } = step
        {
            if stay.get(feature).is_none_or(Value::is_null) {
                stay[feature.as_str()] = serde_json::json!(f64::from(*median as f32));
            }
        }
    }
    let row = carelab::serve::input::parse_predict(&stay, &scorer.info())
        .unwrap()
        .row;
    let want = scorer.score(&[row]).unwrap()[0];

    let Some(python) = peer_python("mlflow.pyfunc, onnx, onnxruntime") else {
        return;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/mlflow-load.py");
    let loaded = Command::new(python).arg(script).arg(&out).output().unwrap();
    assert!(
        loaded.status.success(),
        "{}",
        String::from_utf8_lossy(&loaded.stderr)
    );
    let answer: Value = serde_json::from_slice(&loaded.stdout).unwrap();
    let width = loaded_width(&report);
    assert_eq!(
        answer["inputs"],
        serde_json::json!([{"name": "features", "type": "tensor",
            "tensor-spec": {"dtype": "float32", "shape": [-1, width]}}])
    );
    assert_eq!(answer["outputs"][0]["name"], "probability");
    assert_eq!(
        answer["flavors"],
        serde_json::json!(["onnx", "python_function"])
    );
    assert_eq!(answer["metadata"]["model_version"], "2");
    assert_eq!(
        answer["example_shape"]["features"],
        serde_json::json!([1, width])
    );
    let got = answer["probability"][0].as_f64().unwrap();
    assert!((got - want).abs() < 1e-5, "mlflow {got}, CareLab {want}");
}

fn loaded_width(report: &Value) -> usize {
    report["columns"].as_array().unwrap().len()
}
