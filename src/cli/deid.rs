//! Placeholder until this verb lands; see the open issue for it.

use carelab::error::{Error, Result};
use carelab::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct DeidArgs {}

pub fn run_deid(_args: DeidArgs, _ui: &Ui) -> Result<u8> {
    Err(Error::failure("this verb is not built yet (deid)"))
}

#[derive(Debug, clap::Args)]
pub struct ScanPhiArgs {}

pub fn run_scan(_args: ScanPhiArgs, _ui: &Ui) -> Result<u8> {
    Err(Error::failure("this verb is not built yet (deid)"))
}

#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Not built yet.
    Pending,
}

pub fn run_audit(_args: AuditCommand, _ui: &Ui) -> Result<u8> {
    Err(Error::failure("this verb is not built yet (deid)"))
}
