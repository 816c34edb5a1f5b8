/*
 * benchutil.c -- what the benchmark programs share: clock, memory, output,
 * options, and the W4 tree.
 */
#include "benchutil.h"

#include "recycle/memory.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const rc_type bench_tree_type = {.name = "tree_node", .size = sizeof(bench_tnode), .nslots = 3};

double bench_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

double bench_uss_bytes(void)
{
    rc_procmem m;
    rc_process_memory(&m);
    return (double)m.uss;
}

double bench_uss_mb(void) { return bench_uss_bytes() / 1024.0 / 1024.0; }

void bench_emit(const char *name, double value, const char *unit)
{
    printf("%s %.3f %s\n", name, value, unit);
    fflush(stdout);
}

/* Every option a workload may take, with the values it accepts. A string
 * option has min > max. */
static const struct bench_optdef {
    const char *name;
    long min, max;
    const char *why;   /* said when a number is out of range */
} optdefs[] = {
    {"--n", 1, 1000000000, ""},
    {"--depth", 1, 30, " (a tree of 2^depth nodes)"},
    {"--young", 4, 1000000000, " (the young set is made of groups of 4 objects)"},
    {"--ring", 1, 100000000, ""},
    {"--seconds", 1, 86400, ""},
    {"--print", 0, 1, ""},
    {"--dir", 1, 0, ""},
};
#define NOPTDEFS (sizeof optdefs / sizeof optdefs[0])

/* Whether `name` is a word of the space-separated list `list`. */
static int in_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == 0)) return 1;
    return 0;
}

int bench_check_opts(int argc, char **argv, const char *accepted, const char *workload)
{
    for (int i = 0; i < argc; i += 2) {
        const char *name = argv[i];
        const struct bench_optdef *d = NULL;
        for (size_t k = 0; k < NOPTDEFS && !d; k++)
            if (!strcmp(optdefs[k].name, name)) d = &optdefs[k];
        if (!d || !in_list(accepted, name)) {
            fprintf(stderr, "recycle bench %s: unknown option '%s'; valid: %s\n", workload, name,
                    *accepted ? accepted : "none");
            return 2;
        }
        for (int j = 0; j < i; j += 2)
            if (!strcmp(argv[j], name)) {
                fprintf(stderr, "recycle bench %s: option %s given twice\n", workload, name);
                return 2;
            }
        if (i + 1 >= argc) {
            fprintf(stderr, "recycle bench %s: option %s needs a value\n", workload, name);
            return 2;
        }
        const char *v = argv[i + 1];
        if (d->min > d->max) {   /* a string */
            if (!*v) {
                fprintf(stderr, "recycle bench %s: option %s needs a value, not ''\n", workload, name);
                return 2;
            }
            continue;
        }
        char *end;
        errno = 0;
        long x = strtol(v, &end, 10);
        if (!*v || *end || (*v != '-' && (*v < '0' || *v > '9'))) {
            fprintf(stderr, "recycle bench %s: %s '%s' is not a whole number\n", workload, name, v);
            return 2;
        }
        if (errno == ERANGE || x < d->min || x > d->max) {
            fprintf(stderr, "recycle bench %s: %s %s is out of range: %ld to %ld%s\n", workload, name, v,
                    d->min, d->max, d->why);
            return 2;
        }
    }
    return 0;
}

long bench_opt_long(int argc, char **argv, const char *name, long def)
{
    for (int i = 0; i + 1 < argc; i++)
        if (!strcmp(argv[i], name)) return strtol(argv[i + 1], NULL, 10);
    return def;
}

const char *bench_opt_str(int argc, char **argv, const char *name, const char *def)
{
    for (int i = 0; i + 1 < argc; i++)
        if (!strcmp(argv[i], name)) return argv[i + 1];
    return def;
}

bench_tnode *bench_build_tree(rc_heap *h, int depth, bench_tnode *parent)
{
    bench_tnode *n = rc_new(h, &bench_tree_type);
    if (parent) {
        rc_incref(parent);
        n->parent = parent;
    }
    if (depth > 1) {
        n->left = bench_build_tree(h, depth - 1, n);
        n->right = bench_build_tree(h, depth - 1, n);
    }
    return n;
}
