/*
 * garbage.c -- garbage deletion: what a collection found unreachable is
 * cleared of weak references, finalized, spared where finalizers or callbacks
 * resurrected it, handed to the on_garbage hooks, then freed (collector.h has
 * the phases and the header states).
 *
 * One path for both places garbage can be: listed in a vector (young sets
 * and candidate scans, which gathered their members) or held in place in
 * the pages (full collections, which walk the heap and keep no list). The
 * difference is data: a full collection's garbage is gathered into a list
 * when finalizers, weak references or an on_garbage hook need it as one,
 * and otherwise fed to the release loop a page at a time.
 *
 * While here every garbage object carries INSET, which also keeps rc_decref
 * from buffering objects that are about to go.
 *
 * Garbage made only of plain slots objects (nothing to run as it goes)
 * takes a shorter way in both places: release_plain and
 * release_plain_list let go only of what it holds outside itself, then
 * free its blocks, with no hold or release of each object; a long list
 * that fills its pages is walked by pages, and a candidate scan's set that
 * is garbage as a whole is not even swept first (rc__delete_unswept).
 */
#include "collector/collector.h"

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

/* Gather the s->held objects a full collection held in place into `g`.
 * All or nothing: without room for all, the whole garbage survives this
 * collection (a part of it deleted or saved could leave the rest alive for
 * good), held by nothing but its own cycles; the failure is recorded. */
static bool gather_held(rc_heap *h, rc_vec *g, gc_set *s)
{
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
    if (!room)
        rc__fail(h, RC_ENOMEM, "rc_gc_collect: out of memory for the list of %zu unreachable "
                 "objects; they are left for a later collection (none freed or saved)",
                 s->held);
    return room;
}

/* Let go of what a garbage object holds: a slots object's slots right
 * here (set to NULL, as rc__release_refs does), anything else through
 * rc__release_refs (clear). `sc`: the last slots type seen (a type with no
 * clear has no traverse), whose fields need not be read again. */
RC_INLINE void release_one(rc_head *o, slots_cache *sc)
{
    const rc_type *t = o->type;
    if (t != sc->type) {
        if (t->rc_kind != RC_KIND_USER || t->clear) {
            rc__release_refs(o);
            return;
        }
        sc->type = t;   /* no clear, so no traverse: slots only */
        sc->nslots = t->nslots;
        sc->offset = t->slots_offset;
    }
    void **sl = (void **)((char *)(o + 1) + sc->offset);
    RC__SLOTS_DOWN(sc->nslots, i, {
        void *c = sl[i];
        if (c) {
            sl[i] = NULL;
            rc_decref(c);
        }
    });
}

/* release_one over objs[i..n) while they are of slots type `st` (`ns`
 * slots, a constant at each call, at `off`); returns where it stopped: n,
 * or an object of another type. */
RC_INLINE size_t release_same(rc_head **objs, size_t i, size_t n, const rc_type *st, uint32_t off,
                              uint32_t ns)
{
    for (; i < n; i++) {
        rc_head *o = objs[i];
        if (o->type != st) return i;
        void **sl = (void **)((char *)(o + 1) + off);
        RC__SLOTS_DOWN(ns, j, {
            void *c = sl[j];
            if (c) {
                sl[j] = NULL;
                rc_decref(c);
            }
        });
    }
    return i;
}

/* release_one for each of the `n` objects of objs: runs of one slots type
 * go through release_same, its slots unrolled for the usual few. */
static void release_all(rc_head **objs, size_t n)
{
    const rc_type *st = NULL;
    uint32_t ns = 0, off = 0;
    size_t i = 0;
    for (;;) {
#define SAME(k) (i = release_same(objs, i, n, st, off, (k)))
        RC__SLOTS_RUN(ns, SAME);
#undef SAME
        if (i >= n) return;
        const rc_type *t = objs[i]->type;
        if (t->rc_kind != RC_KIND_USER || t->clear) {
            rc__release_refs(objs[i]);
            i++;
            continue;
        }
        st = t;   /* no clear, so no traverse: slots only; release_same goes on with it */
        ns = t->nslots;
        off = t->slots_offset;
    }
}

/* Blocks release_page_chunk freed, given back to their page in one step:
 * linked here one by one, the page's books written once (rc__free_run);
 * the generation counts, the young count and gc_freed likewise. `gens`
 * counts them by (gc & 7) ^ RC__TRACKED: entries 0 to 2 the tracked ones
 * by generation, 4 to 7 the untracked. */
typedef struct free_run {
    rc_head *head, *tail;
    uint32_t n;
    uint32_t gens[8];
} free_run;

#define FREE_RUN_GEN(gc) (((gc) & (RC__TRACKED | RC__GEN_MASK)) ^ RC__TRACKED)

/* The books of `n` garbage objects freed with the counts of `gens`. */
static void books_freed(rc_heap *h, const uint32_t gens[8], size_t n)
{
    uint32_t nt = 0;
    for (unsigned g = 0; g < 3; g++) {
        rc_assert(h->gen_objects[g] >= gens[g]);
        h->gen_objects[g] -= gens[g];
        nt += gens[g];
    }
    h->count[0] = h->count[0] > nt ? h->count[0] - nt : 0;
    h->gc_freed += n;   /* every one INSET */
}

/* A header's first word, refcnt and gc, as one 8-byte integer (folded to
 * a constant for constant arguments). */
RC_INLINE uint64_t head_word(uint32_t refcnt, uint32_t gc)
{
    const rc_head w = {.refcnt = refcnt, .gc = gc};
    uint64_t x;
    memcpy(&x, &w, sizeof x);
    return x;
}

/* Whether garbage object `o` needs nothing but its block back and the
 * books written: our hold is its only reference (refcnt 1), it is INSET
 * (freed garbage), has no candidate-buffer entry or weak references, its
 * type no destroy, and no on_death hook wants it (`hooked`: false where
 * the caller saw to that already). Otherwise rc__free_now frees it, or,
 * held by more than us, it lives on. `plain`: the last type seen with no
 * destroy, not read again (the caller's, NULL at first). refcnt and the
 * three flags are tested in one compare of the header's first word. */
RC_INLINE bool quick_free(const rc_head *o, bool hooked, const rc_type **plain)
{
    uint64_t w;
    memcpy(&w, o, sizeof w);
    if (hooked || (w & head_word(UINT32_MAX, RC__BUFFERED | RC__WEAKREFS | RC__INSET)) !=
                      head_word(1, RC__INSET))
        return false;
    const rc_type *t = o->type;
    if (t != *plain) {
        if (t->destroy) return false;
        *plain = t;
    }
    return true;
}

/* Free garbage object `o`, whose only reference left is our hold: what
 * rc__free_now does, inline for the usual object (quick_free): counted as
 * freed garbage, off the generation counts, its block given back. */
RC_INLINE void free_held(rc_heap *h, rc_head *o)
{
    const rc_type *plain = NULL;
    if (unlikely(!quick_free(o, (h->hooked & RC_HOOK_DEATH) != 0, &plain))) {
        rc__free_now(h, o);
        return;
    }
    rc_assert(!h->freeing);
    h->gc_freed++;
    if (o->gc & RC__TRACKED) rc__uncount(h, o);
    if (!rc__free_quick_full(o)) rc__free_block(h, o);
}

/* Break the cycles of `n` garbage objects of a list's chunk: each lets go
 * of what it holds, then of our hold. One left with only our hold (its
 * referrers already let go) is freed right here, while what release
 * touched is still in cache; the others are put in `defer` with the hold
 * kept (returns how many), to die when their referrers in later chunks let
 * go. An object freed by its last
 * referrer still carries INSET, which is how unlink_object counts it.
 * `reach`: entries of objs past the chunk that may be prefetched
 * (prefetch_item; 0 for none). */
static size_t release_chunk(rc_heap *h, rc_head **objs, size_t n, rc_head **defer, size_t reach)
{
    size_t k = 0;
    if (reach) {   /* a long list: release_one, each object asked for ahead */
        slots_cache sc = {0};
        for (size_t i = 0; i < n; i++) {
            prefetch_item((void *const *)objs, i, reach);
            release_one(objs[i], &sc);
        }
    } else {
        release_all(objs, n);
    }
    /* What has only the hold left goes (free_held, its books written once
     * for the chunk); the rest waits or is let go. */
    uint32_t gens[8] = {0};
    size_t nq = 0;
    const rc_type *plain = NULL;   /* the last type seen with no destroy */
    const bool hooked = (h->hooked & RC_HOOK_DEATH) != 0;
    for (size_t i = 0; i < n; i++) {
        rc_head *o = objs[i];
        if (!quick_free(o, hooked, &plain)) {
            if (o->refcnt != 1) defer[k++] = o;
            else rc__free_now(h, o);
            continue;
        }
        gens[FREE_RUN_GEN(o->gc)]++;
        nq++;
        if (!rc__free_quick_full(o)) rc__free_block(h, o);
    }
    books_freed(h, gens, nq);
    return k;
}

/* Garbage a page walk held that outlives its chunk (a referrer in a later
 * chunk, or a reference taken while it was cleared): settled as a
 * survivor would be -- generation 2, field 0, unmarked -- before the hold
 * goes, since it may live on. Its INSET stays: it is garbage until it
 * dies. Settling again what sweep_full settled changes nothing. */
RC_INLINE void settle_garbage(rc_heap *h, rc_head *o)
{
    if (o->gc & RC__TRACKED) settle(h, o);
    else rc__set_field(o, 0);   /* untracked by a clear meanwhile */
    o->gc = (o->gc & ~RC__MARK) | h->mark_flip;   /* unmarked */
}

/* Make garbage block `o` free and add it to the run (its generation is the
 * caller's to count). */
RC_INLINE void free_run_push(free_run *fr, rc_head *o)
{
    uint64_t zero = 0;
    memcpy(o, &zero, sizeof zero);   /* refcnt 0: a free block */
    rc__free_link(o, fr->head);
    if (!fr->head) fr->tail = o;
    fr->head = o;
    fr->n++;
}

static void free_run_flush(rc_heap *h, rc_page *pg, free_run *fr)
{
    if (!fr->n) return;
    books_freed(h, fr->gens, fr->n);
    rc__free_run(h, pg, fr->head, fr->tail, fr->n);
    *fr = (free_run){0};
}

/* Whether the `n` objects of objs, every live block of page `pg`, are
 * each left with only the hold and need nothing but their block back (no
 * buffer entry, weak reference or destroy): then they all go with one
 * write of the page's books (rc__free_page_all), which reads as never
 * used. */
static bool free_whole_page(rc_heap *h, rc_page *pg, rc_head **objs, size_t n)
{
    uint32_t gens[8] = {0};
    const rc_type *plain = NULL;   /* the last type seen with no destroy */
    for (size_t i = 0; i < n; i++) {
        if (!quick_free(objs[i], false, &plain)) return false;   /* no on_death: the caller's */
        gens[FREE_RUN_GEN(objs[i]->gc)]++;
    }
    books_freed(h, gens, n);
    rc__free_page_all(h, pg);
    return true;
}

/* release_chunk for `n` garbage objects of page `pg` that a page walk
 * holds (no list: nothing defers); `last`: the walk of the page is over.
 * An object left with only the hold is freed the quick way when nothing
 * more than its block and the books is involved (no candidate-buffer
 * entry, weak references or destroy, no on_death hook, a page freed to
 * block by block); those go into one run per chunk, or, when they are
 * the whole page, go with it (free_whole_page). The rest is settled
 * (settle_garbage) and let go. */
static void release_page_chunk(rc_heap *h, rc_page *pg, rc_head **objs, size_t n, bool last)
{
    release_all(objs, n);
    if ((pg->flags & (RC_PAGE_LARGE | RC_PAGE_WATCH)) || (h->hooked & RC_HOOK_DEATH)) {
        for (size_t i = 0; i < n; i++) {
            rc_head *o = objs[i];
            if (o->refcnt == 1) {
                free_held(h, o);
            } else {
                settle_garbage(h, o);
                rc_decref(o + 1);
            }
        }
        return;
    }
    if (last && n == pg->used && free_whole_page(h, pg, objs, n)) return;
    free_run fr = {0};
    const rc_type *plain = NULL;   /* the last type seen with no destroy */
    for (size_t i = 0; i < n; i++) {
        rc_head *o = objs[i];
        if (!quick_free(o, false, &plain)) {   /* no on_death: seen to above */
            if (o->refcnt != 1) {   /* held by more than us: only the hold goes */
                settle_garbage(h, o);
                rc_decref(o + 1);   /* INSET: not buffered, and more than 1 */
            } else {
                free_run_flush(h, pg, &fr);   /* user code may run: the books first */
                rc__free_now(h, o);
            }
            continue;
        }
        fr.gens[FREE_RUN_GEN(o->gc)]++;
        free_run_push(&fr, o);
    }
    free_run_flush(h, pg, &fr);
}

/* Release the garbage of page `pg` (the in-place path), a chunk at a time.
 * `unheld`: the garbage is only flagged INSET; each object is held here as
 * its chunk forms, and settled only if it outlives the chunk. One not
 * reached yet may die first, when what held it lets go: it is INSET, so
 * counted as freed, and its block, free (refcnt 0) or reused by a new
 * object (not INSET), is passed over. */
static void release_page(rc_heap *h, rc_page *pg, bool unheld, rc_head **chunk, size_t cap)
{
    size_t k = 0;
#define TAKE(o)                                                                \
    do {                                                                       \
        (o)->refcnt += unheld;   /* the hold */                                \
        chunk[k++] = (o);                                                      \
        if (k == cap) {                                                        \
            release_page_chunk(h, pg, chunk, k, false);                        \
            k = 0;                                                             \
        }                                                                      \
    } while (0)
    if (!(pg->flags & (RC_PAGE_LARGE | RC_PAGE_WATCH))) {
        /* Nobody watches: a free block's gc word is 0, INSET alone says garbage. */
        RC__WALK_BLOCKS(pg, o, {
            if (o->gc & RC__INSET) TAKE(o);
        });
    } else {
        RC__WALK_BLOCKS(pg, o, {
            if (o->refcnt && (o->gc & RC__INSET)) TAKE(o);   /* refcnt first: a free block */
        });
    }
#undef TAKE
    if (k) release_page_chunk(h, pg, chunk, k, true);
}

enum { CHUNK = 1024 };
/* A page walk's chunk: most pages' objects at once (a page of 32-byte
 * blocks holds 2,044), so that a page all garbage goes in one step
 * (free_whole_page). */
enum { PAGE_CHUNK = 2048 };

/* A list's garbage, chunk after chunk; but an object still referenced when
 * its chunk is done (`defer`) keeps the hold until every chunk let go,
 * moved to the front of the list meanwhile: garbage whose referrers lie in
 * a later chunk (a cycle's other half, in a set gathered candidates first)
 * is then freed on the spot too, rather than by the death of its last
 * referrer, which costs about three times as much. */
static void release_list(rc_heap *h, rc_head **objs, size_t n)
{
    size_t kept = 0;
    for (size_t c = 0; c < n; c += CHUNK)
        kept += release_chunk(h, objs + c, n - c < CHUNK ? n - c : CHUNK, objs + kept,
                              prefetch_reach(n, n - c));
    for (size_t i = 0; i < kept; i++) {
        rc_head *o = objs[i];   /* let go of everything it held already */
        if (o->refcnt == 1) free_held(h, o);
        else rc_decref(o + 1);
    }
}
/* Held in place: a page's garbage at a time (the chunks of a list that is
 * not there). Pages emptied meanwhile stay until the walk ends, so the page
 * list does not change under it; the walk never looks behind itself, where
 * objects were freed or let go. `unheld`: the garbage is only flagged;
 * release_page holds it. A function of its own, never inlined: its chunk is
 * 16 KB of stack, which a collection with a list (young collections,
 * candidate scans) must not take, nor touch a stack page it never used. */
static RC_NOINLINE void release_pages(rc_heap *h, bool unheld)
{
    rc_head *chunk[PAGE_CHUNK];
    h->keep_empty_pages++;
    for (size_t i = 0; i < h->pages[1].len; i++)
        release_page(h, h->pages[1].items[i], unheld, chunk, PAGE_CHUNK);
    if (--h->keep_empty_pages == 0) rc__release_empty_pages(h);
}

/* ---- plain garbage in place ----
 *
 * A full collection's garbage held in place (s->unheld) whose every object
 * is a slots object that needs nothing but its block back -- a user type
 * with no clear, traverse or destroy, no weak references, no candidate-
 * buffer entry -- and no on_death hook: no code runs while it goes, and
 * nothing can reach it, so none of its counts needs to be kept right. A
 * first walk checks that, counts each page's garbage and gathers the
 * references it holds to objects that are not garbage of this heap (what
 * outlives it); those are let go; then every garbage block is freed, a
 * page all garbage in one step that touches none of its blocks. Each
 * garbage object is read once and never written, where release_page holds,
 * releases and frees it. The first walk changes nothing: when it meets
 * anything else (or has no memory for its lists) release_pages does the
 * work. */
typedef struct plain_walk {
    rc_vec outside;    /* referents that are not garbage of this heap */
    rc_vec pages;      /* pairs: a page with garbage, how much (as a pointer) */
    uint32_t gens[8];  /* the garbage's generations, as FREE_RUN_GEN counts */
    size_t n;          /* the garbage */
} plain_walk;

/* Keep `c`, a referent garbage holds that is not garbage of this heap, to
 * be let go after the first walk (out of line: the walk's loop keeps its
 * locals in registers). */
static RC_NOINLINE bool plain_outside(rc_heap *h, plain_walk *w, void *c)
{
    return rc__vec_push(h, &w->outside, c);
}

/* The first walk's look at garbage object `o`: false when it is not plain,
 * or there is no memory for what it holds outside. `pg`: its page, where
 * garbage it refers to usually lies (any other page: one more read, of
 * that page's heap). `sc`: the last plain type seen. */
RC_INLINE bool plain_object(rc_heap *h, const rc_page *pg, const rc_head *o, slots_cache *sc,
                            plain_walk *w)
{
    uint64_t word;
    memcpy(&word, o, sizeof word);
    const rc_type *t = o->type;
    if (unlikely(t != sc->type || (word & head_word(0, RC__BUFFERED | RC__WEAKREFS)))) {
        if ((word & head_word(0, RC__BUFFERED | RC__WEAKREFS)) || t->rc_kind != RC_KIND_USER ||
            t->clear || t->traverse || t->destroy || t->finalize)
            return false;
        sc->type = t;
        sc->nslots = t->nslots;
        sc->offset = t->slots_offset;
    }
    void *const *sl = (void *const *)((const char *)(o + 1) + sc->offset);
    RC__SLOTS_DOWN(sc->nslots, i, {
        void *c = sl[i];
        if (c) {
            const rc_head *ch = RC_HEAD(c);
            const rc_page *cp = rc__page_of(ch);
            if (!((ch->gc & RC__INSET) && (cp == pg || cp->heap == h)) &&   /* not garbage */
                !plain_outside(h, w, c))
                return false;
        }
    });
    w->gens[FREE_RUN_GEN(o->gc)]++;
    return true;
}

/* The first walk over page `pg`: false when its garbage is not all plain.
 * `sc`: the last plain type seen. */
static bool plain_page(rc_heap *h, rc_page *pg, plain_walk *w, slots_cache *sc)
{
    if (pg->flags & RC_PAGE_LARGE) {
        bool any = false;
        RC__WALK_BLOCKS(pg, o, { any |= o->refcnt && (o->gc & RC__INSET); });
        return !any;
    }
    slots_cache c = *sc;
    size_t n = 0;
    bool plain = true;
    RC__WALK_BLOCKS(pg, o, {
        if (!(o->gc & RC__INSET)) continue;   /* a free block's gc word is 0 */
        if (!plain_object(h, pg, o, &c, w)) {
            plain = false;
            break;
        }
        n++;
    });
    *sc = c;
    if (!plain || !n) return plain;
    w->n += n;
    return rc__vec_push(h, &w->pages, pg) && rc__vec_push(h, &w->pages, (void *)(uintptr_t)n);
}

/* Free the garbage of page `pg`, `n` objects when the first walk passed:
 * the whole page at once when nothing else lives there (a destroy run by
 * the letting go may have allocated on it since), else block by block. */
static void plain_free_page(rc_heap *h, rc_page *pg, size_t n)
{
    if (n == pg->used && !pg->held) {
        rc__free_page_all(h, pg);
        return;
    }
    free_run fr = {0};   /* the books: release_plain's, for all the garbage at once */
    RC__WALK_BLOCKS(pg, o, {
        if (o->gc & RC__INSET) free_run_push(&fr, o);   /* else live, new, or free */
    });
    rc_assert(fr.n == n);
    rc__free_run(h, pg, fr.head, fr.tail, fr.n);
}

/* The plain deletion of the garbage on `pages` (every INSET block there is
 * garbage: `expect` objects, SIZE_MAX when not known); false (nothing done)
 * when it does not apply. `keep`: empty pages stay until the end (the walk
 * is over a page list that releasing a page changes). */
static bool release_plain_pages(rc_heap *h, rc_page *const *pages, size_t npages, bool keep,
                                size_t expect)
{
    plain_walk w = {0};
    slots_cache sc = {0};
    bool plain = true;
    for (size_t i = 0; plain && i < npages; i++) plain = plain_page(h, pages[i], &w, &sc);
    rc_assert(!plain || expect == SIZE_MAX || w.n == expect);
    (void)expect;
    if (plain) {
        h->keep_empty_pages += keep;
        /* What outlives the garbage first, while all of it is in place: a
         * death this causes may run a destroy that allocates on a page of
         * garbage, which plain_free_page then sees in the page's count. */
        for (size_t i = 0; i < w.outside.len; i++) rc_decref(w.outside.items[i]);
        for (size_t i = 0; i < w.pages.len; i += 2)
            plain_free_page(h, w.pages.items[i], (size_t)(uintptr_t)w.pages.items[i + 1]);
        books_freed(h, w.gens, w.n);
        if (keep && --h->keep_empty_pages == 0) rc__release_empty_pages(h);
    }
    rc__vec_free(h, &w.outside);
    rc__vec_free(h, &w.pages);
    return plain;
}

/* Whether the plain paths may run at all: not on a watched heap (debug,
 * sanitizers, valgrind watch every page: a first walk could only find that
 * out, at the cost of a walk), nor with an on_death hook to call. */
RC_INLINE bool plain_may_run(const rc_heap *h)
{
    return !h->watch && !(h->hooked & RC_HOOK_DEATH);
}

/* The plain deletion of a full collection's unheld garbage; false (nothing
 * done) when it does not apply. */
static RC_NOINLINE bool release_plain(rc_heap *h)
{
    return plain_may_run(h) && release_plain_pages(h, (rc_page *const *)h->pages[1].items,
                                                   h->pages[1].len, true, SIZE_MAX);
}

/* The pages of listed garbage, each once, when walking their blocks reads
 * at most PAGES_WALK_MAX blocks per garbage object; false (nothing kept)
 * otherwise or out of memory. A big dead structure (a tree built in one
 * go) fills its pages: walked in address order, its blocks come in the
 * order the hardware prefetcher follows, where the list has them in the
 * order the marks reached them; and a page all garbage goes back in one
 * step, where the list writes every block. */
#define PAGES_WALK_MIN 4096   /* a shorter list is in cache */
#define PAGES_WALK_MAX 2
static bool listed_pages(rc_heap *h, rc_head *const *objs, size_t n, rc_vec *pages)
{
    size_t blocks = 0;
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        rc_page *pg = rc__page_of(objs[i]);
        if (pg->flags & RC_PAGE_LISTED) continue;
        pg->flags |= RC_PAGE_LISTED;
        blocks += pg->flags & RC_PAGE_LARGE ? 1 : pg->capacity;
        ok = blocks <= n * PAGES_WALK_MAX && rc__vec_push(h, pages, pg);
        if (!ok) pg->flags &= ~RC_PAGE_LISTED;
    }
    for (size_t i = 0; i < pages->len; i++) ((rc_page *)pages->items[i])->flags &= ~RC_PAGE_LISTED;
    if (!ok) rc__vec_free(h, pages);
    return ok;
}

/* release_plain for listed garbage (young sets, candidate scans, a pass's
 * verdict): held by the sweep, but the holds need not go one by one
 * either when every object of it is plain; false (nothing done) when one
 * is not, or pages are watched. A long list whose pages it fills is
 * walked by pages (listed_pages). */
static bool release_plain_list(rc_heap *h, rc_head **objs, size_t n)
{
    if (!plain_may_run(h)) return false;
    rc_vec pages = {0};
    if (n >= PAGES_WALK_MIN && listed_pages(h, objs, n, &pages)) {
        bool plain = release_plain_pages(h, (rc_page *const *)pages.items, pages.len, false, n);
        rc__vec_free(h, &pages);
        return plain;
    }
    plain_walk w = {0};
    slots_cache sc = {0};
    bool plain = true;
    for (size_t i = 0; plain && i < n; i++) plain = plain_object(h, rc__page_of(objs[i]), objs[i], &sc, &w);
    if (plain) {
        for (size_t i = 0; i < w.outside.len; i++) rc_decref(w.outside.items[i]);
        for (size_t i = 0; i < n; i++)
            if (!rc__free_quick_full(objs[i])) rc__free_block(h, objs[i]);
        books_freed(h, w.gens, n);
    }
    rc__vec_free(h, &w.outside);
    return plain;
}

/* The garbage about to be deleted, checked against the whole heap's
 * reachability (RC_EXPENSIVE builds; debug builds with verify_gc). */
static void verify_deletion(rc_heap *h, bool held)
{
#ifdef RC_EXPENSIVE
    rc__verify_garbage(h, "collection", held);
#elif defined(RC_DEBUG)
    if (h->verify_gc) rc__verify_garbage(h, "collection", held);
#else
    (void)h;
    (void)held;
#endif
}

size_t rc__delete_unswept(gc_set *s, rc_vec *list)
{
    rc_heap *h = s->h;
    if (!plain_may_run(h) || (h->hooked & RC_HOOK_GARBAGE)) return 0;
    verify_deletion(h, false);
    h->deleting = true;
    size_t before = h->gc_freed;
    bool done = release_plain_list(h, (rc_head **)list->items, list->len);
    h->deleting = false;
    s->unswept_tried = !done;
    return done ? h->gc_freed - before : 0;
}

size_t rc__delete_garbage(gc_set *s, rc_vec *list)
{
    rc_heap *h = s->h;
    rc_vec gathered = {0};
    if (!s->unswept_tried) verify_deletion(h, !s->unheld);   /* else verified as it was */
    rc_assert(!s->unheld || (!list && !s->finalizers && !s->weak && !(h->hooked & RC_HOOK_GARBAGE)));
    if (!list && (s->finalizers || s->weak || (h->hooked & RC_HOOK_GARBAGE))) {
        if (!gather_held(h, &gathered, s)) {
            rc__vec_free(h, &gathered);
            return 0;
        }
        list = &gathered;
    }
    size_t n = list ? list->len : s->held;
    if (list) {
        for (size_t i = 0; i < n; i++)
            rc_assert(((rc_head *)list->items[i])->refcnt &&
                      (((rc_head *)list->items[i])->gc & RC__INSET));
        /* Weak references to garbage go first, callbacks of live ones run;
         * what the callbacks revived is spared before any finalizer runs, so
         * finalizers find every weak reference to garbage cleared. */
        if (s->weak && rc__hook_unreachable(h, (rc_head **)list->items, n))
            n = spare_resurrected(h, list, s);
        if (s->finalizers) {
            bool ran = false;
            for (size_t i = 0; i < n; i++) {
                rc_head *o = list->items[i];
                if (o->type->finalize && !(o->gc & RC__FINALIZED)) {
                    o->gc |= RC__FINALIZED;
                    o->type->finalize(o + 1);
                    ran = true;
                }
            }
            if (ran) n = spare_resurrected(h, list, s);
        }
    }
    /* From here on no new weak reference to the garbage can be made
     * (rc_weakref_new refuses garbage while `deleting`). */
    h->deleting = true;
    size_t before = h->gc_freed;
    /* The on_garbage hooks see the final garbage (only a list reaches here
     * while the heap has any); one that keeps it (RC_GC_DEBUG_SAVEALL's
     * garbage list: saved; or nothing when that list could not take it all:
     * left) leaves every object as it is: only the hold goes, and the list
     * or the object's own cycle keeps it alive. None is freed. */
    int keep = list && (h->hooked & RC_HOOK_GARBAGE)
                   ? rc__hook_garbage(h, (rc_head **)list->items, n)
                   : RC__GARBAGE_FREE;
    bool kept = keep != RC__GARBAGE_FREE;
    if (kept) {
        for (size_t i = 0; i < n; i++) {
            rc_head *o = list->items[i];
            o->gc &= ~RC__INSET;
            rc_decref(o + 1);
        }
    } else if (list) {
        /* Not plain when rc__delete_unswept looked: no second look. */
        if (s->unswept_tried || !release_plain_list(h, (rc_head **)list->items, n))
            release_list(h, (rc_head **)list->items, n);
    } else if (!(s->unheld && release_plain(h))) {
        release_pages(h, s->unheld);
    }
    if (keep == RC__GARBAGE_SAVED) s->saved = n;
    size_t freed = kept ? 0 : h->gc_freed - before;
    if (!kept && freed < n) clear_inset_everywhere(h);
    h->deleting = false;
    s->unheld = false;
    rc__vec_free(h, &gathered);
    return freed;
}
