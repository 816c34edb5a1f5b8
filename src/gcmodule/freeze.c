/*
 * freeze.c -- rc_gc_freeze / rc_gc_unfreeze, after Python's gc.freeze: every
 * tracked object moves to generation 3, which no collection looks at, and
 * back to generation 2. Both walk the pages of tracked objects (inspect.c's
 * rc__gc_walk_pages), so they are refused (RC_EBUSY) during a collection's
 * scan and while objects are being freed.
 */
#include "gcmodule/gcmodule.h"

static bool freeze_one(rc_head *o, void *ctx)
{
    rc_heap *h = ctx;
    if (!(o->gc & RC__TRACKED) || rc__gen(o) == 3) return true;
    if (o->gc & RC__BUFFERED) rc__unbuffer(h, o);
    h->gen_objects[rc__gen(o)]--;
    h->gen_objects[3]++;
    o->gc |= 3u;
    return true;
}

int rc_gc_freeze(rc_heap *h)
{
    RC__HEAP_CHECK(h, "rc_gc_freeze");
    if (!h) return -1;
    if (!rc__gc_walkable(h, "rc_gc_freeze")) return -1;
    rc__gc_walk_pages(&h->pages[1], freeze_one, h);
    /* Nothing is young, nothing is buffered any more. */
    while (h->young[0].len) rc__young_remove(h, h->young[0].items[h->young[0].len - 1], 0);
    while (h->young[1].len) rc__young_remove(h, h->young[1].items[h->young[1].len - 1], 1);
    if (!h->candidates_live) h->candidates.len = 0;
    for (int g = 0; g < 3; g++) h->count[g] = 0;
    h->old_at_full = 0;
    return 0;
}

static bool unfreeze_one(rc_head *o, void *ctx)
{
    rc_heap *h = ctx;
    if (!(o->gc & RC__TRACKED) || rc__gen(o) != 3) return true;
    o->gc = (o->gc & ~(RC__GEN_MASK | RC__MARK)) | 2u | h->mark_flip;
    h->gen_objects[3]--;
    h->gen_objects[2]++;
    return true;
}

int rc_gc_unfreeze(rc_heap *h)
{
    if (!h) return -1;
    if (!rc__gc_walkable(h, "rc_gc_unfreeze")) return -1;
    if (h->gen_objects[3]) rc__gc_walk_pages(&h->pages[1], unfreeze_one, h);
    return 0;
}

size_t rc_gc_get_freeze_count(const rc_heap *h)
{
    RC__HEAP_CHECK(h, "rc_gc_get_freeze_count");
    return h->gen_objects[3];
}
