/*
 * trace.c -- when and where objects were made: allocation sites
 * (tracemalloc for recycle heaps) and marks (objgraph's get_new_ids).
 *
 * While a heap has its tracer (rc__tracer, gcmodule/gcmodule.h) the leak
 * slot's hooks (core/hooks.h) are attached and want RC_HOOK_ALLOC and
 * RC_HOOK_DEATH: core calls trace_new for every object made and trace_free
 * for every object that dies (object.c). The books:
 *
 *   objects  a pointer map (util/pmap.h: linear probing, deletion by
 *            backward shift, at most half full) from an object's header to
 *            its site number and creation serial: 24 bytes per slot.
 *   sites    a table of distinct (file pointer, line, backtrace) triples with
 *            a hash index; site 0 is the unknown site (no file, no frames).
 *            File strings are not copied while tracing: they are __FILE__
 *            literals or strings the caller keeps (rc_new_at's contract).
 *
 * Serials count up from 1 per tracing epoch; epochs are numbered across all
 * heaps, so a mark taken during one tracing run (leak.c) can tell whether
 * tracing has been on ever since and its serials still compare.
 *
 * Snapshots copy what they need (file names, symbolised frames) and carry
 * their allocator, so they outlive tracing and the heap. Comparison merges
 * sites by content (file name, line, frames), not by pointer.
 *
 * A mark keeps one bit per block of the pages (set: alive at the mark) with
 * the pages sorted by address, and the count of each type then. An object
 * is new when its page or its bit is not in the mark -- or, when tracing
 * has run since before the mark, when its serial is at least the mark's.
 */
#include "leak/leak.h"
#include "gcmodule/gcmodule.h"
#include "core/os.h"

#include <stdlib.h>

typedef struct tr_entry {   /* the value of an object in the objects map */
    uint64_t serial;
    uint32_t site;
} tr_entry;

typedef struct tr_site {
    const char *file;    /* NULL: unknown */
    int line;
    unsigned nframes;
    void *frames[RC_TRACE_MAX_DEPTH];
    uint64_t hash;
} tr_site;

typedef struct rc_tracer {
    unsigned depth;
    uint64_t epoch;
    uint64_t serial;     /* the next serial */
    rc_pmap objects;     /* rc_head * -> tr_entry */
    tr_site *sites;
    size_t nsites, sites_cap;
    uint32_t *site_index;   /* open addressing: site + 1, 0 = empty */
    size_t site_index_cap;
    size_t lost;         /* objects not recorded for want of memory */
} rc_tracer;

static uint64_t epochs;   /* across heaps; updated atomically */

static inline tr_entry *objects_find(const rc_tracer *t, const rc_head *o)
{
    return rc__pmap_get(&t->objects, o);
}

/* ---- sites ---- */

static uint64_t site_hash(const char *file, int line, void *const *frames, unsigned n)
{
    uint64_t x = (uint64_t)(uintptr_t)file * 0x9E3779B97F4A7C15ull ^ (uint64_t)(unsigned)line;
    for (unsigned i = 0; i < n; i++) x = (x ^ (uint64_t)(uintptr_t)frames[i]) * 0xFF51AFD7ED558CCDull;
    x ^= x >> 31;
    return x;
}

static bool site_index_grow(rc_heap *h, rc_tracer *t)
{
    size_t ncap = t->site_index_cap ? t->site_index_cap * 2 : 256;
    uint32_t *n = lk_calloc(h, ncap, sizeof *n);
    if (!n) return false;
    for (size_t s = 1; s < t->nsites; s++) {
        size_t j = t->sites[s].hash & (ncap - 1);
        while (n[j]) j = (j + 1) & (ncap - 1);
        n[j] = (uint32_t)(s + 1);
    }
    lk_free(h, t->site_index, t->site_index_cap * sizeof *t->site_index);
    t->site_index = n;
    t->site_index_cap = ncap;
    return true;
}

/* The site number of (file, line, frames), added when new; 0 (the unknown
 * site) when memory runs out. */
static uint32_t site_of(rc_heap *h, rc_tracer *t, const char *file, int line, void *const *frames, unsigned n)
{
    if (!file && !n) return 0;
    uint64_t hash = site_hash(file, line, frames, n);
    if (t->site_index_cap) {
        for (size_t j = hash & (t->site_index_cap - 1); t->site_index[j]; j = (j + 1) & (t->site_index_cap - 1)) {
            tr_site *s = &t->sites[t->site_index[j] - 1];
            if (s->hash == hash && s->file == file && s->line == line && s->nframes == n &&
                !memcmp(s->frames, frames, n * sizeof *frames))
                return t->site_index[j] - 1;
        }
    }
    if (t->nsites >= UINT32_MAX - 1) return 0;
    if (!rc__mem_grow(h, (void **)&t->sites, &t->sites_cap, t->nsites + 1, sizeof *t->sites)) return 0;
    if ((t->nsites + 1) * 2 > t->site_index_cap && !site_index_grow(h, t)) return 0;
    tr_site *s = &t->sites[t->nsites];
    memset(s, 0, sizeof *s);
    s->file = file;
    s->line = line;
    s->nframes = n;
    memcpy(s->frames, frames, n * sizeof *frames);
    s->hash = hash;
    size_t j = hash & (t->site_index_cap - 1);
    while (t->site_index[j]) j = (j + 1) & (t->site_index_cap - 1);
    t->site_index[j] = (uint32_t)(++t->nsites);
    return (uint32_t)(t->nsites - 1);
}

/* ---- hooks ---- */

static const rc_hooks trace_hooks;   /* the leak slot's table, below */

/* Frames of the library above the caller: this function, the dispatcher
 * rc__hook_alloc and rc_new* (new_object is inlined there). */
#define TRACE_SKIP 3

/* on_alloc: `o` was made at file:line. */
static void trace_new(rc_heap *h, rc_head *o, const char *file, int line)
{
    rc_tracer *t = *rc__tracer(h);
    void *frames[RC_TRACE_MAX_DEPTH + TRACE_SKIP];
    unsigned n = 0;
    if (t->depth) {
        int got = rc__os_backtrace(frames, (int)t->depth + TRACE_SKIP);
        n = got > TRACE_SKIP ? (unsigned)got - TRACE_SKIP : 0;
    }
    if (!rc__pmap_reserve(&t->objects, 1)) {
        t->lost++;
        return;
    }
    uint32_t site = site_of(h, t, file, file ? line : 0, frames + TRACE_SKIP, n);
    tr_entry *e = rc__pmap_put(&t->objects, o, NULL);   /* reserved: cannot fail */
    *e = (tr_entry){t->serial++, site};
}

/* on_death: `o` leaves the heap. */
static void trace_free(rc_heap *h, rc_head *o)
{
    rc_tracer *t = *rc__tracer(h);
    rc__pmap_del(&t->objects, o);
}

uint64_t rc__trace_serial(rc_heap *h, const rc_head *o)
{
    rc_tracer *t = *rc__tracer(h);
    if (!t) return 0;
    tr_entry *e = objects_find(t, o);
    return e ? e->serial : 0;
}

uint64_t rc__trace_epoch(const rc_heap *h)
{
    const rc_tracer *t = *rc__tracer(h);
    return t ? t->epoch : 0;
}

uint64_t rc__trace_next_serial(const rc_heap *h)
{
    const rc_tracer *t = *rc__tracer(h);
    return t ? t->serial : 0;
}

/* ---- control ---- */

int rc_trace_start(rc_heap *h, unsigned depth)
{
    RC__HEAP_CHECK(h, "rc_trace_start");
    if (!h) return -1;
    if (depth > RC_TRACE_MAX_DEPTH) depth = RC_TRACE_MAX_DEPTH;
    if (*rc__tracer(h)) {
        (*rc__tracer(h))->depth = depth;
        return 0;
    }
    rc_tracer *t = lk_calloc(h, 1, sizeof *t);
    if (!t) {
        rc__fail(h, RC_ENOMEM, "rc_trace_start: out of memory");
        return -1;
    }
    /* Site 0: the unknown site, never in the index. */
    if (!rc__mem_grow(h, (void **)&t->sites, &t->sites_cap, 1, sizeof *t->sites)) {
        lk_free(h, t, sizeof *t);
        rc__fail(h, RC_ENOMEM, "rc_trace_start: out of memory");
        return -1;
    }
    memset(&t->sites[0], 0, sizeof t->sites[0]);
    t->nsites = 1;
    rc__pmap_init(&t->objects, rc__mem_heap(h), sizeof(tr_entry));
    t->depth = depth;
    t->epoch = __atomic_add_fetch(&epochs, 1, __ATOMIC_RELAXED);
    t->serial = 1;
    if (depth) {
        /* The first backtrace() loads the unwinder: do it now, not inside
         * the first rc_new. */
        void *f[2];
        rc__os_backtrace(f, 2);
    }
    *rc__tracer(h) = t;
    rc__hooks_set(h, RC_SLOT_LEAK, &trace_hooks);
    rc__hooks_want(h, RC_SLOT_LEAK, RC_HOOK_ALLOC | RC_HOOK_DEATH);
    return 0;
}

void rc_trace_stop(rc_heap *h)
{
    RC__HEAP_CHECK(h, "rc_trace_stop");
    if (!h || !*rc__tracer(h)) return;
    rc_tracer *t = *rc__tracer(h);
    *rc__tracer(h) = NULL;
    rc__hooks_set(h, RC_SLOT_LEAK, NULL);
    rc__pmap_free(&t->objects);
    lk_free(h, t->sites, t->sites_cap * sizeof *t->sites);
    lk_free(h, t->site_index, t->site_index_cap * sizeof *t->site_index);
    lk_free(h, t, sizeof *t);
}

/* on_heap_free: the books go with the heap (see rc_heap_free). */
static void trace_teardown(rc_heap *h)
{
    rc_trace_stop(h);
}

int rc_trace_is_tracing(const rc_heap *h)
{
    RC__HEAP_CHECK(h, "rc_trace_is_tracing");
    return h && *rc__tracer(h) != NULL;
}

int rc_trace_site(const void *obj, const char **file, int *line)
{
    if (!obj) return 0;
    RC__CHECK(obj, "rc_trace_site");
    rc_heap *h = rc_heap_of(obj);
    rc_tracer *t = *rc__tracer(h);
    if (!t) return 0;
    tr_entry *e = objects_find(t, RC_HEAD(obj));
    if (!e || e->site == 0) return 0;
    const tr_site *s = &t->sites[e->site];
    if (file) *file = s->file ? s->file : "?";
    if (line) *line = s->line;
    return 1;
}

/* site_of: the site `o` was made at, when it is known (rc_trace_site). */
static bool trace_site_of(rc_heap *h, const rc_head *o, const char **file, int *line)
{
    (void)h;
    return rc_trace_site(o + 1, file, line) != 0;
}

static const rc_hooks trace_hooks = {
    .on_alloc = trace_new,
    .on_death = trace_free,
    .site_of = trace_site_of,
    .on_heap_free = trace_teardown,
};

/* ---- snapshots ---- */

typedef struct snap_site {
    char *file;          /* "?" for unknown */
    int line;
    unsigned nframes;
    char **frames;
    size_t size, count;
    uint64_t key;        /* hash of the content */
} snap_site;

struct rc_trace_snapshot {
    void *(*realloc)(void *ud, void *p, size_t size);
    void *ud;
    snap_site *sites;
    size_t nsites;
};

static void *s_alloc(const rc_trace_snapshot *s, size_t n)
{
    return s->realloc(s->ud, NULL, n ? n : 1);
}

static void s_free(const rc_trace_snapshot *s, void *p)
{
    if (p) s->realloc(s->ud, p, 0);
}

static char *s_strdup(const rc_trace_snapshot *s, const char *str)
{
    size_t n = strlen(str) + 1;
    char *p = s_alloc(s, n);
    if (p) memcpy(p, str, n);
    return p;
}

/* A hash of a site's content (file name, line, frame names), each string
 * hashed on its own and chained through the mixer. */
static uint64_t content_key(const char *file, int line, char *const *frames, unsigned n)
{
    uint64_t x = rc__mix64(rc__hash_bytes(file, strlen(file)) ^ (uint64_t)(unsigned)line);
    for (unsigned i = 0; i < n; i++) x = rc__mix64(x ^ rc__hash_bytes(frames[i], strlen(frames[i])));
    return x;
}

static bool same_content(const snap_site *a, const snap_site *b)
{
    if (a->key != b->key || a->line != b->line || a->nframes != b->nframes || strcmp(a->file, b->file))
        return false;
    for (unsigned i = 0; i < a->nframes; i++)
        if (strcmp(a->frames[i], b->frames[i])) return false;
    return true;
}

void rc_trace_snapshot_free(rc_trace_snapshot *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->nsites; i++) {
        snap_site *ss = &s->sites[i];
        s_free(s, ss->file);
        for (unsigned f = 0; f < ss->nframes; f++) s_free(s, ss->frames[f]);
        s_free(s, ss->frames);
    }
    s_free(s, s->sites);
    s_free(s, s);
}

/* Fill snapshot site `ss` from tracer site `ts` (NULL: unknown). */
static bool snap_site_fill(rc_trace_snapshot *s, snap_site *ss, const tr_site *ts)
{
    memset(ss, 0, sizeof *ss);
    ss->file = s_strdup(s, ts && ts->file ? ts->file : "?");
    if (!ss->file) return false;
    ss->line = ts ? ts->line : 0;
    if (ts && ts->nframes) {
        ss->frames = s_alloc(s, ts->nframes * sizeof *ss->frames);
        if (!ss->frames) return false;
        char **sym = rc__os_symbols((void *const *)ts->frames, (int)ts->nframes);
        for (unsigned f = 0; f < ts->nframes; f++) {
            char fallback[32];
            snprintf(fallback, sizeof fallback, "%p", ts->frames[f]);
            ss->frames[f] = s_strdup(s, sym ? sym[f] : fallback);
            if (!ss->frames[f]) {
                free(sym);
                return false;
            }
            ss->nframes = f + 1;
        }
        free(sym);
    }
    ss->key = content_key(ss->file, ss->line, ss->frames, ss->nframes);
    return true;
}

rc_trace_snapshot *rc_trace_take_snapshot(rc_heap *h)
{
    static const char call[] = "rc_trace_take_snapshot";
    RC__HEAP_CHECK(h, "rc_trace_take_snapshot");
    if (!h) return NULL;
    rc_tracer *t = *rc__tracer(h);
    if (!t) return rc__fail(h, RC_EINVAL, "%s: the heap is not tracing (rc_trace_start)", call);
    if (h->freeing || h->scanning) return rc__fail(h, RC_EBUSY, "%s: refused while objects are being freed", call);
    rc_trace_snapshot *s = h->cfg.allocator.realloc(h->cfg.allocator.ud, NULL, sizeof *s);
    if (!s) return rc__fail(h, RC_ENOMEM, "%s: out of memory", call);
    memset(s, 0, sizeof *s);
    s->realloc = h->cfg.allocator.realloc;
    s->ud = h->cfg.allocator.ud;
    /* Per tracer site: size and count; site 0 also gets the untraced. */
    size_t nts = t->nsites ? t->nsites : 1;
    size_t *size = s_alloc(s, nts * 2 * sizeof *size);
    if (!size) goto oom;
    memset(size, 0, nts * 2 * sizeof *size);
    size_t *count = size + nts;
    size_t traced = 0, traced_blocks = 0;
    const void *key;
    void *val;
    for (size_t pos = 0; rc__pmap_next(&t->objects, &pos, &key, &val);) {
        tr_entry *e = val;
        rc_head *o = (rc_head *)key;
        size[e->site] += rc__self_size(o);
        count[e->site]++;
        traced++;
        traced_blocks += rc__block_bytes(rc__page_of(o));
    }
    size_t objects, bytes;
    rc__count_objects(h, &objects, &bytes);
    count[0] += objects > traced ? objects - traced : 0;
    size[0] += bytes > traced_blocks ? bytes - traced_blocks : 0;
    /* Copy the sites that have objects, merging equal contents. */
    size_t used = 0;
    for (size_t i = 0; i < nts; i++) used += count[i] != 0;
    s->sites = s_alloc(s, (used ? used : 1) * sizeof *s->sites);
    if (!s->sites) {
        s_free(s, size);
        goto oom;
    }
    for (size_t i = 0; i < nts; i++) {
        if (!count[i]) continue;
        snap_site *ss = &s->sites[s->nsites];
        if (!snap_site_fill(s, ss, i ? &t->sites[i] : NULL)) {
            s->nsites++;   /* free what was filled */
            s_free(s, size);
            goto oom;
        }
        ss->size = size[i];
        ss->count = count[i];
        size_t k;
        for (k = 0; k < s->nsites; k++)
            if (same_content(&s->sites[k], ss)) break;
        if (k < s->nsites) {   /* the same place through another file pointer */
            s->sites[k].size += ss->size;
            s->sites[k].count += ss->count;
            s_free(s, ss->file);
            for (unsigned f = 0; f < ss->nframes; f++) s_free(s, ss->frames[f]);
            s_free(s, ss->frames);
        } else {
            s->nsites++;
        }
    }
    s_free(s, size);
    return s;
oom:
    rc_trace_snapshot_free(s);
    return rc__fail(h, RC_ENOMEM, "%s: out of memory", call);
}

/* ---- statistics and comparison ---- */

typedef struct stat_src {
    const snap_site *site;   /* for names and frames */
    size_t size, count;
    long long size_diff, count_diff;
} stat_src;

static long long absll(long long x) { return x < 0 ? -x : x; }

static int cmp_stat(const void *a, const void *b)
{
    const stat_src *x = a, *y = b;
    if (absll(x->size_diff) != absll(y->size_diff)) return absll(x->size_diff) > absll(y->size_diff) ? -1 : 1;
    if (x->size != y->size) return x->size > y->size ? -1 : 1;
    if (absll(x->count_diff) != absll(y->count_diff)) return absll(x->count_diff) > absll(y->count_diff) ? -1 : 1;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    int c = strcmp(x->site->file, y->site->file);
    if (c) return c;
    return x->site->line < y->site->line ? -1 : x->site->line > y->site->line;
}

/* A result array of n rows from src (sorted here), strings copied in. */
static rc_trace_stat *stat_rows(const rc_trace_snapshot *s, stat_src *src, size_t n, int diff, size_t *out_n)
{
    if (n > 1) qsort(src, n, sizeof *src, cmp_stat);
    size_t frames = 0, strings = 0;
    for (size_t i = 0; i < n; i++) {
        const snap_site *ss = src[i].site;
        frames += ss->nframes;
        strings += strlen(ss->file) + 1;
        for (unsigned f = 0; f < ss->nframes; f++) strings += strlen(ss->frames[f]) + 1;
    }
    size_t bytes = n * sizeof(rc_trace_stat) + frames * sizeof(char *) + strings;
    rc_trace_stat *rows = lk_result_alloc_with(s->realloc, s->ud, bytes);
    if (!rows) {
        *out_n = 0;
        return NULL;
    }
    const char **fp = (const char **)(rows + n);
    char *sp = (char *)(fp + frames);
    for (size_t i = 0; i < n; i++) {
        const snap_site *ss = src[i].site;
        rc_trace_stat *r = &rows[i];
        size_t len = strlen(ss->file) + 1;
        memcpy(sp, ss->file, len);
        r->file = sp;
        sp += len;
        r->line = ss->line;
        r->nframes = ss->nframes;
        r->frames = fp;
        for (unsigned f = 0; f < ss->nframes; f++) {
            len = strlen(ss->frames[f]) + 1;
            memcpy(sp, ss->frames[f], len);
            *fp++ = sp;
            sp += len;
        }
        r->size = src[i].size;
        r->count = src[i].count;
        r->size_diff = src[i].size_diff;
        r->count_diff = src[i].count_diff;
        r->diff = diff;
    }
    *out_n = n;
    return rows;
}

void rc_trace_stat_free(rc_trace_stat *rows)
{
    lk_result_free(rows);
}

rc_trace_stat *rc_trace_statistics(const rc_trace_snapshot *s, size_t *n)
{
    size_t dummy;
    if (!n) n = &dummy;
    *n = 0;
    if (!s || !s->nsites) return NULL;
    stat_src *src = s_alloc(s, s->nsites * sizeof *src);
    if (!src) return NULL;
    for (size_t i = 0; i < s->nsites; i++)
        src[i] = (stat_src){&s->sites[i], s->sites[i].size, s->sites[i].count, 0, 0};
    rc_trace_stat *rows = stat_rows(s, src, s->nsites, 0, n);
    s_free(s, src);
    return rows;
}

rc_trace_stat *rc_trace_compare(const rc_trace_snapshot *now, const rc_trace_snapshot *old, size_t *n)
{
    size_t dummy;
    if (!n) n = &dummy;
    *n = 0;
    if (!now) return NULL;
    size_t nold = old ? old->nsites : 0;
    size_t total = now->nsites + nold;
    if (!total) return NULL;
    stat_src *src = s_alloc(now, total * sizeof *src);
    /* Index of old sites by content key. */
    size_t cap = 16;
    while (cap < nold * 2) cap *= 2;
    size_t *idx = src ? s_alloc(now, cap * sizeof *idx) : NULL;
    unsigned char *matched = idx ? s_alloc(now, nold ? nold : 1) : NULL;
    if (!matched) {
        s_free(now, src);
        s_free(now, idx);
        return NULL;
    }
    memset(idx, 0, cap * sizeof *idx);
    memset(matched, 0, nold ? nold : 1);
    for (size_t i = 0; i < nold; i++) {
        size_t j = old->sites[i].key & (cap - 1);
        while (idx[j]) j = (j + 1) & (cap - 1);
        idx[j] = i + 1;
    }
    size_t k = 0;
    for (size_t i = 0; i < now->nsites; i++) {
        const snap_site *ns = &now->sites[i];
        size_t osize = 0, ocount = 0;
        for (size_t j = ns->key & (cap - 1); idx[j]; j = (j + 1) & (cap - 1)) {
            const snap_site *os = &old->sites[idx[j] - 1];
            if (!matched[idx[j] - 1] && same_content(os, ns)) {
                matched[idx[j] - 1] = 1;
                osize = os->size;
                ocount = os->count;
                break;
            }
        }
        src[k++] = (stat_src){ns, ns->size, ns->count, (long long)ns->size - (long long)osize,
                              (long long)ns->count - (long long)ocount};
    }
    for (size_t i = 0; i < nold; i++)
        if (!matched[i])
            src[k++] = (stat_src){&old->sites[i], 0, 0, -(long long)old->sites[i].size,
                                  -(long long)old->sites[i].count};
    rc_trace_stat *rows = stat_rows(now, src, k, 1, n);
    s_free(now, matched);
    s_free(now, idx);
    s_free(now, src);
    return rows;
}

/* tracemalloc's size format: "512 B", "39.1 KiB", "+2 MiB". */
static void fmt_size(char *buf, size_t size, long long v, int sign)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double x = (double)v;
    for (int u = 0; u < 5; u++) {
        double ax = x < 0 ? -x : x;
        if (ax < 100 && u) {
            snprintf(buf, size, sign ? "%+.1f %s" : "%.1f %s", x, units[u]);
            return;
        }
        if (ax < 10 * 1024 || u == 4) {
            snprintf(buf, size, sign ? "%+.0f %s" : "%.0f %s", x, units[u]);
            return;
        }
        x /= 1024;
    }
}

void rc_trace_print(const rc_trace_stat *rows, size_t n, size_t limit, FILE *out)
{
    if (!out) out = stdout;
    if (!limit) limit = 10;
    for (size_t i = 0; i < n && i < limit; i++) {
        const rc_trace_stat *r = &rows[i];
        char sz[32], szd[32];
        fmt_size(sz, sizeof sz, (long long)r->size, 0);
        if (r->line) fprintf(out, "%s:%d: size=%s", r->file, r->line, sz);
        else fprintf(out, "%s: size=%s", r->file, sz);
        if (r->diff) {
            fmt_size(szd, sizeof szd, r->size_diff, 1);
            fprintf(out, " (%s), count=%zu (%+lld)", szd, r->count, r->count_diff);
        } else {
            fprintf(out, ", count=%zu", r->count);
        }
        if (r->count) {
            fmt_size(sz, sizeof sz, (long long)(r->size / r->count), 0);
            fprintf(out, ", average=%s", sz);
        }
        fputc('\n', out);
        for (unsigned f = 0; f < r->nframes; f++) fprintf(out, "    %s\n", r->frames[f]);
    }
}

/* ---- marks ---- */

typedef struct mark_page {
    const rc_page *pg;
    uint32_t block_size;
    uint32_t nslots;
    size_t bit;        /* first bit of the page in bits[] (a multiple of 64) */
} mark_page;

struct rc_mark {
    rc_heap *h;
    mark_page *pages;
    size_t npages;
    uint64_t *bits;
    size_t nwords;
    lk_names counts;   /* objects per type name at the mark */
    uint64_t epoch;      /* trace epoch at the mark (0: not tracing) */
    uint64_t serial;     /* first serial after the mark */
};

static int cmp_mark_pages(const void *a, const void *b)
{
    const mark_page *x = a, *y = b;
    return x->pg < y->pg ? -1 : x->pg > y->pg;
}

/* Fill the fields of a mark for now into `m` (its heap set, rest empty). */
static bool mark_fill(rc_mark *m, const char *call)
{
    rc_heap *h = m->h;
    size_t np = h->pages[0].len + h->pages[1].len, words = 0;
    m->pages = lk_alloc(h, np * sizeof *m->pages);
    if (!m->pages) goto oom;
    m->npages = np;
    size_t k = 0;
    for (int t = 0; t < 2; t++)
        for (size_t i = 0; i < h->pages[t].len; i++) {
            rc_page *pg = h->pages[t].items[i];
            size_t ns = rc__page_nblocks(pg);
            m->pages[k++] = (mark_page){pg, pg->block_size, (uint32_t)ns, words * 64};
            words += (ns + 63) / 64;
        }
    m->bits = lk_calloc(h, words, sizeof *m->bits);
    if (!m->bits) goto oom;
    m->nwords = words;
    lk_tcounts tc;
    if (!lk_count_types(h, &tc, call)) return false;
    lk_tcounts_merge(&tc);
    m->counts.h = h;
    for (size_t r = 0; r < tc.len; r++)
        if (lk_names_add(&m->counts, tc.rows[r].name, tc.rows[r].count) == SIZE_MAX) {
            lk_tcounts_free(&tc);
            goto oom;
        }
    lk_tcounts_free(&tc);
    for (size_t i = 0; i < np; i++) {
        mark_page *mp = &m->pages[i];
        rc_page *pg = (rc_page *)mp->pg;
        size_t s = 0;   /* the block's position in its page */
        RC__FOREACH_BLOCK(pg, o) {
            if (rc__block_live(o)) lk_bit_set(m->bits, mp->bit + s);
            s++;
        }
    }
    if (np > 1) qsort(m->pages, np, sizeof *m->pages, cmp_mark_pages);
    m->epoch = rc__trace_epoch(h);
    m->serial = rc__trace_next_serial(h);
    return true;
oom:
    rc__fail(h, RC_ENOMEM, "%s: out of memory for the mark", call);
    return false;
}

static void mark_clear(rc_mark *m)
{
    rc_heap *h = m->h;
    lk_free(h, m->pages, m->npages * sizeof *m->pages);
    lk_free(h, m->bits, m->nwords * sizeof *m->bits);
    lk_names_free(&m->counts);
    m->pages = NULL;
    m->bits = NULL;
    m->npages = m->nwords = 0;
}

rc_mark *rc_mark_new(rc_heap *h)
{
    RC__HEAP_CHECK(h, "rc_mark_new");
    if (!h) return NULL;
    if (!lk_walkable(h, "rc_mark_new")) return NULL;
    rc_mark *m = lk_calloc(h, 1, sizeof *m);
    if (!m) return rc__fail(h, RC_ENOMEM, "rc_mark_new: out of memory");
    m->h = h;
    if (!mark_fill(m, "rc_mark_new")) {
        mark_clear(m);
        lk_free(h, m, sizeof *m);
        return NULL;
    }
    return m;
}

void rc_mark_free(rc_mark *m)
{
    RC__HEAP_CHECK(m ? m->h : NULL, "rc_mark_free");
    if (!m) return;
    rc_heap *h = m->h;
    mark_clear(m);
    lk_free(h, m, sizeof *m);
}

int rc_mark_update(rc_mark *m)
{
    RC__HEAP_CHECK(m ? m->h : NULL, "rc_mark_update");
    if (!m) return -1;
    if (!lk_walkable(m->h, "rc_mark_update")) return -1;
    rc_mark fresh = {.h = m->h};
    if (!mark_fill(&fresh, "rc_mark_update")) {
        mark_clear(&fresh);
        return -1;
    }
    mark_clear(m);
    *m = fresh;
    return 0;
}

/* The mark's record of page pg, or NULL. */
static const mark_page *mark_page_of(const rc_mark *m, const rc_page *pg)
{
    size_t lo = 0, hi = m->npages;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->pages[mid].pg < pg) lo = mid + 1;
        else hi = mid;
    }
    return lo < m->npages && m->pages[lo].pg == pg ? &m->pages[lo] : NULL;
}

/* Whether o (in page pg, whose mark record is mp, possibly NULL) was created
 * after the mark. */
static inline bool mark_is_new(const rc_mark *m, const rc_page *pg, const mark_page *mp, rc_head *o,
                               bool exact)
{
    if (exact) return rc__trace_serial(m->h, o) >= m->serial;
    if (!mp || mp->block_size != pg->block_size) return true;
    size_t s = pg->flags & RC_PAGE_LARGE ? 0 : (size_t)((char *)o - rc__page_first((rc_page *)pg)) / pg->block_size;
    return s >= mp->nslots || !lk_bit(m->bits, mp->bit + s);
}

typedef struct new_ctx {
    const rc_mark *m;
    const char *name;   /* NULL: all */
    bool exact;
    lk_tcounts *tc;        /* per-type counts now (count) and new (extra), or NULL */
} new_ctx;

/* Walk every live object, appending the new ones (of the type named, when
 * given) to out, and counting per type when asked. */
static bool walk_new(new_ctx *c, rc_list *out, const char *call)
{
    const rc_mark *m = c->m;
    rc_heap *h = m->h;
    rc_head *self = out ? RC_HEAD(out) : NULL;
    for (int t = 0; t < 2; t++) {
        rc_vec *v = &h->pages[t];
        for (size_t i = 0; i < v->len; i++) {
            rc_page *pg = v->items[i];
            const mark_page *mp = mark_page_of(m, pg);
            RC__FOREACH_BLOCK(pg, o) {
                if (!rc__block_live(o) || o == self) continue;
                bool fresh = mark_is_new(m, pg, mp, o, c->exact);
                if (c->tc) {
                    lk_tcount *row = lk_tcounts_row(c->tc, o->type);
                    if (!row) goto oom;
                    row->count++;
                    row->extra += fresh;
                }
                if (fresh && out && (!c->name || !strcmp(lk_type_name(o), c->name)) &&
                    rc_list_append(out, rc_obj(o + 1)) != 0)
                    goto oom;
            }
        }
    }
    return true;
oom:
    rc__fail(h, RC_ENOMEM, "%s: out of memory for the result", call);
    return false;
}

rc_list *rc_mark_new_objects(rc_mark *m, const char *type_name)
{
    RC__HEAP_CHECK(m ? m->h : NULL, "rc_mark_new_objects");
    if (!m) return NULL;
    rc_heap *h = m->h;
    if (!lk_walkable(h, "rc_mark_new_objects")) return NULL;
    rc_list *out = rc_list_new(h, 0);
    if (!out) return NULL;
    new_ctx c = {m, type_name, m->epoch && m->epoch == rc__trace_epoch(h), NULL};
    if (!walk_new(&c, out, "rc_mark_new_objects")) {
        rc_decref(out);
        return NULL;
    }
    return out;
}

static int cmp_new_rows(const void *a, const void *b)
{
    const lk_tcount *x = a, *y = b;
    if (x->extra != y->extra) return x->extra > y->extra ? -1 : 1;
    return strcmp(x->name, y->name);
}

rc_list *rc_get_new_ids(rc_mark *m, size_t limit, unsigned flags, FILE *out)
{
    static const char call[] = "rc_get_new_ids";
    RC__HEAP_CHECK(m ? m->h : NULL, "rc_get_new_ids");
    if (!m) return NULL;
    rc_heap *h = m->h;
    if (!lk_walkable(h, call)) return NULL;
    lk_collect(h, flags);
    rc_list *list = rc_list_new(h, 0);
    if (!list) return NULL;
    lk_tcounts tc;
    memset(&tc, 0, sizeof tc);
    tc.h = h;
    new_ctx c = {m, NULL, m->epoch && m->epoch == rc__trace_epoch(h), &tc};
    if (!walk_new(&c, list, call)) {
        lk_tcounts_free(&tc);
        rc_decref(list);
        return NULL;
    }
    lk_tcounts_merge(&tc);
    if (out) {
        if (tc.len > 1) qsort(tc.rows, tc.len, sizeof *tc.rows, cmp_new_rows);
        if (!limit) limit = 10;
        int width = 4;
        size_t shown = 0;
        for (size_t r = 0; r < tc.len && shown < limit; r++)
            if (tc.rows[r].extra) {
                int w = (int)strlen(tc.rows[r].name);
                if (w > width) width = w;
                shown++;
            }
        fprintf(out, "%-*s %9s %9s %9s\n", width, "type", "old", "now", "new");
        shown = 0;
        for (size_t r = 0; r < tc.len && shown < limit; r++) {
            if (!tc.rows[r].extra) continue;
            size_t p = lk_names_find(&m->counts, tc.rows[r].name);
            size_t old = p == SIZE_MAX ? 0 : m->counts.rows[p].count;
            fprintf(out, "%-*s %9zu %9zu %+9lld\n", width, tc.rows[r].name, old, tc.rows[r].count,
                    (long long)tc.rows[r].extra);
            shown++;
        }
        if (!lk_stream_ok(h, out, call)) {   /* the mark stays where it was */
            lk_tcounts_free(&tc);
            rc_decref(list);
            return NULL;
        }
    }
    lk_tcounts_free(&tc);
    if (!(flags & RC_LEAK_SKIP_UPDATE) && rc_mark_update(m) != 0) {
        rc_decref(list);
        return NULL;
    }
    return list;
}
