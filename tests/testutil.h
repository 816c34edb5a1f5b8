/* testutil.h -- small helpers the tests share: heap counters, quiet heaps,
 * the text a call printed. */
#ifndef RC_TEST_UTIL_H
#define RC_TEST_UTIL_H

#include "recycle.h"
#include <stdio.h>

/* Live objects in `h`. */
static inline size_t live_objects(rc_heap *h)
{
    rc_heap_stats st;
    rc_heap_stats_get(h, &st);
    return st.objects;
}

/* Bytes of variable buffers (list items, dict tables) in `h`. */
static inline size_t buffer_bytes(rc_heap *h)
{
    rc_heap_stats st;
    rc_heap_stats_get(h, &st);
    return st.buffer_bytes;
}

/* A heap that collects only when asked (tests that count exactly). */
static inline rc_heap *quiet_heap(void)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_disable(h);
    return h;
}

/* A new heap that never runs in stress mode (rc_gc_set_stress), whatever
 * RC_GC_STRESS says: only for the few tests that check the collection
 * policy (when collections run) or how much one collection frees, which a
 * collection at every allocation legitimately changes. */
static inline rc_heap *unstressed_heap(void)
{
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.gc_stress = -1;
    return rc_heap_new(&cfg);
}

/* The text printed to the temporary stream `f` (which is closed); valid
 * until the next call. */
static inline char *capture(FILE *f)
{
    static char buf[16384];
    fflush(f);
    rewind(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

#endif
