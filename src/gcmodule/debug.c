/*
 * debug.c -- Python's gc.set_debug: the RC_GC_DEBUG_* flags, the lines they
 * print, and the garbage list of RC_GC_DEBUG_SAVEALL.
 *
 * The collector reaches them through the gc module's hooks (gcmodule.h),
 * which the slot wants only while a flag that needs them is set, so a heap
 * without debug flags pays one test per collection. Lines
 * follow CPython's wording so that people and scripts that know it can read
 * them; a candidate scan, which has no CPython counterpart, says so.
 */
#include "gcmodule/gcmodule.h"
#include "recycle/builtins.h"

static FILE *out(const rc_heap *h)
{
    FILE *f = rc__gcmod(h)->debug_stream;
    return f ? f : stderr;
}

void rc__debug_start(rc_heap *h, const rc_gc_info *info)
{
    FILE *f = out(h);
    if (info->kind == RC_GC_CANDIDATE_SCAN)
        fprintf(f, "gc: scanning %zu candidates (old objects)...\n", h->candidates_live);
    else if (info->kind == RC_GC_INCREMENT)
        fprintf(f, "gc: incremental step over generation 2...\n");
    else
        fprintf(f, "gc: collecting generation %d...\n", info->generation);
    fprintf(f, "gc: objects in each generation: %zu %zu %zu\n", h->gen_objects[0],
            h->gen_objects[1], h->gen_objects[2]);
    fprintf(f, "gc: objects in permanent generation: %zu\n", h->gen_objects[3]);
    fflush(f);
}

/* "N unreachable" is what rc_gc_collect returns; saved garbage (kept alive,
 * listed by RC_GC_DEBUG_UNCOLLECTABLE's lines) shows as uncollectable. */
void rc__debug_stop(rc_heap *h, const rc_gc_info *info)
{
    size_t saved = info->collected - info->freed;
    fprintf(out(h), "gc: done%s, %zu unreachable, %zu uncollectable, %.4fs elapsed\n",
            info->kind == RC_GC_CANDIDATE_SCAN ? " (candidate scan)"
            : info->kind == RC_GC_INCREMENT    ? " (incremental step)"
                                               : "",
            info->collected + info->uncollectable, info->uncollectable + saved, info->duration);
    fflush(out(h));
}

void rc__debug_object(rc_heap *h, rc_head *o, bool collectable)
{
    const char *name = o->type && o->type->name ? o->type->name : "?";
    fprintf(out(h), "gc: %s <%s %p>\n", collectable ? "collectable" : "uncollectable", name,
            (void *)(o + 1));
}

/* RC_GC_DEBUG_SAVEALL: the garbage goes to the heap's garbage list instead of
 * being freed (the list holds a reference to each). All or nothing: an
 * object left out of the list while the rest of its cycle is saved would
 * stay alive and unlisted for good. When the list cannot take them all,
 * none is saved: they stay in place, unreachable, for a later collection,
 * and the failure is recorded (RC_ENOMEM). */
static bool save_garbage(rc_heap *h, rc_head **g, size_t n)
{
    rc_gcmod *m = rc__gcmod(h);
    if (!m->garbage) m->garbage = rc_list_new(h, n);
    rc_list *list = m->garbage;
    size_t saved = 0;
    if (list)
        while (saved < n && rc_list_append(list, rc_obj(g[saved] + 1)) == 0) saved++;
    if (saved < n) {
        rc_val v;
        for (; saved > 0 && rc_list_pop(list, -1, &v) == 0; saved--) rc_val_decref(v);
        rc__fail(h, RC_ENOMEM,
                 "rc_gc_collect: out of memory for the garbage list (RC_GC_DEBUG_SAVEALL): %zu "
                 "unreachable objects left in place for a later collection", n);
        return false;
    }
    return true;
}

int rc__gcmod_garbage(rc_heap *h, rc_head **g, size_t n)
{
    unsigned debug = rc__gcmod(h)->debug;
    if (debug & RC_GC_DEBUG_COLLECTABLE)
        for (size_t i = 0; i < n; i++) rc__debug_object(h, g[i], true);
    if (!(debug & RC_GC_DEBUG_SAVEALL)) return RC__GARBAGE_FREE;
    bool saved = save_garbage(h, g, n);
    if (debug & RC_GC_DEBUG_UNCOLLECTABLE)
        for (size_t i = 0; i < n; i++) rc__debug_object(h, g[i], false);
    /* the collector drops its holds: the list, or the cycle, keeps them */
    return saved ? RC__GARBAGE_SAVED : RC__GARBAGE_LEFT;
}

void rc_gc_set_debug(rc_heap *h, unsigned flags)
{
    RC__HEAP_CHECK(h, "rc_gc_set_debug");
    rc__gcmod(h)->debug = flags;
    rc__gcmod_want(h);
}

unsigned rc_gc_get_debug(const rc_heap *h)
{
    RC__HEAP_CHECK(h, "rc_gc_get_debug");
    return rc__gcmod(h)->debug;
}

void rc_gc_set_debug_stream(rc_heap *h, FILE *stream)
{
    RC__HEAP_CHECK(h, "rc_gc_set_debug_stream");
    rc__gcmod(h)->debug_stream = stream;
}

FILE *rc_gc_get_debug_stream(const rc_heap *h)
{
    RC__HEAP_CHECK(h, "rc_gc_get_debug_stream");
    return out(h);
}

rc_list *rc_gc_garbage(rc_heap *h)
{
    if (!h) return NULL;
    rc_gcmod *m = rc__gcmod(h);
    if (!m->garbage) {
        rc_list *l = rc_list_new(h, 0);
        if (!l) return NULL;
        /* rc_list_new may have run a collection that made the list itself. */
        if (m->garbage) rc_decref(l); else m->garbage = l;
    }
    return m->garbage;
}

size_t rc_gc_garbage_into(rc_heap *h, void **buf, size_t cap)
{
    if (!h) return SIZE_MAX;
    if (!rc__gc_buf_ok(h, buf, cap, "rc_gc_garbage_into")) return SIZE_MAX;
    rc_list *l = rc__gcmod(h)->garbage;   /* not made here: that would allocate */
    size_t n = 0, len = l ? rc_list_len(l) : 0;
    for (size_t i = 0; i < len; i++) {
        void *o = rc_as_obj(rc_list_get(l, i));
        if (!o) continue;   /* a value the program put there */
        if (n < cap) buf[n] = o;
        n++;
    }
    return n;
}
