/*
 * control.c -- the gc module's control surface over the collector: gc
 * callbacks, per-generation statistics, stress mode, the public heap check,
 * and the hooks through which the collector reports each collection's start
 * and end (gcmodule.h).
 */
#include "gcmodule/gcmodule.h"

void rc__gcmod_want(rc_heap *h)
{
    uint8_t w = 0;
    if (h->ncallbacks || (h->debug & RC_DEBUG_STATS)) w |= RC_HOOK_COLLECT;
    if (h->debug & (RC_DEBUG_SAVEALL | RC_DEBUG_COLLECTABLE)) w |= RC_HOOK_GARBAGE;
    rc__hooks_want(h, RC_SLOT_GCMODULE, w);
}

/* ---- callbacks ---- */

static void run_callbacks(rc_heap *h, int phase, const rc_gc_info *info)
{
    for (unsigned i = 0; i < h->ncallbacks; i++) {
        rc_gc_callback fn = (rc_gc_callback)h->callbacks[i].fn;
        fn(h, phase, info, h->callbacks[i].ud);
    }
}

void rc__gcmod_collect_begin(rc_heap *h, const rc_gc_info *info)
{
    if (h->ncallbacks) run_callbacks(h, RC_GC_START, info);
    if (h->debug & RC_DEBUG_STATS) rc__debug_start(h, info->generation, info->candidates);
}

void rc__gcmod_collect_end(rc_heap *h, const rc_gc_info *info)
{
    if (h->debug & RC_DEBUG_STATS)
        rc__debug_stop(h, info->generation, info->candidates, info->collected,
                       info->uncollectable, info->duration);
    if (h->ncallbacks) run_callbacks(h, RC_GC_STOP, info);
}

int rc_gc_callback_add(rc_heap *h, rc_gc_callback fn, void *ud)
{
    if (!fn) {
        rc__fail(h, RC_EINVAL, "rc_gc_callback_add: callback is NULL");
        return -1;
    }
    if (h->ncallbacks == RC_MAX_CALLBACKS) {
        rc__fail(h, RC_ERANGE, "rc_gc_callback_add: the table of %d callbacks is full",
                 RC_MAX_CALLBACKS);
        return -1;
    }
    h->callbacks[h->ncallbacks].fn = (void (*)(rc_heap *, int, const void *, void *))fn;
    h->callbacks[h->ncallbacks++].ud = ud;
    rc__gcmod_want(h);
    return 0;
}

int rc_gc_callback_remove(rc_heap *h, rc_gc_callback fn, void *ud)
{
    for (unsigned i = 0; i < h->ncallbacks; i++) {
        if ((rc_gc_callback)h->callbacks[i].fn == fn && h->callbacks[i].ud == ud) {
            memmove(&h->callbacks[i], &h->callbacks[i + 1],
                    (h->ncallbacks - i - 1) * sizeof h->callbacks[0]);
            h->ncallbacks--;
            rc__gcmod_want(h);
            return 0;
        }
    }
    rc__fail(h, RC_ENOTFOUND, "rc_gc_callback_remove: no such callback");
    return -1;
}

void rc_gc_get_stats(const rc_heap *h, rc_gc_stats out[3])
{
    for (int g = 0; g < 3; g++) {
        out[g].collections = h->gstats[g].collections;
        out[g].collected = h->gstats[g].collected;
        out[g].uncollectable = h->gstats[g].uncollectable;
        out[g].seconds = h->gstats[g].seconds;
        out[g].candidates = h->gstats[g].candidates;
    }
}

/* ---- stress mode ---- */

void rc_gc_set_stress(rc_heap *h, int on)
{
    if (!h) return;
    h->stress = on != 0;
    h->stress_allocs = 0;
    rc__young_limit_update(h);
}

int rc_gc_get_stress(const rc_heap *h)
{
    return h && h->stress;
}

/* ---- the heap check ---- */

long rc_heap_check(rc_heap *h, FILE *out)
{
    return rc__heap_check(h, out);
}
