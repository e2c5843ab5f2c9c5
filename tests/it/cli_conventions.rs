//! Shell completions and the manual page come from the clap definitions
//! that parse the arguments: every verb and flag is in them.

use std::process::Command;

use super::cli_support::{exe, succeeded};

fn stdout(args: &[&str]) -> String {
    let out = succeeded(Command::new(exe()).args(args).output().unwrap());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn completions_for_every_shell_name_the_verbs_and_flags() {
    let bash = stdout(&["completions", "bash"]);
    assert!(bash.contains("_carelab()"), "a bash completion function");
    for word in [
        "scan-phi",
        "ingest",
        "completions",
        "--audit-log",
        "--cds-issuers",
    ] {
        assert!(bash.contains(word), "bash completion lacks {word}");
    }
    for (shell, marker) in [
        ("zsh", "#compdef carelab"),
        ("fish", "complete -c carelab"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion:arg-completer[carelab]"),
    ] {
        let text = stdout(&["completions", shell]);
        assert!(
            text.contains(marker),
            "{shell}: {}",
            &text[..text.len().min(200)]
        );
        assert!(
            text.contains("scan-phi"),
            "{shell} completion lacks scan-phi"
        );
    }
    // an unknown shell is a usage error naming the ones there are
    let out = Command::new(exe())
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tcsh") && err.contains("bash"), "{err}");
}

#[test]
fn the_manual_page_is_roff_with_every_verb() {
    let man = stdout(&["man"]);
    assert!(
        man.starts_with(".ie") || man.starts_with(".TH"),
        "{}",
        &man[..80]
    );
    assert!(man.contains(".TH carelab 1"), "a section-1 page");
    for verb in [
        "tour",
        "ingest",
        "deid",
        "scan\\-phi",
        "serve",
        "monitor",
        "lab",
        "man",
    ] {
        assert!(man.contains(verb), "the manual lacks {verb}");
    }
}
