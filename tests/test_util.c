/*
 * test_util.c -- the util layer's mechanisms on their own: the byte and
 * pointer hashes (util/hash.h).
 */
#include "harness.h"
#include "util/hash.h"

#include <stdint.h>
#include <string.h>

/* ---- hashes ---- */

TEST(hash_bytes_is_siphash_under_the_process_key)
{
    const char s[] = "a string of more than eight bytes";
    uint64_t h = rc__hash_bytes(s, sizeof s - 1);
    CHECK(rc__hashkey.ready);
    CHECK(h == rc__siphash13(rc__hashkey.k0, rc__hashkey.k1, s, sizeof s - 1));
    /* Another key gives another hash: the key decides where a string lands. */
    CHECK(h != rc__siphash13(rc__hashkey.k0 ^ 1, rc__hashkey.k1, s, sizeof s - 1));
    CHECK(rc__hash_bytes(s, sizeof s - 1) == h);
}

TEST(hash_bytes_separates_fnv_collisions)
{
    /* Two strings of the same length with one FNV-1a 64 hash would share a
     * bucket in any FNV table; here only a strict subset of the bits may
     * agree by chance. Also: length and every byte count. */
    CHECK(rc__hash_bytes("ab", 2) != rc__hash_bytes("ba", 2));
    CHECK(rc__hash_bytes("a", 1) != rc__hash_bytes("a\0", 2));
    CHECK(rc__hash_bytes("", 0) != rc__hash_bytes("\0", 1));
}

TEST(hash_ptr_spreads_aligned_addresses_over_low_bits)
{
    /* 4096 consecutive 16-byte blocks into 8192 slots by the low 13 bits:
     * a hash that kept the constant low address bits would use 512 slots. */
    static unsigned char used[8192];
    size_t distinct = 0;
    uintptr_t base = (uintptr_t)0x7f0012340000ull;
    for (size_t i = 0; i < 4096; i++) {
        size_t j = rc__hash_ptr((const void *)(base + 16 * i)) & 8191;
        if (!used[j]++) distinct++;
    }
    CHECK(distinct > 3000);   /* random placement gives about 3220 */
}

RC_TEST_MAIN
