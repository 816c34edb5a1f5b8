/*
 * core/mem.h -- where a side table's memory comes from: one small value
 * that either names a heap (its buffers, core/buffer.c: given back to the
 * system when freed; the bytes counted in the heap's buffer_bytes; big
 * blocks committed at once) or a bare realloc function
 * (malloc users, tests). Tables in util/ take an rc_mem, so one table
 * serves the heap's books and callers with no heap alike.
 */
#ifndef RC_CORE_MEM_H
#define RC_CORE_MEM_H

#include "core/internal.h"

#include <string.h>

typedef struct rc_mem {
    rc_heap *h;                                      /* non-NULL: the heap's allocator, counted */
    void *(*realloc)(void *ud, void *p, size_t size); /* h == NULL: this, realloc-like */
    void *ud;
} rc_mem;

/* Memory of heap h (rc__buf_realloc: counted in buffer_bytes). */
static inline rc_mem rc__mem_heap(rc_heap *h) { return (rc_mem){h, NULL, NULL}; }
/* The system allocator (rc_system_allocator), for users with no heap. */
static inline rc_mem rc__mem_malloc(void) { return (rc_mem){NULL, rc_system_allocator.realloc, NULL}; }

/* `bytes` bytes (at least 1), uninitialised; NULL on out-of-memory. */
static inline void *rc__mem_alloc(rc_mem m, size_t bytes)
{
    if (!bytes) bytes = 1;
    if (!m.h) return m.realloc(m.ud, NULL, bytes);
    void *p = rc__buf_realloc(m.h, NULL, 0, bytes);
    /* A side table is written all over at once: fault a big one in with one
     * call rather than a page fault per 4 KiB. */
    if (p && bytes >= RC_COMMIT_AHEAD) rc__commit(m.h, p, bytes);
    return p;
}

/* n * size zeroed bytes; NULL on out-of-memory or overflow. */
static inline void *rc__mem_calloc(rc_mem m, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) return NULL;
    size_t bytes = n * size;
    void *p = rc__mem_alloc(m, bytes);
    if (p) memset(p, 0, bytes ? bytes : 1);
    return p;
}

/* Free p (NULL: nothing) of `bytes` bytes, the size it was allocated with. */
static inline void rc__mem_free(rc_mem m, void *p, size_t bytes)
{
    if (!p) return;
    if (m.h) rc__buf_free(m.h, p, bytes ? bytes : 1);
    else m.realloc(m.ud, p, 0);
}

/* Grow *p (holding *cap items of `size` bytes, through the heap's
 * allocator) to at least `need` items, doubling from 16; false on
 * out-of-memory (nothing changed). */
static inline bool rc__mem_grow(rc_heap *h, void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) return true;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / size) return false;
        ncap *= 2;
    }
    void *n = rc__buf_realloc(h, *p, *cap * size, ncap * size);
    if (!n) return false;
    *p = n;
    *cap = ncap;
    return true;
}

#endif
