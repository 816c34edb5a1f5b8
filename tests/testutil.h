/* testutil.h -- small helpers the tests share: heap counters, quiet heaps,
 * the text a call printed, a temporary folder, DOT pictures, and misuse run
 * in a child process that must abort with a message. */
#ifndef RC_TEST_UTIL_H
#define RC_TEST_UTIL_H

#include "recycle.h"
#include "recycle/leak.h"
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Live objects in `h`. */
static inline size_t live_objects(rc_heap *h)
{
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    return st.objects;
}

/* Bytes of variable buffers (list items, dict tables) in `h`. */
static inline size_t buffer_bytes(rc_heap *h)
{
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    return st.buffer_bytes;
}

/* A heap that collects only when asked (tests that count exactly). */
static inline rc_heap *quiet_heap(void)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_gc_disable(h);
    return h;
}

/* A new heap that never runs in stress mode (rc_gc_set_stress), whatever
 * RC_GC_STRESS says: only for the few tests that check the collection
 * policy (when collections run) or how much one collection frees, which a
 * collection at every allocation legitimately changes. */
static inline rc_heap *unstressed_heap(void)
{
    rc_heap_config cfg;
    rc_heap_config_init(&cfg);
    cfg.gc_stress = -1;
    return rc_heap_new(&cfg);
}

/* The text printed to the temporary stream `f` (which is closed); valid
 * until the next call. */
static inline char *capture(FILE *f)
{
    static char buf[1 << 16];
    fflush(f);
    rewind(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* ---- a temporary folder ---- */

static inline const char *tmp_dir(void);

static inline void tmp_dir_remove_(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir());
    if (system(cmd)) {}
}

/* A folder of its own for this test program, made at the first call (the
 * program aborts when it cannot) and removed at exit. */
static inline const char *tmp_dir(void)
{
    static char dir[64];
    if (!dir[0]) {
        strcpy(dir, "/tmp/rc_test_XXXXXX");
        if (!mkdtemp(dir)) abort();
        atexit(tmp_dir_remove_);
    }
    return dir;
}

/* The path of `name` in tmp_dir(); the last four results stay valid. */
static inline const char *tmp_path(const char *name)
{
    static char buf[4][160];
    static int k;
    const char *dir = tmp_dir();
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

/* ---- pictures ---- */

/* Whether Graphviz's `dot` is installed; callers SKIP(NEED_DOT) when not. */
static inline bool have_dot(void)
{
    return system("dot -V >/dev/null 2>&1") == 0;
}
#define NEED_DOT "Graphviz's dot is not installed (apt-get install graphviz)"

/* The DOT text `show` (rc_show_refs or rc_show_backrefs) writes for objs
 * through opts.output; NULL when it fails. Valid until the next capture. */
static inline char *dot_of(int (*show)(void *const *, size_t, const char *, const rc_graph_opts *),
                           void *const *objs, size_t n, rc_graph_opts opts)
{
    FILE *f = tmpfile();
    opts.output = f;
    int rc = show(objs, n, NULL, &opts);
    char *text = capture(f);
    return rc == RC_GRAPH_OK ? text : NULL;
}

/* How many times `what` occurs in `text` (not overlapping). */
static inline size_t count_of(const char *text, const char *what)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, what)) != NULL; p += strlen(what)) n++;
    return n;
}

/* ---- misuse that must abort, run in a child process ---- */

/* Runs fn in a forked child (which exits 0 when fn returns) and reads the
 * child's stderr into buf (NUL-terminated, cut at size - 1 bytes). Returns
 * the child's wait status, or -1 when no child could be started. */
static inline int child_stderr(void (*fn)(void), char *buf, size_t size)
{
    int fds[2];
    buf[0] = 0;
    if (pipe(fds) != 0) return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        fn();
        _exit(0);   /* fn did not abort: the parent sees a normal exit */
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while (n < size - 1 && (r = read(fds[0], buf + n, size - 1 - n)) > 0) n += (size_t)r;
    buf[n] = 0;
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

/* Whether fn, run in a child, stops with SIGABRT and its stderr contains
 * `want`; when not, prints the child's status and what it said. */
static inline int dies_saying(void (*fn)(void), const char *want)
{
    char buf[4096];
    int status = child_stderr(fn, buf, sizeof buf);
    int ok = status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT && strstr(buf, want) != NULL;
    if (!ok) fprintf(stderr, "  child status %d, said: %s\n", status, buf);
    return ok;
}

#endif
