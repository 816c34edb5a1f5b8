/* test_inspect.c -- the object side of the gc module: is_tracked,
 * track/untrack, get_objects, get_referrers, get_referents, and the
 * reference index that answers "who refers to X" for the whole heap. */
#include "harness.h"
#include "testutil.h"
#include "failalloc.h"
#include "nodes.h"
#include "recycle/builtins.h"
#include "recycle/gc.h"
#include <stdbool.h>
#include <stdlib.h>

NODES_IMPL

/* Whether `l` holds `obj`, and how many times. */
static int count_in(rc_list *l, const void *obj)
{
    int n = 0;
    for (size_t i = 0; i < rc_list_len(l); i++)
        if (rc_as_obj(rc_list_get(l, i)) == obj) n++;
    return n;
}

/* ---- tracking ---- */

TEST(is_tracked_is_true_for_containers_and_false_for_atoms)
{
    rc_heap *h = quiet_heap();
    rc_list *l = rc_list_new(h, 0);
    rc_dict *d = rc_dict_new(h);
    rc_tuple *t = rc_tuple_new(h, 0, NULL);
    rc_str *s = rc_str_from_cstr(h, "a");
    node *n = rc_new(h, &node2_type), *leaf = rc_new(h, &leaf_type);
    CHECK(rc_gc_is_tracked(l) && rc_gc_is_tracked(d) && rc_gc_is_tracked(t) && rc_gc_is_tracked(n));
    CHECK(!rc_gc_is_tracked(s) && !rc_gc_is_tracked(leaf));
    rc_decref(l);
    rc_decref(d);
    rc_decref(t);
    rc_decref(s);
    rc_decref(n);
    rc_decref(leaf);
    rc_heap_free(h);
}

TEST(an_untracked_cycle_is_never_collected_until_tracked_again)
{
    rc_heap *h = quiet_heap();
    rc_heap_stats st;
    rc_list *l = rc_list_new(h, 0);
    rc_list_append(l, rc_obj(l));
    CHECK_EQ_INT(rc_gc_untrack(l), 0);
    CHECK(!rc_gc_is_tracked(l));
    CHECK_EQ_INT(rc_gc_untrack(l), 0);   /* idempotent */
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.tracked, 0);
    rc_decref(l);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 0);
    CHECK_EQ_INT(live_objects(h), 1);
    size_t before[3], after[3];
    rc_gc_get_count(h, before);
    CHECK_EQ_INT(rc_gc_track(l), 0);
    rc_gc_get_count(h, after);
    CHECK_EQ_INT(after[0], before[0] + 1);
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.gen_objects[0], 1);
    CHECK_EQ_INT(rc_gc_track(l), 0);     /* idempotent */
    CHECK_EQ_INT(rc_gc_collect(h, 0), 1);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(objects_that_hold_no_references_cannot_be_tracked)
{
    rc_heap *h = quiet_heap();
    rc_str *s = rc_str_from_cstr(h, "atom");
    node *leaf = rc_new(h, &leaf_type);
    CHECK_EQ_INT(rc_gc_track(s), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    CHECK_EQ_INT(rc_gc_track(leaf), -1);
    CHECK(!rc_gc_is_tracked(s));
    rc_decref(s);
    rc_decref(leaf);
    rc_heap_free(h);
}

TEST(untracking_a_buffered_candidate_takes_it_out_of_the_buffer)
{
    rc_heap *h = quiet_heap();
    rc_list *l = rc_list_new(h, 0);
    rc_list_append(l, rc_obj(l));
    rc_list *holder = rc_list_new(h, 0);
    rc_list_append(holder, rc_obj(l));
    rc_gc_collect(h, 2);
    rc_decref(l);              /* old, count dropped: buffered */
    rc_gc_untrack(l);
    rc_list_clear(holder);     /* garbage now, but untracked */
    CHECK_EQ_INT(rc_gc_collect(h, 0), 0);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 0);
    rc_gc_track(l);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 1);
    rc_decref(holder);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* ---- get_objects ---- */

TEST(get_objects_lists_tracked_objects_by_generation)
{
    rc_heap *h = quiet_heap();
    rc_list *a = rc_list_new(h, 0);
    rc_str *s = rc_str_from_cstr(h, "untracked");
    rc_gc_collect(h, 0);                       /* a -> generation 1 */
    rc_dict *b = rc_dict_new(h);            /* generation 0 */
    rc_list *all = rc_gc_get_objects(h, -1);
    REQUIRE(all);
    CHECK_EQ_INT(rc_list_len(all), 2);      /* the result itself left out */
    CHECK(count_in(all, a) == 1 && count_in(all, b) == 1 && count_in(all, s) == 0);
    rc_decref(all);
    rc_list *g0 = rc_gc_get_objects(h, 0), *g1 = rc_gc_get_objects(h, 1), *g2 = rc_gc_get_objects(h, 2);
    CHECK(rc_list_len(g0) == 1 && count_in(g0, b) == 1);
    CHECK(rc_list_len(g1) == 1 && count_in(g1, a) == 1);
    CHECK_EQ_INT(rc_list_len(g2), 0);
    rc_decref(g0);
    rc_decref(g1);
    rc_decref(g2);
    rc_gc_collect(h, 1);
    g2 = rc_gc_get_objects(h, 2);
    CHECK_EQ_INT(rc_list_len(g2), 2);       /* a and b are old now; g0, g1 are gone */
    rc_decref(g2);
    rc_gc_freeze(h);
    rc_list *g3 = rc_gc_get_objects(h, 3);
    CHECK_EQ_INT(rc_list_len(g3), 2);
    rc_decref(g3);
    all = rc_gc_get_objects(h, -1);
    CHECK_EQ_INT(rc_list_len(all), 2);      /* frozen objects are still tracked */
    rc_decref(all);
    CHECK(rc_gc_get_objects(h, 4) == NULL);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    CHECK(rc_gc_get_objects(h, -2) == NULL);
    rc_decref(a);
    rc_decref(b);
    rc_decref(s);
    rc_heap_free(h);
}

TEST(get_objects_finds_many_objects_across_pages)
{
    rc_heap *h = quiet_heap();
    enum { N = 20000 };
    rc_list *keep = rc_list_new(h, N);
    for (int i = 0; i < N; i++) {
        node *n = rc_new(h, i % 3 ? &node2_type : &cbnode_type);
        rc_list_append(keep, rc_obj(n));
        rc_decref(n);
    }
    rc_list *all = rc_gc_get_objects(h, -1);
    CHECK_EQ_INT(rc_list_len(all), N + 1);
    rc_decref(all);
    rc_decref(keep);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* ---- get_referrers ---- */

TEST(get_referrers_finds_every_kind_of_container_once)
{
    rc_heap *h = quiet_heap();
    node *x = rc_new(h, &leaf_type);
    rc_list *l = rc_list_new(h, 0);
    rc_list_append(l, rc_obj(x));
    rc_list_append(l, rc_obj(x));                 /* twice: listed once */
    rc_dict *dv = rc_dict_new(h), *dk = rc_dict_new(h);
    rc_dict_set(dv, rc_int(1), rc_obj(x));
    rc_dict_set(dk, rc_obj(x), rc_int(1));
    rc_val item = rc_obj(x);
    rc_tuple *t = rc_tuple_new(h, 1, &item);
    node *n = rc_new(h, &node2_type), *cb = rc_new(h, &cbnode_type);
    node_set(n, 1, x);
    node_set(cb, 3, x);
    rc_list *bystander = rc_list_new(h, 0);
    rc_list_append(bystander, rc_int(5));
    void *objs[1] = {x};
    rc_list *r = rc_gc_get_referrers(h, objs, 1);
    REQUIRE(r);
    CHECK_EQ_INT(rc_list_len(r), 6);
    CHECK(count_in(r, l) == 1 && count_in(r, dv) == 1 && count_in(r, dk) == 1);
    CHECK(count_in(r, t) == 1 && count_in(r, n) == 1 && count_in(r, cb) == 1);
    CHECK_EQ_INT(count_in(r, bystander), 0);
    rc_decref(r);
    rc_decref(l);
    rc_decref(dv);
    rc_decref(dk);
    rc_decref(t);
    rc_decref(n);
    rc_decref(cb);
    rc_decref(bystander);
    rc_decref(x);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(get_referrers_of_several_objects_lists_each_referrer_once)
{
    rc_heap *h = quiet_heap();
    enum { K = 20 };   /* more than the linear-search cut-off */
    void *objs[K];
    rc_list *both = rc_list_new(h, 0);
    rc_list *holders[K];
    for (int i = 0; i < K; i++) {
        objs[i] = rc_str_from_cstr(h, "s");
        holders[i] = rc_list_new(h, 0);
        rc_list_append(holders[i], rc_obj(objs[i]));
        rc_list_append(both, rc_obj(objs[i]));
    }
    rc_list *r = rc_gc_get_referrers(h, objs, K);
    CHECK_EQ_INT(rc_list_len(r), K + 1);
    CHECK_EQ_INT(count_in(r, both), 1);
    for (int i = 0; i < K; i++) CHECK_EQ_INT(count_in(r, holders[i]), 1);
    rc_decref(r);
    r = rc_gc_get_referrers(h, NULL, 0);
    CHECK(r && rc_list_len(r) == 0);
    rc_decref(r);
    for (int i = 0; i < K; i++) {
        rc_decref(holders[i]);
        rc_decref(objs[i]);
    }
    rc_decref(both);
    rc_heap_free(h);
}

TEST(get_referrers_skips_untracked_holders_and_searches_frozen_ones)
{
    rc_heap *h = quiet_heap();
    node *x = rc_new(h, &leaf_type);
    rc_list *hidden = rc_list_new(h, 0), *frozen = rc_list_new(h, 0);
    rc_list_append(hidden, rc_obj(x));
    rc_list_append(frozen, rc_obj(x));
    rc_gc_freeze(h);
    rc_gc_untrack(hidden);
    void *objs[1] = {x};
    rc_list *r = rc_gc_get_referrers(h, objs, 1);
    CHECK_EQ_INT(rc_list_len(r), 1);
    CHECK_EQ_INT(count_in(r, frozen), 1);
    rc_decref(r);
    rc_decref(hidden);
    rc_decref(frozen);
    rc_decref(x);
    rc_heap_free(h);
}

TEST(get_referrers_finds_garbage_cycles_still_in_the_heap)
{
    rc_heap *h = quiet_heap();
    node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
    node_set(a, 0, b);
    node_set(b, 0, a);
    rc_decref(b);
    void *objs[1] = {a};
    rc_list *r = rc_gc_get_referrers(h, objs, 1);
    CHECK(rc_list_len(r) == 1 && count_in(r, b) == 1);
    rc_decref(r);
    rc_decref(a);
    rc_gc_collect(h, 2);
    rc_heap_free(h);
}

/* ---- get_referents ---- */

TEST(get_referents_lists_what_objects_refer_to)
{
    rc_heap *h = quiet_heap();
    rc_str *s = rc_str_from_cstr(h, "s");
    node *n = rc_new(h, &node4_type);
    rc_list *l = rc_list_new(h, 0);
    rc_list_append(l, rc_int(1));       /* immediates are not objects */
    rc_list_append(l, rc_obj(s));
    rc_list_append(l, rc_obj(s));
    rc_list_append(l, rc_obj(n));
    node_set(n, 2, s);
    void *objs[3] = {l, n, s};
    rc_list *r = rc_gc_get_referents(h, objs, 3);
    REQUIRE(r);
    CHECK_EQ_INT(rc_list_len(r), 4);    /* s, s, n from l; s from n; nothing from s */
    CHECK_EQ_INT(count_in(r, s), 3);
    CHECK_EQ_INT(count_in(r, n), 1);
    rc_decref(r);
    rc_decref(l);
    rc_decref(n);
    rc_decref(s);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* ---- when walks are refused ---- */

static rc_heap *walk_heap;
static int walk_result = -1, walk_error;
static void walking_fin(void *obj)
{
    (void)obj;
    rc_list *all = rc_gc_get_objects(walk_heap, -1);
    walk_result = all != NULL;
    walk_error = rc_heap_error(walk_heap);
    rc_xdecref(all);
}
static const rc_type walking_type = {.name = "walking", .size = sizeof(node), .nslots = 2, .finalize = walking_fin};

TEST(walks_are_refused_while_objects_are_being_freed)
{
    rc_heap *h = walk_heap = quiet_heap();
    rc_list *l = rc_list_new(h, 0);
    node *w = rc_new(h, &walking_type);
    rc_list_append(l, rc_obj(w));
    rc_decref(w);
    rc_heap_clear_error(h);
    rc_decref(l);   /* frees l, whose release frees w: w's finalizer runs mid-burst */
    CHECK_EQ_INT(walk_result, 0);
    CHECK_EQ_INT(walk_error, RC_EBUSY);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(walks_work_from_a_finalizer_run_by_a_collection)
{
    rc_heap *h = walk_heap = quiet_heap();
    node *w = rc_new(h, &walking_type);
    node_set(w, 0, w);
    rc_decref(w);
    walk_result = -1;
    CHECK_EQ_INT(rc_gc_collect(h, 2), 1);
    CHECK_EQ_INT(walk_result, 1);
    rc_heap_free(h);
}

/* ---- the reference index ---- */

/* A heap with some of everything: containers, atoms, a large object, an
 * untracked container, a frozen part, duplicates. */
typedef struct world {
    rc_list *root;
    rc_str *atoms[8];
    rc_tuple *big;
    rc_list *untracked;
    node *nodes[64];
} world;

static void build_world(rc_heap *h, world *w)
{
    w->root = rc_list_new(h, 0);
    for (int i = 0; i < 8; i++) {
        w->atoms[i] = rc_str_from_cstr(h, "atom");
        rc_list_append(w->root, rc_obj(w->atoms[i]));
    }
    rc_list_append(w->root, rc_obj(w->atoms[0]));   /* twice */
    enum { BIG = 4000 };                             /* > 16 KiB: a large page */
    w->big = rc_tuple_new(h, BIG, NULL);
    for (int i = 0; i < BIG; i++) rc_tuple_set(w->big, i, rc_obj(w->atoms[i % 8]));
    rc_list_append(w->root, rc_obj(w->big));
    for (int i = 0; i < 64; i++) {
        w->nodes[i] = rc_new(h, i % 2 ? &node4_type : &cbnode_type);
        if (i) node_set(w->nodes[i], 0, w->nodes[i - 1]);
        node_set(w->nodes[i], 1, w->atoms[i % 8]);
        if (i % 5 == 0) node_set(w->nodes[i], 2, w->big);
    }
    node_set(w->nodes[0], 0, w->nodes[63]);          /* a ring */
    w->untracked = rc_list_new(h, 0);
    rc_list_append(w->untracked, rc_obj(w->nodes[7]));
    rc_gc_untrack(w->untracked);
}

static void free_world(world *w)
{
    rc_decref(w->root);
    for (int i = 0; i < 8; i++) rc_decref(w->atoms[i]);
    rc_decref(w->big);
    rc_decref(w->untracked);
    node_set(w->nodes[0], 0, NULL);
    for (int i = 0; i < 64; i++) rc_decref(w->nodes[i]);
}

/* Referrers of obj by a direct count: how many references each object holds to it. */
static int refs_from(void *holder, void *obj)
{
    void *objs[1] = {holder};
    rc_list *r = rc_gc_get_referents(rc_heap_of(holder), objs, 1);
    int n = count_in(r, obj);
    rc_decref(r);
    return n;
}

TEST(refindex_agrees_with_get_referrers_for_every_object)
{
    rc_heap *h = quiet_heap();
    world w;
    build_world(h, &w);
    rc_gc_freeze(h);                  /* part of the heap frozen, then more */
    node *extra = rc_new(h, &node2_type);
    node_set(extra, 0, w.big);
    rc_refindex *idx = rc_refindex_build(h);
    REQUIRE(idx);
    CHECK_EQ_INT(rc_refindex_objects(idx), live_objects(h));
    rc_list *all = rc_gc_get_objects(h, -1);
    rc_list_append(all, rc_obj(w.untracked));
    for (int i = 0; i < 8; i++) rc_list_append(all, rc_obj(w.atoms[i]));
    size_t total_refs = 0;
    for (size_t i = 0; i < rc_list_len(all); i++) {
        void *obj = rc_as_obj(rc_list_get(all, i));
        size_t n;
        void *const *refs = rc_refindex_referrers(idx, obj, &n);
        /* every referrer appears once per reference it holds */
        for (size_t k = 0; k < n; k++) {
            int times = 0;
            for (size_t j = 0; j < n; j++) times += refs[j] == refs[k];
            CHECK_EQ_INT(times, refs_from(refs[k], obj));
        }
        /* and the tracked ones are exactly get_referrers' answer */
        void *objs[1] = {obj};
        rc_list *r = rc_gc_get_referrers(h, objs, 1);
        size_t distinct_tracked = 0;
        for (size_t k = 0; k < n; k++) {
            bool first = true;
            for (size_t j = 0; j < k; j++) first = first && refs[j] != refs[k];
            if (first && rc_gc_is_tracked(refs[k]) && refs[k] != (void *)all) {
                distinct_tracked++;
                CHECK_EQ_INT(count_in(r, refs[k]), 1);
            }
        }
        CHECK_EQ_INT(rc_list_len(r), distinct_tracked + (count_in(r, all) ? 1 : 0));
        rc_decref(r);
        total_refs += n;
    }
    rc_decref(all);
    CHECK_EQ_INT(rc_refindex_references(idx), total_refs);
    rc_refindex_free(idx);
    rc_decref(extra);
    free_world(&w);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(refindex_counts_untracked_targets_and_untracked_holders)
{
    rc_heap *h = quiet_heap();
    world w;
    build_world(h, &w);
    rc_refindex *idx = rc_refindex_build(h);
    size_t n;
    void *const *refs = rc_refindex_referrers(idx, w.atoms[0], &n);
    /* root twice, big 500 times, nodes 0, 8, ..., 56 */
    CHECK_EQ_INT(n, 2 + 4000 / 8 + 8);
    int from_root = 0;
    for (size_t i = 0; i < n; i++) from_root += refs[i] == (void *)w.root;
    CHECK_EQ_INT(from_root, 2);
    refs = rc_refindex_referrers(idx, w.nodes[7], &n);
    /* nodes[8] and the untracked list */
    CHECK_EQ_INT(n, 2);
    CHECK(refs[0] == (void *)w.untracked || refs[1] == (void *)w.untracked);
    refs = rc_refindex_referrers(idx, w.root, &n);
    CHECK(refs == NULL && n == 0);
    rc_refindex_free(idx);
    free_world(&w);
    rc_gc_collect(h, 2);
    rc_heap_free(h);
}

TEST(refindex_answers_nothing_for_objects_born_after_it)
{
    rc_heap *h = quiet_heap();
    rc_list *l = rc_list_new(h, 0);
    rc_refindex *idx = rc_refindex_build(h);
    enum { N = 3000 };                  /* enough to open new pages */
    rc_list *later[N];
    for (int i = 0; i < N; i++) {
        later[i] = rc_list_new(h, 0);
        rc_list_append(l, rc_obj(later[i]));
    }
    size_t n = 99;
    for (int i = 0; i < N; i++) {
        CHECK(rc_refindex_referrers(idx, later[i], &n) == NULL);
        CHECK_EQ_INT(n, 0);
    }
    rc_refindex_free(idx);
    for (int i = 0; i < N; i++) rc_decref(later[i]);
    rc_decref(l);
    rc_heap_free(h);
}

TEST(refindex_memory_is_counted_while_it_lives)
{
    rc_heap *h = quiet_heap();
    world w;
    build_world(h, &w);
    rc_heap_stats a, b, c;
    rc_heap_get_stats(h, &a);
    rc_refindex *idx = rc_refindex_build(h);
    rc_heap_get_stats(h, &b);
    size_t refs = rc_refindex_references(idx);
    CHECK(b.buffer_bytes >= a.buffer_bytes + 8 * refs);
    rc_refindex_free(idx);
    rc_heap_get_stats(h, &c);
    CHECK_EQ_INT(c.buffer_bytes, a.buffer_bytes);
    rc_refindex_free(NULL);
    free_world(&w);
    rc_gc_collect(h, 2);
    rc_heap_free(h);
}

TEST(refindex_of_an_empty_heap_is_empty)
{
    rc_heap *h = quiet_heap();
    rc_refindex *idx = rc_refindex_build(h);
    REQUIRE(idx);
    CHECK_EQ_INT(rc_refindex_objects(idx), 0);
    CHECK_EQ_INT(rc_refindex_references(idx), 0);
    rc_refindex_free(idx);
    rc_heap_free(h);
}

/* ---- out of memory ---- */

TEST(inspection_fails_cleanly_at_every_allocation)
{
    rc_heap *h = fa_heap_new();
    rc_gc_disable(h);
    world w;
    build_world(h, &w);
    size_t objects = live_objects(h);
    rc_heap_stats before, after;
    rc_heap_get_stats(h, &before);
    int ok[4] = {0, 0, 0, 0}, failed[4] = {0, 0, 0, 0};
    void *objs[12];
    for (int i = 0; i < 8; i++) objs[i] = w.atoms[i];
    for (int i = 8; i < 12; i++) objs[i] = w.nodes[i];
    for (long k = 0; k < 40; k++) {
        fa_arm(k);
        rc_refindex *idx = rc_refindex_build(h);
        fa_disarm();
        if (idx) ok[0]++; else failed[0]++;
        rc_refindex_free(idx);
        fa_arm(k);
        rc_list *l = rc_gc_get_referrers(h, objs, 12);
        fa_disarm();
        if (l) ok[1]++; else failed[1]++;
        rc_xdecref(l);
        fa_arm(k);
        l = rc_gc_get_objects(h, -1);
        fa_disarm();
        if (l) ok[2]++; else failed[2]++;
        rc_xdecref(l);
        fa_arm(k);
        l = rc_gc_get_referents(h, objs, 12);
        fa_disarm();
        if (l) ok[3]++; else failed[3]++;
        rc_xdecref(l);
    }
    for (int i = 0; i < 4; i++) CHECK(ok[i] > 0 && failed[i] > 0);
    CHECK_EQ_INT(live_objects(h), objects);
    rc_heap_get_stats(h, &after);
    CHECK_EQ_INT(after.buffer_bytes, before.buffer_bytes);
    free_world(&w);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

RC_TEST_MAIN
