"""The pictures, drawn by gnuplot: peer/recycle ratios and the W6 pause distribution."""

import math
import os
import subprocess

from .report import fmt, fmt_ratio, median_of, ratio
from .workloads import PEERS, colour, depth_of, log


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


def draw_ratios(groups, summary, out_png, work, peers=PEERS):
    """Bar chart, log scale: peer/recycle for each workload's headline metric.

    Bars start at 1 and go up when recycle is better (lower time or memory), down when
    the peer is."""
    clusters = []
    for g in groups:
        rc = median_of(summary, g.key, "recycle", g.headline)
        bars = [(p, ratio(median_of(summary, g.key, p, g.headline), rc)) for p in peers]
        bars = [(p, r) for p, r in bars if r is not None]
        if bars:
            clusters.append((g, bars))
    if not clusters:
        return False
    dat = os.path.join(work, "ratios.dat")
    width = 0.8 / len(peers)
    values = []
    with open(dat, "w") as f:
        for p in peers:
            f.write("# %s\n" % p)
            for i, (g, bars) in enumerate(clusters):
                for peer, r in bars:
                    if peer != p:
                        continue
                    x = i + (peers.index(p) - (len(peers) - 1) / 2) * width
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
    for idx, p in enumerate(peers):
        if not any(peer == p for _, bars in clusters for peer, _ in bars):
            continue
        plots.append("%s index %d using 1:2:3:4:5:6 with boxxyerror fs solid 0.85 "
                     "lc rgb %s title %s" % (gp_quote(dat), idx, gp_quote(colour(p, peers)),
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
                     % (gp_quote(dat), gp_quote(colour(system, list(pauses))), gp_quote(title)))
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
