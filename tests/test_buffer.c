/*
 * test_buffer.c -- variable buffers (core/buffer.c): small ones are blocks of
 * the heap's buffer pages, big ones mappings of their own, and both leave the
 * process when freed, whatever the C library's thresholds; a user's realloc
 * and the memory-checking modes keep every buffer in malloc; sizes past what
 * can be mapped fail and lose nothing; the counts (buffer_bytes,
 * buffer_map_bytes, page_bytes) follow every resize; a release gives back
 * the pages left empty, small waves keep them; a purge started inside a page
 * walk leaves the page lists alone; a trim the allocator refuses and an
 * address space that runs out lose nothing.
 */
#include "harness.h"
#include "failalloc.h"
#include "testutil.h"
#include "core/internal.h"
#include "core/memcheck.h"
#include "core/objects.h"
#include "util/blockids.h"
#include "recycle/builtins.h"
#include "recycle/gc.h"

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

static rc_heap_stats stats(rc_heap *h)
{
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    return st;
}

/* Bytes a mapped buffer of `n` bytes takes: whole system pages. */
static size_t pages_of(size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    return (n + page - 1) / page * page;
}

/* Whether [p, p+n) is mapped: mincore says ENOMEM for an unmapped range. */
static bool is_mapped(const void *p, size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = (uintptr_t)p & ~(page - 1);
    size_t len = pages_of((uintptr_t)p + n - lo);
    unsigned char vec[4096];
    if (len / page > sizeof vec) len = sizeof vec * page;
    return mincore((void *)lo, len, vec) == 0;
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(i * 31 + seed);
}

static bool same(const unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(i * 31 + seed)) return false;
    return true;
}

TEST(a_heap_maps_its_big_buffers_unless_a_tool_should_see_them)
{
    rc_heap *h = rc_heap_new(NULL);
    REQUIRE(h);
    /* ASan, valgrind and malloc mode see buffers as malloc'd blocks. */
    CHECK(h->buf_map == !(h->use_malloc || h->valgrind || RC__ASAN));
    rc_heap_free(h);

    rc_heap_config cfg;
    rc_heap_config_init(&cfg);
    cfg.use_malloc = 1;
    h = rc_heap_new(&cfg);
    REQUIRE(h);
    if (!getenv("RC_MALLOC") || strcmp(getenv("RC_MALLOC"), "pool") != 0) CHECK(!h->buf_map);
    rc_heap_free(h);
}

TEST(a_list_past_the_line_maps_its_items_and_unmaps_them_when_freed)
{
    rc_heap *h = rc_heap_new(NULL);
    REQUIRE(h);
    rc_heap_stats st0 = stats(h);
    size_t n = 4 * RC_BUF_MAP_MIN / sizeof(rc_val);
    rc_list *l = rc_list_new(h, 0);
    REQUIRE(l);
    for (size_t i = 0; i < n; i++) REQUIRE(rc_list_append(l, rc_int((int64_t)i)) == 0);
    size_t len;
    const rc_val *items = rc_list_items(l, &len);
    size_t bytes = ((rc_list_obj *)l)->cap * sizeof(rc_val);
    rc_heap_stats st = stats(h);
    CHECK_EQ_INT(st.buffer_bytes - st0.buffer_bytes, bytes);
    if (h->buf_map) {
        CHECK_EQ_INT(st.buffer_map_bytes - st0.buffer_map_bytes, pages_of(bytes));
        CHECK((uintptr_t)items % (uintptr_t)sysconf(_SC_PAGESIZE) == 0);
    } else {
        CHECK_EQ_INT(st.buffer_map_bytes, 0);
    }
    CHECK(is_mapped(items, bytes));
    rc_decref(l);
    st = stats(h);
    CHECK_EQ_INT(st.buffer_bytes, st0.buffer_bytes);
    CHECK_EQ_INT(st.buffer_map_bytes, st0.buffer_map_bytes);
    /* Gone from the address space at once (nothing was mapped since). */
    if (h->buf_map) {
        CHECK(!is_mapped(items, bytes));
        CHECK(errno == ENOMEM);
    }
    rc_heap_free(h);
}

/* The VmFlags line of /proc/self/smaps for the mapping holding p says
 * "hg" (MADV_HUGEPAGE): 1 yes, 0 no, -1 when the system does not say. */
static int advised_huge(const void *p)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return -1;
    char line[512];
    int in = 0, said = -1;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {   /* a mapping's first line */
            in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
            continue;
        }
        if (in && !strncmp(line, "VmFlags:", 8)) {
            said = strstr(line, " hg") != NULL;
            break;
        }
    }
    fclose(f);
    return said;
}

static int thp_available(void)
{
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!f) return 0;
    char line[128] = "";
    int ok = fgets(line, sizeof line, f) && !strstr(line, "[never]");
    fclose(f);
    return ok;
}

/* A heap that maps its buffers puts those of 2 MiB or more on 2 MiB
 * boundaries, and advises huge pages for them where the system has
 * transparent huge pages; in malloc mode (ASan, valgrind, RC_MALLOC) the
 * same growth keeps every item in the C library's realloc. */
TEST(buffers_of_huge_pages_are_aligned_and_advised_whether_grown_or_made_at_once)
{
    rc_heap *h = rc_heap_new(NULL);
    REQUIRE(h);
    const int thp = thp_available(), map = h->buf_map;
    const size_t huge = (size_t)2 << 20;
    /* A list grown one append at a time: its items move by mremap as they
     * double, past 2 MiB onto an aligned range. */
    rc_list *l = rc_list_new(h, 0);
    REQUIRE(l);
    for (size_t i = 0; i < 3 * huge / sizeof(rc_val); i++) REQUIRE(rc_list_append(l, rc_int((int64_t)i)) == 0);
    size_t len;
    const rc_val *items = rc_list_items(l, &len);
    CHECK_EQ_INT(len, 3 * huge / sizeof(rc_val));
    for (size_t i = 0; i < len; i += 4099) CHECK(items[i] == rc_int((int64_t)i));
    if (map) {
        CHECK((uintptr_t)items % huge == 0);
        if (thp) CHECK(advised_huge(items) == 1);
        /* Made at once. */
        unsigned char *p = rc__buf_realloc(h, NULL, 0, 3 * huge);
        REQUIRE(p);
        CHECK((uintptr_t)p % huge == 0);
        if (thp) CHECK(advised_huge(p) == 1);
        /* Below 2 MiB: small pages, no advice. */
        unsigned char *q = rc__buf_realloc(h, NULL, 0, huge / 4);
        REQUIRE(q);
        CHECK(advised_huge(q) == 0);
        rc__buf_free(h, q, huge / 4);
        rc__buf_free(h, p, 3 * huge);
    } else {
        rc_heap_stats st = stats(h);
        CHECK_EQ_INT(st.buffer_map_bytes, 0);   /* nothing of the heap's own */
    }
    rc_decref(l);
    rc_heap_free(h);
}

TEST(a_dict_past_the_line_gives_its_tables_back)
{
    rc_heap *h = rc_heap_new(NULL);
    REQUIRE(h);
    rc_heap_stats st0 = stats(h);
    rc_dict *d = rc_dict_new(h);
    REQUIRE(d);
    for (int64_t i = 0; i < 50000; i++) REQUIRE(rc_dict_set(d, rc_int(i), rc_int(-i)) == 0);
    rc_heap_stats st = stats(h);
    CHECK(st.buffer_bytes - st0.buffer_bytes >= 50000 * 3 * sizeof(rc_val));
    if (h->buf_map) CHECK(st.buffer_map_bytes - st0.buffer_map_bytes >= 50000 * 3 * sizeof(rc_val));
    else CHECK_EQ_INT(st.buffer_map_bytes, 0);
    rc_decref(d);
    st = stats(h);
    CHECK_EQ_INT(st.buffer_bytes, st0.buffer_bytes);
    CHECK_EQ_INT(st.buffer_map_bytes, st0.buffer_map_bytes);
    rc_heap_free(h);
}

/* ---- a user's realloc ---- */

static size_t user_calls, user_bytes_max;

static void *user_realloc(void *ud, void *p, size_t size)
{
    (void)ud;
    user_calls++;
    if (size > user_bytes_max) user_bytes_max = size;
    return rc_system_allocator.realloc(NULL, p, size);
}

static void *user_map(void *ud, size_t size)
{
    return rc_system_allocator.map(ud, size);
}

TEST(a_heap_with_its_own_allocator_keeps_every_buffer_in_its_realloc)
{
    rc_heap_config cfg;
    rc_heap_config_init(&cfg);
    cfg.allocator.realloc = user_realloc;
    rc_heap *h = rc_heap_new(&cfg);
    REQUIRE(h);
    CHECK(!h->buf_map);
    user_calls = user_bytes_max = 0;
    rc_list *l = rc_list_new(h, 0);
    for (size_t i = 0; i < 100000; i++) REQUIRE(rc_list_append(l, RC_NONE) == 0);
    CHECK(user_bytes_max >= 100000 * sizeof(rc_val));
    CHECK_EQ_INT(stats(h).buffer_map_bytes, 0);
    size_t calls = user_calls;
    rc_decref(l);
    CHECK(user_calls > calls);   /* freed through it too */
    CHECK_EQ_INT(stats(h).buffer_bytes, 0);
    rc_heap_free(h);

    /* An allocator of one's own is one's own even when only its map is. */
    rc_heap_config_init(&cfg);
    cfg.allocator.map = user_map;
    h = rc_heap_new(&cfg);
    REQUIRE(h);
    CHECK(!h->buf_map);
    l = rc_list_new(h, 100000);
    REQUIRE(l);
    CHECK_EQ_INT(stats(h).buffer_map_bytes, 0);
    rc_decref(l);
    rc_heap_free(h);
}

/* ---- resizing, hostile sizes ---- */

TEST(resizing_across_the_line_keeps_the_bytes_and_the_counts)
{
    rc_heap *h = rc_heap_new(NULL);
    REQUIRE(h);
    size_t b0 = h->buffer_bytes, m0 = h->buf_map_bytes;
    size_t sizes[] = {100, 3 * RC_BUF_MAP_MIN + 5, 16 * RC_BUF_MAP_MIN, 2 * RC_BUF_MAP_MIN,
                      RC_BUF_MAP_MIN, RC_BUF_MAP_MIN - 1, 40, 1, 5 * RC_BUF_MAP_MIN};
    unsigned char *p = NULL;
    size_t cur = 0;
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        size_t n = sizes[k];
        unsigned char *q = rc__buf_realloc(h, p, cur, n);
        REQUIRE(q);
        size_t kept = cur < n ? cur : n;
        CHECK(same(q, kept, (unsigned)k));   /* what the smaller size holds survives */
        fill(q, n, (unsigned)k + 1);
        p = q;
        cur = n;
        CHECK_EQ_INT(h->buffer_bytes - b0, n);
        CHECK_EQ_INT(h->buf_map_bytes - m0, h->buf_map && n >= RC_BUF_MAP_MIN ? pages_of(n) : 0);
        rc_heap_stats st = stats(h);
        CHECK_EQ_INT(st.buffer_map_bytes, h->buf_map_bytes);
    }
    rc__buf_free(h, p, cur);
    CHECK_EQ_INT(h->buffer_bytes, b0);
    CHECK_EQ_INT(h->buf_map_bytes, m0);
    rc_heap_free(h);
}

TEST(sizes_past_what_can_be_mapped_fail_and_lose_nothing)
{
    rc_heap *h = rc_heap_new(NULL);
    REQUIRE(h);
    /* The C library's realloc decides for heaps that keep buffers there
     * (and ASan stops at such sizes unless told to return NULL). */
    if (!h->buf_map) {
        rc_heap_free(h);
        return;
    }
    size_t huge[] = {SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - RC_BUF_MAP_MIN, (size_t)1 << 62,
                     (size_t)1 << 50};
    size_t starts[] = {0, 1000, 2 * RC_BUF_MAP_MIN};
    for (size_t s = 0; s < sizeof starts / sizeof *starts; s++) {
        size_t n = starts[s];
        unsigned char *p = n ? rc__buf_realloc(h, NULL, 0, n) : NULL;
        if (n) REQUIRE(p);
        if (p) fill(p, n, 7);
        size_t b = h->buffer_bytes, m = h->buf_map_bytes;
        for (size_t k = 0; k < sizeof huge / sizeof *huge; k++) {
            CHECK(rc__buf_realloc(h, p, n, huge[k]) == NULL);
            CHECK_EQ_INT(h->buffer_bytes, b);
            CHECK_EQ_INT(h->buf_map_bytes, m);
            if (p) CHECK(same(p, n, 7));
        }
        if (p) {
            p[n - 1] = 1;   /* still ours */
            rc__buf_free(h, p, n);
        }
    }
    /* Through the API: a list asked for more than memory holds. */
    size_t b = h->buffer_bytes;
    CHECK(rc_list_new(h, (size_t)1 << 58) == NULL);
    CHECK_EQ_INT(rc_heap_error(h), RC_ENOMEM);
    CHECK_EQ_INT(h->buffer_bytes, b);
    CHECK_EQ_INT(stats(h).objects, 0);
    rc_heap_free(h);
}

TEST(zero_sizes_free_or_do_nothing)
{
    rc_heap *h = rc_heap_new(NULL);
    REQUIRE(h);
    size_t b0 = h->buffer_bytes, m0 = h->buf_map_bytes;
    CHECK(rc__buf_realloc(h, NULL, 0, 0) == NULL);
    rc__buf_free(h, NULL, 12345);
    CHECK_EQ_INT(h->buffer_bytes, b0);
    size_t sizes[] = {8, 4 * RC_BUF_MAP_MIN};
    for (size_t k = 0; k < 2; k++) {
        void *p = rc__buf_realloc(h, NULL, 0, sizes[k]);
        REQUIRE(p);
        CHECK(rc__buf_realloc(h, p, sizes[k], 0) == NULL);   /* freed */
        CHECK_EQ_INT(h->buffer_bytes, b0);
        CHECK_EQ_INT(h->buf_map_bytes, m0);
    }
    rc_heap_free(h);
}

TEST(a_vector_trimmed_keeps_its_items_and_gives_back_its_room)
{
    rc_heap *h = rc_heap_new(NULL);
    REQUIRE(h);
    rc_vec v = {0};
    for (size_t i = 0; i < 100000; i++) REQUIRE(rc__vec_push(h, &v, (void *)(i + 1)));
    size_t m = h->buf_map_bytes;
    v.len = 1000;
    rc__vec_trim(h, &v);
    CHECK(v.cap >= 1000 && v.cap <= 4000);
    for (size_t i = 0; i < v.len; i++) CHECK(v.items[i] == (void *)(i + 1));
    if (h->buf_map) CHECK(h->buf_map_bytes < m);
    v.len = 0;
    rc__vec_trim(h, &v);
    CHECK(v.items == NULL && v.cap == 0);
    CHECK_EQ_INT(h->buf_map_bytes, 0);
    rc_heap_free(h);
}

TEST(a_vector_reserved_grows_once_to_a_power_of_two_and_keeps_its_items)
{
    rc_heap *h = rc_heap_new(NULL);
    REQUIRE(h);
    rc_vec v = {0};
    CHECK(rc__vec_reserve(h, &v, 0));
    CHECK(v.items == NULL && v.cap == 0);   /* nothing asked, nothing taken */
    CHECK(rc__vec_reserve(h, &v, 5));
    CHECK_EQ_INT(v.cap, 16);
    for (size_t i = 0; i < 10; i++) REQUIRE(rc__vec_push(h, &v, (void *)(i + 1)));
    CHECK(rc__vec_reserve(h, &v, 10000));
    CHECK_EQ_INT(v.cap, 16384);   /* 16 doubled to the first power of two >= 10000 */
    CHECK_EQ_INT(v.len, 10);
    for (size_t i = 0; i < v.len; i++) CHECK(v.items[i] == (void *)(i + 1));
    void **items = v.items;
    CHECK(rc__vec_reserve(h, &v, 16384));   /* room already: nothing moves */
    CHECK(v.items == items && v.cap == 16384);
    /* More than memory can address: refused, the vector as it was. */
    CHECK(!rc__vec_reserve(h, &v, SIZE_MAX / sizeof(void *) + 1));
    CHECK(!rc__vec_reserve(h, &v, SIZE_MAX));
    CHECK(v.items == items && v.cap == 16384 && v.len == 10);
    rc__vec_free(h, &v);
    CHECK(v.items == NULL && v.cap == 0 && v.len == 0);
    rc_heap_free(h);
}

/* ---- small buffers: the heap's buffer pages ---- */

/* Old two-node cycles, each held by one reference in `keep`, promoted by a
 * full collection; dropping them makes candidates. */
static const rc_type pair_type = {.name = "pair", .size = 2 * sizeof(void *), .nslots = 2};
static void old_cycles(rc_heap *h, void **keep, int n)
{
    for (int i = 0; i < n; i++) {
        void **a = rc_new(h, &pair_type), **b = rc_new(h, &pair_type);
        a[0] = b;
        rc_incref(a);
        b[0] = a;
        keep[i] = a;
    }
    rc_gc_collect(h, 2);
}

TEST(candidate_scans_keep_their_member_vector)
{
    /* A scan's members fill a vector past the mapping line; a fresh one per
     * scan would be mapped, faulted in and unmapped every time (W6 lost
     * 40 % of its throughput so). The heap keeps it, as a young
     * collection's, within RC_SCRATCH_KEEP entries. */
    enum { N = 4000 };
    rc_heap *h = unstressed_heap();
    rc_gc_disable(h);   /* the scans below are the only collections */
    static void *keep[N];
    void *items = NULL;
    for (int round = 0; round < 3; round++) {
        old_cycles(h, keep, N);
        for (int i = 0; i < N; i++) rc_decref(keep[i]);
        CHECK_EQ_INT(rc_gc_collect(h, 0), 2 * N);   /* a candidate scan, then generation 0 */
        CHECK(h->scratch.cap >= 2 * N);
        if (round) CHECK(h->scratch.items == items);
        items = h->scratch.items;
    }
    rc_heap_free(h);
}

TEST(small_buffers_are_blocks_of_buffer_pages_no_walk_sees)
{
    rc_heap *h = rc_heap_new(NULL);
    REQUIRE(h);
    enum { N = 20000 };
    rc_list *all = rc_list_new(h, N);
    REQUIRE(all);
    for (int i = 0; i < N; i++) {
        rc_list *l = rc_list_new(h, 0);
        REQUIRE(l);
        for (int j = 0; j < 5; j++) REQUIRE(rc_list_append(l, rc_int(j)) == 0);
        REQUIRE(rc_list_append(all, rc_obj(l)) == 0);
        rc_decref(l);
    }
    const rc_val *items = rc_list_items(rc_as_obj(rc_list_get(all, 7)), NULL);
    rc_page *pg = rc__page_of(items);
    if (h->buf_map) {
        CHECK(pg->flags & RC_PAGE_BUFFER);
        CHECK(pg->heap == h);
        CHECK_EQ_INT(pg->block_size, 64);   /* 8 items after 5 appends */
    }
    /* Objects are what the walks find: no buffer among them. */
    rc_heap_stats st = stats(h);
    CHECK_EQ_INT(st.objects, N + 1);
    CHECK_EQ_INT(rc_heap_check(h, NULL), 0);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 0);
    CHECK_EQ_INT(stats(h).objects, N + 1);
    CHECK(rc_as_int(rc_list_get(rc_as_obj(rc_list_get(all, N - 1)), 4)) == 4);
    rc_decref(all);
    st = stats(h);
    CHECK_EQ_INT(st.objects, 0);
    CHECK_EQ_INT(st.buffer_bytes, 0);
    CHECK_EQ_INT(st.buffer_map_bytes, 0);
    rc_heap_free(h);
}

TEST(a_release_gives_back_the_pages_it_left_empty)
{
    rc_heap *h = rc_heap_new(NULL);
    REQUIRE(h);
    rc_dict *d = rc_dict_new(h);
    REQUIRE(d);
    for (int64_t i = 0; i < 100000; i++) {
        rc_val it[3] = {rc_int(i), rc_obj(rc_str_from_cstr(h, "a value")), rc_float(0.5)};
        rc_tuple *t = rc_tuple_new(h, 3, it);
        REQUIRE(t);
        rc_val_decref(it[1]);
        rc_list *l = rc_list_new(h, 0);
        REQUIRE(rc_list_append(l, rc_obj(t)) == 0);
        REQUIRE(rc_dict_set(d, rc_int(i), rc_obj(l)) == 0);
        rc_decref(t);
        rc_decref(l);
    }
    CHECK(stats(h).page_bytes > 100 * RC_PAGE_SIZE);
    rc_decref(d);
    rc_heap_stats st = stats(h);
    CHECK_EQ_INT(st.objects, 0);
    CHECK_EQ_INT(st.buffer_map_bytes, 0);
    /* Current pages left empty went too (a watched heap's quarantine may
     * still hold a few). */
    if (!h->watch) CHECK_EQ_INT(st.page_bytes, 0);
    else CHECK(st.page_bytes <= 4 * RC_PAGE_SIZE);
    /* The vectors the collections kept went with them. */
    CHECK(h->scratch.cap == 0);
    CHECK(h->pages[0].cap <= 16 && h->pages[1].cap <= 16);
    rc_heap_free(h);
}

TEST(small_waves_keep_their_pages)
{
    /* A heap that makes and drops a few lists at a time gives nothing back
     * between waves: no purge, no page faulted in again per wave. */
    rc_heap *h = rc_heap_new(NULL);
    REQUIRE(h);
    rc_list *keep = rc_list_new(h, 0);   /* the heap is never empty */
    for (int wave = 0; wave < 2000; wave++) {
        rc_list *l[8];
        for (int k = 0; k < 8; k++) {
            l[k] = rc_list_new(h, 0);
            for (int j = 0; j < 20; j++) REQUIRE(rc_list_append(l[k], rc_int(j)) == 0);
        }
        for (int k = 0; k < 8; k++) rc_decref(l[k]);
        if (wave == 0) h->last_purge = -1.0;   /* any purge from here on shows */
    }
    CHECK(h->last_purge == -1.0);
    rc_decref(keep);
    rc_heap_free(h);
}

/* ---- deaths beside free pages that wait ---- */

static const rc_type kb_type = {.name = "kb", .size = 1008};   /* 1 KiB blocks */

/* Objects of kb_type until they fill `pages` pages and start one more;
 * returns how many (0 when out of memory or past `max`). */
static size_t fill_pages(rc_heap *h, void **o, size_t max, size_t pages)
{
    size_t n = 0, seen = 0;
    while (n < max && seen <= pages) {
        if (!(o[n] = rc_new(h, &kb_type))) return 0;
        if (n == 0 || rc__page_of(o[n]) != rc__page_of(o[n - 1])) seen++;
        n++;
    }
    return seen > pages ? n : 0;
}

/* Free every object of `o` that lives on the page of o[first]; returns the
 * index past them (the objects of a page are consecutive). */
static size_t free_page_of(void **o, size_t first, size_t n)
{
    rc_page *pg = rc__page_of(o[first]);
    size_t i = first;
    for (; i < n && rc__page_of(o[i]) == pg; i++) rc_decref(o[i]);
    return i;
}

TEST(the_last_object_of_the_current_page_dies_on_the_quick_path)
{
    rc_heap *h = rc_heap_new(NULL);
    REQUIRE(h);
    if (h->watch) {   /* watched heaps free every block the checked way */
        rc_heap_free(h);
        return;
    }
    void *a = rc_new(h, &kb_type);
    REQUIRE(a);
    rc_page *pg = rc__page_of(a);
    REQUIRE(pg->used == 1 && rc__page_is_current(h, pg));
    CHECK(rc__free_quick(RC_HEAD(a)));   /* no page state changes: the page stays */
    CHECK(pg->used == 0 && rc__page_is_current(h, pg));
    void *b = rc_new(h, &kb_type);
    CHECK(b == a);                        /* the block is the next one given */
    rc_decref(b);
    CHECK_EQ_INT(stats(h).objects, 0);
    rc_heap_free(h);
}

/* Whether `h` is watched (memory checking: it holds freed blocks in a
 * quarantine), so that its free pages cannot be counted exactly and the
 * page tests below have nothing to show: then it is freed. */
static bool freed_if_watched(rc_heap *h)
{
    if (!h->watch) return false;
    rc_heap_free(h);
    return true;
}

/* Free pages below what makes a purge worth it leave the deaths after them
 * on their quick path: nothing but more free pages changes the purge's
 * answer. Past RC_PURGE_SOON they wait for a window of RC_PURGE_INTERVAL
 * to end, which the next page freed (or collection) looks at: the deaths
 * in between keep their quick path too. At a window's end the pages no
 * allocation took in the whole window go. */
TEST(free_pages_that_wait_keep_later_deaths_quick_until_a_purge_is_due)
{
    rc_heap *h = quiet_heap();
    REQUIRE(h);
    if (freed_if_watched(h)) return;
    enum { MAX = 64 * 30 };
    static void *o[MAX];
    size_t n = fill_pages(h, o, MAX, 24), i = 0;   /* a quarter is 6 pages: no release */
    REQUIRE(n > 0);
    rc__alloc_purge(h);
    REQUIRE(h->dirty_bytes == 0);
    i = free_page_of(o, i, n);
    i = free_page_of(o, i, n);
    CHECK(h->dirty_bytes == 2 * RC_PAGE_SIZE);   /* below RC_PURGE_SOON: waits */
    CHECK(!rc__purge_waits(h));

    h->last_purge = 1e18;   /* a window that has not ended */
    for (int k = 0; k < 4 && h->dirty_bytes < RC_PURGE_SOON; k++) i = free_page_of(o, i, n);
    REQUIRE(h->dirty_bytes >= RC_PURGE_SOON);
    REQUIRE(h->dirty_bytes * 2 < h->page_bytes);   /* most pages kept: no release */
    CHECK(!rc__purge_waits(h));   /* the deaths after stay quick */
    size_t waiting = h->dirty_bytes;
    h->last_purge = -1e18;   /* the window is over */
    rc_decref(o[--n]);       /* a death on the current page: quick, looks at nothing */
    CHECK(h->dirty_bytes == waiting);
    CHECK(!rc__purge_waits(h));

    /* The next page freed sees the window over; its pages were freed in
     * it, so they wait for the next. */
    i = free_page_of(o, i, n);
    CHECK(h->dirty_bytes == waiting + RC_PAGE_SIZE);
    /* The next window is over too, and no allocation took a page in it:
     * the next page freed ends it, and what waited all through it goes. */
    h->last_purge = -1e18;
    i = free_page_of(o, i, n);
    CHECK(h->dirty_bytes <= RC_PAGE_SIZE);
    while (n > i) rc_decref(o[--n]);
    CHECK_EQ_INT(stats(h).objects, 0);
    rc_heap_free(h);
}

/* ---- pages that wait for a structure built again ---- */

enum { WAVE_PAGES = 32 };   /* 2 MiB: under the 4 MiB the purge while freeing waits for */

static void drop_all(void **o, size_t n)
{
    while (n) rc_decref(o[--n]);
}

TEST(a_structure_dropped_and_built_again_reuses_its_pages)
{
    /* Half the heap dropped is no release: its pages wait, and the
     * structure built again takes them rather than pages faulted in anew
     * (W5p's trees, a document closed and the next one opened). */
    rc_heap *h = quiet_heap();
    REQUIRE(h);
    if (freed_if_watched(h)) return;
    enum { MAX = 64 * (WAVE_PAGES + 2) };
    static void *keep[MAX], *wave[MAX];
    size_t nk = fill_pages(h, keep, MAX, WAVE_PAGES);
    size_t nw = fill_pages(h, wave, MAX, WAVE_PAGES);
    REQUIRE(nk && nw);
    size_t pages = stats(h).page_bytes;
    drop_all(wave, nw);
    CHECK(h->dirty_bytes >= (WAVE_PAGES - 1) * RC_PAGE_SIZE);   /* they wait */
    CHECK_EQ_INT(stats(h).page_bytes, pages);
    nw = fill_pages(h, wave, MAX, WAVE_PAGES);
    REQUIRE(nw);
    CHECK(stats(h).page_bytes <= pages + RC_PAGE_SIZE);   /* the same pages, taken again */
    CHECK(h->dirty_bytes <= 2 * RC_PAGE_SIZE);
    drop_all(wave, nw);
    drop_all(keep, nk);
    /* Everything dropped, one object at a time: released as it went, but
     * for less than a purge is worth. */
    CHECK(stats(h).page_bytes < RC_PURGE_SOON);
    rc_heap_free(h);
}

TEST(pages_no_allocation_takes_for_a_whole_window_go_back)
{
    rc_heap *h = quiet_heap();
    REQUIRE(h);
    if (freed_if_watched(h)) return;
    enum { MAX = 64 * (WAVE_PAGES + 2) };
    static void *keep[MAX], *wave[MAX], *again[MAX];
    size_t nk = fill_pages(h, keep, MAX, WAVE_PAGES);
    size_t nw = fill_pages(h, wave, MAX, WAVE_PAGES);
    REQUIRE(nk && nw);
    h->last_purge = 1e18;   /* a window that has not ended */
    drop_all(wave, nw);
    size_t dropped = h->dirty_bytes;
    REQUIRE(dropped >= (WAVE_PAGES - 1) * RC_PAGE_SIZE);

    /* The window ends (at the next page freed): the pages were freed in it,
     * so none goes yet. */
    h->last_purge = -1e18;
    size_t k = free_page_of(keep, 0, nk);
    CHECK(h->dirty_bytes >= dropped);
    /* A quarter of the pages is taken again during the next window; when
     * it ends, the pages nobody took in it go, the rest stayed in use. */
    size_t na = fill_pages(h, again, MAX, WAVE_PAGES / 4);
    REQUIRE(na);
    size_t low = h->dirty_bytes;
    size_t pages = stats(h).page_bytes;
    h->last_purge = -1e18;
    k = free_page_of(keep, k, nk);
    CHECK(pages - stats(h).page_bytes >= low);   /* the idle pages were given back */
    CHECK(h->dirty_bytes <= RC_PAGE_SIZE);
    drop_all(again, na);
    while (nk > k) rc_decref(keep[--nk]);
    rc_heap_free(h);
}

TEST(rc_heap_trim_of_null_is_einval)
{
    CHECK_EQ_INT(rc_heap_trim(NULL), RC_EINVAL);
}

TEST(rc_heap_trim_gives_every_free_page_back_at_once)
{
    rc_heap *h = quiet_heap();
    REQUIRE(h);
    enum { MAX = 64 * (WAVE_PAGES + 2) };
    static void *keep[MAX], *wave[MAX];
    size_t nk = fill_pages(h, keep, MAX, WAVE_PAGES);
    size_t nw = fill_pages(h, wave, MAX, WAVE_PAGES);
    REQUIRE(nk && nw);
    drop_all(wave, nw);
    CHECK_EQ_INT(rc_heap_trim(h), RC_OK);
    CHECK_EQ_INT(h->dirty_bytes, 0);
    /* What stays is the pages in use: the kept objects' (a watched heap's
     * quarantine may hold a few more). */
    size_t used = stats(h).page_bytes;
    CHECK(used <= (WAVE_PAGES + 1 + (h->watch ? 4 : 0)) * RC_PAGE_SIZE);
    CHECK_EQ_INT(stats(h).objects, nk);
    drop_all(keep, nk);
    CHECK_EQ_INT(rc_heap_trim(h), RC_OK);   /* nothing left to give: fine */
    rc_heap_free(h);
}

/* A finalizer that tries to trim its own heap. */
static int trim_seen = -1;
static void trim_finalize(void *self)
{
    trim_seen = rc_heap_trim(rc_heap_of(self));
}
static const rc_type trimmer_type = {.name = "trimmer", .size = 16, .nslots = 1,
                                     .finalize = trim_finalize};

TEST(rc_heap_trim_from_a_finalizer_is_refused)
{
    rc_heap *h = quiet_heap();
    REQUIRE(h);
    void **a = rc_new(h, &trimmer_type);
    REQUIRE(a);
    a[0] = a;   /* takes our reference: a cycle of one, which the collector finalizes */
    CHECK_EQ_INT(rc_gc_collect(h, 2), 1);
    CHECK_EQ_INT(trim_seen, RC_EBUSY);
    CHECK_EQ_INT(rc_heap_error(h), RC_EBUSY);
    rc_heap_clear_error(h);
    rc_heap_free(h);
}

/* A destroy hook that tries to trim its own heap (while it frees). */
static int trim_in_destroy = -1;
static void trim_destroy(void *self)
{
    trim_in_destroy = rc_heap_trim(rc_heap_of(self));
}
static const rc_type trim_destroy_type = {.name = "trim_destroy", .size = 16,
                                          .destroy = trim_destroy};

TEST(rc_heap_trim_from_a_destroy_hook_is_refused)
{
    rc_heap *h = quiet_heap();
    REQUIRE(h);
    void *a = rc_new(h, &trim_destroy_type);
    REQUIRE(a);
    rc_decref(a);
    CHECK_EQ_INT(trim_in_destroy, RC_EBUSY);
    CHECK_EQ_INT(rc_heap_error(h), RC_EBUSY);
    CHECK(strstr(rc_heap_error_message(h), "rc_heap_trim: refused while the heap is freeing") != NULL);
    rc_heap_clear_error(h);
    CHECK_EQ_INT(rc_heap_trim(h), RC_OK);   /* and afterwards, fine */
    rc_heap_free(h);
}

/* ---- a purge while the pages are walked ---- */

static const rc_type walk_a = {.name = "walk_a", .size = 200, .nslots = 1};
static const rc_type walk_b = {.name = "walk_b", .size = 1000, .nslots = 1};

TEST(a_purge_during_a_page_walk_leaves_the_page_lists_alone)
{
    /* A walk that allocates (a query's result list growing) frees buffers
     * as it goes: a buffer page emptied then can start a purge. The purge
     * must not take pages off the page lists under the walk: an empty
     * current page released at an index the walk has passed would have the
     * last page moved there, and the walk would never see it. */
    rc_heap *h = quiet_heap();
    REQUIRE(h);
    if (!h->buf_map) {   /* buffers in malloc: no buffer page to empty */
        rc_heap_free(h);
        return;
    }
    /* Tracked pages: [0] the empty current page of walk_a, [1..4] walk_b. */
    void *a = rc_new(h, &walk_a);
    REQUIRE(a);
    rc_decref(a);
    enum { PER_PAGE = (RC_PAGE_SIZE - RC_PAGE_HEADER) / 1024, NB = 3 * PER_PAGE + 10 };
    static void *b[NB];
    for (int i = 0; i < NB; i++) REQUIRE(b[i] = rc_new(h, &walk_b));
    REQUIRE(h->pages[1].len == 5);
    rc_page *pa = h->pages[1].items[0];
    REQUIRE(pa->size_class == rc__size_class(sizeof(rc_head) + walk_a.size));
    REQUIRE(pa->used == 0 && rc__page_is_current(h, pa));

    /* A buffer page holding one buffer, not the current page of its class. */
    void *eight[8];
    for (int i = 0; i < 8; i++) REQUIRE(eight[i] = rc__buf_realloc(h, NULL, 0, 8192));
    REQUIRE(rc__page_of(eight[0]) != rc__page_of(eight[7]));
    for (int i = 1; i < 7; i++) rc__buf_free(h, eight[i], 8192);

    /* Free pages waiting, one page short of a purge while freeing. */
    enum { NBIG = 3 * 70 };
    static void *big[NBIG];
    for (int i = 0; i < NBIG; i++) REQUIRE(big[i] = rc__buf_realloc(h, NULL, 0, 16384));
    int freed = 0;
    while (freed + 3 < NBIG && h->dirty_bytes + RC_PAGE_SIZE < (size_t)4 << 20) {
        for (int k = 0; k < 3; k++) rc__buf_free(h, big[freed + k], 16384);
        freed += 3;
    }
    REQUIRE(h->dirty_bytes + RC_PAGE_SIZE == (size_t)4 << 20);

    /* The walk: its first step empties that buffer page. */
    size_t seen = 0;
    RC__FOREACH_LIVE(h, 1, pg, o, {
        if (seen++ == 0) rc__buf_free(h, eight[0], 8192);
    });
    CHECK_EQ_INT(seen, NB);
    CHECK(h->dirty_bytes == 0);   /* the purge ran */

    for (int i = freed; i < NBIG; i++) rc__buf_free(h, big[i], 16384);
    rc__buf_free(h, eight[7], 8192);
    for (int i = 0; i < NB; i++) rc_decref(b[i]);
    CHECK_EQ_INT(stats(h).buffer_bytes, 0);
    rc_heap_free(h);
}

TEST(a_trim_the_allocator_refuses_leaves_the_vector_as_it_was)
{
    /* A heap's own realloc may refuse even to shrink: the purge at the end
     * of a release then keeps the page list's room, and loses nothing. */
    rc_heap *h = fa_heap_new();
    REQUIRE(h);
    rc_gc_disable(h);
    char text[1000];
    memset(text, 'x', sizeof text);
    rc_str *keep = rc_str_new(h, text, 10);
    REQUIRE(keep);
    for (int round = 0; round < 2; round++) {
        rc_list *l = rc_list_new(h, 0);
        REQUIRE(l);
        for (int i = 0; i < 200 * 63; i++) {
            rc_str *s = rc_str_new(h, text, sizeof text);
            REQUIRE(s);
            REQUIRE(rc_list_append(l, rc_obj(s)) == 0);
            rc_decref(s);
        }
        size_t cap = h->pages[0].cap;
        REQUIRE(cap >= 128);
        long f = fa_failures;
        if (round == 0) fa_arm(0);   /* the next allocating realloc: the trim's */
        rc_decref(l);
        fa_disarm();
        CHECK_EQ_INT(fa_failures, f + (round == 0));
        if (round == 0) CHECK_EQ_INT(h->pages[0].cap, cap);   /* refused: as it was */
        else CHECK(h->pages[0].cap <= 16);                    /* the next release trims */
        CHECK(h->pages[0].len >= 1 && h->pages[0].len <= 4);
        CHECK(h->pages[0].items[h->pages[0].len - 1] != NULL);
        CHECK_EQ_INT(live_objects(h), 1);
        CHECK_EQ_INT(rc_heap_check(h, NULL), 0);
        CHECK_EQ_INT(rc_str_len(keep), 10);
    }
    rc_decref(keep);
    rc_heap_free(h);
}

/* ---- the system says no ---- */

#define OOM_EXPECT(c)                                                   \
    do {                                                                \
        if (!(c)) {                                                     \
            fprintf(stderr, "  line %d: %s\n", __LINE__, #c);           \
            fails++;                                                    \
        }                                                               \
    } while (0)

/* Bytes of address space the process has mapped. */
static size_t vm_bytes(void)
{
    unsigned long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    if (fscanf(f, "%lu", &pages) != 1) pages = 0;
    fclose(f);
    return pages * (size_t)sysconf(_SC_PAGESIZE);
}

/* In a child: address space limited to what is mapped now + 48 MiB, a
 * heap grows small lists, a big list and a dict until the system refuses.
 * Each refusal is RC_ENOMEM with every item kept; what is dropped goes back,
 * so the next structure finds room. Exits with the number of failed checks
 * (100: no heap or no limit). */
static void run_out_of_address_space(void)
{
    int fails = 0;
    rc_heap *h = quiet_heap();
    if (!h) _exit(100);
    size_t vm = vm_bytes();
    struct rlimit rl;
    if (!vm || getrlimit(RLIMIT_AS, &rl) != 0) _exit(100);
    rl.rlim_cur = vm + ((size_t)48 << 20);
    if (setrlimit(RLIMIT_AS, &rl) != 0) _exit(100);

    /* Small lists (object pages, buffer pages), each holding the one before. */
    enum { CHAIN_MAX = 5000000 };
    rc_list *last = NULL;
    size_t n = 0;
    while (n < CHAIN_MAX) {
        rc_list *c = rc_list_new(h, 0);
        if (!c) break;
        if ((last && rc_list_append(c, rc_obj(last)) != 0) || rc_list_append(c, rc_int((int64_t)n)) != 0) {
            rc_decref(c);
            break;
        }
        if (last) rc_decref(last);
        last = c;
        n++;
    }
    OOM_EXPECT(n > 1000 && n < CHAIN_MAX);
    OOM_EXPECT(rc_heap_error(h) == RC_ENOMEM);
    size_t bad = 0;
    const rc_list *c = last;
    for (size_t i = n; i-- > 0; c = i ? rc_as_obj(rc_list_get(c, 0)) : NULL)
        bad += rc_list_get(c, rc_list_len(c) - 1) != rc_int((int64_t)i);
    OOM_EXPECT(bad == 0);
    rc_decref(last);
    rc_heap_stats st = stats(h);
    OOM_EXPECT(st.objects == 0 && st.buffer_bytes == 0);

    /* A big list, in a mapping of its own, grows until it cannot: the room
     * the small lists took came back. */
    rc_list *l = rc_list_new(h, 0);
    OOM_EXPECT(l != NULL);
    size_t ok = 0;
    while (l && ok < ((size_t)1 << 26) && rc_list_append(l, rc_int((int64_t)ok)) == 0) ok++;
    OOM_EXPECT(ok > 1000000 && ok < ((size_t)1 << 26));
    OOM_EXPECT(rc_heap_error(h) == RC_ENOMEM);
    OOM_EXPECT(l && rc_list_len(l) == ok);
    bad = 0;
    for (size_t i = 0; l && i < ok; i++) bad += rc_list_get(l, i) != rc_int((int64_t)i);
    OOM_EXPECT(bad == 0);

    /* A dict beside it, until its tables cannot grow. */
    rc_dict *d = rc_dict_new(h);
    size_t k = 0;
    while (d && k < ((size_t)1 << 26) && rc_dict_set(d, rc_int((int64_t)k), rc_int(-(int64_t)k)) == 0) k++;
    OOM_EXPECT(d && k < ((size_t)1 << 26));
    OOM_EXPECT(rc_heap_error(h) == RC_ENOMEM);
    OOM_EXPECT(d && rc_dict_len(d) == k);
    bad = 0;
    for (size_t i = 0; d && i < k; i++) bad += rc_dict_get(d, rc_int((int64_t)i)) != rc_int(-(int64_t)i);
    OOM_EXPECT(bad == 0);

    /* All dropped: nothing mapped stays, and the room is there again. */
    if (l) rc_decref(l);
    if (d) rc_decref(d);
    st = stats(h);
    OOM_EXPECT(st.objects == 0 && st.buffer_bytes == 0 && st.buffer_map_bytes == 0);
    OOM_EXPECT(rc_heap_check(h, NULL) == 0);
    l = rc_list_new(h, 0);
    size_t again = 0;
    while (l && again < ok && rc_list_append(l, rc_int(1)) == 0) again++;
    OOM_EXPECT(again == ok);
    if (l) rc_decref(l);
    rc_heap_free(h);
    _exit(fails);
}

TEST(running_out_of_address_space_fails_cleanly_and_keeps_every_item)
{
    rc_heap *h = rc_heap_new(NULL);
    REQUIRE(h);
    bool own = h->buf_map;   /* ASan and valgrind: malloc's buffers, their own limits */
    rc_heap_free(h);
    if (!own) return;
    char out[4096];
    int status = child_stderr(run_out_of_address_space, out, sizeof out);
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        fprintf(stderr, "  child status %d, said:\n%s", status, out);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- the segment cache (alloc.c) ---- */

static uintptr_t page_of(const void *obj)
{
    return (uintptr_t)obj & ~(uintptr_t)(RC_PAGE_SIZE - 1);
}

/* Whether the system page at p is mapped. */
static int mapped(uintptr_t p)
{
    return msync((void *)p, (size_t)sysconf(_SC_PAGESIZE), MS_ASYNC) == 0;
}

/* Resident bytes of the heap page at p (mincore); 0 when not mapped. */
static size_t resident(uintptr_t p)
{
    size_t sys = (size_t)sysconf(_SC_PAGESIZE), n = RC_PAGE_SIZE / sys, count = 0;
    static unsigned char v[RC_PAGE_SIZE / 4096];
    if (n > sizeof v || mincore((void *)p, RC_PAGE_SIZE, v) != 0) return 0;
    for (size_t i = 0; i < n; i++) count += v[i] & 1;
    return count * sys;
}

static const rc_type seg_node_type = {.name = "seg_node", .size = 24, .nslots = 2};

/* A heap made and freed per request (an envelope handed between threads)
 * makes no system call once warm: its segment waits in the cache, its
 * first page still committed, and the next heap takes it and that page.
 * Without the cache the segment was unmapped at rc_heap_free (msync says
 * it is gone) and the next heap mapped, trimmed and faulted in another:
 * about 250 us of page-table work for a heap of one object. Under valgrind
 * segments are never cached; in malloc mode objects are not in segments. */
TEST(a_freed_heaps_segment_waits_committed_for_the_next_heap)
{
    rc__segment_cache_flush();   /* earlier tests' segments */
    rc_heap *h = rc_heap_new(NULL);
    void *a = rc_new(h, &seg_node_type);
    REQUIRE(a != NULL);
    if (h->use_malloc) {
        CHECK(h->segments == NULL);
        rc_decref(a);
        rc_heap_free(h);
        return;
    }
    bool cached = !h->valgrind;
    uintptr_t pg = page_of(a);
    rc_decref(a);
    rc_heap_free(h);
    CHECK_EQ_INT(mapped(pg), cached);
    if (!cached) return;
    CHECK(resident(pg) == RC_PAGE_SIZE);   /* the page it used: still committed */
    h = rc_heap_new(NULL);
    void *b = rc_new(h, &seg_node_type);
    REQUIRE(b != NULL);
    CHECK(page_of(b) == pg);
    CHECK(h->page_bytes >= RC_PAGE_SIZE);
    rc_decref(b);
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    rc_heap_free(h);
}

/* What the cache keeps of the process's memory is bounded: heaps that grew
 * to megabytes and were freed leave at most 256 KiB committed in all the
 * cached segments together (the rest decommitted or unmapped), and a heap
 * that takes a cached segment counts its committed pages as dirty. */
TEST(the_segment_cache_keeps_little_memory)
{
    enum { HEAPS = 6, NODES = 60000 };   /* 2.4 MB of nodes each: one segment */
    rc_heap *hs[HEAPS];
    static uintptr_t pages[HEAPS][64];
    size_t npages[HEAPS];
    for (int i = 0; i < HEAPS; i++) {
        hs[i] = rc_heap_new(NULL);
        rc_gc_disable(hs[i]);
        rc_list *l = rc_list_new(hs[i], 0);
        for (int k = 0; k < NODES; k++) {
            void *x = rc_new(hs[i], &seg_node_type);
            REQUIRE(x != NULL);
            rc_list_append(l, rc_obj(x));
            rc_decref(x);
        }
        rc_vec *v = &hs[i]->pages[1];
        npages[i] = v->len < 64 ? v->len : 64;
        for (size_t k = 0; k < npages[i]; k++) pages[i][k] = (uintptr_t)v->items[k];
        rc_decref(l);
    }
    bool malloc_mode = hs[0]->use_malloc;
    for (int i = 0; i < HEAPS; i++) rc_heap_free(hs[i]);
    if (malloc_mode) return;
    size_t kept = 0, seen = 0;
    for (int i = 0; i < HEAPS; i++)
        for (size_t k = 0; k < npages[i]; k++, seen++) kept += resident(pages[i][k]);
    CHECK(seen >= HEAPS * 20);
    CHECK(kept <= (size_t)256 * 1024);
    rc_heap *h = rc_heap_new(NULL);
    void *x = rc_new(h, &seg_node_type);
    REQUIRE(x != NULL);
    CHECK(h->page_bytes - h->dirty_bytes == RC_PAGE_SIZE);   /* one page in use, the rest dirty */
    rc_decref(x);
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    rc_heap_free(h);
}

RC_TEST_MAIN
