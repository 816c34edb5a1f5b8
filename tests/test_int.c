/* test_int.c -- every int64_t is a value: immediates within
 * [RC_INT_MIN, RC_INT_MAX], boxed int objects past them (rc_int_new), one
 * integer kind to every reader (rc_is_int, rc_as_int, rc_val_eq,
 * rc_val_hash, the containers), and rc_int never wraps. */
#include "harness.h"
#include "recycle.h"
#include "recycle/builtins.h"
#include "recycle/leak.h"
#include "failalloc.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>

static const int64_t edges[] = {
    0, 1, -1, RC_INT_MAX, RC_INT_MIN, RC_INT_MAX + 1, RC_INT_MIN - 1, RC_INT_MAX + 2,
    RC_INT_MIN - 2, (int64_t)1 << 60, -((int64_t)1 << 60), INT64_MAX, INT64_MIN,
    INT64_MAX - 1, INT64_MIN + 1,
};
#define NEDGES (sizeof edges / sizeof edges[0])

TEST(every_int64_round_trips_through_rc_int_new)
{
    rc_heap *h = rc_heap_new(NULL);
    for (size_t i = 0; i < NEDGES; i++) {
        rc_val v = rc_int_new(h, edges[i]);
        REQUIRE(v != RC_EMPTY);
        CHECK(rc_is_int(v));
        CHECK(!rc_is_float(v) && !rc_is_none(v) && !rc_is_bool(v) && !rc_is_str(v));
        CHECK_EQ_INT(rc_as_int(v), edges[i]);
        /* Canonical form: a value that fits is always the immediate. */
        CHECK(rc_is_obj(v) == !rc_int_fits(edges[i]));
        if (rc_int_fits(edges[i])) CHECK(v == rc_int(edges[i]));
        rc_val_decref(v);
    }
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(a_boxed_int_is_an_untracked_object_of_type_int)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_val v = rc_int_new(h, INT64_MAX);
    REQUIRE(rc_is_obj(v));
    void *o = rc_as_obj(v);
    CHECK(rc_typeof(o) == &rc_int_type);
    CHECK(rc_refcount(o) == 1);
    CHECK(!rc_gc_is_tracked(o));
    CHECK_EQ_INT(live_objects(h), 1);
    rc_val_decref(v);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(rc_as_int_of_a_value_that_is_no_integer_is_zero)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_str *s = rc_str_from_cstr(h, "12");
    CHECK_EQ_INT(rc_as_int(rc_obj(s)), 0);
    CHECK(!rc_is_int(rc_obj(s)));
    CHECK_EQ_INT(rc_as_int(rc_float(3.0)), 0);
    CHECK_EQ_INT(rc_as_int(RC_NONE), 0);
    rc_decref(s);
    rc_heap_free(h);
}

TEST(boxed_ints_are_equal_and_hash_equal_by_value)
{
    rc_heap *h = rc_heap_new(NULL);
    for (size_t i = 0; i < NEDGES; i++) {
        rc_val a = rc_int_new(h, edges[i]), b = rc_int_new(h, edges[i]);
        CHECK(rc_val_eq(a, b));
        CHECK(rc_val_hash(a) == rc_val_hash(b));
        rc_val c = rc_int_new(h, edges[i] ^ 1);
        CHECK(!rc_val_eq(a, c));
        rc_val_decref(a);
        rc_val_decref(b);
        rc_val_decref(c);
    }
    rc_val big = rc_int_new(h, (int64_t)1 << 60);
    /* As with immediates, an integer never equals a float or another kind. */
    CHECK(!rc_val_eq(big, rc_float(1152921504606846976.0)));
    CHECK(!rc_val_eq(rc_float(1152921504606846976.0), big));
    rc_str *s = rc_str_new(h, "\0\0\0\0\0\0\0\x10", 8);   /* the payload's bytes */
    CHECK(!rc_val_eq(big, rc_obj(s)) && !rc_val_eq(rc_obj(s), big));
    CHECK(!rc_val_eq(big, rc_int(0)) && !rc_val_eq(big, RC_NONE));
    rc_decref(s);
    rc_val_decref(big);
    rc_heap_free(h);
}

TEST(two_boxed_ints_of_one_value_are_one_dict_key)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_dict *d = rc_dict_new(h);
    for (size_t i = 0; i < NEDGES; i++) {
        rc_val k = rc_int_new(h, edges[i]);
        CHECK_EQ_INT(rc_dict_set(d, k, rc_int((int64_t)i)), 0);
        rc_val_decref(k);
    }
    CHECK_EQ_INT(rc_dict_len(d), NEDGES);
    for (size_t i = 0; i < NEDGES; i++) {
        rc_val k = rc_int_new(h, edges[i]);
        CHECK(rc_dict_contains(d, k));
        CHECK_EQ_INT(rc_as_int(rc_dict_get(d, k)), i);
        CHECK_EQ_INT(rc_dict_set(d, k, rc_int_new(h, 7)), 0);   /* replace, no new key */
        rc_val_decref(k);
    }
    CHECK_EQ_INT(rc_dict_len(d), NEDGES);
    /* A boxed value of 2^60 with the immediate 2^60 - 1 beside it. */
    rc_val k = rc_int_new(h, (int64_t)1 << 60);
    CHECK_EQ_INT(rc_dict_del(d, k), 0);
    CHECK(!rc_dict_contains(d, k));
    CHECK_EQ_INT(rc_dict_del(d, k), -1);
    CHECK_EQ_INT(rc_dict_len(d), NEDGES - 1);
    rc_val_decref(k);
    rc_decref(d);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(containers_keep_boxed_ints_alive_and_release_them)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_val v = rc_int_new(h, INT64_MIN);
    REQUIRE(rc_is_obj(v));
    rc_list *l = rc_list_new(h, 0);
    CHECK_EQ_INT(rc_list_append(l, v), 0);
    rc_tuple *t = rc_tuple_new(h, 1, &v);
    rc_dict *d = rc_dict_new(h);
    CHECK_EQ_INT(rc_dict_set(d, v, v), 0);
    CHECK_EQ_INT(rc_refcount(rc_as_obj(v)), 5);
    rc_val_decref(v);   /* the containers hold it now */
    CHECK_EQ_INT(rc_as_int(rc_list_get(l, 0)), INT64_MIN);
    CHECK_EQ_INT(rc_as_int(rc_tuple_get(t, 0)), INT64_MIN);
    CHECK_EQ_INT(live_objects(h), 4);
    rc_decref(l);
    rc_decref(t);
    CHECK_EQ_INT(live_objects(h), 2);
    rc_decref(d);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(rc_int_new_needs_a_heap_only_to_box)
{
    CHECK(rc_int_new(NULL, INT64_MAX) == RC_EMPTY);
    CHECK(rc_int_new(NULL, 5) == rc_int(5));   /* an immediate needs no heap */
}

TEST(rc_int_new_reports_out_of_memory)
{
    rc_heap *h = fa_heap_new();
    size_t max = (size_t)1 << 22, n = 0;
    rc_val *vals = malloc(max * sizeof *vals);
    REQUIRE(vals);
    fa_map_fails = 1;   /* boxes come from the pages there are, then fail */
    while (n < max && (vals[n] = rc_int_new(h, INT64_MAX - (int64_t)n)) != RC_EMPTY) n++;
    fa_map_fails = 0;
    CHECK(n < max);
    CHECK_EQ_INT(rc_heap_error(h), RC_ENOMEM);
    CHECK_EQ_INT(live_objects(h), n);
    for (size_t i = 0; i < n; i++) {
        CHECK_EQ_INT(rc_as_int(vals[i]), INT64_MAX - (int64_t)i);
        rc_val_decref(vals[i]);
    }
    rc_val v = rc_int_new(h, INT64_MIN);   /* the heap is still fine */
    CHECK_EQ_INT(rc_as_int(v), INT64_MIN);
    rc_val_decref(v);
    free(vals);
    rc_heap_free(h);
}

static void int_out_of_range(void) { (void)rc_int(RC_INT_MAX + 1); }

TEST(rc_int_out_of_range_never_wraps)
{
#ifdef RC_DEBUG
    CHECK(dies_saying(int_out_of_range, "rc_int"));
    CHECK(dies_saying(int_out_of_range, "rc_int_new"));
#else
    int_out_of_range();
    volatile int64_t big = RC_INT_MAX + 1, small = RC_INT_MIN - 1, top = INT64_MAX;
    CHECK(rc_int(big) == RC_EMPTY);
    CHECK(rc_int(small) == RC_EMPTY);
    CHECK(rc_int(top) == RC_EMPTY);
    rc_heap *h = rc_heap_new(NULL);
    rc_list *l = rc_list_new(h, 0);
    CHECK_EQ_INT(rc_list_append(l, rc_int(big)), -1);
    CHECK(rc_heap_error(h) == RC_EINVAL);
    CHECK_EQ_INT(rc_list_len(l), 0);
    rc_decref(l);
    rc_heap_free(h);
#endif
}

/* What a FILE receives, NUL-terminated (malloc'd). */
static char *written(FILE *f)
{
    long n = ftell(f);
    char *buf = calloc(1, (size_t)n + 1);
    rewind(f);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) buf[0] = 0;
    fclose(f);
    return buf;
}

TEST(leak_tools_name_and_show_boxed_ints)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_list *l = rc_list_new(h, 0);
    rc_val v = rc_int_new(h, INT64_MAX);
    rc_list_append(l, v);
    rc_val_decref(v);
    CHECK_EQ_INT(rc_count(h, "int"), 1);
    /* DOT: the node of the boxed int shows its value. */
    FILE *f = tmpfile();
    REQUIRE(f);
    void *roots[] = {l};
    CHECK_EQ_INT(rc_show_refs(roots, 1, NULL, &(rc_graph_opts){.output = f, .quiet = 1}),
                 RC_GRAPH_OK);
    char *dot = written(f);
    CHECK(dot && strstr(dot, "9223372036854775807") != NULL);
    free(dot);
    /* Heap snapshot: a number node named by its value. */
    f = tmpfile();
    REQUIRE(f);
    CHECK_EQ_INT(rc_heapsnapshot_write(h, f), 0);
    char *snap = written(f);
    CHECK(snap && strstr(snap, "\"9223372036854775807\"") != NULL);
    free(snap);
    rc_decref(l);
    rc_heap_free(h);
}

RC_TEST_MAIN
