//! The CLI reference chapter, rendered from the clap definitions, and the
//! command lines the book shows, pulled out of its Markdown so that the
//! binary can parse each one with the real CLI.
//!
//! The fence parser here is the one the book runner ([`super::book_run`])
//! uses too, with the `<!-- run: ... -->` notes that tell it how to run a
//! block ([`RunNote`]).
//!
//! Both exist so that the guide cannot drift from the program: the reference
//! is regenerated and compared in the tests, and a renamed flag that a lab
//! still shows fails `carelab book check-commands`.

use std::fmt::Write as _;
use std::path::Path;

use clap::{Arg, ArgAction, Command};
use serde::Serialize;

/// Render the whole command tree of `root` (the binary's `Cli::command()`)
/// as one Markdown chapter. Only the help strings, names, defaults, values
/// and environment variables go in: no terminal width, no version number,
/// so the text is the same on every machine.
pub fn render_cli_reference(root: Command) -> String {
    let mut root = root;
    root.build();
    let name = root.get_name().to_string();
    let mut out = String::new();
    out.push_str("# CLI reference\n\n");
    out.push_str(
        "<!-- Generated from the clap definitions by `carelab book cli-reference`; do not edit.\n     \
         Regenerate with `CARELAB_UPDATE_DOCS=1 cargo test --test it book::`. -->\n\n",
    );
    if let Some(about) = root.get_long_about().or(root.get_about()) {
        let _ = writeln!(out, "{}\n", sentence(&collapse(&about.to_string())));
    }
    out.push_str("Every command takes these global options:\n\n");
    for arg in visible_args(&root) {
        out.push_str(&arg_item(arg));
    }
    out.push_str("\nCommands:\n\n");
    for sub in visible_subcommands(&root) {
        let path = format!("{name} {}", sub.get_name());
        let _ = writeln!(out, "- [`{path}`](#{}) — {}", anchor(&path), one_line(sub));
    }
    out.push('\n');
    for sub in visible_subcommands(&root) {
        render_command(&mut out, &format!("{name} {}", sub.get_name()), sub);
    }
    out
}

/// One `## carelab verb sub` section, then its subcommands, depth first.
fn render_command(out: &mut String, path: &str, cmd: &Command) {
    let _ = writeln!(out, "## `{path}`\n");
    if let Some(about) = cmd.get_long_about().or(cmd.get_about()) {
        let _ = writeln!(out, "{}\n", sentence(about.to_string().trim()));
    }
    let _ = writeln!(out, "```text\n{}\n```\n", usage(path, cmd));
    let args: Vec<&Arg> = visible_args(cmd).filter(|a| !a.is_global_set()).collect();
    let (positionals, options): (Vec<&Arg>, Vec<&Arg>) =
        args.into_iter().partition(|a| a.is_positional());
    if !positionals.is_empty() {
        out.push_str("Arguments:\n\n");
        for arg in positionals {
            out.push_str(&arg_item(arg));
        }
        out.push('\n');
    }
    if !options.is_empty() {
        out.push_str("Options:\n\n");
        for arg in options {
            out.push_str(&arg_item(arg));
        }
        out.push('\n');
    }
    let subs: Vec<&Command> = visible_subcommands(cmd).collect();
    if !subs.is_empty() {
        out.push_str("Subcommands:\n\n");
        for sub in &subs {
            let sub_path = format!("{path} {}", sub.get_name());
            let _ = writeln!(
                out,
                "- [`{sub_path}`](#{}) — {}",
                anchor(&sub_path),
                one_line(sub)
            );
        }
        out.push('\n');
        for sub in subs {
            render_command(out, &format!("{path} {}", sub.get_name()), sub);
        }
    }
}

/// The usage line, built from the arguments rather than clap's renderer
/// (which wraps to the terminal).
fn usage(path: &str, cmd: &Command) -> String {
    let mut line = path.to_string();
    let args: Vec<&Arg> = visible_args(cmd).filter(|a| !a.is_global_set()).collect();
    if args
        .iter()
        .any(|a| !a.is_positional() && !a.is_required_set())
    {
        line.push_str(" [OPTIONS]");
    }
    for arg in args
        .iter()
        .filter(|a| !a.is_positional() && a.is_required_set())
    {
        let _ = write!(line, " {}", flag_form(arg));
    }
    for arg in args.iter().filter(|a| a.is_positional()) {
        let name = value_name(arg);
        let many = matches!(arg.get_action(), ArgAction::Append)
            || arg.get_num_args().is_some_and(|n| n.max_values() > 1);
        let dots = if many { "..." } else { "" };
        if arg.is_required_set() {
            let _ = write!(line, " <{name}>{dots}");
        } else {
            let _ = write!(line, " [{name}]{dots}");
        }
    }
    if cmd.has_subcommands() {
        line.push_str(if cmd.is_subcommand_required_set() {
            " <COMMAND>"
        } else {
            " [COMMAND]"
        });
    }
    line
}

/// `--name <VALUE>`, `-s, --name` or `<NAME>`.
fn flag_form(arg: &Arg) -> String {
    if arg.is_positional() {
        return format!("<{}>", value_name(arg));
    }
    let mut s = String::new();
    if let Some(short) = arg.get_short() {
        let _ = write!(s, "-{short}");
        if arg.get_long().is_some() {
            s.push_str(", ");
        }
    }
    if let Some(long) = arg.get_long() {
        let _ = write!(s, "--{long}");
    }
    if arg.get_action().takes_values() {
        let _ = write!(s, " <{}>", value_name(arg));
    }
    s
}

fn value_name(arg: &Arg) -> String {
    arg.get_value_names()
        .and_then(|names| names.first())
        .map(|n| n.to_string())
        .unwrap_or_else(|| arg.get_id().as_str().to_uppercase())
}

/// One list item: the form, then help, required, default, values, env.
fn arg_item(arg: &Arg) -> String {
    let help = arg
        .get_long_help()
        .or(arg.get_help())
        .map(|h| h.to_string())
        .unwrap_or_default();
    let mut facts = Vec::new();
    if arg.is_required_set() {
        facts.push("Required.".to_string());
    }
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    if !defaults.is_empty() && arg.get_action().takes_values() {
        facts.push(format!("Default: `{}`.", defaults.join(",")));
    }
    let values: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| format!("`{}`", v.get_name()))
        .collect();
    if !values.is_empty() && arg.get_action().takes_values() {
        facts.push(format!("Values: {}.", values.join(", ")));
    }
    if let Some(env) = arg.get_env() {
        facts.push(format!("Environment: `{}`.", env.to_string_lossy()));
    }
    if matches!(arg.get_action(), ArgAction::Count) {
        facts.push("Repeatable.".to_string());
    }
    // clap drops the final period of a one-line doc comment; put it back
    // so the facts after it read as sentences.
    let mut text = sentence(&collapse(&help));
    for fact in facts {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&fact);
    }
    format!("- `{}`: {}\n", flag_form(arg), text)
}

/// Help text on one line (Markdown list items cannot hold blank lines
/// without indentation, and the doc comments are short).
fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn sentence(text: &str) -> String {
    let mut s = text.to_string();
    if !s.is_empty() && !s.ends_with(['.', '!', '?']) {
        s.push('.');
    }
    s
}

fn one_line(cmd: &Command) -> String {
    cmd.get_about()
        .map(|a| collapse(&a.to_string()))
        .unwrap_or_default()
}

fn visible_args(cmd: &Command) -> impl Iterator<Item = &Arg> {
    cmd.get_arguments().filter(|a| {
        !a.is_hide_set() && !matches!(a.get_action(), ArgAction::Help | ArgAction::Version)
    })
}

fn visible_subcommands(cmd: &Command) -> impl Iterator<Item = &Command> {
    // clap adds a `help` subcommand to every command with subcommands.
    cmd.get_subcommands()
        .filter(|c| !c.is_hide_set() && c.get_name() != "help")
}

/// mdBook's heading id for `## \`carelab data generate\``.
fn anchor(path: &str) -> String {
    path.to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '-' })
        .collect()
}

/// A `carelab ...` command line shown in a Markdown code block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShownCommand {
    /// The Markdown file, as given.
    pub file: String,
    /// 1-based line where the command starts.
    pub line: usize,
    /// The words, program name first, as a shell would split them.
    pub words: Vec<String>,
}

impl ShownCommand {
    /// The command as one line, for messages.
    pub fn text(&self) -> String {
        self.words.join(" ")
    }
}

/// Every `carelab` invocation in the fenced code blocks of `text` (a
/// Markdown file named `file`). A shell prompt (`$ `), environment
/// assignments before the program, `\` continuations, comments, pipes,
/// redirections and `&&`/`;` chains are understood; words are split with
/// shell quoting. `$VAR` and `<placeholder>` words are kept as they are,
/// which the CLI parses like any other value.
pub fn commands_in_markdown(file: &str, text: &str) -> Vec<ShownCommand> {
    let mut found = Vec::new();
    // The generated reference shows synopses, not commands, and is checked
    // against the CLI by regeneration instead.
    if text.contains(GENERATED_MARK) {
        return found;
    }
    for block in code_blocks(text) {
        if !SHELL_LANGS.contains(&block.lang.as_str()) {
            continue;
        }
        for (start, joined) in logical_lines(&block) {
            for words in expand_optional(&joined)
                .iter()
                .flat_map(|variant| invocations(variant))
            {
                found.push(ShownCommand {
                    file: file.to_string(),
                    line: start,
                    words,
                });
            }
        }
    }
    found
}

/// A fenced code block of a Markdown file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeBlock {
    /// The first word of the info string (`sh`, `toml`, or empty).
    pub lang: String,
    /// 1-based line of the opening fence.
    pub fence_line: usize,
    /// The lines inside the fence (1-based line, text), with the fence's
    /// own indentation removed (a fence inside a list item is indented).
    pub lines: Vec<(usize, String)>,
    /// The `<!-- run: ... -->` note on the line right before the fence:
    /// its line and the text after `run:`. See [`RunNote`].
    pub run_note: Option<(usize, String)>,
}

/// Every fenced code block of `text`, in order. This is the one fence
/// parser: the command check and the book runner both read blocks through
/// it. A line starting (after indentation) with three backticks or tildes
/// opens or closes a block; an unclosed block runs to the end of the text.
pub fn code_blocks(text: &str) -> Vec<CodeBlock> {
    let mut blocks = Vec::new();
    let mut open: Option<(CodeBlock, usize)> = None;
    let mut previous: Option<(usize, &str)> = None;
    for (i, raw) in text.lines().enumerate() {
        let trimmed = raw.trim_start();
        let fence = trimmed
            .strip_prefix("```")
            .or_else(|| trimmed.strip_prefix("~~~"));
        match (fence, open.take()) {
            (Some(_), Some((block, _))) => blocks.push(block),
            (Some(info), None) => {
                let lang = info.trim().split([',', ' ']).next().unwrap_or("");
                let run_note = previous.and_then(|(line, text)| {
                    let note = text.trim().strip_prefix("<!--")?.strip_suffix("-->")?;
                    let body = note.trim().strip_prefix("run:")?;
                    Some((line, body.trim().to_string()))
                });
                let block = CodeBlock {
                    lang: lang.to_string(),
                    fence_line: i + 1,
                    lines: Vec::new(),
                    run_note,
                };
                open = Some((block, raw.len() - trimmed.len()));
            }
            (None, Some((mut block, indent))) => {
                let cut = raw.len() - raw.trim_start().len();
                block
                    .lines
                    .push((i + 1, raw[cut.min(indent)..].to_string()));
                open = Some((block, indent));
            }
            (None, None) => {}
        }
        previous = Some((i + 1, raw));
    }
    if let Some((block, _)) = open {
        blocks.push(block);
    }
    blocks
}

/// The logical lines of a block: `\` continuations joined with a space,
/// each with the 1-based line where it starts.
fn logical_lines(block: &CodeBlock) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (line, raw) in &block.lines {
        let (start, mut joined) = pending.take().unwrap_or((*line, String::new()));
        if let Some(cont) = raw.trim_end().strip_suffix('\\') {
            joined.push_str(cont);
            joined.push(' ');
            pending = Some((start, joined));
            continue;
        }
        joined.push_str(raw);
        out.push((start, joined));
    }
    out.extend(pending);
    out
}

/// How the book runner treats one shell block: the directives of the
/// `<!-- run: ... -->` note on the line before its fence, separated by `;`.
/// The note is an HTML comment, so the rendered book does not show it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunNote {
    /// `skip: WHY`: the block is not run; the reason is listed in the
    /// runner's report. Keep skips rare.
    pub skip: Option<String>,
    /// `solution [FILE ...]`: before the block, write the lab's solution
    /// files (all, or the ones named) into the lab folder, standing in for
    /// the edits the learner makes between commands.
    pub solution: Option<Vec<String>>,
    /// `exit N`: a command of the block is meant to exit N (an alert, a
    /// refusal): each command exits 0 or N, and at least one exits N.
    pub exit: Option<i32>,
    /// `background [until TEXT]`: the block starts a process that keeps
    /// running (a server, a listener, a job to interrupt): each command
    /// ending in `&` (or the block's only command) is started in the
    /// background, and the runner waits until it prints a line on stderr
    /// (or one containing TEXT) before it goes on.
    pub background: bool,
    /// The TEXT of `background until TEXT`.
    pub until: Option<String>,
    /// `stop`: before the block, stop what runs in the background with
    /// Ctrl-C (SIGINT) and wait for it to exit, as the chapter tells the
    /// learner to.
    pub stop: bool,
    /// `with NAME=TEMPLATE ...`: words the learner replaces with their own
    /// value (`SEED`, `T`), filled in just before each command that shows
    /// them by rendering TEMPLATE with the lab's placeholders (`{seed}`,
    /// `{expected.threshold}`).
    pub with: Vec<(String, String)>,
}

/// Parse the text after `run:` of a note.
pub fn parse_run_note(text: &str) -> std::result::Result<RunNote, String> {
    let mut note = RunNote::default();
    for directive in text.split(';').map(str::trim).filter(|d| !d.is_empty()) {
        let (word, rest) = directive
            .split_once(|c: char| c.is_whitespace() || c == ':')
            .map_or((directive, ""), |(w, r)| (w, r.trim()));
        match word {
            "skip" => {
                let why = rest.trim_start_matches(['—', '-', ':']).trim();
                if why.is_empty() {
                    return Err("`skip` must say why (`skip: needs a GPU`)".to_string());
                }
                note.skip = Some(why.to_string());
            }
            "solution" => {
                note.solution = Some(rest.split_whitespace().map(str::to_string).collect());
            }
            "exit" => {
                let code = rest
                    .parse::<i32>()
                    .map_err(|_| format!("`exit` needs an exit status, found `{rest}`"))?;
                note.exit = Some(code);
            }
            "background" => {
                note.background = true;
                if !rest.is_empty() {
                    let text = rest
                        .strip_prefix("until")
                        .map(|t| t.trim().trim_matches('"'))
                        .filter(|t| !t.is_empty())
                        .ok_or_else(|| {
                            format!("expected `background` or `background until TEXT`, found `{directive}`")
                        })?;
                    note.until = Some(text.to_string());
                }
            }
            "stop" if rest.is_empty() => note.stop = true,
            "with" => {
                for pair in rest.split_whitespace() {
                    let (name, template) = pair
                        .split_once('=')
                        .filter(|(n, t)| !n.is_empty() && !t.is_empty())
                        .ok_or_else(|| format!("`with` takes NAME=TEMPLATE pairs, found `{pair}`"))?;
                    note.with.push((name.to_string(), template.to_string()));
                }
                if note.with.is_empty() {
                    return Err("`with` takes NAME=TEMPLATE pairs".to_string());
                }
            }
            _ => {
                return Err(format!(
                    "unknown directive `{directive}` (known: skip, solution, exit, background, stop, with)"
                ))
            }
        }
    }
    Ok(note)
}

/// One command as the learner would paste it: continuation lines kept
/// with their `\`, a `$ ` prompt removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellStep {
    /// 1-based line where the command starts.
    pub line: usize,
    pub text: String,
}

/// A shell block the book runner executes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunBlock {
    /// 1-based line of the opening fence.
    pub fence_line: usize,
    pub note: RunNote,
    pub steps: Vec<ShellStep>,
}

/// The languages of the blocks the runner executes: only fences marked as
/// shell run (`text` and `console` blocks show output or synopses).
pub const RUN_LANGS: [&str; 3] = ["sh", "bash", "shell"];

/// The shell blocks of `text` (a Markdown file named `file`) with their run
/// notes. A note that does not parse, or one before a block that does not
/// run, is an error naming the file and line.
pub fn run_blocks(file: &str, text: &str) -> crate::error::Result<Vec<RunBlock>> {
    let mut out = Vec::new();
    for block in code_blocks(text) {
        let runs = RUN_LANGS.contains(&block.lang.as_str());
        let note = match &block.run_note {
            Some((line, body)) if !runs => {
                return Err(crate::error::Error::bad_input(
                    file,
                    format!("line {line}"),
                    "a run note before a ```sh block",
                    format!("`run: {body}` before a ```{} block", block.lang),
                ))
            }
            Some((line, body)) => parse_run_note(body).map_err(|why| {
                crate::error::Error::bad_input(
                    file,
                    format!("line {line}"),
                    "a valid run note",
                    why,
                )
            })?,
            None => RunNote::default(),
        };
        if !runs {
            continue;
        }
        out.push(RunBlock {
            fence_line: block.fence_line,
            note,
            steps: shell_steps(&block),
        });
    }
    Ok(out)
}

/// `markdown` without its run notes, for showing a README in a terminal,
/// where an HTML comment is not hidden.
pub fn without_run_notes(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    for line in markdown.lines() {
        let note = line
            .trim()
            .strip_prefix("<!--")
            .is_some_and(|rest| rest.trim_start().starts_with("run:") && rest.ends_with("-->"));
        if !note {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The commands of a block: blank and comment lines dropped, continuation
/// lines kept together.
fn shell_steps(block: &CodeBlock) -> Vec<ShellStep> {
    let mut steps: Vec<ShellStep> = Vec::new();
    let mut continuing = false;
    for (line, raw) in &block.lines {
        let text = raw.trim_end();
        if continuing {
            if let Some(step) = steps.last_mut() {
                step.text.push('\n');
                step.text.push_str(text);
            }
        } else {
            let start = text.trim_start();
            if start.is_empty() || start.starts_with('#') {
                continue;
            }
            steps.push(ShellStep {
                line: *line,
                text: start.strip_prefix("$ ").unwrap_or(start).to_string(),
            });
        }
        continuing = text.ends_with('\\');
    }
    steps
}

/// The marker the generated CLI reference carries.
const GENERATED_MARK: &str = "Generated from the clap definitions";

/// Code block languages whose lines are read as shell commands (plain
/// `text` included: the chapters show commands that way).
const SHELL_LANGS: [&str; 7] = ["", "sh", "bash", "shell", "console", "zsh", "text"];

/// A synopsis such as `carelab eval --run R [--threshold 0.2 | --x 1]`
/// stands for several command lines: without the bracketed group and with
/// each of its `|` alternatives. Groups nest by expansion, first to last.
fn expand_optional(line: &str) -> Vec<String> {
    let bytes = line.as_bytes();
    let open = (0..bytes.len()).find(|&i| {
        bytes[i] == b'[' && (i == 0 || bytes[i - 1] == b' ') && bytes.get(i + 1) != Some(&b' ')
    });
    let Some(open) = open else {
        return vec![line.to_string()];
    };
    let Some(close) = line[open..].find(']').map(|c| open + c) else {
        return vec![line.to_string()];
    };
    let (before, inner, after) = (&line[..open], &line[open + 1..close], &line[close + 1..]);
    let mut variants = vec![format!("{before}{after}")];
    for alternative in inner.split(" | ") {
        variants.push(format!("{before}{}{after}", alternative.trim()));
    }
    variants.iter().flat_map(|v| expand_optional(v)).collect()
}

/// The `carelab` invocations in one logical shell line.
fn invocations(line: &str) -> Vec<Vec<String>> {
    let line = line.trim_start();
    let line = line.strip_prefix("$ ").unwrap_or(line);
    let mut out = Vec::new();
    for segment in shell_segments(line) {
        let mut words = segment.into_iter().skip_while(|w| is_assignment(w));
        if words.next().as_deref() == Some("carelab") {
            let mut cmd = vec!["carelab".to_string()];
            cmd.extend(words);
            out.push(cmd);
        }
    }
    out
}

fn is_assignment(word: &str) -> bool {
    match word.split_once('=') {
        Some((name, _)) => {
            !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with(|c: char| c.is_ascii_digit())
        }
        None => false,
    }
}

/// Split a shell line into the words of each simple command: quotes are
/// honoured, `#` starts a comment, `|`, `;`, `&&`, `||`, `&` and `(`/`)`
/// separate commands, and a redirection (`>`, `2>`, `<`, `>>`) drops the
/// word after it. `$( ... )` opens a new command too, so
/// `TOKEN=$(carelab ...)` is found.
fn shell_segments(line: &str) -> Vec<Vec<String>> {
    let mut segments: Vec<Vec<String>> = vec![Vec::new()];
    let mut word = String::new();
    let mut has_word = false;
    let mut skip_next_word = false;
    let mut chars = line.chars().peekable();
    let finish_word = |word: &mut String,
                       has_word: &mut bool,
                       skip: &mut bool,
                       segments: &mut Vec<Vec<String>>| {
        if *has_word {
            if *skip {
                *skip = false;
            } else if let Some(last) = segments.last_mut() {
                last.push(std::mem::take(word));
            }
        }
        word.clear();
        *has_word = false;
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                has_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    word.push(q);
                }
            }
            '"' => {
                has_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => {
                            if let Some(n) = chars.next() {
                                word.push(n);
                            }
                        }
                        _ => word.push(q),
                    }
                }
            }
            '\\' => {
                has_word = true;
                if let Some(n) = chars.next() {
                    word.push(n);
                }
            }
            '#' if !has_word => break,
            ' ' | '\t' => finish_word(&mut word, &mut has_word, &mut skip_next_word, &mut segments),
            '|' | ';' | '&' | '(' | ')' => {
                if c == '(' && word == "$" {
                    word.clear();
                    has_word = false;
                }
                finish_word(&mut word, &mut has_word, &mut skip_next_word, &mut segments);
                skip_next_word = false;
                segments.push(Vec::new());
            }
            '<' if placeholder_ahead(chars.clone()) => {
                has_word = true;
                word.push(c);
                for p in chars.by_ref() {
                    word.push(p);
                    if p == '>' {
                        break;
                    }
                }
            }
            '>' | '<' => {
                // `2>`: the fd number belongs to the redirection.
                if word.chars().all(|d| d.is_ascii_digit()) {
                    word.clear();
                    has_word = false;
                }
                finish_word(&mut word, &mut has_word, &mut skip_next_word, &mut segments);
                while chars.peek().is_some_and(|n| *n == '>' || *n == '&') {
                    chars.next();
                }
                skip_next_word = true;
            }
            _ => {
                has_word = true;
                word.push(c);
            }
        }
    }
    finish_word(&mut word, &mut has_word, &mut skip_next_word, &mut segments);
    segments.retain(|s| !s.is_empty());
    segments
}

/// Whether a value in a shown command stands for something the reader
/// fills in: `<seed>`, `$TOKEN`, `${RUN}` or an all-capitals word (`N`,
/// `DIR`). The command check accepts such a value where the CLI wants a
/// number or one of a list, because only the names of flags and verbs are
/// the book's promise.
pub fn is_placeholder(value: &str) -> bool {
    let caps = !value.is_empty()
        && value.chars().any(|c| c.is_ascii_uppercase())
        && value
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    caps || value.starts_with('$') || (value.starts_with('<') && value.ends_with('>'))
}

/// Whether the text after a `<` is a `<placeholder>` (letters, digits,
/// `-`, `_`, `.` up to a `>`), not a redirection.
fn placeholder_ahead(rest: impl Iterator<Item = char>) -> bool {
    for (len, c) in rest.enumerate() {
        if c == '>' {
            return len > 0;
        }
        if !(c.is_alphanumeric() || matches!(c, '-' | '_' | '.')) {
            return false;
        }
    }
    false
}

/// A shown command that the CLI does not accept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandFailure {
    pub file: String,
    pub line: usize,
    pub command: String,
    /// clap's first line, without its `error: `.
    pub error: String,
}

/// The shown commands that `cli` (the binary's `Cli::command()`) refuses.
/// Asking for help or the version is not a failure, nor is a placeholder
/// (`N`, `<seed>`, `$RUN`) where a number or one of a list is wanted: the
/// book promises the names of verbs and flags, not the reader's values.
/// `book check-commands` and `lab verify` both judge with this.
pub fn unparsed(cli: &Command, shown: &[ShownCommand]) -> Vec<CommandFailure> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let mut failures = Vec::new();
    for cmd in shown {
        let Err(e) = cli.clone().try_get_matches_from(&cmd.words) else {
            continue;
        };
        let benign = match e.kind() {
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => true,
            ErrorKind::ValueValidation | ErrorKind::InvalidValue => matches!(
                e.get(ContextKind::InvalidValue),
                Some(ContextValue::String(v)) if is_placeholder(v)
            ),
            _ => false,
        };
        if !benign {
            let text = e.to_string();
            let first = text
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("error: ");
            failures.push(CommandFailure {
                file: cmd.file.clone(),
                line: cmd.line,
                command: cmd.text(),
                error: first.to_string(),
            });
        }
    }
    failures
}

/// The command lines in every Markdown file under `dir` (recursively), in
/// path order, with paths relative to `base` for readable messages.
pub fn commands_in_dir(dir: &Path, base: &Path) -> crate::error::Result<Vec<ShownCommand>> {
    use crate::error::IoContext;
    let mut found = Vec::new();
    for rel in crate::artifact::list_files(dir)? {
        if rel.extension().and_then(|e| e.to_str()) != Some("md") {
            continue;
        }
        let file = dir.join(&rel);
        let text = std::fs::read_to_string(&file).at(&file)?;
        let shown = file
            .strip_prefix(base)
            .unwrap_or(&file)
            .display()
            .to_string();
        found.extend(commands_in_markdown(&shown, &text));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn finds_commands_only_inside_code_blocks() {
        let md = "Run carelab tour here.\n\n```sh\n$ carelab lab start 9\ncd x && carelab lab check 9 --json > out.json # done\nls\n```\n";
        let found = commands_in_markdown("a.md", md);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].line, 4);
        assert_eq!(found[0].words, words("carelab lab start 9"));
        assert_eq!(found[1].line, 5);
        assert_eq!(found[1].words, words("carelab lab check 9 --json"));
    }

    #[test]
    fn joins_continuations_and_honours_quotes_and_assignments() {
        let md = "```\nCARELAB_SEED=7 carelab serve --model \"my run\" \\\n  --port 0 2>log.txt &\nTOKEN=$(carelab serve token --role 'clinician') | cat\n```\n";
        let found = commands_in_markdown("b.md", md);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].line, 2);
        assert_eq!(
            found[0].words,
            vec!["carelab", "serve", "--model", "my run", "--port", "0"]
        );
        assert_eq!(
            found[1].words,
            words("carelab serve token --role clinician")
        );
    }

    #[test]
    fn expands_synopses_and_keeps_placeholders_as_words() {
        let md = "```text\ncarelab eval --run r [--threshold 0.2 | --target 0.8]\ncarelab lab start <N> < in.txt\n```\n```toml\ncarelab = 1\n```\n";
        let found: Vec<String> = commands_in_markdown("c.md", md)
            .iter()
            .map(ShownCommand::text)
            .collect();
        assert_eq!(
            found,
            vec![
                "carelab eval --run r",
                "carelab eval --run r --threshold 0.2",
                "carelab eval --run r --target 0.8",
                "carelab lab start <N>",
            ]
        );
        assert!(commands_in_markdown(
            "r.md",
            &format!("<!-- {GENERATED_MARK} -->\n```\ncarelab x\n```\n")
        )
        .is_empty());
    }

    #[test]
    fn blocks_are_dedented_and_keep_the_note_before_their_fence() {
        let md = "1. Start:\n\n   <!-- run: solution; exit 2 -->\n   ```sh\n   carelab lab start 1\n     indented more\n   ```\n\n```toml\nx = 1\n```\n";
        let blocks = code_blocks(md);
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].lang, "sh");
        assert_eq!(blocks[0].fence_line, 4);
        assert_eq!(
            blocks[0].lines,
            vec![
                (5, "carelab lab start 1".to_string()),
                (6, "  indented more".to_string())
            ]
        );
        assert_eq!(
            blocks[0].run_note,
            Some((3, "solution; exit 2".to_string()))
        );
        assert_eq!(blocks[1].lang, "toml");
        assert_eq!(blocks[1].run_note, None);
    }

    #[test]
    fn run_notes_parse_every_directive() {
        let note = parse_run_note(
            "stop; solution maps/a.toml answers.toml; exit 2; background until serving on; with SEED={seed} T={expected.threshold}",
        )
        .unwrap();
        assert!(note.stop && note.background);
        assert_eq!(note.until.as_deref(), Some("serving on"));
        assert_eq!(
            note.solution,
            Some(vec!["maps/a.toml".to_string(), "answers.toml".to_string()])
        );
        assert_eq!(note.exit, Some(2));
        assert_eq!(
            note.with,
            vec![
                ("SEED".to_string(), "{seed}".to_string()),
                ("T".to_string(), "{expected.threshold}".to_string())
            ]
        );
        assert_eq!(parse_run_note("solution").unwrap().solution, Some(vec![]));
        assert_eq!(
            parse_run_note("skip — needs a GPU")
                .unwrap()
                .skip
                .as_deref(),
            Some("needs a GPU")
        );
        assert_eq!(
            parse_run_note("skip: no network").unwrap().skip.as_deref(),
            Some("no network")
        );
        for (bad, why) in [
            ("skip", "must say why"),
            ("exit two", "needs an exit status"),
            ("background when ready", "background until TEXT"),
            ("with SEED", "NAME=TEMPLATE"),
            ("sudo", "unknown directive `sudo`"),
        ] {
            let err = parse_run_note(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn run_blocks_split_commands_and_check_their_notes() {
        let md = "```sh\n$ cd x\n# a comment\n\ncarelab serve --a 1 \\\n  --b 2 &\ncurl -s url\n```\n\n```text\ncarelab not run\n```\n";
        let blocks = run_blocks("c.md", md).unwrap();
        assert_eq!(blocks.len(), 1);
        let steps: Vec<(usize, &str)> = blocks[0]
            .steps
            .iter()
            .map(|s| (s.line, s.text.as_str()))
            .collect();
        assert_eq!(
            steps,
            vec![
                (2, "cd x"),
                (5, "carelab serve --a 1 \\\n  --b 2 &"),
                (7, "curl -s url")
            ]
        );
        let err = run_blocks("c.md", "<!-- run: exit 1 -->\n```toml\nx = 1\n```\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("c.md (line 1)") && err.contains("before a ```toml block"),
            "{err}"
        );
        let err = run_blocks("c.md", "\n<!-- run: later -->\n```sh\nls\n```\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("c.md (line 2)") && err.contains("unknown directive"),
            "{err}"
        );
    }

    #[test]
    fn run_notes_are_left_out_of_a_readme_for_the_terminal() {
        let md = "Step:\n\n   <!-- run: solution -->\n   ```sh\n   carelab lab check 1\n   ```\n<!-- a comment for authors -->\n";
        assert_eq!(
            without_run_notes(md),
            "Step:\n\n   ```sh\n   carelab lab check 1\n   ```\n<!-- a comment for authors -->\n"
        );
    }

    #[test]
    fn placeholders_are_recognised() {
        for p in ["N", "DIR", "RUN_ID", "$TOKEN", "${SEED}", "<seed>"] {
            assert!(is_placeholder(p), "{p}");
        }
        for v in ["42", "csv", "Baseline", "runs/x", ""] {
            assert!(!is_placeholder(v), "{v}");
        }
    }

    #[test]
    fn reference_lists_arguments_defaults_values_and_env() {
        let cmd = Command::new("tool")
            .about("A tool.")
            .arg(
                Arg::new("json")
                    .long("json")
                    .global(true)
                    .action(ArgAction::SetTrue)
                    .help("JSON out"),
            )
            .subcommand(
                Command::new("run")
                    .about("Run it.")
                    .arg(Arg::new("input").required(true).help("The input file."))
                    .arg(
                        Arg::new("format")
                            .long("format")
                            .value_parser(["csv", "parquet"])
                            .default_value("csv")
                            .env("TOOL_FORMAT")
                            .help("Output format."),
                    )
                    .arg(Arg::new("secret").long("secret").hide(true)),
            );
        let md = render_cli_reference(cmd);
        assert!(md.contains("- `--json`: JSON out.\n"), "{md}");
        assert!(md.contains("## `tool run`\n\nRun it.\n"), "{md}");
        assert!(
            md.contains("```text\ntool run [OPTIONS] <INPUT>\n```"),
            "{md}"
        );
        assert!(
            md.contains("- `<INPUT>`: The input file. Required.\n"),
            "{md}"
        );
        assert!(
            md.contains(
                "- `--format <FORMAT>`: Output format. Default: `csv`. Values: `csv`, `parquet`. Environment: `TOOL_FORMAT`.\n"
            ),
            "{md}"
        );
        assert!(!md.contains("secret"), "hidden args stay out: {md}");
        assert!(md.contains("- [`tool run`](#tool-run) — Run it."), "{md}");
        // The global option is listed once, at the top, not under `run`.
        assert_eq!(md.matches("--json").count(), 1, "{md}");
    }
}
