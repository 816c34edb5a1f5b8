/*
 * weakdict.c -- the weak-valued dict (Python's WeakValueDictionary).
 *
 * An rc__wtab (weaktable.c) whose map keys are the user's keys, with
 * rc_dict's rules, each held strongly by its entry (the entry's `held`),
 * and whose entries are weak references to the values.
 */
#include "weakref/weakref.h"
#include "builtins/builtins.h"

struct rc_weakdict_obj {
    rc__wtab t;
};

const rc_type rc_weakdict_type = {
    .name = "weakdict",
    .size = sizeof(rc_weakdict),
    .traverse = rc__wtab_traverse,
    .clear = rc__wtab_clear,
};

rc_weakdict *rc_weakdict_new(rc_heap *heap)
{
    return rc__wtab_new(heap, &rc_weakdict_type, "rc_weakdict_new");
}

int rc_weakdict_set(rc_weakdict *d, rc_val key, void *value)
{
    rc__wtab *t = rc__wtab_of(d, &rc_weakdict_type, "rc_weakdict_set");
    if (!t) return -1;
    rc_heap *h = rc_heap_of(d);
    if (!value) {
        rc__fail(h, RC_EINVAL, "rc_weakdict_set: value is NULL");
        return -1;
    }
    if (!rc__storable(d, key, "rc_weakdict_set")) return -1;
    if (rc__weak_refuse_region(h, value, "rc_weakdict_set", "the value")) return -1;
    if (rc_heap_of(value) != h) {   /* the weak reference is made in value's heap */
        rc__fail(h, RC_EINVAL, "rc_weakdict_set: the value belongs to another heap");
        return -1;
    }
    return rc__wtab_put(t, key, value, RC_EMPTY, "rc_weakdict_set");
}

void *rc_weakdict_get(rc_weakdict *d, rc_val key)
{
    rc__wtab *t = rc__wtab_of(d, &rc_weakdict_type, "rc_weakdict_get");
    rc_weakref *w = t ? rc__wtab_find(t, key, NULL) : NULL;
    return w ? rc_weakref_get(w) : NULL;
}

int rc_weakdict_del(rc_weakdict *d, rc_val key)
{
    rc__wtab *t = rc__wtab_of(d, &rc_weakdict_type, "rc_weakdict_del");
    return t ? rc__wtab_del(t, key, "rc_weakdict_del") : -1;
}

size_t rc_weakdict_len(const rc_weakdict *d)
{
    const rc__wtab *t = rc__wtab_of(d, &rc_weakdict_type, "rc_weakdict_len");
    return t ? rc__wtab_len(t) : 0;
}

int rc_weakdict_next(rc_weakdict *d, size_t *pos, rc_val *key, void **value)
{
    if (!pos) return 0;
    rc__wtab *t = rc__wtab_of(d, &rc_weakdict_type, "rc_weakdict_next");
    rc_weakref *w = t ? rc__wtab_next(t, pos) : NULL;
    if (!w) return 0;
    if (key) *key = w->held;
    if (value) *value = rc_weakref_get(w);
    return 1;
}

void rc_weakdict_clear(rc_weakdict *d)
{
    rc__wtab *t = rc__wtab_of(d, &rc_weakdict_type, "rc_weakdict_clear");
    if (t) rc__wtab_clear_entries(t);
}
