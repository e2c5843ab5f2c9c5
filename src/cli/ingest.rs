//! `carelab ingest`: sources -> the clean OMOP-like model, analysis table,
//! quarantine and quality report.

use std::path::PathBuf;

use carelab::error::{Error, Result};
use carelab::ingest::{self, PipelineConfig, SourceConfig, SourceKind};
use carelab::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct IngestArgs {
    /// Pipeline config (TOML): [[source]] entries, maps, linkage, data_end.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// A folder of records-schema CSV tables, as one source named `csv`.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// End of the data (ISO date-time); default: the latest time seen.
    #[arg(long)]
    pub data_end: Option<String>,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(args: IngestArgs, ui: &Ui) -> Result<u8> {
    let mut cfg = match &args.config {
        Some(p) => PipelineConfig::load(p)?,
        None => PipelineConfig::default(),
    };
    if let Some(dir) = args.csv {
        cfg.sources.push(SourceConfig {
            name: "csv".into(),
            kind: SourceKind::Csv,
            path: dir,
            layout: None,
        });
    }
    if args.data_end.is_some() {
        cfg.data_end = args.data_end;
    }
    if cfg.sources.is_empty() {
        return Err(Error::usage("give --config FILE or --csv DIR"));
    }
    let summary = ingest::run(&cfg, &args.out)?;
    ui.result(&summary, || {
        format!(
            "{}\n{} persons, {} analysis rows, {} records quarantined -> {}",
            summary.quality.table(),
            summary.persons,
            summary.analysis_rows,
            summary.quarantined,
            summary.out.display()
        )
    });
    Ok(0)
}
