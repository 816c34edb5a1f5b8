/*
 * list.c -- the built-in list: a growable array of rc_val.
 *
 * An rc_list_obj is three words (len, cap, items); the items live in a
 * separate buffer from rc__buf_realloc so the list can grow without moving
 * the object. Invariants:
 *   - items[0..len-1] are the values, each holding one reference when it is
 *     an object; items[len..cap-1] are garbage and never read;
 *   - items == NULL exactly when cap == 0 (a new, cleared or half-built list:
 *     rc_new zero-fills, so every state the collector can see is valid);
 *   - the buffer is cap * sizeof(rc_val) bytes, counted in buffer_bytes.
 * The capacity doubles when full, so appending is amortised O(1); a big
 * buffer is a mapping of its own, moved with mremap (core/buffer.c), so
 * capacity never written costs no memory.
 *
 * Every change leaves the list consistent BEFORE it drops a reference:
 * rc_val_decref may free an object whose death runs code (a finalizer, a
 * destroy hook) that looks at this list.
 */
#include "builtins/builtins.h"

#define LIST_MIN_CAP 4
#define LIST_MAX_CAP (SIZE_MAX / 2 / sizeof(rc_val))

/* ---- the type ----
 * No traverse callback: the library follows a list's items itself, by rc_kind
 * (util/edges.h). */

/* Detach the buffer, then drop the references, then free it: the list is
 * already empty while items die, and nothing touches the list object after
 * the first decref (an item's death may end the list's life too).
 * Idempotent; fine on a zero-filled list. */
static void list_clear(void *obj)
{
    rc_list_obj *l = obj;
    rc_val *items = l->items;
    size_t len = l->len, cap = l->cap;
    bool objs = l->objs;
    if (!items) return;
    rc_heap *h = rc_heap_of(obj);
    l->items = NULL;
    l->len = l->cap = 0;
    l->objs = false;
    if (objs)
        for (size_t i = 0; i < len; i++) rc_val_decref(items[i]);
    rc__buf_free(h, items, cap * sizeof(rc_val));
}

/* Heap teardown calls clear first; this only catches a buffer that survived
 * it, and touches no reference. */
static void list_destroy(void *obj)
{
    rc_list_obj *l = obj;
    if (l->items) rc__buf_free(rc_heap_of(obj), l->items, l->cap * sizeof(rc_val));
    l->items = NULL;
    l->len = l->cap = 0;
}

const rc_type rc_list_type = {
    .name = "list",
    .size = sizeof(rc_list_obj),
    .clear = list_clear,
    .destroy = list_destroy,
    .rc_kind = RC_KIND_LIST,
};

/* ---- capacity ---- */

/* Resize the buffer to `cap` items (0 < cap, len <= cap <= LIST_MAX_CAP).
 * false when the allocator fails; the list is then unchanged. */
static bool set_capacity(rc_heap *h, rc_list_obj *l, size_t cap)
{
    rc_val *n = rc__buf_realloc(h, l->items, l->cap * sizeof(rc_val), cap * sizeof(rc_val));
    if (!n) return false;
    l->items = n;
    l->cap = cap;
    return true;
}

/* Room for one more item, doubling the capacity when full. false with
 * RC_ENOMEM recorded when it cannot grow; the list is then unchanged. */
static RC_NOINLINE bool grow(rc_list_obj *l, const char *call)
{
    rc_heap *h = rc_heap_of(l);
    size_t cap = l->cap < LIST_MIN_CAP ? LIST_MIN_CAP : l->cap * 2;
    if (cap > LIST_MAX_CAP) cap = LIST_MAX_CAP;
    if (cap <= l->len) {
        rc__fail(h, RC_ENOMEM, "%s: a list cannot hold more than %zu items", call, l->len);
        return false;
    }
    if (!set_capacity(h, l, cap)) {
        rc__fail(h, RC_ENOMEM, "%s: out of memory growing a list of %zu items to %zu", call,
                 l->len, cap);
        return false;
    }
    return true;
}

/* A long list faults its buffer in ahead of the appends, a step at a time:
 * one system call per step instead of one page fault per 4 KiB. */
#define LIST_COMMIT_STEP (RC_COMMIT_AHEAD / sizeof(rc_val))

static RC_NOINLINE void commit_ahead(rc_list_obj *l)
{
    size_t end = l->len + LIST_COMMIT_STEP < l->cap ? l->len + LIST_COMMIT_STEP : l->cap;
    rc__commit(rc_heap_of(l), l->items + l->len, (end - l->len) * sizeof(rc_val));
}

static inline bool reserve_one(rc_list_obj *l, const char *call)
{
    if (unlikely(l->len >= l->cap) && !grow(l, call)) return false;
    if (unlikely((l->len & (LIST_COMMIT_STEP - 1)) == 0) && l->len) commit_ahead(l);
    return true;
}

/* After a removal: halve the buffer once it is under a quarter full. A failed
 * shrink is harmless (the list keeps its larger buffer) and records nothing. */
static void maybe_shrink(rc_list_obj *l)
{
    if (l->cap > 16 && l->len < l->cap / 4) set_capacity(rc_heap_of(l), l, l->cap / 2);
}

/* Python's index rule: negative counts from the end. */
static inline ptrdiff_t from_end(ptrdiff_t i, size_t len)
{
    return i < 0 ? i + (ptrdiff_t)len : i;
}

/* ---- the API ---- */

rc_list *rc_list_new(rc_heap *heap, size_t capacity_hint)
{
    if (!heap) return NULL;
    if (capacity_hint > LIST_MAX_CAP)
        return rc__fail(heap, RC_ENOMEM, "rc_list_new: capacity %zu is too large", capacity_hint);
    rc_list_obj *l = rc_new(heap, &rc_list_type);
    if (!l) return NULL;
    if (capacity_hint && !set_capacity(heap, l, capacity_hint)) {
        rc_decref(l);
        return rc__fail(heap, RC_ENOMEM, "rc_list_new: out of memory for %zu items", capacity_hint);
    }
    return l;
}

rc_list *rc__list_new_quiet(rc_heap *heap, size_t capacity_hint)
{
    if (!heap) return NULL;
    bool enabled = heap->enabled;   /* the collector's hook returns at once */
    heap->enabled = false;
    rc_list *l = rc_list_new(heap, capacity_hint);
    heap->enabled = enabled;
    return l;
}

size_t rc_list_len(const rc_list *list)
{
    if (!rc__is_a(list, &rc_list_type, "rc_list_len")) return 0;
    return list->len;
}

rc_val rc_list_get(const rc_list *list, size_t i)
{
    if (!rc__is_a(list, &rc_list_type, "rc_list_get")) return RC_EMPTY;
    if (unlikely(i >= list->len)) {
        rc__fail(rc_heap_of(list), RC_ERANGE, "rc_list_get: index %zu out of range (len %zu)", i,
                 list->len);
        return RC_EMPTY;
    }
    return list->items[i];
}

int rc_list_set(rc_list *list, size_t i, rc_val v)
{
    if (!rc__writable(list, &rc_list_type, "rc_list_set")) return -1;
    if (!rc__storable(list, v, "rc_list_set")) return -1;
    if (unlikely(i >= list->len)) {
        rc__fail(rc_heap_of(list), RC_ERANGE, "rc_list_set: index %zu out of range (len %zu)", i, list->len);
        return -1;
    }
    rc_val old = list->items[i];
    rc_val_incref(v);   /* first: v may be the old item's only other holder */
    list->items[i] = v;
    list->objs |= rc_is_obj(v);
    rc_val_decref(old);
    return 0;
}

int rc_list_append(rc_list *list, rc_val v)
{
    if (!rc__writable(list, &rc_list_type, "rc_list_append")) return -1;
    if (!rc__storable(list, v, "rc_list_append")) return -1;
    if (unlikely(!reserve_one(list, "rc_list_append"))) return -1;
    rc_val_incref(v);
    list->items[list->len++] = v;
    list->objs |= rc_is_obj(v);
    return 0;
}

int rc_list_insert(rc_list *list, ptrdiff_t i, rc_val v)
{
    if (!rc__writable(list, &rc_list_type, "rc_list_insert")) return -1;
    if (!rc__storable(list, v, "rc_list_insert")) return -1;
    size_t len = list->len;
    ptrdiff_t at = from_end(i, len);
    size_t pos = at < 0 ? 0 : (size_t)at > len ? len : (size_t)at;
    if (!reserve_one(list, "rc_list_insert")) return -1;
    memmove(list->items + pos + 1, list->items + pos, (len - pos) * sizeof(rc_val));
    rc_val_incref(v);
    list->items[pos] = v;
    list->len = len + 1;
    list->objs |= rc_is_obj(v);
    return 0;
}

int rc_list_pop(rc_list *list, ptrdiff_t i, rc_val *out)
{
    if (!rc__writable(list, &rc_list_type, "rc_list_pop")) return -1;
    size_t len = list->len;
    ptrdiff_t at = from_end(i, len);
    if (unlikely(at < 0 || (size_t)at >= len)) {
        rc__fail(rc_heap_of(list), RC_ERANGE, "rc_list_pop: index %td out of range (len %zu)", i,
                 len);
        return -1;
    }
    size_t pos = (size_t)at;
    rc_val v = list->items[pos];
    memmove(list->items + pos, list->items + pos + 1, (len - pos - 1) * sizeof(rc_val));
    list->len = len - 1;
    maybe_shrink(list);
    if (out)
        *out = v;   /* the list's reference becomes the caller's */
    else
        rc_val_decref(v);
    return 0;
}

void rc_list_clear(rc_list *list)
{
    if (!rc__writable(list, &rc_list_type, "rc_list_clear")) return;
    list_clear(list);
}

const rc_val *rc_list_items(const rc_list *list, size_t *len)
{
    if (!rc__is_a(list, &rc_list_type, "rc_list_items")) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = list->len;
    return list->items;
}
