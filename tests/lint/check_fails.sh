#!/bin/sh
# The lint checks fail on what they exist to catch: layers.py on an upward
# include and a file outside the layer folders, dupcheck.py on six lines
# written twice, ownercheck.py on a public call that takes a heap and checks
# no owner (the planted tree under tests/lint/planted/).
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
if "$py" "$ci/ownercheck.py" --include "$src/../include" --src "$src" >"$out" 2>&1; then
  fail "ownercheck.py passed"
fi
grep -q 'rc_planted_unchecked (.*planted.h): checks no owner' "$out" \
  || fail "ownercheck.py did not name the unchecked call"
if grep -q 'rc_planted_checked ' "$out"; then fail "ownercheck.py named the checked call"; fi
echo "ok: the three checks fail on the planted violations"
