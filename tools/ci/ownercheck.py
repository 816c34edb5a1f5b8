#!/usr/bin/env python3
"""ownercheck.py -- every public call that takes a heap or an object checks
the calling thread in debug builds (T1, docs/ARCHITECTURE.md "Threads").

Reads the public declarations (INCLUDE/**/*.h, marked RC_API) and keeps the
functions with a parameter that is a heap (`rc_heap *`), an object (`void *`,
`rc_list *`, `rc_weakref *`, ...) or a table bound to a heap (`rc_domtree *`,
`rc_refindex *`, `rc_mark *`, `rc_growth *`, `rc_chain *const *`). Then
reads every function defined in SRC (and the static inline ones of its
headers) and finds those that check: their body names RC__HEAP_CHECK,
RC__CHECK or rc__check, or calls a function that checks (to a fixed
point). Fails, naming each, when a kept public function does not check and
is not in ALLOWED below with its reason.

usage: ownercheck.py --include INCLUDE --src SRC
"""
import argparse, os, re, sys

# Public calls that take a heap or an object and check nothing, and why.
ALLOWED = {
    "rc__refcount_overflow": "reports a check that failed",
    "rc__check": "the object check itself",
    "rc_heap_of": "an address computation (the library uses it on dying objects too)",
    "rc_heap_acquire": "the caller does not hold the heap yet: that is the point",
    "rc_heap_leak_report_print": "prints rows it is given; reads nothing of the heap",
}

CHECKS = re.compile(r'\b(RC__HEAP_CHECK|RC__CHECK|rc__check)\s*\(')
COMMENT = re.compile(r'/\*.*?\*/|//[^\n]*', re.S)
DECL = re.compile(r'RC_API\s+[^;{(]*?\b(\w+)\s*\(([^)]*)\)\s*;', re.S)
DEF = re.compile(r'^(?:static\s+)?(?:inline\s+)?(?:RC_INLINE\s+)?[A-Za-z_][\w \t*]*?\b(\w+)\s*\(([^;{)]*)\)\s*\{',
                 re.M)
CALL = re.compile(r'\b([A-Za-z_]\w*)\s*\(')
HEAP_PARAM = re.compile(r'\brc_heap\s*\*|\bvoid\s*\*(?!\s*\*)\s*\w*\s*(,|$)|'
                        r'\brc_(list|dict|str|tuple|weakref|weakdict|weakkeydict|weakset|finalize|'
                        r'domtree|refindex|mark|growth)\s*\*|\brc_chain\s*\*\s*const\s*\*')


def files(top, ext):
    for d, dirs, fs in os.walk(top):
        dirs.sort()
        for f in sorted(fs):
            if f.endswith(ext):
                yield os.path.join(d, f)


def public(include):
    out = {}
    for path in files(include, ".h"):
        text = COMMENT.sub(" ", open(path).read())
        for m in DECL.finditer(text):
            params = [p.strip() for p in m.group(2).split(",")]
            if any(HEAP_PARAM.search(p + ",") for p in params if p != "void"):
                out[m.group(1)] = path
    return out


def definitions(src):
    bodies = {}
    for ext in (".c", ".h"):
        for path in files(src, ext):
            text = COMMENT.sub(" ", open(path).read())
            for m in DEF.finditer(text):
                i, depth = m.end(), 1
                while depth and i < len(text):
                    depth += {"{": 1, "}": -1}.get(text[i], 0)
                    i += 1
                bodies.setdefault(m.group(1), []).append(text[m.end():i])
    return bodies


def checking(bodies):
    calls = {n: set(c for b in bs for c in CALL.findall(b)) for n, bs in bodies.items()}
    ok = {n for n, bs in bodies.items() if any(CHECKS.search(b) for b in bs)}
    grew = True
    while grew:
        grew = False
        for n, cs in calls.items():
            if n not in ok and cs & ok:
                ok.add(n)
                grew = True
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--include", required=True)
    ap.add_argument("--src", required=True)
    a = ap.parse_args()
    pub = public(a.include)
    bodies = definitions(a.src)
    ok = checking(bodies)
    bad = []
    for name in sorted(pub):
        if name in ALLOWED or name in ok:
            continue
        why = "not defined in " + a.src if name not in bodies else "checks no owner"
        bad.append("%s (%s): %s" % (name, pub[name], why))
    for name in sorted(ALLOWED):
        if name not in pub:
            bad.append("%s: allowed in ownercheck.py but no public call takes a heap by that name"
                       % name)
    if bad:
        print("ownercheck: public calls that take a heap or an object must check the calling "
              "thread in debug builds (RC__HEAP_CHECK, RC__CHECK):")
        for b in bad:
            print("  " + b)
        return 1
    print("ownercheck: %d public calls that take a heap or an object check the owner" % len(pub))
    return 0


if __name__ == "__main__":
    sys.exit(main())
