/*
 * heapsnapshot.c -- heap snapshots in the V8 .heapsnapshot format, for Chrome
 * DevTools' Memory panel and for memlab.
 *
 * The format is one JSON object: "snapshot" (meta: field names and the
 * enumerations of node and edge types, and the counts), "nodes" (7 numbers
 * per node: type, name, id, self_size, edge_count, trace_node_id,
 * detachedness), "edges" (3 numbers per edge: type, name_or_index, to_node,
 * where to_node is the target's position in "nodes", i.e. its number times
 * 7), the empty trace and location tables, and "strings" (every name,
 * referred to by position). A node's edges follow those of the node before
 * it, so edge_count is all that ties edges to their source.
 *
 * Node 0 is a synthetic root (id 1, "(outside the heap)") with an edge to
 * every object held from outside the heap; then one node per live object in
 * page order, with id 2 * k for the k-th.
 *
 * Three walks: count in-heap references per block (for the root's edges);
 * write the nodes, numbering them and counting their edges; write the
 * edges. Side tables: two uint32_t per block of the pages (in-heap
 * references, node numbers), the list of held objects, and the table of
 * distinct strings. Numbers are formatted by hand into a 1 MiB buffer:
 * formatting is most of the cost.
 */
#include "leak/leak.h"
#include "util/utf8.h"

#include <errno.h>

#define NODE_FIELDS 7
#define NONE UINT32_MAX

enum { NT_HIDDEN = 0, NT_ARRAY, NT_STRING, NT_OBJECT, NT_CODE, NT_CLOSURE, NT_REGEXP, NT_NUMBER,
       NT_NATIVE, NT_SYNTHETIC };
enum { ET_CONTEXT = 0, ET_ELEMENT, ET_PROPERTY, ET_INTERNAL, ET_HIDDEN, ET_SHORTCUT, ET_WEAK };

#define STR_NAME_MAX 1024   /* bytes of a str kept as its node's name */

/* ---- output ---- */

typedef struct out {
    FILE *f;
    char *buf;
    size_t len, cap;
    bool failed;
} out;

static void out_flush(out *o)
{
    if (o->len && fwrite(o->buf, 1, o->len, o->f) != o->len) o->failed = true;
    o->len = 0;
}

static inline void out_reserve(out *o, size_t n)
{
    if (o->len + n > o->cap) out_flush(o);
}

static void out_bytes(out *o, const char *s, size_t n)
{
    if (n > o->cap) {
        out_flush(o);
        if (fwrite(s, 1, n, o->f) != n) o->failed = true;
        return;
    }
    out_reserve(o, n);
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static void out_str(out *o, const char *s) { out_bytes(o, s, strlen(s)); }

/* An unsigned number followed by `sep` (0: none). */
static inline void out_num(out *o, uint64_t v, char sep)
{
    out_reserve(o, 24);
    char tmp[24];
    size_t k = 0;
    do {
        tmp[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    char *p = o->buf + o->len;
    while (k) *p++ = tmp[--k];
    if (sep) *p++ = sep;
    o->len = (size_t)(p - o->buf);
}

/* s[0..n) as a JSON string: quotes, backslashes and control bytes escaped,
 * valid UTF-8 kept, other bytes as \u00XX (their Latin-1 reading). */
static void out_json(out *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    out_bytes(o, "\"", 1);
    while (p < end) {
        unsigned c = *p;
        out_reserve(o, 8);
        char *w = o->buf + o->len;
        if (c == '"' || c == '\\') {
            *w++ = '\\';
            *w++ = (char)c;
            p++;
        } else if (c >= 0x20 && c < 0x7F) {
            *w++ = (char)c;
            p++;
        } else {
            size_t k = c >= 0x80 ? rc__utf8_len(p, (size_t)(end - p)) : 0;
            if (k) {
                memcpy(w, p, k);
                w += k;
                p += k;
            } else {
                memcpy(w, "\\u00", 4);
                w[4] = hex[c >> 4];
                w[5] = hex[c & 15];
                w += 6;
                p++;
            }
        }
        o->len = (size_t)(w - o->buf);
    }
    out_bytes(o, "\"", 1);
}

/* ---- strings ---- */

typedef struct strtab {
    rc_heap *h;
    char *arena;
    size_t alen, acap;
    size_t *off;         /* string i: arena[off[i] .. off[i + 1]) */
    size_t n, ocap;
    uint32_t *slots;     /* open addressing: string + 1, 0 = empty */
    uint64_t *hashes;    /* per string */
    size_t hcap;
    size_t nslots;
    bool failed;
} strtab;

static bool strtab_rehash(strtab *t, size_t nslots)
{
    uint32_t *s = lk_calloc(t->h, nslots, sizeof *s);
    if (!s) return false;
    for (size_t i = 0; i < t->n; i++) {
        size_t j = t->hashes[i] & (nslots - 1);
        while (s[j]) j = (j + 1) & (nslots - 1);
        s[j] = (uint32_t)(i + 1);
    }
    lk_free(t->h, t->slots, t->nslots * sizeof *t->slots);
    t->slots = s;
    t->nslots = nslots;
    return true;
}

/* The position of s[0..n) in the table, added when new (0 on failure: "" ). */
static uint32_t intern(strtab *t, const char *s, size_t n)
{
    uint64_t hash = rc__hash_bytes(s, n);
    if (t->nslots) {
        for (size_t j = hash & (t->nslots - 1); t->slots[j]; j = (j + 1) & (t->nslots - 1)) {
            size_t i = t->slots[j] - 1;
            if (t->hashes[i] == hash && t->off[i + 1] - t->off[i] == n && !memcmp(t->arena + t->off[i], s, n))
                return (uint32_t)i;
        }
    }
    if (t->failed || t->n >= NONE - 2) goto fail;
    size_t oc = t->ocap, hc = t->hcap;
    if (!rc__mem_grow(t->h, (void **)&t->off, &oc, t->n + 2, sizeof *t->off)) goto fail;
    t->ocap = oc;
    if (!rc__mem_grow(t->h, (void **)&t->hashes, &hc, t->n + 1, sizeof *t->hashes)) goto fail;
    t->hcap = hc;
    if (!rc__mem_grow(t->h, (void **)&t->arena, &t->acap, t->alen + n + 1, 1)) goto fail;
    if ((t->n + 1) * 2 > t->nslots && !strtab_rehash(t, t->nslots ? t->nslots * 2 : 256)) goto fail;
    if (t->n == 0) t->off[0] = 0;
    memcpy(t->arena + t->alen, s, n);
    t->alen += n;
    t->off[t->n + 1] = t->alen;
    t->hashes[t->n] = hash;
    size_t j = hash & (t->nslots - 1);
    while (t->slots[j]) j = (j + 1) & (t->nslots - 1);
    t->slots[j] = (uint32_t)(t->n + 1);
    return (uint32_t)t->n++;
fail:
    t->failed = true;
    return 0;
}

static void strtab_free(strtab *t)
{
    lk_free(t->h, t->arena, t->acap);
    lk_free(t->h, t->off, t->ocap * sizeof *t->off);
    lk_free(t->h, t->hashes, t->hcap * sizeof *t->hashes);
    lk_free(t->h, t->slots, t->nslots * sizeof *t->slots);
}

/* ---- the walks ---- */

typedef struct snap {
    rc_heap *h;
    rc_blockids ids;
    uint32_t *in;        /* in-heap references per block */
    uint32_t *node;      /* node number per block */
    uint32_t *roots;     /* node numbers of the objects held from outside */
    size_t nroots, rcap;
    size_t nnodes, nedges;
    strtab strings;
    out o;
    uint32_t from;       /* edges: the node whose edges are written */
} snap;

typedef struct count_ctx {
    const snap *s;
    size_t n;
} count_ctx;

RC_INLINE void count_edge(rc_head *child, void *ctx)
{
    count_ctx *c = ctx;
    size_t id = rc__blockid(&c->s->ids, child);
    c->n += id != SIZE_MAX;
}

/* Edges of o that will be written: references to objects of the heap, and
 * the weak referent. */
static size_t edges_of(const snap *s, rc_head *o)
{
    count_ctx c = {s, 0};
    rc__foreach_ref(o, count_edge, &c);
    rc_head *r = lk_weak_referent(o);
    if (r && rc__blockid(&s->ids, r) != SIZE_MAX) c.n++;
    return c.n;
}

static void write_edge(snap *s, int type, uint64_t name, rc_head *child)
{
    size_t id = rc__blockid(&s->ids, child);
    if (id == SIZE_MAX) return;
    out *o = &s->o;
    if (s->nedges) out_bytes(o, ",\n", 2);
    out_num(o, (uint64_t)type, ',');
    out_num(o, name, ',');
    out_num(o, (uint64_t)s->node[id] * NODE_FIELDS, 0);
    s->nedges++;
}

static void edge_visit(rc_head *child, const rc_edge *e, void *ctx)
{
    snap *s = ctx;
    switch (e->kind) {
    case RC_EDGE_SLOT:
    case RC_EDGE_REF:
    case RC_EDGE_ITEM:
        write_edge(s, ET_ELEMENT, e->index, child);
        break;
    case RC_EDGE_DICT_KEY:
        write_edge(s, ET_INTERNAL, intern(&s->strings, "key", 3), child);
        break;
    case RC_EDGE_DICT_VALUE: {
        uint32_t name;
        rc_head *k = rc_is_obj(e->key) ? RC_HEAD(rc_as_obj(e->key)) : NULL;
        if (k && k->type && k->type->rc_kind == RC_KIND_STR) {
            rc_str_obj *str = RC__USER(k);
            name = intern(&s->strings, str->data, str->len < STR_NAME_MAX ? str->len : STR_NAME_MAX);
        } else {
            char buf[128];
            size_t n = lk_val_repr(e->key, buf, sizeof buf);
            name = intern(&s->strings, buf, n);
        }
        write_edge(s, ET_PROPERTY, name, child);
        break;
    }
    }
}

static void snap_free(snap *s)
{
    rc_heap *h = s->h;
    lk_free(h, s->in, s->ids.nslots * sizeof *s->in);
    lk_free(h, s->node, s->ids.nslots * sizeof *s->node);
    lk_free(h, s->roots, s->rcap * sizeof *s->roots);
    strtab_free(&s->strings);
    rc__blockids_free(&s->ids);
    lk_free(h, s->o.buf, s->o.cap);
}

static const char meta[] =
    "{\"snapshot\":{\"meta\":{"
    "\"node_fields\":[\"type\",\"name\",\"id\",\"self_size\",\"edge_count\",\"trace_node_id\",\"detachedness\"],"
    "\"node_types\":[[\"hidden\",\"array\",\"string\",\"object\",\"code\",\"closure\",\"regexp\",\"number\","
    "\"native\",\"synthetic\",\"concatenated string\",\"sliced string\",\"symbol\",\"bigint\",\"object shape\"],"
    "\"string\",\"number\",\"number\",\"number\",\"number\",\"number\"],"
    "\"edge_fields\":[\"type\",\"name_or_index\",\"to_node\"],"
    "\"edge_types\":[[\"context\",\"element\",\"property\",\"internal\",\"hidden\",\"shortcut\",\"weak\"],"
    "\"string_or_number\",\"node\"],"
    "\"trace_function_info_fields\":[\"function_id\",\"name\",\"script_name\",\"script_id\",\"line\",\"column\"],"
    "\"trace_node_fields\":[\"id\",\"function_info_index\",\"count\",\"size\",\"children\"],"
    "\"sample_fields\":[\"timestamp_us\",\"last_assigned_id\"],"
    "\"location_fields\":[\"object_index\",\"script_id\",\"line\",\"column\"]},";

/* The snapshot to f; `dest` names it in an I/O error ("the stream" or a
 * path), `call` the public call. */
static int snapshot_write(rc_heap *h, FILE *f, const char *call, const char *dest)
{
    if (!h) return -1;
    if (!f) {
        rc__fail(h, RC_EINVAL, "%s: out is NULL", call);
        return -1;
    }
    if (!lk_walkable(h, call)) return -1;
    snap s;
    memset(&s, 0, sizeof s);
    s.h = h;
    s.strings.h = h;
    s.o.f = f;
    s.o.cap = (size_t)1 << 20;
    s.o.buf = lk_alloc(h, s.o.cap);
    if (!s.o.buf) goto oom;
    if (!rc__blockids_init(h, &s.ids, call)) goto fail;
    s.in = rc__inrefs(h, &s.ids, call);
    if (!s.in) goto fail;
    s.node = lk_alloc(h, (s.ids.nslots ? s.ids.nslots : 1) * sizeof *s.node);
    if (!s.node) goto oom;

    /* Number the nodes and find the roots (headers only). */
    size_t n = 1;
    for (int t = 1; t >= 0; t--) {
        RC__FOREACH_LIVE(h, t, pg, o, {
            size_t id = rc__blockid(&s.ids, o);
            s.node[id] = (uint32_t)n;
            if (rc__external_refs(o, s.in[id])) {
                if (!rc__mem_grow(h, (void **)&s.roots, &s.rcap, s.nroots + 1, sizeof *s.roots)) goto oom;
                s.roots[s.nroots++] = (uint32_t)n;
            }
            if (++n >= NONE / NODE_FIELDS) {
                rc__fail(h, RC_EINVAL, "%s: too many objects for the format", call);
                goto fail;
            }
        });
    }
    s.nnodes = n;
    intern(&s.strings, "", 0);
    uint32_t root_name = intern(&s.strings, "(outside the heap)", 18);

    /* The edge count goes in the header: count the edges first. */
    size_t nedges = s.nroots;
    RC__FOREACH_LIVE(h, 1, pg, o, { nedges += edges_of(&s, o); });   /* untracked pages hold no references */

    out *w = &s.o;
    out_str(w, meta);
    out_str(w, "\"node_count\":");
    out_num(w, s.nnodes, ',');
    out_str(w, "\"edge_count\":");
    out_num(w, nedges, ',');
    out_str(w, "\"trace_function_count\":0},\n\"nodes\":[");

    /* Nodes. */
    out_num(w, NT_SYNTHETIC, ',');
    out_num(w, root_name, ',');
    out_num(w, 1, ',');
    out_num(w, 0, ',');
    out_num(w, s.nroots, ',');
    out_str(w, "0,0");
    const rc_type *last = NULL;
    uint32_t last_name = 0;
    size_t k = 1;
    for (int t = 1; t >= 0; t--) {
        RC__FOREACH_LIVE(h, t, pg, o, {
            int type = NT_OBJECT;
            uint32_t name;
            if (o->type && o->type->rc_kind == RC_KIND_STR) {
                rc_str_obj *str = RC__USER(o);
                size_t len = str->len < STR_NAME_MAX ? str->len : STR_NAME_MAX;
                while (len && len < str->len && ((unsigned char)str->data[len] & 0xC0) == 0x80) len--;
                name = intern(&s.strings, str->data, len);
                type = NT_STRING;
            } else if (o->type && o->type->rc_kind == RC_KIND_INT) {
                char num[24];   /* a number node named by its value */
                int len = snprintf(num, sizeof num, "%lld",
                                   (long long)((rc_int_obj *)RC__USER(o))->value);
                name = intern(&s.strings, num, (size_t)len);
                type = NT_NUMBER;
            } else {
                if (o->type != last) {
                    last = o->type;
                    const char *tn = lk_type_name(o);
                    last_name = intern(&s.strings, tn, strlen(tn));
                }
                name = last_name;
            }
            size_t ne = t == 1 ? edges_of(&s, o) : 0;
            out_bytes(w, ",\n", 2);
            out_num(w, (uint64_t)type, ',');
            out_num(w, name, ',');
            out_num(w, 2 * (uint64_t)k, ',');
            out_num(w, t == 1 ? rc__self_size(o) : rc__block_bytes(pg), ',');
            out_num(w, ne, ',');
            out_bytes(w, "0,0", 3);
            k++;
        });
    }

    /* Edges: the root's, then each object's in node order. */
    out_str(w, "],\n\"edges\":[");
    for (size_t i = 0; i < s.nroots; i++) {
        if (s.nedges) out_bytes(w, ",\n", 2);
        out_num(w, ET_ELEMENT, ',');
        out_num(w, i, ',');
        out_num(w, (uint64_t)s.roots[i] * NODE_FIELDS, 0);
        s.nedges++;
    }
    uint32_t referent = intern(&s.strings, "referent", 8);
    RC__FOREACH_LIVE(h, 1, pg, o, {
        rc__foreach_edge(o, edge_visit, &s);
        rc_head *r = lk_weak_referent(o);
        if (r) write_edge(&s, ET_WEAK, referent, r);
    });
    out_str(w, "\n],\n\"trace_function_infos\":[],\n\"trace_tree\":[],\n\"samples\":[],\n\"locations\":[],\n"
               "\"strings\":[");
    for (size_t i = 0; i < s.strings.n; i++) {
        if (i) out_bytes(w, ",\n", 2);
        out_json(w, s.strings.arena + s.strings.off[i], s.strings.off[i + 1] - s.strings.off[i]);
    }
    out_str(w, "]}\n");
    out_flush(w);
    if (s.strings.failed) goto oom;
    if (s.nedges != nedges) {
        rc__fail(h, RC_EINVAL, "%s: the heap changed while it was written", call);
        goto fail;
    }
    errno = 0;
    if (w->failed || fflush(f) != 0 || ferror(f)) {
        rc__fail(h, RC_EIO, "%s: cannot write %s: %s", call, dest, strerror(errno ? errno : EIO));
        goto fail;
    }
    snap_free(&s);
    return 0;
oom:
    rc__fail(h, RC_ENOMEM, "%s: out of memory", call);
fail:
    snap_free(&s);
    return -1;
}

int rc_heapsnapshot_write(rc_heap *h, FILE *f)
{
    RC__HEAP_CHECK(h, "rc_heapsnapshot_write");
    return snapshot_write(h, f, "rc_heapsnapshot_write", "the output stream");
}

int rc_heapsnapshot_save(rc_heap *h, const char *path)
{
    static const char call[] = "rc_heapsnapshot_save";
    RC__HEAP_CHECK(h, "rc_heapsnapshot_save");
    if (!h) return -1;
    if (!path) {
        rc__fail(h, RC_EINVAL, "%s: path is NULL", call);
        return -1;
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        rc__fail(h, RC_EIO, "%s: cannot create %s: %s", call, path, strerror(errno));
        return -1;
    }
    int rc = snapshot_write(h, f, call, path);
    if (fclose(f) != 0 && rc == 0) {
        rc__fail(h, RC_EIO, "%s: cannot write %s: %s", call, path, strerror(errno));
        rc = -1;
    }
    /* No half-written snapshot left behind (a tool would choke on it). */
    if (rc != 0) lk_remove_partial(path);
    return rc;
}
