/*
 * bench_cmd.c -- `recycle bench`: usage, --list, and running the workloads
 * of the bench library (bench/bench.h) with their options checked first.
 */
#include "bench_cmd.h"
#include "bench.h"
#include "opts.h"

#include <stdio.h>
#include <string.h>

void cli_bench_list(FILE *out)
{
    size_t n;
    const bench_workload *w = bench_workloads(&n);
    for (size_t i = 0; i < n; i++) fprintf(out, "  %-4s %s\n", w[i].name, w[i].what);
}

void cli_bench_usage(FILE *out)
{
    fputs("usage: recycle bench WORKLOAD|all [OPTIONS]   run one workload, or every one\n"
          "       recycle bench --list                   list the workloads\n"
          "Runs the workloads defined in bench/WORKLOADS.md (shapes, metrics, the W8 row\n"
          "generator) and prints one `name value unit` line per metric (times from\n"
          "CLOCK_MONOTONIC, memory as USS in MB). Options, each read by the workloads it\n"
          "applies to (--name VALUE or --name=VALUE):\n"
          "  --n N          number of items, objects or rows, 1 to 10^9 (W1, W1c, W2, W3, W8,\n"
          "                 hashflood)\n"
          "  --depth N      tree depth, 1 to 30 (W4 to W7, W9, W11; leak: 4 to 28)\n"
          "  --young N      objects in the young collection, 4 to 10^9 (W4)\n"
          "  --ring N       slots of the ring of cycles, 1 to 10^8 (W6)\n"
          "  --seconds N    how long to run, 1 to 86400 (W6)\n"
          "  --print 0|1    print binary-trees' own output (W5, W5p)\n"
          "  --threads N    threads at once, 1 to 64 (W9, W11)\n"
          "  --traversals N full traversals of the tree per reader, 1 to 10^6 (W11)\n"
          "  --input FILE   W8's rows from a TSV file (name, version, month, summary) instead\n"
          "                 of the generator; a file breaking bench/WORKLOADS.md's rules:\n"
          "                 exit status 2 with the line and the rule\n"
          "  --dump-rows    W8: print the rows as TSV instead of measuring\n"
          "  --dir PATH     where the snapshot is written (leak)\n"
          "An option the workload does not read, one given twice, a missing value, or a number\n"
          "that is not one or is out of range is a usage error (exit status 2); nothing runs.\n"
          "workloads:\n", out);
    cli_bench_list(out);
}

/* The options of every workload in w[0..n-1]: for a name several read, the
 * range all of them accept. Returns their number. */
static size_t union_of(const bench_workload *w, size_t n, cli_opt *u)
{
    size_t nu = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < w[i].nopts; j++) {
            const cli_opt *o = &w[i].opts[j];
            size_t k = 0;
            while (k < nu && strcmp(u[k].name, o->name)) k++;
            if (k == nu) {
                if (nu == CLI_MAX_OPTS) continue;   /* more than a table holds: not read */
                u[nu++] = *o;
            } else {
                if (o->min > u[k].min) u[k].min = o->min;
                if (o->max < u[k].max) u[k].max = o->max;
            }
        }
    return nu;
}

int cli_bench_main(int argc, char **argv)
{
    static const cli_opt top[] = {{"--help", CLI_OPT_FLAG, 0, 0, 0, NULL},
                                  {"--list", CLI_OPT_FLAG, 0, 0, 0, NULL}};
    size_t n;
    const bench_workload *w = bench_workloads(&n);
    if (argc < 1) {
        fprintf(stderr, "recycle bench: name a workload or 'all' (recycle bench --list lists them)\n");
        return 2;
    }
    if (argv[0][0] == '-') {
        cli_cmd c = {.cmd = "bench", .spec = top, .nspec = 2};
        cli_optvals v;
        if (cli_opts_parse(&c, argc, argv, &v)) return 2;
        if (cli_opts_int(&v, "--help")) cli_bench_usage(stdout);
        else cli_bench_list(stdout);
        return 0;
    }
    const char *name = argv[0];
    int all = !strcmp(name, "all");
    size_t first = 0, last = n;
    if (!all) {
        while (first < n && strcmp(w[first].name, name)) first++;
        if (first == n) {
            const char *names[32];
            size_t k = 0;
            names[k++] = "all";
            for (size_t i = 0; i < n && k < 32; i++) names[k++] = w[i].name;
            return cli_opts_unknown("bench", "workload", name, names, k, NULL);
        }
        last = first + 1;
    }
    cli_opt u[CLI_MAX_OPTS];
    char cmd[64];
    snprintf(cmd, sizeof cmd, "bench %s", name);
    cli_cmd c = {.cmd = cmd, .spec = u, .nspec = union_of(w + first, last - first, u)};
    cli_optvals given;
    if (cli_opts_parse(&c, argc - 1, argv + 1, &given)) return 2;
    for (size_t i = first; i < last; i++) {
        cli_optvals mine;
        cli_opts_pick(&given, w[i].opts, w[i].nopts, &mine);
        if (all) printf("# %s\n", w[i].name);
        int rc = w[i].run(&mine);
        if (rc) return rc;
    }
    return 0;
}
