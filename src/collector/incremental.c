/*
 * incremental.c -- the old generation's incremental pass: a search in
 * budgeted steps, run between the program's own work, that finds the old
 * objects worth a verdict (docs/ARCHITECTURE.md, "Bounded pauses on a
 * growing heap", has the design and its invariants). The verdict itself,
 * one atomic trial deletion over what the search found, is trial.c's
 * (rc__collect_step), and only it frees anything.
 *
 * The search never writes an object header. Each page of tracked objects
 * that exists when the pass starts (the snapshot) gets a side table, one
 * 16-bit entry per block, all of them in one zero-filled allocation:
 *   MEMBER   the block held an old (generation 2, tracked) object when the
 *            count walk reached it
 *   MARK     the search found it reachable from a member held from outside
 *   count    references counted to it from members (saturating)
 * Phases, each resumable at any block:
 *   COUNT    walk the snapshot: each old object becomes a member and adds
 *            one to the count of each referent that has an entry
 *   MARK     walk it again: a member whose refcount exceeds its count is
 *            held from outside, a root; mark from it, depth first, with a
 *            stack kept between steps
 *   GATHER   walk it a third time: unmarked members still old and alive go
 *            into `found`, the set the verdict tries
 * The program runs between steps and may change anything; the search can
 * then be wrong either way, which only changes what the verdict looks at.
 * The pass names a block by its page's place in the snapshot and its place
 * in the page (a `ref`), never by address: a page that empties during the
 * pass goes back to the system at once (alloc.c leaves NULL in its place in
 * heap->snapshot and forgets its table), and a ref into it is then skipped.
 * A ref to a page still there reads a live object, or a free block (refcnt
 * 0, skipped), or an object made since in the freed block's place, which
 * the verdict may look at safely.
 */
#include "collector/collector.h"

#define SIDE_MEMBER 0x8000u
#define SIDE_MARK 0x4000u
#define SIDE_COUNT 0x3fffu

enum { PASS_COUNT, PASS_MARK, PASS_GATHER, PASS_DONE };

struct rc_pass {
    int phase;
    uint16_t *side;      /* every snapshot page's table, one allocation (pass_mem) */
    size_t side_bytes;
    size_t page_i;       /* the walk's cursor: page, then block within it */
    size_t block_i;
    rc_vec stack;        /* refs of marked members not yet expanded */
    rc_vec found;        /* GATHER's result: refs, then (the verdict) objects */
    rc_heap *h;
    size_t visits;       /* work done in this step */
    size_t free_seen;    /* free blocks walked past */
    bool oom;            /* a vector could not grow: the pass is given up */
};

/* The entry of `c` in its page's side table, or NULL when c is not in the
 * snapshot (another heap's object, an untracked page, a page made since);
 * *ref is c's ref. */
RC_INLINE uint16_t *side_of(const rc_heap *h, const rc_head *c, uintptr_t *ref)
{
    const rc_page *pg = rc__page_of(c);
    if (pg->heap != h || !pg->side) return NULL;
    uint64_t off = (uint64_t)((const char *)c - ((const char *)pg + RC_PAGE_HEADER));
    size_t i = (size_t)((off * pg->side_recip) >> 32);
    *ref = (uintptr_t)pg->snap_index << 16 | i;
    return pg->side + i;
}

/* Blocks of `pg` handed out so far (its bump pointer moves during a pass). */
RC_INLINE size_t blocks_of(rc_page *pg)
{
    if (pg->flags & RC_PAGE_LARGE) return 1;
    return (size_t)(pg->bump - rc__page_first(pg)) / pg->block_size;
}

RC_INLINE rc_head *block_at(rc_page *pg, size_t i)
{
    return (rc_head *)(rc__page_first(pg) + i * pg->block_size);
}

/* The block a ref names, or NULL when its page went back to the system or
 * the block is free. Pages hold fewer than 2^16 blocks. */
RC_INLINE rc_head *deref(const rc_heap *h, uintptr_t ref)
{
    rc_page *pg = h->snapshot.items[ref >> 16];
    if (!pg) return NULL;
    rc_head *o = block_at(pg, ref & 0xffff);
    return o->refcnt ? o : NULL;
}

/* Whether `o`, a live block, holds an old tracked object. */
RC_INLINE bool is_old(const rc_head *o)
{
    return (o->gc & (RC__TRACKED | RC__GEN_MASK)) == (RC__TRACKED | 2u);
}

/* The pass's memory (side tables, stack, found set): blocks of at least
 * RC_PASS_MAP bytes are mappings of their own, zero-filled by the system
 * page by page as they are touched and given back whole at the end of the
 * pass, whatever the C allocator would keep; smaller ones come from the
 * allocator's realloc and are cleared here. *bytes is rounded up to what
 * pass_mem_free must be given. */
#define RC_PASS_MAP ((size_t)RC_PAGE_SIZE)
static void *pass_mem(rc_heap *h, size_t *bytes)
{
    if (*bytes >= RC_PASS_MAP) {
        *bytes = (*bytes + RC_PAGE_SIZE - 1) & ~(size_t)(RC_PAGE_SIZE - 1);
        return h->cfg.allocator.map(h->cfg.allocator.ud, *bytes);
    }
    void *t = h->cfg.allocator.realloc(h->cfg.allocator.ud, NULL, *bytes);
    if (t) memset(t, 0, *bytes);
    return t;
}

static void pass_mem_free(rc_heap *h, void *t, size_t bytes)
{
    if (!t) return;
    if (bytes >= RC_PASS_MAP) h->cfg.allocator.unmap(h->cfg.allocator.ud, t, bytes);
    else h->cfg.allocator.realloc(h->cfg.allocator.ud, t, 0);
}

/* Append to the stack or the found set, which double through pass_mem. */
static bool push(rc_heap *h, rc_vec *v, uintptr_t item)
{
    if (v->len == v->cap) {
        if (v->cap > SIZE_MAX / 4 / sizeof(void *)) return false;
        size_t bytes = (v->cap ? v->cap * 2 : 256) * sizeof(void *);
        void **n = pass_mem(h, &bytes);
        if (!n) return false;
        if (v->len) memcpy(n, v->items, v->len * sizeof(void *));
        pass_mem_free(h, v->items, v->cap * sizeof(void *));
        v->items = n;
        v->cap = bytes / sizeof(void *);
    }
    v->items[v->len++] = (void *)item;
    return true;
}

static void pass_free(rc_heap *h, struct rc_pass *p)
{
    for (size_t i = 0; i < h->snapshot.len; i++) {
        rc_page *pg = h->snapshot.items[i];
        if (pg) pg->side = NULL;
    }
    pass_mem_free(h, p->side, p->side_bytes);
    rc__vec_free(h, &h->snapshot);
    h->snapshot_gone = 0;
    pass_mem_free(h, p->stack.items, p->stack.cap * sizeof(void *));
    pass_mem_free(h, p->found.items, p->found.cap * sizeof(void *));
    h->cfg.allocator.realloc(h->cfg.allocator.ud, p, 0);
    h->pass = NULL;
    h->step_due = false;
    rc__young_limit_update(h);
}

void rc__pass_abandon(rc_heap *h)
{
    if (h->pass) pass_free(h, h->pass);
}

/* Start a pass: the snapshot and its side tables. O(pages): the tables are
 * one allocation, for big heaps a mapping the system fills with zeros as
 * the walks touch it. */
static bool pass_start(rc_heap *h)
{
    rc_vec *all = &h->pages[1];
    size_t entries = 0;
    for (size_t i = 0; i < all->len; i++) entries += ((rc_page *)all->items[i])->capacity;
    if (!entries || all->len > ((size_t)1 << (sizeof(uintptr_t) * 8 - 17))) return false;
    struct rc_pass *p = h->cfg.allocator.realloc(h->cfg.allocator.ud, NULL, sizeof *p);
    if (!p) return false;
    memset(p, 0, sizeof *p);
    p->h = h;
    p->side_bytes = entries * sizeof(uint16_t);
    p->side = pass_mem(h, &p->side_bytes);
    bool ok = p->side != NULL;
    while (ok && h->snapshot.cap < all->len) ok = rc__vec_grow(h, &h->snapshot);
    if (!ok) {
        pass_mem_free(h, p->side, p->side_bytes);
        rc__vec_free(h, &h->snapshot);
        h->cfg.allocator.realloc(h->cfg.allocator.ud, p, 0);
        return false;
    }
    size_t at = 0;
    for (size_t i = 0; i < all->len; i++) {
        rc_page *pg = all->items[i];
        pg->side = p->side + at;
        pg->side_recip = (pg->flags & RC_PAGE_LARGE)
                             ? 0
                             : (uint32_t)((((uint64_t)1 << 32) + pg->block_size - 1) / pg->block_size);
        pg->snap_index = (uint32_t)i;
        at += pg->capacity;
        h->snapshot.items[h->snapshot.len++] = pg;
    }
    h->pass = p;
    return true;
}

/* ---- the three walks ---- */

static void count_ref(rc_head *c, void *ctx)
{
    struct rc_pass *p = ctx;
    uintptr_t ref;
    p->visits++;
    uint16_t *e = side_of(p->h, c, &ref);
    if (e && (*e & SIDE_COUNT) != SIDE_COUNT) (*e)++;
}

static void mark_ref(rc_head *c, void *ctx)
{
    struct rc_pass *p = ctx;
    uintptr_t ref;
    p->visits++;
    uint16_t *e = side_of(p->h, c, &ref);
    if (!e || (*e & (SIDE_MEMBER | SIDE_MARK)) != SIDE_MEMBER) return;
    *e |= SIDE_MARK;
    if (!push(p->h, &p->stack, ref)) p->oom = true;
}

/* Expand marked members until the stack is empty or the budget is spent. */
static void drain_marks(struct rc_pass *p, size_t budget)
{
    while (p->stack.len && p->visits < budget && !p->oom) {
        rc_head *o = deref(p->h, (uintptr_t)p->stack.items[--p->stack.len]);
        p->visits++;
        if (o) rc__foreach_ref(o, mark_ref, p);   /* NULL: freed since */
    }
}

/* What one phase does with block i of the page at the cursor. */
static void visit_block(struct rc_pass *p, rc_page *pg, size_t i, size_t budget)
{
    rc_head *o = block_at(pg, i);
    uint16_t *e = &pg->side[i];
    if (!o->refcnt) {   /* a free block: one read, a 64th of a unit */
        p->visits += (++p->free_seen & 63) == 0;
        return;
    }
    p->visits++;
    uintptr_t ref = (uintptr_t)p->page_i << 16 | i;
    switch (p->phase) {
    case PASS_COUNT:
        if (!is_old(o)) return;
        *e |= SIDE_MEMBER;
        rc__foreach_ref(o, count_ref, p);
        return;
    case PASS_MARK:
        if ((*e & (SIDE_MEMBER | SIDE_MARK)) != SIDE_MEMBER || o->refcnt <= (*e & SIDE_COUNT)) return;
        *e |= SIDE_MARK;
        if (!push(p->h, &p->stack, ref)) p->oom = true;
        drain_marks(p, budget);
        return;
    default:   /* PASS_GATHER */
        if ((*e & (SIDE_MEMBER | SIDE_MARK)) != SIDE_MEMBER || !is_old(o)) return;
        if (!push(p->h, &p->found, ref)) p->oom = true;
        return;
    }
}

bool rc__pass_search(rc_heap *h, size_t budget, size_t *visits, rc_vec **found)
{
    *found = NULL;
    *visits = 0;
    if (!h->pass && !pass_start(h)) return false;
    struct rc_pass *p = h->pass;
    p->visits = 0;
    if (!budget) budget = 1;
    while (p->phase != PASS_DONE && p->visits < budget && !p->oom) {
        if (p->phase == PASS_MARK && p->stack.len) {
            drain_marks(p, budget);
            continue;
        }
        if (p->page_i == h->snapshot.len) {
            p->phase++;
            p->page_i = p->block_i = 0;
            continue;
        }
        rc_page *pg = h->snapshot.items[p->page_i];
        size_t n = pg ? blocks_of(pg) : 0;   /* NULL: gone back to the system */
        while (p->block_i < n && p->visits < budget && !p->oom) visit_block(p, pg, p->block_i++, budget);
        if (p->block_i >= n) {
            p->page_i++;
            p->block_i = 0;
        }
    }
    *visits = p->visits;
    if (p->oom) {
        pass_free(h, p);   /* nothing freed, nothing lost: the next pass starts over */
        return false;
    }
    if (p->phase != PASS_DONE) return false;
    /* The verdict's set, as objects: what is still there. */
    size_t k = 0;
    for (size_t i = 0; i < p->found.len; i++) {
        rc_head *o = deref(h, (uintptr_t)p->found.items[i]);
        if (o) p->found.items[k++] = o;
    }
    p->found.len = k;
    *found = &p->found;
    return true;
}
