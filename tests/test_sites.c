/*
 * test_sites.c -- allocation sites under RC_TRACE_SITES: rc_new, rc_new_var
 * and every built-in constructor record the line that called them, and a
 * constructor's site does not stick to objects made after it.
 */
#define RC_TRACE_SITES 1
#include "harness.h"
#include "recycle.h"
#include "recycle/builtins.h"
#include "recycle/leak.h"

#include <string.h>

typedef struct pair { void *a, *b; } pair;
static const rc_type pair_type = {.name = "pair", .size = sizeof(pair), .nslots = 2};

/* The line `obj` was made at, or -1 (unknown), with the file checked. */
static int line_of(const void *obj)
{
    const char *file;
    int line;
    if (!rc_trace_site(obj, &file, &line)) return -1;
    return strstr(file, "test_sites.c") ? line : -2;
}

TEST(every_constructor_records_its_callers_line)
{
    rc_heap *h = rc_heap_new(NULL);
    REQUIRE(h && rc_trace_start(h, 0) == 0);
    int at = __LINE__ + 1;
    rc_list *l = rc_list_new(h, 4);
    rc_tuple *t = rc_tuple_new(h, 2, NULL);
    rc_str *s = rc_str_new(h, "abc", 3);
    rc_str *c = rc_str_from_cstr(h, "cstr");
    rc_dict *d = rc_dict_new(h);
    rc_val big = rc_int_new(h, INT64_MAX);
    pair *p = rc_new(h, &pair_type);
    pair *v = rc_new_var(h, &pair_type, 16);
    REQUIRE(l && t && s && c && d && rc_is_obj(big) && p && v);
    CHECK_EQ_INT(line_of(l), at);
    CHECK_EQ_INT(line_of(t), at + 1);
    CHECK_EQ_INT(line_of(s), at + 2);
    CHECK_EQ_INT(line_of(c), at + 3);
    CHECK_EQ_INT(line_of(d), at + 4);
    CHECK_EQ_INT(line_of(rc_as_obj(big)), at + 5);
    CHECK_EQ_INT(line_of(p), at + 6);
    CHECK_EQ_INT(line_of(v), at + 7);
    /* the heap argument is evaluated once */
    int evaluated = 0;
    rc_list *once = rc_list_new((evaluated++, h), 0);
    CHECK_EQ_INT(evaluated, 1);
    rc_decref(once);
    rc_val_decref(big);
    rc_decref(v);
    rc_decref(p);
    rc_decref(d);
    rc_decref(c);
    rc_decref(s);
    rc_decref(t);
    rc_decref(l);
    rc_heap_free(h);
}

TEST(a_constructors_site_does_not_stick_to_later_objects)
{
    rc_heap *h = rc_heap_new(NULL);
    REQUIRE(h && rc_trace_start(h, 0) == 0);
    rc_list *l = rc_list_new(h, 0);
    /* rc_new_at with no site, as the library's own allocations are: unknown */
    pair *p = rc_new_at(h, &pair_type, NULL, 0);
    REQUIRE(l && p);
    CHECK_EQ_INT(line_of(p), -1);
    /* a failed constructor leaves no site behind either */
    CHECK(rc_tuple_new(h, SIZE_MAX / 4, NULL) == NULL);
    pair *q = rc_new_at(h, &pair_type, NULL, 0);
    CHECK_EQ_INT(line_of(q), -1);
    rc_decref(q);
    rc_decref(p);
    rc_decref(l);
    rc_heap_free(h);
}

TEST(without_tracing_the_constructors_work_and_record_nothing)
{
    rc_heap *h = rc_heap_new(NULL);
    REQUIRE(h);
    rc_list *l = rc_list_new(h, 0);
    REQUIRE(l);
    CHECK_EQ_INT(line_of(l), -1);
    /* NULL heap: the constructor's own answer, no crash in the wrapper */
    CHECK(rc_list_new(NULL, 0) == NULL);
    rc_decref(l);
    rc_heap_free(h);
}

RC_TEST_MAIN
