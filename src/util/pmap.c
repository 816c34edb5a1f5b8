/*
 * pmap.c -- the pointer map of util/pmap.h.
 */
#include "util/pmap.h"

#define PMAP_MIN 16

void rc__pmap_init(rc_pmap *p, rc_mem m, size_t value_size)
{
    memset(p, 0, sizeof *p);
    p->m = m;
    p->vsize = value_size;
}

static inline size_t cap_of(const rc_pmap *p) { return p->keys ? p->mask + 1 : 0; }

/* Move every key into new arrays of `ncap` slots; false (nothing changed)
 * on out-of-memory. */
static bool rehash(rc_pmap *p, size_t ncap)
{
    const void **nk = rc__mem_calloc(p->m, ncap, sizeof *nk);
    if (!nk) return false;
    unsigned char *nv = NULL;
    if (p->vsize) {
        nv = ncap > SIZE_MAX / p->vsize ? NULL : rc__mem_alloc(p->m, ncap * p->vsize);
        if (!nv) {
            rc__mem_free(p->m, nk, ncap * sizeof *nk);
            return false;
        }
    }
    size_t nmask = ncap - 1, ocap = cap_of(p);
    for (size_t i = 0; i < ocap; i++) {
        if (!p->keys[i]) continue;
        size_t j = rc__hash_ptr(p->keys[i]) & nmask;
        while (nk[j]) j = (j + 1) & nmask;
        nk[j] = p->keys[i];
        if (p->vsize) memcpy(nv + j * p->vsize, p->vals + i * p->vsize, p->vsize);
    }
    rc__mem_free(p->m, p->keys, ocap * sizeof *p->keys);
    rc__mem_free(p->m, p->vals, ocap * p->vsize);
    p->keys = nk;
    p->vals = nv;
    p->mask = nmask;
    return true;
}

bool rc__pmap_reserve(rc_pmap *p, size_t more)
{
    if (more > SIZE_MAX / 2 - p->len) return false;
    size_t need = (p->len + more) * 2, cap = cap_of(p);
    if (need <= cap) return true;
    size_t ncap = cap ? cap : PMAP_MIN;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2) return false;
        ncap *= 2;
    }
    return rehash(p, ncap);
}

void *rc__pmap_put(rc_pmap *p, const void *key, bool *added)
{
    if (added) *added = false;
    void *v = rc__pmap_get(p, key);
    if (v) return v;
    if (!rc__pmap_reserve(p, 1)) return NULL;
    size_t j = rc__hash_ptr(key) & p->mask;
    while (p->keys[j]) j = (j + 1) & p->mask;
    p->keys[j] = key;
    p->len++;
    if (added) *added = true;
    if (!p->vsize) return (void *)&p->keys[j];
    v = p->vals + j * p->vsize;
    memset(v, 0, p->vsize);
    return v;
}

void rc__pmap_del(rc_pmap *p, const void *key)
{
    if (!p->len) return;
    size_t mask = p->mask, i = rc__hash_ptr(key) & mask;
    while (p->keys[i] != key) {
        if (!p->keys[i]) return;
        i = (i + 1) & mask;
    }
    p->len--;
    /* Backward shift: an entry later in the run moves into the hole unless
     * its home slot lies after the hole (then its probe never passed it). */
    for (size_t j = (i + 1) & mask; p->keys[j]; j = (j + 1) & mask) {
        size_t home = rc__hash_ptr(p->keys[j]) & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            p->keys[i] = p->keys[j];
            if (p->vsize) memcpy(p->vals + i * p->vsize, p->vals + j * p->vsize, p->vsize);
            i = j;
        }
    }
    p->keys[i] = NULL;
}

bool rc__pmap_next(const rc_pmap *p, size_t *pos, const void **key, void **val)
{
    for (size_t i = *pos, cap = cap_of(p); i < cap; i++) {
        if (!p->keys[i]) continue;
        *pos = i + 1;
        if (key) *key = p->keys[i];
        if (val) *val = p->vsize ? p->vals + i * p->vsize : (void *)&p->keys[i];
        return true;
    }
    *pos = cap_of(p);
    return false;
}

void rc__pmap_free(rc_pmap *p)
{
    size_t cap = cap_of(p);
    rc__mem_free(p->m, p->keys, cap * sizeof *p->keys);
    rc__mem_free(p->m, p->vals, cap * p->vsize);
    rc__pmap_init(p, p->m, p->vsize);
}

bool rc__pmap_from_objs(rc_pmap *p, rc_mem m, void *const *objs, size_t n)
{
    rc__pmap_init(p, m, sizeof(size_t));
    if (!objs || !n) return true;
    if (!rc__pmap_reserve(p, n)) return false;
    for (size_t i = 0; i < n; i++) {
        if (!objs[i]) continue;
        bool added;
        size_t *v = rc__pmap_put(p, RC_HEAD(objs[i]), &added);   /* cannot fail: reserved */
        if (added) *v = i;
    }
    return true;
}
