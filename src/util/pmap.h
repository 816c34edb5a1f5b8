/*
 * util/pmap.h -- the one pointer map: open addressing with linear probing
 * from a non-NULL pointer to a fixed-size value, at most half full,
 * deletion by backward shift (no tombstones, so lookups stay short however
 * many keys come and go). Keys and values live in two arrays; a value may
 * be 0 bytes (a set). Memory through an rc_mem (core/mem.h): the heap's
 * allocator or the system's.
 *
 * Users: the weak reference books (referent -> newest weak reference), the
 * tracer's objects (object -> site, serial), the leak tools' maps and sets.
 */
#ifndef RC_UTIL_PMAP_H
#define RC_UTIL_PMAP_H

#include "core/mem.h"
#include "util/hash.h"

typedef struct rc_pmap {
    const void **keys;     /* NULL: empty slot */
    unsigned char *vals;   /* slot i's value at vals + i * vsize */
    size_t vsize;
    size_t mask;           /* capacity - 1 (a power of two); 0 before the first key */
    size_t len;
    rc_mem m;
} rc_pmap;

/* An empty map (allocates nothing) of values of `value_size` bytes. */
void rc__pmap_init(rc_pmap *p, rc_mem m, size_t value_size);

/* The value of `key`, or NULL when absent. For a map of 0-byte values, a
 * non-NULL pointer that must not be written. O(1) expected. The pointer
 * stays valid until the next put, reserve or del. */
static inline void *rc__pmap_get(const rc_pmap *p, const void *key)
{
    if (!p->len) return NULL;
    for (size_t j = rc__hash_ptr(key) & p->mask;; j = (j + 1) & p->mask) {
        if (p->keys[j] == key) return p->vsize ? p->vals + j * p->vsize : (void *)&p->keys[j];
        if (!p->keys[j]) return NULL;
    }
}

/* The value of `key` (not NULL), added (zeroed, *added = true when added is
 * not NULL) when absent. NULL on out-of-memory, the map unchanged. Never
 * fails after rc__pmap_reserve made room for this key. */
void *rc__pmap_put(rc_pmap *p, const void *key, bool *added);

/* Room for `more` keys beyond len, so that that many puts cannot fail.
 * All or nothing: false on out-of-memory with the map unchanged. */
bool rc__pmap_reserve(rc_pmap *p, size_t more);

/* Remove `key` (absent: nothing), shifting back the run after it. */
void rc__pmap_del(rc_pmap *p, const void *key);

/* Iterate: *pos = 0 first; each true return gives a key and its value.
 * The map must not change during the walk. */
bool rc__pmap_next(const rc_pmap *p, size_t *pos, const void **key, void **val);

/* Free the arrays; the map is empty again (and still usable). */
void rc__pmap_free(rc_pmap *p);

/* A set of the objects' headers (NULL entries skipped), each valued with
 * its first index in objs (size_t). false on out-of-memory (p empty). */
bool rc__pmap_from_objs(rc_pmap *p, rc_mem m, void *const *objs, size_t n);

#endif
