/* test_hooks.c -- the hook table through which the layers above core attach
 * to a heap (src/core/hooks.h): what rc_heap_new attaches, what a plain heap
 * wants (nothing), that an attached hook hears of every allocation, death
 * and collection, that detaching restores the heap, that hooks run in slot
 * order, and that built-in types carry sealed kinds core can test. */
#include "harness.h"
#include "core/internal.h"
#include "gcmodule/gcmodule.h"
#include "nodes.h"
#include "recycle/builtins.h"
#include "recycle/gc.h"
#include "recycle/weakref.h"
#include "testutil.h"

NODES_IMPL

/* ---- a recording table ---- */

#define MAXSEEN 4096
static struct {
    size_t allocs, deaths, begins, ends, garbage_calls, garbage_objects, due, referent_deaths;
    rc_head *alloced[MAXSEEN], *died[MAXSEEN];
    const char *file;
    int line;
    int order[8], norder;
    int last_begin_gen;
    bool keep;   /* on_garbage keeps the garbage */
} seen;

static void rec_alloc(rc_heap *h, rc_head *o, const char *file, int line)
{
    (void)h;
    if (seen.allocs < MAXSEEN) seen.alloced[seen.allocs] = o;
    seen.allocs++;
    seen.file = file;
    seen.line = line;
}

static void rec_death(rc_heap *h, rc_head *o)
{
    (void)h;
    if (seen.deaths < MAXSEEN) seen.died[seen.deaths] = o;
    seen.deaths++;
}

static void rec_begin(rc_heap *h, const rc_gc_info *info)
{
    (void)h;
    seen.begins++;
    seen.last_begin_gen = info->generation;
}

static void rec_end(rc_heap *h, const rc_gc_info *info)
{
    (void)h;
    (void)info;
    seen.ends++;
}

static int rec_garbage(rc_heap *h, rc_head **g, size_t n)
{
    (void)h;
    seen.garbage_calls++;
    seen.garbage_objects += n;
    for (size_t i = 0; i < n; i++) CHECK(g[i]->gc & RC__INSET);
    return seen.keep ? RC__GARBAGE_LEFT : RC__GARBAGE_FREE;
}

static const rc_hooks recorder = {
    .on_alloc = rec_alloc,
    .on_death = rec_death,
    .on_collect_begin = rec_begin,
    .on_collect_end = rec_end,
    .on_garbage = rec_garbage,
};

static void reset_seen(void)
{
    memset(&seen, 0, sizeof seen);
}

static bool was_alloced(const void *obj)
{
    for (size_t i = 0; i < seen.allocs && i < MAXSEEN; i++)
        if (seen.alloced[i] == RC_HEAD(obj)) return true;
    return false;
}

static bool has_died(const void *obj)
{
    for (size_t i = 0; i < seen.deaths && i < MAXSEEN; i++)
        if (seen.died[i] == RC_HEAD(obj)) return true;
    return false;
}

/* ---- what rc_heap_new attaches ---- */

TEST(a_new_heap_has_the_collector_weakref_and_gc_module_attached)
{
    rc_heap *h = rc_heap_new(NULL);
    REQUIRE(h);
    CHECK(h->hooks[RC_SLOT_COLLECTOR] != NULL);
    CHECK(h->hooks[RC_SLOT_COLLECTOR] && h->hooks[RC_SLOT_COLLECTOR]->collect_due != NULL);
    CHECK(h->hooks[RC_SLOT_WEAKREF] && h->hooks[RC_SLOT_WEAKREF]->on_referent_death != NULL);
    CHECK(h->hooks[RC_SLOT_GCMODULE] && h->hooks[RC_SLOT_GCMODULE]->on_collect_begin != NULL);
    CHECK(h->hooks[RC_SLOT_LEAK] == NULL);
    rc_heap_free(h);
}

TEST(a_plain_heap_wants_no_hook)
{
    rc_heap *h = rc_heap_new(NULL);
    REQUIRE(h);
    CHECK_EQ_INT(h->hooked, 0);
    for (int s = 0; s < RC_NSLOTS; s++) CHECK_EQ_INT(h->wants[s], 0);
    /* objects, weak references, collections: still nothing wanted */
    node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
    node_set(a, 0, b);
    node_set(b, 0, a);
    rc_weakref *w = rc_weakref_new(a, NULL, NULL);
    rc_decref(b);
    rc_decref(a);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2);
    CHECK(rc_weakref_get(w) == NULL);
    rc_decref(w);
    CHECK_EQ_INT(h->hooked, 0);
    rc_heap_free(h);
}

/* ---- allocation and death ---- */

TEST(an_attached_hook_sees_every_allocation_and_death)
{
    rc_heap *h = quiet_heap();
    reset_seen();
    rc__hooks_set(h, RC_SLOT_LEAK, &recorder);
    rc__hooks_want(h, RC_SLOT_LEAK, RC_HOOK_ALLOC | RC_HOOK_DEATH);
    CHECK_EQ_INT(h->hooked, RC_HOOK_ALLOC | RC_HOOK_DEATH);
    enum { N = 1000 };
    static void *objs[N];
    for (int i = 0; i < N; i++)   /* every kind the fast paths take */
        objs[i] = i % 3 == 0 ? rc_new(h, &leaf_type) : i % 3 == 1 ? rc_new(h, &node2_type)
                                                                  : rc_new(h, &cbnode_type);
    CHECK_EQ_INT(seen.allocs, N);
    for (int i = 0; i < N; i++) CHECK(was_alloced(objs[i]));
    for (int i = 0; i < N; i++) rc_decref(objs[i]);
    CHECK_EQ_INT(seen.deaths, N);
    for (int i = 0; i < N; i++) CHECK(has_died(objs[i]));

    /* the site given to rc_new_at */
    void *o = rc_new_at(h, &leaf_type, "here.c", 42);
    CHECK(seen.file && strcmp(seen.file, "here.c") == 0);
    CHECK_EQ_INT(seen.line, 42);
    rc_decref(o);

    /* deaths by a collection, and by a chain freed from the pending list */
    reset_seen();
    node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
    node_set(a, 0, b);
    node_set(b, 0, a);
    node *head = rc_new(h, &node2_type), *n = head;
    for (int i = 0; i < 100; i++) {
        node *m = rc_new(h, &node2_type);
        node_set(n, 0, m);
        rc_decref(m);
        n = m;
    }
    rc_decref(a);
    rc_decref(b);
    CHECK_EQ_INT(seen.deaths, 0);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2);
    CHECK_EQ_INT(seen.deaths, 2);
    CHECK(has_died(a) && has_died(b));
    rc_decref(head);
    CHECK_EQ_INT(seen.deaths, 103);
    CHECK_EQ_INT(seen.allocs, 103);
    rc__hooks_set(h, RC_SLOT_LEAK, NULL);
    rc_heap_free(h);
}

TEST(detaching_restores_a_heap_that_wants_nothing)
{
    rc_heap *h = quiet_heap();
    reset_seen();
    rc__hooks_set(h, RC_SLOT_LEAK, &recorder);
    rc__hooks_want(h, RC_SLOT_LEAK, RC_HOOK_ALLOC | RC_HOOK_DEATH);
    rc_decref(rc_new(h, &leaf_type));
    CHECK_EQ_INT(seen.allocs, 1);
    rc__hooks_set(h, RC_SLOT_LEAK, NULL);
    CHECK_EQ_INT(h->hooked, 0);
    CHECK_EQ_INT(h->wants[RC_SLOT_LEAK], 0);
    CHECK(h->hooks[RC_SLOT_LEAK] == NULL);
    rc_decref(rc_new(h, &leaf_type));
    rc_decref(rc_new(h, &node2_type));
    CHECK_EQ_INT(seen.allocs, 1);
    CHECK_EQ_INT(seen.deaths, 1);
    /* wanting less keeps the table but stops the calls */
    rc__hooks_set(h, RC_SLOT_LEAK, &recorder);
    rc__hooks_want(h, RC_SLOT_LEAK, RC_HOOK_DEATH);
    rc_decref(rc_new(h, &leaf_type));
    CHECK_EQ_INT(seen.allocs, 1);
    CHECK_EQ_INT(seen.deaths, 2);
    rc__hooks_want(h, RC_SLOT_LEAK, 0);
    CHECK_EQ_INT(h->hooked, 0);
    rc__hooks_set(h, RC_SLOT_LEAK, NULL);
    rc_heap_free(h);
}

/* ---- the leak slot: tracing ---- */

TEST(tracing_attaches_the_leak_slot_and_stopping_detaches_it)
{
    rc_heap *h = rc_heap_new(NULL);
    CHECK(*rc__tracer(h) == NULL && h->hooks[RC_SLOT_LEAK] == NULL);
    void *a = rc_new(h, &node2_type);
    CHECK(*rc__tracer(h) == NULL);   /* no tracer state made by allocation or death */
    rc_decref(a);
    CHECK(*rc__tracer(h) == NULL && h->hooked == 0);
    REQUIRE(rc_trace_start(h, 0) == 0);
    CHECK(h->hooks[RC_SLOT_LEAK] != NULL);
    CHECK_EQ_INT(h->hooked & (RC_HOOK_ALLOC | RC_HOOK_DEATH), RC_HOOK_ALLOC | RC_HOOK_DEATH);
    void *b = rc_new_at(h, &node2_type, "traced.c", 7);
    const char *file = NULL;
    int line = 0;
    CHECK(rc_trace_site(b, &file, &line) && strcmp(file, "traced.c") == 0 && line == 7);
    CHECK(rc__hook_site(h, RC_HEAD(b), &file, &line) && line == 7);
    rc_decref(b);
    rc_trace_stop(h);
    CHECK(*rc__tracer(h) == NULL && h->hooks[RC_SLOT_LEAK] == NULL);
    CHECK_EQ_INT(h->hooked, 0);
    CHECK(!rc__hook_site(h, RC_HEAD(h), &file, &line));   /* no slot knows a site */
    rc_heap_free(h);
}

/* ---- collections ---- */

static void noop_callback(rc_heap *h, int phase, const rc_gc_info *info, void *ud)
{
    (void)h, (void)phase, (void)info, (void)ud;
}

TEST(the_gc_module_wants_collections_only_for_callbacks_and_debug_flags)
{
    rc_heap *h = quiet_heap();
    CHECK_EQ_INT(h->wants[RC_SLOT_GCMODULE], 0);
    REQUIRE(rc_gc_callback_add(h, noop_callback, NULL) == 0);
    CHECK_EQ_INT(h->wants[RC_SLOT_GCMODULE], RC_HOOK_COLLECT);
    rc_gc_callback_remove(h, noop_callback, NULL);
    CHECK_EQ_INT(h->hooked, 0);
    rc_gc_set_debug(h, RC_GC_DEBUG_STATS);
    CHECK_EQ_INT(h->wants[RC_SLOT_GCMODULE], RC_HOOK_COLLECT);
    rc_gc_set_debug(h, RC_GC_DEBUG_SAVEALL);
    CHECK_EQ_INT(h->wants[RC_SLOT_GCMODULE], RC_HOOK_GARBAGE);
    rc_gc_set_debug(h, RC_GC_DEBUG_UNCOLLECTABLE);
    CHECK_EQ_INT(h->hooked, 0);
    rc_gc_set_debug(h, 0);
    rc_heap_free(h);
}

TEST(an_attached_hook_sees_every_collection_and_its_garbage)
{
    rc_heap *h = quiet_heap();
    reset_seen();
    rc__hooks_set(h, RC_SLOT_LEAK, &recorder);
    rc__hooks_want(h, RC_SLOT_LEAK, RC_HOOK_COLLECT | RC_HOOK_GARBAGE);
    for (int gen = 0; gen < 3; gen++) {
        node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
        node_set(a, 0, b);
        node_set(b, 0, a);
        rc_decref(a);
        rc_decref(b);
        CHECK_EQ_INT(rc_gc_collect(h, gen), 2);
        CHECK_EQ_INT(seen.last_begin_gen, gen);
    }
    CHECK_EQ_INT(seen.begins, 3);
    CHECK_EQ_INT(seen.ends, 3);
    CHECK_EQ_INT(seen.garbage_calls, 3);
    CHECK_EQ_INT(seen.garbage_objects, 6);

    /* a hook that keeps the garbage: nothing is freed, nothing left INSET */
    seen.keep = true;
    node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
    node_set(a, 0, b);
    node_set(b, 0, a);
    rc_decref(a);
    rc_decref(b);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2);   /* found unreachable, none freed */
    CHECK_EQ_INT(rc_refcount(a), 1);
    CHECK(!(RC_HEAD(a)->gc & RC__INSET) && !(RC_HEAD(b)->gc & RC__INSET));
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    seen.keep = false;
    node_set(a, 0, NULL);   /* break the cycle by hand: both go */
    CHECK_EQ_INT(live_objects(h), 0);

    /* wanting nothing more: no calls */
    rc__hooks_want(h, RC_SLOT_LEAK, 0);
    size_t begins = seen.begins;
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(seen.begins, begins);
    rc__hooks_set(h, RC_SLOT_LEAK, NULL);
    rc_heap_free(h);
}

/* ---- slot order ---- */

#define ORDER_HOOK(s)                                                          \
    static void order_##s(rc_heap *h, const rc_gc_info *info)                  \
    {                                                                          \
        (void)h, (void)info;                                                   \
        if (seen.norder < 8) seen.order[seen.norder++] = (s);                  \
    }
ORDER_HOOK(0)
ORDER_HOOK(1)
ORDER_HOOK(2)
ORDER_HOOK(3)

TEST(hooks_run_in_slot_order)
{
    static const rc_hooks t[RC_NSLOTS] = {
        {.on_collect_begin = order_0}, {.on_collect_begin = order_1},
        {.on_collect_begin = order_2}, {.on_collect_begin = order_3},
    };
    rc_heap *h = quiet_heap();   /* disabled: nothing asks the collector slot */
    const rc_hooks *saved[RC_NSLOTS];
    uint8_t wants[RC_NSLOTS];
    for (int s = 0; s < RC_NSLOTS; s++) {
        saved[s] = h->hooks[s];
        wants[s] = h->wants[s];
    }
    reset_seen();
    /* attached last slot first: the order is the slots', not the attaching's */
    for (int s = RC_NSLOTS - 1; s >= 0; s--) {
        rc__hooks_set(h, s, &t[s]);
        rc__hooks_want(h, s, RC_HOOK_COLLECT);
    }
    rc_gc_collect(h, 0);
    CHECK_EQ_INT(seen.norder, 4);
    for (int s = 0; s < RC_NSLOTS; s++) CHECK_EQ_INT(seen.order[s], s);
    for (int s = 0; s < RC_NSLOTS; s++) {
        rc__hooks_set(h, s, saved[s]);
        rc__hooks_want(h, s, wants[s]);
    }
    CHECK_EQ_INT(h->hooked, 0);
    rc_heap_free(h);
}

/* ---- the collector and weakref slots ---- */

static const rc_hooks *real_collector, *real_weakref;

static void counting_due(rc_heap *h)
{
    seen.due++;
    real_collector->collect_due(h);
}

static void counting_referent_death(rc_heap *h, rc_head *o)
{
    seen.referent_deaths++;
    real_weakref->on_referent_death(h, o);
}

TEST(allocation_reaches_the_collector_only_through_its_slot)
{
    rc_heap *h = unstressed_heap();
    rc_gc_set_threshold(h, 100, 10, 10);
    reset_seen();
    real_collector = h->hooks[RC_SLOT_COLLECTOR];
    REQUIRE(real_collector);
    rc_hooks wrap = *real_collector;
    wrap.collect_due = counting_due;
    rc__hooks_set(h, RC_SLOT_COLLECTOR, &wrap);
    enum { K = 600 };   /* collections at 100 and 300 allocations (the wait doubles) */
    static node *keep[K], *more[K];
    for (int i = 0; i < K; i++) keep[i] = rc_new(h, &node2_type);
    CHECK(seen.due >= 2);
    rc_gc_stats st[3];
    rc_gc_get_stats(h, st);
    CHECK(st[0].collections >= 1);
    /* without the slot no automatic collection runs */
    rc__hooks_set(h, RC_SLOT_COLLECTOR, NULL);
    size_t before = st[0].collections;
    for (int i = 0; i < K; i++) more[i] = rc_new(h, &node2_type);
    rc_gc_get_stats(h, st);
    CHECK_EQ_INT(st[0].collections, before);
    for (int i = 0; i < K; i++) rc_decref(keep[i]), rc_decref(more[i]);
    rc__hooks_set(h, RC_SLOT_COLLECTOR, real_collector);
    rc_heap_free(h);
}

TEST(a_referent_death_goes_to_the_weakref_slot)
{
    rc_heap *h = quiet_heap();
    reset_seen();
    real_weakref = h->hooks[RC_SLOT_WEAKREF];
    REQUIRE(real_weakref);
    rc_hooks wrap = *real_weakref;
    wrap.on_referent_death = counting_referent_death;
    rc__hooks_set(h, RC_SLOT_WEAKREF, &wrap);
    node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
    rc_weakref *w = rc_weakref_new(a, NULL, NULL);
    rc_decref(b);   /* no weak reference: the slot hears nothing */
    CHECK_EQ_INT(seen.referent_deaths, 0);
    rc_decref(a);
    CHECK_EQ_INT(seen.referent_deaths, 1);
    CHECK(rc_weakref_get(w) == NULL);
    rc_decref(w);
    rc__hooks_set(h, RC_SLOT_WEAKREF, real_weakref);
    rc_heap_free(h);
}

/* ---- sealed kinds ---- */

TEST(built_in_types_carry_sealed_kinds_and_user_kinds_are_not)
{
    const rc_type *builtin[] = {&rc_list_type, &rc_tuple_type, &rc_dict_type, &rc_str_type,
                                &rc_weakref_type, &rc_int_type};
    for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++) {
        CHECK(rc__kind_sealed(builtin[i]->rc_kind));
        for (size_t j = 0; j < i; j++) CHECK(builtin[i]->rc_kind != builtin[j]->rc_kind);
    }
    CHECK(!rc__kind_sealed(RC_KIND_USER));
    for (uint32_t k = 1; k < 256; k++) CHECK(!rc__kind_sealed(k));
    CHECK(!rc__kind_sealed(RC__KIND_SEAL));
    CHECK(!rc__kind_sealed(RC__KIND_SEAL | 7));
}

/* A sealed kind is the library's word that an object has a built-in layout;
 * a user type that copies the number must not get one. A forged "list" of
 * 8 bytes would have the collector read list fields past its block. */
TEST(a_user_type_that_forges_a_sealed_kind_is_refused)
{
    rc_heap *h = rc_heap_new(NULL);
    const rc_type *builtin[] = {&rc_list_type, &rc_tuple_type, &rc_dict_type, &rc_str_type,
                                &rc_weakref_type, &rc_int_type};
    for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++) {
        rc_type forged = {.name = "forged", .size = 8, .rc_kind = builtin[i]->rc_kind};
        CHECK(rc_new(h, &forged) == NULL);
        CHECK(rc_heap_error(h) == RC_EINVAL);
        CHECK(rc_new_var(h, &forged, 64) == NULL);
        CHECK(rc_heap_error(h) == RC_EINVAL);
        /* A copy of the built-in type itself is no built-in either. */
        rc_type copy = *builtin[i];
        CHECK(rc_new(h, &copy) == NULL);
        CHECK(rc_heap_error(h) == RC_EINVAL);
        /* The library's own type object is still accepted (an empty object). */
        void *o = rc_new(h, builtin[i]);
        CHECK(o != NULL);
        rc_decref(o);
    }
    rc_heap_free(h);
}

RC_TEST_MAIN
