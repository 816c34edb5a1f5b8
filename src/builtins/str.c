/*
 * str.c -- the built-in str: immutable bytes in one block.
 *
 * A str is an rc_str_obj (length, cached hash, bytes, NUL) allocated with
 * rc_new_var in one piece. It holds no references, so its type has no
 * traverse and no clear: strs are never tracked nor scanned by the collector
 * and die by refcount alone.
 *
 * The hash is computed the first time it is asked for and kept in the
 * object; 0 means "not computed yet", so a computed hash is never 0.
 */
#include "builtins/builtins.h"

const rc_type rc_str_type = {
    .name = "str",
    .size = sizeof(rc_str_obj),
    .rc_kind = RC_KIND_STR,
};

/* ---- hashing ----
 *
 * rc__str_hash_bytes (builtins/builtins.h, util/hash.c): SipHash-1-3 under the
 * process's random key, so keys that collide cannot be computed. */

/* ---- creation ---- */

rc_str *rc_str_new(rc_heap *heap, const char *bytes, size_t len)
{
    if (!heap) return NULL;
    if (!bytes && len)
        return rc__fail(heap, RC_EINVAL, "rc_str_new: bytes is NULL but len is %zu", len);
    if (len >= SIZE_MAX / 2)
        return rc__fail(heap, RC_EINVAL, "rc_str_new: length %zu is too large", len);
    /* rc_new_var zero-fills, so data[len] is already the NUL. */
    rc_str_obj *s = rc_new_var(heap, &rc_str_type, len + 1);
    if (!s) return NULL;   /* rc_new_var recorded why */
    s->len = len;
    if (len) memcpy(s->data, bytes, len);
    return s;
}

rc_str *rc_str_from_cstr(rc_heap *heap, const char *s)
{
    if (!heap) return NULL;
    if (!s) return rc__fail(heap, RC_EINVAL, "rc_str_from_cstr: string is NULL");
    return rc_str_new(heap, s, strlen(s));
}

/* ---- reading ---- */

size_t rc_str_len(const rc_str *s)
{
    if (!rc__is_a(s, &rc_str_type, "rc_str_len")) return 0;
    return s->len;
}

const char *rc_str_data(const rc_str *s)
{
    if (!rc__is_a(s, &rc_str_type, "rc_str_data")) return NULL;
    return s->data;
}

/* The cached hash of a str already known to be one. */
static inline uint64_t str_hash(const rc_str_obj *s)
{
    uint64_t h = s->hash;
    if (!h) {
        h = rc__str_hash_bytes(s->data, s->len);
        /* The object is never really const: only this cache is ever written. */
        ((rc_str_obj *)s)->hash = h;
    }
    return h;
}

uint64_t rc_str_hash(const rc_str *s)
{
    if (!rc__is_a(s, &rc_str_type, "rc_str_hash")) return 0;
    return str_hash(s);
}

int rc_str_eq(const rc_str *a, const rc_str *b)
{
    if (!rc__is_a(a, &rc_str_type, "rc_str_eq") || !rc__is_a(b, &rc_str_type, "rc_str_eq"))
        return 0;
    if (a == b) return 1;
    if (a->len != b->len) return 0;
    if (a->hash && b->hash && a->hash != b->hash) return 0;
    return memcmp(a->data, b->data, a->len) == 0;
}

int rc_str_cmp(const rc_str *a, const rc_str *b)
{
    if (!rc__is_a(a, &rc_str_type, "rc_str_cmp") || !rc__is_a(b, &rc_str_type, "rc_str_cmp"))
        return 0;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = n ? memcmp(a->data, b->data, n) : 0;
    if (c) return c < 0 ? -1 : 1;
    return a->len < b->len ? -1 : a->len > b->len ? 1 : 0;
}
