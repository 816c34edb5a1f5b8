/*
 * copy.c -- rc_copy: a deep copy of the graph an object reaches into
 * another heap, sharing and cycles preserved (docs/ARCHITECTURE.md,
 * "Threads", "Copy"). The source graph may be shared with anything; it is
 * only read, and its headers are the same after the call as before.
 *
 * Three phases over one table of members (the objects reached).
 *
 *   gather  breadth first from the root over the edges (util/edges.h),
 *           as rc_move's gather: each object reached becomes member n; its
 *           header's refcnt and gc words are saved in the table and
 *           replaced by a mark, refcnt 0 and gc = n + 1. A live object never
 *           has refcnt 0, so "is it a member, and which" is one load of a
 *           header the walk reads anyway: the map old -> new costs no
 *           allocation per object, only the table's 32 bytes per member.
 *           Refused on the way (RC_EINVAL, naming the object and its type):
 *           a reference to a third heap, a user type that says it cannot be
 *           copied (RC_TYPE_NOCOPY), one with traverse or destroy and no
 *           copy hook; a weak reference with owned data, an extension or a
 *           container's key, a dead one, or one whose referent the graph
 *           does not reach (checked once all members are known).
 *   create  per member, in order, a copy in dst holding no reference yet:
 *           strs and boxed ints by value, lists with room for every item,
 *           tuples of nones, empty dicts, user objects with their bytes
 *           (slots cleared) -- or zero-filled when the type has a copy hook;
 *           then each weak reference, to the copy of its referent.
 *           The table holds one reference to each copy.
 *   link    slots, list and tuple items mapped through the marks (each
 *           store takes its own reference), then the copy hooks, then the
 *           dicts (last: a key's hash may read a tuple's items or a str).
 *           Then the root's reference goes to the caller and the table's
 *           others are dropped: each copy keeps the references other copies
 *           hold, as its original had from the graph.
 *
 * On failure (out of memory, a hook's error) every copy is emptied -- items,
 * entries, slots cleared, a hook type's clear called -- before the table's
 * references are dropped, so no cycle among copies survives and nothing
 * is left in dst. The source headers are restored on every path.
 *
 * While the marks are set no code of the source heap runs but the traverse
 * callbacks of members (they only report) and the copy hooks (which read
 * their own object and call map). dst's automatic collection is off for the
 * duration, so no finalizer or callback runs either.
 */
#include "builtins/builtins.h"
#include "core/mem.h"
#include "core/memcheck.h"
#include "gcmodule/gcmodule.h"
#include "util/blockids.h"
#include "util/edges.h"
#include "util/pmap.h"
#include "weakref/weakref.h"

#include <stdarg.h>

typedef struct member {
    rc_head *old;           /* the source object (its header marked meanwhile) */
    void *copy;             /* its copy in dst (user pointer); a reference of the table's */
    uint32_t refcnt, gc;    /* the old header's words */
} member;

typedef struct copier {
    rc_heap *src, *dst;
    rc_heap *tab;           /* the heap whose memory holds the table */
    bool frozen;            /* src is a frozen region: its headers are never written */
    rc_pmap index;          /* frozen: member -> its number (n + 1), in dst's memory */
    member *m;
    size_t n, cap;
    rc_head *cur;           /* the member whose references are followed */
    rc__graph_err e;        /* why the copy stops, or RC_OK */
} copier;

/* ---- gather ---- */

static const char *refusal(const rc_head *o)
{
    const rc_type *t = o->type;
    if (t->rc_kind == RC_KIND_WEAKREF) {
        const struct rc_weakref_obj *w = (const void *)(o + 1);
        if (w->flags || w->held != RC_EMPTY)
            return "is a weak reference with owned data, an extension or a container's key "
                   "(rc_copy copies plain weak references only)";
        if (!w->referent) return "is a dead weak reference";
    }
    if (t->rc_kind != RC_KIND_USER) return NULL;
    if (t->flags & RC_TYPE_NOCOPY) return "cannot be copied (its type says RC_TYPE_NOCOPY)";
    if (!t->copy && t->traverse) return "has a traverse callback and no copy hook";
    if (!t->copy && t->destroy) return "has a destroy callback and no copy hook";
    return NULL;
}

/* The member number (index + 1) of `o`, 0 when o is no member: the mark
 * in its header, or, for a frozen region, which no thread may write to,
 * the index map. */
static inline size_t member_of(const copier *cp, const rc_head *o)
{
    if (cp->frozen) {
        const size_t *v = rc__pmap_get(&cp->index, o);
        return v ? *v : 0;
    }
    return rc__page_of(o)->heap == cp->src && o->refcnt == 0 ? o->gc : 0;
}

/* `o` (of the source heap, not a member) becomes the next member. */
static void join(copier *cp, rc_head *o)
{
    const char *why = refusal(o);
    if (why) {
        rc__graph_stop(&cp->e, RC_EINVAL,
                       "the %s at %p %s", rc__type_name(o), (void *)(o + 1), why);
        return;
    }
    if (cp->n == RC_GRAPH_MAX_MEMBERS) {
        rc__graph_stop(&cp->e, RC_ERANGE, "more than %zu objects", RC_GRAPH_MAX_MEMBERS);
        return;
    }
    if (!rc__mem_grow(cp->tab, (void **)&cp->m, &cp->cap, cp->n + 1, sizeof(member))) {
        rc__graph_stop(&cp->e, RC_ENOMEM, "out of memory for the table of %zu objects", cp->n + 1);
        return;
    }
    if (cp->frozen) {
        size_t *v = rc__pmap_put(&cp->index, o, NULL);
        if (!v) {
            rc__graph_stop(&cp->e, RC_ENOMEM,
                           "out of memory for the index of %zu objects", cp->n + 1);
            return;
        }
        cp->m[cp->n++] = (member){o, NULL, o->refcnt, o->gc};
        *v = cp->n;
        return;
    }
    cp->m[cp->n++] = (member){o, NULL, o->refcnt, o->gc};
    o->refcnt = 0;
    o->gc = (uint32_t)cp->n;
}

static void gather_ref(rc_head *c, void *ctx)
{
    copier *cp = ctx;
    if (cp->e.code) return;
    if (cp->frozen ? member_of(cp, c) != 0 : c->refcnt == 0) return;   /* a member already */
    if (unlikely(rc__page_of(c)->heap != cp->src)) {
        /* Into a region dst holds: the copy refers to the same object. */
        if (rc__held_region_of(cp->dst, c)) return;
        char why[200];
        rc__describe_foreign(why, sizeof why, cp->cur, c);
        rc__graph_stop(&cp->e, RC_EINVAL, "%s", why);
        return;
    }
    join(cp, c);
}

/* A weak reference is copied as one to the copy of its referent, which
 * must be in the graph (a strong path from the root reaches it). */
static bool in_graph(const copier *cp, const rc_head *o)
{
    return member_of(cp, o) != 0;
}

static bool gather(copier *cp, rc_head *root)
{
    join(cp, root);
    for (size_t i = 0; i < cp->n && !cp->e.code; i++) {
        cp->cur = cp->m[i].old;
        rc__foreach_ref(cp->cur, gather_ref, cp);
    }
    for (size_t i = 0; i < cp->n && !cp->e.code; i++) {
        const rc_head *o = cp->m[i].old;
        if (o->type->rc_kind != RC_KIND_WEAKREF) continue;
        const rc_head *r = ((const struct rc_weakref_obj *)(o + 1))->referent;
        if (!in_graph(cp, r))
            rc__graph_stop(&cp->e, RC_EINVAL,
                           "the weak reference at %p points to the %s at %p, which the "
                 "graph does not reach (it would have no copy to point to)", (void *)(o + 1),
                 rc__type_name(r), (void *)(r + 1));
    }
    return !cp->e.code;
}

static void restore(copier *cp)
{
    if (cp->frozen) return;   /* nothing was marked */
    for (size_t i = 0; i < cp->n; i++) {
        cp->m[i].old->refcnt = cp->m[i].refcnt;
        cp->m[i].old->gc = cp->m[i].gc;
    }
}

/* ---- create ---- */

static void **slots_of(void *user, const rc_type *t)
{
    return (void **)((char *)user + t->slots_offset);
}

/* A user object's copy: the same block size; its bytes unless the type has
 * a copy hook (then zero-filled, for the hook); its slots cleared. */
static void *create_user(copier *cp, const rc_head *o)
{
    const rc_type *t = o->type;
    size_t bytes = rc__block_bytes(rc__page_of(o)) - sizeof(rc_head);
    void *c = rc_new_var(cp->dst, t, bytes > t->size ? bytes - t->size : 0);
    if (!c) return NULL;
    if (!t->copy) {
        if (cp->src->watch) rc__mem_open(o + 1, bytes);   /* the block's slack */
        memcpy(c, o + 1, bytes);
        if (t->nslots) memset(slots_of(c, t), 0, t->nslots * sizeof(void *));
    }
    return c;
}

static void *create(copier *cp, const rc_head *o)
{
    const void *u = o + 1;
    switch (o->type->rc_kind) {
    case RC_KIND_STR: {
        const rc_str_obj *s = u;
        return rc_str_new(cp->dst, s->data, s->len);
    }
    case RC_KIND_INT: {
        rc_val v = rc_int_new(cp->dst, ((const rc_int_obj *)u)->value);
        return rc_is_obj(v) ? rc_as_obj(v) : NULL;
    }
    case RC_KIND_LIST: {
        const rc_list_obj *l = u;
        return rc_list_new(cp->dst, l->len);
    }
    case RC_KIND_TUPLE: return rc_tuple_new(cp->dst, ((const rc_tuple_obj *)u)->len, NULL);
    case RC_KIND_DICT: return rc_dict_new(cp->dst);
    default: return create_user(cp, o);
    }
}

/* Weak references last: each points to the copy of its referent. */
static void *create_weakref(copier *cp, const rc_head *o)
{
    const struct rc_weakref_obj *w = (const void *)(o + 1);
    return rc_weakref_new(cp->m[member_of(cp, w->referent) - 1].copy, w->cb, w->data);
}

static bool create_all(copier *cp)
{
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < cp->n; i++) {
            const rc_head *o = cp->m[i].old;
            if ((o->type->rc_kind == RC_KIND_WEAKREF) != pass) continue;
            cp->m[i].copy = pass ? create_weakref(cp, o) : create(cp, o);
            if (!cp->m[i].copy) {
                rc__graph_stop(&cp->e, RC_ENOMEM,
                               "out of memory in the destination heap (object %zu of %zu, "
                     "a %s)", i + 1, cp->n, rc__type_name(o));
                return false;
            }
        }
    }
    return true;
}

/* ---- link ---- */

/* The copy of `obj`, a member (borrowed, its header marked: refcnt 0); an
 * object of a region dst holds (gather_ref let it pass) is not a member and
 * is itself. */
static inline void *copy_of(const copier *cp, const void *obj)
{
    size_t k = member_of(cp, RC_HEAD(obj));
    if (unlikely(!k)) return (void *)obj;
    return cp->m[k - 1].copy;
}

static inline rc_val map_val(const copier *cp, rc_val v)
{
    return rc_is_obj(v) ? rc_obj(copy_of(cp, rc_as_obj(v))) : v;
}

/* The map a copy hook is given: a new reference to the copy of `ref`. */
static void *hook_map(const void *ref, void *arg)
{
    copier *cp = arg;
    if (!ref) return NULL;
    const rc_head *h = RC_HEAD(ref);
    if (rc__page_of(h)->heap != cp->src && rc__held_region_of(cp->dst, h))
        return (void *)ref;   /* immortal: no count to take */
    if (!member_of(cp, h)) {
        rc__graph_stop(&cp->e, RC_EINVAL,
                       "the copy hook of the %s at %p maps %p, which its traverse does "
             "not report", rc__type_name(cp->cur), (void *)(cp->cur + 1), ref);
        return NULL;
    }
    void *c = copy_of(cp, ref);
    rc_incref(c);
    return c;
}

/* Slots, list and tuple items: stores within room made by create. */
static void link_plain(copier *cp, const member *e)
{
    const rc_head *o = e->old;
    const rc_type *t = o->type;
    switch (t->rc_kind) {
    case RC_KIND_LIST: {
        const rc_list_obj *l = (const void *)(o + 1);
        for (size_t k = 0; k < l->len; k++) rc_list_append(e->copy, map_val(cp, l->items[k]));
        break;
    }
    case RC_KIND_TUPLE: {
        const rc_tuple_obj *tu = (const void *)(o + 1);
        for (size_t k = 0; k < tu->len; k++) {
            rc_val v = tu->items[k];
            if (rc_is_obj(v)) rc_tuple_set(e->copy, k, map_val(cp, v));
            else if (v != RC_NONE) rc_tuple_set(e->copy, k, v);
        }
        break;
    }
    case RC_KIND_USER:
        if (t->nslots && !t->traverse) {
            void *const *from = slots_of(RC__USER(o), t);
            void **to = slots_of(e->copy, t);
            for (uint32_t k = 0; k < t->nslots; k++) {
                if (!from[k]) continue;
                to[k] = copy_of(cp, from[k]);
                rc_incref(to[k]);
            }
        }
        break;
    default:
        break;
    }
}

static bool link_hook(copier *cp, const member *e)
{
    cp->cur = e->old;
    int rc = e->old->type->copy(e->copy, e->old + 1, hook_map, cp);
    if (cp->e.code) return false;
    if (rc) {
        rc__graph_stop(&cp->e, rc == RC_ENOMEM ? RC_ENOMEM : RC_EINVAL,
             "the copy hook of the %s at %p failed (%d)", rc__type_name(e->old),
             (void *)(e->old + 1), rc);
        return false;
    }
    return true;
}

static bool link_dict(copier *cp, const member *e)
{
    const rc_dict_obj *d = (const void *)(e->old + 1);
    for (size_t k = 0; k < d->nentries; k++) {
        const rc_dict_entry *de = &d->entries[k];
        if (de->key == RC_EMPTY) continue;
        if (rc_dict_set(e->copy, map_val(cp, de->key), map_val(cp, de->value)) != 0) {
            rc__graph_stop(&cp->e, RC_ENOMEM,
                           "out of memory in the destination heap for a dict of %zu "
                 "entries", d->len);
            return false;
        }
    }
    return true;
}

static bool link_all(copier *cp)
{
    for (size_t i = 0; i < cp->n; i++) link_plain(cp, &cp->m[i]);
    for (size_t i = 0; i < cp->n; i++)
        if (cp->m[i].old->type->copy && !link_hook(cp, &cp->m[i])) return false;
    for (size_t i = 0; i < cp->n; i++)
        if (cp->m[i].old->type->rc_kind == RC_KIND_DICT && !link_dict(cp, &cp->m[i]))
            return false;
    return true;
}

/* ---- failure: empty every copy, then drop the table's references ---- */

static void empty(copier *cp, const member *e)
{
    void *c = e->copy;
    const rc_type *t = e->old->type;
    switch (t->rc_kind) {
    case RC_KIND_LIST: rc_list_clear(c); break;
    case RC_KIND_DICT: rc_dict_clear(c); break;
    case RC_KIND_TUPLE: {
        size_t len = rc_tuple_len(c);
        for (size_t k = 0; k < len; k++) rc_tuple_set(c, k, RC_NONE);
        break;
    }
    case RC_KIND_USER:
        if (t->nslots && !t->traverse) {
            void **s = slots_of(c, t);
            for (uint32_t k = 0; k < t->nslots; k++) {
                void *x = s[k];
                s[k] = NULL;
                if (x) rc_decref(x);
            }
        }
        if (t->traverse) t->clear(c);
        break;
    default:
        break;
    }
    (void)cp;
}

static void discard(copier *cp)
{
    for (size_t i = 0; i < cp->n; i++)
        if (cp->m[i].copy) empty(cp, &cp->m[i]);
    /* weak references first: a referent dying before would call back */
    for (int weak = 1; weak >= 0; weak--)
        for (size_t i = 0; i < cp->n; i++)
            if (cp->m[i].copy && (cp->m[i].old->type->rc_kind == RC_KIND_WEAKREF) == weak)
                rc_decref(cp->m[i].copy);
}

/* ---- the call ---- */

static void *fail(rc_heap *src, rc_heap *dst, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static void *fail(rc_heap *src, rc_heap *dst, int code, const char *fmt, ...)
{
    char buf[260];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (src) rc__fail(src, code, "%s", buf);
    if (dst && dst != src) rc__fail(dst, code, "%s", buf);
    return NULL;
}

void *rc_copy(rc_heap *dst, const void *obj)
{
    if (!obj) {
        RC__HEAP_CHECK(dst, "rc_copy");
        return fail(NULL, dst, RC_EINVAL, "rc_copy: obj is NULL");
    }
    RC__CHECK(obj, "rc_copy");
    rc_head *root = RC_HEAD(obj);
    rc_heap *src = rc_heap_of(obj);
    /* A frozen region is read by other threads meanwhile: nothing of it is
     * written, not even an error message (the error goes to dst alone). */
    bool frozen = (rc__page_of(root)->flags & RC_PAGE_REGION) != 0;
    rc_heap *src_err = frozen ? NULL : src;
    if (!dst) return fail(src_err, NULL, RC_EINVAL, "rc_copy: dst is NULL");
    RC__HEAP_CHECK(dst, "rc_copy");
    if (dst == src)
        return fail(src_err, dst, RC_EINVAL, "rc_copy: the %s at %p is in the destination heap "
                    "(rc_copy copies into another heap)", rc__type_name(root), obj);
    const char *doing = rc__graph_busy(src) ? rc__graph_busy(src) : rc__graph_busy(dst);
    if (doing)
        return fail(src_err, dst, RC_EBUSY, "rc_copy: refused while the %s heap is %s",
                    rc__graph_busy(src) ? "source" : "destination", doing);
    copier cp = {.src = src, .dst = dst, .tab = frozen ? dst : src, .frozen = frozen};
    rc__pmap_init(&cp.index, rc__mem_heap(dst), sizeof(size_t));
    bool enabled = dst->enabled;   /* no collection, so no user code, in dst meanwhile */
    dst->enabled = false;
    rc__young_limit_update(dst);
    void *copy = NULL;
    cp.m = rc__table_take(cp.tab, sizeof(member), &cp.cap);
    if (gather(&cp, root) && create_all(&cp) && link_all(&cp)) {
        copy = cp.m[0].copy;
        for (size_t i = 1; i < cp.n; i++) rc_decref(cp.m[i].copy);
    } else {
        discard(&cp);
    }
    restore(&cp);
    rc__pmap_free(&cp.index);
    dst->enabled = enabled;
    rc__young_limit_update(dst);
    if (!copy) fail(src_err, dst, cp.e.code, "rc_copy: %s", cp.e.why);
    /* Kept for the next copy; a failed one leaves the heaps as they were. */
    if (copy) rc__table_keep(cp.tab, cp.m, cp.cap * sizeof(member));
    else rc__mem_free(rc__mem_heap(cp.tab), cp.m, cp.cap * sizeof(member));
    return copy;
}
