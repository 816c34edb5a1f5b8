/*
 * demo.c -- `recycle demo`: the seed article's scenarios, in C with recycle.
 *
 * The article (Python memory management, measured with psutil) builds a list
 * of 10,000,000 integers and prints the process's USS after each step:
 * inside a function, in a global, returned to the caller, while names,
 * containers and calls hold it, after `del` plus gc.collect(), and as a cycle
 * of two lists. Each scenario here does the same with an rc_list and prints
 * the same lines ("after a created memory used: 76.6 MB"), each followed by
 * one indented line saying what happened in recycle's terms.
 *
 * A "function" is a C function (kept out of line) whose local references go
 * when it returns. Each scenario runs in a heap of its own, created and freed
 * around it, and prints its baseline first, so scenarios do not disturb one
 * another's figures.
 */
/* Every rc_new and built-in constructor here records its line while the
 * leak scene traces allocation sites. */
#define RC_TRACE_SITES 1
#include "demo.h"
#include "demo_scene.h"
#include "opts.h"

#include "recycle.h"
#include "recycle/builtins.h"
#include "recycle/leak.h"
#include "recycle/memory.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define NITEMS 10000000L
#define NITEMS_TEXT "10,000,000"

#if defined(__SANITIZE_ADDRESS__)
#define DEMO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DEMO_ASAN 1
#endif
#endif

/* ---- output: a figure line, then one line of explanation ---- */

void demo_memory_line(const char *hint)
{
    double mb = rc_process_uss_mb();
    if (mb < 0)
        printf("%s memory used: unknown (/proc/self/smaps_rollup unreadable)\n", hint);
    else
        printf("%s memory used: %.1f MB\n", hint, mb);
}

/* "refcount of a HINT: N", as the article's print(sys.getrefcount(a)). */
static void refcount_line(const char *hint, const void *obj)
{
    printf("refcount of a%s%s: %u\n", *hint ? " " : "", hint, (unsigned)rc_refcount(obj));
}

void demo_why(const char *fmt, ...)
{
    va_list ap;
    fputs("  ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

void demo_out_of_memory(rc_heap *heap, const char *what)
{
    fflush(stdout);
    fprintf(stderr, "recycle demo: cannot build %s: %s\n", what, rc_heap_error_message(heap));
}

/* a = [i for i in range(10_000_000)]: a NEW reference, or NULL (reported). */
static rc_list *new_int_list(rc_heap *heap)
{
    rc_list *a = rc_list_new(heap, 0);
    if (!a) goto fail;
    for (long i = 0; i < NITEMS; i++) {
        if (rc_list_append(a, rc_int(i)) < 0) {
            rc_decref(a);
            goto fail;
        }
    }
    return a;
fail:
    demo_out_of_memory(heap, "a list of " NITEMS_TEXT " integers");
    return NULL;
}

#define NOINLINE __attribute__((noinline))

/* ---- function: built inside a function, gone when it returns ---- */

static NOINLINE int function_func(rc_heap *heap)
{
    rc_list *a = new_int_list(heap);
    if (!a) return -1;
    demo_memory_line("after a created");
    demo_why("func() built a = [0, 1, ..., 9,999,999]: rc_list_append(rc_int(i)), 8 bytes per integer");
    rc_decref(a);   /* a goes out of scope */
    return 0;
}

static int demo_function(rc_heap *heap)
{
    if (function_func(heap) < 0) return -1;
    demo_memory_line("finished");
    demo_why("func() dropped its only reference as it returned: the count hit 0, the list was freed at once");
    return 0;
}

/* ---- global: kept in a global, stays after the function returns ---- */

static rc_list *global_a;

static NOINLINE int global_func(rc_heap *heap)
{
    rc_list *a = new_int_list(heap);
    if (!a) return -1;
    global_a = a;   /* the reference moves to the global: no incref, no decref */
    demo_memory_line("after a created");
    demo_why("func() built the list and moved its reference into a static rc_list *global_a (Python: global a)");
    return 0;
}

static int demo_global(rc_heap *heap)
{
    if (global_func(heap) < 0) return -1;
    demo_memory_line("finished");
    demo_why("func() returned, but global_a still owns a reference (refcount %u): the list stays",
        (unsigned)rc_refcount(global_a));
    rc_decref(global_a);
    global_a = NULL;
    demo_memory_line("after global_a released");
    demo_why("rc_decref(global_a); global_a = NULL: the last reference went, and the list with it");
    return 0;
}

/* ---- returned: handed to the caller, who then owns it ---- */

static NOINLINE rc_list *returned_func(rc_heap *heap)
{
    rc_list *a = new_int_list(heap);
    if (!a) return NULL;
    demo_memory_line("after a created");
    demo_why("func() built the list and returns it: its reference passes to the caller, untouched");
    return a;
}

static int demo_returned(rc_heap *heap)
{
    rc_list *a = returned_func(heap);
    if (!a) return -1;
    demo_memory_line("finished");
    demo_why("a = func(): the caller owns the reference now (refcount %u), so the list stays",
        (unsigned)rc_refcount(a));
    rc_decref(a);
    demo_memory_line("after a released");
    demo_why("the caller's rc_decref(a) dropped the last reference: the list was freed at once");
    return 0;
}

/* ---- refcounts: names, containers and calls each hold one reference ---- */

/* A function that keeps its argument alive while it runs: a borrowed pointer
 * it increfs on entry and decrefs on return. */
static NOINLINE void refcounts_func(rc_list *arg)
{
    rc_incref(arg);
    refcount_line("inside func(a)", arg);
    demo_why("func() holds its argument for the duration of the call (rc_incref), as a Python frame does");
    rc_decref(arg);
}

static int demo_refcounts(rc_heap *heap)
{
    rc_list *a = new_int_list(heap), *b, *c = NULL;
    rc_dict *d = NULL;
    rc_str *key = NULL;
    if (!a) return -1;
    demo_memory_line("after a created");
    demo_why("a = [0, 1, ..., 9,999,999]: rc_list_new returned a new reference, owned by a");
    refcount_line("", a);
    demo_why("rc_refcount reads the count without adding to it (Python's sys.getrefcount(a) says 2)");

    b = a;
    rc_incref(b);
    refcount_line("after b = a", a);
    demo_why("a second owner: b = a, then rc_incref(b)");

    c = rc_list_new(heap, 1);
    if (!c || rc_list_append(c, rc_obj(a)) < 0) goto oom;
    refcount_line("after c = [a]", a);
    demo_why("a list holds it: rc_list_append(c, rc_obj(a)) took the list's own reference");

    d = rc_dict_new(heap);
    key = d ? rc_str_from_cstr(heap, "a") : NULL;
    if (!key || rc_dict_set(d, rc_obj(key), rc_obj(a)) < 0) goto oom;
    rc_decref(key);   /* the dict holds its own reference to the key */
    key = NULL;
    refcount_line("after d = {\"a\": a}", a);
    demo_why("a dict holds it: rc_dict_set took its own references to the key and to the value");

    refcounts_func(a);
    refcount_line("after func(a) returned", a);
    demo_why("func() dropped its reference as it returned");

    rc_decref(b);
    b = NULL;
    refcount_line("after b released", a);
    demo_why("rc_decref(b); b = NULL (Python: del b): one owner fewer");

    rc_decref(c);
    c = NULL;
    refcount_line("after c released", a);
    demo_why("c's count hit 0: freeing c dropped every reference it held, a's among them");

    rc_decref(d);
    d = NULL;
    refcount_line("after d released", a);
    demo_why("the same for d: a is the only owner left");
    demo_memory_line("before a released");
    demo_why("one reference is enough to keep all " NITEMS_TEXT " integers alive");

    rc_decref(a);
    demo_memory_line("after a released");
    demo_why("rc_decref(a) took the count from 1 to 0: the list was freed at once");
    return 0;
oom:
    demo_out_of_memory(heap, "the containers");
    rc_xdecref(key);
    rc_xdecref(d);
    rc_xdecref(c);
    rc_decref(b);
    rc_decref(a);
    return -1;
}

/* ---- release: explicit release, then a collection ---- */

static int demo_release(rc_heap *heap)
{
    rc_list *a = new_int_list(heap);
    if (!a) return -1;
    demo_memory_line("after a created");
    demo_why("a = [0, 1, ..., 9,999,999], built at the top level this time");
    const void *stale = a;
    rc_decref(a);
    a = NULL;
    demo_memory_line("after del a");
    demo_why("rc_decref(a); a = NULL (Python: del a): the only reference went, so the list is freed now");
    char msg[512];
    int sig = demo_use_after_release(stale, msg, sizeof msg);
    if (sig > 0) {
        printf("print(a) after del a: stopped by signal %d (%s)\n", sig, strsignal(sig));
        demo_why("%s", msg);
        if (strstr(msg, "freed object"))
            demo_why("Python says NameError; in C the pointer is still there, so the debug checks "
                     "(RC_DEBUG, in a child process here) name the call and the freed object instead");
        else
            demo_why("Python says NameError; in C the pointer is still there, so the debug checks "
                     "(RC_DEBUG, in a child process here) stop the call: the list's page went back "
                     "to the system with it, so no heap is found there");
    } else {
        printf("print(a) after del a: %s\n", sig == 0 ? "not caught" : "could not run the child");
        demo_why("%s", msg[0] ? msg : "the debug checks did not stop the use");
    }
    size_t n = rc_gc_collect(heap, 2);
    printf("rc_gc_collect(heap, 2) found %zu unreachable objects\n", n);
    if (n == 0)
        demo_why("a full collection (Python: gc.collect()) found nothing left: refcounting had freed the list");
    else
        demo_why("a full collection (Python: gc.collect()) freed objects that only held each other");
    demo_memory_line("finish");
    demo_why("memory fell at rc_decref, not at rc_gc_collect: only cycles wait for the collector");
    return 0;
}

/* ---- cycle: two lists that hold each other ---- */

static NOINLINE int cycle_func(rc_heap *heap)
{
    rc_list *a = new_int_list(heap);
    rc_list *b = a ? new_int_list(heap) : NULL;
    if (!b) {
        rc_xdecref(a);
        return -1;
    }
    demo_memory_line("after a, b created");
    demo_why("func() built two lists of " NITEMS_TEXT " integers each");
    if (rc_list_append(a, rc_obj(b)) < 0 || rc_list_append(b, rc_obj(a)) < 0) {
        demo_out_of_memory(heap, "the cycle");
        rc_list_clear(a);   /* break whatever part of the cycle was made */
        rc_decref(a);
        rc_decref(b);
        return -1;
    }
    refcount_line("after a.append(b), b.append(a)", a);
    demo_why("each list holds the other: a cycle (a is owned by the name a and by the list b)");
    rc_decref(a);   /* a and b go out of scope */
    rc_decref(b);
    return 0;
}

static int demo_cycle(rc_heap *heap)
{
    rc_heap_stats st;
    if (cycle_func(heap) < 0) return -1;
    rc_heap_get_stats(heap, &st);
    demo_memory_line("finished");
    demo_why("func() dropped a and b, but each still holds the other: refcounting cannot free them (%zu objects left)",
        st.objects);
    size_t n = rc_gc_collect(heap, 2);
    printf("rc_gc_collect(heap, 2) found %zu unreachable objects\n", n);
    demo_why("the cycle collector found that every reference to a and b came from inside the pair");
    demo_memory_line("finish");
    demo_why("the collector cleared both lists and freed them, " NITEMS_TEXT " integers each");
    return 0;
}

/* ---- objgraph: the article's two lists, drawn ---- */

/* Where pictures go: the current directory. Graphviz's messages (and, when
 * it is missing, how to install it) are printed in line. */
static rc_graph_opts picture_opts(void)
{
    rc_graph_opts o = {0};
    o.log = stdout;
    return o;
}

/* Set when a file the demo writes could not be written: the scenario then
 * fails (exit status 1). */
static int io_failed;

static void picture_line(rc_heap *heap, int rc, const char *what)
{
    if (rc == RC_GRAPH_OK) {
        demo_why("%s", what);
    } else if (rc == RC_GRAPH_DOT_ONLY) {
        demo_why("%s (as DOT: render it with `dot -Tpng` once Graphviz is installed)", what);
    } else {
        demo_why("could not draw it");
        fprintf(stderr, "recycle demo: %s\n", rc_heap_error_message(heap));
        io_failed = 1;
    }
}

/* rc_graph_opts.name: "a" and "b" for the two lists of the scene. */
static const char *name_of(void *obj, void *ud)
{
    void **ab = ud;
    return obj == ab[0] ? "a" : obj == ab[1] ? "b" : NULL;
}

static int demo_objgraph(rc_heap *heap)
{
    rc_list *a = rc_list_new(heap, 0), *b = rc_list_new(heap, 0);
    if (!a || !b) goto oom;
    for (int i = 1; i <= 3; i++)
        if (rc_list_append(a, rc_int(i)) < 0 || rc_list_append(b, rc_int(i + 3)) < 0) goto oom;
    if (rc_list_append(a, rc_obj(b)) < 0 || rc_list_append(b, rc_obj(a)) < 0) goto oom;
    printf("a = [1, 2, 3]; b = [4, 5, 6]; a.append(b); b.append(a)\n");
    demo_why("rc_list_append(a, rc_obj(b)); rc_list_append(b, rc_obj(a)): two lists that hold each other");
    refcount_line("", a);
    demo_why("one reference from the name a (C code), one from b's item [3]");

    void *objs[] = {a};
    void *both[2] = {a, b};
    rc_graph_opts opts = picture_opts();
    opts.refcounts = 1;
    opts.name = name_of;       /* the boxes say which list is a and which b */
    opts.ud = both;
    int rc = rc_show_refs(objs, 1, "objgraph-refs.png", &opts);
    picture_line(heap, rc, "rc_show_refs([a]) (objgraph.show_refs): a, what a refers to, and so on, 3 levels deep;"
                     " each box names its list and shows its items, each edge the item it goes through");
    rc = rc_show_backrefs(objs, 1, "objgraph-backrefs.png", &opts);
    picture_line(heap, rc, "rc_show_backrefs([a]) (objgraph.show_backrefs): what refers to a -- b through its item"
                     " [3] -- and the label says a is also held from outside the heap (the name a)");
    rc_decref(b);
    b = NULL;
    rc_decref(a);
    a = NULL;
    size_t n = rc_gc_collect(heap, 2);
    printf("rc_gc_collect(heap, 2) found %zu unreachable objects\n", n);
    demo_why("dropping both names left the pair holding only each other: the collector freed it");
    return 0;
oom:
    demo_out_of_memory(heap, "the two lists");
    if (a) rc_list_clear(a);
    rc_xdecref(a);
    rc_xdecref(b);
    return -1;
}

/* ---- leak: a leak hunt ---- */

/* A server's session: a user name and a payload. */
typedef struct session {
    void *user;      /* str */
    void *payload;   /* tuple of 1,000 integers (8 KB, in the heap's pages) */
} session;

static const rc_type session_type = {
    .name = "session", .size = sizeof(session), .slots_offset = 0, .nslots = 2,
};

#define REQUESTS 1000
#define PAYLOAD 1000

/* Handle one request: build a session, register it on the bus so that it
 * hears events... and never unregister it (the bug). Request 500 also takes
 * an error path that forgets its rc_decref (the second bug). */
static NOINLINE int handle_request(rc_heap *heap, rc_list *listeners, long i)
{
    char name[32];
    snprintf(name, sizeof name, "user-%ld", i);
    session *s = rc_new(heap, &session_type);
    if (!s) return -1;
    s->user = rc_str_from_cstr(heap, name);
    s->payload = rc_tuple_new(heap, PAYLOAD, NULL);
    if (!s->user || !s->payload) {
        rc_decref(s);
        return -1;
    }
    for (long k = 0; k < PAYLOAD; k++) rc_tuple_set(s->payload, (size_t)k, rc_int(k));
    if (rc_list_append(listeners, rc_obj(s)) < 0) {   /* registered for good: nothing unregisters */
        rc_decref(s);
        return -1;
    }
    if (i == REQUESTS / 2) return 0;   /* the error path: returns without rc_decref(s) */
    rc_decref(s);
    return 0;
}

static int serve(rc_heap *heap, rc_list *listeners, long from, long n)
{
    for (long i = from; i < from + n; i++)
        if (handle_request(heap, listeners, i) < 0) return -1;
    return 0;
}

static void print_trace_diff(const rc_trace_snapshot *now, const rc_trace_snapshot *old)
{
    size_t n;
    rc_trace_stat *rows = rc_trace_compare(now, old, &n);
    rc_trace_print(rows, n, 3, stdout);
    rc_trace_stat_free(rows);
}

static int demo_leak(rc_heap *heap)
{
    rc_dict *bus = rc_dict_new(heap);   /* the program's global event bus */
    rc_list *listeners = rc_list_new(heap, 0);
    rc_growth *growth = rc_growth_new(heap);
    rc_mark *mark = NULL;
    rc_trace_snapshot *before = NULL, *after = NULL;
    rc_list *fresh = NULL;
    rc_chain *chain = NULL;
    int ret = -1;
    if (!bus || !listeners || !growth) goto oom;
    {   /* bus["listeners"] = listeners */
        rc_str *key = rc_str_from_cstr(heap, "listeners");
        int bad = !key || rc_dict_set(bus, rc_obj(key), rc_obj(listeners)) < 0;
        rc_xdecref(key);
        if (bad) goto oom;
    }
    rc_decref(listeners);   /* the bus holds it */
    printf("a server registers each request's session on a global event bus and never unregisters it\n");
    demo_why("handle_request(): rc_list_append(bus[\"listeners\"], session) -- and nothing ever removes it");

    if (rc_trace_start(heap, 0) < 0 || serve(heap, listeners, 0, 100) < 0) goto oom;
    before = rc_trace_take_snapshot(heap);
    mark = rc_mark_new(heap);
    if (!before || !mark) goto oom;
    printf("rc_show_growth after 100 requests (the baseline):\n");
    rc_show_growth(growth, 5, 0, stdout);
    demo_memory_line("after 100 requests");
    double uss_base = rc_process_uss_mb();
    demo_why("the first call reports every type (objgraph.show_growth does the same): it sets the peaks");

    if (serve(heap, listeners, 100, REQUESTS) < 0) goto oom;
    demo_memory_line("after 1,000 more requests");
    double uss_grown = rc_process_uss_mb();
    if (uss_base >= 0 && uss_grown >= 0)
        demo_why("memory grew by %.1f KB per request, and nothing was supposed to stay",
                 (uss_grown - uss_base) * 1024.0 / REQUESTS);
    else
        demo_why("memory grew with every request, and nothing was supposed to stay");
    printf("rc_show_growth:\n");
    rc_show_growth(growth, 5, 0, stdout);
    demo_why("what grew: one session, one str and one tuple per request (after a full collection: not garbage)");

    fresh = rc_mark_new_objects(mark, "session");
    if (!fresh) goto oom;
    size_t nfresh = rc_list_len(fresh);
    if (!nfresh) goto oom;
    void *victim = rc_as_obj(rc_list_get(fresh, nfresh - 1));
    rc_incref(victim);
    rc_decref(fresh);   /* our list would be one more holder: drop it */
    fresh = NULL;
    printf("rc_mark_new_objects(mark, \"session\") found %zu sessions made since the mark; why is the last one alive?\n",
           nfresh);
    rc_decref(victim);   /* borrowed from here on: the bus keeps it */
    chain = rc_why_alive(victim, stdout, NULL);
    if (!chain) goto oom;
    demo_why("the chain: the bus (held by C code, the global) -> its \"listeners\" list -> the session");

    const rc_chain *chains[] = {chain};
    rc_graph_opts opts = picture_opts();
    opts.refcounts = 1;
    picture_line(heap, rc_show_chain(chains, 1, "leak-chain.png", &opts),
                 "rc_show_chain (objgraph.show_chain): the same chain as a picture, with the holder outside the heap");
    void *objs[] = {victim};
    opts.max_depth = 2;
    opts.too_many = 4;
    picture_line(heap, rc_show_backrefs(objs, 1, "leak-backrefs.png", &opts),
                 "rc_show_backrefs of the session: its referrers, 2 levels up (\"N more referrers\" stands for the rest)");
    rc_chain_free(chain);
    chain = NULL;

    printf("retained size of the bus: %.1f MB\n", (double)rc_retained(bus) / 1048576.0);
    demo_why("rc_retained: what freeing the bus would free -- every session, its str and its payload");

    after = rc_trace_take_snapshot(heap);
    if (!after) goto oom;
    printf("allocation sites, compared with the baseline (rc_trace_compare, as tracemalloc's compare_to):\n");
    print_trace_diff(after, before);
    demo_why("each line of handle_request that makes an object is a site: rc_new for the session, "
             "rc_str_from_cstr and rc_tuple_new for its name and payload (demo.c is built with "
             "RC_TRACE_SITES, so the built-ins' constructors record their caller too)");

    if (rc_heapsnapshot_save(heap, "leak.heapsnapshot") == 0) {
        demo_why("rc_heapsnapshot_save wrote leak.heapsnapshot: load it in Chrome DevTools' Memory panel, or in memlab");
    } else {
        fprintf(stderr, "recycle demo: %s\n", rc_heap_error_message(heap));
        io_failed = 1;
    }

    printf("the fix: unregister the sessions (rc_list_clear(listeners))\n");
    rc_list_clear(listeners);
    demo_memory_line("after the fix");
    printf("sessions left: %zu\n", rc_count(heap, "session"));
    demo_why("one session survives the fix: nothing in the heap holds it any more -- so who does?");
    printf("rc_show_roots (objects held from outside the heap, by C code):\n");
    rc_show_roots(heap, 5, stdout);
    demo_why("besides the bus (our global), one session has a reference from outside that nobody owns");
    fresh = rc_by_type(heap, "session");
    if (!fresh) goto oom;
    void *leaked = rc_list_len(fresh) ? rc_as_obj(rc_list_get(fresh, 0)) : NULL;
    rc_decref(fresh);   /* leaked stays: the forgotten reference holds it */
    fresh = NULL;
    if (leaked) {
        chain = rc_why_alive(leaked, stdout, NULL);
        if (!chain) goto oom;
        demo_why("only that outside reference keeps it: request 500's error path returned without rc_decref");
        rc_decref(leaked);   /* the second fix */
        printf("sessions left after adding the missing rc_decref: %zu\n", rc_count(heap, "session"));
        rc_trace_snapshot_free(before);
        rc_trace_snapshot_free(after);
        before = after = NULL;
        rc_trace_stop(heap);
        demo_memory_line("finish");
        rc_heap_stats st;
        rc_heap_get_stats(heap, &st);
        demo_why("what stays above the start: the heap's %.2f MB of pages -- those of its %zu live "
                 "objects and the current page of each size class it used, kept for the next "
                 "allocation -- and what glibc's malloc keeps for reuse after the tracer's tables "
                 "and the snapshots were freed",
                 (double)st.page_bytes / 1048576.0, st.objects);
    }
    ret = 0;
    goto done;
oom:
    demo_out_of_memory(heap, "the leak hunt");
done:
    rc_chain_free(chain);
    rc_trace_snapshot_free(before);
    rc_trace_snapshot_free(after);
    rc_xdecref(fresh);
    rc_mark_free(mark);
    rc_growth_free(growth);
    rc_trace_stop(heap);
    rc_xdecref(bus);
    return ret;
}

/* ---- dispatch ---- */

static const struct scenario {
    const char *name, *summary;
    int (*run)(rc_heap *heap);
} scenarios[] = {
    {"function", "a list of " NITEMS_TEXT " integers built in a function, freed as it returns",
     demo_function},
    {"global", "the same list kept in a global: it stays after the function returns", demo_global},
    {"returned", "the list returned to the caller, who owns it from then on", demo_returned},
    {"refcounts", "the count as names, containers and a function call hold the list",
     demo_refcounts},
    {"release", "explicit release (Python's del) plus a collection", demo_release},
    {"cycle", "two lists that hold each other stay after return, until a collection",
     demo_cycle},
    {"generations", "thresholds, counts, young and full collections, statistics and freeze",
     demo_generations},
    {"objgraph", "the two lists drawn with show_refs and show_backrefs (PNG, or DOT without Graphviz)",
     demo_objgraph},
    {"leak", "a leak hunt: growth, objects since a mark, why alive, pictures, sites, a heap snapshot",
     demo_leak},
};
#define NSCENARIOS (sizeof scenarios / sizeof scenarios[0])

void rc_demo_list(FILE *out)
{
    for (size_t i = 0; i < NSCENARIOS; i++)
        fprintf(out, "  %-10s %s\n", scenarios[i].name, scenarios[i].summary);
}

void rc_demo_usage(FILE *out)
{
    fputs("usage: recycle demo [NAME...]   run the scenarios named, or all of them in order\n"
          "       recycle demo --list      list the scenarios\n"
          "Walks through the seed article's scenarios with recycle, printing the process's\n"
          "memory (USS in MB, as psutil reports it) after each step, with one line saying why.\n"
          "scenarios:\n", out);
    rc_demo_list(out);
}

static const struct scenario *find(const char *name)
{
    for (size_t i = 0; i < NSCENARIOS; i++)
        if (!strcmp(name, scenarios[i].name)) return &scenarios[i];
    return NULL;
}

static int run(const struct scenario *s)
{
    rc_heap *heap;
    int rc;
    printf("== %s: %s ==\n", s->name, s->summary);
    heap = rc_heap_new(NULL);
    if (!heap) {
        fprintf(stderr, "recycle demo: cannot create a heap: out of memory\n");
        return 1;
    }
    demo_memory_line("initial");
    demo_why("a fresh heap (rc_heap_new) with nothing in it yet: the baseline");
    io_failed = 0;
    rc = s->run(heap);
    rc_heap_free(heap);
    fflush(stdout);
    return rc < 0 || io_failed ? 1 : 0;
}

int rc_demo_main(int argc, char **argv)
{
    static const cli_opt opts[] = {{"--list", CLI_OPT_FLAG, 0, 0, 0, NULL},
                                   {"--help", CLI_OPT_FLAG, 0, 0, 0, NULL}};
    const char *names[NSCENARIOS];
    for (size_t i = 0; i < NSCENARIOS; i++) names[i] = scenarios[i].name;
    cli_cmd c = {.cmd = "demo", .spec = opts, .nspec = 2, .posword = "scenario", .valid = names,
                 .nvalid = NSCENARIOS, .max_pos = CLI_MAX_POS};
    cli_optvals v;
    if (cli_opts_parse(&c, argc, argv, &v)) return 2;
    if (cli_opts_int(&v, "--help")) {
        rc_demo_usage(stdout);
        return 0;
    }
    if (cli_opts_int(&v, "--list")) {
        rc_demo_list(stdout);
        return 0;
    }
    argc = (int)v.npos;
    if (argc == 0)
        printf("The seed article's scenarios with recycle. Memory is the process's USS in MB,\n"
               "as psutil's memory_full_info().uss / 1024 / 1024.\n");
#ifdef DEMO_ASAN
    printf("note: built with AddressSanitizer, whose quarantine holds freed memory for a while:\n"
           "USS falls late after a release, if at all.\n");
#endif
    for (size_t i = 0; i < (argc ? (size_t)argc : NSCENARIOS); i++) {
        const struct scenario *s = argc ? find(v.pos[i]) : &scenarios[i];
        if (i) putchar('\n');
        int rc = run(s);
        if (rc) return rc;
    }
    return 0;
}
