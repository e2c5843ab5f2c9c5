//! `carelab serve --demo` (the tour's serving step): every call it makes
//! answers as it should, the load test is clean, and the audit log holds
//! one verified record per request.

use crate::serve_support;

use carelab::formats::fhir;
use carelab::synth::{Population, Scenario};

#[test]
fn the_demo_calls_loads_and_audits() {
    let work = tempfile::tempdir().unwrap();
    let run = serve_support::tiny_model(work.path());
    let scenario = Scenario::load("baseline").unwrap();
    let pop = Population::new(&scenario, 42);
    let mut ndjson = String::new();
    for i in 0..5 {
        ndjson.push_str(&fhir::bundle(&pop.patient(i)).to_string());
        ndjson.push('\n');
    }
    let bundles = work.path().join("bundles.ndjson");
    std::fs::write(&bundles, ndjson).unwrap();
    let logs = work.path().join("logs");

    let report = carelab::serve::demo::run(
        run.to_str().unwrap(),
        None,
        &bundles,
        &logs,
        300,
        &carelab::ui::Ui::silent(),
    )
    .unwrap();
    assert!(report.json_risk > 0.0 && report.json_risk < 1.0);
    let fhir_risk = report.fhir_risk.expect("one of five Bundles scores");
    assert!(fhir_risk > 0.0 && fhir_risk < 1.0);
    assert_eq!(
        report.rejected_fields,
        vec!["age (wrong_type)", "los_days (missing)"]
    );
    assert_eq!(report.load.requests, 300);
    assert_eq!(report.load.status.get(&200), Some(&300));
    assert_eq!((report.load.errors, report.load.server_errors), (0, 0));
    // json + each Bundle tried + the bad request + the load test
    let calls = 1 + (1 + report.fhir_refused.len() as u64) + 1 + 300;
    assert!(report.audit_ok);
    assert_eq!(report.audit_records, calls);
    let predictions = carelab::serve::read_prediction_log(logs.join("predictions.jsonl")).unwrap();
    assert_eq!(predictions.len() as u64, 1 + 1 + 300);
}
