/*
 * inspect.c -- the object side of Python's gc module: is_tracked,
 * track/untrack, get_objects, get_referrers, get_referents, and the page
 * walk they share with freeze.c and refindex.c (rc__gc_walkable,
 * rc__gc_walk_pages). Each query has a list form and a quiet form (`_into`,
 * the caller's array; see "where results go" below).
 *
 * Everything here finds objects by walking pages (recycle keeps no list of
 * objects). A walk is only sound while every block with a non-zero first
 * header word is a live object: not during a collection's scan (the gc
 * fields are scratch) and not while objects are being freed (a pending
 * object's header holds the pending link). rc__gc_walkable() refuses those moments
 * with RC_EBUSY. Between them -- finalizers and callbacks run by a
 * collection -- the collection's garbage carries INSET and is left out, as
 * CPython leaves out its unreachable list: the queries see only the heap
 * the program can reach.
 */
#include "gcmodule/gcmodule.h"
#include "builtins/builtins.h"
#include "util/edges.h"
#include "util/pmap.h"

bool rc__gc_walkable(rc_heap *h, const char *call)
{
    RC__HEAP_CHECK(h, call);
    if (h->scanning || h->freeing) {
        rc__fail(h, RC_EBUSY, "%s: refused while objects are being %s", call,
                 h->scanning ? "scanned by a collection" : "freed");
        return false;
    }
    return true;
}

bool rc__gc_walk_pages(rc_vec *v, bool (*fn)(rc_head *o, void *ctx), void *ctx)
{
    for (size_t i = 0; i < v->len; i++) {
        rc_page *pg = v->items[i];
        RC__FOREACH_BLOCK(pg, o)
            if (rc__block_live(o) && !fn(o, ctx)) return false;
    }
    return true;
}

/* ---- tracking ---- */

/* Whether `obj` is dying: its count reached 0 and its finalizer has had its
 * chance, so it is off the collector's books (a destroy hook, or a callback
 * run while it waits on the pending list, may still name it). */
static bool dying(const void *obj)
{
    return rc__refcount(obj, 0) == 0;
}

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
    if (rc__region_refused(obj, "rc_gc_untrack")) return -1;
    rc_head *o = RC_HEAD(obj);
    rc_heap *h = rc_heap_of(obj);
    if (h->scanning) {
        rc__fail(h, RC_EBUSY, "rc_gc_untrack: refused during a collection's scan");
        return -1;
    }
    /* A dying object (its count reached 0) is off the books already. */
    if (!(o->gc & RC__TRACKED) || dying(obj)) return 0;
    if (o->gc & RC__BUFFERED) rc__unbuffer(h, o);
    rc__uncount(h, o);   /* as its death would: its generation, and the young count */
    o->gc &= ~(RC__TRACKED | RC__GEN_MASK);
    return 0;
}

int rc_gc_track(void *obj)
{
    RC__CHECK(obj, "rc_gc_track");
    if (rc__region_refused(obj, "rc_gc_track")) return -1;
    rc_head *o = RC_HEAD(obj);
    rc_heap *h = rc_heap_of(obj);
    rc_page *pg = rc__page_of(o);
    if (dying(obj)) {
        rc__fail(h, RC_EINVAL, "rc_gc_track: the %s at %p is being freed",
                 o->type->name ? o->type->name : "?", obj);
        return -1;
    }
    if (o->gc & RC__TRACKED) return 0;
    if (!rc__type_tracked(o->type) || !(pg->flags & RC_PAGE_TRACKED)) {
        rc__fail(h, RC_EINVAL, "rc_gc_track: a %s %s and cannot be tracked",
                 o->type->name ? o->type->name : "?",
                 pg->flags & RC_PAGE_TRACKED ? "is of a type declared RC_TYPE_ACYCLIC"
                                             : "holds no references");
        return -1;
    }
    if (h->scanning) {
        rc__fail(h, RC_EBUSY, "rc_gc_track: refused during a collection's scan");
        return -1;
    }
    if (!rc__retrack(h, o)) {   /* generation 0 */
        rc__fail(h, RC_ENOMEM, "rc_gc_track: out of memory for the young page list");
        return -1;
    }
    return 0;
}

/* ---- where results go: a new list, or the caller's array ----
 *
 * Every query has two forms (gc.h): the list form appends to a new tracked
 * list (which takes a reference to each object), the quiet form (`_into`)
 * stores borrowed pointers in the caller's array and counts past its end.
 * One walk serves both through a sink; the quiet form allocates no object
 * and touches no refcount. */

typedef struct sink {
    rc_list *list;          /* the list form's result, or NULL */
    void **buf;             /* the quiet form's array (cap entries) */
    size_t cap, n;          /* n: objects found so far */
    bool failed;            /* the list could not grow */
} sink;

static inline bool sink_put(sink *s, rc_head *o)
{
    if (s->list) {
        if (rc_list_append(s->list, rc_obj(o + 1)) != 0) {
            s->failed = true;
            return false;
        }
    } else if (s->n < s->cap) {
        s->buf[s->n] = o + 1;
    }
    s->n++;
    return true;
}

/* Whether `o` is left out of the heap walks: untracked, the running
 * collection's garbage, or the list being filled. */
static inline bool unseen(const sink *s, const rc_head *o)
{
    return !(o->gc & RC__TRACKED) || (o->gc & RC__INSET) || (void *)(o + 1) == (void *)s->list;
}

bool rc__gc_buf_ok(rc_heap *h, void *const *buf, size_t cap, const char *call)
{
    RC__HEAP_CHECK(h, call);
    if (!buf && cap) {
        rc__fail(h, RC_EINVAL, "%s: buf is NULL but cap is %zu", call, cap);
        return false;
    }
    return true;
}

/* ---- get_objects ---- */

typedef struct objects_ctx {
    sink out;
    int generation;       /* -1: every tracked object */
} objects_ctx;

static bool objects_one(rc_head *o, void *ctx)
{
    objects_ctx *c = ctx;
    if (unseen(&c->out, o)) return true;
    if (c->generation >= 0 && rc__gen(o) != (unsigned)c->generation) return true;
    return sink_put(&c->out, o);
}

/* The checks both forms make. */
static bool objects_ok(rc_heap *h, int generation, const char *call)
{
    if (generation < -1 || generation > 3) {
        rc__fail(h, RC_EINVAL, "%s: generation %d is not -1, 0, 1, 2 or 3", call, generation);
        return false;
    }
    return rc__gc_walkable(h, call);
}

/* Walk the pages that hold `c->generation`: generation-0 objects sit on
 * young[0] pages, generation-1 ones on young[1] pages (collector.h); the
 * rest needs every tracked page. */
static void objects_walk(rc_heap *h, objects_ctx *c)
{
    int g = c->generation;
    rc__gc_walk_pages(g == 0 ? &h->young[0] : g == 1 ? &h->young[1] : &h->pages[1], objects_one, c);
}

rc_list *rc_gc_get_objects(rc_heap *h, int generation)
{
    RC__HEAP_CHECK(h, "rc_gc_get_objects");
    if (!h) return NULL;
    if (!objects_ok(h, generation, "rc_gc_get_objects")) return NULL;
    rc_list *out = rc_list_new(h, 0);
    if (!out) return NULL;
    /* rc_list_new may have collected, but cannot leave a walk unsafe. */
    objects_ctx c = {{.list = out}, generation};
    objects_walk(h, &c);
    if (c.out.failed) {
        rc_decref(out);
        return rc__fail(h, RC_ENOMEM, "rc_gc_get_objects: out of memory for the result");
    }
    return out;
}

size_t rc_gc_get_objects_into(rc_heap *h, int generation, void **buf, size_t cap)
{
    if (!h) return SIZE_MAX;
    if (!rc__gc_buf_ok(h, buf, cap, "rc_gc_get_objects_into") ||
        !objects_ok(h, generation, "rc_gc_get_objects_into"))
        return SIZE_MAX;
    objects_ctx c = {{.buf = buf, .cap = cap}, generation};
    objects_walk(h, &c);
    return c.out.n;
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
    sink out;
    bool hit;
} referrers_ctx;

static void referrer_visit(rc_head *child, void *ctx)
{
    referrers_ctx *c = ctx;
    if (!c->hit && objset_has(&c->set, child)) c->hit = true;
}

static bool referrers_one(rc_head *o, void *ctx)
{
    referrers_ctx *c = ctx;
    if (unseen(&c->out, o)) return true;
    c->hit = false;
    rc__foreach_ref(o, referrer_visit, c);
    return !c->hit || sink_put(&c->out, o);
}

/* Both forms: the walk into c->out; false (error recorded) without memory
 * for the object set. */
static bool referrers_walk(rc_heap *h, referrers_ctx *c, void *const *objs, size_t n,
                           const char *call)
{
    if (!objset_init(h, &c->set, objs, n)) {
        rc__fail(h, RC_ENOMEM, "%s: out of memory for the object set", call);
        return false;
    }
    if (n) rc__gc_walk_pages(&h->pages[1], referrers_one, c);
    objset_free(&c->set);
    return true;
}

rc_list *rc_gc_get_referrers(rc_heap *h, void *const *objs, size_t n)
{
    if (!h) return NULL;
    if (n && !objs) return rc__fail(h, RC_EINVAL, "rc_gc_get_referrers: objs is NULL");
    if (!rc__gc_walkable(h, "rc_gc_get_referrers")) return NULL;
    rc_list *out = rc__list_new_quiet(h, 0);   /* objs are borrowed */
    if (!out) return NULL;
    referrers_ctx c = {.out = {.list = out}};
    if (!referrers_walk(h, &c, objs, n, "rc_gc_get_referrers")) {
        rc_decref(out);
        return NULL;
    }
    if (c.out.failed) {
        rc_decref(out);
        return rc__fail(h, RC_ENOMEM, "rc_gc_get_referrers: out of memory for the result");
    }
    return out;
}

size_t rc_gc_get_referrers_into(rc_heap *h, void *const *objs, size_t n, void **buf, size_t cap)
{
    if (!h) return SIZE_MAX;
    if (n && !objs) {
        rc__fail(h, RC_EINVAL, "rc_gc_get_referrers_into: objs is NULL");
        return SIZE_MAX;
    }
    if (!rc__gc_buf_ok(h, buf, cap, "rc_gc_get_referrers_into") ||
        !rc__gc_walkable(h, "rc_gc_get_referrers_into"))
        return SIZE_MAX;
    referrers_ctx c = {.out = {.buf = buf, .cap = cap}};
    if (!referrers_walk(h, &c, objs, n, "rc_gc_get_referrers_into")) return SIZE_MAX;
    return c.out.n;
}

/* ---- get_referents ---- */

static void referent_visit(rc_head *child, void *ctx)
{
    sink *s = ctx;
    if (!s->failed) sink_put(s, child);
}

/* Both forms: what objs[0..n-1] refer to, into `out`; false (error
 * recorded) when called during a scan or given another heap's object. */
static bool referents_walk(rc_heap *h, sink *out, void *const *objs, size_t n, const char *call)
{
    if (n && !objs) {
        rc__fail(h, RC_EINVAL, "%s: objs is NULL", call);
        return false;
    }
    if (h->scanning) {
        rc__fail(h, RC_EBUSY, "%s: refused during a collection's scan", call);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!objs[i]) continue;
        RC__CHECK(objs[i], call);
        if (rc_heap_of(objs[i]) != h) {
            rc__fail(h, RC_EINVAL, "%s: objs[%zu] (a %s at %p) belongs to another heap", call, i,
                     rc_typeof(objs[i])->name ? rc_typeof(objs[i])->name : "?", objs[i]);
            return false;
        }
    }
    for (size_t i = 0; i < n && !out->failed; i++)
        if (objs[i]) rc__foreach_ref(RC_HEAD(objs[i]), referent_visit, out);
    return true;
}

rc_list *rc_gc_get_referents(rc_heap *h, void *const *objs, size_t n)
{
    RC__HEAP_CHECK(h, "rc_gc_get_referents");
    if (!h) return NULL;
    if (n && !objs) return rc__fail(h, RC_EINVAL, "rc_gc_get_referents: objs is NULL");
    if (h->scanning)
        return rc__fail(h, RC_EBUSY, "rc_gc_get_referents: refused during a collection's scan");
    rc_list *out = rc__list_new_quiet(h, 0);   /* objs are borrowed */
    if (!out) return NULL;
    sink s = {.list = out};
    if (!referents_walk(h, &s, objs, n, "rc_gc_get_referents")) {
        rc_decref(out);
        return NULL;
    }
    if (s.failed) {
        rc_decref(out);
        return rc__fail(h, RC_ENOMEM, "rc_gc_get_referents: out of memory for the result");
    }
    return out;
}

size_t rc_gc_get_referents_into(rc_heap *h, void *const *objs, size_t n, void **buf, size_t cap)
{
    if (!h) return SIZE_MAX;
    sink s = {.buf = buf, .cap = cap};
    if (!rc__gc_buf_ok(h, buf, cap, "rc_gc_get_referents_into") ||
        !referents_walk(h, &s, objs, n, "rc_gc_get_referents_into"))
        return SIZE_MAX;
    return s.n;
}
