/* test_stress.c -- stress mode: a collection at every allocation of a
 * tracked object, switched at run time, by the config or by RC_GC_STRESS. */
#include "harness.h"
#include "nodes.h"
#include "recycle/builtins.h"
#include "recycle/gc.h"
#include "testutil.h"

#include <stdlib.h>

NODES_IMPL

static rc_heap *heap_with_stress(int gc_stress)
{
    rc_heap_config cfg;
    rc_heap_config_init(&cfg);
    cfg.gc_stress = gc_stress;
    return rc_heap_new(&cfg);
}

static void drop_a_cycle(rc_heap *h)
{
    node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
    node_set(a, 0, b);
    node_set(b, 0, a);
    rc_decref(a);
    rc_decref(b);
}

/* Eight allocations of objects that die at once: a young collection each,
 * generation 1 at the eighth. */
static void allocate_eight(rc_heap *h)
{
    for (int i = 0; i < 8; i++) rc_decref(rc_new(h, &node2_type));
}

TEST(a_cycle_dies_within_eight_allocations)
{
    /* its two objects are of generations 1 and 0 (the first allocation
     * collected before the second): generation 1's collection frees them */
    rc_heap *h = heap_with_stress(1);
    CHECK(rc_gc_get_stress(h));
    drop_a_cycle(h);
    CHECK_EQ_INT(live_objects(h), 2);
    allocate_eight(h);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(a_young_cycle_dies_at_the_next_allocation)
{
    rc_heap *h = heap_with_stress(1);
    rc_list *l = rc_list_new(h, 0);   /* one allocation: both below are young */
    rc_gc_disable(h);
    node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
    rc_gc_enable(h);
    node_set(a, 0, b);
    node_set(b, 0, a);
    rc_decref(a);
    rc_decref(b);
    rc_decref(rc_new(h, &node2_type));
    CHECK_EQ_INT(live_objects(h), 1);
    rc_decref(l);
    rc_heap_free(h);
}

TEST(without_stress_the_cycle_waits_for_the_threshold)
{
    rc_heap *h = heap_with_stress(-1);
    CHECK(!rc_gc_get_stress(h));
    drop_a_cycle(h);
    allocate_eight(h);
    CHECK_EQ_INT(live_objects(h), 2);
    rc_heap_free(h);
}

TEST(stress_is_switched_at_run_time)
{
    rc_heap *h = heap_with_stress(-1);
    rc_gc_set_stress(h, 1);
    CHECK(rc_gc_get_stress(h));
    drop_a_cycle(h);
    allocate_eight(h);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_gc_set_stress(h, 0);
    CHECK(!rc_gc_get_stress(h));
    drop_a_cycle(h);
    allocate_eight(h);
    CHECK_EQ_INT(live_objects(h), 2);
    rc_heap_free(h);
    rc_gc_set_stress(NULL, 1);   /* no heap: nothing */
    CHECK(!rc_gc_get_stress(NULL));
}

TEST(the_environment_turns_it_on_and_the_config_overrides_it)
{
    const char *old = getenv("RC_GC_STRESS");
    char *saved = old ? strdup(old) : NULL;
    setenv("RC_GC_STRESS", "1", 1);
    rc_heap *on = rc_heap_new(NULL), *off = heap_with_stress(-1);
    CHECK(rc_gc_get_stress(on));
    CHECK(!rc_gc_get_stress(off));
    setenv("RC_GC_STRESS", "0", 1);
    rc_heap *zero = rc_heap_new(NULL), *forced = heap_with_stress(1);
    CHECK(!rc_gc_get_stress(zero));
    CHECK(rc_gc_get_stress(forced));
    unsetenv("RC_GC_STRESS");
    rc_heap *unset = rc_heap_new(NULL);
    CHECK(!rc_gc_get_stress(unset));
    if (saved) setenv("RC_GC_STRESS", saved, 1);
    free(saved);
    rc_heap_free(on);
    rc_heap_free(off);
    rc_heap_free(zero);
    rc_heap_free(forced);
    rc_heap_free(unset);
}

TEST(a_disabled_heap_is_not_stressed)
{
    rc_heap *h = heap_with_stress(1);
    rc_gc_disable(h);
    drop_a_cycle(h);
    allocate_eight(h);
    CHECK_EQ_INT(live_objects(h), 2);
    rc_gc_enable(h);
    allocate_eight(h);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(every_generation_and_the_candidates_get_collected)
{
    rc_heap *h = heap_with_stress(1);
    rc_list *keep = rc_list_new(h, 0);
    for (int i = 0; i < 5000; i++) {
        node *n = rc_new(h, &node2_type);
        rc_list_append(keep, rc_obj(n));
        rc_decref(n);
        if (i % 7 == 0) drop_a_cycle(h);
        /* old objects losing a reference: candidates */
        if (i > 100 && i % 5 == 0) rc_list_pop(keep, 0, NULL);
    }
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    CHECK(st.collections[0] > 4000);
    CHECK(st.collections[1] > 400);
    CHECK(st.collections[2] > 0);
    CHECK(st.candidate_scans > 0);
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    rc_decref(keep);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(a_big_heap_gets_few_full_collections)
{
    /* a full collection per allocation would be quadratic */
    rc_heap *h = heap_with_stress(1);
    rc_list *keep = rc_list_new(h, 0);
    for (int i = 0; i < 20000; i++) {
        rc_list *n = rc_list_new(h, 0);
        rc_list_append(keep, rc_obj(n));
        rc_decref(n);
    }
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    CHECK(st.collections[2] < 200);
    rc_decref(keep);
    rc_heap_free(h);
}

static int hits;
static void alloc_in_finalizer(void *obj)
{
    (void)obj;
    hits++;
    rc_heap *h = rc_heap_of(obj);
    node *x = rc_new(h, &node2_type);   /* no collection can start here */
    drop_a_cycle(h);
    rc_decref(x);
}
static const rc_type fin_type = {.name = "fin", .size = sizeof(node), .nslots = 2,
                                 .finalize = alloc_in_finalizer};

TEST(allocating_in_finalizers_under_stress_starts_no_collection)
{
    rc_heap *h = heap_with_stress(1);
    for (int i = 0; i < 200; i++) {
        node *a = rc_new(h, &fin_type), *b = rc_new(h, &node2_type);
        node_set(a, 0, b);
        node_set(b, 0, a);
        rc_decref(a);
        rc_decref(b);
    }
    rc_gc_collect(h, 2);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(hits, 200);
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

RC_TEST_MAIN
