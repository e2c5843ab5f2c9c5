#!/usr/bin/env python3
"""Reference values for CareLab's evaluation metrics, from scikit-learn.

Writes tests/data/metrics/fixtures.json: fixed score vectors and labels, with
the metrics scikit-learn computes for them. tests/eval_fixtures.rs compares
CareLab's numbers against these.

    python3 -m venv /tmp/sk-venv
    /tmp/sk-venv/bin/pip install scikit-learn numpy
    /tmp/sk-venv/bin/python scripts/make-metric-fixtures.py

Calibration-in-the-large (intercept with the logit as an offset) has no
scikit-learn estimator; it is fitted here by Newton's method in numpy, an
independent implementation of the same definition.
"""

import json
import pathlib

import numpy as np
import sklearn
from sklearn.calibration import calibration_curve
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    log_loss,
    roc_auc_score,
)

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests/data/metrics/fixtures.json"
EPS = np.finfo(np.float64).eps


def logit(p):
    p = np.clip(p, EPS, 1 - EPS)
    return np.log(p / (1 - p))


def citl(scores, labels):
    off = logit(scores)
    a = 0.0
    for _ in range(100):
        p = 1 / (1 + np.exp(-(a + off)))
        step = np.sum(labels - p) / np.sum(p * (1 - p))
        a += step
        if abs(step) < 1e-13:
            break
    return a


def case(name, scores, labels, threshold=0.5):
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    tn, fp, fn, tp = confusion_matrix(labels, scores >= threshold, labels=[0, 1]).ravel()
    prob_true, prob_pred = calibration_curve(labels, scores, n_bins=10, strategy="uniform")
    # Bin counts to weight the ECE, with the same bin assignment as calibration_curve.
    bins = np.linspace(0.0, 1.0, 11)
    ids = np.searchsorted(bins[1:-1], scores)
    counts = np.bincount(ids, minlength=10)
    counts = counts[counts > 0]
    ece = float(np.sum(counts * np.abs(prob_true - prob_pred)) / len(scores))
    lr = LogisticRegression(C=np.inf, solver="newton-cg", tol=1e-12, max_iter=10000)
    lr.fit(logit(scores).reshape(-1, 1), labels)
    # Logistic recalibration applied: scikit-learn's own probabilities from
    # the fit above, judged on the same scores.
    recalibrated = lr.predict_proba(logit(scores).reshape(-1, 1))[:, 1]
    prevalence = labels.mean()
    nb = {}
    for pt in (0.05, 0.1, 0.2, 0.3, 0.5):
        flag = scores >= pt
        tp_t = np.sum(flag & (labels == 1))
        fp_t = np.sum(flag & (labels == 0))
        nb[str(pt)] = float(tp_t / len(scores) - fp_t / len(scores) * pt / (1 - pt))
    return {
        "name": name,
        "scores": scores.tolist(),
        "labels": labels.tolist(),
        "threshold": threshold,
        "auroc": float(roc_auc_score(labels, scores)),
        "average_precision": float(average_precision_score(labels, scores)),
        "brier": float(brier_score_loss(labels, scores)),
        "log_loss": float(log_loss(labels, scores)),
        "tp": int(tp),
        "fp": int(fp),
        "tn": int(tn),
        "fn": int(fn),
        "sensitivity": float(tp / (tp + fn)),
        "specificity": float(tn / (tn + fp)),
        "ppv": float(tp / (tp + fp)),
        "npv": float(tn / (tn + fn)),
        "reliability_observed": prob_true.tolist(),
        "reliability_mean_score": prob_pred.tolist(),
        "ece": ece,
        "calibration_slope": float(lr.coef_[0][0]),
        "recalibration_intercept": float(lr.intercept_[0]),
        "calibration_in_the_large": float(citl(scores, labels)),
        "recalibrated_mean": float(recalibrated.mean()),
        "recalibrated_brier": float(brier_score_loss(labels, recalibrated)),
        "prevalence": float(prevalence),
        "net_benefit": nb,
    }


def main():
    rng = np.random.default_rng(20240901)
    cases = []
    # Calibrated: the label is drawn from the score itself.
    s = rng.beta(2, 8, size=400)
    cases.append(case("calibrated", s, rng.random(400) < s))
    # Heavy ties: scores rounded to one decimal.
    s = np.round(rng.random(300), 1)
    cases.append(case("ties", s, rng.random(300) < 0.2 + 0.6 * s, threshold=0.3))
    # Overconfident: true risk r, reported score pushed away from 0.5.
    r = rng.beta(2, 5, size=500)
    y = rng.random(500) < r
    over = 1 / (1 + np.exp(-2.5 * logit(r)))
    cases.append(case("overconfident", over, y, threshold=0.2))
    # Small, hand-checkable.
    cases.append(case("small", [0.1, 0.4, 0.35, 0.8, 0.65, 0.2, 0.9, 0.55], [0, 0, 1, 1, 0, 0, 1, 1]))
    # Over-predicting: true risk r, every logit shifted up by 0.8 and
    # stretched a little, so both intercept and slope need fixing.
    r = rng.beta(2, 8, size=600)
    y = rng.random(600) < r
    over_predicting = 1 / (1 + np.exp(-(0.8 + 0.9 * logit(r))))
    cases.append(case("overpredicting", over_predicting, y, threshold=0.2))
    out = {
        "generator": "scripts/make-metric-fixtures.py",
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "cases": cases,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {OUT} ({len(cases)} cases)")


if __name__ == "__main__":
    main()
