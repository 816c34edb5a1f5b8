"""What is run: the systems, the workload groups and their rows, which way each metric is better, and the shared log."""

import os
import sys


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


# The systems, in column order.  CPython is Debian's /usr/bin/python3; newer CPythons
# found at run time (cpython3.12, ...) join it (see is_newer_cpython).  bdwgc-gen is
# bdwgc in its generational mode (bdwgc_bench --incremental); mimalloc and jemalloc are
# malloc_bench linked against those allocators.
SYSTEMS = ("recycle", "CPython", "bdwgc", "bdwgc-gen", "malloc", "mimalloc", "jemalloc")


PEERS = SYSTEMS[1:]


COLLECTED = ("recycle", "CPython", "bdwgc")       # systems that can free cycles


MALLOCS = ("malloc", "mimalloc", "jemalloc")      # explicit free, no collector


EVERY = COLLECTED + MALLOCS


GENERATIONAL = COLLECTED + ("bdwgc-gen",)         # W4's young collection, W6-W7's pauses


COLOURS = {"recycle": "#2e8b57", "CPython": "#3572a5", "bdwgc": "#e37933",
           "bdwgc-gen": "#b8860b", "malloc": "#777777", "mimalloc": "#9467bd",
           "jemalloc": "#8c564b"}


MORE_COLOURS = ("#17becf", "#1f3f8f", "#7f7f00", "#d62728")


def colour(system, peers=PEERS):
    """A system's colour in the pictures; newer CPythons take the spare ones in turn."""
    if system in COLOURS:
        return COLOURS[system]
    extra = [p for p in peers if p not in COLOURS]
    i = extra.index(system) if system in extra else 0
    return MORE_COLOURS[i % len(MORE_COLOURS)]


NEWER_CPYTHON_PREFIX = "cpython3."


def is_newer_cpython(system):
    """cpython3.12, cpython3.13, ...: an interpreter newer than Debian's, found on PATH."""
    return system.startswith(NEWER_CPYTHON_PREFIX)


RUN_TIMEOUT_S = 600          # no single full-size run comes near this


REPORT_RESERVE_S = 20        # budget kept for writing files and drawing


CPYTHON_ESTIMATE_MARGIN = 1.25


class Group:
    """One workload at one size, run on several systems.

    `key` names it in results.json; `args` are the size options (empty: the defaults of
    WORKLOADS.md), `quick_args` those of --quick.  `once` lists systems that run it at
    most once, after all repetitions, and only when the budget allows (CPython's W5 at
    depth 21).  `headline` is the metric drawn in ratios.png."""

    def __init__(self, key, workload, args, quick_args, systems, headline, once=()):
        self.key, self.workload = key, workload
        self.full_args, self.quick_args = list(args), list(quick_args)
        self.systems, self.headline, self.once = tuple(systems), headline, tuple(once)
        self.args = self.full_args

    def runs_on(self, system):
        """Whether the system runs this group in every repetition (not the `once` runs).

        A newer CPython runs what Debian's CPython runs."""
        return system in self.systems or (is_newer_cpython(system) and "CPython" in self.systems)

    def label(self):
        """Workload name plus the size options, e.g. `W5 --depth 18`."""
        return " ".join([self.workload] + self.args)


GROUPS = [
    Group("W1", "W1", [], ["--n", "1000000"], EVERY, "uss_growth_mb"),
    Group("W1c", "W1c", [], ["--n", "1000000"], COLLECTED, "collect_ms"),
    Group("W2", "W2", [], ["--n", "1000000"], EVERY, "ns_per_object"),
    Group("W3", "W3", [], ["--n", "100000"], COLLECTED, "collect_ns_per_object"),
    Group("W4", "W4", [], ["--depth", "18"], GENERATIONAL, "full_ms"),
    # The parallel full collection: recycle on 2 threads (rc_gc_set_parallel), bdwgc
    # with 2 markers; the W4 row above is both on one thread.
    Group("W4@2", "W4", ["--workers", "2"], ["--depth", "18", "--workers", "2"],
          ("recycle", "bdwgc"), "full_ms"),
    Group("W5", "W5", [], ["--depth", "14"], ("recycle", "bdwgc") + MALLOCS, "wall_ms",
          once=("CPython",)),
    Group("W5@18", "W5", ["--depth", "18"], ["--depth", "12"], EVERY, "wall_ms"),
    Group("W5p", "W5p", [], ["--depth", "14"], ("recycle", "bdwgc"), "wall_ms"),
    Group("W5p@18", "W5p", ["--depth", "18"], ["--depth", "12"], COLLECTED, "wall_ms"),
    Group("W6", "W6", [], ["--depth", "18", "--seconds", "1"], GENERATIONAL, "max_pause_ms"),
    Group("W7", "W7", [], ["--depth", "18"], GENERATIONAL, "total_pause_ms"),
    Group("W8", "W8", [], ["--n", "50000"], ("recycle", "CPython"), "build_ms"),
]


# Metric rows per workload, in table order.  Derived rows (see derive()) replace the
# absolute USS readings of W1/W1c by differences from the start (W6 prints its own
# uss_growth_mb: USS at the end minus after building the tree).
ROWS = {
    "W1": ["uss_start_mb", "uss_growth_mb", "uss_left_mb", "build_ms", "release_ms"],
    "W1c": ["uss_start_mb", "uss_growth_mb", "uss_left_mb", "uss_left_after_collect_mb",
            "build_ms", "release_ms", "collect_ms"],
    "W2": ["ns_per_object"],
    "W3": ["build_ns_per_object", "collect_ns_per_object", "collect_ms", "freed_objects",
           "bytes_per_object"],
    "W4": ["build_ms", "bytes_per_node", "full_ms", "young_ms", "young_freed"],
    "W5": ["wall_ms", "peak_uss_mb"],
    "W5p": ["wall_ms", "peak_uss_mb"],
    "W6": ["max_pause_ms", "p99_pause_ms", "pauses", "cycles_per_s", "uss_growth_mb",
           "total_pause_ms", "settle_ms"],
    "W7": ["build_ms", "max_pause_ms", "p99_pause_ms", "pauses", "total_pause_ms",
           "peak_uss_mb", "uss_growth_mb"],
    "W8": ["build_ms", "lookup_ns", "release_ms", "uss_growth_mb", "uss_after_release_mb",
           "rows", "keys"],
}


HIDDEN = {"uss_built_mb", "uss_released_mb", "uss_after_collect_mb"}  # shown as deltas


DERIVED_TEXT = {
    "uss_growth_mb": "built − start",
    "uss_left_mb": "released − start",
    "uss_left_after_collect_mb": "after collect − start",
}


# Which way is better: -1 lower, +1 higher, 0 neither (sizes, counts, correctness).
DIRECTION = {
    "uss_start_mb": 0, "freed_objects": 0, "young_freed": 0, "pauses": 0,
    "cycles_per_s": +1,
    "rows": 0, "keys": 0,                          # W8: what was built (the same everywhere)
}


# Differences smaller than this (or 5 % of recycle's value) count as a tie.
TIE_FRACTION = 0.05


TIE_ABSOLUTE = {"MB": 0.5, "ms": 0.01, "ns": 0.5, "B": 0.5}


# Comparisons that say nothing: bdwgc frees nothing when W1's function returns.
NOT_COMPARABLE = {("W1", "release_ms", "bdwgc"), ("W1c", "release_ms", "bdwgc")}


# What a reader must know beside some figures: (workload, system) -> (metrics, text).
# The table marks those cells and prints the text under it.
LAZY_SWEEP = ("its lazy sweep is not in these pauses: it runs inside allocation, a block "
              "at a time, and counts in `cycles_per_s` only")
GROWTH = ("its lazy sweep and the growing of its heap are not in these pauses: both run "
          "inside allocation, outside any collection, and count in `build_ms` only")
CAVEATS = {
    ("W4", "bdwgc"): (("young_ms", "young_freed"),
                      "bdwgc: no young collection in its default mode (no generations); "
                      "see bdwgc-gen"),
    ("W4", "bdwgc-gen"): (("full_ms",),
                          "bdwgc-gen: its full collection is not timed (finishing that "
                          "collection's sweep would clear the marks its young collection "
                          "builds on); see bdwgc"),
    ("W6", "bdwgc"): (("max_pause_ms", "p99_pause_ms", "total_pause_ms"), "bdwgc: " + LAZY_SWEEP),
    ("W6", "bdwgc-gen"): (("max_pause_ms", "p99_pause_ms", "total_pause_ms", "settle_ms"),
                          "bdwgc-gen: " + LAZY_SWEEP + "; the settling collection's sweep is "
                          "left to allocation too (finishing it would clear the marks "
                          "generational mode builds on)"),
    ("W7", "bdwgc"): (("max_pause_ms", "p99_pause_ms", "total_pause_ms"), "bdwgc: " + GROWTH),
    ("W7", "bdwgc-gen"): (("max_pause_ms", "p99_pause_ms", "total_pause_ms"),
                          "bdwgc-gen: " + GROWTH),
}


def direction(metric):
    return DIRECTION.get(metric, -1)


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def binary_trees_nodes(depth, min_depth=4):
    """Nodes binary-trees allocates at `depth` (stretch, long-lived and iteration trees)."""
    depth = max(depth, min_depth + 2)
    total = (1 << (depth + 2)) - 1 + (1 << (depth + 1)) - 1
    for d in range(min_depth, depth + 1, 2):
        total += (1 << (depth - d + min_depth)) * ((1 << (d + 1)) - 1)
    return total


def depth_of(args, default):
    return int(args[args.index("--depth") + 1]) if "--depth" in args else default


def cut_repeats(reps, runs):
    """The (group key, system, repetitions) of `reps` (group key -> system ->
    repetitions) that ran fewer than `runs` times, in order. A state saved before
    repetitions were counted per system has one count per group: "every system"."""
    return [(g, s, n) for g, per in reps.items()
            for s, n in (per.items() if isinstance(per, dict) else [("every system", per)])
            if n < runs]
