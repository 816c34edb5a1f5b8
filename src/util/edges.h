/*
 * util/edges.h -- the one edge enumerator: the references an object holds,
 * for everything that follows them (the collector, the heap verifier, the
 * gc queries, the end report and every leak tool).
 *
 * RC__EDGES is the one switch over the kinds of object: a slots type's
 * slots, a traverse callback's reports, a list's or tuple's items, a dict's
 * keys and values. Two functions expand it:
 *
 *   rc__foreach_ref   fn(child, ctx) per reference. Inline: with a constant
 *                     fn the per-reference work is a direct call that the
 *                     compiler inlines too (the collector's inner loop).
 *                     Slots go last first: a depth-first walk with a stack
 *                     then visits the first slot's object first, usually
 *                     the next one in memory (objects built parent first,
 *                     first child first).
 *   rc__foreach_edge  fn(child, edge, ctx) per reference, with how it is
 *                     held (rc_edge: slot, item or dict entry and its key),
 *                     in slot / index / entry order; for labels (DOT,
 *                     chains, heap snapshots).
 *
 * So both report the same children (tests/test_leak.c checks). A weak
 * reference's referent is no edge (lk_weak_referent finds it).
 */
#ifndef RC_UTIL_EDGES_H
#define RC_UTIL_EDGES_H

#include "core/objects.h"

enum {
    RC_EDGE_SLOT,       /* slots type: slot `index` */
    RC_EDGE_REF,        /* traverse type: the index-th reference reported */
    RC_EDGE_ITEM,       /* list or tuple item `index` */
    RC_EDGE_DICT_KEY,   /* a dict's key object (entry `index`) */
    RC_EDGE_DICT_VALUE, /* a dict's value for `key` (entry `index`) */
};

typedef struct rc_edge {
    int kind;
    size_t index;
    rc_val key;         /* RC_EDGE_DICT_VALUE: the entry's key; else RC_EMPTY */
} rc_edge;

typedef void (*rc_edge_fn)(rc_head *child, const rc_edge *e, void *ctx);

/* EMIT(child, kind, index, key) for each reference of o (NULLs and
 * immediates skipped); TRAVERSE(type, user) for a type with a traverse
 * callback; slots last first when SLOTS_REVERSED (a constant). */
#define RC__EDGES(o, SLOTS_REVERSED, EMIT, TRAVERSE)                                   \
    do {                                                                                \
        const rc_type *t_ = (o)->type;                                                  \
        switch (t_->rc_kind) {                                                          \
        case RC_KIND_USER:                                                              \
            if (t_->nslots && !t_->traverse) {                                          \
                void **s_ = (void **)((char *)RC__USER(o) + t_->slots_offset);          \
                if (SLOTS_REVERSED) {                                                   \
                    for (uint32_t i_ = t_->nslots; i_-- > 0;)                           \
                        if (s_[i_]) EMIT(RC_HEAD(s_[i_]), RC_EDGE_SLOT, i_, RC_EMPTY);  \
                } else {                                                                \
                    for (uint32_t i_ = 0; i_ < t_->nslots; i_++)                        \
                        if (s_[i_]) EMIT(RC_HEAD(s_[i_]), RC_EDGE_SLOT, i_, RC_EMPTY);  \
                }                                                                       \
            } else if (t_->traverse) {                                                  \
                TRAVERSE(t_, RC__USER(o));                                              \
            }                                                                           \
            break;                                                                      \
        case RC_KIND_LIST: {                                                            \
            rc_list_obj *l_ = (rc_list_obj *)RC__USER(o);                               \
            if (!l_->objs) break; /* a list of numbers */                               \
            for (size_t i_ = 0; i_ < l_->len; i_++)                                     \
                if (rc_is_obj(l_->items[i_]))                                           \
                    EMIT(RC_HEAD(l_->items[i_]), RC_EDGE_ITEM, i_, RC_EMPTY);           \
            break;                                                                      \
        }                                                                               \
        case RC_KIND_TUPLE: {                                                           \
            rc_tuple_obj *tu_ = (rc_tuple_obj *)RC__USER(o);                            \
            for (size_t i_ = 0; i_ < tu_->len; i_++)                                    \
                if (rc_is_obj(tu_->items[i_]))                                          \
                    EMIT(RC_HEAD(tu_->items[i_]), RC_EDGE_ITEM, i_, RC_EMPTY);          \
            break;                                                                      \
        }                                                                               \
        case RC_KIND_DICT: {                                                            \
            rc_dict_obj *d_ = (rc_dict_obj *)RC__USER(o);                               \
            for (size_t i_ = 0; i_ < d_->nentries; i_++) {                              \
                rc_dict_entry *e_ = &d_->entries[i_];                                   \
                if (e_->key == RC_EMPTY) continue;                                      \
                if (rc_is_obj(e_->key)) EMIT(RC_HEAD(e_->key), RC_EDGE_DICT_KEY, i_, RC_EMPTY); \
                if (rc_is_obj(e_->value))                                               \
                    EMIT(RC_HEAD(e_->value), RC_EDGE_DICT_VALUE, i_, e_->key);          \
            }                                                                           \
            break;                                                                      \
        }                                                                               \
        case RC_KIND_STR: /* str and int hold no references */                          \
        case RC_KIND_INT:                                                               \
            break;                                                                      \
        default: /* weakref: its traverse (held value, owned data) */                   \
            if (t_->traverse) TRAVERSE(t_, RC__USER(o));                                \
            break;                                                                      \
        }                                                                               \
    } while (0)

#define RC__REF_EMIT(child, kind, index, key) fn((child), ctx)
#define RC__REF_TRAVERSE(t, user)                                                       \
    do {                                                                                \
        rc__visit_ctx vc_ = {fn, ctx};                                                  \
        (t)->traverse((user), rc__visit_adapter, &vc_);                                 \
    } while (0)

/* Calls fn(child_head, ctx) for each object `o` references (NULLs skipped). */
RC_INLINE void rc__foreach_ref(rc_head *o, void (*fn)(rc_head *child, void *ctx), void *ctx)
{
    RC__EDGES(o, 1, RC__REF_EMIT, RC__REF_TRAVERSE);
}

/* Calls fn(child, edge, ctx) for each reference o holds, in slot / index /
 * entry order (rc__foreach_ref reports the same children, slots in
 * reverse). The edge lives for the call only. */
void rc__foreach_edge(rc_head *o, rc_edge_fn fn, void *ctx);

#endif
