#!/usr/bin/env python3
"""Write the seed corpus of fuzz_api to fuzz/corpus (run from the repository root).

Every byte string is a valid input; these seeds only make sure that each
operation (the first byte of an operation, modulo 16) and each of its
variants appears early, beside enough objects to act on. For each operation
there are a few inputs in which it is frequent; a handful of longer mixed
inputs follow. Deterministic: the same files every time.
"""
import os
import random

NOPS = 16
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
NAMES = ["node", "node2", "container", "slot", "slot2", "ref", "ref2", "list",
         "collect", "dict", "dict2", "weak", "freeze", "config", "query", "leak"]


def op(rng, k):
    """One operation k with random argument bytes (the harness reads what it needs)."""
    return [k + NOPS * rng.randrange(16)] + [rng.randrange(256) for _ in range(rng.randrange(2, 7))]


def preamble(rng):
    """A few objects of every kind, some links."""
    b = []
    for _ in range(6):
        b += op(rng, rng.choice([0, 1, 2, 2]))
    for _ in range(4):
        b += op(rng, rng.choice([3, 7, 9, 11]))
    return b


def config(rng):
    return [rng.randrange(256) for _ in range(5)]


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    rng = random.Random(8)
    files = 0
    for k in range(NOPS):
        for v in range(3):
            b = config(rng) + preamble(rng)
            for _ in range(12 + 8 * v):
                b += op(rng, k if rng.random() < 0.5 else rng.randrange(NOPS))
            b += op(rng, 8)   # a collection at the end
            with open(os.path.join(OUT, "%02d-%s-%d" % (k, NAMES[k], v)), "wb") as f:
                f.write(bytes(b))
            files += 1
    for v in range(8):
        b = config(rng) + preamble(rng)
        for _ in range(150):
            b += op(rng, rng.randrange(NOPS))
        with open(os.path.join(OUT, "mixed-%d" % v), "wb") as f:
            f.write(bytes(b))
        files += 1
    print("%d files in %s" % (files, OUT))


if __name__ == "__main__":
    main()
