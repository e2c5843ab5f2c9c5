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

use carelab::eval::calibration::{calibration_in_the_large, ece, recalibration_fit, reliability};
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
    assert_eq!(cases.len(), 4);
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
