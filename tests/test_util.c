/*
 * test_util.c -- the util layer's mechanisms on their own: the byte and
 * pointer hashes (util/hash.h), the pointer map (util/pmap.h).
 */
#include "harness.h"
#include "failalloc.h"
#include "util/hash.h"
#include "util/pmap.h"

#include <stdint.h>
#include <stdlib.h>
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

TEST(siphash13_gives_the_reference_values_for_every_tail_length)
{
    /* Key 00 01 .. 0f, message 00 01 .. n-1: SipHash-1-3's test vectors
     * for n = 0 .. 16, so every length of the last partial word (read
     * without a loop, without reading past the end) and one whole word. */
    static const uint64_t want[17] = {
        0xABAC0158050FC4DCull,        0xC9F49BF37D57CA93ull,        0x82CB9B024DC7D44Dull,
        0x8BF80AB8E7DDF7FBull,        0xCF75576088D38328ull,        0xDEF9D52F49533B67ull,
        0xC50D2B50C59F22A7ull,        0xD3927D989BB11140ull,        0x369095118D299A8Eull,
        0x25A48EB36C063DE4ull,        0x79DE85EE92FF097Full,        0x70C118C1F94DC352ull,
        0x78A384B157B4D9A2ull,        0x306F760C1229FFA7ull,        0x605AA111C0F95D34ull,
        0xD320D86D2A519956ull,        0xCC4FDD1A7D908B66ull,
    };
    unsigned char msg[16];
    for (unsigned i = 0; i < sizeof msg; i++) msg[i] = (unsigned char)i;
    for (size_t n = 0; n <= 16; n++) {
        /* The message ends at the end of a buffer: nothing after it is read
         * (ASan would say). */
        unsigned char *at = malloc(n ? n : 1);
        REQUIRE(at);
        memcpy(at, msg, n);
        CHECK(rc__siphash13(0x0706050403020100ull, 0x0F0E0D0C0B0A0908ull, at, n) == want[n]);
        free(at);
    }
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

/* ---- the pointer map ---- */

static char arena[1 << 20];   /* fake keys: addresses of 16-byte blocks */
#define KEY(i) ((const void *)(arena + 16 * (size_t)(i)))

typedef struct val3 { uint64_t a; uint32_t b; } val3;

/* Every key of `in` is found with its value (a = index), no other key of
 * 0..n is. */
static int map_matches(const rc_pmap *p, const bool *in, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        val3 *v = rc__pmap_get(p, KEY(i));
        if (in[i] != (v != NULL)) return 0;
        if (v && (v->a != i || v->b != (uint32_t)i * 7)) return 0;
        count += in[i];
    }
    return count == p->len;
}

TEST(pmap_put_get_del_keeps_runs_whole_under_collisions)
{
    rc_pmap p;
    rc__pmap_init(&p, rc__mem_malloc(), sizeof(val3));
    REQUIRE(rc__pmap_reserve(&p, 32));
    size_t mask = p.mask;
    REQUIRE(mask == 63);
    /* Keys colliding at two neighbouring home slots, the last ones of the
     * table, so the run wraps around its end. */
    enum { N = 4096 };
    static bool in[N];
    size_t picked[12], np = 0;
    for (size_t i = 0; i < N && np < 12; i++) {
        size_t home = rc__hash_ptr(KEY(i)) & mask;
        if (home == 62 && np < 8) picked[np++] = i;
        else if (home == 63 && np >= 8) picked[np++] = i;
    }
    REQUIRE(np == 12);
    for (size_t k = 0; k < np; k++) {
        bool added = false;
        val3 *v = rc__pmap_put(&p, KEY(picked[k]), &added);
        REQUIRE(v && added && v->a == 0 && v->b == 0);   /* a new value is zeroed */
        v->a = picked[k];
        v->b = (uint32_t)picked[k] * 7;
        in[picked[k]] = true;
    }
    CHECK(p.mask == mask);   /* reserved: no growth */
    CHECK(map_matches(&p, in, N));
    bool added = true;
    CHECK(rc__pmap_put(&p, KEY(picked[3]), &added) && !added);
    /* Delete from the middle, the front and the end of the run, one at a
     * time; every other key must still be reachable. */
    size_t order[] = {3, 0, 11, 8, 5, 9, 1, 10, 2, 7, 4, 6};
    for (size_t k = 0; k < 12; k++) {
        rc__pmap_del(&p, KEY(picked[order[k]]));
        in[picked[order[k]]] = false;
        CHECK(map_matches(&p, in, N));
    }
    CHECK(p.len == 0);
    rc__pmap_del(&p, KEY(1));   /* absent: nothing */
    rc__pmap_free(&p);
}

TEST(pmap_agrees_with_a_bit_array_over_many_puts_and_dels)
{
    enum { N = 20000 };
    static bool in[N];
    memset(in, 0, sizeof in);
    rc_pmap p;
    rc__pmap_init(&p, rc__mem_malloc(), sizeof(val3));
    uint64_t r = 88172645463325252ull;
    for (size_t step = 0; step < 200000; step++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        size_t i = (size_t)(r >> 20) % N;
        if ((r & 3) != 0) {
            val3 *v = rc__pmap_put(&p, KEY(i), NULL);
            REQUIRE(v);
            v->a = i;
            v->b = (uint32_t)i * 7;
            in[i] = true;
        } else {
            rc__pmap_del(&p, KEY(i));
            in[i] = false;
        }
    }
    CHECK(map_matches(&p, in, N));
    CHECK(p.len * 2 <= p.mask + 1);
    rc__pmap_free(&p);
    CHECK(p.len == 0 && p.keys == NULL && rc__pmap_get(&p, KEY(0)) == NULL);
}

TEST(pmap_reserve_is_all_or_nothing_when_memory_runs_out)
{
    rc_mem m = {NULL, fa_realloc, NULL};
    rc_pmap p;
    rc__pmap_init(&p, m, sizeof(val3));
    static bool in[64];
    for (size_t i = 0; i < 8; i++) {
        val3 *v = rc__pmap_put(&p, KEY(i), NULL);
        REQUIRE(v);
        *v = (val3){i, (uint32_t)i * 7};
        in[i] = true;
    }
    const void **keys = (const void **)p.keys;
    size_t mask = p.mask;
    for (long fail_at = 0; fail_at < 2; fail_at++) {   /* the keys, then the values */
        long before = fa_failures;
        fa_arm(fail_at);
        CHECK(!rc__pmap_reserve(&p, 100));
        fa_arm(fail_at);
        CHECK(rc__pmap_put(&p, KEY(8), NULL) == NULL);   /* needs to grow: fails too */
        fa_disarm();
        CHECK(fa_failures > before);
        CHECK(p.keys == keys && p.mask == mask && p.len == 8);
        CHECK(map_matches(&p, in, 64));
    }
    /* Once reserved, puts cannot fail. */
    REQUIRE(rc__pmap_reserve(&p, 20));
    fa_arm(0);
    for (size_t i = 8; i < 28; i++) {
        val3 *v = rc__pmap_put(&p, KEY(i), NULL);
        CHECK(v != NULL);
        if (v) *v = (val3){i, (uint32_t)i * 7}, in[i] = true;
    }
    fa_disarm();
    CHECK(map_matches(&p, in, 64));
    rc__pmap_free(&p);
}

TEST(pmap_on_a_heap_counts_its_memory_and_gives_it_back)
{
    rc_heap *h = fa_heap_new();
    REQUIRE(h);
    size_t base = h->buffer_bytes;
    rc_pmap p;
    rc__pmap_init(&p, rc__mem_heap(h), sizeof(void *));
    for (size_t i = 0; i < 1000; i++) REQUIRE(rc__pmap_put(&p, KEY(i), NULL));
    CHECK(h->buffer_bytes >= base + 2048 * (sizeof(void *) * 2));
    fa_arm(0);
    CHECK(!rc__pmap_reserve(&p, 1000));
    fa_disarm();
    CHECK(p.len == 1000);
    rc__pmap_free(&p);
    CHECK(h->buffer_bytes == base);
    rc_heap_free(h);
}

TEST(pmap_next_visits_each_key_once_with_its_value)
{
    rc_pmap p;
    rc__pmap_init(&p, rc__mem_malloc(), sizeof(size_t));
    static unsigned char seen[300];
    for (size_t i = 0; i < 300; i++) *(size_t *)rc__pmap_put(&p, KEY(i), NULL) = i;
    for (size_t i = 0; i < 300; i += 3) rc__pmap_del(&p, KEY(i));
    size_t pos = 0, n = 0;
    const void *k;
    void *v;
    while (rc__pmap_next(&p, &pos, &k, &v)) {
        size_t i = *(size_t *)v;
        CHECK(k == KEY(i) && i % 3 != 0);
        seen[i]++;
        n++;
    }
    CHECK(n == 200 && n == p.len);
    for (size_t i = 0; i < 300; i++) CHECK(seen[i] == (i % 3 != 0));
    CHECK(!rc__pmap_next(&p, &pos, &k, &v));   /* stays at the end */
    rc__pmap_free(&p);
    rc_pmap empty;
    rc__pmap_init(&empty, rc__mem_malloc(), 0);
    pos = 0;
    CHECK(!rc__pmap_next(&empty, &pos, &k, &v));
}

TEST(pmap_of_0_byte_values_is_a_set)
{
    rc_pmap p;
    rc__pmap_init(&p, rc__mem_malloc(), 0);
    CHECK(rc__pmap_get(&p, KEY(1)) == NULL);
    CHECK(rc__pmap_put(&p, KEY(1), NULL) != NULL);
    CHECK(rc__pmap_get(&p, KEY(1)) != NULL && rc__pmap_get(&p, KEY(2)) == NULL);
    rc__pmap_free(&p);
}

RC_TEST_MAIN
