/*
 * verify.c -- the heap verifier (rc__heap_check, public as rc_heap_check in
 * src/gcmodule/control.c) and the abort-on-failure
 * wrapper that RC_EXPENSIVE builds run around every collection.
 *
 * One walk over every page checks the books (page lists, used counts, free
 * lists, young page lists, the candidate buffer, generation counts) and the
 * header invariants of docs/ARCHITECTURE.md; a second walk over every
 * reference counts, per block, the references objects of the heap hold to
 * it. An object with more such references than its refcount has had one
 * rc_incref too few (or one rc_decref too many): it will be freed while
 * still referenced. Its referrers are found with one more walk each (the
 * first few offenders only).
 *
 * rc__verify_garbage checks one collection's verdict against the whole
 * heap: what it is about to delete must be unreachable (RC_EXPENSIVE builds,
 * and RC_DEBUG builds run with RC_GC_VERIFY=1, before every deletion).
 *
 * Side tables are mappings of their own (core/os.c), not the heap's
 * buffers, so a check changes nothing a program or a test can count
 * (allocator calls, buffer_bytes, the heap's last error on success), and
 * nothing of them stays in the C allocator's arenas when it ends.
 */
#include "core/objects.h"
#include "core/memcheck.h"
#include "core/os.h"
#include "util/blockids.h"
#include "util/edges.h"

#include <stdarg.h>
#include <stdlib.h>

#define VF_SHOW 50          /* problems printed in full */
#define VF_DETAIL 16        /* too-small refcounts whose referrers are listed */
#define VF_REFERRERS 8      /* referrers listed per object */

typedef struct vf_page {
    rc_page *pg;
    size_t base;            /* first block number */
    size_t nslots;          /* blocks below bump (1 for a large page) */
} vf_page;

typedef struct vf {
    rc_heap *h;
    FILE *out;
    long problems;
    bool strict;            /* outside any collection or free: scratch state must be clear */
    vf_page *pages;         /* every page of the heap, by address */
    size_t npages;
    uint32_t *in;           /* in-heap references per block */
    size_t nslots;
    rc_head *detail[VF_DETAIL];
    size_t ndetail;
} vf;

/* The type's name of `o`, which may be a freed block (closed to the tools:
 * rc__peek_type reads past that). */
static const char *tname(const rc_head *o)
{
    const rc_type *t = rc__peek_type(o);
    return t && t->name ? t->name : "?";
}

static void problem(vf *v, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void problem(vf *v, const char *fmt, ...)
{
    v->problems++;
    if (!v->out || v->problems > VF_SHOW) return;
    va_list ap;
    fputs("recycle: heap check: ", v->out);
    va_start(ap, fmt);
    vfprintf(v->out, fmt, ap);
    va_end(ap);
    fputc('\n', v->out);
}

/* ---- the page table ---- */

static int cmp_pages(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const vf_page *)a)->pg, y = (uintptr_t)((const vf_page *)b)->pg;
    return x < y ? -1 : x > y;
}

/* Tables of VG_ALIGN bytes and more are mappings of their own (zeroed), so a
 * check leaves nothing big in the C allocator's arenas: RC_EXPENSIVE builds
 * check before and after every collection and before every deletion, and a
 * program measuring its memory must see none of it. Smaller ones come from
 * calloc (no system call for the small heaps of most tests). */
#define VG_ALIGN ((size_t)RC_PAGE_SIZE)
static size_t vg_size(size_t bytes) { return ((bytes ? bytes : 1) + VG_ALIGN - 1) & ~(VG_ALIGN - 1); }
static void *vg_alloc(size_t bytes)
{
    if (bytes < VG_ALIGN) return calloc(bytes ? bytes : 1, 1);
    return rc__os_map(vg_size(bytes), VG_ALIGN);
}
static void vg_free(void *p, size_t bytes)
{
    if (!p) return;
    if (bytes < VG_ALIGN) free(p);
    else rc__os_unmap(p, vg_size(bytes));
}

static bool table_init(vf *v)
{
    rc_heap *h = v->h;
    v->npages = h->pages[0].len + h->pages[1].len;
    v->pages = vg_alloc(v->npages * sizeof *v->pages);
    if (!v->pages) return false;
    size_t k = 0;
    for (int t = 0; t < 2; t++)
        for (size_t i = 0; i < h->pages[t].len; i++) {
            rc_page *pg = h->pages[t].items[i];
            v->pages[k++] = (vf_page){pg, 0, rc__page_nblocks(pg)};
        }
    qsort(v->pages, v->npages, sizeof *v->pages, cmp_pages);
    for (size_t i = 0; i < v->npages; i++) {
        v->pages[i].base = v->nslots;
        v->nslots += v->pages[i].nslots;
    }
    v->in = vg_alloc(v->nslots * sizeof *v->in);
    return v->in != NULL;
}

/* Give back what table_init took. */
static void table_release(vf *v)
{
    vg_free(v->pages, v->npages * sizeof *v->pages);
    vg_free(v->in, v->nslots * sizeof *v->in);
}

/* The table entry of page pg, or NULL when it is no page of the heap. */
static vf_page *table_find(const vf *v, const rc_page *pg)
{
    size_t lo = 0, hi = v->npages;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v->pages[mid].pg == pg) return &v->pages[mid];
        if ((uintptr_t)v->pages[mid].pg < (uintptr_t)pg) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

/* The block number of o, or SIZE_MAX when o is not the start of a block
 * below its page's bump pointer. */
static size_t block_id(const vf_page *p, const rc_head *o)
{
    if (p->pg->flags & RC_PAGE_LARGE) return (char *)o == rc__page_first(p->pg) ? p->base : SIZE_MAX;
    if ((char *)o < rc__page_first(p->pg)) return SIZE_MAX;
    size_t off = (size_t)((char *)o - rc__page_first(p->pg));
    if (off % p->pg->block_size || off / p->pg->block_size >= p->nslots) return SIZE_MAX;
    return p->base + off / p->pg->block_size;
}

/* ---- references ---- */

/* The heap a page header names when `pg` is mapped and looks like a page
 * of some heap, else NULL. A stray pointer's "page" may be any memory: the
 * probe is not an access the sanitizer should judge. */
#if defined(__clang__) || defined(__GNUC__)
__attribute__((no_sanitize_address))
#endif
static rc_heap *probe_page(const rc_page *pg)
{
    if (!rc__os_mapped(pg)) return NULL;
    uint32_t magic;
    rc_heap *heap;
    memcpy(&magic, (const char *)pg + offsetof(rc_page, magic), sizeof magic);
    memcpy(&heap, (const char *)pg + offsetof(rc_page, heap), sizeof heap);
    return magic == RC_PAGE_MAGIC ? heap : NULL;
}

typedef struct ref_ctx {
    vf *v;
    rc_head *from;
} ref_ctx;

static void count_visit(rc_head *c, void *ctx)
{
    ref_ctx *r = ctx;
    vf *v = r->v;
    rc_head *o = r->from;
    vf_page *p = table_find(v, rc__page_of(c));
    if (!p) {
        /* Another heap's object (its page says so), or a stray pointer. */
        rc_heap *other = probe_page(rc__page_of(c));
        if (other && other != v->h && rc__held_region_of(v->h, c))
            return;   /* a frozen region's object: immortal, counted by nobody */
        if (other && other != v->h && (rc__page_of(c)->flags & RC_PAGE_REGION)) {
            problem(v, "'%s' object at %p refers to %p, a '%s' object of the frozen region %p, "
                    "which the heap does not hold (rc_heap_hold_region)", tname(o),
                    (void *)(o + 1), (void *)(c + 1), tname(c), rc__region_of(c));
            return;
        }
        if (other && other != v->h)
            problem(v, "'%s' object at %p refers to %p, a '%s' object of another heap (heap %p): "
                    "references between heaps are not counted by either collector",
                    tname(o), (void *)(o + 1), (void *)(c + 1), tname(c), (void *)other);
        else
            problem(v, "'%s' object at %p refers to %p, which is not an object of any heap "
                    "(a stray or uninitialised pointer in a slot)", tname(o), (void *)(o + 1),
                    (void *)(c + 1));
        return;
    }
    size_t id = block_id(p, c);
    if (id == SIZE_MAX) {
        problem(v, "'%s' object at %p refers to %p, which points into a page of the heap but "
                "not at an object", tname(o), (void *)(o + 1), (void *)(c + 1));
        return;
    }
    if (c->refcnt == 0) {
        problem(v, "'%s' object at %p refers to %p, a freed block (last type '%s'): the object "
                "it pointed at was freed while still referenced (one rc_incref too few, or one "
                "rc_decref too many)", tname(o), (void *)(o + 1), (void *)(c + 1), tname(c));
        return;
    }
    if (v->in[id] != UINT32_MAX) v->in[id]++;
}

typedef struct who_ctx {
    rc_head *target;
    size_t n;
} who_ctx;

static void who_visit(rc_head *c, void *ctx)
{
    who_ctx *w = ctx;
    w->n += c == w->target;
}

/* "referred to by 'node' 0x..., 'list' 0x..." for a too-small refcount. */
static void print_referrers(vf *v, rc_head *target)
{
    if (!v->out) return;
    fprintf(v->out, "recycle: heap check:   '%s' object at %p is referred to by:", tname(target),
            (void *)(target + 1));
    size_t shown = 0, more = 0;
    rc_heap *h = v->h;
    for (size_t i = 0; i < h->pages[1].len; i++) {
        rc_page *pg = h->pages[1].items[i];
        RC__FOREACH_BLOCK(pg, o) {
            if (!o->refcnt) continue;
            who_ctx w = {target, 0};
            rc__foreach_ref(o, who_visit, &w);
            if (!w.n) continue;
            if (shown < VF_REFERRERS) {
                fprintf(v->out, "%s '%s' %p", shown ? "," : "", tname(o), (void *)(o + 1));
                if (w.n > 1) fprintf(v->out, " (%zu times)", w.n);
                shown++;
            } else {
                more++;
            }
        }
    }
    if (more) fprintf(v->out, " and %zu more", more);
    fputc('\n', v->out);
}

/* ---- the walk ---- */

static void check_object(vf *v, rc_page *pg, rc_head *o, size_t tally[4], size_t *buffered)
{
    rc_heap *h = v->h;
    uint32_t gc = o->gc;
    void *u = o + 1;
    if (!o->type) {
        problem(v, "object at %p has no type (a corrupted header)", u);
        return;
    }
    const char *n = tname(o);
    if (!(pg->flags & RC_PAGE_TRACKED)) {
        if (gc & (RC__TRACKED | RC__BUFFERED | RC__INSET) || rc__field(o))
            problem(v, "'%s' object at %p in a page of untracked objects has collector state "
                    "(gc word 0x%x)", n, u, gc);
        return;
    }
    if (gc & RC__TRACKED) tally[rc__gen(o)]++;
    if (v->strict && (gc & RC__INSET))
        problem(v, "'%s' object at %p is flagged INSET outside a collection", n, u);
    if (v->strict && (gc & RC__TRACKED) && rc__gen(o) < 3 && rc__marked(h, o))
        problem(v, "'%s' object at %p is marked outside a collection", n, u);
    if (gc & RC__BUFFERED) {
        ++*buffered;
        size_t idx = rc__field(o);
        if (!(gc & RC__TRACKED) || rc__gen(o) != 2)
            problem(v, "'%s' object at %p is in the candidate buffer but is %s", n, u,
                    gc & RC__TRACKED ? "not of generation 2" : "not tracked");
        if (idx >= h->candidates.len || h->candidates.items[idx] != o)
            problem(v, "'%s' object at %p says it is candidate %zu, but that entry of the buffer "
                    "holds %p", n, u, idx, idx < h->candidates.len ? h->candidates.items[idx] : NULL);
    } else if (rc__field(o) && !(gc & RC__INSET)) {
        problem(v, "'%s' object at %p has scratch count %u left in its header outside a "
                "collection's scan", n, u, (unsigned)rc__field(o));
    }
    /* Garbage a collection is deleting (INSET while `deleting`) may not be
     * settled yet: a full collection settles what outlives its chunk only,
     * the rest is freed as it was. */
    if ((gc & RC__TRACKED) && !((gc & RC__INSET) && h->deleting)) {
        unsigned g = rc__gen(o);
        if (g == 0 && !(pg->flags & RC_PAGE_YOUNG0))
            problem(v, "'%s' object at %p is of generation 0 but its page is not on the young "
                    "page list: young collections will not see it", n, u);
        if (g == 1 && !(pg->flags & (RC_PAGE_YOUNG0 | RC_PAGE_YOUNG1)))
            problem(v, "'%s' object at %p is of generation 1 but its page is on no young page "
                    "list: young collections will not see it", n, u);
    }
}

/* The free-list link of `b`: a watched page's free blocks are closed to
 * ASan and valgrind past their refcount (memcheck.c), so the link is opened
 * for the read and closed again. */
static rc_head *free_next(const rc_page *pg, const rc_head *b)
{
    if (!(pg->flags & RC_PAGE_WATCH)) return rc__free_next(b);
    rc__mem_open(b + 1, sizeof(rc_head *));
    rc_head *n = rc__free_next(b);
    rc__mem_close(b + 1, sizeof(rc_head *));
    return n;
}

static void check_page(vf *v, rc_page *pg, int t, size_t i, size_t tally[4], size_t *buffered)
{
    rc_heap *h = v->h;
    if (pg->magic != RC_PAGE_MAGIC || pg->heap != h) {
        problem(v, "page %p (entry %zu of the %s pages) has a bad header (magic 0x%x, heap %p)",
                (void *)pg, i, t ? "tracked" : "untracked", pg->magic, (void *)pg->heap);
        return;
    }
    if (pg->index != i) problem(v, "page %p is entry %zu of its page list but says %u", (void *)pg, i, pg->index);
    if (!!(pg->flags & RC_PAGE_TRACKED) != t)
        problem(v, "page %p is on the %s page list but flagged otherwise", (void *)pg,
                t ? "tracked" : "untracked");
    size_t live = 0, blocks = 0;
    const bool watched = (pg->flags & (RC_PAGE_WATCH | RC_PAGE_LARGE)) != 0;
    RC__FOREACH_BLOCK(pg, o) {
        blocks++;
        if (!o->refcnt) {
            /* Every free writes both words of a header (internal.h): a full
             * collection's count and a young gather tell a free block from
             * an object by its gc word alone on a page nobody watches. */
            if (!watched && o->gc)
                problem(v, "free block at %p has gc word 0x%x: a collection would take it for "
                        "an object", (void *)(o + 1), o->gc);
            continue;
        }
        live++;
        check_object(v, pg, o, tally, buffered);
    }
    if (pg->used != live && !h->keep_empty_pages)
        problem(v, "page %p of %u-byte blocks counts %u blocks in use, but %zu hold objects",
                (void *)pg, pg->block_size, pg->used, live);
    if (pg->flags & RC_PAGE_LARGE) return;
    size_t nfree = 0;
    for (rc_head *b = pg->free; b; b = free_next(pg, b)) {
        if (rc__page_of(b) != pg || (char *)b < rc__page_first(pg) || (char *)b >= pg->bump ||
            (size_t)((char *)b - rc__page_first(pg)) % pg->block_size) {
            problem(v, "page %p's free list holds %p, which is not a used block of it", (void *)pg,
                    (void *)b);
            return;
        }
        if (b->refcnt) {
            problem(v, "'%s' object at %p is on its page's free list but has refcount %u: it "
                    "will be handed out again while alive", tname(b), (void *)(b + 1), b->refcnt);
            return;
        }
        if (++nfree > blocks) {
            problem(v, "page %p's free list loops", (void *)pg);
            return;
        }
    }
    /* Blocks in the debug quarantine (memcheck.c) are neither live nor free. */
    if (nfree + live + pg->held != blocks)
        problem(v, "page %p has %zu used blocks: %zu live, %zu on the free list, %u in "
                "quarantine, %zu lost", (void *)pg, blocks, live, nfree, pg->held,
                blocks - live - nfree - pg->held);
}

static void check_young_lists(vf *v)
{
    rc_heap *h = v->h;
    for (int g = 0; g < 2; g++) {
        uint16_t flag = g ? RC_PAGE_YOUNG1 : RC_PAGE_YOUNG0;
        for (size_t i = 0; i < h->young[g].len; i++) {
            rc_page *pg = h->young[g].items[i];
            if (!table_find(v, pg)) {
                problem(v, "young page list %d holds %p, which is no page of the heap", g, (void *)pg);
                continue;
            }
            if (!(pg->flags & flag) || pg->young_index[g] != i)
                problem(v, "page %p is entry %zu of young page list %d but says %s %u", (void *)pg,
                        i, g, pg->flags & flag ? "entry" : "it is not on it; entry",
                        pg->young_index[g]);
        }
        size_t flagged = 0;
        for (size_t i = 0; i < h->pages[1].len; i++)
            flagged += (((rc_page *)h->pages[1].items[i])->flags & flag) != 0;
        if (flagged != h->young[g].len)
            problem(v, "%zu pages are flagged for young page list %d, which has %zu", flagged, g,
                    h->young[g].len);
    }
}

static void check_candidates(vf *v, size_t buffered)
{
    rc_heap *h = v->h;
    size_t live = 0;
    for (size_t i = 0; i < h->candidates.len; i++) {
        rc_head *o = h->candidates.items[i];
        if (!o) continue;
        live++;
        vf_page *p = table_find(v, rc__page_of(o));
        if (!p || block_id(p, o) == SIZE_MAX || !o->refcnt) {
            problem(v, "candidate %zu is %p, which is no live object of the heap (freed while "
                    "buffered)", i, (void *)(o + 1));
            continue;
        }
        if (!(o->gc & RC__BUFFERED) || rc__field(o) != i)
            problem(v, "candidate %zu, '%s' object at %p, %s", i, tname(o), (void *)(o + 1),
                    o->gc & RC__BUFFERED ? "says it is another entry" : "is not flagged BUFFERED");
    }
    if (live != h->candidates_live)
        problem(v, "the candidate buffer holds %zu objects but counts %zu", live, h->candidates_live);
    if (buffered != live)
        problem(v, "%zu objects are flagged BUFFERED, the candidate buffer holds %zu", buffered, live);
}

/* Count in-heap references, then report every object they outnumber its
 * refcount by. */
static void check_refcounts(vf *v)
{
    rc_heap *h = v->h;
    for (size_t i = 0; i < h->pages[1].len; i++) {
        rc_page *pg = h->pages[1].items[i];
        if (pg->magic != RC_PAGE_MAGIC) continue;
        RC__FOREACH_BLOCK(pg, o) {
            if (!o->refcnt || !o->type) continue;
            ref_ctx r = {v, o};
            rc__foreach_ref(o, count_visit, &r);
        }
    }
    for (size_t i = 0; i < v->npages; i++) {
        vf_page *p = &v->pages[i];
        if (p->pg->magic != RC_PAGE_MAGIC) continue;
        RC__FOREACH_BLOCK(p->pg, o) {
            if (!o->refcnt) continue;
            uint32_t in = v->in[block_id(p, o)];
            if (in <= o->refcnt) continue;
            problem(v, "'%s' object at %p has refcount %u but %u references from objects of the "
                    "heap: one rc_incref too few (or one rc_decref too many) -- it will be freed "
                    "while still referenced", tname(o), (void *)(o + 1), o->refcnt, in);
            if (v->ndetail < VF_DETAIL) v->detail[v->ndetail++] = o;
        }
    }
    for (size_t i = 0; i < v->ndetail; i++) print_referrers(v, v->detail[i]);
}

long rc__heap_check(rc_heap *h, FILE *out)
{
    if (!h) return -1;
    if (h->scanning || h->freeing) {
        rc__fail(h, RC_EBUSY, "rc_heap_check: refused while objects are being %s",
                 h->scanning ? "scanned by a collection" : "freed");
        return -1;
    }
    vf v = {.h = h, .out = out, .strict = !h->busy};
    if (!table_init(&v)) {
        table_release(&v);
        rc__fail(h, RC_ENOMEM, "rc_heap_check: out of memory for the block table");
        return -1;
    }
    size_t tally[4] = {0}, buffered = 0;
    for (int t = 0; t < 2; t++)
        for (size_t i = 0; i < h->pages[t].len; i++)
            check_page(&v, h->pages[t].items[i], t, i, tally, &buffered);
    for (int g = 0; g < 4; g++)
        if (tally[g] != h->gen_objects[g])
            problem(&v, "generation %d holds %zu tracked objects but the heap counts %zu", g,
                    tally[g], h->gen_objects[g]);
    check_young_lists(&v);
    check_candidates(&v, buffered);
    if (v.strict && h->pending) problem(&v, "objects wait on the pending list outside a free");
    check_refcounts(&v);
    if (out && v.problems > VF_SHOW)
        fprintf(out, "recycle: heap check: ... %ld problems in all\n", v.problems);
    table_release(&v);
    return v.problems;
}

void rc__heap_verify(rc_heap *h, const char *when)
{
    int err = h->err;
    char msg[sizeof h->errmsg];
    memcpy(msg, h->errmsg, sizeof msg);
    long n = rc__heap_check(h, stderr);
    h->err = err;
    memcpy(h->errmsg, msg, sizeof msg);
    if (n > 0) {
        fprintf(stderr, "recycle: heap check %s found %ld problem%s (RC_EXPENSIVE)\n", when, n,
                n == 1 ? "" : "s");
        abort();
    }
}

/* ---- the verdict against the whole heap ---- */

typedef struct reach_ctx {
    vf *v;
    uint8_t *seen;
    rc_head **stack;
    size_t len, cap;
    bool oom;
} reach_ctx;

/* The block number of c, or SIZE_MAX when c is no object of the heap. */
static size_t id_of(const vf *v, const rc_head *c)
{
    const vf_page *p = table_find(v, rc__page_of(c));
    return p ? block_id(p, c) : SIZE_MAX;
}

static void in_visit(rc_head *c, void *ctx)
{
    vf *v = ctx;
    size_t id = id_of(v, c);
    if (id != SIZE_MAX && v->in[id] != UINT32_MAX) v->in[id]++;
}

static void reach(reach_ctx *r, rc_head *c)
{
    size_t id = id_of(r->v, c);
    if (id == SIZE_MAX || r->seen[id]) return;
    r->seen[id] = 1;
    if (r->len == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : VG_ALIGN / sizeof *r->stack;
        rc_head **n = vg_alloc(ncap * sizeof *n);
        if (!n) {
            r->oom = true;
            return;
        }
        if (r->len) memcpy(n, r->stack, r->len * sizeof *n);
        vg_free(r->stack, r->cap * sizeof *n);
        r->stack = n;
        r->cap = ncap;
    }
    r->stack[r->len++] = c;
}

static void reach_visit(rc_head *c, void *ctx) { reach(ctx, c); }

void rc__verify_garbage(rc_heap *h, const char *kind, bool held)
{
    vf v = {.h = h};
    reach_ctx r = {.v = &v};
    if (!table_init(&v) || !(r.seen = vg_alloc(v.nslots))) goto out;
    RC__FOREACH_LIVE(h, 1, pg, o, { rc__foreach_ref(o, in_visit, &v); });
    /* Roots: objects held from outside the heap (C code), the hold on
     * garbage excepted; then everything they reach. */
    for (int t = 0; t < 2; t++)
        RC__FOREACH_LIVE(h, t, pg, o, {
            size_t id = id_of(&v, o);
            uint32_t hold = held && (o->gc & RC__INSET) ? 1 : 0;
            if (id != SIZE_MAX && o->refcnt > v.in[id] + hold) reach(&r, o);
        });
    while (r.len && !r.oom) rc__foreach_ref(r.stack[--r.len], reach_visit, &r);
    if (r.oom) goto out;
    for (int t = 0; t < 2; t++)
        RC__FOREACH_LIVE(h, t, pg, o, {
            if (!(o->gc & RC__INSET) || !r.seen[id_of(&v, o)]) continue;
            fprintf(stderr,
                    "recycle: gc verify: a %s is about to free the '%s' object at %p, which "
                    "the program can still reach (refcount %u, %u references from objects "
                    "of the heap)\n",
                    kind, tname(o), (void *)(o + 1), o->refcnt - (held ? 1 : 0),
                    v.in[id_of(&v, o)]);
            abort();
        });
out:
    vg_free(r.stack, r.cap * sizeof *r.stack);
    vg_free(r.seen, v.nslots);
    table_release(&v);
}
