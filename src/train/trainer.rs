//! The training loop: split, fit the transform, train with shuffled
//! mini-batches, checkpoint every epoch, stop early, write the run directory.
//!
//! The run directory is the contract with evaluation, the registry, serving
//! and the cost report:
//!
//! | file                  | what                                                    |
//! |-----------------------|---------------------------------------------------------|
//! | `model.safetensors`   | weights of the best epoch (PyTorch state_dict names)    |
//! | `model.json`          | kind, sizes, transform, feature names, params, data     |
//! | `trainer_state.json`  | epoch, best metric, patience, rng position, history     |
//! | `checkpoints/`        | the latest epoch: weights, best weights, Adam moments   |
//! | `history.csv`         | epoch, losses, validation AUROC, seconds, samples/s     |
//! | `predictions.csv`     | a score for every row of every split (train, valid, calibration, test) |
//! | `train_metrics.json`  | final and best epoch, seconds, samples/s, peak memory   |
//! | `manifest.json`       | inputs, counts and checksums of all of the above        |

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rand::Rng as _;
use serde::{Deserialize, Serialize};

use super::candle_engine::{self, CandleEngine};
use super::config::{ClassWeight, DeviceKind, Monitor, TrainConfig};
use super::metrics::{auroc, log_loss};
use super::model::{Model, ModelInfo};
use super::net::{Mlp, Workspace};
use super::optim::Optimizer;
use super::weights::{self, Tensors};
use crate::artifact::{
    read_json, sha256_file, write_atomic, write_json, AtomicFile, Manifest, VERSION,
};
use crate::clinical::analysis::read_analysis_csv;
use crate::clinical::AnalysisRow;
use crate::error::{Error, IoContext, Result};
use crate::features::{assign_splits, Matrix, Split, Transform};
use crate::rng;
use crate::ui::Ui;

/// What to train and where to write it.
#[derive(Debug, Clone)]
pub struct TrainJob {
    pub config: TrainConfig,
    /// The analysis table (CSV).
    pub data: PathBuf,
    /// The run directory to create, e.g. `runs/mlp-seed42`.
    pub run_dir: PathBuf,
    /// Sleep this long after each checkpoint (for demos of interruption and
    /// the resume test); 0 in normal use.
    pub pause_after_epoch_ms: u64,
}

/// One line of `history.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: u32,
    pub train_loss: f64,
    pub valid_loss: f64,
    pub valid_auroc: Option<f64>,
    pub seconds: f64,
    pub samples_per_sec: f64,
}

/// Where the shuffling stream stands: the next epoch draws stream
/// `rng::stream(seed, name, next_index)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RngPosition {
    pub stream: String,
    pub next_index: u64,
}

/// `trainer_state.json`: enough, with the checkpoint, to continue exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainerState {
    pub format: u32,
    pub config: TrainConfig,
    pub data_path: String,
    pub data_sha256: String,
    pub epochs_done: u32,
    pub optimizer_step: u64,
    pub best_metric: Option<f64>,
    pub best_epoch: u32,
    pub epochs_without_improvement: u32,
    pub stopped_early: bool,
    pub finished: bool,
    pub rng: RngPosition,
    /// The checkpoint of `epochs_done`, relative to the run directory.
    pub checkpoint: Option<String>,
    pub history: Vec<EpochRecord>,
}

/// `train_metrics.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainMetrics {
    pub final_epoch: u32,
    pub best_epoch: u32,
    pub stopped_early: bool,
    pub valid_auroc: Option<f64>,
    pub valid_loss: f64,
    // No test figures here: the test split is judged once, by `carelab
    // eval`, after every choice (epoch, threshold, recalibration) is made.
    // A test AUROC printed at every training run invites choosing the run
    // by it, which tunes the model to the data meant to judge it.
    pub rows: BTreeMap<String, u64>,
    /// Training time over all epochs (this process and any it resumed).
    pub seconds: f64,
    pub samples_per_sec: f64,
    pub peak_memory_bytes: Option<u64>,
    pub device: String,
}

/// What a finished training run produced.
#[derive(Debug, Clone, Serialize)]
pub struct TrainOutcome {
    pub run_dir: PathBuf,
    pub metrics: TrainMetrics,
}

const STATE_FILE: &str = "trainer_state.json";

/// Train a new model into `job.run_dir` (which must not hold a run yet).
pub fn train(job: &TrainJob, ui: &Ui) -> Result<TrainOutcome> {
    job.config.validate()?;
    check_device(job.config.device)?;
    if job.run_dir.exists()
        && std::fs::read_dir(&job.run_dir)
            .at(&job.run_dir)?
            .next()
            .is_some()
    {
        return Err(Error::usage(format!(
            "run directory {} already exists: choose another --name, or continue it with --resume {}",
            job.run_dir.display(),
            job.run_dir.display()
        )));
    }
    let data_sha256 = sha256_file(&job.data)?;
    let state = TrainerState {
        format: 1,
        config: job.config.clone(),
        data_path: job.data.display().to_string(),
        data_sha256,
        epochs_done: 0,
        optimizer_step: 0,
        best_metric: None,
        best_epoch: 0,
        epochs_without_improvement: 0,
        stopped_early: false,
        finished: false,
        rng: RngPosition {
            stream: "shuffle".into(),
            next_index: 1,
        },
        checkpoint: None,
        history: Vec::new(),
    };
    write_json(job.run_dir.join(STATE_FILE), &state)?;
    run(job, state, ui)
}

/// Continue an interrupted run from its last checkpoint, with the settings
/// it started with. A finished run is reported, not retrained.
pub fn resume(run_dir: &Path, pause_after_epoch_ms: u64, ui: &Ui) -> Result<TrainOutcome> {
    let state: TrainerState = read_json(run_dir.join(STATE_FILE))?;
    if state.finished {
        ui.info(format!(
            "{} is already finished; nothing to resume",
            run_dir.display()
        ));
        let metrics = read_json(run_dir.join("train_metrics.json"))?;
        return Ok(TrainOutcome {
            run_dir: run_dir.to_path_buf(),
            metrics,
        });
    }
    check_device(state.config.device)?;
    let data = PathBuf::from(&state.data_path);
    let sha = sha256_file(&data)?;
    if sha != state.data_sha256 {
        return Err(Error::bad_input(
            data.display(),
            None,
            format!(
                "the table the run started with (sha256 {})",
                state.data_sha256
            ),
            format!("a changed file (sha256 {sha})"),
        ));
    }
    ui.info(format!(
        "resuming {} after epoch {}",
        run_dir.display(),
        state.epochs_done
    ));
    let job = TrainJob {
        config: state.config.clone(),
        data,
        run_dir: run_dir.to_path_buf(),
        pause_after_epoch_ms,
    };
    run(&job, state, ui)
}

/// Fail at once, with the way out, when the device is not available.
pub fn check_device(device: DeviceKind) -> Result<()> {
    match device {
        DeviceKind::Cpu => Ok(()),
        DeviceKind::Cuda if !cfg!(feature = "cuda") => Err(Error::usage(
            "--device cuda needs a build with CUDA support: scripts/build-cuda.sh builds one \
             (`cargo build --release --features cuda` with the CUDA toolkit) to run on a machine \
             with an NVIDIA GPU; or use --device cpu",
        )),
        DeviceKind::Cuda => super::candle_engine::device(true).map(|_| ()),
    }
}

/// The table split and transformed.
struct Prepared {
    rows: Vec<AnalysisRow>,
    splits: Vec<Split>,
    transform: Transform,
    x_train: Matrix,
    y_train: Vec<f32>,
    w_train: Vec<f32>,
    x_valid: Matrix,
    y_valid: Vec<u8>,
}

fn prepare(job: &TrainJob) -> Result<Prepared> {
    let mut rows = read_analysis_csv(&job.data)?;
    let extra = match &job.config.features_sql {
        Some(query) => crate::features::sql::attach(&mut rows, &job.data, query)?,
        None => Vec::new(),
    };
    if let Some((i, r)) = rows.iter().enumerate().find(|(_, r)| r.readmit_30d > 1) {
        return Err(Error::bad_input(
            job.data.display(),
            Some(format!("line {} column readmit_30d", i + 2)),
            "0 or 1",
            r.readmit_30d.to_string(),
        ));
    }
    let splits = assign_splits(&rows, job.config.split, job.config.seed);
    let pick = |which: Split| -> Vec<AnalysisRow> {
        rows.iter()
            .zip(&splits)
            .filter(|(_, s)| **s == which)
            .map(|(r, _)| r.clone())
            .collect()
    };
    let (train, valid) = (pick(Split::Train), pick(Split::Valid));
    let transform = Transform::fit(&train, &extra)?;
    if valid.is_empty() {
        return Err(Error::usage(format!(
            "{}: the validation split is empty ({} rows): the table needs more patients",
            job.data.display(),
            rows.len()
        )));
    }
    let y_valid: Vec<u8> = valid.iter().map(|r| r.readmit_30d).collect();
    if job.config.monitor == Monitor::Auroc && auroc(&vec![0.0; y_valid.len()], &y_valid).is_none()
    {
        return Err(Error::usage(
            "the validation split has only one class, so its AUROC is undefined: \
             use --monitor loss or a larger table",
        ));
    }
    let y_train: Vec<f32> = train.iter().map(|r| f32::from(r.readmit_30d)).collect();
    let w_train = class_weights(job.config.class_weight, &y_train);
    Ok(Prepared {
        x_train: transform.apply(&train),
        x_valid: transform.apply(&valid),
        rows,
        splits,
        transform,
        y_train,
        w_train,
        y_valid,
    })
}

fn class_weights(mode: ClassWeight, y: &[f32]) -> Vec<f32> {
    match mode {
        ClassWeight::None => vec![1.0; y.len()],
        ClassWeight::Balanced => {
            let n = y.len() as f32;
            let pos = y.iter().filter(|&&v| v > 0.5).count() as f32;
            let neg = n - pos;
            let (wp, wn) = (n / (2.0 * pos.max(1.0)), n / (2.0 * neg.max(1.0)));
            y.iter().map(|&v| if v > 0.5 { wp } else { wn }).collect()
        }
    }
}

/// Network, optimiser and best-so-far weights: what a checkpoint holds.
struct Trainable {
    mlp: Mlp,
    best: Vec<f32>,
    opt: Optimizer,
}

fn fresh(config: &TrainConfig, inputs: usize) -> Trainable {
    let mlp = Mlp::init(inputs, &config.hidden_layers(), config.seed);
    let opt = Optimizer::new(
        config.optimizer,
        config.lr,
        config.weight_decay,
        mlp.params.len(),
    );
    Trainable {
        best: mlp.params.clone(),
        mlp,
        opt,
    }
}

fn load_checkpoint(dir: &Path, state: &TrainerState, inputs: usize) -> Result<Trainable> {
    let mut t = fresh(&state.config, inputs);
    let Some(rel) = &state.checkpoint else {
        return Ok(t);
    };
    let path = dir.join(rel);
    let (tensors, _) = weights::load(&path)?;
    t.mlp.params = weights::flat_from(&t.mlp, &tensors, "", &path)?;
    t.best = weights::flat_from(&t.mlp, &tensors, "best.", &path)?;
    if !t.opt.m.is_empty() {
        t.opt.m = weights::flat_from(&t.mlp, &tensors, "optimizer.m.", &path)?;
        t.opt.v = weights::flat_from(&t.mlp, &tensors, "optimizer.v.", &path)?;
    }
    t.opt.step = state.optimizer_step;
    Ok(t)
}

fn save_checkpoint(dir: &Path, epoch: u32, t: &Trainable) -> Result<String> {
    let rel = format!("checkpoints/epoch-{epoch:04}.safetensors");
    let mut tensors = Tensors::new();
    weights::tensors_of(&t.mlp, &t.mlp.params, "", &mut tensors);
    weights::tensors_of(&t.mlp, &t.best, "best.", &mut tensors);
    if !t.opt.m.is_empty() {
        weights::tensors_of(&t.mlp, &t.opt.m, "optimizer.m.", &mut tensors);
        weights::tensors_of(&t.mlp, &t.opt.v, "optimizer.v.", &mut tensors);
    }
    weights::save(
        &dir.join(&rel),
        &tensors,
        Some(("epoch", &epoch.to_string())),
    )?;
    Ok(rel)
}

fn shuffled(n: usize, seed: u64, epoch: u64) -> Vec<usize> {
    let mut rng = rng::stream(seed, "shuffle", epoch);
    let mut perm: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.random_range(0..=i);
        perm.swap(i, j);
    }
    perm
}

fn run(job: &TrainJob, mut state: TrainerState, ui: &Ui) -> Result<TrainOutcome> {
    let config = &job.config;
    let dir = &job.run_dir;
    let data = prepare(job)?;
    let mut t = load_checkpoint(dir, &state, data.transform.width())?;
    let n = data.x_train.rows;
    let batch = config.batch_size.min(n.max(1));
    let mut ws = Workspace::new(&t.mlp, batch);
    let (mut yb, mut wb) = (vec![0.0f32; batch], vec![0.0f32; batch]);
    let mut engine = if config.uses_candle() {
        let dev = candle_engine::device(config.device == DeviceKind::Cuda)?;
        let (x, y, w) = (&data.x_train, &data.y_train, &data.w_train);
        Some(CandleEngine::new(dev, x, y, w, &t.mlp, &t.opt)?)
    } else {
        None
    };
    let calibration = data
        .splits
        .iter()
        .filter(|s| **s == Split::Calibration)
        .count();
    ui.info(format!(
        "training {:?} on {} rows ({} train, {} valid for the epoch, {} calibration for threshold and recalibration, the rest test), {} input columns",
        config.model,
        data.rows.len(),
        n,
        data.x_valid.rows,
        calibration,
        data.transform.width()
    ));
    let remaining = config.epochs.saturating_sub(state.epochs_done);
    let mut progress = ui.progress(u64::from(remaining) * n as u64, "training");
    while state.epochs_done < config.epochs && !state.stopped_early {
        let epoch = state.epochs_done + 1;
        let started = Instant::now();
        let perm = shuffled(n, config.seed, state.rng.next_index);
        let loss_sum = match &mut engine {
            Some(e) => {
                let sum = e.epoch(&perm, batch, &mut t.opt)?;
                e.download(&mut t.mlp, &mut t.opt)?;
                progress.inc(n as u64);
                sum
            }
            None => {
                let mut sum = 0.0f64;
                for rows in perm.chunks(batch) {
                    ws.load_rows(&data.x_train, rows);
                    for (b, &r) in rows.iter().enumerate() {
                        yb[b] = data.y_train[r];
                        wb[b] = data.w_train[r];
                    }
                    let loss = ws.forward_backward(&t.mlp, rows.len(), &yb, &wb);
                    t.opt.step(&mut t.mlp.params, &ws.grads);
                    sum += f64::from(loss) * rows.len() as f64;
                    progress.inc(rows.len() as u64);
                }
                sum
            }
        };
        let seconds = started.elapsed().as_secs_f64();
        let valid_scores = t.mlp.predict(&data.x_valid);
        let record = EpochRecord {
            epoch,
            train_loss: loss_sum / n.max(1) as f64,
            valid_loss: log_loss(&valid_scores, &data.y_valid),
            valid_auroc: auroc(&valid_scores, &data.y_valid),
            seconds,
            samples_per_sec: n as f64 / seconds.max(1e-9),
        };
        progress.set_status(format!(
            "epoch {epoch} loss {:.4} valid auroc {}",
            record.train_loss,
            fmt_opt(record.valid_auroc)
        ));
        ui.detail(format!(
            "epoch {epoch}: train loss {:.4}, valid loss {:.4}, valid AUROC {}, {:.0} samples/s",
            record.train_loss,
            record.valid_loss,
            fmt_opt(record.valid_auroc),
            record.samples_per_sec
        ));
        let value = match config.monitor {
            Monitor::Auroc => record.valid_auroc.unwrap_or(f64::NAN),
            Monitor::Loss => record.valid_loss,
        };
        let improved = match (state.best_metric, config.monitor) {
            (None, _) => value.is_finite(),
            (Some(best), Monitor::Auroc) => value > best,
            (Some(best), Monitor::Loss) => value < best,
        };
        if improved {
            state.best_metric = Some(value);
            state.best_epoch = epoch;
            state.epochs_without_improvement = 0;
            t.best.copy_from_slice(&t.mlp.params);
        } else {
            state.epochs_without_improvement += 1;
        }
        if config
            .early_stopping
            .is_some_and(|p| state.epochs_without_improvement >= p)
        {
            state.stopped_early = true;
            ui.info(format!(
                "early stopping after epoch {epoch}: no improvement for {} epochs",
                state.epochs_without_improvement
            ));
        }
        state.history.push(record);
        state.epochs_done = epoch;
        state.optimizer_step = t.opt.step;
        state.rng.next_index += 1;
        // The checkpoint first, then the state that points at it: a kill in
        // between leaves the previous state and its checkpoint intact.
        let previous = state.checkpoint.replace(save_checkpoint(dir, epoch, &t)?);
        write_json(dir.join(STATE_FILE), &state)?;
        write_history(&dir.join("history.csv"), &state.history)?;
        if let Some(old) = previous.filter(|p| Some(p) != state.checkpoint.as_ref()) {
            let _ = std::fs::remove_file(dir.join(old));
        }
        if job.pause_after_epoch_ms > 0 {
            std::thread::sleep(std::time::Duration::from_millis(job.pause_after_epoch_ms));
        }
    }
    progress.finish();
    t.mlp.params.copy_from_slice(&t.best);
    finish(job, &mut state, &data, t.mlp)
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.4}"))
}

fn write_history(path: &Path, history: &[EpochRecord]) -> Result<()> {
    let mut text =
        String::from("epoch,train_loss,valid_loss,valid_auroc,seconds,samples_per_sec\n");
    for h in history {
        text.push_str(&format!(
            "{},{},{},{},{:.3},{:.0}\n",
            h.epoch,
            h.train_loss,
            h.valid_loss,
            h.valid_auroc.map(|v| v.to_string()).unwrap_or_default(),
            h.seconds,
            h.samples_per_sec
        ));
    }
    write_atomic(path, text.as_bytes())
}

/// Write the model, predictions, metrics and manifest of a finished run.
fn finish(
    job: &TrainJob,
    state: &mut TrainerState,
    data: &Prepared,
    mlp: Mlp,
) -> Result<TrainOutcome> {
    let dir = &job.run_dir;
    let config = &job.config;
    let mut tensors = Tensors::new();
    weights::tensors_of(&mlp, &mlp.params, "", &mut tensors);
    weights::save(
        &dir.join("model.safetensors"),
        &tensors,
        Some(("format", "pt")),
    )?;
    let manifest_digest = job
        .data
        .parent()
        .map(|p| p.join("manifest.json"))
        .filter(|p| p.is_file())
        .map(|p| Manifest::read(p.parent().unwrap_or(Path::new("."))).map(|m| m.digest()))
        .transpose()?;
    let info = ModelInfo {
        kind: config.model,
        hidden: mlp.hidden(),
        feature_names: data.transform.columns.clone(),
        transform: data.transform.clone(),
        params: config.clone(),
        data_path: state.data_path.clone(),
        data_sha256: state.data_sha256.clone(),
        data_manifest_digest: manifest_digest.clone(),
        seed: config.seed,
        device: config.device.as_str().to_string(),
        carelab_version: VERSION.to_string(),
        best_epoch: state.best_epoch,
        weights_file: "model.safetensors".into(),
    };
    write_json(dir.join("model.json"), &info)?;

    // Score every row with the loaded-model code path that serving uses.
    let model = Model::from_parts(info, mlp, dir.clone());
    let scores = model.score(&data.rows)?;
    write_predictions(&dir.join("predictions.csv"), data, &scores)?;

    let of = |which: Split| -> (Vec<f64>, Vec<u8>) {
        data.splits
            .iter()
            .zip(&scores)
            .zip(&data.rows)
            .filter(|((s, _), _)| **s == which)
            .map(|((_, &p), r)| (p, r.readmit_30d))
            .unzip()
    };
    let (vs, vy) = of(Split::Valid);
    let mut rows = BTreeMap::new();
    for s in Split::ALL {
        let count = data.splits.iter().filter(|x| **x == s).count() as u64;
        rows.insert(s.as_str().to_string(), count);
    }
    let seconds: f64 = state.history.iter().map(|h| h.seconds).sum();
    let samples = data.x_train.rows as f64 * state.history.len() as f64;
    let metrics = TrainMetrics {
        final_epoch: state.epochs_done,
        best_epoch: state.best_epoch,
        stopped_early: state.stopped_early,
        valid_auroc: auroc(&vs, &vy),
        valid_loss: log_loss(&vs, &vy),
        rows: rows.clone(),
        seconds,
        samples_per_sec: samples / seconds.max(1e-9),
        peak_memory_bytes: peak_memory_bytes(),
        device: config.device.as_str().to_string(),
    };
    write_json(dir.join("train_metrics.json"), &metrics)?;
    state.finished = true;
    write_json(dir.join(STATE_FILE), &*state)?;

    let mut manifest = Manifest::new("train");
    manifest.seed = Some(config.seed);
    manifest
        .inputs
        .insert("data".into(), state.data_sha256.clone());
    if let Some(d) = manifest_digest {
        manifest.inputs.insert("data_manifest".into(), d);
    }
    if let Some(query) = &config.features_sql {
        manifest
            .inputs
            .insert("features_sql".into(), sha256_file(query)?);
    }
    for (k, v) in rows {
        manifest.counts.insert(format!("rows_{k}"), v);
    }
    manifest
        .counts
        .insert("epochs".into(), u64::from(state.epochs_done));
    manifest
        .details
        .insert("model".into(), serde_json::to_value(config.model)?);
    manifest
        .details
        .insert("best_epoch".into(), state.best_epoch.into());
    manifest.details.insert(
        "valid_auroc".into(),
        serde_json::to_value(metrics.valid_auroc)?,
    );
    manifest.checksum_dir(dir)?;
    manifest.write(dir)?;
    Ok(TrainOutcome {
        run_dir: dir.clone(),
        metrics,
    })
}

fn write_predictions(path: &Path, data: &Prepared, scores: &[f64]) -> Result<()> {
    let file = AtomicFile::create(path)?;
    let mut w = csv::Writer::from_writer(file);
    let fail = |e: csv::Error| Error::failure(format!("{}: {e}", path.display()));
    w.write_record([
        "stay_id",
        "patient_id",
        "split",
        "score",
        "label",
        "sex",
        "age",
        "race_ethnicity",
        "payer",
    ])
    .map_err(fail)?;
    for ((r, s), p) in data.rows.iter().zip(&data.splits).zip(scores) {
        w.write_record([
            r.stay_id.as_str(),
            r.patient_id.as_str(),
            s.as_str(),
            &p.to_string(),
            &r.readmit_30d.to_string(),
            r.sex.as_str(),
            &r.age.to_string(),
            r.race_ethnicity.as_str(),
            r.payer.as_str(),
        ])
        .map_err(fail)?;
    }
    let file = w
        .into_inner()
        .map_err(|e| Error::io(path, e.into_error()))?;
    file.commit()?;
    Ok(())
}

/// The process's peak resident memory, where the OS tells us (Linux).
fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
