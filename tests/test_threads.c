/* test_threads.c -- heaps and threads: the thread that holds a heap
 * (rc_heap_release, rc_heap_acquire), the owner check of debug builds, and
 * rc_move. The multi-threaded tests also run under ThreadSanitizer
 * (`make tsan`).
 *
 * Compiled with RC_DEBUG, so that the inline calls (rc_incref, rc_decref)
 * check their object's heap in every build; LIB_DEBUG says whether the
 * library itself was built with it (its calls check only then). */
#define _GNU_SOURCE   /* pthread_setname_np */
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

typedef struct node { void *a, *b; int64_t n; } node;
static const rc_type node_type = {.name = "node", .size = sizeof(node), .nslots = 2};

/* ---- a queue between threads (the program's own, as the guide says) ---- */

typedef struct queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    void *items[64];
    size_t head, len;
} queue;

static void q_init(queue *q)
{
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    q->head = q->len = 0;
}

static void q_destroy(queue *q)
{
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
}

static void q_put(queue *q, void *item)
{
    pthread_mutex_lock(&q->mu);
    while (q->len == 64) pthread_cond_wait(&q->cv, &q->mu);
    q->items[(q->head + q->len++) % 64] = item;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

static void *q_get(queue *q)
{
    pthread_mutex_lock(&q->mu);
    while (q->len == 0) pthread_cond_wait(&q->cv, &q->mu);
    void *item = q->items[q->head];
    q->head = (q->head + 1) % 64;
    q->len--;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return item;
}

/* Runs fn(arg) on a new thread and waits for it. */
static void *on_thread(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    void *ret = NULL;
    if (pthread_create(&t, NULL, fn, arg) != 0) abort();
    pthread_join(t, &ret);
    return ret;
}

/* ---- rc_heap_release, rc_heap_acquire ---- */

TEST(new_heap_is_held_by_its_creator)
{
    rc_heap *h = rc_heap_new(NULL);
    node *n = rc_new(h, &node_type);
    CHECK_EQ_INT(rc_heap_acquire(h), RC_OK);   /* already held: nothing changes */
    CHECK_EQ_INT(rc_heap_release(h), RC_OK);
    CHECK_EQ_INT(rc_heap_acquire(h), RC_OK);
    rc_decref(n);
    rc_heap_free(h);
}

TEST(null_heap_is_einval)
{
    CHECK_EQ_INT(rc_heap_release(NULL), RC_EINVAL);
    CHECK_EQ_INT(rc_heap_acquire(NULL), RC_EINVAL);
}

static void *try_acquire(void *h) { return (void *)(intptr_t)rc_heap_acquire(h); }
static void *acquire_and_release(void *h)
{
    intptr_t r = rc_heap_acquire(h);
    if (r == RC_OK) rc_heap_release(h);
    return (void *)r;
}

TEST(acquire_is_ebusy_while_another_thread_holds_the_heap)
{
    rc_heap *h = rc_heap_new(NULL);
    CHECK_EQ_INT((intptr_t)on_thread(try_acquire, h), RC_EBUSY);
    /* Still this thread's: it can use the heap and release it. */
    node *n = rc_new(h, &node_type);
    REQUIRE(n);
    rc_decref(n);
    CHECK_EQ_INT(rc_heap_release(h), RC_OK);
    CHECK_EQ_INT((intptr_t)on_thread(acquire_and_release, h), RC_OK);
    CHECK_EQ_INT(rc_heap_acquire(h), RC_OK);
    rc_heap_free(h);
}

static rc_heap *fin_heap;
static int fin_release_result;
static void releasing_finalize(void *obj)
{
    (void)obj;
    fin_release_result = rc_heap_release(fin_heap);
}
static const rc_type releasing_type = {
    .name = "releasing", .size = sizeof(node), .nslots = 2, .finalize = releasing_finalize};

TEST(release_from_a_finalizer_is_refused)
{
    fin_heap = rc_heap_new(NULL);
    node *n = rc_new(fin_heap, &releasing_type);
    rc_decref(n);
    CHECK_EQ_INT(fin_release_result, RC_EBUSY);
    CHECK_EQ_INT(rc_heap_error(fin_heap), RC_EBUSY);
    CHECK(strstr(rc_heap_error_message(fin_heap), "rc_heap_release") != NULL);
    /* Still held: usable here. */
    node *m = rc_new(fin_heap, &node_type);
    CHECK(m != NULL);
    rc_decref(m);
    rc_heap_free(fin_heap);
}

static void *release_elsewhere(void *h) { return (void *)(intptr_t)rc_heap_release(h); }

static void release_by_another_thread(void)
{
    rc_heap *h = rc_heap_new(NULL);
    on_thread(release_elsewhere, h);
}

TEST(release_by_a_thread_that_does_not_hold_the_heap)
{
    if (LIB_DEBUG) {
        CHECK(dies_saying(release_by_another_thread, "rc_heap_release"));
        return;
    }
    /* Release builds: refused, and the heap stays this thread's. */
    rc_heap *h = rc_heap_new(NULL);
    CHECK_EQ_INT((intptr_t)on_thread(release_elsewhere, h), RC_EBUSY);
    CHECK_EQ_INT((intptr_t)on_thread(try_acquire, h), RC_EBUSY);
    rc_heap_free(h);
}

/* ---- a whole heap handed from a producer to a consumer ---- */

enum { HANDOFF_HEAPS = 40, HANDOFF_NODES = 500 };

static void *produce_heaps(void *arg)
{
    queue *q = arg;
    for (int i = 0; i < HANDOFF_HEAPS; i++) {
        rc_heap *h = rc_heap_new(NULL);
        rc_list *l = rc_list_new(h, 0);
        node *prev = NULL;
        for (int k = 0; k < HANDOFF_NODES; k++) {
            node *n = rc_new(h, &node_type);
            n->n = i * HANDOFF_NODES + k;
            n->a = prev;   /* takes prev's reference */
            prev = n;
            if (k % 50 == 0) rc_list_append(l, rc_obj(n));
        }
        rc_list_append(l, rc_obj(prev));
        rc_decref(prev);
        rc_list_append(l, rc_int(i));
        if (rc_heap_release(h) != RC_OK) abort();
        q_put(q, l);   /* the list is the consumer's reference now */
    }
    return NULL;
}

static void *consume_heaps(void *arg)
{
    queue *q = arg;
    intptr_t bad = 0;
    for (int i = 0; i < HANDOFF_HEAPS; i++) {
        rc_list *l = q_get(q);
        rc_heap *h = rc_heap_of(l);
        if (rc_heap_acquire(h) != RC_OK) return (void *)(intptr_t)-1;
        size_t len = rc_list_len(l);
        if (rc_as_int(rc_list_get(l, len - 1)) != i) bad++;
        node *last = rc_as_obj(rc_list_get(l, len - 2));
        int64_t want = (int64_t)(i + 1) * HANDOFF_NODES - 1;
        for (node *n = last; n; n = n->a, want--)
            if (n->n != want) bad++;
        if (want != (int64_t)i * HANDOFF_NODES - 1) bad++;
        rc_gc_collect(h, 2);
        rc_decref(l);
        if (live_objects(h) != 0) bad++;
        rc_heap_free(h);
    }
    return (void *)bad;
}

TEST(heap_handed_from_producer_to_consumer)
{
    queue q;
    q_init(&q);
    pthread_t p, c;
    void *bad = NULL;
    REQUIRE(pthread_create(&c, NULL, consume_heaps, &q) == 0);
    REQUIRE(pthread_create(&p, NULL, produce_heaps, &q) == 0);
    pthread_join(p, NULL);
    pthread_join(c, &bad);
    CHECK_EQ_INT((intptr_t)bad, 0);
    q_destroy(&q);
}

/* ---- the owner check ---- */

static node *stray;

static void *touch_stray(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "consumer");
    rc_incref(stray);   /* the inline check: this thread does not hold the heap */
    return NULL;
}

static void touch_from_another_thread(void)
{
    pthread_setname_np(pthread_self(), "producer");
    rc_heap *h = rc_heap_new(NULL);
    stray = rc_new(h, &node_type);
    on_thread(touch_stray, NULL);
}

static void touch_released_heap(void)
{
    pthread_setname_np(pthread_self(), "producer");
    rc_heap *h = rc_heap_new(NULL);
    stray = rc_new(h, &node_type);
    rc_heap_release(h);
    on_thread(touch_stray, NULL);
}

TEST(owner_check_names_both_threads)
{
    char buf[4096];
    int status = child_stderr(touch_from_another_thread, buf, sizeof buf);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    CHECK(strstr(buf, "rc_incref(") != NULL);
    CHECK(strstr(buf, "the heap belongs to thread ") != NULL);
    CHECK(strstr(buf, "'producer' (pthread 0x") != NULL);
    CHECK(strstr(buf, "not to the calling thread ") != NULL);
    CHECK(strstr(buf, "'consumer' (pthread 0x") != NULL);
    if (rc_test_failed_) fprintf(stderr, "  child said: %s\n", buf);
}

TEST(owner_check_on_a_released_heap)
{
    CHECK(dies_saying(touch_released_heap, "no thread holds the heap (thread "));
    CHECK(dies_saying(touch_released_heap, "'producer' released it with rc_heap_release"));
}

static rc_heap *stray_heap;
static rc_list *stray_list;
static void *collect_stray(void *arg) { (void)arg; rc_gc_collect(stray_heap, 0); return NULL; }
static void *append_stray(void *arg) { (void)arg; rc_list_append(stray_list, rc_int(1)); return NULL; }
static void *new_in_stray(void *arg) { (void)arg; rc_new(stray_heap, &node_type); return NULL; }

static void collect_from_another_thread(void)
{
    stray_heap = rc_heap_new(NULL);
    on_thread(collect_stray, NULL);
}
static void append_from_another_thread(void)
{
    stray_heap = rc_heap_new(NULL);
    stray_list = rc_list_new(stray_heap, 0);
    on_thread(append_stray, NULL);
}
static void new_from_another_thread(void)
{
    stray_heap = rc_heap_new(NULL);
    on_thread(new_in_stray, NULL);
}

TEST(owner_check_in_library_calls)
{
    /* The library's calls check in its RC_DEBUG builds only. */
    if (!LIB_DEBUG) return;
    CHECK(dies_saying(append_from_another_thread, "rc_list_append("));
    CHECK(dies_saying(collect_from_another_thread, "rc_gc_collect("));
    CHECK(dies_saying(new_from_another_thread, "rc_new("));
}

RC_TEST_MAIN
