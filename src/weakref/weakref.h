/*
 * weakref.h -- what weakref.c and weakdict.c share: the layout of a
 * weak reference and the hook by which a weak-valued dict learns that one of
 * its entries died.
 */
#ifndef RC_WEAKREF_PRIV_H
#define RC_WEAKREF_PRIV_H

#include "core/objects.h"
#include "recycle/weakref.h"
#include "util/pmap.h"

#include <stddef.h>

/* rc_weakref_obj.flags */
enum {
    RC_WR_OWNS_DATA = 1,   /* `data` is an object the weak reference holds */
    RC_WR_KEYED = 2,       /* an entry of a weak-valued dict: `held` is its key, `data`
                            * (owned) a weak reference to the dict */
    RC_WR_COUNTED = 4,     /* keyed, cleared, and counted in that dict's `dead` */
    RC_WR_EXT = 8,         /* made by rc_weakref_new_ex: an extension follows the struct */
    RC_WR_LIBHELD = 16,    /* the library holds one reference to it (an rc_finalize): released
                            * by whoever clears the flag, at the latest after the
                            * referent's death was dealt with (called back or not) */
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
    rc_weakref_callback_fn cb;
    void *data;
    rc_val held;
    uint32_t flags;
};

/*
 * The extension of a weak reference flagged EXT (rc_weakref_new_ex): the
 * block is longer than the struct; right after the struct lies the pointer
 * to the extension's type, and at RC_WR_EXT_AT (aligned like malloc) the
 * extension itself, `type->size` bytes, zeroed at birth.
 */
#define RC_WR_EXT_AT \
    ((sizeof(rc_weakref) + sizeof(void *) + _Alignof(max_align_t) - 1) & \
     ~(_Alignof(max_align_t) - 1))

static inline const rc_type **rc__weakref_ext_type_at(rc_weakref *w)
{
    return (const rc_type **)(void *)(w + 1);
}

static inline void *rc__weakref_ext_at(rc_weakref *w)
{
    return (char *)w + RC_WR_EXT_AT;
}

/* A new live weak reference to `obj` (see rc_weakref_new) with `flags`
 * preset and the extension type `ext` (NULL: none; else checked already);
 * it takes its own references to `held` (RC_EMPTY for none) and, when flags
 * has OWNS_DATA, to the object `data`. */
rc_weakref *rc__weakref_make(void *obj, const rc_type *ext, rc_weakref_callback_fn cb, void *data,
                             rc_val held, uint32_t flags, const char *call);

/* Clear the live weak reference `w` now, calling nothing back (no user code
 * runs); nothing happens to a cleared one. */
void rc__weakref_kill(rc_weakref *w);

/* The books: an rc_pmap from a referent's header to its newest weak
 * reference (weakref.c has the invariants). */
typedef struct rc_weakbooks {
    rc_pmap map;
} rc_weakbooks;

/* A heap with weak references: the core heap, then the books. rc_heap_new
 * makes every heap one of these (inside a larger struct, rc_modheap). */
typedef struct rc_weakheap {
    rc_heap core;
    rc_weakbooks books;
} rc_weakheap;

static inline rc_weakbooks *rc__weakbooks(rc_heap *h)
{
    return &((rc_weakheap *)h)->books;
}

/* Set up the books of `h` (an rc_weakheap) and attach the weakref slot
 * (core/hooks.h): referent deaths, a collection's unreachable and spared
 * garbage, the heap's end. Allocates nothing. */
void rc__weakref_attach(rc_heap *h);

/* weakdict.c: the keyed weak reference `w` was just cleared (no user code may
 * run here). */
void rc__weakdict_note_dead(rc_weakref *w);

#endif
