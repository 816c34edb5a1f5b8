#!/usr/bin/env python3
"""doc_snippets.py [--list] --include DIR --lib LIBRARY --cc CC [--cxx CXX] FILE.md...

Every fenced ```c and ```cpp block of the given Markdown files compiles
(warnings are errors) and runs cleanly under AddressSanitizer, LeakSanitizer
and UBSan, so a reader who pastes a snippet gets code that works and frees
what it makes.

A block may be preceded by an HTML comment that says how it is checked (only
blank lines may stand between the comment and the fence):

    <!-- doc-test: MODE
    hidden code placed before the block
    ---
    hidden code placed after the block
    -->

MODE is one of
    program   a whole program (the default for a block that defines main)
    decl      top-level declarations: kept, with their hidden code, as the
              context of the file's later decl and body blocks
    body      statements: run inside main, after the file's context, with
              `rc_heap *heap = rc_heap_new(NULL)` made before and freed after
    skip: R   not compiled; R says why (printed, so it stays visible)
Hidden code in three parts ("top --- before --- after") has a top part that
goes at file level and stays, like a decl block, for the file's later blocks.
A block without a comment that is not a program fails the check: every
snippet is tested or says why not. A line that is only "..." stands for code
the reader supplies and is dropped.

Exit status (without --expect-failures N): 0 when every block passed, 1 when one failed, 77 (skipped) when
the C compiler cannot build a sanitized program here."""
import argparse
import os
import re
import subprocess
import sys
import tempfile

DIRECTIVE = re.compile(r"<!--\s*doc-test:\s*(program|decl|body|skip:[^\n]*)\n?(.*?)-->", re.S)
FENCE = re.compile(r"^```(c|cpp)[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)
HEAD = {
    "c": "#include <stddef.h>\n#include <stdint.h>\n#include <stdio.h>\n#include <stdlib.h>\n"
         "#include <string.h>\n#include <recycle.h>\n",
    "cpp": "#include <cstddef>\n#include <cstdio>\n#include <recycle.h>\n",
}
SAN = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
WARN = ["-Wall", "-Wextra", "-Werror", "-Wno-unused-variable", "-Wno-unused-but-set-variable",
        "-Wno-unused-function", "-Wno-unused-parameter"]


class Block:
    def __init__(self, path, line, lang, code):
        self.path, self.line, self.lang, self.code = path, line, lang, code
        self.mode, self.top, self.before, self.after = None, "", "", ""

    def where(self):
        return f"{os.path.basename(self.path)}:{self.line}"


def blocks_of(path):
    text = open(path, encoding="utf-8").read()
    out = []
    for m in FENCE.finditer(text):
        code = "\n".join(l for l in m.group(2).split("\n") if l.strip() != "...")
        b = Block(path, text.count("\n", 0, m.start()) + 1, m.group(1), code)
        prefix = text[:m.start()]
        d = DIRECTIVE.match(prefix, max(prefix.rfind("<!--"), 0))
        if d and not prefix[d.end():].strip():
            b.mode = d.group(1).strip()
            # hidden code: "before", "before --- after" or "top --- before --- after"
            parts = [[]]
            for line in d.group(2).split("\n"):
                if line.strip() == "---":
                    parts.append([])
                else:
                    parts[-1].append(line)
            parts = ["\n".join(p) for p in parts]
            if len(parts) > 3:
                b.mode = "malformed: more than two --- lines"
            else:
                parts = ([""] * (3 - len(parts)) + parts) if len(parts) == 3 else \
                    [""] + parts + [""] * (2 - len(parts))
                b.top, b.before, b.after = parts
        elif re.search(r"\bint\s+main\s*\(", code):
            b.mode = "program"
        out.append(b)
    return out


def source(b, context):
    """The C or C++ text that checks block b, after the file's context."""
    top = HEAD[b.lang] + (context if b.lang == "c" else b.top) + "\n"
    if b.mode in ("program", "decl"):
        main = "\nint main(void) { return 0; }\n" if b.mode == "decl" else ""
        return top + b.before + "\n" + b.code + "\n" + b.after + "\n" + main
    return (top + "\nint main(void)\n{\n    rc_heap *heap = rc_heap_new(NULL);\n"
            "    if (!heap) return 2;\n    {\n" + b.before + "\n" + b.code + "\n" + b.after +
            "\n    }\n    rc_heap_free(heap);\n    return 0;\n}\n")


def run(cmd, cwd=None, env=None):
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def can_sanitize(cc, tmp):
    src = os.path.join(tmp, "probe.c")
    with open(src, "w") as f:
        f.write("int main(void) { return 0; }\n")
    r = run([cc] + SAN + [src, "-o", os.path.join(tmp, "probe")])
    return r.returncode == 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--include", required=True)
    ap.add_argument("--lib", required=True)
    ap.add_argument("--cc", required=True)
    ap.add_argument("--cxx", default="")
    ap.add_argument("--list", action="store_true", help="print each block's mode and stop")
    ap.add_argument("--expect-failures", type=int, default=None,
                    help="pass only when exactly this many blocks fail (planted fixtures)")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    files = [f for f in a.files]
    if a.list:
        for path in files:
            for b in blocks_of(path):
                print(f"{b.where()} {b.lang} {b.mode}")
        return 0
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
    failed = checked = 0
    with tempfile.TemporaryDirectory() as tmp:
        if not can_sanitize(a.cc, tmp):
            print(f"skipped: {a.cc} cannot build a program with {' '.join(SAN)}")
            return 77
        for path in files:
            context = ""
            for i, b in enumerate(blocks_of(path)):
                if b.mode is None:
                    print(f"FAIL {b.where()}: a {b.lang} block that is neither a program nor "
                          "marked with <!-- doc-test: ... -->")
                    failed += 1
                    continue
                if b.lang == "c":
                    context += b.top + "\n"   # hidden top-level code stays for later blocks
                if b.mode.startswith("malformed"):
                    print(f"FAIL {b.where()}: {b.mode}")
                    failed += 1
                    continue
                if b.mode.startswith("skip:"):
                    print(f"not compiled {b.where()}: {b.mode[5:].strip()}")
                    continue
                if b.lang == "cpp" and not a.cxx:
                    print(f"not compiled {b.where()}: no C++ compiler")
                    continue
                if b.lang == "cpp" and b.mode != "program":
                    print(f"FAIL {b.where()}: a cpp block must be a program")
                    failed += 1
                    continue
                work = os.path.join(tmp, f"{os.path.basename(path)}.{i}")
                os.mkdir(work)
                src = os.path.join(work, "snippet." + b.lang)
                with open(src, "w", encoding="utf-8") as f:
                    f.write(source(b, context))
                if b.lang == "c":
                    cmd = [a.cc, "-std=gnu11"]
                else:
                    cmd = [a.cxx, "-std=c++11"]
                cmd += WARN + SAN + ["-g", "-I", a.include, src, a.lib, "-lm", "-o",
                                     os.path.join(work, "snippet")]
                r = run(cmd)
                checked += 1
                if r.returncode != 0:
                    print(f"FAIL {b.where()}: does not compile\n{r.stderr}")
                    failed += 1
                    continue
                r = run([os.path.join(work, "snippet")], cwd=work, env=env)
                if r.returncode != 0:
                    print(f"FAIL {b.where()}: exit status {r.returncode}\n{r.stdout}{r.stderr}")
                    failed += 1
                    continue
                if b.mode == "decl":
                    context += b.before + "\n" + b.code + "\n" + b.after + "\n"
                print(f"ok {b.where()} ({b.mode})")
    print(f"{checked} snippets compiled and run, {failed} failed")
    if a.expect_failures is not None:
        return 0 if failed == a.expect_failures else 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
