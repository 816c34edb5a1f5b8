/*
 * dict.c -- the built-in dict (an insertion-ordered hash map of rc_val to
 * rc_val), and the value equality and hashing it defines for keys.
 *
 * Two buffers, as in CPython 3.6+:
 *   entries  an array of {hash, key, value} in insertion order. entries[0 ..
 *            nentries-1] have been used; a deleted one has key == RC_EMPTY
 *            (and value RC_EMPTY) and stays until the next rebuild. `cap`
 *            entries are allocated.
 *   index    2^index_bits uint32 slots of open addressing over the entries:
 *            0 = free, IX_DELETED = a tombstone, else entry position + 1 in
 *            the low index_bits bits and, above them, as many of the hash's
 *            top 32 bits as fit (the tag; none at 32 index bits). A probe
 *            reads an entry only when the tag matches, so passing a slot
 *            of another key costs no access to the entries.
 *            Probing is triangular (slot + 1, + 2, + 3, ...), which visits
 *            every slot of a power-of-two table.
 *
 * Invariants:
 *   - every live entry has exactly one index slot naming it, reached from
 *     hash & mask before any free slot; deleted entries have none;
 *   - the slots in use (live + tombstones) never exceed nentries, and
 *     nentries < usable(index_bits) = 2/3 of the slots before each insert, so
 *     a probe always ends at a free slot;
 *   - cap >= usable(index_bits): entries never need to grow by themselves;
 *   - an empty dict (new, cleared or zero-filled) has both buffers NULL and
 *     index_bits 0, so usable() is 0 and the first insert builds the tables.
 * When an insert finds nentries at usable(), rebuild() sizes the tables for
 * 1.5 x the live keys (plus the one being added): pure growth doubles the
 * index, a dict full of tombstones is compacted in place and may shrink.
 * Either way the work is paid for by the inserts since the last rebuild.
 *
 * Entry positions only move in rebuild(), which only inserting a new key (or
 * clearing) runs: deleting keys or replacing values during rc_dict_next is safe.
 */
#include "builtins/builtins.h"

#include <stdio.h>

#define IX_FREE 0u
#define IX_DELETED 0xFFFFFFFFu
#define DICT_MIN_BITS 3
#define DICT_MAX_BITS 32      /* positions + 1 must stay below IX_DELETED */
#define NOT_FOUND SIZE_MAX

/* Entries an index of 2^bits slots may address before it must grow. */
static inline size_t usable(unsigned bits)
{
    return bits ? ((size_t)2 << bits) / 3 : 0;
}

/* The tag bits of `hash` in an index of 2^bits slots, in place (above the
 * position bits). Positions + 1 stay below 2^bits - 1, so no slot in use is
 * IX_FREE or IX_DELETED whatever its tag. */
static inline uint32_t tag_of(uint64_t hash, unsigned bits)
{
    return bits >= 32 ? 0 : (uint32_t)(hash >> 32) << bits;
}

/* The index slot naming entry `pos` of a key with hash `hash`. */
static inline uint32_t slot_of(uint64_t hash, unsigned bits, size_t pos)
{
    return tag_of(hash, bits) | (uint32_t)(pos + 1);
}

static inline size_t index_bytes(unsigned bits)
{
    return bits ? ((size_t)1 << bits) * sizeof(uint32_t) : 0;
}

/* ---- value equality and hashing ---- */

static inline bool is_str_obj(const void *o) { return rc_typeof(o) == &rc_str_type; }
static inline bool is_int_obj(const void *o) { return rc_typeof(o) == &rc_int_type; }

int rc_val_eq(rc_val a, rc_val b)
{
    if (a == b) return 1;
    if (rc_is_obj(a) && rc_is_obj(b)) {
        const rc_str_obj *x = rc_as_obj(a), *y = rc_as_obj(b);
        /* Boxed ints by value (canonical: never equal to an immediate). */
        if (is_int_obj(x) && is_int_obj(y))
            return ((const rc_int_obj *)x)->value == ((const rc_int_obj *)y)->value;
        if (!is_str_obj(x) || !is_str_obj(y) || x->len != y->len) return 0;
        if (rc__str_hashes_differ(x, y)) return 0;
        return memcmp(x->data, y->data, x->len) == 0;
    }
    /* Different bits can still be equal floats: 0.0 and -0.0. Every NaN is
     * the same bits (rc_float), so NaN == NaN was settled above. */
    if (rc_is_float(a) && rc_is_float(b)) return rc_as_float(a) == rc_as_float(b);
    return 0;
}

uint64_t rc_val_hash(rc_val v)
{
    if (rc_is_obj(v)) {
        void *o = rc_as_obj(v);
        if (is_str_obj(o)) return rc__str_hash(o);
        if (is_int_obj(o)) return rc__imm_hash((uint64_t)((const rc_int_obj *)o)->value);
        return rc__imm_hash((uint64_t)(uintptr_t)o);
    }
    if (v == rc_float(-0.0)) v = rc_float(0.0);   /* equal values, equal hashes */
    return rc__imm_hash(v);
}

/* ---- the type ----
 * No traverse callback: the library follows a dict's keys and values itself, by rc_kind
 * (util/edges.h). */

/* Detach both buffers, leave an empty dict, then drop the references and free
 * the entries. Nothing touches the dict after the first decref (its death may
 * follow from an entry's). Idempotent; fine on a zero-filled dict. */
static void dict_clear(void *obj)
{
    rc_dict_obj *d = obj;
    rc_dict_entry *entries = d->entries;
    uint32_t *index = d->index;
    size_t n = d->nentries, cap = d->cap;
    unsigned bits = d->index_bits;
    if (!entries && !index) return;
    rc_heap *h = rc_heap_of(obj);
    memset(d, 0, sizeof *d);
    rc__buf_free(h, index, index_bytes(bits));
    for (size_t i = 0; i < n; i++) {
        if (entries[i].key == RC_EMPTY) continue;
        rc_val_decref(entries[i].key);
        rc_val_decref(entries[i].value);
    }
    rc__buf_free(h, entries, cap * sizeof(rc_dict_entry));
}

/* Heap teardown calls clear first; this only frees buffers that survived it
 * and touches no reference. */
static void dict_destroy(void *obj)
{
    rc__dict_tables_free(rc_heap_of(obj), obj);
}

const rc_type rc_dict_type = {
    .name = "dict",
    .size = sizeof(rc_dict_obj),
    .clear = dict_clear,
    .destroy = dict_destroy,
    .rc_kind = RC_KIND_DICT,
};

/* ---- probing ---- */

/* Whether entry key `k` (whose hash matched) is the key looked for: `key`, or
 * when `s` is not NULL, the str holding s[0..n-1]. */
static inline bool matches(rc_val k, rc_val key, const char *s, size_t n)
{
    if (s) {
        const rc_str_obj *x = rc_as_obj(k);
        return x && is_str_obj(x) && x->len == n && memcmp(x->data, s, n) == 0;
    }
    return k == key || rc_val_eq(k, key);
}

/*
 * The entry position of the key (see matches) with hash `hash`, or NOT_FOUND.
 * *slot (if not NULL) gets the index slot naming the entry, or when missing,
 * the slot an insert should use (the first tombstone on the way, else the
 * free slot that ended the probe). The index must exist.
 */
static size_t find(const rc_dict_obj *d, uint64_t hash, rc_val key, const char *s, size_t n,
                   size_t *slot)
{
    unsigned bits = d->index_bits;
    size_t mask = ((size_t)1 << bits) - 1;
    uint32_t tag = tag_of(hash, bits), posmask = (uint32_t)mask;
    size_t i = (size_t)hash & mask, step = 0, tomb = NOT_FOUND;
    for (;;) {
        uint32_t ix = d->index[i];
        if (ix == IX_FREE) {
            if (slot) *slot = tomb != NOT_FOUND ? tomb : i;
            return NOT_FOUND;
        }
        if (ix == IX_DELETED) {
            if (tomb == NOT_FOUND) tomb = i;
        } else if ((ix & ~posmask) == tag) {
            const rc_dict_entry *e = &d->entries[(ix & posmask) - 1];
            if (e->hash == hash && matches(e->key, key, s, n)) {
                if (slot) *slot = i;
                return (ix & posmask) - 1;
            }
        }
        i = (i + ++step) & mask;
    }
}

/* find() for the str holding s[0..n-1], nothing else asked: the lookup by
 * C string (rc_dict_get_str), its probe loop free of the general case. */
static size_t find_str(const rc_dict_obj *d, uint64_t hash, const char *s, size_t n)
{
    unsigned bits = d->index_bits;
    size_t mask = ((size_t)1 << bits) - 1;
    uint32_t tag = tag_of(hash, bits), posmask = (uint32_t)mask;
    size_t i = (size_t)hash & mask, step = 0;
    for (;;) {
        uint32_t ix = d->index[i];
        if (ix == IX_FREE) return NOT_FOUND;
        if (ix != IX_DELETED && (ix & ~posmask) == tag) {
            size_t pos = (ix & posmask) - 1;
            const rc_dict_entry *e = &d->entries[pos];
            if (e->hash == hash && matches(e->key, RC_EMPTY, s, n)) return pos;
        }
        i = (i + ++step) & mask;
    }
}

/* The first free slot on the probe path of `hash` in an index with no
 * tombstones (a freshly built one). */
static size_t free_slot(const uint32_t *index, unsigned bits, uint64_t hash)
{
    size_t mask = ((size_t)1 << bits) - 1;
    size_t i = (size_t)hash & mask, step = 0;
    while (index[i] != IX_FREE) i = (i + ++step) & mask;
    return i;
}

/*
 * Size the tables for 1.5 x len + 1 entries: compact the live entries to the
 * front (insertion order kept) and build a new index without tombstones.
 * All or nothing: false with RC_ENOMEM recorded leaves the dict untouched.
 */
/* The index bits of tables for `len` keys and room to grow: usable() at
 * least 1.5 x len + 1. false when no table can be that big. */
static bool bits_for(size_t len, unsigned *out)
{
    size_t need = len + len / 2 + 1;
    unsigned bits = DICT_MIN_BITS;
    while (usable(bits) < need)
        if (++bits > DICT_MAX_BITS || ((size_t)1 << bits) > SIZE_MAX / 4 / sizeof(rc_dict_entry))
            return false;
    *out = bits;
    return true;
}

static bool rebuild(rc_dict_obj *d, rc_heap *h, const char *call)
{
    unsigned bits;
    if (!bits_for(d->len, &bits)) {
        rc__fail(h, RC_ENOMEM, "%s: a dict cannot hold more than %zu keys", call, d->len);
        return false;
    }
    size_t cap = usable(bits);

    /* Allocate everything before changing anything. */
    uint32_t *index = rc__buf_realloc(h, NULL, 0, index_bytes(bits));
    if (!index) goto nomem;
    if (cap > d->cap) {
        rc_dict_entry *e = rc__buf_realloc(h, d->entries, d->cap * sizeof *e, cap * sizeof *e);
        if (!e) {
            rc__buf_free(h, index, index_bytes(bits));
            goto nomem;
        }
        d->entries = e;
        d->cap = cap;
    }
    memset(index, 0, index_bytes(bits));

    size_t j = 0;
    for (size_t i = 0; i < d->nentries; i++) {
        if (d->entries[i].key == RC_EMPTY) continue;
        if (i != j) d->entries[j] = d->entries[i];
        j++;
    }
    rc_assert(j == d->len);
    d->nentries = j;

    if (cap < d->cap) {   /* shrinking; on failure keep the bigger block */
        rc_dict_entry *e = rc__buf_realloc(h, d->entries, d->cap * sizeof *e, cap * sizeof *e);
        if (e) {
            d->entries = e;
            d->cap = cap;
        }
    }

    for (size_t i = 0; i < j; i++) {
        uint64_t hash = d->entries[i].hash;
        index[free_slot(index, bits, hash)] = slot_of(hash, bits, i);
    }
    rc__buf_free(h, d->index, index_bytes(d->index_bits));
    d->index = index;
    d->index_bits = bits;
    return true;

nomem:
    rc__fail(h, RC_ENOMEM, "%s: out of memory growing a dict of %zu keys", call, d->len);
    return false;
}

/* ---- a copy in another heap (rc_move, gcmodule/move.c) ---- */

bool rc__dict_copy_alloc(rc_heap *h, const rc_dict_obj *from, rc_dict_obj *to)
{
    memset(to, 0, sizeof *to);
    if (!from->len) return true;
    unsigned bits;
    if (!bits_for(from->len, &bits)) return false;
    size_t cap = usable(bits);
    to->index = rc__buf_realloc(h, NULL, 0, index_bytes(bits));
    to->entries = to->index ? rc__buf_realloc(h, NULL, 0, cap * sizeof(rc_dict_entry)) : NULL;
    if (!to->entries) {
        rc__buf_free(h, to->index, index_bytes(bits));
        to->index = NULL;
        return false;
    }
    to->index_bits = bits;
    to->cap = cap;
    return true;
}

void rc__dict_tables_free(rc_heap *h, rc_dict_obj *d)
{
    rc__buf_free(h, d->index, index_bytes(d->index_bits));
    rc__buf_free(h, d->entries, d->cap * sizeof(rc_dict_entry));
    memset(d, 0, sizeof *d);
}

void rc__dict_copy_fill(rc_dict_obj *to, const rc_dict_obj *from, rc_val (*map)(rc_val, void *),
                        void *ctx)
{
    size_t j = 0;
    for (size_t i = 0; i < from->nentries; i++) {
        const rc_dict_entry *e = &from->entries[i];
        if (e->key == RC_EMPTY) continue;
        rc_val key = map(e->key, ctx);
        /* A key object hashed by its address has a new hash. */
        to->entries[j++] = (rc_dict_entry){rc_val_hash(key), key, map(e->value, ctx)};
    }
    to->len = to->nentries = j;
    if (!to->index) return;
    memset(to->index, 0, index_bytes(to->index_bits));
    for (size_t i = 0; i < j; i++) {
        uint64_t hash = to->entries[i].hash;
        to->index[free_slot(to->index, to->index_bits, hash)] = slot_of(hash, to->index_bits, i);
    }
}

/* A short description of a key for error messages. */
static void describe(rc_val k, char *buf, size_t size)
{
    if (rc_is_int(k)) {
        snprintf(buf, size, "%lld", (long long)rc_as_int(k));
    } else if (rc_is_float(k)) {
        snprintf(buf, size, "%g", rc_as_float(k));
    } else if (k == RC_NONE || k == RC_TRUE || k == RC_FALSE) {
        snprintf(buf, size, "%s", k == RC_NONE ? "none" : k == RC_TRUE ? "true" : "false");
    } else if (rc_is_obj(k) && is_str_obj(rc_as_obj(k))) {
        const rc_str_obj *s = rc_as_obj(k);
        char text[41];
        size_t n = s->len < 40 ? s->len : 40;
        for (size_t i = 0; i < n; i++)
            text[i] = (s->data[i] >= 0x20 && s->data[i] < 0x7F) ? s->data[i] : '?';
        text[n] = 0;
        snprintf(buf, size, "'%s'%s", text, s->len > 40 ? "..." : "");
    } else if (rc_is_obj(k)) {
        const rc_type *t = rc_typeof(rc_as_obj(k));
        snprintf(buf, size, "<%s at %p>", t->name ? t->name : "?", rc_as_obj(k));
    } else {
        snprintf(buf, size, "0x%llx", (unsigned long long)k);
    }
}

/* ---- the API ---- */

rc_dict *rc_dict_new(rc_heap *heap)
{
    if (!heap) return NULL;
    return rc_new(heap, &rc_dict_type);   /* zero-filled: empty, no tables */
}

size_t rc_dict_len(const rc_dict *d)
{
    if (!rc__is_a(d, &rc_dict_type, "rc_dict_len")) return 0;
    return d->len;
}

int rc_dict_set(rc_dict *d, rc_val key, rc_val value)
{
    if (!rc__writable(d, &rc_dict_type, "rc_dict_set")) return -1;
    if (!rc__storable(d, key, "rc_dict_set") || !rc__storable(d, value, "rc_dict_set"))
        return -1;
    uint64_t hash = rc_val_hash(key);
    size_t slot = 0;
    if (d->index) {
        size_t pos = find(d, hash, key, NULL, 0, &slot);
        if (pos != NOT_FOUND) {
            rc_dict_entry *e = &d->entries[pos];
            rc_val old = e->value;
            rc_val_incref(value);
            e->value = value;
            rc_val_decref(old);   /* last: the dict is consistent */
            return 0;
        }
    }
    if (d->nentries >= usable(d->index_bits)) {
        if (!rebuild(d, rc_heap_of(d), "rc_dict_set")) return -1;
        slot = free_slot(d->index, d->index_bits, hash);
    }
    size_t pos = d->nentries++;
    d->entries[pos] = (rc_dict_entry){hash, key, value};
    d->index[slot] = slot_of(hash, d->index_bits, pos);
    d->len++;
    rc_val_incref(key);
    rc_val_incref(value);
    return 0;
}

rc_val rc_dict_get(const rc_dict *d, rc_val key)
{
    if (!rc__is_a(d, &rc_dict_type, "rc_dict_get")) return RC_EMPTY;
    if (!d->len || key == RC_EMPTY) return RC_EMPTY;
    size_t pos = find(d, rc_val_hash(key), key, NULL, 0, NULL);
    return pos == NOT_FOUND ? RC_EMPTY : d->entries[pos].value;
}

rc_val rc_dict_get_str(const rc_dict *d, const char *key)
{
    if (!rc__is_a(d, &rc_dict_type, "rc_dict_get_str")) return RC_EMPTY;
    if (!key) {
        rc__fail(rc_heap_of(d), RC_EINVAL, "rc_dict_get_str: key is NULL");
        return RC_EMPTY;
    }
    if (!d->len) return RC_EMPTY;
    size_t n = strlen(key);
    size_t pos = find_str(d, rc__str_hash_bytes(key, n), key, n);
    return pos == NOT_FOUND ? RC_EMPTY : d->entries[pos].value;
}

int rc_dict_contains(const rc_dict *d, rc_val key)
{
    if (!rc__is_a(d, &rc_dict_type, "rc_dict_contains")) return 0;
    if (!d->len || key == RC_EMPTY) return 0;
    return find(d, rc_val_hash(key), key, NULL, 0, NULL) != NOT_FOUND;
}

int rc_dict_del(rc_dict *d, rc_val key)
{
    if (!rc__writable(d, &rc_dict_type, "rc_dict_del")) return -1;
    size_t slot = 0, pos = NOT_FOUND;
    if (d->len && key != RC_EMPTY) pos = find(d, rc_val_hash(key), key, NULL, 0, &slot);
    if (pos == NOT_FOUND) {
        char what[64];
        describe(key, what, sizeof what);
        rc__fail(rc_heap_of(d), RC_ENOTFOUND, "rc_dict_del: key %s not found", what);
        return -1;
    }
    rc_dict_entry *e = &d->entries[pos];
    rc_val k = e->key, v = e->value;
    e->key = e->value = RC_EMPTY;
    d->index[slot] = IX_DELETED;
    d->len--;
    rc_val_decref(k);   /* last: the dict is consistent */
    rc_val_decref(v);
    return 0;
}

int rc_dict_next(const rc_dict *d, size_t *pos, rc_val *key, rc_val *value)
{
    if (!rc__is_a(d, &rc_dict_type, "rc_dict_next") || !pos) return 0;
    for (size_t i = *pos; i < d->nentries; i++) {
        const rc_dict_entry *e = &d->entries[i];
        if (e->key == RC_EMPTY) continue;
        if (key) *key = e->key;
        if (value) *value = e->value;
        *pos = i + 1;
        return 1;
    }
    if (*pos < d->nentries) *pos = d->nentries;
    return 0;
}

void rc_dict_clear(rc_dict *d)
{
    if (!rc__writable(d, &rc_dict_type, "rc_dict_clear")) return;
    dict_clear(d);
}


int rc_hash_seed(uint64_t seed)
{
    return rc__hash_seed_set(seed);
}
