/*
 * policy.c -- when to collect: Python's thresholds and counts, the young
 * back-off, whether the old generation is due (an incremental pass, or a
 * full collection when incremental collection is off), the pace of the
 * pass's steps, stress mode's schedule, and the collector's hook table
 * (collect_due, called from allocation when the young count or the
 * candidate buffer reaches its trigger; on_heap_end and on_snapshot_shrunk,
 * which give up a pass).
 */
#include "collector/collector.h"

/* Whether the old generation is worth collecting: it grew by a quarter
 * since it was last collected, times the back-off (x2 after each
 * collection of it that found nothing, up to RC_OLD_BACKOFF_MAX; garbage
 * found brings it back to 1). Live objects: those freed by refcounting do
 * not count, unlike CPython's long_lived_pending. */
static bool old_is_due(rc_heap *h)
{
    /* A candidate scan that ran out of its largest budget (old_hint) may
     * have met a dead structure that only a collection of the old
     * generation frees: due at once, unless the last collection a hint
     * made due found nothing and none found garbage since (a big live
     * structure a candidate reaches would otherwise start one after
     * another). */
    if (h->old_hint && !h->hint_vain) return true;
    /* Measured from the live count after the last collection of it: an old
     * generation that shrank by refcount and grows back to where it was has
     * not grown (its garbage stays bounded by a quarter over that mark). */
    return h->gen_objects[2] > h->old_at_full + h->old_at_full / 4 * h->old_backoff;
}

/* The work of an automatic step of the incremental pass. A pass does about
 * eight units of work per old object (three walks, two of them following
 * references, and the marking); the old generation is due again after a
 * quarter's growth, so 32 units per allocation since the last step end the
 * pass about when the next would start. At least RC_STEP_MIN, so that a
 * heap that allocates little still finishes its pass. */
#define RC_STEP_PER_ALLOC 32
#define RC_STEP_MIN 4096
static size_t step_budget(const rc_heap *h)
{
    if (h->step_budget) return h->step_budget;
    /* threshold[0], not the young wait: while young_boost doubles the wait,
     * steps keep their length and the pass goes at half its pace. */
    size_t allocs = h->threshold[0];
    size_t b = allocs * RC_STEP_PER_ALLOC;
    return b < RC_STEP_MIN ? RC_STEP_MIN : b;
}

/* Stress mode: a young collection at every tracked allocation, generation 1
 * every 8th (never skipped: a cycle dies within eight allocations); every 64th, once an eighth of the tracked objects were
 * allocated since the last, the old generation: a full collection and an
 * incremental pass by turns (a full collection per allocation would make
 * every test quadratic). A pass under way takes a small step at every
 * allocation. Candidates every 16th. */
#define RC_STRESS_FULL_EVERY 64
#define RC_STRESS_STEP 256
static void stress_collect(rc_heap *h)
{
    size_t k = ++h->stress_allocs;
    size_t tracked = h->gen_objects[0] + h->gen_objects[1] + h->gen_objects[2];
    unsigned gen = k % 8 ? 0 : 1;
    bool old = k % RC_STRESS_FULL_EVERY == 0 && k >= tracked / 8;
    rc_gc_info info;
    if (old && !h->pass && h->incremental && (h->stress_olds++ & 1)) {
        rc__collect_step(h, RC_STRESS_STEP, &info);   /* starts a pass */
        old = false;
    }
    if (old && !h->pass) gen = 2;
    rc__collect(h, gen, &info);
    if (gen == 2) h->stress_allocs = 0;
    if (h->pass && rc__collect_step(h, RC_STRESS_STEP, &info)) h->stress_allocs = 0;
    if ((k % 16 == 0 && h->candidates_live) || h->candidates.len >= h->candidate_trigger)
        rc__scan_candidates(h);
}

/* Whether the candidates are due for a scan: the buffer is full, or some
 * wait and the young collections since the last scan collected half the
 * scan's budget in young objects. The second keeps a few candidates from
 * waiting for ever -- one per structure dropped, as when a program drops a
 * big structure now and then: its root is all the buffer gets -- at a cost
 * (a scan does at most its budget) of two visits per young object. */
static bool candidates_due(const rc_heap *h)
{
    if (h->candidates.len >= h->candidate_trigger) return true;
    size_t budget = h->cand_budget ? h->cand_budget : rc__cand_budget_base(h);
    return h->candidates_live && h->candidate_trigger != SIZE_MAX && h->cand_clock >= budget / 2;
}

void rc__maybe_collect(rc_heap *h)
{
    if (!h->enabled || h->busy || h->freeing) return;
    if (h->stress) {
        stress_collect(h);
        return;
    }
    rc_gc_info info;
    if (h->count[0] >= rc__young_due(h)) {
        unsigned gen = 0;
        unsigned t1 = h->threshold[1] ? h->threshold[1] : 1;
        /* Generation 1 skipped: the survivors of this young collection go
         * straight to the old generation. When the skipped rounds are over,
         * a probe: a round of t1 young collections into generation 1 and its
         * collection, which says whether skipping still pays. */
        bool skip = false;
        if (h->mid_skip) {
            if (--h->mid_skip) skip = true;
            else h->count[1] = 0;
        }
        bool start = false;
        if (!skip && h->count[1] >= t1) gen = 1;
        /* The old generation is looked at when generation 1 is collected,
         * or would have been: skipped rounds count as collections of it. */
        if ((gen == 1 || skip) && !h->pass && (skip || h->count[2] >= h->threshold[2]) &&
            old_is_due(h)) {
            if (h->incremental) start = true;
            else gen = 2;
        }
        size_t examined = h->gen_objects[0] + (gen ? h->gen_objects[1] : 0);
        h->cand_clock += examined;
        size_t mid = h->gen_objects[1];
        h->young_to_old = skip && gen == 0;
        rc__collect(h, gen, &info);
        h->young_to_old = false;
        /* A generation 1 in which next to nothing dies only examines every
         * survivor a second time: while that lasts, all but one round in
         * mid_backoff (x2 per such collection, up to RC_MID_BACKOFF_MAX)
         * promote young survivors straight to the old generation, where
         * candidate scans and the old generation's collections find what
         * dies later. Garbage found in generation 1 brings it straight back. */
        if (gen == 1 && mid) {
            if (h->mid_found * 64 < mid) {
                if (h->mid_backoff < RC_MID_BACKOFF_MAX) h->mid_backoff *= 2;
                h->mid_skip = (size_t)(h->mid_backoff - 1) * t1;
            } else {
                h->mid_backoff = 1;
            }
            /* An eighth or more of generation 1 was garbage: young survivors
             * die soon after their promotion (a structure built across
             * several young collections, then dropped), and generation 1
             * and candidate scans free them at twice the cost of a young
             * collection. Young collections twice as far apart promote
             * fewer of them, until generation 1 finds little again. */
            h->young_boost = h->mid_found * 8 >= mid ? 2 : 1;
        }
        /* The old generation is due: first the candidates, whose scan
         * costs what they reach, not the heap; when it freed enough that
         * the old generation is no longer due, no pass starts. */
        if (start && h->candidates_live) {
            rc__scan_candidates(h);
            start = old_is_due(h);
        }
        /* A pass starts with its first step, half-way to the next young
         * collection, so that no pause has both. */
        if (start || h->pass) h->step_due = true;
        rc__young_limit_update(h);
    } else if (h->step_due) {
        h->step_due = false;
        rc__young_limit_update(h);
        rc__collect_step(h, step_budget(h), &info);
    }
    if (candidates_due(h)) rc__scan_candidates(h);
}

const rc_hooks rc__collector_hooks = {.collect_due = rc__maybe_collect,
                                       .on_heap_end = rc__pass_abandon,
                                       .on_heap_free = rc__par_free,
                                       .on_snapshot_shrunk = rc__pass_abandon};
