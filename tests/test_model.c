/*
 * test_model.c -- the collector against a plain reachability model.
 *
 * Each seed builds a random graph of objects (slot types and callback types,
 * old and young, some with finalizers that do nothing), holds and drops
 * references at random, rewires edges and collects at random, with automatic
 * collection on at small thresholds. A model of the graph is kept beside it.
 * After every step:
 *   - an object may only have been freed if the model says it is unreachable
 *     from the objects the test holds (the destroy hook checks this);
 *   - every live object's refcount equals the test's own references plus the
 *     edges pointing at it from live objects, and its contents are intact.
 * After every full collection, exactly the unreachable objects are gone.
 *
 * Usage: test_model [first_seed [count]]   (any failing seed reproduces alone)
 */
#include "recycle.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXOBJ 160
#define NSLOTS 3

typedef struct mnode {
    void *slot[NSLOTS];
    int id;
    unsigned check;
} mnode;

typedef struct model {
    int alive[MAXOBJ];         /* 1 until the library destroys it */
    int held[MAXOBJ];          /* references the test owns */
    int edge[MAXOBJ][NSLOTS];  /* -1 or target id */
    mnode *ptr[MAXOBJ];
    int n;
} model;

static model M;
static int failures;
static unsigned long long rng;
static unsigned long long seed_now;

static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

#define FAIL(...)                                                              \
    do {                                                                       \
        fprintf(stderr, "seed %llu: ", seed_now);                              \
        fprintf(stderr, __VA_ARGS__);                                          \
        fputc('\n', stderr);                                                   \
        failures++;                                                            \
    } while (0)

static void reach(int *seen)
{
    int stack[MAXOBJ], sp = 0;
    memset(seen, 0, sizeof(int) * MAXOBJ);
    for (int i = 0; i < M.n; i++)
        if (M.alive[i] && M.held[i] > 0 && !seen[i]) seen[i] = 1, stack[sp++] = i;
    while (sp) {
        int x = stack[--sp];
        for (int k = 0; k < NSLOTS; k++) {
            int y = M.edge[x][k];
            if (y >= 0 && !seen[y]) seen[y] = 1, stack[sp++] = y;
        }
    }
}

static void on_destroy(void *obj)
{
    mnode *n = obj;
    int seen[MAXOBJ];
    reach(seen);
    if (n->id < 0 || n->id >= M.n || !M.alive[n->id]) {
        FAIL("destroy of unknown or dead object %d", n->id);
        return;
    }
    if (seen[n->id]) FAIL("object %d freed while reachable", n->id);
    if (n->check != (unsigned)n->id * 2654435761u) FAIL("object %d corrupted before destroy", n->id);
    M.alive[n->id] = 0;
    for (int k = 0; k < NSLOTS; k++) M.edge[n->id][k] = -1;
}

static void cb_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    mnode *n = obj;
    for (int k = 0; k < NSLOTS; k++) visit(n->slot[k], arg);
}
static void cb_clear(void *obj)
{
    mnode *n = obj;
    for (int k = 0; k < NSLOTS; k++) {
        void *c = n->slot[k];
        n->slot[k] = NULL;
        if (c) rc_decref(c);
    }
}
static void fin_nothing(void *obj) { (void)obj; }

static const rc_type types[3] = {
    {.name = "mslots", .size = sizeof(mnode), .nslots = NSLOTS, .destroy = on_destroy},
    {.name = "mcb", .size = sizeof(mnode), .traverse = cb_traverse, .clear = cb_clear,
     .destroy = on_destroy},
    {.name = "mfin", .size = sizeof(mnode), .nslots = NSLOTS, .finalize = fin_nothing,
     .destroy = on_destroy},
};

static void check_all(rc_heap *h, int after_full)
{
    int seen[MAXOBJ], in[MAXOBJ] = {0};
    reach(seen);
    for (int i = 0; i < M.n; i++)
        if (M.alive[i])
            for (int k = 0; k < NSLOTS; k++)
                if (M.edge[i][k] >= 0) in[M.edge[i][k]]++;
    size_t alive = 0;
    for (int i = 0; i < M.n; i++) {
        if (!M.alive[i]) continue;
        alive++;
        mnode *p = M.ptr[i];
        if (after_full && !seen[i]) FAIL("object %d unreachable but alive after full collection", i);
        if (rc_refcount(p) != (uint32_t)(M.held[i] + in[i]))
            FAIL("object %d refcount %u, model %d", i, rc_refcount(p), M.held[i] + in[i]);
        if (p->id != i || p->check != (unsigned)i * 2654435761u) FAIL("object %d contents changed", i);
        for (int k = 0; k < NSLOTS; k++) {
            mnode *t = p->slot[k];
            int want = M.edge[i][k];
            if ((want < 0 && t) || (want >= 0 && t != M.ptr[want]))
                FAIL("object %d slot %d wrong", i, k);
        }
    }
    rc_heap_stats st;
    rc_heap_stats_get(h, &st);
    if (st.objects != alive) FAIL("heap has %zu objects, model %zu", st.objects, alive);
}

static void run_seed(unsigned long long seed, int steps)
{
    seed_now = seed;
    rng = seed * 0x9E3779B97F4A7C15ULL + 1;
    memset(&M, 0, sizeof M);
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.threshold[0] = 1 + rnd(40);
    cfg.threshold[1] = 1 + rnd(5);
    cfg.threshold[2] = 1 + rnd(5);
    cfg.candidate_limit = 1 + rnd(20);
    rc_heap *h = rc_heap_new(&cfg);
    if (rnd(4) == 0) rc_disable(h);

    for (int step = 0; step < steps && failures == 0; step++) {
        unsigned op = rnd(100);
        if (op < 25 && M.n < MAXOBJ) {
            int i = M.n;
            mnode *p = rc_new(h, &types[rnd(3)]);
            M.n++;   /* count it before anything can destroy it */
            p->id = i;
            p->check = (unsigned)i * 2654435761u;
            M.ptr[i] = p;
            M.alive[i] = 1;
            M.held[i] = 1;
            for (int k = 0; k < NSLOTS; k++) M.edge[i][k] = -1;
        } else if (op < 55 && M.n) {
            /* rewire: a live object's slot gets another live object or NULL */
            int a = rnd(M.n), b = rnd(M.n), k = rnd(NSLOTS);
            if (!M.alive[a] || (!M.held[a] && rnd(2))) continue;
            int seen[MAXOBJ];
            reach(seen);
            if (!seen[a]) continue;   /* the program cannot reach it anymore */
            void *nv = NULL;
            int target = -1;
            if (rnd(4) && M.alive[b] && seen[b]) {
                nv = M.ptr[b];
                target = b;
            }
            mnode *p = M.ptr[a];
            void *old = p->slot[k];
            if (nv) rc_incref(nv);
            p->slot[k] = nv;
            M.edge[a][k] = target;
            if (old) rc_decref(old);
        } else if (op < 75 && M.n) {
            int a = rnd(M.n);
            if (M.alive[a] && M.held[a] > 0) {
                M.held[a]--;
                rc_decref(M.ptr[a]);
            }
        } else if (op < 85 && M.n) {
            int a = rnd(M.n), seen[MAXOBJ];
            reach(seen);
            if (M.alive[a] && seen[a]) {
                M.held[a]++;
                rc_incref(M.ptr[a]);
            }
        } else {
            int g = rnd(3);
            rc_collect(h, g);
            check_all(h, g == 2);
            continue;
        }
        check_all(h, 0);
    }
    /* drop everything; a full collection must leave nothing */
    for (int i = 0; i < M.n; i++)
        while (M.alive[i] && M.held[i] > 0) {
            M.held[i]--;
            rc_decref(M.ptr[i]);
        }
    rc_collect(h, 2);
    check_all(h, 1);
    rc_heap_free(h);
}

int main(int argc, char **argv)
{
    unsigned long long first = argc > 1 ? strtoull(argv[1], NULL, 10) : 1;
    unsigned long long count = argc > 2 ? strtoull(argv[2], NULL, 10)
                               : getenv("RC_TEST_QUICK") ? 200 : 3000;
    int passed = 0, failed = 0;
    for (unsigned long long s = first; s < first + count; s++) {
        failures = 0;
        run_seed(s, 400);
        if (failures) {
            failed++;
            fprintf(stderr, "seed %llu failed: rerun with `test_model %llu 1`\n", s, s);
        } else {
            passed++;
        }
    }
    printf("model seeds %llu..%llu\n", first, first + count - 1);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
