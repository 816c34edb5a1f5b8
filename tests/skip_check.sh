#!/bin/sh
# A test file whose tool is missing must exit 77 (CTest: skipped), not 0;
# with RC_REQUIRE_TOOLS=1 the same run must fail (exit 1).
# $1: test_graph, run with a PATH where Graphviz's dot cannot be found.
bin="$1"
env -u CI RC_REQUIRE_TOOLS=0 PATH=/nonexistent "$bin" random_graphs >/dev/null 2>&1
st=$?
if [ "$st" != 77 ]; then
  echo "without dot, test_graph exited $st, not 77 (skipped)"; exit 1
fi
env -u CI RC_REQUIRE_TOOLS=1 PATH=/nonexistent "$bin" random_graphs >/dev/null 2>&1
st=$?
if [ "$st" != 1 ]; then
  echo "without dot and with RC_REQUIRE_TOOLS=1, test_graph exited $st, not 1 (failed)"; exit 1
fi
echo "ok: a missing tool is a skip (77), and a failure when tools are required"
