/*
 * test_hashflood.c -- keys chosen by an attacker do not pile up in a dict.
 *
 * The hash used to be unkeyed and invertible: bench/oldhash.h runs it
 * backwards to make 100,000 str keys with one 64-bit hash, and float keys
 * whose hashes share their low 32 bits. Under the keyed hash they must
 * spread like random keys. No timing is asserted: the structural property
 * is the longest probe of any key in the dict's index (slots stepped over
 * from a key's home slot to its own), which a pile-up makes as long as the
 * dict. `recycle bench hashflood` prints the times.
 */
#include "harness.h"
#include "testutil.h"
#include "core/objects.h"
#include "recycle/builtins.h"
#include "../bench/oldhash.h"

#include <stdint.h>
#include <unistd.h>
#include <stdlib.h>

enum { NKEYS = 100000 };

/* Random keys of 100,000 reach about 20 slots; a pile-up reaches 100,000. */
#define PROBE_BOUND 64

/* The longest probe of a live key (read from the dict's own tables). */
static size_t max_probe(const rc_dict *dict)
{
    const rc_dict_obj *d = (const rc_dict_obj *)dict;
    if (!d->index) return 0;
    size_t mask = ((size_t)1 << d->index_bits) - 1, worst = 0;
    for (size_t e = 0; e < d->nentries; e++) {
        if (d->entries[e].key == RC_EMPTY) continue;
        size_t i = (size_t)d->entries[e].hash & mask, step = 0;
        /* A slot holds position + 1 in its low index_bits bits (a tag above). */
        while ((d->index[i] & mask) != e + 1) i = (i + ++step) & mask;
        if (step > worst) worst = step;
    }
    return worst;
}

static size_t nkeys(void) { return getenv("RC_TEST_QUICK") ? NKEYS / 10 : NKEYS; }

TEST(the_crafted_str_keys_do_collide_under_the_old_hash)
{
    char k0[16], k[16];
    oldhash_collider(0, k0);
    uint64_t h0 = oldhash_bytes(k0, 16);
    for (uint64_t i = 1; i < 1000; i++) {
        oldhash_collider(i, k);
        CHECK(memcmp(k, k0, 16) != 0);
        CHECK(oldhash_bytes(k, 16) == h0);
    }
}

TEST(str_keys_made_to_collide_spread_like_random_keys)
{
    rc_heap *h = quiet_heap();
    rc_dict *d = rc_dict_new(h), *r = rc_dict_new(h);
    uint64_t x = 88172645463325252ull;
    size_t n = nkeys();
    for (size_t i = 0; i < n; i++) {
        char k[16];
        oldhash_collider(i, k);
        rc_str *s = rc_str_new(h, k, 16);
        REQUIRE(s && rc_dict_set(d, rc_obj(s), rc_int((int64_t)i)) == 0);
        rc_decref(s);
        for (int j = 0; j < 16; j += 8) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            memcpy(k + j, &x, 8);
        }
        s = rc_str_new(h, k, 16);
        REQUIRE(s && rc_dict_set(r, rc_obj(s), rc_int((int64_t)i)) == 0);
        rc_decref(s);
    }
    CHECK_EQ_INT(rc_dict_len(d), n);
    size_t crafted = max_probe(d), random = max_probe(r);
    if (crafted > PROBE_BOUND) fprintf(stderr, "  longest probe: crafted %zu, random %zu\n", crafted, random);
    CHECK(crafted <= PROBE_BOUND);
    CHECK(random <= PROBE_BOUND);
    /* Every key is found again, through a str and through raw bytes (the
     * cached hash and the hash of the bytes agree), in insertion order. */
    size_t pos = 0, i = 0;
    rc_val key, value;
    while (rc_dict_next(d, &pos, &key, &value)) {
        char k[16];
        oldhash_collider(i, k);
        CHECK(rc_as_int(value) == (int64_t)i);
        CHECK(rc_str_len(rc_as_obj(key)) == 16 && memcmp(rc_str_data(rc_as_obj(key)), k, 16) == 0);
        rc_str *s = rc_str_new(h, k, 16);
        CHECK(rc_dict_get(d, rc_obj(s)) == rc_int((int64_t)i));
        CHECK(rc_str_hash(s) == rc_str_hash(rc_as_obj(key)));
        rc_decref(s);
        i++;
    }
    CHECK_EQ_INT(i, n);
    rc_decref(d);
    rc_decref(r);
    rc_heap_free(h);
}

TEST(float_keys_made_to_collide_spread_like_random_keys)
{
    rc_heap *h = quiet_heap();
    rc_dict *d = rc_dict_new(h);
    size_t n = nkeys(), made = 0;
    /* Old hashes (i << 32): the low 32 bits, every index of a table up to
     * 2^32 slots, are the same for all. */
    for (uint64_t i = 1; made < n; i++) {
        rc_val v = oldhash_unmix64(i << 32);
        if (!rc_is_float(v) || rc_float(rc_as_float(v)) != v || v == rc_float(-0.0)) continue;
        REQUIRE(rc_dict_set(d, v, rc_int((int64_t)made)) == 0);
        made++;
    }
    CHECK_EQ_INT(rc_dict_len(d), n);
    size_t crafted = max_probe(d);
    if (crafted > PROBE_BOUND) fprintf(stderr, "  longest probe: %zu\n", crafted);
    CHECK(crafted <= PROBE_BOUND);
    rc_decref(d);
    rc_heap_free(h);
}

TEST(hash_seed_cannot_change_once_hashes_exist)
{
    rc_heap *h = quiet_heap();
    rc_str *s = rc_str_from_cstr(h, "key");
    uint64_t before = rc_str_hash(s);
    CHECK_EQ_INT(rc_hash_seed(42), -1);
    rc_str *t = rc_str_from_cstr(h, "key");
    CHECK(rc_str_hash(t) == before);
    rc_decref(s);
    rc_decref(t);
    rc_heap_free(h);
}

/* Child mode: print the hashes of a str, an int and a float, and exit. */
TEST(zz_child_prints_hashes)
{
    if (!getenv("RC_HASH_CHILD")) return;
    rc_heap *h = quiet_heap();
    rc_str *s = rc_str_from_cstr(h, "hello, world");
    printf("HASH %016llx %016llx %016llx\n", (unsigned long long)rc_str_hash(s),
           (unsigned long long)rc_val_hash(rc_int(12345)), (unsigned long long)rc_val_hash(rc_float(2.5)));
    rc_decref(s);
    rc_heap_free(h);
    exit(0);
}

/* The hashes line of a child run with environment `env`. */
static char *child_hashes(const char *env, char *buf, size_t size)
{
    char cmd[512];
    buf[0] = 0;
    snprintf(cmd, sizeof cmd, "env -u RC_HASHSEED %s RC_HASH_CHILD=1 /proc/%ld/exe zz_child_prints_hashes", env,
             (long)getpid());
    FILE *p = popen(cmd, "r");
    if (!p) return buf;
    while (fgets(buf, (int)size, p) && strncmp(buf, "HASH ", 5)) buf[0] = 0;
    pclose(p);
    return buf;
}

TEST(hashes_are_random_per_process_unless_rc_hashseed_fixes_them)
{
    char a[128], b[128], c[128], d[128];
    child_hashes("", a, sizeof a);
    child_hashes("", b, sizeof b);
    REQUIRE(!strncmp(a, "HASH ", 5) && !strncmp(b, "HASH ", 5));
    CHECK(strcmp(a, b) != 0);   /* two random keys: equal with chance 2^-64 */
    child_hashes("RC_HASHSEED=42", a, sizeof a);
    child_hashes("RC_HASHSEED=42", b, sizeof b);
    child_hashes("RC_HASHSEED=43", c, sizeof c);
    child_hashes("RC_HASHSEED=random", d, sizeof d);
    REQUIRE(!strncmp(a, "HASH ", 5));
    CHECK(!strcmp(a, b));
    CHECK(strcmp(a, c) != 0);
    CHECK(strcmp(a, d) != 0);
}

RC_TEST_MAIN
