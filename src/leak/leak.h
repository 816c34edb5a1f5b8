/*
 * leak.h -- what the leak tools (leak.c, chain.c, graph.c, retained.c,
 * heapsnapshot.c, trace.c) share.
 *
 *   lk_pmap    a small open-addressing map from pointer to size_t, for tables
 *              that only see a few objects (graphs, ignore lists).
 *   labels     lk_edge_label, lk_label_between: an edge of
 *              rc__foreach_edge (util/edges.h) as text.
 *   results    arrays handed to the user carry a hidden header with the
 *              allocator that made them, so lk_result_free (behind each row
 *              type's rc_*_free) needs no heap.
 */
#ifndef RC_LEAK_PRIV_H
#define RC_LEAK_PRIV_H

#include "core/mem.h"
#include "core/objects.h"
#include "util/blockids.h"
#include "util/edges.h"
#include "recycle/builtins.h"
#include "recycle/gc.h"
#include "recycle/leak.h"
#include "util/hash.h"
#include "util/pmap.h"

/* ---- memory ---- */

/* Scratch memory through the heap's allocator, counted in buffer_bytes
 * while it lives (rc__mem_alloc: a big table is faulted in at once). */
static inline void *lk_alloc(rc_heap *h, size_t bytes) { return rc__mem_alloc(rc__mem_heap(h), bytes); }
static inline void *lk_calloc(rc_heap *h, size_t n, size_t size)
{
    return rc__mem_calloc(rc__mem_heap(h), n, size);
}
static inline void lk_free(rc_heap *h, void *p, size_t bytes) { rc__mem_free(rc__mem_heap(h), p, bytes); }

/* A result array of `bytes` for the user, zeroed; NULL on out-of-memory
 * (nothing recorded). Freed by lk_result_free, which the public rc_*_free of
 * each row type calls (NULL is fine). */
void *lk_result_alloc_with(void *(*realloc_fn)(void *ud, void *p, size_t size), void *ud, size_t bytes);
static inline void *lk_result_alloc(rc_heap *h, size_t bytes)
{
    return lk_result_alloc_with(h->cfg.allocator.realloc, h->cfg.allocator.ud, bytes);
}
void lk_result_free(void *rows);

/* Flush `out` and check it for errors: false with RC_EIO recorded (naming
 * `call`, the stream and errno's text) when what was printed did not all
 * get written (full disk, closed pipe). */
bool lk_stream_ok(rc_heap *h, FILE *out, const char *call);

/* Remove the regular file `path` that a failed write left incomplete (never
 * a device such as /dev/full, nor a directory). */
void lk_remove_partial(const char *path);

/* Refuse to walk the heap while its headers are scratch or pending links
 * (records RC_EBUSY naming `call`). */
bool lk_walkable(rc_heap *h, const char *call);

/* ---- bit sets over block numbers ---- */

static inline bool lk_bit(const uint64_t *bits, size_t i) { return (bits[i >> 6] >> (i & 63)) & 1; }
static inline void lk_bit_set(uint64_t *bits, size_t i) { bits[i >> 6] |= (uint64_t)1 << (i & 63); }

/* ---- pointer maps ---- */

/* A pointer -> size_t map: an rc_pmap (util/pmap.h) on the heap's memory,
 * usable from all zeroes (the first put sets it up). */
typedef rc_pmap lk_pmap;

/* The value of key, or SIZE_MAX when absent. */
static inline size_t lk_pmap_get(const lk_pmap *m, const void *key)
{
    const size_t *v = rc__pmap_get(m, key);
    return v ? *v : SIZE_MAX;
}
/* Set key (not NULL) to val; false on out-of-memory (m unchanged). */
static inline bool lk_pmap_put(rc_heap *h, lk_pmap *m, const void *key, size_t val)
{
    if (!m->keys) rc__pmap_init(m, rc__mem_heap(h), sizeof(size_t));
    size_t *v = rc__pmap_put(m, key, NULL);
    if (v) *v = val;
    return v != NULL;
}
static inline void lk_pmap_free(rc_heap *h, lk_pmap *m) { rc__pmap_free(m); }

/* An ignore list as a set of object heads (NULL entries skipped). */
static inline bool lk_ignore_init(rc_heap *h, lk_pmap *m, void *const *objs, size_t n)
{
    return rc__pmap_from_objs(m, rc__mem_heap(h), objs, n);
}
static inline bool lk_ignored(const lk_pmap *m, const rc_head *o) { return lk_pmap_get(m, o) != SIZE_MAX; }

/* ---- labelled references ---- */

/* The label of an edge, as raw bytes (escape before writing them out):
 * "slot 1", "ref 2", "[3]", "key", "[\"name\"]". Returns its length
 * (truncated to size - 1; NUL-terminated when size > 0). */
size_t lk_edge_label(const rc_edge *e, char *buf, size_t size);

/* The label of the first reference from `from` to `to` (the first two,
 * "a, b", when there are several, and ", ..." after them). Empty when none. */
size_t lk_label_between(rc_head *from, rc_head *to, char *buf, size_t size);

/* The weak referent of a weak reference object (NULL when dead or when o is
 * not a weak reference). */
rc_head *lk_weak_referent(rc_head *o);

/* The type name of o ("?" when it has none). */
static inline const char *lk_type_name(const rc_head *o)
{
    return o->type && o->type->name ? o->type->name : "?";
}

/* A short description of o, raw bytes: "3 items", "2 keys", "\"hello\"",
 * "dead", "-> node" or "" (user types). Returns its length. */
size_t lk_short_repr(rc_head *o, char *buf, size_t size);

/* The items of a short list or tuple as Python prints them, objects by
 * type: "[1, 2, 3, <list>]", "(\"a\", 2)"; 0 and "" when o is neither, has
 * more than LK_ITEMS_SHOWN items, or the text does not fit in `size`. */
#define LK_ITEMS_SHOWN 8
size_t lk_items_repr(rc_head *o, char *buf, size_t size);

/* A value as text for keys: 42, 1.5, none, true, "str", <type 0x...>. */
size_t lk_val_repr(rc_val v, char *buf, size_t size);

/* ---- counting by type (leak.c) ---- */

typedef struct lk_tcount {
    const rc_type *type;
    const char *name;
    size_t count, bytes, extra;   /* extra: a second count some callers keep */
} lk_tcount;

/* Rows per type pointer, found through a map; zero it and set h first. */
typedef struct lk_tcounts {
    rc_heap *h;
    lk_tcount *rows;
    size_t len, cap;
    lk_pmap by_type;   /* rc_type -> row */
    bool failed;
} lk_tcounts;

/* The row of type t, added when new; NULL on out-of-memory. */
lk_tcount *lk_tcounts_row(lk_tcounts *tc, const rc_type *t);
/* Merge rows of the same name (the map is dropped: rows moved). */
void lk_tcounts_merge(lk_tcounts *tc);
void lk_tcounts_free(lk_tcounts *tc);
/* qsort order: most objects first, then by name. */
int lk_cmp_by_count(const void *a, const void *b);

/* Count every live object by type pointer in one pass (tc is set up
 * here). false on RC_ENOMEM (recorded with `call`). */
bool lk_count_types(rc_heap *h, lk_tcounts *tc, const char *call);

/* A table of names (copies) with a count each, found by name in O(1).
 * Zero it and set h first. */
typedef struct lk_name_row {
    char *name;
    size_t count;
} lk_name_row;

typedef struct lk_names {
    rc_heap *h;
    lk_name_row *rows;
    size_t len, cap;
    size_t *slots;    /* open addressing: row + 1, 0 = empty */
    size_t nslots;
} lk_names;

/* The row of `name`, or SIZE_MAX. */
size_t lk_names_find(const lk_names *nt, const char *name);
/* Add `name` (absent) with `count`: its row, or SIZE_MAX on out-of-memory
 * (the table unchanged). */
size_t lk_names_add(lk_names *nt, const char *name, size_t count);
void lk_names_free(lk_names *nt);

/* Run the collection the growth flags ask for. */
void lk_collect(rc_heap *h, unsigned flags);

/* ---- trace.c, for the others ---- */

/* The creation serial of o when traced (0 when not), and the epoch of the
 * current tracing (0 when not tracing): serials compare only within one
 * epoch. */
uint64_t rc__trace_serial(rc_heap *h, const rc_head *o);
uint64_t rc__trace_epoch(const rc_heap *h);
uint64_t rc__trace_next_serial(const rc_heap *h);

#endif
