/*
 * weakkeydict.c -- the weak-keyed dict (Python's WeakKeyDictionary).
 *
 * An rc__wtab (weaktable.c) whose map keys are rc__wtab_idkey of the key
 * objects (identity, see recycle/weakref.h for why), whose entries are weak
 * references to the keys, each carrying its value (rc__wtab_value).
 */
#include "weakref/weakref.h"
#include "builtins/builtins.h"

struct rc_weakkeydict_obj {
    rc__wtab t;
};

const rc_type rc_weakkeydict_type = {
    .name = "weakkeydict",
    .size = sizeof(rc_weakkeydict),
    .traverse = rc__wtab_traverse,
    .clear = rc__wtab_clear,
};

rc_weakkeydict *rc_weakkeydict_new(rc_heap *heap)
{
    return rc__wtab_new(heap, &rc_weakkeydict_type, "rc_weakkeydict_new");
}

int rc_weakkeydict_set(rc_weakkeydict *d, rc_val key, rc_val value)
{
    rc__wtab *t = rc__wtab_of(d, &rc_weakkeydict_type, "rc_weakkeydict_set");
    if (!t) return -1;
    void *obj = rc__wtab_key_object(t, key, "rc_weakkeydict_set");
    if (!obj || !rc__storable(d, value, "rc_weakkeydict_set")) return -1;
    return rc__wtab_put(t, rc__wtab_idkey(obj), obj, value, "rc_weakkeydict_set");
}

int rc_weakkeydict_get(rc_weakkeydict *d, rc_val key, rc_val *value)
{
    rc__wtab *t = rc__wtab_of(d, &rc_weakkeydict_type, "rc_weakkeydict_get");
    if (!t) return -1;
    void *obj = rc_as_obj(key);
    rc_weakref *w = obj ? rc__wtab_find(t, rc__wtab_idkey(obj), obj) : NULL;
    if (!w) return 0;
    if (value) *value = *rc__wtab_value(w);
    return 1;
}

int rc_weakkeydict_del(rc_weakkeydict *d, rc_val key)
{
    rc__wtab *t = rc__wtab_of(d, &rc_weakkeydict_type, "rc_weakkeydict_del");
    if (!t) return -1;
    void *obj = rc_as_obj(key);
    if (!obj || !rc__wtab_find(t, rc__wtab_idkey(obj), obj)) {
        rc__fail(rc_heap_of(d), RC_ENOTFOUND, "rc_weakkeydict_del: key not found");
        return -1;
    }
    return rc__wtab_del(t, rc__wtab_idkey(obj), "rc_weakkeydict_del");
}

size_t rc_weakkeydict_len(const rc_weakkeydict *d)
{
    const rc__wtab *t = rc__wtab_of(d, &rc_weakkeydict_type, "rc_weakkeydict_len");
    return t ? rc__wtab_len(t) : 0;
}

int rc_weakkeydict_next(rc_weakkeydict *d, size_t *pos, void **key, rc_val *value)
{
    if (!pos) return 0;
    rc__wtab *t = rc__wtab_of(d, &rc_weakkeydict_type, "rc_weakkeydict_next");
    rc_weakref *w = t ? rc__wtab_next(t, pos) : NULL;
    if (!w) return 0;
    if (value) *value = *rc__wtab_value(w);
    void *k = rc_weakref_get(w);
    if (key) *key = k; else rc_decref(k);
    return 1;
}

void rc_weakkeydict_clear(rc_weakkeydict *d)
{
    rc__wtab *t = rc__wtab_of(d, &rc_weakkeydict_type, "rc_weakkeydict_clear");
    if (t) rc__wtab_clear_entries(t);
}
