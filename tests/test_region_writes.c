/* test_region_writes.c -- a frozen region's objects are never written
 * (docs/ARCHITECTURE.md, Threads, T3): every public call given a region's
 * object either refuses it or only reads it. Each check snapshots the
 * region's objects (header and body), their pages' headers and the
 * region's heap struct, makes the call, and compares byte for byte.
 * Refusals that have no heap of the caller's to record on are recorded as
 * the calling thread's error (rc_thread_error).
 *
 * Compiled with RC_DEBUG, so that the inline calls check in every build;
 * LIB_DEBUG says whether the library itself was built with it. */
#include "libdebug.h"
#include "harness.h"
#include "recycle.h"
#include "recycle/builtins.h"
#include "recycle/gc.h"
#include "recycle/weakref.h"
#include "recycle/leak.h"
#include "testutil.h"
#include "core/internal.h"

typedef struct node { void *a, *b; int64_t n; } node;
static const rc_type node_type = {.name = "node", .size = sizeof(node), .nslots = 2};

/* ---- a region and its snapshot ---- */

enum { MAXOBJ = 16 };

typedef struct frozen {
    rc_heap *h;          /* the heap it was frozen from (the caller's) */
    rc_region *r;
    void *obj[MAXOBJ];   /* the region's objects, root first */
    int n;
    rc_heap *rh;         /* the region's heap */
} frozen;

/* root dict {0: list [str, node ring of 2], 1: tuple (boxed int,)} */
static int freeze_one(frozen *f)
{
    memset(f, 0, sizeof *f);
    rc_heap *h = rc_heap_new(NULL);
    f->h = h;
    rc_dict *d = rc_dict_new(h);
    rc_list *l = rc_list_new(h, 0);
    rc_str *s = rc_str_new(h, "frozen", 6);
    node *x = rc_new(h, &node_type), *y = rc_new(h, &node_type);
    x->a = y, y->a = x, x->b = l, y->b = NULL;
    rc_incref(y), rc_incref(x), rc_incref(l);
    x->n = 1, y->n = 2;
    rc_val big = rc_int_new(h, (int64_t)1 << 62);
    rc_tuple *t = rc_tuple_new(h, 1, &big);
    rc_val_decref(big);
    rc_list_append(l, rc_obj(s));
    rc_list_append(l, rc_obj(x));
    rc_dict_set(d, rc_int(0), rc_obj(l));
    rc_dict_set(d, rc_int(1), rc_obj(t));
    rc_decref(s), rc_decref(x), rc_decref(y), rc_decref(l), rc_decref(t);
    f->r = rc_region_freeze(h, d);
    if (!f->r) return 0;
    d = rc_region_root(f->r);
    l = rc_as_obj(rc_dict_get(d, rc_int(0)));
    t = rc_as_obj(rc_dict_get(d, rc_int(1)));
    x = rc_as_obj(rc_list_get(l, 1));
    void *all[] = {d, l, rc_as_obj(rc_list_get(l, 0)), x, x->a, t, rc_as_obj(rc_tuple_get(t, 0))};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) f->obj[f->n++] = all[i];
    f->rh = rc__page_of(RC_HEAD(d))->heap;
    return 1;
}

static void thaw(frozen *f)
{
    rc_region_drop(f->r);
    rc_heap_free(f->h);
}

typedef struct snapshot {
    unsigned char *obj[MAXOBJ];
    size_t objsize[MAXOBJ];
    rc_page page[MAXOBJ];
    struct rc_heap heap;
} snapshot;

static size_t block_bytes(const void *obj)
{
    return sizeof(rc_head) + rc_usable_size(obj);
}

static void take(const frozen *f, snapshot *s)
{
    for (int i = 0; i < f->n; i++) {
        s->objsize[i] = block_bytes(f->obj[i]);
        s->obj[i] = malloc(s->objsize[i]);
        memcpy(s->obj[i], RC_HEAD(f->obj[i]), s->objsize[i]);
        memcpy(&s->page[i], rc__page_of(RC_HEAD(f->obj[i])), sizeof(rc_page));
    }
    memcpy(&s->heap, f->rh, sizeof s->heap);
}

/* Whether nothing of the region changed since `s` (says what did, when
 * something did); frees the snapshot. */
static int unchanged(const frozen *f, snapshot *s, const char *call)
{
    int ok = 1;
    for (int i = 0; i < f->n; i++) {
        const rc_head *o = RC_HEAD(f->obj[i]);
        if (memcmp(s->obj[i], o, s->objsize[i]) != 0) {
            fprintf(stderr, "  %s wrote the %s at %p (region object %d)\n", call, o->type->name,
                    f->obj[i], i);
            ok = 0;
        }
        if (memcmp(&s->page[i], rc__page_of(o), sizeof(rc_page)) != 0) {
            fprintf(stderr, "  %s wrote the page of region object %d\n", call, i);
            ok = 0;
        }
        free(s->obj[i]);
    }
    if (memcmp(&s->heap, f->rh, sizeof s->heap) != 0) {
        fprintf(stderr, "  %s wrote the region's heap struct\n", call);
        ok = 0;
    }
    return ok;
}

/* Whether the calling thread's last error is `code` and names `want`;
 * clears it. */
static int thread_refused(int code, const char *want)
{
    const char *msg = rc_thread_error_message();
    int ok = rc_thread_error() == code && strstr(msg, want) && strstr(msg, "frozen region");
    if (!ok) fprintf(stderr, "  thread error %d, said: %s\n", rc_thread_error(), msg);
    rc_thread_clear_error();
    return ok;
}

static int heap_refused(rc_heap *h, int code, const char *want)
{
    const char *msg = rc_heap_error_message(h);
    int ok = rc_heap_error(h) == code && strstr(msg, want);
    if (!ok) fprintf(stderr, "  error %d, said: %s\n", rc_heap_error(h), msg);
    rc_heap_clear_error(h);
    return ok;
}

/* ---- weak references ---- */

static void never(rc_weakref *w, void *data) { (void)w, (void)data; }
static void never_fin(void *data) { (void)data; }
static const rc_type ext_type = {.name = "ext", .size = sizeof(int64_t)};

TEST(weak_references_to_a_region_object_are_refused_and_write_nothing)
{
    frozen f;
    REQUIRE(freeze_one(&f));
    rc_heap *h = f.h;
    for (int i = 0; i < f.n; i++) {
        void *o = f.obj[i];
        snapshot s;
        take(&f, &s);
        CHECK(rc_weakref_new(o, NULL, NULL) == NULL);
        CHECK(thread_refused(RC_EINVAL, "rc_weakref_new: the "));
        CHECK(rc_weakref_new(o, never, NULL) == NULL);
        CHECK(thread_refused(RC_EINVAL, "rc_weakref_new"));
        rc_list *data = rc_list_new(h, 0);
        CHECK(rc_weakref_new_owned(o, never, data) == NULL);
        CHECK(thread_refused(RC_EINVAL, "rc_weakref_new_owned"));
        CHECK(rc_weakref_new_owned(o, NULL, NULL) == NULL);
        CHECK(thread_refused(RC_EINVAL, "rc_weakref_new_owned"));
        rc_decref(data);
        CHECK(rc_weakref_new_ex(o, &ext_type, never, NULL) == NULL);
        CHECK(thread_refused(RC_EINVAL, "rc_weakref_new_ex"));
        CHECK(rc_finalize_new(o, never_fin, NULL) == NULL);
        CHECK(thread_refused(RC_EINVAL, "rc_finalize_new"));
        CHECK(unchanged(&f, &s, "making a weak reference"));
        CHECK_EQ_INT(rc_weakref_count(o), 0);
    }
    thaw(&f);
}

TEST(weak_containers_refuse_a_region_object_and_write_nothing)
{
    frozen f;
    REQUIRE(freeze_one(&f));
    rc_heap *h = f.h;
    rc_weakdict *wd = rc_weakdict_new(h);
    rc_weakkeydict *wk = rc_weakkeydict_new(h);
    rc_weakset *ws = rc_weakset_new(h);
    REQUIRE(wd && wk && ws);
    for (int pass = 0; pass < 2; pass++) {   /* not held, then held: refused either way */
        if (pass == 1) REQUIRE(rc_heap_hold_region(h, f.r) == RC_OK);
        for (int i = 0; i < f.n; i++) {
            void *o = f.obj[i];
            snapshot s;
            take(&f, &s);
            CHECK_EQ_INT(rc_weakdict_set(wd, rc_int(1), o), -1);
            CHECK(heap_refused(h, RC_EINVAL, "rc_weakdict_set: the value, the "));
            CHECK_EQ_INT(rc_weakkeydict_set(wk, rc_obj(o), rc_int(1)), -1);
            CHECK(heap_refused(h, RC_EINVAL, "rc_weakkeydict_set: the key, the "));
            CHECK_EQ_INT(rc_weakset_add(ws, rc_obj(o)), -1);
            CHECK(heap_refused(h, RC_EINVAL, "rc_weakset_add: the key, the "));
            CHECK(unchanged(&f, &s, "a weak container's store"));
            CHECK_EQ_INT(rc_weakref_count(o), 0);
        }
    }
    CHECK_EQ_INT(rc_weakdict_len(wd), 0);
    CHECK_EQ_INT(rc_weakkeydict_len(wk), 0);
    CHECK_EQ_INT(rc_weakset_len(ws), 0);
    rc_decref(wd), rc_decref(wk), rc_decref(ws);
    thaw(&f);
}

/* ---- every public call that takes an object ----
 *
 * Each probe makes one call with the region's object `o` (f->obj[i]) and
 * checks its answer: a refusal (the thread's error, or the caller's heap's)
 * or what a read returns. The driver checks that nothing of the region
 * changed, for every object of the region. A probe for a call that takes
 * one type only returns at once for the others. */

typedef void (*probe_fn)(frozen *f, void *o);

static int is_type(const void *o, const rc_type *t) { return rc_typeof(o) == t; }
static int any_obj(void *obj, void *ud) { (void)ud; return obj != NULL; }
static FILE *devnull(void) { return fopen("/dev/null", "w"); }

static void p_refs(frozen *f, void *o)
{
    (void)f;
    uint32_t n = rc_refcount(o);
    rc_incref(o);
    rc_incref(o);
    rc_decref(o);
    rc_decref(o);
    rc_xdecref(NULL);
    rc_val_incref(rc_obj(o));
    rc_val_decref(rc_obj(o));
    CHECK(n == rc_refcount(o));
    CHECK(n & 0x80000000u);
}

static void p_reads(frozen *f, void *o)
{
    CHECK(rc_heap_of(o) == f->rh);
    CHECK_EQ_INT(rc_heap_acquire(rc_heap_of(o)), RC_EINVAL);
    CHECK(thread_refused(RC_EINVAL, "rc_heap_acquire: the heap"));
    CHECK(rc_typeof(o) != NULL);
    CHECK(rc_usable_size(o) >= rc_typeof(o)->size);
    CHECK(rc_in_region(o));
    CHECK(rc_val_eq(rc_obj(o), rc_obj(o)));
    (void)rc_val_hash(rc_obj(o));
    CHECK(rc_self_size(o) > 0);
    const char *file;
    int line;
    CHECK_EQ_INT(rc_trace_site(o, &file, &line), 0);
}

static void p_builtins(frozen *f, void *o)
{
    (void)f;
    if (is_type(o, &rc_dict_type)) {
        rc_val k, v;
        size_t pos = 0, n = 0;
        while (rc_dict_next(o, &pos, &k, &v)) n++;
        CHECK_EQ_INT(n, rc_dict_len(o));
        CHECK(rc_dict_contains(o, rc_int(0)));
        CHECK(rc_dict_get_str(o, "none") == RC_EMPTY);
    } else if (is_type(o, &rc_list_type)) {
        size_t n;
        CHECK(rc_list_items(o, &n) != NULL);
        CHECK_EQ_INT(n, rc_list_len(o));
        CHECK(rc_list_get(o, 0) != RC_EMPTY);
    } else if (is_type(o, &rc_tuple_type)) {
        size_t n;
        CHECK(rc_tuple_items(o, &n) != NULL && n == rc_tuple_len(o));
        CHECK(rc_tuple_get(o, 0) != RC_EMPTY);
    } else if (is_type(o, &rc_str_type)) {
        CHECK(rc_str_hash(o) == rc_val_hash(rc_obj(o)));
        CHECK(rc_str_eq(o, o) && rc_str_cmp(o, o) == 0);
        CHECK(rc_str_len(o) == 6 && memcmp(rc_str_data(o), "frozen", 6) == 0);
    } else if (is_type(o, &rc_int_type)) {
        CHECK(rc_as_int(rc_obj(o)) == (int64_t)1 << 62);
    }
}

/* Lookups in a heap's dict with the region's objects as keys (hashes
 * read, a str's cached). */
static void p_as_keys(frozen *f, void *o)
{
    rc_dict *d = rc_dict_new(f->h);
    CHECK(rc_dict_get(d, rc_obj(o)) == RC_EMPTY);
    CHECK(!rc_dict_contains(d, rc_obj(o)));
    rc_decref(d);
}

static void p_gc_object(frozen *f, void *o)
{
    (void)f;
    int tracked = rc_gc_is_tracked(o);
    CHECK_EQ_INT(rc_gc_is_finalized(o), 0);
    CHECK_EQ_INT(rc_gc_untrack(o), -1);
    CHECK(thread_refused(RC_EINVAL, "rc_gc_untrack: the "));
    CHECK_EQ_INT(rc_gc_track(o), -1);
    CHECK(thread_refused(RC_EINVAL, "rc_gc_track: the "));
    CHECK_EQ_INT(rc_gc_is_tracked(o), tracked);
}

static void p_gc_heap_queries(frozen *f, void *o)
{
    rc_heap *h = f->h;
    void *objs[1] = {o};
    rc_list *l = rc_gc_get_referrers(h, objs, 1);
    CHECK(l != NULL);
    rc_xdecref(l);
    void *buf[8];
    CHECK(rc_gc_get_referrers_into(h, objs, 1, buf, 8) != SIZE_MAX);
    /* Another heap's object: refused on h, as ever. */
    CHECK(rc_gc_get_referents(h, objs, 1) == NULL);
    CHECK(heap_refused(h, RC_EINVAL, "rc_gc_get_referents"));
    CHECK_EQ_INT(rc_gc_get_referents_into(h, objs, 1, buf, 8), SIZE_MAX);
    CHECK(heap_refused(h, RC_EINVAL, "rc_gc_get_referents_into"));
    rc_refindex *idx = rc_refindex_build(h);
    REQUIRE(idx);
    size_t n = 99;
    (void)rc_refindex_referrers(idx, o, &n);
    rc_domtree *t = rc_domtree_build(h, idx);
    REQUIRE(t);
    CHECK_EQ_INT(rc_domtree_retained_size(t, o), 0);
    CHECK(rc_domtree_dominator(t, o) == NULL);
    rc_domtree_free(t);
    rc_refindex_free(idx);
}

static void p_move_copy_freeze(frozen *f, void *o)
{
    rc_heap *h = f->h, *dst = rc_heap_new(NULL);
    CHECK(rc_move(dst, o) == NULL);
    CHECK(heap_refused(dst, RC_EINVAL, "rc_move"));
    CHECK(rc_region_freeze(h, o) == NULL);
    CHECK(heap_refused(h, RC_EINVAL, "in a frozen region already"));
    void *c = rc_copy(dst, o);
    CHECK(c != NULL);
    rc_xdecref(c);
    rc_heap_free(dst);
}

static void p_weak_reads(frozen *f, void *o)
{
    (void)f;
    CHECK_EQ_INT(rc_weakref_count(o), 0);
    rc_weakref *buf[2];
    CHECK_EQ_INT(rc_weakref_list_into(o, buf, 2), 0);
    /* A new list would be made in the region's heap: refused. */
    CHECK(rc_weakref_list(o) == NULL);
    CHECK(thread_refused(RC_EINVAL, "rc_weakref_list: the "));
}

/* The leak tools that work on the heap of the object they are given: a
 * region's heap is no thread's to walk or to allocate in: refused. */
static void p_leak_tools(frozen *f, void *o)
{
    (void)f;
    FILE *out = devnull();
    REQUIRE(out);
    CHECK(rc_find_ref_chain(o, any_obj, NULL, NULL) == NULL);
    CHECK(thread_refused(RC_EINVAL, "rc_find_ref_chain: the "));
    CHECK(rc_find_backref_chain(o, any_obj, NULL, NULL) == NULL);
    CHECK(thread_refused(RC_EINVAL, "rc_find_backref_chain: the "));
    CHECK(rc_why_alive(o, out, NULL) == NULL);
    CHECK(thread_refused(RC_EINVAL, "rc_why_alive: the "));
    CHECK_EQ_INT(rc_retained(o), 0);
    CHECK(thread_refused(RC_EINVAL, "rc_retained: the "));
    CHECK_EQ_INT(rc_external_refs(o), 0);
    CHECK(thread_refused(RC_EINVAL, "rc_external_refs: the "));
    void *objs[1] = {o};
    rc_graph_opts go = {.output = out, .quiet = 1};
    CHECK_EQ_INT(rc_show_refs(objs, 1, "x.dot", &go), -1);
    CHECK(thread_refused(RC_EINVAL, "rc_show_refs: the "));
    CHECK_EQ_INT(rc_show_backrefs(objs, 1, "x.dot", &go), -1);
    CHECK(thread_refused(RC_EINVAL, "rc_show_backrefs: the "));
    /* Heap-wide tools handed the region's heap (no thread holds it):
     * debug builds stop there (see count_region_heap), others refuse. */
    if (!LIB_DEBUG) {
        CHECK_EQ_INT(rc_count(rc_heap_of(o), "list"), 0);
        CHECK(thread_refused(RC_EINVAL, "rc_count: the heap is the frozen region"));
    }
    fclose(out);
}

/* The caller's heap refers into the region (it holds it): whole-heap
 * calls on that heap read the region's objects and write none of them. */
static void p_whole_heap(frozen *f, void *o)
{
    rc_heap *h = f->h;
    FILE *out = devnull();
    REQUIRE(out);
    rc_list *l = rc_list_new(h, 0);
    REQUIRE(rc_list_append(l, rc_obj(o)) == 0);
    rc_list *cyc = rc_list_new(h, 0);   /* garbage that points into the region */
    rc_list_append(cyc, rc_obj(cyc));
    rc_list_append(cyc, rc_obj(o));
    rc_decref(cyc);
    CHECK_EQ_INT(rc_heap_check(h, out), 0);
    rc_gc_freeze(h);
    rc_gc_unfreeze(h);
    CHECK(rc_gc_collect(h, 2) >= 1);
    rc_gc_set_incremental(h, 1);
    for (int k = 0; k < 8; k++) rc_gc_step(h, 1);
    rc_gc_set_incremental(h, 0);
    rc_list *all = rc_gc_get_objects(h, -1);
    rc_xdecref(all);
    CHECK(rc_show_most_common_types(h, 5, out) >= 0);
    CHECK(rc_show_roots(h, 5, out) >= 0);
    rc_list *bt = rc_by_type(h, "list");
    rc_xdecref(bt);
    CHECK(rc_total_refcount(h) > 0);
    CHECK_EQ_INT(rc_heapsnapshot_write(h, out), 0);
    void *objs[1] = {l};
    rc_graph_opts go = {.output = out, .quiet = 1, .refcounts = 1};
    CHECK(rc_show_refs(objs, 1, "x.dot", &go) != -1);
    rc_chain *c = rc_find_ref_chain(l, any_obj, NULL, NULL);
    rc_chain_free(c);
    rc_chain *w = rc_why_alive(l, out, NULL);
    rc_chain_free(w);
    CHECK(rc_retained(l) > 0);
    rc_decref(l);
    rc_gc_collect(h, 2);
    fclose(out);
}

static const struct { const char *name; probe_fn fn; int hold; } probes[] = {
    {"rc_incref / rc_decref / rc_refcount", p_refs, 0},
    {"reads (rc_heap_of, rc_usable_size, rc_self_size, rc_trace_site...)", p_reads, 0},
    {"the built-ins' reads", p_builtins, 0},
    {"a heap's dict looked up with region keys", p_as_keys, 0},
    {"rc_gc_is_tracked / is_finalized / untrack / track", p_gc_object, 0},
    {"rc_gc_get_referrers / referents, rc_refindex, rc_domtree", p_gc_heap_queries, 0},
    {"rc_move / rc_region_freeze / rc_copy", p_move_copy_freeze, 0},
    {"rc_weakref_count / list / list_into", p_weak_reads, 0},
    {"the leak tools given a region's object", p_leak_tools, 0},
    {"whole-heap calls on a heap that refers into the region", p_whole_heap, 1},
};

TEST(every_call_given_a_region_object_refuses_it_or_only_reads_it)
{
    for (size_t k = 0; k < sizeof probes / sizeof *probes; k++) {
        frozen f;
        REQUIRE(freeze_one(&f));
        if (probes[k].hold) REQUIRE(rc_heap_hold_region(f.h, f.r) == RC_OK);
        for (int i = 0; i < f.n; i++) {
            snapshot s;
            take(&f, &s);
            int failed = rc_test_failed_;
            rc_test_failed_ = 0;
            probes[k].fn(&f, f.obj[i]);
            int ok = unchanged(&f, &s, probes[k].name);
            if (!ok || rc_test_failed_)
                fprintf(stderr, "  ... %s, on region object %d (a %s)\n", probes[k].name, i,
                        rc_typeof(f.obj[i])->name);
            rc_test_failed_ |= failed | !ok;
            rc_thread_clear_error();
            rc_heap_clear_error(f.h);
        }
        thaw(&f);
    }
}

static void count_region_heap(void)
{
    frozen f;
    if (freeze_one(&f)) rc_count(rc_heap_of(f.obj[0]), "list");
}

TEST(a_call_on_a_region_heap_stops_debug_builds_naming_the_region)
{
    if (!LIB_DEBUG) return;   /* release builds refuse it: see the table's leak tools */
    CHECK(dies_saying(count_region_heap, "rc_count("));
    CHECK(dies_saying(count_region_heap, "the heap is the frozen region"));
}

/* rc_heap_trim of a region's heap: the region's pages are not the
 * caller's to give back (no thread holds the heap; its last holder frees
 * it whole). Debug builds stop; others refuse with RC_EINVAL, recorded as
 * the thread's error, and write nothing. */
static void trim_region_heap(void)
{
    frozen f;
    if (freeze_one(&f)) rc_heap_trim(rc_heap_of(f.obj[0]));
}

TEST(rc_heap_trim_of_a_region_heap_is_refused_and_writes_nothing)
{
    if (LIB_DEBUG) {
        CHECK(dies_saying(trim_region_heap, "rc_heap_trim("));
        CHECK(dies_saying(trim_region_heap, "the heap is the frozen region"));
        return;
    }
    frozen f;
    REQUIRE(freeze_one(&f));
    snapshot s;
    take(&f, &s);
    CHECK_EQ_INT(rc_heap_trim(f.rh), RC_EINVAL);
    CHECK(thread_refused(RC_EINVAL, "rc_heap_trim: the heap is the frozen region"));
    CHECK(unchanged(&f, &s, "rc_heap_trim"));
    CHECK_EQ_INT(rc_heap_error(f.h), RC_OK);   /* the heap it came from is not involved */
    thaw(&f);
}

RC_TEST_MAIN
