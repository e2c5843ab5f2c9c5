//! `carelab runs ...` and `carelab models ...`: the run and model registry.

use std::path::PathBuf;

use carelab::error::{Error, Result};
use carelab::registry::{Registry, Stage};
use carelab::ui::Ui;

/// Where the registry lives.
#[derive(Debug, Clone, clap::Args)]
pub struct RegistryArg {
    /// The registry file (default ./carelab-registry/registry.db).
    #[arg(long, env = "CARELAB_REGISTRY")]
    registry: Option<PathBuf>,
}

impl RegistryArg {
    fn open(&self) -> Result<Registry> {
        Registry::open(self.registry.clone().unwrap_or_else(Registry::default_path))
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum RunsCommand {
    /// Record a run directory (again: refreshes it, same id).
    Record {
        /// The run directory the trainer wrote.
        run_dir: PathBuf,
        /// The experiment to file it under.
        #[arg(long, default_value = "default")]
        experiment: String,
        #[command(flatten)]
        registry: RegistryArg,
    },
    /// List recorded runs, newest first.
    List {
        /// Only this experiment's runs.
        #[arg(long)]
        experiment: Option<String>,
        #[command(flatten)]
        registry: RegistryArg,
    },
    /// Everything recorded about one run (id, unique name or directory).
    Show {
        run: String,
        #[command(flatten)]
        registry: RegistryArg,
    },
    /// Runs side by side: params and summary metrics.
    Compare {
        #[arg(required = true, num_args = 2..)]
        runs: Vec<String>,
        #[command(flatten)]
        registry: RegistryArg,
    },
}

fn num(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.4}")).unwrap_or_else(|| "-".into())
}

pub fn run_runs(args: RunsCommand, ui: &Ui) -> Result<u8> {
    match args {
        RunsCommand::Record {
            run_dir,
            experiment,
            registry,
        } => {
            let mut reg = registry.open()?;
            let run_id = reg.record_run(&run_dir, &experiment)?;
            let value = serde_json::json!({ "run_id": run_id, "experiment": experiment, "registry": reg.path() });
            ui.result(&value, || {
                format!(
                    "recorded {run_id} in experiment {experiment} ({})",
                    reg.path().display()
                )
            });
        }
        RunsCommand::List {
            experiment,
            registry,
        } => {
            let reg = registry.open()?;
            let runs = reg.list_runs(experiment.as_deref())?;
            ui.result(&runs, || {
                let mut t = format!(
                    "{:<28} {:<12} {:<10} {:<10} {:>8} {:>8}\n",
                    "run", "experiment", "kind", "status", "v_auroc", "t_auroc"
                );
                for r in &runs {
                    let test = r
                        .metrics
                        .iter()
                        .find(|(k, _)| k.starts_with("eval.") && k.ends_with(".auroc"))
                        .map(|(_, v)| *v);
                    t.push_str(&format!(
                        "{:<28} {:<12} {:<10} {:<10} {:>8} {:>8}\n",
                        r.run_id,
                        r.experiment,
                        r.model_kind,
                        r.status,
                        num(r.metrics.get("valid_auroc").copied()),
                        num(test)
                    ));
                }
                if runs.is_empty() {
                    t.push_str("(no runs recorded)\n");
                }
                t
            });
        }
        RunsCommand::Show { run, registry } => {
            let reg = registry.open()?;
            let d = reg.run(&run)?;
            ui.result(&d, || {
                let s = &d.summary;
                let mut t = format!(
                    "run {} ({}), experiment {}\n  dir {}\n  kind {}, seed {}, status {}, CareLab {}\n  data {} (digest {})\n",
                    s.run_id,
                    s.name,
                    s.experiment,
                    s.run_dir,
                    s.model_kind,
                    d.seed.map(|x| x.to_string()).unwrap_or_else(|| "-".into()),
                    s.status,
                    d.carelab_version,
                    d.data_path,
                    d.data_digest
                );
                t.push_str("  params:\n");
                for (k, v) in &d.params {
                    t.push_str(&format!("    {k} = {v}\n"));
                }
                t.push_str("  summary metrics:\n");
                for (k, v) in &s.metrics {
                    t.push_str(&format!("    {k} = {v}\n"));
                }
                for (k, points) in &d.history {
                    if let (Some(first), Some(last)) = (points.first(), points.last()) {
                        t.push_str(&format!("  {k}: {} steps, {} at step {} -> {} at step {}\n", points.len(), first.1, first.0, last.1, last.0));
                    }
                }
                t.push_str(&format!("  {} artifacts\n", d.artifacts.len()));
                t
            });
        }
        RunsCommand::Compare { runs, registry } => {
            let reg = registry.open()?;
            let refs: Vec<&str> = runs.iter().map(String::as_str).collect();
            let c = reg.compare(&refs)?;
            ui.result(&c, || {
                let mut t = format!("{:<28}", "");
                for r in &c.runs {
                    t.push_str(&format!(" {r:>24}"));
                }
                t.push('\n');
                for (k, vals) in &c.params {
                    t.push_str(&format!("{:<28}", format!("param {k}")));
                    for v in vals {
                        t.push_str(&format!(" {:>24}", v.as_deref().unwrap_or("-")));
                    }
                    t.push('\n');
                }
                for (k, vals) in &c.metrics {
                    t.push_str(&format!("{k:<28}"));
                    for v in vals {
                        t.push_str(&format!(" {:>24}", num(*v)));
                    }
                    t.push('\n');
                }
                t
            });
        }
    }
    Ok(0)
}

#[derive(Debug, clap::Subcommand)]
pub enum ModelsCommand {
    /// Register a run as the next version of a model (records the run directory first if needed).
    Register {
        name: String,
        /// Run id, unique run name, or run directory.
        #[arg(long)]
        run: String,
        /// Experiment for a run directory not yet recorded.
        #[arg(long, default_value = "default")]
        experiment: String,
        #[command(flatten)]
        registry: RegistryArg,
    },
    /// Move a version to a stage: none, staging, production or archived.
    /// Promoting to production archives the previous production version.
    Promote {
        name: String,
        #[arg(value_name = "VERSION")]
        model_version: u32,
        stage: String,
        #[command(flatten)]
        registry: RegistryArg,
    },
    /// Archive a version.
    Archive {
        name: String,
        #[arg(value_name = "VERSION")]
        model_version: u32,
        #[command(flatten)]
        registry: RegistryArg,
    },
    /// Point an alias (champion, challenger, ...) at a version, moving it
    /// from the version it named; NAME@ALIAS then names that version
    /// wherever a model is taken (serve, eval, monitor, models export).
    Alias {
        name: String,
        alias: String,
        #[arg(value_name = "VERSION")]
        model_version: u32,
        #[command(flatten)]
        registry: RegistryArg,
    },
    /// Tag a version: KEY=VALUE, one or more (a key set again is replaced).
    Tag {
        name: String,
        #[arg(value_name = "VERSION")]
        model_version: u32,
        #[arg(required = true, value_name = "KEY=VALUE")]
        tags: Vec<String>,
        #[command(flatten)]
        registry: RegistryArg,
    },
    /// A model's stage changes and alias moves, oldest first.
    History {
        name: String,
        #[command(flatten)]
        registry: RegistryArg,
    },
    /// Write a model as files other tools load. onnx: OUT/model.onnx (opset
    /// 17, the standardisation inside, a symbolic batch dimension) and a
    /// Triton model repository, OUT/NAME/config.pbtxt and OUT/NAME/1/model.onnx.
    /// mlflow: an MLflow model directory (OUT/MLmodel, model.onnx, input example).
    Export {
        /// NAME@stage, NAME@VERSION, NAME@ALIAS or a run directory.
        reference: String,
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// The directory to write into (created if needed).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        registry: RegistryArg,
    },
    /// List model versions, their stages, aliases and tags.
    List {
        /// Only this model.
        name: Option<String>,
        #[command(flatten)]
        registry: RegistryArg,
    },
    /// Print the run directory behind NAME@production, NAME@staging,
    /// NAME@VERSION or NAME@ALIAS.
    Resolve {
        reference: String,
        #[command(flatten)]
        registry: RegistryArg,
    },
}

/// What `carelab models export` writes.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ExportFormat {
    /// ONNX (opset 17) and a Triton model repository.
    Onnx,
    /// An MLflow model directory (MLmodel with the onnx flavour, a tensor
    /// signature and an input example) around the same ONNX graph.
    Mlflow,
}

fn report_change(ui: &Ui, change: &carelab::registry::StageChange) {
    ui.result(change, || {
        let mut t = format!(
            "{} v{}: {} -> {}",
            change.name, change.version, change.from, change.to
        );
        for v in &change.archived {
            t.push_str(&format!("\n{} v{v}: production -> archived", change.name));
        }
        t
    });
}

pub fn run_models(args: ModelsCommand, ui: &Ui) -> Result<u8> {
    match args {
        ModelsCommand::Register {
            name,
            run,
            experiment,
            registry,
        } => {
            let mut reg = registry.open()?;
            // A run directory not recorded yet is recorded first; a recorded
            // one keeps its experiment.
            let run_ref = match reg.find_run(&run) {
                Ok(id) => id,
                Err(_) if PathBuf::from(&run).join("model.json").is_file() => {
                    reg.record_run(&run, &experiment)?
                }
                Err(e) => return Err(e),
            };
            let version = reg.register_model(&name, &run_ref)?;
            let run_id = reg.find_run(&run_ref)?;
            let value = serde_json::json!({ "name": name, "version": version, "run_id": run_id, "stage": "none" });
            ui.result(&value, || {
                format!("registered {name} v{version} from run {run_id}")
            });
        }
        ModelsCommand::Promote {
            name,
            model_version: version,
            stage,
            registry,
        } => {
            let stage: Stage = stage.parse()?;
            let change = registry.open()?.promote(&name, version, stage)?;
            report_change(ui, &change);
        }
        ModelsCommand::Archive {
            name,
            model_version: version,
            registry,
        } => {
            let change = registry.open()?.archive(&name, version)?;
            report_change(ui, &change);
        }
        ModelsCommand::Alias {
            name,
            alias,
            model_version: version,
            registry,
        } => {
            let change = registry.open()?.set_alias(&name, &alias, version)?;
            ui.result(&change, || match change.from {
                Some(from) if from != version => {
                    format!("{name}@{alias}: v{from} -> v{version}")
                }
                Some(_) => format!("{name}@{alias}: already v{version}"),
                None => format!("{name}@{alias}: new -> v{version}"),
            });
        }
        ModelsCommand::Tag {
            name,
            model_version: version,
            tags,
            registry,
        } => {
            let mut pairs = Vec::with_capacity(tags.len());
            for t in &tags {
                let Some((k, v)) = t.split_once('=') else {
                    return Err(Error::usage(format!("tag {t:?} must be KEY=VALUE")));
                };
                pairs.push((k.to_string(), v.to_string()));
            }
            let mut reg = registry.open()?;
            reg.set_tags(&name, version, &pairs)?;
            let now = reg
                .list_models(Some(&name))?
                .into_iter()
                .find(|m| m.version == version)
                .map(|m| m.tags)
                .unwrap_or_default();
            let value = serde_json::json!({"name": name, "version": version, "tags": now});
            ui.result(&value, || {
                let list: Vec<String> = now.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("{name} v{version}: {}", list.join(" "))
            });
        }
        ModelsCommand::Export {
            reference,
            format,
            out,
            registry,
        } => {
            use carelab::registry::export;
            let started = std::time::Instant::now();
            let how = match format {
                ExportFormat::Onnx => export::export_onnx,
                ExportFormat::Mlflow => export::export_mlflow,
            };
            let exported = how(&reference, registry.registry.as_deref(), &out)?;
            let seconds = started.elapsed().as_secs_f64();
            let mut value = serde_json::to_value(&exported)?;
            value["seconds"] = serde_json::json!(seconds);
            ui.result(&value, || {
                let mut t = format!(
                    "exported {} version {} ({} input columns) in {:.3} s:\n",
                    exported.name,
                    exported.version,
                    exported.columns.len(),
                    seconds
                );
                for f in &exported.files {
                    t.push_str(&format!("  {}\n", f.display()));
                }
                t
            });
        }
        ModelsCommand::History { name, registry } => {
            let history = registry.open()?.history(&name)?;
            ui.result(&history, || {
                let mut t = String::new();
                for h in &history {
                    t.push_str(&format!(
                        "{} v{:<4} {:<6} {}\n",
                        h.changed_at, h.version, h.kind, h.change
                    ));
                }
                if history.is_empty() {
                    t.push_str(&format!("(no changes recorded for {name})\n"));
                }
                t
            });
        }
        ModelsCommand::List { name, registry } => {
            let models = registry.open()?.list_models(name.as_deref())?;
            ui.result(&models, || {
                let mut t = format!(
                    "{:<20} {:>7} {:<11} {:<28} {:<20} {}\n",
                    "model", "version", "stage", "run", "since", "aliases, tags"
                );
                for m in &models {
                    let mut marks: Vec<String> =
                        m.aliases.iter().map(|a| format!("@{a}")).collect();
                    marks.extend(m.tags.iter().map(|(k, v)| format!("{k}={v}")));
                    t.push_str(&format!(
                        "{:<20} {:>7} {:<11} {:<28} {:<20} {}\n",
                        m.name,
                        m.version,
                        m.stage,
                        m.run_id,
                        m.stage_changed_at,
                        marks.join(" ")
                    ));
                }
                if models.is_empty() {
                    t.push_str("(no models registered)\n");
                }
                t
            });
        }
        ModelsCommand::Resolve {
            reference,
            registry,
        } => {
            let reg = registry.open()?;
            let v = reg.resolve_version(&reference)?;
            if !PathBuf::from(&v.run_dir).is_dir() {
                return Err(Error::failure(format!(
                    "{reference} points at {} which no longer exists",
                    v.run_dir
                )));
            }
            ui.result(&v, || v.run_dir.clone());
        }
    }
    Ok(0)
}
