//! CSV files read by column name, for the small side files the stages hand
//! each other (predictions, history, truth, rosters).
//!
//! One reader finds the columns in the header and walks the records, so every
//! caller reports a missing column, a broken record or a bad value the same
//! way: file, line and column, what was expected, what was found. (The clean
//! tables have their own typed reader in `formats::table`.)

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};

/// An open CSV file with its header read.
pub struct NamedCsv {
    path: PathBuf,
    reader: csv::Reader<Box<dyn std::io::Read>>,
    headers: csv::StringRecord,
}

impl NamedCsv {
    /// Open `path` and read its header row. Records may be shorter or longer
    /// than the header; a missing field is reported when it is asked for.
    pub fn open(path: &Path) -> Result<NamedCsv> {
        let file = File::open(path).at(path)?;
        NamedCsv::from_reader(path, Box::new(file))
    }

    /// Read already-decoded text (e.g. a Latin-1 file turned into UTF-8);
    /// `path` names it in errors.
    pub fn from_text(path: &Path, text: String) -> Result<NamedCsv> {
        NamedCsv::from_reader(path, Box::new(std::io::Cursor::new(text.into_bytes())))
    }

    fn from_reader(path: &Path, input: Box<dyn std::io::Read>) -> Result<NamedCsv> {
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
        let headers = reader
            .headers()
            .map_err(|e| {
                Error::bad_input(
                    path.display(),
                    Some("line 1".into()),
                    "a CSV header",
                    e.to_string(),
                )
            })?
            .clone();
        Ok(NamedCsv {
            path: path.to_path_buf(),
            reader,
            headers,
        })
    }

    /// Index of an optional column.
    pub fn optional(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h.trim() == name)
    }

    /// Index of a required column; the error lists the columns found.
    pub fn column(&self, name: &str) -> Result<usize> {
        self.optional(name).ok_or_else(|| {
            Error::bad_input(
                self.path.display(),
                Some("line 1".into()),
                format!("a column named {name}"),
                format!(
                    "columns {}",
                    self.headers.iter().collect::<Vec<_>>().join(",")
                ),
            )
        })
    }

    /// Indices of several required columns, in the order asked.
    pub fn columns(&self, names: &[&str]) -> Result<Vec<usize>> {
        names.iter().map(|n| self.column(n)).collect()
    }

    /// The data records in file order, each knowing its line number.
    pub fn rows(&mut self) -> impl Iterator<Item = Result<CsvRow<'_>>> + '_ {
        let path = self.path.as_path();
        self.reader.records().enumerate().map(move |(i, record)| {
            let line = i as u64 + 2;
            let record = record.map_err(|e| {
                Error::bad_input(
                    path.display(),
                    Some(format!("line {line}")),
                    "a CSV record",
                    e.to_string(),
                )
            })?;
            Ok(CsvRow { path, line, record })
        })
    }
}

/// One record of a [`NamedCsv`], with accessors that name the line and
/// column in their errors.
pub struct CsvRow<'a> {
    path: &'a Path,
    pub line: u64,
    record: csv::StringRecord,
}

impl CsvRow<'_> {
    /// A field's trimmed text; empty when the record is too short.
    pub fn get(&self, i: usize) -> &str {
        self.record.get(i).map(str::trim).unwrap_or("")
    }

    /// A field that must be present (it may be empty).
    pub fn text(&self, i: usize, name: &str) -> Result<String> {
        self.record
            .get(i)
            .map(|s| s.trim().to_string())
            .ok_or_else(|| self.bad(name, "a value", "a short row"))
    }

    /// A field that must be a finite number.
    pub fn number(&self, i: usize, name: &str) -> Result<f64> {
        let t = self.text(i, name)?;
        t.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| self.bad(name, "a finite number", &t))
    }

    /// The error for a bad value in column `name` of this line.
    pub fn bad(&self, name: &str, expected: &str, found: &str) -> Error {
        Error::bad_input(
            self.path.display(),
            Some(format!("line {}, column {name}", self.line)),
            expected,
            found,
        )
    }

    /// The error for this whole line.
    pub fn bad_line(&self, expected: &str, found: &str) -> Error {
        Error::bad_input(
            self.path.display(),
            Some(format!("line {}", self.line)),
            expected,
            found,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn finds_columns_and_names_lines() {
        let (_d, path) = file("b, a\n1,x\n2\n3,4\n");
        let mut csv = NamedCsv::open(&path).unwrap();
        let [b, a] = csv.columns(&["b", "a"]).unwrap()[..] else {
            panic!("two columns")
        };
        assert_eq!((a, b), (1, 0));
        assert_eq!(csv.optional("c"), None);
        let err = csv.column("c").unwrap_err().to_string();
        assert!(
            err.contains("column named c") && err.contains("b, a"),
            "{err}"
        );
        let rows: Vec<_> = csv.rows().collect::<Result<_>>().unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].number(b, "b").unwrap(), 1.0);
        let err = rows[0].number(a, "a").unwrap_err().to_string();
        assert!(
            err.contains("line 2, column a") && err.contains('x'),
            "{err}"
        );
        let err = rows[1].text(a, "a").unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("short row"), "{err}");
        assert_eq!(rows[1].get(a), "");
        assert_eq!(rows[2].line, 4);
    }
}
