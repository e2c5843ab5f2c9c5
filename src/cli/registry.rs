//! Placeholder until this verb lands; see the open issue for it.

use carelab::error::{Error, Result};
use carelab::ui::Ui;

#[derive(Debug, clap::Subcommand)]
pub enum RunsCommand {
    /// Not built yet.
    Pending,
}

pub fn run_runs(_args: RunsCommand, _ui: &Ui) -> Result<u8> {
    Err(Error::failure("this verb is not built yet (registry)"))
}

#[derive(Debug, clap::Subcommand)]
pub enum ModelsCommand {
    /// Not built yet.
    Pending,
}

pub fn run_models(_args: ModelsCommand, _ui: &Ui) -> Result<u8> {
    Err(Error::failure("this verb is not built yet (registry)"))
}
