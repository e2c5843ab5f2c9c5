#!/usr/bin/env python3
"""Reference values for CareLab's drift statistics, from scipy.

Writes tests/data/monitor/fixtures.json: fixed samples and count tables with
the statistics scipy computes for them. tests/monitor_stats.rs compares
CareLab's `monitor::stats` against these.

    $PEERS_VENV/bin/python scripts/make-drift-fixtures.py   # scipy, numpy

KS: the statistic is scipy.stats.ks_2samp's; the p-value is the limiting
Kolmogorov distribution at sqrt(n*m/(n+m)) * D (scipy.stats.kstwobign.sf),
which is what CareLab reports. (ks_2samp's own default switches to an exact
small-sample method; the asymptotic form is the one that stays cheap on
hospital-sized samples.)

Chi-squared: scipy.stats.chi2_contingency on the 2 x K table (reference row,
current row) without Yates' continuity correction.
"""

import json
import pathlib

import numpy as np
import scipy
from scipy import stats

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests/data/monitor/fixtures.json"


def ks_case(name, a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    d = stats.ks_2samp(a, b).statistic
    en = len(a) * len(b) / (len(a) + len(b))
    p = stats.kstwobign.sf(np.sqrt(en) * d)
    return {"name": name, "a": a.tolist(), "b": b.tolist(), "statistic": float(d), "p_value": float(p)}


def chi2_case(name, reference, current):
    table = np.array([reference, current], dtype=np.float64)
    res = stats.chi2_contingency(table, correction=False)
    return {
        "name": name,
        "reference": list(map(float, reference)),
        "current": list(map(float, current)),
        "statistic": float(res.statistic),
        "p_value": float(res.pvalue),
        "dof": int(res.dof),
    }


def main():
    rng = np.random.default_rng(20251129)
    ks = [
        ks_case("same normal", rng.normal(0, 1, 200), rng.normal(0, 1, 150)),
        ks_case("shifted normal", rng.normal(0, 1, 300), rng.normal(0.3, 1, 250)),
        ks_case("creatinine-like shift", rng.lognormal(0, 0.3, 400), rng.lognormal(0, 0.3, 380) + 0.3),
        ks_case("ties (integers)", rng.poisson(2, 120), rng.poisson(2.5, 90)),
        ks_case("small", [1.0, 2.0, 3.0, 4.0, 5.0], [2.5, 3.5, 6.0, 7.0]),
        ks_case("large gap", rng.normal(0, 1, 50), rng.normal(3, 1, 60)),
    ]
    chi2 = [
        chi2_case("binary, similar", [400, 100], [380, 120]),
        chi2_case("binary, shifted", [400, 100], [300, 200]),
        chi2_case("payer mix", [120, 300, 60, 20], [160, 250, 70, 40]),
        chi2_case("new category", [50, 50, 0], [40, 45, 15]),
        chi2_case("many categories", [30, 25, 20, 15, 10, 5, 3, 2], [28, 27, 18, 17, 9, 6, 4, 1]),
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    doc = {"scipy": scipy.__version__, "numpy": np.__version__, "ks": ks, "chi2": chi2}
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
