/* test_call_collects.c -- a call whose own allocation runs a collection, and
 * that collection's code (a weak-reference callback, a finalizer) drops the
 * caller's last reference to an argument of the call.
 *
 * Every call that makes an object may collect, and a collection runs the
 * program's callbacks and finalizers. A program that passes an object it
 * holds once, and whose callback lets go of that reference, must find the
 * call done as if it had held the argument until the call returned (as
 * CPython's frame holds its arguments): an argument the new object keeps
 * (a tuple's items, a weak reference's owned data, a weak container's
 * values and keys) lives on in it; one it does not keep (a weak
 * reference's referent) dies as the call returns, and the new weak
 * reference is then cleared and its callback called, like any other.
 * Nothing is freed while the call still uses it: the heap checks clean.
 * A query that only reads its arguments (rc_weakref_list, the gc module's
 * referents and referrers) runs no collection at all.
 *
 * arm() sets the trap: garbage whose weak reference's callback drops the
 * `victim`, and thresholds that make the next tracked allocation collect
 * it. The heaps pin stress mode off (unstressed_heap): the trap needs its
 * garbage young when the call collects. */
#include "harness.h"
#include "testutil.h"
#include "nodes.h"
#include "recycle/builtins.h"
#include "recycle/gc.h"
#include "recycle/weakref.h"

NODES_IMPL

static void *victim;
static int deaths;   /* of mortal objects */

static void count_death(void *obj)
{
    (void)obj;
    deaths++;
}
static const rc_type mortal_type = {
    .name = "mortal", .size = sizeof(node), .nslots = 2, .destroy = count_death,
};

static void drop_victim(rc_weakref *w, void *data)
{
    (void)w;
    (void)data;
    void *v = victim;
    victim = NULL;
    if (v) rc_decref(v);
}

/* Arm h: `v` (whose one reference the caller hands over) is dropped by the
 * callback of a weak reference to young garbage, which the next tracked
 * allocation collects. Returns that weak reference (the caller drops it). */
static rc_weakref *arm(rc_heap *h, void *v)
{
    node *g = make_held_cycle(h, &node2_type);
    if (!g) return NULL;
    rc_weakref *w = rc_weakref_new(g, drop_victim, NULL);
    rc_decref(g);
    size_t c[3];
    rc_gc_get_count(h, c);
    rc_gc_set_threshold(h, c[0] ? (unsigned)c[0] : 1, 10, 10);
    victim = v;
    deaths = 0;
    return w;
}

/* After a call: the trap went off, and the heap is sound. */
static void sprung(rc_heap *h, rc_weakref *trap)
{
    CHECK(victim == NULL);
    CHECK(!rc_weakref_alive(trap));
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    rc_decref(trap);
    rc_gc_set_threshold(h, 2000, 10, 10);
}

/* The end of each test: a full collection leaves nothing; h is freed. */
static void all_gone(rc_heap *h)
{
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

static int called;
static void count_call(rc_weakref *w, void *data)
{
    (void)data;
    CHECK(!rc_weakref_alive(w));
    called++;
}

TEST(weakref_new_to_an_object_a_callback_lets_go_of_during_the_call)
{
    rc_heap *h = unstressed_heap();
    node *x = rc_new(h, &mortal_type);
    rc_weakref *trap = arm(h, x);
    REQUIRE(trap);
    called = 0;
    rc_weakref *w = rc_weakref_new(x, count_call, NULL);
    REQUIRE(w);
    sprung(h, trap);
    CHECK_EQ_INT(deaths, 1);           /* x died as the call returned ... */
    CHECK(!rc_weakref_alive(w));       /* ... so its new weak reference is cleared */
    CHECK_EQ_INT(called, 1);           /* and called back, once */
    rc_decref(w);
    all_gone(h);
}

TEST(weakref_new_ex_to_an_object_a_callback_lets_go_of_during_the_call)
{
    static const rc_type ext = {.name = "ext", .size = 16};
    rc_heap *h = unstressed_heap();
    node *x = rc_new(h, &mortal_type);
    rc_weakref *trap = arm(h, x);
    REQUIRE(trap);
    rc_weakref *w = rc_weakref_new_ex(x, &ext, NULL, NULL);
    REQUIRE(w);
    sprung(h, trap);
    CHECK_EQ_INT(deaths, 1);
    CHECK(!rc_weakref_alive(w));
    rc_decref(w);
    all_gone(h);
}

TEST(weakref_new_owned_keeps_data_a_callback_lets_go_of_during_the_call)
{
    rc_heap *h = unstressed_heap();
    node *x = rc_new(h, &node2_type);
    node *d = rc_new(h, &mortal_type);
    rc_weakref *trap = arm(h, d);
    REQUIRE(trap);
    rc_weakref *w = rc_weakref_new_owned(x, NULL, d);
    REQUIRE(w);
    sprung(h, trap);
    CHECK_EQ_INT(deaths, 0);           /* the weak reference owns d */
    CHECK_EQ_INT(rc_refcount(d), 1);
    CHECK(rc_weakref_alive(w));
    rc_decref(x);                      /* w is cleared and lets d go */
    CHECK_EQ_INT(deaths, 1);
    rc_decref(w);
    all_gone(h);
}

static int finalized;
static void count_finalize(void *data)
{
    (void)data;
    finalized++;
}

TEST(finalize_new_on_an_object_a_callback_lets_go_of_during_the_call)
{
    rc_heap *h = unstressed_heap();
    node *x = rc_new(h, &mortal_type);
    rc_weakref *trap = arm(h, x);
    REQUIRE(trap);
    finalized = 0;
    rc_finalize *f = rc_finalize_new(x, count_finalize, NULL);
    REQUIRE(f);
    sprung(h, trap);
    CHECK_EQ_INT(deaths, 1);
    CHECK_EQ_INT(finalized, 1);        /* x died as the call returned: it ran */
    CHECK(!rc_finalize_alive(f));
    rc_decref(f);
    all_gone(h);
}

TEST(tuple_new_keeps_an_item_a_callback_lets_go_of_during_the_call)
{
    rc_heap *h = unstressed_heap();
    node *x = rc_new(h, &mortal_type);
    rc_weakref *trap = arm(h, x);
    REQUIRE(trap);
    rc_val items[2] = {rc_int(7), rc_obj(x)};
    rc_tuple *t = rc_tuple_new(h, 2, items);
    REQUIRE(t);
    sprung(h, trap);
    CHECK_EQ_INT(deaths, 0);
    CHECK_EQ_INT(rc_refcount(x), 1);   /* the tuple's */
    CHECK(rc_tuple_get(t, 1) == rc_obj(x));
    rc_decref(t);
    CHECK_EQ_INT(deaths, 1);
    all_gone(h);
}

/* The weak containers: the new entry's weak reference is the allocation. */
TEST(weakdict_set_keeps_a_key_a_callback_lets_go_of_during_the_call)
{
    rc_heap *h = unstressed_heap();
    rc_weakdict *d = rc_weakdict_new(h);
    REQUIRE(d);
    node *key = rc_new(h, &mortal_type), *value = rc_new(h, &node2_type);
    rc_weakref *trap = arm(h, key);
    REQUIRE(trap);
    CHECK_EQ_INT(rc_weakdict_set(d, rc_obj(key), value), 0);
    sprung(h, trap);
    CHECK_EQ_INT(deaths, 0);           /* the dict holds its keys */
    void *got = rc_weakdict_get(d, rc_obj(key));
    CHECK(got == value);
    if (got) rc_decref(got);
    rc_decref(value);                  /* the entry goes with its value */
    CHECK_EQ_INT(rc_weakdict_len(d), 0);
    rc_decref(d);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(deaths, 1);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(weakdict_set_of_a_value_a_callback_lets_go_of_during_the_call)
{
    rc_heap *h = unstressed_heap();
    rc_weakdict *d = rc_weakdict_new(h);
    REQUIRE(d);
    node *value = rc_new(h, &mortal_type);
    rc_weakref *trap = arm(h, value);
    REQUIRE(trap);
    CHECK_EQ_INT(rc_weakdict_set(d, rc_int(1), value), 0);
    sprung(h, trap);
    CHECK_EQ_INT(deaths, 1);           /* held weakly: it died as the call returned */
    CHECK(rc_weakdict_get(d, rc_int(1)) == NULL);
    CHECK_EQ_INT(rc_weakdict_len(d), 0);
    rc_decref(d);
    all_gone(h);
}

TEST(weakkeydict_set_keeps_a_value_a_callback_lets_go_of_during_the_call)
{
    rc_heap *h = unstressed_heap();
    rc_weakkeydict *d = rc_weakkeydict_new(h);
    REQUIRE(d);
    node *key = rc_new(h, &node2_type), *value = rc_new(h, &mortal_type);
    rc_weakref *trap = arm(h, value);
    REQUIRE(trap);
    CHECK_EQ_INT(rc_weakkeydict_set(d, rc_obj(key), rc_obj(value)), 0);
    sprung(h, trap);
    CHECK_EQ_INT(deaths, 0);           /* the dict holds its values */
    rc_val got = RC_EMPTY;
    CHECK_EQ_INT(rc_weakkeydict_get(d, rc_obj(key), &got), 1);
    CHECK(got == rc_obj(value));       /* borrowed */
    rc_decref(key);                    /* the entry, and its value, go with the key */
    CHECK_EQ_INT(deaths, 1);
    rc_decref(d);
    all_gone(h);
}

TEST(weakkeydict_set_of_a_key_a_callback_lets_go_of_during_the_call)
{
    rc_heap *h = unstressed_heap();
    rc_weakkeydict *d = rc_weakkeydict_new(h);
    REQUIRE(d);
    node *key = rc_new(h, &mortal_type);
    rc_weakref *trap = arm(h, key);
    REQUIRE(trap);
    CHECK_EQ_INT(rc_weakkeydict_set(d, rc_obj(key), rc_int(5)), 0);
    sprung(h, trap);
    CHECK_EQ_INT(deaths, 1);           /* held weakly: it died as the call returned */
    CHECK_EQ_INT(rc_weakkeydict_len(d), 0);
    rc_decref(d);
    all_gone(h);
}

TEST(weakset_add_of_an_item_a_callback_lets_go_of_during_the_call)
{
    rc_heap *h = unstressed_heap();
    rc_weakset *s = rc_weakset_new(h);
    REQUIRE(s);
    node *item = rc_new(h, &mortal_type);
    rc_weakref *trap = arm(h, item);
    REQUIRE(trap);
    CHECK_EQ_INT(rc_weakset_add(s, rc_obj(item)), 0);
    sprung(h, trap);
    CHECK_EQ_INT(deaths, 1);
    CHECK_EQ_INT(rc_weakset_len(s), 0);
    rc_decref(s);
    all_gone(h);
}

/* Queries: their result list is the allocation; the objects asked about
 * are borrowed, so no collection runs while they are read. */
TEST(weakref_list_of_an_object_a_callback_would_let_go_of)
{
    rc_heap *h = unstressed_heap();
    node *x = rc_new(h, &mortal_type);
    rc_weakref *w = rc_weakref_new(x, NULL, NULL);
    REQUIRE(w);
    rc_weakref *trap = arm(h, x);
    REQUIRE(trap);
    rc_list *l = rc_weakref_list(x);
    REQUIRE(l);
    CHECK_EQ_INT(rc_list_len(l), 1);
    CHECK(rc_list_get(l, 0) == rc_obj(w));
    CHECK_EQ_INT(deaths, 0);           /* no collection ran in the call */
    rc_decref(l);
    rc_gc_collect(h, 0);               /* the trap goes off now */
    sprung(h, trap);
    CHECK_EQ_INT(deaths, 1);
    CHECK(!rc_weakref_alive(w));
    rc_decref(w);
    all_gone(h);
}

TEST(get_referents_of_an_object_a_callback_would_let_go_of)
{
    rc_heap *h = unstressed_heap();
    node *x = rc_new(h, &mortal_type), *child = rc_new(h, &mortal_type);
    node_set(x, 1, child);
    rc_decref(child);                  /* x holds it alone */
    rc_weakref *trap = arm(h, x);
    REQUIRE(trap);
    void *objs[1] = {x};
    rc_list *refs = rc_gc_get_referents(h, objs, 1);
    REQUIRE(refs);
    CHECK_EQ_INT(deaths, 0);           /* no collection ran in the call */
    CHECK_EQ_INT(rc_list_len(refs), 1);
    CHECK(rc_list_get(refs, 0) == rc_obj(child));
    rc_decref(refs);
    rc_gc_collect(h, 0);               /* the trap goes off now */
    sprung(h, trap);
    CHECK_EQ_INT(deaths, 2);
    all_gone(h);
}

TEST(get_referrers_of_an_object_a_callback_would_let_go_of)
{
    rc_heap *h = unstressed_heap();
    node *x = rc_new(h, &mortal_type);
    rc_weakref *trap = arm(h, x);
    REQUIRE(trap);
    void *objs[1] = {x};
    rc_list *back = rc_gc_get_referrers(h, objs, 1);
    REQUIRE(back);
    CHECK_EQ_INT(deaths, 0);           /* no collection ran in the call */
    CHECK_EQ_INT(rc_list_len(back), 0);
    rc_decref(back);
    rc_gc_collect(h, 0);
    sprung(h, trap);
    CHECK_EQ_INT(deaths, 1);
    all_gone(h);
}

RC_TEST_MAIN
