//! The legacy fixed-width mainframe export and its layout file.
//!
//! A mainframe export has no header and no delimiters: every line is one
//! record, the first column holds the record type (`P` patient, `E`
//! encounter, ...) and each field lives at fixed columns. The layout file
//! (TOML) says which columns hold which field, of which type, in which
//! format. Field names follow the records schema (`clinical::records`), so
//! ingest can hand the fields straight to its validator.
//!
//! ```toml
//! name = "registration"
//! [[record]]
//! type = "P"
//! table = "patient"
//! [[record.field]]
//! name = "patient_id"   # records-schema column
//! start = 2             # 1-based column; column 1 is the record type
//! width = 10
//! type = "text"         # text, integer, decimal, date, datetime
//! # format = "%Y%m%d"   # chrono format, for date and datetime fields
//! ```
//!
//! Writing pads text to the left and numbers to the right; a value wider
//! than its field is an error, never silently cut. Reading returns the
//! trimmed text of every field; a line shorter than its record is an error
//! naming the file, the line, the first field cut, what was expected and
//! what was found.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::error::{toml_error, Error, IoContext, Result};

/// The kind of value a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    Integer,
    Decimal,
    Date,
    Datetime,
}

/// One fixed-width field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    pub name: String,
    /// 1-based first column.
    pub start: usize,
    pub width: usize,
    #[serde(rename = "type")]
    pub kind: FieldType,
    /// chrono format of date and datetime fields (e.g. `%Y%m%d`).
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub description: String,
}

impl Field {
    /// Last column (1-based, inclusive).
    pub fn end(&self) -> usize {
        self.start + self.width - 1
    }
}

/// The fields of one record type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordLayout {
    /// The one-character code in column 1.
    #[serde(rename = "type")]
    pub code: String,
    /// The records-schema table the record belongs to (`patient`, ...).
    pub table: String,
    #[serde(default)]
    pub description: String,
    #[serde(rename = "field")]
    pub fields: Vec<Field>,
}

impl RecordLayout {
    /// The length of a complete line of this record type.
    pub fn line_width(&self) -> usize {
        self.fields.iter().map(Field::end).max().unwrap_or(1)
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// A fixed-width layout: every record type of one export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layout {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(rename = "record")]
    pub records: Vec<RecordLayout>,
}

/// One line read through a layout: the record type and each field's
/// trimmed text (empty when blank).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub code: String,
    /// 1-based line number in the file.
    pub line: usize,
    pub fields: BTreeMap<String, String>,
}

impl Layout {
    /// Read and check a layout file.
    pub fn load(path: &Path) -> Result<Layout> {
        let text = std::fs::read_to_string(path).at(path)?;
        Layout::parse(path, &text)
    }

    /// Parse and check layout text; `path` names it in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Layout> {
        let layout: Layout = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
        layout.check(path)?;
        Ok(layout)
    }

    /// Fields must start after column 1, have a width, not overlap, and
    /// date fields must carry a format.
    fn check(&self, path: &Path) -> Result<()> {
        let bad = |at: String, expected: &str, found: String| {
            Error::bad_input(path.display(), Some(at), expected, found)
        };
        if self.records.is_empty() {
            return Err(bad(
                "record".into(),
                "at least one [[record]]",
                "none".into(),
            ));
        }
        let mut codes = Vec::new();
        for r in &self.records {
            if r.code.chars().count() != 1 {
                return Err(bad(
                    format!("record {:?}", r.code),
                    "a one-character record type",
                    r.code.clone(),
                ));
            }
            if codes.contains(&r.code) {
                return Err(bad(
                    format!("record {:?}", r.code),
                    "each record type once",
                    "a second [[record]] with the same type".into(),
                ));
            }
            codes.push(r.code.clone());
            let mut spans: Vec<(usize, usize, &str)> = Vec::new();
            for f in &r.fields {
                let at = format!("record {}, field {}", r.code, f.name);
                if f.start < 2 || f.width == 0 {
                    return Err(bad(
                        at,
                        "start >= 2 (column 1 is the record type) and width >= 1",
                        format!("start {}, width {}", f.start, f.width),
                    ));
                }
                if matches!(f.kind, FieldType::Date | FieldType::Datetime) && f.format.is_none() {
                    return Err(bad(
                        at,
                        "a format (e.g. \"%Y%m%d\") for a date field",
                        "no format".into(),
                    ));
                }
                if let Some((_, _, other)) = spans
                    .iter()
                    .find(|(s, e, _)| f.start <= *e && f.end() >= *s)
                {
                    return Err(bad(
                        at,
                        "fields that do not overlap",
                        format!("columns {}-{} overlap field {other}", f.start, f.end()),
                    ));
                }
                spans.push((f.start, f.end(), &f.name));
            }
        }
        Ok(())
    }

    pub fn record(&self, code: &str) -> Option<&RecordLayout> {
        self.records.iter().find(|r| r.code == code)
    }

    /// Format one line (no newline). Missing fields are blank; a value wider
    /// than its field, or an unknown record type or field, is an error.
    pub fn write_line(&self, code: &str, values: &BTreeMap<String, String>) -> Result<String> {
        let Some(rec) = self.record(code) else {
            return Err(Error::bad_input(
                format!("layout {}", self.name),
                None,
                "a record type of the layout",
                code,
            ));
        };
        if let Some(name) = values.keys().find(|k| rec.field(k).is_none()) {
            return Err(Error::bad_input(
                format!("layout {}", self.name),
                Some(format!("record {code}")),
                "a field of the record",
                name.clone(),
            ));
        }
        let mut line: Vec<char> = vec![' '; rec.line_width()];
        let mut chars = code.chars();
        if let (Some(c), Some(slot)) = (chars.next(), line.first_mut()) {
            *slot = c;
        }
        for f in &rec.fields {
            let value = values.get(&f.name).map(String::as_str).unwrap_or("");
            let n = value.chars().count();
            if n > f.width {
                return Err(Error::bad_input(
                    format!("layout {}", self.name),
                    Some(format!("record {code}, field {}", f.name)),
                    format!("at most {} characters", f.width),
                    format!("{n} characters"),
                ));
            }
            // numbers right-aligned, everything else left-aligned
            let pad = match f.kind {
                FieldType::Integer | FieldType::Decimal => f.width - n,
                _ => 0,
            };
            for (i, c) in value.chars().enumerate() {
                if let Some(slot) = line.get_mut(f.start - 1 + pad + i) {
                    *slot = c;
                }
            }
        }
        Ok(line.into_iter().collect())
    }

    /// Read one line. `source` (the file) and `line` (1-based) name it in
    /// errors: unknown record type, or a line cut before a field ends.
    pub fn read_line(&self, source: &str, line: usize, text: &str) -> Result<Record> {
        let text = text.trim_end_matches(['\r', '\n']);
        let chars: Vec<char> = text.chars().collect();
        let code: String = chars.first().map(|c| c.to_string()).unwrap_or_default();
        let Some(rec) = self.record(&code) else {
            let known: Vec<&str> = self.records.iter().map(|r| r.code.as_str()).collect();
            return Err(Error::bad_input(
                source,
                Some(format!("line {line}, column 1")),
                format!("a record type among {}", known.join(", ")),
                if code.is_empty() {
                    "an empty line".to_string()
                } else {
                    format!("{code:?}")
                },
            ));
        };
        let mut fields = BTreeMap::new();
        for f in &rec.fields {
            // An export is always padded to its full width: a short line
            // was cut, even where the missing columns would have been blank.
            if chars.len() < f.end() {
                return Err(Error::bad_input(
                    source,
                    Some(format!("line {line}, field {}", f.name)),
                    format!(
                        "a {}-character line (field {} at columns {}-{})",
                        rec.line_width(),
                        f.name,
                        f.start,
                        f.end()
                    ),
                    format!("a line of {} characters", chars.len()),
                ));
            }
            let lo = (f.start - 1).min(chars.len());
            let hi = f.end().min(chars.len());
            let value: String = chars.get(lo..hi).unwrap_or_default().iter().collect();
            fields.insert(f.name.clone(), value.trim().to_string());
        }
        Ok(Record { code, line, fields })
    }

    /// Read a whole file; each line is a record or the error for that line
    /// (so a caller can quarantine bad lines and keep going). Blank lines
    /// are skipped.
    pub fn read_text(&self, source: &str, text: &str) -> Vec<Result<Record>> {
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| self.read_line(source, i + 1, l))
            .collect()
    }
}

/// Parse a date field's text with the field's format.
pub fn parse_date(field: &Field, text: &str) -> Option<NaiveDate> {
    let format = field.format.as_deref()?;
    NaiveDate::parse_from_str(text.trim(), format).ok()
}

/// Parse a date-time field's text with the field's format.
pub fn parse_datetime(field: &Field, text: &str) -> Option<NaiveDateTime> {
    let format = field.format.as_deref()?;
    NaiveDateTime::parse_from_str(text.trim(), format).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAYOUT: &str = r#"
name = "test"
[[record]]
type = "P"
table = "patient"
[[record.field]]
name = "patient_id"
start = 2
width = 6
type = "text"
[[record.field]]
name = "birth_date"
start = 8
width = 8
type = "date"
format = "%Y%m%d"
[[record.field]]
name = "age"
start = 16
width = 3
type = "integer"
"#;

    fn layout() -> Layout {
        Layout::parse(Path::new("test.layout.toml"), LAYOUT).unwrap()
    }

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn write_pads_and_read_trims() {
        let l = layout();
        let line = l
            .write_line(
                "P",
                &values(&[
                    ("patient_id", "R12"),
                    ("birth_date", "19600102"),
                    ("age", "7"),
                ]),
            )
            .unwrap();
        assert_eq!(line, "PR12   19600102  7");
        let rec = l.read_line("f.txt", 3, &line).unwrap();
        assert_eq!(rec.code, "P");
        assert_eq!(rec.fields["patient_id"], "R12");
        assert_eq!(rec.fields["age"], "7");
        let f = l.record("P").unwrap().field("birth_date").unwrap();
        assert_eq!(
            parse_date(f, &rec.fields["birth_date"]),
            NaiveDate::from_ymd_opt(1960, 1, 2)
        );
    }

    #[test]
    fn too_wide_values_and_short_lines_are_errors_naming_the_field() {
        let l = layout();
        let e = l
            .write_line("P", &values(&[("patient_id", "R1234567")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("patient_id") && e.contains("at most 6"), "{e}");
        let e = l
            .read_line("f.txt", 9, "PR12   1960")
            .unwrap_err()
            .to_string();
        assert!(e.contains("f.txt") && e.contains("line 9"), "{e}");
        assert!(
            e.contains("birth_date") && e.contains("11 characters"),
            "{e}"
        );
        let e = l.read_line("f.txt", 2, "X123").unwrap_err().to_string();
        assert!(e.contains("record type"), "{e}");
    }

    #[test]
    fn overlapping_fields_are_refused() {
        let text = LAYOUT.replace("start = 8", "start = 6");
        let e = Layout::parse(Path::new("x.toml"), &text)
            .unwrap_err()
            .to_string();
        assert!(e.contains("overlap"), "{e}");
    }
}
