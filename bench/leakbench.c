/* leakbench.c -- `recycle bench leak`: the leak tools on the W4 tree (to come). */
#include "workloads.h"
#include <stdio.h>

int rc_bench_leak(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "recycle bench leak: not built yet\n");
    return 1;
}
