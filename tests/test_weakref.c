/* test_weakref.c -- weak references and the weak-valued dict: clearing by
 * refcount and by collection, CPython's callback rules in a collection, and
 * ports of the scenarios of CPython's test_weakref / test_gc. */
#include "harness.h"
#include "testutil.h"
#include "failalloc.h"
#include "nodes.h"
#include "recycle/builtins.h"
#include "recycle/gc.h"
#include "recycle/weakref.h"
#include <stdlib.h>

NODES_IMPL

/* A record of callbacks: which weak reference, with which data. */
static struct {
    int n;
    rc_weakref *w[16];
    void *data[16];
    int alive_at_call[16];
} calls;

static void reset_calls(void) { memset(&calls, 0, sizeof calls); }

static void record_cb(rc_weakref *w, void *data)
{
    if (calls.n < 16) {
        calls.w[calls.n] = w;
        calls.data[calls.n] = data;
        calls.alive_at_call[calls.n] = rc_weakref_alive(w);
    }
    calls.n++;
}

/* ---- basics ---- */

TEST(get_returns_a_new_reference_while_the_referent_lives)
{
    rc_heap *h = rc_heap_new(NULL);
    node *a = rc_new(h, &node2_type);
    rc_weakref *w = rc_weakref_new(a, NULL, NULL);
    REQUIRE(w);
    CHECK_EQ_INT(rc_refcount(a), 1);   /* a weak reference owns nothing */
    CHECK(rc_weakref_alive(w));
    node *got = rc_weakref_get(w);
    CHECK(got == a);
    CHECK_EQ_INT(rc_refcount(a), 2);
    rc_decref(got);
    rc_decref(a);
    rc_decref(w);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(a_weakref_is_cleared_when_its_referent_dies_by_refcount)
{
    rc_heap *h = rc_heap_new(NULL);
    node *a = rc_new(h, &node2_type);
    rc_weakref *w = rc_weakref_new(a, NULL, NULL);
    rc_decref(a);
    CHECK(!rc_weakref_alive(w));
    CHECK(rc_weakref_get(w) == NULL);
    CHECK_EQ_INT(live_objects(h), 1);
    rc_decref(w);
    rc_heap_free(h);
}

TEST(the_callback_runs_once_with_its_data_and_a_cleared_weakref)
{
    rc_heap *h = rc_heap_new(NULL);
    reset_calls();
    int token;
    node *a = rc_new(h, &node2_type);
    rc_weakref *w = rc_weakref_new(a, record_cb, &token);
    rc_decref(a);
    CHECK_EQ_INT(calls.n, 1);
    CHECK(calls.w[0] == w);
    CHECK(calls.data[0] == &token);
    CHECK_EQ_INT(calls.alive_at_call[0], 0);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(calls.n, 1);
    rc_decref(w);
    rc_heap_free(h);
}

TEST(a_weakref_that_dies_first_never_calls_back)
{
    rc_heap *h = rc_heap_new(NULL);
    reset_calls();
    node *a = rc_new(h, &node2_type);
    rc_weakref *w = rc_weakref_new(a, record_cb, NULL);
    rc_decref(w);
    CHECK_EQ_INT(rc_weakref_count(a), 0);
    CHECK_EQ_INT(RC_HEAD(a)->gc & RC__WEAKREFS, 0);
    rc_decref(a);
    CHECK_EQ_INT(calls.n, 0);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(weakrefs_to_untracked_objects_work)
{
    rc_heap *h = rc_heap_new(NULL);
    reset_calls();
    rc_str *s = rc_str_from_cstr(h, "hello");
    node *leaf = rc_new(h, &leaf_type);
    rc_weakref *ws = rc_weakref_new(s, record_cb, NULL);
    rc_weakref *wl = rc_weakref_new(leaf, record_cb, NULL);
    REQUIRE(ws && wl);
    CHECK(!rc_gc_is_tracked(s));
    rc_str *got = rc_weakref_get(ws);
    CHECK(got == s);
    rc_decref(got);
    rc_decref(s);
    rc_decref(leaf);
    CHECK_EQ_INT(calls.n, 2);
    CHECK(!rc_weakref_alive(ws) && !rc_weakref_alive(wl));
    rc_decref(ws);
    rc_decref(wl);
    rc_heap_free(h);
}

TEST(a_weakref_to_null_is_null)
{
    CHECK(rc_weakref_new(NULL, NULL, NULL) == NULL);
    CHECK(rc_weakref_new_owned(NULL, record_cb, NULL) == NULL);
}

TEST(get_on_something_else_than_a_weakref_is_an_error)
{
    rc_heap *h = rc_heap_new(NULL);
    node *a = rc_new(h, &node2_type);
    CHECK(rc_weakref_get((rc_weakref *)a) == NULL);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    rc_decref(a);
    rc_heap_free(h);
}

TEST(several_weakrefs_call_back_newest_first)
{
    rc_heap *h = rc_heap_new(NULL);
    reset_calls();
    node *a = rc_new(h, &node2_type);
    rc_weakref *w1 = rc_weakref_new(a, record_cb, (void *)1);
    rc_weakref *w2 = rc_weakref_new(a, NULL, NULL);
    rc_weakref *w3 = rc_weakref_new(a, record_cb, (void *)3);
    CHECK_EQ_INT(rc_weakref_count(a), 3);
    rc_decref(a);
    CHECK_EQ_INT(calls.n, 2);
    CHECK(calls.w[0] == w3 && calls.w[1] == w1);
    CHECK(!rc_weakref_alive(w2));
    rc_decref(w1);
    rc_decref(w2);
    rc_decref(w3);
    rc_heap_free(h);
}

TEST(count_and_list_follow_getweakrefcount_and_getweakrefs)
{
    rc_heap *h = rc_heap_new(NULL);
    node *a = rc_new(h, &node2_type);
    CHECK_EQ_INT(rc_weakref_count(a), 0);
    rc_weakref *w1 = rc_weakref_new(a, NULL, NULL);
    rc_weakref *w2 = rc_weakref_new(a, NULL, NULL);
    rc_list *l = rc_weakref_list(a);
    REQUIRE(l);
    CHECK_EQ_INT(rc_list_len(l), 2);
    CHECK(rc_as_obj(rc_list_get(l, 0)) == w2);
    CHECK(rc_as_obj(rc_list_get(l, 1)) == w1);
    rc_decref(l);
    rc_decref(w1);
    CHECK_EQ_INT(rc_weakref_count(a), 1);
    rc_decref(w2);
    rc_decref(a);
    rc_heap_free(h);
}

TEST(a_weakref_to_a_weakref_is_cleared_when_that_one_dies)
{
    rc_heap *h = rc_heap_new(NULL);
    reset_calls();
    node *a = rc_new(h, &node2_type);
    rc_weakref *w = rc_weakref_new(a, NULL, NULL);
    rc_weakref *ww = rc_weakref_new(w, record_cb, NULL);
    rc_decref(w);
    CHECK_EQ_INT(calls.n, 1);
    CHECK(!rc_weakref_alive(ww));
    CHECK_EQ_INT(rc_weakref_count(a), 0);
    rc_decref(ww);
    rc_decref(a);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(many_weakrefs_stay_consistent_in_any_order_of_death)
{
    rc_heap *h = rc_heap_new(NULL);
    reset_calls();
    enum { N = 5000 };
    node **objs = malloc(N * sizeof *objs);
    rc_weakref **ws = malloc(2 * N * sizeof *ws);
    for (int i = 0; i < N; i++) {
        objs[i] = rc_new(h, &node2_type);
        ws[2 * i] = rc_weakref_new(objs[i], NULL, NULL);
        ws[2 * i + 1] = rc_weakref_new(objs[i], NULL, NULL);
    }
    srand(7);
    for (int i = N - 1; i > 0; i--) {   /* shuffle */
        int j = rand() % (i + 1);
        node *t = objs[i];
        objs[i] = objs[j];
        objs[j] = t;
    }
    for (int i = 0; i < N; i += 2) rc_decref(objs[i]);   /* half the referents */
    for (int i = 0; i < 2 * N; i += 3) {                   /* a third of the weakrefs */
        rc_decref(ws[i]);
        ws[i] = NULL;
    }
    int alive = 0;
    for (int i = 0; i < 2 * N; i++)
        if (ws[i] && rc_weakref_alive(ws[i])) alive++;
    int expect = 0;
    for (int i = 1; i < N; i += 2) expect += (int)rc_weakref_count(objs[i]);
    CHECK_EQ_INT(alive, expect);
    for (int i = 1; i < N; i += 2) {
        for (size_t k = 0; k < rc_weakref_count(objs[i]); k++) {
            rc_list *l = rc_weakref_list(objs[i]);
            rc_weakref *w = rc_as_obj(rc_list_get(l, k));
            node *got = rc_weakref_get(w);
            CHECK(got == objs[i]);
            rc_xdecref(got);
            rc_decref(l);
        }
        rc_decref(objs[i]);
    }
    for (int i = 0; i < 2 * N; i++)
        if (ws[i]) {
            CHECK(!rc_weakref_alive(ws[i]));
            rc_decref(ws[i]);
        }
    CHECK_EQ_INT(live_objects(h), 0);
    free(objs);
    free(ws);
    rc_heap_free(h);
}

/* ---- owned data ---- */

TEST(owned_data_is_held_until_the_callback_ran)
{
    rc_heap *h = rc_heap_new(NULL);
    reset_calls();
    node *a = rc_new(h, &node2_type), *data = rc_new(h, &node2_type);
    rc_weakref *w = rc_weakref_new_owned(a, record_cb, data);
    CHECK_EQ_INT(rc_refcount(data), 2);
    rc_decref(a);
    CHECK_EQ_INT(calls.n, 1);
    CHECK(calls.data[0] == data);
    CHECK_EQ_INT(rc_refcount(data), 1);   /* released after the call */
    rc_decref(data);
    rc_decref(w);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(owned_data_is_released_when_the_weakref_dies_first)
{
    rc_heap *h = rc_heap_new(NULL);
    node *a = rc_new(h, &node2_type), *data = rc_new(h, &node2_type);
    rc_weakref *w = rc_weakref_new_owned(a, record_cb, data);
    rc_decref(data);
    CHECK_EQ_INT(live_objects(h), 3);
    rc_decref(w);
    CHECK_EQ_INT(live_objects(h), 1);
    rc_decref(a);
    rc_heap_free(h);
}

TEST(a_weakref_holding_its_referent_as_data_is_a_collectable_cycle)
{
    /* w -> data -> w: garbage in a collection, its callback never runs */
    rc_heap *h = rc_heap_new(NULL);
    reset_calls();
    node *a = rc_new(h, &node2_type), *box = rc_new(h, &node2_type);
    rc_weakref *w = rc_weakref_new_owned(a, record_cb, box);
    node_set(box, 0, w);
    rc_decref(box);
    rc_decref(w);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2);
    rc_decref(a);
    CHECK_EQ_INT(calls.n, 0);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* ---- in a collection ---- */

TEST(a_weakref_is_cleared_when_its_referent_is_collected)
{
    rc_heap *h = rc_heap_new(NULL);
    reset_calls();
    node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
    node_set(a, 0, b);
    node_set(b, 0, a);
    rc_weakref *w = rc_weakref_new(a, record_cb, NULL);
    rc_decref(a);
    rc_decref(b);
    CHECK(rc_weakref_alive(w));
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2);
    CHECK(!rc_weakref_alive(w));
    CHECK_EQ_INT(calls.n, 1);
    CHECK(calls.w[0] == w);
    rc_decref(w);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* The callback sees garbage intact: what it can reach is alive, and the
 * weak references it can use to reach garbage are already cleared. */
static rc_weakref *peer_wr;
static int peer_seen_alive;
static void peek_peer_cb(rc_weakref *w, void *data)
{
    (void)w;
    (void)data;
    void *p = rc_weakref_get(peer_wr);
    peer_seen_alive = p != NULL;
    rc_xdecref(p);
}

TEST(weakrefs_to_all_garbage_are_cleared_before_any_callback)
{
    rc_heap *h = rc_heap_new(NULL);
    node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
    node_set(a, 0, b);
    node_set(b, 0, a);
    rc_weakref *wa = rc_weakref_new(a, peek_peer_cb, NULL);
    rc_weakref *wb = rc_weakref_new(b, peek_peer_cb, NULL);
    peer_wr = wb;
    peer_seen_alive = -1;
    rc_decref(a);
    rc_decref(b);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(peer_seen_alive, 0);
    rc_decref(wa);
    rc_decref(wb);
    rc_heap_free(h);
}

TEST(weakref_and_referent_dying_in_the_same_collection_never_call_back)
{
    /* a <-> b, a holds a weak reference to b with a callback */
    rc_heap *h = rc_heap_new(NULL);
    reset_calls();
    node *a = rc_new(h, &node4_type), *b = rc_new(h, &node2_type);
    node_set(a, 0, b);
    node_set(b, 0, a);
    rc_weakref *w = rc_weakref_new(b, record_cb, NULL);
    node_set(a, 1, w);
    rc_decref(w);
    rc_decref(a);
    rc_decref(b);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 3);
    CHECK_EQ_INT(calls.n, 0);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(a_garbage_weakref_to_a_live_object_freed_by_the_clearing_never_calls_back)
{
    /* a <-> b garbage; a holds x (only holder) and a weak reference to x with
     * a callback. Clearing a frees x by refcount: the callback must not run. */
    rc_heap *h = rc_heap_new(NULL);
    reset_calls();
    node *a = rc_new(h, &node4_type), *b = rc_new(h, &node2_type), *x = rc_new(h, &leaf_type);
    node_set(a, 0, b);
    node_set(b, 0, a);
    node_set(a, 2, x);
    rc_weakref *w = rc_weakref_new(x, record_cb, NULL);
    node_set(a, 1, w);
    rc_decref(w);
    rc_decref(x);
    rc_decref(a);
    rc_decref(b);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 3);
    CHECK_EQ_INT(calls.n, 0);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* The garbage holds a weak reference to x, and a finalizer in the garbage
 * drops the last reference to x: x dies by refcount in the middle of the
 * collection, and the garbage weak reference must not call back. No garbage
 * object has weak references here, so this rests on the weak reference's
 * INSET flag alone. */
static node *x_holder;
static void drop_x_fin(void *obj)
{
    (void)obj;
    if (x_holder) {
        node *x = x_holder;
        x_holder = NULL;
        rc_decref(x);
    }
}
static const rc_type drop_x_type = {.name = "drop_x", .size = sizeof(node), .nslots = 4, .finalize = drop_x_fin};

TEST(a_garbage_weakref_never_calls_back_when_a_finalizer_kills_its_referent)
{
    rc_heap *h = rc_heap_new(NULL);
    reset_calls();
    for (int order = 0; order < 2; order++) {   /* weakref before or after the finalizer's object */
        x_holder = rc_new(h, &leaf_type);
        rc_weakref *w = order ? NULL : rc_weakref_new(x_holder, record_cb, NULL);
        node *a = rc_new(h, &drop_x_type), *b = rc_new(h, &drop_x_type);
        if (order) w = rc_weakref_new(x_holder, record_cb, NULL);
        node_set(a, 0, b);
        node_set(b, 0, a);
        node_set(a, 1, w);
        rc_decref(w);
        rc_decref(a);
        rc_decref(b);
        CHECK_EQ_INT(rc_gc_collect(h, 2), 3);
        CHECK(x_holder == NULL);
        CHECK_EQ_INT(calls.n, 0);
        CHECK_EQ_INT(live_objects(h), 0);
    }
    rc_heap_free(h);
}

/* Port of test_weakref's test_callback_in_cycle_resurrection: c1 <-> c2, each
 * holds a weak reference to the other whose callback would resurrect it; a
 * third, reachable weak reference watches a garbage object. Only that one
 * calls back. */
static rc_list *resurrect_into;
static void resurrecting_cb(rc_weakref *w, void *data)
{
    (void)w;
    rc_list_append(resurrect_into, rc_obj(data));   /* would resurrect data */
}
static void went_away_cb(rc_weakref *w, void *data)
{
    (void)w;
    (void)data;
    rc_str *s = rc_str_from_cstr(rc_heap_of(resurrect_into), "C went away");
    rc_list_append(resurrect_into, rc_obj(s));
    rc_decref(s);
}

TEST(callbacks_of_weakrefs_in_cyclic_trash_never_run)
{
    rc_heap *h = rc_heap_new(NULL);
    resurrect_into = rc_list_new(h, 0);
    node *c1 = rc_new(h, &node4_type), *c2 = rc_new(h, &node4_type);
    node *cls = rc_new(h, &node2_type);   /* "class C": a self-cycle */
    node_set(cls, 0, cls);
    node_set(c1, 0, c2);
    node_set(c2, 0, c1);
    node_set(c1, 1, cls);
    node_set(c2, 1, cls);
    rc_weakref *w1 = rc_weakref_new_owned(c2, resurrecting_cb, c1);
    rc_weakref *w2 = rc_weakref_new_owned(c1, resurrecting_cb, c2);
    node_set(c1, 2, w1);
    node_set(c2, 2, w2);
    rc_decref(w1);
    rc_decref(w2);
    rc_weakref *wr = rc_weakref_new(cls, went_away_cb, NULL);
    rc_decref(c1);
    rc_decref(c2);
    rc_decref(cls);
    CHECK_EQ_INT(rc_list_len(resurrect_into), 0);
    rc_gc_collect(h, 2);
    REQUIRE(rc_list_len(resurrect_into) == 1);
    CHECK(strcmp(rc_str_data(rc_as_obj(rc_list_get(resurrect_into, 0))), "C went away") == 0);
    CHECK(rc_weakref_get(wr) == NULL);
    rc_list_clear(resurrect_into);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 0);
    CHECK_EQ_INT(rc_list_len(resurrect_into), 0);
    rc_decref(wr);
    rc_decref(resurrect_into);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* Port of test_weakref's test_callbacks_on_callback: weak references on an
 * object that is itself a weak reference's callback data. */
static int safe_called, cb_called;
static void safe_cb(rc_weakref *w, void *d) { (void)w; (void)d; safe_called++; }
static void c_cb(rc_weakref *w, void *d) { (void)w; (void)d; cb_called++; }

TEST(weakrefs_on_a_callbacks_data_follow_the_same_rules)
{
    rc_heap *h = rc_heap_new(NULL);
    safe_called = cb_called = 0;
    node *c = rc_new(h, &node4_type), *d = rc_new(h, &node4_type);
    node *callback = rc_new(h, &node2_type);   /* "c.cb", a bound method */
    node_set(callback, 0, c);
    node_set(c, 0, d);
    node_set(d, 0, c);
    rc_weakref *cwr = rc_weakref_new_owned(d, c_cb, callback);   /* won't trigger */
    rc_weakref *dwr = rc_weakref_new_owned(callback, c_cb, d);   /* ditto */
    node_set(c, 1, cwr);
    node_set(d, 1, dwr);
    rc_decref(cwr);
    rc_decref(dwr);
    rc_weakref *external = rc_weakref_new(callback, safe_cb, NULL);   /* but this will */
    void *got = rc_weakref_get(external);
    CHECK(got == callback);
    rc_xdecref(got);
    rc_decref(callback);
    rc_decref(c);
    rc_decref(d);
    CHECK_EQ_INT(safe_called + cb_called, 0);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(safe_called, 1);
    CHECK_EQ_INT(cb_called, 0);
    CHECK(rc_weakref_get(external) == NULL);
    rc_decref(external);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* Port of test_gc's test_bug1055820c: a callback on an old object that dies
 * by refcount while a young collection clears its holder tries to reach a
 * garbage object through a weak reference without callback. */
static rc_weakref *c2wr;
static int ouch_calls;
static void *ouch_got;
static void ouch_cb(rc_weakref *w, void *data)
{
    (void)w;
    (void)data;
    ouch_calls++;
    ouch_got = rc_weakref_get(c2wr);
}

TEST(a_callback_cannot_reach_garbage_through_another_weakref)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_gc_disable(h);
    node *c0 = rc_new(h, &node2_type);
    node_set(c0, 1, c0);        /* c0.loop */
    rc_gc_collect(h, 1);           /* c0 is old */
    node *c1 = rc_new(h, &node2_type);
    node_set(c1, 0, c0);        /* c1.keep_c0_alive */
    node_set(c1, 1, c1);
    node_set(c0, 1, NULL);      /* del c0.loop: only c1 keeps c0 alive */
    node *c2 = rc_new(h, &node2_type);
    node_set(c2, 1, c2);
    c2wr = rc_weakref_new(c2, NULL, NULL);
    rc_weakref *c0wr = rc_weakref_new(c0, ouch_cb, NULL);
    ouch_calls = 0;
    ouch_got = (void *)1;
    rc_decref(c0);
    rc_decref(c1);
    rc_decref(c2);
    rc_gc_collect(h, 0);           /* c0 is not in generation 0 */
    CHECK_EQ_INT(ouch_calls, 1);
    CHECK(ouch_got == NULL);
    rc_xdecref(ouch_got == (void *)1 ? NULL : ouch_got);
    CHECK(!rc_weakref_alive(c0wr));
    rc_decref(c0wr);
    rc_decref(c2wr);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* Order of events in one collection: callbacks, then finalizers, then clear. */
static char events[64];
static void ev(char c) { size_t n = strlen(events); if (n < sizeof events - 1) events[n] = c; }
static void ev_cb(rc_weakref *w, void *d) { (void)w; (void)d; ev('w'); }
static void ev_fin(void *o) { (void)o; ev('f'); }
static void ev_clear(void *o) { ev('c'); cbnode_clear(o); }
static const rc_type ev_type = {
    .name = "ev", .size = sizeof(node), .traverse = cbnode_traverse, .clear = ev_clear, .finalize = ev_fin,
};

TEST(callbacks_run_before_finalizers_and_before_anything_is_cleared)
{
    rc_heap *h = rc_heap_new(NULL);
    events[0] = 0;
    node *a = rc_new(h, &ev_type), *b = rc_new(h, &ev_type);
    node_set(a, 0, b);
    node_set(b, 0, a);
    rc_weakref *w = rc_weakref_new(a, ev_cb, NULL);
    rc_decref(a);
    rc_decref(b);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2);
    /* each clear runs again, harmlessly, when the object then dies */
    CHECK(strncmp(events, "wffcc", 5) == 0);
    rc_decref(w);
    rc_heap_free(h);
}

/* Callbacks that allocate, build cycles, drop references and collect. */
static rc_heap *busy_heap;
static size_t nested_collect = 99;
static void busy_cb(rc_weakref *w, void *data)
{
    (void)data;
    nested_collect = rc_gc_collect(busy_heap, 2);
    for (int i = 0; i < 100; i++) {
        node *n = rc_new(busy_heap, &node2_type);
        node_set(n, 0, n);
        rc_weakref *ww = rc_weakref_new(n, record_cb, NULL);
        rc_decref(n);
        rc_decref(ww);
    }
    rc_list *l = rc_list_new(busy_heap, 0);
    rc_list_append(l, rc_obj(w));   /* the weakref stays alive through l */
    rc_list_append(l, rc_obj(l));
    rc_decref(l);
}

TEST(a_callback_that_allocates_and_collects_corrupts_nothing)
{
    rc_heap *h = busy_heap = rc_heap_new(NULL);
    rc_gc_set_threshold(h, 10, 1, 1);   /* allocation would collect if it could */
    reset_calls();
    node *a = rc_new(h, &node2_type);
    node_set(a, 0, a);
    rc_weakref *w = rc_weakref_new(a, busy_cb, NULL);
    rc_decref(a);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(nested_collect, 0);
    CHECK(!rc_weakref_alive(w));
    rc_decref(w);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(live_objects(h), 0);
    /* and by refcount: the callback runs outside any collection */
    nested_collect = 99;
    a = rc_new(h, &node2_type);
    w = rc_weakref_new(a, busy_cb, NULL);
    rc_decref(a);
    CHECK_EQ_INT(nested_collect, 0);
    rc_decref(w);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* A callback that drops the caller's last reference to another weak
 * reference of the same referent: that one still calls back. */
static rc_weakref *other_wr;
static int drop_calls;
static void drop_other_cb(rc_weakref *w, void *data)
{
    (void)data;
    drop_calls++;
    if (other_wr && w != other_wr) {
        rc_decref(other_wr);
        other_wr = NULL;
    }
}

TEST(a_callback_may_drop_another_pending_weakref)
{
    rc_heap *h = rc_heap_new(NULL);
    drop_calls = 0;
    node *a = rc_new(h, &node2_type);
    other_wr = rc_weakref_new(a, drop_other_cb, NULL);
    rc_weakref *w = rc_weakref_new(a, drop_other_cb, NULL);   /* newest: runs first */
    rc_decref(a);
    CHECK_EQ_INT(drop_calls, 2);
    CHECK(other_wr == NULL);
    rc_decref(w);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* A callback that resurrects: it stores its owned data in a global list.
 * The data is reachable from the live weakref, so it survives intact. */
static void keep_data_cb(rc_weakref *w, void *data)
{
    (void)w;
    rc_list_append(resurrect_into, rc_obj(data));
}

TEST(a_callback_that_keeps_its_data_keeps_it_intact)
{
    rc_heap *h = rc_heap_new(NULL);
    resurrect_into = rc_list_new(h, 0);
    node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
    node_set(a, 0, b);
    node_set(b, 0, a);
    node *data = rc_new(h, &node2_type), *inner = rc_new(h, &node2_type);
    node_set(data, 0, inner);
    node_set(inner, 0, data);   /* data is itself in a cycle */
    inner->payload = 42;
    rc_decref(inner);
    rc_weakref *w = rc_weakref_new_owned(a, keep_data_cb, data);
    rc_decref(data);
    rc_decref(a);
    rc_decref(b);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2);
    REQUIRE(rc_list_len(resurrect_into) == 1);
    node *kept = rc_as_obj(rc_list_get(resurrect_into, 0));
    CHECK(kept == data);
    CHECK(((node *)kept->slot[0])->payload == 42);
    rc_decref(w);
    rc_decref(resurrect_into);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* PEP 442 and weak references: by refcount the finalizer runs first and may
 * use the weak reference; a resurrected object keeps its weak references. */
static rc_weakref *self_wr;
static node *revived;
static int fin_saw_self;
static void reviving_fin(void *obj)
{
    void *p = rc_weakref_get(self_wr);
    fin_saw_self = p == obj;
    rc_xdecref(p);
    rc_incref(obj);
    revived = obj;
}
static const rc_type reviving_type = {.name = "reviving", .size = sizeof(node), .nslots = 2, .finalize = reviving_fin};

TEST(by_refcount_a_finalizer_runs_before_weakrefs_are_cleared)
{
    rc_heap *h = rc_heap_new(NULL);
    reset_calls();
    node *a = rc_new(h, &reviving_type);
    self_wr = rc_weakref_new(a, record_cb, NULL);
    revived = NULL;
    rc_decref(a);
    CHECK(fin_saw_self);
    CHECK(revived == a);
    CHECK(rc_weakref_alive(self_wr));   /* resurrected: still referred to */
    CHECK_EQ_INT(calls.n, 0);
    rc_decref(revived);                 /* finalized already: now it dies */
    CHECK(!rc_weakref_alive(self_wr));
    CHECK_EQ_INT(calls.n, 1);
    rc_decref(self_wr);
    rc_heap_free(h);
}

TEST(in_a_collection_weakrefs_are_cleared_even_if_a_finalizer_resurrects)
{
    rc_heap *h = rc_heap_new(NULL);
    reset_calls();
    node *a = rc_new(h, &reviving_type);
    node_set(a, 0, a);
    self_wr = rc_weakref_new(a, record_cb, NULL);
    revived = NULL;
    rc_decref(a);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 0);
    CHECK(revived == a);
    CHECK_EQ_INT(fin_saw_self, 0);       /* cleared before finalizers (CPython 3.13) */
    CHECK(!rc_weakref_alive(self_wr));
    CHECK_EQ_INT(calls.n, 1);
    CHECK(a->slot[0] == a);              /* intact */
    node_set(a, 0, NULL);
    rc_decref(revived);
    rc_decref(self_wr);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(saveall_clears_weakrefs_to_the_saved_garbage)
{
    rc_heap *h = rc_heap_new(NULL);
    reset_calls();
    rc_gc_set_debug(h, RC_GC_DEBUG_SAVEALL);
    node *a = rc_new(h, &node2_type);
    node_set(a, 0, a);
    rc_weakref *w = rc_weakref_new(a, record_cb, NULL);
    rc_decref(a);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 1);   /* found unreachable, saved, not freed */
    CHECK_EQ_INT(rc_list_len(rc_gc_garbage(h)), 1);
    CHECK(!rc_weakref_alive(w));
    CHECK_EQ_INT(calls.n, 1);
    rc_gc_set_debug(h, 0);
    rc_list_clear(rc_gc_garbage(h));
    CHECK_EQ_INT(rc_gc_collect(h, 2), 1);
    rc_decref(w);
    rc_heap_free(h);
}

TEST(freeing_the_heap_with_live_weakrefs_runs_no_callback)
{
    rc_heap *h = rc_heap_new(NULL);
    reset_calls();
    node *a = rc_new(h, &node2_type), *data = rc_new(h, &node2_type);
    rc_weakref *w = rc_weakref_new_owned(a, record_cb, data);
    rc_weakref *w2 = rc_weakref_new(a, record_cb, NULL);
    (void)w;
    (void)w2;
    rc_decref(data);
    rc_heap_free(h);
    CHECK_EQ_INT(calls.n, 0);
}

/* ---- the weak-valued dict ---- */

TEST(weakdict_maps_keys_to_live_values)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_weakdict *d = rc_weakdict_new(h);
    REQUIRE(d);
    node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
    rc_str *k = rc_str_from_cstr(h, "a");
    CHECK_EQ_INT(rc_weakdict_set(d, rc_obj(k), a), 0);
    CHECK_EQ_INT(rc_weakdict_set(d, rc_int(2), b), 0);
    CHECK_EQ_INT(rc_weakdict_len(d), 2);
    CHECK_EQ_INT(rc_refcount(a), 1);
    rc_str *k2 = rc_str_from_cstr(h, "a");   /* equal content, other object */
    node *got = rc_weakdict_get(d, rc_obj(k2));
    CHECK(got == a);
    CHECK_EQ_INT(rc_refcount(a), 2);
    rc_xdecref(got);
    CHECK(rc_weakdict_get(d, rc_int(3)) == NULL);
    rc_decref(k);
    rc_decref(k2);
    rc_decref(a);
    rc_decref(b);
    CHECK_EQ_INT(rc_weakdict_len(d), 0);
    rc_decref(d);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(weakdict_entries_vanish_when_values_die_by_refcount)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_weakdict *d = rc_weakdict_new(h);
    node *a = rc_new(h, &node2_type);
    rc_weakdict_set(d, rc_int(1), a);
    rc_decref(a);
    CHECK_EQ_INT(rc_weakdict_len(d), 0);
    CHECK(rc_weakdict_get(d, rc_int(1)) == NULL);
    CHECK_EQ_INT(rc_weakdict_del(d, rc_int(1)), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_ENOTFOUND);
    rc_decref(d);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(weakdict_entries_vanish_when_values_are_collected)
{
    rc_heap *h = unstressed_heap();   /* counts what one rc_gc_collect frees: stress frees it sooner */
    rc_weakdict *d = rc_weakdict_new(h);
    for (int i = 0; i < 50; i++) {
        node *a = rc_new(h, &node2_type);
        node_set(a, 0, a);
        rc_weakdict_set(d, rc_int(i), a);
        rc_decref(a);
    }
    node *keep = rc_new(h, &node2_type);
    rc_weakdict_set(d, rc_int(100), keep);
    CHECK_EQ_INT(rc_weakdict_len(d), 51);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 50);
    CHECK_EQ_INT(rc_weakdict_len(d), 1);
    size_t pos = 0, n = 0;
    rc_val k;
    void *v;
    while (rc_weakdict_next(d, &pos, &k, &v)) {
        CHECK(k == rc_int(100) && v == keep);
        rc_decref(v);
        n++;
    }
    CHECK_EQ_INT(n, 1);
    rc_decref(keep);
    rc_decref(d);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* During the callback phase of a collection, entries whose value is garbage
 * are already invisible. */
static rc_weakdict *watched;
static size_t len_seen;
static void *got_seen;
static void look_cb(rc_weakref *w, void *data)
{
    (void)w;
    (void)data;
    len_seen = rc_weakdict_len(watched);
    got_seen = rc_weakdict_get(watched, rc_int(1));
}

TEST(weakdict_entries_of_garbage_are_invisible_before_their_removal)
{
    rc_heap *h = rc_heap_new(NULL);
    watched = rc_weakdict_new(h);
    node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type), *keep = rc_new(h, &leaf_type);
    node_set(a, 0, b);
    node_set(b, 0, a);
    /* the dict's weak reference to a is older than w: w calls back first */
    rc_weakdict_set(watched, rc_int(1), a);
    rc_weakdict_set(watched, rc_int(2), keep);
    rc_weakref *w = rc_weakref_new(a, look_cb, NULL);   /* newest: runs first */
    rc_decref(a);
    rc_decref(b);
    len_seen = 99;
    got_seen = (void *)1;
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(len_seen, 1);
    CHECK(got_seen == NULL);
    CHECK_EQ_INT(rc_weakdict_len(watched), 1);
    rc_decref(w);
    rc_decref(keep);
    rc_decref(watched);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(weakdict_set_replaces_and_del_removes)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_weakdict *d = rc_weakdict_new(h);
    node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
    rc_weakdict_set(d, rc_int(1), a);
    rc_weakdict_set(d, rc_int(1), b);
    CHECK_EQ_INT(rc_weakdict_len(d), 1);
    rc_decref(a);   /* the old value's death must not remove the new entry */
    node *got = rc_weakdict_get(d, rc_int(1));
    CHECK(got == b);
    rc_xdecref(got);
    CHECK_EQ_INT(rc_weakdict_del(d, rc_int(1)), 0);
    CHECK_EQ_INT(rc_weakdict_len(d), 0);
    CHECK_EQ_INT(rc_weakdict_del(d, rc_int(1)), -1);
    rc_decref(b);
    CHECK_EQ_INT(rc_weakdict_set(d, rc_int(1), NULL), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    rc_decref(d);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(weakdict_that_dies_before_its_values_leaves_them_alone)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_weakdict *d = rc_weakdict_new(h);
    node *a = rc_new(h, &node2_type);
    rc_weakdict_set(d, rc_int(1), a);
    rc_list *wl = rc_weakref_list(a);   /* someone holds the dict's weakref */
    rc_decref(d);
    CHECK_EQ_INT(rc_refcount(a), 1);
    rc_decref(a);                       /* no callback into the freed dict */
    rc_decref(wl);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(a_collected_weakdict_leaves_its_outliving_weakrefs_harmless)
{
    /* d is garbage through the key k1 -> d; someone holds the weak reference
     * of another entry, whose value dies after d is gone */
    rc_heap *h = rc_heap_new(NULL);
    rc_weakdict *d = rc_weakdict_new(h);
    node *k1 = rc_new(h, &node2_type), *v1 = rc_new(h, &leaf_type), *v2 = rc_new(h, &leaf_type);
    node_set(k1, 0, d);
    rc_weakdict_set(d, rc_obj(k1), v1);
    rc_weakdict_set(d, rc_int(2), v2);
    rc_list *held = rc_weakref_list(v2);
    REQUIRE(rc_list_len(held) == 1);
    rc_decref(k1);
    rc_decref(d);
    CHECK(rc_gc_collect(h, 2) >= 4);   /* d, its map, k1, k1's entry */
    rc_decref(v2);                  /* the outliving weakref calls back: nothing to do */
    CHECK(!rc_weakref_alive(rc_as_obj(rc_list_get(held, 0))));
    rc_decref(held);
    rc_decref(v1);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(weakdict_in_a_cycle_with_its_values_is_collected)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_weakdict *d = rc_weakdict_new(h);
    node *a = rc_new(h, &node2_type);
    node_set(a, 0, d);   /* a -> d strongly; d -> a weakly, with key a */
    rc_weakdict_set(d, rc_obj(a), a);   /* the key holds a: d -> key a -> d */
    rc_decref(a);
    rc_decref(d);
    CHECK(rc_gc_collect(h, 2) >= 4);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(weakdict_clear_and_iteration_with_deaths_during_the_walk)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_weakdict *d = rc_weakdict_new(h);
    node *v[10];
    for (int i = 0; i < 10; i++) {
        v[i] = rc_new(h, &node2_type);
        rc_weakdict_set(d, rc_int(i), v[i]);
    }
    size_t pos = 0, n = 0;
    rc_val k;
    void *val;
    while (rc_weakdict_next(d, &pos, &k, &val)) {
        int i = (int)rc_as_int(k);
        CHECK(val == v[i]);
        rc_decref(val);
        if (i + 1 < 10 && (i % 2) == 0) {   /* the next value dies now */
            rc_decref(v[i + 1]);
            v[i + 1] = NULL;
        }
        n++;
    }
    CHECK_EQ_INT(n, 5);
    CHECK_EQ_INT(rc_weakdict_len(d), 5);
    rc_weakdict_clear(d);
    CHECK_EQ_INT(rc_weakdict_len(d), 0);
    for (int i = 0; i < 10; i++) rc_xdecref(v[i]);
    rc_decref(d);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* ---- out of memory ---- */

TEST(weakref_creation_fails_cleanly_at_every_allocation)
{
    rc_heap *h = fa_heap_new();
    enum { N = 40 };
    node *objs[N];
    rc_weakref *ws[N];
    for (int i = 0; i < N; i++) objs[i] = rc_new(h, &node2_type);
    int made = 0, failures = 0;
    for (long k = 0; made < N && k < 10000; k++) {
        fa_arm(k % 3);   /* fail early and often: books, block, map growth */
        rc_weakref *w = rc_weakref_new(objs[made], record_cb, NULL);
        fa_disarm();
        if (!w) {
            failures++;
            CHECK_EQ_INT(rc_heap_error(h), RC_ENOMEM);
            CHECK_EQ_INT(rc_weakref_count(objs[made]), 0);
            continue;
        }
        ws[made++] = w;
    }
    CHECK(failures > 0);
    CHECK_EQ_INT(made, N);
    reset_calls();
    for (int i = 0; i < N; i++) {
        CHECK_EQ_INT(rc_weakref_count(objs[i]), 1);
        rc_decref(objs[i]);
    }
    CHECK_EQ_INT(calls.n, N);
    for (int i = 0; i < N; i++) rc_decref(ws[i]);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(weakdict_set_fails_cleanly_at_every_allocation)
{
    rc_heap *h = fa_heap_new();
    rc_weakdict *d = rc_weakdict_new(h);
    enum { N = 40 };
    node *vals[N];
    for (int i = 0; i < N; i++) vals[i] = rc_new(h, &leaf_type);
    int done = 0;
    for (long k = 0; done < N && k < 10000; k++) {
        fa_arm(k % 4);
        int r = rc_weakdict_set(d, rc_int(done), vals[done]);
        fa_disarm();
        if (r == 0) {
            done++;
        } else {
            CHECK_EQ_INT(rc_heap_error(h), RC_ENOMEM);
            CHECK_EQ_INT(rc_weakdict_len(d), (size_t)done);
            CHECK_EQ_INT(rc_weakref_count(vals[done]), 0);
        }
    }
    CHECK_EQ_INT(rc_weakdict_len(d), N);
    for (int i = 0; i < N; i += 2) rc_decref(vals[i]);
    CHECK_EQ_INT(rc_weakdict_len(d), N / 2);
    for (int i = 1; i < N; i += 2) rc_decref(vals[i]);
    CHECK_EQ_INT(rc_weakdict_len(d), 0);
    rc_decref(d);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

RC_TEST_MAIN
