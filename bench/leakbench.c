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
#include "bench.h"

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

typedef bench_tnode tnode;

/* 1,000 new nodes hung off the chain `*tail` (each holds the next). */
static void add_nodes(rc_heap *h, tnode **tail, int n)
{
    for (int i = 0; i < n; i++) {
        tnode *x = rc_new(h, &bench_tree_type);
        (*tail)->right = x;   /* takes our reference */
        *tail = x;
    }
}

static int is_root(void *obj, void *ud) { return obj == ud; }

static int run_leak(const cli_optvals *o)
{
    int depth = (int)cli_opts_int(o, "--depth");
    const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    const char *dir = cli_opts_given(o, "--dir") ? cli_opts_str(o, "--dir") : tmp;
    rc_heap *h = rc_heap_new(NULL);
    if (!h) return 1;
    double t0 = bench_now_ms();
    tnode *root = bench_tree(h, &bench_tree_type, depth, NULL);
    bench_emit("build_ms", bench_now_ms() - t0, "ms");
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    bench_emit("objects", (double)st.objects, "objects");
    tnode *leaf = root;
    while (leaf->left) leaf = leaf->left;
    rc_gc_collect(h, 2);   /* the tree is old now, as in a long-running program */

    /* Counting. */
    size_t n;
    t0 = bench_now_ms();
    rc_typestat *rows = rc_most_common_types(h, 10, &n);
    bench_emit("most_common_types_ms", bench_now_ms() - t0, "ms");
    rc_typestat_free(rows);

    /* Growth after 1,000 new nodes: without a collection, after a young
     * one, and after a full one (objgraph's gc.collect()). */
    rc_growth *g = rc_growth_new(h);
    rc_growth_row_free(rc_growth_check(g, 0, RC_LEAK_NO_COLLECT, &n));
    tnode *extra = rc_new(h, &bench_tree_type), *tail = extra;
    static const struct { const char *name; unsigned flags; } modes[] = {
        {"growth_nocollect_ms", RC_LEAK_NO_COLLECT},
        {"growth_young_ms", RC_LEAK_COLLECT_YOUNG},
        {"growth_full_ms", 0},
    };
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        add_nodes(h, &tail, 1000);
        t0 = bench_now_ms();
        rc_growth_row *gr = rc_growth_check(g, 0, modes[m].flags, &n);
        bench_emit(modes[m].name, bench_now_ms() - t0, "ms");
        if (!gr || gr[0].delta != 1000 + (m == 0))
            fprintf(stderr, "recycle bench leak: growth saw %zu rows, delta %zu\n", n, gr ? gr[0].delta : 0);
        rc_growth_row_free(gr);
    }
    rc_growth_free(g);

    /* Who refers to one object: one walk (gc.get_referrers), or an index. */
    void *target = leaf;
    t0 = bench_now_ms();
    rc_list *refs = rc_gc_get_referrers(h, &target, 1);
    bench_emit("get_referrers_ms", bench_now_ms() - t0, "ms");
    rc_decref(refs);
    t0 = bench_now_ms();
    rc_refindex *idx = rc_refindex_build(h);
    bench_emit("refindex_build_ms", bench_now_ms() - t0, "ms");
    {
        const long q = 1000000;
        tnode *probe = root;
        size_t total = 0;
        t0 = bench_now_ms();
        for (long i = 0; i < q; i++) {
            rc_refindex_referrers(idx, probe, &n);
            total += n;
            probe = (i & 1) ? probe->right : probe->left;
            if (!probe) probe = root;
        }
        double ms = bench_now_ms() - t0;
        bench_emit("referrers_query_ns", ms * 1e6 / (double)q, "ns");
        if (!total) fprintf(stderr, "recycle bench leak: no referrers found\n");
    }

    /* show_backrefs of a leaf, depth 3, to DOT. */
    FILE *devnull = fopen("/dev/null", "w");
    void *objs[] = {leaf};
    rc_graph_opts go = {.max_depth = 3, .output = devnull, .index = idx};
    t0 = bench_now_ms();
    rc_show_backrefs(objs, 1, NULL, &go);
    bench_emit("show_backrefs_ms", bench_now_ms() - t0, "ms");
    go.index = NULL;
    t0 = bench_now_ms();
    rc_show_backrefs(objs, 1, NULL, &go);
    bench_emit("show_backrefs_with_index_build_ms", bench_now_ms() - t0, "ms");
    t0 = bench_now_ms();
    rc_show_refs((void *[]){root}, 1, NULL, &go);
    bench_emit("show_refs_ms", bench_now_ms() - t0, "ms");

    /* Why is the leaf alive? The root, 22 references up, is held by us. */
    t0 = bench_now_ms();
    rc_chain *c = rc_why_alive(leaf, NULL, NULL);
    bench_emit("why_alive_ms", bench_now_ms() - t0, "ms");
    if (!c || !c->found || c->objs[0] != root)
        fprintf(stderr, "recycle bench leak: why_alive did not find the root\n");
    bench_emit("why_alive_chain", c ? (double)c->len : 0, "objects");
    rc_chain_free(c);
    rc_chain_opts co = {.index = idx, .max_depth = SIZE_MAX};
    t0 = bench_now_ms();
    c = rc_why_alive(leaf, NULL, &co);
    bench_emit("why_alive_indexed_ms", bench_now_ms() - t0, "ms");
    rc_chain_free(c);
    t0 = bench_now_ms();
    c = rc_find_backref_chain(leaf, is_root, root, &co);
    bench_emit("find_backref_chain_ms", bench_now_ms() - t0, "ms");
    rc_chain_free(c);

    /* Retained sizes. */
    t0 = bench_now_ms();
    rc_domtree *dt = rc_domtree_build(h, idx);
    bench_emit("domtree_build_ms", bench_now_ms() - t0, "ms");
    bench_emit("retained_root_mb", dt ? (double)rc_domtree_retained_size(dt, root) / 1048576.0 : 0, "MB");
    rc_domtree_free(dt);
    rc_refindex_free(idx);

    /* Heap snapshot to a file. */
    char path[1024];
    snprintf(path, sizeof path, "%s/recycle-bench-%ld.heapsnapshot", dir, (long)getpid());
    rc_heap_get_stats(h, &st);
    t0 = bench_now_ms();
    int rc = rc_heapsnapshot_save(h, path), status = 0;
    double ms = bench_now_ms() - t0;
    struct stat sb;
    if (rc == 0 && stat(path, &sb) == 0) {
        bench_emit("snapshot_ms", ms, "ms");
        bench_emit("snapshot_objects_per_s", (double)st.objects / (ms / 1e3) / 1e6, "M/s");
        bench_emit("snapshot_mb", (double)sb.st_size / 1048576.0, "MB");
    } else {
        fprintf(stderr, "recycle bench leak: snapshot: %s\n", rc_heap_error_message(h));
        status = 1;
    }
    unlink(path);

    /* Allocation sites: the cost of tracing per create + release. */
    const long allocs = 1000000;
    for (int traced = 0; traced < 2; traced++) {
        if (traced) rc_trace_start(h, 0);
        t0 = bench_now_ms();
        for (long i = 0; i < allocs; i++) {
            tnode *x = rc_new_at(h, &bench_tree_type, __FILE__, __LINE__);
            rc_decref(x);
        }
        bench_emit(traced ? "traced_alloc_ns" : "untraced_alloc_ns", (bench_now_ms() - t0) * 1e6 / (double)allocs, "ns");
        if (traced) rc_trace_stop(h);
    }

    fclose(devnull);
    rc_decref(extra);
    rc_decref(root);
    rc_heap_free(h);
    return status;
}

static const cli_opt leak_opts[] = {
    {"--depth", CLI_OPT_INT, 4, 28, 23, " (a tree of 2^depth nodes)"},
    {"--dir", CLI_OPT_STR, 0, 0, 0, NULL},
};

const bench_workload bench_leak_workload = {
    "leak", "the leak tools on the W4 tree: counts, growth, referrers, DOT, chains, snapshot",
    leak_opts, sizeof leak_opts / sizeof leak_opts[0], run_leak};
