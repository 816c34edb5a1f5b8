/*
 * heap.c -- heaps: the struct made from a config and its teardown (the public
 * rc_heap_new / rc_heap_free, which attach the layers above, are in
 * src/gcmodule/heap.c), errors, and the heap's counters (rc_heap_get_stats;
 * the collector's settings are the gc module's, src/gcmodule/settings.c).
 */
#include "core/objects.h"
#include "core/memcheck.h"

#include <stdarg.h>
#include <stdlib.h>

#define RC_DEFAULT_CANDIDATE_LIMIT 10000

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
    h->young_scale = 1;
    h->old_backoff = 1;
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
    rc__watch_teardown(h);
    rc__alloc_release_all(h);
    release_struct(h);
    return true;
}

/* ---- errors ---- */

void *rc__fail(rc_heap *h, int code, const char *fmt, ...)
{
    if (!h) return NULL;
    va_list ap;
    h->err = code;
    va_start(ap, fmt);
    vsnprintf(h->errmsg, sizeof h->errmsg, fmt, ap);
    va_end(ap);
    return NULL;
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
    for (int g = 0; g < 3; g++) {
        out->collections[g] = h->gstats[g].collections;
        out->collected[g] = h->gstats[g].freed;
    }
    out->candidate_scans = h->cstats.collections;
}
