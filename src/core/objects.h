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

/* str: immutable bytes, NUL-terminated for convenience. */
typedef struct rc_str_obj {
    size_t len;
    uint64_t hash;        /* 0 = not computed yet */
    char data[];
} rc_str_obj;

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
