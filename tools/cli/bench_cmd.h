/* bench_cmd.h -- `recycle bench` (tools/cli/bench_cmd.c). */
#ifndef RC_TOOLS_BENCH_CMD_H
#define RC_TOOLS_BENCH_CMD_H
#include <stdio.h>

/* Run workload argv[0] ("all" for every one) with options argv[1..], or
 * answer --help / --list. Options are checked before anything runs. Returns
 * the process exit status: 2 for a usage error (one line on stderr). */
int cli_bench_main(int argc, char **argv);
/* The usage of `recycle bench`, the workloads included. */
void cli_bench_usage(FILE *out);
/* The workloads, one per line: two spaces, the name, what it does. */
void cli_bench_list(FILE *out);
#endif
