/*
 * str.c -- the built-in str: immutable bytes in one block.
 *
 * A str is an rc_str_obj (a 32-bit length, the bytes, a NUL, and for strs
 * of RC__STR_HASHED bytes or more a cached hash; core/objects.h) allocated
 * with rc_new_var in one piece. It holds no references, so its type has no
 * traverse and no clear: strs are never tracked nor scanned by the
 * collector and die by refcount alone.
 *
 * The hash of a long str is computed the first time it is asked for and
 * kept in the object; 0 means "not computed yet", so a computed hash is
 * never 0. A short str is hashed again each time (rc__str_hash,
 * builtins.h): at most RC__STR_HASHED bytes of SipHash, cheaper than 8
 * bytes more in every short str.
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
    if (len > RC__STR_MAX)
        return rc__fail(heap, RC_EINVAL, "rc_str_new: length %zu is too large (at most %u bytes)",
                        len, RC__STR_MAX);
    /* rc_new_var zero-fills, so data[len] is already the NUL and a long
     * str's cached hash is 0, "not computed yet". */
    rc_str_obj *s = rc_new_var(heap, &rc_str_type, rc__str_size(len) - sizeof(rc_str_obj));
    if (!s) return NULL;   /* rc_new_var recorded why */
    s->len = (uint32_t)len;
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

uint64_t rc_str_hash(const rc_str *s)
{
    if (!rc__is_a(s, &rc_str_type, "rc_str_hash")) return 0;
    return rc__str_hash(s);
}

int rc_str_eq(const rc_str *a, const rc_str *b)
{
    if (!rc__is_a(a, &rc_str_type, "rc_str_eq") || !rc__is_a(b, &rc_str_type, "rc_str_eq"))
        return 0;
    if (a == b) return 1;
    if (a->len != b->len) return 0;
    if (rc__str_hashes_differ(a, b)) return 0;
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
