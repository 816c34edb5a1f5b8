#!/bin/sh
# check.sh HOW RECYCLE_DIR WORK_DIR CC -- a parent project (this folder)
# includes recycle's source tree RECYCLE_DIR with HOW (subdirectory or
# fetchcontent), builds its program linked to recycle::recycle in WORK_DIR
# and runs it. For subdirectory, it then also configures the parent with
# recycle's tests and tools turned on: their paths must resolve inside a
# parent project too.
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
  step cmake -S "$here" -B "$work/t" -DRC_HOW="$how" -DRECYCLE_DIR="$rcdir" -DCMAKE_C_COMPILER="$cc" \
    -DRC_BUILD_TESTS=ON -DRC_EXPECT_TOOLS=ON
  echo "recycle's tests and tools configure inside a parent project"
fi
rm -rf "$work"
