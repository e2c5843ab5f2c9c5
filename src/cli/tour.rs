//! Placeholder until this verb lands; see the open issue for it.

use carelab::error::{Error, Result};
use carelab::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct TourArgs {}

pub fn run(_args: TourArgs, _ui: &Ui) -> Result<u8> {
    Err(Error::failure("this verb is not built yet (tour)"))
}
