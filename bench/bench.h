/*
 * bench.h -- the benchmark library (recycle_bench): the workloads of
 * bench/WORKLOADS.md with their option tables, and what they share (clock,
 * memory, output, the W4 tree). The `recycle bench` command (tools/cli)
 * checks a command line against a workload's table and hands it the values.
 */
#ifndef RC_BENCH_H
#define RC_BENCH_H

#include "opts.h"
#include "recycle.h"

#include <pthread.h>
#include <stdio.h>

/* One workload: `opts[0..nopts-1]` are the options it reads; `run` gets
 * values checked against them and returns the process exit status (0; 1
 * when it could not run or write; 2 for input it refuses, after one line on
 * stderr). */
typedef struct bench_workload {
    const char *name, *what;
    const cli_opt *opts;
    size_t nopts;
    int (*run)(const cli_optvals *);
} bench_workload;

/* The workloads, in order; *n gets their number. */
const bench_workload *bench_workloads(size_t *n);

/* W8, the catalog (bench/catalog.c), W9, heaps per thread (bench/threads.c),
 * W10, producer and consumer (bench/transfer.c), W11, a frozen tree read by
 * threads (bench/frozen.c), the leak tools (bench/leakbench.c) and the hash
 * flood (bench/hashflood.c). */
extern const bench_workload bench_catalog_workload, bench_threads_workload,
    bench_transfer_workload, bench_frozen_workload, bench_leak_workload,
    bench_hashflood_workload;

/* A W4 tree node: left, right, parent (three slots). */
typedef struct bench_tnode { void *left, *right, *parent; } bench_tnode;
extern const rc_type bench_tree_type;

/* A complete tree of `levels` levels (2^levels - 1 objects of type t, whose
 * first two slots are left and right), each node's third slot holding its
 * parent (a reference) when t->nslots == 3; `parent` is the root's parent
 * (may be NULL). New reference. Recursion depth `levels`; out of memory
 * is not checked (rc_new's policy applies). */
void *bench_tree(rc_heap *h, const rc_type *t, int levels, void *parent);

/* Threads timed together: each calls bench_gang_begin when it is set up
 * and bench_gang_end when its timed part is over (also when it failed).
 * The time is the members' own: from the first member's start after the
 * start barrier to the last member's end. (A clock read by the thread that
 * waits on the barriers would miss work done while it waited for a core:
 * on a loaded machine W9 printed 5,000 M objects/s.) The members' CPU
 * times in their timed parts (CLOCK_THREAD_CPUTIME_ID) are summed in
 * `cpu`: unlike the wall time, a machine whose cores run other work does
 * not inflate them, so their ratios say what sharing the memory system
 * costs even when a member had to wait for a core. */
typedef struct bench_gang {
    pthread_barrier_t start, done;
    pthread_mutex_t lock;
    double first, last;   /* ms: the earliest start, the latest end */
    double cpu;           /* ms: the members' CPU time in their timed parts, summed */
} bench_gang;
void bench_gang_begin(bench_gang *g);
void bench_gang_end(bench_gang *g);

/* Runs fn on k threads (1 to 64) at once, thread i given
 * (char *)jobs + i * size, and returns the wall time in ms of their timed
 * parts (bench_gang_begin to bench_gang_end, first to last), and in
 * *cpu_ms (if not NULL) the mean of their CPU times there; joins them
 * before it returns. A barrier or a thread that cannot be made ends the
 * process (exit status 1) with a message naming `workload`. */
double bench_run_gang(const char *workload, bench_gang *g, int k, void *(*fn)(void *),
                      void *jobs, size_t size, double *cpu_ms);

/* Monotonic clock in milliseconds. */
double bench_now_ms(void);
/* The process's USS in bytes / in MB of 2^20 bytes. */
double bench_uss_bytes(void);
double bench_uss_mb(void);
/* One `name value unit` line on stdout. */
void bench_emit(const char *name, double value, const char *unit);

#endif
