/*
 * hooks.c -- attaching the layers above core to a heap, and the dispatchers
 * that call them (hooks.h has the rules).
 */
#include "core/hooks.h"
#include "core/internal.h"

void rc__hooks_set(rc_heap *h, int slot, const rc_hooks *t)
{
    h->hooks[slot] = t;
    if (!t) rc__hooks_want(h, slot, 0);
}

void rc__hooks_want(rc_heap *h, int slot, uint8_t bits)
{
    h->wants[slot] = bits;
    uint8_t all = 0;
    for (int s = 0; s < RC_NSLOTS; s++) all |= h->wants[s];
    h->hooked = all;
    h->death_gate = (uint8_t)((h->death_gate & RC__GATE_FREEING) | (all & RC_HOOK_DEATH));
}

/* For each attached slot whose table has hook `f`, with `t` its table. */
#define FOR_HOOK(h, f, t)                                                      \
    for (int s_ = 0; s_ < RC_NSLOTS; s_++)                                     \
        for (const rc_hooks *t = (h)->hooks[s_]; t && t->f; t = NULL)

RC_NOINLINE void rc__hook_alloc(rc_heap *h, rc_head *o, const char *file, int line)
{
    FOR_HOOK(h, on_alloc, t) t->on_alloc(h, o, file, line);
}

RC_NOINLINE void rc__hook_death(rc_heap *h, rc_head *o)
{
    FOR_HOOK(h, on_death, t) t->on_death(h, o);
}

void rc__hook_collect_begin(rc_heap *h, const rc_gc_info *info)
{
    FOR_HOOK(h, on_collect_begin, t) t->on_collect_begin(h, info);
}

void rc__hook_collect_end(rc_heap *h, const rc_gc_info *info)
{
    FOR_HOOK(h, on_collect_end, t) t->on_collect_end(h, info);
}

bool rc__hook_unreachable(rc_heap *h, rc_head **g, size_t n)
{
    bool ran = false;
    FOR_HOOK(h, on_unreachable, t) ran |= t->on_unreachable(h, g, n);
    return ran;
}

void rc__hook_spared(rc_heap *h, rc_head **g, size_t n)
{
    FOR_HOOK(h, on_spared, t) t->on_spared(h, g, n);
}

int rc__hook_garbage(rc_heap *h, rc_head **g, size_t n)
{
    int kept = RC__GARBAGE_FREE;
    FOR_HOOK(h, on_garbage, t) {
        int k = t->on_garbage(h, g, n);
        if (k > kept) kept = k;
    }
    return kept;
}

bool rc__hook_site(rc_heap *h, const rc_head *o, const char **file, int *line)
{
    FOR_HOOK(h, site_of, t) if (t->site_of(h, o, file, line)) return true;
    return false;
}

void rc__hook_heap_end(rc_heap *h)
{
    FOR_HOOK(h, on_heap_end, t) t->on_heap_end(h);
}

void rc__hook_heap_free(rc_heap *h)
{
    FOR_HOOK(h, on_heap_free, t) t->on_heap_free(h);
}

void rc__hook_snapshot_shrunk(rc_heap *h)
{
    FOR_HOOK(h, on_snapshot_shrunk, t) t->on_snapshot_shrunk(h);
}
