//! A lab as data: the `lab.toml` schema and its validation.
//!
//! Everything a lab says (its steps, checks, messages and hints) lives in its
//! `lab.toml`; the check kinds themselves are implemented once in
//! [`super::checks`]. Unknown keys are errors so that a typo in a lab file is
//! caught by the tests rather than silently ignored.

use serde::{Deserialize, Serialize};

use crate::error::{toml_error, Error, Result};

/// One lab, as written in `labs/NN-slug/lab.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabSpec {
    /// Two-digit number, e.g. "01".
    pub id: String,
    /// Folder name, e.g. "01-data".
    pub slug: String,
    pub title: String,
    /// The infrastructure gap the lab addresses (one of the six in the guide).
    pub gap: String,
    pub duration_minutes: u32,
    pub objectives: Vec<String>,
    pub steps: Vec<String>,
    /// Hints in order, from a nudge to nearly the answer.
    pub hints: Vec<String>,
    /// The dataset `lab start` makes in the workspace, if the lab needs one.
    #[serde(default)]
    pub data: Option<DataSpec>,
    /// Values the checks compare against, computed for the learner's seed.
    #[serde(default)]
    pub expected: Vec<ExpectedSpec>,
    pub checks: Vec<CheckSpec>,
    /// Commands the reference solution runs before writing its files.
    #[serde(default)]
    pub solution: Vec<RunSpec>,
    /// Write the solution files that need no expected value before the
    /// commands run (a fixed map the re-ingest reads). Off by default: a
    /// lab whose steps first show the starter files failing needs them
    /// left as given until the commands are done.
    #[serde(default)]
    pub solution_files_first: bool,
    /// What the machine needs for this lab (`carelab doctor` checks it).
    #[serde(default)]
    pub requires: Requires,
    /// Ports the lab's servers listen on; on a shared machine each learner
    /// gets their own, printed on their seed slip (`workshop slips`).
    #[serde(default)]
    pub ports: Vec<PortSpec>,
}

/// A port a lab's server listens on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PortSpec {
    /// What listens there, e.g. "MLLP listener".
    pub name: String,
    /// The port the lab's texts use.
    pub default: u16,
}

/// What a lab needs from the machine.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requires {
    #[serde(default)]
    pub memory_gb: f64,
    #[serde(default)]
    pub disk_gb: f64,
    /// The lab needs a CUDA GPU (and a build with the `cuda` feature).
    #[serde(default)]
    pub cuda: bool,
}

/// How to make the learner's dataset: `carelab` arguments with `{seed}` and
/// `{data}` placeholders.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    pub args: Vec<String>,
    /// Folder inside the lab workspace that the dataset goes to.
    #[serde(default = "default_data_dir")]
    pub dir: String,
}

fn default_data_dir() -> String {
    "data".to_string()
}

/// A named value computed from the learner's workspace (their dataset or
/// their own outputs), referenced in checks as `{expected.NAME}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedSpec {
    pub name: String,
    pub description: String,
    pub value: ValueSource,
    /// Decimal places kept (the learner is asked for this precision).
    #[serde(default)]
    pub round: Option<u32>,
}

/// Where a value comes from, relative to the lab workspace.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case", deny_unknown_fields)]
pub enum ValueSource {
    /// A JSON file and an RFC 6901 pointer into it.
    Json { path: String, pointer: String },
    /// A TOML file and a dotted key.
    Toml { path: String, key: String },
    /// A statistic of a CSV column.
    CsvStat {
        path: String,
        column: String,
        stat: Stat,
    },
}

/// Statistics a check can take of a CSV column (empty cells are skipped).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Stat {
    Mean,
    Min,
    Max,
    Sum,
    /// Non-empty cells.
    Count,
    /// Empty cells.
    Missing,
}

/// A command a lab runs: `carelab` arguments, optionally capturing stdout.
/// Arguments may use `{expected.NAME}` values that earlier commands made.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    pub args: Vec<String>,
    #[serde(default)]
    pub stdout: Option<String>,
    /// The exit code that means success (`carelab monitor` exits 2 on an
    /// alert, which is what a drift lab wants to see).
    #[serde(default)]
    pub expect_exit: i32,
    /// Run beside the later steps (a listener the next step talks to): the
    /// next step starts once it has printed its first line on stderr, and
    /// it must exit by itself, successfully, after the last step.
    #[serde(default)]
    pub background: bool,
}

/// One check: an id, a title, what to tell the learner when it fails, and
/// what to inspect.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckSpec {
    pub id: String,
    pub title: String,
    /// What to do next when the check fails.
    pub fix: String,
    pub check: CheckKind,
}

/// The check kinds, implemented once in `checks.rs`. String fields accept
/// `{seed}` and `{expected.NAME}` placeholders.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum CheckKind {
    /// Data rows (lines after the header) of a CSV file.
    FileRows { path: String, expect: Compare },
    /// A statistic of a CSV column.
    CsvColumnStat {
        path: String,
        column: String,
        stat: Stat,
        expect: Compare,
    },
    /// A value in a JSON file.
    JsonValue {
        path: String,
        pointer: String,
        expect: Compare,
    },
    /// A value in a TOML file (the learner's answers).
    TomlValue {
        path: String,
        key: String,
        expect: Compare,
    },
    /// A field of a stage's `manifest.json` (dotted, e.g. `details.prevalence`).
    ManifestField {
        dir: String,
        field: String,
        expect: Compare,
    },
    /// A file contains every one of some strings and none of others.
    FileContains {
        path: String,
        #[serde(default)]
        contains: Vec<String>,
        #[serde(default)]
        not_contains: Vec<String>,
    },
    /// A `carelab` command exits as expected and prints what it should.
    Command {
        args: Vec<String>,
        #[serde(default)]
        expect_exit: i32,
        #[serde(default)]
        stdout_contains: Vec<String>,
    },
    /// Every row of a table the learner made agrees with the generator's
    /// truth: joined on its id, it carries the true code and the true
    /// value within `relative_tolerance` (the rounding of the source). A
    /// failure names what the rows really are (the truth's `label`, e.g.
    /// the analyte), never the true value.
    MatchesTruth {
        // Boxed: the other kinds are a fraction of this one's size.
        table: Box<TableFields>,
        truth: Box<TableFields>,
        relative_tolerance: f64,
        /// Records the pipeline set aside: one the truth holds that was
        /// set aside for a listed reason, though the generator did not make
        /// it bad (`made_bad`), was lost by a wrong map (a value a wrong
        /// factor pushed out of range is quarantined, not kept wrong).
        #[serde(default)]
        quarantine: Option<Box<QuarantineFields>>,
        #[serde(default)]
        made_bad: Option<Box<MadeBadFields>>,
    },
    /// The learner's SQL query (a file), run on a SQLite database, returns
    /// the rows of a table the pipeline made: joined on `key`, the same
    /// rows and the same `columns`. Named parameters the query uses
    /// (`:data_end`) are bound from `params`.
    SqlMatches {
        db: String,
        query: String,
        table: String,
        key: String,
        columns: Vec<String>,
        #[serde(default)]
        params: std::collections::BTreeMap<String, String>,
    },
    /// A live HTTP endpoint answers as required.
    Http {
        url: String,
        #[serde(default = "default_status")]
        expect_status: u16,
        #[serde(default)]
        body_contains: Vec<String>,
    },
}

/// Where a record's id, code and value are in a table: CSV column names,
/// or JSON pointers for an NDJSON file (one record a line). `label` names
/// the kind of record in a failure (read from the truth only).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableFields {
    pub path: String,
    pub key: String,
    pub code: String,
    pub value: String,
    #[serde(default)]
    pub label: Option<String>,
}

/// A quarantine file: the column with the reason, the reasons that judge
/// what a map made, and the column with the record as read (its first
/// comma-separated field is the record's id).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuarantineFields {
    pub path: String,
    pub reason: String,
    pub reasons: Vec<String>,
    pub record: String,
}

/// The generator's list of the records it made bad (CSV): the id column,
/// and the kinds of defect that make a record rightly set aside.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MadeBadFields {
    pub path: String,
    pub key: String,
    pub kind: String,
    pub kinds: Vec<String>,
}

fn default_status() -> u16 {
    200
}

/// How a found value is judged: equal to (numbers within `tolerance`), equal
/// to any one of several, at least `min`, at most `max`. Values are strings
/// so they can hold placeholders.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Compare {
    #[serde(default)]
    pub equals: Option<TomlScalar>,
    /// Equal to one of these: a measured figure that the learner's outputs
    /// hold more than once (a benchmark's median, slowest and fastest, in
    /// two sweeps), any of which is a right answer. Values that cannot be
    /// computed (an output not made) are passed over.
    #[serde(default)]
    pub any_of: Vec<TomlScalar>,
    #[serde(default)]
    pub min: Option<TomlScalar>,
    #[serde(default)]
    pub max: Option<TomlScalar>,
    #[serde(default)]
    pub tolerance: Option<f64>,
}

/// A scalar as written in lab.toml: a number, a boolean or a string (which
/// may hold placeholders); kept as text until rendered.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum TomlScalar {
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
}

impl TomlScalar {
    pub fn as_text(&self) -> String {
        match self {
            TomlScalar::Int(i) => i.to_string(),
            TomlScalar::Float(f) => f.to_string(),
            TomlScalar::Bool(b) => b.to_string(),
            TomlScalar::Text(s) => s.clone(),
        }
    }
}

/// What `lab show` gives a learner: the lab without what its checks want,
/// its hints (one at a time, recorded, through `lab hint`) or its solution.
#[derive(Debug, Clone, Serialize)]
pub struct LabOutline {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub gap: String,
    pub duration_minutes: u32,
    pub objectives: Vec<String>,
    pub steps: Vec<String>,
    /// How many hints `lab hint` has.
    pub hints: usize,
    /// Each check's id and title.
    pub checks: Vec<CheckOutline>,
    pub requires: Requires,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckOutline {
    pub id: String,
    pub title: String,
}

impl LabSpec {
    pub fn outline(&self) -> LabOutline {
        LabOutline {
            id: self.id.clone(),
            slug: self.slug.clone(),
            title: self.title.clone(),
            gap: self.gap.clone(),
            duration_minutes: self.duration_minutes,
            objectives: self.objectives.clone(),
            steps: self.steps.clone(),
            hints: self.hints.len(),
            checks: self
                .checks
                .iter()
                .map(|c| CheckOutline {
                    id: c.id.clone(),
                    title: c.title.clone(),
                })
                .collect(),
            requires: self.requires.clone(),
        }
    }

    /// Parse and validate a lab file; `origin` names it in errors.
    pub fn parse(origin: &str, text: &str) -> Result<LabSpec> {
        let spec: LabSpec = toml::from_str(text).map_err(|e| toml_error(origin, text, &e))?;
        spec.validate(origin)?;
        Ok(spec)
    }

    fn validate(&self, origin: &str) -> Result<()> {
        let bad = |key: &str, expected: &str, found: String| {
            Error::bad_input(origin, Some(format!("key {key}")), expected, found)
        };
        if self.id.len() != 2 || !self.id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("id", "two digits like \"01\"", self.id.clone()));
        }
        if !self.slug.starts_with(&format!("{}-", self.id)) {
            return Err(bad("slug", "the id, a dash and a name", self.slug.clone()));
        }
        if self.hints.len() < 3 {
            return Err(bad(
                "hints",
                "three graded hints or more",
                self.hints.len().to_string(),
            ));
        }
        if self.checks.is_empty() {
            return Err(bad("checks", "at least one check", "none".into()));
        }
        let mut ids: Vec<&str> = self.checks.iter().map(|c| c.id.as_str()).collect();
        ids.sort_unstable();
        if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(bad("checks.id", "unique check ids", w[0].to_string()));
        }
        // A quarantine is judged only against the list of records the
        // generator made bad: one without the other would judge nothing.
        for c in &self.checks {
            if let CheckKind::MatchesTruth {
                quarantine,
                made_bad,
                ..
            } = &c.check
            {
                if quarantine.is_some() != made_bad.is_some() {
                    return Err(bad(
                        "checks.check",
                        "quarantine and made_bad together (or neither)",
                        c.id.clone(),
                    ));
                }
            }
        }
        // Every {expected.X} a check uses must be defined.
        let names: Vec<&str> = self.expected.iter().map(|e| e.name.as_str()).collect();
        let text = serde_json::to_string(&self.checks).unwrap_or_default();
        for used in super::template::expected_names(&text) {
            if !names.contains(&used.as_str()) {
                return Err(bad(
                    "expected",
                    "a definition for every {expected.NAME} the checks use",
                    used,
                ));
            }
        }
        Ok(())
    }

    /// "01-data" -> the number 1.
    pub fn number(&self) -> u32 {
        self.id.parse().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
id = "07"
slug = "07-x"
title = "t"
gap = "g"
duration_minutes = 5
objectives = ["o"]
steps = ["s"]
hints = ["a", "b", "c"]

[[checks]]
id = "c"
title = "t"
fix = "f"
check = { kind = "file_rows", path = "a.csv", expect = { min = 1 } }
"#;

    #[test]
    fn parses_a_minimal_lab() {
        let spec = LabSpec::parse("lab.toml", MINIMAL).unwrap();
        assert_eq!(spec.number(), 7);
        assert!(matches!(spec.checks[0].check, CheckKind::FileRows { .. }));
    }

    #[test]
    fn unknown_keys_and_kinds_are_errors_naming_the_line() {
        let typo = MINIMAL.replace("expect = { min = 1 }", "expect = { minimum = 1 }");
        let e = LabSpec::parse("lab.toml", &typo).unwrap_err().to_string();
        assert!(
            e.contains("lab.toml (line 15)") && e.contains("minimum"),
            "{e}"
        );
        let kind = MINIMAL.replace("file_rows", "file_size");
        let e = LabSpec::parse("lab.toml", &kind).unwrap_err().to_string();
        assert!(e.contains("file_size"), "{e}");
    }

    #[test]
    fn validation_names_the_key() {
        let two_hints = MINIMAL.replace("[\"a\", \"b\", \"c\"]", "[\"a\", \"b\"]");
        let e = LabSpec::parse("lab.toml", &two_hints)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("key hints") && e.contains("three graded hints"),
            "{e}"
        );
        let undefined = MINIMAL.replace("min = 1", "min = \"{expected.n}\"");
        let e = LabSpec::parse("lab.toml", &undefined)
            .unwrap_err()
            .to_string();
        assert!(e.contains("key expected") && e.contains("found n"), "{e}");
    }
}
