/*
 * catalog.c -- W8, the catalog (bench/WORKLOADS.md): rows of a package
 * catalog (name, version, month, summary) made into a dict of name ->
 * 3-tuple of str, every row's name looked up once, then everything dropped.
 *
 * The rows are TSV text in memory before anything is measured: made by the
 * fixed-seed generator below, or read from --input FILE and checked first.
 * The build turns each line into objects (four strs, a tuple, a dict
 * entry), as a program reading a catalog file does; a later row with a
 * name already seen replaces the earlier one's value.
 *
 * The generator is bench/peers/cpython_bench.py's, byte for byte (the
 * CPython peer builds the same rows): tests/catalog_check.sh compares the
 * two with --dump-rows, which prints the rows instead of measuring.
 */
#include "bench.h"

#include "recycle/builtins.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CATALOG_SEED 42u
#define MAX_LINE 65536L                 /* bytes of one --input line, '\n' not counted */
#define MAX_INPUT (1L << 30)            /* bytes of an --input file */

/* ---- the rows as text ---- */

typedef struct text {
    char *p;
    size_t len, cap;
    long rows;
} text;

/* Room for `more` bytes; 0, or -1 when out of memory. */
static int reserve(text *t, size_t more)
{
    if (t->len + more <= t->cap) return 0;
    size_t cap = t->cap ? t->cap : 1 << 20;
    while (cap < t->len + more) cap *= 2;
    char *p = realloc(t->p, cap);
    if (!p) return -1;
    t->p = p;
    t->cap = cap;
    return 0;
}

/* ---- the generator ----
 *
 * A byte stream: the outputs of xorshift64* (shifts 12, 25, 27, multiplier
 * 0x2545F4914F6CDD1D) from the state 42, each as its 8 bytes, least
 * significant first. A number below n (n <= 256) is one byte b: b * n >> 8;
 * below 1000, two bytes lo, hi: (lo | hi << 8) * 1000 >> 16. bench/WORKLOADS.md
 * gives the order in which a row takes them. */

typedef struct rowgen {
    uint64_t state, word;
    unsigned left;          /* bytes of `word` not taken yet */
} rowgen;

static unsigned gen_byte(rowgen *g)
{
    if (!g->left) {
        uint64_t x = g->state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        g->state = x;
        g->word = x * 0x2545F4914F6CDD1Dull;
        g->left = 8;
    }
    unsigned b = (unsigned)(g->word & 255);
    g->word >>= 8;
    g->left--;
    return b;
}

static unsigned below(rowgen *g, unsigned n) { return gen_byte(g) * n >> 8; }

static unsigned below_1000(rowgen *g)
{
    unsigned lo = gen_byte(g), hi = gen_byte(g);
    return (lo | hi << 8) * 1000u >> 16;
}

/* `count` words of `min_len` + below(`len_range`) characters, each byte b
 * becoming first + (b * span >> 8), joined by `sep`. */
static char *put_words(rowgen *g, char *p, unsigned count, unsigned min_len, unsigned len_range,
                       char first, unsigned span, char sep)
{
    for (unsigned w = 0; w < count; w++) {
        if (w) *p++ = sep;
        unsigned len = min_len + below(g, len_range);
        for (unsigned i = 0; i < len; i++) *p++ = (char)(first + (gen_byte(g) * span >> 8));
    }
    return p;
}

/* The longest row: a name of 4 words of 9 letters (39 bytes), then
 * "\t29.99.999\t2026-12\t" (19), a summary of 30 words of 12 characters
 * (389) and the newline. */
#define MAX_ROW (39 + 19 + 389 + 1)

static int generate(text *t, long n)
{
    rowgen g = {.state = CATALOG_SEED};
    for (long r = 0; r < n; r++) {
        if (reserve(t, MAX_ROW + 1)) return -1;   /* + 1: sprintf's NUL */
        char *p = t->p + t->len;
        p = put_words(&g, p, 1 + below(&g, 4), 2, 8, 'a', 26, '-');
        unsigned major = below(&g, 30), minor = below(&g, 100), patch = below_1000(&g);
        unsigned year = 2005 + below(&g, 22), month = 1 + below(&g, 12);
        p += sprintf(p, "\t%u.%u.%u\t%04u-%02u\t", major, minor, patch, year, month);
        p = put_words(&g, p, below(&g, 31), 1, 12, '!', 94, ' ');
        *p++ = '\n';
        t->len = (size_t)(p - t->p);
        t->rows++;
    }
    return 0;
}

/* ---- --input FILE ---- */

/* The length of the UTF-8 sequence at s[0..n-1] (1 to 4), or 0 when it is
 * not one: a stray continuation byte, a truncated sequence, an overlong
 * form, a surrogate, or a code point above U+10FFFF (what a strict decoder,
 * Python's among them, refuses). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len = c < 0x80 ? 1 : c < 0xC2 ? 0 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF5 ? 4 : 0;
    if (len < 2) return len;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    if (c == 0xE0 && s[1] < 0xA0) return 0;   /* overlong */
    if (c == 0xED && s[1] > 0x9F) return 0;   /* surrogate */
    if (c == 0xF0 && s[1] < 0x90) return 0;   /* overlong */
    if (c == 0xF4 && s[1] > 0x8F) return 0;   /* above U+10FFFF */
    return len;
}

/* What is wrong with the line s[0..n-1] ('\n' not included), or NULL. */
static const char *bad_line(const char *s, size_t n, char *why, size_t size)
{
    if (n > (size_t)MAX_LINE) {
        snprintf(why, size, "line longer than %ld bytes", MAX_LINE);
        return why;
    }
    size_t tabs = 0, name_len = n;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\0') return "NUL byte";
        if (c == '\r') return "carriage return (lines must end with \\n alone)";
        if (c == '\t' && tabs++ == 0) name_len = i;
        size_t len = utf8_seq((const unsigned char *)s + i, n - i);
        if (!len) return "not valid UTF-8";
        i += len;
    }
    if (tabs != 3) {
        snprintf(why, size, "%zu field%s, not 4 (name, version, month, summary, separated by tabs)",
                 tabs + 1, tabs ? "s" : "");
        return why;
    }
    if (!name_len) return "empty name";
    return NULL;
}

/* Read and check FILE into t (every line ending with '\n'). 0, or 2 after
 * one line on stderr (1 when out of memory). */
static int load(text *t, const char *path)
{
    /* stat before opening: opening a FIFO would wait for a writer. */
    struct stat st;
    FILE *f = NULL;
    const char *refused = stat(path, &st) != 0     ? strerror(errno)
                          : !S_ISREG(st.st_mode)     ? "not a regular file"
                          : !(f = fopen(path, "rb")) ? strerror(errno)
                                                     : NULL;
    if (refused) {
        fprintf(stderr, "recycle bench W8: --input %s: %s\n", path, refused);
        return 2;
    }
    int status = 0;
    size_t got = 0;
    if (st.st_size > MAX_INPUT) {
        fprintf(stderr, "recycle bench W8: --input %s: larger than %ld bytes\n", path, MAX_INPUT);
        status = 2;
    } else if (reserve(t, (size_t)st.st_size + 1)) {
        fprintf(stderr, "recycle bench W8: --input %s: out of memory\n", path);
        status = 1;
    } else {
        got = fread(t->p, 1, (size_t)st.st_size + 1, f);   /* one more: it grew meanwhile */
        if (ferror(f) || got > (size_t)st.st_size) {
            fprintf(stderr, "recycle bench W8: --input %s: %s\n", path,
                    ferror(f) ? "read error" : "changed while being read");
            status = 2;
        }
    }
    fclose(f);
    if (status) return status;
    if (!got) {
        fprintf(stderr, "recycle bench W8: --input %s: empty file, no rows\n", path);
        return 2;
    }
    if (t->p[got - 1] != '\n') t->p[got++] = '\n';   /* a last line without its newline */
    t->len = got;
    char why[160];
    for (size_t at = 0; at < got;) {
        char *nl = memchr(t->p + at, '\n', got - at);
        const char *bad = bad_line(t->p + at, (size_t)(nl - (t->p + at)), why, sizeof why);
        if (bad) {
            fprintf(stderr, "recycle bench W8: --input %s:%ld: %s\n", path, t->rows + 1, bad);
            return 2;
        }
        t->rows++;
        at = (size_t)(nl - t->p) + 1;
    }
    return 0;
}

/* ---- the workload ---- */

/* A str of s[0..n-1]; NULL when out of memory (counted in *oom). */
static rc_str *field(rc_heap *h, const char *s, size_t n, int *oom)
{
    rc_str *x = rc_str_new(h, s, n);
    if (!x) *oom = 1;
    return x;
}

/* The dict of t's rows: name -> (version, month, summary). NULL when out of
 * memory. */
static rc_dict *build(rc_heap *h, const text *t)
{
    rc_dict *d = rc_dict_new(h);
    int oom = !d;
    for (const char *p = t->p, *end = t->p + t->len; p < end && !oom;) {
        /* Field i runs from f[i] to the tab or newline before f[i + 1]. */
        const char *f[5], *nl = memchr(p, '\n', (size_t)(end - p));
        f[0] = p;
        for (int i = 1; i < 4; i++)
            f[i] = (const char *)memchr(f[i - 1], '\t', (size_t)(nl - f[i - 1])) + 1;
        f[4] = nl + 1;
        rc_str *s[4];
        for (int i = 0; i < 4; i++) s[i] = field(h, f[i], (size_t)(f[i + 1] - 1 - f[i]), &oom);
        rc_tuple *tu = NULL;
        if (!oom) {
            rc_val items[3] = {rc_obj(s[1]), rc_obj(s[2]), rc_obj(s[3])};
            tu = rc_tuple_new(h, 3, items);
            if (!tu || rc_dict_set(d, rc_obj(s[0]), rc_obj(tu)) != 0) oom = 1;
        }
        rc_xdecref(tu);
        for (int i = 0; i < 4; i++) rc_xdecref(s[i]);
        p = nl + 1;
    }
    if (oom) {
        rc_xdecref(d);
        return NULL;
    }
    return d;
}

/* Every row's name as a C string, in row order: the tab after each name in
 * t becomes a NUL (t's rows are not read again). NULL when out of memory. */
static const char **names_of(text *t)
{
    const char **names = malloc((size_t)t->rows * sizeof *names);
    if (!names) return NULL;
    char *p = t->p, *end = t->p + t->len;
    for (long r = 0; r < t->rows; r++) {
        names[r] = p;
        char *tab = memchr(p, '\t', (size_t)(end - p));
        *tab = '\0';
        p = (char *)memchr(tab + 1, '\n', (size_t)(end - tab - 1)) + 1;
    }
    return names;
}

static int run_catalog(const cli_optvals *o)
{
    const char *input = cli_opts_str(o, "--input");
    if (input && cli_opts_given(o, "--n")) {
        fprintf(stderr, "recycle bench W8: --n and --input exclude each other\n");
        return 2;
    }
    text t = {0};
    int status = input ? load(&t, input) : 0;
    if (!input && generate(&t, cli_opts_int(o, "--n"))) {
        fprintf(stderr, "recycle bench W8: out of memory for the rows\n");
        status = 1;
    }
    if (status || cli_opts_int(o, "--dump-rows")) {
        if (!status && fwrite(t.p, 1, t.len, stdout) != t.len) status = 1;
        free(t.p);
        return status;
    }

    rc_heap *h = rc_heap_new(NULL);
    double u0 = bench_uss_bytes();
    double t0 = bench_now_ms();
    rc_dict *d = h ? build(h, &t) : NULL;
    double t1 = bench_now_ms();
    double u1 = bench_uss_bytes();
    const char **names = d ? names_of(&t) : NULL;
    if (!names) {
        fprintf(stderr, "recycle bench W8: out of memory\n");
        rc_xdecref(d);
        if (h) rc_heap_free(h);
        free(t.p);
        return 1;
    }
    size_t keys = rc_dict_len(d);

    long misses = 0;
    uint64_t seen = 0;
    double t2 = bench_now_ms();
    for (long r = 0; r < t.rows; r++) {
        rc_val v = rc_dict_get_str(d, names[r]);
        misses += v == RC_EMPTY;
        seen ^= v;
    }
    double t3 = bench_now_ms();
    free(names);

    double t4 = bench_now_ms();
    rc_decref(d);
    double t5 = bench_now_ms();
    double u2 = bench_uss_bytes();

    if (misses) {
        fprintf(stderr, "recycle bench W8: %ld of %ld names not found (%llx)\n", misses, t.rows,
                (unsigned long long)seen);
        status = 1;
    }
    bench_emit("build_ms", t1 - t0, "ms");
    bench_emit("lookup_ns", (t3 - t2) * 1e6 / (double)t.rows, "ns");
    bench_emit("release_ms", t5 - t4, "ms");
    bench_emit("uss_growth_mb", (u1 - u0) / 1024.0 / 1024.0, "MB");
    bench_emit("uss_after_release_mb", (u2 - u0) / 1024.0 / 1024.0, "MB");
    bench_emit("rows", (double)t.rows, "rows");
    bench_emit("keys", (double)keys, "keys");
    rc_heap_free(h);
    free(t.p);
    return status;
}

static const cli_opt catalog_opts[] = {
    {"--n", CLI_OPT_INT, 1, 1000000000, 1000000, " (rows)"},
    {"--input", CLI_OPT_STR, 0, 0, 0, NULL},
    {"--dump-rows", CLI_OPT_FLAG, 0, 0, 0, NULL},
};

const bench_workload bench_catalog_workload = {
    "W8", "catalog: 1,000,000 rows into a dict of name -> 3-tuple of str, lookups, release",
    catalog_opts, sizeof catalog_opts / sizeof catalog_opts[0], run_catalog};
