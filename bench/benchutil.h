/* benchutil.h -- what the benchmark programs share (bench/benchutil.c). */
#ifndef RC_BENCHUTIL_H
#define RC_BENCHUTIL_H

#include "recycle.h"
#include <stdio.h>

/* A W4 tree node: left, right, parent (three slots). */
typedef struct bench_tnode { void *left, *right, *parent; } bench_tnode;
extern const rc_type bench_tree_type;

/* Monotonic clock in milliseconds. */
double bench_now_ms(void);
/* The process's USS in bytes / in MB of 2^20 bytes. */
double bench_uss_bytes(void);
double bench_uss_mb(void);
/* One `name value unit` line. */
void bench_emit(const char *name, double value, const char *unit);
/* Check argv[0..argc-1] (the options after a workload's name) before any
 * work: every option must be one of the space-separated names in `accepted`,
 * given once, followed by a value; numbers must be whole decimal numbers in
 * the option's range (benchutil.c lists them). Returns 0, or 2 after one
 * line on stderr naming `workload`, the option and what is wrong (or the
 * valid options). */
int bench_check_opts(int argc, char **argv, const char *accepted, const char *workload);
/* The value after option `name` in argv, or `def` (argv checked first by
 * bench_check_opts). */
long bench_opt_long(int argc, char **argv, const char *name, long def);
const char *bench_opt_str(int argc, char **argv, const char *name, const char *def);
/* A complete tree of 2^depth - 1 nodes with parent pointers (new reference). */
bench_tnode *bench_build_tree(rc_heap *h, int depth, bench_tnode *parent);

#endif
