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
 * Pages emptied during a pass stay (keep_empty_pages), with their size
 * class, so every pointer the pass holds (the stack, `found`) stays
 * readable: a freed block reads refcnt 0 and is skipped, a reused one holds
 * some live object, which the verdict may look at safely.
 */
#include "collector/collector.h"

#define SIDE_MEMBER 0x8000u
#define SIDE_MARK 0x4000u
#define SIDE_COUNT 0x3fffu

enum { PASS_COUNT, PASS_MARK, PASS_GATHER, PASS_DONE };

struct rc_pass {
    int phase;
    rc_vec pages;        /* the snapshot */
    uint16_t *side;      /* every snapshot page's table, one allocation (side_alloc) */
    size_t side_bytes;
    size_t page_i;       /* the walk's cursor: page, then block within it */
    size_t block_i;
    rc_vec stack;        /* marked members not yet expanded */
    rc_vec found;        /* GATHER's result */
    rc_heap *h;
    size_t visits;       /* work done in this step */
    size_t free_seen;    /* free blocks walked past */
    bool oom;            /* a vector could not grow: the pass is given up */
};

/* The entry of `c` in its page's side table, or NULL when c is not in the
 * snapshot (another heap's object, an untracked page, a page made since). */
RC_INLINE uint16_t *side_of(const rc_heap *h, const rc_head *c)
{
    const rc_page *pg = rc__page_of(c);
    if (pg->heap != h || !pg->side) return NULL;
    uint64_t off = (uint64_t)((const char *)c - ((const char *)pg + RC_PAGE_HEADER));
    return pg->side + ((off * pg->side_recip) >> 32);
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

/* Whether `o`, a live block, holds an old tracked object. */
RC_INLINE bool is_old(const rc_head *o)
{
    return (o->gc & (RC__TRACKED | RC__GEN_MASK)) == (RC__TRACKED | 2u);
}

/* Side tables of at least RC_SIDE_MAP bytes are a mapping of their own
 * (zero-filled by the system page by page as the walks touch it, and given
 * back whole at the end of the pass); smaller ones come from the
 * allocator's realloc and are cleared here. *bytes is rounded up to what
 * side_free must be given. */
#define RC_SIDE_MAP ((size_t)1 << 20)
static uint16_t *side_alloc(rc_heap *h, size_t *bytes)
{
    if (*bytes >= RC_SIDE_MAP) {
        *bytes = (*bytes + RC_PAGE_SIZE - 1) & ~(size_t)(RC_PAGE_SIZE - 1);
        return h->cfg.allocator.map(h->cfg.allocator.ud, *bytes);
    }
    uint16_t *t = h->cfg.allocator.realloc(h->cfg.allocator.ud, NULL, *bytes);
    if (t) memset(t, 0, *bytes);
    return t;
}

static void side_free(rc_heap *h, uint16_t *t, size_t bytes)
{
    if (!t) return;
    if (bytes >= RC_SIDE_MAP) h->cfg.allocator.unmap(h->cfg.allocator.ud, t, bytes);
    else h->cfg.allocator.realloc(h->cfg.allocator.ud, t, 0);
}

static void pass_free(rc_heap *h, struct rc_pass *p)
{
    for (size_t i = 0; i < p->pages.len; i++) {
        rc_page *pg = p->pages.items[i];
        pg->side = NULL;
        pg->side_recip = 0;
    }
    side_free(h, p->side, p->side_bytes);
    rc__vec_free(h, &p->pages);
    rc__vec_free(h, &p->stack);
    rc__vec_free(h, &p->found);
    h->cfg.allocator.realloc(h->cfg.allocator.ud, p, 0);
    h->pass = NULL;
    h->step_due = false;
    rc__young_limit_update(h);
    if (--h->keep_empty_pages == 0) rc__release_empty_pages(h);
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
    if (!entries) return false;
    struct rc_pass *p = h->cfg.allocator.realloc(h->cfg.allocator.ud, NULL, sizeof *p);
    if (!p) return false;
    memset(p, 0, sizeof *p);
    p->h = h;
    p->side_bytes = entries * sizeof(uint16_t);
    p->side = side_alloc(h, &p->side_bytes);
    bool ok = p->side != NULL;
    while (ok && p->pages.cap < all->len) ok = rc__vec_grow(h, &p->pages);
    if (!ok) {
        side_free(h, p->side, p->side_bytes);
        rc__vec_free(h, &p->pages);
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
        at += pg->capacity;
        p->pages.items[p->pages.len++] = pg;
    }
    h->keep_empty_pages++;
    h->pass = p;
    return true;
}

/* ---- the three walks ---- */

static void count_ref(rc_head *c, void *ctx)
{
    struct rc_pass *p = ctx;
    p->visits++;
    uint16_t *e = side_of(p->h, c);
    if (e && (*e & SIDE_COUNT) != SIDE_COUNT) (*e)++;
}

static void mark_ref(rc_head *c, void *ctx)
{
    struct rc_pass *p = ctx;
    p->visits++;
    uint16_t *e = side_of(p->h, c);
    if (!e || (*e & (SIDE_MEMBER | SIDE_MARK)) != SIDE_MEMBER) return;
    *e |= SIDE_MARK;
    if (!rc__vec_push(p->h, &p->stack, c)) p->oom = true;
}

/* Expand marked members until the stack is empty or the budget is spent. */
static void drain_marks(struct rc_pass *p, size_t budget)
{
    while (p->stack.len && p->visits < budget && !p->oom) {
        rc_head *o = p->stack.items[--p->stack.len];
        p->visits++;
        if (o->refcnt) rc__foreach_ref(o, mark_ref, p);   /* refcnt 0: freed since */
    }
}

/* What one phase does with the block at the cursor. */
static void visit_block(struct rc_pass *p, rc_page *pg, size_t i, size_t budget)
{
    rc_head *o = block_at(pg, i);
    uint16_t *e = &pg->side[i];
    if (!o->refcnt) {   /* a free block: one read, a 64th of a unit */
        p->visits += (++p->free_seen & 63) == 0;
        return;
    }
    p->visits++;
    switch (p->phase) {
    case PASS_COUNT:
        if (!is_old(o)) return;
        *e |= SIDE_MEMBER;
        rc__foreach_ref(o, count_ref, p);
        return;
    case PASS_MARK:
        if ((*e & (SIDE_MEMBER | SIDE_MARK)) != SIDE_MEMBER || o->refcnt <= (*e & SIDE_COUNT)) return;
        *e |= SIDE_MARK;
        if (!rc__vec_push(p->h, &p->stack, o)) p->oom = true;
        drain_marks(p, budget);
        return;
    default:   /* PASS_GATHER */
        if ((*e & (SIDE_MEMBER | SIDE_MARK)) != SIDE_MEMBER || !is_old(o)) return;
        if (!rc__vec_push(p->h, &p->found, o)) p->oom = true;
        return;
    }
}

bool rc__pass_search(rc_heap *h, size_t budget, size_t *visits, rc_vec **found)
{
    struct rc_pass *p = h->pass;
    *found = NULL;
    *visits = 0;
    if (!p && !pass_start(h)) return false;
    p = h->pass;
    p->visits = 0;
    if (!budget) budget = 1;
    while (p->phase != PASS_DONE && p->visits < budget && !p->oom) {
        if (p->phase == PASS_MARK && p->stack.len) {
            drain_marks(p, budget);
            continue;
        }
        if (p->page_i == p->pages.len) {
            p->phase++;
            p->page_i = p->block_i = 0;
            continue;
        }
        rc_page *pg = p->pages.items[p->page_i];
        size_t n = blocks_of(pg);
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
    *found = &p->found;
    return true;
}

