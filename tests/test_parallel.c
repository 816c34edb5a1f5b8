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
#include <time.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

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

/* The thread count once it is `want`, waiting up to 2 s: a joined thread
 * can stay listed in /proc/self/task for a moment after pthread_join
 * returns (the kernel wakes the joiner before it reaps the thread). */
static int threads_settled(int want)
{
    int n = threads_now();
    for (int i = 0; i < 200 && n != want; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        n = threads_now();
    }
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

/* The heaps the tests collect, n nodes (payloads 0..n-1) each:
 *   RANDOM   random edges, ROOTS nodes held, weak references to a few;
 *   COMB     one deep chain (slot 0) with a leaf on every link (slot 1),
 *            held at its head: marking from that one root makes one long
 *            stack while the other threads have nothing of their own;
 *   WIDE     one object with a slot per node, held, the nodes also linked
 *            at random: everything is live, and one expansion pushes n;
 *   GARBAGE  random edges, nothing held: everything dies. */
enum shape { RANDOM, COMB, WIDE, GARBAGE };
enum { ROOTS = 8, WEAK = 16 };

typedef struct heap_case {
    node *keep[ROOTS];     /* held nodes */
    int nroots;
    void *wide;            /* WIDE: the held object reaching every node */
    rc_weakref *weak[WEAK];
    int nweak;
} heap_case;

static rc_type wide_type = {.name = "wide"};

static void build(rc_heap *h, enum shape shape, int n, unsigned seed, heap_case *hc)
{
    node **all = malloc(sizeof *all * (size_t)n);
    REQUIRE(all);
    memset(hc, 0, sizeof *hc);
    srand(seed);
    for (int i = 0; i < n; i++) {
        all[i] = rc_new(h, (i & 1) ? &fin_type : &fin_slots_type);
        REQUIRE(all[i]);
        all[i]->payload = i;
    }
    if (shape == COMB) {
        for (int i = 0; i + 2 < n; i += 2) {
            node_set(all[i], 0, all[i + 2]);
            node_set(all[i], 1, all[i + 1]);
        }
        hc->keep[hc->nroots++] = all[0];
    } else {
        for (int i = 0; i < n; i++)
            for (int k = 0; k < 4; k++)
                if (rand() % 3) node_set(all[i], k, all[rand() % n]);
    }
    if (shape == RANDOM)
        while (hc->nroots < ROOTS) hc->keep[hc->nroots++] = all[rand() % n];
    for (int r = 0; r < hc->nroots; r++) rc_incref(hc->keep[r]);
    if (shape == WIDE) {
        wide_type.size = sizeof(void *) * (size_t)n;
        wide_type.nslots = (uint32_t)n;
        void **w = hc->wide = rc_new(h, &wide_type);
        REQUIRE(w);
        for (int i = 0; i < n; i++) {
            rc_incref(all[i]);
            w[i] = all[i];
        }
    }
    if (shape == RANDOM)
        for (; hc->nweak < WEAK; hc->nweak++)
            hc->weak[hc->nweak] = rc_weakref_new(all[rand() % n], weak_cb, NULL);
    for (int i = 0; i < n; i++) rc_decref(all[i]);
    free(all);
}

/* What the held objects reach (reach[i] = 1), computed here. */
static void reachable(const heap_case *hc, int n, unsigned char *reach)
{
    node **stack = malloc(sizeof *stack * (size_t)n * 4 + sizeof *stack);
    REQUIRE(stack);
    size_t sp = 0;
    memset(reach, 0, (size_t)n);
    for (int r = 0; r < hc->nroots; r++) stack[sp++] = hc->keep[r];
    if (hc->wide) memset(reach, 1, (size_t)n);
    while (sp) {
        node *x = stack[--sp];
        if (reach[x->payload]) continue;
        reach[x->payload] = 1;
        for (int k = 0; k < 4; k++)
            if (x->slot[k] && !reach[((node *)x->slot[k])->payload]) stack[sp++] = x->slot[k];
    }
    free(stack);
}

/* Collect a heap of `shape` with `threads` threads; returns the dead set
 * (malloc'd) and checks it against reachability. */
static unsigned char *collect_shape(int threads, enum shape shape, int n, unsigned seed)
{
    rc_heap *h = unstressed_heap();
    if (rc_gc_set_parallel(h, threads) != 0) abort();
    rc_gc_set_parallel_min(h, 0);
    rc_gc_disable(h);
    heap_case hc;
    dead = calloc((size_t)n, 1);
    unsigned char *reach = malloc((size_t)n);
    if (!dead || !reach) abort();
    build(h, shape, n, seed, &hc);
    reachable(&hc, n, reach);
    size_t live = 0;
    for (int i = 0; i < n; i++) live += reach[i];
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(live_objects(h) - (size_t)hc.nweak - (hc.wide != NULL), live);
    for (int i = 0; i < n; i++) CHECK(dead[i] == !reach[i]);
    CHECK_EQ_INT(off_thread, 0);
    for (int r = 0; r < hc.nroots; r++) rc_decref(hc.keep[r]);
    for (int w = 0; w < hc.nweak; w++) rc_decref(hc.weak[w]);
    rc_xdecref(hc.wide);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
    free(reach);
    unsigned char *d = dead;
    dead = NULL;
    return d;
}

/* Each shape on 1, 2 and 5 threads (more than cores): the same dead set. */
static void same_on_1_2_and_5_threads(enum shape shape, int n, unsigned seeds)
{
    owner = pthread_self();
    for (unsigned seed = 1; seed <= seeds; seed++) {
        unsigned char *one = collect_shape(1, shape, n, seed);
        unsigned char *two = collect_shape(2, shape, n, seed);
        unsigned char *many = collect_shape(5, shape, n, seed);
        CHECK(memcmp(one, two, (size_t)n) == 0);
        CHECK(memcmp(one, many, (size_t)n) == 0);
        free(one);
        free(two);
        free(many);
    }
}

static int quick(int n) { return getenv("RC_TEST_QUICK") ? n / 8 : n; }

TEST(random_heaps_free_what_one_thread_frees_and_only_the_unreachable)
{
    same_on_1_2_and_5_threads(RANDOM, quick(20000), 6);
}

TEST(a_deep_comb_held_at_one_root_is_marked_whole)
{
    same_on_1_2_and_5_threads(COMB, quick(200000), 2);
}

TEST(a_wide_fan_out_keeps_every_node)
{
    same_on_1_2_and_5_threads(WIDE, quick(50000), 2);
}

TEST(a_heap_of_garbage_is_freed_whole)
{
    same_on_1_2_and_5_threads(GARBAGE, quick(20000), 3);
}

/* Out of memory for the threads' stacks or for the list the threads share
 * work through: marking runs on the owning thread, or finishes there over
 * what the threads marked, and the collection frees the same. */
TEST(out_of_memory_during_parallel_marking_frees_the_same)
{
    owner = pthread_self();
    int n = quick(40000);
    unsigned char *reach = malloc((size_t)n);
    REQUIRE(reach);
    for (long k = 0; k < 12; k++) {
        rc_heap *h = fa_heap_new();
        REQUIRE(h);
        rc_gc_disable(h);
        REQUIRE(rc_gc_set_parallel(h, 2) == 0);
        rc_gc_set_parallel_min(h, 0);
        heap_case hc;
        dead = calloc((size_t)n, 1);
        REQUIRE(dead);
        build(h, k & 1 ? COMB : RANDOM, n, (unsigned)k, &hc);
        reachable(&hc, n, reach);
        size_t live = 0;
        for (int i = 0; i < n; i++) live += reach[i];
        rc_gc_collect(h, 2);   /* the pool starts, the unreachable go */
        for (int i = 0; i < n; i++) CHECK(dead[i] == !reach[i]);
        fa_arm(k / 2);
        fa_map_fails = k >= 6;
        rc_gc_collect(h, 2);
        fa_disarm();
        fa_map_fails = 0;
        CHECK_EQ_INT(live_objects(h) - (size_t)hc.nweak, live);
        for (int i = 0; i < n; i++) CHECK(dead[i] == !reach[i]);
        for (int r = 0; r < hc.nroots; r++) rc_decref(hc.keep[r]);
        for (int w = 0; w < hc.nweak; w++) rc_decref(hc.weak[w]);
        rc_gc_collect(h, 2);
        CHECK_EQ_INT(live_objects(h), 0);
        rc_heap_free(h);
        free(dead);
        dead = NULL;
    }
    free(reach);
}

/* A node whose traverse, called on the owning thread while marking, waits
 * until a helper thread has expanded an object it marked (at most 10 s,
 * once): so whether the helpers mark does not depend on how the threads
 * are scheduled. The count calls traverse once per object (stall_objects
 * calls, counted from the collection's start: the heap verifier of
 * RC_EXPENSIVE builds calls it before and after); every later call is
 * marking's. */
static long stall_calls, stall_objects = LONG_MAX, stall_armed = LONG_MAX;
static int helper_marking, stall_gave_up;

static void stall_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    if (__atomic_add_fetch(&stall_calls, 1, __ATOMIC_SEQ_CST) > stall_objects) {
        if (!pthread_equal(pthread_self(), owner)) {
            __atomic_store_n(&helper_marking, 1, __ATOMIC_SEQ_CST);
        } else if (!__atomic_load_n(&stall_gave_up, __ATOMIC_SEQ_CST)) {
            for (int i = 0; i < 10000 && !__atomic_load_n(&helper_marking, __ATOMIC_SEQ_CST); i++)
                usleep(1000);
            if (!__atomic_load_n(&helper_marking, __ATOMIC_SEQ_CST))
                __atomic_store_n(&stall_gave_up, 1, __ATOMIC_SEQ_CST);
        }
    }
    cbnode_traverse(obj, visit, arg);
}
static const rc_type stall_type = {
    .name = "stall", .size = sizeof(node), .traverse = stall_traverse, .clear = cbnode_clear,
};

/* A gc callback: the collection's figures in *ud; the waits of
 * stall_traverse on while the collection runs, when armed. */
static void last_info(rc_heap *h, int phase, const rc_gc_info *info, void *ud)
{
    (void)h;
    if (phase == RC_GC_START) {
        stall_calls = 0;
        stall_objects = stall_armed;
    } else {
        stall_objects = LONG_MAX;
        *(rc_gc_info *)ud = *info;
    }
}

TEST(helper_threads_mark_and_say_how_many_objects)
{
    enum { CHAINS = 64, LEN = 500 };
    owner = pthread_self();
    rc_heap *h = unstressed_heap();
    rc_gc_disable(h);
    rc_gc_info info;
    REQUIRE(rc_gc_callback_add(h, last_info, &info) == 0);
    node *head[CHAINS];
    for (int c = 0; c < CHAINS; c++) {
        node *x = head[c] = rc_new(h, &stall_type);
        REQUIRE(x);
        for (int i = 1; i < LEN; i++) {
            node *y = rc_new(h, &stall_type);
            REQUIRE(y);
            node_set(x, 0, y);
            rc_decref(y);
            x = y;
        }
    }
    rc_gc_collect(h, 2);   /* one thread: no helper */
    CHECK_EQ_INT(info.examined, CHAINS * LEN);
    CHECK_EQ_INT(info.helper_marked, 0);
    REQUIRE(rc_gc_set_parallel(h, 2) == 0);
    rc_gc_collect(h, 2);   /* below the threshold: no helper */
    CHECK_EQ_INT(info.helper_marked, 0);
    rc_gc_set_parallel_min(h, 0);
    stall_armed = CHAINS * LEN;
    rc_gc_collect(h, 2);
    stall_armed = LONG_MAX;
    CHECK(!stall_gave_up);
    CHECK(info.helper_marked > 0);
    CHECK(info.helper_marked <= CHAINS * LEN);
    CHECK_EQ_INT(live_objects(h), CHAINS * LEN);
    for (int c = 0; c < CHAINS; c++) rc_decref(head[c]);
    rc_heap_free(h);
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
    CHECK_EQ_INT(threads_settled(t0), t0);   /* a change of count stops them */
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(threads_now(), t0);
    REQUIRE(rc_gc_set_parallel(h, 2) == 0);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(threads_now(), t0 + 1);
    rc_decref(c);
    rc_decref(d);
    rc_heap_free(h);                       /* with the pool alive */
    CHECK_EQ_INT(threads_settled(t0), t0);
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
