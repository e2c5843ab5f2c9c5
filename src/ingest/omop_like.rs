//! The OMOP-like tables' columns and rows (`omop/`), a partition of persons
//! at a time. Each record's fields are written straight into the tables'
//! CSV and Parquet writers ([`super::omop::TableWriter`]): no table of
//! cells is built in between, and dates and times go to Parquet as the
//! values they are rather than as text read back.

use std::path::Path;

use chrono::Datelike;

use super::cdm::CleanModel;
use super::omop::Kind::{self, Date, Integer, Number, Text, Timestamp};
use super::omop::TableWriter;
use crate::artifact::Written;
use crate::error::Result;

type Columns = &'static [(&'static str, Kind)];

const PERSON: Columns = &[
    ("person_id", Text),
    ("person_source_value", Text),
    ("gender_source_value", Text),
    ("year_of_birth", Integer),
    ("month_of_birth", Integer),
    ("day_of_birth", Integer),
    ("birth_datetime", Timestamp),
    ("race_source_value", Text),
    ("ethnicity_source_value", Text),
    ("payer_source_value", Text),
    ("given_name", Text),
    ("family_name", Text),
    ("address_line", Text),
    ("city", Text),
    ("state", Text),
    ("zip", Text),
    ("phone", Text),
    ("email", Text),
    ("ssn", Text),
    ("death_date", Date),
];

const VISIT: Columns = &[
    ("visit_occurrence_id", Text),
    ("person_id", Text),
    ("visit_source_value", Text),
    ("visit_start_datetime", Timestamp),
    ("visit_end_datetime", Timestamp),
    ("discharged_to_source_value", Text),
    ("reason_source_value", Text),
    ("source", Text),
];

const MEASUREMENT: Columns = &[
    ("measurement_id", Text),
    ("person_id", Text),
    ("visit_occurrence_id", Text),
    ("measurement_datetime", Timestamp),
    ("measurement_concept_code", Text),
    ("measurement_concept_name", Text),
    ("measurement_source_value", Text),
    ("value_as_number", Number),
    ("unit_concept_code", Text),
    ("unit_source_value", Text),
    ("value_source_value", Text),
    ("source", Text),
    ("value_as_string", Text),
    ("value_as_concept_code", Text),
];

const CONDITION: Columns = &[
    ("condition_occurrence_id", Text),
    ("person_id", Text),
    ("visit_occurrence_id", Text),
    ("condition_start_date", Date),
    ("condition_concept_code", Text),
    ("condition_source_value", Text),
    ("source", Text),
];

const DRUG: Columns = &[
    ("drug_exposure_id", Text),
    ("person_id", Text),
    ("visit_occurrence_id", Text),
    ("drug_exposure_start_datetime", Timestamp),
    ("drug_concept_code", Text),
    ("drug_source_value", Text),
    ("source", Text),
];

const NOTE: Columns = &[
    ("note_id", Text),
    ("person_id", Text),
    ("visit_occurrence_id", Text),
    ("note_datetime", Timestamp),
    ("note_text", Text),
    ("source", Text),
];

/// The OMOP-like tables being written, one row group per partition.
pub struct OmopLike {
    person: TableWriter,
    visit: TableWriter,
    measurement: TableWriter,
    condition: TableWriter,
    drug: TableWriter,
    note: TableWriter,
}

/// `records` in the order of person, then record id (`key` gives both).
fn in_order<T>(records: &[(T, String)], key: impl Fn(&T) -> (&str, &str)) -> Vec<&(T, String)> {
    let mut v: Vec<&(T, String)> = records.iter().collect();
    v.sort_by(|a, b| key(&a.0).cmp(&key(&b.0)));
    v
}

impl OmopLike {
    /// Open every table's CSV and Parquet file in `dir`.
    pub fn create(dir: &Path) -> Result<OmopLike> {
        let open = |name, columns| TableWriter::create(dir, name, columns);
        Ok(OmopLike {
            person: open("person", PERSON)?,
            visit: open("visit_occurrence", VISIT)?,
            measurement: open("measurement", MEASUREMENT)?,
            condition: open("condition_occurrence", CONDITION)?,
            drug: open("drug_exposure", DRUG)?,
            note: open("note", NOTE)?,
        })
    }

    /// Append a partition's rows (its persons in the order of their ids):
    /// each table in the order of person, then record id.
    pub fn append(&mut self, m: &CleanModel) -> Result<()> {
        let w = &mut self.person;
        for p in m.persons {
            let b = p.birth_date;
            w.row()
                .text(&p.patient_id)
                .text(&p.mrn)
                .text(&p.sex)
                .integer(i64::from(b.year()))
                .integer(i64::from(b.month()))
                .integer(i64::from(b.day()))
                .timestamp(Some(b.and_time(chrono::NaiveTime::MIN)))
                .text(&p.race)
                .text(&p.ethnicity)
                .text(&p.payer)
                .text(&p.given_name)
                .text(&p.family_name)
                .text(&p.address_line)
                .text(&p.city)
                .text(&p.state)
                .text(&p.zip)
                .text(&p.phone)
                .text(&p.email)
                .text(&p.ssn)
                .date(p.death_date)
                .end()?;
        }
        w.end_group()?;

        let w = &mut self.visit;
        for (e, s) in in_order(m.encounters, |e| (&e.patient_id, &e.encounter_id)) {
            w.row()
                .text(&e.encounter_id)
                .text(&e.patient_id)
                .text(&e.class)
                .timestamp(Some(e.admit_time))
                .timestamp(e.discharge_time)
                .text(&e.disposition)
                .text(&e.reason_code)
                .text(s)
                .end()?;
        }
        w.end_group()?;

        let w = &mut self.measurement;
        for (m, s) in in_order(m.observations, |m| {
            (&m.obs.patient_id, &m.obs.observation_id)
        }) {
            let o = &m.obs;
            w.row()
                .text(&o.observation_id)
                .text(&o.patient_id)
                .text(&o.encounter_id)
                .timestamp(Some(o.time))
                .text(&o.code)
                .text(&o.display)
                .text(&m.source_code)
                .number(o.value.is_finite().then_some(o.value))
                .text(&o.unit)
                .text(&m.source_unit)
                .text(&m.source_value)
                .text(s)
                .text(&m.value_as_string)
                .text(&m.value_as_concept)
                .end()?;
        }
        w.end_group()?;

        let w = &mut self.condition;
        for (c, s) in in_order(m.conditions, |c| (&c.patient_id, &c.condition_id)) {
            w.row()
                .text(&c.condition_id)
                .text(&c.patient_id)
                .text(c.encounter_id.as_deref().unwrap_or_default())
                .date(Some(c.onset_date))
                .text(&c.code)
                .text(&c.display)
                .text(s)
                .end()?;
        }
        w.end_group()?;

        let w = &mut self.drug;
        for (d, s) in in_order(m.medications, |d| (&d.patient_id, &d.medication_id)) {
            w.row()
                .text(&d.medication_id)
                .text(&d.patient_id)
                .text(&d.encounter_id)
                .timestamp(Some(d.authored_time))
                .text(&d.rxnorm)
                .text(&d.name)
                .text(s)
                .end()?;
        }
        w.end_group()?;

        let w = &mut self.note;
        for (n, s) in in_order(m.notes, |n| (&n.patient_id, &n.note_id)) {
            w.row()
                .text(&n.note_id)
                .text(&n.patient_id)
                .text(&n.encounter_id)
                .timestamp(Some(n.time))
                .text(&n.text)
                .text(s)
                .end()?;
        }
        w.end_group()
    }

    /// Close every file; returns them with their checksums.
    pub fn finish(self) -> Result<Written> {
        let mut written = Written::new();
        for w in [
            self.person,
            self.visit,
            self.measurement,
            self.condition,
            self.drug,
            self.note,
        ] {
            written.extend(w.finish()?);
        }
        Ok(written)
    }
}
