/* test_threads_model.c -- threads against a sequential model: K threads
 * (more than the machine's cores), each holding a heap, make random nodes,
 * link and drop them, collect (thresholds low, so collections also run on
 * their own), and move graphs to each other: rc_move into a fresh heap,
 * rc_heap_release, the program's queue, rc_heap_acquire on the receiving
 * thread, rc_move into its heap. Each thread keeps the model of the nodes
 * it holds (edges by node id, in arrays indexed by id: a node's entries are
 * written only by the thread that holds it, and the queue hands them over
 * with the heap). The model predicts every rc_move: it succeeds iff the
 * graph is isolated. After every full collection, and after the join,
 * the heap's live objects are exactly the model's reachable nodes, with
 * the model's edges. Runs under ThreadSanitizer (`make tsan`) and ASan.
 * RC_TEST_QUICK=1: fewer operations. */
#include "harness.h"
#include "recycle.h"
#include "recycle/gc.h"
#include "testutil.h"

#include <pthread.h>
#include <unistd.h>

enum { MAXK = 16, ROOTS = 12, PER = 1 << 16 };
static int K;   /* threads: twice the cores plus one, at least 6, at most MAXK */

typedef struct node { void *a, *b; int64_t id; } node;
static const rc_type node_type = {.name = "node", .size = sizeof(node), .nslots = 2};

/* The model: edges by id (0: none). Entries of a node belong to its holder. */
static int32_t model_a[MAXK * PER], model_b[MAXK * PER];
static uint32_t stamp[MAXK * PER];

typedef struct msg { rc_heap *heap; node *root; struct msg *next; } msg;

typedef struct worker {
    int t;
    unsigned seed;
    long ops;
    rc_heap *h;
    node *root[ROOTS];
    int32_t next_id;
    uint32_t epoch;
    /* inbox */
    pthread_mutex_t mu;
    msg *in;
    /* what went wrong (0: nothing), and counts */
    int bad;
    char why[200];
    long moves_ok, moves_refused, received;
} worker;

static worker workers[MAXK];
static pthread_barrier_t done_ops;

static unsigned rnd(worker *w, unsigned n)
{
    w->seed = w->seed * 1103515245u + 12345u;
    return (w->seed >> 8) % n;
}

static int32_t id_of(const void *p) { return p ? (int32_t)((const node *)p)->id : 0; }

static void fail(worker *w, const char *why, long a, long b)
{
    if (w->bad++) return;
    snprintf(w->why, sizeof w->why, "thread %d: %s (%ld, %ld)", w->t, why, a, b);
}

/* ---- the model's reachable set ---- */

/* Marks (stamp = epoch) and counts the nodes reachable from x. */
static size_t mark_from(worker *w, int32_t x, int32_t *stack)
{
    size_t n = 0, sp = 0;
    if (!x || stamp[x] == w->epoch) return 0;
    stamp[x] = w->epoch;
    stack[sp++] = x;
    while (sp) {
        int32_t v = stack[--sp];
        n++;
        int32_t e[2] = {model_a[v], model_b[v]};
        for (int k = 0; k < 2; k++)
            if (e[k] && stamp[e[k]] != w->epoch) {
                stamp[e[k]] = w->epoch;
                stack[sp++] = e[k];
            }
    }
    return n;
}

static size_t reachable(worker *w, int32_t *stack)
{
    w->epoch++;
    size_t n = 0;
    for (int r = 0; r < ROOTS; r++) n += mark_from(w, id_of(w->root[r]), stack);
    return n;
}

/* The heap after a full collection: exactly the model's reachable nodes,
 * each with the model's edges. */
static void check_heap(worker *w, int32_t *stack)
{
    rc_gc_collect(w->h, 2);
    size_t want = reachable(w, stack);
    size_t live = live_objects(w->h);
    if (live != want) fail(w, "live objects differ from the model's reachable nodes", (long)live, (long)want);
    /* Walk the real graph; compare each node with the model. */
    w->epoch++;
    size_t sp = 0;
    void **todo = (void **)stack;   /* stack is big enough for pointers too */
    for (int r = 0; r < ROOTS; r++)
        if (w->root[r] && stamp[id_of(w->root[r])] != w->epoch) {
            stamp[id_of(w->root[r])] = w->epoch;
            todo[sp++] = w->root[r];
        }
    while (sp) {
        node *x = todo[--sp];
        int32_t id = id_of(x);
        if (model_a[id] != id_of(x->a) || model_b[id] != id_of(x->b))
            fail(w, "a node's edges differ from the model", id, model_a[id]);
        void *e[2] = {x->a, x->b};
        for (int k = 0; k < 2; k++)
            if (e[k] && stamp[id_of(e[k])] != w->epoch) {
                stamp[id_of(e[k])] = w->epoch;
                todo[sp++] = e[k];
            }
    }
}

/* ---- operations ---- */

static void set_root(worker *w, int r, node *x)
{
    if (w->root[r]) rc_decref(w->root[r]);
    w->root[r] = x;
}

static void op_new(worker *w)
{
    if (w->next_id == PER) return;
    node *x = rc_new(w->h, &node_type);
    if (!x) {
        fail(w, "rc_new failed", rc_heap_error(w->h), 0);
        return;
    }
    x->id = (int64_t)w->t * PER + w->next_id++;
    model_a[x->id] = model_b[x->id] = 0;
    node *y = w->root[rnd(w, ROOTS)];
    if (y && rnd(w, 2)) {
        rc_incref(y);
        x->a = y;
        model_a[x->id] = id_of(y);
    }
    set_root(w, rnd(w, ROOTS), x);
}

/* A node a few random steps from a root (NULL when the walk finds none). */
static node *pick(worker *w)
{
    node *x = w->root[rnd(w, ROOTS)];
    for (unsigned s = rnd(w, 4); x && s > 0; s--) {
        node *next = rnd(w, 2) ? x->a : x->b;
        if (!next) break;
        x = next;
    }
    return x;
}

static void op_link(worker *w)
{
    node *x = pick(w), *y = rnd(w, 5) ? pick(w) : NULL;
    if (!x) return;
    void **slot = rnd(w, 2) ? &x->a : &x->b;
    int32_t *m = slot == &x->a ? &model_a[x->id] : &model_b[x->id];
    if (y) rc_incref(y);
    void *old = *slot;
    *slot = y;
    *m = id_of(y);
    if (old) rc_decref(old);
}

static void op_drop(worker *w) { set_root(w, rnd(w, ROOTS), NULL); }

/* Whether the model says root r's graph is isolated: no other root slot
 * holds one of its nodes, and no other live node refers to one. The heap
 * has just been fully collected: the live nodes are the reachable ones. */
static bool isolated(worker *w, int r, int32_t *stack)
{
    int32_t *live = stack + (size_t)MAXK * PER;   /* the second half */
    size_t n = 0;
    w->epoch++;
    for (int q = 0; q < ROOTS; q++) {
        size_t from = n;
        int32_t v = id_of(w->root[q]);
        if (v && stamp[v] != w->epoch) {
            stamp[v] = w->epoch;
            live[n++] = v;
        }
        for (size_t i = from; i < n; i++) {   /* breadth first, appending */
            int32_t e[2] = {model_a[live[i]], model_b[live[i]]};
            for (int k = 0; k < 2; k++)
                if (e[k] && stamp[e[k]] != w->epoch) {
                    stamp[e[k]] = w->epoch;
                    live[n++] = e[k];
                }
        }
    }
    w->epoch++;
    mark_from(w, id_of(w->root[r]), stack);   /* members: stamp == epoch */
    uint32_t mem = w->epoch;
    for (int q = 0; q < ROOTS; q++)
        if (q != r && w->root[q] && stamp[id_of(w->root[q])] == mem) return false;
    for (size_t i = 0; i < n; i++) {
        int32_t v = live[i];
        if (stamp[v] == mem) continue;
        if ((model_a[v] && stamp[model_a[v]] == mem) || (model_b[v] && stamp[model_b[v]] == mem))
            return false;
    }
    return true;
}

static void op_move(worker *w, int32_t *stack)
{
    int r = (int)rnd(w, ROOTS);
    node *x = w->root[r];
    if (!x) return;
    check_heap(w, stack);
    if (w->bad) return;
    bool want = isolated(w, r, stack);
    rc_heap *out = rc_heap_new(NULL);
    size_t before = live_objects(w->h);
    node *m = rc_move(out, x);
    if (!m) {
        w->moves_refused++;
        if (want) fail(w, "rc_move refused an isolated graph", id_of(x), rc_heap_error(w->h));
        if (live_objects(w->h) != before) fail(w, "a refused rc_move changed the heap", 0, 0);
        rc_heap_free(out);
        return;
    }
    w->moves_ok++;
    if (!want) fail(w, "rc_move moved a graph held from outside", id_of(x), 0);
    w->root[r] = NULL;   /* the reference went with the graph */
    if (rc_heap_release(out) != RC_OK) fail(w, "rc_heap_release failed", 0, 0);
    worker *to = &workers[rnd(w, K)];
    msg *g = malloc(sizeof *g);
    if (!g) abort();
    *g = (msg){out, m, NULL};
    pthread_mutex_lock(&to->mu);
    g->next = to->in;
    to->in = g;
    pthread_mutex_unlock(&to->mu);
}

/* Takes every graph sent to w into its heap. */
static void receive(worker *w)
{
    pthread_mutex_lock(&w->mu);
    msg *g = w->in;
    w->in = NULL;
    pthread_mutex_unlock(&w->mu);
    while (g) {
        msg *next = g->next;
        if (rc_heap_acquire(g->heap) != RC_OK) fail(w, "rc_heap_acquire failed", 0, 0);
        node *m = rc_move(w->h, g->root);
        if (!m) {
            fail(w, "a received graph did not move", id_of(g->root), rc_heap_error(w->h));
        } else {
            if (live_objects(g->heap) != 0) fail(w, "the carrier heap kept objects", 0, 0);
            set_root(w, rnd(w, ROOTS), m);
            w->received++;
        }
        rc_heap_free(g->heap);
        free(g);
        g = next;
    }
}

static void *run(void *arg)
{
    worker *w = arg;
    int32_t *stack = malloc(sizeof(void *) * (size_t)MAXK * PER);   /* ids: two halves */
    if (!stack) abort();
    rc_heap_config cfg;
    rc_heap_config_init(&cfg);
    cfg.threshold[0] = 50;
    cfg.threshold[1] = 3;
    cfg.threshold[2] = 3;
    w->h = rc_heap_new(&cfg);
    w->next_id = 1;
    for (long i = 0; i < w->ops && !w->bad; i++) {
        unsigned op = rnd(w, 100);
        if (op < 35) op_new(w);
        else if (op < 65) op_link(w);
        else if (op < 80) op_drop(w);
        else if (op < 88) rc_gc_collect(w->h, (int)rnd(w, 3));
        else if (op < 96) op_move(w, stack);
        else receive(w);
        if (i % 97 == 0 && !w->bad) check_heap(w, stack);
    }
    pthread_barrier_wait(&done_ops);   /* every graph is sent */
    receive(w);
    check_heap(w, stack);
    for (int r = 0; r < ROOTS; r++) set_root(w, r, NULL);
    rc_gc_collect(w->h, 2);
    if (live_objects(w->h) != 0) fail(w, "objects left after every root was dropped",
                                      (long)live_objects(w->h), 0);
    rc_heap_free(w->h);
    free(stack);
    return NULL;
}

TEST(threads_against_a_sequential_model)
{
    long ops = getenv("RC_TEST_QUICK") ? 300 : 3000;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    K = cores > 0 && 2 * cores + 1 < MAXK ? (int)(2 * cores + 1) : MAXK;
    if (K < 6) K = 6;
    pthread_t th[MAXK];
    REQUIRE(pthread_barrier_init(&done_ops, NULL, K) == 0);
    for (int t = 0; t < K; t++) {
        workers[t] = (worker){.t = t, .seed = 7919u * (unsigned)(t + 1), .ops = ops};
        pthread_mutex_init(&workers[t].mu, NULL);
    }
    for (int t = 0; t < K; t++) REQUIRE(pthread_create(&th[t], NULL, run, &workers[t]) == 0);
    long ok = 0, refused = 0, received = 0;
    for (int t = 0; t < K; t++) {
        pthread_join(th[t], NULL);
        worker *w = &workers[t];
        if (w->bad) fprintf(stderr, "  %s (%d problems)\n", w->why, w->bad);
        CHECK_EQ_INT(w->bad, 0);
        ok += w->moves_ok;
        refused += w->moves_refused;
        received += w->received;
        pthread_mutex_destroy(&w->mu);
    }
    pthread_barrier_destroy(&done_ops);
    if (getenv("RC_TEST_VERBOSE"))
        fprintf(stderr, "  %ld moves, %ld refused, %ld received\n", ok, refused, received);
    CHECK(ok > 0 && refused > 0);
    CHECK_EQ_INT(received, ok);
}

RC_TEST_MAIN
