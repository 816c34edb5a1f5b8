/*
 * collector.h -- what the collector's files share: the set under trial
 * deletion (gc_set), holding garbage, the mark stack's drain, and the entry
 * into garbage deletion.
 *
 *   trial.c    the sets, count / mark / sweep, the full-heap walk, candidate
 *              scans, rc__collect (one collection of generations 0..gen)
 *   garbage.c  garbage deletion (rc__delete_garbage), one path for garbage
 *              listed in a vector and garbage held in place
 *   incremental.c  the old generation's incremental pass: the search in
 *              budgeted steps (the verdict is trial.c's rc__collect_step)
 *   policy.c   when to collect: rc__maybe_collect (the collector slot's
 *              collect_due), full_is_due, stress mode's schedule
 *   parallel.c the helper threads of a parallel full collection
 *   parmark.c  its mark phase, shared out among them
 *   verify.c   the heap verifier
 * The public entry points (rc_gc_collect, rc_gc_set_stress, thresholds) are
 * the gc module's (src/gcmodule/control.c, settings.c).
 *
 * Reference counting frees every object that becomes unreachable, except
 * groups that hold each other. The collector finds those by trial deletion:
 * take a set S of tracked objects, count for each member the references it
 * gets from other members (`internal`); a member whose refcount exceeds that
 * count is referenced from outside S, so it and everything it reaches inside S
 * is alive; the rest of S is garbage. This is sound for ANY set S -- a
 * reference from outside S always shows up as an excess somewhere on the path
 * -- which is what lets the collector choose small sets.
 *
 * The sets:
 *   generation g (0, 1)  tracked objects whose header says generation <= g.
 *                        They sit in pages listed in heap->young[0] / [1]
 *                        (a page is listed while it may hold such objects), so
 *                        a young collection costs the young pages, not the heap.
 *   generation 2 (full)  every tracked object (generation 3 = frozen excepted),
 *                        found by walking every page of tracked objects.
 *   candidates           old objects (generation 2) whose count was decremented
 *                        without reaching zero, plus the old objects they reach,
 *                        up to a budget (Bacon and Rajan's candidate roots, with
 *                        generations doing the young work). Flag RC__INSET.
 *
 * Header state (rc_head.gc, see recycle.h):
 *   outside a collection  INSET is clear and every object reads as unmarked:
 *                         MARK has a polarity (rc__marked: marked when the bit
 *                         differs from heap->mark_flip, which each full
 *                         collection flips). The 24-bit field is the
 *                         candidate-buffer index when BUFFERED, else 0.
 *   during a collection   the field of each member counts its internal
 *                         references (saturating: a saturated count only makes
 *                         the object look externally held, which is safe);
 *                         rc__marked means "proved reachable". Non-members are
 *                         not written. The candidate buffer is emptied first
 *                         whenever its members can be in S.
 *   free blocks           refcnt == 0 (and nothing else is meaningful).
 *
 * Phases of one collection:
 *   count    for each member, for each reference to a member: field++.
 *   mark     each member with refcnt > field is a root: mark it and, depth
 *            first with an explicit stack, every member it reaches.
 *   sweep    marked members survive: field = 0, unmarked, moved to the next
 *            generation; unmarked members are garbage, held (refcnt + 1,
 *            INSET): young and candidate sweeps move it to the front of their
 *            members vector, a full collection leaves it where it lies. A
 *            full collection settles survivors as it marks them, and when no
 *            garbage has a finalizer to run or weak references and no
 *            on_garbage hook is set, it only flags its garbage INSET:
 *            deletion holds it a page at a time (s->unheld), and settles
 *            only what outlives its chunk there -- or, when all of it is
 *            plain slots objects with nothing to run, frees it with no hold
 *            and no release, letting go only of what it holds outside
 *            itself (garbage.c, release_plain). A candidate scan whose
 *            whole set is garbage (no root) and plain has no sweep: the
 *            set is freed as it is (rc__delete_unswept).
 *   garbage  clear the weak references to it and call back the live ones,
 *            run finalizers that have not run; when any callback or finalizer
 *            ran, redo trial deletion inside the garbage to spare whatever
 *            they resurrected, and clear the weak references they made to
 *            what stays garbage, calling no one back. Then (heap->deleting:
 *            no weak reference to the garbage can be made any more) clear the
 *            rest (their references go, cycles break) and drop the holds:
 *            refcounting frees them. So no code reaches garbage through a
 *            weak reference.
 * heap->busy > 0 throughout, so nothing a finalizer or clear does can start
 * another collection (nor free the heap); objects they allocate are new and
 * simply young.
 *
 * References into another heap: debug builds stop in the count phase. In
 * release builds only the young and candidate sets leave such objects out
 * (see is_member in trial.c).
 */
#ifndef RC_COLLECTOR_H
#define RC_COLLECTOR_H

#include "core/objects.h"
#include "util/edges.h"

/* The last slots type (references in slots only, no traverse) a walk saw:
 * most objects a walk meets in a row are of one type, whose fields then
 * need not be read again. A local of the walk's, zero to start. */
typedef struct slots_cache {
    const rc_type *type;
    uint32_t nslots, offset;
} slots_cache;

/* A set under trial deletion and what its collection found. */
typedef struct gc_set {
    rc_heap *h;
#ifdef RC_DEBUG
    const rc_head *from;   /* the object whose references are being counted */
#endif
    unsigned gen;          /* generational: collect generations 0..gen */
    uint16_t page_mask;    /* young pages that may hold members */
    bool candidates;       /* membership is the INSET flag instead */
    bool overflow;         /* the mark stack could not grow: rescan needed */
    bool full;             /* candidate scan: the budget is spent */
    bool finalizers;       /* some garbage has a finalizer still to run */
    size_t held;           /* garbage held by the sweep */
    size_t mid_held;       /* of which generation 1's (young sets) */
    size_t resurrected;    /* garbage a finalizer made reachable again */
    size_t saved;          /* garbage an on_garbage hook kept (RC_GC_DEBUG_SAVEALL) */
    bool weak;             /* some garbage has weak references */
    bool unswept_tried;    /* candidate scan: rc__delete_unswept verified the set and
                              found it not all plain (the plain path is not tried again) */
    bool unheld;           /* full collection: the garbage is flagged INSET but
                              neither held nor settled yet (release_page) */
    uint32_t flip;         /* full collection: h->mark_flip while marking */
    size_t settled[3];     /* full collection: survivors settled, by generation before */
    size_t budget;         /* candidate scan: most members */
    rc_vec *members;       /* candidate scan: the members */
    size_t refsum;         /* candidate scan: the members' refcounts added up */
    size_t counted;        /* candidate scan: the references from members to members */
    rc_vec stack;
    slots_cache sc;        /* drain's, kept from one drain to the next */
} gc_set;

/* Walks over a long list of objects ask for the objects ahead of them: a
 * big candidate set (a dead tree of half a million nodes) lies in pages
 * near each other but in no order a hardware prefetcher follows, so each
 * walk over it waited on one cache miss per member (W5p's candidate scans
 * at depth 18: from about 32 to 27 ns an object). Lists shorter than
 * RC__PREFETCH_MIN are in cache (a young set) and ask for nothing.
 *
 * prefetch_item: the entry RC__PREFETCH_AHEAD further on, when fewer than
 * `reach` entries from `items` on may be read (0: none, prefetch_reach).
 * RC__FOR_PREFETCHED: BODY for each entry O (an rc_head *) of the n from
 * `items` on, taken in blocks of RC__PREFETCH_AHEAD, each block asking for
 * the next; a short list pays one test per block, not per entry. BODY may
 * `continue`, and may store into entries it has passed. */
#define RC__PREFETCH_AHEAD 48
#define RC__PREFETCH_MIN 16384

RC_INLINE size_t prefetch_reach(size_t total, size_t reach)
{
    return total >= RC__PREFETCH_MIN ? reach : 0;
}

RC_INLINE void prefetch_item(void *const *items, size_t i, size_t reach)
{
    if (i + RC__PREFETCH_AHEAD < reach) __builtin_prefetch(items[i + RC__PREFETCH_AHEAD], 1);
}

#define RC__FOR_PREFETCHED(items, n, O, BODY)                                  \
    do {                                                                       \
        void *const *const items_ = (void *const *)(items);                    \
        const size_t n_ = (n);                                                 \
        const bool far_ = n_ >= RC__PREFETCH_MIN;                              \
        for (size_t b_ = 0; b_ < n_; b_ += RC__PREFETCH_AHEAD) {               \
            const size_t e_ = n_ - b_ > RC__PREFETCH_AHEAD ? b_ + RC__PREFETCH_AHEAD : n_; \
            if (far_)                                                          \
                for (size_t j_ = e_; j_ < n_ && j_ < e_ + RC__PREFETCH_AHEAD; j_++) \
                    __builtin_prefetch(items_[j_], 1);                         \
            for (size_t i_ = b_; i_ < e_; i_++) {                              \
                rc_head *const O = items_[i_];                                 \
                BODY                                                           \
            }                                                                  \
        }                                                                      \
    } while (0)

/* BODY once for each I from n - 1 down to 0 (I a const uint32_t): the
 * slots of a slots object, the loop unrolled for the usual few slots. */
#define RC__SLOTS_DOWN(n, I, BODY)                                             \
    do {                                                                       \
        switch (n) {                                                           \
        default:                                                               \
            for (uint32_t I = (n); I-- > 4;) { BODY }                          \
            /* fall through */                                                 \
        case 4: { const uint32_t I = 3; BODY }                                 \
            /* fall through */                                                 \
        case 3: { const uint32_t I = 2; BODY }                                 \
            /* fall through */                                                 \
        case 2: { const uint32_t I = 1; BODY }                                 \
            /* fall through */                                                 \
        case 1: { const uint32_t I = 0; BODY }                                 \
            /* fall through */                                                 \
        case 0: break;                                                         \
        }                                                                      \
    } while (0)

/* SAME(k) for a run of objects of one slots type with `n` slots: k is the
 * constant 1, 2, 3 or 4 for those counts, so that SAME's slots loop
 * (RC__SLOTS_DOWN) unrolls for the usual few, and `n` otherwise. SAME is
 * the caller's macro that walks the run (release_all, count_run). */
#define RC__SLOTS_RUN(n, SAME)                                                 \
    do {                                                                       \
        switch (n) {                                                           \
        case 1: SAME(1); break;                                                \
        case 2: SAME(2); break;                                                \
        case 3: SAME(3); break;                                                \
        case 4: SAME(4); break;                                                \
        default: SAME(n); break;                                               \
        }                                                                      \
    } while (0)


/* rc__foreach_ref(o, fn, ctx) with the last slots type seen in *sc. */
RC_INLINE void foreach_ref_cached(rc_head *o, void (*fn)(rc_head *, void *), void *ctx,
                                  slots_cache *sc)
{
    const rc_type *t = o->type;
    if (t != sc->type) {
        if (t->rc_kind != RC_KIND_USER || t->traverse || !t->nslots) {
            rc__foreach_ref(o, fn, ctx);
            return;
        }
        sc->type = t;
        sc->nslots = t->nslots;
        sc->offset = t->slots_offset;
    }
    void **sl = (void **)((char *)(o + 1) + sc->offset);
    RC__SLOTS_DOWN(sc->nslots, i, {
        if (sl[i]) fn(RC_HEAD(sl[i]), ctx);
    });
}

/* Expand every object on the mark stack with `visit` until it is empty. */
RC_INLINE void drain(gc_set *s, void (*visit)(rc_head *, void *))
{
    while (s->stack.len) {
        rc_head *x = s->stack.items[--s->stack.len];
        foreach_ref_cached(x, visit, s, &s->sc);
    }
}

/* Sweep found `o` unreachable: hold it (refcnt + 1) and flag it INSET until
 * the garbage is deleted, noting whether deletion has finalizers to run or
 * weak references to clear. Young and candidate sweeps also move it to the
 * front of their members vector; a full collection leaves it where it lies. */
RC_INLINE void hold(gc_set *s, rc_head *o)
{
    rc_assert(o->refcnt && !(o->gc & RC__BUFFERED));
    o->refcnt++;
    o->gc |= RC__INSET;
    s->held++;
}

RC_INLINE void hold_garbage(gc_set *s, rc_head *o)
{
    hold(s, o);
    if (o->type->finalize && !(o->gc & RC__FINALIZED)) s->finalizers = true;
    if ((o->gc & RC__WEAKREFS) || o->type->rc_kind == RC_KIND_WEAKREF) s->weak = true;
}

/* hold_garbage for a sweep that holds many objects in a row: `*quiet` is
 * the last type seen with no finalizer that is not the weak reference
 * type (NULL to start); its objects skip hold_garbage's looks at the type
 * (false for them). */
RC_INLINE void hold_garbage_quiet(gc_set *s, rc_head *o, const rc_type **quiet)
{
    const rc_type *t = o->type;
    if (t != *quiet) {
        if (t->finalize || t->rc_kind == RC_KIND_WEAKREF) {
            hold_garbage(s, o);
            return;
        }
        *quiet = t;
    }
    hold(s, o);
    if (o->gc & RC__WEAKREFS) s->weak = true;
}

/* BODY for each block `o` of page `pg` (free ones too: refcnt 0), the
 * bounds read once (RC__FOREACH_BLOCK reads them again after every write
 * that could alias them). `continue` goes on to the next block. */
#define RC__WALK_BLOCKS(pg, o, BODY)                                           \
    do {                                                                       \
        bool large_ = ((pg)->flags & RC_PAGE_LARGE) != 0;                      \
        char *p_ = rc__page_first(pg);                                         \
        char *const end_ = large_ ? p_ + 1 : (pg)->bump;                       \
        const size_t step_ = large_ ? 1 : (pg)->block_size;                    \
        for (; p_ < end_; p_ += step_) {                                       \
            rc_head *o = (rc_head *)p_;                                        \
            BODY                                                               \
        }                                                                      \
    } while (0)

/* A full-collection survivor, or garbage about to be held: generation 2,
 * field 0, the generation counts moved. */
RC_INLINE void settle(rc_heap *h, rc_head *o)
{
    unsigned g = rc__gen(o);
    rc_assert(g < 3 && !(o->gc & RC__BUFFERED));
    o->gc = (o->gc & ~(RC__GEN_MASK | (RC__FIELD_MAX << RC__FIELD_SHIFT))) | 2u;
    if (g != 2) {
        h->gen_objects[g]--;
        h->gen_objects[2]++;
    }
}

/* Pages of tracked objects a thread of a parallel full collection takes
 * from the shared cursor at a time (count and mark). */
enum { RC_PAR_CHUNK = 8 };

/* The mark phase of the full collection of `s`, after a parallel count, on
 * the parallel collection's threads (parmark.c): every member held from
 * outside (refcnt > field) and every member it reaches is marked and
 * settled as a survivor (generation 2, field 0; gen_objects moved). Sets
 * info->examined (the members), info->helper_marked (how many objects the
 * helper threads marked), *unmarked (members left unmarked: the garbage,
 * unless s->overflow says that some marked members were left unexpanded,
 * for want of memory: mark_fixpoint's work). False, nothing marked, when it
 * could not run (no memory for the threads' stacks, no helper thread): the
 * caller marks. */
bool rc__par_mark(gc_set *s, rc_gc_info *info, size_t *unmarked);

/* Delete the garbage of the collection of `s`: listed in `list` (objects
 * held, INSET, field 0, their generation set as survivors'), or, with `list`
 * NULL, the s->held objects a full collection held in place in the pages of
 * tracked objects. Returns how many were freed; the rest were resurrected by
 * finalizers or callbacks (counted in s->resurrected), kept by an on_garbage
 * hook (counted in s->saved), left in place for want of memory for their
 * list, or kept alive by a reference taken while they were cleared
 * (garbage.c). */
size_t rc__delete_garbage(gc_set *s, rc_vec *list);

/* Delete a candidate scan's set `list` when the whole of it is garbage (no
 * member held from outside: their refcounts add up to the references
 * counted) and plain (garbage.c: slots objects with nothing to run), before
 * any sweep: its members are INSET with their counts in the field, neither
 * held nor settled, and they go with no sweep, no hold and no release.
 * Returns how many were freed, all of them; 0, nothing done, when the set
 * is not all plain (s->unswept_tried), pages are watched, or an on_death or
 * on_garbage hook is set: the caller then sweeps and calls
 * rc__delete_garbage. */
size_t rc__delete_unswept(gc_set *s, rc_vec *list);

/* Stop the program when garbage flagged for deletion (INSET) is reachable
 * in the whole heap, computed stop-the-world from the objects C code holds
 * (`held`: each garbage object carries the collection's hold, which is not
 * one; else the garbage is not held yet, s->unheld); `kind` names the
 * collection in the message. O(heap), malloc'd tables.
 * RC_EXPENSIVE builds, and RC_DEBUG builds run with RC_GC_VERIFY=1, call it
 * before every deletion (verify.c). */
void rc__verify_garbage(rc_heap *h, const char *kind, bool held);

/* Run the incremental pass's search for about `budget` units of work
 * (objects looked at plus references followed), starting a pass when none
 * runs. Sets *visits to the work done. Returns true when the search is
 * over: *found is then the set for the verdict (old objects the search
 * found unreachable; any of them may have changed since), and the caller
 * ends the pass with rc__pass_abandon after the verdict. False while the
 * search goes on, or when no pass could start or it was given up for want
 * of memory (h->pass NULL then). */
bool rc__pass_search(rc_heap *h, size_t budget, size_t *visits, rc_vec **found);

#endif
