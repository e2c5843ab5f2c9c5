//! The legacy-messy silos: deterministic, readable back through their
//! layout, and every defect in truth/defects.csv is really in the files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use carelab::formats::legacy::Layout;

fn generate(out: &Path, patients: u32, formats: &str) {
    let status = Command::new(env!("CARGO_BIN_EXE_carelab"))
        .args(["--no-progress", "-q", "data", "generate"])
        .args(["--scenario", "legacy-messy", "--seed", "7"])
        .args(["--patients", &patients.to_string(), "--formats", formats])
        .arg("--out")
        .arg(out)
        .status()
        .unwrap();
    assert!(status.success());
}

fn csv_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(String::from))
                .collect()
        })
        .collect()
}

const FILES: [&str; 9] = [
    "registration.txt",
    "registration.layout.toml",
    "labs.hl7",
    "clinic/bundles.ndjson",
    "pharmacy.csv",
    "crosswalk.csv",
    "pipeline.toml",
    "truth/linkage.csv",
    "truth/defects.csv",
];

#[test]
fn same_seed_gives_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    generate(&a, 120, "legacy");
    generate(&b, 120, "legacy");
    for f in FILES {
        let x = std::fs::read(a.join("legacy").join(f)).unwrap();
        let y = std::fs::read(b.join("legacy").join(f)).unwrap();
        assert!(!x.is_empty(), "{f} is empty");
        assert!(x == y, "{f} differs between two runs with the same seed");
    }
}

/// One shared generation for the content tests (CSV beside the silos so
/// the clean values can be compared).
fn generated() -> &'static Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path(), 250, "csv,legacy");
        dir
    })
    .path()
}

#[test]
fn registration_reads_back_through_its_layout_with_the_clean_values() {
    let out = generated();
    let legacy = out.join("legacy");
    let layout = Layout::load(&legacy.join("registration.layout.toml")).unwrap();
    let text = std::fs::read_to_string(legacy.join("registration.txt")).unwrap();
    let defects = csv_rows(&legacy.join("truth/defects.csv"));
    let defect_lines: BTreeSet<usize> = defects
        .iter()
        .filter(|d| d["source"] == "registration")
        .map(|d| d["line"].parse().unwrap())
        .collect();
    let patients: BTreeMap<String, BTreeMap<String, String>> = csv_rows(&out.join("patients.csv"))
        .into_iter()
        .map(|p| (p["mrn"].clone(), p))
        .collect();
    let mut checked = 0;
    for (i, rec) in layout
        .read_text("registration.txt", &text)
        .into_iter()
        .enumerate()
    {
        let line = i + 1;
        if defect_lines.contains(&line) {
            continue;
        }
        let rec = rec.unwrap_or_else(|e| panic!("clean line {line} does not read: {e}"));
        if rec.code != "P" {
            continue;
        }
        let p = &patients[&rec.fields["mrn"]];
        for f in ["family_name", "given_name", "sex", "zip", "ssn", "city"] {
            assert_eq!(rec.fields[f], p[f], "line {line} field {f}");
        }
        assert_eq!(rec.fields["birth_date"], p["birth_date"].replace('-', ""));
        checked += 1;
    }
    // all but the few patient lines with a defect
    assert!(checked > 200, "only {checked} clean patient lines");
}

/// The OBX segment of a message carrying observation `id` (OBX-4).
fn obx<'m>(message: &'m str, id: &str) -> Vec<&'m str> {
    message
        .split('\r')
        .map(|s| s.split('|').collect::<Vec<_>>())
        .find(|f| f[0] == "OBX" && f.get(4) == Some(&id))
        .unwrap_or_else(|| panic!("no OBX for {id}"))
}

#[test]
fn every_recorded_defect_is_really_in_the_files() {
    let legacy = generated().join("legacy");
    let layout = Layout::load(&legacy.join("registration.layout.toml")).unwrap();
    let registration = std::fs::read_to_string(legacy.join("registration.txt")).unwrap();
    let reg_lines: Vec<&str> = registration.lines().collect();
    let labs = std::fs::read_to_string(legacy.join("labs.hl7")).unwrap();
    let messages: Vec<&str> = labs.split('\n').filter(|m| !m.is_empty()).collect();
    let defects = csv_rows(&legacy.join("truth/defects.csv"));
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for d in &defects {
        *kinds.entry(d["kind"].clone()).or_default() += 1;
        assert_ne!(d["clean_value"], d["injected_value"], "{d:?}");
        match d["source"].as_str() {
            "registration" => {
                let n: usize = d["line"].parse().unwrap();
                let line = reg_lines[n - 1];
                if d["kind"] == "truncated_record" {
                    assert_eq!(line, d["injected_value"]);
                    assert!(layout.read_line("r", n, line).is_err(), "line {n} reads");
                    continue;
                }
                let rec = layout.read_line("r", n, line).unwrap();
                assert_eq!(rec.fields[&d["field"]], d["injected_value"], "{d:?}");
            }
            "labs" => {
                let n: usize = d["line"].parse().unwrap();
                let seg = obx(messages[n - 1], &d["record_id"]);
                let code = seg[3].split('^').next().unwrap();
                let unit = seg[6].split('^').next().unwrap();
                let found = match d["field"].as_str() {
                    "value" => seg[5].to_string(),
                    "code" => code.to_string(),
                    "unit" => format!("{} {unit}", seg[5]),
                    other => panic!("unexpected lab field {other}"),
                };
                assert_eq!(found, d["injected_value"], "{d:?}");
            }
            "pharmacy" => assert_eq!(d["kind"], "latin1_encoding"),
            other => panic!("unexpected source {other}"),
        }
    }
    // every kind the scenario asks for shows up in 250 patients
    for k in [
        "duplicate_patient",
        "mixed_date_format",
        "missing_value",
        "placeholder",
        "impossible_value",
        "truncated_record",
        "mixed_unit",
        "local_code",
        "latin1_encoding",
    ] {
        assert!(
            kinds.get(k).copied().unwrap_or(0) > 0,
            "no {k} in {kinds:?}"
        );
    }
}

#[test]
fn pharmacy_is_windows_1252_with_real_accents() {
    let bytes = std::fs::read(generated().join("legacy/pharmacy.csv")).unwrap();
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "pharmacy.csv is UTF-8"
    );
    let (text, encoding) = carelab::ingest::raw::decode_text(&bytes);
    assert_eq!(encoding, carelab::ingest::raw::TextEncoding::Latin1);
    assert!(text.starts_with("rx_number,pharmacy_patient_id,family_name"));
    let accented = ["é", "á", "í", "ó", "ñ", "ü", "ë"];
    assert!(accented.iter().any(|a| text.contains(a)), "no accents");
}

#[test]
fn linkage_truth_covers_every_local_id_and_the_crosswalk_is_true() {
    let legacy = generated().join("legacy");
    let truth: BTreeMap<(String, String), String> = csv_rows(&legacy.join("truth/linkage.csv"))
        .into_iter()
        .map(|r| {
            (
                (r["source"].clone(), r["source_patient_id"].clone()),
                r["patient_id"].clone(),
            )
        })
        .collect();
    // every registration MRN (P lines that are whole) is in the truth
    let text = std::fs::read_to_string(legacy.join("registration.txt")).unwrap();
    for line in text.lines().filter(|l| l.starts_with('P') && l.len() > 20) {
        let mrn = line[1..10].trim();
        assert!(
            truth.contains_key(&("registration".into(), mrn.into())),
            "{mrn}"
        );
    }
    let crosswalk = csv_rows(&legacy.join("crosswalk.csv"));
    assert!(crosswalk.len() > 50);
    for c in &crosswalk {
        let a = &truth[&(c["source_a"].clone(), c["id_a"].clone())];
        let b = &truth[&(c["source_b"].clone(), c["id_b"].clone())];
        assert_eq!(a, b, "crosswalk links two people: {c:?}");
    }
    // the four systems each know people under their own ids
    let sources: BTreeSet<&str> = truth.keys().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        sources,
        BTreeSet::from(["clinic", "labs", "pharmacy", "registration"])
    );
}
