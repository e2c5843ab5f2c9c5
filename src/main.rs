//! The `carelab` command line: parse arguments, call the library, render
//! errors. Each verb's arguments and glue live in `cli/<verb>.rs`; the work
//! itself lives in the library, one module per stage.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use carelab::ui::Ui;

mod cli;

/// CareLab: a hands-on MLOps sandbox for hospital IT staff, on synthetic
/// patients that never existed.
#[derive(Debug, Parser)]
#[command(name = "carelab", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Machine-readable JSON on stdout instead of tables.
    #[arg(long, global = true)]
    json: bool,
    /// Only errors.
    #[arg(short, long, global = true)]
    quiet: bool,
    /// More detail (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// No progress bars or progress lines.
    #[arg(long, global = true)]
    no_progress: bool,
    /// Append a hash-chained FHIR AuditEvent record to FILE for every verb
    /// that reads or writes patient data.
    #[arg(long, global = true, env = "CARELAB_AUDIT_LOG", value_name = "FILE")]
    audit_log: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole path end to end on the default data and say what each stage made.
    Tour(cli::tour::TourArgs),
    /// Generate synthetic populations and replay feeds.
    #[command(subcommand)]
    Data(cli::data::DataCommand),
    /// Ingest legacy, HL7 v2, FHIR, CSV and Parquet sources into one clean model.
    Ingest(cli::ingest::IngestArgs),
    /// De-identify a clean model (Safe Harbor, limited data set, pseudonyms).
    Deid(cli::deid::DeidArgs),
    /// Scan files for residual identifiers; exits 1 when it finds any.
    ScanPhi(cli::deid::ScanPhiArgs),
    /// Verify a hash-chained audit log.
    #[command(subcommand)]
    Audit(cli::deid::AuditCommand),
    /// Train a readmission model with candle.
    Train(cli::train::TrainArgs),
    /// Evaluate a run the way clinicians need.
    Eval(cli::eval::EvalArgs),
    /// List, show and compare tracked runs.
    #[command(subcommand)]
    Runs(cli::registry::RunsCommand),
    /// Register, promote, archive and list models.
    #[command(subcommand)]
    Models(cli::registry::ModelsCommand),
    /// Serve a model over HTTP with auth, audit and metrics.
    // Boxed: the play-EHR flags make it the largest variant by far.
    Serve(Box<cli::serve::ServeArgs>),
    /// Compare current data or predictions against a reference for drift.
    Monitor(cli::monitor::MonitorArgs),
    /// What this machine can do: cores, memory, disk, GPUs, and which labs run here.
    Doctor(cli::infra::DoctorArgs),
    /// Measure training, serving and storage throughput.
    #[command(subcommand)]
    Bench(cli::infra::BenchCommand),
    /// Cost per run and per 1,000 predictions, and the ROI of a threshold.
    Cost(cli::infra::CostArgs),
    /// The labs: list, start, check, hint, help, reset, solve, progress.
    #[command(subcommand)]
    Lab(cli::lab::LabCommand),
    /// Instructor tools: per-learner seeds, answer keys, class reports.
    #[command(subcommand)]
    Workshop(cli::lab::WorkshopCommand),
    /// Build (and optionally serve) the guide.
    Book(cli::lab::BookArgs),
    /// Shell completions (bash, zsh, fish, powershell, elvish) on stdout.
    Completions(cli::shell::CompletionsArgs),
    /// The manual page (roff) on stdout: `carelab man > carelab.1`.
    Man,
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let args = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let ui = Ui::new(args.json, args.quiet, args.verbose, args.no_progress);
    let audit = cli::deid::audit_call(&matches, args.audit_log.as_deref());
    match cli::dispatch(args.command, audit, &ui) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if ui.json {
                let body = serde_json::json!({ "error": e.to_string(), "kind": e.kind() });
                carelab::ui::stdout_line(&body.to_string());
            }
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
