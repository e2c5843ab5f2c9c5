#!/usr/bin/env python3
"""Validate every message of an HL7 v2 feed with hl7apy in strict mode.

Usage: $PEERS_VENV/bin/python scripts/validate-hl7.py FEED [FEED ...]

An independent check of CareLab's writer: each message is parsed with
hl7apy's STRICT validation level (segments grouped per the abstract message
definition of its MSH-9.3 structure and MSH-12 version) and then validated
(cardinality of segments, groups and fields, data types, lengths). Prints
one line per rejected message (file, message number, hl7apy's reason) and a
summary line. Exit status 0 when no message is rejected, 1 otherwise, 2 on
a usage error or a missing hl7apy.

Messages are split at each MSH segment; CR, LF and CRLF all end a segment,
so a feed with a newline between messages reads the same.
"""

import sys

try:
    from hl7apy.consts import VALIDATION_LEVEL
    from hl7apy.parser import parse_message
except ImportError as e:  # the caller decides whether a missing peer is fatal
    print(f"validate-hl7: hl7apy is not installed ({e})", file=sys.stderr)
    sys.exit(2)


def messages(text):
    """The feed's messages, each as CR-separated segments."""
    current = []
    for segment in text.replace("\r\n", "\r").replace("\n", "\r").split("\r"):
        if not segment.strip():
            continue
        if segment.startswith("MSH") and current:
            yield "\r".join(current)
            current = []
        current.append(segment)
    if current:
        yield "\r".join(current)


def reason(error):
    """hl7apy's exception as one line: its class and message, with the
    text it quotes (a value too long, a child it could not place: names,
    note text) replaced by its length, so no PHI reaches the output."""
    text = str(error)
    for attr in ("value", "child"):
        quoted = getattr(error, attr, None)
        if isinstance(quoted, str) and quoted:
            text = text.replace(quoted, f"<a value of {len(quoted)} characters>")
    text = " ".join(text.split()) or repr(error)
    return f"{type(error).__name__}: {text}"


def check(message):
    """None when hl7apy accepts the message, else its reason."""
    try:
        parsed = parse_message(
            message, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True
        )
        parsed.validate()
    except Exception as e:  # every hl7apy failure is a rejection
        return reason(e)
    return None


def main(paths):
    if not paths:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    total = rejected = 0
    for path in paths:
        with open(path, encoding="utf-8", newline="") as f:
            text = f.read()
        for number, message in enumerate(messages(text), start=1):
            total += 1
            why = check(message)
            if why is not None:
                rejected += 1
                print(f"{path}: message {number}: {why}")
    print(f"validate-hl7: {total} messages, {rejected} rejected, {total - rejected} valid")
    return 1 if rejected else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
