//! One file per verb: its arguments (clap derive) and the glue that calls the
//! library and prints the result. No stage logic lives here.

use carelab::error::Result;
use carelab::ui::Ui;

use crate::Command;

#[cfg(unix)]
pub mod book_run;
pub mod data;
pub mod deid;
pub mod eval;
pub mod infra;
pub mod ingest;
pub mod lab;
pub mod monitor;
pub mod registry;
pub mod serve;
pub mod shell;
pub mod tour;
pub mod train;

/// Run a verb, with the audit records it needs when `--audit-log` is set;
/// the value is the process exit code.
pub fn dispatch(command: Command, audit: Option<deid::AuditedCall>, ui: &Ui) -> Result<u8> {
    deid::audited(audit, || run_verb(command, ui))
}

fn run_verb(command: Command, ui: &Ui) -> Result<u8> {
    match command {
        Command::Tour(a) => tour::run(a, ui),
        Command::Data(c) => data::run(c, ui),
        Command::Ingest(a) => ingest::run(a, ui),
        Command::Deid(a) => deid::run_deid(a, ui),
        Command::ScanPhi(a) => deid::run_scan(a, ui),
        Command::Audit(c) => deid::run_audit(c, ui),
        Command::Train(a) => train::run(a, ui),
        Command::Eval(a) => eval::run(a, ui),
        Command::Runs(c) => registry::run_runs(c, ui),
        Command::Models(c) => registry::run_models(c, ui),
        Command::Serve(a) => serve::run(*a, ui),
        Command::Monitor(a) => monitor::run(a, ui),
        Command::Doctor(a) => infra::run_doctor(a, ui),
        Command::Bench(c) => infra::run_bench(c, ui),
        Command::Cost(a) => infra::run_cost(a, ui),
        Command::Lab(c) => lab::run_lab(c, ui),
        Command::Workshop(c) => lab::run_workshop(c, ui),
        Command::Book(a) => lab::run_book(a, ui),
        Command::Completions(a) => shell::completions(a),
        Command::Man => shell::man(),
    }
}
