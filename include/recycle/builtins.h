/*
 * recycle/builtins.h -- the built-in objects: list, tuple, str and dict.
 *
 * They hold rc_val values (see <recycle.h>), so a list of integers costs 8
 * bytes per item and an object stored in a container is an ordinary
 * reference the cycle collector sees.
 *
 * Ownership, the same for every container:
 *   - Containers never steal. A value passed in is borrowed from the caller;
 *     the container takes its own reference (rc_val_incref). The caller still
 *     owns whatever it owned before the call, whether the call succeeded or not.
 *   - Getters return BORROWED values: valid while the container holds them.
 *     rc_val_incref one to keep it past the next change to the container.
 *   - A function that removes a value and hands it back (rc_list_pop) returns
 *     a NEW reference: the caller must rc_val_decref it.
 *   - rc_xxx_new returns a NEW reference to the container.
 *
 * Errors: a function that can fail returns -1 (int), NULL (pointer) or
 * RC_EMPTY (value) and records the reason on the container's heap, read with
 * rc_heap_error() / rc_heap_error_message(): RC_ENOMEM when memory runs out (the
 * container is left exactly as it was), RC_ERANGE for an index out of range,
 * RC_ENOTFOUND for a missing key where a key is required, RC_EINVAL for a
 * bad argument: RC_EMPTY stored as a value, an object of the wrong kind passed
 * as the container, or (debug builds) an object from another heap. A NULL
 * container has no heap to record on: the call returns its error value, and
 * debug builds stop with a message naming the call.
 *
 * Immediates are values, not objects: storing an immediate integer, float,
 * boolean or none touches no reference count. A boxed int (rc_int_new, an
 * integer beyond RC_INT_MIN..RC_INT_MAX) is an object, counted like any other.
 *
 * Containers are not safe against modification during iteration except where
 * a function says so (rc_dict_next tolerates deletes and value replacement).
 */
#ifndef RECYCLE_BUILTINS_H
#define RECYCLE_BUILTINS_H

#include "../recycle.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Handles for the built-in objects. Each is an ordinary recycle object:
 * rc_incref / rc_decref / rc_obj work on it, and it converts to and from
 * void * freely. */
typedef struct rc_list_obj rc_list;
typedef struct rc_tuple_obj rc_tuple;
typedef struct rc_str_obj rc_str;
typedef struct rc_dict_obj rc_dict;

/* The types of the built-ins (rc_typeof(obj) == &rc_list_type, ...).
 * list, tuple and dict are tracked by the cycle collector; str holds no
 * references and is never tracked (nor is int, rc_int_type in <recycle.h>). */
RC_API extern const rc_type rc_list_type;
RC_API extern const rc_type rc_tuple_type;
RC_API extern const rc_type rc_str_type;
RC_API extern const rc_type rc_dict_type;

/* Whether `v` refers to an object of the built-in kind. O(1). */
static inline int rc_is_list(rc_val v)  { return rc_is_obj(v) && rc_typeof(rc_as_obj(v)) == &rc_list_type; }
static inline int rc_is_tuple(rc_val v) { return rc_is_obj(v) && rc_typeof(rc_as_obj(v)) == &rc_tuple_type; }
static inline int rc_is_str(rc_val v)   { return rc_is_obj(v) && rc_typeof(rc_as_obj(v)) == &rc_str_type; }
static inline int rc_is_dict(rc_val v)  { return rc_is_obj(v) && rc_typeof(rc_as_obj(v)) == &rc_dict_type; }

/* ------------------------------------------------------------------------
 * Values: equality and hashing as the dict uses them
 * --------------------------------------------------------------------- */

/*
 * Whether `a` and `b` are equal as dict keys:
 *   - integers, booleans and none compare by value; floats by numeric value
 *     (0.0 equals -0.0) except that NaN equals NaN, so a NaN key can be found;
 *   - integers compare by value whether immediate or boxed (rc_int_new): two
 *     boxed ints made separately are one key;
 *   - str objects compare by content;
 *   - any other object compares by identity;
 *   - values of different kinds are never equal: the integer 1, the float 1.0
 *     and true are three different keys, and so are 2^60 and 2^60 as a float
 *     (Python's dict would make each pair one key).
 * Cost: O(length) for two strs of equal length, O(1) otherwise.
 */
RC_API int rc_val_eq(rc_val a, rc_val b);

/* A 64-bit hash consistent with rc_val_eq (equal values hash equal): a keyed
 * mix of the bits for immediates, of the value for a boxed int, rc_str_hash
 * for a str, a keyed mix of the address for any other object. Keyed with a per-process random key (see
 * rc_hash_seed), so a dict fed keys chosen by an attacker stays fast: which
 * keys collide cannot be computed without the key. Hashes differ from one
 * run to the next unless the seed is fixed.
 * O(1), or O(length) the first time a str is hashed. */
RC_API uint64_t rc_val_hash(rc_val v);

/* Fix the hash key (str, value and dict hashes) to one derived from `seed`,
 * for runs that must repeat exactly (tests, benchmarks), as PYTHONHASHSEED
 * does. The environment variable RC_HASHSEED=<decimal number> does the same
 * without a call; RC_HASHSEED unset, empty or "random" means a random key
 * (from getrandom()). The key is made once per process, the first time any
 * hash is computed: this call works only before that (returns 0), and
 * returns -1 once the key exists, because hashes already stored in dicts and
 * strs must never change. Thread-safe. A fixed seed gives up the protection
 * against chosen keys: use it only where the keys are your own. */
RC_API int rc_hash_seed(uint64_t seed);

/* ------------------------------------------------------------------------
 * list: a growable array of values
 * --------------------------------------------------------------------- */

/* A new empty list (NEW reference) with room for `capacity_hint` items before
 * it first grows (0 = allocate on first append). NULL with RC_ENOMEM when
 * memory runs out. */
RC_API rc_list *rc_list_new(rc_heap *heap, size_t capacity_hint);

/* Number of items. 0 (and RC_EINVAL) if `list` is not a list. */
RC_API size_t rc_list_len(const rc_list *list);

/* Item `i` (BORROWED). RC_EMPTY with RC_ERANGE when i >= length. */
RC_API rc_val rc_list_get(const rc_list *list, size_t i);

/* Replace item `i` with `v` (the list takes its own reference to `v` and drops
 * the one it held to the old item, which may free it). 0, or -1 with RC_ERANGE
 * when i >= length (nothing changes), RC_EINVAL when v is RC_EMPTY. */
RC_API int rc_list_set(rc_list *list, size_t i, rc_val v);

/* Append `v` (the list takes its own reference). 0, or -1 with RC_ENOMEM when
 * the item buffer cannot grow (the list is unchanged and usable), RC_EINVAL
 * when v is RC_EMPTY. Amortised O(1): the capacity doubles when full. */
RC_API int rc_list_append(rc_list *list, rc_val v);

/* Insert `v` before position `i` (the list takes its own reference), like
 * Python's list.insert: a negative i counts from the end (-1 = before the
 * last item), and i is clamped to [0, length], so it never fails for range.
 * 0, or -1 with RC_ENOMEM (list unchanged) or RC_EINVAL (v is RC_EMPTY).
 * O(length - i). */
RC_API int rc_list_insert(rc_list *list, ptrdiff_t i, rc_val v);

/* Remove item `i` (negative counts from the end: -1 = last) and store it in
 * *out as a NEW reference: the list's reference passes to the caller. With
 * out == NULL the item is released instead. 0, or -1 with RC_ERANGE when the
 * index is out of range (the list is unchanged, *out is not written).
 * O(length - i); the buffer shrinks when the list falls under a quarter full. */
RC_API int rc_list_pop(rc_list *list, ptrdiff_t i, rc_val *out);

/* Remove every item, dropping the list's references, and free the item
 * buffer. The list stays usable (length 0). O(length). */
RC_API void rc_list_clear(rc_list *list);

/* The items as an array for fast iteration (BORROWED), its length in *len
 * (len may be NULL). NULL when the list is empty and has no buffer. Invalid
 * after any change to the list, including one made by code that runs when
 * an item is released. */
RC_API const rc_val *rc_list_items(const rc_list *list, size_t *len);

/* ------------------------------------------------------------------------
 * tuple: a fixed-length array of values, items stored inline
 * --------------------------------------------------------------------- */

/* A new tuple of `n` items (NEW reference) holding its own references to
 * items[0..n-1], taken before the tuple is made (that may collect, running
 * code that drops the caller's last reference to an item: the tuple keeps
 * it); with items == NULL every item is none. NULL with RC_ENOMEM
 * when memory runs out (the items' counts as they were), RC_EINVAL when an
 * item is RC_EMPTY or n is too large. O(n). A tuple made from n >= 1 items
 * that are all immediates, strs or ints can be on no cycle: it is born
 * untracked (rc_gc_is_tracked 0; the collector never counts nor scans it,
 * rc_gc_get_referrers does not see it), as CPython untracks such tuples. */
RC_API rc_tuple *rc_tuple_new(rc_heap *heap, size_t n, const rc_val *items);

/* Number of items. 0 (and RC_EINVAL) if `tuple` is not a tuple. */
RC_API size_t rc_tuple_len(const rc_tuple *tuple);

/* Item `i` (BORROWED). RC_EMPTY with RC_ERANGE when i >= length. */
RC_API rc_val rc_tuple_get(const rc_tuple *tuple, size_t i);

/* Store `v` as item `i`: for filling a tuple right after rc_tuple_new, before
 * it is shared (tuples are meant to be immutable once built). The tuple takes
 * its own reference to `v` and drops the one to the old item. An untracked
 * tuple given an object that can hold references is tracked (generation 0).
 * 0, or -1 with RC_ERANGE when i >= length, RC_EINVAL when v is RC_EMPTY,
 * RC_ENOMEM when it cannot be tracked (nothing stored). */
RC_API int rc_tuple_set(rc_tuple *tuple, size_t i, rc_val v);

/* The items as an array (BORROWED) and their number in *len (may be NULL). */
RC_API const rc_val *rc_tuple_items(const rc_tuple *tuple, size_t *len);

/* ------------------------------------------------------------------------
 * str: immutable bytes
 * --------------------------------------------------------------------- */

/* A new str (NEW reference) holding a copy of bytes[0..len-1] followed by a
 * NUL; the bytes may contain NULs. `bytes` may be NULL only when len is 0.
 * NULL with RC_ENOMEM when memory runs out, RC_EINVAL for NULL bytes with
 * len > 0 or a length too large (above 2^32 - 1 bytes). O(len). Memory: the
 * 16-byte header, a 4-byte length, the bytes and the NUL (and 8 bytes of
 * cached hash from 128 bytes on), rounded up to a size class. */
RC_API rc_str *rc_str_new(rc_heap *heap, const char *bytes, size_t len);

/* rc_str_new(heap, s, strlen(s)). `s` must not be NULL (RC_EINVAL). */
RC_API rc_str *rc_str_from_cstr(rc_heap *heap, const char *s);

/* Length in bytes, the trailing NUL not counted. */
RC_API size_t rc_str_len(const rc_str *s);

/* The bytes, NUL-terminated (BORROWED: valid while the str lives). */
RC_API const char *rc_str_data(const rc_str *s);

/* A 64-bit hash of the content, never 0. O(length): a str of 128 bytes or
 * more computes it on first use and caches it (O(1) afterwards); a shorter
 * one keeps no hash (8 bytes less each) and computes it again. Strings with equal content hash
 * equal, whatever their heap, within one process: the hash is SipHash-1-3
 * under the process's random key (rc_hash_seed, RC_HASHSEED), so it differs
 * between runs unless the seed is fixed. */
RC_API uint64_t rc_str_hash(const rc_str *s);

/* Whether two strs hold the same bytes. O(length) at worst; O(1) when the
 * lengths or (strs of 128 bytes or more) the cached hashes differ. */
RC_API int rc_str_eq(const rc_str *a, const rc_str *b);

/* Byte order as memcmp, a prefix before the longer string: < 0, 0 or > 0.
 * O(length). */
RC_API int rc_str_cmp(const rc_str *a, const rc_str *b);

/* ------------------------------------------------------------------------
 * dict: a hash map from values to values, iterated in insertion order
 * --------------------------------------------------------------------- */

/* A new empty dict (NEW reference); its tables are allocated on first insert.
 * NULL with RC_ENOMEM when memory runs out. */
RC_API rc_dict *rc_dict_new(rc_heap *heap);

/* Number of keys. */
RC_API size_t rc_dict_len(const rc_dict *d);

/* Map `key` to `value` (keys compare as rc_val_eq says). The dict holds its
 * own references to both. When the key is present its value is replaced (the
 * reference to the old value is dropped, the key stored first is kept) and
 * its position in the iteration order does not change; otherwise the pair
 * goes last. 0, or -1 with RC_ENOMEM when the tables cannot grow (the dict is
 * unchanged and usable), RC_EINVAL when key or value is RC_EMPTY.
 * Amortised O(1) (plus hashing a str key the first time). */
RC_API int rc_dict_set(rc_dict *d, rc_val key, rc_val value);

/* The value for `key` (BORROWED), or RC_EMPTY when the key is missing. A miss
 * is not an error: nothing is recorded. O(1) expected. */
RC_API rc_val rc_dict_get(const rc_dict *d, rc_val key);

/* As rc_dict_get with the str key holding the C string `key` (NUL-terminated),
 * without creating a str. */
RC_API rc_val rc_dict_get_str(const rc_dict *d, const char *key);

/* 1 when `key` is present, 0 otherwise. */
RC_API int rc_dict_contains(const rc_dict *d, rc_val key);

/* Remove `key` and drop the dict's references to it and its value (which
 * may free them). 0, or -1 with RC_ENOTFOUND when it is missing. O(1)
 * expected; the space is reclaimed when the dict next grows or is cleared. */
RC_API int rc_dict_del(rc_dict *d, rc_val key);

/*
 * Iterate in insertion order, like PyDict_Next: set *pos = 0, then call until
 * it returns 0. Each call that returns 1 stores the next key and value
 * (BORROWED; either pointer may be NULL) and advances *pos. During the walk
 * values may be replaced and keys deleted (including the current one); adding
 * keys invalidates the walk. Cost over a whole walk: O(keys ever inserted
 * since the tables were last rebuilt).
 */
RC_API int rc_dict_next(const rc_dict *d, size_t *pos, rc_val *key, rc_val *value);

/* Remove every key, dropping the dict's references, and free its tables. The
 * dict stays usable (length 0). O(entries). */
RC_API void rc_dict_clear(rc_dict *d);

/* Under RC_TRACE_SITES (GCC, Clang) the constructors record the caller's
 * site when the heap traces allocation sites (see RC__SITED in <recycle.h>). */
#ifdef RC__SITED
#define rc_list_new(heap, capacity_hint) RC__SITED(rc_list_new, heap, capacity_hint)
#define rc_tuple_new(heap, n, items) RC__SITED(rc_tuple_new, heap, n, items)
#define rc_str_new(heap, bytes, len) RC__SITED(rc_str_new, heap, bytes, len)
#define rc_str_from_cstr(heap, s) RC__SITED(rc_str_from_cstr, heap, s)
#define rc_dict_new(heap) RC__SITED(rc_dict_new, heap)
#endif

#ifdef __cplusplus
}
#endif
#endif /* RECYCLE_BUILTINS_H */
