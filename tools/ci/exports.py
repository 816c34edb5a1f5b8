#!/usr/bin/env python3
"""exports.py -- the shared library exports exactly the public API.

Reads the declarations of the public headers (INCLUDE/*.h and
INCLUDE/*/*.h: every function prototype and `extern` variable outside a
`static` definition) and the dynamic symbols the shared library LIB defines
(`nm -D --defined-only`). Fails when
  (a) the library exports a symbol no header declares (an internal function
      escaped: the library is built with hidden visibility, so it lacks
      -fvisibility=hidden or carries a stray visibility attribute), or
  (b) a header declares a name the library does not export (a declaration
      without RC_API, or a function declared but never defined), or
  (c) a declaration does not carry RC_API.

usage: exports.py --lib LIB --include INCLUDE [--nm NM] [--print]
       exports.py --mark --include INCLUDE
  --print   list the exported symbols and stop
  --mark    put RC_API before each declaration that lacks it (after a merge
            brought new declarations in), then stop
"""
import argparse, os, re, subprocess, sys

# Symbols the toolchain puts in every shared library.
TOOLCHAIN = {"_init", "_fini", "_edata", "_end", "__bss_start"}
COMMENT = re.compile(r'/\*.*?\*/|//[^\n]*', re.S)
IDENT = re.compile(r'[A-Za-z_]\w*')


def headers(top):
    for d, dirs, files in os.walk(top):
        dirs.sort()
        for f in sorted(files):
            if f.endswith(".h"):
                yield os.path.join(d, f)


def statements(text):
    """Top-level statements of a header, brace bodies removed."""
    text = COMMENT.sub(" ", text)
    # extern "C" { ... } around the header: only its braces go.
    text = re.sub(r'#ifdef\s+__cplusplus.*?#endif', " ", text, flags=re.S)
    text = "\n".join(l for l in text.split("\n") if not l.lstrip().startswith("#"))
    out, cur, depth = [], [], 0
    for ch in text:
        if ch == "{":
            depth += 1
            if depth == 1:
                cur.append(" {} ")
            continue
        if ch == "}":
            depth -= 1
            if depth == 0 and "(" in "".join(cur) and "=" not in "".join(cur):
                out.append("".join(cur))    # a function body ends the statement
                cur = []
            continue
        if depth:
            continue
        if ch == ";":
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    return [" ".join(s.split()) for s in out if s.strip()]


def declarations(path):
    """(name, has RC_API) for each function prototype and extern variable."""
    found = []
    for s in statements(open(path, encoding="utf-8").read()):
        words = IDENT.findall(s)
        if not words or words[0] == "typedef" or "static" in words or "{}" in s:
            continue
        if "(" in s and not s.startswith(("struct", "enum", "union")) or "extern" in words:
            head = s.split("(")[0] if "(" in s and "extern" not in words else s
            name = IDENT.findall(head)[-1]
            found.append((name, "RC_API" in words))
    return found


def mark(path, names):
    """Prefix RC_API to the line where each declaration of `names` starts."""
    lines = open(path, encoding="utf-8").read().split("\n")
    done = set()
    for i, line in enumerate(lines):
        for name in names - done:
            if re.match(r'(extern\b.*\b%s\s*(\[[^]]*\])?\s*;|[A-Za-z_][^;(]*\b%s\s*\()' % (name, name), line):
                lines[i] = "RC_API " + line
                done.add(name)
                break
    open(path, "w", encoding="utf-8").write("\n".join(lines))
    return names - done


def exported(lib, nm):
    out = subprocess.run([nm, "-D", "--defined-only", lib], check=True,
                         capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[2] not in TOOLCHAIN:
            names.add(parts[2].split("@")[0])
    return names


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib")
    ap.add_argument("--include", required=True)
    ap.add_argument("--nm", default="nm")
    ap.add_argument("--print", action="store_true")
    ap.add_argument("--mark", action="store_true")
    a = ap.parse_args()
    if a.mark:
        left = 0
        for h in headers(a.include):
            todo = {name for name, marked in declarations(h) if not marked}
            for name in sorted(mark(h, todo) if todo else ()):
                print(f"exports.py: {h}: could not find where {name} is declared: mark it by hand")
                left += 1
            for name in sorted(todo):
                print(f"exports.py: {h}: RC_API added to {name}")
        return 1 if left else 0
    if not a.lib:
        ap.error("--lib is required")
    have = exported(a.lib, a.nm)
    if a.print:
        print("\n".join(sorted(have)))
        return 0
    declared, unmarked = {}, []
    for h in headers(a.include):
        rel = os.path.relpath(h, a.include)
        for name, marked in declarations(h):
            declared[name] = rel
            if not marked:
                unmarked.append((rel, name))
    stray = sorted(have - set(declared))
    missing = sorted(set(declared) - have)
    for name in stray:
        print(f"exports.py: {os.path.basename(a.lib)} exports {name}, which no public header declares")
    for name in missing:
        print(f"exports.py: {declared[name]} declares {name}, which {os.path.basename(a.lib)} does not export")
    for rel, name in unmarked:
        print(f"exports.py: {rel}: {name} is declared without RC_API")
    if stray or missing or unmarked:
        return 1
    print(f"exports.py: {len(have)} symbols exported, each declared in {a.include}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
