/*
 * oldhash.h -- the unkeyed str hash recycle used before its hash was keyed,
 * and keys made to collide under it by running it backwards. The flood test
 * (tests/test_hashflood.c) and `recycle bench hashflood` feed these keys to a
 * dict to show that the keyed hash spreads them.
 *
 * The old hash: h = C ^ len * M; for each 8-byte word w, h = f((h ^ w) * M)
 * with f(x) = x ^ (x >> 29); then a bijective finalizer. Every step is
 * invertible (M is odd, f is an xorshift), so for 16-byte keys: take any
 * first word, run the state forward, and solve for the second word that
 * lands on a chosen state. Every key then has the same 64-bit hash.
 */
#ifndef RC_OLDHASH_H
#define RC_OLDHASH_H

#include <stdint.h>
#include <string.h>

#define OLDHASH_MUL 0x9E3779B97F4A7C15ull

static inline uint64_t oldhash_mix64(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x7FB5D329728EA185ull;
    x ^= x >> 27;
    x *= 0x81DADEF4BC2DD44Dull;
    x ^= x >> 33;
    return x;
}

static inline uint64_t oldhash_bytes(const char *p, size_t len)
{
    uint64_t h = 0x2545F4914F6CDD1Dull ^ ((uint64_t)len * OLDHASH_MUL), w;
    size_t n = len;
    while (n >= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * OLDHASH_MUL;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    if (n) {
        w = 0;
        memcpy(&w, p, n);
        h = (h ^ w) * OLDHASH_MUL;
        h ^= h >> 29;
    }
    h = oldhash_mix64(h);
    return h ? h : 1;
}

/* The inverse of M modulo 2^64 (Newton's iteration). */
static inline uint64_t oldhash_inv(uint64_t m)
{
    uint64_t x = m;
    for (int i = 0; i < 6; i++) x *= 2 - m * x;
    return x;
}

/* The inverse of x ^ (x >> s). */
static inline uint64_t oldhash_unxorshift(uint64_t y, int s)
{
    uint64_t x = y;
    for (int i = 0; i < 64 / s + 1; i++) x = y ^ (x >> s);
    return x;
}

/* Key number i (16 bytes into out[16]): every one hashes, under the old
 * hash, to the same value. Distinct i give distinct keys. */
static inline void oldhash_collider(uint64_t i, char out[16])
{
    const uint64_t target = 0x0123456789ABCDEFull;   /* the state after word 2 */
    uint64_t w1 = i * 0x5851F42D4C957F2Dull + 0x14057B7EF767814Full;
    uint64_t h = 0x2545F4914F6CDD1Dull ^ (16 * OLDHASH_MUL);
    h = (h ^ w1) * OLDHASH_MUL;
    h ^= h >> 29;
    /* Want f((h ^ w2) * M) = target. */
    uint64_t w2 = (oldhash_unxorshift(target, 29) * oldhash_inv(OLDHASH_MUL)) ^ h;
    memcpy(out, &w1, 8);
    memcpy(out + 8, &w2, 8);
}

/* The old immediate hash was oldhash_mix64(bits): float keys whose hashes
 * share their low 32 bits come from running it backwards. The float
 * value's bits (an rc_val) for key i, or 0 when that preimage is not a
 * plain float (the caller skips it). */
static inline uint64_t oldhash_unmix64(uint64_t y)
{
    y = oldhash_unxorshift(y, 33);
    y *= oldhash_inv(0x81DADEF4BC2DD44Dull);
    y = oldhash_unxorshift(y, 27);
    y *= oldhash_inv(0x7FB5D329728EA185ull);
    return oldhash_unxorshift(y, 31);
}

#endif
