//! CareLab's metrics against scikit-learn on fixed score vectors
//! (tests/data/metrics/fixtures.json, made by scripts/make-metric-fixtures.py).
//!
//! Everything is compared at 1e-9: AUROC, average precision, Brier, log
//! loss, confusion counts and rates, the reliability curve, ECE, net benefit,
//! calibration-in-the-large (fitted by Newton's method in numpy, as here) and
//! the calibration slope and intercept (scikit-learn LogisticRegression,
//! C=inf, newton-cg, tol=1e-12). With scikit-learn's default lbfgs solver
//! and tolerance the slope only agrees to about 1e-4: that is the solver
//! stopping early, not a different estimate.
//!
//! Recalibration applied: scikit-learn's predicted probabilities from that
//! fit, their mean and Brier score, against CareLab's `Recalibration`, on
//! its own and through `evaluate` on a run whose calibration split is the
//! over-predicting case.

use carelab::eval::calibration::{
    calibration_in_the_large, ece, recalibration_fit, reliability, Recalibration,
};
use carelab::eval::decision::net_benefit;
use carelab::eval::metrics::{auroc, average_precision, brier, confusion, log_loss};
use serde_json::Value;

fn fixtures() -> Vec<Value> {
    let text = include_str!("../data/metrics/fixtures.json");
    let v: Value = serde_json::from_str(text).unwrap();
    v["cases"].as_array().unwrap().clone()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn close(name: &str, case: &str, got: f64, want: f64, tol: f64) {
    assert!(
        (got - want).abs() <= tol,
        "{case}: {name} = {got}, scikit-learn {want} (tol {tol})"
    );
}

#[test]
fn metrics_match_scikit_learn() {
    let cases = fixtures();
    assert_eq!(cases.len(), 5);
    for c in &cases {
        let name = c["name"].as_str().unwrap();
        let s = floats(&c["scores"]);
        let y: Vec<bool> = c["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64() == Some(1))
            .collect();
        let f = |k: &str| c[k].as_f64().unwrap();
        close("auroc", name, auroc(&s, &y).unwrap(), f("auroc"), 1e-9);
        close(
            "average_precision",
            name,
            average_precision(&s, &y).unwrap(),
            f("average_precision"),
            1e-9,
        );
        close("brier", name, brier(&s, &y), f("brier"), 1e-9);
        close("log_loss", name, log_loss(&s, &y), f("log_loss"), 1e-9);

        let m = confusion(&s, &y, f("threshold"));
        assert_eq!(
            (m.tp, m.fp, m.tn, m.fn_),
            (
                f("tp") as u64,
                f("fp") as u64,
                f("tn") as u64,
                f("fn") as u64
            ),
            "{name}: confusion matrix"
        );
        close(
            "sensitivity",
            name,
            m.sensitivity.unwrap(),
            f("sensitivity"),
            1e-9,
        );
        close(
            "specificity",
            name,
            m.specificity.unwrap(),
            f("specificity"),
            1e-9,
        );
        close("ppv", name, m.ppv.unwrap(), f("ppv"), 1e-9);
        close("npv", name, m.npv.unwrap(), f("npv"), 1e-9);

        let bins = reliability(&s, &y, 10);
        let observed = floats(&c["reliability_observed"]);
        let mean = floats(&c["reliability_mean_score"]);
        assert_eq!(bins.len(), observed.len(), "{name}: non-empty bins");
        for (b, (o, m)) in bins.iter().zip(observed.iter().zip(&mean)) {
            close("bin observed rate", name, b.observed_rate, *o, 1e-9);
            close("bin mean score", name, b.mean_score, *m, 1e-9);
        }
        close("ece", name, ece(&bins), f("ece"), 1e-9);

        close(
            "calibration_in_the_large",
            name,
            calibration_in_the_large(&s, &y).unwrap(),
            f("calibration_in_the_large"),
            1e-9,
        );
        let (a, b) = recalibration_fit(&s, &y).unwrap();
        close("calibration_slope", name, b, f("calibration_slope"), 1e-9);
        close(
            "recalibration_intercept",
            name,
            a,
            f("recalibration_intercept"),
            1e-9,
        );
        let fit = Recalibration::fit(&s, &y).unwrap();
        let after: Vec<f64> = s.iter().map(|&p| fit.apply(p)).collect();
        let mean_after = after.iter().sum::<f64>() / after.len() as f64;
        close(
            "recalibrated mean",
            name,
            mean_after,
            f("recalibrated_mean"),
            1e-9,
        );
        close(
            "recalibrated brier",
            name,
            brier(&after, &y),
            f("recalibrated_brier"),
            1e-9,
        );

        for (pt, want) in c["net_benefit"].as_object().unwrap() {
            let pt: f64 = pt.parse().unwrap();
            close(
                &format!("net benefit at {pt}"),
                name,
                net_benefit(&s, &y, pt),
                want.as_f64().unwrap(),
                1e-9,
            );
        }
    }
}

fn case(name: &str) -> Value {
    fixtures().into_iter().find(|c| c["name"] == name).unwrap()
}

/// A model that over-predicts (mean risk well above the observed rate):
/// `evaluate` fits the recalibration on the calibration split and applies
/// it; there the mean risk becomes the observed rate and the Brier score
/// does not get worse, each equal to scikit-learn's figure for the same fit.
#[test]
fn recalibration_on_the_calibration_split_matches_scikit_learn() {
    use carelab::eval::{evaluate, EvalOptions};
    let c = case("overpredicting");
    let s = floats(&c["scores"]);
    let y: Vec<i64> = c["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    let f = |k: &str| c[k].as_f64().unwrap();
    let mean = s.iter().sum::<f64>() / s.len() as f64;
    assert!(
        mean > f("prevalence") + 0.1,
        "the case over-predicts: {mean}"
    );

    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    std::fs::create_dir_all(&run).unwrap();
    let mut preds =
        String::from("stay_id,patient_id,split,score,label,sex,age,race_ethnicity,payer\n");
    for split in ["train", "valid", "calibration", "test"] {
        for (i, (score, label)) in s.iter().zip(&y).enumerate() {
            preds.push_str(&format!(
                "{split}{i},{split}P{i},{split},{score},{label},F,60,White,Medicare\n"
            ));
        }
    }
    std::fs::write(run.join("predictions.csv"), preds).unwrap();
    std::fs::write(run.join("model.json"), r#"{"kind":"logreg","seed":1}"#).unwrap();
    let report = evaluate(
        &run,
        &EvalOptions {
            split: "calibration".into(),
            bootstrap: 0,
            ..Default::default()
        },
    )
    .unwrap();
    let rc = report.recalibration.expect("a recalibration");
    assert_eq!((rc.fitted_on.as_str(), rc.fit_stays), ("calibration", 600));
    close(
        "slope",
        "overpredicting",
        rc.fit.slope,
        f("calibration_slope"),
        1e-9,
    );
    close(
        "intercept",
        "overpredicting",
        rc.fit.intercept,
        f("recalibration_intercept"),
        1e-9,
    );
    close(
        "mean before",
        "overpredicting",
        rc.before.mean_score,
        mean,
        1e-12,
    );
    close(
        "brier before",
        "overpredicting",
        rc.before.brier,
        f("brier"),
        1e-9,
    );
    // After: mean risk is the observed prevalence, as scikit-learn's is.
    close(
        "mean after",
        "overpredicting",
        rc.after.mean_score,
        f("recalibrated_mean"),
        1e-9,
    );
    close(
        "mean after = prevalence",
        "overpredicting",
        rc.after.mean_score,
        f("prevalence"),
        1e-9,
    );
    close(
        "brier after",
        "overpredicting",
        rc.after.brier,
        f("recalibrated_brier"),
        1e-9,
    );
    assert!(rc.after.brier <= rc.before.brier, "{rc:?}");
    // And calibration-in-the-large and the slope are then ideal.
    assert!(
        rc.after.calibration_in_the_large.unwrap().abs() < 1e-6,
        "{rc:?}"
    );
    assert!(
        (rc.after.calibration_slope.unwrap() - 1.0).abs() < 1e-6,
        "{rc:?}"
    );
}
