#!/usr/bin/env python3
"""A prediction log of N lines as `carelab serve --log` writes them (one
JSON object a line: time, model, version, patient, stay, features, score,
flagged), made by cycling through an analysis table's rows, with the
generator's true risk as the served score and discharge times spread over
2025; and labels.csv (stay, readmit_30d) for every line.

    python3 scripts/make-prediction-log.py DATA_DIR 1000000 log.jsonl labels.csv
"""
import csv, json, sys, datetime as dt
data, n, out, labels = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
truth = {r["encounter_id"]: float(r["true_risk"]) for r in csv.DictReader(open(f"{data}/truth/stays.csv"))}
skip = {"stay_id", "patient_id", "admit_time", "discharge_time", "readmit_30d"}
rows = list(csv.DictReader(open(f"{data}/analysis.csv")))
start = dt.datetime(2025, 1, 1)
with open(out, "w") as f, open(labels, "w") as l:
    l.write("stay,readmit_30d\n")
    for i in range(n):
        r = rows[i % len(rows)]
        feats = {}
        for k, v in r.items():
            if k in skip or v == "":
                continue
            try:
                feats[k] = float(v)
            except ValueError:
                feats[k] = v
        score = truth[r["stay_id"]]
        t = start + dt.timedelta(seconds=int(i * 365 * 86400 / n))
        f.write(json.dumps({"time": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "model": "readmission", "version": "1",
                            "patient": None, "stay": f"S{i:07d}", "features": feats,
                            "score": score, "flagged": score >= 0.0859}) + "\n")
        l.write(f"S{i:07d},{r['readmit_30d']}\n")
