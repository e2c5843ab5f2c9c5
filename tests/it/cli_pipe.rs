//! A reader that stops early (`carelab ... | head`) ends the output quietly,
//! as with any Unix tool: no panic, no error, the verb's own exit status.

use std::process::{Command, Stdio};

use super::cli_support::exe;

#[test]
fn a_closed_stdout_is_no_panic() {
    for args in [&["--json", "lab", "list"][..], &["lab", "list"]] {
        let mut child = Command::new(exe())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // the reader goes away before the result is written
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}
