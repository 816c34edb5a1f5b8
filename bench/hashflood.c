/*
 * hashflood.c -- `recycle bench hashflood`: a dict fed keys made to collide
 * under recycle's old unkeyed str hash (bench/oldhash.h), against the same
 * number of random keys of the same length. With a keyed hash both take
 * about the same time; with the old hash the crafted keys were quadratic
 * (100,000 of them: about 40 s against 6 ms).
 */
#include "bench.h"
#include "oldhash.h"

#include "recycle/builtins.h"

#include <stdlib.h>

/* Insert n 16-byte keys (crafted or random) into a new dict; ms. */
static double fill(rc_heap *h, long n, int crafted, int *ok)
{
    rc_str **keys = malloc((size_t)n * sizeof *keys);
    if (!keys) return *ok = 0, 0;
    uint64_t x = 88172645463325252ull;
    for (long i = 0; i < n; i++) {
        char k[16];
        if (crafted) {
            oldhash_collider((uint64_t)i, k);
        } else {
            for (int j = 0; j < 16; j += 8) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                memcpy(k + j, &x, 8);
            }
        }
        keys[i] = rc_str_new(h, k, 16);
        if (!keys[i]) *ok = 0;
    }
    rc_dict *d = rc_dict_new(h);
    double t0 = bench_now_ms();
    for (long i = 0; i < n && *ok; i++)
        if (rc_dict_set(d, rc_obj(keys[i]), rc_int(i)) != 0) *ok = 0;
    double ms = bench_now_ms() - t0;
    if (*ok && rc_dict_len(d) != (size_t)n) *ok = 0;
    rc_xdecref(d);
    for (long i = 0; i < n; i++) rc_xdecref(keys[i]);
    free(keys);
    return ms;
}

static int run_hashflood(const cli_optvals *o)
{
    long n = cli_opts_int(o, "--n");
    rc_heap *h = rc_heap_new(NULL);
    if (!h) return 1;
    int ok = 1;
    double random_ms = fill(h, n, 0, &ok);
    double crafted_ms = fill(h, n, 1, &ok);
    rc_heap_free(h);
    if (!ok) {
        fprintf(stderr, "recycle bench hashflood: out of memory\n");
        return 1;
    }
    bench_emit("random_keys_ms", random_ms, "ms");
    bench_emit("crafted_keys_ms", crafted_ms, "ms");
    bench_emit("crafted_over_random", random_ms > 0 ? crafted_ms / random_ms : 0, "x");
    return 0;
}

static const cli_opt hashflood_opts[] = {{"--n", CLI_OPT_INT, 1, 1000000000, 100000, NULL}};

const bench_workload bench_hashflood_workload = {
    "hashflood", "dict inserts of keys made to collide under an unkeyed hash vs random keys",
    hashflood_opts, sizeof hashflood_opts / sizeof hashflood_opts[0], run_hashflood};
