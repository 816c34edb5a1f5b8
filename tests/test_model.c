/*
 * test_model.c -- the collector against a plain reachability model.
 *
 * Each seed builds a random graph of objects -- slot types and callback types,
 * old and young; finalizers that do nothing, resurrect their object once or
 * unlink a slot; built-in lists whose items are the edges -- holds and drops
 * references at random, rewires edges, makes and drops weak references
 * (callbacks that do nothing, drop a reference the test holds, or make
 * another weak reference), reads them back, freezes and unfreezes, and
 * collects at random with automatic collection on at small thresholds. A
 * model of the graph is kept beside it. After every step:
 *   - an object may only have been freed if the model says it is unreachable
 *     from the objects the test holds (destroy hooks, and the heap's tracked
 *     objects for lists);
 *   - every live object's refcount equals the test's own references plus the
 *     edges pointing at it from live objects, and its contents are intact;
 *   - a weak reference is cleared once its referent died, and while it lives
 *     only if the referent was unreachable when some collection started
 *     (CPython clears weak references to garbage before finalizers run);
 *     callbacks run once, after the clearing;
 *   - the heap counts exactly the model's live objects.
 * After every full collection that no callback disturbed, exactly the
 * objects unreachable from held and frozen objects are gone. One seed in
 * sixteen grows to 1000 objects (1200 steps).
 *
 * Usage: test_model [first_seed [count]]   (any failing seed reproduces alone)
 * RC_TEST_QUICK=1 runs fewer seeds (valgrind).
 */
#include "recycle.h"
#include "recycle/builtins.h"
#include "recycle/gc.h"
#include "recycle/weakref.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seeded.h"

#define MAXOBJ 1000
#define MAXW 64
#define NSLOTS 3

typedef struct mnode {
    void *slot[NSLOTS];
    int id;
    unsigned check;
} mnode;

enum { T_SLOTS, T_CB, T_FIN, T_RES, T_UNLINK, T_LIST, NTYPES };

typedef struct model {
    int alive[MAXOBJ];         /* 1 until the library frees it */
    int held[MAXOBJ];          /* references the test owns */
    int edge[MAXOBJ][NSLOTS];  /* -1 or target id */
    int type[MAXOBJ];
    int finalized[MAXOBJ];
    int frozen[MAXOBJ];
    int was_garbage[MAXOBJ];   /* unreachable when some collection started */
    void *ptr[MAXOBJ];
    int n, max;
    /* weak references the test holds */
    rc_weakref *w[MAXW];
    int wtarget[MAXW], wcb[MAXW], wran[MAXW], wheld[MAXW], wcleared[MAXW];
    int nw;
    int in_gc, dirty;
} model;

static model M;
static rc_heap *H;

/* Reachable from what the test holds (and frozen objects, when asked). */
static void reach(int *seen, int with_frozen)
{
    static int stack[MAXOBJ];
    int sp = 0;
    memset(seen, 0, sizeof(int) * MAXOBJ);
    for (int i = 0; i < M.n; i++)
        if (M.alive[i] && (M.held[i] > 0 || (with_frozen && M.frozen[i])) && !seen[i])
            seen[i] = 1, stack[sp++] = i;
    while (sp) {
        int x = stack[--sp];
        for (int k = 0; k < NSLOTS; k++) {
            int y = M.edge[x][k];
            if (y >= 0 && !seen[y]) seen[y] = 1, stack[sp++] = y;
        }
    }
}

static void died(int id, const char *how)
{
    static int seen[MAXOBJ];
    reach(seen, 0);
    if (seen[id]) FAIL("object %d freed while reachable (%s)", id, how);
    M.alive[id] = 0;
    for (int k = 0; k < NSLOTS; k++) M.edge[id][k] = -1;
}

static void on_destroy(void *obj)
{
    mnode *n = obj;
    if (n->id < 0 || n->id >= M.n || !M.alive[n->id]) {
        FAIL("destroy of unknown or dead object %d", n->id);
        return;
    }
    if (n->check != (unsigned)n->id * 2654435761u) FAIL("object %d corrupted before destroy", n->id);
    died(n->id, "destroy");
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
static void fin_check(mnode *n)
{
    int i = n->id;
    if (M.finalized[i]++) FAIL("object %d finalized twice", i);
    for (int k = 0; k < NSLOTS; k++) {
        int want = M.edge[i][k];
        if ((want < 0 && n->slot[k]) || (want >= 0 && n->slot[k] != M.ptr[want]))
            FAIL("finalizer of %d sees slot %d cleared or changed", i, k);
    }
}
static void fin_nothing(void *obj) { fin_check(obj); }
static void fin_resurrect(void *obj)
{
    mnode *n = obj;
    fin_check(n);
    M.held[n->id]++;
    rc_incref(obj);
}
static void fin_unlink(void *obj)
{
    mnode *n = obj;
    fin_check(n);
    int k = n->id % NSLOTS;
    void *old = n->slot[k];
    n->slot[k] = NULL;
    M.edge[n->id][k] = -1;
    if (old) rc_decref(old);
}

static const rc_type types[T_LIST] = {
    {.name = "mslots", .size = sizeof(mnode), .nslots = NSLOTS, .destroy = on_destroy},
    {.name = "mcb", .size = sizeof(mnode), .traverse = cb_traverse, .clear = cb_clear,
     .destroy = on_destroy},
    {.name = "mfin", .size = sizeof(mnode), .nslots = NSLOTS, .finalize = fin_nothing,
     .destroy = on_destroy},
    {.name = "mres", .size = sizeof(mnode), .traverse = cb_traverse, .clear = cb_clear,
     .finalize = fin_resurrect, .destroy = on_destroy},
    {.name = "munlink", .size = sizeof(mnode), .nslots = NSLOTS, .finalize = fin_unlink,
     .destroy = on_destroy},
};

static void *slot_get(int i, int k)
{
    if (M.type[i] == T_LIST) return rc_as_obj(rc_list_get(M.ptr[i], k));
    return ((mnode *)M.ptr[i])->slot[k];
}

static void slot_set(int i, int k, int target)
{
    void *nv = target >= 0 ? M.ptr[target] : NULL;
    M.edge[i][k] = target;
    if (M.type[i] == T_LIST) {
        rc_list_set(M.ptr[i], k, rc_obj(nv));
        return;
    }
    mnode *p = M.ptr[i];
    void *old = p->slot[k];
    if (nv) rc_incref(nv);
    p->slot[k] = nv;
    if (old) rc_decref(old);
}

/* ---- weak references ---- */

static int find_w(rc_weakref *w)
{
    for (int k = 0; k < M.nw; k++)
        if (M.w[k] == w && M.wheld[k]) return k;
    return -1;
}

static void make_weak(int target, int cb);

/* The slot of the weak reference rc_weakref_new is making, -1 when none:
 * its callback may run before the call returns (when a collection the call
 * ran let go of the referent's last reference, it dies as the call ends). */
static int making_w = -1;

static void weak_cb(rc_weakref *w, void *data)
{
    (void)data;
    int k = find_w(w);
    if (k < 0 && making_w >= 0 && M.w[making_w] == NULL) {
        k = making_w;
        M.w[k] = w;
    }
    if (k < 0) {
        FAIL("callback of a weak reference the test does not hold");
        return;
    }
    if (M.wran[k]++) FAIL("callback of weak reference %d ran twice", k);
    if (rc_weakref_alive(w)) FAIL("callback of weak reference %d before its clearing", k);
    if (M.wcb[k] == 2) {   /* drop a reference the test holds */
        for (int i = M.n - 1; i >= 0; i--)
            if (M.alive[i] && M.held[i] > 0) {
                M.held[i]--;
                if (M.in_gc) M.dirty = 1;
                rc_decref(M.ptr[i]);
                break;
            }
    } else if (M.wcb[k] == 3) {   /* another weak reference, to something held */
        for (int i = M.n - 1; i >= 0; i--)
            if (M.alive[i] && M.held[i] > 0) {
                make_weak(i, 1);
                break;
            }
    }
}

static void make_weak(int target, int cb)
{
    if (M.nw >= MAXW) return;
    int k = M.nw++, outer = making_w;
    M.w[k] = NULL;
    M.wtarget[k] = target;
    M.wcb[k] = cb;
    M.wran[k] = M.wcleared[k] = 0;
    M.wheld[k] = 1;
    making_w = k;
    rc_weakref *w = rc_weakref_new(M.ptr[target], cb ? weak_cb : NULL, NULL);
    making_w = outer;
    if (!w) {
        FAIL("rc_weakref_new: %s", rc_heap_error_message(H));
        M.wheld[k] = 0;
        return;
    }
    M.w[k] = w;
}

static void gc_cb(rc_heap *h, int phase, const rc_gc_info *info, void *ud)
{
    (void)h; (void)info; (void)ud;
    M.in_gc = phase == RC_GC_START;
    if (phase != RC_GC_START) return;
    static int seen[MAXOBJ];
    reach(seen, 0);
    for (int i = 0; i < M.n; i++)
        if (M.alive[i] && !seen[i]) M.was_garbage[i] = 1;
}

/* ---- checks ---- */

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

/* Lists have no destroy hook: learn their deaths from the tracked objects. */
static void learn_list_deaths(void)
{
    rc_list *all = rc_gc_get_objects(H, -1);
    if (!all) {
        FAIL("rc_gc_get_objects: %s", rc_heap_error_message(H));
        return;
    }
    size_t n;
    const rc_val *it = rc_list_items(all, &n);
    uintptr_t *ps = malloc((n + 1) * sizeof *ps);
    for (size_t k = 0; k < n; k++) ps[k] = (uintptr_t)rc_as_obj(it[k]);
    rc_decref(all);
    qsort(ps, n, sizeof *ps, cmp_ptr);
    for (int i = 0; i < M.n; i++) {
        if (!M.alive[i] || M.type[i] != T_LIST) continue;
        uintptr_t p = (uintptr_t)M.ptr[i];
        if (!bsearch(&p, ps, n, sizeof *ps, cmp_ptr)) died(i, "list");
    }
    free(ps);
}

static void check_all(int after_full)
{
    static int seen[MAXOBJ], in[MAXOBJ];
    learn_list_deaths();
    reach(seen, 1);
    memset(in, 0, sizeof in);
    for (int i = 0; i < M.n; i++)
        if (M.alive[i])
            for (int k = 0; k < NSLOTS; k++)
                if (M.edge[i][k] >= 0) in[M.edge[i][k]]++;
    size_t alive = 0;
    for (int i = 0; i < M.n; i++) {
        if (!M.alive[i]) continue;
        alive++;
        void *p = M.ptr[i];
        if (after_full && !M.dirty && !seen[i])
            FAIL("object %d unreachable but alive after full collection", i);
        if (rc_refcount(p) != (uint32_t)(M.held[i] + in[i]))
            FAIL("object %d refcount %u, model %d", i, rc_refcount(p), M.held[i] + in[i]);
        if (M.type[i] != T_LIST) {
            mnode *n = p;
            if (n->id != i || n->check != (unsigned)i * 2654435761u) FAIL("object %d contents changed", i);
        } else if (rc_list_len(p) != NSLOTS) {
            FAIL("list %d length changed", i);
        }
        for (int k = 0; k < NSLOTS; k++) {
            void *t = slot_get(i, k);
            int want = M.edge[i][k];
            if ((want < 0 && t) || (want >= 0 && t != M.ptr[want])) FAIL("object %d slot %d wrong", i, k);
        }
    }
    for (int k = 0; k < M.nw; k++) {
        if (!M.wheld[k]) continue;
        alive++;
        int t = M.wtarget[k], a = rc_weakref_alive(M.w[k]);
        if (a && (!M.alive[t] || M.wcleared[k])) FAIL("weak reference %d alive, referent %d dead or cleared before", k, t);
        if (!a && !M.wcleared[k]) {
            if (M.alive[t] && !M.was_garbage[t]) FAIL("weak reference %d cleared, referent %d alive and never garbage", k, t);
            if (M.wcb[k] && !M.wran[k]) FAIL("weak reference %d cleared without its callback", k);
            M.wcleared[k] = 1;
        }
    }
    rc_heap_stats st;
    rc_heap_get_stats(H, &st);
    if (st.objects != alive) FAIL("heap has %zu objects, model %zu", st.objects, alive);
    M.dirty = 0;
}

/* ---- one seed ---- */

static void new_object(void)
{
    int i = M.n, t = rnd(NTYPES);
    void *p;
    if (t == T_LIST) {
        rc_val none[NSLOTS] = {RC_NONE, RC_NONE, RC_NONE};
        rc_list *l = rc_list_new(H, NSLOTS);
        for (int k = 0; k < NSLOTS; k++) rc_list_append(l, none[k]);
        p = l;
    } else {
        p = rc_new(H, &types[t]);
    }
    /* a block reused at once proves its last object died */
    for (int j = 0; j < M.n; j++)
        if (M.alive[j] && M.ptr[j] == p) died(j, "block reused");
    M.n++;   /* count it before anything can destroy it */
    M.type[i] = t;
    M.ptr[i] = p;
    M.alive[i] = 1;
    M.held[i] = 1;
    M.finalized[i] = M.frozen[i] = M.was_garbage[i] = 0;
    for (int k = 0; k < NSLOTS; k++) M.edge[i][k] = -1;
    if (t != T_LIST) {
        mnode *n = p;
        n->id = i;
        n->check = (unsigned)i * 2654435761u;
    }
}

static int live_count_nonzero(void)
{
    rc_heap_stats st;
    rc_heap_get_stats(H, &st);
    return st.objects != 0;
}

static void run_seed(unsigned long long seed, int steps)
{
    seed_now = seed;
    rng = seed * 0x9E3779B97F4A7C15ULL + 1;
    memset(&M, 0, sizeof M);
    M.max = seed % 16 == 0 ? MAXOBJ : 160;
    if (M.max == MAXOBJ) steps *= 3;
    rc_heap_config cfg;
    rc_heap_config_init(&cfg);
    cfg.threshold[0] = 1 + rnd(40);
    cfg.threshold[1] = 1 + rnd(5);
    cfg.threshold[2] = 1 + rnd(5);
    cfg.candidate_limit = 1 + rnd(20);
    H = rc_heap_new(&cfg);
    rc_gc_callback_add(H, gc_cb, NULL);
    if (rnd(4) == 0) rc_gc_disable(H);
    static int seen[MAXOBJ];

    for (int step = 0; step < steps && failures == 0; step++) {
        unsigned op = rnd(100);
        if (op < 25 && M.n < M.max) {
            new_object();
        } else if (op < 50 && M.n) {
            /* rewire: a live object's slot gets another live object or NULL */
            int a = rnd(M.n), b = rnd(M.n), k = rnd(NSLOTS);
            if (!M.alive[a] || (!M.held[a] && rnd(2))) continue;
            reach(seen, 0);
            if (!seen[a]) continue;   /* the program cannot reach it anymore */
            slot_set(a, k, rnd(4) && M.alive[b] && seen[b] ? b : -1);
        } else if (op < 68 && M.n) {
            int a = rnd(M.n);
            if (M.alive[a] && M.held[a] > 0) {
                M.held[a]--;
                rc_decref(M.ptr[a]);
            }
        } else if (op < 76 && M.n) {
            int a = rnd(M.n);
            reach(seen, 0);
            if (M.alive[a] && seen[a]) {
                M.held[a]++;
                rc_incref(M.ptr[a]);
            }
        } else if (op < 82 && M.n) {
            int a = rnd(M.n);
            reach(seen, 0);
            if (M.alive[a] && seen[a]) make_weak(a, rnd(4));
        } else if (op < 86 && M.nw) {
            int k = rnd(M.nw);
            if (!M.wheld[k]) continue;
            if (rnd(2)) {   /* read it back: maybe revives unreachable garbage */
                void *p = rc_weakref_get(M.w[k]);
                if (p) {
                    int t = M.wtarget[k];
                    if (!M.alive[t] || M.ptr[t] != p) FAIL("rc_weakref_get: wrong referent");
                    else M.held[t]++;
                }
            } else {
                M.wheld[k] = 0;
                rc_decref(M.w[k]);
            }
        } else if (op < 88) {
            if (rnd(2)) {
                rc_gc_freeze(H);
                for (int i = 0; i < M.n; i++) M.frozen[i] = M.alive[i];
            } else {
                rc_gc_unfreeze(H);
                memset(M.frozen, 0, sizeof M.frozen);
            }
        } else {
            int g = rnd(3);
            rc_gc_collect(H, g);
            check_all(g == 2);
            continue;
        }
        check_all(0);
    }
    /* drop everything; full collections must leave nothing (finalizers that
     * resurrect run once, so this ends) */
    rc_gc_unfreeze(H);
    memset(M.frozen, 0, sizeof M.frozen);
    for (int k = 0; k < M.nw; k++)
        if (M.wheld[k]) {
            M.wheld[k] = 0;
            rc_decref(M.w[k]);
        }
    for (int round = 0, again = 1; again && failures == 0 && round < 64; round++) {
        for (int i = 0; i < M.n; i++)
            while (M.alive[i] && M.held[i] > 0) {
                M.held[i]--;
                rc_decref(M.ptr[i]);
            }
        rc_gc_collect(H, 2);
        check_all(1);
        again = 0;
        for (int i = 0; i < M.n; i++) again |= M.alive[i];
    }
    if (failures == 0 && live_count_nonzero()) FAIL("objects left after dropping everything");
    rc_heap_free(H);
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
