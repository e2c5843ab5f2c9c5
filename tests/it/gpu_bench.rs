//! scripts/gpu-bench.sh, the GPU chapter's measurements in one call: its CPU
//! half runs here on small sizes so the script cannot rot before a GPU is
//! lent, and asked for CUDA by a CPU build it must refuse loudly rather than
//! report CPU figures as a GPU run.

use std::path::Path;
use std::process::{Command, Output};

use crate::cli_support::{exe, succeeded};

/// The script on small sizes, with this test build's carelab.
fn gpu_bench(out: &Path, extra: &[&str]) -> Output {
    Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/gpu-bench.sh"))
        .arg("--carelab")
        .arg(exe())
        .arg("--out")
        .arg(out)
        .args(extra)
        .env("GPU_BENCH_ROWS", "400")
        .env("GPU_BENCH_EPOCHS", "1")
        .env("GPU_BENCH_BATCHES", "64,256")
        .env("GPU_BENCH_HIDDEN", "8 16,8")
        .env("GPU_BENCH_PATIENTS", "300")
        .env_remove("OUT")
        .env_remove("CARELAB")
        .output()
        .unwrap()
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn cpu_only_writes_every_figure_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    succeeded(gpu_bench(&out, &["--cpu-only"]));
    let j = read_json(&out.join("gpu-bench.json"));
    assert_eq!(j["ok"], true);
    assert_eq!(j["mode"], "cpu-only");
    assert_eq!(j["settings"]["hidden"], serde_json::json!(["8", "16,8"]));
    assert_eq!(j["doctor"]["features"]["cuda"], cfg!(feature = "cuda"));
    assert!(j["doctor"]["cores"].as_u64().unwrap() >= 1);

    // f32 on both engines and bf16 on candle, for each width and batch size.
    let rows = j["bench_train"].as_array().unwrap();
    assert_eq!(rows.len(), 3 * 2 * 2, "{rows:#?}");
    for r in rows {
        assert_eq!(r["device"], "cpu");
        let sps = r["samples_per_sec"].as_f64().unwrap();
        let secs = r["seconds_per_epoch"].as_f64().unwrap();
        assert!(sps > 0.0 && sps.is_finite(), "{r}");
        assert!((sps * secs - 400.0).abs() < 1e-6, "{r}");
        let vs = r["vs_best_cpu"].as_f64().unwrap();
        assert!(vs > 0.0 && vs <= 1.0, "{r}");
    }
    for hidden in ["8", "16,8"] {
        for batch in [64, 256] {
            let setting: Vec<_> = rows
                .iter()
                .filter(|r| r["hidden"] == hidden && r["batch_size"] == batch)
                .collect();
            assert_eq!(setting.len(), 3);
            assert_eq!(
                setting.iter().filter(|r| r["vs_best_cpu"] == 1.0).count(),
                1,
                "the fastest CPU row of {hidden} at {batch} is 1.0: {setting:#?}"
            );
            assert!(setting
                .iter()
                .any(|r| r["dtype"] == "bf16" && r["engine"] == "candle"));
        }
    }

    let cpu = &j["train"]["cpu"]["metrics"];
    assert_eq!(cpu["device"], "cpu");
    let auroc = cpu["valid_auroc"].as_f64().unwrap();
    assert!(auroc > 0.5 && auroc <= 1.0, "validation AUROC {auroc}");
    assert!(cpu["rows"]["train"].as_u64().unwrap() > 100, "{cpu}");
    assert!(j["train"].get("cuda").is_none());

    let log = std::fs::read_to_string(out.join("gpu-bench.log")).unwrap();
    assert!(log.contains("$ carelab bench train --device cpu --dtype f32,bf16"));
    assert!(log.contains("$ carelab train --data"));
    assert!(std::fs::read_to_string(out.join("bench-train.svg"))
        .unwrap()
        .contains("<svg"));
}

#[cfg(not(feature = "cuda"))]
#[test]
fn asked_for_cuda_a_cpu_build_fails_loudly_before_timing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run = gpu_bench(&out, &[]);
    assert_eq!(run.status.code(), Some(1));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("CUDA was not used: this carelab is not a CUDA build"),
        "{err}"
    );
    let j = read_json(&out.join("gpu-bench.json"));
    assert_eq!(j["ok"], false);
    assert_eq!(j["mode"], "cuda");
    assert!(
        j["error"]
            .as_str()
            .unwrap()
            .contains("build dist/carelab-gpu with scripts/build-cuda.sh, or pass --cpu-only"),
        "{j}"
    );
    let log = std::fs::read_to_string(out.join("gpu-bench.log")).unwrap();
    assert!(!log.contains("bench train"), "{log}");
}
