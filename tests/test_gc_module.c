/* test_gc_module.c -- Python's gc module in C: ports of the scenarios of
 * CPython's test_gc (cycles through lists, dicts, tuples and user types;
 * PEP 442 finalizers and resurrection; counts and thresholds; callbacks;
 * debug flags and the garbage list; freezing). */
#include "harness.h"
#include "testutil.h"
#include "nodes.h"
#include "recycle/builtins.h"
#include "recycle/gc.h"
#include <stdio.h>
#include <stdlib.h>

NODES_IMPL

/* A user type in the style of a Python instance: its attributes in a dict. */
typedef struct inst {
    rc_dict *dict;
} inst;
static void inst_traverse(void *o, rc_visit_fn visit, void *arg) { visit(((inst *)o)->dict, arg); }
static void inst_clear(void *o)
{
    inst *i = o;
    rc_dict *d = i->dict;
    i->dict = NULL;
    if (d) rc_decref(d);
}
static const rc_type inst_type = {
    .name = "inst", .size = sizeof(inst), .traverse = inst_traverse, .clear = inst_clear,
};
static inst *inst_new(rc_heap *h)
{
    inst *i = rc_new(h, &inst_type);
    i->dict = rc_dict_new(h);
    return i;
}
static void setattr(inst *i, const char *name, rc_val v)
{
    rc_str *k = rc_str_from_cstr(rc_heap_of(i), name);
    rc_dict_set(i->dict, rc_obj(k), v);
    rc_decref(k);
}

/* ---- cycles (test_gc: test_list, test_dict, test_tuple, test_class, ...) ---- */

TEST(a_list_that_contains_itself_is_collected)
{
    rc_heap *h = quiet_heap();
    rc_list *l = rc_list_new(h, 0);
    rc_list_append(l, rc_obj(l));
    CHECK_EQ_INT(rc_gc_collect(h, 2), 0);
    rc_decref(l);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 1);
    rc_heap_free(h);
}

TEST(a_dict_that_contains_itself_is_collected)
{
    rc_heap *h = quiet_heap();
    rc_dict *d = rc_dict_new(h);
    rc_dict_set(d, rc_int(1), rc_obj(d));
    rc_decref(d);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 1);
    rc_heap_free(h);
}

TEST(a_dict_that_is_its_own_key_is_collected)
{
    rc_heap *h = quiet_heap();
    rc_dict *d = rc_dict_new(h);
    rc_dict_set(d, rc_obj(d), RC_NONE);
    rc_decref(d);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 1);
    rc_heap_free(h);
}

TEST(a_cycle_through_a_tuple_is_collected)
{
    rc_heap *h = quiet_heap();
    rc_list *l = rc_list_new(h, 0);
    rc_val item = rc_obj(l);
    rc_tuple *t = rc_tuple_new(h, 1, &item);
    rc_list_append(l, rc_obj(t));
    rc_decref(l);
    rc_decref(t);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2);
    rc_heap_free(h);
}

TEST(an_instance_that_refers_to_itself_through_its_dict_is_collected)
{
    rc_heap *h = quiet_heap();
    inst *a = inst_new(h);
    setattr(a, "a", rc_obj(a));
    rc_decref(a);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2);   /* the instance and its dict */
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(a_cycle_through_every_kind_of_container_is_collected)
{
    rc_heap *h = quiet_heap();
    inst *a = inst_new(h);
    rc_list *l = rc_list_new(h, 0);
    rc_dict *d = rc_dict_new(h);
    node *n = rc_new(h, &node2_type);
    rc_val items[2] = {rc_obj(l), rc_int(7)};
    rc_tuple *t = rc_tuple_new(h, 2, items);        /* t -> l */
    rc_list_append(l, rc_obj(d));                   /* l -> d */
    rc_dict_set(d, rc_int(1), rc_obj(n));           /* d -> n */
    node_set(n, 0, a);                              /* n -> a */
    setattr(a, "t", rc_obj(t));                     /* a -> a.dict -> t */
    rc_str *s = rc_str_from_cstr(h, "payload");     /* a str rides along */
    rc_list_append(l, rc_obj(s));
    rc_decref(s);
    rc_decref(a);
    rc_decref(l);
    rc_decref(d);
    rc_decref(n);
    rc_decref(t);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 6);   /* strs (values, keys) go by refcount */
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* Port of test_gc's test_trashcan: deep nesting is freed without recursion. */
TEST(a_deeply_nested_structure_is_freed_without_deep_recursion)
{
    rc_heap *h = quiet_heap();
    enum { DEPTH = 200000 };
    rc_list *top = rc_list_new(h, 0), *cur = top;
    for (int i = 0; i < DEPTH; i++) {
        rc_list *inner = rc_list_new(h, 0);
        rc_list_append(cur, rc_obj(inner));
        rc_decref(inner);
        cur = inner;
    }
    rc_list_append(cur, rc_obj(top));   /* and make it a cycle */
    rc_decref(top);
    CHECK_EQ_INT(rc_gc_collect(h, 2), DEPTH + 1);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* ---- PEP 442 finalizers ---- */

static int fin_calls;
static rc_list *lazarus_list;   /* where resurrecting finalizers put objects */
static void lazarus_fin(void *obj)
{
    fin_calls++;
    rc_list_append(lazarus_list, rc_obj(obj));
}
static const rc_type lazarus_type = {
    .name = "Lazarus", .size = sizeof(node), .nslots = 2, .finalize = lazarus_fin,
};

TEST(is_finalized_says_whether_the_finalizer_ran)
{
    rc_heap *h = quiet_heap();
    lazarus_list = rc_list_new(h, 0);
    node *a = rc_new(h, &lazarus_type);
    node_set(a, 0, a);
    CHECK(!rc_gc_is_finalized(a));
    rc_decref(a);
    rc_gc_collect(h, 2);
    REQUIRE(rc_list_len(lazarus_list) == 1);
    CHECK(rc_gc_is_finalized(rc_as_obj(rc_list_get(lazarus_list, 0))));
    rc_decref(lazarus_list);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* test_resurrection_only_happens_once_per_object */
TEST(resurrection_happens_once_per_object)
{
    rc_heap *h = quiet_heap();
    lazarus_list = rc_list_new(h, 0);
    fin_calls = 0;
    node *laz = rc_new(h, &lazarus_type);
    node_set(laz, 0, laz);   /* self.me = self */
    rc_decref(laz);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 0);
    CHECK_EQ_INT(fin_calls, 1);
    CHECK_EQ_INT(rc_list_len(lazarus_list), 1);
    rc_list_clear(lazarus_list);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 1);
    CHECK_EQ_INT(fin_calls, 1);
    rc_decref(lazarus_list);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* test_resurrection_is_transitive */
TEST(resurrection_is_transitive)
{
    rc_heap *h = quiet_heap();
    lazarus_list = rc_list_new(h, 0);
    node *laz = rc_new(h, &lazarus_type), *cargo = rc_new(h, &node2_type);
    cargo->payload = 1234;
    node_set(cargo, 0, cargo);   /* cargo.me = cargo */
    node_set(laz, 0, cargo);
    node_set(cargo, 1, laz);
    node *cargo_id = cargo;
    rc_decref(laz);
    rc_decref(cargo);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 0);
    REQUIRE(rc_list_len(lazarus_list) == 1);
    node *inst_ = rc_as_obj(rc_list_get(lazarus_list, 0));
    CHECK(inst_->slot[0] == cargo_id);
    CHECK_EQ_INT(((node *)inst_->slot[0])->payload, 1234);
    CHECK(((node *)inst_->slot[0])->slot[1] == inst_);
    rc_list_clear(lazarus_list);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2);
    rc_decref(lazarus_list);
    rc_heap_free(h);
}

/* A finalizer that resurrects through a global: a C variable holding a
 * reference (Python: a module global). */
static node *global_slot;
static void global_fin(void *obj)
{
    node *n = obj;
    if (n->slot[0]) {
        rc_incref(n->slot[0]);
        global_slot = n->slot[0];
    }
}
static const rc_type global_type = {.name = "global_fin", .size = sizeof(node), .nslots = 2, .finalize = global_fin};

TEST(resurrection_through_a_global_keeps_what_the_global_reaches)
{
    rc_heap *h = quiet_heap();
    global_slot = NULL;
    node *a = rc_new(h, &global_type), *b = rc_new(h, &node2_type), *c = rc_new(h, &node2_type);
    node_set(a, 0, b);
    node_set(b, 0, c);
    node_set(c, 0, a);   /* a -> b -> c -> a; a's finalizer saves b */
    c->payload = 3;
    rc_decref(a);
    rc_decref(b);
    rc_decref(c);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 0);   /* b reaches c reaches a: all survive */
    REQUIRE(global_slot == b);
    CHECK(b->slot[0] == c && c->slot[0] == a && a->slot[0] == b);
    CHECK_EQ_INT(c->payload, 3);
    CHECK(rc_gc_is_finalized(a) && !rc_gc_is_finalized(b));
    rc_decref(global_slot);
    global_slot = NULL;
    CHECK_EQ_INT(rc_gc_collect(h, 2), 3);   /* a's finalizer does not run again */
    CHECK(global_slot == NULL);
    rc_heap_free(h);
}

static size_t getstat_collected(rc_heap *h)
{
    rc_gc_stats st[3];
    rc_gc_get_stats(h, st);
    return st[2].collected;
}

/* test_resurrection_does_not_block_cleanup_of_other_objects */
TEST(resurrection_does_not_block_cleanup_of_other_objects)
{
    enum { N = 100 };
    rc_heap *h = quiet_heap();
    lazarus_list = rc_list_new(h, 0);
    size_t oldc = getstat_collected(h);
    for (int i = 0; i < N; i++) {
        node *a = rc_new(h, &node2_type);
        node_set(a, 0, a);
        rc_decref(a);
    }
    CHECK_EQ_INT(rc_gc_collect(h, 2), N);
    CHECK_EQ_INT(getstat_collected(h) - oldc, N);
    /* a lone Z is merely resurrected */
    oldc = getstat_collected(h);
    node *z = rc_new(h, &lazarus_type);
    node_set(z, 0, z);
    rc_decref(z);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 0);
    CHECK_EQ_INT(getstat_collected(h) - oldc, 0);
    /* and does not keep N others from going */
    oldc = getstat_collected(h);
    for (int i = 0; i < N; i++) {
        node *a = rc_new(h, &node2_type);
        node_set(a, 0, a);
        rc_decref(a);
    }
    z = rc_new(h, &lazarus_type);
    node_set(z, 0, z);
    rc_decref(z);
    CHECK_EQ_INT(rc_gc_collect(h, 2), N);
    CHECK_EQ_INT(getstat_collected(h) - oldc, N);
    /* the two Zs go once released */
    oldc = getstat_collected(h);
    rc_list_clear(lazarus_list);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2);
    CHECK_EQ_INT(getstat_collected(h) - oldc, 2);
    rc_decref(lazarus_list);
    rc_heap_free(h);
}

/* A finalizer that collects (gets 0), allocates, and drops references. */
static rc_heap *fin_heap;
static size_t fin_nested = 99;
static rc_list *fin_victim;
static void busy_fin(void *obj)
{
    (void)obj;
    fin_nested = rc_gc_collect(fin_heap, 2);
    for (int i = 0; i < 50; i++) {
        rc_list *l = rc_list_new(fin_heap, 0);
        rc_list_append(l, rc_obj(l));
        rc_decref(l);
    }
    if (fin_victim) {
        rc_list *v = fin_victim;
        fin_victim = NULL;
        rc_decref(v);
    }
}
static const rc_type busy_fin_type = {.name = "busy_fin", .size = sizeof(node), .nslots = 2, .finalize = busy_fin};

TEST(a_finalizer_that_collects_allocates_and_frees_corrupts_nothing)
{
    rc_heap *h = fin_heap = rc_heap_new(NULL);
    rc_gc_set_threshold(h, 5, 1, 1);
    fin_victim = rc_list_new(h, 0);
    for (int i = 0; i < 10; i++) {
        rc_list *x = rc_list_new(h, 0);
        rc_list_append(fin_victim, rc_obj(x));
        rc_decref(x);
    }
    node *a = rc_new(h, &busy_fin_type), *b = rc_new(h, &busy_fin_type);
    node_set(a, 0, b);
    node_set(b, 0, a);
    rc_decref(a);
    rc_decref(b);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2);
    CHECK_EQ_INT(fin_nested, 0);
    CHECK(fin_victim == NULL);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 100);   /* the finalizers' self-cycles */
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* ---- counts and thresholds ---- */

/* test_get_count */
TEST(get_count_counts_allocations_since_the_last_collection)
{
    rc_heap *h = quiet_heap();
    size_t c[3], d[3];
    rc_gc_collect(h, 2);
    rc_gc_get_count(h, c);
    rc_list *x = rc_list_new(h, 0);
    rc_gc_get_count(h, d);
    CHECK(c[1] == 0 && c[2] == 0);
    CHECK(d[1] == 0 && d[2] == 0);
    CHECK(c[0] < 5);
    CHECK(d[0] > c[0]);
    rc_decref(x);
    rc_gc_get_count(h, d);
    CHECK_EQ_INT(d[0], c[0]);   /* a tracked object's death counts back */
    rc_str *s = rc_str_from_cstr(h, "untracked");
    rc_gc_get_count(h, d);
    CHECK_EQ_INT(d[0], c[0]);   /* untracked allocations do not count */
    rc_decref(s);
    rc_heap_free(h);
}

/* test_collect_generations */
TEST(collecting_a_generation_moves_the_counts_like_python)
{
    rc_heap *h = quiet_heap();
    size_t c[3];
    rc_gc_collect(h, 2);
    rc_list *x = rc_list_new(h, 0);
    rc_gc_collect(h, 0);
    rc_gc_get_count(h, c);
    CHECK(c[0] == 0 && c[1] == 1 && c[2] == 0);
    rc_gc_collect(h, 1);
    rc_gc_get_count(h, c);
    CHECK(c[0] == 0 && c[1] == 0 && c[2] == 1);
    rc_gc_collect(h, 2);
    rc_gc_get_count(h, c);
    CHECK(c[0] == 0 && c[1] == 0 && c[2] == 0);
    rc_decref(x);
    rc_heap_free(h);
}

/* One unreachable self-cycle: one more tracked allocation, and garbage for
 * the next young collection to find (so it never backs off, see collector/policy.c). */
static void make_garbage(rc_heap *h)
{
    rc_list *l = rc_list_new(h, 0);
    rc_list_append(l, rc_obj(l));
    rc_decref(l);
}

TEST(thresholds_trigger_collections_step_by_step)
{
    rc_heap *h = unstressed_heap();   /* checks when the policy collects: stress collects always */
    rc_gc_set_threshold(h, 3, 2, 100);
    unsigned t[3];
    rc_gc_get_threshold(h, t);
    CHECK(t[0] == 3 && t[1] == 2 && t[2] == 100);
    size_t c[3];
    rc_heap_stats st;
    /* allocation n + 1 finds count[0] == threshold 0 and collects first */
    static const size_t want[10][5] = {
        /* count[0..2]   collections[0..1] */
        {1, 0, 0, 0, 0}, {2, 0, 0, 0, 0}, {3, 0, 0, 0, 0},
        {1, 1, 0, 1, 0}, {2, 1, 0, 1, 0}, {3, 1, 0, 1, 0},
        {1, 2, 0, 2, 0}, {2, 2, 0, 2, 0}, {3, 2, 0, 2, 0},
        {1, 0, 1, 2, 1},   /* count[1] reached threshold 1: generation 1 */
    };
    for (int i = 0; i < 10; i++) {
        make_garbage(h);
        rc_gc_get_count(h, c);
        rc_heap_get_stats(h, &st);
        CHECK_EQ_INT(c[0], want[i][0]);
        CHECK_EQ_INT(c[1], want[i][1]);
        CHECK_EQ_INT(c[2], want[i][2]);
        CHECK_EQ_INT(st.collections[0], want[i][3]);
        CHECK_EQ_INT(st.collections[1], want[i][4]);
    }
    CHECK_EQ_INT(st.objects, 1);
    rc_heap_free(h);
}

TEST(a_zero_threshold_disables_automatic_collection)
{
    rc_heap *h = unstressed_heap();   /* checks when the policy collects: stress collects always */
    rc_gc_set_threshold(h, 0, 10, 10);
    for (int i = 0; i < 5000; i++) {
        rc_list *l = rc_list_new(h, 0);
        rc_list_append(l, rc_obj(l));
        rc_decref(l);
    }
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.collections[0] + st.collections[1] + st.collections[2], 0);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 5000);
    rc_heap_free(h);
}

TEST(enable_disable_and_isenabled)
{
    rc_heap *h = rc_heap_new(NULL);
    CHECK(rc_gc_is_enabled(h));
    rc_gc_disable(h);
    CHECK(!rc_gc_is_enabled(h));
    rc_gc_enable(h);
    CHECK(rc_gc_is_enabled(h));
    rc_heap_free(h);
}

/* ---- stats and callbacks ---- */

TEST(get_stats_counts_collections_and_collected_per_generation)
{
    rc_heap *h = quiet_heap();
    for (int i = 0; i < 3; i++) {
        rc_list *l = rc_list_new(h, 0);
        rc_list_append(l, rc_obj(l));
        rc_decref(l);
    }
    rc_gc_collect(h, 0);
    rc_list *l = rc_list_new(h, 0);
    rc_list_append(l, rc_obj(l));
    rc_decref(l);
    rc_gc_collect(h, 2);
    rc_gc_stats st[3];
    rc_gc_get_stats(h, st);
    CHECK_EQ_INT(st[0].collections, 1);
    CHECK_EQ_INT(st[0].collected, 3);
    CHECK_EQ_INT(st[1].collections, 0);
    CHECK_EQ_INT(st[2].collections, 1);
    CHECK_EQ_INT(st[2].collected, 1);
    CHECK_EQ_INT(st[2].uncollectable, 0);
    CHECK(st[0].seconds >= 0 && st[2].seconds >= 0);
    rc_heap_free(h);
}

typedef struct cb_log {
    int n;
    int phase[8];
    rc_gc_info info[8];
} cb_log;

static void logging_cb(rc_heap *h, int phase, const rc_gc_info *info, void *ud)
{
    (void)h;
    cb_log *log = ud;
    if (log->n < 8) {
        log->phase[log->n] = phase;
        log->info[log->n] = *info;
    }
    log->n++;
}

/* GCCallbackTests.test_collect and test_collect_generation */
TEST(callbacks_see_generation_and_collected_at_start_and_stop)
{
    rc_heap *h = quiet_heap();
    cb_log log = {0};
    CHECK_EQ_INT(rc_gc_callback_add(h, logging_cb, &log), 0);
    for (int i = 0; i < 4; i++) {
        rc_list *l = rc_list_new(h, 0);
        rc_list_append(l, rc_obj(l));
        rc_decref(l);
    }
    rc_gc_collect(h, 2);
    REQUIRE(log.n == 2);
    CHECK_EQ_INT(log.phase[0], RC_GC_START);
    CHECK_EQ_INT(log.info[0].generation, 2);
    CHECK_EQ_INT(log.phase[1], RC_GC_STOP);
    CHECK_EQ_INT(log.info[1].generation, 2);
    CHECK_EQ_INT(log.info[1].collected, 4);
    CHECK_EQ_INT(log.info[1].uncollectable, 0);
    CHECK_EQ_INT(log.info[1].kind, RC_GC_GENERATIONS);
    CHECK(log.info[1].duration >= 0);
    log.n = 0;
    rc_gc_collect(h, 1);
    CHECK_EQ_INT(log.n, 2);
    CHECK_EQ_INT(log.info[0].generation, 1);
    CHECK_EQ_INT(log.info[1].collected, 0);
    CHECK_EQ_INT(rc_gc_callback_remove(h, logging_cb, &log), 0);
    CHECK_EQ_INT(rc_gc_callback_remove(h, logging_cb, &log), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_ENOTFOUND);
    log.n = 0;
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(log.n, 0);
    rc_heap_free(h);
}

TEST(callbacks_see_candidate_scans_labelled_as_such)
{
    rc_heap *h = quiet_heap();
    rc_list *l = rc_list_new(h, 0);
    rc_list_append(l, rc_obj(l));
    rc_gc_collect(h, 2);    /* l is old */
    cb_log log = {0};
    rc_gc_callback_add(h, logging_cb, &log);
    rc_decref(l);        /* an old object's count dropped: a candidate */
    rc_gc_collect(h, 0);    /* scans the candidates first, then generation 0 */
    REQUIRE(log.n == 4);
    CHECK_EQ_INT(log.info[0].kind, RC_GC_CANDIDATE_SCAN);
    CHECK_EQ_INT(log.info[0].generation, -1);
    CHECK_EQ_INT(log.info[1].kind, RC_GC_CANDIDATE_SCAN);
    CHECK_EQ_INT(log.info[1].generation, -1);
    CHECK_EQ_INT(log.info[1].collected, 1);
    CHECK_EQ_INT(log.info[3].kind, RC_GC_GENERATIONS);
    CHECK_EQ_INT(log.info[3].generation, 0);
    rc_heap_free(h);
}

static int cb_collect_result = -1;
static void collecting_cb(rc_heap *h, int phase, const rc_gc_info *info, void *ud)
{
    (void)info;
    (void)ud;
    if (phase == RC_GC_START) {
        cb_collect_result = (int)rc_gc_collect(h, 2);
        rc_list *l = rc_list_new(h, 0);   /* allocating in a callback is fine */
        rc_list_append(l, rc_obj(l));
        rc_decref(l);
    }
}

TEST(a_callback_that_collects_gets_zero)
{
    rc_heap *h = quiet_heap();
    rc_gc_callback_add(h, collecting_cb, NULL);
    cb_collect_result = -1;
    /* what the START callback allocated is collected by that collection */
    CHECK_EQ_INT(rc_gc_collect(h, 2), 1);
    CHECK_EQ_INT(cb_collect_result, 0);
    rc_gc_callback_remove(h, collecting_cb, NULL);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 0);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

/* A finalizer called by a refcount death runs with the heap busy: however
 * much it allocates, no automatic collection starts inside it (CPython would
 * start one there), and rc_gc_collect from it returns 0. The collection the
 * allocations made due runs at the next tracked allocation after it. */
static cb_log *busy_log;
static size_t busy_collections_inside, busy_manual_result;
static void allocating_fin(void *o)
{
    rc_heap *h = rc_heap_of(o);
    size_t before = busy_log->n;
    for (int i = 0; i < 100; i++) {   /* ten times threshold 0, each a garbage cycle */
        node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
        node_set(a, 0, b);
        node_set(b, 0, a);
        rc_decref(a);
        rc_decref(b);
    }
    busy_manual_result = rc_gc_collect(h, 0);
    busy_collections_inside = busy_log->n - before;
}
static const rc_type allocating_fin_type = {
    .name = "allocating_fin", .size = sizeof(node), .nslots = 2, .finalize = allocating_fin,
};

TEST(no_collection_runs_inside_a_finalizer_called_by_a_refcount_death)
{
    rc_heap *h = unstressed_heap();
    rc_gc_set_threshold(h, 20, 10, 10);
    cb_log log = {0};
    busy_log = &log;
    busy_collections_inside = 99;
    busy_manual_result = 99;
    CHECK_EQ_INT(rc_gc_callback_add(h, logging_cb, &log), 0);
    rc_decref(rc_new(h, &allocating_fin_type));   /* the finalizer runs here */
    CHECK_EQ_INT(busy_collections_inside, 0);
    CHECK_EQ_INT(busy_manual_result, 0);
    CHECK_EQ_INT(log.n, 0);
    /* the 200 objects it left are still there, and the next tracked
     * allocation runs the collection that is due */
    CHECK_EQ_INT(live_objects(h), 200);
    node *n = rc_new(h, &node2_type);
    CHECK(log.n >= 2);
    CHECK_EQ_INT(live_objects(h), 1);
    rc_decref(n);
    rc_gc_callback_remove(h, logging_cb, &log);
    rc_heap_free(h);
}

/* GCCallbackTests.test_collect_garbage: what RC_GC_DEBUG_SAVEALL saves is
 * collected (as CPython counts it) but not freed */
TEST(callbacks_see_saved_garbage_as_collected_not_freed)
{
    rc_heap *h = quiet_heap();
    cb_log log = {0};
    rc_gc_callback_add(h, logging_cb, &log);
    rc_gc_set_debug(h, RC_GC_DEBUG_SAVEALL);
    rc_list *l = rc_list_new(h, 0);
    rc_list_append(l, rc_obj(l));
    rc_decref(l);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 1);
    REQUIRE(log.n == 2);
    CHECK_EQ_INT(log.info[1].collected, 1);
    CHECK_EQ_INT(log.info[1].freed, 0);
    CHECK_EQ_INT(log.info[1].uncollectable, 0);
    rc_gc_set_debug(h, 0);
    rc_heap_free(h);
}

/* ---- debug flags and the garbage list ---- */

TEST(debug_stats_prints_cpython_style_lines)
{
    rc_heap *h = quiet_heap();
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    rc_gc_set_debug_stream(h, f);
    CHECK(rc_gc_get_debug_stream(h) == f);
    rc_gc_set_debug(h, RC_GC_DEBUG_STATS);
    CHECK_EQ_INT(rc_gc_get_debug(h), RC_GC_DEBUG_STATS);
    rc_list *l = rc_list_new(h, 0);
    rc_list_append(l, rc_obj(l));
    rc_decref(l);
    rc_list *keep = rc_list_new(h, 0);
    rc_gc_collect(h, 2);
    fflush(f);
    CHECK(strstr(buf, "gc: collecting generation 2...\n") != NULL);
    CHECK(strstr(buf, "gc: objects in each generation: 2 0 0\n") != NULL);
    CHECK(strstr(buf, "gc: objects in permanent generation: 0\n") != NULL);
    CHECK(strstr(buf, "gc: done, 1 unreachable, 0 uncollectable, ") != NULL);
    CHECK(strstr(buf, "s elapsed\n") != NULL);
    CHECK(strstr(buf, "collectable <") == NULL);
    rc_gc_set_debug(h, 0);
    rc_gc_set_debug_stream(h, NULL);
    CHECK(rc_gc_get_debug_stream(h) == stderr);
    fclose(f);
    free(buf);
    rc_decref(keep);
    rc_heap_free(h);
}

TEST(debug_collectable_names_each_object_found)
{
    rc_heap *h = quiet_heap();
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    rc_gc_set_debug_stream(h, f);
    rc_gc_set_debug(h, RC_GC_DEBUG_COLLECTABLE);
    node *a = rc_new(h, &node2_type);
    node_set(a, 0, a);
    char want[64];
    snprintf(want, sizeof want, "gc: collectable <node2 %p>\n", (void *)a);
    rc_decref(a);
    rc_gc_collect(h, 2);
    fflush(f);
    CHECK(strstr(buf, want) != NULL);
    CHECK(strstr(buf, "gc: collecting") == NULL);   /* STATS is off */
    rc_gc_set_debug(h, 0);
    rc_gc_set_debug_stream(h, NULL);
    fclose(f);
    free(buf);
    rc_heap_free(h);
}

TEST(debug_stats_labels_candidate_scans)
{
    rc_heap *h = quiet_heap();
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    rc_gc_set_debug_stream(h, f);
    rc_list *l = rc_list_new(h, 0);
    rc_list_append(l, rc_obj(l));
    rc_gc_collect(h, 2);
    rc_gc_set_debug(h, RC_GC_DEBUG_STATS);
    rc_decref(l);
    rc_gc_collect(h, 0);
    fflush(f);
    CHECK(strstr(buf, "gc: scanning 1 candidates (old objects)...\n") != NULL);
    CHECK(strstr(buf, "gc: done (candidate scan), 1 unreachable, 0 uncollectable, ") != NULL);
    CHECK(strstr(buf, "gc: collecting generation 0...\n") != NULL);
    rc_gc_set_debug(h, 0);
    rc_gc_set_debug_stream(h, NULL);
    fclose(f);
    free(buf);
    rc_heap_free(h);
}

/* test_saveall */
TEST(saveall_keeps_garbage_in_the_garbage_list)
{
    rc_heap *h = quiet_heap();
    rc_gc_collect(h, 2);
    rc_list *garbage = rc_gc_garbage(h);
    REQUIRE(garbage);
    CHECK_EQ_INT(rc_list_len(garbage), 0);
    rc_list *l = rc_list_new(h, 0);
    rc_list_append(l, rc_obj(l));
    void *id_l = l;
    unsigned debug = rc_gc_get_debug(h);
    rc_gc_set_debug(h, debug | RC_GC_DEBUG_SAVEALL);
    rc_decref(l);
    rc_gc_collect(h, 2);
    rc_gc_set_debug(h, debug);
    CHECK(rc_gc_garbage(h) == garbage);
    REQUIRE(rc_list_len(garbage) == 1);
    rc_val obj;
    rc_list_pop(garbage, -1, &obj);
    CHECK(rc_as_obj(obj) == id_l);
    rc_val_decref(obj);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 1);
    rc_heap_free(h);
}

TEST(debug_leak_saves_and_reports_garbage)
{
    rc_heap *h = quiet_heap();
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    rc_gc_set_debug_stream(h, f);
    rc_gc_set_debug(h, RC_GC_DEBUG_LEAK);
    rc_dict *d = rc_dict_new(h);
    rc_dict_set(d, rc_int(1), rc_obj(d));
    char want[64];
    snprintf(want, sizeof want, "gc: uncollectable <dict %p>\n", (void *)d);
    rc_decref(d);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 1);   /* found unreachable, saved, not freed */
    fflush(f);
    CHECK(strstr(buf, want) != NULL);
    CHECK_EQ_INT(rc_list_len(rc_gc_garbage(h)), 1);
    rc_gc_set_debug(h, 0);
    rc_gc_set_debug_stream(h, NULL);
    fclose(f);
    free(buf);
    rc_heap_free(h);   /* the saved garbage goes with the heap */
}

/* ---- freeze ---- */

/* test_freeze */
/* Make a two-list cycle in h and drop it. */
static void drop_cycle(rc_heap *h)
{
    rc_list *a = rc_list_new(h, 0), *b = rc_list_new(h, 0);
    rc_list_append(a, rc_obj(b));
    rc_list_append(b, rc_obj(a));
    rc_decref(a);
    rc_decref(b);
}

TEST(two_heaps_collect_count_and_freeze_independently)
{
    rc_heap *h1 = quiet_heap(), *h2 = quiet_heap();
    rc_gc_disable(h1);
    rc_gc_disable(h2);
    drop_cycle(h1);
    drop_cycle(h2);
    rc_list *keep = rc_list_new(h2, 0);
    size_t c1[3], c2[3];
    rc_gc_get_count(h1, c1);
    rc_gc_get_count(h2, c2);
    CHECK_EQ_INT(c1[0], 2);
    CHECK_EQ_INT(c2[0], 3);
    /* a collection of h1 finds h1's cycle only, and moves only h1's counts */
    CHECK_EQ_INT(rc_gc_collect(h1, 2), 2);
    rc_gc_get_count(h2, c2);
    CHECK_EQ_INT(c2[0], 3);
    rc_heap_stats st;
    rc_heap_get_stats(h2, &st);
    CHECK_EQ_INT(st.objects, 3);
    rc_gc_stats s2[3];
    rc_gc_get_stats(h2, s2);
    CHECK_EQ_INT(s2[2].collections, 0);
    /* freezing h2 leaves h1 alone */
    rc_gc_freeze(h2);
    CHECK_EQ_INT(rc_gc_get_freeze_count(h2), 3);
    CHECK_EQ_INT(rc_gc_get_freeze_count(h1), 0);
    drop_cycle(h1);
    CHECK_EQ_INT(rc_gc_collect(h1, 2), 2);
    CHECK_EQ_INT(rc_gc_collect(h2, 2), 0);    /* h2's cycle is frozen */
    rc_gc_unfreeze(h2);
    CHECK_EQ_INT(rc_gc_collect(h2, 2), 2);
    rc_decref(keep);
    rc_heap_free(h1);
    rc_heap_free(h2);
}

TEST(freeze_moves_everything_to_the_permanent_generation)
{
    rc_heap *h = quiet_heap();
    rc_list *a = rc_list_new(h, 0), *b = rc_list_new(h, 0);
    rc_gc_collect(h, 0);   /* a, b in generation 1 */
    rc_list *c = rc_list_new(h, 0);
    rc_gc_freeze(h);
    CHECK_EQ_INT(rc_gc_get_freeze_count(h), 3);
    size_t cnt[3];
    rc_gc_get_count(h, cnt);
    CHECK(cnt[0] == 0 && cnt[1] == 0 && cnt[2] == 0);
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    CHECK(st.gen_objects[0] == 0 && st.gen_objects[1] == 0 && st.gen_objects[2] == 0);
    CHECK_EQ_INT(st.gen_objects[3], 3);
    rc_gc_unfreeze(h);
    CHECK_EQ_INT(rc_gc_get_freeze_count(h), 0);
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.gen_objects[2], 3);
    rc_decref(a);
    rc_decref(b);
    rc_decref(c);
    rc_heap_free(h);
}

TEST(a_frozen_cycle_is_never_collected_until_unfrozen)
{
    rc_heap *h = quiet_heap();
    rc_list *l = rc_list_new(h, 0);
    rc_list_append(l, rc_obj(l));
    rc_gc_freeze(h);
    rc_decref(l);   /* frozen objects are not candidates either */
    for (int g = 0; g <= 2; g++) CHECK_EQ_INT(rc_gc_collect(h, g), 0);
    CHECK_EQ_INT(live_objects(h), 1);
    rc_gc_unfreeze(h);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 1);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(freeze_takes_buffered_candidates_out_of_the_buffer)
{
    rc_heap *h = quiet_heap();
    rc_list *l = rc_list_new(h, 0);
    rc_list_append(l, rc_obj(l));
    rc_list *keep = rc_list_new(h, 0);
    rc_list_append(keep, rc_obj(l));
    rc_gc_collect(h, 2);
    rc_decref(l);   /* buffered: l is old, its count dropped */
    rc_gc_freeze(h);
    rc_list_clear(keep);   /* l is garbage now, but frozen */
    CHECK_EQ_INT(rc_gc_collect(h, 0), 0);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 0);
    rc_gc_unfreeze(h);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 1);
    rc_decref(keep);
    rc_heap_free(h);
}

TEST(objects_made_after_a_freeze_are_collected_normally)
{
    rc_heap *h = quiet_heap();
    rc_list *old = rc_list_new(h, 0);
    rc_gc_freeze(h);
    for (int i = 0; i < 10; i++) {
        rc_list *l = rc_list_new(h, 0);
        rc_list_append(l, rc_obj(l));
        rc_list_append(l, rc_obj(old));   /* refer into the frozen world */
        rc_decref(l);
    }
    CHECK_EQ_INT(rc_gc_collect(h, 0), 10);
    CHECK_EQ_INT(rc_refcount(old), 1);
    rc_decref(old);   /* frozen objects still die by refcount */
    CHECK_EQ_INT(rc_gc_get_freeze_count(h), 0);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

RC_TEST_MAIN
