/*
 * test_tuple.c -- the built-in tuple: creation, reading, filling, the
 * reference counts of its items, cycles, errors and out-of-memory.
 */
#include "recycle.h"
#include "recycle/builtins.h"
#include "recycle/gc.h"

#include "failalloc.h"
#include "core/internal.h"
#include "harness.h"
#include "testutil.h"

TEST(new_tuple_holds_the_given_items)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_val items[] = {rc_int(1), rc_float(2.5), RC_TRUE};
    rc_tuple *t = rc_tuple_new(h, 3, items);
    REQUIRE(t);
    CHECK_EQ_INT(rc_tuple_len(t), 3);
    for (size_t i = 0; i < 3; i++) CHECK(rc_tuple_get(t, i) == items[i]);
    CHECK(rc_typeof(t) == &rc_tuple_type);
    CHECK(strcmp(rc_tuple_type.name, "tuple") == 0);
    CHECK(rc_is_tuple(rc_obj(t)));
    rc_decref(t);
    rc_heap_free(h);
}

TEST(new_tuple_without_items_is_all_none)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_tuple *t = rc_tuple_new(h, 4, NULL);
    REQUIRE(t);
    CHECK_EQ_INT(rc_tuple_len(t), 4);
    for (size_t i = 0; i < 4; i++) CHECK(rc_tuple_get(t, i) == RC_NONE);
    rc_decref(t);
    rc_heap_free(h);
}

TEST(empty_tuple)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_tuple *t = rc_tuple_new(h, 0, NULL);
    REQUIRE(t);
    CHECK_EQ_INT(rc_tuple_len(t), 0);
    CHECK(rc_tuple_get(t, 0) == RC_EMPTY);
    CHECK_EQ_INT(rc_heap_error(h), RC_ERANGE);
    rc_decref(t);
    rc_heap_free(h);
}

TEST(new_tuple_takes_its_own_references_to_object_items)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_str *s = rc_str_from_cstr(h, "s");
    rc_val items[] = {rc_obj(s), rc_obj(s)};
    rc_tuple *t = rc_tuple_new(h, 2, items);
    CHECK_EQ_INT(rc_refcount(s), 3);
    rc_decref(t);
    CHECK_EQ_INT(rc_refcount(s), 1);
    rc_decref(s);
    rc_heap_free(h);
}

TEST(get_out_of_range_returns_empty_with_erange)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_tuple *t = rc_tuple_new(h, 2, NULL);
    rc_heap_clear_error(h);
    CHECK(rc_tuple_get(t, 2) == RC_EMPTY);
    CHECK_EQ_INT(rc_heap_error(h), RC_ERANGE);
    CHECK(strstr(rc_heap_error_message(h), "rc_tuple_get: index 2 out of range (len 2)") != NULL);
    rc_decref(t);
    rc_heap_free(h);
}

TEST(items_exposes_the_inline_array)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_val items[] = {rc_int(7), rc_int(8)};
    rc_tuple *t = rc_tuple_new(h, 2, items);
    size_t n = 0;
    const rc_val *it = rc_tuple_items(t, &n);
    CHECK_EQ_INT(n, 2);
    CHECK(it[0] == rc_int(7) && it[1] == rc_int(8));
    rc_decref(t);
    rc_heap_free(h);
}

TEST(set_new_fills_a_fresh_tuple)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_tuple *t = rc_tuple_new(h, 3, NULL);
    for (size_t i = 0; i < 3; i++) CHECK_EQ_INT(rc_tuple_set(t, i, rc_int((long)i * 10)), 0);
    for (size_t i = 0; i < 3; i++) CHECK(rc_tuple_get(t, i) == rc_int((long)i * 10));
    rc_decref(t);
    rc_heap_free(h);
}

TEST(set_new_takes_a_reference_and_drops_the_old_item)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_str *a = rc_str_from_cstr(h, "a"), *b = rc_str_from_cstr(h, "b");
    rc_val items[] = {rc_obj(a)};
    rc_tuple *t = rc_tuple_new(h, 1, items);
    CHECK_EQ_INT(rc_refcount(a), 2);
    CHECK_EQ_INT(rc_tuple_set(t, 0, rc_obj(b)), 0);
    CHECK_EQ_INT(rc_refcount(a), 1);
    CHECK_EQ_INT(rc_refcount(b), 2);
    rc_decref(t);
    CHECK_EQ_INT(rc_refcount(b), 1);
    rc_decref(a);
    rc_decref(b);
    rc_heap_free(h);
}

TEST(set_new_out_of_range_fails_with_erange)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_tuple *t = rc_tuple_new(h, 1, NULL);
    rc_str *s = rc_str_from_cstr(h, "s");
    CHECK_EQ_INT(rc_tuple_set(t, 1, rc_obj(s)), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_ERANGE);
    CHECK_EQ_INT(rc_refcount(s), 1);
    rc_decref(s);
    rc_decref(t);
    rc_heap_free(h);
}

TEST(empty_item_is_rejected_with_einval_and_no_references_taken)
{
    rc_heap *h = rc_heap_new(NULL);
    size_t base = live_objects(h);
    rc_str *s = rc_str_from_cstr(h, "s");
    rc_val items[] = {rc_obj(s), RC_EMPTY};
    CHECK(rc_tuple_new(h, 2, items) == NULL);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    CHECK_EQ_INT(rc_refcount(s), 1);
    CHECK_EQ_INT(live_objects(h), base + 1);
    rc_tuple *t = rc_tuple_new(h, 1, NULL);
    CHECK_EQ_INT(rc_tuple_set(t, 0, RC_EMPTY), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    CHECK(rc_tuple_get(t, 0) == RC_NONE);
    rc_decref(t);
    rc_decref(s);
    rc_heap_free(h);
}

TEST(absurd_length_fails_with_einval)
{
    rc_heap *h = rc_heap_new(NULL);
    CHECK(rc_tuple_new(h, SIZE_MAX / 4, NULL) == NULL);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    rc_heap_free(h);
}

TEST(out_of_memory_returns_null_with_enomem_and_takes_no_references)
{
    rc_heap *h = fa_heap_new();
    size_t base = live_objects(h);
    rc_str *s = rc_str_from_cstr(h, "s");
    enum { N = 100000 };           /* 800 KB: a large block, so a fresh mapping */
    rc_val *items = malloc(N * sizeof *items);
    for (size_t i = 0; i < N; i++) items[i] = rc_obj(s);
    fa_map_fails = 1;
    rc_tuple *t = rc_tuple_new(h, N, items);
    fa_map_fails = 0;
    CHECK(t == NULL);
    CHECK_EQ_INT(rc_heap_error(h), RC_ENOMEM);
    CHECK_EQ_INT(rc_refcount(s), 1);
    CHECK_EQ_INT(live_objects(h), base + 1);
    t = rc_tuple_new(h, N, items);
    REQUIRE(t);
    CHECK_EQ_INT(rc_refcount(s), 1 + N);
    rc_decref(t);
    CHECK_EQ_INT(rc_refcount(s), 1);
    free(items);
    rc_decref(s);
    rc_heap_free(h);
}

TEST(tuple_death_releases_every_item)
{
    rc_heap *h = rc_heap_new(NULL);
    size_t base = live_objects(h);
    rc_tuple *t = rc_tuple_new(h, 50, NULL);
    for (size_t i = 0; i < 50; i++) {
        rc_list *l = rc_list_new(h, 0);
        rc_tuple_set(t, i, rc_obj(l));
        rc_decref(l);
    }
    CHECK_EQ_INT(live_objects(h), base + 51);
    rc_decref(t);
    CHECK_EQ_INT(live_objects(h), base);
    rc_heap_free(h);
}

/* ---- cycles ---- */

TEST(a_tuple_holding_itself_is_freed_by_a_full_collection)
{
    rc_heap *h = rc_heap_new(NULL);
    size_t base = live_objects(h);
    rc_tuple *t = rc_tuple_new(h, 2, NULL);
    rc_tuple_set(t, 0, rc_obj(t));
    rc_decref(t);
    CHECK_EQ_INT(live_objects(h), base + 1);
    CHECK(rc_gc_collect(h, 2) >= 1);
    CHECK_EQ_INT(live_objects(h), base);
    rc_heap_free(h);
}

TEST(a_tuple_and_a_list_holding_each_other_are_freed_by_a_full_collection)
{
    rc_heap *h = rc_heap_new(NULL);
    size_t base = live_objects(h);
    rc_str *s = rc_str_from_cstr(h, "held");
    rc_tuple *t = rc_tuple_new(h, 2, NULL);
    rc_list *l = rc_list_new(h, 0);
    rc_list_append(l, rc_obj(t));
    rc_tuple_set(t, 0, rc_obj(l));
    rc_tuple_set(t, 1, rc_obj(s));
    rc_decref(t);
    rc_decref(l);
    CHECK(rc_gc_collect(h, 2) >= 2);
    CHECK_EQ_INT(rc_refcount(s), 1);
    CHECK_EQ_INT(live_objects(h), base + 1);
    rc_decref(s);
    rc_heap_free(h);
}

TEST(a_reachable_tuple_cycle_survives_collection)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_tuple *t = rc_tuple_new(h, 1, NULL);
    rc_tuple_set(t, 0, rc_obj(t));
    CHECK_EQ_INT(rc_gc_collect(h, 2), 0);
    CHECK(rc_tuple_get(t, 0) == rc_obj(t));
    rc_tuple_set(t, 0, RC_NONE);        /* break it by hand */
    CHECK_EQ_INT(rc_refcount(t), 1);
    rc_decref(t);
    rc_heap_free(h);
}

/* ---- tracking: a tuple of atoms can be on no cycle ---- */

TEST(a_tuple_of_atoms_is_born_untracked)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_str *s = rc_str_from_cstr(h, "atom");
    rc_val big = rc_int_new(h, INT64_MAX);   /* a boxed int */
    rc_val items[] = {rc_int(1), rc_float(2.5), RC_NONE, rc_obj(s), big};
    rc_tuple *t = rc_tuple_new(h, 5, items);
    CHECK(!rc_gc_is_tracked(t));
    size_t count[3];
    rc_gc_get_count(h, count);
    CHECK_EQ_INT(count[0], 0);                /* not on the young count either */
    rc_tuple *empty = rc_tuple_new(h, 0, NULL), *nones = rc_tuple_new(h, 2, NULL);
    CHECK(rc_gc_is_tracked(empty) && rc_gc_is_tracked(nones));   /* to be filled */
    rc_list *l = rc_list_new(h, 0);
    rc_val mixed[] = {rc_obj(s), rc_obj(l)};
    rc_tuple *m = rc_tuple_new(h, 2, mixed);
    CHECK(rc_gc_is_tracked(m));
    rc_decref(m);
    rc_decref(l);
    rc_decref(empty);
    rc_decref(nones);
    rc_decref(t);                             /* dies by refcount, with its items */
    CHECK_EQ_INT(rc_refcount(s), 1);
    rc_decref(s);
    rc_val_decref(big);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(many_tuples_of_atoms_start_no_collection)
{
    rc_heap *h = unstressed_heap();   /* the collection policy: stress mode changes it */
    rc_list *keep = rc_list_new(h, 0);
    rc_gc_stats before[3], after[3];
    rc_gc_get_stats(h, before);
    for (int i = 0; i < 100000; i++) {
        rc_str *s = rc_str_from_cstr(h, "row");
        rc_val items[] = {rc_obj(s), rc_int(i)};
        rc_tuple *t = rc_tuple_new(h, 2, items);
        rc_decref(s);
        rc_list_append(keep, rc_obj(t));   /* all kept: they would fill generation 0 */
        rc_decref(t);
    }
    rc_gc_get_stats(h, after);
    CHECK_EQ_INT(after[0].collections, before[0].collections);
    rc_decref(keep);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(setting_a_container_into_a_tuple_of_atoms_tracks_it_and_its_cycle_is_collected)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_val items[] = {rc_int(1), rc_int(2)};
    rc_tuple *t = rc_tuple_new(h, 2, items);
    REQUIRE(!rc_gc_is_tracked(t));
    CHECK_EQ_INT(rc_tuple_set(t, 0, rc_int(3)), 0);   /* an atom: still untracked */
    CHECK(!rc_gc_is_tracked(t));
    rc_list *l = rc_list_new(h, 0);
    rc_list_append(l, rc_obj(t));
    CHECK_EQ_INT(rc_tuple_set(t, 1, rc_obj(l)), 0);
    CHECK(rc_gc_is_tracked(t));
    size_t count[3];
    rc_gc_get_count(h, count);
    CHECK_EQ_INT(count[0], 2);                /* the list and the tuple */
    rc_decref(l);
    rc_decref(t);
    CHECK_EQ_INT(live_objects(h), 2);
    CHECK(rc_gc_collect(h, 2) >= 2);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(a_tuple_of_atoms_is_retracked_even_after_a_young_collection)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_val items[] = {rc_int(1)};
    rc_tuple *t = rc_tuple_new(h, 1, items);
    rc_gc_collect(h, 0);
    rc_gc_collect(h, 2);                      /* the young pages moved on */
    rc_tuple *self = t;
    CHECK_EQ_INT(rc_tuple_set(t, 0, rc_obj(self)), 0);   /* a cycle through itself */
    CHECK(rc_gc_is_tracked(t));
    rc_decref(t);
    CHECK(rc_gc_collect(h, 0) >= 1);          /* found by a young collection */
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* Big enough for a large page of its own: each one lists a page of its
 * own in the young page list. */
static const rc_type big_type = {.name = "big", .size = 20000, .nslots = 1};

TEST(a_set_that_cannot_track_the_tuple_fails_with_enomem_and_changes_nothing)
{
    rc_heap *h = fa_heap_new();
    rc_gc_disable(h);
    rc_val items[] = {rc_int(1)};
    rc_tuple *t = rc_tuple_new(h, 1, items);
    REQUIRE(t);
    REQUIRE(!rc_gc_is_tracked(t));
    rc_list *l = rc_list_new(h, 0);   /* can hold references: tracks the tuple */
    REQUIRE(l);
    rc_gc_collect(h, 0);   /* the young page list is empty: t's page is on none */
    /* Fill the young page list to its capacity, so that listing one more
     * page (the tuple's) must grow it. */
    enum { MAX = 4096 };
    static void *bigs[MAX];
    size_t nb = 0;
    while (h->young[0].len < h->young[0].cap) {
        REQUIRE(nb < MAX);
        REQUIRE((bigs[nb++] = rc_new(h, &big_type)));
    }
    fa_arm(0);   /* the next allocation fails: the list's growth */
    CHECK_EQ_INT(rc_tuple_set(t, 0, rc_obj(l)), -1);
    fa_disarm();
    CHECK_EQ_INT(rc_heap_error(h), RC_ENOMEM);
    CHECK(rc_tuple_get(t, 0) == rc_int(1));   /* the item is as it was */
    CHECK(!rc_gc_is_tracked(t));
    CHECK_EQ_INT(rc_refcount(l), 1);           /* no reference taken */
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    rc_heap_clear_error(h);
    CHECK_EQ_INT(rc_tuple_set(t, 0, rc_obj(l)), 0);   /* with memory, it works */
    CHECK(rc_gc_is_tracked(t));
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    while (nb) rc_decref(bigs[--nb]);
    rc_decref(t);
    rc_decref(l);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* A finalizer that keeps its object alive in an untracked tuple: the
 * tuple is tracked again while the collection deletes its garbage. */
static rc_tuple *keeper;
static void keep_in_keeper(void *self)
{
    CHECK_EQ_INT(rc_tuple_set(keeper, 0, rc_obj(self)), 0);
}
static const rc_type kept_type = {.name = "kept", .size = 16, .nslots = 1,
                                  .finalize = keep_in_keeper};

TEST(a_finalizer_setting_a_tuple_of_atoms_tracks_it_during_the_collection)
{
    rc_heap *h = unstressed_heap();
    rc_gc_disable(h);
    rc_val items[] = {rc_int(0)};
    keeper = rc_tuple_new(h, 1, items);
    REQUIRE(keeper);
    REQUIRE(!rc_gc_is_tracked(keeper));
    rc_gc_collect(h, 2);   /* the tuple's page is on no young list */
    void **a = rc_new(h, &kept_type);
    REQUIRE(a);
    a[0] = a;   /* takes our reference: a cycle of one */
    for (int gen = 0; gen <= 2; gen += 2) {
        /* Young, then old: the finalizer revives it the first time only. */
        size_t found = rc_gc_collect(h, gen);
        if (gen == 0) {
            CHECK_EQ_INT(found, 0);   /* resurrected: neither collected nor uncollectable */
            CHECK(rc_tuple_get(keeper, 0) == rc_obj(a));
            CHECK(rc_gc_is_tracked(keeper));
            CHECK_EQ_INT(rc_refcount(a), 2);   /* its own slot and the tuple */
            CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
            REQUIRE(rc_tuple_set(keeper, 0, rc_int(0)) == 0);   /* let go of it */
        } else {
            CHECK_EQ_INT(found, 1);   /* finalized already: freed */
        }
    }
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    rc_decref(keeper);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(a_non_tuple_argument_fails_with_einval)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_list *l = rc_list_new(h, 0);
    rc_tuple *not_a_tuple = (rc_tuple *)(void *)l;
    CHECK_EQ_INT(rc_tuple_set(not_a_tuple, 0, rc_int(1)), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    CHECK_EQ_INT(rc_list_len(l), 0);
    rc_decref(l);
    rc_heap_free(h);
}

RC_TEST_MAIN
