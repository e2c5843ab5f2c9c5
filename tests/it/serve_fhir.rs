//! `POST /v1/predict/fhir`: a patient's FHIR R4 Bundle is scored through the
//! same ingest and feature code as training, so its risk equals offline
//! scoring of the generator's analysis row; bad Bundles get JSON 4xx.

use crate::serve_support;

use std::collections::BTreeMap;

use carelab::clinical::analysis::{analysis_rows, read_analysis_csv, PatientRecords};
use carelab::clinical::{AnalysisRow, PatientBundle};
use carelab::formats::fhir;
use carelab::synth::{Population, Scenario};
use serde_json::{json, Value};
use serve_support::{post, post_bytes, start, tiny_model};

/// A patient's records up to the discharge of `stay`, as a hospital would
/// hold them on the day it ends: later stays are not there yet.
pub(crate) fn as_of_discharge(b: &PatientBundle, stay: &str) -> PatientBundle {
    let end = b
        .encounters
        .iter()
        .find(|e| e.encounter_id == stay)
        .unwrap()
        .discharge_time
        .unwrap();
    let encounters: Vec<_> = b
        .encounters
        .iter()
        .filter(|e| e.admit_time <= end)
        .cloned()
        .collect();
    let kept = |id: &str| encounters.iter().any(|e| e.encounter_id == id);
    PatientBundle {
        patient: b.patient.clone(),
        observations: b
            .observations
            .iter()
            .filter(|o| kept(&o.encounter_id))
            .cloned()
            .collect(),
        notes: b
            .notes
            .iter()
            .filter(|n| kept(&n.encounter_id))
            .cloned()
            .collect(),
        conditions: b.conditions.clone(),
        medications: b.medications.clone(),
        encounters,
        ..Default::default()
    }
}

/// The first `n` patients of a scenario with an index stay: their clean
/// records and the generator's analysis rows.
pub(crate) fn patients(
    scenario: &Scenario,
    seed: u64,
    n: usize,
) -> Vec<(PatientBundle, Vec<AnalysisRow>)> {
    let pop = Population::new(scenario, seed);
    let mut out = Vec::new();
    for index in 0.. {
        let mut b = pop.patient(index);
        carelab::synth::notes::add_notes(&pop, index, &mut b);
        let rows = {
            let p = b.patient.as_ref().unwrap();
            analysis_rows(
                &PatientRecords {
                    patient: p,
                    encounters: &b.encounters,
                    observations: &b.observations,
                    conditions: &b.conditions,
                    medications: &b.medications,
                },
                pop.data_end,
            )
        };
        if !rows.is_empty() {
            out.push((b, rows));
        }
        if out.len() == n {
            break;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fhir_risk_equals_offline_scoring_of_the_same_stay() {
    let work = tempfile::tempdir().unwrap();
    let run = tiny_model(work.path());
    let model = carelab::train::Model::load(&run).unwrap();
    // The committed table was generated from the baseline scenario, seed 42.
    let table: BTreeMap<String, AnalysisRow> = read_analysis_csv(serve_support::baseline_table())
        .unwrap()
        .into_iter()
        .map(|r| (r.stay_id.clone(), r))
        .collect();
    let server = start(run.to_str().unwrap()).await;
    let scenario = Scenario::load("baseline").unwrap();
    let mut checked = 0;
    for (b, rows) in patients(&scenario, 42, 6) {
        // Every index stay of the first patient, the last one of the others.
        let stays: Vec<&AnalysisRow> = if checked == 0 {
            rows.iter().collect()
        } else {
            rows.last().into_iter().collect()
        };
        for generated in stays {
            let offline_row = &table[&generated.stay_id];
            assert_eq!(
                offline_row, generated,
                "the committed table is this population"
            );
            let offline = model.score(std::slice::from_ref(offline_row)).unwrap()[0];
            let bundle = fhir::bundle(&as_of_discharge(&b, &generated.stay_id));
            let (status, answer) = post(server.addr, "/v1/predict/fhir", &bundle).await;
            assert_eq!(status, 200, "{answer}");
            assert_eq!(answer["stay_id"], json!(generated.stay_id));
            let served = answer["risk"].as_f64().unwrap();
            assert!(
                (served - offline).abs() < 1e-9,
                "stay {}: served {served}, offline {offline}",
                generated.stay_id
            );
            assert_eq!(
                answer["features"],
                Value::Object(carelab::serve::input::row_to_json(offline_row))
            );
            assert_eq!(answer["quarantined"], json!([]));
            let notes = answer["skipped_types"]["DocumentReference"]
                .as_u64()
                .unwrap_or(0);
            assert!(notes >= 1, "notes are read, counted and not used");
            checked += 1;
        }
    }
    assert!(checked >= 6, "checked {checked} stays");
    let dir = server.stop().await;
    // The prediction log holds the patient as a pseudonym, never the id.
    let log = std::fs::read_to_string(dir.path().join("preds.jsonl")).unwrap();
    assert_eq!(log.lines().count(), checked);
    assert!(!log.contains("\"P0"), "no raw patient id in the log");
}

/// A site that sends local codes and other units: ingest's maps bring the
/// values back to the canonical units the model was trained on, and a code
/// the maps lack is quarantined exactly as ingest quarantines it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_codes_and_units_are_mapped_as_ingest_maps_them() {
    let work = tempfile::tempdir().unwrap();
    let run = tiny_model(work.path());
    let model = carelab::train::Model::load(&run).unwrap();
    let server = start(run.to_str().unwrap()).await;
    let scenario = Scenario::load("site-b").unwrap();
    let maps = carelab::ingest::maps::Maps::builtin().unwrap();
    let (mut mapped, mut converted) = (0, 0);
    for (b, rows) in patients(&scenario, 5, 4) {
        let row = rows.last().unwrap();
        let clean = as_of_discharge(&b, &row.stay_id);
        let presented = carelab::synth::site::present(&clean, &scenario);
        for o in &presented.observations {
            if carelab::clinical::Measure::from_loinc(&o.code).is_none()
                && maps.resolve_code(&o.code).is_some()
            {
                mapped += 1;
            }
            if let Some(m) = maps.resolve_code(&o.code) {
                converted += usize::from(maps.normalize_unit(&o.unit) != m.measure().unit());
            }
        }
        let (status, answer) =
            post(server.addr, "/v1/predict/fhir", &fhir::bundle(&presented)).await;
        assert_eq!(status, 200, "{answer}");
        // What ingest would give: the clean records less what it quarantines.
        let quarantined: Vec<&str> = answer["quarantined"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["id"].as_str().unwrap())
            .collect();
        let kept: Vec<_> = clean
            .observations
            .iter()
            .filter(|o| !quarantined.contains(&o.observation_id.as_str()))
            .cloned()
            .collect();
        let stay = clean
            .encounters
            .iter()
            .find(|e| e.encounter_id == row.stay_id)
            .unwrap();
        let expected = carelab::clinical::analysis::features_at_discharge(
            &PatientRecords {
                patient: clean.patient.as_ref().unwrap(),
                encounters: &clean.encounters,
                observations: &kept,
                conditions: &clean.conditions,
                medications: &clean.medications,
            },
            stay,
            stay.discharge_time.unwrap(),
        );
        // The site rounds what it sends (glucose to 0.1 mmol/L, creatinine to
        // 1 umol/L): converted back, values agree to that rounding.
        let tolerance = |name: &str| match name {
            "glucose" => 0.05 * 18.0 + 1e-6,
            "creatinine" => 0.5 / 88.42 + 1e-6,
            _ => 1e-9,
        };
        for (name, v) in carelab::serve::input::row_to_json(&expected) {
            match (v.as_f64(), answer["features"][&name].as_f64()) {
                (Some(a), Some(b)) => {
                    assert!((a - b).abs() <= tolerance(&name), "{name}: {a} vs {b}")
                }
                _ => assert_eq!(answer["features"][&name], v, "{name}"),
            }
        }
        // And the risk is the model's score of exactly those features.
        let info = carelab::serve::load_model(run.to_str().unwrap())
            .unwrap()
            .info();
        let served_row = carelab::serve::input::parse_predict(&answer["features"], &info)
            .unwrap()
            .row;
        let offline = model.score(&[served_row]).unwrap()[0];
        assert!((answer["risk"].as_f64().unwrap() - offline).abs() < 1e-12);
    }
    assert!(
        mapped > 0 && converted > 0,
        "site-b sends local codes ({mapped}) and other units ({converted})"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bundles_get_json_errors_that_name_the_problem() {
    let work = tempfile::tempdir().unwrap();
    let run = tiny_model(work.path());
    let server = start(run.to_str().unwrap()).await;
    let scenario = Scenario::load("baseline").unwrap();
    let (b, rows) = patients(&scenario, 42, 1).remove(0);
    let good = fhir::bundle(&as_of_discharge(&b, &rows[0].stay_id));
    let entries = good["entry"].as_array().unwrap().clone();
    let only = |kind: &str| -> Vec<Value> {
        entries
            .iter()
            .filter(|e| e["resource"]["resourceType"] == kind)
            .cloned()
            .collect()
    };
    let bundle_of = |entries: Vec<Value>| json!({"resourceType": "Bundle", "type": "collection", "entry": entries});

    let addr = server.addr;
    let (status, body) = post_bytes(addr, "/v1/predict/fhir", b"{\"resourceType\": \"Bun").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_json"))
    );

    let patient = only("Patient")[0]["resource"].clone();
    let (status, body) = post(addr, "/v1/predict/fhir", &patient).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("not_a_bundle"))
    );
    assert!(!body
        .to_string()
        .contains(b.patient.as_ref().unwrap().family_name.as_str()));

    let (status, body) = post(addr, "/v1/predict/fhir", &json!([1, 2])).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("not_a_bundle"))
    );

    let (status, body) = post(addr, "/v1/predict/fhir", &bundle_of(vec![])).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("no_patient")),
        "{body}"
    );

    let (status, body) = post(addr, "/v1/predict/fhir", &bundle_of(only("Patient"))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("no_discharge")),
        "{body}"
    );

    let mut twice = only("Patient");
    let mut other = twice[0].clone();
    other["resource"]["id"] = json!("someone-else");
    other["fullUrl"] = json!("urn:uuid:00000000-0000-5000-8000-000000000000");
    twice.push(other);
    twice.extend(only("Encounter"));
    let (status, body) = post(addr, "/v1/predict/fhir", &bundle_of(twice)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("several_patients")),
        "{body}"
    );

    // An unreadable entry fails the request and is named by its index.
    let mut broken = entries.clone();
    let i = broken
        .iter()
        .position(|e| e["resource"]["resourceType"] == "Observation")
        .unwrap();
    broken[i]["resource"]["valueQuantity"]["value"] = json!("high");
    let (status, body) = post(addr, "/v1/predict/fhir", &bundle_of(broken)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("invalid_resources")),
        "{body}"
    );
    let problems = body["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1);
    let text = problems[0].as_str().unwrap();
    assert!(
        text.contains(&format!("entry {i}")) && text.contains("valueQuantity.value"),
        "{text}"
    );

    // A unit ingest does not know: the measurement is quarantined, listed,
    // and left out of the row, as it would be in training.
    let mut odd = entries.clone();
    let j = odd
        .iter()
        .position(|e| {
            e["resource"]["resourceType"] == "Observation" && e["resource"]["encounter"].is_object()
        })
        .unwrap();
    odd[j]["resource"]["valueQuantity"]["code"] = json!("furlongs");
    odd[j]["resource"]["valueQuantity"]["unit"] = json!("furlongs");
    let obs_id = odd[j]["resource"]["id"].as_str().unwrap().to_string();
    let (status, body) = post(addr, "/v1/predict/fhir", &bundle_of(odd)).await;
    assert_eq!(status, 200, "{body}");
    let q = body["quarantined"].as_array().unwrap();
    assert_eq!(q.len(), 1, "{body}");
    assert_eq!(q[0]["id"], json!(obs_id));
    assert_eq!(q[0]["rule"], json!("unit"));

    server.stop().await;
}
