//! The guide builds, with every lab chapter's README included.

use std::fs;

#[test]
fn book_builds_with_lab_readmes_included() {
    let book = carelab::labs::book::source_dir();
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
