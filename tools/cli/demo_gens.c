/*
 * demo_gens.c -- `recycle demo generations`: the seed article's second half.
 *
 * The article ends with the collector Python adds to reference counting:
 * mark-and-sweep for cycles, three generations with their thresholds, and
 * gc.get_count climbing as objects are made. This scene shows the same with
 * recycle: the thresholds, the counts as tracked objects are made, a young
 * collection and the promotion of its survivors, cycles freed by young
 * collections as they are made, a full collection giving memory back,
 * per-generation statistics, a gc callback that reports each collection,
 * and what freezing does to the cost of a full collection. Every figure is
 * measured as the scene runs; nothing printed is a constant.
 */
#include "demo_scene.h"

#include "recycle.h"
#include "recycle/builtins.h"
#include "recycle/gc.h"

#include <stdio.h>
#include <time.h>

#define NCYCLES 500000L
#define NCYCLES_TEXT "500,000"
#define NLIVE 1000000L
#define NLIVE_TEXT "1,000,000"

/* What the gc callback saw: the first few collections are printed as they
 * happen, the rest only counted and summed up after each step. */
typedef struct watch {
    int quiet;                 /* print nothing (while timing) */
    size_t seen[4], printed, freed[4];   /* generations 0-2, then candidate scans */
    size_t examined;           /* by the last collection */
} watch;

enum { PRINT_FIRST = 3 };

static void on_collection(rc_heap *heap, int phase, const rc_gc_info *info, void *ud)
{
    (void)heap;
    watch *w = ud;
    if (phase != RC_GC_STOP) return;
    int row = info->kind == RC_GC_CANDIDATE_SCAN ? 3 : info->generation;
    if (row < 0 || row > 3) return;
    w->seen[row]++;
    w->freed[row] += info->freed;
    w->examined = info->examined;
    if (w->quiet || w->printed >= PRINT_FIRST) return;
    w->printed++;
    if (row == 3)
        printf("  gc callback: a candidate scan: %zu objects examined, %zu freed, %.3f ms\n",
               info->examined, info->freed, info->duration * 1e3);
    else
        printf("  gc callback: a collection of generation %d: %zu objects examined, %zu freed, "
               "%.3f ms\n", row, info->examined, info->freed, info->duration * 1e3);
}

/* "young collections since the last line: N (M objects freed)". */
static void collections_line(watch *w, watch *since)
{
    static const char *const name[4] = {"young collections (generation 0)",
                                        "middle collections (generation 1)",
                                        "full collections (generation 2)",
                                        "candidate scans (old objects whose count fell)"};
    for (int g = 0; g < 4; g++) {
        size_t n = w->seen[g] - since->seen[g];
        if (n)
            printf("  %s meanwhile: %zu, freeing %zu objects\n", name[g], n,
                   w->freed[g] - since->freed[g]);
    }
    *since = *w;
}

static void counts_line(rc_heap *heap, const char *when)
{
    size_t c[3];
    rc_heap_stats st;
    rc_gc_get_count(heap, c);
    rc_heap_get_stats(heap, &st);
    printf("%s: get_count %zu %zu %zu; tracked objects per generation %zu %zu %zu (frozen %zu)\n",
           when, c[0], c[1], c[2], st.gen_objects[0], st.gen_objects[1], st.gen_objects[2],
           st.gen_objects[3]);
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* Append `n` fresh empty lists to `keep`; -1 when memory ran out. */
static int make_lists(rc_heap *heap, rc_list *keep, long n)
{
    for (long i = 0; i < n; i++) {
        rc_list *l = rc_list_new(heap, 0);
        if (!l || rc_list_append(keep, rc_obj(l)) < 0) {
            rc_xdecref(l);
            return -1;
        }
        rc_decref(l);
    }
    return 0;
}

/* A node of a cycle: one reference, in a slot (no buffer outside the heap's
 * pages, so what a collection frees goes back to the system whole). */
typedef struct pair_node { void *other; } pair_node;
static const rc_type pair_type = {.name = "pair", .size = sizeof(pair_node), .nslots = 1};

/* Make `n` two-node cycles and drop them: only the collector can free them. */
static int make_cycles(rc_heap *heap, long n)
{
    for (long i = 0; i < n; i++) {
        pair_node *a = rc_new(heap, &pair_type), *b = rc_new(heap, &pair_type);
        if (!a || !b) {
            rc_xdecref(a);
            rc_xdecref(b);
            return -1;
        }
        a->other = b;
        b->other = a;      /* each holds the other: the creator's references move in */
    }
    return 0;
}

static double timed_full_collection(rc_heap *heap, watch *w)
{
    w->quiet = 1;
    double t0 = now_ms();
    rc_gc_collect(heap, 2);
    double ms = now_ms() - t0;
    w->quiet = 0;
    return ms;
}

int demo_generations(rc_heap *heap)
{
    watch w = {0}, since = {0};
    unsigned th[3];
    rc_gc_get_threshold(heap, th);
    printf("thresholds: %u %u %u\n", th[0], th[1], th[2]);
    demo_why("gc.get_threshold(): a young collection once %u more tracked objects were made than "
             "died; the middle generation every %u young ones, the old every %u middle ones",
             th[0], th[1], th[2]);
    if (rc_gc_callback_add(heap, on_collection, &w) < 0) return -1;

    rc_list *keep = rc_list_new(heap, 0);
    long first = th[0] * 3L / 4;
    if (!keep || make_lists(heap, keep, first) < 0) goto oom;
    counts_line(heap, "after 3/4 of a threshold of lists");
    demo_why("each new list is a tracked container: get_count's first figure counts them; no "
             "collection has run yet");

    if (make_lists(heap, keep, th[0] - first + 10) < 0) goto oom;
    collections_line(&w, &since);
    counts_line(heap, "after passing the threshold");
    demo_why("the threshold was passed: a young collection examined the new objects, found them "
             "all alive and promoted them to generation 1");

    if (make_cycles(heap, NCYCLES) < 0) goto oom;
    collections_line(&w, &since);
    demo_memory_line("after " NCYCLES_TEXT " garbage cycles");
    demo_why("two objects that hold each other never reach refcount 0; the young collections that "
             "ran while they were made freed them, so memory stays flat");

    rc_gc_disable(heap);
    if (make_cycles(heap, NCYCLES) < 0) goto oom;
    demo_memory_line("after " NCYCLES_TEXT " cycles, collection disabled");
    demo_why("rc_gc_disable (gc.disable()): the same cycles now pile up");
    size_t found = rc_gc_collect(heap, 2);
    rc_gc_enable(heap);
    collections_line(&w, &since);
    demo_memory_line("after a full collection");
    demo_why("rc_gc_collect(heap, 2) (gc.collect()) found %zu unreachable objects: the piled-up "
             "cycles are gone "
             "and their pages went back to the system", found);

    rc_gc_stats gs[3];
    rc_gc_get_stats(heap, gs);
    for (int g = 0; g < 3; g++)
        printf("generation %d: %zu collections, %zu collected, %zu uncollectable\n", g,
               gs[g].collections, gs[g].collected, gs[g].uncollectable);
    rc_gc_get_candidate_stats(heap, &gs[0]);
    printf("candidate scans: %zu, %zu collected, %zu uncollectable\n", gs[0].collections,
           gs[0].collected, gs[0].uncollectable);
    demo_why("rc_gc_get_stats (gc.get_stats()): per generation, since the heap was made; "
             "candidate scans, which look only at what old objects whose count fell can reach, "
             "have a row of their own");

    if (make_lists(heap, keep, NLIVE) < 0) goto oom;
    collections_line(&w, &since);
    double before = timed_full_collection(heap, &w);
    demo_memory_line("after " NLIVE_TEXT " more live lists");
    printf("a full collection over them took %.1f ms, examining %zu objects\n", before, w.examined);
    demo_why("a full collection examines every tracked object, live or not");
    if (rc_gc_freeze(heap) < 0) goto oom;
    double after = timed_full_collection(heap, &w);
    counts_line(heap, "after rc_gc_freeze");
    printf("a full collection now takes %.1f ms, examining %zu objects\n", after, w.examined);
    demo_why("gc.freeze(): %zu objects moved to the permanent generation, which no collection "
             "examines (it still steps over their blocks) -- a forking server freezes before fork so that collections in the "
             "children do not write to, and so copy, the pages they share",
             rc_gc_get_freeze_count(heap));

    rc_gc_unfreeze(heap);
    rc_decref(keep);
    rc_gc_callback_remove(heap, on_collection, &w);
    demo_memory_line("finished");
    demo_why("the lists died with the list that kept them, frozen or not, and their pages went "
             "back; what stays above the start is the C library's: the keeping list's item "
             "buffer came from realloc, and glibc's malloc keeps freed memory for reuse");
    return 0;
oom:
    rc_xdecref(keep);
    rc_gc_callback_remove(heap, on_collection, &w);
    demo_out_of_memory(heap, "the generations scene's objects");
    return -1;
}
