/* test_chain.c -- reference chains on graphs whose answer is known:
 * find_ref_chain, find_backref_chain and why_alive. */
#include "harness.h"
#include "testutil.h"
#include "nodes.h"
#include "failalloc.h"
#include "recycle/builtins.h"
#include "recycle/leak.h"
#include <stdbool.h>
#include <stdlib.h>

NODES_IMPL

static int is_obj(void *obj, void *ud) { return obj == ud; }

/* a -> b -> c -> d, a -> x -> d, d -> a (a cycle back) */
typedef struct diamond {
    node *a, *b, *c, *d, *x;
} diamond;

static diamond make_diamond(rc_heap *h)
{
    diamond g;
    g.a = rc_new(h, &node4_type);
    g.b = rc_new(h, &node4_type);
    g.c = rc_new(h, &node4_type);
    g.d = rc_new(h, &node4_type);
    g.x = rc_new(h, &node4_type);
    node_set(g.a, 0, g.b);
    node_set(g.b, 0, g.c);
    node_set(g.c, 0, g.d);
    node_set(g.a, 3, g.x);
    node_set(g.x, 1, g.d);
    node_set(g.d, 2, g.a);
    return g;
}

static void drop_diamond(diamond g)
{
    rc_decref(g.a);
    rc_decref(g.b);
    rc_decref(g.c);
    rc_decref(g.d);
    rc_decref(g.x);
}

TEST(find_ref_chain_finds_the_shortest_chain_with_its_labels)
{
    rc_heap *h = quiet_heap();
    diamond g = make_diamond(h);
    rc_chain *c = rc_find_ref_chain(g.a, is_obj, g.d, NULL);
    REQUIRE(c);
    CHECK(c->found);
    REQUIRE(c->len == 3);
    CHECK(c->objs[0] == g.a && c->objs[1] == g.x && c->objs[2] == g.d);
    CHECK(!strcmp(c->labels[0], "slot 3") && !strcmp(c->labels[1], "slot 1") && !strcmp(c->labels[2], ""));
    rc_chain_free(c);
    /* Ignoring x forces the long way. */
    void *ignore[] = {g.x};
    rc_chain_opts opts = {.ignore = ignore, .nignore = 1};
    c = rc_find_ref_chain(g.a, is_obj, g.d, &opts);
    REQUIRE(c && c->found && c->len == 4);
    CHECK(c->objs[1] == g.b && c->objs[2] == g.c);
    rc_chain_free(c);
    /* Too deep for max_depth: [a], not found. */
    opts.max_depth = 2;
    c = rc_find_ref_chain(g.a, is_obj, g.d, &opts);
    REQUIRE(c && !c->found && c->len == 1 && c->objs[0] == g.a);
    rc_chain_free(c);
    /* The start itself. */
    c = rc_find_ref_chain(g.a, is_obj, g.a, NULL);
    REQUIRE(c && c->found && c->len == 1);
    rc_chain_free(c);
    CHECK(rc_find_ref_chain(g.a, NULL, NULL, NULL) == NULL && rc_heap_error(h) == RC_EINVAL);
    drop_diamond(g);
    rc_gc_collect(h, 2);
    rc_heap_free(h);
}

TEST(find_backref_chain_walks_referrers_back_to_the_holder)
{
    rc_heap *h = quiet_heap();
    diamond g = make_diamond(h);
    rc_chain *c = rc_find_backref_chain(g.d, is_obj, g.a, NULL);
    REQUIRE(c && c->found && c->len == 3);
    CHECK(c->objs[0] == g.a && c->objs[1] == g.x && c->objs[2] == g.d);
    CHECK(!strcmp(c->labels[0], "slot 3") && !strcmp(c->labels[1], "slot 1"));
    rc_chain_free(c);
    rc_refindex *idx = rc_refindex_build(h);
    rc_chain_opts opts = {.index = idx, .max_depth = 1};
    c = rc_find_backref_chain(g.d, is_obj, g.a, &opts);
    REQUIRE(c && !c->found && c->len == 1 && c->objs[0] == g.d);
    rc_chain_free(c);
    opts.max_depth = 2;
    c = rc_find_backref_chain(g.d, is_obj, g.a, &opts);
    CHECK(c && c->found && c->len == 3);
    rc_chain_free(c);
    rc_refindex_free(idx);
    drop_diamond(g);
    rc_gc_collect(h, 2);
    rc_heap_free(h);
}

TEST(find_backref_chain_goes_through_containers_with_their_keys)
{
    rc_heap *h = quiet_heap();
    rc_dict *d = rc_dict_new(h);
    rc_list *l = rc_list_new(h, 0);
    node *n = rc_new(h, &node2_type);
    rc_list_append(l, rc_int(0));
    rc_list_append(l, rc_obj(n));
    rc_str *key = rc_str_from_cstr(h, "items");
    rc_dict_set(d, rc_obj(key), rc_obj(l));
    rc_decref(key);
    rc_chain *c = rc_find_backref_chain(n, is_obj, d, NULL);
    REQUIRE(c && c->found && c->len == 3);
    CHECK(!strcmp(c->labels[0], "[\"items\"]") && !strcmp(c->labels[1], "[1]"));
    FILE *f = tmpfile();
    CHECK_EQ_INT(rc_chain_print(c, f), 0);
    const char *text = capture(f);
    CHECK(strstr(text, "dict 0x") == text);
    CHECK(strstr(text, "(1 key)\n  -> [\"items\"] -> list 0x") != NULL);
    CHECK(strstr(text, "(2 items)\n  -> [1] -> node2 0x") != NULL);
    rc_chain_free(c);
    rc_decref(n);
    rc_decref(l);
    rc_decref(d);
    rc_heap_free(h);
}

/* The printed chain passes valid UTF-8 through and escapes what is not:
 * an overlong form (E0 80 80) and a surrogate (ED A0 80) as \xNN bytes. */
TEST(chain_print_escapes_overlong_forms_and_surrogates)
{
    rc_heap *h = quiet_heap();
    rc_dict *d = rc_dict_new(h);
    node *n = rc_new(h, &node2_type);
    rc_str *key = rc_str_from_cstr(h, "k\xE0\x80\x80|\xED\xA0\x80|\xC3\xA9");
    rc_dict_set(d, rc_obj(key), rc_obj(n));
    rc_decref(key);
    rc_chain *c = rc_find_backref_chain(n, is_obj, d, NULL);
    REQUIRE(c && c->found && c->len == 2);
    FILE *f = tmpfile();
    CHECK_EQ_INT(rc_chain_print(c, f), 0);
    const char *text = capture(f);
    CHECK(strstr(text, "\\xE0\\x80\\x80|") != NULL);
    CHECK(strstr(text, "\\xED\\xA0\\x80|") != NULL);
    CHECK(strstr(text, "|\xC3\xA9") != NULL);
    rc_chain_free(c);
    rc_decref(n);
    rc_decref(d);
    rc_heap_free(h);
}

/* The leak of the issue: a cache dict held by C code keeps a list that
 * keeps records nobody wants any more. */
TEST(why_alive_names_the_outside_holder_and_the_chain_to_it)
{
    rc_heap *h = quiet_heap();
    rc_dict *cache = rc_dict_new(h);   /* held by us: the "global" */
    rc_list *entries = rc_list_new(h, 0);
    rc_str *key = rc_str_from_cstr(h, "entries");
    rc_dict_set(cache, rc_obj(key), rc_obj(entries));
    rc_decref(key);
    rc_decref(entries);
    node *rec = NULL;
    for (int i = 0; i < 5; i++) {
        node *r = rc_new(h, &node2_type);
        rc_list_append(entries, rc_obj(r));
        if (i == 3) rec = r;
        else rc_decref(r);
    }
    rc_decref(rec);   /* rec is held by the list alone now */
    FILE *f = tmpfile();
    rc_chain *c = rc_why_alive(rec, f, NULL);
    REQUIRE(c && c->found);
    REQUIRE(c->len == 3);
    CHECK(c->objs[0] == cache && c->objs[1] == entries && c->objs[2] == rec);
    CHECK_EQ_INT(c->holder_refs, 1);
    CHECK_EQ_INT(c->target_refs, 0);
    CHECK(!strcmp(c->labels[0], "[\"entries\"]") && !strcmp(c->labels[1], "[3]"));
    const char *text = capture(f);
    CHECK(strstr(text, "why is node2 0x") == text);
    CHECK(strstr(text, "  dict 0x") != NULL);
    CHECK(strstr(text, "(1 key) is held from outside the heap: 1 reference (refcount 1, 0 from the heap)\n") != NULL);
    CHECK(strstr(text, "  -> [\"entries\"] -> list 0x") != NULL);
    CHECK(strstr(text, "  -> [3] -> node2 0x") != NULL);
    CHECK(strstr(text, " (this object)\n") != NULL);
    rc_chain_free(c);
    /* Holding the object ourselves does not hide the rest. */
    rc_incref(rec);
    f = tmpfile();
    c = rc_why_alive(rec, f, NULL);
    REQUIRE(c && c->found && c->len == 3);
    CHECK_EQ_INT(c->target_refs, 1);
    text = capture(f);
    CHECK(strstr(text, "it is held from outside the heap itself: 1 reference (refcount 2, 1 from the heap); "
                       "and through the heap:\n") != NULL);
    rc_chain_free(c);
    rc_decref(rec);
    rc_decref(cache);
    rc_heap_free(h);
}

TEST(why_alive_says_when_only_outside_references_or_garbage_keep_it)
{
    rc_heap *h = quiet_heap();
    node *alone = rc_new(h, &node2_type);
    FILE *f = tmpfile();
    rc_chain *c = rc_why_alive(alone, f, NULL);
    REQUIRE(c && !c->found && c->len == 1 && c->target_refs == 1);
    CHECK(strstr(capture(f), "only those outside references keep it") != NULL);
    rc_chain_free(c);
    rc_decref(alone);
    node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
    node_set(a, 0, b);
    node_set(b, 0, a);
    rc_decref(b);
    f = tmpfile();
    c = rc_why_alive(b, f, NULL);   /* b is borrowed: a still holds it */
    REQUIRE(c && c->found && c->len == 2 && c->objs[0] == a);
    rc_chain_free(c);
    fclose(f);
    rc_incref(b);
    rc_decref(a);   /* a and b now only hold each other, plus our b */
    rc_decref(b);
    f = tmpfile();
    c = rc_why_alive(b, f, NULL);
    REQUIRE(c && !c->found && c->target_refs == 0);
    CHECK(strstr(capture(f), "it is garbage (a cycle) that the next full collection frees") != NULL);
    rc_chain_free(c);
    CHECK_EQ_INT(rc_gc_collect(h, 2), 2);
    rc_heap_free(h);
}

TEST(why_alive_follows_a_chain_of_a_hundred_thousand_objects)
{
    rc_heap *h = quiet_heap();
    long n = getenv("RC_TEST_QUICK") ? 10000 : 100000;
    node *head = rc_new(h, &node2_type), *cur = head;
    for (long i = 1; i < n; i++) {
        node *next = rc_new(h, &node2_type);
        cur->slot[1] = next;   /* cur takes our reference */
        cur = next;
    }
    rc_chain *c = rc_why_alive(cur, NULL, NULL);
    REQUIRE(c && c->found);
    CHECK_EQ_INT(c->len, n);
    CHECK(c->objs[0] == head && c->objs[n - 1] == cur);
    CHECK(!strcmp(c->labels[n / 2], "slot 1"));
    rc_chain_free(c);
    rc_chain_opts opts = {.max_depth = 10};
    c = rc_why_alive(cur, NULL, &opts);
    CHECK(c && !c->found);
    rc_chain_free(c);
    rc_decref(head);
    CHECK_EQ_INT(rc_count(h, "node2"), 0);
    rc_heap_free(h);
}

/* The chain's objects: each refers to the next. */
static bool linked(const rc_chain *c)
{
    for (size_t i = 0; i + 1 < c->len; i++)
        if (!c->labels[i][0]) return false;   /* no reference between them */
    return true;
}

TEST(why_alive_with_a_given_index_or_its_own_finds_the_same_shortest_chains)
{
    unsigned runs = getenv("RC_TEST_QUICK") ? 30 : 300;
    for (unsigned seed = 1; seed <= runs && !rc_test_failed_; seed++) {
        srand(seed);
        rc_heap *h = quiet_heap();
        enum { N = 40 };
        node *objs[N];
        for (int i = 0; i < N; i++) objs[i] = rc_new(h, &node4_type);
        for (int e = 0; e < 60; e++) node_set(objs[rand() % N], rand() % 4, objs[rand() % N]);
        bool held[N];
        for (int i = 0; i < N; i++) held[i] = rand() % 8 == 0;
        for (int i = 0; i < N; i++) rc_incref(objs[i]);   /* keep every block alive while we look */
        for (int i = 0; i < N; i++) rc_decref(objs[i]);
        for (int i = 0; i < N; i++)
            if (!held[i]) rc_decref(objs[i]);   /* some die, some stay held by others or by cycles */
        rc_list *live = rc_by_type(h, "node4");
        size_t nlive = rc_list_len(live);
        void *alive[N];
        for (size_t i = 0; i < nlive; i++) alive[i] = rc_as_obj(rc_list_get(live, i));
        rc_decref(live);
        rc_refindex *idx = rc_refindex_build(h);
        rc_chain_opts with = {.index = idx};
        for (size_t i = 0; i < nlive; i++) {
            rc_chain *a = rc_why_alive(alive[i], NULL, NULL), *b = rc_why_alive(alive[i], NULL, &with);
            REQUIRE(a && b);
            CHECK_EQ_INT(a->found, b->found);
            CHECK_EQ_INT(a->len, b->len);
            CHECK_EQ_INT(a->target_refs, b->target_refs);
            CHECK(a->objs[a->len - 1] == alive[i] && b->objs[b->len - 1] == alive[i]);
            if (a->found) {
                CHECK(a->holder_refs > 0 && b->holder_refs > 0);
                CHECK(rc_external_refs(a->objs[0]) == a->holder_refs);
                CHECK(linked(a) && linked(b));
            }
            rc_chain_free(a);
            rc_chain_free(b);
        }
        rc_refindex_free(idx);
        for (int i = 0; i < N; i++)
            if (held[i]) rc_decref(objs[i]);
        rc_gc_collect(h, 2);
        rc_heap_free(h);
    }
}

TEST(chain_calls_fail_cleanly_when_memory_runs_out)
{
    rc_heap *h = fa_heap_new();
    rc_gc_disable(h);
    diamond g = make_diamond(h);
    rc_decref(g.b);
    rc_decref(g.c);
    rc_decref(g.x);
    rc_decref(g.d);   /* only a is held from outside */
    int ok = 0;
    for (long k = 0; k < 200 && ok < 2; k++) {
        fa_arm(k);
        rc_chain *c = rc_why_alive(g.d, NULL, NULL);
        rc_chain *c2 = rc_find_ref_chain(g.a, is_obj, g.d, NULL);
        fa_disarm();
        ok = (c != NULL) + (c2 != NULL);
        if (!c || !c2) CHECK_EQ_INT(rc_heap_error(h), RC_ENOMEM);
        if (c) CHECK(c->found && c->len == 3);
        rc_chain_free(c);
        rc_chain_free(c2);
    }
    CHECK_EQ_INT(ok, 2);
    rc_decref(g.a);
    rc_gc_collect(h, 2);
    rc_heap_free(h);
}

RC_TEST_MAIN
