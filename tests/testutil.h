/* heapstat.h -- one-line reads of a heap's counters for tests. */
#ifndef RC_TEST_HEAPSTAT_H
#define RC_TEST_HEAPSTAT_H

#include "recycle.h"

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

#endif
