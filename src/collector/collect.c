/*
 * collect.c -- the cycle collector.
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
 *   outside a collection  MARK and INSET are clear; the 24-bit field is the
 *                         candidate-buffer index when BUFFERED, else 0.
 *   during a collection   the field of each member counts its internal
 *                         references (saturating: a saturated count only makes
 *                         the object look externally held, which is safe);
 *                         MARK means "proved reachable". Non-members are not
 *                         written. The candidate buffer is emptied first
 *                         whenever its members can be in S.
 *   free blocks           refcnt == 0 (and nothing else is meaningful).
 *
 * Phases of one collection:
 *   count    for each member, for each reference to a member: field++.
 *   mark     each member with refcnt > field is a root: mark it and, depth
 *            first with an explicit stack, every member it reaches.
 *   sweep    marked members survive: unmark, field = 0, move to the next
 *            generation; unmarked members are garbage, gathered in a vector.
 *   garbage  hold every garbage object (incref), clear the weak references
 *            to it and call back the live ones, run finalizers that have not
 *            run; when any callback or finalizer ran, redo trial deletion
 *            inside the garbage to spare whatever they resurrected, and clear
 *            the weak references they made to what stays garbage, calling
 *            no one back. Then (heap->deleting: no weak reference to the
 *            garbage can be made any more) clear the rest (their references
 *            go, cycles break) and drop the holds: refcounting frees them.
 *            So no code reaches garbage through a weak reference.
 * heap->busy > 0 throughout, so nothing a finalizer or clear does can start
 * another collection (nor free the heap); objects they allocate are new and
 * simply young.
 *
 * References into another heap: debug builds stop in the count phase. In
 * release builds only the young and candidate sets leave such objects out
 * (see is_member).
 */
#include "core/objects.h"
#include "core/clock.h"
#include "util/edges.h"

#include <stdlib.h>
#include <time.h>

/* RC_EXPENSIVE: the whole heap is verified before and after every collection. */
#ifdef RC_EXPENSIVE
#define EXPENSIVE_VERIFY(h, when) rc__heap_verify((h), (when))
#else
#define EXPENSIVE_VERIFY(h, when) ((void)0)
#endif

/* ---- set membership ---- */

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
    size_t held;           /* page walks: garbage held in place */
    size_t resurrected;    /* garbage a finalizer made reachable again */
    bool weak;             /* some garbage has weak references */
    size_t budget;         /* candidate scan: most members */
    rc_vec *members;       /* candidate scan: the members */
    rc_vec stack;
} gc_set;

/* Membership. A reference into another heap (which the guide forbids) is
 * caught by debug builds in the count phase (foreign_ref). Release builds
 * leave such an object out of the set where it costs no extra load: young
 * generational sets read its page header anyway, candidate scans look at the
 * page once when an object joins. A full collection does not look (a load of
 * the referent's page header per reference costs W4's full collection about
 * 10%): there the other heap's object is counted and marked like a member,
 * and its header keeps scratch state that can make the other heap's next
 * collection free it while in use (docs/guide.md). */
RC_INLINE bool is_member(const gc_set *s, const rc_head *c)
{
    if (s->candidates) return (c->gc & RC__INSET) != 0;
    if (s->gen < 2) {
        const rc_page *pg = rc__page_of(c);
        if (!(pg->flags & s->page_mask) || pg->heap != s->h) return false;
    }
    return (c->gc & RC__TRACKED) && rc__gen(c) <= s->gen;
}

#ifdef RC_DEBUG
/* A reference from `from` (an object of s->h) to `to`, an object of another
 * heap: the collectors of both heaps would miscount it. */
static RC_NOINLINE void foreign_ref(const gc_set *s, const rc_head *to)
{
    const rc_head *from = s->from;
    fprintf(stderr,
            "recycle: collecting heap %p: the %s at %p refers to the %s at %p, an object of "
            "another heap (%p); references must stay within one heap\n",
            (void *)s->h, from && from->type->name ? from->type->name : "?",
            from ? (const void *)(from + 1) : NULL, to->type && to->type->name ? to->type->name : "?",
            (const void *)(to + 1), (void *)rc__page_of(to)->heap);
    abort();
}
#define CHECK_SAME_HEAP(s, c)                                                  \
    do {                                                                       \
        if (unlikely(rc__page_of(c)->heap != (s)->h)) foreign_ref((s), (c));  \
    } while (0)
#define SET_FROM(s, o) ((s)->from = (o))
#else
#define CHECK_SAME_HEAP(s, c) ((void)0)
#define SET_FROM(s, o) ((void)0)
#endif

/* Iterate the pages that hold a generational set's members. */
#define FOREACH_SET_PAGE(s, pg, BODY)                                          \
    do {                                                                       \
        rc_heap *h_ = (s)->h;                                                  \
        if ((s)->gen >= 2) {                                                   \
            for (size_t i_ = 0; i_ < h_->pages[1].len; i_++) {                 \
                rc_page *pg = h_->pages[1].items[i_];                          \
                BODY                                                           \
            }                                                                  \
        } else {                                                               \
            for (size_t i_ = 0; i_ < h_->young[0].len; i_++) {                 \
                rc_page *pg = h_->young[0].items[i_];                          \
                BODY                                                           \
            }                                                                  \
            if ((s)->gen == 1)                                                 \
                for (size_t i_ = 0; i_ < h_->young[1].len; i_++) {             \
                    rc_page *pg = h_->young[1].items[i_];                      \
                    if (pg->flags & RC_PAGE_YOUNG0) continue;                  \
                    BODY                                                       \
                }                                                              \
        }                                                                      \
    } while (0)

/* Iterate the live members of a generational set. */
#define FOREACH_MEMBER(s, o, BODY)                                             \
    FOREACH_SET_PAGE(s, pg_, {                                                 \
        RC__FOREACH_BLOCK(pg_, o) {                                            \
            if (!o->refcnt || !(o->gc & RC__TRACKED) || rc__gen(o) > (s)->gen) \
                continue;                                                      \
            BODY                                                               \
        }                                                                      \
    })

/* ---- count ---- */

/* A count past the field's 24 bits wraps to a small number: the object then
 * only looks held from outside, which keeps it alive (safe). */
RC_INLINE void count_ref(rc_head *c, void *ctx)
{
    gc_set *s = ctx;
    CHECK_SAME_HEAP(s, c);
    if (is_member(s, c)) c->gc += 1u << RC__FIELD_SHIFT;
}

/* The referents of a slots object, asked for ahead of time. */
RC_INLINE void prefetch_refs(const rc_head *o)
{
    if (!o->refcnt) return;   /* a free block: only its refcnt may be read */
    const rc_type *t = o->type;
    if (t->rc_kind != RC_KIND_USER || t->traverse) return;
    void *const *sl = (void *const *)((const char *)(o + 1) + t->slots_offset);
    for (uint32_t i = 0; i < t->nslots; i++)
        if (sl[i]) __builtin_prefetch(RC_HEAD(sl[i]), 1);
}

/* The count phase over one page: while counting an object, the references
 * of the object a few blocks on are fetched, so the increments on far-away
 * referents (a tree's right child) find them in cache. */
static void count_page(gc_set *s, rc_page *pg)
{
    enum { AHEAD = 6 };
    bool large = pg->flags & RC_PAGE_LARGE;
    char *end = large ? rc__page_first(pg) + 1 : pg->bump;
    size_t step = large ? 1 : pg->block_size;
    for (char *p = rc__page_first(pg); p < end; p += step) {
        if (s->gen == 2 && !large && p + AHEAD * step < end)
            prefetch_refs((rc_head *)(p + AHEAD * step));
        rc_head *o = (rc_head *)p;
        if (!o->refcnt || !(o->gc & RC__TRACKED) || rc__gen(o) > s->gen) continue;
        SET_FROM(s, o);
        rc__foreach_ref(o, count_ref, s);
    }
}

/* ---- mark ---- */

RC_INLINE void mark_ref(rc_head *c, void *ctx)
{
    gc_set *s = ctx;
    if (!is_member(s, c) || rc__marked(s->h, c)) return;
    rc__set_marked(s->h, c);
    if (!rc__vec_push(s->h, &s->stack, c)) s->overflow = true;
}

RC_INLINE void drain(gc_set *s, void (*visit)(rc_head *, void *))
{
    while (s->stack.len) {
        rc_head *x = s->stack.items[--s->stack.len];
        rc__foreach_ref(x, visit, s);
    }
}

/* Mark `o` (a root) and every member it reaches. */
static void mark_from(gc_set *s, rc_head *o)
{
    rc__set_marked(s->h, o);
    if (!rc__vec_push(s->h, &s->stack, o)) {
        s->overflow = true;
        return;
    }
    drain(s, mark_ref);
}

/* After the stack failed to grow, some marked objects were never expanded:
 * expand every marked member until a round marks nothing new. */
static void mark_fixpoint(gc_set *s, rc_vec *members)
{
    while (s->overflow) {
        s->overflow = false;
        if (members) {
            for (size_t i = 0; i < members->len; i++) {
                rc_head *o = members->items[i];
                if (rc__marked(s->h, o)) {
                    rc__foreach_ref(o, mark_ref, s);
                    drain(s, mark_ref);
                }
            }
        } else {
            FOREACH_MEMBER(s, o, {
                if (rc__marked(s->h, o)) {
                    rc__foreach_ref(o, mark_ref, s);
                    drain(s, mark_ref);
                }
            });
        }
    }
}

/* ---- the candidate buffer ---- */

/* Empty the buffer: every buffered object gets field 0 and loses BUFFERED.
 * With `into` non-NULL the objects are also made members (INSET) of it. */
static void flush_candidates(rc_heap *h, rc_vec *into)
{
    for (size_t i = 0; i < h->candidates.len; i++) {
        rc_head *o = h->candidates.items[i];
        if (!o) continue;
        rc_assert((o->gc & RC__BUFFERED) && rc__field(o) == i);   /* invariant 3 */
        o->gc &= ~RC__BUFFERED;
        rc__set_field(o, 0);
        if (into && rc__gen(o) == 2 && rc__vec_push(h, into, o)) o->gc |= RC__INSET;
    }
    h->candidates.len = 0;
    h->candidates_live = 0;
}

/* ---- garbage ---- */

static void count_in_garbage(rc_head *c, void *ctx)
{
    if ((c->gc & RC__INSET) && (c->gc >> RC__FIELD_SHIFT) != RC__FIELD_MAX &&
        rc__page_of(c)->heap == ctx)
        c->gc += 1u << RC__FIELD_SHIFT;
}

static void mark_in_garbage(rc_head *c, void *ctx)
{
    gc_set *s = ctx;
    if (!(c->gc & RC__INSET) || rc__page_of(c)->heap != s->h || rc__marked(s->h, c)) return;
    rc__set_marked(s->h, c);
    if (!rc__vec_push(s->h, &s->stack, c)) s->overflow = true;
}

/*
 * Free the garbage in `g` (objects with refcnt > 0, unmarked, field 0, their
 * generation already set as survivors'). Returns how many were freed; the
 * rest were resurrected by finalizers or callbacks. While here every object carries INSET,
 * which also keeps rc_decref from buffering objects that are about to go.
 */
/* Sweep found `o` unreachable: hold it (refcnt + 1) and flag it INSET until
 * the garbage is deleted. Young and candidate sweeps also move it to the
 * front of their members vector; a page walk leaves it where it lies. */
RC_INLINE void hold_garbage(gc_set *s, rc_head *o)
{
    rc_assert(o->refcnt && !(o->gc & RC__BUFFERED));
    o->refcnt++;
    o->gc |= RC__INSET;
    s->held++;
    if (o->type->finalize && !(o->gc & RC__FINALIZED)) s->finalizers = true;
    if ((o->gc & RC__WEAKREFS) || o->type->rc_kind == RC_KIND_WEAKREF) s->weak = true;
}

/* Clear INSET on every live object: after clear() handed a reference to
 * garbage to someone, the survivors cannot be told apart otherwise (rare). */
static void clear_inset_everywhere(rc_heap *h)
{
    for (size_t i = 0; i < h->pages[1].len; i++) {
        rc_page *pg = h->pages[1].items[i];
        RC__FOREACH_BLOCK(pg, o)
            if (o->refcnt) o->gc &= ~RC__INSET;
    }
}

/* Weak-reference callbacks and finalizers may have made garbage reachable
 * again (a pointer they held, a weak reference they made): trial deletion
 * again, inside the garbage, spares what they resurrected (it leaves `g`).
 * Then the weak references they made to what stays garbage are cleared
 * without calling back (CPython's clear_weakrefs), so no code that runs
 * later reaches garbage through one. Returns what stays garbage. */
static size_t spare_resurrected(rc_heap *h, rc_vec *g, gc_set *s)
{
    size_t n = g->len;
    for (size_t i = 0; i < n; i++) rc__foreach_ref(g->items[i], count_in_garbage, h);
    for (size_t i = 0; i < n; i++) {
        rc_head *o = g->items[i];
        if (o->refcnt - 1 > rc__field(o) && !rc__marked(h, o)) {
            rc__set_marked(h, o);
            if (!rc__vec_push(h, &s->stack, o)) s->overflow = true;
            drain(s, mark_in_garbage);
        }
    }
    while (s->overflow) {
        s->overflow = false;
        for (size_t i = 0; i < n; i++)
            if (rc__marked(h, g->items[i])) {
                rc__foreach_ref(g->items[i], mark_in_garbage, s);
                drain(s, mark_in_garbage);
            }
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        rc_head *o = g->items[i];
        rc__set_field(o, 0);
        if (rc__marked(h, o)) {        /* resurrected: only drop the hold */
            o->gc = (o->gc & ~(RC__INSET | RC__MARK)) | h->mark_flip;
            rc_decref(o + 1);
        } else {
            g->items[k++] = o;
        }
    }
    s->resurrected += n - k;
    g->len = k;
    rc__hook_spared(h, (rc_head **)g->items, k);
    return k;
}

static size_t delete_garbage(rc_heap *h, rc_vec *g, gc_set *s)
{
    size_t n = g->len;
    for (size_t i = 0; i < n; i++)
        rc_assert(((rc_head *)g->items[i])->refcnt && (((rc_head *)g->items[i])->gc & RC__INSET));
    /* Weak references to garbage go first, callbacks of live ones run; what
     * the callbacks revived is spared before any finalizer runs, so
     * finalizers find every weak reference to garbage cleared. */
    if (s->weak && rc__hook_unreachable(h, (rc_head **)g->items, n))
        n = spare_resurrected(h, g, s);
    if (s->finalizers) {
        bool ran = false;
        for (size_t i = 0; i < n; i++) {
            rc_head *o = g->items[i];
            if (o->type->finalize && !(o->gc & RC__FINALIZED)) {
                o->gc |= RC__FINALIZED;
                o->type->finalize(o + 1);
                ran = true;
            }
        }
        if (ran) n = spare_resurrected(h, g, s);
    }
    /* From here on no new weak reference to the garbage can be made
     * (rc_weakref_new refuses garbage while `deleting`). */
    h->deleting = true;
    /* The on_garbage hooks see the final garbage; one that keeps it
     * (RC_GC_DEBUG_SAVEALL's garbage list, or nothing when that list could not
     * take it all) leaves every object as it is: only the hold goes, and
     * the list or the object's own cycle keeps it alive. None is freed. */
    if ((h->hooked & RC_HOOK_GARBAGE) && rc__hook_garbage(h, (rc_head **)g->items, n)) {
        for (size_t i = 0; i < n; i++) {
            rc_head *o = g->items[i];
            o->gc &= ~RC__INSET;
            rc_decref(o + 1);
        }
        h->deleting = false;
        return 0;
    }
    /* Break the cycles: each object lets go of what it holds, then of our
     * hold. An object is freed once nothing holds it, maybe only when a later
     * one lets go; it still carries INSET then, which is how unlink_object
     * counts it. */
    /* Chunk by chunk, so what release touched is still in cache: an object
     * left with only our hold (its referrers already let go) is freed right
     * here; the others wait for their referrers in later chunks. */
    size_t before = h->gc_freed;
    for (size_t c = 0; c < n; c += 1024) {
        size_t end = c + 1024 < n ? c + 1024 : n;
        for (size_t i = c; i < end; i++) rc__release_refs(g->items[i]);
        for (size_t i = c; i < end; i++) {
            rc_head *o = g->items[i];
            if (o->refcnt == 1) rc__free_now(h, o);
            else rc_decref(o + 1);
        }
    }
    size_t freed = h->gc_freed - before;
    if (freed < n) clear_inset_everywhere(h);
    h->deleting = false;
    return freed;
}

/*
 * Free the garbage a page walk held in place (held and INSET). Page by page,
 * each object lets go of its references, then those left with only the hold
 * are freed; the others die when their referrers in later pages let go.
 * Pages emptied meanwhile stay until the walk ends, so the walk's page list
 * does not change under it. When finalizers, weak references or an
 * on_garbage hook (RC_HOOK_GARBAGE) need the garbage as a list, it is
 * gathered and handed to delete_garbage.
 */
static size_t delete_held(rc_heap *h, rc_vec *g, gc_set *s)
{
    if (s->finalizers || s->weak || (h->hooked & RC_HOOK_GARBAGE)) {
        /* Room for all first: without it the whole garbage survives this
         * collection (a part of it deleted or saved could leave the rest
         * alive for good), held by nothing but its own cycles. */
        bool room = true;
        while (room && g->cap < s->held) room = rc__vec_grow(h, g);
        for (size_t i = 0; i < h->pages[1].len; i++) {
            rc_page *pg = h->pages[1].items[i];
            RC__FOREACH_BLOCK(pg, o) {
                if (!o->refcnt || !(o->gc & RC__INSET)) continue;
                if (room && rc__vec_push(h, g, o)) continue;
                o->gc &= ~RC__INSET;
                rc_decref(o + 1);
            }
        }
        if (!room) {
            rc__fail(h, RC_ENOMEM, "rc_gc_collect: out of memory for the list of %zu unreachable "
                     "objects; they are left for a later collection (none freed or saved)",
                     s->held);
            return 0;
        }
        return delete_garbage(h, g, s);
    }
    size_t before = h->gc_freed, n = s->held;
    h->deleting = true;
    h->keep_empty_pages = true;
    for (size_t i = 0; i < h->pages[1].len; i++) {
        rc_page *pg = h->pages[1].items[i];
        RC__FOREACH_BLOCK(pg, o)
            if (o->refcnt && (o->gc & RC__INSET)) rc__release_refs(o);
        RC__FOREACH_BLOCK(pg, o) {
            if (!o->refcnt || !(o->gc & RC__INSET)) continue;
            if (o->refcnt == 1) rc__free_now(h, o);
            else rc_decref(o + 1);
        }
    }
    h->keep_empty_pages = false;
    rc__release_empty_pages(h);
    size_t freed = h->gc_freed - before;
    if (freed < n) clear_inset_everywhere(h);
    h->deleting = false;
    return freed;
}

/* ---- generational collection ---- */

/* The start every collection shares: busy, the on_collect_begin hooks (gc
 * callbacks, debug line); the clock. */
static double begin_collection(rc_heap *h, rc_gc_info *info)
{
    rc_assert(!h->busy && !h->freeing && !h->scanning && !h->pending);   /* invariant 4 */
    EXPENSIVE_VERIFY(h, "before a collection");
    h->busy++;
    if (h->hooked & RC_HOOK_COLLECT) rc__hook_collect_begin(h, info);
    return rc__now_seconds();
}

/* The end every collection shares: give pages back, fill in the figures
 * (CPython counts resurrected objects as neither collected nor
 * uncollectable), statistics, the on_collect_end hooks (debug line, gc
 * callbacks), not busy any more. */
static void end_collection(rc_heap *h, rc_gc_info *info, rc_gen_stats *st, size_t found,
                           size_t freed, size_t resurrected, double t0)
{
    rc__alloc_purge_soon(h);
    info->collected = freed;
    info->uncollectable = found - freed - resurrected;
    info->duration = rc__now_seconds() - t0;
    st->collected += freed;
    st->uncollectable += info->uncollectable;
    st->seconds += info->duration;
    if (h->hooked & RC_HOOK_COLLECT) rc__hook_collect_end(h, info);
    h->busy--;
    rc_assert(!h->scanning && !h->freeing);
    EXPENSIVE_VERIFY(h, "after a collection");
}

/*
 * Mark and sweep a set gathered in `m` (young or candidate): every member
 * held from outside is marked with what it reaches; survivors move to
 * generation `target`, and the garbage, held, moves to the front of `m`
 * (m->len becomes its count). Returns how many members there were.
 */
static size_t mark_sweep_members(gc_set *s, rc_vec *m, unsigned target)
{
    rc_heap *h = s->h;
    for (size_t i = 0; i < m->len; i++) {
        rc_head *o = m->items[i];
        if (!rc__marked(h, o) && o->refcnt > rc__field(o)) mark_from(s, o);
    }
    mark_fixpoint(s, m);
    size_t k = 0, n = m->len;
    for (size_t i = 0; i < n; i++) {
        rc_head *o = m->items[i];
        unsigned g = rc__gen(o);
        bool dead = !rc__marked(h, o);
        rc_assert((o->gc & RC__INSET) && !(o->gc & RC__BUFFERED) && g < 3);
        o->gc = (o->gc & ~(RC__MARK | RC__INSET | RC__GEN_MASK | (RC__FIELD_MAX << RC__FIELD_SHIFT))) |
                target | h->mark_flip;
        h->gen_objects[g]--;
        h->gen_objects[target]++;
        if (dead) {
            hold_garbage(s, o);
            m->items[k++] = o;
        }
    }
    m->len = k;
    return n;
}

/* A full-collection survivor: generation 2, field 0; its MARK bit (marked
 * under the current polarity) reads as unmarked once the polarity flips. */
RC_INLINE void settle(rc_heap *h, rc_head *o)
{
    unsigned g = rc__gen(o);
    rc_assert(g < 3 && !(o->gc & (RC__INSET | RC__BUFFERED)));
    o->gc = (o->gc & ~(RC__GEN_MASK | (RC__FIELD_MAX << RC__FIELD_SHIFT))) | 2u;
    if (g != 2) {
        h->gen_objects[g]--;
        h->gen_objects[2]++;
    }
}

/*
 * Mark and sweep of a full collection in one walk. An object whose count
 * shows an outside reference is marked with everything it reaches; a marked
 * object is settled as a survivor on the spot, and never looked at again:
 * MARK's polarity flips at the end, so survivors need no second pass to be
 * unmarked. Objects not (yet) marked when the walk passes them may still be
 * reached from a later root: only when there were such objects does a
 * second walk settle the late-marked ones and hold the rest as garbage.
 * A heap built parent first (the usual way) has none when nothing died.
 */
static void full_mark_sweep(gc_set *s, rc_gc_info *info)
{
    rc_heap *h = s->h;
    uint32_t newflip = h->mark_flip ^ RC__MARK;
    size_t tentative = 0;
    FOREACH_MEMBER(s, o, {
        info->examined++;
        if (!rc__marked(h, o)) {
            if (o->refcnt <= rc__field(o)) {
                tentative++;
                continue;
            }
            mark_from(s, o);
        }
        settle(h, o);
    });
    if (s->overflow) {
        mark_fixpoint(s, NULL);
        tentative = 1;   /* what the fixpoint marked still needs settling */
    }
    if (tentative) {
        FOREACH_MEMBER(s, o, {
            if (rc__marked(h, o)) {
                settle(h, o);
            } else {
                settle(h, o);
                o->gc = (o->gc & ~RC__MARK) | newflip;   /* unmarked once flipped */
                hold_garbage(s, o);
            }
        });
    }
    h->mark_flip = newflip;
}

static size_t collect_generation(rc_heap *h, unsigned gen)
{
    rc_gc_info info = {.generation = (int)gen};
    double t0 = begin_collection(h, &info);
    gc_set s = {.h = h, .gen = gen};
    s.page_mask = gen == 0 ? RC_PAGE_YOUNG0 : RC_PAGE_YOUNG0 | RC_PAGE_YOUNG1;
    rc_vec garbage = {0};
    unsigned target = gen < 2 ? gen + 1 : 2;

    h->scanning = true;

    /* A young set is gathered into a vector once (members flagged INSET), so
     * the phases run over it in tight loops without re-walking the pages and
     * without looking at a referent's page to know whether it is a member.
     * The whole heap is walked page by page instead: a vector of it would
     * cost 8 bytes per object. Without memory for the vector, the collection
     * becomes a full one, which needs none. */
    rc_vec *members = NULL;
    if (gen < 2) {
        members = &h->scratch;
        members->len = 0;
        bool ok = true;
        FOREACH_MEMBER(&s, o, {
            if (ok && rc__vec_push(h, members, o)) o->gc |= RC__INSET;
            else ok = false;
        });
        if (ok) {
            s.candidates = true;   /* membership: INSET */
        } else {
            for (size_t i = 0; i < members->len; i++)
                ((rc_head *)members->items[i])->gc &= ~RC__INSET;
            members = NULL;
            gen = s.gen = target = 2;
            info.generation = 2;
        }
    }
    if (gen == 2) flush_candidates(h, NULL);

    /* count */
    if (members) {
        for (size_t i = 0; i < members->len; i++) {
            SET_FROM(&s, members->items[i]);
            rc__foreach_ref(members->items[i], count_ref, &s);
        }
    } else {
        FOREACH_SET_PAGE(&s, pg, { count_page(&s, pg); });
    }
    /* mark and sweep */
    if (members) info.examined = mark_sweep_members(&s, members, target);
    else full_mark_sweep(&s, &info);
    h->scanning = false;
    /* The young page lists now describe nothing younger than `target`. */
    if (gen < 2) {
        rc_vec *y0 = &h->young[0];
        while (y0->len) {
            rc_page *pg = y0->items[y0->len - 1];
            if (target == 1 && !rc__young_add(h, pg, 1)) {
                /* Cannot list it as generation 1: its objects become old. */
                for (char *p = rc__page_first(pg); p < pg->bump; p += pg->block_size) {
                    rc_head *o = (rc_head *)p;
                    if (o->refcnt && (o->gc & RC__TRACKED) && rc__gen(o) == 1) {
                        o->gc = (o->gc & ~RC__GEN_MASK) | 2;
                        h->gen_objects[1]--;
                        h->gen_objects[2]++;
                    }
                }
            }
            rc__young_remove(h, pg, 0);
        }
        if (gen == 1)
            while (h->young[1].len) rc__young_remove(h, h->young[1].items[h->young[1].len - 1], 1);
    } else {
        while (h->young[0].len) rc__young_remove(h, h->young[0].items[h->young[0].len - 1], 0);
        while (h->young[1].len) rc__young_remove(h, h->young[1].items[h->young[1].len - 1], 1);
    }
    rc_assert(h->young[0].len == 0 && (gen == 0 || h->young[1].len == 0));   /* invariant 2 */

    size_t found, freed;
    if (members) {
        found = members->len;
        freed = delete_garbage(h, members, &s);
        members->len = 0;
        if (members->cap > RC_SCRATCH_KEEP) rc__vec_free(h, members);
    } else {
        found = s.held;
        freed = found ? delete_held(h, &garbage, &s) : 0;
    }
    rc__vec_free(h, &garbage);
    rc__vec_free(h, &s.stack);

    /* Python's counters: this generation and the younger ones restart, the
     * next one counts one more collection. Manual collections count too. */
    for (unsigned g = 0; g <= gen; g++) h->count[g] = 0;
    if (gen < 2) h->count[gen + 1]++;
    if (gen == 2) h->old_at_full = h->gen_objects[2];
    h->gstats[gen].collections++;
    end_collection(h, &info, &h->gstats[gen], found, freed, s.resurrected, t0);
    return freed;
}

/* ---- candidate scans ---- */

/* Count a reference from a member; an old object not yet in S joins it
 * while the budget lasts. */
RC_INLINE void expand_ref(rc_head *c, void *ctx)
{
    gc_set *s = ctx;
    CHECK_SAME_HEAP(s, c);
    if (unlikely(rc__page_of(c)->heap != s->h)) return;   /* another heap's: never a member */
    if (!(c->gc & RC__INSET)) {
        if ((c->gc & (RC__TRACKED | RC__GEN_MASK)) != (RC__TRACKED | 2) || s->full) return;
        if (!rc__vec_push(s->h, s->members, c)) {
            s->full = true;
            return;
        }
        c->gc |= RC__INSET;
        rc__set_field(c, 0);
        if (s->members->len >= s->budget) s->full = true;
    }
    c->gc += 1u << RC__FIELD_SHIFT;   /* a wrap only makes c look held from outside */
}

size_t rc__scan_candidates(rc_heap *h)
{
    if (h->busy || h->freeing) return 0;
    if (!h->candidates_live) {
        h->candidates.len = 0;
        return 0;
    }
    rc_gc_info info = {.generation = 2, .candidates = 1};
    double t0 = begin_collection(h, &info);
    h->scanning = true;
    h->candidate_scans++;
    rc_vec members = {0};
    gc_set s = {.h = h, .candidates = true, .members = &members};
    /* Stress mode scans often: small sets, which also exercise the budget. */
    s.budget = h->stress ? 1024 : (size_t)h->candidate_limit * 8 + 4096;
    flush_candidates(h, &members);

    /* count, growing S breadth first over old objects within the budget;
     * members.len grows while we walk it */
    for (size_t i = 0; i < members.len; i++) {
        SET_FROM(&s, members.items[i]);
        rc__foreach_ref(members.items[i], expand_ref, &s);
    }

    info.examined = mark_sweep_members(&s, &members, 2);
    h->scanning = false;
    size_t found = members.len;
    size_t freed = delete_garbage(h, &members, &s);
    rc__vec_free(h, &members);
    rc__vec_free(h, &s.stack);
    h->gstats[2].candidates += freed;
    end_collection(h, &info, &h->gstats[2], found, freed, s.resurrected, t0);
    return freed;
}

/* ---- policy ---- */

/* Whether a full collection is worth it: the old generation grew by a
 * quarter since the last one (live objects: those freed by refcounting do
 * not count, unlike CPython's long_lived_pending). */
static bool full_is_due(rc_heap *h)
{
    /* Measured from the live count after the last full collection: an old
     * generation that shrank by refcount and grows back to where it was has
     * not grown (its garbage stays bounded by a quarter over that mark). */
    return h->gen_objects[2] > h->old_at_full + h->old_at_full / 4;
}

/* Stress mode: a young collection at every tracked allocation, generation 1
 * every 8th, a full collection every 64th once an eighth of the tracked
 * objects were allocated since the last (a full collection per allocation
 * would make every test quadratic), candidates every 16th. */
#define RC_STRESS_FULL_EVERY 64
static void stress_collect(rc_heap *h)
{
    size_t k = ++h->stress_allocs;
    size_t tracked = h->gen_objects[0] + h->gen_objects[1] + h->gen_objects[2];
    unsigned gen = k % 8 ? 0 : 1;
    if (k % RC_STRESS_FULL_EVERY == 0 && k >= tracked / 8) gen = 2;
    collect_generation(h, gen);
    if (gen == 2) h->stress_allocs = 0;
    if ((k % 16 == 0 && h->candidates_live) || h->candidates.len >= h->candidate_trigger)
        rc__scan_candidates(h);
}

void rc__maybe_collect(rc_heap *h)
{
    if (!h->enabled || h->busy || h->freeing) return;
    if (h->stress) {
        stress_collect(h);
        return;
    }
    if (h->count[0] >= h->young_limit) {
        unsigned gen = 0;
        /* A backed-off young collection covers young_scale times as many
         * allocations: generation 1 is collected after proportionally fewer
         * of them, so its set (and pause) stays the size thresholds give. */
        unsigned t1 = h->threshold[1] / h->young_scale;
        if (h->count[1] >= (t1 ? t1 : 1)) {
            gen = 1;
            if (h->count[2] >= h->threshold[2] && full_is_due(h)) gen = 2;
        }
        size_t examined = h->gen_objects[0] + (gen ? h->gen_objects[1] : 0);
        size_t freed = collect_generation(h, gen);
        /* A young generation in which nothing dies is worth collecting less
         * often: objects get longer to die by refcount before anything scans
         * them (up to RC_YOUNG_SCALE_MAX x threshold 0). Garbage found brings
         * the threshold straight back. */
        if (freed * 64 < examined) {
            if (h->young_scale < RC_YOUNG_SCALE_MAX) h->young_scale *= 2;
        } else {
            h->young_scale = 1;
        }
        rc__young_limit_update(h);
    }
    if (h->candidates.len >= h->candidate_trigger) rc__scan_candidates(h);
}

size_t rc_gc_collect(rc_heap *h, int generation)
{
    RC__HEAP_CHECK(h, "rc_gc_collect");
    if (!h || h->busy || h->freeing) return 0;
    if (generation < 0 || generation > 2) {
        rc__fail(h, RC_EINVAL, "rc_gc_collect: generation %d is not 0, 1 or 2", generation);
        return 0;
    }
    size_t freed = 0;
    if (generation < 2) freed += rc__scan_candidates(h);
    freed += collect_generation(h, (unsigned)generation);
    return freed;
}

const rc_hooks rc__collector_hooks = {.collect_due = rc__maybe_collect};
