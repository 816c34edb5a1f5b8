/*
 * recycle/gc.h -- Python's gc module in C: callbacks, statistics, debug
 * flags, the garbage list, object queries, freezing.
 *
 * rc_gc_collect, rc_gc_enable / rc_gc_disable / rc_gc_is_enabled,
 * rc_gc_set_threshold, rc_gc_get_threshold and rc_gc_get_count are in
 * <recycle.h>; weak references are in <recycle/weakref.h>.
 * docs/gc-module.md maps every Python call to its recycle equivalent.
 */
#ifndef RECYCLE_GC_H
#define RECYCLE_GC_H

#include "../recycle.h"
#include "builtins.h"
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- callbacks (gc.callbacks) ---- */

/* rc_gc_info, enum rc_gc_phase and enum rc_gc_kind are in <recycle.h>: the
 * collector fills them. */

typedef void (*rc_gc_callback_fn)(rc_heap *heap, int phase, const rc_gc_info *info, void *ud);

/* Call `fn` at the start and stop of every collection, manual or automatic,
 * candidate scans included (info->kind tells them apart). Returns 0, or -1 with RC_ERANGE when 16 are
 * registered already (the table's fixed size), RC_EINVAL for a NULL fn. A callback may
 * allocate and drop references; a collection it asks for returns 0 (RC_EBUSY). */
RC_API int rc_gc_callback_add(rc_heap *heap, rc_gc_callback_fn fn, void *ud);
/* Remove a callback added with the same fn and ud; -1 (RC_ENOTFOUND) if absent. */
RC_API int rc_gc_callback_remove(rc_heap *heap, rc_gc_callback_fn fn, void *ud);

/* ---- statistics (gc.get_stats) ---- */

typedef struct rc_gc_stats {
    size_t collections;    /* collections of this generation (as the oldest); of the kind */
    size_t collected;      /* unreachable objects freed or saved (RC_GC_DEBUG_SAVEALL) */
    size_t uncollectable;  /* unreachable objects left alive otherwise (see rc_gc_info) */
    size_t freed;          /* unreachable objects freed */
    size_t resurrected;    /* unreachable objects made reachable again by user code */
    double seconds;        /* total time in those collections */
} rc_gc_stats;

/* Python's gc.get_stats(): fill out[0..2], one row per generation, for the
 * collections of generations 0..g counted in row g. Candidate scans are not
 * in these rows (rc_gc_get_candidate_stats). O(1). */
RC_API void rc_gc_get_stats(const rc_heap *heap, rc_gc_stats out[3]);

/* The row of candidate scans (RC_GC_CANDIDATE_SCAN), which no generation's
 * row includes: how many ran and what they found, as in rc_gc_get_stats. O(1). */
RC_API void rc_gc_get_candidate_stats(const rc_heap *heap, rc_gc_stats *out);

/* The row of incremental steps (RC_GC_INCREMENT): how many steps ran, what
 * the steps that ended a pass found, and the time in all of them. O(1). */
RC_API void rc_gc_get_increment_stats(const rc_heap *heap, rc_gc_stats *out);

/* ---- incremental collection of the old generation ----
 *
 * Automatic collection looks at the old generation (generation 2) when it
 * has grown by a quarter since it was last collected. With incremental
 * collection on (the default) it does so in a pass of many short steps
 * between the program's own work -- each step about `budget` units of
 * work, objects looked at plus references followed, paced by allocation --
 * and the step that ends the pass frees what the pass found unreachable
 * (trial deletion over just those objects, at that moment: whatever the
 * program changed between the steps, nothing it can still reach is freed).
 * No pause grows with the heap: a step is bounded by its budget (plus the
 * references of the one object it is looking at), the last one by the
 * garbage it frees. Garbage that is old when a pass starts is freed when
 * it ends; what became garbage during a pass waits for the next one, or
 * for a candidate scan. A pass keeps a side table of 2 bytes per old
 * object until it ends; memory freed meanwhile goes back to the system at
 * once, and a heap that shrinks by a quarter under a pass gives the pass
 * up (its tables too). A pass that finds
 * nothing doubles the growth the next one waits for (up to 8 quarters);
 * garbage found brings it back. rc_gc_collect(heap, 2) is the one-walk full
 * collection: it gives up a pass under way, which rc_heap_free also does.
 * Steps are collections of kind RC_GC_INCREMENT for gc callbacks and debug
 * lines, with their own row (rc_gc_get_increment_stats); CPython 3.13 has
 * no counterpart (docs/gc-module.md). */

/* Turn incremental collection of the old generation on (the default) or
 * off; off, automatic collection runs a full collection where a pass would
 * start, and a pass under way is given up (nothing freed). */
RC_API void rc_gc_set_incremental(rc_heap *heap, int on);
RC_API int rc_gc_get_incremental(const rc_heap *heap);

/* ---- parallel full collection ---- */

/* RC_PARALLEL_MAX and RC_PARALLEL_MIN_DEFAULT are in recycle.h. */
/* Run full collections (rc_gc_collect(heap, 2) and the automatic ones) on
 * `threads` threads, the calling one included, once the heap has at least
 * rc_gc_get_parallel_min tracked objects; below that, and with `threads` 1
 * (the default), on the calling thread only. The helper threads count the
 * references between objects and mark the reachable ones (rc_gc_info's
 * helper_marked says how many): they call the types' `traverse` functions,
 * several at once and beside the owning thread, so a traverse must only read
 * (it may not allocate, take locks the program holds, or change any object).
 * Sweeping, finalizers, weak-reference callbacks, clear functions, gc
 * callbacks and every other piece of user code run on the calling thread, as
 * without threads. The collection frees exactly what the single-threaded one
 * frees. The helpers are started by the first collection that uses them
 * (not by this call) and kept, idle, until rc_heap_free or the next change
 * of `threads`; while marking, a helper may call the heap's allocator to
 * grow the list the threads share work through (one call at a time, while
 * the calling thread is inside the collection). A helper that cannot be
 * started (no memory, thread limit) is tried again at the next collection,
 * and until then the collection runs with the threads it has (with none:
 * as without this call). Returns 0, or
 * -1 with RC_EINVAL recorded when `threads` is < 1 or > RC_PARALLEL_MAX
 * (nothing changes), or RC_EBUSY when called while a collection runs (from
 * a finalizer or callback). More threads than cores is allowed and only
 * slower. */
RC_API int rc_gc_set_parallel(rc_heap *heap, int threads);
/* The threads set by rc_gc_set_parallel (1: not parallel). */
RC_API int rc_gc_get_parallel(const rc_heap *heap);
/* The tracked objects from which full collections go parallel
 * (RC_PARALLEL_MIN_DEFAULT; 0: always once rc_gc_set_parallel asked for
 * more than one thread). Below it, helpers cost more than they save. */
RC_API void rc_gc_set_parallel_min(rc_heap *heap, size_t objects);
RC_API size_t rc_gc_get_parallel_min(const rc_heap *heap);

/* The work of each automatic step (units as above); 0, the default, paces
 * steps by allocation: 32 units per tracked allocation since the last, at
 * least 4096, so a pass ends about when the old generation is next due. */
RC_API void rc_gc_set_step_budget(rc_heap *heap, size_t budget);
RC_API size_t rc_gc_get_step_budget(const rc_heap *heap);

/* Run one step of about `budget` units of work (0: one unit) now, starting
 * a pass when none runs (whether automatic collection is on or off, and
 * even with incremental collection off). Returns 1 when this step ended the
 * pass (and freed what it found: rc_gc_get_increment_stats), 0 when the
 * pass goes on or none could start (no old object; out of memory, recorded
 * as RC_ENOMEM), -1 with RC_EBUSY from a finalizer, destroy hook or
 * callback (nothing done). A program that wants the old generation collected
 * without a long pause calls it in a loop, doing its own work between. */
RC_API int rc_gc_step(rc_heap *heap, size_t budget);

/* ---- debugging (gc.set_debug) ---- */

#define RC_GC_DEBUG_STATS         1u   /* a line at the start and end of each collection */
#define RC_GC_DEBUG_COLLECTABLE   2u   /* a line per collectable object found */
#define RC_GC_DEBUG_UNCOLLECTABLE 4u   /* a line per uncollectable object found */
#define RC_GC_DEBUG_SAVEALL       32u  /* keep garbage in the garbage list instead of freeing it */
#define RC_GC_DEBUG_LEAK (RC_GC_DEBUG_COLLECTABLE | RC_GC_DEBUG_UNCOLLECTABLE | RC_GC_DEBUG_SAVEALL)

/* Python's gc.set_debug / gc.get_debug: the RC_GC_DEBUG_* flags of `heap`
 * (0 = none, the default). Lines go to the debug stream, in CPython's words:
 *   gc: collecting generation 2...
 *   gc: objects in each generation: 12 0 4093
 *   gc: objects in permanent generation: 0
 *   gc: collectable <node2 0x7f...>
 *   gc: done, 2 unreachable, 0 uncollectable, 0.0001s elapsed
 * A candidate scan (old objects whose count dropped; not a generation) says
 * "gc: scanning N candidates (old objects)..." and "gc: done (candidate
 * scan), ...". "unreachable" is what rc_gc_collect returns (collected plus
 * uncollectable); "uncollectable" counts rc_gc_info.uncollectable plus what
 * RC_GC_DEBUG_SAVEALL saved (kept alive, so not collectable here). O(1). */
RC_API void rc_gc_set_debug(rc_heap *heap, unsigned flags);
RC_API unsigned rc_gc_get_debug(const rc_heap *heap);

/* Where debug lines go: `stream` (not closed by recycle; it must outlive its
 * use), or stderr when NULL (the default). */
RC_API void rc_gc_set_debug_stream(rc_heap *heap, FILE *stream);
/* The stream debug lines go to (stderr unless set). */
RC_API FILE *rc_gc_get_debug_stream(const rc_heap *heap);

/* Python's gc.garbage: the heap's list of objects a collection found
 * unreachable and kept because RC_GC_DEBUG_SAVEALL was set (BORROWED: the heap
 * owns it; it lives until rc_heap_free). Created empty on first use; NULL
 * with RC_ENOMEM if that fails. The list is ordinary: remove items (or
 * rc_list_clear it) and a later collection frees them. Disturbs: making
 * it on first use may start a collection and counts a generation-0
 * allocation; to look without making it, use rc_gc_garbage_into. */
RC_API rc_list *rc_gc_garbage(rc_heap *heap);

/* ---- objects (gc.is_tracked, gc.is_finalized, gc.get_objects, ...) ----
 *
 * The calls that walk the heap return NULL (or -1) with RC_EBUSY when called
 * while objects are being freed (from a finalizer, destroy hook or weak
 * reference callback that runs during a free burst): blocks on the pending
 * list cannot be told from live ones then. From a gc callback, from a
 * finalizer run by a collection and from ordinary code they work. */

/* Whether the collector scans `obj` (Python's gc.is_tracked). Objects of
 * types with no references (str, leaf types) and of RC_TYPE_ACYCLIC types
 * never are. O(1). */
RC_API int rc_gc_is_tracked(const void *obj);

/* Whether the finalizer of `obj` has run (Python's gc.is_finalized, PEP 442):
 * at most once per object, so a resurrected object says 1 for good. O(1). */
RC_API int rc_gc_is_finalized(const void *obj);

/* Stop scanning `obj` (CPython's PyObject_GC_UnTrack): the collector will
 * never free it as part of a cycle, so only untrack an object that can never
 * be in one. It leaves the generation counts as its death would: out of its
 * generation's population (rc_heap_stats.gen_objects, the freeze count for a
 * frozen object) and one off the young count of rc_gc_get_count, so
 * untracking and tracking again in a loop starts no collection; it leaves
 * the candidate buffer if it was there. 0 (also when it was not tracked,
 * and for a dying object -- count 0, seen from a destroy hook or a callback
 * of its free -- which is off the books already; debug builds stop there,
 * as at any use of a freed object), -1 with RC_EBUSY during a collection's
 * scan. O(1) (O(objects waiting to be freed) while a free
 * burst runs). -1 with RC_EINVAL, recorded as the thread's error
 * (rc_thread_error), for an object of a frozen region (never written),
 * as rc_gc_track. */
RC_API int rc_gc_untrack(void *obj);

/* Scan `obj` again, as a new generation-0 object (PyObject_GC_Track): one
 * more in generation 0 and in the young count, whatever generation it left
 * (a frozen object untracked and tracked again is young, not frozen). 0
 * (also when already tracked), -1 with RC_EINVAL when its type holds no
 * references or is RC_TYPE_ACYCLIC (never tracked) or the object is dying
 * (count 0; debug builds stop there), RC_ENOMEM, or RC_EBUSY during a scan.
 * O(1), as rc_gc_untrack. */
RC_API int rc_gc_track(void *obj);

/* Python's gc.get_objects(generation): a NEW list of the tracked objects of
 * `generation` (0, 1, 2, or 3 = frozen), or of all of them for -1 (frozen
 * included, unlike CPython), the list itself left out; called from a
 * collection's finalizer or callback, that collection's unreachable objects
 * are left out too (as in CPython). NULL with RC_EINVAL
 * (bad generation), RC_ENOMEM or RC_EBUSY. Cost: O(pages of that generation
 * + objects found); -1, 2 and 3 walk every page of tracked objects.
 * Disturbs (see "quiet queries" below): may start a collection, counts a
 * generation-0 allocation, and dropping the list makes its old objects
 * candidates. The quiet form is rc_gc_get_objects_into. */
RC_API rc_list *rc_gc_get_objects(rc_heap *heap, int generation);

/* Python's gc.get_referrers(*objs): a NEW list of the tracked objects that
 * hold a reference to any of objs[0..n-1], each once, the list itself left
 * out (frozen objects are searched, unlike CPython), and, from a collection's
 * finalizer or callback, that collection's unreachable objects. NULL with RC_ENOMEM or
 * RC_EBUSY. Cost: one walk over every tracked object and every reference it
 * holds -- O(heap) per call, as in CPython. To ask for many objects, build
 * an rc_refindex once instead (it also counts untracked holders).
 * Disturbs as rc_gc_get_objects, except that it starts no collection (objs
 * are borrowed: a collection's callbacks and finalizers could free them);
 * the quiet form is rc_gc_get_referrers_into. */
RC_API rc_list *rc_gc_get_referrers(rc_heap *heap, void *const *objs, size_t n);

/* Python's gc.get_referents(*objs): a NEW list of the objects that
 * objs[0..n-1] reference directly (as their types' traverse reports them;
 * an object referenced twice appears twice). NULL with RC_ENOMEM, RC_EBUSY,
 * or RC_EINVAL when an object of objs belongs to another heap (the message
 * names it). O(references of objs). Objects of untracked and RC_TYPE_ACYCLIC
 * types are asked like any other. Disturbs as rc_gc_get_objects, except that
 * it starts no collection (objs are borrowed); the quiet form is
 * rc_gc_get_referents_into. */
RC_API rc_list *rc_gc_get_referents(rc_heap *heap, void *const *objs, size_t n);

/* ---- quiet queries: looking without disturbing ----
 *
 * The list-returning queries above (and rc_gc_garbage's first use, and
 * rc_weakref_list) make a tracked rc_list, which disturbs the heap they
 * report on: making it may start an automatic collection (not for the
 * queries about objects the caller passes, whose arguments it borrows:
 * rc_gc_get_referrers, rc_gc_get_referents, rc_weakref_list) and adds one
 * to the generation-0 count, and the list holds a reference to each object,
 * so dropping it lowers every old object's count without reaching zero --
 * each becomes a candidate for the next collection.
 *
 * Each has a quiet form that fills the caller's array instead: it stores
 * BORROWED pointers in buf[0 .. min(total, cap) - 1] and returns the total,
 * so a caller whose array was too small calls again with a bigger one (cap
 * 0 with buf NULL only counts). It allocates no object, takes and drops no
 * reference and runs none of the program's code (no callback, finalizer or
 * hook: nothing can re-enter it), so it cannot start a collection, and the
 * generation counts (rc_gc_get_count), the candidate buffer
 * (rc_gc_get_candidate_count) and every refcount are as they were. It
 * answers what the list form would, in the same order.
 *
 * Borrowed means nothing keeps the objects alive: the pointers stay valid
 * until the program does something that can free an object (rc_decref,
 * a collection, anything that allocates a tracked object). rc_incref one
 * to keep it -- a later rc_decref of an old object makes it a candidate, as
 * every rc_decref does. Between two calls nothing of the heap changes
 * unless the program changes it (malloc'ing a bigger array does not).
 *
 * Safe to call from anywhere, a gc callback, finalizer, destroy hook or
 * weak-reference callback included, with the same refusals as the list
 * forms: the heap walks (_objects_into, _referrers_into) refuse while
 * objects are being freed or scanned, rc_gc_get_referents_into during a
 * scan. Errors: SIZE_MAX, with the error recorded on the heap (nothing is
 * recorded for a NULL heap): RC_EINVAL for a NULL buf with cap > 0 and for
 * the arguments the list form refuses, RC_EBUSY. buf is left as it was
 * then. Cost: the list form's, without the list.
 *
 * Why an array and not a visitor callback: a callback would run the
 * program's code in the middle of a walk, which then has to forbid or
 * survive allocation (a collection, pages coming and going), frees (of the
 * object visited or the next one on a weak-reference chain or the garbage
 * list) and nested queries; protecting the items with references would
 * itself make candidates. An array has no such cases: the walk finishes
 * before the program runs again. And copying a pointer per object costs
 * next to nothing beside the walk.
 */

/* rc_gc_get_objects without disturbing (above): the tracked objects of
 * `generation` (0, 1, 2, 3 = frozen, -1 = all). SIZE_MAX with RC_EINVAL
 * (bad generation; buf NULL with cap > 0) or RC_EBUSY. rc_heap_get_stats'
 * gen_objects[generation] (their sum for -1) bounds the total. */
RC_API size_t rc_gc_get_objects_into(rc_heap *heap, int generation, void **buf, size_t cap);

/* rc_gc_get_referrers without disturbing: the tracked objects holding a
 * reference to any of objs[0..n-1], each once (an object of another heap
 * has none here). SIZE_MAX with RC_EINVAL (objs NULL with n > 0; buf NULL
 * with cap > 0), RC_ENOMEM (the object set, for n > 8: side-table memory,
 * no object) or RC_EBUSY. O(heap). */
RC_API size_t rc_gc_get_referrers_into(rc_heap *heap, void *const *objs, size_t n, void **buf,
                                       size_t cap);

/* rc_gc_get_referents without disturbing: what objs[0..n-1] refer to
 * directly, an object referenced twice twice; NULL entries of objs are
 * skipped. SIZE_MAX with RC_EINVAL (objs NULL with n > 0, buf NULL with
 * cap > 0, an object of another heap: the message names it) or RC_EBUSY
 * (during a scan). O(references of objs). */
RC_API size_t rc_gc_get_referents_into(rc_heap *heap, void *const *objs, size_t n, void **buf,
                                       size_t cap);

/* rc_gc_garbage without disturbing: the objects in the heap's garbage list,
 * in order (items that are not objects -- values the program appended --
 * are left out); 0 when the list was never made, which this call does not
 * make. SIZE_MAX with RC_EINVAL (buf NULL with cap > 0). O(list length). */
RC_API size_t rc_gc_garbage_into(rc_heap *heap, void **buf, size_t cap);

/* The number of objects in the candidate buffer: old objects whose count
 * dropped without reaching zero since the last scan, which the next candidate
 * scan or collection examines (docs/ARCHITECTURE.md). 0 for a NULL heap. O(1). */
RC_API size_t rc_gc_get_candidate_count(const rc_heap *heap);

/* ---- freezing (gc.freeze, gc.unfreeze, gc.get_freeze_count) ---- */

/* Move every tracked object to the permanent generation (3): no collection
 * will scan it again -- a forking server's copy-on-write friend and a way to
 * make collections cheap after start-up. The collection counts restart at 0.
 * 0, or -1 with RC_EBUSY. O(tracked objects): recycle keeps no per-object
 * lists, so this walks the pages (CPython splices lists in O(1)). */
RC_API int rc_gc_freeze(rc_heap *heap);
/* Move every frozen object back to the oldest generation (2). 0, or -1 with
 * RC_EBUSY. O(tracked objects). */
RC_API int rc_gc_unfreeze(rc_heap *heap);
/* Number of frozen objects. O(1). */
RC_API size_t rc_gc_get_freeze_count(const rc_heap *heap);

/* ---- checking the heap ---- */

/* Walk `heap` and check everything the collector relies on (the invariants
 * of docs/ARCHITECTURE.md: page books and free lists, young page lists, the
 * candidate buffer, generation counts, no collector scratch state left in
 * headers) and, most useful to a program, every object's refcount against
 * the references objects of the heap hold to it. An object referenced more
 * often than its refcount says has had one rc_incref too few (or one
 * rc_decref too many) and will be freed while still referenced; the report
 * names it, its type, its refcount, the number of references and who holds
 * them, e.g.
 *   recycle: heap check: 'node' object at 0x7f.. has refcount 1 but 2 references
 *   from objects of the heap: one rc_incref too few (or one rc_decref too many) ...
 *   recycle: heap check:   'node' object at 0x7f.. is referred to by: 'list' 0x7f.., 'node' 0x7f..
 * Slots pointing at freed blocks, at another heap's objects or at no object
 * are reported too. Each problem is a line on `out` (nothing is printed when
 * `out` is NULL; the first 50 problems in full).
 * Returns the number of problems (0: healthy), or -1 with RC_EBUSY while
 * objects are being freed or scanned (from a destroy hook or a finalizer
 * run by a free burst), RC_ENOMEM without memory for its table (malloc'd:
 * the heap's allocator is not used, so checking changes no count), or for a
 * NULL heap. From a gc callback or a finalizer run by a collection it
 * works, without the checks of scratch state that only hold outside a
 * collection. Cost: O(pages + objects + references) and 4 bytes per block;
 * each of the first 16 objects with too small a refcount costs one more
 * walk over every reference. Builds with RC_EXPENSIVE run it before and
 * after every collection and stop the program with its report when it
 * finds anything. */
RC_API long rc_heap_check(rc_heap *heap, FILE *out);

/* ---- stress mode ---- */

/* Collect at every allocation of a tracked object (CPython's
 * gc.set_threshold(1), QuickJS's FORCE_GC_AT_MALLOC): a young collection
 * each time, generation 1 every 8th, and a full collection every 64th once
 * as many allocations as an eighth of the tracked objects were made since
 * the last one (so a big heap stays linear); a scan of buffered candidates
 * (at most 1024 objects) every 16th. A reference the collector cannot see
 * (a traverse that misses a slot) then frees its object within a few
 * allocations instead of much later. Only while automatic
 * collection is enabled (rc_gc_disable stops it too); thresholds are ignored
 * meanwhile and the young back-off is off. `on`: 1 on, 0 off. Heaps start
 * with the config's gc_stress, whose default follows the environment
 * variable RC_GC_STRESS. Slow: for tests. O(1). */
RC_API void rc_gc_set_stress(rc_heap *heap, int on);
/* Whether `heap` is in stress mode. */
RC_API int rc_gc_get_stress(const rc_heap *heap);

/* ---- who refers to what, for many objects in one pass ----
 *
 * CPython answers gc.get_referrers by walking the whole heap on every call,
 * so asking about k objects costs k heap walks. An rc_refindex is a snapshot
 * of every reference in the heap, inverted: built in two walks (count, then
 * fill -- a compressed sparse row layout), it then answers "who refers to X"
 * for any object in O(1). Referrers are every object that can hold
 * references (tracked, untracked by rc_gc_untrack, or of an RC_TYPE_ACYCLIC
 * type); targets are every
 * object, those that hold no references (str, leaf types) included.
 *
 * A snapshot: it holds no references and is not updated. After any change
 * to the heap (an allocation, a free, a container edit) its answers may be
 * stale and its pointers may name freed memory; asking about an object that
 * did not exist when it was built gives an empty answer. Free it before the
 * heap.
 */
typedef struct rc_refindex rc_refindex;

/* Build the index of `heap`. NULL with RC_ENOMEM or RC_EBUSY.
 * Time: O(objects + references): two traversals of every object that holds
 * references, plus a walk over page headers.
 * Memory: 8 bytes per reference plus 8 per block below each page's high-water
 * mark (free blocks in partly used pages included), plus 24 per page;
 * counted in the heap's buffer_bytes while it lives. */
RC_API rc_refindex *rc_refindex_build(rc_heap *heap);

/* The objects that held a reference to `obj` when the index was built, as a
 * BORROWED array of `*n` user pointers (NULL when *n == 0). A referrer holding
 * several references to obj appears that many times. O(1). */
RC_API void *const *rc_refindex_referrers(const rc_refindex *idx, const void *obj, size_t *n);

/* Objects and references the index counted. O(1). */
RC_API size_t rc_refindex_objects(const rc_refindex *idx);
RC_API size_t rc_refindex_references(const rc_refindex *idx);

/* Free the index (NULL is fine). */
RC_API void rc_refindex_free(rc_refindex *idx);

#ifdef __cplusplus
}
#endif
#endif
