/* test_debug_heap.c -- checks a debug build of the library (RC_DEBUG) makes
 * and a release build does not: a heap used after rc_heap_free is named, a
 * reference into another heap is caught by the collector, a count that would
 * wrap stops rc_incref. Each case runs in a child that must stop with SIGABRT
 * and a message. Without RC_DEBUG the whole file reports "skipped" (77). */
#include "harness.h"
#include "recycle.h"
#include "recycle/gc.h"
#include "testutil.h"

#include <stdint.h>

#ifndef RC_DEBUG
int main(void)
{
    printf("skipped: the library is built without RC_DEBUG\n");
    return 77;
}
#else

typedef struct pair { void *a, *b; } pair;
static const rc_type pair_type = {.name = "pair", .size = sizeof(pair), .nslots = 2};

static void collect_freed_heap(void)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_heap_free(h);
    rc_gc_collect(h, 2);
}

static void new_in_freed_heap(void)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_heap_free(h);
    rc_new(h, &pair_type);
}

static void free_heap_twice(void)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_heap_free(h);
    rc_heap_free(h);
}

TEST(heap_used_after_rc_heap_free_is_named)
{
    CHECK(dies_saying(collect_freed_heap, "rc_gc_collect"));
    CHECK(dies_saying(collect_freed_heap, "freed by rc_heap_free"));
    CHECK(dies_saying(new_in_freed_heap, "rc_new"));
    CHECK(dies_saying(free_heap_twice, "rc_heap_free"));
}

static void foreign_ref_full(void)
{
    rc_heap *ha = rc_heap_new(NULL), *hb = rc_heap_new(NULL);
    pair *x = rc_new(hb, &pair_type);
    pair *a = rc_new(ha, &pair_type);
    a->a = x;
    rc_gc_collect(ha, 2);
}

static void foreign_ref_young(void)
{
    rc_heap *ha = rc_heap_new(NULL), *hb = rc_heap_new(NULL);
    pair *x = rc_new(hb, &pair_type);
    pair *a = rc_new(ha, &pair_type);
    a->b = x;
    rc_gc_collect(ha, 0);
}

static void foreign_ref_candidates(void)
{
    rc_heap *ha = rc_heap_new(NULL), *hb = rc_heap_new(NULL);
    rc_gc_disable(ha);
    pair *x = rc_new(hb, &pair_type);
    pair *a = rc_new(ha, &pair_type);
    rc_gc_collect(ha, 2);   /* a is old */
    a->a = x;
    rc_incref(a);
    rc_decref(a);        /* a is a candidate */
    rc_gc_collect(ha, 0);
}

TEST(reference_into_another_heap_stops_the_collection_naming_both)
{
    CHECK(dies_saying(foreign_ref_full, "another heap"));
#ifndef RC_EXPENSIVE
    /* (With RC_EXPENSIVE the heap check before the collection stops first,
     * naming the referent's heap its own way.) */
    CHECK(dies_saying(foreign_ref_full, "the pair at"));
#endif
    CHECK(dies_saying(foreign_ref_young, "another heap"));
    CHECK(dies_saying(foreign_ref_candidates, "another heap"));
}

static void incref_past_the_limit(void)
{
    rc_heap *h = rc_heap_new(NULL);
    pair *p = rc_new(h, &pair_type);
    RC_HEAD(p)->refcnt = RC__IMMORTAL - 2;  /* as if 2^31 - 2 references were taken */
    rc_incref(p);                          /* the last one that fits */
    rc_incref(p);
}

TEST(incref_that_would_wrap_the_count_stops)
{
    CHECK(dies_saying(incref_past_the_limit, "2^31 - 1 references"));
}

RC_TEST_MAIN
#endif
