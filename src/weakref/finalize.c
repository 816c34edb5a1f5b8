/*
 * finalize.c -- rc_finalize, Python's weakref.finalize.
 *
 * An rc_finalize is a weak reference to its object with an extension (the
 * function and its data) and the callback `died`. While it is alive the
 * library holds one reference to it, flagged LIBHELD (weakref.h): the
 * collector cannot account for that reference, so the weak reference is
 * never garbage and its callback always runs when the object dies (rule 3
 * of recycle/weakref.h) -- CPython's finalize registry does the same. The
 * hold is released by whoever ends the finalizer's life: the callback
 * chain (weakref.c run_chain, after `died` ran or was skipped), or
 * rc_finalize_call / rc_finalize_detach.
 *
 * Invariant: fn != NULL <=> alive <=> LIBHELD, except between run_chain
 * reading the callback and releasing the hold (where fn is already NULL).
 */
#include "weakref/weakref.h"

typedef struct fin_ext {
    rc_finalize_fn fn;   /* NULL once run or detached */
    void *data;
} fin_ext;

static const rc_type fin_ext_type = {.name = "finalize", .size = sizeof(fin_ext)};

static fin_ext *ext_of(rc_weakref *w)
{
    return rc__weakref_ext_at(w);
}

/* The object died: run the function once. run_chain releases the hold. */
static void died(rc_weakref *w, void *data)
{
    (void)data;
    fin_ext *e = ext_of(w);
    rc_finalize_fn fn = e->fn;
    e->fn = NULL;
    if (fn) fn(e->data);
}

rc_finalize *rc_finalize_new(void *obj, rc_finalize_fn fn, void *data)
{
    if (!obj) return NULL;
    RC__CHECK(obj, "rc_finalize_new");
    if (rc__weak_refuse_region(NULL, obj, "rc_finalize_new", "")) return NULL;
    if (!fn) return rc__fail(rc_heap_of(obj), RC_EINVAL, "rc_finalize_new: the function is NULL");
    rc_weakref *w = rc__weakref_make(obj, &fin_ext_type, died, NULL, RC_EMPTY, RC_WR_LIBHELD,
                                     "rc_finalize_new");
    if (!w) return NULL;
    fin_ext *e = ext_of(w);
    e->fn = fn;
    e->data = data;
    rc_incref(w);   /* the library's hold (LIBHELD) */
    rc_decref(obj);   /* rc__weakref_make's hold: may end obj, and run fn */
    return (rc_finalize *)w;
}

/* `f` as the weak reference it is, or NULL (RC_EINVAL) when it is none. */
static rc_weakref *as_fin(const rc_finalize *f, const char *call)
{
    if (!f) return NULL;
    RC__CHECK(f, call);
    rc_weakref *w = (rc_weakref *)f;
    if (rc_typeof(w) == &rc_weakref_type && (w->flags & RC_WR_EXT) &&
        *rc__weakref_ext_type_at(w) == &fin_ext_type)
        return w;
    rc__fail(rc_heap_of(w), RC_EINVAL, "%s: object %p is a %s, not a finalize", call, (void *)w,
             rc_typeof(w)->name ? rc_typeof(w)->name : "?");
    return NULL;
}

/* End the life of alive `w` without running it: forget the function, clear
 * the weak reference, release the hold (the caller holds `w` too). */
static void end(rc_weakref *w)
{
    ext_of(w)->fn = NULL;
    w->cb = NULL;
    rc__weakref_kill(w);
    if (w->flags & RC_WR_LIBHELD) {
        w->flags &= ~(uint32_t)RC_WR_LIBHELD;
        rc_decref(w);
    }
}

int rc_finalize_alive(const rc_finalize *f)
{
    rc_weakref *w = as_fin(f, "rc_finalize_alive");
    return w && ext_of(w)->fn != NULL;
}

int rc_finalize_detach(rc_finalize *f, void **data)
{
    rc_weakref *w = as_fin(f, "rc_finalize_detach");
    if (!w || !ext_of(w)->fn) return 0;
    if (data) *data = ext_of(w)->data;
    end(w);
    return 1;
}

int rc_finalize_call(rc_finalize *f)
{
    rc_weakref *w = as_fin(f, "rc_finalize_call");
    if (!w || !ext_of(w)->fn) return 0;
    fin_ext *e = ext_of(w);
    rc_finalize_fn fn = e->fn;
    void *data = e->data;
    end(w);
    fn(data);   /* last: it may drop the caller's reference to f */
    return 1;
}

rc_weakref *rc_finalize_weakref(rc_finalize *f)
{
    return as_fin(f, "rc_finalize_weakref");
}
