/* demo_scene.h -- what the scenes of `recycle demo` share: the memory line,
 * the line that explains it, and the scenes kept in files of their own. */
#ifndef RC_TOOLS_DEMO_SCENE_H
#define RC_TOOLS_DEMO_SCENE_H
#include "recycle.h"

#include <stddef.h>

/* "HINT memory used: N MB": the process's USS, as the article's
 * show_memory_info(hint). */
void demo_memory_line(const char *hint);

/* The indented line under a figure that says what happened, printf-style. */
void demo_why(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Report on stderr that `what` could not be built (the heap's message). */
void demo_out_of_memory(rc_heap *heap, const char *what);

/* Use `stale`, an object already released, in a child process built with
 * the debug checks (RC_DEBUG). Returns the signal that stopped the child
 * (SIGABRT when the checks caught it), 0 when it was not stopped, -1 when
 * no child could be made; `msg` gets the first line the child wrote to
 * stderr. */
int demo_use_after_release(const void *stale, char *msg, size_t cap);

/* The generations scene (demo_gens.c): 0, or -1 when memory ran out. */
int demo_generations(rc_heap *heap);

#endif
