/*
 * retained.c -- retained sizes from the dominator tree of the object graph.
 *
 * The graph: every live object, its references as edges, and a virtual root
 * (vertex 0) with an edge to every object held from outside the heap
 * (refcount above its in-heap referrers, as an rc_refindex counts them).
 * x dominates y when every path from the root to y passes through x; the
 * objects x dominates are exactly those that become unreachable when x does,
 * so the sum of their rc_self_size is what x's death would free.
 *
 * The algorithm is Lengauer and Tarjan's "simple" version (path compression
 * without balancing, O(E log N)):
 *   1. depth-first numbering from the root, iterative: a stack of (object,
 *      parent number) entries; an object is numbered when popped, and only
 *      then pushes its not-yet-numbered children. The numbering is a true
 *      depth-first preorder (an object's pushes are all consumed before its
 *      siblings'), which the semidominator theorem needs.
 *   2. semidominators in reverse preorder from the predecessors (the index's
 *      referrers, plus the root for held objects), with EVAL/LINK on a
 *      forest; COMPRESS walks its path onto an explicit stack instead of
 *      recursing.
 *   3. immediate dominators, fixed up in preorder.
 *   4. retained sizes summed up the tree in reverse preorder (a dominator
 *      always has a smaller number than what it dominates).
 * Vertices are numbers (uint32_t), so a heap of more than 4 G - 2 reachable
 * objects is refused.
 */
#include "leak/leak.h"

#define NONE UINT32_MAX

struct rc_domtree {
    rc_heap *h;
    rc_blockids ids;
    uint32_t *dfn;       /* block number -> vertex (NONE: not reachable) */
    uint32_t *idom;      /* vertex -> its immediate dominator (0: the root) */
    uint64_t *size;      /* vertex -> retained bytes */
    rc_head **vertex;    /* vertex -> object (vertex[0] = NULL) */
    size_t n;            /* vertices, the root included */
    size_t cap;          /* length of idom, size and vertex: live objects + 1 */
};

typedef struct dfs_ent {
    rc_head *o;
    uint32_t parent;
} dfs_ent;

typedef struct dfs_ctx {
    rc_heap *h;
    const rc_blockids *ids;
    const uint32_t *dfn;
    dfs_ent *stack;
    size_t len, cap;
    uint32_t parent;
    bool failed;
} dfs_ctx;

static void dfs_push(rc_head *child, void *ctx)
{
    dfs_ctx *c = ctx;
    size_t id = rc__blockid(c->ids, child);
    if (id == SIZE_MAX || c->dfn[id] != NONE || c->failed) return;
    if (!rc__mem_grow(c->h, (void **)&c->stack, &c->cap, c->len + 1, sizeof *c->stack)) {
        c->failed = true;
        return;
    }
    c->stack[c->len++] = (dfs_ent){child, c->parent};
}

void rc_domtree_free(rc_domtree *t)
{
    RC__HEAP_CHECK(t ? t->h : NULL, "rc_domtree_free");
    if (!t) return;
    rc_heap *h = t->h;
    size_t cap = t->cap;
    lk_free(h, t->dfn, (t->ids.nslots ? t->ids.nslots : 1) * sizeof *t->dfn);
    lk_free(h, t->idom, cap * sizeof *t->idom);
    lk_free(h, t->size, cap * sizeof *t->size);
    lk_free(h, t->vertex, cap * sizeof *t->vertex);
    rc__blockids_free(&t->ids);
    lk_free(h, t, sizeof *t);
}

/* EVAL with iterative path compression. */
static inline uint32_t eval(uint32_t v, uint32_t *ancestor, uint32_t *label, const uint32_t *semi,
                            uint32_t *path)
{
    if (ancestor[v] == NONE) return v;
    if (ancestor[ancestor[v]] != NONE) {
        size_t top = 0;
        uint32_t x = v;
        while (ancestor[ancestor[x]] != NONE) {
            path[top++] = x;
            x = ancestor[x];
        }
        while (top) {
            x = path[--top];
            uint32_t a = ancestor[x];
            if (semi[label[a]] < semi[label[x]]) label[x] = label[a];
            ancestor[x] = ancestor[a];
        }
    }
    return label[v];
}

rc_domtree *rc_domtree_build(rc_heap *h, const rc_refindex *index)
{
    static const char call[] = "rc_domtree_build";
    RC__HEAP_CHECK(h, "rc_domtree_build");
    if (!h) return NULL;
    if (!lk_walkable(h, call)) return NULL;
    rc_domtree *t = lk_calloc(h, 1, sizeof *t);
    if (!t) return rc__fail(h, RC_ENOMEM, "%s: out of memory", call);
    t->h = h;
    rc_refindex *own = NULL;
    uint32_t *parent = NULL, *semi = NULL, *ancestor = NULL, *label = NULL, *bucket = NULL, *next = NULL,
             *path = NULL;
    dfs_ctx c = {.h = h};
    size_t live, live_bytes;
    rc__count_objects(h, &live, &live_bytes);
    if (live >= NONE - 1) {
        lk_free(h, t, sizeof *t);
        return rc__fail(h, RC_EINVAL, "%s: more than %u objects", call, (unsigned)(NONE - 2));
    }
    size_t cap = live + 1;   /* vertices: the reachable objects and the root */
    t->cap = cap;
    if (!index) {
        own = rc_refindex_build(h);
        if (!own) goto fail;
        index = own;
    }
    if (!rc__blockids_init(h, &t->ids, call)) goto fail;
    t->dfn = lk_alloc(h, (t->ids.nslots ? t->ids.nslots : 1) * sizeof *t->dfn);
    t->vertex = lk_alloc(h, cap * sizeof *t->vertex);
    t->idom = lk_alloc(h, cap * sizeof *t->idom);
    t->size = lk_alloc(h, cap * sizeof *t->size);
    parent = lk_alloc(h, cap * sizeof *parent);
    semi = lk_alloc(h, cap * sizeof *semi);
    ancestor = lk_alloc(h, cap * sizeof *ancestor);
    label = lk_alloc(h, cap * sizeof *label);
    bucket = lk_alloc(h, cap * sizeof *bucket);
    next = lk_alloc(h, cap * sizeof *next);
    path = lk_alloc(h, cap * sizeof *path);
    if (!t->dfn || !t->vertex || !t->idom || !t->size || !parent || !semi || !ancestor || !label ||
        !bucket || !next || !path)
        goto oom;
    memset(t->dfn, 0xFF, t->ids.nslots * sizeof *t->dfn);

    /* 1. Depth-first numbering. The roots are pushed in reverse page order
     * so that the first page's objects are numbered first. */
    c.ids = &t->ids;
    c.dfn = t->dfn;
    c.parent = 0;
    for (int k = 1; k >= 0; k--) {
        RC__FOREACH_LIVE(h, k, pg, o, {
            size_t in;
            rc_refindex_referrers(index, o + 1, &in);
            if (rc__external_refs(o, in)) dfs_push(o, &c);
        });
    }
    if (c.failed) goto oom;
    size_t n = 1;   /* vertex 0 is the root */
    t->vertex[0] = NULL;
    parent[0] = 0;
    while (c.len) {
        dfs_ent e = c.stack[--c.len];
        size_t id = rc__blockid(&t->ids, e.o);
        if (t->dfn[id] != NONE) continue;
        t->dfn[id] = (uint32_t)n;
        t->vertex[n] = e.o;
        parent[n] = e.parent;
        c.parent = (uint32_t)n;
        n++;
        rc__foreach_ref(e.o, dfs_push, &c);
        if (c.failed) goto oom;
    }
    lk_free(h, c.stack, c.cap * sizeof *c.stack);
    c.stack = NULL;
    c.cap = 0;
    t->n = n;
    for (size_t v = 0; v < n; v++) {
        semi[v] = label[v] = (uint32_t)v;
        ancestor[v] = bucket[v] = NONE;
        t->idom[v] = 0;
    }

    /* 2. Semidominators, and 3a. implicit immediate dominators. */
    for (size_t i = n - 1; i >= 1; i--) {
        uint32_t w = (uint32_t)i;
        rc_head *o = t->vertex[w];
        size_t np;
        void *const *preds = rc_refindex_referrers(index, o + 1, &np);
        for (size_t k = 0; k < np; k++) {
            if (k && preds[k] == preds[k - 1]) continue;
            size_t id = rc__blockid(&t->ids, RC_HEAD(preds[k]));
            if (id == SIZE_MAX || t->dfn[id] == NONE) continue;   /* garbage refers to it */
            uint32_t u = eval(t->dfn[id], ancestor, label, semi, path);
            if (semi[u] < semi[w]) semi[w] = semi[u];
        }
        if (rc__external_refs(o, np)) semi[w] = 0;   /* the root refers to it */
        next[w] = bucket[semi[w]];
        bucket[semi[w]] = w;
        uint32_t p = parent[w];
        ancestor[w] = p;
        for (uint32_t v = bucket[p]; v != NONE; v = next[v]) {
            uint32_t u = eval(v, ancestor, label, semi, path);
            t->idom[v] = semi[u] < semi[v] ? u : p;
        }
        bucket[p] = NONE;
    }
    /* 3b. Explicit immediate dominators, in preorder. */
    for (size_t i = 1; i < n; i++)
        if (t->idom[i] != semi[i]) t->idom[i] = t->idom[t->idom[i]];

    /* 4. Retained sizes. */
    t->size[0] = 0;
    for (size_t i = 1; i < n; i++) t->size[i] = rc__self_size(t->vertex[i]);
    for (size_t i = n - 1; i >= 1; i--) t->size[t->idom[i]] += t->size[i];
    goto done;

oom:
    rc__fail(h, RC_ENOMEM, "%s: out of memory for the dominator tree", call);
fail:
    rc_domtree_free(t);
    t = NULL;
done:
    lk_free(h, c.stack, c.cap * sizeof *c.stack);
    lk_free(h, parent, cap * sizeof *parent);
    lk_free(h, semi, cap * sizeof *semi);
    lk_free(h, ancestor, cap * sizeof *ancestor);
    lk_free(h, label, cap * sizeof *label);
    lk_free(h, bucket, cap * sizeof *bucket);
    lk_free(h, next, cap * sizeof *next);
    lk_free(h, path, cap * sizeof *path);
    rc_refindex_free(own);
    return t;
}

static uint32_t vertex_of(const rc_domtree *t, const void *obj)
{
    if (!t || !obj) return NONE;
    size_t id = rc__blockid(&t->ids, RC_HEAD(obj));
    return id == SIZE_MAX ? NONE : t->dfn[id];
}

size_t rc_domtree_retained_size(const rc_domtree *t, const void *obj)
{
    RC__HEAP_CHECK(t ? t->h : NULL, "rc_domtree_retained_size");
    uint32_t v = vertex_of(t, obj);
    return v == NONE ? 0 : (size_t)t->size[v];
}

void *rc_domtree_dominator(const rc_domtree *t, const void *obj)
{
    RC__HEAP_CHECK(t ? t->h : NULL, "rc_domtree_dominator");
    uint32_t v = vertex_of(t, obj);
    if (v == NONE || t->idom[v] == 0) return NULL;
    return t->vertex[t->idom[v]] + 1;
}

size_t rc_domtree_objects(const rc_domtree *t)
{
    RC__HEAP_CHECK(t ? t->h : NULL, "rc_domtree_objects");
    return t && t->n ? t->n - 1 : 0;
}

size_t rc_domtree_bytes(const rc_domtree *t)
{
    RC__HEAP_CHECK(t ? t->h : NULL, "rc_domtree_bytes");
    return t && t->n ? (size_t)t->size[0] : 0;
}

/* A min-heap of vertices by retained size, for the top k. */
static void sift_down(uint32_t *hp, size_t n, size_t i, const uint64_t *size)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && size[hp[l]] < size[hp[m]]) m = l;
        if (r < n && size[hp[r]] < size[hp[m]]) m = r;
        if (m == i) return;
        uint32_t x = hp[i];
        hp[i] = hp[m];
        hp[m] = x;
        i = m;
    }
}

rc_root *rc_domtree_top(const rc_domtree *t, size_t k, size_t *n)
{
    RC__HEAP_CHECK(t ? t->h : NULL, "rc_domtree_top");
    size_t dummy;
    if (!n) n = &dummy;
    *n = 0;
    if (!t || t->n <= 1 || !k) return NULL;
    rc_heap *h = t->h;
    if (k > t->n - 1) k = t->n - 1;
    uint32_t *hp = lk_alloc(h, k * sizeof *hp);
    if (!hp) return rc__fail(h, RC_ENOMEM, "rc_domtree_top: out of memory");
    size_t len = 0;
    for (size_t v = 1; v < t->n; v++) {
        if (len < k) {
            hp[len++] = (uint32_t)v;
            if (len == k)
                for (size_t i = k / 2 + 1; i-- > 0;) sift_down(hp, len, i, t->size);
        } else if (t->size[v] > t->size[hp[0]]) {
            hp[0] = (uint32_t)v;
            sift_down(hp, len, 0, t->size);
        }
    }
    if (len < k)
        for (size_t i = len / 2 + 1; i-- > 0;) sift_down(hp, len, i, t->size);
    rc_root *rows = lk_result_alloc(h, len * sizeof *rows);
    if (!rows) {
        lk_free(h, hp, k * sizeof *hp);
        return rc__fail(h, RC_ENOMEM, "rc_domtree_top: out of memory");
    }
    /* Pop the heap smallest first into the back of rows. */
    for (size_t m = len; m > 0; m--) {
        uint32_t v = hp[0];
        rows[m - 1] = (rc_root){t->vertex[v] + 1, (size_t)t->size[v]};
        hp[0] = hp[m - 1];
        sift_down(hp, m - 1, 0, t->size);
    }
    lk_free(h, hp, k * sizeof *hp);
    *n = len;
    return rows;
}

size_t rc_retained(void *obj)
{
    if (!obj) return 0;
    RC__CHECK(obj, "rc_retained");
    if (rc__region_refused(obj, "rc_retained")) return 0;
    rc_domtree *t = rc_domtree_build(rc_heap_of(obj), NULL);
    if (!t) return 0;
    size_t s = rc_domtree_retained_size(t, obj);
    rc_domtree_free(t);
    return s;
}
