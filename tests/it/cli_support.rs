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

/// The DOM headless Chromium renders for `url` (Debian's `chromium`, or
/// `$CARELAB_CHROMIUM`), after `budget_ms` of virtual time for its scripts
/// if given;
/// `what` names the page in messages. `None` when no browser is installed,
/// unless `CARELAB_REQUIRE_CHECKERS=1` (as `.ci/run` sets), which makes
/// that a failure. The DOM goes to a file under `dir` (no pipe to fill),
/// and a browser that hangs is stopped rather than hanging the suite.
pub fn browser_dom(
    url: &str,
    dir: &std::path::Path,
    what: &str,
    budget_ms: Option<u32>,
) -> Option<String> {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let browser = std::env::var("CARELAB_CHROMIUM").unwrap_or_else(|_| "chromium".into());
    let required = std::env::var("CARELAB_REQUIRE_CHECKERS").as_deref() == Ok("1");
    let found = Command::new(&browser)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            !required,
            "CARELAB_REQUIRE_CHECKERS=1 but no `{browser}` to render {what}"
        );
        eprintln!("skipped the browser check: no `{browser}` (install Debian's chromium, or set CARELAB_CHROMIUM)");
        return None;
    }
    let dumped = dir.join("dom.html");
    let mut child = Command::new(&browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu"])
        .args(budget_ms.map(|ms| format!("--virtual-time-budget={ms}")))
        .arg("--dump-dom")
        .arg(format!(
            "--user-data-dir={}",
            dir.join("chromium-profile").display()
        ))
        .arg(url)
        .stdout(std::fs::File::create(&dumped).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(180) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{browser} did not finish rendering {what} in 180 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(std::fs::read_to_string(&dumped).unwrap())
}
