/*
 * region.c -- frozen regions: an isolated graph moved (rc_move) into a heap
 * of its own that no thread holds, its objects given an immortal count
 * (RC__IMMORTAL: rc_incref / rc_decref write nothing) and put in the
 * permanent generation (no collection counts or marks them), its pages
 * flagged RC_PAGE_REGION. Any number of threads then read it at once with
 * no writes and no atomics; the cycles inside cost no collection. An atomic
 * count of holders keeps it; the last rc_region_drop takes the heap and
 * frees it whole (docs/ARCHITECTURE.md, "Threads", T2 and T3).
 *
 * Holders are the program (rc_region_hold: a thread that reads the
 * region) and heaps (rc_heap_hold_region: objects of the heap may refer
 * to the region's). A heap's holds are its small set h->held (core), which
 * the stores' failure path searches (builtins.h, rc__foreign_ok); a heap
 * gives a hold up only when none of its objects points into the region
 * (one walk of the heap), and rc_heap_free gives up every hold left once
 * its objects are gone.
 */
#include "gcmodule/gcmodule.h"
#include "recycle/builtins.h"
#include "core/mem.h"
#include "util/blockids.h"
#include "util/edges.h"

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
        return rc__fail(heap, RC_EINVAL, "rc_region_freeze: the object at %p is not in this heap%s",
                        obj, rc_in_region(obj) ? " (it is in a frozen region already)" : "");
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
            /* A long str caches its hash when first asked: ask now, while this
             * thread alone holds the region's heap. */
            if (o->type == &rc_str_type && ((rc_str_obj *)RC__USER(o))->len >= RC__STR_HASHED)
                rc_str_hash(RC__USER(o));
            o->refcnt = RC__IMMORTAL | (RC__IMMORTAL >> 1);
            pg->flags |= RC_PAGE_REGION;
        });
#ifdef RC_DEBUG
    /* The write trap: a write into the region faults at the write. Only
     * reads follow (incref and decref write nothing to an immortal count)
     * until the last holder makes it writable again to free it. */
    rc__heap_protect(rh, false);
#endif
    atomic_init(&r->holders, 1);
    rh->region = r;
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
    if (rc__heap_acquire(r->heap) != RC_OK) abort();
#ifdef RC_DEBUG
    rc__heap_protect(r->heap, true);   /* before any page is freed or cached */
#endif
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

/* ---- holds of a heap ---- */

static const char *name_of(const rc_head *o)
{
    return o->type && o->type->name ? o->type->name : "?";
}

static size_t held_index(const rc_heap *h, const rc_region *r)
{
    for (size_t i = 0; i < h->nheld; i++)
        if (h->held[i].region == r) return i;
    return SIZE_MAX;
}

int rc_heap_hold_region(rc_heap *heap, rc_region *region)
{
    RC__HEAP_CHECK(heap, "rc_heap_hold_region");
    if (!heap) return RC_EINVAL;
    if (!region) {
        rc__fail(heap, RC_EINVAL, "rc_heap_hold_region: region is NULL");
        return RC_EINVAL;
    }
    if (held_index(heap, region) != SIZE_MAX) return RC_OK;   /* one hold per heap */
    if (!rc__mem_grow(heap, (void **)&heap->held, &heap->held_cap, heap->nheld + 1,
                      sizeof(rc__held))) {
        rc__fail(heap, RC_ENOMEM, "rc_heap_hold_region: out of memory for the heap's set of "
                 "regions");
        return RC_ENOMEM;
    }
    rc_region_hold(region);
    heap->held[heap->nheld++] = (rc__held){region->heap, region};
    return RC_OK;
}

typedef struct pointer_in {
    const rc_heap *region;   /* the region's heap */
    rc_head *child;          /* found: the region's object ... */
    rc_edge edge;            /* ... and how it is held */
} pointer_in;

static void edge_into(rc_head *child, const rc_edge *e, void *ctx)
{
    pointer_in *pi = ctx;
    if (!pi->child && rc__page_of(child)->heap == pi->region) {
        pi->child = child;
        pi->edge = *e;
    }
}

int rc_heap_drop_region(rc_heap *heap, rc_region *region)
{
    RC__HEAP_CHECK(heap, "rc_heap_drop_region");
    if (!heap) return RC_EINVAL;
    if (!region) {
        rc__fail(heap, RC_EINVAL, "rc_heap_drop_region: region is NULL");
        return RC_EINVAL;
    }
    size_t i = held_index(heap, region);
    if (i == SIZE_MAX) {
        rc__fail(heap, RC_ENOTFOUND, "rc_heap_drop_region: this heap does not hold the region %p",
                 (void *)region);
        return RC_ENOTFOUND;
    }
    if (!rc__gc_walkable(heap, "rc_heap_drop_region")) return RC_EBUSY;
    /* Objects that can hold references are on the tracked pages. */
    pointer_in pi = {.region = region->heap};
    RC__FOREACH_LIVE(heap, 1, pg, o, {
        rc__foreach_edge(o, edge_into, &pi);
        if (pi.child) {
            char how[48];
            rc__describe_edge(&pi.edge, how, sizeof how);
            rc__fail(heap, RC_EBUSY, "rc_heap_drop_region: the %s at %p still refers to the %s at "
                     "%p in the region %p (%s)", name_of(o), (void *)(o + 1), name_of(pi.child),
                     (void *)(pi.child + 1), (void *)region, how);
            return RC_EBUSY;
        }
    });
    heap->held[i] = heap->held[--heap->nheld];
    rc_region_drop(region);
    return RC_OK;
}

int rc_heap_holds_region(const rc_heap *heap, const rc_region *region)
{
    RC__HEAP_CHECK(heap, "rc_heap_holds_region");
    return heap && region && held_index(heap, region) != SIZE_MAX;
}

void rc__describe_foreign(char *buf, size_t size, const rc_head *holder, const rc_head *c)
{
    if (rc__region_of(c))
        snprintf(buf, size, "the %s at %p refers to the %s at %p in the frozen region %p, which "
                 "the destination heap does not hold (rc_heap_hold_region)", name_of(holder),
                 (void *)(holder + 1), name_of(c), (void *)(c + 1), rc__region_of(c));
    else
        snprintf(buf, size, "the %s at %p refers to an object of another heap (%p)",
                 name_of(holder), (void *)(holder + 1), (void *)(c + 1));
}

void rc__regions_heap_free(rc_heap *h)
{
    /* The heap's objects are gone (their destroy hooks could still read the
     * regions' objects). A drop may be a region's last: it frees the region
     * on this thread. */
    for (size_t i = 0; i < h->nheld; i++) rc_region_drop(h->held[i].region);
    rc__mem_free(rc__mem_heap(h), h->held, h->held_cap * sizeof(rc__held));
    h->held = NULL;
    h->nheld = h->held_cap = 0;
}
