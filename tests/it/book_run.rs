//! The book runs the commands its lab chapters show: every ```sh block of
//! every lab chapter, in order, in a fresh folder, with this build's
//! `carelab` first on PATH. A command that fails names its chapter file and
//! line. The runner's own mechanics are tested on small chapters.

// The runner drives bash.
#![cfg(unix)]

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use carelab::labs::book_run::{self, run_chapter, ChapterReport, RunOptions};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn options(timeout_s: u64) -> RunOptions {
    RunOptions {
        exe: PathBuf::from(env!("CARGO_BIN_EXE_carelab")),
        step_timeout: Duration::from_secs(timeout_s),
    }
}

/// Run a chapter written to a temporary `NAME.md`.
fn run_text(name: &str, text: &str) -> Result<ChapterReport, String> {
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join(name);
    fs::write(&md, text).unwrap();
    let scratch = dir.path().join("scratch");
    run_chapter(&md, dir.path(), &scratch, &options(30)).map_err(|e| e.to_string())
}

/// The chapters listen on the ports they show (2575, 8099, 8111), so two runs of
/// the chapters on one machine (two worktrees testing at once) would
/// collide. They take turns through a lock folder in the temp dir that
/// names its holder; a holder that died is taken over.
struct MachineLock(PathBuf);

impl MachineLock {
    fn acquire() -> MachineLock {
        let dir = std::env::temp_dir().join("carelab-book-run.lock");
        let started = std::time::Instant::now();
        loop {
            if fs::create_dir(&dir).is_ok() {
                fs::write(dir.join("pid"), std::process::id().to_string()).unwrap();
                return MachineLock(dir);
            }
            let holder = fs::read_to_string(dir.join("pid")).unwrap_or_default();
            let alive = holder.trim().is_empty()
                || std::process::Command::new("kill")
                    .args(["-0", holder.trim()])
                    .stderr(std::process::Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
            if !alive {
                let _ = fs::remove_dir_all(&dir);
                continue;
            }
            assert!(
                started.elapsed() < Duration::from_secs(900),
                "{} is still held by process {holder}",
                dir.display()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

impl Drop for MachineLock {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn every_lab_chapter_runs_as_shown() {
    let chapters = book_run::lab_chapters(&repo().join("book")).unwrap();
    assert!(chapters.len() >= 11, "{chapters:?}");
    // Two at a time (CI has two cores). The later labs are the long ones
    // (training, a load test), so they start first and the two threads
    // finish close together. To work on one chapter, name it in
    // CARELAB_BOOK_CHAPTER; to look at what it left, CARELAB_BOOK_KEEP=DIR
    // keeps its folders in DIR/<chapter>.
    let only = std::env::var("CARELAB_BOOK_CHAPTER").ok();
    let queue: Vec<PathBuf> = chapters
        .iter()
        .rev()
        .filter(|c| {
            only.as_ref()
                .is_none_or(|o| c.to_string_lossy().contains(o))
        })
        .cloned()
        .collect();
    let _turn = MachineLock::acquire();
    let temp = tempfile::tempdir().unwrap();
    let work =
        std::env::var_os("CARELAB_BOOK_KEEP").map_or(temp.path().to_path_buf(), PathBuf::from);
    let results = book_run::run_chapters(&queue, &repo(), &work, 2, &options(300), |_, _| {});
    let mut failures = Vec::new();
    for (chapter, result) in queue.iter().zip(&results) {
        match result {
            Ok(report) => {
                println!(
                    "{}: {} commands in {:.0} s",
                    report.chapter, report.commands, report.seconds
                );
                for skip in &report.skipped {
                    println!("  skipped {skip}");
                }
                assert!(report.commands >= 2, "{}: too few commands", report.chapter);
            }
            Err(e) => {
                let shown = chapter.strip_prefix(repo()).unwrap_or(chapter);
                failures.push(format!("{} fails at {e}", shown.display()));
            }
        }
    }
    assert_eq!(results.len(), queue.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_renamed_flag_fails_naming_the_file_and_line() {
    let md = "# Lab\n\n1. Make data:\n\n   ```sh\n   carelab --version\n   carelab data generate --out d --patient 10\n   ```\n";
    let err = run_text("chapter.md", md).unwrap_err();
    assert!(
        err.starts_with(
            "chapter.md:7: `carelab data generate --out d --patient 10` exited 2 (expected 0)"
        ),
        "{err}"
    );
    assert!(err.contains("--patient"), "stderr tail missing: {err}");
}

#[test]
fn a_wrong_file_fails_and_stops_the_chapter() {
    let md = "```sh\nmkdir out\ncd out\n```\n\n```sh\nwc -l missing.csv | cat\ncat missing.csv\ntouch never.txt\n```\n";
    let err = run_text("c.md", md).unwrap_err();
    assert!(
        err.starts_with("c.md:8: `cat missing.csv` exited 1"),
        "{err}"
    );
    assert!(err.contains("missing.csv: No such file"), "{err}");
}

#[test]
fn cwd_variables_and_status_carry_across_blocks() {
    let md = r#"```sh
mkdir -p a/b && cd a
export GREETING=hello
```

```bash
cd b
test "$GREETING" = hello
false || test "$(basename "$PWD")" = b
```
"#;
    let report = run_text("c.md", md).unwrap();
    assert_eq!(report.commands, 5);
    assert!(report.skipped.is_empty());
}

#[test]
fn expected_exits_and_skips_follow_the_notes() {
    let md = r#"<!-- run: exit 3 -->
```sh
(exit 3)
test $? = 3
```

<!-- run: skip: needs a GPU -->
```sh
carelab bench train --device cuda
```

```text
this block only shows output
```
"#;
    let report = run_text("c.md", md).unwrap();
    assert_eq!(report.commands, 2);
    assert_eq!(report.skipped, vec!["c.md:8: needs a GPU"]);
    // exit 3 allows 0 or 3, and wants at least one 3.
    let err = run_text("d.md", "<!-- run: exit 3 -->\n```sh\ntrue\n```\n").unwrap_err();
    assert!(
        err.contains("d.md:2: the run note says a command exits 3"),
        "{err}"
    );
    let err = run_text("e.md", "<!-- run: exit 3 -->\n```sh\n(exit 4)\n```\n").unwrap_err();
    assert!(
        err.contains("e.md:3: `(exit 4)` exited 4 (expected 0 or 3)"),
        "{err}"
    );
    let err = run_text(
        "h.md",
        "<!-- run: with SEED={seed} -->\n```sh\necho 1\n```\n",
    )
    .unwrap_err();
    assert!(
        err.contains("h.md:2: the run note fills in SEED, but no command of the block shows it"),
        "{err}"
    );
    let err = run_text("f.md", "<!-- run: skip -->\n```sh\nls\n```\n").unwrap_err();
    assert!(
        err.contains("f.md (line 1)") && err.contains("must say why"),
        "{err}"
    );
}

#[test]
fn background_commands_are_waited_for_and_stopped_with_ctrl_c() {
    // A "server" that says it is ready, and would write late.txt if it
    // were not interrupted; a job the chapter kills itself.
    let md = r#"<!-- run: background until ready -->
```sh
sh -c 'echo starting >&2; sleep 0.3; echo ready >&2; sleep 30; touch late.txt'
```

```sh
sleep 30 &
kill %2
```

<!-- run: stop -->
```sh
test ! -e late.txt
```
"#;
    let started = std::time::Instant::now();
    let report = run_text("c.md", md).unwrap();
    assert_eq!(report.commands, 4);
    assert!(started.elapsed() < Duration::from_secs(20));
    // One that exits before it is ready fails, with what it printed.
    let md = "<!-- run: background -->\n```sh\nsh -c 'exit 3'\n```\n";
    let err = run_text("g.md", md).unwrap_err();
    assert!(
        err.contains("g.md:3: `sh -c 'exit 3'` ended before it printed anything (exit 3)"),
        "{err}"
    );
}

#[test]
fn a_server_that_never_gets_ready_times_out_saying_what_was_awaited() {
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("t.md");
    fs::write(
        &md,
        "<!-- run: background until serving -->\n```sh\nsh -c 'echo loading >&2; sleep 60' &\n```\n",
    )
    .unwrap();
    let err = run_chapter(&md, dir.path(), &dir.path().join("s"), &options(1))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(
            "t.md:3: `sh -c 'echo loading >&2; sleep 60' &` did not print \"serving\" within 1 s"
        ),
        "{err}"
    );
    assert!(err.contains("loading"), "{err}");
}

#[test]
fn a_command_that_hangs_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("t.md");
    fs::write(&md, "```sh\necho waiting >&2\nsleep 60\n```\n").unwrap();
    let started = std::time::Instant::now();
    let err = run_chapter(&md, dir.path(), &dir.path().join("s"), &options(1))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("t.md:3: `sleep 60` did not finish within 1 s"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// A book folder whose one lab chapter, `00-setup`, is `text`, in a
/// temporary folder that lives as long as the first value.
fn book_of_one_chapter(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let book = dir.path().join("book");
    fs::create_dir_all(book.join("src/labs")).unwrap();
    fs::write(book.join("src/labs/00-setup.md"), text).unwrap();
    (dir, book)
}

#[test]
fn run_labs_verb_reports_a_failing_chapter_and_exits_1() {
    let (_dir, book) = book_of_one_chapter(
        "# Lab\n\n```sh\ncarelab doctor --workspace . --json > doctor.json\ncarelab lab chek 0\n```\n",
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_carelab"))
        .args(["--json", "book", "run-labs", "--dir"])
        .arg(&book)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["failed"], 1);
    assert_eq!(report["chapters"][0]["chapter"], "00-setup");
    let error = report["chapters"][0]["error"].as_str().unwrap();
    assert!(
        error.starts_with("book/src/labs/00-setup.md:5: `carelab lab chek 0` exited 2"),
        "{error}"
    );
    // An unknown lab is a usage error.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_carelab"))
        .args(["book", "run-labs", "99", "--dir"])
        .arg(&book)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn ctrl_c_reaches_background_commands_when_the_runner_ignores_it() {
    // Started from a script in the background (CI, nohup), the runner
    // itself ignores SIGINT; the chapter's shell must not inherit that,
    // or the server below would outlive its Ctrl-C and write late.txt.
    let (_dir, book) = book_of_one_chapter(
        r#"# Lab

<!-- run: background until ready -->
```sh
sh -c 'echo ready >&2; sleep 10; touch late.txt'
```

<!-- run: stop -->
```sh
test ! -e late.txt
```
"#,
    );
    let out = std::process::Command::new("sh")
        .args([
            "-c",
            r#"trap '' INT; exec "$0" --json book run-labs --dir "$1""#,
            env!("CARGO_BIN_EXE_carelab"),
        ])
        .arg(&book)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["failed"], 0, "{report}");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn lab_show_leaves_the_run_notes_out() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_carelab"))
        .args(["lab", "show", "9"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("carelab lab check 9"), "{text}");
    assert!(!text.contains("<!-- run:"), "{text}");
    // The README itself has them.
    let readme = fs::read_to_string(repo().join("labs/09-deployment/README.md")).unwrap();
    assert!(readme.contains("<!-- run: solution answers.toml -->"));
}

/// The path a learner walks: every lab chapter in order, in one shell and
/// one workspace, each chapter starting where the one before left the
/// learner (a `cd` that only works from a fresh folder fails here, and so
/// does a lab that fails for the seed lab 00 gives). About as long as
/// `every_lab_chapter_runs_as_shown`; `carelab book run-labs --path` runs
/// the same on a room's machine.
#[test]
fn every_lab_runs_in_order_as_one_learner() {
    let chapters = book_run::lab_chapters(&repo().join("book")).unwrap();
    assert!(chapters.len() >= 11, "{chapters:?}");
    let _turn = MachineLock::acquire();
    let temp = tempfile::tempdir().unwrap();
    let results = book_run::run_path(&chapters, &repo(), temp.path(), &options(300), |_, _| {});
    let failures: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(|e| e.to_string()))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert_eq!(results.len(), chapters.len());
    // One workspace holds every lab's progress: the chapters shared it.
    let progress: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(temp.path().join("work/carelab-work/progress.json")).unwrap(),
    )
    .unwrap();
    for chapter in &chapters {
        let slug = chapter.file_stem().unwrap().to_string_lossy();
        assert!(
            progress["labs"][slug.as_ref()].is_object(),
            "{slug}: {progress}"
        );
    }
}

/// A chapter that only works from a fresh folder fails on the path: the
/// second chapter's `cd` is relative to where the first one left off.
#[test]
fn the_path_starts_each_chapter_where_the_last_one_left() {
    let dir = tempfile::tempdir().unwrap();
    let labs = dir.path().join("book/src/labs");
    fs::create_dir_all(&labs).unwrap();
    fs::write(labs.join("a.md"), "```sh\nmkdir -p w/a w/b\ncd w/a\n```\n").unwrap();
    fs::write(labs.join("b.md"), "```sh\ncd ../b\n```\n").unwrap();
    fs::write(labs.join("c.md"), "```sh\ncd w/b\n```\n").unwrap();
    let ok = book_run::run_path(
        &[labs.join("a.md"), labs.join("b.md")],
        dir.path(),
        &dir.path().join("run1"),
        &options(30),
        |_, _| {},
    );
    assert!(ok.iter().all(|r| r.is_ok()), "{ok:?}");
    let broken = book_run::run_path(
        &[labs.join("a.md"), labs.join("c.md"), labs.join("b.md")],
        dir.path(),
        &dir.path().join("run2"),
        &options(30),
        |_, _| {},
    );
    assert_eq!(broken.len(), 2, "stops at the first failure: {broken:?}");
    let e = broken[1].as_ref().unwrap_err().to_string();
    assert!(e.contains("c.md:2"), "{e}");
}
