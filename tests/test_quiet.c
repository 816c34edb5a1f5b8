/* test_quiet.c -- introspection that does not disturb what it looks at:
 * the counts of rc_gc_untrack / rc_gc_track, types that declare they can
 * never form a cycle (RC_TYPE_ACYCLIC), and the quiet forms of the queries
 * (rc_gc_get_objects_into and friends), which start no collection and leave
 * the generation counts and the candidate buffer as they were. */
#include "harness.h"
#include "testutil.h"
#include "nodes.h"
#include "recycle/builtins.h"
#include "recycle/gc.h"
#include "recycle/leak.h"
#include "recycle/weakref.h"
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

NODES_IMPL

/* ---- untrack and track keep the counts ---- */

TEST(untrack_takes_the_object_out_of_the_generation_0_count)
{
    rc_heap *h = quiet_heap();
    size_t c0[3], c1[3], c2[3];
    rc_gc_get_count(h, c0);
    rc_list *l = rc_list_new(h, 0);
    rc_gc_get_count(h, c1);
    CHECK_EQ_INT(c1[0], c0[0] + 1);
    CHECK_EQ_INT(rc_gc_untrack(l), 0);
    rc_gc_get_count(h, c2);
    CHECK_EQ_INT(c2[0], c0[0]);            /* as if it had never been allocated */
    CHECK_EQ_INT(rc_gc_untrack(l), 0);     /* twice: nothing more */
    rc_gc_get_count(h, c2);
    CHECK_EQ_INT(c2[0], c0[0]);
    CHECK_EQ_INT(rc_gc_track(l), 0);
    rc_gc_get_count(h, c2);
    CHECK_EQ_INT(c2[0], c1[0]);
    rc_decref(l);
    rc_gc_get_count(h, c2);
    CHECK_EQ_INT(c2[0], c0[0]);
    rc_heap_free(h);
}

TEST(track_and_untrack_in_a_loop_start_no_collection)
{
    rc_heap *h = unstressed_heap();
    rc_gc_set_threshold(h, 10, 10, 10);
    rc_gc_collect(h, 2);
    rc_list *l = rc_list_new(h, 0);
    rc_heap_stats before, after;
    rc_heap_get_stats(h, &before);
    for (int i = 0; i < 1000; i++) {
        rc_gc_untrack(l);
        rc_gc_track(l);
    }
    rc_list *other = rc_list_new(h, 0);   /* an allocation: would collect if the count had grown */
    rc_heap_get_stats(h, &after);
    CHECK_EQ_INT(after.collections[0], before.collections[0]);
    rc_decref(other);
    rc_decref(l);
    rc_heap_free(h);
}

TEST(untrack_keeps_every_generation_count_right)
{
    rc_heap *h = quiet_heap();
    rc_heap_stats st;
    rc_list *a = rc_list_new(h, 0), *b = rc_list_new(h, 0), *c = rc_list_new(h, 0);
    rc_gc_collect(h, 2);                       /* a, b, c: generation 2 */
    rc_gc_freeze(h);                           /* ... frozen: generation 3 */
    rc_list *d = rc_list_new(h, 0);            /* generation 0 */
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.gen_objects[3], 3);
    CHECK_EQ_INT(st.gen_objects[0], 1);
    CHECK_EQ_INT(rc_gc_untrack(a), 0);
    CHECK_EQ_INT(rc_gc_get_freeze_count(h), 2);
    CHECK_EQ_INT(rc_gc_untrack(d), 0);
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.gen_objects[0], 0);
    CHECK_EQ_INT(st.tracked, 2);
    CHECK_EQ_INT(rc_gc_track(a), 0);           /* back as a young object, not frozen */
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.gen_objects[0], 1);
    CHECK_EQ_INT(st.gen_objects[3], 2);
    rc_gc_unfreeze(h);
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.gen_objects[2], 2);
    CHECK_EQ_INT(st.gen_objects[0], 1);
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    rc_decref(a);
    rc_decref(b);
    rc_decref(c);
    rc_decref(d);
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.tracked, 0);
    rc_heap_free(h);
}

/* A destroy hook that untracks and tracks its own (dying) object: a misuse
 * (destroy must not touch references), which debug builds stop at; release
 * builds ignore the untrack, refuse the track, and keep the counts right. */
static int dying_untrack = 99, dying_track = 99;
static void untrack_self_destroy(void *obj)
{
    dying_untrack = rc_gc_untrack(obj);
    dying_track = rc_gc_track(obj);
}
static const rc_type self_untracker_type = {
    .name = "self_untracker", .size = sizeof(node), .nslots = 2, .destroy = untrack_self_destroy,
};

#ifdef RC_DEBUG
static void untrack_dying(void)
{
    rc_heap *h = quiet_heap();
    node *alone = rc_new(h, &self_untracker_type);
    rc_decref(alone);
}

TEST(untrack_of_a_dying_object_stops_a_debug_build)
{
    CHECK(dies_saying(untrack_dying, "rc_gc_untrack"));
}
#else
TEST(untrack_and_track_of_a_dying_object_change_no_count)
{
    rc_heap *h = quiet_heap();
    rc_list *holder = rc_list_new(h, 0);
    for (int i = 0; i < 3; i++) {
        node *n = rc_new(h, &self_untracker_type);
        rc_list_append(holder, rc_obj(n));
        rc_decref(n);
    }
    node *alone = rc_new(h, &self_untracker_type);
    rc_decref(alone);                          /* dies alone: the outer free */
    CHECK_EQ_INT(dying_untrack, 0);
    CHECK_EQ_INT(dying_track, -1);
    dying_untrack = dying_track = 99;
    rc_decref(holder);                         /* the nodes die in a burst (pending list) */
    CHECK_EQ_INT(dying_untrack, 0);
    CHECK_EQ_INT(dying_track, -1);
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.tracked, 0);
    CHECK_EQ_INT(st.gen_objects[0], 0);
    size_t c[3];
    rc_gc_get_count(h, c);
    CHECK_EQ_INT(c[0], 0);
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    rc_heap_free(h);
}
#endif

/* ---- quiet queries ---- */

static int collections_started;
static void count_starts(rc_heap *h, int phase, const rc_gc_info *info, void *ud)
{
    (void)h, (void)info, (void)ud;
    if (phase == RC_GC_START) collections_started++;
}

/* The heap's books a query must leave alone. */
typedef struct books {
    size_t count[3];
    size_t candidates;
    size_t gen_objects[4];
    size_t total_refcount;
} books;
static books books_of(rc_heap *h)
{
    books b;
    rc_heap_stats st;
    rc_gc_get_count(h, b.count);
    b.candidates = rc_gc_get_candidate_count(h);
    rc_heap_get_stats(h, &st);
    memcpy(b.gen_objects, st.gen_objects, sizeof b.gen_objects);
    b.total_refcount = rc_total_refcount(h);
    return b;
}
static bool same_books(books a, books b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* A heap where some of everything is old: `holder` (a list) holds 20 nodes
 * in a chain, the first node has a weak reference, and the garbage list
 * holds a saved cycle. Automatic collection is on. */
typedef struct world {
    rc_heap *h;
    rc_list *holder;
    node *first;
    rc_weakref *weak;
} world;

static world world_new(void)
{
    world w;
    w.h = unstressed_heap();
    rc_gc_disable(w.h);
    w.holder = rc_list_new(w.h, 0);
    node *prev = NULL;
    for (int i = 0; i < 20; i++) {
        node *n = rc_new(w.h, &node2_type);
        if (prev) node_set(prev, 0, n);
        rc_list_append(w.holder, rc_obj(n));
        if (!i) w.first = n;
        prev = n;
        rc_decref(n);
    }
    w.weak = rc_weakref_new(w.first, NULL, NULL);
    rc_gc_set_debug(w.h, RC_GC_DEBUG_SAVEALL);
    node *a = rc_new(w.h, &node2_type), *b = rc_new(w.h, &node2_type);
    node_set(a, 0, b);
    node_set(b, 0, a);
    rc_decref(a);
    rc_decref(b);
    rc_gc_collect(w.h, 2);                  /* the cycle goes to the garbage list */
    rc_gc_set_debug(w.h, 0);
    rc_gc_collect(w.h, 2);                  /* everything is old, nothing buffered */
    rc_gc_enable(w.h);
    rc_gc_callback_add(w.h, count_starts, NULL);
    return w;
}

static void world_free(world *w)
{
    rc_decref(w->weak);
    rc_decref(w->holder);
    rc_list_clear(rc_gc_garbage(w->h));     /* the saved cycle: garbage again */
    rc_gc_collect(w->h, 2);
    rc_heap_free(w->h);
}

/* Make the next tracked allocation start a young collection. */
static void make_due(rc_heap *h, rc_list **young)
{
    *young = rc_list_new(h, 0);             /* at least one young allocation */
    size_t c[3];
    rc_gc_get_count(h, c);
    rc_gc_set_threshold(h, (unsigned)c[0], 10, 10);
    collections_started = 0;
}

enum { QUERY_OBJECTS, QUERY_REFERRERS, QUERY_REFERENTS, QUERY_GARBAGE, QUERY_WEAKREFS, NQUERIES };
static const char *const query_names[NQUERIES] = {"get_objects", "get_referrers", "get_referents",
                                                  "garbage", "weakref_list"};

/* The quiet form of query q: its total (buf gets the first cap). */
static size_t quiet_query(world *w, int q, void **buf, size_t cap)
{
    void *objs[1] = {w->first};
    switch (q) {
    case QUERY_OBJECTS: return rc_gc_get_objects_into(w->h, -1, buf, cap);
    case QUERY_REFERRERS: return rc_gc_get_referrers_into(w->h, objs, 1, buf, cap);
    case QUERY_REFERENTS: return rc_gc_get_referents_into(w->h, objs, 1, buf, cap);
    case QUERY_GARBAGE: return rc_gc_garbage_into(w->h, buf, cap);
    default: return rc_weakref_list_into(w->first, (rc_weakref **)buf, cap);
    }
}

/* The list form of query q (a NEW list; the garbage list is BORROWED, so
 * it gets a reference of its own). */
static rc_list *list_query(world *w, int q)
{
    void *objs[1] = {w->first};
    rc_list *l;
    switch (q) {
    case QUERY_OBJECTS: return rc_gc_get_objects(w->h, -1);
    case QUERY_REFERRERS: return rc_gc_get_referrers(w->h, objs, 1);
    case QUERY_REFERENTS: return rc_gc_get_referents(w->h, objs, 1);
    case QUERY_GARBAGE:
        rc_gc_set_debug(w->h, 0);
        l = rc_gc_garbage(w->h);
        rc_incref(l);
        return l;
    default: return rc_weakref_list(w->first);
    }
}

/* Whether the list form of query q may start a collection: not the ones
 * about objects the caller passes, which it only borrows (a collection's
 * callbacks could free them). */
static bool list_form_collects(int q)
{
    return q == QUERY_OBJECTS || q == QUERY_GARBAGE;
}

TEST(quiet_queries_start_no_collection_where_the_list_forms_may)
{
    for (int q = 0; q < NQUERIES; q++) {
        world w = world_new();
        if (q == QUERY_GARBAGE) {
            /* rc_gc_garbage makes its list only once: a heap without one. */
            world_free(&w);
            rc_heap *h2 = unstressed_heap();
            rc_gc_callback_add(h2, count_starts, NULL);
            rc_list *young;
            make_due(h2, &young);
            books before = books_of(h2);
            CHECK_EQ_INT(rc_gc_garbage_into(h2, NULL, 0), 0);
            CHECK(same_books(before, books_of(h2)));
            CHECK_EQ_INT(collections_started, 0);
            rc_list *g = rc_gc_garbage(h2);   /* made now: an allocation, which collects */
            CHECK(g != NULL);
            CHECK_EQ_INT(collections_started, 1);
            rc_decref(young);
            rc_heap_free(h2);
            continue;
        }
        rc_list *young;
        make_due(w.h, &young);
        books before = books_of(w.h);
        void *buf[64];
        size_t n = quiet_query(&w, q, buf, 64);
        if (n == SIZE_MAX || n == 0) fprintf(stderr, "  query %s found %zu\n", query_names[q], n);
        CHECK(n != SIZE_MAX && n > 0 && n <= 64);
        CHECK(same_books(before, books_of(w.h)));
        CHECK_EQ_INT(collections_started, 0);
        rc_list *l = list_query(&w, q);
        REQUIRE(l != NULL);
        int want = list_form_collects(q);
        if (collections_started != want) fprintf(stderr, "  query %s\n", query_names[q]);
        CHECK_EQ_INT(collections_started, want);   /* the list form collected, or borrows */
        rc_decref(l);
        rc_decref(young);
        world_free(&w);
    }
}

TEST(quiet_queries_leave_counts_and_candidates_where_the_list_forms_change_them)
{
    for (int q = 0; q < NQUERIES; q++) {
        world w = world_new();
        rc_gc_disable(w.h);
        books before = books_of(w.h);
        CHECK_EQ_INT(before.candidates, 0);
        void *buf[64];
        size_t n = quiet_query(&w, q, buf, 64);
        CHECK(n != SIZE_MAX && n > 0);
        CHECK(same_books(before, books_of(w.h)));
        rc_list *l = list_query(&w, q);
        REQUIRE(l != NULL);
        /* the same answer, in the same order */
        size_t k = 0;
        for (size_t i = 0; i < rc_list_len(l); i++) {
            void *o = rc_as_obj(rc_list_get(l, i));
            if (q == QUERY_OBJECTS && o == (void *)l) continue;
            CHECK(k < n && buf[k] == o);
            k++;
        }
        CHECK_EQ_INT(k, n);
        books during = books_of(w.h);
        if (q != QUERY_GARBAGE) CHECK_EQ_INT(during.count[0], before.count[0] + 1);
        rc_decref(l);
        books after = books_of(w.h);
        CHECK(after.candidates > 0);            /* its old items became candidates */
        world_free(&w);
    }
}

TEST(a_short_array_gets_the_first_items_and_the_total)
{
    world w = world_new();
    size_t total = rc_gc_get_objects_into(w.h, 2, NULL, 0);
    REQUIRE(total != SIZE_MAX);
    CHECK(total >= 21);                         /* the holder and its 20 nodes at least */
    void **all = malloc(total * sizeof *all);
    CHECK_EQ_INT(rc_gc_get_objects_into(w.h, 2, all, total), total);
    void *few[4] = {0, 0, 0, (void *)&total};
    CHECK_EQ_INT(rc_gc_get_objects_into(w.h, 2, few, 3), total);
    CHECK(few[0] == all[0] && few[1] == all[1] && few[2] == all[2]);
    CHECK(few[3] == (void *)&total);            /* nothing past cap */
    void *one[1] = {(void *)&total};
    CHECK_EQ_INT(rc_gc_get_objects_into(w.h, 2, one, 0), total);
    CHECK(one[0] == (void *)&total);            /* cap 0 writes nothing */
    rc_heap_stats st;
    rc_heap_get_stats(w.h, &st);
    CHECK(total <= st.gen_objects[2]);
    free(all);
    world_free(&w);
}

TEST(quiet_queries_refuse_bad_arguments)
{
    world w = world_new();
    rc_heap *h = w.h;
    void *buf[4] = {0};
    void *objs[1] = {w.first};
    /* NULL heap (nothing to record the error on) and NULL object */
    CHECK_EQ_INT(rc_gc_get_objects_into(NULL, 0, buf, 4), SIZE_MAX);
    CHECK_EQ_INT(rc_gc_get_referrers_into(NULL, objs, 1, buf, 4), SIZE_MAX);
    CHECK_EQ_INT(rc_gc_get_referents_into(NULL, objs, 1, buf, 4), SIZE_MAX);
    CHECK_EQ_INT(rc_gc_garbage_into(NULL, buf, 4), SIZE_MAX);
    CHECK_EQ_INT(rc_weakref_list_into(NULL, (rc_weakref **)buf, 4), SIZE_MAX);
    CHECK_EQ_INT(rc_gc_get_candidate_count(NULL), 0);
    /* NULL buf with room claimed */
    rc_heap_clear_error(h);
    CHECK_EQ_INT(rc_gc_get_objects_into(h, 0, NULL, 4), SIZE_MAX);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    rc_heap_clear_error(h);
    CHECK_EQ_INT(rc_gc_get_referrers_into(h, objs, 1, NULL, 1), SIZE_MAX);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    rc_heap_clear_error(h);
    CHECK_EQ_INT(rc_gc_get_referents_into(h, objs, 1, NULL, 1), SIZE_MAX);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    rc_heap_clear_error(h);
    CHECK_EQ_INT(rc_gc_garbage_into(h, NULL, 1), SIZE_MAX);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    rc_heap_clear_error(h);
    CHECK_EQ_INT(rc_weakref_list_into(w.first, NULL, 1), SIZE_MAX);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    /* NULL buf with cap 0: a count */
    CHECK_EQ_INT(rc_weakref_list_into(w.first, NULL, 0), 1);
    CHECK_EQ_INT(rc_gc_garbage_into(h, NULL, 0), 2);
    CHECK_EQ_INT(rc_gc_get_referents_into(h, objs, 1, NULL, 0), 1);
    /* NULL objs */
    rc_heap_clear_error(h);
    CHECK_EQ_INT(rc_gc_get_referrers_into(h, NULL, 1, buf, 4), SIZE_MAX);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    rc_heap_clear_error(h);
    CHECK_EQ_INT(rc_gc_get_referents_into(h, NULL, 1, buf, 4), SIZE_MAX);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    CHECK_EQ_INT(rc_gc_get_referrers_into(h, NULL, 0, buf, 4), 0);
    CHECK_EQ_INT(rc_gc_get_referents_into(h, NULL, 0, buf, 4), 0);
    void *none[2] = {NULL, NULL};
    CHECK_EQ_INT(rc_gc_get_referents_into(h, none, 2, buf, 4), 0);
    /* generations out of range */
    const int bad[] = {-2, 4, INT_MAX, INT_MIN, -1000};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rc_heap_clear_error(h);
        CHECK_EQ_INT(rc_gc_get_objects_into(h, bad[i], buf, 4), SIZE_MAX);
        CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    }
    for (int g = -1; g <= 3; g++) CHECK(rc_gc_get_objects_into(h, g, NULL, 0) != SIZE_MAX);
    CHECK_EQ_INT(rc_gc_get_objects_into(h, 3, NULL, 0), 0);   /* nothing frozen */
    /* objects of another heap */
    rc_heap *other = quiet_heap();
    node *stranger = rc_new(other, &node2_type);
    node_set(stranger, 0, stranger);
    void *theirs[2] = {w.first, stranger};
    rc_heap_clear_error(h);
    CHECK_EQ_INT(rc_gc_get_referents_into(h, theirs, 2, buf, 4), SIZE_MAX);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    CHECK(strstr(rc_heap_error_message(h), "another heap") != NULL);
    CHECK_EQ_INT(rc_gc_get_referrers_into(h, theirs + 1, 1, buf, 4), 0);   /* none here */
    CHECK_EQ_INT(rc_gc_get_referents_into(other, theirs + 1, 1, buf, 4), 1);
    CHECK(buf[0] == (void *)stranger);
    node_set(stranger, 0, NULL);
    rc_decref(stranger);
    rc_heap_free(other);
    world_free(&w);
}

/* A finalizer that runs in a burst of frees and asks the quiet queries. */
static rc_heap *burst_heap;
static size_t burst_objects = 7, burst_referents = 7;
static int burst_error;
static void asking_fin(void *obj)
{
    void *buf[4];
    void *objs[1] = {obj};
    rc_heap_clear_error(burst_heap);
    burst_objects = rc_gc_get_objects_into(burst_heap, -1, buf, 4);
    burst_error = rc_heap_error(burst_heap);
    burst_referents = rc_gc_get_referents_into(burst_heap, objs, 1, buf, 4);
}
static const rc_type asking_type = {.name = "asking", .size = sizeof(node), .nslots = 2,
                                    .finalize = asking_fin};

TEST(quiet_walks_are_refused_while_objects_are_being_freed_and_the_rest_work)
{
    rc_heap *h = burst_heap = quiet_heap();
    rc_list *l = rc_list_new(h, 0);
    node *a = rc_new(h, &asking_type);
    rc_str *s = rc_str_from_cstr(h, "held");
    node_set(a, 0, s);
    rc_decref(s);
    rc_list_append(l, rc_obj(a));
    rc_decref(a);
    rc_decref(l);   /* l's release frees a: its finalizer runs mid-burst */
    CHECK_EQ_INT(burst_objects, SIZE_MAX);
    CHECK_EQ_INT(burst_error, RC_EBUSY);
    CHECK_EQ_INT(burst_referents, 1);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* A gc callback that asks: the collection's own books stay as they were. */
static size_t cb_found = 0, cb_candidates_before = 1, cb_candidates_after = 2;
static void asking_callback(rc_heap *h, int phase, const rc_gc_info *info, void *ud)
{
    (void)info, (void)ud;
    if (phase != RC_GC_STOP) return;
    cb_candidates_before = rc_gc_get_candidate_count(h);
    cb_found = rc_gc_get_objects_into(h, -1, NULL, 0);
    cb_candidates_after = rc_gc_get_candidate_count(h);
}

TEST(quiet_queries_work_from_a_gc_callback)
{
    rc_heap *h = quiet_heap();
    rc_list *l = rc_list_new(h, 0);
    rc_gc_callback_add(h, asking_callback, NULL);
    rc_gc_collect(h, 0);
    CHECK_EQ_INT(cb_found, 1);
    CHECK_EQ_INT(cb_candidates_before, cb_candidates_after);
    rc_decref(l);
    rc_heap_free(h);
}

/* ---- types that can never form a cycle (RC_TYPE_ACYCLIC) ---- */

/* A record that refers only to strs: two slots. */
static const rc_type record_type = {
    .name = "record", .size = sizeof(node), .nslots = 2, .flags = RC_TYPE_ACYCLIC,
};
/* The same with callbacks. */
static const rc_type cbrecord_type = {
    .name = "cbrecord", .size = sizeof(node), .traverse = cbnode_traverse, .clear = cbnode_clear,
    .flags = RC_TYPE_ACYCLIC,
};

static node *record_new(rc_heap *h, const rc_type *t, const char *a, const char *b)
{
    node *r = rc_new(h, t);
    rc_str *sa = rc_str_from_cstr(h, a), *sb = rc_str_from_cstr(h, b);
    node_set(r, 0, sa);
    node_set(r, 1, sb);
    rc_decref(sa);
    rc_decref(sb);
    return r;
}

TEST(acyclic_objects_are_never_tracked_nor_counted)
{
    rc_heap *h = quiet_heap();
    size_t c0[3], c1[3];
    rc_heap_stats st;
    rc_gc_get_count(h, c0);
    node *r = record_new(h, &record_type, "name", "value");
    node *q = record_new(h, &cbrecord_type, "name", "value");
    rc_gc_get_count(h, c1);
    CHECK_EQ_INT(c1[0], c0[0]);
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.tracked, 0);
    CHECK_EQ_INT(st.objects, 6);
    CHECK(!rc_gc_is_tracked(r) && !rc_gc_is_tracked(q));
    rc_heap_clear_error(h);
    CHECK_EQ_INT(rc_gc_track(r), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    CHECK(strstr(rc_heap_error_message(h), "RC_TYPE_ACYCLIC") != NULL);
    CHECK_EQ_INT(rc_gc_untrack(r), 0);
    CHECK_EQ_INT(rc_gc_get_objects_into(h, -1, NULL, 0), 0);
    /* never a candidate, however old the heap */
    rc_gc_collect(h, 2);
    rc_incref(r);
    rc_decref(r);
    CHECK_EQ_INT(rc_gc_get_candidate_count(h), 0);
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    rc_decref(r);
    rc_decref(q);
    CHECK_EQ_INT(live_objects(h), 0);           /* their strs went with them */
    rc_heap_free(h);
}

TEST(acyclic_allocations_start_no_collection)
{
    rc_heap *h = unstressed_heap();
    rc_gc_set_threshold(h, 10, 10, 10);
    rc_gc_callback_add(h, count_starts, NULL);
    collections_started = 0;
    rc_list *keep = rc_list_new(h, 0);
    for (int i = 0; i < 1000; i++) {
        node *r = rc_new(h, &record_type);
        rc_list_append(keep, rc_obj(r));
        rc_decref(r);
    }
    CHECK_EQ_INT(collections_started, 0);
    rc_decref(keep);
    rc_heap_free(h);
}

TEST(acyclic_objects_are_seen_by_the_leak_tools)
{
    rc_heap *h = quiet_heap();
    node *r = record_new(h, &record_type, "k", "v");
    rc_list *holder = rc_list_new(h, 0);
    rc_list_append(holder, rc_obj(r));
    void *objs[1] = {r}, *buf[4];
    CHECK_EQ_INT(rc_gc_get_referents_into(h, objs, 1, buf, 4), 2);
    CHECK((buf[0] == r->slot[0] && buf[1] == r->slot[1]) ||
          (buf[0] == r->slot[1] && buf[1] == r->slot[0]));
    rc_list *l = rc_gc_get_referents(h, objs, 1);
    CHECK_EQ_INT(rc_list_len(l), 2);
    rc_decref(l);
    rc_refindex *idx = rc_refindex_build(h);
    size_t n;
    void *const *who = rc_refindex_referrers(idx, r->slot[0], &n);
    CHECK_EQ_INT(n, 1);
    CHECK(n == 1 && who[0] == (void *)r);
    who = rc_refindex_referrers(idx, r, &n);
    CHECK(n == 1 && who[0] == (void *)holder);
    rc_refindex_free(idx);
    rc_chain *c = rc_why_alive(r->slot[0], NULL, NULL);   /* the record, held by us, -> str */
    REQUIRE(c != NULL);
    CHECK(c->found);
    CHECK_EQ_INT(c->len, 2);
    CHECK(c->len == 2 && c->objs[0] == (void *)r && c->objs[1] == r->slot[0]);
    rc_chain_free(c);
    /* get_referrers, like CPython's, lists tracked holders only */
    void *strs[1] = {r->slot[0]};
    CHECK_EQ_INT(rc_gc_get_referrers_into(h, strs, 1, buf, 4), 0);
    rc_decref(r);
    rc_decref(holder);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(a_tracked_cycle_holding_acyclic_objects_is_collected_with_them)
{
    rc_heap *h = quiet_heap();
    node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
    node *r = record_new(h, &record_type, "x", "y");
    node_set(a, 0, b);
    node_set(b, 0, a);
    node_set(a, 1, r);
    rc_decref(r);
    rc_decref(a);
    rc_decref(b);
    CHECK_EQ_INT(live_objects(h), 5);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2);       /* the two nodes; the record dies by refcount */
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

static size_t report_rows, report_left, report_held;
static void count_report(rc_heap *h, const rc_leak_report_row *rows, size_t n, void *ud)
{
    (void)h, (void)ud;
    report_rows = n;
    for (size_t i = 0; i < n; i++) {
        report_left += rows[i].objects;
        report_held += rows[i].held_outside;
    }
}

/* The contract broken: an "acyclic" object in a cycle leaks, safely, and the
 * leak tools show it. */
TEST(a_cycle_through_a_lying_acyclic_type_leaks_and_the_tools_show_it)
{
    rc_heap *h = quiet_heap();
    node *liar = rc_new(h, &record_type);
    node *n = rc_new(h, &node2_type);
    node_set(liar, 0, n);
    node_set(n, 0, liar);
    rc_decref(n);
    rc_decref(liar);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 0);       /* never freed */
    CHECK_EQ_INT(live_objects(h), 2);
    CHECK_EQ_INT(rc_heap_check(h, NULL), 0);   /* refcounts agree: nothing is corrupt */
    CHECK_EQ_INT(rc_external_refs(liar), 0);
    CHECK_EQ_INT(rc_external_refs(n), 0);
    rc_domtree *t = rc_domtree_build(h, NULL);
    CHECK_EQ_INT(rc_domtree_retained_size(t, liar), 0);   /* no root reaches it */
    CHECK_EQ_INT(rc_domtree_objects(t), 0);
    rc_domtree_free(t);
    rc_heap_set_leak_report(h, count_report, NULL);
    rc_heap_free(h);                            /* the end report lists them */
    CHECK(report_rows >= 1);
    CHECK_EQ_INT(report_left, 2);
    CHECK_EQ_INT(report_held, 0);
}

static const rc_type unknown_flag_type = {.name = "unknown_flag", .size = 16, .flags = 0x80};

TEST(a_type_with_an_unknown_flag_is_refused)
{
    rc_heap *h = quiet_heap();
    rc_heap_clear_error(h);
    CHECK(rc_new(h, &unknown_flag_type) == NULL);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    CHECK(strstr(rc_heap_error_message(h), "flags") != NULL);
    rc_heap_free(h);
}

RC_TEST_MAIN
