#!/usr/bin/env python3
"""dupcheck.py -- one implementation of each mechanism: finds code written twice.

Every .c/.h under SRC is reduced to its meaningful lines (comments stripped,
whitespace collapsed, blank and trivial lines dropped: braces, break;,
continue;, else, return of a constant, #endif). Every window of WINDOW
consecutive such lines is hashed; a window found at two places (in two
files, or WINDOW or more lines apart in one) is a duplicate, and the check
fails on any. --loose also replaces names, numbers and strings by
placeholders and prints what it finds without failing: near-copies to read
by eye.

usage: dupcheck.py [SRC] [--loose]
"""
import argparse, hashlib, os, re, sys

WINDOW = 6
TOKENS = re.compile(r'"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|/\*.*?\*/|//[^\n]*', re.S)
TRIVIAL = re.compile(r'^(\{|\}|\};|\} else \{|else|break;|continue;|#endif.*'
                     r'|return( -?\w+| NULL| true| false)?;)$')
KEYWORDS = set("""auto break case char const continue default do double else enum extern
float for goto if inline int long register restrict return short signed sizeof static
struct switch typedef union unsigned void volatile while size_t NULL""".split())


def strip_comments(text):
    # A comment becomes its newlines (line numbers stay true); strings stay.
    return TOKENS.sub(lambda m: m.group(0) if m.group(0)[0] in "\"'"
                      else "\n" * m.group(0).count("\n"), text)


def loosen(line):
    line = re.sub(r'"(?:\\.|[^"\\])*"', '"S"', line)
    line = re.sub(r"\b\d\w*\b", "N", line)
    return re.sub(r"\b[A-Za-z_]\w*\b", lambda m: m.group(0) if m.group(0) in KEYWORDS else "I", line)


def lines_of(path, loose):
    text = strip_comments(open(path, encoding="utf-8").read())
    for n, line in enumerate(text.split("\n"), 1):
        line = " ".join(line.split())
        if line and not TRIVIAL.match(line):
            yield n, loosen(line) if loose else line


def duplicates(src, loose):
    """{hash: [(file, first line number, text)]} for windows seen twice."""
    seen = {}
    for d, dirs, files in sorted(os.walk(src)):
        dirs.sort()
        for f in sorted(x for x in files if x.endswith((".c", ".h"))):
            path = os.path.join(d, f)
            ls = list(lines_of(path, loose))
            for i in range(len(ls) - WINDOW + 1):
                text = "\n".join(t for _, t in ls[i:i + WINDOW])
                h = hashlib.sha1(text.encode()).hexdigest()[:12]
                places = seen.setdefault(h, [])
                if all(p != path or i - j >= WINDOW for p, _, _, j in places):
                    places.append((path, ls[i][0], ls[i][1], i))   # i: overlap test
    return {h: [x[:3] for x in p] for h, p in seen.items() if len(p) > 1}


def main():
    ap = argparse.ArgumentParser(description="find code written twice")
    ap.add_argument("src", nargs="?", default="src")
    ap.add_argument("--loose", action="store_true", help="placeholders for names; report only")
    a = ap.parse_args()
    src = os.path.abspath(a.src)
    os.chdir(os.path.dirname(src))          # paths print as src/leak/trace.c
    src = os.path.basename(src)
    dups = duplicates(src, a.loose)
    for h in sorted(dups, key=lambda h: dups[h]):
        where = ", ".join(f"{p}:{n}" for p, n, _ in dups[h])
        print(f"{where}: the same {WINDOW} lines ({h}), starting: {dups[h][0][2]}")
    print(f"dupcheck: {len(dups)} duplicated windows")
    return 0 if a.loose or not dups else 1


if __name__ == "__main__":
    sys.exit(main())
