/*
 * test_model_scale.c -- the collector against a reachability model at the
 * sizes where its fast paths start.
 *
 * test_model and the fuzzer stay under a thousand objects, and every type
 * they use has a destroy hook, so that they see each death. Neither reaches
 * what a release build does with many plain objects (a slots type with no
 * hook at all): garbage freed without a release of its blocks, whole pages
 * given back at once, listed garbage walked by pages (4096 objects and
 * more), prefetched member lists (16384 and more), the count's sampling of
 * pages, candidate scans of big dead structures, the incremental pass over
 * an old generation of tens of thousands, a parallel full collection. Here
 * each seed grows a heap to about 160,000 such objects (trees with parent
 * references, chains and rings, tangles, linked to what exists), holds and
 * drops references, rewires slots, makes weak references and reads them
 * back (which revives garbage no collection freed yet), freezes and
 * unfreezes, and lets automatic collection run at the seed's thresholds
 * (incremental or not, parallel or not), with explicit collections and
 * incremental steps between. Objects come in two plain layouts of one
 * size, one plain of another size class and one past the largest class;
 * a few have a destroy hook.
 *
 * The model knows every edge and every reference the test holds, not which
 * plain objects died; a destroy hook, or a weak reference found cleared,
 * tells it. At every check:
 *   - each object reachable from what the test holds is intact: its type,
 *     its id and check word, its slots as the model says, a refcount between
 *     the test's references plus the edges from reachable objects and the
 *     same plus the edges from every object not known dead (garbage not yet
 *     collected holds references too); none of them was destroyed, and
 *     every weak reference to one of them is alive;
 *   - no weak reference to an object known dead is alive;
 *   - rc_heap_check finds nothing wrong.
 * After every full collection while nothing is frozen (no type finalizes,
 * so nothing comes back) the heap holds exactly the reachable objects and
 * the weak references: the live count matches, refcounts are exact, every
 * unreachable hooked object was destroyed, every weak reference to an
 * unreachable object is cleared. At the end everything is dropped and a
 * full collection leaves nothing.
 *
 * Run it in a build that watches no page (the optimised and the verify
 * builds of make test): a watched heap (debug, sanitizers, valgrind) takes
 * the general paths, which this test then checks at scale instead.
 *
 * Usage: test_model_scale [first_seed [count]]   (a failing seed reproduces
 * alone). RC_TEST_QUICK=1: fewer seeds, smaller heaps.
 */
#include "recycle.h"
#include "recycle/gc.h"
#include "recycle/weakref.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seeded.h"

#define NS 3                  /* slots per object */
#define NMAX 160000           /* objects per seed, at most */
#define MAXHOLDS (NMAX * 2)   /* references the test holds, at most */
#define MAXW 512              /* weak references the test holds, at most */

/* Two plain layouts of one size (the slots first, or after the id), so that
 * pages mix plain types; a hooked one of that size; a plain one of another
 * size class, and one past the largest class (a page of its own). Each
 * holds NS slots at slot_off and its id and check word at id_off. */
typedef struct node_a {
    void *slot[NS];
    uint32_t id, check;
} node_a;
typedef struct node_b {
    uint32_t id, check;
    void *slot[NS];
} node_b;

enum { K_A, K_B, K_HOOKED, K_MID, K_BIG, NKINDS };
#define MID_SIZE 200
#define BIG_SIZE 20000

static void on_destroy(void *obj);

static const rc_type kinds[NKINDS] = {
    {.name = "plain_a", .size = sizeof(node_a), .nslots = NS, .slots_offset = offsetof(node_a, slot)},
    {.name = "plain_b", .size = sizeof(node_b), .nslots = NS, .slots_offset = offsetof(node_b, slot)},
    {.name = "hooked", .size = sizeof(node_a), .nslots = NS, .slots_offset = offsetof(node_a, slot),
     .destroy = on_destroy},
    {.name = "plain_mid", .size = MID_SIZE, .nslots = NS, .slots_offset = 64},
    {.name = "plain_big", .size = BIG_SIZE, .nslots = NS, .slots_offset = BIG_SIZE - NS * sizeof(void *)},
};
static const size_t id_off[NKINDS] = {offsetof(node_a, id), offsetof(node_b, id), offsetof(node_a, id),
                                      0, 8};

static struct {
    int32_t edge[NMAX][NS];   /* -1 or the target's id */
    int32_t held[NMAX];       /* references the test holds */
    void *ptr[NMAX];
    uint8_t kind[NMAX];
    uint8_t dead[NMAX];       /* known dead: destroyed, or unreachable at a full collection */
    uint8_t seen[NMAX];       /* reachable, at the last reach() */
    int32_t holds[MAXHOLDS];  /* one entry per reference held, by id */
    int32_t stack[NMAX];
    int n, nholds, max;
    rc_weakref *w[MAXW];      /* weak references the test holds */
    int32_t wtarget[MAXW];
    int nw;
    int frozen;               /* rc_gc_freeze ran since the last rc_gc_unfreeze */
} M;

static rc_heap *H;

static uint32_t check_of(int id) { return (uint32_t)id * 2654435761u ^ 0x5bd1e995u; }

static uint32_t *id_word(int kind, void *obj)
{
    return (uint32_t *)((char *)obj + id_off[kind]);
}

static void **slots(int kind, void *obj)
{
    return (void **)((char *)obj + kinds[kind].slots_offset);
}

static void on_destroy(void *obj)
{
    const uint32_t *w = id_word(K_HOOKED, obj);
    if (w[0] >= (uint32_t)M.n || M.ptr[w[0]] != obj || w[1] != check_of((int)w[0])) {
        FAIL("destroy of an object that is not the model's (id %u)", w[0]);
        return;
    }
    if (M.dead[w[0]]++) FAIL("object %u destroyed twice", w[0]);
}

/* ---- building and changing the graph ---- */

/* A new object, the test holding its creation reference (not in holds). */
static int make(void)
{
    unsigned r = rnd(100);
    int kind = r < 4 ? K_HOOKED : r < 14 ? K_MID : r < 56 ? K_A : K_B;
    if (rnd(400) == 0) kind = K_BIG;
    void *obj = rc_new(H, &kinds[kind]);
    if (!obj) {
        FAIL("rc_new failed: %s", rc_heap_error_message(H));
        return -1;
    }
    int id = M.n++;
    M.ptr[id] = obj;
    M.kind[id] = (uint8_t)kind;
    M.held[id] = 1;
    for (int k = 0; k < NS; k++) M.edge[id][k] = -1;
    id_word(kind, obj)[0] = (uint32_t)id;
    id_word(kind, obj)[1] = check_of(id);
    return id;
}

/* set_slot: slot k of `a` (reachable) gets `b` (reachable, or -1 for NULL). */
static void set_slot(int a, int k, int b)
{
    void **sl = slots(M.kind[a], M.ptr[a]);
    void *old = sl[k];
    if (b >= 0) rc_incref(M.ptr[b]);
    sl[k] = b >= 0 ? M.ptr[b] : NULL;
    M.edge[a][k] = b;
    if (old) rc_decref(old);
}

static void hold(int id)
{
    if (M.nholds == MAXHOLDS) {
        M.held[id]--;
        rc_decref(M.ptr[id]);
        return;
    }
    M.holds[M.nholds++] = id;
}

/* Let go of the creation reference of `id`, now held by a slot. */
static void unmake(int id)
{
    M.held[id]--;
    rc_decref(M.ptr[id]);
}

static void drop_hold(unsigned i)
{
    int id = M.holds[i];
    M.holds[i] = M.holds[--M.nholds];
    M.held[id]--;
    rc_decref(M.ptr[id]);
}

/* A reachable object: a held one, then a few steps along its slots; -1 when
 * the test holds nothing. */
static int walk(void)
{
    if (!M.nholds) return -1;
    int x = M.holds[rnd((unsigned)M.nholds)];
    for (unsigned steps = rnd(8); steps; steps--) {
        int k0 = (int)rnd(NS), next = -1;
        for (int j = 0; j < NS && next < 0; j++) next = M.edge[x][(k0 + j) % NS];
        if (next < 0) break;
        x = next;
    }
    return x;
}

/* ---- weak references ---- */

static void weak_new(void)
{
    int t = walk();
    if (t < 0 || M.nw == MAXW) return;
    rc_weakref *w = rc_weakref_new(M.ptr[t], NULL, NULL);
    if (!w) {
        FAIL("rc_weakref_new failed: %s", rc_heap_error_message(H));
        return;
    }
    M.w[M.nw] = w;
    M.wtarget[M.nw++] = t;
}

static void weak_drop(unsigned k)
{
    rc_decref(M.w[k]);
    M.w[k] = M.w[--M.nw];
    M.wtarget[k] = M.wtarget[M.nw];
}

/* Read weak reference k back and hold what it gives: an unreachable object
 * no collection freed yet comes back to life, and what it reaches with it. */
static void weak_get(unsigned k)
{
    int t = M.wtarget[k];
    void *p = rc_weakref_get(M.w[k]);
    if (!p) {
        M.dead[t] = 1;
        return;
    }
    if (p != M.ptr[t] || M.dead[t]) {
        FAIL("rc_weakref_get: object %d%s", t, M.dead[t] ? " came back from the dead" : " is another");
        return;
    }
    M.held[t]++;
    hold(t);
}

/* A tree of `depth` levels made depth first, each child's slot 2 holding
 * its parent; returns the root, whose creation reference the caller has. */
static int tree(int depth, int parent)
{
    int x = make();
    if (x < 0) return -1;
    if (parent >= 0) set_slot(x, 2, parent);
    for (int k = 0; k < 2 && depth > 1 && !failures; k++) {
        int c = tree(depth - 1, x);
        if (c < 0) break;
        set_slot(x, k, c);
        unmake(c);
    }
    return x;
}

/* A chain of `len` through slot 0, maybe closed into a ring; returns its
 * head. */
static int chain(int len)
{
    int head = make(), tail = head;
    for (int i = 1; i < len && tail >= 0; i++) {
        int x = make();
        if (x < 0) break;
        set_slot(tail, 0, x);
        unmake(x);
        tail = x;
    }
    if (tail >= 0 && rnd(2)) set_slot(tail, 1, head);
    return head;
}

/* `n` objects with random slots among themselves; returns the first. */
static int tangle(int n)
{
    int first = M.n;
    for (int i = 0; i < n; i++)
        if (make() < 0) return -1;
    for (int i = first; i < first + n; i++)
        for (int k = 0; k < NS; k++)
            if (rnd(3)) set_slot(i, k, first + (int)rnd((unsigned)n));
    for (int i = first + 1; i < first + n; i++) unmake(i);
    return first;
}

/* A structure of about `size` objects, held once, linked to and from what
 * the test can reach now and then. */
static void build(int size)
{
    if (M.n + size + 2 > M.max) return;
    int root;
    switch (rnd(3)) {
    case 0: {
        int depth = 1;
        while ((2 << depth) - 1 <= size) depth++;
        root = tree(depth, -1);
        break;
    }
    case 1: root = chain(size); break;
    default: root = tangle(size < 4096 ? size : 4096); break;
    }
    if (root < 0) return;
    if (rnd(4) == 0) {
        int old = walk();
        if (old >= 0) {
            if (rnd(2)) set_slot(root, (int)rnd(NS), old);   /* new -> old */
            else set_slot(old, (int)rnd(NS), root);           /* old -> new */
        }
    }
    hold(root);
}

/* How big a new structure is: mostly small, now and then past the sizes
 * where the collector changes its ways. */
static int size_of_next(void)
{
    unsigned r = rnd(100);
    if (r < 60) return 1 + (int)rnd(64);
    if (r < 90) return 64 + (int)rnd(2000);
    return M.max / 40 + (int)rnd((unsigned)(M.max / 8));
}

/* ---- checking ---- */

static int reach(void)
{
    int sp = 0, count = 0;
    memset(M.seen, 0, (size_t)M.n);
    for (int i = 0; i < M.nholds; i++) {
        int x = M.holds[i];
        if (!M.seen[x]) M.seen[x] = 1, M.stack[sp++] = x;
    }
    while (sp) {
        int x = M.stack[--sp];
        count++;
        for (int k = 0; k < NS; k++) {
            int y = M.edge[x][k];
            if (y >= 0 && !M.seen[y]) M.seen[y] = 1, M.stack[sp++] = y;
        }
    }
    return count;
}

/* The checks above; `full`: right after a full collection. */
static void check(int full, const char *after)
{
    int reachable = reach();
    static uint32_t lo[NMAX], hi[NMAX];
    for (int i = 0; i < M.n; i++) lo[i] = hi[i] = (uint32_t)M.held[i];
    for (int i = 0; i < M.n; i++) {
        if (M.dead[i] && !M.seen[i]) continue;
        for (int k = 0; k < NS; k++) {
            int y = M.edge[i][k];
            if (y < 0) continue;
            hi[y]++;
            if (M.seen[i]) lo[y]++;
        }
    }
    for (int i = 0; i < M.n && failures < 5; i++) {
        if (!M.seen[i]) continue;
        void *obj = M.ptr[i];
        const rc_head *h = RC_HEAD(obj);
        int kind = M.kind[i];
        if (M.dead[i]) {
            FAIL("after %s: object %d (%s) destroyed while reachable", after, i, kinds[kind].name);
            continue;
        }
        if (h->refcnt == 0 || h->type != &kinds[kind] || id_word(kind, obj)[0] != (uint32_t)i ||
            id_word(kind, obj)[1] != check_of(i)) {
            FAIL("after %s: reachable object %d (%s) freed or overwritten", after, i,
                 kinds[kind].name);
            continue;
        }
        void **sl = slots(kind, obj);
        for (int k = 0; k < NS; k++) {
            int y = M.edge[i][k];
            if (sl[k] != (y >= 0 ? M.ptr[y] : NULL))
                FAIL("after %s: slot %d of object %d changed", after, k, i);
        }
        uint32_t rc = h->refcnt;
        int exact_rc = full && !M.frozen;
        if (exact_rc ? rc != lo[i] : rc < lo[i] || rc > hi[i])
            FAIL("after %s: object %d has refcount %u, the model %u..%u", after, i, rc, lo[i],
                 exact_rc ? lo[i] : hi[i]);
    }
    long problems = rc_heap_check(H, NULL);
    if (problems) {
        FAIL("after %s: rc_heap_check found %ld problems:", after, problems);
        rc_heap_check(H, stderr);
    }
    /* While frozen, unreachable objects frozen with the rest stay. */
    int exact = full && !M.frozen;
    for (int k = 0; k < M.nw; k++) {
        int t = M.wtarget[k], alive = rc_weakref_alive(M.w[k]);
        if (M.seen[t] && !alive)
            FAIL("after %s: weak reference to reachable object %d cleared", after, t);
        else if (M.dead[t] && alive)
            FAIL("after %s: weak reference to dead object %d alive", after, t);
        else if (exact && alive && !M.seen[t])
            FAIL("after %s: weak reference to unreachable object %d alive", after, t);
        else if (!alive)
            M.dead[t] = 1;   /* its referent is gone */
    }
    if (!exact) return;
    rc_heap_stats st;
    rc_heap_get_stats(H, &st);
    if (st.objects != (size_t)(reachable + M.nw))
        FAIL("after %s: %zu objects live, %d reachable and %d weak references", after, st.objects,
             reachable, M.nw);
    for (int i = 0; i < M.n; i++) {
        if (M.seen[i] || M.dead[i]) continue;
        if (M.kind[i] == K_HOOKED) FAIL("after %s: unreachable object %d not destroyed", after, i);
        M.dead[i] = 1;   /* gone: its edges count no more */
    }
}

/* ---- a seed ---- */

static void run_seed(unsigned long long seed, int max)
{
    seed_now = seed;
    rng = seed * 0x9E3779B97F4A7C15ull + 1;
    memset(M.dead, 0, sizeof M.dead);
    M.n = M.nholds = M.nw = M.frozen = 0;
    M.max = max;
    H = rc_heap_new(NULL);
    if (!H) {
        FAIL("rc_heap_new failed");
        return;
    }
    static const unsigned t0s[] = {2000, 2000, 300, 10000};
    rc_gc_set_threshold(H, t0s[rnd(4)], 1 + rnd(12), 1 + rnd(12));
    rc_gc_set_incremental(H, rnd(4) != 0);
    if (rnd(3) == 0) {
        rc_gc_set_parallel(H, 2);
        rc_gc_set_parallel_min(H, 1000);
    }
    char what[64];
    for (int step = 0; M.n + 2 < M.max && !failures; step++) {
        unsigned op = rnd(100);
        if (op < 30) {
            build(size_of_next());
        } else if (op < 50) {
            if (M.nholds) drop_hold(rnd((unsigned)M.nholds));
        } else if (op < 52) {   /* many at once: big structures die together */
            for (int i = M.nholds / 4; i > 0; i--) drop_hold(rnd((unsigned)M.nholds));
        } else if (op < 72) {
            int a = walk(), b = rnd(4) ? walk() : -1;
            if (a >= 0) set_slot(a, (int)rnd(NS), b);
        } else if (op < 77) {
            int a = walk();
            if (a >= 0) {
                rc_incref(M.ptr[a]);
                M.held[a]++;
                hold(a);
            }
        } else if (op < 80) {
            int g = (int)rnd(3);
            rc_gc_collect(H, g);
            snprintf(what, sizeof what, "step %d, rc_gc_collect(%d)", step, g);
            check(g == 2, what);
            continue;
        } else if (op < 83) {
            rc_gc_step(H, 1 + rnd(50000));
        } else if (op < 88) {
            weak_new();
        } else if (op < 91) {
            if (M.nw) weak_get(rnd((unsigned)M.nw));
        } else if (op < 93) {
            if (M.nw) weak_drop(rnd((unsigned)M.nw));
        } else if (op < 94) {
            if (M.frozen || rnd(4)) {
                rc_gc_unfreeze(H);
                M.frozen = 0;
            } else {
                rc_gc_freeze(H);
                M.frozen = 1;
            }
        }
        if (step % 64 == 0) {
            snprintf(what, sizeof what, "step %d", step);
            check(0, what);
        }
    }
    check(0, "the last step");
    rc_gc_unfreeze(H);
    M.frozen = 0;
    while (M.nw) weak_drop((unsigned)M.nw - 1);
    while (M.nholds && !failures) drop_hold((unsigned)M.nholds - 1);
    rc_gc_collect(H, 2);
    check(1, "dropping everything");
    rc_heap_free(H);
}

int main(int argc, char **argv)
{
    int quick = getenv("RC_TEST_QUICK") != NULL;
    unsigned long long first = argc > 1 ? strtoull(argv[1], NULL, 10) : 1;
    unsigned long long count = argc > 2 ? strtoull(argv[2], NULL, 10) : quick ? 3 : 12;
    int max = quick ? NMAX / 10 : NMAX;
    int passed = 0, failed = 0;
    for (unsigned long long s = first; s < first + count; s++) {
        failures = 0;
        run_seed(s, max);
        if (failures) {
            failed++;
            fprintf(stderr, "seed %llu failed: rerun with `test_model_scale %llu 1`\n", s, s);
        } else {
            passed++;
        }
    }
    printf("scale model seeds %llu..%llu, up to %d objects each\n", first, first + count - 1, max);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
