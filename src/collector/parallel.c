/*
 * parallel.c -- the helper threads of a parallel full collection
 * (rc_gc_set_parallel): a pool per heap, made at the first collection that
 * uses it and kept until rc_heap_free or until the worker count changes, so
 * a collection pays two condition-variable round trips, not thread creation.
 *
 * A job is one function run at once on every helper and on the owning
 * thread (rc__par_run); the function shares its work out itself (trial.c's
 * count phase takes chunks of pages from an atomic cursor, parmark.c's
 * marking also passes objects between the threads). The mutex hand
 * over orders the owner's writes before the job against the helpers' reads,
 * and the helpers' writes against what the owner does after the job.
 * Helpers run no user code but `traverse` (which must only read).
 */
#include "collector/collector.h"
#include "core/mem.h"

#include <pthread.h>

struct rc_par {
    pthread_mutex_t mu;
    pthread_cond_t go;        /* a new job (or quit) */
    pthread_cond_t done;      /* the last helper finished the job */
    unsigned started;         /* helpers running */
    unsigned busy;            /* helpers still in the current job */
    unsigned long job_no;     /* bumped per job */
    unsigned long born_no;    /* job_no when the newest helper was started: its first
                                 job is the next one, even if it takes the lock late */
    bool quit;
    void (*work)(void *, unsigned);
    void *ctx;
    unsigned threads;         /* the threads running the current job */
    pthread_t tid[RC_PARALLEL_MAX];
};

static void *helper(void *arg)
{
    struct rc_par *p = arg;
    pthread_mutex_lock(&p->mu);
    unsigned long seen = p->born_no;
    for (;;) {
        while (!p->quit && p->job_no == seen) pthread_cond_wait(&p->go, &p->mu);
        if (p->quit) break;
        seen = p->job_no;
        void (*work)(void *, unsigned) = p->work;
        void *ctx = p->ctx;
        unsigned threads = p->threads;
        pthread_mutex_unlock(&p->mu);
        work(ctx, threads);
        pthread_mutex_lock(&p->mu);
        if (--p->busy == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

void rc__par_free(rc_heap *h)
{
    struct rc_par *p = h->par;
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->quit = true;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->started; i++) pthread_join(p->tid[i], NULL);
    pthread_cond_destroy(&p->go);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
    rc__mem_free(rc__mem_heap(h), p, sizeof *p);
    h->par = NULL;
}

/* The pool with up to `want` helpers: made on first use; helpers that could
 * not start (no memory, no thread) are tried again at the next job. NULL
 * without memory for the pool. */
static struct rc_par *pool(rc_heap *h, unsigned want)
{
    struct rc_par *p = h->par;
    if (!p) {
        p = rc__mem_alloc(rc__mem_heap(h), sizeof *p);
        if (!p) return NULL;
        memset(p, 0, sizeof *p);
        if (pthread_mutex_init(&p->mu, NULL)) goto fail_mu;
        if (pthread_cond_init(&p->go, NULL)) goto fail_go;
        if (pthread_cond_init(&p->done, NULL)) goto fail_done;
        h->par = p;
    }
    pthread_mutex_lock(&p->mu);
    p->born_no = p->job_no;
    pthread_mutex_unlock(&p->mu);
    while (p->started < want && pthread_create(&p->tid[p->started], NULL, helper, p) == 0)
        p->started++;
    return p;
fail_done:
    pthread_cond_destroy(&p->go);
fail_go:
    pthread_mutex_destroy(&p->mu);
fail_mu:
    rc__mem_free(rc__mem_heap(h), p, sizeof *p);
    return NULL;
}

unsigned rc__par_run(rc_heap *h, void (*work)(void *, unsigned), void *ctx)
{
    struct rc_par *p = pool(h, h->par_workers - 1);
    unsigned helpers = p ? p->started : 0;
    if (!helpers) return 0;
    pthread_mutex_lock(&p->mu);
    p->work = work;
    p->ctx = ctx;
    p->threads = helpers + 1;
    p->busy = helpers;
    p->job_no++;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    work(ctx, helpers + 1);
    pthread_mutex_lock(&p->mu);
    while (p->busy) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
    return helpers;
}
