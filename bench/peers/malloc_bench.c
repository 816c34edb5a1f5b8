/*
 * malloc_bench.c - plain malloc/free peer for recycle's benchmark workloads
 * (bench/WORKLOADS.md): the floor any collected heap is compared against.
 *
 * One source, linked three ways by build.sh: against the C library's malloc
 * (malloc_bench), and against libmimalloc or libjemalloc, whose malloc, realloc and
 * free then replace the C library's in the whole process (malloc_bench_mimalloc,
 * malloc_bench_jemalloc; built with -DEXPECT_ALLOCATOR="mimalloc" etc.).  At start-up
 * the program says on stderr which shared object its malloc comes from, and refuses to
 * run when that is not the allocator it was built for.
 *
 *   malloc_bench W1  [--n N]              list of N int64 grown by realloc, then freed
 *   malloc_bench W2  [--n N]              malloc + free of a 16-byte node
 *   malloc_bench W5  [--depth D] [--sample-ms MS]
 *                                          binary-trees, every tree freed explicitly
 *
 * W1c, W3, W4, W5p and W6 need a cycle collector and have no malloc counterpart.
 * Prints one "name value unit" line per metric on stdout.  Times: CLOCK_MONOTONIC.
 * Memory: USS (Private_Clean + Private_Dirty of /proc/self/smaps_rollup) in MB of 2^20.
 */
#include "peer_util.h"

#include <dlfcn.h>

/* A node: two reference slots, 16 bytes. */
typedef struct node {
    struct node *slot[2];
} node;

static node *volatile sink_node;

/* ---- W1: list of N integers ------------------------------------------------------ */

/* recycle's list growth rule (src/builtins/list.c): room for 4 items at the first
   append, then the capacity doubles each time the array is full. */
#define LIST_MIN_CAP 4

static size_t list_capacity(size_t cap)
{
    return cap < LIST_MIN_CAP ? LIST_MIN_CAP : cap * 2;
}

struct w1_result {
    double uss_built_mb, build_ms, release_ms;
};

/* Builds the array by appending 0..n-1 with realloc growth, measures USS, frees it. */
static NOINLINE void w1_build_and_free(size_t n, struct w1_result *r)
{
    int64_t *items = NULL;
    size_t len = 0, cap = 0, reallocs = 0;
    uint64_t t0, t1, t2;

    t0 = now_ns();
    for (size_t i = 0; i < n; i++) {
        if (len == cap) {
            size_t ncap = list_capacity(cap);
            int64_t *grown = realloc(items, ncap * sizeof *items);
            if (grown == NULL) {
                fprintf(stderr, "W1: out of memory at %zu items\n", len);
                exit(1);
            }
            items = grown;
            cap = ncap;
            reallocs++;
        }
        items[len++] = (int64_t)i;
    }
    ESCAPE(items);
    t1 = now_ns();
    sink_u64 = (uint64_t)items[len / 2];
    r->uss_built_mb = bytes_to_mb((double)uss_bytes());

    t2 = now_ns();
    free(items);                      /* the "list released" step */
    r->release_ms = ns_to_ms(now_ns() - t2);
    r->build_ms = ns_to_ms(t1 - t0);
    fprintf(stderr, "W1: %zu reallocs, from %d items doubling to %zu\n", reallocs,
            LIST_MIN_CAP, cap);
}

static void run_w1(const struct options *o)
{
    size_t n = o->n > 0 ? (size_t)o->n : 10000000u;
    struct w1_result r;
    double start = bytes_to_mb((double)uss_bytes());
    w1_build_and_free(n, &r);
    double released = bytes_to_mb((double)uss_bytes());

    emit("uss_start_mb", start, "MB", 3);
    emit("uss_built_mb", r.uss_built_mb, "MB", 3);
    emit("uss_released_mb", released, "MB", 3);
    emit("build_ms", r.build_ms, "ms", 3);
    emit("release_ms", r.release_ms, "ms", 3);
}

/* ---- W2: create + release ------------------------------------------------------- */

static void run_w2(const struct options *o)
{
    long long n = o->n > 0 ? o->n : 10000000;
    node *keep = calloc(1, sizeof *keep);   /* the long-lived node */
    uint64_t t0, t1;

    t0 = now_ns();
    for (long long i = 0; i < n; i++) {
        node *x = malloc(sizeof *x);
        x->slot[0] = keep;
        x->slot[1] = NULL;
        sink_node = x;        /* volatile store: the allocation cannot be elided */
        free(x);
    }
    t1 = now_ns();
    sink_node = NULL;
    free(keep);
    emit("ns_per_object", (double)(t1 - t0) / (double)n, "ns", 2);
}

/* ---- W5: binary-trees ------------------------------------------------------------ */

/* Bottom-up tree of depth d: 2^(d+1)-1 nodes; leaves have both slots NULL. */
static node *make_tree(int depth)
{
    node *n = malloc(sizeof *n);
    if (n == NULL) {
        fprintf(stderr, "W5: out of memory\n");
        exit(1);
    }
    if (depth > 0) {
        n->slot[0] = make_tree(depth - 1);
        n->slot[1] = make_tree(depth - 1);
    } else {
        n->slot[0] = n->slot[1] = NULL;
    }
    return n;
}

static uint64_t check_tree(const node *n)
{
    if (n->slot[0] == NULL)
        return 1;
    return 1 + check_tree(n->slot[0]) + check_tree(n->slot[1]);
}

static void free_tree(node *n)
{
    if (n->slot[0] != NULL) {
        free_tree(n->slot[0]);
        free_tree(n->slot[1]);
    }
    free(n);
}

static void run_w5(const struct options *o)
{
    const int min_depth = 4;
    int max_depth = o->depth > 0 ? o->depth : 21;
    struct peak_sampler sampler;
    uint64_t checksum = 0, t0, t1, peak;
    node *tree, *long_lived;

    if (max_depth < min_depth + 2)
        max_depth = min_depth + 2;

    sampler_start(&sampler, o->sample_ms);
    t0 = now_ns();
    tree = make_tree(max_depth + 1);                 /* stretch tree */
    checksum += check_tree(tree);
    free_tree(tree);

    long_lived = make_tree(max_depth);
    for (int d = min_depth; d <= max_depth; d += 2) {
        uint64_t iterations = (uint64_t)1 << (max_depth - d + min_depth);
        uint64_t check = 0;
        for (uint64_t i = 0; i < iterations; i++) {
            tree = make_tree(d);
            check += check_tree(tree);
            free_tree(tree);
        }
        checksum += check;
    }
    checksum += check_tree(long_lived);
    free_tree(long_lived);
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

/* ---------------------------------------------------------------------------------- */

/* The shared object this process's malloc comes from (the first definition in the
   lookup order, as the dynamic linker resolved it for every caller). */
static const char *malloc_library(void)
{
    Dl_info info;
    void *sym = dlsym(RTLD_DEFAULT, "malloc");
    if (sym == NULL || dladdr(sym, &info) == 0 || info.dli_fname == NULL)
        return "?";
    return info.dli_fname;
}

int main(int argc, char **argv)
{
    struct options o;
    const char *list = "W1|W2|W5";
    const char *lib = malloc_library();
    parse_options(argc, argv, &o, list);

    fprintf(stderr, "malloc from %s\n", lib);
#ifdef EXPECT_ALLOCATOR
    if (strstr(lib, EXPECT_ALLOCATOR) == NULL) {
        fprintf(stderr, "built for %s, but malloc comes from %s: not measuring\n",
                EXPECT_ALLOCATOR, lib);
        return 1;
    }
#endif

    if (strcmp(o.workload, "W1") == 0)
        run_w1(&o);
    else if (strcmp(o.workload, "W2") == 0)
        run_w2(&o);
    else if (strcmp(o.workload, "W5") == 0)
        run_w5(&o);
    else
        usage(argv[0], list);
    return 0;
}
