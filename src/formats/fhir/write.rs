//! `PatientBundle` -> FHIR R4 resources.
//!
//! One function builds each resource from one record and a `Refs` that says
//! how to point at other resources: a transaction Bundle points by `fullUrl`
//! (`urn:uuid:...`), Bulk Data NDJSON by `Type/id`. Empty strings are left
//! out because FHIR forbids them.

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::base64;
use crate::clinical::codes::{ICD10CM, LOINC, RXNORM, UCUM};
use crate::clinical::{
    Condition, Disposition, Encounter, Measure, Medication, Note, Observation, Patient,
    PatientBundle,
};

/// The offset written on every FHIR `dateTime`: CareLab's synthetic hospital
/// keeps its clock on UTC, and the readers keep wall-clock time as written.
pub const HOSPITAL_OFFSET: &str = "+00:00";
/// Identifier system of the hospital's medical record numbers.
pub const MRN_SYSTEM: &str = "https://carelab.example.org/fhir/sid/mrn";
/// Extension carrying the patient's payer (no Coverage resource is written).
pub const PAYER_EXTENSION: &str = "https://carelab.example.org/fhir/StructureDefinition/payer";
const SSN_SYSTEM: &str = "http://hl7.org/fhir/sid/us-ssn";
const V2_0203: &str = "http://terminology.hl7.org/CodeSystem/v2-0203";
const US_CORE_RACE: &str = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race";
const US_CORE_ETHNICITY: &str = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity";
const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
const NUBC_DISCHARGE: &str = "https://www.nubc.org/CodeSystem/PatDischargeStatus";
const OBS_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
const CONDITION_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";
const CONDITION_VERIFICATION: &str = "http://terminology.hl7.org/CodeSystem/condition-ver-status";
const DATA_ABSENT: &str = "http://terminology.hl7.org/CodeSystem/data-absent-reason";
/// LOINC code of a discharge summary note.
pub(crate) const DISCHARGE_SUMMARY: &str = "18842-5";

/// How references to other resources are written.
#[derive(Clone, Copy)]
enum Refs {
    /// `urn:uuid:...` fullUrls inside a transaction Bundle.
    FullUrl,
    /// `Type/id`, for Bulk Data NDJSON and servers.
    Relative,
}

impl Refs {
    fn to(self, kind: &str, id: &str) -> Value {
        match self {
            Refs::FullUrl => json!({ "reference": full_url(kind, id) }),
            Refs::Relative => json!({ "reference": format!("{kind}/{id}") }),
        }
    }
}

/// The deterministic `urn:uuid:` of a resource: a name-based (version 5
/// layout) UUID from its type and id, so the same records always give the
/// same Bundle.
pub fn full_url(kind: &str, id: &str) -> String {
    let digest = Sha256::digest(format!("carelab:{kind}/{id}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// One transaction Bundle holding all of a patient's resources, each entry
/// with a `fullUrl` and a `PUT Type/id` request (idempotent: loading the same
/// Bundle twice leaves one copy).
pub fn bundle(b: &PatientBundle) -> Value {
    let entries: Vec<Value> = all_resources(b, Refs::FullUrl)
        .into_iter()
        .map(|(kind, id, resource)| {
            json!({
                "fullUrl": full_url(kind, &id),
                "resource": resource,
                "request": { "method": "PUT", "url": format!("{kind}/{id}") },
            })
        })
        .collect();
    let mut out = Map::new();
    out.insert("resourceType".into(), json!("Bundle"));
    if let Some(p) = &b.patient {
        out.insert("id".into(), json!(format!("bundle-{}", p.patient_id)));
    }
    out.insert("type".into(), json!("transaction"));
    out.insert("entry".into(), Value::Array(entries));
    Value::Object(out)
}

/// The patient's resources as (resourceType, resource), in a stable order,
/// for Bulk Data NDJSON (one file per resource type).
pub fn resources(b: &PatientBundle) -> Vec<(&'static str, Value)> {
    all_resources(b, Refs::Relative)
        .into_iter()
        .map(|(kind, _, r)| (kind, r))
        .collect()
}

/// Every resource in a fixed order: Patient, then per type in record order.
fn all_resources(b: &PatientBundle, refs: Refs) -> Vec<(&'static str, String, Value)> {
    let mut out = Vec::new();
    if let Some(p) = &b.patient {
        out.push(("Patient", p.patient_id.clone(), patient(p)));
    }
    for e in &b.encounters {
        out.push(("Encounter", e.encounter_id.clone(), encounter(e, refs)));
    }
    for c in &b.conditions {
        out.push(("Condition", c.condition_id.clone(), condition(c, refs)));
    }
    for o in &b.observations {
        out.push((
            "Observation",
            o.observation_id.clone(),
            observation(o, refs),
        ));
    }
    for m in &b.medications {
        let r = medication_request(m, refs);
        out.push(("MedicationRequest", m.medication_id.clone(), r));
    }
    for n in &b.notes {
        out.push((
            "DocumentReference",
            n.note_id.clone(),
            document_reference(n, refs),
        ));
    }
    out
}

/// Insert `key: value` only when the string is not empty.
fn put_str(map: &mut Map<String, Value>, key: &str, value: &str) {
    if !value.is_empty() {
        map.insert(key.into(), json!(value));
    }
}

fn date_time(t: &chrono::NaiveDateTime) -> String {
    format!("{}{HOSPITAL_OFFSET}", t.format("%Y-%m-%dT%H:%M:%S"))
}

fn coding(system: &str, code: &str, display: &str) -> Value {
    let mut c = Map::new();
    put_str(&mut c, "system", system);
    put_str(&mut c, "code", code);
    put_str(&mut c, "display", display);
    Value::Object(c)
}

fn concept(system: &str, code: &str, display: &str) -> Value {
    json!({ "coding": [coding(system, code, display)] })
}

fn text_extension(url: &str, text: &str) -> Value {
    json!({ "url": url, "extension": [{ "url": "text", "valueString": text }] })
}

fn patient(p: &Patient) -> Value {
    let mut r = Map::new();
    r.insert("resourceType".into(), json!("Patient"));
    r.insert("id".into(), json!(p.patient_id));
    let mut extensions = Vec::new();
    if !p.race.is_empty() {
        extensions.push(text_extension(US_CORE_RACE, &p.race));
    }
    if !p.ethnicity.is_empty() {
        extensions.push(text_extension(US_CORE_ETHNICITY, &p.ethnicity));
    }
    if !p.payer.is_empty() {
        extensions.push(json!({ "url": PAYER_EXTENSION, "valueString": p.payer }));
    }
    if !extensions.is_empty() {
        r.insert("extension".into(), Value::Array(extensions));
    }
    let mut identifiers = Vec::new();
    if !p.mrn.is_empty() {
        identifiers.push(json!({
            "use": "usual",
            "type": concept(V2_0203, "MR", "Medical record number"),
            "system": MRN_SYSTEM,
            "value": p.mrn,
        }));
    }
    if !p.ssn.is_empty() {
        identifiers.push(json!({
            "type": concept(V2_0203, "SS", "Social Security number"),
            "system": SSN_SYSTEM,
            "value": p.ssn,
        }));
    }
    if !identifiers.is_empty() {
        r.insert("identifier".into(), Value::Array(identifiers));
    }
    let mut name = Map::new();
    name.insert("use".into(), json!("official"));
    put_str(&mut name, "family", &p.family_name);
    if !p.given_name.is_empty() {
        name.insert("given".into(), json!([p.given_name]));
    }
    r.insert("name".into(), json!([name]));
    let mut telecom = Vec::new();
    if !p.phone.is_empty() {
        telecom.push(json!({ "system": "phone", "value": p.phone, "use": "home" }));
    }
    if !p.email.is_empty() {
        telecom.push(json!({ "system": "email", "value": p.email }));
    }
    if !telecom.is_empty() {
        r.insert("telecom".into(), Value::Array(telecom));
    }
    let gender = match p.sex.as_str() {
        "F" => "female",
        "M" => "male",
        _ => "unknown",
    };
    r.insert("gender".into(), json!(gender));
    r.insert(
        "birthDate".into(),
        json!(p.birth_date.format("%Y-%m-%d").to_string()),
    );
    if let Some(d) = p.death_date {
        r.insert(
            "deceasedDateTime".into(),
            json!(d.format("%Y-%m-%d").to_string()),
        );
    }
    let mut address = Map::new();
    if !p.address_line.is_empty() {
        address.insert("line".into(), json!([p.address_line]));
    }
    put_str(&mut address, "city", &p.city);
    put_str(&mut address, "state", &p.state);
    put_str(&mut address, "postalCode", &p.zip);
    if !address.is_empty() {
        address.insert("use".into(), json!("home"));
        r.insert("address".into(), json!([address]));
    }
    Value::Object(r)
}

fn encounter(e: &Encounter, refs: Refs) -> Value {
    let mut r = Map::new();
    r.insert("resourceType".into(), json!("Encounter"));
    r.insert("id".into(), json!(e.encounter_id));
    let status = if e.discharge_time.is_some() {
        "finished"
    } else {
        "in-progress"
    };
    r.insert("status".into(), json!(status));
    let class = if e.class.is_empty() { "IMP" } else { &e.class };
    let class_display = if class == "IMP" {
        "inpatient encounter"
    } else {
        ""
    };
    r.insert("class".into(), coding(ACT_CODE, class, class_display));
    r.insert("subject".into(), refs.to("Patient", &e.patient_id));
    r.insert(
        "period".into(),
        match &e.discharge_time {
            Some(end) => json!({ "start": date_time(&e.admit_time), "end": date_time(end) }),
            None => json!({ "start": date_time(&e.admit_time) }),
        },
    );
    if !e.reason_code.is_empty() {
        r.insert(
            "reasonCode".into(),
            json!([concept(ICD10CM, &e.reason_code, "")]),
        );
    }
    if !e.disposition.is_empty() {
        let disposition = match Disposition::from_name(&e.disposition) {
            Some(d) => json!({
                "coding": [coding(NUBC_DISCHARGE, d.nubc(), d.name())],
                "text": d.name(),
            }),
            None => json!({ "text": e.disposition }),
        };
        r.insert(
            "hospitalization".into(),
            json!({ "dischargeDisposition": disposition }),
        );
    }
    Value::Object(r)
}

fn observation(o: &Observation, refs: Refs) -> Value {
    let measure = (o.system == LOINC)
        .then(|| Measure::from_loinc(&o.code))
        .flatten();
    let category = measure.map_or("laboratory", Measure::category);
    let category_display = if category == "vital-signs" {
        "Vital Signs"
    } else {
        "Laboratory"
    };
    let mut r = Map::new();
    r.insert("resourceType".into(), json!("Observation"));
    r.insert("id".into(), json!(o.observation_id));
    r.insert("status".into(), json!("final"));
    r.insert(
        "category".into(),
        json!([concept(OBS_CATEGORY, category, category_display)]),
    );
    r.insert("code".into(), concept(&o.system, &o.code, &o.display));
    r.insert("subject".into(), refs.to("Patient", &o.patient_id));
    if !o.encounter_id.is_empty() {
        r.insert("encounter".into(), refs.to("Encounter", &o.encounter_id));
    }
    r.insert("effectiveDateTime".into(), json!(date_time(&o.time)));
    if o.value.is_finite() {
        let mut q = Map::new();
        q.insert("value".into(), json!(o.value));
        put_str(&mut q, "unit", &o.unit);
        if !o.unit.is_empty() {
            q.insert("system".into(), json!(UCUM));
            q.insert("code".into(), json!(o.unit));
        }
        r.insert("valueQuantity".into(), Value::Object(q));
    } else {
        // A value JSON cannot hold is stated as absent, not dropped silently.
        r.insert(
            "dataAbsentReason".into(),
            concept(DATA_ABSENT, "not-a-number", "Not a Number (NaN)"),
        );
    }
    Value::Object(r)
}

fn condition(c: &Condition, refs: Refs) -> Value {
    let mut r = Map::new();
    r.insert("resourceType".into(), json!("Condition"));
    r.insert("id".into(), json!(c.condition_id));
    r.insert(
        "clinicalStatus".into(),
        concept(CONDITION_CLINICAL, "active", "Active"),
    );
    r.insert(
        "verificationStatus".into(),
        concept(CONDITION_VERIFICATION, "confirmed", "Confirmed"),
    );
    r.insert("code".into(), concept(ICD10CM, &c.code, &c.display));
    r.insert("subject".into(), refs.to("Patient", &c.patient_id));
    if let Some(e) = c.encounter_id.as_deref().filter(|e| !e.is_empty()) {
        r.insert("encounter".into(), refs.to("Encounter", e));
    }
    r.insert(
        "onsetDateTime".into(),
        json!(c.onset_date.format("%Y-%m-%d").to_string()),
    );
    Value::Object(r)
}

fn medication_request(m: &Medication, refs: Refs) -> Value {
    let mut r = Map::new();
    r.insert("resourceType".into(), json!("MedicationRequest"));
    r.insert("id".into(), json!(m.medication_id));
    r.insert("status".into(), json!("active"));
    r.insert("intent".into(), json!("order"));
    r.insert(
        "medicationCodeableConcept".into(),
        concept(RXNORM, &m.rxnorm, &m.name),
    );
    r.insert("subject".into(), refs.to("Patient", &m.patient_id));
    if !m.encounter_id.is_empty() {
        r.insert("encounter".into(), refs.to("Encounter", &m.encounter_id));
    }
    r.insert("authoredOn".into(), json!(date_time(&m.authored_time)));
    Value::Object(r)
}

fn document_reference(n: &Note, refs: Refs) -> Value {
    let mut r = Map::new();
    r.insert("resourceType".into(), json!("DocumentReference"));
    r.insert("id".into(), json!(n.note_id));
    r.insert("status".into(), json!("current"));
    r.insert(
        "type".into(),
        concept(LOINC, DISCHARGE_SUMMARY, "Discharge summary"),
    );
    r.insert("subject".into(), refs.to("Patient", &n.patient_id));
    r.insert("date".into(), json!(date_time(&n.time)));
    r.insert(
        "content".into(),
        json!([{
            "attachment": {
                "contentType": "text/plain",
                "data": base64::encode(n.text.as_bytes()),
            }
        }]),
    );
    if !n.encounter_id.is_empty() {
        r.insert(
            "context".into(),
            json!({ "encounter": [refs.to("Encounter", &n.encounter_id)] }),
        );
    }
    Value::Object(r)
}
