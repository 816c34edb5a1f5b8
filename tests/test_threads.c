/* test_threads.c -- heaps and threads: the thread that holds a heap
 * (rc_heap_release, rc_heap_acquire), the owner check of debug builds, and
 * rc_move. The multi-threaded tests also run under ThreadSanitizer
 * (`make tsan`).
 *
 * Compiled with RC_DEBUG, so that the inline calls (rc_incref, rc_decref)
 * check their object's heap in every build; LIB_DEBUG says whether the
 * library itself was built with it (its calls check only then). */
#define _GNU_SOURCE   /* pthread_setname_np */
#include "libdebug.h"
#include "harness.h"
#include "recycle.h"
#include "recycle/builtins.h"
#include "recycle/gc.h"
#include "recycle/weakref.h"
#include "failalloc.h"
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

/* ---- rc_heap_trim of a heap another thread holds ---- */

static const rc_type blob_type = {.name = "blob", .size = 1000};
static void *try_trim(void *h) { return (void *)(intptr_t)rc_heap_trim(h); }
static void trim_from_another_thread(void)
{
    stray_heap = rc_heap_new(NULL);
    on_thread(try_trim, stray_heap);
}

static size_t page_bytes(const rc_heap *h)
{
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    return st.page_bytes;
}

/* The free pages are the holder's to give back: another thread's trim
 * changes nothing and records nothing (the heap is not its to write to),
 * in release builds; debug builds stop, naming the call. */
TEST(trim_of_a_heap_another_thread_holds_is_ebusy_and_does_nothing)
{
    if (LIB_DEBUG) {
        CHECK(dies_saying(trim_from_another_thread, "rc_heap_trim("));
        return;
    }
    enum { N = 1024 };   /* 1 MiB kept, 1 MiB of pages freed: both under the heap's own purges */
    static void *keep[N], *wave[N];
    rc_heap *h = rc_heap_new(NULL);
    rc_gc_disable(h);
    for (size_t i = 0; i < N; i++) REQUIRE((keep[i] = rc_new(h, &blob_type)) != NULL);
    for (size_t i = 0; i < N; i++) REQUIRE((wave[i] = rc_new(h, &blob_type)) != NULL);
    for (size_t i = 0; i < N; i++) rc_decref(wave[i]);
    size_t pages = page_bytes(h);
    CHECK_EQ_INT((intptr_t)on_thread(try_trim, h), RC_EBUSY);
    CHECK_EQ_INT(rc_heap_error(h), RC_OK);
    CHECK_EQ_INT(page_bytes(h), pages);
    CHECK_EQ_INT(rc_heap_trim(h), RC_OK);   /* the holder's own trim */
    CHECK(page_bytes(h) <= pages);
    for (size_t i = 0; i < N; i++) rc_decref(keep[i]);
    rc_heap_free(h);
}

/* ---- rc_move ---- */

static rc_heap *quiet(void)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_gc_disable(h);
    return h;
}

static node *new_node(rc_heap *h, int64_t n)
{
    node *x = rc_new(h, &node_type);
    if (x) x->n = n;
    return x;
}

static void link_to(void **slot, void *obj)
{
    rc_incref(obj);
    *slot = obj;
}

TEST(move_a_chain_of_slots_objects)
{
    rc_heap *src = quiet(), *dst = quiet();
    node *a = new_node(src, 1), *b = new_node(src, 2), *c = new_node(src, 3);
    link_to(&a->a, b);
    link_to(&b->a, c);
    link_to(&a->b, c);
    rc_decref(b);
    rc_decref(c);
    node *m = rc_move(dst, a);
    REQUIRE(m != NULL);
    CHECK(m != a);
    CHECK(rc_heap_of(m) == dst);
    CHECK_EQ_INT(live_objects(src), 0);
    CHECK_EQ_INT(live_objects(dst), 3);
    node *mb = m->a, *mc = mb->a;
    CHECK(rc_heap_of(mb) == dst && rc_heap_of(mc) == dst);
    CHECK(m->b == mc);
    CHECK_EQ_INT(m->n + 10 * mb->n + 100 * mc->n, 321);
    CHECK_EQ_INT(rc_refcount(m), 1);
    CHECK_EQ_INT(rc_refcount(mb), 1);
    CHECK_EQ_INT(rc_refcount(mc), 2);
    CHECK_EQ_INT(rc_heap_check(src, stderr), 0);
    CHECK_EQ_INT(rc_heap_check(dst, stderr), 0);
    rc_decref(m);
    CHECK_EQ_INT(live_objects(dst), 0);
    rc_heap_free(src);
    rc_heap_free(dst);
}

/* A chain of n nodes, its head returned (the one reference to it). */
static node *chain(rc_heap *h, long n)
{
    node *head = new_node(h, 0);
    for (long i = 1; i < n; i++) {
        node *x = new_node(h, i);
        x->a = head;
        head = x;
    }
    return head;
}

/* Moving graph after graph reuses one member table: src keeps it (its
 * bytes are in src's buffer_bytes) rather than mapping, faulting in and
 * unmapping a table at every move, which made a move of a few thousand
 * objects cost ten times a rebuild. A table over RC_TABLE_KEEP (2 MiB,
 * 32 bytes a member) goes back at once; rc_heap_free frees the kept one
 * (ASan and valgrind see a leak otherwise). rc_copy keeps its table the
 * same way, in the source heap. */
TEST(moves_reuse_one_table_and_a_big_one_goes_back)
{
    rc_heap *src = quiet(), *dst = quiet();
    CHECK_EQ_INT(buffer_bytes(src), 0);
    node *m = rc_move(dst, chain(src, 3000));
    REQUIRE(m);
    size_t kept = buffer_bytes(src);
    CHECK(kept >= 3000 * 24);
    for (int i = 0; i < 5; i++) {
        rc_decref(m);
        m = rc_move(dst, chain(src, 2000 + 500 * i));
        REQUIRE(m);
        CHECK_EQ_INT(buffer_bytes(src), kept);
    }
    rc_decref(m);
    /* rc_copy's members are smaller: it keeps a table of its own instead,
     * and the next copy takes it. */
    m = chain(src, 1000);
    size_t before = buffer_bytes(src);
    for (int i = 0; i < 3; i++) {
        node *c = rc_copy(dst, m);
        REQUIRE(c);
        rc_decref(c);
        if (i == 0) kept = buffer_bytes(src);
        CHECK(i > 0 || kept != before);
        CHECK_EQ_INT(buffer_bytes(src), kept);
    }
    rc_decref(m);
    rc_heap_free(src);

    src = quiet();
    m = rc_move(dst, chain(src, 100000));   /* 3.2 MB of table */
    REQUIRE(m);
    CHECK_EQ_INT(buffer_bytes(src), 0);
    rc_decref(m);
    rc_heap_free(src);
    rc_heap_free(dst);
}

TEST(moved_objects_are_young_in_dst)
{
    rc_heap *src = quiet(), *dst = quiet();
    node *a = new_node(src, 1), *b = new_node(src, 2);
    link_to(&a->a, b);
    rc_decref(b);
    rc_gc_collect(src, 2);   /* both old in src */
    rc_heap_stats st;
    rc_heap_get_stats(src, &st);
    CHECK_EQ_INT(st.gen_objects[2], 2);
    size_t before[3];
    rc_gc_get_count(dst, before);
    node *m = rc_move(dst, a);
    REQUIRE(m);
    rc_heap_get_stats(src, &st);
    CHECK_EQ_INT(st.gen_objects[2], 0);
    CHECK_EQ_INT(st.tracked, 0);
    rc_heap_get_stats(dst, &st);
    CHECK_EQ_INT(st.gen_objects[0], 2);
    size_t after[3];
    rc_gc_get_count(dst, after);
    CHECK_EQ_INT(after[0], before[0] + 2);
    CHECK(rc_gc_is_tracked(m));
    rc_gc_collect(dst, 0);   /* a young collection finds them */
    rc_heap_get_stats(dst, &st);
    CHECK_EQ_INT(st.gen_objects[1], 2);
    CHECK_EQ_INT(rc_heap_check(dst, stderr), 0);
    rc_decref(m);
    rc_heap_free(src);
    rc_heap_free(dst);
}

TEST(move_a_cycle_through_the_root)
{
    rc_heap *src = quiet(), *dst = quiet();
    node *a = new_node(src, 1), *b = new_node(src, 2);
    link_to(&a->a, b);
    link_to(&b->a, a);
    link_to(&a->b, a);   /* and a to itself */
    rc_decref(b);
    node *m = rc_move(dst, a);
    REQUIRE(m);
    node *mb = m->a;
    CHECK(mb->a == m && m->b == m);
    CHECK_EQ_INT(rc_refcount(m), 3);
    CHECK_EQ_INT(live_objects(src), 0);
    CHECK_EQ_INT(rc_heap_check(dst, stderr), 0);
    rc_decref(m);
    CHECK_EQ_INT(rc_gc_collect(dst, 2), 2);
    CHECK_EQ_INT(live_objects(dst), 0);
    rc_heap_free(src);
    rc_heap_free(dst);
}

/* A request as a parser would make it: a dict of str -> values, a list of
 * tuples, numbers of every kind, a node used as a key. */
static rc_dict *build_request(rc_heap *h, node **key_out)
{
    rc_dict *d = rc_dict_new(h);
    rc_list *l = rc_list_new(h, 0);
    for (int i = 0; i < 20; i++) {
        rc_str *name = rc_str_from_cstr(h, i % 2 ? "odd" : "even");
        rc_val big = rc_int_new(h, INT64_MAX - i);
        rc_val items[4] = {rc_int(i), big, rc_float(i / 4.0), rc_obj(name)};
        rc_tuple *t = rc_tuple_new(h, 4, items);
        rc_list_append(l, rc_obj(t));
        rc_decref(t);
        rc_decref(name);
        rc_val_decref(big);
    }
    rc_str *k = rc_str_from_cstr(h, "items");
    rc_dict_set(d, rc_obj(k), rc_obj(l));
    rc_decref(k);
    rc_decref(l);
    k = rc_str_from_cstr(h, "path");
    rc_str *v = rc_str_from_cstr(h, "/index.html");
    rc_dict_set(d, rc_obj(k), rc_obj(v));
    rc_decref(k);
    rc_decref(v);
    node *key = new_node(h, 7);   /* hashed by its address */
    rc_dict_set(d, rc_obj(key), rc_int(42));
    rc_dict_set(d, rc_int(5), RC_NONE);
    rc_dict_del(d, rc_int(5));   /* a deleted entry in the table */
    rc_list *empty = rc_list_new(h, 16);
    rc_dict_set(d, rc_int(6), rc_obj(empty));
    rc_decref(empty);
    *key_out = key;
    rc_decref(key);
    return d;
}

static int check_request(rc_dict *d, node *key)
{
    int bad = 0;
    rc_heap *h = rc_heap_of(d);
    bad += rc_dict_len(d) != 4;
    rc_list *l = rc_as_obj(rc_dict_get_str(d, "items"));
    bad += !l || rc_heap_of(l) != h || rc_list_len(l) != 20;
    for (size_t i = 0; l && i < rc_list_len(l); i++) {
        rc_tuple *t = rc_as_obj(rc_list_get(l, i));
        bad += rc_heap_of(t) != h;
        bad += rc_as_int(rc_tuple_get(t, 0)) != (int64_t)i;
        bad += rc_as_int(rc_tuple_get(t, 1)) != INT64_MAX - (int64_t)i;
        bad += rc_heap_of(rc_as_obj(rc_tuple_get(t, 1))) != h;
        bad += rc_as_float(rc_tuple_get(t, 2)) != i / 4.0;
        rc_str *s = rc_as_obj(rc_tuple_get(t, 3));
        bad += rc_heap_of(s) != h || strcmp(rc_str_data(s), i % 2 ? "odd" : "even") != 0;
    }
    rc_str *p = rc_as_obj(rc_dict_get_str(d, "path"));
    bad += !p || strcmp(rc_str_data(p), "/index.html") != 0;
    bad += key && rc_as_int(rc_dict_get(d, rc_obj(key))) != 42;
    rc_list *e = rc_as_obj(rc_dict_get(d, rc_int(6)));
    bad += !e || rc_list_len(e) != 0 || rc_list_append(e, rc_int(1)) != 0;
    if (e) rc_list_clear(e);
    return bad;
}

/* The node key of a moved request: the dict's one node. */
static node *node_key(rc_dict *d)
{
    size_t pos = 0;
    rc_val k, v;
    while (rc_dict_next(d, &pos, &k, &v))
        if (rc_is_obj(k) && rc_typeof(rc_as_obj(k)) == &node_type) return rc_as_obj(k);
    return NULL;
}

TEST(move_the_builtins)
{
    rc_heap *src = quiet(), *dst = quiet();
    node *key;
    /* A first move of the same shape: src then keeps only the move's table. */
    rc_dict *warm = rc_move(dst, build_request(src, &key));
    REQUIRE(warm);
    rc_decref(warm);
    rc_gc_collect(dst, 2);
    size_t kept = buffer_bytes(src);
    rc_dict *d = build_request(src, &key);
    CHECK_EQ_INT(check_request(d, key), 0);
    size_t n = live_objects(src);
    rc_dict *m = rc_move(dst, d);
    REQUIRE(m);
    CHECK_EQ_INT(live_objects(src), 0);
    CHECK_EQ_INT(live_objects(dst), n);
    CHECK_EQ_INT(buffer_bytes(src), kept);   /* the lists' and dicts' buffers left with them */
    node *mk = node_key(m);
    REQUIRE(mk);
    CHECK(mk != key && mk->n == 7);
    CHECK_EQ_INT(check_request(m, mk), 0);
    CHECK_EQ_INT(rc_heap_check(dst, stderr), 0);
    CHECK_EQ_INT(rc_heap_check(src, stderr), 0);
    rc_decref(m);
    CHECK_EQ_INT(live_objects(dst), 0);
    rc_heap_free(src);
    rc_heap_free(dst);
}

TEST(move_a_lone_str_and_a_boxed_int)
{
    rc_heap *src = quiet(), *dst = quiet();
    rc_str *s = rc_str_from_cstr(src, "hello");
    rc_str *ms = rc_move(dst, s);
    REQUIRE(ms);
    CHECK(strcmp(rc_str_data(ms), "hello") == 0 && rc_str_len(ms) == 5);
    rc_val big = rc_int_new(src, INT64_MIN);
    void *mi = rc_move(dst, rc_as_obj(big));
    REQUIRE(mi);
    CHECK(rc_as_int(rc_obj(mi)) == INT64_MIN);
    CHECK_EQ_INT(live_objects(src), 0);
    rc_decref(ms);
    rc_decref(mi);
    CHECK_EQ_INT(live_objects(dst), 0);
    rc_heap_free(src);
    rc_heap_free(dst);
}

/* The heap's objects, refcounts and links as they were: nothing changed. */
static int unchanged_pair(rc_heap *src, node *a, node *b, uint32_t ra, uint32_t rb)
{
    return rc_heap_of(a) == src && a->a == b && rc_refcount(a) == ra && rc_refcount(b) == rb &&
           rc_heap_check(src, stderr) == 0;
}

TEST(move_refuses_a_second_reference_to_the_root)
{
    rc_heap *src = quiet(), *dst = quiet();
    node *a = new_node(src, 1), *b = new_node(src, 2);
    link_to(&a->a, b);
    rc_decref(b);
    rc_incref(a);   /* the caller holds two */
    CHECK(rc_move(dst, a) == NULL);
    CHECK_EQ_INT(rc_heap_error(src), RC_EINVAL);
    CHECK_EQ_INT(rc_heap_error(dst), RC_EINVAL);
    const char *msg = rc_heap_error_message(src);
    CHECK(strstr(msg, "the node at ") && strstr(msg, "(the object moved) has 2 references, 0 from "
                                                     "the graph and 1 yours: C code holds the other 1"));
    CHECK(strcmp(msg, rc_heap_error_message(dst)) == 0);
    CHECK(unchanged_pair(src, a, b, 2, 1));
    CHECK_EQ_INT(live_objects(dst), 0);
    rc_decref(a);
    node *m = rc_move(dst, a);   /* now it can */
    CHECK(m && m->a && ((node *)m->a)->n == 2);
    rc_decref(m);
    rc_heap_free(src);
    rc_heap_free(dst);
}

TEST(move_refuses_a_str_shared_with_the_outside)
{
    rc_heap *src = quiet(), *dst = quiet();
    rc_list *graph = rc_list_new(src, 0), *outside = rc_list_new(src, 0);
    rc_str *s = rc_str_from_cstr(src, "shared");
    rc_list_append(graph, rc_int(1));
    rc_list_append(graph, rc_obj(s));
    rc_list_append(outside, rc_obj(s));
    rc_decref(s);
    CHECK(rc_move(dst, graph) == NULL);
    const char *msg = rc_heap_error_message(src);
    char want[128];
    snprintf(want, sizeof want, "the str at %p is referred to from outside the graph: the list at "
             "%p holds it (item 0)", (void *)s, (void *)outside);
    CHECK(strstr(msg, want) != NULL);
    if (!strstr(msg, want)) fprintf(stderr, "  said: %s\n", msg);
    CHECK_EQ_INT(rc_refcount(s), 2);
    CHECK_EQ_INT(rc_refcount(graph), 1);
    CHECK(rc_list_len(graph) == 2 && rc_as_obj(rc_list_get(graph, 1)) == s);
    CHECK_EQ_INT(rc_heap_check(src, stderr), 0);
    CHECK_EQ_INT(live_objects(dst), 0);
    rc_decref(graph);
    rc_decref(outside);
    rc_heap_free(src);
    rc_heap_free(dst);
}

TEST(move_refuses_a_root_the_caller_does_not_own)
{
    rc_heap *src = quiet(), *dst = quiet();
    node *a = new_node(src, 1), *b = new_node(src, 2);
    link_to(&a->a, b);
    link_to(&b->a, a);
    rc_decref(a);   /* a lives on through b only; b is held by the caller */
    CHECK(rc_move(dst, a) == NULL);
    CHECK(strstr(rc_heap_error_message(src), "holds no reference of the caller's") != NULL);
    CHECK(unchanged_pair(src, a, b, 1, 2));
    rc_decref(b);
    rc_gc_collect(src, 2);
    rc_heap_free(src);
    rc_heap_free(dst);
}

static void traverse_node(void *obj, rc_visit_fn visit, void *arg)
{
    node *n = obj;
    visit(n->a, arg);
    visit(n->b, arg);
}
static void clear_node(void *obj)
{
    node *n = obj;
    void *a = n->a, *b = n->b;
    n->a = n->b = NULL;
    rc_xdecref(a);
    rc_xdecref(b);
}
static const rc_type walked_type = {
    .name = "walked", .size = sizeof(node), .traverse = traverse_node, .clear = clear_node};

/* A graph root -> child where `child` is what the test makes of it; the
 * move must be refused with `want` in the message and change nothing. */
static void refused(rc_heap *src, rc_heap *dst, node *root, const char *want, bool across)
{
    size_t ns = live_objects(src), nd = live_objects(dst);
    uint32_t r = rc_refcount(root);
    CHECK(rc_move(dst, root) == NULL);
    const char *msg = rc_heap_error_message(src);
    CHECK(strstr(msg, want) != NULL);
    if (!strstr(msg, want)) fprintf(stderr, "  said: %s\n", msg);
    CHECK_EQ_INT(rc_heap_error(src), RC_EINVAL);
    CHECK_EQ_INT(live_objects(src), ns);
    CHECK_EQ_INT(live_objects(dst), nd);
    CHECK_EQ_INT(rc_refcount(root), r);
    /* A reference across heaps (made by hand) is a problem of its own. */
    CHECK_EQ_INT(rc_heap_check(src, NULL), across ? 1 : 0);
}

TEST(move_refuses_what_it_cannot_move)
{
    rc_heap *src = quiet(), *dst = quiet(), *third = quiet();
    node *root = new_node(src, 1), *child = new_node(src, 2);
    link_to(&root->a, child);
    rc_decref(child);

    rc_weakref *w = rc_weakref_new(child, NULL, NULL);
    refused(src, dst, root, "has weak references to it", false);
    rc_decref(w);

    node *walked = rc_new(src, &walked_type);
    root->b = walked;   /* the reference rc_new gave */
    refused(src, dst, root, "has a traverse callback", false);
    root->b = NULL;
    rc_decref(walked);

    rc_gc_freeze(src);
    refused(src, dst, root, "is frozen", false);
    rc_gc_unfreeze(src);

    node *far = new_node(third, 3);
    child->b = far;   /* a reference across heaps, made by hand */
    refused(src, dst, root, "refers to an object of another heap", true);
    node *near = new_node(dst, 4);
    child->b = near;   /* into dst itself: refused too */
    refused(src, dst, root, "refers to an object of another heap", true);
    child->b = NULL;
    rc_decref(far);
    rc_decref(near);

    CHECK(rc_move(src, root) == NULL);
    CHECK(strstr(rc_heap_error_message(src), "in the destination heap already") != NULL);
    CHECK(rc_move(dst, NULL) == NULL);
    CHECK_EQ_INT(rc_heap_error(dst), RC_EINVAL);
    CHECK(rc_move(NULL, root) == NULL);
    CHECK(strstr(rc_heap_error_message(src), "dst is NULL") != NULL);

    node *m = rc_move(dst, root);   /* and after all that, it moves */
    CHECK(m && rc_heap_of(m->a) == dst);
    rc_decref(m);
    CHECK_EQ_INT(live_objects(dst), 0);
    rc_heap_free(src);
    rc_heap_free(dst);
    rc_heap_free(third);
}

static rc_heap *busy_dst;
static void *moved_in_finalizer;
static int move_error_in_finalizer;
static void moving_finalize(void *obj)
{
    node *n = obj;
    node *child = n->a;
    n->a = NULL;   /* the finalizer owns the reference now */
    moved_in_finalizer = rc_move(busy_dst, child);
    move_error_in_finalizer = rc_heap_error(rc_heap_of(obj));
    rc_decref(child);
}
static const rc_type moving_type = {
    .name = "moving", .size = sizeof(node), .nslots = 2, .finalize = moving_finalize};

TEST(move_from_a_finalizer_is_refused)
{
    rc_heap *src = quiet();
    busy_dst = quiet();
    node *a = rc_new(src, &moving_type), *b = new_node(src, 2);
    a->a = b;
    rc_decref(a);
    CHECK(moved_in_finalizer == NULL);
    CHECK_EQ_INT(move_error_in_finalizer, RC_EBUSY);
    CHECK_EQ_INT(live_objects(src), 0);
    rc_heap_free(src);
    rc_heap_free(busy_dst);
}

static int destroyed;
static void count_destroy(void *obj) { (void)obj; destroyed++; }
static int finalized;
static void count_finalize(void *obj) { (void)obj; finalized++; }
static const rc_type owning_type = {.name = "owning", .size = sizeof(node), .nslots = 2,
                                    .destroy = count_destroy, .finalize = count_finalize};

TEST(move_keeps_what_the_struct_owns)
{
    rc_heap *src = quiet(), *dst = quiet();
    node *a = rc_new(src, &owning_type);
    a->n = 99;
    destroyed = finalized = 0;
    node *m = rc_move(dst, a);
    REQUIRE(m);
    CHECK_EQ_INT(destroyed, 0);   /* the copy owns it now */
    CHECK_EQ_INT(finalized, 0);
    CHECK_EQ_INT(m->n, 99);
    rc_decref(m);
    CHECK_EQ_INT(destroyed, 1);
    CHECK_EQ_INT(finalized, 1);
    rc_heap_free(src);
    rc_heap_free(dst);
}

TEST(move_an_old_candidate)
{
    /* Old objects in the candidate buffer leave it when they move. */
    rc_heap *src = quiet(), *dst = quiet();
    node *a = new_node(src, 1), *b = new_node(src, 2);
    link_to(&a->a, b);
    link_to(&a->b, b);
    rc_decref(b);
    rc_gc_collect(src, 2);
    a->b = NULL;
    rc_decref(b);   /* b: old, count dropped, not zero: a candidate */
    CHECK_EQ_INT(rc_gc_get_candidate_count(src), 1);
    node *m = rc_move(dst, a);
    REQUIRE(m);
    CHECK_EQ_INT(rc_gc_get_candidate_count(src), 0);
    CHECK_EQ_INT(rc_heap_check(src, stderr), 0);
    CHECK_EQ_INT(rc_gc_collect(src, 2), 0);
    rc_decref(m);
    rc_heap_free(src);
    rc_heap_free(dst);
}

TEST(move_a_huge_graph_in_constant_stack)
{
    size_t n = getenv("RC_TEST_QUICK") ? 100000 : 2000000;
    rc_heap *src = quiet(), *dst = quiet();
    node *head = new_node(src, 0);
    node *tail = head;
    for (size_t i = 1; i < n; i++) {
        node *x = new_node(src, (int64_t)i);
        tail->a = x;   /* takes x's reference */
        tail = x;
    }
    link_to(&tail->b, head);   /* one cycle through everything */
    rc_list *l = rc_list_new(src, n);
    for (size_t i = 0; i < n; i++) rc_list_append(l, rc_int((int64_t)i));
    head->b = l;
    node *m = rc_move(dst, head);
    REQUIRE(m);
    CHECK_EQ_INT(live_objects(src), 0);
    CHECK_EQ_INT(live_objects(dst), n + 1);
    size_t k = 0;
    int64_t bad = 0;
    for (node *x = m; x; x = x->a, k++) bad += x->n != (int64_t)k;
    CHECK_EQ_INT(k, n);
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(rc_list_len(m->b), n);
    rc_decref(m);
    CHECK_EQ_INT(rc_gc_collect(dst, 2), n + 1);
    rc_heap_free(src);
    rc_heap_free(dst);
}

/* Out of memory at every allocation rc_move makes, in turn: each failed
 * move changes nothing in either heap; the first that gets all it needs
 * moves everything. */
TEST(move_out_of_memory_changes_nothing)
{
    rc_heap *src = fa_heap_new(), *dst = fa_heap_new();
    rc_gc_disable(src);
    rc_gc_disable(dst);
    node *key;
    rc_dict *d = build_request(src, &key);
    CHECK_EQ_INT(check_request(d, key), 0);   /* it leaves the empty list's buffer freed */
    size_t ns = live_objects(src), bs = buffer_bytes(src);
    long failures = 0;
    rc_dict *m = NULL;
    for (long n = 0; n < 100000 && !m; n++) {
        fa_arm(n);
        m = rc_move(dst, d);
        fa_disarm();
        if (m) break;
        failures++;
        CHECK_EQ_INT(rc_heap_error(src), RC_ENOMEM);
        CHECK_EQ_INT(live_objects(src), ns);
        CHECK_EQ_INT(buffer_bytes(src), bs);
        CHECK_EQ_INT(live_objects(dst), 0);
        CHECK_EQ_INT(buffer_bytes(dst), 0);
        CHECK_EQ_INT(check_request(d, key), 0);
        CHECK_EQ_INT(rc_heap_check(src, stderr), 0);
        CHECK_EQ_INT(rc_heap_check(dst, stderr), 0);
        if (rc_test_failed_) break;
    }
    REQUIRE(m);
    if (getenv("RC_TEST_VERBOSE")) fprintf(stderr, "  %ld allocations failed in turn\n", failures);
    CHECK(failures > 3);   /* the table, the blocks' pages, list and dict tables */
    CHECK_EQ_INT(live_objects(src), 0);
    CHECK_EQ_INT(check_request(m, node_key(m)), 0);
    rc_decref(m);

    /* No page for the copies: the system has no memory to map. */
    d = build_request(src, &key);
    rc_heap *fresh = fa_heap_new();
    fa_map_fails = 1;
    CHECK(rc_move(fresh, d) == NULL);
    fa_map_fails = 0;
    CHECK_EQ_INT(rc_heap_error(fresh), RC_ENOMEM);
    CHECK_EQ_INT(check_request(d, key), 0);
    CHECK_EQ_INT(live_objects(fresh), 0);
    CHECK_EQ_INT(rc_heap_check(src, stderr), 0);
    rc_decref(d);
    rc_heap_free(fresh);
    rc_heap_free(src);
    rc_heap_free(dst);
}

TEST(move_between_tracing_heaps)
{
    rc_heap *src = quiet(), *dst = quiet();
    rc_trace_start(src, 1);
    rc_trace_start(dst, 1);
    node *key;
    rc_dict *d = build_request(src, &key);
    rc_dict *m = rc_move(dst, d);
    REQUIRE(m);
    CHECK_EQ_INT(check_request(m, node_key(m)), 0);
    CHECK_EQ_INT(rc_count(src, "str"), 0);
    CHECK_EQ_INT(rc_count(dst, "str"), 23);
    rc_decref(m);
    rc_trace_stop(src);
    rc_trace_stop(dst);
    rc_heap_free(src);
    rc_heap_free(dst);
}

/* ---- graphs moved from a producer thread to a consumer thread ---- */

enum { MOVES = 200 };

static void *produce_moves(void *arg)
{
    queue *q = arg;
    rc_heap *mine = rc_heap_new(NULL);   /* where requests are parsed */
    for (int i = 0; i < MOVES; i++) {
        node *key;
        rc_dict *d = build_request(mine, &key);
        rc_dict_set(d, rc_int(100), rc_int(i));
        rc_heap *out = rc_heap_new(NULL);
        rc_dict *m = rc_move(out, d);
        if (!m) abort();
        if (rc_heap_release(out) != RC_OK) abort();
        q_put(q, m);
    }
    q_put(q, NULL);
    if (live_objects(mine) != 0) abort();
    rc_heap_free(mine);
    return NULL;
}

static void *consume_moves(void *arg)
{
    queue *q = arg;
    intptr_t bad = 0;
    for (int i = 0;; i++) {
        rc_dict *m = q_get(q);
        if (!m) {
            bad += i != MOVES;
            break;
        }
        rc_heap *h = rc_heap_of(m);
        if (rc_heap_acquire(h) != RC_OK) return (void *)(intptr_t)-1;
        bad += rc_as_int(rc_dict_get(m, rc_int(100))) != i;
        bad += rc_dict_del(m, rc_int(100)) != 0;
        bad += check_request(m, node_key(m));
        rc_decref(m);
        bad += live_objects(h) != 0;
        rc_heap_free(h);
    }
    return (void *)bad;
}

TEST(graphs_moved_from_producer_to_consumer)
{
    queue q;
    q_init(&q);
    pthread_t p, c;
    void *bad = NULL;
    REQUIRE(pthread_create(&c, NULL, consume_moves, &q) == 0);
    REQUIRE(pthread_create(&p, NULL, produce_moves, &q) == 0);
    pthread_join(p, NULL);
    pthread_join(c, &bad);
    CHECK_EQ_INT((intptr_t)bad, 0);
    q_destroy(&q);
}

static void use_after_move(void)
{
    rc_heap *src = quiet(), *dst = quiet();
    node *a = new_node(src, 1), *b = new_node(src, 2);   /* b keeps a's block from reuse */
    node *m = rc_move(dst, a);
    (void)m;
    (void)b;
    rc_incref(a);   /* the old address: freed by the move */
}

TEST(old_address_is_freed_by_the_move)
{
    CHECK(dies_saying(use_after_move, "use of a freed object of type 'node'"));
}

RC_TEST_MAIN
