//! `carelab ingest`: sources -> the clean OMOP-like model, analysis table,
//! quarantine and quality report.

use std::path::PathBuf;
use std::time::Duration;

use carelab::error::{Error, IoContext, Result};
use carelab::formats::hl7v2::Feed;
use carelab::ingest::{self, mllp, PipelineConfig, SourceConfig, SourceKind};
use carelab::ui::Ui;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct IngestArgs {
    #[command(subcommand)]
    pub command: Option<IngestCommand>,
    /// Pipeline config (TOML): [[source]] entries, maps, linkage, data_end.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// A folder of records-schema CSV tables, as one source named `csv`.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// A folder of records-schema Parquet tables, as one source named `parquet`.
    #[arg(long)]
    pub parquet: Option<PathBuf>,
    /// An HL7 v2 feed file (or folder of .hl7 files), as one source named `hl7v2`.
    #[arg(long)]
    pub hl7: Option<PathBuf>,
    /// With --hl7: which PID-3 identifier is the patient id, as type codes
    /// in order of preference, each optionally @ASSIGNING-AUTHORITY, e.g.
    /// `PI` or `MR@GOOD HEALTH HOSPITAL,PI` [default: MR,PI, then the first]
    #[arg(long, value_name = "RULE", requires = "hl7")]
    pub hl7_patient_id: Option<String>,
    /// FHIR R4 bundles or Bulk NDJSON (a file or a folder), as one source named `fhir`.
    #[arg(long)]
    pub fhir: Option<PathBuf>,
    /// End of the data (ISO date-time); default: the latest admission seen.
    #[arg(long)]
    pub data_end: Option<String>,
    /// Memory to plan for, in MiB: records other than patients (and the
    /// persons, once linked) wait on disk (under OUT) in partitions sized to
    /// about half of it, and are processed a partition at a time; the
    /// data-quality checks map at most half of it of the CDM database.
    #[arg(long, value_name = "MIB", default_value_t = ingest::pipeline::DEFAULT_MEMORY_MB)]
    pub memory_limit: u64,
    /// Work in this many partitions instead of the number --memory-limit gives.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub partitions: Option<u64>,
    /// Write the CDM's Parquet tables as Hive-style partitioned datasets,
    /// cdm/<table>/part=<k>/data.parquet (a file per partition), instead of
    /// one cdm/<table>.parquet each.
    #[arg(long)]
    pub hive_parquet: bool,
    /// Output folder.
    #[arg(long, required = true)]
    pub out: Option<PathBuf>,
}

pub fn run(args: IngestArgs, ui: &Ui) -> Result<u8> {
    if let Some(IngestCommand::Listen(a)) = args.command {
        return listen(a, ui);
    }
    let out = args
        .out
        .ok_or_else(|| Error::usage("give --out DIR for the clean model"))?;
    let mut cfg = match &args.config {
        Some(p) => PipelineConfig::load(p)?,
        None => PipelineConfig::default(),
    };
    let flags = [
        ("csv", SourceKind::Csv, args.csv),
        ("parquet", SourceKind::Parquet, args.parquet),
        ("hl7v2", SourceKind::Hl7v2, args.hl7),
        ("fhir", SourceKind::Fhir, args.fhir),
    ];
    for (name, kind, path) in flags {
        if let Some(path) = path {
            cfg.sources.push(SourceConfig {
                name: name.into(),
                kind,
                path,
                layout: None,
                patient_id: (kind == SourceKind::Hl7v2)
                    .then(|| args.hl7_patient_id.clone())
                    .flatten(),
            });
        }
    }
    if args.data_end.is_some() {
        cfg.data_end = args.data_end;
    }
    if cfg.sources.is_empty() {
        return Err(Error::usage(
            "give --config FILE or a source: --csv DIR, --parquet DIR, --hl7 FILE, --fhir DIR|FILE",
        ));
    }
    let opts = ingest::IngestOptions {
        memory_mb: Some(args.memory_limit),
        partitions: args.partitions.map(|n| n as usize),
        parquet_layout: if args.hive_parquet {
            ingest::cdm_table::ParquetLayout::Hive
        } else {
            ingest::cdm_table::ParquetLayout::File
        },
    };
    let summary = ingest::run_with(&cfg, &out, &opts)?;
    for (stage, took) in &summary.stages {
        ui.detail(format!("{:>8.2} s  {stage}", took.as_secs_f64()));
    }
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

/// `carelab ingest <subcommand>`.
#[derive(Debug, clap::Subcommand)]
pub enum IngestCommand {
    /// Receive a live HL7 v2 feed over MLLP: answer each message with an ACK
    /// (AA accepted, AE content error, AR unparseable) and append accepted
    /// messages to DIR/feed.hl7; Ctrl-C stops after answering what came in.
    Listen(ListenArgs),
}

#[derive(Debug, clap::Args)]
pub struct ListenArgs {
    /// Address to listen on, HOST:PORT (port 0 picks a free port; the
    /// address is printed).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:2575")]
    pub mllp: String,
    /// Output folder: feed.hl7 (accepted), rejected.csv, manifest.json.
    #[arg(long)]
    pub out: PathBuf,
    /// Stop after this many messages.
    #[arg(long)]
    pub max_messages: Option<u64>,
}

/// `carelab data replay`: send a feed the way an interface engine would.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The MLLP listener, HOST:PORT.
    #[arg(long, value_name = "HOST:PORT")]
    pub mllp: String,
    /// HL7 v2 feed file (plain or MLLP-framed), e.g. OUT/hl7v2/feed.hl7.
    #[arg(long)]
    pub feed: PathBuf,
    /// How long to wait for each ACK.
    #[arg(long, default_value_t = 5000)]
    pub timeout_ms: u64,
    /// Resends of a message after a timeout or a lost connection.
    #[arg(long, default_value_t = 3)]
    pub retries: u32,
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::failure(format!("cannot start the async runtime: {e}")))
}

/// Completes on Ctrl-C or SIGTERM.
async fn stop_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term => {},
    }
}

fn listen(a: ListenArgs, ui: &Ui) -> Result<u8> {
    let summary = runtime()?.block_on(async {
        let listener = tokio::net::TcpListener::bind(&a.mllp).await.map_err(|e| {
            Error::bad_input(
                "--mllp",
                None,
                "a free HOST:PORT to listen on",
                format!("{}: {e}", a.mllp),
            )
        })?;
        let bound = listener
            .local_addr()
            .map(|x| x.to_string())
            .unwrap_or_else(|_| a.mllp.clone());
        ui.info(format!(
            "listening for MLLP on {bound}; accepted messages go to {} (Ctrl-C to stop)",
            a.out.join("feed.hl7").display()
        ));
        mllp::listen(listener, &a.out, a.max_messages, stop_signal()).await
    })?;
    ui.result(&summary, || {
        format!(
            "{} messages on {} connections: {} accepted (AA), {} content errors (AE), \
             {} rejected (AR), {} framing errors -> {}",
            summary.messages,
            summary.connections,
            summary.accepted,
            summary.errors,
            summary.rejected,
            summary.frame_errors,
            summary.feed.display()
        )
    });
    Ok(0)
}

/// Exit code 1 when any message was rejected (AR) or never acknowledged.
pub fn replay(a: ReplayArgs, ui: &Ui) -> Result<u8> {
    let bytes = std::fs::read(&a.feed).at(&a.feed)?;
    let feed = Feed::from_bytes(&a.feed.display().to_string(), &bytes)?;
    for w in feed.warnings() {
        ui.warn(w);
    }
    let opts = mllp::ReplayOptions {
        timeout: Duration::from_millis(a.timeout_ms.max(1)),
        retries: a.retries,
    };
    ui.info(format!(
        "replaying {} to {} (timeout {} ms, {} retries)",
        a.feed.display(),
        a.mllp,
        a.timeout_ms,
        a.retries
    ));
    let summary = runtime()?.block_on(mllp::replay(&a.mllp, &feed.text, opts))?;
    ui.result(&summary, || {
        let mut text = format!(
            "{} messages sent: {} AA, {} AE, {} AR, {} without ACK ({} retries)",
            summary.messages, summary.aa, summary.ae, summary.ar, summary.no_ack, summary.retries
        );
        for p in summary.problems.iter().take(20) {
            text.push_str(&format!("\n  {p}"));
        }
        text
    });
    Ok(if summary.ar > 0 || summary.no_ack > 0 {
        1
    } else {
        0
    })
}
