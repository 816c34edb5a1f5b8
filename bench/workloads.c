/*
 * workloads.c -- the benchmark workloads W1-W7 of bench/WORKLOADS.md on
 * recycle (W8, the catalog, is bench/catalog.c).
 *
 * Each workload prints one `name value unit` line per metric. Times come from
 * CLOCK_MONOTONIC, memory is the process's USS in MB (2^20 bytes). A node is
 * an object with two pointer slots (slots form: no callbacks); a tree node
 * has three (left, right, parent). Default settings everywhere: nothing is
 * tuned per workload.
 */
#include "bench.h"

#include "recycle.h"
#include "recycle/builtins.h"
#include "recycle/gc.h"
#include "recycle/memory.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct node2 { void *slot[2]; } node2;
typedef bench_tnode node3;

static const rc_type node2_type = {.name = "node", .size = sizeof(node2), .nslots = 2};

/* ---- W1: a list of N integers ---- */

typedef struct w1_report { double built_mb, build_ms, t_return; } w1_report;

/* Objects the collections of `h` have freed so far, every kind (what
 * rc_gc_collect returns is what they found unreachable: the same here, as
 * nothing is saved or resurrected, but "freed" is what the metrics say). */
static size_t freed_so_far(const rc_heap *h)
{
    rc_gc_stats st[3], cand;
    rc_gc_get_stats(h, st);
    rc_gc_get_candidate_stats(h, &cand);
    return st[0].freed + st[1].freed + st[2].freed + cand.freed;
}

static __attribute__((noinline)) void w1_inner(rc_heap *h, long n, int cyclic, w1_report *r)
{
    double t0 = bench_now_ms();
    rc_list *a = rc_list_new(h, 0), *b = NULL;
    for (long i = 0; i < n; i++) rc_list_append(a, rc_int(i));
    if (cyclic) {
        b = rc_list_new(h, 0);
        for (long i = 0; i < n; i++) rc_list_append(b, rc_int(i));
        rc_list_append(a, rc_obj(b));
        rc_list_append(b, rc_obj(a));
    }
    r->build_ms = bench_now_ms() - t0;
    r->built_mb = bench_uss_mb();
    r->t_return = bench_now_ms();
    rc_decref(a);   /* the function's references go as it returns */
    if (b) rc_decref(b);
}

static int run_w1(const cli_optvals *o, int cyclic)
{
    long n = cli_opts_int(o, "--n");
    rc_heap *h = rc_heap_new(NULL);
    double start = bench_uss_mb();
    w1_report r;
    w1_inner(h, n, cyclic, &r);
    double release_ms = bench_now_ms() - r.t_return;
    double released = bench_uss_mb();
    bench_emit("uss_start_mb", start, "MB");
    bench_emit("uss_built_mb", r.built_mb, "MB");
    bench_emit("uss_released_mb", released, "MB");
    if (cyclic) {
        double t0 = bench_now_ms();
        rc_gc_collect(h, 2);
        double collect_ms = bench_now_ms() - t0;
        bench_emit("uss_after_collect_mb", bench_uss_mb(), "MB");
        bench_emit("collect_ms", collect_ms, "ms");
    }
    bench_emit("build_ms", r.build_ms, "ms");
    bench_emit("release_ms", release_ms, "ms");
    rc_heap_free(h);
    return 0;
}

static int run_w1_plain(const cli_optvals *o) { return run_w1(o, 0); }
static int run_w1_cyclic(const cli_optvals *o) { return run_w1(o, 1); }

/* ---- W2: create + release ---- */

static int run_w2(const cli_optvals *o)
{
    long n = cli_opts_int(o, "--n");
    rc_heap *h = rc_heap_new(NULL);
    node2 *keep = rc_new(h, &node2_type);
    double t0 = bench_now_ms();
    for (long i = 0; i < n; i++) {
        node2 *x = rc_new(h, &node2_type);
        rc_incref(keep);
        x->slot[0] = keep;
        rc_decref(x);
    }
    double ms = bench_now_ms() - t0;
    bench_emit("ns_per_object", ms * 1e6 / (double)n, "ns");
    rc_decref(keep);
    rc_heap_free(h);
    return 0;
}

/* ---- W3: garbage cycles ---- */

static int run_w3(const cli_optvals *o)
{
    long n = cli_opts_int(o, "--n");
    double objects = 2.0 * (double)n;
    rc_heap *h = rc_heap_new(NULL);
    rc_gc_disable(h);
    double u0 = bench_uss_bytes();
    double t0 = bench_now_ms();
    for (long i = 0; i < n; i++) {
        node2 *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
        a->slot[0] = b;   /* a takes our reference to b */
        rc_incref(a);
        b->slot[0] = a;
        rc_decref(a);
    }
    double t1 = bench_now_ms();
    double u1 = bench_uss_bytes();
    size_t freed0 = freed_so_far(h);
    double t2 = bench_now_ms();
    rc_gc_collect(h, 2);
    double t3 = bench_now_ms();
    size_t freed = freed_so_far(h) - freed0;
    bench_emit("build_ns_per_object", (t1 - t0) * 1e6 / objects, "ns");
    bench_emit("collect_ns_per_object", (t3 - t2) * 1e6 / objects, "ns");
    bench_emit("collect_ms", t3 - t2, "ms");
    bench_emit("freed_objects", (double)freed, "objects");
    bench_emit("bytes_per_object", (u1 - u0) / objects, "B");
    rc_heap_free(h);
    return 0;
}

/* ---- W4: live heap ---- */

/* The W4 young set: `pairs` garbage two-node cycles and 2 * pairs live nodes
 * chained through slot 0; returns the chain's last node (new reference). */
static node2 *make_young(rc_heap *h, long pairs)
{
    node2 *chain = NULL;
    for (long i = 0; i < pairs; i++) {
        node2 *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
        a->slot[0] = b;
        rc_incref(a);
        b->slot[0] = a;
        rc_decref(a);
        for (int k = 0; k < 2; k++) {
            node2 *c = rc_new(h, &node2_type);
            c->slot[0] = chain;   /* takes over our reference */
            chain = c;
        }
    }
    return chain;
}

static int run_w4(const cli_optvals *o)
{
    int depth = (int)cli_opts_int(o, "--depth");
    long young = cli_opts_int(o, "--young");
    double nodes = (double)((1L << depth) - 1);
    rc_heap *h = rc_heap_new(NULL);
    if (rc_gc_set_parallel(h, (int)cli_opts_int(o, "--workers"))) return 1;
    double u0 = bench_uss_bytes();
    double t0 = bench_now_ms();
    node3 *root = bench_tree(h, &bench_tree_type, depth, NULL);
    double t1 = bench_now_ms();
    double u1 = bench_uss_bytes();
    double t2 = bench_now_ms();
    rc_gc_collect(h, 2);
    double t3 = bench_now_ms();
    rc_gc_disable(h);
    node2 *chain = make_young(h, young / 4);   /* young >= 4: not NULL */
    size_t freed0 = freed_so_far(h);
    double t4 = bench_now_ms();
    rc_gc_collect(h, 0);
    double t5 = bench_now_ms();
    size_t young_freed = freed_so_far(h) - freed0;
    rc_gc_enable(h);
    bench_emit("build_ms", t1 - t0, "ms");
    bench_emit("bytes_per_node", (u1 - u0) / nodes, "B");
    bench_emit("full_ms", t3 - t2, "ms");
    bench_emit("young_ms", t5 - t4, "ms");
    bench_emit("young_freed", (double)young_freed, "objects");
    rc_xdecref(chain);
    rc_decref(root);
    rc_heap_free(h);
    return 0;
}

/* RC_BENCH_STATS=1: where the collector's time went, by kind of
 * collection, on standard error (rc_gc_get_stats and its siblings). */
static void bench_gc_stats(const rc_heap *h)
{
    if (!getenv("RC_BENCH_STATS")) return;
    rc_gc_stats st[3], cand, inc;
    rc_gc_get_stats(h, st);
    rc_gc_get_candidate_stats(h, &cand);
    rc_gc_get_increment_stats(h, &inc);
    for (int g = 0; g < 3; g++)
        fprintf(stderr, "gen%d: %zu collections, %zu freed, %.1f ms\n", g, st[g].collections,
                st[g].freed, st[g].seconds * 1e3);
    fprintf(stderr, "candidate scans: %zu, %zu freed, %.1f ms\n", cand.collections, cand.freed,
            cand.seconds * 1e3);
    fprintf(stderr, "incremental steps: %zu, %zu freed, %.1f ms\n", inc.collections, inc.freed,
            inc.seconds * 1e3);
}

/* ---- W5: binary-trees ---- */

/* Peak USS, sampled by a thread every few milliseconds. */
typedef struct sampler {
    pthread_t thread;
    volatile int stop;
    double peak_mb;
} sampler;

static void *sample_loop(void *arg)
{
    sampler *s = arg;
    while (!s->stop) {
        double mb = bench_uss_mb();
        if (mb > s->peak_mb) s->peak_mb = mb;
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static long item_check(const node3 *n)
{
    return n->left ? 1 + item_check(n->left) + item_check(n->right) : 1;
}

static const rc_type w5_node_type = {.name = "bt_node", .size = sizeof(node2), .nslots = 2};

/* A binary-trees tree of the given depth (2^(depth+1) - 1 nodes). */
static node3 *bottom_up(rc_heap *h, const rc_type *t, int depth)
{
    return bench_tree(h, t, depth + 1, NULL);
}

static int run_w5(const cli_optvals *o, int parents)
{
    int n = (int)cli_opts_int(o, "--depth");
    int quiet = cli_opts_int(o, "--print") == 0;
    const rc_type *w5_type = parents ? &bench_tree_type : &w5_node_type;
    rc_heap *h = rc_heap_new(NULL);
    if (getenv("W5_NOGC")) rc_gc_disable(h);
    sampler smp = {.peak_mb = bench_uss_mb()};
    pthread_create(&smp.thread, NULL, sample_loop, &smp);
    double t0 = bench_now_ms();
    const int min_depth = 4;
    int max_depth = n > min_depth + 2 ? n : min_depth + 2;
    long check_sum = 0;

    node3 *stretch = bottom_up(h, w5_type, max_depth + 1);
    long c = item_check(stretch);
    if (!quiet) printf("stretch tree of depth %d\t check: %ld\n", max_depth + 1, c);
    rc_decref(stretch);
    check_sum += c;

    node3 *long_lived = bottom_up(h, w5_type, max_depth);
    for (int d = min_depth; d <= max_depth; d += 2) {
        long iterations = 1L << (max_depth - d + min_depth), check = 0;
        for (long i = 0; i < iterations; i++) {
            node3 *t = bottom_up(h, w5_type, d);
            check += item_check(t);
            rc_decref(t);
        }
        if (!quiet) printf("%ld\t trees of depth %d\t check: %ld\n", iterations, d, check);
        check_sum += check;
    }
    c = item_check(long_lived);
    if (!quiet) printf("long lived tree of depth %d\t check: %ld\n", max_depth, c);
    rc_decref(long_lived);
    check_sum += c;
    double wall = bench_now_ms() - t0;
    smp.stop = 1;
    pthread_join(smp.thread, NULL);
    bench_emit("wall_ms", wall, "ms");
    bench_emit("peak_uss_mb", smp.peak_mb, "MB");
    if (check_sum <= 0) fprintf(stderr, "W5: bad check %ld\n", check_sum);
    bench_gc_stats(h);
    rc_heap_free(h);
    return 0;
}

static int run_w5_plain(const cli_optvals *o) { return run_w5(o, 0); }
static int run_w5_parents(const cli_optvals *o) { return run_w5(o, 1); }

/* ---- W6: pauses ---- */

typedef struct pause_log {
    double *ms;
    size_t n, cap;
    double total_ms;   /* every pause, also one `ms` had no room for */
} pause_log;

static void record_pause(rc_heap *h, int phase, const rc_gc_info *info, void *ud)
{
    (void)h;
    pause_log *log = ud;
    if (phase != RC_GC_STOP) return;
    log->total_ms += info->duration * 1e3;
    if (log->n == log->cap) {
        size_t cap = log->cap ? log->cap * 2 : 4096;
        double *ms = realloc(log->ms, cap * sizeof *ms);
        if (!ms) return;   /* out of memory: this pause goes unrecorded */
        log->ms = ms;
        log->cap = cap;
    }
    log->ms[log->n++] = info->duration * 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* RC_PAUSES_FILE=path: write every pause there, in ms, one per line
 * (bench/compare.py); `workload` names the run in messages. */
static int write_pauses(const char *workload, const double *ms, size_t n)
{
    const char *path = getenv("RC_PAUSES_FILE");
    if (!path || !*path) return 0;
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "recycle bench %s: cannot create %s: %s\n", workload, path,
                strerror(errno));
        return 1;
    }
    for (size_t i = 0; i < n; i++) fprintf(f, "%.6f\n", ms[i]);
    int bad = fflush(f) != 0 || ferror(f);
    int err = errno;
    if (fclose(f) != 0 && !bad) bad = 1, err = errno;
    if (bad) {
        fprintf(stderr, "recycle bench %s: cannot write %s: %s\n", workload, path, strerror(err));
        return 1;
    }
    return 0;
}

/* max and p99 (nearest rank) of the pauses `log` recorded, which it sorts,
 * and the total of every pause, also one it had no room for. */
static void pause_figures(pause_log *log, double *max, double *p99, double *total)
{
    *max = *p99 = 0;
    *total = log->total_ms;
    if (!log->n) return;
    qsort(log->ms, log->n, sizeof *log->ms, cmp_double);
    size_t rank = (size_t)((double)log->n * 0.99 + 0.999999);
    *max = log->ms[log->n - 1];
    *p99 = log->ms[(rank ? rank : 1) - 1];
}

static int run_w6(const cli_optvals *o)
{
    int depth = (int)cli_opts_int(o, "--depth");
    long ring_size = cli_opts_int(o, "--ring");
    double seconds = (double)cli_opts_int(o, "--seconds");
    rc_heap *h = rc_heap_new(NULL);
    node3 *root = bench_tree(h, &bench_tree_type, depth, NULL);
    node2 **ring = calloc((size_t)ring_size, sizeof *ring);
    if (!root || !ring) {
        fprintf(stderr, "recycle bench W6: out of memory for a ring of %ld slots\n", ring_size);
        free(ring);
        rc_xdecref(root);
        rc_heap_free(h);
        return 1;
    }
    /* Settle, as the peers do: the tree ends in the oldest generation and
     * the loop starts with no garbage left; this collection is no pause of
     * the loop. */
    double s0 = bench_now_ms();
    rc_gc_collect(h, 2);
    double settle_ms = bench_now_ms() - s0;
    pause_log log = {0};
    rc_gc_callback_add(h, record_pause, &log);
    double u0 = bench_uss_bytes();
    double t0 = bench_now_ms(), end = t0 + seconds * 1e3, t = t0;
    long cycles = 0;
    while (t < end) {
        for (int k = 0; k < 1024; k++) {
            node2 *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
            a->slot[0] = b;   /* a takes our reference to b */
            rc_incref(a);
            b->slot[0] = a;
            long i = cycles++ % ring_size;
            if (ring[i]) rc_decref(ring[i]);
            ring[i] = a;      /* the ring takes our reference to a */
        }
        t = bench_now_ms();
    }
    double u1 = bench_uss_bytes();
    rc_gc_callback_remove(h, record_pause, &log);
    bench_gc_stats(h);
    int status = write_pauses("W6", log.ms, log.n);
    double max, p99, total;
    pause_figures(&log, &max, &p99, &total);
    bench_emit("max_pause_ms", max, "ms");
    bench_emit("p99_pause_ms", p99, "ms");
    bench_emit("pauses", (double)log.n, "pauses");
    bench_emit("total_pause_ms", total, "ms");
    bench_emit("cycles_per_s", (double)cycles / ((t - t0) / 1e3), "cycles/s");
    bench_emit("uss_growth_mb", (u1 - u0) / 1024.0 / 1024.0, "MB");
    bench_emit("settle_ms", settle_ms, "ms");
    for (long i = 0; i < ring_size; i++)
        if (ring[i]) rc_decref(ring[i]);
    free(ring);
    free(log.ms);
    rc_decref(root);
    rc_heap_free(h);
    return status;
}

/* ---- W7: growing heap ---- */

/* A two-node garbage cycle, made and dropped at once. */
static void garbage_cycle(rc_heap *h)
{
    node2 *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
    a->slot[0] = b;   /* a takes our reference to b */
    rc_incref(a);
    b->slot[0] = a;
    rc_decref(a);
}

/* USS is read every W7_SAMPLE tree nodes (and at the end of the build). */
#define W7_SAMPLE 65536L

typedef struct w7_build {
    rc_heap *h;
    long made;                /* tree nodes made so far */
    double peak_mb;           /* highest USS read */
    double sample_ms;         /* time spent reading it, left out of build_ms */
} w7_build;

static void w7_sample(w7_build *b)
{
    double t = bench_now_ms(), mb = bench_uss_mb();
    if (mb > b->peak_mb) b->peak_mb = mb;
    b->sample_ms += bench_now_ms() - t;
}

/* The W4 tree grown depth-first, each node made before its children (its
 * parent reference set at once), a garbage cycle after every 8th node.
 * New reference. Recursion depth `levels`. */
static node3 *w7_tree(w7_build *b, int levels, node3 *parent)
{
    node3 *n = rc_new(b->h, &bench_tree_type);
    if (parent) {
        rc_incref(parent);
        n->parent = parent;
    }
    b->made++;
    if (b->made % 8 == 0) garbage_cycle(b->h);
    if (b->made % W7_SAMPLE == 0) w7_sample(b);
    if (levels > 1) {
        n->left = w7_tree(b, levels - 1, n);
        n->right = w7_tree(b, levels - 1, n);
    }
    return n;
}

static int run_w7(const cli_optvals *o)
{
    int depth = (int)cli_opts_int(o, "--depth");
    rc_heap *h = rc_heap_new(NULL);   /* default config: collection automatic */
    if (!h) {
        fprintf(stderr, "recycle bench W7: out of memory for a heap\n");
        return 1;
    }
    /* Every collection of any kind reports to the callback when it stops,
     * with its own duration: the pauses the build does not see directly
     * (automatic ones, candidate scans) are counted too. */
    pause_log log = {0};
    rc_gc_callback_add(h, record_pause, &log);
    w7_build b = {.h = h};
    double u0 = bench_uss_mb();
    b.peak_mb = u0;
    double t0 = bench_now_ms();
    node3 *root = w7_tree(&b, depth, NULL);
    double t1 = bench_now_ms(), sample_ms = b.sample_ms;
    rc_gc_callback_remove(h, record_pause, &log);
    bench_gc_stats(h);
    w7_sample(&b);
    double u1 = bench_uss_mb();
    int status = write_pauses("W7", log.ms, log.n);
    double max, p99, total;
    pause_figures(&log, &max, &p99, &total);
    bench_emit("build_ms", t1 - t0 - sample_ms, "ms");
    bench_emit("max_pause_ms", max, "ms");
    bench_emit("p99_pause_ms", p99, "ms");
    bench_emit("pauses", (double)log.n, "pauses");
    bench_emit("total_pause_ms", total, "ms");
    bench_emit("peak_uss_mb", b.peak_mb, "MB");
    bench_emit("uss_growth_mb", u1 - u0, "MB");
    free(log.ms);
    rc_decref(root);
    rc_heap_free(h);
    return status;
}

/* ---- the table ---- */

#define N_OPT(def) {"--n", CLI_OPT_INT, 1, 1000000000, def, NULL}
#define DEPTH_OPT(def) {"--depth", CLI_OPT_INT, 1, 30, def, " (a tree of 2^depth nodes)"}

static const cli_opt w1_opts[] = {N_OPT(10000000)};
static const cli_opt w3_opts[] = {N_OPT(1000000)};
static const cli_opt w4_opts[] = {
    DEPTH_OPT(23),
    {"--young", CLI_OPT_INT, 4, 1000000000, 10000, " (the young set is made of groups of 4 objects)"},
    {"--workers", CLI_OPT_INT, 1, RC_PARALLEL_MAX, 1, " (threads of the full collection, rc_gc_set_parallel)"},
};
static const cli_opt w5_opts[] = {DEPTH_OPT(21), {"--print", CLI_OPT_INT, 0, 1, 0, NULL}};
static const cli_opt w6_opts[] = {
    DEPTH_OPT(23),
    {"--ring", CLI_OPT_INT, 1, 100000000, 100000, NULL},
    {"--seconds", CLI_OPT_INT, 1, 86400, 5, NULL},
};
static const cli_opt w7_opts[] = {DEPTH_OPT(23)};
#define OPTS(a) a, sizeof a / sizeof a[0]

static const bench_workload workloads[] = {
    {"W1", "list of 10,000,000 integers built in a function and released", OPTS(w1_opts), run_w1_plain},
    {"W1c", "two such lists that hold each other, then one full collection", OPTS(w1_opts),
     run_w1_cyclic},
    {"W2", "10,000,000 create+release of a node referring to a long-lived node", OPTS(w1_opts),
     run_w2},
    {"W3", "1,000,000 garbage two-node cycles, one full collection", OPTS(w3_opts), run_w3},
    {"W4", "8.4 M-node tree with parent pointers: full and young collections", OPTS(w4_opts), run_w4},
    {"W5", "binary-trees at depth 21 (--depth N)", OPTS(w5_opts), run_w5_plain},
    {"W5p", "binary-trees with parent pointers: only the collector frees them", OPTS(w5_opts),
     run_w5_parents},
    {"W6", "pauses: 5 s of two-node cycles in a 100,000-slot ring beside the W4 tree", OPTS(w6_opts),
     run_w6},
    {"W7", "growing heap: the W4 tree built with collection on, a garbage cycle every 8 nodes",
     OPTS(w7_opts), run_w7},
};
#define NWORKLOADS (sizeof workloads / sizeof workloads[0])

const bench_workload *bench_workloads(size_t *n)
{
    /* W1-W7, then W8, W9, W10, W11, leak and hashflood, which live in their
     * own files. */
    static bench_workload all[NWORKLOADS + 6];
    if (!all[0].name) {
        memcpy(all, workloads, sizeof workloads);
        all[NWORKLOADS] = bench_catalog_workload;
        all[NWORKLOADS + 1] = bench_threads_workload;
        all[NWORKLOADS + 2] = bench_transfer_workload;
        all[NWORKLOADS + 3] = bench_frozen_workload;
        all[NWORKLOADS + 4] = bench_leak_workload;
        all[NWORKLOADS + 5] = bench_hashflood_workload;
    }
    *n = NWORKLOADS + 6;
    return all;
}
