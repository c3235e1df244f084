"""Compare two eval runs: per metric and case by case, with a significance note.

Pass/fail changes on the same cases are paired, so McNemar's exact test (a
two-sided binomial test on the discordant cases) says how likely a change
this large is by chance; with fewer than 10 discordant cases the note says
the counts are too small to conclude anything.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from evals.report import METRICS as REPORT_METRICS

# The primary system's figures compared, in order; the list and each one's direction live in
# evals.report.METRICS (chrf replaced an embedding "similarity": against a run from before
# it, chrf is n/a).
COMPARED = [m for m in REPORT_METRICS if m.compared]


def load_run(path: Path | str) -> dict[str, Any]:
    p = Path(path)
    if p.is_dir():
        p = p / "results.json"
    data: dict[str, Any] = json.loads(p.read_text(encoding="utf-8"))
    return data


def mcnemar_p(better: int, worse: int) -> float:
    """Two-sided exact McNemar p-value for ``better`` vs ``worse`` discordant pairs."""
    n = better + worse
    if n == 0:
        return 1.0
    k = min(better, worse)
    tail = float(sum(math.comb(n, i) for i in range(k + 1))) / float(2**n)
    return min(1.0, 2.0 * tail)


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    ma, mb = a["systems"][a["primary"]]["metrics"], b["systems"][b["primary"]]["metrics"]
    metrics = []
    for metric in COMPARED:
        # A metric one run lacks (an older run, or none measured: no judge, no answers) is n/a.
        va, vb = metric.value(ma), metric.value(mb)
        delta = None if va is None or vb is None else round(vb - va, 4)
        verdict = "n/a" if delta is None else "same"
        if delta:
            improved = delta < 0 if metric.lower_is_better else delta > 0
            verdict = "better" if improved else "worse"
        metrics.append({"metric": metric.key, "a": va, "b": vb, "delta": delta, "verdict": verdict})
    ra = {c["id"]: c for c in a["systems"][a["primary"]]["cases"]}
    rb = {c["id"]: c for c in b["systems"][b["primary"]]["cases"]}
    shared = sorted(set(ra) & set(rb))
    fixed = [i for i in shared if not ra[i]["passed"] and rb[i]["passed"]]
    broken = [i for i in shared if ra[i]["passed"] and not rb[i]["passed"]]
    p = mcnemar_p(len(fixed), len(broken))
    if len(fixed) + len(broken) < 10:
        note = f"only {len(fixed) + len(broken)} cases changed: too few to call the difference significant"
    elif p < 0.05:
        note = f"McNemar exact p = {p:.3g}: the pass-rate change is unlikely to be chance"
    else:
        note = f"McNemar exact p = {p:.3g}: the pass-rate change could be chance"
    changes = []
    for i in fixed + broken:
        failed = {c["name"] for c in (rb[i] if i in broken else ra[i])["checks"] if not c["passed"]}
        changes.append(
            {"id": i, "change": "fixed" if i in fixed else "broken", "checks": sorted(failed)}
        )
    return {
        "a": {"label": a["run"]["label"], "primary": a["primary"]},
        "b": {"label": b["run"]["label"], "primary": b["primary"]},
        "metrics": metrics,
        "shared_cases": len(shared),
        "fixed": fixed,
        "broken": broken,
        "mcnemar_p": round(p, 4),
        "significance": note,
        "changes": changes,
        "only_in_a": sorted(set(ra) - set(rb)),
        "only_in_b": sorted(set(rb) - set(ra)),
    }
