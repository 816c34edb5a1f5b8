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
#ifdef RC_DEBUG
#define LIB_DEBUG 1
#else
#define LIB_DEBUG 0
#define RC_DEBUG 1
#endif
#include "harness.h"
#include "recycle.h"
#include "recycle/builtins.h"
#include "recycle/gc.h"
#include "recycle/weakref.h"
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
    int ok = rc_heap_error(h) == code && strstr(msg, want) && strstr(msg, "frozen region");
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
            CHECK(heap_refused(h, RC_EINVAL, "rc_weakdict_set: the value"));
            CHECK_EQ_INT(rc_weakkeydict_set(wk, rc_obj(o), rc_int(1)), -1);
            CHECK(heap_refused(h, RC_EINVAL, "rc_weakkeydict_set: the key"));
            CHECK_EQ_INT(rc_weakset_add(ws, rc_obj(o)), -1);
            CHECK(heap_refused(h, RC_EINVAL, "rc_weakset_add: the key"));
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

RC_TEST_MAIN
