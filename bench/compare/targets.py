"""The design targets and how each is checked against the measured medians."""

from .report import fmt, fmt_pct, median_of, row_metrics
from .workloads import NOT_COMPARABLE, PEERS, TIE_ABSOLUTE, TIE_FRACTION, direction


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
    ("W2", "ns_per_object"): [Target("≤ 1.0 × malloc", "le", 1.0, "malloc"),
                              Target("≤ 1.0 × mimalloc", "le", 1.0, "mimalloc",
                                     source="DESIGN.md")],
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
    ("W7", "max_pause_ms"): [Target("≤ 10 ms", "le", 10, source="issue 12")],
    ("W7", "p99_pause_ms"): [Target("≤ 2 ms", "le", 2, source="issue 12")],
    ("W7", "total_pause_ms"): [Target("≤ CPython / 10", "le", 0.1, "CPython",
                                      source="issue 12")],
    # 1.1 × the 323 MB the tree itself takes (W4's bytes_per_node × 2^23 nodes).
    ("W7", "uss_growth_mb"): [Target("≤ 355 MB", "le", 355, source="issue 12")],
    ("W8", "build_ms"): [Target("≤ CPython / 5", "le", 0.2, "CPython", source="issue 12")],
    ("W8", "lookup_ns"): [Target("≤ 40 ns", "le", 40, source="issue 12")],
    ("W8", "uss_growth_mb"): [Target("≤ CPython / 2", "le", 0.5, "CPython", source="issue 12")],
    ("W8", "uss_after_release_mb"): [Target("≤ 0.5 MB", "le", 0.5, source="issue 12")],
}


for _key in ("W5", "W5@18", "W5p", "W5p@18"):
    TARGETS[(_key, "wall_ms")] = [Target("< bdwgc", "lt", 1.0, "bdwgc")]
    if not _key.startswith("W5p"):
        TARGETS[(_key, "wall_ms")].append(Target("≤ 2 × malloc", "le", 2.0, "malloc"))


def evaluate(groups, summary, peers=PEERS):
    """Targets checked and peers that beat recycle, for every row."""
    checks, losses = [], []
    for g in groups:
        for metric in row_metrics(g, summary):
            rc = median_of(summary, g.key, "recycle", metric)
            unit = next((s[metric]["unit"] for s in summary[g.key].values() if metric in s), "")
            medians = {p: median_of(summary, g.key, p, metric) for p in peers}
            medians = {p: v for p, v in medians.items() if v is not None}
            for t in TARGETS.get((g.key, metric), []):
                status, why = t.check(rc, medians, unit)
                checks.append({"group": g.key, "label": g.label(), "metric": metric,
                               "target": t.text, "source": t.source, "status": status,
                               "value": rc, "unit": unit, "why": why})
            d = direction(metric)
            if rc is None or d == 0:
                continue
            tie = max(TIE_FRACTION * abs(rc), TIE_ABSOLUTE.get(unit, 0))
            for p, v in medians.items():
                if (g.workload, metric, p) in NOT_COMPARABLE:
                    continue
                if (d < 0 and v < rc - tie) or (d > 0 and v > rc + tie):
                    factor = (rc / v if d < 0 else v / rc) if v > 0 and rc > 0 else None
                    losses.append({"group": g.key, "label": g.label(), "metric": metric,
                                   "peer": p, "recycle": rc, "peer_value": v, "unit": unit,
                                   "factor": factor})
    return checks, losses
