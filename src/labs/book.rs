//! `carelab book`: check, build and serve the guide.
//!
//! The guide is an mdBook in `book/`, built with the mdBook library. Before
//! building, every `{{#include ...}}` and every relative link to a Markdown
//! file is checked, because mdBook only warns about those and a guide with a
//! missing lab chapter must fail loudly (in the tests, too).

use std::fs;
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, IoContext, Result};

/// The `book/` folder of the source tree this binary was built from.
pub fn source_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("book")
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

/// Build the book in `book_dir` into `out` (default: `book_dir/book`).
/// Returns the folder holding `index.html`.
pub fn build(book_dir: &Path, out: Option<&Path>) -> Result<PathBuf> {
    if !book_dir.join("book.toml").is_file() {
        return Err(Error::usage(format!(
            "no book.toml in {}: run `carelab book` from a CareLab source tree, or pass --dir",
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
    let mut book = mdbook_driver::MDBook::load(book_dir).map_err(|e| {
        Error::failure(format!("loading the book in {}: {e:#}", book_dir.display()))
    })?;
    if let Some(out) = out {
        book.config.build.build_dir = std::path::absolute(out).at(out)?;
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

/// Serve a built book on localhost until interrupted.
pub fn serve(root: PathBuf, port: u16, on_ready: impl FnOnce(SocketAddr)) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::failure(format!("starting the server: {e}")))?;
    runtime.block_on(async move {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
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
    fn static_paths_cannot_escape_the_root() {
        let root = Path::new("/srv/book");
        assert_eq!(safe_join(root, "/a/b.html"), Some(root.join("a/b.html")));
        assert_eq!(safe_join(root, "/../etc/passwd"), None);
    }
}
