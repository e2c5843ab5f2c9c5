//! `carelab book`: check, build and serve the guide.
//!
//! The guide is an mdBook in `book/`, built with the mdBook library. Its
//! sources are compiled into the binary ([`EMBEDDED`], with the labs'
//! READMEs it includes from [`super::catalog::EMBEDDED`]), so the binary
//! alone builds and serves the edition it was built with; `--dir` builds an
//! edited copy instead. Before building, every `{{#include ...}}` and every
//! relative link to a Markdown file is checked, because mdBook only warns
//! about those and a guide with a missing lab chapter must fail loudly (in
//! the tests, too). Each build writes two editions: the whole guide, and in
//! [`LEARNER_DIR`] the learners' copy without the instructor part (links to
//! it left as plain text), so its `print.html` can be handed out.

use std::fs;
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};

use super::catalog::embed;
use crate::artifact::ScratchDir;
use crate::error::{Error, IoContext, Result};

/// Every file of `book/` but its build output: path under `book/`, contents.
/// A unit test compares the table with the folder, as for the labs.
pub const EMBEDDED: &[(&str, &str)] = embed![
    "book";
    "book.toml",
    "src/SUMMARY.md",
    "src/concepts/clinical-metrics.md",
    "src/concepts/cost-roi.md",
    "src/concepts/data-quality.md",
    "src/concepts/drift.md",
    "src/concepts/fhir.md",
    "src/concepts/gpus.md",
    "src/concepts/hl7v2.md",
    "src/concepts/omop.md",
    "src/concepts/outgrowing-one-machine.md",
    "src/concepts/population-model.md",
    "src/concepts/safe-harbor-gdpr.md",
    "src/concepts/serving.md",
    "src/concepts/training.md",
    "src/figures/bench-train.svg",
    "src/figures/data-flow.svg",
    "src/figures/eval-calibration.svg",
    "src/figures/eval-decision_curve.svg",
    "src/figures/eval-loss.svg",
    "src/figures/eval-pr.svg",
    "src/figures/eval-roc.svg",
    "src/figures/monitor-psi.svg",
    "src/figures/roi.svg",
    "src/fuzzing.md",
    "src/glossary.md",
    "src/instructor/guide.md",
    "src/instructor/writing-labs.md",
    "src/introduction.md",
    "src/labs/00-setup.md",
    "src/labs/01-data.md",
    "src/labs/02-legacy.md",
    "src/labs/03-interoperability.md",
    "src/labs/04-data-engineering.md",
    "src/labs/05-privacy.md",
    "src/labs/06-training.md",
    "src/labs/07-evaluation.md",
    "src/labs/08-infrastructure.md",
    "src/labs/09-deployment.md",
    "src/labs/10-monitoring.md",
    "src/labs/11-clinical-workflow.md",
    "src/reference/cli.md",
    "src/reference/data-dictionary.md",
    "src/reference/registry-schema.md",
    "src/setup.md",
];

/// The part of SUMMARY.md the learners' edition leaves out.
pub const INSTRUCTOR_PART: &str = "Instructors";

/// The learners' edition, inside the folder of the whole guide.
pub const LEARNER_DIR: &str = "learner";

/// A book's sources on disk: a folder given by the user, or the embedded
/// edition written to a scratch folder that goes when this is dropped.
pub struct Sources {
    /// The folder holding book.toml.
    pub dir: PathBuf,
    /// Whether these are the binary's own sources (not a `--dir`).
    pub embedded: bool,
    _scratch: Option<ScratchDir>,
}

impl Sources {
    /// `dir` if given, else the embedded book and labs unpacked side by side
    /// (the chapters include `../../../labs/NN-slug/README.md`).
    pub fn resolve(dir: Option<PathBuf>) -> Result<Sources> {
        if let Some(dir) = dir {
            return Ok(Sources {
                dir,
                embedded: false,
                _scratch: None,
            });
        }
        let scratch = ScratchDir::create(
            std::env::temp_dir().join(format!("carelab-book-src-{}", std::process::id())),
        )?;
        let dir = unpack(&scratch.0)?;
        Ok(Sources {
            dir,
            embedded: true,
            _scratch: Some(scratch),
        })
    }
}

/// Write the embedded book to `root/book` and the labs to `root/labs`;
/// returns `root/book`.
pub fn unpack(root: &Path) -> Result<PathBuf> {
    let trees = [("book", EMBEDDED), ("labs", super::catalog::EMBEDDED)];
    for (dir, files) in trees {
        for (rel, text) in files {
            let path = root.join(dir).join(rel);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).at(parent)?;
            }
            fs::write(&path, text).at(&path)?;
        }
    }
    Ok(root.join("book"))
}

/// Problems with includes and links in the book's Markdown sources, one line each.
pub fn lint(book_dir: &Path) -> Result<Vec<String>> {
    let src = book_dir.join("src");
    let mut problems = Vec::new();
    for rel in crate::artifact::list_files(&src)? {
        if rel.extension().and_then(|e| e.to_str()) != Some("md") {
            continue;
        }
        let file = src.join(&rel);
        let text = fs::read_to_string(&file).at(&file)?;
        let dir = file.parent().unwrap_or(&src).to_path_buf();
        for (line_no, line) in text.lines().enumerate() {
            let at = format!("{}:{}", rel.display(), line_no + 1);
            for target in includes(line) {
                if !dir.join(&target).is_file() {
                    problems.push(format!("{at}: include of missing file {target}"));
                }
            }
            for target in md_links(line) {
                if !dir.join(&target).is_file() {
                    let what = if target.ends_with(".md") {
                        "page"
                    } else {
                        "figure"
                    };
                    problems.push(format!("{at}: link to missing {what} {target}"));
                }
            }
        }
    }
    Ok(problems)
}

/// Paths in `{{#include PATH}}` (an optional `:anchor` or line range dropped).
fn includes(line: &str) -> Vec<String> {
    line.split("{{#include ")
        .skip(1)
        .filter_map(|s| s.split_once("}}"))
        .map(|(p, _)| p.trim().split(':').next().unwrap_or("").to_string())
        .collect()
}

/// Relative targets of Markdown links to pages and figures:
/// `[text](target.md#anchor)`, `![plot](figures/roc.svg)`.
fn md_links(line: &str) -> Vec<String> {
    line.split("](")
        .skip(1)
        .filter_map(|s| s.split_once(')'))
        .map(|(t, _)| t.split('#').next().unwrap_or("").trim().to_string())
        .filter(|t| {
            [".md", ".svg", ".png"].iter().any(|ext| t.ends_with(ext)) && !t.contains("://")
        })
        .collect()
}

/// Build the book in `book_dir` into `out` (default: the build folder its
/// book.toml names, `book_dir/book`), and the learners' edition into
/// `LEARNER_DIR` inside it. Returns the folder holding `index.html`.
pub fn build(book_dir: &Path, out: Option<&Path>) -> Result<PathBuf> {
    if !book_dir.join("book.toml").is_file() {
        return Err(Error::usage(format!(
            "no book.toml in {}: pass --dir with a folder holding the guide's book.toml, or leave --dir out to build the guide inside carelab",
            book_dir.display()
        )));
    }
    let problems = lint(book_dir)?;
    if !problems.is_empty() {
        return Err(Error::bad_input(
            book_dir.join("src").display(),
            None,
            "every include and chapter link to exist",
            problems.join("; "),
        ));
    }
    let out = match out {
        Some(out) => Some(std::path::absolute(out).at(out)?),
        None => None,
    };
    // The whole guide first: mdBook empties its output folder, and the
    // learners' edition lives inside it.
    let root = build_edition(book_dir, out.as_deref(), false)?;
    build_edition(book_dir, Some(&root.join(LEARNER_DIR)), true)?;
    Ok(root)
}

/// One mdBook build; `learner` leaves out the part titled [`INSTRUCTOR_PART`]
/// and every chapter under it.
fn build_edition(book_dir: &Path, out: Option<&Path>, learner: bool) -> Result<PathBuf> {
    let mut book = mdbook_driver::MDBook::load(book_dir).map_err(|e| {
        Error::failure(format!("loading the book in {}: {e:#}", book_dir.display()))
    })?;
    if let Some(out) = out {
        book.config.build.build_dir = out.to_path_buf();
    }
    if learner {
        let all = std::mem::take(&mut book.book.items);
        let dropped = chapter_paths(&all);
        book.book.items = without_part(all, INSTRUCTOR_PART);
        let kept = chapter_paths(&book.book.items);
        let gone: Vec<PathBuf> = dropped.into_iter().filter(|p| !kept.contains(p)).collect();
        unlink(&mut book.book.items, &gone);
    }
    book.build()
        .map_err(|e| Error::failure(format!("building the book: {e:#}")))?;
    let dir = book.build_dir_for("html");
    let root = if dir.join("index.html").is_file() {
        dir
    } else {
        book.config.build.build_dir.clone()
    };
    Ok(if root.is_absolute() {
        root
    } else {
        book_dir.join(root)
    })
}

/// `items` without the part titled `title`: its title and everything up to
/// the next part title.
fn without_part(
    items: Vec<mdbook_driver::book::BookItem>,
    title: &str,
) -> Vec<mdbook_driver::book::BookItem> {
    use mdbook_driver::book::BookItem;
    let mut inside = false;
    items
        .into_iter()
        .filter(|item| {
            if let BookItem::PartTitle(t) = item {
                inside = t.trim() == title;
            }
            !inside
        })
        .collect()
}

/// The source paths of every chapter in `items`, sub-chapters included.
fn chapter_paths(items: &[mdbook_driver::book::BookItem]) -> Vec<PathBuf> {
    use mdbook_driver::book::BookItem;
    let mut paths = Vec::new();
    for item in items {
        if let BookItem::Chapter(c) = item {
            paths.extend(c.path.clone());
            paths.extend(chapter_paths(&c.sub_items));
        }
    }
    paths
}

/// Turn Markdown links to the chapters in `gone` into their plain text, so
/// an edition without those chapters has no dead links to them.
fn unlink(items: &mut [mdbook_driver::book::BookItem], gone: &[PathBuf]) {
    use mdbook_driver::book::BookItem;
    for item in items {
        let BookItem::Chapter(c) = item else { continue };
        if let Some(path) = &c.path {
            // Links are relative to the chapter's folder under src/.
            let up = "../".repeat(path.components().count().saturating_sub(1));
            for target in gone {
                let rel = format!("{up}{}", target.to_string_lossy().replace('\\', "/"));
                let link = regex::Regex::new(&format!(
                    r"\[([^\]]*)\]\({}(#[^)]*)?\)",
                    regex::escape(&rel)
                ))
                .expect("an escaped path is a valid pattern");
                c.content = link.replace_all(&c.content, "$1").into_owned();
            }
        }
        unlink(&mut c.sub_items, gone);
    }
}

/// Serve a built book at `addr` until interrupted; `on_ready` gets the
/// address bound (port 0 picks a free one).
pub fn serve(root: PathBuf, addr: SocketAddr, on_ready: impl FnOnce(SocketAddr)) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::failure(format!("starting the server: {e}")))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| Error::failure(format!("cannot listen on {addr}: {e}")))?;
        let local = listener
            .local_addr()
            .map_err(|e| Error::failure(format!("listening: {e}")))?;
        on_ready(local);
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
            let root = root.clone();
            async move { static_file(&root, uri.path()).await }
        });
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|e| Error::failure(format!("serving the book: {e}")))
    })
}

async fn static_file(
    root: &Path,
    url_path: &str,
) -> (
    axum::http::StatusCode,
    [(axum::http::HeaderName, &'static str); 1],
    Vec<u8>,
) {
    use axum::http::{header, StatusCode};
    let not_found = (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain")],
        b"not found".to_vec(),
    );
    let Some(mut path) = safe_join(root, url_path) else {
        return not_found;
    };
    if path.is_dir() {
        path = path.join("index.html");
    }
    match tokio::fs::read(&path).await {
        Ok(bytes) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, content_type(&path))],
            bytes,
        ),
        Err(_) => not_found,
    }
}

/// `root` + the URL path, refusing anything that climbs out of `root`.
fn safe_join(root: &Path, url_path: &str) -> Option<PathBuf> {
    let rel = Path::new(url_path.trim_start_matches('/'));
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    Some(root.join(rel))
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css",
        "js" => "text/javascript",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Open a URL in the desktop's browser; a failure is only a warning.
pub fn open_browser(url: &str) -> std::io::Result<()> {
    let mut cmd = if cfg!(target_os = "macos") {
        std::process::Command::new("open")
    } else if cfg!(windows) {
        let mut c = std::process::Command::new("cmd");
        c.args(["/C", "start", ""]);
        c
    } else {
        std::process::Command::new("xdg-open")
    };
    cmd.arg(url).spawn().map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_includes_and_md_links() {
        assert_eq!(
            includes("{{#include ../../../labs/00-setup/README.md}}"),
            vec!["../../../labs/00-setup/README.md"]
        );
        assert_eq!(
            md_links("see [setup](setup.md#linux) and [web](https://x.org/a.md)"),
            vec!["setup.md"]
        );
    }

    #[test]
    fn lint_reports_missing_targets_with_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("src")).unwrap();
        fs::write(
            dir.path().join("src/a.md"),
            "ok\n[b](b.md)\n{{#include nope.md}}\n![roc](figures/roc.svg)\n",
        )
        .unwrap();
        let problems = lint(dir.path()).unwrap();
        assert_eq!(
            problems,
            vec![
                "a.md:2: link to missing page b.md",
                "a.md:3: include of missing file nope.md",
                "a.md:4: link to missing figure figures/roc.svg"
            ]
        );
    }

    #[test]
    fn embedded_table_matches_the_book_folder() {
        let book = Path::new(env!("CARGO_MANIFEST_DIR")).join("book");
        let on_disk: Vec<String> = crate::artifact::list_files(&book)
            .unwrap()
            .iter()
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            // book/book is the build output (.gitignore)
            .filter(|p| !p.starts_with("book/"))
            .collect();
        let mut embedded: Vec<String> = EMBEDDED.iter().map(|(p, _)| p.to_string()).collect();
        embedded.sort();
        assert_eq!(embedded, on_disk, "update EMBEDDED in src/labs/book.rs");
    }

    #[test]
    fn the_learner_edition_drops_the_instructor_part_only() {
        use mdbook_driver::book::{BookItem, Chapter};
        let chapter =
            |name: &str| BookItem::Chapter(Chapter::new(name, String::new(), "x.md", vec![]));
        let items = vec![
            chapter("Intro"),
            BookItem::PartTitle("Labs".into()),
            chapter("Lab 00"),
            BookItem::PartTitle("Instructors".into()),
            chapter("Guide"),
            BookItem::Separator,
            BookItem::PartTitle("Appendix".into()),
            chapter("Glossary"),
        ];
        let names: Vec<String> = without_part(items, INSTRUCTOR_PART)
            .iter()
            .map(|i| match i {
                BookItem::Chapter(c) => c.name.clone(),
                BookItem::PartTitle(t) => format!("# {t}"),
                BookItem::Separator => "---".into(),
            })
            .collect();
        assert_eq!(
            names,
            ["Intro", "# Labs", "Lab 00", "# Appendix", "Glossary"]
        );
    }

    #[test]
    fn links_to_a_dropped_chapter_become_plain_text() {
        use mdbook_driver::book::{BookItem, Chapter};
        let text = "See the [Instructor guide](instructor/guide.md#day) and [setup](setup.md).";
        let nested = "Ask ([guide](../instructor/guide.md)); [not it](instructor/guide.md).";
        let mut items = vec![
            BookItem::Chapter(Chapter::new("Intro", text.into(), "intro.md", vec![])),
            BookItem::Chapter(Chapter::new("Lab", nested.into(), "labs/00.md", vec![])),
        ];
        unlink(&mut items, &[PathBuf::from("instructor/guide.md")]);
        let contents: Vec<&str> = items
            .iter()
            .map(|i| match i {
                BookItem::Chapter(c) => c.content.as_str(),
                _ => "",
            })
            .collect();
        assert_eq!(
            contents,
            [
                "See the Instructor guide and [setup](setup.md).",
                // From labs/, only ../instructor/guide.md is the guide.
                "Ask (guide); [not it](instructor/guide.md)."
            ]
        );
    }

    #[test]
    fn static_paths_cannot_escape_the_root() {
        let root = Path::new("/srv/book");
        assert_eq!(safe_join(root, "/a/b.html"), Some(root.join("a/b.html")));
        assert_eq!(safe_join(root, "/../etc/passwd"), None);
    }
}
