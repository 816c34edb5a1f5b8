#!/usr/bin/env python3
"""layers.py -- the layer rule of docs/ARCHITECTURE.md ("Layers").

A file in layer N may include headers of layers <= N (public headers count
as the layer they belong to) and may reference only symbols defined in
layers <= N. Checked here:
  (a) every .c/.h under src/ sits in a layer folder;
  (b) #include edges, from the sources; tools/, bench/ and examples/ may
      include public headers only;
  (c) references, from `nm` on the library's object files in BUILD: an
      undefined symbol of src/<layer>/x.c.o defined in a higher layer.
The check fails on any violation. --includes-only skips (c) (no build
needed: the lint test that proves the check fails on a planted upward
include uses it).

usage: layers.py [--src SRC] [--build BUILD] [--nm NM] [--includes-only] [--print]
"""
import argparse, os, re, subprocess, sys

LAYERS = ["core", "util", "collector", "builtins", "weakref", "gcmodule", "leak"]
RANK = {layer: i + 1 for i, layer in enumerate(LAYERS)}
PUBLIC = {"recycle.h": "core", "recycle/memory.h": "util", "recycle/builtins.h": "builtins",
          "recycle/weakref.h": "weakref", "recycle/gc.h": "gcmodule", "recycle/leak.h": "leak"}
PUBLIC_ONLY = ["tools", "bench", "examples"]
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^">]+)[">]', re.M)


def sources(top, exts=(".c", ".h")):
    for d, dirs, files in os.walk(top):
        dirs.sort()
        for f in sorted(files):
            if f.endswith(exts):
                yield os.path.join(d, f)


def edge(rel, verb, name, to, frm):
    return f"{rel}: {verb} {name} ({to}, rank {RANK[to]} > {frm}, rank {RANK[frm]})"


def placement(src):
    for path in sources(src):
        parts = os.path.relpath(path, src).split(os.sep)
        if len(parts) != 2 or parts[0] not in RANK:
            yield f"{path}: not in a layer folder ({', '.join(LAYERS)})"


def private(path, name, src):
    """The folder under src/ of an included private header, else None."""
    for d in (os.path.dirname(path), src):
        p = os.path.normpath(os.path.join(d, name))
        if os.path.isfile(p) and not os.path.relpath(p, src).startswith(".."):
            return os.path.relpath(p, src).split(os.sep)[0]
    return None


def includes(src):
    for path in sources(src):
        frm = os.path.relpath(path, src).split(os.sep)[0]
        for name in INCLUDE.findall(open(path, encoding="utf-8").read()):
            to = private(path, name, src) or PUBLIC.get(name)
            if frm in RANK and to in RANK and RANK[to] > RANK[frm]:
                yield edge(path, "includes", name, to, frm)
    for path in (p for top in PUBLIC_ONLY for p in sources(top)):
        for name in INCLUDE.findall(open(path, encoding="utf-8").read()):
            if private(path, name, src):
                yield f"{path}: includes {name} (a private header of src/)"


def symbols(nm, obj, *flags):
    out = subprocess.run([nm, *flags, obj], check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 2:
            yield f[-2], f[-1]          # type letter, name


def calls(src, build, nm):
    objdir = os.path.join(build, "CMakeFiles", "recycle_obj.dir", "src")
    objs = [(layer, o) for layer in LAYERS if os.path.isdir(os.path.join(objdir, layer))
            for o in sorted(os.listdir(os.path.join(objdir, layer))) if o.endswith(".o")]
    if not objs:
        sys.exit(f"layers.py: no object files under {objdir} (build the library first)")
    defined = {}
    for layer, o in objs:
        for kind, name in symbols(nm, os.path.join(objdir, layer, o), "--defined-only", "-g"):
            defined[name] = (layer, kind)
    for layer, o in objs:
        rel = os.path.join(src, layer, o[:-2])          # alloc.c.o -> src/core/alloc.c
        for kind, name in symbols(nm, os.path.join(objdir, layer, o), "-u"):
            to, what = defined.get(name, (None, ""))
            if to and RANK[to] > RANK[layer]:
                yield edge(rel, "calls" if what in "TtWw" else "uses", name, to, layer)


def main():
    ap = argparse.ArgumentParser(description="check the layer rule")
    ap.add_argument("--src", default="src")
    ap.add_argument("--build", default="build")
    ap.add_argument("--nm", default="nm")
    ap.add_argument("--includes-only", action="store_true", help="skip the references (no build)")
    ap.add_argument("--print", action="store_true", help="print every violation, check nothing")
    a = ap.parse_args()
    src, build = os.path.abspath(a.src), os.path.abspath(a.build)
    os.chdir(os.path.dirname(src))          # paths print as src/core/object.c
    src = os.path.basename(src)
    found = list(placement(src)) + list(includes(src))
    if not a.includes_only:
        found += list(calls(src, build, a.nm))
    print("\n".join(found) if found else "", end="\n" if found else "")
    if a.print:
        return 0
    print(f"layers: {len(found)} violations")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
