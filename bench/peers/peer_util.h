/*
 * peer_util.h - small helpers shared by the C peer benchmarks (bdwgc_bench.c,
 * malloc_bench.c): a monotonic clock, the process's USS, metric output, a nearest-rank
 * percentile, a background USS peak sampler and command-line options.
 *
 * Everything is static so each benchmark is one translation unit.  Nothing here
 * allocates from a garbage-collected heap, so the sampler thread can run beside bdwgc
 * without being registered with it.
 *
 * Output convention (bench/WORKLOADS.md): one line per metric on stdout,
 * "name value unit"; anything else goes to stderr.
 */
#ifndef PEER_UTIL_H
#define PEER_UTIL_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

/* Make the compiler assume `p` (and all memory) escapes here, so stores into a block
   that is never read again cannot be optimised away. */
#define ESCAPE(p) __asm__ volatile("" : : "r"(p) : "memory")

/* Sinks: a store to a volatile object cannot be removed, so work feeding them stays. */
static volatile uint64_t sink_u64;

/* ---- clock ---------------------------------------------------------------------- */

/* CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline double ns_to_ms(uint64_t ns) { return (double)ns / 1e6; }

/* ---- memory: USS ---------------------------------------------------------------- */

/* Value in kB of the line "key  <n> kB" in `text`, or 0 when absent. */
static uint64_t rollup_field_kb(const char *text, const char *key)
{
    const char *p = text;
    size_t klen = strlen(key);
    while ((p = strstr(p, key)) != NULL) {
        if (p == text || p[-1] == '\n')
            return strtoull(p + klen, NULL, 10);
        p += klen;
    }
    return 0;
}

/*
 * USS of this process in bytes: Private_Clean + Private_Dirty from
 * /proc/self/smaps_rollup (the figure psutil calls uss).  Uses only open/read and a
 * stack buffer, so it is safe to call from the sampler thread.  Returns 0 and prints
 * to stderr if the file cannot be read.
 */
static uint64_t uss_bytes(void)
{
    char buf[4096];
    ssize_t len = 0, got;
    int fd = open("/proc/self/smaps_rollup", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        perror("open /proc/self/smaps_rollup");
        return 0;
    }
    while (len < (ssize_t)sizeof buf - 1 &&
           (got = read(fd, buf + len, sizeof buf - 1 - (size_t)len)) != 0) {
        if (got < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        len += got;
    }
    close(fd);
    buf[len] = '\0';
    return (rollup_field_kb(buf, "Private_Clean:") +
            rollup_field_kb(buf, "Private_Dirty:")) * 1024u;
}

static inline double bytes_to_mb(double b) { return b / 1024.0 / 1024.0; }

/* ---- output --------------------------------------------------------------------- */

/* One metric line: name value unit, `decimals` digits after the point. */
static void emit(const char *name, double value, const char *unit, int decimals)
{
    printf("%s %.*f %s\n", name, decimals, value, unit);
}

static inline void emit_count(const char *name, long long value, const char *unit)
{
    printf("%s %lld %s\n", name, value, unit);
}

/* ---- statistics ----------------------------------------------------------------- */

static inline int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile (fraction in (0,1]) of v[0..n); sorts v.  0 when n == 0. */
static inline double percentile(double *v, size_t n, double fraction)
{
    size_t rank;
    if (n == 0)
        return 0.0;
    qsort(v, n, sizeof *v, cmp_double);
    rank = (size_t)(fraction * (double)n);
    if ((double)rank < fraction * (double)n)
        rank++;                                 /* ceil */
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return v[rank - 1];
}

/* ---- peak USS sampler ----------------------------------------------------------- */

/* A plain pthread (not known to any collector) that reads USS every `interval_ns`
   and keeps the largest value seen. */
struct peak_sampler {
    pthread_t thread;
    uint64_t interval_ns;
    volatile int stop;
    volatile uint64_t peak;
};

static void sampler_take(struct peak_sampler *s)
{
    uint64_t v = uss_bytes();
    if (v > s->peak)
        s->peak = v;
}

static void *sampler_main(void *arg)
{
    struct peak_sampler *s = arg;
    struct timespec ts;
    ts.tv_sec = (time_t)(s->interval_ns / 1000000000u);
    ts.tv_nsec = (long)(s->interval_ns % 1000000000u);
    while (!s->stop) {
        nanosleep(&ts, NULL);
        sampler_take(s);
    }
    return NULL;
}

static void sampler_start(struct peak_sampler *s, double interval_ms)
{
    s->interval_ns = (uint64_t)(interval_ms * 1e6);
    if (s->interval_ns == 0)
        s->interval_ns = 1000000;
    s->stop = 0;
    s->peak = 0;
    sampler_take(s);
    if (pthread_create(&s->thread, NULL, sampler_main, s) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        exit(1);
    }
}

/* Stops the thread, takes a last sample, returns the peak in bytes. */
static uint64_t sampler_stop(struct peak_sampler *s)
{
    s->stop = 1;
    pthread_join(s->thread, NULL);
    sampler_take(s);
    return s->peak;
}

/* ---- options -------------------------------------------------------------------- */

/* Command-line options: argv[1] is the workload, then "--name value" pairs or flags.
   A zero / negative value means "use the workload's default". */
struct options {
    const char *workload;
    long long n;            /* W1: integers; W2: objects; W3: cycles */
    int depth;              /* W4/W6: tree levels; W5/W5p: benchmark depth */
    long long young;        /* W4: new nodes before the young collection */
    double seconds;         /* W6: loop duration */
    long long ring;         /* W6: ring slots */
    double sample_ms;       /* W5/W5p: USS sampling interval */
    int incremental;        /* bdwgc only: GC_enable_incremental() at start */
    int parallel_mark;      /* bdwgc only: GC_start_mark_threads() at start */
    int workers;            /* bdwgc only, W4: this many markers (GC_MARKERS; 0: default) */
};

static void usage(const char *prog, const char *workloads)
{
    fprintf(stderr,
            "usage: %s {%s} [--n N] [--depth D] [--young N] [--seconds S] [--ring N]\n"
            "       [--sample-ms MS] [--incremental] [--parallel-mark]\n"
            "       [--workers N]\n",
            prog, workloads);
    exit(2);
}

static void parse_options(int argc, char **argv, struct options *o, const char *workloads)
{
    int i;
    memset(o, 0, sizeof *o);
    o->sample_ms = 10.0;
    if (argc < 2)
        usage(argv[0], workloads);
    o->workload = argv[1];
    for (i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--incremental") == 0) {
            o->incremental = 1;
            continue;
        }
        if (strcmp(a, "--parallel-mark") == 0) {
            o->parallel_mark = 1;
            continue;
        }
        if (v == NULL)
            usage(argv[0], workloads);
        if (strcmp(a, "--n") == 0)
            o->n = atoll(v);
        else if (strcmp(a, "--depth") == 0)
            o->depth = atoi(v);
        else if (strcmp(a, "--young") == 0)
            o->young = atoll(v);
        else if (strcmp(a, "--seconds") == 0)
            o->seconds = atof(v);
        else if (strcmp(a, "--ring") == 0)
            o->ring = atoll(v);
        else if (strcmp(a, "--sample-ms") == 0)
            o->sample_ms = atof(v);
        else if (strcmp(a, "--workers") == 0)
            o->workers = atoi(v);
        else
            usage(argv[0], workloads);
        i++;
    }
}

/* ---- binary-trees bookkeeping --------------------------------------------------- */

/* Sum of all node counts the benchmark checks (stretch tree, every iteration tree,
   long-lived tree), used to verify a run.  A tree of depth d has 2^(d+1)-1 nodes. */
static uint64_t binary_trees_expected(int min_depth, int max_depth)
{
    uint64_t total = ((uint64_t)1 << (max_depth + 2)) - 1;    /* stretch: depth+1 */
    int d;
    total += ((uint64_t)1 << (max_depth + 1)) - 1;            /* long-lived */
    for (d = min_depth; d <= max_depth; d += 2)
        total += ((uint64_t)1 << (max_depth - d + min_depth)) *
                 (((uint64_t)1 << (d + 1)) - 1);
    return total;
}

#endif /* PEER_UTIL_H */
