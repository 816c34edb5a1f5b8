/*
 * weaktable.c -- the table every weak container is built on (rc__wtab,
 * weakref.h): rc_weakdict, rc_weakkeydict and rc_weakset.
 *
 * A table holds an ordinary rc_dict `map` from each map key to its entry, a
 * keyed weak reference to the object held weakly, whose callback
 * `entry_died` removes the entry. So iteration order and costs are
 * rc_dict's, and the collector sees what entries hold strongly (a weakdict's
 * keys, a weak-keyed dict's values) through map -> entry.
 *
 * An entry finds its container through `self`, a weak reference to the
 * container that the container and every entry hold: the container may die
 * -- by refcount, or in a collection whose clearing order is anyone's --
 * while an entry lives on (anyone can get one from rc_weakref_list or
 * rc_gc_get_objects). Once the container is gone `self` is cleared and the
 * callback does nothing. (Python's weak containers do the same with a weak
 * reference in their callback's closure.)
 *
 * Dead entries: an entry can be cleared some time before its callback
 * removes it (a collection clears all weak references to garbage before it
 * calls any back; an entry made for garbage during a collection is cleared
 * with the weak references made then, which call no user callback, but
 * weakref.c's run_chain still runs entry_died). At the moment of clearing
 * weakref.c calls rc__wtab_note_dead, which counts the entry in `dead` and
 * flags the weak reference COUNTED; whoever removes such an entry first (the callback,
 * put, del, clear) uncounts it. So len is map's length minus dead, in
 * O(1), and find / next treat a cleared entry as a missing one. A dead entry
 * of an identity key stays harmless when its address is reused: find checks
 * the referent, and put replaces it.
 *
 * Invariants, while the container lives:
 *   - every value of map is a weak reference w flagged KEYED, with w->held
 *     its map key, w->data == self (owned), w->cb == entry_died;
 *   - dead == the number of values of map flagged COUNTED.
 */
#include "weakref/weakref.h"
#include "builtins/builtins.h"

/* ---- the value an entry may carry (a weak-keyed dict's) ---- */

typedef struct wvalue {
    rc_val value;
} wvalue;

static void wvalue_traverse(void *ext, rc_visit_fn visit, void *arg)
{
    rc_val_visit(((wvalue *)ext)->value, visit, arg);
}

static void wvalue_clear(void *ext)
{
    wvalue *e = ext;
    rc_val v = e->value;
    e->value = RC_EMPTY;
    rc_val_decref(v);
}

static const rc_type wvalue_type = {
    .name = "weakkeydict entry",
    .size = sizeof(wvalue),
    .traverse = wvalue_traverse,
    .clear = wvalue_clear,
};

rc_val *rc__wtab_value(rc_weakref *w)
{
    return &((wvalue *)rc__weakref_ext_at(w))->value;
}

/* ---- the type ---- */

void rc__wtab_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    rc__wtab *t = obj;
    visit(t->map, arg);
    visit(t->self, arg);
}

void rc__wtab_clear(void *obj)
{
    rc__wtab *t = obj;
    rc_dict *map = t->map;
    rc_weakref *self = t->self;
    t->map = NULL;
    t->self = NULL;
    t->dead = 0;
    if (map) rc_decref(map);
    if (self) rc_decref(self);
}

void *rc__wtab_new(rc_heap *h, const rc_type *type, const char *call)
{
    if (!h) return NULL;
    rc__wtab *t = rc_new(h, type);
    if (!t) return NULL;
    t->map = rc_dict_new(h);
    t->self = t->map ? rc_weakref_new(t, NULL, NULL) : NULL;
    if (!t->self) {
        rc_decref(t);
        return rc__fail(h, RC_ENOMEM, "%s: out of memory", call);
    }
    return t;
}

rc__wtab *rc__wtab_of(const void *c, const rc_type *type, const char *call)
{
    if (!rc__is_a(c, type, call)) return NULL;
    rc__wtab *t = (rc__wtab *)c;
    if (!t->map) {
        rc__fail(rc_heap_of(c), RC_EINVAL, "%s: the %s has been cleared by the collector", call,
                 type->name);
        return NULL;
    }
    return t;
}

void *rc__wtab_key_object(const rc__wtab *t, rc_val key, const char *call)
{
    rc_heap *h = rc_heap_of(t);
    if (!rc_is_obj(key)) {
        rc__fail(h, RC_EINVAL, "%s: %s", call,
                 key == RC_EMPTY ? "RC_EMPTY is not a key"
                                 : "an immediate (int, float, bool, none) cannot be held weakly");
        return NULL;
    }
    void *obj = rc_as_obj(key);
    if (rc__weak_refuse_region(h, obj, call, "the key")) return NULL;
    if (rc_heap_of(obj) != h) {   /* the weak reference would live in the other heap */
        rc__fail(h, RC_EINVAL, "%s: the key belongs to another heap", call);
        return NULL;
    }
    return obj;
}

/* ---- entries ---- */

/* The container of entry `w`, or NULL once it died. No reference taken. */
static rc__wtab *table_of(const rc_weakref *w)
{
    const rc_weakref *self = w->data;
    if (!(w->flags & RC_WR_KEYED) || !self || !self->referent) return NULL;
    return RC__USER(self->referent);
}

void rc__wtab_note_dead(rc_weakref *w)
{
    rc__wtab *t = table_of(w);
    if (!t || !t->map || (w->flags & RC_WR_COUNTED)) return;
    w->flags |= RC_WR_COUNTED;
    t->dead++;
}

/* `w` leaves map (or is about to): uncount it if it was counted dead, and
 * disarm it: it stands for no entry any more (it may live on, on a callback
 * chain or in the hands of whoever asked rc_weakref_list). */
static void forget(rc__wtab *t, rc_weakref *w)
{
    if (w->flags & RC_WR_COUNTED) t->dead--;
    w->flags &= ~(uint32_t)(RC_WR_COUNTED | RC_WR_KEYED);
    w->cb = NULL;
}

/* The referent of an entry has died: remove the entry if it is still this one. */
static void entry_died(rc_weakref *w, void *data)
{
    rc__wtab *t = rc_weakref_get(data);   /* data is the container's self */
    if (!t) return;
    if (t->map) {
        rc_val key = w->held;   /* w holds it until after this call */
        bool mine = rc_dict_get(t->map, key) == rc_obj(w);
        forget(t, w);
        if (mine) rc_dict_del(t->map, key);   /* the callback chain holds w */
    }
    rc_decref(t);
}

rc_weakref *rc__wtab_find(const rc__wtab *t, rc_val mkey, const void *referent)
{
    rc_weakref *w = rc_as_obj(rc_dict_get(t->map, mkey));
    if (!w || !rc_weakref_alive(w)) return NULL;
    if (referent && w->referent != RC_HEAD(referent)) return NULL;
    return w;
}

int rc__wtab_put(rc__wtab *t, rc_val mkey, void *referent, rc_val value, const char *call)
{
    rc_weakref *w = rc__wtab_find(t, mkey, referent);
    if (w) {   /* the same object again: keep its weak reference */
        if (value != RC_EMPTY) {
            rc_val *slot = rc__wtab_value(w), old = *slot;
            rc_val_incref(value);
            *slot = value;
            rc_val_decref(old);   /* last: may run code */
        }
        return 0;
    }
    /* rc__weakref_make may collect, running code that drops the caller's
     * last reference to the table or to the value: both are held across it
     * (the key and the referent are held by rc__weakref_make), the value's
     * reference becoming the entry's. */
    rc_incref(t);
    rc_val_incref(value);
    w = rc__weakref_make(referent, value != RC_EMPTY ? &wvalue_type : NULL, entry_died, t->self,
                         mkey, RC_WR_KEYED | RC_WR_OWNS_DATA, call);
    if (!w) {
        rc_val_decref(value);
        rc_decref(t);
        return -1;
    }
    if (value != RC_EMPTY) *rc__wtab_value(w) = value;
    /* rc__weakref_make may have collected: look at the old entry only now.
     * Replacing a value allocates nothing and cannot fail, so the old weak
     * reference can be disarmed first (after, it may be freed). */
    rc_weakref *ow = rc_as_obj(rc_dict_get(t->map, mkey));
    if (ow) forget(t, ow);
    int status = rc_dict_set(t->map, mkey, rc_obj(w)) == 0 ? 0 : -1;
    rc_decref(w);          /* the map holds it, or it dies */
    rc_decref(referent);   /* rc__weakref_make's hold: may end the entry */
    rc_decref(t);
    return status;
}

int rc__wtab_del(rc__wtab *t, rc_val mkey, const char *call)
{
    rc_val v = rc_dict_get(t->map, mkey);
    if (v == RC_EMPTY) {
        rc__fail(rc_heap_of(t), RC_ENOTFOUND, "%s: key not found", call);
        return -1;
    }
    rc_weakref *w = rc_as_obj(v);
    bool alive = w->referent != NULL;
    forget(t, w);
    rc_dict_del(t->map, mkey);
    if (!alive) {
        rc__fail(rc_heap_of(t), RC_ENOTFOUND, "%s: the entry of that key has died", call);
        return -1;
    }
    return 0;
}

rc_weakref *rc__wtab_next(const rc__wtab *t, size_t *pos)
{
    rc_val v;
    while (rc_dict_next(t->map, pos, NULL, &v)) {
        rc_weakref *w = rc_as_obj(v);
        if (rc_weakref_alive(w)) return w;
    }
    return NULL;
}

void rc__wtab_clear_entries(rc__wtab *t)
{
    size_t pos = 0;
    rc_val v;
    while (rc_dict_next(t->map, &pos, NULL, &v)) forget(t, rc_as_obj(v));
    rc_dict_clear(t->map);
}
