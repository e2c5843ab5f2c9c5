//! `carelab book run-labs`: run the commands the lab chapters show, the way
//! a learner would, to rehearse the labs on a room's machine or to check a
//! chapter while writing it. The tests run the same code.

use std::path::PathBuf;
use std::time::Duration;

use carelab::error::{Error, Result};
use carelab::labs::book_run::{self, ChapterReport, RunOptions};
use carelab::labs::{book, Catalog};
use carelab::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct RunLabsArgs {
    /// Labs to run, by number or slug (default: every lab chapter).
    pub labs: Vec<String>,
    /// The book's folder, with labs/ beside it (default: the guide inside carelab).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Chapters run at the same time.
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// The longest one command may take, in seconds.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub timeout: u64,
    /// Run in this folder and keep it, one subfolder a chapter (default: a
    /// temporary folder, removed afterwards).
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
    /// Run the chapters in order as one learner: one shell and one
    /// workspace, each chapter starting in the folder the one before left
    /// it in; stops at the first chapter that fails (--jobs is not used).
    #[arg(long)]
    pub path: bool,
}

pub fn run(args: RunLabsArgs, ui: &Ui) -> Result<u8> {
    // Kept to the end: the embedded guide's chapters live in its scratch folder.
    let sources = book::Sources::resolve(args.dir.clone())?;
    let dir = sources.dir.clone();
    let mut chapters = book_run::lab_chapters(&dir)?;
    if !args.labs.is_empty() {
        let catalog = Catalog::builtin()?;
        let mut slugs = Vec::new();
        for key in &args.labs {
            slugs.push(catalog.find(key)?.spec.slug.clone());
        }
        chapters.retain(|c| {
            c.file_stem()
                .is_some_and(|s| slugs.iter().any(|slug| s == slug.as_str()))
        });
    }
    if chapters.is_empty() {
        return Err(Error::usage(format!(
            "no lab chapters to run in {}",
            dir.join("src/labs").display()
        )));
    }
    let (work, temporary) = match &args.keep {
        Some(keep) => (keep.clone(), false),
        None => (
            std::env::temp_dir().join(format!("carelab-book-run-{}", std::process::id())),
            true,
        ),
    };
    let exe = std::env::current_exe()
        .map_err(|e| Error::failure(format!("cannot find this carelab executable: {e}")))?;
    let opts = RunOptions {
        exe,
        step_timeout: Duration::from_secs(args.timeout),
    };
    ui.info(format!(
        "Running the commands of {} lab chapter(s) in {}...",
        chapters.len(),
        work.display()
    ));
    let base = dir.parent().unwrap_or(&dir).to_path_buf();
    let tell = |chapter: &std::path::Path, result: &Result<ChapterReport>| {
        let name = chapter.file_stem().unwrap_or_default().to_string_lossy();
        match result {
            Ok(r) => ui.info(format!(
                "✔ {name}: {} commands in {:.0} s",
                r.commands, r.seconds
            )),
            Err(_) => ui.info(format!("✘ {name}")),
        }
    };
    let mut results = if args.path {
        book_run::run_path(&chapters, &base, &work, &opts, tell)
    } else {
        book_run::run_chapters(&chapters, &base, &work, args.jobs, &opts, tell)
    };
    // A path stops at its first failure: the chapters after it did not run.
    for chapter in chapters.iter().skip(results.len()) {
        results.push(Err(Error::failure(format!(
            "{}: not run, the path stopped before it",
            chapter.display()
        ))));
    }
    if temporary {
        let _ = std::fs::remove_dir_all(&work);
    }
    let rows: Vec<serde_json::Value> = chapters
        .iter()
        .zip(&results)
        .map(|(chapter, result)| row(chapter, result))
        .collect();
    let failed = results.iter().filter(|r| r.is_err()).count();
    let value = serde_json::json!({ "chapters": rows, "failed": failed });
    ui.result(&value, || human(&results, failed));
    Ok(if failed == 0 { 0 } else { 1 })
}

fn row(chapter: &std::path::Path, result: &Result<ChapterReport>) -> serde_json::Value {
    let name = chapter.file_stem().unwrap_or_default().to_string_lossy();
    match result {
        Ok(r) => serde_json::json!({
            "chapter": name, "ok": true, "commands": r.commands,
            "seconds": (r.seconds * 10.0).round() / 10.0, "skipped": r.skipped,
        }),
        Err(e) => serde_json::json!({ "chapter": name, "ok": false, "error": e.to_string() }),
    }
}

fn human(results: &[Result<ChapterReport>], failed: usize) -> String {
    let mut t = String::new();
    let mut skipped = 0;
    for result in results {
        match result {
            Ok(r) => {
                for skip in &r.skipped {
                    t.push_str(&format!("skipped {skip}\n"));
                }
                skipped += r.skipped.len();
            }
            Err(e) => t.push_str(&format!("{e}\n\n")),
        }
    }
    t.push_str(&format!(
        "{} chapter(s) ran, {failed} failed, {skipped} block(s) skipped",
        results.len()
    ));
    t
}
