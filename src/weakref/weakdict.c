/*
 * weakdict.c -- the weak-valued dict.
 *
 * An rc_weakdict holds an ordinary rc_dict `map` from each key to a keyed
 * weak reference to the value, whose callback `entry_died` removes the
 * entry. So the key rules, iteration order and costs are rc_dict's, and the
 * collector sees the keys through map -> weak reference -> key.
 *
 * A keyed weak reference finds its dict through `self`, a weak reference to
 * the dict that the dict and every keyed weak reference hold: the dict may
 * die -- by refcount, or in a collection whose clearing order is anyone's --
 * while a keyed weak reference lives on (anyone can get one from
 * rc_weakref_list or rc_gc_get_objects). Once the dict is gone `self` is
 * cleared and the callback does nothing. (Python's WeakValueDictionary does
 * the same with a weak reference in its callback's closure.)
 *
 * Dead entries: a keyed weak reference can be cleared some time before its
 * callback removes its entry (a collection clears all weak references to
 * garbage before it calls any back). At the moment of clearing weakref.c
 * calls rc__weakdict_note_dead, which counts the entry in `dead` and flags
 * the weak reference COUNTED; whoever removes such an entry first (the
 * callback, set, del, clear) uncounts it. So len is map's length minus dead,
 * in O(1), and get / next treat a cleared weak reference as a missing entry.
 *
 * Invariants, while the dict lives:
 *   - every value of map is a weak reference w flagged KEYED, with w->held
 *     the key, w->data == self (owned), w->cb == entry_died;
 *   - dead == the number of values of map flagged COUNTED.
 */
#include "weakref/weakref.h"
#include "builtins/builtins.h"

struct rc_weakdict_obj {
    rc_dict *map;          /* key -> keyed weak reference; NULL once cleared */
    rc_weakref *self;      /* a weak reference to this dict */
    size_t dead;           /* entries of map whose weak reference is cleared */
};

static void entry_died(rc_weakref *w, void *data);

/* ---- the type ---- */

static void wd_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    rc_weakdict *d = obj;
    visit(d->map, arg);
    visit(d->self, arg);
}

static void wd_clear(void *obj)
{
    rc_weakdict *d = obj;
    rc_dict *map = d->map;
    rc_weakref *self = d->self;
    d->map = NULL;
    d->self = NULL;
    d->dead = 0;
    if (map) rc_decref(map);
    if (self) rc_decref(self);
}

const rc_type rc_weakdict_type = {
    .name = "weakdict",
    .size = sizeof(rc_weakdict),
    .traverse = wd_traverse,
    .clear = wd_clear,
};

/* ---- dead entries ---- */

/* The dict of keyed `w`, or NULL once it died. No reference taken. */
static rc_weakdict *dict_of(const rc_weakref *w)
{
    const rc_weakref *self = w->data;
    if (!(w->flags & RC_WR_KEYED) || !self || !self->referent) return NULL;
    return RC__USER(self->referent);
}

void rc__weakdict_note_dead(rc_weakref *w)
{
    rc_weakdict *d = dict_of(w);
    if (!d || !d->map || (w->flags & RC_WR_COUNTED)) return;
    w->flags |= RC_WR_COUNTED;
    d->dead++;
}

/* `w` leaves map (or is about to): uncount it if it was counted dead, and
 * disarm it: it stands for no entry any more (it may live on, on a callback
 * chain or in the hands of whoever asked rc_weakref_list). */
static void forget(rc_weakdict *d, rc_weakref *w)
{
    if (w->flags & RC_WR_COUNTED) d->dead--;
    w->flags &= ~(uint32_t)(RC_WR_COUNTED | RC_WR_KEYED);
    w->cb = NULL;
}

/* The value of an entry has died: remove the entry if it is still this one. */
static void entry_died(rc_weakref *w, void *data)
{
    rc_weakdict *d = rc_weakref_get(data);   /* data is the dict's self */
    if (!d) return;
    if (d->map) {
        rc_val key = w->held;   /* w holds it until after this call */
        bool mine = rc_dict_get(d->map, key) == rc_obj(w);
        forget(d, w);
        if (mine) rc_dict_del(d->map, key);   /* the callback chain holds w */
    }
    rc_decref(d);
}

/* ---- the API ---- */

static bool is_weakdict(const rc_weakdict *d, const char *call)
{
    if (!rc__is_a(d, &rc_weakdict_type, call)) return false;
    if (!d->map) {
        rc__fail(rc_heap_of(d), RC_EINVAL, "%s: the weakdict has been cleared by the collector", call);
        return false;
    }
    return true;
}

rc_weakdict *rc_weakdict_new(rc_heap *heap)
{
    if (!heap) return NULL;
    rc_weakdict *d = rc_new(heap, &rc_weakdict_type);
    if (!d) return NULL;
    d->map = rc_dict_new(heap);
    d->self = d->map ? rc_weakref_new(d, NULL, NULL) : NULL;
    if (!d->self) {
        rc_decref(d);
        return rc__fail(heap, RC_ENOMEM, "rc_weakdict_new: out of memory");
    }
    return d;
}

int rc_weakdict_set(rc_weakdict *d, rc_val key, void *value)
{
    if (!is_weakdict(d, "rc_weakdict_set")) return -1;
    rc_heap *h = rc_heap_of(d);
    if (!value) {
        rc__fail(h, RC_EINVAL, "rc_weakdict_set: value is NULL");
        return -1;
    }
    if (!rc__storable(d, key, "rc_weakdict_set")) return -1;
    if (rc_heap_of(value) != h) {   /* the weak reference is made in value's heap */
        rc__fail(h, RC_EINVAL, "rc_weakdict_set: the value belongs to another heap");
        return -1;
    }
    rc_weakref *w = rc__weakref_make(value, NULL, entry_died, d->self, key,
                                     RC_WR_KEYED | RC_WR_OWNS_DATA, "rc_weakdict_set");
    if (!w) return -1;
    /* rc__weakref_make may have collected: look at the old entry only now.
     * Replacing a value allocates nothing and cannot fail, so the old weak
     * reference can be disarmed first (after, it may be freed). */
    rc_weakref *ow = rc_as_obj(rc_dict_get(d->map, key));
    if (ow) forget(d, ow);
    if (rc_dict_set(d->map, key, rc_obj(w)) != 0) {
        rc_decref(w);
        return -1;
    }
    rc_decref(w);   /* map holds it */
    return 0;
}

void *rc_weakdict_get(rc_weakdict *d, rc_val key)
{
    if (!is_weakdict(d, "rc_weakdict_get")) return NULL;
    rc_val v = rc_dict_get(d->map, key);
    if (v == RC_EMPTY) return NULL;
    return rc_weakref_get(rc_as_obj(v));
}

int rc_weakdict_del(rc_weakdict *d, rc_val key)
{
    if (!is_weakdict(d, "rc_weakdict_del")) return -1;
    rc_val v = rc_dict_get(d->map, key);
    if (v == RC_EMPTY) {
        rc__fail(rc_heap_of(d), RC_ENOTFOUND, "rc_weakdict_del: key not found");
        return -1;
    }
    rc_weakref *w = rc_as_obj(v);
    bool alive = w->referent != NULL;
    forget(d, w);
    rc_dict_del(d->map, key);
    if (!alive) {
        rc__fail(rc_heap_of(d), RC_ENOTFOUND, "rc_weakdict_del: the value of that key has died");
        return -1;
    }
    return 0;
}

size_t rc_weakdict_len(const rc_weakdict *d)
{
    if (!is_weakdict(d, "rc_weakdict_len")) return 0;
    return rc_dict_len(d->map) - d->dead;
}

int rc_weakdict_next(rc_weakdict *d, size_t *pos, rc_val *key, void **value)
{
    if (!pos || !is_weakdict(d, "rc_weakdict_next")) return 0;
    rc_val k, v;
    while (rc_dict_next(d->map, pos, &k, &v)) {
        void *obj = rc_weakref_get(rc_as_obj(v));
        if (!obj) continue;
        if (key) *key = k;
        if (value) *value = obj; else rc_decref(obj);
        return 1;
    }
    return 0;
}

void rc_weakdict_clear(rc_weakdict *d)
{
    if (!is_weakdict(d, "rc_weakdict_clear")) return;
    size_t pos = 0;
    rc_val v;
    while (rc_dict_next(d->map, &pos, NULL, &v)) forget(d, rc_as_obj(v));
    rc_dict_clear(d->map);
}
