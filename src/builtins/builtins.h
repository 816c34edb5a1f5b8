/*
 * builtins/builtins.h -- what list.c, tuple.c, str.c and dict.c share: the
 * argument check every public built-in call starts with, the check that a
 * stored value is storable, and the str and immediate hashes (over
 * util/hash.h).
 *
 * The types' own clear/destroy callbacks never use these checks: the
 * core calls them on dying objects whose first header word may already link
 * its pending list, so rc__check would misread them.
 */
#ifndef RC_BUILTINS_PRIV_H
#define RC_BUILTINS_PRIV_H

#include "core/objects.h"
#include "recycle/builtins.h"
#include "util/hash.h"

#include <stdatomic.h>
#include <stdlib.h>

/*
 * Whether `obj` is an object of type `t`. When it is not, the reason is
 * recorded on its heap (RC_EINVAL, naming `call`) and false returned; a NULL
 * has no heap, so debug builds stop and release builds just return false.
 * Debug builds also catch use of a freed object (rc__check).
 */
static inline bool rc__is_a(const void *obj, const rc_type *t, const char *call)
{
    if (unlikely(obj == NULL)) {
#ifdef RC_DEBUG
        fprintf(stderr, "recycle: %s: the %s is NULL\n", call, t->name);
        abort();
#endif
        return false;
    }
    RC__CHECK(obj, call);
    if (likely(rc_typeof(obj) == t)) return true;
    const rc_type *got = rc_typeof(obj);
    rc__fail(rc_heap_of(obj), RC_EINVAL, "%s: object %p is a %s, not a %s", call, obj,
             got && got->name ? got->name : "?", t->name);
    return false;
}

/* rc__is_a for a call that writes `obj`: debug builds also stop the
 * program when obj is frozen (in a region, rc_region_freeze). */
static inline bool rc__writable(void *obj, const rc_type *t, const char *call)
{
#ifdef RC_DEBUG
    if (obj) rc__check_write(obj, call);
#endif
    return rc__is_a(obj, t, call);
}

/*
 * Whether heap h may hold a reference to `o`, an object of another heap (T2,
 * docs/ARCHITECTURE.md): only when o is in a frozen region that h holds
 * (rc_heap_hold_region). When not, records RC_EINVAL naming `call`, `what`
 * ("item 2: " or ""), the object and, for a region's object, the region.
 * The failure path of the checks below (tuple.c): never reached by a store
 * of an object of the container's own heap.
 */
bool rc__foreign_ok(rc_heap *h, const void *o, const char *call, const char *what);

/* rc_list_new without the automatic collection its allocation may run: a
 * query's result list, made while the caller's arguments are borrowed (the
 * code a collection runs -- callbacks, finalizers -- could free them before
 * the query reads them). */
rc_list *rc__list_new_quiet(rc_heap *heap, size_t capacity_hint);

/*
 * Whether `v` may be stored in `container`: not RC_EMPTY (it means "no
 * value"), and no object of another heap (the collector counts references
 * within one heap) unless it is in a frozen region the container's heap
 * holds. Records RC_EINVAL when not. The heaps are compared only for an
 * object, and the region looked up only when they differ, so the fast path
 * is one test for an immediate and one compare for an object.
 */
static inline bool rc__storable(const void *container, rc_val v, const char *call)
{
    if (unlikely(v == RC_EMPTY)) {
        rc__fail(rc_heap_of(container), RC_EINVAL,
                 "%s: RC_EMPTY is not a value that can be stored", call);
        return false;
    }
    if (rc_is_obj(v)) {
        void *o = rc_as_obj(v);
        RC__CHECK(o, call);
        /* Always checked: a reference across heaps would let one heap's
         * collector free what another still uses. One load. */
        if (unlikely(rc_heap_of(o) != rc_heap_of(container)))
            return rc__foreign_ok(rc_heap_of(container), o, call, "");
    }
    return true;
}

/* rc_move's half of a dict (gcmodule/move.c), in two steps so that only
 * the first can fail: rc__dict_copy_alloc gives `to` (any bytes) empty
 * tables in h sized for `from`'s keys (false on out-of-memory, `to` then
 * empty); after the copies of the keys and values exist,
 * rc__dict_copy_fill writes `from`'s live entries into them, each key and
 * value passed through map(v, ctx), hashes the mapped keys (a key object
 * hashed by address has a new one) and builds the index.
 * rc__dict_tables_free gives a dict's tables back to h and leaves it
 * empty, touching no reference (a copy abandoned, or the original of a
 * copy). */
bool rc__dict_copy_alloc(rc_heap *h, const rc_dict_obj *from, rc_dict_obj *to);
void rc__dict_copy_fill(rc_dict_obj *to, const rc_dict_obj *from, rc_val (*map)(rc_val, void *),
                        void *ctx);
void rc__dict_tables_free(rc_heap *h, rc_dict_obj *to);

/* The str hash of raw bytes (str.c): what rc_str_hash caches, so a C string
 * can be looked up without building a str. Keyed (SipHash-1-3 under the
 * process's key). Never 0. */
static inline uint64_t rc__str_hash_bytes(const char *p, size_t len)
{
    uint64_t h = rc__hash_bytes(p, len);
    return h ? h : 1;
}

/* The hash of a str (rc_str_hash): the cached one for a long str (made and
 * kept on first use: the object is never really const, only this cache is
 * ever written), the bytes' hash for a short one. */
static inline uint64_t rc__str_hash(const rc_str_obj *s)
{
    if (s->len < RC__STR_HASHED) return rc__str_hash_bytes(s->data, s->len);
    char *slot = (char *)s + rc__str_hash_off(s->len);
    uint64_t h;
    memcpy(&h, slot, sizeof h);
    if (!h) {
        h = rc__str_hash_bytes(s->data, s->len);
        memcpy(slot, &h, sizeof h);
    }
    return h;
}

/* Whether two strs of the same length are known to differ by their cached
 * hashes (both long, both computed, not equal) without reading their bytes. */
static inline bool rc__str_hashes_differ(const rc_str_obj *a, const rc_str_obj *b)
{
    if (a->len < RC__STR_HASHED) return false;
    uint64_t x, y;
    memcpy(&x, (const char *)a + rc__str_hash_off(a->len), sizeof x);
    memcpy(&y, (const char *)b + rc__str_hash_off(b->len), sizeof y);
    return x && y && x != y;
}

/* The hash of an immediate value's bits: keyed, a bijection of the bits. */
static inline uint64_t rc__imm_hash(uint64_t bits)
{
    rc__hash_ready();
    return rc__mix64(bits ^ rc__hashkey.k0);
}

#endif
