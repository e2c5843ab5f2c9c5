//! The evaluation end to end on a fake run directory, and the statistical
//! properties the report rests on.

use crate::eval_support;

use carelab::eval::bootstrap::{bootstrap, Clusters};
use carelab::eval::calibration::{calibration_in_the_large, recalibration_fit};
use carelab::eval::decision::decision_curve;
use carelab::eval::metrics::{auroc, confusion, threshold_for_sensitivity};
use carelab::eval::run_dir::read_predictions;
use carelab::eval::{evaluate, write_report, EvalOptions, ThresholdRule};
use carelab::rng;
use eval_support::FakeRun;
use rand::Rng as _;

/// Scores from Beta-ish spread and labels drawn from them: calibrated by construction.
fn calibrated(n: usize, seed: u64) -> (Vec<f64>, Vec<bool>) {
    let mut r = rng::stream(seed, "test-calibrated", 0);
    let s: Vec<f64> = (0..n)
        .map(|_| 1.0 / (1.0 + (-r.random_range(-3.0..1.0f64)).exp()))
        .collect();
    let y = s.iter().map(|&p| r.random::<f64>() < p).collect();
    (s, y)
}

#[test]
fn calibrated_scores_have_slope_one_and_intercept_zero() {
    let (s, y) = calibrated(20_000, 1);
    let citl = calibration_in_the_large(&s, &y).unwrap();
    let (_, slope) = recalibration_fit(&s, &y).unwrap();
    assert!(citl.abs() < 0.05, "intercept {citl}");
    assert!((slope - 1.0).abs() < 0.06, "slope {slope}");
}

#[test]
fn overconfident_scores_have_slope_below_one() {
    let (s, y) = calibrated(20_000, 2);
    // Push every logit away from 0 by a factor 2: the same ranking, too extreme.
    let over: Vec<f64> = s
        .iter()
        .map(|&p| {
            let z = (p / (1.0 - p)).ln() * 2.0;
            1.0 / (1.0 + (-z).exp())
        })
        .collect();
    let (_, slope) = recalibration_fit(&over, &y).unwrap();
    assert!(
        (slope - 0.5).abs() < 0.05,
        "slope {slope}, expected about 0.5"
    );
    assert_eq!(
        auroc(&over, &y),
        auroc(&s, &y),
        "a monotone transform keeps AUROC"
    );
}

#[test]
fn bootstrap_interval_contains_estimate_and_shrinks_with_n() {
    let mut widths = Vec::new();
    for n in [200, 3_200] {
        let (s, y) = calibrated(n, 3);
        let point = auroc(&s, &y).unwrap();
        let one_each = Clusters::singletons(n);
        let ci = bootstrap(&s, &y, &one_each, 200, 9, "test", 1, |s, y| {
            vec![auroc(s, y)]
        })[0]
            .unwrap();
        assert!(
            ci.lower < point && point < ci.upper,
            "n={n}: {point} outside {ci:?}"
        );
        assert_eq!(ci.replicates, 200);
        widths.push(ci.upper - ci.lower);
    }
    // Width goes as 1/sqrt(n): 16x the rows, about a quarter of the width.
    assert!(widths[1] < widths[0] * 0.4, "widths {widths:?}");
    // And the same seed gives the same interval.
    let (s, y) = calibrated(200, 3);
    let one_each = Clusters::singletons(200);
    let a = bootstrap(&s, &y, &one_each, 50, 9, "test", 1, |s, y| {
        vec![auroc(s, y)]
    });
    let b = bootstrap(&s, &y, &one_each, 50, 9, "test", 1, |s, y| {
        vec![auroc(s, y)]
    });
    assert_eq!(a, b);
}

#[test]
fn decision_curve_matches_hand_computation() {
    // 10 stays, 4 events. At pt = 0.25 the stays scoring >= 0.25 are
    // 0.3(event) 0.4(no) 0.6(event) 0.7(no) 0.9(event): TP 3, FP 2.
    // NB = 3/10 - 2/10 * 0.25/0.75 = 0.3 - 0.0666... = 0.2333...
    // Treat all: 0.4 - 0.6 * 1/3 = 0.2.
    let s = [0.05, 0.1, 0.15, 0.2, 0.2, 0.3, 0.4, 0.6, 0.7, 0.9];
    let y = [
        false, false, false, true, false, true, false, true, false, true,
    ];
    let curve = decision_curve(&s, &y);
    assert_eq!(curve.len(), 99);
    let p = curve
        .iter()
        .find(|p| (p.threshold - 0.25).abs() < 1e-12)
        .unwrap();
    assert!((p.model - (0.3 - 0.2 / 3.0)).abs() < 1e-12, "{p:?}");
    assert!((p.treat_all - 0.2).abs() < 1e-12);
    assert_eq!(p.treat_none, 0.0);
    // Above every score nobody is flagged: net benefit 0.
    assert_eq!(curve[98].model, 0.0);
}

#[test]
fn evaluate_writes_report_card_and_plots() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run-a");
    let truth = FakeRun::default().write(&run);
    let options = EvalOptions {
        truth: Some(truth),
        bootstrap: 50,
        threshold: ThresholdRule::TargetSensitivity(0.8),
        ..Default::default()
    };
    let report = evaluate(&run, &options).unwrap();
    assert_eq!((report.rows_total, report.n), (1600, 400));
    // The threshold is chosen on the calibration split and applied to test.
    let predictions = read_predictions(&run.join("predictions.csv")).unwrap();
    let split = |name: &str| -> (Vec<f64>, Vec<bool>) {
        predictions
            .iter()
            .filter(|p| p.split == name)
            .map(|p| (p.score, p.label))
            .unzip()
    };
    let (cs, cy) = split("calibration");
    let on_calibration = threshold_for_sensitivity(&cs, &cy, 0.8).unwrap();
    assert_eq!(report.operating_point.threshold, on_calibration);
    let (ts, ty) = split("test");
    assert_eq!(report.operating_point, confusion(&ts, &ty, on_calibration));
    for other in [split("valid"), (ts.clone(), ty.clone())] {
        assert_ne!(
            on_calibration,
            threshold_for_sensitivity(&other.0, &other.1, 0.8).unwrap(),
            "the fixture's splits differ, so choosing on validation or test would show"
        );
    }
    assert!(report
        .threshold_source
        .contains("on the calibration split (400 stays"));
    let a = report.metrics.auroc.unwrap();
    assert!(a > 0.6 && a < 0.95, "auroc {a}");
    // The fake scores are the true risks: the model is Bayes-optimal here.
    let bayes = report.bayes.as_ref().unwrap();
    assert_eq!(
        (bayes.matched, bayes.unmatched, bayes.label_mismatches),
        (400, 0, 0)
    );
    assert_eq!(bayes.bayes_auroc, report.metrics.auroc);
    // 1 overall row + 2 sexes + 4 age bands + 4 races + 4 payers.
    assert_eq!(report.subgroups.len(), 15);
    let all = &report.subgroups[0];
    assert_eq!((all.attribute.as_str(), all.n), ("all", 400));
    for row in &report.subgroups {
        if let (Some(v), Some(ci)) = (row.auroc.value, row.auroc.ci) {
            assert!(
                ci.lower <= v + 1e-12 && v <= ci.upper + 1e-12,
                "{}={}: {v} {ci:?}",
                row.attribute,
                row.group
            );
        }
        assert_eq!(row.warning.is_some(), row.n < 100 || row.events < 10);
    }

    let out = run.join("eval");
    let files = write_report(&report, &out).unwrap();
    for f in [
        "eval.json",
        "model_card.md",
        "model_card.json",
        "subgroups.csv",
        "decision_curve.csv",
        "reliability.csv",
        "manifest.json",
    ] {
        assert!(files.contains(&f.to_string()), "{f} missing from {files:?}");
    }
    for stem in ["loss", "roc", "pr", "calibration", "decision_curve"] {
        let svg = std::fs::read_to_string(out.join(format!("plots/{stem}.svg"))).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("<text"),
            "{stem}.svg has text"
        );
        let png = std::fs::read(out.join(format!("plots/{stem}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{stem}.png is a PNG");
    }
    let card = std::fs::read_to_string(out.join("model_card.md")).unwrap();
    assert!(card.contains(&format!("{a:.3}")), "card carries the AUROC");
    assert!(
        card.contains("## Intended use")
            && card.contains("## Subgroups")
            && card.contains("Bayes-optimal")
    );
    assert!(card.contains(&format!("TP {}", report.operating_point.tp)));
    // the HTI-1 source attributes: what the run knows, and what a person
    // must write, marked
    assert!(card.contains("## Source attributes (ONC HTI-1)"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("model_card.json")).unwrap())
            .unwrap();
    let attrs = json["source_attributes"].as_array().unwrap();
    assert_eq!(attrs.len(), 21);
    let by = |name: &str| {
        attrs
            .iter()
            .find(|a| a["attribute"] == name)
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    assert_eq!(by("Funding source")["filled_by"], "person");
    assert!(by("Funding source")["value"]
        .as_str()
        .unwrap()
        .starts_with("TO FILL:"));
    assert_eq!(by("Decision-making role")["filled_by"], "run");
    let internal = by("Internal validation")["value"].as_str().unwrap();
    assert!(
        internal.contains(&format!(
            "{} stays of {} patients",
            report.n, report.patients
        )),
        "{internal}"
    );
    // net benefit at the threshold, from the confusion matrix
    let op = &report.operating_point;
    let t = op.threshold;
    let nb = (op.tp as f64 - op.fp as f64 * t / (1.0 - t)) / report.n as f64;
    assert_eq!(
        by("Net benefit at the threshold")["value"],
        format!("{nb:.3}")
    );
    let subgroups = std::fs::read_to_string(out.join("subgroups.csv")).unwrap();
    assert_eq!(subgroups.lines().count(), 16);

    // Same inputs, same seed: byte-identical report.
    let again = evaluate(&run, &options).unwrap();
    assert_eq!(
        serde_json::to_string(&again).unwrap(),
        serde_json::to_string(&report).unwrap()
    );
}

#[test]
fn bad_prediction_rows_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run-bad");
    FakeRun {
        n: 20,
        ..Default::default()
    }
    .write(&run);
    let path = run.join("predictions.csv");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("E999999,P999999,test,1.7,1,F,50,White,Private\n");
    std::fs::write(&path, text).unwrap();
    let err = evaluate(&run, &EvalOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("predictions.csv") && msg.contains("line 82") && msg.contains("score"),
        "{msg}"
    );
    assert_eq!(err.exit_code(), 2);
}

/// A run trained before the calibration split existed has nothing to choose
/// a threshold or fit a recalibration on: choosing one fails and says why,
/// never falls back to validation or test; a fixed threshold still works.
#[test]
fn a_run_without_a_calibration_split_never_chooses_on_another() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run-old");
    FakeRun {
        n: 100,
        splits: &["train", "valid", "test"],
        ..Default::default()
    }
    .write(&run);
    let err = evaluate(
        &run,
        &EvalOptions {
            threshold: ThresholdRule::TargetSensitivity(0.8),
            bootstrap: 0,
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("calibration split") && err.contains("train it again"),
        "{err}"
    );
    let report = evaluate(
        &run,
        &EvalOptions {
            bootstrap: 0,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(report.recalibration.is_none());
    assert!(report
        .warnings
        .iter()
        .any(|w| w.contains("calibration split")));
}

/// An over-predicting model: the card shows the recalibration fitted on
/// the calibration split, and on test the mean risk moves to the observed
/// rate's neighbourhood; the operating point carries its intervals.
#[test]
fn card_shows_recalibration_and_the_chosen_operating_point() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run-over");
    FakeRun {
        n: 600,
        offset: 0.8,
        ..Default::default()
    }
    .write(&run);
    let options = EvalOptions {
        threshold: ThresholdRule::TargetSensitivity(0.8),
        bootstrap: 50,
        ..Default::default()
    };
    let report = evaluate(&run, &options).unwrap();
    let rc = report.recalibration.clone().unwrap();
    assert_eq!((rc.fitted_on.as_str(), rc.fit_stays), ("calibration", 600));
    // Fitted on the logit shift of +0.8: the intercept undoes it.
    assert!((rc.fit.intercept + 0.8).abs() < 0.3, "{rc:?}");
    let (before, after) = (rc.before, rc.after);
    assert!(
        before.mean_score > before.observed_rate + 0.05,
        "{before:?}"
    );
    assert!(
        (after.mean_score - after.observed_rate).abs()
            < 0.3 * (before.mean_score - before.observed_rate),
        "{after:?}"
    );
    assert!(after.brier < before.brier);
    let out = dir.path().join("out");
    write_report(&report, &out).unwrap();
    let card = std::fs::read_to_string(out.join("model_card.md")).unwrap();
    assert!(
        card.contains("Logistic recalibration fitted on the calibration split (600 stays"),
        "{card}"
    );
    assert!(
        card.contains(&format!("| after | {:.4} |", after.mean_score)),
        "{card}"
    );
    assert!(card.contains(
        "chosen as the highest threshold reaching sensitivity 0.8 on the calibration split"
    ));
    let sens = report.intervals["sensitivity"].ci.unwrap();
    assert!(
        card.contains(&format!(
            "(95% CI {:.1} to {:.1})",
            sens.lower * 100.0,
            sens.upper * 100.0
        )),
        "{card}"
    );
}

/// The card says what its intervals resampled: with --resample stays it
/// warns they are too narrow, never claims patients.
#[test]
fn card_names_the_resampling_unit() {
    use carelab::eval::bootstrap::Resample;
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run-c");
    FakeRun {
        n: 100,
        ..Default::default()
    }
    .write(&run);
    for (resample, says) in [
        (Resample::Patients, "resamples patients"),
        (
            Resample::Stays,
            "resamples stays as if they were independent",
        ),
    ] {
        let options = EvalOptions {
            bootstrap: 20,
            resample,
            ..Default::default()
        };
        let out = dir.path().join(resample.name());
        write_report(&evaluate(&run, &options).unwrap(), &out).unwrap();
        let card = std::fs::read_to_string(out.join("model_card.md")).unwrap();
        assert!(card.contains(says), "{card}");
        assert!(card.contains("(20 replicates)"), "{card}");
    }
}
