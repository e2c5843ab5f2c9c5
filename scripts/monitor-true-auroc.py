#!/usr/bin/env python3
"""Per window (N days from the first discharge day, as `carelab monitor
--window N-days` counts them): rows, the generator's true AUROC (its own
risk against the drawn outcomes), and the monitor's estimated and realised
AUROC from report.json.

    python3 scripts/monitor-true-auroc.py DATA_DIR MONITOR_OUT/report.json DAYS
"""
import csv, json, sys, datetime as dt

def auroc(s, y):
    pairs = sorted(zip(s, y))
    n = len(pairs); pos = sum(y); neg = n - pos
    if pos == 0 or neg == 0: return None
    rank_sum = 0.0; i = 0
    while i < n:
        j = i
        while j + 1 < n and pairs[j + 1][0] == pairs[i][0]: j += 1
        r = (i + j) / 2 + 1
        rank_sum += r * sum(p[1] for p in pairs[i:j + 1]); i = j + 1
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg)

data, report, days = sys.argv[1], sys.argv[2], int(sys.argv[3])
truth = {r["encounter_id"]: (float(r["true_risk"]), int(r["readmit_30d"])) for r in csv.DictReader(open(f"{data}/truth/stays.csv"))}
rows = []
for r in csv.DictReader(open(f"{data}/analysis.csv")):
    t = dt.datetime.fromisoformat(r["discharge_time"]).date()
    risk, y = truth[r["stay_id"]]
    assert y == int(r["readmit_30d"])
    rows.append((t, risk, y))
first = min(t for t, _, _ in rows)
win = {}
for t, risk, y in rows:
    win.setdefault((t - first).days // days, []).append((risk, y))
rep = json.load(open(report))
print("| window | rows | estimated AUROC (± 3 sd) | realised AUROC | true AUROC (generator's risk) |")
print("|---|---|---|---|---|")
for k, w in zip(sorted(win), rep["windows"]):
    s, y = zip(*win[k])
    assert len(s) == w["rows"], (len(s), w["rows"])
    e = w["estimate"]
    print(f"| {w['window']['label']} | {len(s)} | {e['estimated']['auroc']:.3f} ± {3*e['sd']['auroc']:.3f} | {e['realised']['auroc']:.3f} | {auroc(s, y):.3f} |")
