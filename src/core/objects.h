/*
 * objects.h -- the layouts of the built-in objects (util/edges.h follows
 * their references), and the adapter from a traverse callback's void *
 * reports to a function of object heads.
 */
#ifndef RC_OBJECTS_H
#define RC_OBJECTS_H

#include "core/internal.h"

/* list: items live in a separate buffer so the list can grow in place. */
typedef struct rc_list_obj {
    size_t len, cap;
    rc_val *items;
    bool objs;            /* an object was stored since the last clear: without
                             one, no item needs looking at (a list of numbers) */
} rc_list_obj;

/* tuple: fixed length, items inline. */
typedef struct rc_tuple_obj {
    size_t len;
    rc_val items[];
} rc_tuple_obj;

/* dict: insertion-ordered entries plus an open-addressing index of entry
 * positions. A deleted entry has key == RC_EMPTY. */
typedef struct rc_dict_entry {
    uint64_t hash;
    rc_val key, value;
} rc_dict_entry;
typedef struct rc_dict_obj {
    size_t len;           /* live entries */
    size_t nentries;      /* entries used, deleted ones included */
    size_t cap;           /* entries allocated */
    rc_dict_entry *entries;
    uint32_t *index;      /* 2^index_bits slots: entry position + 1, 0 = free, ~0u = deleted */
    unsigned index_bits;
} rc_dict_obj;

/* str: immutable bytes, NUL-terminated for convenience, in one block:
 *   offset 0  uint32 len   bytes, the NUL not counted (at most RC__STR_MAX)
 *   offset 4  data         len bytes, then the NUL
 * and, for a str of RC__STR_HASHED bytes or more only, the cached hash
 * (uint64, 0 = not computed yet) at the next multiple of 8 after the NUL
 * (rc__str_hash_off). A shorter str keeps no hash: hashing its bytes again
 * costs less than 8 bytes in every one of them (a catalog of a million rows
 * is four million short strs). */
typedef struct rc_str_obj {
    uint32_t len;
    char data[];
} rc_str_obj;
#define RC__STR_MAX 0xFFFFFFFFu   /* the longest str, in bytes */
#define RC__STR_HASHED 128u       /* from this length on, the hash is cached */

/* Where the cached hash of a str of `len` (>= RC__STR_HASHED) bytes sits,
 * from the start of its rc_str_obj: 8-aligned past the NUL. */
static inline size_t rc__str_hash_off(size_t len)
{
    return (offsetof(rc_str_obj, data) + len + 1 + 7) & ~(size_t)7;
}

/* The bytes an rc_str_obj of `len` bytes takes (after the header). */
static inline size_t rc__str_size(size_t len)
{
    return len < RC__STR_HASHED ? offsetof(rc_str_obj, data) + len + 1
                                : rc__str_hash_off(len) + sizeof(uint64_t);
}

/* int: a boxed integer, one outside [RC_INT_MIN, RC_INT_MAX] (int.c). */
typedef struct rc_int_obj {
    int64_t value;
} rc_int_obj;

#define RC__USER(o) ((void *)((rc_head *)(o) + 1))

/* The visitor adapter for callback types: t->traverse(user,
 * rc__visit_adapter, &(rc__visit_ctx){fn, ctx}) calls fn(child head, ctx)
 * for each non-NULL report. */
typedef struct rc__visit_ctx {
    void (*fn)(rc_head *child, void *ctx);
    void *ctx;
} rc__visit_ctx;
void rc__visit_adapter(void *obj, void *arg);

#endif
