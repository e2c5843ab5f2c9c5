//! HL7 v2 messages -> the clinical records, and ACKs.
//!
//! Codes, systems and units are kept as sent: mapping local codes to LOINC
//! and units to UCUM is ingest's job. Errors name the message, segment and
//! field; values are quoted only when they are codes or numbers.
//!
//! What varies between senders and how it is read:
//! - the patient id: PID-3 repeats identifiers of several types (MR, PI, AN,
//!   SS...) and assigning authorities; a [`PatientIdRule`] picks one;
//! - results: OBX-2 names the value type; numbers (NM, SN), text (ST, TX,
//!   FT), coded values (CE, CWE, CNE) and dates (DT, DTM, TS) are read,
//!   other types (ED, RP, HD...) are skipped and named; a bad OBX is an
//!   error of that OBX only ([`Obx::Bad`]), never of its message;
//! - segments CareLab does not read (Z-segments, NK1, AL1, ...) are
//!   skipped and counted by name.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};

use super::escape::escape;
use super::parse::{Message, Segment};
use super::write::{LOINC_TAG, NOTE_CODE, PROFILE};
use crate::clinical::codes::LOINC;
use crate::clinical::{Disposition, Encounter, Note, Observation, Patient};
use crate::error::{Error, Result};

/// Which PID-3 repetition is the patient id: the first pattern that
/// matches a repetition wins; when none matches, the first repetition with
/// an id. A pattern is an identifier type code (CX-5: `MR`, `PI`, `PT`,
/// `AN`, ...) and optionally an assigning authority (CX-4, its namespace or
/// universal id), written `MR` or `MR@GOOD HEALTH HOSPITAL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientIdRule(Vec<(String, Option<String>)>);

impl Default for PatientIdRule {
    /// The first MR (medical record number), then the first PI.
    fn default() -> Self {
        PatientIdRule(vec![("MR".into(), None), ("PI".into(), None)])
    }
}

impl std::str::FromStr for PatientIdRule {
    type Err = String;

    /// Comma-separated patterns, e.g. `MR@GOOD HEALTH HOSPITAL,PI`.
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let mut out = Vec::new();
        for item in s.split(',') {
            let (kind, authority) = match item.split_once('@') {
                Some((k, a)) => (k.trim(), Some(a.trim().to_string())),
                None => (item.trim(), None),
            };
            let ok = !kind.is_empty()
                && kind.len() <= 5
                && kind.chars().all(|c| c.is_ascii_alphanumeric())
                && authority.as_ref().is_none_or(|a| !a.is_empty());
            if !ok {
                return Err(format!(
                    "item {} ({} characters), which is not TYPE or TYPE@AUTHORITY",
                    out.len() + 1,
                    item.chars().count(),
                ));
            }
            out.push((kind.to_ascii_uppercase(), authority));
        }
        Ok(PatientIdRule(out))
    }
}

impl std::fmt::Display for PatientIdRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let items: Vec<String> = self
            .0
            .iter()
            .map(|(k, a)| match a {
                Some(a) => format!("{k}@{a}"),
                None => k.clone(),
            })
            .collect();
        write!(f, "{}", items.join(","))
    }
}

/// The identifier PID-3 gave as the patient id, with where it came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatientIdentity {
    pub id: String,
    /// CX-5, e.g. `MR`; empty when the sender gave none.
    pub type_code: String,
    /// CX-4: the namespace id, else the universal id; empty when none.
    pub authority: String,
}

impl PatientIdRule {
    /// The patient id among `pid`'s PID-3 repetitions.
    pub fn pick(&self, pid: &Segment) -> PatientIdentity {
        // each identifier with its authority's namespace and universal id
        let ids: Vec<(PatientIdentity, String, String)> = pid
            .repetitions(3)
            .map(|rep| {
                let hd = s(pid.component_of(rep, 4));
                let mut parts = hd.split(pid.delimiters().subcomponent);
                let ns = parts.next().unwrap_or_default().to_string();
                let uid = parts.next().unwrap_or_default().to_string();
                let identity = PatientIdentity {
                    id: s(pid.component_of(rep, 1)),
                    type_code: s(pid.component_of(rep, 5)).to_ascii_uppercase(),
                    authority: if ns.is_empty() {
                        uid.clone()
                    } else {
                        ns.clone()
                    },
                };
                (identity, ns, uid)
            })
            .filter(|(i, _, _)| !i.id.is_empty())
            .collect();
        self.0
            .iter()
            .find_map(|(kind, authority)| {
                ids.iter().find(|(i, ns, uid)| {
                    i.type_code == *kind
                        && authority.as_ref().is_none_or(|a| {
                            a.eq_ignore_ascii_case(ns) || a.eq_ignore_ascii_case(uid)
                        })
                })
            })
            .or_else(|| ids.first())
            .map(|(i, _, _)| i.clone())
            .unwrap_or_default()
    }
}

/// What a message's PV1 says about the visit it is about.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Visit {
    /// PV1-19.
    pub encounter_id: String,
    /// PV1-2 as CareLab's class (IMP, EMER, AMB) or as sent.
    pub class: String,
    /// PV1-44.
    pub admit_time: Option<NaiveDateTime>,
    /// PV1-45.
    pub discharge_time: Option<NaiveDateTime>,
    /// PV1-36: a disposition name when it is a NUBC code, else as sent.
    pub disposition: String,
    /// DG1-3 of the admitting (DG1-6 `A`) or first diagnosis.
    pub reason_code: String,
}

/// A result's value, by the kind OBX-2 declared.
#[derive(Debug, Clone, PartialEq)]
pub enum ResultValue {
    /// NM, or SN without a range: the number as sent (`Observation::value`
    /// holds it, NaN when it is no number) and SN's comparator (`<`, `>=`).
    Number { text: String, comparator: String },
    /// ST, TX, FT (repetitions joined by line breaks), or SN as a range or
    /// ratio (`1:128`).
    Text(String),
    /// CE, CWE, CNE: code, text, coding system.
    Coded {
        code: String,
        text: String,
        system: String,
    },
    /// DT, DTM, TS: as `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS`.
    Date(String),
}

/// One OBX as decoded, in message order.
#[derive(Debug)]
pub enum Obx {
    /// A result (`value` NaN in `obs` unless it is a number); `problem`
    /// names OBX-5 when a number result holds no number.
    Result {
        obs: Box<Observation>,
        value: ResultValue,
        problem: Option<Error>,
    },
    /// Text that is (part of) a note: a TX/FT/ST with LOINC 18842-5 in an
    /// ORU, any text OBX of an MDM document. Index into `Decoded::notes`.
    Note(usize),
    /// No result to keep: a value type CareLab does not keep (ED, RP,
    /// HD, ...) or a status that says there is no value (OBX-11 I, X, D,
    /// W, N): the reason, naming the type or status.
    Skipped(String),
    /// An OBX that cannot be read (its time, a date that is no date).
    Bad(Error),
}

/// Errors compare by their text (what a reader of them sees).
impl PartialEq for Obx {
    fn eq(&self, other: &Obx) -> bool {
        let text = |e: &Option<Error>| e.as_ref().map(|e| e.to_string());
        match (self, other) {
            (
                Obx::Result {
                    obs: a,
                    value: va,
                    problem: pa,
                },
                Obx::Result {
                    obs: b,
                    value: vb,
                    problem: pb,
                },
            ) => {
                // NaN values of the same non-number compare equal
                let same_value = a.value == b.value || (a.value.is_nan() && b.value.is_nan());
                let (mut a, mut b) = (a.clone(), b.clone());
                (a.value, b.value) = (0.0, 0.0);
                same_value && a == b && va == vb && text(pa) == text(pb)
            }
            (Obx::Note(a), Obx::Note(b)) => a == b,
            (Obx::Skipped(a), Obx::Skipped(b)) => a == b,
            (Obx::Bad(a), Obx::Bad(b)) => a.to_string() == b.to_string(),
            _ => false,
        }
    }
}

/// What one message says, as records.
#[derive(Debug, Default, PartialEq)]
pub struct Decoded {
    /// MSH-9.1^MSH-9.2 (EVN-1 when MSH-9 has no trigger), e.g. `ADT^A01`.
    pub event: String,
    /// MSH-10.
    pub control_id: String,
    /// MSH-12.
    pub version: String,
    /// From PID, when the message has one.
    pub patient: Option<Patient>,
    /// Where the patient id came from (PID-3's type and authority).
    pub patient_identity: PatientIdentity,
    /// MRG-1 ids an ADT^A40 merges into the patient.
    pub merged_ids: Vec<String>,
    /// PV1-19, the visit the message is about.
    pub encounter_id: Option<String>,
    /// What PV1 says about that visit.
    pub visit: Option<Visit>,
    /// The whole stay, when PV1 carries both admit (PV1-44) and discharge
    /// (PV1-45) times, as ADT^A03 does; A01 and ORU only name the visit.
    pub encounter: Option<Encounter>,
    /// Every OBX, in order.
    pub obx: Vec<Obx>,
    /// Notes: TX/FT/ST OBX with LOINC 18842-5 (discharge summaries), and
    /// an MDM document (TXA with its text OBX).
    pub notes: Vec<Note>,
    /// Segments read by no rule (Z-segments, NK1, AL1, ...), by name.
    pub skipped_segments: BTreeMap<String, u64>,
}

impl Decoded {
    /// The numeric results (NM, SN), as records.
    pub fn observations(&self) -> impl Iterator<Item = &Observation> {
        self.obx.iter().filter_map(|o| match o {
            Obx::Result {
                obs,
                value: ResultValue::Number { .. },
                ..
            } => Some(&**obs),
            _ => None,
        })
    }
}

/// The segments decoding reads; any other is skipped and counted.
const READ_SEGMENTS: [&str; 10] = [
    "MSH", "EVN", "PID", "PV1", "OBR", "OBX", "DG1", "IN1", "MRG", "TXA",
];

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

/// The message type and trigger event: MSH-9.1^MSH-9.2, e.g. `ADT^A01`
/// (EVN-1 when MSH-9 has no trigger, as some v2.3 senders write).
pub fn message_event(msg: &Message) -> String {
    let msh = msg.first("MSH");
    let trigger = msh
        .and_then(|m| m.component(9, 1, 2))
        .or_else(|| msg.first("EVN").and_then(|e| e.value(1)));
    match (msh.and_then(|m| m.component(9, 1, 1)), trigger) {
        (Some(t), Some(e)) => format!("{t}^{e}"),
        (Some(t), None) => t.into_owned(),
        _ => String::new(),
    }
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

/// Decode one parsed message into records, with the default patient id
/// rule; the first bad OBX fails it.
pub fn decode(msg: &Message) -> Result<Decoded> {
    let decoded = decode_with(msg, &PatientIdRule::default())?;
    first_obx_error(&decoded).map_or(Ok(decoded), Err)
}

/// The first error among a message's OBX: a bad one, or a number result
/// whose value is no number.
pub fn first_obx_error(d: &Decoded) -> Option<Error> {
    d.obx.iter().find_map(|o| match o {
        Obx::Bad(e)
        | Obx::Result {
            problem: Some(e), ..
        } => Some(copy(e)),
        _ => None,
    })
}

/// A copy of a decoding error (they are all bad input).
fn copy(e: &Error) -> Error {
    match e {
        Error::BadInput {
            source_name,
            location,
            expected,
            found,
        } => Error::bad_input(
            source_name,
            location.clone(),
            expected.clone(),
            found.clone(),
        ),
        other => Error::failure(other.to_string()),
    }
}

/// Like [`decode`], but an OBX that cannot be read is kept as
/// [`Obx::Bad`] and a number result whose value is no number keeps its
/// text (its value NaN), so an ingest can quarantine that one result and
/// keep the message's others. Anything wrong outside OBX fails.
pub fn decode_with(msg: &Message, rule: &PatientIdRule) -> Result<Decoded> {
    let msh = msg
        .first("MSH")
        .ok_or_else(|| msg.error("MSH", 1, 9, "an MSH segment", "none"))?;
    let mut out = Decoded {
        event: message_event(msg),
        control_id: s(msh.value(10)),
        version: s(msh.value(12)),
        ..Decoded::default()
    };
    for seg in msg.segments() {
        if !READ_SEGMENTS.contains(&seg.name()) {
            *out.skipped_segments
                .entry(seg.name().to_string())
                .or_default() += 1;
        }
    }
    if let Some(pid) = msg.first("PID") {
        let identity = rule.pick(&pid);
        out.patient = Some(patient(msg, &pid, &identity)?);
        out.patient_identity = identity;
    }
    out.merged_ids = msg
        .segments_named("MRG")
        .filter_map(|m| m.value(1).map(|c| c.into_owned()))
        .collect();
    let patient_id = out.patient_identity.id.clone();
    if let Some(pv1) = msg.first("PV1") {
        let visit = visit(msg, &pv1)?;
        if let (Some(admit_time), Some(discharge_time)) = (visit.admit_time, visit.discharge_time) {
            out.encounter = Some(Encounter {
                encounter_id: visit.encounter_id.clone(),
                patient_id: patient_id.clone(),
                class: visit.class.clone(),
                admit_time,
                discharge_time: Some(discharge_time),
                disposition: visit.disposition.clone(),
                reason_code: visit.reason_code.clone(),
            });
        }
        if !visit.encounter_id.is_empty() {
            out.encounter_id = Some(visit.encounter_id.clone());
            out.visit = Some(visit);
        }
    }
    let encounter_id = out.encounter_id.clone().unwrap_or_default();
    let is_document = out.event.starts_with("MDM^");
    let document_time = msg.first("TXA").and_then(|t| {
        [4, 6]
            .into_iter()
            .find_map(|n| t.value(n).and_then(|v| parse_dtm(&v)))
    });
    let mut document: Vec<String> = Vec::new();
    let mut obr_time: std::result::Result<Option<NaiveDateTime>, Error> = Ok(None);
    for seg in msg.segments() {
        match seg.name() {
            "OBR" => obr_time = optional_dtm(&seg, 7),
            "OBX" => {
                let time = match (optional_dtm(&seg, 14), &obr_time) {
                    (Err(e), _) => Err(e),
                    (Ok(None), Err(e)) => Err(copy(e)),
                    (Ok(Some(t)), _) | (Ok(None), &Ok(Some(t))) => Ok(t),
                    (Ok(None), Ok(None)) => document_time
                        .filter(|_| is_document)
                        .map_or_else(|| required_dtm(&msh, 7), Ok),
                };
                let kind = s(seg.value(2)).to_ascii_uppercase();
                let code = s(seg.component(3, 1, 1));
                let is_text = matches!(kind.as_str(), "TX" | "FT" | "ST");
                let status = s(seg.value(11)).to_ascii_uppercase();
                let item = if let Some(why) = no_result(&status) {
                    Obx::Skipped(format!("OBX result status {status} ({why})"))
                } else if is_text && is_document {
                    document.push(text_value(msg, &seg));
                    Obx::Note(0)
                } else if is_text && code == NOTE_CODE {
                    let id = observation_id(&msh, &seg, &out.control_id, out.obx.len() + 1);
                    match time {
                        // an OBX with the note's id again continues its text
                        // (a long note split so each value keeps within the
                        // type's length)
                        Ok(_) if out.notes.last().is_some_and(|n| n.note_id == id) => {
                            let text = text_value(msg, &seg);
                            let at = out.notes.len() - 1;
                            out.notes[at].text.push_str(&text);
                            Obx::Note(at)
                        }
                        Ok(time) => {
                            out.notes.push(Note {
                                note_id: id,
                                patient_id: patient_id.clone(),
                                encounter_id: encounter_id.clone(),
                                time,
                                text: text_value(msg, &seg),
                            });
                            Obx::Note(out.notes.len() - 1)
                        }
                        Err(e) => Obx::Bad(e),
                    }
                } else {
                    match (result_value(msg, &seg, &kind), time) {
                        (Ok(Some(value)), Ok(time)) => {
                            let obs = observation(
                                &seg,
                                observation_id(&msh, &seg, &out.control_id, out.obx.len() + 1),
                                &patient_id,
                                &encounter_id,
                                time,
                                code,
                                &value,
                            );
                            let problem = match &value {
                                ResultValue::Number { text, .. } if !obs.value.is_finite() => {
                                    let found = if text.is_empty() {
                                        "nothing".to_string()
                                    } else {
                                        quote(text)
                                    };
                                    Some(seg.error(5, "a number", &found))
                                }
                                _ => None,
                            };
                            Obx::Result {
                                obs: Box::new(obs),
                                value,
                                problem,
                            }
                        }
                        (Ok(None), _) => Obx::Skipped(format!(
                            "OBX value type {}",
                            if kind.is_empty() { "(none)" } else { &kind }
                        )),
                        (Err(e), _) | (_, Err(e)) => Obx::Bad(e),
                    }
                };
                out.obx.push(item);
            }
            _ => {}
        }
    }
    if is_document && !document.is_empty() {
        let txa = msg.first("TXA");
        let time = match document_time {
            Some(t) => t,
            None => required_dtm(&msh, 7)?,
        };
        out.notes.push(Note {
            note_id: txa
                .and_then(|t| t.value(12))
                .map(|c| c.into_owned())
                .unwrap_or_else(|| format!("{}-TXA", out.control_id)),
            patient_id: patient_id.clone(),
            encounter_id: encounter_id.clone(),
            time,
            text: document.join("\n"),
        });
        let at = out.notes.len() - 1;
        for o in &mut out.obx {
            if let Obx::Note(i) = o {
                *i = at;
            }
        }
    }
    Ok(out)
}

/// Why an OBX-11 result status means there is no result to keep (HL7
/// table 0085), or `None` when there is one (F, C, P, R, S, A, U, empty).
fn no_result(status: &str) -> Option<&'static str> {
    match status {
        "I" => Some("pending"),
        "X" => Some("cannot be obtained"),
        "D" => Some("deleted"),
        "W" => Some("posted in error"),
        "N" => Some("not asked"),
        _ => None,
    }
}

/// OBX-5's repetitions, unescaped, one line each.
fn text_value(msg: &Message, seg: &Segment) -> String {
    let lines: Vec<String> = seg
        .repetitions(5)
        .map(|r| super::escape::unescape(r, msg.delimiters()).into_owned())
        .collect();
    lines.join("\n")
}

/// OBX-5 read by its type (OBX-2); `None` for a type CareLab does not keep.
fn result_value(msg: &Message, seg: &Segment, kind: &str) -> Result<Option<ResultValue>> {
    let comp = |c: usize| s(seg.component(5, 1, c));
    Ok(Some(match kind {
        "NM" => ResultValue::Number {
            text: s(seg.text(5)).trim().to_string(),
            comparator: String::new(),
        },
        // SN: comparator ^ number ^ separator/suffix ^ number
        "SN" if comp(3).is_empty() && comp(4).is_empty() => ResultValue::Number {
            text: comp(2).trim().to_string(),
            comparator: comp(1).trim().trim_start_matches('=').to_string(),
        },
        "SN" => ResultValue::Text((1..=4).map(comp).collect::<String>()),
        "ST" | "TX" | "FT" => ResultValue::Text(text_value(msg, seg)),
        "CE" | "CWE" | "CNE" => {
            let (code, text) = (comp(1), comp(2));
            if code.is_empty() && text.is_empty() {
                return Err(seg.error(5, "a coded value (code^text^system)", "nothing"));
            }
            ResultValue::Coded {
                code,
                text,
                system: comp(3),
            }
        }
        "DT" | "DTM" | "TS" => {
            let raw = comp(1);
            let iso = parse_dtm(&raw).map(|t| {
                if raw.trim().len() == 8 {
                    t.date().to_string()
                } else {
                    crate::clinical::format_datetime(&t)
                }
            });
            let Some(iso) = iso else {
                let found = if raw.is_empty() {
                    "nothing".to_string()
                } else {
                    format!("a value of {} characters", raw.chars().count())
                };
                return Err(seg.error(5, "a date/time YYYYMMDD[HHMM[SS]]", &found));
            };
            ResultValue::Date(iso)
        }
        _ => return Ok(None),
    }))
}

fn visit(msg: &Message, pv1: &Segment) -> Result<Visit> {
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
    Ok(Visit {
        encounter_id: s(pv1.value(19)),
        class: class_from_v2(pv1.value(2).as_deref().unwrap_or("")),
        admit_time: optional_dtm(pv1, 44)?,
        discharge_time: optional_dtm(pv1, 45)?,
        disposition: disposition.unwrap_or_default(),
        reason_code,
    })
}

/// An OBX's observation id: OBX-21 (v2.6's observation instance id, where
/// CareLab wrote it before its feeds conformed to v2.5.1), else OBX-4 when
/// MSH-21 declares CareLab's feed profile (whose sub-ids are ids; other
/// senders put `1`, `2` or `1^1` there), else the message control id and
/// the OBX's position among the message's OBX (its set id, OBX-1, starts
/// again at 1 under each OBR). A resent message gives the same ids again.
fn observation_id(msh: &Segment, obx: &Segment, control_id: &str, position: usize) -> String {
    let profiled = || {
        msh.repetitions(21).any(|r| {
            msh.component_of(r, 1).as_deref() == Some(PROFILE[0])
                && msh.component_of(r, 2).as_deref() == Some(PROFILE[1])
        })
    };
    obx.value(21)
        .or_else(|| obx.value(4).filter(|_| profiled()))
        .map_or_else(|| format!("{control_id}-{position}"), |id| id.into_owned())
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
    value: &ResultValue,
) -> Observation {
    let number = match value {
        ResultValue::Number { text, .. } => text.parse().ok().filter(|v: &f64| v.is_finite()),
        _ => None,
    };
    let tag = s(seg.component(3, 1, 3));
    let system = if tag == LOINC_TAG {
        LOINC.to_string()
    } else {
        tag
    };
    Observation {
        observation_id,
        patient_id: patient_id.to_string(),
        encounter_id: encounter_id.to_string(),
        time,
        code: code.into(),
        system: system.into(),
        display: s(seg.component(3, 1, 2)).into(),
        value: number.unwrap_or(f64::NAN),
        unit: s(seg.component(6, 1, 1)).into(),
    }
}

fn patient(msg: &Message, pid: &Segment, identity: &PatientIdentity) -> Result<Patient> {
    let mut mrn = String::new();
    let mut ssn = String::new();
    for rep in pid.repetitions(3) {
        let id = s(pid.component_of(rep, 1));
        match pid.component_of(rep, 5).as_deref() {
            Some("MR") if mrn.is_empty() => mrn = id,
            Some("SS") if ssn.is_empty() => ssn = id,
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
        patient_id: identity.id.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patient_id_rules_parse_print_and_refuse_what_is_not_one() {
        let r: PatientIdRule = " mr@Good Health , PI".parse().unwrap();
        assert_eq!(r.to_string(), "MR@Good Health,PI");
        assert_eq!(PatientIdRule::default().to_string(), "MR,PI");
        for bad in ["", "MR,", "M-R", "MR@", "TOOLONGTYPE"] {
            let e = bad.parse::<PatientIdRule>().unwrap_err();
            assert!(e.contains("not TYPE or TYPE@AUTHORITY"), "{bad}: {e}");
        }
    }

    #[test]
    fn pid3_picks_by_type_then_authority_then_the_first() {
        let msg = "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5\r\
PID|1||AC1^^^NSH^AN~7^^^EAST&1.2.3&ISO^MR~9^^^WEST^MR~P5^^^ENT^PI||X^Y||19500101|F\r";
        let m = Message::parse("t", 1, msg, super::super::parse::Limits::default()).unwrap();
        let pid = m.first("PID").unwrap();
        let pick = |r: &str| {
            let i = r.parse::<PatientIdRule>().unwrap().pick(&pid);
            format!("{} {} {}", i.id, i.type_code, i.authority)
        };
        assert_eq!(pick("MR,PI"), "7 MR EAST");
        assert_eq!(pick("MR@west,PI"), "9 MR WEST");
        assert_eq!(
            pick("MR@1.2.3"),
            "7 MR EAST",
            "the universal id matches too"
        );
        assert_eq!(pick("PI"), "P5 PI ENT");
        assert_eq!(pick("PT"), "AC1 AN NSH", "none matches: the first");
    }
}
