//! `carelab doctor`, `carelab bench` and `carelab cost`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use carelab::artifact::{read_json, write_atomic, write_json};
use carelab::clinical::analysis::read_analysis_csv;
use carelab::error::{Error, Result};
use carelab::eval::metrics::confusion;
use carelab::eval::plots;
use carelab::eval::report::THRESHOLD_SPLIT;
use carelab::eval::run_dir::read_predictions;
use carelab::infra::{bench, cost};
use carelab::train::TrainMetrics;
use carelab::ui::Ui;

/// `carelab doctor`: what this machine can do and which labs run here.
#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// The workspace the labs will write to (checked for free disk and write access).
    #[arg(long, env = "CARELAB_WORKSPACE", default_value = "carelab-work")]
    pub workspace: std::path::PathBuf,
}

pub fn run_doctor(args: DoctorArgs, ui: &Ui) -> Result<u8> {
    let catalog = carelab::labs::Catalog::builtin()?;
    let report = carelab::infra::doctor::examine(&args.workspace, &catalog)?;
    ui.result(&report, || report.to_text());
    Ok(0)
}

#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// Training throughput across engines, model widths and batch sizes.
    Train(BenchTrainArgs),
    /// CSV against Parquet for the same table: write, read, size.
    Io(BenchIoArgs),
    /// Requests/s and latency percentiles of an inference service under load.
    Serve(super::serve::BenchServeArgs),
}

#[derive(Debug, clap::Args)]
pub struct BenchTrainArgs {
    /// Devices to sweep, comma-separated: cpu, cuda or cpu,cuda (cuda needs
    /// a CUDA build and a GPU; every device is checked before any timing).
    #[arg(long, default_value = "cpu", value_delimiter = ',')]
    pub device: Vec<carelab::train::DeviceKind>,
    /// Batch sizes to sweep, comma-separated.
    #[arg(long, default_value = "64,256,1024,4096", value_delimiter = ',')]
    pub batch_sizes: Vec<usize>,
    /// Hidden layers to sweep: one width list per flag, e.g. --hidden 64 --hidden 256,128.
    #[arg(long, default_values = ["64"])]
    pub hidden: Vec<String>,
    /// Compute types to sweep, comma-separated: f32, bf16 or f32,bf16. bf16
    /// is mixed precision on the candle engine (bf16 matmuls, f32 weights);
    /// the fused CPU kernels are f32 only.
    #[arg(long, default_value = "f32", value_delimiter = ',')]
    pub dtype: Vec<String>,
    /// Rows of the toy table.
    #[arg(long, default_value_t = 20_000)]
    pub rows: usize,
    /// Epochs timed per setting.
    #[arg(long, default_value_t = 2)]
    pub epochs: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Where to write bench-train.json and the plot.
    #[arg(long, default_value = "carelab-bench")]
    pub out: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct BenchIoArgs {
    /// Rows of the analysis table.
    #[arg(long, default_value_t = 100_000)]
    pub rows: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Where the two files are written.
    #[arg(long, default_value = "carelab-bench")]
    pub out: PathBuf,
}

pub fn run_bench(args: BenchCommand, ui: &Ui) -> Result<u8> {
    match args {
        BenchCommand::Train(a) => bench_train(a, ui),
        BenchCommand::Serve(a) => super::serve::run_bench(a, ui),
        BenchCommand::Io(a) => {
            let rows = bench::io(a.rows, a.seed, &a.out)?;
            ui.result(&rows, || {
                let mut t = format!(
                    "{:<8}{:>10}{:>12}{:>16}{:>16}\n",
                    "format", "rows", "MB", "write rows/s", "read rows/s"
                );
                for r in &rows {
                    t.push_str(&format!(
                        "{:<8}{:>10}{:>12.2}{:>16.0}{:>16.0}\n",
                        r.format,
                        r.rows,
                        r.bytes as f64 / 1e6,
                        r.write_rows_per_sec,
                        r.read_rows_per_sec
                    ));
                }
                t
            });
            Ok(0)
        }
    }
}

fn bench_train(a: BenchTrainArgs, ui: &Ui) -> Result<u8> {
    let hidden = a
        .hidden
        .iter()
        .map(|h| carelab::train::config::parse_hidden(h))
        .collect::<Result<Vec<_>>>()?;
    let opts = bench::TrainBenchOptions {
        rows: a.rows,
        epochs: a.epochs,
        batch_sizes: a.batch_sizes.clone(),
        hidden,
        devices: a.device.clone(),
        dtypes: a.dtype.clone(),
        seed: a.seed,
    };
    ui.info(format!(
        "timing {} epoch(s) of {} rows per setting",
        a.epochs, a.rows
    ));
    let rows = bench::train(&opts)?;
    write_json(a.out.join("bench-train.json"), &rows)?;
    let plot = bench_plot(&rows, &a.batch_sizes);
    write_atomic(a.out.join("bench-train.svg"), plots::svg(&plot)?.as_bytes())?;
    plots::png(&plot, &a.out.join("bench-train.png"))?;
    ui.result(&rows, || {
        let mut t = format!(
            "{:<8}{:<6}{:<6}{:<10}{:>8}{:>14}{:>22}{:>12}{:>12}{:>9}{:>12}\n",
            "engine",
            "dev",
            "dtype",
            "hidden",
            "batch",
            "samples/s",
            "min-max",
            "s/epoch",
            "MB",
            "×cpu",
            "load"
        );
        let load = |l: Option<f64>| l.map_or("-".to_string(), |l| format!("{l:.1}"));
        for r in &rows {
            t.push_str(&format!(
                "{:<8}{:<6}{:<6}{:<10}{:>8}{:>14.0}{:>22}{:>12.4}{:>12.2}{:>9}{:>12}\n",
                format!("{:?}", r.engine).to_lowercase(),
                r.device,
                r.dtype,
                r.hidden,
                r.batch_size,
                r.samples_per_sec,
                format!("{:.0}-{:.0}", r.samples_per_sec_min, r.samples_per_sec_max),
                r.seconds_per_epoch,
                r.working_bytes as f64 / 1e6,
                r.vs_best_cpu.map_or("-".into(), |x| format!("{x:.2}")),
                format!("{}->{}", load(r.load_before), load(r.load_after))
            ));
        }
        t.push_str(&format!(
            "samples/s is the median of {} timed epochs per setting (after a warm-up), with the slowest and fastest; load is the 1-minute load average before and after, on {} cores: near or above that, other work shared them.\nplot: {}\n",
            a.epochs,
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            a.out.join("bench-train.svg").display()
        ));
        t
    });
    Ok(0)
}

/// Samples per second against batch size, one line per engine, device,
/// compute type and width.
fn bench_plot(rows: &[bench::TrainBenchRow], batches: &[usize]) -> plots::Plot {
    use plotters::style::RGBColor;
    const COLORS: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(214, 39, 40),
        RGBColor(44, 160, 44),
        RGBColor(148, 103, 189),
        RGBColor(255, 127, 14),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(23, 190, 207),
    ];
    let name = |r: &bench::TrainBenchRow| {
        format!(
            "{} {} {} hidden {}",
            format!("{:?}", r.engine).to_lowercase(),
            r.device,
            r.dtype,
            r.hidden
        )
    };
    let mut keys: Vec<String> = rows.iter().map(name).collect();
    keys.sort();
    keys.dedup();
    let series = keys
        .iter()
        .enumerate()
        .map(|(i, key)| plots::Series {
            name: key.clone(),
            points: rows
                .iter()
                .filter(|r| name(r) == *key)
                .map(|r| ((r.batch_size as f64).log2(), r.samples_per_sec))
                .collect(),
            color: COLORS[i % COLORS.len()],
            markers: true,
        })
        .collect();
    let top = rows.iter().map(|r| r.samples_per_sec).fold(1.0, f64::max);
    let lo = batches.iter().copied().min().unwrap_or(1).max(1) as f64;
    let hi = batches.iter().copied().max().unwrap_or(2).max(2) as f64;
    plots::Plot {
        file_stem: "bench-train".into(),
        // A development build runs our own code unoptimised, so its
        // timings are not a release build's: the figure says which it shows.
        title: if cfg!(debug_assertions) {
            "Training throughput by batch size (debug build)".into()
        } else {
            "Training throughput by batch size".into()
        },
        x_label: "log2(batch size)".into(),
        y_label: "samples per second".into(),
        x_range: (lo.log2() - 0.5, hi.log2() + 0.5),
        y_range: (0.0, plots::legend_headroom(top * 1.05, keys.len())),
        series,
        legend_top: true,
        x_names: Vec::new(),
    }
}

/// `carelab cost`: what a run costs, and `cost roi`: what its threshold returns.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CostArgs {
    #[command(subcommand)]
    pub roi: Option<CostCommand>,
    /// The run directory (from `carelab train`).
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// Cloud price per hour of the instance the run used.
    #[arg(long, default_value_t = 0.20)]
    pub cpu_hourly: f64,
    /// Cloud price per hour of a GPU instance (used for runs on CUDA).
    #[arg(long, default_value_t = 4.00)]
    pub gpu_hourly: f64,
    /// On-premises hardware price.
    #[arg(long, default_value_t = 3000.0)]
    pub capex: f64,
    /// Years the hardware is used.
    #[arg(long, default_value_t = 4.0)]
    pub years: f64,
    /// Fraction of those years it is busy (0..1].
    #[arg(long, default_value_t = 0.25)]
    pub utilisation: f64,
    /// Power draw while busy, watts.
    #[arg(long, default_value_t = 150.0)]
    pub power_watts: f64,
    /// Power draw while idle, watts: the hours the machine waits are paid too.
    #[arg(long, default_value_t = 40.0)]
    pub idle_watts: f64,
    /// Measure the scoring speed again instead of reusing RUN/cost/throughput.json.
    #[arg(long)]
    pub remeasure: bool,
    /// Electricity price per kWh.
    #[arg(long, default_value_t = 0.25)]
    pub kwh_price: f64,
}

#[derive(Debug, clap::Subcommand)]
pub enum CostCommand {
    /// Net savings per 1,000 discharges at a threshold, and the break-even points.
    Roi(RoiArgs),
}

#[derive(Debug, clap::Args)]
pub struct RoiArgs {
    /// The run directory (its predictions on the test split are priced).
    #[arg(long)]
    pub run: PathBuf,
    /// Flag stays whose risk is at least this. Without it, the threshold is
    /// chosen on the calibration split (never the test split, which only
    /// prices it): the highest net savings that flags at most --capacity of
    /// discharges.
    #[arg(long)]
    pub threshold: Option<f64>,
    /// The most the care team can call: a share of discharges (0..1; e.g.
    /// 40 calls a day over 200 discharges a day is 0.2). Used to choose the
    /// threshold on the calibration split, and reported against the test flag rate.
    #[arg(long, default_value_t = 1.0)]
    pub capacity: f64,
    /// Bootstrap replicates (patients resampled) for the intervals; 0 for none.
    #[arg(long, default_value_t = 200)]
    pub bootstrap: usize,
    /// Seed of the bootstrap.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Currency of the costs, named on the plot and in the output.
    #[arg(long, default_value = "USD")]
    pub currency: String,
    /// Cost of one readmission to the hospital.
    #[arg(long, default_value_t = 15000.0)]
    pub readmission_cost: f64,
    /// Cost of the intervention for one flagged patient.
    #[arg(long, default_value_t = 500.0)]
    pub intervention_cost: f64,
    /// Share of readmissions the intervention prevents among those it reaches.
    #[arg(long, default_value_t = 0.25)]
    pub effectiveness: f64,
    /// Where the plot goes (default: RUN/cost).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run_cost(args: CostArgs, ui: &Ui) -> Result<u8> {
    if let Some(CostCommand::Roi(roi)) = args.roi {
        return run_roi(roi, ui);
    }
    let run = args
        .run
        .ok_or_else(|| Error::usage("carelab cost needs --run RUN_DIR (or `cost roi`)"))?;
    let metrics: TrainMetrics = read_json(run.join("train_metrics.json"))?;
    let (throughput, reused) = scoring_throughput(&run, args.remeasure)?;
    let per_second = throughput.predictions_per_second;
    let cuda = metrics.device == "cuda";
    let pricing = cost::Pricing {
        // training is priced where it ran; inference where it was measured
        cloud_hourly: if cuda {
            args.gpu_hourly
        } else {
            args.cpu_hourly
        },
        inference_cloud_hourly: args.cpu_hourly,
        capex: args.capex,
        years: args.years,
        utilisation: args.utilisation,
        power_watts: args.power_watts,
        idle_watts: args.idle_watts,
        kwh_price: args.kwh_price,
    };
    for (name, v) in [
        ("--years", pricing.years),
        ("--utilisation", pricing.utilisation),
    ] {
        if v <= 0.0 || !v.is_finite() {
            return Err(Error::usage(format!("{name} must be above 0, found {v}")));
        }
    }
    let report = cost::cost_report(metrics.seconds, per_second, &pricing);
    let throughput_source = if reused {
        format!(
            "reused from {} (--remeasure measures again)",
            throughput_file(&run).display()
        )
    } else {
        format!("measured now, saved to {}", throughput_file(&run).display())
    };
    let out = serde_json::json!({ "run": run, "device": metrics.device, "inference_device": throughput.device, "throughput_source": throughput_source, "pricing": pricing, "cost": report });
    ui.result(&out, || {
        format!(
            "Run {} on {}: trained in {:.2} s; scores {:.0} predictions/s on the {} ({throughput_source}); inference is priced at the {} rate\n\
             {:<34}{:>14}{:>14}\n\
             {:<34}{:>14.6}{:>14.6}\n\
             {:<34}{:>14.8}{:>14.8}\n\
             (on-prem hourly while busy: {:.4})\n\nFormulas:\n  {}",
            run.display(),
            metrics.device,
            report.train_seconds,
            report.predictions_per_second,
            throughput.device,
            throughput.device,
            "",
            "cloud",
            "on-premises",
            "training run",
            report.cloud_train_cost,
            report.on_prem_train_cost,
            "per 1,000 predictions",
            report.cloud_per_1000_predictions,
            report.on_prem_per_1000_predictions,
            report.on_prem_hourly,
            report.formulas.join("\n  ")
        )
    });
    Ok(0)
}

/// A scoring speed measured once for a run, kept beside it so that every
/// `cost` call prices the same figure (a second measurement on a shared
/// machine differs by 10% or more).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Throughput {
    predictions_per_second: f64,
    /// Where it was measured: CareLab scores on the CPU.
    device: String,
    cores: usize,
    carelab_version: String,
}

fn throughput_file(run: &Path) -> PathBuf {
    run.join("cost").join("throughput.json")
}

/// The run's measured scoring speed, and whether it was reused.
fn scoring_throughput(run: &Path, remeasure: bool) -> Result<(Throughput, bool)> {
    let file = throughput_file(run);
    if file.is_file() && !remeasure {
        return Ok((read_json(&file)?, true));
    }
    let t = Throughput {
        predictions_per_second: measure_predictions_per_second(run)?,
        device: "cpu".into(),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        carelab_version: env!("CARGO_PKG_VERSION").into(),
    };
    write_json(&file, &t)?;
    Ok((t, false))
}

/// Score the run's own table with the saved model, timed, at least 0.2 s.
fn measure_predictions_per_second(run: &Path) -> Result<f64> {
    let model = carelab::train::Model::load(run)?;
    let rows = read_analysis_csv(&model.info().data_path)?;
    if rows.is_empty() {
        return Err(Error::bad_input(
            &model.info().data_path,
            None,
            "rows to score",
            "an empty table",
        ));
    }
    let started = Instant::now();
    let mut scored = 0usize;
    while scored == 0 || started.elapsed().as_secs_f64() < 0.2 {
        scored += model.score(&rows)?.len();
    }
    Ok(scored as f64 / started.elapsed().as_secs_f64())
}

fn run_roi(args: RoiArgs, ui: &Ui) -> Result<u8> {
    for (flag, v) in [
        ("--threshold", args.threshold.unwrap_or(0.5)),
        ("--effectiveness", args.effectiveness),
        ("--capacity", args.capacity),
    ] {
        if !(0.0..=1.0).contains(&v) {
            return Err(Error::usage(format!(
                "{flag} must be within 0..1, found {v}"
            )));
        }
    }
    let path = args.run.join("predictions.csv");
    let predictions = read_predictions(&path)?;
    let split = |name: &str| -> Result<Vec<&carelab::eval::run_dir::Prediction>> {
        let rows: Vec<_> = predictions.iter().filter(|p| p.split == name).collect();
        if rows.is_empty() {
            return Err(Error::bad_input(
                path.display(),
                None,
                format!("rows of the {name} split"),
                if name == THRESHOLD_SPLIT {
                    "none (a run trained before CareLab set a calibration split apart: train it again)"
                } else {
                    "none"
                },
            ));
        }
        Ok(rows)
    };
    let scores_labels = |rows: &[&carelab::eval::run_dir::Prediction]| -> (Vec<f64>, Vec<bool>) {
        (
            rows.iter().map(|p| p.score).collect(),
            rows.iter().map(|p| p.label).collect(),
        )
    };
    let econ = cost::Economics {
        readmission_cost: args.readmission_cost,
        intervention_cost: args.intervention_cost,
        effectiveness: args.effectiveness,
    };
    // The threshold is given, or chosen on the calibration split: the test
    // split only prices the choice, so its figures stay an honest estimate.
    let (threshold, source) = match args.threshold {
        Some(t) => (
            t,
            "given; the test split prices it and never chooses one (a threshold tuned on test would make the test figures too good)".to_string(),
        ),
        None => {
            let calibration = split(THRESHOLD_SPLIT)?;
            let (s, y) = scores_labels(&calibration);
            let best = cost::choose_threshold(&cost::roi_curve(&s, &y, &econ), args.capacity)
                .ok_or_else(|| {
                    Error::usage(format!(
                        "no threshold saves money on the {THRESHOLD_SPLIT} split while flagging at most {:.0}% of discharges: raise --capacity, or check the costs",
                        args.capacity * 100.0
                    ))
                })?;
            (
                best.threshold,
                format!(
                    "chosen on the {THRESHOLD_SPLIT} split ({} stays), never on test: the highest net savings flagging at most {:.0}% of discharges",
                    calibration.len(),
                    args.capacity * 100.0
                ),
            )
        }
    };
    let test = split("test")?;
    let (scores, labels) = scores_labels(&test);
    let chosen = cost::roi(threshold, &confusion(&scores, &labels, threshold), &econ);
    let curve = cost::roi_curve(&scores, &labels, &econ);
    let intervals = cost::roi_intervals(&test, threshold, &econ, args.bootstrap, args.seed);
    let over_capacity = chosen.flagged_per_1000 > args.capacity * 1000.0 + 1e-9;
    let out_dir = args.out.unwrap_or_else(|| args.run.join("cost"));
    let plot = cost::roi_plot(&curve, &intervals.band, threshold, &args.currency);
    write_atomic(out_dir.join("roi.svg"), plots::svg(&plot)?.as_bytes())?;
    plots::png(&plot, &out_dir.join("roi.png"))?;
    let out = serde_json::json!({
        "test_rows": test.len(),
        "economics": econ,
        "currency": args.currency,
        "capacity": args.capacity,
        "threshold_source": source,
        "chosen": chosen,
        "over_capacity": over_capacity,
        "intervals": intervals,
        "plot": out_dir.join("roi.svg"),
    });
    write_json(
        out_dir.join("roi.json"),
        &serde_json::json!({ "chosen": chosen, "threshold_source": source, "capacity": args.capacity, "currency": args.currency, "assumptions": econ, "intervals": intervals, "curve": curve }),
    )?;
    ui.result(&out, || {
        let r = &chosen;
        // A replicate with no flagged readmission has no finite break-even
        // effectiveness: the interval rests on the others, and says so.
        let ci = |i: &Option<carelab::eval::bootstrap::Interval>, digits: usize| {
            i.map(|c| {
                let missing = intervals.replicates - c.replicates;
                let note = if missing > 0 {
                    format!("; undefined in {missing} replicates")
                } else {
                    String::new()
                };
                format!(
                    " (95% CI {:.*} to {:.*}{note})",
                    digits, c.lower, digits, c.upper
                )
            })
            .unwrap_or_default()
        };
        let cur = &args.currency;
        let mut text = format!(
            "Threshold {:.3}, {source}.\n\
             On {} test discharges of {} patients: sensitivity {:.3}, PPV {:.3}\n\
             per 1,000 discharges: {:.1} flagged{}, {:.1} readmissions caught, {:.1} prevented\n\
             savings {:.0} − intervention spend {:.0} = net {:.0} {cur}{} (ROI {:.2}{})\n\
             break-even intervention cost {:.0} {cur}{} (= PPV × effectiveness × readmission cost)\n\
             break-even effectiveness {:.3}{} (= intervention cost / (PPV × readmission cost))\n",
            r.threshold,
            test.len(),
            intervals.patients,
            r.sensitivity,
            r.ppv,
            r.flagged_per_1000,
            ci(&intervals.flagged_per_1000, 1),
            r.true_positives_per_1000,
            r.prevented_per_1000,
            r.savings_per_1000,
            r.intervention_spend_per_1000,
            r.net_per_1000,
            ci(&intervals.net_per_1000, 0),
            r.roi,
            ci(&intervals.roi, 2),
            r.break_even_intervention_cost,
            ci(&intervals.break_even_intervention_cost, 0),
            r.break_even_effectiveness,
            ci(&intervals.break_even_effectiveness, 3),
        );
        if over_capacity {
            text.push_str(&format!(
                "warning: this threshold flags {:.0}% of test discharges, more than the capacity of {:.0}%\n",
                r.flagged_per_1000 / 10.0,
                args.capacity * 100.0
            ));
        }
        text.push_str(&format!(
            "Intervals resample patients ({} replicates).\n\
             Assumptions, not measurements (edit them for your hospital): a readmission costs {:.0} {cur} \
             (--readmission-cost), the intervention {:.0} {cur} per flagged patient (--intervention-cost), \
             and it prevents {:.0}% of the readmissions it reaches (--effectiveness). Who bears a \
             readmission's cost depends on the payer: under a bundled payment or a readmission penalty \
             the hospital does; under fee-for-service a prevented readmission is also revenue lost.\n\
             plot: {}\n",
            intervals.replicates,
            econ.readmission_cost,
            econ.intervention_cost,
            econ.effectiveness * 100.0,
            out_dir.join("roi.svg").display()
        ));
        text
    });
    Ok(0)
}
