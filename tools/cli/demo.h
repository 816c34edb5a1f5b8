/* demo.h -- `recycle demo`: the seed article's scenarios with their memory lines. */
#ifndef RC_TOOLS_DEMO_H
#define RC_TOOLS_DEMO_H
#include <stdio.h>

/* Run the scenarios named in argv[0..argc-1] (every one, in order, when
 * argc is 0), or list them for --list, or print usage for --help / -h.
 * Returns the process exit status: 0, 1 when a scenario could not run (out of
 * memory), 2 for an unknown scenario or option (one line on stderr naming the
 * valid ones). */
int rc_demo_main(int argc, char **argv);

/* Print the usage of `recycle demo`, its scenarios included. */
void rc_demo_usage(FILE *out);

/* List the scenarios, one per line: two spaces, the name, its summary. */
void rc_demo_list(FILE *out);

#endif
