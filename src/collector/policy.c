/*
 * policy.c -- when to collect: Python's thresholds and counts, the young
 * back-off, whether a full collection is due, stress mode's schedule, and
 * the collector's hook table (collect_due, called from allocation when the
 * young count or the candidate buffer reaches its trigger).
 */
#include "collector/collector.h"

/* Whether a full collection is worth it: the old generation grew by a
 * quarter since the last one (live objects: those freed by refcounting do
 * not count, unlike CPython's long_lived_pending). */
static bool full_is_due(rc_heap *h)
{
    /* Measured from the live count after the last full collection: an old
     * generation that shrank by refcount and grows back to where it was has
     * not grown (its garbage stays bounded by a quarter over that mark). */
    return h->gen_objects[2] > h->old_at_full + h->old_at_full / 4;
}

/* Stress mode: a young collection at every tracked allocation, generation 1
 * every 8th, a full collection every 64th once an eighth of the tracked
 * objects were allocated since the last (a full collection per allocation
 * would make every test quadratic), candidates every 16th. */
#define RC_STRESS_FULL_EVERY 64
static void stress_collect(rc_heap *h)
{
    size_t k = ++h->stress_allocs;
    size_t tracked = h->gen_objects[0] + h->gen_objects[1] + h->gen_objects[2];
    unsigned gen = k % 8 ? 0 : 1;
    if (k % RC_STRESS_FULL_EVERY == 0 && k >= tracked / 8) gen = 2;
    rc_gc_info info;
    rc__collect(h, gen, &info);
    if (gen == 2) h->stress_allocs = 0;
    if ((k % 16 == 0 && h->candidates_live) || h->candidates.len >= h->candidate_trigger)
        rc__scan_candidates(h);
}

void rc__maybe_collect(rc_heap *h)
{
    if (!h->enabled || h->busy || h->freeing) return;
    if (h->stress) {
        stress_collect(h);
        return;
    }
    if (h->count[0] >= h->young_limit) {
        unsigned gen = 0;
        /* A backed-off young collection covers young_scale times as many
         * allocations: generation 1 is collected after proportionally fewer
         * of them, so its set (and pause) stays the size thresholds give. */
        unsigned t1 = h->threshold[1] / h->young_scale;
        if (h->count[1] >= (t1 ? t1 : 1)) {
            gen = 1;
            if (h->count[2] >= h->threshold[2] && full_is_due(h)) gen = 2;
        }
        size_t examined = h->gen_objects[0] + (gen ? h->gen_objects[1] : 0);
        rc_gc_info info;
        rc__collect(h, gen, &info);
        size_t freed = info.freed;
        /* A young generation in which nothing dies is worth collecting less
         * often: objects get longer to die by refcount before anything scans
         * them (up to RC_YOUNG_SCALE_MAX x threshold 0). Garbage found brings
         * the threshold straight back. */
        if (freed * 64 < examined) {
            if (h->young_scale < RC_YOUNG_SCALE_MAX) h->young_scale *= 2;
        } else {
            h->young_scale = 1;
        }
        rc__young_limit_update(h);
    }
    if (h->candidates.len >= h->candidate_trigger) rc__scan_candidates(h);
}

const rc_hooks rc__collector_hooks = {.collect_due = rc__maybe_collect};
