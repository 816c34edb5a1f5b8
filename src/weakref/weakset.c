/*
 * weakset.c -- the weak set (Python's WeakSet).
 *
 * An rc__wtab (weaktable.c) whose map keys are rc__wtab_idkey of the items
 * (identity, as rc_weakkeydict) and whose entries are weak references to
 * the items, carrying nothing else.
 */
#include "weakref/weakref.h"
#include "builtins/builtins.h"

struct rc_weakset_obj {
    rc__wtab t;
};

const rc_type rc_weakset_type = {
    .name = "weakset",
    .size = sizeof(rc_weakset),
    .traverse = rc__wtab_traverse,
    .clear = rc__wtab_clear,
};

rc_weakset *rc_weakset_new(rc_heap *heap)
{
    return rc__wtab_new(heap, &rc_weakset_type, "rc_weakset_new");
}

int rc_weakset_add(rc_weakset *s, rc_val item)
{
    rc__wtab *t = rc__wtab_of(s, &rc_weakset_type, "rc_weakset_add");
    void *obj = t ? rc__wtab_key_object(t, item, "rc_weakset_add") : NULL;
    if (!obj) return -1;
    return rc__wtab_put(t, rc__wtab_idkey(obj), obj, RC_EMPTY, "rc_weakset_add");
}

/* The live entry of `item` in `t`, or NULL (an immediate is never in it). */
static rc_weakref *entry(const rc__wtab *t, rc_val item)
{
    void *obj = rc_as_obj(item);
    return obj ? rc__wtab_find(t, rc__wtab_idkey(obj), obj) : NULL;
}

int rc_weakset_discard(rc_weakset *s, rc_val item)
{
    rc__wtab *t = rc__wtab_of(s, &rc_weakset_type, "rc_weakset_discard");
    if (!t) return -1;
    if (!entry(t, item)) return 0;
    return rc__wtab_del(t, rc__wtab_idkey(rc_as_obj(item)), "rc_weakset_discard") == 0;
}

int rc_weakset_contains(const rc_weakset *s, rc_val item)
{
    const rc__wtab *t = rc__wtab_of(s, &rc_weakset_type, "rc_weakset_contains");
    if (!t) return -1;
    return entry(t, item) != NULL;
}

size_t rc_weakset_len(const rc_weakset *s)
{
    const rc__wtab *t = rc__wtab_of(s, &rc_weakset_type, "rc_weakset_len");
    return t ? rc__wtab_len(t) : 0;
}

int rc_weakset_next(rc_weakset *s, size_t *pos, void **item)
{
    if (!pos) return 0;
    rc__wtab *t = rc__wtab_of(s, &rc_weakset_type, "rc_weakset_next");
    rc_weakref *w = t ? rc__wtab_next(t, pos) : NULL;
    if (!w) return 0;
    void *obj = rc_weakref_get(w);
    if (item) *item = obj; else rc_decref(obj);
    return 1;
}

void rc_weakset_clear(rc_weakset *s)
{
    rc__wtab *t = rc__wtab_of(s, &rc_weakset_type, "rc_weakset_clear");
    if (t) rc__wtab_clear_entries(t);
}
