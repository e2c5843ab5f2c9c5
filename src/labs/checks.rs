//! The check kinds, implemented once. A check inspects what the learner
//! produced (contents, not just existence) and says what it found and, when
//! it fails, what to do next.
//!
//! A failed check never says what it expected: that value is the answer,
//! and a learner who could copy it from the check's output would pass
//! without doing the lab. So the expected value stays inside [`compare`],
//! which returns an [`Outcome`] — a type with no room for it — and
//! [`describe`] is the one place that turns an outcome into the words the
//! learner sees (terminal, `--json`, progress). It names the file and field
//! to read and, for a value the learner wrote by hand, what they wrote; the
//! answer itself is only in the instructor's key and in `lab solve`.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

use super::spec::{CheckKind, CheckSpec, Compare, Stat, TomlScalar};
use super::template::Context;
use super::truth::Miss;
use super::values::{self, format_number, Found};

/// What one check found.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CheckResult {
    pub id: String,
    pub title: String,
    pub passed: bool,
    /// What was looked at and what is wrong with it (or why nothing could
    /// be read); never the value the check wanted.
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
        Ok(outcome) => (outcome.passed(), describe(&outcome)),
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

/// The value a check looked at: where it is (file and field), and the
/// value itself only when the learner wrote it by hand. A value read from
/// a file a command made is not shown even when the check fails: it is
/// often the answer to another check (the persons `ingest` counted are the
/// `persons` answers.toml asks for), and the learner can read it there.
#[derive(Debug, Clone, PartialEq)]
pub struct Looked {
    pub what: String,
    pub written: Option<String>,
}

/// What a check concluded. No variant holds the value a check expected,
/// so nothing made from an outcome can show it.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A value is what the check wants.
    Right(Looked),
    /// A value is not the one wanted. `from_your_data`: the wanted value
    /// is computed from the learner's own files (else it is the lab's).
    Wrong {
        looked: Looked,
        from_your_data: bool,
    },
    /// A value is outside a limit the lab states for everyone (a public
    /// requirement such as "AUROC at least 0.65", shown as it is).
    OutsideLimit { looked: Looked, limit: Limit },
    /// A value is outside a limit computed from the learner's own files.
    OutsideYourLimit(Looked),
    /// A value the check compares as a number is not one.
    NotANumber(Looked),
    /// A file holds all the text it should and none it must not.
    TextPresent { file: String },
    /// A file lacks some of the text the check looks for.
    TextMissing {
        file: String,
        missing: usize,
        of: usize,
    },
    /// A file holds text it must not; the text is shown only when the lab
    /// wrote it out (a computed one is not).
    TextForbidden { file: String, text: Option<String> },
    /// A command exited as it should and printed what it should.
    CommandOk { command: String, code: i32 },
    CommandExit {
        command: String,
        code: i32,
        wanted: i32,
    },
    CommandOutputMissing {
        command: String,
        missing: usize,
        of: usize,
    },
    /// An HTTP endpoint answered as it should.
    HttpOk { url: String, status: u16 },
    HttpStatus {
        url: String,
        status: u16,
        wanted: u16,
    },
    HttpBodyMissing {
        url: String,
        missing: usize,
        of: usize,
    },
    /// Every row of a table that the truth holds agrees with it.
    TruthAgrees { file: String },
    /// Rows disagree with the truth, grouped by what they really are.
    TruthDiffers { file: String, misses: Vec<Miss> },
    /// No row of the table is one the truth holds.
    TruthUnjoined { file: String, rows: usize },
    /// The query returns the table's rows.
    SqlAgrees { query: String, table: String },
    /// The query's rows differ from the table's (counts only, no values).
    SqlDiffers {
        query: String,
        table: String,
        verdict: super::sql_check::SqlVerdict,
    },
}

/// A public limit of the lab.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    AtLeast(f64),
    AtMost(f64),
}

impl Outcome {
    pub fn passed(&self) -> bool {
        matches!(
            self,
            Outcome::Right(_)
                | Outcome::TextPresent { .. }
                | Outcome::CommandOk { .. }
                | Outcome::HttpOk { .. }
                | Outcome::TruthAgrees { .. }
                | Outcome::SqlAgrees { .. }
        )
    }
}

/// The one place a check's outcome becomes words for the learner.
pub fn describe(outcome: &Outcome) -> String {
    let value = |l: &Looked| match &l.written {
        Some(v) => format!("{} is {v}", l.what),
        None => l.what.clone(),
    };
    let missing = |missing: usize, of: usize| {
        if of == 1 {
            "what this check looks for".to_string()
        } else {
            format!("{missing} of the {of} things this check looks for")
        }
    };
    match outcome {
        Outcome::Right(l) => match &l.written {
            Some(_) => value(l),
            None => format!("{} is as it should be", l.what),
        },
        Outcome::Wrong {
            looked,
            from_your_data,
        } => {
            // Not even the tolerance: with it, the answer's precision and
            // a bracket search are half the answer.
            let reason = if *from_your_data {
                "not the value your own data gives"
            } else {
                "not the value this check wants"
            };
            format!("{}: {reason}", value(looked))
        }
        Outcome::OutsideLimit { looked, limit } => {
            let limit = match limit {
                Limit::AtLeast(b) => format!("at least {}", format_number(*b)),
                Limit::AtMost(b) => format!("at most {}", format_number(*b)),
            };
            format!("{}: it must be {limit}", value(looked))
        }
        Outcome::OutsideYourLimit(l) => {
            format!("{}: outside what your own data allows", value(l))
        }
        Outcome::NotANumber(l) => format!("{}: not a number", value(l)),
        Outcome::TextPresent { file } => format!("{file} says what it should"),
        Outcome::TextMissing {
            file,
            missing: m,
            of,
        } => {
            format!("{file} lacks {}", missing(*m, *of))
        }
        Outcome::TextForbidden { file, text } => match text {
            Some(t) => format!("{file} still contains \"{t}\""),
            None => format!("{file} still contains something it must not"),
        },
        Outcome::CommandOk { command, code } => format!("`{command}` exited {code}"),
        Outcome::CommandExit {
            command,
            code,
            wanted,
        } => format!("`{command}` exited {code}; it must exit {wanted}"),
        Outcome::CommandOutputMissing {
            command,
            missing: m,
            of,
        } => format!("`{command}` did not print {}", missing(*m, *of)),
        Outcome::HttpOk { url, status } => format!("GET {url} answered {status}"),
        Outcome::HttpStatus {
            url,
            status,
            wanted,
        } => format!("GET {url} answered {status}; it must answer {wanted}"),
        Outcome::HttpBodyMissing {
            url,
            missing: m,
            of,
        } => {
            format!("GET {url} did not answer with {}", missing(*m, *of))
        }
        // No counts: how many results were set aside for an unknown code
        // is itself an answer the lab asks for.
        Outcome::TruthAgrees { file } => {
            format!("every row of {file} agrees with the generator's truth")
        }
        Outcome::TruthDiffers { file, misses } => {
            let each: Vec<String> = misses
                .iter()
                .map(|m| {
                    let mut parts = Vec::new();
                    if m.values > 0 {
                        parts.push("values that are not the true ones");
                    }
                    if m.codes > 0 {
                        parts.push("results under another code");
                    }
                    if m.dropped > 0 {
                        parts.push("results quarantined though the source sent them right");
                    }
                    format!("{}: {}", m.label, parts.join(", "))
                })
                .collect();
            format!(
                "{file} and its quarantine disagree with the generator's truth. {}",
                each.join("; ")
            )
        }
        Outcome::SqlAgrees { query, table } => {
            format!("{query} returns the rows of {table}")
        }
        Outcome::SqlDiffers {
            query,
            table,
            verdict: v,
        } => {
            let mut parts = Vec::new();
            if v.missing > 0 {
                parts.push(format!("{} of its rows are not in your result", v.missing));
            }
            if v.extra > 0 {
                parts.push(format!(
                    "{} rows of your result are not in it (or come twice)",
                    v.extra
                ));
            }
            for (column, n) in v.differing.iter().filter(|(_, n)| *n > 0) {
                parts.push(format!("{column} differs on {n} rows"));
            }
            format!(
                "{query} does not return the rows of {table}: {}",
                parts.join("; ")
            )
        }
        Outcome::TruthUnjoined { file, rows: 0 } => format!("{file} has no rows"),
        Outcome::TruthUnjoined { file, .. } => format!(
            "no row of {file} is a record the generator made (their ids are not the source's)"
        ),
    }
}

fn evaluate(kind: &CheckKind, env: &Env) -> Result<Outcome> {
    let ctx = env.ctx;
    let path = |p: &str| -> Result<PathBuf> { Ok(env.lab_dir.join(ctx.render(p)?)) };
    // Files are named as the learner knows them: inside the lab folder.
    let shown = |p: &str| ctx.render_shown(p);
    let unwritten = |what: String| Looked {
        what,
        written: None,
    };
    match kind {
        CheckKind::FileRows { path: p, expect } => {
            let n = values::csv_rows(&path(p)?)?;
            let looked = unwritten(format!("the number of data rows in {}", shown(p)));
            compare(&Found::Number(n as f64), expect, ctx, looked)
        }
        CheckKind::CsvColumnStat {
            path: p,
            column,
            stat,
            expect,
        } => {
            let found = values::csv_stat(&path(p)?, column, *stat)?;
            let looked = unwritten(format!(
                "{} in column {column} of {}",
                stat_words(*stat),
                shown(p)
            ));
            compare(&found, expect, ctx, looked)
        }
        CheckKind::JsonValue {
            path: p,
            pointer,
            expect,
        } => {
            let found = values::json_value(&path(p)?, pointer)?;
            let looked = unwritten(format!("{pointer} in {}", shown(p)));
            compare(&found, expect, ctx, looked)
        }
        CheckKind::TomlValue {
            path: p,
            key,
            expect,
        } => {
            // The learner's own answer (or map): what they wrote is theirs to see.
            let found = values::toml_value(&path(p)?, key)?;
            let looked = Looked {
                what: format!("{key} in {}", shown(p)),
                written: Some(written(&found)),
            };
            compare(&found, expect, ctx, looked)
        }
        CheckKind::ManifestField { dir, field, expect } => {
            let file = path(dir)?.join("manifest.json");
            let pointer = format!("/{}", field.replace('.', "/"));
            let found = values::json_value(&file, &pointer)?;
            let looked = unwritten(format!("{field} in {}/manifest.json", shown(dir)));
            compare(&found, expect, ctx, looked)
        }
        CheckKind::FileContains {
            path: p,
            contains,
            not_contains,
        } => {
            let file = path(p)?;
            let text = std::fs::read_to_string(&file).map_err(|e| Error::io(&file, e))?;
            let text_lower = text.to_lowercase();
            let mut missing = 0;
            for want in contains {
                if !text_lower.contains(&ctx.render(want)?.to_lowercase()) {
                    missing += 1;
                }
            }
            if missing > 0 {
                return Ok(Outcome::TextMissing {
                    file: shown(p),
                    missing,
                    of: contains.len(),
                });
            }
            for bad in not_contains {
                let rendered = ctx.render(bad)?;
                if text_lower.contains(&rendered.to_lowercase()) {
                    return Ok(Outcome::TextForbidden {
                        file: shown(p),
                        text: (rendered == *bad).then_some(rendered),
                    });
                }
            }
            Ok(Outcome::TextPresent { file: shown(p) })
        }
        CheckKind::Command {
            args,
            expect_exit,
            stdout_contains,
        } => {
            let rendered: Vec<String> =
                args.iter().map(|a| ctx.render(a)).collect::<Result<_>>()?;
            let out = run_carelab(env.exe, env.lab_dir, &rendered, Duration::from_secs(300))?;
            let shown_args: Vec<String> = args.iter().map(|a| ctx.render_shown(a)).collect();
            let command = format!("carelab {}", shown_args.join(" "));
            if out.code != *expect_exit {
                return Ok(Outcome::CommandExit {
                    command,
                    code: out.code,
                    wanted: *expect_exit,
                });
            }
            let missing = count_missing(stdout_contains, &out.stdout, ctx)?;
            if missing > 0 {
                return Ok(Outcome::CommandOutputMissing {
                    command,
                    missing,
                    of: stdout_contains.len(),
                });
            }
            Ok(Outcome::CommandOk {
                command,
                code: out.code,
            })
        }
        CheckKind::MatchesTruth {
            table,
            truth,
            relative_tolerance,
            quarantine,
            made_bad,
        } => {
            let set_aside_paths = match (quarantine, made_bad) {
                (Some(q), Some(b)) => Some((path(&q.path)?, q, path(&b.path)?, b)),
                _ => None,
            };
            let verdict = super::truth::judge(
                &path(&table.path)?,
                table,
                &path(&truth.path)?,
                truth,
                *relative_tolerance,
                set_aside_paths
                    .as_ref()
                    .map(|(q, qf, b, bf)| super::truth::SetAside {
                        quarantine: q,
                        fields: qf,
                        made_bad: b,
                        bad_fields: bf,
                    }),
            )?;
            let file = shown(&table.path);
            Ok(if verdict.compared == 0 {
                Outcome::TruthUnjoined {
                    file,
                    rows: verdict.unknown,
                }
            } else if verdict.misses.is_empty() {
                Outcome::TruthAgrees { file }
            } else {
                Outcome::TruthDiffers {
                    file,
                    misses: verdict.misses,
                }
            })
        }
        CheckKind::SqlMatches {
            db,
            query,
            table,
            key,
            columns,
            params,
        } => {
            let params = params
                .iter()
                .map(|(k, v)| Ok((k.clone(), ctx.render(v)?)))
                .collect::<Result<_>>()?;
            let verdict = super::sql_check::compare(
                &path(db)?,
                &path(query)?,
                &params,
                &path(table)?,
                key,
                columns,
            )?;
            let (query, table) = (shown(query), shown(table));
            Ok(if verdict.agrees() {
                Outcome::SqlAgrees { query, table }
            } else {
                Outcome::SqlDiffers {
                    query,
                    table,
                    verdict,
                }
            })
        }
        CheckKind::Http {
            url,
            expect_status,
            body_contains,
        } => {
            let (status, body) = http_get(&ctx.render(url)?, Duration::from_secs(5))?;
            let url = ctx.render_shown(url);
            if status != *expect_status {
                return Ok(Outcome::HttpStatus {
                    url,
                    status,
                    wanted: *expect_status,
                });
            }
            let missing = count_missing(body_contains, &body, ctx)?;
            if missing > 0 {
                return Ok(Outcome::HttpBodyMissing {
                    url,
                    missing,
                    of: body_contains.len(),
                });
            }
            Ok(Outcome::HttpOk { url, status })
        }
    }
}

fn stat_words(stat: Stat) -> &'static str {
    match stat {
        Stat::Mean => "the mean",
        Stat::Min => "the smallest value",
        Stat::Max => "the largest value",
        Stat::Sum => "the sum",
        Stat::Count => "the number of values",
        Stat::Missing => "the number of empty cells",
    }
}

/// How many of `wanted` (rendered) `text` lacks.
fn count_missing(wanted: &[String], text: &str, ctx: &Context) -> Result<usize> {
    let mut missing = 0;
    for want in wanted {
        if !text.contains(&ctx.render(want)?) {
            missing += 1;
        }
    }
    Ok(missing)
}

/// A value the learner wrote, as they would recognise it (text in quotes).
fn written(found: &Found) -> String {
    match found {
        Found::Text(t) => format!("\"{t}\""),
        other => other.display(),
    }
}

/// Judge a found value: `equals` (numbers within `tolerance`), `any_of`
/// (equal to one of them), `min`, `max`.
/// The wanted values are read here and go no further: the outcome says
/// whether the value is right and, for a limit the lab states as a plain
/// number, what that limit is; a limit computed from the learner's files
/// is as secret as an answer.
fn compare(found: &Found, expect: &Compare, ctx: &Context, looked: Looked) -> Result<Outcome> {
    let same = |want: &str| match (found.as_f64(), want.trim().parse::<f64>()) {
        (Some(a), Ok(b)) => (a - b).abs() <= expect.tolerance.unwrap_or(1e-9),
        _ => found.display().trim().eq_ignore_ascii_case(want.trim()),
    };
    if let Some(want) = &expect.equals {
        let (want, from_your_data) = rendered(want, ctx)?;
        if !same(&want) {
            return Ok(Outcome::Wrong {
                looked,
                from_your_data,
            });
        }
    }
    if !expect.any_of.is_empty() {
        let mut from_your_data = false;
        let mut first_error = None;
        let mut any = false;
        for want in &expect.any_of {
            match rendered(want, ctx) {
                Ok((want, computed)) => {
                    from_your_data |= computed;
                    any |= same(&want);
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if !any {
            // Nothing could be computed: say why (the output not made yet).
            if let (Some(e), false) = (first_error, from_your_data) {
                return Err(e);
            }
            return Ok(Outcome::Wrong {
                looked,
                from_your_data,
            });
        }
    }
    for (bound, at_least) in [(&expect.min, true), (&expect.max, false)] {
        let Some(bound) = bound else { continue };
        let (bound, computed) = rendered(bound, ctx)?;
        let Some(x) = found.as_f64() else {
            return Ok(Outcome::NotANumber(looked));
        };
        let b = bound.trim().parse::<f64>().map_err(|_| {
            Error::failure(format!(
                "the lab's {} for {} is not a number",
                if at_least { "minimum" } else { "maximum" },
                looked.what
            ))
        })?;
        if (at_least && x < b) || (!at_least && x > b) {
            return Ok(if computed {
                Outcome::OutsideYourLimit(looked)
            } else {
                let limit = if at_least {
                    Limit::AtLeast(b)
                } else {
                    Limit::AtMost(b)
                };
                Outcome::OutsideLimit { looked, limit }
            });
        }
    }
    Ok(Outcome::Right(looked))
}

/// A wanted value rendered for this learner, and whether a placeholder
/// made it (a value computed from their workspace, not the lab's own).
fn rendered(value: &TomlScalar, ctx: &Context) -> Result<(String, bool)> {
    let raw = value.as_text();
    let out = ctx.render(&raw)?;
    let computed = out != raw;
    Ok((out, computed))
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
    // One write: `write!` sends each piece of the format as its own
    // segment, and a server that answers after the first and closes resets
    // the connection under the rest.
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).map_err(fail)?;
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

    fn ctx() -> Context {
        let mut c = Context {
            seed: 5,
            data: "data".into(),
            ..Default::default()
        };
        c.expected.insert("p".into(), Ok("0.150".into()));
        c
    }

    fn looked(what: &str, written: Option<&str>) -> Looked {
        Looked {
            what: what.into(),
            written: written.map(String::from),
        }
    }

    #[test]
    fn compare_handles_numbers_text_and_bounds() {
        let c = ctx();
        let eq = |v: &str, tol| Compare {
            equals: Some(TomlScalar::Text(v.into())),
            tolerance: tol,
            ..Default::default()
        };
        let judge = |found: Found, expect: &Compare| {
            compare(&found, expect, &c, looked("p", Some("x")))
                .unwrap()
                .passed()
        };
        assert!(judge(
            Found::Number(0.152),
            &eq("{expected.p}", Some(0.005))
        ));
        assert!(!judge(
            Found::Number(0.16),
            &eq("{expected.p}", Some(0.005))
        ));
        assert!(judge(Found::Number(5.0), &eq("{seed}", None)));
        assert!(judge(
            Found::Text("Readmit_30d".into()),
            &eq("readmit_30d", None)
        ));
        let range = Compare {
            min: Some(TomlScalar::Int(2)),
            max: Some(TomlScalar::Float(3.5)),
            ..Default::default()
        };
        assert!(judge(Found::Number(3.0), &range));
        assert!(!judge(Found::Number(4.0), &range));
        assert!(!judge(Found::Number(1.0), &range));
        assert!(!judge(Found::Text("many".into()), &range));
        // One of several figures; one that cannot be computed is passed over.
        let one_of = Compare {
            any_of: vec![
                TomlScalar::Text("{expected.p}".into()),
                TomlScalar::Text("{expected.missing}".into()),
                TomlScalar::Float(0.3),
            ],
            tolerance: Some(0.001),
            ..Default::default()
        };
        assert!(judge(Found::Number(0.3), &one_of));
        assert!(judge(Found::Number(0.1505), &one_of));
        assert!(!judge(Found::Number(0.2), &one_of));
    }

    #[test]
    fn a_failed_comparison_never_says_what_it_wanted() {
        let c = ctx();
        let wrong = compare(
            &Found::Number(0.16),
            &Compare {
                equals: Some(TomlScalar::Text("{expected.p}".into())),
                tolerance: Some(0.005),
                ..Default::default()
            },
            &c,
            looked("prevalence in answers.toml", Some("0.16")),
        )
        .unwrap();
        assert_eq!(
            describe(&wrong),
            "prevalence in answers.toml is 0.16: not the value your own data gives"
        );
        // An answer written in the lab itself is just as secret.
        let literal = compare(
            &Found::Text("unit".into()),
            &Compare {
                equals: Some(TomlScalar::Text("assay".into())),
                ..Default::default()
            },
            &c,
            looked("cause in answers.toml", Some("\"unit\"")),
        )
        .unwrap();
        assert_eq!(
            describe(&literal),
            "cause in answers.toml is \"unit\": not the value this check wants"
        );
        // A limit the lab states for everyone is a requirement and is shown;
        // one computed from the learner's files is not.
        let public = compare(
            &Found::Number(0.61),
            &Compare {
                min: Some(TomlScalar::Float(0.65)),
                ..Default::default()
            },
            &c,
            looked("/valid_auroc in m.json", None),
        )
        .unwrap();
        assert_eq!(
            describe(&public),
            "/valid_auroc in m.json: it must be at least 0.65"
        );
        let computed = compare(
            &Found::Number(0.1),
            &Compare {
                min: Some(TomlScalar::Text("{expected.p}".into())),
                ..Default::default()
            },
            &c,
            looked("/persons in q.json", None),
        )
        .unwrap();
        assert_eq!(
            describe(&computed),
            "/persons in q.json: outside what your own data allows"
        );
        // A right value read from a command's output is not repeated either.
        let right = compare(
            &Found::Number(0.150),
            &Compare {
                equals: Some(TomlScalar::Text("{expected.p}".into())),
                ..Default::default()
            },
            &c,
            looked("/p in m.json", None),
        )
        .unwrap();
        assert_eq!(describe(&right), "/p in m.json is as it should be");
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
            (
                false,
                "the number of empty cells in column y of t.csv: it must be at most 0",
                "f"
            )
        );
        let names = spec(
            r#"{ kind = "file_contains", path = "r.md", contains = ["creatinine"], not_contains = ["TODO"] }"#,
        );
        assert!(run(&names, &env).passed);
        // What a file should say is the answer; what it must not is shown.
        let wants = spec(
            r#"{ kind = "file_contains", path = "r.md", contains = ["creatinine", "{expected.p}", "urea"] }"#,
        );
        assert_eq!(
            run(&wants, &env).detail,
            "r.md lacks 2 of the 3 things this check looks for"
        );
        let forbidden =
            spec(r#"{ kind = "file_contains", path = "r.md", not_contains = ["feature"] }"#);
        assert_eq!(
            run(&forbidden, &env).detail,
            "r.md still contains \"feature\""
        );
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
            // Read the whole request before answering, as a server does.
            let mut request = Vec::new();
            let mut buf = [0u8; 512];
            while !request.ends_with(b"\r\n\r\n") {
                let n = s.read(&mut buf).unwrap();
                assert!(n > 0, "the request ended early");
                request.extend_from_slice(&buf[..n]);
            }
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
