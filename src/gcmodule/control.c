/*
 * control.c -- the gc module's control surface over the collector: gc
 * callbacks, per-generation statistics, rc_gc_collect, stress mode, the
 * public heap check, and the hooks through which the collector reports each
 * collection's start and end (gcmodule.h). Enabling and thresholds are in
 * settings.c.
 */
#include "gcmodule/gcmodule.h"

void rc__gcmod_want(rc_heap *h)
{
    const rc_gcmod *m = rc__gcmod(h);
    uint8_t w = 0;
    if (m->ncallbacks || (m->debug & RC_GC_DEBUG_STATS)) w |= RC_HOOK_COLLECT;
    if (m->debug & (RC_GC_DEBUG_SAVEALL | RC_GC_DEBUG_COLLECTABLE)) w |= RC_HOOK_GARBAGE;
    rc__hooks_want(h, RC_SLOT_GCMODULE, w);
}

/* ---- callbacks ---- */

static void run_callbacks(rc_heap *h, int phase, const rc_gc_info *info)
{
    const rc_gcmod *m = rc__gcmod(h);
    for (unsigned i = 0; i < m->ncallbacks; i++) m->callbacks[i].fn(h, phase, info, m->callbacks[i].ud);
}

void rc__gcmod_collect_begin(rc_heap *h, const rc_gc_info *info)
{
    const rc_gcmod *m = rc__gcmod(h);
    if (m->ncallbacks) run_callbacks(h, RC_GC_START, info);
    if (m->debug & RC_GC_DEBUG_STATS) rc__debug_start(h, info);
}

void rc__gcmod_collect_end(rc_heap *h, const rc_gc_info *info)
{
    const rc_gcmod *m = rc__gcmod(h);
    if (m->debug & RC_GC_DEBUG_STATS) rc__debug_stop(h, info);
    if (m->ncallbacks) run_callbacks(h, RC_GC_STOP, info);
}

int rc_gc_callback_add(rc_heap *h, rc_gc_callback_fn fn, void *ud)
{
    RC__HEAP_CHECK(h, "rc_gc_callback_add");
    rc_gcmod *m = rc__gcmod(h);
    if (!fn) {
        rc__fail(h, RC_EINVAL, "rc_gc_callback_add: callback is NULL");
        return -1;
    }
    if (m->ncallbacks == RC_MAX_CALLBACKS) {
        rc__fail(h, RC_ERANGE, "rc_gc_callback_add: the table of %d callbacks is full",
                 RC_MAX_CALLBACKS);
        return -1;
    }
    m->callbacks[m->ncallbacks++] = (rc_callback_slot){fn, ud};
    rc__gcmod_want(h);
    return 0;
}

int rc_gc_callback_remove(rc_heap *h, rc_gc_callback_fn fn, void *ud)
{
    RC__HEAP_CHECK(h, "rc_gc_callback_remove");
    rc_gcmod *m = rc__gcmod(h);
    for (unsigned i = 0; i < m->ncallbacks; i++) {
        if (m->callbacks[i].fn == fn && m->callbacks[i].ud == ud) {
            memmove(&m->callbacks[i], &m->callbacks[i + 1],
                    (m->ncallbacks - i - 1) * sizeof m->callbacks[0]);
            m->ncallbacks--;
            rc__gcmod_want(h);
            return 0;
        }
    }
    rc__fail(h, RC_ENOTFOUND, "rc_gc_callback_remove: no such callback");
    return -1;
}

static rc_gc_stats stats_row(const rc_gen_stats *r)
{
    return (rc_gc_stats){
        .collections = r->collections,
        .collected = r->collected,
        .uncollectable = r->uncollectable,
        .freed = r->freed,
        .resurrected = r->resurrected,
        .seconds = r->seconds,
    };
}

void rc_gc_get_stats(const rc_heap *h, rc_gc_stats out[3])
{
    RC__HEAP_CHECK(h, "rc_gc_get_stats");
    for (int g = 0; g < 3; g++) out[g] = stats_row(&h->gstats[g]);
}

void rc_gc_get_candidate_stats(const rc_heap *h, rc_gc_stats *out)
{
    RC__HEAP_CHECK(h, "rc_gc_get_candidate_stats");
    *out = stats_row(&h->cstats);
}

void rc_gc_get_increment_stats(const rc_heap *h, rc_gc_stats *out)
{
    RC__HEAP_CHECK(h, "rc_gc_get_increment_stats");
    *out = stats_row(&h->istats);
}

/* ---- collections ---- */

size_t rc_gc_collect(rc_heap *h, int generation)
{
    RC__HEAP_CHECK(h, "rc_gc_collect");
    if (!h) return 0;
    if (generation < 0 || generation > 2) {
        rc__fail(h, RC_EINVAL, "rc_gc_collect: generation %d is not 0, 1 or 2", generation);
        return 0;
    }
    if (h->busy || h->freeing) {
        rc__fail(h, RC_EBUSY, "rc_gc_collect: called while a collection or a free is running "
                 "(from a finalizer, destroy hook or callback); nothing collected");
        return 0;
    }
    /* The candidate scan is a collection of its own kind (callbacks and
     * statistics show it apart); what it found counts in the result. */
    size_t found = 0;
    if (generation < 2) found += rc__scan_candidates(h);
    rc_gc_info info;
    found += rc__collect(h, (unsigned)generation, &info);
    return found;
}

int rc_gc_step(rc_heap *h, size_t budget)
{
    RC__HEAP_CHECK(h, "rc_gc_step");
    if (!h) return 0;
    if (h->busy || h->freeing) {
        rc__fail(h, RC_EBUSY, "rc_gc_step: called while a collection or a free is running "
                 "(from a finalizer, destroy hook or callback); nothing done");
        return -1;
    }
    bool had = h->pass != NULL;
    rc_gc_info info;
    int over = rc__collect_step(h, budget, &info);
    if (!over && !h->pass && (had || h->gen_objects[2]))
        rc__fail(h, RC_ENOMEM, "rc_gc_step: out of memory for the pass's tables; nothing freed");
    return over;
}

void rc_gc_set_incremental(rc_heap *h, int on)
{
    RC__HEAP_CHECK(h, "rc_gc_set_incremental");
    if (!h) return;
    h->incremental = on != 0;
    if (!on && !h->busy && !h->freeing) rc__pass_abandon(h);
}

int rc_gc_get_incremental(const rc_heap *h)
{
    RC__HEAP_CHECK(h, "rc_gc_get_incremental");
    return h && h->incremental;
}

void rc_gc_set_step_budget(rc_heap *h, size_t budget)
{
    RC__HEAP_CHECK(h, "rc_gc_set_step_budget");
    if (h) h->step_budget = budget;
}

size_t rc_gc_get_step_budget(const rc_heap *h)
{
    RC__HEAP_CHECK(h, "rc_gc_get_step_budget");
    return h ? h->step_budget : 0;
}

/* ---- stress mode ---- */

void rc_gc_set_stress(rc_heap *h, int on)
{
    RC__HEAP_CHECK(h, "rc_gc_set_stress");
    if (!h) return;
    h->stress = on != 0;
    h->stress_allocs = 0;
    rc__young_limit_update(h);
}

int rc_gc_get_stress(const rc_heap *h)
{
    RC__HEAP_CHECK(h, "rc_gc_get_stress");
    return h && h->stress;
}

/* ---- the heap check ---- */

long rc_heap_check(rc_heap *h, FILE *out)
{
    RC__HEAP_CHECK(h, "rc_heap_check");
    return rc__heap_check(h, out);
}

int rc_gc_set_parallel(rc_heap *h, int threads)
{
    RC__HEAP_CHECK(h, "rc_gc_set_parallel");
    if (!h) return -1;
    if (threads < 1 || threads > RC_PARALLEL_MAX) {
        rc__fail(h, RC_EINVAL, "rc_gc_set_parallel: %d threads (from 1 to %d)", threads,
                 RC_PARALLEL_MAX);
        return -1;
    }
    if (h->busy || h->freeing) {
        rc__fail(h, RC_EBUSY, "rc_gc_set_parallel: called while a collection runs");
        return -1;
    }
    if ((unsigned)threads != h->par_workers) rc__par_free(h);   /* the next collection starts its own */
    h->par_workers = (unsigned)threads;
    return 0;
}

int rc_gc_get_parallel(const rc_heap *h)
{
    RC__HEAP_CHECK(h, "rc_gc_get_parallel");
    return h ? (int)h->par_workers : 1;
}

void rc_gc_set_parallel_min(rc_heap *h, size_t objects)
{
    RC__HEAP_CHECK(h, "rc_gc_set_parallel_min");
    if (h) h->par_min = objects;
}

size_t rc_gc_get_parallel_min(const rc_heap *h)
{
    RC__HEAP_CHECK(h, "rc_gc_get_parallel_min");
    return h ? h->par_min : RC_PARALLEL_MIN_DEFAULT;
}
