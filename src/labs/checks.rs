//! The check kinds, implemented once. A check inspects what the learner
//! produced (contents, not just existence) and says what it found and, when
//! it fails, what to do next.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

use super::spec::{CheckKind, CheckSpec, Compare};
use super::template::Context;
use super::values::{self, format_number, Found};

/// What one check found.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CheckResult {
    pub id: String,
    pub title: String,
    pub passed: bool,
    /// What was found (or why nothing could be).
    pub detail: String,
    /// What to do next; empty when the check passed.
    pub fix: String,
}

/// Where checks run: the lab workspace and the `carelab` executable that
/// `command` checks call.
pub struct Env<'a> {
    pub lab_dir: &'a Path,
    pub exe: &'a Path,
    pub ctx: &'a Context,
}

/// Run one check; never fails, a problem is a failed check with its reason.
pub fn run(check: &CheckSpec, env: &Env) -> CheckResult {
    let (passed, detail) = match evaluate(&check.check, env) {
        Ok(r) => r,
        Err(e) => (false, explain(&e, env.lab_dir)),
    };
    CheckResult {
        id: check.id.clone(),
        title: check.title.clone(),
        passed,
        detail,
        fix: if passed {
            String::new()
        } else {
            check.fix.clone()
        },
    }
}

/// An error as a sentence for the learner: a missing file is named by its
/// path inside the lab folder.
pub fn explain(e: &Error, lab_dir: &Path) -> String {
    match e {
        Error::Io { path, source } if source.kind() == std::io::ErrorKind::NotFound => {
            format!(
                "{} does not exist yet",
                path.strip_prefix(lab_dir).unwrap_or(path).display()
            )
        }
        other => other.to_string(),
    }
}

fn evaluate(kind: &CheckKind, env: &Env) -> Result<(bool, String)> {
    let path = |p: &str| -> Result<PathBuf> { Ok(env.lab_dir.join(env.ctx.render(p)?)) };
    match kind {
        CheckKind::FileRows { path: p, expect } => {
            let n = values::csv_rows(&path(p)?)?;
            compare(&Found::Number(n as f64), expect, env.ctx, "data rows")
        }
        CheckKind::CsvColumnStat {
            path: p,
            column,
            stat,
            expect,
        } => {
            let found = values::csv_stat(&path(p)?, column, *stat)?;
            compare(
                &found,
                expect,
                env.ctx,
                &format!("{stat:?} of {column}").to_lowercase(),
            )
        }
        CheckKind::JsonValue {
            path: p,
            pointer,
            expect,
        } => compare(
            &values::json_value(&path(p)?, pointer)?,
            expect,
            env.ctx,
            pointer,
        ),
        CheckKind::TomlValue {
            path: p,
            key,
            expect,
        } => compare(&values::toml_value(&path(p)?, key)?, expect, env.ctx, key),
        CheckKind::ManifestField { dir, field, expect } => {
            let file = path(dir)?.join("manifest.json");
            let pointer = format!("/{}", field.replace('.', "/"));
            compare(
                &values::json_value(&file, &pointer)?,
                expect,
                env.ctx,
                field,
            )
        }
        CheckKind::FileContains {
            path: p,
            contains,
            not_contains,
        } => {
            let file = path(p)?;
            let text = std::fs::read_to_string(&file).map_err(|e| Error::io(&file, e))?;
            let text_lower = text.to_lowercase();
            for want in contains {
                let want = env.ctx.render(want)?;
                if !text_lower.contains(&want.to_lowercase()) {
                    return Ok((
                        false,
                        format!("{} does not mention \"{want}\"", file.display()),
                    ));
                }
            }
            for bad in not_contains {
                let bad = env.ctx.render(bad)?;
                if text_lower.contains(&bad.to_lowercase()) {
                    return Ok((
                        false,
                        format!("{} still contains \"{bad}\"", file.display()),
                    ));
                }
            }
            Ok((true, format!("{} says what it should", file.display())))
        }
        CheckKind::Command {
            args,
            expect_exit,
            stdout_contains,
        } => {
            let args: Vec<String> = args
                .iter()
                .map(|a| env.ctx.render(a))
                .collect::<Result<_>>()?;
            let out = run_carelab(env.exe, env.lab_dir, &args, Duration::from_secs(300))?;
            let shown = format!("carelab {}", args.join(" "));
            if out.code != *expect_exit {
                return Ok((
                    false,
                    format!("`{shown}` exited {} (expected {expect_exit})", out.code),
                ));
            }
            for want in stdout_contains {
                let want = env.ctx.render(want)?;
                if !out.stdout.contains(&want) {
                    return Ok((false, format!("`{shown}` did not print \"{want}\"")));
                }
            }
            Ok((true, format!("`{shown}` exited {}", out.code)))
        }
        CheckKind::Http {
            url,
            expect_status,
            body_contains,
        } => {
            let url = env.ctx.render(url)?;
            let (status, body) = http_get(&url, Duration::from_secs(5))?;
            if status != *expect_status {
                return Ok((
                    false,
                    format!("GET {url} answered {status} (expected {expect_status})"),
                ));
            }
            for want in body_contains {
                let want = env.ctx.render(want)?;
                if !body.contains(&want) {
                    return Ok((false, format!("GET {url} did not contain \"{want}\"")));
                }
            }
            Ok((true, format!("GET {url} answered {status}")))
        }
    }
}

/// Judge a found value: `equals` (numbers within `tolerance`), `min`, `max`.
fn compare(found: &Found, expect: &Compare, ctx: &Context, what: &str) -> Result<(bool, String)> {
    let shown = found.display();
    if let Some(want) = &expect.equals {
        let want = ctx.render(&want.as_text())?;
        let ok = match (found.as_f64(), want.trim().parse::<f64>()) {
            (Some(a), Ok(b)) => (a - b).abs() <= expect.tolerance.unwrap_or(1e-9),
            _ => shown.trim().eq_ignore_ascii_case(want.trim()),
        };
        if !ok {
            let tol = expect
                .tolerance
                .map(|t| format!(" ± {}", format_number(t)))
                .unwrap_or_default();
            return Ok((false, format!("{what} is {shown}, expected {want}{tol}")));
        }
    }
    let number = |bound: &str| -> Result<(f64, f64)> {
        let x = found
            .as_f64()
            .ok_or_else(|| Error::failure(format!("{what} is {shown}, expected a number")))?;
        let b = bound
            .trim()
            .parse::<f64>()
            .map_err(|_| Error::failure(format!("the lab's bound '{bound}' is not a number")))?;
        Ok((x, b))
    };
    if let Some(min) = &expect.min {
        let (x, b) = number(&ctx.render(&min.as_text())?)?;
        if x < b {
            return Ok((
                false,
                format!("{what} is {shown}, expected at least {}", format_number(b)),
            ));
        }
    }
    if let Some(max) = &expect.max {
        let (x, b) = number(&ctx.render(&max.as_text())?)?;
        if x > b {
            return Ok((
                false,
                format!("{what} is {shown}, expected at most {}", format_number(b)),
            ));
        }
    }
    Ok((true, format!("{what} is {shown}")))
}

/// What a `carelab` run printed and how it ended.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Run `carelab ARGS` in `dir`, killing it after `limit`.
pub fn run_carelab(exe: &Path, dir: &Path, args: &[String], limit: Duration) -> Result<Output> {
    let mut child = Command::new(exe)
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::failure(format!("could not run {}: {e}", exe.display())))?;
    // Drain the pipes on threads so a chatty child cannot block on a full pipe.
    let mut out_pipe = child.stdout.take();
    let mut err_pipe = child.stderr.take();
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(p) = out_pipe.as_mut() {
            let _ = p.read_to_string(&mut s);
        }
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(p) = err_pipe.as_mut() {
            let _ = p.read_to_string(&mut s);
        }
        s
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::failure(format!(
                    "`carelab {}` took longer than {}s and was stopped",
                    args.join(" "),
                    limit.as_secs()
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(Error::failure(format!("waiting for carelab: {e}"))),
        }
    };
    Ok(Output {
        code: status.code().unwrap_or(-1),
        stdout: out_t.join().unwrap_or_default(),
        stderr: err_t.join().unwrap_or_default(),
    })
}

/// A plain HTTP/1.1 GET of an `http://host:port/path` URL: status and body.
pub fn http_get(url: &str, timeout: Duration) -> Result<(u16, String)> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| Error::usage(format!("only http:// URLs can be checked, not {url}")))?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let authority = if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:80")
    };
    let addr = authority
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| Error::failure(format!("cannot resolve {host}")))?;
    let fail = |e: std::io::Error| Error::failure(format!("GET {url}: {e}"));
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(fail)?;
    stream.set_read_timeout(Some(timeout)).map_err(fail)?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .map_err(fail)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(fail)?;
    let text = String::from_utf8_lossy(&raw);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Error::failure(format!("GET {url}: not an HTTP answer")))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labs::spec::TomlScalar;

    fn ctx() -> Context {
        let mut c = Context {
            seed: 5,
            data: "data".into(),
            ..Default::default()
        };
        c.expected.insert("p".into(), Ok("0.150".into()));
        c
    }

    #[test]
    fn compare_handles_numbers_text_and_bounds() {
        let c = ctx();
        let eq = |v: &str, tol| Compare {
            equals: Some(TomlScalar::Text(v.into())),
            tolerance: tol,
            ..Default::default()
        };
        assert!(
            compare(
                &Found::Number(0.152),
                &eq("{expected.p}", Some(0.005)),
                &c,
                "p"
            )
            .unwrap()
            .0
        );
        let (ok, detail) = compare(
            &Found::Number(0.16),
            &eq("{expected.p}", Some(0.005)),
            &c,
            "p",
        )
        .unwrap();
        assert!(!ok);
        assert_eq!(detail, "p is 0.16, expected 0.150 ± 0.005");
        assert!(
            compare(&Found::Number(5.0), &eq("{seed}", None), &c, "seed")
                .unwrap()
                .0
        );
        assert!(
            compare(
                &Found::Text("Readmit_30d".into()),
                &eq("readmit_30d", None),
                &c,
                "l"
            )
            .unwrap()
            .0
        );
        let range = Compare {
            min: Some(TomlScalar::Int(2)),
            max: Some(TomlScalar::Float(3.5)),
            ..Default::default()
        };
        assert!(compare(&Found::Number(3.0), &range, &c, "n").unwrap().0);
        assert!(!compare(&Found::Number(4.0), &range, &c, "n").unwrap().0);
        assert!(!compare(&Found::Number(1.0), &range, &c, "n").unwrap().0);
    }

    #[test]
    fn column_stat_and_contains_checks_read_the_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t.csv"), "x,y\n1,2\n3,\n").unwrap();
        std::fs::write(dir.path().join("r.md"), "Top feature: Creatinine\n").unwrap();
        let c = ctx();
        let env = Env {
            lab_dir: dir.path(),
            exe: Path::new("/nonexistent/carelab"),
            ctx: &c,
        };
        let spec = |kind: &str| -> CheckSpec {
            toml::from_str(&format!(
                "id = \"c\"\ntitle = \"t\"\nfix = \"f\"\ncheck = {kind}\n"
            ))
            .unwrap()
        };
        let mean = spec(
            r#"{ kind = "csv_column_stat", path = "t.csv", column = "x", stat = "mean", expect = { equals = 2 } }"#,
        );
        assert!(run(&mean, &env).passed);
        let missing = spec(
            r#"{ kind = "csv_column_stat", path = "t.csv", column = "y", stat = "missing", expect = { max = 0 } }"#,
        );
        let r = run(&missing, &env);
        assert_eq!(
            (r.passed, r.detail.as_str(), r.fix.as_str()),
            (false, "missing of y is 1, expected at most 0", "f")
        );
        let names = spec(
            r#"{ kind = "file_contains", path = "r.md", contains = ["creatinine"], not_contains = ["TODO"] }"#,
        );
        assert!(run(&names, &env).passed);
        let absent = spec(r#"{ kind = "file_contains", path = "nope.md", contains = ["x"] }"#);
        assert_eq!(run(&absent, &env).detail, "nope.md does not exist yet");
        let cmd = spec(r#"{ kind = "command", args = ["--version"] }"#);
        assert!(run(&cmd, &env).detail.contains("could not run"));
    }

    #[test]
    fn http_get_reads_status_and_body() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 512];
            let _ = s.read(&mut buf).unwrap();
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .unwrap();
        });
        let (status, body) = http_get(
            &format!("http://127.0.0.1:{port}/health"),
            Duration::from_secs(2),
        )
        .unwrap();
        server.join().unwrap();
        assert_eq!((status, body.as_str()), (200, "ok"));
    }
}
