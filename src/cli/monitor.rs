//! `carelab monitor`: compare current data or a prediction log with a
//! reference, and `carelab monitor profile` to save a reference profile.
//!
//! Exit codes: 0 ok, 1 warn, 2 alert. Errors exit 2 (bad input, usage) or 1
//! (failure) as everywhere in CareLab, so a script that must tell an alert
//! from an error reads `verdict` from `--json` output (or `report.json`,
//! which only a finished comparison writes).

use std::path::PathBuf;

use carelab::error::{Error, Result};
use carelab::monitor::{self, MonitorOptions, Thresholds, WindowSpec};
use carelab::ui::Ui;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct MonitorArgs {
    #[command(subcommand)]
    command: Option<MonitorCommand>,
    /// The reference: an analysis table, a data/ingest/run folder, or a profile.json.
    #[arg(long)]
    reference: Option<PathBuf>,
    /// The current data: an analysis table, a folder, or a prediction log (.jsonl).
    #[arg(long)]
    current: Option<PathBuf>,
    /// Labels for the current side: CSV with stay (or stay_id) and readmit_30d.
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Score data inputs with this model: a run directory or NAME@stage, NAME@VERSION or NAME@ALIAS.
    #[arg(long)]
    model: Option<String>,
    /// Performance windows: month, week or N-days.
    #[arg(long, default_value = "month")]
    window: String,
    /// Thresholds (TOML: psi_warn, psi_alert, p_value, missing_warn, ...).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Treat outcomes as known only for stays discharged 30 days or more before this day (YYYY-MM-DD), as on that day in production.
    #[arg(long)]
    labels_as_of: Option<String>,
    /// Where to write report.md, report.json, plots and manifest.json.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
enum MonitorCommand {
    /// Save a reference profile (bins, frequencies, missing rates, scores).
    Profile {
        /// The reference data: an analysis table or a folder holding one.
        #[arg(long)]
        data: PathBuf,
        /// Score it with this model too: a run directory or NAME@stage, NAME@VERSION or NAME@ALIAS.
        #[arg(long)]
        model: Option<String>,
        /// Quantile bins per numeric feature.
        #[arg(long, default_value_t = 10)]
        bins: usize,
        /// Thresholds (TOML), for operating_threshold when the model carries no operating point.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The profile file to write.
        #[arg(long)]
        out: PathBuf,
    },
}

pub fn run(args: MonitorArgs, ui: &Ui) -> Result<u8> {
    if let Some(MonitorCommand::Profile {
        data,
        model,
        bins,
        config,
        out,
    }) = args.command
    {
        if bins < 2 {
            return Err(Error::usage("--bins must be at least 2"));
        }
        let thresholds = match &config {
            Some(p) => Thresholds::from_file(p)?,
            None => Thresholds::default(),
        };
        let profile = monitor::make_profile(&data, model.as_deref(), bins, &thresholds)?;
        carelab::artifact::write_json(&out, &profile)?;
        let summary = serde_json::json!({
            "profile": out, "rows": profile.rows, "features": profile.features.len(),
            "score": profile.score.is_some(), "codes": profile.codes.is_some(),
        });
        ui.result(&summary, || {
            format!(
                "wrote {} ({} rows, {} features{}{})\n",
                out.display(),
                profile.rows,
                profile.features.len(),
                if profile.score.is_some() {
                    ", scores"
                } else {
                    ""
                },
                if profile.codes.is_some() {
                    ", codes and units"
                } else {
                    ""
                }
            )
        });
        return Ok(0);
    }
    let need = |v: Option<PathBuf>, flag: &str| {
        v.ok_or_else(|| {
            Error::usage(format!(
                "{flag} is required (or use `carelab monitor profile`)"
            ))
        })
    };
    let reference = need(args.reference, "--reference")?;
    let current = need(args.current, "--current")?;
    let out = need(args.out, "--out")?;
    let thresholds = match &args.config {
        Some(p) => Thresholds::from_file(p)?,
        None => Thresholds::default(),
    };
    let options = MonitorOptions {
        reference: reference.clone(),
        current: current.clone(),
        labels: args.labels.clone(),
        model: args.model.clone(),
        window: WindowSpec::parse(&args.window)?,
        thresholds,
        labels_as_of: args
            .labels_as_of
            .as_deref()
            .map(|d| {
                chrono::NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").map_err(|_| {
                    Error::usage(format!(
                        "--labels-as-of must be a date YYYY-MM-DD, got {d:?}"
                    ))
                })
            })
            .transpose()?,
    };
    ui.info(format!(
        "comparing {} with {}",
        current.display(),
        reference.display()
    ));
    let report = monitor::run(&options)?;
    let mut inputs = vec![
        ("reference", reference.display().to_string()),
        ("current", current.display().to_string()),
    ];
    if let Some(l) = &args.labels {
        inputs.push(("labels", l.display().to_string()));
    }
    if let Some(m) = &args.model {
        inputs.push(("model", m.clone()));
    }
    let files = monitor::report::write(&report, &out, &inputs)?;
    ui.detail(format!(
        "wrote {} files under {}",
        files.len(),
        out.display()
    ));
    ui.result(&report, || monitor::report::terminal(&report));
    Ok(report.exit_code)
}
