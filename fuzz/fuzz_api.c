/*
 * fuzz_api.c -- the public API driven by bytes, against a shadow model.
 *
 * Each input is read as a heap configuration followed by a sequence of
 * operations: new objects of user types (slots form, traverse/clear form,
 * traverse without clear; each with or without a finalizer that resurrects or
 * drops; and a plain slots type with no hook at all, whose garbage a
 * release build frees on its plain paths), slot links, increfs and decrefs,
 * list, tuple, str and dict operations (int, str and tuple keys), weak references with callbacks,
 * collections of each generation, freeze and unfreeze, gc queries and the
 * leak tools. Finalizers and weak-reference callbacks read their choices
 * from the same bytes, so every run is reproducible from its input.
 *
 * The model keeps, per object: the references the program owns (`held`, plus
 * `pins`: temporary holds while an operation uses an object, as an
 * interpreter's stack would), every reference the object holds (edges), and
 * whether the object is known to be dead. After every operation (sync):
 *   - the heap's tracked objects (rc_gc_get_objects) are exactly the model's
 *     live tracked objects; one that vanished died in a collection and must
 *     have been unreachable from what the program holds;
 *   - an object whose model refcount is 0 is gone (refcounting is exact);
 *   - every live object has exactly the model's refcount and contents, and
 *     the heap's object count is the model's;
 *   - after a full collection that nothing disturbed, every live object is
 *     reachable from what the program holds or from frozen objects.
 * User objects with a destroy hook are also checked when they die (never
 * while reachable; a plain one's death is learnt at the next sync, as a
 * container's), when finalized (intact, at most once) and weak-reference
 * callbacks when called (the weak reference is cleared, called once).
 * Any mismatch aborts with a message.
 *
 * Built with libFuzzer (-DRC_FUZZ_LIBFUZZER, -fsanitize=fuzzer) it is a fuzz
 * target; otherwise main() replays the files and directories given as
 * arguments (the seed corpus in CI).
 */
#include "recycle.h"
#include "recycle/builtins.h"
#include "recycle/gc.h"
#include "recycle/leak.h"
#include "recycle/weakref.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAXO 192          /* objects per input */
#define NS 3              /* slots per user object */
#define MAXI 12           /* items per list / tuple, entries per dict */
#define MAXOPS 3000

enum { K_NODE, K_LIST, K_DICT, K_TUPLE, K_STR, K_WEAK, K_INT, NKINDS };
enum { F_NONE, F_RESURRECT, F_UNLINK, F_KEEP_CHILD, F_RESURRECT_UNLINK, F_WEAK_SELF, NFIN };
enum { W_NONE, W_NOOP, W_RESURRECT_DATA, W_NEW_WEAK, W_DROP, W_REVIVE_OTHER, NWCB };

/* A model value: >= 0 an object handle, < 0 the immediate integer -1 - v. */
typedef int mval;
#define IS_H(v) ((v) >= 0)
#define IMM(i) (-1 - (i))

typedef struct unode {
    void *slot[NS];
    uint32_t magic;
    int32_t id;
} unode;

typedef struct mobj {
    int kind, alive, held, pins;
    void *p;
    int utype;               /* K_NODE: index into utypes */
    int fin, finalized;      /* K_NODE: finalizer mode, times run */
    int slot[NS];            /* K_NODE: -1 or handle */
    mval items[MAXI];        /* K_LIST, K_TUPLE */
    int n;                   /* items or entries */
    mval keys[MAXI], vals[MAXI];   /* K_DICT */
    char s[4];               /* K_STR */
    int64_t ival;            /* K_INT: a boxed int's value (beyond the immediates) */
    int slen;
    int target, cb, data, cb_ran;  /* K_WEAK: data -1 or handle (edge while held) */
    int cleared;             /* K_WEAK: seen cleared */
    int unreach_at_gc;       /* was unreachable when some collection started */
    int born_in_gc;
} mobj;

static struct {
    const uint8_t *d;
    size_t n, i;
    rc_heap *h;
    mobj o[MAXO];
    int nobj;
    int reach[MAXO];
    int in_gc;               /* inside a collection (gc callbacks) */
    int dirty;               /* a collection was disturbed: garbage may remain */
    int op;                  /* current op number, for messages */
    int trace;               /* RC_FUZZ_TRACE: print what happens */
    /* pointer -> newest handle */
    void *hp[1024];
    int hh[1024];
} S;

static void fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "fuzz_api: op %d: ", S.op);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}
static void tr(const char *fmt, ...)
{
    if (!S.trace) return;
    va_list ap;
    fprintf(stderr, "  [%d%s] ", S.op, S.in_gc ? " gc" : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
#define ENSURE(c, ...) do { if (!(c)) fail(__VA_ARGS__); } while (0)

static unsigned byte(void) { return S.i < S.n ? S.d[S.i++] : 0; }
static int more(void) { return S.i < S.n; }

/* ---- pointer map ---- */

static size_t hslot(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 29;
    x *= 0x9E3779B97F4A7C15ull;
    return (size_t)(x >> 54);   /* 10 bits */
}
static void map_put(void *p, int h)
{
    size_t i = hslot(p);
    while (S.hp[i] && S.hp[i] != p) i = (i + 1) & 1023;
    S.hp[i] = p;
    S.hh[i] = h;
}
/* The newest handle created at address p, or -1. */
static int map_get(const void *p)
{
    if (!p) return -1;
    size_t i = hslot(p);
    while (S.hp[i]) {
        if (S.hp[i] == p) return S.hh[i];
        i = (i + 1) & 1023;
    }
    return -1;
}
/* The live handle of object p (fails when the model has none). */
static int handle_of(const void *p, const char *what)
{
    int h = map_get(p);
    ENSURE(h >= 0 && S.o[h].alive, "%s: %p is no live object of the model", what, (void *)p);
    return h;
}

/* ---- user types ---- */

static uint32_t magic_of(int id) { return (uint32_t)id * 2654435761u ^ 0x5bd1e995u; }

static void on_finalize(void *obj);
static void on_destroy(void *obj);
static void u_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    unode *n = obj;
    for (int k = 0; k < NS; k++) visit(n->slot[k], arg);
}
static void u_clear(void *obj)
{
    unode *n = obj;
    for (int k = 0; k < NS; k++) {
        void *c = n->slot[k];
        n->slot[k] = NULL;
        if (c) rc_decref(c);
    }
}

#define NUTYPES 6
static const rc_type utypes[NUTYPES] = {
    {.name = "fz_slots", .size = sizeof(unode), .nslots = NS, .destroy = on_destroy},
    {.name = "fz_slots_fin", .size = sizeof(unode), .nslots = NS, .finalize = on_finalize,
     .destroy = on_destroy},
    {.name = "fz_cb", .size = sizeof(unode), .traverse = u_traverse, .clear = u_clear,
     .destroy = on_destroy},
    {.name = "fz_cb_fin", .size = sizeof(unode), .traverse = u_traverse, .clear = u_clear,
     .finalize = on_finalize, .destroy = on_destroy},
    {.name = "fz_trav", .size = sizeof(unode), .traverse = u_traverse, .destroy = on_destroy},
    {.name = "fz_plain", .size = sizeof(unode), .nslots = NS},
};

/* ---- the model ---- */

/* Whether the library tracks the object: every kind but str and int, less a
 * tuple made of atoms (immediates, strs, ints; rc_tuple_new leaves it
 * untracked, to die by refcount alone). */
static int tracked(const mobj *m)
{
    if (m->kind == K_STR || m->kind == K_INT) return 0;
    if (m->kind != K_TUPLE || !m->n) return 1;
    for (int k = 0; k < m->n; k++) {
        mval v = m->items[k];
        if (IS_H(v) && S.o[v].kind != K_STR && S.o[v].kind != K_INT) return 1;
    }
    return 0;
}

/* Calls f(target handle) for every reference object h holds. */
#define FOR_EDGES(m, t, body)                                                  \
    do {                                                                       \
        const mobj *m_ = (m);                                                  \
        int t;                                                                 \
        switch (m_->kind) {                                                    \
        case K_NODE:                                                           \
            for (int e_ = 0; e_ < NS; e_++)                                    \
                if ((t = m_->slot[e_]) >= 0) { body; }                         \
            break;                                                             \
        case K_LIST: case K_TUPLE:                                             \
            for (int e_ = 0; e_ < m_->n; e_++)                                 \
                if ((t = m_->items[e_]) >= 0) { body; }                        \
            break;                                                             \
        case K_DICT:                                                           \
            for (int e_ = 0; e_ < m_->n; e_++) {                               \
                if ((t = m_->keys[e_]) >= 0) { body; }                         \
                if ((t = m_->vals[e_]) >= 0) { body; }                         \
            }                                                                  \
            break;                                                             \
        case K_WEAK:                                                           \
            if ((t = m_->data) >= 0) { body; }                                 \
            break;                                                             \
        default: break;                                                        \
        }                                                                      \
    } while (0)

/* reach[i] = 1 for live objects reachable from the program's references
 * (held, pins) and, with extra_roots, from the marked objects too. */
static void compute_reach(int *reach, const int *extra_roots)
{
    int stack[MAXO], sp = 0;
    memset(reach, 0, sizeof(int) * MAXO);
    for (int i = 0; i < S.nobj; i++)
        if (S.o[i].alive && (S.o[i].held + S.o[i].pins > 0 || (extra_roots && extra_roots[i])))
            reach[i] = 1, stack[sp++] = i;
    while (sp) {
        int x = stack[--sp];
        FOR_EDGES(&S.o[x], y, if (S.o[y].alive && !reach[y]) { reach[y] = 1; stack[sp++] = y; });
    }
}

/* Model refcounts of every live object: held + pins + edges from live objects. */
static void model_refcounts(int *rc)
{
    for (int i = 0; i < S.nobj; i++) rc[i] = S.o[i].held + S.o[i].pins;
    for (int i = 0; i < S.nobj; i++)
        if (S.o[i].alive) FOR_EDGES(&S.o[i], y, rc[y]++);
}

/* Whether the model learns object i's death at once (a node's destroy
 * hook), rather than at the next sync (a container, a plain node). */
static int death_seen(int i)
{
    return S.o[i].kind == K_NODE && utypes[S.o[i].utype].destroy;
}

static void check_node(int i, const char *when)
{
    mobj *m = &S.o[i];
    unode *n = m->p;
    ENSURE(n->id == i && n->magic == magic_of(i), "%s: object %d (%s) corrupted", when, i,
           utypes[m->utype].name);
    for (int k = 0; k < NS; k++) {
        void *want = m->slot[k] >= 0 ? S.o[m->slot[k]].p : NULL;
        ENSURE(n->slot[k] == want, "%s: object %d (%s) slot %d is %p, model %p (object %d)", when,
               i, utypes[m->utype].name, k, n->slot[k], want, m->slot[k]);
    }
}

static rc_val to_val(mval v) { return IS_H(v) ? rc_obj(S.o[v].p) : rc_int(-1 - v); }

static int val_is(rc_val got, mval want)
{
    if (IS_H(want)) return rc_is_obj(got) && rc_as_obj(got) == S.o[want].p;
    return rc_is_int(got) && rc_as_int(got) == -1 - want;
}

static void check_contents(int i)
{
    mobj *m = &S.o[i];
    switch (m->kind) {
    case K_NODE:
        check_node(i, "sync");
        if (utypes[m->utype].finalize)
            ENSURE(rc_gc_is_finalized(m->p) == (m->finalized > 0), "object %d: is_finalized %d, model %d",
                   i, rc_gc_is_finalized(m->p), m->finalized);
        break;
    case K_LIST:
        ENSURE(rc_list_len(m->p) == (size_t)m->n, "list %d: len %zu, model %d", i, rc_list_len(m->p), m->n);
        for (int k = 0; k < m->n; k++)
            ENSURE(val_is(rc_list_get(m->p, k), m->items[k]), "list %d: item %d wrong", i, k);
        break;
    case K_TUPLE:
        ENSURE(rc_tuple_len(m->p) == (size_t)m->n, "tuple %d: len wrong", i);
        for (int k = 0; k < m->n; k++)
            ENSURE(val_is(rc_tuple_get(m->p, k), m->items[k]), "tuple %d: item %d wrong", i, k);
        break;
    case K_DICT: {
        ENSURE(rc_dict_len(m->p) == (size_t)m->n, "dict %d: len %zu, model %d", i, rc_dict_len(m->p), m->n);
        size_t pos = 0;
        rc_val k, v;
        int e = 0;
        while (rc_dict_next(m->p, &pos, &k, &v)) {
            ENSURE(e < m->n, "dict %d: more entries than the model", i);
            ENSURE(val_is(k, m->keys[e]) && val_is(v, m->vals[e]), "dict %d: entry %d wrong", i, e);
            ENSURE(rc_dict_contains(m->p, k), "dict %d: key %d not found", i, e);
            e++;
        }
        ENSURE(e == m->n, "dict %d: %d entries iterated, model %d", i, e, m->n);
        break;
    }
    case K_STR:
        ENSURE(rc_str_len(m->p) == (size_t)m->slen && !memcmp(rc_str_data(m->p), m->s, m->slen),
               "str %d: content changed", i);
        break;
    case K_INT:
        ENSURE(rc_is_int(rc_obj(m->p)) && rc_as_int(rc_obj(m->p)) == m->ival,
               "int %d: value %lld, model %lld", i, (long long)rc_as_int(rc_obj(m->p)),
               (long long)m->ival);
        break;
    case K_WEAK: {
        /* Alive only while its referent lives; once cleared, for good. It
         * may be cleared while the referent lives only if the referent or
         * the weak reference itself was garbage in a collection and then
         * resurrected (CPython clears weak references to garbage, and weak
         * references in the garbage, before finalizers run: bpo-38006). */
        int t = m->target, a = rc_weakref_alive(m->p);
        ENSURE(!a || (S.o[t].alive && !m->cleared), "weakref %d: alive but its referent %d is %s", i,
               t, S.o[t].alive ? "cleared before" : "dead");
        if (!a && !m->cleared) {
            ENSURE(!S.o[t].alive || S.o[t].unreach_at_gc || m->unreach_at_gc,
                   "weakref %d cleared while its referent %d lives and was never garbage", i, t);
            m->cleared = 1;
        }
        break;
    }
    }
}

/* The one place that verifies the heap's own invariants and every refcount
 * against the references inside the heap (rc_heap_check); it refuses
 * (RC_EBUSY) only while objects are being freed. */
static void check_heap(rc_heap *h)
{
    long problems = rc_heap_check(h, stderr);
    ENSURE(problems == 0 || (problems < 0 && rc_heap_error(h) == RC_EBUSY),
           "rc_heap_check found a broken invariant");
}

static void mark_dead(int i)
{
    tr("dead %d", i);
    S.o[i].alive = 0;
}

/* After every operation: learn which objects died, then check everything. */
static void sync(int after_full)
{
    int seen[MAXO] = {0};
    rc_list *all = rc_gc_get_objects(S.h, -1);
    ENSURE(all, "rc_gc_get_objects: %s", rc_heap_error_message(S.h));
    size_t n = 0;
    const rc_val *it = rc_list_items(all, &n);
    for (size_t k = 0; k < n; k++) {
        void *p = rc_as_obj(it[k]);
        int hd = map_get(p);
        ENSURE(hd >= 0 && S.o[hd].alive, "heap holds tracked object %p (%s) the model does not know",
               p, rc_typeof(p)->name);
        ENSURE(!seen[hd], "rc_gc_get_objects lists object %d twice", hd);
        seen[hd] = 1;
    }
    /* The list holds references: drop it before counting. */
    rc_decref(all);

    compute_reach(S.reach, NULL);
    for (int i = 0; i < S.nobj; i++) {
        if (!S.o[i].alive || !tracked(&S.o[i]) || seen[i]) continue;
        ENSURE(!S.reach[i], "object %d (kind %d) was freed while reachable", i, S.o[i].kind);
        ENSURE(!death_seen(i), "object %d freed without its destroy hook", i);
        mark_dead(i);
    }
    /* Untracked objects (str, int, tuples of atoms) die by refcount alone,
     * and a tuple's death may end its items: until nothing more dies. */
    int rc[MAXO];
    for (int died = 1; died;) {
        died = 0;
        model_refcounts(rc);
        for (int i = 0; i < S.nobj; i++)
            if (S.o[i].alive && !tracked(&S.o[i]) && rc[i] == 0) {
                mark_dead(i);
                died = 1;
            }
    }
    size_t alive = 0;
    for (int i = 0; i < S.nobj; i++) {
        if (!S.o[i].alive) continue;
        alive++;
        ENSURE(rc[i] > 0, "object %d (kind %d) has no reference but lives", i, S.o[i].kind);
        ENSURE(rc_refcount(S.o[i].p) == (uint32_t)rc[i], "object %d (kind %d): refcount %u, model %d",
               i, S.o[i].kind, rc_refcount(S.o[i].p), rc[i]);
        check_contents(i);
    }
    rc_heap_stats st;
    rc_heap_get_stats(S.h, &st);
    ENSURE(st.objects == alive, "heap has %zu objects, model %zu", st.objects, alive);
    if (after_full && !S.dirty) {
        int frozen[MAXO] = {0}, r2[MAXO];
        rc_list *fl = rc_gc_get_objects(S.h, 3);
        ENSURE(fl, "rc_gc_get_objects(3)");
        it = rc_list_items(fl, &n);
        for (size_t k = 0; k < n; k++) frozen[handle_of(rc_as_obj(it[k]), "frozen")] = 1;
        rc_decref(fl);
        compute_reach(r2, frozen);
        for (int i = 0; i < S.nobj; i++) {
            if (!S.o[i].alive || r2[i]) continue;
            for (int a = 0; a < S.nobj; a++)
                if (S.o[a].alive) FOR_EDGES(&S.o[a], y, if (y == i) tr("  held by %d (kind %d)", a, S.o[a].kind));
            fail("object %d (kind %d, refcount %u) unreachable after a full collection", i,
                 S.o[i].kind, rc_refcount(S.o[i].p));
        }
    }
    S.dirty = 0;
    check_heap(S.h);
    compute_reach(S.reach, NULL);
}

/* ---- handles ---- */

static int new_handle(int kind, void *p)
{
    ENSURE(S.nobj < MAXO, "too many objects");
    int i = S.nobj++;
    mobj *m = &S.o[i];
    memset(m, 0, sizeof *m);
    m->kind = kind;
    m->alive = 1;
    m->held = 1;
    m->p = p;
    m->target = m->data = -1;
    for (int k = 0; k < NS; k++) m->slot[k] = -1;
    m->born_in_gc = S.in_gc;
    /* A block reused at once proves its previous object died. */
    int old = map_get(p);
    if (old >= 0 && S.o[old].alive) {
        ENSURE(!death_seen(old), "object %d's block reused before its destroy hook", old);
        mark_dead(old);
    }
    map_put(p, i);
    tr("new %d kind %d at %p", i, kind, p);
    return i;
}

/* A live, reachable object of one of the kinds in `mask` (bit per kind), chosen by
 * the next byte; -1 when there is none. */
static int pick(unsigned mask)
{
    int cand[MAXO], nc = 0;
    for (int i = 0; i < S.nobj; i++)
        if (S.o[i].alive && S.reach[i] && (mask >> S.o[i].kind & 1)) cand[nc++] = i;
    unsigned b = byte();
    return nc ? cand[b % nc] : -1;
}
#define ANY ((1u << NKINDS) - 1)

/* A value: a small integer or a reachable object. */
static mval pick_val(void)
{
    unsigned b = byte();
    if (b % 4 == 0) return IMM((int)(b >> 2) % 8);
    int h = pick(ANY);
    return h >= 0 ? h : IMM(1);
}

static int pinned[16], npinned;
static void pin(int i)
{
    if (i < 0) return;
    ENSURE(npinned < 16, "pins");
    S.o[i].pins++;
    rc_incref(S.o[i].p);
    pinned[npinned++] = i;
}
static void pin_val(mval v) { if (IS_H(v)) pin(v); }
static void unpin_all(void)
{
    while (npinned) {
        int i = pinned[--npinned];
        S.o[i].pins--;
        rc_decref(S.o[i].p);
    }
}

/* Drop a reference the program holds to object i. */
static void drop_held(int i)
{
    tr("drop %d", i);
    S.o[i].held--;
    if (S.in_gc) S.dirty = 1;
    rc_decref(S.o[i].p);
}

/* Take a new reference the program got (already counted by the library). */
static void got_ref(void *p)
{
    S.o[handle_of(p, "got_ref")].held++;
}

/* ---- callbacks ---- */

static void wcb(rc_weakref *w, void *data);

static int adopt_weak(rc_weakref *w, int target, int cb, int data);

static int make_weak(int target, int cb, int data)
{
    void *tp = S.o[target].p;
    rc_weakref *w;
    rc_weakref_callback_fn fn = cb == W_NONE ? NULL : wcb;
    if (data >= 0) w = rc_weakref_new_owned(tp, fn, S.o[data].p);
    else w = rc_weakref_new(tp, fn, NULL);
    ENSURE(w, "rc_weakref_new: %s", rc_heap_error_message(S.h));
    return adopt_weak(w, target, cb, data);
}

/* The model's handle for weak reference w to `target`. */
static int adopt_weak(rc_weakref *w, int target, int cb, int data)
{
    int i = new_handle(K_WEAK, w);
    S.o[i].target = target;
    S.o[i].cb = cb;
    S.o[i].data = data;
    tr("weakref %d -> %d cb %d data %d", i, target, cb, data);
    return i;
}

static void on_finalize(void *obj)
{
    unode *n = obj;
    int i = n->id;
    ENSURE(i >= 0 && i < S.nobj && S.o[i].p == obj && S.o[i].alive, "finalizer of an unknown object");
    mobj *m = &S.o[i];
    check_node(i, "finalizer");
    ENSURE(m->finalized == 0, "object %d finalized twice", i);
    m->finalized++;
    tr("finalize %d mode %d", i, m->fin);
    switch (m->fin) {
    case F_RESURRECT:
        m->held++;
        rc_incref(obj);
        if (byte() & 1) {   /* and let it go again */
            m->held--;
            rc_decref(obj);
        }
        break;
    case F_UNLINK: {
        int k = byte() % NS;
        void *old = n->slot[k];
        m->slot[k] = -1;
        n->slot[k] = NULL;
        if (old) rc_decref(old);
        break;
    }
    case F_KEEP_CHILD: {
        int k = byte() % NS;
        if (m->slot[k] >= 0) {
            S.o[m->slot[k]].held++;
            rc_incref(n->slot[k]);
        }
        break;
    }
    case F_RESURRECT_UNLINK: {
        m->held++;
        rc_incref(obj);
        int k = byte() % NS;
        void *old = n->slot[k];
        m->slot[k] = -1;
        n->slot[k] = NULL;
        if (old) rc_decref(old);
        break;
    }
    case F_WEAK_SELF:
        /* A weak reference made by a finalizer during a collection to an
         * object that may stay garbage: it must read as dead and be cleared
         * without calling back before the garbage is. */
        if (S.nobj < MAXO) {
            int w = make_weak(i, byte() % 2 ? W_NOOP : W_NONE, -1);
            (void)w;
        }
        break;
    }
}

static void on_destroy(void *obj)
{
    unode *n = obj;
    int i = n->id;
    ENSURE(i >= 0 && i < S.nobj && S.o[i].p == obj && S.o[i].alive, "destroy of an unknown object");
    int r[MAXO];
    compute_reach(r, NULL);
    ENSURE(!r[i], "object %d (%s) destroyed while reachable", i, utypes[S.o[i].utype].name);
    mark_dead(i);
}

static void wcb(rc_weakref *w, void *data)
{
    int i = handle_of(w, "weakref callback");
    mobj *m = &S.o[i];
    ENSURE(m->kind == K_WEAK, "callback got a non-weakref %d", i);
    ENSURE(!m->cb_ran, "weakref %d: callback called twice", i);
    ENSURE(!rc_weakref_alive(w) && rc_weakref_get(w) == NULL, "weakref %d: callback before clearing", i);
    ENSURE((m->data >= 0 ? S.o[m->data].p : NULL) == data, "weakref %d: callback got wrong data", i);
    m->cb_ran = 1;
    tr("callback of weakref %d mode %d", i, m->cb);
    int d = m->data;
    switch (m->cb) {
    case W_RESURRECT_DATA:
        if (d >= 0) {
            S.o[d].held++;
            rc_incref(data);
        }
        break;
    case W_NEW_WEAK:
        if (S.nobj < MAXO - 1) {
            int t = d;
            if (t < 0) {   /* some object the program holds */
                for (int k = S.nobj - 1; k >= 0; k--)
                    if (S.o[k].alive && S.o[k].held > 0) { t = k; break; }
            }
            if (t >= 0) make_weak(t, byte() % 2 ? W_NOOP : W_RESURRECT_DATA, -1);
        }
        break;
    case W_DROP: {
        int cand[MAXO], nc = 0;
        for (int k = 0; k < S.nobj; k++)
            if (S.o[k].alive && S.o[k].held > 0) cand[nc++] = k;
        if (nc) drop_held(cand[byte() % nc]);
        break;
    }
    case W_REVIVE_OTHER:
        /* A callback that tries to reach other garbage through a new weak
         * reference and keep it: garbage of the running collection reads as
         * dead; what is not in its set may be revived. */
        if (S.in_gc && S.nobj < MAXO) {
            int cand[MAXO], nc = 0;
            int r[MAXO];
            compute_reach(r, NULL);
            for (int k = 0; k < S.nobj; k++)
                /* Only nodes with a destroy hook: their death is seen at
                 * once, while a container's or a plain node's is learnt at
                 * the next sync. Not the node dying right now (this
                 * callback's referent), nor one waiting to be freed (its
                 * header's count reads 0; rc_refcount would call that a use
                 * after free in a debug build): C code that kept a pointer
                 * to them may not use it any more. */
                if (S.o[k].alive && !r[k] && death_seen(k) && k != m->target &&
                    RC_HEAD(S.o[k].p)->refcnt != 0)
                    cand[nc++] = k;
            if (nc) {
                int t = cand[byte() % nc];
                /* While a collection clears its garbage, rc_weakref_new
                 * refuses it (RC_EINVAL): documented, and nothing changes. */
                rc_weakref *w = rc_weakref_new(S.o[t].p, NULL, NULL);
                if (!w) {
                    ENSURE(rc_heap_error(S.h) == RC_EINVAL, "rc_weakref_new: %s", rc_heap_error_message(S.h));
                    rc_heap_clear_error(S.h);
                    break;
                }
                int wi = adopt_weak(w, t, W_NONE, -1);
                void *p = rc_weakref_get(S.o[wi].p);
                if (p) got_ref(p);
            }
        }
        break;
    }
    /* The hold on the data object goes right after the callback: what only
     * it kept becomes garbage during the collection, for the next one. */
    m->data = -1;
    if (d >= 0 && S.in_gc) S.dirty = 1;
}

static void gc_cb(rc_heap *h, int phase, const rc_gc_info *info, void *ud)
{
    (void)h; (void)info; (void)ud;
    S.in_gc = phase == RC_GC_START;
    if (phase == RC_GC_START) {
        int r[MAXO];
        compute_reach(r, NULL);
        for (int i = 0; i < S.nobj; i++)
            if (S.o[i].alive && !r[i]) S.o[i].unreach_at_gc = 1;
    }
    tr("gc %s generation %d%s", phase == RC_GC_START ? "start" : "stop", info->generation,
       info->kind == RC_GC_CANDIDATE_SCAN ? " (candidate scan)" : "");
}

/* ---- operations ---- */

static void op_new_node(void)
{
    int t = byte() % NUTYPES;
    unode *p = rc_new(S.h, &utypes[t]);
    if (utypes[t].traverse && !utypes[t].clear) {
        /* Refused although recycle.h describes the form: see docs/fuzzing.md. */
        ENSURE(!p && rc_heap_error(S.h) == RC_EINVAL, "rc_new of a type with traverse but no clear");
        return;
    }
    ENSURE(p, "rc_new: %s", rc_heap_error_message(S.h));
    int i = new_handle(K_NODE, p);
    p->id = i;
    p->magic = magic_of(i);
    S.o[i].utype = t;
    S.o[i].fin = utypes[t].finalize ? (int)(byte() % NFIN) : F_NONE;
}

static void op_set_slot(void)
{
    int a = pick(1u << K_NODE);
    int k = byte() % NS;
    int b = byte() % 4 ? pick(ANY) : -1;
    if (a < 0) return;
    unode *n = S.o[a].p;
    void *old = n->slot[k];
    void *nv = b >= 0 ? S.o[b].p : NULL;
    if (nv) rc_incref(nv);
    S.o[a].slot[k] = b;
    n->slot[k] = nv;
    tr("slot %d.%d = %d", a, k, b);
    if (old) rc_decref(old);
}

static void op_list(void)
{
    unsigned sub = byte() % 6;
    int l = pick(1u << K_LIST);
    if (l < 0) return;
    mobj *m = &S.o[l];
    pin(l);
    if (sub == 0 || sub == 1) {   /* append / insert */
        mval v = pick_val();
        if (m->n >= MAXI) return;
        if (sub == 0) {
            m->items[m->n++] = v;
            ENSURE(rc_list_append(m->p, to_val(v)) == 0, "rc_list_append");
        } else {
            int at = (int)(byte() % (m->n + 1));
            memmove(&m->items[at + 1], &m->items[at], (m->n - at) * sizeof(mval));
            m->items[at] = v;
            m->n++;
            ENSURE(rc_list_insert(m->p, at, to_val(v)) == 0, "rc_list_insert");
        }
    } else if (sub == 2 && m->n) {   /* set */
        mval v = pick_val();
        int at = (int)(byte() % m->n);
        m->items[at] = v;
        ENSURE(rc_list_set(m->p, at, to_val(v)) == 0, "rc_list_set");
    } else if (sub == 3 && m->n) {   /* pop, keep the item */
        int at = (int)(byte() % m->n);
        mval v = m->items[at];
        memmove(&m->items[at], &m->items[at + 1], (m->n - at - 1) * sizeof(mval));
        m->n--;
        if (IS_H(v)) S.o[v].held++;
        rc_val out;
        ENSURE(rc_list_pop(m->p, at, &out) == 0, "rc_list_pop");
        ENSURE(val_is(out, v), "rc_list_pop returned the wrong item");
    } else if (sub == 4 && m->n) {   /* pop, drop the item */
        int at = (int)(byte() % m->n);
        memmove(&m->items[at], &m->items[at + 1], (m->n - at - 1) * sizeof(mval));
        m->n--;
        ENSURE(rc_list_pop(m->p, at, NULL) == 0, "rc_list_pop");
    } else if (sub == 5) {
        m->n = 0;
        rc_list_clear(m->p);
    }
}

static int key_eq(mval a, mval b)
{
    if (IS_H(a) != IS_H(b)) return 0;
    if (!IS_H(a)) return a == b;
    if (S.o[a].kind == K_STR && S.o[b].kind == K_STR)
        return S.o[a].slen == S.o[b].slen && !memcmp(S.o[a].s, S.o[b].s, S.o[a].slen);
    if (S.o[a].kind == K_INT && S.o[b].kind == K_INT) return S.o[a].ival == S.o[b].ival;
    return a == b;
}

static mval pick_key(void)
{
    unsigned b = byte();
    if (b % 3 == 0) return IMM((int)(b >> 2) % 6);
    int h = pick(1u << K_STR | 1u << K_TUPLE | 1u << K_INT);
    return h >= 0 ? h : IMM(0);
}

static void op_dict(void)
{
    unsigned sub = byte() % 5;
    int d = pick(1u << K_DICT);
    if (d < 0) return;
    mobj *m = &S.o[d];
    pin(d);
    mval k = pick_key();
    pin_val(k);
    int at = -1;
    for (int e = 0; e < m->n; e++)
        if (key_eq(m->keys[e], k)) { at = e; break; }
    if (sub <= 1) {   /* set */
        mval v = pick_val();
        if (at < 0 && m->n >= MAXI) return;
        if (at >= 0) {
            m->vals[at] = v;
        } else {
            m->keys[m->n] = k;
            m->vals[m->n++] = v;
        }
        ENSURE(rc_dict_set(m->p, to_val(k), to_val(v)) == 0, "rc_dict_set: %s", rc_heap_error_message(S.h));
    } else if (sub == 2) {   /* del */
        if (at >= 0) {
            memmove(&m->keys[at], &m->keys[at + 1], (m->n - at - 1) * sizeof(mval));
            memmove(&m->vals[at], &m->vals[at + 1], (m->n - at - 1) * sizeof(mval));
            m->n--;
        }
        int r = rc_dict_del(m->p, to_val(k));
        ENSURE(r == (at >= 0 ? 0 : -1), "rc_dict_del returned %d", r);
    } else if (sub == 3) {   /* get */
        rc_val v = rc_dict_get(m->p, to_val(k));
        if (at < 0) ENSURE(v == RC_EMPTY, "rc_dict_get found a missing key");
        else ENSURE(val_is(v, m->vals[at]), "rc_dict_get: wrong value");
        if (!IS_H(k) || S.o[k].kind != K_STR) return;
        char buf[8];
        memcpy(buf, S.o[k].s, S.o[k].slen);
        buf[S.o[k].slen] = 0;
        rc_val v2 = rc_dict_get_str(m->p, buf);
        ENSURE(v2 == v, "rc_dict_get_str differs from rc_dict_get");
    } else {
        m->n = 0;
        rc_dict_clear(m->p);
    }
}

static void op_new_container(void)
{
    unsigned what = byte() % 5;
    if (what == 0) {
        rc_list *l = rc_list_new(S.h, byte() % 4);
        ENSURE(l, "rc_list_new");
        new_handle(K_LIST, l);
    } else if (what == 1) {
        rc_dict *d = rc_dict_new(S.h);
        ENSURE(d, "rc_dict_new");
        new_handle(K_DICT, d);
    } else if (what == 2) {
        int n = byte() % 4;
        mval items[4];
        rc_val vals[4];
        for (int k = 0; k < n; k++) {
            items[k] = pick_val();
            pin_val(items[k]);
            vals[k] = to_val(items[k]);
        }
        rc_tuple *t = rc_tuple_new(S.h, n, vals);
        ENSURE(t, "rc_tuple_new");
        int i = new_handle(K_TUPLE, t);
        S.o[i].n = n;
        memcpy(S.o[i].items, items, sizeof(mval) * n);
    } else if (what == 3) {
        /* A boxed int: a few values just past either end of the immediates
         * and at the ends of int64_t, so equal ones meet as dict keys. */
        static const int64_t big[] = {RC_INT_MAX + 1, RC_INT_MIN - 1, INT64_MAX, INT64_MIN};
        int64_t v = big[byte() % 4];
        rc_val b = rc_int_new(S.h, v);
        ENSURE(rc_is_obj(b) && rc_as_int(b) == v, "rc_int_new(%lld)", (long long)v);
        int i = new_handle(K_INT, rc_as_obj(b));
        S.o[i].ival = v;
    } else {
        char s[3];
        int len = 1 + byte() % 2;
        for (int k = 0; k < len; k++) s[k] = (char)('a' + byte() % 3);
        rc_str *p = rc_str_new(S.h, s, len);
        ENSURE(p, "rc_str_new");
        int i = new_handle(K_STR, p);
        memcpy(S.o[i].s, s, len);
        S.o[i].slen = len;
    }
}

static void op_refs(void)
{
    unsigned sub = byte() % 3;
    if (sub == 0) {
        int a = pick(ANY);
        if (a < 0) return;
        S.o[a].held++;
        tr("incref %d", a);
        rc_incref(S.o[a].p);
    } else {
        int cand[MAXO], nc = 0;
        for (int k = 0; k < S.nobj; k++)
            if (S.o[k].alive && S.o[k].held > 0) cand[nc++] = k;
        if (!nc) return;
        drop_held(cand[byte() % nc]);
    }
}

static void op_weak(void)
{
    unsigned sub = byte() % 3;
    if (sub <= 1) {
        int t = pick(ANY);
        if (t < 0) return;
        pin(t);
        int cb = byte() % NWCB;
        int data = -1;
        if (cb != W_NONE && byte() % 2) {
            data = pick(ANY);
            pin(data);
        }
        make_weak(t, cb, data);
    } else {
        int w = pick(1u << K_WEAK);
        if (w < 0) return;
        void *p = rc_weakref_get(S.o[w].p);
        int t = S.o[w].target;
        if (p) {
            ENSURE(t >= 0 && S.o[t].alive && S.o[t].p == p, "rc_weakref_get: wrong referent");
            got_ref(p);   /* maybe revived: garbage not collected yet */
        } else {
            /* A referent the model knows alive must be unreachable (a
             * collection freed it, which the sync will learn). */
            ENSURE(t < 0 || !S.o[t].alive || !S.reach[t] || S.o[w].cleared || S.o[w].unreach_at_gc ||
                   S.o[t].unreach_at_gc, "rc_weakref_get: NULL for reachable referent %d", t);
        }
    }
}

static void op_collect(int *full)
{
    int g = byte() % 3;
    rc_gc_collect(S.h, g);
    if (g == 2) *full = 1;
}

static void op_freeze(void)
{
    unsigned sub = byte() % 3;
    if (sub == 0) ENSURE(rc_gc_freeze(S.h) == 0, "rc_gc_freeze");
    else if (sub == 1) ENSURE(rc_gc_unfreeze(S.h) == 0, "rc_gc_unfreeze");
    else {
        rc_list *fl = rc_gc_get_objects(S.h, 3);
        ENSURE(fl, "get_objects(3)");
        ENSURE(rc_list_len(fl) == rc_gc_get_freeze_count(S.h), "freeze count %zu, frozen objects %zu",
               rc_gc_get_freeze_count(S.h), rc_list_len(fl));
        rc_decref(fl);
    }
}

static void op_config(void)
{
    unsigned sub = byte() % 3;
    if (sub == 0) rc_gc_set_threshold(S.h, 1 + byte() % 20, 1 + byte() % 4, 1 + byte() % 4);
    else if (sub == 1) rc_gc_enable(S.h);
    else rc_gc_disable(S.h);
}

#include "fuzz_queries.h"

static void run(const uint8_t *data, size_t size)
{
    memset(&S, 0, sizeof S);
    S.d = data;
    S.n = size;
    S.trace = getenv("RC_FUZZ_TRACE") != NULL;
    npinned = 0;
    rc_heap_config cfg;
    rc_heap_config_init(&cfg);
    cfg.threshold[0] = 1 + byte() % 30;
    cfg.threshold[1] = 1 + byte() % 5;
    cfg.threshold[2] = 1 + byte() % 5;
    cfg.candidate_limit = 1 + byte() % 16;
    cfg.disabled = byte() % 4 == 0;
    S.h = rc_heap_new(&cfg);
    ENSURE(S.h, "rc_heap_new");
    ENSURE(rc_gc_callback_add(S.h, gc_cb, NULL) == 0, "callback_add");
    sync(0);
    for (S.op = 0; S.op < MAXOPS && more(); S.op++) {
        int full = 0;
        unsigned op = byte() % 16;
        if (S.nobj >= MAXO - 8 && op <= 2) op = 8;   /* no room: collect instead */
        /* Handles are never reused: near the end of the table, only ops that
         * make no object (collect, set slots, refs, config) go on. */
        if (S.nobj >= MAXO - 24 && (op == 2 || op == 7 || op == 9 || op == 10 || op == 11 ||
                                    op == 14 || op == 15))
            op = 8;
        tr("op %u", op);
        switch (op) {
        case 0: case 1: op_new_node(); break;
        case 2: op_new_container(); break;
        case 3: case 4: op_set_slot(); break;
        case 5: case 6: op_refs(); break;
        case 7: op_list(); break;
        case 8: op_collect(&full); break;
        case 9: case 10: op_dict(); break;
        case 11: op_weak(); break;
        case 12: op_freeze(); break;
        case 13: op_config(); break;
        case 14: op_query(); break;
        case 15: op_leak(); break;
        }
        unpin_all();
        sync(full);
    }
    /* Drop everything; a full collection must leave nothing unfrozen. */
    S.d = NULL;   /* finalizers and callbacks read zeros from here on */
    S.n = 0;
    rc_gc_unfreeze(S.h);
    /* Finalizers run once, so what they resurrect is dropped next round. */
    for (int round = 0, again = 1; again; round++) {
        ENSURE(round <= MAXO, "objects keep coming back");
        for (int i = 0; i < S.nobj; i++)
            while (S.o[i].alive && S.o[i].held > 0) drop_held(i);
        rc_gc_collect(S.h, 2);
        /* A callback that dropped a reference during the collection may
         * have left new garbage for the next one. */
        again = S.dirty;
        sync(1);
        for (int i = 0; i < S.nobj; i++) again |= S.o[i].alive && S.o[i].held > 0;
    }
    rc_heap_stats st;
    rc_heap_get_stats(S.h, &st);
    ENSURE(S.dirty || st.objects == 0, "%zu objects left after dropping everything", st.objects);
    rc_heap_free(S.h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run(data, size);
    return 0;
}

#ifndef RC_FUZZ_LIBFUZZER
/* Replay: every file named, and every file in every directory named. */
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    static uint8_t buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    run(buf, n);
    return 0;
}

int main(int argc, char **argv)
{
    int files = 0, bad = 0;
    for (int a = 1; a < argc; a++) {
        struct stat st;
        if (stat(argv[a], &st) != 0) {
            perror(argv[a]);
            bad++;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            bad += replay_file(argv[a]);
            files++;
            continue;
        }
        DIR *dir = opendir(argv[a]);
        struct dirent *e;
        while (dir && (e = readdir(dir))) {
            if (e->d_name[0] == '.') continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[a], e->d_name);
            bad += replay_file(path);
            files++;
        }
        if (dir) closedir(dir);
    }
    printf("%d inputs replayed, %d unreadable\n", files, bad);
    return bad || !files ? 1 : 0;
}
#endif
