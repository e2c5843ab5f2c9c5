//! A failed check says what is wrong and where to look, never the value it
//! wanted: the expected values are computed here with the runner's own code
//! and searched for in everything a learner sees of a check — its text, its
//! `--json`, the progress file and the class report — written every way
//! they could be printed (as the key has them, rounded to 2–4 decimals,
//! as an integer). `lab solve` is recorded, and the class report tells
//! labs passed with the solution from labs the learner did.
//!
//! [`assert_nothing_shown`] runs inside `labs::every_lab_starter_fails_and_solution_passes`,
//! on every lab's starter and on its solved workspace with wrong answers,
//! so the costly part (making the datasets, solving) is done once.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use carelab::labs::spec::{CheckKind, TomlScalar};
use carelab::labs::values::format_number;
use carelab::labs::workspace::{self, CheckReport, ProgressFile, Workspace};
use carelab::labs::{workshop, Catalog, Lab};

use crate::cli_support::exe;

/// A value a learner must not be shown, and where it comes from.
struct Secret {
    label: String,
    value: String,
}

/// Everything the checks of `lab` want in the lab folder `dir` as it is now:
/// every expected value the runner computes, and what each check compares
/// against or looks for (a literal answer such as `"assay"` included).
fn secrets(lab: &Lab, dir: &Path, seed: u64) -> Vec<Secret> {
    let ctx = workspace::context(&lab.spec, dir, seed);
    let mut out: Vec<Secret> = ctx
        .expected
        .iter()
        .filter_map(|(name, v)| {
            v.as_ref().ok().map(|v| Secret {
                label: format!("expected.{name}"),
                value: v.clone(),
            })
        })
        .collect();
    for check in &lab.spec.checks {
        let mut wanted: Vec<String> = Vec::new();
        match &check.check {
            CheckKind::FileRows { expect, .. }
            | CheckKind::CsvColumnStat { expect, .. }
            | CheckKind::JsonValue { expect, .. }
            | CheckKind::TomlValue { expect, .. }
            | CheckKind::ManifestField { expect, .. } => {
                wanted.extend(expect.equals.iter().map(TomlScalar::as_text));
                wanted.extend(expect.any_of.iter().map(TomlScalar::as_text));
                // The tolerance too: with it, a learner brackets the answer.
                wanted.extend(expect.tolerance.map(format_number));
                // A limit is secret when it comes from the learner's files.
                wanted.extend(
                    [&expect.min, &expect.max]
                        .into_iter()
                        .flatten()
                        .map(TomlScalar::as_text)
                        .filter(|t| t.contains('{')),
                );
            }
            CheckKind::FileContains { contains, .. } => wanted.extend(contains.iter().cloned()),
            CheckKind::Command {
                stdout_contains, ..
            } => wanted.extend(stdout_contains.iter().cloned()),
            CheckKind::Http { body_contains, .. } => wanted.extend(body_contains.iter().cloned()),
            // The true values are in the truth file, thousands of them; what
            // the check may say of them is pinned in labs_silos.
            CheckKind::MatchesTruth { .. } => {}
            // The reference rows are the learner's own analysis table; the
            // check says only counts of rows that differ (lab04 test).
            CheckKind::SqlMatches { .. } => {}
        }
        for w in wanted {
            if let Ok(value) = ctx.render(&w) {
                out.push(Secret {
                    label: format!("check {}", check.id),
                    value,
                });
            }
        }
    }
    // true/false: a failed yes-or-no question gives its answer away by
    // failing; nothing to search for.
    out.retain(|s| !matches!(s.value.trim(), "true" | "false" | ""));
    out
}

/// A single character ("1", "0") is in any report as a count, a minute
/// or an exit code and cannot be told apart from an answer; a value that
/// short is searched in its longer forms only (1.000, 1.00).
fn too_short(form: &str) -> bool {
    form.chars().count() < 2
}

/// The ways `value` could be printed.
fn forms(value: &str) -> BTreeSet<String> {
    let v = value.trim().to_string();
    let mut f = BTreeSet::from([v.clone()]);
    if let Ok(x) = v.parse::<f64>() {
        f.insert(format_number(x));
        if x.fract() == 0.0 {
            f.insert(format!("{}", x as i64));
        }
        for places in 2..=4 {
            let rounded = format!("{x:.places$}");
            let trimmed = rounded.trim_end_matches('0').trim_end_matches('.');
            // A rounding that leaves no decimals ("1", "0") says nothing
            // about the value and is everywhere in any text.
            if trimmed.contains('.') {
                f.insert(trimmed.to_string());
            }
            if rounded.parse::<f64>().ok() != Some(0.0) || x == 0.0 {
                f.insert(rounded);
            }
        }
    }
    f
}

/// Words and numbers of `text`, lowercased: split at anything that cannot
/// be part of a value as printed (a path's `/`, quotes, spaces, `:`).
fn tokens(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_alphanumeric() || "._%-+".contains(c)))
        .map(|t| t.trim_matches(|c| c == '.' || c == '-').to_lowercase())
        .filter(|t| !t.is_empty())
        .collect()
}

/// What the learner may be shown anyway: the lab's own text with what its
/// checks want taken out (titles, fix texts, files, fields, public limits,
/// exit codes), what the learner wrote in the files the checks read as
/// their answers, and the report's own numbers.
fn public_text(lab: &Lab, dir: &Path, report: &CheckReport) -> String {
    let mut checks = serde_json::to_value(&lab.spec.checks).unwrap();
    for check in checks.as_array_mut().unwrap() {
        let kind = check["check"].as_object_mut().unwrap();
        for secret in ["contains", "stdout_contains", "body_contains"] {
            kind.remove(secret);
        }
        if let Some(expect) = kind.get_mut("expect").and_then(|e| e.as_object_mut()) {
            expect.remove("equals");
            expect.remove("any_of");
            expect.remove("tolerance");
            expect.retain(|_, v| !v.as_str().is_some_and(|s| s.contains('{')));
        }
    }
    // The strings as written (a JSON dump would escape their quotes).
    fn leaves(v: &serde_json::Value, out: &mut String) {
        match v {
            serde_json::Value::Array(items) => items.iter().for_each(|i| leaves(i, out)),
            serde_json::Value::Object(map) => map.values().for_each(|i| leaves(i, out)),
            serde_json::Value::String(s) => out.push_str(s),
            other => out.push_str(&other.to_string()),
        }
        out.push('\n');
    }
    let mut text = String::new();
    leaves(&checks, &mut text);
    for check in &lab.spec.checks {
        if let CheckKind::TomlValue { path, .. } = &check.check {
            text.push('\n');
            text.push_str(&fs::read_to_string(dir.join(path)).unwrap_or_default());
        }
    }
    text.push_str(&format!(
        "\n{} {} {} {} {} {}",
        lab.spec.slug,
        lab.spec.number(),
        report.seed,
        report.passed,
        report.total,
        lab.spec.hints.len()
    ));
    text
}

/// Assert that no output shows a value the lab's checks want: each secret,
/// in each of its forms, is either absent from the output or also part of
/// what the learner may see anyway (then it cannot be told apart).
#[track_caller]
pub fn assert_nothing_shown(lab: &Lab, dir: &Path, report: &CheckReport, outputs: &[String]) {
    let public = public_text(lab, dir, report);
    let public_tokens = tokens(&public);
    let public_lower = public.to_lowercase();
    let secrets = secrets(lab, dir, report.seed);
    assert!(
        !secrets.is_empty(),
        "{}: no expected value to look for",
        lab.spec.slug
    );
    for output in outputs {
        let out_tokens = tokens(output);
        let out_lower = output.to_lowercase();
        for s in &secrets {
            for form in forms(&s.value).into_iter().filter(|f| !too_short(f)) {
                let lower = form.to_lowercase();
                let shown = if form.contains(char::is_whitespace) {
                    out_lower.contains(&lower) && !public_lower.contains(&lower)
                } else {
                    out_tokens.contains(&lower) && !public_tokens.contains(&lower)
                };
                assert!(
                    !shown,
                    "{}: the output shows {} ({} written as \"{form}\"):\n{output}",
                    lab.spec.slug, s.label, s.value
                );
            }
        }
    }
}

/// Everything a learner or instructor sees of a check run: the terminal
/// text, `--json`, the progress file and the class report.
pub fn outputs(lab: &Lab, report: &CheckReport, progress: &ProgressFile) -> Vec<String> {
    let catalog = Catalog::builtin().unwrap();
    // Times set to one instant: the minutes a report shows are this test's
    // own running time, which can be any small number, an answer's too
    // (0.2 minutes beside a threshold of 0.199).
    let mut progress = progress.clone();
    for lab in progress.labs.values_mut() {
        lab.started_at = 0;
        lab.last_activity_at = 0;
        lab.completed_at = lab.completed_at.map(|_| 0);
        lab.solution_applied_at = lab.solution_applied_at.map(|_| 0);
        lab.caught_up_at = lab.caught_up_at.map(|_| 0);
    }
    let progress = &progress;
    let class = workshop::class_report(&catalog, &[("me".to_string(), progress.clone())]);
    vec![
        report.to_text(lab.spec.number()),
        serde_json::to_string_pretty(report).unwrap(),
        serde_json::to_string_pretty(progress).unwrap(),
        serde_json::to_string_pretty(&class).unwrap(),
        class.to_terminal(),
        class.to_markdown(),
        class.to_html(),
    ]
}

fn carelab(dir: &Path, args: &[&str]) -> Output {
    Command::new(exe())
        .args(args)
        .current_dir(dir)
        .env_remove("CARELAB_WORKSPACE")
        .env_remove("CARELAB_SEED")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// The case a learner found: `lab check 2` on the untouched starter printed
/// each count it wanted. Through the binary, text and `--json`.
#[test]
fn lab02_starter_check_through_the_cli_shows_no_answer() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let start = carelab(d, &["lab", "start", "2", "--seed", "4242"]);
    assert!(
        start.status.success(),
        "{}",
        String::from_utf8_lossy(&start.stderr)
    );
    let text = carelab(d, &["lab", "check", "2"]);
    let json = carelab(d, &["lab", "check", "2", "--json"]);
    assert_eq!((text.status.code(), json.status.code()), (Some(1), Some(1)));
    let report: CheckReport = serde_json::from_slice(&json.stdout).unwrap();
    let catalog = Catalog::builtin().unwrap();
    let lab = catalog.find("2").unwrap();
    let ws = Workspace::open(&d.join("carelab-work"), None, None, &exe()).unwrap();
    let lab_dir = ws.lab_dir(&lab.spec);
    // The dataset's counts are there to be found (and to be hidden).
    let ctx = workspace::context(&lab.spec, &lab_dir, 4242);
    assert!(ctx.expected["registration_lines"].is_ok());
    let stdout = String::from_utf8_lossy(&text.stdout).to_string();
    assert!(
        stdout
            .contains("registration_lines in answers.toml is 0: not the value your own data gives"),
        "{stdout}"
    );
    let mut all = outputs(lab, &report, &ws.progress);
    all.push(stdout);
    all.push(String::from_utf8_lossy(&text.stderr).to_string());
    assert_nothing_shown(lab, &lab_dir, &report, &all);

    // `lab show --json` is the outline: no check's answer, hint or solution.
    let show = carelab(d, &["lab", "show", "2", "--json"]);
    let shown = String::from_utf8_lossy(&show.stdout);
    let outline: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(outline["hints"], lab.spec.hints.len());
    assert_eq!(outline["checks"][1]["id"], "registration_lines");
    for answer in ["%Y%m%d", "truncated\"", "expected.", "solution"] {
        assert!(!shown.contains(answer), "lab show --json shows {answer}");
    }
}

/// `lab solve` is part of the record: progress says so, `reset` does not
/// wipe it, and the class report lists the lab as passed with the solution,
/// not as done. A solution looked at after finishing does not count.
#[test]
fn solve_is_recorded_and_the_report_says_who_used_it() {
    let catalog = Catalog::builtin().unwrap();
    let lab0 = catalog.find("0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let class = dir.path().join("class");

    // ana solves lab 00, then checks: complete, with the solution.
    let mut ana = Workspace::open(&class.join("ana"), Some(1), Some("ana".into()), &exe()).unwrap();
    ana.solve(lab0, Default::default()).unwrap();
    assert!(ana.check(lab0).unwrap().complete);
    let p = &ana.progress.labs["00-setup"];
    assert!(p.solved_with_solution && p.solution_applied_at.is_some());
    assert!(p.passed_with_solution(), "{p:?}");
    assert_eq!(p.status(), "complete with the solution");
    // Putting the starter back and redoing the lab does not clear it.
    ana.reset(lab0).unwrap();
    ana.solve(lab0, Default::default()).unwrap();
    assert!(ana.check(lab0).unwrap().complete);
    assert!(ana.progress.labs["00-setup"].passed_with_solution());

    // ben does lab 00 himself, and only then looks at the solution.
    let mut ben = Workspace::open(&class.join("ben"), Some(2), Some("ben".into()), &exe()).unwrap();
    ben.start(lab0).unwrap();
    let lab_dir = ben.lab_dir(&lab0.spec);
    // His own work: the doctor report, then his answers.
    let doctor = carelab(&lab_dir, &["doctor", "--workspace", "..", "--json"]);
    fs::write(lab_dir.join("doctor.json"), &doctor.stdout).unwrap();
    ben.write_solution_files(lab0, &[]).unwrap();
    assert!(ben.check(lab0).unwrap().complete);
    // His own completion happened earlier than any solve.
    let mut progress: ProgressFile =
        carelab::artifact::read_json(class.join("ben/progress.json")).unwrap();
    let entry = progress.labs.get_mut("00-setup").unwrap();
    entry.completed_at = entry.completed_at.map(|t| t - 60);
    carelab::artifact::write_json(class.join("ben/progress.json"), &progress).unwrap();
    let mut ben = Workspace::open(&class.join("ben"), None, None, &exe()).unwrap();
    ben.solve(lab0, Default::default()).unwrap();
    let p = &ben.progress.labs["00-setup"];
    assert!(p.solved_with_solution && !p.passed_with_solution(), "{p:?}");
    assert_eq!(p.status(), "complete");
    assert!(lab_dir.join("answers.toml").exists());

    // cleo runs `lab solve` and never checks: she used it all the same.
    let mut cleo =
        Workspace::open(&class.join("cleo"), Some(3), Some("cleo".into()), &exe()).unwrap();
    cleo.solve(lab0, Default::default()).unwrap();
    let p = &cleo.progress.labs["00-setup"];
    assert!(p.used_solution() && !p.passed_with_solution(), "{p:?}");
    assert_eq!(p.status(), "solution applied, not checked");

    let learners = workshop::read_progress(std::slice::from_ref(&class)).unwrap();
    let report = workshop::class_report(&catalog, &learners);
    let c = &report.learners[2];
    assert_eq!(
        (
            c.learner.as_str(),
            c.with_solution.as_slice(),
            c.current.as_deref()
        ),
        ("cleo", &["00-setup".to_string()][..], None)
    );
    let (a, b) = (&report.learners[0], &report.learners[1]);
    assert_eq!((a.learner.as_str(), b.learner.as_str()), ("ana", "ben"));
    assert!(a.completed.is_empty(), "{a:?}");
    assert_eq!(a.with_solution, vec!["00-setup"]);
    assert_eq!(b.completed, vec!["00-setup"]);
    assert!(b.with_solution.is_empty());
    assert_eq!(
        report.labs[0],
        workshop::LabRow {
            lab: "00-setup".into(),
            started: 3,
            completed: 1,
            with_solution: 2,
            caught_up: 0
        }
    );
    let md = report.to_markdown();
    assert!(md.contains("| ana | 0 | 00-setup | - |"), "{md}");
    assert!(md.contains("| ben | 1 | - | - |"), "{md}");
    assert!(md.contains("| cleo | 0 | 00-setup | - |"), "{md}");
    assert!(md.contains("| 00-setup | 3 | 1 | 2 |"), "{md}");
    assert!(report.to_terminal().contains("with the solution"));
    assert!(report
        .to_html()
        .contains("<td>00-setup</td><td>3</td><td>1</td><td>2</td>"));

    // Through the binary: `lab solve` says it is recorded, and `lab
    // progress` and `lab list` show it.
    let solo = dir.path().join("solo");
    fs::create_dir_all(&solo).unwrap();
    let solve = carelab(&solo, &["lab", "solve", "0", "--seed", "5"]);
    assert!(solve.status.success());
    assert!(String::from_utf8_lossy(&solve.stdout).contains("recorded in your progress"));
    assert_eq!(
        carelab(&solo, &["lab", "check", "0"]).status.code(),
        Some(0)
    );
    let progress =
        String::from_utf8_lossy(&carelab(&solo, &["lab", "progress"]).stdout).to_string();
    assert!(
        progress.contains("complete with the solution") && progress.contains("after `lab solve`"),
        "{progress}"
    );
    let list = carelab(&solo, &["lab", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(list[0]["status"], "complete with the solution");
}
