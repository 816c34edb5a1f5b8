#!/usr/bin/env python3
"""compare_check.py --recycle RECYCLE -- the side-by-side comparison is fair.

bench/compare.py (the package bench/compare/) and the peer programs it runs:
  - the report names the commit it measured and says "dirty tree" when `git status
    --porcelain` listed anything, in RESULTS.md and in the README table alike; a full
    run refuses to start on a dirty tree unless --allow-dirty;
  - newer CPythons are found on PATH only when they run, and run what CPython runs;
  - bdwgc's generational mode is a system of its own (bdwgc-gen, --incremental) for
    W4, W6 and W7, mimalloc and jemalloc are systems beside malloc, and the table says
    beside bdwgc's figures what they leave out;
  - W6 starts from a full collection and prints total_pause_ms and settle_ms on every
    system, once each;
  - W7 (growing heap) and W8 (catalog) are rows of the table beside the new columns:
    W7 on every collector (bdwgc-gen and newer CPythons included), W8 on recycle and
    the CPythons, and each system's program prints their metrics;
  - bdwgc's explicit collections include their lazy sweep, its default mode prints no
    young collection, and its generational mode does;
  - malloc's W1 grows its array as recycle's list does (4 items, then doubling);
  - the mimalloc and jemalloc builds really use those allocators.
Never looks at a timing. Parts whose tools are missing (gcc, libgc-dev, libmimalloc-dev,
libjemalloc-dev, git) are skipped: exit 77 when anything was, unless RC_REQUIRE_TOOLS
(or CI) says every tool must be there, then exit 1.
"""

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "bench"))

from compare import readme, report, run, workloads  # noqa: E402

failures, skips = [], []


def check(cond, what):
    if cond:
        print("ok: " + what)
    else:
        print("FAILED: " + what)
        failures.append(what)


def skip(what):
    print("skipped: " + what)
    skips.append(what)


def metrics_of(stdout):
    return run.parse_metrics(stdout)[0]


def run_prog(cmd, env=None):
    e = dict(os.environ)
    e.pop("RC_PAUSES_FILE", None)
    e.update(env or {})
    return subprocess.run(cmd, capture_output=True, text=True, env=e, timeout=120)


def load_cli():
    """bench/compare.py, the command line, as a module."""
    spec = importlib.util.spec_from_file_location("compare_cli",
                                                  os.path.join(ROOT, "bench", "compare.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ---- the report names its commit ----------------------------------------------------

HASH = "0123456789abcdef0123456789abcdef01234567"


def fake_state(dirty):
    g = next(g for g in workloads.GROUPS if g.key == "W2")
    runs = []
    for system, v in (("recycle", 8.0), ("CPython", 24.0), ("malloc", 9.0),
                      ("mimalloc", 6.0)):
        runs.append({"group": "W2", "workload": "W2", "args": [], "system": system,
                     "rep": 1, "ok": True, "metrics": {"ns_per_object": [v, "ns"]}})
    tree = {"commit": HASH, "dirty": [" M src/core/heap.c"] if dirty else []}
    info = {"date": "today", "cpu": "cpu", "cores": 2, "memory": "1 GiB",
            "commit": tree["commit"], "dirty": tree["dirty"],
            "tree": run.describe_tree(tree)}
    return g, runs, info


def write_report(tmp, dirty):
    g, runs, info = fake_state(dirty)
    opts = argparse.Namespace(quick=False, runs=1, budget_min=17)
    peers = ["CPython", "malloc", "mimalloc"]
    summary = report.summarise([g], runs)
    checks, losses = report_targets([g], summary, peers)
    path = os.path.join(tmp, "RESULTS.md")
    report.write_results_md(path, info, opts, [g], {"W2": 1}, summary, checks, losses, [],
                            {}, {}, [], peers)
    md = open(path).read()
    readme_path = os.path.join(tmp, "README.md")
    with open(readme_path, "w") as f:
        f.write("intro\n<!-- compare:begin -->\nold\n<!-- compare:end -->\nrest\n")
    readme.update_readme(readme_path, info, opts, [g], {"W2": 1}, summary, checks, losses,
                         {}, {}, peers)
    return md, open(readme_path).read()


def report_targets(groups, summary, peers):
    from compare.targets import evaluate
    return evaluate(groups, summary, peers)


def check_report_names_commit():
    with tempfile.TemporaryDirectory() as tmp:
        md, rd = write_report(tmp, dirty=False)
        check(HASH in md and "clean tree" in md and "dirty" not in md,
              "RESULTS.md names the commit and says the tree was clean")
        check(HASH in rd and "clean tree" in rd and "dirty" not in rd,
              "the README table names the same commit")
        check("mimalloc" in md.split("## Results")[1].splitlines()[2],
              "mimalloc is a column of the table")
        md, rd = write_report(tmp, dirty=True)
        title = md.splitlines()[0]
        check("dirty tree" in title and "dirty tree" in md.split("\n\n")[1] and HASH in md,
              "a dirty tree is said in RESULTS.md's title and first paragraph, with the commit")
        check("dirty tree" in rd and "src/core/heap.c" in rd,
              "a dirty tree is said in the README table, naming what was changed")
    old = {"commit": "03c1c8f with local changes"}     # results.json before the tree state
    check(report.dirty_title(old) and "dirty tree" in report.tree_text(old),
          "results without a recorded tree state are reported as a dirty tree")


def check_dirty_refusal():
    cli = load_cli()
    clean = {"commit": HASH, "dirty": []}
    dirty = {"commit": HASH, "dirty": ["?? notes.txt"]}
    msg = cli.dirty_refusal(dirty, True, False)
    check(msg is not None and "dirty tree" in msg and "notes.txt" in msg,
          "a full run into bench/results refuses a dirty tree, saying what is changed")
    check(cli.dirty_refusal(dirty, True, True) is None, "--allow-dirty lets it run")
    check(cli.dirty_refusal(dirty, False, False) is None,
          "--quick and --only runs (not published) do not refuse")
    check(cli.dirty_refusal(clean, True, False) is None, "a clean tree runs")
    check(cli.dirty_refusal({"commit": None, "dirty": []}, True, False) is not None,
          "outside a git checkout a full run refuses (no commit to name)")


def check_tree_state():
    if not shutil.which("git"):
        skip("tree_state on a scratch repository: git is not installed")
        return
    with tempfile.TemporaryDirectory() as tmp:
        git = ["git", "-C", tmp, "-c", "user.name=t", "-c", "user.email=t@t"]
        subprocess.run(git[:3] + ["init", "-q"], check=True)
        with open(os.path.join(tmp, "a"), "w") as f:
            f.write("a\n")
        subprocess.run(git + ["add", "a"], check=True)
        subprocess.run(git + ["commit", "-qm", "a"], check=True)
        head = subprocess.run(git[:3] + ["rev-parse", "HEAD"], capture_output=True,
                              text=True).stdout.strip()
        st = run.tree_state(tmp)
        check(st["commit"] == head and st["dirty"] == [],
              "tree_state: the full commit hash, and a clean tree")
        with open(os.path.join(tmp, "b"), "w") as f:
            f.write("untracked\n")
        check(run.tree_state(tmp)["dirty"] != [], "tree_state: an untracked file is dirty")
        os.remove(os.path.join(tmp, "b"))
        with open(os.path.join(tmp, "a"), "w") as f:
            f.write("changed\n")
        check(run.tree_state(tmp)["dirty"] != [], "tree_state: a changed file is dirty")


# ---- systems and groups -----------------------------------------------------------

def check_newer_cpythons():
    with tempfile.TemporaryDirectory() as tmp:
        def script(name, body):
            p = os.path.join(tmp, name)
            with open(p, "w") as f:
                f.write("#!/bin/sh\n" + body + "\n")
            os.chmod(p, 0o755)
            return p
        default = script("python3", "echo 11")
        script("python3.11", 'printf "3.11\\n/x/python3.11\\n3.11.2\\n"')
        script("python3.12", 'printf "3.12\\n/opt/py/bin/python3.12\\n3.12.9\\n"')
        script("python3.13", 'echo "pyenv: python3.13: command not found" >&2; exit 127')
        found, versions, looked = run.find_newer_cpythons(default, path=tmp)
        check(found == {"cpython3.12": "/opt/py/bin/python3.12"},
              "newer CPythons: a python3.N that runs is a system, named after its version "
              "and run by its real executable; the default version and one that does not "
              "run are not")
        check(any("python3.13" in l and "does not run" in l for l in looked),
              "the report says which python3.N on PATH did not run, and why")
    g = {g.key: g for g in workloads.GROUPS}
    check(g["W1"].runs_on("cpython3.12") and g["W6"].runs_on("cpython3.12")
          and not g["W5"].runs_on("cpython3.12"),
          "a newer CPython runs what CPython runs, not CPython's once-only depth-21 run")
    paths = {"cpython3.12": "/opt/py/bin/python3.12", "bdwgc-gen": "/p/bdwgc_bench",
             "mimalloc": "/p/malloc_bench_mimalloc"}
    check(run.command("cpython3.12", g["W1"], paths)[0] == "/opt/py/bin/python3.12",
          "a newer CPython's command runs its own interpreter")


def check_groups():
    g = {g.key: g for g in workloads.GROUPS}
    check(g["W4"].runs_on("bdwgc-gen") and g["W6"].runs_on("bdwgc-gen")
          and not g["W3"].runs_on("bdwgc-gen"),
          "bdwgc-gen (generational mode) runs W4 and W6")
    cmd = run.command("bdwgc-gen", g["W4"], {"bdwgc-gen": "/p/bdwgc_bench"})
    check(cmd[-1] == "--incremental" and "W4" in cmd, "bdwgc-gen is bdwgc_bench --incremental")
    for system in ("mimalloc", "jemalloc"):
        check(all(g[k].runs_on(system) for k in ("W1", "W2", "W5", "W5@18"))
              and not g["W3"].runs_on(system),
              "%s runs malloc's workloads (W1, W2, W5)" % system)
    runs = [{"group": k, "workload": g[k].workload, "args": [], "system": s, "rep": 1,
             "ok": True, "metrics": m}
            for k, s, m in (
                ("W4", "recycle", {"full_ms": [1, "ms"], "young_ms": [0.1, "ms"]}),
                ("W4", "bdwgc", {"full_ms": [1, "ms"]}),
                ("W4", "bdwgc-gen", {"young_ms": [0.5, "ms"]}),
                ("W6", "recycle", {"max_pause_ms": [1, "ms"]}),
                ("W6", "bdwgc", {"max_pause_ms": [1, "ms"]}))]
    groups = [g["W4"], g["W6"]]
    peers = ["bdwgc", "bdwgc-gen"]
    summary = report.summarise(groups, runs)
    text = report.table(groups, summary, [], [], {}, peers)
    notes = report.caveat_lines(groups, peers)
    young = next(l for l in text.splitlines() if "`young_ms`" in l).split(" | ")
    pause = next(l for l in text.splitlines() if "`max_pause_ms`" in l).split(" | ")
    mark_w4 = next(n.split()[0] for n in notes if n.split()[1] == "bdwgc:"
                   and "young" in n)
    mark_w6 = next(n.split()[0] for n in notes if n.split()[1] == "bdwgc:"
                   and "lazy sweep" in n)
    check(young[3] == "— " + mark_w4 and young[5].startswith("0.5"),
          "W4: bdwgc's young cell is empty and says why; bdwgc-gen's has the figure")
    check(pause[3].endswith(mark_w6),
          "W6: bdwgc's pause figures say the lazy sweep is not in them")
    check("total_pause_ms" in workloads.ROWS["W6"] and "settle_ms" in workloads.ROWS["W6"],
          "W6's rows include total_pause_ms and settle_ms")


def check_w7_w8_groups():
    g = {g.key: g for g in workloads.GROUPS}
    collectors = ("recycle", "CPython", "cpython3.12", "bdwgc", "bdwgc-gen")
    check("W7" in g and all(g["W7"].runs_on(s) for s in collectors)
          and not any(g["W7"].runs_on(s) for s in workloads.MALLOCS),
          "W7 runs on every collector (bdwgc-gen and newer CPythons too), not on the mallocs")
    check("W8" in g and all(g["W8"].runs_on(s) for s in ("recycle", "CPython", "cpython3.13"))
          and not any(g["W8"].runs_on(s) for s in ("bdwgc", "bdwgc-gen") + workloads.MALLOCS),
          "W8 runs on recycle and the CPythons only")
    cmd = run.command("bdwgc-gen", g["W7"], {"bdwgc-gen": "/p/bdwgc_bench"})
    check(cmd[:2] == ["/p/bdwgc_bench", "W7"] and cmd[-1] == "--incremental",
          "bdwgc-gen's W7 is bdwgc_bench W7 --incremental")
    metrics = {"W7": {"total_pause_ms": [2.0, "ms"], "max_pause_ms": [1.0, "ms"]},
               "W8": {"build_ms": [10.0, "ms"], "lookup_ns": [30.0, "ns"]}}
    systems = {"W7": ("recycle", "CPython", "cpython3.12", "bdwgc", "bdwgc-gen"),
               "W8": ("recycle", "CPython", "cpython3.12")}
    runs = [{"group": k, "workload": k, "args": [], "system": s, "rep": 1, "ok": True,
             "metrics": metrics[k]} for k in ("W7", "W8") for s in systems[k]]
    groups = [g["W7"], g["W8"]]
    peers = ["CPython", "cpython3.12", "bdwgc", "bdwgc-gen", "malloc", "mimalloc", "jemalloc"]
    summary = report.summarise(groups, runs)
    lines = report.table(groups, summary, [], [], {}, peers).splitlines()
    head = lines[0].split(" | ")
    col = {p: head.index(p) for p in peers}
    total = next(l for l in lines if "`total_pause_ms`" in l).split(" | ")
    build = next(l for l in lines if "**W8" in l and "`build_ms`" in l).split(" | ")
    check(all(total[col[p]].startswith("2") for p in ("CPython", "cpython3.12", "bdwgc",
                                                      "bdwgc-gen"))
          and all(total[col[p]] == "n/a" for p in workloads.MALLOCS),
          "the W7 row has a figure for every collector column and n/a for the mallocs")
    check(all(build[col[p]].startswith("10") for p in ("CPython", "cpython3.12"))
          and all(build[col[p]] == "n/a" for p in ("bdwgc", "bdwgc-gen", "malloc")),
          "the W8 row has the CPython columns' figures and n/a for bdwgc and the mallocs")
    notes = report.caveat_lines(groups, peers)
    check(total[col["bdwgc"]].endswith(")") and total[col["bdwgc-gen"]].endswith(")")
          and any("bdwgc:" in n and "growing of its heap" in n for n in notes)
          and any("bdwgc-gen:" in n and "growing of its heap" in n for n in notes),
          "W7: bdwgc's and bdwgc-gen's pause figures say the lazy sweep and heap growth "
          "are not in them")


# ---- the programs ------------------------------------------------------------------

def names_once(stdout):
    """Whether no metric name is printed twice."""
    names = [l.split()[0] for l in stdout.splitlines() if l.strip() and not l.startswith("#")]
    return len(names) == len(set(names))


W7_METRICS = set(workloads.ROWS["W7"])
W8_METRICS = set(workloads.ROWS["W8"])


def check_recycle_w6(recycle):
    p = run_prog([recycle, "bench", "W6", "--depth", "4", "--seconds", "1"])
    m = metrics_of(p.stdout)
    check(p.returncode == 0 and "total_pause_ms" in m and "settle_ms" in m
          and names_once(p.stdout),
          "recycle's W6 settles with a full collection and prints total_pause_ms, once")


def check_recycle_w7_w8(recycle):
    p = run_prog([recycle, "bench", "W7", "--depth", "12"])
    check(p.returncode == 0 and W7_METRICS <= set(metrics_of(p.stdout)),
          "recycle's W7 prints every W7 metric")
    p = run_prog([recycle, "bench", "W8", "--n", "200"])
    check(p.returncode == 0 and W8_METRICS <= set(metrics_of(p.stdout)),
          "recycle's W8 prints every W8 metric")


def check_cpython_w6():
    py = workloads.PYTHON
    p = run_prog([py, os.path.join(ROOT, "bench", "peers", "cpython_bench.py"), "W6",
                  "--depth", "4", "--seconds", "1"])
    m = metrics_of(p.stdout)
    check(p.returncode == 0 and "total_pause_ms" in m and "settle_ms" in m
          and names_once(p.stdout),
          "CPython's W6 prints total_pause_ms and settle_ms, once")
    p = run_prog([py, os.path.join(ROOT, "bench", "peers", "cpython_bench.py"), "W7",
                  "--depth", "12"])
    check(p.returncode == 0 and W7_METRICS <= set(metrics_of(p.stdout)),
          "CPython's W7 prints every W7 metric")
    p = run_prog([py, os.path.join(ROOT, "bench", "peers", "cpython_bench.py"), "W8",
                  "--n", "200"])
    check(p.returncode == 0 and W8_METRICS <= set(metrics_of(p.stdout)),
          "CPython's W8 prints every W8 metric")


def check_peers(tmp):
    if not shutil.which(os.environ.get("CC", "gcc")):
        skip("the C peers: no C compiler (gcc)")
        return
    b = run_prog(["sh", os.path.join(ROOT, "bench", "peers", "build.sh"), tmp])
    built = lambda name: os.access(os.path.join(tmp, name), os.X_OK)  # noqa: E731
    if not built("malloc_bench"):
        check(False, "build.sh builds malloc_bench:\n" + b.stdout + b.stderr)
        return

    for n, reallocs, cap in ((1000, 9, 1024), (5, 2, 8)):
        p = run_prog([os.path.join(tmp, "malloc_bench"), "W1", "--n", str(n)])
        check(p.returncode == 0 and "W1: %d reallocs, from 4 items doubling to %d" %
              (reallocs, cap) in p.stderr,
              "malloc's W1 grows from 4 items by doubling, as recycle's list (n=%d)" % n)

    for alloc in ("mimalloc", "jemalloc"):
        name = "malloc_bench_" + alloc
        if not built(name):
            skip("%s: lib%s-dev is not installed" % (name, alloc))
            continue
        p = run_prog([os.path.join(tmp, name), "W2", "--n", "1000"])
        first = p.stderr.splitlines()[0] if p.stderr else ""
        check(p.returncode == 0 and "lib" + alloc in first and "ns_per_object" in p.stdout,
              "%s's malloc comes from lib%s (%s)" % (name, alloc, first))
    p = run_prog([os.path.join(tmp, "malloc_bench"), "W2", "--n", "1000"])
    check(p.returncode == 0 and "libc" in p.stderr.splitlines()[0],
          "malloc_bench says its malloc is the C library's")

    if not built("bdwgc_bench"):
        skip("bdwgc_bench: libgc-dev is not installed")
        return
    bdwgc = os.path.join(tmp, "bdwgc_bench")
    for mode in ([], ["--incremental"]):
        p = run_prog([bdwgc, "W6", "--depth", "4", "--seconds", "1"] + mode)
        m = metrics_of(p.stdout)
        check(p.returncode == 0 and "total_pause_ms" in m and "settle_ms" in m
              and names_once(p.stdout),
              "bdwgc's W6%s prints total_pause_ms and settle_ms, once" % " ".join([""] + mode))
        p = run_prog([bdwgc, "W7", "--depth", "12"] + mode)
        check(p.returncode == 0 and W7_METRICS <= set(metrics_of(p.stdout)),
              "bdwgc's W7%s prints every W7 metric" % " ".join([""] + mode))
    m = metrics_of(run_prog([bdwgc, "W4", "--depth", "8"]).stdout)
    check("full_ms" in m and "full_lazy_sweep_ms" in m and "young_ms" not in m,
          "bdwgc's default W4: a full collection with its sweep, and no young collection")
    m = metrics_of(run_prog([bdwgc, "W4", "--depth", "8", "--incremental"]).stdout)
    check("young_ms" in m and "young_lazy_sweep_ms" in m and "full_ms" not in m,
          "bdwgc-gen's W4: the young collection with its sweep")
    m = metrics_of(run_prog([bdwgc, "W3", "--n", "1000"]).stdout)
    check("lazy_sweep_ms" in m and m.get("freed_objects", [0])[0] > 0,
          "bdwgc's W3 collection includes its sweep")
    m = metrics_of(run_prog([bdwgc, "W1c", "--n", "1000"]).stdout)
    check("lazy_sweep_ms" in m, "bdwgc's W1c collection includes its sweep")


def check_repeats():
    """The time budget cuts the interpreters' repetitions of a workload first,
    then the repetitions of the systems a target compares, all of these
    together; the report says which were cut."""
    costs = {("W5@18", "CPython"): 66.0, ("W5@18", "cpython3.12"): 60.0,
             ("W5@18", "recycle"): 2.3, ("W5@18", "bdwgc"): 2.1,
             ("W5p", "recycle"): 28.0, ("W5p", "bdwgc"): 24.7}
    fast = 4 * (2.3 + 2.1 + 28.0 + 24.7)
    reps = run.plan_repeats(costs, 5, fast + 66.5)   # room for one more interpreter run
    check(reps[("W5@18", "CPython")] == 1 and reps[("W5@18", "cpython3.12")] == 2 and
          all(n == 5 for k, n in reps.items() if k[1] in ("recycle", "bdwgc")),
          "the budget cuts the interpreters' depth-18 repetitions and keeps recycle's and "
          "bdwgc's (got %r)" % reps)
    reps = run.plan_repeats(costs, 5, 2 * (28.0 + 24.7) + 4 * (2.3 + 2.1))
    check(reps[("W5p", "recycle")] == reps[("W5p", "bdwgc")] == 3 and
          reps[("W5@18", "recycle")] == reps[("W5@18", "bdwgc")] == 5,
          "recycle and bdwgc are cut together, the most expensive workload first (got %r)"
          % reps)
    check(run.plan_repeats(costs, 5, 0) == {k: 1 for k in costs},
          "with no budget left every system runs once")
    g = next(g for g in workloads.GROUPS if g.key == "W5@18")
    _, _, info = fake_state(dirty=False)
    opts = argparse.Namespace(quick=False, runs=5, budget_min=30)
    text = report.intro(info, opts, [], [], [g],
                        {"W5@18": {"CPython": 2, "recycle": 5, "bdwgc": 5}}, ["CPython"])
    check("%s on CPython 2×" % g.label() in text and "on recycle" not in text,
          "the report names the system whose repetitions were cut")
    check("every system 1×" in report.intro(info, opts, [], [], [g], {"W5@18": 1}, []),
          "a state saved with one count per workload still reports its cut")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--recycle", required=True, help="the recycle command")
    opts = ap.parse_args()
    check_report_names_commit()
    check_dirty_refusal()
    check_tree_state()
    check_newer_cpythons()
    check_groups()
    check_repeats()
    check_w7_w8_groups()
    check_recycle_w6(opts.recycle)
    check_recycle_w7_w8(opts.recycle)
    check_cpython_w6()
    with tempfile.TemporaryDirectory() as tmp:
        check_peers(tmp)
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    if skips:
        why = "; ".join(skips)
        required = os.environ.get("RC_REQUIRE_TOOLS")
        if (required is not None and required not in ("", "0")) or \
                (required is None and "CI" in os.environ):
            print("%s, and RC_REQUIRE_TOOLS (or CI) says every tool must be there" % why)
            return 1
        print("skipped: " + why)
        return 77
    return 0


if __name__ == "__main__":
    sys.exit(main())
