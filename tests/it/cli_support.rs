//! Running the built `carelab` from the tests.

use std::path::PathBuf;
use std::process::Output;

use carelab::labs::workspace::CheckReport;

/// The `carelab` binary this test build made.
pub fn exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_carelab"))
}

/// `out`, after asserting that its command succeeded; a failure shows the
/// exit code and what the command wrote on stderr.
#[track_caller]
pub fn succeeded(out: Output) -> Output {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The ids of a lab check's failed checks, in report order.
pub fn failed_checks(report: &CheckReport) -> Vec<&str> {
    report
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.id.as_str())
        .collect()
}
