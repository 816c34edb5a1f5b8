/*
 * leak.c -- the leak tools' shared machinery (leak.h: result arrays,
 * pointer maps, labelled references, short descriptions) and the counting
 * half of the toolbox: counts by type and growth since the last call. Marks
 * are in trace.c, holders and chains in chain.c; block numbers, in-heap
 * reference counts and self sizes in util/blockids.c.
 *
 * Everything here walks pages (recycle keeps no list of objects): a count is
 * one pass over the blocks of every page, reading two header words per
 * object. Types are counted by rc_type pointer in the pass (a one-entry
 * cache in front of a small map: objects of one type sit together), then
 * merged by name, which is what users see and what objgraph counts by.
 */
#include "leak/leak.h"
#include "weakref/weakref.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- memory ---- */

/* The hidden header of a result array: what frees it. */
typedef struct lk_result_head {
    void *(*realloc)(void *ud, void *p, size_t size);
    void *ud;
} lk_result_head;
#define LK_RESULT_HEAD ((sizeof(lk_result_head) + 15) & ~(size_t)15)

void *lk_result_alloc_with(void *(*realloc_fn)(void *ud, void *p, size_t size), void *ud, size_t bytes)
{
    if (bytes > SIZE_MAX - LK_RESULT_HEAD) return NULL;
    char *p = realloc_fn(ud, NULL, LK_RESULT_HEAD + bytes);
    if (!p) return NULL;
    memset(p, 0, LK_RESULT_HEAD + bytes);
    lk_result_head *rh = (lk_result_head *)p;
    rh->realloc = realloc_fn;
    rh->ud = ud;
    return p + LK_RESULT_HEAD;
}

void lk_result_free(void *rows)
{
    if (!rows) return;
    lk_result_head *rh = (lk_result_head *)((char *)rows - LK_RESULT_HEAD);
    rh->realloc(rh->ud, rh, 0);
}

void rc_typestat_free(rc_typestat *rows) { lk_result_free(rows); }
void rc_growth_row_free(rc_growth_row *rows) { lk_result_free(rows); }
void rc_root_free(rc_root *rows) { lk_result_free(rows); }

void lk_remove_partial(const char *path)
{
    struct stat st;
    if (path && lstat(path, &st) == 0 && S_ISREG(st.st_mode)) unlink(path);
}

bool lk_stream_ok(rc_heap *h, FILE *out, const char *call)
{
    errno = 0;
    if (fflush(out) == 0 && !ferror(out)) return true;
    rc__fail(h, RC_EIO, "%s: cannot write to %s: %s", call,
             out == stdout ? "standard output" : out == stderr ? "standard error" : "the output stream",
             strerror(errno ? errno : EIO));
    return false;
}

bool lk_walkable(rc_heap *h, const char *call)
{
    if (h->region) {   /* a frozen region's heap (from rc_heap_of): no thread's */
        rc__fail(h, RC_EINVAL, "%s: the heap is the frozen region %p's, which no thread holds",
                 call, h->region);
        return false;
    }
    RC__HEAP_CHECK(h, call);
    if (h->scanning || h->freeing) {
        rc__fail(h, RC_EBUSY, "%s: refused while objects are being %s", call,
                 h->scanning ? "scanned by a collection" : "freed");
        return false;
    }
    return true;
}

void lk_collect(rc_heap *h, unsigned flags)
{
    if (flags & RC_LEAK_NO_COLLECT) return;
    rc_gc_collect(h, (flags & RC_LEAK_COLLECT_YOUNG) ? 1 : 2);
}

/* snprintf that returns what was written (never more than size - 1). */
static size_t put(char *buf, size_t size, size_t at, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static size_t put(char *buf, size_t size, size_t at, const char *fmt, ...)
{
    if (at >= size) return at;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + at, size - at, fmt, ap);
    va_end(ap);
    if (k < 0) return at;
    return (size_t)k >= size - at ? size - 1 : at + (size_t)k;
}

/* Copy up to `max` bytes of s (n bytes) in double quotes, "..." when cut,
 * never cutting a UTF-8 sequence in two. */
static size_t put_quoted(char *buf, size_t size, size_t at, const char *s, size_t n, size_t max)
{
    size_t k = n;
    int cut = 0;
    if (k > max) {
        k = max;
        while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80) k--;
        cut = 1;
    }
    at = put(buf, size, at, "\"");
    if (at + k < size) {
        memcpy(buf + at, s, k);
        at += k;
        buf[at] = 0;
    } else if (at < size) {
        size_t room = size - 1 - at;
        memcpy(buf + at, s, room);
        at += room;
        buf[at] = 0;
    }
    return put(buf, size, at, cut ? "...\"" : "\"");
}

size_t lk_val_repr(rc_val v, char *buf, size_t size)
{
    if (size) buf[0] = 0;
    if (rc_is_int(v)) return put(buf, size, 0, "%lld", (long long)rc_as_int(v));
    if (rc_is_float(v)) return put(buf, size, 0, "%g", rc_as_float(v));
    if (v == RC_NONE) return put(buf, size, 0, "none");
    if (v == RC_TRUE) return put(buf, size, 0, "true");
    if (v == RC_FALSE) return put(buf, size, 0, "false");
    if (rc_is_obj(v)) {
        rc_head *o = RC_HEAD(rc_as_obj(v));
        if (o->type && o->type->rc_kind == RC_KIND_STR) {
            rc_str_obj *s = RC__USER(o);
            return put_quoted(buf, size, 0, s->data, s->len, 40);
        }
        return put(buf, size, 0, "<%s %p>", lk_type_name(o), (void *)(o + 1));
    }
    return put(buf, size, 0, "?");
}

size_t lk_edge_label(const rc_edge *e, char *buf, size_t size)
{
    if (size) buf[0] = 0;
    switch (e->kind) {
    case RC_EDGE_SLOT: return put(buf, size, 0, "slot %zu", e->index);
    case RC_EDGE_REF: return put(buf, size, 0, "ref %zu", e->index);
    case RC_EDGE_ITEM: return put(buf, size, 0, "[%zu]", e->index);
    case RC_EDGE_DICT_KEY: return put(buf, size, 0, "key");
    case RC_EDGE_DICT_VALUE: {
        size_t at = put(buf, size, 0, "[");
        if (at < size) at += lk_val_repr(e->key, buf + at, size - at);
        return put(buf, size, at, "]");
    }
    }
    return 0;
}

typedef struct between_ctx {
    rc_head *to;
    char *buf;
    size_t size, at;
    unsigned hits;
} between_ctx;

static void between_visit(rc_head *child, const rc_edge *e, void *ctx)
{
    between_ctx *c = ctx;
    if (child != c->to) return;
    c->hits++;
    if (c->hits > 3) return;
    if (c->hits == 3) {
        c->at = put(c->buf, c->size, c->at, ", ...");
        return;
    }
    if (c->hits == 2) c->at = put(c->buf, c->size, c->at, ", ");
    if (c->at < c->size) c->at += lk_edge_label(e, c->buf + c->at, c->size - c->at);
}

size_t lk_label_between(rc_head *from, rc_head *to, char *buf, size_t size)
{
    if (size) buf[0] = 0;
    between_ctx c = {to, buf, size, 0, 0};
    rc__foreach_edge(from, between_visit, &c);
    return c.at;
}

rc_head *lk_weak_referent(rc_head *o)
{
    if (!o->type || o->type->rc_kind != RC_KIND_WEAKREF) return NULL;
    return ((struct rc_weakref_obj *)RC__USER(o))->referent;
}

size_t lk_short_repr(rc_head *o, char *buf, size_t size)
{
    if (size) buf[0] = 0;
    const rc_type *t = o->type;
    switch (t ? t->rc_kind : RC_KIND_USER) {
    case RC_KIND_LIST: {
        size_t n = ((rc_list_obj *)RC__USER(o))->len;
        return put(buf, size, 0, "%zu item%s", n, n == 1 ? "" : "s");
    }
    case RC_KIND_TUPLE: {
        size_t n = ((rc_tuple_obj *)RC__USER(o))->len;
        return put(buf, size, 0, "%zu item%s", n, n == 1 ? "" : "s");
    }
    case RC_KIND_DICT: {
        size_t n = ((rc_dict_obj *)RC__USER(o))->len;
        return put(buf, size, 0, "%zu key%s", n, n == 1 ? "" : "s");
    }
    case RC_KIND_STR: {
        rc_str_obj *s = RC__USER(o);
        return put_quoted(buf, size, 0, s->data, s->len, 24);
    }
    case RC_KIND_INT:
        return put(buf, size, 0, "%lld", (long long)((rc_int_obj *)RC__USER(o))->value);
    case RC_KIND_WEAKREF: {
        rc_head *r = lk_weak_referent(o);
        return r ? put(buf, size, 0, "-> %s", lk_type_name(r)) : put(buf, size, 0, "dead");
    }
    default:
        return 0;
    }
}

size_t lk_items_repr(rc_head *o, char *buf, size_t size)
{
    if (size) buf[0] = 0;
    const rc_val *items;
    size_t n;
    bool tuple = false;
    switch (o->type ? o->type->rc_kind : RC_KIND_USER) {
    case RC_KIND_LIST:
        items = ((rc_list_obj *)RC__USER(o))->items;
        n = ((rc_list_obj *)RC__USER(o))->len;
        break;
    case RC_KIND_TUPLE:
        items = ((rc_tuple_obj *)RC__USER(o))->items;
        n = ((rc_tuple_obj *)RC__USER(o))->len;
        tuple = true;
        break;
    default:
        return 0;
    }
    if (n > LK_ITEMS_SHOWN || size < 2) return 0;
    size_t at = put(buf, size, 0, tuple ? "(" : "[");
    for (size_t i = 0; i < n && at < size - 1; i++) {
        rc_val v = items[i];
        if (i) at = put(buf, size, at, ", ");
        rc_head *c = rc_is_obj(v) ? RC_HEAD(rc_as_obj(v)) : NULL;
        int kind = c && c->type ? c->type->rc_kind : RC_KIND_USER;
        if (c && kind != RC_KIND_STR && kind != RC_KIND_INT)
            at = put(buf, size, at, "<%s>", lk_type_name(c));
        else if (at < size)
            at += lk_val_repr(v, buf + at, size - at);
    }
    at = put(buf, size, at, tuple && n == 1 ? ",)" : tuple ? ")" : "]");
    if (at >= size - 1) {       /* cut: the count says it better */
        buf[0] = 0;
        return 0;
    }
    return at;
}

size_t rc_self_size(const void *obj)
{
    RC__CHECK(obj, "rc_self_size");
    return rc__self_size(RC_HEAD(obj));
}

size_t rc_total_refcount(rc_heap *h)
{
    if (!h) return SIZE_MAX;
    RC__HEAP_CHECK(h, "rc_total_refcount");
    if (!lk_walkable(h, "rc_total_refcount")) return SIZE_MAX;
    size_t total = 0;
    for (int t = 0; t < 2; t++) RC__FOREACH_LIVE(h, t, pg, o, { total += o->refcnt; });
    return total;
}

/* ---- counting by type ---- */

void lk_tcounts_free(lk_tcounts *tc)
{
    lk_free(tc->h, tc->rows, tc->cap * sizeof *tc->rows);
    lk_pmap_free(tc->h, &tc->by_type);
    tc->rows = NULL;
    tc->len = tc->cap = 0;
}

lk_tcount *lk_tcounts_row(lk_tcounts *tc, const rc_type *t)
{
    size_t r = lk_pmap_get(&tc->by_type, t);
    if (r != SIZE_MAX) return &tc->rows[r];
    if (!rc__mem_grow(tc->h, (void **)&tc->rows, &tc->cap, tc->len + 1, sizeof *tc->rows) ||
        !lk_pmap_put(tc->h, &tc->by_type, t, tc->len)) {
        tc->failed = true;
        return NULL;
    }
    lk_tcount *row = &tc->rows[tc->len++];
    memset(row, 0, sizeof *row);
    row->type = t;
    row->name = t && t->name ? t->name : "?";
    return row;
}

static inline size_t buffer_bytes_of(const rc_head *o)
{
    return rc__self_size(o) - rc__block_bytes(rc__page_of(o));
}

/* Count every live object by type pointer (one pass). false on RC_ENOMEM. */
bool lk_count_types(rc_heap *h, lk_tcounts *tc, const char *call)
{
    memset(tc, 0, sizeof *tc);
    tc->h = h;
    /* Objects of one type sit together: count a run in registers and add
     * it to its row when the type changes. */
    const rc_type *last = NULL;
    size_t run = 0, run_bytes = 0;
    bool buffers = false;
    for (int t = 0; t < 2; t++) {
        RC__FOREACH_LIVE(h, t, pg, o, {
            const rc_type *ty = o->type;
            if (ty != last) {
                if (run) {
                    lk_tcount *row = lk_tcounts_row(tc, last);
                    if (!row) goto oom;
                    row->count += run;
                    row->bytes += run_bytes;
                }
                last = ty;
                run = run_bytes = 0;
                buffers = ty->rc_kind == RC_KIND_LIST || ty->rc_kind == RC_KIND_DICT ||
                          ty->extra_size != NULL;
            }
            run++;
            run_bytes += rc__block_bytes(pg);
            if (buffers) run_bytes += buffer_bytes_of(o);
        });
    }
    if (run) {
        lk_tcount *row = lk_tcounts_row(tc, last);
        if (!row) goto oom;
        row->count += run;
        row->bytes += run_bytes;
    }
    return true;
oom:
    lk_tcounts_free(tc);
    rc__fail(h, RC_ENOMEM, "%s: out of memory for the table of types", call);
    return false;
}

static int cmp_rows_by_name(const void *a, const void *b)
{
    const lk_tcount *x = a, *y = b;
    return strcmp(x->name, y->name);
}

/* Merge rows of the same name (sorts by name). */
void lk_tcounts_merge(lk_tcounts *tc)
{
    if (tc->len < 2) return;
    if (tc->len > 1) qsort(tc->rows, tc->len, sizeof *tc->rows, cmp_rows_by_name);
    size_t w = 0;
    for (size_t r = 1; r < tc->len; r++) {
        if (!strcmp(tc->rows[r].name, tc->rows[w].name)) {
            tc->rows[w].count += tc->rows[r].count;
            tc->rows[w].bytes += tc->rows[r].bytes;
            tc->rows[w].extra += tc->rows[r].extra;
        } else {
            tc->rows[++w] = tc->rows[r];
        }
    }
    tc->len = w + 1;
    lk_pmap_free(tc->h, &tc->by_type);   /* row numbers changed */
}

int lk_cmp_by_count(const void *a, const void *b)
{
    const lk_tcount *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return strcmp(x->name, y->name);
}

size_t rc_count(rc_heap *h, const char *type_name)
{
    RC__HEAP_CHECK(h, "rc_count");
    if (!h) return 0;
    if (!type_name) {
        rc__fail(h, RC_EINVAL, "rc_count: type_name is NULL");
        return 0;
    }
    if (!lk_walkable(h, "rc_count")) return 0;
    /* Compare names once per run of one type, not once per object. */
    size_t n = 0;
    const rc_type *last = NULL;
    bool match = false;
    for (int t = 0; t < 2; t++) {
        RC__FOREACH_LIVE(h, t, pg, o, {
            if (o->type != last) {
                last = o->type;
                match = !strcmp(last && last->name ? last->name : "?", type_name);
            }
            n += match;
        });
    }
    return n;
}

/* Result rows from tc->rows[0..k-1], names copied after them. */
static rc_typestat *typestat_rows(rc_heap *h, const lk_tcounts *tc, size_t k, size_t *n, const char *call)
{
    size_t names = 0;
    for (size_t i = 0; i < k; i++) names += strlen(tc->rows[i].name) + 1;
    rc_typestat *rows = lk_result_alloc(h, k * sizeof *rows + names);
    if (!rows) {
        *n = 0;
        return rc__fail(h, RC_ENOMEM, "%s: out of memory for the result", call);
    }
    char *s = (char *)(rows + k);
    for (size_t i = 0; i < k; i++) {
        size_t len = strlen(tc->rows[i].name) + 1;
        memcpy(s, tc->rows[i].name, len);
        rows[i].name = s;
        rows[i].count = tc->rows[i].count;
        rows[i].bytes = tc->rows[i].bytes;
        s += len;
    }
    *n = k;
    return rows;
}

static rc_typestat *typestats(rc_heap *h, size_t limit, size_t *n, const char *call)
{
    size_t dummy;
    if (!n) n = &dummy;
    *n = 0;
    if (!h) return NULL;
    if (!lk_walkable(h, call)) return NULL;
    lk_tcounts tc;
    if (!lk_count_types(h, &tc, call)) return NULL;
    lk_tcounts_merge(&tc);
    if (tc.len > 1) qsort(tc.rows, tc.len, sizeof *tc.rows, lk_cmp_by_count);
    size_t k = tc.len < limit ? tc.len : limit;
    rc_typestat *rows = k ? typestat_rows(h, &tc, k, n, call) : NULL;
    lk_tcounts_free(&tc);
    return rows;
}

rc_typestat *rc_typestats(rc_heap *h, size_t *n)
{
    RC__HEAP_CHECK(h, "rc_typestats");
    return typestats(h, SIZE_MAX, n, "rc_typestats");
}

rc_typestat *rc_most_common_types(rc_heap *h, size_t limit, size_t *n)
{
    RC__HEAP_CHECK(h, "rc_most_common_types");
    return typestats(h, limit ? limit : 10, n, "rc_most_common_types");
}

long rc_show_most_common_types(rc_heap *h, size_t limit, FILE *out)
{
    RC__HEAP_CHECK(h, "rc_show_most_common_types");
    size_t n;
    if (!h) return -1;
    rc_heap_clear_error(h);
    rc_typestat *rows = typestats(h, limit ? limit : 10, &n, "rc_show_most_common_types");
    if (!rows && rc_heap_error(h)) return -1;
    if (!out) out = stdout;
    int width = 0;
    for (size_t i = 0; i < n; i++) {
        int w = (int)strlen(rows[i].name);
        if (w > width) width = w;
    }
    for (size_t i = 0; i < n; i++) fprintf(out, "%-*s %zu\n", width, rows[i].name, rows[i].count);
    rc_typestat_free(rows);
    if (!lk_stream_ok(h, out, "rc_show_most_common_types")) return -1;
    return (long)n;
}

typedef struct bytype_ctx {
    rc_list *out;
    const char *name;
} bytype_ctx;

/* Append to `out` every live object for which keep(o, ctx) holds (out left
 * out). false on RC_ENOMEM (recorded). */
static bool collect_objects(rc_heap *h, rc_list *out, bool (*keep)(rc_head *o, void *ctx),
                            void *ctx, const char *call)
{
    rc_head *self = RC_HEAD(out);
    for (int t = 0; t < 2; t++) {
        RC__FOREACH_LIVE(h, t, pg, o, {
            if (o != self && keep(o, ctx) && rc_list_append(out, rc_obj(o + 1)) != 0) {
                rc__fail(h, RC_ENOMEM, "%s: out of memory for the result", call);
                return false;
            }
        });
    }
    return true;
}

static bool keep_named(rc_head *o, void *ctx)
{
    const char *name = ctx;
    return !strcmp(lk_type_name(o), name);
}

rc_list *rc_by_type(rc_heap *h, const char *type_name)
{
    RC__HEAP_CHECK(h, "rc_by_type");
    if (!h) return NULL;
    if (!type_name) return rc__fail(h, RC_EINVAL, "rc_by_type: type_name is NULL");
    if (!lk_walkable(h, "rc_by_type")) return NULL;
    rc_list *out = rc_list_new(h, 0);
    if (!out) return NULL;
    if (!collect_objects(h, out, keep_named, (void *)type_name, "rc_by_type")) {
        rc_decref(out);
        return NULL;
    }
    return out;
}

/* ---- growth ---- */

static uint64_t hash_name(const char *s)
{
    return rc__hash_bytes(s, strlen(s));
}

size_t lk_names_find(const lk_names *nt, const char *name)
{
    if (!nt->nslots) return SIZE_MAX;
    for (size_t j = hash_name(name) & (nt->nslots - 1);; j = (j + 1) & (nt->nslots - 1)) {
        if (!nt->slots[j]) return SIZE_MAX;
        if (!strcmp(nt->rows[nt->slots[j] - 1].name, name)) return nt->slots[j] - 1;
    }
}

static bool name_rehash(lk_names *nt, size_t nslots)
{
    size_t *s = lk_calloc(nt->h, nslots, sizeof *s);
    if (!s) return false;
    for (size_t r = 0; r < nt->len; r++) {
        size_t j = hash_name(nt->rows[r].name) & (nslots - 1);
        while (s[j]) j = (j + 1) & (nslots - 1);
        s[j] = r + 1;
    }
    lk_free(nt->h, nt->slots, nt->nslots * sizeof *nt->slots);
    nt->slots = s;
    nt->nslots = nslots;
    return true;
}

/* Add a name (absent) with a count; its row, or SIZE_MAX on out-of-memory
 * (the table is unchanged). */
size_t lk_names_add(lk_names *nt, const char *name, size_t count)
{
    if (!rc__mem_grow(nt->h, (void **)&nt->rows, &nt->cap, nt->len + 1, sizeof *nt->rows)) return SIZE_MAX;
    if ((nt->len + 1) * 2 > nt->nslots && !name_rehash(nt, nt->nslots ? nt->nslots * 2 : 32))
        return SIZE_MAX;
    size_t len = strlen(name) + 1;
    char *copy = lk_alloc(nt->h, len);
    if (!copy) return SIZE_MAX;
    memcpy(copy, name, len);
    nt->rows[nt->len] = (lk_name_row){copy, count};
    size_t j = hash_name(name) & (nt->nslots - 1);
    while (nt->slots[j]) j = (j + 1) & (nt->nslots - 1);
    nt->slots[j] = ++nt->len;
    return nt->len - 1;
}

void lk_names_free(lk_names *nt)
{
    for (size_t r = 0; r < nt->len; r++) lk_free(nt->h, nt->rows[r].name, strlen(nt->rows[r].name) + 1);
    lk_free(nt->h, nt->rows, nt->cap * sizeof *nt->rows);
    lk_free(nt->h, nt->slots, nt->nslots * sizeof *nt->slots);
    rc_heap *h = nt->h;
    memset(nt, 0, sizeof *nt);
    nt->h = h;
}

struct rc_growth {
    rc_heap *h;
    lk_names peaks;
};

rc_growth *rc_growth_new(rc_heap *h)
{
    RC__HEAP_CHECK(h, "rc_growth_new");
    if (!h) return NULL;
    rc_growth *g = lk_calloc(h, 1, sizeof *g);
    if (!g) return rc__fail(h, RC_ENOMEM, "rc_growth_new: out of memory");
    g->h = h;
    g->peaks.h = h;
    return g;
}

void rc_growth_free(rc_growth *g)
{
    RC__HEAP_CHECK(g ? g->h : NULL, "rc_growth_free");
    if (!g) return;
    rc_heap *h = g->h;
    lk_names_free(&g->peaks);
    lk_free(h, g, sizeof *g);
}

static int cmp_growth(const void *a, const void *b)
{
    const lk_tcount *x = a, *y = b;
    if (x->extra != y->extra) return x->extra > y->extra ? -1 : 1;
    return strcmp(x->name, y->name);
}

rc_growth_row *rc_growth_check(rc_growth *g, size_t limit, unsigned flags, size_t *n)
{
    RC__HEAP_CHECK(g ? g->h : NULL, "rc_growth_check");
    size_t dummy;
    if (!n) n = &dummy;
    *n = 0;
    if (!g) return NULL;
    rc_heap *h = g->h;
    static const char call[] = "rc_growth_check";
    if (!lk_walkable(h, call)) return NULL;
    lk_collect(h, flags);
    lk_tcounts tc;
    if (!lk_count_types(h, &tc, call)) return NULL;
    lk_tcounts_merge(&tc);
    /* First make room for every new name, so that a failure changes nothing. */
    size_t grown = 0;
    for (size_t r = 0; r < tc.len; r++) {
        size_t p = lk_names_find(&g->peaks, tc.rows[r].name);
        if (p == SIZE_MAX && lk_names_add(&g->peaks, tc.rows[r].name, 0) == SIZE_MAX) {
            lk_tcounts_free(&tc);
            return rc__fail(h, RC_ENOMEM, "%s: out of memory for the peaks", call);
        }
    }
    for (size_t r = 0; r < tc.len; r++) {
        size_t p = lk_names_find(&g->peaks, tc.rows[r].name);
        size_t peak = g->peaks.rows[p].count;
        tc.rows[r].extra = tc.rows[r].count > peak ? tc.rows[r].count - peak : 0;
        if (tc.rows[r].extra) grown++;
    }
    if (tc.len > 1) qsort(tc.rows, tc.len, sizeof *tc.rows, cmp_growth);
    if (!limit) limit = 10;
    size_t k = grown < limit ? grown : limit;
    rc_growth_row *rows = NULL;
    if (k) {
        size_t names = 0;
        for (size_t i = 0; i < k; i++) names += strlen(tc.rows[i].name) + 1;
        rows = lk_result_alloc(h, k * sizeof *rows + names);
        if (!rows) {
            lk_tcounts_free(&tc);
            return rc__fail(h, RC_ENOMEM, "%s: out of memory for the result", call);
        }
        char *s = (char *)(rows + k);
        for (size_t i = 0; i < k; i++) {
            size_t len = strlen(tc.rows[i].name) + 1;
            memcpy(s, tc.rows[i].name, len);
            rows[i] = (rc_growth_row){s, tc.rows[i].count, tc.rows[i].extra};
            s += len;
        }
    }
    /* Raise the peaks (every type, not only the rows returned). */
    for (size_t r = 0; r < tc.len; r++)
        if (tc.rows[r].extra) g->peaks.rows[lk_names_find(&g->peaks, tc.rows[r].name)].count = tc.rows[r].count;
    lk_tcounts_free(&tc);
    *n = k;
    return rows;
}

long rc_show_growth(rc_growth *g, size_t limit, unsigned flags, FILE *out)
{
    RC__HEAP_CHECK(g ? g->h : NULL, "rc_show_growth");
    size_t n;
    if (!g) return -1;
    rc_heap_clear_error(g->h);
    rc_growth_row *rows = rc_growth_check(g, limit, flags, &n);
    if (!rows && rc_heap_error(g->h)) return -1;
    if (!out) out = stdout;
    int width = 0;
    for (size_t i = 0; i < n; i++) {
        int w = (int)strlen(rows[i].name);
        if (w > width) width = w;
    }
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%-*s%9zu %+9lld\n", width, rows[i].name, rows[i].count, (long long)rows[i].delta);
    rc_growth_row_free(rows);
    if (!lk_stream_ok(g->h, out, "rc_show_growth")) return -1;
    return (long)n;
}
