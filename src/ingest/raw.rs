//! Source records before validation: every adapter (CSV, Parquet, HL7 v2,
//! FHIR, legacy) turns its input into `RawRecord`s keyed by the column names
//! of `clinical::records`, so that one validator, one mapper and one
//! quarantine serve every source.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

pub use super::fields::Fields;
use super::fields::Header;
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
    pub fields: Fields,
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
            fields: Fields::from([(marker.to_string(), text)]),
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
        out.push(r.clone());
        Ok(())
    })?;
    Ok((out, encoding))
}

/// The encoding of the file's bytes from `from` on, read through once
/// without holding them: UTF-8 when every byte sequence is, else Latin-1.
/// When the bytes before `from` are ASCII this is the whole file's.
fn sniff_encoding(path: &Path, from: u64) -> Result<TextEncoding> {
    use std::io::{Read, Seek};
    let mut f = std::fs::File::open(path).at(path)?;
    f.seek(std::io::SeekFrom::Start(from)).at(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut carry = 0;
    loop {
        let n = f.read(&mut buf[carry..]).at(path)?;
        let end = carry + n;
        if n == 0 {
            // what is left is a sequence the file ended inside of
            let enc = if end == 0 {
                TextEncoding::Utf8
            } else {
                TextEncoding::Latin1
            };
            return Ok(enc);
        }
        match std::str::from_utf8(&buf[..end]) {
            Ok(_) => carry = 0,
            Err(e) if e.error_len().is_none() => {
                // a character cut at the end of the chunk: keep its bytes
                let valid = e.valid_up_to();
                carry = end - valid;
                buf.copy_within(valid..end, 0);
            }
            Err(_) => return Ok(TextEncoding::Latin1),
        }
    }
}

/// A reader that notes whether any byte it handed on was not ASCII: until
/// one is, the records read decode the same in UTF-8 and in Latin-1, so a
/// file's encoding need not be known before its first such byte.
struct AsciiWatch<R> {
    inner: R,
    non_ascii: bool,
}

impl<R: std::io::Read> std::io::Read for AsciiWatch<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.non_ascii = self.non_ascii || !buf[..n].is_ascii();
        Ok(n)
    }
}

/// `read_csv` one record at a time: the file is read as it is parsed, so
/// memory holds a record, not the file. Locations name the file as `label`
/// (`patients.csv`, `shard-1/patients.csv`).
///
/// `each` borrows one record that every row is read into in turn: its
/// field values, location and raw text are overwritten in place, so a row
/// costs no allocation once the buffers have grown to fit (a row of a table
/// with millions of rows made a map, a key and a value per cell before).
pub fn stream_csv(
    path: &Path,
    label: &str,
    source: &str,
    table: Table,
    each: &mut dyn FnMut(&RawRecord) -> Result<()>,
) -> Result<TextEncoding> {
    use std::fmt::Write;
    use std::io::BufRead;
    let mut file = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(path).at(path)?);
    let bom = file.fill_buf().at(path)?.starts_with(b"\xEF\xBB\xBF");
    let skipped = if bom { 3 } else { 0 };
    file.consume(skipped as usize);
    let watch = AsciiWatch {
        inner: file,
        non_ascii: false,
    };
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(watch);
    // The file's encoding (UTF-8 when it all is, else Latin-1) is settled
    // at its first byte that is not ASCII, by reading the file from the
    // record that holds it: the records before are ASCII, the same text
    // either way. A file of ASCII is read once.
    let mut encoding: Option<TextEncoding> = None;
    let mut settle = |reader: &csv::Reader<AsciiWatch<_>>, at: u64| -> Result<TextEncoding> {
        if encoding.is_none() && reader.get_ref().non_ascii {
            encoding = Some(sniff_encoding(path, skipped + at)?);
        }
        Ok(encoding.unwrap_or(TextEncoding::Utf8))
    };
    let header_bytes = reader
        .byte_headers()
        .map_err(|e| {
            Error::bad_input(
                path.display(),
                Some("line 1".into()),
                "a CSV header",
                e.to_string(),
            )
        })?
        .clone();
    let header_encoding = settle(&reader, 0)?;
    let header: Vec<String> = header_bytes
        .iter()
        .map(|h| {
            let mut name = String::new();
            decode_into(header_encoding, h, &mut name);
            name.trim().to_string()
        })
        .collect();
    if header.iter().all(|h| h.is_empty()) {
        return Err(Error::bad_input(
            path.display(),
            Some("line 1".into()),
            format!("a CSV header naming the {} columns", table.name()),
            "an empty line",
        ));
    }
    let columns = Columns::of(&header);
    let mut row = RawRecord {
        source: source.to_string(),
        table,
        location: String::new(),
        fields: Fields::default(),
        raw: String::new(),
    };
    // where each cell's text lies in `row.raw`
    let mut cells: Vec<std::ops::Range<usize>> = Vec::with_capacity(header.len());
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
        let encoding = settle(&reader, rec.position().map_or(0, |p| p.byte()))?;
        i += 1;
        decode_row(encoding, &rec, &mut row.raw, &mut cells);
        if cells.len() == header.len() {
            columns.fill(&mut row.fields, &row.raw, &cells);
        } else {
            row.fields.clear();
        }
        row.location.clear();
        row.location.push_str(label);
        // writing to a String cannot fail
        let _ = write!(row.location, " line {line}");
        each(&row)?;
    }
    settle(&reader, 0)
}

/// The cells of `rec` as text in `encoding`, joined by commas into `raw`,
/// and where each lies in it. A row of valid UTF-8 is checked once, not
/// cell by cell (its cells, between ASCII delimiters, are valid too).
fn decode_row(
    encoding: TextEncoding,
    rec: &csv::ByteRecord,
    raw: &mut String,
    cells: &mut Vec<std::ops::Range<usize>>,
) {
    raw.clear();
    cells.clear();
    let text = match encoding {
        TextEncoding::Utf8 => std::str::from_utf8(rec.as_slice()).ok(),
        TextEncoding::Latin1 => None,
    };
    for n in 0..rec.len() {
        if n > 0 {
            raw.push(',');
        }
        let start = raw.len();
        match (text, rec.range(n)) {
            (Some(text), Some(r))
                if text.is_char_boundary(r.start) && text.is_char_boundary(r.end) =>
            {
                raw.push_str(&text[r])
            }
            _ => decode_into(encoding, &rec[n], raw),
        }
        cells.push(start..raw.len());
    }
}

/// Append `bytes` to `out` as text in `encoding`; UTF-8 that is not valid
/// is decoded lossily, as `String::from_utf8_lossy` does.
fn decode_into(encoding: TextEncoding, bytes: &[u8], out: &mut String) {
    match encoding {
        TextEncoding::Utf8 => match std::str::from_utf8(bytes) {
            Ok(s) => out.push_str(s),
            Err(_) => out.push_str(&String::from_utf8_lossy(bytes)),
        },
        TextEncoding::Latin1 => out.push_str(&encoding_rs::WINDOWS_1252.decode(bytes).0),
    }
}

/// A CSV header as the fields of a record: their names, and for each name
/// (in name order) the column that gives its value. A name the header
/// repeats takes its last column's value, as collecting the pairs into a
/// map would.
struct Columns {
    header: Arc<Header>,
    column_of: Vec<usize>,
}

impl Columns {
    fn of(header: &[String]) -> Columns {
        let last: BTreeMap<&str, usize> = header
            .iter()
            .enumerate()
            .map(|(col, name)| (name.as_str(), col))
            .collect();
        Columns {
            header: Fields::header(last.keys().copied()),
            column_of: last.into_values().collect(),
        }
    }

    /// Overwrite `fields` with the cells of one row (`cells` index `text`),
    /// keeping the values' buffers when it holds this header's.
    fn fill(&self, fields: &mut Fields, text: &str, cells: &[std::ops::Range<usize>]) {
        if !fields.has_header(&self.header) {
            *fields = Fields::with_header(&self.header);
        }
        for (value, &col) in fields.values_mut().zip(&self.column_of) {
            value.clear();
            value.push_str(&text[cells[col].clone()]);
        }
    }
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
        std::fs::write(
            &path,
            b"medication_id,name\nM1,caf\xe9\nM2\nM3,tea\n\"M4\",\"a, \"\"b\"\"\"\n,\n",
        )
        .unwrap();
        let (rows, enc) = read_csv(&path, "pharmacy", Table::Medication).unwrap();
        assert_eq!(enc, TextEncoding::Latin1);
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[0].get("name"), "café");
        assert_eq!(rows[0].location, "medications.csv line 2");
        assert!(rows[1].fields.is_empty());
        assert_eq!(rows[1].raw, "M2");
        // the rows after a short one have their fields again (each row is
        // read into the same record's buffers)
        let fields = |r: &RawRecord| -> Vec<(String, String)> {
            r.fields
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        let pairs = |p: &[(&str, &str)]| -> Vec<(String, String)> {
            p.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            fields(&rows[2]),
            pairs(&[("medication_id", "M3"), ("name", "tea")])
        );
        assert_eq!(rows[2].location, "medications.csv line 4");
        assert_eq!(rows[3].get("name"), "a, \"b\"");
        assert_eq!(rows[3].raw, "M4,a, \"b\"");
        assert_eq!(
            fields(&rows[4]),
            pairs(&[("medication_id", ""), ("name", "")])
        );
        assert_eq!(rows[4].raw, ",");
        assert!(rows.iter().all(|r| r.source == "pharmacy"));
    }

    /// A file is Latin-1 when any of its bytes is not UTF-8, wherever it
    /// lies: rows of valid UTF-8 before it (here after more ASCII than the
    /// reader holds at once) are read as Latin-1 too, as every row of it.
    #[test]
    fn a_files_encoding_is_the_whole_files_wherever_its_first_other_byte_lies() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.csv");
        let read = |bytes: &[u8]| {
            std::fs::write(&path, bytes).unwrap();
            read_csv(&path, "ehr", Table::Note).unwrap()
        };
        let mut ascii = b"note_id,text\n".to_vec();
        for i in 0..150_000 {
            ascii.extend(format!("N{i},plain\n").as_bytes());
        }
        assert!(ascii.len() > 1 << 20);
        let utf8 = [ascii.as_slice(), "U,Jos\u{e9}\n".as_bytes()].concat();
        let (rows, enc) = read(&utf8);
        assert_eq!(enc, TextEncoding::Utf8);
        assert_eq!(rows[150_000].get("text"), "Jos\u{e9}");
        let (rows, enc) = read(&[utf8.as_slice(), b"L,caf\xe9\n"].concat());
        assert_eq!(enc, TextEncoding::Latin1);
        assert_eq!(rows.len(), 150_002);
        assert_eq!(rows[0].get("text"), "plain");
        assert_eq!(rows[150_000].get("text"), "Jos\u{c3}\u{a9}");
        assert_eq!(rows[150_001].get("text"), "caf\u{e9}");
        // a header's bytes count, and a UTF-8 BOM is not a field's
        let (rows, enc) = read(b"note_id,t\xe9xt\nN1,a\n");
        assert_eq!(enc, TextEncoding::Latin1);
        assert_eq!(rows[0].get("t\u{e9}xt"), "a");
        let (rows, enc) = read("\u{feff}note_id,text\nN1,\u{e9}\n".as_bytes());
        assert_eq!(enc, TextEncoding::Utf8);
        assert_eq!(
            (rows[0].get("note_id"), rows[0].get("text")),
            ("N1", "\u{e9}")
        );
        assert_eq!(read(b"note_id,text\nN1,a\n").1, TextEncoding::Utf8);
    }

    /// A name the header repeats takes its last column's value, and the
    /// fields come in name order whatever the columns' order.
    #[test]
    fn csv_fields_are_named_by_the_header_whatever_its_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.csv");
        std::fs::write(&path, "text,note_id,text\nfirst,N1,last\nx,N2,y\n").unwrap();
        let (rows, enc) = read_csv(&path, "ehr", Table::Note).unwrap();
        assert_eq!(enc, TextEncoding::Utf8);
        let names: Vec<&str> = rows[0].fields.keys().map(String::as_str).collect();
        assert_eq!(names, ["note_id", "text"]);
        assert_eq!(
            (rows[0].get("note_id"), rows[0].get("text")),
            ("N1", "last")
        );
        assert_eq!((rows[1].get("note_id"), rows[1].get("text")), ("N2", "y"));
        assert_eq!(rows[1].raw, "x,N2,y");
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
