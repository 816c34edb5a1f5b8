/* fixture.h -- the public header of a library built to break
 * tools/ci/exports.py's three rules once each (tests/exports/check_fails.sh). */
#ifndef RC_EXPORTS_FIXTURE_H
#define RC_EXPORTS_FIXTURE_H

#include "recycle.h"

RC_API int fx_public(void);    /* declared and exported: fine */
RC_API int fx_missing(void);   /* declared, never defined: not exported */
int fx_unmarked(void);         /* defined, but declared without RC_API: hidden */

#endif
