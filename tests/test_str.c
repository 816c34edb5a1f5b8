/*
 * test_str.c -- the built-in str: creation, content, hashing, comparison,
 * life by refcount alone, errors.
 */
#include "recycle.h"
#include "recycle/builtins.h"
#include "recycle/leak.h"

#include "builtins/builtins.h"   /* the layout: rc__str_size, the hash slot */
#include "util/blockids.h"       /* rc__block_bytes */

#include "failalloc.h"
#include "harness.h"
#include "testutil.h"

/* ---- creation and content ---- */

TEST(new_copies_the_bytes)
{
    rc_heap *h = rc_heap_new(NULL);
    char buf[] = "hello";
    rc_str *s = rc_str_new(h, buf, 5);
    REQUIRE(s);
    buf[0] = 'J';
    CHECK_EQ_INT(rc_str_len(s), 5);
    CHECK(memcmp(rc_str_data(s), "hello", 5) == 0);
    CHECK_EQ_INT(rc_refcount(s), 1);
    CHECK(rc_typeof(s) == &rc_str_type);
    CHECK(strcmp(rc_str_type.name, "str") == 0);
    CHECK(rc_is_str(rc_obj(s)));
    CHECK(!rc_is_list(rc_obj(s)));
    rc_decref(s);
    rc_heap_free(h);
}

TEST(data_is_nul_terminated)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_str *s = rc_str_new(h, "abcdef", 3);
    CHECK_EQ_INT(rc_str_data(s)[3], 0);
    CHECK(strcmp(rc_str_data(s), "abc") == 0);
    rc_decref(s);
    rc_heap_free(h);
}

TEST(bytes_may_contain_nuls)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_str *s = rc_str_new(h, "a\0b\0", 4);
    CHECK_EQ_INT(rc_str_len(s), 4);
    CHECK(memcmp(rc_str_data(s), "a\0b\0", 5) == 0);
    rc_decref(s);
    rc_heap_free(h);
}

TEST(from_cstr_measures_the_string)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_str *s = rc_str_from_cstr(h, "recycle");
    CHECK_EQ_INT(rc_str_len(s), 7);
    CHECK(strcmp(rc_str_data(s), "recycle") == 0);
    rc_decref(s);
    rc_heap_free(h);
}

TEST(empty_string_from_null_bytes_and_zero_length)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_str *a = rc_str_new(h, NULL, 0), *b = rc_str_from_cstr(h, "");
    REQUIRE(a && b);
    CHECK_EQ_INT(rc_str_len(a), 0);
    CHECK_EQ_INT(rc_str_data(a)[0], 0);
    CHECK(rc_str_eq(a, b));
    CHECK(rc_str_hash(a) == rc_str_hash(b));
    rc_decref(a);
    rc_decref(b);
    rc_heap_free(h);
}

TEST(long_string_round_trips)
{
    rc_heap *h = rc_heap_new(NULL);
    size_t n = 200000;             /* bigger than a page: a large block */
    char *buf = malloc(n);
    for (size_t i = 0; i < n; i++) buf[i] = (char)(i * 7);
    rc_str *s = rc_str_new(h, buf, n);
    REQUIRE(s);
    CHECK_EQ_INT(rc_str_len(s), n);
    CHECK(memcmp(rc_str_data(s), buf, n) == 0);
    CHECK_EQ_INT(rc_str_data(s)[n], 0);
    free(buf);
    rc_decref(s);
    rc_heap_free(h);
}


/* ---- the layout (core/objects.h) ---- */

/* The block a str of n bytes takes: its header, then the 4-byte length, the
 * bytes and the NUL (and from RC__STR_HASHED bytes on, 8-aligned, the
 * cached hash), rounded up to a size class. */
static size_t str_block(size_t n)
{
    size_t user = n < RC__STR_HASHED ? 4 + n + 1 : ((4 + n + 1 + 7) & ~(size_t)7) + 8;
    return rc__class_size[rc__size_class(sizeof(rc_head) + user)];
}

TEST(every_length_up_to_600_round_trips_in_the_smallest_block)
{
    rc_heap *h = rc_heap_new(NULL);
    char buf[601];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (char)(i % 5 ? 'a' + i % 26 : 0);   /* NULs inside */
    for (size_t n = 0; n <= 600; n++) {
        rc_str *s = rc_str_new(h, buf, n);
        REQUIRE(s);
        CHECK_EQ_INT(rc_str_len(s), n);
        CHECK(memcmp(rc_str_data(s), buf, n) == 0);
        CHECK_EQ_INT(rc_str_data(s)[n], 0);
        CHECK_EQ_INT(rc__block_bytes(rc__page_of(RC_HEAD(s))), str_block(n));
        CHECK(rc_str_hash(s) == rc__str_hash_bytes(buf, n));
        rc_decref(s);
    }
    /* 1 to 8 bytes: a 24-byte block, the smallest class */
    rc_str *one = rc_str_new(h, "x", 1);
    CHECK_EQ_INT(rc__block_bytes(rc__page_of(RC_HEAD(one))), 24);
    rc_decref(one);
    rc_heap_free(h);
}

TEST(a_short_str_keeps_no_hash_a_long_one_caches_it)
{
    rc_heap *h = rc_heap_new(NULL);
    char buf[RC__STR_HASHED + 1];
    memset(buf, 'q', sizeof buf);
    rc_str *shrt = rc_str_new(h, buf, RC__STR_HASHED - 1), *lng = rc_str_new(h, buf, RC__STR_HASHED);
    REQUIRE(shrt && lng);
    CHECK_EQ_INT(rc_self_size(shrt), str_block(RC__STR_HASHED - 1));
    const char *slot = (const char *)lng + rc__str_hash_off(RC__STR_HASHED);
    uint64_t cached;
    memcpy(&cached, slot, 8);
    CHECK(cached == 0);                       /* not computed yet */
    uint64_t hl = rc_str_hash(lng);
    memcpy(&cached, slot, 8);
    CHECK(cached == hl && hl != 0);           /* computed once, kept */
    CHECK(hl == rc__str_hash_bytes(buf, RC__STR_HASHED));
    CHECK(rc_str_hash(shrt) == rc__str_hash_bytes(buf, RC__STR_HASHED - 1));
    CHECK(rc_str_hash(shrt) == rc_str_hash(shrt));
    rc_decref(shrt);
    rc_decref(lng);
    rc_heap_free(h);
}

TEST(long_strs_with_cached_hashes_compare_by_content)
{
    rc_heap *h = rc_heap_new(NULL);
    char buf[300];
    memset(buf, 'z', sizeof buf);
    rc_str *a = rc_str_new(h, buf, sizeof buf), *b = rc_str_new(h, buf, sizeof buf);
    buf[299] = 'y';
    rc_str *c = rc_str_new(h, buf, sizeof buf);
    rc_str_hash(a);
    CHECK(rc_str_eq(a, b));                   /* one hash cached, one not */
    rc_str_hash(b);
    rc_str_hash(c);
    CHECK(rc_str_eq(a, b));
    CHECK(!rc_str_eq(a, c));
    CHECK(rc_val_eq(rc_obj(a), rc_obj(b)) && !rc_val_eq(rc_obj(a), rc_obj(c)));
    rc_decref(a);
    rc_decref(b);
    rc_decref(c);
    rc_heap_free(h);
}

TEST(keys_of_every_length_are_found_by_str_and_by_c_string)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_dict *d = rc_dict_new(h);
    char buf[301];
    for (size_t i = 0; i < 300; i++) buf[i] = (char)('A' + i % 50);
    for (size_t n = 0; n <= 300; n++) {
        rc_str *k = rc_str_new(h, buf, n);
        CHECK_EQ_INT(rc_dict_set(d, rc_obj(k), rc_int((int64_t)n)), 0);
        rc_decref(k);
    }
    CHECK_EQ_INT(rc_dict_len(d), 301);
    for (size_t n = 0; n <= 300; n++) {
        rc_str *k = rc_str_new(h, buf, n);   /* an equal key, another object */
        CHECK(rc_dict_get(d, rc_obj(k)) == rc_int((int64_t)n));
        rc_decref(k);
        char c = buf[n];
        buf[n] = 0;
        CHECK(rc_dict_get_str(d, buf) == rc_int((int64_t)n));
        buf[n] = c;
    }
    rc_decref(d);
    rc_heap_free(h);
}

/* ---- errors ---- */

TEST(null_bytes_with_a_length_fails_with_einval)
{
    rc_heap *h = rc_heap_new(NULL);
    CHECK(rc_str_new(h, NULL, 3) == NULL);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    CHECK(rc_str_from_cstr(h, NULL) == NULL);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    rc_heap_free(h);
}

TEST(absurd_length_fails_with_einval)
{
    rc_heap *h = rc_heap_new(NULL);
    CHECK(rc_str_new(h, "x", SIZE_MAX) == NULL);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    rc_heap_free(h);
}

TEST(a_length_past_4_gib_fails_with_einval_before_reading)
{
    if (SIZE_MAX <= RC__STR_MAX) return;   /* a 32-bit size_t cannot say it */
    rc_heap *h = rc_heap_new(NULL);
    CHECK(rc_str_new(h, "x", (size_t)RC__STR_MAX + 1) == NULL);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    CHECK(strstr(rc_heap_error_message(h), "too large") != NULL);
    rc_heap_free(h);
}

TEST(out_of_memory_returns_null_with_enomem)
{
    rc_heap *h = fa_heap_new();
    size_t base = live_objects(h);
    size_t n = 1 << 20;            /* a large block: needs a fresh mapping */
    char *buf = calloc(1, n);
    fa_map_fails = 1;
    rc_str *s = rc_str_new(h, buf, n);
    fa_map_fails = 0;
    CHECK(s == NULL);
    CHECK_EQ_INT(rc_heap_error(h), RC_ENOMEM);
    CHECK_EQ_INT(live_objects(h), base);
    s = rc_str_new(h, buf, n);     /* the heap is still fine */
    CHECK(s != NULL);
    if (s) rc_decref(s);
    free(buf);
    rc_heap_free(h);
}

TEST(a_non_str_argument_fails_with_einval)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_list *l = rc_list_new(h, 0);
    const rc_str *not_a_str = (const rc_str *)(const void *)l;
    rc_heap_clear_error(h);
    CHECK_EQ_INT(rc_str_len(not_a_str), 0);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    CHECK(strstr(rc_heap_error_message(h), "list") != NULL);
    CHECK(rc_str_data(not_a_str) == NULL);
    rc_decref(l);
    rc_heap_free(h);
}

/* ---- hashing ---- */

TEST(hash_is_never_zero_and_stable)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_str *s = rc_str_from_cstr(h, "stable");
    uint64_t a = rc_str_hash(s);
    CHECK(a != 0);
    CHECK(rc_str_hash(s) == a);
    rc_decref(s);
    rc_heap_free(h);
}

TEST(equal_content_hashes_equal_across_heaps)
{
    rc_heap *h1 = rc_heap_new(NULL), *h2 = rc_heap_new(NULL);
    rc_str *a = rc_str_from_cstr(h1, "the same bytes, longer than one word");
    rc_str *b = rc_str_from_cstr(h2, "the same bytes, longer than one word");
    CHECK(rc_str_hash(a) == rc_str_hash(b));
    CHECK(rc_str_eq(a, b));
    rc_decref(a);
    rc_decref(b);
    rc_heap_free(h1);
    rc_heap_free(h2);
}

TEST(trailing_nul_changes_the_hash)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_str *a = rc_str_new(h, "ab", 2), *b = rc_str_new(h, "ab\0", 3);
    CHECK(rc_str_hash(a) != rc_str_hash(b));
    CHECK(!rc_str_eq(a, b));
    rc_decref(a);
    rc_decref(b);
    rc_heap_free(h);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

TEST(hundred_thousand_similar_strings_have_distinct_hashes)
{
    rc_heap *h = rc_heap_new(NULL);
    enum { N = 100000 };
    uint64_t *hs = malloc(N * sizeof *hs);
    char buf[32];
    for (int i = 0; i < N; i++) {
        int n = snprintf(buf, sizeof buf, "key%d", i);
        rc_str *s = rc_str_new(h, buf, (size_t)n);
        hs[i] = rc_str_hash(s);
        rc_decref(s);
    }
    qsort(hs, N, sizeof *hs, cmp_u64);
    int dups = 0;
    for (int i = 1; i < N; i++) dups += hs[i] == hs[i - 1];
    CHECK_EQ_INT(dups, 0);
    free(hs);
    rc_heap_free(h);
}

TEST(hash_low_bits_spread_evenly)
{
    /* 65,536 keys into 1,024 buckets: about 64 each; a weak hash piles up. */
    rc_heap *h = rc_heap_new(NULL);
    static int bucket[1024];
    char buf[32];
    for (int i = 0; i < 65536; i++) {
        int n = snprintf(buf, sizeof buf, "%d", i * 1024);
        rc_str *s = rc_str_new(h, buf, (size_t)n);
        bucket[rc_str_hash(s) & 1023]++;
        rc_decref(s);
    }
    int max = 0, min = 1 << 30;
    for (int i = 0; i < 1024; i++) {
        if (bucket[i] > max) max = bucket[i];
        if (bucket[i] < min) min = bucket[i];
    }
    CHECK(max < 120);
    CHECK(min > 20);
    rc_heap_free(h);
}

/* ---- comparison ---- */

TEST(eq_compares_content_not_identity)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_str *a = rc_str_from_cstr(h, "abc"), *b = rc_str_from_cstr(h, "abc");
    rc_str *c = rc_str_from_cstr(h, "abd"), *d = rc_str_from_cstr(h, "ab");
    CHECK(a != b);
    CHECK(rc_str_eq(a, b));
    CHECK(rc_str_eq(a, a));
    CHECK(!rc_str_eq(a, c));
    CHECK(!rc_str_eq(a, d));
    rc_decref(a);
    rc_decref(b);
    rc_decref(c);
    rc_decref(d);
    rc_heap_free(h);
}

TEST(cmp_orders_bytes_as_memcmp_with_shorter_first_on_a_tie)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_str *ab = rc_str_from_cstr(h, "ab"), *abc = rc_str_from_cstr(h, "abc");
    rc_str *b = rc_str_from_cstr(h, "b"), *hi = rc_str_from_cstr(h, "\xff");
    rc_str *ab2 = rc_str_from_cstr(h, "ab"), *empty = rc_str_from_cstr(h, "");
    CHECK(rc_str_cmp(ab, abc) < 0);
    CHECK(rc_str_cmp(abc, ab) > 0);
    CHECK(rc_str_cmp(abc, b) < 0);
    CHECK(rc_str_cmp(b, hi) < 0);            /* bytes compare unsigned */
    CHECK(rc_str_cmp(ab, ab2) == 0);
    CHECK(rc_str_cmp(empty, ab) < 0);
    CHECK(rc_str_cmp(empty, empty) == 0);
    rc_decref(ab);
    rc_decref(abc);
    rc_decref(b);
    rc_decref(hi);
    rc_decref(ab2);
    rc_decref(empty);
    rc_heap_free(h);
}

/* ---- life ---- */

TEST(strs_are_never_tracked)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_heap_stats st0, st1;
    rc_heap_get_stats(h, &st0);
    rc_str *s = rc_str_from_cstr(h, "untracked");
    rc_heap_get_stats(h, &st1);
    CHECK_EQ_INT(st1.objects, st0.objects + 1);
    CHECK_EQ_INT(st1.tracked, st0.tracked);
    CHECK(rc_str_type.traverse == NULL && rc_str_type.clear == NULL);
    rc_decref(s);
    rc_heap_free(h);
}

TEST(last_decref_frees_the_str)
{
    rc_heap *h = rc_heap_new(NULL);
    size_t base = live_objects(h);
    rc_str *s = rc_str_from_cstr(h, "gone");
    rc_incref(s);
    rc_decref(s);
    CHECK_EQ_INT(live_objects(h), base + 1);
    rc_decref(s);
    CHECK_EQ_INT(live_objects(h), base);
    rc_heap_free(h);
}

TEST(collection_leaves_strs_alone)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_str *s = rc_str_from_cstr(h, "kept");
    CHECK_EQ_INT(rc_gc_collect(h, 2), 0);
    CHECK_EQ_INT(rc_refcount(s), 1);
    CHECK(strcmp(rc_str_data(s), "kept") == 0);
    rc_decref(s);
    rc_heap_free(h);
}

RC_TEST_MAIN
