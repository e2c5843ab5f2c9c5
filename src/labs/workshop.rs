//! Workshop tools: per-learner seeds, the instructor's answer key, and the
//! class report.
//!
//! A learner's seed is derived from the class seed and their id, so two
//! learners never share numbers and the instructor can always recompute them.
//! The answer key is made by the same code `lab check` uses (the lab's data
//! command, then `workspace::context` on the result), so key and check agree.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use rand::Rng as _;
use serde::{Deserialize, Serialize};

use crate::artifact::{read_json, write_atomic, write_json, Manifest};
use crate::error::{Error, IoContext, Result};

use super::catalog::Catalog;
use super::spec::CheckKind;
use super::workspace::{self, ProgressFile, SolvePolicy, PROGRESS_FILE};
use crate::formats::named_csv::NamedCsv;

/// One row of the roster.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Learner {
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// The seed the roster gives (`learners.csv` from `workshop new` has
    /// one); else it is derived from the class seed, if one is given.
    #[serde(default)]
    pub seed: Option<u64>,
    /// The workshop's `lab solve` rule for this learner's setup line
    /// (`learners.csv` from `workshop new --solve ...` has one).
    #[serde(default)]
    pub solve_policy: Option<SolvePolicy>,
}

impl Learner {
    /// The seed this learner should be using: the roster's, else the one
    /// derived from `class_seed`; `None` when neither is known.
    pub fn expected_seed(&self, class_seed: Option<u64>) -> Option<u64> {
        self.seed
            .or_else(|| class_seed.map(|s| learner_seed(s, &self.id)))
    }
}

/// A learner's seed: derived from the class seed and their id.
pub fn learner_seed(class_seed: u64, learner_id: &str) -> u64 {
    crate::rng::stream(class_seed, &format!("workshop-learner/{learner_id}"), 0)
        .random_range(1..1_000_000_000)
}

/// Read `roster.csv`: a header with an `id` column (letters, digits, `-`,
/// `_`, `.`; unique) and optionally `name` and `seed` (so the
/// `learners.csv` that `workshop new` writes is a roster too).
pub fn read_roster(path: &Path) -> Result<Vec<Learner>> {
    let mut csv = NamedCsv::open(path)?;
    let id_col = csv.column("id")?;
    let name_col = csv.optional("name");
    let seed_col = csv.optional("seed");
    let policy_col = csv.optional("solve_policy");
    let mut learners: Vec<Learner> = Vec::new();
    for record in csv.rows() {
        let record = record?;
        let id = record.get(id_col).to_string();
        let valid = !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !valid {
            return Err(record.bad(
                "id",
                "an id of letters, digits, '-', '_' or '.'",
                &format!("'{id}'"),
            ));
        }
        if learners.iter().any(|l| l.id == id) {
            return Err(record.bad("id", "a unique id", &format!("'{id}' again")));
        }
        let name = name_col.map(|c| record.get(c)).unwrap_or("").to_string();
        let seed = match seed_col.map(|c| record.get(c).trim()) {
            None | Some("") => None,
            Some(text) => Some(
                text.parse::<u64>()
                    .map_err(|_| record.bad("seed", "a whole number", &format!("'{text}'")))?,
            ),
        };
        let solve_policy = match policy_col.map(|c| record.get(c).trim()) {
            None | Some("") => None,
            Some(text) => Some(text.parse::<SolvePolicy>().map_err(|_| {
                record.bad(
                    "solve_policy",
                    "locked:HASH or catch-up:HASH (16 hex digits)",
                    &format!("'{text}'"),
                )
            })?),
        };
        learners.push(Learner {
            id,
            name,
            seed,
            solve_policy,
        });
    }
    if learners.is_empty() {
        return Err(Error::bad_input(
            path.display(),
            None,
            "at least one learner",
            "none",
        ));
    }
    Ok(learners)
}

/// The setup line a learner runs once (with the workshop's solve policy,
/// which the workspace then keeps).
pub fn setup_command(learner: &Learner, seed: u64) -> String {
    let policy = learner
        .solve_policy
        .as_ref()
        .map(|p| format!(" --solve-policy {p}"))
        .unwrap_or_default();
    format!(
        "carelab lab start 0 --seed {seed} --learner {} --workspace carelab-work{policy}",
        learner.id
    )
}

/// Who may use `lab solve` in a workshop (`workshop new --solve`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SolveRule {
    /// Everyone, recorded (the default).
    #[default]
    Open,
    /// Only with the instructor's key.
    Locked,
    /// `--catch-up` without the key; anything else with it.
    CatchUp,
}

/// How `workshop new` makes the workshop.
#[derive(Debug, Clone, Copy, Default)]
pub struct NewOptions {
    /// Generate each learner's datasets, so the key holds their values.
    pub with_data: bool,
    pub solve: SolveRule,
}

/// The instructor's key file that `workshop new` writes when solve is not open.
pub const INSTRUCTOR_KEY_FILE: &str = "instructor-key.txt";

/// The answer key: per learner, per lab, each expected value and what each
/// check compares against.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AnswerKey {
    pub class_seed: u64,
    pub learners: Vec<LearnerKey>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LearnerKey {
    pub id: String,
    pub name: String,
    pub seed: u64,
    pub setup: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solve_policy: Option<SolvePolicy>,
    /// By lab slug.
    pub labs: BTreeMap<String, LabKey>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct LabKey {
    /// Expected value by name, or "n/a: why" (e.g. it depends on the learner's machine).
    pub expected: BTreeMap<String, String>,
    /// What each comparing check wants, by check id (e.g. "= 0.153 ± 0.0015").
    pub checks: BTreeMap<String, String>,
}

/// What `workshop new` made.
#[derive(Debug, Clone, Serialize)]
pub struct NewWorkshop {
    pub out: PathBuf,
    pub learners: usize,
    pub files: Vec<String>,
}

/// Make a workshop in `out`: `learners.csv` (id, name, seed, setup command),
/// `answer-key.json` and `answer-key.md`, and `manifest.json` (and the
/// instructor's key when `solve` is not open). With `with_data`, each
/// learner's datasets are generated under `out/key-data/` so the key holds
/// their dataset-derived values.
pub fn new_workshop(
    roster: &Path,
    class_seed: u64,
    out: &Path,
    catalog: &Catalog,
    exe: &Path,
    opts: NewOptions,
    mut progress: impl FnMut(&str),
) -> Result<NewWorkshop> {
    let NewOptions { with_data, solve } = opts;
    let mut learners = read_roster(roster)?;
    fs::create_dir_all(out).at(out)?;
    // The key stays with the instructor; setup lines carry only its hash.
    // A key file already there (a roster re-run) is kept, so slips printed
    // before stay valid.
    let mut files = Vec::new();
    if solve != SolveRule::Open {
        let (key, _) = super::class_server::class_token(&out.join(INSTRUCTOR_KEY_FILE))?;
        let policy = SolvePolicy {
            catch_up: solve == SolveRule::CatchUp,
            key_hash: workspace::key_hash(&key),
        };
        for l in &mut learners {
            l.solve_policy = Some(policy.clone());
        }
        files.push(INSTRUCTOR_KEY_FILE.to_string());
    }
    let mut keys = Vec::new();
    for learner in &learners {
        progress(&learner.id);
        let seed = learner_seed(class_seed, &learner.id);
        let mut labs = BTreeMap::new();
        for lab in &catalog.labs {
            let dir = out.join("key-data").join(&learner.id).join(&lab.spec.slug);
            let mut data_problem = None;
            if let (Some(spec), true) = (&lab.spec.data, with_data) {
                fs::create_dir_all(&dir).at(&dir)?;
                if !dir.join(&spec.dir).join("manifest.json").exists() {
                    data_problem = workspace::generate(spec, &dir, seed, exe).err();
                }
            }
            let ctx = workspace::context(&lab.spec, &dir, seed);
            let mut key = LabKey::default();
            for e in &lab.spec.expected {
                let shown = match ctx.expected.get(&e.name) {
                    Some(Ok(v)) => v.clone(),
                    _ if lab.spec.data.is_some() && !with_data => {
                        "n/a: run without --no-data to compute".to_string()
                    }
                    _ => match &data_problem {
                        Some(p) => format!("n/a: {p}"),
                        None => "n/a: depends on the learner's own work or machine".to_string(),
                    },
                };
                key.expected.insert(e.name.clone(), shown);
            }
            for check in &lab.spec.checks {
                if let Some(want) = wanted(&check.check, &ctx) {
                    key.checks.insert(check.id.clone(), want);
                }
            }
            labs.insert(lab.spec.slug.clone(), key);
        }
        keys.push(LearnerKey {
            id: learner.id.clone(),
            name: learner.name.clone(),
            seed,
            setup: setup_command(learner, seed),
            solve_policy: learner.solve_policy.clone(),
            labs,
        });
    }
    let key = AnswerKey {
        class_seed,
        learners: keys,
    };
    let mut csv = String::from("id,name,seed,solve_policy,setup\n");
    for k in &key.learners {
        csv.push_str(&format!(
            "{},{},{},{},{}\n",
            k.id,
            csv_field(&k.name),
            k.seed,
            k.solve_policy
                .as_ref()
                .map(|p| p.to_string())
                .unwrap_or_default(),
            k.setup
        ));
    }
    write_atomic(out.join("learners.csv"), csv.as_bytes())?;
    write_json(out.join("answer-key.json"), &key)?;
    write_atomic(out.join("answer-key.md"), key_markdown(&key).as_bytes())?;
    let mut manifest = Manifest::new("workshop");
    manifest.seed = Some(class_seed);
    manifest
        .inputs
        .insert("roster".into(), crate::artifact::sha256_file(roster)?);
    manifest
        .counts
        .insert("learners".into(), key.learners.len() as u64);
    for f in ["learners.csv", "answer-key.json", "answer-key.md"] {
        manifest
            .files
            .insert(f.into(), crate::artifact::sha256_file(out.join(f))?);
    }
    manifest.write(out)?;
    files.extend(
        [
            "learners.csv",
            "answer-key.json",
            "answer-key.md",
            "manifest.json",
        ]
        .map(String::from),
    );
    Ok(NewWorkshop {
        out: out.to_path_buf(),
        learners: key.learners.len(),
        files,
    })
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// What a comparing check wants, rendered for this learner; None for checks
/// that do not compare a value (commands, HTTP, file contents).
fn wanted(kind: &CheckKind, ctx: &super::template::Context) -> Option<String> {
    let expect = match kind {
        CheckKind::FileRows { expect, .. }
        | CheckKind::CsvColumnStat { expect, .. }
        | CheckKind::JsonValue { expect, .. }
        | CheckKind::TomlValue { expect, .. }
        | CheckKind::ManifestField { expect, .. } => expect,
        _ => return None,
    };
    let show = |v: &super::spec::TomlScalar| {
        ctx.render(&v.as_text())
            .unwrap_or_else(|e| format!("n/a ({e})"))
    };
    let mut parts = Vec::new();
    if let Some(eq) = &expect.equals {
        let tol = expect
            .tolerance
            .map(|t| format!(" ± {}", super::values::format_number(t)))
            .unwrap_or_default();
        parts.push(format!("= {}{tol}", show(eq)));
    }
    if !expect.any_of.is_empty() {
        let tol = expect
            .tolerance
            .map(|t| format!(" ± {}", super::values::format_number(t)))
            .unwrap_or_default();
        let each: Vec<String> = expect.any_of.iter().map(show).collect();
        parts.push(format!("one of {}{tol}", each.join(" | ")));
    }
    if let Some(min) = &expect.min {
        parts.push(format!("≥ {}", show(min)));
    }
    if let Some(max) = &expect.max {
        parts.push(format!("≤ {}", show(max)));
    }
    Some(parts.join(", "))
}

fn key_markdown(key: &AnswerKey) -> String {
    let mut md = format!(
        "# Answer key\n\nClass seed {}. Keep this file away from learners.\n",
        key.class_seed
    );
    for l in &key.learners {
        md.push_str(&format!(
            "\n## {} {} (seed {})\n\nSetup: `{}`\n",
            l.id, l.name, l.seed, l.setup
        ));
        for (slug, lab) in &l.labs {
            md.push_str(&format!("\n### {slug}\n\n| check | wants |\n|---|---|\n"));
            for (id, want) in &lab.checks {
                md.push_str(&format!("| {id} | {} |\n", want.replace('|', "\\|")));
            }
        }
    }
    md
}

/// One learner's row in the class report.
#[derive(Debug, Clone, Serialize)]
pub struct LearnerRow {
    pub learner: String,
    pub seed: u64,
    /// Labs whose checks all passed on the learner's own work.
    pub completed: Vec<String>,
    /// Labs where `lab solve` applied the reference solution before the
    /// learner's own work passed (checked since or not): not their work.
    pub with_solution: Vec<String>,
    /// The started, not complete lab the learner touched last.
    pub current: Option<String>,
    /// Every failing check (`lab/check`) of every lab not complete, in lab
    /// order: a lab left failing is not hidden behind a later one.
    pub failing: Vec<String>,
    pub hints: usize,
    /// `lab help` requests, all labs.
    pub help: u32,
    pub minutes: f64,
    /// When the last lab completed on the learner's own work passed (Unix seconds).
    pub finished_at: Option<u64>,
}

/// The class report.
#[derive(Debug, Clone, Serialize)]
pub struct ClassReport {
    pub learners: Vec<LearnerRow>,
    /// (lab/check, learners failing it at their last check), most first.
    pub failing_checks: Vec<(String, usize)>,
    /// Per lab, in lab order.
    pub labs: Vec<LabRow>,
    /// Set by [`ClassReport::with_roster`]: what the roster says about who
    /// sent what.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roster: Option<RosterCheck>,
}

/// The class measured against its roster.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RosterCheck {
    /// Roster learners with no progress file.
    pub missing: Vec<Learner>,
    /// Learners whose progress uses another seed than the roster's (one
    /// who forgot `--seed` works on seed 42).
    pub seed_mismatches: Vec<SeedMismatch>,
    /// Progress files whose learner is not on the roster.
    pub not_on_roster: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SeedMismatch {
    pub learner: String,
    pub seed: u64,
    pub roster_seed: u64,
}

/// How far the class is with one lab.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LabRow {
    pub lab: String,
    pub started: usize,
    /// Complete on the learners' own work.
    pub completed: usize,
    /// Complete after `lab solve`.
    pub with_solution: usize,
    /// Of those, the ones a `lab solve --catch-up` made, to start the next lab.
    pub caught_up: usize,
}

/// One table of the report; the terminal, Markdown and HTML forms all
/// render the same list of these, so they hold the same tables.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// None for the learners' table, which comes first under the title.
    pub title: Option<&'static str>,
    pub head: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

/// Read progress files: each input is a `progress.json` (or any `--json`
/// copy of one), a workspace holding one, or a folder of such files or workspaces.
pub fn read_progress(inputs: &[PathBuf]) -> Result<Vec<(String, ProgressFile)>> {
    let mut found = Vec::new();
    for input in inputs {
        if input.is_file() {
            found.push(input.clone());
        } else if input.join(PROGRESS_FILE).is_file() {
            found.push(input.join(PROGRESS_FILE));
        } else if input.is_dir() {
            let mut entries: Vec<PathBuf> = fs::read_dir(input)
                .at(input)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            entries.sort();
            for p in entries {
                if p.is_dir() && p.join(PROGRESS_FILE).is_file() {
                    found.push(p.join(PROGRESS_FILE));
                } else if p.extension().and_then(|e| e.to_str()) == Some("json") {
                    found.push(p);
                }
            }
        } else {
            return Err(Error::io(
                input,
                std::io::Error::from(std::io::ErrorKind::NotFound),
            ));
        }
    }
    let mut out = Vec::new();
    for path in found {
        not_a_failed_progress_run(&path)?;
        let progress: ProgressFile = read_json(&path)?;
        let fallback = path
            .parent()
            .filter(|_| path.file_name().is_some_and(|n| n == PROGRESS_FILE))
            .and_then(|d| d.file_name())
            .or_else(|| path.file_stem())
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        let name = progress.learner.clone().unwrap_or(fallback);
        out.push((name, progress));
    }
    if out.is_empty() {
        return Err(Error::usage("no progress files found in the folders given"));
    }
    Ok(out)
}

/// A learner who ran `carelab lab progress --json > me.json` outside their
/// workspace sends an empty file or the error the command printed; say so,
/// rather than that the JSON lacks a field.
fn not_a_failed_progress_run(path: &Path) -> Result<()> {
    let text = fs::read_to_string(path).at(path)?;
    let what = if text.trim().is_empty() {
        "is empty".to_string()
    } else {
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(v) if v.get("seed").is_none() && v.get("error").is_some() => format!(
                "holds an error, not progress: {}",
                v["error"].as_str().unwrap_or_default()
            ),
            _ => return Ok(()),
        }
    };
    Err(Error::usage(format!(
        "{} {what}; the learner should run `carelab lab progress --json` again inside their workspace and send the new file",
        path.display()
    )))
}

/// Who is where, and which checks fail most.
pub fn class_report(catalog: &Catalog, learners: &[(String, ProgressFile)]) -> ClassReport {
    let mut rows = Vec::new();
    let mut failing: BTreeMap<String, usize> = BTreeMap::new();
    for (name, p) in learners {
        let mut completed = Vec::new();
        let mut with_solution = Vec::new();
        let mut current: Option<(u64, String)> = None;
        let mut failing_now = Vec::new();
        let (mut hints, mut help, mut minutes) = (0, 0, 0.0);
        let mut finished_at: Option<u64> = None;
        for lab in &catalog.labs {
            let Some(lp) = p.labs.get(&lab.spec.slug) else {
                continue;
            };
            hints += lp.hints_shown;
            help += lp.help_requests;
            minutes += lp.minutes_spent();
            if lp.used_solution() {
                // A catch-up is marked: the learner asked for it to go on.
                with_solution.push(if lp.caught_up() {
                    format!("{} (catch-up)", lab.spec.slug)
                } else {
                    lab.spec.slug.clone()
                });
                continue;
            }
            if lp.is_complete() {
                completed.push(lab.spec.slug.clone());
                finished_at = finished_at.max(lp.completed_at);
                continue;
            }
            if current
                .as_ref()
                .is_none_or(|(at, _)| lp.last_activity_at >= *at)
            {
                current = Some((lp.last_activity_at, lab.spec.slug.clone()));
            }
            // In the lab's order of checks, as `lab check` lists them.
            for check in &lab.spec.checks {
                if lp.last_results.get(&check.id) == Some(&false) {
                    let id = format!("{}/{}", lab.spec.slug, check.id);
                    *failing.entry(id.clone()).or_default() += 1;
                    failing_now.push(id);
                }
            }
        }
        rows.push(LearnerRow {
            learner: name.clone(),
            seed: p.seed,
            completed,
            with_solution,
            current: current.map(|c| c.1),
            failing: failing_now,
            hints,
            help,
            minutes: (minutes * 10.0).round() / 10.0,
            finished_at,
        });
    }
    rows.sort_by(|a, b| a.learner.cmp(&b.learner));
    let mut failing_checks: Vec<(String, usize)> = failing.into_iter().collect();
    failing_checks.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let labs = catalog
        .labs
        .iter()
        .map(|lab| {
            let progress: Vec<_> = learners
                .iter()
                .filter_map(|(_, p)| p.labs.get(&lab.spec.slug))
                .collect();
            let solved = progress.iter().filter(|l| l.used_solution()).count();
            let caught_up = progress.iter().filter(|l| l.caught_up()).count();
            let own = progress
                .iter()
                .filter(|l| l.is_complete() && !l.used_solution())
                .count();
            LabRow {
                lab: lab.spec.slug.clone(),
                started: progress.len(),
                completed: own,
                with_solution: solved,
                caught_up,
            }
        })
        .collect();
    ClassReport {
        learners: rows,
        failing_checks,
        labs,
        roster: None,
    }
}

impl ClassReport {
    /// Compare with the roster (read by [`read_roster`], as `workshop
    /// serve` reads it): who sent nothing, who works on another seed than
    /// the roster's (or than `class_seed` derives), and files from learners
    /// not on it.
    pub fn with_roster(mut self, roster: &[Learner], class_seed: Option<u64>) -> ClassReport {
        let missing = roster
            .iter()
            .filter(|l| !self.learners.iter().any(|r| r.learner == l.id))
            .cloned()
            .collect();
        let seed_mismatches = self
            .learners
            .iter()
            .filter_map(|r| {
                let l = roster.iter().find(|l| l.id == r.learner)?;
                let want = l.expected_seed(class_seed)?;
                (want != r.seed).then(|| SeedMismatch {
                    learner: r.learner.clone(),
                    seed: r.seed,
                    roster_seed: want,
                })
            })
            .collect();
        let not_on_roster = self
            .learners
            .iter()
            .filter(|r| !roster.iter().any(|l| l.id == r.learner))
            .map(|r| r.learner.clone())
            .collect();
        self.roster = Some(RosterCheck {
            missing,
            seed_mismatches,
            not_on_roster,
        });
        self
    }

    /// Every table of the report, in order.
    pub fn tables(&self) -> Vec<Table> {
        let list = |v: &[String]| {
            if v.is_empty() {
                "-".to_string()
            } else {
                v.join(" ")
            }
        };
        let mut tables = vec![Table {
            title: None,
            head: vec![
                "learner",
                "done",
                "with the solution",
                "working on",
                "failing checks",
                "hints",
                "help asked",
                "minutes",
            ],
            rows: self
                .learners
                .iter()
                .map(|r| {
                    vec![
                        r.learner.clone(),
                        r.completed.len().to_string(),
                        list(&r.with_solution),
                        r.current.clone().unwrap_or_else(|| "-".into()),
                        list(&r.failing),
                        r.hints.to_string(),
                        r.help.to_string(),
                        format!("{:.1}", r.minutes),
                    ]
                })
                .collect(),
        }];
        if let Some(roster) = &self.roster {
            tables.push(Table {
                title: Some("Missing: on the roster, no progress file"),
                head: vec!["learner", "name"],
                rows: roster
                    .missing
                    .iter()
                    .map(|l| vec![l.id.clone(), l.name.clone()])
                    .collect(),
            });
            tables.push(Table {
                title: Some("Seed mismatches"),
                head: vec!["learner", "seed used", "roster seed"],
                rows: roster
                    .seed_mismatches
                    .iter()
                    .map(|m| {
                        vec![
                            m.learner.clone(),
                            m.seed.to_string(),
                            m.roster_seed.to_string(),
                        ]
                    })
                    .collect(),
            });
            if !roster.not_on_roster.is_empty() {
                tables.push(Table {
                    title: Some("Not on the roster"),
                    head: vec!["learner"],
                    rows: roster
                        .not_on_roster
                        .iter()
                        .map(|l| vec![l.clone()])
                        .collect(),
                });
            }
        }
        tables.push(Table {
            title: Some("Labs"),
            head: vec![
                "lab",
                "started",
                "completed",
                "with the solution",
                "of them catch-up",
            ],
            rows: self
                .labs
                .iter()
                .map(|l| {
                    vec![
                        l.lab.clone(),
                        l.started.to_string(),
                        l.completed.to_string(),
                        l.with_solution.to_string(),
                        l.caught_up.to_string(),
                    ]
                })
                .collect(),
        });
        tables.push(Table {
            title: Some("Checks failing most"),
            head: vec!["check", "learners"],
            rows: self
                .failing_checks
                .iter()
                .map(|(c, n)| vec![c.clone(), n.to_string()])
                .collect(),
        });
        tables
    }

    /// Plain aligned tables for the terminal.
    pub fn to_terminal(&self) -> String {
        let mut t = String::new();
        for table in self.tables() {
            if let Some(title) = table.title {
                t.push_str(&format!("\n{title}:\n"));
            }
            if table.rows.is_empty() {
                t.push_str("  none\n");
                continue;
            }
            let mut widths: Vec<usize> = table.head.iter().map(|h| h.chars().count()).collect();
            for r in &table.rows {
                for (w, c) in widths.iter_mut().zip(r) {
                    *w = (*w).max(c.chars().count());
                }
            }
            let indent = if table.title.is_some() { "  " } else { "" };
            let line = |cells: Vec<String>| {
                let text = cells
                    .iter()
                    .zip(&widths)
                    .map(|(c, w)| format!("{c:<w$}"))
                    .collect::<Vec<_>>()
                    .join("  ");
                format!("{indent}{}\n", text.trim_end())
            };
            t.push_str(&line(table.head.iter().map(|s| s.to_string()).collect()));
            for r in table.rows {
                t.push_str(&line(r));
            }
        }
        t
    }

    pub fn to_markdown(&self) -> String {
        let cell = |s: &str| s.replace('|', "\\|");
        let mut md = String::from("# Class report\n");
        for table in self.tables() {
            if let Some(title) = table.title {
                md.push_str(&format!("\n## {title}\n"));
            }
            md.push_str(&format!(
                "\n| {} |\n|{}\n",
                table.head.join(" | "),
                "---|".repeat(table.head.len())
            ));
            for r in table.rows {
                let cells: Vec<String> = r.iter().map(|c| cell(c)).collect();
                md.push_str(&format!("| {} |\n", cells.join(" | ")));
            }
        }
        md
    }

    pub fn to_html(&self) -> String {
        let mut h = String::from(
            "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Class report</title>\n\
             <style>body{font-family:sans-serif}td,th{padding:4px 10px;border-bottom:1px solid #ccc;text-align:left}</style>\n\
             </head><body>\n<h1>Class report</h1>\n",
        );
        for table in self.tables() {
            if let Some(title) = table.title {
                h.push_str(&format!("<h2>{}</h2>\n", html_escape(title)));
            }
            h.push_str("<table>\n<tr>");
            for c in &table.head {
                h.push_str(&format!("<th>{}</th>", html_escape(c)));
            }
            h.push_str("</tr>\n");
            for r in &table.rows {
                h.push_str("<tr>");
                for c in r {
                    h.push_str(&format!("<td>{}</td>", html_escape(c)));
                }
                h.push_str("</tr>\n");
            }
            h.push_str("</table>\n");
        }
        h.push_str("</body></html>\n");
        h
    }
}

/// Text made safe for HTML (and SVG) element content and attribute values.
pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One learner's seed slip: what they type once, and where their lab
/// servers listen.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Slip {
    pub id: String,
    pub name: String,
    pub seed: u64,
    /// The setup line (`lab start 0 ...`), with the class view's variables
    /// in front when there is a class view.
    pub setup: String,
    /// `CARELAB_CLASS=... CARELAB_CLASS_TOKEN=...`, when there is a class view.
    pub class_env: Option<String>,
    pub ports: Vec<SlipPort>,
}

/// A lab's server port, moved to this learner's own.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SlipPort {
    pub lab: String,
    pub name: String,
    /// The port the lab's texts use.
    pub default: u16,
    /// This learner's port (for a machine shared by the class).
    pub port: u16,
}

/// The seed slips of a roster. Each learner gets a block of ports from
/// `port_base` (learner `i` in roster order: `port_base + i * block`, one
/// port a lab server, in lab order), so learners sharing a machine never
/// collide; a learner on their own machine may keep the labs' defaults.
pub fn seed_slips(
    roster: &[Learner],
    class_seed: Option<u64>,
    catalog: &Catalog,
    class: Option<(&str, &str)>,
    port_base: u16,
) -> Result<Vec<Slip>> {
    let servers: Vec<(String, super::spec::PortSpec)> = catalog
        .labs
        .iter()
        .flat_map(|l| {
            l.spec
                .ports
                .iter()
                .map(|p| (l.spec.slug.clone(), p.clone()))
        })
        .collect();
    // Round the block up to tens so a learner's ports are easy to read.
    let block = servers.len().div_ceil(10).max(1) * 10;
    let last = port_base as usize + roster.len() * block;
    if last > u16::MAX as usize {
        return Err(Error::usage(format!(
            "--port-base {port_base} leaves no room for {} learners with {block} ports each (the last would be {last}); choose a lower base",
            roster.len()
        )));
    }
    let class_env =
        class.map(|(url, token)| format!("CARELAB_CLASS={url} CARELAB_CLASS_TOKEN={token}"));
    roster
        .iter()
        .enumerate()
        .map(|(i, learner)| {
            let seed = learner.expected_seed(class_seed).ok_or_else(|| {
                Error::usage(format!(
                    "the roster gives learner {} no seed: pass the learners.csv that `workshop new` wrote, or --seed CLASS_SEED",
                    learner.id
                ))
            })?;
            let setup = match &class_env {
                Some(env) => format!("{env} {}", setup_command(learner, seed)),
                None => setup_command(learner, seed),
            };
            let ports = servers
                .iter()
                .enumerate()
                .map(|(j, (lab, p))| SlipPort {
                    lab: lab.clone(),
                    name: p.name.clone(),
                    default: p.default,
                    port: (port_base as usize + i * block + j) as u16,
                })
                .collect();
            Ok(Slip {
                id: learner.id.clone(),
                name: learner.name.clone(),
                seed,
                setup,
                class_env: class_env.clone(),
                ports,
            })
        })
        .collect()
}

/// All slips as one printable page, one slip a sheet.
pub fn slips_html(slips: &[Slip]) -> String {
    let mut h = String::from(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Seed slips</title>\n<style>\n\
         body{font-family:sans-serif;margin:0}\n\
         .slip{border:2px dashed #888;margin:1.5cm;padding:1cm;page-break-after:always;break-after:page}\n\
         .slip h1{margin-top:0}\n\
         code{background:#f1f3f5;padding:2px 4px;word-break:break-all}\n\
         td,th{text-align:left;padding:3px 10px 3px 0}\n\
         </style></head><body>\n",
    );
    for s in slips {
        h.push_str(&format!(
            "<section class=\"slip\" id=\"slip-{id}\">\n<h1>CareLab workshop: {who}</h1>\n\
             <table><tr><th>Your id</th><td><code>{id}</code></td></tr>\n\
             <tr><th>Your seed</th><td><code>{seed}</code></td></tr></table>\n\
             <h2>Once, at the start</h2>\n<p><code>{setup}</code></p>\n",
            id = html_escape(&s.id),
            who = html_escape(if s.name.is_empty() { &s.id } else { &s.name }),
            seed = s.seed,
            setup = html_escape(&s.setup),
        ));
        if let Some(env) = &s.class_env {
            h.push_str(&format!(
                "<h2>The class view</h2>\n<p>Your <code>lab check</code>, <code>hint</code>, <code>solve</code> and <code>help</code> tell the instructor's screen which checks pass (no data, no answers). <code>lab start</code> remembers it; in a new terminal before that, set:</p>\n<p><code>export {}</code></p>\n<p>Stuck? <code>carelab lab help N</code>.</p>\n",
                html_escape(env)
            ));
        }
        if !s.ports.is_empty() {
            h.push_str("<h2>Your ports (on a shared machine)</h2>\n<table><tr><th>lab</th><th>server</th><th>the lab says</th><th>you use</th></tr>\n");
            for p in &s.ports {
                h.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td><strong>{}</strong></td></tr>\n",
                    html_escape(&p.lab),
                    html_escape(&p.name),
                    p.default,
                    p.port
                ));
            }
            h.push_str("</table>\n");
        }
        h.push_str("</section>\n");
    }
    h.push_str("</body></html>\n");
    h
}

/// A completion certificate (SVG) for a learner with at least one lab
/// passed on their own work; labs passed with `lab solve` are not on it,
/// only counted. `None` when nothing was completed on their own work.
pub fn certificate_svg(
    row: &LearnerRow,
    name: &str,
    catalog: &Catalog,
    date: &str,
) -> Option<String> {
    if row.completed.is_empty() {
        return None;
    }
    let titles: Vec<String> = row
        .completed
        .iter()
        .map(|slug| {
            let title = catalog
                .labs
                .iter()
                .find(|l| &l.spec.slug == slug)
                .map(|l| l.spec.title.split(':').next().unwrap_or("").to_string())
                .unwrap_or_default();
            format!("{slug}  {title}")
        })
        .collect();
    let height = 330 + 26 * titles.len();
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"800\" height=\"{height}\" viewBox=\"0 0 800 {height}\" font-family=\"serif\">\n\
         <rect x=\"10\" y=\"10\" width=\"780\" height=\"{inner}\" fill=\"#fffdf5\" stroke=\"#7a5c1e\" stroke-width=\"4\"/>\n\
         <text x=\"400\" y=\"80\" text-anchor=\"middle\" font-size=\"34\">Certificate of completion</text>\n\
         <text x=\"400\" y=\"120\" text-anchor=\"middle\" font-size=\"18\">CareLab hands-on labs</text>\n\
         <text x=\"400\" y=\"175\" text-anchor=\"middle\" font-size=\"30\" font-weight=\"bold\">{who}</text>\n\
         <text x=\"400\" y=\"215\" text-anchor=\"middle\" font-size=\"16\">completed these labs, every check passing on their own work:</text>\n",
        inner = height - 20,
        who = html_escape(name),
    );
    for (i, t) in titles.iter().enumerate() {
        svg.push_str(&format!(
            "<text x=\"140\" y=\"{}\" font-size=\"17\">{}</text>\n",
            255 + 26 * i,
            html_escape(t)
        ));
    }
    let foot = 255 + 26 * titles.len() + 20;
    let extra = if row.with_solution.is_empty() {
        String::new()
    } else {
        format!(
            " · {} more with the reference solution",
            row.with_solution.len()
        )
    };
    svg.push_str(&format!(
        "<text x=\"400\" y=\"{foot}\" text-anchor=\"middle\" font-size=\"14\" fill=\"#555\">{} · seed {}{}</text>\n</svg>\n",
        html_escape(date),
        row.seed,
        html_escape(&extra)
    ));
    Some(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learner_seeds_are_stable_and_differ_per_learner() {
        assert_eq!(learner_seed(7, "ana"), learner_seed(7, "ana"));
        assert_ne!(learner_seed(7, "ana"), learner_seed(7, "ben"));
        assert_ne!(learner_seed(7, "ana"), learner_seed(8, "ana"));
    }

    #[test]
    fn roster_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.csv");
        fs::write(&p, "id,name\nana,Ana\nana,Again\n").unwrap();
        let e = read_roster(&p).unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("unique"), "{e}");
        fs::write(&p, "who\nana\n").unwrap();
        assert!(read_roster(&p)
            .unwrap_err()
            .to_string()
            .contains("column named id"));
        fs::write(&p, "id\nan a\n").unwrap();
        assert!(read_roster(&p).unwrap_err().to_string().contains("line 2"));
    }
}
