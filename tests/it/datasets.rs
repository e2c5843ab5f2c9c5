//! The committed datasets are exactly what the generator makes from their
//! recorded command: regenerate and compare every checksum.

use std::process::Command;

use carelab::artifact::Manifest;

#[test]
fn committed_baseline_regenerates_byte_identically() {
    let committed_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/datasets/baseline");
    let committed = Manifest::read(committed_dir).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("baseline");
    let status = Command::new(env!("CARGO_BIN_EXE_carelab"))
        .args([
            "-q",
            "--no-progress",
            "data",
            "generate",
            "--scenario",
            "baseline",
        ])
        .args([
            "--patients",
            "2000",
            "--seed",
            "42",
            "--formats",
            "parquet",
            "--out",
        ])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let fresh = Manifest::read(&out).unwrap();
    assert_eq!(
        fresh.files, committed.files,
        "regenerated files differ from datasets/baseline"
    );
    assert_eq!(fresh.counts, committed.counts);
    assert!(committed.files.len() >= 10);
    // and the committed files are the ones the manifest describes
    for (rel, sha) in &committed.files {
        let actual = carelab::artifact::sha256_file(format!("{committed_dir}/{rel}")).unwrap();
        assert_eq!(&actual, sha, "{rel} was edited after generation");
    }
}
