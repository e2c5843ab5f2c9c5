//! Placeholder until this verb lands; see the open issue for it.

use carelab::error::{Error, Result};
use carelab::ui::Ui;

#[derive(Debug, clap::Subcommand)]
pub enum DataCommand {
    /// Not built yet.
    Pending,
}

pub fn run(_args: DataCommand, _ui: &Ui) -> Result<u8> {
    Err(Error::failure("this verb is not built yet (data)"))
}
