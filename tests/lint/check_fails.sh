#!/bin/sh
# The lint checks fail on what they exist to catch: layers.py on an upward
# include and a file outside the layer folders, dupcheck.py on six lines
# written twice (the planted tree under tests/lint/planted/).
# usage: check_fails.sh PYTHON TOOLS_CI PLANTED_SRC
py=$1 ci=$2 src=$3 out=${TMPDIR:-/tmp}/lint_fails.$$
trap 'rm -f "$out"' EXIT
fail() { echo "FAIL: $*"; cat "$out"; exit 1; }
if "$py" "$ci/layers.py" --src "$src" --includes-only >"$out" 2>&1; then fail "layers.py passed"; fi
grep -q 'src/core/upward.c: includes leak/leak.h (leak, rank 7 > core, rank 1)' "$out" \
  || fail "layers.py did not name the upward include"
grep -q 'src/stray.c: not in a layer folder' "$out" || fail "layers.py did not name the stray file"
if "$py" "$ci/dupcheck.py" "$src" >"$out" 2>&1; then fail "dupcheck.py passed"; fi
grep -q 'src/util/copy_a.c:[0-9]*, src/util/copy_b.c:[0-9]*: the same 6 lines' "$out" \
  || fail "dupcheck.py did not name both copies"
echo "ok: both checks fail on the planted violations"
