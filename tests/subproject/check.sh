#!/bin/sh
# check.sh HOW RECYCLE_DIR WORK_DIR CC -- a parent project (this folder)
# includes recycle's source tree RECYCLE_DIR with HOW (subdirectory or
# fetchcontent), builds its program linked to recycle::recycle in WORK_DIR
# and runs it. For subdirectory, it then also configures the parent with
# recycle's tests and tools turned on: their paths must resolve inside a
# parent project too; and, there, as if valgrind were missing: the
# valgrind tests must report skipped.
set -eu
how=$1 rcdir=$2 work=$3 cc=$4
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
mkdir -p "$work"
step() {
  "$@" >"$work/log" 2>&1 || { cat "$work/log"; echo "failed: $*"; exit 1; }
}
step cmake -S "$here" -B "$work/b" -DRC_HOW="$how" -DRECYCLE_DIR="$rcdir" -DCMAKE_C_COMPILER="$cc"
step cmake --build "$work/b" -j 2 --target user
"$work/b/user"
if [ "$how" = subdirectory ]; then
  # Configured as if valgrind were not installed: its tests must say
  # "skipped" (they need no build: tests/tool_missing.sh stands in).
  step cmake -S "$here" -B "$work/t" -DRC_HOW="$how" -DRECYCLE_DIR="$rcdir" -DCMAKE_C_COMPILER="$cc" \
    -DRC_BUILD_TESTS=ON -DRC_EXPECT_TOOLS=ON -DRC_VALGRIND=ON -DRC_VALGRIND_EXE=/nonexistent/valgrind
  echo "recycle's tests and tools configure inside a parent project"
  env -u CI RC_REQUIRE_TOOLS=0 ctest --test-dir "$work/t/recycle" -R '^valgrind_test_object$' >"$work/log" 2>&1 || true
  grep -q "Skipped" "$work/log" || { cat "$work/log"; echo "without valgrind, valgrind_test_object did not report skipped"; exit 1; }
  echo "without valgrind, the valgrind tests report skipped"
fi
rm -rf "$work"
