/*
 * inspect.c -- the object side of Python's gc module: is_tracked,
 * track/untrack, get_objects, get_referrers, get_referents, freeze, and the
 * reference index that answers get_referrers for many objects at once.
 *
 * Everything here finds objects by walking pages (recycle keeps no list of
 * objects). A walk is only sound while every block with a non-zero first
 * header word is a live object: not during a collection's scan (the gc
 * fields are scratch) and not while objects are being freed (a pending
 * object's header holds the pending link). walkable() refuses those moments
 * with RC_EBUSY. Between them -- finalizers and callbacks run by a
 * collection -- the collection's garbage carries INSET and is left out, as
 * CPython leaves out its unreachable list: the queries see only the heap
 * the program can reach.
 */
#include "core/objects.h"
#include "recycle/builtins.h"
#include "recycle/gc.h"
#include "util/blockids.h"
#include "util/edges.h"
#include "util/pmap.h"

static bool walkable(rc_heap *h, const char *call)
{
    if (h->scanning || h->freeing) {
        rc__fail(h, RC_EBUSY, "%s: refused while objects are being %s", call,
                 h->scanning ? "scanned by a collection" : "freed");
        return false;
    }
    return true;
}

/* Calls fn(o, ctx) for each live block of the pages in `v`; stops early when
 * fn returns false. Returns false when stopped. */
static bool walk_pages(rc_vec *v, bool (*fn)(rc_head *o, void *ctx), void *ctx)
{
    for (size_t i = 0; i < v->len; i++) {
        rc_page *pg = v->items[i];
        RC__FOREACH_BLOCK(pg, o)
            if (rc__block_live(o) && !fn(o, ctx)) return false;
    }
    return true;
}

/* ---- tracking ---- */

int rc_gc_is_tracked(const void *obj)
{
    RC__CHECK(obj, "rc_gc_is_tracked");
    return (RC_HEAD(obj)->gc & RC__TRACKED) != 0;
}

int rc_gc_is_finalized(const void *obj)
{
    RC__CHECK(obj, "rc_gc_is_finalized");
    return (RC_HEAD(obj)->gc & RC__FINALIZED) != 0;
}

int rc_gc_untrack(void *obj)
{
    RC__CHECK(obj, "rc_gc_untrack");
    rc_head *o = RC_HEAD(obj);
    rc_heap *h = rc_heap_of(obj);
    if (h->scanning) {
        rc__fail(h, RC_EBUSY, "rc_gc_untrack: refused during a collection's scan");
        return -1;
    }
    if (!(o->gc & RC__TRACKED)) return 0;
    if (o->gc & RC__BUFFERED) rc__unbuffer(h, o);
    h->gen_objects[rc__gen(o)]--;
    o->gc &= ~(RC__TRACKED | RC__GEN_MASK);
    return 0;
}

int rc_gc_track(void *obj)
{
    RC__CHECK(obj, "rc_gc_track");
    rc_head *o = RC_HEAD(obj);
    rc_heap *h = rc_heap_of(obj);
    rc_page *pg = rc__page_of(o);
    if (o->gc & RC__TRACKED) return 0;
    if (!rc__type_tracked(o->type) || !(pg->flags & RC_PAGE_TRACKED)) {
        rc__fail(h, RC_EINVAL, "rc_gc_track: a %s holds no references and cannot be tracked",
                 o->type->name ? o->type->name : "?");
        return -1;
    }
    if (h->scanning) {
        rc__fail(h, RC_EBUSY, "rc_gc_track: refused during a collection's scan");
        return -1;
    }
    if (!rc__young_add(h, pg, 0)) {
        rc__fail(h, RC_ENOMEM, "rc_gc_track: out of memory for the young page list");
        return -1;
    }
    o->gc = (o->gc & ~(RC__GEN_MASK | RC__MARK)) | RC__TRACKED | h->mark_flip;   /* generation 0 */
    h->gen_objects[0]++;
    h->count[0]++;
    return 0;
}

/* ---- get_objects ---- */

typedef struct collect_ctx {
    rc_list *out;
    int generation;       /* -1: every tracked object */
    bool failed;
} collect_ctx;

static bool collect_one(rc_head *o, void *ctx)
{
    collect_ctx *c = ctx;
    if (!(o->gc & RC__TRACKED) || (o->gc & RC__INSET) || (void *)(o + 1) == (void *)c->out)
        return true;
    if (c->generation >= 0 && rc__gen(o) != (unsigned)c->generation) return true;
    if (rc_list_append(c->out, rc_obj(o + 1)) != 0) {
        c->failed = true;
        return false;
    }
    return true;
}

rc_list *rc_gc_get_objects(rc_heap *h, int generation)
{
    if (!h) return NULL;
    if (generation < -1 || generation > 3)
        return rc__fail(h, RC_EINVAL, "rc_gc_get_objects: generation %d is not -1, 0, 1, 2 or 3",
                        generation);
    if (!walkable(h, "rc_gc_get_objects")) return NULL;
    rc_list *out = rc_list_new(h, 0);
    if (!out) return NULL;
    /* rc_list_new may have collected, but cannot leave a walk unsafe. */
    collect_ctx c = {out, generation, false};
    /* Generation-0 objects sit on young[0] pages, generation-1 ones on
     * young[1] pages (collect.c); the rest needs every tracked page. */
    rc_vec *pages = generation == 0 ? &h->young[0] : generation == 1 ? &h->young[1] : &h->pages[1];
    walk_pages(pages, collect_one, &c);
    if (c.failed) {
        rc_decref(out);
        return rc__fail(h, RC_ENOMEM, "rc_gc_get_objects: out of memory for the result");
    }
    return out;
}

/* ---- a set of objects, for get_referrers ---- */

typedef struct objset {
    rc_pmap set;             /* the objects' headers; no keys: search `objs` linearly */
    void *const *objs;
    size_t n;
} objset;

static bool objset_init(rc_heap *h, objset *s, void *const *objs, size_t n)
{
    s->objs = objs;
    s->n = n;
    if (n <= 8) {
        rc__pmap_init(&s->set, rc__mem_heap(h), 0);
        return true;
    }
    return rc__pmap_from_objs(&s->set, rc__mem_heap(h), objs, n);
}

static inline bool objset_has(const objset *s, const rc_head *o)
{
    if (!s->set.keys) {
        for (size_t i = 0; i < s->n; i++)
            if (s->objs[i] && RC_HEAD(s->objs[i]) == o) return true;
        return false;
    }
    return rc__pmap_get(&s->set, o) != NULL;
}

static void objset_free(objset *s)
{
    rc__pmap_free(&s->set);
}

/* ---- get_referrers ---- */

typedef struct referrers_ctx {
    objset set;
    rc_list *out;
    bool hit;
    bool failed;
} referrers_ctx;

static void referrer_visit(rc_head *child, void *ctx)
{
    referrers_ctx *c = ctx;
    if (!c->hit && objset_has(&c->set, child)) c->hit = true;
}

static bool referrers_one(rc_head *o, void *ctx)
{
    referrers_ctx *c = ctx;
    if (!(o->gc & RC__TRACKED) || (o->gc & RC__INSET) || (void *)(o + 1) == (void *)c->out)
        return true;
    c->hit = false;
    rc__foreach_ref(o, referrer_visit, c);
    if (c->hit && rc_list_append(c->out, rc_obj(o + 1)) != 0) {
        c->failed = true;
        return false;
    }
    return true;
}

rc_list *rc_gc_get_referrers(rc_heap *h, void *const *objs, size_t n)
{
    if (!h) return NULL;
    if (n && !objs) return rc__fail(h, RC_EINVAL, "rc_gc_get_referrers: objs is NULL");
    if (!walkable(h, "rc_gc_get_referrers")) return NULL;
    rc_list *out = rc_list_new(h, 0);
    if (!out) return NULL;
    referrers_ctx c = {.out = out};
    if (!objset_init(h, &c.set, objs, n)) {
        rc_decref(out);
        return rc__fail(h, RC_ENOMEM, "rc_gc_get_referrers: out of memory for the object set");
    }
    if (n) walk_pages(&h->pages[1], referrers_one, &c);
    objset_free(&c.set);
    if (c.failed) {
        rc_decref(out);
        return rc__fail(h, RC_ENOMEM, "rc_gc_get_referrers: out of memory for the result");
    }
    return out;
}

/* ---- get_referents ---- */

typedef struct referents_ctx {
    rc_list *out;
    bool failed;
} referents_ctx;

static void referent_visit(rc_head *child, void *ctx)
{
    referents_ctx *c = ctx;
    if (!c->failed && rc_list_append(c->out, rc_obj(child + 1)) != 0) c->failed = true;
}

rc_list *rc_gc_get_referents(rc_heap *h, void *const *objs, size_t n)
{
    if (!h) return NULL;
    if (n && !objs) return rc__fail(h, RC_EINVAL, "rc_gc_get_referents: objs is NULL");
    if (h->scanning)
        return rc__fail(h, RC_EBUSY, "rc_gc_get_referents: refused during a collection's scan");
    rc_list *out = rc_list_new(h, 0);
    if (!out) return NULL;
    referents_ctx c = {out, false};
    for (size_t i = 0; i < n && !c.failed; i++) {
        if (!objs[i]) continue;
        RC__CHECK(objs[i], "rc_gc_get_referents");
        if (rc_heap_of(objs[i]) != h) {
            rc_decref(out);
            return rc__fail(h, RC_EINVAL, "rc_gc_get_referents: objs[%zu] (a %s at %p) belongs to another heap",
                            i, rc_typeof(objs[i])->name ? rc_typeof(objs[i])->name : "?", objs[i]);
        }
        rc__foreach_ref(RC_HEAD(objs[i]), referent_visit, &c);
    }
    if (c.failed) {
        rc_decref(out);
        return rc__fail(h, RC_ENOMEM, "rc_gc_get_referents: out of memory for the result");
    }
    return out;
}

/* ---- freezing ---- */

static bool freeze_one(rc_head *o, void *ctx)
{
    rc_heap *h = ctx;
    if (!(o->gc & RC__TRACKED) || rc__gen(o) == 3) return true;
    if (o->gc & RC__BUFFERED) rc__unbuffer(h, o);
    h->gen_objects[rc__gen(o)]--;
    h->gen_objects[3]++;
    o->gc |= 3u;
    return true;
}

int rc_gc_freeze(rc_heap *h)
{
    if (!h) return -1;
    if (!walkable(h, "rc_gc_freeze")) return -1;
    walk_pages(&h->pages[1], freeze_one, h);
    /* Nothing is young, nothing is buffered any more. */
    while (h->young[0].len) rc__young_remove(h, h->young[0].items[h->young[0].len - 1], 0);
    while (h->young[1].len) rc__young_remove(h, h->young[1].items[h->young[1].len - 1], 1);
    if (!h->candidates_live) h->candidates.len = 0;
    for (int g = 0; g < 3; g++) h->count[g] = 0;
    h->old_at_full = 0;
    return 0;
}

static bool unfreeze_one(rc_head *o, void *ctx)
{
    rc_heap *h = ctx;
    if (!(o->gc & RC__TRACKED) || rc__gen(o) != 3) return true;
    o->gc = (o->gc & ~(RC__GEN_MASK | RC__MARK)) | 2u | h->mark_flip;
    h->gen_objects[3]--;
    h->gen_objects[2]++;
    return true;
}

int rc_gc_unfreeze(rc_heap *h)
{
    if (!h) return -1;
    if (!walkable(h, "rc_gc_unfreeze")) return -1;
    if (h->gen_objects[3]) walk_pages(&h->pages[1], unfreeze_one, h);
    return 0;
}

size_t rc_gc_get_freeze_count(const rc_heap *h)
{
    return h->gen_objects[3];
}

/* ---- the reference index ----
 *
 * Blocks are numbered by util/blockids.h (O(1) from a pointer; a page
 * reused or moved since the build is recognised and answers nothing).
 * CSR: off[id] .. off[id + 1] delimit the referrers of block id in refs.
 */

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
    if (!x) return;
    rc_heap *h = x->h;
    rc__blockids_free(&x->ids);
    if (x->off) rc__buf_free(h, x->off, (x->ids.nslots + 1) * sizeof(size_t));
    if (x->refs) rc__buf_free(h, x->refs, x->nrefs * sizeof(void *));
    h->cfg.allocator.realloc(h->cfg.allocator.ud, x, 0);
}

rc_refindex *rc_refindex_build(rc_heap *h)
{
    if (!h) return NULL;
    if (!walkable(h, "rc_refindex_build")) return NULL;
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
    walk_pages(&h->pages[1], ri_count, &c);
    walk_pages(&h->pages[0], ri_count_untracked, &c);
    for (size_t i = 0; i < nslots; i++) x->off[i + 1] += x->off[i];
    size_t nrefs = x->off[nslots];
    /* fill: off[id] runs from the start of id's run to its end */
    if (nrefs) {
        x->refs = rc__buf_realloc(h, NULL, 0, nrefs * sizeof(void *));
        if (!x->refs) goto oom;
        rc__commit(h, x->refs, nrefs * sizeof(void *));
        x->nrefs = nrefs;
        walk_pages(&h->pages[1], ri_fill, &c);
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
    return x ? x->nobjects : 0;
}

size_t rc_refindex_references(const rc_refindex *x)
{
    return x ? x->nrefs : 0;
}
