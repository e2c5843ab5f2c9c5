//! `carelab data generate` end to end: determinism, shards, round trips,
//! statistical sanity and clear errors.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use carelab::artifact::Manifest;
use carelab::clinical::{AnalysisRow, Encounter, Observation, Patient};
use carelab::formats::table::read_table;

fn carelab(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_carelab"))
        .args(args)
        .output()
        .expect("run carelab")
}

fn generate(out: &Path, extra: &[&str]) -> Manifest {
    let mut args = vec!["-q", "--no-progress", "data", "generate", "--out"];
    let out_s = out.to_str().unwrap();
    args.push(out_s);
    args.extend_from_slice(extra);
    let o = carelab(&args);
    assert!(
        o.status.success(),
        "generate failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    Manifest::read(out).unwrap()
}

#[test]
fn same_seed_gives_identical_files_and_another_seed_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let a = generate(&dir.path().join("a"), &["--patients", "150", "--seed", "3"]);
    let b = generate(&dir.path().join("b"), &["--patients", "150", "--seed", "3"]);
    let c = generate(&dir.path().join("c"), &["--patients", "150", "--seed", "4"]);
    assert_eq!(a, b);
    assert!(a.files.contains_key("patients.csv"));
    assert!(a.files.contains_key("observations.parquet"));
    assert!(a.files.contains_key("analysis.csv"));
    assert!(a.files.contains_key("truth/stays.csv"));
    assert_ne!(a.files["patients.csv"], c.files["patients.csv"]);
    assert_eq!(a.counts["patients"], 150);
    assert_eq!(a.counts["stays"], a.counts["encounters"]);
}

#[test]
fn the_files_do_not_depend_on_the_thread_count_and_the_manifest_checksums_them() {
    // more runs of 32 patients than the workers may make ahead of the
    // writer (96), so that with 4 threads runs arrive out of order and
    // workers wait for the writer
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, threads: &str| {
        let out = dir.path().join(name);
        let o = Command::new(env!("CARGO_BIN_EXE_carelab"))
            .env("RAYON_NUM_THREADS", threads)
            .args([
                "-q",
                "--no-progress",
                "data",
                "generate",
                "--patients",
                "3300",
            ])
            .args(["--seed", "5", "--formats", "csv", "--out"])
            .arg(&out)
            .output()
            .expect("run carelab");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        (out.clone(), Manifest::read(&out).unwrap())
    };
    let (_, one) = run("one", "1");
    let (out, four) = run("four", "4");
    assert_eq!(one.files, four.files);
    assert_eq!(one.counts["patients"], 3300);
    // the checksums were taken while writing: they are the files' own
    assert_eq!(four.files.len(), 10);
    for (file, sha) in &four.files {
        assert_eq!(
            &carelab::artifact::sha256_file(out.join(file)).unwrap(),
            sha,
            "{file}"
        );
    }
}

#[test]
fn csv_and_parquet_read_back_to_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("g");
    let m = generate(&out, &["--patients", "120", "--formats", "csv,parquet"]);
    let p_csv: Vec<Patient> = read_table(out.join("patients.csv")).unwrap();
    let p_pq: Vec<Patient> = read_table(out.join("patients.parquet")).unwrap();
    assert_eq!(p_csv.len(), 120);
    assert_eq!(p_csv, p_pq);
    let e_csv: Vec<Encounter> = read_table(out.join("encounters.csv")).unwrap();
    let e_pq: Vec<Encounter> = read_table(out.join("encounters.parquet")).unwrap();
    assert_eq!(e_csv, e_pq);
    let o_csv: Vec<Observation> = read_table(out.join("observations.csv")).unwrap();
    let o_pq: Vec<Observation> = read_table(out.join("observations.parquet")).unwrap();
    assert_eq!(o_csv.len() as u64, m.counts["observations"]);
    assert_eq!(o_csv, o_pq);
    // times and dates are Parquet timestamps and dates, not numbers or text
    for (file, column, logical) in [
        ("encounters", "admit_time", "Timestamp"),
        ("encounters", "discharge_time", "Timestamp"),
        ("patients", "birth_date", "Date"),
        ("analysis", "admit_time", "Timestamp"),
        ("analysis", "discharge_time", "Timestamp"),
    ] {
        let types = crate::cdm::logical_types(&out.join(format!("{file}.parquet")));
        assert!(
            types[column].starts_with(logical),
            "{file}.{column}: {}",
            types[column]
        );
    }
    let a_csv: Vec<AnalysisRow> = read_table(out.join("analysis.csv")).unwrap();
    let a_pq: Vec<AnalysisRow> = read_table(out.join("analysis.parquet")).unwrap();
    assert_eq!(a_csv, a_pq);
    // the shared reader in clinical agrees with ours
    let a_clin = carelab::clinical::analysis::read_analysis_csv(out.join("analysis.csv")).unwrap();
    assert_eq!(a_csv, a_clin);
}

#[test]
fn shards_are_disjoint_and_their_union_is_the_whole() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--patients", "90", "--seed", "11", "--formats", "csv"];
    let whole = dir.path().join("whole");
    generate(&whole, &args);
    let mut union: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for i in 0..3 {
        let out = dir.path().join(format!("s{i}"));
        let shard = format!("{i}/3");
        let mut a = args.to_vec();
        a.extend_from_slice(&["--shard", &shard]);
        generate(&out, &a);
        for table in [
            "patients",
            "encounters",
            "observations",
            "medications",
            "analysis",
        ] {
            let text = std::fs::read_to_string(out.join(format!("{table}.csv"))).unwrap();
            union
                .entry(table)
                .or_default()
                .extend(text.lines().skip(1).map(String::from));
        }
    }
    for (table, mut rows) in union {
        let text = std::fs::read_to_string(whole.join(format!("{table}.csv"))).unwrap();
        let mut expected: Vec<String> = text.lines().skip(1).map(String::from).collect();
        rows.sort();
        expected.sort();
        assert_eq!(rows.len(), expected.len(), "{table}");
        assert!(rows == expected, "{table}: union of shards differs");
    }
}

#[test]
fn bad_scenarios_and_flags_exit_2_naming_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let out_s = out.to_str().unwrap();
    let base = carelab::synth::scenario::BUILT_IN[0].1;

    let unknown = dir.path().join("unknown.toml");
    std::fs::write(
        &unknown,
        base.replace("age_sd = 17.0", "age_sd = 17.0\nage_spread = 3"),
    )
    .unwrap();
    let o = carelab(&[
        "data",
        "generate",
        "--scenario",
        unknown.to_str().unwrap(),
        "--out",
        out_s,
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("age_spread") && err.contains("line 17"),
        "{err}"
    );

    let wrong = dir.path().join("wrong.toml");
    std::fs::write(
        &wrong,
        base.replace("female_share = 0.52", "female_share = \"half\""),
    )
    .unwrap();
    let o = carelab(&[
        "data",
        "generate",
        "--scenario",
        wrong.to_str().unwrap(),
        "--out",
        out_s,
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("line 17") && err.contains("wrong.toml"),
        "{err}"
    );

    let range = dir.path().join("range.toml");
    std::fs::write(
        &range,
        base.replace("female_share = 0.52", "female_share = 1.5"),
    )
    .unwrap();
    let o = carelab(&[
        "data",
        "generate",
        "--scenario",
        range.to_str().unwrap(),
        "--out",
        out_s,
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("female_share") && err.contains("line 17"),
        "{err}"
    );

    let o = carelab(&["data", "generate", "--patients", "0", "--out", out_s]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--patients"));

    let o = carelab(&["data", "generate", "--shard", "3/2", "--out", out_s]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("--shard") && err.contains("3/2"), "{err}");

    let o = carelab(&["data", "generate", "--scenario", "nowhere", "--out", out_s]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!out.join("manifest.json").exists());
}
