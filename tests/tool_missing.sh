#!/bin/sh
# tool_missing.sh WHY -- stands in for a test this build cannot make (a
# missing compiler or tool): prints "skipped: WHY" and exits 77, which CTest
# (SKIP_RETURN_CODE 77) reports as skipped, never passed. With
# RC_REQUIRE_TOOLS set to anything but "0" -- or, when it is unset, with CI
# set -- it is a failure instead (exit 1), as tests/harness.h's SKIP.
# tool_missing.sh --check: checks both behaviours of this script.
if [ "${1-}" = --check ]; then
  env -u CI RC_REQUIRE_TOOLS=0 sh "$0" "no tool" >/dev/null 2>&1
  st=$?
  [ "$st" = 77 ] || { echo "tool_missing.sh exited $st, not 77 (skipped)"; exit 1; }
  env -u CI RC_REQUIRE_TOOLS=1 sh "$0" "no tool" >/dev/null 2>&1
  st=$?
  [ "$st" = 1 ] || { echo "with RC_REQUIRE_TOOLS=1, tool_missing.sh exited $st, not 1"; exit 1; }
  env -u RC_REQUIRE_TOOLS CI=true sh "$0" "no tool" >/dev/null 2>&1
  st=$?
  [ "$st" = 1 ] || { echo "with CI set, tool_missing.sh exited $st, not 1"; exit 1; }
  echo "ok: a missing tool is a skip (77), and a failure when tools are required"
  exit 0
fi
if [ -n "${RC_REQUIRE_TOOLS+set}" ]; then
  required=$([ -n "$RC_REQUIRE_TOOLS" ] && [ "$RC_REQUIRE_TOOLS" != 0 ] && echo 1)
else
  required=$([ -n "${CI+set}" ] && echo 1)
fi
if [ -n "$required" ]; then
  echo "$1, and RC_REQUIRE_TOOLS (or CI) says every tool must be there"
  exit 1
fi
echo "skipped: $1"
exit 77
