#!/usr/bin/python3
"""Run recycle's benchmark workloads beside its peers and write bench/results/.

    /usr/bin/python3 bench/compare.py            # full sizes, 3 runs, ~17 min budget
    /usr/bin/python3 bench/compare.py --quick    # small sizes, 1 run, under a minute

`make compare` installs what is missing (bench/compare_deps.sh: it says what,
and asks on a terminal), builds ./build/recycle and runs this.
The script builds the peers (bench/peers/build.sh build/peers), runs every workload
of bench/WORKLOADS.md on every system that has it, several times, interleaved: each
repetition goes once round all workloads and, inside a workload, round all systems (in
an order rotated every repetition).  The systems: recycle; CPython (Debian's
/usr/bin/python3) and every newer python3.N that runs from PATH (cpython3.N); bdwgc in
its default mode and in its generational one (bdwgc-gen); malloc_bench on glibc's
malloc, on mimalloc and on jemalloc.  Every program prints `name value unit` lines;
the medians with min-max, the peer/recycle ratios and the design targets go to
RESULTS.md, the raw runs to results.json, and gnuplot draws ratios.png and
w6_pauses.png.

The published table (bench/results and the README) comes from one commit with a clean
tree: a full run refuses to start when `git status --porcelain` lists anything, unless
--allow-dirty, and the report names the commit and says "dirty tree" when it was not
clean (--quick and --only runs never refuse, and say so too).

Nothing is tuned per workload: every system runs with its default settings, and the
sizes are those of WORKLOADS.md (plus binary-trees at depth 18, where CPython can keep
up).  The only thing that adapts is how many times the slowest workloads are repeated,
so that the whole run fits its time budget (--budget-min); the report says when that
happened.

W6 pause distribution: when the environment variable RC_PAUSES_FILE names a file, a W6
implementation writes every collector pause there, one duration in ms per line.  The
picture is drawn from those files for the systems that wrote one.

The work is done by the package bench/compare/: workloads.py (what is run), run.py
(running it), targets.py (the design targets), report.py (RESULTS.md), plot.py (the
pictures), readme.py (the README table); this file is the command line.

Standard library only; run it with Debian's /usr/bin/python3.
"""

import argparse
import json
import os
import shutil
import sys

from compare.plot import draw_pauses, draw_ratios, pause_summary, read_pauses
from compare.readme import update_readme
from compare.report import summarise, write_results_md
from compare.run import describe_tree, measure, select_groups, tree_state
from compare.targets import evaluate
from compare.workloads import GROUPS, ROOT, log


def peers_of(systems, groups):
    """The peer columns: the run's systems (in order) that some group runs."""
    return [s for s in systems if s != "recycle"
            and any(g.runs_on(s) or s in g.once for g in groups)]


def report(state, groups, out, work, readme):
    """RESULTS.md, results.json and the pictures from a measured (or reloaded) state."""
    meta = argparse.Namespace(quick=state["mode"] == "quick", runs=state["runs_per_system"],
                              budget_min=state["budget_min"])
    runs, info, reps = state["runs"], state["machine"], state["reps"]
    peers = peers_of(state["systems"], groups)
    notes = list(state["run_notes"])
    summary = summarise(groups, runs)
    checks, losses = evaluate(groups, summary, peers)
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
        for system in [s for s in state["systems"] if w6.runs_on(s)]:
            files = [os.path.join(ROOT, r["pause_file"]) for r in runs
                     if r["group"] == w6.key and r["system"] == system and r["ok"]
                     and r.get("pause_file")]
            values = [v for p in files if os.path.exists(p) for v in read_pauses(p)]
            if values:
                pauses[system] = pause_summary(values)
            elif system in state.get("w6_pauses", {}):
                pauses[system] = state["w6_pauses"][system]
        without = [s for s in state["systems"] if w6.runs_on(s) and s not in pauses]
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
        drawn["ratios"] = draw_ratios(groups, summary, os.path.join(out, "ratios.png"), work,
                                      peers)
        if pauses:
            drawn["pauses"] = draw_pauses(pauses, os.path.join(out, "w6_pauses.png"), work,
                                          w6.label())
    else:
        notes.append("gnuplot is not installed (apt-get install gnuplot-nox): no pictures.")
    if any(g.runs_on("bdwgc") for g in groups):
        notes.append("bdwgc sweeps lazily (its allocator frees a block's dead objects when it "
                     "next needs that block). The times of its explicit collections (W1c "
                     "`collect_ms`, W3 `collect_*`, W4 `full_ms`, bdwgc-gen's `young_ms`) "
                     "include that sweep, finished at once after the collection; the "
                     "`*lazy_sweep_ms` rows show its share (bench/peers/README.md says how).")
    notes.append("USS is Private_Clean + Private_Dirty of /proc/self/smaps_rollup, in MB of "
                 "2^20 bytes. The machine is shared: the load average above says how busy "
                 "it was.")

    write_results_md(os.path.join(out, "RESULTS.md"), info, meta, groups, reps, summary,
                     checks, losses, notes, drawn, failed, state["commands"], peers)
    saved = dict(state, notes=notes, summary=summary, targets=checks, losses=losses,
                 w6_pauses=pauses)
    saved["runs"] = saved.pop("runs")    # the long list last
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(saved, f, indent=1)
    if readme and update_readme(readme, info, meta, groups, reps, summary, checks, losses,
                                drawn, failed, peers):
        log("README: table updated in %s" % os.path.relpath(readme, ROOT))
    log("wrote %s: RESULTS.md, results.json%s" % (
        os.path.relpath(out, ROOT),
        "".join(", " + f for k, f in (("ratios", "ratios.png"), ("pauses", "w6_pauses.png"))
                if drawn.get(k))))
    # A failed run fails `make compare`, except the optional once-only run.
    return 1 if any(not r["ok"] and not r.get("once") for r in runs) else 0


def dirty_refusal(tree, publishing, allow_dirty):
    """Why a run must not start, or None.

    The published table (bench/results and the README) comes from one commit with a
    clean tree, so that the commit it names is what was measured."""
    if not publishing or allow_dirty or (tree["commit"] and not tree["dirty"]):
        return None
    return ("compare: not measuring into bench/results from %s.\n"
            "Commit (or stash) first so the table names what it measured, or pass "
            "--allow-dirty to publish it marked \"dirty tree\"."
            % describe_tree(tree).replace("**", ""))


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
    ap.add_argument("--allow-dirty", action="store_true",
                    help="measure into bench/results even when `git status --porcelain` "
                         "lists changes; the report then says \"dirty tree\" (--quick "
                         "and --only runs never refuse, and say so too)")
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
    refusal = dirty_refusal(tree_state(), out == default_out, opts.allow_dirty)
    if refusal:
        sys.exit(refusal)
    os.makedirs(os.path.join(work, "pauses"), exist_ok=True)
    os.makedirs(out, exist_ok=True)

    state = measure(opts, groups, work)
    readme = opts.readme if not kind and out == default_out else None
    return report(state, groups, out, work, readme)


if __name__ == "__main__":
    sys.exit(main())
