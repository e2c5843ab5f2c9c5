//! Lab 10 (monitoring and value) end to end: the reference solution finds
//! the drift, the quarantine and the fix in a learner's own outputs, and a
//! wrong fix or answer fails the check that should catch it.

use std::fs;
use std::path::{Path, PathBuf};

use carelab::labs::workspace::Workspace;
use carelab::labs::Catalog;

use crate::cli_support::{exe, failed_checks};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

/// Rows of a CSV file whose `column` equals `value`.
fn count_rows(path: &Path, column: &str, value: &str) -> usize {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let idx = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == column)
        .unwrap();
    reader
        .records()
        .filter(|r| r.as_ref().unwrap().get(idx) == Some(value))
        .count()
}

#[test]
fn starter_map_is_the_builtin_map_and_the_fix_is_one_line() {
    let builtin = fs::read_to_string(repo().join("datasets/maps/lab-codes.toml")).unwrap();
    let lab = repo().join("labs/10-monitoring");
    let starter = fs::read_to_string(lab.join("starter/maps/lab-codes.toml")).unwrap();
    assert_eq!(
        starter, builtin,
        "labs/10-monitoring/starter/maps/lab-codes.toml must be a copy of datasets/maps/lab-codes.toml"
    );
    let starter_map: toml::Table = toml::from_str(&starter).unwrap();
    assert!(starter_map["codes"].get("CREA").is_none());
    let fixed = fs::read_to_string(lab.join("solution/maps/lab-codes.toml")).unwrap();
    let added: Vec<&str> = fixed
        .lines()
        .filter(|l| !starter.lines().any(|s| s == *l))
        .collect();
    assert_eq!(added.len(), 1, "{added:?}");
    let fixed_map: toml::Table = toml::from_str(&fixed).unwrap();
    assert_eq!(fixed_map["codes"]["CREA"].as_str(), Some("2160-0"));
}

#[test]
fn solution_finds_drift_quarantine_and_fix_and_wrong_work_fails() {
    let catalog = Catalog::builtin().unwrap();
    let lab = catalog.find("10").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut ws = Workspace::open(&dir.path().join("w"), Some(7), None, &exe()).unwrap();
    ws.start(lab).unwrap();
    ws.solve(lab, Default::default()).unwrap();
    let d = ws.lab_dir(&lab.spec);

    // The checks point at creatinine by position: make sure it is there.
    let drift = json(&d.join("monitor-2025/report.json"));
    let creat = &drift["features"][25];
    assert_eq!(creat["name"], "creatinine");
    assert_eq!(creat["level"], "alert");
    assert!(creat["psi"].as_f64().unwrap() > 0.25, "{creat}");
    // Nothing is lost silently: every code-map rejection is a CREA row of
    // the export (a row with a placeholder value may be quarantined first).
    let quality = json(&d.join("ingest-b/quality.json"));
    let crea_rows = count_rows(&d.join("site-b/observations.csv"), "code", "CREA");
    let unmapped = quality["sources"]["csv"]["unmapped_codes"]["CREA"]
        .as_u64()
        .unwrap() as usize;
    assert!(
        unmapped > 100 && unmapped <= crea_rows,
        "{unmapped} of {crea_rows}"
    );
    assert_eq!(
        quality["sources"]["csv"]["rules"]["code_map"]["rejected"].as_u64(),
        Some(unmapped as u64)
    );
    let broken = json(&d.join("monitor-ingest-b/report.json"));
    assert_eq!(broken["features"][25]["name"], "creatinine");
    assert_eq!(
        broken["features"][25]["current_missing"].as_f64(),
        Some(1.0)
    );
    // Fixed: every CREA result is back, converted from umol/L to mg/dL.
    let fixed = json(&d.join("ingest-b-fixed/quality.json"));
    assert_eq!(
        fixed["sources"]["site-b"]["rules"]["code_map"]["rejected"].as_u64(),
        Some(0)
    );
    let mut reader = csv::Reader::from_path(d.join("ingest-b-fixed/omop/measurement.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (code, concept, unit, unit_source, value, value_source) = (
        col("measurement_source_value"),
        col("measurement_concept_code"),
        col("unit_concept_code"),
        col("unit_source_value"),
        col("value_as_number"),
        col("value_source_value"),
    );
    let mut converted = 0;
    for row in reader.records() {
        let row = row.unwrap();
        if &row[code] != "CREA" {
            continue;
        }
        converted += 1;
        assert_eq!(
            (&row[concept], &row[unit], &row[unit_source]),
            ("2160-0", "mg/dL", "umol/L")
        );
        let mg: f64 = row[value].parse().unwrap();
        let umol: f64 = row[value_source].parse().unwrap();
        assert!(
            (mg - umol / 88.42).abs() < 0.01,
            "{mg} mg/dL from {umol} umol/L"
        );
    }
    assert_eq!(converted, unmapped);

    let report = ws.check(lab).unwrap();
    assert!(report.complete, "{:#?}", report.checks);

    // A learner who maps CREA to glucose's code, or answers "unit" for an
    // assay change, fails exactly those checks.
    let map = d.join("maps/lab-codes.toml");
    let wrong = fs::read_to_string(&map)
        .unwrap()
        .replace("CREA = \"2160-0\"", "CREA = \"2345-7\"");
    fs::write(&map, wrong).unwrap();
    let answers = d.join("answers.toml");
    let text = fs::read_to_string(&answers).unwrap().replace(
        "drift_2025_cause = \"assay\"",
        "drift_2025_cause = \"unit\"",
    );
    // The estimate: 2025 judged with no outcome known, below the band, and
    // the labels confirm the fall.
    let estimate = json(&d.join("monitor-estimate/report.json"));
    let w = &estimate["windows"][3];
    assert!(
        w["window"]["start"].as_str().unwrap() >= "2025-01-01",
        "{w}"
    );
    assert_eq!(w["estimate"]["labelled"], 0);
    let estimated = w["estimate"]["estimated"]["auroc"].as_f64().unwrap();
    let band = w["estimate"]["lower"]["auroc"].as_f64().unwrap();
    assert!(estimated < band, "{estimated} vs band from {band}");
    let confirmed = json(&d.join("monitor-confirmed/report.json"));
    let realised = confirmed["windows"][3]["estimate"]["realised"]["auroc"]
        .as_f64()
        .unwrap();
    assert!(realised < band, "{realised} vs band from {band}");
    // A learner who copies the estimate as the realised figure fails that check.
    let text = text.replace(
        "realised_auroc_2025 = ",
        &format!("realised_auroc_2025 = {estimated:.2} # was "),
    );
    fs::write(&answers, text).unwrap();
    let report = ws.check(lab).unwrap();
    let failed = failed_checks(&report);
    assert_eq!(failed, vec!["map_fixed", "answer_cause", "answer_realised"]);
    let map_fixed = report.checks.iter().find(|c| c.id == "map_fixed").unwrap();
    assert_eq!(
        map_fixed.detail,
        "codes.CREA in maps/lab-codes.toml is \"2345-7\": not the value this check wants"
    );
    let cause = report
        .checks
        .iter()
        .find(|c| c.id == "answer_cause")
        .unwrap();
    assert!(!cause.detail.contains("assay"), "{}", cause.detail);
}
