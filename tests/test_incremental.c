/* test_incremental.c -- the old generation's incremental pass: its checker
 * first (every small heap, every mutation at every step boundary, against
 * a reachability model), then what each part of it promises. */
#include "core/internal.h"
#include "collector/collector.h"
#include "failalloc.h"
#include "harness.h"
#include "recycle/gc.h"
#include "recycle/weakref.h"
#include "testutil.h"

/* ---- the model checker ----
 *
 * A case: n objects with two slots each (a graph), a set of holders (C
 * references), everything made old by a full collection, then the
 * references of the objects that are not held dropped: whatever is
 * unreachable then is old garbage. A pass runs with budget 1 (one object
 * or one reference per step) and, at chosen step boundaries, the program
 * mutates the graph the way C code does, including moving a reference
 * between a slot and a local variable without touching counts. After the
 * pass: nothing the model can reach was freed (soundness), everything that
 * was garbage at the start was freed (completeness); a full collection
 * then frees exactly the rest of what the model cannot reach. */

#define MAXN 10      /* objects in a case, those the mutations make included */
#define NSLOT 2

typedef struct mnode {
    void *s[NSLOT];
    int id;
} mnode;

static bool freed[MAXN];
static void mnode_destroy(void *p) { freed[((mnode *)p)->id] = true; }
static const rc_type mtype = {.name = "mnode", .size = sizeof(mnode), .nslots = NSLOT,
                              .destroy = mnode_destroy};

typedef struct model {
    rc_heap *h;
    int n;                       /* objects made so far */
    mnode *obj[MAXN];
    int slot[MAXN][NSLOT];       /* ids, -1 for NULL */
    int holds[MAXN];             /* C references held, by proper counting */
    int local;                   /* id moved into a local by a raw move, or -1 */
} model;

static void reach_from(const model *m, int id, bool *r)
{
    if (id < 0 || r[id]) return;
    r[id] = true;
    for (int s = 0; s < NSLOT; s++) reach_from(m, m->slot[id][s], r);
}

static void reachable(const model *m, bool *r)
{
    memset(r, 0, MAXN * sizeof *r);
    for (int i = 0; i < m->n; i++)
        if (m->holds[i]) reach_from(m, i, r);
    reach_from(m, m->local, r);
}

static int make(model *m)
{
    int id = m->n++;
    m->obj[id] = rc_new(m->h, &mtype);
    m->obj[id]->id = id;
    freed[id] = false;
    m->slot[id][0] = m->slot[id][1] = -1;
    m->holds[id] = 1;
    return id;
}

/* a.s := b with proper counting (b may be -1). */
static void store(model *m, int a, int s, int b)
{
    void *old = m->obj[a]->s[s];
    if (b >= 0) rc_incref(m->obj[b]);
    m->obj[a]->s[s] = b >= 0 ? m->obj[b] : NULL;
    m->slot[a][s] = b;
    if (old) rc_decref(old);
}

enum { M_LINK, M_UNLINK, M_TAKE, M_PUT, M_DROP, M_HOLD, M_NEW, M_NEW_HELD, M_NKINDS };

/* Apply mutation (kind, a, s, b) when its operands are reachable (C code
 * can touch nothing else) and it means something; false otherwise. */
static bool mutate(model *m, int kind, int a, int s, int b)
{
    bool r[MAXN];
    reachable(m, r);
    if (a >= m->n || !r[a]) return false;
    if (b >= 0 && (b >= m->n || !r[b])) return false;
    switch (kind) {
    case M_LINK:
        if (b < 0) return false;
        store(m, a, s, b);
        return true;
    case M_UNLINK:
        if (m->slot[a][s] < 0) return false;
        store(m, a, s, -1);
        return true;
    case M_TAKE:   /* tmp = a->s; a->s = NULL; -- no count changes */
        if (m->local >= 0 || m->slot[a][s] < 0) return false;
        m->local = m->slot[a][s];
        m->obj[a]->s[s] = NULL;
        m->slot[a][s] = -1;
        return true;
    case M_PUT:    /* a->s = tmp; -- no count changes */
        if (m->local < 0 || m->slot[a][s] >= 0) return false;
        m->obj[a]->s[s] = m->obj[m->local];
        m->slot[a][s] = m->local;
        m->local = -1;
        return true;
    case M_DROP:
        if (!m->holds[a]) return false;
        m->holds[a]--;
        rc_decref(m->obj[a]);
        return true;
    case M_HOLD:
        m->holds[a]++;
        rc_incref(m->obj[a]);
        return true;
    case M_NEW:       /* a->s = new node pointing at b; the new one is young */
    case M_NEW_HELD:  /* a new node pointing at a, held by C */
        if (m->n == MAXN) return false;
        {
            int c = make(m);
            store(m, c, 0, kind == M_NEW ? b : a);
            if (kind == M_NEW) {
                store(m, a, s, c);
                m->holds[c] = 0;
                rc_decref(m->obj[c]);
            }
        }
        return true;
    }
    return false;
}

typedef struct mut {
    int at;                /* step boundary: before step `at` (-1: none) */
    int kind, a, s, b;
} mut;

static long cases, runs, failures;

/* Report a failed case once per kind of failure (the first few). */
static void fail_case(const char *what, const model *m, int id, const mut *mu, int nmu)
{
    failures++;
    rc_test_failed_ = 1;
    if (failures > 5) return;
    fprintf(stderr, "  model: %s: object %d; objects %d, slots:", what, id, m->n);
    for (int i = 0; i < m->n; i++) fprintf(stderr, " %d:[%d %d]h%d", i, m->slot[i][0], m->slot[i][1], m->holds[i]);
    for (int i = 0; i < nmu; i++)
        fprintf(stderr, "; mutation %d(a%d s%d b%d) before step %d", mu[i].kind, mu[i].a, mu[i].s,
                mu[i].b, mu[i].at);
    fprintf(stderr, "\n");
}

/* One run. Returns the steps the pass took, or -1 when a mutation's step
 * boundary was never reached (the pass ended before it). */
static int run_case(rc_heap *h, int n, const int *graph, unsigned held, const mut *mu, int nmu)
{
    model m = {.h = h, .local = -1};
    for (int i = 0; i < n; i++) make(&m);
    for (int i = 0; i < n; i++)
        for (int s = 0; s < NSLOT; s++) store(&m, i, s, graph[i * NSLOT + s]);
    rc_gc_collect(h, 2);   /* everything held: all old */
    for (int i = 0; i < n; i++)
        if (!(held >> i & 1)) mutate(&m, M_DROP, i, 0, -1);
    bool garbage[MAXN], r[MAXN];
    reachable(&m, r);
    for (int i = 0; i < n; i++) garbage[i] = !r[i];
    runs++;
    int step = 0, applied = 0, ended = 0;
    while (step < 10000) {
        for (int k = 0; k < nmu; k++)
            if (mu[k].at == step) applied += mutate(&m, mu[k].kind, mu[k].a, mu[k].s, mu[k].b) || 1;
        /* soundness at every boundary: nothing reachable is freed */
        reachable(&m, r);
        for (int i = 0; i < m.n; i++)
            if (r[i] && freed[i]) fail_case("a reachable object was freed", &m, i, mu, nmu);
        if (ended) break;
        ended = rc_gc_step(h, 1) == 1;
        step++;
    }
    if (!ended) fail_case("the pass never ended", &m, -1, mu, nmu);
    for (int i = 0; i < n; i++)
        if (garbage[i] && !freed[i]) fail_case("old garbage survived the pass", &m, i, mu, nmu);
    rc_gc_collect(h, 2);
    reachable(&m, r);
    for (int i = 0; i < m.n; i++)
        if (r[i] == freed[i]) fail_case(r[i] ? "reachable but freed" : "unreachable but alive", &m, i, mu, nmu);
    /* the program lets go of everything */
    if (m.local >= 0) {
        rc_decref(m.obj[m.local]);
        m.local = -1;
    }
    for (int i = 0; i < m.n; i++)
        while (m.holds[i]) mutate(&m, M_DROP, i, 0, -1);
    rc_gc_collect(h, 2);
    for (int i = 0; i < m.n; i++)
        if (!freed[i]) fail_case("alive after everything was dropped", &m, i, mu, nmu);
    return applied < nmu ? -1 : step;
}

/* Every mutation of a case at every step boundary; pairs of a raw move out
 * of a slot and back into one at every two boundaries when `pairs`; else
 * one mutation per boundary, picked by `pick`. */
static void check_case(rc_heap *h, int n, const int *graph, unsigned held, bool pairs, unsigned pick)
{
    cases++;
    int steps = run_case(h, n, graph, held, NULL, 0);
    for (int at = 1; at <= steps; at++) {
        if (pairs || !pick) {
            for (int kind = 0; kind < M_NKINDS; kind++)
                for (int a = 0; a < n; a++)
                    for (int s = 0; s < NSLOT; s++)
                        for (int b = -1; b < n; b++) {
                            if (b >= 0 && kind != M_LINK && kind != M_NEW) continue;
                            if ((kind == M_DROP || kind == M_HOLD || kind == M_NEW_HELD) && s) continue;
                            mut mu = {at, kind, a, s, b};
                            run_case(h, n, graph, held, &mu, 1);
                        }
        } else {
            unsigned x = pick * 2654435761u + (unsigned)at * 40503u;
            mut mu = {at, (int)(x % M_NKINDS), (int)(x / 8 % (unsigned)n), (int)(x / 64 % NSLOT),
                      (int)(x / 128 % (unsigned)(n + 1)) - 1};
            run_case(h, n, graph, held, &mu, 1);
        }
        if (!pairs) continue;
        for (int at2 = at + 1; at2 <= steps + 1; at2++)
            for (int a = 0; a < n; a++)
                for (int s = 0; s < NSLOT; s++)
                    for (int a2 = 0; a2 < n; a2++)
                        for (int s2 = 0; s2 < NSLOT; s2++) {
                            mut mu[2] = {{at, M_TAKE, a, s, -1}, {at2, M_PUT, a2, s2, -1}};
                            run_case(h, n, graph, held, mu, 2);
                        }
    }
}

/* Valgrind and stress runs ask for quick tests; RC_EXPENSIVE builds verify
 * the whole heap around every step, which the samples need not multiply. */
static bool quick(void)
{
#ifdef RC_EXPENSIVE
    return true;
#else
    const char *q = getenv("RC_TEST_QUICK");
    return q && *q && strcmp(q, "0") != 0;
#endif
}

static rc_heap *model_heap(void)
{
    rc_heap_config cfg;
    rc_heap_config_init(&cfg);
    cfg.gc_stress = -1;   /* steps are the test's own */
    cfg.disabled = 1;
    return rc_heap_new(&cfg);
}

/* Every graph of n objects (each slot NULL or any object) and every set of
 * holders; every `sample`-th one when sample > 1. */
static void check_all(int n, bool pairs, unsigned sample, unsigned seed)
{
    rc_heap *h = model_heap();
    int graph[MAXN * NSLOT];
    unsigned long total = 1;
    for (int i = 0; i < n * NSLOT; i++) total *= (unsigned long)(n + 1);
    for (unsigned long g = 0; g < total; g++) {
        unsigned long x = g;
        for (int i = 0; i < n * NSLOT; i++) {
            graph[i] = (int)(x % (unsigned long)(n + 1)) - 1;
            x /= (unsigned long)(n + 1);
        }
        for (unsigned held = 0; held < 1u << n; held++) {
            unsigned k = (unsigned)(g * 31 + held) * 2654435761u + seed;
            if (sample > 1 && k % sample) continue;
            check_case(h, n, graph, held, pairs, sample > 1 ? k | 1 : 0);
        }
        if (failures > 5) break;
    }
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(model_every_heap_of_one_and_two_objects_every_mutation_and_move_pair)
{
    check_all(1, true, 1, 0);
    if (quick()) {   /* valgrind, stress: every single mutation, a sample of the pairs */
        check_all(2, false, 1, 0);
        check_all(2, true, 17, 5);
    } else {
        check_all(2, true, 1, 0);
    }
    fprintf(stderr, "  %ld cases, %ld runs\n", cases, runs);
    CHECK(runs > 10000);
}

TEST(model_every_heap_of_three_objects_every_step_one_mutation)
{
    /* all 4,096 graphs x 8 holder sets, a mutation at every boundary
     * (picked per case); every mutation and move pair on a sample */
    check_all(3, false, quick() ? 61 : 2, 7);
    check_all(3, true, quick() ? 4001 : 397, 3);
}

/* `count` random graphs of n objects with random holders. */
static void check_random(int n, long count, unsigned seed)
{
    rc_heap *h = model_heap();
    int graph[MAXN * NSLOT];
    unsigned long long x = seed * 0x9e3779b97f4a7c15ull + 1;
    for (long c = 0; c < count && failures <= 5; c++) {
        for (int i = 0; i < n * NSLOT; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            graph[i] = (int)((x >> 33) % (unsigned long long)(n + 1)) - 1;
        }
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        check_case(h, n, graph, (unsigned)(x >> 40) & ((1u << n) - 1), false, (unsigned)(x >> 20) | 1);
    }
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(model_samples_of_four_and_five_objects)
{
    check_random(4, quick() ? 200 : 20000, 11);
    check_random(5, quick() ? 200 : 20000, 13);
}

/* ---- what the pass promises ---- */

/* A heap whose collections the test runs (no stress, no automatic ones). */
static rc_heap *manual_heap(void)
{
    rc_heap *h = model_heap();
    return h;
}

static long destroyed;
static void node_destroy(void *p) { (void)p; destroyed++; }
static const rc_type node_type = {.name = "node", .size = sizeof(mnode), .nslots = NSLOT,
                                  .destroy = node_destroy};

static mnode *node(rc_heap *h) { return rc_new(h, &node_type); }

/* n old two-node cycles that nothing holds. */
static void old_garbage_cycles(rc_heap *h, int n)
{
    mnode **keep = malloc((size_t)n * sizeof *keep);
    for (int i = 0; i < n; i++) {
        mnode *a = node(h), *b = node(h);
        a->s[0] = b;
        rc_incref(a);
        b->s[0] = a;
        keep[i] = a;
    }
    rc_gc_collect(h, 2);
    for (int i = 0; i < n; i++) rc_decref(keep[i]);
    free(keep);
}

/* A chain of n old nodes held by the returned head. */
static mnode *old_chain(rc_heap *h, long n)
{
    mnode *head = node(h), *at = head;
    for (long i = 1; i < n; i++) {
        mnode *x = node(h);
        at->s[0] = x;
        at = x;
    }
    rc_gc_collect(h, 2);
    return head;
}

static int run_pass(rc_heap *h, size_t budget)
{
    int steps = 1;
    while (rc_gc_step(h, budget) == 0 && steps < 10000000) steps++;
    return steps;
}

typedef struct steplog {
    int n, other;
    size_t max_examined, last_examined;
    size_t collected;
} steplog;

static void log_steps(rc_heap *h, int phase, const rc_gc_info *info, void *ud)
{
    (void)h;
    steplog *l = ud;
    if (phase != RC_GC_STOP) return;
    if (info->kind != RC_GC_INCREMENT || info->generation != 2) {
        l->other++;
        return;
    }
    l->n++;
    if (l->last_examined > l->max_examined) l->max_examined = l->last_examined;
    l->last_examined = info->examined;   /* the last one (the verdict's) is left out */
    l->collected += info->collected;
}

TEST(a_pass_frees_old_cycles_in_steps_of_its_budget)
{
    rc_heap *h = manual_heap();
    mnode *live = old_chain(h, 1000);
    old_garbage_cycles(h, 500);
    destroyed = 0;
    steplog log = {0};
    rc_gc_callback_add(h, log_steps, &log);
    int steps = run_pass(h, 100);
    CHECK_EQ_INT(destroyed, 1000);
    CHECK_EQ_INT(log.collected, 1000);
    CHECK_EQ_INT(log.n, steps);
    CHECK_EQ_INT(log.other, 0);
    CHECK(steps > 30);                        /* 3,000 objects and 2,000 references, 100 at a time */
    CHECK(log.max_examined <= 100 + NSLOT);   /* one object's references past the budget */
    rc_gc_stats st;
    rc_gc_get_increment_stats(h, &st);
    CHECK_EQ_INT(st.collections, (size_t)steps);
    CHECK_EQ_INT(st.collected, 1000);
    CHECK_EQ_INT(st.freed, 1000);
    rc_gc_stats gs[3];
    rc_gc_get_stats(h, gs);
    CHECK_EQ_INT(gs[2].collections, 2);       /* the test's own full collections only */
    CHECK_EQ_INT(live_objects(h), 1000);
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    rc_decref(live);
    rc_heap_free(h);
}

/* The counterexample of docs/ARCHITECTURE.md: C code moves a reference out
 * of a slot into a local without touching counts, between two steps, at
 * every step boundary of the pass. */
TEST(a_reference_moved_into_a_local_between_steps_is_not_freed)
{
    rc_heap *h = manual_heap();
    for (int at = 1; at < 200; at++) {
        mnode *root = node(h);
        mnode *a = node(h), *b = node(h);
        root->s[0] = a;
        a->s[0] = b;
        rc_incref(a);
        b->s[0] = a;   /* a cycle, held through root */
        rc_gc_collect(h, 2);
        destroyed = 0;
        int steps = 0, over = 0;
        void *tmp = NULL;
        while (!over) {
            if (steps == at) {
                tmp = root->s[0];   /* tmp = root->left; root->left = NULL; */
                root->s[0] = NULL;
            }
            over = rc_gc_step(h, 1);
            steps++;
        }
        CHECK_EQ_INT(destroyed, 0);
        if (tmp) {
            CHECK_EQ_INT(((mnode *)tmp)->s[0] == b, 1);   /* still there, still a node */
            root->s[0] = tmp;
        }
        rc_decref(root);
        rc_gc_collect(h, 2);
        CHECK_EQ_INT(destroyed, 3);
        if (steps < at) break;
    }
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(a_full_collection_and_incremental_off_give_up_the_pass)
{
    rc_heap *h = manual_heap();
    mnode *live = old_chain(h, 1000);
    old_garbage_cycles(h, 10);
    destroyed = 0;
    CHECK_EQ_INT(rc_gc_step(h, 10), 0);
    CHECK(h->pass != NULL);
    CHECK(h->snapshot.len > 0);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 20);
    CHECK(h->pass == NULL);
    CHECK_EQ_INT(h->snapshot.len, 0);
    CHECK_EQ_INT(destroyed, 20);
    CHECK_EQ_INT(rc_gc_step(h, 10), 0);
    CHECK(h->pass != NULL);
    rc_gc_set_incremental(h, 0);
    CHECK_EQ_INT(rc_gc_get_incremental(h), 0);
    CHECK(h->pass == NULL);
    /* rc_gc_step still runs a pass when asked */
    CHECK_EQ_INT(run_pass(h, 1 << 20), 1);
    rc_gc_set_incremental(h, 1);
    CHECK_EQ_INT(rc_gc_get_incremental(h), 1);
    rc_gc_collect(h, 0);   /* young and candidate collections leave a pass alone */
    CHECK_EQ_INT(rc_gc_step(h, 10), 0);
    rc_gc_collect(h, 1);
    CHECK(h->pass != NULL);
    rc_decref(live);
    rc_heap_free(h);
}

/* An allocator that counts what is mapped and allocated and not given back. */
static long maps_out;
static size_t map_bytes_out;
static void *count_map(void *ud, size_t size)
{
    void *p = rc_system_allocator.map(ud, size);
    if (p) {
        maps_out++;
        map_bytes_out += size;
    }
    return p;
}
static void count_unmap(void *ud, void *p, size_t size)
{
    maps_out--;
    map_bytes_out -= size;
    rc_system_allocator.unmap(ud, p, size);
}

TEST(freeing_the_heap_during_a_pass_gives_back_its_tables)
{
    rc_heap_config cfg;
    rc_heap_config_init(&cfg);
    cfg.allocator.map = count_map;
    cfg.allocator.unmap = count_unmap;
    cfg.gc_stress = -1;
    cfg.disabled = 1;
    maps_out = 0;
    map_bytes_out = 0;
    rc_heap *h = rc_heap_new(&cfg);
    mnode *live = old_chain(h, 600000);   /* side tables past 64 KiB: a mapping */
    size_t before = map_bytes_out;
    CHECK_EQ_INT(rc_gc_step(h, 1000), 0);
    CHECK(map_bytes_out >= before + 600000 * 2);
    (void)live;
    rc_heap_free(h);   /* the chain is a leak the heap's end frees */
    CHECK_EQ_INT(maps_out, 0);
    CHECK_EQ_INT(map_bytes_out, 0);
}

static int busy_result = 99, busy_error;
static void step_from_callback(rc_heap *h, int phase, const rc_gc_info *info, void *ud)
{
    (void)info;
    (void)ud;
    if (phase != RC_GC_START) return;
    busy_result = rc_gc_step(h, 10);
    busy_error = rc_heap_error(h);
}

TEST(a_step_from_a_callback_is_refused)
{
    rc_heap *h = manual_heap();
    mnode *live = old_chain(h, 10);
    rc_gc_callback_add(h, step_from_callback, NULL);
    rc_gc_collect(h, 0);
    CHECK_EQ_INT(busy_result, -1);
    CHECK_EQ_INT(busy_error, RC_EBUSY);
    CHECK(h->pass == NULL);
    rc_gc_callback_remove(h, step_from_callback, NULL);
    rc_decref(live);
    rc_heap_free(h);
}

TEST(no_memory_for_the_tables_frees_nothing_and_says_so)
{
    rc_heap *h = fa_heap_new();
    rc_gc_disable(h);
    rc_gc_set_stress(h, 0);
    old_garbage_cycles(h, 5);
    destroyed = 0;
    fa_arm(0);   /* the pass's own struct */
    CHECK_EQ_INT(rc_gc_step(h, 100), 0);
    CHECK_EQ_INT(rc_heap_error(h), RC_ENOMEM);
    CHECK(h->pass == NULL);
    fa_arm(1);   /* its side table */
    CHECK_EQ_INT(rc_gc_step(h, 100), 0);
    CHECK(h->pass == NULL);
    fa_disarm();
    CHECK_EQ_INT(destroyed, 0);
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    run_pass(h, 100);
    CHECK_EQ_INT(destroyed, 10);
    rc_heap_free(h);
}

TEST(mark_stack_out_of_memory_gives_up_the_pass)
{
    rc_heap *h = fa_heap_new();
    rc_gc_disable(h);
    rc_gc_set_stress(h, 0);
    mnode *live = old_chain(h, 3000);
    old_garbage_cycles(h, 5);
    destroyed = 0;
    int over = 0;
    for (long n = 0; n < 50 && !over; n++) {   /* fail each allocation of a pass in turn */
        fa_arm(n);
        over = run_pass(h, 1 << 20) && h->pass == NULL && destroyed;
        fa_disarm();
        rc_gc_collect(h, 0);
    }
    CHECK(over);
    CHECK(h->pass == NULL);
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    rc_decref(live);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(a_pass_that_finds_nothing_backs_off_and_garbage_resets_it)
{
    rc_heap *h = manual_heap();
    CHECK_EQ_INT(h->old_backoff, 1);
    mnode *live = old_chain(h, 100);   /* its full collection found nothing: x2 */
    CHECK_EQ_INT(h->old_backoff, 2);
    run_pass(h, 1000);
    CHECK_EQ_INT(h->old_backoff, 4);
    run_pass(h, 1000);
    CHECK_EQ_INT(h->old_backoff, 8);
    run_pass(h, 1000);
    CHECK_EQ_INT(h->old_backoff, RC_OLD_BACKOFF_MAX);
    run_pass(h, 1000);   /* no further */
    CHECK_EQ_INT(h->old_backoff, RC_OLD_BACKOFF_MAX);
    old_garbage_cycles(h, 1);   /* its full collection found nothing either */
    run_pass(h, 1000);
    CHECK_EQ_INT(h->old_backoff, 1);
    CHECK_EQ_INT(h->old_at_full, h->gen_objects[2]);
    rc_decref(live);
    rc_heap_free(h);
}

/* Memory freed during a pass goes back at once: the pages that empty leave
 * the pass's snapshot, and what the pass held of them is skipped; when a
 * quarter of its pages went, the pass gives its tables back too. */
TEST(pages_emptied_during_a_pass_go_back_at_once)
{
    for (int when = 0; when < 6; when++) {   /* a sixth, a half, 5/6 into the pass */
        bool most = when & 1;
        rc_heap *h = manual_heap();
        mnode *live = old_chain(h, 20000);
        mnode *doomed = old_chain(h, most ? 40000 : 4000);
        size_t total = (size_t)run_pass(h, 1000);   /* as long as the pass below */
        old_garbage_cycles(h, 5000);
        size_t pages = h->pages[1].len, steps = 0;
        destroyed = 0;
        while (rc_gc_step(h, 1000) == 0 && ++steps < total * (size_t)(when / 2 * 2 + 1) / 6) {}
        CHECK(h->pass != NULL);
        rc_decref(doomed);   /* old objects freed by refcount mid-pass */
        CHECK(h->pages[1].len < pages);
        CHECK_EQ_INT(h->pass == NULL, most);   /* a quarter of the pages gone: given up */
        CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
        run_pass(h, 1000);
        CHECK_EQ_INT(destroyed, (most ? 40000 : 4000) + 10000);
        CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
        rc_decref(live);
        rc_heap_free(h);
    }
}

/* Objects die and their blocks go to new objects, made old in turn, between
 * the steps: the pass's stack and its found set point at reused blocks. */
TEST(blocks_freed_and_reused_between_steps)
{
    rc_heap *h = manual_heap();
    enum { N = 3000 };
    mnode *held[N];
    for (int i = 0; i < N; i++) {
        held[i] = node(h);
        held[i]->s[0] = node(h);
        rc_incref(held[i]);
        ((mnode *)held[i]->s[0])->s[0] = held[i];   /* each a cycle, held */
    }
    old_garbage_cycles(h, 500);
    destroyed = 0;
    unsigned x = 1;
    int steps = 0;
    while (rc_gc_step(h, 50) == 0) {
        for (int k = 0; k < 5; k++) {
            x = x * 1103515245u + 12345u;
            int i = (int)(x >> 8) % N;
            rc_decref(held[i]);   /* the cycle becomes old garbage */
            held[i] = node(h);
            held[i]->s[0] = node(h);
            rc_incref(held[i]);
            ((mnode *)held[i]->s[0])->s[0] = held[i];
        }
        if (++steps % 7 == 0) rc_gc_collect(h, 1);   /* the new ones become old */
        if (steps % 50 == 0) CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    }
    CHECK(destroyed >= 1000);
    for (int i = 0; i < N; i++) CHECK_EQ_INT(((mnode *)held[i]->s[0])->s[0] == held[i], 1);
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    for (int i = 0; i < N; i++) rc_decref(held[i]);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

static int weak_calls;
static void weak_cb(rc_weakref *w, void *data)
{
    (void)w;
    (void)data;
    weak_calls++;
}
static int finalized;
static void fin(void *p)
{
    (void)p;
    finalized++;
}
static const rc_type fin_type = {.name = "fin", .size = sizeof(mnode), .nslots = NSLOT,
                                 .finalize = fin};

TEST(the_verdict_runs_finalizers_and_weak_reference_callbacks)
{
    rc_heap *h = manual_heap();
    mnode *a = rc_new(h, &fin_type), *b = rc_new(h, &fin_type);
    a->s[0] = b;
    rc_incref(a);
    b->s[0] = a;
    rc_weakref *w = rc_weakref_new(a, weak_cb, NULL);
    rc_gc_collect(h, 2);
    rc_decref(a);
    weak_calls = finalized = 0;
    run_pass(h, 7);
    CHECK_EQ_INT(weak_calls, 1);
    CHECK_EQ_INT(finalized, 2);
    CHECK(rc_weakref_get(w) == NULL);
    rc_decref(w);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(debug_lines_name_the_step)
{
    rc_heap *h = manual_heap();
    old_garbage_cycles(h, 1);
    FILE *f = tmpfile();
    rc_gc_set_debug_stream(h, f);
    rc_gc_set_debug(h, RC_GC_DEBUG_STATS);
    run_pass(h, 1 << 20);
    rc_gc_set_debug(h, 0);
    char *text = capture(f);
    CHECK(strstr(text, "gc: incremental step over generation 2...") != NULL);
    CHECK(strstr(text, "gc: done (incremental step), 2 unreachable") != NULL);
    rc_heap_free(h);
}

/* A chain of n nodes grown one at a time, with a garbage cycle made and
 * dropped every `every` nodes: a heap that grows while it makes garbage. */
static mnode *growing_heap(rc_heap *h, long n, long every)
{
    mnode *root = node(h), *at = root;
    for (long i = 0; i < n; i++) {
        mnode *x = node(h);
        at->s[0] = x;
        at = x;
        if (i % every == 0) {
            mnode *a = node(h), *b = node(h);
            a->s[0] = b;
            rc_incref(a);
            b->s[0] = a;
            rc_decref(a);
        }
    }
    return root;
}

TEST(automatic_collection_steps_instead_of_full_collections)
{
    for (int inc = 1; inc >= 0; inc--) {
        rc_heap *h = unstressed_heap();
        rc_gc_set_threshold(h, 500, 2, 2);
        rc_gc_set_incremental(h, inc);
        mnode *root = growing_heap(h, 200000, 8);
        rc_gc_stats gs[3], st;
        rc_gc_get_stats(h, gs);
        rc_gc_get_increment_stats(h, &st);
        if (inc) {
            CHECK_EQ_INT(gs[2].collections, 0);
            CHECK(st.collections > 10);
        } else {
            CHECK(gs[2].collections > 0);
            CHECK_EQ_INT(st.collections, 0);
        }
        rc_decref(root);
        rc_heap_free(h);
    }
}

TEST(step_budget_setting)
{
    rc_heap *h = manual_heap();
    CHECK_EQ_INT(rc_gc_get_step_budget(h), 0);
    rc_gc_set_step_budget(h, 12345);
    CHECK_EQ_INT(rc_gc_get_step_budget(h), 12345);
    CHECK_EQ_INT(rc_gc_step(NULL, 5), 0);
    CHECK_EQ_INT(rc_gc_get_incremental(NULL), 0);
    CHECK_EQ_INT(rc_gc_step(h, 5), 0);   /* nothing old: no pass */
    CHECK(h->pass == NULL);
    CHECK_EQ_INT(rc_heap_error(h), 0);
    rc_heap_free(h);
}

TEST(stress_mode_runs_passes_and_full_collections)
{
    rc_heap *h = model_heap();
    rc_gc_enable(h);
    rc_gc_set_stress(h, 1);
    mnode *root = growing_heap(h, 20000, 4);
    rc_gc_stats gs[3], st;
    rc_gc_get_stats(h, gs);
    rc_gc_get_increment_stats(h, &st);
    CHECK(gs[2].collections > 0);
    CHECK(st.collections > 0);
    rc_decref(root);
    rc_heap_free(h);
}

/* ---- the verification mode ---- */

static void planted_bad_verdict(void)
{
    rc_heap *h = manual_heap();
    mnode *a = node(h);
    rc_head *o = RC_HEAD(a);
    o->refcnt++;            /* held as garbage ... */
    o->gc |= RC__INSET;     /* ... though C code holds it */
    rc__verify_garbage(h, "test", true);
}

TEST(verification_stops_a_verdict_that_would_free_a_reachable_object)
{
    CHECK(dies_saying(planted_bad_verdict, "gc verify: a test is about to free the 'node' object"));
}

RC_TEST_MAIN
