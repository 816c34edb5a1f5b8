/* test_graph.c -- pictures: show_refs, show_backrefs and show_chain write
 * DOT that Graphviz accepts (checked with `dot -Tcanon`), with objgraph's
 * options and labels that no string can break. Tests that need Graphviz
 * SKIP without it (CTest shows the file as skipped); CI installs it and sets
 * RC_REQUIRE_TOOLS=1, which turns a missing `dot` into a failure. */
#include "harness.h"
#include "testutil.h"
#include "nodes.h"
#include "recycle/builtins.h"
#include "recycle/leak.h"
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

NODES_IMPL

/* Run `dot -Tcanon` on a file: whether Graphviz parsed it. */
static bool dot_accepts(const char *path)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "dot -Tcanon '%s' > '%s.canon' 2> '%s.err'", path, path, path);
    int st = system(cmd);
    if (st != 0) {
        snprintf(cmd, sizeof cmd, "cat '%s.err' >&2", path);
        if (system(cmd)) {}
    }
    return st == 0;
}

TEST(show_refs_draws_objects_references_and_labels)
{
    rc_heap *h = quiet_heap();
    rc_list *l = rc_list_new(h, 0);
    rc_dict *d = rc_dict_new(h);
    rc_str *k = rc_str_from_cstr(h, "key");
    node *n = rc_new(h, &node2_type);
    rc_list_append(l, rc_obj(d));
    rc_list_append(l, rc_obj(n));
    rc_dict_set(d, rc_obj(k), rc_obj(n));
    void *objs[] = {l};
    char *dot = dot_of(rc_show_refs, objs, 1, (rc_graph_opts){0});
    REQUIRE(dot);
    CHECK(strstr(dot, "digraph ObjectGraph {\n") == dot);
    CHECK(strstr(dot, "o0 [label=\"list\\n[<dict>, <node2>]\"") != NULL);
    CHECK(strstr(dot, "[label=\"dict\\n1 key\"") != NULL);
    CHECK(strstr(dot, "[label=\"str\\n\\\"key\\\"\"") != NULL);
    CHECK(strstr(dot, "[label=\"node2\"") != NULL);
    CHECK(strstr(dot, "o0 -> o1 [label=\"[0]\"];") != NULL);
    CHECK(strstr(dot, "-> o3 [label=\"[\\\"key\\\"]\"];") != NULL || strstr(dot, "[label=\"[\\\"key\\\"]\"]") != NULL);
    CHECK_EQ_INT(count_of(dot, "[label=\"node2\""), 1);   /* one node per object */
    CHECK(dot[strlen(dot) - 2] == '}');
    /* max_depth 1: the list and its two items only. */
    dot = dot_of(rc_show_refs, objs, 1, (rc_graph_opts){.max_depth = 1});
    CHECK_EQ_INT(count_of(dot, "[label="), 5);   /* 3 nodes, 2 edges */
    CHECK(strstr(dot, "label=\"str") == NULL);
    rc_decref(k);
    rc_decref(n);
    rc_decref(d);
    rc_decref(l);
    rc_heap_free(h);
}

static const char *name_ab(void *obj, void *ud)
{
    void **ab = ud;
    return obj == ab[0] ? "a" : obj == ab[1] ? "b \"quoted\"" : NULL;
}

TEST(short_lists_and_tuples_show_their_items_and_named_objects_their_names)
{
    rc_heap *h = quiet_heap();
    rc_list *a = rc_list_new(h, 0), *b = rc_list_new(h, 0), *big = rc_list_new(h, 0);
    rc_str *s = rc_str_from_cstr(h, "s");
    for (int i = 1; i <= 3; i++) rc_list_append(a, rc_int(i));
    rc_list_append(a, rc_obj(b));
    rc_list_append(b, rc_float(1.5));
    rc_list_append(b, RC_NONE);
    rc_list_append(b, rc_obj(s));
    rc_val boxed = rc_int_new(h, INT64_MAX);
    rc_list_append(b, boxed);
    rc_val_decref(boxed);
    rc_list_append(b, rc_obj(big));
    for (int i = 0; i < 9; i++) rc_list_append(big, rc_int(i));   /* past LK_ITEMS_SHOWN */
    rc_tuple *one = rc_tuple_new(h, 1, NULL);
    rc_tuple_set(one, 0, rc_int(7));
    rc_list_append(b, rc_obj(one));
    rc_decref(one);
    void *objs[] = {a}, *ab[] = {a, b};
    char *dot = dot_of(rc_show_refs, objs, 1, (rc_graph_opts){.name = name_ab, .ud = ab});
    REQUIRE(dot);
    CHECK(strstr(dot, "[label=\"a: list\\n[1, 2, 3, <list>]\"") != NULL);
    CHECK(strstr(dot, "[label=\"b \\\"quoted\\\": list\\n[1.5, none, \\\"s\\\", "
                      "9223372036854775807, <list>, <tuple>]\"") != NULL);
    CHECK(strstr(dot, "[label=\"list\\n9 items\"") != NULL);     /* too long: the count */
    CHECK(strstr(dot, "[label=\"tuple\\n(7,)\"") != NULL);
    /* without the option: no names */
    dot = dot_of(rc_show_refs, objs, 1, (rc_graph_opts){0});
    CHECK(strstr(dot, "a: ") == NULL);
    rc_decref(s);
    rc_decref(big);
    rc_decref(b);
    rc_decref(a);
    rc_heap_free(h);
}

TEST(too_many_neighbours_end_in_an_n_more_node)
{
    rc_heap *h = quiet_heap();
    rc_list *l = rc_list_new(h, 0);
    node *n = rc_new(h, &node2_type);
    for (int i = 0; i < 25; i++) {
        node *x = rc_new(h, &node2_type);
        rc_list_append(l, rc_obj(x));
        node_set(x, 0, n);
        rc_decref(x);
    }
    void *objs[] = {l};
    char *dot = dot_of(rc_show_refs, objs, 1, (rc_graph_opts){.max_depth = 1});
    REQUIRE(dot);
    CHECK(strstr(dot, "too_many_0 [label=\"15 more references\"") != NULL);
    CHECK(strstr(dot, "o0 -> too_many_0;") != NULL);
    CHECK_EQ_INT(count_of(dot, "[label=\"node2\""), 10);
    void *back[] = {n};
    dot = dot_of(rc_show_backrefs, back, 1, (rc_graph_opts){.max_depth = 1, .too_many = 5});
    REQUIRE(dot);
    CHECK(strstr(dot, "[label=\"20 more referrers\"") != NULL);
    CHECK(strstr(dot, "too_many_0 -> o0;") != NULL);
    CHECK(strstr(dot, "-> o0 [label=\"slot 0\"];") != NULL);
    rc_decref(n);
    rc_decref(l);
    rc_heap_free(h);
}

static int only_lists(void *obj, void *ud)
{
    (void)ud;
    return rc_typeof(obj) != &node4_type;
}

static int is_d(void *obj, void *ud) { return rc_typeof(obj) == &rc_dict_type && ud; }

static void info(void *obj, char *buf, size_t size, void *ud)
{
    (void)ud;
    snprintf(buf, size, "size %zu", rc_self_size(obj));
}

static void attrs(void *obj, rc_dot_attr_fn add, void *ctx, void *ud)
{
    (void)ud;
    if (rc_typeof(obj) == &rc_dict_type) add(ctx, "color", "blue\" bad");
}

TEST(backrefs_honour_filter_highlight_extra_info_attrs_refcounts_and_ignore)
{
    rc_heap *h = quiet_heap();
    node *target = rc_new(h, &node2_type);
    rc_list *l = rc_list_new(h, 0);
    rc_dict *d = rc_dict_new(h);
    node *other = rc_new(h, &node4_type);
    rc_list_append(l, rc_obj(target));
    rc_dict_set(d, rc_int(1), rc_obj(target));
    node_set(other, 2, target);
    rc_tuple *holder = rc_tuple_new(h, 1, NULL);
    rc_tuple_set(holder, 0, rc_obj(l));
    void *objs[] = {target};
    rc_refindex *idx = rc_refindex_build(h);
    rc_graph_opts opts = {.filter = only_lists, .highlight = is_d, .extra_info = info, .node_attrs = attrs,
                          .ud = (void *)1, .refcounts = 1, .index = idx};
    char *dot = dot_of(rc_show_backrefs, objs, 1, opts);
    REQUIRE(dot);
    CHECK(strstr(dot, "node4") == NULL);   /* filtered out */
    CHECK(strstr(dot, "[label=\"list\\n[<node2>]\\nrefcount 2, 1 from outside\\nsize ") != NULL);
    CHECK(strstr(dot, "[label=\"tuple\\n(<list>,)\\nrefcount 1, 1 from outside") != NULL);
    CHECK(strstr(dot, "fillcolor=\"0.15,0.7,1\", \"color\"=\"blue\\\" bad\"") != NULL);
    CHECK(strstr(dot, "[label=\"[1]\"]") != NULL);   /* the dict's value for key 1 */
    void *ignore[] = {l};
    opts.ignore = ignore;
    opts.nignore = 1;
    dot = dot_of(rc_show_backrefs, objs, 1, opts);
    CHECK(strstr(dot, "label=\"list") == NULL && strstr(dot, "label=\"tuple") == NULL);
    rc_refindex_free(idx);
    /* The same without an index: one is built for the call. */
    opts.index = NULL;
    opts.ignore = NULL;
    dot = dot_of(rc_show_backrefs, objs, 1, opts);
    CHECK(dot && strstr(dot, "label=\"tuple") != NULL);
    rc_decref(holder);
    rc_decref(l);
    rc_decref(d);
    rc_decref(other);
    rc_decref(target);
    rc_heap_free(h);
}

/* A type whose name needs escaping. */
static const rc_type nasty_type = {.name = "we\"ird\\ty\npe", .size = sizeof(node), .nslots = 2};

static void nasty_info(void *obj, char *buf, size_t size, void *ud)
{
    (void)obj;
    (void)ud;
    snprintf(buf, size, "%s", "info \"\\\n\x01\xff\xc3\xa9 }];");
}

TEST(labels_with_quotes_backslashes_newlines_and_odd_bytes_stay_valid_dot)
{
    rc_heap *h = quiet_heap();
    rc_dict *d = rc_dict_new(h);
    static const char *const nasty[] = {
        "quote \" and \\\" and \\",
        "new\nline\r\n\ttab",
        "ctl \x01\x02\x1b[31m\x7f",
        "latin1 \xe9\xe8 bad \xff\xfe \xc3",
        "utf8 \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 ok",
        "overlong \xc0\xaf surrogate \xed\xa0\x80",
        "brace } ] ; -> \"a\" -- <html> \\N \\G \\l",
        "",
    };
    size_t nn = sizeof nasty / sizeof nasty[0];
    for (size_t i = 0; i < nn; i++) {
        rc_str *k = rc_str_new(h, nasty[i], strlen(nasty[i]));
        rc_str *v = rc_str_new(h, nasty[nn - 1 - i], strlen(nasty[nn - 1 - i]));
        rc_dict_set(d, rc_obj(k), rc_obj(v));
        rc_decref(k);
        rc_decref(v);
    }
    node *w = rc_new(h, &nasty_type);
    rc_dict_set(d, rc_obj(w), rc_obj(w));
    rc_decref(w);
    void *objs[] = {d};
    char *dot = dot_of(rc_show_refs, objs, 1, (rc_graph_opts){.too_many = 100});
    REQUIRE(dot);
    /* No raw control byte and no invalid UTF-8 reaches the text. */
    for (const unsigned char *p = (const unsigned char *)dot; *p; p++) CHECK(*p >= 0x20 || *p == '\n');
    CHECK(strstr(dot, "\xff") == NULL && strstr(dot, "\xc0") == NULL && strstr(dot, "\xed") == NULL);
    CHECK(strstr(dot, "\\\\xFF") != NULL && strstr(dot, "\\\\x01") != NULL);
    CHECK(strstr(dot, "utf8 \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 ok") != NULL);
    CHECK(strstr(dot, "we\\\"ird\\\\ty\\\\npe") != NULL);
    if (!have_dot()) {
        rc_decref(d);
        rc_heap_free(h);
        SKIP(NEED_DOT);
    }
    const char *path = tmp_path("nasty.dot");
    rc_graph_opts opts = {.too_many = 100, .extra_info = nasty_info, .node_attrs = attrs, .refcounts = 1,
                          .quiet = 1};
    CHECK_EQ_INT(rc_show_refs(objs, 1, path, &opts), RC_GRAPH_OK);
    CHECK(dot_accepts(path));
    CHECK_EQ_INT(rc_show_backrefs(objs, 1, path, &opts), RC_GRAPH_OK);
    CHECK(dot_accepts(path));
    rc_decref(d);
    rc_heap_free(h);
}

TEST(random_graphs_always_give_dot_that_graphviz_parses)
{
    if (!have_dot()) SKIP(NEED_DOT);
    rc_heap *h = quiet_heap();
    srand(7);
    enum { N = 60 };
    void *objs[N];
    for (int i = 0; i < N; i++) {
        switch (rand() % 4) {
        case 0: objs[i] = rc_list_new(h, 0); break;
        case 1: objs[i] = rc_dict_new(h); break;
        case 2: objs[i] = rc_new(h, &node4_type); break;
        default: {
            char s[16];
            for (int k = 0; k < 15; k++) s[k] = (char)(rand() % 255 + 1);
            s[15] = 0;
            objs[i] = rc_str_from_cstr(h, s);
        }
        }
    }
    for (int e = 0; e < 150; e++) {
        void *a = objs[rand() % N], *b = objs[rand() % N];
        if (rc_typeof(a) == &rc_list_type) rc_list_append(a, rc_obj(b));
        else if (rc_typeof(a) == &rc_dict_type) rc_dict_set(a, rc_obj(objs[rand() % N]), rc_obj(b));
        else if (rc_typeof(a) == &node4_type) node_set(a, rand() % 4, b);
    }
    const char *path = tmp_path("random.dot");
    rc_graph_opts opts = {.max_depth = 4, .refcounts = 1, .quiet = 1};
    for (int i = 0; i < 5; i++) {
        void *start[] = {objs[i * 7]};
        CHECK_EQ_INT(rc_show_refs(start, 1, path, &opts), RC_GRAPH_OK);
        CHECK(dot_accepts(path));
        CHECK_EQ_INT(rc_show_backrefs(start, 1, path, &opts), RC_GRAPH_OK);
        CHECK(dot_accepts(path));
    }
    for (int i = 0; i < N; i++)
        if (rc_typeof(objs[i]) == &rc_list_type) rc_list_clear(objs[i]);
        else if (rc_typeof(objs[i]) == &rc_dict_type) rc_dict_clear(objs[i]);
    for (int i = 0; i < N; i++) rc_decref(objs[i]);
    rc_gc_collect(h, 2);
    rc_heap_free(h);
}

TEST(png_svg_and_pdf_are_rendered_by_graphviz)
{
    if (!have_dot()) SKIP(NEED_DOT);
    rc_heap *h = quiet_heap();
    rc_list *a = rc_list_new(h, 0), *b = rc_list_new(h, 0);
    rc_list_append(a, rc_obj(b));
    rc_list_append(b, rc_obj(a));
    void *objs[] = {a};
    rc_graph_opts opts = {.quiet = 1};
    static const struct { const char *name, *magic; } out[] = {
        {"x.png", "\x89PNG"}, {"x.svg", "<?xml"}, {"x.pdf", "%PDF"}};
    for (size_t i = 0; i < 3; i++) {
        const char *path = tmp_path(out[i].name);
        CHECK_EQ_INT(rc_show_refs(objs, 1, path, &opts), RC_GRAPH_OK);
        FILE *f = fopen(path, "rb");
        REQUIRE(f);
        char head[8] = {0};
        CHECK(fread(head, 1, sizeof head, f) > 4);
        fclose(f);
        CHECK(!memcmp(head, out[i].magic, strlen(out[i].magic)));
    }
    rc_list_clear(a);
    rc_decref(a);
    rc_decref(b);
    rc_heap_free(h);
}

TEST(without_graphviz_the_dot_file_is_written_and_the_message_says_how_to_install_it)
{
    rc_heap *h = quiet_heap();
    rc_list *a = rc_list_new(h, 0);
    void *objs[] = {a};
    char *path_env = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    setenv("PATH", "/nonexistent-recycle-test", 1);
    FILE *log = tmpfile();
    rc_graph_opts opts = {.log = log};
    const char *png = tmp_path("nodot.png");
    int rc = rc_show_refs(objs, 1, png, &opts);
    if (path_env) setenv("PATH", path_env, 1);
    free(path_env);
    CHECK_EQ_INT(rc, RC_GRAPH_DOT_ONLY);
    struct stat st;
    CHECK(stat(tmp_path("nodot.dot"), &st) == 0 && st.st_size > 0);
    CHECK(stat(png, &st) != 0);
    const char *text = capture(log);
    CHECK(strstr(text, "Graphviz's `dot` was not found") != NULL);
    CHECK(strstr(text, "apt-get install graphviz") != NULL);
    rc_decref(a);
    rc_heap_free(h);
}

TEST(bad_destinations_are_refused)
{
    rc_heap *h = quiet_heap();
    rc_list *a = rc_list_new(h, 0);
    void *objs[] = {a};
    CHECK_EQ_INT(rc_show_refs(objs, 1, "x.jpeg", NULL), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_EINVAL);
    CHECK_EQ_INT(rc_show_refs(objs, 1, NULL, NULL), -1);
    CHECK_EQ_INT(rc_show_refs(objs, 1, "/nonexistent-dir/x.dot", &(rc_graph_opts){.quiet = 1}), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_EIO);
    void *none[] = {NULL};
    CHECK_EQ_INT(rc_show_refs(none, 1, "x.dot", NULL), -1);
    rc_decref(a);
    rc_heap_free(h);
}

TEST(show_chain_draws_the_chain_and_who_holds_it_from_outside)
{
    rc_heap *h = quiet_heap();
    rc_dict *cache = rc_dict_new(h);
    rc_list *l = rc_list_new(h, 0);
    node *rec = rc_new(h, &node2_type);
    rc_dict_set(cache, rc_int(5), rc_obj(l));
    rc_list_append(l, rc_obj(rec));
    rc_decref(l);
    rc_chain *c = rc_why_alive(rec, NULL, NULL);
    REQUIRE(c && c->found && c->len == 3);
    const rc_chain *chains[] = {c};
    FILE *f = tmpfile();
    rc_graph_opts opts = {.output = f};
    CHECK_EQ_INT(rc_show_chain(chains, 1, NULL, &opts), RC_GRAPH_OK);
    const char *text = capture(f);
    CHECK(strstr(text, "o0 -> o1 [label=\"[5]\"];") != NULL);
    CHECK(strstr(text, "o1 -> o2 [label=\"[0]\"];") != NULL);
    CHECK_EQ_INT(count_of(text, "outside the heap"), 2);   /* the holder, and rec itself (ours) */
    CHECK(strstr(text, "outside_0 -> o0 [label=\"1 reference\", style=dashed];") != NULL);
    if (have_dot()) {
        const char *path = tmp_path("chain.dot");
        opts.output = NULL;
        opts.quiet = 1;
        CHECK_EQ_INT(rc_show_chain(chains, 1, path, &opts), RC_GRAPH_OK);
        CHECK(dot_accepts(path));
    }
    rc_chain_free(c);
    rc_decref(rec);
    rc_decref(cache);
    rc_heap_free(h);
    if (!have_dot()) SKIP(NEED_DOT);
}

RC_TEST_MAIN
