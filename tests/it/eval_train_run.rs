//! The contract with the trainer: a real `carelab train` run directory is
//! evaluated and recorded without any fake files in between.

use std::process::Command;

use carelab::clinical::analysis::write_analysis_csv;
use carelab::eval::{evaluate, write_report, EvalOptions};
use carelab::registry::{Registry, Stage};
use carelab::train::toy::toy_table;

use crate::cli_support::succeeded;

#[test]
fn a_trained_run_evaluates_records_and_resolves() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("analysis.csv");
    write_analysis_csv(&data, &toy_table(1500, 5)).unwrap();
    let runs = dir.path().join("runs");
    let out = Command::new(env!("CARGO_BIN_EXE_carelab"))
        .args([
            "--no-progress",
            "-q",
            "train",
            "--data",
            data.to_str().unwrap(),
        ])
        .args([
            "--model",
            "logreg",
            "--epochs",
            "2",
            "--out",
            runs.to_str().unwrap(),
            "--name",
            "lr",
        ])
        .output()
        .unwrap();
    succeeded(out);
    let run = runs.join("lr");

    let report = evaluate(
        &run,
        &EvalOptions {
            bootstrap: 20,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(
        report.n > 0 && report.n < 1500,
        "test split only: {}",
        report.n
    );
    assert_eq!(report.model.kind, "logreg");
    assert!(!report.model.features.is_empty());
    assert!(!report.model.data_digest.is_empty());
    assert_eq!(report.history.len(), 2);
    let auroc = report.metrics.auroc.unwrap();
    assert!((0.0..=1.0).contains(&auroc));
    write_report(&report, &run.join("eval")).unwrap();

    let mut reg = Registry::open(dir.path().join("registry.db")).unwrap();
    let id = reg.record_run(&run, "toy").unwrap();
    let detail = reg.run(&id).unwrap();
    assert_eq!(detail.summary.model_kind, "logreg");
    assert_eq!(detail.summary.status, "finished");
    assert_eq!(detail.history["train_loss"].len(), 2);
    assert_eq!(detail.summary.metrics["eval.test.auroc"], auroc);
    assert!(
        detail.params.contains_key("epochs"),
        "{:?}",
        detail.params.keys()
    );
    let v = reg.register_model("toy-readmit", &id).unwrap();
    reg.promote("toy-readmit", v, Stage::Production).unwrap();
    assert_eq!(
        reg.resolve("toy-readmit@production").unwrap(),
        std::fs::canonicalize(&run).unwrap()
    );
}

/// `train --target-sensitivity` makes the evaluation that follows training
/// choose its threshold on the calibration split, so the card it writes
/// reports that operating point on test, not a fixed 0.5.
#[test]
fn train_with_a_target_sensitivity_cards_the_chosen_operating_point() {
    use carelab::eval::metrics::{confusion, threshold_for_sensitivity};
    use carelab::eval::run_dir::read_predictions;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("analysis.csv");
    write_analysis_csv(&data, &toy_table(1500, 5)).unwrap();
    let runs = dir.path().join("runs");
    succeeded(
        Command::new(env!("CARGO_BIN_EXE_carelab"))
            .args(["--no-progress", "-q", "train", "--data"])
            .arg(&data)
            .args(["--model", "logreg", "--epochs", "2", "--name", "lr"])
            .args(["--target-sensitivity", "0.8", "--out"])
            .arg(&runs)
            .output()
            .unwrap(),
    );
    let run = runs.join("lr");
    let predictions = read_predictions(&run.join("predictions.csv")).unwrap();
    let split = |name: &str| -> (Vec<f64>, Vec<bool>) {
        predictions
            .iter()
            .filter(|p| p.split == name)
            .map(|p| (p.score, p.label))
            .unzip()
    };
    let (cs, cy) = split("calibration");
    let t = threshold_for_sensitivity(&cs, &cy, 0.8).unwrap();
    let eval: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("eval/eval.json")).unwrap()).unwrap();
    assert_eq!(eval["split"], "test");
    assert_eq!(eval["operating_point"]["threshold"].as_f64().unwrap(), t);
    let (ts, ty) = split("test");
    assert_eq!(
        eval["operating_point"]["tp"].as_u64().unwrap(),
        confusion(&ts, &ty, t).tp
    );
    let card = std::fs::read_to_string(run.join("eval/model_card.md")).unwrap();
    assert!(
        card.contains(&format!("threshold {t:.4}, chosen as the highest threshold reaching sensitivity 0.8 on the calibration split")),
        "{card}"
    );
}
