/*
 * object.c -- object life: creation, the death of an object whose count hits
 * zero, releasing what it holds, and the candidate buffer.
 *
 * Death never recurses on the C stack: rc__dealloc finalizes the object and
 * unlinks it from the collector's books; the first (outermost) call frees it,
 * then the objects waiting on heap->pending one by one: objects a release
 * drops to zero while it runs join that list instead of being freed inside.
 * While an object waits on the list its first header word links the list.
 */
#include "core/objects.h"
#include "core/memcheck.h"
#include "core/os.h"

#include <stdatomic.h>

#include <stdarg.h>
#include <stdlib.h>

void rc__visit_adapter(void *obj, void *arg)
{
    rc__visit_ctx *vc = arg;
    if (obj) vc->fn(RC_HEAD(obj), vc->ctx);
}

/* Whether a type's fields agree with each other -- a user type with
 * traverse has clear, its slots are aligned and lie inside `size`, its
 * flags are known RC_TYPE_* flags; any other kind is one of the library's
 * sealed kinds (internal.h) on the library's own type object -- and if so
 * where its objects go. NEW_BAD when they do not (new_failed says why),
 * else NEW_PLAIN (no references), NEW_REFS (references, born untracked:
 * RC_TYPE_ACYCLIC) or NEW_TRACKED. A few compares on fields the allocation
 * reads anyway, so every rc_new checks (the type is the user's const:
 * nothing can be cached in it), laid out so that a user type without
 * traverse takes no branch. */
enum { NEW_BAD = -1, NEW_PLAIN, NEW_REFS, NEW_TRACKED };

_Static_assert((RC_TYPE_FLAGS & (RC_TYPE_FLAGS + 1)) == 0, "kind_of: the flags are the low bits");
_Static_assert(offsetof(rc_type, flags) == offsetof(rc_type, rc_kind) + 4,
               "kind_of: rc_kind and flags are adjacent");

RC_INLINE int kind_of(const rc_heap *h, const rc_type *t)
{
    /* A user kind with known flags, in one compare: the two adjacent fields
     * in one load, rc_kind in the high half. */
    uint64_t kind_flags;
    memcpy(&kind_flags, &t->rc_kind, sizeof kind_flags);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    kind_flags = kind_flags >> 32 | kind_flags << 32;
#elif !defined(__BYTE_ORDER__)
    kind_flags = (uint64_t)t->rc_kind << 32 | t->flags;
#endif
    if (likely(kind_flags <= RC_TYPE_FLAGS)) {
        uint32_t so = t->slots_offset, ns = t->nslots, fl = (uint32_t)kind_flags;
        if (unlikely(so & (sizeof(void *) - 1)) ||
            unlikely((uint64_t)so + (uint64_t)ns * sizeof(void *) > t->size))
            return NEW_BAD;
        if (likely(t->traverse == NULL)) {
            if (unlikely(ns == 0)) return NEW_PLAIN;
        } else if (unlikely(!t->clear)) {
            return NEW_BAD;
        }
        return unlikely(fl & RC_TYPE_ACYCLIC) ? NEW_REFS : NEW_TRACKED;
    }
    /* A sealed kind on the library's own type object, else bad. */
    uint32_t kind = (uint32_t)(kind_flags >> 32);
    if (unlikely(!rc__kind_sealed(kind)) || unlikely(!h->sealed) ||
        unlikely(h->sealed[kind & 0xff] != t))
        return NEW_BAD;
    if (kind == RC_KIND_STR || kind == RC_KIND_INT) return NEW_PLAIN;   /* rc__type_refs */
    return kind_flags & RC_TYPE_ACYCLIC ? NEW_REFS : NEW_TRACKED;
}

RC_INLINE bool type_ok(const rc_heap *h, const rc_type *t) { return kind_of(h, t) != NEW_BAD; }

static RC_NOINLINE void *new_failed(rc_heap *h, const rc_type *t, size_t size, const char *fn)
{
    if (!t) return rc__fail(h, RC_EINVAL, "%s: type is NULL", fn);
    const char *name = t->name ? t->name : "?";
    if (t->rc_kind != RC_KIND_USER && !type_ok(h, t))
        return rc__fail(h, RC_EINVAL, "%s: type '%s' has rc_kind %u, which is reserved for the "
                        "library's own types (leave it 0)", fn, name, (unsigned)t->rc_kind);
    if (t->rc_kind == RC_KIND_USER && t->traverse && !t->clear)
        return rc__fail(h, RC_EINVAL, "%s: type '%s' has traverse but no clear", fn, name);
    if (t->slots_offset & (sizeof(void *) - 1))
        return rc__fail(h, RC_EINVAL, "%s: type '%s' has slots_offset %u, not a multiple of %zu",
                        fn, name, (unsigned)t->slots_offset, sizeof(void *));
    if (t->rc_kind == RC_KIND_USER && (t->flags & ~(uint32_t)RC_TYPE_FLAGS))
        return rc__fail(h, RC_EINVAL, "%s: type '%s' has flags 0x%x, which name no RC_TYPE_* flag",
                        fn, name, (unsigned)t->flags);
    if (!type_ok(h, t))
        return rc__fail(h, RC_EINVAL, "%s: type '%s' has %u slots at offset %u, past its size %zu",
                        fn, name, (unsigned)t->nslots, (unsigned)t->slots_offset, t->size);
    if (size > SIZE_MAX / 2)
        return rc__fail(h, RC_EINVAL, "%s: size %zu of a '%s' is too large", fn, size, name);
    return rc__fail(h, RC_ENOMEM, "%s: out of memory for a '%s' of %zu bytes", fn, name, size);
}

/* Zero the user part of a small block in words, without a call. `size` is
 * at most 112; blocks are multiples of 8 bytes, so rounding up stays inside. */
RC_INLINE void zero_small(void *p, size_t size)
{
    uint64_t *w = p;
    switch ((size + 7) / 8) {
    case 14: w[13] = 0; /* fall through */
    case 13: w[12] = 0; /* fall through */
    case 12: w[11] = 0; /* fall through */
    case 11: w[10] = 0; /* fall through */
    case 10: w[9] = 0; /* fall through */
    case 9: w[8] = 0; /* fall through */
    case 8: w[7] = 0; /* fall through */
    case 7: w[6] = 0; /* fall through */
    case 6: w[5] = 0; /* fall through */
    case 5: w[4] = 0; /* fall through */
    case 4: w[3] = 0; /* fall through */
    case 3: w[2] = 0; /* fall through */
    case 2: w[1] = 0; /* fall through */
    case 1: w[0] = 0; /* fall through */
    default: break;
    }
}

/* Every case: checks, the collection trigger (the collector slot's
 * collect_due), any page, the on_alloc hooks. */
static RC_NOINLINE void *new_slow(rc_heap *h, const rc_type *t, size_t size, const char *fn,
                                  const char *file, int line)
{
    if (unlikely(!h)) return NULL;
    if (unlikely(!t || size > SIZE_MAX / 2 || !type_ok(h, t))) return new_failed(h, t, size, fn);
    bool refs = rc__type_refs(t), tracked = rc__type_tracked(t);
    if (tracked && (h->count[0] >= h->young_limit || h->candidates.len >= h->candidate_trigger)) {
        const rc_hooks *c = h->hooks[RC_SLOT_COLLECTOR];
        if (c && c->collect_due) c->collect_due(h);
    }
    rc_head *b = rc__alloc_fast(h, sizeof(rc_head) + size, refs, tracked);
    if (unlikely(!b)) return new_failed(h, t, size, fn);
    b->refcnt = 1;
    b->gc = tracked ? RC__TRACKED | h->mark_flip : 0;
    b->type = t;
    if (size <= 112) zero_small(b + 1, size);
    else memset(b + 1, 0, size);
    if (tracked) {
        h->count[0]++;
        h->gen_objects[0]++;
        rc_assert(rc__page_of(b)->flags & RC_PAGE_YOUNG0);   /* invariant 2 */
    }
    if (unlikely(h->hooked & RC_HOOK_ALLOC)) {
        if (!file && h->site_file) {       /* made by a built-in's constructor */
            file = h->site_file;
            line = h->site_line;
        }
        rc__hook_alloc(h, b, file, line);
    }
    return b + 1;
}

/* new_object's pop from page `pg`, its checks passed: the header, the
 * user part zeroed, the counts; NULL when the page is full. `words`: the
 * block's 8-byte words, header included, rounded up. */
RC_INLINE void *new_take(rc_heap *h, const rc_type *t, rc_page *pg, size_t size, size_t words,
                         bool tracked)
{
    rc_head *b = rc__page_take(pg);
    if (unlikely(b == NULL)) return NULL;
    uint64_t *w = (uint64_t *)b;
    /* Up to 16 bytes: the part's first and last word (the same one for up
     * to 8; for none, the header's type word, written below); a block has
     * room for a word past the header whatever the size. */
    if (likely(size <= 16)) {
        w[2] = 0;
        w[words - 1] = 0;
    } else {
        zero_small(b + 1, size);
    }
    b->refcnt = 1;
    b->gc = tracked ? RC__TRACKED | h->mark_flip : 0;
    b->type = t;
    if (tracked) {
        h->count[0]++;
        h->gen_objects[0]++;
    }
    return b + 1;
}

RC_INLINE void *new_object(rc_heap *h, const rc_type *t, size_t size, const char *fn,
                           const char *file, int line)
{
    if (likely(h != NULL) && likely(t != NULL) && likely(size <= 112) &&
        likely(!(h->hooked & RC_HOOK_ALLOC))) {
        int k = kind_of(h, t);
        size_t words = (sizeof(rc_head) + size + 7) >> 3;   /* header included */
        if (likely(k == NEW_TRACKED)) {
            rc_page *pg = h->cur[1][rc__small_class[words]];
            if (likely(pg != NULL) && likely(pg->flags & RC_PAGE_YOUNG0) &&
                likely(h->count[0] < h->young_limit) &&
                likely(h->candidates.len < h->candidate_trigger)) {
                void *p = new_take(h, t, pg, size, words, true);
                if (likely(p != NULL)) return p;
            }
        } else if (likely(k != NEW_BAD)) {
            rc_page *pg = h->cur[k == NEW_REFS][rc__small_class[words]];
            if (likely(pg != NULL)) {
                void *p = new_take(h, t, pg, size, words, false);
                if (likely(p != NULL)) return p;
            }
        }
    }
    return new_slow(h, t, size, fn, file, line);
}

/* The public names may be macros (RC_TRACE_SITES): define the functions. */
#undef rc_new
#undef rc_new_var

void *rc_new(rc_heap *h, const rc_type *t)
{
    RC__HEAP_CHECK(h, "rc_new");
    return new_object(h, t, t ? t->size : 0, "rc_new", NULL, 0);
}

void *rc_new_at(rc_heap *h, const rc_type *t, const char *file, int line)
{
    RC__HEAP_CHECK(h, "rc_new");
    return new_object(h, t, t ? t->size : 0, "rc_new", file, line);
}

void rc__site_enter(rc_heap *h, const char *file, int line)
{
    if (!h) return;
    RC__HEAP_CHECK(h, "rc__site_enter");
    h->site_file = file;
    h->site_line = line;
}

void rc__site_leave(rc_heap *h)
{
    RC__HEAP_CHECK(h, "rc__site_leave");
    if (h) h->site_file = NULL;
}

void *rc_new_var_at(rc_heap *h, const rc_type *t, size_t extra, const char *file, int line)
{
    RC__HEAP_CHECK(h, "rc_new_var");
    if (t && (t->size > SIZE_MAX / 2 || extra > SIZE_MAX / 2 - t->size))
        return rc__fail(h, RC_EINVAL, "rc_new_var: size overflow for a '%s'", t->name ? t->name : "?");
    return new_object(h, t, t ? t->size + extra : 0, "rc_new_var", file, line);
}

void *rc_new_var(rc_heap *h, const rc_type *t, size_t extra)
{
    return rc_new_var_at(h, t, extra, NULL, 0);
}

rc_heap *rc_heap_of(const void *obj)
{
    return rc__page_of(RC_HEAD(obj))->heap;
}

/* ---- the candidate buffer ---- */

void rc__buffer(rc_head *o)
{
    rc_heap *h = rc__page_of(o)->heap;
    if (h->scanning) return;   /* a collection owns the gc fields */
    rc_assert(rc__gen(o) == 2 && (o->gc & RC__TRACKED) && !(o->gc & (RC__BUFFERED | RC__INSET)) &&
              rc__field(o) == 0);   /* invariants 1 and 3 */
    size_t idx = h->candidates.len;
    if (idx >= RC__FIELD_MAX) return;    /* the next full collection will see it */
    if (!rc__vec_push(h, &h->candidates, o)) return;
    o->gc |= RC__BUFFERED;
    rc__set_field(o, (uint32_t)idx);
    h->candidates_live++;
}

void rc__unbuffer(rc_heap *h, rc_head *o)
{
    if (!(o->gc & RC__BUFFERED)) return;
    rc_assert(rc__field(o) < h->candidates.len && h->candidates.items[rc__field(o)] == o);
    h->candidates.items[rc__field(o)] = NULL;
    h->candidates_live--;
    o->gc &= ~RC__BUFFERED;
    rc__set_field(o, 0);
}

/* ---- releasing references ---- */

/* Drop the references a slots object holds; `forget` also NULLs the slots
 * (to break a cycle: the object lives on until the collector lets go). */
RC_INLINE void release_slots(rc_head *o, const rc_type *t, bool forget)
{
    void **s = (void **)((char *)(o + 1) + t->slots_offset);
    for (uint32_t i = 0; i < t->nslots; i++) {
        void *c = s[i];
        if (!c) continue;
        if (forget) s[i] = NULL;
        rc_decref(c);
    }
}

/* A type with traverse has clear (rc_new refuses one without, type_ok), so
 * clear or the slots say everything an object holds. */
void rc__release_refs(rc_head *o)
{
    const rc_type *t = o->type;
    rc_assert(t->clear || !t->traverse);
    if (t->clear) t->clear(o + 1);
    else if (t->rc_kind == RC_KIND_USER && t->nslots) release_slots(o, t, true);
}

/* ---- death ---- */

/* `o`, which has RC__WEAKREFS, dies: only the weakref layer sets the bit,
 * and its slot clears the weak references and runs their callbacks. */
static RC_NOINLINE void referent_death(rc_heap *h, rc_head *o)
{
    const rc_hooks *w = h->hooks[RC_SLOT_WEAKREF];
    rc_assert(w && w->on_referent_death);
    if (w && w->on_referent_death) w->on_referent_death(h, o);
}

/* Take `o` off the collector's books (candidate buffer, collection garbage
 * count, generation counts), the weak references' and the on_death hooks'
 * before its memory goes. */
RC_INLINE void unlink_object(rc_heap *h, rc_head *o)
{
    if (unlikely(o->gc & (RC__BUFFERED | RC__INSET))) {
        if (o->gc & RC__BUFFERED) rc__unbuffer(h, o);
        /* garbage a collection is freeing (maybe untracked by its finalizer) */
        if (o->gc & RC__INSET) h->gc_freed++;
    }
    if (o->gc & RC__TRACKED) rc__uncount(h, o);
    if (unlikely(o->gc & RC__WEAKREFS)) referent_death(h, o);
    if (unlikely(h->hooked & RC_HOOK_DEATH)) rc__hook_death(h, o);
}

static inline void pending_push(rc_heap *h, rc_head *o)
{
    rc_head *next = h->pending;
    memcpy(o, &next, sizeof next);
    h->pending = o;
}

/* The object leaves the list with refcnt (and gc) 0 again, so rc_refcount
 * reads 0 while it is released. */
static inline rc_head *pending_pop(rc_heap *h)
{
    rc_head *o = h->pending, *next;
    uint64_t zero = 0;
    memcpy(&next, o, sizeof next);
    memcpy(o, &zero, sizeof zero);
    h->pending = next;
    return o;
}

static bool is_pending(const rc_heap *h, const rc_head *o)
{
    for (const rc_head *p = h->pending; p;) {
        if (p == o) return true;
        memcpy(&p, p, sizeof p);
    }
    return false;
}

/* Release what a dying object holds: slots inline, else rc__release_refs. */
RC_INLINE void release_dying(rc_head *o)
{
    const rc_type *t = o->type;
    if (t->rc_kind == RC_KIND_USER && !t->clear && !t->traverse) release_slots(o, t, false);
    else rc__release_refs(o);
}

void rc__free_now(rc_heap *h, rc_head *o)
{
    rc_assert(o->refcnt == 1 && !h->freeing);   /* only the collector's hold is left */
    unlink_object(h, o);
    if (unlikely(o->type->destroy != NULL)) o->type->destroy(o + 1);
    rc__free_fast(h, o);
}

void rc__free_moved(rc_heap *h, rc_head *o)
{
    rc_assert(o->refcnt != 0 && !(o->gc & (RC__WEAKREFS | RC__INSET)) && !h->freeing);
    unlink_object(h, o);
    rc__free_fast(h, o);
}

/* Free everything waiting on the pending list (the outer call's loop). */
static RC_NOINLINE void free_pending(rc_heap *h, rc_head *o)
{
    rc__set_freeing(h, true);
    for (;;) {
        const rc_type *t = o->type;
        release_dying(o);
        if (unlikely(t->destroy != NULL)) t->destroy(o + 1);
        rc__free_fast(h, o);
        if (!h->pending) break;
        o = pending_pop(h);
    }
    rc__set_freeing(h, false);
    if (unlikely(rc__purge_waits(h))) rc__alloc_purge_soon(h);
}

/* Whether an outer call is freeing or a layer wants on_death: one byte
 * (death_gate), written with `freeing` and with `hooked`. (A 16-bit load of
 * the two bytes instead was 1.5 ns slower per object in W2: the
 * dealloc loop has just stored `freeing` alone, and a wider load over that
 * store cannot be forwarded from it.) */
RC_INLINE bool freeing_or_hooked(const rc_heap *h)
{
    rc_assert(!h->death_gate == !(h->freeing | (h->hooked & RC_HOOK_DEATH)));
    return h->death_gate != 0;
}

/* The rest of a plain object's death (rc__dealloc's common case) from its
 * slot `i` on: slot `i` holds a reference whose drop does more than
 * decrement (a death, a candidate, a freed count), so the rest is released
 * the general way, with `freeing` set so that deaths join the pending list. */
static RC_NOINLINE void dealloc_plain_from(rc_heap *h, rc_head *o, uint32_t i)
{
    const rc_type *t = o->type;
    void **s = (void **)((char *)(o + 1) + t->slots_offset);
    rc__set_freeing(h, true);
    for (; i < t->nslots; i++)
        if (s[i]) rc_decref(s[i]);
    rc__set_freeing(h, false);
    rc__free_fast(h, o);
    if (unlikely(h->pending != NULL)) free_pending(h, pending_pop(h));
    else if (unlikely(rc__purge_waits(h))) rc__alloc_purge_soon(h);
}

/* A plain object's block whose page changes state, or a purge that waits. */
static RC_NOINLINE void dealloc_plain_free(rc_heap *h, rc_head *o)
{
    rc__free_fast(h, o);
    if (unlikely(rc__purge_waits(h))) rc__alloc_purge_soon(h);
}

/* Every other death: a finalizer (PEP 442), unlinking from the candidate
 * buffer, weak references and the hooks, then freeing now or, inside an
 * outer free, on its pending list. */
static RC_NOINLINE void dealloc_general(rc_heap *h, rc_head *o)
{
    const rc_type *t = o->type;
    /* PEP 442: the finalizer runs once, on an intact object, and may resurrect. */
    if (unlikely(t->finalize != NULL) && !(o->gc & RC__FINALIZED)) {
        o->gc |= RC__FINALIZED;
        o->refcnt = 1;
        h->busy++;
        t->finalize(o + 1);
        h->busy--;
        if (--o->refcnt != 0) return;   /* resurrected */
    }
    unlink_object(h, o);
    rc_assert(o->refcnt == 0 && !(o->gc & RC__BUFFERED));
    if (h->freeing) {   /* an outer call is freeing: join its list */
        pending_push(h, o);
        return;
    }
    free_pending(h, o);
}

/* Whether objects of `t` die the plain way: a user type of slots (or
 * nothing) with no finalize, destroy, clear or traverse. One test of the
 * OR of the fields. */
RC_INLINE bool plain_type(const rc_type *t)
{
    return ((uintptr_t)t->traverse | (uintptr_t)t->clear | (uintptr_t)t->finalize |
            (uintptr_t)t->destroy | t->rc_kind) == 0;
}

void rc__dealloc(rc_head *o)
{
    rc_heap *h = rc__page_of(o)->heap;
    const rc_type *t = o->type;

    /* The common case: an object of a slots type with no hooks, on no list,
     * freed outside any other free, no on_death hook wanted. It makes no
     * call while each reference it holds only needs a decrement (a count
     * above 1, no candidate to buffer; an immortal count needs nothing), so
     * it saves no registers; anything more continues in dealloc_plain_from. */
    uint32_t gc = o->gc;
    if (likely(!freeing_or_hooked(h)) && likely(plain_type(t)) &&
        likely(!(gc & (RC__BUFFERED | RC__INSET | RC__WEAKREFS)))) {
        if (likely(gc & RC__TRACKED)) rc__uncount(h, o);   /* all unlink_object has left to do */
        void **s = (void **)((char *)(o + 1) + t->slots_offset);
        for (uint32_t i = 0, n = t->nslots; i < n; i++) {
            if (!s[i]) continue;
#ifndef RC_DEBUG
            rc_head *c = RC_HEAD(s[i]);
            uint32_t r = c->refcnt;
            if ((int32_t)r > 1 && (c->gc & (RC__GEN_MASK | RC__TRACKED | RC__BUFFERED | RC__INSET)) !=
                                      (2u | RC__TRACKED)) {
                c->refcnt = r - 1;
                continue;
            }
            if (r & RC__IMMORTAL) continue;   /* a frozen region's object: no write */
#endif
            return dealloc_plain_from(h, o, i);   /* debug builds: rc_decref's checks */
        }
        if (likely(!rc__purge_waits(h)) && likely(rc__free_quick(o))) return;
        return dealloc_plain_free(h, o);
    }
    /* The same object inside an outer free (a structure dying with it) and
     * no on_death hook: it joins the outer call's list with nothing else
     * to undo -- dealloc_general's way, without its tests. */
    if (h->death_gate == RC__GATE_FREEING && plain_type(t) &&
        !(gc & (RC__BUFFERED | RC__INSET | RC__WEAKREFS))) {
        if (gc & RC__TRACKED) rc__uncount(h, o);
        pending_push(h, o);
        return;
    }

    return dealloc_general(h, o);
}

/* ---- debug checks ---- */

/* Pages rc__check found mapped and valid. One table for every thread, so the
 * check is right whatever thread a heap has moved to: a page that goes back
 * to the system is forgotten (rc__check_forget) by the thread that frees it,
 * and the next check, on any thread, probes it again. Entries are relaxed
 * atomics: a heap is used by one thread at a time, and whatever handed it
 * from one thread to the next ordered the forget before the check; threads
 * on other heaps only ever collide on a slot, which costs a probe. */
#define RC_CHECK_CACHE 1024
static _Atomic uintptr_t checked_pages[RC_CHECK_CACHE];

static _Atomic uintptr_t *check_slot(const void *page)
{
    return &checked_pages[((uintptr_t)page >> 16) % RC_CHECK_CACHE];
}

void rc__check_forget(const void *page)
{
    uintptr_t want = (uintptr_t)page;
    atomic_compare_exchange_strong_explicit(check_slot(page), &want, 0, memory_order_relaxed,
                                            memory_order_relaxed);
}

static RC_NOINLINE void check_fail(const void *obj, const char *op, const char *why)
{
    fprintf(stderr, "recycle: %s(%p): %s\n", op, obj, why);
    abort();
}

/* Whether the C allocator has taken back the memory at `p` (malloc mode
 * under ASan: ASan can then say where it was allocated and freed). */
static bool freed_by_malloc(const void *p)
{
#if RC__ASAN
    return __asan_address_is_poisoned(p) != 0;
#else
    (void)p;
    return false;
#endif
}

/* Always built, so that a program (or a test) compiled with RC_DEBUG gets the
 * checks in its inline calls whatever the library's build. */
/* The first half of rc__check: `obj` points at a block of a recycle page. */
static void check_page(const void *obj, const char *op)
{
    if (!obj) {
        fprintf(stderr, "recycle: %s(NULL)\n", op);
        abort();
    }
    const rc_head *o = RC_HEAD(obj);
    rc_page *pg = rc__page_of(o);
    /* Is there memory at the page start at all (rc__os_mapped)? A small
     * cache of pages seen valid saves the system call on most checks. */
    _Atomic uintptr_t *seen = check_slot(pg);
    if (atomic_load_explicit(seen, memory_order_relaxed) != (uintptr_t)pg) {
        if (!rc__os_mapped(pg))
            check_fail(obj, op, "not an object of any recycle heap");
        if (freed_by_malloc(pg)) {
            /* ASan does not overwrite freed memory: the header still names the type. */
            const rc_type *t = rc__peek_type(o);
            fprintf(stderr, "recycle: %s(%p): use of a freed object of type '%s' (refcount "
                    "already 0: one rc_decref too many, or use after free; malloc mode gave its "
                    "memory back to the C allocator)\n", op, obj, t && t->name ? t->name : "?");
#if RC__ASAN
            __asan_describe_address((void *)o);
#endif
            abort();
        }
        if (pg->magic != RC_PAGE_MAGIC) check_fail(obj, op, "not an object of any recycle heap");
        atomic_store_explicit(seen, (uintptr_t)pg, memory_order_relaxed);
    }
    if (pg->magic != RC_PAGE_MAGIC) check_fail(obj, op, "not an object of any recycle heap");
    if (pg->flags & RC_PAGE_BUFFER)
        check_fail(obj, op, "a pointer into a container's buffer (list items, dict tables), not to an object");
    if (!(pg->flags & RC_PAGE_LARGE)) {
        size_t off = (size_t)((const char *)o - rc__page_first(pg));
        if ((const char *)o < rc__page_first(pg) || off % pg->block_size != 0 ||
            (const char *)o >= pg->bump)
            check_fail(obj, op, "pointer into a page but not to an object");
    } else if ((const char *)o != rc__page_first(pg)) {
        check_fail(obj, op, "pointer into a page but not to an object");
    }
}

void rc__check(const void *obj, const char *op)
{
    check_page(obj, op);
    const rc_head *o = RC_HEAD(obj);
    const rc_page *pg = rc__page_of(o);
    /* A frozen region's objects are read by any thread (rc_region_freeze). */
    if (unlikely(!rc__heap_owned(pg->heap)) && !(pg->flags & RC_PAGE_REGION))
        rc__heap_not_owned(pg->heap, op, obj);
    if (o->refcnt == 0) {
        const rc_type *t = rc__peek_type(o);
        fprintf(stderr, "recycle: %s(%p): use of a freed object of type '%s' (refcount already 0: "
                "one rc_decref too many, or use after free)\n", op, obj,
                t && t->name ? t->name : "?");
        abort();
    }
}

void rc__decref_freed(rc_head *h)
{
    /* The count stays 0 (the block is free, or waits to be). */
    volatile uint32_t gc = h->gc;
    (void)gc;
}

void rc__check_write(const void *obj, const char *op)
{
    rc__check(obj, op);
    if (unlikely(rc__page_of(RC_HEAD(obj))->flags & RC_PAGE_REGION)) {
        const rc_type *t = RC_HEAD(obj)->type;
        fprintf(stderr, "recycle: %s(%p): the %s is frozen (in a region made by "
                "rc_region_freeze): it is never written\n", op, obj, t && t->name ? t->name : "?");
        abort();
    }
}

bool rc__region_refused(const void *obj, const char *call)
{
    const rc_head *o = RC_HEAD(obj);
    void *region = rc__region_of(o);
    if (likely(!region)) return false;
    rc__fail(rc__page_of(o)->heap, RC_EINVAL, "%s: the %s at %p is an object of the frozen region "
             "%p, which is never written and whose heap no thread holds", call,
             o->type && o->type->name ? o->type->name : "?", obj, region);
    return true;
}

void rc__refcount_overflow(const void *obj)
{
    const rc_head *o = RC_HEAD(obj);
    fprintf(stderr, "recycle: rc_incref(%p): the reference count of the '%s' would pass %u "
            "(the limit: 2^31 - 1 references to one object)\n", obj,
            o->type && o->type->name ? o->type->name : "?", (unsigned)(RC__IMMORTAL - 1));
    abort();
}

uint32_t rc__refcount(const void *obj, int check)
{
    if (check) check_page(obj, "rc_refcount");
    const rc_head *o = RC_HEAD(obj);
    const rc_heap *h = rc__page_of(o)->heap;
    if (unlikely(h->pending != NULL) && is_pending(h, o)) return 0;
    if (check) rc__check(obj, "rc_refcount");
    return o->refcnt;
}
