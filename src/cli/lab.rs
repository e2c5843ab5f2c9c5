//! Placeholder until this verb lands; see the open issue for it.

use carelab::error::{Error, Result};
use carelab::ui::Ui;

#[derive(Debug, clap::Subcommand)]
pub enum LabCommand {
    /// Not built yet.
    Pending,
}

pub fn run_lab(_args: LabCommand, _ui: &Ui) -> Result<u8> {
    Err(Error::failure("this verb is not built yet (lab)"))
}

#[derive(Debug, clap::Subcommand)]
pub enum WorkshopCommand {
    /// Not built yet.
    Pending,
}

pub fn run_workshop(_args: WorkshopCommand, _ui: &Ui) -> Result<u8> {
    Err(Error::failure("this verb is not built yet (lab)"))
}

#[derive(Debug, clap::Args)]
pub struct BookArgs {}

pub fn run_book(_args: BookArgs, _ui: &Ui) -> Result<u8> {
    Err(Error::failure("this verb is not built yet (lab)"))
}
