//! `carelab train`: flags -> a `TrainJob`, then print what the run made.

use std::path::PathBuf;

use carelab::error::{Error, Result};
use carelab::features::SplitMethod;
use carelab::train::config::parse_hidden;
use carelab::train::{
    ClassWeight, DeviceKind, EngineKind, ModelKind, Monitor, OptimizerKind, TrainConfig, TrainJob,
};
use carelab::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// The analysis table (CSV with the columns of the data dictionary).
    #[arg(long, required_unless_present = "resume")]
    data: Option<PathBuf>,
    /// Model kind.
    #[arg(long, value_enum)]
    model: Option<ModelKind>,
    /// Hidden layer sizes of the MLP, comma-separated (default 64,32).
    #[arg(long)]
    hidden: Option<String>,
    #[arg(long)]
    epochs: Option<u32>,
    #[arg(long)]
    batch_size: Option<usize>,
    /// Learning rate.
    #[arg(long)]
    lr: Option<f64>,
    #[arg(long)]
    weight_decay: Option<f64>,
    #[arg(long, value_enum)]
    class_weight: Option<ClassWeight>,
    /// Stop after PATIENCE epochs without improvement on validation.
    #[arg(long, value_name = "PATIENCE")]
    early_stopping: Option<u32>,
    /// What early stopping and the best epoch watch on validation.
    #[arg(long, value_enum)]
    monitor: Option<Monitor>,
    #[arg(long, value_enum)]
    optimizer: Option<OptimizerKind>,
    #[arg(long, value_enum)]
    device: Option<DeviceKind>,
    /// Training implementation: fused CPU kernels or candle autograd.
    #[arg(long, value_enum)]
    engine: Option<EngineKind>,
    #[arg(long)]
    seed: Option<u64>,
    /// How rows are split into train/valid/calibration/test (always by patient).
    #[arg(long, value_enum)]
    split: Option<SplitMethod>,
    /// A SQL query run on cdm.sqlite beside --data (ingest writes both):
    /// each column it returns but stay_id becomes an extra numeric feature,
    /// joined on stay_id. Lab 04 builds a leaky one with it. The served
    /// model gets no value for these (imputed), as the server cannot run it.
    #[arg(long, value_name = "FILE")]
    features_sql: Option<PathBuf>,
    /// A train.toml with any of the settings above; flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Folder that holds run directories.
    #[arg(long, default_value = "runs")]
    out: PathBuf,
    /// Run directory name (default: MODEL-seedSEED).
    #[arg(long)]
    name: Option<String>,
    /// Continue an interrupted run from its last checkpoint.
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["data", "config"])]
    resume: Option<PathBuf>,
    /// The generator's truth/stays.csv, so the automatic evaluation shows the Bayes ceiling.
    #[arg(long)]
    truth: Option<PathBuf>,
    /// The evaluation that follows training flags stays at the highest
    /// threshold reaching this sensitivity on the calibration split (default:
    /// a fixed 0.5), so its model card reports that operating point on test.
    #[arg(long, conflicts_with = "no_eval")]
    target_sensitivity: Option<f64>,
    /// Skip the evaluation that otherwise follows training (RUN/eval).
    #[arg(long)]
    no_eval: bool,
    /// Record the run in this registry (or $CARELAB_REGISTRY).
    #[arg(long, env = "CARELAB_REGISTRY")]
    registry: Option<PathBuf>,
    /// Sleep after each checkpoint (interruption demos and tests).
    #[arg(long, hide = true, default_value_t = 0)]
    pause_after_epoch_ms: u64,
}

pub fn run(args: TrainArgs, ui: &Ui) -> Result<u8> {
    if let Some(s) = args.target_sensitivity {
        if !(0.0..=1.0).contains(&s) {
            return Err(Error::usage(format!(
                "--target-sensitivity must be between 0 and 1, got {s}"
            )));
        }
    }
    let outcome = match &args.resume {
        Some(dir) => carelab::train::resume(dir, args.pause_after_epoch_ms, ui)?,
        None => carelab::train::train(&job(&args)?, ui)?,
    };
    let m = &outcome.metrics;
    let mut after = String::new();
    if !args.no_eval {
        let mut options = carelab::eval::EvalOptions {
            truth: args.truth.clone(),
            ..Default::default()
        };
        if let Some(s) = args.target_sensitivity {
            options.threshold = carelab::eval::ThresholdRule::TargetSensitivity(s);
        }
        let report = carelab::eval::evaluate(&outcome.run_dir, &options)?;
        carelab::eval::write_report(&report, &outcome.run_dir.join("eval"))?;
        after.push_str(&format!(
            "\n  evaluation: {}",
            outcome.run_dir.join("eval").display()
        ));
    }
    if let Some(path) = &args.registry {
        let id =
            carelab::registry::Registry::open(path)?.record_run(&outcome.run_dir, "default")?;
        after.push_str(&format!("\n  recorded as run {id} in {}", path.display()));
    }
    let fmt = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.4}"));
    ui.result(&outcome, || {
        format!(
            "run {}\n  epochs {} (best {}{}), {:.1} s, {:.0} samples/s\n  valid AUROC {} (the test split is judged once, by `carelab eval`)",
            outcome.run_dir.display(),
            m.final_epoch,
            m.best_epoch,
            if m.stopped_early { ", stopped early" } else { "" },
            m.seconds,
            m.samples_per_sec,
            fmt(m.valid_auroc),
        ) + &after
    });
    Ok(0)
}

fn job(args: &TrainArgs) -> Result<TrainJob> {
    let data = args
        .data
        .clone()
        .ok_or_else(|| Error::usage("--data TABLE is required (or --resume RUN_DIR)"))?;
    let mut c = match &args.config {
        Some(path) => TrainConfig::from_toml_file(path)?,
        None => TrainConfig::default(),
    };
    if let Some(v) = args.model {
        c.model = v;
    }
    if let Some(v) = &args.hidden {
        c.hidden = parse_hidden(v)?;
    }
    macro_rules! set {
        ($($field:ident),*) => { $( if let Some(v) = args.$field { c.$field = v; } )* };
    }
    set!(
        epochs,
        batch_size,
        lr,
        weight_decay,
        class_weight,
        monitor,
        optimizer,
        device,
        seed,
        split
    );
    if args.early_stopping.is_some() {
        c.early_stopping = args.early_stopping;
    }
    if args.features_sql.is_some() {
        c.features_sql = args.features_sql.clone();
    }
    let name = match &args.name {
        Some(n) => n.clone(),
        None => format!("{}-seed{}", model_name(c.model), c.seed),
    };
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        return Err(Error::bad_input(
            "--name",
            None,
            "a plain folder name",
            name,
        ));
    }
    Ok(TrainJob {
        config: c,
        data,
        run_dir: args.out.join(name),
        pause_after_epoch_ms: args.pause_after_epoch_ms,
    })
}

fn model_name(kind: ModelKind) -> &'static str {
    match kind {
        ModelKind::Logreg => "logreg",
        ModelKind::Mlp => "mlp",
    }
}
