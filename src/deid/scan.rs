//! The PHI scanner: residual identifiers in any file tree (CSV, Parquet,
//! JSON, NDJSON, HL7, text) by pattern and against a list of known
//! identifiers. Findings name the file, line or row, column and kind, never
//! the value.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use rayon::prelude::*;
use regex::Regex;
use serde::Serialize;

use super::names::Names;
use super::patterns::{kind_name, Patterns};
use super::roles::{default_roles, Role};
use crate::clinical::PhiKind;
use crate::error::{Error, IoContext, Result};
use crate::formats::arrow_text;

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
    /// CareLab's own records found in a folder and not scanned (name a file
    /// to scan it).
    pub skipped_artifacts: Vec<String>,
}

pub const MAX_LISTED: usize = 1000;

/// Files CareLab writes about a dataset rather than the data itself: the
/// manifest, the audit log and its anchor, the de-identification report and
/// the README beside the data. They hold counts, column names, checksums and
/// the run's own time, which look like identifiers to a scan (a row count
/// equal to a ZIP code, `mrn` as a column name, `90+ above 89`) and hold no
/// patient's. A folder scan leaves them out and lists them.
pub const OWN_ARTIFACTS: &[&str] = &[
    "manifest.json",
    "audit.jsonl",
    "audit.jsonl.head",
    "deid-report.json",
    "deid-report.md",
    "README.md",
];

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

/// CSV rows scanned in parallel at a time; findings are then added in row
/// order, so the report is the same whatever the number of threads.
const CHUNK: usize = 4096;

/// What the scanner needs to know about a column, worked out once a file.
struct Column {
    name: String,
    /// A coded-vocabulary column: category values, not identifiers.
    coded: bool,
    /// A ZIP or postal code column.
    zip: bool,
    /// An HL7 v2 field: compact dates (`19570312`) count there.
    hl7: bool,
    /// The identifier its name says it holds (a table's `given_name`,
    /// `mrn`, `city` ...): every value there is one, whatever it looks like.
    role: Option<&'static str>,
}

impl Column {
    fn new(name: &str, hl7: bool) -> Column {
        let lower = name.to_ascii_lowercase();
        Column {
            name: name.to_string(),
            coded: CODED_COLUMNS.contains(&lower.as_str()),
            zip: lower.contains("zip") || lower.contains("postal"),
            hl7,
            role: None,
        }
    }

    /// A table's columns, each with the identifier its name says it holds,
    /// read as `deid` reads them (`name` beside an RxNorm code is a drug).
    fn of_table<'h>(header: impl Iterator<Item = &'h str>) -> Vec<Column> {
        let names: Vec<String> = header.map(str::to_string).collect();
        let roles = default_roles(&names);
        names
            .iter()
            .zip(roles)
            .map(|(name, role)| {
                let mut c = Column::new(name, false);
                c.role = match role {
                    Role::Name => Some("name"),
                    Role::Mrn => Some("mrn"),
                    Role::Ssn => Some("ssn"),
                    Role::Phone => Some("phone"),
                    Role::Email => Some("email"),
                    Role::Address => Some("address"),
                    Role::City => Some("city"),
                    _ => None,
                };
                c
            })
            .collect()
    }
}

/// Known identifiers: one automaton over every value, and each value's
/// finding kind (`known:<kind>`).
struct Known {
    ac: AhoCorasick,
    kinds: Vec<String>,
}

/// The detection side of the scanner: patterns and known identifiers. It
/// holds no state of a scan, so cells can be looked at in parallel.
struct Detector {
    patterns: Patterns,
    compact_date: Regex,
    zip5: Regex,
    known: Option<Known>,
}

impl Detector {
    /// The finding kinds in one cell, sorted and without repeats.
    fn kinds<'a>(&'a self, col: &Column, text: &str) -> Vec<&'a str> {
        let mut kinds: Vec<&'a str> = Vec::new();
        if text.len() < 3 {
            // shorter than any pattern match or known identifier
            return kinds;
        }
        // A whole cell that is a plain number is a measurement (a BNP of
        // 02134 pg/mL is not a ZIP code): no pattern can match one, and a
        // known ZIP counts there only in a ZIP column.
        let plain_number = text.trim().parse::<f64>().is_ok();
        if let Some(role) = col.role {
            kinds.push(role);
        }
        if !plain_number && !col.coded {
            // names by content: a cell that is a person's name on the
            // census lists, or names in free text as the scrubber finds them
            let names = Names::builtin();
            let mut found = Vec::new();
            names.find(text, &mut found);
            if names.is_name_cell(text) && !found.iter().any(|f| f.kind == PhiKind::Name) {
                kinds.push("name");
            }
            for f in found {
                kinds.push(kind_name(f.kind));
            }
        }
        if !plain_number {
            let mut found = Vec::new();
            self.patterns.kinds(text, &mut found);
            // Columns of coded vocabulary (race, payer, a code system URI)
            // hold category values, not identifiers: a terminology URI is
            // not residual PHI there.
            for k in found {
                if !(col.coded && k == PhiKind::Url) {
                    kinds.push(kind_name(k));
                }
            }
        }
        if col.zip && self.zip5.is_match(text) {
            kinds.push("zip");
        }
        if col.hl7 && self.compact_date.is_match(text) {
            kinds.push("date");
        }
        // a surname that is also a race category ("White") is not residual
        // PHI in the race column
        if let Some(known) = self.known.as_ref().filter(|_| !col.coded) {
            let b = text.as_bytes();
            for m in known.ac.find_overlapping_iter(text) {
                let before = m.start() == 0
                    || !b
                        .get(m.start() - 1)
                        .is_some_and(|c| c.is_ascii_alphanumeric());
                let after = !b.get(m.end()).is_some_and(|c| c.is_ascii_alphanumeric());
                if before && after {
                    let k = known
                        .kinds
                        .get(m.pattern().as_usize())
                        .map(String::as_str)
                        .unwrap_or("known:id");
                    if k == "known:zip" && plain_number && !col.zip {
                        continue;
                    }
                    kinds.push(k);
                }
            }
        }
        kinds.sort_unstable();
        kinds.dedup();
        kinds
    }

    /// The kinds in every cell of a row: (column index, kinds) where any.
    fn row<'a>(
        &'a self,
        columns: &[Column],
        row: &csv::StringRecord,
    ) -> Vec<(usize, Vec<&'a str>)> {
        row.iter()
            .enumerate()
            .filter_map(|(j, v)| {
                let kinds = columns.get(j).map(|c| self.kinds(c, v))?;
                (!kinds.is_empty()).then_some((j, kinds))
            })
            .collect()
    }
}

/// Scanner state: the detector and the report so far.
pub struct Scanner {
    detector: Detector,
    report: ScanReport,
}

impl Scanner {
    pub fn new() -> Scanner {
        Scanner {
            detector: Detector {
                patterns: Patterns::new(),
                compact_date: Regex::new(
                    r"\b(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])",
                )
                .unwrap_or_else(|_| Regex::new("$^").expect("trivial regex")),
                zip5: Regex::new(r"^\s*\d{5}(?:-\d{4})?\s*$")
                    .unwrap_or_else(|_| Regex::new("$^").expect("trivial regex")),
                known: None,
            },
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
                    kinds.push(format!("known:{kind}"));
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
        self.detector.known = Some(Known { ac, kinds });
        Ok(n)
    }

    fn cell(&mut self, file: &str, line: u64, col: &Column, text: &str) {
        let kinds = self.detector.kinds(col, text);
        self.report.add(file, line, &col.name, &kinds);
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
                let own = f
                    .file_name()
                    .is_some_and(|n| OWN_ARTIFACTS.iter().any(|a| n == *a));
                if own {
                    self.report.skipped_artifacts.push(f.display().to_string());
                } else {
                    self.scan_file(&f)?;
                }
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
            "csv" => self.scan_csv(path, &name)?,
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
                let plain = Column::new("-", false);
                for (i, line) in text.lines().enumerate() {
                    match serde_json::from_str::<serde_json::Value>(line) {
                        Ok(v) => self.json(&name, i as u64 + 1, "$", &v),
                        Err(_) => self.cell(&name, i as u64 + 1, &plain, line),
                    }
                }
            }
            _ => {
                let bytes = std::fs::read(path).at(path)?;
                let text = String::from_utf8_lossy(&bytes);
                let hl7 = ext == "hl7" || text.starts_with("MSH|");
                let plain = Column::new("-", false);
                for (i, line) in text
                    .split(['\n', '\r'])
                    .enumerate()
                    .filter(|(_, l)| !l.is_empty())
                {
                    if hl7 {
                        let seg = line.get(..3).unwrap_or("");
                        for (f, field) in line.split('|').enumerate().skip(1) {
                            let col = Column::new(&format!("{seg}-{f}"), true);
                            self.cell(&name, i as u64 + 1, &col, field);
                        }
                    } else {
                        self.cell(&name, i as u64 + 1, &plain, line);
                    }
                }
            }
        }
        Ok(())
    }

    /// A CSV file, `CHUNK` rows at a time: the rows of a chunk are looked
    /// at in parallel, their findings added in order.
    fn scan_csv(&mut self, path: &Path, name: &str) -> Result<()> {
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .from_path(path)
            .map_err(|e| csv_bad(path, e))?;
        let mut columns = Column::of_table(rdr.headers().map_err(|e| csv_bad(path, e))?.iter());
        let mut rows: Vec<csv::StringRecord> = vec![csv::StringRecord::new(); CHUNK];
        let mut line0 = 0u64;
        loop {
            let mut n = 0;
            while n < CHUNK {
                let Some(rec) = rows.get_mut(n) else { break };
                if !rdr.read_record(rec).map_err(|e| csv_bad(path, e))? {
                    break;
                }
                n += 1;
            }
            let chunk = rows.get(..n).unwrap_or_default();
            // a row longer than the header (flexible CSV) names its extra
            // columns by position
            let widest = chunk.iter().map(csv::StringRecord::len).max().unwrap_or(0);
            while columns.len() < widest {
                let name = format!("column {}", columns.len() + 1);
                columns.push(Column::new(&name, false));
            }
            let detector = &self.detector;
            let found: Vec<Vec<(usize, Vec<&str>)>> = chunk
                .par_iter()
                .map(|r| detector.row(&columns, r))
                .collect();
            for (i, (row, hits)) in chunk.iter().zip(found).enumerate() {
                let line = line0 + i as u64 + 1;
                self.report.cells_scanned += row.len() as u64;
                for (j, kinds) in hits {
                    let col = columns.get(j).map(|c| c.name.as_str()).unwrap_or("-");
                    self.report.findings(name, line, col, &kinds);
                }
            }
            line0 += n as u64;
            if n < CHUNK {
                return Ok(());
            }
        }
    }

    fn json(&mut self, file: &str, line: u64, at: &str, v: &serde_json::Value) {
        match v {
            serde_json::Value::String(s) => self.cell(file, line, &Column::new(at, false), s),
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
            other => self.cell(file, line, &Column::new(at, false), &other.to_string()),
        }
    }

    fn scan_parquet(&mut self, path: &Path, name: &str) -> Result<()> {
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        let file = std::fs::File::open(path).at(path)?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)?.build()?;
        let mut row0 = 0u64;
        let mut text = String::new();
        for batch in reader {
            let batch = batch?;
            let schema = batch.schema();
            let columns = Column::of_table(schema.fields().iter().map(|f| f.name().as_str()));
            for (col, column) in batch.columns().iter().zip(&columns) {
                for i in 0..batch.num_rows() {
                    text.clear();
                    let written = arrow_text::write_cell(col.as_ref(), i, &mut text)
                        .map_err(|found| arrow_text::cell_error(name, &column.name, found))?;
                    if written {
                        self.cell(name, row0 + i as u64 + 1, column, &text);
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

impl ScanReport {
    /// Count one cell and what was found in it.
    fn add(&mut self, file: &str, line: u64, column: &str, kinds: &[&str]) {
        self.cells_scanned += 1;
        self.findings(file, line, column, kinds);
    }

    /// Record the kinds found in one cell (already counted).
    fn findings(&mut self, file: &str, line: u64, column: &str, kinds: &[&str]) {
        for kind in kinds {
            self.findings_total += 1;
            *self.by_kind.entry(kind.to_string()).or_default() += 1;
            if self.findings.len() < MAX_LISTED {
                self.findings.push(Finding {
                    file: file.to_string(),
                    line,
                    column: column.to_string(),
                    kind: kind.to_string(),
                });
            }
        }
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
        // the census lists find the HL7 patient name without the list
        assert!(got.contains(&(2, "PID-5", "name")), "{got:?}");
        assert!(got.contains(&(2, "PID-7", "date")), "{got:?}");
        assert_eq!(r.findings_total, 5);
        assert!(!serde_json::to_string(&r).unwrap().contains("Okafor"));
    }

    #[test]
    fn a_leaky_table_is_caught_without_the_truth_file() {
        let dir = tempfile::tempdir().unwrap();
        // named columns: the name says what every value is
        std::fs::write(
            dir.path().join("patients.csv"),
            "patient_id,mrn,given_name,family_name,city,sex\n\
             pat-1,01234567,Sandra,Campbell,Brooklyn,F\n\
             pat-2,07654321,Imran,Qureshi,Tucson,M\n",
        )
        .unwrap();
        // the same people under columns named for nothing: the census
        // lists find the names, a drug and a race are no names
        std::fs::write(
            dir.path().join("export.csv"),
            "a,b,c,d,e\n1,Sandra Campbell,Lisinopril,White,62\n2,Garcia,Metformin,Black,71\n",
        )
        .unwrap();
        let r = scan(&[dir.path().to_path_buf()], None).unwrap();
        let file = |f: &Finding| -> &'static str {
            if f.file.ends_with("export.csv") {
                "export.csv"
            } else {
                "patients.csv"
            }
        };
        let mut got: Vec<(&str, u64, &str, &str)> = r
            .findings
            .iter()
            .map(|f| (file(f), f.line, f.column.as_str(), f.kind.as_str()))
            .collect();
        got.sort();
        for want in [
            ("export.csv", 1, "b", "name"),
            ("export.csv", 2, "b", "name"),
            ("patients.csv", 1, "mrn", "mrn"),
            ("patients.csv", 1, "given_name", "name"),
            ("patients.csv", 1, "family_name", "name"),
            ("patients.csv", 1, "city", "city"),
            ("patients.csv", 2, "city", "city"),
        ] {
            assert!(got.contains(&want), "{want:?} not in {got:?}");
        }
        assert!(
            !got.iter()
                .any(|(f, _, c, _)| *f == "export.csv" && ["c", "d", "e"].contains(c)),
            "{got:?}"
        );
        assert!(!serde_json::to_string(&r).unwrap().contains("Campbell"));
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

    #[test]
    fn findings_come_in_row_order_across_parallel_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let rows = 3 * CHUNK + 7;
        let mut csv = String::from("id,text\n");
        let mut want = Vec::new();
        for i in 0..rows {
            // every 1000th row leaks an SSN, every 1500th a phone number
            let mut text = format!("row {i}");
            if i % 1000 == 0 {
                text.push_str(" ssn 123-45-6789");
                want.push((i as u64 + 1, "ssn"));
            }
            if i % 1500 == 0 {
                text.push_str(" call 617-555-0101");
                want.push((i as u64 + 1, "phone"));
            }
            csv.push_str(&format!("{i},{text}\n"));
        }
        // a row wider than the header names its extra column by position
        csv.push_str("x,clean,a@b.org\n");
        want.push((rows as u64 + 1, "email"));
        std::fs::write(dir.path().join("t.csv"), csv).unwrap();
        let r = scan(&[dir.path().join("t.csv")], None).unwrap();
        let got: Vec<(u64, &str)> = r
            .findings
            .iter()
            .map(|f| (f.line, f.kind.as_str()))
            .collect();
        let mut want_sorted = want.clone();
        want_sorted.sort_by_key(|(line, kind)| (*line, *kind));
        assert_eq!(got, want_sorted);
        assert_eq!(r.findings_total, want.len() as u64);
        assert_eq!(r.cells_scanned, 2 * rows as u64 + 3);
        assert_eq!(r.findings.last().unwrap().column, "column 3");
    }
}
