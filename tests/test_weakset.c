/* test_weakset.c -- the weak-keyed dict (rc_weakkeydict, Python's
 * WeakKeyDictionary) and the weak set (rc_weakset, WeakSet): every call,
 * keys dying by refcount, in a collection and inside callbacks and
 * finalizers, iteration while entries die, the classic cycles, errors. */
#include "harness.h"
#include "testutil.h"
#include "nodes.h"
#include "recycle/builtins.h"
#include "recycle/gc.h"
#include "recycle/leak.h"
#include "recycle/weakref.h"
#include <stdlib.h>

NODES_IMPL

static size_t quick(size_t full, size_t q)
{
    return getenv("RC_TEST_QUICK") ? q : full;
}

/* ---- rc_weakkeydict: the calls ---- */

TEST(weakkeydict_maps_key_objects_to_values_without_holding_the_keys)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_weakkeydict *d = rc_weakkeydict_new(h);
    REQUIRE(d);
    CHECK(rc_typeof(d) == &rc_weakkeydict_type);
    node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type), *v = rc_new(h, &leaf_type);
    CHECK_EQ_INT(rc_weakkeydict_set(d, rc_obj(a), rc_obj(v)), 0);
    CHECK_EQ_INT(rc_weakkeydict_set(d, rc_obj(b), rc_int(7)), 0);
    CHECK_EQ_INT(rc_weakkeydict_len(d), 2);
    CHECK_EQ_INT(rc_refcount(a), 1);   /* the key is held weakly */
    CHECK_EQ_INT(rc_refcount(v), 2);   /* the value strongly */
    rc_val got = RC_EMPTY;
    CHECK_EQ_INT(rc_weakkeydict_get(d, rc_obj(a), &got), 1);
    CHECK(got == rc_obj(v));
    CHECK_EQ_INT(rc_refcount(v), 2);   /* borrowed */
    CHECK_EQ_INT(rc_weakkeydict_get(d, rc_obj(b), &got), 1);
    CHECK(got == rc_int(7));
    CHECK_EQ_INT(rc_weakkeydict_get(d, rc_obj(b), NULL), 1);
    /* absent: 0, nothing recorded -- distinguishable from any value */
    node *c = rc_new(h, &node2_type);
    rc_heap_clear_error(h);
    got = RC_NONE;
    CHECK_EQ_INT(rc_weakkeydict_get(d, rc_obj(c), &got), 0);
    CHECK(got == RC_NONE);
    CHECK_EQ_INT(rc_weakkeydict_get(d, rc_int(7), &got), 0);
    CHECK_EQ_INT(rc_heap_error(h), RC_OK);
    /* replacing releases the old value and keeps one entry */
    CHECK_EQ_INT(rc_weakkeydict_set(d, rc_obj(a), RC_NONE), 0);
    CHECK_EQ_INT(rc_refcount(v), 1);
    CHECK_EQ_INT(rc_weakkeydict_len(d), 2);
    CHECK_EQ_INT(rc_weakref_count(a), 1);
    CHECK_EQ_INT(rc_weakkeydict_get(d, rc_obj(a), &got), 1);
    CHECK(got == RC_NONE);
    /* del */
    CHECK_EQ_INT(rc_weakkeydict_del(d, rc_obj(a)), 0);
    CHECK_EQ_INT(rc_weakkeydict_len(d), 1);
    CHECK_EQ_INT(rc_weakkeydict_get(d, rc_obj(a), NULL), 0);
    CHECK_EQ_INT(rc_weakref_count(a), 0);
    CHECK_EQ_INT(rc_weakkeydict_del(d, rc_obj(a)), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_ENOTFOUND);
    CHECK_EQ_INT(rc_weakkeydict_del(d, rc_int(3)), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_ENOTFOUND);
    /* clear releases the values */
    CHECK_EQ_INT(rc_weakkeydict_set(d, rc_obj(c), rc_obj(v)), 0);
    CHECK_EQ_INT(rc_refcount(v), 2);
    rc_weakkeydict_clear(d);
    CHECK_EQ_INT(rc_weakkeydict_len(d), 0);
    CHECK_EQ_INT(rc_refcount(v), 1);
    CHECK_EQ_INT(rc_weakkeydict_get(d, rc_obj(b), NULL), 0);
    CHECK_EQ_INT(rc_weakkeydict_set(d, rc_obj(b), rc_int(1)), 0);   /* usable after clear */
    CHECK_EQ_INT(rc_weakkeydict_len(d), 1);
    rc_decref(a);
    rc_decref(b);
    rc_decref(c);
    rc_decref(v);
    rc_decref(d);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(weakkeydict_keys_compare_by_identity)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_weakkeydict *d = rc_weakkeydict_new(h);
    rc_str *k1 = rc_str_from_cstr(h, "same"), *k2 = rc_str_from_cstr(h, "same");
    CHECK_EQ_INT(rc_weakkeydict_set(d, rc_obj(k1), rc_int(1)), 0);
    CHECK_EQ_INT(rc_weakkeydict_get(d, rc_obj(k2), NULL), 0);
    CHECK_EQ_INT(rc_weakkeydict_set(d, rc_obj(k2), rc_int(2)), 0);
    CHECK_EQ_INT(rc_weakkeydict_len(d), 2);
    rc_decref(k1);
    CHECK_EQ_INT(rc_weakkeydict_len(d), 1);
    rc_val got = RC_EMPTY;
    CHECK_EQ_INT(rc_weakkeydict_get(d, rc_obj(k2), &got), 1);
    CHECK(got == rc_int(2));
    rc_decref(k2);
    rc_decref(d);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* ---- rc_weakkeydict: keys dying ---- */

TEST(weakkeydict_entry_and_its_value_go_when_the_key_dies_by_refcount)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_weakkeydict *d = rc_weakkeydict_new(h);
    node *k = rc_new(h, &node2_type), *v = rc_new(h, &leaf_type);
    rc_weakkeydict_set(d, rc_obj(k), rc_obj(v));
    rc_decref(v);   /* only the dict holds it now */
    CHECK_EQ_INT(live_objects(h), 6);   /* d, its map, its self, k, the entry, v */
    rc_decref(k);
    CHECK_EQ_INT(rc_weakkeydict_len(d), 0);
    size_t pos = 0;
    CHECK_EQ_INT(rc_weakkeydict_next(d, &pos, NULL, NULL), 0);
    CHECK_EQ_INT(live_objects(h), 3);   /* entry and value went with the key */
    rc_decref(d);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(weakkeydict_entries_vanish_when_keys_are_collected)
{
    rc_heap *h = unstressed_heap();
    rc_weakkeydict *d = rc_weakkeydict_new(h);
    for (int i = 0; i < 50; i++) {
        node *k = rc_new(h, &node2_type);
        node_set(k, 0, k);   /* a cycle: only the collector frees it */
        node *v = rc_new(h, &leaf_type);
        rc_weakkeydict_set(d, rc_obj(k), rc_obj(v));
        rc_decref(v);
        rc_decref(k);
    }
    node *keep = rc_new(h, &node2_type);
    rc_weakkeydict_set(d, rc_obj(keep), rc_int(100));
    CHECK_EQ_INT(rc_weakkeydict_len(d), 51);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 50);   /* the keys; then the entries and values by refcount */
    CHECK_EQ_INT(rc_weakkeydict_len(d), 1);
    CHECK_EQ_INT(rc_count(h, "leaf"), 0);
    size_t pos = 0, n = 0;
    void *k;
    rc_val v;
    while (rc_weakkeydict_next(d, &pos, &k, &v)) {
        CHECK(k == keep && v == rc_int(100));
        rc_decref(k);
        n++;
    }
    CHECK_EQ_INT(n, 1);
    rc_decref(keep);
    rc_decref(d);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* During the callback phase of a collection, entries whose key is garbage
 * are already invisible. */
static rc_weakkeydict *watched;
static rc_val watched_key;
static size_t len_seen;
static int got_seen;
static void look_cb(rc_weakref *w, void *data)
{
    (void)w;
    (void)data;
    len_seen = rc_weakkeydict_len(watched);
    got_seen = rc_weakkeydict_get(watched, watched_key, NULL);
}

TEST(weakkeydict_entries_of_garbage_keys_are_invisible_before_their_removal)
{
    rc_heap *h = rc_heap_new(NULL);
    watched = rc_weakkeydict_new(h);
    node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type), *keep = rc_new(h, &leaf_type);
    node_set(a, 0, b);
    node_set(b, 0, a);
    rc_weakkeydict_set(watched, rc_obj(a), rc_int(1));   /* older: called back after w */
    rc_weakkeydict_set(watched, rc_obj(keep), rc_int(2));
    rc_weakref *w = rc_weakref_new(a, look_cb, NULL);
    watched_key = rc_obj(a);
    rc_decref(a);
    rc_decref(b);
    len_seen = 99;
    got_seen = 99;
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(len_seen, 1);
    CHECK_EQ_INT(got_seen, 0);
    CHECK_EQ_INT(rc_weakkeydict_len(watched), 1);
    rc_decref(w);
    rc_decref(keep);
    rc_decref(watched);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* A key whose last reference a weak-reference callback drops, and one a
 * finalizer drops: the entry goes at once, inside that code. */
static void *doomed;
static size_t len_after_drop;
static rc_weakkeydict *dropped_from;
static void drop_doomed(void)
{
    void *k = doomed;
    doomed = NULL;
    rc_decref(k);
    len_after_drop = rc_weakkeydict_len(dropped_from);
}
static void drop_cb(rc_weakref *w, void *data)
{
    (void)w;
    (void)data;
    drop_doomed();
}
static void drop_fin(void *obj)
{
    (void)obj;
    if (doomed) drop_doomed();
}
static const rc_type dropper_type = {.name = "dropper", .size = sizeof(node), .finalize = drop_fin};

TEST(weakkeydict_key_dying_inside_a_callback_leaves_at_once)
{
    rc_heap *h = rc_heap_new(NULL);
    dropped_from = rc_weakkeydict_new(h);
    doomed = rc_new(h, &node2_type);
    rc_weakkeydict_set(dropped_from, rc_obj(doomed), rc_int(1));
    node *trigger = rc_new(h, &node2_type);
    rc_weakref *w = rc_weakref_new(trigger, drop_cb, NULL);
    len_after_drop = 99;
    rc_decref(trigger);
    CHECK_EQ_INT(len_after_drop, 0);
    CHECK(doomed == NULL);
    rc_decref(w);
    rc_decref(dropped_from);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(weakkeydict_key_dying_inside_a_finalizer_of_a_collection_leaves)
{
    rc_heap *h = unstressed_heap();
    dropped_from = rc_weakkeydict_new(h);
    doomed = rc_new(h, &node2_type);
    rc_weakkeydict_set(dropped_from, rc_obj(doomed), rc_int(1));
    node *x = rc_new(h, &dropper_type), *y = rc_new(h, &node2_type);
    node_set(y, 0, x);
    node_set(y, 1, y);   /* y holds itself and x: garbage only the collector finds */
    rc_decref(x);
    rc_decref(y);
    len_after_drop = 99;
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(len_after_drop, 0);
    CHECK(doomed == NULL);
    CHECK_EQ_INT(rc_weakkeydict_len(dropped_from), 0);
    rc_decref(dropped_from);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* A finalizer that, during a collection, makes garbage a key: the entry is
 * cleared with the garbage, calling no user callback, but the entry itself
 * still leaves and its value is released. */
static rc_weakkeydict *late_dict;
static rc_weakset *late_set;
static void *late_value;
static void late_fin(void *obj)
{
    node *n = obj;
    if (!n->slot[0]) return;
    CHECK_EQ_INT(rc_weakkeydict_set(late_dict, rc_obj(n->slot[0]), rc_obj(late_value)), 0);
    CHECK_EQ_INT(rc_weakset_add(late_set, rc_obj(n->slot[0])), 0);
}
static const rc_type late_type = {
    .name = "late", .size = sizeof(node), .slots_offset = 0, .nslots = 2, .finalize = late_fin,
};

TEST(entries_made_for_garbage_during_a_collection_leave_with_it)
{
    rc_heap *h = unstressed_heap();
    late_dict = rc_weakkeydict_new(h);
    late_set = rc_weakset_new(h);
    late_value = rc_new(h, &leaf_type);
    node *a = rc_new(h, &late_type), *b = rc_new(h, &node2_type);
    node_set(a, 0, b);
    node_set(b, 0, a);
    rc_decref(a);
    rc_decref(b);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(rc_weakkeydict_len(late_dict), 0);
    CHECK_EQ_INT(rc_weakset_len(late_set), 0);
    CHECK_EQ_INT(rc_refcount(late_value), 1);   /* the entry let its value go */
    CHECK_EQ_INT(rc_count(h, "weakref"), 2);    /* only the containers' own */
    rc_decref(late_value);
    rc_decref(late_dict);
    rc_decref(late_set);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* ---- rc_weakkeydict: cycles ---- */

TEST(weakkeydict_value_holding_its_key_keeps_it_while_the_dict_lives)
{
    rc_heap *h = unstressed_heap();
    rc_weakkeydict *d = rc_weakkeydict_new(h);
    node *k = rc_new(h, &node2_type), *v = rc_new(h, &node2_type);
    node_set(v, 0, k);   /* the value refers to its key */
    rc_weakkeydict_set(d, rc_obj(k), rc_obj(v));
    rc_decref(v);
    rc_decref(k);
    rc_gc_collect(h, 2);
    /* as in CPython: the key is alive through dict -> entry -> value -> key */
    CHECK_EQ_INT(rc_weakkeydict_len(d), 1);
    CHECK_EQ_INT(rc_count(h, "node2"), 2);
    /* the key is not in a cycle (the dict holds it weakly): the dict's
     * death frees the lot by refcount */
    rc_decref(d);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(weakkeydict_value_holding_the_dict_is_an_ordinary_cycle)
{
    rc_heap *h = unstressed_heap();
    rc_weakkeydict *d = rc_weakkeydict_new(h);
    node *k = rc_new(h, &node2_type), *v = rc_new(h, &node2_type);
    node_set(v, 0, d);
    rc_weakkeydict_set(d, rc_obj(k), rc_obj(v));
    rc_decref(v);
    rc_decref(d);
    CHECK(rc_gc_collect(h, 2) > 0);
    CHECK_EQ_INT(rc_weakref_count(k), 0);   /* the dict's entry went with it */
    rc_decref(k);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(weakkeydict_may_have_itself_as_a_key)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_weakkeydict *d = rc_weakkeydict_new(h);
    CHECK_EQ_INT(rc_weakkeydict_set(d, rc_obj(d), rc_int(5)), 0);
    CHECK_EQ_INT(rc_refcount(d), 1);
    rc_val got = RC_EMPTY;
    CHECK_EQ_INT(rc_weakkeydict_get(d, rc_obj(d), &got), 1);
    CHECK(got == rc_int(5));
    CHECK_EQ_INT(rc_weakkeydict_set(d, rc_obj(d), rc_obj(d)), 0);   /* and as a value: a cycle */
    rc_decref(d);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(live_objects(h), 0);
    d = rc_weakkeydict_new(h);
    rc_weakkeydict_set(d, rc_obj(d), RC_TRUE);
    rc_decref(d);   /* held weakly only: freed by refcount */
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* ---- rc_weakkeydict: iteration ---- */

TEST(weakkeydict_walk_survives_keys_dying_and_entries_deleted)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_weakkeydict *d = rc_weakkeydict_new(h);
    enum { N = 40 };
    node *k[N];
    for (int i = 0; i < N; i++) {
        k[i] = rc_new(h, &node2_type);
        rc_weakkeydict_set(d, rc_obj(k[i]), rc_int(i));
    }
    size_t pos = 0, seen = 0;
    void *key;
    rc_val v;
    while (rc_weakkeydict_next(d, &pos, &key, &v)) {
        int64_t i = rc_as_int(v);
        CHECK(key == k[i]);
        seen++;
        if (i % 2 == 0 && i + 1 < N) {   /* the next key dies: it must be skipped */
            rc_decref(k[i + 1]);
            k[i + 1] = NULL;
        }
        if (i % 4 == 0) rc_weakkeydict_del(d, rc_obj(key));   /* the current one goes */
        rc_decref(key);
    }
    CHECK_EQ_INT(seen, N / 2);
    CHECK_EQ_INT(rc_weakkeydict_len(d), N / 4);   /* 2, 6, 10, ...: even, not a multiple of 4 */
    /* adding during a walk: no entry is lost, nothing breaks */
    pos = 0;
    int added = 0;
    node *extra[N];
    while (rc_weakkeydict_next(d, &pos, &key, NULL)) {
        if (added < N) {
            extra[added] = rc_new(h, &leaf_type);
            CHECK_EQ_INT(rc_weakkeydict_set(d, rc_obj(extra[added]), RC_NONE), 0);
            added++;
        }
        rc_decref(key);
    }
    CHECK_EQ_INT(rc_weakkeydict_len(d), N / 4 + (size_t)added);
    for (int i = 0; i < added; i++) rc_decref(extra[i]);
    for (int i = 0; i < N; i++) rc_xdecref(k[i]);
    CHECK_EQ_INT(rc_weakkeydict_len(d), 0);
    rc_decref(d);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(weakkeydict_holds_many_keys)
{
    rc_heap *h = unstressed_heap();
    rc_weakkeydict *d = rc_weakkeydict_new(h);
    size_t n = quick(100000, 5000);
    rc_list *keys = rc_list_new(h, n);
    for (size_t i = 0; i < n; i++) {
        node *k = rc_new(h, &leaf_type);
        REQUIRE(k);
        rc_list_append(keys, rc_obj(k));
        REQUIRE(rc_weakkeydict_set(d, rc_obj(k), rc_int((int64_t)i)) == 0);
        rc_decref(k);
    }
    CHECK_EQ_INT(rc_weakkeydict_len(d), n);
    rc_val got = RC_EMPTY;
    CHECK_EQ_INT(rc_weakkeydict_get(d, rc_list_get(keys, n / 2), &got), 1);
    CHECK(got == rc_int((int64_t)(n / 2)));
    while (rc_list_len(keys) > n / 2) rc_list_pop(keys, -1, NULL);
    CHECK_EQ_INT(rc_weakkeydict_len(d), n / 2);
    rc_decref(keys);
    CHECK_EQ_INT(rc_weakkeydict_len(d), 0);
    rc_decref(d);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* ---- rc_weakkeydict: errors ---- */

TEST(weakkeydict_refuses_what_cannot_be_held_weakly)
{
    rc_heap *h = rc_heap_new(NULL), *other = rc_heap_new(NULL);
    rc_weakkeydict *d = rc_weakkeydict_new(h);
    node *k = rc_new(h, &node2_type), *far = rc_new(other, &node2_type);
    rc_heap_clear_error(h);
    CHECK_EQ_INT(rc_weakkeydict_set(d, rc_int(1), RC_NONE), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    CHECK(strstr(rc_heap_error_message(h), "cannot be held weakly"));
    rc_heap_clear_error(h);
    CHECK_EQ_INT(rc_weakkeydict_set(d, rc_float(1.5), RC_NONE), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    rc_heap_clear_error(h);
    CHECK_EQ_INT(rc_weakkeydict_set(d, RC_EMPTY, RC_NONE), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    rc_heap_clear_error(h);
    CHECK_EQ_INT(rc_weakkeydict_set(d, rc_obj(k), RC_EMPTY), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    rc_heap_clear_error(h);
    CHECK_EQ_INT(rc_weakkeydict_set(d, rc_obj(far), RC_NONE), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    CHECK(strstr(rc_heap_error_message(h), "another heap"));
    rc_heap_clear_error(h);
    CHECK_EQ_INT(rc_weakkeydict_set(d, rc_obj(k), rc_obj(far)), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    CHECK_EQ_INT(rc_weakkeydict_len(d), 0);
    CHECK_EQ_INT(rc_weakref_count(far), 0);
    CHECK_EQ_INT(rc_weakref_count(k), 0);
    /* an object that is not a weak-keyed dict */
    rc_list *l = rc_list_new(h, 0);
    rc_heap_clear_error(h);
    CHECK_EQ_INT(rc_weakkeydict_set((rc_weakkeydict *)l, rc_obj(k), RC_NONE), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    rc_heap_clear_error(h);
    CHECK_EQ_INT(rc_weakkeydict_get((rc_weakkeydict *)l, rc_obj(k), NULL), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    rc_heap_clear_error(h);
    CHECK_EQ_INT(rc_weakkeydict_len((rc_weakkeydict *)l), 0);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    size_t pos = 0;
    CHECK_EQ_INT(rc_weakkeydict_next((rc_weakkeydict *)l, &pos, NULL, NULL), 0);
    CHECK_EQ_INT(rc_weakkeydict_next(d, NULL, NULL, NULL), 0);
    rc_weakset *s = rc_weakset_new(h);   /* the other weak kind is no weak-keyed dict */
    rc_heap_clear_error(h);
    CHECK_EQ_INT(rc_weakkeydict_del((rc_weakkeydict *)s, rc_obj(k)), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    rc_decref(s);
    rc_decref(l);
    rc_decref(k);
    rc_decref(far);
    rc_decref(d);
    CHECK_EQ_INT(live_objects(h), 0);
    CHECK(rc_weakkeydict_new(NULL) == NULL);
    CHECK(rc_weakset_new(NULL) == NULL);
    rc_heap_free(h);
    rc_heap_free(other);
}

#ifdef RC_DEBUG
static void set_on_null(void)
{
    rc_weakkeydict_set(NULL, RC_NONE, RC_NONE);
}
static void add_on_null(void)
{
    rc_weakset_add(NULL, RC_NONE);
}
TEST(null_containers_stop_debug_builds_naming_the_call)
{
    CHECK(dies_saying(set_on_null, "rc_weakkeydict_set"));
    CHECK(dies_saying(add_on_null, "rc_weakset_add"));
}
#else
TEST(null_containers_return_the_error_value)
{
    CHECK_EQ_INT(rc_weakkeydict_set(NULL, RC_NONE, RC_NONE), -1);
    CHECK_EQ_INT(rc_weakkeydict_get(NULL, RC_NONE, NULL), -1);
    CHECK_EQ_INT(rc_weakkeydict_del(NULL, RC_NONE), -1);
    CHECK_EQ_INT(rc_weakkeydict_len(NULL), 0);
    size_t pos = 0;
    CHECK_EQ_INT(rc_weakkeydict_next(NULL, &pos, NULL, NULL), 0);
    rc_weakkeydict_clear(NULL);
    CHECK_EQ_INT(rc_weakset_add(NULL, RC_NONE), -1);
    CHECK_EQ_INT(rc_weakset_discard(NULL, RC_NONE), -1);
    CHECK_EQ_INT(rc_weakset_contains(NULL, RC_NONE), -1);
    CHECK_EQ_INT(rc_weakset_len(NULL), 0);
    CHECK_EQ_INT(rc_weakset_next(NULL, &pos, NULL), 0);
    rc_weakset_clear(NULL);
}
#endif

/* ---- rc_weakset ---- */

TEST(weakset_holds_members_weakly)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_weakset *s = rc_weakset_new(h);
    REQUIRE(s);
    CHECK(rc_typeof(s) == &rc_weakset_type);
    node *a = rc_new(h, &node2_type), *b = rc_new(h, &leaf_type), *c = rc_new(h, &leaf_type);
    CHECK_EQ_INT(rc_weakset_add(s, rc_obj(a)), 0);
    CHECK_EQ_INT(rc_weakset_add(s, rc_obj(b)), 0);
    CHECK_EQ_INT(rc_weakset_add(s, rc_obj(a)), 0);   /* again: nothing changes */
    CHECK_EQ_INT(rc_weakset_len(s), 2);
    CHECK_EQ_INT(rc_weakref_count(a), 1);
    CHECK_EQ_INT(rc_refcount(a), 1);
    CHECK_EQ_INT(rc_weakset_contains(s, rc_obj(a)), 1);
    CHECK_EQ_INT(rc_weakset_contains(s, rc_obj(c)), 0);
    CHECK_EQ_INT(rc_weakset_contains(s, rc_int(1)), 0);
    size_t pos = 0, n = 0;
    void *item;
    while (rc_weakset_next(s, &pos, &item)) {
        CHECK(item == (n ? (void *)b : (void *)a));   /* insertion order */
        CHECK_EQ_INT(rc_refcount(item), 2);   /* NEW reference */
        rc_decref(item);
        n++;
    }
    CHECK_EQ_INT(n, 2);
    pos = 0;
    CHECK_EQ_INT(rc_weakset_next(s, &pos, NULL), 1);
    CHECK_EQ_INT(rc_refcount(a), 1);
    rc_heap_clear_error(h);
    CHECK_EQ_INT(rc_weakset_discard(s, rc_obj(a)), 1);
    CHECK_EQ_INT(rc_weakset_discard(s, rc_obj(a)), 0);
    CHECK_EQ_INT(rc_weakset_discard(s, rc_obj(c)), 0);
    CHECK_EQ_INT(rc_weakset_discard(s, rc_int(3)), 0);
    CHECK_EQ_INT(rc_heap_error(h), RC_OK);
    CHECK_EQ_INT(rc_weakset_len(s), 1);
    CHECK_EQ_INT(rc_weakref_count(a), 0);
    rc_decref(b);   /* dies: leaves the set */
    CHECK_EQ_INT(rc_weakset_len(s), 0);
    CHECK_EQ_INT(rc_weakset_add(s, rc_obj(c)), 0);
    rc_weakset_clear(s);
    CHECK_EQ_INT(rc_weakset_len(s), 0);
    CHECK_EQ_INT(rc_weakset_contains(s, rc_obj(c)), 0);
    CHECK_EQ_INT(rc_weakref_count(c), 0);
    rc_decref(a);
    rc_decref(c);
    rc_decref(s);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(weakset_members_leave_when_collected)
{
    rc_heap *h = unstressed_heap();
    rc_weakset *s = rc_weakset_new(h);
    node *keep = rc_new(h, &leaf_type);
    rc_weakset_add(s, rc_obj(keep));
    for (int i = 0; i < 30; i++) {
        node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
        node_set(a, 0, b);
        node_set(b, 0, a);
        rc_weakset_add(s, rc_obj(a));
        rc_weakset_add(s, rc_obj(b));
        rc_decref(a);
        rc_decref(b);
    }
    CHECK_EQ_INT(rc_weakset_len(s), 61);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 60);
    CHECK_EQ_INT(rc_weakset_len(s), 1);
    CHECK_EQ_INT(rc_weakset_contains(s, rc_obj(keep)), 1);
    rc_decref(keep);
    CHECK_EQ_INT(rc_weakset_len(s), 0);
    rc_decref(s);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(weakset_may_contain_itself)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_weakset *s = rc_weakset_new(h);
    CHECK_EQ_INT(rc_weakset_add(s, rc_obj(s)), 0);
    CHECK_EQ_INT(rc_weakset_contains(s, rc_obj(s)), 1);
    CHECK_EQ_INT(rc_refcount(s), 1);
    CHECK_EQ_INT(rc_weakset_len(s), 1);
    rc_decref(s);   /* nothing holds it strongly: gone by refcount */
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(weakset_walk_survives_members_dying_and_discarded)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_weakset *s = rc_weakset_new(h);
    enum { N = 20 };
    node *m[N];
    for (int i = 0; i < N; i++) {
        m[i] = rc_new(h, &node2_type);
        m[i]->payload = i;
        rc_weakset_add(s, rc_obj(m[i]));
    }
    size_t pos = 0, seen = 0;
    void *item;
    while (rc_weakset_next(s, &pos, &item)) {
        long i = ((node *)item)->payload;
        seen++;
        rc_weakset_discard(s, rc_obj(item));
        if (i + 1 < N) {   /* the next one dies */
            rc_decref(m[i + 1]);
            m[i + 1] = NULL;
        }
        rc_decref(item);
    }
    CHECK_EQ_INT(seen, N / 2);
    CHECK_EQ_INT(rc_weakset_len(s), 0);
    for (int i = 0; i < N; i++) rc_xdecref(m[i]);
    rc_decref(s);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(weakset_refuses_what_cannot_be_held_weakly)
{
    rc_heap *h = rc_heap_new(NULL), *other = rc_heap_new(NULL);
    rc_weakset *s = rc_weakset_new(h);
    node *far = rc_new(other, &leaf_type);
    rc_val bad[] = {rc_int(1), RC_NONE, RC_TRUE, rc_float(2.0), RC_EMPTY, rc_obj(far)};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rc_heap_clear_error(h);
        CHECK_EQ_INT(rc_weakset_add(s, bad[i]), -1);
        CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
        CHECK_EQ_INT(rc_weakset_contains(s, bad[i]), 0);
    }
    CHECK_EQ_INT(rc_weakset_len(s), 0);
    rc_weakkeydict *d = rc_weakkeydict_new(h);
    rc_heap_clear_error(h);
    CHECK_EQ_INT(rc_weakset_add((rc_weakset *)d, rc_obj(s)), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    rc_heap_clear_error(h);
    CHECK_EQ_INT(rc_weakset_contains((rc_weakset *)d, rc_obj(s)), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    rc_decref(d);
    rc_decref(far);
    rc_decref(s);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
    rc_heap_free(other);
}

/* ---- the leak tools see the new kinds ---- */

TEST(leak_tools_count_weak_containers_by_type)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_weakkeydict *d = rc_weakkeydict_new(h);
    rc_weakset *s = rc_weakset_new(h);
    rc_weakset *s2 = rc_weakset_new(h);
    CHECK_EQ_INT(rc_count(h, "weakkeydict"), 1);
    CHECK_EQ_INT(rc_count(h, "weakset"), 2);
    rc_list *l = rc_by_type(h, "weakset");
    REQUIRE(l);
    CHECK_EQ_INT(rc_list_len(l), 2);
    rc_decref(l);
    rc_decref(d);
    rc_decref(s);
    rc_decref(s2);
    CHECK_EQ_INT(rc_count(h, "weakset"), 0);
    rc_heap_free(h);
}

RC_TEST_MAIN
