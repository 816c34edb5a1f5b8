/* libdebug.h -- include first: compiles the including test with RC_DEBUG,
 * so that recycle.h's inline calls (rc_incref, rc_decref) check in every
 * build; LIB_DEBUG says whether the library itself was built with it (the
 * build defines RC_DEBUG for tests of a debug library). */
#ifndef RC_TEST_LIBDEBUG_H
#define RC_TEST_LIBDEBUG_H

#ifdef RC_DEBUG
#define LIB_DEBUG 1
#else
#define LIB_DEBUG 0
#define RC_DEBUG 1
#endif

#endif
