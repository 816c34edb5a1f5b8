"""The README table between the compare markers (full runs into bench/results only)."""

from .report import caveat_lines, intro, pictures_md, table
from .workloads import PEERS, log


def update_readme(path, info, opts, groups, reps, summary, checks, losses, drawn, failed,
                  peers=PEERS):
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
        intro(info, opts, checks, losses, groups, reps, peers),
        "",
        table(groups, summary, checks, losses, failed, peers),
        ""] + [line + "\n" for line in caveat_lines(groups, peers)] + [
        pictures_md("bench/results/", drawn),
        "",
        "Machine, versions, notes and raw runs: [bench/results/](bench/results/RESULTS.md).",
        end])
    before, rest = text.split(begin, 1)
    after = rest.split(end, 1)[1]
    with open(path, "w") as f:
        f.write(before + body + after)
    return True
