//! Throughput measurements a learner can run on their own machine.
//!
//! `train`: samples per second of one training epoch for each setting of
//! device, compute type, engine, model width and batch size, on a seeded toy
//! table with the analysis table's columns (so the numbers do not depend on
//! which data a learner has); each row also says how it compares with the
//! fastest CPU row of the same width and batch size. `io`: the same analysis table written and read as CSV and
//! as Parquet, with the size of each. Figures are wall-clock on whatever else
//! the machine is doing, so compare settings within one run.

use std::path::Path;
use std::time::Instant;

use candle_core::DType;
use serde::Serialize;

use crate::clinical::AnalysisRow;
use crate::error::{Error, Result};
use crate::features::{Matrix, Transform};
use crate::formats::table::{read_table, TableFormat, TableWriter};
use crate::train::candle_engine::{self, CandleEngine};
use crate::train::net::{Mlp, Workspace};
use crate::train::optim::Optimizer;
use crate::train::toy::toy_table;
use crate::train::{DeviceKind, OptimizerKind};

/// Which implementation runs the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// The hand-written CPU kernels `carelab train` uses on a CPU.
    Fused,
    /// candle tensors and autograd (CPU or CUDA).
    Candle,
}

#[derive(Debug, Clone)]
pub struct TrainBenchOptions {
    pub rows: usize,
    pub epochs: usize,
    pub batch_sizes: Vec<usize>,
    pub hidden: Vec<Vec<usize>>,
    /// Devices to sweep, in this order (cuda needs a CUDA build and a GPU).
    pub devices: Vec<DeviceKind>,
    /// Compute types to sweep: f32, bf16.
    pub dtypes: Vec<String>,
    pub seed: u64,
}

/// One measured setting.
#[derive(Debug, Clone, Serialize)]
pub struct TrainBenchRow {
    pub engine: Engine,
    pub device: String,
    pub dtype: String,
    pub hidden: String,
    pub batch_size: usize,
    /// The median over the timed epochs (each epoch timed on its own, after
    /// the warm-up): one run on a shared machine swings 2-3x, so a figure
    /// comes with its spread.
    pub samples_per_sec: f64,
    /// The slowest and fastest timed epoch.
    pub samples_per_sec_min: f64,
    pub samples_per_sec_max: f64,
    pub epochs_timed: usize,
    /// Median seconds per epoch.
    pub seconds_per_epoch: f64,
    /// The machine's 1-minute load average just before and just after this
    /// setting was timed (none where the system does not report one): a
    /// load near or above the core count means other work shared the cores.
    pub load_before: Option<f64>,
    pub load_after: Option<f64>,
    /// Parameters, their gradients and Adam moments, plus one batch of
    /// activations and their gradients, in bytes (computed, not sampled).
    pub working_bytes: u64,
    /// Samples per second over those of the fastest CPU row (any engine or
    /// compute type) with the same width and batch size; none without one.
    pub vs_best_cpu: Option<f64>,
}

/// Sweep the settings; the fused engine runs on the CPU only.
pub fn train(opts: &TrainBenchOptions) -> Result<Vec<TrainBenchRow>> {
    // bf16 is the candle engine's mixed precision (bf16 matmuls, f32
    // weights); the fused kernels are f32 only, so they sit a bf16 sweep out.
    let dtypes = opts
        .dtypes
        .iter()
        .map(|d| match d.as_str() {
            "f32" => Ok((d.clone(), DType::F32)),
            "bf16" => Ok((d.clone(), DType::BF16)),
            other => Err(Error::usage(format!(
                "--dtype {other}: expected f32 or bf16"
            ))),
        })
        .collect::<Result<Vec<_>>>()?;
    if opts.rows < 10 || opts.epochs == 0 || opts.batch_sizes.contains(&0) {
        return Err(Error::usage(
            "bench train needs --rows ≥ 10, --epochs ≥ 1 and batch sizes ≥ 1",
        ));
    }
    if opts.devices.is_empty() || dtypes.is_empty() || opts.hidden.is_empty() {
        return Err(Error::usage(
            "bench train needs at least one --device, --dtype and --hidden",
        ));
    }
    // Every device is checked before anything is timed: a missing GPU
    // fails at once, not after minutes of CPU settings.
    let devices = opts
        .devices
        .iter()
        .map(|&kind| {
            crate::train::trainer::check_device(kind)?;
            Ok((kind, candle_engine::device(kind == DeviceKind::Cuda)?))
        })
        .collect::<Result<Vec<_>>>()?;
    let table = toy_table(opts.rows, opts.seed);
    let transform = Transform::fit(&table, &[])?;
    let x = transform.apply(&table);
    let y: Vec<f32> = table.iter().map(|r| f32::from(r.readmit_30d)).collect();
    let w = vec![1.0f32; y.len()];
    let order: Vec<usize> = (0..x.rows).collect();
    let mut out = Vec::new();
    for (kind, device) in &devices {
        for (dtype, compute) in &dtypes {
            for hidden in &opts.hidden {
                for &batch in &opts.batch_sizes {
                    let mut engines = vec![Engine::Candle];
                    if *kind == DeviceKind::Cpu && *compute == DType::F32 {
                        engines.insert(0, Engine::Fused);
                    }
                    for engine in engines {
                        let load_before = load_average();
                        let epochs = time_epochs(
                            engine, device, *compute, &x, &y, &w, &order, hidden, batch, opts,
                        )?;
                        let load_after = load_average();
                        let mut rates: Vec<f64> =
                            epochs.iter().map(|s| x.rows as f64 / s).collect();
                        rates.sort_by(f64::total_cmp);
                        let median = crate::eval::bootstrap::quantile(&rates, 0.5).unwrap_or(0.0);
                        let mlp = Mlp::init(x.cols, hidden, opts.seed);
                        out.push(TrainBenchRow {
                            engine,
                            device: kind.as_str().into(),
                            dtype: dtype.clone(),
                            hidden: hidden
                                .iter()
                                .map(|h| h.to_string())
                                .collect::<Vec<_>>()
                                .join(","),
                            batch_size: batch,
                            samples_per_sec: median,
                            samples_per_sec_min: rates[0],
                            samples_per_sec_max: rates[rates.len() - 1],
                            epochs_timed: rates.len(),
                            seconds_per_epoch: x.rows as f64 / median,
                            load_before,
                            load_after,
                            working_bytes: working_bytes(&mlp, batch.min(x.rows), *compute),
                            vs_best_cpu: None,
                        });
                    }
                }
            }
        }
    }
    compare_with_cpu(&mut out);
    Ok(out)
}

/// The 1-minute load average, where the system reports one.
pub fn load_average() -> Option<f64> {
    let one = sysinfo::System::load_average().one;
    (one > 0.0 || cfg!(target_os = "linux")).then_some(one)
}

/// The machine a figure was measured on, so that it is never quoted
/// without it.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub os: String,
    pub arch: String,
    /// The CPU's model name, as the OS reports it.
    pub cpu: String,
    /// Cores this process may use (cgroup limits included).
    pub cores: usize,
    pub logical_cpus: usize,
}

pub fn machine() -> Machine {
    use sysinfo::{CpuRefreshKind, RefreshKind, System};
    let sys =
        System::new_with_specifics(RefreshKind::nothing().with_cpu(CpuRefreshKind::nothing()));
    Machine {
        os: System::long_os_version().unwrap_or_else(|| std::env::consts::OS.to_string()),
        arch: std::env::consts::ARCH.to_string(),
        cpu: sys
            .cpus()
            .first()
            .map(|c| c.brand().trim().to_string())
            .unwrap_or_default(),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        logical_cpus: sys.cpus().len(),
    }
}

/// The median of repeated measurements with the lowest and highest: one
/// run on a shared machine is not a figure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub runs: usize,
}

impl Spread {
    /// `None` for no values.
    pub fn of(values: &[f64]) -> Option<Spread> {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        Some(Spread {
            median: crate::eval::bootstrap::quantile(&sorted, 0.5)?,
            min: *sorted.first()?,
            max: *sorted.last()?,
            runs: sorted.len(),
        })
    }
}

/// Seconds of each epoch of one setting, after an untimed warm-up of two
/// batches: the first steps on a GPU load and compile kernels and allocate,
/// which is not what an epoch costs. Moving the data onto the device is not
/// timed either.
#[allow(clippy::too_many_arguments)]
fn time_epochs(
    engine: Engine,
    device: &candle_core::Device,
    compute: DType,
    x: &Matrix,
    y: &[f32],
    w: &[f32],
    order: &[usize],
    hidden: &[usize],
    batch: usize,
    opts: &TrainBenchOptions,
) -> Result<Vec<f64>> {
    let mut mlp = Mlp::init(x.cols, hidden, opts.seed);
    let mut opt = Optimizer::new(OptimizerKind::Adamw, 1e-3, 1e-4, mlp.params.len());
    let warm = &order[..order.len().min(2 * batch)];
    let mut seconds = Vec::with_capacity(opts.epochs);
    match engine {
        Engine::Fused => {
            fused_epoch(&mut mlp, &mut opt, x, y, w, warm, batch);
            for _ in 0..opts.epochs {
                let started = Instant::now();
                fused_epoch(&mut mlp, &mut opt, x, y, w, order, batch);
                seconds.push(started.elapsed().as_secs_f64());
            }
        }
        Engine::Candle => {
            let mut e =
                CandleEngine::new(device.clone(), x, y, w, &mlp, &opt)?.with_compute(compute)?;
            e.epoch(warm, batch, &mut opt)?;
            for _ in 0..opts.epochs {
                // Each step reads its loss back, so the device has finished
                // an epoch's work when `epoch` returns.
                let started = Instant::now();
                e.epoch(order, batch, &mut opt)?;
                seconds.push(started.elapsed().as_secs_f64());
            }
        }
    }
    Ok(seconds)
}

/// Fill `vs_best_cpu`: each row against the fastest CPU row of its width and batch size.
fn compare_with_cpu(rows: &mut [TrainBenchRow]) {
    let best_cpu = |hidden: &str, batch: usize, rows: &[TrainBenchRow]| {
        rows.iter()
            .filter(|r| r.device == "cpu" && r.hidden == hidden && r.batch_size == batch)
            .map(|r| r.samples_per_sec)
            .fold(None, |best: Option<f64>, s| {
                Some(best.map_or(s, |b| b.max(s)))
            })
    };
    let ratios: Vec<Option<f64>> = rows
        .iter()
        .map(|r| best_cpu(&r.hidden, r.batch_size, rows).map(|cpu| r.samples_per_sec / cpu))
        .collect();
    for (row, ratio) in rows.iter_mut().zip(ratios) {
        row.vs_best_cpu = ratio;
    }
}

fn fused_epoch(
    mlp: &mut Mlp,
    opt: &mut Optimizer,
    x: &Matrix,
    y: &[f32],
    w: &[f32],
    order: &[usize],
    batch: usize,
) {
    let mut ws = Workspace::new(mlp, batch.min(x.rows));
    for rows in order.chunks(batch) {
        ws.load_rows(x, rows);
        let yb: Vec<f32> = rows.iter().map(|&r| y[r]).collect();
        let wb: Vec<f32> = rows.iter().map(|&r| w[r]).collect();
        ws.forward_backward(mlp, rows.len(), &yb, &wb);
        opt.step(&mut mlp.params, &ws.grads);
    }
}

fn working_bytes(mlp: &Mlp, batch: usize, compute: DType) -> u64 {
    let params = mlp.params.len() as u64;
    let widths: u64 =
        mlp.inputs() as u64 + mlp.layers.iter().map(|l| l.outputs as u64).sum::<u64>();
    let size = compute.size_in_bytes() as u64;
    // f32 params + grads + two Adam moments; a cast copy of the weights when
    // computing in another type; activations and their gradients.
    let cast_copy = if compute == DType::F32 {
        0
    } else {
        size * params
    };
    4 * 4 * params + cast_copy + size * 2 * widths * batch as u64
}

/// Write and read cost of one table in one format.
#[derive(Debug, Clone, Serialize)]
pub struct IoBenchRow {
    pub format: String,
    pub rows: usize,
    pub bytes: u64,
    pub write_seconds: f64,
    pub read_seconds: f64,
    pub write_rows_per_sec: f64,
    pub read_rows_per_sec: f64,
}

/// The analysis table of `rows` toy rows, written and read in both formats under `dir`.
pub fn io(rows: usize, seed: u64, dir: &Path) -> Result<Vec<IoBenchRow>> {
    let table: Vec<AnalysisRow> = toy_table(rows.max(1), seed);
    let mut out = Vec::new();
    for format in [TableFormat::Csv, TableFormat::Parquet] {
        let path = dir.join(format!("analysis.{}", format.extension()));
        let started = Instant::now();
        let mut writer = TableWriter::<AnalysisRow>::create(&path, format)?;
        writer.write_all(&table)?;
        writer.finish()?;
        let write_seconds = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let back: Vec<AnalysisRow> = read_table(&path)?;
        let read_seconds = started.elapsed().as_secs_f64();
        if back.len() != table.len() {
            return Err(Error::failure(format!(
                "{}: read {} rows back, wrote {}",
                path.display(),
                back.len(),
                table.len()
            )));
        }
        let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        out.push(IoBenchRow {
            format: format.extension().to_string(),
            rows: table.len(),
            bytes,
            write_seconds,
            read_seconds,
            write_rows_per_sec: table.len() as f64 / write_seconds.max(1e-9),
            read_rows_per_sec: table.len() as f64 / read_seconds.max(1e-9),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_is_the_median_and_the_extremes() {
        let s = Spread::of(&[3.0, 1.0, 10.0, 2.0, 4.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.runs), (3.0, 1.0, 10.0, 5));
        assert_eq!(Spread::of(&[1.0, 2.0]).unwrap().median, 1.5);
        assert!(Spread::of(&[]).is_none());
        let m = machine();
        assert!(m.cores >= 1 && !m.arch.is_empty());
    }

    #[test]
    fn tiny_train_bench_gives_positive_figures_for_both_engines() {
        let rows = train(&TrainBenchOptions {
            rows: 400,
            epochs: 3,
            batch_sizes: vec![64, 256],
            hidden: vec![vec![16]],
            devices: vec![DeviceKind::Cpu],
            dtypes: vec!["f32".into()],
            seed: 1,
        })
        .unwrap();
        assert_eq!(rows.len(), 4);
        assert!(rows.iter().any(|r| r.engine == Engine::Fused));
        assert!(rows.iter().any(|r| r.engine == Engine::Candle));
        for r in &rows {
            assert!(r.samples_per_sec > 0.0 && r.samples_per_sec.is_finite());
            assert!((r.samples_per_sec * r.seconds_per_epoch - 400.0).abs() < 1e-6);
            // the figure is the median of the timed epochs, with their spread
            assert_eq!(r.epochs_timed, 3);
            assert!(r.samples_per_sec_min <= r.samples_per_sec);
            assert!(r.samples_per_sec <= r.samples_per_sec_max);
            if cfg!(target_os = "linux") {
                assert!(r.load_before.is_some() && r.load_after.is_some());
            }
            assert!(r.working_bytes > 0);
        }
        // a wider batch holds more activations
        assert!(rows[2].working_bytes > rows[0].working_bytes);
        // each row against the fastest CPU row of its width and batch
        for pair in rows.chunks(2) {
            let best = pair[0].samples_per_sec.max(pair[1].samples_per_sec);
            for r in pair {
                assert_eq!(r.vs_best_cpu, Some(r.samples_per_sec / best));
            }
            assert!(pair.iter().any(|r| r.vs_best_cpu == Some(1.0)));
        }
        let both = train(&TrainBenchOptions {
            dtypes: vec!["f32".into(), "bf16".into()],
            ..opts()
        })
        .unwrap();
        assert_eq!(both.len(), 3, "bf16 runs on the candle engine only");
        let bf16 = &both[2];
        assert_eq!((bf16.engine, bf16.dtype.as_str()), (Engine::Candle, "bf16"));
        assert!(bf16.samples_per_sec > 0.0 && bf16.samples_per_sec.is_finite());
        let fastest = both.iter().map(|r| r.samples_per_sec).fold(0.0, f64::max);
        assert_eq!(bf16.vs_best_cpu, Some(bf16.samples_per_sec / fastest));
        let err = train(&TrainBenchOptions {
            dtypes: vec!["f32".into(), "f16".into()],
            ..opts()
        })
        .unwrap_err();
        assert!(err.to_string().contains("f32 or bf16"), "{err}");
    }

    fn opts() -> TrainBenchOptions {
        TrainBenchOptions {
            rows: 100,
            epochs: 1,
            batch_sizes: vec![32],
            hidden: vec![vec![8]],
            devices: vec![DeviceKind::Cpu],
            dtypes: vec!["f32".into()],
            seed: 1,
        }
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_in_a_cpu_build_fails_before_anything_is_timed() {
        let err = train(&TrainBenchOptions {
            devices: vec![DeviceKind::Cpu, DeviceKind::Cuda],
            ..opts()
        })
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("--device cuda needs a build with CUDA"),
            "{err}"
        );
    }

    #[test]
    fn io_bench_reads_back_every_row_and_parquet_is_smaller() {
        let dir = tempfile::tempdir().unwrap();
        let rows = io(2000, 3, dir.path()).unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|r| r.rows == 2000 && r.bytes > 0));
        let csv = rows.iter().find(|r| r.format == "csv").unwrap();
        let parquet = rows.iter().find(|r| r.format == "parquet").unwrap();
        assert!(
            parquet.bytes < csv.bytes,
            "{} vs {}",
            parquet.bytes,
            csv.bytes
        );
    }
}
