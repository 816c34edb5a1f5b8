/*
 * transfer.c -- W10, producer and consumer (bench/WORKLOADS.md): a producer
 * thread makes graphs (W4 trees with parent references, of about 1 KB,
 * 64 KB and 1 MB) and hands each to a consumer thread, which drops it. The
 * graph travels in a heap of its own (an envelope, as a server would hand a
 * request over): the producer fills it, releases it and queues it; the
 * consumer acquires it, drops the graph and frees the heap. Three ways to
 * fill the envelope:
 *   move     build in the producer's heap, rc_move into the envelope
 *   copy     build in the producer's heap, rc_copy into the envelope, drop
 *            the original (its cycles are the producer's collector's work)
 *   rebuild  build straight into the envelope
 */
#include "bench.h"

#include <pthread.h>
#include <stdlib.h>

enum { MODE_MOVE, MODE_COPY, MODE_REBUILD, NMODES };
static const char *const mode_names[NMODES] = {"move", "copy", "rebuild"};

/* A queue of envelopes (one producer, one consumer). */
typedef struct queue {
    pthread_mutex_t lock;
    pthread_cond_t more, room;
    void *items[64];
    size_t head, len;
} queue;

static void q_put(queue *q, void *item)
{
    pthread_mutex_lock(&q->lock);
    while (q->len == 64) pthread_cond_wait(&q->room, &q->lock);
    q->items[(q->head + q->len++) % 64] = item;
    pthread_cond_signal(&q->more);
    pthread_mutex_unlock(&q->lock);
}

static void *q_get(queue *q)
{
    pthread_mutex_lock(&q->lock);
    while (!q->len) pthread_cond_wait(&q->more, &q->lock);
    void *item = q->items[q->head];
    q->head = (q->head + 1) % 64;
    q->len--;
    pthread_cond_signal(&q->room);
    pthread_mutex_unlock(&q->lock);
    return item;
}

typedef struct run {
    int mode, depth;
    long graphs;
    queue q;
    double op_ms;   /* the producer's time in rc_move / rc_copy / the build */
    int failed;
} run;

/* A heap freed with its last graph in it, cycles and all, by design: no
 * end report (debug builds print one by default). */
static rc_heap *new_heap(void)
{
    rc_heap_config cfg;
    rc_heap_config_init(&cfg);
    cfg.leak_report = NULL;
    return rc_heap_new(&cfg);
}

static void *produce(void *arg)
{
    run *r = arg;
    rc_heap *mine = new_heap();
    for (long i = 0; i < r->graphs && !r->failed; i++) {
        rc_heap *env = new_heap();
        void *g = NULL;
        if (r->mode == MODE_REBUILD) {
            double t0 = bench_now_ms();
            g = bench_tree(env, &bench_tree_type, r->depth, NULL);
            r->op_ms += bench_now_ms() - t0;
        } else {
            void *src = bench_tree(mine, &bench_tree_type, r->depth, NULL);
            double t0 = bench_now_ms();
            if (r->mode == MODE_MOVE) {
                g = rc_move(env, src);
            } else {
                g = rc_copy(env, src);
                rc_decref(src);
            }
            r->op_ms += bench_now_ms() - t0;
        }
        if (!g || rc_heap_release(env) != RC_OK) {
            fprintf(stderr, "recycle bench W10: %s of a graph failed: %s\n", mode_names[r->mode],
                    rc_heap_error_message(g ? env : mine));
            r->failed = 1;
            break;
        }
        q_put(&r->q, g);
    }
    q_put(&r->q, NULL);
    rc_heap_free(mine);
    return NULL;
}

static void *consume(void *arg)
{
    run *r = arg;
    for (void *g; (g = q_get(&r->q));) {
        rc_heap *env = rc_heap_of(g);
        if (rc_heap_acquire(env) != RC_OK) abort();
        rc_decref(g);
        rc_heap_free(env);
    }
    return NULL;
}

/* One mode at one size: wall ms for all graphs, or -1. */
static double transfer(run *r)
{
    pthread_mutex_init(&r->q.lock, NULL);
    pthread_cond_init(&r->q.more, NULL);
    pthread_cond_init(&r->q.room, NULL);
    pthread_t p, c;
    double t0 = bench_now_ms();
    if (pthread_create(&c, NULL, consume, r) != 0) return -1;
    if (pthread_create(&p, NULL, produce, r) != 0) {
        q_put(&r->q, NULL);
        pthread_join(c, NULL);
        return -1;
    }
    pthread_join(p, NULL);
    pthread_join(c, NULL);
    double ms = bench_now_ms() - t0;
    pthread_cond_destroy(&r->q.room);
    pthread_cond_destroy(&r->q.more);
    pthread_mutex_destroy(&r->q.lock);
    return r->failed ? -1 : ms;
}

static int run_w10(const cli_optvals *o)
{
    /* about 1 KB, 64 KB and 1 MB of tree nodes (40 bytes each with header) */
    static const struct { const char *name; int depth; } sizes[] = {
        {"1k", 5}, {"64k", 11}, {"1m", 15}};
    long bytes = cli_opts_int(o, "--bytes");   /* graph bytes per size, about */
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        long objects = (1L << sizes[s].depth) - 1;
        long graphs = bytes / (objects * 40);
        if (graphs < 1) graphs = 1;
        for (int m = 0; m < NMODES; m++) {
            run r = {.mode = m, .depth = sizes[s].depth, .graphs = graphs};
            double ms = transfer(&r);
            if (ms < 0) return 1;
            char name[64];
            snprintf(name, sizeof name, "%s_%s_per_s", mode_names[m], sizes[s].name);
            bench_emit(name, (double)graphs / ms * 1e3, "graphs/s");
            snprintf(name, sizeof name, "%s_%s_ns_per_object", mode_names[m], sizes[s].name);
            bench_emit(name, r.op_ms * 1e6 / ((double)graphs * (double)objects), "ns");
        }
    }
    return 0;
}

static const cli_opt w10_opts[] = {
    {"--bytes", CLI_OPT_INT, 1, 1L << 40, 256L << 20,
     " (graph bytes sent per size and way; 256 MB by default)"},
};

const bench_workload bench_transfer_workload = {
    "W10", "producer and consumer: graphs of 1 KB, 64 KB and 1 MB moved, copied or rebuilt",
    w10_opts, sizeof w10_opts / sizeof w10_opts[0], run_w10};
