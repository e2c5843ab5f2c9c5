//! Placeholder until this verb lands; see the open issue for it.

use carelab::error::{Error, Result};
use carelab::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct DoctorArgs {}

pub fn run_doctor(_args: DoctorArgs, _ui: &Ui) -> Result<u8> {
    Err(Error::failure("this verb is not built yet (infra)"))
}

#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// Not built yet.
    Pending,
}

pub fn run_bench(_args: BenchCommand, _ui: &Ui) -> Result<u8> {
    Err(Error::failure("this verb is not built yet (infra)"))
}

#[derive(Debug, clap::Args)]
pub struct CostArgs {}

pub fn run_cost(_args: CostArgs, _ui: &Ui) -> Result<u8> {
    Err(Error::failure("this verb is not built yet (infra)"))
}
