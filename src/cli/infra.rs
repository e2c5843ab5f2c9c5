//! Placeholder until this verb lands; see the open issue for it.

use carelab::error::{Error, Result};
use carelab::ui::Ui;

/// `carelab doctor`: what this machine can do and which labs run here.
#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// The workspace the labs will write to (checked for free disk and write access).
    #[arg(long, env = "CARELAB_WORKSPACE", default_value = "carelab-work")]
    pub workspace: std::path::PathBuf,
}

pub fn run_doctor(args: DoctorArgs, ui: &Ui) -> Result<u8> {
    let catalog = carelab::labs::Catalog::builtin()?;
    let report = carelab::infra::doctor::examine(&args.workspace, &catalog)?;
    ui.result(&report, || report.to_text());
    Ok(0)
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
