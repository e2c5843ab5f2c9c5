//! A learner's workspace: one folder a lab with the starter files and the
//! learner's own dataset, and `progress.json` recording what they did.
//!
//! The seed is fixed when the workspace is first used and stored in the
//! progress file, so every later command (and the check) uses the same
//! numbers even without `--seed`; a different seed on a later command is an
//! error rather than a silent switch to someone else's dataset.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::artifact::{read_json, write_atomic, write_json};
use crate::error::{Error, IoContext, Result};

use super::catalog::Lab;
use super::checks::{self, CheckResult};
use super::spec::{LabSpec, ValueSource};
use super::template::Context;
use super::values;

/// The progress file's name inside the workspace.
pub const PROGRESS_FILE: &str = "progress.json";
/// The seed used when none is given anywhere.
pub const DEFAULT_SEED: u64 = 42;

/// Everything recorded about one learner (the file `progress.json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct ProgressFile {
    pub seed: u64,
    /// The learner's id from the workshop roster, if any.
    #[serde(default)]
    pub learner: Option<String>,
    /// By lab slug.
    #[serde(default)]
    pub labs: BTreeMap<String, LabProgress>,
    /// The workshop's rule for `lab solve` (from the setup line on the
    /// seed slip); none: `lab solve` is open, and recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solve_policy: Option<SolvePolicy>,
}

/// How a workshop lets `lab solve` be used. The instructor's key itself
/// never reaches the learner's machine, only a hash of it, so only the
/// instructor (at the learner's keyboard, or reading it out) unlocks it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SolvePolicy {
    /// `lab solve N --catch-up` works without the key (the instructor
    /// allows catching up, so the next lab can start).
    pub catch_up: bool,
    /// [`key_hash`] of the instructor's key.
    pub key_hash: String,
}

/// What `--solve-policy` holds: `locked:HASH` or `catch-up:HASH`.
impl std::str::FromStr for SolvePolicy {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        let bad = || {
            Error::usage(format!(
                "--solve-policy: expected `locked:HASH` or `catch-up:HASH` (HASH: 16 hex digits, as on the seed slip), found '{text}'"
            ))
        };
        let (mode, hash) = text.split_once(':').ok_or_else(bad)?;
        let catch_up = match mode {
            "locked" => false,
            "catch-up" => true,
            _ => return Err(bad()),
        };
        if hash.len() != 16 || !hash.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad());
        }
        Ok(SolvePolicy {
            catch_up,
            key_hash: hash.to_ascii_lowercase(),
        })
    }
}

impl std::fmt::Display for SolvePolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = if self.catch_up { "catch-up" } else { "locked" };
        write!(f, "{mode}:{}", self.key_hash)
    }
}

/// The hash of an instructor's key that a setup line carries: the first
/// 16 hex digits of its SHA-256 (short enough to type from a slip).
pub fn key_hash(key: &str) -> String {
    crate::artifact::sha256_hex(key.trim().as_bytes())[..16].to_string()
}

/// How a learner asks for the solution.
#[derive(Debug, Clone, Copy, Default)]
pub struct SolveRequest<'a> {
    /// `--catch-up`: to start the next lab, recorded as a catch-up.
    pub catch_up: bool,
    /// `--key`: the instructor's key.
    pub key: Option<&'a str>,
}

/// What happened in one lab.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct LabProgress {
    /// Unix seconds.
    pub started_at: u64,
    /// Unix seconds of the last start, check, hint or reset.
    pub last_activity_at: u64,
    /// The first time every check passed.
    #[serde(default)]
    pub completed_at: Option<u64>,
    pub hints_shown: usize,
    pub check_runs: u32,
    /// Results of the last check run, by check id: passed or not.
    #[serde(default)]
    pub last_results: BTreeMap<String, bool>,
    /// The reference solution was applied (`lab solve`) at some time.
    /// `lab reset` does not clear it: the learner has seen the answers.
    #[serde(default)]
    pub solved_with_solution: bool,
    /// Unix seconds of the first `lab solve` (none in progress files from
    /// before this was recorded).
    #[serde(default)]
    pub solution_applied_at: Option<u64>,
    /// "ready", "not needed" or why the dataset is missing.
    #[serde(default)]
    pub data: String,
    /// Times `lab help` ("I am stuck") was run in this lab.
    #[serde(default)]
    pub help_requests: u32,
    /// Unix seconds of the first `lab solve --catch-up`: the solution was
    /// applied so the learner could go on to the next lab.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caught_up_at: Option<u64>,
}

impl LabProgress {
    pub fn is_complete(&self) -> bool {
        self.completed_at.is_some()
    }

    /// Complete, with the reference solution applied before (or in the
    /// same second as) every check first passed: the checks passed on the
    /// solution's work, not the learner's. A solution looked at after
    /// finishing does not count.
    pub fn passed_with_solution(&self) -> bool {
        match (self.completed_at, self.solution_applied_at) {
            (Some(done), Some(solved)) => solved <= done,
            // An older progress file said only that the solution was used.
            (Some(_), None) => self.solved_with_solution,
            (None, _) => false,
        }
    }

    /// The lab is the solution's work, checked or not: it passed with the
    /// solution, or `lab solve` ran and nothing passed yet (a learner who
    /// solves and never checks has still used it).
    pub fn used_solution(&self) -> bool {
        self.passed_with_solution() || (self.solution_applied_at.is_some() && !self.is_complete())
    }

    /// "not started" is never a LabProgress; this is "started", "complete",
    /// "complete with the solution" or "solution applied, not checked".
    pub fn status(&self) -> &'static str {
        if self.caught_up() {
            "caught up with the solution"
        } else if self.passed_with_solution() {
            "complete with the solution"
        } else if self.used_solution() {
            "solution applied, not checked"
        } else if self.is_complete() {
            "complete"
        } else {
            "started"
        }
    }

    /// `lab solve --catch-up` applied the solution and it is the
    /// solution's work (see [`Self::used_solution`]).
    pub fn caught_up(&self) -> bool {
        self.caught_up_at.is_some() && self.used_solution()
    }

    /// Minutes between starting and finishing (or the last activity).
    pub fn minutes_spent(&self) -> f64 {
        let end = self.completed_at.unwrap_or(self.last_activity_at);
        end.saturating_sub(self.started_at) as f64 / 60.0
    }
}

/// The result of `lab check`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckReport {
    pub lab: String,
    pub seed: u64,
    pub passed: usize,
    pub total: usize,
    pub complete: bool,
    pub checks: Vec<CheckResult>,
}

impl CheckReport {
    /// What `lab check` prints: each check with its detail and, when it
    /// failed, what to do. Made only of [`CheckResult`]s, whose details
    /// never hold an expected value (see [`checks::describe`]).
    pub fn to_text(&self, lab_number: u32) -> String {
        let mut t = format!("{} (seed {})\n", self.lab, self.seed);
        for c in &self.checks {
            let mark = if c.passed { "✔" } else { "✘" };
            t.push_str(&format!("  {mark} {}\n      {}\n", c.title, c.detail));
            if !c.passed {
                t.push_str(&format!("      → {}\n", c.fix));
            }
        }
        t.push_str(&format!("\n{}/{} checks pass", self.passed, self.total));
        if self.complete {
            t.push_str(" — lab complete!");
        } else {
            t.push_str(&format!("; stuck? carelab lab hint {lab_number}"));
        }
        t
    }
}

/// A learner's workspace folder and its progress file.
pub struct Workspace {
    pub root: PathBuf,
    pub progress: ProgressFile,
    /// The `carelab` executable that data generation and `command` checks run.
    pub exe: PathBuf,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The workspace folder when none is named: the nearest folder at or above
/// `cwd` that holds `progress.json` or a `carelab-work/progress.json`, so
/// commands work from inside a lab's folder; else `carelab-work` in `cwd`.
pub fn discover(cwd: &Path) -> PathBuf {
    for dir in cwd.ancestors() {
        if dir.join(PROGRESS_FILE).is_file() {
            return dir.to_path_buf();
        }
        let nested = dir.join(DEFAULT_DIR);
        if nested.join(PROGRESS_FILE).is_file() {
            return nested;
        }
    }
    cwd.join(DEFAULT_DIR)
}

/// The way from folder `from` to folder `to`, as a learner types it after
/// `cd` (`../01-data` from the lab before; `carelab-work/01-data` from where
/// the workspace was made). Both are made absolute and free of `..` first,
/// so the answer holds whatever `--workspace` looked like.
pub fn relative_path(from: &Path, to: &Path) -> PathBuf {
    let absolute = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let (from, to) = (absolute(from), absolute(to));
    let common = from
        .components()
        .zip(to.components())
        .take_while(|(a, b)| a == b)
        .count();
    let mut path: PathBuf = from.components().skip(common).map(|_| "..").collect();
    path.extend(to.components().skip(common));
    if path.as_os_str().is_empty() {
        path.push(".");
    }
    path
}

/// The workspace's folder name when none is given.
pub const DEFAULT_DIR: &str = "carelab-work";

impl Workspace {
    /// Open (without creating) the workspace at `root`. `seed` and `learner`
    /// come from flags or the environment; they must agree with what the
    /// workspace recorded.
    pub fn open(
        root: &Path,
        seed: Option<u64>,
        learner: Option<String>,
        exe: &Path,
    ) -> Result<Self> {
        let file = root.join(PROGRESS_FILE);
        let mut progress = if file.exists() {
            read_json::<ProgressFile>(&file)?
        } else {
            ProgressFile {
                seed: seed.unwrap_or(DEFAULT_SEED),
                learner: learner.clone(),
                labs: BTreeMap::new(),
                solve_policy: None,
            }
        };
        if let Some(s) = seed.filter(|s| *s != progress.seed) {
            return Err(Error::usage(format!(
                "the workspace {} uses seed {}, not {s}; use another --workspace for another seed",
                root.display(),
                progress.seed
            )));
        }
        if progress.learner.is_none() {
            progress.learner = learner;
        }
        Ok(Workspace {
            root: root.to_path_buf(),
            progress,
            exe: exe.to_path_buf(),
        })
    }

    pub fn lab_dir(&self, lab: &LabSpec) -> PathBuf {
        self.root.join(&lab.slug)
    }

    fn save(&self) -> Result<()> {
        write_json(self.root.join(PROGRESS_FILE), &self.progress)
    }

    fn entry(&mut self, lab: &LabSpec) -> Result<&mut LabProgress> {
        self.progress.labs.get_mut(&lab.slug).ok_or_else(|| {
            Error::usage(format!(
                "lab {} is not started in {}; run `carelab lab start {}` first",
                lab.slug,
                self.root.display(),
                lab.number()
            ))
        })
    }

    /// Create the lab's folder with the starter files (keeping any the
    /// learner already changed) and their dataset. Returns the data status.
    pub fn start(&mut self, lab: &Lab) -> Result<String> {
        let dir = self.lab_dir(&lab.spec);
        fs::create_dir_all(&dir).at(&dir)?;
        for (rel, text) in &lab.starter {
            let path = dir.join(rel);
            if !path.exists() {
                write_atomic(&path, text.as_bytes())?;
            }
        }
        let data = self.make_data(&lab.spec, &dir);
        let t = now();
        let entry = self.progress.labs.entry(lab.spec.slug.clone()).or_default();
        if entry.started_at == 0 {
            entry.started_at = t;
        }
        entry.last_activity_at = t;
        entry.data = data.clone();
        self.save()?;
        Ok(data)
    }

    /// Generate the learner's dataset if the lab needs one and it is not
    /// there yet: "ready", "not needed", or why it could not be made.
    fn make_data(&self, lab: &LabSpec, dir: &Path) -> String {
        let Some(spec) = &lab.data else {
            return "not needed".to_string();
        };
        if dir.join(&spec.dir).join("manifest.json").exists() {
            return "ready".to_string();
        }
        match generate(spec, dir, self.progress.seed, &self.exe) {
            Ok(()) => "ready".to_string(),
            Err(why) => why,
        }
    }

    /// Run every check of the lab and record the results.
    pub fn check(&mut self, lab: &Lab) -> Result<CheckReport> {
        self.entry(&lab.spec)?;
        let dir = self.lab_dir(&lab.spec);
        let ctx = context(&lab.spec, &dir, self.progress.seed);
        let env = checks::Env {
            lab_dir: &dir,
            exe: &self.exe,
            ctx: &ctx,
        };
        let results: Vec<CheckResult> = lab
            .spec
            .checks
            .iter()
            .map(|c| checks::run(c, &env))
            .collect();
        let passed = results.iter().filter(|r| r.passed).count();
        let complete = passed == results.len();
        let t = now();
        let entry = self.entry(&lab.spec)?;
        entry.check_runs += 1;
        entry.last_activity_at = t;
        entry.last_results = results.iter().map(|r| (r.id.clone(), r.passed)).collect();
        if complete && entry.completed_at.is_none() {
            entry.completed_at = Some(t);
        }
        self.save()?;
        Ok(CheckReport {
            lab: lab.spec.slug.clone(),
            seed: self.progress.seed,
            passed,
            total: results.len(),
            complete,
            checks: results,
        })
    }

    /// The next hint (1-based number, text), recorded; after the last one,
    /// the last one again.
    pub fn hint(&mut self, lab: &Lab) -> Result<(usize, String)> {
        let total = lab.spec.hints.len();
        let entry = self.entry(&lab.spec)?;
        let n = (entry.hints_shown + 1).min(total);
        entry.hints_shown = n;
        entry.last_activity_at = now();
        let text = lab
            .spec
            .hints
            .get(n.saturating_sub(1))
            .cloned()
            .unwrap_or_default();
        self.save()?;
        Ok((n, text))
    }

    /// Record a help request ("I am stuck"); returns how many this lab has had.
    pub fn help(&mut self, lab: &Lab) -> Result<u32> {
        let entry = self.entry(&lab.spec)?;
        entry.help_requests += 1;
        entry.last_activity_at = now();
        let n = entry.help_requests;
        self.save()?;
        Ok(n)
    }

    /// Put the starter files back: everything in the lab folder except the
    /// dataset is removed and the starter copied in again.
    pub fn reset(&mut self, lab: &Lab) -> Result<()> {
        self.entry(&lab.spec)?;
        let dir = self.lab_dir(&lab.spec);
        let keep = lab.spec.data.as_ref().map(|d| d.dir.clone());
        for entry in fs::read_dir(&dir).at(&dir)? {
            let entry = entry.at(&dir)?;
            if Some(entry.file_name().to_string_lossy().to_string()) == keep {
                continue;
            }
            let path = entry.path();
            if entry.file_type().at(&path)?.is_dir() {
                fs::remove_dir_all(&path).at(&path)?;
            } else {
                fs::remove_file(&path).at(&path)?;
            }
        }
        for (rel, text) in &lab.starter {
            write_atomic(dir.join(rel), text.as_bytes())?;
        }
        let entry = self.entry(&lab.spec)?;
        entry.last_results.clear();
        entry.completed_at = None;
        entry.last_activity_at = now();
        self.save()
    }

    /// Fix the workshop's solve policy (the setup line's
    /// `--solve-policy`). It is set once: a different one later is an
    /// error, as a different seed is.
    pub fn set_solve_policy(&mut self, policy: Option<SolvePolicy>) -> Result<()> {
        let Some(policy) = policy else { return Ok(()) };
        match &self.progress.solve_policy {
            Some(old) if *old != policy => Err(Error::usage(format!(
                "the workspace {} already has solve policy {old}, not {policy}; it is fixed at the first `lab start`",
                self.root.display()
            ))),
            Some(_) => Ok(()),
            None => {
                self.progress.solve_policy = Some(policy);
                Ok(())
            }
        }
    }

    /// Whether the workshop's policy lets this request apply the solution
    /// of lab `number`: with no policy, always; with the instructor's key,
    /// always; `--catch-up` where the instructor allowed catching up.
    /// Otherwise an error that says what the learner can do.
    pub fn may_solve(&self, number: u32, req: SolveRequest) -> Result<()> {
        let Some(policy) = &self.progress.solve_policy else {
            return Ok(());
        };
        if let Some(key) = req.key {
            if key_hash(key) == policy.key_hash {
                return Ok(());
            }
            return Err(Error::usage(
                "--key is not this workshop's instructor key; nothing was changed",
            ));
        }
        if req.catch_up && policy.catch_up {
            return Ok(());
        }
        let next = number + 1;
        Err(Error::usage(if policy.catch_up {
            format!(
                "`lab solve` is locked in this workshop: the checks judge your own work. \
                 `carelab lab hint {number}` gives the next hint and `carelab lab help {number}` tells your instructor you are stuck. \
                 If you are out of time, `carelab lab solve {number} --catch-up` writes the solution so lab {next} can start \
                 (your instructor's report shows the lab as caught up)."
            )
        } else {
            format!(
                "`lab solve` is locked in this workshop: the checks judge your own work. \
                 `carelab lab hint {number}` gives the next hint and `carelab lab help {number}` tells your instructor you are stuck; \
                 your instructor can unlock it with their key (`--key`)."
            )
        }))
    }

    /// Apply the reference solution for this learner's seed: run its
    /// commands, then write its files with the expected values filled in.
    /// Refused where the workshop's solve policy does not allow the request
    /// ([`Self::may_solve`]); a catch-up is recorded as one.
    pub fn solve(&mut self, lab: &Lab, req: SolveRequest) -> Result<()> {
        self.may_solve(lab.spec.number(), req)?;
        if !self.progress.labs.contains_key(&lab.spec.slug) {
            self.start(lab)?;
        }
        let dir = self.lab_dir(&lab.spec);
        let seed = self.progress.seed;
        // Files that need no expected value (a fixed map or config) may go
        // in first, when the lab's commands read them; a file that names an
        // expected value cannot be rendered yet and is written after.
        if lab.spec.solution_files_first {
            let base = Context {
                seed,
                data: data_dir(&lab.spec),
                ..Default::default()
            };
            for (rel, text) in &lab.solution {
                if let Ok(text) = base.render(text) {
                    write_atomic(dir.join(rel), text.as_bytes())?;
                }
            }
        }
        let mut background = Vec::new();
        for run in &lab.spec.solution {
            // Expected values are read afresh: a step may use what the
            // steps before it wrote (a threshold, a run name).
            let ctx = context(&lab.spec, &dir, seed);
            let args: Vec<String> = run
                .args
                .iter()
                .map(|a| ctx.render(a))
                .collect::<Result<_>>()?;
            if run.background {
                background.push(Background::spawn(&self.exe, &dir, args)?);
                continue;
            }
            let out = checks::run_carelab(&self.exe, &dir, &args, Duration::from_secs(600))?;
            if out.code != run.expect_exit {
                return Err(Error::failure(format!(
                    "solution step `carelab {}` exited {} (expected {}): {}",
                    args.join(" "),
                    out.code,
                    run.expect_exit,
                    out.stderr.lines().last().unwrap_or("")
                )));
            }
            if let Some(file) = &run.stdout {
                write_atomic(dir.join(file), out.stdout.as_bytes())?;
            }
        }
        for step in background {
            step.finish(Duration::from_secs(120))?;
        }
        self.write_solution_files(lab, &[])?;
        let t = now();
        let entry = self.entry(&lab.spec)?;
        entry.solved_with_solution = true;
        entry.solution_applied_at.get_or_insert(t);
        if req.catch_up {
            entry.caught_up_at.get_or_insert(t);
        }
        entry.last_activity_at = t;
        self.save()
    }
}

impl Workspace {
    /// Write the lab's solution files (all, or the ones named in `only`)
    /// into its folder, with the expected values read from the folder as it
    /// is now. A file whose values come from another solution file (an
    /// answer read from a log the solution also holds) is rendered after
    /// the others are written. `lab solve` ends with this; the book runner
    /// uses it where a chapter has the learner edit files.
    pub fn write_solution_files(&self, lab: &Lab, only: &[String]) -> Result<()> {
        if let Some(missing) = only
            .iter()
            .find(|name| !lab.solution.iter().any(|(rel, _)| rel == *name))
        {
            let known: Vec<&str> = lab.solution.iter().map(|(rel, _)| rel.as_str()).collect();
            return Err(Error::usage(format!(
                "lab {} has no solution file {missing}; it has {}",
                lab.spec.slug,
                known.join(", ")
            )));
        }
        let dir = self.lab_dir(&lab.spec);
        let mut pending: Vec<&(String, String)> = lab
            .solution
            .iter()
            .filter(|(rel, _)| only.is_empty() || only.contains(rel))
            .collect();
        while !pending.is_empty() {
            let ctx = context(&lab.spec, &dir, self.progress.seed);
            let mut left = Vec::new();
            let mut last_error = None;
            for file in &pending {
                match ctx.render(&file.1) {
                    Ok(text) => write_atomic(dir.join(&file.0), text.as_bytes())?,
                    Err(e) => {
                        left.push(*file);
                        last_error = Some(e);
                    }
                }
            }
            if let (true, Some(e)) = (left.len() == pending.len(), last_error) {
                return Err(e);
            }
            pending = left;
        }
        Ok(())
    }
}

/// A solution step running beside the others (see `RunSpec::background`).
struct Background {
    child: std::process::Child,
    shown: String,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Background {
    /// Start `carelab ARGS` in `dir` and wait until it prints its first
    /// line on stderr (a listener says where it listens once it is bound).
    fn spawn(exe: &Path, dir: &Path, args: Vec<String>) -> Result<Background> {
        use std::io::BufRead;
        let shown = format!("carelab {}", args.join(" "));
        let mut child = std::process::Command::new(exe)
            .args(&args)
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| Error::failure(format!("could not run `{shown}`: {e}")))?;
        let pipe = child.stderr.take();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let stderr = std::thread::spawn(move || {
            let mut all = String::new();
            if let Some(pipe) = pipe {
                for line in std::io::BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    let _ = ready_tx.send(());
                    all.push_str(&line);
                    all.push('\n');
                }
            }
            all
        });
        let bg = Background {
            child,
            shown,
            stderr: Some(stderr),
        };
        if ready_rx.recv_timeout(Duration::from_secs(60)).is_err() {
            return Err(bg.fail("printed nothing within 60 s"));
        }
        Ok(bg)
    }

    /// Wait for the step to exit by itself, successfully, within `limit`.
    fn finish(mut self, limit: Duration) -> Result<()> {
        let started = std::time::Instant::now();
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => {
                    let why = format!("exited {}", status.code().unwrap_or(-1));
                    return Err(self.fail(&why));
                }
                Ok(None) if started.elapsed() > limit => {
                    return Err(self.fail("did not finish after the last step"));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => return Err(self.fail(&e.to_string())),
            }
        }
    }

    /// Stop the step and say what it printed last.
    fn fail(mut self, why: &str) -> Error {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let stderr = self
            .stderr
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default();
        Error::failure(format!(
            "background solution step `{}` {why}: {}",
            self.shown,
            stderr.trim().lines().last().unwrap_or("no message")
        ))
    }
}

/// A step left behind by a failing solution is stopped, not orphaned.
impl Drop for Background {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn data_dir(lab: &LabSpec) -> String {
    lab.data
        .as_ref()
        .map(|d| d.dir.clone())
        .unwrap_or_else(|| "data".to_string())
}

/// Run the lab's data command for `seed` in `dir`; the error is a sentence
/// for the learner.
pub fn generate(
    spec: &super::spec::DataSpec,
    dir: &Path,
    seed: u64,
    exe: &Path,
) -> std::result::Result<(), String> {
    let ctx = Context {
        seed,
        data: spec.dir.clone(),
        ..Default::default()
    };
    let args: Vec<String> = spec
        .args
        .iter()
        .map(|a| ctx.render(a))
        .collect::<Result<_>>()
        .map_err(|e| e.to_string())?;
    let shown = format!("carelab {}", args.join(" "));
    match checks::run_carelab(exe, dir, &args, Duration::from_secs(600)) {
        Ok(out) if out.code == 0 => Ok(()),
        Ok(out) => Err(format!(
            "this lab needs a dataset and `{shown}` failed ({}); the data generator may not be in this build yet",
            out.stderr.trim().lines().last().unwrap_or("no message")
        )),
        Err(e) => Err(format!("this lab needs a dataset and `{shown}` could not run: {e}")),
    }
}

/// The expected values of a lab for a seed, read from the lab folder `dir`
/// (its dataset and the learner's files). A value that cannot be read is
/// kept with the reason, and checks that use it fail with that reason.
pub fn context(lab: &LabSpec, dir: &Path, seed: u64) -> Context {
    let mut ctx = Context {
        seed,
        data: data_dir(lab),
        ..Default::default()
    };
    for e in &lab.expected {
        let value = resolve(&e.value, dir, &ctx).map(|found| match (found.as_f64(), e.round) {
            (Some(x), Some(places)) => format!("{:.*}", places as usize, values::round(x, places)),
            _ => found.display(),
        });
        ctx.expected.insert(
            e.name.clone(),
            value.map_err(|err| checks::explain(&err, dir)),
        );
    }
    ctx
}

fn resolve(source: &ValueSource, dir: &Path, ctx: &Context) -> Result<values::Found> {
    match source {
        ValueSource::Json { path, pointer } => {
            values::json_value(&dir.join(ctx.render(path)?), pointer)
        }
        ValueSource::Toml { path, key } => values::toml_value(&dir.join(ctx.render(path)?), key),
        ValueSource::CsvStat { path, column, stat } => {
            values::csv_stat(&dir.join(ctx.render(path)?), column, *stat)
        }
    }
}
