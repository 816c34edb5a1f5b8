/*
 * memcheck.c -- letting the tools C programmers trust see every object.
 *
 * Objects live in recycle's own pages, so without help AddressSanitizer and
 * valgrind see a page, not the objects in it: a read of a freed object reads
 * a free block, or the next object put there. A heap "watches" its blocks
 * when the build has ASan or RC_DEBUG, when it runs under valgrind, or in
 * malloc mode. A watched heap keeps its allocation fast paths empty (cur[][]
 * stays NULL and every page carries RC_PAGE_WATCH), so every allocation and
 * every free reaches the hooks here; a heap that does not watch pays nothing.
 *
 *   ASan      a free block, the tail of a page past `bump` and the slack of a
 *             block past the object's size are poisoned; an object is
 *             unpoisoned exactly for its life. A read of a freed object is a
 *             use-after-poison report.
 *   valgrind  each object is a MALLOCLIKE block (its user part; the header is
 *             made addressable beside it) and FREELIKE when it dies, so
 *             memcheck reports use after free with the allocation and free
 *             stacks, and leaks per object.
 *   RC_DEBUG  a freed block's user memory is filled with 0xDD and the block
 *             waits in a FIFO quarantine of RC_QUARANTINE blocks before it
 *             can be handed out again, so a dangling pointer reads garbage
 *             (and a freed header, refcnt 0 and its type) instead of a live
 *             stranger. Pool heaps under ASan or valgrind quarantine too.
 *   malloc    (rc_heap_config.use_malloc, or RC_MALLOC=malloc in the environment)
 *             every object is a one-block large page from
 *             posix_memalign(RC_PAGE_SIZE, 128 + size) and goes back with
 *             free(), so ASan, LSan, valgrind and heaptrack see each object
 *             with its own stacks; the page header keeps page_of() a mask.
 *             The collector and the leak tools walk these pages as they walk
 *             large ones.
 *
 * A free block keeps its first 4 bytes (refcnt = 0) readable so that page
 * walkers skip it without opening it; the library opens the other bytes it
 * reads (the free-list link, rc__check's type) around the read.
 */
#include "core/memcheck.h"

#include <stdlib.h>

#define RC_QUARANTINE 128                      /* blocks waiting before reuse */
#define RC_QUARANTINE_MAX_BLOCK ((size_t)1 << 20)   /* bigger blocks go back at once */

bool rc__watch_init(rc_heap *h, const rc_heap_config *cfg)
{
    /* The environment speaks for heaps on the system allocator; a heap
     * given its own allocator keeps it unless its config asks for malloc. */
    bool m = cfg->use_malloc != 0;
    const char *e = getenv("RC_MALLOC");
    if (cfg->allocator.map == rc_system_allocator.map) {
        if (e && strcmp(e, "malloc") == 0) m = true;
        else if (e && strcmp(e, "pool") == 0) m = false;
    }
    h->use_malloc = m;
#ifdef RC_HAVE_VALGRIND
    h->valgrind = RUNNING_ON_VALGRIND != 0;
#endif
    bool debug = false;
#ifdef RC_DEBUG
    debug = true;
#endif
    h->watch = m || h->valgrind || RC__ASAN || debug;
    /* The heap owns its buffers (buffer.c: buffer pages, mappings) unless
     * the user gave an allocator of their own (map or realloc) or a tool
     * should see every buffer as a malloc'd block. */
    h->buf_map = !m && !h->valgrind && !RC__ASAN &&
                 cfg->allocator.realloc == rc_system_allocator.realloc &&
                 cfg->allocator.map == rc_system_allocator.map;
    /* In malloc mode the tools keep their own quarantine (with stacks);
     * without a tool, ours keeps freed objects nameable for a while. */
    bool q = m ? !RC__ASAN && !h->valgrind : h->watch;
    if (q) {
        h->quarantine = h->cfg.allocator.realloc(h->cfg.allocator.ud, NULL,
                                                 RC_QUARANTINE * sizeof *h->quarantine);
        if (!h->quarantine) return false;
    }
    return true;
}

void rc__watch_page(rc_heap *h, rc_page *pg)
{
    (void)h;
    pg->flags |= RC_PAGE_WATCH;
    rc__mem_close(rc__page_first(pg), RC_PAGE_SIZE - RC_PAGE_HEADER);
}

void rc__watch_alloc(rc_heap *h, rc_head *b, size_t bytes)
{
    rc_page *pg = rc__page_of(b);
    if (pg->flags & RC_PAGE_MALLOC) return;   /* the C allocator's own block */
    size_t n = (bytes + 7) & ~(size_t)7;
    RC__UNPOISON(b, n);
    /* The free-list link was opened to be read; past a small object it is slack. */
    if (!(pg->flags & RC_PAGE_LARGE) && n < sizeof *b + sizeof(rc_head *))
        rc__mem_close((char *)b + n, sizeof *b + sizeof(rc_head *) - n);
#ifdef RC_HAVE_VALGRIND
    if (h->valgrind) {
        VALGRIND_MAKE_MEM_UNDEFINED(b, sizeof *b);
        VALGRIND_MALLOCLIKE_BLOCK(b + 1, n - sizeof *b, 0, 0);
    }
#else
    (void)h;
#endif
}

/* Valgrind: the object died; only its refcnt stays readable. */
static void vg_free(rc_heap *h, rc_head *b)
{
#ifdef RC_HAVE_VALGRIND
    if (!h->valgrind) return;
    VALGRIND_FREELIKE_BLOCK(b + 1, 0);
    VALGRIND_MAKE_MEM_NOACCESS(b, sizeof *b);
    VALGRIND_MAKE_MEM_DEFINED(b, RC_FREE_OPEN);
#else
    (void)h;
    (void)b;
#endif
}

/* The oldest block of the quarantine goes back to its page. */
static void evict(rc_heap *h)
{
    rc_head *b = h->quarantine[h->q_head];
    h->q_head = (h->q_head + 1) % RC_QUARANTINE;
    h->q_len--;
    if (!b) return;
    rc_page *pg = rc__page_of(b);
    pg->held--;
    pg->used++;
    rc__free_block_raw(h, b);
}

/* Every quarantined block of `pg` goes back now (the page is emptying). */
static void evict_page(rc_heap *h, rc_page *pg)
{
    for (unsigned i = 0; i < h->q_len && pg->held; i++) {
        rc_head **e = &h->quarantine[(h->q_head + i) % RC_QUARANTINE];
        if (!*e || rc__page_of(*e) != pg) continue;
        rc_head *b = *e;
        *e = NULL;
        pg->held--;
        pg->used++;
        rc__free_block_raw(h, b);
    }
}

void rc__watch_free(rc_heap *h, rc_head *b)
{
    rc_page *pg = rc__page_of(b);
    if ((pg->flags & (RC_PAGE_LARGE | RC_PAGE_MALLOC)) == RC_PAGE_LARGE) {
        /* A mapped large page goes back to the system at once (or when the
         * page walk under way ends). */
        bool stays = h->keep_empty_pages;
        size_t n = pg->map_size - RC_PAGE_HEADER;
        rc__free_block_raw(h, b);
        vg_free(h, b);
        if (stays) rc__mem_close((char *)b + RC_FREE_OPEN, n - RC_FREE_OPEN);
        return;
    }
    bool mal = (pg->flags & RC_PAGE_MALLOC) != 0;
    size_t n = mal ? pg->map_size - RC_PAGE_HEADER : pg->block_size;
    b->refcnt = 0;
    b->gc = 0;
    if (mal && !h->quarantine) {   /* the tool's own free: stacks and all */
        rc__free_block_raw(h, b);
        return;
    }
#ifdef RC_DEBUG
    rc__mem_open(b + 1, n - sizeof *b);   /* the block's slack past the object too */
    memset(b + 1, 0xDD, n - sizeof *b);
#endif
    if (!mal) {
        vg_free(h, b);
        rc__mem_close((char *)b + RC_FREE_OPEN, n - RC_FREE_OPEN);
    }
    /* Quarantine, unless the block is too big or its page is emptying (the
     * page goes back as it would without checks). */
    bool emptying = pg->used == 1 && (mal || !rc__page_is_current(h, pg));
    if (!h->quarantine || n > RC_QUARANTINE_MAX_BLOCK || (emptying && !mal)) {
        if (emptying && pg->held) evict_page(h, pg);
        rc__free_block_raw(h, b);
        return;
    }
    if (h->q_len == RC_QUARANTINE) evict(h);
    pg->used--;
    pg->held++;
    h->quarantine[(h->q_head + h->q_len) % RC_QUARANTINE] = b;
    h->q_len++;
}

void rc__watch_teardown(rc_heap *h)
{
    if (h->quarantine) {
        h->cfg.allocator.realloc(h->cfg.allocator.ud, h->quarantine, 0);
        h->quarantine = NULL;
        h->q_len = 0;
    }
#ifdef RC_HAVE_VALGRIND
    if (!h->valgrind) return;
    for (int t = 0; t < 2; t++) {
        rc_vec *v = &h->pages[t];
        for (size_t i = 0; i < v->len; i++) {
            rc_page *pg = v->items[i];
            if (pg->flags & RC_PAGE_MALLOC) continue;
            RC__FOREACH_BLOCK(pg, o)
                if (rc__block_live(o)) VALGRIND_FREELIKE_BLOCK(o + 1, 0);
        }
    }
#endif
}

#if RC__ASAN
__attribute__((no_sanitize_address))
#endif
const rc_type *rc__peek_type(const rc_head *o)
{
    RC__VG_DEFINED(&o->type, sizeof o->type);
    return o->type;
}
