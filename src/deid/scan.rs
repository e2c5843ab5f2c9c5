//! The PHI scanner: residual identifiers in any file tree (CSV, Parquet,
//! JSON, NDJSON, HL7, text) by pattern and against a list of known
//! identifiers. Findings name the file, line or row, column and kind, never
//! the value.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::Regex;
use serde::Serialize;

use super::patterns::{kind_name, Found, Patterns};
use crate::error::{Error, IoContext, Result};

/// One suspected identifier.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub file: String,
    /// Line (text, JSON, HL7) or data row (CSV: 1 = first row after the header; Parquet).
    pub line: u64,
    /// Column name, JSON path or HL7 field; `-` for plain text.
    pub column: String,
    /// Which kind matched: a pattern kind, or `known:<kind>`.
    pub kind: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ScanReport {
    pub files_scanned: u64,
    pub cells_scanned: u64,
    pub findings_total: u64,
    pub by_kind: BTreeMap<String, u64>,
    /// The first findings (at most `MAX_LISTED`).
    pub findings: Vec<Finding>,
}

pub const MAX_LISTED: usize = 1000;

/// Column names whose values come from a fixed vocabulary.
const CODED_COLUMNS: &[&str] = &[
    "sex",
    "race",
    "ethnicity",
    "race_ethnicity",
    "payer",
    "state",
    "disposition",
    "class",
    "system",
    "unit",
    "code",
    "reason_code",
    "rxnorm",
];

/// Scanner state: patterns and the known-identifier automaton.
pub struct Scanner {
    patterns: Patterns,
    compact_date: Regex,
    zip5: Regex,
    known: Option<(AhoCorasick, Vec<String>)>,
    report: ScanReport,
}

impl Scanner {
    pub fn new() -> Scanner {
        Scanner {
            patterns: Patterns::new(),
            compact_date: Regex::new(r"\b(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])")
                .unwrap_or_else(|_| Regex::new("$^").expect("trivial regex")),
            zip5: Regex::new(r"^\s*\d{5}(?:-\d{4})?\s*$")
                .unwrap_or_else(|_| Regex::new("$^").expect("trivial regex")),
            known: None,
            report: ScanReport::default(),
        }
    }

    /// Load known identifiers: a long CSV (`kind`, `value` columns) or a wide
    /// one (every column but `kind`-less ids is an identifier named by its column).
    pub fn load_known(&mut self, path: &Path) -> Result<u64> {
        let mut rdr = csv::Reader::from_path(path).map_err(|e| csv_bad(path, e))?;
        let header: Vec<String> = rdr
            .headers()
            .map_err(|e| csv_bad(path, e))?
            .iter()
            .map(String::from)
            .collect();
        let long = header
            .iter()
            .position(|h| h == "value")
            .zip(header.iter().position(|h| h == "kind"));
        let mut values = Vec::new();
        let mut kinds = Vec::new();
        for r in rdr.records() {
            let r = r.map_err(|e| csv_bad(path, e))?;
            let mut push = |kind: &str, v: &str| {
                let v = v.trim();
                if v.len() >= 3 {
                    values.push(v.to_string());
                    kinds.push(kind.to_string());
                }
            };
            match long {
                Some((vi, ki)) => push(r.get(ki).unwrap_or("id"), r.get(vi).unwrap_or("")),
                None => {
                    for (h, v) in header.iter().zip(r.iter()) {
                        push(h, v);
                    }
                }
            }
        }
        let n = values.len() as u64;
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&values)
            .map_err(|e| Error::failure(format!("known identifiers: {e}")))?;
        self.known = Some((ac, kinds));
        Ok(n)
    }

    fn cell(&mut self, file: &str, line: u64, column: &str, text: &str, hl7: bool) {
        self.report.cells_scanned += 1;
        let mut found: Vec<Found> = Vec::new();
        self.patterns.find(text, &mut found);
        let mut kinds: Vec<String> = found
            .iter()
            .map(|f| kind_name(f.kind).to_string())
            .collect();
        let col = column.to_ascii_lowercase();
        // Columns of coded vocabulary (race, payer, a code system URI) hold
        // category values, not identifiers: a surname that is also a race
        // category ("White") or a terminology URI is not residual PHI there.
        let coded = CODED_COLUMNS.contains(&col.as_str());
        if coded {
            kinds.retain(|k| k != "url");
        }
        let zip_column = col.contains("zip") || col.contains("postal");
        if zip_column && self.zip5.is_match(text) {
            kinds.push("zip".into());
        }
        // A whole cell that is a plain number outside a ZIP column is a
        // measurement (a BNP of 02134 pg/mL is not a ZIP code): a known ZIP
        // counts there only inside text.
        let plain_number = text.trim().parse::<f64>().is_ok();
        if hl7 && self.compact_date.is_match(text) {
            kinds.push("date".into());
        }
        if let Some((ac, known_kinds)) = self.known.as_ref().filter(|_| !coded) {
            let b = text.as_bytes();
            for m in ac.find_overlapping_iter(text) {
                let before = m.start() == 0 || !b[m.start() - 1].is_ascii_alphanumeric();
                let after = m.end() == b.len() || !b[m.end()].is_ascii_alphanumeric();
                if before && after {
                    let k = known_kinds
                        .get(m.pattern().as_usize())
                        .map(String::as_str)
                        .unwrap_or("id");
                    if k == "zip" && plain_number && !zip_column {
                        continue;
                    }
                    kinds.push(format!("known:{k}"));
                }
            }
        }
        kinds.sort();
        kinds.dedup();
        for kind in kinds {
            self.report.findings_total += 1;
            *self.report.by_kind.entry(kind.clone()).or_default() += 1;
            if self.report.findings.len() < MAX_LISTED {
                self.report.findings.push(Finding {
                    file: file.to_string(),
                    line,
                    column: column.to_string(),
                    kind,
                });
            }
        }
    }

    /// Scan a file or every file under a folder.
    pub fn scan_path(&mut self, path: &Path) -> Result<()> {
        if path.is_dir() {
            let mut files: Vec<PathBuf> = crate::artifact::list_files(path)?
                .into_iter()
                .map(|f| path.join(f))
                .collect();
            files.sort();
            for f in files {
                self.scan_file(&f)?;
            }
            Ok(())
        } else {
            self.scan_file(path)
        }
    }

    fn scan_file(&mut self, path: &Path) -> Result<()> {
        let name = path.display().to_string();
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        self.report.files_scanned += 1;
        match ext.as_str() {
            "csv" => {
                let mut rdr = csv::ReaderBuilder::new()
                    .flexible(true)
                    .from_path(path)
                    .map_err(|e| csv_bad(path, e))?;
                let header: Vec<String> = rdr
                    .headers()
                    .map_err(|e| csv_bad(path, e))?
                    .iter()
                    .map(String::from)
                    .collect();
                for (i, r) in rdr.records().enumerate() {
                    let r = r.map_err(|e| csv_bad(path, e))?;
                    for (j, v) in r.iter().enumerate() {
                        let col = header
                            .get(j)
                            .cloned()
                            .unwrap_or_else(|| format!("column {}", j + 1));
                        self.cell(&name, i as u64 + 1, &col, v, false);
                    }
                }
            }
            "parquet" => self.scan_parquet(path, &name)?,
            "json" => {
                let text = std::fs::read_to_string(path).at(path)?;
                let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
                    Error::bad_input(
                        &name,
                        Some(format!("line {}", e.line())),
                        "JSON",
                        e.to_string(),
                    )
                })?;
                self.json(&name, 1, "$", &v);
            }
            "ndjson" | "jsonl" => {
                let text = std::fs::read_to_string(path).at(path)?;
                for (i, line) in text.lines().enumerate() {
                    match serde_json::from_str::<serde_json::Value>(line) {
                        Ok(v) => self.json(&name, i as u64 + 1, "$", &v),
                        Err(_) => self.cell(&name, i as u64 + 1, "-", line, false),
                    }
                }
            }
            _ => {
                let bytes = std::fs::read(path).at(path)?;
                let text = String::from_utf8_lossy(&bytes);
                let hl7 = ext == "hl7" || text.starts_with("MSH|");
                for (i, line) in text
                    .split(['\n', '\r'])
                    .enumerate()
                    .filter(|(_, l)| !l.is_empty())
                {
                    if hl7 {
                        let seg = line.get(..3).unwrap_or("").to_string();
                        for (f, field) in line.split('|').enumerate().skip(1) {
                            self.cell(&name, i as u64 + 1, &format!("{seg}-{f}"), field, true);
                        }
                    } else {
                        self.cell(&name, i as u64 + 1, "-", line, false);
                    }
                }
            }
        }
        Ok(())
    }

    fn json(&mut self, file: &str, line: u64, at: &str, v: &serde_json::Value) {
        match v {
            serde_json::Value::String(s) => self.cell(file, line, at, s, false),
            serde_json::Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    self.json(file, line, &format!("{at}[{i}]"), x);
                }
            }
            serde_json::Value::Object(o) => {
                for (k, x) in o {
                    self.json(file, line, &format!("{at}.{k}"), x);
                }
            }
            other => self.cell(file, line, at, &other.to_string(), false),
        }
    }

    fn scan_parquet(&mut self, path: &Path, name: &str) -> Result<()> {
        use arrow::util::display::{ArrayFormatter, FormatOptions};
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        let file = std::fs::File::open(path).at(path)?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)?.build()?;
        let mut row0 = 0u64;
        for batch in reader {
            let batch = batch?;
            let schema = batch.schema();
            let opts = FormatOptions::default();
            for (j, col) in batch.columns().iter().enumerate() {
                let col_name = schema.field(j).name().clone();
                let fmt = ArrayFormatter::try_new(col.as_ref(), &opts)?;
                for i in 0..batch.num_rows() {
                    if col.is_valid(i) {
                        let v = fmt.value(i).to_string();
                        self.cell(name, row0 + i as u64 + 1, &col_name, &v, false);
                    }
                }
            }
            row0 += batch.num_rows() as u64;
        }
        Ok(())
    }

    pub fn finish(self) -> ScanReport {
        self.report
    }
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner::new()
    }
}

fn csv_bad(path: &Path, e: csv::Error) -> Error {
    let line = e.position().map(|p| format!("line {}", p.line()));
    Error::bad_input(
        path.display(),
        line,
        "well-formed CSV with a header",
        e.to_string(),
    )
}

/// Scan every path; known identifiers from `known` when given.
pub fn scan(paths: &[PathBuf], known: Option<&Path>) -> Result<ScanReport> {
    let mut s = Scanner::new();
    if let Some(k) = known {
        s.load_known(k)?;
    }
    for p in paths {
        if !p.exists() {
            return Err(Error::usage(format!("{} does not exist", p.display())));
        }
        s.scan_path(p)?;
    }
    Ok(s.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_patterns_and_known_ids_without_values() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("t.csv"),
            "id,zip,text\n1,62704,ok\n2,627,Seen 2023-04-05 by Okafor\n3,000,clean\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("m.hl7"),
            "MSH|^~\\&|X\rPID|1||A1||Doe^Jane||19570312|F\r",
        )
        .unwrap();
        let known = dir.path().join("ids.csv");
        std::fs::write(&known, "patient_id,family_name\nP1,Okafor\n").unwrap();
        let known_dir = tempfile::tempdir().unwrap();
        let kpath = known_dir.path().join("ids.csv");
        std::fs::rename(&known, &kpath).unwrap();
        let r = scan(&[dir.path().to_path_buf()], Some(&kpath)).unwrap();
        let got: Vec<(u64, &str, &str)> = r
            .findings
            .iter()
            .map(|f| (f.line, f.column.as_str(), f.kind.as_str()))
            .collect();
        assert!(got.contains(&(1, "zip", "zip")), "{got:?}");
        assert!(got.contains(&(2, "text", "date")));
        assert!(got.contains(&(2, "text", "known:family_name")));
        assert!(got.contains(&(2, "PID-7", "date")), "{got:?}");
        assert_eq!(r.findings_total, 4);
        assert!(!serde_json::to_string(&r).unwrap().contains("Okafor"));
    }

    #[test]
    fn a_known_zip_in_a_measurement_column_is_not_a_finding() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("t.csv"),
            "bnp,home_zip,text
02134,1,moved from 02134
",
        )
        .unwrap();
        let known_dir = tempfile::tempdir().unwrap();
        let kpath = known_dir.path().join("ids.csv");
        std::fs::write(
            &kpath,
            "patient_id,zip
P1,02134
",
        )
        .unwrap();
        let r = scan(&[dir.path().to_path_buf()], Some(&kpath)).unwrap();
        let got: Vec<(&str, &str)> = r
            .findings
            .iter()
            .map(|f| (f.column.as_str(), f.kind.as_str()))
            .collect();
        assert_eq!(got, vec![("text", "known:zip")]);
        // In a ZIP column the same number is a finding.
        std::fs::write(
            dir.path().join("t.csv"),
            "zip
02134
",
        )
        .unwrap();
        let r = scan(&[dir.path().to_path_buf()], Some(&kpath)).unwrap();
        assert!(
            r.findings.iter().any(|f| f.kind == "known:zip"),
            "{:?}",
            r.findings
        );
    }
}
