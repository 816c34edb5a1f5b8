/* test_procmem.c -- process memory as psutil reports it, and the heap's own. */
#include "harness.h"
#include "testutil.h"
#include "recycle.h"
#include "recycle/builtins.h"
#include "recycle/gc.h"
#include "recycle/memory.h"

#include <stdlib.h>
#include <sys/mman.h>

/* Under AddressSanitizer, freed malloc memory sits in a quarantine and the
 * process's USS cannot show a release: there the tests check that the heap
 * handed its pages back (its own counters) instead. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#else
#define UNDER_ASAN 0
#endif

static void check_released(rc_heap *h, double start, double released)
{
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    CHECK(st.page_bytes <= 4 * RC_PAGE_SIZE);
    if (!UNDER_ASAN) {
        if (released - start >= 1.0) fprintf(stderr, "  USS %.2f MB at start, %.2f after release\n", start, released);
        CHECK(released - start < 1.0);
    }
}

TEST(process_memory_is_read_from_smaps_rollup)
{
    rc_procmem m;
    REQUIRE(rc_process_memory(&m) == 0);
    CHECK(m.uss > 0 && m.pss >= m.uss / 2 && m.rss >= m.uss);
    CHECK(rc_process_uss_mb() > 0.0);
}

TEST(uss_follows_memory_written_and_given_back)
{
    size_t sz = 64 << 20;
    double before = rc_process_uss_mb();
    char *p = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(p != MAP_FAILED);
    for (size_t i = 0; i < sz; i += 4096) p[i] = 1;
    double during = rc_process_uss_mb();
    munmap(p, sz);
    double after = rc_process_uss_mb();
    CHECK(during - before > 60.0);
    CHECK(during - after > 60.0);
}

TEST(a_released_list_gives_its_memory_back_to_the_system)
{
    rc_heap *h = rc_heap_new(NULL);
    double start = rc_process_uss_mb();
    rc_list *l = rc_list_new(h, 0);
    for (long i = 0; i < 5000000; i++) rc_list_append(l, rc_int(i));
    double built = rc_process_uss_mb();
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    CHECK(st.buffer_bytes >= 5000000 * sizeof(rc_val));
    rc_decref(l);
    double released = rc_process_uss_mb();
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.objects, 0);
    CHECK_EQ_INT(st.buffer_bytes, 0);
    CHECK(built - start > 35.0);
    check_released(h, start, released);
    rc_heap_free(h);
}

TEST(freed_objects_leave_the_process_in_pages)
{
    typedef struct pair { void *a, *b; } pair;
    static const rc_type pair_type = {.name = "pair", .size = sizeof(pair), .nslots = 2};
    rc_heap *h = rc_heap_new(NULL);
    rc_gc_disable(h);
    enum { N = 1000000 };
    pair **all = malloc(N * sizeof *all);
    memset(all, 0xff, N * sizeof *all);   /* the test's own array is not the heap's */
    double start = rc_process_uss_mb();
    for (int i = 0; i < N; i++) all[i] = rc_new(h, &pair_type);
    double built = rc_process_uss_mb();
    for (int i = 0; i < N; i++) rc_decref(all[i]);
    double released = rc_process_uss_mb();
    CHECK(built - start > 25.0);
    check_released(h, start, released);
    free(all);
    rc_heap_free(h);
}

/* The C library's malloc keeps what it freed in its arenas unless the block
 * was past its mmap threshold, which rises each time such a block is freed:
 * after a big list is dropped, a dict's tables of a few megabytes came from
 * the arenas and stayed there when the dict was dropped (issue: a catalog
 * loaded and dropped left 12 MB behind). The heap's own buffers now leave
 * with the free, whatever the thresholds. */
TEST(a_dropped_catalog_leaves_the_process_whatever_mallocs_thresholds)
{
    rc_heap *h = rc_heap_new(NULL);
    double start = rc_process_uss_mb();
    rc_list *l = rc_list_new(h, 0);
    for (long i = 0; i < 1000000; i++) REQUIRE(rc_list_append(l, rc_int(i)) == 0);
    rc_decref(l);   /* glibc: its block was mapped; the threshold rises past it */
    rc_dict *d = rc_dict_new(h);
    char buf[64];
    for (long i = 0; i < 150000; i++) {
        rc_val it[3];
        for (int j = 0; j < 3; j++) {
            int n = snprintf(buf, sizeof buf, "item %ld part %d", i, j);
            it[j] = rc_obj(rc_str_new(h, buf, (size_t)n));
        }
        rc_tuple *t = rc_tuple_new(h, 3, it);
        for (int j = 0; j < 3; j++) rc_val_decref(it[j]);
        int n = snprintf(buf, sizeof buf, "name number %ld", i);
        rc_str *k = rc_str_new(h, buf, (size_t)n);
        REQUIRE(rc_dict_set(d, rc_obj(k), rc_obj(t)) == 0);
        rc_decref(k);
        rc_decref(t);
    }
    double built = rc_process_uss_mb();
    rc_decref(d);
    rc_gc_collect(h, 2);
    double released = rc_process_uss_mb();
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.objects, 0);
    CHECK_EQ_INT(st.buffer_bytes, 0);
    CHECK_EQ_INT(st.buffer_map_bytes, 0);
    CHECK(built - start > 30.0);
    check_released(h, start, released);
    if (!UNDER_ASAN) CHECK(released - start < 0.5);
    rc_heap_free(h);
    if (!UNDER_ASAN) CHECK(rc_process_uss_mb() - start < 0.5);
}

/* A million small buffers freed to the C library's malloc waited in its
 * fastbins, 45 MB of them; the heap's own buffer pages go back. */
TEST(dropped_small_lists_leave_the_process)
{
    rc_heap *h = rc_heap_new(NULL);
    double start = rc_process_uss_mb();
    rc_list *all = rc_list_new(h, 0);
    for (long i = 0; i < 300000; i++) {
        rc_list *l = rc_list_new(h, 0);
        for (int j = 0; j < 3; j++) REQUIRE(rc_list_append(l, rc_int(j)) == 0);
        REQUIRE(rc_list_append(all, rc_obj(l)) == 0);
        rc_decref(l);
    }
    double built = rc_process_uss_mb();
    rc_decref(all);
    double released = rc_process_uss_mb();
    CHECK(built - start > 15.0);
    CHECK_EQ_INT(buffer_bytes(h), 0);
    check_released(h, start, released);
    if (!UNDER_ASAN) CHECK(released - start < 0.5);
    rc_heap_free(h);
}

RC_TEST_MAIN
