//! The conventions of a command-line tool: shell completions and a manual
//! page, generated from the same clap definitions that parse the arguments,
//! so they can never disagree with the binary.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use carelab::error::{Error, Result};
use carelab::ui::stdout_line;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Completions for `shell` on stdout, e.g.
/// `carelab completions bash > ~/.local/share/bash-completion/completions/carelab`.
pub fn completions(args: CompletionsArgs) -> Result<u8> {
    let mut cmd = crate::Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "carelab", &mut out);
    stdout_line(String::from_utf8_lossy(&out).trim_end());
    Ok(0)
}

/// The manual page (roff) on stdout: `carelab man > carelab.1`.
pub fn man() -> Result<u8> {
    let mut out = Vec::new();
    clap_mangen::Man::new(crate::Cli::command())
        .render(&mut out)
        .map_err(|e| Error::Failure(format!("rendering the manual page: {e}")))?;
    stdout_line(String::from_utf8_lossy(&out).trim_end());
    Ok(0)
}
