/*
 * weakref.h -- what weakref.c and weakdict.c share: the layout of a
 * weak reference and the hook by which a weak-valued dict learns that one of
 * its entries died.
 */
#ifndef RC_WEAKREF_PRIV_H
#define RC_WEAKREF_PRIV_H

#include "core/objects.h"
#include "recycle/weakref.h"

/* rc_weakref_obj.flags */
enum {
    RC_WR_OWNS_DATA = 1,   /* `data` is an object the weak reference holds */
    RC_WR_KEYED = 2,       /* an entry of a weak-valued dict: `held` is its key, `data`
                            * (owned) a weak reference to the dict */
    RC_WR_COUNTED = 4,     /* keyed, cleared, and counted in that dict's `dead` */
};

/*
 * A weak reference. Live (referent != NULL) exactly while it is on its
 * referent's list in the heap's books; a cleared weak reference is never
 * linked again. It may own two strong references: `data` when flagged
 * OWNS_DATA (rc_weakref_new_owned), and `held` (a weak-valued dict's key, or
 * RC_EMPTY); traverse reports them, clear drops them, and so does the end
 * of the callback, after which `cb` and `data` are forgotten.
 */
struct rc_weakref_obj {
    rc_head *referent;
    struct rc_weakref_obj *prev, *next;   /* the referent's weak references, newest first */
    rc_weakref_cb cb;
    void *data;
    rc_val held;
    uint32_t flags;
};

/* A new live weak reference to `obj` (see rc_weakref_new) with `flags`
 * preset; it takes its own references to `held` (RC_EMPTY for none) and, when
 * flags has OWNS_DATA, to the object `data`. */
rc_weakref *rc__weakref_make(void *obj, rc_weakref_cb cb, void *data, rc_val held,
                             uint32_t flags, const char *call);

/* The weakref slot's hook table (core/hooks.h), attached by rc_heap_new. */
extern const rc_hooks rc__weakref_hooks;

/* weakdict.c: the keyed weak reference `w` was just cleared (no user code may
 * run here). */
void rc__weakdict_note_dead(rc_weakref *w);

#endif
