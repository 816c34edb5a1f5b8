/* test_val.c -- tagged values: every kind round-trips and is told apart. */
#include "harness.h"
#include "recycle.h"
#include <math.h>

TEST(integers_round_trip_at_the_edges_of_the_range)
{
    int64_t xs[] = {0, 1, -1, 42, -42, RC_INT_MAX, RC_INT_MIN, 1LL << 40, -(1LL << 40)};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        rc_val v = rc_int(xs[i]);
        CHECK(rc_is_int(v));
        CHECK(!rc_is_float(v) && !rc_is_obj(v) && !rc_is_none(v) && !rc_is_bool(v));
        CHECK_EQ_INT(rc_as_int(v), xs[i]);
    }
    CHECK(rc_int_fits(RC_INT_MAX) && rc_int_fits(RC_INT_MIN));
    CHECK(!rc_int_fits(RC_INT_MAX + 1) && !rc_int_fits(RC_INT_MIN - 1));
}

TEST(doubles_round_trip_exactly)
{
    double ds[] = {0.0, -0.0, 1.5, -1.5, 1e308, -1e308, 5e-324, INFINITY, -INFINITY, 3.141592653589793};
    for (size_t i = 0; i < sizeof ds / sizeof ds[0]; i++) {
        rc_val v = rc_float(ds[i]);
        CHECK(rc_is_float(v));
        CHECK(!rc_is_int(v) && !rc_is_obj(v));
        double back = rc_as_float(v);
        CHECK(memcmp(&back, &ds[i], sizeof back) == 0);
    }
}

TEST(every_nan_reads_back_as_a_nan)
{
    uint64_t bits = 0xFFF8000000001234ULL;
    double d;
    memcpy(&d, &bits, sizeof d);
    rc_val v = rc_float(d);
    CHECK(rc_is_float(v));
    CHECK(isnan(rc_as_float(v)));
    CHECK(rc_is_float(rc_float(NAN)) && isnan(rc_as_float(rc_float(NAN))));
}

TEST(constants_are_distinct_and_not_objects)
{
    CHECK(rc_is_none(RC_NONE) && !rc_is_obj(RC_NONE));
    CHECK(rc_is_bool(RC_TRUE) && rc_is_bool(RC_FALSE) && !rc_is_bool(RC_NONE));
    CHECK(rc_bool(1) == RC_TRUE && rc_bool(0) == RC_FALSE);
    CHECK(!rc_is_obj(RC_EMPTY) && !rc_is_int(RC_EMPTY) && !rc_is_float(RC_EMPTY));
}

TEST(object_values_are_the_pointer_and_hold_no_reference)
{
    static const rc_type t = {.name = "thing", .size = 8};
    rc_heap *h = rc_heap_new(NULL);
    void *o = rc_new(h, &t);
    rc_val v = rc_obj(o);
    CHECK(rc_is_obj(v) && rc_as_obj(v) == o);
    CHECK(rc_refcount(o) == 1);
    rc_val_incref(v);
    CHECK(rc_refcount(o) == 2);
    rc_val_decref(v);
    rc_val_decref(rc_int(5));   /* not an object: nothing happens */
    CHECK(rc_refcount(o) == 1);
    CHECK(rc_obj(NULL) == RC_NONE);
    CHECK(rc_as_obj(rc_int(3)) == NULL);
    rc_decref(o);
    rc_heap_free(h);
}

RC_TEST_MAIN
