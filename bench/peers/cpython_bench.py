#!/usr/bin/python3
"""CPython peer for recycle's benchmark workloads (bench/WORKLOADS.md).

Run one workload per invocation with the system interpreter:

    /usr/bin/python3 bench/peers/cpython_bench.py W3 [--n 1000000]

It prints one line per metric, ``name value unit``, on stdout and nothing else.
Diagnostics, if any, go to stderr.

Object shapes follow WORKLOADS.md: a "node" is a 2-element list ``[slot0, slot1]``;
a tree node with a parent pointer is a 3-element list ``[left, right, parent]``.
Times come from time.perf_counter() (a monotonic clock).  Memory is the process's USS,
Private_Clean + Private_Dirty of /proc/self/smaps_rollup (what psutil calls uss), in MB of
2**20 bytes.
"""

import argparse
import gc
import io
import math
import os
import struct
import sys
import threading
import time

perf_counter = time.perf_counter


# --------------------------------------------------------------------------
# Measurement helpers
# --------------------------------------------------------------------------

def uss_bytes():
    """USS of this process in bytes: Private_Clean + Private_Dirty of smaps_rollup."""
    total_kb = 0
    with open("/proc/self/smaps_rollup", "rb") as f:
        for line in f:
            if line.startswith(b"Private_Clean:") or line.startswith(b"Private_Dirty:"):
                total_kb += int(line.split()[1])
    return total_kb * 1024


def uss_mb():
    return uss_bytes() / 1024 / 1024


def emit(name, value, unit, fmt="{:.3f}"):
    """Print one metric line: name value unit."""
    if isinstance(value, int):
        text = str(value)
    else:
        text = fmt.format(value)
    sys.stdout.write("%s %s %s\n" % (name, text, unit))


def percentile(values, fraction):
    """Nearest-rank percentile of a list (0 when it is empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = min(max(math.ceil(fraction * len(ordered)), 1), len(ordered))
    return ordered[rank - 1]


class PeakSampler:
    """Background thread that samples USS every `interval` seconds and keeps the peak.

    The thread spends nearly all its time asleep (Event.wait releases the GIL); each
    sample is one read of /proc/self/smaps_rollup.  sample() can also be called from the
    main thread at points of interest.
    """

    def __init__(self, interval):
        self.interval = interval
        self.peak = uss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self):
        value = uss_bytes()
        if value > self.peak:
            self.peak = value

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.sample()
        return False


# --------------------------------------------------------------------------
# Object builders shared by several workloads
# --------------------------------------------------------------------------

def build_parent_tree(depth, parent=None):
    """Complete binary tree of 2**depth - 1 nodes [left, right, parent]."""
    node = [None, None, parent]
    if depth > 1:
        node[0] = build_parent_tree(depth - 1, node)
        node[1] = build_parent_tree(depth - 1, node)
    return node


def make_garbage_cycles(count):
    """Create `count` two-node cycles (a[0] = b, b[0] = a) and keep none of them."""
    for _ in range(count):
        a = [None, None]
        b = [a, None]
        a[0] = b
    # Leaving the function drops the last cycle's outside references too.


# --------------------------------------------------------------------------
# W1 / W1c: list of N integers
# --------------------------------------------------------------------------

def w1_build_and_drop(n, cyclic, report):
    """Build the list(s) inside a function; return the clock reading taken just before
    the function returns, so the caller can time the release done by the return."""
    t0 = perf_counter()
    if cyclic:
        a = list(range(n))
        b = list(range(n))
        a.append(b)          # the two lists hold each other: a cycle
        b.append(a)
    else:
        a = list(range(n))
    t1 = perf_counter()
    report["build_ms"] = (t1 - t0) * 1e3
    report["uss_built_mb"] = uss_mb()
    return perf_counter()    # the list(s) are released as this frame goes away


def run_w1(args, cyclic=False):
    n = args.n or 10_000_000
    gc.collect()
    report = {"uss_start_mb": uss_mb()}
    t_return = w1_build_and_drop(n, cyclic, report)
    t_back = perf_counter()
    report["release_ms"] = (t_back - t_return) * 1e3
    report["uss_released_mb"] = uss_mb()
    if cyclic:
        t0 = perf_counter()
        gc.collect()
        report["collect_ms"] = (perf_counter() - t0) * 1e3
        report["uss_after_collect_mb"] = uss_mb()

    emit("uss_start_mb", report["uss_start_mb"], "MB")
    emit("uss_built_mb", report["uss_built_mb"], "MB")
    emit("uss_released_mb", report["uss_released_mb"], "MB")
    if cyclic:
        emit("uss_after_collect_mb", report["uss_after_collect_mb"], "MB")
    emit("build_ms", report["build_ms"], "ms")
    emit("release_ms", report["release_ms"], "ms")
    if cyclic:
        emit("collect_ms", report["collect_ms"], "ms")


# --------------------------------------------------------------------------
# W2: create + release an acyclic node
# --------------------------------------------------------------------------

def run_w2(args):
    n = args.n or 10_000_000
    keep = [None, None]                  # the long-lived node every new node refers to
    t0 = perf_counter()
    for _ in range(n):
        node = [keep, None]
        del node                         # refcount drops to zero: freed at once
    elapsed = perf_counter() - t0
    emit("ns_per_object", elapsed * 1e9 / n, "ns", "{:.2f}")


# --------------------------------------------------------------------------
# W3: garbage cycles, one full collection
# --------------------------------------------------------------------------

def run_w3(args):
    n = args.n or 1_000_000
    objects = 2 * n
    gc.collect()
    gc.disable()                          # automatic collection off
    uss0 = uss_bytes()
    t0 = perf_counter()
    make_garbage_cycles(n)
    t1 = perf_counter()
    uss1 = uss_bytes()
    t2 = perf_counter()
    freed = gc.collect()                  # explicit collection works while disabled
    t3 = perf_counter()
    gc.enable()

    emit("build_ns_per_object", (t1 - t0) * 1e9 / objects, "ns", "{:.2f}")
    emit("collect_ns_per_object", (t3 - t2) * 1e9 / objects, "ns", "{:.2f}")
    emit("collect_ms", (t3 - t2) * 1e3, "ms")
    emit("freed_objects", freed, "objects")
    emit("bytes_per_object", (uss1 - uss0) / objects, "B", "{:.1f}")


# --------------------------------------------------------------------------
# W4: live heap with parent pointers; full and youngest-generation collection
# --------------------------------------------------------------------------

def make_young_nodes(pairs):
    """The W4 young set: `pairs` garbage two-node cycles interleaved with 2 * `pairs`
    live nodes chained through slot 0 (node_i[0] = node_{i-1}).  Returns the chain's
    last node; the caller holds it in a local variable."""
    chain = None
    for _ in range(pairs):
        a = [None, None]                  # garbage cycle a <-> b
        b = [a, None]
        a[0] = b
        chain = [chain, None]             # two live chain nodes
        chain = [chain, None]
    return chain


def run_w4(args):
    depth = args.depth or 23
    young = args.young or 10_000
    nodes = (1 << depth) - 1
    gc.collect()
    uss0 = uss_bytes()
    t0 = perf_counter()
    root = build_parent_tree(depth)       # automatic collection stays on, as by default
    t1 = perf_counter()
    uss1 = uss_bytes()

    t2 = perf_counter()
    gc.collect()                          # full (generation 2); frees nothing
    t3 = perf_counter()

    # Automatic collection is paused while the young nodes are made, so that all of
    # them are still in generation 0 when gc.collect(0) runs (otherwise the automatic
    # generation-0 collections every 700 allocations would have aged most of them).
    gc.disable()
    chain = make_young_nodes(young // 4)
    t4 = perf_counter()
    young_freed = gc.collect(0)           # youngest generation only
    t5 = perf_counter()
    gc.enable()

    emit("build_ms", (t1 - t0) * 1e3, "ms")
    emit("bytes_per_node", (uss1 - uss0) / nodes, "B", "{:.1f}")
    emit("full_ms", (t3 - t2) * 1e3, "ms")
    emit("young_ms", (t5 - t4) * 1e3, "ms", "{:.4f}")
    emit("young_freed", young_freed, "objects")
    del chain, root


# --------------------------------------------------------------------------
# W5 / W5p: binary-trees (Computer Language Benchmarks Game)
# --------------------------------------------------------------------------

def make_tree(depth):
    """Bottom-up tree of 2**(depth+1) - 1 nodes [left, right]; leaves are [None, None]."""
    if depth == 0:
        return [None, None]
    return [make_tree(depth - 1), make_tree(depth - 1)]


def make_tree_p(depth, parent=None):
    """Same tree, nodes [left, right, parent]: every node is on a cycle."""
    node = [None, None, parent]
    if depth:
        node[0] = make_tree_p(depth - 1, node)
        node[1] = make_tree_p(depth - 1, node)
    return node


def check_tree(node):
    """Node count, as the benchmark's itemCheck."""
    left = node[0]
    if left is None:
        return 1
    return 1 + check_tree(left) + check_tree(node[1])


def run_w5(args, with_parent=False):
    max_depth = args.depth or 21
    min_depth = 4
    max_depth = max(min_depth + 2, max_depth)
    stretch_depth = max_depth + 1
    make = make_tree_p if with_parent else make_tree
    checksum = 0                          # sink standing in for the benchmark's output

    with PeakSampler(args.sample_ms / 1000.0) as sampler:
        t0 = perf_counter()
        checksum += check_tree(make(stretch_depth))

        long_lived = make(max_depth)
        for depth in range(min_depth, max_depth + 1, 2):
            iterations = 1 << (max_depth - depth + min_depth)
            check = 0
            for _ in range(iterations):
                check += check_tree(make(depth))
            if check != iterations * ((1 << (depth + 1)) - 1):
                sys.exit("W5: bad check at depth %d" % depth)
            checksum += check
        checksum += check_tree(long_lived)
        t1 = perf_counter()

    expected = ((1 << (stretch_depth + 1)) - 1) + ((1 << (max_depth + 1)) - 1)
    expected += sum((1 << (max_depth - d + min_depth)) * ((1 << (d + 1)) - 1)
                    for d in range(min_depth, max_depth + 1, 2))
    if checksum != expected:
        sys.exit("W5: checksum %d, expected %d" % (checksum, expected))

    emit("wall_ms", (t1 - t0) * 1e3, "ms", "{:.1f}")
    emit("peak_uss_mb", sampler.peak / 1024 / 1024, "MB", "{:.2f}")


def pause_recorder():
    """A list of pauses in seconds and the gc callback that appends to it:
    every collection, timed from its "start" to its "stop" call."""
    pauses = []
    started = [0.0]

    def on_gc(phase, info):
        if phase == "start":
            started[0] = perf_counter()
        else:                             # "stop"
            pauses.append(perf_counter() - started[0])

    return pauses, on_gc


# --------------------------------------------------------------------------
# W6: collector pauses with a large live heap and a steady flow of cycles
# --------------------------------------------------------------------------

def run_w6(args):
    depth = args.depth or 23
    seconds = args.seconds if args.seconds is not None else 5.0
    ring_size = args.ring or 100_000

    root = build_parent_tree(depth)
    t_settle = perf_counter()
    gc.collect()                          # settle: the tree is now in the oldest generation
    settle = perf_counter() - t_settle
    uss0 = uss_bytes()

    pauses, on_gc = pause_recorder()

    ring = [None] * ring_size
    slot = 0
    made = 0
    gc.callbacks.append(on_gc)
    t0 = perf_counter()
    deadline = t0 + seconds
    while True:
        for _ in range(1024):             # check the clock every 1024 cycles
            a = [None, None]
            b = [a, None]
            a[0] = b
            ring[slot] = a                # drops the cycle parked here ring_size ago
            slot += 1
            if slot == ring_size:
                slot = 0
        made += 1024
        now = perf_counter()
        if now >= deadline:
            break
    gc.callbacks.remove(on_gc)
    uss1 = uss_bytes()
    pause_file = os.environ.get("RC_PAUSES_FILE")
    if pause_file:                        # every pause in ms, one per line (compare.py)
        with open(pause_file, "w") as f:
            f.writelines("%.6f\n" % (p * 1e3) for p in pauses)

    emit("max_pause_ms", max(pauses) * 1e3 if pauses else 0.0, "ms")
    emit("p99_pause_ms", percentile(pauses, 0.99) * 1e3, "ms", "{:.4f}")
    emit("pauses", len(pauses), "collections")
    emit("cycles_per_s", made / (now - t0), "cycles/s", "{:.0f}")
    emit("uss_growth_mb", (uss1 - uss0) / 1024 / 1024, "MB", "{:.2f}")
    emit("total_pause_ms", sum(pauses) * 1e3, "ms")
    emit("settle_ms", settle * 1e3, "ms")
    del ring, root


# --------------------------------------------------------------------------
# W7: a growing heap -- the W4 tree built with collection on, garbage beside it
# --------------------------------------------------------------------------

def run_w7(args):
    depth = args.depth or 23
    sample_every = 1 << 16                # USS read every 65,536 tree nodes and at the end
    gc.collect()                          # settle the interpreter's own garbage first

    pauses, on_gc = pause_recorder()

    state = {"made": 0, "peak": 0, "sample_s": 0.0}

    def sample():
        t = perf_counter()
        value = uss_bytes()
        if value > state["peak"]:
            state["peak"] = value
        state["sample_s"] += perf_counter() - t

    def grow(levels, parent):
        """Depth-first, each node made before its children; after every 8th node a
        two-node garbage cycle is made and dropped at once."""
        node = [None, None, parent]
        made = state["made"] = state["made"] + 1
        if made % 8 == 0:
            a = [None, None]
            a[0] = [a, None]
            a = None
        if made % sample_every == 0:
            sample()
        if levels > 1:
            node[0] = grow(levels - 1, node)
            node[1] = grow(levels - 1, node)
        return node

    gc.callbacks.append(on_gc)
    uss0 = uss_bytes()
    state["peak"] = uss0
    t0 = perf_counter()
    root = grow(depth, None)
    t1 = perf_counter()
    gc.callbacks.remove(on_gc)
    sample_s = state["sample_s"]
    sample()
    uss1 = uss_bytes()
    pause_file = os.environ.get("RC_PAUSES_FILE")
    if pause_file:
        with open(pause_file, "w") as f:
            f.writelines("%.6f\n" % (p * 1e3) for p in pauses)

    emit("build_ms", (t1 - t0 - sample_s) * 1e3, "ms")
    emit("max_pause_ms", max(pauses) * 1e3 if pauses else 0.0, "ms")
    emit("p99_pause_ms", percentile(pauses, 0.99) * 1e3, "ms", "{:.4f}")
    emit("pauses", len(pauses), "collections")
    emit("total_pause_ms", sum(pauses) * 1e3, "ms")
    emit("peak_uss_mb", state["peak"] / 1024 / 1024, "MB")
    emit("uss_growth_mb", (uss1 - uss0) / 1024 / 1024, "MB")
    del root


# --------------------------------------------------------------------------
# W8: catalog -- rows into a dict of name -> (version, month, summary)
# --------------------------------------------------------------------------

CATALOG_MAX_LINE = 65536                  # bytes of one --input line, "\n" not counted
CATALOG_MAX_INPUT = 1 << 30               # bytes of an --input file


def catalog_text(n):
    """The first n rows of W8's generator as TSV bytes, each line ending in "\n".

    The same bytes as recycle's bench/catalog.c (tests/catalog_check.sh compares them):
    a byte stream made of xorshift64* outputs (shifts 12, 25, 27, multiplier
    0x2545F4914F6CDD1D, state 42), each as 8 bytes least significant first; a number
    below k (k <= 256) is one byte b: b * k >> 8; below 1000, two bytes lo, hi:
    (lo | hi << 8) * 1000 >> 16.  A row takes: the name's word count (1 + below 4), per
    word its length (2 + below 8) and one byte per letter ('a' + b * 26 >> 8); the
    version (below 30, below 100, below 1000); the month (2005 + below 22, 1 + below
    12); the summary's word count (below 31), per word its length (1 + below 12) and one
    byte per character ('!' + b * 94 >> 8)."""
    mask = (1 << 64) - 1
    mult = 0x2545F4914F6CDD1D
    lower = bytes(0x61 + (b * 26 >> 8) for b in range(256))
    printable = bytes(0x21 + (b * 94 >> 8) for b in range(256))
    chunk = 4096                          # outputs made at a time
    pack = "<%dQ" % chunk
    x = 42
    buf, pos = b"", 0
    out = bytearray()
    for _ in range(n):
        if len(buf) - pos < 448:          # the most one row can take
            draws = []
            push = draws.append
            for _ in range(chunk):
                x ^= x >> 12
                x ^= (x << 25) & mask
                x ^= x >> 27
                push((x * mult) & mask)
            buf, pos = buf[pos:] + struct.pack(pack, *draws), 0
        b, p = buf, pos
        words = []
        for _ in range(1 + (b[p] * 4 >> 8)):
            p += 1
            length = 2 + (b[p] * 8 >> 8)
            words.append(b[p + 1:p + 1 + length].translate(lower))
            p += length
        p += 1
        out += b"-".join(words)
        out += b"\t%d.%d.%d\t%04d-%02d\t" % (
            b[p] * 30 >> 8, b[p + 1] * 100 >> 8, (b[p + 2] | b[p + 3] << 8) * 1000 >> 16,
            2005 + (b[p + 4] * 22 >> 8), 1 + (b[p + 5] * 12 >> 8))
        p += 6
        words = []
        for _ in range(b[p] * 31 >> 8):
            p += 1
            length = 1 + (b[p] * 12 >> 8)
            words.append(b[p + 1:p + 1 + length].translate(printable))
            p += length
        pos = p + 1
        out += b" ".join(words)
        out += b"\n"
    return bytes(out)


def catalog_refuse(msg):
    sys.stderr.write("cpython_bench W8: %s\n" % msg)
    sys.exit(2)


def catalog_load(path):
    """The rows of a TSV file (name, version, month, summary), checked as recycle checks
    them; exits 2 with one line on stderr for a file it refuses."""
    try:
        if os.path.exists(path) and not os.path.isfile(path):
            catalog_refuse("--input %s: not a regular file" % path)
        with open(path, "rb") as f:
            data = f.read(CATALOG_MAX_INPUT + 1)
    except OSError as e:
        catalog_refuse("--input %s: %s" % (path, e.strerror))
    if len(data) > CATALOG_MAX_INPUT:
        catalog_refuse("--input %s: larger than %d bytes" % (path, CATALOG_MAX_INPUT))
    if not data:
        catalog_refuse("--input %s: empty file, no rows" % path)
    if not data.endswith(b"\n"):
        data += b"\n"                     # a last line without its newline
    for number, line in enumerate(data[:-1].split(b"\n"), 1):
        why = None
        if len(line) > CATALOG_MAX_LINE:
            why = "line longer than %d bytes" % CATALOG_MAX_LINE
        elif b"\0" in line:
            why = "NUL byte"
        elif b"\r" in line:
            why = "carriage return (lines must end with \\n alone)"
        else:
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                why = "not valid UTF-8"
        if why is None:
            tabs = line.count(b"\t")
            if tabs != 3:
                why = "%d field%s, not 4 (name, version, month, summary, separated by tabs)" % (
                    tabs + 1, "s" if tabs else "")
            elif line.startswith(b"\t"):
                why = "empty name"
        if why:
            catalog_refuse("--input %s:%d: %s" % (path, number, why))
    return data


def catalog_lines(data):
    """The rows as str lines, one at a time, as a text file yields them."""
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline="\n")


def run_w8(args):
    if args.input and args.n:
        catalog_refuse("--n and --input exclude each other")
    data = catalog_load(args.input) if args.input else catalog_text(args.n or 1_000_000)
    if args.dump_rows:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        return
    rows = data.count(b"\n")
    gc.collect()
    uss0 = uss_bytes()
    t0 = perf_counter()
    catalog = {}
    for line in catalog_lines(data):
        name, version, month, summary = line[:-1].split("\t")
        catalog[name] = (version, month, summary)
    t1 = perf_counter()
    uss1 = uss_bytes()

    names = [line.split("\t", 1)[0] for line in catalog_lines(data)]   # new, equal strs
    t2 = perf_counter()
    for name in names:
        catalog[name]
    t3 = perf_counter()
    keys = len(catalog)
    del names

    t4 = perf_counter()
    del catalog
    t5 = perf_counter()
    uss2 = uss_bytes()

    emit("build_ms", (t1 - t0) * 1e3, "ms")
    emit("lookup_ns", (t3 - t2) * 1e9 / rows, "ns")
    emit("release_ms", (t5 - t4) * 1e3, "ms")
    emit("uss_growth_mb", (uss1 - uss0) / 1024 / 1024, "MB")
    emit("uss_after_release_mb", (uss2 - uss0) / 1024 / 1024, "MB")
    emit("rows", rows, "rows")
    emit("keys", keys, "keys")


# --------------------------------------------------------------------------

WORKLOADS = {
    "W1": lambda a: run_w1(a, cyclic=False),
    "W1c": lambda a: run_w1(a, cyclic=True),
    "W2": run_w2,
    "W3": run_w3,
    "W4": run_w4,
    "W5": lambda a: run_w5(a, with_parent=False),
    "W5p": lambda a: run_w5(a, with_parent=True),
    "W6": run_w6,
    "W7": run_w7,
    "W8": run_w8,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=sorted(WORKLOADS))
    parser.add_argument("--n", type=int, default=0,
                        help="W1/W1c: integers per list; W2: objects; W3: cycles; W8: rows")
    parser.add_argument("--depth", type=int, default=0,
                        help="W4/W6/W7: tree levels (2**depth-1 nodes, default 23); "
                             "W5/W5p: benchmark depth (default 21)")
    parser.add_argument("--young", type=int, default=0,
                        help="W4: new nodes before the young collection (default 10000)")
    parser.add_argument("--seconds", type=float, default=None,
                        help="W6: duration of the cycle loop (default 5)")
    parser.add_argument("--ring", type=int, default=0,
                        help="W6: ring slots (default 100000)")
    parser.add_argument("--input", default=None,
                        help="W8: read the rows from this TSV file (name, version, month, "
                             "summary) instead of making them")
    parser.add_argument("--dump-rows", action="store_true",
                        help="W8: print the rows as TSV and measure nothing")
    parser.add_argument("--sample-ms", type=float, default=10.0,
                        help="W5/W5p: USS sampling interval in ms (default 10)")
    args = parser.parse_args()
    if sys.getrecursionlimit() < 10000:
        sys.setrecursionlimit(10000)
    WORKLOADS[args.workload](args)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
