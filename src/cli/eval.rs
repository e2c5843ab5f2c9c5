//! `carelab eval`: judge a trained run the way clinicians need.

use std::path::PathBuf;

use carelab::error::{Error, Result};
use carelab::eval::bootstrap::Resample;
use carelab::eval::{self, EvalOptions, ThresholdRule};
use carelab::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// The run directory the trainer wrote (runs/<name>), or a model in the
    /// registry: NAME@stage, NAME@VERSION or NAME@ALIAS ($CARELAB_REGISTRY).
    #[arg(long)]
    run: String,
    /// Which split to evaluate: train, valid, calibration or test.
    #[arg(long, default_value = "test", value_parser = ["train", "valid", "calibration", "test"])]
    split: String,
    /// Flag stays whose score is at least this (default 0.5).
    #[arg(long, conflicts_with = "target_sensitivity")]
    threshold: Option<f64>,
    /// Instead of a fixed threshold, the highest one reaching this
    /// sensitivity on the calibration split (whatever --split is evaluated;
    /// never on test, which would tune the threshold to its judge).
    #[arg(long)]
    target_sensitivity: Option<f64>,
    /// The generator's truth/stays.csv, to show the Bayes-optimal AUROC beside the model's.
    #[arg(long)]
    truth: Option<PathBuf>,
    /// Bootstrap replicates for the confidence intervals (0 for none).
    #[arg(long, default_value_t = 200)]
    bootstrap: usize,
    /// What a bootstrap replicate draws: patients, with all their stays (the
    /// honest unit when patients have several stays), or stays as if they
    /// were independent (too narrow; to see the difference).
    #[arg(long, default_value = "patients", value_parser = ["patients", "stays"])]
    resample: String,
    /// Seed of the bootstrap (default: the run's seed).
    #[arg(long)]
    seed: Option<u64>,
    /// Equal-width bins of the reliability curve.
    #[arg(long, default_value_t = 10)]
    bins: usize,
    /// Where to write the report (default RUN/eval).
    #[arg(long)]
    out: Option<PathBuf>,
}

fn probability(flag: &str, v: f64) -> Result<f64> {
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(Error::usage(format!(
            "{flag} must be between 0 and 1, got {v}"
        )))
    }
}

fn fmt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.4}")).unwrap_or_else(|| "n/a".into())
}

pub fn run(args: EvalArgs, ui: &Ui) -> Result<u8> {
    let threshold = match (args.threshold, args.target_sensitivity) {
        (_, Some(s)) => ThresholdRule::TargetSensitivity(probability("--target-sensitivity", s)?),
        (Some(t), None) => ThresholdRule::Fixed(probability("--threshold", t)?),
        (None, None) => ThresholdRule::Fixed(0.5),
    };
    if args.bins == 0 {
        return Err(Error::usage("--bins must be at least 1"));
    }
    let options = EvalOptions {
        split: args.split,
        threshold,
        truth: args.truth,
        bootstrap: args.bootstrap,
        resample: if args.resample == "stays" {
            Resample::Stays
        } else {
            Resample::Patients
        },
        seed: args.seed,
        bins: args.bins,
    };
    let run = carelab::registry::model_dir(&args.run, None)?;
    ui.info(format!(
        "evaluating {} ({} split, {} bootstrap replicates of {})",
        run.display(),
        options.split,
        options.bootstrap,
        options.resample.name()
    ));
    let report = eval::evaluate(&run, &options)?;
    let out = args.out.unwrap_or_else(|| run.join("eval"));
    let files = eval::write_report(&report, &out)?;
    for w in &report.warnings {
        ui.warn(w);
    }
    let summary = serde_json::json!({
        "run": report.run_dir,
        "split": report.split,
        "n": report.n,
        "patients": report.patients,
        "events": report.events,
        "bootstrap_resample": report.bootstrap_resample,
        "metrics": report.metrics,
        "intervals": report.intervals,
        "operating_point": report.operating_point,
        "threshold_source": report.threshold_source,
        "recalibration": report.recalibration,
        "bayes": report.bayes,
        "warnings": report.warnings,
        "out": out.display().to_string(),
        "files": files,
    });
    ui.result(&summary, || {
        let m = &report.metrics;
        let op = &report.operating_point;
        let ci = |k: &str| {
            report
                .intervals
                .get(k)
                .and_then(|e| e.ci)
                .map(|c| format!(" [{:.4}, {:.4}]", c.lower, c.upper))
                .unwrap_or_default()
        };
        let mut t = format!(
            "{} split: {} stays of {} patients, {} events ({:.1}%); 95% intervals resample {}\n",
            report.split,
            report.n,
            report.patients,
            report.events,
            report.prevalence * 100.0,
            report.bootstrap_resample.name()
        );
        t.push_str(&format!("  AUROC                  {}{}\n", fmt(m.auroc), ci("auroc")));
        t.push_str(&format!("  AUPRC (avg precision)  {}{}\n", fmt(m.auprc), ci("auprc")));
        t.push_str(&format!("  Brier                  {:.4}{}\n", m.brier, ci("brier")));
        t.push_str(&format!("  log loss               {:.4}\n", m.log_loss));
        t.push_str(&format!(
            "  calibration intercept  {}{}  slope {}  ECE {:.4}\n",
            fmt(m.calibration_intercept),
            ci("calibration_intercept"),
            fmt(m.calibration_slope),
            m.ece
        ));
        if let Some(rc) = &report.recalibration {
            t.push_str(&format!(
                "  recalibration fitted on the {} split ({} stays of {} patients, {} events): logit(risk) = {:.4} + {:.4}·logit(score); on this split\n",
                rc.fitted_on, rc.fit_stays, rc.fit_patients, rc.fit_events, rc.fit.intercept, rc.fit.slope
            ));
            if rc.fitted_on == report.split {
                t.push_str("    (this is the split it was fitted on: the mean risk matches by construction; judge it on test)\n");
            }
            t.push_str("                 mean risk  observed  cal.-in-the-large  slope    ECE     Brier\n");
            for (name, c) in [("before", &rc.before), ("after", &rc.after)] {
                t.push_str(&format!(
                    "    {name:<12} {:>9.4} {:>9.4} {:>18} {:>7} {:>7.4} {:>8.4}\n",
                    c.mean_score,
                    c.observed_rate,
                    fmt(c.calibration_in_the_large),
                    fmt(c.calibration_slope),
                    c.ece,
                    c.brier
                ));
            }
        }
        t.push_str(&format!("  threshold {:.4}: {}\n", op.threshold, report.threshold_source));
        t.push_str(&format!(
            "  at threshold {:.4}: TP {} FP {} TN {} FN {}; sensitivity {}{} specificity {} PPV {} NPV {}; flagged {:.4}{}\n",
            op.threshold,
            op.tp,
            op.fp,
            op.tn,
            op.fn_,
            fmt(op.sensitivity),
            ci("sensitivity"),
            fmt(op.specificity),
            fmt(op.ppv),
            fmt(op.npv),
            op.flagged_rate,
            ci("flagged_rate")
        ));
        if let Some(b) = &report.bayes {
            t.push_str(&format!(
                "  Bayes-optimal AUROC    {} (model {} on the same {} stays)\n",
                fmt(b.bayes_auroc),
                fmt(b.model_auroc),
                b.matched
            ));
        }
        t.push_str(&format!("report, model card and plots in {}\n", out.display()));
        t
    });
    Ok(0)
}
