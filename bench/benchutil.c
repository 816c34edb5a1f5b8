/*
 * benchutil.c -- what the benchmark programs share: clock, memory, output,
 * options, and the W4 tree.
 */
#include "benchutil.h"

#include "recycle/memory.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

const rc_type bench_tree_type = {.name = "tree_node", .size = sizeof(bench_tnode), .nslots = 3};

double bench_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

double bench_uss_bytes(void)
{
    rc_procmem m;
    rc_process_memory(&m);
    return (double)m.uss;
}

double bench_uss_mb(void) { return bench_uss_bytes() / 1024.0 / 1024.0; }

void bench_emit(const char *name, double value, const char *unit)
{
    printf("%s %.3f %s\n", name, value, unit);
    fflush(stdout);
}

long bench_opt_long(int argc, char **argv, const char *name, long def)
{
    for (int i = 0; i + 1 < argc; i++)
        if (!strcmp(argv[i], name)) return strtol(argv[i + 1], NULL, 10);
    return def;
}

const char *bench_opt_str(int argc, char **argv, const char *name, const char *def)
{
    for (int i = 0; i + 1 < argc; i++)
        if (!strcmp(argv[i], name)) return argv[i + 1];
    return def;
}

bench_tnode *bench_build_tree(rc_heap *h, int depth, bench_tnode *parent)
{
    bench_tnode *n = rc_new(h, &bench_tree_type);
    if (parent) {
        rc_incref(parent);
        n->parent = parent;
    }
    if (depth > 1) {
        n->left = bench_build_tree(h, depth - 1, n);
        n->right = bench_build_tree(h, depth - 1, n);
    }
    return n;
}
