/*
 * util/blockids.h -- the one block numbering, and what is counted by it.
 *
 *   numbers   every block below a page's bump pointer (a large page's one
 *             block) gets a dense number: its page's base plus its position
 *             in the page. From an object it is found in O(1) (page index,
 *             then a multiply by the block size's reciprocal), so side
 *             tables indexed by it cost a few bytes per block, not a hash
 *             table. Users: the leak tools, the end-of-heap report, the
 *             rc_refindex (gcmodule/inspect.c).
 *   walks     RC__FOREACH_LIVE: each live block of every page of one kind.
 *   sizes     rc__block_bytes (the block), rc__self_size (the block plus a
 *             list's or dict's buffers, or what a user type's extra_size
 *             says it owns: rc_self_size).
 *   inrefs    rc__inrefs: how many references objects of the heap hold to
 *             each block (refcount minus it is what C code holds).
 */
#ifndef RC_UTIL_BLOCKIDS_H
#define RC_UTIL_BLOCKIDS_H

#include "core/objects.h"

/* Blocks of pg that were ever handed out: those below its bump pointer, or
 * a large page's one block. */
static inline size_t rc__page_nblocks(const rc_page *pg)
{
    return pg->flags & RC_PAGE_LARGE ? 1 : (size_t)(pg->bump - ((const char *)pg + RC_PAGE_HEADER)) / pg->block_size;
}

/* The bytes of a block of pg (header included). */
static inline size_t rc__block_bytes(const rc_page *pg)
{
    return (pg->flags & RC_PAGE_LARGE) ? pg->map_size - RC_PAGE_HEADER : pg->block_size;
}

/* for (each live block o, in page pg, of the pages of kind t (1: tracked)
 * of heap h) BODY; `o` is an rc_head *, `pg` an rc_page *. `continue` goes
 * to the next block; leave the walk with goto or return (a `break` only
 * skips a block). BODY must not free. */
#define RC__FOREACH_LIVE(h, t, pg, o, ...)                                      \
    do {                                                                         \
        rc_vec *rc_v_ = &(h)->pages[(t)];                                        \
        for (size_t rc_i_ = 0; rc_i_ < rc_v_->len; rc_i_++) {                    \
            rc_page *pg = rc_v_->items[rc_i_];                                   \
            (void)pg;                                                            \
            RC__FOREACH_BLOCK(pg, o) {                                           \
                if (!rc__block_live(o)) continue;                                \
                __VA_ARGS__                                                      \
            }                                                                    \
        }                                                                        \
    } while (0)

typedef struct rc_blockpage {
    rc_page *pg;
    size_t base;         /* number of its first block */
    uint32_t nslots;     /* rc__page_nblocks when numbered */
    uint32_t recip;      /* ceil(2^32 / block_size): offset * recip >> 32 is the slot */
} rc_blockpage;

typedef struct rc_blockids {
    rc_heap *h;
    rc_blockpage *pages[2];   /* by kind, in heap->pages order */
    size_t npages[2];
    size_t nslots;            /* blocks numbered: numbers run from 0 to nslots - 1 */
} rc_blockids;

/* Number the blocks of every page of h. false on RC_ENOMEM (recorded,
 * naming `call`; x then needs no rc__blockids_free). O(pages); 24 bytes
 * per page, through the heap's allocator. */
bool rc__blockids_init(rc_heap *h, rc_blockids *x, const char *call);
void rc__blockids_free(rc_blockids *x);

/* The number of block o, or SIZE_MAX when o is not in a page numbered by x
 * (another heap, or a page made since). O(1). */
static inline size_t rc__blockid(const rc_blockids *x, const rc_head *o)
{
    const rc_page *pg = rc__page_of(o);
    if (pg->heap != x->h) return SIZE_MAX;
    int t = pg->flags & RC_PAGE_TRACKED ? 1 : 0;
    if (pg->index >= x->npages[t] || x->pages[t][pg->index].pg != pg) return SIZE_MAX;
    const rc_blockpage *bp = &x->pages[t][pg->index];
    /* Exact for block starts: the offset is below 2^16 and a multiple of
     * the block size, so the rounding error stays below one (see
     * rc__blockids_init). Large pages have recip 0: slot 0. */
    uint64_t off = (uint64_t)((const char *)o - ((const char *)pg + RC_PAGE_HEADER));
    size_t slot = (size_t)((off * bp->recip) >> 32);
    if (slot >= bp->nslots) return SIZE_MAX;
    return bp->base + slot;
}

/* in[id] = references objects of the heap hold to block id (saturating at
 * UINT32_MAX). A new zeroed array of x->nslots counters (free it with
 * rc__buf_free(h, in, x->nslots * sizeof *in)), or NULL on RC_ENOMEM
 * (recorded, naming `call`). O(objects + references). */
uint32_t *rc__inrefs(rc_heap *h, const rc_blockids *x, const char *call);

/* The references to o from outside the heap, given its in-heap count. */
static inline size_t rc__external_refs(const rc_head *o, size_t inrefs)
{
    return o->refcnt > inrefs ? o->refcnt - inrefs : 0;
}

/* The bytes o accounts for: its block, plus a list's item buffer or a
 * dict's entries and index (rc_self_size). */
size_t rc__self_size(const rc_head *o);

#endif
