/*
 * recycle/weakref.h -- weak references, weak references with fields of the
 * user's, weakref.finalize, and weak containers (Python's weakref.ref, its
 * subclasses such as KeyedRef, weakref.finalize, WeakValueDictionary,
 * WeakKeyDictionary and WeakSet).
 *
 * A weak reference refers to an object (its referent) without keeping it
 * alive. When the referent dies -- by refcount or in a collection -- every
 * weak reference to it is cleared (rc_weakref_get returns NULL from then on)
 * and each one that has a callback and is itself still alive gets it called
 * once. A weak reference is an ordinary recycle object: rc_incref / rc_decref
 * it, store it in containers; it is tracked by the collector, and the only
 * references it holds are the data object of rc_weakref_new_owned and those
 * of its extension (rc_weakref_new_ex).
 *
 * The rules in a collection are CPython's:
 *   1. every weak reference to an unreachable object is cleared before any
 *      finalizer runs and before anything is cleared, so no code can reach
 *      garbage through a weak reference -- also those that callbacks and
 *      finalizers make during the collection: while the collection runs they
 *      read as dead (rc_weakref_get gives NULL), they are cleared without
 *      calling back before the garbage is cleared (or live on if something
 *      else resurrected their referent), and while the garbage is cleared
 *      rc_weakref_new refuses it (RC_EINVAL);
 *   2. a weak reference that is itself unreachable is cleared too and its
 *      callback never runs (it would see a world half torn down);
 *   3. the callbacks of the others run after all that clearing, before the
 *      finalizers, while every unreachable object is still intact.
 * Callbacks may allocate, drop references, create weak references and call
 * rc_gc_collect (which returns 0 while they run). They receive the (already
 * cleared) weak reference and must not revive the referent through a C
 * pointer kept elsewhere.
 *
 * The referent's header carries a flag while weak references to it exist;
 * the books behind it are a hash map per heap from referent to its list of
 * weak references, so creating, clearing and dropping one are O(1).
 */
#ifndef RECYCLE_WEAKREF_H
#define RECYCLE_WEAKREF_H

#include "../recycle.h"
#include "builtins.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rc_weakref_obj rc_weakref;

/* Called once when the referent of `w` dies, if `w` is still alive then and
 * was given a callback. `w` is borrowed (held for the duration of the call)
 * and already cleared; `data` is what was given to rc_weakref_new. */
typedef void (*rc_weakref_callback_fn)(rc_weakref *w, void *data);

/* The type of weak references (rc_typeof(w) == &rc_weakref_type). */
RC_API extern const rc_type rc_weakref_type;

/*
 * A new weak reference to `obj` (NEW reference to the weak reference; `obj`
 * gains no reference). Works for any live object, tracked or not.
 * `cb` (may be NULL) is called as described above with `data`, which is
 * opaque here and not owned. Several weak references to one object are
 * independent objects; when it dies their callbacks run newest first.
 * `obj` is held during the call (making the weak reference may collect,
 * and a callback or finalizer that runs may drop the caller's last
 * reference to it): if it was, obj dies as the call returns, and the new
 * weak reference comes back cleared, its callback called. The same for
 * rc_weakref_new_owned (which also keeps its data object), rc_weakref_new_ex
 * and rc_finalize_new (whose function then runs before it returns).
 * NULL when `obj` is NULL (there is no heap to record an error on), or with
 * RC_ENOMEM when memory runs out, RC_EINVAL when obj is already being freed
 * (by refcount, or as garbage a collection is clearing). NULL with RC_EINVAL
 * when obj is an object of a frozen region (rc_region_freeze), which is
 * never written and has no weak references: recorded as the calling
 * thread's error (rc_thread_error), nothing of the region touched; the
 * same for rc_weakref_new_owned, rc_weakref_new_ex and rc_finalize_new, and
 * the weak containers refuse a region's object as a value, key or item
 * (recorded on the container's heap).
 * O(1) amortised.
 */
RC_API rc_weakref *rc_weakref_new(void *obj, rc_weakref_callback_fn cb, void *data);

/*
 * As rc_weakref_new, but `data_obj` (an object of the same heap, or NULL) is
 * held by the weak reference with a strong reference -- like a Python
 * callback that is a bound method or closure -- and passed to `cb` as data.
 * The collector sees that reference: anything the callback can reach through
 * it stays alive as long as the weak reference does. The hold is released
 * right after the callback ran (or when the referent dies and there is no
 * callback), or when the weak reference dies first.
 */
RC_API rc_weakref *rc_weakref_new_owned(void *obj, rc_weakref_callback_fn cb, void *data_obj);

/*
 * Weak references with fields of the user's (a subclass of weakref.ref with
 * extra attributes, like CPython's KeyedRef): as rc_weakref_new, but the
 * weak reference carries an extension, a zeroed struct described by the
 * user type `ext` -- its size, its references (slots, or traverse and
 * clear), destroy and extra_size, all as in rc_new. The collector sees the
 * extension's references as the weak reference's own; they are held until
 * the weak reference dies or is cleared as garbage (not released when the
 * referent dies, nor after the callback, which may read them). destroy runs
 * right before the memory goes (also when creation failed midway: then on
 * the zeroed extension). The weak reference stays a weak reference in
 * every respect (rc_typeof is rc_weakref_type, the books and rules above
 * apply unchanged); rc_weakref_ext and rc_weakref_ext_type give its
 * extension and type, to the callback too. `ext` must outlive the weak
 * reference. NULL with RC_EINVAL when `ext` is NULL, has a non-zero rc_kind
 * (a built-in type's, say), a finalize, traverse without clear, or slots
 * outside its size; otherwise as rc_weakref_new.
 */
RC_API rc_weakref *rc_weakref_new_ex(void *obj, const rc_type *ext, rc_weakref_callback_fn cb,
                                     void *data);

/* The extension of a weak reference made by rc_weakref_new_ex (aligned like
 * malloc, valid while `w` lives), or NULL for any other weak reference.
 * NULL also (RC_EINVAL recorded) when `w` is not a weak reference. O(1). */
RC_API void *rc_weakref_ext(rc_weakref *w);

/* The extension type given to rc_weakref_new_ex, or NULL: the weak
 * reference's "subclass". NULL also (RC_EINVAL) when `w` is not one. O(1). */
RC_API const rc_type *rc_weakref_ext_type(const rc_weakref *w);

/* The referent as a NEW reference (rc_decref it), or NULL once it died.
 * NULL also (RC_EINVAL recorded) when `w` is not a weak reference. O(1). */
RC_API void *rc_weakref_get(rc_weakref *w);

/* 1 while the referent lives, 0 once cleared. O(1). */
RC_API int rc_weakref_alive(const rc_weakref *w);

/* Python's weakref.getweakrefcount: how many live weak references point at
 * `obj`. O(that number). */
RC_API size_t rc_weakref_count(const void *obj);

/* Python's weakref.getweakrefs: a NEW list of the live weak references to
 * `obj`, newest first; NULL with RC_ENOMEM. O(their number). Disturbs:
 * counts a generation-0 allocation (but starts no collection: obj is
 * borrowed, and a collection's code could free it), and dropping
 * the list makes old weak references candidates (<recycle/gc.h>, "quiet
 * queries"); the quiet form is rc_weakref_list_into. NULL with RC_EINVAL
 * (the thread's error, rc_thread_error) for an object of a frozen region:
 * the list would be made in the region's heap (it has none: ask
 * rc_weakref_count or rc_weakref_list_into, which only read). */
RC_API rc_list *rc_weakref_list(const void *obj);

/* rc_weakref_list without disturbing (<recycle/gc.h>, "quiet queries"):
 * BORROWED pointers to the weak references to `obj`, newest first, in
 * buf[0 .. min(total, cap) - 1]; returns the total (rc_weakref_count's
 * answer). SIZE_MAX for a NULL obj, or with RC_EINVAL for a NULL buf with
 * cap > 0. Allocates nothing, runs no code. O(their number). */
RC_API size_t rc_weakref_list_into(const void *obj, rc_weakref **buf, size_t cap);

/* ------------------------------------------------------------------------
 * rc_finalize: Python's weakref.finalize
 *
 * A function run once when an object dies -- by refcount, or in a
 * collection as a weak-reference callback (rule 3 above) -- unless it was
 * run early or detached. The library keeps the finalizer alive until then
 * (the caller may drop its reference at once), so it is never garbage
 * itself. `data` is opaque and not owned; if it leads to the object by
 * strong references the object never dies (as in Python, when func or its
 * args refer to obj). Finalizers still alive when the heap is freed do not
 * run (Python's atexit=True run at exit is not provided): their memory goes
 * with the heap.
 * --------------------------------------------------------------------- */

typedef struct rc_finalize_obj rc_finalize;
typedef void (*rc_finalize_fn)(void *data);

/* A new finalizer of `obj` (NEW reference; the library holds another until
 * it runs or is detached). NULL when obj is NULL; NULL with RC_EINVAL when
 * `fn` is NULL, otherwise as rc_weakref_new. */
RC_API rc_finalize *rc_finalize_new(void *obj, rc_finalize_fn fn, void *data);

/* 1 until the finalizer ran or was detached, else 0. */
RC_API int rc_finalize_alive(const rc_finalize *f);

/* Python's f(): if alive, mark it dead and run fn(data) now; 1. Else 0
 * (nothing runs). 0 with RC_EINVAL when `f` is not a finalizer. */
RC_API int rc_finalize_call(rc_finalize *f);

/* Python's f.detach(): if alive, mark it dead without running it, store its
 * data in *data (when not NULL), 1; else 0. */
RC_API int rc_finalize_detach(rc_finalize *f, void **data);

/* The weak reference a finalizer is (BORROWED, lives as long as `f`):
 * rc_weakref_get of it gives the object while it lives (Python's
 * f.peek()). NULL with RC_EINVAL when `f` is not a finalizer. */
RC_API rc_weakref *rc_finalize_weakref(rc_finalize *f);

/* ------------------------------------------------------------------------
 * rc_weakdict: a dict whose values are held weakly
 *
 * Keys are rc_val values with the rules of rc_dict (see rc_val_eq), held
 * strongly; values are objects held weakly. An entry disappears when its
 * value dies: by refcount at once, in a collection during the callback phase
 * (rule 3 above). Between the clearing and that phase a dead entry is
 * invisible: get returns NULL, len and next skip it.
 * The dict is an ordinary tracked object (NEW reference from _new).
 * Cost per entry: one rc_dict entry plus one weak reference object (72 bytes).
 * --------------------------------------------------------------------- */

typedef struct rc_weakdict_obj rc_weakdict;
RC_API extern const rc_type rc_weakdict_type;

/* A new empty weak-valued dict (NEW reference); NULL with RC_ENOMEM. It
 * makes three objects: itself, its rc_dict, and a weak reference to itself
 * through which its entries find it (so an entry that outlives the dict is
 * harmless). */
RC_API rc_weakdict *rc_weakdict_new(rc_heap *heap);

/* Map `key` to the object `value` (not NULL), weakly. The dict takes its own
 * reference to the key, none to the value; a previous value of the key is
 * forgotten. 0, or -1 with RC_EINVAL (value NULL or of another heap, key
 * RC_EMPTY, value being freed) or RC_ENOMEM (the dict is then unchanged).
 * Amortised O(1). */
RC_API int rc_weakdict_set(rc_weakdict *d, rc_val key, void *value);

/* The value of `key` as a NEW reference, or NULL when the key is missing or
 * its value died (not an error: nothing is recorded). O(1) expected. */
RC_API void *rc_weakdict_get(rc_weakdict *d, rc_val key);

/* Remove `key`. 0, or -1 with RC_ENOTFOUND when it is missing or its value
 * already died (the dead entry is removed all the same). O(1) expected. */
RC_API int rc_weakdict_del(rc_weakdict *d, rc_val key);

/* Number of entries whose value is alive. O(1). */
RC_API size_t rc_weakdict_len(const rc_weakdict *d);

/*
 * Iterate over live entries in insertion order: set *pos = 0, call until it
 * returns 0. Each 1 stores the key (BORROWED, may be NULL pointer) and the
 * value as a NEW reference (the caller must rc_decref it; `value` may be
 * NULL to skip it). The key stays valid while the caller holds the value.
 * Entries may die or be deleted during the walk; adding keys during a walk
 * is memory-safe but may make it skip or repeat entries.
 */
RC_API int rc_weakdict_next(rc_weakdict *d, size_t *pos, rc_val *key, void **value);

/* Remove every entry. O(entries). */
RC_API void rc_weakdict_clear(rc_weakdict *d);

/* ------------------------------------------------------------------------
 * rc_weakkeydict: a dict whose keys are held weakly (WeakKeyDictionary)
 *
 * Keys are objects, held weakly and compared by IDENTITY; values are any
 * rc_val but RC_EMPTY, held strongly. An entry disappears when its key
 * dies: by refcount at once (also when that happens inside a callback or a
 * finalizer), in a collection during the callback phase (rule 3 above).
 * Between the clearing and that phase a dead entry is invisible: get finds
 * nothing, len and next skip it.
 *
 * Why identity and not rc_val_eq / rc_val_hash as in rc_dict: the entry's
 * life is its key object's, so the key that finds an entry must be that
 * object. Under rc_val_eq an equal str or boxed int would find (or replace)
 * an entry whose life is bound to another object, and could not be told
 * from it when that one dies. For user types rc_val_eq is identity anyway;
 * CPython cannot weakly reference str or int at all, so for every key both
 * accept the two agree (recycle has no user __eq__ hook to honour).
 *
 * Cycles: a value that refers to its own key (directly or not) keeps the
 * key alive as long as the dict lives (dict -> entry -> value -> key): the
 * entry never goes. CPython has the same leak (it has no ephemerons), and
 * recycle behaves the same: the key is in no cycle (the dict holds it
 * weakly), so when the dict dies the entries, values and such keys go with
 * it by refcount. A value that refers to the dict makes an ordinary cycle
 * (the dict is a tracked container), collected when nothing else holds it;
 * its keys then lose their entries as if the dict had died by refcount.
 *
 * The dict is an ordinary tracked object (NEW reference from _new), type
 * name "weakkeydict" for the leak tools. Cost per entry: one rc_dict entry
 * plus one weak reference with its value (96 bytes).
 * NULL dict: as for the built-in containers (no heap to record on: the
 * error value is returned; debug builds stop naming the call).
 * --------------------------------------------------------------------- */

typedef struct rc_weakkeydict_obj rc_weakkeydict;
RC_API extern const rc_type rc_weakkeydict_type;

/* A new empty weak-keyed dict (NEW reference); NULL with RC_ENOMEM (NULL
 * when heap is NULL). It makes three objects: itself, its rc_dict, and a
 * weak reference to itself through which its entries find it. */
RC_API rc_weakkeydict *rc_weakkeydict_new(rc_heap *heap);

/* Map the object `key` (rc_obj(p)) to `value`: the dict holds its own
 * reference to the value, none to the key; a previous value of the key is
 * released. 0, or -1 with RC_EINVAL (key RC_EMPTY or an immediate -- an
 * int, float, bool or none cannot be held weakly --, key or value of
 * another heap, value RC_EMPTY, key being freed) or RC_ENOMEM; the dict is
 * then unchanged. The key may be the dict itself. Amortised O(1). */
RC_API int rc_weakkeydict_set(rc_weakkeydict *d, rc_val key, rc_val value);

/* 1 when `key` has a live entry, its value stored in *value (BORROWED:
 * valid until the entry dies, is deleted or gets another value; `value`
 * may be NULL); 0 when it has none (an
 * immediate never has; not an error, nothing is recorded); -1 with
 * RC_EINVAL when `d` is not a weak-keyed dict. O(1) expected. */
RC_API int rc_weakkeydict_get(rc_weakkeydict *d, rc_val key, rc_val *value);

/* Remove the entry of `key`, releasing its value. 0, or -1 with
 * RC_ENOTFOUND when there is none (RC_EINVAL when `d` is not a weak-keyed
 * dict). O(1) expected. */
RC_API int rc_weakkeydict_del(rc_weakkeydict *d, rc_val key);

/* Number of entries whose key is alive. O(1). */
RC_API size_t rc_weakkeydict_len(const rc_weakkeydict *d);

/*
 * Iterate over live entries in insertion order: set *pos = 0, call until it
 * returns 0. Each 1 stores the key as a NEW reference (the caller must
 * rc_decref it; `key` may be NULL to skip it) and the value (BORROWED,
 * valid while the caller holds the key and the entry is not deleted or
 * replaced; `value` may be NULL). Keys may die and entries be deleted or
 * given new values during the walk (the dead are skipped); adding keys
 * during a walk is memory-safe but may make it skip or repeat entries.
 */
RC_API int rc_weakkeydict_next(rc_weakkeydict *d, size_t *pos, void **key, rc_val *value);

/* Remove every entry, releasing the values. O(entries). */
RC_API void rc_weakkeydict_clear(rc_weakkeydict *d);

/* ------------------------------------------------------------------------
 * rc_weakset: a set of objects held weakly (WeakSet)
 *
 * Items are objects, compared by identity (as rc_weakkeydict's keys, for
 * the same reason). An item leaves the set when it dies, as an entry of
 * rc_weakkeydict does. An ordinary tracked object (type name "weakset");
 * cost per item: one rc_dict entry plus one weak reference (72 bytes).
 * NULL set: as for rc_weakkeydict.
 * --------------------------------------------------------------------- */

typedef struct rc_weakset_obj rc_weakset;
RC_API extern const rc_type rc_weakset_type;

/* A new empty weak set (NEW reference); NULL with RC_ENOMEM. */
RC_API rc_weakset *rc_weakset_new(rc_heap *heap);

/* Add the object `item` (rc_obj(p)), held weakly; adding a member again
 * changes nothing. The set may be added to itself. 0, or -1 with RC_EINVAL
 * (RC_EMPTY, an immediate, an object of another heap or one being freed)
 * or RC_ENOMEM. Amortised O(1). */
RC_API int rc_weakset_add(rc_weakset *s, rc_val item);

/* Remove `item`: 1 when it was a (live) member, 0 when not (an immediate
 * never is; nothing recorded), -1 with RC_EINVAL when `s` is not a weak
 * set. O(1) expected. */
RC_API int rc_weakset_discard(rc_weakset *s, rc_val item);

/* 1 when `item` is a live member, 0 when not (nothing recorded), -1 with
 * RC_EINVAL when `s` is not a weak set. O(1) expected. */
RC_API int rc_weakset_contains(const rc_weakset *s, rc_val item);

/* Number of live members. O(1). */
RC_API size_t rc_weakset_len(const rc_weakset *s);

/* Iterate over live members in insertion order, as rc_weakkeydict_next:
 * each 1 stores the member as a NEW reference (`item` may be NULL). Members
 * may die or be discarded during the walk; adding may make it skip or
 * repeat members. */
RC_API int rc_weakset_next(rc_weakset *s, size_t *pos, void **item);

/* Remove every member. O(members). */
RC_API void rc_weakset_clear(rc_weakset *s);

#ifdef __cplusplus
}
#endif
#endif /* RECYCLE_WEAKREF_H */
