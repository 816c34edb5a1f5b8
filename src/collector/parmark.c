/*
 * parmark.c -- the mark phase of a parallel full collection, run on the
 * threads of the heap's pool (parallel.c) after the parallel count
 * (trial.c's count_full). The sweep that follows runs on the owning thread.
 *
 * Roots: every thread takes chunks of RC_PAR_CHUNK pages of tracked objects
 * from an atomic cursor and looks in them for members (tracked, not
 * frozen) held from outside (refcnt > field) and not yet marked.
 *
 * Marking: a compare-and-swap of the gc word that sets the MARK bit (under
 * the polarity h->mark_flip) and settles the object as a survivor at once
 * (generation 2, field 0: a marked object's field is never read again).
 * Only the thread whose swap marked the object pushes it on its own stack,
 * so each marked object is expanded once, by one thread. A thread drains
 * its stack depth first with rc__foreach_ref: the types' `traverse`,
 * several at once. The threads count the members they pass and the objects
 * they mark: when every member was marked (a heap with no garbage) there is
 * nothing left to sweep.
 *
 * Sharing: the threads' stacks hold LOCAL entries. A thread whose stack is
 * full, or which sees (every SHARE_EVERY expansions) that another thread
 * waits for work while its stack holds more than one object, moves the
 * older half of its stack to a shared list, under the job's mutex. A thread
 * with no pages left and an empty stack takes part of the shared list, or
 * waits on the job's condition variable. The phase ends when every thread
 * waits and the list is empty: the last thread to wait says so.
 *
 * Memory: the stacks are allocated before the job; only the shared list
 * grows during it, through the heap's allocator, under the mutex (so one
 * call at a time, while the owning thread is inside the collection). When
 * it cannot grow, the objects it was to take are marked but not expanded:
 * `overflow`, and the caller's mark_fixpoint expands them after the job.
 *
 * Header words: during the job only marking changes the gc word (MARK,
 * generation, field); it is read and changed atomically, refcnt, type and the
 * references are only read. rc__par_run's hand-over orders the count
 * before the job, and the marks before the sweep.
 */
#include "collector/collector.h"
#include "core/mem.h"

#include <pthread.h>

enum {
    LOCAL = 2048,       /* entries of a thread's stack */
    SHARE_EVERY = 64,   /* expansions between looks for a waiting thread */
};

typedef struct par_mark {
    rc_heap *h;
    uint32_t flip;            /* h->mark_flip: MARK == flip means unmarked */
    pthread_t owner;          /* the owning thread (its marks are not the helpers') */
    rc_head **stacks;         /* LOCAL entries per thread */
    unsigned ids;             /* the next thread's stack (atomic) */
    size_t next;              /* the first page no thread took yet (atomic) */
    unsigned hungry;          /* threads waiting for work (atomic; a hint) */
    size_t helper_marked;     /* objects the helpers marked (atomic) */
    size_t members;           /* members the root scans passed (atomic) */
    size_t marked;            /* objects marked (atomic) */
    size_t settled[2];        /* of which generation 0, 1 before (atomic) */
    pthread_mutex_t mu;       /* guards the fields below */
    pthread_cond_t work;      /* the shared list got objects, or the phase ended */
    rc_vec shared;            /* marked objects still to expand */
    unsigned waiting;         /* threads waiting for work */
    bool done;
    bool overflow;            /* some marked objects were never expanded */
} par_mark;

/* One thread's part. */
typedef struct mark_thread {
    par_mark *pm;
    rc_head **stack;
    size_t len;
    size_t members;
    size_t marked;
    size_t settled[3];   /* marked, by generation before */
} mark_thread;

/* Mark `o`, whose gc word read `gc` (an unmarked member), and settle it as
 * a full collection's survivor (trial.c's settle): true when this call
 * marked it, false when another thread did first. */
RC_INLINE bool try_mark(mark_thread *t, rc_head *o, uint32_t gc)
{
    uint32_t flip = t->pm->flip;
    for (;;) {
        uint32_t to = (gc & ~(RC__MARK | RC__GEN_MASK | (RC__FIELD_MAX << RC__FIELD_SHIFT))) |
                      (flip ^ RC__MARK) | 2u;
        if (__atomic_compare_exchange_n(&o->gc, &gc, to, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
            t->settled[gc & RC__GEN_MASK]++;
            return true;
        }
        if ((gc ^ flip) & RC__MARK) return false;   /* marked meanwhile */
    }
}

/* Move the older half of t's stack (at least one entry) to the shared list,
 * and wake a waiting thread. */
static void share(mark_thread *t)
{
    par_mark *pm = t->pm;
    size_t half = t->len - t->len / 2;
    pthread_mutex_lock(&pm->mu);
    size_t k = 0;
    for (; k < half; k++)
        if (!rc__vec_push(pm->h, &pm->shared, t->stack[k])) break;
    if (k < half) pm->overflow = true;   /* marked, left for mark_fixpoint */
    if (pm->waiting) pthread_cond_broadcast(&pm->work);
    pthread_mutex_unlock(&pm->mu);
    memmove(t->stack, t->stack + half, (t->len - half) * sizeof *t->stack);
    t->len -= half;
}

RC_INLINE void push(mark_thread *t, rc_head *o)
{
    if (t->len == LOCAL) share(t);
    t->stack[t->len++] = o;
    t->marked++;
}

/* A reference from an object being expanded: mark a member and push it. */
RC_INLINE void mark_ref_par(rc_head *c, void *ctx)
{
    mark_thread *t = ctx;
    uint32_t gc = __atomic_load_n(&c->gc, __ATOMIC_RELAXED);
    if (!(gc & RC__TRACKED) || (gc & RC__GEN_MASK) > 2 || ((gc ^ t->pm->flip) & RC__MARK)) return;
    if (try_mark(t, c, gc)) push(t, c);
}

/* Expand t's stack until it is empty, handing half of it to the shared list
 * when another thread waits for work. */
static void drain_par(mark_thread *t)
{
    unsigned n = 0;
    while (t->len) {
        rc_head *x = t->stack[--t->len];
        rc__foreach_ref(x, mark_ref_par, t);
        if (++n % SHARE_EVERY == 0 && t->len > 1 && __atomic_load_n(&t->pm->hungry, __ATOMIC_RELAXED))
            share(t);
    }
}

/* The roots of one page, each marked and drained at once. */
static void roots_of_page(mark_thread *t, rc_page *pg)
{
    uint32_t flip = t->pm->flip;
    RC__FOREACH_BLOCK(pg, o) {
        if (!o->refcnt) continue;   /* a free block: only its refcnt may be read */
        uint32_t gc = __atomic_load_n(&o->gc, __ATOMIC_RELAXED);
        if (!(gc & RC__TRACKED) || (gc & RC__GEN_MASK) > 2) continue;
        t->members++;
        if ((gc ^ flip) & RC__MARK) continue;
        if (o->refcnt <= gc >> RC__FIELD_SHIFT) continue;   /* no outside reference */
        if (try_mark(t, o, gc)) {
            push(t, o);
            drain_par(t);
        }
    }
}

/* Fill t's empty stack from the shared list, waiting while other threads
 * work; false when the phase is over. */
static bool take_shared(mark_thread *t, unsigned threads)
{
    par_mark *pm = t->pm;
    pthread_mutex_lock(&pm->mu);
    for (;;) {
        if (pm->shared.len) {
            size_t n = pm->shared.len / (pm->waiting + 1) + 1;
            if (n > pm->shared.len) n = pm->shared.len;
            if (n > LOCAL / 2) n = LOCAL / 2;
            pm->shared.len -= n;
            memcpy(t->stack, pm->shared.items + pm->shared.len, n * sizeof *t->stack);
            t->len = n;
            pthread_mutex_unlock(&pm->mu);
            return true;
        }
        if (pm->done) break;
        pm->waiting++;
        __atomic_store_n(&pm->hungry, pm->waiting, __ATOMIC_RELAXED);
        if (pm->waiting == threads) {   /* nothing left anywhere */
            pm->done = true;
            pthread_cond_broadcast(&pm->work);
            break;
        }
        pthread_cond_wait(&pm->work, &pm->mu);
        pm->waiting--;
        __atomic_store_n(&pm->hungry, pm->waiting, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&pm->mu);
    return false;
}

/* One thread's whole mark phase (the job of rc__par_run). */
static void mark_job(void *arg, unsigned threads)
{
    par_mark *pm = arg;
    unsigned id = __atomic_fetch_add(&pm->ids, 1, __ATOMIC_RELAXED);
    rc_assert(id < pm->h->par_workers);
    mark_thread t = {.pm = pm, .stack = pm->stacks + (size_t)id * LOCAL};
    const rc_vec *pages = &pm->h->pages[1];
    size_t i;
    while ((i = __atomic_fetch_add(&pm->next, RC_PAR_CHUNK, __ATOMIC_RELAXED)) < pages->len) {
        size_t end = i + RC_PAR_CHUNK < pages->len ? i + RC_PAR_CHUNK : pages->len;
        for (; i < end; i++) roots_of_page(&t, pages->items[i]);
    }
    while (take_shared(&t, threads)) drain_par(&t);
    if (!pthread_equal(pthread_self(), pm->owner))
        __atomic_fetch_add(&pm->helper_marked, t.marked, __ATOMIC_RELAXED);
    __atomic_fetch_add(&pm->members, t.members, __ATOMIC_RELAXED);
    __atomic_fetch_add(&pm->marked, t.marked, __ATOMIC_RELAXED);
    __atomic_fetch_add(&pm->settled[0], t.settled[0], __ATOMIC_RELAXED);
    __atomic_fetch_add(&pm->settled[1], t.settled[1], __ATOMIC_RELAXED);
}

bool rc__par_mark(gc_set *s, rc_gc_info *info, size_t *unmarked)
{
    rc_heap *h = s->h;
    rc_assert(s->gen == 2 && !s->candidates);
    par_mark pm = {.h = h, .flip = h->mark_flip, .owner = pthread_self()};
    size_t bytes = (size_t)h->par_workers * LOCAL * sizeof *pm.stacks;
    pm.stacks = rc__mem_alloc(rc__mem_heap(h), bytes);
    if (!pm.stacks) return false;
    bool ran = false;
    if (pthread_mutex_init(&pm.mu, NULL) == 0) {
        if (pthread_cond_init(&pm.work, NULL) == 0) {
            ran = rc__par_run(h, mark_job, &pm) != 0;
            pthread_cond_destroy(&pm.work);
        }
        pthread_mutex_destroy(&pm.mu);
    }
    rc__vec_free(h, &pm.shared);
    rc__mem_free(rc__mem_heap(h), pm.stacks, bytes);
    if (!ran) return false;
    h->gen_objects[0] -= pm.settled[0];
    h->gen_objects[1] -= pm.settled[1];
    h->gen_objects[2] += pm.settled[0] + pm.settled[1];
    if (pm.overflow) s->overflow = true;
    info->examined = pm.members;
    info->helper_marked = pm.helper_marked;
    *unmarked = pm.members - pm.marked;
    return true;
}
