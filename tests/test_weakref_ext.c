/* test_weakref_ext.c -- weak references users build on: weak references with
 * an extension (rc_weakref_new_ex, CPython's KeyedRef and other subclasses
 * of weakref.ref), weakref.finalize, the weak-keyed dict and the weak set. */
#include "harness.h"
#include "testutil.h"
#include "nodes.h"
#include "recycle/builtins.h"
#include "recycle/gc.h"
#include "recycle/weakref.h"
#include <stdlib.h>

NODES_IMPL

/* ---- rc_weakref_new_ex ---- */

/* A KeyedRef: the key object held in a slot, plus plain data. */
typedef struct keyed {
    long tag;
    void *key;
} keyed;

static const rc_type keyed_type = {
    .name = "keyedref", .size = sizeof(keyed), .slots_offset = offsetof(keyed, key), .nslots = 1,
};

static struct {
    int n;
    const rc_type *type;
    void *key;
    long tag;
    int alive;
} seen;

static void keyed_cb(rc_weakref *w, void *data)
{
    (void)data;
    seen.n++;
    seen.type = rc_weakref_ext_type(w);
    keyed *k = rc_weakref_ext(w);
    seen.key = k ? k->key : NULL;
    seen.tag = k ? k->tag : -1;
    seen.alive = rc_weakref_alive(w);
}

static rc_weakref *keyed_new(void *obj, void *key, long tag)
{
    rc_weakref *w = rc_weakref_new_ex(obj, &keyed_type, keyed_cb, NULL);
    if (!w) return NULL;
    keyed *k = rc_weakref_ext(w);
    rc_incref(key);
    k->key = key;
    k->tag = tag;
    return w;
}

TEST(an_extended_weakref_is_a_weakref_with_a_zeroed_extension)
{
    rc_heap *h = rc_heap_new(NULL);
    node *a = rc_new(h, &node2_type);
    rc_weakref *w = rc_weakref_new_ex(a, &keyed_type, NULL, NULL);
    REQUIRE(w);
    CHECK(rc_typeof(w) == &rc_weakref_type);
    CHECK(rc_weakref_ext_type(w) == &keyed_type);
    keyed *k = rc_weakref_ext(w);
    REQUIRE(k);
    CHECK(k->key == NULL && k->tag == 0);
    CHECK_EQ_INT((uintptr_t)k % _Alignof(max_align_t), 0);
    CHECK(rc_weakref_alive(w));
    node *got = rc_weakref_get(w);
    CHECK(got == a);
    rc_decref(got);
    CHECK_EQ_INT(rc_weakref_count(a), 1);
    rc_list *l = rc_weakref_list(a);
    CHECK(rc_as_obj(rc_list_get(l, 0)) == w);
    rc_decref(l);
    rc_decref(a);
    CHECK(!rc_weakref_alive(w));
    rc_decref(w);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(a_plain_weakref_has_no_extension)
{
    rc_heap *h = rc_heap_new(NULL);
    node *a = rc_new(h, &node2_type);
    rc_weakref *w = rc_weakref_new(a, NULL, NULL);
    CHECK(rc_weakref_ext(w) == NULL);
    CHECK(rc_weakref_ext_type(w) == NULL);
    CHECK_EQ_INT(rc_heap_error(h), 0);
    CHECK(rc_weakref_ext((rc_weakref *)a) == NULL);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    rc_decref(w);
    rc_decref(a);
    rc_heap_free(h);
}

TEST(a_keyedref_holds_its_key_past_the_callback_and_releases_it_when_it_dies)
{
    rc_heap *h = rc_heap_new(NULL);
    memset(&seen, 0, sizeof seen);
    node *a = rc_new(h, &node2_type);
    node *key = rc_new(h, &leaf_type);
    rc_weakref *w = keyed_new(a, key, 42);
    REQUIRE(w);
    CHECK_EQ_INT(rc_refcount(key), 2);
    rc_decref(a);
    CHECK_EQ_INT(seen.n, 1);
    CHECK(seen.type == &keyed_type);   /* the callback sees the subtype */
    CHECK(seen.key == key);
    CHECK_EQ_INT(seen.tag, 42);
    CHECK_EQ_INT(seen.alive, 0);
    CHECK_EQ_INT(rc_refcount(key), 2);   /* still held after the callback */
    rc_decref(w);
    CHECK_EQ_INT(rc_refcount(key), 1);   /* released with the weak reference */
    rc_decref(key);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(a_keyedref_callback_runs_in_a_collection_with_the_key)
{
    rc_heap *h = rc_heap_new(NULL);
    memset(&seen, 0, sizeof seen);
    node *a = rc_new(h, &node2_type);
    node_set(a, 0, a);   /* a cycle: only a collection frees it */
    node *key = rc_new(h, &leaf_type);
    rc_weakref *w = keyed_new(a, key, 7);
    rc_decref(a);
    CHECK_EQ_INT(seen.n, 0);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(seen.n, 1);
    CHECK(seen.type == &keyed_type && seen.key == key && seen.tag == 7);
    rc_decref(key);
    rc_decref(w);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(a_cycle_through_the_extension_is_collected_without_a_callback)
{
    rc_heap *h = rc_heap_new(NULL);
    memset(&seen, 0, sizeof seen);
    node *a = rc_new(h, &node2_type);
    node *key = rc_new(h, &node2_type);
    rc_weakref *w = keyed_new(a, key, 1);
    node_set(key, 0, w);   /* w -> key -> w, and w weakly to a */
    node_set(key, 1, a);   /* key -> a -> w: the referent is in the cycle too */
    node_set(a, 0, w);
    rc_decref(key);
    rc_decref(w);
    CHECK_EQ_INT(live_objects(h), 3);
    rc_decref(a);   /* a, w, key: all garbage */
    CHECK_EQ_INT(live_objects(h), 3);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(live_objects(h), 0);
    CHECK_EQ_INT(seen.n, 0);   /* an unreachable weak reference never calls back */
    rc_heap_free(h);
}

TEST(a_cycle_through_the_extension_with_a_live_referent_is_collected)
{
    rc_heap *h = rc_heap_new(NULL);
    memset(&seen, 0, sizeof seen);
    node *a = rc_new(h, &node2_type);
    node *key = rc_new(h, &node2_type);
    rc_weakref *w = keyed_new(a, key, 1);
    node_set(key, 0, w);
    rc_decref(key);
    rc_decref(w);
    CHECK_EQ_INT(rc_weakref_count(a), 1);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(rc_weakref_count(a), 0);
    CHECK_EQ_INT(live_objects(h), 1);
    rc_decref(a);
    CHECK_EQ_INT(seen.n, 0);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* An extension with callbacks, destroy and extra_size. */
typedef struct cbext {
    void *ref[2];
    char *buf;
} cbext;

static int destroyed;

static void cbext_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    cbext *e = obj;
    visit(e->ref[0], arg);
    visit(e->ref[1], arg);
}

static void cbext_clear(void *obj)
{
    cbext *e = obj;
    for (int i = 0; i < 2; i++) {
        void *p = e->ref[i];
        e->ref[i] = NULL;
        if (p) rc_decref(p);
    }
}

static void cbext_destroy(void *obj)
{
    cbext *e = obj;
    free(e->buf);
    e->buf = NULL;
    destroyed++;
}

static size_t cbext_extra(const void *obj)
{
    return ((const cbext *)obj)->buf ? 100 : 0;
}

static const rc_type cbext_type = {
    .name = "cbext", .size = sizeof(cbext), .traverse = cbext_traverse, .clear = cbext_clear,
    .destroy = cbext_destroy, .extra_size = cbext_extra,
};

TEST(an_extension_with_traverse_clear_destroy_and_extra_size)
{
    rc_heap *h = rc_heap_new(NULL);
    destroyed = 0;
    node *a = rc_new(h, &node2_type);
    rc_weakref *w = rc_weakref_new_ex(a, &cbext_type, NULL, NULL);
    REQUIRE(w);
    size_t plain = rc_self_size(w);
    cbext *e = rc_weakref_ext(w);
    e->buf = malloc(100);
    CHECK_EQ_INT(rc_self_size(w), plain + 100);
    node *n = rc_new(h, &node2_type);
    node_set(n, 0, w);
    e->ref[0] = n;   /* w -> n -> w */
    e->ref[1] = a;   /* and a strong reference to its own referent */
    rc_incref(a);
    rc_decref(a);
    CHECK(rc_weakref_alive(w));
    rc_decref(w);
    CHECK_EQ_INT(live_objects(h), 3);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(live_objects(h), 0);
    CHECK_EQ_INT(destroyed, 1);
    rc_heap_free(h);
}

TEST(destroy_runs_at_heap_teardown)
{
    rc_heap *h = rc_heap_new(NULL);
    destroyed = 0;
    node *a = rc_new(h, &node2_type);
    rc_weakref *w = rc_weakref_new_ex(a, &cbext_type, NULL, NULL);
    ((cbext *)rc_weakref_ext(w))->buf = malloc(10);
    rc_heap_free(h);   /* LSan catches the buffer if destroy does not run */
    CHECK_EQ_INT(destroyed, 1);
}

TEST(a_bad_extension_type_is_refused)
{
    static const rc_type fin = {.name = "fin", .size = 8, .finalize = cbext_destroy};
    static const rc_type half = {.name = "half", .size = 16, .traverse = cbext_traverse};
    static const rc_type past = {.name = "past", .size = 8, .slots_offset = 8, .nslots = 1};
    static const rc_type skew = {.name = "skew", .size = 16, .slots_offset = 4, .nslots = 1};
    /* a user type that copies a sealed kind (RC_KIND_WEAKREF's value) */
    static const rc_type forged = {.name = "forged", .size = 64, .rc_kind = 0x5ea1ed05u};
    const rc_type *bad[] = {NULL, &rc_weakref_type, &rc_list_type, &rc_dict_type, &forged,
                            &fin, &half, &past, &skew};
    rc_heap *h = rc_heap_new(NULL);
    node *a = rc_new(h, &node2_type);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rc_heap_clear_error(h);
        CHECK(rc_weakref_new_ex(a, bad[i], NULL, NULL) == NULL);
        CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    }
    CHECK(rc_weakref_new_ex(NULL, &keyed_type, NULL, NULL) == NULL);
    CHECK_EQ_INT(rc_weakref_count(a), 0);
    CHECK_EQ_INT(live_objects(h), 1);
    rc_decref(a);
    rc_heap_free(h);
}

/* ---- rc_finalize ---- */

static struct {
    int n;
    void *data[8];
} fins;

static void fin_fn(void *data)
{
    if (fins.n < 8) fins.data[fins.n] = data;
    fins.n++;
}

TEST(a_finalizer_runs_once_when_its_object_dies_by_refcount)
{
    rc_heap *h = rc_heap_new(NULL);
    memset(&fins, 0, sizeof fins);
    int token;
    node *a = rc_new(h, &node2_type);
    rc_finalize *f = rc_finalize_new(a, fin_fn, &token);
    REQUIRE(f);
    CHECK(rc_finalize_alive(f));
    rc_decref(f);   /* the library keeps it alive */
    CHECK_EQ_INT(live_objects(h), 2);
    rc_decref(a);
    CHECK_EQ_INT(fins.n, 1);
    CHECK(fins.data[0] == &token);
    CHECK_EQ_INT(live_objects(h), 0);   /* and lets go of it once run */
    rc_heap_free(h);
}

TEST(a_finalizer_runs_when_its_object_is_collected)
{
    rc_heap *h = rc_heap_new(NULL);
    memset(&fins, 0, sizeof fins);
    node *a = rc_new(h, &node2_type);
    node_set(a, 0, a);
    rc_finalize *f = rc_finalize_new(a, fin_fn, NULL);
    rc_decref(a);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(fins.n, 1);
    CHECK(!rc_finalize_alive(f));
    CHECK_EQ_INT(rc_finalize_call(f), 0);   /* dead: calling does nothing */
    CHECK_EQ_INT(fins.n, 1);
    rc_decref(f);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(calling_a_finalizer_early_runs_it_now_and_never_again)
{
    rc_heap *h = rc_heap_new(NULL);
    memset(&fins, 0, sizeof fins);
    node *a = rc_new(h, &node2_type);
    rc_finalize *f = rc_finalize_new(a, fin_fn, NULL);
    CHECK_EQ_INT(rc_finalize_call(f), 1);
    CHECK_EQ_INT(fins.n, 1);
    CHECK(!rc_finalize_alive(f));
    CHECK_EQ_INT(rc_finalize_call(f), 0);
    CHECK_EQ_INT(rc_weakref_count(a), 0);
    rc_decref(f);
    rc_decref(a);
    CHECK_EQ_INT(fins.n, 1);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(a_detached_finalizer_never_runs)
{
    rc_heap *h = rc_heap_new(NULL);
    memset(&fins, 0, sizeof fins);
    int token;
    node *a = rc_new(h, &node2_type);
    rc_finalize *f = rc_finalize_new(a, fin_fn, &token);
    void *data = NULL;
    CHECK_EQ_INT(rc_finalize_detach(f, &data), 1);
    CHECK(data == &token);
    CHECK(!rc_finalize_alive(f));
    CHECK_EQ_INT(rc_finalize_detach(f, &data), 0);
    rc_decref(f);
    CHECK_EQ_INT(live_objects(h), 1);
    rc_decref(a);
    CHECK_EQ_INT(fins.n, 0);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(a_finalizer_peeks_at_its_object_as_a_weakref)
{
    rc_heap *h = rc_heap_new(NULL);
    memset(&fins, 0, sizeof fins);
    node *a = rc_new(h, &node2_type);
    rc_finalize *f = rc_finalize_new(a, fin_fn, NULL);
    node *got = rc_weakref_get(rc_finalize_weakref(f));
    CHECK(got == a);
    rc_decref(got);
    rc_decref(a);
    CHECK(rc_weakref_get(rc_finalize_weakref(f)) == NULL);
    rc_decref(f);
    rc_heap_free(h);
}

TEST(finalizers_left_at_heap_free_do_not_run)
{
    rc_heap *h = rc_heap_new(NULL);
    memset(&fins, 0, sizeof fins);
    node *a = rc_new(h, &node2_type);
    rc_finalize *f = rc_finalize_new(a, fin_fn, NULL);
    rc_decref(f);
    rc_heap_free(h);
    CHECK_EQ_INT(fins.n, 0);
}

TEST(a_bad_finalizer_is_refused)
{
    rc_heap *h = rc_heap_new(NULL);
    node *a = rc_new(h, &node2_type);
    CHECK(rc_finalize_new(a, NULL, NULL) == NULL);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    CHECK(rc_finalize_new(NULL, fin_fn, NULL) == NULL);
    rc_heap_clear_error(h);
    CHECK(!rc_finalize_alive((rc_finalize *)a));
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    rc_weakref *w = rc_weakref_new(a, NULL, NULL);
    CHECK_EQ_INT(rc_finalize_call((rc_finalize *)w), 0);   /* a plain weakref is no finalizer */
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    CHECK(rc_weakref_alive(w));
    rc_decref(w);
    rc_decref(a);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

RC_TEST_MAIN
