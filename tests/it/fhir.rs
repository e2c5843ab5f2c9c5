//! FHIR R4: writer output valid against the official R4 JSON schema
//! (vendored in tests/data), required elements the schema does not enforce,
//! Bundle and NDJSON round trips to the records, a malformed-input suite and
//! a no-panic property test.

use crate::fixture;

use carelab::formats::fhir;
use carelab::synth::{Population, Scenario};
use rand::Rng;
use serde_json::{json, Value};

/// The resource types CareLab writes, and the Bundle that carries them.
const WRITTEN: [&str; 7] = [
    "Patient",
    "Encounter",
    "Observation",
    "Condition",
    "MedicationRequest",
    "DocumentReference",
    "Bundle",
];

/// The official R4 JSON schema (tests/data/fhir.schema.json), with its
/// resource union narrowed to the types CareLab writes. The schema's root
/// and its `ResourceList` (what `Bundle.entry.resource` and every
/// `contained` point at) are a oneOf over all 146 resource types; the
/// validator compiles that union at every place that refers to it, which
/// took over 14 GB and ten minutes before the narrowing. Narrowed, each
/// resource is still checked against its own full definition, and the
/// check is stricter: an entry of any other type fails it.
fn schema_validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/fhir.schema.json"
    ))
    .unwrap();
    let mut schema: Value = serde_json::from_str(&text).unwrap();
    let union: Vec<Value> = WRITTEN
        .iter()
        .map(|k| json!({ "$ref": format!("#/definitions/{k}") }))
        .collect();
    assert_eq!(
        schema["definitions"]["ResourceList"]["oneOf"]
            .as_array()
            .unwrap()
            .len(),
        146
    );
    schema["definitions"]["ResourceList"] = json!({ "oneOf": union });
    schema["oneOf"] = json!(union);
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft6)
        .build(&schema)
        .unwrap()
}

fn ndjson(b: &carelab::clinical::PatientBundle) -> String {
    fhir::resources(b)
        .into_iter()
        .map(|(_, r)| format!("{}\n", serde_json::to_string(&r).unwrap()))
        .collect()
}

/// CareLab's Bundles and Bulk NDJSON resources for the fixture and for 20
/// generated patients (notes included) are valid against the schema.
#[test]
fn bundle_and_resources_are_schema_valid() {
    let validator = schema_validator();
    let scenario = Scenario::load("baseline").unwrap();
    let pop = Population::new(&scenario, 11);
    let mut bundles = vec![fixture::bundle()];
    for i in 0..20 {
        let mut b = pop.patient(i);
        carelab::synth::notes::add_notes(&pop, i, &mut b);
        bundles.push(b);
    }
    let mut resources = 0;
    for b in &bundles {
        let bundle = fhir::bundle(b);
        let errors: Vec<String> = validator
            .iter_errors(&bundle)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .take(5)
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
        for (kind, r) in fhir::resources(b) {
            assert_eq!(r["resourceType"], kind);
            assert!(validator.is_valid(&r), "{kind} {r}");
            resources += 1;
        }
    }
    assert!(resources > 200, "{resources}");
    // The schema does reject a broken resource: the check can fail.
    let mut bad = fhir::resources(&bundles[0])[0].1.clone();
    bad["gender"] = json!(42);
    assert!(!validator.is_valid(&bad));
    let mut bad = fhir::bundle(&bundles[0]);
    bad["entry"][1]["resource"]["period"]["start"] = json!("yesterday");
    assert!(!validator.is_valid(&bad));
}

#[test]
fn required_elements_the_schema_does_not_enforce() {
    let b = fixture::bundle();
    let bundle = fhir::bundle(&b);
    assert_eq!(bundle["type"], "transaction");
    let entries = bundle["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 1 + 2 + 2 + 5 + 1 + 1);
    let mut seen = std::collections::BTreeSet::new();
    for e in entries {
        let r = &e["resource"];
        let kind = r["resourceType"].as_str().unwrap();
        let url = e["fullUrl"].as_str().unwrap();
        assert!(url.starts_with("urn:uuid:") && url.len() == 45, "{url}");
        assert!(seen.insert(url.to_string()));
        assert_eq!(e["request"]["method"], "PUT");
        assert_eq!(
            e["request"]["url"],
            format!("{kind}/{}", r["id"].as_str().unwrap())
        );
        match kind {
            "Observation" => assert_eq!(r["status"], "final"),
            "MedicationRequest" => {
                assert_eq!(r["status"], "active");
                assert_eq!(r["intent"], "order");
            }
            "Encounter" => {
                assert_eq!(r["status"], "finished");
                assert_eq!(r["class"]["code"], "IMP");
            }
            "DocumentReference" => assert_eq!(r["status"], "current"),
            _ => {}
        }
        // Every reference points at a fullUrl in this Bundle.
        for path in ["/subject/reference", "/encounter/reference"] {
            if let Some(target) = r.pointer(path) {
                let target = target.as_str().unwrap();
                assert!(
                    entries.iter().any(|e| e["fullUrl"] == target),
                    "{kind} {path}"
                );
            }
        }
    }
    let obs = &entries[5]["resource"];
    assert_eq!(obs["code"]["coding"][0]["system"], "http://loinc.org");
    assert_eq!(obs["category"][0]["coding"][0]["code"], "vital-signs");
    assert_eq!(obs["valueQuantity"]["value"], 92.0);
    assert_eq!(obs["valueQuantity"]["system"], "http://unitsofmeasure.org");
    assert_eq!(obs["effectiveDateTime"], "2023-01-10T09:30:00+00:00");
    let local = &entries[9]["resource"];
    assert_eq!(
        local["code"]["coding"][0]["system"],
        "http://hospital.example/codes/lab"
    );
    assert_eq!(local["code"]["coding"][0]["code"], "GLU-LOC");
    assert_eq!(fhir::bundle(&b), bundle, "deterministic");
}

#[test]
fn bundle_and_ndjson_round_trip_to_records() {
    let b = fixture::bundle();
    let check = |read: fhir::FhirRead| {
        assert!(read.rejected.is_empty(), "{:?}", read.rejected);
        let r = read.records;
        assert_eq!(r.patients, vec![b.patient.clone().unwrap()]);
        assert_eq!(r.encounters, b.encounters);
        assert_eq!(r.observations, b.observations);
        assert_eq!(r.conditions, b.conditions);
        assert_eq!(r.medications, b.medications);
        assert_eq!(r.notes, b.notes);
        assert_eq!(read.seen, 12);
    };
    let text = serde_json::to_string_pretty(&fhir::bundle(&b)).unwrap();
    check(fhir::read_bundle("b.json", &text).unwrap());
    check(fhir::read_ndjson("all.ndjson", &ndjson(&b)));
}

#[test]
fn malformed_input_gives_clear_errors() {
    let err =
        fhir::read_bundle("b.json", "{\"resourceType\": \"Bundle\", \"entry\": [").unwrap_err();
    assert!(
        err.to_string().starts_with(
            "b.json (line 1, column 37): expected a JSON FHIR Bundle, found invalid JSON"
        ),
        "{err}"
    );
    let err = fhir::read_bundle("b.json", "{\"resourceType\": \"Patient\"}").unwrap_err();
    assert_eq!(
        err.to_string(),
        "b.json (Bundle): expected resourceType \"Bundle\", found \"Patient\""
    );

    let b = fixture::bundle();
    let mut lines: Vec<String> = ndjson(&b).lines().map(String::from).collect();
    let mut obs: Value = serde_json::from_str(&lines[5]).unwrap();
    obs["valueQuantity"]["value"] = json!("92");
    lines[5] = obs.to_string();
    let mut enc: Value = serde_json::from_str(&lines[1]).unwrap();
    enc.as_object_mut().unwrap().remove("resourceType");
    lines[1] = enc.to_string();
    lines[2] = "{\"resourceType\": \"Encounter\", \"id\": ".into();
    let mut note: Value = serde_json::from_str(&lines[11]).unwrap();
    note["content"][0]["attachment"]["data"] = json!("not*base64");
    lines[11] = note.to_string();
    lines.push(json!({"resourceType": "Practitioner", "id": "D1"}).to_string());
    lines.push(json!({"resourceType": "Practitioner", "id": "D2"}).to_string());
    lines.push(String::new());
    let read = fhir::read_ndjson("obs.ndjson", &lines.join("\n"));
    let errors: Vec<String> = read.rejected.iter().map(|e| e.to_string()).collect();
    assert_eq!(
        errors,
        [
            "obs.ndjson (line 2, resourceType): expected a resourceType element, found nothing",
            "obs.ndjson (line 3): expected one JSON object on the line, found invalid JSON at column 36: the text ends too early",
            "obs.ndjson (line 6, Observation.valueQuantity.value): expected a number, found a string of 2 characters",
            "obs.ndjson (line 12, DocumentReference.content[0].attachment.data): expected base64 data, found characters outside base64",
        ]
    );
    assert_eq!(read.skipped["Practitioner"].values().sum::<usize>(), 2);
    assert_eq!(read.seen, 14);
    assert_eq!(
        read.seen,
        read.records.len() + read.rejected.len() + read.skipped_count()
    );

    // Wrong types and bad references inside a Bundle name the entry index.
    let mut bundle = fhir::bundle(&b);
    bundle["entry"][0]["resource"]["birthDate"] = json!("1948-02-30");
    bundle["entry"][3]["resource"]["subject"]["reference"] = json!("urn:uuid:nowhere");
    bundle["entry"][4]["resource"]["subject"]["reference"] = json!("Group/g1");
    bundle["entry"][6]["resource"]["effectiveDateTime"] = json!(true);
    let read = fhir::read_bundle("b.json", &bundle.to_string()).unwrap();
    let errors: Vec<String> = read.rejected.iter().map(|e| e.to_string()).collect();
    assert_eq!(
        errors,
        [
            "b.json (entry 0, Patient.birthDate): expected a date like 2023-04-05, found a string of 10 characters",
            "b.json (entry 4, Condition.subject.reference): expected a reference to a Patient, found a reference to a Group",
            "b.json (entry 6, Observation.effectiveDateTime): expected a string, found a boolean",
        ]
    );
    // A urn no entry has points elsewhere in the export: its id is kept
    // as sent, for the pipeline's referential check to judge.
    assert_eq!(read.records.conditions[0].patient_id, "nowhere");
}

#[test]
fn random_and_mutated_json_never_panics() {
    let text = ndjson(&fixture::bundle()).into_bytes();
    let bundle = fhir::bundle(&fixture::bundle()).to_string().into_bytes();
    let mut rng = carelab::rng::stream(1, "fhir-fuzz", 0);
    let alphabet = b"{}[]\":,0123456789.-eEtruefalsnl resourceTypePatientObservation\n\\";
    for i in 0..2000 {
        let base = if i % 2 == 0 { &text } else { &bundle };
        let mut b = base.clone();
        for _ in 0..rng.random_range(1..6) {
            let at = rng.random_range(0..b.len());
            match rng.random_range(0..3) {
                0 => b[at] = alphabet[rng.random_range(0..alphabet.len())],
                1 => {
                    b.remove(at);
                }
                _ => b.insert(at, alphabet[rng.random_range(0..alphabet.len())]),
            }
        }
        let s = String::from_utf8_lossy(&b);
        let _ = fhir::read_ndjson("fuzz.ndjson", &s);
        let _ = fhir::read_bundle("fuzz.json", &s);
    }
}

/// What exporters other than CareLab send, read the way the FHIR concept
/// chapter of the book says: each case is one line of NDJSON or one Bundle.
#[test]
fn other_exporters_conventions_are_read_or_skipped_with_a_reason() {
    let subject = json!({"reference": "Patient/P1"});
    let enc = |class: Value, disposition: Value| {
        json!({"resourceType": "Encounter", "id": "E1", "subject": subject, "class": class,
               "period": {"start": "2023-01-01T08:00:00-05:00", "end": "2023-01-03T08:00:00-05:00"},
               "hospitalization": {"dischargeDisposition": disposition}})
    };
    let read_one = |v: Value| fhir::read_ndjson("x.ndjson", &v.to_string());
    let class_and_disposition = |v: Value| {
        let r = read_one(v);
        assert!(r.rejected.is_empty(), "{:?}", r.rejected);
        let e = &r.records.encounters[0];
        (e.class.clone(), e.disposition.clone())
    };
    // R4 Coding (Synthea), R5-style CodeableConcept array, ActCode's ACUTE,
    // a local code read by its display (Epic-style), HL7 and NUBC codes,
    // text only
    let act = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
    let hl7 = "http://terminology.hl7.org/CodeSystem/discharge-disposition";
    for (class, disposition, expected) in [
        (
            json!({"system": act, "code": "IMP"}),
            json!({"coding": [{"system": "http://www.nubc.org/patient-discharge", "code": "01"}]}),
            ("IMP", "home"),
        ),
        (
            json!([{"coding": [{"system": act, "code": "EMER"}]}]),
            json!({"text": "Discharge to home"}),
            ("EMER", "Discharge to home"),
        ),
        (
            json!({"system": act, "code": "ACUTE"}),
            json!({"coding": [{"system": hl7, "code": "snf", "display": "Skilled nursing facility"}]}),
            ("IMP", "skilled_nursing"),
        ),
        (
            json!({"system": "urn:oid:1.2.840.114350.1.72.1.7.7.10.696784.13260", "code": "3", "display": "Inpatient"}),
            json!({"coding": [{"system": hl7, "code": "oth", "display": "Other"}]}),
            ("IMP", "Other"),
        ),
    ] {
        let got = class_and_disposition(enc(class, disposition));
        assert_eq!((got.0.as_str(), got.1.as_str()), expected);
    }

    // References: absolute, versioned; a conditional one resolved through
    // the Bundle's identifiers; an entry with no id takes its fullUrl's.
    let mut obs = json!({"resourceType": "Observation", "id": "O1", "status": "final",
        "subject": {"reference": "https://ehr.example.org/fhir/Patient/P1/_history/3"},
        "effectiveDateTime": "2023-01-02T08:00:00Z",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "valueQuantity": {"value": 80, "code": "/min"}});
    assert_eq!(
        read_one(obs.clone()).records.observations[0].patient_id,
        "P1"
    );
    obs["subject"]["reference"] =
        json!("Patient?identifier=https://github.com/synthetichealth/synthea|abc");
    let patient = json!({"resourceType": "Patient", "gender": "male", "birthDate": "1950-01-01",
        "identifier": [{"system": "https://github.com/synthetichealth/synthea", "value": "abc"}]});
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:5f3c", "resource": patient, "request": {"method": "POST", "url": "Patient"}},
        {"fullUrl": "urn:uuid:0b1d", "resource": obs, "request": {"method": "POST", "url": "Observation"}},
    ]});
    let read = fhir::read_bundle("b.json", &bundle.to_string()).unwrap();
    assert!(read.rejected.is_empty(), "{:?}", read.rejected);
    assert_eq!(read.records.patients[0].patient_id, "5f3c");
    assert_eq!(read.records.observations[0].patient_id, "5f3c");
    // unresolved: kept as the source wrote it, for the referential check
    let read = fhir::read_ndjson("x.ndjson", &obs.to_string());
    assert_eq!(
        read.records.observations[0].patient_id,
        "Patient?identifier=https://github.com/synthetichealth/synthea|abc"
    );

    // Skipped, each with its reason, never rejected.
    let note = |attachment: Value| {
        json!({"resourceType": "DocumentReference", "id": "D1", "subject": subject,
               "date": "2023-01-02T08:00:00Z", "content": [{"attachment": attachment}]})
    };
    let lines = [
        note(json!({"contentType": "application/pdf", "url": "Binary/b1"})),
        note(json!({"contentType": "text/html", "data": fhir::base64_encode(b"<p>x</p>")})),
        json!({"resourceType": "Observation", "id": "O2", "subject": subject,
               "effectiveDateTime": "2023-01-02T08:00:00Z",
               "code": {"coding": [{"system": "http://loinc.org", "code": "72166-2"}]},
               "valueCodeableConcept": {"text": "Never smoked"}}),
        json!({"resourceType": "Observation", "id": "O3", "subject": subject,
               "effectiveDateTime": "2023-01-02T08:00:00Z",
               "code": {"coding": [{"system": "http://loinc.org", "code": "24323-8"}]},
               "hasMember": [{"reference": "Observation/O1"}]}),
        json!({"resourceType": "Condition", "id": "C1", "subject": subject,
               "verificationStatus": {"coding": [{"code": "entered-in-error"}]},
               "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]}}),
        json!({"eventId": "kickoff", "exportId": "x", "eventDetail": {}}),
        json!({"resourceType": "OperationOutcome", "issue": []}),
    ];
    let text: Vec<String> = lines.iter().map(Value::to_string).collect();
    let read = fhir::read_ndjson("x.ndjson", &text.join("\n"));
    assert!(read.rejected.is_empty(), "{:?}", read.rejected);
    assert!(read.records.is_empty());
    let kinds: Vec<(&str, usize)> = read
        .skipped
        .iter()
        .map(|(k, r)| (k.as_str(), r.values().sum()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("Condition", 1),
            ("DocumentReference", 2),
            ("Observation", 2),
            ("OperationOutcome", 1),
            ("log", 1)
        ]
    );
    assert_eq!(read.seen, lines.len());
    // a line without resourceType that is no log entry is still an error
    let read = read_one(json!({"id": "x"}));
    assert_eq!(read.rejected.len(), 1);
}

/// A panel's components become one observation each; a component that is
/// not a number is skipped and counted, and the counts add up.
#[test]
fn blood_pressure_components_become_two_observations() {
    let line = include_str!("../data/synthea-bulk/Observation.ndjson")
        .lines()
        .find(|l| l.contains("85354-9"))
        .unwrap();
    let mut v: Value = serde_json::from_str(line).unwrap();
    let read = fhir::read_ndjson("o.ndjson", &v.to_string());
    let got: Vec<(String, String, f64, String)> = read
        .records
        .observations
        .iter()
        .map(|o| {
            (
                o.observation_id.clone(),
                o.code.to_string(),
                o.value,
                o.unit.to_string(),
            )
        })
        .collect();
    let id = v["id"].as_str().unwrap().to_string();
    assert_eq!(
        got,
        [
            (
                format!("{id}-8462-4"),
                "8462-4".into(),
                90.0,
                "mm[Hg]".into()
            ),
            (
                format!("{id}-8480-6"),
                "8480-6".into(),
                142.0,
                "mm[Hg]".into()
            ),
        ]
    );
    assert_eq!(read.seen, 2);
    v["component"][0]["valueString"] = v["component"][0]["valueQuantity"].take();
    v["component"][0]
        .as_object_mut()
        .unwrap()
        .remove("valueQuantity");
    let read = fhir::read_ndjson("o.ndjson", &v.to_string());
    assert_eq!(read.records.observations.len(), 1);
    assert_eq!(
        read.skipped["Observation"]["valueString: CareLab's measures are numbers"],
        1
    );
    assert_eq!(read.seen, read.records.len() + read.skipped_count());
}
