//! `carelab tour` end to end on a small population: every stage runs, and
//! what each made holds the values the next stage relies on.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_carelab");

#[test]
fn the_tour_runs_every_stage_and_the_outputs_agree() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tour");
    let run = Command::new(BIN)
        .args([
            "--json",
            "--no-progress",
            "tour",
            "--patients",
            "300",
            "--seed",
            "3",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "tour failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("\"step\": \"promote it to production\""));

    // ingest of the clean CSV exports reproduces the generator's analysis table
    let generated = std::fs::read(out.join("data/analysis.csv")).unwrap();
    let ingested = std::fs::read(out.join("clean/analysis.csv")).unwrap();
    assert_eq!(
        generated, ingested,
        "CSV ingest must give the generator's analysis table"
    );

    // evaluation sits below the Bayes ceiling of the same rows
    let eval: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("runs/mlp/eval/eval.json")).unwrap(),
    )
    .unwrap();
    let text = eval.to_string();
    assert!(
        text.contains("bayes"),
        "eval reports the Bayes-optimal AUROC"
    );

    // the de-identified notes carry no name of any patient
    let notes = std::fs::read_to_string(out.join("deid/notes.csv")).unwrap();
    let patients = std::fs::read_to_string(out.join("data/patients.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(patients.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let family = headers.iter().position(|h| h == "family_name").unwrap();
    for rec in reader.records().take(50) {
        let name = rec.unwrap()[family].to_string();
        assert!(
            !notes.contains(&format!(" {name} ")),
            "a family name survived in notes"
        );
    }

    // a second tour into the same folder is refused, not merged
    let again = Command::new(BIN)
        .args(["-q", "tour", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
}
