//! Three paths agree: the same generated `baseline` population, exported as
//! CSV, Parquet, FHIR (bundles and Bulk NDJSON) and HL7 v2, ingests to the
//! same analysis table.
//!
//! HL7 v2 ADT/ORU messages carry no chronic conditions and no medication
//! orders, so the HL7 table cannot carry the features made from them; those
//! columns are named here, asserted to be the "absent" values, and every
//! other column must be equal.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Features computed from conditions or medications: not in an HL7 v2 feed.
const NOT_IN_HL7: [&str; 8] = [
    "htn",
    "t2dm",
    "chf",
    "copd",
    "ckd",
    "afib",
    "depression",
    "n_medications",
];

fn carelab(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_carelab"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "carelab {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let gen = root.join("gen");
        carelab(&[
            "data",
            "generate",
            "--scenario",
            "baseline",
            "--patients",
            "100",
            "--formats",
            "csv,parquet,fhir,hl7v2",
            "--out",
            gen.to_str().unwrap(),
        ]);
        Fixture { _dir: dir, root }
    })
}

/// Ingest `flag PATH` once (cached by output name) and return analysis.csv.
/// CareLab's HL7 v2 feed names each patient in PID-3 by the generator's
/// patient id (type PI) beside the MRN (MR): the comparison with the other
/// formats, keyed by patient id, says so with `--hl7-patient-id PI` (the
/// default rule would key the HL7 path by MRN).
fn ingest(name: &str, flag: &str, rel: &str) -> String {
    let f = fixture();
    let out = f.root.join(name);
    if !out.join("analysis.csv").exists() {
        let src = f.root.join("gen").join(rel);
        let mut args = vec!["ingest", flag, src.to_str().unwrap()];
        if flag == "--hl7" {
            args.extend(["--hl7-patient-id", "PI"]);
        }
        args.extend(["--out", out.to_str().unwrap()]);
        carelab(&args);
    }
    read(&out.join("analysis.csv"))
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

fn csv_table() -> String {
    static T: OnceLock<String> = OnceLock::new();
    T.get_or_init(|| ingest("csv", "--csv", "")).clone()
}

fn quarantined(name: &str) -> u64 {
    let m: serde_json::Value =
        serde_json::from_str(&read(&fixture().root.join(name).join("manifest.json"))).unwrap();
    m["counts"]["quarantined"].as_u64().unwrap()
}

#[test]
fn parquet_gives_the_byte_identical_analysis_table() {
    let csv = csv_table();
    assert!(
        csv.lines().count() > 100,
        "a real table: {} lines",
        csv.lines().count()
    );
    assert_eq!(ingest("parquet", "--parquet", ""), csv);
    assert_eq!(quarantined("parquet"), 0);
}

#[test]
fn fhir_bundles_and_bulk_ndjson_give_the_byte_identical_analysis_table() {
    let csv = csv_table();
    assert_eq!(ingest("fhir", "--fhir", "fhir"), csv);
    assert_eq!(ingest("bulk", "--fhir", "fhir/bulk"), csv);
    assert_eq!(quarantined("fhir"), 0);
    assert_eq!(quarantined("bulk"), 0);
}

#[test]
fn hl7v2_gives_the_same_table_except_condition_and_medication_features() {
    let csv = csv_table();
    let hl7 = ingest("hl7", "--hl7", "hl7v2/feed.hl7");
    assert_eq!(quarantined("hl7"), 0);
    let mut a = csv::Reader::from_reader(csv.as_bytes());
    let mut b = csv::Reader::from_reader(hl7.as_bytes());
    let header = a.headers().unwrap().clone();
    assert_eq!(&header, b.headers().unwrap());
    for name in NOT_IN_HL7 {
        assert!(header.iter().any(|h| h == name), "no column {name}");
    }
    let rows_a: Vec<csv::StringRecord> = a.records().map(Result::unwrap).collect();
    let rows_b: Vec<csv::StringRecord> = b.records().map(Result::unwrap).collect();
    assert_eq!(rows_a.len(), rows_b.len());
    let mut compared = 0;
    let mut csv_has_conditions = false;
    for (ra, rb) in rows_a.iter().zip(&rows_b) {
        for (i, col) in header.iter().enumerate() {
            if NOT_IN_HL7.contains(&col) {
                // absent in HL7: no condition, no medication
                assert_eq!(rb[i].parse::<f64>().unwrap(), 0.0, "{col}");
                csv_has_conditions |= ra[i].parse::<f64>().unwrap() != 0.0;
            } else {
                assert_eq!(ra[i], rb[i], "column {col} differs");
                compared += 1;
            }
        }
    }
    assert!(csv_has_conditions, "the CSV path carries conditions");
    assert!(compared > 20 * rows_a.len());
}

/// Without `--data-end`, ingest ends the data at the latest admission it
/// holds, so it labels no stay whose 30 days of follow-up the export does
/// not cover: every row it makes is one the generator made too (the
/// generator knows the true end of its window), with the same label. On
/// this fixture a stay runs past the generator's window, and ending the
/// data at its discharge gave two extra stays labelled "not readmitted".
#[test]
fn the_default_data_end_labels_only_stays_whose_follow_up_is_covered() {
    let labels = |text: &str| -> std::collections::BTreeMap<String, String> {
        let mut rows = text.lines();
        let header: Vec<&str> = rows.next().unwrap().split(',').collect();
        let label = header.iter().position(|h| *h == "readmit_30d").unwrap();
        rows.map(|r| {
            let cells: Vec<&str> = r.split(',').collect();
            (cells[0].to_string(), cells[label].to_string())
        })
        .collect()
    };
    let ingested = labels(&csv_table());
    let generated = labels(&read(&fixture().root.join("gen/analysis.csv")));
    assert!(ingested.len() > 150, "{}", ingested.len());
    for (stay, label) in &ingested {
        assert_eq!(generated.get(stay), Some(label), "stay {stay}");
    }
    let manifest: serde_json::Value =
        serde_json::from_str(&read(&fixture().root.join("csv/manifest.json"))).unwrap();
    let end = manifest["details"]["data_end"].as_str().unwrap();
    assert!(end < "2025-01-01T00:00:00", "{end}");
}
