//! FHIR R4 source: Bundles (a `.json` file holding one, or `.ndjson` with
//! one Bundle a line, as the generator's `fhir/bundles.ndjson`) and Bulk
//! Data NDJSON (one resource a line, as `fhir/bulk/*.ndjson`). A folder
//! means every `.json`/`.ndjson` file directly in it, in name order; so
//! `fhir/` reads the bundles and `fhir/bulk/` the bulk export, never both.
//!
//! A resource the reader rejects becomes one `unparseable` quarantine record
//! naming the file, line or entry and element path. What the reader skips
//! (resource types CareLab does not model, coded observation values, an
//! export's log lines) is counted in the source's `skipped`, by type and
//! reason, and in its table's skipped count where it has a table.

use super::{input_files, SourceConfig};
use crate::error::{Error, IoContext, Result};
use crate::formats::fhir::{read_bundle_json, read_resource, FhirRead, FhirRecords, Json};
use crate::ingest::quality::SourceQuality;
use crate::ingest::raw::{decode_text, RawRecord, Table};

/// Read every FHIR file of the source.
pub fn read(s: &SourceConfig, q: &mut SourceQuality) -> Result<Vec<RawRecord>> {
    let mut out = Vec::new();
    let files = input_files(
        &s.path,
        &["json", "ndjson"],
        "a FHIR .json/.ndjson file or a folder of them",
    )?;
    for path in files {
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bytes = std::fs::read(&path).at(&path)?;
        let (text, encoding) = decode_text(&bytes);
        q.encodings.insert(file.clone(), encoding);
        let is_ndjson = path.extension().and_then(|e| e.to_str()) == Some("ndjson");
        if is_ndjson {
            for (i, line) in text.lines().enumerate() {
                if !line.trim().is_empty() {
                    read_text(
                        &s.name,
                        &format!("{file} line {}", i + 1),
                        line,
                        q,
                        &mut out,
                    )?;
                }
            }
        } else {
            read_text(&s.name, &file, &text, q, &mut out)?;
        }
    }
    Ok(out)
}

/// One JSON text: a Bundle, or one resource. The text is parsed once, into
/// the borrowed tree the FHIR readers work on.
fn read_text(
    source: &str,
    place: &str,
    text: &str,
    q: &mut SourceQuality,
    out: &mut Vec<RawRecord>,
) -> Result<()> {
    let value = match Json::parse(text) {
        Ok(v) => v,
        Err(e) => {
            let err = Error::bad_input(
                source,
                Some(place.to_string()),
                "a JSON FHIR resource or Bundle",
                format!("invalid JSON at line {}, column {}", e.line(), e.column()),
            );
            out.push(RawRecord::unparseable(
                source,
                Table::Patient,
                place.to_string(),
                err.to_string(),
                text.to_string(),
            ));
            return Ok(());
        }
    };
    let kind = value.get("resourceType").and_then(Json::as_str);
    let read = if kind == Some("Bundle") {
        read_bundle_json(&format!("{source}: {place}"), &value)
    } else {
        read_resource(source, place, &value).map(|r| {
            let mut read = FhirRead::default();
            read.add(r);
            read
        })
    };
    match read {
        Ok(read) => records(source, place, read, q, out),
        Err(e) => {
            out.push(RawRecord::unparseable(
                source,
                kind.map_or(Table::Patient, table_of),
                place.to_string(),
                e.to_string(),
                text.to_string(),
            ));
            Ok(())
        }
    }
}

/// The table a resource type's records go to (rejections included).
fn table_of(kind: &str) -> Table {
    match kind {
        "Encounter" => Table::Encounter,
        "Observation" => Table::Observation,
        "Condition" => Table::Condition,
        "MedicationRequest" => Table::Medication,
        "DocumentReference" => Table::Note,
        _ => Table::Patient,
    }
}

/// The table of a resource type CareLab reads; `None` for the others.
fn table_if_modelled(kind: &str) -> Option<Table> {
    (kind == "Patient" || table_of(kind) != Table::Patient).then(|| table_of(kind))
}

/// The resource type an error's element path names (`Observation.code...`).
fn table_in_error(text: &str) -> Table {
    [
        "Encounter",
        "Observation",
        "Condition",
        "MedicationRequest",
        "DocumentReference",
    ]
    .into_iter()
    .find(|k| text.contains(&format!("{k}.")))
    .map_or(Table::Patient, table_of)
}

fn records(
    source: &str,
    place: &str,
    read: FhirRead,
    q: &mut SourceQuality,
    out: &mut Vec<RawRecord>,
) -> Result<()> {
    let FhirRecords {
        patients,
        encounters,
        observations,
        conditions,
        medications,
        notes,
    } = read.records;
    let loc = |kind: &str, id: &str| format!("{place} {kind}/{id}");
    for v in &patients {
        let l = loc("Patient", &v.patient_id);
        out.push(RawRecord::from_record(source, Table::Patient, l, v)?);
    }
    for v in &encounters {
        let l = loc("Encounter", &v.encounter_id);
        out.push(RawRecord::from_encounter(source, l, v)?);
    }
    for v in &observations {
        let l = loc("Observation", &v.observation_id);
        out.push(RawRecord::from_record(source, Table::Observation, l, v)?);
    }
    for v in &conditions {
        let l = loc("Condition", &v.condition_id);
        out.push(RawRecord::from_record(source, Table::Condition, l, v)?);
    }
    for v in &medications {
        let l = loc("MedicationRequest", &v.medication_id);
        out.push(RawRecord::from_record(source, Table::Medication, l, v)?);
    }
    for v in &notes {
        let l = loc("DocumentReference", &v.note_id);
        out.push(RawRecord::from_record(source, Table::Note, l, v)?);
    }
    for e in read.rejected {
        let text = e.to_string();
        out.push(RawRecord::unparseable(
            source,
            table_in_error(&text),
            place.to_string(),
            text,
            String::new(),
        ));
    }
    for (kind, reasons) in read.skipped {
        let table = table_if_modelled(&kind).map(Table::name);
        for (reason, n) in reasons {
            q.skip(&kind, table, &reason, n as u64);
        }
    }
    Ok(())
}
