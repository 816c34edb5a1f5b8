/*
 * hash.c -- the keyed hashes behind dict keys: SipHash-1-3 for str bytes and
 * a keyed finalizer for immediates, under one per-process random key.
 *
 * Why keyed: with an unkeyed hash anyone who knows the function can compute
 * many keys with one hash (or one index in a table) and turn every insert of
 * a dict into a walk over all the others: quadratic time from input that a
 * program merely parses. With a secret 128-bit key the bucket of a key cannot
 * be predicted, so it cannot be chosen.
 *
 * SipHash-1-3 (Aumasson and Bernstein's SipHash with one compression round per
 * 8-byte word and three finalization rounds, as CPython uses since 3.11), as
 * the paper describes it: four 64-bit words of state from the key and four
 * constants; each little-endian word m of the message is xored into v3, run
 * through the rounds and xored into v0; the last word holds the remaining
 * bytes and the length (mod 256) in its top byte; then v2 ^= 0xff, the
 * finalization rounds, and v0 ^ v1 ^ v2 ^ v3. Measured on 5-30 byte keys it
 * costs 10-20% more than the unkeyed multiply-xor hash it replaces (SipHash-
 * 2-4 about 50% more); see docs/guide.md.
 *
 * Immediates (integers, floats, booleans) hash as rc__mix64(bits ^ k0):
 * one xor more than before. The mixer is a bijection, so distinct values
 * still never share a 64-bit hash, but which index bits they land on now
 * depends on the secret k0.
 *
 * The key: 16 bytes from the system's random source (core/os.h's
 * rc__os_random), else from the clock and addresses, made the first time
 * any hash is needed, once per process, safely from any thread (a
 * compare-and-swap elects the thread that makes it; the others wait for
 * it). RC_HASHSEED=<decimal number> in the
 * environment at that moment, or rc_hash_seed() before it, fixes the key for
 * reproducible runs (the same seed gives the same hashes in every run).
 *
 * The same key hashes any bytes (rc__hash_bytes): snapshot string tables and
 * allocation-site names, not only dict keys.
 */
#include "util/hash.h"
#include "core/os.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

rc__hashkey_t rc__hashkey;

static _Atomic int key_state;     /* 0: none, 1: being made, 2: ready */
static bool seed_given;
static uint64_t seed_value;

/* splitmix64: a fixed seed spread into key words. */
static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* The seed RC_HASHSEED names: true with *seed set when it is a number. */
static bool env_seed(uint64_t *seed)
{
    const char *s = getenv("RC_HASHSEED");
    if (!s || !*s || !strcmp(s, "random")) return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno || *s == '-') return false;   /* not a number: random key */
    *seed = v;
    return true;
}

void rc__hash_init(void)
{
    int expect = 0;
    if (atomic_compare_exchange_strong(&key_state, &expect, 1)) {
        uint64_t k[2], seed;
        if (seed_given || env_seed(&seed)) {
            uint64_t s = seed_given ? seed_value : seed;
            k[0] = splitmix(&s);
            k[1] = splitmix(&s);
        } else if (!rc__os_random(k, sizeof k)) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            uint64_t s = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)getpid() ^
                         (uint64_t)(uintptr_t)&ts ^ (uint64_t)(uintptr_t)&key_state;
            k[0] = splitmix(&s);
            k[1] = splitmix(&s);
        }
        rc__hashkey.k0 = k[0];
        rc__hashkey.k1 = k[1];
        atomic_store_explicit(&key_state, 2, memory_order_release);
        atomic_store_explicit(&rc__hashkey.ready, 1, memory_order_release);
        return;
    }
    while (atomic_load_explicit(&key_state, memory_order_acquire) != 2) {
        struct timespec ts = {0, 1000};
        nanosleep(&ts, NULL);
    }
}

int rc__hash_seed_set(uint64_t seed)
{
    int expect = 0;
    /* Only before the key exists: hashes already cached or stored in dicts
     * must never change. Claim the key, record the seed, make it. */
    if (!atomic_compare_exchange_strong(&key_state, &expect, 1)) return -1;
    seed_given = true;
    seed_value = seed;
    atomic_store(&key_state, 0);
    rc__hash_init();
    return 0;
}

/* ---- SipHash-1-3 ---- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                              \
    do {                                                                      \
        v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);             \
        v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                                \
        v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                                \
        v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);             \
    } while (0)

static inline uint64_t load_le(const unsigned char *p, size_t n)
{
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++) w |= (uint64_t)p[i] << (8 * i);
    return w;
}

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* load_le(p, n) for n < 8 without a loop over the bytes and without reading
 * past p[n-1]: two overlapping 4-byte loads (n >= 4) or bytes 0, n/2 and
 * n-1 (n <= 3), each put at its own position, so the overlap ORs equal
 * bytes. The str hash of short keys runs this once per lookup. */
static inline uint64_t load_tail(const unsigned char *p, size_t n)
{
    if (n >= 4) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + n - 4, 4);
        return (uint64_t)lo | (uint64_t)hi << (8 * (n - 4));
    }
    if (!n) return 0;
    return (uint64_t)p[0] | (uint64_t)p[n / 2] << (8 * (n / 2)) | (uint64_t)p[n - 1] << (8 * (n - 1));
}
#else
#define load_tail load_le
#endif

uint64_t rc__siphash13(uint64_t k0, uint64_t k1, const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t v0 = k0 ^ 0x736F6D6570736575ull, v1 = k1 ^ 0x646F72616E646F6Dull;
    uint64_t v2 = k0 ^ 0x6C7967656E657261ull, v3 = k1 ^ 0x7465646279746573ull;
    size_t n = len;
    while (n >= 8) {
        uint64_t m;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        memcpy(&m, p, 8);
#else
        m = load_le(p, 8);
#endif
        v3 ^= m;
        SIPROUND;
        v0 ^= m;
        p += 8;
        n -= 8;
    }
    uint64_t m = load_tail(p, n) | (uint64_t)len << 56;
    v3 ^= m;
    SIPROUND;
    v0 ^= m;
    v2 ^= 0xFF;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}
