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
