/*
 * hooks.h -- how the layers above core attach to a heap.
 *
 * Core (pages, object life and death, heaps) calls nothing above it. The
 * layers above reach core by calling it; core reaches them only through the
 * hook table: each layer that needs to hear of allocations, deaths,
 * collections or the heap's end has one const rc_hooks table, and a
 * heap holds one pointer per slot (h->hooks[slot]).
 *
 *   slot               attached by        hooks it fills
 *   RC_SLOT_COLLECTOR  rc_heap_new        collect_due, on_heap_end,
 *                                         on_snapshot_shrunk
 *   RC_SLOT_WEAKREF    rc_heap_new        on_referent_death, on_unreachable,
 *                                         on_spared, on_heap_free
 *   RC_SLOT_GCMODULE   rc_heap_new        on_collect_begin/end, on_garbage,
 *                                         on_heap_end
 *   RC_SLOT_LEAK       rc_trace_start     on_alloc, on_death, site_of,
 *                                         on_heap_free
 * (rc_heap_new is the gc module's, src/gcmodule/heap.c: core only makes and
 * ends the heap itself, rc__heap_init / rc__heap_teardown.)
 *
 * What a slot wants right now is a byte of RC_HOOK_* bits (h->wants[slot]);
 * h->hooked is the OR of them all, so an unused hook costs the hot paths one
 * test of a byte they already read: allocation tests RC_HOOK_ALLOC, death
 * RC_HOOK_DEATH, the collector RC_HOOK_COLLECT and RC_HOOK_GARBAGE. Weak
 * references are found by a header bit (RC__WEAKREFS, set only by the weakref
 * layer), which sends the death of their referent to the weakref slot.
 *
 * Hooks run in slot order. A hook runs with the heap in the phase the caller
 * documents (h->busy set during a collection) and may call the public API
 * allowed in that phase.
 */
#ifndef RC_CORE_HOOKS_H
#define RC_CORE_HOOKS_H

#include "recycle.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { RC_SLOT_COLLECTOR, RC_SLOT_WEAKREF, RC_SLOT_GCMODULE, RC_SLOT_LEAK, RC_NSLOTS };

enum {
    RC_HOOK_ALLOC = 1,     /* on_alloc after every object made */
    RC_HOOK_DEATH = 2,     /* on_death for every object freed, whatever the path */
    RC_HOOK_COLLECT = 4,   /* on_collect_begin / on_collect_end around every collection */
    RC_HOOK_GARBAGE = 8,   /* on_garbage needs a collection's garbage as an array */
};

typedef struct rc_hooks {
    /* The collection trigger was reached at a tracked allocation (young count
     * or candidate buffer): run whatever collection the policy wants. */
    void (*collect_due)(rc_heap *h);
    /* An object was made at file:line (file may be NULL: unknown). */
    void (*on_alloc)(rc_heap *h, rc_head *o, const char *file, int line);
    /* An object is leaving its heap (before destroy), on any death path. */
    void (*on_death)(rc_heap *h, rc_head *o);
    /* `o`, which has RC__WEAKREFS, is dying by its count reaching 0. */
    void (*on_referent_death)(rc_heap *h, rc_head *o);
    /* A collection starts / ended; `info` as passed to gc callbacks. */
    void (*on_collect_begin)(rc_heap *h, const rc_gc_info *info);
    void (*on_collect_end)(rc_heap *h, const rc_gc_info *info);
    /* A collection found `n` unreachable objects (all flagged RC__INSET),
     * before any finalizer runs. Returns whether user code ran. */
    bool (*on_unreachable)(rc_heap *h, rc_head **g, size_t n);
    /* User code ran during a collection (weak-reference callbacks or
     * finalizers) and trial deletion inside the garbage spared what it
     * resurrected: `g` (n objects, held, INSET) is what stays garbage, before
     * any finalizer still to run and before h->deleting is set. */
    void (*on_spared)(rc_heap *h, rc_head **g, size_t n);
    /* The final garbage, after finalizers, right before it is cleared
     * (h->deleting set). Returns RC__GARBAGE_FREE, or, when the slot keeps
     * the garbage alive (the collector then frees none of it),
     * RC__GARBAGE_SAVED (in a list: SAVEALL) or RC__GARBAGE_LEFT (left in
     * place, e.g. for want of memory for that list). */
    int (*on_garbage)(rc_heap *h, rc_head **g, size_t n);
    /* The allocation site of `o`, when the slot knows it. */
    bool (*site_of)(rc_heap *h, const rc_head *o, const char **file, int *line);
    /* rc_heap_free, before any object is cleared: every object still live. */
    void (*on_heap_end)(rc_heap *h);
    /* rc_heap_free, after every object is gone: free the slot's state. */
    void (*on_heap_free)(rc_heap *h);
    /* A quarter of the incremental pass's snapshot pages went back to the
     * system, outside any collection (alloc.c): the heap shrank under it. */
    void (*on_snapshot_shrunk)(rc_heap *h);
} rc_hooks;

/* Attach table `t` at `slot` (NULL detaches and clears the slot's wants). */
void rc__hooks_set(rc_heap *h, int slot, const rc_hooks *t);
/* What `slot` wants now (RC_HOOK_* bits); recomputes h->hooked. */
void rc__hooks_want(rc_heap *h, int slot, uint8_t bits);

/* Dispatchers: call the hook of every attached slot that has it, in slot
 * order. The hot paths call them only under a test of h->hooked. */
void rc__hook_alloc(rc_heap *h, rc_head *o, const char *file, int line);
void rc__hook_death(rc_heap *h, rc_head *o);
void rc__hook_collect_begin(rc_heap *h, const rc_gc_info *info);
void rc__hook_collect_end(rc_heap *h, const rc_gc_info *info);
bool rc__hook_unreachable(rc_heap *h, rc_head **g, size_t n);
void rc__hook_spared(rc_heap *h, rc_head **g, size_t n);
/* What on_garbage hooks did with the garbage; the dispatcher returns the
 * highest any slot returned. */
enum { RC__GARBAGE_FREE = 0, RC__GARBAGE_LEFT = 1, RC__GARBAGE_SAVED = 2 };
int rc__hook_garbage(rc_heap *h, rc_head **g, size_t n);
bool rc__hook_site(rc_heap *h, const rc_head *o, const char **file, int *line);
void rc__hook_heap_end(rc_heap *h);
void rc__hook_heap_free(rc_heap *h);
void rc__hook_snapshot_shrunk(rc_heap *h);

#endif
