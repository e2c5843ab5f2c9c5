//! Legacy sources: the fixed-width mainframe export (read through its
//! layout file) and a denormalised pharmacy dispensing CSV.
//!
//! Fixed-width: every line becomes one raw record of the table its record
//! type names in the layout. Dates written in the layout's own format are
//! turned into ISO 8601 here (that format is the export's documented
//! convention, not a defect); a date in any other format is passed on as
//! written, so the validator's `date_format` rule repairs and counts it. A
//! line the layout cannot read (cut short, unknown record type) becomes a
//! record with no fields, which the validator quarantines as `truncated`
//! with the line kept as written.
//!
//! Pharmacy: one row per dispensed drug, the patient's name, birth date,
//! sex and ZIP repeated on every row. Each row becomes a medication record;
//! the first row of each pharmacy patient id also becomes a patient record
//! (so linkage can match the pharmacy's people). UTF-8 or Latin-1 is
//! detected and reported.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::SourceConfig;
use crate::error::{Error, IoContext, Result};
use crate::formats::legacy::{self as fw, FieldType, Layout};
use crate::ingest::quality::SourceQuality;
use crate::ingest::raw::{decode_text, Fields, RawRecord, Table};

/// The table a layout's record type feeds.
fn table_of(name: &str) -> Option<Table> {
    Table::ALL.into_iter().find(|t| t.name() == name)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Read a fixed-width export through the layout named by the source's
/// `layout` key.
pub fn read_fixed_width(s: &SourceConfig, q: &mut SourceQuality) -> Result<Vec<RawRecord>> {
    let Some(layout_path) = s.layout.as_ref() else {
        return Err(Error::bad_input(
            format!("source {}", s.name),
            Some("key layout".into()),
            "a layout file for a fixed_width source (layout = \"x.layout.toml\")",
            "no layout",
        ));
    };
    let layout = Layout::load(layout_path)?;
    for r in &layout.records {
        if table_of(&r.table).is_none() {
            return Err(Error::bad_input(
                layout_path.display(),
                Some(format!("record {}", r.code)),
                "table = patient, encounter, observation, condition, medication or note",
                r.table.clone(),
            ));
        }
    }
    let bytes = std::fs::read(&s.path).at(&s.path)?;
    let (text, encoding) = decode_text(&bytes);
    let name = file_name(&s.path);
    q.encodings.insert(name.clone(), encoding);
    Ok(records_of(&layout, &s.name, &name, &text))
}

/// The raw records of a fixed-width text (one per non-blank line).
pub fn records_of(layout: &Layout, source: &str, file: &str, text: &str) -> Vec<RawRecord> {
    let fallback = layout
        .records
        .first()
        .and_then(|r| table_of(&r.table))
        .unwrap_or(Table::Patient);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let n = i + 1;
        let location = format!("{file} line {n}");
        let (table, fields) = match layout.read_line(file, n, line) {
            Ok(rec) => {
                let rl = layout.record(&rec.code);
                let table = rl.and_then(|r| table_of(&r.table)).unwrap_or(fallback);
                let mut fields = rec.fields;
                if let Some(rl) = rl {
                    for f in &rl.fields {
                        if let Some(v) = fields.get_mut(&f.name) {
                            *v = to_iso(f, v);
                        }
                    }
                }
                (table, fields.into())
            }
            // the reason is the validator's `truncated` rule; the line is
            // kept as written in the quarantine file
            Err(_) => {
                let code = line.chars().next().map(String::from).unwrap_or_default();
                let table = layout
                    .record(&code)
                    .and_then(|r| table_of(&r.table))
                    .unwrap_or(fallback);
                (table, Fields::default())
            }
        };
        out.push(RawRecord {
            source: source.to_string(),
            table,
            location,
            fields,
            raw: line.to_string(),
        });
    }
    out
}

/// A date in the layout's own format, as ISO 8601; anything else as written.
fn to_iso(f: &fw::Field, v: &str) -> String {
    match f.kind {
        FieldType::Date => fw::parse_date(f, v)
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_else(|| v.to_string()),
        FieldType::Datetime => fw::parse_datetime(f, v)
            .map(|t| crate::clinical::format_datetime(&t))
            .unwrap_or_else(|| v.to_string()),
        _ => v.to_string(),
    }
}

/// Pharmacy CSV column -> records-schema field, per table.
const PATIENT_COLUMNS: [(&str, &str); 6] = [
    ("pharmacy_patient_id", "patient_id"),
    ("family_name", "family_name"),
    ("given_name", "given_name"),
    ("birth_date", "birth_date"),
    ("sex", "sex"),
    ("zip", "zip"),
];
const MEDICATION_COLUMNS: [(&str, &str); 6] = [
    ("rx_number", "medication_id"),
    ("pharmacy_patient_id", "patient_id"),
    ("visit_number", "encounter_id"),
    ("rxnorm", "rxnorm"),
    ("drug_name", "name"),
    ("dispensed_time", "authored_time"),
];

/// Read a pharmacy dispensing file (see the module doc).
pub fn read_pharmacy(s: &SourceConfig, q: &mut SourceQuality) -> Result<Vec<RawRecord>> {
    let bytes = std::fs::read(&s.path).at(&s.path)?;
    let (text, encoding) = decode_text(&bytes);
    let name = file_name(&s.path);
    q.encodings.insert(name.clone(), encoding);
    pharmacy_records(&s.name, &name, &text)
}

/// The raw records of a pharmacy file's text.
pub fn pharmacy_records(source: &str, file: &str, text: &str) -> Result<Vec<RawRecord>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| Error::bad_input(file, Some("line 1".into()), "a CSV header", e.to_string()))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    for (col, _) in PATIENT_COLUMNS.iter().chain(&MEDICATION_COLUMNS) {
        if !header.iter().any(|h| h == col) {
            return Err(Error::bad_input(
                file,
                Some("line 1".into()),
                format!("a column {col:?}"),
                header.join(","),
            ));
        }
    }
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| {
            Error::bad_input(
                file,
                Some(format!("record {}", i + 1)),
                "CSV",
                e.to_string(),
            )
        })?;
        let line = rec.position().map(|p| p.line()).unwrap_or(i as u64 + 2);
        let raw = rec.iter().collect::<Vec<_>>().join(",");
        let row: BTreeMap<&str, &str> = if rec.len() == header.len() {
            header.iter().map(String::as_str).zip(rec.iter()).collect()
        } else {
            BTreeMap::new()
        };
        let pick = |cols: &[(&str, &str)]| -> Fields {
            if row.is_empty() {
                return Fields::default();
            }
            cols.iter()
                .map(|(c, f)| (f.to_string(), row.get(c).copied().unwrap_or("").to_string()))
                .collect()
        };
        let location = format!("{file} line {line}");
        let pid = row.get("pharmacy_patient_id").copied().unwrap_or("");
        if !pid.trim().is_empty() && seen.insert(pid.trim().to_string()) {
            out.push(RawRecord {
                source: source.to_string(),
                table: Table::Patient,
                location: location.clone(),
                fields: pick(&PATIENT_COLUMNS),
                raw: raw.clone(),
            });
        }
        out.push(RawRecord {
            source: source.to_string(),
            table: Table::Medication,
            location,
            fields: pick(&MEDICATION_COLUMNS),
            raw,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAYOUT: &str = r#"
name = "t"
[[record]]
type = "P"
table = "patient"
[[record.field]]
name = "patient_id"
start = 2
width = 4
type = "text"
[[record.field]]
name = "birth_date"
start = 6
width = 10
type = "date"
format = "%Y%m%d"
"#;

    #[test]
    fn layout_dates_become_iso_other_formats_pass_and_cut_lines_lose_fields() {
        let layout = Layout::parse(Path::new("t.toml"), LAYOUT).unwrap();
        let text = "PA1  19600102  \nPA2  01/02/1960\nPA3  1960\n\n";
        let recs = records_of(&layout, "reg", "reg.txt", text);
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[0].get("birth_date"), "1960-01-02");
        assert_eq!(recs[0].table, Table::Patient);
        assert_eq!(recs[1].get("birth_date"), "01/02/1960");
        assert_eq!(recs[2].location, "reg.txt line 3");
        assert!(recs[2].fields.is_empty());
        assert_eq!(recs[2].raw, "PA3  1960");
    }

    #[test]
    fn pharmacy_rows_become_one_patient_each_and_a_medication_per_row() {
        let text = "rx_number,pharmacy_patient_id,family_name,given_name,birth_date,sex,zip,visit_number,rxnorm,drug_name,dispensed_time\n\
                    M1,RX1,García,José,1950-01-02,M,02139,E1,197361,amlodipine,2022-01-01T10:00:00\n\
                    M2,RX1,García,José,1950-01-02,M,02139,E1,310798,hctz,2022-01-01T10:00:00\n\
                    M3,RX2\n";
        let recs = pharmacy_records("pharmacy", "pharmacy.csv", text).unwrap();
        let tables: Vec<Table> = recs.iter().map(|r| r.table).collect();
        assert_eq!(
            tables,
            vec![
                Table::Patient,
                Table::Medication,
                Table::Medication,
                Table::Medication
            ]
        );
        assert_eq!(recs[0].get("family_name"), "García");
        assert_eq!(recs[1].get("medication_id"), "M1");
        assert_eq!(recs[1].get("authored_time"), "2022-01-01T10:00:00");
        // the short row keeps no fields (quarantined as truncated)
        assert!(recs[3].fields.is_empty());
        assert_eq!(recs[3].location, "pharmacy.csv line 4");
        let e = pharmacy_records("p", "p.csv", "a,b\n1,2\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("p.csv") && e.contains("pharmacy_patient_id"),
            "{e}"
        );
    }
}
