//! End to end: a hand-made CSV source with defects through `carelab ingest`.

use std::path::Path;
use std::process::Command;

use crate::cli_support::succeeded;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

fn source(dir: &Path) {
    write(
        dir,
        "patients.csv",
        "patient_id,mrn,given_name,family_name,sex,birth_date,race,ethnicity,payer,zip\n\
P1,M1,Ann,Lee,F,1950-06-15,White,Not Hispanic or Latino,Medicare,62701\n\
P2,M2,Bob,Ray,M,1900-01-01,White,Not Hispanic or Latino,Medicare,62702\n\
P3,M3,Ann,Lee,F,06/15/1950,White,Not Hispanic or Latino,Medicare,62701\n",
    );
    write(
        dir,
        "encounters.csv",
        "encounter_id,patient_id,class,admit_time,discharge_time,disposition,reason_code\n\
E1,P1,IMP,2022-01-01T08:00:00,2022-01-04T20:00:00,home,I50.9\n\
E2,P3,IMP,2022-01-20T10:00:00,2022-01-25T10:00:00,01,I50.9\n\
E3,P1,IMP,2022-03-05T10:00:00,2022-03-01T10:00:00,home,I50.9\n\
E4,P9,IMP,2022-03-05T10:00:00,2022-03-06T10:00:00,home,I50.9\n",
    );
    write(
        dir,
        "observations.csv",
        "observation_id,patient_id,encounter_id,time,code,system,display,value,unit\n\
O1,P1,E1,2022-01-02T08:00:00,GLU,local,,7.0,mmol/L\n\
O2,P1,E1,2022-01-03T08:00:00,2160-0,http://loinc.org,,88.42,umol/L\n\
O3,P1,E1,2022-01-03T09:00:00,2160-0,http://loinc.org,,999,mg/dL\n\
O4,P1,E1,2022-01-03T09:00:00,XYZ,local,,1,mg/dL\n\
O5,P1,E7,2022-01-03T09:00:00,8867-4,http://loinc.org,,80,/min\n\
O1,P1,E1,2022-01-02T08:00:00,GLU,local,,7.0,mmol/L\n\
O6,P1\n",
    );
}

#[test]
fn csv_ingest_maps_links_quarantines_and_reconciles() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    source(&src);
    let out = dir.path().join("out");
    let output = Command::new(env!("CARGO_BIN_EXE_carelab"))
        .args(["--json", "ingest", "--csv"])
        .arg(&src)
        .arg("--out")
        .arg(&out)
        .args(["--data-end", "2022-12-31T00:00:00"])
        .output()
        .unwrap();
    let output = succeeded(output);
    let v: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let tables = &v["quality"]["sources"]["csv"]["tables"];
    // in = out + quarantined, per table
    assert_eq!(tables["patient"]["in"], 3);
    assert_eq!(tables["patient"]["out"], 2);
    assert_eq!(tables["patient"]["quarantined"], 1);
    assert_eq!(tables["encounter"]["in"], 4);
    assert_eq!(tables["encounter"]["out"], 2);
    assert_eq!(tables["observation"]["in"], 7);
    assert_eq!(tables["observation"]["out"], 2);
    assert_eq!(tables["observation"]["quarantined"], 5);
    // P3 is P1 again (same name, DOB in another format): one person
    assert_eq!(v["persons"], 1);
    assert_eq!(v["quality"]["sources"]["csv"]["unmapped_codes"]["XYZ"], 1);

    let q = std::fs::read_to_string(out.join("quarantine/csv.csv")).unwrap();
    for reason in [
        "placeholder,",
        "time_order,",
        "referential,",
        "code_map,",
        "duplicate,",
        "truncated,",
    ] {
        assert!(q.contains(reason), "{reason} missing in\n{q}");
    }
    assert_eq!(q.lines().count(), 1 + 1 + 2 + 5);

    let rows = carelab::clinical::analysis::read_analysis_csv(out.join("analysis.csv")).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].stay_id, "E1");
    assert_eq!(rows[0].patient_id, "P1");
    assert!((rows[0].glucose.unwrap() - 126.112).abs() < 1e-9);
    assert!((rows[0].creatinine.unwrap() - 1.0).abs() < 1e-9);
    assert_eq!(
        rows[0].readmit_30d, 1,
        "E2 (linked from P3) is a readmission"
    );
    assert_eq!(rows[1].disposition, "home", "NUBC 01 mapped");

    let meas = std::fs::read_to_string(out.join("omop/measurement.csv")).unwrap();
    assert!(meas.contains("O1,P1,E1,2022-01-02T08:00:00,2345-7,"));
    assert!(meas.contains(",GLU,126.112,mg/dL,mmol/L,7.0,csv"));
    assert!(out.join("omop/person.parquet").exists());
    assert!(out.join("quality.md").exists() && out.join("manifest.json").exists());

    // the manifest lists every file with the checksum of its bytes on disk,
    // though most of them were handed on by their writers, not read back
    let manifest = carelab::artifact::Manifest::read(&out).unwrap();
    let on_disk: std::collections::BTreeSet<String> = carelab::artifact::list_files(&out)
        .unwrap()
        .iter()
        .map(|rel| rel.to_string_lossy().replace('\\', "/"))
        .filter(|rel| rel != "manifest.json")
        .collect();
    let listed: std::collections::BTreeSet<String> = manifest.files.keys().cloned().collect();
    assert_eq!(listed, on_disk);
    assert!(listed.contains("cdm.sqlite") && listed.contains("omop/measurement.csv"));
    for (rel, sum) in &manifest.files {
        let read = carelab::artifact::sha256_file(out.join(rel)).unwrap();
        assert_eq!(sum, &read, "{rel}");
    }
}

#[test]
fn appending_later_records_does_not_change_earlier_rows() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    source(&src);
    let run = |out: &Path| {
        let s = Command::new(env!("CARGO_BIN_EXE_carelab"))
            .args(["-q", "ingest", "--csv"])
            .arg(&src)
            .arg("--out")
            .arg(out)
            .args(["--data-end", "2022-12-31T00:00:00"])
            .status()
            .unwrap();
        assert!(s.success());
        carelab::clinical::analysis::read_analysis_csv(out.join("analysis.csv")).unwrap()
    };
    let before = run(&dir.path().join("a"));
    // a later stay with its own measurements and a new diagnosis
    let mut enc = std::fs::read_to_string(src.join("encounters.csv")).unwrap();
    enc += "E5,P1,IMP,2022-06-01T10:00:00,2022-06-03T10:00:00,home,I10\n";
    write(&src, "encounters.csv", &enc);
    let mut obs = std::fs::read_to_string(src.join("observations.csv")).unwrap();
    obs += "O9,P1,E5,2022-06-02T08:00:00,2345-7,http://loinc.org,,300,mg/dL\n";
    write(&src, "observations.csv", &obs);
    write(&src, "conditions.csv", "condition_id,patient_id,encounter_id,code,display,onset_date\nC1,P1,E5,I10,Hypertension,2022-06-02\n");
    let after = run(&dir.path().join("b"));
    assert_eq!(after.len(), before.len() + 1);
    assert_eq!(&after[..before.len()], &before[..], "earlier rows changed");
    assert_eq!(after[2].htn, 1.0);
    assert_eq!(after[2].glucose, Some(300.0));
}
