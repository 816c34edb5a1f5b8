/* test_regions.c -- frozen regions (rc_region_freeze, hold, drop): readers
 * on several threads with no writes (run under ThreadSanitizer by `make
 * tsan`), the write check of debug builds, release by the last holder,
 * refusal of graphs that are not isolated, heap objects that point into a
 * region, and cycles inside a region that no collection looks at.
 *
 * Compiled with RC_DEBUG, so that the inline calls check in every build;
 * LIB_DEBUG says whether the library itself was built with it. */
#ifdef RC_DEBUG
#define LIB_DEBUG 1
#else
#define LIB_DEBUG 0
#define RC_DEBUG 1
#endif
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

RC_TEST_MAIN
