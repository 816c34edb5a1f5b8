/*
 * region.c -- frozen regions: an isolated graph moved (rc_move) into a heap
 * of its own that no thread holds, its objects given an immortal count
 * (RC__IMMORTAL: rc_incref / rc_decref write nothing) and put in the
 * permanent generation (no collection counts or marks them), its pages
 * flagged RC_PAGE_REGION. Any number of threads then read it at once with
 * no writes and no atomics; the cycles inside cost no collection. An atomic
 * count of holders keeps it; the last rc_region_drop takes the heap and
 * frees it whole (docs/ARCHITECTURE.md, "Threads", T3).
 */
#include "gcmodule/gcmodule.h"
#include "recycle/builtins.h"
#include "util/blockids.h"

#include <stdatomic.h>
#include <stdlib.h>

struct rc_region {
    _Atomic size_t holders;
    rc_heap *heap;   /* the region's heap: held by no thread while frozen */
    void *root;
};

rc_region *rc_region_freeze(rc_heap *heap, void *obj)
{
    RC__HEAP_CHECK(heap, "rc_region_freeze");
    if (!heap) return NULL;
    if (!obj) return rc__fail(heap, RC_EINVAL, "rc_region_freeze: obj is NULL");
    RC__CHECK(obj, "rc_region_freeze");
    if (rc_heap_of(obj) != heap)
        return rc__fail(heap, RC_EINVAL, "rc_region_freeze: the object at %p is not in this heap",
                        obj);
    rc_region *r = malloc(sizeof *r);
    rc_heap_config cfg;
    rc_heap_config_init(&cfg);
    cfg.disabled = 1;   /* nothing in it is ever collected */
    cfg.leak_report = NULL;   /* its objects are alive when the last holder frees it */
    rc_heap *rh = r ? rc_heap_new(&cfg) : NULL;
    if (!rh) {
        free(r);
        return rc__fail(heap, RC_ENOMEM, "rc_region_freeze: out of memory for a region");
    }
    void *root = rc_move(rh, obj);
    if (!root) {
        /* rc_move recorded why on both heaps: heap keeps it. */
        rc_heap_free(rh);
        free(r);
        return NULL;
    }
    rc_gc_freeze(rh);   /* generation 3: no collection of any heap counts or marks them */
    for (int t = 0; t < 2; t++)
        RC__FOREACH_LIVE(rh, t, pg, o, {
            /* A str caches its hash when first asked: ask now, while this
             * thread alone holds the region's heap. */
            if (o->type == &rc_str_type) rc_str_hash(RC__USER(o));
            o->refcnt = RC__IMMORTAL | (RC__IMMORTAL >> 1);
            pg->flags |= RC_PAGE_REGION;
        });
    atomic_init(&r->holders, 1);
    r->heap = rh;
    r->root = root;
    rc_heap_release(rh);   /* the release edge for every thread that is handed r */
    return r;
}

void *rc_region_root(const rc_region *r)
{
    return r ? r->root : NULL;
}

void rc_region_hold(rc_region *r)
{
    if (r) atomic_fetch_add_explicit(&r->holders, 1, memory_order_relaxed);
}

void rc_region_drop(rc_region *r)
{
    if (!r) return;
    size_t was = atomic_fetch_sub_explicit(&r->holders, 1, memory_order_acq_rel);
    rc_assert(was != 0);
    if (was != 1) return;
    /* The last holder: nobody reads the region any more. */
    if (rc_heap_acquire(r->heap) != RC_OK) abort();
    rc_heap_free(r->heap);
    free(r);
}

size_t rc_region_holders(const rc_region *r)
{
    return r ? atomic_load_explicit(&r->holders, memory_order_relaxed) : 0;
}

int rc_in_region(const void *obj)
{
    if (!obj) return 0;
    RC__CHECK(obj, "rc_in_region");   /* a heap's object: its holder only */
    return (rc__page_of(RC_HEAD(obj))->flags & RC_PAGE_REGION) != 0;
}
