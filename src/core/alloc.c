/*
 * alloc.c -- the heap's allocator: segments, pages, size classes.
 *
 * Small blocks (header included, <= RC_SMALL_MAX bytes) come from pages of one
 * size class; tracked and untracked objects use separate pages, so a full
 * collection walks only pages of tracked objects. Each (kind, class) has a
 * current page and a queue of available pages. Reuse is sticky: a page that
 * filled up returns to the queue only when a quarter of it is free again, so
 * the pages a young collection must scan are mostly young.
 *
 * Pages come from segments of RC_SEGMENT_PAGES pages. A page that empties
 * stays committed for reuse until a purge decommits the free pages in runs
 * and unmaps segments with no page in use: while freeing once 4 MiB (or a
 * quarter of the heap) waits; at the end of a free burst or collection that
 * left at most a quarter of the heap in use, all of them; otherwise, at the
 * end of each window of RC_PURGE_INTERVAL, as many as no allocation needed
 * during the whole window (rc__alloc_purge_soon). So memory a program lets
 * go of leaves the process's USS at once, memory that a program dropping
 * and rebuilding structures takes again is not faulted in anew each time,
 * and neither costs a system call per page.
 *
 * Large blocks get pages of their own, mapped and unmapped individually.
 *
 * Buffer pages (RC_PAGE_BUFFER, kind RC_KIND_BUFFERS) hold the heap's small
 * variable buffers (buffer.c): same classes, queues and purges, but on no
 * page list, so no walk ever sees them, and faulted in as written. A purge
 * at the end of a free burst or collection also releases the current pages
 * left empty, which freeing keeps for the next allocation, and trims the
 * heap's vectors (release_idle); the purge while freeing does neither.
 */
#include "core/memcheck.h"
#include "core/clock.h"
#include "core/os.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <stdlib.h>


struct rc_segment {
    char *base;
    uint64_t used;        /* bit i: page i is in use */
    uint64_t dirty;       /* bit i: page i is free but still committed */
    bool huge;            /* asked for huge pages: free pages may be resident */
    rc_segment *next;
};

/* ---- size classes ---- */

const uint32_t rc__class_size[RC_NCLASSES] = {
    24,   32,   40,   48,   56,   64,   72,   80,   96,    112,
    128,  144,  160,  192,  224,  256,  320,  384,  448,   512,
    640,  768,  896,  1024, 1280, 1536, 1792, 2048, 2560,  3072,
    3584, 4096, 5120, 6144, 7168, 8192, 10240, 12288, 14336, 16384,
};

uint8_t rc__small_class[1024 / 8 + 1];

__attribute__((constructor)) static void init_classes(void)
{
    unsigned c = 0;
    for (unsigned i = 0; i <= 1024 / 8; i++) {
        while (rc__class_size[c] < i * 8) c++;
        rc__small_class[i] = (uint8_t)c;
    }
}

unsigned rc__size_class(size_t bytes)
{
    if (bytes <= 1024) return rc__small_class[(bytes + 7) >> 3];
    unsigned lo = 23, hi = RC_NCLASSES - 1;   /* class 23 is 1024 bytes */
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (rc__class_size[mid] >= bytes) hi = mid; else lo = mid + 1;
    }
    return lo;
}

/* ---- the system allocator ---- */

#define RC_HUGE_SIZE ((size_t)2 << 20)

/* The system's calls are in core/os.c; these adapt them to rc_allocator. */
static void *sys_map(void *ud, size_t size)
{
    (void)ud;
    /* RC_PAGE_SIZE aligned, and 2 MiB aligned when it is that big (so the
     * system can back it with huge pages). */
    return rc__os_map(size, size >= RC_HUGE_SIZE ? RC_HUGE_SIZE : RC_PAGE_SIZE);
}

static void sys_unmap(void *ud, void *p, size_t size)
{
    (void)ud;
    rc__os_unmap(p, size);
}

static void sys_decommit(void *ud, void *p, size_t size)
{
    (void)ud;
    rc__os_decommit(p, size);
}

static void sys_hugepage(void *ud, void *p, size_t size)
{
    (void)ud;
    rc__os_hugepage(p, size);
}

static void sys_commit(void *ud, void *p, size_t size)
{
    (void)ud;
    rc__os_populate(p, size);
}

static void *sys_realloc(void *ud, void *p, size_t size)
{
    (void)ud;
    if (size == 0) {
        free(p);
        return NULL;
    }
    return realloc(p, size);
}

const rc_allocator rc_system_allocator = {sys_map, sys_unmap, sys_decommit, sys_commit, sys_hugepage,
                                          sys_realloc, NULL};

/* ---- committing ahead ---- */

void rc__commit(rc_heap *h, void *p, size_t size)
{
    if (!h->cfg.allocator.commit || !size) return;
    uintptr_t lo = (uintptr_t)p & ~(uintptr_t)4095;
    uintptr_t hi = ((uintptr_t)p + size + 4095) & ~(uintptr_t)4095;
    h->cfg.allocator.commit(h->cfg.allocator.ud, (void *)lo, hi - lo);
}

/* ---- page lists ---- */

/* The kind of small page `pg` is (RC_PAGE_KINDS). */
static inline int kind_of(const rc_page *pg)
{
    return pg->flags & RC_PAGE_BUFFER ? RC_KIND_BUFFERS : pg->flags & RC_PAGE_TRACKED ? 1 : 0;
}

static void avail_push(rc_heap *h, rc_page *pg)
{
    rc_pageq *q = &h->avail[kind_of(pg)][pg->size_class];
    pg->prev = NULL;
    pg->next = q->head;
    if (q->head) q->head->prev = pg;
    q->head = pg;
    pg->flags |= RC_PAGE_AVAIL;
}

static void avail_remove(rc_heap *h, rc_page *pg)
{
    rc_pageq *q = &h->avail[kind_of(pg)][pg->size_class];
    if (pg->prev) pg->prev->next = pg->next; else q->head = pg->next;
    if (pg->next) pg->next->prev = pg->prev;
    pg->next = pg->prev = NULL;
    pg->flags &= (uint16_t)~RC_PAGE_AVAIL;
}

bool rc__young_add(rc_heap *h, rc_page *pg, int g)
{
    uint16_t flag = g ? RC_PAGE_YOUNG1 : RC_PAGE_YOUNG0;
    if (pg->flags & flag) return true;
    pg->young_index[g] = (uint32_t)h->young[g].len;
    if (!rc__vec_push(h, &h->young[g], pg)) return false;
    pg->flags |= flag;
    return true;
}

void rc__young_remove(rc_heap *h, rc_page *pg, int g)
{
    uint16_t flag = g ? RC_PAGE_YOUNG1 : RC_PAGE_YOUNG0;
    if (!(pg->flags & flag)) return;
    rc_vec *v = &h->young[g];
    rc_assert(pg->young_index[g] < v->len && v->items[pg->young_index[g]] == pg);
    rc_page *last = v->items[--v->len];
    v->items[pg->young_index[g]] = last;
    last->young_index[g] = pg->young_index[g];
    pg->flags &= (uint16_t)~flag;
}

static bool pages_add(rc_heap *h, rc_page *pg)
{
    rc_vec *v = &h->pages[pg->flags & RC_PAGE_TRACKED ? 1 : 0];
    pg->index = (uint32_t)v->len;
    return rc__vec_push(h, v, pg);
}

static void pages_remove(rc_heap *h, rc_page *pg)
{
    rc_vec *v = &h->pages[pg->flags & RC_PAGE_TRACKED ? 1 : 0];
    rc_page *last = v->items[--v->len];
    v->items[pg->index] = last;
    last->index = pg->index;
}

/* ---- segments and raw pages ---- */

/* Free pages stay committed ("dirty") until a purge hands them back in runs:
 * every decommit costs a TLB flush, so one call per run, not per page. */
#define RC_PURGE_NOW (4 * 1024 * 1024)      /* at least, while freeing */
#define RC_PURGE_INTERVAL 0.1               /* seconds between purges of a busy heap */
#define RC_HUGE_AFTER 4                     /* segments before huge pages are asked for */

/* ---- the segment cache ----
 *
 * Segments of heaps on the system allocator, given back whole (a purge, or
 * rc_heap_free), wait here for the next heap that needs one. A program
 * that makes and frees a heap per request (an envelope handed from thread
 * to thread) otherwise mapped 6 MiB, trimmed it to an aligned 4 MiB,
 * faulted its first page in and unmapped it all at each heap: about 250 us
 * of page-table work, most of it in the system's page faults and TLB
 * flushes, for a heap of one object. A cached segment keeps its committed
 * pages while the cache holds at most RC_SEGMENT_CACHE_COMMITTED bytes of
 * them (the next heap takes them as dirty pages: no fault, no system call);
 * past that, they are decommitted first, so what the cache keeps of the
 * process's memory stays bounded. Shared by every thread under one mutex,
 * taken once per segment, never per object. Not under valgrind, whose view
 * of an address range would outlive the segment's first heap; huge-page
 * segments are unmapped (a small heap must not inherit the advice). */
#define RC_SEGMENT_CACHE 4
#define RC_SEGMENT_CACHE_COMMITTED ((size_t)256 * 1024)
static pthread_mutex_t seg_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct { char *base; uint64_t committed; } seg_cache[RC_SEGMENT_CACHE];
static unsigned seg_cache_len;
static size_t seg_cache_committed;   /* bytes of committed pages in the cache */

static bool seg_cacheable(const rc_heap *h)
{
    return h->cfg.allocator.map == sys_map && !h->valgrind;
}

static size_t pages_bytes(uint64_t mask)
{
    return (size_t)__builtin_popcountll(mask) * RC_PAGE_SIZE;
}

/* A segment's memory: a cached one (its committed pages in *committed),
 * else the allocator's. */
static char *segment_map(rc_heap *h, uint64_t *committed)
{
    *committed = 0;
    if (seg_cacheable(h)) {
        char *p = NULL;
        pthread_mutex_lock(&seg_cache_lock);
        if (seg_cache_len) {
            seg_cache_len--;
            p = seg_cache[seg_cache_len].base;
            *committed = seg_cache[seg_cache_len].committed;
            seg_cache_committed -= pages_bytes(*committed);
        }
        pthread_mutex_unlock(&seg_cache_lock);
        if (p) return p;
    }
    return h->cfg.allocator.map(h->cfg.allocator.ud, RC_SEGMENT_SIZE);
}

/* A segment's memory goes back, `committed` its pages that may be
 * resident: into the cache while it has room (decommitted when its pages
 * would pass the cache's bound), else unmapped. */
static void segment_unmap(rc_heap *h, rc_segment *s, uint64_t committed)
{
    rc__mem_unmapping(s->base, RC_SEGMENT_SIZE);
    if (seg_cacheable(h) && !s->huge) {
        pthread_mutex_lock(&seg_cache_lock);
        bool room = seg_cache_len < RC_SEGMENT_CACHE;
        bool keep = room && seg_cache_committed + pages_bytes(committed) <= RC_SEGMENT_CACHE_COMMITTED;
        if (keep) {
            seg_cache[seg_cache_len].base = s->base;
            seg_cache[seg_cache_len++].committed = committed;
            seg_cache_committed += pages_bytes(committed);
        }
        pthread_mutex_unlock(&seg_cache_lock);
        if (keep) return;
        if (room) {   /* too much committed: decommit it, then offer it bare */
            rc__os_decommit(s->base, RC_SEGMENT_SIZE);
            pthread_mutex_lock(&seg_cache_lock);
            keep = seg_cache_len < RC_SEGMENT_CACHE;
            if (keep) {
                seg_cache[seg_cache_len].base = s->base;
                seg_cache[seg_cache_len++].committed = 0;
            }
            pthread_mutex_unlock(&seg_cache_lock);
            if (keep) return;
        }
    }
    h->cfg.allocator.unmap(h->cfg.allocator.ud, s->base, RC_SEGMENT_SIZE);
}

void rc__segment_cache_flush(void)
{
    for (;;) {
        pthread_mutex_lock(&seg_cache_lock);
        char *p = seg_cache_len ? seg_cache[--seg_cache_len].base : NULL;
        if (p) seg_cache_committed -= pages_bytes(seg_cache[seg_cache_len].committed);
        pthread_mutex_unlock(&seg_cache_lock);
        if (!p) return;
        sys_unmap(NULL, p, RC_SEGMENT_SIZE);
    }
}

/* A page from a segment: a dirty one first, else a fresh one, faulted in
 * at once when `commit` (object pages, filled from the start; buffer pages
 * are faulted in as their blocks are written). */
/* A dirty page of s: still committed, no fault to take. */
static rc_page *segment_take_dirty(rc_heap *h, rc_segment *s)
{
    unsigned i = (unsigned)__builtin_ctzll(s->dirty);
    s->dirty &= ~((uint64_t)1 << i);
    s->used |= (uint64_t)1 << i;
    h->dirty_bytes -= RC_PAGE_SIZE;
    if (h->dirty_bytes < h->dirty_low) h->dirty_low = h->dirty_bytes;
    rc__note_growth(h);
    rc_page *pg = (rc_page *)(s->base + (size_t)i * RC_PAGE_SIZE);
    pg->segment = s;
    return pg;
}

static rc_page *segment_take_page(rc_heap *h, bool commit)
{
    rc_segment *s, *clean = NULL;
    for (s = h->segments; s; s = s->next) {
        if (s->dirty) return segment_take_dirty(h, s);
        if (!clean && s->used != ~(uint64_t)0) clean = s;
    }
    s = clean;
    if (!s) {
        s = h->cfg.allocator.realloc(h->cfg.allocator.ud, NULL, sizeof *s);
        if (!s) return NULL;
        uint64_t committed;
        s->base = segment_map(h, &committed);
        if (!s->base) {
            h->cfg.allocator.realloc(h->cfg.allocator.ud, s, 0);
            return NULL;
        }
        s->used = 0;
        s->dirty = committed;   /* a cached segment's resident pages: free, committed */
        h->page_bytes += pages_bytes(committed);
        h->dirty_bytes += pages_bytes(committed);
        if (committed) h->shrunk = true;   /* free pages wait: rc__purge_waits */
        s->huge = false;
        s->next = h->segments;
        h->segments = s;
        /* A heap this big is worth huge pages: far fewer TLB misses in the
         * collector's passes. Small heaps stay in small pages, so their USS
         * stays small. */
        if (++h->nsegments > RC_HUGE_AFTER && h->cfg.allocator.hugepage) {
            h->cfg.allocator.hugepage(h->cfg.allocator.ud, s->base, RC_SEGMENT_SIZE);
            s->huge = true;
        }
        if (s->dirty) return segment_take_dirty(h, s);
    }
    unsigned i = (unsigned)__builtin_ctzll(~(s->used | s->dirty));
    s->used |= (uint64_t)1 << i;
    rc_page *pg = (rc_page *)(s->base + (size_t)i * RC_PAGE_SIZE);
    if (commit && h->cfg.allocator.commit) h->cfg.allocator.commit(h->cfg.allocator.ud, pg, RC_PAGE_SIZE);
    pg->segment = s;
    h->page_bytes += RC_PAGE_SIZE;
    rc__note_growth(h);
    return pg;
}

static void purge_free_pages(rc_heap *h, size_t most);

static void segment_return_page(rc_heap *h, rc_page *pg)
{
    rc_segment *s = pg->segment;
    unsigned i = (unsigned)(((char *)pg - s->base) / RC_PAGE_SIZE);
    s->used &= ~((uint64_t)1 << i);
    s->dirty |= (uint64_t)1 << i;
    h->dirty_bytes += RC_PAGE_SIZE;
    h->shrunk = true;   /* rc__purge_waits */
    /* A collection purges once at its end: purging while it frees would
     * split huge pages that are about to be unmapped whole anyway. */
    size_t limit = h->page_bytes / 4 > RC_PURGE_NOW ? h->page_bytes / 4 : RC_PURGE_NOW;
    if (h->dirty_bytes >= limit && !h->busy) purge_free_pages(h, SIZE_MAX);
}

static void release_idle(rc_heap *h);

/* A purge: what waits for allocations to come (release_idle), then the
 * free pages. The peak it leaves is what rc__alloc_purge_soon measures
 * shrinking from. */
void rc__alloc_purge(rc_heap *h)
{
    release_idle(h);
    purge_free_pages(h, SIZE_MAX);
    h->peak_live = rc__live_bytes(h);
}

/* Decommit free pages in runs, a segment's at a time, until `most` bytes
 * of dirty pages went (SIZE_MAX: all of them), and unmap the segments
 * with no page in use. Alone (the purge while freeing, which may run
 * inside a page walk that allocates: a buffer freed as a result list
 * grows) it changes no page list and no vector, so a walk under way sees
 * every page. */
static void purge_free_pages(rc_heap *h, size_t most)
{
    h->last_purge = rc__now_seconds();
    size_t purged = 0;
    rc_segment **pp = &h->segments;
    while (*pp && purged < most) {
        rc_segment *s = *pp;
        size_t dirty = (size_t)__builtin_popcountll(s->dirty) * RC_PAGE_SIZE;
        if (s->used == 0) {   /* nothing live: the whole segment goes */
            *pp = s->next;
            h->page_bytes -= dirty;
            segment_unmap(h, s, s->dirty);
            h->cfg.allocator.realloc(h->cfg.allocator.ud, s, 0);
            h->nsegments--;
            purged += dirty;
            continue;
        }
        /* In a huge-page segment, pages never handed out can be resident
         * too (the system faulted in 2 MiB at a time): decommit every free
         * page there, not only the dirty ones. */
        uint64_t d = s->huge ? ~s->used : s->dirty;
        if (!s->dirty && most != SIZE_MAX) d = 0;   /* a window's purge: what was freed */
        while (d) {
            unsigned lo = (unsigned)__builtin_ctzll(d);
            unsigned hi = lo;
            while (hi < 64 && (d >> hi) & 1) hi++;
            size_t bytes = (size_t)(hi - lo) * RC_PAGE_SIZE;
            if (h->cfg.allocator.decommit)
                h->cfg.allocator.decommit(h->cfg.allocator.ud, s->base + (size_t)lo * RC_PAGE_SIZE, bytes);
            d &= hi == 64 ? 0 : ~(uint64_t)0 << hi;
        }
        h->page_bytes -= dirty;
        s->dirty = 0;
        purged += dirty;
        pp = &s->next;
    }
    h->dirty_bytes -= purged < h->dirty_bytes ? purged : h->dirty_bytes;
    h->dirty_low = h->dirty_bytes;
}

/* At the end of a free burst or a collection.
 *
 * A heap left with at most a quarter of its peak in use (its peak since
 * the last full purge; at least RC_PURGE_SOON less) has let go of its
 * data: every free page goes back at once (USS falls when a program drops
 * what it loaded), and what little waits besides -- the tail of free pages
 * a purge while freeing left behind, the current pages left empty
 * (release_idle), which nothing else counts.
 *
 * Otherwise free pages wait, in windows of RC_PURGE_INTERVAL: at the end
 * of each, the pages no allocation needed during the whole window (the
 * lowest dirty_bytes of the window) go back, and the others stay for the
 * allocations that are taking them. A program that drops a big structure
 * and builds another (a document closed and the next one opened, W5p's
 * trees) reuses the pages instead of giving them back and faulting them in
 * again, which, in huge pages, zeroed 2 MiB a time; what it does not take
 * again leaves within two windows of activity. Nothing looks at a heap
 * that neither frees nor collects: rc_heap_trim gives its pages back. */
void rc__alloc_purge_soon(rc_heap *h)
{
    h->shrunk = false;
    size_t live = rc__live_bytes(h);
    size_t shrink = h->peak_live > live ? h->peak_live - live : 0;
    if (shrink >= RC_PURGE_SOON && live <= h->peak_live / 4) {
        rc__alloc_purge(h);
        return;
    }
    /* Too little waits: nothing changes that until more pages become free
     * (which sets `shrunk` again). */
    if (h->dirty_bytes < RC_PURGE_SOON) return;
    /* Within the window, nothing is done, and the deaths after this one
     * take their quick path again: the window's end is looked at when a
     * page is freed next or a collection ends (rather than with a clock
     * read at every death while pages wait, which a program dropping and
     * building structures would pay most of the time). */
    double now = rc__now_seconds();
    if (now - h->last_purge < RC_PURGE_INTERVAL) return;
    /* A window ended: what stayed free all through it goes. */
    size_t idle = h->dirty_low < h->dirty_bytes ? h->dirty_low : h->dirty_bytes;
    if (idle >= RC_PURGE_SOON) {
        purge_free_pages(h, idle);
    } else {
        h->last_purge = now;
        h->dirty_low = h->dirty_bytes;
    }
    /* The pages still free are measured in the next window, which ends
     * at the next free burst or collection that finds it over. The peak
     * stays: a release is measured from it however many windows it takes. */
}

static void page_init(rc_page *pg, rc_heap *h, unsigned sc, int kind)
{
    rc_segment *seg = pg->segment;
    memset(pg, 0, sizeof *pg);
    pg->segment = seg;
    pg->heap = h;
    pg->magic = RC_PAGE_MAGIC;
    pg->flags = kind == RC_KIND_BUFFERS ? RC_PAGE_BUFFER : kind ? RC_PAGE_TRACKED : 0;
    pg->size_class = (uint16_t)sc;
    pg->block_size = rc__class_size[sc];
    pg->capacity = (uint32_t)((RC_PAGE_SIZE - RC_PAGE_HEADER) / pg->block_size);
    pg->bump = rc__page_first(pg);
    /* Buffer pages exist only where no tool watches memory (h->buf_map). */
    if (h->watch && kind != RC_KIND_BUFFERS) rc__watch_page(h, pg);
}

/* Drop a page that has no live block left. */
static void page_release(rc_heap *h, rc_page *pg)
{
    rc_assert(pg->used == 0 || (pg->flags & RC_PAGE_LARGE));
    if (pg->side) {   /* out of the incremental pass's snapshot (incremental.c) */
        h->snapshot.items[pg->snap_index] = NULL;
        pg->side = NULL;
        /* A heap that shrank by a quarter under a pass gets its tables back
         * now rather than at the pass's end, which may never come. */
        if (++h->snapshot_gone * 4 > h->snapshot.len && !h->busy) rc__hook_snapshot_shrunk(h);
    }
    if (pg->flags & RC_PAGE_AVAIL) avail_remove(h, pg);
    rc__young_remove(h, pg, 0);
    rc__young_remove(h, pg, 1);
    if (!(pg->flags & RC_PAGE_BUFFER)) pages_remove(h, pg);
    pg->magic = 0;
    rc__check_forget(pg);
    if (pg->flags & RC_PAGE_LARGE) {
        size_t sz = pg->map_size;
        h->page_bytes -= sz;
        h->shrunk = true;
        if (pg->flags & RC_PAGE_MALLOC) {
            free(pg);
            return;
        }
        rc__mem_unmapping(pg, sz);
        h->cfg.allocator.unmap(h->cfg.allocator.ud, pg, sz);
        return;
    }
    /* Watched: objects freed with the page stay unreadable while it waits. */
    if (pg->flags & RC_PAGE_WATCH) rc__mem_close(rc__page_first(pg), RC_PAGE_SIZE - RC_PAGE_HEADER);
    /* Blocks the page handed out may have dirtied it: a reused page must not
     * show stale headers past its new bump pointer, and bump only ever
     * hands out blocks that we zero on allocation, so nothing to clear here. */
    segment_return_page(h, pg);
}

/* A fresh page for (kind, sc), or NULL. */
static rc_page *page_new(rc_heap *h, unsigned sc, int kind)
{
    rc_page *pg = segment_take_page(h, kind != RC_KIND_BUFFERS);
    if (!pg) return NULL;
    page_init(pg, h, sc, kind);
    if (kind != RC_KIND_BUFFERS && !pages_add(h, pg)) {
        pg->magic = 0;
        segment_return_page(h, pg);
        return NULL;
    }
    return pg;
}

/* ---- blocks ---- */

static rc_head *alloc_large(rc_heap *h, size_t bytes, bool tracked)
{
    if (bytes > SIZE_MAX - RC_PAGE_HEADER - RC_PAGE_SIZE) return NULL;
    size_t size = (bytes + RC_PAGE_HEADER + RC_PAGE_SIZE - 1) & ~(RC_PAGE_SIZE - 1);
    rc_page *pg = h->cfg.allocator.map(h->cfg.allocator.ud, size);
    if (!pg) return NULL;
    memset(pg, 0, sizeof *pg);
    pg->heap = h;
    pg->magic = RC_PAGE_MAGIC;
    pg->flags = (uint16_t)(RC_PAGE_LARGE | (tracked ? RC_PAGE_TRACKED : 0));
    pg->size_class = 0;
    pg->block_size = (uint32_t)(bytes > UINT32_MAX ? UINT32_MAX : bytes);
    pg->capacity = 1;
    pg->map_size = size;
    pg->bump = (char *)pg + size;   /* walkers see exactly one block */
    if (!pages_add(h, pg)) {
        h->cfg.allocator.unmap(h->cfg.allocator.ud, pg, size);
        return NULL;
    }
    if (h->watch) rc__watch_page(h, pg);
    h->page_bytes += size;
    rc__note_growth(h);
    pg->used = 1;
    return (rc_head *)rc__page_first(pg);
}

/* Malloc mode: a one-block large page from the C allocator, so every tool
 * that watches malloc sees the object (memcheck.c). */
static rc_head *alloc_malloc(rc_heap *h, size_t bytes, bool tracked)
{
    if (bytes > SIZE_MAX - RC_PAGE_HEADER - 8) return NULL;
    size_t size = RC_PAGE_HEADER + ((bytes + 7) & ~(size_t)7);
    void *p;
    if (posix_memalign(&p, RC_PAGE_SIZE, size) != 0) return NULL;
    rc_page *pg = p;
    memset(pg, 0, sizeof *pg);
    pg->heap = h;
    pg->magic = RC_PAGE_MAGIC;
    pg->flags = (uint16_t)(RC_PAGE_LARGE | RC_PAGE_MALLOC | RC_PAGE_WATCH |
                           (tracked ? RC_PAGE_TRACKED : 0));
    pg->block_size = (uint32_t)(bytes > UINT32_MAX ? UINT32_MAX : bytes);
    pg->capacity = 1;
    pg->map_size = size;
    pg->bump = (char *)pg + size;
    if (!pages_add(h, pg)) {
        free(pg);
        return NULL;
    }
    h->page_bytes += size;
    rc__note_growth(h);
    pg->used = 1;
    return (rc_head *)rc__page_first(pg);
}

/* The current page of (t, sc): cur[][], or wcur[][] on a watched heap. */
static inline rc_page **cur_of(rc_heap *h, int t, unsigned sc)
{
    return h->watch ? &h->wcur[t][sc] : &h->cur[t][sc];
}

bool rc__page_is_current(rc_heap *h, rc_page *pg)
{
    return pg == *cur_of(h, kind_of(pg), pg->size_class);
}

/* A purge also lets go of what waits for allocations to come: current pages
 * left empty (up to one per kind and class, which freeing never releases)
 * and the unused room of the heap's vectors (page lists, the candidate
 * buffer, the members vector young collections keep: rc__alloc_trim). Only
 * where no page walk can be under way: rc__alloc_purge runs at the end of a
 * free burst or collection, and a walk that frees sets keep_empty_pages;
 * never from the purge while freeing, which a walk that merely allocates
 * can start (the page lists would change under it). The vectors wait while
 * a collection runs (it holds pointers into them): the collection trims
 * them at its end. */
static void release_idle(rc_heap *h)
{
    if (h->keep_empty_pages) return;
    h->busy++;   /* page_release must not start a purge of its own */
    for (int t = 0; t < RC_PAGE_KINDS; t++)
        for (unsigned sc = 0; sc < RC_NCLASSES; sc++) {
            rc_page **cur = cur_of(h, t, sc), *pg = *cur;
            if (!pg) continue;
            if (pg->used || pg->held) continue;
            *cur = NULL;
            page_release(h, pg);
        }
    h->busy--;
    h->trim_due = true;
    if (!h->busy) rc__alloc_trim(h);
}

void rc__alloc_trim(rc_heap *h)
{
    rc_assert(!h->busy);
    h->trim_due = false;
    rc__vec_trim(h, &h->pages[0]);
    rc__vec_trim(h, &h->pages[1]);
    rc__vec_trim(h, &h->young[0]);
    rc__vec_trim(h, &h->young[1]);
    rc__vec_trim(h, &h->candidates);
    rc__vec_trim(h, &h->scratch);
    rc__table_free(h);
}

/* rc__page_take on a watched heap: the free-list link is read past the poison. */
static inline rc_head *take(rc_heap *h, rc_page *pg)
{
    if (h->watch && pg->free) rc__mem_open(pg->free + 1, sizeof(rc_head *));
    return rc__page_take(pg);
}

/* A block of class sc from the current page of kind t; when it is full
 * (it then waits until a quarter of it is free), from the first page of the
 * queue or a new page, which becomes current. NULL on out-of-memory. */
static rc_head *take_class(rc_heap *h, int t, unsigned sc)
{
    rc_page **cur = cur_of(h, t, sc), *pg = *cur;
    rc_head *b;
    if (pg && (b = take(h, pg))) return b;
    if (pg) pg->flags |= RC_PAGE_FULL;
    pg = h->avail[t][sc].head;
    if (pg) {
        avail_remove(h, pg);
    } else {
        pg = page_new(h, sc, t);
        if (!pg) {
            *cur = NULL;
            return NULL;
        }
    }
    pg->flags &= (uint16_t)~RC_PAGE_FULL;
    *cur = pg;
    return take(h, pg);
}

void *rc__alloc_buffer(rc_heap *h, size_t bytes)
{
    rc_assert(h->buf_map && bytes && bytes <= RC_SMALL_MAX);
    return take_class(h, RC_KIND_BUFFERS, rc__size_class(bytes));
}

void rc__free_buffer(rc_heap *h, void *p)
{
    rc_assert(rc__page_of(p)->flags & RC_PAGE_BUFFER);
    rc__free_block_raw(h, p);
}

rc_head *rc__alloc_block(rc_heap *h, size_t bytes, bool refs, bool young)
{
    bool tracked = refs;   /* the page kind (RC_PAGE_TRACKED) */
    rc_page *pg;
    rc_head *b;
    if (unlikely(h->use_malloc)) {
        b = alloc_malloc(h, bytes, tracked);
        if (!b) return NULL;
        pg = rc__page_of(b);
        goto done;
    }
    if (bytes > RC_SMALL_MAX) {
        b = alloc_large(h, bytes, tracked);
        if (!b) return NULL;
        pg = rc__page_of(b);
        goto done;
    }
    b = take_class(h, tracked ? 1 : 0, rc__size_class(bytes));
    if (!b) return NULL;
    pg = rc__page_of(b);
done:
    if (h->watch) rc__watch_alloc(h, b, bytes);
    if (young && !(pg->flags & RC_PAGE_YOUNG0) && !rc__young_add(h, pg, 0)) {
        /* Could not remember the page: give the block back. */
        rc__free_block(h, b);
        return NULL;
    }
    return b;
}

void rc__free_block(rc_heap *h, rc_head *b)
{
    if (rc__page_of(b)->flags & RC_PAGE_WATCH) rc__watch_free(h, b);
    else rc__free_block_raw(h, b);
}

/* What blocks given back to small page `pg` change: an empty page goes
 * (unless it is current, a page walk is under way, or it holds a
 * quarantine), a full one rejoins its queue once a quarter is free. */
static void page_after_free(rc_heap *h, rc_page *pg)
{
    if (rc__page_is_current(h, pg)) return;   /* even empty: a purge may let it go */
    if (pg->used == 0) {
        /* Buffer pages are on no list a walk follows: they go at once. */
        bool walked = h->keep_empty_pages && !(pg->flags & RC_PAGE_BUFFER);
        if (!walked && !pg->held) page_release(h, pg);
    } else if ((pg->flags & RC_PAGE_FULL) && pg->used <= pg->capacity - pg->capacity / 4) {
        pg->flags &= (uint16_t)~RC_PAGE_FULL;
        avail_push(h, pg);
    }
}

void rc__free_block_raw(rc_heap *h, rc_head *b)
{
    rc_page *pg = rc__page_of(b);
    rc_assert(pg->heap == h && pg->used > 0);
    if (pg->flags & RC_PAGE_LARGE) {
        if (h->keep_empty_pages) {   /* a walk is under way: later */
            b->refcnt = 0;
            pg->used = 0;
            return;
        }
        page_release(h, pg);
        return;
    }
    bool watched = (pg->flags & RC_PAGE_WATCH) != 0;
    if (watched) rc__mem_open(b, sizeof *b + sizeof(rc_head *));
    b->refcnt = 0;
    b->gc = 0;
    rc__free_link(b, pg->free);
    if (watched) rc__mem_close((char *)b + RC_FREE_OPEN, pg->block_size - RC_FREE_OPEN);
    pg->free = b;
    pg->used--;
    page_after_free(h, pg);
}

void rc__free_run(rc_heap *h, rc_page *pg, rc_head *head, rc_head *tail, uint32_t n)
{
    rc_assert(pg->heap == h && pg->used >= n && n > 0);
    rc_assert(!(pg->flags & (RC_PAGE_LARGE | RC_PAGE_WATCH | RC_PAGE_BUFFER)));
    rc__free_link(tail, pg->free);
    pg->free = head;
    pg->used -= n;
    page_after_free(h, pg);
}

void rc__free_page_all(rc_heap *h, rc_page *pg)
{
    rc_assert(pg->heap == h && !pg->held);
    rc_assert(!(pg->flags & (RC_PAGE_LARGE | RC_PAGE_WATCH | RC_PAGE_BUFFER)));
    pg->free = NULL;
    pg->used = 0;
    pg->bump = rc__page_first(pg);
    if (rc__page_current(pg)) return;
    if (!h->keep_empty_pages) page_release(h, pg);
}

void rc__release_empty_pages(rc_heap *h)
{
    for (int t = 0; t < 2; t++) {
        rc_vec *v = &h->pages[t];
        for (size_t i = v->len; i-- > 0;) {   /* backwards: release swaps the last in */
            rc_page *pg = v->items[i];
            if (pg->used == 0 && !pg->held && !rc__page_is_current(h, pg)) page_release(h, pg);
        }
    }
}

void rc__alloc_release_all(rc_heap *h)
{
    for (int t = 0; t < 2; t++) {
        rc_vec *v = &h->pages[t];
        for (size_t i = 0; i < v->len; i++) {
            rc_page *pg = v->items[i];
            pg->magic = 0;
            rc__check_forget(pg);
            if (pg->flags & RC_PAGE_MALLOC) {
                free(pg);
            } else if (pg->flags & RC_PAGE_LARGE) {
                rc__mem_unmapping(pg, pg->map_size);
                h->cfg.allocator.unmap(h->cfg.allocator.ud, pg, pg->map_size);
            }
        }
        rc__vec_free(h, v);
    }
    rc__vec_free(h, &h->young[0]);
    rc__vec_free(h, &h->young[1]);
    while (h->segments) {
        rc_segment *s = h->segments;
        h->segments = s->next;
        segment_unmap(h, s, s->used | s->dirty);
        h->cfg.allocator.realloc(h->cfg.allocator.ud, s, 0);
    }
    h->dirty_bytes = 0;
    h->page_bytes = 0;
}

size_t rc__heap_protect(rc_heap *h, bool writable)
{
    size_t n = 0;
    for (rc_segment *s = h->segments; s; s = s->next)
        for (unsigned i = 0; i < RC_SEGMENT_PAGES; i++)
            if ((s->used >> i) & 1)
                n += rc__os_protect(s->base + (size_t)i * RC_PAGE_SIZE, RC_PAGE_SIZE, writable);
    for (int t = 0; t < 2; t++)
        for (size_t i = 0; i < h->pages[t].len; i++) {
            rc_page *pg = h->pages[t].items[i];
            /* malloc mode's pages share their last system page with malloc's. */
            if ((pg->flags & RC_PAGE_LARGE) && !(pg->flags & RC_PAGE_MALLOC))
                n += rc__os_protect(pg, pg->map_size, writable);
        }
    return n;
}

void rc__foreach_object(rc_heap *h, bool tracked, void (*fn)(rc_head *o, void *ctx), void *ctx)
{
    rc_vec *v = &h->pages[tracked ? 1 : 0];
    for (size_t i = 0; i < v->len; i++) {
        rc_page *pg = v->items[i];
        RC__FOREACH_BLOCK(pg, o)
            if (rc__block_live(o)) fn(o, ctx);
    }
}

void rc__count_objects(const rc_heap *h, size_t *objects, size_t *bytes)
{
    size_t n = 0, b = 0;
    for (int t = 0; t < 2; t++) {
        const rc_vec *v = &h->pages[t];
        for (size_t i = 0; i < v->len; i++) {
            const rc_page *pg = v->items[i];
            n += pg->used;
            b += (pg->flags & RC_PAGE_LARGE) ? (pg->used ? pg->map_size - RC_PAGE_HEADER : 0)
                                              : (size_t)pg->used * pg->block_size;
        }
    }
    *objects = n;
    *bytes = b;
}

size_t rc_usable_size(const void *obj)
{
    RC__CHECK(obj, "rc_usable_size");
    rc_page *pg = rc__page_of(RC_HEAD(obj));
    if (pg->flags & RC_PAGE_LARGE) return pg->map_size - RC_PAGE_HEADER - sizeof(rc_head);
    return pg->block_size - sizeof(rc_head);
}
