/* test_verify.c -- rc_heap_check finds the reference bugs of a program and
 * any broken invariant of the collector's books; RC_EXPENSIVE builds stop
 * at a collection that would start on a broken heap. */
#include "harness.h"
#include "core/internal.h"
#include "nodes.h"
#include "recycle/builtins.h"
#include "recycle/gc.h"
#include "testutil.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

NODES_IMPL

/* What rc_heap_check printed and returned. */
static long check_text(rc_heap *h, char **text)
{
    FILE *f = tmpfile();
    long n = rc_heap_check(h, f);
    *text = capture(f);
    return n;
}

/* A heap with a bit of everything: lists, dicts, strings, tuples, cycles,
 * old objects, buffered candidates, frozen and untracked objects. */
static rc_heap *busy_heap(rc_list **keep)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_list *l = rc_list_new(h, 0);
    for (int i = 0; i < 300; i++) {
        node *a = rc_new(h, &node2_type), *b = rc_new(h, &cbnode_type);
        node_set(a, 0, b);
        node_set(b, 0, a);
        if (i % 3 == 0) rc_list_append(l, rc_obj(a));
        rc_decref(a);
        rc_decref(b);
        rc_str *s = rc_str_new(h, "k", 1);
        rc_dict *d = rc_dict_new(h);
        rc_dict_set(d, rc_obj(s), rc_int(i));
        rc_list_append(l, rc_obj(d));
        rc_decref(s);
        rc_decref(d);
    }
    rc_gc_collect(h, 2);   /* old now */
    /* drop some old references: candidates in the buffer */
    for (int i = 0; i < 50; i++) rc_list_pop(l, -1, NULL);
    rc_list *frozen = rc_list_new(h, 0);
    rc_gc_freeze(h);
    rc_list *untracked = rc_list_new(h, 0);
    rc_gc_untrack(untracked);
    rc_list_append(l, rc_obj(frozen));
    rc_list_append(l, rc_obj(untracked));
    rc_decref(frozen);
    rc_decref(untracked);
    node *young = rc_new(h, &node4_type);
    rc_list_append(l, rc_obj(young));
    rc_decref(young);
    *keep = l;
    return h;
}

TEST(a_healthy_heap_has_no_problem_and_says_nothing)
{
    rc_list *l;
    rc_heap *h = busy_heap(&l);
    char *text;
    CHECK_EQ_INT(check_text(h, &text), 0);
    CHECK_EQ_INT(strlen(text), 0);
    rc_decref(l);
    CHECK_EQ_INT(rc_heap_check(h, NULL), 0);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(rc_heap_check(h, NULL), 0);
    rc_heap_free(h);
}

TEST(an_empty_heap_is_healthy)
{
    rc_heap *h = rc_heap_new(NULL);
    CHECK_EQ_INT(rc_heap_check(h, NULL), 0);
    rc_heap_free(h);
}

TEST(a_null_heap_is_refused)
{
    CHECK_EQ_INT(rc_heap_check(NULL, NULL), -1);
}

TEST(a_missing_incref_is_reported_with_the_object_its_count_and_its_referrers)
{
    rc_heap *h = rc_heap_new(NULL);
    node *x = rc_new(h, &leaf_type);
    node *p = rc_new(h, &node2_type), *q = rc_new(h, &cbnode_type);
    p->slot[0] = x;
    rc_incref(x);    /* p's reference, counted */
    q->slot[1] = x;  /* q's reference: the rc_incref forgotten */
    rc_decref(x);    /* the program lets go of its own: count 1, two referrers */
    char *text;
    CHECK_EQ_INT(check_text(h, &text), 1);
    char want[160];
    snprintf(want, sizeof want, "'leaf' object at %p has refcount 1 but 2 references", (void *)x);
    CHECK(strstr(text, want) != NULL);
    CHECK(strstr(text, "one rc_incref too few") != NULL);
    snprintf(want, sizeof want, "'node2' %p", (void *)p);
    CHECK(strstr(text, want) != NULL);
    snprintf(want, sizeof want, "'cbnode' %p", (void *)q);
    CHECK(strstr(text, want) != NULL);
    if (rc_test_failed_) fprintf(stderr, "%s", text);
    q->slot[1] = NULL;   /* repaired */
    CHECK_EQ_INT(rc_heap_check(h, NULL), 0);
    rc_decref(p);
    rc_decref(q);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(an_object_referenced_twice_by_one_holder_counts_twice)
{
    rc_heap *h = rc_heap_new(NULL);
    node *x = rc_new(h, &leaf_type), *p = rc_new(h, &node2_type);
    p->slot[0] = x;
    p->slot[1] = x;   /* two references, one count */
    char *text;
    CHECK_EQ_INT(check_text(h, &text), 1);
    CHECK(strstr(text, "(2 times)") != NULL);
    p->slot[1] = NULL;
    rc_decref(p);
    rc_heap_free(h);
}

TEST(a_slot_pointing_at_a_freed_object_is_reported)
{
    rc_heap *h = rc_heap_new(NULL);
    node *keep = rc_new(h, &leaf_type);   /* keeps the page in use */
    node *x = rc_new(h, &leaf_type), *p = rc_new(h, &node2_type);
    p->slot[0] = x;   /* not counted */
    rc_decref(x);     /* freed while p still points at it */
    char *text;
    CHECK(check_text(h, &text) >= 1);
    CHECK(strstr(text, "a freed block (last type 'leaf')") != NULL);
    CHECK(strstr(text, "'node2' object at") != NULL);
    p->slot[0] = NULL;
    rc_decref(p);
    rc_decref(keep);
    rc_heap_free(h);
}

TEST(a_reference_into_another_heap_is_reported)
{
    rc_heap *h = rc_heap_new(NULL), *other = rc_heap_new(NULL);
    node *x = rc_new(other, &leaf_type), *p = rc_new(h, &node2_type);
    p->slot[0] = x;
    char *text;
    CHECK_EQ_INT(check_text(h, &text), 1);
    CHECK(strstr(text, "of another heap") != NULL);
    p->slot[0] = NULL;
    rc_decref(p);
    rc_decref(x);
    rc_heap_free(h);
    rc_heap_free(other);
}

TEST(a_stray_pointer_in_a_slot_is_reported)
{
    rc_heap *h = rc_heap_new(NULL);
    static char not_an_object[64];
    node *p = rc_new(h, &node2_type), *q = rc_new(h, &node2_type);
    p->slot[0] = not_an_object + 16;
    q->slot[0] = (char *)p + 8;   /* inside an object of the heap */
    char *text;
    CHECK_EQ_INT(check_text(h, &text), 2);
    CHECK(strstr(text, "not an object of any heap") != NULL);
    CHECK(strstr(text, "not at an object") != NULL);
    p->slot[0] = q->slot[0] = NULL;
    rc_decref(p);
    rc_decref(q);
    rc_heap_free(h);
}

TEST(scratch_state_left_in_a_header_is_reported)
{
    rc_heap *h = rc_heap_new(NULL);
    node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type), *c = rc_new(h, &node2_type);
    RC_HEAD(a)->gc |= RC__INSET;
    rc__set_field(RC_HEAD(b), 3);
    rc__set_marked(h, RC_HEAD(c));
    char *text;
    CHECK_EQ_INT(check_text(h, &text), 3);
    CHECK(strstr(text, "INSET outside a collection") != NULL);
    CHECK(strstr(text, "scratch count 3") != NULL);
    CHECK(strstr(text, "marked outside a collection") != NULL);
    RC_HEAD(a)->gc &= ~RC__INSET;
    rc__set_field(RC_HEAD(b), 0);
    RC_HEAD(c)->gc = (RC_HEAD(c)->gc & ~RC__MARK) | h->mark_flip;
    CHECK_EQ_INT(rc_heap_check(h, NULL), 0);
    rc_decref(a);
    rc_decref(b);
    rc_decref(c);
    rc_heap_free(h);
}

TEST(broken_books_are_reported)
{
    rc_heap *h = rc_heap_new(NULL);
    node *a = rc_new(h, &node2_type);
    char *text;
    /* generation counts */
    h->gen_objects[0]++;
    CHECK_EQ_INT(check_text(h, &text), 1);
    CHECK(strstr(text, "generation 0 holds 1 tracked objects but the heap counts 2") != NULL);
    h->gen_objects[0]--;
    /* a young object whose page is not on the young list */
    rc_page *pg = rc__page_of(RC_HEAD(a));
    rc__young_remove(h, pg, 0);
    CHECK_EQ_INT(check_text(h, &text), 1);
    CHECK(strstr(text, "young collections will not see it") != NULL);
    rc__young_add(h, pg, 0);
    /* a page's used count */
    pg->used++;
    CHECK(check_text(h, &text) >= 1);
    CHECK(strstr(text, "counts 2 blocks in use, but 1 hold objects") != NULL);
    pg->used--;
    /* a buffered object of generation 0 */
    RC_HEAD(a)->gc |= RC__BUFFERED;
    CHECK(check_text(h, &text) >= 1);
    CHECK(strstr(text, "in the candidate buffer but is not of generation 2") != NULL);
    RC_HEAD(a)->gc &= ~RC__BUFFERED;
    CHECK_EQ_INT(rc_heap_check(h, NULL), 0);
    rc_decref(a);
    rc_heap_free(h);
}

TEST(a_live_object_on_a_free_list_is_reported)
{
    rc_heap *h = rc_heap_new(NULL);
    node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
    rc_decref(b);   /* b's block heads the free list */
    rc_page *pg = rc__page_of(RC_HEAD(a));
    rc_head *saved = pg->free;
    rc__free_link(RC_HEAD(a), saved);
    pg->free = RC_HEAD(a);   /* a handed out again while alive */
    char *text;
    CHECK(check_text(h, &text) >= 1);
    CHECK(strstr(text, "on its page's free list but has refcount 1") != NULL);
    pg->free = saved;
    a->slot[0] = NULL;
    CHECK_EQ_INT(rc_heap_check(h, NULL), 0);
    rc_decref(a);
    rc_heap_free(h);
}

TEST(a_free_block_with_a_gc_word_is_reported_where_nobody_watches)
{
    rc_heap *h = rc_heap_new(NULL);
    node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
    rc_decref(b);   /* b's block is free */
    rc_head *fb = RC_HEAD(b);
    rc_page *pg = rc__page_of(fb);
    if (!(pg->flags & RC_PAGE_WATCH)) {
        /* A gc word left in a free block: a collection that reads only that
         * word would take the block for a tracked object. */
        CHECK_EQ_INT(fb->refcnt, 0);
        CHECK_EQ_INT(fb->gc, 0);
        fb->gc = RC__TRACKED;
        char *text;
        CHECK(check_text(h, &text) >= 1);
        CHECK(strstr(text, "has gc word 0x") != NULL);
        fb->gc = 0;
    }
    /* A watched page (ASan, valgrind, malloc mode) closes free blocks past
     * their refcount, and collections look at refcnt first there. */
    CHECK_EQ_INT(rc_heap_check(h, NULL), 0);
    rc_decref(a);
    rc_heap_free(h);
}

/* ---- when it may run ---- */

static long from_callback = -2;
static void check_in_callback(rc_heap *h, int phase, const rc_gc_info *info, void *ud)
{
    (void)info, (void)ud;
    if (phase == RC_GC_START) from_callback = rc_heap_check(h, stderr);
}

TEST(it_works_from_a_gc_callback)
{
    rc_list *l;
    rc_heap *h = busy_heap(&l);
    rc_gc_callback_add(h, check_in_callback, NULL);
    rc_gc_collect(h, 2);
    CHECK_EQ_INT(from_callback, 0);
    rc_decref(l);
    rc_heap_free(h);
}

static rc_heap *destroy_heap;
static long from_destroy = -2;
static int destroy_err;
static void check_in_destroy(void *obj)
{
    (void)obj;
    from_destroy = rc_heap_check(destroy_heap, stderr);
    destroy_err = rc_heap_error(destroy_heap);
}
static const rc_type checking_type = {.name = "checking", .size = sizeof(node), .nslots = 2,
                                      .destroy = check_in_destroy};

TEST(it_refuses_while_objects_are_being_freed)
{
    rc_heap *h = destroy_heap = rc_heap_new(NULL);
    node *a = rc_new(h, &node2_type), *b = rc_new(h, &checking_type);
    node_set(a, 0, b);
    rc_decref(b);
    rc_decref(a);   /* b dies inside a's free: pending links in headers */
    CHECK_EQ_INT(from_destroy, -1);
    CHECK_EQ_INT(destroy_err, RC_EBUSY);
    rc_heap_free(h);
}

static long from_finalizer = -2;
static rc_heap *fin_heap;
static void check_in_finalizer(void *obj)
{
    (void)obj;
    from_finalizer = rc_heap_check(fin_heap, stderr);
}
static const rc_type fin_type = {.name = "fin", .size = sizeof(node), .nslots = 2,
                                 .finalize = check_in_finalizer};

TEST(it_works_from_a_finalizer_run_by_a_collection)
{
    rc_heap *h = fin_heap = rc_heap_new(NULL);
    node *a = rc_new(h, &fin_type), *b = rc_new(h, &node2_type);
    node_set(a, 0, b);
    node_set(b, 0, a);
    rc_decref(a);
    rc_decref(b);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2);
    CHECK_EQ_INT(from_finalizer, 0);
    rc_heap_free(h);
}

/* A clear callback that checks the heap now and then while a full
 * collection deletes its garbage: garbage not reached yet, or not freed
 * yet in its chunk, is flagged but not settled, which is no problem of the
 * heap's. */
static long clear_checks, clear_worst;
static int clear_calls;
static rc_heap *clear_heap;
static void clear_checking(void *obj)
{
    node *n = obj;
    if (clear_calls++ % 97 == 0) {
        long r = rc_heap_check(clear_heap, stderr);
        clear_checks++;
        if (r) clear_worst = r;
    }
    for (int i = 0; i < 2; i++) node_set(n, i, NULL);
}
static void clear_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    node *n = obj;
    for (int i = 0; i < 2; i++)
        if (n->slot[i]) visit(n->slot[i], arg);
}
static const rc_type clearing_type = {.name = "clearing", .size = sizeof(node),
                                      .traverse = clear_traverse, .clear = clear_checking};

TEST(it_works_from_a_clear_run_by_a_full_collection)
{
    rc_heap *h = clear_heap = quiet_heap();
    /* Young garbage cycles, of a type with clear, collected by a full
     * collection: each clear checks the heap. */
    enum { N = 3000 };
    for (int i = 0; i < N; i++) {
        node *a = rc_new(h, &clearing_type), *b = rc_new(h, &clearing_type);
        REQUIRE(a && b);
        node_set(a, 0, b);
        node_set(b, 0, a);
        rc_decref(a);
        rc_decref(b);
    }
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2 * N);
    CHECK(clear_checks > 0);
    CHECK_EQ_INT(clear_worst, 0);
    CHECK_EQ_INT(live_objects(h), 0);
    rc_heap_free(h);
}

TEST(checking_changes_no_count_and_no_error)
{
    rc_list *l;
    rc_heap *h = busy_heap(&l);
    rc_heap_stats before, after;
    rc_heap_get_stats(h, &before);
    size_t c0[3], c1[3];
    rc_gc_get_count(h, c0);
    rc_heap_clear_error(h);
    CHECK_EQ_INT(rc_heap_check(h, NULL), 0);
    rc_heap_get_stats(h, &after);
    rc_gc_get_count(h, c1);
    CHECK(memcmp(&before, &after, sizeof before) == 0);
    CHECK(memcmp(c0, c1, sizeof c0) == 0);
    CHECK_EQ_INT(rc_heap_error(h), RC_OK);
    rc_decref(l);
    rc_heap_free(h);
}

/* ---- RC_EXPENSIVE ---- */

static void collect_with_a_missing_incref(void)
{
    rc_heap *h = rc_heap_new(NULL);
    node *x = rc_new(h, &leaf_type), *p = rc_new(h, &node2_type), *q = rc_new(h, &node2_type);
    node_set(p, 0, x);
    q->slot[0] = x;   /* forgotten rc_incref */
    rc_decref(x);
    rc_gc_collect(h, 0);
}

TEST(expensive_builds_stop_at_a_collection_of_a_broken_heap)
{
    char buf[4096];
    int status = child_stderr(collect_with_a_missing_incref, buf, sizeof buf);
#ifdef RC_EXPENSIVE
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    CHECK(strstr(buf, "heap check before a collection found 1 problem") != NULL);
    CHECK(strstr(buf, "'leaf' object at") != NULL);
#else
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);   /* nothing checks */
#endif
    if (rc_test_failed_) fprintf(stderr, "  child said: %s\n", buf);
}

RC_TEST_MAIN
