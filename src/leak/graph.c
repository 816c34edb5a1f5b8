/*
 * graph.c -- pictures of the object graph: objgraph's show_refs,
 * show_backrefs and show_chain, written as Graphviz DOT and rendered by
 * Graphviz's `dot` when it is installed.
 *
 * A graph is a breadth-first walk from the start objects, forward through
 * references or backward through referrers (an rc_refindex), max_depth
 * levels deep. Each object drawn is a node "oN" (N its order of discovery:
 * addresses never reach the DOT); each object expanded draws at most
 * too_many of its references (or referrers) and one "N more" node for the
 * rest. Several references from one object to another make one edge whose
 * label lists them.
 *
 * The DOT text is built in memory (open_memstream) and then written where
 * asked: a FILE *, a .dot/.gv file, or a temporary file that `dot -T<fmt>`
 * turns into x.png / x.svg / x.pdf. `dot` runs through posix_spawnp with an
 * argument vector -- no shell, so no file name can inject a command -- and a
 * relative name starting with '-' is passed as ./-name, so dot cannot read
 * it as an option. When `dot` cannot be run, the DOT goes to x.dot and the
 * call says how to install Graphviz.
 *
 * Every failure to create or write a file is RC_EIO, and its message names
 * the file the caller asked for (and the x.dot fallback when that is what
 * failed) with the system's reason. Output to opts->output is flushed and
 * checked, so a full disk is an error, not a silent 0.
 *
 * Caller-supplied limits (too_many, max_depth) may be as large as SIZE_MAX
 * ("no limit"): the per-object neighbour array grows as neighbours are found
 * rather than being sized from too_many.
 *
 * Escaping: every string that reaches the DOT (type names, reprs, labels,
 * user attributes) goes through put_escaped, which writes `"` and `\` as
 * \" and \\, control bytes and bytes that are not valid UTF-8 as the text
 * \xNN, newline, tab and CR inside user strings as the text \n, \t, \r, and
 * only our own line breaks as DOT's \n.
 */
#include "leak/leak.h"
#include "util/utf8.h"

#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define LABEL_MAX 256

/* ---- escaping ---- */

/* Write s (raw bytes) escaped for the inside of a DOT double-quoted string. */
static void put_escaped(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);
    while (*p) {
        unsigned c = *p;
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc((int)c, f);
            p++;
        } else if (c == '\n') {
            fputs("\\\\n", f);
            p++;
        } else if (c == '\t') {
            fputs("\\\\t", f);
            p++;
        } else if (c == '\r') {
            fputs("\\\\r", f);
            p++;
        } else if (c < 0x20 || c == 0x7F) {
            fprintf(f, "\\\\x%02X", c);
            p++;
        } else {
            size_t n = rc__utf8_len(p, (size_t)(end - p));
            if (!n) {
                fprintf(f, "\\\\x%02X", c);
                p++;
            } else {
                fwrite(p, 1, n, f);
                p += n;
            }
        }
    }
}

/* ---- the graph ---- */

typedef struct gnode {
    rc_head *o;
    size_t depth;
} gnode;

typedef struct graph {
    rc_heap *h;
    const rc_graph_opts *opts;
    size_t max_depth, too_many;
    FILE *f;                 /* the DOT text */
    gnode *nodes;
    size_t len, cap;
    lk_pmap index_of;        /* head -> node number */
    lk_pmap ignore;
    const rc_refindex *idx;  /* for backrefs and refcounts */
    size_t extra_nodes;      /* "N more" nodes */
    bool failed;
} graph;

static void attr_add(void *ctx, const char *name, const char *value)
{
    FILE *f = ctx;
    if (!name || !value) return;
    fputs(", \"", f);
    put_escaped(f, name);
    fputs("\"=\"", f);
    put_escaped(f, value);
    fputc('"', f);
}

/* Write node n's line. */
static void emit_node(graph *g, size_t n)
{
    const rc_graph_opts *opts = g->opts;
    rc_head *o = g->nodes[n].o;
    FILE *f = g->f;
    char buf[LABEL_MAX];
    fprintf(f, "  o%zu [label=\"", n);
    const char *name = opts && opts->name ? opts->name(o + 1, opts->ud) : NULL;
    if (name && *name) {
        put_escaped(f, name);
        fputs(": ", f);
    }
    put_escaped(f, lk_type_name(o));
    if (lk_items_repr(o, buf, sizeof buf) || lk_short_repr(o, buf, sizeof buf)) {
        fputs("\\n", f);
        put_escaped(f, buf);
    }
    if (opts && opts->refcounts) {
        fprintf(f, "\\nrefcount %u", (unsigned)o->refcnt);
        if (g->idx) {
            size_t in;
            rc_refindex_referrers(g->idx, o + 1, &in);
            size_t ext = rc__external_refs(o, in);
            if (ext) fprintf(f, ", %zu from outside", ext);
        }
    }
    if (opts && opts->extra_info) {
        buf[0] = 0;
        opts->extra_info(o + 1, buf, sizeof buf, opts->ud);
        buf[sizeof buf - 1] = 0;
        if (buf[0]) {
            fputs("\\n", f);
            put_escaped(f, buf);
        }
    }
    fputc('"', f);
    size_t d = g->nodes[n].depth;
    bool hl = opts && opts->highlight && opts->highlight(o + 1, opts->ud);
    if (hl) {
        fputs(", fillcolor=\"0.15,0.7,1\"", f);
    } else {
        /* From light red at the start objects to white at max_depth. */
        double sat = 0.35 * (1.0 - (double)d / ((double)g->max_depth + 1.0));
        fprintf(f, ", fillcolor=\"0,%.3f,1\"", sat);
    }
    if (d == 0) fputs(", penwidth=2", f);
    if (opts && opts->node_attrs) opts->node_attrs(o + 1, attr_add, f, opts->ud);
    fputs("];\n", f);
}

/* The node of o, added (and written) at `depth` when new; SIZE_MAX on
 * out-of-memory. *added tells whether it was new. */
static size_t node_of(graph *g, rc_head *o, size_t depth, bool *added)
{
    size_t n = lk_pmap_get(&g->index_of, o);
    *added = false;
    if (n != SIZE_MAX) return n;
    if (!rc__mem_grow(g->h, (void **)&g->nodes, &g->cap, g->len + 1, sizeof *g->nodes) ||
        !lk_pmap_put(g->h, &g->index_of, o, g->len)) {
        g->failed = true;
        return SIZE_MAX;
    }
    g->nodes[g->len] = (gnode){o, depth};
    *added = true;
    n = g->len++;
    emit_node(g, n);
    return n;
}

static bool skip(graph *g, rc_head *o)
{
    if (g->ignore.len && lk_ignored(&g->ignore, o)) return true;
    const rc_graph_opts *opts = g->opts;
    if (opts && opts->filter && !opts->filter(o + 1, opts->ud)) return true;
    return false;
}

static void emit_edge(graph *g, size_t from, size_t to, const char *label)
{
    fprintf(g->f, "  o%zu -> o%zu", from, to);
    if (label && *label) {
        fputs(" [label=\"", g->f);
        put_escaped(g->f, label);
        fputs("\"]", g->f);
    }
    fputs(";\n", g->f);
}

static void emit_too_many(graph *g, size_t n, size_t more, bool backward)
{
    size_t k = g->extra_nodes++;
    fprintf(g->f, "  too_many_%zu [label=\"%zu more %s\", shape=box, style=\"filled,dashed\", "
                  "fillcolor=\"0,0,0.92\"];\n",
            k, more, backward ? (more == 1 ? "referrer" : "referrers") : (more == 1 ? "reference" : "references"));
    if (backward) fprintf(g->f, "  too_many_%zu -> o%zu;\n", k, n);
    else fprintf(g->f, "  o%zu -> too_many_%zu;\n", n, k);
}

/* Forward: the distinct children of one object, at most too_many. */
typedef struct fw_ctx {
    graph *g;
    rc_head **kids;
    size_t nkids, cap, more;
} fw_ctx;

/* Add r to the neighbours drawn (at most too_many; the rest are counted). */
static void kid_add(fw_ctx *c, rc_head *r)
{
    for (size_t i = 0; i < c->nkids; i++)
        if (c->kids[i] == r) return;
    if (c->nkids >= c->g->too_many) {
        c->more++;
        return;
    }
    if (!rc__mem_grow(c->g->h, (void **)&c->kids, &c->cap, c->nkids + 1, sizeof *c->kids)) {
        c->g->failed = true;
        return;
    }
    c->kids[c->nkids++] = r;
}

static void fw_visit(rc_head *child, const rc_edge *e, void *ctx)
{
    fw_ctx *c = ctx;
    (void)e;
    if (skip(c->g, child)) return;
    kid_add(c, child);
}

static void expand(graph *g, size_t n, bool backward)
{
    rc_head *o = g->nodes[n].o;
    size_t depth = g->nodes[n].depth;
    char label[LABEL_MAX];
    fw_ctx c = {g, NULL, 0, 0, 0};
    if (!backward) {
        rc__foreach_edge(o, fw_visit, &c);
    } else {
        size_t nref;
        void *const *refs = rc_refindex_referrers(g->idx, o + 1, &nref);
        for (size_t i = 0; i < nref && !g->failed; i++) {
            if (i && refs[i] == refs[i - 1]) continue;
            rc_head *r = RC_HEAD(refs[i]);
            if (skip(g, r)) continue;
            kid_add(&c, r);
        }
    }
    rc_head **kids = c.kids;
    size_t nkids = c.nkids, more = c.more;
    for (size_t k = 0; k < nkids && !g->failed; k++) {
        bool added;
        size_t m = node_of(g, kids[k], depth + 1, &added);
        if (m == SIZE_MAX) break;
        if (backward) {
            lk_label_between(kids[k], o, label, sizeof label);
            emit_edge(g, m, n, label);
        } else {
            lk_label_between(o, kids[k], label, sizeof label);
            emit_edge(g, n, m, label);
        }
    }
    if (more && !g->failed) emit_too_many(g, n, more, backward);
    lk_free(g->h, kids, c.cap * sizeof *kids);
}

static void graph_begin(graph *g)
{
    fputs("digraph ObjectGraph {\n"
          "  node [shape=box, style=filled, fillcolor=white, fontname=\"Helvetica\"];\n"
          "  edge [fontname=\"Helvetica\", fontsize=10];\n",
          g->f);
}

static void graph_free(graph *g)
{
    lk_free(g->h, g->nodes, g->cap * sizeof *g->nodes);
    lk_pmap_free(g->h, &g->index_of);
    lk_pmap_free(g->h, &g->ignore);
}

/* ---- output ---- */

static const char *ext_of(const char *filename)
{
    const char *dot = strrchr(filename, '.');
    const char *slash = strrchr(filename, '/');
    return dot && (!slash || dot > slash) ? dot + 1 : "";
}

static FILE *log_of(const rc_graph_opts *opts)
{
    if (opts && opts->quiet) return NULL;
    return opts && opts->log ? opts->log : stderr;
}

/* Write text to path: 0, or an errno value (the file is removed when it was
 * created but could not be written whole). */
static int write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) return errno ? errno : EIO;
    errno = 0;
    size_t w = fwrite(text, 1, len, f);
    int bad = w != len || fflush(f) != 0 || ferror(f);
    int err = errno;
    if (fclose(f) != 0 && !bad) bad = 1, err = errno;
    if (!bad) return 0;
    lk_remove_partial(path);
    return err ? err : EIO;
}

/* Run `dot -T<fmt> -o out in`: 0 when it succeeded, 127 when dot could not
 * be run, its exit status (or 128 + signal) otherwise. */
static int run_dot(const char *fmt, const char *out, const char *in)
{
    char targ[16];
    snprintf(targ, sizeof targ, "-T%s", fmt);
    /* dot reads a following "-x" as an option, not as -o's value. */
    char *dashed = NULL;
    if (out[0] == '-') {
        size_t n = strlen(out);
        dashed = malloc(n + 3);
        if (!dashed) return 127;
        memcpy(dashed, "./", 2);
        memcpy(dashed + 2, out, n + 1);
        out = dashed;
    }
    char *argv[] = {"dot", targ, "-o", (char *)out, (char *)in, NULL};
    pid_t pid;
    int sp = posix_spawnp(&pid, "dot", NULL, NULL, argv, environ);
    free(dashed);
    if (sp != 0) return 127;
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return 127;
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* Deliver the DOT text where asked. */
static int deliver(rc_heap *h, const char *text, size_t len, size_t nodes, const char *filename,
                   const rc_graph_opts *opts, const char *call)
{
    FILE *log = log_of(opts);
    if (opts && opts->output) {
        errno = 0;
        if (fwrite(text, 1, len, opts->output) != len || fflush(opts->output) != 0 ||
            ferror(opts->output)) {
            rc__fail(h, RC_EIO, "%s: cannot write the DOT text to opts->output: %s", call,
                     strerror(errno ? errno : EIO));
            return -1;
        }
        return RC_GRAPH_OK;
    }
    const char *ext = ext_of(filename);
    if (!strcmp(ext, "dot") || !strcmp(ext, "gv")) {
        int err = write_file(filename, text, len);
        if (err) {
            rc__fail(h, RC_EIO, "%s: cannot write %s: %s", call, filename, strerror(err));
            return -1;
        }
        if (log) fprintf(log, "Graph written to %s (%zu nodes)\n", filename, nodes);
        return RC_GRAPH_OK;
    }
    /* A picture: a temporary DOT file, then dot. */
    const char *tmpdir = getenv("TMPDIR");
    if (!tmpdir || !*tmpdir) tmpdir = "/tmp";
    size_t tl = strlen(tmpdir) + 32;
    char *tmp = malloc(tl);
    if (!tmp) {
        rc__fail(h, RC_ENOMEM, "%s: out of memory", call);
        return -1;
    }
    snprintf(tmp, tl, "%s/recycle-XXXXXX.dot", tmpdir);
    int fd = mkstemps(tmp, 4);
    if (fd < 0) {
        rc__fail(h, RC_EIO, "%s: cannot make %s: no temporary file for its DOT text in %s: %s", call,
                 filename, tmpdir, strerror(errno));
        free(tmp);
        return -1;
    }
    close(fd);
    int werr = write_file(tmp, text, len);
    if (werr) {
        rc__fail(h, RC_EIO, "%s: cannot make %s: cannot write its DOT text to %s: %s", call, filename, tmp,
                 strerror(werr));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    int st = run_dot(ext, filename, tmp);
    unlink(tmp);
    free(tmp);
    if (st == 0) {
        if (log) fprintf(log, "Image generated as %s (%zu nodes)\n", filename, nodes);
        return RC_GRAPH_OK;
    }
    /* No picture: write x.dot beside where it was asked for. */
    size_t base = strlen(filename) - strlen(ext);
    char *dotname = malloc(base + 4);
    if (!dotname) {
        rc__fail(h, RC_ENOMEM, "%s: out of memory", call);
        return -1;
    }
    memcpy(dotname, filename, base);
    memcpy(dotname + base, "dot", 4);
    int err = write_file(dotname, text, len);
    if (err) {
        if (st == 127)
            rc__fail(h, RC_EIO, "%s: cannot write %s (Graphviz's dot was not found, and the DOT text "
                                "could not be written to %s either: %s)", call, filename, dotname, strerror(err));
        else
            rc__fail(h, RC_EIO, "%s: cannot write %s (`dot -T%s` failed with status %d, and the DOT text "
                                "could not be written to %s either: %s)", call, filename, ext, st, dotname,
                     strerror(err));
    }
    int rc = err ? -1 : 0;
    if (rc == 0 && log) {
        if (st == 127)
            fprintf(log, "recycle: Graphviz's `dot` was not found, so %s was written instead of %s.\n"
                         "  To get pictures, install Graphviz: apt-get install graphviz"
                         " (macOS: brew install graphviz)\n",
                    dotname, filename);
        else
            fprintf(log, "recycle: `dot -T%s` failed (status %d), so %s was written instead of %s\n", ext,
                    st, dotname, filename);
    }
    free(dotname);
    return rc == 0 ? RC_GRAPH_DOT_ONLY : -1;
}

static bool destination_ok(rc_heap *h, const char *filename, const rc_graph_opts *opts, const char *call)
{
    if (opts && opts->output) return true;
    if (!filename) {
        rc__fail(h, RC_EINVAL, "%s: no filename and no opts->output", call);
        return false;
    }
    const char *ext = ext_of(filename);
    static const char *const ok[] = {"dot", "gv", "png", "svg", "pdf"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!strcmp(ext, ok[i])) return true;
    rc__fail(h, RC_EINVAL, "%s: cannot tell the format of '%s': use .dot, .gv, .png, .svg or .pdf", call,
             filename);
    return false;
}

/* Set up g for a call; `need_index`: build one when opts has none. */
static bool graph_init(graph *g, rc_heap *h, const rc_graph_opts *opts, bool need_index,
                       rc_refindex **own, char **text, size_t *len, const char *call)
{
    memset(g, 0, sizeof *g);
    g->h = h;
    g->opts = opts;
    g->max_depth = opts && opts->max_depth ? opts->max_depth : 3;
    g->too_many = opts && opts->too_many ? opts->too_many : 10;
    *own = NULL;
    g->idx = opts ? opts->index : NULL;
    if (!g->idx && (need_index || (opts && opts->refcounts))) {
        *own = rc_refindex_build(h);
        if (!*own) return false;
        g->idx = *own;
    }
    if (opts && !lk_ignore_init(h, &g->ignore, opts->ignore, opts->ignore ? opts->nignore : 0)) {
        rc__fail(h, RC_ENOMEM, "%s: out of memory", call);
        return false;
    }
    g->f = open_memstream(text, len);
    if (!g->f) {
        rc__fail(h, RC_ENOMEM, "%s: out of memory for the DOT text", call);
        return false;
    }
    graph_begin(g);
    return true;
}

/* What every picture call does first: check where it goes and that the
 * heap can be walked, then graph_init; on failure nothing is left open. */
static bool graph_open(graph *g, rc_heap *h, const char *filename, const rc_graph_opts *opts,
                       bool need_index, rc_refindex **own, char **text, size_t *len,
                       const char *call)
{
    *own = NULL;
    if (!destination_ok(h, filename, opts, call)) return false;
    if (!lk_walkable(h, call)) return false;
    if (graph_init(g, h, opts, need_index, own, text, len, call)) return true;
    if (g->f) fclose(g->f);
    free(*text);
    *text = NULL;
    graph_free(g);
    rc_refindex_free(*own);
    return false;
}

/* Close the text, deliver it, free everything. */
static int graph_finish(graph *g, rc_refindex *own, char **text, size_t *len, const char *filename,
                        const char *call)
{
    int rc = -1;
    if (g->f) {
        fputs("}\n", g->f);
        bool bad = ferror(g->f) != 0;
        if (fclose(g->f) != 0) bad = true;   /* text and len are final now */
        if (g->failed || bad) rc__fail(g->h, RC_ENOMEM, "%s: out of memory for the graph", call);
        else rc = deliver(g->h, *text, *len, g->len, filename, g->opts, call);
    }
    free(*text);
    graph_free(g);
    rc_refindex_free(own);
    return rc;
}

static int show(void *const *objs, size_t n, const char *filename, const rc_graph_opts *opts, bool backward,
                const char *call)
{
    rc_heap *h = NULL;
    for (size_t i = 0; i < n && objs; i++)
        if (objs[i]) {
            RC__CHECK(objs[i], call);
            if (rc__region_refused(objs[i], call)) return -1;
            h = rc_heap_of(objs[i]);
            break;
        }
    if (!h) return -1;
    graph g;
    rc_refindex *own;
    char *text = NULL;
    size_t len = 0;
    if (!graph_open(&g, h, filename, opts, backward, &own, &text, &len, call)) return -1;
    for (size_t i = 0; i < n && !g.failed; i++) {
        if (!objs[i] || rc_heap_of(objs[i]) != h) continue;
        bool added;
        node_of(&g, RC_HEAD(objs[i]), 0, &added);
    }
    for (size_t k = 0; k < g.len && !g.failed; k++)
        if (g.nodes[k].depth < g.max_depth) expand(&g, k, backward);
    return graph_finish(&g, own, &text, &len, filename, call);
}

int rc_show_refs(void *const *objs, size_t n, const char *filename, const rc_graph_opts *opts)
{
    return show(objs, n, filename, opts, false, "rc_show_refs");
}

int rc_show_backrefs(void *const *objs, size_t n, const char *filename, const rc_graph_opts *opts)
{
    return show(objs, n, filename, opts, true, "rc_show_backrefs");
}

int rc_show_chain(const rc_chain *const *chains, size_t n, const char *filename, const rc_graph_opts *opts)
{
    static const char call[] = "rc_show_chain";
    const void *first = NULL;
    for (size_t i = 0; i < n && chains && !first; i++)
        if (chains[i] && chains[i]->len) first = chains[i]->objs[0];
    if (!first || rc__region_refused(first, call)) return -1;
    rc_heap *h = rc_heap_of(first);
    RC__HEAP_CHECK(h, call);
    graph g;
    rc_refindex *own;
    char *text = NULL;
    size_t len = 0;
    if (!graph_open(&g, h, filename, opts, false, &own, &text, &len, call)) return -1;
    g.max_depth = 0;
    for (size_t i = 0; i < n; i++) {
        if (!chains[i]) continue;
        size_t len_i = chains[i]->len;
        g.max_depth = len_i > g.max_depth ? len_i : g.max_depth;
    }
    lk_pmap drawn;   /* edges drawn: from * nodes + to, as a pointer-sized key */
    memset(&drawn, 0, sizeof drawn);
    size_t outside = 0;
    for (size_t i = 0; i < n && !g.failed; i++) {
        const rc_chain *c = chains[i];
        if (!c) continue;
        size_t prev = SIZE_MAX;
        for (size_t k = 0; k < c->len && !g.failed; k++) {
            bool added;
            /* Depth counts from the chain's end (the object asked about). */
            size_t m = node_of(&g, RC_HEAD(c->objs[k]), c->len - 1 - k, &added);
            if (m == SIZE_MAX) break;
            if (prev != SIZE_MAX) {
                uintptr_t key = ((uintptr_t)prev << 32 ^ (uintptr_t)m) + 1;
                if (lk_pmap_get(&drawn, (void *)key) == SIZE_MAX) {
                    if (!lk_pmap_put(h, &drawn, (void *)key, 1)) {
                        g.failed = true;
                        break;
                    }
                    emit_edge(&g, prev, m, c->labels[k - 1]);
                }
            }
            prev = m;
        }
        size_t refs[2] = {c->found ? c->holder_refs : 0, c->target_refs};
        size_t at[2] = {0, c->len - 1};
        for (int w = 0; w < 2 && !g.failed; w++) {
            if (!refs[w] || (w == 1 && c->len == 1 && refs[0])) continue;
            size_t m = lk_pmap_get(&g.index_of, RC_HEAD(c->objs[at[w]]));
            if (m == SIZE_MAX) continue;
            size_t k = outside++;
            fprintf(g.f, "  outside_%zu [label=\"outside the heap\\n(C code)\", shape=ellipse, "
                         "style=\"filled,dashed\", fillcolor=\"0.6,0.15,1\"];\n", k);
            fprintf(g.f, "  outside_%zu -> o%zu [label=\"%zu reference%s\", style=dashed];\n", k, m, refs[w],
                    refs[w] == 1 ? "" : "s");
        }
    }
    lk_pmap_free(h, &drawn);
    return graph_finish(&g, own, &text, &len, filename, call);
}
