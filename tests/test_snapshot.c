/* test_snapshot.c -- heap snapshots in the V8 .heapsnapshot format: parsed
 * back here (node and edge counts, names, escaping), and loaded by memlab
 * (tests/snapshot_check.mjs) when node and @memlab/core are installed;
 * without them that test SKIPs (CTest: skipped), and with RC_REQUIRE_TOOLS=1
 * (set by .ci/run, which installs them) it fails. RC_MEMLAB_DIR names the folder where `npm install @memlab/core`
 * ran (default: ./npm in the build folder, else ../build/npm). */
#include "harness.h"
#include "testutil.h"
#include "nodes.h"
#include "failalloc.h"
#include "recycle/builtins.h"
#include "recycle/leak.h"
#include "recycle/weakref.h"
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

NODES_IMPL

/* ---- a small JSON reader: enough to check a snapshot ---- */

typedef struct jp {
    const char *p, *end;
    bool bad;
} jp;

typedef struct numbers {
    double *v;
    size_t n, cap;
} numbers;

typedef struct strings {
    char **v;
    size_t n, cap;
} strings;

static void ws(jp *j)
{
    while (j->p < j->end && isspace((unsigned char)*j->p)) j->p++;
}

static bool eat(jp *j, char c)
{
    ws(j);
    if (j->p < j->end && *j->p == c) {
        j->p++;
        return true;
    }
    return false;
}

/* A JSON string, decoded to UTF-8 (\u00XX below 0x80 as one byte, else as
 * UTF-8); NULL on a syntax error. */
static char *jstring(jp *j)
{
    ws(j);
    if (j->p >= j->end || *j->p != '"') {
        j->bad = true;
        return NULL;
    }
    j->p++;
    size_t cap = 64, n = 0;
    char *s = malloc(cap);
    while (j->p < j->end && *j->p != '"') {
        if (n + 8 > cap) s = realloc(s, cap *= 2);
        unsigned char c = (unsigned char)*j->p++;
        if (c < 0x20) j->bad = true;   /* raw control bytes are not JSON */
        if (c != '\\') {
            s[n++] = (char)c;
            continue;
        }
        char e = *j->p++;
        switch (e) {
        case '"': case '\\': case '/': s[n++] = e; break;
        case 'n': s[n++] = '\n'; break;
        case 't': s[n++] = '\t'; break;
        case 'r': s[n++] = '\r'; break;
        case 'b': s[n++] = '\b'; break;
        case 'f': s[n++] = '\f'; break;
        case 'u': {
            unsigned cp = 0;
            for (int k = 0; k < 4; k++) {
                char x = *j->p++;
                cp = cp * 16 + (unsigned)(isdigit((unsigned char)x) ? x - '0' : tolower((unsigned char)x) - 'a' + 10);
            }
            if (cp < 0x80) s[n++] = (char)cp;
            else if (cp < 0x800) {
                s[n++] = (char)(0xC0 | cp >> 6);
                s[n++] = (char)(0x80 | (cp & 0x3F));
            } else {
                s[n++] = (char)(0xE0 | cp >> 12);
                s[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                s[n++] = (char)(0x80 | (cp & 0x3F));
            }
            break;
        }
        default: j->bad = true;
        }
    }
    if (j->p >= j->end) j->bad = true;
    j->p++;
    s[n] = 0;
    return s;
}

static void skip_value(jp *j);

static void skip_value(jp *j)
{
    ws(j);
    if (j->p >= j->end) {
        j->bad = true;
        return;
    }
    char c = *j->p;
    if (c == '"') {
        free(jstring(j));
    } else if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        j->p++;
        if (eat(j, close)) return;
        do {
            if (c == '{') {
                free(jstring(j));
                if (!eat(j, ':')) j->bad = true;
            }
            skip_value(j);
        } while (!j->bad && eat(j, ','));
        if (!eat(j, close)) j->bad = true;
    } else {
        char *e;
        if (!strncmp(j->p, "true", 4) || !strncmp(j->p, "null", 4)) j->p += 4;
        else if (!strncmp(j->p, "false", 5)) j->p += 5;
        else {
            strtod(j->p, &e);
            if (e == j->p) j->bad = true;
            j->p = e;
        }
    }
}

static void number_array(jp *j, numbers *out)
{
    if (!eat(j, '[')) {
        j->bad = true;
        return;
    }
    if (eat(j, ']')) return;
    do {
        ws(j);
        char *e;
        double v = strtod(j->p, &e);
        if (e == j->p) {
            j->bad = true;
            return;
        }
        j->p = e;
        if (out->n == out->cap) out->v = realloc(out->v, (out->cap = out->cap ? out->cap * 2 : 1024) * sizeof *out->v);
        out->v[out->n++] = v;
    } while (eat(j, ','));
    if (!eat(j, ']')) j->bad = true;
}

static void string_array(jp *j, strings *out)
{
    if (!eat(j, '[')) {
        j->bad = true;
        return;
    }
    if (eat(j, ']')) return;
    do {
        char *s = jstring(j);
        if (!s) return;
        if (out->n == out->cap) out->v = realloc(out->v, (out->cap = out->cap ? out->cap * 2 : 64) * sizeof *out->v);
        out->v[out->n++] = s;
    } while (eat(j, ','));
    if (!eat(j, ']')) j->bad = true;
}

typedef struct parsed {
    double node_count, edge_count;
    numbers nodes, edges;
    strings strs;
    bool ok;
} parsed;

static void parsed_free(parsed *p)
{
    free(p->nodes.v);
    free(p->edges.v);
    for (size_t i = 0; i < p->strs.n; i++) free(p->strs.v[i]);
    free(p->strs.v);
}

static parsed parse_snapshot(const char *text, size_t len)
{
    parsed p;
    memset(&p, 0, sizeof p);
    jp j = {text, text + len, false};
    if (!eat(&j, '{')) return p;
    do {
        char *key = jstring(&j);
        if (!key || !eat(&j, ':')) {
            free(key);
            return p;
        }
        if (!strcmp(key, "snapshot")) {
            if (!eat(&j, '{')) j.bad = true;
            do {
                char *k2 = jstring(&j);
                if (!k2 || !eat(&j, ':')) {
                    free(k2);
                    return p;
                }
                if (!strcmp(k2, "node_count") || !strcmp(k2, "edge_count")) {
                    ws(&j);
                    char *e;
                    double v = strtod(j.p, &e);
                    j.p = e;
                    if (k2[0] == 'n') p.node_count = v;
                    else p.edge_count = v;
                } else {
                    skip_value(&j);
                }
                free(k2);
            } while (!j.bad && eat(&j, ','));
            if (!eat(&j, '}')) j.bad = true;
        } else if (!strcmp(key, "nodes")) {
            number_array(&j, &p.nodes);
        } else if (!strcmp(key, "edges")) {
            number_array(&j, &p.edges);
        } else if (!strcmp(key, "strings")) {
            string_array(&j, &p.strs);
        } else {
            skip_value(&j);
        }
        free(key);
    } while (!j.bad && eat(&j, ','));
    p.ok = !j.bad && eat(&j, '}');
    return p;
}

/* Snapshot of h parsed back; text kept in *text (free it) when asked. */
static parsed snapshot_of(rc_heap *h, char **text_out)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    int rc = rc_heapsnapshot_write(h, f);
    fclose(f);
    parsed p;
    memset(&p, 0, sizeof p);
    if (rc == 0) p = parse_snapshot(text, len);
    if (text_out) *text_out = text;
    else free(text);
    return p;
}

/* Structural checks every snapshot must pass. */
static void check_structure(const parsed *p)
{
    CHECK(p->ok);
    CHECK_EQ_INT(p->nodes.n, p->node_count * 7);
    CHECK_EQ_INT(p->edges.n, p->edge_count * 3);
    double edges = 0;
    for (size_t i = 0; i < p->nodes.n; i += 7) {
        CHECK(p->nodes.v[i] >= 0 && p->nodes.v[i] <= 14);                  /* type */
        CHECK(p->nodes.v[i + 1] >= 0 && p->nodes.v[i + 1] < (double)p->strs.n);  /* name */
        edges += p->nodes.v[i + 4];
    }
    CHECK_EQ_INT(edges, p->edge_count);
    for (size_t i = 0; i < p->edges.n; i += 3) {
        double to = p->edges.v[i + 2];
        CHECK(to >= 0 && to < (double)p->nodes.n && (long long)to % 7 == 0);
        int type = (int)p->edges.v[i];
        if (type != 1 && type != 4) CHECK(p->edges.v[i + 1] < (double)p->strs.n);  /* a string */
    }
    /* ids are unique */
    for (size_t i = 7; i < p->nodes.n; i += 7) CHECK(p->nodes.v[i + 2] == 2.0 * (double)(i / 7));
    CHECK(p->nodes.n >= 7 && p->nodes.v[2] == 1);
}

static size_t nodes_named(const parsed *p, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < p->nodes.n; i += 7)
        if (!strcmp(p->strs.v[(size_t)p->nodes.v[i + 1]], name)) n++;
    return n;
}

TEST(a_snapshot_has_a_node_per_object_and_an_edge_per_reference)
{
    rc_heap *h = quiet_heap();
    rc_list *l = rc_list_new(h, 0);
    rc_dict *d = rc_dict_new(h);
    rc_str *k = rc_str_from_cstr(h, "name");
    node *a = rc_new(h, &node2_type), *b = rc_new(h, &node2_type);
    node_set(a, 1, b);
    rc_list_append(l, rc_obj(a));
    rc_list_append(l, rc_int(3));
    rc_list_append(l, rc_obj(b));
    rc_dict_set(d, rc_obj(k), rc_obj(l));
    rc_decref(a);
    rc_decref(b);
    rc_decref(k);
    rc_decref(l);
    rc_weakref *w = rc_weakref_new(a, NULL, NULL);
    /* objects: d, l, k, a, b, w = 6 (+ root); references: d->k, d->l, l->a, l->b,
     * a->b, w ~> a (weak) = 6, plus root -> d and root -> w. */
    parsed p = snapshot_of(h, NULL);
    check_structure(&p);
    CHECK_EQ_INT(p.node_count, 7);
    CHECK_EQ_INT(p.edge_count, 8);
    CHECK_EQ_INT(nodes_named(&p, "node2"), 2);
    CHECK_EQ_INT(nodes_named(&p, "name"), 1);   /* the str node, named by its bytes */
    CHECK_EQ_INT(nodes_named(&p, "(outside the heap)"), 1);
    CHECK_EQ_INT(p.nodes.v[4], 2);   /* the root's edges */
    /* Edge kinds: the dict's value is a property named by its key. */
    int property = 0, element = 0, internal = 0, weak = 0;
    for (size_t i = 0; i < p.edges.n; i += 3) {
        int type = (int)p.edges.v[i];
        property += type == 2 && !strcmp(p.strs.v[(size_t)p.edges.v[i + 1]], "name");
        element += type == 1;
        internal += type == 3;
        weak += type == 6;
    }
    CHECK_EQ_INT(property, 1);
    CHECK_EQ_INT(element, 2 + 3);   /* root x2, l x2, a's slot 1 */
    CHECK_EQ_INT(internal, 1);
    CHECK_EQ_INT(weak, 1);
    parsed_free(&p);
    rc_decref(w);
    rc_decref(d);
    rc_heap_free(h);
}

TEST(every_string_is_escaped_as_json)
{
    rc_heap *h = quiet_heap();
    static const char *const nasty[] = {"quote \" back \\ slash", "new\nline\ttab\r", "ctl \x01\x1f\x7f",
                                        "bad \xff\xfe\xc3 end", "utf8 \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
                                        "</script><!--"};
    size_t nn = sizeof nasty / sizeof nasty[0];
    rc_dict *d = rc_dict_new(h);
    for (size_t i = 0; i < nn; i++) {
        rc_str *s = rc_str_new(h, nasty[i], strlen(nasty[i]));
        rc_dict_set(d, rc_obj(s), rc_obj(s));
        rc_decref(s);
    }
    static const rc_type odd = {.name = "odd\"type\\\n\xff", .size = 8};
    void *o = rc_new(h, &odd);
    char *text;
    parsed p = snapshot_of(h, &text);
    check_structure(&p);
    CHECK_EQ_INT(p.node_count, 1 + 1 + nn + 1);
    for (size_t i = 0; i < nn; i++) {
        if (nasty[i][0] == 'b') continue;   /* invalid bytes are read back as Latin-1 */
        CHECK_EQ_INT(nodes_named(&p, nasty[i]), 1);
    }
    CHECK_EQ_INT(nodes_named(&p, "bad \xc3\xbf\xc3\xbe\xc3\x83 end"), 1);
    CHECK_EQ_INT(nodes_named(&p, "odd\"type\\\n\xc3\xbf"), 1);
    CHECK(strstr(text, "\\u00ff") != NULL && strstr(text, "\\u0001") != NULL);
    free(text);
    parsed_free(&p);
    rc_decref(o);
    rc_decref(d);
    rc_heap_free(h);
}

TEST(an_empty_heap_gives_the_root_alone)
{
    rc_heap *h = quiet_heap();
    parsed p = snapshot_of(h, NULL);
    check_structure(&p);
    CHECK_EQ_INT(p.node_count, 1);
    CHECK_EQ_INT(p.edge_count, 0);
    parsed_free(&p);
    rc_heap_free(h);
}

TEST(snapshot_calls_fail_cleanly)
{
    rc_heap *h = fa_heap_new();
    rc_gc_disable(h);
    node *a = rc_new(h, &node2_type);
    int rc = -1;
    for (long k = 0; k < 50 && rc != 0; k++) {
        FILE *f = tmpfile();
        fa_arm(k);
        rc = rc_heapsnapshot_write(h, f);
        fa_disarm();
        fclose(f);
        if (rc) CHECK_EQ_INT(rc_heap_error(h), RC_ENOMEM);
    }
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(rc_heapsnapshot_save(h, "/nonexistent-dir/x.heapsnapshot"), -1);
    CHECK_EQ_INT(rc_heap_error(h), RC_EIO);
    rc_decref(a);
    rc_heap_free(h);
}

/* ---- memlab ---- */

static bool have_memlab(const char *dir)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "node -e \"require('module').createRequire(require('path').resolve('%s','package.json'))"
                              "('@memlab/core')\" >/dev/null 2>&1", dir);
    return system(cmd) == 0;
}

/* The folder of this source file, where snapshot_check.mjs sits. */
static void script_path(char *buf, size_t size)
{
    snprintf(buf, size, "%s", __FILE__);
    char *slash = strrchr(buf, '/');
    if (slash) snprintf(slash + 1, size - (size_t)(slash + 1 - buf), "snapshot_check.mjs");
    else snprintf(buf, size, "snapshot_check.mjs");
}

TEST(memlab_loads_the_snapshot_and_sees_the_same_nodes_and_edges)
{
    /* Default: npm/ beside the tests, or in the optimised build beside an
     * ASan build (build/ and build-asan/ side by side, as `make test` has them). */
    const char *dir = getenv("RC_MEMLAB_DIR");
    if (!dir) dir = have_memlab("npm") ? "npm" : "../build/npm";
    if (!have_memlab(dir)) {
        fprintf(stderr, "  node or @memlab/core not found in %s (set RC_MEMLAB_DIR)\n", dir);
        SKIP("node and @memlab/core are needed to load the snapshot");
    }
    rc_heap *h = quiet_heap();
    /* A tree with parent pointers, a dict of lists, strings, a weak reference. */
    enum { DEPTH = 10 };
    node *nodes[1 << DEPTH];
    for (int i = 1; i < (1 << DEPTH); i++) {
        nodes[i] = rc_new(h, &node4_type);
        if (i > 1) {
            node_set(nodes[i], 2, nodes[i / 2]);
            nodes[i / 2]->slot[i % 2] = nodes[i];   /* the parent takes our reference */
        }
    }
    rc_dict *d = rc_dict_new(h);
    for (int i = 0; i < 20; i++) {
        char key[32];
        snprintf(key, sizeof key, "key \"%d\"\n\xff", i);
        rc_str *k = rc_str_from_cstr(h, key);
        rc_list *l = rc_list_new(h, 0);
        rc_list_append(l, rc_obj(nodes[1 + i]));
        rc_list_append(l, rc_obj(k));
        rc_dict_set(d, rc_obj(k), rc_obj(l));
        rc_decref(k);
        rc_decref(l);
    }
    rc_weakref *w = rc_weakref_new(nodes[5], NULL, NULL);
    char path[] = "/tmp/rc_snapshot_XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    REQUIRE(rc_heapsnapshot_save(h, path) == 0);
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    size_t len = (size_t)ftell(f);
    rewind(f);
    char *text = malloc(len);
    CHECK(fread(text, 1, len, f) == len);
    fclose(f);
    parsed p = parse_snapshot(text, len);
    free(text);
    check_structure(&p);
    char script[1024], cmd[4096];
    script_path(script, sizeof script);
    snprintf(cmd, sizeof cmd, "RC_MEMLAB_DIR='%s' node '%s' '%s' %.0f %.0f node4=%d list=20 dict=1 >&2", dir, script,
             path, p.node_count, p.edge_count, (1 << DEPTH) - 1);
    CHECK(system(cmd) == 0);
    parsed_free(&p);
    unlink(path);
    rc_decref(w);
    rc_decref(d);
    rc_decref(nodes[1]);
    rc_gc_collect(h, 2);
    rc_heap_free(h);
}

RC_TEST_MAIN
