//! `POST /v1/predict/fhir`: one patient's FHIR R4 Bundle -> the analysis row
//! of their latest discharge, through the code training data went through.
//!
//! The Bundle is read by `formats::fhir::read_bundle`, every record is then
//! checked and mapped by ingest's own single-record validator
//! (`ingest::validate::check`: local codes to LOINC, units to canonical,
//! placeholders and implausible values rejected), and the row is built by
//! `clinical::analysis::features_at_discharge`, as the generator and ingest
//! build the training table. So a stay scored here gets the same features it
//! would get offline, and the same risk.
//!
//! Nothing is dropped silently: a resource the reader cannot use fails the
//! request (a risk from a partly read record could be wrong without anyone
//! seeing it); a measurement ingest would quarantine is left out of the row
//! exactly as it would be in training, and is listed in the answer.
//! Problems name the Bundle entry or record id, the rule and what was
//! expected, never a name, a date or free text.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::Value;

use crate::clinical::analysis::{features_at_discharge, PatientRecords};
use crate::clinical::{AnalysisRow, Disposition, Encounter, Patient};
use crate::formats::fhir::{read_bundle, read_entries, Entry, FhirRead};
use crate::ingest::maps::Maps;
use crate::ingest::raw::{RawRecord, Table, IN_PROGRESS, STATUS_FIELD};
use crate::ingest::text_fields::text_fields;
use crate::ingest::validate::{check, Clean, Outcome, Placeholders};

/// The analysis row of one stay read from a Bundle, and what was left out.
#[derive(Debug, Clone)]
pub struct FhirRow {
    pub row: AnalysisRow,
    pub patient_id: String,
    pub stay_id: String,
    /// Records ingest rejects, left out of the row as training leaves them out.
    pub quarantined: Vec<Quarantined>,
    /// Resource types CareLab does not read (counted, not used).
    pub skipped_types: BTreeMap<String, usize>,
}

/// A record left out, and why (ingest's rule and detail: codes, units and
/// numbers only).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quarantined {
    pub table: &'static str,
    pub id: String,
    pub rule: &'static str,
    pub field: String,
    pub detail: String,
}

/// Why a Bundle gives no row: an HTTP status, a code and the particulars.
#[derive(Debug, Clone, PartialEq)]
pub struct FhirProblem {
    /// 400 for a body that is not JSON, 422 for JSON that is not usable.
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    /// One line per bad resource, when there are several.
    pub problems: Vec<String>,
}

impl FhirProblem {
    fn new(code: &'static str, message: impl Into<String>) -> FhirProblem {
        FhirProblem {
            status: 422,
            code,
            message: message.into(),
            problems: Vec::new(),
        }
    }
}

/// Where errors say the Bundle came from.
const SOURCE: &str = "request body";

/// Read `text` (already known to be JSON, parsed as `value`) as one
/// patient's Bundle and build the row of their latest inpatient discharge.
pub fn row_from_bundle(
    text: &str,
    value: &Value,
    maps: &Maps,
) -> std::result::Result<FhirRow, FhirProblem> {
    match value.get("resourceType").and_then(Value::as_str) {
        Some("Bundle") => {}
        Some(_) => {
            return Err(FhirProblem::new(
                "not_a_bundle",
                "expected resourceType \"Bundle\" (one patient's FHIR R4 Bundle), found another resource type",
            ))
        }
        None => {
            return Err(FhirProblem::new(
                "not_a_bundle",
                "expected a FHIR R4 Bundle: the JSON has no resourceType",
            ))
        }
    }
    let read =
        read_bundle(SOURCE, text).map_err(|e| FhirProblem::new("not_a_bundle", e.to_string()))?;
    row_from_read(read, maps)
}

/// The row of the latest inpatient discharge from resources given as a
/// Bundle's entries (a CDS Hooks prefetch: no Bundle text to read), through
/// the same reader and the same checks as `row_from_bundle`.
pub fn row_from_entries(
    entries: &[Entry],
    maps: &Maps,
) -> std::result::Result<FhirRow, FhirProblem> {
    row_from_read(read_entries(SOURCE, entries), maps)
}

/// What `row_from_bundle` and `row_from_entries` share: the reader's records
/// checked by ingest's validator and made into the row.
fn row_from_read(read: FhirRead, maps: &Maps) -> std::result::Result<FhirRow, FhirProblem> {
    if !read.rejected.is_empty() {
        let problems: Vec<String> = read.rejected.iter().map(|e| e.to_string()).collect();
        return Err(FhirProblem {
            problems,
            ..FhirProblem::new(
                "invalid_resources",
                format!(
                    "{} of {} Bundle entries could not be read; fix them and send the Bundle again",
                    read.rejected.len(),
                    read.seen
                ),
            )
        });
    }
    let mut skipped_types: BTreeMap<String, usize> = read
        .skipped
        .iter()
        .map(|(kind, reasons)| (kind.clone(), reasons.values().sum()))
        .collect();
    let r = read.records;
    if !r.notes.is_empty() {
        // Notes are read (the reader checks them) but are no model input.
        *skipped_types.entry("DocumentReference".into()).or_default() += r.notes.len();
    }

    let mut quarantined = Vec::new();
    let rules = Placeholders::default();
    let mut take = |table: Table, id: &str, fields: BTreeMap<String, String>| -> Option<Clean> {
        let raw = RawRecord {
            source: SOURCE.into(),
            table,
            // The validator never reads where a record came from; a
            // quarantined one is named by `id` below.
            location: String::new(),
            fields: fields.into(),
            raw: String::new(),
        };
        let checked = check(&raw, maps, &rules);
        if checked.clean.is_none() {
            if let Some(f) = checked
                .findings
                .iter()
                .find(|f| f.outcome == Outcome::Rejected)
            {
                quarantined.push(Quarantined {
                    table: table.name(),
                    id: id.to_string(),
                    rule: f.rule.code(),
                    field: f.field.clone(),
                    detail: f.detail.clone(),
                });
            }
        }
        checked.clean
    };
    let mut patients = Vec::new();
    let mut encounters = Vec::new();
    let mut observations = Vec::new();
    let mut conditions = Vec::new();
    let mut medications = Vec::new();
    for p in &r.patients {
        if let Some(Clean::Patient(p)) = take(Table::Patient, &p.patient_id, text_fields(p)) {
            patients.push(p);
        }
    }
    for e in &r.encounters {
        let mut fields = text_fields(e);
        if e.discharge_time.is_none() {
            fields.insert(STATUS_FIELD.into(), IN_PROGRESS.into());
        }
        if let Some(Clean::Encounter(e)) = take(Table::Encounter, &e.encounter_id, fields) {
            encounters.push(e);
        }
    }
    for o in &r.observations {
        if let Some(Clean::Observation(o)) =
            take(Table::Observation, &o.observation_id, text_fields(o))
        {
            observations.push(o.obs);
        }
    }
    for c in &r.conditions {
        if let Some(Clean::Condition(c)) = take(Table::Condition, &c.condition_id, text_fields(c)) {
            conditions.push(c);
        }
    }
    for m in &r.medications {
        if let Some(Clean::Medication(m)) =
            take(Table::Medication, &m.medication_id, text_fields(m))
        {
            medications.push(m);
        }
    }

    let patient = one_patient(&patients, r.patients.len(), &quarantined)?;
    let foreign = encounters
        .iter()
        .map(|e| &e.patient_id)
        .chain(observations.iter().map(|o| &o.patient_id))
        .chain(conditions.iter().map(|c| &c.patient_id))
        .chain(medications.iter().map(|m| &m.patient_id))
        .filter(|id| **id != patient.patient_id)
        .count();
    if foreign > 0 {
        return Err(FhirProblem::new(
            "several_patients",
            format!("{foreign} resource(s) refer to a patient other than the Bundle's Patient; send one patient per Bundle"),
        ));
    }
    let (stay, discharge) = latest_discharge(&encounters, &quarantined)?;
    let rec = PatientRecords {
        patient,
        encounters: &encounters,
        observations: &observations,
        conditions: &conditions,
        medications: &medications,
    };
    Ok(FhirRow {
        row: features_at_discharge(&rec, stay, discharge),
        patient_id: patient.patient_id.clone(),
        stay_id: stay.encounter_id.clone(),
        quarantined,
        skipped_types,
    })
}

fn quarantine_note(quarantined: &[Quarantined], table: &str) -> String {
    let n = quarantined.iter().filter(|q| q.table == table).count();
    if n == 0 {
        String::new()
    } else {
        format!(" ({n} {table} record(s) were rejected by ingest's rules)")
    }
}

fn one_patient<'a>(
    patients: &'a [Patient],
    read: usize,
    quarantined: &[Quarantined],
) -> std::result::Result<&'a Patient, FhirProblem> {
    match patients {
        [p] if read == 1 => Ok(p),
        [] => Err(FhirProblem::new(
            "no_patient",
            format!(
                "the Bundle holds no usable Patient resource{}",
                quarantine_note(quarantined, "patient")
            ),
        )),
        _ => Err(FhirProblem::new(
            "several_patients",
            format!("the Bundle holds {read} Patient resources; send one patient per Bundle"),
        )),
    }
}

/// The inpatient stay discharged last, and its discharge (ties broken by
/// id, so the answer does not depend on entry order).
fn latest_discharge<'a>(
    encounters: &'a [Encounter],
    quarantined: &[Quarantined],
) -> std::result::Result<(&'a Encounter, NaiveDateTime), FhirProblem> {
    let (stay, discharge) = encounters
        .iter()
        .filter(|e| e.class == "IMP")
        .filter_map(|e| Some((e, e.discharge_time?)))
        .max_by(|(a, a_end), (b, b_end)| (a_end, &a.encounter_id).cmp(&(b_end, &b.encounter_id)))
        .ok_or_else(|| {
            FhirProblem::new(
                "no_discharge",
                format!(
                    "the Bundle holds no discharged inpatient Encounter (class IMP with period.end){}",
                    quarantine_note(quarantined, "encounter")
                ),
            )
        })?;
    if Disposition::from_name(&stay.disposition) == Some(Disposition::Expired) {
        return Err(FhirProblem::new(
            "patient_expired",
            "the latest inpatient stay ended in death; there is no readmission to predict",
        ));
    }
    Ok((stay, discharge))
}
