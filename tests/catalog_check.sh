#!/bin/sh
# catalog_check.sh RECYCLE SOURCE_DIR -- W8's row generator is the same in
# recycle (bench/catalog.c) and in the CPython peer
# (bench/peers/cpython_bench.py): the first rows of both agree byte for
# byte, start with the row bench/WORKLOADS.md quotes, and read back through
# --input on both give the same counts. Without python3 the check cannot
# run: tool_missing.sh reports it skipped (77).
set -u
rc=$1
src=$2
py=$(command -v python3 || true)
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
[ -n "$py" ] || exec sh "$src/tests/tool_missing.sh" "python3 not found (apt-get install python3)"
peer="$src/bench/peers/cpython_bench.py"
dir=$(mktemp -d /tmp/rc_catalog_XXXXXX) || exit 1
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

n=5000
"$rc" bench W8 --n $n --dump-rows >"$dir/c.tsv" || fail "recycle bench W8 --dump-rows exited $?"
"$py" "$peer" W8 --n $n --dump-rows >"$dir/py.tsv" || fail "cpython_bench.py W8 --dump-rows exited $?"
[ "$(wc -l <"$dir/c.tsv")" -eq $n ] || fail "recycle printed $(wc -l <"$dir/c.tsv") rows, not $n"
if ! cmp -s "$dir/c.tsv" "$dir/py.tsv"; then
  echo "the generators disagree; first difference:"
  cmp "$dir/c.tsv" "$dir/py.tsv"
  diff "$dir/c.tsv" "$dir/py.tsv" | head -4
  exit 1
fi
first=$(head -n 1 "$dir/c.tsv")
case "$first" in
  "plshuiw-sxi-gulapuwkh	23.87.482	2011-03	y#\$U}o=ah lr#-%zoJ "*) ;;
  *) fail "the first row is not the one bench/WORKLOADS.md quotes: $first" ;;
esac

# The rows read back: the same row and key counts on both systems.
"$rc" bench W8 --input "$dir/c.tsv" >"$dir/c.out" || fail "recycle bench W8 --input exited $?"
"$py" "$peer" W8 --input "$dir/c.tsv" >"$dir/py.out" || fail "cpython_bench.py W8 --input exited $?"
count() { awk -v m="$1" '$1 == m { printf "%d", $2 }' "$2"; }
for m in rows keys; do
  a=$(count $m "$dir/c.out")
  b=$(count $m "$dir/py.out")
  [ -n "$a" ] && [ "$a" = "$b" ] || fail "$m: recycle says '$a', CPython '$b'"
done
[ "$(count rows "$dir/c.out")" = $n ] || fail "recycle read $(count rows "$dir/c.out") rows, not $n"
echo "ok: $n rows alike byte for byte, $(count keys "$dir/c.out") distinct names on both"
