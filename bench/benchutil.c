/*
 * benchutil.c -- what the benchmark programs share: clock, memory, output,
 * and the W4 tree.
 */
#include "bench.h"

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

void *bench_tree(rc_heap *h, const rc_type *t, int levels, void *parent)
{
    bench_tnode *n = rc_new(h, t);
    if (t->nslots == 3 && parent) {
        rc_incref(parent);
        n->parent = parent;
    }
    if (levels > 1) {
        n->left = bench_tree(h, t, levels - 1, n);
        n->right = bench_tree(h, t, levels - 1, n);
    }
    return n;
}
