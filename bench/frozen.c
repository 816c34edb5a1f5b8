/*
 * frozen.c -- W11, a frozen tree read by threads (bench/WORKLOADS.md): the
 * W4 tree frozen in a region (rc_region_freeze) and read whole by one
 * thread, then by --threads threads at once, each taking and dropping a
 * reference to every node it visits. A region's counts are never written,
 * so the readers share nothing but the read-only tree. Beside it, in the
 * same run, the same tree as plain C structs whose counts are C11 atomics
 * (what Arc-style sharing and free-threaded runtimes do), read the same
 * way, every child costing an atomic increment and decrement on a count
 * the other readers write too; and the tree in an ordinary heap read by
 * one thread (plain counts), the single-threaded baseline.
 */
#include "bench.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

enum { READ_FROZEN, READ_ATOMIC, READ_HEAP };

/* ---- the atomic-count peer ---- */

/* A tree node with an atomic count (32 bytes): left, right and parent, each
 * a counted reference, as in the W4 tree. */
typedef struct anode {
    atomic_size_t count;
    struct anode *left, *right, *parent;
} anode;

static anode *anode_tree(int levels, anode *parent)
{
    anode *n = malloc(sizeof *n);
    if (!n) {
        fprintf(stderr, "recycle bench W11: out of memory for the atomic-count tree\n");
        exit(1);
    }
    atomic_init(&n->count, 1);   /* the reference returned */
    n->left = n->right = NULL;
    n->parent = parent;
    if (parent) atomic_fetch_add_explicit(&parent->count, 1, memory_order_relaxed);
    if (levels > 1) {
        n->left = anode_tree(levels - 1, n);
        n->right = anode_tree(levels - 1, n);
    }
    return n;
}

/* Frees the whole tree (its parent references make every count > 1: no
 * count ever reaches 0 by itself). */
static void anode_free(anode *n)
{
    if (!n) return;
    anode_free(n->left);
    anode_free(n->right);
    free(n);
}

/* Reference operations as Arc does them: the increment relaxed, the
 * decrement release, and acquire before the last reference frees. */
static inline void anode_incref(anode *n)
{
    atomic_fetch_add_explicit(&n->count, 1, memory_order_relaxed);
}

static inline void anode_decref(anode *n)
{
    if (atomic_fetch_sub_explicit(&n->count, 1, memory_order_release) == 1) {
        atomic_thread_fence(memory_order_acquire);
        abort();   /* the tree holds every node: a last reference here is a bug */
    }
}

/* ---- the traversals: a reference to each child while it is visited ---- */

/* Nodes seen under n, n included. */
static long read_atomic(anode *n)
{
    long seen = 1;
    anode *kids[2] = {n->left, n->right};
    for (int i = 0; i < 2; i++)
        if (kids[i]) {
            anode_incref(kids[i]);
            seen += read_atomic(kids[i]);
            anode_decref(kids[i]);
        }
    return seen;
}

/* The same on recycle's objects: on a region's, rc_incref and rc_decref
 * write nothing; on a heap's, they are plain additions. */
static long read_rc(bench_tnode *n)
{
    long seen = 1;
    bench_tnode *kids[2] = {n->left, n->right};
    for (int i = 0; i < 2; i++)
        if (kids[i]) {
            rc_incref(kids[i]);
            seen += read_rc(kids[i]);
            rc_decref(kids[i]);
        }
    return seen;
}

/* ---- the readers ---- */

typedef struct w11_job {
    int kind, depth;
    long traversals;
    rc_region *region;   /* READ_FROZEN */
    anode *tree;         /* READ_ATOMIC */
    bench_gang *gang;
    long seen;           /* nodes visited, every traversal */
} w11_job;

/* A heap freed with its tree in it (cycles and all), by design: no end
 * report (debug builds print one by default). */
static rc_heap *quiet_heap(void)
{
    rc_heap_config cfg;
    rc_heap_config_init(&cfg);
    cfg.leak_report = NULL;
    return rc_heap_new(&cfg);
}

/* One reader: takes its own reference to the tree (a hold on the region,
 * a reference to the atomic tree's root; READ_HEAP builds a tree in a heap
 * of its own and settles it with a full collection, as W6 does), reads
 * it once, then `traversals` times between the gang's barriers. */
static void *reader(void *arg)
{
    w11_job *j = arg;
    rc_heap *h = NULL;
    bench_tnode *root = NULL;
    if (j->kind == READ_FROZEN) {
        rc_region_hold(j->region);
        root = rc_region_root(j->region);
    } else if (j->kind == READ_ATOMIC) {
        anode_incref(j->tree);
    } else {
        h = quiet_heap();
        root = bench_tree(h, &bench_tree_type, j->depth, NULL);
        rc_gc_collect(h, 2);
    }
    /* One traversal before the start, not timed: every reader starts warm
     * (the heap's reader has made each node a cycle candidate once). */
    long nodes = j->kind == READ_ATOMIC ? read_atomic(j->tree) : read_rc(root);
    bench_gang_begin(j->gang);
    for (long t = 0; t < j->traversals; t++)
        j->seen += j->kind == READ_ATOMIC ? read_atomic(j->tree) : read_rc(root);
    bench_gang_end(j->gang);
    if (nodes != (1L << j->depth) - 1) j->seen = -1;
    if (j->kind == READ_FROZEN) {
        rc_region_drop(j->region);
    } else if (j->kind == READ_ATOMIC) {
        anode_decref(j->tree);
    } else {
        rc_heap_free(h);
    }
    return NULL;
}

/* ns per node per traversal with k readers of the same tree at once (the
 * wall time of all of them: with perfect scaling, the same for any k), or
 * -1 when a reader saw a wrong number of nodes; *cpu_ns gets the same from
 * the readers' CPU times (their mean), which a busy machine that gives the
 * readers no core each does not inflate. */
static double read_ns(int k, const w11_job *job, double *cpu_ns)
{
    w11_job jobs[64];
    bench_gang gang;
    for (int i = 0; i < k; i++) {
        jobs[i] = *job;
        jobs[i].gang = &gang;
    }
    double cpu_ms, ms = bench_run_gang("W11", &gang, k, reader, jobs, sizeof jobs[0], &cpu_ms);
    long nodes = (1L << job->depth) - 1;
    double per_node = 1e6 / ((double)nodes * (double)job->traversals);
    *cpu_ns = cpu_ms * per_node;
    for (int i = 0; i < k; i++)
        if (jobs[i].seen != nodes * job->traversals) {
            fprintf(stderr, "recycle bench W11: a reader saw %ld nodes, not %ld\n", jobs[i].seen,
                    nodes * job->traversals);
            return -1;
        }
    return ms * per_node;
}

static int run_w11(const cli_optvals *o)
{
    int k = (int)cli_opts_int(o, "--threads"), depth = (int)cli_opts_int(o, "--depth");
    long traversals = cli_opts_int(o, "--traversals");
    rc_heap *h = quiet_heap();
    void *root = bench_tree(h, &bench_tree_type, depth, NULL);
    double t0 = bench_now_ms();
    rc_region *region = rc_region_freeze(h, root);
    double freeze_ms = bench_now_ms() - t0;
    if (!region) {
        fprintf(stderr, "recycle bench W11: rc_region_freeze failed: %s\n",
                rc_heap_error_message(h));
        rc_heap_free(h);
        return 1;
    }
    rc_heap_free(h);   /* empty: the tree moved into the region */
    anode *tree = anode_tree(depth, NULL);
    w11_job frozen = {.kind = READ_FROZEN, .depth = depth, .traversals = traversals,
                      .region = region};
    w11_job atomic = {.kind = READ_ATOMIC, .depth = depth, .traversals = traversals,
                      .tree = tree};
    w11_job heap = {.kind = READ_HEAP, .depth = depth, .traversals = traversals};
    /* One reader of each, then k readers of each at once. */
    double cpu_f1, cpu_a1, cpu_h1, cpu_fk, cpu_ak;
    double frozen_1 = read_ns(1, &frozen, &cpu_f1), atomic_1 = read_ns(1, &atomic, &cpu_a1);
    double heap_1 = read_ns(1, &heap, &cpu_h1);
    double frozen_k = read_ns(k, &frozen, &cpu_fk), atomic_k = read_ns(k, &atomic, &cpu_ak);
    rc_region_drop(region);   /* the last holder: frees the region */
    anode_free(tree);
    if (frozen_1 < 0 || atomic_1 < 0 || heap_1 < 0 || frozen_k < 0 || atomic_k < 0) return 1;
    bench_emit("threads", k, "threads");
    bench_emit("nodes", (double)((1L << depth) - 1), "nodes");
    bench_emit("freeze_ms", freeze_ms, "ms");
    /* Scaling: throughput with k readers (k traversals in the wall time)
     * over throughput with one. */
    bench_emit("frozen_ns_per_node_1", frozen_1, "ns");
    bench_emit("frozen_ns_per_node_n", frozen_k, "ns");
    bench_emit("frozen_scaling", k * frozen_1 / frozen_k, "x");
    bench_emit("atomic_ns_per_node_1", atomic_1, "ns");
    bench_emit("atomic_ns_per_node_n", atomic_k, "ns");
    bench_emit("atomic_scaling", k * atomic_1 / atomic_k, "x");
    bench_emit("heap_ns_per_node_1", heap_1, "ns");
    /* The same per reader from its CPU time (mean over the readers). */
    bench_emit("frozen_cpu_ns_per_node_1", cpu_f1, "ns");
    bench_emit("frozen_cpu_ns_per_node_n", cpu_fk, "ns");
    bench_emit("atomic_cpu_ns_per_node_1", cpu_a1, "ns");
    bench_emit("atomic_cpu_ns_per_node_n", cpu_ak, "ns");
    bench_emit("heap_cpu_ns_per_node_1", cpu_h1, "ns");
    return 0;
}

static const cli_opt w11_opts[] = {
    {"--threads", CLI_OPT_INT, 1, 64, 2, NULL},
    {"--depth", CLI_OPT_INT, 1, 30, 20, " (a tree of 2^depth nodes)"},
    {"--traversals", CLI_OPT_INT, 1, 1000000, 5, " (full traversals per reader)"},
};

const bench_workload bench_frozen_workload = {
    "W11", "frozen W4 tree read by 1 and --threads threads, beside atomic counts",
    w11_opts, sizeof w11_opts / sizeof w11_opts[0], run_w11};
