#!/bin/sh
# check_fails.sh PYTHON EXPORTS_PY LIB INCLUDE NM -- exports.py fails on the
# fixture library (tests/exports/planted.c) and names each planted
# violation, and only those.
set -u
out=$("$1" "$2" --lib "$3" --include "$4" --nm "$5")
rc=$?
printf '%s\n' "$out"
fail() { echo "check_fails.sh: $1"; exit 1; }
[ $rc -eq 1 ] || fail "exports.py exited $rc, not 1"
printf '%s\n' "$out" | grep -q 'exports fx_stray, which no public header declares' ||
    fail "the exported, undeclared fx_stray was not reported"
printf '%s\n' "$out" | grep -q 'declares fx_missing, which .* does not export' ||
    fail "the declared, unexported fx_missing was not reported"
printf '%s\n' "$out" | grep -q 'fx_unmarked is declared without RC_API' ||
    fail "fx_unmarked, declared without RC_API, was not reported"
printf '%s\n' "$out" | grep -q 'fx_public' && fail "fx_public was reported, though it is fine"
echo "check_fails.sh: exports.py reports each planted violation"
