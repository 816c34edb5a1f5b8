/*
 * settings.c -- the collector's settings as the gc module shows them, after
 * Python's gc module: enabling automatic collection, the three thresholds and
 * the three counts, and the candidate buffer's count. A change takes effect at the next tracked allocation
 * (rc__young_limit_update recomputes its trigger).
 */
#include "gcmodule/gcmodule.h"

void rc_gc_enable(rc_heap *h)
{
    RC__HEAP_CHECK(h, "rc_gc_enable");
    h->enabled = true;
    rc__young_limit_update(h);
}

void rc_gc_disable(rc_heap *h)
{
    RC__HEAP_CHECK(h, "rc_gc_disable");
    h->enabled = false;
    rc__young_limit_update(h);
}
int rc_gc_is_enabled(const rc_heap *h)
{
    RC__HEAP_CHECK(h, "rc_gc_is_enabled");
    return h->enabled;
}

void rc_gc_set_threshold(rc_heap *h, unsigned t0, unsigned t1, unsigned t2)
{
    RC__HEAP_CHECK(h, "rc_gc_set_threshold");
    h->threshold[0] = t0;
    h->threshold[1] = t1;
    h->threshold[2] = t2;
    h->mid_backoff = 1;
    h->mid_skip = 0;
    h->young_boost = 1;
    rc__young_limit_update(h);
}

void rc_gc_get_threshold(const rc_heap *h, unsigned out[3])
{
    RC__HEAP_CHECK(h, "rc_gc_get_threshold");
    memcpy(out, h->threshold, sizeof h->threshold);
}

void rc_gc_get_count(const rc_heap *h, size_t out[3])
{
    RC__HEAP_CHECK(h, "rc_gc_get_count");
    memcpy(out, h->count, sizeof h->count);
}

size_t rc_gc_get_candidate_count(const rc_heap *h)
{
    RC__HEAP_CHECK(h, "rc_gc_get_candidate_count");
    return h ? h->candidates_live : 0;
}
