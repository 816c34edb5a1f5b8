"""RESULTS.md from a summary: the numbers, the tables, the text."""

import statistics

from .workloads import CAVEATS, cut_repeats, DERIVED_TEXT, HIDDEN, PEERS, ROWS, TIE_ABSOLUTE, TIE_FRACTION


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


def summarise(groups, runs):
    """{group: {system: {metric: {median, min, max, n, unit}}}} over successful runs."""
    out = {}
    systems = list(dict.fromkeys(r["system"] for r in runs))
    for g in groups:
        per_system = {}
        for system in systems:
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


def caveat_marks(groups, peers):
    """{(group key, system): mark} and the lines under the table, for CAVEATS that apply."""
    marks, texts = {}, []
    for g in groups:
        for p in peers:
            c = CAVEATS.get((g.workload, p))
            if c and g.runs_on(p):
                if c[1] not in texts:
                    texts.append(c[1])
                marks[(g.key, p)] = (c[0], "(%d)" % (texts.index(c[1]) + 1))
    return marks, ["(%d) %s" % (i + 1, t) for i, t in enumerate(texts)]


def caveat_lines(groups, peers=PEERS):
    return caveat_marks(groups, peers)[1]


def table(groups, summary, checks, losses, failed, peers=PEERS):
    marks = caveat_marks(groups, peers)[0]
    head = ["workload", "metric", "recycle"]
    for p in peers:
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
            for p in peers:
                if not g.runs_on(p) and p not in g.once:
                    row += ["n/a", ""]
                    continue
                if p in g.once and p not in summary.get(g.key, {}):
                    row += ["not run (see notes)", ""]
                    continue
                mark = marks.get((g.key, p))
                row.append(cell(summary, g.key, p, metric) +
                           (" " + mark[1] if mark and metric in mark[0] else ""))
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


def intro(info, opts, checks, losses, groups, reps, peers=PEERS):
    missed = [c for c in checks if c["status"] == "missed"]
    judged = [c for c in checks if c["status"] != "n/a"]
    runs = ("%d times per system" % opts.runs) if opts.runs > 1 else "once per system"
    labels = {g.key: g.label() for g in groups}
    cut = [c for c in cut_repeats(reps, opts.runs) if c[0] in labels]
    if cut:
        runs += " (to fit the time budget: %s)" % ", ".join(
            "%s on %s %d×" % (labels[k], s, n) for k, s, n in cut)
    text = (
        "Produced by bench/compare.py (`make compare`%s) on %s: %s, %s cores, %s, from %s. "
        "Every workload of bench/WORKLOADS.md ran %s, interleaved (each "
        "repetition goes round all workloads, and inside a workload round all systems), "
        "with every system's default settings and nothing tuned per workload; cells show "
        "the median [min–max]. A ratio is peer / recycle: for times and memory above 1 "
        "means recycle is faster or smaller, for `cycles_per_s` the reverse. "
        % (", --quick: small sizes, not comparable with the targets" if opts.quick else "",
           info["date"], info["cpu"], info["cores"], info["memory"], tree_text(info), runs))
    if missed:
        text += ("**Where recycle loses:** it misses %d of the %d targets checked (%s)"
                 % (len(missed), len(judged), "; ".join(
                     "%s `%s` %s" % (c["label"], c["metric"], c["target"]) for c in missed)))
    else:
        text += "**Where recycle loses:** it meets all %d targets checked" % len(judged)
    if losses:
        order = list(peers) + [l["peer"] for l in losses]
        peers = sorted({l["peer"] for l in losses}, key=order.index)
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


def tree_text(info):
    """The commit measured and whether its tree was clean (run.describe_tree)."""
    if info.get("tree"):
        return info["tree"]
    return ("commit %s, tree state not recorded: **dirty tree** as far as anyone can tell"
            % info.get("commit", "?"))


def dirty_title(info):
    """" (dirty tree)" unless the sources were one clean commit."""
    return "" if info.get("tree") and info.get("commit") and not info.get("dirty") \
        else " (dirty tree)"


def write_results_md(path, info, opts, groups, reps, summary, checks, losses, notes, drawn,
                     failed, commands, peers=PEERS):
    with open(path, "w") as f:
        f.write("# recycle compared with CPython, bdwgc and malloc%s\n\n" % dirty_title(info))
        f.write(intro(info, opts, checks, losses, groups, reps, peers) + "\n\n")
        if losses:
            f.write("## Where a peer beats recycle\n\n" + loss_list(losses) + "\n\n")
        f.write("## Results\n\n")
        f.write(table(groups, summary, checks, losses, failed, peers) + "\n\n")
        for line in caveat_lines(groups, peers):
            f.write(line + "\n\n")
        f.write("Ratios within %d %% (or %s) of recycle count as ties, not losses. "
                "`n/a`: the system has no such workload.\n\n"
                % (TIE_FRACTION * 100, ", ".join("%g %s" % (v, u)
                                               for u, v in TIE_ABSOLUTE.items())))
        pics = pictures_md("", drawn)
        if pics:
            f.write("## Pictures\n\n" + pics + "\n\n")
        f.write("## Machine and versions\n\n")
        for k in ("date", "cpu", "cores", "memory", "kernel", "os", "gcc", "glibc", "cpython",
                  "newer_cpythons", "libgc", "bdwgc_config", "bdwgc_gen_config", "mimalloc",
                  "jemalloc", "allocators", "gnuplot", "recycle", "tree", "load_at_start",
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
