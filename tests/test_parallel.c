/* test_parallel.c -- the parallel full collection (rc_gc_set_parallel): it
 * frees exactly what the single-threaded collection frees, runs user code on
 * the owning thread only, stays single-threaded below its threshold, and
 * keeps or frees its helper threads as documented. Label `threads`. */
#include "harness.h"
#include "testutil.h"
#include "failalloc.h"
#include "nodes.h"
#include "recycle/gc.h"
#include "recycle/weakref.h"

#include <dirent.h>
#include <pthread.h>
#include <stdlib.h>

NODES_IMPL

/* Threads of this process (/proc/self/task); -1 when it cannot be read. */
static int threads_now(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

/* A node whose finalizer notes its payload as dead and the thread it ran on. */
static unsigned char *dead;      /* dead[payload] */
static int off_thread;           /* finalizers or callbacks that ran on another thread */
static pthread_t owner;

static void note_death(void *obj)
{
    node *n = obj;
    dead[n->payload] = 1;
    if (!pthread_equal(pthread_self(), owner)) off_thread++;
}
static const rc_type fin_type = {
    .name = "fin", .size = sizeof(node), .traverse = cbnode_traverse, .clear = cbnode_clear,
    .finalize = note_death,
};
static const rc_type fin_slots_type = {
    .name = "fin_slots", .size = sizeof(node), .nslots = 4, .finalize = note_death,
};

static void weak_cb(rc_weakref *w, void *data)
{
    (void)w;
    (void)data;
    if (!pthread_equal(pthread_self(), owner)) off_thread++;
}

/* A random graph of n nodes (edges from a seeded generator), `roots` of
 * them held by the caller (roots[]), weak references to a few. */
static void build(rc_heap *h, int n, unsigned seed, node **keep, int nroots, rc_weakref **weak, int nweak)
{
    node **all = malloc(sizeof *all * (size_t)n);
    REQUIRE(all);
    srand(seed);
    for (int i = 0; i < n; i++) {
        all[i] = rc_new(h, (i & 1) ? &fin_type : &fin_slots_type);
        REQUIRE(all[i]);
        all[i]->payload = i;
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 4; k++)
            if (rand() % 3) node_set(all[i], k, all[rand() % n]);
    for (int r = 0; r < nroots; r++) {
        keep[r] = all[rand() % n];
        rc_incref(keep[r]);
    }
    for (int w = 0; w < nweak; w++) weak[w] = rc_weakref_new(all[rand() % n], weak_cb, NULL);
    for (int i = 0; i < n; i++) rc_decref(all[i]);
    free(all);
}

/* What the roots reach (reach[i] = 1), computed here. */
static void reachable(node **keep, int nroots, int n, unsigned char *reach)
{
    node **stack = malloc(sizeof *stack * (size_t)n * 4 + sizeof *stack);
    REQUIRE(stack);
    size_t sp = 0;
    memset(reach, 0, (size_t)n);
    for (int r = 0; r < nroots; r++) stack[sp++] = keep[r];
    while (sp) {
        node *x = stack[--sp];
        if (reach[x->payload]) continue;
        reach[x->payload] = 1;
        for (int k = 0; k < 4; k++)
            if (x->slot[k] && !reach[((node *)x->slot[k])->payload]) stack[sp++] = x->slot[k];
    }
    free(stack);
}

/* Collect a random heap with `threads` threads; returns the dead set
 * (malloc'd) and checks it against reachability. */
static unsigned char *collect_random(int threads, int n, unsigned seed)
{
    enum { ROOTS = 8, WEAK = 16 };
    rc_heap *h = unstressed_heap();
    if (rc_gc_set_parallel(h, threads) != 0) abort();
    rc_gc_set_parallel_min(h, 0);
    rc_gc_disable(h);
    node *keep[ROOTS];
    rc_weakref *weak[WEAK];
    dead = calloc((size_t)n, 1);
    unsigned char *reach = malloc((size_t)n);
    if (!dead || !reach) abort();
    build(h, n, seed, keep, ROOTS, weak, WEAK);
    reachable(keep, ROOTS, n, reach);
    size_t live = 0;
    for (int i = 0; i < n; i++) live += reach[i];
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(live_objects(h) - WEAK, live);
    for (int i = 0; i < n; i++) CHECK(dead[i] == !reach[i]);
    CHECK_EQ_INT(off_thread, 0);
    for (int r = 0; r < ROOTS; r++) rc_decref(keep[r]);
    for (int w = 0; w < WEAK; w++) rc_decref(weak[w]);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
    free(reach);
    unsigned char *d = dead;
    dead = NULL;
    return d;
}

TEST(random_heaps_free_what_one_thread_frees_and_only_the_unreachable)
{
    owner = pthread_self();
    int n = getenv("RC_TEST_QUICK") ? 3000 : 20000;
    for (unsigned seed = 1; seed <= 6; seed++) {
        unsigned char *one = collect_random(1, n, seed);
        unsigned char *two = collect_random(2, n, seed);
        unsigned char *many = collect_random(5, n, seed);   /* more threads than cores */
        CHECK(memcmp(one, two, (size_t)n) == 0);
        CHECK(memcmp(one, many, (size_t)n) == 0);
        free(one);
        free(two);
        free(many);
    }
}

/* A live chain of n nodes, held through its head. */
static node *chain(rc_heap *h, int n)
{
    node *head = rc_new(h, &node2_type), *x = head;
    for (int i = 1; i < n; i++) {
        node *y = rc_new(h, &node2_type);
        node_set(x, 0, y);
        rc_decref(y);
        x = y;
    }
    return head;
}

TEST(below_the_threshold_no_thread_starts_and_above_it_the_pool_stays)
{
    int t0 = threads_now();
    if (t0 < 0) SKIP("/proc/self/task cannot be read");
    rc_heap *h = unstressed_heap();
    CHECK_EQ_INT(rc_gc_get_parallel(h), 1);
    CHECK_EQ_INT(rc_gc_get_parallel_min(h), RC_PARALLEL_MIN_DEFAULT);
    REQUIRE(rc_gc_set_parallel(h, 3) == 0);
    CHECK_EQ_INT(rc_gc_get_parallel(h), 3);
    rc_gc_set_parallel_min(h, 1000);
    node *c = chain(h, 999);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(threads_now(), t0);   /* 999 objects: below */
    node *d = chain(h, 1);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(threads_now(), t0 + 2);   /* 1000: two helpers beside this thread */
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(threads_now(), t0 + 2);   /* kept, not started again */
    REQUIRE(rc_gc_set_parallel(h, 1) == 0);
    CHECK_EQ_INT(threads_now(), t0);       /* a change of count stops them */
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(threads_now(), t0);
    REQUIRE(rc_gc_set_parallel(h, 2) == 0);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(threads_now(), t0 + 1);
    rc_decref(c);
    rc_decref(d);
    rc_heap_free(h);                       /* with the pool alive */
    CHECK_EQ_INT(threads_now(), t0);
}

TEST(one_thread_starts_no_helper)
{
    int t0 = threads_now();
    if (t0 < 0) SKIP("/proc/self/task cannot be read");
    rc_heap *h = unstressed_heap();
    REQUIRE(rc_gc_set_parallel(h, 1) == 0);
    rc_gc_set_parallel_min(h, 0);
    node *c = chain(h, 100);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(threads_now(), t0);
    rc_decref(c);
    rc_heap_free(h);
}

TEST(invalid_thread_counts_are_refused_with_einval)
{
    rc_heap *h = unstressed_heap();
    int bad[] = {0, -1, -1000000, RC_PARALLEL_MAX + 1, 1 << 30};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_EQ_INT(rc_gc_set_parallel(h, bad[i]), -1);
        CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
        CHECK_EQ_INT(rc_gc_get_parallel(h), 1);
    }
    CHECK_EQ_INT(rc_gc_set_parallel(h, RC_PARALLEL_MAX), 0);
    rc_heap_free(h);
}

static rc_heap *busy_heap;
static int busy_result;
static void set_in_finalizer(void *obj)
{
    (void)obj;
    busy_result = rc_gc_set_parallel(busy_heap, 2);
}
static const rc_type busy_type = {
    .name = "busy", .size = sizeof(node), .nslots = 4, .finalize = set_in_finalizer,
};

TEST(changing_the_count_during_a_collection_is_refused)
{
    rc_heap *h = busy_heap = unstressed_heap();
    node *a = rc_new(h, &busy_type), *b = rc_new(h, &busy_type);
    node_set(a, 0, b);
    node_set(b, 0, a);
    rc_decref(a);
    rc_decref(b);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(busy_result, -1);
    CHECK_EQ_INT(rc_gc_get_parallel(h), 1);
    rc_heap_free(h);
}

TEST(without_memory_for_the_pool_the_collection_runs_on_one_thread)
{
    int t0 = threads_now();
    if (t0 < 0) SKIP("/proc/self/task cannot be read");
    rc_heap *h = fa_heap_new();
    REQUIRE(h);
    rc_gc_disable(h);
    REQUIRE(rc_gc_set_parallel(h, 2) == 0);
    rc_gc_set_parallel_min(h, 0);
    node *c = chain(h, 100);
    node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
    node_set(a, 0, b);
    node_set(b, 0, a);
    rc_decref(a);
    rc_decref(b);
    fa_arm(0);   /* the pool is the collection's first allocation */
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2);
    fa_disarm();
    CHECK(fa_failures >= 1);
    CHECK_EQ_INT(threads_now(), t0);
    CHECK_EQ_INT(live_objects(h), 100);
    rc_gc_collect(h, 2);                 /* memory again: the pool starts */
    CHECK_EQ_INT(threads_now(), t0 + 1);
    rc_decref(c);
    rc_heap_free(h);
    CHECK_EQ_INT(threads_now(), t0);
}

RC_TEST_MAIN
