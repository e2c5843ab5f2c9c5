//! Lab 11 (into the clinician's workflow) end to end: the starter fails
//! every check on the learner's work, the reference solution passes, and
//! plausible wrong work (the alias on another model, a discharge with no
//! card, the inference protocol asked of a model under another name, a
//! misread band or status) fails exactly the check that should catch it,
//! without saying what it wanted.

use std::fs;
use std::path::Path;

use carelab::labs::workspace::Workspace;
use carelab::labs::Catalog;
use serde_json::Value;

use crate::cli_support::{exe, failed_checks};

fn json(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

fn carelab(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = std::process::Command::new(exe())
        .current_dir(dir)
        .env_remove("CARELAB_REGISTRY")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn solution_passes_and_plausible_wrong_work_fails() {
    let catalog = Catalog::builtin().unwrap();
    let lab = catalog.find("11").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut ws = Workspace::open(&dir.path().join("w"), Some(7), None, &exe()).unwrap();
    ws.start(lab).unwrap();
    let d = ws.lab_dir(&lab.spec);

    let starter = ws.check(lab).unwrap();
    let passed: Vec<&str> = starter
        .checks
        .iter()
        .filter(|c| c.passed)
        .map(|c| c.id.as_str())
        .collect();
    assert!(passed.is_empty(), "the starter passes {passed:?}");

    ws.solve(lab, Default::default()).unwrap();
    let report = ws.check(lab).unwrap();
    assert!(report.complete, "{:#?}", report.checks);
    // The solution's hook request is the play EHR's: a discharge with the
    // stay's own results, references as a FHIR server gives them.
    let hook = json(&d.join("hook.json"));
    assert_eq!(hook["hook"], "encounter-discharge");
    let stay = hook["context"]["encounterId"].as_str().unwrap();
    assert_eq!(hook["prefetch"]["encounter"]["id"], stay);
    for e in hook["prefetch"]["observations"]["entry"]
        .as_array()
        .unwrap()
    {
        assert_eq!(
            e["resource"]["encounter"]["reference"],
            format!("Encounter/{stay}")
        );
    }

    // Wrong answers: the band next door, the status for a known caller
    // without the right, and the card's risk for the protocol's.
    let answers = d.join("answers.toml");
    let right = fs::read_to_string(&answers).unwrap();
    let band = json(&d.join("card.json"))["cards"][0]["indicator"]
        .as_str()
        .unwrap()
        .to_string();
    let other = if band == "info" { "warning" } else { "info" };
    let wrong = right
        .replace(
            &format!("card_indicator = \"{band}\""),
            &format!("card_indicator = \"{other}\""),
        )
        .replace("status_replayed = 401", "status_replayed = 403");
    assert_ne!(wrong, right);
    fs::write(&answers, &wrong).unwrap();
    let report = ws.check(lab).unwrap();
    assert_eq!(
        failed_checks(&report),
        vec!["answer_indicator", "answer_replay"]
    );
    for c in report.checks.iter().filter(|c| !c.passed) {
        assert!(!c.detail.contains(&band), "{}", c.detail);
        assert!(!c.detail.contains("401"), "{}", c.detail);
    }
    fs::write(&answers, &right).unwrap();

    // A discharge below the threshold: an answer, but no card to read.
    let card = d.join("card.json");
    let kept = fs::read_to_string(&card).unwrap();
    fs::write(&card, "{\"cards\":[]}").unwrap();
    let report = ws.check(lab).unwrap();
    let failed = failed_checks(&report);
    assert!(
        failed.contains(&"card") && failed.contains(&"card_source"),
        "{failed:?}"
    );
    fs::write(&card, kept).unwrap();

    // The protocol asked of a model served under its run's other name.
    let infer = d.join("infer-answer.json");
    let mut answer = json(&infer);
    answer["model_name"] = "v1".into();
    fs::write(&infer, answer.to_string()).unwrap();
    let report = ws.check(lab).unwrap();
    assert_eq!(failed_checks(&report), vec!["oip_model"]);

    // champion moved to another model: the alias check names no run.
    carelab(
        &d,
        &[
            "train",
            "--data",
            "data/analysis.csv",
            "--model",
            "logreg",
            "--epochs",
            "2",
            "--seed",
            "2",
            "--out",
            "runs",
            "--name",
            "other",
            "--no-eval",
        ],
    );
    carelab(
        &d,
        &["models", "register", "readmission", "--run", "runs/other"],
    );
    carelab(&d, &["models", "alias", "readmission", "champion", "2"]);
    let report = ws.check(lab).unwrap();
    assert_eq!(failed_checks(&report), vec!["champion", "oip_model"]);
}

/// `serve --hook-request` reads one Bundle or picks a patient's line of an
/// NDJSON file, and says what is wrong with anything else.
#[test]
fn hook_request_names_what_it_cannot_use() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(
        d.join("two.ndjson"),
        "{\"resourceType\":\"Bundle\",\"entry\":[]}\n{\"resourceType\":\"Bundle\",\"entry\":[]}\n",
    )
    .unwrap();
    fs::write(
        d.join("broken.json"),
        "{\"resourceType\": \"Bundle\",\n \"entry\": [}",
    )
    .unwrap();
    fs::write(
        d.join("empty.json"),
        "{\"resourceType\":\"Bundle\",\"entry\":[]}",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(exe())
            .current_dir(d)
            .args(["serve", "--hook-request"])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["two.ndjson"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("two.ndjson holds 2 Bundles (NDJSON): name the patient with --patient"),
        "{err}"
    );
    let (code, err) = run(&["two.ndjson", "--patient", "P1"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("two.ndjson: no Bundle holds Patient \"P1\""),
        "{err}"
    );
    let (code, err) = run(&["broken.json"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("broken.json: line 2, column"), "{err}");
    let (code, err) = run(&["empty.json"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("empty.json: the record holds 0 Patient resources; name one with --patient"),
        "{err}"
    );
    let (code, err) = run(&["empty.json", "--hook", "order-select"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(
            "--hook: expected one of encounter-discharge, patient-view, found \"order-select\""
        ),
        "{err}"
    );
}
