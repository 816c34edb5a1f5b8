/* nodes.h -- object types the tests share: a slots node and a callback node. */
#ifndef RC_TEST_NODES_H
#define RC_TEST_NODES_H

#include "recycle.h"

/* Two to four object slots, described declaratively. */
typedef struct node {
    void *slot[4];
    long payload;
} node;

/* Same struct, references reported by callbacks. */
void cbnode_traverse(void *obj, rc_visit_fn visit, void *arg);
void cbnode_clear(void *obj);

static const rc_type node2_type = {
    .name = "node2", .size = sizeof(node), .slots_offset = 0, .nslots = 2,
};
static const rc_type node4_type = {
    .name = "node4", .size = sizeof(node), .slots_offset = 0, .nslots = 4,
};
static const rc_type cbnode_type = {
    .name = "cbnode", .size = sizeof(node), .traverse = cbnode_traverse, .clear = cbnode_clear,
};
static const rc_type leaf_type = {.name = "leaf", .size = sizeof(node)};

/* Store `v` in slot i of n (n takes its own reference; the old one is dropped). */
static inline void node_set(node *n, int i, void *v)
{
    void *old = n->slot[i];
    if (v) rc_incref(v);
    n->slot[i] = v;
    if (old) rc_decref(old);
}

/* A two-node cycle of type t: its first node, whose reference the caller
 * holds (the only outside one); the second is in its slot 0. NULL, nothing
 * left behind, when an allocation fails. */
static inline node *make_held_cycle(rc_heap *h, const rc_type *t)
{
    node *a = rc_new(h, t), *b = rc_new(h, t);
    if (!a || !b) {
        if (a) rc_decref(a);
        if (b) rc_decref(b);
        return NULL;
    }
    node_set(a, 0, b);
    node_set(b, 0, a);
    rc_decref(b);
    return a;
}

/* A two-node cycle of type t with no outside reference left. */
static inline void make_cycle(rc_heap *h, const rc_type *t)
{
    node *a = make_held_cycle(h, t);
    if (a) rc_decref(a);
}

#define NODES_IMPL                                                             \
    void cbnode_traverse(void *obj, rc_visit_fn visit, void *arg)              \
    {                                                                          \
        node *n = obj;                                                         \
        for (int i = 0; i < 4; i++) visit(n->slot[i], arg);                    \
    }                                                                          \
    void cbnode_clear(void *obj)                                               \
    {                                                                          \
        node *n = obj;                                                         \
        for (int i = 0; i < 4; i++) {                                          \
            void *c = n->slot[i];                                              \
            n->slot[i] = NULL;                                                 \
            if (c) rc_decref(c);                                               \
        }                                                                      \
    }

#endif
