//! `carelab tour`: the whole path end to end on the default data.
//!
//! The tour is a script of ordinary CLI invocations run in-process, so it
//! exercises exactly the code a learner's commands do, and it prints each
//! command before running it: the tour doubles as a worked example.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{CommandFactory, FromArgMatches};

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
    /// The exit code is a verdict (monitor: 1 warn, 2 alert), shown, not a
    /// failure: errors still arrive as errors.
    verdict: bool,
}

pub fn run(args: TourArgs, ui: &Ui) -> Result<u8> {
    let out = args.out.clone();
    if out.join("data").exists() {
        return Err(Error::usage(format!(
            "{} already holds a tour; remove it or pass --out DIR",
            out.display()
        )));
    }
    let steps = steps(&args);
    let total = steps.len();
    let mut made = Vec::new();
    for (i, step) in steps.into_iter().enumerate() {
        ui.info(format!("\n== {}/{} {} ==", i + 1, total, step.title));
        ui.info(format!("$ carelab {}", step.args.join(" ")));
        let started = Instant::now();
        let code = run_step(&step, ui)?;
        if step.verdict && code != 0 {
            ui.info(format!(
                "(exit code {code} is the verdict; the tour goes on)"
            ));
        } else if code != 0 {
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
    let bad = |e: clap::Error| {
        Error::failure(format!("tour step '{}' has bad arguments: {e}", step.title))
    };
    let matches = Cli::command().try_get_matches_from(argv).map_err(bad)?;
    let cli = Cli::from_arg_matches(&matches).map_err(bad)?;
    let audit = super::deid::audit_call(&matches, cli.audit_log.as_deref());
    super::dispatch(cli.command, audit, ui)
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

fn steps(a: &TourArgs) -> Vec<Step> {
    let o = |p: &str| path(&a.out.join(p));
    let (data, clean, deid, runs, registry) = (
        o("data"),
        o("clean"),
        o("deid"),
        o("runs"),
        o("registry.db"),
    );
    let seed = a.seed.to_string();
    let patients = a.patients.to_string();
    let step = |title, args: &[&str]| Step {
        title,
        args: args.iter().map(|s| s.to_string()).collect(),
        verdict: false,
    };
    let mut deid_tables: Vec<String> = [
        "patients",
        "encounters",
        "observations",
        "conditions",
        "medications",
        "notes",
    ]
    .iter()
    .map(|t| format!("{deid}/{t}.csv"))
    .collect();
    deid_tables.extend([
        "--known".to_string(),
        format!("{data}/truth/identifiers.csv"),
    ]);
    let mut scan = vec!["scan-phi"];
    scan.extend(deid_tables.iter().map(String::as_str));
    let log = o("audit.jsonl");
    let mut steps = vec![
        step(
            "what this machine can do",
            &["doctor", "--workspace", &o("work")],
        ),
        step(
            "generate a population",
            &[
                "data",
                "generate",
                "--scenario",
                "baseline",
                "--patients",
                &patients,
                "--seed",
                &seed,
                "--formats",
                "csv,parquet,fhir,hl7v2",
                "--out",
                &data,
            ],
        ),
        step(
            "ingest into the clean model",
            &[
                "ingest",
                "--csv",
                &data,
                "--data-end",
                "2025-01-01T00:00:00",
                "--out",
                &clean,
            ],
        ),
        step(
            "de-identify (Safe Harbor)",
            &[
                "deid",
                "--in",
                &data,
                "--out",
                &deid,
                "--mode",
                "safe-harbor",
                "--truth",
                &format!("{data}/truth/phi_spans.csv"),
            ],
        ),
        step("scan for residual PHI", &scan),
        step(
            "train a logistic regression",
            &[
                "train",
                "--data",
                &format!("{clean}/analysis.csv"),
                "--model",
                "logreg",
                "--seed",
                &seed,
                "--out",
                &runs,
                "--name",
                "logreg",
            ],
        ),
        step(
            "train an MLP",
            &[
                "train",
                "--data",
                &format!("{clean}/analysis.csv"),
                "--model",
                "mlp",
                "--seed",
                &seed,
                "--out",
                &runs,
                "--name",
                "mlp",
            ],
        ),
        step(
            "evaluate for the clinic",
            &[
                "eval",
                "--run",
                &format!("{runs}/mlp"),
                "--truth",
                &format!("{data}/truth/stays.csv"),
                "--target-sensitivity",
                "0.6",
            ],
        ),
        step(
            "register the model",
            &[
                "models",
                "register",
                "readmission",
                "--run",
                &format!("{runs}/mlp"),
                "--registry",
                &registry,
            ],
        ),
        step(
            "promote it to production",
            &[
                "models",
                "promote",
                "readmission",
                "1",
                "production",
                "--registry",
                &registry,
            ],
        ),
        step(
            "serve it: features, FHIR, a bad request, a load test",
            &[
                "serve",
                "--model",
                "readmission@production",
                "--registry",
                &registry,
                "--demo",
                &format!("{data}/fhir/bundles.ndjson"),
                "--demo-out",
                &o("serve"),
            ],
        ),
        step(
            "what the run cost",
            &["cost", "--run", &format!("{runs}/mlp")],
        ),
        step(
            "what acting on it returns",
            &[
                "cost",
                "roi",
                "--run",
                &format!("{runs}/mlp"),
                "--threshold",
                "0.2",
            ],
        ),
        step(
            "a year later: generate drifted data",
            &[
                "data",
                "generate",
                "--scenario",
                "drift-2025",
                "--patients",
                &(a.patients / 4).max(100).to_string(),
                "--seed",
                &seed,
                "--formats",
                "csv",
                "--out",
                &o("data-2025"),
            ],
        ),
        Step {
            verdict: true,
            ..step(
                "monitor drift against the baseline",
                &[
                    "monitor",
                    "--reference",
                    &data,
                    "--current",
                    &o("data-2025"),
                    "--model",
                    &format!("{runs}/mlp"),
                    "--out",
                    &o("monitor"),
                ],
            )
        },
    ];
    // every stage that touches patient data records itself in one log, and
    // the last step checks the chain over the whole path
    steps.push(step("verify the audit log", &["audit", "verify", &log]));
    for s in &mut steps {
        s.args.extend(["--audit-log".to_string(), log.clone()]);
    }
    steps
}
