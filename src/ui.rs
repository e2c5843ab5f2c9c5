//! How a verb talks to the person or script that ran it.
//!
//! One `Ui` is made from the global flags and passed down. Human messages go
//! to stderr so that stdout carries only results (a table, or JSON with
//! `--json`). Long work shows a progress bar on a terminal and plain lines
//! otherwise, and nothing at all with `--no-progress` or `-q`.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Verbosity {
    Quiet,
    #[default]
    Normal,
    Verbose,
}

#[derive(Debug, Clone, Default)]
pub struct Ui {
    pub json: bool,
    pub verbosity: Verbosity,
    pub progress: bool,
}

impl Ui {
    pub fn new(json: bool, quiet: bool, verbose: u8, no_progress: bool) -> Self {
        let verbosity = if quiet {
            Verbosity::Quiet
        } else if verbose > 0 {
            Verbosity::Verbose
        } else {
            Verbosity::Normal
        };
        Ui {
            json,
            verbosity,
            progress: !no_progress && !quiet,
        }
    }

    /// A silent Ui for tests and library callers.
    pub fn silent() -> Self {
        Ui {
            json: false,
            verbosity: Verbosity::Quiet,
            progress: false,
        }
    }

    /// A status line for people (stderr); hidden by `-q`.
    pub fn info(&self, msg: impl AsRef<str>) {
        if self.verbosity != Verbosity::Quiet {
            eprintln!("{}", msg.as_ref());
        }
    }

    /// Detail shown only with `-v`.
    pub fn detail(&self, msg: impl AsRef<str>) {
        if self.verbosity == Verbosity::Verbose {
            eprintln!("{}", msg.as_ref());
        }
    }

    pub fn warn(&self, msg: impl AsRef<str>) {
        eprintln!("warning: {}", msg.as_ref());
    }

    /// Print a verb's result: JSON with `--json`, else the human text.
    pub fn result<T: Serialize>(&self, value: &T, human: impl FnOnce() -> String) {
        if self.json {
            stdout_line(
                &serde_json::to_string_pretty(value)
                    .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")),
            );
        } else {
            let text = human();
            if !text.is_empty() {
                stdout_line(text.trim_end());
            }
        }
    }

    /// Progress over `total` units of work labelled `what`.
    pub fn progress(&self, total: u64, what: &str) -> Progress {
        let terminal = std::io::stderr().is_terminal();
        let bar = (self.progress && terminal).then(|| {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg:>12} [{bar:30}] {pos}/{len} ({per_sec}, eta {eta}) {prefix}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_message(what.to_string());
            bar
        });
        Progress {
            bar,
            plain: self.progress && !terminal,
            what: what.to_string(),
            total,
            done: 0,
            last_line: Instant::now(),
        }
    }
}

/// A progress reporter: a bar on a terminal, a line every few seconds otherwise.
pub struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
    what: String,
    total: u64,
    done: u64,
    last_line: Instant,
}

impl Progress {
    pub fn inc(&mut self, n: u64) {
        self.done += n;
        if let Some(bar) = &self.bar {
            bar.inc(n);
        } else if self.plain && self.last_line.elapsed() > Duration::from_secs(5) {
            self.last_line = Instant::now();
            eprintln!("{}: {}/{}", self.what, self.done, self.total);
        }
    }

    /// Extra text after the bar (e.g. the current loss).
    pub fn set_status(&self, status: impl Into<String>) {
        if let Some(bar) = &self.bar {
            bar.set_prefix(status.into());
        }
    }

    pub fn finish(self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        } else if self.plain {
            eprintln!("{}: {}/{} done", self.what, self.done, self.total);
        }
    }
}

/// One line on stdout. A reader that has gone away (`carelab ... | head`)
/// is no error of ours: the rest of the output is dropped, as a Unix tool
/// does, where `println!` would panic. Any other failure to write is said on
/// stderr.
pub fn stdout_line(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => eprintln!("error: writing the result to stdout: {e}"),
    }
}
