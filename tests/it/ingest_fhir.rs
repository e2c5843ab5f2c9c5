//! A Synthea-style Bulk Data export and transaction Bundle, written by hand
//! (tests/data/synthea-bulk/README.md), through the whole ingest pipeline:
//! the exact analysis rows and labels of its inpatient stays, and every
//! record of every resource type accounted for (in = out + quarantined +
//! skipped).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use carelab::clinical::analysis::{read_analysis_csv, AnalysisRow};
use carelab::ingest::{run, PipelineConfig, SourceConfig, SourceKind};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn ingest(path: PathBuf, out: &Path, data_end: Option<&str>) -> carelab::ingest::IngestSummary {
    let cfg = PipelineConfig {
        sources: vec![SourceConfig {
            name: "fhir".into(),
            kind: SourceKind::Fhir,
            path,
            layout: None,
            patient_id: None,
        }],
        data_end: data_end.map(String::from),
        ..PipelineConfig::default()
    };
    run(&cfg, out).unwrap()
}

const P1: &str = "8d2c6a1e-3f47-4b8a-9c15-2e6f0b7d4a91";
const P2: &str = "c41f0e7b-92d3-4e55-a8b6-71d9e3f2c048";

/// The rows the README's table of stays says the export must give.
fn expected_rows() -> Vec<AnalysisRow> {
    let base = |stay: &str, pid: &str| AnalysisRow {
        stay_id: stay.into(),
        patient_id: pid.into(),
        race_ethnicity: "White".into(),
        sex: "F".into(),
        disposition: "home".into(),
        ..AnalysisRow::default()
    };
    let first = AnalysisRow {
        admit_time: "2023-03-01T08:00:00".into(),
        discharge_time: "2023-03-05T12:00:00".into(),
        age: 71.0,
        los_days: 4.1667,
        htn: 1.0,
        t2dm: 1.0,
        chf: 1.0,
        n_medications: 3.0,
        hr: Some(96.0),
        // the later of the stay's two blood-pressure panels
        sbp: Some(132.0),
        dbp: Some(84.0),
        weight_kg: Some(82.3),
        creatinine: Some(1.4),
        // readmitted 20 days after discharge
        readmit_30d: 1,
        ..base("7f4c2d8e-1a3b-4c5d-9e6f-0a1b2c3d4e21", P1)
    };
    let second = AnalysisRow {
        admit_time: "2023-03-25T14:00:00".into(),
        discharge_time: "2023-03-29T10:00:00".into(),
        age: 71.0,
        los_days: 3.8333,
        prior_admissions_365d: 1.0,
        days_since_last_discharge: Some(20.0833),
        htn: 1.0,
        t2dm: 1.0,
        chf: 1.0,
        // CKD stage 1 (SNOMED 431855005) was diagnosed in this stay
        ckd: 1.0,
        n_medications: 4.0,
        hr: Some(88.0),
        sbp: Some(138.0),
        dbp: Some(88.0),
        glucose: Some(162.0),
        // the follow-up 73 days later is an ambulatory visit, not a stay
        readmit_30d: 0,
        ..base("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c32", P1)
    };
    let third = AnalysisRow {
        admit_time: "2023-01-05T10:30:00".into(),
        discharge_time: "2023-01-09T16:00:00".into(),
        age: 84.0,
        sex: "M".into(),
        race_ethnicity: "Black".into(),
        los_days: 4.2292,
        // the emergency visit before it is no prior admission
        prior_admissions_365d: 0.0,
        disposition: "skilled_nursing".into(),
        copd: 1.0,
        afib: 1.0,
        // the inhaler and warfarin; the order naming its drug through a
        // Medication resource is skipped
        n_medications: 2.0,
        sbp: Some(118.0),
        dbp: Some(70.0),
        temp_c: Some(37.9),
        spo2: Some(91.0),
        readmit_30d: 0,
        ..base("5e6f7a8b-9c0d-4e1f-b2a3-4c5d6e7f8a65", P2)
    };
    vec![first, second, third]
}

/// Per resource type: (in, out, quarantined, skipped).
type Counts = BTreeMap<String, (u64, u64, u64, u64)>;

/// The report's counts by FHIR resource type: a modelled type's table, and
/// the skipped-only types (with `log` for the export log's lines).
fn counts_by_type(q: &carelab::ingest::quality::SourceQuality) -> Counts {
    let table_of = [
        ("Patient", "patient"),
        ("Encounter", "encounter"),
        ("Observation", "observation"),
        ("Condition", "condition"),
        ("MedicationRequest", "medication"),
        ("DocumentReference", "note"),
    ];
    let mut out = Counts::new();
    for (kind, table) in table_of {
        let c = q.tables.get(table).cloned().unwrap_or_default();
        out.insert(kind.into(), (c.input, c.out, c.quarantined, c.skipped));
    }
    for (kind, reasons) in &q.skipped {
        let n: u64 = reasons.values().sum();
        let e = out.entry(kind.clone()).or_insert((n, 0, 0, 0));
        if table_of.iter().all(|(k, _)| k != kind) {
            e.3 = n;
        } else {
            // a modelled type's skips are in its table's counts already
            assert_eq!(e.3, n, "{kind}");
        }
    }
    out
}

#[test]
fn synthea_bulk_export_gives_its_stays_rows_and_accounts_for_every_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let summary = ingest(data("synthea-bulk"), &out, None);
    assert_eq!(summary.persons, 3);
    assert_eq!(summary.quarantined, 0);
    let rows = read_analysis_csv(out.join("analysis.csv")).unwrap();
    let mut expected = expected_rows();
    expected.sort_by(|a, b| {
        (&a.patient_id, &a.discharge_time).cmp(&(&b.patient_id, &b.discharge_time))
    });
    assert_eq!(rows, expected);

    let q = &summary.quality.sources["fhir"];
    let counts = counts_by_type(q);
    let expect: Counts = [
        ("Patient", (3, 3, 0, 0)),
        ("Encounter", (7, 7, 0, 0)),
        // 17 resources; six blood-pressure panels are two observations each
        // BMI and PHQ-9 are LOINC codes outside the model: kept as sent
        ("Observation", (23, 22, 0, 1)),
        ("Condition", (8, 8, 0, 0)),
        ("MedicationRequest", (8, 7, 0, 1)),
        ("DocumentReference", (1, 1, 0, 0)),
        ("Procedure", (2, 0, 0, 2)),
        ("Immunization", (1, 0, 0, 1)),
        ("Claim", (2, 0, 0, 2)),
        ("ExplanationOfBenefit", (1, 0, 0, 1)),
        ("CarePlan", (1, 0, 0, 1)),
        ("DiagnosticReport", (1, 0, 0, 1)),
        ("Medication", (1, 0, 0, 1)),
        ("Practitioner", (1, 0, 0, 1)),
        ("Organization", (1, 0, 0, 1)),
        ("OperationOutcome", (1, 0, 0, 1)),
        ("log", (5, 0, 0, 5)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(counts, expect);
    for (kind, (i, o, qn, s)) in &counts {
        assert_eq!(*i, o + qn + s, "{kind}");
    }
    // every line of every file is one of them (a panel counts per component)
    let lines: usize = std::fs::read_dir(data("synthea-bulk"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ndjson"))
        .map(|p| std::fs::read_to_string(p).unwrap().lines().count())
        .sum();
    let components = 6;
    let total_in: u64 = counts.values().map(|c| c.0).sum();
    assert_eq!(total_in as usize, lines + components);

    // Nothing quarantined: the two LOINC codes CareLab has no measure for
    // (BMI 39156-5, PHQ-9 44261-6) are valid LOINC codes sent as LOINC and
    // kept as sent, outside the features; the SNOMED finding no map has is
    // kept and listed.
    let rules = &q.rules;
    assert_eq!(
        (
            rules["code_map"].repaired,
            rules.get("code_map").map_or(0, |r| r.rejected)
        ),
        (8, 0)
    );
    let unmapped: Vec<&str> = q.unmapped_codes.keys().map(String::as_str).collect();
    assert_eq!(unmapped, ["http://snomed.info/sct|162864005"]);
    let meas = std::fs::read_to_string(out.join("omop/measurement.csv")).unwrap();
    assert!(
        meas.contains("39156-5") && meas.contains("44261-6"),
        "{meas}"
    );
    let md = std::fs::read_to_string(out.join("quality.md")).unwrap();
    assert!(
        md.contains("| fhir | observation | 23 | 22 | 0 | 1 |"),
        "{md}"
    );
    assert!(
        md.contains(
            "| fhir | log | a Bulk Data export log entry (log.ndjson), not a resource | 5 |"
        ),
        "{md}"
    );
    assert!(md.contains("http://snomed.info/sct\\|162864005"), "{md}");

    // The base64 note is decoded byte for byte.
    let notes = std::fs::read_to_string(out.join("omop/note.csv")).unwrap();
    assert!(
        notes.contains("Patient is presenting with chronic congestive heart failure (disorder).")
    );
}

/// The OMOP rows of one person, sorted (both runs name their source `fhir`).
fn person_rows(out: &Path, table: &str, person: &str) -> Vec<String> {
    let text = std::fs::read_to_string(out.join(format!("omop/{table}.csv"))).unwrap();
    let mut rows: Vec<String> = text
        .lines()
        .skip(1)
        .filter(|l| l.contains(person))
        .map(String::from)
        .collect();
    rows.sort();
    rows
}

#[test]
fn synthea_transaction_bundle_ingests_to_the_same_records() {
    let dir = tempfile::tempdir().unwrap();
    let bulk = dir.path().join("bulk");
    let tx = dir.path().join("tx");
    ingest(data("synthea-bulk"), &bulk, None);
    // One patient's Bundle ends at his own last admission, which leaves his
    // stay's 30 days of follow-up unknown: give it the export's end.
    let summary = ingest(
        data("synthea-transaction.json"),
        &tx,
        Some("2023-06-10T09:00:00"),
    );
    let q = &summary.quality.sources["fhir"];
    assert_eq!(summary.quarantined, 0);
    assert_eq!(q.totals().input, q.totals().out + q.totals().skipped);
    for table in [
        "person",
        "visit_occurrence",
        "measurement",
        "condition_occurrence",
        "drug_exposure",
    ] {
        let rows = person_rows(&tx, table, P2);
        assert!(!rows.is_empty(), "{table}");
        assert_eq!(rows, person_rows(&bulk, table, P2), "{table}");
    }
    let rows = read_analysis_csv(tx.join("analysis.csv")).unwrap();
    assert_eq!(rows, vec![expected_rows().remove(2)]);
}

/// The SNOMED map is an editable file a pipeline config names, relative to
/// the config: a copy without type 2 diabetes leaves the code unmapped
/// (kept, listed) and the feature 0, and a bad edit names file and key.
#[test]
fn an_edited_snomed_map_from_the_pipeline_config_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/maps/snomed-conditions.toml"),
    )
    .unwrap();
    let edited: String = shipped
        .lines()
        .filter(|l| !l.starts_with("44054006 "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(edited.len(), shipped.len());
    std::fs::write(dir.path().join("my-snomed.toml"), edited).unwrap();
    let config = dir.path().join("pipeline.toml");
    std::fs::write(
        &config,
        format!(
            "[[source]]\nname = \"fhir\"\nkind = \"fhir\"\npath = {:?}\n\n[maps]\nsnomed_conditions = \"my-snomed.toml\"\n",
            data("synthea-bulk").display().to_string()
        ),
    )
    .unwrap();
    let cfg = PipelineConfig::load(&config).unwrap();
    let out = dir.path().join("out");
    let summary = run(&cfg, &out).unwrap();
    let q = &summary.quality.sources["fhir"];
    assert_eq!(q.unmapped_codes["http://snomed.info/sct|44054006"], 1);
    let rows = read_analysis_csv(out.join("analysis.csv")).unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r.t2dm == 0.0));
    assert_eq!(rows.iter().filter(|r| r.htn == 1.0).count(), 2);

    std::fs::write(
        dir.path().join("my-snomed.toml"),
        "[codes]\n44054006 = { icd10cm = \"E10.9\", display = \"Type 1 diabetes mellitus without complications\" }\n",
    )
    .unwrap();
    let err = run(&PipelineConfig::load(&config).unwrap(), &out)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("my-snomed.toml") && err.contains("codes.44054006") && err.contains("E10.9"),
        "{err}"
    );
}
