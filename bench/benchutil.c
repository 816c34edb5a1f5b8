/*
 * benchutil.c -- what the benchmark programs share: clock, memory, output,
 * threads timed together, and the W4 tree.
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

/* The calling thread's CPU time in ms. */
static double thread_cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A member's CPU clock at its bench_gang_begin. */
static _Thread_local double member_cpu0;

double bench_run_gang(const char *workload, bench_gang *g, int k, void *(*fn)(void *),
                      void *jobs, size_t size, double *cpu_ms)
{
    pthread_t t[64];
    g->first = 1e300;
    g->last = 0;
    g->cpu = 0;
    if (k < 1 || k > 64 || pthread_mutex_init(&g->lock, NULL) != 0 || pthread_barrier_init(&g->start, NULL, (unsigned)k + 1) != 0 ||
        pthread_barrier_init(&g->done, NULL, (unsigned)k + 1) != 0) {
        fprintf(stderr, "recycle bench %s: cannot make a barrier for %d threads\n", workload, k);
        exit(1);
    }
    for (int i = 0; i < k; i++)
        if (pthread_create(&t[i], NULL, fn, (char *)jobs + (size_t)i * size) != 0) {
            /* the barriers wait for k + 1: nobody may pass them now */
            fprintf(stderr, "recycle bench %s: cannot start thread %d of %d\n", workload, i + 1, k);
            exit(1);
        }
    pthread_barrier_wait(&g->start);
    pthread_barrier_wait(&g->done);
    for (int i = 0; i < k; i++) pthread_join(t[i], NULL);
    pthread_barrier_destroy(&g->start);
    pthread_barrier_destroy(&g->done);
    pthread_mutex_destroy(&g->lock);
    if (cpu_ms) *cpu_ms = g->cpu / k;
    return g->last - g->first;
}

void bench_gang_begin(bench_gang *g)
{
    pthread_barrier_wait(&g->start);
    double now = bench_now_ms();
    pthread_mutex_lock(&g->lock);
    if (now < g->first) g->first = now;
    pthread_mutex_unlock(&g->lock);
    member_cpu0 = thread_cpu_ms();
}

void bench_gang_end(bench_gang *g)
{
    double now = bench_now_ms(), cpu = thread_cpu_ms() - member_cpu0;
    pthread_mutex_lock(&g->lock);
    if (now > g->last) g->last = now;
    g->cpu += cpu;
    pthread_mutex_unlock(&g->lock);
    pthread_barrier_wait(&g->done);
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
