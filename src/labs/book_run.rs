//! Run the commands a chapter shows, the way a learner would, so that the
//! book cannot lie: an outdated flag, a file that is no longer written or a
//! step that no longer works fails the tests, naming the chapter's file and
//! line.
//!
//! One `bash` process runs a whole chapter, in a fresh folder, with the
//! `carelab` under test first on `PATH`: `cd`, `export`, pipes, `$?`, `&`
//! and job specs (`kill %1`) behave as in the learner's terminal. The runner
//! feeds it one command at a time and waits for that command to end, which
//! gives every command its own timeout and exit status, and lets the runner
//! act between commands on the chapter's `<!-- run: ... -->` notes
//! ([`RunNote`]): write the lab's solution files where the learner edits,
//! fill in a placeholder such as `SEED`, wait for a server to come up, stop
//! it with Ctrl-C. A command that fails stops the chapter, as `bash -e`
//! would; the runner checks each status itself rather than setting `-e`,
//! so that a command the chapter means to fail (`exit N`) can go on and
//! `echo $?` still prints what the learner sees.
//!
//! This is a library module rather than test code so that the tests and
//! `carelab book run-labs` (a rehearsal on a room's machine) share it. It
//! reuses the lab runner rather than copying it: the notes are parsed by
//! [`super::reference`] (the one fence parser the command check uses too),
//! solution files are written by [`Workspace::write_solution_files`] (what
//! `lab solve` ends with) and placeholders are rendered by the lab's own
//! template context. Only the background wait is its own: a chapter's
//! server is a job of the learner's shell (`kill %1` must reach it), so the
//! shell waits for its first line, where `lab solve` spawns `carelab`
//! itself.

use std::fs;
use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, IoContext, Result};

use super::catalog::{Catalog, Lab};
use super::reference::{run_blocks, RunBlock, ShellStep};
use super::workspace::{self, Workspace};

/// How the chapters are run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The `carelab` the chapters call; it is put first on `PATH`.
    pub exe: PathBuf,
    /// The longest one command may take.
    pub step_timeout: Duration,
}

/// What running one chapter did.
#[derive(Debug, Clone, PartialEq)]
pub struct ChapterReport {
    /// The chapter, as given.
    pub chapter: String,
    /// Commands run.
    pub commands: usize,
    /// Blocks not run: `file:line: why`.
    pub skipped: Vec<String>,
    pub seconds: f64,
}

/// A Markdown file with its whole-line `{{#include}}`s expanded; every
/// line remembers the file and line it came from, so messages name the
/// lab's README rather than the one-line chapter that includes it.
struct Source {
    text: String,
    origin: Vec<(String, usize)>,
}

impl Source {
    fn read(path: &Path, base: &Path) -> Result<Source> {
        let mut source = Source {
            text: String::new(),
            origin: Vec::new(),
        };
        source.append(path, base, 0)?;
        Ok(source)
    }

    fn append(&mut self, path: &Path, base: &Path, depth: usize) -> Result<()> {
        let text = fs::read_to_string(path).at(path)?;
        let shown = path
            .strip_prefix(base)
            .unwrap_or(path)
            .display()
            .to_string();
        let dir = path.parent().unwrap_or(Path::new("."));
        for (i, line) in text.lines().enumerate() {
            let include = line
                .trim()
                .strip_prefix("{{#include ")
                .and_then(|rest| rest.strip_suffix("}}"));
            match include {
                Some(target) if depth < 4 => {
                    self.append(&normalize(&dir.join(target.trim())), base, depth + 1)?;
                }
                _ => {
                    self.text.push_str(line);
                    self.text.push('\n');
                    self.origin.push((shown.clone(), i + 1));
                }
            }
        }
        Ok(())
    }

    /// `file:line` of a 1-based line of the expanded text.
    fn at(&self, line: usize) -> String {
        match line.checked_sub(1).and_then(|i| self.origin.get(i)) {
            Some((file, l)) => format!("{file}:{l}"),
            None => format!("line {line}"),
        }
    }
}

/// `a/b/../c` as `a/c`, so that included files are named plainly.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Run every shell block of `chapter` in `scratch`, an empty folder: the
/// learner's folder is `scratch/work`, the runner's own files go in
/// `scratch/run`. `base` shortens the
/// file names in messages; the lab whose slug is the chapter's file name
/// (`06-training.md`) provides the solution files and placeholders the
/// notes ask for. The error names the file and line of the command that
/// failed, the command, its exit status and the end of what it printed.
pub fn run_chapter(
    chapter: &Path,
    base: &Path,
    scratch: &Path,
    opts: &RunOptions,
) -> Result<ChapterReport> {
    let mut shell = Shell::start(scratch, opts)?;
    let result = chapter_in(&mut shell, chapter, base);
    let ended = result.and_then(|report| shell.finish().map(|()| report));
    shell.kill_all();
    ended
}

/// Run `chapters` in order as one learner does: one shell, one folder
/// `scratch/work` where the first chapter starts, and each later chapter
/// starting where the one before left the learner (so a chapter that says
/// `cd` to the wrong place fails here, where a fresh folder a chapter
/// would not see it). What a chapter left in the background is stopped at
/// its end. The run stops at the first chapter that fails: the ones after
/// it build on its work. `done` hears about each chapter as it ends.
pub fn run_path(
    chapters: &[PathBuf],
    base: &Path,
    scratch: &Path,
    opts: &RunOptions,
    done: impl Fn(&Path, &Result<ChapterReport>),
) -> Vec<Result<ChapterReport>> {
    let mut shell = match Shell::start(scratch, opts) {
        Ok(shell) => shell,
        Err(e) => return vec![Err(e)],
    };
    let mut results = Vec::new();
    for chapter in chapters {
        let result = chapter_in(&mut shell, chapter, base).and_then(|report| {
            shell
                .stop_background(&format!("the end of {}", report.chapter))
                .map(|()| report)
        });
        done(chapter, &result);
        let failed = result.is_err();
        results.push(result);
        if failed {
            break;
        }
    }
    if results.iter().all(|r| r.is_ok()) {
        if let Err(e) = shell.finish() {
            results.push(Err(e));
        }
    }
    shell.kill_all();
    results
}

/// Run one chapter's blocks in `shell`, from wherever it stands.
fn chapter_in(shell: &mut Shell, chapter: &Path, base: &Path) -> Result<ChapterReport> {
    let started = Instant::now();
    let source = Source::read(chapter, base)?;
    let shown = chapter
        .strip_prefix(base)
        .unwrap_or(chapter)
        .display()
        .to_string();
    let blocks = run_blocks(&shown, &source.text)?;
    let catalog = Catalog::builtin()?;
    let slug = chapter.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let lab = catalog.labs.iter().find(|l| l.spec.slug == slug);
    let mut report = ChapterReport {
        chapter: shown,
        commands: 0,
        skipped: Vec::new(),
        seconds: 0.0,
    };
    run_blocks_in(shell, &source, &blocks, lab, &mut report)?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// The lab chapters of the book in `book_dir`: `src/labs/*.md`, in order.
pub fn lab_chapters(book_dir: &Path) -> Result<Vec<PathBuf>> {
    let dir = book_dir.join("src/labs");
    let mut chapters = Vec::new();
    for entry in fs::read_dir(&dir).at(&dir)? {
        let path = entry.at(&dir)?.path();
        if path.extension().is_some_and(|e| e == "md") {
            chapters.push(path);
        }
    }
    chapters.sort();
    Ok(chapters)
}

/// Run `chapters`, `jobs` at a time, each in its own empty folder
/// `work/<chapter file stem>`. `done` hears about each chapter as it ends;
/// the results come back in the order of `chapters`.
pub fn run_chapters(
    chapters: &[PathBuf],
    base: &Path,
    work: &Path,
    jobs: usize,
    opts: &RunOptions,
    done: impl Fn(&Path, &Result<ChapterReport>) + Sync,
) -> Vec<Result<ChapterReport>> {
    let queue = std::sync::Mutex::new(chapters.iter().enumerate());
    // The lock is let go before the chapter runs.
    let next = || queue.lock().ok().and_then(|mut q| q.next());
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| {
                while let Some((i, chapter)) = next() {
                    let stem = chapter.file_stem().unwrap_or(chapter.as_os_str());
                    let result = run_chapter(chapter, base, &work.join(stem), opts);
                    done(chapter, &result);
                    if let Ok(mut all) = results.lock() {
                        all.push((i, result));
                    }
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

fn run_blocks_in(
    shell: &mut Shell,
    source: &Source,
    blocks: &[RunBlock],
    lab: Option<&Lab>,
    report: &mut ChapterReport,
) -> Result<()> {
    for block in blocks {
        let at = source.at(block.fence_line);
        if let Some(why) = &block.note.skip {
            report.skipped.push(format!("{at}: {why}"));
            continue;
        }
        if block.note.stop {
            shell.stop_background(&at)?;
        }
        if let Some(files) = &block.note.solution {
            let lab = need_lab(lab, &at, "solution")?;
            let ws = shell.workspace(&at)?;
            ws.write_solution_files(lab, files)
                .map_err(|e| Error::failure(format!("{at}: run note `solution`: {e}")))?;
        }
        if block.note.background
            && block.steps.len() > 1
            && !block.steps.iter().any(|s| ends_in_background(&s.text))
        {
            return Err(Error::failure(format!(
                "{at}: a `background` block needs a command ending in `&`, or only one command"
            )));
        }
        if let Some((name, _)) = block
            .note
            .with
            .iter()
            .find(|(name, _)| !block.steps.iter().any(|s| contains_word(&s.text, name)))
        {
            return Err(Error::failure(format!(
                "{at}: the run note fills in {name}, but no command of the block shows it"
            )));
        }
        let mut statuses = Vec::new();
        for step in &block.steps {
            let text = fill_in(&block.note.with, step, shell, lab, source)?;
            let background =
                block.note.background && (ends_in_background(&text) || block.steps.len() == 1);
            let status = if background {
                shell.run_background(&text, block.note.until.as_deref())
            } else {
                shell.run(&text)
            };
            let status = status.map_err(|why| failure(source, step, &text, &why))?;
            report.commands += 1;
            let allowed = status.code == 0 || Some(status.code) == block.note.exit;
            if !allowed {
                let expected = match block.note.exit {
                    Some(n) => format!("0 or {n}"),
                    None => "0".to_string(),
                };
                let why = format!(
                    "exited {} (expected {expected}){}",
                    status.code,
                    tail_section(&status.output)
                );
                return Err(failure(source, step, &text, &why));
            }
            statuses.push(status.code);
        }
        if let Some(n) = block.note.exit {
            if !statuses.contains(&n) {
                return Err(Error::failure(format!(
                    "{at}: the run note says a command exits {n}, but they exited {statuses:?}"
                )));
            }
        }
    }
    Ok(())
}

fn need_lab<'a>(lab: Option<&'a Lab>, at: &str, what: &str) -> Result<&'a Lab> {
    lab.ok_or_else(|| {
        Error::failure(format!(
            "{at}: run note `{what}` needs a lab, and this chapter's file name is no lab's slug"
        ))
    })
}

fn failure(source: &Source, step: &ShellStep, text: &str, why: &str) -> Error {
    Error::failure(format!(
        "{}: `{}` {why}",
        source.at(step.line),
        one_line(text)
    ))
}

/// A command on one line for messages (continuations joined).
fn one_line(text: &str) -> String {
    text.lines()
        .map(|l| l.trim().trim_end_matches('\\').trim())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `output` as it goes at the end of a message (empty when there is none).
fn tail_section(output: &str) -> String {
    if output.trim().is_empty() {
        String::new()
    } else {
        format!(";{output}")
    }
}

/// The last lines of `text` under a heading, for a message.
fn tail(what: &str, text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return String::new();
    }
    let last = &lines[lines.len().saturating_sub(12)..];
    format!("\n  {what}, last lines:\n    {}", last.join("\n    "))
}

/// Whether a command line runs in the background (`cmd &`, not `a && b`).
fn ends_in_background(text: &str) -> bool {
    let t = text.trim_end();
    t.ends_with('&') && !t.ends_with("&&")
}

/// The command with the note's `with` words replaced by their values,
/// rendered now (a value may come from what the command before wrote).
fn fill_in(
    with: &[(String, String)],
    step: &ShellStep,
    shell: &Shell,
    lab: Option<&Lab>,
    source: &Source,
) -> Result<String> {
    let mut text = step.text.clone();
    for (name, template) in with {
        if !contains_word(&text, name) {
            continue;
        }
        let at = source.at(step.line);
        let lab = need_lab(lab, &at, "with")?;
        let ws = shell.workspace(&at)?;
        let ctx = workspace::context(&lab.spec, &ws.lab_dir(&lab.spec), ws.progress.seed);
        let value = ctx
            .render(template)
            .map_err(|e| Error::failure(format!("{at}: run note `with {name}={template}`: {e}")))?;
        text = replace_word(&text, name, &value);
    }
    Ok(text)
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The byte ranges where `word` stands on its own in `text`.
fn word_positions(text: &str, word: &str) -> Vec<usize> {
    text.match_indices(word)
        .filter(|(i, _)| {
            let before = text[..*i].chars().next_back();
            let after = text[i + word.len()..].chars().next();
            !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
        })
        .map(|(i, _)| i)
        .collect()
}

fn contains_word(text: &str, word: &str) -> bool {
    !word_positions(text, word).is_empty()
}

fn replace_word(text: &str, word: &str, value: &str) -> String {
    let mut out = String::new();
    let mut last = 0;
    for i in word_positions(text, word) {
        out.push_str(&text[last..i]);
        out.push_str(value);
        last = i + word.len();
    }
    out.push_str(&text[last..]);
    out
}

/// `'text'` for bash.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// How a command ended.
struct Status {
    code: i32,
    /// What it printed (for a background command: on its own stderr),
    /// as sections for a message.
    output: String,
}

/// The helpers every chapter's shell starts with. `__cl_end` reports a
/// command's status and returns it, so `$?` is the command's own;
/// `__cl_ready` waits until a background command printed (TEXT); `__cl_stop`
/// stops the background commands with Ctrl-C and waits for them.
const PRELUDE: &str = r#"
__cl_bgs=
__cl_end() { printf 'end %s %s\n' "$1" "$2" >>"$__CL_EVENTS"; return "$2"; }
__cl_ready() {
  while :; do
    if [ -n "$4" ]; then grep -qF -- "$4" "$3" 2>/dev/null && break
    else [ -s "$3" ] && break; fi
    if ! kill -0 "$2" 2>/dev/null; then
      wait "$2"; __cl_rc=$?; [ "$__cl_rc" = 0 ] && __cl_rc=125
      printf 'end %s %s\n' "$1" "$__cl_rc" >>"$__CL_EVENTS"; return 0
    fi
    sleep 0.1
  done
  printf 'end %s 0\n' "$1" >>"$__CL_EVENTS"
}
__cl_stop() {
  for __cl_p in $__cl_bgs; do
    if kill -0 "$__cl_p" 2>/dev/null; then kill -INT -- "-$__cl_p" 2>/dev/null || kill -INT "$__cl_p"; fi
    wait "$__cl_p" 2>/dev/null
  done
  __cl_bgs=
  printf 'end %s 0\n' "$1" >>"$__CL_EVENTS"
}
"#;

/// The chapter's bash process and the files it reports through.
struct Shell {
    child: Child,
    stdin: Option<ChildStdin>,
    /// The learner's folder: where the chapter starts.
    work: PathBuf,
    /// The runner's own files, outside the learner's folder.
    run: PathBuf,
    events: PathBuf,
    stdout: PathBuf,
    stderr: PathBuf,
    exe: PathBuf,
    timeout: Duration,
    next_id: usize,
    background: Vec<u32>,
}

impl Shell {
    fn start(scratch: &Path, opts: &RunOptions) -> Result<Shell> {
        let work = scratch.join("work");
        let run = scratch.join("run");
        if fs::read_dir(scratch).is_ok_and(|mut d| d.next().is_some()) {
            return Err(Error::usage(format!(
                "{} is not empty: a chapter runs in a fresh folder",
                scratch.display()
            )));
        }
        fs::create_dir_all(&work).at(&work)?;
        let bin = run.join("bin");
        fs::create_dir_all(&bin).at(&bin)?;
        let exe = fs::canonicalize(&opts.exe).at(&opts.exe)?;
        std::os::unix::fs::symlink(&exe, bin.join("carelab")).at(bin.join("carelab"))?;
        let events = run.join("events");
        let stdout = run.join("stdout");
        let stderr = run.join("stderr");
        fs::write(&events, "").at(&events)?;
        let path = match std::env::var_os("PATH") {
            Some(p) => {
                let mut dirs = vec![bin.clone()];
                dirs.extend(std::env::split_paths(&p));
                std::env::join_paths(dirs).unwrap_or_else(|_| bin.clone().into_os_string())
            }
            None => bin.clone().into_os_string(),
        };
        let mut cmd = Command::new("bash");
        cmd.args(["--noprofile", "--norc"])
            .current_dir(&work)
            .env("PATH", path)
            .env("NO_COLOR", "1")
            .env("__CL_EVENTS", &events)
            .stdin(Stdio::piped())
            .stdout(fs::File::create(&stdout).at(&stdout)?)
            .stderr(fs::File::create(&stderr).at(&stderr)?)
            .process_group(0);
        // Ctrl-C as a terminal delivers it, whatever the runner inherited:
        // a script started in the background (`cmd &` in a shell without
        // job control, as CI scripts and `nohup` wrappers do) runs with
        // SIGINT ignored, a chapter's bash would inherit that, and a shell
        // cannot trap or undo a signal ignored when it started, so the
        // background commands it stops would never see their Ctrl-C.
        // SAFETY: between fork and exec only async-signal-safe calls may
        // run; `signal` is one, and the closure touches nothing else.
        unsafe {
            cmd.pre_exec(|| {
                libc::signal(libc::SIGINT, libc::SIG_DFL);
                libc::signal(libc::SIGQUIT, libc::SIG_DFL);
                Ok(())
            });
        }
        // A learner's fresh terminal: none of the runner's own settings.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("CARELAB_") {
                cmd.env_remove(key);
            }
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| Error::failure(format!("could not start bash: {e}")))?;
        let stdin = child.stdin.take();
        let mut shell = Shell {
            child,
            stdin,
            work,
            run,
            events,
            stdout,
            stderr,
            exe,
            timeout: opts.step_timeout,
            next_id: 0,
            background: Vec::new(),
        };
        shell.send(PRELUDE)?;
        Ok(shell)
    }

    fn send(&mut self, script: &str) -> Result<()> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| Error::failure("the chapter's shell has no input"))?;
        stdin
            .write_all(script.as_bytes())
            .and_then(|()| stdin.flush())
            .map_err(|e| Error::failure(format!("the chapter's shell stopped reading: {e}")))
    }

    /// Run one command in the foreground.
    fn run(&mut self, text: &str) -> std::result::Result<Status, String> {
        let id = self.id();
        if ends_in_background(text) {
            // Its own process group, as in an interactive shell, so that
            // Ctrl-C (SIGINT) reaches it: bash without job control starts
            // background commands with SIGINT ignored.
            let script = format!(
                "set -m\n{{ {text}\n}} </dev/null\nset +m\n__cl_bgs=\"$__cl_bgs $!\"\nprintf 'bg %s\\n' $! >>\"$__CL_EVENTS\"\n__cl_end {id} 0\n"
            );
            return self.await_end(id, &script, None);
        }
        let script = format!("{{ {text}\n}} </dev/null\n__cl_end {id} $?\n");
        self.await_end(id, &script, None)
    }

    /// Start a command in the background (its stderr in a file of its own)
    /// and wait until it printed a line, or `until`.
    fn run_background(
        &mut self,
        text: &str,
        until: Option<&str>,
    ) -> std::result::Result<Status, String> {
        let id = self.id();
        let log = self.run.join(format!("background-{id}.stderr"));
        let command = text.trim_end();
        let command = command.strip_suffix('&').unwrap_or(command).trim_end();
        let script = format!(
            "set -m\n{{ {command} 2>>{log} &\n}} </dev/null\nset +m\n__cl_bgs=\"$__cl_bgs $!\"\nprintf 'bg %s\\n' $! >>\"$__CL_EVENTS\"\n__cl_ready {id} $! {log} {until}\n",
            log = quote(&log.to_string_lossy()),
            until = quote(until.unwrap_or("")),
        );
        let mut status = self.await_end(id, &script, Some(&log)).map_err(|why| {
            // A server that never says it is ready: say what was awaited.
            match (until, why.strip_prefix("did not finish")) {
                (Some(t), Some(rest)) => format!("did not print \"{t}\"{rest}"),
                (None, Some(rest)) => format!("printed nothing{rest}"),
                _ => why,
            }
        })?;
        if status.code != 0 {
            status.code = if status.code == 125 { 0 } else { status.code };
            let why = match until {
                Some(t) => format!("ended before it printed \"{t}\""),
                None => "ended before it printed anything".to_string(),
            };
            return Err(format!(
                "{why} (exit {}){}",
                status.code,
                tail_section(&status.output)
            ));
        }
        Ok(status)
    }

    /// Ctrl-C for everything running in the background, then wait for it.
    fn stop_background(&mut self, at: &str) -> Result<()> {
        let id = self.id();
        self.await_end(id, &format!("__cl_stop {id}\n"), None)
            .map(|_| ())
            .map_err(|why| Error::failure(format!("{at}: stopping the background commands: {why}")))
    }

    /// Stop what still runs and let bash exit.
    fn finish(&mut self) -> Result<()> {
        self.stop_background("the end of the chapter")?;
        self.send("exit 0\n")?;
        self.stdin = None;
        let started = Instant::now();
        while started.elapsed() < self.timeout {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(Error::failure(
            "the chapter's shell did not exit at the end",
        ))
    }

    fn id(&mut self) -> usize {
        self.next_id += 1;
        self.next_id
    }

    /// Send `script` and wait for its `end ID STATUS` event.
    fn await_end(
        &mut self,
        id: usize,
        script: &str,
        log: Option<&Path>,
    ) -> std::result::Result<Status, String> {
        let size = |p: &Path| fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let (stdout_from, stderr_from) = (size(&self.stdout), size(&self.stderr));
        self.send(script).map_err(|e| e.to_string())?;
        let started = Instant::now();
        let want = format!("end {id} ");
        loop {
            let events = fs::read_to_string(&self.events).unwrap_or_default();
            self.background = events
                .lines()
                .filter_map(|l| l.strip_prefix("bg ")?.trim().parse().ok())
                .collect();
            let ended = events
                .lines()
                .find_map(|l| l.strip_prefix(&want)?.trim().parse::<i32>().ok());
            let output = || match log {
                Some(path) => tail("stderr", &fs::read_to_string(path).unwrap_or_default()),
                None => {
                    tail("stderr", &read_from(&self.stderr, stderr_from))
                        + &tail("stdout", &read_from(&self.stdout, stdout_from))
                }
            };
            if let Some(code) = ended {
                return Ok(Status {
                    code,
                    output: output(),
                });
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "ended the shell (status {}){}",
                    status.code().unwrap_or(-1),
                    tail_section(&output())
                ));
            }
            if started.elapsed() > self.timeout {
                let out = output();
                self.kill_all();
                return Err(format!(
                    "did not finish within {} s{}",
                    self.timeout.as_secs(),
                    tail_section(&out)
                ));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// The learner's workspace, as `carelab` itself finds it from the
    /// folder the chapter started in.
    fn workspace(&self, at: &str) -> Result<Workspace> {
        let root = workspace::discover(&self.work);
        if !root.join(workspace::PROGRESS_FILE).is_file() {
            return Err(Error::failure(format!(
                "{at}: the run note needs a started lab, and no `carelab lab start` ran before it"
            )));
        }
        Workspace::open(&root, None, None, &self.exe)
    }

    /// Kill the shell, what it runs and what it left in the background.
    fn kill_all(&mut self) {
        let mut targets = vec![self.child.id()];
        targets.extend(self.background.iter().copied());
        for pid in targets {
            for target in [format!("-{pid}"), pid.to_string()] {
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &target])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
        }
        self.stdin = None;
        let _ = self.child.wait();
    }
}

/// A file's text from byte `from` on.
fn read_from(path: &Path, from: u64) -> String {
    let bytes = fs::read(path).unwrap_or_default();
    let start = usize::try_from(from).unwrap_or(0).min(bytes.len());
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_replaced_only_where_they_stand_alone() {
        let cmd = "carelab data generate --seed SEED --out SEEDS --name a_SEED T";
        assert!(contains_word(cmd, "SEED"));
        assert_eq!(
            replace_word(cmd, "SEED", "42"),
            "carelab data generate --seed 42 --out SEEDS --name a_SEED T"
        );
        assert_eq!(
            replace_word("roi --threshold T --out roi", "T", "0.137"),
            "roi --threshold 0.137 --out roi"
        );
        assert!(!contains_word("--target-sensitivity", "T"));
    }

    #[test]
    fn background_commands_are_told_from_and_chains() {
        assert!(ends_in_background("carelab serve --addr x &"));
        assert!(ends_in_background("a | b > c &  "));
        assert!(!ends_in_background("make && "));
        assert!(!ends_in_background("carelab lab check 1"));
        assert_eq!(quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn includes_are_expanded_and_lines_keep_their_origin() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("book")).unwrap();
        fs::write(dir.path().join("lab.md"), "# Lab\n\n```sh\nls\n```\n").unwrap();
        fs::write(
            dir.path().join("book/ch.md"),
            "Intro\n{{#include ../lab.md}}\nOutro\n",
        )
        .unwrap();
        let source = Source::read(&dir.path().join("book/ch.md"), dir.path()).unwrap();
        assert_eq!(source.text, "Intro\n# Lab\n\n```sh\nls\n```\nOutro\n");
        assert_eq!(source.at(1), "book/ch.md:1");
        assert_eq!(source.at(5), "lab.md:4");
        assert_eq!(source.at(7), "book/ch.md:3");
    }
}
