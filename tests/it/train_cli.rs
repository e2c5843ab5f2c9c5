//! `carelab train` end to end: the run directory, determinism, resume after
//! a kill, loading the model back, and clear failures.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use carelab::clinical::analysis::{read_analysis_csv, write_analysis_csv};
use carelab::train::toy::toy_table;
use carelab::train::Model;

const BIN: &str = env!("CARGO_BIN_EXE_carelab");

fn table(dir: &Path, n: usize) -> PathBuf {
    let path = dir.join("analysis.csv");
    write_analysis_csv(&path, &toy_table(n, 11)).unwrap();
    path
}

fn train(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(["--no-progress", "-q", "train"])
        .args(args)
        .output()
        .unwrap()
}

fn ok(out: std::process::Output) -> std::process::Output {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout {}\nstderr {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json(path: PathBuf) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn run_directory_has_every_file_and_the_model_reloads_to_the_same_scores() {
    let dir = tempfile::tempdir().unwrap();
    let data = table(dir.path(), 3000);
    let runs = dir.path().join("runs");
    let out = ok(train(&[
        "--data",
        data.to_str().unwrap(),
        "--model",
        "mlp",
        "--hidden",
        "16,8",
        "--epochs",
        "3",
        "--out",
        runs.to_str().unwrap(),
        "--name",
        "a",
        "--lr",
        "0.01",
    ]));
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid AUROC"));
    let run = runs.join("a");
    for f in [
        "model.safetensors",
        "model.json",
        "trainer_state.json",
        "history.csv",
        "predictions.csv",
        "manifest.json",
        "train_metrics.json",
    ] {
        assert!(run.join(f).is_file(), "missing {f}");
    }
    // history: a header and one line per epoch.
    let history = std::fs::read_to_string(run.join("history.csv")).unwrap();
    let lines: Vec<&str> = history.lines().collect();
    assert_eq!(
        lines[0],
        "epoch,train_loss,valid_loss,valid_auroc,seconds,samples_per_sec"
    );
    assert_eq!(lines.len(), 4);

    // predictions: every row once, and the loaded model gives the same scores.
    let rows = read_analysis_csv(&data).unwrap();
    let mut reader = csv::Reader::from_path(run.join("predictions.csv")).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "stay_id",
            "patient_id",
            "split",
            "score",
            "label",
            "sex",
            "age",
            "race_ethnicity",
            "payer"
        ]
    );
    let recs: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(recs.len(), rows.len());
    let model = Model::load(&run).unwrap();
    let scores = model.score(&rows).unwrap();
    for (rec, s) in recs.iter().zip(&scores) {
        assert_eq!(rec[3].parse::<f64>().unwrap(), *s);
    }
    let splits: std::collections::BTreeSet<&str> = recs.iter().map(|r| r.get(2).unwrap()).collect();
    assert_eq!(
        splits.into_iter().collect::<Vec<_>>(),
        ["calibration", "test", "train", "valid"]
    );
    assert_eq!(model.feature_names().len(), model.info().transform.width());
    assert_eq!(model.info().hidden, vec![16, 8]);

    // The signal is learnable: validation AUROC well above chance. The test
    // split is eval's alone: training reports nothing measured on it.
    let m = json(run.join("train_metrics.json"));
    let valid_auroc = m["valid_auroc"].as_f64().unwrap();
    assert!(valid_auroc > 0.68, "valid AUROC {valid_auroc}");
    assert!(
        m.as_object()
            .unwrap()
            .keys()
            .all(|k| !k.starts_with("test")),
        "{m}"
    );
    assert_eq!(m["final_epoch"], 3);
    let counts = &json(run.join("manifest.json"))["counts"];
    let total: u64 = ["rows_train", "rows_valid", "rows_calibration", "rows_test"]
        .iter()
        .map(|k| counts[*k].as_u64().unwrap())
        .sum();
    assert_eq!(total, 3000);

    // The weights read back with the safetensors crate alone, PyTorch names.
    let bytes = std::fs::read(run.join("model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names = st.names();
    names.sort();
    assert_eq!(
        names,
        [
            "layers.0.bias",
            "layers.0.weight",
            "layers.1.bias",
            "layers.1.weight",
            "layers.2.bias",
            "layers.2.weight"
        ]
    );
    let w0 = st.tensor("layers.0.weight").unwrap();
    assert_eq!(w0.shape(), [16, model.feature_names().len()]);
    assert_eq!(w0.dtype(), safetensors::Dtype::F32);
    assert_eq!(st.tensor("layers.2.weight").unwrap().shape(), [1, 8]);

    // A second run into the same directory is refused, exit 2.
    let again = train(&[
        "--data",
        data.to_str().unwrap(),
        "--out",
        runs.to_str().unwrap(),
        "--name",
        "a",
    ]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--resume"));
}

#[test]
fn same_seed_gives_identical_weights_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let data = table(dir.path(), 1500);
    let runs = dir.path().join("runs");
    for name in ["x", "y"] {
        ok(train(&[
            "--data",
            data.to_str().unwrap(),
            "--model",
            "logreg",
            "--epochs",
            "2",
            "--seed",
            "5",
            "--out",
            runs.to_str().unwrap(),
            "--name",
            name,
        ]));
    }
    let read = |n: &str, f: &str| std::fs::read(runs.join(n).join(f)).unwrap();
    assert_eq!(
        read("x", "model.safetensors"),
        read("y", "model.safetensors")
    );
    assert_eq!(read("x", "predictions.csv"), read("y", "predictions.csv"));
    let (a, b) = (
        json(runs.join("x/train_metrics.json")),
        json(runs.join("y/train_metrics.json")),
    );
    assert_eq!(a["valid_auroc"], b["valid_auroc"]);
    assert_eq!(a["test_loss"], b["test_loss"]);
}

#[test]
fn a_killed_run_resumes_to_the_same_weights_as_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = table(dir.path(), 2000);
    let runs = dir.path().join("runs");
    let common = |name: &str| -> Vec<String> {
        [
            "--data",
            data.to_str().unwrap(),
            "--hidden",
            "8",
            "--epochs",
            "4",
            "--lr",
            "0.01",
            "--out",
            runs.to_str().unwrap(),
            "--name",
            name,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    ok(train(
        &common("whole")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    ));

    let mut child = Command::new(BIN)
        .args([
            "--no-progress",
            "-q",
            "train",
            "--pause-after-epoch-ms",
            "1500",
        ])
        .args(common("cut"))
        .spawn()
        .unwrap();
    let state = runs.join("cut/trainer_state.json");
    let started = Instant::now();
    loop {
        let done = std::fs::read_to_string(&state)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["epochs_done"].as_u64())
            .unwrap_or(0);
        if done >= 2 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no checkpoint");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let cut = json(state.clone());
    assert_eq!(cut["finished"], false);
    assert!(!runs.join("cut/model.safetensors").exists());

    ok(train(&["--resume", runs.join("cut").to_str().unwrap()]));
    let read = |n: &str, f: &str| std::fs::read(runs.join(n).join(f)).unwrap();
    assert_eq!(
        read("whole", "model.safetensors"),
        read("cut", "model.safetensors")
    );
    assert_eq!(
        read("whole", "predictions.csv"),
        read("cut", "predictions.csv")
    );
    let (a, b) = (
        json(runs.join("whole/train_metrics.json")),
        json(runs.join("cut/train_metrics.json")),
    );
    assert_eq!(a["valid_auroc"], b["valid_auroc"]);
    assert_eq!(a["best_epoch"], b["best_epoch"]);
    assert_eq!(json(state)["history"].as_array().unwrap().len(), 4);
}

#[test]
fn cuda_without_the_feature_and_bad_labels_fail_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let data = table(dir.path(), 200);
    let runs = dir.path().join("runs");
    if !cfg!(feature = "cuda") {
        let out = train(&[
            "--data",
            data.to_str().unwrap(),
            "--device",
            "cuda",
            "--out",
            runs.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("scripts/build-cuda.sh") && err.contains("--features cuda"),
            "{err}"
        );
    }
    let mut rows = toy_table(200, 1);
    rows[4].readmit_30d = 3;
    let bad = dir.path().join("bad.csv");
    write_analysis_csv(&bad, &rows).unwrap();
    let out = train(&[
        "--data",
        bad.to_str().unwrap(),
        "--out",
        runs.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 6") && err.contains("readmit_30d"),
        "{err}"
    );
}

#[test]
fn candle_engine_trains_the_same_model_as_the_fused_engine() {
    let dir = tempfile::tempdir().unwrap();
    let data = table(dir.path(), 1000);
    let runs = dir.path().join("runs");
    for engine in ["fused", "candle"] {
        ok(train(&[
            "--data",
            data.to_str().unwrap(),
            "--hidden",
            "8",
            "--epochs",
            "2",
            "--engine",
            engine,
            "--out",
            runs.to_str().unwrap(),
            "--name",
            engine,
        ]));
    }
    let scores = |name: &str| -> Vec<f64> {
        let mut r = csv::Reader::from_path(runs.join(name).join("predictions.csv")).unwrap();
        r.records()
            .map(|rec| rec.unwrap()[3].parse().unwrap())
            .collect()
    };
    let (a, b) = (scores("fused"), scores("candle"));
    assert_eq!(a.len(), 1000);
    let worst = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-3, "largest score difference {worst}");
}
