//! `carelab bench serve` reports a figure with its spread: repeated timed
//! runs after an untimed warm-up, their median with the slowest and fastest,
//! the load average around them and the machine.

use std::process::Command;

use crate::cli_support::{exe, succeeded};

#[test]
fn bench_serve_repeats_after_a_warm_up_and_reports_the_median_and_extremes() {
    let dir = tempfile::tempdir().unwrap();
    let out = succeeded(
        Command::new(exe())
            .args(["--json", "--no-progress", "bench", "serve"])
            .args(["--requests", "120", "--connections", "2"])
            .args(["--repeats", "3", "--warmup", "40", "--out"])
            .arg(dir.path())
            .output()
            .unwrap(),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let spread = &v["spread"];
    let runs = spread["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(spread["warmup_requests"], 40);
    // Every timed run sent exactly the requests asked for; the warm-up's
    // are in none of them.
    for r in runs {
        assert_eq!(r["requests"], 120, "{r}");
        assert_eq!(r["status"]["200"], 120, "{r}");
    }
    let mut rates: Vec<f64> = runs
        .iter()
        .map(|r| r["requests_per_sec"].as_f64().unwrap())
        .collect();
    rates.sort_by(f64::total_cmp);
    let rps = &spread["requests_per_sec"];
    assert_eq!(rps["runs"], 3);
    assert_eq!(rps["median"].as_f64().unwrap(), rates[1]);
    assert_eq!(rps["min"].as_f64().unwrap(), rates[0]);
    assert_eq!(rps["max"].as_f64().unwrap(), rates[2]);
    // The top-level figures are the median run's, in full.
    assert_eq!(v["requests_per_sec"].as_f64().unwrap(), rates[1]);
    let p99 = &spread["p99_ms"];
    assert!(p99["min"].as_f64().unwrap() <= p99["median"].as_f64().unwrap());
    assert!(p99["median"].as_f64().unwrap() <= p99["max"].as_f64().unwrap());
    assert!(v["machine"]["cores"].as_u64().unwrap() >= 1);
    if cfg!(target_os = "linux") {
        assert!(spread["load_before"].is_number() && spread["load_after"].is_number());
    }
    // The JSON file says the same.
    let file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("bench-serve.json")).unwrap())
            .unwrap();
    assert_eq!(file["spread"]["requests_per_sec"], *rps);
}

#[test]
fn bench_serve_rejects_zero_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(exe())
        .args([
            "bench",
            "serve",
            "--requests",
            "10",
            "--repeats",
            "0",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--repeats"));
}
