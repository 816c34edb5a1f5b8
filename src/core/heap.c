/*
 * heap.c -- heaps: the struct made from a config and its teardown (the public
 * rc_heap_new / rc_heap_free, which attach the layers above, are in
 * src/gcmodule/heap.c), the thread that holds a heap (rc_heap_acquire,
 * rc_heap_release and the debug builds' owner check), errors, and the
 * heap's counters (rc_heap_get_stats; the collector's settings are the gc
 * module's, src/gcmodule/settings.c).
 */
#include "core/objects.h"
#include "core/memcheck.h"

#include <stdarg.h>
#include <stdlib.h>

/* Candidates buffered before a scan. A scan's set (about twice this for
 * two-node cycles) then stays in the caches: W6 at 10,000 scanned 20,000
 * objects in 1.5 ms, at 1,000 2,000 in 0.08 ms, twice as fast per object. */
#define RC_DEFAULT_CANDIDATE_LIMIT 1000

/* Stress mode from the config, or from RC_GC_STRESS when it says nothing. */
static bool stress_wanted(const rc_heap_config *cfg)
{
    if (cfg->gc_stress) return cfg->gc_stress > 0;
    const char *e = getenv("RC_GC_STRESS");
    return e && atoi(e) > 0;
}

rc_heap *rc__heap_init(const rc_heap_config *cfg, size_t size)
{
    if (!cfg->allocator.map || !cfg->allocator.unmap || !cfg->allocator.realloc) return NULL;
    if (size < sizeof(rc_heap)) size = sizeof(rc_heap);
    rc_heap *h = cfg->allocator.realloc(cfg->allocator.ud, NULL, size);
    if (!h) return NULL;
    memset(h, 0, size);
    h->cfg = *cfg;
    h->enabled = !cfg->disabled;
    memcpy(h->threshold, cfg->threshold, sizeof h->threshold);
    h->old_backoff = 1;
    h->cand_growth = RC_CAND_BUDGET_GROWTH;
    h->mid_backoff = 1;
    h->young_boost = 1;
    h->incremental = true;
    h->par_workers = 1;
    h->par_min = RC_PARALLEL_MIN_DEFAULT;
    h->candidate_limit = cfg->candidate_limit ? cfg->candidate_limit : RC_DEFAULT_CANDIDATE_LIMIT;
    h->stress = stress_wanted(cfg);
#ifdef RC_DEBUG
    const char *verify = getenv("RC_GC_VERIFY");
    h->verify_gc = verify && atoi(verify) > 0;
#endif
    h->leak_report = cfg->leak_report;
    h->leak_report_ud = cfg->leak_report_ud;
    rc__young_limit_update(h);
    h->magic = RC_HEAP_MAGIC;
    atomic_init(&h->owner, rc__os_thread_self());   /* the caller holds a new heap */
    atomic_init(&h->owner_tid, rc__os_thread_tid());
    if (!rc__watch_init(h, cfg)) {
        cfg->allocator.realloc(cfg->allocator.ud, h, 0);
        return NULL;
    }
    return h;
}

static void teardown_hold(rc_head *o, void *ctx)
{
    (void)ctx;
    o->refcnt = 0x40000000u;   /* no decref during teardown reaches zero */
    o->gc &= ~(RC__GEN_MASK | RC__BUFFERED);   /* generation 0: never buffered */
}

static void teardown_clear(rc_head *o, void *ctx)
{
    (void)ctx;
    if (o->type->clear) o->type->clear(o + 1);
}

static void teardown_destroy(rc_head *o, void *ctx)
{
    (void)ctx;
    if (o->type->destroy) o->type->destroy(o + 1);
}

#ifdef RC_DEBUG
/* Debug builds keep the structs of the last RC_HEAP_QUARANTINE freed heaps
 * (those on the system allocator: another allocator may not outlive its
 * heap), marked RC_HEAP_FREED, so that a heap used after rc_heap_free is
 * named instead of read from freed memory. A spin lock: heaps of several
 * threads may end at once. */
#define RC_HEAP_QUARANTINE 16
static rc_heap *quarantine[RC_HEAP_QUARANTINE];
static unsigned quarantine_next;
static char quarantine_lock;

static void release_struct(rc_heap *h)
{
    h->magic = RC_HEAP_FREED;
    if (h->cfg.allocator.realloc != rc_system_allocator.realloc) {
        h->cfg.allocator.realloc(h->cfg.allocator.ud, h, 0);
        return;
    }
    while (__atomic_test_and_set(&quarantine_lock, __ATOMIC_ACQUIRE)) {
    }
    rc_heap *old = quarantine[quarantine_next];
    quarantine[quarantine_next] = h;
    quarantine_next = (quarantine_next + 1) % RC_HEAP_QUARANTINE;
    __atomic_clear(&quarantine_lock, __ATOMIC_RELEASE);
    if (old) old->cfg.allocator.realloc(old->cfg.allocator.ud, old, 0);
}

void rc__heap_bad(const rc_heap *h, const char *call)
{
    if (h->magic == RC_HEAP_MAGIC) rc__heap_not_owned(h, call, NULL);
    if (h->magic == RC_HEAP_FREED)
        fprintf(stderr, "recycle: %s(%p): the heap was freed by rc_heap_free (use after free)\n",
                call, (const void *)h);
    else
        fprintf(stderr, "recycle: %s(%p): not a heap made by rc_heap_new\n", call,
                (const void *)h);
    abort();
}
#else
static void release_struct(rc_heap *h)
{
    h->cfg.allocator.realloc(h->cfg.allocator.ud, h, 0);
}
#endif

bool rc__heap_teardown(rc_heap *h)
{
    /* From a finalizer, callback or hook of this heap: the caller's frames
     * still use it. */
    if (h->busy || h->freeing) {
        rc__fail(h, RC_EBUSY, "rc_heap_free: refused while the heap is %s (called from one "
                 "of its finalizers, callbacks or destroy hooks)",
                 h->freeing ? "freeing objects" : "collecting or running a finalizer or callback");
        return false;
    }
    rc__hook_heap_end(h);
    h->busy++;
    h->enabled = false;
    for (int t = 0; t < 2; t++) rc__foreach_object(h, t, teardown_hold, NULL);
    /* clear frees containers' buffers; every count stays far above zero. */
    for (int t = 0; t < 2; t++) rc__foreach_object(h, t, teardown_clear, NULL);
    for (int t = 0; t < 2; t++) rc__foreach_object(h, t, teardown_destroy, NULL);
    rc__hook_heap_free(h);
    rc__vec_free(h, &h->candidates);
    rc__vec_free(h, &h->scratch);
    rc__table_free(h);
    rc__watch_teardown(h);
    rc__alloc_release_all(h);
    /* Buffer pages went with the segments; a mapped buffer left now would
     * stay mapped: every owner frees its buffers by here. */
    rc_assert(h->buf_map_bytes == 0);
    release_struct(h);
    return true;
}

/* ---- the thread that holds a heap ---- */

/* The load-acquire of a successful exchange pairs with the store-release of
 * rc_heap_release: everything the last owner wrote to the heap and its
 * objects happens before what the new owner reads. */
int rc_heap_acquire(rc_heap *h)
{
    if (!h) return RC_EINVAL;
#ifdef RC_DEBUG
    if (h->magic != RC_HEAP_MAGIC) rc__heap_bad(h, "rc_heap_acquire");
#endif
    if (h->region) {   /* a frozen region's heap (rc_heap_of of its object) */
        rc__fail(h, RC_EINVAL, "rc_heap_acquire: the heap %p is the frozen region %p's: no "
                 "thread holds it (its last holder frees it)", (void *)h, h->region);
        return RC_EINVAL;
    }
    return rc__heap_acquire(h);
}

int rc__heap_acquire(rc_heap *h)
{
    uintptr_t self = rc__os_thread_self(), held = 0;
    if (!atomic_compare_exchange_strong_explicit(&h->owner, &held, self, memory_order_acquire,
                                                 memory_order_relaxed))
        return held == self ? RC_OK : RC_EBUSY;
    atomic_store_explicit(&h->owner_tid, rc__os_thread_tid(), memory_order_relaxed);
    return RC_OK;
}

int rc_heap_release(rc_heap *h)
{
    if (!h) return RC_EINVAL;
    RC__HEAP_CHECK(h, "rc_heap_release");
    /* Not ours (release builds): the heap is another thread's, touch nothing. */
    if (!rc__heap_owned(h)) return RC_EBUSY;
    if (h->busy || h->freeing || h->scanning) {
        rc__fail(h, RC_EBUSY, "rc_heap_release: refused while the heap is %s (called from one of "
                 "its finalizers, callbacks or destroy hooks)",
                 h->freeing ? "freeing objects" : "collecting or running a finalizer or callback");
        return RC_EBUSY;
    }
    atomic_store_explicit(&h->owner, 0, memory_order_release);
    return RC_OK;
}

/* "4242 'parser' (pthread 0x7f...)": a thread by its kernel id, name and,
 * when known, its pthread id. */
static void describe_thread(char *buf, size_t size, unsigned long tid, uintptr_t pt)
{
    char name[32];
    rc__os_thread_name(tid, name, sizeof name);
    if (pt) snprintf(buf, size, "%lu '%s' (pthread 0x%llx)", tid, name, (unsigned long long)pt);
    else snprintf(buf, size, "%lu '%s'", tid, name);
}

void rc__heap_not_owned(const rc_heap *h, const char *call, const void *obj)
{
    uintptr_t owner = atomic_load_explicit(&h->owner, memory_order_relaxed);
    unsigned long owner_tid = atomic_load_explicit(&h->owner_tid, memory_order_relaxed);
    char them[96], me[96], what[64] = "";
    describe_thread(them, sizeof them, owner_tid, owner);
    describe_thread(me, sizeof me, rc__os_thread_tid(), rc__os_thread_self());
    if (obj) snprintf(what, sizeof what, " on an object of heap %p", (const void *)h);
    if (h->region && !owner) {
        fprintf(stderr, "recycle: %s(%p)%s: the heap is the frozen region %p's, which no thread "
                "holds or writes (read its objects; rc_copy them to change them)\n", call,
                obj ? obj : (const void *)h, what, h->region);
        abort();
    }
    if (owner)
        fprintf(stderr, "recycle: %s(%p)%s: the heap belongs to thread %s, not to the calling "
                "thread %s (hand a heap over with rc_heap_release and rc_heap_acquire)\n", call,
                obj ? obj : (const void *)h, what, them, me);
    else
        fprintf(stderr, "recycle: %s(%p)%s: no thread holds the heap (thread %s released it with "
                "rc_heap_release); the calling thread %s must rc_heap_acquire it first\n", call,
                obj ? obj : (const void *)h, what, them, me);
    abort();
}

/* ---- errors ---- */

/* The calling thread's record, for errors of calls made on an object of a
 * frozen region: the region's heap is held by no thread, and is never
 * written (rc_thread_error). */
static _Thread_local int thread_err;
static _Thread_local char thread_errmsg[sizeof ((rc_heap *)0)->errmsg];

void *rc__fail(rc_heap *h, int code, const char *fmt, ...)
{
    if (!h) return NULL;
    int *err = h->region ? &thread_err : &h->err;
    char *msg = h->region ? thread_errmsg : h->errmsg;
    va_list ap;
    *err = code;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof h->errmsg, fmt, ap);
    va_end(ap);
    return NULL;
}

int rc_thread_error(void)
{
    return thread_err;
}

const char *rc_thread_error_message(void)
{
    return thread_err ? thread_errmsg : "no error";
}

void rc_thread_clear_error(void)
{
    thread_err = RC_OK;
    thread_errmsg[0] = 0;
}

int rc_heap_trim(rc_heap *h)
{
    if (!h) return RC_EINVAL;
    RC__HEAP_CHECK(h, "rc_heap_trim");
    if (h->region) {   /* a frozen region's heap (rc_heap_of of its object): no thread's */
        rc__fail(h, RC_EINVAL, "rc_heap_trim: the heap is the frozen region %p's, which no "
                 "thread holds", h->region);
        return RC_EINVAL;
    }
    if (!rc__heap_owned(h)) return RC_EBUSY;   /* another thread's: touch nothing */
    if (h->busy || h->freeing || h->scanning) {
        rc__fail(h, RC_EBUSY, "rc_heap_trim: refused while the heap is %s (called from one of "
                 "its finalizers, callbacks or destroy hooks)",
                 h->freeing ? "freeing objects" : "collecting or running a finalizer or callback");
        return RC_EBUSY;
    }
    rc__alloc_purge(h);
    return RC_OK;
}

int rc_heap_error(const rc_heap *h)
{
    RC__HEAP_CHECK(h, "rc_heap_error");
    return h->err;
}
const char *rc_heap_error_message(const rc_heap *h)
{
    RC__HEAP_CHECK(h, "rc_heap_error_message");
    return h->err ? h->errmsg : "no error";
}
void rc_heap_clear_error(rc_heap *h)
{
    RC__HEAP_CHECK(h, "rc_heap_clear_error");
    h->err = RC_OK;
    h->errmsg[0] = 0;
}

void rc__assert_fail(const char *what, const char *file, int line)
{
    fprintf(stderr, "recycle: internal check failed: %s (%s:%d)\n", what, file, line);
    abort();
}

/* ---- counters ---- */

void rc_heap_get_stats(const rc_heap *h, rc_heap_stats *out)
{
    RC__HEAP_CHECK(h, "rc_heap_get_stats");
    memset(out, 0, sizeof *out);
    rc__count_objects(h, &out->objects, &out->object_bytes);
    for (int g = 0; g < 4; g++) {
        out->gen_objects[g] = h->gen_objects[g];
        out->tracked += h->gen_objects[g];
    }
    out->buffer_bytes = h->buffer_bytes;
    out->page_bytes = h->page_bytes;
    out->buffer_map_bytes = h->buf_map_bytes;
    for (int g = 0; g < 3; g++) {
        out->collections[g] = h->gstats[g].collections;
        out->collected[g] = h->gstats[g].freed;
    }
    out->candidate_scans = h->cstats.collections;
}
