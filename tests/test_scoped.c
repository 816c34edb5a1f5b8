/*
 * test_scoped.c -- <recycle/scoped.h>: RC_AUTO and RC_AUTO_VAL drop their
 * reference on every way out of a scope, rc_steal and rc_val_steal hand it
 * on instead, and NULL / RC_EMPTY / immediates are left alone. Leaks are
 * seen as the heap's live-object count not returning to where it started.
 */
#include "recycle.h"
#include "recycle/builtins.h"
#include "recycle/scoped.h"

#include "harness.h"
#include "nodes.h"
#include "testutil.h"

NODES_IMPL

/* Where build_pair gives up (0: it succeeds). */
enum { FAIL_NONE, FAIL_AFTER_A, FAIL_AFTER_B, FAIL_AFTER_LINK, FAIL_NO_B };

/* Builds a -> b; returns 0 and hands a to *out, or a negative number from
 * one of several early returns, having leaked nothing. */
static int build_pair(rc_heap *h, int fail, node **out)
{
    RC_AUTO node *a = rc_new(h, &node2_type);
    if (!a) return -1;
    if (fail == FAIL_AFTER_A) return -2;
    RC_AUTO node *b = fail == FAIL_NO_B ? NULL : rc_new(h, &node2_type);
    if (!b) return -3;
    if (fail == FAIL_AFTER_B) return -4;
    node_set(a, 0, b);   /* a takes its own reference; ours goes at return */
    if (fail == FAIL_AFTER_LINK) return -5;
    *out = rc_steal(&a);
    return 0;
}

TEST(every_early_return_leaks_nothing)
{
    rc_heap *h = quiet_heap();
    size_t start = live_objects(h);
    int fails[] = {FAIL_AFTER_A, FAIL_AFTER_B, FAIL_AFTER_LINK, FAIL_NO_B};
    for (size_t i = 0; i < sizeof fails / sizeof fails[0]; i++) {
        node *out = NULL;
        CHECK(build_pair(h, fails[i], &out) < 0);
        CHECK(out == NULL);
        CHECK_EQ_INT(live_objects(h), start);
    }
    rc_heap_free(h);
}

TEST(steal_hands_the_reference_to_the_caller)
{
    rc_heap *h = quiet_heap();
    size_t start = live_objects(h);
    node *a = NULL;
    REQUIRE(build_pair(h, FAIL_NONE, &a) == 0);
    REQUIRE(a != NULL);
    CHECK_EQ_INT(live_objects(h), start + 2);
    CHECK_EQ_INT(rc_refcount(a), 1);            /* ours, stolen from the scope */
    CHECK_EQ_INT(rc_refcount(a->slot[0]), 1);   /* a's; the scope's b was dropped */
    rc_decref(a);
    CHECK_EQ_INT(live_objects(h), start);
    rc_heap_free(h);
}

TEST(steal_leaves_null_and_is_typed)
{
    rc_heap *h = quiet_heap();
    node *n = rc_new(h, &leaf_type);
    REQUIRE(n != NULL);
    node *p = n;
    node *got = rc_steal(&p);   /* typed: no cast, and a warning-free build */
    CHECK(got == n);
    CHECK(p == NULL);
    CHECK(rc_steal(&p) == NULL);   /* stealing from NULL gives NULL */
    CHECK(p == NULL);
    void *v = n;
    CHECK((rc_steal)(&v) == n);   /* the function itself */
    CHECK(v == NULL);
    rc_decref(n);
    rc_heap_free(h);
}

TEST(null_and_reassigned_to_null_are_left_alone)
{
    rc_heap *h = quiet_heap();
    size_t start = live_objects(h);
    {
        RC_AUTO node *n = NULL;
        RC_AUTO void *v = NULL;
        (void)n;
        (void)v;
    }
    {
        RC_AUTO node *n = rc_new(h, &leaf_type);
        REQUIRE(n != NULL);
        rc_decref(n);   /* dropped by hand: then the variable must be cleared */
        n = NULL;
    }
    CHECK_EQ_INT(live_objects(h), start);
    rc_heap_free(h);
}

TEST(one_declaration_drops_every_variable_it_declares)
{
    rc_heap *h = quiet_heap();
    size_t start = live_objects(h);
    {
        RC_AUTO node *a = rc_new(h, &leaf_type), *b = rc_new(h, &leaf_type);
        REQUIRE(a && b);
        CHECK_EQ_INT(live_objects(h), start + 2);
    }
    CHECK_EQ_INT(live_objects(h), start);
    rc_heap_free(h);
}

TEST(loop_body_drops_each_iteration_on_continue_and_break)
{
    rc_heap *h = quiet_heap();
    size_t start = live_objects(h);
    int iterations = 0;
    for (int i = 0; i < 100; i++) {
        CHECK_EQ_INT(live_objects(h), start);   /* the last iteration's is gone */
        RC_AUTO node *n = rc_new(h, &node2_type);
        REQUIRE(n != NULL);
        RC_AUTO node *child = rc_new(h, &leaf_type);
        REQUIRE(child != NULL);
        node_set(n, 0, child);
        iterations++;
        if (i % 3 == 0) continue;
        if (i == 50) break;
        CHECK_EQ_INT(live_objects(h), start + 2);
    }
    CHECK_EQ_INT(iterations, 51);
    CHECK_EQ_INT(live_objects(h), start);
    rc_heap_free(h);
}

/* A goto out of the block drops what the block held. */
static int find_first_even(rc_heap *h, int n, int *found)
{
    for (int i = 0; i < n; i++) {
        RC_AUTO node *probe = rc_new(h, &leaf_type);
        if (!probe) return -1;
        probe->payload = 2 * i + 1 + (i == 7);
        if (probe->payload % 2 == 0) {
            *found = i;
            goto done;
        }
    }
    return 1;
done:
    return 0;
}

TEST(goto_out_of_the_scope_drops_it)
{
    rc_heap *h = quiet_heap();
    size_t start = live_objects(h);
    int found = -1;
    CHECK_EQ_INT(find_first_even(h, 20, &found), 0);
    CHECK_EQ_INT(found, 7);
    CHECK_EQ_INT(live_objects(h), start);
    rc_heap_free(h);
}

TEST(a_borrowed_reference_kept_with_incref_is_dropped_once)
{
    rc_heap *h = quiet_heap();
    rc_list *l = rc_list_new(h, 0);
    node *n = rc_new(h, &leaf_type);
    REQUIRE(l && n);
    REQUIRE(rc_list_append(l, rc_obj(n)) == 0);
    rc_decref(n);   /* the list holds it alone */
    {
        RC_AUTO node *kept = rc_as_obj(rc_list_get(l, 0));   /* borrowed ... */
        rc_incref(kept);                                      /* ... now ours */
        CHECK_EQ_INT(rc_refcount(kept), 2);
    }
    CHECK_EQ_INT(rc_refcount(rc_as_obj(rc_list_get(l, 0))), 1);
    rc_decref(l);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* Pops the last item of `l` and keeps it only if it is an object whose
 * payload is `want`: several returns, each dropping the popped value. */
static rc_val pop_if(rc_list *l, long want)
{
    RC_AUTO_VAL rc_val v = RC_EMPTY;
    if (rc_list_pop(l, -1, &v) != 0) return RC_EMPTY;
    node *n = rc_as_obj(v);
    if (!n) return RC_EMPTY;   /* an immediate: nothing to drop */
    if (n->payload != want) return RC_EMPTY;
    return rc_val_steal(&v);
}

TEST(auto_val_drops_popped_values_and_steal_hands_them_on)
{
    rc_heap *h = quiet_heap();
    size_t start = live_objects(h);
    rc_list *l = rc_list_new(h, 0);
    REQUIRE(l != NULL);
    for (long i = 0; i < 4; i++) {
        node *n = rc_new(h, &leaf_type);
        REQUIRE(n != NULL);
        n->payload = i;
        REQUIRE(rc_list_append(l, rc_obj(n)) == 0);
        rc_decref(n);
    }
    REQUIRE(rc_list_append(l, rc_int(42)) == 0);
    CHECK(pop_if(l, 0) == RC_EMPTY);   /* the integer */
    CHECK_EQ_INT(live_objects(h), start + 5);
    CHECK(pop_if(l, 99) == RC_EMPTY);   /* object 3, dropped */
    CHECK_EQ_INT(live_objects(h), start + 4);
    rc_val kept = pop_if(l, 2);   /* object 2, handed on */
    REQUIRE(rc_is_obj(kept));
    CHECK_EQ_INT(((node *)rc_as_obj(kept))->payload, 2);
    CHECK_EQ_INT(rc_refcount(rc_as_obj(kept)), 1);
    CHECK_EQ_INT(live_objects(h), start + 4);
    rc_val_decref(kept);
    CHECK_EQ_INT(live_objects(h), start + 3);
    rc_decref(l);
    CHECK_EQ_INT(live_objects(h), start);
    rc_heap_free(h);
}

TEST(auto_val_ignores_immediates_and_empty)
{
    rc_heap *h = quiet_heap();
    size_t start = live_objects(h);
    {
        RC_AUTO_VAL rc_val i = rc_int(7);
        RC_AUTO_VAL rc_val f = rc_float(0.5);
        RC_AUTO_VAL rc_val e = RC_EMPTY;
        RC_AUTO_VAL rc_val t = RC_TRUE;
        (void)i, (void)f, (void)e, (void)t;
    }
    rc_val v = rc_int(3);
    CHECK(rc_val_steal(&v) == rc_int(3));
    CHECK(v == RC_EMPTY);
    CHECK_EQ_INT(live_objects(h), start);
    rc_heap_free(h);
}

TEST(built_in_containers_are_dropped_too)
{
    rc_heap *h = quiet_heap();
    size_t start = live_objects(h);
    {
        RC_AUTO rc_list *l = rc_list_new(h, 0);
        RC_AUTO rc_str *s = rc_str_from_cstr(h, "held by the list and by us");
        REQUIRE(l && s);
        REQUIRE(rc_list_append(l, rc_obj(s)) == 0);
        CHECK_EQ_INT(rc_refcount(s), 2);
    }
    CHECK_EQ_INT(live_objects(h), start);
    rc_heap_free(h);
}

RC_TEST_MAIN
