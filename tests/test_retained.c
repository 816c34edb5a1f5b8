/* test_retained.c -- retained sizes from the dominator tree, checked against
 * a brute-force computation on random graphs: for each object, the bytes of
 * the objects that the roots no longer reach when it is taken away. */
#include "harness.h"
#include "testutil.h"
#include "nodes.h"
#include "failalloc.h"
#include "recycle/builtins.h"
#include "recycle/leak.h"
#include <stdbool.h>
#include <stdlib.h>

NODES_IMPL

TEST(a_chain_retains_everything_after_it)
{
    rc_heap *h = quiet_heap();
    node *head = rc_new(h, &node2_type), *cur = head;
    node *nodes[10];
    nodes[0] = head;
    for (int i = 1; i < 10; i++) {
        node *n = rc_new(h, &node2_type);
        cur->slot[0] = n;
        cur = n;
        nodes[i] = n;
    }
    size_t one = rc_self_size(head);
    rc_domtree *t = rc_domtree_build(h, NULL);
    REQUIRE(t);
    for (int i = 0; i < 10; i++) CHECK_EQ_INT(rc_domtree_retained_size(t, nodes[i]), (10 - i) * one);
    CHECK(rc_domtree_dominator(t, head) == NULL);   /* held from outside */
    CHECK(rc_domtree_dominator(t, nodes[5]) == nodes[4]);
    CHECK_EQ_INT(rc_domtree_objects(t), 10);
    CHECK_EQ_INT(rc_domtree_bytes(t), 10 * one);
    size_t n;
    rc_root *top = rc_domtree_top(t, 3, &n);
    REQUIRE(top && n == 3);
    CHECK(top[0].obj == head && top[0].external == 10 * one);
    CHECK(top[1].obj == nodes[1] && top[2].obj == nodes[2]);
    rc_root_free(top);
    rc_domtree_free(t);
    CHECK_EQ_INT(rc_retained(nodes[8]), 2 * one);
    rc_decref(head);
    rc_heap_free(h);
}

TEST(a_shared_object_is_retained_by_neither_holder_but_by_their_common_dominator)
{
    rc_heap *h = quiet_heap();
    node *top = rc_new(h, &node2_type), *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
    rc_list *shared = rc_list_new(h, 0);
    for (int i = 0; i < 100; i++) rc_list_append(shared, rc_int(i));
    node_set(top, 0, a);
    node_set(top, 1, b);
    node_set(a, 0, shared);
    node_set(b, 0, shared);
    rc_decref(a);
    rc_decref(b);
    rc_decref(shared);
    rc_domtree *t = rc_domtree_build(h, NULL);
    size_t s = rc_self_size(top);
    CHECK_EQ_INT(rc_domtree_retained_size(t, a), s);
    CHECK_EQ_INT(rc_domtree_retained_size(t, b), s);
    CHECK_EQ_INT(rc_domtree_retained_size(t, shared), rc_self_size(shared));
    CHECK_EQ_INT(rc_domtree_retained_size(t, top), 3 * s + rc_self_size(shared));
    CHECK(rc_domtree_dominator(t, shared) == top);
    rc_domtree_free(t);
    /* A garbage cycle is outside the tree. */
    node *x = rc_new(h, &node2_type), *y = rc_new(h, &node2_type);
    node_set(x, 0, y);
    node_set(y, 0, x);
    rc_decref(y);
    rc_incref(x);
    rc_decref(x);
    t = rc_domtree_build(h, NULL);
    CHECK_EQ_INT(rc_domtree_retained_size(t, x), 2 * s);   /* still held by us */
    rc_domtree_free(t);
    rc_decref(x);
    rc_domtree *t2 = rc_domtree_build(h, NULL);
    CHECK_EQ_INT(rc_domtree_retained_size(t2, x), 0);
    CHECK_EQ_INT(rc_domtree_objects(t2), 4);
    rc_domtree_free(t2);
    rc_gc_collect(h, 2);
    rc_decref(top);
    rc_heap_free(h);
}

/* ---- brute force ---- */

enum { MAXN = 48 };

typedef struct world {
    void *obj[MAXN];
    int n;
    bool root[MAXN];
    size_t size[MAXN];
    int adj[MAXN][MAXN * 2];
    int deg[MAXN];
} world;

static int index_of(const world *w, void *o)
{
    for (int i = 0; i < w->n; i++)
        if (w->obj[i] == o) return i;
    return -1;
}

/* Bytes reachable from the roots when object `skip` (-1: none) is gone. */
static size_t reachable_bytes(const world *w, int skip, bool *seen)
{
    int stack[MAXN], top = 0;
    size_t bytes = 0;
    memset(seen, 0, MAXN * sizeof *seen);
    for (int i = 0; i < w->n; i++)
        if (w->root[i] && i != skip) {
            seen[i] = true;
            stack[top++] = i;
        }
    while (top) {
        int v = stack[--top];
        bytes += w->size[v];
        for (int k = 0; k < w->deg[v]; k++) {
            int c = w->adj[v][k];
            if (c == skip || seen[c]) continue;
            seen[c] = true;
            stack[top++] = c;
        }
    }
    return bytes;
}

static void gather(world *w, rc_heap *h, const char *type)
{
    rc_list *l = rc_by_type(h, type);
    for (size_t i = 0; i < rc_list_len(l) && w->n < MAXN; i++) w->obj[w->n++] = rc_as_obj(rc_list_get(l, i));
    rc_decref(l);
}

static void check_random_graph(unsigned seed)
{
    srand(seed);
    rc_heap *h = quiet_heap();
    int n = 5 + rand() % 35;
    void *objs[MAXN];
    for (int i = 0; i < n; i++) {
        int k = rand() % 3;
        objs[i] = k == 0 ? rc_new(h, &node4_type) : k == 1 ? (void *)rc_new(h, &cbnode_type)
                                                               : (void *)rc_list_new(h, 0);
    }
    int edges = rand() % (2 * n + 1);
    for (int e = 0; e < edges; e++) {
        void *a = objs[rand() % n], *b = objs[rand() % n];
        if (rc_typeof(a) == &rc_list_type) rc_list_append(a, rc_obj(b));
        else node_set(a, rand() % 4, b);
    }
    for (int i = 0; i < n; i++)
        if (rand() % 10 < 7) {   /* the rest stay held by us: roots */
            rc_decref(objs[i]);
            objs[i] = NULL;
        }
    world w;
    memset(&w, 0, sizeof w);
    gather(&w, h, "node4");
    gather(&w, h, "cbnode");
    gather(&w, h, "list");
    for (int i = 0; i < w.n; i++) {
        void *o = w.obj[i];
        w.root[i] = rc_external_refs(o) > 0;
        w.size[i] = rc_self_size(o);
        if (rc_typeof(o) == &rc_list_type) {
            size_t len;
            const rc_val *items = rc_list_items(o, &len);
            for (size_t k = 0; k < len; k++) w.adj[i][w.deg[i]++] = index_of(&w, rc_as_obj(items[k]));
        } else {
            node *nd = o;
            for (int k = 0; k < 4; k++)
                if (nd->slot[k]) w.adj[i][w.deg[i]++] = index_of(&w, nd->slot[k]);
        }
    }
    bool seen[MAXN], reach[MAXN];
    size_t total = reachable_bytes(&w, -1, reach);
    rc_domtree *t = rc_domtree_build(h, NULL);
    REQUIRE(t);
    CHECK_EQ_INT(rc_domtree_bytes(t), total);
    for (int i = 0; i < w.n; i++) {
        size_t want = reach[i] ? total - reachable_bytes(&w, i, seen) : 0;
        size_t got = rc_domtree_retained_size(t, w.obj[i]);
        if (got != want) fprintf(stderr, "  seed %u object %d: retained %zu, brute force %zu\n", seed, i, got, want);
        CHECK_EQ_INT(got, want);
    }
    rc_domtree_free(t);
    for (int i = 0; i < n; i++) rc_xdecref(objs[i]);
    rc_heap_free(h);
}

TEST(retained_sizes_match_brute_force_on_random_graphs)
{
    unsigned runs = getenv("RC_TEST_QUICK") ? 100 : 1000;
    for (unsigned seed = 1; seed <= runs && !rc_test_failed_; seed++) check_random_graph(seed);
}

TEST(a_deep_tree_with_parent_pointers_is_handled_without_recursion)
{
    rc_heap *h = quiet_heap();
    /* A 200,000-long doubly-linked chain: deep and cyclic. */
    int n = getenv("RC_TEST_QUICK") ? 20000 : 200000;
    node *head = rc_new(h, &node2_type), *cur = head;
    for (int i = 1; i < n; i++) {
        node *x = rc_new(h, &node2_type);
        node_set(x, 1, cur);
        cur->slot[0] = x;   /* takes our reference */
        cur = x;
    }
    rc_domtree *t = rc_domtree_build(h, NULL);
    REQUIRE(t);
    size_t one = rc_self_size(head);
    CHECK_EQ_INT(rc_domtree_retained_size(t, head), (size_t)n * one);
    CHECK_EQ_INT(rc_domtree_retained_size(t, cur), one);
    rc_domtree_free(t);
    rc_decref(head);
    rc_gc_collect(h, 2);
    rc_heap_free(h);
}

TEST(building_fails_cleanly_when_memory_runs_out)
{
    rc_heap *h = fa_heap_new();
    rc_gc_disable(h);
    node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
    node_set(a, 0, b);
    rc_decref(b);
    rc_domtree *t = NULL;
    for (long k = 0; k < 100 && !t; k++) {
        fa_arm(k);
        t = rc_domtree_build(h, NULL);
        fa_disarm();
        if (!t) CHECK_EQ_INT(rc_heap_error(h), RC_ENOMEM);
    }
    REQUIRE(t);
    CHECK_EQ_INT(rc_domtree_retained_size(t, a), 2 * rc_self_size(a));
    rc_domtree_free(t);
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.buffer_bytes, 0);   /* every side table went back */
    rc_decref(a);
    rc_heap_free(h);
}

RC_TEST_MAIN
