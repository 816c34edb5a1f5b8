/* planted.c -- a shared library with the violations tools/ci/exports.py
 * must report (tests/exports/check_fails.sh). */
#include "fixture.h"

int fx_public(void) { return 1; }
int fx_unmarked(void) { return 2; }
/* Exported, declared in no header: an internal function that escaped. */
__attribute__((visibility("default"))) int fx_stray(void) { return 3; }
