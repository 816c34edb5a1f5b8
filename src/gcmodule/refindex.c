/*
 * refindex.c -- the reference index (rc_refindex): every referrer of every
 * object of a heap, built in two walks over the pages, so that many
 * get_referrers questions cost one build and a lookup each. Refused
 * (RC_EBUSY) when a page walk is not sound (inspect.c's rc__gc_walkable).
 *
 * Blocks are numbered by util/blockids.h (O(1) from a pointer; a page
 * reused or moved since the build is recognised and answers nothing).
 * CSR: off[id] .. off[id + 1] delimit the referrers of block id in refs.
 */
#include "gcmodule/gcmodule.h"
#include "util/blockids.h"
#include "util/edges.h"

struct rc_refindex {
    rc_heap *h;
    rc_blockids ids;
    size_t *off;         /* ids.nslots + 1 */
    void **refs;         /* nrefs referrers (user pointers) */
    size_t nrefs;
    size_t nobjects;
};

typedef struct ri_ctx {
    rc_refindex *x;
    rc_head *from;
} ri_ctx;

static void ri_count_ref(rc_head *child, void *ctx)
{
    ri_ctx *c = ctx;
    size_t id = rc__blockid(&c->x->ids, child);
    if (id != SIZE_MAX) c->x->off[id + 1]++;
}

static bool ri_count(rc_head *o, void *ctx)
{
    ri_ctx *c = ctx;
    c->x->nobjects++;
    rc__foreach_ref(o, ri_count_ref, c);
    return true;
}

static bool ri_count_untracked(rc_head *o, void *ctx)
{
    ((ri_ctx *)ctx)->x->nobjects++;
    (void)o;
    return true;
}

static void ri_fill_ref(rc_head *child, void *ctx)
{
    ri_ctx *c = ctx;
    size_t id = rc__blockid(&c->x->ids, child);
    if (id != SIZE_MAX) c->x->refs[c->x->off[id]++] = c->from + 1;
}

static bool ri_fill(rc_head *o, void *ctx)
{
    ri_ctx *c = ctx;
    c->from = o;
    rc__foreach_ref(o, ri_fill_ref, c);
    return true;
}

void rc_refindex_free(rc_refindex *x)
{
    RC__HEAP_CHECK(x ? x->h : NULL, "rc_refindex_free");
    if (!x) return;
    rc_heap *h = x->h;
    rc__blockids_free(&x->ids);
    if (x->off) rc__buf_free(h, x->off, (x->ids.nslots + 1) * sizeof(size_t));
    if (x->refs) rc__buf_free(h, x->refs, x->nrefs * sizeof(void *));
    h->cfg.allocator.realloc(h->cfg.allocator.ud, x, 0);
}

rc_refindex *rc_refindex_build(rc_heap *h)
{
    RC__HEAP_CHECK(h, "rc_refindex_build");
    if (!h) return NULL;
    if (!rc__gc_walkable(h, "rc_refindex_build")) return NULL;
    rc_refindex *x = h->cfg.allocator.realloc(h->cfg.allocator.ud, NULL, sizeof *x);
    if (!x) return rc__fail(h, RC_ENOMEM, "rc_refindex_build: out of memory");
    memset(x, 0, sizeof *x);
    x->h = h;
    if (!rc__blockids_init(h, &x->ids, "rc_refindex_build")) {
        rc_refindex_free(x);
        return NULL;
    }
    size_t nslots = x->ids.nslots;
    x->off = rc__buf_realloc(h, NULL, 0, (nslots + 1) * sizeof(size_t));
    if (!x->off) goto oom;
    rc__commit(h, x->off, (nslots + 1) * sizeof(size_t));   /* one call, not a fault per page */
    memset(x->off, 0, (nslots + 1) * sizeof(size_t));
    /* count: off[id + 1] = references to id */
    ri_ctx c = {x, NULL};
    rc__gc_walk_pages(&h->pages[1], ri_count, &c);
    rc__gc_walk_pages(&h->pages[0], ri_count_untracked, &c);
    for (size_t i = 0; i < nslots; i++) x->off[i + 1] += x->off[i];
    size_t nrefs = x->off[nslots];
    /* fill: off[id] runs from the start of id's run to its end */
    if (nrefs) {
        x->refs = rc__buf_realloc(h, NULL, 0, nrefs * sizeof(void *));
        if (!x->refs) goto oom;
        rc__commit(h, x->refs, nrefs * sizeof(void *));
        x->nrefs = nrefs;
        rc__gc_walk_pages(&h->pages[1], ri_fill, &c);
    }
    /* now off[id] is the end of id's run = the start of id + 1's: shift */
    memmove(x->off + 1, x->off, nslots * sizeof(size_t));
    x->off[0] = 0;
    return x;
oom:
    rc_refindex_free(x);
    return rc__fail(h, RC_ENOMEM, "rc_refindex_build: out of memory for the index");
}

void *const *rc_refindex_referrers(const rc_refindex *x, const void *obj, size_t *n)
{
    RC__HEAP_CHECK(x ? x->h : NULL, "rc_refindex_referrers");
    size_t dummy;
    if (!n) n = &dummy;
    *n = 0;
    if (!x || !obj) return NULL;
    size_t id = rc__blockid(&x->ids, RC_HEAD(obj));
    if (id == SIZE_MAX) return NULL;
    *n = x->off[id + 1] - x->off[id];
    return *n ? (void *const *)&x->refs[x->off[id]] : NULL;
}

size_t rc_refindex_objects(const rc_refindex *x)
{
    RC__HEAP_CHECK(x ? x->h : NULL, "rc_refindex_objects");
    return x ? x->nobjects : 0;
}

size_t rc_refindex_references(const rc_refindex *x)
{
    RC__HEAP_CHECK(x ? x->h : NULL, "rc_refindex_references");
    return x ? x->nrefs : 0;
}
