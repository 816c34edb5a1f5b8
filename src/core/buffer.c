/*
 * buffer.c -- variable buffers (list items, dict tables, the side tables of
 * util/ and the leak tools) and the heap's scratch vectors (rc_vec: page
 * lists, the candidate buffer, a collection's members and mark stack).
 *
 * The heap owns them, as it owns its objects:
 *   - up to RC_SMALL_MAX (16 KiB), a block of a size class on the heap's
 *     buffer pages: pages of the segments, on no page list (no walk sees
 *     them), emptied, purged and unmapped as object pages are (alloc.c);
 *   - past that, a mapping of its own from the system (core/os.c), resized
 *     with mremap (which moves page tables, not bytes) and unmapped the
 *     moment it is freed.
 * So freed buffers leave the process as freed objects do.
 *
 * Why not malloc: glibc keeps what is freed in its arenas unless it lies at
 * the top of one, past the trim threshold. Small blocks wait in its bins
 * and fastbins, interleaved with the program's own; big ones come from the
 * arenas too once its mmap threshold has risen, which it does (up to 32 MiB
 * on 64-bit) each time a block it mapped is freed. A million-row dict
 * loaded and dropped left 12 MB behind that way, a million small lists 45 MB.
 *
 * Buffers stay with the allocator's realloc, as before, whatever their size:
 *   - when the heap's config names an allocator of its own (a `map` or a
 *     `realloc` other than rc_system_allocator's): the user decides where
 *     memory comes from;
 *   - in malloc mode, in ASan builds and under valgrind, so that those tools
 *     see every buffer as a malloc'd block, with its stacks and bounds.
 * The heap decides once (h->buf_map, rc__watch_init). A buffer's size says
 * where it lives, so every resize and free passes the exact size the buffer
 * was given (which the buffer_bytes count needs anyway).
 */
#include "core/internal.h"
#include "core/os.h"

/* Bytes a mapped buffer of `size` bytes takes: whole system pages; 0 when
 * that overflows. */
static size_t map_size(size_t size)
{
    size_t page = rc__os_page_size();
    return size > SIZE_MAX - (page - 1) ? 0 : (size + page - 1) & ~(page - 1);
}

/* A mapping this big is aligned to it and asks for huge pages: a dict's
 * index and entries, read at random, then cost one TLB entry per 2 MiB
 * rather than per 4 KiB, and one page fault per 2 MiB as they fill. USS
 * grows by at most one partly used huge page per buffer. */
#define HUGE_BYTES ((size_t)2 << 20)

static size_t map_align(size_t m)
{
    return m >= HUGE_BYTES ? HUGE_BYTES : rc__os_page_size();
}

static void *map_new(rc_heap *h, size_t size)
{
    size_t m = map_size(size);
    void *p = m ? rc__os_map(m, map_align(m)) : NULL;
    if (!p) return NULL;
    if (m >= HUGE_BYTES) rc__os_hugepage(p, m);
    h->buf_map_bytes += m;
    rc__note_growth(h);
    return p;
}

static void *map_resize(rc_heap *h, void *p, size_t old_size, size_t size)
{
    size_t om = map_size(old_size), nm = map_size(size);
    if (om == nm) return p;
    void *n = nm ? rc__os_remap(p, om, nm, map_align(nm)) : NULL;
    if (!n) return NULL;
    if (nm > om && nm >= HUGE_BYTES) rc__os_hugepage(n, nm);
    h->buf_map_bytes = h->buf_map_bytes - om + nm;
    if (nm > om) rc__note_growth(h);
    else h->shrunk = true;
    return n;
}

/* Whether a block of `size` bytes of heap h is a mapping of its own. */
static inline bool mapped(const rc_heap *h, size_t size)
{
    return h->buf_map && size > RC_SMALL_MAX;
}

/* A block that is no mapping comes from the heap's buffer pages when
 * `paged` (and h->buf_map), else from the allocator's realloc. */
static void *own_new(rc_heap *h, size_t size, bool paged)
{
    if (mapped(h, size)) return map_new(h, size);
    return paged ? rc__alloc_buffer(h, size) : h->cfg.allocator.realloc(h->cfg.allocator.ud, NULL, size);
}

static void own_free(rc_heap *h, void *p, size_t size, bool paged)
{
    if (!mapped(h, size)) {
        if (paged) rc__free_buffer(h, p);
        else h->cfg.allocator.realloc(h->cfg.allocator.ud, p, 0);
        return;
    }
    size_t m = map_size(size);
    rc_assert(((uintptr_t)p & (rc__os_page_size() - 1)) == 0);
    rc__os_unmap(p, m);
    h->buf_map_bytes -= m;
    h->shrunk = true;   /* rc__alloc_purge_soon looks at the heap's size */
}

/* realloc(3) for the heap's buffers and vectors, the old size beside it
 * (see rc__buf_realloc). */
static void *resize(rc_heap *h, void *p, size_t old_size, size_t new_size, bool paged)
{
    paged = paged && h->buf_map;
    if (!p) return new_size ? own_new(h, new_size, paged) : NULL;
    if (!new_size) {
        own_free(h, p, old_size, paged);
        return NULL;
    }
    bool was = mapped(h, old_size), will = mapped(h, new_size);
    if (!was && !will) {
        if (!paged) return h->cfg.allocator.realloc(h->cfg.allocator.ud, p, new_size);
        if (rc__size_class(old_size) == rc__size_class(new_size)) return p;   /* it has room */
    } else if (was && will) {
        return map_resize(h, p, old_size, new_size);
    }
    /* Another block: the bytes move, the old block goes; on failure the old
     * one stays as it was. */
    void *n = own_new(h, new_size, paged);
    if (!n) return NULL;
    memcpy(n, p, old_size < new_size ? old_size : new_size);
    own_free(h, p, old_size, paged);
    return n;
}

/* ---- variable buffers: counted in buffer_bytes ---- */

void *rc__buf_realloc(rc_heap *h, void *p, size_t old_size, size_t new_size)
{
    void *n = resize(h, p, old_size, new_size, true);
    if (!n && new_size) return NULL;
    h->buffer_bytes += new_size - (p ? old_size : 0);
    return n;
}

void rc__buf_free(rc_heap *h, void *p, size_t size)
{
    if (!p) return;
    resize(h, p, size, 0, true);
    h->buffer_bytes -= size;
}

/* ---- vectors: not counted ----
 * A collection grows its mark stack and members vector from 16 entries and
 * frees them again: through the buffer pages that would leave an empty
 * current page in every class on the way at each collection. Small vectors
 * take the allocator's realloc instead; big ones are mapped as buffers are. */

static void *vec_resize(rc_heap *h, rc_vec *v, size_t cap)
{
    return resize(h, v->items, v->cap * sizeof *v->items, cap * sizeof *v->items, false);
}

bool rc__vec_grow(rc_heap *h, rc_vec *v)
{
    return rc__vec_reserve(h, v, v->cap ? v->cap + 1 : 1);
}

bool rc__vec_reserve(rc_heap *h, rc_vec *v, size_t want)
{
    if (want <= v->cap) return true;
    size_t ncap = v->cap ? v->cap : 16;
    while (ncap < want) {
        if (ncap > SIZE_MAX / sizeof(void *) / 2) return false;
        ncap *= 2;
    }
    void **n = vec_resize(h, v, ncap);
    if (!n) return false;
    /* Big scratch vectors fill up at once: fault the new part in one call. */
    if (ncap * sizeof *n >= 16384) rc__commit(h, n + v->cap, (ncap - v->cap) * sizeof *n);
    v->items = n;
    v->cap = ncap;
    return true;
}

void rc__vec_free(rc_heap *h, rc_vec *v)
{
    if (v->items) vec_resize(h, v, 0);
    v->items = NULL;
    v->len = v->cap = 0;
}

void *rc__table_take(rc_heap *h, size_t size, size_t *cap)
{
    void *p = h->kept_table;
    size_t bytes = h->kept_table_bytes;
    h->kept_table = NULL;
    h->kept_table_bytes = 0;
    *cap = 0;
    if (!p) return NULL;
    if (bytes % size) {
        rc__buf_free(h, p, bytes);
        return NULL;
    }
    *cap = bytes / size;
    return p;
}

void rc__table_keep(rc_heap *h, void *p, size_t bytes)
{
    if (!p) return;
    if (bytes > RC_TABLE_KEEP || h->kept_table) {
        rc__buf_free(h, p, bytes);
        return;
    }
    h->kept_table = p;
    h->kept_table_bytes = bytes;
}

void rc__table_free(rc_heap *h)
{
    if (h->kept_table) rc__buf_free(h, h->kept_table, h->kept_table_bytes);
    h->kept_table = NULL;
    h->kept_table_bytes = 0;
}

void rc__vec_trim(rc_heap *h, rc_vec *v)
{
    if (!v->len) {
        rc__vec_free(h, v);
        return;
    }
    size_t cap = v->cap;
    while (cap > 16 && v->len <= cap / 4) cap /= 2;
    if (cap == v->cap) return;
    void **n = vec_resize(h, v, cap);
    if (!n) return;
    v->items = n;
    v->cap = cap;
}
