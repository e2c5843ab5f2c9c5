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
    assert!(j["build"]
        .as_str()
        .unwrap()
        .starts_with("no BUILD.txt beside"));
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

/// The launcher of dist/carelab-gpu, in a folder like the one
/// scripts/build-cuda.sh packs, in front of a stand-in `carelab` that shows
/// its arguments and the library path it was given. A child process writes
/// the stand-in: a file this multi-threaded test process had open for
/// writing could still be open in another test's child when it runs
/// ("text file busy").
fn launcher_folder(dir: &Path) -> std::path::PathBuf {
    let folder = dir.join("carelab-gpu");
    std::fs::create_dir_all(&folder).unwrap();
    let launcher = folder.join("carelab-gpu");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/carelab-gpu-launcher.sh"),
        &launcher,
    )
    .unwrap();
    let made = Command::new("sh")
        .arg("-c")
        .arg(r#"printf '#!/bin/sh\necho "ran $* with $LD_LIBRARY_PATH"\n' >"$1" && chmod +x "$1""#)
        .arg("sh")
        .arg(folder.join("carelab"))
        .status()
        .unwrap();
    assert!(made.success());
    std::fs::write(
        folder.join("needs.txt"),
        "libcuda.so.1\nlibcarelab-absent.so.13\n",
    )
    .unwrap();
    launcher
}

/// The launcher, run by bash (so no file this process wrote is executed).
fn launch(launcher: &Path) -> Command {
    let mut c = Command::new("bash");
    c.arg(launcher);
    c
}

#[test]
fn the_launcher_names_a_missing_library_and_where_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    let launcher = launcher_folder(dir.path());
    let run = launch(&launcher)
        .arg("doctor")
        .env_remove("CARELAB_CUDA_LIBS")
        .env_remove("LD_LIBRARY_PATH")
        .env("HOME", dir.path())
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(127));
    assert!(run.stdout.is_empty(), "carelab must not have run");
    let err = String::from_utf8_lossy(&run.stderr);
    for said in [
        "the loader would not find",
        "libcarelab-absent.so.13",
        "looked in, in this order:",
        "CARELAB_CUDA_LIBS=(unset)",
        "LD_LIBRARY_PATH=(unset)",
        "CUDA toolkits:",
        "Python environments' NVIDIA wheels:",
        "the driver's folders: /usr/local/nvidia/lib64",
        "the system's library cache (ldconfig -p)",
    ] {
        assert!(err.contains(said), "{said:?} missing from:\n{err}");
    }

    // Given a folder that holds both, it runs carelab with that folder first.
    let libs = dir.path().join("libs");
    std::fs::create_dir_all(&libs).unwrap();
    for lib in ["libcuda.so.1", "libcarelab-absent.so.13"] {
        std::fs::write(libs.join(lib), "").unwrap();
    }
    let run = launch(&launcher)
        .args(["doctor", "--json"])
        .env("CARELAB_CUDA_LIBS", &libs)
        .env("LD_LIBRARY_PATH", "/elsewhere")
        .env("HOME", dir.path())
        .output()
        .unwrap();
    let run = succeeded(run);
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        format!("ran doctor --json with {}:/elsewhere\n", libs.display())
    );
}
