/*
 * test_dict.c -- the built-in dict and the key semantics it defines
 * (rc_val_eq, rc_val_hash): every operation, missing keys, reference counts,
 * insertion order, growth, mixed keys, cycles and out-of-memory.
 */
#include "recycle.h"
#include "recycle/builtins.h"

#include "failalloc.h"
#include "harness.h"
#include "testutil.h"

/* The integer keys of `d` in iteration order, into out[0..max-1]; returns how many. */
static size_t int_keys(const rc_dict *d, long *out, size_t max)
{
    size_t pos = 0, n = 0;
    rc_val k;
    while (rc_dict_next(d, &pos, &k, NULL) && n < max) out[n++] = (long)rc_as_int(k);
    return n;
}

static int keys_are(const rc_dict *d, const long *want, size_t n)
{
    long got[64];
    size_t m = int_keys(d, got, 64);
    if (m != n || rc_dict_len(d) != n) return 0;
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i]) return 0;
    return 1;
}

/* ---- basics ---- */

TEST(new_dict_is_empty_and_has_no_tables)
{
    rc_heap *h = rc_heap_new(NULL);
    size_t before = buffer_bytes(h);
    rc_dict *d = rc_dict_new(h);
    REQUIRE(d);
    CHECK_EQ_INT(rc_dict_len(d), 0);
    CHECK_EQ_INT(buffer_bytes(h), before);
    CHECK(rc_typeof(d) == &rc_dict_type);
    CHECK(strcmp(rc_dict_type.name, "dict") == 0);
    CHECK(rc_is_dict(rc_obj(d)));
    size_t pos = 0;
    CHECK_EQ_INT(rc_dict_next(d, &pos, NULL, NULL), 0);
    rc_decref(d);
    rc_heap_free(h);
}

TEST(set_then_get_returns_the_value)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_dict *d = rc_dict_new(h);
    CHECK_EQ_INT(rc_dict_set(d, rc_int(1), rc_int(100)), 0);
    CHECK_EQ_INT(rc_dict_set(d, rc_int(2), rc_float(2.5)), 0);
    CHECK(rc_dict_get(d, rc_int(1)) == rc_int(100));
    CHECK(rc_dict_get(d, rc_int(2)) == rc_float(2.5));
    CHECK_EQ_INT(rc_dict_len(d), 2);
    rc_decref(d);
    rc_heap_free(h);
}

TEST(get_of_a_missing_key_returns_empty_and_records_no_error)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_dict *d = rc_dict_new(h);
    rc_heap_clear_error(h);
    CHECK(rc_dict_get(d, rc_int(5)) == RC_EMPTY);     /* no tables yet */
    rc_dict_set(d, rc_int(1), RC_TRUE);
    CHECK(rc_dict_get(d, rc_int(5)) == RC_EMPTY);
    CHECK(rc_dict_get_str(d, "five") == RC_EMPTY);
    CHECK_EQ_INT(rc_heap_error(h), RC_OK);
    rc_decref(d);
    rc_heap_free(h);
}

TEST(set_of_a_present_key_replaces_the_value_in_place)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_dict *d = rc_dict_new(h);
    for (long i = 0; i < 3; i++) rc_dict_set(d, rc_int(i), rc_int(i));
    CHECK_EQ_INT(rc_dict_set(d, rc_int(0), rc_int(42)), 0);
    CHECK(rc_dict_get(d, rc_int(0)) == rc_int(42));
    long want[] = {0, 1, 2};
    CHECK(keys_are(d, want, 3));               /* order unchanged */
    rc_decref(d);
    rc_heap_free(h);
}

TEST(contains_tells_present_from_missing)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_dict *d = rc_dict_new(h);
    CHECK_EQ_INT(rc_dict_contains(d, rc_int(1)), 0);
    rc_dict_set(d, rc_int(1), RC_NONE);
    CHECK_EQ_INT(rc_dict_contains(d, rc_int(1)), 1);
    CHECK_EQ_INT(rc_dict_contains(d, rc_int(2)), 0);
    CHECK(rc_dict_get(d, rc_int(1)) == RC_NONE);    /* none is a value, not a miss */
    rc_decref(d);
    rc_heap_free(h);
}

TEST(del_removes_the_key)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_dict *d = rc_dict_new(h);
    rc_dict_set(d, rc_int(1), rc_int(10));
    rc_dict_set(d, rc_int(2), rc_int(20));
    CHECK_EQ_INT(rc_dict_del(d, rc_int(1)), 0);
    CHECK_EQ_INT(rc_dict_len(d), 1);
    CHECK_EQ_INT(rc_dict_contains(d, rc_int(1)), 0);
    CHECK(rc_dict_get(d, rc_int(2)) == rc_int(20));
    rc_decref(d);
    rc_heap_free(h);
}

TEST(del_of_a_missing_key_fails_with_enotfound)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_dict *d = rc_dict_new(h);
    rc_str *k = rc_str_from_cstr(h, "nope");
    CHECK_EQ_INT(rc_dict_del(d, rc_obj(k)), -1);           /* empty dict */
    CHECK_EQ_INT(rc_heap_error(h), RC_ENOTFOUND);
    rc_dict_set(d, rc_int(1), rc_int(1));
    rc_heap_clear_error(h);
    CHECK_EQ_INT(rc_dict_del(d, rc_obj(k)), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_ENOTFOUND);
    CHECK(strstr(rc_heap_error_message(h), "'nope'") != NULL);
    CHECK_EQ_INT(rc_dict_del(d, rc_int(1)), 0);
    CHECK_EQ_INT(rc_dict_del(d, rc_int(1)), -1);           /* already gone */
    CHECK_EQ_INT(rc_heap_error(h), RC_ENOTFOUND);
    rc_decref(k);
    rc_decref(d);
    rc_heap_free(h);
}

TEST(empty_key_or_value_fails_with_einval)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_dict *d = rc_dict_new(h);
    CHECK_EQ_INT(rc_dict_set(d, RC_EMPTY, rc_int(1)), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    CHECK_EQ_INT(rc_dict_set(d, rc_int(1), RC_EMPTY), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    CHECK_EQ_INT(rc_dict_len(d), 0);
    CHECK(rc_dict_get(d, RC_EMPTY) == RC_EMPTY);
    rc_decref(d);
    rc_heap_free(h);
}

TEST(clear_empties_the_dict_and_frees_its_tables)
{
    rc_heap *h = rc_heap_new(NULL);
    size_t before = buffer_bytes(h);
    rc_dict *d = rc_dict_new(h);
    for (long i = 0; i < 1000; i++) rc_dict_set(d, rc_int(i), rc_int(i));
    CHECK(buffer_bytes(h) > before);
    rc_dict_clear(d);
    CHECK_EQ_INT(rc_dict_len(d), 0);
    CHECK_EQ_INT(buffer_bytes(h), before);
    CHECK(rc_dict_get(d, rc_int(5)) == RC_EMPTY);
    rc_dict_clear(d);                          /* idempotent */
    CHECK_EQ_INT(rc_dict_set(d, rc_int(7), rc_int(8)), 0);   /* usable */
    CHECK(rc_dict_get(d, rc_int(7)) == rc_int(8));
    rc_decref(d);
    CHECK_EQ_INT(buffer_bytes(h), before);
    rc_heap_free(h);
}

/* ---- keys ---- */

TEST(str_keys_compare_by_content)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_dict *d = rc_dict_new(h);
    rc_str *k1 = rc_str_from_cstr(h, "name"), *k2 = rc_str_from_cstr(h, "name");
    rc_dict_set(d, rc_obj(k1), rc_int(1));
    CHECK(rc_dict_get(d, rc_obj(k2)) == rc_int(1));
    rc_dict_set(d, rc_obj(k2), rc_int(2));     /* same key: replaces */
    CHECK_EQ_INT(rc_dict_len(d), 1);
    CHECK(rc_dict_get(d, rc_obj(k1)) == rc_int(2));
    CHECK_EQ_INT(rc_refcount(k1), 2);          /* the first key object is kept */
    CHECK_EQ_INT(rc_refcount(k2), 1);
    rc_decref(k1);
    rc_decref(k2);
    rc_decref(d);
    rc_heap_free(h);
}

TEST(get_str_finds_a_str_key_from_a_c_string)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_dict *d = rc_dict_new(h);
    rc_str *k = rc_str_from_cstr(h, "colour");
    rc_dict_set(d, rc_obj(k), rc_int(7));
    rc_dict_set(d, rc_int(0), rc_int(0));
    CHECK(rc_dict_get_str(d, "colour") == rc_int(7));
    CHECK(rc_dict_get_str(d, "color") == RC_EMPTY);
    CHECK(rc_dict_get_str(d, "colou") == RC_EMPTY);
    rc_decref(k);
    rc_decref(d);
    rc_heap_free(h);
}

TEST(other_objects_are_keys_by_identity)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_dict *d = rc_dict_new(h);
    rc_list *a = rc_list_new(h, 0), *b = rc_list_new(h, 0);
    rc_dict_set(d, rc_obj(a), rc_int(1));
    CHECK(rc_dict_get(d, rc_obj(a)) == rc_int(1));
    CHECK(rc_dict_get(d, rc_obj(b)) == RC_EMPTY);   /* equal content, other object */
    rc_decref(a);
    rc_decref(b);
    rc_decref(d);
    rc_heap_free(h);
}

TEST(keys_of_different_kinds_are_distinct)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_dict *d = rc_dict_new(h);
    rc_str *one = rc_str_from_cstr(h, "1");
    rc_val keys[] = {rc_int(1), rc_float(1.0), RC_TRUE, RC_FALSE, rc_int(0), RC_NONE, rc_obj(one)};
    size_t n = sizeof keys / sizeof keys[0];
    for (size_t i = 0; i < n; i++) CHECK_EQ_INT(rc_dict_set(d, keys[i], rc_int((long)i)), 0);
    CHECK_EQ_INT(rc_dict_len(d), n);
    for (size_t i = 0; i < n; i++) CHECK(rc_dict_get(d, keys[i]) == rc_int((long)i));
    CHECK(rc_dict_get_str(d, "1") == rc_int(6));
    rc_decref(one);
    rc_decref(d);
    rc_heap_free(h);
}

TEST(float_keys_compare_by_value)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_dict *d = rc_dict_new(h);
    rc_dict_set(d, rc_float(0.0), rc_int(1));
    CHECK(rc_dict_get(d, rc_float(-0.0)) == rc_int(1));
    rc_dict_set(d, rc_float(0.0 / 0.0), rc_int(2));
    CHECK(rc_dict_get(d, rc_float(-(0.0 / 0.0))) == rc_int(2));   /* NaN finds NaN */
    rc_dict_set(d, rc_float(0.1), rc_int(3));
    CHECK(rc_dict_get(d, rc_float(0.1)) == rc_int(3));
    CHECK(rc_dict_get(d, rc_float(0.2)) == RC_EMPTY);
    CHECK_EQ_INT(rc_dict_len(d), 3);
    rc_decref(d);
    rc_heap_free(h);
}

TEST(val_eq_and_val_hash_agree)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_str *a = rc_str_from_cstr(h, "same"), *b = rc_str_from_cstr(h, "same");
    rc_str *c = rc_str_from_cstr(h, "diff");
    CHECK(rc_val_eq(rc_obj(a), rc_obj(b)));
    CHECK(rc_val_hash(rc_obj(a)) == rc_val_hash(rc_obj(b)));
    CHECK(rc_val_hash(rc_obj(a)) == rc_str_hash(a));
    CHECK(!rc_val_eq(rc_obj(a), rc_obj(c)));
    CHECK(rc_val_eq(rc_float(0.0), rc_float(-0.0)));
    CHECK(rc_val_hash(rc_float(0.0)) == rc_val_hash(rc_float(-0.0)));
    CHECK(rc_val_eq(rc_int(-5), rc_int(-5)));
    CHECK(!rc_val_eq(rc_int(1), rc_float(1.0)));
    CHECK(!rc_val_eq(rc_int(1), RC_TRUE));
    CHECK(!rc_val_eq(RC_NONE, RC_FALSE));
    CHECK(!rc_val_eq(rc_obj(a), rc_int(0)));
    rc_decref(a);
    rc_decref(b);
    rc_decref(c);
    rc_heap_free(h);
}

TEST(mixed_keys_of_every_kind_in_one_dict)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_dict *d = rc_dict_new(h);
    rc_list *obj = rc_list_new(h, 0);
    char buf[32];
    for (long i = 0; i < 3000; i++) {
        snprintf(buf, sizeof buf, "s%ld", i);
        rc_str *s = rc_str_from_cstr(h, buf);
        REQUIRE(rc_dict_set(d, rc_obj(s), rc_int(i)) == 0);
        rc_decref(s);
        REQUIRE(rc_dict_set(d, rc_int(i), rc_int(-i)) == 0);
        REQUIRE(rc_dict_set(d, rc_float((double)i + 0.5), rc_int(i * 2)) == 0);
    }
    rc_dict_set(d, RC_NONE, rc_int(1));
    rc_dict_set(d, RC_TRUE, rc_int(2));
    rc_dict_set(d, rc_obj(obj), rc_int(3));
    CHECK_EQ_INT(rc_dict_len(d), 9003);
    for (long i = 0; i < 3000; i++) {
        snprintf(buf, sizeof buf, "s%ld", i);
        CHECK(rc_dict_get_str(d, buf) == rc_int(i));
        CHECK(rc_dict_get(d, rc_int(i)) == rc_int(-i));
        CHECK(rc_dict_get(d, rc_float((double)i + 0.5)) == rc_int(i * 2));
    }
    CHECK(rc_dict_get(d, RC_NONE) == rc_int(1));
    CHECK(rc_dict_get(d, RC_TRUE) == rc_int(2));
    CHECK(rc_dict_get(d, RC_FALSE) == RC_EMPTY);
    CHECK(rc_dict_get(d, rc_obj(obj)) == rc_int(3));
    rc_decref(obj);
    rc_decref(d);
    rc_heap_free(h);
}

/* ---- reference counts ---- */

TEST(set_takes_references_to_key_and_value)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_dict *d = rc_dict_new(h);
    rc_str *k = rc_str_from_cstr(h, "k"), *v = rc_str_from_cstr(h, "v");
    CHECK_EQ_INT(rc_refcount(k), 1);
    rc_dict_set(d, rc_obj(k), rc_obj(v));
    CHECK_EQ_INT(rc_refcount(k), 2);
    CHECK_EQ_INT(rc_refcount(v), 2);
    rc_decref(d);
    CHECK_EQ_INT(rc_refcount(k), 1);
    CHECK_EQ_INT(rc_refcount(v), 1);
    rc_decref(k);
    rc_decref(v);
    rc_heap_free(h);
}

TEST(replacing_a_value_drops_the_old_one)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_dict *d = rc_dict_new(h);
    rc_str *v1 = rc_str_from_cstr(h, "v1"), *v2 = rc_str_from_cstr(h, "v2");
    rc_dict_set(d, rc_int(1), rc_obj(v1));
    rc_dict_set(d, rc_int(1), rc_obj(v2));
    CHECK_EQ_INT(rc_refcount(v1), 1);
    CHECK_EQ_INT(rc_refcount(v2), 2);
    rc_dict_set(d, rc_int(1), rc_obj(v2));     /* same value again */
    CHECK_EQ_INT(rc_refcount(v2), 2);
    rc_decref(v1);
    rc_decref(v2);
    rc_decref(d);
    rc_heap_free(h);
}

TEST(replacing_a_value_with_itself_when_the_dict_holds_the_only_reference)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_dict *d = rc_dict_new(h);
    rc_str *v = rc_str_from_cstr(h, "only the dict");
    rc_dict_set(d, rc_int(1), rc_obj(v));
    rc_decref(v);
    CHECK_EQ_INT(rc_dict_set(d, rc_int(1), rc_dict_get(d, rc_int(1))), 0);
    REQUIRE(rc_is_str(rc_dict_get(d, rc_int(1))));
    CHECK(strcmp(rc_str_data(rc_as_obj(rc_dict_get(d, rc_int(1)))), "only the dict") == 0);
    rc_decref(d);
    rc_heap_free(h);
}

TEST(del_drops_references_to_key_and_value)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_dict *d = rc_dict_new(h);
    rc_str *k = rc_str_from_cstr(h, "k"), *v = rc_str_from_cstr(h, "v");
    rc_str *k2 = rc_str_from_cstr(h, "k");
    rc_dict_set(d, rc_obj(k), rc_obj(v));
    CHECK_EQ_INT(rc_dict_del(d, rc_obj(k2)), 0);   /* an equal key removes it */
    CHECK_EQ_INT(rc_refcount(k), 1);
    CHECK_EQ_INT(rc_refcount(v), 1);
    CHECK_EQ_INT(rc_refcount(k2), 1);
    rc_decref(k);
    rc_decref(k2);
    rc_decref(v);
    rc_decref(d);
    rc_heap_free(h);
}

TEST(clear_drops_every_reference)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_dict *d = rc_dict_new(h);
    rc_str *v = rc_str_from_cstr(h, "v");
    for (long i = 0; i < 100; i++) rc_dict_set(d, rc_int(i), rc_obj(v));
    CHECK_EQ_INT(rc_refcount(v), 101);
    rc_dict_clear(d);
    CHECK_EQ_INT(rc_refcount(v), 1);
    rc_decref(v);
    rc_decref(d);
    rc_heap_free(h);
}

TEST(dict_death_releases_keys_values_and_tables)
{
    rc_heap *h = rc_heap_new(NULL);
    size_t base = live_objects(h), buf = buffer_bytes(h);
    rc_dict *d = rc_dict_new(h);
    char name[16];
    for (int i = 0; i < 500; i++) {
        snprintf(name, sizeof name, "k%d", i);
        rc_str *k = rc_str_from_cstr(h, name);
        rc_list *v = rc_list_new(h, 0);
        rc_dict_set(d, rc_obj(k), rc_obj(v));
        rc_decref(k);
        rc_decref(v);
    }
    CHECK_EQ_INT(live_objects(h), base + 1001);
    rc_decref(d);
    CHECK_EQ_INT(live_objects(h), base);
    CHECK_EQ_INT(buffer_bytes(h), buf);
    rc_heap_free(h);
}

/* ---- order ---- */

TEST(iteration_follows_insertion_order)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_dict *d = rc_dict_new(h);
    long want[] = {5, 3, 9, 1, 7};
    for (int i = 0; i < 5; i++) rc_dict_set(d, rc_int(want[i]), rc_int(i));
    CHECK(keys_are(d, want, 5));
    size_t pos = 0;
    rc_val k, v;
    int i = 0;
    while (rc_dict_next(d, &pos, &k, &v)) CHECK(v == rc_int(i++));
    CHECK_EQ_INT(rc_dict_next(d, &pos, &k, &v), 0);       /* stays done */
    rc_decref(d);
    rc_heap_free(h);
}

TEST(order_after_deletes_and_reinserts)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_dict *d = rc_dict_new(h);
    for (long i = 0; i < 6; i++) rc_dict_set(d, rc_int(i), RC_NONE);
    rc_dict_del(d, rc_int(1));
    rc_dict_del(d, rc_int(4));
    long want1[] = {0, 2, 3, 5};
    CHECK(keys_are(d, want1, 4));
    rc_dict_set(d, rc_int(1), RC_NONE);        /* re-inserted: goes last */
    rc_dict_set(d, rc_int(3), RC_TRUE);        /* replaced: stays */
    long want2[] = {0, 2, 3, 5, 1};
    CHECK(keys_are(d, want2, 5));
    /* Enough churn to force rebuilds that compact the entries. */
    for (long r = 0; r < 50; r++) {
        rc_dict_del(d, rc_int(0));
        rc_dict_set(d, rc_int(0), RC_NONE);
        rc_dict_del(d, rc_int(0));
        rc_dict_set(d, rc_int(0), RC_NONE);
    }
    long want3[] = {2, 3, 5, 1, 0};
    CHECK(keys_are(d, want3, 5));
    CHECK(rc_dict_get(d, rc_int(3)) == RC_TRUE);
    rc_decref(d);
    rc_heap_free(h);
}

TEST(deleting_keys_during_iteration_is_safe)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_dict *d = rc_dict_new(h);
    for (long i = 0; i < 100; i++) rc_dict_set(d, rc_int(i), rc_int(i));
    size_t pos = 0, seen = 0;
    rc_val k;
    while (rc_dict_next(d, &pos, &k, NULL)) {
        seen++;
        if (rc_as_int(k) % 2 == 0) CHECK_EQ_INT(rc_dict_del(d, k), 0);
    }
    CHECK_EQ_INT(seen, 100);
    CHECK_EQ_INT(rc_dict_len(d), 50);
    long got[64];
    size_t n = int_keys(d, got, 64);
    CHECK_EQ_INT(n, 50);
    for (size_t i = 0; i < n; i++) CHECK_EQ_INT(got[i], 2 * (long)i + 1);
    rc_decref(d);
    rc_heap_free(h);
}

TEST(churn_does_not_grow_the_tables_without_bound)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_dict *d = rc_dict_new(h);
    for (long i = 0; i < 10; i++) rc_dict_set(d, rc_int(i), RC_NONE);
    size_t small = buffer_bytes(h);
    for (long i = 10; i < 100000; i++) {
        rc_dict_set(d, rc_int(i), RC_NONE);
        rc_dict_del(d, rc_int(i - 10));
    }
    CHECK_EQ_INT(rc_dict_len(d), 10);
    CHECK(buffer_bytes(h) <= 4 * small);
    for (long i = 99990; i < 100000; i++) CHECK(rc_dict_contains(d, rc_int(i)));
    rc_decref(d);
    rc_heap_free(h);
}

/* ---- growth ---- */

TEST(growth_past_a_hundred_thousand_int_keys)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_dict *d = rc_dict_new(h);
    enum { N = 150000 };
    for (long i = 0; i < N; i++) REQUIRE(rc_dict_set(d, rc_int(i * 7919), rc_int(i)) == 0);
    CHECK_EQ_INT(rc_dict_len(d), N);
    long bad = 0;
    for (long i = 0; i < N; i++) bad += rc_dict_get(d, rc_int(i * 7919)) != rc_int(i);
    CHECK_EQ_INT(bad, 0);
    CHECK(rc_dict_get(d, rc_int(1)) == RC_EMPTY);
    /* insertion order survives every rebuild */
    size_t pos = 0;
    rc_val k, v;
    long i = 0;
    while (rc_dict_next(d, &pos, &k, &v)) bad += v != rc_int(i++);
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(i, N);
    rc_decref(d);
    rc_heap_free(h);
}

TEST(growth_past_a_hundred_thousand_str_keys_then_delete_half)
{
    rc_heap *h = rc_heap_new(NULL);
    size_t base = live_objects(h);
    rc_dict *d = rc_dict_new(h);
    enum { N = 120000 };
    char buf[32];
    for (long i = 0; i < N; i++) {
        snprintf(buf, sizeof buf, "key-%ld", i);
        rc_str *s = rc_str_from_cstr(h, buf);
        REQUIRE(s && rc_dict_set(d, rc_obj(s), rc_int(i)) == 0);
        rc_decref(s);
    }
    CHECK_EQ_INT(rc_dict_len(d), N);
    long bad = 0;
    for (long i = 0; i < N; i++) {
        snprintf(buf, sizeof buf, "key-%ld", i);
        bad += rc_dict_get_str(d, buf) != rc_int(i);
    }
    CHECK_EQ_INT(bad, 0);
    for (long i = 0; i < N; i += 2) {
        snprintf(buf, sizeof buf, "key-%ld", i);
        rc_str *s = rc_str_from_cstr(h, buf);
        bad += rc_dict_del(d, rc_obj(s)) != 0;
        rc_decref(s);
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(rc_dict_len(d), N / 2);
    CHECK_EQ_INT(live_objects(h), base + 1 + N / 2);   /* deleted keys were freed */
    size_t pos = 0;
    rc_val v;
    long expect = 1;
    while (rc_dict_next(d, &pos, NULL, &v)) {
        bad += v != rc_int(expect);
        expect += 2;
    }
    CHECK_EQ_INT(bad, 0);
    rc_decref(d);
    CHECK_EQ_INT(live_objects(h), base);
    rc_heap_free(h);
}

/* ---- cycles ---- */

TEST(a_dict_holding_itself_as_a_value_is_freed_by_a_full_collection)
{
    rc_heap *h = rc_heap_new(NULL);
    size_t base = live_objects(h);
    rc_dict *d = rc_dict_new(h);
    rc_str *k = rc_str_from_cstr(h, "self");
    rc_dict_set(d, rc_obj(k), rc_obj(d));
    rc_decref(k);
    rc_decref(d);
    CHECK_EQ_INT(live_objects(h), base + 2);
    CHECK(rc_gc_collect(h, 2) >= 1);
    CHECK_EQ_INT(live_objects(h), base);
    CHECK_EQ_INT(buffer_bytes(h), 0);
    rc_heap_free(h);
}

TEST(a_dict_holding_itself_as_a_key_is_freed_by_a_full_collection)
{
    rc_heap *h = rc_heap_new(NULL);
    size_t base = live_objects(h);
    rc_dict *d = rc_dict_new(h);
    rc_dict_set(d, rc_obj(d), rc_int(1));
    CHECK(rc_dict_get(d, rc_obj(d)) == rc_int(1));
    rc_decref(d);
    CHECK(rc_gc_collect(h, 2) >= 1);
    CHECK_EQ_INT(live_objects(h), base);
    rc_heap_free(h);
}

TEST(dicts_and_lists_in_a_ring_are_freed_by_a_full_collection)
{
    rc_heap *h = rc_heap_new(NULL);
    size_t base = live_objects(h);
    rc_str *kept = rc_str_from_cstr(h, "outside");
    rc_dict *first = rc_dict_new(h), *prev = first;
    rc_incref(first);
    for (int i = 0; i < 100; i++) {
        rc_list *l = rc_list_new(h, 0);
        rc_dict *d = rc_dict_new(h);
        rc_dict_set(prev, rc_int(i), rc_obj(l));
        rc_list_append(l, rc_obj(d));
        rc_list_append(l, rc_obj(kept));
        rc_decref(l);
        rc_decref(prev);
        prev = d;
    }
    rc_dict_set(prev, rc_int(-1), rc_obj(first));   /* close the ring */
    rc_decref(prev);
    rc_decref(first);
    CHECK_EQ_INT(rc_refcount(kept), 101);
    CHECK(rc_gc_collect(h, 2) >= 201);
    CHECK_EQ_INT(rc_refcount(kept), 1);
    CHECK_EQ_INT(live_objects(h), base + 1);
    rc_decref(kept);
    rc_heap_free(h);
}

/* ---- out of memory ---- */

TEST(set_out_of_memory_fails_with_enomem_and_leaves_the_dict_unchanged)
{
    rc_heap *h = fa_heap_new();
    rc_dict *d = rc_dict_new(h);
    for (long i = 0; i < 5; i++) rc_dict_set(d, rc_int(i), rc_int(i));   /* 5 = full at 8 slots */
    rc_str *k = rc_str_from_cstr(h, "k"), *v = rc_str_from_cstr(h, "v");
    size_t buf = buffer_bytes(h);
    fa_arm(0);
    CHECK_EQ_INT(rc_dict_set(d, rc_obj(k), rc_obj(v)), -1);
    fa_disarm();
    CHECK_EQ_INT(rc_heap_error(h), RC_ENOMEM);
    CHECK_EQ_INT(rc_refcount(k), 1);
    CHECK_EQ_INT(rc_refcount(v), 1);
    CHECK_EQ_INT(buffer_bytes(h), buf);
    long want[] = {0, 1, 2, 3, 4};
    CHECK(keys_are(d, want, 5));
    for (long i = 0; i < 5; i++) CHECK(rc_dict_get(d, rc_int(i)) == rc_int(i));
    CHECK_EQ_INT(rc_dict_set(d, rc_obj(k), rc_obj(v)), 0);   /* still usable */
    CHECK(rc_dict_get_str(d, "k") == rc_obj(v));
    rc_decref(k);
    rc_decref(v);
    rc_decref(d);
    rc_heap_free(h);
}

TEST(set_of_a_present_key_needs_no_memory)
{
    rc_heap *h = fa_heap_new();
    rc_dict *d = rc_dict_new(h);
    for (long i = 0; i < 5; i++) rc_dict_set(d, rc_int(i), rc_int(i));
    fa_arm(0);
    CHECK_EQ_INT(rc_dict_set(d, rc_int(3), rc_int(33)), 0);
    fa_disarm();
    CHECK(rc_dict_get(d, rc_int(3)) == rc_int(33));
    rc_decref(d);
    rc_heap_free(h);
}

TEST(every_failed_growth_leaves_a_consistent_usable_dict)
{
    /* Fail the 1st, 2nd, ... allocation in turn while inserting 3000 keys. */
    rc_heap *h = fa_heap_new();
    enum { N = 3000 };
    for (long n = 0; n < 30; n++) {
        rc_dict *d = rc_dict_new(h);
        REQUIRE(d);
        long ok = 0;
        fa_arm(n);
        while (ok < N && rc_dict_set(d, rc_int(ok), rc_int(ok)) == 0) ok++;
        fa_disarm();
        /* 3000 keys rebuild the tables 11 times, two allocations each. */
        if (n < 22) CHECK(ok < N);
        if (ok < N) CHECK_EQ_INT(rc_heap_error(h), RC_ENOMEM);
        CHECK_EQ_INT(rc_dict_len(d), ok);
        long bad = 0;
        for (long i = 0; i < ok; i++) bad += rc_dict_get(d, rc_int(i)) != rc_int(i);
        bad += rc_dict_contains(d, rc_int(ok));
        CHECK_EQ_INT(bad, 0);
        for (; ok < N; ok++) CHECK_EQ_INT(rc_dict_set(d, rc_int(ok), rc_int(ok)), 0);
        size_t pos = 0;
        rc_val k;
        long i = 0;
        while (rc_dict_next(d, &pos, &k, NULL)) bad += k != rc_int(i++);
        CHECK_EQ_INT(bad, 0);
        CHECK_EQ_INT(i, N);
        rc_decref(d);
        CHECK_EQ_INT(buffer_bytes(h), 0);
    }
    rc_heap_free(h);
}

/* ---- misuse ---- */

TEST(a_non_dict_argument_fails_with_einval)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_list *l = rc_list_new(h, 0);
    rc_dict *not_a_dict = (rc_dict *)(void *)l;
    CHECK_EQ_INT(rc_dict_set(not_a_dict, rc_int(1), rc_int(1)), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    CHECK(strstr(rc_heap_error_message(h), "rc_dict_set") != NULL);
    CHECK_EQ_INT(rc_list_len(l), 0);
    rc_decref(l);
    rc_heap_free(h);
}

RC_TEST_MAIN
