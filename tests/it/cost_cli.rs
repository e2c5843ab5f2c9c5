//! `carelab cost` and `carelab cost roi` on a real run: the figures follow
//! the documented formulas from the run's own files.

use std::path::Path;
use std::process::{Command, Output};

use carelab::clinical::analysis::write_analysis_csv;
use carelab::eval::metrics::confusion;
use carelab::eval::run_dir::read_predictions;
use carelab::train::toy::toy_table;

const BIN: &str = env!("CARGO_BIN_EXE_carelab");

fn carelab(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(["--no-progress", "-q"])
        .args(args)
        .output()
        .unwrap()
}

fn json_of(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn trained_run(dir: &Path) -> std::path::PathBuf {
    let data = dir.join("analysis.csv");
    write_analysis_csv(&data, &toy_table(2000, 5)).unwrap();
    let runs = dir.join("runs");
    let out = carelab(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--model",
        "logreg",
        "--epochs",
        "3",
        "--out",
        runs.to_str().unwrap(),
        "--name",
        "r",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    runs.join("r")
}

#[test]
fn cost_and_roi_follow_the_formulas() {
    let dir = tempfile::tempdir().unwrap();
    let run = trained_run(dir.path());
    let run_s = run.to_str().unwrap();

    let v = json_of(&carelab(&[
        "--json",
        "cost",
        "--run",
        run_s,
        "--cpu-hourly",
        "3.6",
        "--capex",
        "8760",
        "--years",
        "2",
        "--utilisation",
        "0.5",
        "--power-watts",
        "500",
        "--kwh-price",
        "0.2",
        "--idle-watts",
        "100",
    ]));
    let c = &v["cost"];
    // 8760 / (2 × 8760 × 0.5) + (500 + 100 × 1) / 1000 × 0.2
    assert!((c["on_prem_hourly"].as_f64().unwrap() - 1.12).abs() < 1e-9);
    let secs = c["train_seconds"].as_f64().unwrap();
    assert!(secs > 0.0);
    assert!((c["cloud_train_cost"].as_f64().unwrap() - secs / 3600.0 * 3.6).abs() < 1e-12);
    let per_s = c["predictions_per_second"].as_f64().unwrap();
    assert!(per_s > 100.0, "scoring throughput {per_s}");
    let per_k = c["cloud_per_1000_predictions"].as_f64().unwrap();
    assert!((per_k - 1000.0 / per_s / 3600.0 * 3.6).abs() < 1e-12);
    // The speed is measured once and reused: a second call prices the same
    // figure, and --remeasure measures again.
    assert!(v["throughput_source"]
        .as_str()
        .unwrap()
        .starts_with("measured now"));
    let again = json_of(&carelab(&["--json", "cost", "--run", run_s]));
    assert_eq!(
        again["cost"]["predictions_per_second"].as_f64().unwrap(),
        per_s
    );
    assert!(again["throughput_source"]
        .as_str()
        .unwrap()
        .starts_with("reused from"));
    let fresh = json_of(&carelab(&["--json", "cost", "--run", run_s, "--remeasure"]));
    assert!(fresh["throughput_source"]
        .as_str()
        .unwrap()
        .starts_with("measured now"));
    assert_eq!(fresh["inference_device"], "cpu");

    let v = json_of(&carelab(&[
        "--json",
        "cost",
        "roi",
        "--run",
        run_s,
        "--threshold",
        "0.3",
        "--readmission-cost",
        "10000",
        "--intervention-cost",
        "400",
        "--effectiveness",
        "0.3",
    ]));
    // recompute from the predictions file with the evaluation's confusion matrix
    let test: Vec<_> = read_predictions(&run.join("predictions.csv"))
        .unwrap()
        .into_iter()
        .filter(|p| p.split == "test")
        .collect();
    let scores: Vec<f64> = test.iter().map(|p| p.score).collect();
    let labels: Vec<bool> = test.iter().map(|p| p.label).collect();
    let m = confusion(&scores, &labels, 0.3);
    let n = test.len() as f64;
    let flagged = 1000.0 * (m.tp + m.fp) as f64 / n;
    let net = 1000.0 * m.tp as f64 / n * 0.3 * 10000.0 - flagged * 400.0;
    let chosen = &v["chosen"];
    assert!((chosen["flagged_per_1000"].as_f64().unwrap() - flagged).abs() < 1e-9);
    assert!((chosen["net_per_1000"].as_f64().unwrap() - net).abs() < 1e-6);
    let ppv = m.ppv.unwrap();
    assert!(
        (chosen["break_even_intervention_cost"].as_f64().unwrap() - ppv * 0.3 * 10000.0).abs()
            < 1e-9
    );
    assert!(run.join("cost/roi.svg").exists() && run.join("cost/roi.png").exists());
    // The costs are written down as the assumptions they are.
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("cost/roi.json")).unwrap()).unwrap();
    assert_eq!(
        saved["assumptions"],
        serde_json::json!({"readmission_cost": 10000.0, "intervention_cost": 400.0, "effectiveness": 0.3})
    );
    let text = String::from_utf8_lossy(
        &carelab(&[
            "cost",
            "roi",
            "--run",
            run_s,
            "--threshold",
            "0.3",
            "--bootstrap",
            "0",
        ])
        .stdout,
    )
    .into_owned();
    assert!(
        text.contains("Assumptions, not measurements")
            && text.contains("--readmission-cost")
            && text.contains("payer"),
        "{text}"
    );
    // The test split prices a threshold; it never recommends one.
    assert!(v.get("best").is_none(), "{v}");
    let source = v["threshold_source"].as_str().unwrap();
    assert!(
        source.starts_with("given") && source.contains("never chooses one"),
        "{source}"
    );
    // Intervals resample patients: their count is the test split's patients,
    // and the net savings interval holds the estimate.
    let patients: std::collections::BTreeSet<&str> =
        test.iter().map(|p| p.patient_id.as_str()).collect();
    let ci = &v["intervals"];
    assert_eq!(ci["patients"].as_u64().unwrap() as usize, patients.len());
    assert_eq!(ci["stays"].as_u64().unwrap() as usize, test.len());
    let (lo, hi) = (
        ci["net_per_1000"]["lower"].as_f64().unwrap(),
        ci["net_per_1000"]["upper"].as_f64().unwrap(),
    );
    assert!(lo < net && net < hi, "{net} outside {lo}..{hi}");
    assert_eq!(ci["band"].as_array().unwrap().len(), 99);
}

/// Without --threshold, cost roi chooses one on the calibration split (the
/// best net savings within the capacity) and prices it on test.
#[test]
fn roi_chooses_its_threshold_on_calibration_within_capacity() {
    let dir = tempfile::tempdir().unwrap();
    let run = trained_run(dir.path());
    let run_s = run.to_str().unwrap();
    let split = |name: &str| -> (Vec<f64>, Vec<bool>) {
        read_predictions(&run.join("predictions.csv"))
            .unwrap()
            .into_iter()
            .filter(|p| p.split == name)
            .map(|p| (p.score, p.label))
            .unzip()
    };
    let (vs, vy) = split("calibration");
    for capacity in [1.0, 0.1] {
        let v = json_of(&carelab(&[
            "--json",
            "cost",
            "roi",
            "--run",
            run_s,
            "--capacity",
            &capacity.to_string(),
            "--bootstrap",
            "50",
        ]));
        // recompute the choice by hand on the calibration split
        let mut best: Option<(f64, f64)> = None;
        for i in 1..100 {
            let t = f64::from(i) / 100.0;
            let m = confusion(&vs, &vy, t);
            let n = vs.len() as f64;
            let flagged = 1000.0 * (m.tp + m.fp) as f64 / n;
            let net = 1000.0 * m.tp as f64 / n * 0.25 * 15000.0 - flagged * 500.0;
            if flagged <= capacity * 1000.0 + 1e-9 && net > 0.0 && best.is_none_or(|b| net > b.1) {
                best = Some((t, net));
            }
        }
        let (t, _) = best.expect("a threshold that saves money on calibration");
        let chosen = v["chosen"]["threshold"].as_f64().unwrap();
        assert!(
            (chosen - t).abs() < 1e-12,
            "capacity {capacity}: {chosen} vs {t}"
        );
        assert!(v["threshold_source"]
            .as_str()
            .unwrap()
            .starts_with("chosen on the calibration split"));
        // and the figures are the test split's at that threshold
        let (ts, ty) = split("test");
        let m = confusion(&ts, &ty, t);
        let flagged = 1000.0 * (m.tp + m.fp) as f64 / ts.len() as f64;
        assert!((v["chosen"]["flagged_per_1000"].as_f64().unwrap() - flagged).abs() < 1e-9);
        assert_eq!(v["over_capacity"], flagged > capacity * 1000.0 + 1e-9);
    }
    let out = carelab(&["cost", "roi", "--run", run_s, "--capacity", "0.0001"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--capacity"));
}

#[test]
fn bad_cost_arguments_are_clear() {
    let out = carelab(&["cost", "roi", "--run", "nowhere", "--threshold", "1.5"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--threshold"));
    let out = carelab(&["cost", "--run", "no-such-run"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("train_metrics.json"));
}
