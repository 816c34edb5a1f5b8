/*
 * failalloc.h -- a fault-injecting allocator for out-of-memory tests: the
 * system allocator, except that
 *   - after fa_arm(n), n more realloc calls that allocate succeed and the next
 *     one returns NULL (once; frees always succeed);
 *   - while fa_map_fails is set, map returns NULL.
 * Build a heap on it with fa_heap_new().
 */
#ifndef RC_TEST_FAILALLOC_H
#define RC_TEST_FAILALLOC_H

#include "recycle.h"

#define FA_FN static __attribute__((unused))

static long fa_countdown = -1;   /* allocating reallocs left before a failure; -1 = never */
static long fa_failures;         /* failures injected so far */
static int fa_map_fails;

FA_FN void fa_arm(long n) { fa_countdown = n; }
FA_FN void fa_disarm(void) { fa_countdown = -1; }

FA_FN void *fa_realloc(void *ud, void *p, size_t size)
{
    if (size && fa_countdown >= 0 && fa_countdown-- == 0) {
        fa_failures++;
        return NULL;
    }
    return rc_system_allocator.realloc(ud, p, size);
}

FA_FN void *fa_map(void *ud, size_t size)
{
    if (fa_map_fails) {
        fa_failures++;
        return NULL;
    }
    return rc_system_allocator.map(ud, size);
}

FA_FN rc_heap *fa_heap_new(void)
{
    rc_heap_config cfg;
    rc_heap_config_init(&cfg);
    cfg.allocator.realloc = fa_realloc;
    cfg.allocator.map = fa_map;
    fa_countdown = -1;
    fa_map_fails = 0;
    return rc_heap_new(&cfg);
}

#endif
