/* test_leak.c -- the counting half of the leak tools: counts by type, growth,
 * marks (objects created since), objects held from outside the heap, and the
 * labelled traversal the pictures and snapshots rely on. */
#include "harness.h"
#include "testutil.h"
#include "nodes.h"
#include "failalloc.h"
#include "leak/leak.h"
#include "recycle/leak.h"
#include "recycle/weakref.h"
#include <stdbool.h>
#include <stdlib.h>

NODES_IMPL

static const rc_type record_type = {.name = "record", .size = 32};
static const rc_type record2_type = {.name = "record", .size = 200};   /* same name, other type */

/* ---- counting ---- */

TEST(count_counts_every_live_object_of_a_type_by_name)
{
    rc_heap *h = quiet_heap();
    void *keep[30];
    for (int i = 0; i < 10; i++) keep[i] = rc_list_new(h, 0);
    for (int i = 10; i < 25; i++) keep[i] = rc_str_from_cstr(h, "x");
    for (int i = 25; i < 30; i++) keep[i] = rc_new(h, &node2_type);
    CHECK_EQ_INT(rc_count(h, "list"), 10);
    CHECK_EQ_INT(rc_count(h, "str"), 15);
    CHECK_EQ_INT(rc_count(h, "node2"), 5);
    CHECK_EQ_INT(rc_count(h, "nothing"), 0);
    rc_decref(keep[3]);
    CHECK_EQ_INT(rc_count(h, "list"), 9);
    for (int i = 0; i < 30; i++)
        if (i != 3) rc_decref(keep[i]);
    CHECK_EQ_INT(rc_count(h, "list"), 0);
    rc_heap_free(h);
}

TEST(types_with_the_same_name_count_as_one)
{
    rc_heap *h = quiet_heap();
    void *a = rc_new(h, &record_type), *b = rc_new(h, &record2_type), *c = rc_new(h, &record2_type);
    CHECK_EQ_INT(rc_count(h, "record"), 3);
    size_t n;
    rc_typestat *rows = rc_typestats(h, &n);
    REQUIRE(rows && n == 1);
    CHECK(!strcmp(rows[0].name, "record"));
    CHECK_EQ_INT(rows[0].count, 3);
    CHECK_EQ_INT(rows[0].bytes, rc_self_size(a) + rc_self_size(b) + rc_self_size(c));
    rc_typestat_free(rows);
    rc_decref(a);
    rc_decref(b);
    rc_decref(c);
    rc_heap_free(h);
}

TEST(typestats_sorts_by_count_then_name_and_sums_self_sizes)
{
    rc_heap *h = quiet_heap();
    rc_list *l = rc_list_new(h, 0);
    for (int i = 0; i < 100; i++) rc_list_append(l, rc_int(i));   /* a buffer of its own */
    rc_dict *d1 = rc_dict_new(h), *d2 = rc_dict_new(h);
    rc_dict_set(d1, rc_int(1), rc_int(2));
    rc_str *s1 = rc_str_from_cstr(h, "a"), *s2 = rc_str_from_cstr(h, "b");
    size_t n;
    rc_typestat *rows = rc_typestats(h, &n);
    REQUIRE(rows && n == 3);
    CHECK(!strcmp(rows[0].name, "dict") && rows[0].count == 2);
    CHECK(!strcmp(rows[1].name, "str") && rows[1].count == 2);
    CHECK(!strcmp(rows[2].name, "list") && rows[2].count == 1);
    CHECK_EQ_INT(rows[0].bytes, rc_self_size(d1) + rc_self_size(d2));
    CHECK_EQ_INT(rows[2].bytes, rc_self_size(l));
    CHECK(rc_self_size(l) >= rc_usable_size(l) + 16 + 100 * sizeof(rc_val));
    CHECK(rc_self_size(d1) > rc_self_size(d2));   /* d1 has tables */
    rc_typestat_free(rows);
    rows = rc_most_common_types(h, 2, &n);
    CHECK(rows && n == 2);
    rc_typestat_free(rows);
    rc_decref(l);
    rc_decref(d1);
    rc_decref(d2);
    rc_decref(s1);
    rc_decref(s2);
    rows = rc_typestats(h, &n);
    CHECK(rows == NULL && n == 0);
    rc_heap_free(h);
}

/* sys.getsizeof's __sizeof__: a user type says what it owns outside its
 * block, and rc_self_size and the per-type bytes count it. */
typedef struct owner {
    size_t owned;
} owner;
static size_t owner_extra(const void *o) { return ((const owner *)o)->owned; }
static const rc_type owner_type = {.name = "owner", .size = sizeof(owner), .extra_size = owner_extra};

TEST(self_size_counts_what_a_user_type_says_it_owns)
{
    rc_heap *h = quiet_heap();
    owner *a = rc_new(h, &owner_type), *b = rc_new(h, &owner_type);
    a->owned = 1000;
    CHECK_EQ_INT(rc_self_size(a), rc_usable_size(a) + 16 + 1000);
    CHECK_EQ_INT(rc_self_size(b), rc_usable_size(b) + 16);
    size_t n;
    rc_typestat *rows = rc_typestats(h, &n);
    REQUIRE(rows && n == 1);
    CHECK_EQ_INT(rows[0].bytes, rc_self_size(a) + rc_self_size(b));
    rc_typestat_free(rows);
    rc_decref(a);
    rc_decref(b);
    rc_heap_free(h);
}

/* sys.gettotalrefcount: the sum of every live object's count, so a test can
 * assert that a call kept no reference. */
static rc_heap *tot_heap;
static size_t tot_in_destroy;
static int tot_err_in_destroy;
static void tot_destroy(void *o)
{
    (void)o;
    tot_in_destroy = rc_total_refcount(tot_heap);
    tot_err_in_destroy = rc_heap_error(tot_heap);
}
static const rc_type tot_type = {.name = "tot", .size = 8, .destroy = tot_destroy};

TEST(total_refcount_sums_every_live_objects_count)
{
    rc_heap *h = quiet_heap();
    CHECK_EQ_INT(rc_total_refcount(h), 0);
    node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
    rc_list *l = rc_list_new(h, 0);
    CHECK_EQ_INT(rc_total_refcount(h), 3);
    node_set(a, 0, b);                     /* +1 on b */
    rc_list_append(l, rc_obj(a));          /* +1 on a */
    rc_list_append(l, rc_int(7));          /* an immediate holds nothing */
    CHECK_EQ_INT(rc_total_refcount(h), 5);
    size_t before = rc_total_refcount(h);
    rc_incref(b);                          /* a reference a careless call keeps */
    CHECK_EQ_INT(rc_total_refcount(h) - before, 1);
    rc_decref(b);
    CHECK_EQ_INT(rc_total_refcount(h), before);
    rc_decref(l);
    rc_decref(a);
    rc_decref(b);
    CHECK_EQ_INT(rc_total_refcount(h), 0);
    /* refused while objects are being freed */
    tot_heap = h;
    rc_decref(rc_new(h, &tot_type));
    CHECK(tot_in_destroy == SIZE_MAX);
    CHECK_EQ_INT(tot_err_in_destroy, RC_EBUSY);
    CHECK_EQ_INT(rc_total_refcount(NULL), SIZE_MAX);
    rc_heap_free(h);
}

TEST(show_most_common_types_prints_objgraphs_table)
{
    rc_heap *h = quiet_heap();
    void *keep[6];
    for (int i = 0; i < 3; i++) keep[i] = rc_new(h, &node2_type);
    for (int i = 3; i < 5; i++) keep[i] = rc_list_new(h, 0);
    keep[5] = rc_new(h, &record_type);
    FILE *f = tmpfile();
    CHECK_EQ_INT(rc_show_most_common_types(h, 2, f), 2);
    CHECK(!strcmp(capture(f), "node2 3\nlist  2\n"));
    for (int i = 0; i < 6; i++) rc_decref(keep[i]);
    rc_heap_free(h);
}

TEST(by_type_returns_a_new_list_of_the_objects)
{
    rc_heap *h = quiet_heap();
    node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
    rc_list *l = rc_by_type(h, "node2");
    REQUIRE(l);
    CHECK_EQ_INT(rc_list_len(l), 2);
    CHECK_EQ_INT(rc_refcount(a), 2);
    rc_list *lists = rc_by_type(h, "list");
    CHECK_EQ_INT(rc_list_len(lists), 1);   /* l, not itself */
    CHECK(rc_as_obj(rc_list_get(lists, 0)) == l);
    CHECK(rc_by_type(h, NULL) == NULL && rc_heap_error(h) == RC_EINVAL);
    rc_decref(lists);
    rc_decref(l);
    rc_decref(a);
    rc_decref(b);
    rc_heap_free(h);
}

/* ---- growth ---- */

TEST(growth_reports_every_type_first_then_only_what_grew)
{
    rc_heap *h = quiet_heap();
    rc_growth *g = rc_growth_new(h);
    rc_list *keep = rc_list_new(h, 0);
    for (int i = 0; i < 5; i++) {
        node *n = rc_new(h, &node2_type);
        rc_list_append(keep, rc_obj(n));
        rc_decref(n);
    }
    size_t n;
    rc_growth_row *rows = rc_growth_check(g, 0, 0, &n);
    REQUIRE(rows && n == 2);
    CHECK(!strcmp(rows[0].name, "node2") && rows[0].count == 5 && rows[0].delta == 5);
    CHECK(!strcmp(rows[1].name, "list") && rows[1].count == 1 && rows[1].delta == 1);
    rc_growth_row_free(rows);
    rows = rc_growth_check(g, 0, 0, &n);
    CHECK(rows == NULL && n == 0);
    for (int i = 0; i < 3; i++) {
        void *r = rc_new(h, &record_type);
        rc_list_append(keep, rc_obj(r));
        rc_decref(r);
    }
    rc_list_pop(keep, 0, NULL);   /* one node2 fewer: below its peak, not growth */
    rows = rc_growth_check(g, 0, 0, &n);
    REQUIRE(rows && n == 1);
    CHECK(!strcmp(rows[0].name, "record") && rows[0].count == 3 && rows[0].delta == 3);
    rc_growth_row_free(rows);
    /* Back to the peak is not growth; above it is, by the excess only. */
    node *x = rc_new(h, &node2_type), *y = rc_new(h, &node2_type);
    rows = rc_growth_check(g, 0, 0, &n);
    REQUIRE(rows && n == 1);
    CHECK(rows[0].count == 6 && rows[0].delta == 1);
    rc_growth_row_free(rows);
    rc_decref(x);
    rc_decref(y);
    rc_decref(keep);
    rc_growth_free(g);
    rc_heap_free(h);
}

static void make_garbage_cycles(rc_heap *h, int n)
{
    for (int i = 0; i < n; i++) {
        node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
        node_set(a, 0, b);
        node_set(b, 0, a);
        rc_decref(a);
        rc_decref(b);
    }
}

TEST(growth_collects_first_unless_asked_not_to)
{
    rc_heap *h = quiet_heap();
    rc_growth *g = rc_growth_new(h);
    size_t n;
    rc_growth_row_free(rc_growth_check(g, 0, 0, &n));
    make_garbage_cycles(h, 10);
    rc_growth_row *rows = rc_growth_check(g, 0, 0, &n);
    CHECK(rows == NULL && n == 0);   /* the collection freed them */
    make_garbage_cycles(h, 10);
    rows = rc_growth_check(g, 0, RC_LEAK_NO_COLLECT, &n);
    REQUIRE(rows && n == 1);
    CHECK(!strcmp(rows[0].name, "node2") && rows[0].delta == 20);
    rc_growth_row_free(rows);
    CHECK_EQ_INT(rc_count(h, "node2"), 20);
    rc_gc_collect(h, 2);
    make_garbage_cycles(h, 30);
    rows = rc_growth_check(g, 0, RC_LEAK_COLLECT_YOUNG, &n);
    CHECK(rows == NULL && n == 0);   /* young garbage: a young collection is enough */
    rc_growth_free(g);
    rc_heap_free(h);
}

TEST(growth_limit_keeps_the_biggest_increases_and_still_raises_every_peak)
{
    rc_heap *h = quiet_heap();
    rc_growth *g = rc_growth_new(h);
    rc_list *keep = rc_list_new(h, 0);
    const rc_type *types[] = {&node2_type, &node4_type, &record_type};
    for (int t = 0; t < 3; t++)
        for (int i = 0; i <= t; i++) {
            void *o = rc_new(h, types[t]);
            rc_list_append(keep, rc_obj(o));
            rc_decref(o);
        }
    size_t n;
    rc_growth_row *rows = rc_growth_check(g, 1, 0, &n);
    REQUIRE(rows && n == 1);
    CHECK(!strcmp(rows[0].name, "record") && rows[0].delta == 3);
    rc_growth_row_free(rows);
    rows = rc_growth_check(g, 0, 0, &n);
    CHECK(rows == NULL && n == 0);
    rc_decref(keep);
    rc_growth_free(g);
    rc_heap_free(h);
}

TEST(show_growth_prints_objgraphs_columns)
{
    rc_heap *h = quiet_heap();
    rc_growth *g = rc_growth_new(h);
    void *keep[3];
    for (int i = 0; i < 3; i++) keep[i] = rc_new(h, &record_type);
    FILE *f = tmpfile();
    CHECK_EQ_INT(rc_show_growth(g, 0, 0, f), 1);
    CHECK(!strcmp(capture(f), "record        3        +3\n"));
    f = tmpfile();
    CHECK_EQ_INT(rc_show_growth(g, 0, 0, f), 0);
    CHECK(!strcmp(capture(f), ""));
    for (int i = 0; i < 3; i++) rc_decref(keep[i]);
    rc_growth_free(g);
    rc_heap_free(h);
}

TEST(growth_calls_leave_the_peaks_alone_when_memory_runs_out)
{
    rc_heap *h = fa_heap_new();
    rc_gc_disable(h);
    rc_growth *g = rc_growth_new(h);
    void *keep[4];
    for (int i = 0; i < 4; i++) keep[i] = rc_new(h, &record_type);
    size_t n;
    long failures = fa_failures;
    rc_growth_row *rows = NULL;
    for (long k = 0; k < 50 && !rows; k++) {
        fa_arm(k);
        rows = rc_growth_check(g, 0, RC_LEAK_NO_COLLECT, &n);
        fa_disarm();
        if (!rows) CHECK_EQ_INT(rc_heap_error(h), RC_ENOMEM);
    }
    CHECK(fa_failures > failures);
    REQUIRE(rows && n == 1);
    CHECK(rows[0].delta == 4);   /* the failed calls raised no peak */
    rc_growth_row_free(rows);
    for (int i = 0; i < 4; i++) rc_decref(keep[i]);
    rc_growth_free(g);
    rc_heap_free(h);
}

/* ---- marks ---- */

TEST(new_since_lists_exactly_the_objects_created_after_the_mark)
{
    rc_heap *h = quiet_heap();
    node *old = rc_new(h, &node2_type);
    rc_mark *m = rc_mark_new(h);
    REQUIRE(m);
    node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
    rc_str *s = rc_str_from_cstr(h, "new");
    rc_list *l = rc_mark_new_objects(m, NULL);
    REQUIRE(l);
    CHECK_EQ_INT(rc_list_len(l), 3);
    rc_decref(l);
    l = rc_mark_new_objects(m, "node2");
    CHECK_EQ_INT(rc_list_len(l), 2);
    bool has_a = false, has_old = false;
    for (size_t i = 0; i < rc_list_len(l); i++) {
        void *o = rc_as_obj(rc_list_get(l, i));
        has_a |= o == a;
        has_old |= o == old;
    }
    CHECK(has_a && !has_old);
    rc_decref(l);
    CHECK_EQ_INT(rc_mark_update(m), 0);
    l = rc_mark_new_objects(m, NULL);
    CHECK_EQ_INT(rc_list_len(l), 0);
    rc_decref(l);
    rc_decref(old);
    rc_decref(a);
    rc_decref(b);
    rc_decref(s);
    rc_mark_free(m);
    rc_heap_free(h);
}

TEST(get_new_ids_prints_old_now_new_and_moves_the_mark)
{
    rc_heap *h = quiet_heap();
    node *keep[6];
    keep[0] = rc_new(h, &node2_type);
    rc_mark *m = rc_mark_new(h);
    for (int i = 1; i < 6; i++) keep[i] = rc_new(h, &node2_type);
    FILE *f = tmpfile();
    rc_list *l = rc_get_new_ids(m, 0, RC_LEAK_SKIP_UPDATE, f);
    REQUIRE(l);
    CHECK_EQ_INT(rc_list_len(l), 5);
    rc_decref(l);
    const char *text = capture(f);
    CHECK(!strcmp(text, "type        old       now       new\n"
                        "node2         1         6        +5\n"));
    l = rc_get_new_ids(m, 0, 0, NULL);   /* skipped update: the same 5 */
    CHECK_EQ_INT(rc_list_len(l), 5);
    rc_decref(l);
    l = rc_get_new_ids(m, 0, 0, NULL);   /* moved: nothing new */
    CHECK_EQ_INT(rc_list_len(l), 0);
    rc_decref(l);
    for (int i = 0; i < 6; i++) rc_decref(keep[i]);
    rc_mark_free(m);
    rc_heap_free(h);
}

TEST(a_mark_sees_a_reused_block_as_old_unless_tracing_makes_it_exact)
{
    rc_heap *h = quiet_heap();
    node *a = rc_new(h, &node2_type);
    rc_mark *m = rc_mark_new(h);
    rc_decref(a);
    node *b = rc_new(h, &node2_type);   /* takes a's block */
    /* Debug and sanitized builds keep freed blocks in a quarantine before
     * reuse: allocate and free until a's block comes back. */
    for (int i = 0; i < 4096 && (void *)b != (void *)a; i++) {
        rc_decref(b);
        b = rc_new(h, &node2_type);
    }
    if ((void *)b == (void *)a) {
        rc_list *l = rc_mark_new_objects(m, "node2");
        CHECK_EQ_INT(rc_list_len(l), 0);    /* the documented blind spot */
        rc_decref(l);
    } else {
        /* Malloc mode: every object is a fresh allocation, blocks are not reused. */
        REQUIRE(getenv("RC_MALLOC") && strcmp(getenv("RC_MALLOC"), "malloc") == 0);
    }
    rc_decref(b);
    /* With tracing on from before the mark, serials decide. */
    REQUIRE(rc_trace_start(h, 0) == 0);
    a = rc_new(h, &node2_type);
    CHECK_EQ_INT(rc_mark_update(m), 0);
    rc_decref(a);
    b = rc_new(h, &node2_type);
    for (int i = 0; i < 4096 && (void *)b != (void *)a; i++) {
        rc_decref(b);
        b = rc_new(h, &node2_type);
    }
    rc_list *l = rc_mark_new_objects(m, "node2");
    CHECK_EQ_INT(rc_list_len(l), 1);
    rc_decref(l);
    rc_decref(b);
    rc_trace_stop(h);
    rc_mark_free(m);
    rc_heap_free(h);
}

/* ---- holders from outside ---- */

TEST(external_refs_is_refcount_minus_references_from_the_heap)
{
    rc_heap *h = quiet_heap();
    rc_list *l = rc_list_new(h, 0);
    node *n = rc_new(h, &node2_type);
    rc_list_append(l, rc_obj(n));
    rc_list_append(l, rc_obj(n));
    CHECK_EQ_INT(rc_external_refs(n), 1);   /* ours */
    CHECK_EQ_INT(rc_external_refs(l), 1);
    rc_incref(n);   /* a forgotten rc_decref */
    CHECK_EQ_INT(rc_external_refs(n), 2);
    rc_decref(n);
    rc_decref(n);
    CHECK_EQ_INT(rc_external_refs(n), 0);   /* held by l alone */
    rc_decref(l);
    rc_heap_free(h);
}

TEST(get_roots_lists_the_objects_held_from_outside)
{
    rc_heap *h = quiet_heap();
    rc_dict *d = rc_dict_new(h);
    rc_str *k = rc_str_from_cstr(h, "k");
    rc_list *l = rc_list_new(h, 0);
    rc_dict_set(d, rc_obj(k), rc_obj(l));
    rc_decref(k);
    rc_decref(l);
    node *leak = rc_new(h, &node2_type);
    rc_incref(leak);
    size_t n;
    rc_root *roots = rc_get_roots(h, NULL, &n);
    REQUIRE(roots && n == 2);
    for (size_t i = 0; i < n; i++) {
        if (roots[i].obj == d) CHECK_EQ_INT(roots[i].external, 1);
        else if (roots[i].obj == leak) CHECK_EQ_INT(roots[i].external, 2);
        else CHECK(!"unexpected root");
    }
    rc_root_free(roots);
    rc_refindex *idx = rc_refindex_build(h);
    roots = rc_get_roots(h, idx, &n);
    CHECK(roots && n == 2);
    rc_root_free(roots);
    rc_refindex_free(idx);
    FILE *f = tmpfile();
    CHECK_EQ_INT(rc_show_roots(h, 0, f), 3);
    const char *text = capture(f);
    CHECK(strstr(text, "type    objects  references\n") == text);
    CHECK(strstr(text, "node2         1           2\n") != NULL);
    CHECK(strstr(text, "dict          1           1\n") != NULL);
    rc_decref(leak);
    rc_decref(leak);
    rc_decref(d);
    rc_heap_free(h);
}

/* ---- block numbers ---- */

TEST(block_numbers_are_distinct_below_nslots_and_only_for_the_numbered_heap)
{
    rc_heap *h = quiet_heap(), *other = quiet_heap();
    enum { N = 3000 };
    static void *objs[N];
    for (int i = 0; i < N; i++)
        objs[i] = i % 3 == 0 ? (void *)rc_new(h, &node2_type)
                  : i % 3 == 1 ? (void *)rc_str_from_cstr(h, "s")
                               : (void *)rc_list_new(h, 0);
    void *big = rc_new_var(h, &node2_type, 100000);   /* a large page */
    void *far = rc_new(other, &node2_type);
    rc_blockids x;
    CHECK(rc__blockids_init(h, &x, "test"));
    uint64_t *seen = calloc((x.nslots + 63) / 64, sizeof *seen);
    for (int i = 0; i <= N; i++) {
        size_t id = rc__blockid(&x, RC_HEAD(i < N ? objs[i] : big));
        CHECK(id < x.nslots);
        CHECK(!lk_bit(seen, id));
        lk_bit_set(seen, id);
    }
    CHECK_EQ_INT(rc__blockid(&x, RC_HEAD(far)), SIZE_MAX);
    void *later = rc_new(h, &cbnode_type);   /* made since the numbering: none */
    CHECK_EQ_INT(rc__blockid(&x, RC_HEAD(later)), SIZE_MAX);
    free(seen);
    rc__blockids_free(&x);
    rc_decref(later);
    rc_decref(far);
    rc_decref(big);
    for (int i = 0; i < N; i++) rc_decref(objs[i]);
    rc_heap_free(other);
    rc_heap_free(h);
}

/* ---- labelled references ---- */

typedef struct multiset {
    rc_head *kids[64];
    int n;
} multiset;

static void ms_add(rc_head *child, void *ctx)
{
    multiset *m = ctx;
    if (m->n < 64) m->kids[m->n++] = child;
}

static void ms_add_edge(rc_head *child, const rc_edge *e, void *ctx)
{
    (void)e;
    ms_add(child, ctx);
}

static int cmp_ptr(const void *a, const void *b)
{
    const void *x = *(void *const *)a, *y = *(void *const *)b;
    return x < y ? -1 : x > y;
}

static void check_same_children(rc_head *o)
{
    multiset a = {.n = 0}, b = {.n = 0};
    rc__foreach_ref(o, ms_add, &a);
    rc__foreach_edge(o, ms_add_edge, &b);
    CHECK_EQ_INT(a.n, b.n);
    qsort(a.kids, (size_t)a.n, sizeof a.kids[0], cmp_ptr);
    qsort(b.kids, (size_t)b.n, sizeof b.kids[0], cmp_ptr);
    CHECK(!memcmp(a.kids, b.kids, (size_t)a.n * sizeof a.kids[0]));
}

static void check_label(void *from, void *to, const char *want)
{
    char buf[256];
    lk_label_between(RC_HEAD(from), RC_HEAD(to), buf, sizeof buf);
    if (strcmp(buf, want)) fprintf(stderr, "  label '%s', want '%s'\n", buf, want);
    CHECK(!strcmp(buf, want));
}

TEST(labelled_traversal_reports_what_foreach_ref_reports_with_labels)
{
    rc_heap *h = quiet_heap();
    node *a = rc_new(h, &node2_type), *b = rc_new(h, &node4_type), *c = rc_new(h, &cbnode_type);
    rc_list *l = rc_list_new(h, 0);
    rc_tuple *t = rc_tuple_new(h, 3, NULL);
    rc_dict *d = rc_dict_new(h);
    rc_str *k = rc_str_from_cstr(h, "name \"q\"");
    node_set(b, 1, a);
    node_set(b, 3, c);
    node_set(c, 2, a);
    rc_list_append(l, rc_int(7));
    rc_list_append(l, rc_obj(a));
    rc_list_append(l, rc_obj(b));
    rc_list_append(l, rc_obj(a));
    rc_tuple_set(t, 2, rc_obj(l));
    rc_dict_set(d, rc_obj(k), rc_obj(a));
    rc_dict_set(d, rc_int(42), rc_obj(b));
    rc_dict_set(d, rc_obj(a), rc_obj(c));
    rc_weakref *w = rc_weakref_new_owned(a, NULL, l);
    void *all[] = {a, b, c, l, t, d, w};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) check_same_children(RC_HEAD(all[i]));
    check_label(b, a, "slot 1");
    check_label(b, c, "slot 3");
    check_label(c, a, "ref 0");   /* the first reference reported */
    check_label(l, a, "[1], [3]");
    check_label(l, b, "[2]");
    check_label(t, l, "[2]");
    check_label(d, k, "key");
    check_label(d, a, "[\"name \"q\"\"], key");
    check_label(d, b, "[42]");
    check_label(w, l, "ref 0");
    check_label(a, b, "");
    char buf[64];
    lk_short_repr(RC_HEAD(l), buf, sizeof buf);
    CHECK(!strcmp(buf, "4 items"));
    lk_short_repr(RC_HEAD(d), buf, sizeof buf);
    CHECK(!strcmp(buf, "3 keys"));
    lk_short_repr(RC_HEAD(k), buf, sizeof buf);
    CHECK(!strcmp(buf, "\"name \"q\"\""));
    lk_short_repr(RC_HEAD(w), buf, sizeof buf);
    CHECK(!strcmp(buf, "-> node2"));
    rc_str *longs = rc_str_from_cstr(h, "abcdefghijklmnopqrstuvwx\xc3\xa9yz");
    lk_short_repr(RC_HEAD(longs), buf, sizeof buf);
    CHECK(!strcmp(buf, "\"abcdefghijklmnopqrstuvwx...\""));   /* never half a character */
    rc_decref(longs);
    void *objs[] = {w, d, t, l, k, c, b, a};
    for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++) rc_decref(objs[i]);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(rc_count(h, "node2"), 0);
    rc_heap_free(h);
}

/* ---- allocation sites ---- */

TEST(traced_objects_know_their_site_and_untraced_ones_do_not)
{
    rc_heap *h = quiet_heap();
    node *before = rc_new(h, &node2_type);
    CHECK(!rc_trace_is_tracing(h));
    REQUIRE(rc_trace_start(h, 0) == 0);
    CHECK(rc_trace_is_tracing(h));
    node *a = rc_new_at(h, &node2_type, "alpha.c", 10);
    node *b = rc_new(h, &node2_type);   /* no site given */
    const char *file = NULL;
    int line = 0;
    CHECK(rc_trace_site(a, &file, &line) == 1 && !strcmp(file, "alpha.c") && line == 10);
    CHECK(rc_trace_site(b, &file, &line) == 0);
    CHECK(rc_trace_site(before, &file, &line) == 0);
    rc_trace_stop(h);
    CHECK(rc_trace_site(a, &file, &line) == 0);
    rc_decref(a);
    rc_decref(b);
    rc_decref(before);
    rc_heap_free(h);
}

static const rc_trace_stat *row_of(const rc_trace_stat *rows, size_t n, const char *file, int line)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(rows[i].file, file) && rows[i].line == line) return &rows[i];
    return NULL;
}

TEST(trace_snapshots_group_by_site_and_compare_like_tracemalloc)
{
    rc_heap *h = quiet_heap();
    node *untraced = rc_new(h, &node2_type);
    REQUIRE(rc_trace_start(h, 0) == 0);
    void *keep[40];
    int k = 0;
    for (int i = 0; i < 10; i++) keep[k++] = rc_new_at(h, &node2_type, "a.c", 1);
    /* The same place through another pointer to an equal string. */
    char other[] = "a.c";
    for (int i = 0; i < 5; i++) keep[k++] = rc_new_at(h, &node2_type, other, 1);
    rc_trace_snapshot *s1 = rc_trace_take_snapshot(h);
    REQUIRE(s1);
    size_t n;
    rc_trace_stat *rows = rc_trace_statistics(s1, &n);
    REQUIRE(rows && n == 2);
    const rc_trace_stat *r = row_of(rows, n, "a.c", 1);
    REQUIRE(r);
    CHECK_EQ_INT(r->count, 15);
    CHECK_EQ_INT(r->size, 15 * rc_self_size(untraced));
    r = row_of(rows, n, "?", 0);
    CHECK(r && r->count == 1);   /* the object from before tracing */
    CHECK(rows[0].size >= rows[1].size);
    rc_trace_stat_free(rows);
    for (int i = 0; i < 20; i++) keep[k++] = rc_list_new(h, 0);   /* no site: "?" */
    for (int i = 0; i < 5; i++) keep[k++] = rc_new_at(h, &record_type, "b.c", 2);
    for (int i = 0; i < 10; i++) rc_decref(keep[i]);   /* a.c loses 10 */
    rc_trace_snapshot *s2 = rc_trace_take_snapshot(h);
    rows = rc_trace_compare(s2, s1, &n);
    REQUIRE(rows && n == 3);
    r = row_of(rows, n, "a.c", 1);
    CHECK(r && r->count == 5 && r->count_diff == -10 && r->diff);
    r = row_of(rows, n, "b.c", 2);
    CHECK(r && r->count == 5 && r->count_diff == 5);
    r = row_of(rows, n, "?", 0);
    CHECK(r && r->count == 21 && r->count_diff == 20);
    for (size_t i = 1; i < n; i++) {
        long long prev = rows[i - 1].size_diff < 0 ? -rows[i - 1].size_diff : rows[i - 1].size_diff;
        long long cur = rows[i].size_diff < 0 ? -rows[i].size_diff : rows[i].size_diff;
        CHECK(prev >= cur);
    }
    FILE *f = tmpfile();
    rc_trace_print(rows, n, 10, f);
    const char *text = capture(f);
    CHECK(strstr(text, "b.c:2: size=") != NULL);
    CHECK(strstr(text, "count=5 (+5), average=") != NULL);
    CHECK(strstr(text, "a.c:1: size=") != NULL && strstr(text, "count=5 (-10)") != NULL);
    rc_trace_stat_free(rows);
    /* A site gone from the newer snapshot shows with negative differences. */
    rows = rc_trace_compare(s1, s2, &n);
    r = row_of(rows, n, "b.c", 2);
    CHECK(r && r->count == 0 && r->count_diff == -5 && r->size_diff < 0);
    rc_trace_stat_free(rows);
    rc_trace_snapshot_free(s1);
    rc_trace_stop(h);
    rows = rc_trace_statistics(s2, &n);   /* snapshots outlive tracing */
    CHECK(rows && n == 3);
    rc_trace_stat_free(rows);
    rc_trace_snapshot_free(s2);
    CHECK(rc_trace_take_snapshot(h) == NULL && rc_heap_error(h) == RC_EINVAL);
    for (int i = 10; i < k; i++) rc_decref(keep[i]);
    rc_decref(untraced);
    rc_heap_free(h);
}

static __attribute__((noinline)) void *make_deep(rc_heap *h)
{
    void *o = rc_new(h, &node2_type);
    __asm__ volatile("" ::: "memory");   /* no tail call: this frame stays */
    return o;
}

TEST(trace_depth_records_a_backtrace_per_site)
{
    rc_heap *h = quiet_heap();
    REQUIRE(rc_trace_start(h, 4) == 0);
    void *ab[2];
    for (int i = 0; i < 2; i++) ab[i] = make_deep(h);
    rc_trace_snapshot *s = rc_trace_take_snapshot(h);
    size_t n, total = 0;
    rc_trace_stat *rows = rc_trace_statistics(s, &n);
    REQUIRE(rows && n >= 1 && n <= 2);   /* one site per distinct backtrace */
    for (size_t r = 0; r < n; r++) {
        total += rows[r].count;
        CHECK(rows[r].nframes >= 1 && rows[r].nframes <= 4);
        for (unsigned i = 0; i < rows[r].nframes; i++) CHECK(rows[r].frames[i][0] != 0);
        CHECK(!strcmp(rows[r].file, "?"));
    }
    CHECK_EQ_INT(total, 2);
    FILE *f = tmpfile();
    rc_trace_print(rows, n, 0, f);
    CHECK(strstr(capture(f), "\n    ") != NULL);   /* frames under the site */
    rc_trace_stat_free(rows);
    rc_trace_snapshot_free(s);
    rc_trace_stop(h);
    rc_decref(ab[0]);
    rc_decref(ab[1]);
    rc_heap_free(h);
}

TEST(trace_books_forget_dead_objects_and_survive_growth)
{
    rc_heap *h = quiet_heap();
    REQUIRE(rc_trace_start(h, 0) == 0);
    enum { N = 5000 };
    static void *objs[N];
    for (int i = 0; i < N; i++) objs[i] = rc_new_at(h, &node2_type, "c.c", i % 7);
    for (int i = 0; i < N; i += 2) rc_decref(objs[i]);
    make_garbage_cycles(h, 100);
    rc_gc_collect(h, 2);   /* deaths in a collection leave the books too */
    rc_trace_snapshot *s = rc_trace_take_snapshot(h);
    size_t n, total = 0;
    rc_trace_stat *rows = rc_trace_statistics(s, &n);
    for (size_t i = 0; i < n; i++) total += rows[i].count;
    CHECK_EQ_INT(total, N / 2);
    for (int i = 1; i < N; i += 2) {
        const char *file;
        int line;
        CHECK(rc_trace_site(objs[i], &file, &line) && line == i % 7);
    }
    rc_trace_stat_free(rows);
    rc_trace_snapshot_free(s);
    for (int i = 1; i < N; i += 2) rc_decref(objs[i]);
    rc_trace_stop(h);
    rc_heap_free(h);
}

/* ---- refusals ---- */

static rc_heap *busy_heap;
static int busy_errors;

static void call_during_free(void *obj)
{
    (void)obj;
    size_t n;
    busy_errors += rc_count(busy_heap, "x") == 0 && rc_heap_error(busy_heap) == RC_EBUSY;
    busy_errors += rc_typestats(busy_heap, &n) == NULL && rc_heap_error(busy_heap) == RC_EBUSY;
    busy_errors += rc_mark_new(busy_heap) == NULL && rc_heap_error(busy_heap) == RC_EBUSY;
    busy_errors += rc_get_roots(busy_heap, NULL, &n) == NULL && rc_heap_error(busy_heap) == RC_EBUSY;
}

static const rc_type busy_type = {.name = "busy", .size = 8, .destroy = call_during_free};

/* ---- result arrays ---- */

/* Blocks the heap's allocator has handed out and not taken back. */
static long live_blocks;
static void *counting_realloc(void *ud, void *p, size_t size)
{
    if (!p && size) live_blocks++;
    else if (p && !size) live_blocks--;
    return rc_system_allocator.realloc(ud, p, size);
}

TEST(each_result_array_goes_back_to_the_heaps_allocator_through_its_own_free)
{
    rc_heap_config cfg;
    rc_heap_config_init(&cfg);
    cfg.leak_report = NULL;
    cfg.allocator.realloc = counting_realloc;
    rc_heap *h = rc_heap_new(&cfg);
    REQUIRE(h);
    REQUIRE(rc_trace_start(h, 0) == 0);
    node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
    node_set(a, 0, b);   /* b is held by a alone; a from outside */
    rc_decref(b);
    rc_growth *g = rc_growth_new(h);
    rc_domtree *t = rc_domtree_build(h, NULL);
    rc_trace_snapshot *s = rc_trace_take_snapshot(h);
    REQUIRE(g && t && s);
    size_t n = 0;
    long with;   /* blocks out while a result array lives */

    rc_typestat *types = rc_typestats(h, &n);
    CHECK(types && n == 1);
    with = live_blocks;
    rc_typestat_free(types);
    CHECK_EQ_INT(live_blocks, with - 1);

    rc_growth_row *grew = rc_growth_check(g, 0, RC_LEAK_NO_COLLECT, &n);
    CHECK(grew && n == 1);
    with = live_blocks;
    rc_growth_row_free(grew);
    CHECK_EQ_INT(live_blocks, with - 1);

    rc_root *roots = rc_get_roots(h, NULL, &n);
    CHECK(roots && n == 1);
    with = live_blocks;
    rc_root_free(roots);
    CHECK_EQ_INT(live_blocks, with - 1);
    roots = rc_domtree_top(t, 2, &n);
    CHECK(roots && n == 2);
    with = live_blocks;
    rc_root_free(roots);
    CHECK_EQ_INT(live_blocks, with - 1);

    rc_trace_stat *sites = rc_trace_statistics(s, &n);
    CHECK(sites && n == 1);
    with = live_blocks;
    rc_trace_stat_free(sites);
    CHECK_EQ_INT(live_blocks, with - 1);

    rc_typestat_free(NULL);
    rc_growth_row_free(NULL);
    rc_root_free(NULL);
    rc_trace_stat_free(NULL);
    CHECK_EQ_INT(live_blocks, with - 1);
    rc_trace_snapshot_free(s);
    rc_domtree_free(t);
    rc_growth_free(g);
    rc_trace_stop(h);
    rc_decref(a);
    rc_heap_free(h);
    CHECK_EQ_INT(live_blocks, 0);
}

TEST(walks_are_refused_while_objects_are_being_freed)
{
    rc_heap *h = quiet_heap();
    busy_heap = h;
    busy_errors = 0;
    rc_list *l = rc_list_new(h, 0);
    void *b = rc_new(h, &busy_type);
    rc_list_append(l, rc_obj(b));
    rc_decref(b);
    rc_decref(l);   /* b dies inside l's free burst */
    CHECK_EQ_INT(busy_errors, 4);
    rc_heap_free(h);
}

RC_TEST_MAIN
