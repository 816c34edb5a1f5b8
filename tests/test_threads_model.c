/* test_threads_model.c -- threads against a sequential model: K threads
 * (more than the machine's cores), each holding a heap, make random nodes,
 * link and drop them, collect (thresholds low, so collections also run on
 * their own), move, copy and freeze graphs and hand them to each other:
 *  - move: rc_move into a fresh heap, rc_heap_release, the program's queue,
 *    rc_heap_acquire on the receiving thread, rc_move into its heap;
 *  - copy: rc_copy of any graph (isolated or not) into a fresh heap, then
 *    rc_move into the copier's own heap or the queue as for a move
 *    (rc_copy into the source's own heap is refused);
 *  - freeze: rc_region_freeze of a graph; the region is shared through the
 *    queue (rc_region_hold before sending, rc_region_drop by each holder),
 *    read by its holders, heap nodes of any holder link into it while the
 *    holder's heap holds it (rc_heap_hold_region at the thread's first
 *    hold, rc_heap_drop_region once no edge is left, before its last
 *    rc_region_drop), and
 *    holders copy its graphs into their heaps (rc_copy from the region).
 * Each thread keeps the model of the nodes it holds (edges by node id, in
 * arrays indexed by id: a heap node's entries are written only by the
 * thread that holds it, the queue hands them over with the heap; a frozen
 * node's entries are never written again). The model predicts every
 * rc_move, rc_region_freeze and rc_copy: move and freeze succeed iff the
 * graph is isolated and points into no region, copy iff it points into no
 * region. A copy is checked node by node against its source (same shape,
 * shared nodes copied once, cycles kept) and then gets ids of its own; the
 * source is unchanged. After every full collection, and after the join,
 * each heap's live objects are exactly the model's reachable heap nodes,
 * with the model's edges and reference counts (roots plus holders), and
 * every edge into a region goes to one the thread holds. Each region's
 * readers see the model's frozen graph, and its counted nodes (a type with
 * a destroy hook) are destroyed once, by the last rc_region_drop: never
 * while a holder is left, and every region is gone at the end. Runs under
 * ThreadSanitizer (`make tsan`) and ASan. RC_TEST_QUICK=1: fewer operations. */
#define _GNU_SOURCE   /* pthread_setname_np */
#include "harness.h"
#include "recycle.h"
#include "recycle/gc.h"
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

enum { MAXK = 16, ROOTS = 12, PER = 1 << 16, HELD = 6, MAXREG = 1 << 12 };
static int K;   /* threads: twice the cores plus one, at least 6, at most MAXK */

typedef struct node { void *a, *b; int64_t id; } node;
static const rc_type node_type = {.name = "node", .size = sizeof(node), .nslots = 2};

/* The model: edges by id (0: none). Entries of a heap node belong to its
 * holder; a frozen node's are read-only. */
static int32_t model_a[MAXK * PER], model_b[MAXK * PER];
static int32_t indeg[MAXK * PER];      /* the predicted reference count */
static uint32_t stamp[MAXK * PER];     /* epochs: disjoint per thread */
static uint8_t counted[MAXK * PER];    /* 1: of counted_type */
static uint16_t region_of[MAXK * PER]; /* 0: a heap node; else its region's serial */

/* Regions by serial: regs[s] is written by the freezer before sharing. */
static struct { rc_region *r; int32_t root_id, size, counted; } regs[MAXREG];
static atomic_int reg_holders[MAXREG];  /* -1 before each rc_region_drop, +1 before each hold */
static atomic_int reg_freed[MAXREG];    /* counted nodes destroyed */
static atomic_int next_serial = 1;
static atomic_int destroyed_early;      /* counted nodes of a region destroyed while held */

/* counted_type: nodes with a destroy hook (so rc_copy needs the copy hook,
 * which copies the id: the slots are the library's to map). */
static void counted_destroy(void *obj)
{
    int s = region_of[((node *)obj)->id];
    if (!s) return;
    if (atomic_load(&reg_holders[s]) != 0) atomic_fetch_add(&destroyed_early, 1);
    atomic_fetch_add(&reg_freed[s], 1);
}

static int counted_copy(void *dst, const void *src, rc_copy_map_fn map, void *arg)
{
    (void)map, (void)arg;
    ((node *)dst)->id = ((const node *)src)->id;
    return 0;
}

static const rc_type counted_type = {.name = "counted", .size = sizeof(node), .nslots = 2,
                                     .destroy = counted_destroy, .copy = counted_copy};

/* A message: a carrier heap with its graph, or a hold of region `serial`. */
typedef struct msg { rc_heap *heap; node *root; int serial; struct msg *next; } msg;

typedef struct worker {
    int t;
    unsigned seed;
    long ops;
    rc_heap *h;
    node *root[ROOTS];
    int32_t next_id;
    uint32_t epoch, repoch;
    int held[HELD], nheld;   /* serials of the regions held (a region may be held twice) */
    /* scratch: id lists, a pointer queue, the region walks' stamps */
    int32_t *l1, *l2;
    void **todo, **copy_of;   /* copy_of: during a copy's check, by source id */
    uint32_t *rstamp;         /* stamps of region walks and copy checks (repoch) */
    /* inbox */
    pthread_mutex_t mu;
    msg *in;
    /* what went wrong (0: nothing), and counts */
    int bad;
    char why[200];
    long moves_ok, moves_refused, received;
    long copies_ok, copies_refused, copies_sent, thawed, freezes_ok, freezes_refused, shared, region_links, reads;
} worker;

static worker workers[MAXK];
static pthread_barrier_t done_ops;

static unsigned rnd(worker *w, unsigned n)
{
    w->seed = w->seed * 1103515245u + 12345u;
    return (w->seed >> 8) % n;
}

static int32_t id_of(const void *p) { return p ? (int32_t)((const node *)p)->id : 0; }
static bool frozen(int32_t id) { return region_of[id] != 0; }

static void fail(worker *w, const char *why, long a, long b)
{
    if (w->bad++) return;
    snprintf(w->why, sizeof w->why, "thread %d: %s (%ld, %ld)", w->t, why, a, b);
    fprintf(stderr, "  %s\n", w->why);   /* now: what follows may crash */
}

static bool holds(const worker *w, int s)
{
    for (int i = 0; i < w->nheld; i++)
        if (w->held[i] == s) return true;
    return false;
}

/* ---- the model's reachable sets ---- */

static void next_epoch(worker *w) { w->epoch += MAXK; }   /* never another thread's */

/* Appends x to list (breadth first) unless stamped or frozen. */
static void visit(worker *w, int32_t x, int32_t *list, size_t *n)
{
    if (!x || frozen(x) || stamp[x] == w->epoch) return;
    stamp[x] = w->epoch;
    list[(*n)++] = x;
}

/* Breadth first from list[0 .. n), appending; returns the count. */
static size_t spread(worker *w, int32_t *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        visit(w, model_a[list[i]], list, &n);
        visit(w, model_b[list[i]], list, &n);
    }
    return n;
}

/* The heap nodes reachable from the roots, in list (stamp == epoch). */
static size_t live_list(worker *w, node *const *roots, int nroots, int32_t *list)
{
    size_t n = 0;
    next_epoch(w);
    for (int r = 0; r < nroots; r++) visit(w, id_of(roots[r]), list, &n);
    return spread(w, list, n);
}

/* The graph of heap node x (stamp == epoch), whether it points into a
 * region, and how many of its nodes are counted. */
static size_t graph_of(worker *w, int32_t x, int32_t *list, bool *into, int *ncounted)
{
    size_t n = 0;
    next_epoch(w);
    visit(w, x, list, &n);
    n = spread(w, list, n);
    *into = false;
    *ncounted = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t v = list[i];
        *into |= (model_a[v] && frozen(model_a[v])) || (model_b[v] && frozen(model_b[v]));
        *ncounted += counted[v];
    }
    return n;
}

/* Whether the model says root r's graph is isolated: no other root slot
 * holds one of its nodes, and no other live node refers to one. The heap
 * has just been fully collected: the live nodes are the reachable ones.
 * Its members are left in w->l2 (their count in *members). */
static bool isolated(worker *w, int r, size_t *members, bool *into, int *ncounted)
{
    size_t n = live_list(w, w->root, ROOTS, w->l1);
    *members = graph_of(w, id_of(w->root[r]), w->l2, into, ncounted);
    uint32_t mem = w->epoch;
    for (int q = 0; q < ROOTS; q++)
        if (q != r && w->root[q] && stamp[id_of(w->root[q])] == mem) return false;
    for (size_t i = 0; i < n; i++) {
        int32_t v = w->l1[i], e[2] = {model_a[v], model_b[v]};
        if (stamp[v] == mem) continue;
        for (int k = 0; k < 2; k++)
            if (e[k] && !frozen(e[k]) && stamp[e[k]] == mem) return false;
    }
    return true;
}

/* Heap h after a full collection: exactly the model's heap nodes reachable
 * from roots, each with the model's edges and reference count (roots plus
 * holders); an edge into a region goes to one the thread holds. */
static void check_graph(worker *w, rc_heap *h, node *const *roots, int nroots)
{
    rc_gc_collect(h, 2);
    int32_t *list = w->l1;
    size_t want = live_list(w, roots, nroots, list);
    size_t live = live_objects(h);
    if (live != want) fail(w, "live objects differ from the model's reachable nodes", (long)live, (long)want);
    for (size_t i = 0; i < want; i++) indeg[list[i]] = 0;
    for (int r = 0; r < nroots; r++)
        if (roots[r]) indeg[id_of(roots[r])]++;
    for (size_t i = 0; i < want; i++) {
        int32_t e[2] = {model_a[list[i]], model_b[list[i]]};
        for (int k = 0; k < 2; k++)
            if (e[k] && !frozen(e[k])) indeg[e[k]]++;
    }
    /* Walk the real graph; compare each node with the model. */
    next_epoch(w);
    size_t sp = 0;
    void **todo = w->todo;
    for (int r = 0; r < nroots; r++)
        if (roots[r] && stamp[id_of(roots[r])] != w->epoch) {
            stamp[id_of(roots[r])] = w->epoch;
            todo[sp++] = roots[r];
        }
    while (sp) {
        node *x = todo[--sp];
        int32_t id = id_of(x);
        if (frozen(id) || rc_in_region(x) || rc_heap_of(x) != h)
            fail(w, "a heap node is not in its heap", id, region_of[id]);
        if (model_a[id] != id_of(x->a) || model_b[id] != id_of(x->b))
            fail(w, "a node's edges differ from the model", id, model_a[id]);
        if (rc_refcount(x) != (uint32_t)indeg[id])
            fail(w, "a node's reference count differs from the model", id, indeg[id]);
        void *e[2] = {x->a, x->b};
        for (int k = 0; k < 2; k++) {
            int32_t to = id_of(e[k]);
            if (!to) continue;
            if (frozen(to)) {
                if (!rc_in_region(e[k])) fail(w, "a frozen node is not in a region", to, 0);
                if (!holds(w, region_of[to]))
                    fail(w, "a heap node points into a region its thread does not hold", id, to);
            } else if (stamp[to] != w->epoch) {
                stamp[to] = w->epoch;
                todo[sp++] = e[k];
            }
        }
    }
}

static void check_heap(worker *w) { check_graph(w, w->h, w->root, ROOTS); }

/* The model's count of the region nodes x reaches (the ids in w->l2). */
static size_t region_size(worker *w, const node *x)
{
    size_t n = 0;
    w->repoch++;
    w->rstamp[id_of(x)] = w->repoch;
    w->l2[n++] = id_of(x);
    for (size_t i = 0; i < n; i++) {
        int32_t e[2] = {model_a[w->l2[i]], model_b[w->l2[i]]};
        for (int k = 0; k < 2; k++)
            if (e[k] && w->rstamp[e[k]] != w->repoch) {
                w->rstamp[e[k]] = w->repoch;
                w->l2[n++] = e[k];
            }
    }
    return n;
}

/* A reader's walk of region s: every node in the region, of the region,
 * with the model's edges, as many as were frozen. */
static void check_region(worker *w, int s)
{
    node *root = rc_region_root(regs[s].r);
    if (id_of(root) != regs[s].root_id) fail(w, "a region's root is not the frozen node", id_of(root), regs[s].root_id);
    if (region_size(w, root) != (size_t)regs[s].size) fail(w, "the model's region changed", s, 0);
    if (rc_region_holders(regs[s].r) < 1) fail(w, "a held region has no holder", s, 0);
    w->repoch++;
    size_t sp = 0, n = 0;
    w->rstamp[id_of(root)] = w->repoch;
    w->todo[sp++] = root;
    while (sp) {
        node *x = w->todo[--sp];
        int32_t id = id_of(x);
        n++;
        if (!rc_in_region(x) || region_of[id] != s) fail(w, "a region's node is not in the region", id, s);
        if (model_a[id] != id_of(x->a) || model_b[id] != id_of(x->b))
            fail(w, "a reader saw a region's node with other edges than the model", id, model_a[id]);
        void *e[2] = {x->a, x->b};
        for (int k = 0; k < 2; k++)
            if (e[k] && w->rstamp[id_of(e[k])] != w->repoch) {
                w->rstamp[id_of(e[k])] = w->repoch;
                w->todo[sp++] = e[k];
            }
    }
    if (n != (size_t)regs[s].size) fail(w, "a reader saw a region of another size", (long)n, regs[s].size);
    w->reads++;
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
    bool c = rnd(w, 2);
    node *x = rc_new(w->h, c ? &counted_type : &node_type);
    if (!x) {
        fail(w, "rc_new failed", rc_heap_error(w->h), 0);
        return;
    }
    x->id = (int64_t)w->t * PER + w->next_id++;
    model_a[x->id] = model_b[x->id] = 0;
    counted[x->id] = c;
    node *y = w->root[rnd(w, ROOTS)];
    if (y && rnd(w, 2)) {
        rc_incref(y);
        x->a = y;
        model_a[x->id] = id_of(y);
    }
    set_root(w, rnd(w, ROOTS), x);
}

/* A heap node a few random steps from a root (NULL when the walk finds
 * none); the walk stops before a region's node. */
static node *pick(worker *w)
{
    node *x = w->root[rnd(w, ROOTS)];
    for (unsigned s = rnd(w, 4); x && s > 0; s--) {
        node *next = rnd(w, 2) ? x->a : x->b;
        if (!next || frozen(id_of(next))) break;
        x = next;
    }
    return x;
}

/* A node of a region the thread holds, a few steps from its root. */
static node *pick_frozen(worker *w)
{
    node *x = rc_region_root(regs[w->held[rnd(w, (unsigned)w->nheld)]].r);   /* nheld > 0 */
    for (unsigned s = rnd(w, 4); s > 0; s--) {
        node *next = rnd(w, 2) ? x->a : x->b;
        if (!next) break;
        x = next;
    }
    return x;
}

static void op_link(worker *w)
{
    node *x = pick(w), *y = NULL;
    if (!x) return;
    unsigned what = rnd(w, 6);
    if (what < 2 && w->nheld) {
        y = pick_frozen(w);
        w->region_links++;
    } else if (what > 1 || rnd(w, 2)) {
        y = pick(w);
    }
    void **slot = rnd(w, 2) ? &x->a : &x->b;
    int32_t *m = slot == &x->a ? &model_a[x->id] : &model_b[x->id];
    if (y) rc_incref(y);   /* a region's node: no write */
    void *old = *slot;
    *slot = y;
    *m = id_of(y);
    if (old) rc_decref(old);
}

static void op_drop(worker *w) { set_root(w, rnd(w, ROOTS), NULL); }

static void post(worker *to, rc_heap *heap, node *root, int serial)
{
    msg *g = malloc(sizeof *g);
    if (!g) abort();
    *g = (msg){heap, root, serial, NULL};
    pthread_mutex_lock(&to->mu);
    g->next = to->in;
    to->in = g;
    pthread_mutex_unlock(&to->mu);
}

/* Hands carrier heap `out` and its graph to a random thread (maybe w). */
static void send_heap(worker *w, rc_heap *out, node *root)
{
    if (rc_heap_release(out) != RC_OK) fail(w, "rc_heap_release failed", 0, 0);
    post(&workers[rnd(w, (unsigned)K)], out, root, 0);
}

static void op_move(worker *w)
{
    int r = (int)rnd(w, ROOTS);
    node *x = w->root[r];
    if (!x) return;
    check_heap(w);
    if (w->bad) return;
    size_t members;
    bool into;
    int nc;
    bool want = isolated(w, r, &members, &into, &nc) && !into;
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
    if (!want) fail(w, "rc_move moved a graph held from outside or pointing into a region", id_of(x), into);
    w->root[r] = NULL;   /* the reference went with the graph */
    send_heap(w, out, m);
}

/* Checks copy c (in heap out) of heap node sid's graph of n nodes against
 * the model, node by node: each copy has its source's id (the copy's
 * bytes), its type, and edges to the copies of its source's targets -- one
 * copy per source node, so sharing and cycles are kept. Then gives the
 * copies ids of w's own, with their model. */
static void adopt_copy(worker *w, rc_heap *out, int32_t sid, node *c, size_t n)
{
    int32_t *list = w->l2;
    void **copy_ptr = w->copy_of;
    uint32_t *seen = w->rstamp;   /* the source may be a region's: no shared stamps */
    size_t m = 0;
    w->repoch++;
    seen[sid] = w->repoch;
    copy_ptr[sid] = c;
    list[m++] = sid;
    for (size_t i = 0; i < m && !w->bad; i++) {
        int32_t v = list[i];
        node *x = copy_ptr[v];
        if (id_of(x) != v || rc_heap_of(x) != out || rc_in_region(x))
            fail(w, "a copy is not its source's", id_of(x), v);
        if ((RC_HEAD(x)->type == &counted_type) != counted[v]) fail(w, "a copy has another type", v, 0);
        int32_t e[2] = {model_a[v], model_b[v]};
        node *ce[2] = {x->a, x->b};
        for (int k = 0; k < 2; k++) {
            if (!e[k] || !ce[k]) {
                if (e[k] || ce[k]) fail(w, "a copy's edge differs from its source's", v, e[k]);
            } else if (seen[e[k]] == w->repoch) {
                if (copy_ptr[e[k]] != ce[k]) fail(w, "a node reached twice was copied twice", v, e[k]);
            } else {
                seen[e[k]] = w->repoch;
                copy_ptr[e[k]] = ce[k];
                list[m++] = e[k];
            }
        }
    }
    if (m != n) fail(w, "the copy has another number of nodes than the source", (long)m, (long)n);
    if (w->bad) return;
    for (size_t i = 0; i < m; i++) {
        node *x = copy_ptr[list[i]];
        counted[w->t * PER + w->next_id] = counted[list[i]];
        x->id = (int64_t)w->t * PER + w->next_id++;
    }
    for (size_t i = 0; i < m; i++) {
        node *x = copy_ptr[list[i]];
        model_a[x->id] = id_of(x->a);
        model_b[x->id] = id_of(x->b);
    }
}

/* rc_copy of a root's graph into a carrier heap, then into w's own heap or
 * to another thread; the model predicts a refusal (a graph that points
 * into a region). The source is unchanged: edges, counts, live objects. */
static void op_copy(worker *w)
{
    int r = (int)rnd(w, ROOTS);
    if (!w->root[r]) return;
    check_heap(w);
    if (w->bad) return;
    bool into;
    int nc;
    size_t n = graph_of(w, id_of(w->root[r]), w->l2, &into, &nc);
    /* Half the time, prefer a graph that points into a region (refused). */
    bool prefer = rnd(w, 2);
    for (int q = 1; q < ROOTS && !into && prefer; q++)
        if (w->root[(r + q) % ROOTS]) {
            r = (r + q) % ROOTS;
            n = graph_of(w, id_of(w->root[r]), w->l2, &into, &nc);
        }
    node *x = w->root[r];
    if ((size_t)w->next_id + n > PER) return;
    if (rnd(w, 8) == 0) {
        if (rc_copy(w->h, x)) fail(w, "rc_copy into the source's own heap did not fail", id_of(x), 0);
        else if (rc_heap_error(w->h) != RC_EINVAL) fail(w, "rc_copy into the source's heap: not RC_EINVAL", rc_heap_error(w->h), 0);
    }
    rc_heap *out = rc_heap_new(NULL);
    node *c = rc_copy(out, x);
    check_heap(w);   /* the source is as the model says, counts included */
    if (!c) {
        w->copies_refused++;
        if (!into) fail(w, "rc_copy refused a graph", id_of(x), rc_heap_error(out));
        if (live_objects(out) != 0) fail(w, "a refused rc_copy left objects", 0, 0);
        rc_heap_free(out);
        return;
    }
    w->copies_ok++;
    if (into) fail(w, "rc_copy copied a graph that points into a region", id_of(x), 0);
    adopt_copy(w, out, id_of(x), c, n);
    if (!w->bad) check_graph(w, out, &c, 1);
    if (w->bad) {
        rc_decref(c);
        rc_heap_free(out);
        return;
    }
    if (rnd(w, 2)) {
        send_heap(w, out, c);
        w->copies_sent++;
        return;
    }
    node *m = rc_move(w->h, c);   /* the copy is isolated in the carrier */
    if (!m) {
        fail(w, "the copy did not move into the copier's heap", rc_heap_error(w->h), 0);
        rc_decref(c);
    } else {
        if (live_objects(out) != 0) fail(w, "the carrier heap kept objects", 0, 0);
        set_root(w, rnd(w, ROOTS), m);
    }
    rc_heap_free(out);
}

/* rc_copy of a graph in a region w holds straight into w's heap: the copy
 * is checked as any, becomes a root, and the region is unchanged. */
static void op_thaw(worker *w)
{
    if (!w->nheld) return;
    node *x = pick_frozen(w);
    size_t n = region_size(w, x);
    if ((size_t)w->next_id + n > PER) return;
    node *c = rc_copy(w->h, x);
    if (!c) {
        fail(w, "rc_copy refused a region's graph", id_of(x), rc_heap_error(w->h));
        return;
    }
    w->thawed++;
    adopt_copy(w, w->h, id_of(x), c, n);
    if (w->bad) return;   /* c stays alive: the ids are wrong */
    set_root(w, rnd(w, ROOTS), c);
    check_heap(w);
}

/* w's heap holds region s too (its nodes may then point into it): once,
 * when w's first hold of s comes (a heap's hold is one however often). */
static void heap_holds(worker *w, int s)
{
    if (holds(w, s)) return;
    if (rc_heap_hold_region(w->h, regs[s].r) != RC_OK)
        fail(w, "rc_heap_hold_region failed", s, rc_heap_error(w->h));
    if (!rc_heap_holds_region(w->h, regs[s].r)) fail(w, "a heap does not hold what it took", s, 0);
}

/* rc_region_freeze of a root's graph: the model predicts it (as rc_move);
 * afterwards the heap has lost exactly the graph, and the region holds it. */
static void op_freeze(worker *w)
{
    int r = (int)rnd(w, ROOTS);
    node *x = w->root[r];
    if (!x || w->nheld >= HELD - 1) return;   /* room left for one received */
    check_heap(w);
    if (w->bad) return;
    size_t members;
    bool into;
    int nc;
    bool want = isolated(w, r, &members, &into, &nc) && !into;
    int s = atomic_fetch_add(&next_serial, 1);
    if (s >= MAXREG) return;
    int32_t xid = id_of(x);
    size_t before = live_objects(w->h);
    rc_region *reg = rc_region_freeze(w->h, x);
    if (!reg) {
        w->freezes_refused++;
        if (want) fail(w, "rc_region_freeze refused an isolated graph", xid, rc_heap_error(w->h));
        if (live_objects(w->h) != before) fail(w, "a refused rc_region_freeze changed the heap", 0, 0);
        return;
    }
    w->freezes_ok++;
    if (!want) fail(w, "rc_region_freeze froze a graph held from outside or pointing into a region", xid, into);
    w->root[r] = NULL;   /* the reference went with the graph */
    if (live_objects(w->h) != before - members)
        fail(w, "freezing left objects in the heap", (long)(before - live_objects(w->h)), (long)members);
    for (size_t i = 0; i < members; i++) region_of[w->l2[i]] = (uint16_t)s;
    regs[s].r = reg;
    regs[s].root_id = xid;
    regs[s].size = (int32_t)members;
    regs[s].counted = nc;
    atomic_store(&reg_holders[s], 1);
    if (rc_region_holders(reg) != 1) fail(w, "a new region has other than one holder", (long)rc_region_holders(reg), 0);
    heap_holds(w, s);
    w->held[w->nheld++] = s;
    check_region(w, s);
}

/* Hands a hold of a region w holds to another thread. */
static void op_share(worker *w)
{
    if (!w->nheld) return;
    int s = w->held[rnd(w, (unsigned)w->nheld)];
    atomic_fetch_add(&reg_holders[s], 1);
    rc_region_hold(regs[s].r);
    if (rc_region_holders(regs[s].r) < 2) fail(w, "rc_region_hold added no holder", s, 0);
    post(&workers[(w->t + 1 + (int)rnd(w, (unsigned)K - 1)) % K], NULL, NULL, s);
    w->shared++;
}

/* Drops held region i: when w holds it no more, first every edge of its
 * heap into the region goes (then a full collection frees the garbage that
 * may point into it), then the hold. */
static void drop_region(worker *w, int i)
{
    int s = w->held[i];
    w->held[i] = w->held[--w->nheld];
    check_region(w, s);
    if (!holds(w, s)) {
        next_epoch(w);
        size_t sp = 0;
        for (int r = 0; r < ROOTS; r++)
            if (w->root[r] && stamp[id_of(w->root[r])] != w->epoch) {
                stamp[id_of(w->root[r])] = w->epoch;
                w->todo[sp++] = w->root[r];
            }
        while (sp) {
            node *x = w->todo[--sp];
            void **slot[2] = {&x->a, &x->b};
            int32_t *m[2] = {&model_a[x->id], &model_b[x->id]};
            for (int k = 0; k < 2; k++) {
                int32_t to = id_of(*slot[k]);
                if (!to) continue;
                if (region_of[to] == s) {
                    rc_decref(*slot[k]);   /* no write */
                    *slot[k] = NULL;
                    *m[k] = 0;
                } else if (!frozen(to) && stamp[to] != w->epoch) {
                    stamp[to] = w->epoch;
                    w->todo[sp++] = *slot[k];
                }
            }
        }
        check_heap(w);   /* collects; fails on an edge left into s */
        if (rc_heap_drop_region(w->h, regs[s].r) != RC_OK)
            fail(w, "rc_heap_drop_region refused with no edge left into the region", s,
                 rc_heap_error(w->h));
    }
    atomic_fetch_sub(&reg_holders[s], 1);
    rc_region_drop(regs[s].r);
}

/* Takes every graph sent to w into its heap, and every region hold. */
static void receive(worker *w)
{
    pthread_mutex_lock(&w->mu);
    msg *g = w->in;
    w->in = NULL;
    pthread_mutex_unlock(&w->mu);
    while (g) {
        msg *next = g->next;
        if (g->serial) {
            heap_holds(w, g->serial);
            w->held[w->nheld++] = g->serial;
            if (w->nheld == HELD) drop_region(w, (int)rnd(w, HELD));   /* checks it */
            else check_region(w, g->serial);
            free(g);
            g = next;
            continue;
        }
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
    char name[16];
    snprintf(name, sizeof name, "model-%d", w->t);
    pthread_setname_np(pthread_self(), name);
    w->l1 = malloc(sizeof(int32_t) * (size_t)MAXK * PER);
    w->l2 = malloc(sizeof(int32_t) * (size_t)MAXK * PER);
    w->todo = malloc(sizeof(void *) * (size_t)MAXK * PER);
    w->copy_of = malloc(sizeof(void *) * (size_t)MAXK * PER);
    w->rstamp = calloc((size_t)MAXK * PER, sizeof(uint32_t));
    if (!w->l1 || !w->l2 || !w->todo || !w->copy_of || !w->rstamp) abort();
    rc_heap_config cfg;
    rc_heap_config_init(&cfg);
    cfg.threshold[0] = 50;
    cfg.threshold[1] = 3;
    cfg.threshold[2] = 3;
    w->h = rc_heap_new(&cfg);
    w->next_id = 1;
    w->epoch = (uint32_t)w->t + 1;
    for (long i = 0; i < w->ops && !w->bad; i++) {
        unsigned op = rnd(w, 100);
        if (op < 30) op_new(w);
        else if (op < 56) op_link(w);
        else if (op < 68) op_drop(w);
        else if (op < 74) rc_gc_collect(w->h, (int)rnd(w, 3));
        else if (op < 80) op_move(w);
        else if (op < 86) op_copy(w);
        else if (op < 90) op_freeze(w);
        else if (op < 93) op_share(w);
        else if (op < 94 && w->nheld) check_region(w, w->held[rnd(w, (unsigned)w->nheld)]);
        else if (op < 95 && w->nheld) op_thaw(w);
        else if (op < 97 && w->nheld) drop_region(w, (int)rnd(w, (unsigned)w->nheld));
        else receive(w);
        if (i % 97 == 0 && !w->bad) check_heap(w);
    }
    pthread_barrier_wait(&done_ops);   /* every graph and region is sent */
    receive(w);
    check_heap(w);
    while (w->nheld) drop_region(w, w->nheld - 1);
    for (int r = 0; r < ROOTS; r++) set_root(w, r, NULL);
    rc_gc_collect(w->h, 2);
    if (live_objects(w->h) != 0) fail(w, "objects left after every root was dropped",
                                      (long)live_objects(w->h), 0);
    rc_heap_free(w->h);
    free(w->l1);
    free(w->l2);
    free(w->todo);
    free(w->copy_of);
    free(w->rstamp);
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
    long ok = 0, refused = 0, received = 0, cok = 0, crefused = 0, fok = 0, frefused = 0;
    long shared = 0, links = 0, reads = 0, csent = 0, thawed = 0;
    for (int t = 0; t < K; t++) {
        pthread_join(th[t], NULL);
        worker *w = &workers[t];
        if (w->bad) fprintf(stderr, "  %s (%d problems)\n", w->why, w->bad);
        CHECK_EQ_INT(w->bad, 0);
        ok += w->moves_ok;
        refused += w->moves_refused;
        received += w->received;
        cok += w->copies_ok;
        crefused += w->copies_refused;
        csent += w->copies_sent;
        thawed += w->thawed;
        fok += w->freezes_ok;
        frefused += w->freezes_refused;
        shared += w->shared;
        links += w->region_links;
        reads += w->reads;
        pthread_mutex_destroy(&w->mu);
    }
    pthread_barrier_destroy(&done_ops);
    /* Every region is gone, freed whole by its last drop and not before. */
    CHECK_EQ_INT(atomic_load(&destroyed_early), 0);
    int last = atomic_load(&next_serial);
    for (int s = 1; s < last && s < MAXREG; s++) {
        if (!regs[s].r) continue;
        CHECK_EQ_INT(atomic_load(&reg_holders[s]), 0);
        CHECK_EQ_INT(atomic_load(&reg_freed[s]), regs[s].counted);
    }
    if (getenv("RC_TEST_VERBOSE"))
        fprintf(stderr, "  %ld moves, %ld refused, %ld received; %ld copies, %ld refused; "
                "%ld regions, %ld refused, %ld shared, %ld links into them, %ld reads, %ld copied out\n",
                ok, refused, received, cok, crefused, fok, frefused, shared, links, reads, thawed);
    CHECK(ok > 0 && refused > 0);
    CHECK_EQ_INT(received, ok + csent);
    CHECK(cok > 0 && crefused > 0);
    CHECK(fok > 0 && frefused > 0 && shared > 0 && links > 0 && thawed > 0);
}

RC_TEST_MAIN
