//! `PatientBundle` -> HL7 v2.5.1 messages.
//!
//! Per stay, in time order: ADT^A01 at admission (MSH, EVN, PID, PV1, DG1,
//! IN1), one ORU^R01 per observation time (MSH, PID, PV1, OBR, OBX per
//! observation), one ORU^R01 per discharge note (the text in TX OBX
//! segments), and ADT^A03 at discharge (PV1-36 disposition, PV1-45
//! discharge time). Message times come from the events, control ids from a
//! hash of the records: the same records always give the same bytes.
//!
//! The messages conform to v2.5.1 (segment order and groups of the
//! ADT_A01, ADT_A03 and ORU_R01 abstract message definitions, required
//! fields, no field past a segment's last, values within their data
//! type's length); `scripts/validate-hl7.py` checks that with an
//! independent validator. v2.5.1's OBX has no field for an observation's
//! own id (OBX-21 came in v2.6), so the id travels in OBX-4, the
//! observation sub-id, and MSH-21 names [`PROFILE`], the profile that says
//! so: readers know from it that these sub-ids are ids.

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
/// MSH-21 of every message written here (an EI: profile id, namespace): a
/// message declaring it carries each observation's id in OBX-4, unique
/// across the feed, and a note longer than one OBX continues in the next
/// OBX with the same OBX-3 and OBX-4.
pub const PROFILE: [&str; 2] = ["CARELAB-V2-FEED", "CARELAB"];
/// Longest repetition of a note's OBX-5, escapes included: ST's 199, which
/// is within TX's own limit, so that receivers that read OBX-5 of any
/// value type as ST (hl7apy does) accept it too.
const NOTE_PIECE: usize = 199;
/// Longest OBX-5 of one note OBX, all repetitions: the longest TX value.
const NOTE_FIELD: usize = 65_536;

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
            .set(11, "2.5.1".into())
            .set(20, comps(&PROFILE));
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

/// PV1 with what is known at this event: admission only, or the discharge
/// (`discharged`: its time).
fn pv1(e: Option<&Encounter>, encounter_id: &str, discharged: Option<NaiveDateTime>) -> String {
    let mut s = Seg::new("PV1");
    s.set(1, "1".into())
        .set(2, patient_class(e.map_or("", |e| e.class.as_str())).into())
        .set(19, esc(encounter_id));
    if let Some(e) = e {
        s.set(44, dtm(&e.admit_time));
        if let Some(at) = discharged {
            let disposition = Disposition::from_name(&e.disposition)
                .map_or_else(|| esc(&e.disposition), |d| d.nubc().to_string());
            s.set(36, disposition).set(45, dtm(&at));
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

/// IN1 for the patient's payer: the plan (IN1-2, the payer's name as its
/// text, as read back), and the insurance company, required: its id
/// (IN1-3, made from the name) and name (IN1-4).
fn in1(p: Option<&Patient>) -> Option<String> {
    let p = p.filter(|p| !p.payer.is_empty())?;
    let mut s = Seg::new("IN1");
    s.set(1, "1".into())
        .set(2, comps(&["", &p.payer]))
        .set(3, comps(&[&payer_id(&p.payer), "", "", "CARELAB"]))
        .set(4, comps(&[&p.payer]));
    Some(s.line())
}

/// `Self-pay` -> `SELFPAY`: the payer's ASCII letters and digits, upper
/// case, at most CX-1's 15 characters; a name with none gets a digest of
/// itself, as the field is required.
fn payer_id(payer: &str) -> String {
    let id: String = payer
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .take(15)
        .collect();
    if id.is_empty() {
        hex::encode_upper(&Sha256::digest(payer.as_bytes())[..7])
    } else {
        id
    }
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
        .set(4, esc(&o.observation_id))
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
        .set(14, dtm(&o.time));
    s.line()
}

/// The note as TX OBX segments: one repetition of OBX-5 per line (TX's
/// line break), a line too long for one repetition continued in the next
/// OBX with the same OBX-3 and OBX-4, which a reader appends as is.
fn obx_note(n: &Note) -> String {
    let pieces = note_pieces(&n.text);
    let mut out = String::new();
    for (i, value) in pieces.iter().enumerate() {
        let mut s = Seg::new("OBX");
        s.set(1, (i + 1).to_string())
            .set(2, "TX".into())
            .set(3, comps(&[NOTE_CODE, "Discharge summary", LOINC_TAG]))
            .set(4, esc(&n.note_id))
            .set(5, value.join("~"))
            .set(11, "F".into())
            .set(14, dtm(&n.time));
        out.push_str(&s.line());
    }
    out
}

/// `text` cut into OBX-5 values, each a list of escaped repetitions of at
/// most [`NOTE_PIECE`] characters and [`NOTE_FIELD`] in all. Joining each
/// value's repetitions with a line feed, then the values, gives `text`
/// back wherever the cuts fall: a line feed is a repetition separator,
/// anything else its escaped self, never cut in two.
fn note_pieces(text: &str) -> Vec<Vec<String>> {
    let d = Delimiters::default();
    let mut values = vec![vec![String::new()]];
    let (mut piece_len, mut field_len) = (0, 0);
    let mut buf = [0u8; 4];
    for c in text.chars() {
        let atom = (c != '\n').then(|| escape(c.encode_utf8(&mut buf), &d).into_owned());
        let atom_len = atom.as_ref().map_or(1, |a| a.chars().count());
        let piece_full = atom.is_some() && piece_len + atom_len > NOTE_PIECE;
        if piece_full || field_len + atom_len > NOTE_FIELD {
            values.push(vec![String::new()]);
            (piece_len, field_len) = (0, 0);
        }
        let value = values.last_mut().expect("a value");
        match atom {
            None => {
                value.push(String::new());
                piece_len = 0;
            }
            Some(a) => {
                value.last_mut().expect("a repetition").push_str(&a);
                piece_len += atom_len;
            }
        }
        field_len += atom_len;
    }
    values
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
        a01.push_str(&pv1(Some(e), id, None));
        a01.push_str(&dg1(e));
        if let Some(in1) = in1(patient) {
            a01.push_str(&in1);
        }
        events.push(((e.admit_time, 0, events.len()), a01));

        // an open stay has no discharge to send yet
        let Some(at) = e.discharge_time else {
            continue;
        };
        let mut a03 = m.msh("ADT^A03^ADT_A03", &at, id);
        a03.push_str(&format!("EVN|A03|{}\r", dtm(&at)));
        a03.push_str(&pid);
        a03.push_str(&pv1(Some(e), id, Some(at)));
        a03.push_str(&dg1(e));
        events.push(((at, 3, events.len()), a03));
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
        oru.push_str(&pv1(stays.get(enc).copied(), enc, None));
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
            None,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::hl7v2::{decode, unescape, Feed, Limits};

    fn note(text: &str) -> Note {
        Note {
            note_id: "N0000001-01".into(),
            patient_id: "P0000001".into(),
            encounter_id: "E0000001-01".into(),
            time: NaiveDateTime::parse_from_str("20230114110000", "%Y%m%d%H%M%S").unwrap(),
            text: text.into(),
        }
    }

    fn patient() -> Patient {
        Patient {
            patient_id: "P1".into(),
            mrn: String::new(),
            given_name: "Ann".into(),
            family_name: "Lee".into(),
            sex: "F".into(),
            birth_date: note("").time.date(),
            race: String::new(),
            ethnicity: String::new(),
            payer: "Self-pay".into(),
            address_line: String::new(),
            city: String::new(),
            state: String::new(),
            zip: String::new(),
            phone: String::new(),
            email: String::new(),
            ssn: String::new(),
            death_date: None,
        }
    }

    /// A 1,000-character line with delimiters, short lines, an empty line,
    /// a CR and a trailing line feed.
    fn long_text() -> String {
        let long: String = (0..100).map(|i| format!("w{i:03}|&^~\\ ")).collect();
        format!(
            "DISCHARGE SUMMARY\n{long}\n\nCR\rhere\n{}\n",
            "x".repeat(400)
        )
    }

    #[test]
    fn note_pieces_stay_within_the_limits_and_join_back_to_the_text() {
        let text = long_text();
        let values = note_pieces(&text);
        assert!(values.len() > 5, "{} values", values.len());
        let d = Delimiters::default();
        let mut back = String::new();
        for value in &values {
            for piece in value {
                assert!(piece.chars().count() <= NOTE_PIECE, "{piece}");
                assert!(!piece.contains(['|', '^', '~', '&', '\r', '\n']), "{piece}");
            }
            let lines: Vec<_> = value.iter().map(|p| unescape(p, &d)).collect();
            back.push_str(&lines.join("\n"));
        }
        assert_eq!(back, text);
        assert_eq!(note_pieces(""), [[""]]);
    }

    #[test]
    fn a_long_note_round_trips_through_continuation_obx() {
        let n = note(&long_text());
        let b = PatientBundle {
            patient: Some(patient()),
            notes: vec![n.clone()],
            ..PatientBundle::default()
        };
        let msgs = messages(&b, "GENERAL");
        assert_eq!(msgs.len(), 1);
        let obx: Vec<&str> = msgs[0]
            .split('\r')
            .filter(|s| s.starts_with("OBX|"))
            .collect();
        assert!(obx.len() > 5);
        for (i, seg) in obx.iter().enumerate() {
            let f: Vec<&str> = seg.split('|').collect();
            // set id, TX, the same OBX-3 and OBX-4, 14 fields (none past 19)
            assert_eq!(f[1], (i + 1).to_string());
            assert_eq!(
                &f[2..5],
                ["TX", "18842-5^Discharge summary^LN", "N0000001-01"]
            );
            assert_eq!(f.len(), 15);
        }
        let feed = Feed::from_bytes("n.hl7", msgs[0].as_bytes()).unwrap();
        let m = feed.messages(Limits::default()).next().unwrap().unwrap();
        let d = decode(&m).unwrap();
        assert_eq!(d.notes.len(), 1);
        assert_eq!(d.notes[0].note_id, n.note_id);
        assert_eq!(d.notes[0].text, n.text);
    }

    #[test]
    fn msh_declares_the_profile_and_in1_names_the_company() {
        let b = PatientBundle {
            patient: Some(patient()),
            encounters: vec![Encounter {
                encounter_id: "E1".into(),
                patient_id: "P1".into(),
                class: "IMP".into(),
                admit_time: note("").time,
                discharge_time: Some(note("").time),
                disposition: "home".into(),
                reason_code: "I50.9".into(),
            }],
            ..PatientBundle::default()
        };
        let a01 = &messages(&b, "GENERAL")[0];
        let msh: Vec<&str> = a01.split('\r').next().unwrap().split('|').collect();
        // MSH-n is at n-1: the separator is MSH-1
        assert_eq!(msh[8], "ADT^A01^ADT_A01");
        assert_eq!(msh[20], "CARELAB-V2-FEED^CARELAB");
        assert!(a01.contains("\rIN1|1|^Self-pay|SELFPAY^^^CARELAB|Self-pay\r"));
        assert_eq!(
            payer_id("Blue Cross Blue Shield of Illinois"),
            "BLUECROSSBLUESH"
        );
        assert_eq!(payer_id("\u{533b}\u{4fdd}").len(), 14);
    }
}
