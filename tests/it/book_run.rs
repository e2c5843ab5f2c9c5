//! The book runs the commands its lab chapters show: every ```sh block of
//! every lab chapter, in order, in a fresh folder, with this build's
//! `carelab` first on PATH. A command that fails names its chapter file and
//! line. The runner's own mechanics are tested on small chapters.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use carelab::labs::book_run::{run_chapter, ChapterReport, RunOptions};

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

/// The lab chapters, `book/src/labs/NN-*.md`, in order.
fn lab_chapters() -> Vec<PathBuf> {
    let dir = repo().join("book/src/labs");
    let mut chapters: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    chapters.sort();
    chapters
}

/// Run one lab chapter in a temporary folder, or, to look at what a
/// failing chapter left, in `$CARELAB_BOOK_KEEP/<chapter>` (kept).
fn run_lab_chapter(chapter: &Path) -> Result<ChapterReport, String> {
    let temp = tempfile::tempdir().unwrap();
    let scratch = match std::env::var_os("CARELAB_BOOK_KEEP") {
        Some(keep) => PathBuf::from(keep).join(chapter.file_stem().unwrap()),
        None => temp.path().to_path_buf(),
    };
    run_chapter(chapter, &repo(), &scratch, &options(300)).map_err(|e| e.to_string())
}

#[test]
fn every_lab_chapter_runs_as_shown() {
    let chapters = lab_chapters();
    assert!(chapters.len() >= 11, "{chapters:?}");
    // The chapters are independent: two at a time (CI has two cores). The
    // later labs are the long ones (training, a load test), so they start
    // first and the two threads finish close together.
    let only = std::env::var("CARELAB_BOOK_CHAPTER").ok();
    let queue: Vec<&PathBuf> = chapters
        .iter()
        .rev()
        .filter(|c| {
            only.as_ref()
                .is_none_or(|o| c.to_string_lossy().contains(o))
        })
        .collect();
    let next = std::sync::Mutex::new(queue.clone().into_iter());
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let Some(chapter) = next.lock().unwrap().next() else {
                    break;
                };
                let result = run_lab_chapter(chapter);
                results.lock().unwrap().push((chapter.clone(), result));
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let mut failures = Vec::new();
    for (chapter, result) in &results {
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
            Err(e) => failures.push(format!("{}: {e}", chapter.display())),
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
