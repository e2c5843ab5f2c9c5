//! The committed datasets are exactly what the generator makes from their
//! recorded command: regenerate and compare every checksum.

use std::process::Command;

use carelab::artifact::Manifest;

/// Regenerate `datasets/NAME` with `args` (everything but `--out`) and check
/// the fresh files against the committed manifest, and the committed files
/// against their manifest (nobody edited them after generation). Returns
/// the committed manifest.
fn assert_regenerates(name: &str, args: &[&str]) -> Manifest {
    let committed_dir = format!("{}/datasets/{name}", env!("CARGO_MANIFEST_DIR"));
    let committed = Manifest::read(&committed_dir).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join(name);
    let status = Command::new(env!("CARGO_BIN_EXE_carelab"))
        .args(["-q", "--no-progress", "data", "generate"])
        .args(args)
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let fresh = Manifest::read(&out).unwrap();
    assert_eq!(
        fresh.files, committed.files,
        "regenerated files differ from datasets/{name}"
    );
    assert_eq!(fresh.counts, committed.counts);
    for (rel, sha) in &committed.files {
        let actual = carelab::artifact::sha256_file(format!("{committed_dir}/{rel}")).unwrap();
        assert_eq!(
            &actual, sha,
            "datasets/{name}/{rel} was edited after generation"
        );
    }
    committed
}

#[test]
fn committed_baseline_regenerates_byte_identically() {
    let committed = assert_regenerates(
        "baseline",
        &[
            "--scenario",
            "baseline",
            "--patients",
            "2000",
            "--seed",
            "42",
            "--formats",
            "parquet",
        ],
    );
    assert!(committed.files.len() >= 10);
}

#[test]
fn committed_legacy_messy_silos_regenerate_byte_identically() {
    let committed = assert_regenerates(
        "legacy-messy",
        &[
            "--scenario",
            "legacy-messy",
            "--patients",
            "150",
            "--seed",
            "42",
            "--formats",
            "legacy",
        ],
    );
    // the four silos, their layout, the crosswalk and every defect's truth
    for rel in [
        "legacy/registration.txt",
        "legacy/registration.layout.toml",
        "legacy/labs.hl7",
        "legacy/clinic/bundles.ndjson",
        "legacy/pharmacy.csv",
        "legacy/crosswalk.csv",
        "legacy/pipeline.toml",
        "legacy/truth/defects.csv",
        "legacy/truth/linkage.csv",
    ] {
        assert!(committed.files.contains_key(rel), "{rel} missing");
    }
    assert_eq!(committed.details["patients"], 150);
    // every defect kind the scenario injects is present in so small a set
    for kind in [
        "duplicate_patient",
        "impossible_value",
        "latin1_encoding",
        "local_code",
        "missing_value",
        "mixed_date_format",
        "mixed_unit",
        "placeholder",
        "truncated_record",
    ] {
        let n = committed.counts.get(&format!("legacy_defects_{kind}"));
        assert!(n.is_some_and(|n| *n > 0), "no {kind} defect in the dataset");
    }
}
