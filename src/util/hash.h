/*
 * util/hash.h -- the library's hashes, one of each:
 *   rc__hash_bytes  bytes -> 64 bits, keyed SipHash-1-3 under the process's
 *                   secret key (hash.c): what str keys, snapshot string
 *                   tables and allocation-site names hash with, so no input
 *                   can be chosen to collide;
 *   rc__hash_ptr    an address -> a table index, unkeyed (addresses come
 *                   from the allocator, not from input);
 *   rc__mix64       a bijective 64-bit mixer (immediates, combining hashes).
 */
#ifndef RC_UTIL_HASH_H
#define RC_UTIL_HASH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A bijective 64-bit mixer (xorshift-multiply rounds): every input bit
 * affects every output bit, so the low bits are fit for a table index. */
static inline uint64_t rc__mix64(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x7FB5D329728EA185ull;
    x ^= x >> 27;
    x *= 0x81DADEF4BC2DD44Dull;
    x ^= x >> 33;
    return x;
}

/* The hash of an address, for open-addressing tables keyed by pointers:
 * the high bits are folded onto the low ones (blocks are aligned, so an
 * address's low bits are constant), one multiply spreads them. Cost: three
 * operations. */
static inline size_t rc__hash_ptr(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDull;
    x ^= x >> 33;
    return (size_t)x;
}

/* The per-process hash key (hash.c): made on first use, never changed after. */
typedef struct rc__hashkey_t {
    _Atomic int ready;
    uint64_t k0, k1;
} rc__hashkey_t;
extern rc__hashkey_t rc__hashkey;
void rc__hash_init(void);
static inline void rc__hash_ready(void)
{
    if (__builtin_expect(!atomic_load_explicit(&rc__hashkey.ready, memory_order_acquire), 0))
        rc__hash_init();
}

/* Fix the key from `seed` (reproducible runs). 0, or -1 when the key already
 * exists (hashes made under it must never change). Thread-safe. */
int rc__hash_seed_set(uint64_t seed);

/* SipHash-1-3 of data[0..len-1] under the key (k0, k1). */
uint64_t rc__siphash13(uint64_t k0, uint64_t k1, const void *data, size_t len);

/* The hash of p[0..n) under the process's key (made on first use). Any
 * value, 0 included. Cost: about one round per 8 bytes. */
static inline uint64_t rc__hash_bytes(const void *p, size_t n)
{
    rc__hash_ready();
    return rc__siphash13(rc__hashkey.k0, rc__hashkey.k1, p, n);
}

#endif
