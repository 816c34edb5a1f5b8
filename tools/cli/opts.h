/*
 * opts.h -- the one option parser of the `recycle` command (tools/cli/opts.c).
 *
 * A command describes its options in a table of cli_opt and its positional
 * arguments in a cli_cmd; cli_opts_parse checks the whole argument list
 * before anything runs. Every usage error is one line on stderr starting
 * "recycle CMD: " and the status 2:
 *
 *   unknown option '--x'; valid: --a, --b      (or "valid: none")
 *   option --n given twice
 *   option --n needs a value                   (also for "--n ''": "..., not ''")
 *   --n '12abc' is not a whole number          (decimal digits, optional '-', nothing else)
 *   --n 0 is out of range: 1 to 1000000000WHY
 *   unknown WORD 'x'; valid: a, b, c           (a positional not in cli_cmd.valid)
 *
 * The types and the accessors are header-only, so bench/ describes its
 * parameters with them and reads them without linking any command code.
 */
#ifndef RC_TOOLS_CLI_OPTS_H
#define RC_TOOLS_CLI_OPTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef enum {
    CLI_OPT_INT,    /* a whole decimal number in [min, max], default `def` */
    CLI_OPT_STR,    /* a non-empty string, default NULL */
    CLI_OPT_FLAG    /* no value: 1 when given, else 0 */
} cli_opt_kind;

/* One option: `name` with its dashes ("--depth"). `why` (may be NULL) ends
 * the out-of-range message, e.g. " (a tree of 2^depth nodes)". */
typedef struct cli_opt {
    const char *name;
    cli_opt_kind kind;
    long min, max, def;
    const char *why;
} cli_opt;

#define CLI_MAX_OPTS 16   /* options in one table */
#define CLI_MAX_POS 32    /* positional arguments in one command line */

/* What cli_opts_parse found. num[i]/str[i] belong to spec[i]; bit i of
 * `given` says it was on the command line. pos[] points into argv. */
typedef struct cli_optvals {
    const cli_opt *spec;
    size_t n;
    long num[CLI_MAX_OPTS];
    const char *str[CLI_MAX_OPTS];
    uint32_t given;
    const char *pos[CLI_MAX_POS];
    size_t npos;
} cli_optvals;

/* A command line to parse: `cmd` names it in messages ("demo", "bench W2";
 * "" for the top level). Positionals: at most `max_pos` (0: none accepted:
 * a positional is then reported as unknown `posword`); when `valid` is not
 * NULL each must be one of valid[0..nvalid-1]. */
typedef struct cli_cmd {
    const char *cmd;
    const cli_opt *spec;
    size_t nspec;
    const char *posword;
    const char *const *valid;
    size_t nvalid;
    size_t max_pos;
} cli_cmd;

/* Parses argv[0..argc-1] against c: "--name value" or "--name=value"; "-h"
 * stands for "--help" and "-V" for "--version" when the table has them;
 * each option at most once; "--" ends the options. Fills *out (defaults for
 * the options not given).
 * Returns 0, or 2 after exactly one line on stderr (see above); nothing is
 * written to stdout. Cost: O(argc * nspec). */
int cli_opts_parse(const cli_cmd *c, int argc, char **argv, cli_optvals *out);

/* "recycle CMD: unknown WHAT 'ARG'; valid: V0, V1, ...[, EXTRA]" on stderr
 * (EXTRA may be NULL); returns 2. */
int cli_opts_unknown(const char *cmd, const char *what, const char *arg, const char *const *valid,
                     size_t n, const char *extra);

/* Whether arg asks for help ("--help" or "-h"). */
static inline int cli_is_help(const char *arg)
{
    return !strcmp(arg, "--help") || !strcmp(arg, "-h");
}

/* The index of option `name` in v's table, or -1. */
static inline int cli_opts_find(const cli_optvals *v, const char *name)
{
    for (size_t i = 0; i < v->n; i++)
        if (!strcmp(v->spec[i].name, name)) return (int)i;
    return -1;
}

/* The value of INT or FLAG option `name` (its default when not given);
 * `name` must be in the table (else 0: a programming error). */
static inline long cli_opts_int(const cli_optvals *v, const char *name)
{
    int i = cli_opts_find(v, name);
    return i < 0 ? 0 : v->num[i];
}

/* The value of STR option `name`, or NULL when not given. */
static inline const char *cli_opts_str(const cli_optvals *v, const char *name)
{
    int i = cli_opts_find(v, name);
    return i < 0 ? NULL : v->str[i];
}

/* Whether option `name` was given. */
static inline int cli_opts_given(const cli_optvals *v, const char *name)
{
    int i = cli_opts_find(v, name);
    return i >= 0 && (v->given >> i & 1);
}

/* The values of `from` seen through another table `spec` (options matched
 * by name; the others at their defaults): how one command line checked
 * against a union of tables is handed to each table's reader. */
void cli_opts_pick(const cli_optvals *from, const cli_opt *spec, size_t nspec, cli_optvals *out);

#endif
