/*
 * threads.c -- W9, heaps per thread (bench/WORKLOADS.md): each thread owns
 * a heap of its own and runs W2's create+release loop, then W6's ring of
 * two-node cycles beside a tree, with 1 thread and then with --threads
 * threads at once. A heap shares nothing with another, so the work should
 * scale with the cores; the figures say how far it does.
 */
#include "bench.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct pair { void *slot[2]; } pair;
static const rc_type pair_type = {.name = "pair", .size = sizeof(pair), .nslots = 2};

typedef struct w9_job {
    long n, cycles, ring;
    int depth;
    bench_gang *gang;   /* the timed part runs between its barriers */
    int failed;
} w9_job;

/* W2 on a heap of the thread's own. */
static void w2_loop(const w9_job *j)
{
    long n = j->n;
    rc_heap *h = rc_heap_new(NULL);
    pair *keep = rc_new(h, &pair_type);
    bench_gang_begin(j->gang);
    for (long i = 0; i < n; i++) {
        pair *x = rc_new(h, &pair_type);
        rc_incref(keep);
        x->slot[0] = keep;
        rc_decref(x);
    }
    bench_gang_end(j->gang);
    rc_decref(keep);
    rc_heap_free(h);
}

/* W6's loop, `cycles` cycles, beside a settled tree of `depth` levels
 * (built before the start, freed after the end). Always passes both
 * barriers, also when out of memory (then returns 1). */
static int w6_loop(const w9_job *j)
{
    long cycles = j->cycles, ring_size = j->ring;
    int depth = j->depth;
    rc_heap *h = rc_heap_new(NULL);
    void *root = bench_tree(h, &bench_tree_type, depth, NULL);
    pair **ring = calloc((size_t)ring_size, sizeof *ring);
    if (!root || !ring) {
        free(ring);
        rc_xdecref(root);
        rc_heap_free(h);
        bench_gang_begin(j->gang);
        bench_gang_end(j->gang);
        return 1;
    }
    rc_gc_collect(h, 2);
    bench_gang_begin(j->gang);
    for (long c = 0; c < cycles; c++) {
        pair *a = rc_new(h, &pair_type), *b = rc_new(h, &pair_type);
        a->slot[0] = b;   /* a takes our reference to b */
        rc_incref(a);
        b->slot[0] = a;
        long i = c % ring_size;
        if (ring[i]) rc_decref(ring[i]);
        ring[i] = a;
    }
    bench_gang_end(j->gang);
    for (long i = 0; i < ring_size; i++) rc_xdecref(ring[i]);
    free(ring);
    rc_decref(root);
    rc_gc_collect(h, 2);   /* the tree and the cycles: no end report in debug builds */
    rc_heap_free(h);
    return 0;
}

static void *w2_thread(void *arg)
{
    w2_loop(arg);
    return NULL;
}

static void *w6_thread(void *arg)
{
    w9_job *j = arg;
    j->failed = w6_loop(j);
    return NULL;
}

/* Run `fn` on k threads at once, each with `job`; the wall time in ms from
 * the first thread's start to the last one's end (-1 when a thread failed),
 * and in *cpu_ms the threads' mean CPU time over the same parts. */
static double run_threads(int k, void *(*fn)(void *), const w9_job *job, double *cpu_ms)
{
    w9_job jobs[64];
    bench_gang gang;
    for (int i = 0; i < k; i++) {
        jobs[i] = *job;
        jobs[i].gang = &gang;
    }
    double ms = bench_run_gang("W9", &gang, k, fn, jobs, sizeof jobs[0], cpu_ms);
    int failed = 0;
    for (int i = 0; i < k; i++) failed |= jobs[i].failed;
    return failed ? -1 : ms;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One loop's figures: `runs` times one thread then k threads, interleaved
 * (so a stretch of a busy machine falls on both), each time the medians. */
typedef struct w9_fig {
    double wall_1, wall_k, cpu_1, cpu_k;   /* ms, medians */
} w9_fig;

static int measure(int k, int runs, void *(*fn)(void *), const w9_job *job, w9_fig *f)
{
    double w1[32], wk[32], c1[32], ck[32];
    for (int r = 0; r < runs; r++) {
        w1[r] = run_threads(1, fn, job, &c1[r]);
        wk[r] = run_threads(k, fn, job, &ck[r]);
        if (w1[r] < 0 || wk[r] < 0) return -1;
    }
    f->wall_1 = median(w1, runs);
    f->wall_k = median(wk, runs);
    f->cpu_1 = median(c1, runs);
    f->cpu_k = median(ck, runs);
    return 0;
}

static int run_w9(const cli_optvals *o)
{
    int k = (int)cli_opts_int(o, "--threads"), runs = (int)cli_opts_int(o, "--runs");
    w9_job job = {.n = cli_opts_int(o, "--n"), .cycles = cli_opts_int(o, "--cycles"),
                  .ring = cli_opts_int(o, "--ring"), .depth = (int)cli_opts_int(o, "--depth")};
    /* Objects per second: one thread, then k at once, each doing the same. */
    w9_fig w2, w6;
    if (measure(k, runs, w2_thread, &job, &w2) < 0 || measure(k, runs, w6_thread, &job, &w6) < 0) {
        fprintf(stderr, "recycle bench W9: out of memory\n");
        return 1;
    }
    double w2_rate1 = (double)job.n / w2.wall_1 * 1e-3, w2_ratek = (double)job.n * k / w2.wall_k * 1e-3;
    double w6_rate1 = (double)job.cycles / w6.wall_1 * 1e-3;
    double w6_ratek = (double)job.cycles * k / w6.wall_k * 1e-3;
    bench_emit("threads", k, "threads");
    bench_emit("w2_mobjects_per_s_1", w2_rate1, "M/s");
    bench_emit("w2_mobjects_per_s_n", w2_ratek, "M/s");
    bench_emit("w2_scaling", w2_ratek / w2_rate1, "x");
    bench_emit("w2_cpu_scaling", k * w2.cpu_1 / w2.cpu_k, "x");
    bench_emit("w6_mcycles_per_s_1", w6_rate1, "M/s");
    bench_emit("w6_mcycles_per_s_n", w6_ratek, "M/s");
    bench_emit("w6_scaling", w6_ratek / w6_rate1, "x");
    bench_emit("w6_cpu_scaling", k * w6.cpu_1 / w6.cpu_k, "x");
    return 0;
}

static const cli_opt w9_opts[] = {
    {"--threads", CLI_OPT_INT, 1, 64, 2, NULL},
    {"--n", CLI_OPT_INT, 1, 1000000000, 10000000, " (W2 objects per thread)"},
    {"--cycles", CLI_OPT_INT, 1, 1000000000, 4000000, " (W6 cycles per thread)"},
    {"--ring", CLI_OPT_INT, 1, 100000000, 100000, NULL},
    {"--depth", CLI_OPT_INT, 1, 30, 20, " (a tree of 2^depth nodes per thread)"},
    {"--runs", CLI_OPT_INT, 1, 31, 3, " (each figure the median of this many runs)"},
};

const bench_workload bench_threads_workload = {
    "W9", "heaps per thread: W2 and W6 on 1 thread, then on --threads threads at once",
    w9_opts, sizeof w9_opts / sizeof w9_opts[0], run_w9};
