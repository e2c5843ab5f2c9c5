//! `carelab tour`: the whole path end to end on the default data.
//!
//! The tour is a script of ordinary CLI invocations run in-process, so it
//! exercises exactly the code a learner's commands do, and it prints each
//! command before running it: the tour doubles as a worked example.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;

use carelab::error::{Error, Result};
use carelab::ui::Ui;

use crate::Cli;

#[derive(Debug, clap::Args)]
pub struct TourArgs {
    /// Where the tour writes everything it makes.
    #[arg(long, default_value = "carelab-tour")]
    pub out: PathBuf,
    /// Patients in the generated population.
    #[arg(long, default_value_t = 2000)]
    pub patients: u64,
    /// Seed for the whole tour.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

/// One stage of the tour: a title and the command line that runs it.
struct Step {
    title: &'static str,
    args: Vec<String>,
}

pub fn run(args: TourArgs, ui: &Ui) -> Result<u8> {
    let out = args.out.clone();
    let steps = steps(&args);
    let total = steps.len();
    let mut made = Vec::new();
    for (i, step) in steps.into_iter().enumerate() {
        ui.info(format!("\n== {}/{} {} ==", i + 1, total, step.title));
        ui.info(format!("$ carelab {}", step.args.join(" ")));
        let started = Instant::now();
        let code = run_step(&step, ui)?;
        if code != 0 {
            return Err(Error::failure(format!(
                "tour step '{}' exited with {code}",
                step.title
            )));
        }
        made.push(serde_json::json!({
            "step": step.title,
            "command": format!("carelab {}", step.args.join(" ")),
            "seconds": (started.elapsed().as_secs_f64() * 100.0).round() / 100.0,
        }));
    }
    let summary = serde_json::json!({ "out": out, "steps": made });
    ui.result(&summary, || {
        let mut text = format!("\nTour complete; everything is under {}/\n", out.display());
        for step in &made {
            text.push_str(&format!(
                "  {:<28} {:>7.2}s  {}\n",
                step["step"].as_str().unwrap_or(""),
                step["seconds"].as_f64().unwrap_or(0.0),
                step["command"].as_str().unwrap_or("")
            ));
        }
        text
    });
    Ok(0)
}

fn run_step(step: &Step, ui: &Ui) -> Result<u8> {
    let argv = std::iter::once("carelab".to_string()).chain(step.args.iter().cloned());
    let cli = Cli::try_parse_from(argv).map_err(|e| {
        Error::failure(format!("tour step '{}' has bad arguments: {e}", step.title))
    })?;
    super::dispatch(cli.command, ui)
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

fn steps(a: &TourArgs) -> Vec<Step> {
    let data = a.out.join("data");
    let step = |title, args: &[&str]| Step {
        title,
        args: args.iter().map(|s| s.to_string()).collect(),
    };
    vec![step(
        "generate a population",
        &[
            "data",
            "generate",
            "--scenario",
            "baseline",
            "--patients",
            &a.patients.to_string(),
            "--seed",
            &a.seed.to_string(),
            "--out",
            &path(&data),
        ],
    )]
}
