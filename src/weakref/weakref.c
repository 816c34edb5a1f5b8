/*
 * weakref.c -- weak references and the books that find them.
 *
 * The books (rc__weakbooks(heap), weakref.h: part of the struct rc_heap_new
 * makes) are a pointer map (util/pmap.h: open addressing, backward-shift
 * deletion) from a referent's header to the newest weak reference that
 * points at it; the weak references of one referent form a doubly-linked
 * list through their prev/next fields, newest first. Invariants, outside the
 * moments when this file runs:
 *   - o->gc has RC__WEAKREFS  <=>  o is a key of the map  <=>  its list is
 *     not empty;
 *   - w->referent != NULL  <=>  w is on the list of w->referent;
 *   - a cleared weak reference is never linked again.
 *
 * Clearing never runs user code: clearing detaches a whole list, sets each
 * referent to NULL, and threads the weak references that need their callback
 * (or must drop what they own) on a private chain through `next`, each
 * held by one reference. Only then does run_chain call back, one weak
 * reference at a time. So a callback that frees, allocates or creates weak
 * references meets consistent books, and no weak reference on the chain can
 * die under it.
 *
 * A weak reference that starts dying unlinks itself in its finalizer -- the
 * first thing rc__dealloc runs, before the object waits on the pending list
 * (whose link overwrites its header). Being on a list while pending would
 * let the death of its referent touch a block in the middle of being freed.
 */
#include "weakref/weakref.h"
#include "builtins/builtins.h"

#include <stdlib.h>

/* ---- the books ---- */

static inline rc_weakbooks *books(rc_heap *h)
{
    return rc__weakbooks(h);
}

/* Where the newest weak reference to `o` is kept, or NULL. */
static inline rc_weakref **find(rc_weakbooks *b, const rc_head *o)
{
    return rc__pmap_get(&b->map, o);
}

/* Take `w` (live) off its referent's list; the referent loses its flag with
 * its last weak reference. w->referent is left as it was. */
static void unlink_weakref(rc_heap *h, rc_weakref *w)
{
    rc_head *o = w->referent;
    if (w->prev) {
        w->prev->next = w->next;
    } else {
        rc_weakref **s = find(books(h), o);
        rc_assert(s && *s == w);
        if (w->next) {
            *s = w->next;
        } else {
            rc__pmap_del(&books(h)->map, o);
            o->gc &= ~RC__WEAKREFS;
        }
    }
    if (w->next) w->next->prev = w->prev;
    w->prev = w->next = NULL;
}

/* Clear `w` (taken off its list already): it no longer refers to anything. */
static inline void mark_cleared(rc_weakref *w)
{
    w->referent = NULL;
    if (w->flags & RC_WR_KEYED) rc__wtab_note_dead(w);
}

void rc__weakref_kill(rc_weakref *w)
{
    if (!w->referent) return;
    unlink_weakref(rc_heap_of(w), w);
    mark_cleared(w);
}

/* ---- callbacks ---- */

/* Let go of what `w` owns, and forget its data. */
static void drop_owned(rc_weakref *w)
{
    rc_val held = w->held;
    void *data = (w->flags & RC_WR_OWNS_DATA) ? w->data : NULL;
    w->held = RC_EMPTY;
    w->data = NULL;
    w->flags &= ~(uint32_t)RC_WR_OWNS_DATA;
    rc_val_decref(held);   /* last: either may run code that looks at w */
    rc_xdecref(data);
}

typedef struct chain {
    rc_weakref *first, *last;
} chain;

/* Clear every weak reference to `o` and thread onto `c` those that have a
 * callback or own something, except those flagged INSET: outside a scan only
 * garbage a collection is deleting carries that flag, and a weak reference
 * in the garbage never calls back -- even if the collector had no reason to
 * call the on_unreachable hook (no garbage object had weak references)
 * and the clearing of the garbage frees this referent by refcount.
 * No user code runs. */
static void clear_all(rc_heap *h, rc_head *o, chain *c)
{
    rc_weakref **s = find(books(h), o);
    rc_weakref *w = s ? *s : NULL;
    if (s) rc__pmap_del(&books(h)->map, o);
    o->gc &= ~RC__WEAKREFS;
    while (w) {
        rc_weakref *next = w->next;
        w->prev = w->next = NULL;
        mark_cleared(w);
        if (!(RC_HEAD(w)->gc & RC__INSET) &&
            (w->cb || w->held != RC_EMPTY || (w->flags & (RC_WR_OWNS_DATA | RC_WR_LIBHELD)))) {
            rc_incref(w);
            if (c->last) c->last->next = w; else c->first = w;
            c->last = w;
        }
        w = next;
    }
}

/* Call back each weak reference of the chain (unless `call` is false: then
 * the callbacks are dropped unrun -- but for an entry of a weak container,
 * flagged KEYED, whose callback is the library's own removal of the entry,
 * so no dead entry stays behind holding its key or value), drop what it
 * owns, release it. Reads cb and data at call time: an earlier callback may
 * have disarmed a later one (a weak container sets cb to NULL on an entry it
 * dropped). */
static void run_chain(chain *c, bool call)
{
    rc_weakref *w = c->first;
    c->first = c->last = NULL;
    while (w) {
        rc_weakref *next = w->next;
        w->next = NULL;
        rc_weakref_callback_fn cb = w->cb;
        void *data = w->data;
        w->cb = NULL;
        if (cb && (call || (w->flags & RC_WR_KEYED))) cb(w, data);
        drop_owned(w);
        if (w->flags & RC_WR_LIBHELD) {   /* an rc_finalize: dealt with, let it go */
            w->flags &= ~(uint32_t)RC_WR_LIBHELD;
            rc_decref(w);   /* the chain still holds it */
        }
        rc_decref(w);
        w = next;
    }
}

/* ---- hooks called by the collector and the death path (core/hooks.h) ---- */

/* on_referent_death: `o` (RC__WEAKREFS) is dying by refcount: clear its weak
 * references and run their callbacks. */
static void referent_death(rc_heap *h, rc_head *o)
{
    chain c = {NULL, NULL};
    clear_all(h, o, &c);
    if (!c.first) return;
    /* `o` is half dead (count 0 and its references still held, or only a
     * collection's hold left): no collection may run while callbacks do. */
    h->busy++;
    run_chain(&c, true);
    h->busy--;
}

/* on_unreachable: a collection found `n` garbage objects (held, INSET):
 * clear every weak reference to them, then run the callbacks of those weak
 * references that are not garbage themselves (CPython's rules), before any
 * finalizer runs. Returns whether user code ran (a callback, or the release
 * of what a weak reference owned). */
static bool unreachable(rc_heap *h, rc_head **garbage, size_t n)
{
    /* 1. Unreachable weak references are cleared, whatever their referent:
     *    their callbacks must not run, not even when the clearing that
     *    follows frees their referent by refcount. */
    for (size_t i = 0; i < n; i++) {
        rc_head *o = garbage[i];
        if (o->type == &rc_weakref_type) {
            rc_weakref *w = RC__USER(o);
            if (w->referent) {
                unlink_weakref(h, w);
                mark_cleared(w);
            }
        }
    }
    /* 2. Weak references to unreachable objects are cleared; the live ones
     *    with a callback are chained. */
    chain c = {NULL, NULL};
    for (size_t i = 0; i < n; i++)
        if (garbage[i]->gc & RC__WEAKREFS) clear_all(h, garbage[i], &c);
    /* 3. Callbacks, with every unreachable object still intact. */
    bool ran = c.first != NULL;
    run_chain(&c, true);
    return ran;
}

/* on_spared: after callbacks or finalizers ran, what stays garbage loses the
 * weak references they made to it, calling no user callback (CPython's
 * clear_weakrefs; weak containers still drop those entries); from
 * h->deleting on none can be made again. */
static void spared(rc_heap *h, rc_head **garbage, size_t n)
{
    chain c = {NULL, NULL};
    for (size_t i = 0; i < n; i++)
        if (garbage[i]->gc & RC__WEAKREFS) clear_all(h, garbage[i], &c);
    run_chain(&c, false);   /* no user callback; what they own is let go */
}

/* on_heap_free: the books go with the heap. */
static void heap_free(rc_heap *h)
{
    rc__pmap_free(&books(h)->map);
}

static const rc_hooks weakref_hooks = {
    .on_referent_death = referent_death,
    .on_unreachable = unreachable,
    .on_spared = spared,
    .on_heap_free = heap_free,
};

void rc__weakref_attach(rc_heap *h)
{
    rc__pmap_init(&books(h)->map, rc__mem_heap(h), sizeof(rc_weakref *));
    rc__hooks_set(h, RC_SLOT_WEAKREF, &weakref_hooks);
}

/* ---- the type ---- */

/* The extension of `w` and its type, or NULL for a plain weak reference. */
static const rc_type *ext_type(rc_weakref *w)
{
    return (w->flags & RC_WR_EXT) ? *rc__weakref_ext_type_at(w) : NULL;
}

/* The object pointers of a slots-form extension of type `t`. */
static inline void **ext_slots(rc_weakref *w, const rc_type *t)
{
    return (void **)(void *)((char *)rc__weakref_ext_at(w) + t->slots_offset);
}

static void wr_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    rc_weakref *w = obj;
    rc_val_visit(w->held, visit, arg);
    if (w->flags & RC_WR_OWNS_DATA) visit(w->data, arg);
    const rc_type *t = ext_type(w);
    if (!t) return;
    if (t->traverse) {
        t->traverse(rc__weakref_ext_at(w), visit, arg);
        return;
    }
    void **slot = ext_slots(w, t);
    for (uint32_t i = 0; i < t->nslots; i++) visit(slot[i], arg);
}

/* Drop what `w` owns, its extension's references included (the extension
 * keeps them until now: a KeyedRef's key outlives its callback). */
static void wr_clear(void *obj)
{
    rc_weakref *w = obj;
    drop_owned(w);
    const rc_type *t = ext_type(w);
    if (!t) return;
    if (t->clear) {
        t->clear(rc__weakref_ext_at(w));
        return;
    }
    void **slot = ext_slots(w, t);
    for (uint32_t i = 0; i < t->nslots; i++) {
        void *p = slot[i];
        slot[i] = NULL;
        rc_xdecref(p);
    }
}

/* Runs first when a weak reference dies (and in a collection, on an
 * unreachable one, already cleared by then): leave the referent's list. */
static void wr_finalize(void *obj)
{
    rc_weakref *w = obj;
    if (w->referent) {
        unlink_weakref(rc_heap_of(w), w);
        w->referent = NULL;
    }
}

/* Right before the memory goes (heap teardown included, which runs no
 * finalizer): unlink (touches no reference), then the extension's destroy. */
static void wr_destroy(void *obj)
{
    wr_finalize(obj);
    const rc_type *t = ext_type(obj);
    if (t && t->destroy) t->destroy(rc__weakref_ext_at(obj));
}

static size_t wr_extra_size(const void *obj)
{
    const rc_type *t = ext_type((rc_weakref *)obj);
    return t && t->extra_size ? t->extra_size(rc__weakref_ext_at((rc_weakref *)obj)) : 0;
}

const rc_type rc_weakref_type = {
    .name = "weakref",
    .size = sizeof(rc_weakref),
    .traverse = wr_traverse,
    .clear = wr_clear,
    .finalize = wr_finalize,
    .destroy = wr_destroy,
    .rc_kind = RC_KIND_WEAKREF,
    .extra_size = wr_extra_size,
};

/* ---- the API ---- */

bool rc__weak_refuse_region(rc_heap *h, const void *obj, const char *call, const char *what)
{
    const rc_head *o = RC_HEAD(obj);
    void *region = rc__region_of(o);
    if (!region) return false;
    /* rc__fail on the region's heap records as the thread's error. */
    rc__fail(h ? h : rc_heap_of(obj), RC_EINVAL, "%s: %s%sthe %s at %p is an object of the frozen "
             "region %p, which is never written: it cannot have weak references", call, what,
             *what ? ", " : "", o->type && o->type->name ? o->type->name : "?", obj, region);
    return true;
}

rc_weakref *rc__weakref_make(void *obj, const rc_type *ext, rc_weakref_callback_fn cb, void *data,
                             rc_val held, uint32_t flags, const char *call)
{
    if (!obj) return NULL;
    RC__CHECK(obj, call);
    if (rc__weak_refuse_region(NULL, obj, call, "")) return NULL;
    rc_head *o = RC_HEAD(obj);
    rc_heap *h = rc_heap_of(obj);
    if (o->refcnt == 0 || ((o->gc & RC__INSET) && h->deleting))
        return rc__fail(h, RC_EINVAL, "%s: the %s at %p is being freed%s", call,
                        o->type && o->type->name ? o->type->name : "?", obj,
                        o->refcnt ? " by a collection" : "");
    rc_weakbooks *b = books(h);
    /* rc_new may collect, and a callback or finalizer it runs may drop the
     * caller's last reference to obj, held or data: each is held first
     * (obj until the caller has completed w, the others for good). Then the
     * object (nothing is linked yet), room in the map, the link: no failure
     * after anything changed. */
    rc_incref(obj);
    rc_val_incref(held);
    if (flags & RC_WR_OWNS_DATA) rc_incref(data);
    rc_weakref *w = ext ? rc_new_var(h, &rc_weakref_type, RC_WR_EXT_AT - sizeof(rc_weakref) + ext->size)
                        : rc_new(h, &rc_weakref_type);
    if (w && ext) {
        *rc__weakref_ext_type_at(w) = ext;
        w->flags = RC_WR_EXT;   /* from here on rc_decref(w) runs ext->destroy */
    }
    const char *lack = w ? NULL : "a weak reference";
    if (w && !(o->gc & RC__WEAKREFS) && !rc__pmap_reserve(&b->map, 1)) {
        rc_decref(w);
        w = NULL;
        lack = "the weak reference books";
    }
    if (!w) {   /* the holds go first: letting go may run code */
        if (flags & RC_WR_OWNS_DATA) rc_decref(data);
        rc_val_decref(held);
        rc_decref(obj);
        return rc__fail(h, RC_ENOMEM, "%s: out of memory for %s", call, lack);
    }
    w->cb = cb;
    w->data = data;
    w->flags |= flags;
    w->held = held;
    w->referent = o;
    if (o->gc & RC__WEAKREFS) {
        rc_weakref **s = find(b, o);
        rc_assert(s);
        w->next = *s;
        (*s)->prev = w;
        *s = w;
    } else {
        *(rc_weakref **)rc__pmap_put(&b->map, o, NULL) = w;   /* reserved: cannot fail */
        o->gc |= RC__WEAKREFS;
    }
    return w;
}

/* rc__weakref_make, the caller's hold on obj dropped once w is complete. */
static rc_weakref *make_done(void *obj, rc_weakref *w)
{
    if (w) rc_decref(obj);   /* may end obj: then w is cleared and called back */
    return w;
}

rc_weakref *rc_weakref_new(void *obj, rc_weakref_callback_fn cb, void *data)
{
    return make_done(obj, rc__weakref_make(obj, NULL, cb, data, RC_EMPTY, 0, "rc_weakref_new"));
}

rc_weakref *rc_weakref_new_owned(void *obj, rc_weakref_callback_fn cb, void *data_obj)
{
    if (obj && rc__weak_refuse_region(NULL, obj, "rc_weakref_new_owned", "")) return NULL;
    if (obj && data_obj && rc_heap_of(data_obj) != rc_heap_of(obj))
        return rc__fail(rc_heap_of(obj), RC_EINVAL,
                        "rc_weakref_new_owned: the data object belongs to another heap");
    return make_done(obj, rc__weakref_make(obj, NULL, cb, data_obj, RC_EMPTY,
                                           data_obj ? RC_WR_OWNS_DATA : 0, "rc_weakref_new_owned"));
}

/* Whether `t` may extend a weak reference: a user type (rc_kind 0, so no
 * built-in type and no copy of a sealed kind) whose fields agree (traverse
 * has clear, slots aligned and inside size), with no finalize: the weak
 * reference's own finalize must run, and an extension is never resurrected
 * apart from it (destroy is the place to release outside resources). */
static bool ext_ok(rc_heap *h, const rc_type *t, const char *call)
{
    const char *why = NULL;
    if (!t) why = "the extension type is NULL";
    else if (t->rc_kind != RC_KIND_USER) why = "the extension type has a reserved rc_kind";
    else if (t->finalize) why = "the extension type has a finalize (use destroy)";
    else if (t->traverse && !t->clear) why = "the extension type has traverse but no clear";
    else if (t->slots_offset & (sizeof(void *) - 1)) why = "the extension's slots are misaligned";
    else if ((uint64_t)t->slots_offset + (uint64_t)t->nslots * sizeof(void *) > t->size)
        why = "the extension's slots lie past its size";
    else if (t->size > SIZE_MAX / 4) why = "the extension type is too large";
    if (why) rc__fail(h, RC_EINVAL, "%s: %s", call, why);
    return !why;
}

rc_weakref *rc_weakref_new_ex(void *obj, const rc_type *ext, rc_weakref_callback_fn cb, void *data)
{
    if (!obj) return NULL;
    RC__CHECK(obj, "rc_weakref_new_ex");
    if (rc__weak_refuse_region(NULL, obj, "rc_weakref_new_ex", "")) return NULL;
    if (!ext_ok(rc_heap_of(obj), ext, "rc_weakref_new_ex")) return NULL;
    return make_done(obj, rc__weakref_make(obj, ext, cb, data, RC_EMPTY, 0, "rc_weakref_new_ex"));
}

static bool is_weakref(const rc_weakref *w, const char *call)
{
    if (!w) return false;
    RC__CHECK(w, call);
    if (rc_typeof(w) == &rc_weakref_type) return true;
    rc__fail(rc_heap_of(w), RC_EINVAL, "%s: object %p is a %s, not a weakref", call, (void *)w,
             rc_typeof(w)->name ? rc_typeof(w)->name : "?");
    return false;
}

/* The referent of `w` as code may see it: NULL once cleared, and NULL while
 * the referent is garbage of the running collection (INSET outside a scan):
 * a weak reference made to garbage during the collection -- by a callback
 * or a finalizer -- reads as dead, and if the garbage stays garbage it is
 * cleared without calling back before the garbage is. */
static rc_head *visible_referent(const rc_weakref *w)
{
    rc_head *o = w->referent;
    return o && !(o->gc & RC__INSET) ? o : NULL;
}

void *rc_weakref_get(rc_weakref *w)
{
    if (!is_weakref(w, "rc_weakref_get")) return NULL;
    rc_head *o = visible_referent(w);
    if (!o) return NULL;
    void *obj = RC__USER(o);
    rc_incref(obj);
    return obj;
}

void *rc_weakref_ext(rc_weakref *w)
{
    if (!is_weakref(w, "rc_weakref_ext")) return NULL;
    return ext_type(w) ? rc__weakref_ext_at(w) : NULL;
}

const rc_type *rc_weakref_ext_type(const rc_weakref *w)
{
    if (!is_weakref(w, "rc_weakref_ext_type")) return NULL;
    return ext_type((rc_weakref *)w);
}

int rc_weakref_alive(const rc_weakref *w)
{
    return is_weakref(w, "rc_weakref_alive") && visible_referent(w) != NULL;
}

static rc_weakref *first_of(const void *obj, const char *call)
{
    if (!obj) return NULL;
    RC__CHECK(obj, call);
    const rc_head *o = RC_HEAD(obj);
    if (!(o->gc & RC__WEAKREFS)) return NULL;
    rc_weakref **s = find(books(rc_heap_of(obj)), o);
    return s ? *s : NULL;
}

size_t rc_weakref_count(const void *obj)
{
    size_t n = 0;
    for (rc_weakref *w = first_of(obj, "rc_weakref_count"); w; w = w->next) n++;
    return n;
}

rc_list *rc_weakref_list(const void *obj)
{
    if (!obj) return NULL;
    RC__CHECK(obj, "rc_weakref_list");
    /* The list would be made in the region's heap. */
    if (rc__region_refused(obj, "rc_weakref_list")) return NULL;
    size_t n = rc_weakref_count(obj);
    rc_list *l = rc__list_new_quiet(rc_heap_of(obj), n);   /* obj is borrowed */
    if (!l) return NULL;
    /* No object is allocated while walking: the list has room for all. */
    for (rc_weakref *w = first_of(obj, "rc_weakref_list"); w; w = w->next)
        rc_list_append(l, rc_obj(w));
    return l;
}

size_t rc_weakref_list_into(const void *obj, rc_weakref **buf, size_t cap)
{
    if (!obj) return SIZE_MAX;
    RC__CHECK(obj, "rc_weakref_list_into");
    if (!buf && cap) {
        rc__fail(rc_heap_of(obj), RC_EINVAL, "rc_weakref_list_into: buf is NULL but cap is %zu", cap);
        return SIZE_MAX;
    }
    size_t n = 0;
    for (rc_weakref *w = first_of(obj, "rc_weakref_list_into"); w; w = w->next) {
        if (n < cap) buf[n] = w;
        n++;
    }
    return n;
}
