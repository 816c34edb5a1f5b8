/*
 * object.c -- object life: creation, the death of an object whose count hits
 * zero, releasing what it holds, and the candidate buffer.
 *
 * Death never recurses on the C stack: rc__dealloc finalizes the object,
 * unlinks it from the collector's books and pushes it on heap->pending; the
 * first (outermost) call then frees pending objects one by one, and objects
 * their release drops to zero join the list instead of being freed inside.
 * While an object waits on the list its first header word links the list.
 */
#include "objects.h"

#include <stdarg.h>
#include <stdlib.h>
#include <sys/mman.h>

void rc__visit_adapter(void *obj, void *arg)
{
    rc__visit_ctx *vc = arg;
    if (obj) vc->fn(RC_HEAD(obj), vc->ctx);
}

static RC_NOINLINE void *new_failed(rc_heap *h, const rc_type *t, size_t size, const char *fn)
{
    if (!t) return rc__fail(h, RC_EINVAL, "%s: type is NULL", fn);
    const char *name = t->name ? t->name : "?";
    if (t->rc_kind == RC_KIND_USER && t->traverse && !t->clear)
        return rc__fail(h, RC_EINVAL, "%s: type '%s' has traverse but no clear", fn, name);
    if (size > SIZE_MAX / 2)
        return rc__fail(h, RC_EINVAL, "%s: size %zu of a '%s' is too large", fn, size, name);
    return rc__fail(h, RC_ENOMEM, "%s: out of memory for a '%s' of %zu bytes", fn, name, size);
}

RC_INLINE void *new_object(rc_heap *h, const rc_type *t, size_t size, const char *fn,
                           const char *file, int line)
{
    if (unlikely(!h)) return NULL;
    if (unlikely(!t || size > SIZE_MAX / 2 ||
                 (t->rc_kind == RC_KIND_USER && t->traverse && !t->clear)))
        return new_failed(h, t, size, fn);
    bool tracked = rc__type_tracked(t);
    if (tracked && unlikely(h->count[0] >= h->young_limit ||
                            h->candidates.len >= h->candidate_limit))
        rc__maybe_collect(h);
    size_t bytes = sizeof(rc_head) + size;
    rc_head *b = rc__alloc_fast(h, bytes, tracked);
    if (unlikely(!b)) return new_failed(h, t, size, fn);
    b->refcnt = 1;
    b->gc = tracked ? RC__TRACKED : 0;
    b->type = t;
    /* Zero the user part in words: blocks are multiples of 8 bytes. */
    if (bytes <= 128) {
        uint64_t *w = (uint64_t *)(b + 1);
        for (size_t i = 0, n = (size + 7) / 8; i < n; i++) w[i] = 0;
    } else {
        memset(b + 1, 0, size);
    }
    if (tracked) {
        h->count[0]++;
        h->gen_objects[0]++;
    }
    if (unlikely(h->trace != NULL)) rc__trace_new(h, b, file, line);
    return b + 1;
}

/* The public names may be macros (RC_TRACE_SITES): define the functions. */
#undef rc_new
#undef rc_new_var

void *rc_new(rc_heap *h, const rc_type *t)
{
    return new_object(h, t, t ? t->size : 0, "rc_new", NULL, 0);
}

void *rc_new_at(rc_heap *h, const rc_type *t, const char *file, int line)
{
    return new_object(h, t, t ? t->size : 0, "rc_new", file, line);
}

void *rc_new_var_at(rc_heap *h, const rc_type *t, size_t extra, const char *file, int line)
{
    if (t && extra > SIZE_MAX / 2 - t->size)
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
    h->candidates.items[rc__field(o)] = NULL;
    h->candidates_live--;
    o->gc &= ~RC__BUFFERED;
    rc__set_field(o, 0);
}

/* ---- releasing references ---- */

static void decref_child(rc_head *c, void *ctx)
{
    (void)ctx;
    rc_decref(c + 1);
}

void rc__release_refs(rc_head *o)
{
    const rc_type *t = o->type;
    void *user = o + 1;
    if (t->clear) {
        t->clear(user);
    } else if (t->rc_kind == RC_KIND_USER && t->nslots) {
        void **s = (void **)((char *)user + t->slots_offset);
        for (uint32_t i = 0; i < t->nslots; i++) {
            void *c = s[i];
            if (c) {
                s[i] = NULL;
                rc_decref(c);
            }
        }
    } else if (t->traverse) {
        rc__visit_ctx vc = {decref_child, NULL};
        t->traverse(user, rc__visit_adapter, &vc);
    }
}

/* ---- death ---- */

/* Take `o` off the collector's books before its memory goes. */
RC_INLINE void unlink_object(rc_heap *h, rc_head *o)
{
    if (o->gc & RC__TRACKED) {
        if (unlikely(o->gc & (RC__BUFFERED | RC__INSET))) {
            if (o->gc & RC__BUFFERED) rc__unbuffer(h, o);
            if (o->gc & RC__INSET) h->gc_freed++;   /* garbage a collection is freeing */
        }
        h->gen_objects[rc__gen(o)]--;
        h->count[0] -= h->count[0] > 0;
    }
    if (unlikely(o->gc & RC__WEAKREFS)) rc__weakref_clear_dead(h, o);
    if (unlikely(h->trace != NULL)) rc__trace_free(h, o);
}

static inline void pending_push(rc_heap *h, rc_head *o)
{
    rc_head *next = h->pending;
    memcpy(o, &next, sizeof next);
    h->pending = o;
}

static inline rc_head *pending_pop(rc_heap *h)
{
    rc_head *o = h->pending, *next;
    memcpy(&next, o, sizeof next);
    h->pending = next;
    return o;
}

/* Release what a dying object holds: slots inline, else rc__release_refs. */
RC_INLINE void release_dying(rc_head *o)
{
    const rc_type *t = o->type;
    if (t->rc_kind == RC_KIND_USER && !t->clear && !t->traverse) {
        void **s = (void **)((char *)(o + 1) + t->slots_offset);
        for (uint32_t i = 0; i < t->nslots; i++)
            if (s[i]) rc_decref(s[i]);
    } else {
        rc__release_refs(o);
    }
}

void rc__dealloc(rc_head *o)
{
    rc_heap *h = rc__page_of(o)->heap;
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
    if (h->freeing) {   /* an outer call is freeing: join its list */
        pending_push(h, o);
        return;
    }

    h->freeing = true;   /* also keeps collections from starting (see rc__maybe_collect) */
    for (;;) {
        t = o->type;
        release_dying(o);
        if (unlikely(t->destroy != NULL)) t->destroy(o + 1);
        rc__free_fast(h, o);
        if (!h->pending) break;
        o = pending_pop(h);
    }
    h->freeing = false;
    if (unlikely(h->dirty_bytes)) rc__alloc_purge_soon(h);
}

/* ---- debug checks ---- */

/* Always built, so that a program (or a test) compiled with RC_DEBUG gets the
 * checks in its inline calls whatever the library's build. */
void rc__check(const void *obj, const char *op)
{
    if (!obj) {
        fprintf(stderr, "recycle: %s(NULL)\n", op);
        abort();
    }
    const rc_head *o = RC_HEAD(obj);
    rc_page *pg = rc__page_of(o);
    /* Is there memory at the page start at all? msync says ENOMEM if not. */
    if (msync(pg, 4096, MS_ASYNC) != 0 || pg->magic != RC_PAGE_MAGIC) {
        fprintf(stderr, "recycle: %s(%p): not an object of any recycle heap\n", op, obj);
        abort();
    }
    if (!(pg->flags & RC_PAGE_LARGE)) {
        size_t off = (size_t)((const char *)o - rc__page_first(pg));
        if ((const char *)o < rc__page_first(pg) || off % pg->block_size != 0 ||
            (const char *)o >= pg->bump) {
            fprintf(stderr, "recycle: %s(%p): pointer into a page but not to an object\n", op, obj);
            abort();
        }
    }
    if (o->refcnt == 0) {
        fprintf(stderr, "recycle: %s(%p): use of a freed object of type '%s' (refcount already 0: "
                "one rc_decref too many, or use after free)\n", op, obj,
                o->type && o->type->name ? o->type->name : "?");
        abort();
    }
}
