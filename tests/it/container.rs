//! The Dockerfile and dev container, checked without a container engine:
//! a CI machine (or a learner's laptop) without Docker still learns when a
//! renamed folder, a new port or a new shared library breaks the image.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn carelab_help(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_carelab"))
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success(), "carelab {args:?} --help failed");
    String::from_utf8(out.stdout).unwrap()
}

/// One Dockerfile instruction: keyword (upper case) and its arguments, with
/// `\` continuations joined and comments dropped.
pub struct Instruction {
    pub keyword: String,
    pub args: String,
}

/// Stages in order: (name, instructions from its FROM on).
pub fn dockerfile_stages() -> Vec<(String, Vec<Instruction>)> {
    let text = fs::read_to_string(repo().join("Dockerfile")).unwrap();
    let mut logical = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(part) => current.push_str(&format!("{part} ")),
            None => {
                current.push_str(trimmed);
                logical.push(std::mem::take(&mut current));
            }
        }
    }
    let mut stages: Vec<(String, Vec<Instruction>)> = Vec::new();
    for line in logical {
        let (keyword, args) = line.split_once(char::is_whitespace).unwrap_or((&line, ""));
        let instruction = Instruction {
            keyword: keyword.to_uppercase(),
            args: args.trim().to_string(),
        };
        if instruction.keyword == "FROM" {
            let words: Vec<&str> = instruction.args.split_whitespace().collect();
            let name = match words.as_slice() {
                [_, as_, name] if as_.eq_ignore_ascii_case("as") => name.to_string(),
                _ => format!("stage{}", stages.len()),
            };
            stages.push((name, Vec::new()));
        }
        stages
            .last_mut()
            .expect("the Dockerfile starts with FROM")
            .1
            .push(instruction);
    }
    stages
}

/// The image the runtime stage builds on and the ports it exposes, for the
/// deploy/ manifests' check.
pub fn exposed_ports() -> BTreeSet<u16> {
    let stages = dockerfile_stages();
    let (_, runtime) = stages.last().unwrap();
    runtime
        .iter()
        .filter(|i| i.keyword == "EXPOSE")
        .flat_map(|i| i.args.split_whitespace().map(|p| p.parse::<u16>().unwrap()))
        .collect()
}

/// The port of a verb's default `--addr`, read from its help.
fn default_port(verb: &str) -> u16 {
    let help = carelab_help(&[verb]);
    let re = regex::Regex::new(r"\[default:\s+[\d.]+:(\d+)\]").unwrap();
    re.captures(&help)
        .unwrap_or_else(|| panic!("{verb} --addr has a default"))[1]
        .parse()
        .unwrap()
}

/// The port of `carelab serve`'s default `--addr`.
pub fn serve_default_port() -> u16 {
    default_port("serve")
}

/// The port of `carelab book --serve`'s default `--addr`.
pub fn book_port() -> u16 {
    default_port("book")
}

#[test]
fn every_copied_path_exists_and_is_not_docker_ignored() {
    let root = repo();
    let ignored: Vec<String> = fs::read_to_string(root.join(".dockerignore"))
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    let stages = dockerfile_stages();
    let mut copied = 0;
    for (index, (stage, instructions)) in stages.iter().enumerate() {
        for i in instructions.iter().filter(|i| i.keyword == "COPY") {
            let words: Vec<&str> = i.args.split_whitespace().collect();
            let flags: Vec<&str> = words
                .iter()
                .copied()
                .filter(|w| w.starts_with("--"))
                .collect();
            let paths: Vec<&str> = words
                .iter()
                .copied()
                .filter(|w| !w.starts_with("--"))
                .collect();
            assert!(
                paths.len() >= 2,
                "{stage}: COPY {} has no destination",
                i.args
            );
            let sources = &paths[..paths.len() - 1];
            if let Some(from) = flags.iter().find_map(|f| f.strip_prefix("--from=")) {
                assert!(
                    stages[..index].iter().any(|(name, _)| name == from),
                    "{stage}: COPY --from={from} names no earlier stage"
                );
                continue;
            }
            for source in sources {
                let source = source.trim_end_matches('/');
                assert!(
                    root.join(source).exists(),
                    "Dockerfile stage {stage}: COPY source {source} does not exist in the repository"
                );
                assert!(
                    !ignored.iter().any(|p| p.trim_matches('/') == source),
                    "Dockerfile stage {stage}: COPY source {source} is excluded by .dockerignore"
                );
                copied += 1;
            }
        }
    }
    assert!(copied >= 10, "only {copied} COPY sources found");
}

#[test]
fn build_and_runtime_stages_do_what_the_setup_chapter_says() {
    let stages = dockerfile_stages();
    assert_eq!(stages.len(), 2, "a build stage and a runtime stage");
    let (_, build) = &stages[0];
    let (_, runtime) = &stages[1];
    assert!(
        build[0].args.starts_with("rust:"),
        "build FROM {}",
        build[0].args
    );
    assert!(
        build
            .iter()
            .any(|i| i.keyword == "RUN" && i.args.contains("cargo build --release --locked")),
        "the build stage builds the release binary from Cargo.lock"
    );
    // The guide is inside the binary: the runtime stage builds its HTML
    // with the installed binary, no book sources copied.
    assert!(
        runtime
            .iter()
            .any(|i| i.keyword == "RUN" && i.args.contains("carelab book --out ")),
        "the runtime stage builds the guide's HTML from the binary"
    );
    assert!(
        !runtime
            .iter()
            .any(|i| i.keyword == "COPY" && i.args.split_whitespace().any(|a| a == "book")),
        "the book's sources are in the binary; the image needs no copy"
    );
    assert!(
        runtime[0].args.contains("-slim"),
        "runtime FROM {}",
        runtime[0].args
    );
    let user = runtime
        .iter()
        .rfind(|i| i.keyword == "USER")
        .expect("the runtime stage sets a user");
    assert!(
        user.args != "root" && user.args != "0",
        "runs as {}",
        user.args
    );
    let cmd = runtime.iter().rfind(|i| i.keyword == "CMD").unwrap();
    let cmd: Vec<String> = serde_json::from_str(&cmd.args).expect("CMD in exec form");
    assert_eq!(cmd, ["carelab", "tour"]);
    // What the Dockerfile tells a learner to run to reach the book through
    // a published port must parse.
    let text = fs::read_to_string(repo().join("Dockerfile")).unwrap();
    let re = regex::Regex::new(r"carelab book --serve --addr 0\.0\.0\.0:(\d+)").unwrap();
    let port: u16 = re
        .captures(&text)
        .expect("the Dockerfile says how to serve the book beyond loopback")[1]
        .parse()
        .unwrap();
    assert_eq!(port, book_port());
    let help = carelab_help(&["book"]);
    assert!(
        help.contains("--serve") && help.contains("--addr <ADDR>"),
        "{help}"
    );
}

#[test]
fn exposed_and_forwarded_ports_are_the_clis() {
    let expected: BTreeSet<u16> = [serve_default_port(), book_port()].into();
    assert_eq!(exposed_ports(), expected, "Dockerfile EXPOSE");
    let dev: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(repo().join(".devcontainer/devcontainer.json")).unwrap(),
    )
    .unwrap();
    let forwarded: BTreeSet<u16> = dev["forwardPorts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_u64().unwrap() as u16)
        .collect();
    assert_eq!(forwarded, expected, "devcontainer forwardPorts");
    assert_eq!(dev["postCreateCommand"], "cargo build --locked");
}

/// Every shared library `ldd` lists for the binary comes from a Debian
/// package the runtime stage installs: a new crate that links, say,
/// libssl fails here instead of in a learner's `docker run`.
#[cfg(target_os = "linux")]
#[test]
fn the_runtime_stage_installs_every_library_the_binary_links() {
    let out = std::process::Command::new("ldd")
        .arg(env!("CARGO_BIN_EXE_carelab"))
        .output()
        .expect("ldd runs");
    assert!(out.status.success());
    let listing = String::from_utf8(out.stdout).unwrap();
    // Library soname prefix -> the Debian package that ships it.
    let packages = [
        ("libc.so", "libc6"),
        ("libm.so", "libc6"),
        ("libpthread.so", "libc6"),
        ("libdl.so", "libc6"),
        ("librt.so", "libc6"),
        ("ld-linux", "libc6"),
        ("libgcc_s.so", "libgcc-s1"),
    ];
    let stages = dockerfile_stages();
    let installs: String = stages
        .last()
        .unwrap()
        .1
        .iter()
        .filter(|i| i.keyword == "RUN" && i.args.contains("apt-get install"))
        .map(|i| format!(" {} ", i.args))
        .collect();
    let mut libraries = 0;
    for line in listing.lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let name = name.rsplit('/').next().unwrap();
        if name.is_empty() || name.starts_with("linux-vdso") {
            continue;
        }
        let package = packages
            .iter()
            .find(|(prefix, _)| name.starts_with(prefix))
            .map(|(_, package)| *package)
            .unwrap_or_else(|| {
                panic!("the binary links {name}: name its Debian package here and install it in the Dockerfile's runtime stage")
            });
        assert!(
            installs.contains(&format!(" {package} ")),
            "the binary links {name} from {package}, which the runtime stage does not install"
        );
        libraries += 1;
    }
    assert!(
        libraries >= 2,
        "ldd listed only {libraries} libraries:\n{listing}"
    );
}
