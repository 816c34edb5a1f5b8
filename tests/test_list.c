/*
 * test_list.c -- the built-in list: every operation, its errors, the
 * reference counts of what it holds, cycles, memory and out-of-memory.
 */
#include "recycle.h"
#include "recycle/builtins.h"

#include "failalloc.h"
#include "harness.h"
#include "testutil.h"

#include <unistd.h>

/* A list of the integers 0..n-1. */
static rc_list *int_list(rc_heap *h, long n)
{
    rc_list *l = rc_list_new(h, 0);
    for (long i = 0; l && i < n; i++)
        if (rc_list_append(l, rc_int(i)) != 0) return NULL;
    return l;
}

static int holds_ints(const rc_list *l, const long *want, size_t n)
{
    if (rc_list_len(l) != n) return 0;
    for (size_t i = 0; i < n; i++)
        if (rc_list_get(l, i) != rc_int(want[i])) return 0;
    return 1;
}

/* ---- creation and reading ---- */

TEST(new_list_is_empty_and_tracked)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_list *l = rc_list_new(h, 0);
    REQUIRE(l);
    CHECK_EQ_INT(rc_list_len(l), 0);
    CHECK(rc_typeof(l) == &rc_list_type);
    CHECK(strcmp(rc_list_type.name, "list") == 0);
    CHECK(rc_is_list(rc_obj(l)));
    CHECK_EQ_INT(rc_refcount(l), 1);
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.tracked, 1);
    rc_decref(l);
    rc_heap_free(h);
}

TEST(capacity_hint_allocates_the_buffer_up_front)
{
    rc_heap *h = rc_heap_new(NULL);
    size_t before = buffer_bytes(h);
    rc_list *l = rc_list_new(h, 100);
    REQUIRE(l);
    CHECK_EQ_INT(buffer_bytes(h) - before, 100 * sizeof(rc_val));
    for (int i = 0; i < 100; i++) CHECK_EQ_INT(rc_list_append(l, rc_int(i)), 0);
    CHECK_EQ_INT(buffer_bytes(h) - before, 100 * sizeof(rc_val));
    rc_decref(l);
    CHECK_EQ_INT(buffer_bytes(h), before);
    rc_heap_free(h);
}

TEST(append_then_get_returns_items_in_order)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_list *l = int_list(h, 1000);
    REQUIRE(l);
    CHECK_EQ_INT(rc_list_len(l), 1000);
    for (size_t i = 0; i < 1000; i++) CHECK_EQ_INT(rc_as_int(rc_list_get(l, i)), i);
    rc_decref(l);
    rc_heap_free(h);
}

TEST(every_kind_of_value_round_trips)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_list *l = rc_list_new(h, 0);
    rc_str *s = rc_str_from_cstr(h, "x");
    rc_val vals[] = {rc_int(RC_INT_MIN), rc_int(RC_INT_MAX), rc_float(-2.5), rc_float(0.0 / 0.0),
                     RC_NONE, RC_TRUE, RC_FALSE, rc_obj(s)};
    size_t n = sizeof vals / sizeof vals[0];
    for (size_t i = 0; i < n; i++) CHECK_EQ_INT(rc_list_append(l, vals[i]), 0);
    for (size_t i = 0; i < n; i++) CHECK(rc_list_get(l, i) == vals[i]);
    CHECK_EQ_INT(rc_as_int(rc_list_get(l, 0)), RC_INT_MIN);
    CHECK(rc_as_float(rc_list_get(l, 2)) == -2.5);
    CHECK(rc_as_obj(rc_list_get(l, 7)) == s);
    rc_decref(s);
    rc_decref(l);
    rc_heap_free(h);
}

TEST(get_out_of_range_returns_empty_with_erange)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_list *l = int_list(h, 3);
    rc_heap_clear_error(h);
    CHECK(rc_list_get(l, 3) == RC_EMPTY);
    CHECK_EQ_INT(rc_heap_error(h), RC_ERANGE);
    CHECK(strstr(rc_heap_error_message(h), "rc_list_get") != NULL);
    CHECK(strstr(rc_heap_error_message(h), "index 3 out of range (len 3)") != NULL);
    rc_heap_clear_error(h);
    CHECK(rc_list_get(l, (size_t)-1) == RC_EMPTY);
    CHECK_EQ_INT(rc_heap_error(h), RC_ERANGE);
    rc_decref(l);
    rc_heap_free(h);
}

TEST(items_exposes_the_array_and_length)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_list *l = int_list(h, 10);
    size_t n = 99;
    const rc_val *it = rc_list_items(l, &n);
    CHECK_EQ_INT(n, 10);
    REQUIRE(it);
    for (size_t i = 0; i < n; i++) CHECK(it[i] == rc_int((long)i));
    CHECK(rc_list_items(l, NULL) == it);
    rc_decref(l);
    rc_heap_free(h);
}

TEST(items_of_a_new_empty_list_is_null_with_length_zero)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_list *l = rc_list_new(h, 0);
    size_t n = 99;
    CHECK(rc_list_items(l, &n) == NULL);
    CHECK_EQ_INT(n, 0);
    rc_decref(l);
    rc_heap_free(h);
}

/* ---- set ---- */

TEST(set_replaces_the_item)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_list *l = int_list(h, 3);
    CHECK_EQ_INT(rc_list_set(l, 1, rc_float(1.5)), 0);
    CHECK(rc_list_get(l, 1) == rc_float(1.5));
    CHECK_EQ_INT(rc_list_len(l), 3);
    rc_decref(l);
    rc_heap_free(h);
}

TEST(set_out_of_range_fails_with_erange_and_takes_no_reference)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_list *l = int_list(h, 2);
    rc_str *s = rc_str_from_cstr(h, "v");
    CHECK_EQ_INT(rc_list_set(l, 2, rc_obj(s)), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_ERANGE);
    CHECK_EQ_INT(rc_refcount(s), 1);
    CHECK_EQ_INT(rc_list_len(l), 2);
    rc_decref(s);
    rc_decref(l);
    rc_heap_free(h);
}

TEST(set_takes_a_reference_to_the_new_item_and_drops_the_old)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_list *l = rc_list_new(h, 0);
    rc_str *a = rc_str_from_cstr(h, "a"), *b = rc_str_from_cstr(h, "b");
    rc_list_append(l, rc_obj(a));
    CHECK_EQ_INT(rc_refcount(a), 2);
    CHECK_EQ_INT(rc_list_set(l, 0, rc_obj(b)), 0);
    CHECK_EQ_INT(rc_refcount(a), 1);
    CHECK_EQ_INT(rc_refcount(b), 2);
    rc_decref(a);
    rc_decref(b);
    rc_decref(l);
    rc_heap_free(h);
}

TEST(set_of_the_item_to_itself_keeps_it_alive)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_list *l = rc_list_new(h, 0);
    rc_str *a = rc_str_from_cstr(h, "only the list holds me");
    rc_list_append(l, rc_obj(a));
    rc_decref(a);                     /* the list holds the only reference */
    rc_val v = rc_list_get(l, 0);
    CHECK_EQ_INT(rc_list_set(l, 0, v), 0);
    REQUIRE(rc_is_str(rc_list_get(l, 0)));
    CHECK_EQ_INT(rc_refcount(rc_as_obj(rc_list_get(l, 0))), 1);
    CHECK(strcmp(rc_str_data(rc_as_obj(rc_list_get(l, 0))), "only the list holds me") == 0);
    rc_decref(l);
    rc_heap_free(h);
}

/* ---- append and insert ---- */

TEST(append_of_empty_fails_with_einval)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_list *l = rc_list_new(h, 0);
    CHECK_EQ_INT(rc_list_append(l, RC_EMPTY), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    CHECK_EQ_INT(rc_list_len(l), 0);
    CHECK_EQ_INT(rc_list_insert(l, 0, RC_EMPTY), -1);
    CHECK_EQ_INT(rc_list_set(l, 0, RC_EMPTY), -1);
    CHECK_EQ_INT(rc_list_len(l), 0);
    rc_decref(l);
    rc_heap_free(h);
}

TEST(stored_str_refcount_goes_1_2_1)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_str *s = rc_str_from_cstr(h, "hello");
    rc_list *l = rc_list_new(h, 0);
    CHECK_EQ_INT(rc_refcount(s), 1);
    rc_list_append(l, rc_obj(s));
    CHECK_EQ_INT(rc_refcount(s), 2);
    rc_decref(l);
    CHECK_EQ_INT(rc_refcount(s), 1);
    rc_decref(s);
    rc_heap_free(h);
}

TEST(insert_at_front_middle_and_end)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_list *l = int_list(h, 3);               /* 0 1 2 */
    CHECK_EQ_INT(rc_list_insert(l, 0, rc_int(10)), 0);   /* 10 0 1 2 */
    CHECK_EQ_INT(rc_list_insert(l, 2, rc_int(11)), 0);   /* 10 0 11 1 2 */
    CHECK_EQ_INT(rc_list_insert(l, 5, rc_int(12)), 0);   /* 10 0 11 1 2 12 */
    long want[] = {10, 0, 11, 1, 2, 12};
    CHECK(holds_ints(l, want, 6));
    rc_decref(l);
    rc_heap_free(h);
}

TEST(insert_with_negative_index_counts_from_the_end)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_list *l = int_list(h, 3);               /* 0 1 2 */
    CHECK_EQ_INT(rc_list_insert(l, -1, rc_int(9)), 0);   /* 0 1 9 2 */
    CHECK_EQ_INT(rc_list_insert(l, -4, rc_int(8)), 0);   /* 8 0 1 9 2 */
    long want[] = {8, 0, 1, 9, 2};
    CHECK(holds_ints(l, want, 5));
    rc_decref(l);
    rc_heap_free(h);
}

TEST(insert_clamps_an_out_of_range_index_like_python)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_list *l = int_list(h, 2);               /* 0 1 */
    CHECK_EQ_INT(rc_list_insert(l, 100, rc_int(7)), 0);  /* 0 1 7 */
    CHECK_EQ_INT(rc_list_insert(l, -100, rc_int(6)), 0); /* 6 0 1 7 */
    long want[] = {6, 0, 1, 7};
    CHECK(holds_ints(l, want, 4));
    rc_decref(l);
    rc_heap_free(h);
}

TEST(insert_into_an_empty_list)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_list *l = rc_list_new(h, 0);
    CHECK_EQ_INT(rc_list_insert(l, -5, rc_int(1)), 0);
    long want[] = {1};
    CHECK(holds_ints(l, want, 1));
    rc_decref(l);
    rc_heap_free(h);
}

TEST(insert_takes_a_reference)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_list *l = int_list(h, 5);
    rc_str *s = rc_str_from_cstr(h, "s");
    rc_list_insert(l, 2, rc_obj(s));
    CHECK_EQ_INT(rc_refcount(s), 2);
    rc_decref(l);
    CHECK_EQ_INT(rc_refcount(s), 1);
    rc_decref(s);
    rc_heap_free(h);
}

/* ---- pop ---- */

TEST(pop_last_hands_back_a_new_reference)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_list *l = rc_list_new(h, 0);
    rc_str *s = rc_str_from_cstr(h, "s");
    rc_list_append(l, rc_int(1));
    rc_list_append(l, rc_obj(s));
    CHECK_EQ_INT(rc_refcount(s), 2);
    rc_val out = RC_EMPTY;
    CHECK_EQ_INT(rc_list_pop(l, -1, &out), 0);
    CHECK(out == rc_obj(s));
    CHECK_EQ_INT(rc_refcount(s), 2);          /* the list's reference is now ours */
    CHECK_EQ_INT(rc_list_len(l), 1);
    rc_val_decref(out);
    CHECK_EQ_INT(rc_refcount(s), 1);
    rc_decref(s);
    rc_decref(l);
    rc_heap_free(h);
}

TEST(pop_first_shifts_the_rest_down)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_list *l = int_list(h, 4);
    rc_val out;
    CHECK_EQ_INT(rc_list_pop(l, 0, &out), 0);
    CHECK(out == rc_int(0));
    long want[] = {1, 2, 3};
    CHECK(holds_ints(l, want, 3));
    rc_decref(l);
    rc_heap_free(h);
}

TEST(pop_with_negative_index_counts_from_the_end)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_list *l = int_list(h, 4);
    rc_val out;
    CHECK_EQ_INT(rc_list_pop(l, -3, &out), 0);
    CHECK(out == rc_int(1));
    long want[] = {0, 2, 3};
    CHECK(holds_ints(l, want, 3));
    rc_decref(l);
    rc_heap_free(h);
}

TEST(pop_out_of_range_fails_with_erange_and_changes_nothing)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_list *l = int_list(h, 2);
    rc_val out = RC_TRUE;
    CHECK_EQ_INT(rc_list_pop(l, 2, &out), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_ERANGE);
    CHECK_EQ_INT(rc_list_pop(l, -3, &out), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_ERANGE);
    CHECK(out == RC_TRUE);
    long want[] = {0, 1};
    CHECK(holds_ints(l, want, 2));
    rc_decref(l);
    rc_heap_free(h);
}

TEST(pop_from_an_empty_list_fails_with_erange)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_list *l = rc_list_new(h, 0);
    rc_val out;
    CHECK_EQ_INT(rc_list_pop(l, -1, &out), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_ERANGE);
    rc_decref(l);
    rc_heap_free(h);
}

TEST(pop_without_out_releases_the_item)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_list *l = rc_list_new(h, 0);
    rc_str *s = rc_str_from_cstr(h, "s");
    rc_list_append(l, rc_obj(s));
    CHECK_EQ_INT(rc_list_pop(l, 0, NULL), 0);
    CHECK_EQ_INT(rc_refcount(s), 1);
    CHECK_EQ_INT(rc_list_len(l), 0);
    rc_decref(s);
    rc_decref(l);
    rc_heap_free(h);
}

TEST(pop_shrinks_a_mostly_empty_buffer)
{
    rc_heap *h = rc_heap_new(NULL);
    size_t before = buffer_bytes(h);
    rc_list *l = int_list(h, 1024);
    size_t full = buffer_bytes(h) - before;
    while (rc_list_len(l) > 4) rc_list_pop(l, -1, NULL);
    CHECK(buffer_bytes(h) - before < full / 8);
    long want[] = {0, 1, 2, 3};
    CHECK(holds_ints(l, want, 4));
    rc_decref(l);
    rc_heap_free(h);
}

/* ---- clear ---- */

TEST(clear_empties_the_list_and_releases_items)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_list *l = rc_list_new(h, 0);
    rc_str *s = rc_str_from_cstr(h, "s");
    for (int i = 0; i < 5; i++) rc_list_append(l, rc_obj(s));
    CHECK_EQ_INT(rc_refcount(s), 6);
    rc_list_clear(l);
    CHECK_EQ_INT(rc_list_len(l), 0);
    CHECK_EQ_INT(rc_refcount(s), 1);
    rc_decref(s);
    rc_decref(l);
    rc_heap_free(h);
}

TEST(clear_frees_the_item_buffer)
{
    rc_heap *h = rc_heap_new(NULL);
    size_t before = buffer_bytes(h);
    rc_list *l = int_list(h, 100);
    CHECK(buffer_bytes(h) > before);
    rc_list_clear(l);
    CHECK_EQ_INT(buffer_bytes(h), before);
    rc_list_clear(l);                        /* idempotent */
    CHECK_EQ_INT(buffer_bytes(h), before);
    rc_decref(l);
    rc_heap_free(h);
}

TEST(list_is_usable_after_clear)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_list *l = int_list(h, 10);
    rc_list_clear(l);
    CHECK_EQ_INT(rc_list_append(l, rc_int(42)), 0);
    long want[] = {42};
    CHECK(holds_ints(l, want, 1));
    rc_decref(l);
    rc_heap_free(h);
}

/* ---- death ---- */

TEST(list_death_releases_every_item)
{
    rc_heap *h = rc_heap_new(NULL);
    size_t base = live_objects(h);
    rc_list *l = rc_list_new(h, 0);
    for (int i = 0; i < 100; i++) {
        rc_str *s = rc_str_from_cstr(h, "item");
        rc_list_append(l, rc_obj(s));
        rc_decref(s);
    }
    CHECK_EQ_INT(live_objects(h), base + 101);
    rc_decref(l);
    CHECK_EQ_INT(live_objects(h), base);
    rc_heap_free(h);
}

TEST(list_death_frees_the_item_buffer)
{
    rc_heap *h = rc_heap_new(NULL);
    size_t before = buffer_bytes(h);
    rc_list *l = int_list(h, 5000);
    CHECK(buffer_bytes(h) >= before + 5000 * sizeof(rc_val));
    rc_decref(l);
    CHECK_EQ_INT(buffer_bytes(h), before);
    rc_heap_free(h);
}

TEST(a_million_nested_lists_die_without_deep_recursion)
{
    rc_heap *h = rc_heap_new(NULL);
    size_t base = live_objects(h);
    rc_list *head = rc_list_new(h, 0);
    for (int i = 0; i < 1000000; i++) {
        rc_list *outer = rc_list_new(h, 1);
        REQUIRE(outer);
        rc_list_append(outer, rc_obj(head));
        rc_decref(head);
        head = outer;
    }
    rc_decref(head);
    CHECK_EQ_INT(live_objects(h), base);
    CHECK_EQ_INT(buffer_bytes(h), 0);
    rc_heap_free(h);
}

TEST(heap_free_releases_live_lists_and_their_buffers)
{
    /* Under AddressSanitizer this also checks that no buffer leaks. */
    rc_heap *h = rc_heap_new(NULL);
    rc_list *a = int_list(h, 1000), *b = rc_list_new(h, 0);
    rc_list_append(a, rc_obj(b));
    rc_list_append(b, rc_obj(a));
    rc_list_append(b, rc_obj(b));
    (void)a;
    rc_heap_free(h);
}

/* ---- cycles ---- */

TEST(a_list_holding_itself_is_freed_by_a_full_collection)
{
    rc_heap *h = rc_heap_new(NULL);
    size_t base = live_objects(h);
    rc_list *l = rc_list_new(h, 0);
    rc_list_append(l, rc_obj(l));
    CHECK_EQ_INT(rc_refcount(l), 2);
    rc_decref(l);
    CHECK_EQ_INT(live_objects(h), base + 1);  /* refcounting alone cannot free it */
    CHECK(rc_gc_collect(h, 2) >= 1);
    CHECK_EQ_INT(live_objects(h), base);
    CHECK_EQ_INT(buffer_bytes(h), 0);
    rc_heap_free(h);
}

TEST(two_lists_holding_each_other_are_freed_by_a_full_collection)
{
    rc_heap *h = rc_heap_new(NULL);
    size_t base = live_objects(h);
    rc_list *a = int_list(h, 1000), *b = int_list(h, 1000);
    rc_list_append(a, rc_obj(b));
    rc_list_append(b, rc_obj(a));
    rc_decref(a);
    rc_decref(b);
    CHECK(rc_gc_collect(h, 2) >= 2);
    CHECK_EQ_INT(live_objects(h), base);
    CHECK_EQ_INT(buffer_bytes(h), 0);
    rc_heap_free(h);
}

TEST(a_garbage_cycle_releases_what_it_held)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_str *s = rc_str_from_cstr(h, "held by the cycle");
    rc_list *l = rc_list_new(h, 0);
    rc_list_append(l, rc_obj(l));
    rc_list_append(l, rc_obj(s));
    rc_decref(l);
    CHECK_EQ_INT(rc_refcount(s), 2);
    CHECK(rc_gc_collect(h, 2) >= 1);
    CHECK_EQ_INT(rc_refcount(s), 1);
    rc_decref(s);
    rc_heap_free(h);
}

TEST(a_reachable_self_referencing_list_survives_collection)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_list *l = rc_list_new(h, 0);
    rc_list_append(l, rc_obj(l));
    rc_list_append(l, rc_int(5));
    CHECK_EQ_INT(rc_gc_collect(h, 2), 0);
    CHECK_EQ_INT(rc_list_len(l), 2);
    CHECK(rc_list_get(l, 0) == rc_obj(l));
    CHECK(rc_list_get(l, 1) == rc_int(5));
    rc_list_clear(l);                         /* breaks the cycle by hand */
    rc_decref(l);
    rc_heap_free(h);
}

/* ---- memory ---- */

/* Whether malloc is glibc's own: AddressSanitizer and valgrind replace it
 * with allocators that copy on realloc, so resident figures mean nothing. */
static int native_malloc(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return 0;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return 0;
#endif
#endif
    const char *pre = getenv("LD_PRELOAD");
    return !(pre && strstr(pre, "vgpreload"));
}

/* Resident bytes of the process (/proc/self/statm), 0 when unknown. */
static size_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size, resident;
    if (!f) return 0;
    int ok = fscanf(f, "%lu %lu", &size, &resident) == 2;
    fclose(f);
    return ok ? resident * (size_t)sysconf(_SC_PAGESIZE) : 0;
}

TEST(ten_million_integers_cost_about_eight_bytes_each)
{
    long n = getenv("RC_TEST_QUICK") ? 1000000 : 10000000;
    rc_heap *h = rc_heap_new(NULL);
    size_t rss0 = rss_bytes(), buf0 = buffer_bytes(h);
    rc_list *l = rc_list_new(h, 0);
    for (long i = 0; i < n; i++)
        if (rc_list_append(l, rc_int(i)) != 0) break;
    REQUIRE(rc_list_len(l) == (size_t)n);
    size_t rss1 = rss_bytes();
    /* Capacity doubles: at most 2x the items is allocated ... */
    CHECK(buffer_bytes(h) - buf0 <= 2 * n * sizeof(rc_val));
    /* ... and only what was written is resident (glibc grows big blocks with
     * mremap); only meaningful on glibc's malloc. */
    if (native_malloc() && rss0 && rss1) {
        double per_item = (double)(rss1 - rss0) / (double)n;
        if (per_item > 9.0) fprintf(stderr, "  %.2f resident bytes per item\n", per_item);
        CHECK(per_item <= 9.0);
    }
    for (long i = 0; i < n; i += n / 100) CHECK(rc_list_get(l, (size_t)i) == rc_int(i));
    rc_decref(l);
    CHECK_EQ_INT(buffer_bytes(h), buf0);
    if (native_malloc() && rss0) {
        size_t rss2 = rss_bytes();
        CHECK(rss2 < rss0 + 2 * 1024 * 1024);   /* the buffer went back to the system */
    }
    rc_heap_free(h);
}

/* ---- out of memory ---- */

TEST(append_out_of_memory_fails_with_enomem_and_leaves_the_list_unchanged)
{
    rc_heap *h = fa_heap_new();
    REQUIRE(h);
    rc_list *l = int_list(h, 4);              /* capacity 4: the next append grows */
    rc_str *s = rc_str_from_cstr(h, "s");
    size_t buf = buffer_bytes(h);
    fa_arm(0);
    CHECK_EQ_INT(rc_list_append(l, rc_obj(s)), -1);
    fa_disarm();
    CHECK_EQ_INT(rc_heap_error(h), RC_ENOMEM);
    CHECK_EQ_INT(rc_refcount(s), 1);
    CHECK_EQ_INT(buffer_bytes(h), buf);
    long want[] = {0, 1, 2, 3};
    CHECK(holds_ints(l, want, 4));
    CHECK_EQ_INT(rc_list_append(l, rc_obj(s)), 0);   /* still usable */
    CHECK_EQ_INT(rc_list_len(l), 5);
    CHECK_EQ_INT(rc_refcount(s), 2);
    rc_decref(s);
    rc_decref(l);
    rc_heap_free(h);
}

TEST(insert_out_of_memory_fails_with_enomem_and_leaves_the_list_unchanged)
{
    rc_heap *h = fa_heap_new();
    rc_list *l = int_list(h, 4);
    fa_arm(0);
    CHECK_EQ_INT(rc_list_insert(l, 0, rc_int(9)), -1);
    fa_disarm();
    CHECK_EQ_INT(rc_heap_error(h), RC_ENOMEM);
    long want[] = {0, 1, 2, 3};
    CHECK(holds_ints(l, want, 4));
    CHECK_EQ_INT(rc_list_insert(l, 0, rc_int(9)), 0);
    long want2[] = {9, 0, 1, 2, 3};
    CHECK(holds_ints(l, want2, 5));
    rc_decref(l);
    rc_heap_free(h);
}

TEST(list_new_with_hint_out_of_memory_returns_null_with_enomem)
{
    rc_heap *h = fa_heap_new();
    size_t base = live_objects(h);
    fa_arm(0);
    rc_list *l = rc_list_new(h, 1000);
    fa_disarm();
    CHECK(l == NULL);
    CHECK_EQ_INT(rc_heap_error(h), RC_ENOMEM);
    CHECK_EQ_INT(live_objects(h), base);
    CHECK_EQ_INT(buffer_bytes(h), 0);
    rc_heap_free(h);
}

TEST(every_failed_growth_leaves_a_consistent_usable_list)
{
    /* Fail the 1st, 2nd, ... allocation in turn while appending 5000 items. */
    rc_heap *h = fa_heap_new();
    for (long n = 0; n < 20; n++) {
        rc_list *l = rc_list_new(h, 0);
        REQUIRE(l);
        long ok = 0;
        fa_arm(n);
        while (ok < 5000 && rc_list_append(l, rc_int(ok)) == 0) ok++;
        fa_disarm();
        /* 5000 appends grow the buffer 12 times (4, 8, ... 8192). */
        if (n < 12) CHECK(ok < 5000);
        if (ok < 5000) CHECK_EQ_INT(rc_heap_error(h), RC_ENOMEM);
        CHECK_EQ_INT(rc_list_len(l), ok);
        for (long i = 0; i < ok; i++)
            if (rc_list_get(l, (size_t)i) != rc_int(i)) {
                CHECK(!"item lost after a failed append");
                break;
            }
        while (ok < 5000) CHECK_EQ_INT(rc_list_append(l, rc_int(ok++)), 0);
        CHECK_EQ_INT(rc_list_len(l), 5000);
        rc_decref(l);
        CHECK_EQ_INT(buffer_bytes(h), 0);
    }
    rc_heap_free(h);
}

/* ---- misuse ---- */

TEST(passing_another_kind_of_object_fails_with_einval)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_dict *d = rc_dict_new(h);
    rc_list *not_a_list = (rc_list *)(void *)d;
    rc_heap_clear_error(h);
    CHECK_EQ_INT(rc_list_append(not_a_list, rc_int(1)), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    CHECK(strstr(rc_heap_error_message(h), "dict") != NULL);
    CHECK_EQ_INT(rc_list_len(not_a_list), 0);
    CHECK(rc_list_get(not_a_list, 0) == RC_EMPTY);
    CHECK_EQ_INT(rc_dict_len(d), 0);
    rc_decref(d);
    rc_heap_free(h);
}

RC_TEST_MAIN
