//! The one download: `scripts/package.sh` packs this build's binary, and
//! the bundle, unpacked into an empty folder far from the source tree and
//! run with an environment that names no part of it, runs the tour, lists
//! and starts a lab and builds the guide.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `./carelab ARGS` in `dir` with only PATH and HOME set: no CARGO_* and
/// no CARELAB_* variable points back at the repository.
fn bundled(dir: &Path, home: &Path, args: &[&str]) -> Output {
    let out = Command::new(dir.join("carelab"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "./carelab {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn the_bundle_runs_with_no_source_tree() {
    let temp = tempfile::tempdir().unwrap();
    let dist = temp.path().join("dist");
    let packed = Command::new("bash")
        .arg(repo().join("scripts/package.sh"))
        .args(["--binary", env!("CARGO_BIN_EXE_carelab"), "--out"])
        .arg(&dist)
        .current_dir(temp.path())
        .output()
        .unwrap();
    assert!(
        packed.status.success(),
        "package.sh: {}",
        String::from_utf8_lossy(&packed.stderr)
    );
    let tarball = PathBuf::from(String::from_utf8(packed.stdout).unwrap().trim());
    let version = env!("CARGO_PKG_VERSION");
    let name = tarball.file_name().unwrap().to_str().unwrap();
    assert!(
        name.starts_with(&format!("carelab-{version}-")) && name.ends_with(".tar.gz"),
        "{name}"
    );

    let unpacked = temp.path().join("unpacked");
    let home = temp.path().join("home");
    std::fs::create_dir_all(&unpacked).unwrap();
    std::fs::create_dir_all(&home).unwrap();
    let untar = Command::new("tar")
        .arg("-xzf")
        .arg(&tarball)
        .current_dir(&unpacked)
        .status()
        .unwrap();
    assert!(untar.success());
    let entries: Vec<_> = std::fs::read_dir(&unpacked).unwrap().collect();
    assert_eq!(entries.len(), 1, "one top folder in the bundle");
    let dir = unpacked.join(name.trim_end_matches(".tar.gz"));

    // The README starts with what to do, and names the glibc the binary needs.
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(
        readme
            .lines()
            .next()
            .unwrap()
            .contains("unpack and run `./carelab tour`"),
        "{readme}"
    );
    assert!(!readme.contains('@'), "a placeholder left in the README");
    let symbols = Command::new("objdump")
        .arg("-T")
        .arg(dir.join("carelab"))
        .output()
        .unwrap();
    let symbols = String::from_utf8_lossy(&symbols.stdout);
    let floor = symbols
        .split("GLIBC_")
        .skip(1)
        .filter_map(|s| {
            let v: String = s
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
            Some((parts.next()?, parts.next().unwrap_or(0), v))
        })
        .max()
        .unwrap()
        .2;
    assert!(
        readme.contains(&format!("glibc {floor} or newer")),
        "README's glibc floor is not {floor}"
    );

    // No path of the build machine's source tree is left in the binary.
    let bytes = std::fs::read(dir.join("carelab")).unwrap();
    let source = repo().to_string_lossy().into_owned();
    assert!(
        !bytes.windows(source.len()).any(|w| w == source.as_bytes()),
        "the bundled binary holds the path {source}"
    );

    // What the bundle ships beside the binary.
    for file in [
        "book/index.html",
        "book/learner/print.html",
        "labs/01-data/README.md",
        "datasets/scenarios/baseline.toml",
        "completions/carelab.bash",
        "completions/_carelab",
        "completions/carelab.fish",
        "completions/_carelab.ps1",
    ] {
        let len = std::fs::metadata(dir.join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}"))
            .len();
        assert!(len > 0, "{file} is empty");
    }
    let man = std::fs::read_to_string(dir.join("man/carelab.1")).unwrap();
    assert!(man.contains("\n.TH carelab 1"), "{man:.200}");

    // The tour, scaled down as in tests/it/tour.rs.
    let tour = bundled(
        &dir,
        &home,
        &[
            "--json",
            "--no-progress",
            "tour",
            "--patients",
            "300",
            "--seed",
            "3",
        ],
    );
    let stdout = String::from_utf8_lossy(&tour.stdout);
    assert!(
        stdout.contains("\"step\": \"promote it to production\""),
        "{stdout}"
    );
    assert!(dir.join("carelab-tour/runs/mlp/eval/eval.json").is_file());

    // Every lab the binary holds, listed from the bundle.
    let list = bundled(&dir, &home, &["--json", "lab", "list"]);
    let list = String::from_utf8_lossy(&list.stdout);
    let catalog = carelab::labs::Catalog::builtin().unwrap();
    for lab in &catalog.labs {
        assert!(
            list.contains(&lab.spec.slug),
            "{} not listed",
            lab.spec.slug
        );
    }

    // Lab 1 starts: its workspace holds the starter and the lab's data.
    bundled(&dir, &home, &["lab", "start", "1"]);
    let lab1 = catalog.find("1").unwrap();
    for (path, text) in &lab1.starter {
        let written = std::fs::read_to_string(dir.join("carelab-work/01-data").join(path))
            .unwrap_or_else(|e| panic!("starter {path}: {e}"));
        assert_eq!(&written, text, "starter {path}");
    }
    assert!(dir.join("carelab-work/progress.json").is_file());

    // The guide, built by the bundled binary from its own sources.
    bundled(&dir, &home, &["book", "--out", "guide"]);
    let full = std::fs::read_to_string(dir.join("guide/print.html")).unwrap();
    let learner = std::fs::read_to_string(dir.join("guide/learner/print.html")).unwrap();
    assert!(full.contains("Before the day") && !learner.contains("Before the day"));
    assert!(learner.contains("What you would do differently in production"));
}
