//! `carelab doctor --json` on this machine.

use std::process::Command;

use crate::cli_support::succeeded;

#[test]
fn doctor_json_describes_this_machine() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_carelab"))
        .args(["doctor", "--json", "--workspace"])
        .arg(dir.path().join("work"))
        .output()
        .unwrap();
    let out = succeeded(out);
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cores = std::thread::available_parallelism().unwrap().get();
    assert_eq!(r["cores"], cores as u64);
    assert!(r["memory_total_gb"].as_f64().unwrap() > 0.0);
    assert_eq!(r["features"]["cuda"], cfg!(feature = "cuda"));
    if !cfg!(feature = "cuda") {
        assert_eq!(r["cuda"]["built"], false);
        assert!(r["cuda"]["message"]
            .as_str()
            .unwrap()
            .contains("not built with CUDA"));
    }
    assert_eq!(r["workspace"]["writable"], true);
    let labs: Vec<&str> = r["labs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["lab"].as_str().unwrap())
        .collect();
    assert_eq!(&labs[..2], ["00-setup", "01-data"]);
}
