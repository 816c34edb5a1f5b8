/*
 * move.c -- rc_move: a graph that nothing outside it refers to, but the
 * caller's one reference to its root, becomes objects of another heap, in
 * time proportional to the graph (docs/ARCHITECTURE.md, "Threads", T4).
 *
 * Four phases; only the last changes anything, and it cannot fail.
 *
 *   gather    breadth first from the root over the edges (util/edges.h):
 *             each object reached becomes a member. Its header's refcnt and
 *             gc words are saved in the member table and replaced by a
 *             mark: refcnt 0, gc = its number + 1. A live object never has
 *             refcnt 0, so whether an object is a member, and which, is one
 *             load of a header the walk reads anyway: no map. Each
 *             reference from a member to a member counts on the target.
 *             Refused on the way: a reference to another heap, objects with
 *             weak references, frozen objects, weak references, types with
 *             traverse (a copy needs a hook that says what to copy).
 *   prove     the graph is isolated iff each member's saved refcount equals
 *             its count -- the root's plus one, the caller's handle. When
 *             not, one walk of the heap's pages (members, refcnt 0, are not
 *             in it) looks for an object holding the member found; none
 *             found: C code holds it.
 *   allocate  a block in dst per member, and the tables of lists and dicts
 *             (written into the copies). Out of memory: all of it goes back.
 *   commit    each copy takes its member's bytes and header (generation 0,
 *             FINALIZED kept), references are rewritten to the copies
 *             through the marks, dict indexes rebuilt; then each member
 *             gets its header back and is freed without release or destroy
 *             (rc__free_moved): what it owned is its copy's now.
 *
 * On any failure the headers are restored and nothing else has changed.
 * While they are marked no other code runs: no callback, no user code but
 * the traverse of objects that are not members (the failure walk), nothing
 * that walks the source heap's pages.
 */
#include "gcmodule/gcmodule.h"
#include "builtins/builtins.h"
#include "core/mem.h"
#include "core/memcheck.h"
#include "util/blockids.h"
#include "util/edges.h"

#include <stdarg.h>

typedef struct member {
    rc_head *old;           /* the object (its header marked while moving) */
    rc_head *copy;          /* its block in dst, once allocated */
    uint32_t refcnt, gc;    /* the old header's words */
    uint32_t inrefs;        /* references from members (saturating) */
} member;

typedef struct mover {
    rc_heap *src, *dst;
    member *m;
    size_t n, cap;
    rc_head *cur;           /* the member whose references are followed */
    rc__graph_err e;        /* why the gather stopped, or RC_OK */
} mover;

/* Records the error on both heaps: the graph stays in src, dst is the heap
 * the caller asked for. */
static void *fail(mover *mv, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void *fail(mover *mv, int code, const char *fmt, ...)
{
    char buf[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    rc__fail(mv->src, code, "%s", buf);
    rc__fail(mv->dst, code, "%s", buf);
    return NULL;
}

/* ---- gather ---- */

static const char *refusal(const rc_head *o)
{
    const rc_type *t = o->type;
    if (t->rc_kind == RC_KIND_WEAKREF) return "is a weak reference";
    if (t->rc_kind == RC_KIND_USER && t->traverse)
        return "has a traverse callback (rc_move copies slots types and the built-ins)";
    if (o->gc & RC__WEAKREFS) return "has weak references to it";
    if (rc__gen(o) == 3) return "is frozen (rc_gc_freeze)";
    return NULL;
}

/* `o` (of the source heap, not a member) becomes member n. */
static void join(mover *mv, rc_head *o, uint32_t inrefs)
{
    const char *why = refusal(o);
    if (why) {
        rc__graph_stop(&mv->e, RC_EINVAL,
                       "the %s at %p %s", rc__type_name(o), (void *)(o + 1), why);
        return;
    }
    if (mv->n == RC_GRAPH_MAX_MEMBERS) {
        rc__graph_stop(&mv->e, RC_ERANGE, "more than %zu objects", RC_GRAPH_MAX_MEMBERS);
        return;
    }
    if (!rc__mem_grow(mv->src, (void **)&mv->m, &mv->cap, mv->n + 1, sizeof(member))) {
        rc__graph_stop(&mv->e, RC_ENOMEM, "out of memory for the table of %zu objects", mv->n + 1);
        return;
    }
    mv->m[mv->n++] = (member){o, NULL, o->refcnt, o->gc, inrefs};
    o->refcnt = 0;
    o->gc = (uint32_t)mv->n;
}

static void gather_ref(rc_head *c, void *ctx)
{
    mover *mv = ctx;
    if (unlikely(rc__page_of(c)->heap != mv->src)) {
        /* Into a region dst holds: the reference stays as it is. */
        if (rc__held_region_of(mv->dst, c)) return;
        char why[200];
        rc__describe_foreign(why, sizeof why, mv->cur, c);
        rc__graph_stop(&mv->e, RC_EINVAL, "%s", why);
        return;
    }
    if (c->refcnt == 0) {   /* a member */
        member *e = &mv->m[c->gc - 1];
        e->inrefs += e->inrefs < UINT32_MAX;
        return;
    }
    if (!mv->e.code) join(mv, c, 1);
}

/* Members from the root, or false with mv->e.code (the marks stay: restore). */
static bool gather(mover *mv, rc_head *root)
{
    join(mv, root, 0);
    for (size_t i = 0; i < mv->n && !mv->e.code; i++) {
        mv->cur = mv->m[i].old;
        rc__foreach_ref(mv->cur, gather_ref, mv);
    }
    return !mv->e.code;
}

static void restore(mover *mv)
{
    for (size_t i = 0; i < mv->n; i++) {
        mv->m[i].old->refcnt = mv->m[i].refcnt;
        mv->m[i].old->gc = mv->m[i].gc;
    }
}

/* ---- prove ---- */

typedef struct holder {
    rc_head *target, *cur, *found;
    rc_edge edge;
} holder;

static void holder_edge(rc_head *child, const rc_edge *e, void *ctx)
{
    holder *hd = ctx;
    if (child == hd->target && !hd->found) {
        hd->found = hd->cur;
        hd->edge = *e;
    }
}

/* An object of the heap, not a member, that holds `target`; NULL: none. One
 * walk of the pages of objects that can hold references; members have
 * refcnt 0 and are not walked. */
static rc_head *find_holder(mover *mv, rc_head *target, rc_edge *edge)
{
    holder hd = {.target = target};
    RC__FOREACH_LIVE(mv->src, 1, pg, o, {
        hd.cur = o;
        rc__foreach_edge(o, holder_edge, &hd);
        if (hd.found) goto found;
    });
found:
    *edge = hd.edge;
    return hd.found;
}

void rc__describe_edge(const rc_edge *e, char *buf, size_t size)
{
    switch (e->kind) {
    case RC_EDGE_SLOT: snprintf(buf, size, "slot %zu", e->index); break;
    case RC_EDGE_ITEM: snprintf(buf, size, "item %zu", e->index); break;
    case RC_EDGE_DICT_KEY: snprintf(buf, size, "a key"); break;
    case RC_EDGE_DICT_VALUE: snprintf(buf, size, "a value"); break;
    default: snprintf(buf, size, "reference %zu", e->index); break;
    }
}

/* Whether every member's count is accounted for; if not, the error names
 * one member and what else holds it (the marks stay: restore). */
static bool prove(mover *mv)
{
    for (size_t i = 0; i < mv->n; i++) {
        member *e = &mv->m[i];
        uint64_t want = (uint64_t)e->inrefs + (i == 0);
        if (e->refcnt == want) continue;
        const char *what = i == 0 ? " (the object moved)" : "";
        void *obj = e->old + 1;
        if (e->refcnt < want) {
            if (i == 0 && e->refcnt == e->inrefs)
                fail(mv, RC_EINVAL, "rc_move: the %s at %p holds no reference of the caller's "
                     "(all %u come from the graph): pass a reference you own",
                     rc__type_name(e->old), obj, e->refcnt);
            else
                fail(mv, RC_EINVAL, "rc_move: the %s at %p%s has %u references, fewer than the "
                     "graph holds (%u): an rc_incref is missing", rc__type_name(e->old), obj, what,
                     e->refcnt, e->inrefs);
            return false;
        }
        rc_edge edge;
        rc_head *h = find_holder(mv, e->old, &edge);
        if (h) {
            char how[32];
            rc__describe_edge(&edge, how, sizeof how);
            fail(mv, RC_EINVAL, "rc_move: the %s at %p%s is referred to from outside the graph: "
                 "the %s at %p holds it (%s)", rc__type_name(e->old), obj, what, rc__type_name(h),
                 (void *)(h + 1), how);
        } else {
            fail(mv, RC_EINVAL, "rc_move: the %s at %p%s has %u references, %u from the graph%s: "
                 "C code holds the other %llu", rc__type_name(e->old), obj, what, e->refcnt,
                 e->inrefs, i == 0 ? " and 1 yours" : "", (unsigned long long)(e->refcnt - want));
        }
        return false;
    }
    return true;
}

/* ---- allocate ---- */

/* The bytes of o's user part that hold something: exact for the built-ins;
 * a user type's block to its end (rc_new_var's extra is not recorded). */
static size_t object_size(const rc_head *o)
{
    const rc_type *t = o->type;
    switch (t->rc_kind) {
    case RC_KIND_STR: return rc__str_size(((const rc_str_obj *)(o + 1))->len);
    case RC_KIND_TUPLE: return sizeof(rc_tuple_obj)
           + ((const rc_tuple_obj *)(o + 1))->len * sizeof(rc_val);
    case RC_KIND_USER: return rc__block_bytes(rc__page_of(o)) - sizeof(rc_head);
    default: return t->size;
    }
}

/* A copy's block and tables; false when dst runs out of memory (what was
 * allocated is recorded in the copy, for give_back). */
static bool allocate_one(mover *mv, member *e)
{
    rc_head *o = e->old;
    bool refs = (rc__page_of(o)->flags & RC_PAGE_TRACKED) != 0;
    rc_head *c = rc__alloc_fast(mv->dst, sizeof(rc_head) + object_size(o), refs,
                                (e->gc & RC__TRACKED) != 0);
    if (!c) return false;
    c->refcnt = 0;   /* not an object until the commit */
    c->gc = 0;
    c->type = o->type;
    e->copy = c;
    if (o->type->rc_kind == RC_KIND_LIST) {
        const rc_list_obj *from = RC__USER(o);
        rc_list_obj *to = RC__USER(c);
        memset(to, 0, sizeof *to);
        if (!from->len) return true;
        to->items = rc__buf_realloc(mv->dst, NULL, 0, from->len * sizeof(rc_val));
        if (!to->items) return false;
        to->len = to->cap = from->len;
        to->objs = from->objs;
    } else if (o->type->rc_kind == RC_KIND_DICT) {
        return rc__dict_copy_alloc(mv->dst, RC__USER(o), RC__USER(c));
    }
    return true;
}

/* The copies' blocks and tables back to dst (out of memory on the way). */
static void give_back(mover *mv)
{
    for (size_t i = mv->n; i-- > 0;) {
        rc_head *c = mv->m[i].copy;
        if (!c) continue;
        if (c->type->rc_kind == RC_KIND_LIST) {
            rc_list_obj *l = RC__USER(c);
            if (l->items) rc__buf_free(mv->dst, l->items, l->cap * sizeof(rc_val));
        } else if (c->type->rc_kind == RC_KIND_DICT) {
            rc__dict_tables_free(mv->dst, RC__USER(c));
        }
        rc__free_block(mv->dst, c);
        mv->m[i].copy = NULL;
    }
}

static bool allocate(mover *mv)
{
    for (size_t i = 0; i < mv->n; i++) {
        if (!allocate_one(mv, &mv->m[i])) {
            give_back(mv);
            fail(mv, RC_ENOMEM, "rc_move: out of memory in the destination heap for the copies "
                 "of %zu objects", mv->n);
            return false;
        }
    }
    return true;
}

/* ---- commit ---- */

/* The copy of member object `o` (its header marked); an object of a
 * region dst holds is not a member and stays itself. */
static inline void *copy_of(const mover *mv, const void *obj)
{
    if (unlikely(RC_HEAD(obj)->refcnt != 0)) return (void *)obj;
    return mv->m[RC_HEAD(obj)->gc - 1].copy + 1;
}

static rc_val map_val(rc_val v, void *ctx)
{
    return rc_is_obj(v) ? rc_obj(copy_of(ctx, rc_as_obj(v))) : v;
}

/* The member's bytes and header into its copy (references still the old). */
static void copy_bytes(mover *mv, const member *e)
{
    rc_head *o = e->old, *c = e->copy;
    if (o->type->rc_kind == RC_KIND_LIST) {
        const rc_list_obj *from = RC__USER(o);
        rc_list_obj *to = RC__USER(c);
        if (from->len) memcpy(to->items, from->items, from->len * sizeof(rc_val));
    } else if (o->type->rc_kind != RC_KIND_DICT) {   /* a dict is filled by rewrite */
        size_t size = object_size(o);
        if (mv->src->watch) rc__mem_open(o + 1, size);   /* a user type's slack */
        memcpy(c + 1, o + 1, size);
    }
    c->refcnt = e->refcnt;
    c->gc = (e->gc & RC__TRACKED ? RC__TRACKED | mv->dst->mark_flip : 0) | (e->gc & RC__FINALIZED);
}

/* The copy's references to members become references to their copies. */
static void rewrite(mover *mv, const member *e)
{
    rc_head *c = e->copy;
    const rc_type *t = c->type;
    switch (t->rc_kind) {
    case RC_KIND_USER: {
        void **s = (void **)((char *)RC__USER(c) + t->slots_offset);
        for (uint32_t k = 0; k < t->nslots; k++)
            if (s[k]) s[k] = copy_of(mv, s[k]);
        break;
    }
    case RC_KIND_LIST: {
        rc_list_obj *l = RC__USER(c);
        if (l->objs)
            for (size_t k = 0; k < l->len; k++) l->items[k] = map_val(l->items[k], mv);
        break;
    }
    case RC_KIND_TUPLE: {
        rc_tuple_obj *tu = RC__USER(c);
        for (size_t k = 0; k < tu->len; k++) tu->items[k] = map_val(tu->items[k], mv);
        break;
    }
    case RC_KIND_DICT:
        rc__dict_copy_fill(RC__USER(c), RC__USER(e->old), map_val, mv);
        break;
    default:   /* str, int: no references */
        break;
    }
}

/* The member leaves the source heap: its header back, its tables freed, its
 * block freed without release or destroy. */
static void free_old(mover *mv, const member *e)
{
    rc_head *o = e->old;
    o->refcnt = e->refcnt;
    o->gc = e->gc;
    if (o->type->rc_kind == RC_KIND_LIST) {
        rc_list_obj *l = RC__USER(o);
        if (l->items) rc__buf_free(mv->src, l->items, l->cap * sizeof(rc_val));
    } else if (o->type->rc_kind == RC_KIND_DICT) {
        rc__dict_tables_free(mv->src, RC__USER(o));
    }
    rc__free_moved(mv->src, o);
}

static void commit(mover *mv)
{
    size_t tracked = 0;
    for (size_t i = 0; i < mv->n; i++) copy_bytes(mv, &mv->m[i]);
    for (size_t i = 0; i < mv->n; i++) rewrite(mv, &mv->m[i]);
    for (size_t i = 0; i < mv->n; i++) {
        tracked += (mv->m[i].gc & RC__TRACKED) != 0;
        free_old(mv, &mv->m[i]);
    }
    /* New in dst: young, as a new object is. */
    mv->dst->count[0] += tracked;
    mv->dst->gen_objects[0] += tracked;
    if (unlikely(mv->dst->hooked & RC_HOOK_ALLOC))
        for (size_t i = 0; i < mv->n; i++) rc__hook_alloc(mv->dst, mv->m[i].copy, NULL, 0);
    if (mv->src->dirty_bytes) rc__alloc_purge_soon(mv->src);
}

/* ---- the call ---- */

void rc__graph_stop(rc__graph_err *e, int code, const char *fmt, ...)
{
    if (e->code) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->why, sizeof e->why, fmt, ap);
    va_end(ap);
    e->code = code;
}

const char *rc__graph_busy(const rc_heap *h)
{
    return h->scanning || h->busy ? "collecting or running a finalizer or callback"
           : h->freeing           ? "freeing objects"
                                  : NULL;
}

void *rc_move(rc_heap *dst, void *obj)
{
    if (!obj) {
        RC__HEAP_CHECK(dst, "rc_move");
        if (dst) rc__fail(dst, RC_EINVAL, "rc_move: obj is NULL");
        return NULL;
    }
    RC__CHECK(obj, "rc_move");
    rc_heap *src = rc_heap_of(obj);
    if (rc__page_of(RC_HEAD(obj))->flags & RC_PAGE_REGION) {
        /* Read by other threads meanwhile: nothing of it is written, not even
         * an error message. */
        RC__HEAP_CHECK(dst, "rc_move");
        if (dst)
            rc__fail(dst, RC_EINVAL, "rc_move: the %s at %p is in a frozen region, whose "
                     "objects never leave it (rc_copy makes a copy)",
                     rc__type_name(RC_HEAD(obj)), obj);
        return NULL;
    }
    if (!dst) return rc__fail(src, RC_EINVAL, "rc_move: dst is NULL");
    RC__HEAP_CHECK(dst, "rc_move");
    mover mv = {.src = src, .dst = dst};
    rc_head *root = RC_HEAD(obj);
    if (dst == src)
        return fail(&mv, RC_EINVAL, "rc_move: the %s at %p is in the destination heap already",
                    rc__type_name(root), obj);
    const char *doing = rc__graph_busy(src) ? rc__graph_busy(src) : rc__graph_busy(dst);
    if (doing)
        return fail(&mv, RC_EBUSY, "rc_move: refused while the %s heap is %s",
                    rc__graph_busy(src) ? "source" : "destination", doing);
    void *moved = NULL;
    mv.m = rc__table_take(src, sizeof(member), &mv.cap);
    if (!gather(&mv, root)) {
        fail(&mv, mv.e.code, "rc_move: %s", mv.e.why);
    } else if (prove(&mv) && allocate(&mv)) {
        commit(&mv);
        moved = mv.m[0].copy + 1;
    }
    if (!moved) restore(&mv);
    /* Kept for the next move; a failed one leaves the heap as it was. */
    if (moved) rc__table_keep(src, mv.m, mv.cap * sizeof(member));
    else rc__mem_free(rc__mem_heap(src), mv.m, mv.cap * sizeof(member));
    return moved;
}
