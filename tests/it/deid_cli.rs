//! End to end: deid a hand-made data set, then scan it and verify its audit log.

use std::fs;
use std::process::Command;

fn carelab(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_carelab"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn safe_harbor_leaves_no_known_identifier_and_limited_keeps_intervals() {
    let d = tempfile::tempdir().unwrap();
    let inp = d.path().join("in");
    fs::create_dir_all(&inp).unwrap();
    fs::write(inp.join("patients.csv"), "patient_id,mrn,given_name,family_name,sex,birth_date,race,ethnicity,payer,address_line,city,state,zip,phone,email,ssn,death_date\n\
P1,MR100001,Maria,Okafor,F,1934-06-01,White,Not Hispanic or Latino,Medicare,42 Oak Street,Lake Forest,IL,60045,(847) 555-0142,maria.okafor@example.com,123-45-6789,\n\
P2,MR100002,James,Whitfield,M,1980-02-29,White,Not Hispanic or Latino,Commercial,7 Elm Road,Boston,MA,03601,617-555-0199,jw@example.org,234-56-7890,\n").unwrap();
    fs::write(inp.join("encounters.csv"), "encounter_id,patient_id,class,admit_time,discharge_time,disposition,reason_code\n\
E1,P1,IMP,2024-05-28T08:00:00,2024-06-01T12:00:00,home,I50.9\nE2,P2,IMP,2024-03-01T10:00:00,2024-03-04T10:00:00,home,J44.1\n").unwrap();
    fs::write(inp.join("notes.csv"), "note_id,patient_id,encounter_id,time,text\n\
N1,P1,E1,2024-06-01T12:00:00,\"Maria Okafor (MRN: MR100001), a 90-year-old woman, seen by Dr. Alvarez on 05/28/2024. Call (847) 555-0142.\"\n").unwrap();
    let key = d.path().join("key.hex");
    fs::write(&key, "ab".repeat(32)).unwrap();
    let ids = d.path().join("identifiers.csv");
    fs::write(&ids, "patient_id,mrn,given_name,family_name,address_line,phone,email,ssn\nP1,MR100001,Maria,Okafor,42 Oak Street,(847) 555-0142,maria.okafor@example.com,123-45-6789\nP2,MR100002,James,Whitfield,7 Elm Road,617-555-0199,jw@example.org,234-56-7890\n").unwrap();
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();

    // raw data is not clean
    assert_eq!(carelab(&["scan-phi", &s(&inp), "--known", &s(&ids)]).0, 1);

    let out = d.path().join("sh");
    let (code, _) = carelab(&[
        "deid",
        "--in",
        &s(&inp),
        "--out",
        &s(&out),
        "--mode",
        "safe-harbor",
        "--key-file",
        &s(&key),
        "--k",
        "2",
    ]);
    assert_eq!(code, 0);
    let (code, text) = carelab(&[
        "scan-phi",
        &s(&out.join("patients.csv")),
        &s(&out.join("notes.csv")),
        &s(&out.join("encounters.csv")),
        "--known",
        &s(&ids),
    ]);
    assert_eq!(code, 0, "{text}");
    let patients = fs::read_to_string(out.join("patients.csv")).unwrap();
    assert!(
        patients.contains(",000,"),
        "restricted ZIP3 036 -> 000: {patients}"
    );
    assert!(patients.contains(",600,"), "ZIP3 kept: {patients}");
    assert!(patients.contains(",90+"), "age 90 aggregated: {patients}");
    assert!(patients.contains(",1980,"), "birth year only under 90");
    assert!(!patients.contains("1934"), "no birth year above 89");
    let (code, v) = carelab(&["audit", "verify", &s(&out.join("audit.jsonl"))]);
    assert_eq!(code, 0, "{v}");
    // the crosswalk goes beside the release by default, never into it
    let crosswalk = fs::read_to_string(d.path().join("sh-crosswalk.csv")).unwrap();
    assert!(crosswalk.starts_with("# CareLab crosswalk"), "{crosswalk}");
    assert!(crosswalk.contains("patient,P1,pat-") && crosswalk.contains("patient,P2,pat-"));
    assert!(fs::read_dir(&out).unwrap().all(|f| !f
        .unwrap()
        .file_name()
        .to_string_lossy()
        .contains("crosswalk")));
    let inside = carelab(&[
        "deid",
        "--in",
        &s(&inp),
        "--out",
        &s(&d.path().join("sh2")),
        "--mode",
        "safe-harbor",
        "--crosswalk",
        &s(&d.path().join("sh2/crosswalk.csv")),
    ]);
    assert_eq!(inside.0, 2, "a crosswalk inside --out is refused");

    // a key file inside --out is refused
    let inside = out.join("key.hex");
    fs::write(&inside, "ab".repeat(32)).unwrap();
    let refused = carelab(&[
        "deid",
        "--in",
        &s(&inp),
        "--out",
        &s(&out),
        "--mode",
        "limited",
        "--key-file",
        &s(&inside),
    ]);
    assert_eq!(refused.0, 2);

    let lim = d.path().join("lim");
    let ok = carelab(&[
        "deid",
        "--in",
        &s(&inp),
        "--out",
        &s(&lim),
        "--mode",
        "limited",
        "--shift-dates",
        "--key-file",
        &s(&key),
    ]);
    assert_eq!(ok.0, 0);
    let enc = fs::read_to_string(lim.join("encounters.csv")).unwrap();
    let parse = |t: &str| chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S").unwrap();
    for line in enc.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let los = parse(f[4]) - parse(f[3]);
        let want = [
            chrono::Duration::hours(4 * 24 + 4),
            chrono::Duration::days(3),
        ];
        assert!(want.contains(&los), "interval kept: {line}");
        assert!(
            !f[3].starts_with("2024-05-28") && !f[3].starts_with("2024-03-01"),
            "dates shifted: {line}"
        );
    }
    let report = fs::read_to_string(lim.join("deid-report.md")).unwrap();
    assert!(report.contains("NOT de-identified under HIPAA Safe Harbor"));
}

/// A roles override that keeps names, the MRN and the city cannot produce a
/// release called Safe Harbor: the run is refused, and with
/// --allow-not-safe-harbor its report, README and manifest say what remains.
#[test]
fn safe_harbor_cannot_be_claimed_when_the_roles_keep_identifiers() {
    let d = tempfile::tempdir().unwrap();
    let inp = d.path().join("in");
    fs::create_dir_all(&inp).unwrap();
    fs::write(
        inp.join("patients.csv"),
        "patient_id,mrn,given_name,family_name,sex,birth_date,city,state,zip\n\
         P1,01234567,Sandra,Campbell,F,1950-03-02,Brooklyn,NY,11215\n\
         P2,01234568,Imran,Shah,M,1971-11-20,Boston,MA,02118\n",
    )
    .unwrap();
    let key = d.path().join("key.hex");
    fs::write(&key, "ab".repeat(32)).unwrap();
    let roles = d.path().join("roles.toml");
    fs::write(
        &roles,
        "[columns]\ngiven_name = \"keep\"\nfamily_name = \"keep\"\nmrn = \"keep\"\n\"patients.city\" = \"keep\"\n",
    )
    .unwrap();
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let out = d.path().join("sh");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "deid".to_string(),
            "--in".into(),
            s(&inp),
            "--out".into(),
            s(&out),
            "--mode".into(),
            "safe-harbor".into(),
            "--key-file".into(),
            s(&key),
            "--roles".into(),
            s(&roles),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        Command::new(env!("CARGO_BIN_EXE_carelab"))
            .args(&args)
            .output()
            .unwrap()
    };
    let refused = run(&[]);
    assert_eq!(refused.status.code(), Some(2));
    let err = String::from_utf8_lossy(&refused.stderr);
    for column in [
        "patients.given_name",
        "patients.family_name",
        "patients.mrn",
        "patients.city",
    ] {
        assert!(err.contains(column), "{column} not named: {err}");
    }
    assert!(err.contains("--allow-not-safe-harbor"), "{err}");
    assert!(!out.join("patients.csv").exists(), "nothing written");

    let allowed = run(&["--allow-not-safe-harbor"]);
    assert_eq!(
        allowed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&allowed.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("deid-report.json")).unwrap()).unwrap();
    assert_eq!(report["is_safe_harbor"], false);
    let kept: Vec<&str> = report["identifiers_kept"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["column"].as_str().unwrap())
        .collect();
    assert_eq!(
        kept,
        [
            "patients.mrn",
            "patients.given_name",
            "patients.family_name",
            "patients.city"
        ]
    );
    let readme = fs::read_to_string(out.join("README.md")).unwrap();
    assert!(
        readme.contains("NOT de-identified under HIPAA Safe Harbor"),
        "{readme}"
    );
    assert!(
        !readme.contains("were removed or generalised: names"),
        "{readme}"
    );
    let manifest = fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"is_safe_harbor\": false"), "{manifest}");
    // the data really does still hold them
    let patients = fs::read_to_string(out.join("patients.csv")).unwrap();
    assert!(patients.contains("Sandra") && patients.contains("Brooklyn"));
}

/// A de-identification output folder scans clean: the scan reads the data,
/// not CareLab's own report, manifest, README and audit log (whose counts,
/// column names and times look like identifiers); named, a file is scanned.
#[test]
fn a_deid_output_folder_scans_clean_without_its_own_records() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let (code, _) = carelab(&[
        "-q",
        "--no-progress",
        "data",
        "generate",
        "--patients",
        "150",
        "--formats",
        "csv",
        "--seed",
        "5",
        "--out",
        &s(&data),
    ]);
    assert_eq!(code, 0);
    let key = d.path().join("key.hex");
    fs::write(&key, "cd".repeat(32)).unwrap();
    let out = d.path().join("deid");
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
    for own in [
        "manifest.json",
        "deid-report.md",
        "deid-report.json",
        "audit.jsonl",
    ] {
        assert!(out.join(own).is_file(), "{own}");
    }
    let known = data.join("truth/identifiers.csv");
    let (code, text) = carelab(&["scan-phi", &s(&out), "--known", &s(&known)]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("not scanned, CareLab's own records"),
        "{text}"
    );
    assert!(
        text.contains("deid-report.md") && text.contains("audit.jsonl"),
        "{text}"
    );
    // the raw data itself is not clean, so the scan can fail
    assert_eq!(
        carelab(&["scan-phi", &s(&data), "--known", &s(&known)]).0,
        1
    );
    // named, CareLab's own file is scanned like any other
    let (_, named) = carelab(&["--json", "scan-phi", &s(&out.join("deid-report.md"))]);
    let v: serde_json::Value = serde_json::from_str(&named).unwrap();
    assert_eq!(v["files_scanned"], 1);
    assert!(v["skipped_artifacts"].as_array().unwrap().is_empty());
}

#[test]
fn scan_phi_reads_parquet_that_duckdb_wrote() {
    // Not CareLab's writer: DuckDB's types, a time-zone timestamp among them
    // (tests/data/parquet/README.md).
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/parquet/duckdb-types.parquet"
    );
    let (code, text) = carelab(&["--json", "scan-phi", file]);
    assert_eq!(code, 1, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["cells_scanned"], 25);
    assert_eq!(
        v["by_kind"],
        serde_json::json!({"date": 6, "mrn": 2, "name": 4})
    );
    let found = |column: &str| -> Vec<u64> {
        let rows = v["findings"].as_array().unwrap().iter();
        rows.filter(|f| f["column"] == column)
            .map(|f| f["line"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(found("name"), [1, 2, 3]);
    assert_eq!(found("admitted_utc"), [1, 3]);
    assert_eq!(found("remark"), [1]);
    assert!(found("charge").is_empty() && found("weight_kg").is_empty());
}

/// `train-detector --notes` learns from hand-annotated development sets
/// and says which it used; the held-out corpus is refused by its marker,
/// before anything is trained or written; a set both trained on and
/// scored is scored, with a warning that the score measures the fit.
#[test]
fn train_detector_takes_development_notes_and_refuses_the_held_out_corpus() {
    let d = tempfile::tempdir().unwrap();
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
    let model = d.path().join("m.safetensors");
    let train = |notes: &str, extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_carelab"))
            .args(["--json", "deid", "train-detector", "--out"])
            .arg(&model)
            .args([
                "--patients",
                "3",
                "--validation-patients",
                "1",
                "--epochs",
                "1",
            ])
            .args(["--notes", &format!("{data}/{notes}"), "--notes-weight", "2"])
            .args(extra)
            .output()
            .unwrap()
    };

    let refused = train("deid-notes", &[]);
    assert_eq!(refused.status.code(), Some(2));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("deid-notes is held out"), "{err}");
    assert!(!model.exists());

    // scored on the set it was trained on: it runs, and says what that measures
    let dev = format!("{data}/deid-dev");
    let ok = train("deid-dev", &["--score", &dev]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    let sets = report["note_sets"].as_array().unwrap();
    assert_eq!(sets.len(), 1);
    assert!(sets[0]["dir"].as_str().unwrap().ends_with("deid-dev"));
    assert_eq!(sets[0]["notes"], 20);
    assert_eq!(sets[0]["weight"], 2);
    assert!(sets[0]["phi_tokens"].as_u64().unwrap() > 0);
    assert!(model.exists());
    let warned = String::from_utf8_lossy(&ok.stderr);
    assert!(
        warned.contains("is both trained on (--notes) and scored (--score)"),
        "{warned}"
    );
    assert_eq!(report["scored"].as_array().unwrap().len(), 1);
}
