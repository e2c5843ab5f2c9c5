//! Safe Harbor leaves no identifier of the generator's list anywhere in the
//! output tables. The suite runs it on a sample of 2,000 patients (seconds);
//! `DEID_PATIENTS=100000 cargo test --release --test it deid_100k` runs the
//! full size, as `scripts/deid-100k.sh` does with times and memory.

use std::path::Path;
use std::process::Command;

fn carelab(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_carelab"))
        .args(["--no-progress", "-q"])
        .args(args)
        .env_remove("CARELAB_AUDIT_LOG")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

#[test]
fn safe_harbor_leaves_zero_residual_identifiers_at_scale() {
    let patients = std::env::var("DEID_PATIENTS").unwrap_or_else(|_| "2000".into());
    let d = tempfile::tempdir().unwrap();
    let (data, out, key) = (
        d.path().join("data"),
        d.path().join("deid"),
        d.path().join("k"),
    );
    let (code, _) = carelab(&[
        "data",
        "generate",
        "--patients",
        &patients,
        "--formats",
        "csv",
        "--out",
        &s(&data),
    ]);
    assert_eq!(code, 0);
    std::fs::write(&key, "3c".repeat(32)).unwrap();
    let (code, _) = carelab(&[
        "deid",
        "--in",
        &s(&data),
        "--out",
        &s(&out),
        "--mode",
        "safe-harbor",
        "--key-file",
        &s(&key),
    ]);
    assert_eq!(code, 0);
    let mut args = vec!["--json".to_string(), "scan-phi".to_string()];
    for t in carelab::artifact::list_files(&out).unwrap() {
        if t.extension().is_some_and(|e| e == "csv") {
            args.push(s(&out.join(t)));
        }
    }
    args.extend(["--known".into(), s(&data.join("truth/identifiers.csv"))]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, json) = carelab(&args);
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["findings_total"], 0, "{}", report["by_kind"]);
    assert_eq!(code, 0);
    assert!(report["files_scanned"].as_u64().unwrap() >= 7);
}
