/*
 * tuple.c -- the built-in tuple: a fixed number of rc_val stored inline.
 *
 * An rc_tuple_obj is its length followed by the items, in one block from
 * rc_new_var. Invariants:
 *   - items[0..len-1] each hold one reference when they are objects;
 *   - a zero-filled tuple (len 0) and one whose items are still RC_EMPTY
 *     (allocated, not yet filled) are both valid to traverse and to clear,
 *     since rc_val_decref ignores RC_EMPTY;
 *   - clear replaces each item by none before dropping it, so the length never
 *     changes and a cleared tuple reads back as all none.
 * Tuples are meant to be immutable once shared; rc_tuple_set exists to
 * fill one right after creating it (a tuple that refers to itself, or to a
 * container that refers back to it, can only be built that way).
 *
 * A tuple made from items that are all atoms (immediates, strs, ints: the
 * rows of a table) can be on no cycle, so rc_tuple_new leaves it
 * untracked, as CPython's collector untracks such tuples when it meets
 * them: it costs the collector nothing and starts no collection.
 * rc_tuple_set tracks the tuple again (generation 0) when it stores an
 * object that can hold references.
 */
#include "builtins/builtins.h"

#define TUPLE_MAX_LEN ((SIZE_MAX / 2 - sizeof(rc_tuple_obj)) / sizeof(rc_val))

/* ---- the type ----
 * No traverse callback: the library follows a tuple's items itself, by rc_kind
 * (util/edges.h). */

static void tuple_clear(void *obj)
{
    rc_tuple_obj *t = obj;
    for (size_t i = 0; i < t->len; i++) {
        rc_val v = t->items[i];
        if (rc_is_obj(v)) {
            t->items[i] = RC_NONE;
            rc_decref(rc_as_obj(v));
        }
    }
}

const rc_type rc_tuple_type = {
    .name = "tuple",
    .size = sizeof(rc_tuple_obj),
    .clear = tuple_clear,
    .rc_kind = RC_KIND_TUPLE,
};

/* The failure path of every built-in store (builtins.h). */
bool rc__foreign_ok(rc_heap *h, const void *o, const char *call, const char *what)
{
    const rc_head *c = RC_HEAD(o);
    if (rc__held_region_of(h, c)) return true;
    const char *tn = c->type && c->type->name ? c->type->name : "?";
    void *region = rc__region_of(c);
    if (region)
        rc__fail(h, RC_EINVAL, "%s: %sthe %s at %p is in the frozen region %p, which this heap "
                 "does not hold (rc_heap_hold_region)", call, what, tn, o, region);
    else
        rc__fail(h, RC_EINVAL, "%s: %sthe %s at %p belongs to another heap", call, what, tn, o);
    return false;
}

/* Whether `v` is an immediate or a str or int object: an atom of the
 * library's, which holds no reference. */
static inline bool is_atom(rc_val v)
{
    if (!rc_is_obj(v)) return true;
    const rc_type *t = rc_typeof(rc_as_obj(v));
    return t == &rc_str_type || t == &rc_int_type;
}

/* Whether storing `v` could put a tuple on a cycle: an object that can hold
 * references. */
static inline bool may_refer(rc_val v)
{
    return rc_is_obj(v) && rc__type_refs(rc_typeof(rc_as_obj(v)));
}

/* ---- the API ---- */

rc_tuple *rc_tuple_new(rc_heap *heap, size_t n, const rc_val *items)
{
    if (!heap) return NULL;
    if (n > TUPLE_MAX_LEN)
        return rc__fail(heap, RC_EINVAL, "rc_tuple_new: %zu items is too many", n);
    if (items) {
        for (size_t i = 0; i < n; i++) {
            if (items[i] == RC_EMPTY)
                return rc__fail(heap, RC_EINVAL, "rc_tuple_new: item %zu is RC_EMPTY", i);
            if (rc_is_obj(items[i]) && rc_heap_of(rc_as_obj(items[i])) != heap) {
                char what[32];
                snprintf(what, sizeof what, "item %zu: ", i);
                if (!rc__foreign_ok(heap, rc_as_obj(items[i]), "rc_tuple_new", what)) return NULL;
            }
        }
    }
    /* The items' references are taken before the allocation: it may
     * collect, running code that drops the caller's last reference to an
     * item. They become the tuple's, or go back when it cannot be made.
     * Nothing allocates between the allocation and the filling, so no
     * collection sees the tuple half-built. */
    bool atoms = items && n;
    for (size_t i = 0; items && i < n; i++) {
        rc_val_incref(items[i]);
        atoms &= is_atom(items[i]);
    }
    rc_tuple_obj *t = rc_new_var(heap, &rc_tuple_type, n * sizeof(rc_val));
    if (!t) {   /* rc_new_var recorded why */
        for (size_t i = 0; items && i < n; i++) rc_val_decref(items[i]);
        return NULL;
    }
    t->len = n;
    if (items) {
        if (n) memcpy(t->items, items, n * sizeof(rc_val));
    } else {
        for (size_t i = 0; i < n; i++) t->items[i] = RC_NONE;
    }
    rc_head *o = RC_HEAD(t);
    if (atoms && (o->gc & RC__TRACKED)) {   /* on no cycle: off the collector's books */
        rc__uncount(heap, o);
        o->gc &= ~(RC__TRACKED | RC__GEN_MASK);
    }
    return t;
}

size_t rc_tuple_len(const rc_tuple *tuple)
{
    if (!rc__is_a(tuple, &rc_tuple_type, "rc_tuple_len")) return 0;
    return tuple->len;
}

rc_val rc_tuple_get(const rc_tuple *tuple, size_t i)
{
    if (!rc__is_a(tuple, &rc_tuple_type, "rc_tuple_get")) return RC_EMPTY;
    if (unlikely(i >= tuple->len)) {
        rc__fail(rc_heap_of(tuple), RC_ERANGE, "rc_tuple_get: index %zu out of range (len %zu)", i,
                 tuple->len);
        return RC_EMPTY;
    }
    return tuple->items[i];
}

int rc_tuple_set(rc_tuple *tuple, size_t i, rc_val v)
{
    if (!rc__is_a(tuple, &rc_tuple_type, "rc_tuple_set")) return -1;
    if (!rc__storable(tuple, v, "rc_tuple_set")) return -1;
    if (unlikely(i >= tuple->len)) {
        rc__fail(rc_heap_of(tuple), RC_ERANGE, "rc_tuple_set: index %zu out of range (len %zu)",
                 i, tuple->len);
        return -1;
    }
    rc_head *o = RC_HEAD(tuple);
    if (!(o->gc & RC__TRACKED) && may_refer(v)) {
        rc_heap *h = rc_heap_of(tuple);
        if (h->scanning) {
            rc__fail(h, RC_EBUSY, "rc_tuple_set: refused during a collection's scan");
            return -1;
        }
        if (!rc__retrack(h, o)) {
            rc__fail(h, RC_ENOMEM, "rc_tuple_set: out of memory for the young page list");
            return -1;
        }
    }
    rc_val old = tuple->items[i];
    rc_val_incref(v);
    tuple->items[i] = v;
    rc_val_decref(old);
    return 0;
}

const rc_val *rc_tuple_items(const rc_tuple *tuple, size_t *len)
{
    if (!rc__is_a(tuple, &rc_tuple_type, "rc_tuple_items")) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = tuple->len;
    return tuple->items;
}
