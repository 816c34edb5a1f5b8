/* seeded.h -- what the seeded model tests share (test_model,
 * test_model_scale): a xorshift generator run from the seed, and FAIL,
 * which counts a seed's failures and prints the first five with the seed
 * that reproduces them. Each test sets rng and seed_now per seed and
 * resets failures. */
#ifndef RC_TEST_SEEDED_H
#define RC_TEST_SEEDED_H

#include <stdio.h>

static int failures;
static unsigned long long rng, seed_now;

/* A number below n. */
static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

#define FAIL(...)                                                              \
    do {                                                                       \
        if (failures++ < 5) {                                                  \
            fprintf(stderr, "seed %llu: ", seed_now);                          \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
        }                                                                      \
    } while (0)

#endif
