/*
 * buffer.c -- variable buffers (list items, dict tables, the side tables of
 * util/ and the leak tools) and the heap's scratch vectors (rc_vec: page
 * lists, the candidate buffer, a collection's members and mark stack).
 *
 * A buffer of RC_BUF_MAP_MIN bytes or more gets a mapping of its own from
 * the system (core/os.c): resized with mremap, which moves page tables, not
 * bytes, and unmapped the moment it is freed. Smaller ones come from the
 * allocator's realloc (the C library's malloc).
 *
 * Why not malloc for all: glibc serves a block from its arenas unless it is
 * past its mmap threshold, and that threshold rises (up to 32 MiB on 64-bit)
 * each time a block it mapped is freed, its trim threshold with it. After a
 * program has grown and dropped one big dict, the next big tables live in
 * the arenas, and what is freed there stays in the process as long as
 * anything lives above it: loading a million-row dict and dropping it left
 * 12 MB behind. Mapped here, the memory leaves with the free, whatever the C
 * library's thresholds (MALLOC_MMAP_THRESHOLD_, mallopt) say.
 *
 * Buffers stay with the allocator's realloc, whatever their size:
 *   - when the heap's config names a realloc of its own
 *     (rc_heap_config.allocator.realloc other than rc_system_allocator's):
 *     the user decides where memory comes from;
 *   - in malloc mode, in ASan builds and under valgrind, so that those tools
 *     see every buffer as a malloc'd block, with its stacks and bounds.
 * The heap decides once (h->buf_map, rc__watch_init). A buffer's size says
 * which kind it is, so every resize and free must pass the exact size the
 * buffer was given (which the buffer_bytes count needs anyway).
 */
#include "core/internal.h"
#include "core/os.h"

/* Bytes a buffer of `size` bytes maps: whole system pages; 0 when that
 * overflows. */
static size_t map_size(size_t size)
{
    size_t page = rc__os_page_size();
    return size > SIZE_MAX - (page - 1) ? 0 : (size + page - 1) & ~(page - 1);
}

/* Whether a buffer of `size` bytes of heap h has a mapping of its own. */
static inline bool is_mapped(const rc_heap *h, size_t size)
{
    return h->buf_map && size >= RC_BUF_MAP_MIN;
}

static void *sys_resize(rc_heap *h, void *p, size_t size)
{
    return h->cfg.allocator.realloc(h->cfg.allocator.ud, p, size);
}

/* A mapping of its own for `size` bytes (is_mapped), or NULL. */
static void *map_new(rc_heap *h, size_t size)
{
    size_t m = map_size(size);
    void *p = m ? rc__os_map(m, rc__os_page_size()) : NULL;
    if (p) h->buf_map_bytes += m;
    return p;
}

static void map_free(rc_heap *h, void *p, size_t size)
{
    size_t m = map_size(size);
    rc_assert(((uintptr_t)p & (rc__os_page_size() - 1)) == 0);
    rc__os_unmap(p, m);
    h->buf_map_bytes -= m;
}

void *rc__buf_resize(rc_heap *h, void *p, size_t old_size, size_t new_size)
{
    if (!p) old_size = 0;
    bool was = p && is_mapped(h, old_size), will = is_mapped(h, new_size);
    if (!was && !will) {
        if (!new_size) {
            if (p) sys_resize(h, p, 0);
            return NULL;
        }
        return sys_resize(h, p, new_size);
    }
    if (!new_size) {   /* was mapped: freed */
        map_free(h, p, old_size);
        return NULL;
    }
    void *n;
    if (was && will) {
        size_t om = map_size(old_size), nm = map_size(new_size);
        if (om == nm) return p;
        n = nm ? rc__os_remap(p, om, nm) : NULL;
        if (n) h->buf_map_bytes += nm - om;
        return n;
    }
    /* Across the line: a new block of the other kind, the bytes copied, the
     * old block freed; on failure the old one stays as it was. */
    n = will ? map_new(h, new_size) : sys_resize(h, NULL, new_size);
    if (!n) return NULL;
    if (p) memcpy(n, p, old_size < new_size ? old_size : new_size);
    if (was) map_free(h, p, old_size);
    else if (p) sys_resize(h, p, 0);
    return n;
}

/* ---- variable buffers: counted in buffer_bytes ---- */

void *rc__buf_realloc(rc_heap *h, void *p, size_t old_size, size_t new_size)
{
    void *n = rc__buf_resize(h, p, old_size, new_size);
    if (!n && new_size) return NULL;
    h->buffer_bytes += new_size - (p ? old_size : 0);
    return n;
}

void rc__buf_free(rc_heap *h, void *p, size_t size)
{
    if (!p) return;
    rc__buf_resize(h, p, size, 0);
    h->buffer_bytes -= size;
}

/* ---- scratch vectors: not counted ---- */

bool rc__vec_grow(rc_heap *h, rc_vec *v)
{
    size_t ncap = v->cap ? v->cap * 2 : 16;
    if (ncap > SIZE_MAX / sizeof(void *)) return false;
    void **n = rc__buf_resize(h, v->items, v->cap * sizeof *n, ncap * sizeof *n);
    if (!n) return false;
    /* Big scratch vectors fill up at once: fault the new half in one call. */
    if (ncap * sizeof *n >= 16384) rc__commit(h, n + v->cap, (ncap - v->cap) * sizeof *n);
    v->items = n;
    v->cap = ncap;
    return true;
}

void rc__vec_free(rc_heap *h, rc_vec *v)
{
    if (v->items) rc__buf_resize(h, v->items, v->cap * sizeof *v->items, 0);
    v->items = NULL;
    v->len = v->cap = 0;
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
    void **n = rc__buf_resize(h, v->items, v->cap * sizeof *n, cap * sizeof *n);
    if (!n) return;
    v->items = n;
    v->cap = cap;
}
