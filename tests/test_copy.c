/* test_copy.c -- rc_copy: a deep copy of a graph into another heap keeps
 * sharing and cycles, leaves the source as it was (counts included),
 * refuses what it cannot copy with the type's name, leaves nothing behind
 * when memory runs out, and hands copies from a producer thread to a
 * consumer's heap (label threads: run under ThreadSanitizer by make tsan). */
#include "failalloc.h"
#include "harness.h"
#include "recycle.h"
#include "recycle/builtins.h"
#include "recycle/gc.h"
#include "recycle/weakref.h"
#include "testutil.h"

#include <pthread.h>
#include <stdint.h>

typedef struct node { void *a, *b; int64_t n; } node;
static const rc_type node_type = {.name = "node", .size = sizeof(node), .nslots = 2};

/* A type that owns a malloc'd buffer and one reference (traverse): it
 * copies through its hook. */
typedef struct blob { char *buf; size_t len; void *ref; } blob;
static int blob_destroyed;
static void blob_traverse(void *o, rc_visit_fn visit, void *arg) { visit(((blob *)o)->ref, arg); }
static void blob_clear(void *o)
{
    blob *b = o;
    void *r = b->ref;
    b->ref = NULL;
    if (r) rc_decref(r);
}
static void blob_destroy(void *o)
{
    free(((blob *)o)->buf);
    blob_destroyed++;
}
static int blob_copy_fails;   /* the hook reports out of memory */
static int blob_copy(void *dst, const void *src, rc_copy_map_fn map, void *arg)
{
    blob *d = dst;
    const blob *s = src;
    d->ref = map(s->ref, arg);   /* first: a failure after it must not leak the reference */
    d->buf = blob_copy_fails ? NULL : malloc(s->len + 1);
    if (!d->buf) return RC_ENOMEM;
    memcpy(d->buf, s->buf, s->len + 1);
    d->len = s->len;
    return 0;
}
static const rc_type blob_type = {.name = "blob", .size = sizeof(blob), .traverse = blob_traverse,
                                  .clear = blob_clear, .destroy = blob_destroy, .copy = blob_copy};
static const rc_type blob_nohook_type = {.name = "blob_nohook", .size = sizeof(blob),
                                         .traverse = blob_traverse, .clear = blob_clear,
                                         .destroy = blob_destroy};
static const rc_type owner_type = {.name = "file_owner", .size = sizeof(node), .destroy = blob_destroy};
static const rc_type nocopy_type = {.name = "socket", .size = sizeof(node), .nslots = 2,
                                    .flags = RC_TYPE_NOCOPY};

static blob *blob_new(rc_heap *h, const char *text, void *ref)
{
    blob *b = rc_new(h, &blob_type);
    b->len = strlen(text);
    b->buf = malloc(b->len + 1);
    memcpy(b->buf, text, b->len + 1);
    b->ref = ref;
    if (ref) rc_incref(ref);
    return b;
}

static node *node_new(rc_heap *h, int64_t n)
{
    node *x = rc_new(h, &node_type);
    x->n = n;
    return x;
}
/* Store b in x's slot (x takes a reference). */
static void set_a(node *x, void *v) { x->a = v; if (v) rc_incref(v); }
static void set_b(node *x, void *v) { x->b = v; if (v) rc_incref(v); }

/* A heap's end: its cycles collected first, so no leak report. */
static void heap_end(rc_heap *h)
{
    rc_gc_collect(h, 2);
    rc_heap_free(h);
}

/* ---- the source must not change: every header word, before and after ---- */

typedef struct snap { size_t n; void *obj[64]; uint32_t refcnt[64], gc[64]; } snap;
static void snap_take(snap *s, void *const *objs, size_t n)
{
    s->n = n;
    for (size_t i = 0; i < n; i++) {
        s->obj[i] = objs[i];
        s->refcnt[i] = RC_HEAD(objs[i])->refcnt;
        s->gc[i] = RC_HEAD(objs[i])->gc;
    }
}
static int snap_same(const snap *s)
{
    for (size_t i = 0; i < s->n; i++)
        if (RC_HEAD(s->obj[i])->refcnt != s->refcnt[i] || RC_HEAD(s->obj[i])->gc != s->gc[i])
            return 0;
    return 1;
}

/* A graph of every built-in: list [str, big int, tuple(str, list), dict,
 * list itself, str again]; the dict maps the str to the tuple and a big int
 * to the list. Fills objs (the objects made, root first). */
static rc_list *builtins_graph(rc_heap *h, void **objs, size_t *n)
{
    rc_list *root = rc_list_new(h, 0);
    rc_str *s = rc_str_from_cstr(h, "shared");
    rc_val big = rc_int_new(h, (int64_t)1 << 60);
    rc_list *inner = rc_list_new(h, 0);
    rc_list_append(inner, rc_float(2.5));
    rc_val items[2] = {rc_obj(s), rc_obj(inner)};
    rc_tuple *t = rc_tuple_new(h, 2, items);
    rc_dict *d = rc_dict_new(h);
    rc_dict_set(d, rc_obj(s), rc_obj(t));
    rc_dict_set(d, big, rc_obj(root));
    rc_dict_set(d, rc_int(7), RC_TRUE);
    rc_list_append(root, rc_obj(s));
    rc_list_append(root, big);
    rc_list_append(root, rc_obj(t));
    rc_list_append(root, rc_obj(d));
    rc_list_append(root, rc_obj(root));
    rc_list_append(root, rc_obj(s));
    void *made[] = {root, s, rc_as_obj(big), inner, t, d};
    *n = 6;
    memcpy(objs, made, sizeof made);
    rc_decref(s); rc_val_decref(big); rc_decref(inner); rc_decref(t); rc_decref(d);
    return root;
}

static void check_builtins_copy(rc_heap *dst, rc_list *c)
{
    REQUIRE(c != NULL);
    CHECK(rc_heap_of(c) == dst);
    CHECK(rc_list_len(c) == 6);
    rc_str *s = rc_as_obj(rc_list_get(c, 0));
    CHECK(rc_heap_of(s) == dst && rc_str_len(s) == 6 && !memcmp(rc_str_data(s), "shared", 6));
    CHECK(rc_as_obj(rc_list_get(c, 5)) == s);             /* sharing kept */
    CHECK(rc_as_obj(rc_list_get(c, 4)) == c);             /* the cycle kept */
    rc_val big = rc_list_get(c, 1);
    CHECK(rc_is_obj(big) && rc_heap_of(rc_as_obj(big)) == dst);
    rc_tuple *t = rc_as_obj(rc_list_get(c, 2));
    CHECK(rc_as_obj(rc_tuple_get(t, 0)) == s);
    rc_list *inner = rc_as_obj(rc_tuple_get(t, 1));
    CHECK(rc_list_len(inner) == 1 && rc_list_get(inner, 0) == rc_float(2.5));
    rc_dict *d = rc_as_obj(rc_list_get(c, 3));
    CHECK(rc_dict_len(d) == 3);
    CHECK(rc_as_obj(rc_dict_get(d, rc_obj(s))) == t);
    CHECK(rc_as_obj(rc_dict_get_str(d, "shared")) == t);
    CHECK(rc_as_obj(rc_dict_get(d, big)) == c);
    CHECK(rc_dict_get(d, rc_int(7)) == RC_TRUE);
    /* counts: each copy holds what its original held from the graph */
    CHECK(RC_HEAD(s)->refcnt == 4);   /* root twice, tuple, dict key */
    CHECK(RC_HEAD(c)->refcnt == 3);   /* caller, itself, dict value */
    CHECK(RC_HEAD(t)->refcnt == 2);
}

TEST(copies_every_builtin_keeping_sharing_and_cycles)
{
    rc_heap *src = rc_heap_new(NULL), *dst = rc_heap_new(NULL);
    void *objs[16];
    size_t n;
    rc_list *root = builtins_graph(src, objs, &n);
    snap before;
    snap_take(&before, objs, n);
    rc_list *c = rc_copy(dst, root);
    check_builtins_copy(dst, c);
    CHECK(snap_same(&before));
    CHECK(rc_heap_check(dst, NULL) == 0);
    CHECK(rc_heap_check(src, NULL) == 0);
    size_t live = live_objects(dst);
    CHECK(live == 6);
    rc_decref(c);
    rc_gc_collect(dst, 2);
    CHECK(live_objects(dst) == 0);   /* the copy's cycle is collectable */
    rc_decref(root);
    heap_end(src);
    heap_end(dst);
}

TEST(slots_are_mapped_and_plain_fields_copied)
{
    rc_heap *src = rc_heap_new(NULL), *dst = rc_heap_new(NULL);
    node *a = node_new(src, 1), *b = node_new(src, 2);
    set_a(a, b); set_b(a, b); set_a(b, a);   /* a <-> b, a -> b twice */
    rc_decref(b);
    void *objs[] = {a, b};
    snap before;
    snap_take(&before, objs, 2);
    node *ca = rc_copy(dst, a);
    REQUIRE(ca != NULL);
    node *cb = ca->a;
    CHECK(ca->n == 1 && cb->n == 2 && ca->b == cb && cb->a == ca && cb->b == NULL);
    CHECK(rc_heap_of(cb) == dst && cb != b);
    CHECK(RC_HEAD(ca)->refcnt == 2 && RC_HEAD(cb)->refcnt == 2);
    CHECK(snap_same(&before));
    rc_decref(ca);
    rc_gc_collect(dst, 2);
    CHECK(live_objects(dst) == 0);
    rc_decref(a);
    heap_end(src);
    heap_end(dst);
}

TEST(copy_hook_copies_what_the_object_owns)
{
    rc_heap *src = rc_heap_new(NULL), *dst = rc_heap_new(NULL);
    node *x = node_new(src, 5);
    blob *b = blob_new(src, "payload", x);
    set_a(x, b);   /* a cycle through the hook type */
    blob *cb = rc_copy(dst, b);
    REQUIRE(cb != NULL);
    CHECK(cb->buf != b->buf && !strcmp(cb->buf, "payload"));
    node *cx = cb->ref;
    CHECK(rc_heap_of(cx) == dst && cx->n == 5 && cx->a == cb);
    blob_destroyed = 0;
    rc_decref(cb);
    rc_gc_collect(dst, 2);
    CHECK(live_objects(dst) == 0 && blob_destroyed == 1);
    CHECK(!strcmp(b->buf, "payload"));
    rc_decref(b);
    rc_decref(x);
    rc_gc_collect(src, 2);
    heap_end(src);
    heap_end(dst);
}

/* Each refusal: NULL, RC_EINVAL on both heaps naming the type, the source
 * as it was, nothing in dst. */
static void expect_refused(rc_heap *src, rc_heap *dst, void *obj, void *const *objs, size_t n,
                           const char *words)
{
    snap before;
    snap_take(&before, objs, n);
    size_t live = live_objects(dst);
    CHECK(rc_copy(dst, obj) == NULL);
    CHECK(rc_heap_error(dst) == RC_EINVAL && rc_heap_error(src) == RC_EINVAL);
    if (!strstr(rc_heap_error_message(dst), words)) {
        fprintf(stderr, "  message: %s (wanted \"%s\")\n", rc_heap_error_message(dst), words);
        CHECK(0);
    }
    CHECK(snap_same(&before));
    CHECK(live_objects(dst) == live);
}

TEST(refuses_types_it_cannot_copy_naming_them)
{
    rc_heap *src = rc_heap_new(NULL), *dst = rc_heap_new(NULL);
    node *root = node_new(src, 0);
    blob *nh = rc_new(src, &blob_nohook_type);
    set_a(root, nh);
    void *o1[] = {root, nh};
    expect_refused(src, dst, root, o1, 2, "blob_nohook");
    expect_refused(src, dst, root, o1, 2, "traverse");
    node *own = rc_new(src, &owner_type);
    set_b(root, own);
    rc_decref(nh);
    rc_decref(root->a);
    root->a = NULL;
    void *o2[] = {root, own};
    expect_refused(src, dst, root, o2, 2, "file_owner");
    node *sock = rc_new(src, &nocopy_type);
    void *o3[] = {sock};
    expect_refused(src, dst, sock, o3, 1, "socket");
    rc_decref(own); rc_decref(sock); rc_decref(root);
    heap_end(src);
    heap_end(dst);
}

static int called_back;
static void count_callback(rc_weakref *w, void *data) { (void)w; (void)data; called_back++; }

TEST(a_weak_reference_is_copied_to_point_to_the_copy)
{
    rc_heap *src = rc_heap_new(NULL), *dst = rc_heap_new(NULL);
    node *target = node_new(src, 1);
    rc_weakref *w = rc_weakref_new(target, count_callback, NULL);
    rc_list *l = rc_list_new(src, 0);
    rc_list_append(l, rc_obj(w));
    rc_list_append(l, rc_obj(target));
    void *objs[] = {l, target, w};
    snap before;
    snap_take(&before, objs, 3);
    rc_list *c = rc_copy(dst, l);
    REQUIRE(c != NULL);
    CHECK(snap_same(&before));
    rc_weakref *cw = rc_as_obj(rc_list_get(c, 0));
    node *ct = rc_as_obj(rc_list_get(c, 1));
    CHECK(rc_heap_of(cw) == dst && rc_weakref_alive(cw) && RC_HEAD(cw)->refcnt == 1);
    CHECK(rc_weakref_count(ct) == 1 && rc_weakref_count(target) == 1);
    void *got = rc_weakref_get(cw);
    CHECK(got == ct);
    rc_decref(got);
    called_back = 0;
    rc_list_set(c, 1, RC_NONE);   /* the copy's referent dies: the copy calls back */
    CHECK(called_back == 1 && !rc_weakref_alive(cw) && rc_weakref_alive(w));
    rc_decref(c);
    rc_decref(l); rc_decref(w); rc_decref(target);
    heap_end(src);
    heap_end(dst);
}

TEST(refuses_a_weak_reference_whose_referent_is_outside_the_graph)
{
    rc_heap *src = rc_heap_new(NULL), *dst = rc_heap_new(NULL);
    node *target = node_new(src, 1);
    rc_weakref *w = rc_weakref_new(target, NULL, NULL);
    rc_list *l = rc_list_new(src, 0);
    rc_list_append(l, rc_obj(w));
    void *objs[] = {l, target, w};
    expect_refused(src, dst, l, objs, 3, "does not reach");
    rc_decref(target);   /* now a dead weak reference: refused too */
    void *objs2[] = {l, w};
    expect_refused(src, dst, l, objs2, 2, "dead weak reference");
    /* an object weak references point to is copied; its copy has none */
    node *t2 = node_new(src, 2);
    rc_weakref *w2 = rc_weakref_new(t2, NULL, NULL);
    node *c = rc_copy(dst, t2);
    REQUIRE(c != NULL);
    CHECK(rc_weakref_count(c) == 0 && rc_weakref_count(t2) == 1);
    rc_decref(c); rc_decref(w2); rc_decref(t2);
    rc_decref(l); rc_decref(w);
    heap_end(src);
    heap_end(dst);
}

TEST(refuses_references_into_a_third_heap)
{
    rc_heap *src = rc_heap_new(NULL), *dst = rc_heap_new(NULL), *other = rc_heap_new(NULL);
    node *root = node_new(src, 0), *far = node_new(other, 1);
    root->a = far;   /* a raw store: the slots form does not check heaps */
    void *objs[] = {root};
    expect_refused(src, dst, root, objs, 1, "another heap");
    root->a = NULL;
    rc_decref(far); rc_decref(root);
    heap_end(src); heap_end(dst); heap_end(other);
}

TEST(refuses_null_and_the_same_heap)
{
    rc_heap *src = rc_heap_new(NULL), *dst = rc_heap_new(NULL);
    node *x = node_new(src, 0);
    CHECK(rc_copy(dst, NULL) == NULL && rc_heap_error(dst) == RC_EINVAL);
    CHECK(rc_copy(NULL, x) == NULL && rc_heap_error(src) == RC_EINVAL);
    CHECK(rc_copy(NULL, NULL) == NULL);
    CHECK(rc_copy(src, x) == NULL && rc_heap_error(src) == RC_EINVAL);
    CHECK(strstr(rc_heap_error_message(src), "node") != NULL);
    CHECK(RC_HEAD(x)->refcnt == 1 && live_objects(src) == 1);
    rc_decref(x);
    heap_end(src);
    heap_end(dst);
}

static void *map_stranger(const void *ref, void *arg);
static void *stranger;
static int bad_copy(void *dst, const void *src, rc_copy_map_fn map, void *arg)
{
    (void)src;
    ((blob *)dst)->ref = map(stranger, arg);
    return 0;
}
static void *map_stranger(const void *ref, void *arg) { (void)ref; (void)arg; return NULL; }
static const rc_type bad_type = {.name = "liar", .size = sizeof(blob), .traverse = blob_traverse,
                                 .clear = blob_clear, .copy = bad_copy};

TEST(a_hook_mapping_an_object_outside_the_graph_fails)
{
    (void)map_stranger;
    rc_heap *src = rc_heap_new(NULL), *dst = rc_heap_new(NULL);
    blob *b = rc_new(src, &bad_type);
    stranger = node_new(src, 9);
    void *objs[] = {b, stranger};
    expect_refused(src, dst, b, objs, 2, "liar");
    rc_decref(stranger); rc_decref(b);
    heap_end(src);
    heap_end(dst);
}

TEST(frozen_and_untracked_objects_are_copied_as_new_objects)
{
    rc_heap *src = rc_heap_new(NULL), *dst = rc_heap_new(NULL);
    node *a = node_new(src, 1), *b = node_new(src, 2);
    set_a(a, b); set_a(b, a);
    rc_gc_freeze(src);
    CHECK(rc_gc_get_freeze_count(src) == 2);
    void *objs[] = {a, b};
    snap before;
    snap_take(&before, objs, 2);
    node *c = rc_copy(dst, a);
    REQUIRE(c != NULL);
    CHECK(snap_same(&before));
    CHECK(rc_gc_get_freeze_count(dst) == 0 && rc_gc_is_tracked(c));
    rc_decref(c);
    rc_gc_collect(dst, 2);
    CHECK(live_objects(dst) == 0);
    rc_gc_unfreeze(src);
    rc_decref(a); rc_decref(b);
    heap_end(src);
    heap_end(dst);
}

static int finalized;
static void count_finalize(void *o) { (void)o; finalized++; }
static const rc_type fin_type = {.name = "fin", .size = sizeof(node), .nslots = 2,
                                 .finalize = count_finalize};

TEST(a_finalized_garbage_cycle_is_copied_and_its_copy_finalized_again)
{
    rc_heap *src = rc_heap_new(NULL), *dst = rc_heap_new(NULL);
    rc_gc_disable(src);
    node *a = rc_new(src, &fin_type), *b = rc_new(src, &fin_type);
    set_a(a, b); set_a(b, a);
    rc_decref(b);
    rc_decref(a);   /* a garbage cycle no collection has seen yet */
    rc_incref(a);   /* the program still has its address: it holds it again */
    node *c = rc_copy(dst, a);
    REQUIRE(c != NULL);
    CHECK(!rc_gc_is_finalized(c));
    finalized = 0;
    rc_decref(a);
    rc_gc_collect(src, 2);
    CHECK(finalized == 2 && live_objects(src) == 0);
    rc_decref(c);
    rc_gc_collect(dst, 2);
    CHECK(finalized == 4 && live_objects(dst) == 0);
    heap_end(src);
    heap_end(dst);
}

TEST(dicts_with_colliding_and_deleted_keys)
{
    rc_heap *src = rc_heap_new(NULL), *dst = rc_heap_new(NULL);
    rc_dict *d = rc_dict_new(src);
    enum { N = 4000 };
    for (int64_t i = 0; i < N; i++) rc_dict_set(d, rc_int(i << 20), rc_int(i));   /* low bits equal */
    for (int64_t i = 0; i < N; i += 3) rc_dict_del(d, rc_int(i << 20));
    for (int i = 0; i < 200; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        rc_str *s = rc_str_from_cstr(src, k);
        rc_val pair[2] = {rc_obj(s), rc_int(i)};
        rc_tuple *t = rc_tuple_new(src, 2, pair);
        rc_dict_set(d, rc_obj(s), rc_obj(t));
        rc_dict_set(d, rc_obj(t), rc_obj(s));   /* a tuple key: hashed from its items */
        rc_decref(t);
        rc_decref(s);
    }
    rc_dict *c = rc_copy(dst, d);
    REQUIRE(c != NULL);
    CHECK(rc_dict_len(c) == rc_dict_len(d));
    size_t pos = 0, pos2 = 0;
    rc_val k, v, k2, v2;
    int same_order = 1, found = 1;
    while (rc_dict_next(d, &pos, &k, &v)) {
        if (!rc_dict_next(c, &pos2, &k2, &v2)) { same_order = 0; break; }
        if (rc_is_obj(k) != rc_is_obj(k2)) same_order = 0;
        else if (!rc_is_obj(k)) same_order &= k == k2;
        else same_order &= RC_HEAD(rc_as_obj(k))->type == RC_HEAD(rc_as_obj(k2))->type;
        if (rc_dict_get(c, k2) != v2) found = 0;
    }
    CHECK(same_order && found);
    CHECK(rc_dict_get(c, rc_int((int64_t)1 << 20)) == rc_int(1));
    CHECK(rc_dict_get(c, rc_int(0)) == RC_EMPTY);
    rc_decref(c);
    rc_decref(d);
    rc_gc_collect(dst, 2);
    CHECK(live_objects(dst) == 0);
    heap_end(src);
    heap_end(dst);
}

TEST(out_of_memory_at_every_allocation_leaves_nothing_and_changes_nothing)
{
    rc_heap *src = fa_heap_new(), *dst = fa_heap_new();   /* one countdown for both */
    void *objs[16];
    size_t n;
    rc_list *root = builtins_graph(src, objs, &n);
    node *x = node_new(src, 3);
    blob *b = blob_new(src, "owned", x);
    set_a(x, root);
    rc_list_append(root, rc_obj(b));
    rc_weakref *w = rc_weakref_new(x, count_callback, NULL);
    rc_list_append(root, rc_obj(w));
    objs[n++] = x;
    objs[n++] = b;
    objs[n++] = w;
    rc_decref(w);
    called_back = 0;
    rc_decref(x);
    rc_decref(b);
    snap before;
    snap_take(&before, objs, n);
    rc_str *warm = rc_str_from_cstr(dst, "warm");   /* dst's weak books made once */
    rc_decref(rc_weakref_new(warm, NULL, NULL));
    rc_decref(warm);
    size_t live = live_objects(dst), bytes = buffer_bytes(dst);
    rc_list *c = NULL;
    long fails = 0;
    for (long k = 0; !c; k++) {
        fa_arm(k);
        c = rc_copy(dst, root);
        fa_disarm();
        if (c) break;
        fails++;
        CHECK(rc_heap_error(dst) == RC_ENOMEM);
        CHECK(snap_same(&before));
        CHECK(live_objects(dst) == live && buffer_bytes(dst) == bytes);
        REQUIRE(k < 10000);
    }
    fprintf(stderr, "  %ld allocations failed in turn\n", fails);
    CHECK(fails >= 5);
    CHECK(called_back == 0);   /* no copy of x died while a weak reference to it lived */
    rc_list *c2;
    size_t live2 = live_objects(dst);
    blob_copy_fails = 1;   /* the hook fails, after mapping its reference */
    CHECK((c2 = rc_copy(dst, root)) == NULL && rc_heap_error(dst) == RC_ENOMEM);
    blob_copy_fails = 0;
    CHECK(snap_same(&before) && live_objects(dst) == live2);
    rc_heap *fresh = fa_heap_new();
    fa_map_fails = 1;      /* no page for the copies */
    CHECK(rc_copy(fresh, root) == NULL && rc_heap_error(fresh) == RC_ENOMEM);
    fa_map_fails = 0;
    CHECK(snap_same(&before) && live_objects(fresh) == 0);
    heap_end(fresh);
    CHECK(rc_list_len(c) == 8);
    CHECK(rc_heap_check(dst, NULL) == 0);
    rc_decref(c);
    rc_gc_collect(dst, 2);
    CHECK(live_objects(dst) == 0);
    rc_decref(root);
    rc_gc_collect(src, 2);
    heap_end(src);
    heap_end(dst);
}

TEST(a_million_deep_chain_copies_without_recursion)
{
    size_t n = getenv("RC_TEST_QUICK") ? 100000 : 1000000;
    rc_heap *src = rc_heap_new(NULL), *dst = rc_heap_new(NULL);
    node *head = node_new(src, 0), *tail = head;
    for (size_t i = 1; i < n; i++) {
        node *x = node_new(src, (int64_t)i);
        tail->a = x;   /* tail owns x's reference */
        tail = x;
    }
    set_b(tail, head);   /* and one cycle through all of it */
    node *c = rc_copy(dst, head);
    REQUIRE(c != NULL);
    CHECK(live_objects(dst) == n);
    size_t k = 0;
    node *p = c;
    int ok = 1;
    for (; p->a; p = p->a, k++) ok &= p->n == (int64_t)k && rc_heap_of(p) == dst;
    CHECK(ok && k == n - 1 && p->b == c);
    rc_decref(c);
    rc_gc_collect(dst, 2);
    CHECK(live_objects(dst) == 0);
    rc_decref(head);
    rc_gc_collect(src, 2);
    heap_end(src);
    heap_end(dst);
}

/* ---- a producer thread copies graphs into a consumer's heap ---- */

typedef struct chan {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    void *item;
    int full;
} chan;
static void chan_put(chan *ch, void *item)
{
    pthread_mutex_lock(&ch->mu);
    while (ch->full) pthread_cond_wait(&ch->cv, &ch->mu);
    ch->item = item;
    ch->full = 1;
    pthread_cond_broadcast(&ch->cv);
    pthread_mutex_unlock(&ch->mu);
}
static void *chan_get(chan *ch)
{
    pthread_mutex_lock(&ch->mu);
    while (!ch->full) pthread_cond_wait(&ch->cv, &ch->mu);
    void *item = ch->item;
    ch->full = 0;
    pthread_cond_broadcast(&ch->cv);
    pthread_mutex_unlock(&ch->mu);
    return item;
}

enum { ROUNDS = 60 };
typedef struct pc { rc_heap *consumer; chan to_consumer, to_producer; long checked; } pc;

static void *producer(void *arg)
{
    pc *p = arg;
    rc_heap *mine = rc_heap_new(NULL);
    for (int r = 0; r < ROUNDS; r++) {
        rc_list *g = rc_list_new(mine, 0);
        for (int i = 0; i <= r * 10; i++) {
            node *x = node_new(mine, i);
            set_a(x, g);   /* every node points back: cycles */
            rc_list_append(g, rc_obj(x));
            rc_decref(x);
        }
        chan_get(&p->to_producer);   /* the consumer released its heap */
        if (rc_heap_acquire(p->consumer) != RC_OK) abort();
        rc_list *c = rc_copy(p->consumer, g);
        rc_heap_release(p->consumer);
        chan_put(&p->to_consumer, c);
        rc_decref(g);
    }
    rc_gc_collect(mine, 2);
    heap_end(mine);
    return NULL;
}

static void *consumer(void *arg)
{
    pc *p = arg;
    for (int r = 0; r < ROUNDS; r++) {
        chan_put(&p->to_producer, NULL);
        rc_list *c = chan_get(&p->to_consumer);
        if (rc_heap_acquire(p->consumer) != RC_OK) abort();
        if (c && rc_list_len(c) == (size_t)r * 10 + 1) {
            node *last = rc_as_obj(rc_list_get(c, (size_t)r * 10));
            if (last->a == c && last->n == r * 10) p->checked++;
        }
        if (c) rc_decref(c);
        rc_gc_collect(p->consumer, 2);
        rc_heap_release(p->consumer);
    }
    return NULL;
}

TEST(producer_thread_copies_graphs_into_a_consumers_heap)
{
    pc p = {.consumer = rc_heap_new(NULL)};
    pthread_mutex_init(&p.to_consumer.mu, NULL);
    pthread_cond_init(&p.to_consumer.cv, NULL);
    pthread_mutex_init(&p.to_producer.mu, NULL);
    pthread_cond_init(&p.to_producer.cv, NULL);
    rc_heap_release(p.consumer);
    pthread_t tp, tc;
    pthread_create(&tp, NULL, producer, &p);
    pthread_create(&tc, NULL, consumer, &p);
    pthread_join(tp, NULL);
    pthread_join(tc, NULL);
    CHECK(p.checked == ROUNDS);
    REQUIRE(rc_heap_acquire(p.consumer) == RC_OK);
    CHECK(live_objects(p.consumer) == 0);
    heap_end(p.consumer);
    pthread_mutex_destroy(&p.to_consumer.mu);
    pthread_cond_destroy(&p.to_consumer.cv);
    pthread_mutex_destroy(&p.to_producer.mu);
    pthread_cond_destroy(&p.to_producer.cv);
}

/* ---- copies out of a frozen region, on several threads at once ---- */

/* Whether c is a whole copy of builtins_graph in heap h (a predicate, for
 * threads: the harness's checks are the main thread's). */
static int builtins_copy_ok(rc_heap *h, rc_list *c)
{
    if (!c || rc_heap_of(c) != h || rc_in_region(c) || rc_list_len(c) != 6) return 0;
    rc_str *s = rc_as_obj(rc_list_get(c, 0));
    rc_tuple *t = rc_as_obj(rc_list_get(c, 2));
    rc_dict *d = rc_as_obj(rc_list_get(c, 3));
    return rc_heap_of(s) == h && rc_str_len(s) == 6 && !memcmp(rc_str_data(s), "shared", 6) &&
           rc_as_obj(rc_list_get(c, 5)) == s && rc_as_obj(rc_list_get(c, 4)) == c &&
           rc_heap_of(t) == h && rc_as_obj(rc_tuple_get(t, 0)) == s && rc_heap_of(d) == h &&
           rc_as_obj(rc_dict_get_str(d, "shared")) == t && RC_HEAD(s)->refcnt == 4 &&
           RC_HEAD(c)->refcnt == 3;
}

enum { THAW_THREADS = 3, THAW_ROUNDS = 200 };
typedef struct thaw { rc_region *region; long good; } thaw;

static void *thaw_many(void *arg)
{
    thaw *t = arg;
    rc_heap *h = rc_heap_new(NULL);
    rc_region_hold(t->region);
    for (int r = 0; r < THAW_ROUNDS; r++) {
        rc_list *c = rc_copy(h, rc_region_root(t->region));
        t->good += builtins_copy_ok(h, c);
        if (c) rc_decref(c);
        if (r % 50 == 0) rc_gc_collect(h, 2);
    }
    rc_region_drop(t->region);
    heap_end(h);
    return NULL;
}

/* A region is read by any number of threads at once, and copying it into a
 * heap ("thawing" it, to change the copy) is reading: rc_copy must write
 * nothing to the region (no mark in its headers, no table from its heap,
 * no error message in it). Threads copying the same region at once each
 * get a whole copy, and TSan sees no write. */
TEST(threads_copy_one_region_at_once_and_it_stays_unwritten)
{
    rc_heap *src = rc_heap_new(NULL);
    void *objs[16];
    size_t n;
    rc_region *r = rc_region_freeze(src, builtins_graph(src, objs, &n));
    REQUIRE(r != NULL);
    rc_list *root = rc_region_root(r);
    /* the region's objects, from its root: root, str, big int, tuple, inner list, dict */
    rc_tuple *t = rc_as_obj(rc_list_get(root, 2));
    void *frozen[] = {root, rc_as_obj(rc_list_get(root, 0)), rc_as_obj(rc_list_get(root, 1)), t,
                      rc_as_obj(rc_tuple_get(t, 1)), rc_as_obj(rc_list_get(root, 3))};
    snap before;
    snap_take(&before, frozen, 6);
    rc_heap *dst = rc_heap_new(NULL);
    rc_list *c = rc_copy(dst, root);
    check_builtins_copy(dst, c);
    CHECK(builtins_copy_ok(dst, c));
    CHECK(snap_same(&before));
    rc_decref(c);
    thaw th[THAW_THREADS];
    pthread_t tid[THAW_THREADS];
    for (int i = 0; i < THAW_THREADS; i++) {
        th[i] = (thaw){r, 0};
        REQUIRE(pthread_create(&tid[i], NULL, thaw_many, &th[i]) == 0);
    }
    for (int i = 0; i < THAW_THREADS; i++) {
        pthread_join(tid[i], NULL);
        CHECK_EQ_INT(th[i].good, THAW_ROUNDS);
    }
    CHECK(snap_same(&before));
    CHECK_EQ_INT(rc_region_holders(r), 1);
    rc_region_drop(r);
    heap_end(dst);
    heap_end(src);
}

/* rc_move takes objects out of their heap: a region's objects never leave
 * it. Refused with RC_EINVAL in dst's error, writing nothing to the region. */
TEST(move_refuses_a_region_object_and_writes_nothing_to_it)
{
    rc_heap *src = rc_heap_new(NULL), *dst = rc_heap_new(NULL);
    void *objs[16];
    size_t n;
    rc_region *r = rc_region_freeze(src, builtins_graph(src, objs, &n));
    REQUIRE(r != NULL);
    rc_list *root = rc_region_root(r);
    snap before;
    void *one[] = {root};
    snap_take(&before, one, 1);
    CHECK(rc_move(dst, root) == NULL);
    CHECK_EQ_INT(rc_heap_error(dst), RC_EINVAL);
    CHECK(strstr(rc_heap_error_message(dst), "region") != NULL);
    CHECK(snap_same(&before));
    CHECK_EQ_INT(rc_region_holders(r), 1);
    rc_region_drop(r);
    heap_end(dst);
    heap_end(src);
}

/* A finalizer that copies its own object into another heap: refused with
 * RC_EBUSY while its heap collects (the headers are the collector's), and
 * equally when it runs at refcount death (a finalizer's user code may not
 * copy its heap's objects: rc_copy marks headers the finalizing free is
 * walking). */
static rc_heap *busy_copy_dst;
static int copy_error_in_finalizer;
static void copying_finalize(void *o)
{
    void *c = rc_copy(busy_copy_dst, o);
    copy_error_in_finalizer = c ? -1 : rc_heap_error(busy_copy_dst);
    if (c) rc_decref(c);
}
static const rc_type copying_fin_type = {.name = "copying_fin", .size = sizeof(node), .nslots = 2,
                                         .finalize = copying_finalize};

TEST(copy_is_refused_from_a_finalizer_of_the_source_heap)
{
    rc_heap *src = rc_heap_new(NULL), *dst = rc_heap_new(NULL);
    busy_copy_dst = dst;
    node *a = rc_new(src, &copying_fin_type);
    REQUIRE(a != NULL);
    set_a(a, a);   /* a garbage cycle: its finalizer runs in a collection */
    rc_decref(a);
    copy_error_in_finalizer = 0;
    rc_gc_collect(src, 2);
    CHECK_EQ_INT(copy_error_in_finalizer, RC_EBUSY);
    CHECK(strstr(rc_heap_error_message(dst), "source heap is collecting") != NULL);
    copy_error_in_finalizer = 0;
    rc_decref(rc_new(src, &copying_fin_type));   /* dies by its count */
    CHECK_EQ_INT(copy_error_in_finalizer, RC_EBUSY);
    CHECK_EQ_INT(live_objects(dst), 0);
    heap_end(dst);
    heap_end(src);
}

RC_TEST_MAIN
