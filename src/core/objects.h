/*
 * objects.h -- the layouts of the built-in objects and the one traversal
 * every part of the library uses to enumerate an object's references.
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

#define RC__USER(o) ((void *)((rc_head *)(o) + 1))

/* The visitor adapter for callback types. */
typedef struct rc__visit_ctx {
    void (*fn)(rc_head *child, void *ctx);
    void *ctx;
} rc__visit_ctx;
void rc__visit_adapter(void *obj, void *arg);

/*
 * Calls fn(child_head, ctx) for each object `o` references (NULLs skipped).
 * Inlined with a constant `fn`, the per-reference work is a direct call that
 * the compiler inlines too: this is the collector's inner loop.
 */
RC_INLINE void rc__foreach_ref(rc_head *o, void (*fn)(rc_head *child, void *ctx), void *ctx)
{
    const rc_type *t = o->type;
    switch (t->rc_kind) {
    case RC_KIND_USER:
        if (t->nslots && !t->traverse) {
            /* Last slot first: a depth-first walk with a stack then visits
             * the first slot's object first, which is usually the next one
             * in memory (objects built parent first, first child first). */
            void **s = (void **)((char *)RC__USER(o) + t->slots_offset);
            for (uint32_t i = t->nslots; i-- > 0;)
                if (s[i]) fn(RC_HEAD(s[i]), ctx);
        } else if (t->traverse) {
            rc__visit_ctx vc = {fn, ctx};
            t->traverse(RC__USER(o), rc__visit_adapter, &vc);
        }
        break;
    case RC_KIND_LIST: {
        rc_list_obj *l = (rc_list_obj *)RC__USER(o);
        if (!l->objs) break;
        for (size_t i = 0; i < l->len; i++)
            if (rc_is_obj(l->items[i])) fn(RC_HEAD(l->items[i]), ctx);
        break;
    }
    case RC_KIND_TUPLE: {
        rc_tuple_obj *tu = (rc_tuple_obj *)RC__USER(o);
        for (size_t i = 0; i < tu->len; i++)
            if (rc_is_obj(tu->items[i])) fn(RC_HEAD(tu->items[i]), ctx);
        break;
    }
    case RC_KIND_DICT: {
        rc_dict_obj *d = (rc_dict_obj *)RC__USER(o);
        for (size_t i = 0; i < d->nentries; i++) {
            rc_dict_entry *e = &d->entries[i];
            if (e->key == RC_EMPTY) continue;
            if (rc_is_obj(e->key)) fn(RC_HEAD(e->key), ctx);
            if (rc_is_obj(e->value)) fn(RC_HEAD(e->value), ctx);
        }
        break;
    }
    default:
        if (t->traverse) {
            rc__visit_ctx vc = {fn, ctx};
            t->traverse(RC__USER(o), rc__visit_adapter, &vc);
        }
        break;
    }
}

#endif
