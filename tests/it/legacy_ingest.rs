//! Ingest of the legacy-messy silos: counts reconcile per source, the
//! quality report catches the injected defects, linkage matches the truth.
//!
//! The test ingests every source of the generated `pipeline.toml` whose
//! kind this build's ingest knows (fixed_width and pharmacy_csv always;
//! hl7v2 and fhir once their adapters exist), and holds each defect kind to
//! its floor over the defects injected into the sources it ingested.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn carelab(args: &[&str], cwd: &Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_carelab"))
        .args(["--no-progress", "-q", "--json"])
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "carelab {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// The generated config, keeping the sources whose kind ingest can read.
fn supported_config(text: &str) -> (String, BTreeSet<String>) {
    let mut parts = text.split("[[source]]");
    let mut out = parts.next().unwrap_or_default().to_string();
    let mut kept = BTreeSet::new();
    for part in parts {
        let section = format!("[[source]]{part}");
        let parsed: Result<carelab::ingest::PipelineConfig, _> = toml::from_str(&section);
        if let Ok(cfg) = parsed {
            if let Some(s) = cfg.sources.first() {
                kept.insert(s.name.clone());
                out += &section;
            }
        }
    }
    (out, kept)
}

/// Kind -> share of its injected defects (in ingested sources) that must be
/// caught, and why.
fn floor(kind: &str) -> f64 {
    match kind {
        // every non-layout date is repaired, every cut line unreadable, the
        // only Latin-1 file detected: nothing may slip through
        "mixed_date_format" | "truncated_record" | "latin1_encoding" => 1.0,
        // each sits in a required field or is out of any plausible range
        "missing_value" | "placeholder" | "impossible_value" => 0.9,
        // every local code is in the map, every unit in units.toml
        "local_code" | "mixed_unit" => 0.9,
        // a duplicate is caught only if linkage merges it; its original
        // registration may itself be quarantined (missing sex, placeholder
        // birth date), leaving nothing in the source to merge with
        "duplicate_patient" => 0.7,
        _ => 1.0,
    }
}

#[test]
fn legacy_messy_ingests_reconciles_and_catches_its_defects() {
    let dir = tempfile::tempdir().unwrap();
    let gen = dir.path().join("gen");
    carelab(
        &[
            "data",
            "generate",
            "--scenario",
            "legacy-messy",
            "--patients",
            "250",
            "--seed",
            "7",
            "--formats",
            "legacy",
            "--out",
            gen.to_str().unwrap(),
        ],
        dir.path(),
    );
    let legacy = gen.join("legacy");
    let text = std::fs::read_to_string(legacy.join("pipeline.toml")).unwrap();
    let (config, sources) = supported_config(&text);
    assert!(sources.contains("registration") && sources.contains("pharmacy"));
    std::fs::write(legacy.join("supported.toml"), config).unwrap();
    let clean = dir.path().join("clean");
    let summary = carelab(
        &[
            "ingest",
            "--config",
            legacy.join("supported.toml").to_str().unwrap(),
            "--out",
            clean.to_str().unwrap(),
        ],
        dir.path(),
    );
    let q = &summary["quality"];

    // in = out + quarantined, per source and table
    for s in &sources {
        let tables = q["sources"][s]["tables"].as_object().unwrap();
        assert!(!tables.is_empty(), "{s} read nothing");
        for (table, c) in tables {
            let (i, o, x) = (
                c["in"].as_u64().unwrap(),
                c["out"].as_u64().unwrap(),
                c["quarantined"].as_u64().unwrap(),
            );
            assert_eq!(i, o + x, "{s} {table}: {i} != {o} + {x}");
        }
    }
    // every registration line is a record: nothing dropped on the way in
    let lines = std::fs::read_to_string(legacy.join("registration.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count() as u64;
    let reg_in: u64 = q["sources"]["registration"]["tables"]
        .as_object()
        .unwrap()
        .values()
        .map(|c| c["in"].as_u64().unwrap())
        .sum();
    assert_eq!(reg_in, lines);

    // defects: per kind, caught >= floor x injected into ingested sources
    let mut reader = csv::Reader::from_path(legacy.join("truth/defects.csv")).unwrap();
    let mut injected: BTreeMap<String, u64> = BTreeMap::new();
    for rec in reader.records() {
        let rec = rec.unwrap();
        if sources.contains(&rec[0]) {
            *injected.entry(rec[5].to_string()).or_default() += 1;
        }
    }
    assert!(injected.len() >= 6, "{injected:?}");
    for (kind, n) in &injected {
        let caught = q["defects"][kind]["caught"].as_u64().unwrap_or(0);
        let need = (floor(kind) * *n as f64).ceil() as u64;
        assert!(
            caught >= need,
            "{kind}: caught {caught} of {n} injected, floor {need}"
        );
    }
    // the report says which rule caught them
    assert_eq!(
        q["defects"]["mixed_date_format"]["by_rule"]["date_format"],
        q["defects"]["mixed_date_format"]["caught"]
    );
    assert!(q["defects"]["latin1_encoding"]["by_rule"]["encoding"] == 1);

    // linkage against the truth: the silos agree on name, birth date, sex
    // and ZIP except the duplicates' one variation, so little is missed; a
    // false merge puts one patient's results in another's chart, so the
    // goal is none (precision 0.9995 allows one false pair in 2000)
    let l = &q["linkage"]["quality"];
    assert!(l["precision"].as_f64().unwrap() >= 0.9995, "{l}");
    assert!(l["recall"].as_f64().unwrap() >= 0.995, "{l}");
    // the review queue is reported with its size: one row of
    // linkage_review.csv a pair, conflicts among them
    let review = csv::Reader::from_path(clean.join("linkage_review.csv"))
        .unwrap()
        .records()
        .count() as u64;
    let queue = &q["linkage"];
    assert_eq!(queue["review_pairs"].as_u64(), Some(review), "{queue}");
    assert!(
        queue["review_conflicts"].as_u64().unwrap() <= review,
        "{queue}"
    );

    // the report is also written for people
    let md = std::fs::read_to_string(clean.join("quality.md")).unwrap();
    assert!(md.contains("## Injected defects caught"), "{md}");
}
