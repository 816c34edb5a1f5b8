/*
 * weakref.h -- what the files of src/weakref/ share: the layout of a weak
 * reference, the hook by which a weak container learns that one of its
 * entries died, and the table every weak container is built on
 * (weaktable.c).
 */
#ifndef RC_WEAKREF_PRIV_H
#define RC_WEAKREF_PRIV_H

#include "core/objects.h"
#include "recycle/weakref.h"
#include "util/pmap.h"
#include "recycle/builtins.h"

#include <stddef.h>

/* rc_weakref_obj.flags */
enum {
    RC_WR_OWNS_DATA = 1,   /* `data` is an object the weak reference holds */
    RC_WR_KEYED = 2,       /* an entry of a weak container: `held` is its key in the
                            * container's map, `data` (owned) a weak reference to the
                            * container */
    RC_WR_COUNTED = 4,     /* keyed, cleared, and counted in that container's `dead` */
    RC_WR_EXT = 8,         /* made by rc_weakref_new_ex: an extension follows the struct */
    RC_WR_LIBHELD = 16,    /* the library holds one reference to it (an rc_finalize): released
                            * by whoever clears the flag, at the latest after the
                            * referent's death was dealt with (called back or not) */
};

/*
 * A weak reference. Live (referent != NULL) exactly while it is on its
 * referent's list in the heap's books; a cleared weak reference is never
 * linked again. It may own two strong references: `data` when flagged
 * OWNS_DATA (rc_weakref_new_owned), and `held` (a weak container's map
 * key, or RC_EMPTY); traverse reports them, clear drops them, and so does the end
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
 * has OWNS_DATA, to the object `data`. On success obj carries one more
 * reference, taken before the allocation (which may collect, running code
 * that drops the caller's last reference to it): the caller completes w,
 * then drops that reference, which may end obj (w is then cleared and
 * called back like any weak reference). NULL, nothing held, on failure. */
rc_weakref *rc__weakref_make(void *obj, const rc_type *ext, rc_weakref_callback_fn cb, void *data,
                             rc_val held, uint32_t flags, const char *call);

/* Whether `obj` is an object of a frozen region, which has no weak
 * references (they would be written into its header and its heap's
 * books): then the refusal is recorded, RC_EINVAL naming `call`, `what`
 * ("the value", "the key", "") the object and the region, on `h` -- or,
 * when h is NULL, as the calling thread's error (rc_thread_error). O(1). */
bool rc__weak_refuse_region(rc_heap *h, const void *obj, const char *call, const char *what);

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

/* ---- weak containers (weaktable.c) ----
 *
 * rc_weakdict, rc_weakkeydict and rc_weakset are each an rc__wtab (their
 * public struct is nothing else): an ordinary rc_dict `map` from a map key
 * to an entry, a keyed weak reference whose referent is the object held
 * weakly and whose callback removes the entry. The map key is the user's
 * key (weakdict: held strongly through the entry's `held`) or, for objects
 * held by identity, rc__wtab_idkey of the object (an immediate integer).
 * An entry of a weak-keyed dict also carries its value, held strongly in
 * an extension of the weak reference (rc__wtab_value).
 */
typedef struct rc__wtab {
    rc_dict *map;        /* map key -> entry; NULL once cleared by the collector */
    rc_weakref *self;    /* a weak reference to the container, held by it and its entries */
    size_t dead;         /* entries of map whose weak reference is cleared */
} rc__wtab;

/* The map key of an object held by identity: its address as an immediate
 * integer (object addresses are below 2^49 and 8-aligned). */
static inline rc_val rc__wtab_idkey(const void *obj)
{
    return rc_int((int64_t)((uintptr_t)obj >> 3));
}

/* The type slots of every weak container: traverse reports map and self,
 * clear drops them (the container is unusable afterwards: calls fail with
 * RC_EINVAL). */
void rc__wtab_traverse(void *obj, rc_visit_fn visit, void *arg);
void rc__wtab_clear(void *obj);

/* A new empty container of `type` (an rc__wtab) in `h` (NEW reference), or
 * NULL with RC_ENOMEM recorded, naming `call`. */
void *rc__wtab_new(rc_heap *h, const rc_type *type, const char *call);

/* `c` as a table when it is a live container of `type`; else NULL with
 * RC_EINVAL recorded (NULL `c`: see rc__is_a). */
rc__wtab *rc__wtab_of(const void *c, const rc_type *type, const char *call);

/* The object `key` names as a weakly held key of `t`: NULL with RC_EINVAL
 * recorded when key is RC_EMPTY, an immediate, or an object of another heap. */
void *rc__wtab_key_object(const rc__wtab *t, rc_val key, const char *call);

/* Make `mkey` an entry for the object `referent` (of t's heap), carrying
 * `value` (held strongly) unless it is RC_EMPTY. An entry of `mkey` that is
 * alive with the same referent keeps its weak reference (its value is
 * replaced); any other is replaced. 0, or -1 with the error recorded
 * (RC_ENOMEM, RC_EINVAL for a referent being freed); t is then unchanged. */
int rc__wtab_put(rc__wtab *t, rc_val mkey, void *referent, rc_val value, const char *call);

/* The live entry of `mkey` (BORROWED), or NULL; with `referent` not NULL,
 * only an entry for that object. A referent that is garbage of a running
 * collection counts as dead. */
rc_weakref *rc__wtab_find(const rc__wtab *t, rc_val mkey, const void *referent);

/* Remove the entry of `mkey`: 0, or -1 with RC_ENOTFOUND when there is none
 * or it is dead (a dead one is removed all the same). */
int rc__wtab_del(rc__wtab *t, rc_val mkey, const char *call);

/* The number of live entries. O(1). */
static inline size_t rc__wtab_len(const rc__wtab *t)
{
    return rc_dict_len(t->map) - t->dead;
}

/* The next live entry from *pos in insertion order (BORROWED), or NULL at
 * the end; its referent may be read with rc_weakref_get at once. */
rc_weakref *rc__wtab_next(const rc__wtab *t, size_t *pos);

/* Remove every entry. */
void rc__wtab_clear_entries(rc__wtab *t);

/* Where an entry made with a value keeps it. */
rc_val *rc__wtab_value(rc_weakref *w);

/* The keyed weak reference `w` was just cleared: count its entry dead in its
 * container (no user code may run here). */
void rc__wtab_note_dead(rc_weakref *w);

#endif
