//! `carelab data ...`: make synthetic data.

use std::path::PathBuf;

use carelab::error::{Error, Result};
use carelab::synth::{self, GenerateOptions, Scenario, Shard};
use carelab::ui::Ui;

#[derive(Debug, clap::Subcommand)]
pub enum DataCommand {
    /// Generate a synthetic population from a scenario into CSV, Parquet,
    /// FHIR, HL7 v2 and legacy exports, with ground truth and a manifest.
    Generate(GenerateArgs),
    /// Send an HL7 v2 feed to an MLLP listener one message at a time,
    /// waiting for each ACK, as an interface engine would.
    Replay(super::ingest::ReplayArgs),
}

#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// Built-in scenario (baseline, legacy-messy, site-b, drift-2025, elective-2025, concept-shift-2025) or a
    /// path to a scenario .toml file.
    #[arg(long, default_value = "baseline")]
    pub scenario: String,
    /// Number of patients in the whole population.
    #[arg(long, default_value_t = 2000)]
    pub patients: u64,
    /// Seed of every random draw.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
    /// Comma-separated formats: csv, parquet, fhir, hl7v2, legacy
    /// (default: the scenario's list).
    #[arg(long, value_delimiter = ',')]
    pub formats: Vec<String>,
    /// Make only shard I of N (patients whose index % N == I), e.g. 0/4.
    #[arg(long)]
    pub shard: Option<String>,
}

pub fn run(args: DataCommand, ui: &Ui) -> Result<u8> {
    match args {
        DataCommand::Generate(a) => generate(a, ui),
        DataCommand::Replay(a) => super::ingest::replay(a, ui),
    }
}

fn generate(a: GenerateArgs, ui: &Ui) -> Result<u8> {
    let scenario = Scenario::load(&a.scenario)?;
    let scenario_text = scenario_text(&a.scenario)?;
    let shard = a.shard.as_deref().map(Shard::parse).transpose()?;
    if a.patients == 0 {
        return Err(Error::bad_input(
            "--patients",
            None,
            "a number of patients of at least 1",
            "0",
        ));
    }
    ui.info(format!(
        "generating {} patients of scenario {} (seed {}) into {}",
        a.patients,
        scenario.name,
        a.seed,
        a.out.display()
    ));
    let opts = GenerateOptions {
        scenario,
        scenario_text,
        patients: a.patients,
        seed: a.seed,
        out: a.out.clone(),
        formats: a.formats,
        shard,
    };
    let manifest = synth::generate(&opts, ui)?;
    ui.result(&manifest, || {
        let d = &manifest.details;
        let mut text = format!("wrote {}\n", a.out.display());
        for (table, n) in &manifest.counts {
            text.push_str(&format!("  {table:<22} {n}\n"));
        }
        text.push_str(&format!(
            "  readmission prevalence {}  Bayes AUROC {}\n",
            d.get("readmission_prevalence").cloned().unwrap_or_default(),
            d.get("bayes_auroc").cloned().unwrap_or_default()
        ));
        text
    });
    Ok(0)
}

/// The scenario's TOML text, for its checksum in the manifest.
fn scenario_text(name_or_path: &str) -> Result<String> {
    match synth::scenario::BUILT_IN
        .iter()
        .find(|(n, _)| *n == name_or_path)
    {
        Some((_, text)) => Ok(text.to_string()),
        None => std::fs::read_to_string(name_or_path).map_err(|e| Error::io(name_or_path, e)),
    }
}
