//! Labs that educators write: `lab new` lays one out, `lab verify` judges
//! it as the shipped labs are judged, and a folder of them (`--labs-dir`,
//! `CARELAB_LABS`) joins the built-in labs without a rebuild. The example
//! lab the instructor guide walks through (labs-examples/) must verify.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn carelab(dir: &Path, args: &[&str], labs: Option<&Path>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_carelab"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("CARELAB_WORKSPACE")
        .env_remove("CARELAB_SEED")
        .env_remove("CARELAB_LABS");
    if let Some(labs) = labs {
        cmd.env("CARELAB_LABS", labs);
    }
    cmd.output().unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("labs-examples/20-no-phi-export")
}

/// (file, field) of each finding, to compare whole lists.
fn places(v: &serde_json::Value) -> Vec<(String, String)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_string(),
                f["field"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let dest = to.join(path.file_name().unwrap());
        if path.is_dir() {
            fs::create_dir_all(&dest).unwrap();
            copy_dir(&path, &dest);
        } else {
            fs::create_dir_all(to).unwrap();
            fs::copy(&path, &dest).unwrap();
        }
    }
}

#[test]
fn the_guides_example_lab_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let out = carelab(
        dir.path(),
        &["--json", "lab", "verify", example().to_str().unwrap()],
        None,
    );
    let v = json(&out);
    assert_eq!(out.status.code(), Some(0), "{v:#}");
    assert_eq!(v["lab"], "20-no-phi-export");
    assert_eq!(v["findings"], serde_json::json!([]), "{v:#}");
    assert_eq!(v["warnings"], serde_json::json!([]), "{v:#}");
    assert_eq!(
        (v["starter_failed"].as_u64(), v["checks"].as_u64()),
        (Some(6), Some(6))
    );
    assert_eq!(v["solution_passed"].as_u64(), Some(6));
    assert_eq!(v["commands"].as_u64(), Some(5));
}

/// A fresh scaffold runs, but is not a lab yet: verify names every text it
/// left unfinished and the check that cannot fail, and exits 1.
#[test]
fn a_new_lab_is_reported_until_it_is_finished() {
    let dir = tempfile::tempdir().unwrap();
    let labs = dir.path().join("our-labs");
    let out = carelab(
        dir.path(),
        &[
            "--json",
            "lab",
            "new",
            "No-PHI-export",
            "--labs-dir",
            labs.to_str().unwrap(),
        ],
        None,
    );
    assert!(out.status.success(), "{out:?}");
    let made = json(&out);
    // Numbered after the eleven built-in labs (00-11).
    assert_eq!(made["lab"], "12-no-phi-export");
    let lab = labs.join("12-no-phi-export");
    for file in [
        "lab.toml",
        "README.md",
        "starter/answers.toml",
        "solution/answers.toml",
    ] {
        assert!(lab.join(file).is_file(), "{file}");
    }
    let again = carelab(
        dir.path(),
        &[
            "lab",
            "new",
            "12-no-phi-export",
            "--labs-dir",
            labs.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(again.status.code(), Some(2), "never over an existing lab");

    let out = carelab(
        dir.path(),
        &["--json", "lab", "verify", lab.to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    let s = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        places(&v["findings"]),
        vec![
            s("lab.toml", "checks.your_check.fix"),
            s("lab.toml", "checks.your_check.title"),
            s("lab.toml", "gap"),
            s("lab.toml", "hints[0]"),
            s("lab.toml", "hints[1]"),
            s("lab.toml", "hints[2]"),
            s("lab.toml", "objectives[0]"),
            s("lab.toml", "steps[1]"),
            s("lab.toml", "title"),
            s("README.md", "line 1"),
            s("README.md", "line 3"),
            s("README.md", "line 7"),
            s("README.md", "line 11"),
            s("README.md", "line 23"),
        ],
        "{v:#}"
    );
    // The check the scaffold left as an example passes before the learner
    // has done anything; its other check fails, and both pass solved.
    assert_eq!(
        places(&v["warnings"]),
        vec![s("lab.toml", "checks.your_check")]
    );
    assert_eq!(
        (v["starter_failed"].as_u64(), v["solution_passed"].as_u64()),
        (Some(1), Some(2))
    );
    // It already joins the built-in labs.
    let out = carelab(
        dir.path(),
        &["--json", "lab", "list", "--workspace", "w"],
        Some(&labs),
    );
    let rows = json(&out);
    let slugs: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["lab"].as_str().unwrap())
        .collect();
    assert_eq!(slugs.first(), Some(&"00-setup"));
    assert_eq!(slugs.last(), Some(&"12-no-phi-export"));
}

/// What an author gets wrong, each named by file and field: a check the
/// solution cannot pass, a README command with a misspelt flag, no
/// duration, too few hints (which no lab may have: an error, not a list).
#[test]
fn verify_names_the_file_and_field_of_each_problem() {
    let dir = tempfile::tempdir().unwrap();
    let lab = dir.path().join("20-no-phi-export");
    copy_dir(&example(), &lab);
    fs::write(
        lab.join("solution/answers.toml"),
        "export_patients = {expected.export_patients}\ncrosswalk_may_leave = true\n",
    )
    .unwrap();
    let readme = fs::read_to_string(lab.join("README.md")).unwrap();
    fs::write(
        lab.join("README.md"),
        readme.replace("--mode safe-harbor", "--mod safe-harbor"),
    )
    .unwrap();
    let toml = fs::read_to_string(lab.join("lab.toml")).unwrap();
    fs::write(
        lab.join("lab.toml"),
        toml.replace("duration_minutes = 25", "duration_minutes = 0"),
    )
    .unwrap();
    let out = carelab(
        dir.path(),
        &["--json", "lab", "verify", lab.to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    let found = &v["findings"];
    let s = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        places(found),
        vec![
            s("lab.toml", "duration_minutes"),
            s("README.md", "line 49"),
            s("lab.toml", "checks.answer_crosswalk"),
        ],
        "{v:#}"
    );
    let readme_problem = found[1]["problem"].as_str().unwrap();
    assert!(
        readme_problem.contains("carelab deid --in data --out export --mod safe-harbor")
            && readme_problem.contains("--mod"),
        "{readme_problem}"
    );

    let (before, rest) = toml.split_once("hints = [").unwrap();
    let after = &rest[rest.find("]\n").unwrap()..];
    fs::write(
        lab.join("lab.toml"),
        format!("{before}hints = [\"where to look\", \"what to run\"{after}"),
    )
    .unwrap();
    let out = carelab(dir.path(), &["lab", "verify", lab.to_str().unwrap()], None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("20-no-phi-export/lab.toml") && err.contains("key hints"),
        "{err}"
    );
}

/// A folder of local labs joins the built-in ones: listed, started and
/// checked by number; a local lab that takes a built-in lab's number
/// under another name is refused, naming the file and key.
#[test]
fn a_labs_folder_joins_the_built_in_labs() {
    let dir = tempfile::tempdir().unwrap();
    let labs = dir.path().join("labs");
    copy_dir(&example(), &labs.join("20-no-phi-export"));
    // Anything else in the folder is not a lab and is left alone.
    fs::create_dir_all(labs.join("notes")).unwrap();
    fs::write(labs.join("notes/ideas.md"), "a lab about consent forms").unwrap();
    let ws = dir.path().join("w");
    let ws = ws.to_str().unwrap();
    let out = carelab(
        dir.path(),
        &["--json", "lab", "list", "--workspace", ws],
        Some(&labs),
    );
    let rows = json(&out);
    assert_eq!(rows.as_array().unwrap().len(), 13, "{rows:#}");
    assert_eq!(rows[12]["lab"], "20-no-phi-export");
    let out = carelab(
        dir.path(),
        &["lab", "start", "20", "--workspace", ws],
        Some(&labs),
    );
    assert!(out.status.success(), "{out:?}");
    assert!(dir
        .path()
        .join("w/20-no-phi-export/data/manifest.json")
        .is_file());
    let out = carelab(
        dir.path(),
        &["--json", "lab", "check", "20", "--workspace", ws],
        Some(&labs),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["passed"].as_u64(), Some(0));
    // The flag does the same as the environment.
    let out = carelab(
        dir.path(),
        &[
            "--json",
            "lab",
            "show",
            "20",
            "--labs-dir",
            labs.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(json(&out)["slug"], "20-no-phi-export");

    let clash = labs.join("05-our-privacy");
    copy_dir(&example(), &clash);
    let toml = fs::read_to_string(clash.join("lab.toml")).unwrap();
    fs::write(
        clash.join("lab.toml"),
        toml.replace("id = \"20\"", "id = \"05\"")
            .replace("slug = \"20-no-phi-export\"", "slug = \"05-our-privacy\""),
    )
    .unwrap();
    let out = carelab(
        dir.path(),
        &["--json", "lab", "verify", clash.to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["findings"][0]["field"], "id", "{v:#}");
    assert!(
        v["findings"][0]["problem"]
            .as_str()
            .unwrap()
            .contains("built-in lab 05-privacy"),
        "{v:#}"
    );
    let out = carelab(dir.path(), &["lab", "list", "--workspace", ws], Some(&labs));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("05-our-privacy/lab.toml")
            && err.contains("key id")
            && err.contains("05-privacy already uses")
            && err.contains("12 is free"),
        "{err}"
    );
}
