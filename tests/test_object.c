/* test_object.c -- objects and reference counting: creation, the instant free
 * on the last rc_decref, chains freed without recursion, errors; and the
 * library's version. */
#include "harness.h"
#include "nodes.h"
#include "recycle/gc.h"
#include <stdlib.h>

NODES_IMPL

static int destroyed;
static void count_destroy(void *obj) { (void)obj; destroyed++; }
static const rc_type counted_type = {
    .name = "counted", .size = sizeof(node), .nslots = 2, .destroy = count_destroy,
};

TEST(version_string_and_number_are_the_header_macros)
{
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", RC_VERSION_MAJOR, RC_VERSION_MINOR, RC_VERSION_PATCH);
    REQUIRE(rc_version() != NULL);
    CHECK(!strcmp(rc_version(), want));
    CHECK_EQ_INT(rc_version_number(), RC_VERSION_NUMBER);
    CHECK_EQ_INT(RC_VERSION_NUMBER, RC_VERSION_MAJOR * 10000 + RC_VERSION_MINOR * 100 + RC_VERSION_PATCH);
}

TEST(new_object_has_one_reference_and_zeroed_memory)
{
    rc_heap *h = rc_heap_new(NULL);
    node *n = rc_new(h, &node2_type);
    REQUIRE(n);
    CHECK_EQ_INT(rc_refcount(n), 1);
    CHECK(n->slot[0] == NULL && n->slot[1] == NULL && n->payload == 0);
    CHECK(rc_typeof(n) == &node2_type);
    CHECK(rc_heap_of(n) == h);
    CHECK(rc_usable_size(n) >= sizeof(node));
    rc_decref(n);
    rc_heap_free(h);
}

/* rc_new zero-fills exactly the user part, whatever its size: on a block
 * that held garbage, and without writing past it into the next block of
 * the page (a fresh heap's first two blocks are neighbours). Every size up
 * to 136 bytes, slots and plain types. */
TEST(new_object_is_zeroed_at_every_small_size_and_its_neighbour_untouched)
{
    for (size_t size = 0; size <= 136; size++) {
        for (int slots = 0; slots < 2; slots++) {
            rc_heap *h = rc_heap_new(NULL);
            size_t nslots = slots && size >= 8, from = nslots * 8;   /* the slot stays NULL */
            rc_type t = {.name = "sized", .size = size, .nslots = (uint32_t)nslots};
            unsigned char *a = rc_new(h, &t), *b = rc_new(h, &t);
            REQUIRE(a && b);
            memset(a + from, 0xAB, size - from);
            memset(b + from, 0xCD, size - from);
            rc_decref(a);
            unsigned char *c = rc_new(h, &t);   /* a's block again, or another */
            REQUIRE(c);
            size_t nonzero = 0, changed = 0;
            for (size_t k = 0; k < size; k++) nonzero += c[k] != 0;
            for (size_t k = from; k < size; k++) changed += b[k] != 0xCD;
            CHECK_EQ_INT(nonzero, 0);
            CHECK_EQ_INT(changed, 0);
            CHECK(rc_typeof(c) == &t && rc_typeof(b) == &t);
            CHECK_EQ_INT(rc_refcount(c), 1);
            CHECK_EQ_INT(rc_refcount(b), 1);
            rc_decref(c);
            rc_decref(b);
            rc_heap_free(h);
        }
    }
}

TEST(last_decref_frees_at_once_and_releases_children)
{
    rc_heap *h = rc_heap_new(NULL);
    destroyed = 0;
    node *a = rc_new(h, &counted_type), *b = rc_new(h, &counted_type);
    node_set(a, 0, b);
    rc_decref(b);
    CHECK_EQ_INT(rc_refcount(b), 1);
    rc_incref(a);
    rc_decref(a);
    CHECK_EQ_INT(destroyed, 0);
    rc_decref(a);
    CHECK_EQ_INT(destroyed, 2);
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.objects, 0);
    rc_heap_free(h);
}

/* A dying plain object (slots, no hooks) drops each reference as rc_decref
 * would: a shared child loses one, an old child kept by a cycle becomes a
 * candidate (so the next young collection frees the cycle), a sole child
 * dies with it. */
TEST(a_dying_object_drops_each_reference_as_rc_decref_would)
{
    rc_heap *h = rc_heap_new(NULL);
    node *x = rc_new(h, &node2_type), *y = rc_new(h, &node2_type);
    node *p = rc_new(h, &node4_type), *shared = rc_new(h, &node2_type);
    node *sole = rc_new(h, &leaf_type);
    node_set(x, 0, y);
    node_set(y, 0, x);
    node_set(p, 0, shared);
    node_set(p, 1, x);
    node_set(p, 3, sole);
    rc_decref(sole);
    rc_decref(y);
    rc_decref(x);             /* x: held by y and p; the cycle lives through p */
    rc_gc_collect(h, 2);      /* everything survives into the old generation */
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.objects, 5);
    CHECK_EQ_INT(rc_refcount(shared), 2);

    rc_decref(p);             /* p and sole die; x becomes a candidate */
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.objects, 3);
    CHECK_EQ_INT(rc_refcount(shared), 1);
    CHECK_EQ_INT(rc_refcount(x), 1);
    rc_gc_collect(h, 0);      /* a young collection scans the candidates */
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.objects, 1);
    rc_decref(shared);
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.objects, 0);
    rc_heap_free(h);
}

TEST(dropping_the_head_of_a_ten_million_chain_does_not_recurse)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_gc_disable(h);
    destroyed = 0;
    /* Malloc mode (RC_MALLOC=malloc) costs a page of memory per object. */
    size_t n = getenv("RC_MALLOC") ? 20000 : getenv("RC_TEST_QUICK") ? 200000 : 10000000;
    node *head = rc_new(h, &counted_type);
    node *cur = head;
    for (size_t i = 1; i < n; i++) {
        node *next = rc_new(h, &counted_type);
        cur->slot[0] = next;   /* cur takes over our reference */
        cur = next;
    }
    rc_decref(head);
    CHECK_EQ_INT(destroyed, n);
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.objects, 0);
    CHECK(st.page_bytes <= 2 * RC_PAGE_SIZE * 64);
    rc_heap_free(h);
}

/* A structure of plain slots objects (no destroy, no hooks), some of it
 * promoted, dropped from its root: each node past the root dies inside the
 * root's free, one after another with no recursion, and comes off the
 * generation counts and the young count. */
TEST(a_plain_structure_dies_from_its_root_without_recursion_and_off_the_books)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_gc_disable(h);
    size_t n = getenv("RC_MALLOC") ? 20000 : getenv("RC_TEST_QUICK") ? 200000 : 4000000;
    node *head = rc_new(h, &node2_type);
    node *cur = head;
    for (size_t i = 1; i < n; i++) {
        node *next = rc_new(h, &node2_type), *leaf = rc_new(h, &node2_type);
        cur->slot[0] = next;   /* cur takes over our references */
        next->slot[1] = leaf;
        cur = next;
        if (i == n / 2) rc_gc_collect(h, 1);   /* the first half is old */
    }
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.objects, 2 * n - 1);
    CHECK(st.gen_objects[2] > 0 && st.gen_objects[0] > 0);
    rc_decref(head);
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.objects, 0);
    CHECK_EQ_INT(st.tracked, 0);
    CHECK_EQ_INT(st.gen_objects[0] + st.gen_objects[1] + st.gen_objects[2], 0);
    size_t counts[3];
    rc_gc_get_count(h, counts);
    CHECK_EQ_INT(counts[0], 0);
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    rc_heap_free(h);
}

TEST(untracked_types_are_not_counted_by_the_collector)
{
    rc_heap *h = rc_heap_new(NULL);
    void *l = rc_new(h, &leaf_type);
    void *n = rc_new(h, &node2_type);
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.objects, 2);
    CHECK_EQ_INT(st.tracked, 1);
    size_t c[3];
    rc_gc_get_count(h, c);
    CHECK_EQ_INT(c[0], 1);
    rc_decref(l);
    rc_decref(n);
    rc_gc_get_count(h, c);
    CHECK_EQ_INT(c[0], 0);
    rc_heap_free(h);
}

TEST(variable_size_objects_of_every_size_class_and_large)
{
    rc_heap *h = rc_heap_new(NULL);
    size_t sizes[] = {0, 1, 7, 8, 100, 1000, 5000, 16000, 20000, 100000, 3000000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = rc_new_var(h, &leaf_type, sizes[i]);
        REQUIRE(p);
        CHECK(rc_usable_size(p) >= sizeof(node) + sizes[i]);
        size_t nonzero = 0;
        for (size_t k = 0; k < sizeof(node) + sizes[i]; k++) {
            nonzero += p[k] != 0;
            p[k] = 0xAB;
        }
        CHECK_EQ_INT(nonzero, 0);
        rc_decref(p);
    }
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.objects, 0);
    CHECK_EQ_INT(st.object_bytes, 0);
    rc_heap_free(h);
}

TEST(null_type_and_huge_size_are_errors)
{
    rc_heap *h = rc_heap_new(NULL);
    CHECK(rc_new(h, NULL) == NULL);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    CHECK(strstr(rc_heap_error_message(h), "rc_new") != NULL);
    rc_heap_clear_error(h);
    CHECK(rc_new_var(h, &leaf_type, SIZE_MAX - 4) == NULL);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    rc_heap_free(h);
}

TEST(traverse_without_clear_is_refused)
{
    static const rc_type bad = {.name = "bad", .size = 8, .traverse = cbnode_traverse};
    rc_heap *h = rc_heap_new(NULL);
    CHECK(rc_new(h, &bad) == NULL);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    CHECK(strstr(rc_heap_error_message(h), "bad") != NULL);
    rc_heap_free(h);
}

/* An allocator that fails from the Nth call on. */
static long fail_at, calls;
static void *failing_map(void *ud, size_t size)
{
    if (++calls >= fail_at) return NULL;
    return rc_system_allocator.map(ud, size);
}
static void *failing_realloc(void *ud, void *p, size_t size)
{
    if (size && ++calls >= fail_at) return NULL;
    return rc_system_allocator.realloc(ud, p, size);
}

TEST(out_of_memory_returns_null_and_leaves_the_heap_usable)
{
    {
        rc_heap_config cfg;
        rc_heap_config_init(&cfg);
        cfg.allocator.map = failing_map;
        cfg.allocator.realloc = failing_realloc;
        calls = 0;
        fail_at = 1L << 40;
        rc_heap *h = rc_heap_new(&cfg);
        REQUIRE(h);
        fail_at = calls + 6;   /* fail after a few pages and vectors */
        /* RC_TEST_QUICK (valgrind, stress mode: every failed allocation
         * there runs a collection) makes fewer attempts. */
        size_t N = getenv("RC_TEST_QUICK") ? 30000 : 300000;
        node **keep = malloc(N * sizeof *keep);
        size_t n = 0, failures = 0;
        for (size_t i = 0; i < N; i++) {
            node *x = rc_new(h, i % 3 ? &node2_type : &leaf_type);
            if (!x) {
                failures++;
                CHECK_EQ_INT(rc_heap_error(h), RC_ENOMEM);
                continue;
            }
            if (n && i % 3) node_set(x, 0, keep[n - 1]);
            keep[n++] = x;
        }
        CHECK(failures > 0);
        rc_heap_stats st;
        rc_heap_get_stats(h, &st);
        CHECK_EQ_INT(st.objects, n);
        fail_at = 1L << 40;   /* memory is back */
        node *y = rc_new(h, &node2_type);
        CHECK(y != NULL);
        if (y) rc_decref(y);
        for (size_t i = n; i-- > 0;) rc_decref(keep[i]);
        rc_heap_get_stats(h, &st);
        CHECK_EQ_INT(st.objects, 0);
        rc_heap_free(h);
        free(keep);
    }
}

TEST(out_of_memory_at_every_allocation_point)
{
    /* Make each allocator call fail in turn; every failure must be clean.
     * RC_TEST_QUICK (valgrind, stress mode) makes fewer objects per heap. */
    int n = getenv("RC_TEST_QUICK") ? 600 : 3000;
    for (long k = 1; k < 40; k++) {
        rc_heap_config cfg;
        rc_heap_config_init(&cfg);
        cfg.allocator.map = failing_map;
        cfg.allocator.realloc = failing_realloc;
        cfg.threshold[0] = 50;
        calls = 0;
        fail_at = k;
        rc_heap *h = rc_heap_new(&cfg);
        if (!h) continue;
        node *prev = NULL;
        for (int i = 0; i < n; i++) {
            node *x = rc_new(h, &node2_type);
            if (!x) continue;
            if (prev) {
                node_set(x, 0, prev);
                node_set(prev, 1, x);   /* a cycle with the previous one */
                rc_decref(prev);
            }
            prev = x;
            if (i == n / 2) fail_at = calls + 3;   /* fail again, later */
        }
        if (prev) rc_decref(prev);
        fail_at = 1L << 40;
        rc_gc_collect(h, 2);
        rc_heap_stats st;
        rc_heap_get_stats(h, &st);
        CHECK_EQ_INT(st.objects, 0);
        rc_heap_free(h);
    }
}

/* A heap with automatic collection off whose realloc fails once `calls`
 * reaches `fail_at` (not yet). */
static rc_heap *failing_heap(void)
{
    rc_heap_config cfg;
    rc_heap_config_init(&cfg);
    cfg.allocator.realloc = failing_realloc;
    cfg.disabled = 1;
    calls = 0;
    fail_at = 1L << 40;
    return rc_heap_new(&cfg);
}

/* `n` garbage two-node cycles. */
static void garbage_pairs(rc_heap *h, int n)
{
    for (int i = 0; i < n; i++) {
        node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
        node_set(a, 0, b);
        node_set(b, 0, a);
        rc_decref(a);
        rc_decref(b);
    }
}

TEST(a_young_collection_without_memory_for_its_vector_still_frees_cycles)
{
    rc_heap *h = failing_heap();
    REQUIRE(h);
    garbage_pairs(h, 3000);
    fail_at = calls + 1;   /* no vector can grow from here on */
    CHECK_EQ_INT(rc_gc_collect(h, 0), 6000);
    fail_at = 1L << 40;
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.objects, 0);
    rc_heap_free(h);
}

/* A binary tree of 2^depth - 1 nodes: slot 0 the left child, 1 the right. */
static node *young_tree(rc_heap *h, int depth)
{
    node *n = rc_new(h, &node2_type);
    if (n && depth > 1) {
        node *l = young_tree(h, depth - 1), *r = young_tree(h, depth - 1);
        node_set(n, 0, l);
        node_set(n, 1, r);
        rc_xdecref(l);
        rc_xdecref(r);
    }
    return n;
}

static long tree_nodes(const node *n)
{
    return n ? 1 + tree_nodes(n->slot[0]) + tree_nodes(n->slot[1]) : 0;
}

TEST(a_young_mark_without_room_on_its_stack_keeps_all_that_is_reachable)
{
    rc_heap *h = failing_heap();
    REQUIRE(h);
    node *root = young_tree(h, 11);   /* 2,047 young nodes, held by root only */
    REQUIRE(root);
    garbage_pairs(h, 500);            /* and garbage beside them */
    /* The members vector is the collection's first allocation; the mark
     * stack's first push, the second, fails: the mark goes on from what it
     * marked and did not expand (mark_fixpoint). */
    fail_at = calls + 2;
    CHECK_EQ_INT(rc_gc_collect(h, 0), 1000);
    fail_at = 1L << 40;
    CHECK_EQ_INT(tree_nodes(root), 2047);
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.objects, 2047);
    rc_decref(root);
    rc_gc_collect(h, 2);
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.objects, 0);
    rc_heap_free(h);
}

static int finalized;
static void *resurrected;
static void resurrecting_finalize(void *obj)
{
    finalized++;
    rc_incref(obj);
    resurrected = obj;
}
static const rc_type phoenix_type = {
    .name = "phoenix", .size = sizeof(node), .nslots = 2, .finalize = resurrecting_finalize,
};

TEST(finalizer_runs_once_and_may_resurrect_on_refcount_death)
{
    rc_heap *h = rc_heap_new(NULL);
    finalized = 0;
    resurrected = NULL;
    node *p = rc_new(h, &phoenix_type);
    p->payload = 77;
    rc_decref(p);
    CHECK_EQ_INT(finalized, 1);
    REQUIRE(resurrected == p);
    CHECK_EQ_INT(p->payload, 77);
    CHECK_EQ_INT(rc_refcount(p), 1);
    rc_decref(p);   /* finalized already: now it goes */
    CHECK_EQ_INT(finalized, 1);
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.objects, 0);
    rc_heap_free(h);
}

TEST(heap_free_destroys_everything_cycles_included)
{
    rc_heap *h = rc_heap_new(NULL);
    destroyed = 0;
    for (int i = 0; i < 1000; i++) {
        node *a = rc_new(h, &counted_type), *b = rc_new(h, &counted_type);
        node_set(a, 0, b);
        node_set(b, 0, a);
        rc_decref(a);
        rc_decref(b);
    }
    rc_heap_free(h);
    CHECK_EQ_INT(destroyed, 2000);
}

TEST(empty_pages_go_back_to_the_system)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_gc_disable(h);
    const int N = getenv("RC_MALLOC") ? 20000 : 400000;
    node **all = malloc(N * sizeof *all);
    for (int i = 0; i < N; i++) all[i] = rc_new(h, &node2_type);
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    size_t peak = st.page_bytes;
    CHECK(peak >= (size_t)N * 48);
    for (int i = 0; i < N; i++) rc_decref(all[i]);
    rc_heap_get_stats(h, &st);
    CHECK(st.page_bytes < peak / 8);
    free(all);
    rc_heap_free(h);
}

RC_TEST_MAIN
