#!/usr/bin/env python3
"""Write datasets/names/world-first-names.txt and world-surnames.txt from the
person providers of Faker (PyPI `faker` 40.63.0, MIT licence): the first
names and surnames of its 80-odd locales that are written in the Latin
alphabet.

Usage: scripts/names-from-faker.py PATH/TO/site-packages DICT > /dev/null
  PATH/TO/site-packages  where `faker` is installed (or its wheel unpacked)
  DICT                   an English word list, one word a line (Debian's
                         `wamerican`: /usr/share/dict/american-english)

Each name is written as `fold_lower` in src/deid/names.rs reads a word:
lower case, accents dropped. Left out: names already on the 1990 census
lists (first-names.txt, surnames.txt), names of fewer than three letters,
names that are a lower-case word of DICT (can, will, gravel, hope: in a
note those are words far more often than names), months and weekdays and
their abbreviations (November and Jan are names in some locales, dates in
a note), the towns of datasets/places/towns.txt (Boston, London,
Brooklyn: a town there, labelled as one), the words of not-names.txt,
and the scales and abbreviations of a note that are names somewhere
(Braden, Barthel, Tinetti, Waterlow; Hosp).
"""
import importlib
import pkgutil
import re
import sys
import unicodedata
from pathlib import Path

site, english_words = sys.argv[1], sys.argv[2]
sys.path.insert(0, site)
import faker.providers.person as person  # noqa: E402

root = Path(__file__).resolve().parent.parent
names_dir = root / "datasets/names"


def fold(s):
    return "".join(
        c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c)
    ).lower()


def words(path):
    out = set()
    for line in path.read_text().splitlines():
        out.update(line.split("#")[0].split())
    return out


# one capitalised word, or two joined by a hyphen (Jean-Luc), in Latin letters
NAME = re.compile(
    r"[A-ZÀ-ÖØ-ÞĀ-ſ][a-zà-öø-ÿĀ-ſ'’]+(?:-[A-ZÀ-ÖØ-ÞĀ-ſ][a-zà-öø-ÿĀ-ſ'’]+)?"
)
english = {w.strip() for w in open(english_words) if w.strip().islower()}
not_names = words(names_dir / "not-names.txt")
towns = {fold(t) for t in (root / "datasets/places/towns.txt").read_text().splitlines()}
# not on not-names.txt, which the learned detector's training also reads
scales = {"braden", "barthel", "tinetti", "waterlow", "hosp"}
calendar = {
    m.lower()
    for m in """January February March April May June July August September
    October November December Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec
    Monday Tuesday Wednesday Thursday Friday Saturday Sunday Mon Tue Tues Wed
    Thu Thur Thurs Fri Sat Sun""".split()
}
lists = {
    "world-first-names.txt": (
        ("first_names", "first_names_male", "first_names_female", "first_names_nonbinary"),
        words(names_dir / "first-names.txt"),
    ),
    "world-surnames.txt": (("last_names",), words(names_dir / "surnames.txt")),
}
found = {file: set() for file in lists}
for module in pkgutil.iter_modules(person.__path__):
    if not module.ispkg:
        continue
    provider = importlib.import_module(f"faker.providers.person.{module.name}").Provider
    for file, (attrs, _) in lists.items():
        for attr in attrs:
            values = getattr(provider, attr, None)
            if values is None or isinstance(values, property):
                continue
            for name in values:  # a tuple, or a dict of name -> weight
                if isinstance(name, str) and NAME.fullmatch(name):
                    found[file].add(fold(name))
for file, (_, census) in lists.items():
    kept = sorted(
        n
        for n in found[file]
        if len(n) >= 3 and n not in census and n not in english and n not in not_names
        and n not in calendar
        and n not in towns
        and n not in scales
    )
    (names_dir / file).write_text("\n".join(kept) + "\n")
    print(f"{file}: {len(kept)} names", file=sys.stderr)
