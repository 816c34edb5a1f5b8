/* test_quiet.c -- introspection that does not disturb what it looks at:
 * the counts of rc_gc_untrack / rc_gc_track, types that declare they can
 * never form a cycle (RC_TYPE_ACYCLIC), and the quiet forms of the queries
 * (rc_gc_get_objects_into and friends), which start no collection and leave
 * the generation counts and the candidate buffer as they were. */
#include "harness.h"
#include "testutil.h"
#include "nodes.h"
#include "recycle/builtins.h"
#include "recycle/gc.h"
#include "recycle/weakref.h"
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

NODES_IMPL

/* ---- untrack and track keep the counts ---- */

TEST(untrack_takes_the_object_out_of_the_generation_0_count)
{
    rc_heap *h = quiet_heap();
    size_t c0[3], c1[3], c2[3];
    rc_gc_get_count(h, c0);
    rc_list *l = rc_list_new(h, 0);
    rc_gc_get_count(h, c1);
    CHECK_EQ_INT(c1[0], c0[0] + 1);
    CHECK_EQ_INT(rc_gc_untrack(l), 0);
    rc_gc_get_count(h, c2);
    CHECK_EQ_INT(c2[0], c0[0]);            /* as if it had never been allocated */
    CHECK_EQ_INT(rc_gc_untrack(l), 0);     /* twice: nothing more */
    rc_gc_get_count(h, c2);
    CHECK_EQ_INT(c2[0], c0[0]);
    CHECK_EQ_INT(rc_gc_track(l), 0);
    rc_gc_get_count(h, c2);
    CHECK_EQ_INT(c2[0], c1[0]);
    rc_decref(l);
    rc_gc_get_count(h, c2);
    CHECK_EQ_INT(c2[0], c0[0]);
    rc_heap_free(h);
}

TEST(track_and_untrack_in_a_loop_start_no_collection)
{
    rc_heap *h = unstressed_heap();
    rc_gc_set_threshold(h, 10, 10, 10);
    rc_gc_collect(h, 2);
    rc_list *l = rc_list_new(h, 0);
    rc_heap_stats before, after;
    rc_heap_get_stats(h, &before);
    for (int i = 0; i < 1000; i++) {
        rc_gc_untrack(l);
        rc_gc_track(l);
    }
    rc_list *other = rc_list_new(h, 0);   /* an allocation: would collect if the count had grown */
    rc_heap_get_stats(h, &after);
    CHECK_EQ_INT(after.collections[0], before.collections[0]);
    rc_decref(other);
    rc_decref(l);
    rc_heap_free(h);
}

TEST(untrack_keeps_every_generation_count_right)
{
    rc_heap *h = quiet_heap();
    rc_heap_stats st;
    rc_list *a = rc_list_new(h, 0), *b = rc_list_new(h, 0), *c = rc_list_new(h, 0);
    rc_gc_collect(h, 2);                       /* a, b, c: generation 2 */
    rc_gc_freeze(h);                           /* ... frozen: generation 3 */
    rc_list *d = rc_list_new(h, 0);            /* generation 0 */
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.gen_objects[3], 3);
    CHECK_EQ_INT(st.gen_objects[0], 1);
    CHECK_EQ_INT(rc_gc_untrack(a), 0);
    CHECK_EQ_INT(rc_gc_get_freeze_count(h), 2);
    CHECK_EQ_INT(rc_gc_untrack(d), 0);
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.gen_objects[0], 0);
    CHECK_EQ_INT(st.tracked, 2);
    CHECK_EQ_INT(rc_gc_track(a), 0);           /* back as a young object, not frozen */
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.gen_objects[0], 1);
    CHECK_EQ_INT(st.gen_objects[3], 2);
    rc_gc_unfreeze(h);
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.gen_objects[2], 2);
    CHECK_EQ_INT(st.gen_objects[0], 1);
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    rc_decref(a);
    rc_decref(b);
    rc_decref(c);
    rc_decref(d);
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.tracked, 0);
    rc_heap_free(h);
}

/* A destroy hook that untracks and tracks its own (dying) object: both are
 * refused or ignored, and the counts stay right. */
static int dying_untrack = 99, dying_track = 99;
static void untrack_self_destroy(void *obj)
{
    dying_untrack = rc_gc_untrack(obj);
    dying_track = rc_gc_track(obj);
}
static const rc_type self_untracker_type = {
    .name = "self_untracker", .size = sizeof(node), .nslots = 2, .destroy = untrack_self_destroy,
};

TEST(untrack_and_track_of_a_dying_object_change_no_count)
{
    rc_heap *h = quiet_heap();
    rc_list *holder = rc_list_new(h, 0);
    for (int i = 0; i < 3; i++) {
        node *n = rc_new(h, &self_untracker_type);
        rc_list_append(holder, rc_obj(n));
        rc_decref(n);
    }
    node *alone = rc_new(h, &self_untracker_type);
    rc_decref(alone);                          /* dies alone: the outer free */
    CHECK_EQ_INT(dying_untrack, 0);
    CHECK_EQ_INT(dying_track, -1);
    dying_untrack = dying_track = 99;
    rc_decref(holder);                         /* the nodes die in a burst (pending list) */
    CHECK_EQ_INT(dying_untrack, 0);
    CHECK_EQ_INT(dying_track, -1);
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    CHECK_EQ_INT(st.tracked, 0);
    CHECK_EQ_INT(st.gen_objects[0], 0);
    size_t c[3];
    rc_gc_get_count(h, c);
    CHECK_EQ_INT(c[0], 0);
    CHECK_EQ_INT(rc_heap_check(h, stderr), 0);
    rc_heap_free(h);
}

RC_TEST_MAIN
