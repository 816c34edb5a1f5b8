/* test_regions.c -- frozen regions (rc_region_freeze, hold, drop): readers
 * on several threads with no writes (run under ThreadSanitizer by `make
 * tsan`), the write check of debug builds, release by the last holder,
 * refusal of graphs that are not isolated, heap objects that point into a
 * region, and cycles inside a region that no collection looks at. Then the
 * rule that a heap's objects point into a region only while the heap
 * holds it (rc_heap_hold_region / rc_heap_drop_region): refused stores,
 * refused drops, rc_heap_free's drops, rc_move and rc_copy.
 *
 * Compiled with RC_DEBUG, so that the inline calls check in every build;
 * LIB_DEBUG says whether the library itself was built with it. */
#define _GNU_SOURCE   /* pthread_setname_np */
#include "libdebug.h"
#include "harness.h"
#include "recycle.h"
#include "recycle/builtins.h"
#include "recycle/gc.h"
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>

typedef struct node { void *a, *b; int64_t n; } node;
static atomic_int destroyed;
static void count_destroy(void *obj) { (void)obj; atomic_fetch_add(&destroyed, 1); }
static const rc_type node_type = {.name = "node", .size = sizeof(node), .nslots = 2,
                                  .destroy = count_destroy};

/* Nodes rc_copy can copy (a copy hook, as the destroy hook asks), whose
 * hook checks that the source's counts, its own and its targets', are the
 * region's immortal ones while rc_copy runs: nothing marked them. */
static atomic_int marked_seen;
static int copy_node(void *dst, const void *src, rc_copy_map_fn map, void *arg)
{
    (void)map, (void)arg;
    const node *x = src;
    if (rc_in_region(x)) {
        const void *seen[3] = {x, x->a, x->b};
        for (int k = 0; k < 3; k++)
            if (!(RC_HEAD(seen[k])->refcnt & 0x80000000u)) atomic_fetch_add(&marked_seen, 1);
    }
    ((node *)dst)->n = x->n;
    return 0;
}
static const rc_type copied_type = {.name = "copied", .size = sizeof(node), .nslots = 2,
                                    .destroy = count_destroy, .copy = copy_node};
static const rc_type *build_type = &node_type;   /* what build() makes */

static node *new_node(rc_heap *h, int64_t n)
{
    node *x = rc_new(h, build_type);
    if (x) x->n = n;
    return x;
}

/* A dict of N lists; list i holds a str and a ring of 3 nodes (a cycle),
 * each node's b pointing back at the list. */
enum { N = 50 };

static rc_dict *build(rc_heap *h)
{
    rc_dict *d = rc_dict_new(h);
    for (int i = 0; i < N; i++) {
        rc_list *l = rc_list_new(h, 0);
        rc_str *s = rc_str_new(h, "frozen", 6);
        rc_list_append(l, rc_obj(s));
        rc_decref(s);
        node *r[3];
        for (int k = 0; k < 3; k++) r[k] = new_node(h, i * 10 + k);
        for (int k = 0; k < 3; k++) {
            r[k]->a = r[(k + 1) % 3];
            rc_incref(r[(k + 1) % 3]);
            r[k]->b = l;
            rc_incref(l);
        }
        rc_list_append(l, rc_obj(r[0]));
        for (int k = 0; k < 3; k++) rc_decref(r[k]);
        rc_dict_set(d, rc_int(i), rc_obj(l));
        rc_decref(l);
    }
    return d;
}

/* Reads the whole graph, taking and dropping references as a reader
 * would; the sum of the nodes' numbers. */
static int64_t read_all(rc_dict *d)
{
    int64_t sum = 0;
    for (int i = 0; i < N; i++) {
        rc_list *l = rc_as_obj(rc_dict_get(d, rc_int(i)));
        rc_incref(l);
        rc_str *s = rc_as_obj(rc_list_get(l, 0));
        if (rc_str_len(s) != 6) sum -= 1000000;
        if (rc_str_hash(s) == 0) sum -= 1000000;   /* cached by the freeze: no write */
        node *x = rc_as_obj(rc_list_get(l, 1));
        for (int k = 0; k < 3; k++) {
            rc_incref(x);
            sum += x->n;
            if (x->b != l) sum -= 1000000;
            node *next = x->a;
            rc_decref(x);
            x = next;
        }
        rc_decref(l);
    }
    return sum;
}

static int64_t expected_sum(void)
{
    int64_t sum = 0;
    for (int i = 0; i < N; i++)
        for (int k = 0; k < 3; k++) sum += i * 10 + k;
    return sum;
}

TEST(freeze_moves_the_graph_out_of_the_heap)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_dict *d = build(h);
    size_t objects = live_objects(h);
    CHECK_EQ_INT(objects, 1 + N * 5);
    rc_region *r = rc_region_freeze(h, d);
    REQUIRE(r);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_dict *f = rc_region_root(r);
    CHECK(rc_in_region(f));
    CHECK(!rc_in_region(NULL));
    CHECK_EQ_INT(rc_region_holders(r), 1);
    CHECK_EQ_INT(read_all(f), expected_sum());
    /* No count is written: incref and decref leave the header alone. */
    rc_head before = *RC_HEAD(f);
    rc_incref(f);
    rc_decref(f);
    rc_decref(f);
    CHECK_EQ_INT(RC_HEAD(f)->refcnt, before.refcnt);
    CHECK_EQ_INT(RC_HEAD(f)->gc, before.gc);
    CHECK_EQ_INT(destroyed, 0);
    rc_region_drop(r);
    CHECK_EQ_INT(destroyed, 3 * N);
    destroyed = 0;
    rc_heap_free(h);
}

TEST(heap_objects_point_into_a_region_and_cycles_there_cost_no_collection)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_region *r = rc_region_freeze(h, build(h));
    REQUIRE(r);
    rc_dict *f = rc_region_root(r);
    /* The heap holds the region on behalf of its objects. */
    CHECK_EQ_INT(rc_heap_hold_region(h, r), RC_OK);
    rc_list *mine = rc_list_new(h, 0);
    for (int i = 0; i < N; i++) {
        rc_list *l = rc_as_obj(rc_dict_get(f, rc_int(i)));
        CHECK_EQ_INT(rc_list_append(mine, rc_list_get(l, 1)), 0);   /* a node of a frozen ring */
    }
    CHECK_EQ_INT(rc_list_append(mine, rc_obj(mine)), 0);   /* a cycle of the heap's own */
    rc_head node_before = *RC_HEAD(rc_as_obj(rc_list_get(mine, 0)));
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(live_objects(h), 1);
    rc_decref(mine);
    /* The heap's cycle is garbage; the frozen rings are not looked at. */
    CHECK_EQ_INT(rc_gc_collect(h, 2), 1);
    CHECK_EQ_INT(live_objects(h), 0);
    CHECK_EQ_INT(destroyed, 0);
    node *x = rc_as_obj(rc_list_get(rc_as_obj(rc_dict_get(f, rc_int(0))), 1));
    CHECK_EQ_INT(RC_HEAD(x)->refcnt, node_before.refcnt);
    CHECK_EQ_INT(RC_HEAD(x)->gc, node_before.gc);
    CHECK_EQ_INT(read_all(f), expected_sum());
    rc_region_drop(r);
    CHECK_EQ_INT(destroyed, 0);   /* the heap still holds it */
    CHECK_EQ_INT(rc_heap_drop_region(h, r), RC_OK);
    CHECK_EQ_INT(destroyed, 3 * N);
    destroyed = 0;
    rc_heap_free(h);
}

TEST(freeze_refuses_a_graph_held_from_outside)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_gc_disable(h);
    rc_dict *d = build(h);
    rc_list *outside = rc_list_new(h, 0);
    rc_val inner = rc_dict_get(d, rc_int(7));
    rc_list_append(outside, inner);
    size_t objects = live_objects(h);
    CHECK(rc_region_freeze(h, d) == NULL);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    const char *msg = rc_heap_error_message(h);
    CHECK(strstr(msg, "(item 0)") != NULL);
    if (!strstr(msg, "(item 0)")) fprintf(stderr, "  said: %s\n", msg);
    CHECK_EQ_INT(live_objects(h), objects);
    CHECK(!rc_in_region(d));
    CHECK_EQ_INT(rc_refcount(d), 1);
    CHECK_EQ_INT(read_all(d), expected_sum());
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    /* A second reference of the caller's is refused as well. */
    rc_decref(outside);
    rc_incref(d);
    CHECK(rc_region_freeze(h, d) == NULL);
    CHECK(strstr(rc_heap_error_message(h), "C code holds the other 1") != NULL);
    rc_decref(d);
    CHECK(rc_region_freeze(NULL, d) == NULL);
    CHECK(rc_region_freeze(h, NULL) == NULL);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    rc_decref(d);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 4 * N);   /* the rings and lists, in cycles */
    CHECK_EQ_INT(live_objects(h), 0);
    destroyed = 0;
    rc_heap_free(h);
}

/* ---- readers on several threads ---- */

typedef struct reader { rc_region *r; int64_t sum; } reader;

static void *read_region(void *arg)
{
    reader *rd = arg;
    rc_dict *f = rc_region_root(rd->r);
    for (int i = 0; i < 200; i++) rd->sum += read_all(f);
    rc_region_drop(rd->r);   /* its own hold, taken by the thread that started it */
    return NULL;
}

TEST(readers_on_several_threads_and_the_last_drop_frees)
{
    enum { READERS = 4 };
    rc_heap *h = rc_heap_new(NULL);
    rc_region *r = rc_region_freeze(h, build(h));
    REQUIRE(r);
    rc_heap_free(h);   /* the region does not need the heap it came from */
    pthread_t t[READERS];
    reader rd[READERS];
    for (int i = 0; i < READERS; i++) {
        rd[i] = (reader){r, 0};
        rc_region_hold(r);
        REQUIRE(pthread_create(&t[i], NULL, read_region, &rd[i]) == 0);
    }
    rc_dict *f = rc_region_root(r);
    int64_t mine = read_all(f);
    for (int i = 0; i < READERS; i++) pthread_join(t[i], NULL);
    CHECK_EQ_INT(mine, expected_sum());
    for (int i = 0; i < READERS; i++) CHECK_EQ_INT(rd[i].sum, 200 * expected_sum());
    CHECK_EQ_INT(rc_region_holders(r), 1);
    CHECK_EQ_INT(destroyed, 0);
    rc_region_drop(r);
    CHECK_EQ_INT(destroyed, 3 * N);
    destroyed = 0;
}

/* The last drop may come from any thread: here from a reader, while the
 * thread that froze the region dropped first. */
TEST(last_holder_on_another_thread_frees_the_region)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_region *r = rc_region_freeze(h, build(h));
    REQUIRE(r);
    reader rd = {r, 0};
    rc_region_hold(r);
    rc_region_drop(r);   /* the freezing thread's hold */
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, read_region, &rd) == 0);
    pthread_join(t, NULL);
    CHECK_EQ_INT(rd.sum, 200 * expected_sum());
    CHECK_EQ_INT(destroyed, 3 * N);
    destroyed = 0;
    rc_heap_free(h);
}

/* ---- copies out of a region ---- */

/* rc_copy of a region's graph into a heap: the region is only read -- no
 * header of it is written, not even for the time of the call (readers on
 * other threads would see the marks) -- and the copy has its shape. */
TEST(copying_out_of_a_region_writes_nothing_to_it)
{
    rc_heap *h = rc_heap_new(NULL), *dst = rc_heap_new(NULL);
    atomic_store(&marked_seen, 0);
    build_type = &copied_type;
    rc_region *r = rc_region_freeze(h, build(h));
    build_type = &node_type;
    REQUIRE(r);
    rc_dict *f = rc_region_root(r);
    rc_head before = *RC_HEAD(f);
    rc_dict *c = rc_copy(dst, f);
    REQUIRE(c);
    CHECK_EQ_INT(atomic_load(&marked_seen), 0);
    CHECK_EQ_INT(RC_HEAD(f)->refcnt, before.refcnt);
    CHECK_EQ_INT(RC_HEAD(f)->gc, before.gc);
    CHECK(!rc_in_region(c));
    CHECK_EQ_INT(live_objects(dst), 1 + N * 5);
    CHECK_EQ_INT(read_all(c), expected_sum());   /* rings and back edges kept */
    CHECK_EQ_INT(read_all(f), expected_sum());
    rc_decref(c);
    rc_gc_collect(dst, 2);
    CHECK_EQ_INT(live_objects(dst), 0);
    CHECK_EQ_INT(destroyed, 3 * N);
    rc_region_drop(r);
    CHECK_EQ_INT(destroyed, 6 * N);
    destroyed = 0;
    rc_heap_free(dst);
    rc_heap_free(h);
}

/* Readers on other threads take and drop references to the region's
 * objects while this one copies it again and again (ThreadSanitizer sees
 * any write to the region's headers). */
TEST(copying_out_of_a_region_while_other_threads_read_it)
{
    enum { READERS = 3 };
    rc_heap *h = rc_heap_new(NULL), *dst = rc_heap_new(NULL);
    atomic_store(&marked_seen, 0);
    build_type = &copied_type;
    rc_region *r = rc_region_freeze(h, build(h));
    build_type = &node_type;
    REQUIRE(r);
    pthread_t t[READERS];
    reader rd[READERS];
    for (int i = 0; i < READERS; i++) {
        rd[i] = (reader){r, 0};
        rc_region_hold(r);
        REQUIRE(pthread_create(&t[i], NULL, read_region, &rd[i]) == 0);
    }
    for (int i = 0; i < 20; i++) {
        rc_dict *c = rc_copy(dst, rc_region_root(r));
        REQUIRE(c);
        CHECK_EQ_INT(read_all(c), expected_sum());
        rc_decref(c);
        rc_gc_collect(dst, 2);
    }
    for (int i = 0; i < READERS; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < READERS; i++) CHECK_EQ_INT(rd[i].sum, 200 * expected_sum());
    CHECK_EQ_INT(atomic_load(&marked_seen), 0);
    CHECK_EQ_INT(live_objects(dst), 0);
    rc_region_drop(r);
    destroyed = 0;
    rc_heap_free(dst);
    rc_heap_free(h);
}

/* ---- writes ---- */

static void append_to_frozen(void)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_region *r = rc_region_freeze(h, build(h));
    rc_list *l = rc_as_obj(rc_dict_get(rc_region_root(r), rc_int(0)));
    rc_list_append(l, rc_int(1));
}

static void set_in_frozen(void)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_region *r = rc_region_freeze(h, build(h));
    rc_dict_set(rc_region_root(r), rc_int(1), rc_int(2));
}

TEST(writing_a_frozen_object_stops_debug_builds)
{
    if (!LIB_DEBUG) return;   /* the library's mutators check in its RC_DEBUG builds */
    CHECK(dies_saying(append_to_frozen, "rc_list_append("));
    CHECK(dies_saying(append_to_frozen, "is frozen"));
    CHECK(dies_saying(set_in_frozen, "rc_dict_set("));
}

/* ---- a heap's objects point into a region only while the heap holds it ---- */

/* Whether the heap's last error is `code` and its message names `want`
 * and the region r. */
static int refused(rc_heap *h, int code, const rc_region *r, const char *want)
{
    char name[32];
    snprintf(name, sizeof name, "%p", (const void *)r);
    const char *msg = rc_heap_error_message(h);
    int ok = rc_heap_error(h) == code && strstr(msg, name) && strstr(msg, want);
    if (!ok) fprintf(stderr, "  error %d, said: %s\n", rc_heap_error(h), msg);
    rc_heap_clear_error(h);
    return ok;
}

TEST(stores_into_a_region_the_heap_does_not_hold_are_refused_naming_it)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_region *r = rc_region_freeze(h, build(h));
    REQUIRE(r);
    rc_val in = rc_dict_get(rc_region_root(r), rc_int(3));   /* a frozen list */
    rc_list *l = rc_list_new(h, 0);
    rc_list_append(l, rc_int(0));
    rc_dict *d = rc_dict_new(h);
    rc_tuple *t = rc_tuple_new(h, 1, NULL);
    CHECK_EQ_INT(rc_list_append(l, in), -1);
    CHECK(refused(h, RC_EINVAL, r, "rc_list_append: the list at"));
    CHECK_EQ_INT(rc_list_set(l, 0, in), -1);
    CHECK(refused(h, RC_EINVAL, r, "does not hold (rc_heap_hold_region)"));
    CHECK_EQ_INT(rc_list_insert(l, 0, in), -1);
    CHECK(refused(h, RC_EINVAL, r, "rc_list_insert"));
    CHECK_EQ_INT(rc_dict_set(d, rc_int(1), in), -1);
    CHECK(refused(h, RC_EINVAL, r, "rc_dict_set"));
    CHECK_EQ_INT(rc_dict_set(d, in, rc_int(1)), -1);   /* as a key too */
    CHECK(refused(h, RC_EINVAL, r, "rc_dict_set"));
    CHECK_EQ_INT(rc_tuple_set(t, 0, in), -1);
    CHECK(refused(h, RC_EINVAL, r, "rc_tuple_set"));
    rc_val items[2] = {rc_int(5), in};
    CHECK(rc_tuple_new(h, 2, items) == NULL);
    CHECK(refused(h, RC_EINVAL, r, "rc_tuple_new: item 1: the list at"));
    CHECK_EQ_INT(rc_list_len(l), 1);
    CHECK_EQ_INT(rc_list_get(l, 0), rc_int(0));
    CHECK_EQ_INT(rc_dict_len(d), 0);
    /* Held: every one of them is accepted. */
    CHECK_EQ_INT(rc_heap_hold_region(h, r), RC_OK);
    CHECK_EQ_INT(rc_list_append(l, in), 0);
    CHECK_EQ_INT(rc_list_set(l, 0, in), 0);
    CHECK_EQ_INT(rc_list_insert(l, 0, in), 0);
    CHECK_EQ_INT(rc_dict_set(d, rc_int(1), in), 0);
    CHECK_EQ_INT(rc_dict_set(d, in, rc_int(1)), 0);
    CHECK_EQ_INT(rc_tuple_set(t, 0, in), 0);
    rc_tuple *t2 = rc_tuple_new(h, 2, items);
    CHECK(t2 != NULL);
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    rc_decref(t2);
    rc_decref(t);
    rc_decref(d);
    rc_decref(l);
    rc_region_drop(r);
    CHECK_EQ_INT(destroyed, 0);
    rc_heap_free(h);   /* drops the heap's hold, the last */
    CHECK_EQ_INT(destroyed, 3 * N);
    destroyed = 0;
}

TEST(a_heap_holds_a_region_once_and_drops_only_what_it_holds)
{
    rc_heap *h = rc_heap_new(NULL), *other = rc_heap_new(NULL);
    rc_region *r = rc_region_freeze(h, build(h));
    REQUIRE(r);
    CHECK_EQ_INT(rc_heap_holds_region(h, r), 0);
    CHECK_EQ_INT(rc_heap_hold_region(h, r), RC_OK);
    CHECK_EQ_INT(rc_region_holders(r), 2);
    CHECK_EQ_INT(rc_heap_hold_region(h, r), RC_OK);   /* twice: still one hold */
    CHECK_EQ_INT(rc_region_holders(r), 2);
    CHECK_EQ_INT(rc_heap_holds_region(h, r), 1);
    CHECK_EQ_INT(rc_heap_holds_region(other, r), 0);
    /* A region the heap does not hold: an error, nothing changes. */
    CHECK_EQ_INT(rc_heap_drop_region(other, r), RC_ENOTFOUND);
    CHECK(refused(other, RC_ENOTFOUND, r, "does not hold the region"));
    CHECK_EQ_INT(rc_region_holders(r), 2);
    /* NULL. */
    CHECK_EQ_INT(rc_heap_hold_region(NULL, r), RC_EINVAL);
    CHECK_EQ_INT(rc_heap_hold_region(h, NULL), RC_EINVAL);
    CHECK_EQ_INT(rc_heap_drop_region(NULL, r), RC_EINVAL);
    CHECK_EQ_INT(rc_heap_drop_region(h, NULL), RC_EINVAL);
    CHECK_EQ_INT(rc_heap_holds_region(NULL, r), 0);
    CHECK_EQ_INT(rc_heap_holds_region(h, NULL), 0);
    CHECK_EQ_INT(rc_region_holders(r), 2);
    CHECK_EQ_INT(rc_heap_drop_region(h, r), RC_OK);
    CHECK_EQ_INT(rc_region_holders(r), 1);
    CHECK_EQ_INT(rc_heap_holds_region(h, r), 0);
    CHECK_EQ_INT(rc_heap_drop_region(h, r), RC_ENOTFOUND);   /* dropped twice */
    CHECK_EQ_INT(rc_region_holders(r), 1);
    /* Several regions in one heap's set. */
    rc_region *more[5];
    for (int i = 0; i < 5; i++) {
        more[i] = rc_region_freeze(h, rc_list_new(h, 0));
        REQUIRE(more[i]);
        CHECK_EQ_INT(rc_heap_hold_region(h, more[i]), RC_OK);
        rc_region_drop(more[i]);
    }
    CHECK_EQ_INT(rc_heap_drop_region(h, more[2]), RC_OK);   /* the last hold: freed */
    for (int i = 0; i < 5; i++) CHECK_EQ_INT(rc_heap_holds_region(h, more[i]), i != 2);
    CHECK_EQ_INT(destroyed, 0);
    rc_region_drop(r);
    CHECK_EQ_INT(destroyed, 3 * N);
    destroyed = 0;
    rc_heap_free(other);
    rc_heap_free(h);
}

TEST(a_heap_cannot_drop_a_region_its_objects_point_into)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_gc_disable(h);
    rc_region *r = rc_region_freeze(h, build(h));
    REQUIRE(r);
    CHECK_EQ_INT(rc_heap_hold_region(h, r), RC_OK);
    rc_region_drop(r);   /* the heap's hold is the last */
    rc_list *fl = rc_as_obj(rc_dict_get(rc_region_root(r), rc_int(4)));
    node *fn = rc_as_obj(rc_list_get(fl, 1));
    rc_list *l = rc_list_new(h, 0);
    rc_list_append(l, rc_int(1));
    rc_list_append(l, rc_obj(fl));
    CHECK_EQ_INT(rc_heap_drop_region(h, r), RC_EBUSY);
    CHECK(refused(h, RC_EBUSY, r, "the list at"));
    CHECK_EQ_INT(rc_heap_drop_region(h, r), RC_EBUSY);
    CHECK(refused(h, RC_EBUSY, r, "(item 1)"));
    CHECK_EQ_INT(rc_heap_holds_region(h, r), 1);
    CHECK_EQ_INT(rc_region_holders(r), 1);
    rc_list_pop(l, 1, NULL);
    /* A user type's slot, written by the program, counts as well. */
    node *x = new_node(h, 0);
    x->b = fn;
    CHECK_EQ_INT(rc_heap_drop_region(h, r), RC_EBUSY);
    CHECK(refused(h, RC_EBUSY, r, "(slot 1)"));
    /* Garbage too: a cycle that refers into the region holds it until a
     * collection frees it. */
    x->a = x;
    rc_incref(x);
    rc_decref(x);
    CHECK_EQ_INT(rc_heap_drop_region(h, r), RC_EBUSY);
    CHECK(refused(h, RC_EBUSY, r, "the node at"));
    CHECK_EQ_INT(rc_gc_collect(h, 2), 1);
    destroyed = 0;   /* the heap's node */
    CHECK_EQ_INT(rc_heap_drop_region(h, r), RC_OK);
    CHECK_EQ_INT(destroyed, 3 * N);
    destroyed = 0;
    CHECK_EQ_INT(rc_heap_holds_region(h, r), 0);
    rc_decref(l);
    rc_heap_free(h);
}

/* A node whose destroy hook reads the frozen node its slot `a` points at:
 * rc_heap_free must drop the heap's holds after its objects are gone. */
static _Atomic int64_t read_at_destroy;
static void read_slot_destroy(void *obj)
{
    node *x = obj;
    if (x->a) atomic_fetch_add(&read_at_destroy, ((node *)x->a)->n + 1);
}
static const rc_type reading_type = {.name = "reading", .size = sizeof(node), .nslots = 2,
                                     .destroy = read_slot_destroy};

TEST(a_heap_freed_while_holding_frees_the_region_when_it_was_the_last_holder)
{
    /* Its cycles are left to rc_heap_free on purpose: no report, and no
     * collection at every allocation (stress mode) frees them first. */
    rc_heap_config quiet;
    rc_heap_config_init(&quiet);
    quiet.leak_report = NULL;
    quiet.gc_stress = -1;
    rc_heap *h = rc_heap_new(NULL), *user = rc_heap_new(&quiet), *second = rc_heap_new(NULL);
    rc_region *r = rc_region_freeze(h, build(h));
    REQUIRE(r);
    rc_heap_free(h);
    rc_list *fl = rc_as_obj(rc_dict_get(rc_region_root(r), rc_int(2)));
    node *fn = rc_as_obj(rc_list_get(fl, 1));   /* n = 20 */
    CHECK_EQ_INT(rc_heap_hold_region(user, r), RC_OK);
    CHECK_EQ_INT(rc_heap_hold_region(second, r), RC_OK);
    rc_region_drop(r);
    CHECK_EQ_INT(rc_region_holders(r), 2);
    for (int i = 0; i < 10; i++) {
        node *x = rc_new(user, &reading_type);
        x->a = fn;
        rc_list *l = rc_list_new(user, 0);
        rc_list_append(l, rc_obj(fl));
        rc_list_append(l, rc_obj(x));
        rc_decref(x);
        x->b = l;   /* a cycle: l <-> x; left for rc_heap_free */
    }
    rc_heap_free(second);   /* not the last holder: the region stays */
    CHECK_EQ_INT(rc_region_holders(r), 1);
    CHECK_EQ_INT(destroyed, 0);
    CHECK_EQ_INT(read_all(rc_region_root(r)), expected_sum());
    rc_heap_free(user);   /* the last: its objects' destroy hooks read the region, then it goes */
    CHECK_EQ_INT(read_at_destroy, 10 * 21);
    CHECK_EQ_INT(destroyed, 3 * N);
    destroyed = 0;
    read_at_destroy = 0;
}

static const rc_type plain_type = {.name = "plain", .size = sizeof(node), .nslots = 2};

TEST(move_and_copy_keep_references_into_a_region_only_the_destination_holds)
{
    rc_heap *h = rc_heap_new(NULL), *src = rc_heap_new(NULL), *dst = rc_heap_new(NULL);
    rc_region *r = rc_region_freeze(h, build(h));
    REQUIRE(r);
    rc_heap_free(h);
    rc_val in = rc_dict_get(rc_region_root(r), rc_int(6));
    node *fn = rc_as_obj(rc_list_get(rc_as_obj(in), 1));
    CHECK_EQ_INT(rc_heap_hold_region(src, r), RC_OK);
    rc_list *l = rc_list_new(src, 0);
    rc_list_append(l, in);
    node *x = rc_new(src, &plain_type);   /* no destroy: rc_copy copies it byte for byte */
    x->a = fn;
    rc_list_append(l, rc_obj(x));
    rc_decref(x);
    /* dst does not hold the region: refused, nothing changed. */
    CHECK(rc_copy(dst, l) == NULL);
    CHECK(refused(dst, RC_EINVAL, r, "which the destination heap does not hold"));
    CHECK(rc_move(dst, l) == NULL);
    CHECK(refused(dst, RC_EINVAL, r, "which the destination heap does not hold"));
    CHECK_EQ_INT(live_objects(dst), 0);
    CHECK_EQ_INT(live_objects(src), 2);
    CHECK_EQ_INT(rc_list_get(l, 0), in);
    /* dst holds it: the copies and the moved objects refer to the same
     * frozen objects. */
    CHECK_EQ_INT(rc_heap_hold_region(dst, r), RC_OK);
    rc_list *c = rc_copy(dst, l);
    if (!c) fprintf(stderr, "  rc_copy: %s\n", rc_heap_error_message(dst));
    REQUIRE(c);
    CHECK_EQ_INT(rc_list_get(c, 0), in);
    CHECK(((node *)rc_as_obj(rc_list_get(c, 1)))->a == fn);
    CHECK(rc_as_obj(rc_list_get(c, 1)) != x);
    rc_list *m = rc_move(dst, l);
    REQUIRE(m);
    CHECK_EQ_INT(rc_list_get(m, 0), in);
    CHECK(((node *)rc_as_obj(rc_list_get(m, 1)))->a == fn);
    CHECK_EQ_INT(live_objects(src), 0);
    CHECK_EQ_INT(live_objects(dst), 4);
    CHECK_EQ_INT(rc_heap_check(dst, stderr), 0);
    /* The source holds the region still; it may drop it now. */
    CHECK_EQ_INT(rc_heap_drop_region(src, r), RC_OK);
    /* A graph that refers into a region cannot be frozen: a region holds
     * no region. */
    CHECK(rc_region_freeze(dst, m) == NULL);
    CHECK(refused(dst, RC_EINVAL, r, "does not hold"));
    CHECK_EQ_INT(rc_heap_drop_region(dst, r), RC_EBUSY);
    rc_heap_clear_error(dst);
    rc_decref(m);
    rc_decref(c);
    rc_region_drop(r);
    destroyed = 0;
    CHECK_EQ_INT(rc_heap_drop_region(dst, r), RC_OK);
    CHECK_EQ_INT(destroyed, 3 * N);
    destroyed = 0;
    rc_heap_free(src);
    rc_heap_free(dst);
}

TEST(the_verifier_reports_a_slot_into_a_region_the_heap_does_not_hold)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_region *r = rc_region_freeze(h, build(h));
    REQUIRE(r);
    node *fn = rc_as_obj(rc_list_get(rc_as_obj(rc_dict_get(rc_region_root(r), rc_int(1))), 1));
    node *x = new_node(h, 0);
    x->a = fn;   /* the program wrote the slot: no library call saw it */
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    CHECK(rc_heap_check(h, out) != 0);
    fclose(out);
    char name[32];
    snprintf(name, sizeof name, "%p", (void *)r);
    CHECK(text && strstr(text, "which the heap does not hold") && strstr(text, name));
    free(text);
    CHECK_EQ_INT(rc_heap_hold_region(h, r), RC_OK);
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    x->a = NULL;
    rc_decref(x);
    rc_region_drop(r);
    rc_heap_free(h);
    destroyed = 0;
}

static void young_collection_with_a_slot_into_an_unheld_region(void)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_region *r = rc_region_freeze(h, build(h));
    node *x = new_node(h, 0);
    x->a = rc_as_obj(rc_list_get(rc_as_obj(rc_dict_get(rc_region_root(r), rc_int(1))), 1));
    rc_gc_collect(h, 0);
}

TEST(a_collection_stops_debug_builds_on_a_slot_into_a_region_the_heap_does_not_hold)
{
    if (!LIB_DEBUG) return;   /* the collector checks in the library's RC_DEBUG builds */
    CHECK(dies_saying(young_collection_with_a_slot_into_an_unheld_region,
                      "which the heap does not hold (rc_heap_hold_region)"));
}

/* ---- the last hold, a heap's, goes away on another thread ---- */

typedef struct worker { rc_heap *h; rc_region *r; int64_t sum; } worker;

static void *work_and_free_the_heap(void *arg)
{
    worker *w = arg;
    pthread_setname_np(pthread_self(), "region-user");
    if (rc_heap_acquire(w->h) != RC_OK) return NULL;
    rc_dict *f = rc_region_root(w->r);
    rc_list *mine = rc_list_new(w->h, 0);
    for (int i = 0; i < N; i++) rc_list_append(mine, rc_dict_get(f, rc_int(i)));
    for (int round = 0; round < 50; round++)
        for (int i = 0; i < N; i++) {
            rc_list *l = rc_as_obj(rc_list_get(mine, (size_t)i));
            w->sum += ((node *)rc_as_obj(rc_list_get(l, 1)))->n;
        }
    rc_decref(mine);
    rc_heap_free(w->h);   /* drops the heap's hold: the last one frees the region */
    return NULL;
}

TEST(heaps_on_two_threads_hold_a_region_and_the_last_heap_freed_frees_it)
{
    enum { WORKERS = 2 };
    rc_heap *h = rc_heap_new(NULL);
    rc_region *r = rc_region_freeze(h, build(h));
    REQUIRE(r);
    rc_heap_free(h);
    pthread_t t[WORKERS];
    worker w[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        w[i] = (worker){rc_heap_new(NULL), r, 0};
        REQUIRE(w[i].h);
        CHECK_EQ_INT(rc_heap_hold_region(w[i].h, r), RC_OK);
        CHECK_EQ_INT(rc_heap_release(w[i].h), RC_OK);   /* handed to its thread */
    }
    CHECK_EQ_INT(rc_region_holders(r), 1 + WORKERS);
    rc_region_drop(r);   /* this thread's hold: the heaps keep the region */
    for (int i = 0; i < WORKERS; i++)
        REQUIRE(pthread_create(&t[i], NULL, work_and_free_the_heap, &w[i]) == 0);
    for (int i = 0; i < WORKERS; i++) pthread_join(t[i], NULL);
    int64_t want = 0;
    for (int i = 0; i < N; i++) want += i * 10;
    for (int i = 0; i < WORKERS; i++) CHECK_EQ_INT(w[i].sum, 50 * want);
    CHECK_EQ_INT(destroyed, 3 * N);
    destroyed = 0;
}

RC_TEST_MAIN
