/*
 * trial.c -- trial deletion (collector.h has the essay): the sets, the count,
 * mark and sweep phases, the full-heap walk, candidate scans, and
 * rc__collect, one collection of generations 0..gen. Garbage deletion is
 * garbage.c's, when to collect policy.c's.
 */
#include "collector/collector.h"
#include "core/clock.h"

#include <stdlib.h>

/* RC_EXPENSIVE: the whole heap is verified before and after every collection. */
#ifdef RC_EXPENSIVE
#define EXPENSIVE_VERIFY(h, when) rc__heap_verify((h), (when))
#else
#define EXPENSIVE_VERIFY(h, when) ((void)0)
#endif

/* ---- set membership ---- */

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
 * heap: the collectors of both heaps would miscount it. One into a frozen
 * region s->h holds is fine (immortal: nobody counts it); one into a region
 * it does not hold could outlive the region. */
static RC_NOINLINE void foreign_ref(const gc_set *s, const rc_head *to)
{
    if (rc__held_region_of(s->h, to)) return;
    const rc_head *from = s->from;
    if (rc__region_of(to)) {
        fprintf(stderr,
                "recycle: collecting heap %p: the %s at %p refers to the %s at %p in the frozen "
                "region %p, which the heap does not hold (rc_heap_hold_region)\n",
                (void *)s->h, from && from->type->name ? from->type->name : "?",
                from ? (const void *)(from + 1) : NULL,
                to->type && to->type->name ? to->type->name : "?", (const void *)(to + 1),
                rc__region_of(to));
        abort();
    }
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
        if (unlikely(rc__page_of(c)->heap != (s)->h))                         \
            foreign_ref((s), (c));                                             \
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
        const unsigned gen_ = (s)->gen;                                        \
        RC__WALK_BLOCKS(pg_, o, {                                              \
            if (!o->refcnt || !(o->gc & RC__TRACKED) || rc__gen(o) > gen_)     \
                continue;                                                      \
            BODY                                                               \
        });                                                                    \
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

/* The same for a set whose members are flagged INSET (s->candidates: a
 * gathered young set, an incremental pass's verdict). */
RC_INLINE void count_ref_inset(rc_head *c, void *ctx)
{
    gc_set *s = ctx;
    CHECK_SAME_HEAP(s, c);
    (void)s;
    if (c->gc & RC__INSET) c->gc += 1u << RC__FIELD_SHIFT;
}

/* Whether gc word `gc` is a full collection's member's: tracked, not
 * frozen (generation 0 to 2), in one compare. On a page nobody watches a
 * free block's gc word is 0 (zeroed with its refcnt when it was freed), so
 * there this needs no look at refcnt first. */
RC_INLINE bool full_member_gc(uint32_t gc)
{
    return (gc & (RC__TRACKED | RC__GEN_MASK)) - RC__TRACKED < 3u;
}

/* The same for a full collection, where a member is any tracked object
 * not frozen (generation 0..2): one load of the gc word, nothing of the
 * set's to read. */
RC_INLINE void count_ref_full(rc_head *c, void *ctx)
{
    (void)ctx;
#ifdef RC_DEBUG
    gc_set *s = ctx;
    CHECK_SAME_HEAP(s, c);
#endif
    uint32_t gc = c->gc;
    if (full_member_gc(gc)) c->gc = gc + (1u << RC__FIELD_SHIFT);
}

/* A full collection's count on several threads (count_page_par): the gc
 * word is read and incremented atomically. The count changes only the
 * field; the flags read are those of the start. A carry out of bit 31 is
 * lost, which, like a wrap, only makes the object look held from outside. */
RC_INLINE void count_ref_par(rc_head *c, void *ctx)
{
    gc_set *s = ctx;
    CHECK_SAME_HEAP(s, c);
    uint32_t gc = __atomic_load_n(&c->gc, __ATOMIC_RELAXED);
    if ((gc & RC__TRACKED) && (gc & RC__GEN_MASK) <= s->gen)
        __atomic_fetch_add(&c->gc, 1u << RC__FIELD_SHIFT, __ATOMIC_RELAXED);
}

/* The count phase of a full collection over one page. A page's objects are
 * mostly of one type: the last slots type seen (no traverse) is kept in
 * registers, so its objects' references are counted without the type's
 * fields read again, and while counting an object the references of the
 * one a few blocks on are fetched (when of that type), so the increments on
 * far-away referents (a tree's right child) find them in cache. Other
 * objects go through rc__foreach_ref. `par`: other threads count at the
 * same time (a constant: each caller gets its own loop). */
enum { AHEAD = 6 };   /* blocks ahead whose referents the count fetches */

RC_INLINE void count_page_with(gc_set *s, rc_page *pg, bool par)
{
    void (*const visit)(rc_head *, void *) = par ? count_ref_par : count_ref_full;
    bool large = pg->flags & RC_PAGE_LARGE;
    char *end = large ? rc__page_first(pg) + 1 : pg->bump;
    size_t step = large ? 1 : pg->block_size;
    char *ahead_end = large || end - rc__page_first(pg) < (ptrdiff_t)(AHEAD * step)
                          ? rc__page_first(pg)
                          : end - AHEAD * step;
    const rc_type *slots_type = NULL;   /* the last slots type seen */
    uint32_t nslots = 0, offset = 0;
    for (char *p = rc__page_first(pg); p < end; p += step) {
        if (p < ahead_end) {
            const rc_head *a = (const rc_head *)(p + AHEAD * step);
            /* a free block: only its refcnt may be read */
            if (a->refcnt && a->type == slots_type) {
                void *const *sl = (void *const *)((const char *)(a + 1) + offset);
                RC__SLOTS_DOWN(nslots, i, {
                    if (sl[i]) __builtin_prefetch(RC_HEAD(sl[i]), 1);
                });
            }
        }
        rc_head *o = (rc_head *)p;
        if (!o->refcnt) continue;   /* a free block: only its refcnt may be read */
        uint32_t gc = par ? __atomic_load_n(&o->gc, __ATOMIC_RELAXED) : o->gc;
        if (!(gc & RC__TRACKED) || (gc & RC__GEN_MASK) == 3) continue;
        SET_FROM(s, o);
        const rc_type *t = o->type;
        if (t != slots_type) {
            if (t->rc_kind != RC_KIND_USER || t->traverse || !t->nslots) {
                rc__foreach_ref(o, visit, s);
                continue;
            }
            slots_type = t;
            nslots = t->nslots;
            offset = t->slots_offset;
        }
        void **sl = (void **)((char *)(o + 1) + offset);
        RC__SLOTS_DOWN(nslots, i, {
            if (sl[i]) visit(RC_HEAD(sl[i]), s);
        });
    }
}

/* count_fast's ways of walking a run of blocks: prefetching nothing,
 * fetching the referents of the block AHEAD blocks on, or prefetching
 * nothing while noting whether any reference leads FAR_BYTES or more away
 * from its referrer. */
enum { COUNT_PLAIN, COUNT_AHEAD, COUNT_SAMPLE };
enum { SAMPLE = 128, FAR_BYTES = 1024 };

RC_INLINE bool far_ref(const void *c, const char *p)
{
    return (uintptr_t)c - (uintptr_t)p + FAR_BYTES > 2 * FAR_BYTES;
}

/* The count over blocks [p, end) of a small page nobody watches while its
 * members are of slots type `st` (`ns` slots, a constant at each call, at
 * `off`), `mode` a constant. Returns where it stopped: `end`, or a member
 * of another type. With COUNT_AHEAD, end + AHEAD blocks must lie within
 * the page's blocks. *far: for COUNT_SAMPLE, set when some reference
 * leads far. */
RC_INLINE char *count_same(gc_set *s, char *p, char *end, size_t step, const rc_type *st,
                           uint32_t off, uint32_t ns, int mode, bool *far)
{
    for (; p < end; p += step) {
        if (mode == COUNT_AHEAD) {
            /* A free block keeps its type and its slots hold stale
             * pointers or its free-list link: fetching them is harmless. */
            const rc_head *a = (const rc_head *)(p + AHEAD * step);
            if (a->type == st) {
                void *const *sl = (void *const *)((const char *)(a + 1) + off);
                RC__SLOTS_DOWN(ns, i, {
                    if (sl[i]) __builtin_prefetch(RC_HEAD(sl[i]), 1);
                });
            }
        }
        rc_head *o = (rc_head *)p;
        if (!full_member_gc(o->gc)) continue;
        if (o->type != st) return p;
        SET_FROM(s, o);
        void **sl = (void **)((char *)(o + 1) + off);
        RC__SLOTS_DOWN(ns, i, {
            void *c = sl[i];
            if (c) {
                if (mode == COUNT_SAMPLE) *far |= far_ref(c, p);
                count_ref_full(RC_HEAD(c), s);
            }
        });
    }
    return p;
}

/* The count over blocks [p, end) of a small page nobody watches, `mode` a
 * constant; `sc` the last slots type seen (kept from page to page). Runs
 * of objects of one slots type go through count_same, its slots unrolled
 * for the usual few. Returns, for COUNT_SAMPLE, whether some reference
 * leads far. */
RC_INLINE bool count_run(gc_set *s, char *p, char *end, size_t step, slots_cache *sc, int mode)
{
    const rc_type *st = sc->type;
    uint32_t ns = sc->nslots, off = sc->offset;
    bool far = false;
    for (;;) {
#define SAME(k) (p = count_same(s, p, end, step, st, off, (k), mode, &far))
        RC__SLOTS_RUN(ns, SAME);
#undef SAME
        if (p >= end) break;
        /* a member of another type than st */
        rc_head *o = (rc_head *)p;
        const rc_type *t = o->type;
        if (t->rc_kind != RC_KIND_USER || t->traverse || !t->nslots) {
            SET_FROM(s, o);
            rc__foreach_ref(o, count_ref_full, s);
            p += step;
            continue;
        }
        st = t;   /* count_same counts o next */
        ns = t->nslots;
        off = t->slots_offset;
    }
    sc->type = st;
    sc->nslots = ns;
    sc->offset = off;
    return far;
}

/* The count of a full collection over one small page nobody watches
 * (count_page_with otherwise). Its first SAMPLE blocks are counted
 * without prefetching, noting how far their references lead: fetching
 * the referents of blocks ahead costs about as much as the count itself,
 * and only pays where referents lie far from their referrers (a tree's
 * right children: W4), not in a heap of objects that refer to their
 * neighbours (W3's cycles). The rest of the page is walked the way the
 * sample says. */
static void count_fast(gc_set *s, rc_page *pg, slots_cache *sc)
{
    char *p = rc__page_first(pg), *end = pg->bump;
    const size_t step = pg->block_size;
    size_t nblocks = (size_t)(end - p) / step;
    if (nblocks <= SAMPLE + AHEAD) {
        count_run(s, p, end, step, sc, COUNT_PLAIN);
        return;
    }
    char *mid = p + SAMPLE * step, *ahead_end = end - AHEAD * step;
    if (count_run(s, p, mid, step, sc, COUNT_SAMPLE)) {
        count_run(s, mid, ahead_end, step, sc, COUNT_AHEAD);
        count_run(s, ahead_end, end, step, sc, COUNT_PLAIN);
    } else {
        count_run(s, mid, end, step, sc, COUNT_PLAIN);
    }
}

static void count_page(gc_set *s, rc_page *pg, slots_cache *sc)
{
    if (pg->flags & (RC_PAGE_LARGE | RC_PAGE_WATCH)) count_page_with(s, pg, false);
    else count_fast(s, pg, sc);
}

/* A parallel count: the threads take chunks of the page list in turn. */
typedef struct par_count {
    const gc_set *proto;
    size_t next;   /* the first page no thread took yet (atomic) */
} par_count;

static void count_pages_par(void *arg, unsigned threads)
{
    (void)threads;
    par_count *pc = arg;
    gc_set s = *pc->proto;   /* SET_FROM writes are this thread's own */
    const rc_vec *pages = &s.h->pages[1];
    size_t i;
    while ((i = __atomic_fetch_add(&pc->next, RC_PAR_CHUNK, __ATOMIC_RELAXED)) < pages->len) {
        size_t end = i + RC_PAR_CHUNK < pages->len ? i + RC_PAR_CHUNK : pages->len;
        for (; i < end; i++) count_page_with(&s, pages->items[i], true);
    }
}

/* The count phase of a full collection: on the parallel collection's
 * threads when the heap is big enough (rc_gc_set_parallel), else here.
 * True when it ran on several threads (then so does the mark phase). */
static bool count_full(gc_set *s)
{
    rc_heap *h = s->h;
    if (h->par_workers > 1 && h->gen_objects[0] + h->gen_objects[1] + h->gen_objects[2] >= h->par_min) {
        par_count pc = {s, 0};
        if (rc__par_run(h, count_pages_par, &pc)) return true;
    }
    slots_cache sc = {0};
    FOREACH_SET_PAGE(s, pg, { count_page(s, pg, &sc); });
    return false;
}

/* ---- mark ---- */

RC_INLINE void mark_ref(rc_head *c, void *ctx)
{
    gc_set *s = ctx;
    if (!is_member(s, c) || rc__marked(s->h, c)) return;
    rc__set_marked(s->h, c);
    if (!rc__vec_push(s->h, &s->stack, c)) s->overflow = true;
}


/* A full collection's mark (s->flip the polarity): a member (tracked,
 * not frozen) not yet marked is marked and settled as a survivor in the
 * same write of its gc word -- generation 2, field 0, INSET clear (an
 * object the walk passed as garbage, full_mark_sweep's) -- as
 * parmark.c's threads do: a marked object's field is never read again, and
 * the walks after the mark only read the survivors' headers. The
 * generation counts move once, at the end (settle_counts). True when this
 * call marked `c`. */
RC_INLINE bool mark_settle(gc_set *s, rc_head *c)
{
    uint32_t gc = c->gc, flip = s->flip;
    if (!(gc & RC__TRACKED) || (gc & RC__GEN_MASK) == 3 || ((gc ^ flip) & RC__MARK)) return false;
    c->gc = (gc & ~(RC__MARK | RC__INSET | RC__GEN_MASK | (RC__FIELD_MAX << RC__FIELD_SHIFT))) |
            (flip ^ RC__MARK) | 2u;
    s->settled[gc & RC__GEN_MASK]++;
    if (unlikely(gc & RC__INSET)) s->held--;   /* passed as garbage, reached after all */
    return true;
}

RC_INLINE void mark_ref_full(rc_head *c, void *ctx)
{
    gc_set *s = ctx;
    if (mark_settle(s, c) && !rc__vec_push(s->h, &s->stack, c)) s->overflow = true;
}

/* A full collection's mark from `root` (marked): its stack holds
 * references not looked at yet, each marked (or found marked already) when
 * it is taken off. The gc word of an object is then read when the walk
 * comes to it, not when its referrer is expanded: depth first over a graph
 * built depth first (a tree made parent first) that is the order of
 * memory, which the hardware fetches ahead, where marking at the push
 * waits for each far child (a tree's right child) in turn. A reference
 * the stack has no room for is marked at once, for mark_fixpoint. */
RC_INLINE void push_ref_full(rc_head *c, void *ctx)
{
    gc_set *s = ctx;
    if (unlikely(!rc__vec_push(s->h, &s->stack, c)) && mark_settle(s, c)) s->overflow = true;
}

static void mark_full_from(gc_set *s, rc_head *root)
{
    slots_cache sc = {0};
    rc_head *x = root;
    for (;;) {
        foreach_ref_cached(x, push_ref_full, s, &sc);
        do {
            if (!s->stack.len) return;
            x = s->stack.items[--s->stack.len];
        } while (!mark_settle(s, x));
    }
}

/* Move the generation counts of what mark_settle settled. */
static void settle_counts(gc_set *s)
{
    rc_heap *h = s->h;
    for (unsigned g = 0; g < 2; g++) {
        h->gen_objects[g] -= s->settled[g];
        h->gen_objects[2] += s->settled[g];
        s->settled[g] = 0;
    }
    s->settled[2] = 0;
}

/* mark_ref for a set whose members are flagged INSET (young, candidate):
 * MARK's polarity from s->flip. */
RC_INLINE void mark_ref_inset(rc_head *c, void *ctx)
{
    gc_set *s = ctx;
    uint32_t gc = c->gc;
    if (!(gc & RC__INSET) || ((gc ^ s->flip) & RC__MARK)) return;
    c->gc = gc ^ RC__MARK;
    if (!rc__vec_push(s->h, &s->stack, c)) s->overflow = true;
}

/* The mark of such a set from `x` (marked) and the mark stack, depth first:
 * mark_ref_inset for each object taken off the stack, except that on a slots
 * object the last referent it marks (its lowest slot's) is expanded next
 * straight from a local instead of going through the stack -- the order a
 * push and an immediate pop give, without the two. A chain is then marked
 * without touching the stack. */
static RC_NOINLINE void mark_inset_from(gc_set *s, rc_head *x)
{
    const uint32_t flip = s->flip;
    slots_cache *sc = &s->sc;
    for (;;) {
        rc_head *next = NULL;
        const rc_type *t = x->type;
        if (t != sc->type && (t->rc_kind != RC_KIND_USER || t->traverse || !t->nslots)) {
            rc__foreach_ref(x, mark_ref_inset, s);
        } else {
            if (t != sc->type) {
                sc->type = t;
                sc->nslots = t->nslots;
                sc->offset = t->slots_offset;
            }
            void **sl = (void **)((char *)(x + 1) + sc->offset);
            RC__SLOTS_DOWN(sc->nslots, i, {
                rc_head *c = sl[i] ? RC_HEAD(sl[i]) : NULL;
                uint32_t gc = c ? c->gc : 0;   /* no INSET: skipped */
                if ((gc & RC__INSET) && !((gc ^ flip) & RC__MARK)) {
                    c->gc = gc ^ RC__MARK;
                    if (next && !rc__vec_push(s->h, &s->stack, next)) s->overflow = true;
                    next = c;
                }
            });
        }
        if (next) x = next;
        else if (s->stack.len) x = s->stack.items[--s->stack.len];
        else return;
    }
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
        } else {   /* a full collection: mark_settle's marks */
            FOREACH_MEMBER(s, o, {
                if (rc__marked(s->h, o)) {
                    rc__foreach_ref(o, mark_ref_full, s);
                    drain(s, mark_ref_full);
                }
            });
            settle_counts(s);
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

/* The end every collection shares: give pages back, fill in the figures of
 * `s` (found unreachable; every one is collected -- freed or saved --,
 * resurrected, or uncollectable), add them to the row `st`, the
 * on_collect_end hooks (debug line, gc callbacks), not busy any more.
 * Returns what rc_gc_collect reports: collected + uncollectable, as CPython's
 * gc.collect (resurrected objects are neither). */
static size_t end_collection(rc_heap *h, rc_gc_info *info, rc_gen_stats *st, const gc_set *s,
                             size_t found, size_t freed, double t0)
{
    rc__alloc_purge_soon(h);
    rc_assert(freed + s->saved + s->resurrected <= found);
    info->freed = freed;
    info->collected = freed + s->saved;
    info->resurrected = s->resurrected;
    info->uncollectable = found - info->collected - s->resurrected;
    info->duration = rc__now_seconds() - t0;
    st->collections++;
    st->collected += info->collected;
    st->uncollectable += info->uncollectable;
    st->freed += freed;
    st->resurrected += s->resurrected;
    st->seconds += info->duration;
    if (h->hooked & RC_HOOK_COLLECT) rc__hook_collect_end(h, info);
    h->busy--;
    if (h->trim_due && !h->busy) rc__alloc_trim(h);
    rc_assert(!h->scanning && !h->freeing);
    EXPENSIVE_VERIFY(h, "after a collection");
    return info->collected + info->uncollectable;
}

/*
 * Mark and sweep a set gathered in `m` (young or candidate): every member
 * held from outside is marked with what it reaches; survivors move to
 * generation `target`, and the garbage, held, moves to the front of `m`
 * (m->len becomes its count). Returns how many members there were.
 */
#define KEEP_GEN 4u   /* mark_sweep_members' target: survivors keep their generation */

/* mark_sweep_members' sweep, `target` a constant at each call. */
RC_INLINE void sweep_members(gc_set *s, rc_vec *m, unsigned target)
{
    rc_heap *h = s->h;
    const uint32_t flip = s->flip;
    const rc_type *quiet = NULL;
    size_t k = 0, n = m->len, left[3] = {0, 0, 0};
    RC__FOR_PREFETCHED(m->items, n, o, {
        uint32_t gc = o->gc;
        unsigned g = gc & RC__GEN_MASK;
        unsigned to = target == KEEP_GEN ? g : target;
        rc_assert((gc & RC__INSET) && !(gc & RC__BUFFERED) && g < 3);
        o->gc = (gc & ~(RC__MARK | RC__INSET | RC__GEN_MASK | (RC__FIELD_MAX << RC__FIELD_SHIFT))) |
                to | flip;
        if (target != KEEP_GEN) left[g]++;
        if (!((gc ^ flip) & RC__MARK)) {   /* not marked: garbage */
            s->mid_held += g == 1;
            hold_garbage_quiet(s, o, &quiet);
            m->items[k++] = o;
        }
    });
    if (target != KEEP_GEN)   /* else every member kept its generation */
        for (unsigned g = 0; g < 3; g++) {
            h->gen_objects[g] -= left[g];
            h->gen_objects[target] += left[g];
        }
    m->len = k;
}

static size_t mark_sweep_members(gc_set *s, rc_vec *m, unsigned target, bool no_roots)
{
    rc_heap *h = s->h;
    const uint32_t flip = h->mark_flip;
    s->flip = flip;
#ifdef RC_DEBUG
    for (size_t i = 0; no_roots && i < m->len; i++) {
        const rc_head *o = m->items[i];
        rc_assert(((o->refcnt - (o->gc >> RC__FIELD_SHIFT)) & RC__FIELD_MAX) == 0);   /* modulo the wrap */
    }
#endif
    if (!no_roots) RC__FOR_PREFETCHED(m->items, m->len, o, {
        uint32_t gc = o->gc;
        if (((gc ^ flip) & RC__MARK) || o->refcnt <= gc >> RC__FIELD_SHIFT) continue;
        o->gc = gc ^ RC__MARK;
        mark_inset_from(s, o);
    });
    mark_fixpoint(s, m);
    size_t n = m->len;
    if (target == KEEP_GEN) sweep_members(s, m, KEEP_GEN);
    else if (target == 1) sweep_members(s, m, 1);
    else sweep_members(s, m, 2);
    return n;
}

/* The sweep of a full collection once marking is over: marked members
 * were settled as survivors when marked; the others are held as garbage,
 * settled too, with their MARK bit set to read as unmarked once the
 * polarity flips to `newflip`. */
static void sweep_full(gc_set *s, uint32_t newflip)
{
    rc_heap *h = s->h;
    s->held = 0;
    FOREACH_MEMBER(s, o, {
        if (rc__marked(h, o)) continue;
        settle(h, o);
        o->gc = (o->gc & ~RC__MARK) | newflip;   /* unmarked once flipped */
        hold_garbage(s, o);
    });
}

/* During full_mark_sweep's walk: whether every member is marked or passed
 * as garbage, so that nothing the walk has not reached yet is unmarked --
 * the marks (s->settled, each member once) and the garbage passed (`held`
 * plus what s->held took back from it, modulo 2^N) add up to all the
 * members, which the generation counts know. Then the rest of the walk
 * would only read marked headers: a heap whose roots reach everything
 * early (a tree walked from its root, allocated first) is marked in one
 * pass after the count instead of two. (A reference into another heap,
 * which release builds do not stop, adds that heap's objects to the marks:
 * docs/guide.md says what it costs.) */
RC_INLINE bool all_marked(const gc_set *s, size_t members, size_t held)
{
    return s->settled[0] + s->settled[1] + s->settled[2] + held + s->held == members;
}

/*
 * Mark and sweep of a full collection in one walk. An object whose count
 * shows an outside reference is marked with everything it reaches, each
 * settled as a survivor as it is marked (mark_settle): the walk only reads
 * the headers of what the marks reached before it, and MARK's polarity
 * flips at the end, so survivors need no second pass to be unmarked.
 *
 * An object not (yet) marked when the walk passes it is garbage unless a
 * later root reaches it: the walk flags it INSET (and counts it in
 * s->held), and mark_settle clears the flag (and the count) if a mark
 * comes. So when the walk ends, INSET says garbage. When no garbage can
 * need a list -- no finalizer to run, no weak reference, no on_garbage
 * hook -- nothing more is done here: garbage deletion holds it a page at
 * a time as it frees it (s->unheld, garbage.c), one walk
 * instead of two. Otherwise a second walk holds it here (sweep_full).
 *
 * `par` (the count ran on several threads): marking runs on them too
 * (parmark.c) and settles the marked; then, unless every member was
 * marked, one walk holds the garbage.
 */
static void full_mark_sweep(gc_set *s, rc_gc_info *info, bool par)
{
    rc_heap *h = s->h;
    uint32_t newflip = h->mark_flip ^ RC__MARK;
    size_t unmarked;
    s->flip = h->mark_flip;
    if (par && rc__par_mark(s, info, &unmarked)) {
        if (unmarked || s->overflow) {
            mark_fixpoint(s, NULL);   /* when the shared list could not grow */
            sweep_full(s, newflip);
        }
        h->mark_flip = newflip;
        return;
    }
    size_t held = 0;
    const size_t members = h->gen_objects[0] + h->gen_objects[1] + h->gen_objects[2];
    bool listed = false;   /* some object passed as garbage may need a list */
    uint32_t anygc = 0;    /* the gc words of the garbage passed, ORed (RC__WEAKREFS) */
    const uint32_t flip = s->flip;
    const rc_type *quiet = NULL;   /* the last type seen with no finalizer, not weakref */
    s->held = 0;   /* mark_settle takes back from it what `held` will add */
    /* An object passed unmarked whose count shows no outside reference:
     * garbage unless a later root reaches it. */
#define PASSED_AS_GARBAGE(o, gc)                                               \
    do {                                                                       \
        (o)->gc = (gc) | RC__INSET;                                            \
        held++;                                                                \
        anygc |= (gc);                                                         \
        const rc_type *t_ = (o)->type;                                         \
        if (t_ != quiet) {                                                     \
            if (t_->rc_kind == RC_KIND_WEAKREF || t_->finalize) {              \
                if (t_->rc_kind == RC_KIND_WEAKREF || !((gc) & RC__FINALIZED)) \
                    listed = true;                                             \
            } else {                                                           \
                quiet = t_;                                                    \
            }                                                                  \
        }                                                                      \
    } while (0)
    for (size_t i = 0; i < h->pages[1].len; i++) {
        rc_page *pg = h->pages[1].items[i];
        if (all_marked(s, members, held)) break;   /* the rest were marked by the roots before them */
        if (!(pg->flags & (RC_PAGE_LARGE | RC_PAGE_WATCH))) {
            /* Nobody watches: a free block's gc word is 0, and an unmarked
             * member is told by one compare of the gc word. */
            char *const end = pg->bump;
            const size_t step = pg->block_size;
            for (char *p = rc__page_first(pg); p < end; p += step) {
                rc_head *o = (rc_head *)p;
                uint32_t gc = o->gc;
                if (((gc & (RC__TRACKED | RC__GEN_MASK | RC__MARK)) ^ flip) - RC__TRACKED >= 3u)
                    continue;   /* no member, or marked (and settled) */
                if (o->refcnt <= gc >> RC__FIELD_SHIFT) {
                    PASSED_AS_GARBAGE(o, gc);
                    continue;
                }
                mark_settle(s, o);
                mark_full_from(s, o);
            }
            continue;
        }
        RC__WALK_BLOCKS(pg, o, {
            if (!o->refcnt) continue;   /* a free block: only its refcnt may be read */
            uint32_t gc = o->gc;
            if (!(gc & RC__TRACKED) || (gc & RC__GEN_MASK) == 3) continue;
            if ((gc ^ flip) & RC__MARK) continue;   /* marked (and settled) */
            if (o->refcnt <= gc >> RC__FIELD_SHIFT) {
                PASSED_AS_GARBAGE(o, gc);
                continue;
            }
            mark_settle(s, o);
            mark_full_from(s, o);
        });
    }
#undef PASSED_AS_GARBAGE
    if (anygc & RC__WEAKREFS) listed = true;
    s->held += held;
    info->examined += members;   /* each walked, or marked before the walk came to it */
    settle_counts(s);
    if (s->overflow) mark_fixpoint(s, NULL);
    if (s->held) {
        if (listed || (h->hooked & RC_HOOK_GARBAGE)) sweep_full(s, newflip);
        else s->unheld = true;
    }
    h->mark_flip = newflip;
}

/* The old generation was collected (a full collection, or the verdict of
 * an incremental pass) and `found` unreachable objects: the next time it
 * is due counts from here, and waits longer when nothing was found. */
static void old_collected(rc_heap *h, size_t found)
{
    h->old_at_full = h->gen_objects[2];
    /* A collection made due by old_hint that found nothing: the structure
     * was alive, and later hints wait until one finds garbage. */
    if (found) h->hint_vain = false;
    else if (h->old_hint) h->hint_vain = true;
    h->old_hint = false;
    if (found) h->old_backoff = 1;
    else if (h->old_backoff < RC_OLD_BACKOFF_MAX) h->old_backoff *= 2;
}

size_t rc__collect(rc_heap *h, unsigned gen, rc_gc_info *info)
{
    *info = (rc_gc_info){.kind = RC_GC_GENERATIONS, .generation = (int)gen};
    double t0 = begin_collection(h, info);
    gc_set s = {.h = h, .gen = gen};
    s.page_mask = gen == 0 ? RC_PAGE_YOUNG0 : RC_PAGE_YOUNG0 | RC_PAGE_YOUNG1;
    /* Young survivors go to generation 1, or straight to the old generation
     * while the policy skips generation 1 (h->young_to_old, policy.c). */
    unsigned target = gen < 2 ? gen + 1 : 2;
    if (gen == 0 && h->young_to_old) target = 2;

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
        /* Room for the members the generation counts know of, filled from
         * locals; the vector grows if there are more after all. */
        size_t want = h->gen_objects[0] + (gen ? h->gen_objects[1] : 0);
        bool ok = rc__vec_reserve(h, members, want);
        void **items = members->items;
        size_t n = 0, cap = ok ? members->cap : 0;
#define GATHER(o)                                                              \
    {                                                                          \
        if (unlikely(n == cap)) {                                              \
            members->len = n;                                                  \
            if (!ok || !rc__vec_grow(h, members)) {                            \
                ok = false;                                                    \
                continue;                                                      \
            }                                                                  \
            items = members->items;                                            \
            cap = members->cap;                                                \
        }                                                                      \
        items[n++] = o;                                                        \
        o->gc |= RC__INSET;                                                    \
    }
        FOREACH_SET_PAGE(&s, pg, {
            if (pg->flags & (RC_PAGE_LARGE | RC_PAGE_WATCH)) {
                RC__WALK_BLOCKS(pg, o, {
                    if (!o->refcnt || !(o->gc & RC__TRACKED) || rc__gen(o) > gen) continue;
                    GATHER(o)
                });
            } else {
                /* Nobody watches the page: a free block's gc word is 0, so
                 * the gc word alone says member (as full_member_gc). */
                char *const end = pg->bump;
                const size_t step = pg->block_size;
                for (char *p = rc__page_first(pg); p < end; p += step) {
                    rc_head *o = (rc_head *)p;
                    if ((o->gc & (RC__TRACKED | RC__GEN_MASK)) - RC__TRACKED > gen) continue;
                    GATHER(o)
                }
            }
        });
#undef GATHER
        members->len = n;
        if (ok) {
            s.candidates = true;   /* membership: INSET */
        } else {
            for (size_t i = 0; i < members->len; i++)
                ((rc_head *)members->items[i])->gc &= ~RC__INSET;
            members = NULL;
            gen = s.gen = target = 2;
            info->generation = 2;
        }
    }
    if (gen == 2) {
        flush_candidates(h, NULL);
        rc__pass_abandon(h);   /* the full collection does the pass's work and more */
    }

    /* count */
    bool par = false;
    if (members) {
        slots_cache sc = {0};
        for (size_t i = 0; i < members->len; i++) {
            SET_FROM(&s, members->items[i]);
            foreach_ref_cached(members->items[i], count_ref_inset, &s, &sc);
        }
    } else {
        par = count_full(&s);
    }
    /* mark and sweep */
    if (members) info->examined = mark_sweep_members(&s, members, target, false);
    else full_mark_sweep(&s, info, par);
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

    size_t found = members ? members->len : s.held;
    h->mid_found = s.mid_held;
    size_t freed = found ? rc__delete_garbage(&s, members) : 0;
    if (members) {
        members->len = 0;
        if (members->cap > RC_SCRATCH_KEEP) rc__vec_free(h, members);
    }
    rc__vec_free(h, &s.stack);

    /* Python's counters: this generation and the younger ones restart, the
     * next one counts one more collection. Manual collections count too. */
    for (unsigned g = 0; g <= gen; g++) h->count[g] = 0;
    if (gen < 2) h->count[gen + 1]++;
    if (gen == 2) old_collected(h, found);
    return end_collection(h, info, &h->gstats[gen], &s, found, freed, t0);
}

/* ---- the incremental pass's steps ---- */

/* The verdict's set: what the search found, less what is no longer an old
 * tracked object (freed, untracked, frozen, or a block reused by a young
 * object). Members get INSET and field 0, out of the candidate buffer. */
static void verdict_members(rc_heap *h, rc_vec *m)
{
    size_t k = 0;
    for (size_t i = 0; i < m->len; i++) {
        rc_head *o = m->items[i];
        if (!o->refcnt || (o->gc & (RC__TRACKED | RC__GEN_MASK)) != (RC__TRACKED | 2u)) continue;
        rc__unbuffer(h, o);
        o->gc |= RC__INSET;
        rc__set_field(o, 0);
        m->items[k++] = o;
    }
    m->len = k;
}

int rc__collect_step(rc_heap *h, size_t budget, rc_gc_info *info)
{
    *info = (rc_gc_info){.kind = RC_GC_INCREMENT, .generation = 2};
    double t0 = begin_collection(h, info);
    gc_set s = {.h = h, .gen = 2, .candidates = true};
    size_t visits, found = 0, freed = 0;
    rc_vec *m;
    bool over = rc__pass_search(h, budget, &visits, &m);
    info->examined = visits;
    if (over) {
        /* The verdict: trial deletion over m, as a candidate scan's without
         * growing the set. Only this frees: whatever the program did
         * between the steps, what it frees is unreachable now. */
        h->scanning = true;
        verdict_members(h, m);
        slots_cache sc = {0};
        for (size_t i = 0; i < m->len; i++) {
            SET_FROM(&s, m->items[i]);
            foreach_ref_cached(m->items[i], count_ref_inset, &s, &sc);
        }
        info->examined += mark_sweep_members(&s, m, 2, false);
        h->scanning = false;
        found = m->len;
        freed = found ? rc__delete_garbage(&s, m) : 0;
        rc__vec_free(h, &s.stack);
        rc__pass_abandon(h);   /* the pass is over: its tables and kept pages go */
        h->count[2] = 0;
        old_collected(h, found);
    }
    end_collection(h, info, &h->istats, &s, found, freed, t0);
    return over;
}

/* ---- candidate scans ---- */

/* Count a reference from a member; a tracked object not yet in S joins it
 * while the budget lasts, young ones too: a structure that died while its
 * newest part was still young is garbage as a whole only with that part
 * (its old part is held by the young part's references), and no young
 * collection can free it (its young part is held by the old part's). */
RC_INLINE void expand_ref(rc_head *c, void *ctx)
{
    gc_set *s = ctx;
    CHECK_SAME_HEAP(s, c);
    if (!(c->gc & RC__INSET)) {
        if (!(c->gc & RC__TRACKED) || rc__gen(c) == 3 || s->full) return;
        if (unlikely(rc__page_of(c)->heap != s->h)) return;   /* another heap's: never a member */
        if (!rc__vec_push(s->h, s->members, c)) {
            s->full = true;
            return;
        }
        if (!rc__vec_push(s->h, &s->stack, c)) s->full = true;   /* left unexpanded: looks held */
        c->gc |= RC__INSET;
        rc__set_field(c, 0);
        s->refsum += c->refcnt;
        if (s->members->len >= s->budget) s->full = true;
    }
    c->gc += 1u << RC__FIELD_SHIFT;   /* a wrap only makes c look held from outside */
    s->counted++;
}

size_t rc__scan_candidates(rc_heap *h)
{
    if (h->busy || h->freeing) return 0;
    if (!h->candidates_live) {
        h->candidates.len = 0;
        return 0;
    }
    rc_gc_info info = {.kind = RC_GC_CANDIDATE_SCAN, .generation = -1};
    double t0 = begin_collection(h, &info);
    h->scanning = true;
    /* The members go in the heap's kept scratch vector, as a young
     * collection's do (the two never run at once): a fresh one per scan
     * would map, fault in and unmap its pages every time. */
    rc_vec *members = &h->scratch;
    members->len = 0;
    gc_set s = {.h = h, .candidates = true, .members = members};
    /* Stress mode scans often: small sets, which also exercise the budget. */
    size_t base = rc__cand_budget_base(h);
    if (h->cand_budget < base) h->cand_budget = base;
    s.budget = h->stress ? 1024 : h->cand_budget;
    flush_candidates(h, members);
    size_t ncand = members->len;
    for (size_t i = 0; i < ncand; i++) s.refsum += ((rc_head *)members->items[i])->refcnt;

    /* count, growing S depth first over tracked objects within the budget:
     * a structure is usually allocated depth first, so this order walks it
     * about in address order, and the sweep and deletion after it too (in
     * breadth-first order, a big tree's levels each spanned all of it). A
     * member the stack has no room for stays unexpanded: its referents only
     * look held from outside. One candidate's structure after another, the
     * newest first: candidates kept from a scan cut short (below) were
     * buffered before any new one, so a structure too big for the budget
     * does not use it up ahead of everything dropped since. `culprit`: the
     * candidate whose structure the budget ran out in. */
    slots_cache sc = {0};
    size_t culprit = SIZE_MAX;
    for (size_t i = ncand; i-- > 0;) {
        bool was_full = s.full;
        if (!rc__vec_push(h, &s.stack, members->items[i])) s.full = true;
        while (s.stack.len) {
            rc_head *o = s.stack.items[--s.stack.len];
            SET_FROM(&s, o);
            foreach_ref_cached(o, expand_ref, &s, &sc);
        }
        if (s.full && !was_full) culprit = i;
    }

    /* A set cut short by the budget keeps alive what its edge holds, which
     * may be all of it: its candidates are kept aside (up to half the
     * buffer's trigger, so that they cannot start the next scan at once)
     * and buffered again once the sweep is over, for the next scan with
     * twice the budget. */
    rc_vec retry = {0};
    size_t nretry = 0, most = base * h->cand_growth;
    if (s.full && !h->stress) {
        /* The budget cannot grow any more: the culprit's structure is too
         * big for candidate scans. It is not kept (every scan would spend
         * its budget on it in vain); the old generation's next collection
         * finds it, and is due for it (policy.c). */
        bool at_cap = h->cand_budget >= most;
        if (at_cap && culprit != SIZE_MAX) h->old_hint = true;
        nretry = ncand < h->candidate_trigger / 2 ? ncand : h->candidate_trigger / 2;
        for (size_t i = 0; i < nretry; i++)
            if (!(at_cap && i == culprit) && !rc__vec_push(h, &retry, members->items[i])) break;
    }
    /* Every reference to a member came from a member (their refcounts add
     * up to the references counted; none is counted past its refcount):
     * no member is held from outside, so none is a root and the whole set
     * is garbage -- a dropped structure, the usual case -- with no walk to
     * look for roots. A set cut short by the budget, an unexpanded member
     * or a count that wrapped never adds up: those look for roots. */
    bool no_roots = s.refsum == s.counted;
    /* A whole set of plain garbage goes without a sweep: nothing in it is
     * written before its blocks are freed (garbage.c). */
    size_t freed = 0;
    if (no_roots && !s.full && members->len) {
        h->scanning = false;
        freed = rc__delete_unswept(&s, members);
        h->scanning = !freed;
    }
    info.examined = freed ? members->len : mark_sweep_members(&s, members, KEEP_GEN, no_roots);
    h->scanning = false;
    for (size_t i = 0; i < retry.len; i++) {
        rc_head *o = retry.items[i];   /* a survivor is not INSET; garbage is */
        if (!(o->gc & RC__INSET) && (o->gc & (RC__TRACKED | RC__GEN_MASK | RC__BUFFERED)) ==
                                        (RC__TRACKED | 2u))
            rc__buffer(o);
    }
    rc__vec_free(h, &retry);
    size_t found = members->len;
    /* The budget follows what scans find: doubled after a scan that ran
     * out of it (up to every tracked object, and never past
     * cand_growth x the base, so that no scan's pause grows with the
     * heap: a structure bigger than that is left to the incremental pass,
     * made due by old_hint above), halved (down to the base) after one that found more live
     * objects than garbage. */
    if (!h->stress) {
        size_t tracked = h->gen_objects[0] + h->gen_objects[1] + h->gen_objects[2];
        if (s.full) {
            if (h->cand_budget < tracked && h->cand_budget < most)
                h->cand_budget = h->cand_budget * 2 < most ? h->cand_budget * 2 : most;
        } else if (found * 2 < info.examined && h->cand_budget / 2 >= base) {
            h->cand_budget /= 2;
        }
    }
    h->cand_clock = 0;
    if (!freed && found) freed = rc__delete_garbage(&s, members);
    members->len = 0;
    if (members->cap > RC_SCRATCH_KEEP) rc__vec_free(h, members);
    rc__vec_free(h, &s.stack);
    /* No generation was collected: the counters of rc_gc_get_count stay. */
    return end_collection(h, &info, &h->cstats, &s, found, freed, t0);
}
