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

Two-proportion z-test (pooled): z from the textbook formula, the two-sided
p-value from scipy.stats.norm.sf. Wasserstein: scipy.stats.wasserstein_distance
divided by the reference's population standard deviation (floored at 0.001),
Evidently's normed form. Jensen-Shannon: scipy.spatial.distance.jensenshannon
(natural logarithm) of the two count vectors.
"""

import json
import pathlib

import numpy as np
import scipy
from scipy import stats
from scipy.spatial import distance

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


def z_case(name, reference, current):
    (r0, r1), (c0, c1) = reference, current
    n1, n2 = r0 + r1, c0 + c1
    pooled = (r1 + c1) / (n1 + n2)
    z = (c1 / n2 - r1 / n1) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    p = 2 * stats.norm.sf(abs(z))
    return {"name": name, "reference": [float(r0), float(r1)], "current": [float(c0), float(c1)],
            "statistic": float(z), "p_value": float(p)}


def wasserstein_case(name, a, b):
    # four decimals keep the fixture file small; the values are exact as written
    a = np.round(np.asarray(a, dtype=np.float64), 4)
    b = np.round(np.asarray(b, dtype=np.float64), 4)
    d = stats.wasserstein_distance(a, b) / max(np.std(a), 0.001)
    return {"name": name, "a": a.tolist(), "b": b.tolist(), "distance": float(d)}


def js_case(name, reference, current):
    d = distance.jensenshannon(np.asarray(reference, float), np.asarray(current, float))
    return {"name": name, "reference": list(map(float, reference)),
            "current": list(map(float, current)), "distance": float(d)}


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
    z = [
        z_case("similar", [400, 100], [380, 120]),
        z_case("shifted", [700, 300], [500, 500]),
        z_case("small", [18, 7], [12, 13]),
        z_case("fewer", [900, 100], [960, 40]),
    ]
    wasserstein = [
        wasserstein_case("same normal", rng.normal(0, 1, 2000), rng.normal(0, 1, 1500)),
        wasserstein_case("shifted normal", rng.normal(5, 2, 3000), rng.normal(5.4, 2, 2500)),
        wasserstein_case("creatinine-like recalibration", rng.lognormal(0, 0.3, 4000), rng.lognormal(0, 0.3, 3000) * 1.25),
        wasserstein_case("ties (integers)", rng.poisson(2, 1200), rng.poisson(2.3, 900)),
        wasserstein_case("constant reference", [1.0] * 50, [1.0] * 40 + [1.002] * 10),
    ]
    js = [
        js_case("same", [500, 300, 200], [510, 290, 200]),
        js_case("payer mix", [1200, 3000, 600, 200], [1600, 2500, 700, 400]),
        js_case("new category", [5000, 5000, 0], [4000, 4500, 1500]),
        js_case("binary", [9000, 1000], [8500, 1500]),
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    doc = {"scipy": scipy.__version__, "numpy": np.__version__, "ks": ks, "chi2": chi2,
           "z": z, "wasserstein": wasserstein, "jensenshannon": js}
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
