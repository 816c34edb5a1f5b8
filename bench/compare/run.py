"""Running the workloads: the commands, the repetitions within the time budget, the raw runs."""

import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

from .plot import read_pauses
from .workloads import CPYTHON_ESTIMATE_MARGIN, GROUPS, NEWER_CPYTHON_PREFIX, PYTHON, REPORT_RESERVE_S, ROOT, RUN_TIMEOUT_S, SYSTEMS, binary_trees_nodes, cut_repeats, depth_of, is_newer_cpython, log


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


def relative(cmd):
    """A command line with paths inside the repository made relative to it."""
    return [os.path.relpath(c, ROOT) if os.path.isabs(c) and c.startswith(ROOT + os.sep)
            else c for c in cmd]


def tree_state(root=ROOT):
    """The commit the sources come from and what `git status --porcelain` lists.

    {"commit": full hash or None (not a git checkout), "dirty": [porcelain lines]}"""
    commit = output_of(["git", "-C", root, "rev-parse", "HEAD"])
    dirty = []
    if commit:
        st = subprocess.run(["git", "-C", root, "status", "--porcelain"],
                            capture_output=True, text=True)
        dirty = [l for l in st.stdout.splitlines() if l.strip()] if st.returncode == 0 \
            else ["git status failed: " + st.stderr.strip()]
    return {"commit": commit, "dirty": dirty}


def describe_tree(tree):
    """One line for the report: the commit, and whether the tree was clean."""
    if not tree.get("commit"):
        return "unknown commit (not a git checkout): **dirty tree** as far as anyone can tell"
    if not tree.get("dirty"):
        return "commit %s, clean tree" % tree["commit"]
    shown = ", ".join("`%s`" % l.strip() for l in tree["dirty"][:5])
    more = " and %d more" % (len(tree["dirty"]) - 5) if len(tree["dirty"]) > 5 else ""
    return "commit %s with a **dirty tree** (`git status --porcelain`: %s%s)" % (
        tree["commit"], shown, more)


def find_newer_cpythons(default=PYTHON, path=None, newest=19):
    """python3.N on PATH newer than the default interpreter, N up to `newest`.

    Each candidate is run once to ask its version and real executable (a pyenv shim
    for a version that is not active fails here, and is not a column).  Returns
    ({system: executable}, {system: version line}, [what was looked at])."""
    base = output_of([default, "-c", "import sys; print(sys.version_info[1])"])
    first = int(base) + 1 if base and base.isdigit() else 12
    found, versions, looked = {}, {}, []
    for minor in range(first, newest + 1):
        name = "python3.%d" % minor
        exe = shutil.which(name, path=path)
        if not exe:
            continue
        try:
            proc = subprocess.run(
                [exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2]); "
                            "print(sys.executable); print(sys.version.split()[0])"],
                capture_output=True, text=True, timeout=30)
            lines = proc.stdout.split("\n")
            ok = proc.returncode == 0 and lines[0] == "3.%d" % minor and lines[1]
        except (OSError, subprocess.SubprocessError) as e:
            proc, ok = None, False
            lines = [str(e)]
        if ok:
            system = NEWER_CPYTHON_PREFIX + str(minor)
            found[system] = lines[1]
            versions[system] = "%s (%s)" % (lines[2], lines[1])
            looked.append("%s: %s, %s" % (name, lines[2], lines[1]))
        else:
            why = (proc.stderr.strip().splitlines() or ["exit %s" % proc.returncode])[0] \
                if proc else lines[0]
            looked.append("%s: %s does not run (%s)" % (name, exe, why))
    return found, versions, looked


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
    for key, package in (("libgc", "libgc-dev"), ("mimalloc", "libmimalloc-dev"),
                         ("jemalloc", "libjemalloc-dev")):
        info[key] = output_of(["dpkg-query", "-W", "-f", "${Package} ${Version}", package])
    info["gnuplot"] = output_of(["gnuplot", "--version"])
    info["recycle"] = output_of([paths["recycle"], "--version"])
    tree = tree_state()
    info["commit"], info["dirty"] = tree["commit"], tree["dirty"]
    info["tree"] = describe_tree(tree)
    info["load_at_start"] = " ".join(open("/proc/loadavg").read().split()[:3])
    info["date"] = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return info


def command(system, group, paths):
    tail = [group.workload] + group.args
    if system == "recycle":
        return [paths["recycle"], "bench"] + tail
    if system == "CPython" or is_newer_cpython(system):
        return [PYTHON if system == "CPython" else paths[system],
                os.path.join(ROOT, "bench", "peers", "cpython_bench.py")] + tail
    if system == "bdwgc-gen":
        return [paths[system]] + tail + ["--incremental"]
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
    log("  %-11s %-26s %7.1f s  %s" % (system, group.label(), record["seconds"], status))
    return record


def repeat_unit(key):
    """What a (group key, system) pair is cut with: itself for an interpreter
    (CPython, cpython3.N), else the group's other systems -- recycle and the
    peers a target compares it with run the same number of times."""
    group, system = key
    return key if system == "CPython" or is_newer_cpython(system) else (group, None)


def plan_repeats(costs, runs, budget_left):
    """How many repetitions each system gets on each workload.

    `costs` maps (group key, system) to the seconds its first repetition took.
    Each interpreter is a unit of its own, the group's other systems one unit
    together (repeat_unit). Starting from `runs` for every unit, the most
    expensive unit still above one repetition loses one until the remaining
    repetitions fit `budget_left`. So a slow interpreter is cut before the
    systems a target compares (CPython's binary trees at depth 18 take a
    minute, recycle's and bdwgc's two seconds), and those are cut together."""
    unit_cost = {}
    for k, c in costs.items():
        unit_cost[repeat_unit(k)] = unit_cost.get(repeat_unit(k), 0) + c
    reps = {u: runs for u in unit_cost}
    while sum((reps[u] - 1) * c for u, c in unit_cost.items()) > budget_left:
        candidates = [u for u in unit_cost if reps[u] > 1]
        if not candidates:
            break
        reps[max(candidates, key=lambda u: unit_cost[u])] -= 1
    return {k: reps[repeat_unit(k)] for k in costs}


def run_all(groups, systems, paths, work, opts, deadline):
    """All repetitions, interleaved; then the at-most-once runs.

    Returns (runs, notes, reps) where reps maps each group key to a map of each of
    its systems to the repetitions it ran."""
    runs, notes = [], []
    reps = {g.key: {s: opts.runs for s in systems if g.runs_on(s)} for g in groups}
    for rep in range(1, opts.runs + 1):
        todo = [g for g in groups if any(n >= rep for n in reps[g.key].values())]
        if not todo:
            break
        log("repetition %d/%d: %s" % (rep, opts.runs, " ".join(g.key for g in todo)))
        for g in todo:
            order = [s for s in systems if g.runs_on(s)]
            shift = (rep - 1) % len(order) if order else 0
            for system in order[shift:] + order[:shift]:      # rotate the start
                if reps[g.key][system] >= rep:
                    runs.append(run_one(system, g, rep, paths, work, RUN_TIMEOUT_S))
        if rep == 1 and opts.runs > 1:
            costs = {(g.key, s): sum(r["seconds"] for r in runs
                                     if r["group"] == g.key and r["system"] == s)
                     for g in groups for s in reps[g.key]}
            left = deadline - time.monotonic() - REPORT_RESERVE_S
            for (key, system), n in plan_repeats(costs, opts.runs, left).items():
                reps[key][system] = n
            cut = cut_repeats(reps, opts.runs)
            if cut:
                notes.append(
                    "To stay within the %g-minute budget (the first repetition took "
                    "%.1f min), these ran fewer than %d times: %s."
                    % (opts.budget_min, sum(costs.values()) / 60, opts.runs,
                       ", ".join("%s on %s %d×" % (next(g.label() for g in groups
                                                         if g.key == k), s, n)
                                 for k, s, n in cut)))
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


def build_peers(peers_dir):
    """bench/peers/build.sh; returns {system: binary} for what it built."""
    log("building peers into %s" % os.path.relpath(peers_dir, ROOT))
    proc = subprocess.run(["sh", os.path.join(ROOT, "bench", "peers", "build.sh"), peers_dir],
                          capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        log(proc.stdout + proc.stderr)
    built = {}
    for system, name in (("bdwgc", "bdwgc_bench"), ("bdwgc-gen", "bdwgc_bench"),
                         ("malloc", "malloc_bench"), ("mimalloc", "malloc_bench_mimalloc"),
                         ("jemalloc", "malloc_bench_jemalloc")):
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
    newer, newer_versions, looked = find_newer_cpythons()
    paths.update(newer)
    systems = [s for s in SYSTEMS if s in paths or s == "CPython"]
    systems[2:2] = sorted(newer, key=lambda s: int(s[len(NEWER_CPYTHON_PREFIX):]))
    notes = []
    missing = [s for s in SYSTEMS[2:] if s not in paths]
    if missing:
        notes.append("Not built, so not run: %s (bench/peers/build.sh failed; bdwgc needs "
                     "libgc-dev, mimalloc libmimalloc-dev, jemalloc libjemalloc-dev)."
                     % ", ".join(missing))
    notes.append("Newer CPythons, looked for on PATH (python3.N newer than the default "
                 "interpreter) and run as columns of their own: %s." % (
                     "; ".join(looked) if looked else "none on PATH"))

    info = machine_info(paths)
    if newer_versions:
        info["newer_cpythons"] = "; ".join("%s %s" % kv for kv in newer_versions.items())
    log("machine: %s, %s cores, %s, load %s" % (info["cpu"], info["cores"], info["memory"],
                                               info["load_at_start"]))
    runs, run_notes, reps = run_all(groups, systems, paths, work, opts, deadline)
    notes += run_notes
    # bdwgc describes its configuration on stderr, malloc_bench where its malloc is from.
    for key, system in (("bdwgc_config", "bdwgc"), ("bdwgc_gen_config", "bdwgc-gen")):
        first = next((r["stderr"][0] for r in runs if r["system"] == system
                      and r.get("stderr")), None)
        if first:
            info[key] = first
    allocators = []
    for system in ("malloc", "mimalloc", "jemalloc"):
        first = next((l for r in runs if r["system"] == system for l in r.get("stderr", [])
                      if l.startswith("malloc from ")), None)
        if first:
            allocators.append("%s: %s" % (system, first[len("malloc from "):]))
    if allocators:
        info["allocators"] = "; ".join(allocators)
    info["load_at_end"] = " ".join(open("/proc/loadavg").read().split()[:3])
    elapsed = time.monotonic() - t_start
    info["elapsed"] = "%.1f min for bench/compare.py (budget %g min)" % (
        elapsed / 60, opts.budget_min)
    commands = [" ".join(relative(command(s, g, paths)))
                for g in groups for s in systems if g.runs_on(s) or s in g.once]
    return {"mode": "quick" if opts.quick else "full", "only": opts.only,
            "runs_per_system": opts.runs, "budget_min": opts.budget_min,
            "elapsed_s": round(elapsed, 1), "machine": info, "systems": systems,
            "group_args": {g.key: g.args for g in groups}, "reps": reps,
            "run_notes": notes, "commands": commands, "runs": runs}
