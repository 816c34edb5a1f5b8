/* test_gc_counts.c -- what a Python user reads from the collector: the kind
 * of each collection (a generation's, or a candidate scan, never passed off
 * as generation 2) in callbacks, statistics and debug output; rc_gc_get_count
 * after each kind; rc_gc_collect's result (found unreachable, as
 * gc.collect()) against the number freed, in every case where they differ
 * (docs/gc-module.md); and rc_gc_collect refusing what it cannot do. */
#include "harness.h"
#include "testutil.h"
#include "failalloc.h"
#include "nodes.h"
#include "recycle/builtins.h"
#include "recycle/gc.h"
#include "recycle/weakref.h"
#include <limits.h>
#include <stdio.h>
#include <string.h>

NODES_IMPL

/* ---- a log of what gc callbacks saw ---- */

typedef struct seen {
    int phase;
    rc_gc_info info;
    size_t count[3];   /* rc_gc_get_count at that moment */
} seen;

typedef struct cb_log {
    int n;
    seen s[16];
} cb_log;

static void logging_cb(rc_heap *h, int phase, const rc_gc_info *info, void *ud)
{
    cb_log *log = ud;
    if (log->n < 16) {
        log->s[log->n].phase = phase;
        log->s[log->n].info = *info;
        rc_gc_get_count(h, log->s[log->n].count);
    }
    log->n++;
}

/* An old object whose count dropped: a self-referencing list, made old by a
 * full collection, then let go. The next rc_gc_collect(h, 0 or 1) scans it. */
static void buffer_one_candidate(rc_heap *h)
{
    rc_list *l = rc_list_new(h, 0);
    rc_list_append(l, rc_obj(l));
    rc_gc_collect(h, 2);
    rc_decref(l);
}

static void check_count(rc_heap *h, size_t c0, size_t c1, size_t c2)
{
    size_t c[3];
    rc_gc_get_count(h, c);
    CHECK_EQ_INT(c[0], c0);
    CHECK_EQ_INT(c[1], c1);
    CHECK_EQ_INT(c[2], c2);
}

/* ---- kinds: callbacks ---- */

static void young_collection_with_candidates(int generation)
{
    rc_heap *h = quiet_heap();
    buffer_one_candidate(h);
    cb_log log = {0};
    rc_gc_callback_add(h, logging_cb, &log);
    CHECK_EQ_INT(rc_gc_collect(h, generation), 1);
    REQUIRE(log.n == 4);
    for (int i = 0; i < 4; i++) CHECK(log.s[i].info.generation != 2);
    /* first the candidate scan, as its own kind */
    CHECK_EQ_INT(log.s[0].phase, RC_GC_START);
    CHECK_EQ_INT(log.s[0].info.kind, RC_GC_CANDIDATE_SCAN);
    CHECK_EQ_INT(log.s[0].info.generation, -1);
    CHECK_EQ_INT(log.s[1].phase, RC_GC_STOP);
    CHECK_EQ_INT(log.s[1].info.kind, RC_GC_CANDIDATE_SCAN);
    CHECK_EQ_INT(log.s[1].info.generation, -1);
    CHECK_EQ_INT(log.s[1].info.collected, 1);
    CHECK_EQ_INT(log.s[1].info.freed, 1);
    /* then the collection the user asked for */
    CHECK_EQ_INT(log.s[2].phase, RC_GC_START);
    CHECK_EQ_INT(log.s[2].info.kind, RC_GC_GENERATIONS);
    CHECK_EQ_INT(log.s[2].info.generation, generation);
    CHECK_EQ_INT(log.s[3].phase, RC_GC_STOP);
    CHECK_EQ_INT(log.s[3].info.kind, RC_GC_GENERATIONS);
    CHECK_EQ_INT(log.s[3].info.generation, generation);
    CHECK_EQ_INT(log.s[3].info.collected, 0);
    rc_heap_free(h);
}

TEST(a_young_collection_with_candidates_is_seen_as_a_candidate_scan_then_generation_0)
{
    young_collection_with_candidates(0);
}

TEST(a_generation_1_collection_with_candidates_is_seen_as_a_candidate_scan_then_generation_1)
{
    young_collection_with_candidates(1);
}

TEST(a_full_collection_runs_no_candidate_scan)
{
    rc_heap *h = quiet_heap();
    buffer_one_candidate(h);
    cb_log log = {0};
    rc_gc_callback_add(h, logging_cb, &log);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 1);
    REQUIRE(log.n == 2);
    CHECK_EQ_INT(log.s[1].info.kind, RC_GC_GENERATIONS);
    CHECK_EQ_INT(log.s[1].info.generation, 2);
    CHECK_EQ_INT(log.s[1].info.collected, 1);
    rc_heap_free(h);
}

/* ---- kinds: statistics ---- */

TEST(candidate_scans_have_their_own_stats_row_and_generation_2_has_none_of_them)
{
    rc_heap *h = quiet_heap();
    buffer_one_candidate(h);   /* one full collection */
    rc_gc_collect(h, 0);       /* a candidate scan (frees 1), then generation 0 */
    rc_gc_stats st[3], cand;
    rc_gc_get_stats(h, st);
    rc_gc_get_candidate_stats(h, &cand);
    CHECK_EQ_INT(st[0].collections, 1);
    CHECK_EQ_INT(st[0].collected, 0);
    CHECK_EQ_INT(st[1].collections, 0);
    CHECK_EQ_INT(st[2].collections, 1);
    CHECK_EQ_INT(st[2].collected, 0);   /* the candidate scan's object is not here */
    CHECK_EQ_INT(st[2].freed, 0);
    CHECK_EQ_INT(cand.collections, 1);
    CHECK_EQ_INT(cand.collected, 1);
    CHECK_EQ_INT(cand.freed, 1);
    CHECK_EQ_INT(cand.uncollectable, 0);
    CHECK(cand.seconds >= 0);
    rc_heap_stats hs;
    rc_heap_get_stats(h, &hs);
    CHECK_EQ_INT(hs.candidate_scans, 1);
    CHECK_EQ_INT(hs.collected[2], 0);
    rc_heap_free(h);
}

/* ---- kinds: debug output ---- */

TEST(debug_stats_never_calls_a_candidate_scan_generation_2)
{
    rc_heap *h = quiet_heap();
    buffer_one_candidate(h);
    FILE *f = tmpfile();
    REQUIRE(f != NULL);
    rc_gc_set_debug_stream(h, f);
    rc_gc_set_debug(h, RC_GC_DEBUG_STATS);
    rc_gc_collect(h, 0);
    rc_gc_set_debug(h, 0);
    rc_gc_set_debug_stream(h, NULL);
    char *out = capture(f);
    CHECK(strstr(out, "gc: scanning 1 candidates (old objects)...\n") != NULL);
    CHECK(strstr(out, "gc: done (candidate scan), 1 unreachable, 0 uncollectable, ") != NULL);
    CHECK(strstr(out, "gc: collecting generation 0...\n") != NULL);
    CHECK(strstr(out, "generation 2") == NULL);
    rc_heap_free(h);
}

/* ---- rc_gc_get_count after each kind ---- */

static void keep_new_lists(rc_heap *h, rc_list *keep, int n)
{
    for (int i = 0; i < n; i++) {
        rc_list *l = rc_list_new(h, 0);
        rc_list_append(keep, rc_obj(l));
        rc_decref(l);
    }
}

TEST(get_count_after_young_middle_and_full_collections_follows_cpython)
{
    rc_heap *h = quiet_heap();
    rc_list *keep = rc_list_new(h, 0);
    rc_gc_collect(h, 2);
    check_count(h, 0, 0, 0);
    keep_new_lists(h, keep, 3);
    check_count(h, 3, 0, 0);
    rc_gc_collect(h, 0);           /* count[0] restarts, count[1] + 1 */
    check_count(h, 0, 1, 0);
    keep_new_lists(h, keep, 2);
    rc_gc_collect(h, 0);
    check_count(h, 0, 2, 0);
    keep_new_lists(h, keep, 2);
    check_count(h, 2, 2, 0);
    rc_gc_collect(h, 1);           /* count[0..1] restart, count[2] + 1 */
    check_count(h, 0, 0, 1);
    rc_gc_collect(h, 0);
    check_count(h, 0, 1, 1);
    keep_new_lists(h, keep, 1);
    rc_gc_collect(h, 2);           /* everything restarts */
    check_count(h, 0, 0, 0);
    rc_decref(keep);
    rc_heap_free(h);
}

TEST(get_count_is_left_alone_by_a_candidate_scan)
{
    /* An automatic candidate scan on its own: one buffered candidate
     * triggers it, thresholds keep generations from being collected. */
    rc_heap_config cfg;
    rc_heap_config_init(&cfg);
    cfg.gc_stress = -1;
    cfg.candidate_limit = 1;
    rc_heap *h = rc_heap_new(&cfg);
    rc_gc_disable(h);
    rc_gc_set_threshold(h, 1000, 1000, 1000);
    rc_list *keep = rc_list_new(h, 0);
    rc_list *old = rc_list_new(h, 0);
    rc_list_append(old, rc_obj(old));
    rc_gc_collect(h, 0);
    rc_gc_collect(h, 1);
    rc_gc_collect(h, 0);               /* counts (0, 1, 1); keep and old are old */
    keep_new_lists(h, keep, 2);        /* (2, 1, 1) */
    rc_decref(old);                    /* an old object's count dropped: buffered */
    cb_log log = {0};
    rc_gc_callback_add(h, logging_cb, &log);
    rc_gc_enable(h);
    keep_new_lists(h, keep, 1);        /* the allocation triggers the scan */
    rc_gc_disable(h);
    REQUIRE(log.n == 2);
    CHECK_EQ_INT(log.s[0].info.kind, RC_GC_CANDIDATE_SCAN);
    CHECK_EQ_INT(log.s[0].count[0], 2);
    CHECK_EQ_INT(log.s[0].count[1], 1);
    CHECK_EQ_INT(log.s[0].count[2], 1);
    CHECK_EQ_INT(log.s[1].info.kind, RC_GC_CANDIDATE_SCAN);
    CHECK_EQ_INT(log.s[1].info.freed, 1);
    /* the scan's one deallocation lowers count[0], as any other would;
     * no generation was collected, so nothing restarts */
    CHECK_EQ_INT(log.s[1].count[0], 1);
    CHECK_EQ_INT(log.s[1].count[1], 1);
    CHECK_EQ_INT(log.s[1].count[2], 1);
    check_count(h, 2, 1, 1);
    rc_gc_stats st[3];
    rc_gc_get_stats(h, st);
    CHECK_EQ_INT(st[2].collections, 0);
    rc_decref(keep);
    rc_heap_free(h);
}

/* ---- found unreachable (the result) against freed ---- */

/* The result of rc_gc_collect and the freed field of the one collection a
 * callback saw. */
typedef struct outcome {
    size_t result;
    rc_gc_info info;
} outcome;

static void collect_full(rc_heap *h, outcome *o)
{
    cb_log log = {0};
    *o = (outcome){0};
    rc_gc_callback_add(h, logging_cb, &log);
    o->result = rc_gc_collect(h, 2);
    rc_gc_callback_remove(h, logging_cb, &log);
    REQUIRE(log.n == 2);
    o->info = log.s[1].info;
    CHECK_EQ_INT(o->result, o->info.collected + o->info.uncollectable);
}

static node *cycle_of_two(rc_heap *h, const rc_type *t)
{
    node *a = rc_new(h, t), *b = rc_new(h, t);
    node_set(a, 0, b);
    node_set(b, 0, a);
    rc_decref(b);
    return a;   /* the caller's reference */
}

TEST(found_and_freed_agree_for_plain_garbage)
{
    rc_heap *h = quiet_heap();
    rc_decref(cycle_of_two(h, &node2_type));
    outcome o;
    collect_full(h, &o);
    CHECK_EQ_INT(o.result, 2);
    CHECK_EQ_INT(o.info.freed, 2);
    CHECK_EQ_INT(o.info.collected, 2);
    CHECK_EQ_INT(o.info.uncollectable, 0);
    CHECK_EQ_INT(o.info.resurrected, 0);
    rc_gc_stats st[3];
    rc_gc_get_stats(h, st);
    CHECK_EQ_INT(st[2].freed, 2);
    CHECK_EQ_INT(st[2].collected, 2);
    rc_heap_free(h);
}

TEST(saveall_garbage_is_found_and_collected_but_not_freed)
{
    rc_heap *h = quiet_heap();
    rc_gc_set_debug(h, RC_GC_DEBUG_SAVEALL);
    rc_decref(cycle_of_two(h, &node2_type));
    outcome o;
    collect_full(h, &o);
    CHECK_EQ_INT(o.result, 2);
    CHECK_EQ_INT(o.info.collected, 2);
    CHECK_EQ_INT(o.info.freed, 0);
    CHECK_EQ_INT(o.info.uncollectable, 0);
    CHECK_EQ_INT(rc_list_len(rc_gc_garbage(h)), 2);
    rc_gc_stats st[3];
    rc_gc_get_stats(h, st);
    CHECK_EQ_INT(st[2].collected, 2);
    CHECK_EQ_INT(st[2].freed, 0);
    rc_gc_set_debug(h, 0);
    rc_list_clear(rc_gc_garbage(h));
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2);
    CHECK_EQ_INT(live_objects(h), 1);   /* the garbage list */
    rc_heap_free(h);
}

/* Resurrection: CPython counts resurrected objects as neither collected nor
 * uncollectable, and gc.collect() leaves them out; so does recycle, and
 * reports them in `resurrected`. */
static node *resurrected_node;
static void resurrecting_finalize(void *o)
{
    rc_incref(o);
    resurrected_node = o;
}
static const rc_type phoenix_type = {
    .name = "phoenix", .size = sizeof(node), .nslots = 2, .finalize = resurrecting_finalize,
};

TEST(resurrected_objects_are_neither_found_nor_freed)
{
    rc_heap *h = quiet_heap();
    resurrected_node = NULL;
    node *a = cycle_of_two(h, &node2_type);
    node_set(a->slot[0], 1, rc_new(h, &phoenix_type));   /* b -> phoenix */
    rc_decref(((node *)a->slot[0])->slot[1]);
    rc_decref(a);
    rc_decref(cycle_of_two(h, &node2_type));   /* plain garbage beside it */
    outcome o;
    collect_full(h, &o);
    REQUIRE(resurrected_node != NULL);
    CHECK_EQ_INT(o.info.resurrected, 1);   /* the phoenix; it reaches nothing */
    CHECK_EQ_INT(o.result, 4);             /* a, b and the other pair */
    CHECK_EQ_INT(o.info.freed, 4);
    CHECK_EQ_INT(o.info.uncollectable, 0);
    rc_gc_stats st[3];
    rc_gc_get_stats(h, st);
    CHECK_EQ_INT(st[2].resurrected, 1);
    rc_decref(resurrected_node);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* A weak-reference callback that takes a reference to garbage it knows of
 * (through its data, not the cleared weak reference) resurrects it. */
static void grabbing_cb(rc_weakref *w, void *data)
{
    (void)w;
    rc_incref(data);
    resurrected_node = data;
}

TEST(objects_a_weakref_callback_resurrects_are_neither_found_nor_freed)
{
    rc_heap *h = quiet_heap();
    resurrected_node = NULL;
    node *a = cycle_of_two(h, &node2_type);
    node *other = cycle_of_two(h, &node2_type);
    rc_weakref *w = rc_weakref_new(other, grabbing_cb, a);
    rc_decref(a);
    rc_decref(other);
    outcome o;
    collect_full(h, &o);
    REQUIRE(resurrected_node == a);
    CHECK_EQ_INT(o.info.resurrected, 2);   /* a and b */
    CHECK_EQ_INT(o.result, 2);             /* the other pair */
    CHECK_EQ_INT(o.info.freed, 2);
    rc_decref(w);
    rc_decref(a);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* A live weak reference freed by its own callback is not garbage the
 * collection found: neither in the result nor in freed (CPython's
 * handle_weakrefs adds it to gc.collect()'s result). */
static void dropping_cb(rc_weakref *w, void *data)
{
    (void)data;
    rc_decref(w);   /* the program's only reference */
}

TEST(a_live_weakref_freed_by_its_own_callback_is_not_counted)
{
    rc_heap *h = quiet_heap();
    node *a = cycle_of_two(h, &node2_type);
    rc_weakref *w = rc_weakref_new(a, dropping_cb, NULL);
    REQUIRE(w != NULL);
    rc_decref(a);
    CHECK_EQ_INT(live_objects(h), 3);
    outcome o;
    collect_full(h, &o);
    CHECK_EQ_INT(o.result, 2);
    CHECK_EQ_INT(o.info.freed, 2);
    CHECK_EQ_INT(live_objects(h), 0);   /* the weak reference went too */
    rc_heap_free(h);
}

/* A finalizer that unlinks garbage from garbage: recycle holds what a
 * collection found until the end, so the unlinked object is still found and
 * freed by the collection (CPython frees it by refcount during its
 * finalizers and leaves it out of gc.collect()'s result). */
static void unlinking_finalize(void *o)
{
    node_set(o, 1, NULL);
}
static const rc_type unlinker_type = {
    .name = "unlinker", .size = sizeof(node), .nslots = 2, .finalize = unlinking_finalize,
};

TEST(garbage_a_finalizer_unlinks_is_still_found_and_freed)
{
    rc_heap *h = quiet_heap();
    node *a = cycle_of_two(h, &unlinker_type);
    node *c = rc_new(h, &node2_type);
    node_set(a, 1, c);   /* only a holds c */
    rc_decref(c);
    rc_decref(a);
    outcome o;
    collect_full(h, &o);
    CHECK_EQ_INT(o.result, 3);
    CHECK_EQ_INT(o.info.freed, 3);
    CHECK_EQ_INT(o.info.resurrected, 0);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* A full collection's walk passes an object before the root that reaches
 * it (allocated child first): it looks like garbage when passed, and must
 * not be freed with the real garbage once the root's mark reaches it. */
TEST(an_object_passed_before_the_root_that_reaches_it_is_not_freed_with_the_garbage)
{
    rc_heap *h = quiet_heap();
    node *child = rc_new(h, &node2_type);
    node *root = rc_new(h, &node2_type);
    root->slot[0] = child;   /* root takes our reference to child */
    rc_decref(cycle_of_two(h, &node2_type));
    outcome o;
    collect_full(h, &o);
    CHECK_EQ_INT(o.result, 2);
    CHECK_EQ_INT(o.info.freed, 2);
    CHECK_EQ_INT(rc_refcount(child), 1);
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    collect_full(h, &o);   /* and again, the polarity flipped */
    CHECK_EQ_INT(o.result, 0);
    CHECK_EQ_INT(rc_refcount(child), 1);
    rc_decref(root);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* Garbage whose only referrer is garbage on an earlier page dies when that
 * referrer lets go, before deletion's walk reaches it: found and freed all
 * the same. */
TEST(garbage_that_dies_before_deletion_reaches_it_is_counted_as_freed)
{
    enum { FILL = 20000 };
    rc_heap *h = quiet_heap();
    node *a = rc_new(h, &node2_type);
    node **fill = malloc(FILL * sizeof *fill);
    CHECK(fill != NULL);
    for (int i = 0; i < FILL; i++) fill[i] = rc_new(h, &node2_type);   /* pages apart */
    node *b = rc_new(h, &node2_type);
    a->slot[0] = b;      /* a takes our reference to b */
    node_set(b, 0, a);   /* b -> a */
    rc_decref(a);
    outcome o;
    collect_full(h, &o);
    CHECK_EQ_INT(o.result, 2);
    CHECK_EQ_INT(o.info.freed, 2);
    CHECK_EQ_INT(o.info.uncollectable, 0);
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    for (int i = 0; i < FILL; i++) rc_decref(fill[i]);
    free(fill);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* A clear() that hands a reference to another garbage object to a live
 * container: that object stays alive, found but not freed (uncollectable). */
static rc_list *handoff_to;
static void handoff_clear(void *o)
{
    node *n = o;
    void *v = n->slot[0];
    n->slot[0] = NULL;
    if (!v) return;
    rc_list_append(handoff_to, rc_obj(v));
    rc_decref(v);
}
static void handoff_traverse(void *o, rc_visit_fn visit, void *arg)
{
    if (((node *)o)->slot[0]) visit(((node *)o)->slot[0], arg);
}
static const rc_type handoff_type = {
    .name = "handoff", .size = sizeof(node), .traverse = handoff_traverse, .clear = handoff_clear,
};

TEST(garbage_that_clear_hands_to_a_live_object_is_found_and_uncollectable)
{
    rc_heap *h = quiet_heap();
    handoff_to = rc_list_new(h, 0);
    node *a = rc_new(h, &handoff_type), *b = rc_new(h, &node2_type);
    a->slot[0] = b;      /* a takes our reference to b */
    node_set(b, 0, a);
    rc_decref(a);
    outcome o;
    collect_full(h, &o);
    CHECK_EQ_INT(o.result, 2);
    CHECK_EQ_INT(o.info.freed, 1);          /* a; b lives on in the list, cleared */
    CHECK_EQ_INT(o.info.collected, 1);
    CHECK_EQ_INT(o.info.uncollectable, 1);
    CHECK_EQ_INT(rc_list_len(handoff_to), 1);
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    rc_decref(handoff_to);                  /* b goes with the list */
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* rc_gc_collect(h, gen) with the heap's next allocation failing; what its
 * callbacks saw goes in *log. */
static size_t collect_out_of_memory(rc_heap *h, int gen, cb_log *log)
{
    rc_gc_callback_add(h, logging_cb, log);
    fa_arm(0);
    size_t r = rc_gc_collect(h, gen);
    fa_disarm();
    rc_gc_callback_remove(h, logging_cb, log);
    return r;
}

/* Out of memory for the list of a full collection's garbage (gathered
 * because it has a finalizer to run): nothing is freed, all is found. */
static void noop_finalize(void *o) { (void)o; }
static const rc_type finalized_type = {
    .name = "finalized", .size = sizeof(node), .nslots = 2, .finalize = noop_finalize,
};

TEST(garbage_left_for_want_of_memory_is_found_and_uncollectable)
{
    rc_heap *h = fa_heap_new();
    rc_gc_disable(h);
    rc_decref(cycle_of_two(h, &finalized_type));
    cb_log log = {0};
    size_t r = collect_out_of_memory(h, 2, &log);
    REQUIRE(log.n == 2);
    CHECK_EQ_INT(rc_heap_error(h), RC_ENOMEM);
    CHECK_EQ_INT(r, 2);
    CHECK_EQ_INT(log.s[1].info.freed, 0);
    CHECK_EQ_INT(log.s[1].info.uncollectable, 2);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2);   /* with memory, the next one frees them */
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* A young collection gathers its members into a vector; with no memory
 * for it, the collection becomes a full one (which needs none), says so in
 * its callbacks, and still frees the garbage. */
TEST(a_young_collection_with_no_memory_for_its_members_becomes_a_full_one)
{
    rc_heap *h = fa_heap_new();
    rc_gc_disable(h);
    for (int i = 0; i < 20; i++) rc_decref(cycle_of_two(h, &node2_type));
    cb_log log = {0};
    size_t r = collect_out_of_memory(h, 0, &log);
    REQUIRE(log.n == 2);
    CHECK_EQ_INT(log.s[1].info.generation, 2);
    CHECK_EQ_INT(r, 40);
    CHECK_EQ_INT(log.s[1].info.freed, 40);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* Out of memory for the garbage list under RC_GC_DEBUG_SAVEALL: nothing is
 * saved, the garbage stays in place, found and uncollectable (not collected). */
TEST(saveall_garbage_the_list_cannot_take_is_found_and_uncollectable)
{
    rc_heap *h = fa_heap_new();
    rc_gc_disable(h);
    REQUIRE(rc_gc_garbage(h) != NULL);
    rc_decref(cycle_of_two(h, &node2_type));
    rc_gc_collect(h, 0);   /* the same young collection once, for its vectors */
    rc_gc_set_debug(h, RC_GC_DEBUG_SAVEALL);
    rc_decref(cycle_of_two(h, &node2_type));
    cb_log log = {0};
    rc_gc_callback_add(h, logging_cb, &log);
    fa_arm(0);
    size_t r = rc_gc_collect(h, 0);
    fa_disarm();
    REQUIRE(log.n == 2);
    CHECK_EQ_INT(rc_heap_error(h), RC_ENOMEM);
    CHECK(strstr(rc_heap_error_message(h), "SAVEALL") != NULL);
    CHECK_EQ_INT(r, 2);
    CHECK_EQ_INT(log.s[1].info.freed, 0);
    CHECK_EQ_INT(log.s[1].info.collected, 0);
    CHECK_EQ_INT(log.s[1].info.uncollectable, 2);
    CHECK_EQ_INT(rc_list_len(rc_gc_garbage(h)), 0);
    rc_gc_callback_remove(h, logging_cb, &log);
    rc_gc_set_debug(h, 0);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2);   /* a later collection frees them */
    CHECK_EQ_INT(live_objects(h), 1);       /* the garbage list */
    rc_heap_free(h);
}

/* ---- hostile calls ---- */

TEST(collecting_a_generation_that_does_not_exist_is_a_clear_error)
{
    rc_heap *h = quiet_heap();
    rc_decref(cycle_of_two(h, &node2_type));
    const int bad[] = {-1, 3, INT_MAX, INT_MIN};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rc_heap_clear_error(h);
        CHECK_EQ_INT(rc_gc_collect(h, bad[i]), 0);
        CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
        char want[64];
        snprintf(want, sizeof want, "generation %d is not 0, 1 or 2", bad[i]);
        CHECK(strstr(rc_heap_error_message(h), want) != NULL);
        check_count(h, 2, 0, 0);   /* nothing collected */
    }
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2);
    rc_heap_free(h);
}

static size_t nested_result = 99;
static int nested_error;
static void nested_collect_cb(rc_heap *h, int phase, const rc_gc_info *info, void *ud)
{
    (void)info;
    (void)ud;
    if (phase != RC_GC_START) return;
    nested_result = rc_gc_collect(h, 0);
    nested_error = rc_heap_error(h);
}

TEST(a_collection_asked_for_from_a_callback_is_refused_with_ebusy)
{
    rc_heap *h = quiet_heap();
    rc_decref(cycle_of_two(h, &node2_type));
    rc_gc_callback_add(h, nested_collect_cb, NULL);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2);   /* the outer one is unharmed */
    CHECK_EQ_INT(nested_result, 0);
    CHECK_EQ_INT(nested_error, RC_EBUSY);
    rc_gc_callback_remove(h, nested_collect_cb, NULL);
    rc_gc_stats st[3], cand;
    rc_gc_get_stats(h, st);
    rc_gc_get_candidate_stats(h, &cand);
    CHECK_EQ_INT(st[0].collections, 0);
    CHECK_EQ_INT(st[2].collections, 1);
    CHECK_EQ_INT(cand.collections, 0);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

static rc_heap *collecting_heap;
static void collecting_finalize(void *o)
{
    (void)o;
    nested_result = rc_gc_collect(collecting_heap, 2);
    nested_error = rc_heap_error(collecting_heap);
}
static const rc_type collector_type = {
    .name = "collector", .size = sizeof(node), .nslots = 2, .finalize = collecting_finalize,
};

TEST(a_collection_asked_for_from_a_finalizer_is_refused_with_ebusy)
{
    rc_heap *h = quiet_heap();
    collecting_heap = h;
    /* run by a collection */
    nested_result = 99;
    rc_decref(cycle_of_two(h, &collector_type));
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2);
    CHECK_EQ_INT(nested_result, 0);
    CHECK_EQ_INT(nested_error, RC_EBUSY);
    /* run by a refcount death */
    nested_result = 99;
    rc_heap_clear_error(h);
    rc_decref(rc_new(h, &collector_type));
    CHECK_EQ_INT(nested_result, 0);
    CHECK_EQ_INT(nested_error, RC_EBUSY);
    rc_gc_stats st[3];
    rc_gc_get_stats(h, st);
    CHECK_EQ_INT(st[2].collections, 1);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

RC_TEST_MAIN
