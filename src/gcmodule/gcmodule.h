/*
 * gcmodule.h -- what the gc module's files share: the heap struct rc_heap_new
 * makes (the core heap with the books of the layers above it), its hook
 * table (the RC_SLOT_GCMODULE slot of core/hooks.h) and the hooks behind it.
 *
 * The slot is attached by rc_heap_new (heap.c) and wants RC_HOOK_COLLECT
 * while the heap has gc callbacks or RC_GC_DEBUG_STATS, RC_HOOK_GARBAGE while
 * it has RC_GC_DEBUG_COLLECTABLE or RC_GC_DEBUG_SAVEALL (rc__gcmod_want keeps
 * that true): a heap with neither pays one test per collection.
 */
#ifndef RC_GCMODULE_H
#define RC_GCMODULE_H

#include "core/objects.h"
#include "recycle/builtins.h"
#include "recycle/gc.h"
#include "weakref/weakref.h"

/* The gc module's state of one heap. */
#define RC_MAX_CALLBACKS 16
typedef struct rc_callback_slot {
    rc_gc_callback_fn fn;
    void *ud;
} rc_callback_slot;

typedef struct rc_gcmod {
    unsigned debug;                 /* RC_GC_DEBUG_* flags of <recycle/gc.h> */
    FILE *debug_stream;             /* NULL = stderr */
    rc_list *garbage;               /* saved garbage (SAVEALL), or NULL until first used */
    rc_callback_slot callbacks[RC_MAX_CALLBACKS];
    unsigned ncallbacks;
} rc_gcmod;

/* Every heap rc_heap_new makes: the core heap first (an rc_heap * points at
 * it), then the weakref layer's books, this module's state, and the
 * allocation-site books of the leak tools while they trace (src/leak/trace.c
 * owns that struct; NULL when not tracing). */
struct rc_tracer;
typedef struct rc_modheap {
    rc_weakheap base;
    rc_gcmod mod;
    struct rc_tracer *trace;
} rc_modheap;

static inline rc_gcmod *rc__gcmod(const rc_heap *h)
{
    return &((rc_modheap *)(uintptr_t)h)->mod;
}
/* Where the allocation-site books of `h` hang (see rc_modheap). */
static inline struct rc_tracer **rc__tracer(const rc_heap *h)
{
    return &((rc_modheap *)(uintptr_t)h)->trace;
}

/* Recompute what the slot wants from the callbacks and debug flags. */
void rc__gcmod_want(rc_heap *h);

/* on_collect_begin / on_collect_end (control.c): gc callbacks and the
 * RC_GC_DEBUG_STATS lines, in CPython's order (callbacks first at the start,
 * last at the stop). */
void rc__gcmod_collect_begin(rc_heap *h, const rc_gc_info *info);
void rc__gcmod_collect_end(rc_heap *h, const rc_gc_info *info);

/* on_garbage (debug.c): RC_GC_DEBUG_COLLECTABLE lines; with RC_GC_DEBUG_SAVEALL
 * the garbage goes to the garbage list (all or nothing: RC__GARBAGE_SAVED, or
 * RC__GARBAGE_LEFT in place without memory), with RC_GC_DEBUG_UNCOLLECTABLE
 * lines, and the collector frees none of it. */
int rc__gcmod_garbage(rc_heap *h, rc_head **g, size_t n);

/* Debug lines (debug.c). */
void rc__debug_start(rc_heap *h, const rc_gc_info *info);
void rc__debug_stop(rc_heap *h, const rc_gc_info *info);
void rc__debug_object(rc_heap *h, rc_head *o, bool collectable);

/* Whether the pages of `h` may be walked now: not during a collection's scan
 * nor while objects are being freed; otherwise records RC_EBUSY for `call`
 * and returns false (inspect.c). */
bool rc__gc_walkable(rc_heap *h, const char *call);
/* Calls fn(o, ctx) for each live block of the pages in `v`; stops early when
 * fn returns false. Returns false when stopped (inspect.c). */
bool rc__gc_walk_pages(rc_vec *v, bool (*fn)(rc_head *o, void *ctx), void *ctx);
/* The quiet queries' array (`buf` of `cap` entries): false, with RC_EINVAL
 * recorded, when it is NULL while cap says it has room (inspect.c). */
bool rc__gc_buf_ok(rc_heap *h, void *const *buf, size_t cap, const char *call);

/* How a reference is held ("slot 2", "item 0", "a key"), into buf (move.c). */
struct rc_edge;
void rc__describe_edge(const struct rc_edge *e, char *buf, size_t size);

/* Why a reference from `holder` to `c`, an object of another heap, cannot
 * go to the destination heap of rc_move or rc_copy: c is in a frozen
 * region that heap does not hold, or in another heap (region.c). */
void rc__describe_foreign(char *buf, size_t size, const rc_head *holder, const rc_head *c);

/* on_heap_free (region.c): after the heap's objects are gone, drop every
 * frozen region it still holds and free its set of them. */
void rc__regions_heap_free(rc_heap *h);

/* rc_heap_free: build the leak report of what is left and hand it to
 * h->leak_report (endreport.c). */
void rc__leak_report(rc_heap *h);

/* ---- rc_move and rc_copy (move.c, copy.c) ---- */

/* The first error of a graph walk (the walk stops at it): a code and the
 * message, or RC_OK. */
typedef struct rc__graph_err {
    int code;
    char why[200];
} rc__graph_err;
/* Records the error unless one is recorded already. */
void rc__graph_stop(rc__graph_err *e, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* What keeps `h` from having a graph moved or copied out of or into it now
 * (a collection, a finalizer or callback, objects being freed), or NULL. */
const char *rc__graph_busy(const rc_heap *h);
/* Members a graph may have: their numbers (index + 1) are 32-bit. */
#define RC_GRAPH_MAX_MEMBERS ((size_t)UINT32_MAX - 1)
/* An object's type name for messages ("?" when it has none). */
static inline const char *rc__type_name(const rc_head *o)
{
    return o->type && o->type->name ? o->type->name : "?";
}

#endif
