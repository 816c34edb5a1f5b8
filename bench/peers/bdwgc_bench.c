/*
 * bdwgc_bench.c - Boehm-Demers-Weiser collector (bdwgc, Debian libgc 8.2) peer for
 * recycle's benchmark workloads (bench/WORKLOADS.md).  One workload per run:
 *
 *   bdwgc_bench W1|W1c [--n N]
 *   bdwgc_bench W2     [--n N]
 *   bdwgc_bench W3     [--n CYCLES]
 *   bdwgc_bench W4     [--depth D] [--young N] [--incremental] [--workers N]
 *   bdwgc_bench W5|W5p [--depth D] [--sample-ms MS]
 *   bdwgc_bench W6     [--depth D] [--seconds S] [--ring N] [--incremental]
 *   bdwgc_bench W7     [--depth D] [--incremental]
 *   common flags:      [--parallel-mark]
 *
 * Prints one "name value unit" line per metric on stdout; a one-line description of the
 * collector's configuration goes to stderr.
 *
 * Object shapes: a node is a 16-byte GC_MALLOC block holding two pointers; a tree node
 * with a parent pointer is a 24-byte block.  bdwgc is used with its defaults, which
 * matters for the memory figures: with interior pointers recognised (the default) every
 * object gets one extra byte, so both 16- and 24-byte requests land in the 32-byte size
 * class.
 *
 * Collector modes:
 *   default          stop-the-world, non-generational mark-sweep.  A single-threaded
 *                    client gets a single marker: parallel marker threads start only
 *                    when the client creates a thread through bdwgc or calls
 *                    GC_start_mark_threads() (--parallel-mark does the latter).
 *   --incremental    GC_enable_incremental() before GC_INIT(): generational mode with
 *                    virtual dirty bits.  Debian's build has PARALLEL_MARK, which sets
 *                    the default time limit to GC_TIME_UNLIMITED, so "incremental" here
 *                    means generational: each partial collection still runs in one
 *                    stop, marking from roots and dirty pages only.
 *
 * bdwgc sweeps lazily: a collection clears mark bits, marks, frees blocks that are
 * entirely empty and queues the others; their free objects are reclaimed later, a block
 * at a time, by the allocator.  The times of explicit collections below (W1c, W3, W4)
 * include that sweep, finished at once after the collection (finish_sweep_ms(); the
 * sweep alone is printed as lazy_sweep_ms).  W6's pauses cannot include it: there it
 * runs inside allocation, a block at a time, and counts in cycles_per_s only.
 *
 * Times: CLOCK_MONOTONIC.  Memory: USS (Private_Clean + Private_Dirty of
 * /proc/self/smaps_rollup) in MB of 2^20 bytes.
 */
#include "peer_util.h"

#include <gc.h>
#include <gc/gc_mark.h>   /* GC_enumerate_reachable_objects_inner, GC_set_start_callback */

/* A node: two reference slots, 16 bytes. */
typedef struct node {
    struct node *slot[2];
} node;

/* A tree node: left, right, parent; 24 bytes. */
typedef struct tnode {
    struct tnode *left, *right, *parent;
} tnode;

/* Roots held in static storage, which bdwgc scans (data and bss segments). */
static tnode *volatile tree_root;
static node *volatile sink_node;

static void *gc_alloc(size_t size)
{
    void *p = GC_MALLOC(size);
    if (p == NULL) {
        fprintf(stderr, "GC_MALLOC(%zu) failed\n", size);
        exit(1);
    }
    return p;
}

/* ---- counting garbage a collection kept ---------------------------------------------- */

/*
 * bdwgc does not report how many objects a collection freed, and counting all marked
 * objects before and after is unreliable: objects sitting in the thread-local free lists
 * are marked too, and those lists change length.  The garbage in W3 and W4 has a shape
 * nothing else in these heaps has, though: two nodes whose slot 0 point at each other and
 * whose slot 1 is NULL.  So after a collection, walk the marked objects and count members
 * of such pairs: that is the garbage the collection failed to free (bdwgc scans stacks
 * and registers conservatively, so a stale word can keep a cycle alive).  Every other
 * garbage node was found unreachable; bdwgc frees wholly empty blocks at once and the
 * rest of them in its lazy sweep.
 */
static void GC_CALLBACK count_pair_member(void *obj, size_t bytes, void *data)
{
    node *x = obj, *y;
    if (bytes < sizeof(node) || bytes > 32 || x->slot[1] != NULL)
        return;
    y = x->slot[0];
    /* GC_base(y) == y: y is the start of a live heap object, safe to read. */
    if (y != NULL && GC_base(y) == (void *)y && y->slot[0] == x && y->slot[1] == NULL)
        ++*(size_t *)data;
}

static void *GC_CALLBACK count_pairs_locked(void *data)
{
    GC_enumerate_reachable_objects_inner(count_pair_member, data);
    return NULL;
}

/* Marked members of two-node cycles after the last collection. */
static size_t retained_cycle_nodes(void)
{
    size_t count = 0;
    GC_call_with_alloc_lock(count_pairs_locked, &count);
    return count;
}

/* ---- finishing the lazy sweep ------------------------------------------------------- */

/*
 * bdwgc's API has no call that only finishes the sweep.  But GC_try_to_collect() with a
 * stop function other than the default one starts by sweeping every block still queued
 * (GC_reclaim_all in reclaim.c, so that the sweep never meets cleared mark bits), asking
 * the stop function before each block; then it clears every block's mark bits and stops
 * the world to mark.  finish_sweep_ms() runs it with a stop function that says "go on"
 * until the collection-event callback sees the world being stopped for marking, and
 * "stop" from then on, so the marking is abandoned before it starts.  The sweep's time
 * is from the call to the stop function's last "go on" before marking: the clearing of
 * the mark bits that follows (a memset over the whole heap's block headers, which
 * belongs to the next collection) is left out, the last block's sweep is too.  An
 * abandoned collection leaves the heap consistent, as GC_try_to_collect promises, but
 * the marks of the last collection are gone: in generational mode (--incremental) the
 * next collection would be a full one, so there it is used only after the last measured
 * collection.  GC_PRINT_VERBOSE_STATS=1 makes bdwgc print its own figure for the same
 * step ("Disposing of reclaim lists took ...").
 */
static struct {
    volatile int marking;       /* the world is being stopped for marking */
    uint64_t t_last_go_on;
} sweep_probe;

static void GC_CALLBACK sweep_probe_event(GC_EventType ev)
{
    if (ev == GC_EVENT_PRE_STOP_WORLD || ev == GC_EVENT_MARK_START)
        sweep_probe.marking = 1;
}

static int GC_CALLBACK stop_at_marking(void)
{
    if (sweep_probe.marking)
        return 1;
    sweep_probe.t_last_go_on = now_ns();
    return 0;
}

/* Sweeps what the last collection left to the allocator; returns the time it took. */
static double finish_sweep_ms(void)
{
    GC_on_collection_event_proc before = GC_get_on_collection_event();
    uint64_t t0;

    sweep_probe.marking = 0;
    GC_set_on_collection_event(sweep_probe_event);
    t0 = now_ns();
    sweep_probe.t_last_go_on = t0;
    (void)GC_try_to_collect(stop_at_marking);   /* 0: abandoned, as intended */
    GC_set_on_collection_event(before);
    if (!sweep_probe.marking) {
        fprintf(stderr, "finish_sweep: bdwgc did not get as far as marking\n");
        exit(1);
    }
    return ns_to_ms(sweep_probe.t_last_go_on - t0);
}

/* ---- W1 / W1c: list of N integers ---------------------------------------------------- */

struct w1_result {
    double uss_built_mb, build_ms;
    uint64_t t_return;
};

/*
 * Builds the array(s) inside a function and drops them by returning.  W1: one
 * pointer-free block (GC_MALLOC_ATOMIC) of n int64, never scanned.  W1c: two scanned
 * blocks of n+1 words, each ending with a pointer to the other (a cycle); the n
 * integers in them are scanned conservatively too, but 0..n-1 never look like heap
 * addresses.  Returns nothing the caller keeps; the release is the return itself.
 */
static NOINLINE void w1_build(size_t n, int cyclic, struct w1_result *r)
{
    uint64_t t0 = now_ns(), t1;
    if (!cyclic) {
        int64_t *a = GC_MALLOC_ATOMIC(n * sizeof *a);
        if (a == NULL)
            exit(1);
        for (size_t i = 0; i < n; i++)
            a[i] = (int64_t)i;
        ESCAPE(a);
        sink_u64 = (uint64_t)a[n / 2];
    } else {
        intptr_t *a = GC_MALLOC((n + 1) * sizeof *a);
        intptr_t *b = GC_MALLOC((n + 1) * sizeof *b);
        if (a == NULL || b == NULL)
            exit(1);
        for (size_t i = 0; i < n; i++)
            a[i] = (intptr_t)i;
        for (size_t i = 0; i < n; i++)
            b[i] = (intptr_t)i;
        a[n] = (intptr_t)b;
        b[n] = (intptr_t)a;
        ESCAPE(a);
        ESCAPE(b);
    }
    t1 = now_ns();
    r->build_ms = ns_to_ms(t1 - t0);
    r->uss_built_mb = bytes_to_mb((double)uss_bytes());
    r->t_return = now_ns();
}

static void run_w1(const struct options *o, int cyclic)
{
    size_t n = o->n > 0 ? (size_t)o->n : 10000000u;
    struct w1_result r;
    double start, released, after_collect = 0, collect_ms = 0, sweep_ms = 0;
    uint64_t t_back;

    GC_gcollect();
    start = bytes_to_mb((double)uss_bytes());
    w1_build(n, cyclic, &r);
    t_back = now_ns();              /* nothing is freed on return: bdwgc has no refcounts */
    released = bytes_to_mb((double)uss_bytes());
    if (cyclic) {
        uint64_t t0 = now_ns();
        GC_gcollect();
        collect_ms = ns_to_ms(now_ns() - t0);
        sweep_ms = finish_sweep_ms();
        collect_ms += sweep_ms;
        after_collect = bytes_to_mb((double)uss_bytes());
    }

    emit("uss_start_mb", start, "MB", 3);
    emit("uss_built_mb", r.uss_built_mb, "MB", 3);
    emit("uss_released_mb", released, "MB", 3);
    if (cyclic)
        emit("uss_after_collect_mb", after_collect, "MB", 3);
    emit("build_ms", r.build_ms, "ms", 3);
    emit("release_ms", ns_to_ms(t_back - r.t_return), "ms", 3);
    if (cyclic) {
        emit("collect_ms", collect_ms, "ms", 3);
        emit("lazy_sweep_ms", sweep_ms, "ms", 3);
    }
}

/* ---- W2: create + release ------------------------------------------------------------ */

/* Each new node refers to `keep`; it becomes garbage when the next one replaces it in
   the volatile sink.  Automatic collections reclaim them; their cost is included. */
static void run_w2(const struct options *o)
{
    long long n = o->n > 0 ? o->n : 10000000;
    static node *volatile keep;
    uint64_t t0, t1;

    keep = gc_alloc(sizeof(node));
    t0 = now_ns();
    for (long long i = 0; i < n; i++) {
        node *x = gc_alloc(sizeof *x);
        x->slot[0] = keep;
        sink_node = x;
    }
    t1 = now_ns();
    sink_node = NULL;
    emit("ns_per_object", (double)(t1 - t0) / (double)n, "ns", 2);
}

/* ---- W3: garbage cycles, one full collection ----------------------------------------- */

/* Builds `count` two-node cycles and keeps none of them. */
static NOINLINE void make_garbage_cycles(long long count)
{
    for (long long i = 0; i < count; i++) {
        node *a = gc_alloc(sizeof *a);
        node *b = gc_alloc(sizeof *b);
        a->slot[0] = b;
        b->slot[0] = a;
        ESCAPE(a);
    }
}

static void run_w3(const struct options *o)
{
    long long n = o->n > 0 ? o->n : 1000000;
    double objects = 2.0 * (double)n;
    uint64_t uss0, uss1, t0, t1, t2, t3;
    long long retained;
    double sweep_ms, collect_ms;

    GC_gcollect();
    uss0 = uss_bytes();
    GC_disable();                     /* automatic collection off while building */
    t0 = now_ns();
    make_garbage_cycles(n);
    t1 = now_ns();
    uss1 = uss_bytes();
    GC_enable();
    t2 = now_ns();
    GC_gcollect();
    t3 = now_ns();
    retained = (long long)retained_cycle_nodes();   /* reads the marks: before the sweep */
    sweep_ms = finish_sweep_ms();
    collect_ms = ns_to_ms(t3 - t2) + sweep_ms;

    emit("build_ns_per_object", (double)(t1 - t0) / objects, "ns", 2);
    emit("collect_ns_per_object", collect_ms * 1e6 / objects, "ns", 2);
    emit("collect_ms", collect_ms, "ms", 3);
    emit_count("freed_objects", 2 * n - retained, "objects");
    emit("bytes_per_object", ((double)uss1 - (double)uss0) / objects, "B", 1);
    emit("lazy_sweep_ms", sweep_ms, "ms", 3);
}

/* ---- W4: live heap with parent pointers ---------------------------------------------- */

/* Complete binary tree of 2^depth - 1 nodes, each pointing back to its parent. */
static tnode *build_parent_tree(int depth, tnode *parent)
{
    tnode *t = gc_alloc(sizeof *t);
    t->parent = parent;
    if (depth > 1) {
        t->left = build_parent_tree(depth - 1, t);
        t->right = build_parent_tree(depth - 1, t);
    }
    return t;
}

/* The W4 young set: `pairs` garbage two-node cycles interleaved with 2 * `pairs` live
   nodes chained through slot 0 (node_i->slot[0] = node_{i-1}); returns the last. */
static NOINLINE node *make_young_nodes(long long pairs)
{
    node *chain = NULL;
    for (long long i = 0; i < pairs; i++) {
        node *a = gc_alloc(sizeof *a);
        node *b = gc_alloc(sizeof *b);
        a->slot[0] = b;
        b->slot[0] = a;
        ESCAPE(a);
        for (int k = 0; k < 2; k++) {
            node *c = gc_alloc(sizeof *c);
            c->slot[0] = chain;
            chain = c;
        }
    }
    return chain;
}

static volatile int full_collections;

/* GC_set_start_callback: bdwgc calls it at the start of every full collection. */
static void GC_CALLBACK on_full_start(void)
{
    full_collections++;
}

/*
 * The youngest-generation collection, in generational mode only (--incremental, the
 * system compare.py calls bdwgc-gen).  In its default mode bdwgc has no generations:
 * the only collection it offers is a full one, already timed as full_ms, so the default
 * mode prints no young_ms (a second full collection would pass for a young one).
 *
 * GC_start_incremental_collection() forces a partial (generational) collection: objects
 * marked by the previous collection stay marked, and marking starts from the roots and
 * the pages dirtied since.  GC_collect_a_little() is then called until it reports no
 * collection in progress (with GC_TIME_UNLIMITED the first call already completes it).
 * bdwgc decides itself whether the collection is partial or full (every GC_full_freq-th
 * one is full); a full one is reported on stderr.  Objects handed out from a
 * thread-local free list that the previous collection had marked stay marked in a
 * partial collection, so a few dozen garbage nodes can survive it (young_freed below
 * 5000); the next full collection frees them.
 */
static void young_collection(void)
{
    GC_start_incremental_collection();
    while (GC_collect_a_little())
        ;
}

/*
 * Default mode: build, then full_ms = a full collection (frees nothing) and its sweep.
 * --incremental: build, a full collection (not timed: finishing its sweep would clear
 * the marks a partial collection builds on), the young set, then young_ms = the partial
 * collection and its sweep.
 */
static void run_w4(const struct options *o)
{
    int depth = o->depth > 0 ? o->depth : 23;
    long long young = o->young > 0 ? o->young : 10000;
    double nodes = (double)(((uint64_t)1 << depth) - 1);
    uint64_t uss0, uss1, t0, t1, t2, t3;
    double sweep_ms;
    long long retained;
    int fulls;
    node *volatile chain;

    GC_gcollect();
    uss0 = uss_bytes();
    t0 = now_ns();
    tree_root = build_parent_tree(depth, NULL);
    t1 = now_ns();
    uss1 = uss_bytes();
    emit("build_ms", ns_to_ms(t1 - t0), "ms", 3);
    emit("bytes_per_node", ((double)uss1 - (double)uss0) / nodes, "B", 1);

    t2 = now_ns();
    GC_gcollect();                             /* full; frees nothing */
    t3 = now_ns();
    if (!o->incremental) {
        sweep_ms = finish_sweep_ms();
        emit("full_ms", ns_to_ms(t3 - t2) + sweep_ms, "ms", 3);
        emit("full_lazy_sweep_ms", sweep_ms, "ms", 3);
        return;
    }

    chain = make_young_nodes(young / 4);
    GC_set_start_callback(on_full_start);
    fulls = full_collections;
    t2 = now_ns();
    young_collection();
    t3 = now_ns();
    GC_set_start_callback(0);
    if (full_collections != fulls)
        fprintf(stderr, "note: bdwgc made the young collection a full one\n");
    retained = (long long)retained_cycle_nodes();   /* reads the marks: before the sweep */
    sweep_ms = finish_sweep_ms();

    emit("young_ms", ns_to_ms(t3 - t2) + sweep_ms, "ms", 4);
    emit_count("young_freed", (young / 4) * 2 - retained, "objects");
    emit("young_lazy_sweep_ms", sweep_ms, "ms", 4);
    ESCAPE(chain);
}

/* ---- W5 / W5p: binary-trees -------------------------------------------------------- */

static node *make_tree(int depth)
{
    node *n = gc_alloc(sizeof *n);
    if (depth > 0) {
        n->slot[0] = make_tree(depth - 1);
        n->slot[1] = make_tree(depth - 1);
    }
    return n;
}

static uint64_t check_tree(const node *n)
{
    if (n->slot[0] == NULL)
        return 1;
    return 1 + check_tree(n->slot[0]) + check_tree(n->slot[1]);
}

/* W5p: the same tree, nodes with a parent pointer (makes no difference to a tracing
   collector, but keeps the shape identical to the other systems' W5p). */
static tnode *make_tree_p(int depth, tnode *parent)
{
    tnode *t = gc_alloc(sizeof *t);
    t->parent = parent;
    if (depth > 0) {
        t->left = make_tree_p(depth - 1, t);
        t->right = make_tree_p(depth - 1, t);
    }
    return t;
}

static uint64_t check_tree_p(const tnode *t)
{
    if (t->left == NULL)
        return 1;
    return 1 + check_tree_p(t->left) + check_tree_p(t->right);
}

static void *volatile long_lived;

/* Makes and checks one tree; the tree becomes garbage on return. */
static NOINLINE uint64_t make_check(int depth, int with_parent)
{
    return with_parent ? check_tree_p(make_tree_p(depth, NULL))
                       : check_tree(make_tree(depth));
}

static void run_w5(const struct options *o, int with_parent)
{
    const int min_depth = 4;
    int max_depth = o->depth > 0 ? o->depth : 21;
    struct peak_sampler sampler;
    uint64_t checksum = 0, t0, t1, peak;

    if (max_depth < min_depth + 2)
        max_depth = min_depth + 2;

    sampler_start(&sampler, o->sample_ms);
    t0 = now_ns();
    checksum += make_check(max_depth + 1, with_parent);        /* stretch tree */
    long_lived = with_parent ? (void *)make_tree_p(max_depth, NULL)
                             : (void *)make_tree(max_depth);
    for (int d = min_depth; d <= max_depth; d += 2) {
        uint64_t iterations = (uint64_t)1 << (max_depth - d + min_depth);
        for (uint64_t i = 0; i < iterations; i++)
            checksum += make_check(d, with_parent);
    }
    checksum += with_parent ? check_tree_p(long_lived) : check_tree(long_lived);
    t1 = now_ns();
    peak = sampler_stop(&sampler);

    if (checksum != binary_trees_expected(min_depth, max_depth)) {
        fprintf(stderr, "W5: bad checksum %llu\n", (unsigned long long)checksum);
        exit(1);
    }
    sink_u64 = checksum;
    emit("wall_ms", ns_to_ms(t1 - t0), "ms", 1);
    emit("peak_uss_mb", bytes_to_mb((double)peak), "MB", 2);
}

/* ---- W6: pauses ------------------------------------------------------------------- */

/*
 * Pause recorder for GC_set_on_collection_event.  bdwgc calls it with the allocation
 * lock held, in the thread that runs the collection, which here is the mutator: from
 * the mutator's point of view the whole span is a pause.
 *
 *   Full collections (GC_try_to_collect_inner: every collection in default mode, and
 *   the periodic full ones in incremental mode) are bracketed by GC_EVENT_START and
 *   GC_EVENT_END.
 *   Collections that bdwgc starts itself in incremental mode (GC_maybe_gc: the partial
 *   ones and the periodic full ones) send no START/END; they run from
 *   GC_EVENT_PRE_STOP_WORLD / GC_EVENT_MARK_START to GC_EVENT_RECLAIM_END (end of
 *   GC_finish_collection), or to GC_EVENT_POST_START_WORLD when marking was abandoned
 *   (possible only with a time limit).  The lazy-sweep catch-up GC_maybe_gc does before
 *   a full mark in that mode precedes the first event and is not counted.
 */
static struct {
    double *ms;              /* recorded pauses, in milliseconds */
    size_t count, cap;
    double max_ms, total_ms; /* kept even if `ms` overflows */
    int in_pause, full, mark_done;
    uint64_t t0;
} pauses;

static void pause_begin(int full)
{
    if (!pauses.in_pause) {
        pauses.in_pause = 1;
        pauses.full = full;
        pauses.mark_done = 0;
        pauses.t0 = now_ns();
    } else if (full) {
        pauses.full = 1;
    }
}

static void pause_end(void)
{
    double ms = ns_to_ms(now_ns() - pauses.t0);
    pauses.in_pause = 0;
    if (pauses.count < pauses.cap)
        pauses.ms[pauses.count] = ms;
    pauses.count++;
    pauses.total_ms += ms;
    if (ms > pauses.max_ms)
        pauses.max_ms = ms;
}

static void GC_CALLBACK on_collection_event(GC_EventType ev)
{
    switch (ev) {
    case GC_EVENT_START:
        pause_begin(1);
        break;
    case GC_EVENT_PRE_STOP_WORLD:
    case GC_EVENT_MARK_START:
        pause_begin(0);
        break;
    case GC_EVENT_MARK_END:
        pauses.mark_done = 1;
        break;
    case GC_EVENT_RECLAIM_END:
        if (pauses.in_pause && !pauses.full)
            pause_end();
        break;
    case GC_EVENT_POST_START_WORLD:
        if (pauses.in_pause && !pauses.full && !pauses.mark_done)
            pause_end();                       /* abandoned partial marking */
        break;
    case GC_EVENT_END:
        if (pauses.in_pause)
            pause_end();
        break;
    default:
        break;
    }
}

/* Start recording every collection's pause: room for 2^20 of them, later ones count in
   `count`, `max_ms` and `total_ms` only. */
static void pauses_start(void)
{
    pauses.cap = 1u << 20;
    pauses.ms = malloc(pauses.cap * sizeof *pauses.ms);
    if (pauses.ms == NULL)
        exit(1);
    GC_set_on_collection_event(on_collection_event);
}

/* RC_PAUSES_FILE=path: write every pause there, in ms, one per line (bench/compare.py). */
static void write_pauses(const double *ms, size_t n)
{
    const char *path = getenv("RC_PAUSES_FILE");
    FILE *f;
    if (path == NULL || *path == '\0')
        return;
    if ((f = fopen(path, "w")) == NULL) {
        perror(path);
        return;
    }
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%.6f\n", ms[i]);
    fclose(f);
}

static void run_w6(const struct options *o)
{
    int depth = o->depth > 0 ? o->depth : 23;
    double seconds = o->seconds > 0 ? o->seconds : 5.0;
    size_t ring_size = o->ring > 0 ? (size_t)o->ring : 100000u;
    static node **volatile ring;
    uint64_t uss0, uss1, t0, now, deadline;
    uint64_t made = 0;
    size_t slot = 0, kept;
    double settle_ms;

    /* Settle, as the other systems do: a full collection, and in the default mode its
       sweep (in generational mode finishing the sweep would clear the marks the next
       partial collection builds on). */
    tree_root = build_parent_tree(depth, NULL);
    t0 = now_ns();
    GC_gcollect();
    settle_ms = ns_to_ms(now_ns() - t0);
    if (!o->incremental)
        settle_ms += finish_sweep_ms();
    uss0 = uss_bytes();

    ring = gc_alloc(ring_size * sizeof(node *));
    pauses_start();
    t0 = now_ns();
    deadline = t0 + (uint64_t)(seconds * 1e9);
    for (;;) {
        for (int k = 0; k < 1024; k++) {       /* check the clock every 1024 cycles */
            node *a = gc_alloc(sizeof *a);
            node *b = gc_alloc(sizeof *b);
            a->slot[0] = b;
            b->slot[0] = a;
            ring[slot] = a;                    /* drops the cycle parked here before */
            if (++slot == ring_size)
                slot = 0;
        }
        made += 1024;
        now = now_ns();
        if (now >= deadline)
            break;
    }
    GC_set_on_collection_event(0);
    uss1 = uss_bytes();

    kept = pauses.count < pauses.cap ? pauses.count : pauses.cap;
    write_pauses(pauses.ms, kept);     /* before percentile(), which sorts */
    emit("max_pause_ms", pauses.max_ms, "ms", 3);
    emit("p99_pause_ms", percentile(pauses.ms, kept, 0.99), "ms", 4);
    emit_count("pauses", (long long)pauses.count, "collections");
    emit("cycles_per_s", (double)made / ((double)(now - t0) / 1e9), "cycles/s", 0);
    emit("uss_growth_mb", bytes_to_mb((double)uss1 - (double)uss0), "MB", 2);
    emit("total_pause_ms", pauses.total_ms, "ms", 3);
    emit("settle_ms", settle_ms, "ms", 3);
    free(pauses.ms);
}

/* ---- W7: growing heap ---------------------------------------------------------------- */

/*
 * The W4 tree built with collection automatic from the first allocation: depth-first,
 * each node made before its children, and after every 8th node a two-node garbage cycle
 * made and dropped at once.  Every collection is recorded by the W6 recorder above
 * (GC_set_on_collection_event): in default mode all of them are full ones, timed from
 * GC_EVENT_START to GC_EVENT_END; with --incremental (bdwgc-gen) the partial ones bdwgc
 * starts itself are timed as in W6.  Not counted, as in W6: the lazy sweep, which bdwgc
 * spreads over later allocations, and the growing of the heap (GC_expand_hp: mapping
 * and first touch of new blocks), which happens outside collections.
 */
#define W7_SAMPLE 65536u           /* USS read every this many tree nodes, and at the end */

static struct {
    uint64_t made;
    uint64_t peak;                 /* highest USS read, bytes */
    uint64_t sample_ns;            /* time spent reading it, left out of build_ms */
} w7;

static void w7_sample(void)
{
    uint64_t t = now_ns(), v = uss_bytes();
    if (v > w7.peak)
        w7.peak = v;
    w7.sample_ns += now_ns() - t;
}

static NOINLINE void w7_garbage_cycle(void)
{
    node *a = gc_alloc(sizeof *a);
    node *b = gc_alloc(sizeof *b);
    a->slot[0] = b;
    b->slot[0] = a;
    ESCAPE(a);
}

static tnode *w7_tree(int levels, tnode *parent)
{
    tnode *t = gc_alloc(sizeof *t);
    t->parent = parent;
    if (++w7.made % 8 == 0)
        w7_garbage_cycle();
    if (w7.made % W7_SAMPLE == 0)
        w7_sample();
    if (levels > 1) {
        t->left = w7_tree(levels - 1, t);
        t->right = w7_tree(levels - 1, t);
    }
    return t;
}

static void run_w7(const struct options *o)
{
    int depth = o->depth > 0 ? o->depth : 23;
    uint64_t uss0, uss1, t0, t1, sample_ns;
    size_t kept;

    pauses_start();
    uss0 = uss_bytes();
    w7.peak = uss0;
    t0 = now_ns();
    tree_root = w7_tree(depth, NULL);
    t1 = now_ns();
    GC_set_on_collection_event(0);
    sample_ns = w7.sample_ns;
    w7_sample();
    uss1 = uss_bytes();

    kept = pauses.count < pauses.cap ? pauses.count : pauses.cap;
    write_pauses(pauses.ms, kept);     /* before percentile(), which sorts */
    emit("build_ms", ns_to_ms(t1 - t0 - sample_ns), "ms", 3);
    emit("max_pause_ms", pauses.max_ms, "ms", 3);
    emit("p99_pause_ms", percentile(pauses.ms, kept, 0.99), "ms", 4);
    emit_count("pauses", (long long)pauses.count, "collections");
    emit("total_pause_ms", pauses.total_ms, "ms", 3);
    emit("peak_uss_mb", bytes_to_mb((double)w7.peak), "MB", 2);
    emit("uss_growth_mb", bytes_to_mb((double)uss1 - (double)uss0), "MB", 2);
    free(pauses.ms);
}

/* ---------------------------------------------------------------------------------- */

static void describe_collector(const struct options *o)
{
    struct GC_prof_stats_s st;
    unsigned v = GC_get_version();
    GC_get_prof_stats(&st, sizeof st);
    fprintf(stderr, "bdwgc %u.%u.%u: incremental=%d (protects %d) time_limit=%lu "
            "markers=%lu\n", v >> 16, (v >> 8) & 0xff, v & 0xff,
            GC_is_incremental_mode(), o->incremental ? GC_incremental_protection_needs() : 0,
            GC_get_time_limit(), (unsigned long)st.markers_m1 + 1);
}

int main(int argc, char **argv)
{
    struct options o;
    const char *list = "W1|W1c|W2|W3|W4|W5|W5p|W6|W7";
    parse_options(argc, argv, &o, list);

    if (o.workers > 0) {
        /* N markers, the caller's thread included: `recycle bench W4 --workers N`'s
         * peer. Read by GC_INIT; the helpers start with GC_start_mark_threads. */
        char n[16];
        snprintf(n, sizeof n, "%d", o.workers);
        setenv("GC_MARKERS", n, 1);
        o.parallel_mark = 1;
    }
    if (o.incremental)
        GC_enable_incremental();      /* must come first; includes GC_init() */
    GC_INIT();
    if (o.parallel_mark)
        GC_start_mark_threads();
    describe_collector(&o);

    if (strcmp(o.workload, "W1") == 0)
        run_w1(&o, 0);
    else if (strcmp(o.workload, "W1c") == 0)
        run_w1(&o, 1);
    else if (strcmp(o.workload, "W2") == 0)
        run_w2(&o);
    else if (strcmp(o.workload, "W3") == 0)
        run_w3(&o);
    else if (strcmp(o.workload, "W4") == 0)
        run_w4(&o);
    else if (strcmp(o.workload, "W5") == 0)
        run_w5(&o, 0);
    else if (strcmp(o.workload, "W5p") == 0)
        run_w5(&o, 1);
    else if (strcmp(o.workload, "W6") == 0)
        run_w6(&o);
    else if (strcmp(o.workload, "W7") == 0)
        run_w7(&o);
    else
        usage(argv[0], list);
    return 0;
}
