//! The clean model as an OMOP CDM v5.4 database: `cdm.sqlite` (OHDSI's
//! DDL and primary keys) and `cdm/<table>.parquet`, with the shipped
//! vocabulary subset in the vocabulary tables.
//!
//! Decisions the CDM leaves to the ETL, taken once here:
//! - Ids are integers numbered 1, 2, ...: persons in the order of their
//!   text ids (sorted), every other record in the order of its person, then
//!   of its own text id, so the same data gives the same ids whatever the
//!   partitions ingest worked in (see `CdmBuilder`); the text id is kept
//!   where the CDM has a place for it (`person_source_value`,
//!   `visit_source_value`, `note_source_value`) unless it is, or holds, a
//!   medical record number: a registration system that keys its patients
//!   by MRN gives person ids that are MRNs, and those stay out (null; the
//!   id is in the identifiers file).
//! - Identifiers (names, address line, city, full ZIP code, phone, email,
//!   SSN, MRN) never enter the CDM: they go to `identifiers.csv` and
//!   `.parquet` beside it, keyed by `person_id`, which is what
//!   de-identification works on. `location` holds the state and the
//!   three-digit ZIP prefix only. Free-text notes are the exception the CDM
//!   itself makes: `note.note_text` is the note as written, PHI included,
//!   until `carelab deid` has been run on it.
//! - A stay still open at the extraction (no discharge yet) ends, as the
//!   CDM's conventions ask for ongoing visits, on the extraction date
//!   (`data_end`); its `visit_end_datetime` stays null, which is how a query
//!   tells it from a stay that ended that day.
//! - A medication order has no duration in CareLab's data: its exposure
//!   ends the day it starts (`drug_exposure_end_date` is required).
//! - A stay's principal diagnosis (`reason_code`) is a condition occurrence
//!   of that visit with `condition_status_source_value` "principal
//!   diagnosis"; chronic conditions carry none.
//! - Every record is of type `32817` EHR.
//! - A code the vocabulary subset lacks gives concept id 0 with the code in
//!   the source value (see `datasets/omop-vocabulary/README.md`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{Datelike, NaiveDate, NaiveDateTime};

use super::cdm_table::{CdmTable, CdmWriter, Spec, Value};
use super::keys::Keys;
use super::omop::{Cell, Kind, OutTable};
use super::validate::MappedObservation;
use super::vocabulary::Vocabulary;
use crate::clinical::codes::LOINC;
use crate::clinical::records::{Condition, Encounter, Medication, Note, Patient};
use crate::error::{Error, Result};
use crate::hashing::IdMap;

/// Part of the clean model after linkage: some persons with every record
/// of theirs, each record with the source it came from.
pub struct CleanModel<'a> {
    /// The persons, in the order of their text ids (`patient_id` holds the
    /// person's text id); numbered from `first_person_id`.
    pub persons: &'a [&'a Patient],
    pub first_person_id: i64,
    pub encounters: &'a [(Encounter, String)],
    pub observations: &'a [(MappedObservation, String)],
    pub conditions: &'a [(Condition, String)],
    pub medications: &'a [(Medication, String)],
    pub notes: &'a [(Note, String)],
}

/// The CDM tables and the identifiers kept outside them.
pub struct Cdm {
    pub tables: Vec<CdmTable>,
    pub identifiers: OutTable,
}

impl Cdm {
    pub fn table(&self, name: &str) -> Option<&CdmTable> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// `<out>/cdm.sqlite`, `<out>/cdm/<table>.parquet` and
    /// `<out>/identifiers.{csv,parquet}`.
    pub fn write(&self, out: &Path) -> Result<()> {
        let mut w = CdmWriter::create(out, &Spec::v54()?, &TABLES, Default::default())?;
        w.append(&self.tables)?;
        w.finish()?;
        self.identifiers.write(out)?;
        Ok(())
    }
}

/// The tables ingest writes, in load order.
pub const TABLES: [&str; 17] = [
    "location",
    "care_site",
    "person",
    "observation_period",
    "visit_occurrence",
    "condition_occurrence",
    "drug_exposure",
    "measurement",
    "note",
    "death",
    "cdm_source",
    "concept",
    "concept_relationship",
    "vocabulary",
    "domain",
    "concept_class",
    "relationship",
];

fn lookup(ids: &IdMap<&str, i64>, what: &str, id: &str) -> Result<i64> {
    ids.get(id).copied().ok_or_else(|| {
        Error::failure(format!(
            "CDM: no {what} {id} for a record that refers to it (a bug: ingest checked it)"
        ))
    })
}

/// The CDM's race codes (CDC Race and Ethnicity Code Set) for the OMB
/// categories CareLab records; "Other" has no standard concept.
fn race_code(race: &str) -> &'static str {
    match race.trim() {
        "American Indian or Alaska Native" => "1",
        "Asian" => "2",
        "Black or African American" => "3",
        "Native Hawaiian or Other Pacific Islander" => "4",
        "White" => "5",
        _ => "",
    }
}

fn ethnicity_code(ethnicity: &str) -> &'static str {
    match ethnicity.trim() {
        "Hispanic or Latino" => "Hispanic",
        "Not Hispanic or Latino" => "Not Hispanic",
        _ => "",
    }
}

/// The CDM visit code of a FHIR v3 ActCode encounter class.
fn visit_code(class: &str) -> &'static str {
    match class.trim().to_ascii_uppercase().as_str() {
        "IMP" | "ACUTE" | "NONAC" | "INPATIENT" => "IP",
        "EMER" | "EMERGENCY" => "ER",
        "AMB" | "AMBULATORY" | "OUTPATIENT" => "OP",
        _ => "",
    }
}

/// The de-identified place: state and the three-digit ZIP prefix (HIPAA
/// Safe Harbor keeps both); `None` when neither is known.
fn place(p: &Patient) -> Option<(String, String)> {
    let state = p.state.trim().to_ascii_uppercase();
    let state = if state.len() == 2 {
        state
    } else {
        String::new()
    };
    let zip3: String = p.zip.trim().chars().take(3).collect();
    let zip3 = if zip3.len() == 3 && zip3.bytes().all(|b| b.is_ascii_digit()) {
        zip3
    } else {
        String::new()
    };
    (!state.is_empty() || !zip3.is_empty()).then_some((state, zip3))
}

/// Earliest and latest day of each person's records.
#[derive(Default)]
struct Span(BTreeMap<i64, (NaiveDate, NaiveDate)>);

impl Span {
    fn add(&mut self, person: i64, day: NaiveDate) {
        let e = self.0.entry(person).or_insert((day, day));
        e.0 = e.0.min(day);
        e.1 = e.1.max(day);
    }
}

/// A text id for a `*_source_value`, or null when it is or holds an MRN
/// (as a whole or as one of its parts between separators: `M0042-V1`).
fn source_id<'a>(id: &'a str, mrns: &Keys<()>) -> Value<'a> {
    let id = id.trim();
    let is_mrn = |s: &str| !s.is_empty() && mrns.contains(s);
    if is_mrn(id) || id.split(|c: char| !c.is_ascii_alphanumeric()).any(is_mrn) {
        Value::Null
    } else {
        Value::text(id)
    }
}

fn int(x: i64) -> Value<'static> {
    Value::Int(x)
}

fn opt_int(x: Option<i64>) -> Value<'static> {
    x.map_or(Value::Null, Value::Int)
}

/// What the whole population decides before its parts are built: the
/// places and care sites (each numbered once), how many chronic conditions
/// there are (principal diagnoses are numbered after them), the end of the
/// data, and every MRN the sources sent (a text id that is or holds one is
/// not written to the CDM).
pub struct Population<'a> {
    pub places: BTreeSet<(String, String)>,
    pub sites: BTreeSet<String>,
    pub chronic_conditions: i64,
    pub data_end: NaiveDateTime,
    pub mrns: &'a Keys<()>,
}

impl Population<'_> {
    /// The places of these persons.
    pub fn places_of<'p>(persons: impl Iterator<Item = &'p Patient>) -> BTreeSet<(String, String)> {
        persons.filter_map(place).collect()
    }
}

/// Builds the CDM a part of the clean model at a time: parts given in
/// person order give the rows, and the ids, one whole build would.
pub struct CdmBuilder<'a> {
    pop: Population<'a>,
    vocab: Vocabulary,
    ehr: i64,
    place_ids: IdMap<(String, String), i64>,
    site_ids: IdMap<String, i64>,
    spec: Spec,
    next_visit: i64,
    next_chronic: i64,
    next_principal: i64,
    next_drug: i64,
    next_measurement: i64,
    next_note: i64,
    next_period: i64,
    /// The last part's tables, emptied, for the next part to fill.
    recycled: Vec<CdmTable>,
}

/// The tables a part of the clean model fills, in load order.
pub const PART_TABLES: [&str; 8] = [
    "person",
    "observation_period",
    "visit_occurrence",
    "condition_occurrence",
    "drug_exposure",
    "measurement",
    "note",
    "death",
];

impl<'a> CdmBuilder<'a> {
    /// The builder, and the tables that do not depend on the parts:
    /// location, care_site, cdm_source and the vocabulary tables.
    pub fn new(pop: Population<'a>) -> Result<(CdmBuilder<'a>, Vec<CdmTable>)> {
        let spec = Spec::v54()?;
        let mut vocab = Vocabulary::shipped(&spec)?;
        let ehr = vocab.concept("Type Concept", "OMOP4976890");
        let place_ids: IdMap<(String, String), i64> = pop.places.iter().cloned().zip(1..).collect();
        let site_ids: IdMap<String, i64> = pop.sites.iter().cloned().zip(1..).collect();

        // location: the distinct de-identified places
        let mut location = CdmTable::new(&spec, "location")?;
        let at = location.columns(&["location_id", "state", "zip", "location_source_value"])?;
        for (key, id) in pop.places.iter().zip(1..) {
            let (state, zip3) = key;
            location.push(
                &at,
                &[
                    int(id),
                    Value::text(state.as_str()),
                    Value::text(zip3.as_str()),
                    Value::text(format!("{state} {zip3}").trim()),
                ],
            )?;
        }

        // care_site: one per source system that sent stays
        let mut care_site = CdmTable::new(&spec, "care_site")?;
        let at =
            care_site.columns(&["care_site_id", "care_site_name", "care_site_source_value"])?;
        for (name, id) in pop.sites.iter().zip(1..) {
            care_site.push(
                &at,
                &[
                    int(id),
                    Value::text(name.as_str()),
                    Value::text(name.as_str()),
                ],
            )?;
        }

        let mut source = CdmTable::new(&spec, "cdm_source")?;
        let at = source.columns(&[
            "cdm_source_name",
            "cdm_source_abbreviation",
            "cdm_holder",
            "source_description",
            "cdm_etl_reference",
            "source_release_date",
            "cdm_release_date",
            "cdm_version",
            "cdm_version_concept_id",
            "vocabulary_version",
        ])?;
        source.push(
            &at,
            &[
                Value::text("CareLab synthetic hospital data"),
                Value::text("CareLab"),
                Value::text("CareLab (synthetic data: no real patient)"),
                Value::text(
                    "Synthetic patients from CareLab's generator, read from their source \
                     systems, checked, linked and mapped by carelab ingest",
                ),
                Value::text("src/ingest/cdm.rs"),
                Value::Date(pop.data_end.date()),
                Value::Date(pop.data_end.date()),
                Value::text("v5.4"),
                int(0),
                Value::text("CareLab OMOP subset"),
            ],
        )?;
        let mut head = vec![location, care_site, source];
        head.append(&mut vocab.tables);
        let b = CdmBuilder {
            next_principal: pop.chronic_conditions + 1,
            pop,
            vocab,
            ehr,
            place_ids,
            site_ids,
            spec,
            next_visit: 1,
            next_chronic: 1,
            next_drug: 1,
            next_measurement: 1,
            next_note: 1,
            next_period: 1,
            recycled: Vec::new(),
        };
        Ok((b, head))
    }

    /// The rows of one part: the `PART_TABLES`, and the identifiers.
    pub fn part(&mut self, m: &CleanModel) -> Result<(Vec<CdmTable>, OutTable)> {
        let spec = &self.spec;
        let vocab = &self.vocab;
        let ehr = self.ehr;
        let mrns = self.pop.mrns;
        let data_end = self.pop.data_end;
        let mut recycled = std::mem::take(&mut self.recycled);
        let mut table = |name: &str| match recycled.iter().position(|t| t.name == name) {
            Some(i) => Ok(recycled.swap_remove(i)),
            None => CdmTable::new(spec, name),
        };
        let person_ids: IdMap<&str, i64> = m
            .persons
            .iter()
            .map(|p| p.patient_id.as_str())
            .zip(m.first_person_id..)
            .collect();
        let mut span = Span::default();

        // person, death and the identifiers beside them
        let mut person = table("person")?;
        let at = person.columns(&[
            "person_id",
            "gender_concept_id",
            "year_of_birth",
            "month_of_birth",
            "day_of_birth",
            "birth_datetime",
            "race_concept_id",
            "ethnicity_concept_id",
            "location_id",
            "person_source_value",
            "gender_source_value",
            "gender_source_concept_id",
            "race_source_value",
            "race_source_concept_id",
            "ethnicity_source_value",
            "ethnicity_source_concept_id",
        ])?;
        let mut death = table("death")?;
        let death_at = death.columns(&["person_id", "death_date", "death_type_concept_id"])?;
        let mut identifiers = identifiers_table();
        for (p, id) in m.persons.iter().zip(m.first_person_id..) {
            let key = &p.patient_id;
            let b = p.birth_date;
            let sex = p.sex.trim().to_ascii_uppercase();
            let location_id = place(p).and_then(|k| self.place_ids.get(&k).copied());
            person.push(
                &at,
                &[
                    int(id),
                    int(vocab.concept("Gender", &sex)),
                    int(i64::from(b.year())),
                    int(i64::from(b.month())),
                    int(i64::from(b.day())),
                    Value::Datetime(b.and_hms_opt(0, 0, 0).unwrap_or_default()),
                    int(vocab.concept("Race", race_code(&p.race))),
                    int(vocab.concept("Ethnicity", ethnicity_code(&p.ethnicity))),
                    opt_int(location_id),
                    source_id(key, mrns),
                    Value::text(p.sex.as_str()),
                    int(0),
                    Value::text(p.race.as_str()),
                    int(0),
                    Value::text(p.ethnicity.as_str()),
                    int(0),
                ],
            )?;
            if let Some(d) = p.death_date {
                death.push(&death_at, &[int(id), Value::Date(d), int(ehr)])?;
                span.add(id, d);
            }
            let t = |s: &String| Cell::Text(s.clone());
            identifiers.rows.push(vec![
                Cell::Integer(id),
                t(key),
                t(&p.mrn),
                t(&p.given_name),
                t(&p.family_name),
                Cell::Text(b.to_string()),
                t(&p.address_line),
                t(&p.city),
                t(&p.state),
                t(&p.zip),
                t(&p.phone),
                t(&p.email),
                t(&p.ssn),
            ]);
        }

        // visit_occurrence, each visit after the person's previous one
        let mut visit = table("visit_occurrence")?;
        let at = visit.columns(&[
            "visit_occurrence_id",
            "person_id",
            "visit_concept_id",
            "visit_start_date",
            "visit_start_datetime",
            "visit_end_date",
            "visit_end_datetime",
            "visit_type_concept_id",
            "care_site_id",
            "visit_source_value",
            "visit_source_concept_id",
            "discharged_to_concept_id",
            "discharged_to_source_value",
            "preceding_visit_occurrence_id",
        ])?;
        let mut by_person: Vec<(i64, &str, &Encounter, &str)> = Vec::new();
        for (e, source) in m.encounters {
            let p = lookup(&person_ids, "person", &e.patient_id)?;
            by_person.push((p, e.encounter_id.as_str(), e, source.as_str()));
        }
        by_person.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        let mut order: Vec<(i64, NaiveDateTime, i64, &Encounter, &str)> = Vec::new();
        let mut visit_ids: IdMap<&str, i64> = IdMap::default();
        for (p, key, e, source) in by_person {
            let v = self.next_visit;
            self.next_visit += 1;
            visit_ids.insert(key, v);
            order.push((p, e.admit_time, v, e, source));
        }
        order.sort_by_key(|(p, admit, v, _, _)| (*p, *admit, *v));
        let mut preceding: IdMap<i64, i64> = IdMap::default();
        let mut previous: Option<(i64, i64)> = None;
        for (p, _, v, _, _) in &order {
            if let Some((_, pv)) = previous.filter(|(pp, _)| pp == p) {
                preceding.insert(*v, pv);
            }
            previous = Some((*p, *v));
        }
        order.sort_by_key(|(_, _, v, _, _)| *v);
        for (p, admit, v, e, source) in &order {
            let end_date = e
                .discharge_time
                .map_or(data_end.date(), |t| t.date())
                .max(admit.date());
            span.add(*p, admit.date());
            span.add(*p, end_date);
            visit.push(
                &at,
                &[
                    int(*v),
                    int(*p),
                    int(vocab.concept("Visit", visit_code(&e.class))),
                    Value::Date(admit.date()),
                    Value::Datetime(*admit),
                    Value::Date(end_date),
                    e.discharge_time.map_or(Value::Null, Value::Datetime),
                    int(ehr),
                    opt_int(self.site_ids.get(*source).copied()),
                    source_id(&e.encounter_id, mrns),
                    int(0),
                    if e.disposition.is_empty() {
                        Value::Null
                    } else {
                        int(0)
                    },
                    Value::text(e.disposition.as_str()),
                    opt_int(preceding.get(v).copied()),
                ],
            )?;
        }
        let visit_of = |enc: Option<&str>| -> Result<Option<i64>> {
            enc.filter(|e| !e.is_empty())
                .map(|e| lookup(&visit_ids, "visit", e))
                .transpose()
        };
        // every other record: in the order of its person, then its own id
        fn in_order<'r, T>(
            rows: &'r [(T, String)],
            person_ids: &IdMap<&str, i64>,
            ids: impl Fn(&T) -> (&str, &str),
        ) -> Result<Vec<(i64, &'r T)>> {
            let mut v = rows
                .iter()
                .map(|(x, _)| Ok((lookup(person_ids, "person", ids(x).0)?, ids(x).1, x)))
                .collect::<Result<Vec<_>>>()?;
            v.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
            Ok(v.into_iter().map(|(p, _, x)| (p, x)).collect())
        }

        // condition_occurrence: chronic conditions, then principal diagnoses
        let mut condition = table("condition_occurrence")?;
        let at = condition.columns(&[
            "condition_occurrence_id",
            "person_id",
            "condition_concept_id",
            "condition_start_date",
            "condition_start_datetime",
            "condition_type_concept_id",
            "visit_occurrence_id",
            "condition_source_value",
            "condition_source_concept_id",
            "condition_status_source_value",
            "condition_status_concept_id",
        ])?;
        let conds = in_order(m.conditions, &person_ids, |c: &Condition| {
            (&c.patient_id, &c.condition_id)
        })?;
        for (p, c) in conds {
            let source = vocab.concept("ICD10CM", &c.code);
            span.add(p, c.onset_date);
            condition.push(
                &at,
                &[
                    int(self.next_chronic),
                    int(p),
                    int(vocab.standard(source)),
                    Value::Date(c.onset_date),
                    Value::Null,
                    int(ehr),
                    opt_int(visit_of(c.encounter_id.as_deref())?),
                    Value::text(c.code.trim()),
                    int(source),
                    Value::Null,
                    Value::Null,
                ],
            )?;
            self.next_chronic += 1;
        }
        for (p, admit, v, e, _) in &order {
            if e.reason_code.trim().is_empty() {
                continue;
            }
            let source = vocab.concept("ICD10CM", &e.reason_code);
            condition.push(
                &at,
                &[
                    int(self.next_principal),
                    int(*p),
                    int(vocab.standard(source)),
                    Value::Date(admit.date()),
                    Value::Datetime(*admit),
                    int(ehr),
                    int(*v),
                    Value::text(e.reason_code.trim()),
                    int(source),
                    Value::text("principal diagnosis"),
                    int(0),
                ],
            )?;
            self.next_principal += 1;
        }

        // drug_exposure
        let mut drug = table("drug_exposure")?;
        let at = drug.columns(&[
            "drug_exposure_id",
            "person_id",
            "drug_concept_id",
            "drug_exposure_start_date",
            "drug_exposure_start_datetime",
            "drug_exposure_end_date",
            "drug_type_concept_id",
            "visit_occurrence_id",
            "drug_source_value",
            "drug_source_concept_id",
        ])?;
        let meds = in_order(m.medications, &person_ids, |x: &Medication| {
            (&x.patient_id, &x.medication_id)
        })?;
        for (p, md) in meds {
            let source = vocab.concept("RxNorm", &md.rxnorm);
            let day = md.authored_time.date();
            span.add(p, day);
            drug.push(
                &at,
                &[
                    int(self.next_drug),
                    int(p),
                    int(vocab.standard(source)),
                    Value::Date(day),
                    Value::Datetime(md.authored_time),
                    Value::Date(day),
                    int(ehr),
                    opt_int(visit_of(Some(&md.encounter_id))?),
                    Value::text(md.rxnorm.trim()),
                    int(source),
                ],
            )?;
            self.next_drug += 1;
        }

        // measurement
        let mut meas = table("measurement")?;
        let at = meas.columns(&[
            "measurement_id",
            "person_id",
            "measurement_concept_id",
            "measurement_date",
            "measurement_datetime",
            "measurement_type_concept_id",
            "value_as_number",
            "value_as_concept_id",
            "unit_concept_id",
            "visit_occurrence_id",
            "measurement_source_value",
            "measurement_source_concept_id",
            "unit_source_value",
            "unit_source_concept_id",
            "value_source_value",
        ])?;
        let obs = in_order(m.observations, &person_ids, |x: &MappedObservation| {
            (&x.obs.patient_id, &x.obs.observation_id)
        })?;
        for (p, mo) in obs {
            let o = &mo.obs;
            let concept = if &*o.system == LOINC {
                vocab.concept("LOINC", &o.code)
            } else {
                0
            };
            span.add(p, o.time.date());
            meas.push(
                &at,
                &[
                    int(self.next_measurement),
                    int(p),
                    int(vocab.standard(concept)),
                    Value::Date(o.time.date()),
                    Value::Datetime(o.time),
                    int(ehr),
                    if o.value.is_finite() {
                        Value::Float(o.value)
                    } else {
                        Value::Null
                    },
                    if mo.value_as_concept.is_empty() {
                        Value::Null
                    } else {
                        int(0)
                    },
                    if o.unit.trim().is_empty() {
                        Value::Null
                    } else {
                        int(vocab.concept("UCUM", &o.unit))
                    },
                    opt_int(visit_of(Some(&o.encounter_id))?),
                    Value::text(mo.source_code.trim()),
                    int(vocab.concept("LOINC", &mo.source_code)),
                    Value::text(mo.source_unit.as_str()),
                    int(vocab.concept("UCUM", &mo.source_unit)),
                    Value::text(mo.source_value.as_str()),
                ],
            )?;
            self.next_measurement += 1;
        }

        // note
        let mut note = table("note")?;
        let at = note.columns(&[
            "note_id",
            "person_id",
            "note_date",
            "note_datetime",
            "note_type_concept_id",
            "note_class_concept_id",
            "note_title",
            "note_text",
            "encoding_concept_id",
            "language_concept_id",
            "visit_occurrence_id",
            "note_source_value",
        ])?;
        let notes = in_order(m.notes, &person_ids, |x: &Note| (&x.patient_id, &x.note_id))?;
        for (p, n) in notes {
            span.add(p, n.time.date());
            note.push(
                &at,
                &[
                    int(self.next_note),
                    int(p),
                    Value::Date(n.time.date()),
                    Value::Datetime(n.time),
                    int(ehr),
                    int(0),
                    Value::text("Discharge summary"),
                    // required: an empty note is kept as an empty text
                    Value::Text(&n.text),
                    int(0),
                    int(0),
                    opt_int(visit_of(Some(&n.encounter_id))?),
                    source_id(&n.note_id, mrns),
                ],
            )?;
            self.next_note += 1;
        }

        // observation_period: from each person's first to last record
        let mut period = table("observation_period")?;
        let at = period.columns(&[
            "observation_period_id",
            "person_id",
            "observation_period_start_date",
            "observation_period_end_date",
            "period_type_concept_id",
        ])?;
        for (p, (start, end)) in span.0.iter() {
            period.push(
                &at,
                &[
                    int(self.next_period),
                    int(*p),
                    Value::Date(*start),
                    Value::Date(*end),
                    int(ehr),
                ],
            )?;
            self.next_period += 1;
        }
        let tables = vec![person, period, visit, condition, drug, meas, note, death];
        debug_assert_eq!(
            tables.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            PART_TABLES
        );
        Ok((tables, identifiers))
    }

    /// Hand back a part's tables once written: the next part fills them
    /// again in the memory they hold (see [`CdmTable::clear`]).
    pub fn recycle(&mut self, tables: Vec<CdmTable>) {
        for mut t in tables {
            t.clear();
            self.recycled.push(t);
        }
    }
}

/// The identifiers file's columns.
pub fn identifiers_table() -> OutTable {
    OutTable::new(
        "identifiers",
        &[
            ("person_id", Kind::Integer),
            ("person_source_value", Kind::Text),
            ("mrn", Kind::Text),
            ("given_name", Kind::Text),
            ("family_name", Kind::Text),
            ("birth_date", Kind::Text),
            ("address_line", Kind::Text),
            ("city", Kind::Text),
            ("state", Kind::Text),
            ("zip", Kind::Text),
            ("phone", Kind::Text),
            ("email", Kind::Text),
            ("ssn", Kind::Text),
        ],
    )
}

/// The whole clean model as one part: the CDM tables in load order.
pub fn build(m: &CleanModel, data_end: NaiveDateTime, mrns: &Keys<()>) -> Result<Cdm> {
    let pop = Population {
        places: Population::places_of(m.persons.iter().copied()),
        sites: m.encounters.iter().map(|(_, s)| s.clone()).collect(),
        chronic_conditions: m.conditions.len() as i64,
        data_end,
        mrns,
    };
    let (mut b, head) = CdmBuilder::new(pop)?;
    let (part, identifiers) = b.part(m)?;
    let mut tables: Vec<CdmTable> = part.into_iter().chain(head).collect();
    let rank = |t: &CdmTable| TABLES.iter().position(|n| *n == t.name);
    tables.sort_by_key(rank);
    Ok(Cdm {
        tables,
        identifiers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clinical::codes::Measure;
    use crate::clinical::records::{parse_datetime, Observation};

    fn t(s: &str) -> NaiveDateTime {
        parse_datetime(s).unwrap()
    }

    fn cell<'a>(cdm: &'a Cdm, table: &str, row: usize, col: &str) -> Value<'a> {
        let t = cdm.table(table).unwrap();
        t.value(row, t.column(col).unwrap())
    }

    #[test]
    fn an_open_stay_ends_on_the_extraction_date_and_identifiers_stay_out() {
        let patient = Patient {
            patient_id: "P2".into(),
            mrn: "MRN-9".into(),
            given_name: "Ann".into(),
            family_name: "Lee".into(),
            sex: "F".into(),
            birth_date: NaiveDate::from_ymd_opt(1950, 6, 15).unwrap(),
            race: "Other".into(),
            ethnicity: "Not Hispanic or Latino".into(),
            payer: "Medicare".into(),
            address_line: "1 Main St".into(),
            city: "Springfield".into(),
            state: "IL".into(),
            zip: "62704".into(),
            phone: "555-010-0000".into(),
            email: "ann@example.org".into(),
            ssn: "123-45-6789".into(),
            death_date: None,
        };
        let persons = [&patient];
        let enc = |id: &str, admit: &str, discharge: Option<&str>, reason: &str| Encounter {
            encounter_id: id.into(),
            patient_id: "P2".into(),
            class: "IMP".into(),
            admit_time: t(admit),
            discharge_time: discharge.map(t),
            disposition: if discharge.is_some() { "home" } else { "" }.into(),
            reason_code: reason.into(),
        };
        let encounters = vec![
            (
                enc(
                    "E1",
                    "2023-01-01T08:00:00",
                    Some("2023-01-04T10:00:00"),
                    "I10",
                ),
                "ehr".to_string(),
            ),
            (
                enc("E2", "2023-03-01T08:00:00", None, "J18.9"),
                "ehr".to_string(),
            ),
        ];
        let g = Measure::Glucose;
        let observations = vec![(
            MappedObservation {
                obs: Observation {
                    observation_id: "O1".into(),
                    patient_id: "P2".into(),
                    encounter_id: "E2".into(),
                    time: t("2023-03-01T09:00:00"),
                    code: g.loinc().into(),
                    system: LOINC.into(),
                    display: g.display().into(),
                    value: 99.088,
                    unit: g.unit().into(),
                },
                measure: Some(g),
                source_code: "GLU".into(),
                source_unit: "mmol/L".into(),
                source_value: "5.5".into(),
                value_as_string: String::new(),
                value_as_concept: String::new(),
            },
            "lab".to_string(),
        )];
        let model = CleanModel {
            persons: &persons,
            first_person_id: 1,
            encounters: &encounters,
            observations: &observations,
            conditions: &[],
            medications: &[],
            notes: &[],
        };
        let mrns = Keys::set(["MRN-9"]);
        let cdm = build(&model, t("2023-03-10T00:00:00"), &mrns).unwrap();
        let d = |s: &str| Value::Date(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap());
        // the open stay ends on the extraction date, its end time unknown
        assert_eq!(
            cell(&cdm, "visit_occurrence", 1, "visit_end_date"),
            d("2023-03-10")
        );
        assert_eq!(
            cell(&cdm, "visit_occurrence", 1, "visit_end_datetime"),
            Value::Null
        );
        assert_eq!(
            cell(&cdm, "visit_occurrence", 1, "preceding_visit_occurrence_id"),
            Value::Int(1)
        );
        // principal diagnoses: I10 maps to SNOMED, J18.9 is not in the subset
        let cond = |row, col| cell(&cdm, "condition_occurrence", row, col);
        assert_eq!(cond(0, "condition_concept_id"), Value::Int(320128));
        assert_eq!(cond(0, "condition_source_concept_id"), Value::Int(35207668));
        assert_eq!(cond(1, "condition_concept_id"), Value::Int(0));
        assert_eq!(cond(1, "condition_source_value"), Value::text("J18.9"));
        // a local code: the standard concept from LOINC, the source kept
        let m = |col| cell(&cdm, "measurement", 0, col);
        assert_eq!(m("measurement_concept_id"), Value::Int(3004501));
        assert_eq!(m("measurement_source_value"), Value::text("GLU"));
        assert_eq!(m("measurement_source_concept_id"), Value::Int(0));
        assert_eq!(m("unit_concept_id"), Value::Int(8840));
        assert_eq!(m("unit_source_concept_id"), Value::Int(8753));
        // race "Other" has no standard concept; the text is kept
        assert_eq!(cell(&cdm, "person", 0, "race_concept_id"), Value::Int(0));
        assert_eq!(
            cell(&cdm, "person", 0, "race_source_value"),
            Value::text("Other")
        );
        // the observation period spans the first to the last record
        assert_eq!(
            cell(&cdm, "observation_period", 0, "observation_period_end_date"),
            d("2023-03-10")
        );
        // no identifier anywhere in the CDM; all of them beside it
        let banned = ["MRN-9", "Ann", "Lee", "1 Main St", "Springfield", "62704"];
        for table in &cdm.tables {
            for row in 0..table.len() {
                for col in 0..table.fields.len() {
                    if let Value::Text(s) = table.value(row, col) {
                        assert!(!banned.contains(&s), "{}: {s}", table.name);
                    }
                }
            }
        }
        assert_eq!(cell(&cdm, "location", 0, "zip"), Value::text("627"));
        assert_eq!(cdm.identifiers.rows[0][9], Cell::Text("62704".into()));
        assert_eq!(
            cell(&cdm, "person", 0, "person_source_value"),
            Value::text("P2")
        );
    }

    #[test]
    fn a_text_id_that_is_or_holds_an_mrn_stays_out_of_the_cdm() {
        let mrns = Keys::set(["01234567", "M0042"]);
        assert_eq!(source_id("01234567", &mrns), Value::Null);
        assert_eq!(source_id("M0042-V1", &mrns), Value::Null);
        assert_eq!(source_id("E0000000-01", &mrns), Value::text("E0000000-01"));
        assert_eq!(source_id("P0000000", &mrns), Value::text("P0000000"));
        // part of a longer token is not the MRN
        assert_eq!(source_id("X01234567", &mrns), Value::text("X01234567"));
    }
}
