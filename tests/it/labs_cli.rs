//! The lab verbs through the binary: exit codes, `--json`, and the
//! progress file that `workshop report` reads.

use std::path::Path;
use std::process::{Command, Output};

fn carelab(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_carelab"))
        .args(args)
        .current_dir(dir)
        .env_remove("CARELAB_WORKSPACE")
        .env_remove("CARELAB_SEED")
        .output()
        .unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn lab_loop_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let list = carelab(d, &["lab", "list", "--json"]);
    assert!(list.status.success());
    let labs = json(&list);
    assert_eq!(labs[0]["lab"], "00-setup");
    assert_eq!(labs[0]["status"], "not started");

    let start = carelab(d, &["lab", "start", "0", "--seed", "77", "--json"]);
    assert!(
        start.status.success(),
        "{}",
        String::from_utf8_lossy(&start.stderr)
    );
    assert_eq!(json(&start)["seed"], 77);

    // From inside the lab folder, without --workspace or --seed.
    let lab_dir = d.join("carelab-work/00-setup");
    let check = carelab(&lab_dir, &["lab", "check", "0", "--json"]);
    assert_eq!(check.status.code(), Some(1), "failing checks exit 1");
    let report = json(&check);
    assert_eq!(report["seed"], 77);
    assert_eq!(report["complete"], false);
    assert_eq!(report["checks"].as_array().unwrap().len(), 5);

    let hint = carelab(&lab_dir, &["lab", "hint", "0", "--json"]);
    assert_eq!(json(&hint)["hint"], 1);

    assert!(carelab(d, &["lab", "solve", "0"]).status.success());
    let check = carelab(d, &["lab", "check", "setup", "--json"]);
    assert_eq!(check.status.code(), Some(0));
    assert_eq!(json(&check)["passed"], 5);

    let progress = json(&carelab(d, &["lab", "progress", "--json"]));
    assert_eq!(progress["seed"], 77);
    assert_eq!(progress["labs"]["00-setup"]["hints_shown"], 1);
    assert!(progress["labs"]["00-setup"]["completed_at"].is_u64());

    // The --json progress is what workshop report reads.
    let me = carelab(d, &["lab", "progress", "--json"]).stdout;
    std::fs::write(d.join("me.json"), me).unwrap();
    let report = carelab(
        d,
        &["workshop", "report", "me.json", "--format", "markdown"],
    );
    assert!(report.status.success());
    // `lab solve` passed it: complete, with the solution, not done by "me".
    assert!(String::from_utf8_lossy(&report.stdout).contains("| me | 0 | 00-setup |"));

    let wrong_seed = carelab(d, &["lab", "check", "0", "--seed", "5"]);
    assert_eq!(wrong_seed.status.code(), Some(2));
    let unknown = carelab(d, &["lab", "show", "42"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("00-setup"));
}

/// `lab progress` outside a workspace is an error naming the folder and
/// what it looked for, not an empty record under the default seed (which
/// `workshop report` would read as a learner who did nothing).
#[test]
fn progress_from_the_wrong_folder_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = carelab(d, &["lab", "progress", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    // With --json the error is the JSON on stdout (as for every verb), and
    // no progress record: no seed, no labs.
    let body = json(&out);
    assert_eq!(body["kind"], "usage");
    assert!(
        body.get("seed").is_none() && body.get("labs").is_none(),
        "{body}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    let here = d.canonicalize().unwrap();
    assert!(err.contains(&here.display().to_string()), "{err}");
    assert!(err.contains("is not in a lab workspace"), "{err}");
    assert!(err.contains("progress.json"), "{err}");
    assert!(!d.join("carelab-work").exists(), "nothing is created");
    // The file such a learner sends: the report names it and says what happened.
    std::fs::write(d.join("ana.json"), &out.stdout).unwrap();
    std::fs::write(d.join("ben.json"), "").unwrap();
    for (file, what) in [
        ("ana.json", "holds an error, not progress"),
        ("ben.json", "is empty"),
    ] {
        let report = carelab(d, &["workshop", "report", file]);
        assert_eq!(report.status.code(), Some(2));
        let err = String::from_utf8_lossy(&report.stderr);
        assert!(err.contains(&format!("{file} {what}")), "{err}");
    }

    let other = d.join("elsewhere");
    std::fs::create_dir(&other).unwrap();
    let named = carelab(d, &["lab", "progress", "--workspace", "elsewhere"]);
    assert_eq!(named.status.code(), Some(2));
    let err = String::from_utf8_lossy(&named.stderr);
    assert!(
        err.contains("--workspace elsewhere is not a lab workspace"),
        "{err}"
    );
    assert!(err.contains("elsewhere/progress.json"), "{err}");

    // Once started, the same commands work from the workspace and from a lab folder.
    assert!(carelab(d, &["lab", "start", "0", "--seed", "9"])
        .status
        .success());
    let lab_dir = d.join("carelab-work/00-setup");
    let ok = carelab(&lab_dir, &["lab", "progress", "--json"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(json(&ok)["seed"], 9);
}

/// `lab start` says where to stand: the folder, absolute, and the `cd` from
/// where the learner is (from another lab's folder, `../NN-slug`).
#[test]
fn start_prints_the_folder_to_cd_into() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = carelab(d, &["lab", "start", "0", "--seed", "3"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let folder = d.canonicalize().unwrap().join("carelab-work/00-setup");
    assert!(
        text.contains(&format!("folder  {}\n", folder.display())),
        "{text}"
    );
    assert!(text.contains("cd carelab-work/00-setup\n"), "{text}");

    // From a sibling lab folder (where the previous lab left the learner).
    let sibling = d.join("carelab-work/01-data");
    std::fs::create_dir(&sibling).unwrap();
    let out = json(&carelab(&sibling, &["lab", "start", "0", "--json"]));
    assert_eq!(out["cd"], "../00-setup");
    assert_eq!(out["dir"], folder.display().to_string());

    // From deeper inside, and from the workspace itself.
    let deep = sibling.join("data/legacy");
    std::fs::create_dir_all(&deep).unwrap();
    let out = json(&carelab(&deep, &["lab", "start", "0", "--json"]));
    assert_eq!(out["cd"], "../../../00-setup");
    let out = json(&carelab(
        &d.join("carelab-work"),
        &["lab", "start", "0", "--json"],
    ));
    assert_eq!(out["cd"], "00-setup");
}
