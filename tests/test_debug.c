/* test_debug.c -- misuse is caught with a message naming the call, the
 * object and its type: built with RC_DEBUG so the inline calls check, each
 * case runs in a child process that must stop with SIGABRT. */
#define RC_DEBUG 1
/* The misuse below is deliberate; the compiler sees some of it too. */
#pragma GCC diagnostic ignored "-Warray-bounds"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wpragmas"
#include "harness.h"
#include "recycle.h"
#include "recycle/builtins.h"
#include "testutil.h"
#include "core/internal.h"

#include <stdlib.h>

typedef struct pair { void *a, *b; } pair;
static const rc_type pair_type = {.name = "pair", .size = sizeof(pair), .nslots = 2};

static void decref_twice(void)
{
    rc_heap *h = rc_heap_new(NULL);
    pair *p = rc_new(h, &pair_type);
    rc_decref(p);
    rc_decref(p);   /* underflow: the object is already freed */
}

static void incref_null(void) { rc_incref(NULL); }

static void incref_foreign(void)
{
    char *buf = malloc(1 << 20);
    rc_incref(buf + (1 << 19));
}

/* A list's items live in the heap's buffer pages on heaps that own their
 * buffers (not under ASan or valgrind, not in malloc mode). */
static void incref_list_items(void)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_list *l = rc_list_new(h, 0);
    for (int i = 0; i < 10; i++) rc_list_append(l, rc_int(i));
    rc_incref((void *)((const char *)rc_list_items(l, NULL) + 16));
}

static void refcount_after_free(void)
{
    rc_heap *h = rc_heap_new(NULL);
    pair *p = rc_new(h, &pair_type);
    rc_decref(p);
    (void)rc_refcount(p);
}

TEST(decref_of_a_freed_object_stops_and_names_its_type)
{
    CHECK(dies_saying(decref_twice, "rc_decref"));
    CHECK(dies_saying(decref_twice, "freed object of type 'pair'"));
}

TEST(null_is_caught)
{
    CHECK(dies_saying(incref_null, "rc_incref(NULL)"));
}

TEST(a_pointer_that_is_not_an_object_is_caught)
{
    CHECK(dies_saying(incref_foreign, "not an object of any recycle heap"));
}

TEST(a_pointer_into_a_list_buffer_is_caught)
{
    /* Where buffers come from malloc (ASan, valgrind, malloc mode) the
     * pointer is the C library's: nothing of the heap's to name. */
    rc_heap *h = rc_heap_new(NULL);
    bool paged = h->buf_map;
    rc_heap_free(h);
    if (paged) CHECK(dies_saying(incref_list_items, "into a container's buffer"));
}

TEST(reading_the_count_of_a_freed_object_is_caught)
{
    CHECK(dies_saying(refcount_after_free, "rc_refcount"));
}

static void int_past_the_immediates(void) { (void)rc_int((int64_t)1 << 50); }
static void int_below_the_immediates(void) { (void)rc_int(INT64_MIN); }

TEST(rc_int_out_of_range_stops_and_points_to_rc_int_new)
{
    CHECK(dies_saying(int_past_the_immediates, "rc_int: 1125899906842624 does not fit"));
    CHECK(dies_saying(int_past_the_immediates, "rc_int_new"));
    CHECK(dies_saying(int_below_the_immediates, "-9223372036854775808"));
}

TEST(storing_an_object_of_another_heap_is_refused)
{
    rc_heap *h1 = rc_heap_new(NULL), *h2 = rc_heap_new(NULL);
    rc_list *l = rc_list_new(h1, 0);
    pair *p = rc_new(h2, &pair_type);
    CHECK(rc_list_append(l, rc_obj(p)) == -1);
    CHECK_EQ_INT(rc_heap_error(h1), RC_EINVAL);
    CHECK(strstr(rc_heap_error_message(h1), "another heap") != NULL);
    CHECK_EQ_INT(rc_refcount(p), 1);
    rc_decref(p);
    rc_decref(l);
    rc_heap_free(h1);
    rc_heap_free(h2);
}

RC_TEST_MAIN
