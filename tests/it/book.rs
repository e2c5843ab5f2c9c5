//! The guide builds, with every lab chapter's README included.

use std::fs;

#[test]
fn book_builds_with_lab_readmes_included() {
    let book = repo().join("book");
    assert_eq!(
        carelab::labs::book::lint(&book).unwrap(),
        Vec::<String>::new()
    );
    let out = tempfile::tempdir().unwrap();
    let root = carelab::labs::book::build(&book, Some(out.path())).unwrap();
    assert!(root.join("index.html").is_file());
    let catalog = carelab::labs::Catalog::builtin().unwrap();
    let summary = fs::read_to_string(book.join("src/SUMMARY.md")).unwrap();
    for lab in &catalog.labs {
        let slug = &lab.spec.slug;
        assert!(
            summary.contains(&format!("labs/{slug}.md")),
            "{slug} missing from SUMMARY.md"
        );
        let html = fs::read_to_string(root.join(format!("labs/{slug}.html"))).unwrap();
        assert!(
            html.contains("What you would do differently in production"),
            "{slug}: README not included"
        );
    }
}

#[test]
fn the_binary_alone_builds_both_editions_of_its_own_guide() {
    // From a folder with no source tree: the guide comes out of the binary.
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_carelab"))
        .args(["--json", "book", "--out", "html"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let reply: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let html = dir.path().join("html");
    assert_eq!(
        std::path::Path::new(reply["learner_print"].as_str().unwrap()),
        html.join("learner/print.html")
    );
    let full = fs::read_to_string(html.join("print.html")).unwrap();
    let learner = fs::read_to_string(html.join("learner/print.html")).unwrap();
    // The instructor guide's own sections: in the whole guide only.
    for text in ["Before the day", "Instructor guide"] {
        assert!(full.contains(text), "full print.html lacks {text:?}");
    }
    assert!(
        !learner.contains("Before the day"),
        "the learners' print.html holds the instructor guide"
    );
    assert!(!html.join("learner/instructor/guide.html").exists());
    // ... and no page of it links there.
    let intro = fs::read_to_string(html.join("learner/introduction.html")).unwrap();
    assert!(!intro.contains("instructor/guide.html"), "dead link");
    let intro = fs::read_to_string(html.join("introduction.html")).unwrap();
    assert!(intro.contains("instructor/guide.html"));
    // Everything else is in both: every lab's README, included from labs/.
    for copy in [&full, &learner] {
        assert!(copy.contains("What you would do differently in production"));
    }
    assert!(html.join("labs/01-data.html").is_file());
    assert!(html.join("learner/labs/01-data.html").is_file());
    // The built figures come along.
    assert!(html.join("figures/roi.svg").is_file());
}

/// `carelab book --serve --addr ADDR` from a folder with no source tree:
/// the stderr lines up to "Serving the guide on URL", and the body of
/// GET /learner/print.html from it.
fn serve_and_fetch(addr: &str) -> (Vec<String>, String) {
    use std::io::{BufRead, Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_carelab"))
        .args(["book", "--out", "html", "--serve", "--addr", addr])
        .current_dir(dir.path())
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let port: u16 = loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            let _ = child.kill();
            panic!("book --serve ended: {lines:?}");
        }
        lines.push(line.trim_end().to_string());
        if let Some(url) = line.trim().strip_prefix("Serving the guide on http://") {
            let host_port = url.split('/').next().unwrap();
            break host_port.rsplit(':').next().unwrap().parse().unwrap();
        }
    };
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.write_all(b"GET /learner/print.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut reply = String::new();
    conn.read_to_string(&mut reply).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        reply.starts_with("HTTP/1.1 200"),
        "{}",
        &reply[..reply.len().min(200)]
    );
    (lines, reply)
}

#[test]
fn the_guide_is_served_at_the_address_given_with_a_warning_beyond_loopback() {
    let (lines, page) = serve_and_fetch("127.0.0.1:0");
    assert!(page.contains("Lab 01") && !page.contains("Before the day"));
    assert!(
        !lines.iter().any(|l| l.starts_with("warning:")),
        "{lines:?}"
    );
    let (lines, _) = serve_and_fetch("0.0.0.0:0");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("warning: 0.0.0.0:") && l.contains("instructor guide")),
        "{lines:?}"
    );
}

#[test]
fn a_broken_include_fails_the_build() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("src")).unwrap();
    fs::write(dir.path().join("book.toml"), "[book]\ntitle = \"t\"\n").unwrap();
    fs::write(
        dir.path().join("src/SUMMARY.md"),
        "# Summary\n\n[A](a.md)\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("src/a.md"),
        "{{#include ../missing/README.md}}\n",
    )
    .unwrap();
    let err = carelab::labs::book::build(dir.path(), None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("a.md:1") && err.contains("missing/README.md"),
        "{err}"
    );
}

fn carelab(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_carelab"))
        .args(args)
        .output()
        .unwrap()
}

fn repo() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn cli_reference_is_up_to_date() {
    let out = carelab(&["book", "cli-reference"]);
    assert!(out.status.success(), "{out:?}");
    let fresh = String::from_utf8(out.stdout).unwrap();
    let path = repo().join("book/src/reference/cli.md");
    if std::env::var_os("CARELAB_UPDATE_DOCS").is_some() {
        fs::write(&path, &fresh).unwrap();
    }
    let committed = fs::read_to_string(&path).unwrap_or_default();
    if committed != fresh {
        let line = committed
            .lines()
            .zip(fresh.lines())
            .position(|(a, b)| a != b)
            .map_or(committed.lines().count().min(fresh.lines().count()), |i| i)
            + 1;
        panic!(
            "book/src/reference/cli.md is out of date with the CLI (first difference at line {line}): \
             run `CARELAB_UPDATE_DOCS=1 cargo test --test it book::` and commit the file"
        );
    }
    // Every verb and a few known flags, defaults and values are in it.
    for needle in [
        "## `carelab data generate`",
        "## `carelab lab check`",
        "## `carelab book check-commands`",
        "- `--scenario <SCENARIO>`:",
        "Default: `terminal`. Values: `terminal`, `markdown`, `html`.",
        "Environment: `CARELAB_WORKSPACE`.",
        "Environment: `CARELAB_LABS`.",
        "## `carelab lab verify`",
    ] {
        assert!(fresh.contains(needle), "missing {needle}");
    }
    assert!(
        !fresh.contains("--pause-after-epoch-ms"),
        "hidden options stay out of the reference"
    );
}

#[test]
fn every_command_the_book_and_labs_show_parses() {
    let root = repo();
    let book = root.join("book/src");
    let labs = root.join("labs");
    let out = carelab(&[
        "--json",
        "book",
        "check-commands",
        book.to_str().unwrap(),
        labs.to_str().unwrap(),
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["failed"], serde_json::json!([]), "{report:#}");
    assert!(out.status.success());
    assert!(
        report["commands"].as_u64().unwrap() >= 20,
        "too few commands found: {report}"
    );
}

#[test]
fn a_renamed_flag_in_a_chapter_fails_the_command_check() {
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("lab.md");
    fs::write(
        &md,
        "Intro\n\n```sh\ncarelab lab start 1\ncarelab data generate --out d --patient 10\ncarelab lab chek 1\n```\n",
    )
    .unwrap();
    let out = carelab(&["book", "check-commands", md.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("lab.md:5: `carelab data generate --out d --patient 10`"),
        "{text}"
    );
    assert!(text.contains("--patient"), "{text}");
    assert!(text.contains("lab.md:6: `carelab lab chek 1`"), "{text}");
    assert!(
        text.contains("3 command line(s) checked, 2 do not parse"),
        "{text}"
    );
}

/// Every image a chapter or lab shows: its alt text is not empty (a reader
/// who cannot see it, or a browser that cannot draw it, still learns what
/// it shows), its file exists, and an SVG parses as XML — one unescaped `&`
/// makes a browser stop drawing and show only the alt text.
#[test]
fn every_image_has_alt_text_and_every_svg_is_well_formed_xml() {
    let root = repo();
    let image = regex::Regex::new(r"!\[([^\]]*)\]\(([^)\s]+)\)").unwrap();
    let mut pages: Vec<std::path::PathBuf> = Vec::new();
    let mut stack = vec![root.join("book/src"), root.join("labs")];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                pages.push(path);
            }
        }
    }
    // HTML images too: a chapter may use <img> for a width or a caption.
    let img = regex::Regex::new(r"(?is)<img\b[^>]*>").unwrap();
    let attr = |tag: &str, name: &str| -> Option<String> {
        regex::Regex::new(&format!(r#"(?is)\b{name}\s*=\s*(?:"([^"]*)"|'([^']*)')"#))
            .unwrap()
            .captures(tag)
            .map(|c| c.get(1).or(c.get(2)).unwrap().as_str().to_string())
    };
    let mut shown = 0;
    for page in &pages {
        let text = fs::read_to_string(page).unwrap();
        let markdown = image
            .captures_iter(&text)
            .map(|m| (m[1].to_string(), m[2].to_string()));
        let html = img.find_iter(&text).map(|m| {
            let tag = m.as_str();
            let src =
                attr(tag, "src").unwrap_or_else(|| panic!("{}: {tag} has no src", page.display()));
            (attr(tag, "alt").unwrap_or_default(), src)
        });
        for (alt, target) in markdown.chain(html) {
            let (alt, target) = (alt.trim(), target.as_str());
            assert!(
                !alt.is_empty(),
                "{}: image {target} has no alt text",
                page.display()
            );
            if target.starts_with("http") {
                continue;
            }
            let file = page.parent().unwrap().join(target);
            assert!(
                file.is_file(),
                "{}: image {target} does not exist",
                page.display()
            );
            shown += 1;
        }
    }
    assert!(shown >= 7, "found only {shown} images in the book and labs");
    // Every SVG under book/, not only figures/: one dropped anywhere else
    // breaks as silently.
    let mut svg_files = Vec::new();
    let mut stack = vec![root.join("book")];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "svg") {
                svg_files.push(path);
            }
        }
    }
    let mut svgs = 0;
    for path in svg_files {
        let text = fs::read_to_string(&path).unwrap();
        let doc = roxmltree::Document::parse(&text)
            .unwrap_or_else(|e| panic!("{}: not well-formed XML: {e}", path.display()));
        assert_eq!(
            doc.root_element().tag_name().name(),
            "svg",
            "{}",
            path.display()
        );
        svgs += 1;
    }
    assert!(svgs >= 9, "found only {svgs} SVG figures");
}
