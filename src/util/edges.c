/*
 * util/edges.c -- rc__foreach_edge (edges.h): RC__EDGES with the label of
 * each reference. A traverse callback's reports are numbered in order.
 */
#include "util/edges.h"

typedef struct edge_visit {
    rc_edge_fn fn;
    void *ctx;
    size_t n;
} edge_visit;

static void edge_adapter(void *obj, void *arg)
{
    edge_visit *ev = arg;
    if (!obj) return;
    rc_edge e = {RC_EDGE_REF, ev->n++, RC_EMPTY};
    ev->fn(RC_HEAD(obj), &e, ev->ctx);
}

#define EDGE_EMIT(child, k, i, kv)                                                      \
    do {                                                                                \
        rc_edge ed_ = {(k), (i), (kv)};                                                  \
        fn((child), &ed_, ctx);                                                          \
    } while (0)
#define EDGE_TRAVERSE(t, user)                                                          \
    do {                                                                                \
        edge_visit ev_ = {fn, ctx, 0};                                                  \
        (t)->traverse((user), edge_adapter, &ev_);                                      \
    } while (0)

void rc__foreach_edge(rc_head *o, rc_edge_fn fn, void *ctx)
{
    RC__EDGES(o, 0, EDGE_EMIT, EDGE_TRAVERSE);
}
