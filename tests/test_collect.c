/* test_collect.c -- the cycle collector: generations, counts and thresholds,
 * candidate scans, finalizers and resurrection, re-entry. */
#include "harness.h"
#include "testutil.h"
#include "nodes.h"
#include "core/internal.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

NODES_IMPL


TEST(a_cycle_survives_refcounting_and_goes_at_collection)
{
    rc_heap *h = rc_heap_new(NULL);
    make_cycle(h, &node2_type);
    CHECK_EQ_INT(live_objects(h), 2);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(cycles_of_callback_types_are_collected)
{
    rc_heap *h = unstressed_heap();   /* counts what one rc_gc_collect frees: stress frees it sooner */
    for (int i = 0; i < 100; i++) make_cycle(h, &cbnode_type);
    CHECK_EQ_INT(rc_gc_collect(h, 0), 200);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(a_self_cycle_is_collected)
{
    rc_heap *h = rc_heap_new(NULL);
    node *a = rc_new(h, &node2_type);
    node_set(a, 1, a);
    rc_decref(a);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 1);
    rc_heap_free(h);
}

TEST(reachable_objects_survive_with_their_contents)
{
    rc_heap *h = rc_heap_new(NULL);
    node *root = rc_new(h, &node4_type);
    node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
    a->payload = 11;
    b->payload = 22;
    node_set(root, 0, a);
    node_set(a, 0, b);
    node_set(b, 0, a);
    rc_decref(a);
    rc_decref(b);
    for (int g = 0; g <= 2; g++) CHECK_EQ_INT(rc_gc_collect(h, g), 0);
    CHECK(root->slot[0] == a && a->slot[0] == b && b->slot[0] == a);
    CHECK(a->payload == 11 && b->payload == 22);
    CHECK_EQ_INT(rc_refcount(a), 2);
    CHECK_EQ_INT(rc_refcount(b), 1);
    node_set(root, 0, NULL);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2);
    rc_decref(root);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(garbage_pointing_into_live_objects_releases_them)
{
    rc_heap *h = rc_heap_new(NULL);
    node *keep = rc_new(h, &node2_type);
    make_cycle(h, &node2_type);
    node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
    node_set(a, 0, b);
    node_set(b, 0, a);
    node_set(a, 1, keep);
    rc_decref(a);
    rc_decref(b);
    CHECK_EQ_INT(rc_refcount(keep), 2);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 4);
    CHECK_EQ_INT(rc_refcount(keep), 1);
    rc_decref(keep);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(survivors_move_up_one_generation_per_collection)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_gc_disable(h);
    node *a = rc_new(h, &node2_type);
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.gen_objects[0], 1);
    rc_gc_collect(h, 0);
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.gen_objects[0], 0);
    CHECK_EQ_INT(st.gen_objects[1], 1);
    rc_gc_collect(h, 1);
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.gen_objects[2], 1);
    rc_decref(a);
    rc_heap_free(h);
}

TEST(young_collection_leaves_old_cycles_alone)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_gc_disable(h);
    node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
    node_set(a, 0, b);
    node_set(b, 0, a);
    rc_decref(b);
    rc_gc_collect(h, 1);   /* a and b are old now */
    node *c = rc_new(h, &node2_type);
    node_set(c, 0, c);
    rc_decref(c);
    /* drop a while a young collection alone cannot free old objects: the
     * decrement makes a a candidate, which rc_gc_collect processes too */
    rc_decref(a);
    CHECK_EQ_INT(rc_gc_collect(h, 0), 3);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(counts_follow_python_gc_get_count)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_gc_disable(h);
    size_t c[3];
    node *xs[5];
    for (int i = 0; i < 5; i++) xs[i] = rc_new(h, &node2_type);
    rc_gc_get_count(h, c);
    CHECK(c[0] == 5 && c[1] == 0 && c[2] == 0);
    rc_decref(xs[4]);
    rc_gc_get_count(h, c);
    CHECK_EQ_INT(c[0], 4);
    rc_gc_collect(h, 0);
    rc_gc_get_count(h, c);
    CHECK(c[0] == 0 && c[1] == 1 && c[2] == 0);
    rc_gc_collect(h, 0);
    rc_gc_collect(h, 1);
    rc_gc_get_count(h, c);
    CHECK(c[0] == 0 && c[1] == 0 && c[2] == 1);
    rc_gc_collect(h, 2);
    rc_gc_get_count(h, c);
    CHECK(c[0] == 0 && c[1] == 0 && c[2] == 0);
    for (int i = 0; i < 4; i++) rc_decref(xs[i]);
    rc_heap_free(h);
}

TEST(thresholds_trigger_automatic_collections)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_gc_set_threshold(h, 100, 2, 2);
    unsigned t[3];
    rc_gc_get_threshold(h, t);
    CHECK(t[0] == 100 && t[1] == 2 && t[2] == 2);
    for (int i = 0; i < 1000; i++) make_cycle(h, &node2_type);
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    CHECK(st.collections[0] >= 5);
    CHECK(st.collections[1] >= 1);
    CHECK(st.objects < 300);
    rc_heap_free(h);
}

/* Grow the list under `keep` by n nodes that all survive. */
static void grow_list(rc_heap *h, node *keep, int n)
{
    for (int i = 0; i < n; i++) {
        node *x = rc_new(h, &node2_type);
        node_set(x, 0, keep->slot[0]);
        node_set(keep, 0, x);
        rc_decref(x);
    }
}

/* The largest set of one kind of collection (and generation) a heap ran:
 * a gc callback's `arg`. */
typedef struct set_watch {
    int kind, generation;
    size_t largest;
} set_watch;

static void note_set(rc_heap *h, int phase, const rc_gc_info *info, void *arg)
{
    set_watch *w = arg;
    (void)h;
    if (phase == RC_GC_STOP && info->kind == w->kind && info->generation == w->generation &&
        info->examined > w->largest)
        w->largest = info->examined;
}

/* A heap whose policy is checked (stress mode would collect always) with
 * thresholds t0, t1, t2, its sets watched by `w`. */
static rc_heap *watched_heap(unsigned t0, unsigned t1, unsigned t2, set_watch *w)
{
    rc_heap *h = unstressed_heap();
    rc_gc_set_threshold(h, t0, t1, t2);
    rc_gc_callback_add(h, note_set, w);
    return h;
}

/* Two-node cycles kept in a ring of `ring_len` slots, each dropping the
 * cycle it replaces: each lives for about 2 x ring_len allocations. */
static void ring_of_cycles(rc_heap *h, node **ring, int ring_len, int n)
{
    for (int i = 0; i < n; i++) {
        node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
        node_set(a, 0, b);
        node_set(b, 0, a);
        rc_decref(b);
        if (ring[i % ring_len]) rc_decref(ring[i % ring_len]);
        ring[i % ring_len] = a;
    }
}

TEST(young_collections_keep_their_pace_while_nothing_dies)
{
    /* No back-off: a young set that finds nothing is no reason to let the
     * next one grow past the caches. */
    set_watch young = {RC_GC_GENERATIONS, 0, 0};
    rc_heap *h = watched_heap(100, 1000, 1000, &young);
    enum { N = 20000 };
    node *keep = rc_new(h, &node4_type);
    grow_list(h, keep, N);   /* all survive */
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    /* at threshold 100 exactly, it takes N / 100 collections */
    CHECK(st.collections[0] >= N / 100 - 2);
    CHECK(young.largest > 0 && young.largest <= 101);
    for (int i = 0; i < N / 2; i++) make_cycle(h, &node2_type);
    CHECK(live_objects(h) <= (size_t)N + 1 + 800);   /* the cycles do not pile up */
    node_set(keep, 0, NULL);
    rc_decref(keep);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(backed_off_young_collections_bring_generation_one_sooner)
{
    /* With young collections 8 times rarer, generation 1 must be collected
     * after 8 times fewer of them, or its set (and pause) grows 8 times:
     * generation 1 with the young generation never holds more than about
     * two backed-off young sets (8 x 100 objects each). */
    set_watch mid = {RC_GC_GENERATIONS, 1, 0};
    rc_heap *h = watched_heap(100, 8, 1000, &mid);
    node *keep = rc_new(h, &node4_type);
    grow_list(h, keep, 40000);
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    CHECK(st.collections[0] > 0);
    CHECK(st.collections[1] > 0);
    CHECK(mid.largest > 0 && mid.largest <= 2 * 8 * 100 + 100);
    node_set(keep, 0, NULL);
    rc_decref(keep);
    rc_heap_free(h);
}

TEST(generation_one_is_skipped_while_nothing_dies_there_and_comes_back_on_garbage)
{
    /* Survivors that never die make every generation-1 collection examine
     * them a second time for nothing: young survivors then go straight to
     * the old generation, and generation 1 is only probed now and then. */
    rc_heap *h = unstressed_heap();   /* checks when the policy collects: stress collects always */
    rc_gc_set_threshold(h, 100, 4, 1000);
    /* RC_TEST_QUICK (malloc mode, valgrind): a quarter of it. With the heap verifier
     * around each of its collections the full size took minutes. */
    int scale = getenv("RC_TEST_QUICK") ? 1 : 4;
    node *keep = rc_new(h, &node4_type);
    grow_list(h, keep, 50000 * scale);
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    size_t young = st.collections[0], mid = st.collections[1];
    CHECK(young > 100);
    CHECK(mid * 8 < young);    /* without skipping: one in t1, at least 1 in 2 */
    CHECK(st.gen_objects[1] < 10000);
    /* Middle-aged garbage: cycles that outlive a few young collections and
     * die before generation 1 would be collected. A probe finds them there,
     * and generation 1 is collected at its threshold's pace again. */
    enum { RING = 150 };
    node *ring[RING] = {0};
    ring_of_cycles(h, ring, RING, 15000 * scale);
    rc_heap_stats st2;
    rc_heap_get_stats(h, &st2);
    size_t young2 = st2.collections[0] - young, mid2 = st2.collections[1] - mid;
    CHECK(young2 > 100);
    CHECK(mid2 * 8 > young2);
    for (int i = 0; i < RING; i++) rc_decref(ring[i]);
    node_set(keep, 0, NULL);
    rc_decref(keep);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(young_collections_wait_twice_as_long_while_generation_one_finds_garbage)
{
    set_watch young = {RC_GC_GENERATIONS, 0, 0};
    rc_heap *h = watched_heap(100, 4, 1000, &young);
    /* Cycles that outlive a few young collections and die in generation 1. */
    enum { RING = 150 };
    node *ring[RING] = {0};
    ring_of_cycles(h, ring, RING, 20000);
    CHECK(young.largest > 150 && young.largest <= 2 * 100 + 1);
    /* Survivors that never die: generation 1 finds nothing, and young
     * collections come at threshold[0] again. */
    for (int i = 0; i < RING; i++) rc_decref(ring[i]);
    node *keep = rc_new(h, &node4_type);
    grow_list(h, keep, 2000);
    young.largest = 0;
    grow_list(h, keep, 20000);
    CHECK(young.largest > 0 && young.largest <= 101);
    /* Setting the thresholds starts again from threshold[0]. */
    memset(ring, 0, sizeof ring);
    ring_of_cycles(h, ring, RING, 20000);
    rc_gc_collect(h, 0);   /* the young count starts from 0 */
    rc_gc_set_threshold(h, 100, 4, 1000);
    rc_heap_stats st0, st1;
    rc_heap_get_stats(h, &st0);
    grow_list(h, keep, 150);   /* boosted, no collection would be due before 200 */
    rc_heap_get_stats(h, &st1);
    CHECK(st1.collections[0] + st1.collections[1] > st0.collections[0] + st0.collections[1]);
    for (int i = 0; i < RING; i++) rc_xdecref(ring[i]);
    node_set(keep, 0, NULL);
    rc_decref(keep);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(an_old_generation_that_shrank_and_grows_back_triggers_no_full_collection)
{
    /* The trigger is growth past the live count of the last full collection;
     * objects freed by refcount and made again are not growth. */
    rc_heap *h = unstressed_heap();   /* checks when the policy collects: stress collects always */
    rc_gc_set_threshold(h, 100, 1, 1);
    enum { N = 20000 };
    for (int round = 0; round < 3; round++) {
        node *keep = rc_new(h, &node4_type);
        for (int i = 0; i < N; i++) {
            node *n = rc_new(h, &node2_type);
            node_set(n, 0, keep->slot[0]);
            node_set(keep, 0, n);
            rc_decref(n);
        }
        rc_heap_stats st;
        rc_heap_get_stats(h, &st);
        static size_t fulls_after_first;
        if (round == 0) {
            rc_gc_collect(h, 2);   /* the mark: about N old objects */
            rc_heap_get_stats(h, &st);
            fulls_after_first = st.collections[2];
        } else {
            CHECK_EQ_INT(st.collections[2], fulls_after_first);
        }
        rc_decref(keep);   /* refcounting frees the whole chain */
    }
    rc_heap_free(h);
}

TEST(disabled_heap_collects_only_when_asked)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_gc_set_threshold(h, 10, 10, 10);
    rc_gc_disable(h);
    CHECK(!rc_gc_is_enabled(h));
    for (int i = 0; i < 100; i++) make_cycle(h, &node2_type);
    CHECK_EQ_INT(live_objects(h), 200);
    rc_gc_enable(h);
    CHECK(rc_gc_is_enabled(h));
    CHECK_EQ_INT(rc_gc_collect(h, 2), 200);
    rc_heap_free(h);
}

TEST(bad_generation_is_an_error)
{
    rc_heap *h = rc_heap_new(NULL);
    CHECK_EQ_INT(rc_gc_collect(h, 3), 0);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    CHECK_EQ_INT(rc_gc_collect(h, -1), 0);
    rc_heap_free(h);
}

TEST(old_cycles_are_found_from_candidates_without_a_full_collection)
{
    rc_heap_config cfg;
    rc_heap_config_init(&cfg);
    cfg.candidate_limit = 16;
    rc_heap *h = rc_heap_new(&cfg);
    rc_gc_disable(h);
    node *held[64];
    for (int i = 0; i < 64; i++) {
        node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
        node_set(a, 0, b);
        node_set(b, 0, a);
        rc_decref(b);
        held[i] = a;
    }
    rc_gc_collect(h, 1);   /* all old now */
    rc_gc_enable(h);
    for (int i = 0; i < 64; i++) rc_decref(held[i]);   /* 64 candidates */
    /* allocation runs the scan once the buffer holds candidate_limit */
    node *x = rc_new(h, &leaf_type);
    node *y = rc_new(h, &node2_type);
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    CHECK(st.candidate_scans >= 1);
    CHECK_EQ_INT(st.collections[2], 0);
    CHECK_EQ_INT(st.objects, 2);
    rc_decref(x);
    rc_decref(y);
    rc_heap_free(h);
}

/* The same with the allocation's page young already (the fast path's
 * case): the buffer reaching candidate_limit is what sends the next tracked
 * allocation to the collector, the young count far from its threshold. */
TEST(a_full_candidate_buffer_makes_the_next_tracked_allocation_scan)
{
    rc_heap_config cfg;
    rc_heap_config_init(&cfg);
    cfg.candidate_limit = 16;
    cfg.gc_stress = -1;   /* a collection at every allocation would scan anyway */
    rc_heap *h = rc_heap_new(&cfg);
    rc_gc_disable(h);
    node *held[64];
    for (int i = 0; i < 64; i++) {
        held[i] = make_held_cycle(h, &node2_type);
        REQUIRE(held[i] != NULL);
    }
    rc_gc_collect(h, 1);   /* all old now */
    rc_gc_enable(h);
    node *warm = rc_new(h, &node2_type);   /* the current page is young again */
    REQUIRE(warm != NULL);
    for (int i = 0; i < 64; i++) rc_decref(held[i]);   /* 64 candidates */
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.candidate_scans, 0);
    node *y = rc_new(h, &node2_type);
    REQUIRE(y != NULL);
    rc_heap_get_stats(h, &st);
    CHECK(st.candidate_scans >= 1);
    CHECK_EQ_INT(st.collections[0], 0);   /* no young collection was due */
    CHECK_EQ_INT(st.objects, 2);
    rc_decref(warm);
    rc_decref(y);
    rc_heap_free(h);
}

TEST(candidate_scan_keeps_what_is_still_held)
{
    rc_heap_config cfg;
    rc_heap_config_init(&cfg);
    cfg.candidate_limit = 4;
    rc_heap *h = rc_heap_new(&cfg);
    node *root = rc_new(h, &node2_type);
    node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
    node_set(a, 0, b);
    node_set(b, 0, a);
    node_set(root, 0, a);
    rc_decref(a);
    rc_decref(b);
    rc_gc_collect(h, 2);
    rc_incref(a);
    rc_decref(a);   /* a is a candidate but held by root */
    rc_incref(b);
    rc_decref(b);
    CHECK_EQ_INT(rc_gc_collect(h, 0), 0);
    CHECK(root->slot[0] == a && a->slot[0] == b && b->slot[0] == a);
    node_set(root, 0, NULL);   /* now a is garbage with b */
    CHECK_EQ_INT(rc_gc_collect(h, 0), 2);
    rc_decref(root);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* A ring of n node2s through slot 0. New reference to the first; *last
 * gets the one that points back to it (borrowed). */
static node *ring(rc_heap *h, int n, node **last)
{
    node *first = rc_new(h, &node2_type), *cur = first;
    for (int i = 1; i < n; i++) {
        node *x = rc_new(h, &node2_type);
        node_set(cur, 0, x);
        rc_decref(x);
        cur = x;
    }
    node_set(cur, 0, first);
    *last = cur;
    return first;
}

TEST(a_candidate_set_held_only_by_the_program_survives_its_scan)
{
    /* Every reference to the set but one comes from inside it: the one
     * from the program (a variable, no object of the heap) makes its
     * member a root, and the scan frees nothing. Dropped, it all goes
     * with no root looked for. */
    rc_heap_config cfg;
    rc_heap_config_init(&cfg);
    cfg.candidate_limit = 1000;
    rc_heap *h = rc_heap_new(&cfg);
    node *last;
    node *first = ring(h, 3, &last);
    node *held = first->slot[0];
    rc_incref(held);                  /* the program's reference */
    rc_gc_collect(h, 2);              /* the ring is old */
    rc_decref(first);                 /* first becomes a candidate */
    rc_incref(last);
    rc_decref(last);                  /* and last */
    rc_gc_stats before, after;
    rc_gc_get_candidate_stats(h, &before);
    CHECK_EQ_INT(rc_gc_collect(h, 0), 0);   /* a young collection scans the candidates */
    rc_gc_get_candidate_stats(h, &after);
    CHECK_EQ_INT(after.collections, before.collections + 1);
    CHECK_EQ_INT(live_objects(h), 3);
    CHECK(held->slot[0] == last && last->slot[0] == first && first->slot[0] == held);
    rc_decref(held);                  /* now all three only hold each other */
    CHECK_EQ_INT(rc_gc_collect(h, 0), 3);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(a_candidate_scan_over_budget_stays_sound)
{
    rc_heap_config cfg;
    rc_heap_config_init(&cfg);
    cfg.candidate_limit = 1;   /* budget: a few thousand objects */
    rc_heap *h = rc_heap_new(&cfg);
    rc_gc_disable(h);
    /* A long ring of old objects: far bigger than the scan's budget. */
    enum { N = 50000 };
    node *cur, *first = ring(h, N, &cur);
    rc_gc_collect(h, 2);
    rc_incref(cur);
    rc_decref(cur);   /* cur is a candidate; the ring is alive */
    CHECK_EQ_INT(rc_gc_collect(h, 0), 0);
    CHECK_EQ_INT(live_objects(h), N);
    rc_decref(first);   /* now garbage, but too big for one scan */
    size_t freed = rc_gc_collect(h, 0);
    CHECK(freed == 0 || freed == N);
    CHECK_EQ_INT(rc_gc_collect(h, 2) + freed, N);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* A tree of 2^levels - 1 node4s (slot 0, 1: children; slot 2: parent), as
 * a program builds one: each node before its children. New reference. */
static node *parent_tree(rc_heap *h, int levels, node *parent)
{
    node *n = rc_new(h, &node4_type);
    if (parent) node_set(n, 2, parent);
    if (levels > 1)
        for (int i = 0; i < 2; i++) {
            node *c = parent_tree(h, levels - 1, n);
            node_set(n, i, c);
            rc_decref(c);
        }
    return n;
}

/* A full collection stops walking once every member is marked or passed as
 * garbage. Garbage on either side of a tree whose root comes first, and an
 * object passed as garbage before the root that reaches it, must come out
 * of it found, settled and unmarked like the rest (the heap check reads
 * every header afterwards). */
TEST(a_full_collection_that_stops_walking_early_misses_nothing)
{
    rc_heap *h = unstressed_heap();
    rc_gc_disable(h);
    make_cycle(h, &node2_type);
    node *early = rc_new(h, &node2_type);   /* before the root, held only by it */
    node *root = parent_tree(h, 13, NULL);   /* several pages of node4s */
    node_set(root, 3, early);
    rc_decref(early);
    for (int i = 0; i < 3; i++) make_cycle(h, &node2_type);   /* after the tree */
    CHECK_EQ_INT(rc_gc_collect(h, 2), 8);
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    CHECK_EQ_INT(live_objects(h), 8191 + 1);
    make_cycle(h, &node2_type);   /* young garbage after an old tree */
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 0);
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    rc_decref(root);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 8191 + 1);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* Two-node cycles made and dropped at once: young garbage that keeps
 * young collections running (and never makes the old generation grow). */
static void churn(rc_heap *h, long cycles)
{
    for (long i = 0; i < cycles; i++) make_cycle(h, &node2_type);
}

TEST(a_dead_structure_bigger_than_the_candidate_budget_is_freed_by_candidate_scans)
{
    rc_heap_config cfg;
    rc_heap_config_init(&cfg);
    cfg.candidate_limit = 16;   /* budget: 4,224 objects */
    cfg.gc_stress = -1;
    rc_heap *h = rc_heap_new(&cfg);
    rc_gc_disable(h);
    node *live = parent_tree(h, 14, NULL);   /* 16,383 live nodes */
    node *dead = parent_tree(h, 15, NULL);   /* 32,767 nodes, 8 x the budget */
    rc_gc_collect(h, 2);                     /* both old */
    rc_gc_enable(h);
    rc_gc_stats before[3], cand, inc;
    rc_gc_get_stats(h, before);
    /* One candidate (the root) for the whole tree: the buffer never fills. */
    rc_decref(dead);
    churn(h, 200000);
    rc_gc_stats after[3];
    rc_gc_get_stats(h, after);
    rc_gc_get_candidate_stats(h, &cand);
    rc_gc_get_increment_stats(h, &inc);
    CHECK_EQ_INT(cand.freed, 32767);                        /* by candidate scans */
    CHECK_EQ_INT(after[2].collections, before[2].collections);   /* no full collection */
    CHECK_EQ_INT(inc.collections, 0);                       /* no pass over the heap */
    rc_gc_collect(h, 0);   /* the churn's last young garbage */
    CHECK_EQ_INT(live_objects(h), 16383);
    rc_decref(live);
    rc_heap_free(h);
}

/* A heap with the smallest candidate budget (candidate_limit 1: base
 * 4,104 members) that grows to at most `growth` x that, no stress mode,
 * collection off. */
#define SMALL_BUDGET_BASE ((size_t)8 + 4096)
static rc_heap *small_budget_heap(unsigned growth)
{
    rc_heap_config cfg;
    rc_heap_config_init(&cfg);
    cfg.candidate_limit = 1;
    cfg.gc_stress = -1;
    rc_heap *h = rc_heap_new(&cfg);
    rc_gc_disable(h);
    h->cand_growth = growth;
    return h;
}

/* Collection on, in few and long collections: young ones every 20,000
 * allocations, each looking at the old generation, and a pass in a few
 * steps, so that a heap past the largest candidate budget is not walked
 * by the verifier (RC_EXPENSIVE) around thousands of collections. */
static void few_collections(rc_heap *h)
{
    rc_gc_set_threshold(h, 20000, 1, 1);
    rc_gc_set_step_budget(h, (size_t)1 << 23);
    rc_gc_enable(h);
}

/* The candidate budget grows after scans cut short, but never past
 * RC_CAND_BUDGET_GROWTH x its base: a live candidate that reaches a
 * structure bigger than that never makes a scan (a pause) as big as the
 * structure. */
TEST(candidate_scans_stay_bounded_beside_a_big_live_structure)
{
    rc_heap *h = small_budget_heap(RC_CAND_BUDGET_GROWTH);
    const size_t most = RC_CAND_BUDGET_GROWTH * SMALL_BUDGET_BASE;
    const int N = (int)(most + most / 16);   /* past the cap */
    node *cur, *first = ring(h, N, &cur);   /* alive through `first` */
    rc_gc_collect(h, 2);
    set_watch scans = {RC_GC_CANDIDATE_SCAN, -1, 0};
    REQUIRE(rc_gc_callback_add(h, note_set, &scans) == 0);
    for (size_t b = 8 + 4096; b / 2 <= most; b *= 2) {   /* the budget doubles each time */
        rc_incref(cur);
        rc_decref(cur);   /* cur is a candidate again */
        CHECK_EQ_INT(rc_gc_collect(h, 0), 0);
    }
    CHECK(scans.largest > 0);
    CHECK(scans.largest <= most + 2);
    CHECK_EQ_INT(live_objects(h), N);
    rc_gc_callback_remove(h, note_set, &scans);
    rc_decref(first);
    rc_heap_free(h);
}

/* A dead structure bigger than the largest candidate budget: the scan that
 * runs out of it there keeps none of its candidates (each later scan would
 * spend its budget on it in vain, ahead of whatever was dropped since), and
 * the old generation's incremental pass, due at once for it, frees it
 * without a full collection. Meanwhile cycles dropped later are freed by
 * candidate scans. */
TEST(a_dead_structure_past_the_largest_candidate_budget_goes_to_the_old_generation)
{
    rc_heap *h = small_budget_heap(4);   /* a cap of 16,416: small rings past it */
    const size_t most = 4 * SMALL_BUDGET_BASE;
    const int N = (int)(most + most / 16);   /* past the cap */
    node *cur, *first = ring(h, N, &cur);
    node *held[8];
    for (int i = 0; i < 8; i++) {
        held[i] = rc_new(h, &node2_type);
        node *b = rc_new(h, &node2_type);
        node_set(held[i], 0, b);
        node_set(b, 0, held[i]);
        rc_decref(b);
    }
    rc_gc_collect(h, 2);   /* all old */
    h->cand_budget = most;   /* as after scans cut short again and again */
    rc_gc_stats cand0, cand1, cand2, inc, full0[3], full1[3];
    rc_gc_get_stats(h, full0);
    rc_gc_get_candidate_stats(h, &cand0);
    rc_decref(first);   /* the whole ring is garbage; `first` is its candidate */
    rc_gc_collect(h, 0);
    rc_gc_get_candidate_stats(h, &cand1);
    CHECK_EQ_INT(cand1.collections, cand0.collections + 1);
    CHECK_EQ_INT(cand1.freed, cand0.freed);   /* cut short at the cap */
    for (int i = 0; i < 8; i++) rc_decref(held[i]);   /* 8 old cycles, 8 candidates */
    rc_gc_collect(h, 0);
    rc_gc_get_candidate_stats(h, &cand2);
    CHECK_EQ_INT(cand2.freed, cand1.freed + 16);   /* not held up behind the ring */
    CHECK_EQ_INT(live_objects(h), N);
    few_collections(h);
    for (int round = 0; round < 40; round++) {
        churn(h, 50000);
        rc_gc_get_increment_stats(h, &inc);
        if (inc.freed >= (size_t)N) break;
    }
    rc_gc_get_stats(h, full1);
    CHECK(inc.freed >= (size_t)N);   /* by the incremental pass */
    CHECK_EQ_INT(full1[2].collections, full0[2].collections);   /* no full collection */
    rc_gc_collect(h, 0);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* The same beside a live structure past the largest budget, which a
 * candidate reaches again and again: the old generation's collection the
 * first such scan made due finds nothing, and later ones start no other
 * (each would walk the whole old generation for nothing). */
TEST(a_live_structure_past_the_largest_candidate_budget_makes_one_old_collection_due_not_many)
{
    rc_heap *h = small_budget_heap(4);
    const size_t most = 4 * SMALL_BUDGET_BASE;
    node *cur, *first = ring(h, (int)(most + most / 16), &cur);
    rc_gc_collect(h, 2);
    h->cand_budget = most;
    few_collections(h);
    rc_gc_stats inc1, inc2;
    for (int round = 0; round < 6; round++) {
        rc_incref(cur);
        rc_decref(cur);   /* a candidate that reaches the whole ring */
        churn(h, 50000);
    }
    rc_gc_get_increment_stats(h, &inc1);
    CHECK(inc1.collections > 0);   /* the first made one due */
    CHECK(h->hint_vain && !h->pass);
    for (int round = 0; round < 3; round++) {
        rc_incref(cur);
        rc_decref(cur);
        churn(h, 50000);
    }
    rc_gc_get_increment_stats(h, &inc2);
    CHECK_EQ_INT(inc2.collections, inc1.collections);
    rc_decref(first);
    rc_heap_free(h);
}

TEST(a_structure_dropped_while_partly_young_is_freed_by_a_candidate_scan)
{
    rc_heap *h = unstressed_heap();
    rc_gc_disable(h);
    node *root = rc_new(h, &node4_type);
    node *old = parent_tree(h, 4, root);
    node_set(root, 0, old);
    rc_decref(old);
    rc_gc_collect(h, 2);   /* root and its left subtree old */
    node *young = parent_tree(h, 4, root);
    node_set(root, 1, young);   /* the right subtree young */
    rc_decref(young);
    rc_decref(root);   /* the old root is a candidate */
    /* A young collection keeps the young subtree (the old root holds it),
     * so only a set with both ages frees the tree. */
    CHECK_EQ_INT(rc_gc_collect(h, 0), 31);
    rc_gc_stats cand;
    rc_gc_get_candidate_stats(h, &cand);
    CHECK_EQ_INT(cand.freed, 31);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* ---- finalizers ---- */

static int finalized;
static node *saved;
static int resurrect_mode;   /* 0: none, 1: save self, 2: save slot 0 */

static void fin(void *obj)
{
    node *n = obj;
    finalized++;
    if (resurrect_mode == 1 && !saved) {
        rc_incref(n);
        saved = n;
    } else if (resurrect_mode == 2 && !saved && n->slot[0]) {
        rc_incref(n->slot[0]);
        saved = n->slot[0];
    }
}
static const rc_type fin_type = {.name = "fin", .size = sizeof(node), .nslots = 2, .finalize = fin};

TEST(finalizers_run_once_before_clearing)
{
    rc_heap *h = rc_heap_new(NULL);
    finalized = 0;
    resurrect_mode = 0;
    make_cycle(h, &fin_type);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2);
    CHECK_EQ_INT(finalized, 2);
    rc_heap_free(h);
}

TEST(a_finalizer_that_resurrects_its_object_keeps_the_cycle_intact)
{
    rc_heap *h = rc_heap_new(NULL);
    finalized = 0;
    saved = NULL;
    resurrect_mode = 1;
    node *a = rc_new(h, &fin_type), *b = rc_new(h, &fin_type);
    a->payload = 1;
    b->payload = 2;
    node_set(a, 0, b);
    node_set(b, 0, a);
    rc_decref(a);
    rc_decref(b);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 0);
    CHECK_EQ_INT(finalized, 2);
    REQUIRE(saved);
    node *other = saved->slot[0];
    REQUIRE(other);
    CHECK(other->slot[0] == saved);
    CHECK(saved->payload + other->payload == 3);
    resurrect_mode = 0;
    rc_decref(saved);
    saved = NULL;
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2);
    CHECK_EQ_INT(finalized, 2);   /* at most once */
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(a_finalizer_that_resurrects_another_object_keeps_what_it_reaches)
{
    rc_heap *h = rc_heap_new(NULL);
    finalized = 0;
    saved = NULL;
    resurrect_mode = 2;
    node *a = rc_new(h, &fin_type), *b = rc_new(h, &fin_type), *c = rc_new(h, &node2_type);
    node_set(a, 0, b);
    node_set(b, 0, c);
    node_set(c, 0, a);
    rc_decref(a);
    rc_decref(b);
    rc_decref(c);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 0);   /* the whole ring is reachable again */
    REQUIRE(saved);
    resurrect_mode = 0;
    rc_decref(saved);
    saved = NULL;
    CHECK_EQ_INT(rc_gc_collect(h, 2), 3);
    rc_heap_free(h);
}

static rc_heap *nested_heap;
static size_t nested_result = 99;
static void collecting_fin(void *obj)
{
    (void)obj;
    nested_result = rc_gc_collect(nested_heap, 2);
    node *tmp = rc_new(nested_heap, &node2_type);   /* allocating is fine */
    node_set(tmp, 0, tmp);
    rc_decref(tmp);
}
static const rc_type collecting_type = {
    .name = "collecting", .size = sizeof(node), .nslots = 2, .finalize = collecting_fin,
};

TEST(a_finalizer_that_collects_gets_zero_and_corrupts_nothing)
{
    rc_heap *h = nested_heap = rc_heap_new(NULL);
    make_cycle(h, &collecting_type);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2);
    CHECK_EQ_INT(nested_result, 0);
    CHECK_EQ_INT(live_objects(h), 2);   /* the two self-cycles the finalizers made */
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* The stack a young collection takes, measured by painting: a thread runs on
 * a stack of ours filled with a pattern, and the lowest byte that changed
 * says how deep it went. Programs collect on fibers and coroutines with small
 * stacks, and a collection that reaches a stack page nothing touched before
 * pays a page fault in the middle of its pause. */
enum { PAINT = 0xa5, PAINTED_STACK = 256 * 1024 };
typedef struct {
    unsigned char *stack;
    size_t freed, before, after;   /* bytes of stack used: after the setup, after the collection */
    bool measured;
} stack_job;

static RC_NOINLINE size_t stack_used(const stack_job *j)
{
    const volatile unsigned char *p = j->stack;
    size_t i = 0;
    while (i < PAINTED_STACK && p[i] == PAINT) i++;
    return PAINTED_STACK - i;
}

static void *young_collection_job(void *arg)
{
    stack_job *j = arg;
    rc_heap *h = unstressed_heap();
    node *keep = rc_new(h, &node2_type);
    for (int i = 0; i < 500; i++) {
        make_cycle(h, &node2_type);
        node *n = rc_new(h, &node2_type);
        node_set(n, 0, keep->slot[0]);
        node_set(keep, 0, n);
        rc_decref(n);
    }
    j->measured = !h->valgrind;   /* valgrind forbids reading below the stack pointer */
    if (j->measured) j->before = stack_used(j);
    j->freed = rc_gc_collect(h, 0);
    if (j->measured) j->after = stack_used(j);
    rc_decref(keep);
    rc_heap_free(h);
    return NULL;
}

TEST(a_young_collection_takes_little_stack)
{
    stack_job j = {0};
    j.stack = mmap(NULL, PAINTED_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(j.stack != MAP_FAILED);
    memset(j.stack, PAINT, PAINTED_STACK);
    pthread_attr_t a;
    pthread_t t;
    REQUIRE(pthread_attr_init(&a) == 0);
    REQUIRE(pthread_attr_setstack(&a, j.stack, PAINTED_STACK) == 0);
    REQUIRE(pthread_create(&t, &a, young_collection_job, &j) == 0);
    REQUIRE(pthread_join(t, NULL) == 0);
    pthread_attr_destroy(&a);
    CHECK_EQ_INT(j.freed, 1000);
    if (j.measured) {
        /* 16 KB of chunk for the in-place release stays out of the young path. */
        size_t deeper = j.after > j.before ? j.after - j.before : 0;
        if (deeper >= 8192) fprintf(stderr, "the young collection went %zu bytes deeper\n", deeper);
        CHECK(deeper < 8192);
    }
    munmap(j.stack, PAINTED_STACK);
}

TEST(stress_collecting_at_every_allocation)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_gc_set_threshold(h, 1, 1, 1);
    node *root = rc_new(h, &node4_type);
    for (int i = 0; i < 3000; i++) {
        node *a = rc_new(h, i % 2 ? &node2_type : &cbnode_type);
        a->payload = i;
        node_set(a, 0, root->slot[i % 4]);
        node_set(root, i % 4, a);
        if (i % 7 == 0) node_set(a, 1, a);
        rc_decref(a);
        if (i % 5 == 0) node_set(root, (i + 1) % 4, NULL);
    }
    for (int k = 0; k < 4; k++) {
        long prev = 1 << 30;
        for (node *n = root->slot[k]; n; n = n->slot[0]) {
            CHECK(n->payload < prev);
            prev = n->payload;
        }
    }
    rc_decref(root);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

RC_TEST_MAIN
