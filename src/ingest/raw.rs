//! Source records before validation: every adapter (CSV, Parquet, HL7 v2,
//! FHIR, legacy) turns its input into `RawRecord`s keyed by the column names
//! of `clinical::records`, so that one validator, one mapper and one
//! quarantine serve every source.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::clinical::records::Encounter;
use crate::error::{Error, IoContext, Result};

/// The clean-model table a raw record belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Table {
    Patient,
    Encounter,
    Observation,
    Condition,
    Medication,
    Note,
}

impl Table {
    pub const ALL: [Table; 6] = [
        Table::Patient,
        Table::Encounter,
        Table::Observation,
        Table::Condition,
        Table::Medication,
        Table::Note,
    ];

    /// File stem of the table in the records schema (`patients.csv`, ...).
    pub fn file_stem(self) -> &'static str {
        match self {
            Table::Patient => "patients",
            Table::Encounter => "encounters",
            Table::Observation => "observations",
            Table::Condition => "conditions",
            Table::Medication => "medications",
            Table::Note => "notes",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Table::Patient => "patient",
            Table::Encounter => "encounter",
            Table::Observation => "observation",
            Table::Condition => "condition",
            Table::Medication => "medication",
            Table::Note => "note",
        }
    }
}

/// One input record, as text fields named like the records schema.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRecord {
    /// The source system it came from (a name from the pipeline config).
    pub source: String,
    pub table: Table,
    /// Where in the source: `patients.csv line 12`, `message 3 OBX 2`, ...
    pub location: String,
    pub fields: BTreeMap<String, String>,
    /// The record as it was read, for the quarantine file.
    pub raw: String,
}

/// ASCII unit and record separators: `from_record`'s field and record
/// delimiters, which clinical text does not hold.
const UNIT_SEPARATOR: u8 = 0x1F;
const RECORD_SEPARATOR: u8 = 0x1E;

/// The field that marks a record its source could not parse; its value is
/// the parser's error (file, message or line, segment or element, expected,
/// found), which the validator turns into an `unparseable` quarantine entry.
pub const PARSE_ERROR_FIELD: &str = "_parse_error";

/// The field that marks a record its source read but CareLab does not
/// keep (a result of a value type it does not model, a cancelled stay);
/// its value is the reason. The pipeline counts it as skipped: neither
/// clean nor quarantined, never lost.
pub const SKIP_FIELD: &str = "_skipped";

/// The field that says a visit is still going on, and its value (FHIR's
/// `Encounter.status` code): a stay a feed saw admitted and not yet
/// discharged. Only then may an encounter's discharge time be empty; an
/// export's empty discharge cell is missing data.
pub const STATUS_FIELD: &str = "status";
pub const IN_PROGRESS: &str = "in-progress";

impl RawRecord {
    /// A typed encounter's record; an open stay (no discharge yet) says so
    /// in [`STATUS_FIELD`].
    pub fn from_encounter(source: &str, location: String, e: &Encounter) -> Result<RawRecord> {
        let mut rec = Self::from_record(source, Table::Encounter, location, e)?;
        if e.discharge_time.is_none() {
            rec.fields.insert(STATUS_FIELD.into(), IN_PROGRESS.into());
        }
        Ok(rec)
    }

    /// A record skipped with a reason (see [`SKIP_FIELD`]).
    pub fn skipped(
        source: &str,
        table: Table,
        location: String,
        reason: String,
        raw: String,
    ) -> RawRecord {
        RawRecord::marked(source, table, location, SKIP_FIELD, reason, raw)
    }

    /// A record the source's parser rejected: it goes to quarantine with the
    /// parser's error as the detail, so nothing is lost silently.
    pub fn unparseable(
        source: &str,
        table: Table,
        location: String,
        error: String,
        raw: String,
    ) -> RawRecord {
        RawRecord::marked(source, table, location, PARSE_ERROR_FIELD, error, raw)
    }

    /// A record that holds only a marker field (skipped, unparseable) and
    /// its text, which the pipeline reads before any rule.
    fn marked(
        source: &str,
        table: Table,
        location: String,
        marker: &str,
        text: String,
        raw: String,
    ) -> RawRecord {
        RawRecord {
            source: source.to_string(),
            table,
            location,
            fields: BTreeMap::from([(marker.to_string(), text)]),
            raw,
        }
    }

    /// A typed records-schema value as a raw record: its fields are the
    /// value's serde fields written exactly as the CSV export writes them,
    /// so every source meets the same validator with the same text.
    ///
    /// The csv writer formats the fields (so the text is the export's, by
    /// construction), unquoted and separated by ASCII unit and record
    /// separators, which split back into fields without a CSV reader: a
    /// reader costs more to build than the record costs to read. A value
    /// that itself holds a separator cannot be split that way and takes the
    /// CSV round trip instead.
    pub fn from_record<T: Serialize>(
        source: &str,
        table: Table,
        location: String,
        value: &T,
    ) -> Result<RawRecord> {
        let fail = |e: &dyn std::fmt::Display| Error::failure(format!("{location}: {e}"));
        let mut w = csv::WriterBuilder::new()
            .has_headers(true)
            .delimiter(UNIT_SEPARATOR)
            .terminator(csv::Terminator::Any(RECORD_SEPARATOR))
            .quote_style(csv::QuoteStyle::Never)
            .buffer_capacity(512)
            .from_writer(Vec::with_capacity(512));
        w.serialize(value).map_err(|e| fail(&e))?;
        let bytes = w.into_inner().map_err(|e| fail(e.error()))?;
        let text = String::from_utf8(bytes).map_err(|e| fail(&e))?;
        let Some((header, row)) = text
            .strip_suffix(RECORD_SEPARATOR as char)
            .and_then(|t| t.split_once(RECORD_SEPARATOR as char))
        else {
            return Self::from_record_csv(source, table, location, value);
        };
        let names: Vec<&str> = header.split(UNIT_SEPARATOR as char).collect();
        let cells: Vec<&str> = row.split(UNIT_SEPARATOR as char).collect();
        if names.len() != cells.len() || row.contains(RECORD_SEPARATOR as char) {
            return Self::from_record_csv(source, table, location, value);
        }
        Ok(RawRecord {
            source: source.to_string(),
            table,
            location,
            fields: names
                .iter()
                .map(|n| n.to_string())
                .zip(cells.iter().map(|c| c.to_string()))
                .collect(),
            raw: cells.join(","),
        })
    }

    /// `from_record` through a real CSV write and read: the reference the
    /// fast path is tested against, and its fallback.
    fn from_record_csv<T: Serialize>(
        source: &str,
        table: Table,
        location: String,
        value: &T,
    ) -> Result<RawRecord> {
        let mut w = csv::WriterBuilder::new()
            .has_headers(true)
            .from_writer(Vec::new());
        w.serialize(value)
            .map_err(|e| Error::failure(format!("{location}: {e}")))?;
        let bytes = w
            .into_inner()
            .map_err(|e| Error::failure(format!("{location}: {}", e.error())))?;
        let mut r = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(bytes.as_slice());
        let header = r
            .headers()
            .map_err(|e| Error::failure(format!("{location}: {e}")))?
            .clone();
        let row = r
            .records()
            .next()
            .transpose()
            .map_err(|e| Error::failure(format!("{location}: {e}")))?
            .unwrap_or_default();
        Ok(RawRecord {
            source: source.to_string(),
            table,
            location,
            fields: header
                .iter()
                .map(str::to_string)
                .zip(row.iter().map(str::to_string))
                .collect(),
            raw: row.iter().collect::<Vec<_>>().join(","),
        })
    }

    /// A field's trimmed text; empty when absent.
    pub fn get(&self, name: &str) -> &str {
        self.fields.get(name).map(|s| s.trim()).unwrap_or("")
    }
}

/// Text encodings CareLab detects in text sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TextEncoding {
    #[serde(rename = "UTF-8")]
    Utf8,
    /// ISO-8859-1, decoded as its superset windows-1252 (what encoding_rs
    /// does for the `latin1` label, and what Windows exports really hold).
    #[serde(rename = "Latin-1")]
    Latin1,
}

/// Decode text bytes: UTF-8 (a BOM is dropped) when they are valid UTF-8,
/// else Latin-1. Latin-1 can decode any bytes, so this never fails; the
/// encoding found is reported so a wrong guess is visible.
pub fn decode_text(bytes: &[u8]) -> (String, TextEncoding) {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_string(), TextEncoding::Utf8),
        Err(_) => {
            let (text, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
            (text.into_owned(), TextEncoding::Latin1)
        }
    }
}

/// Read a CSV table of the records schema into raw records, one per data
/// line. A line whose field count differs from the header's is kept as a
/// record with no fields, so the validator quarantines it as truncated.
pub fn read_csv(path: &Path, source: &str, table: Table) -> Result<(Vec<RawRecord>, TextEncoding)> {
    let mut out = Vec::new();
    let label = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let encoding = stream_csv(path, &label, source, table, &mut |r| {
        out.push(r);
        Ok(())
    })?;
    Ok((out, encoding))
}

/// The file's text encoding, read through once without holding it: UTF-8
/// when every byte sequence is (a BOM aside), else Latin-1.
fn sniff_encoding(path: &Path) -> Result<(TextEncoding, bool)> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).at(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut carry = 0;
    let mut first = true;
    let mut bom = false;
    loop {
        let n = f.read(&mut buf[carry..]).at(path)?;
        let end = carry + n;
        if first {
            bom = buf[..end].starts_with(b"\xEF\xBB\xBF");
            first = false;
        }
        if n == 0 {
            // what is left is a sequence the file ended inside of
            let enc = if end == 0 {
                TextEncoding::Utf8
            } else {
                TextEncoding::Latin1
            };
            return Ok((enc, bom));
        }
        match std::str::from_utf8(&buf[..end]) {
            Ok(_) => carry = 0,
            Err(e) if e.error_len().is_none() => {
                // a character cut at the end of the chunk: keep its bytes
                let valid = e.valid_up_to();
                carry = end - valid;
                buf.copy_within(valid..end, 0);
            }
            Err(_) => return Ok((TextEncoding::Latin1, bom)),
        }
    }
}

/// `read_csv` one record at a time: the file is read as it is parsed, so
/// memory holds a record, not the file. Locations name the file as `label`
/// (`patients.csv`, `shard-1/patients.csv`).
pub fn stream_csv(
    path: &Path,
    label: &str,
    source: &str,
    table: Table,
    each: &mut dyn FnMut(RawRecord) -> Result<()>,
) -> Result<TextEncoding> {
    let (encoding, bom) = sniff_encoding(path)?;
    let mut file = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(path).at(path)?);
    if bom {
        std::io::Read::read_exact(&mut file, &mut [0u8; 3]).at(path)?;
    }
    let text = |b: &[u8]| -> String {
        match encoding {
            TextEncoding::Utf8 => String::from_utf8_lossy(b).into_owned(),
            TextEncoding::Latin1 => encoding_rs::WINDOWS_1252.decode(b).0.into_owned(),
        }
    };
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(file);
    let header: Vec<String> = reader
        .byte_headers()
        .map_err(|e| {
            Error::bad_input(
                path.display(),
                Some("line 1".into()),
                "a CSV header",
                e.to_string(),
            )
        })?
        .iter()
        .map(|h| text(h).trim().to_string())
        .collect();
    if header.iter().all(|h| h.is_empty()) {
        return Err(Error::bad_input(
            path.display(),
            Some("line 1".into()),
            format!("a CSV header naming the {} columns", table.name()),
            "an empty line",
        ));
    }
    let mut rec = csv::ByteRecord::new();
    let mut i = 0u64;
    loop {
        let more = reader.read_byte_record(&mut rec).map_err(|e| {
            Error::bad_input(
                path.display(),
                Some(format!("record {}", i + 1)),
                "CSV",
                e.to_string(),
            )
        })?;
        if !more {
            break;
        }
        let line = rec.position().map(|p| p.line()).unwrap_or(i + 2);
        i += 1;
        let cells: Vec<String> = rec.iter().map(text).collect();
        let raw = cells.join(",");
        let fields = if cells.len() == header.len() {
            header.iter().cloned().zip(cells).collect()
        } else {
            BTreeMap::new()
        };
        each(RawRecord {
            source: source.to_string(),
            table,
            location: format!("{label} line {line}"),
            fields,
            raw,
        })?;
    }
    Ok(encoding)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_is_detected_and_decoded() {
        let (text, enc) = decode_text(b"Jos\xe9,M\xfcller");
        assert_eq!(enc, TextEncoding::Latin1);
        assert_eq!(text, "José,Müller");
        let (text, enc) = decode_text("\u{feff}José".as_bytes());
        assert_eq!(enc, TextEncoding::Utf8);
        assert_eq!(text, "José");
    }

    #[test]
    fn csv_rows_keep_line_numbers_and_short_rows_lose_their_fields() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("medications.csv");
        std::fs::write(&path, b"medication_id,name\nM1,caf\xe9\nM2\n").unwrap();
        let (rows, enc) = read_csv(&path, "pharmacy", Table::Medication).unwrap();
        assert_eq!(enc, TextEncoding::Latin1);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].get("name"), "café");
        assert_eq!(rows[0].location, "medications.csv line 2");
        assert!(rows[1].fields.is_empty());
        assert_eq!(rows[1].raw, "M2");
    }

    /// The fast path gives what a real CSV write and read gives, for every
    /// record a generated population holds and for text that holds the
    /// separators, quotes, commas and line breaks.
    #[test]
    fn from_record_matches_the_csv_round_trip() {
        fn same<T: Serialize>(table: Table, v: &T) {
            let fast = RawRecord::from_record("s", table, "here".into(), v).unwrap();
            let csv = RawRecord::from_record_csv("s", table, "here".into(), v).unwrap();
            assert_eq!(fast, csv);
            assert!(!fast.fields.is_empty());
        }
        let scenario = crate::synth::Scenario::load("baseline").unwrap();
        let pop = crate::synth::Population::new(&scenario, 5);
        let bundle = |i| {
            let mut b = pop.patient(i);
            crate::synth::notes::add_notes(&pop, i, &mut b);
            b
        };
        let mut seen = 0;
        for i in 0..20 {
            let b = bundle(i);
            b.patient.iter().for_each(|v| same(Table::Patient, v));
            b.encounters.iter().for_each(|v| same(Table::Encounter, v));
            b.observations
                .iter()
                .for_each(|v| same(Table::Observation, v));
            b.conditions.iter().for_each(|v| same(Table::Condition, v));
            b.medications
                .iter()
                .for_each(|v| same(Table::Medication, v));
            b.notes.iter().for_each(|v| same(Table::Note, v));
            seen += b.observations.len() + b.notes.len();
        }
        assert!(seen > 100, "{seen}");
        let mut note = (0..20).find_map(|i| bundle(i).notes.pop()).unwrap();
        for text in [
            "a\x1fb",
            "a\x1eb",
            "\"quoted\", with commas\r\nand lines",
            "",
        ] {
            note.text = text.to_string();
            same(Table::Note, &note);
        }
    }
}
