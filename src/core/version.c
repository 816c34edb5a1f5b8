/*
 * version.c -- the version this library was built as (rc_version,
 * rc_version_number in recycle.h): the RC_VERSION_* macros of the header it
 * was compiled with, which a program compares with the ones it compiled with.
 */
#include "recycle.h"

#define STR(x) #x
#define XSTR(x) STR(x)

const char *rc_version(void)
{
    return XSTR(RC_VERSION_MAJOR) "." XSTR(RC_VERSION_MINOR) "." XSTR(RC_VERSION_PATCH);
}

int rc_version_number(void)
{
    return RC_VERSION_NUMBER;
}
