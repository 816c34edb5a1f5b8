/*
 * core/clock.h -- the one clock: seconds on CLOCK_MONOTONIC, for purge
 * intervals (alloc.c) and collection durations (collector/trial.c).
 */
#ifndef RC_CORE_CLOCK_H
#define RC_CORE_CLOCK_H

#include <time.h>

/* Seconds since an arbitrary fixed point; never goes back. One vDSO call. */
static inline double rc__now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

#endif
