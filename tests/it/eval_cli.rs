//! `carelab eval` end to end through the binary.

use crate::eval_support;

use std::process::Command;

use eval_support::FakeRun;
use serde_json::Value;

#[test]
fn eval_writes_report_and_prints_json() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("runs/a");
    let truth = FakeRun {
        n: 300,
        ..Default::default()
    }
    .write(&run);
    let out = Command::new(env!("CARGO_BIN_EXE_carelab"))
        .args([
            "--json",
            "eval",
            "--run",
            run.to_str().unwrap(),
            "--bootstrap",
            "20",
            "--threshold",
            "0.2",
        ])
        .args(["--truth", truth.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["n"], 300);
    assert_eq!(v["operating_point"]["threshold"], 0.2);
    let auroc = v["metrics"]["auroc"].as_f64().unwrap();
    assert_eq!(v["bayes"]["bayes_auroc"].as_f64().unwrap(), auroc);
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("eval/eval.json")).unwrap())
            .unwrap();
    assert_eq!(report["metrics"]["auroc"].as_f64().unwrap(), auroc);
    assert!(run.join("eval/plots/roc.png").exists());
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("eval/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["stage"], "eval");
    assert_eq!(manifest["counts"]["rows_test"], 300);
}

#[test]
fn eval_rejects_bad_flags_and_missing_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_carelab");
    let out = Command::new(bin)
        .args(["eval", "--run", tmp.path().join("nope").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("model.json"));
    let run = tmp.path().join("runs/a");
    FakeRun {
        n: 10,
        ..Default::default()
    }
    .write(&run);
    let out = Command::new(bin)
        .args(["eval", "--run", run.to_str().unwrap(), "--threshold", "1.5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--threshold must be between 0 and 1"));
}
