/*
 * recycle/gc.h -- Python's gc module in C: callbacks, statistics, debug
 * flags, the garbage list, object queries, freezing.
 *
 * rc_collect, rc_enable/rc_disable/rc_isenabled, rc_set_threshold,
 * rc_get_threshold and rc_get_count are in <recycle.h>. docs/gc-module.md maps
 * every Python call to its recycle equivalent.
 */
#ifndef RECYCLE_GC_H
#define RECYCLE_GC_H

#include "../recycle.h"
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- callbacks (gc.callbacks) ---- */

enum rc_gc_phase { RC_GC_START = 0, RC_GC_STOP = 1 };

/* What a callback is told. On START only `generation` and `candidates` are
 * meaningful. */
typedef struct rc_gc_info {
    int generation;        /* 0, 1 or 2 */
    int candidates;        /* 1: a scan from buffered candidates (old objects), not a generation */
    size_t collected;      /* unreachable objects freed */
    size_t uncollectable;  /* unreachable objects kept (resurrected, or saved by RC_DEBUG_SAVEALL) */
    size_t examined;       /* objects in the collected set */
    double duration;       /* seconds, START to STOP */
} rc_gc_info;

typedef void (*rc_gc_callback)(rc_heap *heap, int phase, const rc_gc_info *info, void *ud);

/* Call `fn` at the start and stop of every collection, manual or automatic,
 * candidate scans included. Returns 0, or -1 (RC_ENOMEM) when no more fit
 * (16 at most). A callback may allocate and drop references; a collection it
 * asks for returns 0. */
int rc_gc_callback_add(rc_heap *heap, rc_gc_callback fn, void *ud);
/* Remove a callback added with the same fn and ud; -1 (RC_ENOTFOUND) if absent. */
int rc_gc_callback_remove(rc_heap *heap, rc_gc_callback fn, void *ud);

/* ---- statistics (gc.get_stats) ---- */

typedef struct rc_gc_stats {
    size_t collections;    /* collections of this generation (as the oldest) */
    size_t collected;      /* unreachable objects freed */
    size_t uncollectable;  /* unreachable objects kept */
    double seconds;        /* total time in those collections */
    size_t candidates;     /* generation 2 only: objects freed by candidate scans */
} rc_gc_stats;

/* Fill out[0..2]. O(1). */
void rc_gc_get_stats(const rc_heap *heap, rc_gc_stats out[3]);

/* ---- debugging (gc.set_debug) ---- */

#define RC_DEBUG_STATS         1u   /* a line at the start and end of each collection */
#define RC_DEBUG_COLLECTABLE   2u   /* a line per collectable object found */
#define RC_DEBUG_UNCOLLECTABLE 4u   /* a line per uncollectable object found */
#define RC_DEBUG_SAVEALL       32u  /* keep garbage in the garbage list instead of freeing it */
#define RC_DEBUG_LEAK (RC_DEBUG_COLLECTABLE | RC_DEBUG_UNCOLLECTABLE | RC_DEBUG_SAVEALL)

#ifdef __cplusplus
}
#endif
#endif
