/*
 * weakdict.c -- the weak-valued dict.
 *
 * An rc_weakdict holds an ordinary rc_dict `map` from each key to a keyed
 * weak reference to the value: a weak reference whose held value is the key
 * and whose data is the weakdict, with callback `entry_died`. So the key
 * rules, iteration order and costs are rc_dict's, and the collector sees the
 * keys through map -> weak reference -> key.
 *
 * Dead entries: a keyed weak reference can be cleared some time before its
 * callback removes its entry (a collection clears all weak references to
 * garbage before it calls any back). At the moment of clearing weakref.c
 * calls rc__weakdict_note_dead, which counts the entry in `dead` and flags
 * the weak reference COUNTED; whoever removes such an entry first (the
 * callback, set, del, clear) uncounts it. So len is map's length minus dead,
 * in O(1), and get / next treat a cleared weak reference as a missing entry.
 *
 * Invariants:
 *   - every value of map is a keyed weak reference w with w->data == this
 *     dict and w->cb == entry_died, until clear detaches them;
 *   - dead == the number of values of map flagged COUNTED.
 * When the weakdict dies its clear disarms every weak reference (cb and data
 * NULL) before dropping map, so no callback can reach a freed weakdict even
 * if some weak reference outlives it on a callback chain.
 */
#include "weakref_priv.h"
#include "builtins_priv.h"

struct rc_weakdict_obj {
    rc_dict *map;          /* key -> keyed weak reference; NULL once cleared */
    size_t dead;           /* entries of map whose weak reference is cleared */
};

static void entry_died(rc_weakref *w, void *data);

/* ---- the type ---- */

static void wd_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    rc_weakdict *d = obj;
    visit(d->map, arg);
}

/* Disarm the weak references of map, so that none calls back into `d`. */
static void disarm(rc_weakdict *d)
{
    size_t pos = 0;
    rc_val v;
    if (!d->map) return;
    while (rc_dict_next(d->map, &pos, NULL, &v)) {
        rc_weakref *w = rc_as_obj(v);
        w->cb = NULL;
        w->data = NULL;
        w->flags &= ~(uint32_t)(RC_WR_KEYED | RC_WR_COUNTED);
    }
    d->dead = 0;
}

static void wd_clear(void *obj)
{
    rc_weakdict *d = obj;
    rc_dict *map = d->map;
    disarm(d);
    d->map = NULL;
    if (map) rc_decref(map);
}

const rc_type rc_weakdict_type = {
    .name = "weakdict",
    .size = sizeof(rc_weakdict),
    .traverse = wd_traverse,
    .clear = wd_clear,
};

/* ---- dead entries ---- */

void rc__weakdict_note_dead(rc_weakref *w)
{
    rc_weakdict *d = w->data;
    if (!d || (w->flags & RC_WR_COUNTED)) return;
    w->flags |= RC_WR_COUNTED;
    d->dead++;
}

/* `w` leaves map (or is about to): uncount it if it was counted dead, and
 * detach it from `d` for good -- a caller of rc_weakref_list may hold it and
 * outlive both the entry and the dict. */
static void forget(rc_weakdict *d, rc_weakref *w)
{
    if (w->flags & RC_WR_COUNTED) d->dead--;
    w->flags &= ~(uint32_t)(RC_WR_KEYED | RC_WR_COUNTED);
    w->cb = NULL;
    w->data = NULL;
}

/* The value of an entry has died: remove the entry if it is still this one. */
static void entry_died(rc_weakref *w, void *data)
{
    rc_weakdict *d = data;
    if (!d || !d->map) return;
    rc_val key = w->held;
    if (rc_dict_get(d->map, key) == rc_obj(w)) {
        forget(d, w);
        rc_dict_del(d->map, key);   /* drops map's reference to w: the chain holds one */
    } else {
        forget(d, w);
    }
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
    rc_dict *map = rc_dict_new(heap);
    if (!map) return NULL;
    rc_weakdict *d = rc_new(heap, &rc_weakdict_type);
    if (!d) {
        rc_decref(map);
        return NULL;
    }
    d->map = map;
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
    if (!rc__storable(d, key, "rc_weakdict_set") || !rc__storable(d, rc_obj(value), "rc_weakdict_set"))
        return -1;
    rc_weakref *w = rc__weakref_make(value, entry_died, d, key, RC_WR_KEYED, "rc_weakdict_set");
    if (!w) return -1;
    /* rc__weakref_make may have collected: look at the old entry only now. */
    rc_val old = rc_dict_get(d->map, key);
    rc_weakref *ow = rc_as_obj(old);
    if (rc_dict_set(d->map, key, rc_obj(w)) != 0) {
        rc_decref(w);
        return -1;
    }
    if (ow) forget(d, ow);   /* map dropped it; it may live on a callback chain */
    rc_decref(w);             /* map holds it */
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
    disarm(d);
    rc_dict_clear(d->map);
}
