/*
 * leak.h -- what the leak tools (leak.c, chain.c, graph.c, retained.c,
 * heapsnapshot.c, trace.c) share.
 *
 *   lk_ids     a dense number for every block below a page's bump pointer
 *              (page base + position), found from an object in O(1): side
 *              tables indexed by it cost a few bytes per block, not a hash
 *              table. The same scheme as the rc_refindex's (inspect.c), whose
 *              numbers are private to it.
 *   lk_pmap    a small open-addressing map from pointer to size_t, for tables
 *              that only see a few objects (graphs, ignore lists).
 *   edges      lk_foreach_edge: the references of an object as
 *              rc__foreach_ref reports them, but with the slot, index or key
 *              each goes through, for labels. rc__foreach_ref stays the one
 *              traversal for everything that needs no label; the two must
 *              agree on the multiset of children (tests/test_leak.c checks).
 *   results    arrays handed to the user carry a hidden header with the
 *              allocator that made them, so rc_leak_free needs no heap.
 */
#ifndef RC_LEAK_PRIV_H
#define RC_LEAK_PRIV_H

#include "core/objects.h"
#include "recycle/builtins.h"
#include "recycle/gc.h"
#include "recycle/leak.h"
#include "util/hash.h"
#include "util/pmap.h"

/* ---- memory ---- */

/* Scratch memory through the heap's allocator, counted in buffer_bytes
 * while it lives (rc__buf_realloc). */
static inline void *lk_alloc(rc_heap *h, size_t bytes)
{
    void *p = rc__buf_realloc(h, NULL, 0, bytes ? bytes : 1);
    /* Side tables are written all over at once: fault a big one in with
     * one call rather than a page fault per 4 KiB (a third of the time of
     * a whole-heap pass otherwise). */
    if (p && bytes >= RC_COMMIT_AHEAD) rc__commit(h, p, bytes);
    return p;
}
static inline void *lk_calloc(rc_heap *h, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) return NULL;
    size_t bytes = n * size;
    void *p = lk_alloc(h, bytes);
    if (p) memset(p, 0, bytes ? bytes : 1);
    return p;
}
static inline void lk_free(rc_heap *h, void *p, size_t bytes)
{
    if (p) rc__buf_free(h, p, bytes ? bytes : 1);
}
/* Grow *p (holding *cap items of `size` bytes) to at least `need` items;
 * false on out-of-memory (nothing changed). */
bool lk_grow(rc_heap *h, void **p, size_t *cap, size_t need, size_t size);

/* A result array of `bytes` for the user (freed by rc_leak_free), zeroed;
 * NULL on out-of-memory (nothing recorded). */
void *lk_result_alloc_with(void *(*realloc_fn)(void *ud, void *p, size_t size), void *ud, size_t bytes);
static inline void *lk_result_alloc(rc_heap *h, size_t bytes)
{
    return lk_result_alloc_with(h->cfg.allocator.realloc, h->cfg.allocator.ud, bytes);
}

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

/* ---- walking the pages ---- */

/* The bytes of the block of o (header included). */
static inline size_t lk_block_bytes(const rc_page *pg)
{
    return (pg->flags & RC_PAGE_LARGE) ? pg->map_size - RC_PAGE_HEADER : pg->block_size;
}

/* for (each live block o of the pages of kind t) BODY; `o` is an rc_head *
 * and `ob` the size_t bytes of its block. */
#define LK_FOREACH_BLOCK(h, t, o, ob, ...)                                       \
    do {                                                                          \
        rc_vec *lk_v_ = &(h)->pages[(t)];                                         \
        for (size_t lk_i_ = 0; lk_i_ < lk_v_->len; lk_i_++) {                     \
            rc_page *lk_pg_ = lk_v_->items[lk_i_];                                \
            int lk_large_ = (lk_pg_->flags & RC_PAGE_LARGE) != 0;                 \
            char *lk_end_ = lk_large_ ? rc__page_first(lk_pg_) + 1 : lk_pg_->bump; \
            size_t lk_step_ = lk_large_ ? 1 : lk_pg_->block_size;                 \
            size_t ob = lk_block_bytes(lk_pg_);                                   \
            (void)ob;                                                             \
            for (char *lk_p_ = rc__page_first(lk_pg_); lk_p_ < lk_end_; lk_p_ += lk_step_) { \
                rc_head *o = (rc_head *)lk_p_;                                    \
                if (!rc__block_live(o)) continue;                                 \
                __VA_ARGS__                                                       \
            }                                                                     \
        }                                                                         \
    } while (0)

/* ---- dense block numbers ---- */

typedef struct lk_page {
    rc_page *pg;
    size_t base;
    uint32_t nslots;
    uint32_t recip;      /* ceil(2^32 / block_size): offset * recip >> 32 is the slot */
} lk_page;

typedef struct lk_ids {
    rc_heap *h;
    lk_page *pages[2];
    size_t npages[2];
    size_t nslots;
} lk_ids;

/* Number the blocks of every page of h. false on RC_ENOMEM (recorded with
 * `call`). O(pages); 24 bytes per page. */
bool lk_ids_init(rc_heap *h, lk_ids *x, const char *call);
void lk_ids_free(lk_ids *x);

/* The number of block o, or SIZE_MAX when o is not in a page numbered by x
 * (another heap, or a page made since). O(1). */
static inline size_t lk_id(const lk_ids *x, const rc_head *o)
{
    const rc_page *pg = rc__page_of(o);
    if (pg->heap != x->h) return SIZE_MAX;
    int t = pg->flags & RC_PAGE_TRACKED ? 1 : 0;
    if (pg->index >= x->npages[t] || x->pages[t][pg->index].pg != pg) return SIZE_MAX;
    const lk_page *lp = &x->pages[t][pg->index];
    /* Exact for block starts: the offset is below 2^16 and a multiple of
     * the block size, so the rounding error stays below one (see
     * lk_ids_init). Large pages have recip 0: slot 0. */
    uint64_t off = (uint64_t)((const char *)o - rc__page_first((rc_page *)pg));
    size_t slot = (size_t)((off * lp->recip) >> 32);
    if (slot >= lp->nslots) return SIZE_MAX;
    return lp->base + slot;
}

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

enum {
    LK_EDGE_SLOT,       /* slots type: slot `index` */
    LK_EDGE_REF,        /* traverse type: the index-th reference reported */
    LK_EDGE_ITEM,       /* list or tuple item `index` */
    LK_EDGE_DICT_KEY,   /* a dict's key object (entry `index`) */
    LK_EDGE_DICT_VALUE, /* a dict's value for `key` (entry `index`) */
};

typedef struct lk_edge {
    int kind;
    size_t index;
    rc_val key;         /* LK_EDGE_DICT_VALUE */
} lk_edge;

typedef void (*lk_edge_fn)(rc_head *child, const lk_edge *e, void *ctx);

/* Calls fn(child, edge, ctx) for each reference o holds, in slot / index /
 * entry order (rc__foreach_ref reports the same children, slots in reverse). */
void lk_foreach_edge(rc_head *o, lk_edge_fn fn, void *ctx);

/* The label of an edge, as raw bytes (escape before writing them out):
 * "slot 1", "ref 2", "[3]", "key", "[\"name\"]". Returns its length
 * (truncated to size - 1; NUL-terminated when size > 0). */
size_t lk_edge_label(const lk_edge *e, char *buf, size_t size);

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

/* rc_self_size on a head. */
size_t lk_self_size(const rc_head *o);

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

/* ---- in-heap references ---- */

/* in[id] = references objects of the heap hold to block id (saturating at
 * UINT32_MAX). A new array of x->nslots counters, or NULL on RC_ENOMEM.
 * O(N + E). */
uint32_t *lk_count_inrefs(rc_heap *h, const lk_ids *x, const char *call);

/* The external references of o given its in-heap count. */
static inline size_t lk_external(const rc_head *o, size_t inrefs)
{
    return o->refcnt > inrefs ? o->refcnt - inrefs : 0;
}

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
