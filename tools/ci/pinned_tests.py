#!/usr/bin/env python3
"""pinned_tests.py DOC.md TESTS_DIR

Every test a table row of DOC names (a `name` in the last column of a table
whose header's last column is "pinned by" or "test") must exist as
TEST(name) in TESTS_DIR. A row naming no test says so in words (no
backticks). Exit 1, naming each missing test, when one is absent."""
import os
import re
import sys


def main():
    doc, tests = sys.argv[1:3]
    defined = set()
    for f in os.listdir(tests):
        if f.endswith((".c", ".cpp")):
            text = open(os.path.join(tests, f), encoding="utf-8").read()
            defined.update(re.findall(r"^TEST\((\w+)\)", text, re.M))
    missing, named, in_table = [], 0, False
    for n, line in enumerate(open(doc, encoding="utf-8"), 1):
        if not line.startswith("|"):
            in_table = False
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not in_table:
            in_table = cells[-1] in ("pinned by", "test")
            pinned = in_table
            continue
        if not pinned or set(cells[-1]) <= set("-: "):
            continue
        for name in re.findall(r"`(\w+)`", cells[-1]):
            named += 1
            if name not in defined:
                missing.append(f"{os.path.basename(doc)}:{n}: no TEST({name}) in {tests}")
    for m in missing:
        print(m)
    print(f"{named} tests named, {len(missing)} missing")
    return 1 if missing or named == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
