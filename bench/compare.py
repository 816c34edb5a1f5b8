#!/usr/bin/python3
"""Run recycle's benchmark workloads beside its peers and write bench/results/.

    /usr/bin/python3 bench/compare.py            # full sizes, 3 runs, ~17 min budget
    /usr/bin/python3 bench/compare.py --quick    # small sizes, 1 run, under a minute

`make compare` installs what is missing, builds ./build/recycle and runs this.
The script builds the peers (bench/peers/build.sh build/peers), runs every workload
of bench/WORKLOADS.md on every system that has it (recycle, CPython, bdwgc, malloc),
several times, interleaved: each repetition goes once round all workloads and, inside
a workload, round all systems (in an order rotated every repetition).  Every program
prints `name value unit` lines; the medians with min-max, the peer/recycle ratios and
the design targets go to RESULTS.md, the raw runs to results.json, and gnuplot draws
ratios.png and w6_pauses.png.

Nothing is tuned per workload: every system runs with its default settings, and the
sizes are those of WORKLOADS.md (plus binary-trees at depth 18, where CPython can keep
up).  The only thing that adapts is how many times the slowest workloads are repeated,
so that the whole run fits its time budget (--budget-min); the report says when that
happened.

W6 pause distribution: when the environment variable RC_PAUSES_FILE names a file, a W6
implementation writes every collector pause there, one duration in ms per line.  The
picture is drawn from those files for the systems that wrote one.

Standard library only; run it with Debian's /usr/bin/python3.
"""

import argparse
import datetime
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

SYSTEMS = ("recycle", "CPython", "bdwgc", "malloc")
PEERS = SYSTEMS[1:]
COLLECTED = ("recycle", "CPython", "bdwgc")       # systems that can free cycles
COLOURS = {"recycle": "#2e8b57", "CPython": "#3572a5", "bdwgc": "#e37933",
           "malloc": "#777777"}

RUN_TIMEOUT_S = 600          # no single full-size run comes near this
REPORT_RESERVE_S = 20        # budget kept for writing files and drawing
CPYTHON_ESTIMATE_MARGIN = 1.25


# --------------------------------------------------------------------------------------
# What is run
# --------------------------------------------------------------------------------------

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

    def label(self):
        """Workload name plus the size options, e.g. `W5 --depth 18`."""
        return " ".join([self.workload] + self.args)


GROUPS = [
    Group("W1", "W1", [], ["--n", "1000000"], SYSTEMS, "uss_growth_mb"),
    Group("W1c", "W1c", [], ["--n", "1000000"], COLLECTED, "collect_ms"),
    Group("W2", "W2", [], ["--n", "1000000"], SYSTEMS, "ns_per_object"),
    Group("W3", "W3", [], ["--n", "100000"], COLLECTED, "collect_ns_per_object"),
    Group("W4", "W4", [], ["--depth", "18"], COLLECTED, "full_ms"),
    Group("W5", "W5", [], ["--depth", "14"], ("recycle", "bdwgc", "malloc"), "wall_ms",
          once=("CPython",)),
    Group("W5@18", "W5", ["--depth", "18"], ["--depth", "12"], SYSTEMS, "wall_ms"),
    Group("W5p", "W5p", [], ["--depth", "14"], ("recycle", "bdwgc"), "wall_ms"),
    Group("W5p@18", "W5p", ["--depth", "18"], ["--depth", "12"], COLLECTED, "wall_ms"),
    Group("W6", "W6", [], ["--depth", "18", "--seconds", "1"], COLLECTED, "max_pause_ms"),
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
           "total_pause_ms"],
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
}
# Differences smaller than this (or 5 % of recycle's value) count as a tie.
TIE_FRACTION = 0.05
TIE_ABSOLUTE = {"MB": 0.5, "ms": 0.01, "ns": 0.5, "B": 0.5}
# Comparisons that say nothing: bdwgc frees nothing when W1's function returns.
NOT_COMPARABLE = {("W1", "release_ms", "bdwgc"), ("W1c", "release_ms", "bdwgc")}


def direction(metric):
    return DIRECTION.get(metric, -1)


# --------------------------------------------------------------------------------------
# Targets (issue 5 / DESIGN.md), checked on recycle's medians
# --------------------------------------------------------------------------------------

class Target:
    """recycle's median `op` limit, where limit = factor × (peer's median, or 1).

    op is "le" (≤), "lt" (<) or "ge" (≥)."""

    def __init__(self, text, op, factor, peer=None, source="issue 5"):
        self.text, self.op, self.factor, self.peer, self.source = text, op, factor, peer, source

    def check(self, value, peer_medians, unit):
        """Returns (status, explanation); status is "met", "missed" or "n/a"."""
        if value is None:
            return "n/a", "no recycle result"
        if self.peer:
            base = peer_medians.get(self.peer)
            if base is None:
                return "n/a", "no %s result" % self.peer
            limit = self.factor * base
        else:
            limit = self.factor
        ok = {"le": value <= limit, "lt": value < limit, "ge": value >= limit}[self.op]
        if self.peer and limit > 0 and value >= 0:
            # Relative target: margin in per cent of the limit.
            pct = abs(value - limit) / limit * 100
            side = ("over" if value > limit else "under") if self.op != "ge" else \
                   ("above" if value > limit else "below")
            why = "limit %s %s, %s %s" % (fmt(limit), unit, fmt_pct(pct), side)
        else:
            diff = abs(value - limit)
            side = ("over" if value > limit else "to spare") if self.op != "ge" else \
                   ("to spare" if value > limit else "short")
            why = "%s %s %s" % (fmt(diff), unit, side)
        return ("met" if ok else "missed"), why


TARGETS = {
    ("W1", "uss_growth_mb"): [Target("≤ 80 MB", "le", 80)],
    ("W1", "uss_left_mb"): [Target("≤ 0.5 MB", "le", 0.5)],
    ("W2", "ns_per_object"): [Target("≤ 1.0 × malloc", "le", 1.0, "malloc")],
    ("W3", "collect_ns_per_object"): [Target("≤ CPython / 10", "le", 0.1, "CPython")],
    ("W3", "bytes_per_object"): [Target("≤ 34 B", "le", 34)],
    ("W4", "full_ms"): [Target("≤ CPython / 5", "le", 0.2, "CPython"),
                        Target("< bdwgc", "lt", 1.0, "bdwgc")],
    ("W4", "young_ms"): [Target("≤ 0.1 ms", "le", 0.1)],
    ("W4", "bytes_per_node"): [Target("≤ 42 B", "le", 42)],
    ("W6", "max_pause_ms"): [Target("≤ 10 ms", "le", 10)],
    ("W6", "p99_pause_ms"): [Target("≤ 2 ms", "le", 2)],
    ("W6", "uss_growth_mb"): [Target("≤ CPython's", "le", 1.0, "CPython")],
    ("W6", "cycles_per_s"): [Target("≥ CPython's", "ge", 1.0, "CPython",
                                    source="DESIGN.md")],
}
for _key in ("W5", "W5@18", "W5p", "W5p@18"):
    TARGETS[(_key, "wall_ms")] = [Target("< bdwgc", "lt", 1.0, "bdwgc")]
    if not _key.startswith("W5p"):
        TARGETS[(_key, "wall_ms")].append(Target("≤ 2 × malloc", "le", 2.0, "malloc"))


# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------

def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def fmt(v):
    """A number with about three significant digits, without exponent."""
    if v is None:
        return "—"
    a = abs(v)
    if a == 0:
        return "0"
    if a >= 1000:
        return "{:,.0f}".format(v)
    if a >= 100:
        return "{:.0f}".format(v)
    if a >= 10:
        return "{:.1f}".format(v)
    if a >= 1:
        return "{:.2f}".format(v)
    if a >= 0.001:
        return "{:.3g}".format(v)
    return "{:.2g}".format(v)


def fmt_pct(p):
    return "{:.0f} %".format(p) if p >= 10 else "{:.1f} %".format(p)


def fmt_ratio(r):
    if r is None:
        return "—"
    if r >= 100:
        return "{:,.0f}×".format(r)
    if r >= 10:
        return "{:.0f}×".format(r)
    if r >= 0.1:
        return "{:.2f}×".format(r)
    return "{:.2g}×".format(r)


def output_of(cmd):
    """First line of a command's output, or None if it fails."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        if out.returncode != 0:
            return None
        text = (out.stdout or out.stderr).strip()
        return text.splitlines()[0] if text else None
    except (OSError, subprocess.SubprocessError):
        return None


def binary_trees_nodes(depth, min_depth=4):
    """Nodes binary-trees allocates at `depth` (stretch, long-lived and iteration trees)."""
    depth = max(depth, min_depth + 2)
    total = (1 << (depth + 2)) - 1 + (1 << (depth + 1)) - 1
    for d in range(min_depth, depth + 1, 2):
        total += (1 << (depth - d + min_depth)) * ((1 << (d + 1)) - 1)
    return total


def relative(cmd):
    """A command line with paths inside the repository made relative to it."""
    return [os.path.relpath(c, ROOT) if os.path.isabs(c) and c.startswith(ROOT + os.sep)
            else c for c in cmd]


def depth_of(args, default):
    return int(args[args.index("--depth") + 1]) if "--depth" in args else default


# --------------------------------------------------------------------------------------
# Machine description
# --------------------------------------------------------------------------------------

def machine_info(paths):
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            models = [l.split(":", 1)[1].strip() for l in f if l.startswith("model name")]
        info["cpu"] = models[0] if models else platform.processor()
        info["cpu_threads_listed"] = len(models)
    except OSError:
        info["cpu"] = platform.processor()
    info["cores"] = os.cpu_count()
    try:
        with open("/proc/meminfo") as f:
            kb = next(int(l.split()[1]) for l in f if l.startswith("MemTotal:"))
        info["memory"] = "%.1f GiB" % (kb / 1024 / 1024)
    except (OSError, StopIteration):
        info["memory"] = "?"
    info["kernel"] = platform.release()
    info["os"] = output_of(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"])
    info["gcc"] = output_of(["gcc", "--version"])
    info["glibc"] = output_of(["ldd", "--version"])
    info["cpython"] = output_of([PYTHON, "-c", "import sys; print(sys.version)"])
    info["libgc"] = output_of(["dpkg-query", "-W", "-f", "${Package} ${Version}",
                               "libgc-dev"])
    info["gnuplot"] = output_of(["gnuplot", "--version"])
    info["recycle"] = output_of([paths["recycle"], "--version"])
    commit = output_of(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip() if commit else ""
    info["commit"] = (commit or "?") + (" with local changes" if dirty else "")
    info["load_at_start"] = " ".join(open("/proc/loadavg").read().split()[:3])
    info["date"] = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return info


# --------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------

def command(system, group, paths):
    tail = [group.workload] + group.args
    if system == "recycle":
        return [paths["recycle"], "bench"] + tail
    if system == "CPython":
        return [PYTHON, os.path.join(ROOT, "bench", "peers", "cpython_bench.py")] + tail
    return [paths[system]] + tail


def parse_metrics(stdout):
    """`name value unit` lines -> ({name: [value, unit]}, [lines not understood])."""
    metrics, other = {}, []
    for line in stdout.splitlines():
        parts = line.split()
        if not parts or line.startswith("#"):
            continue
        try:
            if len(parts) != 3:
                raise ValueError
            metrics[parts[0]] = [float(parts[1]), parts[2]]
        except ValueError:
            other.append(line)
    return metrics, other


def derive(metrics):
    """Adds the USS differences of W1/W1c (see DERIVED_TEXT)."""
    start = metrics.get("uss_start_mb")
    if not start:
        return
    for src, dst in (("uss_built_mb", "uss_growth_mb"), ("uss_released_mb", "uss_left_mb"),
                     ("uss_after_collect_mb", "uss_left_after_collect_mb")):
        if src in metrics:
            metrics[dst] = [metrics[src][0] - start[0], "MB"]


def run_one(system, group, rep, paths, work, timeout):
    """Runs one program once; returns the record stored in results.json."""
    cmd = command(system, group, paths)
    env = dict(os.environ)
    pause_file = None
    if group.workload == "W6":
        pause_file = os.path.join(work, "pauses", "%s_%s_r%d.txt" % (group.key, system, rep))
        if os.path.exists(pause_file):
            os.remove(pause_file)
        env["RC_PAUSES_FILE"] = pause_file
    record = {"group": group.key, "workload": group.workload, "args": group.args,
              "system": system, "rep": rep, "command": relative(cmd)}
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT,
                              timeout=timeout)
        record["exit"], stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as e:
        record["exit"] = "timeout after %d s" % timeout
        stdout = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        stderr = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
    record["seconds"] = round(time.monotonic() - t0, 3)
    record["metrics"], other = parse_metrics(stdout)
    derive(record["metrics"])
    if other:
        record["unparsed"] = other[:20]
    if stderr.strip():
        record["stderr"] = stderr.strip().splitlines()[-10:]
    record["ok"] = record["exit"] == 0 and bool(record["metrics"])
    if pause_file and os.path.exists(pause_file):
        record["pause_file"] = os.path.relpath(pause_file, ROOT)
        record["pauses_in_file"] = len(read_pauses(pause_file))
    status = "ok" if record["ok"] else "FAILED (%s)" % record["exit"]
    log("  %-7s %-22s %7.1f s  %s" % (system, group.label(), record["seconds"], status))
    return record


def plan_repeats(costs, runs, budget_left):
    """How many repetitions each group gets after the first one.

    `costs` maps a group key to the seconds its first repetition took (all systems).
    Starting from `runs` for every group, the most expensive group still above one
    repetition loses one until the remaining repetitions fit `budget_left`."""
    reps = {k: runs for k in costs}
    while sum((reps[k] - 1) * c for k, c in costs.items()) > budget_left:
        candidates = [k for k in costs if reps[k] > 1]
        if not candidates:
            break
        reps[max(candidates, key=lambda k: costs[k])] -= 1
    return reps


def run_all(groups, systems, paths, work, opts, deadline):
    """All repetitions, interleaved; then the at-most-once runs.

    Returns (runs, notes, reps) where reps maps each group key to its repetitions."""
    runs, notes = [], []
    reps = {g.key: opts.runs for g in groups}
    for rep in range(1, opts.runs + 1):
        todo = [g for g in groups if reps[g.key] >= rep]
        if not todo:
            break
        log("repetition %d/%d: %s" % (rep, opts.runs, " ".join(g.key for g in todo)))
        for g in todo:
            order = [s for s in g.systems if s in systems]
            shift = (rep - 1) % len(order) if order else 0
            for system in order[shift:] + order[:shift]:      # rotate the start
                runs.append(run_one(system, g, rep, paths, work, RUN_TIMEOUT_S))
        if rep == 1 and opts.runs > 1:
            costs = {g.key: sum(r["seconds"] for r in runs if r["group"] == g.key)
                     for g in groups}
            left = deadline - time.monotonic() - REPORT_RESERVE_S
            reps = plan_repeats(costs, opts.runs, left)
            cut = {k: v for k, v in reps.items() if v < opts.runs}
            if cut:
                notes.append(
                    "To stay within the %g-minute budget (the first repetition took "
                    "%.1f min), these workloads ran fewer than %d times: %s."
                    % (opts.budget_min, sum(costs.values()) / 60, opts.runs,
                       ", ".join("%s %d×" % (next(g.label() for g in groups if g.key == k), v)
                                 for k, v in cut.items())))
    for g in groups:
        for system in g.once:
            if system in systems:
                runs_once = run_once_if_affordable(g, system, runs, paths, work, opts,
                                                   deadline, notes)
                runs.extend(runs_once)
    return runs, notes, reps


def run_once_if_affordable(group, system, runs, paths, work, opts, deadline, notes):
    """CPython's W5 at the full depth: once, if its estimate fits the budget left.

    The estimate scales CPython's own binary-trees time at the smaller depth by the
    ratio of nodes allocated, times a safety margin."""
    depth = depth_of(group.args, 21)
    label = "%s %s at depth %d" % (system, group.workload, depth)
    if opts.cpython_full == "never":
        notes.append("%s was not run (--cpython-full never)." % label)
        return []
    small = [r for r in runs if r["system"] == system and r["workload"] == group.workload
             and r["ok"] and r["group"] != group.key]
    left = deadline - time.monotonic() - REPORT_RESERVE_S
    if opts.cpython_full == "auto":
        if not small:
            notes.append("%s was not run: no smaller run to estimate its time from." % label)
            return []
        ref_depth = depth_of(small[0]["args"], 21)
        seconds = statistics.median(r["seconds"] for r in small)
        estimate = seconds * binary_trees_nodes(depth) / binary_trees_nodes(ref_depth)
        if estimate * CPYTHON_ESTIMATE_MARGIN > left:
            notes.append(
                "%s was skipped: estimated %.1f min (its depth-%d time × %.1f, the ratio of "
                "nodes allocated), but only %.1f min of the %.0f-minute budget were left. "
                "Compare CPython on the depth-%d rows; run it by hand with "
                "`bench/compare.py --only W5 --runs 1 --cpython-full always`."
                % (label, estimate / 60, ref_depth,
                   binary_trees_nodes(depth) / binary_trees_nodes(ref_depth),
                   max(left, 0) / 60, opts.budget_min, ref_depth))
            return []
    timeout = RUN_TIMEOUT_S * 3 if opts.cpython_full == "always" else max(int(left), 30)
    log("once: %s (time limit %d s)" % (label, timeout))
    record = run_one(system, group, 1, paths, work, timeout)
    record["once"] = True
    if record["ok"]:
        notes.append("%s ran once (%.1f min), as the issue allows for its length."
                     % (label, record["seconds"] / 60))
    else:
        notes.append("%s was started once and did not finish: %s." % (label, record["exit"]))
    return [record]


# --------------------------------------------------------------------------------------
# Summaries
# --------------------------------------------------------------------------------------

def summarise(groups, runs):
    """{group: {system: {metric: {median, min, max, n, unit}}}} over successful runs."""
    out = {}
    for g in groups:
        per_system = {}
        for system in SYSTEMS:
            done = [r for r in runs if r["group"] == g.key and r["system"] == system and r["ok"]]
            if not done:
                continue
            metrics = {}
            for name in dict.fromkeys(n for r in done for n in r["metrics"]):
                values = [r["metrics"][name][0] for r in done if name in r["metrics"]]
                metrics[name] = {"median": statistics.median(values), "min": min(values),
                                 "max": max(values), "n": len(values),
                                 "unit": next(r["metrics"][name][1] for r in done
                                              if name in r["metrics"])}
            per_system[system] = metrics
        out[g.key] = per_system
    return out


def row_metrics(group, summary):
    """The metric rows of a group: ROWS order, then any extra metric a program printed."""
    seen = []
    for metrics in summary.get(group.key, {}).values():
        seen.extend(m for m in metrics if m not in seen)
    rows = [m for m in ROWS.get(group.workload, []) if m in seen]
    return rows + [m for m in seen if m not in rows and m not in HIDDEN]


def median_of(summary, key, system, metric):
    m = summary.get(key, {}).get(system, {}).get(metric)
    return m["median"] if m else None


def ratio(peer, rc):
    if peer is None or rc is None or peer <= 0 or rc <= 0:
        return None
    return peer / rc


def evaluate(groups, summary):
    """Targets checked and peers that beat recycle, for every row."""
    checks, losses = [], []
    for g in groups:
        for metric in row_metrics(g, summary):
            rc = median_of(summary, g.key, "recycle", metric)
            unit = next((s[metric]["unit"] for s in summary[g.key].values() if metric in s), "")
            peers = {p: median_of(summary, g.key, p, metric) for p in PEERS}
            peers = {p: v for p, v in peers.items() if v is not None}
            for t in TARGETS.get((g.key, metric), []):
                status, why = t.check(rc, peers, unit)
                checks.append({"group": g.key, "label": g.label(), "metric": metric,
                               "target": t.text, "source": t.source, "status": status,
                               "value": rc, "unit": unit, "why": why})
            d = direction(metric)
            if rc is None or d == 0:
                continue
            tie = max(TIE_FRACTION * abs(rc), TIE_ABSOLUTE.get(unit, 0))
            for p, v in peers.items():
                if (g.workload, metric, p) in NOT_COMPARABLE:
                    continue
                if (d < 0 and v < rc - tie) or (d > 0 and v > rc + tie):
                    factor = (rc / v if d < 0 else v / rc) if v > 0 and rc > 0 else None
                    losses.append({"group": g.key, "label": g.label(), "metric": metric,
                                   "peer": p, "recycle": rc, "peer_value": v, "unit": unit,
                                   "factor": factor})
    return checks, losses


# --------------------------------------------------------------------------------------
# Pictures (gnuplot)
# --------------------------------------------------------------------------------------

def gnuplot(script_path, script):
    with open(script_path, "w") as f:
        f.write(script)
    proc = subprocess.run(["gnuplot", script_path], capture_output=True, text=True)
    if proc.returncode != 0:
        log("gnuplot failed on %s:\n%s" % (script_path, proc.stderr))
    return proc.returncode == 0


def gp_quote(s):
    """A gnuplot double-quoted string (newlines become \\n)."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def chart_label(g):
    """Two or three short lines under a cluster: workload, binary-trees depth, metric."""
    lines = [g.workload]
    if g.workload.startswith("W5"):
        lines.append("depth %d" % depth_of(g.args, 21))
    return "\n".join(lines + [g.headline])


def draw_ratios(groups, summary, out_png, work):
    """Bar chart, log scale: peer/recycle for each workload's headline metric.

    Bars start at 1 and go up when recycle is better (lower time or memory), down when
    the peer is."""
    clusters = []
    for g in groups:
        rc = median_of(summary, g.key, "recycle", g.headline)
        bars = [(p, ratio(median_of(summary, g.key, p, g.headline), rc)) for p in PEERS]
        bars = [(p, r) for p, r in bars if r is not None]
        if bars:
            clusters.append((g, bars))
    if not clusters:
        return False
    dat = os.path.join(work, "ratios.dat")
    width = 0.8 / len(PEERS)
    values = []
    with open(dat, "w") as f:
        for p in PEERS:
            f.write("# %s\n" % p)
            for i, (g, bars) in enumerate(clusters):
                for peer, r in bars:
                    if peer != p:
                        continue
                    x = i + (PEERS.index(p) - (len(PEERS) - 1) / 2) * width
                    label_y = r * 1.25 if r >= 1 else r / 1.25
                    f.write("%g %g %g %g %g %g %g \"%s\"\n" % (
                        x, r, x - width / 2 * 0.9, x + width / 2 * 0.9, min(r, 1), max(r, 1),
                        label_y, fmt_ratio(r)))
                    values.append(r)
            f.write("\n\n")
    lo = min(min(values), 1) / 2.5
    hi = max(max(values), 1) * 2.5
    xtics = ", ".join("%s %d" % (gp_quote(chart_label(g)), i)
                      for i, (g, _) in enumerate(clusters))
    plots = []
    for idx, p in enumerate(PEERS):
        if not any(peer == p for _, bars in clusters for peer, _ in bars):
            continue
        plots.append("%s index %d using 1:2:3:4:5:6 with boxxyerror fs solid 0.85 "
                     "lc rgb %s title %s" % (gp_quote(dat), idx, gp_quote(COLOURS[p]),
                                             gp_quote(p + " / recycle")))
        plots.append("%s index %d using 1:7:8 with labels font ',8' notitle"
                     % (gp_quote(dat), idx))
    script = """
set terminal pngcairo noenhanced size 1400,640 font "DejaVu Sans,10"
set output %s
set title "Peer / recycle for each workload's headline metric (log scale; above 1: recycle is faster or smaller)"
set logscale y
set yrange [%g:%g]
set xrange [-0.6:%g]
set ylabel "peer / recycle"
set xtics (%s) nomirror
set ytics nomirror
set grid ytics
set key outside top center horizontal
set bmargin 5
set arrow from graph 0, first 1 to graph 1, first 1 nohead lw 1.5 lc rgb "black"
plot %s
""" % (gp_quote(out_png), lo, hi, len(clusters) - 0.4, xtics, ", \\\n     ".join(plots))
    return gnuplot(os.path.join(work, "ratios.gp"), script)


def read_pauses(path):
    values = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    values.append(float(line))
                except ValueError:
                    pass
    return values


def pause_summary(values):
    s = sorted(values)
    n = len(s)

    def q(frac):                           # nearest rank, as the programs compute p99
        return s[min(max(math.ceil(frac * n), 1), n) - 1]
    # Complementary CDF: (x, share of pauses at least x long); every point of the last
    # 500, about 1,500 spread over the rest, so results.json stays small.
    step = max(1, (n - 500) // 1500) if n > 2000 else 1
    idx = sorted(set(list(range(0, n, step)) + list(range(max(0, n - 500), n))))
    ccdf = [[round(s[i], 6), round((n - i) / n, 8)] for i in idx]
    return {"count": n, "p50_ms": q(0.5), "p90_ms": q(0.9), "p99_ms": q(0.99),
            "max_ms": s[-1], "total_ms": sum(s), "ccdf": ccdf}


def draw_pauses(pauses, out_png, work, group_label):
    """Complementary CDF of W6 pause durations, one line per system, log-log."""
    if not pauses:
        return False
    plots = []
    floor = 1e-4
    xs = []
    for system, p in pauses.items():
        dat = os.path.join(work, "pauses_%s.dat" % system)
        with open(dat, "w") as f:
            for x, y in p["ccdf"]:
                f.write("%g %g\n" % (max(x, floor), y))
                xs.append(max(x, floor))
        title = "%s: %s pauses, p99 %s ms, max %s ms" % (
            system, "{:,}".format(p["count"]), fmt(p["p99_ms"]), fmt(p["max_ms"]))
        plots.append("%s using 1:2 with fsteps lw 2 lc rgb %s title %s"
                     % (gp_quote(dat), gp_quote(COLOURS[system]), gp_quote(title)))
    ymin = min(1.0 / p["count"] for p in pauses.values()) / 2
    script = """
set terminal pngcairo noenhanced size 1000,620 font "DejaVu Sans,10"
set output %s
set title "%s: collector pauses beside the live tree (all runs pooled)"
set logscale xy
set format xy "%%g"
set xrange [%g:%g]
set yrange [%g:1.5]
set xlabel "pause (ms)"
set ylabel "share of pauses at least this long"
set grid
set key bottom left
set arrow from 2, graph 0 to 2, graph 1 nohead dt 2 lw 1.5 lc rgb "#aa0000"
set arrow from 10, graph 0 to 10, graph 1 nohead dt 2 lw 1.5 lc rgb "#aa0000"
plot %s, \\
     NaN with lines dt 2 lw 1.5 lc rgb "#aa0000" title "targets: p99 ≤ 2 ms, max ≤ 10 ms"
""" % (gp_quote(out_png), group_label, min(xs) / 2, max(max(xs), 20) * 2, ymin,
       ", \\\n     ".join(plots))
    return gnuplot(os.path.join(work, "w6_pauses.gp"), script)


# --------------------------------------------------------------------------------------
# RESULTS.md
# --------------------------------------------------------------------------------------

def cell(summary, key, system, metric):
    m = summary.get(key, {}).get(system, {}).get(metric)
    if not m:
        return "—"
    if m["n"] == 1:
        return "%s (1 run)" % fmt(m["median"])
    return "%s [%s–%s]" % (fmt(m["median"]), fmt(m["min"]), fmt(m["max"]))


def metric_cell(group, metric, unit):
    text = "`%s` %s" % (metric, unit)
    if group.workload in ("W1", "W1c") and metric in DERIVED_TEXT:
        text += " (%s)" % DERIVED_TEXT[metric]
    return text


def table(groups, summary, checks, losses, failed):
    head = ["workload", "metric", "recycle"]
    for p in PEERS:
        head += [p, "%s / rc" % p]
    head += ["target", "result", "recycle loses to"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for g in groups:
        metrics = row_metrics(g, summary)
        if not metrics:
            why = "failed on every system" if failed.get(g.key) else "not run"
            lines.append("| %s | %s |" % (g.label(), why) + " |" * (len(head) - 2))
            continue
        for i, metric in enumerate(metrics):
            unit = next((s[metric]["unit"] for s in summary[g.key].values() if metric in s), "")
            rc = median_of(summary, g.key, "recycle", metric)
            row = ["**%s**" % g.label() if i == 0 else "", metric_cell(g, metric, unit),
                   cell(summary, g.key, "recycle", metric)]
            for p in PEERS:
                if p not in g.systems and p not in g.once:
                    row += ["n/a", ""]
                    continue
                if p in g.once and p not in summary.get(g.key, {}):
                    row += ["not run (see notes)", ""]
                    continue
                row.append(cell(summary, g.key, p, metric))
                row.append(fmt_ratio(ratio(median_of(summary, g.key, p, metric), rc)))
            mine = [c for c in checks if c["group"] == g.key and c["metric"] == metric]
            row.append("; ".join(c["target"] for c in mine))
            row.append("; ".join(("met" if c["status"] == "met" else
                                  "**MISSED**" if c["status"] == "missed" else "n/a")
                                 + " (%s)" % c["why"] for c in mine))
            lost = [l for l in losses if l["group"] == g.key and l["metric"] == metric]
            row.append(", ".join("**%s**%s" % (l["peer"], " %s" % fmt_ratio(l["factor"])
                                               if l["factor"] else "") for l in lost))
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def intro(info, opts, checks, losses, groups, reps):
    missed = [c for c in checks if c["status"] == "missed"]
    judged = [c for c in checks if c["status"] != "n/a"]
    runs = ("%d times per system" % opts.runs) if opts.runs > 1 else "once per system"
    cut = [g for g in groups if reps.get(g.key, opts.runs) < opts.runs]
    if cut:
        runs += " (to fit the time budget: %s)" % ", ".join(
            "%s %d×" % (g.label(), reps[g.key]) for g in cut)
    text = (
        "Produced by bench/compare.py (`make compare`%s) on %s: %s, %s cores, %s. "
        "Every workload of bench/WORKLOADS.md ran %s, interleaved (each "
        "repetition goes round all workloads, and inside a workload round all systems), "
        "with every system's default settings and nothing tuned per workload; cells show "
        "the median [min–max]. A ratio is peer / recycle: for times and memory above 1 "
        "means recycle is faster or smaller, for `cycles_per_s` the reverse. "
        % (", --quick: small sizes, not comparable with the targets" if opts.quick else "",
           info["date"], info["cpu"], info["cores"], info["memory"], runs))
    if missed:
        text += ("**Where recycle loses:** it misses %d of the %d targets checked (%s)"
                 % (len(missed), len(judged), "; ".join(
                     "%s `%s` %s" % (c["label"], c["metric"], c["target"]) for c in missed)))
    else:
        text += "**Where recycle loses:** it meets all %d targets checked" % len(judged)
    if losses:
        peers = sorted({l["peer"] for l in losses}, key=PEERS.index)
        text += (", and a peer beats it on %d metrics (by more than %d %%), listed "
                 "below (%s)." % (len(losses), TIE_FRACTION * 100, ", ".join(
                     "%s on %d" % (p, sum(1 for l in losses if l["peer"] == p))
                     for p in peers)))
    else:
        text += ", and no peer beats it on any metric by more than %d %%." % (TIE_FRACTION * 100)
    return text


def loss_list(losses):
    lines = []
    for l in losses:
        how = ("%s better" % fmt_ratio(l["factor"])) if l["factor"] else "better"
        lines.append("- %s `%s`: %s %s %s vs recycle %s (%s)" % (
            l["label"], l["metric"], l["peer"], fmt(l["peer_value"]), l["unit"],
            fmt(l["recycle"]), how))
    return "\n".join(lines)


def pictures_md(prefix, drawn):
    parts = []
    if drawn.get("ratios"):
        parts.append("![peer / recycle ratios](%sratios.png)" % prefix)
    if drawn.get("pauses"):
        parts.append("![W6 pause distribution](%sw6_pauses.png)" % prefix)
    return "\n\n".join(parts)


def write_results_md(path, info, opts, groups, reps, summary, checks, losses, notes, drawn,
                     failed, commands):
    with open(path, "w") as f:
        f.write("# recycle compared with CPython, bdwgc and malloc\n\n")
        f.write(intro(info, opts, checks, losses, groups, reps) + "\n\n")
        if losses:
            f.write("## Where a peer beats recycle\n\n" + loss_list(losses) + "\n\n")
        f.write("## Results\n\n")
        f.write(table(groups, summary, checks, losses, failed) + "\n\n")
        f.write("Ratios within %d %% (or %s) of recycle count as ties, not losses. "
                "`n/a`: the system has no such workload.\n\n"
                % (TIE_FRACTION * 100, ", ".join("%g %s" % (v, u)
                                               for u, v in TIE_ABSOLUTE.items())))
        pics = pictures_md("", drawn)
        if pics:
            f.write("## Pictures\n\n" + pics + "\n\n")
        f.write("## Machine and versions\n\n")
        for k in ("date", "cpu", "cores", "memory", "kernel", "os", "gcc", "glibc", "cpython",
                  "libgc", "bdwgc_config", "gnuplot", "recycle", "commit", "load_at_start",
                  "load_at_end", "elapsed"):
            if info.get(k) is not None:
                f.write("- %s: %s\n" % (k.replace("_", " "), info[k]))
        f.write("\n## Notes\n\n")
        for n in notes:
            f.write("- %s\n" % n)
        f.write("\n## Commands\n\nRun from the repository root; the pause file is set "
                "for W6 only.\n\n```\n")
        for c in commands:
            f.write(c + "\n")
        f.write("```\n")


def update_readme(path, info, opts, groups, reps, summary, checks, losses, drawn, failed):
    """Replaces the text between the compare markers of README.md, if both are there."""
    begin, end = "<!-- compare:begin -->", "<!-- compare:end -->"
    try:
        text = open(path).read()
    except OSError:
        return False
    if begin not in text or end not in text:
        log("README: no %s / %s markers in %s; left alone" % (begin, end, path))
        return False
    body = "\n".join([
        begin,
        intro(info, opts, checks, losses, groups, reps),
        "",
        table(groups, summary, checks, losses, failed),
        "",
        pictures_md("bench/results/", drawn),
        "",
        "Machine, versions, notes and raw runs: [bench/results/](bench/results/RESULTS.md).",
        end])
    before, rest = text.split(begin, 1)
    after = rest.split(end, 1)[1]
    with open(path, "w") as f:
        f.write(before + body + after)
    return True


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------

def build_peers(peers_dir):
    """bench/peers/build.sh; returns {system: binary} for what it built."""
    log("building peers into %s" % os.path.relpath(peers_dir, ROOT))
    proc = subprocess.run(["sh", os.path.join(ROOT, "bench", "peers", "build.sh"), peers_dir],
                          capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        log(proc.stdout + proc.stderr)
    built = {}
    for system, name in (("bdwgc", "bdwgc_bench"), ("malloc", "malloc_bench")):
        exe = os.path.join(peers_dir, name)
        if os.access(exe, os.X_OK):
            built[system] = exe
    return built


def select_groups(only, quick):
    """The groups to run (all, or those --only names), with their size options set."""
    groups = GROUPS
    if only:
        wanted = set(only.split(","))
        groups = [g for g in GROUPS if g.workload in wanted or g.key in wanted]
    for g in groups:
        g.args = g.quick_args if quick else g.full_args
    return groups


def measure(opts, groups, work):
    """Builds the peers, describes the machine and runs everything.

    Returns the state that results.json keeps and report() turns into files."""
    t_start = time.monotonic()
    deadline = t_start + opts.budget_min * 60
    paths = {"recycle": os.path.abspath(opts.recycle)}
    if not os.access(paths["recycle"], os.X_OK):
        sys.exit("compare: %s not found; build it first (make, or make compare)"
                 % opts.recycle)
    paths.update(build_peers(os.path.join(ROOT, "build", "peers")))
    systems = [s for s in SYSTEMS if s in paths or s == "CPython"]
    notes = []
    missing = [s for s in ("bdwgc", "malloc") if s not in paths]
    if missing:
        notes.append("Not built, so not run: %s (bench/peers/build.sh failed; bdwgc needs "
                     "libgc-dev)." % ", ".join(missing))

    info = machine_info(paths)
    log("machine: %s, %s cores, %s, load %s" % (info["cpu"], info["cores"], info["memory"],
                                               info["load_at_start"]))
    runs, run_notes, reps = run_all(groups, systems, paths, work, opts, deadline)
    notes += run_notes
    for r in runs:                       # bdwgc describes its configuration on stderr
        if r["system"] == "bdwgc" and r.get("stderr"):
            info["bdwgc_config"] = r["stderr"][0]
            break
    info["load_at_end"] = " ".join(open("/proc/loadavg").read().split()[:3])
    elapsed = time.monotonic() - t_start
    info["elapsed"] = "%.1f min for bench/compare.py (budget %g min)" % (
        elapsed / 60, opts.budget_min)
    commands = [" ".join(relative(command(s, g, paths)))
                for g in groups for s in g.systems + g.once if s in systems]
    return {"mode": "quick" if opts.quick else "full", "only": opts.only,
            "runs_per_system": opts.runs, "budget_min": opts.budget_min,
            "elapsed_s": round(elapsed, 1), "machine": info, "systems": systems,
            "group_args": {g.key: g.args for g in groups}, "reps": reps,
            "run_notes": notes, "commands": commands, "runs": runs}


def report(state, groups, out, work, readme):
    """RESULTS.md, results.json and the pictures from a measured (or reloaded) state."""
    meta = argparse.Namespace(quick=state["mode"] == "quick", runs=state["runs_per_system"],
                              budget_min=state["budget_min"])
    runs, info, reps = state["runs"], state["machine"], state["reps"]
    notes = list(state["run_notes"])
    summary = summarise(groups, runs)
    checks, losses = evaluate(groups, summary)
    failed = {}
    for r in runs:
        if not r["ok"]:
            failed.setdefault(r["group"], []).append(r)
            notes.append("Failed: %s on %s, repetition %d: exit %s%s." % (
                r["system"], " ".join([r["workload"]] + r["args"]), r["rep"], r["exit"],
                ("; stderr: " + " / ".join(r["stderr"][-3:])) if r.get("stderr") else ""))

    # W6 pauses: from the pause files when they are still there, else as stored.
    w6 = next((g for g in groups if g.workload == "W6"), None)
    pauses = {}
    if w6:
        for system in w6.systems:
            files = [os.path.join(ROOT, r["pause_file"]) for r in runs
                     if r["group"] == w6.key and r["system"] == system and r["ok"]
                     and r.get("pause_file")]
            values = [v for p in files if os.path.exists(p) for v in read_pauses(p)]
            if values:
                pauses[system] = pause_summary(values)
            elif system in state.get("w6_pauses", {}):
                pauses[system] = state["w6_pauses"][system]
        without = [s for s in w6.systems if s in state["systems"] and s not in pauses]
        if without:
            notes.append(
                "W6 pause distribution: %s wrote no pause file (the RC_PAUSES_FILE contract: "
                "when that variable names a file, W6 writes every pause there in ms, one per "
                "line)%s." % (", ".join(without),
                              "; w6_pauses.png shows the others" if pauses else
                              ", so w6_pauses.png was not drawn"))

    drawn = {}
    for name in ("ratios.png", "w6_pauses.png"):
        stale = os.path.join(out, name)
        if os.path.exists(stale):
            os.remove(stale)                 # never show a picture from an older run
    if shutil.which("gnuplot"):
        drawn["ratios"] = draw_ratios(groups, summary, os.path.join(out, "ratios.png"), work)
        if pauses:
            drawn["pauses"] = draw_pauses(pauses, os.path.join(out, "w6_pauses.png"), work,
                                          w6.label())
    else:
        notes.append("gnuplot is not installed (apt-get install gnuplot-nox): no pictures.")
    notes.append("USS is Private_Clean + Private_Dirty of /proc/self/smaps_rollup, in MB of "
                 "2^20 bytes. The machine is shared: the load average above says how busy "
                 "it was.")

    write_results_md(os.path.join(out, "RESULTS.md"), info, meta, groups, reps, summary,
                     checks, losses, notes, drawn, failed, state["commands"])
    saved = dict(state, notes=notes, summary=summary, targets=checks, losses=losses,
                 w6_pauses=pauses)
    saved["runs"] = saved.pop("runs")    # the long list last
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(saved, f, indent=1)
    if readme and update_readme(readme, info, meta, groups, reps, summary, checks, losses,
                                drawn, failed):
        log("README: table updated in %s" % os.path.relpath(readme, ROOT))
    log("wrote %s: RESULTS.md, results.json%s" % (
        os.path.relpath(out, ROOT),
        "".join(", " + f for k, f in (("ratios", "ratios.png"), ("pauses", "w6_pauses.png"))
                if drawn.get(k))))
    # A failed run fails `make compare`, except the optional once-only run.
    return 1 if any(not r["ok"] and not r.get("once") for r in runs) else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=None,
                    help="repetitions per workload and system (default 3; --quick: 1)")
    ap.add_argument("--quick", action="store_true",
                    help="small sizes, 1 run, results in build/compare-quick/results")
    ap.add_argument("--budget-min", type=float, default=17.0,
                    help="minutes this script may take; the slowest workloads are "
                         "repeated less to fit (default 17, leaving 3 of make compare's "
                         "20 for installing and building)")
    ap.add_argument("--recycle", default=os.path.join(ROOT, "build", "recycle"),
                    help="the recycle command (default build/recycle)")
    ap.add_argument("--out", help="results directory (default bench/results; with --quick "
                                  "or --only: build/compare-quick|partial/results)")
    ap.add_argument("--only", help="comma-separated workloads, e.g. W4,W6 (W5 includes "
                                   "its depth-18 row)")
    ap.add_argument("--cpython-full", choices=("auto", "always", "never"), default="auto",
                    help="CPython's W5 at full depth (7-10 min): once if the budget "
                         "allows (auto, default), always once, or never")
    ap.add_argument("--readme", default=os.path.join(ROOT, "README.md"),
                    help="README whose compare markers get the table (full runs into "
                         "bench/results only)")
    ap.add_argument("--report-only", metavar="RESULTS_JSON",
                    help="run nothing: rewrite RESULTS.md and the pictures from a "
                         "results.json (into its own directory unless --out)")
    opts = ap.parse_args()

    if opts.report_only:
        with open(opts.report_only) as f:
            state = json.load(f)
        groups = [g for g in GROUPS if g.key in state["group_args"]]
        for g in groups:
            g.args = state["group_args"][g.key]
        out = os.path.abspath(opts.out or os.path.dirname(os.path.abspath(opts.report_only)))
        work = os.path.join(ROOT, "build", "compare-report")
        os.makedirs(work, exist_ok=True)
        os.makedirs(out, exist_ok=True)
        readme = opts.readme if out == os.path.join(ROOT, "bench", "results") and \
            state["mode"] == "full" and not state.get("only") else None
        return report(state, groups, out, work, readme)

    opts.runs = opts.runs or (1 if opts.quick else 3)
    if opts.runs < 1:
        ap.error("--runs must be at least 1")
    groups = select_groups(opts.only, opts.quick)
    if not groups:
        ap.error("--only: no such workload")

    # Only a complete full-size run replaces bench/results (and the README table);
    # --quick and --only runs write under build/ unless --out says otherwise.
    default_out = os.path.join(ROOT, "bench", "results")
    kind = "quick" if opts.quick else "partial" if opts.only else ""
    work = os.path.join(ROOT, "build", "compare-" + kind if kind else "compare")
    out = os.path.abspath(opts.out or (os.path.join(work, "results") if kind else default_out))
    os.makedirs(os.path.join(work, "pauses"), exist_ok=True)
    os.makedirs(out, exist_ok=True)

    state = measure(opts, groups, work)
    readme = opts.readme if not kind and out == default_out else None
    return report(state, groups, out, work, readme)


if __name__ == "__main__":
    sys.exit(main())
