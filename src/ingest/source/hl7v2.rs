//! HL7 v2 source: a feed file (or a folder of `.hl7` files), plain or
//! MLLP-framed, with or without batch envelopes (FHS/BHS ... BTS/FTS) and
//! byte-order marks, versions 2.3 to 2.8.
//!
//! Which messages give what:
//! - the patient (every message with a PID): the first PID naming a
//!   patient id gives that patient's record; later PIDs of the same patient
//!   repeat it, except ADT^A08 and ADT^A31 (update patient information),
//!   whose PID replaces it. Which PID-3 identifier is the patient id is the
//!   source's [`PatientIdRule`] (default: the first MR, then PI, then the
//!   first identifier); its type and assigning authority travel with the
//!   record (`patient_id_type`, `patient_id_authority`);
//! - the stay: ADT^A01 to A08 and A13 say what they know of the visit in
//!   PV1 (admit PV1-44, discharge PV1-45, disposition PV1-36, class, DG1
//!   reason), later messages filling in or overriding earlier ones; A03
//!   discharges (PV1-45, else EVN-2), A13 cancels the discharge, A11
//!   cancels the admission (the stay is then skipped, with that reason; a
//!   later message about the visit restores it). A stay not discharged by
//!   the end of the feed is kept open, with no discharge time: today's
//!   inpatients, whose results belong to them; it becomes an index stay
//!   for the model once a feed holds its discharge;
//! - ADT^A40 merges the patient ids of its MRG-1 into its PID's: every
//!   record of the merged-away id, before or after the merge, is the
//!   surviving patient's, and linkage joins the two patient records (same
//!   id in one source), the survivor's naming the person;
//! - ORU^R01 gives one observation per result OBX (numbers, text, coded
//!   values, dates) and one note per text OBX with LOINC 18842-5; MDM^T02
//!   gives one note: its TXA and its text OBX;
//! - every other message type is skipped and counted by type; OBX value
//!   types CareLab does not keep (ED, RP, ...) are skipped records, named.
//!
//! A message that does not parse or decode becomes one `unparseable`
//! quarantine record naming the message, segment and field; an OBX that
//! does not read becomes one unparseable record of its own, and a number
//! result that is no number keeps the text it was sent with so the
//! validator quarantines that result alone: one bad result never takes its
//! message's others with it. HL7 v2 carries no chronic conditions or
//! medication orders in these messages, so a feed has no condition or
//! medication records.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::{input_files, SourceConfig};
use crate::clinical::records::Encounter;
use crate::error::{Error, IoContext, Result};
use crate::formats::hl7v2::{
    decode_with, message_event, parse_dtm, split_messages, Decoded, Feed, Limits, Message, Obx,
    PatientIdRule, ResultValue, Visit,
};
use crate::ingest::quality::{MessageCounts, SourceQuality};
use crate::ingest::raw::{Fields, RawRecord, Table, TextEncoding, PARSE_ERROR_FIELD, SKIP_FIELD};

/// ADT events whose PV1 tells the stay's story (admit, transfer, discharge,
/// their updates and cancellations).
const STAY_EVENTS: [&str; 10] = [
    "ADT^A01", "ADT^A02", "ADT^A03", "ADT^A04", "ADT^A05", "ADT^A06", "ADT^A07", "ADT^A08",
    "ADT^A11", "ADT^A13",
];

/// The other message types and events CareLab reads: patient updates and
/// merges, results, documents.
const OTHER_EVENTS: [&str; 5] = ["ADT^A28", "ADT^A31", "ADT^A40", "ORU^R01", "MDM^T02"];

/// The message types and events CareLab reads; any other is skipped.
pub fn reads_event(event: &str) -> bool {
    STAY_EVENTS.contains(&event) || OTHER_EVENTS.contains(&event)
}

/// Events whose PV1 tells the stay's story (the others only name it).
fn tells_stay(event: &str) -> bool {
    STAY_EVENTS.contains(&event)
}

/// Read every message of the source's feed file(s).
pub fn read(s: &SourceConfig, q: &mut SourceQuality) -> Result<Vec<RawRecord>> {
    let rule = match &s.patient_id {
        Some(r) => r.parse().map_err(|found: String| {
            Error::bad_input(
                format!("source {}", s.name),
                Some("key patient_id".into()),
                "a PID-3 rule like \"MR\", \"PI\" or \"MR@AUTHORITY,PI\"",
                found,
            )
        })?,
        None => PatientIdRule::default(),
    };
    let mut reader = FeedReader::new(&s.name, rule);
    let files = input_files(
        &s.path,
        &["hl7"],
        "an HL7 v2 feed file or a folder of .hl7 files",
    )?;
    for path in files {
        let bytes = std::fs::read(&path).at(&path)?;
        let encoding = reader.read_bytes(&file_name(&path), &bytes)?;
        q.encodings.insert(file_name(&path), encoding);
    }
    q.messages = std::mem::take(&mut reader.messages);
    q.skipped_segments = std::mem::take(&mut reader.skipped_segments);
    reader.finish()
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// What the messages so far say about one visit.
#[derive(Debug, Default)]
struct Stay {
    patient_id: String,
    visit: Visit,
    /// Where the last message that told of it is.
    place: String,
    /// The place of the ADT^A11 that cancelled the admission.
    cancelled: Option<String>,
}

/// Turns messages into raw records, remembering which patients and stays
/// it has seen across the files of one source.
pub struct FeedReader {
    source: String,
    rule: PatientIdRule,
    out: Vec<RawRecord>,
    /// Patient id -> index of its record in `out`.
    patients: BTreeMap<String, usize>,
    stays: BTreeMap<String, Stay>,
    /// Results and notes read: (table, id) -> fields, to tell a repeat.
    events: BTreeMap<(Table, String), Fields>,
    /// ADT^A40: merged-away patient id -> surviving id.
    merged_into: BTreeMap<String, String>,
    /// Messages by type (`ADT^A01`), read, unparseable or skipped.
    pub messages: BTreeMap<String, MessageCounts>,
    /// Segments no rule reads, by name.
    pub skipped_segments: BTreeMap<String, u64>,
}

impl FeedReader {
    pub fn new(source: &str, rule: PatientIdRule) -> FeedReader {
        FeedReader {
            source: source.to_string(),
            rule,
            out: Vec::new(),
            patients: BTreeMap::new(),
            stays: BTreeMap::new(),
            events: BTreeMap::new(),
            merged_into: BTreeMap::new(),
            messages: BTreeMap::new(),
            skipped_segments: BTreeMap::new(),
        }
    }

    /// Read one feed's bytes (UTF-8 or Latin-1, plain or MLLP-framed);
    /// `file` names it in locations.
    pub fn read_bytes(&mut self, file: &str, bytes: &[u8]) -> Result<TextEncoding> {
        let feed = Feed::from_bytes(file, bytes)?;
        for (i, text) in split_messages(&feed.text).into_iter().enumerate() {
            self.message(file, i + 1, text)?;
        }
        Ok(if feed.latin1.is_some() {
            TextEncoding::Latin1
        } else {
            TextEncoding::Utf8
        })
    }

    /// One message's records; a message that does not parse or decode
    /// becomes one unparseable record, one of a type CareLab does not read
    /// is counted and skipped.
    pub fn message(&mut self, file: &str, number: usize, text: &str) -> Result<()> {
        let place = format!("{file} message {number}");
        let parsed = Message::parse(file, number, text, Limits::default());
        let event = match &parsed {
            Ok(m) => message_event(m),
            Err(_) => sniff_event(text),
        };
        let counts = self.messages.entry(event.clone()).or_default();
        counts.input += 1;
        if parsed.is_ok() && !reads_event(&event) {
            counts.skipped += 1;
            return Ok(());
        }
        let decoded = parsed.and_then(|m| decode_with(&m, &self.rule).map(|d| (m, d)));
        let (msg, d) = match decoded {
            Ok(x) => x,
            Err(e) => {
                counts.unparseable += 1;
                let table = if event.starts_with("ORU") {
                    Table::Observation
                } else {
                    Table::Encounter
                };
                self.out.push(RawRecord::unparseable(
                    &self.source,
                    table,
                    place,
                    e.to_string(),
                    text.replace('\r', "\n"),
                ));
                return Ok(());
            }
        };
        counts.read += 1;
        for (name, n) in &d.skipped_segments {
            *self.skipped_segments.entry(name.clone()).or_default() += n;
        }
        self.patient(&d, &place)?;
        for old in &d.merged_ids {
            let new = d.patient_identity.id.clone();
            if !new.is_empty() && *old != new {
                self.merged_into.insert(old.clone(), new);
            }
        }
        if tells_stay(&d.event) {
            self.stay(&msg, &d, &place);
        }
        self.results(&msg, &d, &place)
    }

    fn patient(&mut self, d: &Decoded, place: &str) -> Result<()> {
        let Some(p) = &d.patient else {
            return Ok(());
        };
        let loc = format!("{place} PID");
        let mut rec = RawRecord::from_record(&self.source, Table::Patient, loc, p)?;
        let identity = &d.patient_identity;
        rec.fields
            .insert("patient_id_type".into(), identity.type_code.clone());
        rec.fields
            .insert("patient_id_authority".into(), identity.authority.clone());
        match self.patients.get(&p.patient_id) {
            None => {
                self.patients.insert(p.patient_id.clone(), self.out.len());
                self.out.push(rec);
            }
            Some(&i) if matches!(d.event.as_str(), "ADT^A08" | "ADT^A31") => self.out[i] = rec,
            Some(_) => {}
        }
        Ok(())
    }

    /// Fold what an ADT message's PV1 says into its stay.
    fn stay(&mut self, msg: &Message, d: &Decoded, place: &str) {
        let Some(v) = &d.visit else {
            return;
        };
        let stay = self.stays.entry(v.encounter_id.clone()).or_default();
        stay.place = format!("{place} PV1");
        stay.visit.encounter_id = v.encounter_id.clone();
        if !d.patient_identity.id.is_empty() {
            stay.patient_id = d.patient_identity.id.clone();
        }
        let set = |to: &mut String, from: &String| {
            if !from.is_empty() {
                to.clone_from(from);
            }
        };
        set(&mut stay.visit.class, &v.class);
        set(&mut stay.visit.disposition, &v.disposition);
        set(&mut stay.visit.reason_code, &v.reason_code);
        stay.visit.admit_time = v.admit_time.or(stay.visit.admit_time);
        match d.event.as_str() {
            "ADT^A03" => {
                let recorded = || {
                    msg.first("EVN")
                        .and_then(|e| e.value(2))
                        .and_then(|t| parse_dtm(&t))
                };
                stay.visit.discharge_time = v.discharge_time.or_else(recorded);
            }
            "ADT^A13" => {
                stay.visit.discharge_time = None;
                stay.visit.disposition.clear();
            }
            "ADT^A11" => stay.cancelled = Some(place.to_string()),
            _ => stay.visit.discharge_time = v.discharge_time.or(stay.visit.discharge_time),
        }
        // a later message about the visit says it stands after all
        if d.event != "ADT^A11" {
            stay.cancelled = None;
        }
    }

    /// One record per OBX, in order: an observation, a note, a skipped
    /// result or an unreadable one.
    fn results(&mut self, msg: &Message, d: &Decoded, place: &str) -> Result<()> {
        let src = self.source.clone();
        let mut notes_done = BTreeSet::new();
        for (k, (seg, obx)) in msg.segments_named("OBX").zip(&d.obx).enumerate() {
            let loc = format!("{place} OBX {}", k + 1);
            let rec = match obx {
                Obx::Note(i) if notes_done.insert(*i) => {
                    RawRecord::from_record(&src, Table::Note, loc, &d.notes[*i])?
                }
                Obx::Note(_) => continue,
                Obx::Result {
                    obs,
                    value,
                    problem,
                } => {
                    let mut rec = RawRecord::from_record(&src, Table::Observation, loc, obs)?;
                    result_fields(&mut rec, value, problem.is_some());
                    rec
                }
                Obx::Skipped(reason) => {
                    RawRecord::skipped(&src, Table::Observation, loc, reason.clone(), String::new())
                }
                Obx::Bad(e) => RawRecord::unparseable(
                    &src,
                    Table::Observation,
                    loc,
                    e.to_string(),
                    (1..=seg.field_count())
                        .map(|n| seg.raw(n).unwrap_or_default())
                        .collect::<Vec<_>>()
                        .join("|"),
                ),
            };
            self.push_event(rec);
        }
        Ok(())
    }

    /// Keep a result or note, unless the very same record (same id, same
    /// content) was read before: a message sent again (an interface engine
    /// resending after a lost ACK, a feed replayed) is skipped as a repeat,
    /// not quarantined as a conflicting duplicate.
    fn push_event(&mut self, rec: RawRecord) {
        let id = match rec.table {
            Table::Note => rec.get("note_id"),
            _ => rec.get("observation_id"),
        };
        let key = (rec.table, id.to_string());
        let repeat = !id.is_empty()
            && !rec.fields.contains_key(SKIP_FIELD)
            && !rec.fields.contains_key(PARSE_ERROR_FIELD)
            && match self.events.get(&key) {
                Some(earlier) => *earlier == rec.fields,
                None => {
                    self.events.insert(key, rec.fields.clone());
                    false
                }
            };
        if repeat {
            self.out.push(RawRecord::skipped(
                &self.source,
                rec.table,
                rec.location,
                format!(
                    "the same {} sent again (a repeated message)",
                    rec.table.name()
                ),
                rec.raw,
            ));
        } else {
            self.out.push(rec);
        }
    }

    /// Every record read, stays last (in encounter id order), merged-away
    /// patient ids replaced by the surviving ones.
    pub fn finish(mut self) -> Result<Vec<RawRecord>> {
        let stays = std::mem::take(&mut self.stays);
        for (id, stay) in stays {
            let rec = self.stay_record(&id, stay)?;
            self.out.push(rec);
        }
        if self.merged_into.is_empty() {
            return Ok(self.out);
        }
        // a merged-away patient's record follows the survivor's, so the
        // survivor's (current) record names the person and the old one
        // only fills its gaps
        let mut merged_patients = Vec::new();
        let mut out = Vec::with_capacity(self.out.len());
        for mut rec in std::mem::take(&mut self.out) {
            let Some(new) = surviving(&self.merged_into, rec.get("patient_id")) else {
                out.push(rec);
                continue;
            };
            rec.fields.insert("patient_id".into(), new);
            if rec.table == Table::Patient {
                rec.location.push_str(" (merged by ADT^A40)");
                merged_patients.push(rec);
            } else {
                out.push(rec);
            }
        }
        out.extend(merged_patients);
        Ok(out)
    }

    fn stay_record(&self, id: &str, stay: Stay) -> Result<RawRecord> {
        let v = stay.visit;
        if let Some(at) = stay.cancelled {
            return Ok(RawRecord::skipped(
                &self.source,
                Table::Encounter,
                stay.place,
                format!("admission cancelled (ADT^A11, {at})"),
                String::new(),
            ));
        }
        // A stay not discharged by the end of the feed is open: today's
        // inpatients, kept with no discharge time (their results belong to
        // them); the model takes it as an index stay once a later feed
        // holds its discharge.
        let Some(admit_time) = v.admit_time else {
            return Ok(RawRecord::skipped(
                &self.source,
                Table::Encounter,
                stay.place,
                "visit with no admission time yet (PV1-44)".to_string(),
                String::new(),
            ));
        };
        let e = Encounter {
            encounter_id: id.to_string(),
            patient_id: stay.patient_id,
            class: v.class,
            admit_time,
            discharge_time: v.discharge_time,
            disposition: v.disposition,
            reason_code: v.reason_code,
        };
        RawRecord::from_encounter(&self.source, stay.place, &e)
    }
}

/// The id `pid` was merged into, following merges of merges; `None` when
/// it was not merged away.
fn surviving(merged_into: &BTreeMap<String, String>, pid: &str) -> Option<String> {
    let mut id = merged_into.get(pid)?;
    for _ in 0..merged_into.len() {
        match merged_into.get(id) {
            Some(next) if next != pid => id = next,
            _ => break,
        }
    }
    Some(id.clone())
}

/// A result's value in the raw record: the text as sent, and how to read
/// it (`value_type`: absent for a number; `text`, `concept` or `date`).
fn result_fields(rec: &mut RawRecord, value: &ResultValue, not_a_number: bool) {
    let mut set = |k: &str, v: &str| {
        rec.fields.insert(k.to_string(), v.to_string());
    };
    match value {
        ResultValue::Number { text, comparator } => {
            // A result that is not a number keeps the text it was sent
            // with, so the validator names it (required, number) and
            // quarantines that result alone.
            if not_a_number {
                set("value", text);
            }
            if !comparator.is_empty() {
                set("value", text);
                set("value_comparator", comparator);
            }
            return;
        }
        ResultValue::Text(t) => {
            set("value_type", "text");
            set("value", t);
        }
        ResultValue::Coded { code, text, system } => {
            set("value_type", "concept");
            set("value", if text.is_empty() { code } else { text });
            set("value_code", code);
            set("value_code_system", system);
        }
        ResultValue::Date(d) => {
            set("value_type", "date");
            set("value", d);
        }
    }
    rec.raw = [
        "observation_id",
        "patient_id",
        "encounter_id",
        "time",
        "code",
        "system",
        "display",
        "value",
        "unit",
    ]
    .iter()
    .map(|k| rec.get(k))
    .collect::<Vec<_>>()
    .join(",");
}

/// The type of a message that did not parse, from its first line's MSH-9
/// when it shows one.
fn sniff_event(text: &str) -> String {
    let first = text
        .trim_start_matches(['\u{feff}', '\r', '\n', ' ', '\t'])
        .split(['\r', '\n'])
        .next()
        .unwrap_or("");
    let mut fields = first
        .strip_prefix("MSH")
        .and_then(|r| r.chars().next().map(|sep| (sep, r)))
        .map(|(sep, r)| r.split(sep).nth(8).unwrap_or("").to_string())
        .unwrap_or_default();
    fields.retain(|c| c.is_ascii_alphanumeric() || c == '^');
    let parts: Vec<&str> = fields.split('^').take(2).collect();
    match parts.as_slice() {
        [t, e] if !t.is_empty() && !e.is_empty() => format!("{t}^{e}"),
        [t, ..] if !t.is_empty() => t.to_string(),
        _ => "(unreadable)".to_string(),
    }
}
