/*
 * recycle -- the command. Dispatch only: each command lives in its own file
 * (demo: tools/cli/demo.c, bench: tools/cli/bench_cmd.c over the bench library).
 * A new command is one row in `commands` and a usage function; every command
 * line is checked by the one parser of tools/cli/opts.h.
 *
 * Exit status: 0 on success, 1 when a command fails -- including when a file
 * it writes, or its standard output, cannot be written (full disk,
 * unwritable directory): the message names the file and the system's
 * reason -- and 2 for a usage error (unknown command, option or name, a
 * missing value, a number that is not one or is out of range), reported in
 * one line on stderr.
 */
#include "recycle.h"
#include "bench_cmd.h"
#include "demo.h"
#include "opts.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ---- the table of commands ---- */

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);

static const struct command {
    const char *name, *args, *summary;
    int (*run)(int argc, char **argv);
    void (*usage)(FILE *out);
} commands[] = {
    {"demo", "[NAME...|--list]", "the seed article's scenarios, with memory after each step",
     rc_demo_main, rc_demo_usage},
    {"bench", "WORKLOAD|all [OPTIONS]", "the benchmark workloads W1-W6, one metric per line",
     cli_bench_main, cli_bench_usage},
    {"help", "[COMMAND]", "this text, or one command's usage", cmd_help, NULL},
    {"version", "", "the version (as -V and --version)", cmd_version, NULL},
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
          "  -V, --version                  the version\n", out);
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (!commands[i].usage) continue;
        fputc('\n', out);
        commands[i].usage(out);
    }
}

/* The names of the commands, for messages. */
static size_t names(const char **out)
{
    for (size_t i = 0; i < NCOMMANDS; i++) out[i] = commands[i].name;
    return NCOMMANDS;
}

static int cmd_help(int argc, char **argv)
{
    const char *valid[NCOMMANDS];
    cli_cmd c = {.cmd = "help", .posword = "command", .valid = valid, .nvalid = names(valid), .max_pos = 1};
    cli_optvals v;
    if (cli_opts_parse(&c, argc, argv, &v)) return 2;
    const struct command *cmd = v.npos ? find(v.pos[0]) : NULL;
    if (cmd && cmd->usage) cmd->usage(stdout);
    else usage(stdout);
    return 0;
}

/* `recycle version`, `recycle --version`, `recycle -V`: the version of the
 * library this command runs with (rc_version). */
static int print_version(void)
{
    printf("recycle %s\n", rc_version());
    return 0;
}

static int cmd_version(int argc, char **argv)
{
    cli_cmd c = {.cmd = "version"};
    cli_optvals v;
    if (cli_opts_parse(&c, argc, argv, &v)) return 2;
    return print_version();
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
    static const cli_opt top[] = {{"--help", CLI_OPT_FLAG, 0, 0, 0, NULL},
                                  {"--version", CLI_OPT_FLAG, 0, 0, 0, NULL}};
    if (argc >= 2 && argv[1][0] == '-') {
        cli_cmd c = {.cmd = "", .spec = top, .nspec = 2};
        cli_optvals v;
        if (cli_opts_parse(&c, argc - 1, argv + 1, &v)) return 2;
        if (cli_opts_int(&v, "--version") && !cli_opts_int(&v, "--help")) return print_version();
    }
    if (argc < 2 || argv[1][0] == '-') {
        usage(stdout);
        return 0;
    }
    const struct command *c = find(argv[1]);
    if (!c) {
        const char *valid[NCOMMANDS];
        return cli_opts_unknown("", "command", argv[1], valid, names(valid), "--help, --version");
    }
    return c->run(argc - 2, argv + 2);
}
