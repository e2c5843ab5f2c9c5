//! `PatientBundle` -> HL7 v2.5.1 messages.
//!
//! Per stay, in time order: ADT^A01 at admission (MSH, EVN, PID, PV1, DG1,
//! IN1), one ORU^R01 per observation time (MSH, PID, PV1, OBR, OBX per
//! observation), one ORU^R01 per discharge note (the text in a TX OBX), and
//! ADT^A03 at discharge (PV1-36 disposition, PV1-45 discharge time). Message
//! times come from the events, control ids from a hash of the records: the
//! same records always give the same bytes.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use sha2::{Digest, Sha256};

use super::escape::escape;
use super::parse::Delimiters;
use crate::clinical::codes::LOINC;
use crate::clinical::{Disposition, Encounter, Note, Observation, Patient, PatientBundle};

/// Coding-system tag written for LOINC codes (HL7 table 0396); codes of any
/// other system are tagged with the system as the record names it.
pub const LOINC_TAG: &str = "LN";
/// LOINC code of a discharge summary (the OBX of a note).
pub(crate) const NOTE_CODE: &str = "18842-5";

/// HL7 DTM to the second.
pub(crate) fn dtm(t: &NaiveDateTime) -> String {
    t.format("%Y%m%d%H%M%S").to_string()
}

/// One segment being built: field `i` of the vector is SEG-i.
struct Seg(Vec<String>);

impl Seg {
    fn new(name: &str) -> Seg {
        Seg(vec![name.to_string()])
    }

    /// Set field `n` to an already-encoded value.
    fn set(&mut self, n: usize, value: String) -> &mut Seg {
        if self.0.len() <= n {
            self.0.resize(n + 1, String::new());
        }
        self.0[n] = value;
        self
    }

    fn line(&self) -> String {
        let mut s = self.0.join("|");
        s.push('\r');
        s
    }
}

/// Components, each escaped, joined with `^`, trailing empties dropped.
fn comps(parts: &[&str]) -> String {
    let d = Delimiters::default();
    let last = parts
        .iter()
        .rposition(|p| !p.is_empty())
        .map_or(0, |i| i + 1);
    parts[..last]
        .iter()
        .map(|p| escape(p, &d).into_owned())
        .collect::<Vec<_>>()
        .join("^")
}

fn esc(value: &str) -> String {
    escape(value, &Delimiters::default()).into_owned()
}

/// A message being assembled; `kind` is e.g. `ADT^A01^ADT_A01`.
struct Builder<'a> {
    facility: &'a str,
    patient_id: &'a str,
}

impl Builder<'_> {
    fn msh(&self, kind: &str, time: &NaiveDateTime, key: &str) -> String {
        let digest = Sha256::digest(format!("{}|{}|{}", self.patient_id, kind, key).as_bytes());
        let control = hex::encode_upper(&digest[..10]);
        let mut s = Seg::new("MSH");
        // MSH-1 is the separator itself, so MSH-n sits at vector index n-1.
        s.set(1, Delimiters::default().encoding_characters())
            .set(2, esc("CARELAB"))
            .set(3, esc(self.facility))
            .set(4, "CARELAB-INGEST".into())
            .set(5, esc(self.facility))
            .set(6, dtm(time))
            .set(8, kind.into())
            .set(9, control)
            .set(10, "P".into())
            .set(11, "2.5.1".into());
        s.line()
    }
}

fn pid(p: Option<&Patient>, patient_id: &str) -> String {
    let mut s = Seg::new("PID");
    s.set(1, "1".into());
    let Some(p) = p else {
        s.set(3, comps(&[patient_id, "", "", "CARELAB", "PI"]));
        return s.line();
    };
    let mut ids = vec![comps(&[&p.patient_id, "", "", "CARELAB", "PI"])];
    if !p.mrn.is_empty() {
        ids.push(comps(&[&p.mrn, "", "", "CARELAB", "MR"]));
    }
    if !p.ssn.is_empty() {
        ids.push(comps(&[&p.ssn, "", "", "SSA", "SS"]));
    }
    s.set(3, ids.join("~"))
        .set(5, comps(&[&p.family_name, &p.given_name]))
        .set(7, p.birth_date.format("%Y%m%d").to_string())
        .set(8, esc(&p.sex))
        .set(10, comps(&["", &p.race]))
        .set(11, comps(&[&p.address_line, "", &p.city, &p.state, &p.zip]));
    let mut telecom = Vec::new();
    if !p.phone.is_empty() {
        telecom.push(comps(&[&p.phone, "PRN", "PH"]));
    }
    if !p.email.is_empty() {
        telecom.push(comps(&["", "NET", "Internet", &p.email]));
    }
    s.set(13, telecom.join("~"))
        .set(19, esc(&p.ssn))
        .set(22, comps(&["", &p.ethnicity]));
    if let Some(d) = p.death_date {
        s.set(29, d.format("%Y%m%d").to_string())
            .set(30, "Y".into());
    }
    s.line()
}

fn patient_class(class: &str) -> &str {
    match class {
        "IMP" | "" => "I",
        "EMER" => "E",
        "AMB" => "O",
        other => other,
    }
}

/// PV1 with what is known at this event: admission only, or the discharge.
fn pv1(e: Option<&Encounter>, encounter_id: &str, discharged: bool) -> String {
    let mut s = Seg::new("PV1");
    s.set(1, "1".into())
        .set(2, patient_class(e.map_or("", |e| e.class.as_str())).into())
        .set(19, esc(encounter_id));
    if let Some(e) = e {
        s.set(44, dtm(&e.admit_time));
        if discharged {
            let disposition = Disposition::from_name(&e.disposition)
                .map_or_else(|| esc(&e.disposition), |d| d.nubc().to_string());
            s.set(36, disposition).set(45, dtm(&e.discharge_time));
        }
    }
    s.line()
}

fn dg1(e: &Encounter) -> String {
    let mut s = Seg::new("DG1");
    s.set(1, "1".into())
        .set(3, comps(&[&e.reason_code, "", "I10"]))
        .set(6, "A".into());
    s.line()
}

fn in1(p: Option<&Patient>) -> Option<String> {
    let p = p.filter(|p| !p.payer.is_empty())?;
    let mut s = Seg::new("IN1");
    s.set(1, "1".into()).set(2, comps(&["", &p.payer]));
    Some(s.line())
}

fn system_tag(system: &str) -> &str {
    if system == LOINC {
        LOINC_TAG
    } else {
        system
    }
}

fn obr(code: &str, display: &str, system: &str, time: &NaiveDateTime, filler: &str) -> String {
    let mut s = Seg::new("OBR");
    s.set(1, "1".into())
        .set(3, esc(filler))
        .set(4, comps(&[code, display, system_tag(system)]))
        .set(7, dtm(time))
        .set(25, "F".into());
    s.line()
}

fn obx_numeric(i: usize, o: &Observation) -> String {
    let value = if o.value.is_finite() {
        format!("{}", o.value)
    } else {
        String::new()
    };
    let mut s = Seg::new("OBX");
    s.set(1, (i + 1).to_string())
        .set(2, "NM".into())
        .set(3, comps(&[&o.code, &o.display, system_tag(&o.system)]))
        .set(5, value)
        .set(
            6,
            comps(&[
                &o.unit,
                &o.unit,
                if o.unit.is_empty() { "" } else { "UCUM" },
            ]),
        )
        .set(11, "F".into())
        .set(14, dtm(&o.time))
        .set(21, esc(&o.observation_id));
    s.line()
}

fn obx_note(n: &Note) -> String {
    let mut s = Seg::new("OBX");
    s.set(1, "1".into())
        .set(2, "TX".into())
        .set(3, comps(&[NOTE_CODE, "Discharge summary", LOINC_TAG]))
        .set(5, esc(&n.text))
        .set(11, "F".into())
        .set(14, dtm(&n.time))
        .set(21, esc(&n.note_id));
    s.line()
}

/// The messages an interface engine would send for this patient, in time
/// order: per stay an ADT^A01 at admission, ORU^R01 results, ADT^A03 at
/// discharge. Segments end with CR. `sending_facility` fills MSH-4.
pub fn messages(b: &PatientBundle, sending_facility: &str) -> Vec<String> {
    let patient = b.patient.as_ref();
    let patient_id = patient
        .map(|p| p.patient_id.as_str())
        .or_else(|| b.encounters.first().map(|e| e.patient_id.as_str()))
        .or_else(|| b.observations.first().map(|o| o.patient_id.as_str()))
        .unwrap_or_default();
    let m = Builder {
        facility: sending_facility,
        patient_id,
    };
    let pid = pid(patient, patient_id);
    let stays: BTreeMap<&str, &Encounter> = b
        .encounters
        .iter()
        .map(|e| (e.encounter_id.as_str(), e))
        .collect();
    // (time, order within the same second, sequence) -> message.
    let mut events: Vec<((NaiveDateTime, u8, usize), String)> = Vec::new();
    for e in &b.encounters {
        let id = &e.encounter_id;
        let mut a01 = m.msh("ADT^A01^ADT_A01", &e.admit_time, id);
        a01.push_str(&format!("EVN|A01|{}\r", dtm(&e.admit_time)));
        a01.push_str(&pid);
        a01.push_str(&pv1(Some(e), id, false));
        a01.push_str(&dg1(e));
        if let Some(in1) = in1(patient) {
            a01.push_str(&in1);
        }
        events.push(((e.admit_time, 0, events.len()), a01));

        let mut a03 = m.msh("ADT^A03^ADT_A03", &e.discharge_time, id);
        a03.push_str(&format!("EVN|A03|{}\r", dtm(&e.discharge_time)));
        a03.push_str(&pid);
        a03.push_str(&pv1(Some(e), id, true));
        a03.push_str(&dg1(e));
        events.push(((e.discharge_time, 3, events.len()), a03));
    }
    // Results: one ORU per (stay, time), observations in record order.
    let mut panels: BTreeMap<(&str, NaiveDateTime), Vec<&Observation>> = BTreeMap::new();
    for o in &b.observations {
        panels.entry((&o.encounter_id, o.time)).or_default().push(o);
    }
    for ((enc, time), obs) in panels {
        let key = format!("{enc}|{}", dtm(&time));
        let mut oru = m.msh("ORU^R01^ORU_R01", &time, &key);
        oru.push_str(&pid);
        oru.push_str(&pv1(stays.get(enc).copied(), enc, false));
        let filler = format!("{enc}-{}", dtm(&time));
        if let Some(first) = obs.first() {
            oru.push_str(&obr(
                &first.code,
                &first.display,
                &first.system,
                &time,
                &filler,
            ));
        }
        for (i, o) in obs.iter().enumerate() {
            oru.push_str(&obx_numeric(i, o));
        }
        events.push(((time, 1, events.len()), oru));
    }
    for n in &b.notes {
        let mut oru = m.msh("ORU^R01^ORU_R01", &n.time, &n.note_id);
        oru.push_str(&pid);
        oru.push_str(&pv1(
            stays.get(n.encounter_id.as_str()).copied(),
            &n.encounter_id,
            false,
        ));
        oru.push_str(&obr(
            NOTE_CODE,
            "Discharge summary",
            LOINC,
            &n.time,
            &n.note_id,
        ));
        oru.push_str(&obx_note(n));
        events.push(((n.time, 2, events.len()), oru));
    }
    events.sort_by_key(|a| a.0);
    events.into_iter().map(|(_, m)| m).collect()
}
