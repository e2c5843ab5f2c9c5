//! HL7 v2 source: a feed file (or a folder of `.hl7` files) of ADT^A01,
//! ADT^A03 and ORU^R01 messages, plain or MLLP-framed.
//!
//! What each message gives:
//! - the first PID naming a patient id gives that patient's record; later
//!   PIDs of the same patient repeat it (every message carries one) and are
//!   not new records;
//! - ADT^A03 gives the stay (PV1-44 admit, PV1-45 discharge, PV1-36
//!   disposition, DG1 reason); a stay seen only in an ADT^A01 (no discharge
//!   yet) becomes an encounter without a discharge time, which the validator
//!   quarantines as `required`;
//! - ORU^R01 gives one observation per numeric OBX and one note per TX OBX
//!   with LOINC 18842-5.
//!
//! A message that does not parse or decode becomes one `unparseable`
//! quarantine record naming the message, segment and field, except for a
//! result whose OBX-5 is not a number: that one result keeps the text it
//! was sent with and the validator quarantines it alone, so one empty value
//! does not take its message's other results with it. HL7 v2 carries
//! no chronic conditions or medication orders in these messages, so a feed
//! has no condition or medication records.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::{input_files, SourceConfig};
use crate::error::{IoContext, Result};
use crate::formats::hl7v2::{decode_lenient, split_messages, Feed, Limits, Message};
use crate::ingest::quality::SourceQuality;
use crate::ingest::raw::{RawRecord, Table, TextEncoding};

/// Read every message of the source's feed file(s).
pub fn read(s: &SourceConfig, q: &mut SourceQuality) -> Result<Vec<RawRecord>> {
    let mut reader = FeedReader::new(&s.name);
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
    reader.finish()
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn patient_id(d: &crate::formats::hl7v2::Decoded) -> String {
    d.patient
        .as_ref()
        .map(|p| p.patient_id.clone())
        .unwrap_or_default()
}

/// Turns messages into raw records, remembering which patients and stays
/// it has seen across the files of one source.
pub struct FeedReader {
    source: String,
    out: Vec<RawRecord>,
    patients: BTreeSet<String>,
    /// encounter id -> (record from the A03 if any, else from the A01).
    stays: BTreeMap<String, (bool, RawRecord)>,
}

impl FeedReader {
    pub fn new(source: &str) -> FeedReader {
        FeedReader {
            source: source.to_string(),
            out: Vec::new(),
            patients: BTreeSet::new(),
            stays: BTreeMap::new(),
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
    /// becomes one unparseable record.
    pub fn message(&mut self, file: &str, number: usize, text: &str) -> Result<()> {
        let place = format!("{file} message {number}");
        let decoded = Message::parse(file, number, text, Limits::default())
            .and_then(|m| decode_lenient(&m).map(|(d, _)| (m, d)));
        let (msg, d) = match decoded {
            Ok(x) => x,
            Err(e) => {
                let table = if text.contains("ORU^R01") {
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
        let src = self.source.clone();
        if let Some(p) = &d.patient {
            if self.patients.insert(p.patient_id.clone()) {
                let loc = format!("{place} PID");
                self.out
                    .push(RawRecord::from_record(&src, Table::Patient, loc, p)?);
            }
        }
        if let Some(e) = &d.encounter {
            let loc = format!("{place} PV1");
            let rec = RawRecord::from_record(&src, Table::Encounter, loc, e)?;
            self.stays.insert(e.encounter_id.clone(), (true, rec));
        } else if let (Some(id), true) = (&d.encounter_id, d.event.starts_with("ADT^A01")) {
            if !self.stays.contains_key(id) {
                self.stays.insert(
                    id.clone(),
                    (false, self.open_stay(&msg, patient_id(&d), &place, id)?),
                );
            }
        }
        // OBX segments in order: each is one observation or one note, as
        // `decode` reads them, so they number the records.
        let mut obs = d.observations.iter().enumerate();
        let mut notes = d.notes.iter();
        for (k, seg) in msg.segments_named("OBX").enumerate() {
            let loc = format!("{place} OBX {}", k + 1);
            let is_note = seg.component(3, 1, 1).as_deref() == Some("18842-5")
                && matches!(seg.value(2).as_deref(), Some("TX" | "FT" | "ST"));
            let rec = if is_note {
                notes
                    .next()
                    .map(|n| RawRecord::from_record(&src, Table::Note, loc, n))
            } else {
                obs.next().map(|(i, o)| {
                    let mut rec = RawRecord::from_record(&src, Table::Observation, loc, o)?;
                    // A result that is not a number keeps the text it was
                    // sent with, so the validator names it (required,
                    // number) and quarantines that result alone.
                    if let Some((_, text)) = d.bad_values.iter().find(|(j, _)| *j == i) {
                        rec.fields.insert("value".into(), text.clone());
                    }
                    Ok(rec)
                })
            };
            if let Some(rec) = rec {
                self.out.push(rec?);
            }
        }
        Ok(())
    }

    /// The stay an ADT^A01 opens: admit time and patient, no discharge yet.
    fn open_stay(
        &self,
        msg: &Message,
        patient_id: String,
        place: &str,
        id: &str,
    ) -> Result<RawRecord> {
        let admit = msg
            .first("PV1")
            .and_then(|p| p.value(44))
            .and_then(|t| {
                let digits = t.get(..14)?;
                chrono::NaiveDateTime::parse_from_str(digits, "%Y%m%d%H%M%S").ok()
            })
            .map(|t| crate::clinical::format_datetime(&t))
            .unwrap_or_default();
        let fields: BTreeMap<String, String> = [
            ("encounter_id", id.to_string()),
            ("patient_id", patient_id),
            ("class", String::new()),
            ("admit_time", admit),
            ("discharge_time", String::new()),
            ("disposition", String::new()),
            ("reason_code", String::new()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Ok(RawRecord {
            source: self.source.clone(),
            table: Table::Encounter,
            location: format!("{place} PV1 (admission without discharge)"),
            raw: fields.values().cloned().collect::<Vec<_>>().join(","),
            fields,
        })
    }

    /// Every record read, stays last (in encounter id order).
    pub fn finish(mut self) -> Result<Vec<RawRecord>> {
        self.out.extend(
            std::mem::take(&mut self.stays)
                .into_values()
                .map(|(_, r)| r),
        );
        Ok(self.out)
    }
}
