//! HL7 v2 messages -> the clinical records, and ACKs.
//!
//! Codes, systems and units are kept as sent: mapping local codes to LOINC
//! and units to UCUM is ingest's job. Errors name the message, segment and
//! field; values are quoted only when they are codes or numbers.

use chrono::{NaiveDate, NaiveDateTime};

use super::escape::escape;
use super::parse::{Message, Segment};
use super::write::{LOINC_TAG, NOTE_CODE, PROFILE};
use crate::clinical::codes::LOINC;
use crate::clinical::{Disposition, Encounter, Note, Observation, Patient};
use crate::error::Result;

/// What one message says, as records.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decoded {
    /// MSH-9.1^MSH-9.2, e.g. `ADT^A01`.
    pub event: String,
    /// MSH-10.
    pub control_id: String,
    /// From PID, when the message has one.
    pub patient: Option<Patient>,
    /// PV1-19, the visit the message is about.
    pub encounter_id: Option<String>,
    /// The whole stay, when PV1 carries both admit (PV1-44) and discharge
    /// (PV1-45) times, as ADT^A03 does; A01 and ORU only name the visit.
    pub encounter: Option<Encounter>,
    /// NM (and SN) OBX results.
    pub observations: Vec<Observation>,
    /// TX/FT/ST OBX with LOINC 18842-5: discharge summaries.
    pub notes: Vec<Note>,
    /// Results whose OBX-5 is not a number (empty, `N/A`, ...), as
    /// (index into `observations`, the text sent). Their value is NaN there.
    /// Only [`decode_lenient`] returns them; [`decode`] fails on the first.
    pub bad_values: Vec<(usize, String)>,
}

/// HL7 v2 DTM (`YYYYMMDD[HHMM[SS[.S+]]][+/-ZZZZ]`) as local wall-clock time.
pub fn parse_dtm(s: &str) -> Option<NaiveDateTime> {
    let digits_end = s.find(['.', '+', '-']).unwrap_or(s.len());
    let (digits, _) = s.split_at(digits_end);
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let padded = match digits.len() {
        8 => format!("{digits}000000"),
        10 => format!("{digits}0000"),
        12 => format!("{digits}00"),
        14 => digits.to_string(),
        _ => return None,
    };
    NaiveDateTime::parse_from_str(&padded, "%Y%m%d%H%M%S").ok()
}

/// A short value that is a code or a number, quoted; longer ones described.
fn quote(s: &str) -> String {
    if s.chars().count() <= 24 {
        format!("\"{s}\"")
    } else {
        format!("a value of {} characters", s.chars().count())
    }
}

fn required_dtm(seg: &Segment, n: usize) -> Result<NaiveDateTime> {
    let raw = seg.value(n).unwrap_or_default();
    parse_dtm(&raw).ok_or_else(|| {
        let found = if raw.is_empty() {
            "nothing".to_string()
        } else {
            format!("a value of {} characters", raw.chars().count())
        };
        seg.error(n, "a date/time YYYYMMDD[HHMM[SS]]", &found)
    })
}

fn optional_dtm(seg: &Segment, n: usize) -> Result<Option<NaiveDateTime>> {
    match seg.value(n) {
        None => Ok(None),
        Some(_) => required_dtm(seg, n).map(Some),
    }
}

fn s(v: Option<std::borrow::Cow<'_, str>>) -> String {
    v.map(|c| c.into_owned()).unwrap_or_default()
}

/// Decode one parsed message into records.
pub fn decode(msg: &Message) -> Result<Decoded> {
    let (decoded, mut errors) = decode_lenient(msg)?;
    match errors.is_empty() {
        true => Ok(decoded),
        false => Err(errors.swap_remove(0)),
    }
}

/// Like [`decode`], but a result whose value is not a number does not sink
/// the whole message: it is kept with a NaN value and listed in
/// `bad_values`, with its error, so an ingest can quarantine that one
/// result and keep the message's others. Anything else wrong still fails.
pub fn decode_lenient(msg: &Message) -> Result<(Decoded, Vec<crate::error::Error>)> {
    let mut value_errors = Vec::new();
    let msh = msg
        .first("MSH")
        .ok_or_else(|| msg.error("MSH", 1, 9, "an MSH segment", "none"))?;
    let event = match (msh.component(9, 1, 1), msh.component(9, 1, 2)) {
        (Some(t), Some(e)) => format!("{t}^{e}"),
        (Some(t), None) => t.into_owned(),
        _ => String::new(),
    };
    let mut out = Decoded {
        event,
        control_id: s(msh.value(10)),
        ..Decoded::default()
    };
    let pid = msg.first("PID");
    if let Some(pid) = &pid {
        out.patient = Some(patient(msg, pid)?);
    }
    let patient_id = out
        .patient
        .as_ref()
        .map(|p| p.patient_id.clone())
        .unwrap_or_default();
    if let Some(pv1) = msg.first("PV1") {
        let encounter_id = s(pv1.value(19));
        let admit = optional_dtm(&pv1, 44)?;
        let discharge = optional_dtm(&pv1, 45)?;
        if let (Some(admit_time), Some(discharge_time)) = (admit, discharge) {
            let disposition = pv1.value(36).map(|d| {
                Disposition::from_nubc(&d).map_or_else(|| d.into_owned(), |d| d.name().to_string())
            });
            let reason_code = msg
                .segments_named("DG1")
                .find(|d| d.value(6).as_deref() == Some("A"))
                .or_else(|| msg.first("DG1"))
                .and_then(|d| d.value(3))
                .map(|c| c.into_owned())
                .unwrap_or_default();
            out.encounter = Some(Encounter {
                encounter_id: encounter_id.clone(),
                patient_id: patient_id.clone(),
                class: class_from_v2(pv1.value(2).as_deref().unwrap_or("")),
                admit_time,
                discharge_time,
                disposition: disposition.unwrap_or_default(),
                reason_code,
            });
        }
        out.encounter_id = (!encounter_id.is_empty()).then_some(encounter_id);
    }
    let encounter_id = out.encounter_id.clone().unwrap_or_default();
    let mut obr_time = None;
    for seg in msg.segments() {
        match seg.name() {
            "OBR" => obr_time = optional_dtm(&seg, 7)?,
            "OBX" => {
                let time = match optional_dtm(&seg, 14)?.or(obr_time) {
                    Some(t) => t,
                    None => required_dtm(&msh, 7)?,
                };
                let id = observation_id(&msh, &seg, &out.control_id);
                let code = s(seg.component(3, 1, 1));
                let kind = s(seg.value(2));
                match kind.as_str() {
                    "TX" | "FT" | "ST" if code == NOTE_CODE => {
                        let lines: Vec<String> = seg
                            .repetitions(5)
                            .map(|r| super::escape::unescape(r, msg.delimiters()).into_owned())
                            .collect();
                        let text = lines.join("\n");
                        // an OBX with the note's id again continues its text
                        match out.notes.last_mut().filter(|n| n.note_id == id) {
                            Some(note) => note.text.push_str(&text),
                            None => out.notes.push(Note {
                                note_id: id,
                                patient_id: patient_id.clone(),
                                encounter_id: encounter_id.clone(),
                                time,
                                text,
                            }),
                        }
                    }
                    "NM" | "SN" => {
                        let (obs, bad) =
                            observation(&seg, id, &patient_id, &encounter_id, time, code);
                        if let Some((text, err)) = bad {
                            out.bad_values.push((out.observations.len(), text));
                            value_errors.push(err);
                        }
                        out.observations.push(obs);
                    }
                    other => {
                        return Err(seg.error(
                            2,
                            "value type NM (a number) or TX with LOINC 18842-5 (a note)",
                            &quote(other),
                        ))
                    }
                }
            }
            _ => {}
        }
    }
    Ok((out, value_errors))
}

/// An OBX's observation id: OBX-21 (v2.6's observation instance id, where
/// CareLab wrote it before its feeds conformed to v2.5.1), else OBX-4 when
/// MSH-21 declares CareLab's feed profile (whose sub-ids are ids), else the
/// control id and OBX-1, unique within a feed.
fn observation_id(msh: &Segment, obx: &Segment, control_id: &str) -> String {
    let profiled = || {
        msh.repetitions(21).any(|r| {
            msh.component_of(r, 1).as_deref() == Some(PROFILE[0])
                && msh.component_of(r, 2).as_deref() == Some(PROFILE[1])
        })
    };
    obx.value(21)
        .or_else(|| obx.value(4).filter(|_| profiled()))
        .map_or_else(
            || format!("{control_id}-{}", s(obx.value(1))),
            |id| id.into_owned(),
        )
}

fn class_from_v2(class: &str) -> String {
    match class {
        "I" => "IMP",
        "E" => "EMER",
        "O" => "AMB",
        other => other,
    }
    .to_string()
}

fn observation(
    seg: &Segment,
    observation_id: String,
    patient_id: &str,
    encounter_id: &str,
    time: NaiveDateTime,
    code: String,
) -> (Observation, Option<(String, crate::error::Error)>) {
    // SN (structured numeric) is comparator^number: keep the number.
    let raw = if seg.value(2).as_deref() == Some("SN") {
        s(seg.component(5, 1, 2))
    } else {
        s(seg.text(5))
    };
    let parsed = raw.trim().parse().ok().filter(|v: &f64| v.is_finite());
    let bad = parsed.is_none().then(|| {
        let found = if raw.is_empty() {
            "nothing".to_string()
        } else {
            quote(&raw)
        };
        (raw.clone(), seg.error(5, "a number", &found))
    });
    let value = parsed.unwrap_or(f64::NAN);
    let tag = s(seg.component(3, 1, 3));
    let system = if tag == LOINC_TAG {
        LOINC.to_string()
    } else {
        tag
    };
    let obs = Observation {
        observation_id,
        patient_id: patient_id.to_string(),
        encounter_id: encounter_id.to_string(),
        time,
        code: code.into(),
        system: system.into(),
        display: s(seg.component(3, 1, 2)).into(),
        value,
        unit: s(seg.component(6, 1, 1)).into(),
    };
    (obs, bad)
}

fn patient(msg: &Message, pid: &Segment) -> Result<Patient> {
    let mut patient_id = String::new();
    let mut mrn = String::new();
    let mut ssn = String::new();
    for rep in pid.repetitions(3) {
        let id = s(pid.component_of(rep, 1));
        match pid.component_of(rep, 5).as_deref() {
            Some("PI") => patient_id = id,
            Some("MR") => mrn = id,
            Some("SS") => ssn = id,
            _ => {}
        }
    }
    if ssn.is_empty() {
        ssn = s(pid.value(19));
    }
    let birth = pid.value(7).unwrap_or_default();
    let birth_date = birth
        .get(..8)
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y%m%d").ok())
        .ok_or_else(|| {
            let found = if birth.is_empty() {
                "nothing".to_string()
            } else {
                format!("a value of {} characters", birth.chars().count())
            };
            pid.error(7, "a birth date YYYYMMDD", &found)
        })?;
    let mut phone = String::new();
    let mut email = String::new();
    for rep in pid.repetitions(13) {
        let use_code = pid.component_of(rep, 2);
        let equipment = pid.component_of(rep, 3);
        if equipment.as_deref() == Some("Internet") || use_code.as_deref() == Some("NET") {
            if email.is_empty() {
                email = s(pid.component_of(rep, 4));
            }
        } else if phone.is_empty() {
            phone = s(pid.component_of(rep, 1));
        }
    }
    let text_or_code = |n: usize| s(pid.component(n, 1, 2).or_else(|| pid.component(n, 1, 1)));
    let death_date = match pid.value(29) {
        Some(d) => Some(
            d.get(..8)
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y%m%d").ok())
                .ok_or_else(|| pid.error(29, "a date of death YYYYMMDD", "another value"))?,
        ),
        None => None,
    };
    let payer = msg
        .first("IN1")
        .and_then(|in1| in1.component(2, 1, 2).or_else(|| in1.component(2, 1, 1)))
        .map(|p| p.into_owned())
        .unwrap_or_default();
    Ok(Patient {
        patient_id,
        mrn,
        given_name: s(pid.component(5, 1, 2)),
        family_name: s(pid.component(5, 1, 1)),
        sex: s(pid.value(8)),
        birth_date,
        race: text_or_code(10),
        ethnicity: text_or_code(22),
        payer,
        address_line: s(pid.component(11, 1, 1)),
        city: s(pid.component(11, 1, 3)),
        state: s(pid.component(11, 1, 4)),
        zip: s(pid.component(11, 1, 5)),
        phone,
        email,
        ssn,
        death_date,
    })
}

/// Acknowledgment codes (HL7 table 0008).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckCode {
    /// Accepted.
    AA,
    /// Error: the message was understood but could not be processed.
    AE,
    /// Rejected: the message was not understood.
    AR,
}

impl AckCode {
    pub fn as_str(self) -> &'static str {
        match self {
            AckCode::AA => "AA",
            AckCode::AE => "AE",
            AckCode::AR => "AR",
        }
    }
}

/// The ACK for `msg`: sender and receiver swapped, MSH-7 copied from the
/// message (never the clock), MSH-10 `ACK` + its control id, MSA with the
/// code, the control id and `text` (escaped). Uses the message's own
/// delimiters.
pub fn ack(msg: &Message, code: AckCode, text: &str) -> String {
    let d = *msg.delimiters();
    let msh = msg.first("MSH");
    let raw = |n: usize| msh.and_then(|m| m.raw(n)).unwrap_or_default();
    let control = raw(10);
    let trigger = msh.and_then(|m| m.component(9, 1, 2)).unwrap_or_default();
    let f = d.field;
    let mut out = format!(
        "MSH{f}{enc}{f}{rapp}{f}{rfac}{f}{sapp}{f}{sfac}{f}{time}{f}{f}ACK{c}{trig}{c}ACK{f}ACK{ctl}{f}P{f}2.5.1\r",
        enc = d.encoding_characters(),
        rapp = raw(5),
        rfac = raw(6),
        sapp = raw(3),
        sfac = raw(4),
        time = raw(7),
        c = d.component,
        trig = escape(&trigger, &d),
        ctl = control,
    );
    out.push_str(&format!(
        "MSA{f}{}{f}{control}{f}{}\r",
        code.as_str(),
        escape(text, &d)
    ));
    out
}
