/* test_full_walk.c -- a full collection's walks over the pages: the count,
 * the mark and the deletion of garbage held in place, on pages where
 * garbage lies among live objects, free blocks, untracked and frozen
 * objects, and where freeing a page's garbage runs code of its own. */
#include "harness.h"
#include "testutil.h"
#include "nodes.h"
#include "core/internal.h"
#include "collector/collector.h"
#include "recycle/gc.h"
#include <stdlib.h>

NODES_IMPL


/* Whether every tracked page that is not the current one and keeps at most
 * three quarters of its blocks can take allocations again (not FULL, on
 * its class's available queue), as freeing its blocks one at a time
 * leaves it. */
static bool pages_reusable(rc_heap *h)
{
    bool ok = true;
    for (size_t i = 0; i < h->pages[1].len; i++) {
        rc_page *pg = h->pages[1].items[i];
        if (pg->flags & RC_PAGE_LARGE || rc__page_is_current(h, pg) || !pg->used) continue;
        if (pg->used <= pg->capacity - pg->capacity / 4 &&
            ((pg->flags & RC_PAGE_FULL) || !(pg->flags & RC_PAGE_AVAIL))) {
            fprintf(stderr, "  page %p: %u of %u blocks used, flags 0x%x\n", (void *)pg, pg->used,
                    pg->capacity, pg->flags);
            ok = false;
        }
    }
    return ok;
}

enum { ROUNDS = 20000 };

/* Full pages where each live object sits between garbage cycles: the
 * garbage goes, the page books count what is left, and the pages take
 * allocations again (no new page for as many new objects as went). */
TEST(garbage_among_live_objects_on_full_pages_goes_back_to_its_pages)
{
    rc_heap *h = quiet_heap();
    node **live = malloc(ROUNDS * sizeof *live);
    REQUIRE(live != NULL);
    for (int i = 0; i < ROUNDS; i++) {
        make_cycle(h, &node2_type);
        make_cycle(h, &node2_type);
        live[i] = rc_new(h, &node2_type);
        if (i) node_set(live[i], 1, live[i - 1]);   /* a chain the collection must keep */
    }
    CHECK_EQ_INT(rc_gc_collect(h, 2), 4 * ROUNDS);
    CHECK_EQ_INT(live_objects(h), ROUNDS);
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    CHECK(pages_reusable(h));
    rc_heap_stats before, after;
    rc_heap_get_stats(h, &before);
    for (int i = 0; i < 2 * ROUNDS; i++) make_cycle(h, &node2_type);
    rc_heap_get_stats(h, &after);
    CHECK_EQ_INT(after.page_bytes, before.page_bytes);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 4 * ROUNDS);
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    for (int i = 0; i < ROUNDS; i++) rc_decref(live[i]);
    free(live);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* Whether page pg's books agree with its blocks: `used` counts the live
 * ones, and (unwatched pages) the free list holds the rest. */
static bool page_books_right(rc_page *pg)
{
    size_t live = 0, blocks = 0, nfree = 0;
    RC__FOREACH_BLOCK(pg, b) {
        blocks++;
        live += b->refcnt != 0;
    }
    if (live != pg->used) return false;
    if (pg->flags & (RC_PAGE_WATCH | RC_PAGE_LARGE)) return true;
    for (rc_head *b = pg->free; b && nfree <= blocks; b = rc__free_next(b)) nfree++;
    return live + nfree == blocks;
}

/* Garbage whose destroy allocates, among plain garbage on the same pages:
 * the objects it makes take blocks the collection just freed, and nothing
 * is lost or counted twice; the page books are right whenever a destroy
 * runs. */
static node **made;
static size_t nmade;
static rc_heap *made_heap;
static int bad_books;
static void allocating_destroy(void *o)
{
    bad_books += !page_books_right(rc__page_of(RC_HEAD(o)));
    made[nmade++] = rc_new(made_heap, &node2_type);
}
static const rc_type destroyed_type = {
    .name = "destroyed", .size = sizeof(node), .nslots = 2, .destroy = allocating_destroy,
};

TEST(a_destroy_that_allocates_amid_a_pages_garbage_leaves_the_books_right)
{
    rc_heap *h = quiet_heap();
    made_heap = h;
    made = malloc(2 * ROUNDS * sizeof *made);
    nmade = 0;
    bad_books = 0;
    REQUIRE(made != NULL);
    for (int i = 0; i < ROUNDS; i++) make_cycle(h, i % 7 == 3 ? &destroyed_type : &node2_type);
    size_t expect = 0;
    for (int i = 0; i < ROUNDS; i++) expect += i % 7 == 3 ? 2 : 0;
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2 * ROUNDS);
    CHECK_EQ_INT(nmade, expect);
    CHECK_EQ_INT(bad_books, 0);
    CHECK_EQ_INT(live_objects(h), expect);
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    size_t counts[3];
    rc_gc_get_count(h, counts);
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.tracked, expect);
    CHECK_EQ_INT(st.gen_objects[0] + st.gen_objects[1] + st.gen_objects[2], expect);
    for (size_t i = 0; i < nmade; i++) rc_decref(made[i]);
    free(made);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* A page's garbage whose only referrers lie further on (the next page, or
 * a later chunk of the same one): it outlives its own chunk, held, and
 * dies when they let go; the generation counts stay right. */
TEST(garbage_held_only_from_further_on_dies_when_its_referrers_let_go)
{
    rc_heap *h = quiet_heap();
    enum { N = 30000 };
    node **first = malloc(N * sizeof *first);
    REQUIRE(first != NULL);
    for (int i = 0; i < N; i++) first[i] = rc_new(h, &node2_type);
    rc_gc_collect(h, 0);
    rc_gc_collect(h, 1);   /* the first ones are old, the cycles will be young */
    for (int i = 0; i < N; i++) {   /* cycles made later, each holding one of the first */
        node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
        node_set(a, 0, b);
        node_set(b, 0, a);
        node_set(a, 1, first[i]);
        rc_decref(first[i]);
        rc_decref(a);
        rc_decref(b);
    }
    free(first);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 3 * N);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.gen_objects[0] + st.gen_objects[1] + st.gen_objects[2], 0);
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    rc_heap_free(h);
}

/* Blocks that are no members sit among the members the count and the
 * mark walk: a freed object whose stale slot still points at a live one,
 * a frozen object and an object of an RC_TYPE_ACYCLIC type that hold the
 * only references to objects of the set. Their references are not counted, so
 * what they hold looks held from outside and survives; a cycle beside them
 * goes. */
static const rc_type acyclic_type = {
    .name = "acyclic", .size = sizeof(node), .nslots = 2, .flags = RC_TYPE_ACYCLIC,
};

TEST(full_walks_pass_over_free_blocks_frozen_and_untracked_objects)
{
    rc_heap *h = quiet_heap();
    enum { N = 5000 };
    node **held = malloc(3 * N * sizeof *held);
    REQUIRE(held != NULL);
    node **frozen = malloc(N * sizeof *frozen), **freed = malloc(N * sizeof *freed);
    REQUIRE(frozen != NULL && freed != NULL);
    for (int i = 0; i < N; i++) frozen[i] = rc_new(h, &node2_type);
    CHECK_EQ_INT(rc_gc_freeze(h), 0);
    for (int i = 0; i < N; i++) {
        /* a freed node whose slot 1 (past the free-list link) still names x */
        node *x = rc_new(h, &node2_type), *f = rc_new(h, &node2_type);
        node_set(f, 1, x);
        freed[i] = f;   /* freed once all is made, so that no new object takes its block */
        held[3 * i] = x;
        /* y: held by a frozen node alone; z: by an untracked node alone */
        node *y = rc_new(h, &node2_type), *z = rc_new(h, &node2_type);
        node_set(frozen[i], 1, y);
        rc_decref(y);
        node *u = rc_new(h, &acyclic_type);
        node_set(u, 1, z);
        rc_decref(z);
        held[3 * i + 1] = y;
        held[3 * i + 2] = u;
        make_cycle(h, &node2_type);
    }
    for (int i = 0; i < N; i++) rc_decref(freed[i]);
    free(freed);
    /* Twice, with new cycles between: the marks' two polarities. */
    for (int round = 0; round < 2; round++) {
        if (round)
            for (int i = 0; i < N; i++) make_cycle(h, &node2_type);
        CHECK_EQ_INT(rc_gc_collect(h, 2), 2 * N);
        for (int i = 0; i < N; i++) {
            CHECK_EQ_INT(rc_refcount(held[3 * i]), 1);
            CHECK_EQ_INT(rc_refcount(held[3 * i + 1]), 1);
            CHECK_EQ_INT(rc_refcount(((node *)held[3 * i + 2])->slot[1]), 1);
        }
        CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    }
    CHECK_EQ_INT(rc_gc_unfreeze(h), 0);
    for (int i = 0; i < 3 * N; i++)
        if (i % 3 != 1) rc_decref(held[i]);
    for (int i = 0; i < N; i++) rc_decref(frozen[i]);
    free(held);
    free(frozen);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* A page all garbage goes in one step only when nothing further on still
 * holds any of it: here the current page of a small class holds garbage
 * that cycles made later refer to, and garbage between them has a destroy
 * that allocates on that page. Its object must not take the block of one
 * still held (the later cycle's release would drop a reference to it). */
typedef struct small {
    void *slot[1];
} small;
static const rc_type small_type = {.name = "small", .size = sizeof(small), .nslots = 1};
static void *small_made;
static rc_heap *small_heap;
static void small_destroy(void *o)
{
    (void)o;
    if (!small_made) small_made = rc_new(small_heap, &small_type);
}
static const rc_type small_destroyer_type = {
    .name = "small_destroyer", .size = sizeof(node), .nslots = 2, .destroy = small_destroy,
};

TEST(a_page_of_garbage_held_from_further_on_keeps_its_blocks)
{
    rc_heap *h = quiet_heap();
    small_heap = h;
    small_made = NULL;
    enum { K = 100, D = 3000 };
    small *first[K];
    for (int i = 0; i < K; i++) first[i] = rc_new(h, &small_type);   /* one page, current */
    for (int i = 0; i < D; i++) make_cycle(h, &small_destroyer_type);
    for (int i = 0; i < K; i++) {
        node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
        node_set(a, 0, b);
        node_set(b, 0, a);
        node_set(a, 1, first[i]);
        rc_decref(first[i]);
        rc_decref(a);
        rc_decref(b);
    }
    CHECK_EQ_INT(rc_gc_collect(h, 2), K + 2 * D + 2 * K);
    REQUIRE(small_made != NULL);
    CHECK_EQ_INT(rc_refcount(small_made), 1);
    CHECK_EQ_INT(live_objects(h), 1);
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    rc_decref(small_made);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* Objects of several types side by side on the same pages -- slots types
 * of 2 and 4 slots, a type with traverse -- in garbage rings and in a live
 * structure whose last slots hold the only references: each object's
 * references are counted, and the garbage's released, with its own type,
 * so the rings go, all of them, and the structure stays. */
TEST(mixed_types_on_a_page_are_each_walked_with_their_own_slots)
{
    rc_heap *h = quiet_heap();
    enum { N = 6000 };
    node **live = malloc(N * sizeof *live);
    REQUIRE(live != NULL);
    for (int i = 0; i < N; i++) {
        node *a = rc_new(h, &node2_type), *b = rc_new(h, &node4_type), *c = rc_new(h, &cbnode_type);
        node_set(a, 1, b);
        node_set(b, 3, c);
        node_set(c, 2, a);
        rc_decref(a);
        rc_decref(b);
        rc_decref(c);
        node *l = rc_new(h, &node4_type), *x = rc_new(h, &node2_type), *y = rc_new(h, &cbnode_type);
        node_set(l, 3, x);
        node_set(x, 1, y);
        rc_decref(x);
        rc_decref(y);
        live[i] = l;
    }
    CHECK_EQ_INT(rc_gc_collect(h, 2), 3 * N);
    for (int i = 0; i < N; i++) {
        node *x = live[i]->slot[3];
        CHECK_EQ_INT(rc_refcount(x), 1);
        CHECK_EQ_INT(rc_refcount(x->slot[1]), 1);
    }
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    for (int i = 0; i < N; i++) rc_decref(live[i]);
    free(live);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* Plain garbage (slots objects with nothing to run) that holds the only
 * references to objects of every other kind: a str, an object of an
 * RC_TYPE_ACYCLIC type (untracked) holding a live node, an untracked object
 * whose destroy allocates, a young live node and a frozen one. Each of
 * those is let go exactly once: the str and the untracked ones die (the
 * destroy's new objects take no block of the garbage), the others keep the
 * counts the test holds. Twice (both mark polarities), found by a young
 * collection (a list), by a candidate scan (a list of old objects) or by a
 * full collection (in place). */
static rc_heap *outlive_heap;
static node **outlive_made;
static size_t outlive_nmade;
static void outlive_destroy(void *o)
{
    (void)o;
    node *n = rc_new(outlive_heap, &node2_type);
    if (n) n->payload = 42;
    outlive_made[outlive_nmade++] = n;
}
static const rc_type outlive_type = {
    .name = "outlive", .size = sizeof(node), .destroy = outlive_destroy,
};

enum found_by { BY_YOUNG, BY_CANDIDATES, BY_FULL };

/* Collect the way `by` says; what was found. Candidate scans run until one
 * finds nothing: each stops at its budget. */
static size_t collect_by(rc_heap *h, enum found_by by)
{
    if (by == BY_FULL) return rc_gc_collect(h, 2);
    if (by == BY_YOUNG) return rc_gc_collect(h, 0);
    size_t found = 0;
    for (size_t k = 1; k;) found += k = rc__scan_candidates(h);
    return found;
}

/* pairs[0..n-1]: n two-node cycles of node2, each held by its first node;
 * false when an allocation fails. */
static bool held_cycles(rc_heap *h, node **pairs, int n)
{
    for (int i = 0; i < n; i++)
        if (!(pairs[i] = make_held_cycle(h, &node2_type))) return false;
    return true;
}

static void plain_garbage_lets_go_once(enum found_by by)
{
    /* Not stressed: stress mode's scans stop at a small budget and keep no
     * candidates for the next. */
    rc_heap *h = unstressed_heap();
    rc_gc_disable(h);
    enum { N = 6000 };
    outlive_heap = h;
    outlive_made = malloc(N * sizeof *outlive_made);
    node **young = malloc(N / 5 * sizeof *young), **pairs = malloc(N * sizeof *pairs);
    REQUIRE(outlive_made != NULL && young != NULL && pairs != NULL);
    outlive_nmade = 0;
    node *live = rc_new(h, &node2_type), *frozen = rc_new(h, &node2_type);
    CHECK_EQ_INT(rc_gc_freeze(h), 0);
    for (int round = 0; round < 2; round++) {
        size_t before = live_objects(h);
        for (int i = 0; i < N; i++) {
            node *a = make_held_cycle(h, &node2_type);
            REQUIRE(a != NULL);
            node *b = a->slot[0];
            void *held = NULL;
            switch (i % 5) {
            case 0: held = rc_str_new(h, "held by garbage alone", 21); break;
            case 1:
                held = rc_new(h, &acyclic_type);
                node_set(held, 0, live);
                break;
            case 2: held = rc_new(h, &outlive_type); break;
            case 3:
                held = young[i / 5] = rc_new(h, &node2_type);
                rc_incref(held);
                break;
            case 4: rc_incref(frozen); held = frozen; break;
            }
            REQUIRE(held != NULL);
            node_set(b, 1, held);
            rc_decref(held);
            node_set(a, 1, live);
            pairs[i] = a;   /* the cycle's last reference, dropped below */
        }
        if (by == BY_CANDIDATES) rc_gc_collect(h, 1);   /* the cycles are old */
        for (int i = 0; i < N; i++) rc_decref(pairs[i]);
        size_t made = outlive_nmade;
        size_t found = collect_by(h, by);
        CHECK_EQ_INT(found, 2 * N);
        CHECK_EQ_INT(outlive_nmade - made, N / 5);
        CHECK_EQ_INT(live_objects(h), before + 2 * (N / 5));
        CHECK_EQ_INT(rc_refcount(live), 1);
        for (int i = 0; i < N / 5; i++) CHECK_EQ_INT(rc_refcount(young[i]), 1);
        CHECK_EQ_INT(rc_refcount(frozen), 1);
        for (size_t i = made; i < outlive_nmade; i++) {
            REQUIRE(outlive_made[i] != NULL);
            CHECK_EQ_INT(outlive_made[i]->payload, 42);
            CHECK_EQ_INT(rc_refcount(outlive_made[i]), 1);
        }
        CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
        for (int i = 0; i < N / 5; i++) rc_decref(young[i]);
    }
    for (size_t i = 0; i < outlive_nmade; i++) rc_decref(outlive_made[i]);
    free(outlive_made);
    free(young);
    free(pairs);
    CHECK_EQ_INT(rc_gc_unfreeze(h), 0);
    rc_decref(frozen);
    rc_decref(live);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(plain_garbage_of_a_full_collection_lets_go_once_of_what_outlives_it)
{
    plain_garbage_lets_go_once(BY_FULL);
}

TEST(plain_garbage_of_a_young_set_lets_go_once_of_what_outlives_it)
{
    plain_garbage_lets_go_once(BY_YOUNG);
}

TEST(plain_garbage_of_a_candidate_scan_lets_go_once_of_what_outlives_it)
{
    plain_garbage_lets_go_once(BY_CANDIDATES);
}

/* Plain garbage goes without being written: a page of it with a live node
 * on it gets its blocks back with their headers cleared and the free
 * list's link in the first word, and nothing else of them changed (where
 * pages are watched -- debug builds, sanitizers, valgrind -- garbage goes
 * the general way, which clears the slots). Found by a full collection
 * (in place) or a young one (a list); every page takes allocations again. */
static void plain_garbage_is_not_written(enum found_by by)
{
    rc_heap *h = quiet_heap();
    enum { N = 5000 };
    node **second = malloc(N * sizeof *second);
    REQUIRE(second != NULL);
    node *live = rc_new(h, &node2_type);
    if (by == BY_YOUNG) rc_gc_collect(h, 0);   /* live is not young */
    node *keep = NULL;
    for (int i = 0; i < N; i++) {
        node *a = make_held_cycle(h, &node2_type);
        REQUIRE(a != NULL);
        second[i] = a->slot[0];
        node_set(second[i], 1, live);
        if (i == N / 2) keep = rc_new(h, &node2_type);   /* a live node among the garbage */
        rc_decref(a);
    }
    REQUIRE(keep != NULL);
    CHECK_EQ_INT(rc_gc_collect(h, by == BY_YOUNG ? 0 : 2), 2 * N);
    CHECK_EQ_INT(rc_refcount(live), 1);
    CHECK_EQ_INT(live_objects(h), 2);
    if (!h->watch) {
        rc_page *pg = rc__page_of(RC_HEAD(keep));
        size_t kept_page = 0;
        for (int i = 0; i < N; i++) {
            if (rc__page_of(RC_HEAD(second[i])) != pg) continue;
            kept_page++;
            CHECK_EQ_INT(RC_HEAD(second[i])->refcnt, 0);
            CHECK(second[i]->slot[1] == live);   /* read, never written */
        }
        CHECK(kept_page > 0);
    }
    CHECK(pages_reusable(h));
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    free(second);
    rc_decref(keep);
    rc_decref(live);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(plain_garbage_of_a_full_collection_is_freed_without_writing_its_blocks)
{
    plain_garbage_is_not_written(BY_FULL);
}

TEST(plain_garbage_of_a_young_set_is_freed_without_writing_its_blocks)
{
    plain_garbage_is_not_written(BY_YOUNG);
}

/* Plain garbage that fills its pages (a structure built and dropped in one
 * go), found by a young collection or a candidate scan (lists), goes back a
 * page at a time, walked by pages: a page all garbage (kept here while
 * empty, as a walk keeps it) is empty again with no block on its free list
 * and none of its blocks written, where one by one each block would have
 * been cleared and pushed on that list. A candidate scan whose whole set
 * is garbage does not even sweep it: the blocks keep their refcounts, where
 * a sweep holds each (refcount + 1). */
static void plain_garbage_goes_a_page_at_a_time(enum found_by by)
{
    rc_heap *h = unstressed_heap();
    rc_gc_disable(h);
    enum { N = 5000 };
    node **pairs = malloc(N * sizeof *pairs);
    REQUIRE(pairs != NULL);
    REQUIRE(held_cycles(h, pairs, N));
    node *mid = pairs[N / 2], *partner = mid->slot[0];
    rc_page *pg = rc__page_of(RC_HEAD(mid));
    if (by == BY_CANDIDATES) rc_gc_collect(h, 1);   /* the cycles are old */
    for (int i = 0; i < N; i++) rc_decref(pairs[i]);
    h->keep_empty_pages++;   /* pg stays, to be looked at */
    size_t found = collect_by(h, by);
    CHECK_EQ_INT(found, 2 * N);
    CHECK_EQ_INT(live_objects(h), 0);
    if (!h->watch) {   /* watched pages: every block through rc__free_block */
        CHECK_EQ_INT(pg->used, 0);
        CHECK(pg->free == NULL);
        CHECK(pg->bump == rc__page_first(pg));
        CHECK(mid->slot[0] == partner);   /* never written */
        CHECK_EQ_INT(RC_HEAD(mid)->refcnt, (by == BY_CANDIDATES ? 1 : 2));
    }
    h->keep_empty_pages--;
    rc__release_empty_pages(h);
    CHECK(pages_reusable(h));
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    free(pairs);
    rc_heap_free(h);
}

TEST(plain_garbage_of_a_young_set_that_fills_its_pages_goes_back_a_page_at_a_time)
{
    plain_garbage_goes_a_page_at_a_time(BY_YOUNG);
}

TEST(plain_garbage_of_a_candidate_scan_goes_back_a_page_at_a_time_unswept)
{
    plain_garbage_goes_a_page_at_a_time(BY_CANDIDATES);
}

/* Plain garbage filling pages around one live object, which shares a page
 * with it alone: that page is freed block by block (only a page all
 * garbage goes back whole), the live object stays where it is, and the
 * blocks handed out next are the garbage's, never its own. */
static void plain_garbage_around_one_live_object(enum found_by by)
{
    rc_heap *h = unstressed_heap();
    rc_gc_disable(h);
    enum { N = 5000 };
    node **pairs = malloc(N * sizeof *pairs);
    REQUIRE(pairs != NULL);
    REQUIRE(held_cycles(h, pairs, N / 2));
    node *lone = rc_new(h, &node2_type);
    REQUIRE(lone != NULL);
    lone->payload = 1234;
    REQUIRE(held_cycles(h, pairs + N / 2, N - N / 2));
    if (by == BY_CANDIDATES) rc_gc_collect(h, 1);   /* the cycles are old */
    for (int i = 0; i < N; i++) rc_decref(pairs[i]);
    CHECK_EQ_INT(collect_by(h, by), 2 * N);
    CHECK_EQ_INT(live_objects(h), 1);
    REQUIRE(held_cycles(h, pairs, N));   /* the freed blocks again */
    for (int i = 0; i < N; i++) CHECK(pairs[i] != lone && pairs[i]->slot[0] != lone);
    CHECK_EQ_INT(rc_refcount(lone), 1);
    CHECK_EQ_INT(lone->payload, 1234);
    CHECK(lone->slot[0] == NULL && lone->slot[1] == NULL);
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    for (int i = 0; i < N; i++) rc_decref(pairs[i]);
    rc_decref(lone);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(live_objects(h), 0);
    free(pairs);
    rc_heap_free(h);
}

TEST(plain_garbage_of_a_full_collection_around_one_live_object_leaves_it_in_place)
{
    plain_garbage_around_one_live_object(BY_FULL);
}

TEST(plain_garbage_of_a_young_set_around_one_live_object_leaves_it_in_place)
{
    plain_garbage_around_one_live_object(BY_YOUNG);
}

TEST(plain_garbage_of_a_candidate_scan_around_one_live_object_leaves_it_in_place)
{
    plain_garbage_around_one_live_object(BY_CANDIDATES);
}

RC_TEST_MAIN
