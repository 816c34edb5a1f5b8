/* workloads.h -- the benchmark workloads, run by `recycle bench`. */
#ifndef RC_BENCH_WORKLOADS_H
#define RC_BENCH_WORKLOADS_H
#include <stdio.h>

/* Run workload argv[0] ("all" for every one) with options argv[1..];
 * returns the process exit status (2 for an unknown name). */
int rc_bench_main(int argc, char **argv);
/* `recycle bench leak`: the leak tools on the W4 tree (bench/leakbench.c). */
int rc_bench_leak(int argc, char **argv);
/* `recycle bench hashflood`: chosen colliding keys vs random keys in a dict
 * (bench/hashflood.c). */
int rc_bench_hashflood(int argc, char **argv);
/* List the workloads, one per line. */
void rc_bench_list(FILE *out);
#endif
