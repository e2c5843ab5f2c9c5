//! Labs that educators write: `carelab lab new` lays one out, and
//! `carelab lab verify` holds it to the standard the shipped labs meet in
//! the project's own tests (which call the same functions): its README's
//! commands parse, its hints and advice are there, every check fails on
//! the starter files and passes once the reference solution is applied.
//!
//! A scaffold is a lab that runs but does not yet teach: its texts say
//! `TODO` and one of its checks passes on the starter as given, so
//! `lab verify` reports both until the author has made it theirs.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::catalog::Lab;
use super::reference::{commands_in_markdown, unparsed};
use super::workspace::{CheckReport, Workspace};
use crate::artifact::write_atomic;
use crate::error::{Error, IoContext, Result};

/// What a scaffold's unfinished texts start with; `lab verify` reports any
/// left in lab.toml or the README. (The starter's answers file may use it
/// to tell the learner what to fill in, as the shipped labs' files do.)
pub const UNFINISHED: &str = "TODO:";

/// One problem with a lab: the file, where in it, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The file, relative to the lab folder (`lab.toml`, `README.md`).
    pub file: String,
    /// Where in it: a key (`checks.answer_seed`) or a line (`line 12`).
    pub field: String,
    pub problem: String,
}

impl Finding {
    fn new(file: &str, field: impl Into<String>, problem: impl Into<String>) -> Self {
        Finding {
            file: file.to_string(),
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// What `lab verify` found.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub lab: String,
    pub dir: PathBuf,
    pub seed: u64,
    /// `carelab` command lines in the README that were parsed.
    pub commands: usize,
    /// Checks that failed on the starter, of all checks.
    pub starter_failed: usize,
    /// Checks that passed after the reference solution.
    pub solution_passed: usize,
    pub checks: usize,
    /// Problems that make the lab unfit to teach with (exit 1).
    pub findings: Vec<Finding>,
    /// Checks that pass on the starter files: right for a check of the
    /// setup (the dataset `lab start` made is there), wrong for a check of
    /// the learner's work, which must fail until they have done it.
    pub warnings: Vec<Finding>,
}

impl Verification {
    pub fn ok(&self) -> bool {
        self.findings.is_empty()
    }

    pub fn to_text(&self) -> String {
        let mut t = format!(
            "{} ({}, seed {})\n  {} README command line(s) parse\n  starter: {}/{} checks fail\n  solution: {}/{} checks pass\n",
            self.lab,
            self.dir.display(),
            self.seed,
            self.commands,
            self.starter_failed,
            self.checks,
            self.solution_passed,
            self.checks
        );
        for (mark, list) in [("✘", &self.findings), ("!", &self.warnings)] {
            for f in list {
                t.push_str(&format!(
                    "  {mark} {}/{}: {}: {}\n",
                    self.dir.display(),
                    f.file,
                    f.field,
                    f.problem
                ));
            }
        }
        if self.ok() {
            t.push_str("\nThe lab is ready: copy its folder into your labs folder (CARELAB_LABS).");
        } else {
            t.push_str(&format!("\n{} problem(s) to fix", self.findings.len()));
        }
        t
    }
}

/// What can be judged from the lab's files alone: the texts a learner
/// depends on are there, and nothing the scaffold left unfinished remains.
pub fn static_findings(lab: &Lab) -> Vec<Finding> {
    let s = &lab.spec;
    let mut out = Vec::new();
    if s.duration_minutes == 0 {
        out.push(Finding::new(
            "lab.toml",
            "duration_minutes",
            "is 0: say how many minutes the lab takes (the agenda and `lab list` show it)",
        ));
    }
    for (key, list) in [("objectives", &s.objectives), ("steps", &s.steps)] {
        if list.iter().all(|t| t.trim().is_empty()) {
            out.push(Finding::new("lab.toml", key, "is empty"));
        }
    }
    for (i, hint) in s.hints.iter().enumerate() {
        if hint.trim().is_empty() {
            out.push(Finding::new(
                "lab.toml",
                format!("hints[{i}]"),
                "is empty: every hint must say something",
            ));
        }
    }
    for c in &s.checks {
        if c.fix.trim().is_empty() {
            out.push(Finding::new(
                "lab.toml",
                format!("checks.{}.fix", c.id),
                "is empty: a failed check must tell the learner what to do next",
            ));
        }
    }
    // `lab start 5` must mean one lab once this one joins the built-in ones.
    if let Ok(builtin) = super::Catalog::builtin() {
        let taken = builtin
            .labs
            .iter()
            .find(|l| l.spec.number() == s.number() && l.spec.slug != s.slug);
        if let Some(other) = taken {
            out.push(Finding::new(
                "lab.toml",
                "id",
                format!(
                    "{} is the number of the built-in lab {}: use one no lab has ({:02} and up are free), in id, slug and the folder's name",
                    s.id,
                    other.spec.slug,
                    builtin.next_free_number()
                ),
            ));
        }
    }
    if lab.starter.is_empty() {
        out.push(Finding::new(
            "starter/",
            "files",
            "none: `lab start` gives the learner nothing to work on",
        ));
    }
    if lab.solution.is_empty() && s.solution.is_empty() {
        out.push(Finding::new(
            "solution/",
            "files",
            "none, and lab.toml has no [[solution]] steps: `lab solve` and this verification cannot show the checks can pass",
        ));
    }
    // The scaffold's unfinished texts, where the learner would read them.
    let spec = serde_json::to_value(&lab.spec).unwrap_or_default();
    let mut left = Vec::new();
    unfinished(&spec, String::new(), &mut left);
    for (field, text) in left {
        out.push(Finding::new(
            "lab.toml",
            field,
            format!("unfinished: {text}"),
        ));
    }
    for (n, line) in lab.readme.lines().enumerate() {
        if line.contains(UNFINISHED) {
            out.push(Finding::new(
                "README.md",
                format!("line {}", n + 1),
                format!("unfinished: {}", line.trim()),
            ));
        }
    }
    out
}

/// Every string in `value` that holds [`UNFINISHED`], with its dotted key
/// (a check is named by its id: `checks.answers_file.title`).
fn unfinished(value: &serde_json::Value, path: String, out: &mut Vec<(String, String)>) {
    use serde_json::Value;
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::String(s) if s.contains(UNFINISHED) => out.push((path.clone(), s.clone())),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let key = match item.get("id").and_then(Value::as_str) {
                    Some(id) => join(id),
                    None => format!("{path}[{i}]"),
                };
                unfinished(item, key, out);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                unfinished(v, join(k), out);
            }
        }
        _ => {}
    }
}

/// The README's `carelab ...` command lines that `cli` refuses, as
/// findings; and how many lines there were.
pub fn readme_findings(lab: &Lab, cli: &clap::Command) -> (usize, Vec<Finding>) {
    let shown = commands_in_markdown("README.md", &lab.readme);
    let mut out: Vec<Finding> = unparsed(cli, &shown)
        .into_iter()
        .map(|f| {
            Finding::new(
                "README.md",
                format!("line {}", f.line),
                format!("`{}` does not parse: {}", f.command, f.error),
            )
        })
        .collect();
    let number = lab.spec.number();
    let checks_itself = shown.iter().any(|c| {
        c.words.get(1..4).is_some_and(|w| {
            w[0] == "lab"
                && w[1] == "check"
                && w[2].trim_start_matches('0') == number.to_string().trim_start_matches('0')
        })
    });
    if !checks_itself {
        out.push(Finding::new(
            "README.md",
            "steps",
            format!(
                "shows no `carelab lab check {number}` in a ```sh block: the learner must see how to check their work"
            ),
        ));
    }
    (shown.len(), out)
}

/// The check reports of a trial learner, from a workspace the lab has not
/// been started in: start it, check, apply the solution, check again, then
/// make every answer in answers.toml wrong and check once more.
pub struct Rehearsal {
    /// What `lab start` said of the dataset ("ready", "not needed", or why not).
    pub data: String,
    pub starter: CheckReport,
    pub solved: CheckReport,
    /// The solved work with wrong answers; `None` for a lab without an
    /// answers.toml.
    pub wrong: Option<CheckReport>,
}

pub fn rehearse(ws: &mut Workspace, lab: &Lab) -> Result<Rehearsal> {
    let data = ws.start(lab)?;
    let starter = ws.check(lab)?;
    ws.solve(lab, Default::default())?;
    let solved = ws.check(lab)?;
    let wrong = if write_wrong_answers(&ws.lab_dir(&lab.spec))? {
        Some(ws.check(lab)?)
    } else {
        None
    };
    Ok(Rehearsal {
        data,
        starter,
        solved,
        wrong,
    })
}

/// The learner's answers in `dir`/answers.toml made wrong, plausibly:
/// numbers moved, words changed, yes-or-no flipped. False when the lab
/// has no answers.toml.
pub fn write_wrong_answers(dir: &Path) -> Result<bool> {
    fn wrong(v: &mut toml::Value) {
        match v {
            toml::Value::Integer(i) => *i += 7,
            toml::Value::Float(f) => *f += 0.25,
            toml::Value::String(s) => s.push_str("-x"),
            toml::Value::Boolean(b) => *b = !*b,
            toml::Value::Array(items) => items.iter_mut().for_each(wrong),
            toml::Value::Table(t) => t.iter_mut().for_each(|(_, v)| wrong(v)),
            toml::Value::Datetime(_) => {}
        }
    }
    let file = dir.join("answers.toml");
    if !file.is_file() {
        return Ok(false);
    }
    let text = fs::read_to_string(&file).at(&file)?;
    let mut answers: toml::Value =
        toml::from_str(&text).map_err(|e| crate::error::toml_error(&file, &text, &e))?;
    wrong(&mut answers);
    let text = toml::to_string(&answers)
        .map_err(|e| Error::failure(format!("{}: {e}", file.display())))?;
    write_atomic(&file, text.as_bytes())?;
    Ok(true)
}

/// What a rehearsal shows: the dataset was made, the starter does not
/// pass, every check passes on the solution and wrong answers do not (the
/// problems); and which checks pass on the starter (the warnings, see
/// [`Verification::warnings`]).
pub fn rehearsal_findings(r: &Rehearsal) -> (Vec<Finding>, Vec<Finding>) {
    let mut out = Vec::new();
    if r.data != "ready" && r.data != "not needed" {
        out.push(Finding::new("lab.toml", "data.args", r.data.clone()));
    }
    if r.starter.complete {
        out.push(Finding::new(
            "starter/",
            "checks",
            "the starter files pass every check: the lab is done before the learner begins",
        ));
    }
    let warnings = r
        .starter
        .checks
        .iter()
        .filter(|c| c.passed)
        .map(|c| {
            Finding::new(
                "lab.toml",
                format!("checks.{}", c.id),
                "passes on the starter files: it cannot tell the learner's work from where they began (fine for a check of the setup; point a check of the work at what the learner makes)",
            )
        })
        .collect();
    if r.wrong.as_ref().is_some_and(|w| w.complete) {
        out.push(Finding::new(
            "lab.toml",
            "checks",
            "the solved lab still passes with every answer in answers.toml changed: its answer checks accept anything",
        ));
    }
    for result in r.solved.checks.iter().filter(|c| !c.passed) {
        out.push(Finding::new(
            "lab.toml",
            format!("checks.{}", result.id),
            format!(
                "fails after the reference solution (solution/ and [[solution]]): {}",
                result.detail
            ),
        ));
    }
    (out, warnings)
}

/// Verify the lab in `dir` with the CLI `cli` and the executable `exe`
/// (which the checks and the solution's steps run), in a throwaway
/// workspace under the system's temporary folder, for `seed`.
pub fn verify(dir: &Path, cli: &clap::Command, exe: &Path, seed: u64) -> Result<Verification> {
    let lab = super::Catalog::lab_from_dir(dir)?;
    let mut findings = static_findings(&lab);
    let (commands, readme) = readme_findings(&lab, cli);
    findings.extend(readme);
    let scratch = Scratch::new()?;
    let mut ws = Workspace::open(&scratch.0, Some(seed), None, exe)?;
    let rehearsal = rehearse(&mut ws, &lab).map_err(|e| {
        Error::failure(format!(
            "{}: the reference solution could not be applied: {e}",
            dir.display()
        ))
    })?;
    let (problems, warnings) = rehearsal_findings(&rehearsal);
    findings.extend(problems);
    Ok(Verification {
        lab: lab.spec.slug.clone(),
        dir: dir.to_path_buf(),
        seed,
        commands,
        starter_failed: rehearsal
            .starter
            .checks
            .iter()
            .filter(|c| !c.passed)
            .count(),
        solution_passed: rehearsal.solved.passed,
        checks: lab.spec.checks.len(),
        findings,
        warnings,
    })
}

/// A temporary folder, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir =
            std::env::temp_dir().join(format!("carelab-verify-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&dir).at(&dir)?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A lab's folder name from what the author typed: `no-phi-export` or
/// `12-no-phi-export`; lower case letters, digits and dashes. The number
/// is `free` when none is given.
pub fn slug_for(name: &str, free: u32) -> Result<(String, String)> {
    let bad = |why: &str| {
        Error::bad_input(
            "lab new",
            Some("NAME".to_string()),
            format!("a name like no-phi-export or 12-no-phi-export ({why})"),
            name,
        )
    };
    let lower = name.trim().to_lowercase();
    let (id, rest) = match lower.split_once('-') {
        Some((n, rest)) if n.len() == 2 && n.bytes().all(|b| b.is_ascii_digit()) => {
            (n.to_string(), rest.to_string())
        }
        _ => {
            if free > 99 {
                return Err(bad("no two-digit number is free: give one"));
            }
            (format!("{free:02}"), lower.clone())
        }
    };
    if rest.is_empty()
        || rest.starts_with('-')
        || rest.ends_with('-')
        || !rest
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(bad("letters, digits and single dashes"));
    }
    Ok((id.clone(), format!("{id}-{rest}")))
}

/// Lay out a new lab in `parent/<slug>/`; never over an existing folder.
/// The scaffold runs (`lab start`, `lab check`, `lab solve` work on it)
/// but `lab verify` reports its unfinished texts and the check that
/// passes on the starter until the author replaces them.
pub fn scaffold(parent: &Path, id: &str, slug: &str) -> Result<PathBuf> {
    let dir = parent.join(slug);
    if dir.exists() {
        return Err(Error::usage(format!(
            "{} already exists; `lab new` does not write over a lab",
            dir.display()
        )));
    }
    let number: u32 = id.parse().unwrap_or(0);
    let fill = |text: &str| {
        text.replace("@ID@", id)
            .replace("@SLUG@", slug)
            .replace("@N@", &number.to_string())
    };
    for (rel, text) in SCAFFOLD {
        write_atomic(dir.join(rel), fill(text).as_bytes())?;
    }
    Ok(dir)
}

/// The scaffold's files. `@ID@`, `@SLUG@` and `@N@` are filled in; the
/// `{seed}`, `{data}` and `{expected.NAME}` placeholders are the lab
/// runner's, left for it.
const SCAFFOLD: &[(&str, &str)] = &[
    ("lab.toml", include_str!("scaffold/lab.toml")),
    ("README.md", include_str!("scaffold/README.md")),
    (
        "starter/answers.toml",
        include_str!("scaffold/starter-answers.toml"),
    ),
    (
        "solution/answers.toml",
        include_str!("scaffold/solution-answers.toml"),
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_slugs_with_a_free_number_unless_one_is_given() {
        assert_eq!(
            slug_for("No-PHI-export", 12).unwrap(),
            ("12".to_string(), "12-no-phi-export".to_string())
        );
        assert_eq!(
            slug_for("20-no-phi-export", 12).unwrap(),
            ("20".to_string(), "20-no-phi-export".to_string())
        );
        let e = slug_for("no phi", 12).unwrap_err().to_string();
        assert!(e.contains("NAME") && e.contains("found no phi"), "{e}");
        assert!(slug_for("12-", 12).is_err());
    }

    fn report(passed: &[bool]) -> CheckReport {
        let checks: Vec<super::super::CheckResult> = passed
            .iter()
            .enumerate()
            .map(|(i, &p)| super::super::CheckResult {
                id: format!("c{i}"),
                title: "t".into(),
                passed: p,
                detail: "d".into(),
                fix: String::new(),
            })
            .collect();
        CheckReport {
            lab: "20-x".into(),
            seed: 1,
            passed: passed.iter().filter(|p| **p).count(),
            total: passed.len(),
            complete: passed.iter().all(|p| *p),
            checks,
        }
    }

    #[test]
    fn a_rehearsal_judges_starter_solution_and_wrong_answers() {
        let good = Rehearsal {
            data: "ready".into(),
            starter: report(&[true, false]),
            solved: report(&[true, true]),
            wrong: Some(report(&[true, false])),
        };
        let (problems, warnings) = rehearsal_findings(&good);
        assert!(problems.is_empty(), "{problems:#?}");
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].field, "checks.c0");
        let bad = Rehearsal {
            data: "this lab needs a dataset and `carelab data generate` failed".into(),
            starter: report(&[true, true]),
            solved: report(&[true, false]),
            wrong: Some(report(&[true, true])),
        };
        let (problems, _) = rehearsal_findings(&bad);
        let fields: Vec<(&str, &str)> = problems
            .iter()
            .map(|f| (f.file.as_str(), f.field.as_str()))
            .collect();
        assert_eq!(
            fields,
            vec![
                ("lab.toml", "data.args"),
                ("starter/", "checks"),
                ("lab.toml", "checks"),
                ("lab.toml", "checks.c1"),
            ]
        );
    }

    #[test]
    fn the_scaffold_parses_and_its_unfinished_texts_are_reported() {
        let dir = std::env::temp_dir().join(format!("carelab-scaffold-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let made = scaffold(&dir, "12", "12-no-phi-export").unwrap();
        let lab = super::super::Catalog::lab_from_dir(&made).unwrap();
        assert_eq!(lab.spec.slug, "12-no-phi-export");
        let found = static_findings(&lab);
        assert!(
            found
                .iter()
                .any(|f| f.file == "lab.toml" && f.field == "title"),
            "{found:#?}"
        );
        assert!(
            found
                .iter()
                .any(|f| f.file == "README.md" && f.field.starts_with("line ")),
            "{found:#?}"
        );
        assert!(
            scaffold(&dir, "12", "12-no-phi-export").is_err(),
            "no overwrite"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
