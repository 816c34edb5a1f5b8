/*
 * recycle/leak.h -- hunting leaks: objgraph's toolbox in C, and what objgraph
 * lacks. When memory grows, these calls say what grew, who holds it, and
 * draw it. docs/leak-hunting.md walks through a hunt and gives objgraph's
 * name for every call.
 *
 *   counting      rc_count, rc_typestats, rc_most_common_types,
 *                 rc_show_most_common_types, rc_by_type
 *   growth        rc_growth_* (objgraph's growth / show_growth),
 *                 rc_mark_* and rc_get_new_ids (objects created since a mark)
 *   holders       rc_external_refs, rc_get_roots, rc_show_roots: objects held
 *                 from outside the heap (by C code: a local, a global, a
 *                 forgotten rc_decref)
 *   chains        rc_find_ref_chain, rc_find_backref_chain, rc_why_alive
 *   pictures      rc_show_refs, rc_show_backrefs, rc_show_chain (Graphviz DOT,
 *                 rendered to PNG/SVG/PDF when `dot` is installed)
 *   beyond        rc_domtree_*, rc_retained (what would be freed with an
 *                 object), rc_trace_* (allocation sites, tracemalloc-style
 *                 snapshots and comparisons), rc_heapsnapshot_* (Chrome
 *                 DevTools / memlab .heapsnapshot files)
 *
 * A frozen region's objects (rc_region_freeze): the calls that walk the
 * heap of the object they are given (rc_external_refs, the chains,
 * rc_why_alive, rc_retained, the pictures) refuse one with RC_EINVAL,
 * recorded as the calling thread's error (rc_thread_error): the region's
 * heap is no thread's to walk or allocate in. rc_self_size and
 * rc_trace_site only read it; a heap of yours that holds the region is
 * walked as ever, its references into the region followed and only read.
 *
 * Words used below:
 *   in-heap references  references that objects of the heap hold (what their
 *                 types' traverse or slots report; weak references hold none).
 *   external references of an object  its refcount minus its in-heap
 *                 references: references held by C code. An object with
 *                 external references > 0 is a "root" -- a holder from outside.
 *                 A forgotten rc_decref shows up as one reference too many.
 *   result arrays  tables returned by these calls (rows, chains' arrays)
 *                 are allocated with the heap's allocator and freed with the
 *                 free call of their row type (rc_typestat_free,
 *                 rc_growth_row_free, rc_root_free, rc_trace_stat_free,
 *                 rc_chain_free; NULL is fine); they hold no references
 *                 and stay valid after the heap is freed (the allocator must
 *                 still work).
 *   borrowed object pointers  the objects named in results (chains, roots,
 *                 dominator trees) are not held: they stay valid only while
 *                 something else keeps them alive. rc_incref one to keep it.
 *
 * Walking the heap: every call that walks the heap (nearly all of them)
 * returns its error value with RC_EBUSY when called while objects are being
 * freed or scanned by a collection (from a finalizer, destroy hook or weak
 * reference callback that runs during a free burst); see <recycle/gc.h>.
 * Calls record errors on the heap (rc_heap_error, rc_heap_error_message): RC_ENOMEM
 * when memory for a side table runs out (nothing is changed), RC_EINVAL for a
 * bad argument. Side tables are allocated per call and freed before it
 * returns; their cost is given with each call, for N live objects and E
 * references.
 *
 * A heap is used by one thread at a time: so are these calls.
 */
#ifndef RECYCLE_LEAK_H
#define RECYCLE_LEAK_H

#include "../recycle.h"
#include "builtins.h"
#include "gc.h"
#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes `obj` costs (sys.getsizeof): its block (header included,
 * rc_usable_size + 16) plus the variable buffers it owns (a list's item
 * buffer, a dict's tables, what a user type's extra_size reports). O(1). */
RC_API size_t rc_self_size(const void *obj);

/* The sum of the reference counts of every live object of `heap`
 * (sys.gettotalrefcount, in every build): compare it before and after a
 * call to see whether the call kept references. SIZE_MAX for a NULL heap,
 * or with RC_EBUSY while objects are being freed or scanned (from a
 * destroy hook, say). O(objects): one walk over the pages. */
RC_API size_t rc_total_refcount(rc_heap *heap);

/* ------------------------------------------------------------------------
 * Counting (objgraph's count, typestats, most_common_types,
 * show_most_common_types, by_type)
 *
 * Every live object counts, tracked or not (objgraph counts only what
 * Python's gc tracks). Types are told apart by name: two rc_types with the
 * same name count as one, as objgraph counts by __name__.
 * Cost: one walk over the pages, O(N) reads of object headers; no side table
 * beyond one entry per distinct type.
 * --------------------------------------------------------------------- */

/* Live objects whose type is named `type_name` (objgraph.count). 0 when
 * none, or with RC_EINVAL for a NULL name, RC_EBUSY (see above). */
RC_API size_t rc_count(rc_heap *heap, const char *type_name);

/* One row of a table of types. `name` points into the array's own storage. */
typedef struct rc_typestat {
    const char *name;
    size_t count;     /* live objects */
    size_t bytes;     /* their rc_self_size, summed */
} rc_typestat;

/* Free an array of rc_typestat rows (NULL is fine). */
RC_API void rc_typestat_free(rc_typestat *rows);

/* Every type with live objects, most objects first (ties by name), in a
 * result array of *n rows (objgraph.typestats; free with rc_typestat_free).
 * NULL with *n = 0 when the heap is empty (not an error), or on RC_ENOMEM /
 * RC_EBUSY. */
RC_API rc_typestat *rc_typestats(rc_heap *heap, size_t *n);

/* The first `limit` rows of rc_typestats (limit 0: objgraph's 10)
 * (objgraph.most_common_types). */
RC_API rc_typestat *rc_most_common_types(rc_heap *heap, size_t limit, size_t *n);

/* Print rc_most_common_types(heap, limit) to `out` (stdout when NULL), one
 * "name count" line per type, names padded to one width, as objgraph does:
 *     tree_node 8388607
 *     list            3
 * Returns the number of lines, or -1 on error. */
RC_API long rc_show_most_common_types(rc_heap *heap, size_t limit, FILE *out);

/* A NEW list of the live objects whose type is named `type_name`
 * (objgraph.by_type). The list holds references, so while it lives every
 * object in it has one more in-heap referrer: drop it (or pass it to the
 * ignore list of a chain or graph call) before asking why they are alive.
 * NULL with RC_EINVAL, RC_ENOMEM or RC_EBUSY. */
RC_API rc_list *rc_by_type(rc_heap *heap, const char *type_name);

/* ------------------------------------------------------------------------
 * Growth (objgraph's growth, show_growth, get_new_ids)
 * --------------------------------------------------------------------- */

/* Flags for the calls that look at the whole heap. By default they first run
 * a full collection (rc_gc_collect(heap, 2)), as objgraph runs gc.collect(), so
 * that garbage waiting for the collector does not show as growth. */
#define RC_LEAK_NO_COLLECT    1u   /* count what is there now (objgraph issue 61) */
#define RC_LEAK_COLLECT_YOUNG 2u   /* collect generations 0-1 and the candidates only:
                                      new garbage, at a fraction of a full collection */
#define RC_LEAK_SKIP_UPDATE   4u   /* rc_get_new_ids: leave the mark where it was */

/* The peak count of every type seen by the growth calls (objgraph's
 * peak_stats). NULL with RC_ENOMEM. Holds no references; free it with
 * rc_growth_free before or after the heap. */
typedef struct rc_growth rc_growth;
RC_API rc_growth *rc_growth_new(rc_heap *heap);
RC_API void rc_growth_free(rc_growth *g);

typedef struct rc_growth_row {
    const char *name;   /* points into the array's own storage */
    size_t count;       /* live objects now */
    size_t delta;       /* count minus the previous peak (> 0) */
} rc_growth_row;

/* Free an array of rc_growth_row rows (NULL is fine). */
RC_API void rc_growth_row_free(rc_growth_row *rows);

/* objgraph.growth: count the objects of each type (after a collection unless
 * `flags` say otherwise), and return the types whose count went above their
 * peak in `g` since the last call, biggest increase first (ties by name), at
 * most `limit` of them (0: objgraph's 10; SIZE_MAX: all), in a result array of
 * *n rows; the peaks are raised. The first call reports every type (the
 * peaks start at 0). NULL with *n = 0 when nothing grew, or on error
 * (RC_ENOMEM, RC_EBUSY; the peaks are then unchanged).
 * Cost: the collection, plus one walk over the pages (O(N)). */
RC_API rc_growth_row *rc_growth_check(rc_growth *g, size_t limit, unsigned flags, size_t *n);

/* objgraph.show_growth: rc_growth_check, printed to `out` (stdout when NULL)
 * as objgraph does, one "name count +delta" line per type:
 *     record        1000     +1000
 * Returns the number of lines (0: nothing grew), or -1 on error. */
RC_API long rc_show_growth(rc_growth *g, size_t limit, unsigned flags, FILE *out);

/*
 * A mark: which objects were alive at some moment, to ask later which were
 * created since (objgraph's get_new_ids, without its memory cost: one bit
 * per block of the pages plus one row per type, about N/8 bytes).
 *
 * Exactness: an object that was created in the block of one that died since
 * the mark counts as old, as objgraph's id() comparison does when Python
 * reuses an address. When allocation sites are traced (rc_trace_start)
 * continuously from before the mark, creation serial numbers make the
 * answer exact instead.
 */
typedef struct rc_mark rc_mark;

/* A mark of the objects alive now. NULL with RC_ENOMEM or RC_EBUSY.
 * Cost: one walk over the pages (O(N)). Free with rc_mark_free. */
RC_API rc_mark *rc_mark_new(rc_heap *heap);
RC_API void rc_mark_free(rc_mark *m);

/* Move the mark to now. 0, or -1 with RC_ENOMEM / RC_EBUSY (the mark is then
 * unchanged). O(N). */
RC_API int rc_mark_update(rc_mark *m);

/* A NEW list of the live objects created since the mark whose type is named
 * `type_name` (NULL: all), the list itself left out, in page order (the
 * order of the heap's pages and of the blocks in each: not creation order).
 * NULL with RC_ENOMEM or RC_EBUSY. O(N). */
RC_API rc_list *rc_mark_new_objects(rc_mark *m, const char *type_name);

/*
 * objgraph.get_new_ids: after a collection (unless RC_LEAK_NO_COLLECT),
 * print to `out` (nothing when NULL) a table of the types with objects
 * created since the mark, most new objects first, at most `limit` rows
 * (0: objgraph's 10; SIZE_MAX: all):
 *     type            old       now       new
 *     record            0      1000     +1000
 * (old: objects of the type at the mark, now: objects now, new: objects
 * created since the mark that are still alive), then move the mark to now
 * unless RC_LEAK_SKIP_UPDATE. Returns a NEW list of the new objects (every
 * type), or NULL with RC_ENOMEM / RC_EBUSY. O(N).
 */
RC_API rc_list *rc_get_new_ids(rc_mark *m, size_t limit, unsigned flags, FILE *out);

/* ------------------------------------------------------------------------
 * Holders from outside the heap
 * --------------------------------------------------------------------- */

/* References to `obj` held from outside the heap: rc_refcount(obj) minus the
 * references objects of its heap hold to it. One walk over every object
 * and reference (O(N + E)), no side table. 0 with RC_EBUSY. With an
 * rc_refindex at hand, rc_refcount(obj) minus the number of its referrers
 * is the same figure in O(1). */
RC_API size_t rc_external_refs(const void *obj);

typedef struct rc_root {
    void *obj;          /* BORROWED */
    size_t external;    /* references from outside the heap (> 0) */
} rc_root;

/* Free an array of rc_root rows (from rc_get_roots or rc_domtree_top; NULL
 * is fine). */
RC_API void rc_root_free(rc_root *rows);

/* The objects held from outside the heap, in page order, in a result array
 * of *n rows (objgraph's get_leaking_objects, for C: what your code holds).
 * `index` may be NULL (one is built for the call and freed) or an
 * rc_refindex of the heap built since the last change. NULL with *n = 0 when
 * none (not an error), or on RC_ENOMEM / RC_EBUSY.
 * Cost: O(N + E), plus the index if built (see rc_refindex_build). */
RC_API rc_root *rc_get_roots(rc_heap *heap, const rc_refindex *index, size_t *n);

/* Print the objects held from outside the heap, grouped by type, most
 * objects first, at most `limit` types (0: 10), to `out` (stdout when NULL):
 *     type    objects  references
 *     dict          1           1
 * Returns the number of lines (the heading included), or -1 on error.
 * O(N + E), with 4 bytes per block of the pages for the counts. */
RC_API long rc_show_roots(rc_heap *heap, size_t limit, FILE *out);

/* ------------------------------------------------------------------------
 * Chains (objgraph's find_ref_chain, find_backref_chain; why alive)
 *
 * Breadth-first searches: a chain found is a shortest one. The search keeps,
 * per visited object, 16 bytes of queue plus one bit per block of the pages
 * (N/8 bytes); backward searches also need an rc_refindex (built per call
 * unless given: 8 bytes per reference and per block).
 * --------------------------------------------------------------------- */

/* A chain of objects, each referring to the next: objs[i] refers to
 * objs[i + 1] through the reference described by labels[i] ("[3]" for a list
 * or tuple item, "[\"key\"]" for a dict value, "key" for a dict key, "slot 1"
 * for a slots type, "ref 2" for the third reference a traverse reports).
 * labels[len - 1] is "". Objects are BORROWED. Free with rc_chain_free. */
typedef struct rc_chain {
    size_t len;              /* >= 1 */
    void **objs;
    const char **labels;
    int found;               /* 1: the search succeeded; 0: objs is the start object alone */
    size_t holder_refs;      /* rc_why_alive: external references to objs[0] */
    size_t target_refs;      /* rc_why_alive: external references to objs[len - 1] */
} rc_chain;

RC_API void rc_chain_free(rc_chain *c);

/* Print a chain to `out` (stdout when NULL), one object per line with the
 * label of the reference that leads to the next. 0, or -1 on a write error. */
RC_API int rc_chain_print(const rc_chain *c, FILE *out);

/* Predicate of a chain search: non-zero when `obj` is what is looked for. */
typedef int (*rc_pred_fn)(void *obj, void *ud);

typedef struct rc_chain_opts {
    size_t max_depth;           /* references followed at most; 0: 20 (objgraph's), SIZE_MAX: no limit */
    void *const *ignore;        /* objects never put on a chain (objgraph's extra_ignore) */
    size_t nignore;
    const rc_refindex *index;   /* backward searches: a prebuilt index of the heap, or NULL */
} rc_chain_opts;

/* objgraph.find_ref_chain: the shortest chain [obj, ..., target] that starts
 * at `obj` and follows references to an object for which pred returns
 * non-zero (obj itself included: then the chain is [obj]). When there is
 * none within max_depth, the chain [obj] with found = 0. `opts` may be NULL.
 * NULL with RC_EINVAL (NULL obj or pred), RC_ENOMEM or RC_EBUSY. O(N + E) at
 * worst; it stops at the first level that holds a target. */
RC_API rc_chain *rc_find_ref_chain(void *obj, rc_pred_fn pred, void *ud, const rc_chain_opts *opts);

/* objgraph.find_backref_chain: the shortest chain [holder, ..., obj] in
 * which pred(holder) is non-zero and each object refers to the next, found
 * by following referrers back from obj. [obj] with found = 0 when there is
 * none within max_depth. As rc_find_ref_chain otherwise. */
RC_API rc_chain *rc_find_backref_chain(void *obj, rc_pred_fn pred, void *ud, const rc_chain_opts *opts);

/*
 * Why is `obj` alive? The shortest chain [holder, ..., obj] from the nearest
 * object held from outside the heap (external references > 0) down to obj,
 * printed to `out` (nothing when NULL) as
 *     why is tree_node 0x7f3a4c010040 alive?
 *       tree_node 0x7f3a4c000090 is held from outside the heap: 1 reference (refcount 3, 2 from the heap)
 *       which refers through slot 0 to tree_node 0x7f3a4c0000b8
 *       ...
 * and returned (found = 1, holder_refs = the holder's external references).
 * obj's own external references are reported too (target_refs), and do not
 * end the search: the answer names what else keeps it. When no holder
 * exists, found = 0 and the chain is [obj]; the printout says whether obj is
 * held only from outside (target_refs > 0) or is garbage a full collection
 * will free. When allocation sites are traced, each line says where its
 * object was created. max_depth defaults to no limit. NULL with RC_EINVAL,
 * RC_ENOMEM or RC_EBUSY.
 * Cost: a backward search through referrers that usually stops after a
 * few objects (O(N + E) at worst, 16 bytes per object visited), plus
 * building an rc_refindex when opts->index is NULL (O(N + E), 8 bytes per
 * reference and per block): pass one to ask about many objects.
 */
RC_API rc_chain *rc_why_alive(void *obj, FILE *out, const rc_chain_opts *opts);

/* ------------------------------------------------------------------------
 * Pictures (objgraph's show_refs, show_backrefs, show_chain)
 *
 * A graph is written as Graphviz DOT. Each node's label is the type name, a
 * short description (list and tuple length, dict size, the first bytes of a
 * str, whether a weak reference is dead) and the optional lines asked for;
 * each edge carries the slot, index or key it goes through. Every string is
 * escaped: quotes, backslashes, newlines, control bytes and bytes that are
 * not valid UTF-8 are written so that no label can break the DOT syntax.
 *
 * Where it goes: opts->output (a FILE *, DOT) when set; else `filename`:
 * "x.dot" or "x.gv" gets DOT; "x.png", "x.svg" or "x.pdf" gets a picture made
 * by running Graphviz's `dot -T<fmt>` (no shell involved) on a temporary DOT
 * file. When `dot` is not installed the DOT is written to "x.dot" instead,
 * the call returns RC_GRAPH_DOT_ONLY and a message says how to install
 * Graphviz (apt-get install graphviz).
 * --------------------------------------------------------------------- */

enum {
    RC_GRAPH_OK = 0,        /* written as asked */
    RC_GRAPH_DOT_ONLY = 1,  /* Graphviz missing (or failed): the DOT file was written instead */
};

/* Called by node_attrs once per attribute to add to a node; both strings are
 * escaped when written. */
typedef void (*rc_dot_attr_fn)(void *attr_ctx, const char *name, const char *value);

typedef struct rc_graph_opts {
    size_t max_depth;           /* levels drawn from the start objects; 0: 3 (objgraph's) */
    size_t too_many;            /* neighbours drawn per object before an "N more" node; 0: 10 */
    void *const *ignore;        /* objects never drawn (objgraph's extra_ignore) */
    size_t nignore;
    int (*filter)(void *obj, void *ud);      /* 0: leave obj out (and what lies beyond it) */
    int (*highlight)(void *obj, void *ud);   /* non-zero: draw obj highlighted */
    /* Write extra label text for obj into buf (NUL-terminated, size bytes at
     * most) -- objgraph's extra_info. */
    void (*extra_info)(void *obj, char *buf, size_t size, void *ud);
    /* Add node attributes for obj by calling add(attr_ctx, name, value) --
     * objgraph's extra_node_attrs. */
    void (*node_attrs)(void *obj, rc_dot_attr_fn add, void *attr_ctx, void *ud);
    /* The name obj goes by in your program (a variable's, say), drawn before
     * its type: "a: list". NULL or "" for none. */
    const char *(*name)(void *obj, void *ud);
    void *ud;                   /* passed to the five callbacks above */
    int refcounts;              /* non-zero: show each object's refcount and external references */
    const rc_refindex *index;   /* a prebuilt index of the heap (backrefs, refcounts), or NULL */
    FILE *output;               /* write DOT here instead of to a file */
    FILE *log;                  /* messages ("Graph written to x.dot (5 nodes)"); NULL: stderr */
    int quiet;                  /* non-zero: no messages */
} rc_graph_opts;

/* objgraph.show_refs: the objects objs[0..n-1] (borrowed; NULLs skipped) and
 * what they refer to, up to max_depth references away. RC_GRAPH_OK,
 * RC_GRAPH_DOT_ONLY, or -1 with RC_EINVAL (no object, no destination, an
 * unknown extension), RC_ENOMEM, RC_EBUSY, or RC_ENOTFOUND when a file could
 * not be written (errno says why). `opts` may be NULL.
 * Cost: O(nodes drawn x their references), plus an index when refcounts are
 * asked for without one (O(N + E)). */
RC_API int rc_show_refs(void *const *objs, size_t n, const char *filename, const rc_graph_opts *opts);

/* objgraph.show_backrefs: the objects and what refers to them, up to
 * max_depth referrers away. As rc_show_refs; needs an index: opts->index, or
 * one built for the call (O(N + E) time, 8 bytes per reference and block). */
RC_API int rc_show_backrefs(void *const *objs, size_t n, const char *filename, const rc_graph_opts *opts);

/* objgraph.show_chain: the objects of chains[0..n-1] and the references
 * between consecutive ones. A chain from rc_why_alive also gets a node
 * "outside the heap" with an edge to its holder. max_depth, too_many and
 * filter do not apply. As rc_show_refs otherwise. */
RC_API int rc_show_chain(const rc_chain *const *chains, size_t n, const char *filename,
                  const rc_graph_opts *opts);

/* ------------------------------------------------------------------------
 * Retained size (what objgraph lacks): the bytes that would be freed if an
 * object died, from the dominator tree of the object graph.
 *
 * The graph has a virtual root that refers to every object held from
 * outside the heap; x dominates y when every path from the root to y passes
 * through x. The retained size of x is the sum of rc_self_size over the
 * objects x dominates, x included: exactly what refcounting and a collection
 * would free if x's references went. Objects no root reaches (garbage
 * waiting for a collection) are outside the tree: retained size 0.
 * --------------------------------------------------------------------- */

typedef struct rc_domtree rc_domtree;

/* Build the dominator tree of the heap (Lengauer-Tarjan, iterative). `index`
 * may be NULL (one is built and freed) or an index of the heap built since
 * its last change. NULL with RC_ENOMEM, RC_EBUSY, or RC_EINVAL past 4 G
 * objects. Time: O((N + E) log N). Memory while building: 48 bytes per live
 * object and 4 per block of the pages, plus the index (8 bytes per reference
 * and per block) unless given; the tree keeps 20 bytes per live object and 4
 * per block. A snapshot: like an rc_refindex its answers go stale when the
 * heap changes, and it must be freed before the heap. */
RC_API rc_domtree *rc_domtree_build(rc_heap *heap, const rc_refindex *index);
RC_API void rc_domtree_free(rc_domtree *t);

/* Retained bytes of obj (0: not reachable from a root, or born after the
 * build). O(1). */
RC_API size_t rc_domtree_retained_size(const rc_domtree *t, const void *obj);

/* The immediate dominator of obj (BORROWED): the nearest object every path
 * to obj passes through. NULL when obj is held from outside directly (the
 * virtual root dominates it) or not reachable. O(1). */
RC_API void *rc_domtree_dominator(const rc_domtree *t, const void *obj);

/* Objects reachable from a root, and their bytes (the sum of rc_self_size). */
RC_API size_t rc_domtree_objects(const rc_domtree *t);
RC_API size_t rc_domtree_bytes(const rc_domtree *t);

/* The `k` objects with the largest retained sizes, largest first, in a
 * result array of *n rows (rows' `external` field holds the retained bytes).
 * O(N log k). NULL with *n = 0 when the tree is empty, or on RC_ENOMEM. */
RC_API rc_root *rc_domtree_top(const rc_domtree *t, size_t k, size_t *n);

/* One-call form: build, ask about obj, free. 0 on error (recorded). */
RC_API size_t rc_retained(void *obj);

/* ------------------------------------------------------------------------
 * Allocation sites (tracemalloc for recycle heaps)
 *
 * While a heap traces, every object created records its site: the file and
 * line given to rc_new_at (or by rc_new and the built-ins' constructors when
 * RC_TRACE_SITES is defined before including <recycle.h>), and with depth > 0 a short C backtrace
 * (execinfo's backtrace(), up to `depth` frames). Objects created before
 * tracing started, or by rc_new without a site and with depth 0, have the
 * unknown site. Cost while tracing: a hash table of 24-byte entries kept at
 * most half full (24 to 48 bytes per live object), about 10 ns per rc_new
 * and per death (bench: `recycle bench leak`), plus the backtrace when asked
 * for (about a microsecond).
 * --------------------------------------------------------------------- */

#define RC_TRACE_MAX_DEPTH 16

/* Start tracing (depth: frames of backtrace per site, 0 to RC_TRACE_MAX_DEPTH;
 * larger is clamped; where the C library has no backtrace, e.g. musl, sites
 * have file and line only). Already tracing: the depth changes for new
 * objects. 0, or -1 with RC_ENOMEM. */
RC_API int rc_trace_start(rc_heap *heap, unsigned depth);

/* Stop tracing and forget every site. Nothing to do when not tracing;
 * rc_heap_free stops a heap that still traces. */
RC_API void rc_trace_stop(rc_heap *heap);

/* Whether `heap` traces allocation sites. */
RC_API int rc_trace_is_tracing(const rc_heap *heap);

/* Where `obj` was created: 1 with *file and *line set (file may be "?" when
 * only a backtrace was recorded), 0 when unknown. O(1). */
RC_API int rc_trace_site(const void *obj, const char **file, int *line);

/* A snapshot of the traced objects, grouped by site: a standalone copy (it
 * outlives the heap; it holds no object). NULL with RC_EINVAL (not tracing),
 * RC_ENOMEM. Cost: O(traced objects). */
typedef struct rc_trace_snapshot rc_trace_snapshot;
RC_API rc_trace_snapshot *rc_trace_take_snapshot(rc_heap *heap);
RC_API void rc_trace_snapshot_free(rc_trace_snapshot *s);

/* One site of a snapshot or of a comparison. Strings point into the
 * array's own storage. */
typedef struct rc_trace_stat {
    const char *file;        /* "?" for the unknown site */
    int line;                /* 0 when unknown */
    unsigned nframes;        /* backtrace frames (depth > 0) */
    const char *const *frames;  /* symbolised frames, innermost first */
    size_t size;             /* bytes (rc_self_size) of its live objects */
    size_t count;            /* its live objects */
    long long size_diff;     /* compare: size minus the old snapshot's */
    long long count_diff;    /* compare: count minus the old snapshot's */
    int diff;                /* 1 in rows from rc_trace_compare */
} rc_trace_stat;

/* Free an array of rc_trace_stat rows, the strings they point to included
 * (NULL is fine). */
RC_API void rc_trace_stat_free(rc_trace_stat *rows);

/* tracemalloc's Snapshot.statistics('lineno' or 'traceback'): the sites of
 * `s`, biggest size first, in a result array of *n rows. NULL with *n = 0 when
 * empty, or RC_ENOMEM (no heap to record on: check *n and s). */
RC_API rc_trace_stat *rc_trace_statistics(const rc_trace_snapshot *s, size_t *n);

/* tracemalloc's Snapshot.compare_to(old, 'lineno'): every site of either
 * snapshot with its size and count in `now` and the differences from `old`,
 * sorted as tracemalloc sorts (biggest |size_diff| first, then size,
 * |count_diff|, count). NULL with *n = 0 when both are empty or on out of
 * memory. */
RC_API rc_trace_stat *rc_trace_compare(const rc_trace_snapshot *now, const rc_trace_snapshot *old, size_t *n);

/* Print rows (at most `limit`; 0: 10) as tracemalloc prints statistics:
 *     demo.c:42: size=39.1 KiB (+39.1 KiB), count=1000 (+1000), average=40 B
 * with each backtrace frame on a line of its own under its site. */
RC_API void rc_trace_print(const rc_trace_stat *rows, size_t n, size_t limit, FILE *out);

/* ------------------------------------------------------------------------
 * Heap snapshots for Chrome DevTools and memlab
 *
 * The V8 .heapsnapshot JSON format: open it in Chrome's DevTools (Memory
 * panel, Load profile) or analyse it with memlab. One node per live object
 * (type "string" named by its first bytes for a str, else "object" named by
 * its type; id 2 * (k + 1) for the k-th object; self_size = rc_self_size)
 * plus a synthetic root (id 1) whose edges go to every object held from
 * outside the heap; one edge per reference: "element" with the index for
 * list and tuple items, slots and the N-th reference a traverse reports,
 * "property" named by the key for dict values, "internal" named "key" for
 * dict keys, and "weak" from a weak reference to its referent. Every string
 * is escaped as JSON (bytes that are not valid UTF-8 become \u00XX, their
 * Latin-1 reading).
 * --------------------------------------------------------------------- */

/* Write a snapshot of `heap` to `out`. 0, or -1 with RC_ENOMEM, RC_EBUSY,
 * RC_ENOTFOUND (a write error: errno says why).
 * Time: O(N + E) (three walks). Memory: 8 bytes per block of the pages
 * (node numbers and referrer counts) plus the table of distinct strings. */
RC_API int rc_heapsnapshot_write(rc_heap *heap, FILE *out);

/* rc_heapsnapshot_write to the file `path` (created or truncated).
 * -1 with RC_ENOTFOUND when it cannot be opened or written. */
RC_API int rc_heapsnapshot_save(rc_heap *heap, const char *path);

#ifdef __cplusplus
}
#endif
#endif /* RECYCLE_LEAK_H */
