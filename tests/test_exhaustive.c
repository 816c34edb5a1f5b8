/*
 * test_exhaustive.c -- every small heap, every kind of collection, against a
 * reference model of CPython's rules.
 *
 * A case is: n objects (1..4); which of the n*n possible edges exist (slot j
 * of object i -> object j); which objects the program still holds when the
 * collection comes; per object a finalizer (none, resurrect itself, unlink
 * its first slot) and a weak reference to it (none; held by the program or
 * by the object itself; its callback makes another weak reference, or drops
 * the program's reference to the weak reference itself); and the collection:
 *   K_GEN0  rc_gc_collect(0), half the objects already in generation 1
 *   K_GEN1  rc_gc_collect(1), half the objects already old (generation 2):
 *           the candidate scan of those that lost references runs first
 *   K_FULL  rc_gc_collect(2)
 *   K_CAND  every object old; rc_gc_collect(0) scans the candidates
 *   K_AUTO  automatic collection triggered by an allocation
 *
 * The model (sim_*) plays the same program: refcount deaths (PEP 442:
 * finalizer first, resurrection possible; weak references cleared, callbacks
 * of live ones called), and for a collection CPython's order -- garbage is
 * what the set cannot reach from outside; weak references to garbage and
 * weak references in the garbage are cleared, callbacks run only for the
 * others; finalizers run on intact objects; what they resurrected, and all
 * it reaches, survives intact; the rest is freed, and rc_gc_collect returns its
 * number. Inside finalizers and callbacks the real run checks that nothing
 * was cleared yet and that the weak references to garbage were. At the end
 * the real heap must match the model: who lives, their slots, which weak
 * references are cleared, which finalizers and callbacks ran, the count.
 *
 * Sizes: n <= 2 every case (72,000); n = 3 every edge set, holder set and
 * collection, each with 20 sampled finalizer and weak-reference choices
 * (51,200); n = 4 30,000 sampled cases (fixed seed). RC_EXHAUSTIVE_FULL=1
 * enumerates n = 3 completely (86 million cases: hours); RC_TEST_QUICK=1
 * samples 20,000 per size. One kind of weak reference has a callback that
 * makes a weak reference to other garbage and keeps what it gets: garbage
 * of the running collection must read as dead through it.
 *
 * Usage: test_exhaustive [n [case]]   (a failing case prints both)
 */
#include "recycle.h"
#include "recycle/gc.h"
#include "recycle/weakref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXN 4
#define NSLOT (MAXN + 1)       /* slots 0..3: edges; slot 4: own weak reference */
/* Objects of a case, numbered alike in the model and the heap: nodes 0..n-1,
 * the weak reference to node i is n + i, the one its callback makes 2n + i. */
#define MAXX (3 * MAXN)

enum { FIN_NONE, FIN_RESURRECT, FIN_UNLINK, NFINS };
enum { WK_NONE, WK_PROG_NEW, WK_PROG_DROP, WK_SELF_NEW, WK_SELF_DROP, WK_PROG_REVIVE, NWKS };
enum { K_GEN0, K_GEN1, K_FULL, K_CAND, K_AUTO, NKINDS };
enum { CB_NONE, CB_NEW, CB_DROP, CB_REVIVE, CB_RECORD };
enum { X_NODE, X_WEAK };

typedef struct xobj {
    int exists, kind, alive, prog;
    int young;                 /* generation 0 (else aged: 1 for K_GEN0, 2 otherwise) */
    int old;                   /* generation 2: losing a reference buffers it */
    int fin, finalized;
    int slot[NSLOT];           /* X_NODE: -1 or id */
    int target, data, cb, cleared, cb_ran;  /* X_WEAK */
    int cand;                  /* lost a reference while old and lived: buffered */
} xobj;

typedef struct world {
    xobj x[MAXX];
    int n;
    int in_gc;
    int garbage[MAXX];         /* the current collection's garbage */
    int g_cand[MAXX], g_gen[MAXX];   /* garbage of the candidate scan, of the generation */
} world;

typedef struct kase {
    int n, kind;
    unsigned edges, roots;
    int fin[MAXN], wk[MAXN];
} kase;

static int failures;
static const kase *cur;
static long cur_index;

#define FAIL(...)                                                              \
    do {                                                                       \
        if (failures++ < 20) {                                                 \
            fprintf(stderr, "case n=%d #%ld (kind %d edges %#x roots %#x fin %d%d%d%d weak %d%d%d%d): ", \
                    cur->n, cur_index, cur->kind, cur->edges, cur->roots,      \
                    cur->fin[0], cur->fin[1], cur->fin[2], cur->fin[3],        \
                    cur->wk[0], cur->wk[1], cur->wk[2], cur->wk[3]);           \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
        }                                                                      \
    } while (0)


/* ------------------------------------------------------------------------
 * The model
 * --------------------------------------------------------------------- */

static world M;

static void sim_make(int i, int kind, int young)
{
    memset(&M.x[i], 0, sizeof M.x[i]);
    M.x[i].exists = M.x[i].alive = 1;
    M.x[i].kind = kind;
    M.x[i].prog = 1;
    M.x[i].young = young;
    M.x[i].target = M.x[i].data = -1;
    for (int k = 0; k < NSLOT; k++) M.x[i].slot[k] = -1;
}

/* Calls body with t = each object x holds a reference to. */
#define OUT_EDGES(x, t, body)                                                  \
    do {                                                                       \
        int t;                                                                 \
        if ((x)->kind == X_NODE) {                                             \
            for (int k_ = 0; k_ < NSLOT; k_++)                                 \
                if ((t = (x)->slot[k_]) >= 0) { body; }                        \
        } else if ((t = (x)->data) >= 0) { body; }                             \
    } while (0)

static int sim_refs(int y)
{
    int r = M.x[y].prog;
    for (int i = 0; i < MAXX; i++)
        if (M.x[i].alive) OUT_EDGES(&M.x[i], t, r += t == y);
    return r;
}

static void sim_release(int y);
static void sim_callback(int w);

/* Clear the weak references to y; call back the live ones, newest first. */
static void sim_clear_weak_to(int y)
{
    int list[MAXX], nl = 0;
    for (int w = MAXX - 1; w >= 0; w--)
        if (M.x[w].alive && M.x[w].kind == X_WEAK && M.x[w].target == y && !M.x[w].cleared) {
            M.x[w].cleared = 1;
            list[nl++] = w;
        }
    for (int k = 0; k < nl; k++) sim_callback(list[k]);
}

/* y lost a reference: refcount semantics (PEP 442 finalizer first). */
static void sim_release(int y)
{
    xobj *o = &M.x[y];
    if (!o->alive) return;
    if (sim_refs(y) > 0) {
        if (o->old) o->cand = 1;
        return;
    }
    if (o->kind == X_NODE && o->fin != FIN_NONE && !o->finalized) {
        o->finalized = 1;
        if (o->fin == FIN_RESURRECT) {
            o->prog++;
            return;
        }
        for (int k = 0; k < NSLOT; k++)
            if (o->slot[k] >= 0) {
                int t = o->slot[k];
                o->slot[k] = -1;
                sim_release(t);
                break;
            }
    }
    sim_clear_weak_to(y);
    o->alive = 0;
    o->cand = 0;
    OUT_EDGES(o, t, sim_release(t));
    if (o->kind == X_WEAK) o->data = -1;
}

static void sim_drop(int y)
{
    M.x[y].prog--;
    sim_release(y);
}

static void sim_callback(int w)
{
    xobj *o = &M.x[w];
    if (o->cb == CB_NONE) return;
    o->cb_ran = 1;
    if (o->cb == CB_RECORD) return;
    o->prog++;   /* held during the call */
    int mine = 2 * M.n + o->target;
    if (o->cb == CB_NEW) {
        sim_make(mine, X_WEAK, 1);
        M.x[mine].target = o->data >= 0 ? o->data : w;
        M.x[mine].cb = CB_RECORD;
    } else if (o->cb == CB_DROP) {
        if (o->prog > 1) o->prog--;   /* the program's own reference, if it holds one */
    } else if (o->cb == CB_REVIVE) {
        int t = (o->target + 1) % M.n;
        if (M.in_gc && M.garbage[o->target] && t != o->target && M.x[t].alive) {
            sim_make(mine, X_WEAK, 1);
            M.x[mine].target = t;
            /* recycle's rule: no code reaches garbage through a weak reference */
            if (M.in_gc && M.garbage[t]) M.x[mine].cleared = 1;
            else M.x[t].prog++;
        }
    }
    /* the hold on the data object goes right after the callback */
    int d = o->data;
    o->data = -1;
    o->prog--;
    if (d >= 0) sim_release(d);
    sim_release(w);
}

static void sim_reach(int *r, const int *seed)
{
    int stack[MAXX], sp = 0;
    for (int i = 0; i < MAXX; i++) {
        r[i] = seed[i] && M.x[i].alive;
        if (r[i]) stack[sp++] = i;
    }
    while (sp) {
        int i = stack[--sp];
        OUT_EDGES(&M.x[i], t, if (M.x[t].alive && !r[t]) { r[t] = 1; stack[sp++] = t; });
    }
}

/* One collection of the set `member`; its garbage goes to gout. Returns
 * the number freed. */
static size_t sim_collect(const int *member, int *gout)
{
    int seed[MAXX], r[MAXX], any = 0;
    for (int i = 0; i < MAXX; i++) seed[i] = M.x[i].alive && (M.x[i].prog > 0 || !member[i]);
    sim_reach(r, seed);
    for (int i = 0; i < MAXX; i++) {
        M.garbage[i] = gout[i] = M.x[i].alive && member[i] && !r[i];
        any |= M.garbage[i];
        if (M.x[i].alive && member[i]) M.x[i].cand = 0;
    }
    if (!any) return 0;
    M.in_gc = 1;
    int calls[MAXX], nc = 0;
    for (int w = MAXX - 1; w >= 0; w--) {
        xobj *o = &M.x[w];
        if (!o->alive || o->kind != X_WEAK || o->cleared) continue;
        if (M.garbage[w]) {
            o->cleared = 1;
        } else if (M.garbage[o->target]) {
            o->cleared = 1;
            calls[nc++] = w;
        }
    }
    for (int k = 0; k < nc; k++) sim_callback(calls[k]);
    for (int i = 0; i < MAXX; i++) {
        xobj *o = &M.x[i];
        if (!M.garbage[i] || o->kind != X_NODE || o->fin == FIN_NONE || o->finalized) continue;
        o->finalized = 1;
        if (o->fin == FIN_RESURRECT) {
            o->prog++;
        } else {
            for (int k = 0; k < NSLOT; k++)
                if (o->slot[k] >= 0) {
                    int t = o->slot[k];
                    o->slot[k] = -1;
                    if (!M.garbage[t]) sim_release(t);
                    break;
                }
        }
    }
    /* what was resurrected survives with all it reaches */
    for (int i = 0; i < MAXX; i++) seed[i] = M.x[i].alive && (M.x[i].prog > 0 || !M.garbage[i]);
    sim_reach(r, seed);
    size_t freed = 0;
    int dead[MAXX] = {0};
    for (int i = 0; i < MAXX; i++)
        if (M.garbage[i] && !r[i]) dead[i] = 1, freed++;
    memset(M.garbage, 0, sizeof M.garbage);
    M.in_gc = 0;
    for (int i = 0; i < MAXX; i++)
        if (dead[i]) M.x[i].alive = 0, M.x[i].cand = 0;
    for (int i = 0; i < MAXX; i++)
        if (dead[i]) {
            OUT_EDGES(&M.x[i], t, if (!dead[t]) sim_release(t));
            if (M.x[i].kind == X_WEAK) M.x[i].data = -1;
        }
    return freed;
}

/* The candidate scan: buffered objects and the objects they reach, young
 * ones too (a cycle of old and young objects is garbage as a whole). */
static size_t sim_candidates(void)
{
    int seed[MAXX], r[MAXX], any = 0;
    for (int i = 0; i < MAXX; i++) any |= seed[i] = M.x[i].alive && M.x[i].cand;
    if (!any) return 0;
    sim_reach(r, seed);
    return sim_collect(r, M.g_cand);
}

static int wk_cb(int wk)
{
    switch (wk) {
    case WK_PROG_NEW: case WK_SELF_NEW: return CB_NEW;
    case WK_PROG_DROP: case WK_SELF_DROP: return CB_DROP;
    case WK_PROG_REVIVE: return CB_REVIVE;
    default: return CB_NONE;
    }
}
static int wk_self(int wk) { return wk == WK_SELF_NEW || wk == WK_SELF_DROP; }

/* Node i (and its weak reference) is aged before the drops. */
static int aged(const kase *c, int i)
{
    return c->kind == K_CAND || ((c->kind == K_GEN0 || c->kind == K_GEN1) && i < c->n / 2);
}

/* Play case c on the model; returns what the collection frees. */
static size_t model_case(const kase *c)
{
    memset(&M, 0, sizeof M);
    int n = M.n = c->n;
    for (int i = 0; i < n; i++) {
        sim_make(i, X_NODE, !aged(c, i));
        M.x[i].fin = c->fin[i];
        M.x[i].old = aged(c, i) && c->kind != K_GEN0;
    }
    for (int i = 0; i < n; i++) {
        if (c->wk[i] == WK_NONE) continue;
        int w = n + i;
        sim_make(w, X_WEAK, !aged(c, i));
        M.x[w].old = M.x[i].old;
        M.x[w].target = i;
        M.x[w].cb = wk_cb(c->wk[i]);
        M.x[w].data = M.x[w].cb == CB_NEW ? (i + 1) % n : -1;
        if (wk_self(c->wk[i])) M.x[i].slot[MAXN] = w;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (c->edges >> (i * n + j) & 1) M.x[i].slot[j] = j;
    for (int i = 0; i < n; i++)
        if (wk_self(c->wk[i])) sim_drop(n + i);
    for (int i = 0; i < n; i++)
        if (!(c->roots >> i & 1)) sim_drop(i);
    size_t freed = 0;
    int member[MAXX];
    switch (c->kind) {
    case K_GEN0: case K_GEN1:
        freed += sim_candidates();
        for (int i = 0; i < MAXX; i++) member[i] = M.x[i].young;
        freed += sim_collect(member, M.g_gen);
        break;
    case K_FULL: case K_AUTO:
        for (int i = 0; i < MAXX; i++) member[i] = 1;
        freed += sim_collect(member, M.g_gen);
        break;
    case K_CAND:
        freed += sim_candidates();
        break;
    }
    return freed;
}

/* ------------------------------------------------------------------------
 * The real run
 * --------------------------------------------------------------------- */

typedef struct rnode {
    void *slot[NSLOT];
    int id;
} rnode;

static struct {
    rc_heap *h;
    void *p[MAXX];
    int exists[MAXX], kind[MAXX], destroyed[MAXX];
    int fin[MAXX], fin_ran[MAXX], cb_ran[MAXX];
    int slot[MAXX][NSLOT];     /* what each node's slots hold now */
    int cb[MAXX], data[MAXX], target[MAXX];
    int in_gc;
    const int *garbage;        /* the model's garbage of the collection running */
    size_t gc_collected;
    int weak_self_alive[MAXX]; /* 0: a weakref the heap may have freed (by refcount) */
    int wprog[MAXX];           /* the program holds this weak reference */
} R;

static int r_id(const void *p)
{
    for (int i = MAXX - 1; i >= 0; i--)
        if (R.exists[i] && R.p[i] == p) return i;
    return -1;
}

/* Inside a collection: nothing of the garbage is cleared yet, and the weak
 * references to it (and in it) are. */
static void check_intact(const char *who)
{
    if (!R.in_gc || !R.garbage) return;
    for (int i = 0; i < MAXX; i++) {
        if (!R.garbage[i]) continue;
        if (R.kind[i] == X_NODE) {
            rnode *n = R.p[i];
            for (int k = 0; k < NSLOT; k++) {
                void *want = R.slot[i][k] >= 0 ? R.p[R.slot[i][k]] : NULL;
                if (n->slot[k] != want) FAIL("%s: garbage object %d slot %d already cleared", who, i, k);
            }
        } else if (rc_weakref_alive(R.p[i])) {
            FAIL("%s: weak reference %d in the garbage not cleared", who, i);
        }
    }
    for (int w = 0; w < MAXX; w++)
        if (R.exists[w] && R.kind[w] == X_WEAK && !R.garbage[w] && R.target[w] >= 0 &&
            R.garbage[R.target[w]] && R.weak_self_alive[w] && rc_weakref_alive(R.p[w]))
            FAIL("%s: weak reference %d to garbage not cleared", who, w);
}

static void r_finalize(void *obj)
{
    rnode *n = obj;
    int i = n->id;
    if (R.fin_ran[i]++) FAIL("finalizer of %d ran twice", i);
    /* a finalizer of the garbage (others may run later, for objects that
     * die by refcount while the garbage lets go of them) */
    if (R.in_gc && R.garbage && R.garbage[i]) check_intact("finalizer");
    for (int k = 0; k < NSLOT; k++) {
        void *want = R.slot[i][k] >= 0 ? R.p[R.slot[i][k]] : NULL;
        if (n->slot[k] != want) FAIL("finalizer of %d: slot %d changed", i, k);
    }
    if (R.fin[i] == FIN_RESURRECT) {
        rc_incref(obj);
    } else if (R.fin[i] == FIN_UNLINK) {
        for (int k = 0; k < NSLOT; k++)
            if (n->slot[k]) {
                void *t = n->slot[k];
                n->slot[k] = NULL;
                R.slot[i][k] = -1;
                rc_decref(t);
                break;
            }
    }
}

static void r_destroy(void *obj)
{
    rnode *n = obj;
    if (n->id >= 0) R.destroyed[n->id] = 1;
}

static void r_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    rnode *n = obj;
    for (int k = 0; k < NSLOT; k++) visit(n->slot[k], arg);
}
static void r_clear(void *obj)
{
    rnode *n = obj;
    for (int k = 0; k < NSLOT; k++) {
        void *c = n->slot[k];
        n->slot[k] = NULL;
        if (c) rc_decref(c);
    }
}

static const rc_type r_types[4] = {
    {.name = "ex", .size = sizeof(rnode), .nslots = NSLOT, .destroy = r_destroy},
    {.name = "ex_fin", .size = sizeof(rnode), .nslots = NSLOT, .finalize = r_finalize,
     .destroy = r_destroy},
    {.name = "ex_cb", .size = sizeof(rnode), .traverse = r_traverse, .clear = r_clear,
     .destroy = r_destroy},
    {.name = "ex_cb_fin", .size = sizeof(rnode), .traverse = r_traverse, .clear = r_clear,
     .finalize = r_finalize, .destroy = r_destroy},
};

static void r_callback(rc_weakref *w, void *ud);

static void r_weak(int i, int target, int cb, int data)
{
    rc_weakref_callback_fn fn = cb == CB_NONE ? NULL : r_callback;
    rc_weakref *w = data >= 0 ? rc_weakref_new_owned(R.p[target], fn, R.p[data])
                              : rc_weakref_new(R.p[target], fn, NULL);
    if (!w) {
        FAIL("rc_weakref_new: %s", rc_heap_error_message(R.h));
        abort();
    }
    R.p[i] = w;
    R.exists[i] = R.weak_self_alive[i] = R.wprog[i] = 1;
    R.kind[i] = X_WEAK;
    R.cb[i] = cb;
    R.data[i] = data;
    R.target[i] = target;
}

static void r_callback(rc_weakref *w, void *ud)
{
    (void)ud;
    int i = r_id(w);
    if (i < 0) {
        FAIL("callback of an unknown weak reference");
        return;
    }
    if (R.cb_ran[i]++) FAIL("callback of %d ran twice", i);
    if (rc_weakref_alive(w)) FAIL("callback of %d before its clearing", i);
    if (R.in_gc && R.garbage && R.garbage[i]) FAIL("callback of weak reference %d that is garbage", i);
    if (R.in_gc && R.garbage && R.garbage[R.target[i]]) check_intact("callback");
    int mine = 2 * cur->n + R.target[i];
    if (R.cb[i] == CB_NEW) {
        r_weak(mine, R.data[i] >= 0 ? R.data[i] : i, CB_RECORD, -1);
    } else if (R.cb[i] == CB_DROP && R.wprog[i]) {
        R.wprog[i] = 0;
        R.weak_self_alive[i] = 0;   /* may die once the call lets go */
        rc_decref(w);
    } else if (R.cb[i] == CB_REVIVE) {
        int t = (R.target[i] + 1) % cur->n;
        if (R.in_gc && R.garbage && R.garbage[R.target[i]] && t != R.target[i] && !R.destroyed[t]) {
            r_weak(mine, t, CB_NONE, -1);
            rc_weakref_get(R.p[mine]);   /* a new reference the program keeps */
        }
    }
}

static void r_gc_cb(rc_heap *h, int phase, const rc_gc_info *info, void *ud)
{
    (void)h; (void)ud;
    R.in_gc = phase == RC_GC_START;
    R.garbage = info->kind == RC_GC_CANDIDATE_SCAN ? M.g_cand : M.g_gen;
    if (phase == RC_GC_STOP) R.gc_collected += info->collected + info->uncollectable;
}

static void run_case(const kase *c)
{
    int n = c->n;
    size_t want = model_case(c);

    memset(&R, 0, sizeof R);
    rc_heap_config cfg;
    rc_heap_config_init(&cfg);
    cfg.disabled = 1;
    cfg.threshold[1] = cfg.threshold[2] = 1000;
    cfg.allocator.commit = NULL;     /* tiny heaps: no faulting in ahead */
    cfg.allocator.hugepage = NULL;
    R.h = rc_heap_new(&cfg);
    rc_gc_callback_add(R.h, r_gc_cb, NULL);
    for (int i = 0; i < n; i++) {
        rnode *o = rc_new(R.h, &r_types[(c->fin[i] != FIN_NONE) + 2 * (i & 1)]);
        o->id = i;
        R.p[i] = o;
        R.exists[i] = 1;
        R.kind[i] = X_NODE;
        R.fin[i] = c->fin[i];
        for (int k = 0; k < NSLOT; k++) R.slot[i][k] = -1;
    }
    for (int i = 0; i < n; i++)
        if (c->wk[i] != WK_NONE) {
            int cb = wk_cb(c->wk[i]);
            r_weak(n + i, i, cb, cb == CB_NEW ? (i + 1) % n : -1);
        }
    /* age: everything old, then the young ones back to generation 0 */
    int any_aged = 0;
    for (int i = 0; i < n; i++) any_aged |= aged(c, i);
    if (any_aged) {
        rc_gc_collect(R.h, c->kind == K_GEN0 ? 0 : 1);
        for (int i = 0; i < 2 * n; i++)
            if (R.exists[i] && !aged(c, i % n)) {
                rc_gc_untrack(R.p[i]);
                rc_gc_track(R.p[i]);
            }
    }
    for (int i = 0; i < n; i++) {
        rnode *o = R.p[i];
        for (int j = 0; j < n; j++)
            if (c->edges >> (i * n + j) & 1) {
                rc_incref(R.p[j]);
                o->slot[j] = R.p[j];
                R.slot[i][j] = j;
            }
        if (wk_self(c->wk[i])) {
            rc_incref(R.p[n + i]);
            o->slot[MAXN] = R.p[n + i];
            R.slot[i][MAXN] = n + i;
        }
    }
    R.gc_collected = 0;
    for (int i = 0; i < n; i++)
        if (wk_self(c->wk[i])) {
            R.wprog[n + i] = 0;
            rc_decref(R.p[n + i]);
        }
    for (int i = 0; i < n; i++)
        if (!(c->roots >> i & 1)) rc_decref(R.p[i]);
    size_t got = 0;
    switch (c->kind) {
    case K_GEN0: case K_CAND: got = rc_gc_collect(R.h, 0); break;
    case K_GEN1: got = rc_gc_collect(R.h, 1); break;
    case K_FULL: got = rc_gc_collect(R.h, 2); break;
    case K_AUTO: {
        R.gc_collected = 0;
        rc_gc_set_threshold(R.h, 1, 1000, 1000);
        rc_gc_enable(R.h);
        rnode *dummy = rc_new(R.h, &r_types[0]);
        rc_gc_disable(R.h);
        dummy->id = -1;
        rc_decref(dummy);
        got = R.gc_collected;
        break;
    }
    }
    R.garbage = NULL;
    if (got != want) FAIL("the collection freed %zu, model %zu", got, want);
    size_t alive = 0;
    for (int i = 0; i < MAXX; i++) {
        xobj *o = &M.x[i];
        alive += o->exists && o->alive;
        if (o->exists != R.exists[i]) {
            FAIL("object %d %s, model %s", i, R.exists[i] ? "made" : "not made", o->exists ? "made" : "not");
            continue;
        }
        if (!o->exists) continue;
        if (o->kind == X_NODE) {
            if (R.destroyed[i] == o->alive)
                FAIL("object %d %s, model %s", i, R.destroyed[i] ? "freed" : "lives", o->alive ? "lives" : "freed");
            if (!R.destroyed[i] && o->alive) {
                rnode *nd = R.p[i];
                for (int k = 0; k < NSLOT; k++) {
                    void *wp = o->slot[k] >= 0 ? R.p[o->slot[k]] : NULL;
                    if (nd->slot[k] != wp) FAIL("object %d slot %d wrong after the collection", i, k);
                }
            }
            if (R.fin_ran[i] != o->finalized)
                FAIL("finalizer of %d ran %d times, model %d", i, R.fin_ran[i], o->finalized);
        } else {
            if (R.cb_ran[i] != o->cb_ran) FAIL("callback of %d ran %d times, model %d", i, R.cb_ran[i], o->cb_ran);
            if (o->alive && rc_weakref_alive(R.p[i]) == o->cleared)
                FAIL("weak reference %d %s, model %s", i, o->cleared ? "alive" : "cleared",
                     o->cleared ? "cleared" : "alive");
        }
    }
    rc_heap_stats st;
    rc_heap_get_stats(R.h, &st);
    if (st.objects != alive) FAIL("heap has %zu objects, model %zu", st.objects, alive);
    rc_heap_free(R.h);
}

/* ------------------------------------------------------------------------
 * Enumeration
 * --------------------------------------------------------------------- */

static unsigned long long rng = 0x9E3779B97F4A7C15ull;
static unsigned rnd(unsigned m)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % m);
}

/* Case number idx of size n: the mixed-radix digits of idx. */
static void decode(kase *c, int n, long long idx, int nwk)
{
    memset(c, 0, sizeof *c);
    c->n = n;
    c->kind = (int)(idx % NKINDS); idx /= NKINDS;
    c->roots = (unsigned)(idx % (1 << n)); idx /= 1 << n;
    c->edges = (unsigned)(idx % (1ll << (n * n))); idx /= 1ll << (n * n);
    for (int i = 0; i < n; i++) { c->fin[i] = (int)(idx % NFINS); idx /= NFINS; }
    for (int i = 0; i < n; i++) { c->wk[i] = (int)(idx % nwk); idx /= nwk; }
}

static long long space(int n, int nwk)
{
    long long s = NKINDS * (1ll << n) * (1ll << (n * n));
    for (int i = 0; i < n; i++) s *= NFINS * nwk;
    return s;
}

static int run_one(int n, long long idx, int nwk)
{
    kase c;
    decode(&c, n, idx, nwk);
    cur = &c;
    cur_index = idx;
    int before = failures;
    run_case(&c);
    cur = NULL;
    if (failures > before) {
        fprintf(stderr, "  rerun: test_exhaustive %d %lld\n", n, idx);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int nwk = NWKS;
    if (argc == 3) {
        int bad = run_one(atoi(argv[1]), atoll(argv[2]), nwk);
        printf("%d passed, %d failed\n", !bad, bad);
        return bad;
    }
    int full = getenv("RC_EXHAUSTIVE_FULL") != NULL, quick = getenv("RC_TEST_QUICK") != NULL;
    long long cases = 0, bad = 0;
    for (int n = 1; n <= MAXN; n++) {
        long long all = space(n, nwk);
        long long budget = full && n <= 3 ? all : quick ? 20000 : n <= 2 ? all : n == 3 ? 51200 : 30000;
        if (budget >= all) {
            for (long long idx = 0; idx < all; idx++) bad += run_one(n, idx, nwk), cases++;
        } else if (n == 3 && !quick) {
            /* every edge set, holder set and collection; finalizers and weak
             * references sampled */
            long long base = NKINDS * (1ll << n) * (1ll << (n * n));
            long long per = budget / base;
            for (long long low = 0; low < base; low++)
                for (long long k = 0; k < per; k++) {
                    long long hi = (long long)rnd(1u << 30) % (all / base);
                    bad += run_one(n, low + base * hi, nwk), cases++;
                }
        } else {
            for (long long k = 0; k < budget; k++) {
                long long idx = (((long long)rnd(1u << 30) << 30) | rnd(1u << 30)) % all;
                bad += run_one(n, idx, nwk), cases++;
            }
        }
        printf("n=%d: %lld cases so far, %lld failed\n", n, cases, bad);
        fflush(stdout);
    }
    printf("%lld passed, %lld failed\n", cases - bad, bad);
    return bad ? 1 : 0;
}
