/*
 * leakbench.c -- `recycle bench leak`: the leak tools on the W4 tree (a
 * complete binary tree of 2^23 - 1 = 8.4 M three-slot nodes with parent
 * pointers, built as bench/workloads.c builds it), one `name value unit`
 * line per figure. The targets (objgraph 3.5 on CPython 3.11 in brackets):
 *
 *   most_common_types_ms          <= 100 ms   (2,761 ms)
 *   growth_*_ms after 1,000 nodes  <= 150 ms   (3,398 ms, with gc.collect())
 *   referrers: one walk, or O(1) after one indexing pass   (121 ms per call)
 *   show_backrefs_ms, depth 3 DOT <= 10 ms    (1,142 ms)
 *   why_alive_ms, leaf to holder  <= 1 s      (objgraph does not finish)
 *   snapshot_objects_per_s        >= 5 M/s
 *
 * Options: --depth N (tree depth, default 23), --dir PATH (where the
 * snapshot file is written and removed, default $TMPDIR or /tmp).
 */
#include "workloads.h"

#include "recycle.h"
#include "recycle/builtins.h"
#include "recycle/gc.h"
#include "recycle/leak.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct tnode { void *left, *right, *parent; } tnode;
static const rc_type tree_type = {.name = "tree_node", .size = sizeof(tnode), .nslots = 3};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void emit(const char *name, double value, const char *unit)
{
    printf("%s %.3f %s\n", name, value, unit);
    fflush(stdout);
}

static long opt_long(int argc, char **argv, const char *name, long def)
{
    for (int i = 0; i + 1 < argc; i++)
        if (!strcmp(argv[i], name)) return strtol(argv[i + 1], NULL, 10);
    return def;
}

static const char *opt_str(int argc, char **argv, const char *name, const char *def)
{
    for (int i = 0; i + 1 < argc; i++)
        if (!strcmp(argv[i], name)) return argv[i + 1];
    return def;
}

/* The W4 tree (as bench/workloads.c's build_tree): new reference. */
static tnode *build_tree(rc_heap *h, int depth, tnode *parent)
{
    tnode *n = rc_new(h, &tree_type);
    if (parent) {
        rc_incref(parent);
        n->parent = parent;
    }
    if (depth > 1) {
        n->left = build_tree(h, depth - 1, n);
        n->right = build_tree(h, depth - 1, n);
    }
    return n;
}

/* 1,000 new nodes hung off the chain `*tail` (each holds the next). */
static void add_nodes(rc_heap *h, tnode **tail, int n)
{
    for (int i = 0; i < n; i++) {
        tnode *x = rc_new(h, &tree_type);
        (*tail)->right = x;   /* takes our reference */
        *tail = x;
    }
}

static int is_root(void *obj, void *ud) { return obj == ud; }

int rc_bench_leak(int argc, char **argv)
{
    int depth = (int)opt_long(argc, argv, "--depth", 23);
    const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    const char *dir = opt_str(argc, argv, "--dir", tmp);
    if (depth < 4 || depth > 28) {
        fprintf(stderr, "recycle bench leak: --depth must be 4..28\n");
        return 2;
    }
    rc_heap *h = rc_heap_new(NULL);
    if (!h) return 1;
    double t0 = now_ms();
    tnode *root = build_tree(h, depth, NULL);
    emit("build_ms", now_ms() - t0, "ms");
    rc_heap_stats st;
    rc_heap_stats_get(h, &st);
    emit("objects", (double)st.objects, "objects");
    tnode *leaf = root;
    while (leaf->left) leaf = leaf->left;
    rc_collect(h, 2);   /* the tree is old now, as in a long-running program */

    /* Counting. */
    size_t n;
    t0 = now_ms();
    rc_typestat *rows = rc_most_common_types(h, 10, &n);
    emit("most_common_types_ms", now_ms() - t0, "ms");
    rc_leak_free(rows);

    /* Growth after 1,000 new nodes: without a collection, after a young
     * one, and after a full one (objgraph's gc.collect()). */
    rc_growth *g = rc_growth_new(h);
    rc_leak_free(rc_growth_check(g, 0, RC_LEAK_NO_COLLECT, &n));
    tnode *extra = rc_new(h, &tree_type), *tail = extra;
    static const struct { const char *name; unsigned flags; } modes[] = {
        {"growth_nocollect_ms", RC_LEAK_NO_COLLECT},
        {"growth_young_ms", RC_LEAK_COLLECT_YOUNG},
        {"growth_full_ms", 0},
    };
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        add_nodes(h, &tail, 1000);
        t0 = now_ms();
        rc_growth_row *gr = rc_growth_check(g, 0, modes[m].flags, &n);
        emit(modes[m].name, now_ms() - t0, "ms");
        if (!gr || gr[0].delta != 1000 + (m == 0))
            fprintf(stderr, "recycle bench leak: growth saw %zu rows, delta %zu\n", n, gr ? gr[0].delta : 0);
        rc_leak_free(gr);
    }
    rc_growth_free(g);

    /* Who refers to one object: one walk (gc.get_referrers), or an index. */
    void *target = leaf;
    t0 = now_ms();
    rc_list *refs = rc_gc_get_referrers(h, &target, 1);
    emit("get_referrers_ms", now_ms() - t0, "ms");
    rc_decref(refs);
    t0 = now_ms();
    rc_refindex *idx = rc_refindex_build(h);
    emit("refindex_build_ms", now_ms() - t0, "ms");
    {
        const long q = 1000000;
        tnode *probe = root;
        size_t total = 0;
        t0 = now_ms();
        for (long i = 0; i < q; i++) {
            rc_refindex_referrers(idx, probe, &n);
            total += n;
            probe = (i & 1) ? probe->right : probe->left;
            if (!probe) probe = root;
        }
        double ms = now_ms() - t0;
        emit("referrers_query_ns", ms * 1e6 / (double)q, "ns");
        if (!total) fprintf(stderr, "recycle bench leak: no referrers found\n");
    }

    /* show_backrefs of a leaf, depth 3, to DOT. */
    FILE *devnull = fopen("/dev/null", "w");
    void *objs[] = {leaf};
    rc_graph_opts go = {.max_depth = 3, .output = devnull, .index = idx};
    t0 = now_ms();
    rc_show_backrefs(objs, 1, NULL, &go);
    emit("show_backrefs_ms", now_ms() - t0, "ms");
    go.index = NULL;
    t0 = now_ms();
    rc_show_backrefs(objs, 1, NULL, &go);
    emit("show_backrefs_with_index_build_ms", now_ms() - t0, "ms");
    t0 = now_ms();
    rc_show_refs((void *[]){root}, 1, NULL, &go);
    emit("show_refs_ms", now_ms() - t0, "ms");

    /* Why is the leaf alive? The root, 22 references up, is held by us. */
    t0 = now_ms();
    rc_chain *c = rc_why_alive(leaf, NULL, NULL);
    emit("why_alive_ms", now_ms() - t0, "ms");
    if (!c || !c->found || c->objs[0] != root)
        fprintf(stderr, "recycle bench leak: why_alive did not find the root\n");
    emit("why_alive_chain", c ? (double)c->len : 0, "objects");
    rc_chain_free(c);
    rc_chain_opts co = {.index = idx, .max_depth = SIZE_MAX};
    t0 = now_ms();
    c = rc_why_alive(leaf, NULL, &co);
    emit("why_alive_indexed_ms", now_ms() - t0, "ms");
    rc_chain_free(c);
    t0 = now_ms();
    c = rc_find_backref_chain(leaf, is_root, root, &co);
    emit("find_backref_chain_ms", now_ms() - t0, "ms");
    rc_chain_free(c);

    /* Retained sizes. */
    t0 = now_ms();
    rc_domtree *dt = rc_domtree_build(h, idx);
    emit("domtree_build_ms", now_ms() - t0, "ms");
    emit("retained_root_mb", dt ? (double)rc_retained_size(dt, root) / 1048576.0 : 0, "MB");
    rc_domtree_free(dt);
    rc_refindex_free(idx);

    /* Heap snapshot to a file. */
    char path[1024];
    snprintf(path, sizeof path, "%s/recycle-bench-%ld.heapsnapshot", dir, (long)getpid());
    rc_heap_stats_get(h, &st);
    t0 = now_ms();
    int rc = rc_heap_snapshot_save(h, path);
    double ms = now_ms() - t0;
    struct stat sb;
    if (rc == 0 && stat(path, &sb) == 0) {
        emit("snapshot_ms", ms, "ms");
        emit("snapshot_objects_per_s", (double)st.objects / (ms / 1e3) / 1e6, "M/s");
        emit("snapshot_mb", (double)sb.st_size / 1048576.0, "MB");
    } else {
        fprintf(stderr, "recycle bench leak: snapshot: %s\n", rc_error_message(h));
    }
    unlink(path);

    /* Allocation sites: the cost of tracing per create + release. */
    const long allocs = 1000000;
    for (int traced = 0; traced < 2; traced++) {
        if (traced) rc_trace_start(h, 0);
        t0 = now_ms();
        for (long i = 0; i < allocs; i++) {
            tnode *x = rc_new_at(h, &tree_type, __FILE__, __LINE__);
            rc_decref(x);
        }
        emit(traced ? "traced_alloc_ns" : "untraced_alloc_ns", (now_ms() - t0) * 1e6 / (double)allocs, "ns");
        if (traced) rc_trace_stop(h);
    }

    fclose(devnull);
    rc_decref(extra);
    rc_decref(root);
    rc_heap_free(h);
    return 0;
}
