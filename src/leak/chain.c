/*
 * chain.c -- who holds an object: the objects held from outside the heap
 * (objgraph's get_leaking_objects, for C), reference chains (objgraph's
 * find_ref_chain and find_backref_chain), and "why is this alive?".
 *
 * All three are one breadth-first search, forward through references or
 * backward through referrers (an rc_refindex), so the chain found is a
 * shortest one. The search keeps a queue of (object, parent position)
 * pairs -- 16 bytes per object visited -- and a bit per block of the pages
 * (rc_blockids) for "seen"; no recursion, whatever the depth. The chain is read
 * back through the parent positions.
 *
 * Holders: an object is held from outside the heap when its refcount
 * exceeds the references objects of the heap hold to it; rc_get_roots
 * counts those references per block in one pass (4 bytes per block).
 *
 * Why alive: an object is held from outside the heap when its refcount
 * exceeds the references objects of the heap hold to it (the referrers the
 * index lists). The search walks back from the object until it meets such a
 * holder; the object's own outside references are reported but do not end
 * the search (the caller usually holds one itself).
 */
#include "leak/leak.h"
#include "util/utf8.h"

#include <stdlib.h>


typedef struct qent {
    rc_head *o;
    size_t parent;   /* queue position of the object it was reached from; SIZE_MAX for the start */
} qent;

typedef struct bfs {
    rc_heap *h;
    rc_blockids ids;
    uint64_t *seen;
    size_t nwords;
    qent *q;
    size_t len, cap;
    lk_pmap ignore;
    bool failed;
} bfs;

static bool bfs_init(bfs *b, rc_heap *h, const rc_chain_opts *opts, const char *call)
{
    memset(b, 0, sizeof *b);
    b->h = h;
    if (!rc__blockids_init(h, &b->ids, call)) return false;
    b->nwords = (b->ids.nslots + 63) / 64;
    b->seen = lk_calloc(h, b->nwords, sizeof *b->seen);
    if (!b->seen ||
        (opts && !lk_ignore_init(h, &b->ignore, opts->ignore, opts->ignore ? opts->nignore : 0))) {
        rc__fail(h, RC_ENOMEM, "%s: out of memory for the search", call);
        return false;
    }
    return true;
}

static void bfs_free(bfs *b)
{
    rc_heap *h = b->h;
    lk_free(h, b->seen, b->nwords * sizeof *b->seen);
    lk_free(h, b->q, b->cap * sizeof *b->q);
    lk_pmap_free(h, &b->ignore);
    rc__blockids_free(&b->ids);
}

/* Queue o (reached from queue position parent) unless seen, ignored or
 * unknown to the numbering. Returns its position, or SIZE_MAX. */
static size_t bfs_push(bfs *b, rc_head *o, size_t parent)
{
    size_t id = rc__blockid(&b->ids, o);
    if (id == SIZE_MAX || lk_bit(b->seen, id)) return SIZE_MAX;
    lk_bit_set(b->seen, id);
    if (b->ignore.len && lk_ignored(&b->ignore, o)) return SIZE_MAX;
    if (!rc__mem_grow(b->h, (void **)&b->q, &b->cap, b->len + 1, sizeof *b->q)) {
        b->failed = true;
        return SIZE_MAX;
    }
    b->q[b->len] = (qent){o, parent};
    return b->len++;
}

/* ---- building a chain ---- */

#define LABEL_MAX 160

/* A chain of the objects objs[0..n-1] (heads), each referring to the next. */
static rc_chain *make_chain(rc_heap *h, rc_head **objs, size_t n, int found, const char *call)
{
    size_t strings = 0;
    char label[LABEL_MAX];
    for (size_t i = 0; i + 1 < n; i++) strings += lk_label_between(objs[i], objs[i + 1], label, sizeof label) + 1;
    strings += 1;
    rc_chain *c = lk_result_alloc(h, sizeof *c + n * sizeof(void *) + n * sizeof(char *) + strings);
    if (!c) return rc__fail(h, RC_ENOMEM, "%s: out of memory for the chain", call);
    c->len = n;
    c->objs = (void **)(c + 1);
    c->labels = (const char **)(c->objs + n);
    char *s = (char *)(c->labels + n);
    for (size_t i = 0; i < n; i++) {
        c->objs[i] = objs[i] + 1;
        size_t k = i + 1 < n ? lk_label_between(objs[i], objs[i + 1], s, LABEL_MAX) : 0;
        s[k] = 0;
        c->labels[i] = s;
        s += k + 1;
    }
    c->found = found;
    return c;
}

/* The chain from the queue: the path from position `at` back to the start,
 * in search order (forward: start first) or reversed (backward: at first). */
static rc_chain *chain_from_queue(bfs *b, size_t at, bool start_first, int found, const char *call)
{
    size_t n = 0;
    for (size_t p = at; p != SIZE_MAX; p = b->q[p].parent) n++;
    rc_head **objs = lk_alloc(b->h, n * sizeof *objs);
    if (!objs) return rc__fail(b->h, RC_ENOMEM, "%s: out of memory for the chain", call);
    size_t k = 0;
    for (size_t p = at; p != SIZE_MAX; p = b->q[p].parent) objs[start_first ? n - 1 - k++ : k++] = b->q[p].o;
    rc_chain *c = make_chain(b->h, objs, n, found, call);
    lk_free(b->h, objs, n * sizeof *objs);
    return c;
}

void rc_chain_free(rc_chain *c)
{
    lk_result_free(c);
}

/* ---- the searches ---- */

typedef struct search {
    bfs b;
    size_t level_end;   /* queue positions below it are at depth <= current */
    size_t found;       /* queue position of the target, or SIZE_MAX */
    size_t cur;         /* queue position of the object being expanded */
    rc_pred_fn pred;
    void *ud;
    const rc_refindex *idx;
    size_t (*external_of)(struct search *s, rc_head *o);   /* why alive */
} search;

static void forward_visit(rc_head *child, void *ctx)
{
    search *s = ctx;
    if (s->found != SIZE_MAX || s->b.failed) return;
    size_t at = bfs_push(&s->b, child, s->cur);
    if (at != SIZE_MAX && s->pred(child + 1, s->ud)) s->found = at;
}

static size_t why_external(search *s, rc_head *o)
{
    size_t n;
    rc_refindex_referrers(s->idx, o + 1, &n);
    return rc__external_refs(o, n);
}

/* Breadth-first from b's start (already queued at position 0). */
static void run_search(search *s, bool backward, size_t max_depth)
{
    bfs *b = &s->b;
    size_t head = 0, depth = 0;
    s->level_end = b->len;
    while (head < b->len && s->found == SIZE_MAX && !b->failed) {
        if (head == s->level_end) {
            s->level_end = b->len;
            depth++;
        }
        if (depth >= max_depth) break;
        size_t cur = head++;
        rc_head *o = b->q[cur].o;
        if (!backward) {
            s->cur = cur;
            rc__foreach_ref(o, forward_visit, s);
            continue;
        }
        size_t n;
        void *const *refs = rc_refindex_referrers(s->idx, o + 1, &n);
        for (size_t i = 0; i < n && s->found == SIZE_MAX; i++) {
            if (i && refs[i] == refs[i - 1]) continue;
            rc_head *r = RC_HEAD(refs[i]);
            size_t at = bfs_push(b, r, cur);
            if (at == SIZE_MAX) continue;
            if (s->external_of ? s->external_of(s, r) > 0 : s->pred(refs[i], s->ud) != 0) s->found = at;
        }
    }
}

/* Breadth-first from `start` (s says what ends the search and, backward,
 * holds the index), no deeper than max_depth: the chain from start to what
 * was found (forward) or from it to start (backward), else start alone with
 * found 0. NULL on RC_ENOMEM (recorded, naming `call`). */
static rc_chain *search_chain(search *s, rc_heap *h, rc_head *start, const rc_chain_opts *opts,
                              bool backward, size_t max_depth, const char *call)
{
    rc_chain *c = NULL;
    if (!bfs_init(&s->b, h, opts, call)) goto done;
    bfs_push(&s->b, start, SIZE_MAX);
    if (!s->b.failed) run_search(s, backward, max_depth);
    if (s->b.failed) rc__fail(h, RC_ENOMEM, "%s: out of memory for the search", call);
    else if (s->found != SIZE_MAX) c = chain_from_queue(&s->b, s->found, !backward, 1, call);
    else c = make_chain(h, &start, 1, 0, call);
done:
    bfs_free(&s->b);
    return c;
}

static rc_chain *find_chain(void *obj, rc_pred_fn pred, void *ud, const rc_chain_opts *opts,
                            bool backward, const char *call)
{
    if (!obj) return NULL;
    RC__CHECK(obj, call);
    if (rc__region_refused(obj, call)) return NULL;
    rc_heap *h = rc_heap_of(obj);
    if (!pred) return rc__fail(h, RC_EINVAL, "%s: pred is NULL", call);
    if (!lk_walkable(h, call)) return NULL;
    if (pred(obj, ud)) {
        rc_head *o = RC_HEAD(obj);
        return make_chain(h, &o, 1, 1, call);
    }
    size_t max_depth = opts && opts->max_depth ? opts->max_depth : 20;
    search s;
    memset(&s, 0, sizeof s);
    s.found = SIZE_MAX;
    s.pred = pred;
    s.ud = ud;
    rc_refindex *own = NULL;
    if (backward) {
        s.idx = opts ? opts->index : NULL;
        if (!s.idx) {
            own = rc_refindex_build(h);
            if (!own) return NULL;
            s.idx = own;
        }
    }
    rc_chain *c = search_chain(&s, h, RC_HEAD(obj), opts, backward, max_depth, call);
    rc_refindex_free(own);
    return c;
}

rc_chain *rc_find_ref_chain(void *obj, rc_pred_fn pred, void *ud, const rc_chain_opts *opts)
{
    return find_chain(obj, pred, ud, opts, false, "rc_find_ref_chain");
}

rc_chain *rc_find_backref_chain(void *obj, rc_pred_fn pred, void *ud, const rc_chain_opts *opts)
{
    return find_chain(obj, pred, ud, opts, true, "rc_find_backref_chain");
}

/* ---- printing ---- */

/* Write raw bytes for a terminal: printable ASCII and valid UTF-8 as they
 * are, anything else (controls, overlong forms, surrogates) as \xNN. */
static void put_text(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);
    while (*p) {
        unsigned c = *p;
        size_t n = c < 0x80 ? (c >= 0x20 && c != 0x7F) : rc__utf8_len(p, (size_t)(end - p));
        if (!n) {
            fprintf(out, "\\x%02X", c);
            p++;
            continue;
        }
        fwrite(p, 1, n, out);
        p += n;
    }
}

/* "type 0x... (repr)" */
static void put_object(FILE *out, rc_head *o)
{
    char repr[96];
    put_text(out, lk_type_name(o));
    fprintf(out, " %p", (void *)(o + 1));
    if (lk_short_repr(o, repr, sizeof repr)) {
        fputs(" (", out);
        put_text(out, repr);
        fputc(')', out);
    }
    const char *file;
    int line;
    if (rc_trace_site(o + 1, &file, &line)) {
        fputs(" allocated at ", out);
        put_text(out, file);
        if (line) fprintf(out, ":%d", line);
    }
}

int rc_chain_print(const rc_chain *c, FILE *out)
{
    if (!c) return -1;
    if (!out) out = stdout;
    for (size_t i = 0; i < c->len; i++) {
        if (i) {
            fputs("  -> ", out);
            put_text(out, c->labels[i - 1]);
            fputs(" -> ", out);
        }
        put_object(out, RC_HEAD(c->objs[i]));
        fputc('\n', out);
    }
    return lk_stream_ok(rc_heap_of(c->objs[0]), out, "rc_chain_print") ? 0 : -1;
}

static void put_refs(FILE *out, rc_head *o, size_t external)
{
    fprintf(out, "%zu reference%s (refcount %u, %zu from the heap)", external, external == 1 ? "" : "s",
            (unsigned)o->refcnt, (size_t)o->refcnt - external);
}

static void why_print(FILE *out, const rc_chain *c, rc_head *target, size_t max_depth)
{
    fputs("why is ", out);
    put_text(out, lk_type_name(target));
    fprintf(out, " %p alive?\n", (void *)(target + 1));
    if (c->target_refs) {
        fputs("  it is held from outside the heap itself: ", out);
        put_refs(out, target, c->target_refs);
        fputs(c->found ? "; and through the heap:\n" : "\n", out);
    }
    if (!c->found) {
        if (c->target_refs)
            fputs("  no object held from outside the heap leads to it: only those outside references keep it\n",
                  out);
        else if (max_depth != SIZE_MAX)
            fprintf(out, "  no object held from outside the heap leads to it within %zu references\n",
                    max_depth);
        else
            fputs("  no object held from outside the heap leads to it: it is garbage (a cycle) that the "
                  "next full collection frees (rc_gc_collect(heap, 2))\n",
                  out);
        return;
    }
    for (size_t i = 0; i < c->len; i++) {
        rc_head *o = RC_HEAD(c->objs[i]);
        fputs("  ", out);
        if (i) {
            fputs("-> ", out);
            put_text(out, c->labels[i - 1]);
            fputs(" -> ", out);
        }
        put_object(out, o);
        if (i == 0) {
            fputs(" is held from outside the heap: ", out);
            put_refs(out, o, c->holder_refs);
        }
        if (i + 1 == c->len && i) fputs(" (this object)", out);
        fputc('\n', out);
    }
}

/*
 * Backward from obj through referrers (an rc_refindex: the caller's, or one
 * built for the call) until a holder. The search usually stops after a few
 * objects; building the index is most of the cost. (A forward search from
 * every holder at once needs no index, but visits objects in breadth-first
 * order all over memory: on the W4 tree it was slower than the index's two
 * sequential passes.)
 */
rc_chain *rc_why_alive(void *obj, FILE *out, const rc_chain_opts *opts)
{
    static const char call[] = "rc_why_alive";
    if (!obj) return NULL;
    RC__CHECK(obj, call);
    if (rc__region_refused(obj, call)) return NULL;
    rc_heap *h = rc_heap_of(obj);
    if (!lk_walkable(h, call)) return NULL;
    size_t max_depth = opts && opts->max_depth ? opts->max_depth : SIZE_MAX;
    search s;
    memset(&s, 0, sizeof s);
    s.found = SIZE_MAX;
    s.external_of = why_external;
    s.idx = opts ? opts->index : NULL;
    rc_refindex *own = NULL;
    if (!s.idx) {
        own = rc_refindex_build(h);
        if (!own) return NULL;
        s.idx = own;
    }
    rc_head *target = RC_HEAD(obj);
    rc_chain *c = search_chain(&s, h, target, opts, true, max_depth, call);
    if (c) {
        c->target_refs = why_external(&s, target);
        c->holder_refs = c->found ? why_external(&s, RC_HEAD(c->objs[0])) : c->target_refs;
        if (out) {
            why_print(out, c, target, max_depth);
            if (!lk_stream_ok(h, out, call)) {
                rc_chain_free(c);
                c = NULL;
            }
        }
    }
    rc_refindex_free(own);
    return c;
}

/* ---- holders from outside the heap ---- */

typedef struct extref_ctx {
    rc_head *target;
    size_t n;
} extref_ctx;

static void extref_visit(rc_head *child, void *ctx)
{
    extref_ctx *c = ctx;
    c->n += child == c->target;
}

size_t rc_external_refs(const void *obj)
{
    RC__CHECK(obj, "rc_external_refs");
    if (rc__region_refused(obj, "rc_external_refs")) return 0;
    rc_head *target = RC_HEAD(obj);
    rc_heap *h = rc_heap_of(obj);
    if (!lk_walkable(h, "rc_external_refs")) return 0;
    extref_ctx c = {target, 0};
    RC__FOREACH_LIVE(h, 1, pg, o, { rc__foreach_ref(o, extref_visit, &c); });
    return rc__external_refs(target, c.n);
}

rc_root *rc_get_roots(rc_heap *h, const rc_refindex *index, size_t *n)
{
    static const char call[] = "rc_get_roots";
    RC__HEAP_CHECK(h, "rc_get_roots");
    size_t dummy;
    if (!n) n = &dummy;
    *n = 0;
    if (!h) return NULL;
    if (!lk_walkable(h, call)) return NULL;
    rc_blockids x;
    uint32_t *in = NULL;
    if (!index) {
        if (!rc__blockids_init(h, &x, call)) return NULL;
        in = rc__inrefs(h, &x, call);
        if (!in) {
            rc__blockids_free(&x);
            return NULL;
        }
    }
    /* Two passes: count, then fill. */
    rc_root *rows = NULL;
    size_t cnt = 0;
    for (int pass = 0; pass < 2; pass++) {
        size_t k = 0;
        for (int t = 0; t < 2; t++) {
            RC__FOREACH_LIVE(h, t, pg, o, {
                size_t inrefs;
                if (index) rc_refindex_referrers(index, o + 1, &inrefs);
                else inrefs = in[rc__blockid(&x, o)];
                size_t ext = rc__external_refs(o, inrefs);
                if (ext) {
                    if (pass) rows[k] = (rc_root){o + 1, ext};
                    k++;
                }
            });
        }
        if (pass == 0) {
            cnt = k;
            if (!cnt) break;
            rows = lk_result_alloc(h, cnt * sizeof *rows);
            if (!rows) {
                rc__fail(h, RC_ENOMEM, "%s: out of memory for the result", call);
                break;
            }
        }
    }
    if (!index) {
        lk_free(h, in, x.nslots * sizeof *in);
        rc__blockids_free(&x);
    }
    *n = rows ? cnt : 0;
    return rows;
}

long rc_show_roots(rc_heap *h, size_t limit, FILE *out)
{
    RC__HEAP_CHECK(h, "rc_show_roots");
    if (!h) return -1;
    size_t n;
    rc_heap_clear_error(h);
    rc_root *roots = rc_get_roots(h, NULL, &n);
    if (!roots && rc_heap_error(h)) return -1;
    lk_tcounts tc;
    memset(&tc, 0, sizeof tc);
    tc.h = h;
    for (size_t i = 0; i < n; i++) {
        lk_tcount *row = lk_tcounts_row(&tc, rc_typeof(roots[i].obj));
        if (!row) {
            lk_tcounts_free(&tc);
            rc_root_free(roots);
            rc__fail(h, RC_ENOMEM, "rc_show_roots: out of memory");
            return -1;
        }
        row->count++;
        row->extra += roots[i].external;
    }
    rc_root_free(roots);
    lk_tcounts_merge(&tc);
    if (tc.len > 1) qsort(tc.rows, tc.len, sizeof *tc.rows, lk_cmp_by_count);
    if (!out) out = stdout;
    if (!limit) limit = 10;
    int width = 4;
    for (size_t r = 0; r < tc.len && r < limit; r++) {
        int w = (int)strlen(tc.rows[r].name);
        if (w > width) width = w;
    }
    fprintf(out, "%-*s %9s %11s\n", width, "type", "objects", "references");
    size_t r;
    for (r = 0; r < tc.len && r < limit; r++)
        fprintf(out, "%-*s %9zu %11zu\n", width, tc.rows[r].name, tc.rows[r].count, tc.rows[r].extra);
    lk_tcounts_free(&tc);
    if (!lk_stream_ok(h, out, "rc_show_roots")) return -1;
    return (long)r + 1;
}
