/*
 * fuzz_queries.h -- the query and leak-tool operations of fuzz_api.c (one
 * translation unit: included once, after the model).
 *
 * Each runs right after a sync, so the model's live set is exact on entry;
 * answers are checked against it.
 */

/* Edges from live object a to b, counted. */
static int edges_to(int a, int b)
{
    int c = 0;
    FOR_EDGES(&S.o[a], y, if (y == b) c++);
    return c;
}

/* A FILE that swallows what it is given (leak-tool output). */
static FILE *sink(char **buf, size_t *len)
{
    FILE *f = open_memstream(buf, len);
    ENSURE(f, "open_memstream");
    return f;
}

static void op_query(void)
{
    unsigned sub = byte() % 5;
    int x = pick(ANY);
    if (x < 0) return;
    pin(x);
    void *p = S.o[x].p;
    if (sub == 0) {
        rc_list *r = rc_gc_get_referrers(S.h, &p, 1);
        ENSURE(r, "rc_gc_get_referrers: %s", rc_heap_error_message(S.h));
        int listed[MAXO] = {0};
        size_t n;
        const rc_val *it = rc_list_items(r, &n);
        for (size_t k = 0; k < n; k++) {
            int a = handle_of(rc_as_obj(it[k]), "referrer");
            ENSURE(edges_to(a, x) > 0, "rc_gc_get_referrers: %d does not refer to %d", a, x);
            ENSURE(!listed[a], "rc_gc_get_referrers: %d listed twice", a);
            listed[a] = 1;
        }
        rc_decref(r);
        compute_reach(S.reach, NULL);
        for (int a = 0; a < S.nobj; a++)
            if (S.o[a].alive && S.reach[a] && tracked(&S.o[a]) && edges_to(a, x))
                ENSURE(listed[a], "rc_gc_get_referrers: %d refers to %d but is not listed", a, x);
    } else if (sub == 1) {
        rc_list *r = rc_gc_get_referents(S.h, &p, 1);
        ENSURE(r, "rc_gc_get_referents: %s", rc_heap_error_message(S.h));
        int cnt[MAXO] = {0};
        size_t n;
        const rc_val *it = rc_list_items(r, &n);
        for (size_t k = 0; k < n; k++) cnt[handle_of(rc_as_obj(it[k]), "referent")]++;
        rc_decref(r);
        FOR_EDGES(&S.o[x], y, cnt[y]--);
        for (int a = 0; a < S.nobj; a++)
            ENSURE(cnt[a] == 0, "rc_gc_get_referents of %d: object %d off by %d", x, a, cnt[a]);
    } else if (sub == 2) {
        int g = (int)(byte() % 5) - 1;
        rc_list *r = rc_gc_get_objects(S.h, g);
        ENSURE(r, "rc_gc_get_objects(%d)", g);
        size_t n;
        const rc_val *it = rc_list_items(r, &n);
        for (size_t k = 0; k < n; k++) {
            int a = handle_of(rc_as_obj(it[k]), "get_objects");
            ENSURE(tracked(&S.o[a]), "get_objects lists untracked %d", a);
        }
        rc_decref(r);
    } else if (sub == 3) {
        ENSURE(rc_gc_is_tracked(p) == tracked(&S.o[x]), "rc_gc_is_tracked(%d)", x);
        size_t lo = 0, hi = 0;
        for (int a = 0; a < S.nobj; a++)
            if (S.o[a].alive && S.o[a].kind == K_WEAK && S.o[a].target == x && !S.o[a].cleared) {
                hi++;
                if (S.reach[a]) lo++;
            }
        size_t c = rc_weakref_count(p);
        ENSURE(c >= lo && c <= hi, "rc_weakref_count(%d) = %zu, model %zu..%zu", x, c, lo, hi);
        rc_list *wl = rc_weakref_list(p);
        ENSURE(wl, "rc_weakref_list");
        size_t n;
        const rc_val *it = rc_list_items(wl, &n);
        ENSURE(n == c, "rc_weakref_list has %zu, count %zu", n, c);
        for (size_t k = 0; k < n; k++) {
            int w = handle_of(rc_as_obj(it[k]), "weakref_list");
            ENSURE(S.o[w].kind == K_WEAK && S.o[w].target == x, "rc_weakref_list: %d is no weakref to %d", w, x);
        }
        rc_decref(wl);
    } else {
        int y = pick(ANY);
        if (y < 0) return;
        pin(y);
        void *objs[2] = {p, S.o[y].p};
        rc_list *r = rc_gc_get_referents(S.h, objs, 2);
        ENSURE(r, "get_referents(2)");
        int want = 0;
        FOR_EDGES(&S.o[x], t, want++);
        FOR_EDGES(&S.o[y], t, want++);
        ENSURE(rc_list_len(r) == (size_t)want, "get_referents of two: %zu, model %d", rc_list_len(r), want);
        rc_decref(r);
    }
}

static int pred_is(void *obj, void *ud) { return obj == ud; }

static const char *type_name_of(int i)
{
    switch (S.o[i].kind) {
    case K_NODE: return utypes[S.o[i].utype].name;
    case K_LIST: return "list";
    case K_DICT: return "dict";
    case K_TUPLE: return "tuple";
    case K_STR: return "str";
    case K_INT: return "int";
    default: return rc_weakref_type.name;
    }
}

static void op_leak(void)
{
    unsigned sub = byte() % 12;
    char *buf = NULL;
    size_t len = 0;
    if (sub == 0) {   /* counts by type */
        int t = byte() % NUTYPES;
        size_t want = 0;
        for (int a = 0; a < S.nobj; a++)
            if (S.o[a].alive && S.o[a].kind == K_NODE && S.o[a].utype == t) want++;
        ENSURE(rc_count(S.h, utypes[t].name) == want, "rc_count(%s) = %zu, model %zu", utypes[t].name,
               rc_count(S.h, utypes[t].name), want);
    } else if (sub == 1) {
        size_t n, total = 0, alive = 0;
        rc_typestat *rows = rc_typestats(S.h, &n);
        for (size_t k = 0; k < n; k++) {
            size_t want = 0;
            for (int a = 0; a < S.nobj; a++)
                if (S.o[a].alive && !strcmp(type_name_of(a), rows[k].name)) want++;
            ENSURE(rows[k].count == want, "rc_typestats: %s %zu, model %zu", rows[k].name, rows[k].count, want);
            total += rows[k].count;
        }
        for (int a = 0; a < S.nobj; a++) alive += S.o[a].alive;
        ENSURE(total == alive, "rc_typestats total %zu, model %zu", total, alive);
        rc_typestat_free(rows);
        FILE *f = sink(&buf, &len);
        ENSURE(rc_show_most_common_types(S.h, byte() % 4, f) >= 0, "show_most_common_types");
        fclose(f);
    } else if (sub == 2) {   /* roots: exactly what the program holds */
        size_t n;
        rc_root *rows = rc_get_roots(S.h, NULL, &n);
        size_t want = 0;
        for (int a = 0; a < S.nobj; a++) want += S.o[a].alive && S.o[a].held > 0;
        ENSURE(n == want, "rc_get_roots: %zu roots, model %zu", n, want);
        for (size_t k = 0; k < n; k++) {
            int a = handle_of(rows[k].obj, "root");
            ENSURE(rows[k].external == (size_t)S.o[a].held, "root %d: external %zu, held %d", a,
                   rows[k].external, S.o[a].held);
        }
        rc_root_free(rows);
        FILE *f = sink(&buf, &len);
        ENSURE(rc_show_roots(S.h, 0, f) >= 0, "rc_show_roots");
        fclose(f);
    } else if (sub == 3) {   /* why alive, external refs */
        int x = pick(ANY);
        if (x < 0) return;
        ENSURE(rc_external_refs(S.o[x].p) == (size_t)S.o[x].held, "rc_external_refs(%d)", x);
        FILE *f = byte() % 2 ? sink(&buf, &len) : NULL;
        rc_chain *c = rc_why_alive(S.o[x].p, f, NULL);
        ENSURE(c, "rc_why_alive: %s", rc_heap_error_message(S.h));
        ENSURE(c->objs[c->len - 1] == S.o[x].p, "why_alive: chain does not end at %d", x);
        ENSURE(c->target_refs == (size_t)S.o[x].held, "why_alive: target_refs");
        if (c->found) {
            int h0 = handle_of(c->objs[0], "why_alive holder");
            ENSURE(S.o[h0].held > 0, "why_alive: holder %d not held", h0);
            for (size_t k = 0; k + 1 < c->len; k++)
                ENSURE(edges_to(handle_of(c->objs[k], "chain"), handle_of(c->objs[k + 1], "chain")),
                       "why_alive: broken link %zu", k);
            if (f) {
                const rc_chain *cs[1] = {c};
                rc_graph_opts o = {.output = f, .quiet = 1};
                ENSURE(rc_show_chain(cs, 1, NULL, &o) == RC_GRAPH_OK, "rc_show_chain");
            }
        }
        rc_chain_free(c);
        if (f) fclose(f);
    } else if (sub == 4) {   /* retained sizes */
        rc_domtree *t = rc_domtree_build(S.h, NULL);
        ENSURE(t, "rc_domtree_build");
        size_t want = 0;
        for (int a = 0; a < S.nobj; a++) want += S.o[a].alive && S.reach[a];
        ENSURE(rc_domtree_objects(t) == want, "domtree: %zu objects, model %zu reachable",
               rc_domtree_objects(t), want);
        for (int a = 0; a < S.nobj; a++)
            if (S.o[a].alive && S.reach[a])
                ENSURE(rc_domtree_retained_size(t, S.o[a].p) >= rc_self_size(S.o[a].p), "retained size of %d", a);
        size_t n;
        rc_root *top = rc_domtree_top(t, 1 + byte() % 4, &n);
        rc_root_free(top);
        rc_domtree_free(t);
    } else if (sub == 5 || sub == 6) {   /* pictures */
        int x = pick(ANY);
        if (x < 0) return;
        FILE *f = sink(&buf, &len);
        rc_graph_opts o = {.output = f, .quiet = 1, .max_depth = byte() % 4,
                           .too_many = byte() % 4, .refcounts = byte() % 2};
        int r = (sub == 5 ? rc_show_refs : rc_show_backrefs)(&S.o[x].p, 1, NULL, &o);
        ENSURE(r == RC_GRAPH_OK, "rc_show_%s: %d %s", sub == 5 ? "refs" : "backrefs", r,
               rc_heap_error_message(S.h));
        fclose(f);
    } else if (sub == 7) {   /* the reference index: exact referrer counts */
        rc_refindex *idx = rc_refindex_build(S.h);
        ENSURE(idx, "rc_refindex_build");
        int in[MAXO] = {0};
        for (int a = 0; a < S.nobj; a++)
            if (S.o[a].alive) FOR_EDGES(&S.o[a], y, in[y]++);
        for (int a = 0; a < S.nobj; a++) {
            if (!S.o[a].alive) continue;
            size_t n;
            rc_refindex_referrers(idx, S.o[a].p, &n);
            ENSURE(n == (size_t)in[a], "refindex: %d has %zu referrers, model %d", a, n, in[a]);
        }
        rc_refindex_free(idx);
    } else if (sub == 8) {
        FILE *f = sink(&buf, &len);
        ENSURE(rc_heapsnapshot_write(S.h, f) == 0, "rc_heapsnapshot_write");
        fclose(f);
    } else if (sub == 9) {   /* growth (may collect) */
        rc_growth *g = rc_growth_new(S.h);
        ENSURE(g, "rc_growth_new");
        unsigned flags = byte() % 3;
        FILE *f = sink(&buf, &len);
        ENSURE(rc_show_growth(g, 0, flags, f) >= 0, "rc_show_growth");
        fclose(f);
        rc_growth_free(g);
    } else if (sub == 10) {   /* forward chains */
        int x = pick(ANY), y = pick(ANY);
        if (x < 0 || y < 0) return;
        int r[MAXO] = {0}, stack[MAXO], sp = 0;
        r[x] = 1;
        stack[sp++] = x;
        while (sp) {
            int a = stack[--sp];
            FOR_EDGES(&S.o[a], b, if (S.o[b].alive && !r[b]) { r[b] = 1; stack[sp++] = b; });
        }
        rc_chain_opts o = {.max_depth = SIZE_MAX};
        rc_chain *c = rc_find_ref_chain(S.o[x].p, pred_is, S.o[y].p, &o);
        ENSURE(c, "rc_find_ref_chain");
        ENSURE(c->found == r[y], "rc_find_ref_chain %d -> %d: found %d, model %d", x, y, c->found, r[y]);
        rc_chain_free(c);
    } else {   /* objects by type */
        int t = byte() % NUTYPES;
        rc_list *l = rc_by_type(S.h, utypes[t].name);
        ENSURE(l, "rc_by_type");
        size_t want = 0;
        for (int a = 0; a < S.nobj; a++)
            if (S.o[a].alive && S.o[a].kind == K_NODE && S.o[a].utype == t) want++;
        ENSURE(rc_list_len(l) == want, "rc_by_type(%s): %zu, model %zu", utypes[t].name, rc_list_len(l), want);
        rc_decref(l);
    }
    free(buf);
}
