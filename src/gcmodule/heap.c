/*
 * heap.c -- the public heap: rc_heap_config_init, rc_heap_new, which makes a core
 * heap inside an rc_modheap (gcmodule.h) and attaches the layers above it
 * through the hook table (the collector, weak references, this module), and
 * rc_heap_free.
 */
#include "gcmodule/gcmodule.h"

void rc_heap_config_init(rc_heap_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->allocator = rc_system_allocator;
    cfg->threshold[0] = 2000;
    cfg->threshold[1] = 10;
    cfg->threshold[2] = 10;
#ifdef RC_DEBUG
    cfg->leak_report = rc_heap_leak_report_print;   /* a test suite finds its leaks unasked */
#endif
}

/* on_heap_end: the leak report of what is left, before anything is cleared. */
static void heap_end(rc_heap *h)
{
    if (h->leak_report) rc__leak_report(h);
}

/* The library's own type object of each sealed kind (core/internal.h). */
static const rc_type *const sealed_types[RC__NSEALED] = {
    [RC_KIND_LIST & 0xff] = &rc_list_type,   [RC_KIND_TUPLE & 0xff] = &rc_tuple_type,
    [RC_KIND_DICT & 0xff] = &rc_dict_type,   [RC_KIND_STR & 0xff] = &rc_str_type,
    [RC_KIND_WEAKREF & 0xff] = &rc_weakref_type, [RC_KIND_INT & 0xff] = &rc_int_type,
};

static const rc_hooks gcmodule_hooks = {
    .on_collect_begin = rc__gcmod_collect_begin,
    .on_collect_end = rc__gcmod_collect_end,
    .on_garbage = rc__gcmod_garbage,
    .on_heap_end = heap_end,
    .on_heap_free = rc__regions_heap_free,
};

rc_heap *rc_heap_new(const rc_heap_config *cfg)
{
    rc_heap_config def;
    if (!cfg) {
        rc_heap_config_init(&def);
        cfg = &def;
    }
    rc_heap *h = rc__heap_init(cfg, sizeof(rc_modheap));
    if (!h) return NULL;
    h->sealed = sealed_types;
    rc__hooks_set(h, RC_SLOT_COLLECTOR, &rc__collector_hooks);
    rc__weakref_attach(h);
    rc__hooks_set(h, RC_SLOT_GCMODULE, &gcmodule_hooks);
    return h;
}

void rc_heap_free(rc_heap *h)
{
    if (!h) return;
    RC__HEAP_CHECK(h, "rc_heap_free");
    rc__heap_teardown(h);
}
