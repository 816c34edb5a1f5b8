/*
 * debug.c -- Python's gc.set_debug: the RC_GC_DEBUG_* flags, the lines they
 * print, and the garbage list of RC_GC_DEBUG_SAVEALL.
 *
 * The collector calls the rc__debug_* hooks only when the matching flag is
 * set, so a heap without debug flags pays one test per collection. Lines
 * follow CPython's wording so that people and scripts that know it can read
 * them; a candidate scan, which has no CPython counterpart, says so.
 */
#include "core/objects.h"
#include "recycle/builtins.h"
#include "recycle/gc.h"

static FILE *out(const rc_heap *h)
{
    return h->debug_stream ? h->debug_stream : stderr;
}

void rc__debug_start(rc_heap *h, int generation, int candidates)
{
    FILE *f = out(h);
    if (candidates)
        fprintf(f, "gc: scanning %zu candidates (old objects)...\n", h->candidates_live);
    else
        fprintf(f, "gc: collecting generation %d...\n", generation);
    fprintf(f, "gc: objects in each generation: %zu %zu %zu\n", h->gen_objects[0],
            h->gen_objects[1], h->gen_objects[2]);
    fprintf(f, "gc: objects in permanent generation: %zu\n", h->gen_objects[3]);
    fflush(f);
}

void rc__debug_stop(rc_heap *h, int generation, int candidates, size_t collected,
                    size_t uncollectable, double seconds)
{
    (void)generation;
    fprintf(out(h), "gc: done%s, %zu unreachable, %zu uncollectable, %.4fs elapsed\n",
            candidates ? " (candidate scan)" : "", collected + uncollectable, uncollectable,
            seconds);
    fflush(out(h));
}

void rc__debug_object(rc_heap *h, rc_head *o, bool collectable)
{
    const char *name = o->type && o->type->name ? o->type->name : "?";
    fprintf(out(h), "gc: %s <%s %p>\n", collectable ? "collectable" : "uncollectable", name,
            (void *)(o + 1));
}

void rc_gc_set_debug(rc_heap *h, unsigned flags)
{
    h->debug = flags;
}

unsigned rc_gc_get_debug(const rc_heap *h)
{
    return h->debug;
}

void rc_gc_set_debug_stream(rc_heap *h, FILE *stream)
{
    h->debug_stream = stream;
}

FILE *rc_gc_get_debug_stream(const rc_heap *h)
{
    return out(h);
}

rc_list *rc_gc_garbage(rc_heap *h)
{
    if (!h) return NULL;
    if (!h->garbage) {
        rc_list *l = rc_list_new(h, 0);
        if (!l) return NULL;
        /* rc_list_new may have run a collection that made the list itself. */
        if (h->garbage) rc_decref(l); else h->garbage = l;
    }
    return h->garbage;
}
