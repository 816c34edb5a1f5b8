/*
 * recycle -- the command. Dispatch only: each command lives in its own file
 * (demo: tools/cli/demo.c, bench: bench/workloads.c). A new command is one row in
 * `commands` and a usage function.
 *
 * Exit status: 0 on success, 1 when a command fails -- including when a file
 * it writes, or its standard output, cannot be written (full disk,
 * unwritable directory): the message names the file and the system's
 * reason -- and 2 for a usage error (unknown command, option or name, a
 * missing value, a number that is not one or is out of range), reported in
 * one line on stderr.
 */
#include "recycle.h"
#include "demo.h"
#include "workloads.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int is_help(const char *arg)
{
    return !strcmp(arg, "--help") || !strcmp(arg, "-h");
}

/* ---- bench: rc_bench_main runs it; usage and --list are answered here ---- */

static void bench_usage(FILE *out)
{
    fputs("usage: recycle bench WORKLOAD|all [OPTIONS]   run one workload, or every one\n"
          "       recycle bench --list                   list the workloads\n"
          "Runs the workloads of bench/WORKLOADS.md and prints one `name value unit` line per\n"
          "metric (times from CLOCK_MONOTONIC, memory as USS in MB). Options, each read by the\n"
          "workloads it applies to:\n"
          "  --n N          number of items or objects, 1 to 10^9 (W1, W1c, W2, W3, hashflood)\n"
          "  --depth N      tree depth, 1 to 30 (W4, W5, W5p, W6; leak: 4 to 28)\n"
          "  --young N      objects in the young collection, 4 to 10^9 (W4)\n"
          "  --ring N       slots of the ring of cycles, 1 to 10^8 (W6)\n"
          "  --seconds N    how long to run, 1 to 86400 (W6)\n"
          "  --print 0|1    print binary-trees' own output (W5, W5p)\n"
          "  --dir PATH     where the snapshot is written (leak)\n"
          "An option the workload does not read, a missing value, or a number that is not\n"
          "one or is out of range is a usage error (exit status 2); nothing runs.\n"
          "workloads:\n", out);
    rc_bench_list(out);
}

static int cmd_bench(int argc, char **argv)
{
    if (argc > 0 && is_help(argv[0])) {
        bench_usage(stdout);
        return 0;
    }
    if (argc > 0 && !strcmp(argv[0], "--list")) {
        rc_bench_list(stdout);
        return 0;
    }
    return rc_bench_main(argc, argv);
}

/* ---- the table of commands ---- */

static int cmd_help(int argc, char **argv);

static const struct command {
    const char *name, *args, *summary;
    int (*run)(int argc, char **argv);
    void (*usage)(FILE *out);
} commands[] = {
    {"demo", "[NAME...|--list]", "the seed article's scenarios, with memory after each step",
     rc_demo_main, rc_demo_usage},
    {"bench", "WORKLOAD|all [OPTIONS]", "the benchmark workloads W1-W6, one metric per line",
     cmd_bench, bench_usage},
    {"help", "[COMMAND]", "this text, or one command's usage", cmd_help, NULL},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const struct command *find(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(name, commands[i].name)) return &commands[i];
    return NULL;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: recycle COMMAND [ARGS]\n"
                 "recycle %d.%d.%d: Python-style memory management for C (refcounting plus a\n"
                 "generational cycle collector). This command shows it at work.\n\ncommands:\n",
            RC_VERSION_MAJOR, RC_VERSION_MINOR, RC_VERSION_PATCH);
    for (size_t i = 0; i < NCOMMANDS; i++) {
        char head[64];
        snprintf(head, sizeof head, "%s %s", commands[i].name, commands[i].args);
        fprintf(out, "  %-30s %s\n", head, commands[i].summary);
    }
    fputs("options:\n"
          "  -h, --help                     this text\n"
          "  --version                      the version\n", out);
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (!commands[i].usage) continue;
        fputc('\n', out);
        commands[i].usage(out);
    }
}

/* "unknown WHAT 'ARG'; valid: ..." on stderr; returns 2. */
static int unknown(const char *what, const char *arg)
{
    fprintf(stderr, "recycle: unknown %s '%s'; valid:", what, arg);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(stderr, " %s,", commands[i].name);
    fputs(" --help, --version\n", stderr);
    return 2;
}

static int cmd_help(int argc, char **argv)
{
    const struct command *c;
    if (argc == 0) {
        usage(stdout);
        return 0;
    }
    c = find(argv[0]);
    if (!c) return unknown("command", argv[0]);
    if (c->usage) c->usage(stdout);
    else usage(stdout);
    return 0;
}

static int run(int argc, char **argv);

/* The command's status, made 1 when standard output could not be written. */
int main(int argc, char **argv)
{
    int rc = run(argc, argv);
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "recycle: cannot write to standard output: %s\n", strerror(errno ? errno : EIO));
        if (rc == 0) rc = 1;
    }
    return rc;
}

static int run(int argc, char **argv)
{
    const struct command *c;
    if (argc < 2 || is_help(argv[1])) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("recycle %d.%d.%d\n", RC_VERSION_MAJOR, RC_VERSION_MINOR, RC_VERSION_PATCH);
        return 0;
    }
    c = find(argv[1]);
    if (!c) return unknown(argv[1][0] == '-' ? "option" : "command", argv[1]);
    return c->run(argc - 2, argv + 2);
}
