#!/usr/bin/env python3
"""Write datasets/places/not-towns.txt from the English names of the Unicode
Common Locale Data Repository (CLDR), as packaged in Babel (PyPI; BSD
licence; CLDR data under the Unicode licence).

Usage: scripts/not-towns-from-cldr.py > datasets/places/not-towns.txt
  (with Babel installed: pip install babel==2.19.0)

Written: the English names of CLDR's territories (countries, regions,
continents: "Germany", "Puerto Rico", "Western Europe"), languages
("Welsh", "Malayalam", "Dholuo" is none of them: CLDR calls it "Luo"),
months and weekdays; names of one to three words, one a line, sorted.
The scrubber reads a capitalised run after "in", "near" or "from" that no
gazetteer lists as a town unless it is, or begins with, one of these
("answers in French", "killed in Korea": no identifier below the state).
"""
import re

import babel
from babel import Locale

en = Locale("en")
names = set(en.territories.values()) | set(en.languages.values())
names |= set(en.months["format"]["wide"].values())
names |= set(en.days["format"]["wide"].values())
kept = sorted(
    n
    for n in names
    if re.fullmatch(r"[^\W\d_][\w'’.-]*(?: [^\W\d_][\w'’.-]*){0,2}", n) and n[0].isupper()
)
print(f"# CLDR's English names of territories, languages, months and weekdays (Babel {babel.__version__})")
print("\n".join(kept))
