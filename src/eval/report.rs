//! The evaluation of one split of one run, and writing it out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::bootstrap::{bootstrap, subgroup_table, Clusters, Estimate, Resample, SubgroupRow};
use super::calibration::{
    calibration_in_the_large, ece, recalibration_fit, reliability, CalibrationSummary,
    Recalibration, ReliabilityBin,
};
use super::decision::{decision_curve, DecisionPoint};
use super::metrics::{self, Confusion};
use super::run_dir::{self, Epoch, ModelInfo, Prediction};
use super::truth::{self, BayesComparison};
use super::{card, plots};
use crate::artifact::{write_atomic, write_json, Manifest};
use crate::error::{Error, Result};

/// How the operating threshold is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "rule", content = "value")]
pub enum ThresholdRule {
    /// Flag scores at or above this probability.
    Fixed(f64),
    /// The highest threshold whose sensitivity reaches this share on the
    /// calibration split, whatever split is evaluated: a threshold chosen on
    /// the test split would be tuned to the very data that judges it, and
    /// one chosen on validation reuses the split that chose the epoch.
    TargetSensitivity(f64),
}

/// The split every data-driven threshold and the recalibration are chosen
/// on (see `features::split`).
pub const THRESHOLD_SPLIT: &str = "calibration";

/// What to evaluate and how.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalOptions {
    /// "train", "valid", "calibration" or "test".
    pub split: String,
    pub threshold: ThresholdRule,
    /// The generator's `truth/stays.csv`, for the Bayes-optimal AUROC.
    pub truth: Option<PathBuf>,
    /// Bootstrap replicates for the intervals (0: no intervals).
    pub bootstrap: usize,
    /// What a replicate resamples: patients (the default) or stays.
    pub resample: Resample,
    /// Seed for the bootstrap; `None` uses the run's seed (or 0).
    pub seed: Option<u64>,
    /// Bins of the reliability curve (equal width on [0, 1]).
    pub bins: usize,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            split: "test".into(),
            threshold: ThresholdRule::Fixed(0.5),
            truth: None,
            bootstrap: 200,
            resample: Resample::Patients,
            seed: None,
            bins: 10,
        }
    }
}

/// Point estimates on the whole split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub auroc: Option<f64>,
    /// Average precision (area under the precision-recall curve, step-wise).
    pub auprc: Option<f64>,
    pub brier: f64,
    pub log_loss: f64,
    /// Intercept with the slope fixed at 1 (calibration-in-the-large).
    pub calibration_intercept: Option<f64>,
    /// Slope of the joint logistic recalibration.
    pub calibration_slope: Option<f64>,
    /// Intercept of the joint logistic recalibration (beside the slope).
    pub recalibration_intercept: Option<f64>,
    /// Expected calibration error over the reliability bins.
    pub ece: f64,
    pub mean_score: f64,
}

/// Everything `evaluate` found; serialised as `eval.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    pub run_dir: String,
    pub run_name: String,
    pub model: ModelInfo,
    pub split: String,
    /// Rows in predictions.csv, and in this split.
    pub rows_total: u64,
    /// Stays in the split.
    pub n: u64,
    /// Patients those stays belong to: the bootstrap resamples patients.
    pub patients: u64,
    pub events: u64,
    pub prevalence: f64,
    pub metrics: Metrics,
    /// Bootstrap 95% intervals of the headline metrics (patients resampled).
    pub intervals: BTreeMap<String, Estimate>,
    pub bootstrap_replicates: usize,
    /// What the replicates resampled: "patients" or "stays".
    pub bootstrap_resample: Resample,
    pub bootstrap_seed: u64,
    pub threshold_rule: ThresholdRule,
    /// Where the operating threshold came from, in words.
    pub threshold_source: String,
    pub operating_point: Confusion,
    /// Logistic recalibration fitted on the calibration split and applied to
    /// this split: calibration before and after. `None` when the
    /// calibration split cannot fit one (see `warnings`).
    pub recalibration: Option<RecalibrationReport>,
    pub reliability_binning: String,
    pub reliability: Vec<ReliabilityBin>,
    pub subgroups: Vec<SubgroupRow>,
    pub decision_curve: Vec<DecisionPoint>,
    pub bayes: Option<BayesComparison>,
    /// ROC points (fpr, tpr), thinned to at most 500 for plotting.
    pub roc: Vec<(f64, f64)>,
    /// Precision-recall points (recall, precision), thinned likewise.
    pub pr: Vec<(f64, f64)>,
    pub history: Vec<Epoch>,
    pub warnings: Vec<String>,
}

/// A recalibration fitted on the calibration split, and this split's
/// calibration without and with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecalibrationReport {
    pub fitted_on: String,
    pub fit_stays: u64,
    pub fit_patients: u64,
    pub fit_events: u64,
    /// `logit(new) = intercept + slope * logit(score)`.
    pub fit: Recalibration,
    /// On the evaluated split, the scores as the model gives them.
    pub before: CalibrationSummary,
    /// On the evaluated split, the same scores recalibrated.
    pub after: CalibrationSummary,
}

const CURVE_POINTS: usize = 500;

/// The calibration split's scores and outcomes, or why there are none to
/// choose from.
fn calibration_rows<'p>(
    predictions: &'p [Prediction],
    run_dir: &Path,
    what: &str,
) -> Result<Vec<&'p Prediction>> {
    let rows: Vec<&Prediction> = predictions
        .iter()
        .filter(|p| p.split == THRESHOLD_SPLIT)
        .collect();
    if rows.is_empty() {
        return Err(Error::usage(format!(
            "{what} is chosen on the {THRESHOLD_SPLIT} split, and {} has no rows of it: the run was trained before CareLab set a calibration split apart from validation; train it again",
            run_dir.join("predictions.csv").display()
        )));
    }
    Ok(rows)
}

/// Evaluate one split of a run directory.
pub fn evaluate(run_dir: &Path, options: &EvalOptions) -> Result<EvalReport> {
    let model = run_dir::read_model_info(&run_dir.join("model.json"))?;
    let predictions = run_dir::read_predictions(&run_dir.join("predictions.csv"))?;
    let history_path = run_dir.join("history.csv");
    let history = if history_path.exists() {
        run_dir::read_history(&history_path)?
    } else {
        Vec::new()
    };
    let rows: Vec<&Prediction> = predictions
        .iter()
        .filter(|p| p.split == options.split)
        .collect();
    if rows.is_empty() {
        return Err(Error::bad_input(
            run_dir.join("predictions.csv").display(),
            Some("column split".into()),
            format!("rows of split {}", options.split),
            "none",
        ));
    }
    let scores: Vec<f64> = rows.iter().map(|p| p.score).collect();
    let labels: Vec<bool> = rows.iter().map(|p| p.label).collect();
    let n = rows.len() as u64;
    let events = metrics::positives(&labels) as u64;
    let mut warnings = Vec::new();
    if events == 0 || events == n {
        warnings.push(format!(
            "split {} has only one class ({events} events in {n} stays): AUROC, AUPRC and calibration are undefined",
            options.split
        ));
    }

    let (threshold, threshold_source) = match options.threshold {
        ThresholdRule::Fixed(t) => (
            t,
            "given (a fixed threshold, not chosen from data)".to_string(),
        ),
        ThresholdRule::TargetSensitivity(s) => {
            let rows = calibration_rows(&predictions, run_dir, "--target-sensitivity's threshold")?;
            let (vs, vy): (Vec<f64>, Vec<bool>) = rows.iter().map(|p| (p.score, p.label)).unzip();
            let t = metrics::threshold_for_sensitivity(&vs, &vy, s).ok_or_else(|| {
                Error::usage(format!(
                    "--target-sensitivity chooses the threshold on the {THRESHOLD_SPLIT} split, which has {} rows and {} events in {}: it needs at least one event there (or give --threshold)",
                    vs.len(),
                    metrics::positives(&vy),
                    run_dir.join("predictions.csv").display()
                ))
            })?;
            let source = format!(
                "the highest threshold reaching sensitivity {s} on the {THRESHOLD_SPLIT} split ({} stays of {} patients, {} events), never on the split it is judged on",
                rows.len(),
                Clusters::patients(&rows).len(),
                metrics::positives(&vy)
            );
            (t, source)
        }
    };
    let recalibration = match calibration_rows(&predictions, run_dir, "the recalibration") {
        Ok(fit_rows) => {
            let report = recalibrate(&fit_rows, &scores, &labels, options.bins);
            if report.is_none() {
                warnings.push(format!(
                    "the {THRESHOLD_SPLIT} split ({} stays) has one class or scores that do not vary: no recalibration fitted",
                    fit_rows.len()
                ));
            }
            report
        }
        Err(e) => {
            warnings.push(e.to_string());
            None
        }
    };
    let recal = recalibration_fit(&scores, &labels);
    let bins = reliability(&scores, &labels, options.bins);
    let point = Metrics {
        auroc: metrics::auroc(&scores, &labels),
        auprc: metrics::average_precision(&scores, &labels),
        brier: metrics::brier(&scores, &labels),
        log_loss: metrics::log_loss(&scores, &labels),
        calibration_intercept: calibration_in_the_large(&scores, &labels),
        calibration_slope: recal.map(|r| r.1),
        recalibration_intercept: recal.map(|r| r.0),
        ece: ece(&bins),
        mean_score: scores.iter().sum::<f64>() / n as f64,
    };

    let seed = options.seed.or(model.seed).unwrap_or(0);
    let clusters = options.resample.clusters(&rows);
    let intervals = headline_intervals(
        &scores,
        &labels,
        &clusters,
        threshold,
        options.bootstrap,
        seed,
        &point,
    );
    let subgroups = subgroup_table(
        &rows,
        threshold,
        options.resample,
        options.bootstrap,
        seed,
        &intervals,
    );
    for row in subgroups.iter().filter(|r| r.warning.is_some()) {
        warnings.push(format!(
            "subgroup {}={}: {} stays of {} patients, {} events",
            row.attribute, row.group, row.n, row.patients, row.events
        ));
    }
    let bayes = match &options.truth {
        Some(path) => Some(truth::compare(&rows, path)?),
        None => None,
    };
    if let Some(b) = &bayes {
        if b.unmatched > 0 {
            warnings.push(format!(
                "{} stays of the split have no row in the truth file",
                b.unmatched
            ));
        }
    }

    Ok(EvalReport {
        run_dir: run_dir.display().to_string(),
        run_name: run_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        model,
        split: options.split.clone(),
        rows_total: predictions.len() as u64,
        n,
        patients: Clusters::patients(&rows).len() as u64,
        events,
        prevalence: events as f64 / n as f64,
        intervals,
        bootstrap_replicates: options.bootstrap,
        bootstrap_resample: options.resample,
        bootstrap_seed: seed,
        threshold_rule: options.threshold,
        threshold_source,
        recalibration,
        operating_point: metrics::confusion(&scores, &labels, threshold),
        reliability_binning: format!("{} equal-width bins on [0, 1]", options.bins.max(1)),
        reliability: bins,
        subgroups,
        decision_curve: decision_curve(&scores, &labels),
        bayes,
        roc: metrics::thin(&metrics::roc_curve(&scores, &labels), CURVE_POINTS),
        pr: metrics::thin(&metrics::pr_curve(&scores, &labels), CURVE_POINTS),
        history,
        metrics: point,
        warnings,
    })
}

/// Fit the recalibration on the calibration rows and judge it on the
/// evaluated scores.
fn recalibrate(
    fit_rows: &[&Prediction],
    scores: &[f64],
    labels: &[bool],
    bins: usize,
) -> Option<RecalibrationReport> {
    let (fs, fy): (Vec<f64>, Vec<bool>) = fit_rows.iter().map(|p| (p.score, p.label)).unzip();
    let fit = Recalibration::fit(&fs, &fy)?;
    let after: Vec<f64> = scores.iter().map(|&s| fit.apply(s)).collect();
    Some(RecalibrationReport {
        fitted_on: THRESHOLD_SPLIT.to_string(),
        fit_stays: fs.len() as u64,
        fit_patients: Clusters::patients(fit_rows).len() as u64,
        fit_events: metrics::positives(&fy) as u64,
        fit,
        before: CalibrationSummary::of(scores, labels, bins),
        after: CalibrationSummary::of(&after, labels, bins),
    })
}

/// Intervals for the headline metrics, all from the same resamples.
fn headline_intervals(
    scores: &[f64],
    labels: &[bool],
    clusters: &Clusters,
    threshold: f64,
    replicates: usize,
    seed: u64,
    point: &Metrics,
) -> BTreeMap<String, Estimate> {
    let names = [
        "auroc",
        "auprc",
        "brier",
        "calibration_intercept",
        "sensitivity",
        "flagged_rate",
    ];
    let cis = bootstrap(
        scores,
        labels,
        clusters,
        replicates,
        seed,
        "eval-bootstrap/headline",
        names.len(),
        |s, y| {
            let at = metrics::confusion(s, y, threshold);
            vec![
                metrics::auroc(s, y),
                metrics::average_precision(s, y),
                Some(metrics::brier(s, y)),
                calibration_in_the_large(s, y),
                at.sensitivity,
                Some(at.flagged_rate),
            ]
        },
    );
    let at = metrics::confusion(scores, labels, threshold);
    let values = [
        point.auroc,
        point.auprc,
        Some(point.brier),
        point.calibration_intercept,
        at.sensitivity,
        Some(at.flagged_rate),
    ];
    names
        .iter()
        .zip(values)
        .zip(cis)
        .map(|((name, value), ci)| (name.to_string(), Estimate { value, ci }))
        .collect()
}

fn opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x}")).unwrap_or_default()
}

/// The subgroup table as CSV.
fn subgroups_csv(rows: &[SubgroupRow]) -> String {
    let mut out = String::from("attribute,group,n,patients,events,auroc,auroc_lower,auroc_upper,calibration_in_the_large,citl_lower,citl_upper,sensitivity,sensitivity_lower,sensitivity_upper,warning\n");
    for r in rows {
        let e = |e: &Estimate| {
            format!(
                "{},{},{}",
                opt(e.value),
                opt(e.ci.map(|c| c.lower)),
                opt(e.ci.map(|c| c.upper))
            )
        };
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
            csv_field(&r.attribute),
            csv_field(&r.group),
            r.n,
            r.patients,
            r.events,
            e(&r.auroc),
            e(&r.calibration_in_the_large),
            e(&r.sensitivity),
            csv_field(r.warning.as_deref().unwrap_or(""))
        ));
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Write the report to `out_dir`: `eval.json`, `subgroups.csv`,
/// `decision_curve.csv`, `reliability.csv`, `model_card.md`,
/// `model_card.json`, `plots/*.svg` and `plots/*.png`, and `manifest.json`.
/// Returns the files written, relative to `out_dir`.
pub fn write_report(report: &EvalReport, out_dir: &Path) -> Result<Vec<String>> {
    write_json(out_dir.join("eval.json"), report)?;
    write_atomic(
        out_dir.join("subgroups.csv"),
        subgroups_csv(&report.subgroups).as_bytes(),
    )?;
    let mut dc = String::from("threshold,model,treat_all,treat_none\n");
    for p in &report.decision_curve {
        dc.push_str(&format!(
            "{},{},{},{}\n",
            p.threshold, p.model, p.treat_all, p.treat_none
        ));
    }
    write_atomic(out_dir.join("decision_curve.csv"), dc.as_bytes())?;
    let mut rel = String::from("lower,upper,n,mean_score,observed_rate\n");
    for b in &report.reliability {
        rel.push_str(&format!(
            "{},{},{},{},{}\n",
            b.lower, b.upper, b.n, b.mean_score, b.observed_rate
        ));
    }
    write_atomic(out_dir.join("reliability.csv"), rel.as_bytes())?;
    let model_card = card::ModelCard::from_report(report);
    write_json(out_dir.join("model_card.json"), &model_card)?;
    write_atomic(
        out_dir.join("model_card.md"),
        model_card.to_markdown().as_bytes(),
    )?;
    plots::write_all(report, &out_dir.join("plots"))?;

    let mut manifest = Manifest::new("eval");
    manifest.seed = Some(report.bootstrap_seed);
    manifest
        .inputs
        .insert("run_dir".into(), report.run_dir.clone());
    if let Some(b) = &report.bayes {
        manifest.inputs.insert("truth".into(), b.truth_file.clone());
    }
    manifest
        .counts
        .insert("rows_total".into(), report.rows_total);
    manifest
        .counts
        .insert(format!("rows_{}", report.split), report.n);
    manifest.counts.insert("events".into(), report.events);
    manifest
        .counts
        .insert("subgroups".into(), report.subgroups.len() as u64);
    manifest
        .details
        .insert("split".into(), report.split.clone().into());
    if let Some(a) = report.metrics.auroc {
        manifest.details.insert("auroc".into(), a.into());
    }
    manifest.checksum_dir(out_dir)?;
    manifest.write(out_dir)?;
    Ok(manifest
        .files
        .keys()
        .cloned()
        .chain(["manifest.json".to_string()])
        .collect())
}
