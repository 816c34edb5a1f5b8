/* test_corners.c -- corners of the public API where the library used to do
 * the wrong thing: garbage reached through weak references made during a
 * collection, references into another heap, overflowing sizes and bad types,
 * a heap freed from inside itself, errors and counts that said the wrong
 * thing, and gc queries from finalizers. Scenarios that could crash the old
 * code run in a child process. */
#include "harness.h"
#include "testutil.h"
#include "failalloc.h"
#include "recycle/builtins.h"
#include "recycle/gc.h"
#include "recycle/weakref.h"

#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- types ---- */

typedef struct pair { void *a, *b; } pair;
static const rc_type pair_type = {.name = "pair", .size = sizeof(pair), .nslots = 2};

/* A pair whose finalizer calls `on_finalize` (when set) with the object. */
static void (*on_finalize)(pair *p);
static void fin_hook(void *obj)
{
    if (on_finalize) on_finalize(obj);
}
static const rc_type fpair_type = {
    .name = "fpair", .size = sizeof(pair), .nslots = 2, .finalize = fin_hook};

/* A leaf (no references) whose destroy hook calls `on_destroy`. */
typedef struct leaf { long v; } leaf;
static void (*on_destroy)(leaf *l);
static void destroy_hook(void *obj)
{
    if (on_destroy) on_destroy(obj);
}
static const rc_type dleaf_type = {.name = "dleaf", .size = sizeof(leaf), .destroy = destroy_hook};

/* A two-object cycle a <-> b of `t`; returns a (b through a->a). Both are
 * left held only by each other. */
static pair *cycle_of(rc_heap *h, const rc_type *t, pair **b_out)
{
    pair *a = rc_new(h, t), *b = rc_new(h, t);
    a->a = b;   /* a takes our reference to b */
    b->a = a;
    rc_incref(a);
    rc_decref(a);
    if (b_out) *b_out = b;
    return a;
}

/* Run fn in a child process: true when it exited 0. */
static int child_ok(void (*fn)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        rc_test_failed_ = 0;
        fn();
        _exit(rc_test_failed_ ? 1 : 0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "  child ended with status %d\n", status);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* ---- 1. weak references made during a collection ---- */

static int cb_calls;
static void count_cb(rc_weakref *w, void *data)
{
    (void)w;
    (void)data;
    cb_calls++;
}

static rc_weakref *made_w;   /* the weak reference a finalizer made */
static void make_weakref_to_partner(pair *p)
{
    if (!made_w) made_w = rc_weakref_new(p->a, count_cb, NULL);
}

TEST(weakref_made_by_a_finalizer_to_garbage_is_cleared_without_callback)
{
    rc_heap *h = quiet_heap();
    cycle_of(h, &fpair_type, NULL);
    made_w = NULL;
    cb_calls = 0;
    on_finalize = make_weakref_to_partner;
    size_t freed = rc_gc_collect(h, 2);
    on_finalize = NULL;
    REQUIRE(made_w != NULL);
    CHECK_EQ_INT(freed, 2);
    CHECK_EQ_INT(cb_calls, 0);                 /* CPython: cleared, no callback */
    CHECK(!rc_weakref_alive(made_w));
    CHECK(rc_weakref_get(made_w) == NULL);
    rc_decref(made_w);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* The weak reference the finalizer made, read while the collection deletes
 * the garbage (from the callback of a leaf's weak reference: the leaf dies
 * when its garbage holder lets go of it). */
static void *seen_through_w;
static int seen_slots_cleared;
static void peek_cb(rc_weakref *w, void *data)
{
    (void)w;
    (void)data;
    pair *p = made_w ? rc_weakref_get(made_w) : NULL;
    if (p) {
        seen_through_w = p;
        seen_slots_cleared = p->a == NULL && p->b == NULL;
        rc_decref(p);
    }
}

TEST(garbage_is_not_reachable_through_a_finalizers_weakref_while_deleted)
{
    rc_heap *h = quiet_heap();
    pair *b;
    cycle_of(h, &fpair_type, &b);   /* both finalizers make the weak reference once */
    leaf *d = rc_new(h, &dleaf_type);
    b->b = d;                         /* b holds the leaf; the leaf dies when b lets go */
    rc_weakref *wd = rc_weakref_new(d, peek_cb, NULL);
    made_w = NULL;
    seen_through_w = NULL;
    seen_slots_cleared = 0;
    on_finalize = make_weakref_to_partner;
    rc_gc_collect(h, 2);
    on_finalize = NULL;
    CHECK(seen_through_w == NULL);   /* no code reaches garbage through a weak reference */
    CHECK(!seen_slots_cleared);
    rc_xdecref(made_w);
    made_w = NULL;
    rc_decref(wd);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* Where the weak-reference callbacks below put what they revive. */
static rc_list *keep;

/* The garbage those callbacks try to revive: a pair a and the list b = [a, 7]
 * held only by each other, and a weak reference to a whose callback `cb` is
 * given b. Makes `keep` too. Returns the weak reference, and b in *b_out
 * (when not NULL). */
static rc_weakref *watched_list_cycle(rc_heap *h, rc_weakref_callback_fn cb, rc_list **b_out)
{
    keep = rc_list_new(h, 0);
    pair *a = rc_new(h, &pair_type);
    rc_list *b = rc_list_new(h, 0);
    rc_list_append(b, rc_obj(a));
    rc_list_append(b, rc_int(7));
    a->a = b;   /* a takes our reference to b: the cycle a <-> b */
    rc_weakref *w = rc_weakref_new(a, cb, b);
    rc_decref(a);
    if (b_out) *b_out = b;
    return w;
}

/* Issue's (b): a weak-reference callback revives other garbage through a
 * weak reference of its own; no finalizer in the garbage. */
static void revive_cb(rc_weakref *w, void *data)
{
    (void)w;
    rc_weakref *w2 = rc_weakref_new(data, NULL, NULL);
    if (!w2) return;
    void *x = rc_weakref_get(w2);
    if (x) {
        rc_list_append(keep, rc_obj(x));
        rc_decref(x);
    }
    rc_decref(w2);
}

TEST(weakref_callback_cannot_revive_garbage_through_a_new_weakref)
{
    rc_heap *h = quiet_heap();
    rc_weakref *w = watched_list_cycle(h, revive_cb, NULL);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2);   /* a and b: the new weak reference read as dead */
    CHECK_EQ_INT(rc_list_len(keep), 0);
    rc_decref(w);
    rc_decref(keep);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* The same through a C pointer the callback was given: the callback keeps
 * `b` alive, and b = [a, 7] survives whole although no finalizer ran. */
static void revive_by_pointer_cb(rc_weakref *w, void *data)
{
    (void)w;
    rc_list_append(keep, rc_obj(data));
}

TEST(weakref_callback_that_revives_garbage_by_pointer_keeps_it_whole)
{
    rc_heap *h = quiet_heap();
    rc_list *b;
    rc_weakref *w = watched_list_cycle(h, revive_by_pointer_cb, &b);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 0);
    REQUIRE(rc_list_len(keep) == 1);
    rc_list *kb = rc_as_obj(rc_list_get(keep, 0));
    CHECK(kb == b);
    CHECK_EQ_INT(rc_list_len(kb), 2);   /* not cleared while reachable */
    if (rc_list_len(kb) == 2) {
        pair *ka = rc_as_obj(rc_list_get(kb, 0));
        CHECK(ka != NULL && ka->a == kb);
        CHECK(rc_as_int(rc_list_get(kb, 1)) == 7);
    }
    CHECK(!rc_weakref_alive(w));   /* cleared before the callback; a stays dead to it */
    rc_decref(w);
    rc_decref(keep);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* ---- 2. a reference into another heap ---- */

#if !defined(RC_DEBUG) && !defined(RC_EXPENSIVE)
/* Release builds: young collections and candidate scans leave another heap's
 * objects alone (a full collection does not look, see docs/guide.md). A
 * build with RC_EXPENSIVE verifies the heap before each collection, and the
 * verifier reports the reference, as a debug build does (below). */
TEST(young_and_candidate_collections_never_write_into_another_heap)
{
    rc_heap *ha = quiet_heap(), *hb = quiet_heap();
    pair *x = rc_new(hb, &pair_type), *y = rc_new(hb, &pair_type);
    x->a = y;   /* x <-> y in heap B, x also held by the program */
    rc_incref(x);
    y->a = x;
    rc_gc_collect(hb, 2);   /* both old in B */
    pair *a = rc_new(ha, &pair_type);
    rc_incref(x);
    a->a = x;            /* the forbidden reference A -> B */
    for (int i = 0; i < 4; i++) rc_gc_collect(ha, i % 2);
    rc_decref(a);        /* ... and A lets go of it again */
    CHECK_EQ_INT(RC_HEAD(x)->gc >> RC__FIELD_SHIFT, 0);   /* no scratch count left in B */
    CHECK_EQ_INT(RC_HEAD(y)->gc >> RC__FIELD_SHIFT, 0);
    CHECK_EQ_INT(rc_gc_collect(hb, 2), 0);   /* B frees nothing the program holds */
    CHECK_EQ_INT(rc_refcount(x), 2);
    CHECK(x->a == y && y->a == x);
    /* A cycle of A, old and buffered as a candidate, holds the last outside
     * reference to the cycle x <-> y of B: A's candidate scan frees its own
     * cycle only, and B's collection frees B's. */
    pair *c = rc_new(ha, &pair_type);
    c->a = x;            /* c takes our reference to x */
    rc_incref(c);
    c->b = c;
    rc_gc_collect(ha, 1);
    rc_gc_collect(ha, 1);   /* c is old */
    rc_decref(c);        /* c becomes a candidate */
    rc_gc_collect(ha, 0);   /* scans the candidates */
    CHECK_EQ_INT(live_objects(ha), 0);
    CHECK_EQ_INT(live_objects(hb), 2);
    CHECK_EQ_INT(RC_HEAD(x)->gc & RC__INSET, 0);
    CHECK_EQ_INT(RC_HEAD(x)->gc >> RC__FIELD_SHIFT, 0);
    CHECK_EQ_INT(rc_gc_collect(hb, 2), 2);
    CHECK_EQ_INT(live_objects(hb), 0);
    rc_heap_free(ha);
    rc_heap_free(hb);
}
#else
static void foreign_ref_full_collection(void)
{
    rc_heap *ha = quiet_heap(), *hb = quiet_heap();
    pair *x = rc_new(hb, &pair_type);
    pair *a = rc_new(ha, &pair_type);
    a->a = x;
    rc_gc_collect(ha, 2);
}

TEST(reference_into_another_heap_is_caught_by_checked_builds)
{
    CHECK(dies_saying(foreign_ref_full_collection, "another heap"));
}
#endif

TEST(tuple_new_refuses_an_object_of_another_heap)
{
    rc_heap *ha = quiet_heap(), *hb = quiet_heap();
    pair *x = rc_new(hb, &pair_type);
    rc_val v = rc_obj(x);
    rc_tuple *t = rc_tuple_new(ha, 1, &v);
    CHECK(t == NULL);
    CHECK_EQ_INT(rc_heap_error(ha), RC_EINVAL);
    CHECK(strstr(rc_heap_error_message(ha), "another heap") != NULL);
    CHECK_EQ_INT(rc_refcount(x), 1);
    if (t) rc_decref(t);
    rc_decref(x);
    rc_heap_free(ha);
    rc_heap_free(hb);
}

/* ---- 3. overflows and bad types ---- */

TEST(new_var_of_a_type_above_half_the_address_space_fails)
{
    rc_heap *h = quiet_heap();
    static const rc_type huge = {.name = "huge", .size = SIZE_MAX / 2 + 9};
    void *p = rc_new_var(h, &huge, 16);
    CHECK(p == NULL);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    rc_heap_clear_error(h);
    CHECK(rc_new_var(h, &huge, 0) == NULL);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    /* type->size + extra wraps around to a small size */
    static const rc_type wraps = {.name = "wraps", .size = SIZE_MAX - 7};
    rc_heap_clear_error(h);
    CHECK(rc_new_var(h, &wraps, 16) == NULL);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    static const rc_type big = {.name = "big", .size = SIZE_MAX / 2 - 8};
    rc_heap_clear_error(h);
    CHECK(rc_new_var(h, &big, 64) == NULL);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* Each bad type is refused at its first object, also when a page of its
 * size class is current (the allocation fast path). */
static void check_refused(const rc_type *bad, const char *why)
{
    rc_heap *h = quiet_heap();
    pair *ok = rc_new(h, &pair_type);   /* a current page of the same class */
    leaf *ok2 = rc_new(h, &dleaf_type);
    rc_heap_clear_error(h);
    void *p = rc_new(h, bad);
    CHECK(p == NULL);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    if (!strstr(rc_heap_error_message(h), why)) {
        fprintf(stderr, "  message: %s (wanted %s)\n", rc_heap_error_message(h), why);
        CHECK(0);
    }
    if (p) rc_decref(p);
    rc_decref(ok);
    rc_decref(ok2);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(type_whose_slots_reach_past_its_size_is_refused)
{
    static const rc_type t = {.name = "overlong", .size = sizeof(pair), .nslots = 3};
    check_refused(&t, "overlong");
    static const rc_type t2 = {.name = "far", .size = sizeof(pair), .slots_offset = 8, .nslots = 2};
    check_refused(&t2, "far");
    static const rc_type t3 = {.name = "wrap", .size = sizeof(pair), .slots_offset = 8,
                               .nslots = UINT32_MAX};
    check_refused(&t3, "wrap");
}

TEST(type_with_misaligned_slots_offset_is_refused)
{
    static const rc_type t = {.name = "skew", .size = 24, .slots_offset = 4, .nslots = 1};
    check_refused(&t, "skew");
}

TEST(user_type_claiming_a_library_kind_is_refused)
{
    static const rc_type t = {.name = "fakelist", .size = sizeof(pair), .rc_kind = 1};
    check_refused(&t, "fakelist");
    static const rc_type t2 = {.name = "nokind", .size = sizeof(pair), .rc_kind = 99};
    check_refused(&t2, "nokind");
}

/* ---- 4. a heap freed from inside itself ---- */

static void free_own_heap(pair *p)
{
    rc_heap *h = rc_heap_of(p);
    rc_heap_free(h);   /* refused: the heap is busy */
    CHECK_EQ_INT(rc_heap_error(h), RC_EBUSY);
}

static void heap_free_in_a_finalizer(void)
{
    rc_heap *h = quiet_heap();
    cycle_of(h, &fpair_type, NULL);
    on_finalize = free_own_heap;
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2);   /* by a collection */
    pair *p = rc_new(h, &fpair_type);
    rc_heap_clear_error(h);
    rc_decref(p);                          /* by refcount */
    CHECK_EQ_INT(rc_heap_error(h), RC_EBUSY);
    on_finalize = NULL;
    pair *q = rc_new(h, &pair_type);       /* the heap still works */
    CHECK(q != NULL);
    rc_decref(q);
    rc_heap_free(h);
}

TEST(heap_free_from_a_finalizer_is_refused_with_ebusy)
{
    CHECK(child_ok(heap_free_in_a_finalizer));
}

static void gc_cb_free(rc_heap *h, int phase, const rc_gc_info *info, void *ud)
{
    (void)phase;
    (void)info;
    (void)ud;
    rc_heap_free(h);
    CHECK_EQ_INT(rc_heap_error(h), RC_EBUSY);
}

static void heap_free_in_gc_callback(void)
{
    rc_heap *h = quiet_heap();
    rc_gc_callback_add(h, gc_cb_free, NULL);
    cycle_of(h, &pair_type, NULL);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2);
    rc_gc_callback_remove(h, gc_cb_free, NULL);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(heap_free_from_a_gc_callback_is_refused_with_ebusy)
{
    CHECK(child_ok(heap_free_in_gc_callback));
}

static rc_heap *hook_heap;
static void destroy_frees_heap(leaf *l)
{
    (void)l;
    rc_heap_free(hook_heap);
    CHECK_EQ_INT(rc_heap_error(hook_heap), RC_EBUSY);
}
static void wr_cb_frees_heap(rc_weakref *w, void *data)
{
    (void)data;
    rc_heap *h = rc_heap_of(w);
    rc_heap_free(h);
    CHECK_EQ_INT(rc_heap_error(h), RC_EBUSY);
}

static void heap_free_in_destroy_and_weakref_callback(void)
{
    rc_heap *h = hook_heap = quiet_heap();
    on_destroy = destroy_frees_heap;
    leaf *l = rc_new(h, &dleaf_type);
    rc_weakref *w = rc_weakref_new(l, wr_cb_frees_heap, NULL);
    rc_decref(l);
    pair *p = rc_new(h, &pair_type);   /* a destroy hook run while freeing a chain */
    p->a = rc_new(h, &dleaf_type);
    rc_decref(p);
    on_destroy = NULL;
    rc_decref(w);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(heap_free_from_a_destroy_hook_or_weakref_callback_is_refused)
{
    CHECK(child_ok(heap_free_in_destroy_and_weakref_callback));
}

/* ---- 5. errors and counts that said the wrong thing ---- */

/* SAVEALL: when the garbage list cannot grow, no unreachable object is left
 * out of it for good: the garbage is saved whole, or left in place (and the
 * failure recorded) to be saved by a later collection. */
TEST(saveall_out_of_memory_saves_all_or_nothing_and_says_so)
{
    int failed_once = 0;
    for (long n = 0; n < 12; n++) {
        rc_heap *h = fa_heap_new();
        rc_gc_disable(h);
        rc_gc_set_debug(h, RC_GC_DEBUG_SAVEALL);
        cycle_of(h, &pair_type, NULL);
        rc_gc_collect(h, 0);   /* the garbage list exists, with room for 2 */
        REQUIRE(rc_gc_garbage(h) && rc_list_len(rc_gc_garbage(h)) == 2);
        enum { N = 40 };
        pair *ring[N];
        for (int i = 0; i < N; i++) ring[i] = rc_new(h, &pair_type);
        for (int i = 0; i < N; i++) ring[i]->a = ring[(i + 1) % N];   /* takes our references */
        rc_heap_clear_error(h);
        fa_arm(n);
        rc_gc_collect(h, 0);
        fa_disarm();
        size_t saved = rc_list_len(rc_gc_garbage(h)) - 2;
        CHECK(saved == 0 || saved == N);
        if (saved == 0) {
            failed_once = 1;
            CHECK_EQ_INT(rc_heap_error(h), RC_ENOMEM);
            CHECK(strstr(rc_heap_error_message(h), "SAVEALL") != NULL);
        }
        rc_gc_collect(h, 2);   /* a later collection saves what was left */
        CHECK_EQ_INT(rc_list_len(rc_gc_garbage(h)), N + 2);
        rc_gc_set_debug(h, 0);
        rc_list_clear(rc_gc_garbage(h));
        rc_gc_collect(h, 2);
        rc_heap_free(h);
    }
    CHECK(failed_once);
}

/* rc_refcount of an object waiting on the pending list (its count reached
 * 0 while another object was being freed) says 0. */
static pair *pending_obj;
static uint32_t refcount_seen = 12345;
static void read_pending_count(leaf *l)
{
    (void)l;
    if (pending_obj) refcount_seen = rc_refcount(pending_obj);
}

TEST(refcount_of_an_object_waiting_to_be_freed_is_zero)
{
    rc_heap *h = quiet_heap();
    rc_list *l = rc_list_new(h, 0);
    pair *y = rc_new(h, &pair_type), *x = rc_new(h, &pair_type);
    leaf *d = rc_new(h, &dleaf_type);
    rc_list_append(l, rc_obj(y));   /* y and x die first and wait ... */
    rc_list_append(l, rc_obj(x));
    rc_list_append(l, rc_obj(d));   /* ... while d's destroy hook looks at x */
    pending_obj = x;
    rc_decref(y);
    rc_decref(x);
    rc_decref(d);
    on_destroy = read_pending_count;
    rc_decref(l);
    on_destroy = NULL;
    pending_obj = NULL;
    CHECK_EQ_INT(refcount_seen, 0);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

static void untrack_self(pair *p) { rc_gc_untrack(p); }

TEST(object_untracked_in_its_own_finalizer_is_counted_as_collected)
{
    rc_heap *h = quiet_heap();
    cycle_of(h, &fpair_type, NULL);
    on_finalize = untrack_self;
    size_t freed = rc_gc_collect(h, 2);
    on_finalize = NULL;
    CHECK_EQ_INT(freed, 2);
    rc_gc_stats st[3];
    rc_gc_get_stats(h, st);
    CHECK_EQ_INT(st[2].collected, 2);
    CHECK_EQ_INT(st[2].uncollectable, 0);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* ---- 6. gc queries from a finalizer ---- */

static int listed_garbage, referred_by_garbage;
static void query_from_finalizer(pair *p)
{
    rc_heap *h = rc_heap_of(p);
    rc_list *all = rc_gc_get_objects(h, -1);
    if (all) {
        for (size_t i = 0; i < rc_list_len(all); i++) {
            void *o = rc_as_obj(rc_list_get(all, i));
            if (o == p || o == p->a) listed_garbage++;
        }
        rc_decref(all);
    }
    void *target = p->a;
    rc_list *refs = rc_gc_get_referrers(h, &target, 1);
    if (refs) {
        referred_by_garbage += (int)rc_list_len(refs);
        rc_decref(refs);
    }
}

TEST(gc_queries_from_a_finalizer_omit_the_collections_garbage)
{
    rc_heap *h = quiet_heap();
    pair *live = rc_new(h, &pair_type);
    cycle_of(h, &fpair_type, NULL);
    listed_garbage = referred_by_garbage = 0;
    on_finalize = query_from_finalizer;
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2);
    on_finalize = NULL;
    CHECK_EQ_INT(listed_garbage, 0);
    CHECK_EQ_INT(referred_by_garbage, 0);
    rc_decref(live);
    rc_heap_free(h);
}

RC_TEST_MAIN
