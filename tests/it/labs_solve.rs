//! Honest solve: a workshop can lock `lab solve` behind the instructor's
//! key, let learners catch up with `--catch-up`, and the report marks it.

use std::fs;
use std::process::Command;

use carelab::labs::workshop::{self, SolveRule};
use carelab::labs::workspace::{self, SolvePolicy, SolveRequest, Workspace};
use carelab::labs::Catalog;

use crate::cli_support::exe;

#[test]
fn a_locked_workshop_refuses_solve_without_the_key_and_marks_a_catch_up() {
    let catalog = Catalog::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let roster = dir.path().join("roster.csv");
    fs::write(&roster, "id,name\nana,Ana\nben,Ben\n").unwrap();
    let out = dir.path().join("workshop");
    let made = workshop::new_workshop(
        &roster,
        2026,
        &out,
        &catalog,
        &exe(),
        workshop::NewOptions {
            with_data: false,
            solve: SolveRule::CatchUp,
        },
        |_| {},
    )
    .unwrap();
    assert!(made
        .files
        .iter()
        .any(|f| f == workshop::INSTRUCTOR_KEY_FILE));
    let key = fs::read_to_string(out.join(workshop::INSTRUCTOR_KEY_FILE)).unwrap();
    let key = key.trim();
    // The setup line carries the policy with the key's hash, never the key.
    let learners = workshop::read_roster(&out.join("learners.csv")).unwrap();
    let policy = learners[0].solve_policy.clone().unwrap();
    assert_eq!(
        policy,
        SolvePolicy {
            catch_up: true,
            key_hash: workspace::key_hash(key)
        }
    );
    let csv = fs::read_to_string(out.join("learners.csv")).unwrap();
    assert!(
        csv.contains(&format!("--solve-policy catch-up:{}", policy.key_hash)),
        "{csv}"
    );
    assert!(
        !csv.contains(key)
            && !fs::read_to_string(out.join("answer-key.md"))
                .unwrap()
                .contains(key)
    );

    // Through the CLI, as a learner types the setup line.
    let ws = dir.path().join("ana-work");
    let run = |args: &[&str]| {
        Command::new(exe())
            .args(args)
            .args(["--workspace", ws.to_str().unwrap()])
            .env_remove("CARELAB_CLASS")
            .output()
            .unwrap()
    };
    let started = run(&[
        "lab",
        "start",
        "0",
        "--seed",
        "5",
        "--learner",
        "ana",
        "--solve-policy",
        &policy.to_string(),
    ]);
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    let refused = run(&["lab", "solve", "0"]);
    assert_eq!(refused.status.code(), Some(2));
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("locked") && said.contains("--catch-up"),
        "{said}"
    );
    assert!(
        !ws.join("00-setup/answers.toml").exists()
            || fs::read_to_string(ws.join("00-setup/answers.toml")).unwrap()
                == catalog
                    .find("0")
                    .unwrap()
                    .starter
                    .iter()
                    .find(|(r, _)| r == "answers.toml")
                    .unwrap()
                    .1
    );
    let wrong = run(&["lab", "solve", "0", "--key", "not-the-key"]);
    assert_eq!(wrong.status.code(), Some(2));
    // Another policy on a later command is refused, as another seed is.
    let other = run(&["lab", "list", "--solve-policy", "locked:0123456789abcdef"]);
    assert_eq!(other.status.code(), Some(2));
    let caught = run(&["lab", "solve", "0", "--catch-up"]);
    assert!(
        caught.status.success(),
        "{}",
        String::from_utf8_lossy(&caught.stderr)
    );
    let check = run(&["lab", "check", "0"]);
    assert!(check.status.success());
    let learners = workshop::read_progress(std::slice::from_ref(&ws)).unwrap();
    let report = workshop::class_report(&catalog, &learners);
    assert_eq!(
        report.learners[0].with_solution,
        vec!["00-setup (catch-up)"]
    );
    assert!(report.learners[0].completed.is_empty());
    // The labs table counts the catch-up among the labs done with the
    // solution, and apart.
    assert_eq!(
        (report.labs[0].with_solution, report.labs[0].caught_up),
        (1, 1)
    );
    assert!(report.to_terminal().contains("of them catch-up"));
    assert_eq!(
        learners[0].1.labs["00-setup"].status(),
        "caught up with the solution"
    );
    let progress = run(&["lab", "progress"]);
    assert!(String::from_utf8_lossy(&progress.stdout).contains("--catch-up"));
}

#[test]
fn a_locked_policy_opens_only_to_the_instructors_key() {
    let catalog = Catalog::builtin().unwrap();
    let lab0 = catalog.find("0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut w = Workspace::open(dir.path(), Some(3), Some("ben".into()), &exe()).unwrap();
    let policy: SolvePolicy = format!("locked:{}", workspace::key_hash("s3cret-key"))
        .parse()
        .unwrap();
    w.set_solve_policy(Some(policy)).unwrap();
    w.start(lab0).unwrap();
    for req in [
        SolveRequest::default(),
        SolveRequest {
            catch_up: true,
            key: None,
        },
        SolveRequest {
            catch_up: false,
            key: Some("guess"),
        },
    ] {
        let err = w.solve(lab0, req).unwrap_err().to_string();
        assert!(
            err.contains("locked") || err.contains("not this workshop's"),
            "{err}"
        );
        assert!(w.progress.labs["00-setup"].solution_applied_at.is_none());
    }
    w.solve(
        lab0,
        SolveRequest {
            catch_up: false,
            key: Some("s3cret-key"),
        },
    )
    .unwrap();
    let lp = &w.progress.labs["00-setup"];
    assert!(lp.used_solution() && !lp.caught_up());
    // A malformed policy is refused by name.
    let bad = "open:12".parse::<SolvePolicy>().unwrap_err().to_string();
    assert!(bad.contains("locked:HASH"), "{bad}");
}
