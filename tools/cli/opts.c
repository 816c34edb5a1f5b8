/*
 * opts.c -- the one option parser of the `recycle` command (contract in opts.h).
 */
#include "opts.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>

/* One line on stderr: "recycle[ CMD]: ..."; returns 2. */
static int say(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "recycle%s%s: ", cmd && *cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 2;
}

int cli_opts_unknown(const char *cmd, const char *what, const char *arg, const char *const *valid,
                     size_t n, const char *extra)
{
    fprintf(stderr, "recycle%s%s: unknown %s '%s'; valid:", cmd && *cmd ? " " : "", cmd ? cmd : "",
            what, arg);
    for (size_t i = 0; i < n; i++) fprintf(stderr, "%s %s", i ? "," : "", valid[i]);
    if (extra) fprintf(stderr, "%s %s", n ? "," : "", extra);
    if (!n && !extra) fputs(" none", stderr);
    fputc('\n', stderr);
    return 2;
}

static int unknown_option(const cli_cmd *c, const char *arg)
{
    const char *names[CLI_MAX_OPTS];
    size_t n = c->nspec < CLI_MAX_OPTS ? c->nspec : CLI_MAX_OPTS;
    for (size_t i = 0; i < n; i++) names[i] = c->spec[i].name;
    return cli_opts_unknown(c->cmd, "option", arg, names, n, NULL);
}

/* A whole decimal number: an optional '-' then digits only. 1, 0 when it is
 * not one, -1 when it does not fit in a long. */
static int whole(const char *v, long *x)
{
    const char *p = v + (*v == '-');
    char *end;
    if (*p < '0' || *p > '9') return 0;
    errno = 0;
    *x = strtol(v, &end, 10);
    if (*end) return 0;
    return errno == ERANGE ? -1 : 1;
}

static int set_value(const cli_cmd *c, const cli_opt *o, const char *v, long *num, const char **str)
{
    if (o->kind == CLI_OPT_STR) {
        if (!*v) return say(c->cmd, "option %s needs a value, not ''", o->name);
        *str = v;
        return 0;
    }
    long x;
    int w = whole(v, &x);
    if (!w) return say(c->cmd, "%s '%s' is not a whole number", o->name, v);
    if (w < 0 || x < o->min || x > o->max)
        return say(c->cmd, "%s %s is out of range: %ld to %ld%s", o->name, v, o->min, o->max,
                   o->why ? o->why : "");
    *num = x;
    return 0;
}

static int is_valid(const cli_cmd *c, const char *arg)
{
    if (!c->valid) return 1;
    for (size_t i = 0; i < c->nvalid; i++)
        if (!strcmp(c->valid[i], arg)) return 1;
    return 0;
}

int cli_opts_parse(const cli_cmd *c, int argc, char **argv, cli_optvals *out)
{
    int options = 1;
    memset(out, 0, sizeof *out);
    out->spec = c->spec;
    out->n = c->nspec < CLI_MAX_OPTS ? c->nspec : CLI_MAX_OPTS;
    for (size_t i = 0; i < out->n; i++) out->num[i] = c->spec[i].kind == CLI_OPT_INT ? c->spec[i].def : 0;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (options && !strcmp(arg, "--")) {
            options = 0;
            continue;
        }
        if (options && arg[0] == '-' && arg[1]) {
            const char *eq = strchr(arg, '=');
            size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
            int k = -1;
            if (!strcmp(arg, "-h")) arg = "--help", len = 6;
            else if (!strcmp(arg, "-V")) arg = "--version", len = 9;
            for (size_t j = 0; j < out->n && k < 0; j++)
                if (strlen(c->spec[j].name) == len && !strncmp(c->spec[j].name, arg, len)) k = (int)j;
            if (k < 0) return unknown_option(c, argv[i]);
            const cli_opt *o = &c->spec[k];
            if (out->given >> k & 1) return say(c->cmd, "option %s given twice", o->name);
            out->given |= (uint32_t)1 << k;
            if (o->kind == CLI_OPT_FLAG) {
                if (eq) return say(c->cmd, "option %s takes no value", o->name);
                out->num[k] = 1;
                continue;
            }
            const char *v = eq ? eq + 1 : NULL;
            if (!v) {
                if (i + 1 >= argc) return say(c->cmd, "option %s needs a value", o->name);
                v = argv[++i];
            }
            if (set_value(c, o, v, &out->num[k], &out->str[k])) return 2;
            continue;
        }
        if (!c->max_pos || !is_valid(c, arg)) {
            if (!c->max_pos && !c->valid) return say(c->cmd, "unexpected argument '%s'", arg);
            return cli_opts_unknown(c->cmd, c->posword ? c->posword : "argument", arg, c->valid,
                                    c->valid ? c->nvalid : 0, NULL);
        }
        if (out->npos >= c->max_pos || out->npos >= CLI_MAX_POS)
            return say(c->cmd, "too many %ss: at most %zu", c->posword ? c->posword : "argument",
                       c->max_pos < CLI_MAX_POS ? c->max_pos : (size_t)CLI_MAX_POS);
        out->pos[out->npos++] = arg;
    }
    return 0;
}

void cli_opts_pick(const cli_optvals *from, const cli_opt *spec, size_t nspec, cli_optvals *out)
{
    memset(out, 0, sizeof *out);
    out->spec = spec;
    out->n = nspec < CLI_MAX_OPTS ? nspec : CLI_MAX_OPTS;
    for (size_t i = 0; i < out->n; i++) {
        int k = cli_opts_find(from, spec[i].name);
        out->num[i] = spec[i].kind == CLI_OPT_INT ? spec[i].def : 0;
        if (k < 0 || !(from->given >> k & 1)) continue;
        out->num[i] = from->num[k];
        out->str[i] = from->str[k];
        out->given |= (uint32_t)1 << i;
    }
    memcpy(out->pos, from->pos, sizeof out->pos);
    out->npos = from->npos;
}
