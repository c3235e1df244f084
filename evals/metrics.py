"""Aggregate metrics of one system's case results (all plain dicts: they go to results.json)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from evals.runner import CaseResult


def _ratio(num: float, den: float) -> float | None:
    return round(num / den, 4) if den else None


def _prf(tp: int, fp: int, fn: int) -> dict[str, Any]:
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    f1 = (
        round(2 * precision * recall / (precision + recall), 4)
        if precision is not None and recall is not None and precision + recall
        else None
    )
    return {"tp": tp, "fp": fp, "fn": fn, "precision": precision, "recall": recall, "f1": f1}


def rules_scores(results: Iterable[CaseResult]) -> dict[str, Any]:
    """Precision and recall of the rules on the drafts, overall, by category and by language.

    A draft's gold labels are complete: a category it is flagged for that is not
    in ``draft_flags`` counts as a false positive.
    """
    totals = [0, 0, 0]
    by_category: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    by_language: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in results:
        if r.draft_categories is None:
            continue
        predicted, truth = set(r.draft_categories), set(r.draft_flags)
        for category in predicted | truth:
            slot = (
                0
                if category in predicted and category in truth
                else (1 if category in predicted else 2)
            )
            for counts in (totals, by_category[category], by_language[r.language]):
                counts[slot] += 1
    return {
        "overall": _prf(*totals),
        "by_category": {k: _prf(*v) for k, v in sorted(by_category.items())},
        "by_language": {k: _prf(*v) for k, v in sorted(by_language.items())},
    }


def summarize(results: Sequence[CaseResult]) -> dict[str, Any]:
    answered = [r for r in results if r.error is None]
    required = sum(len(r.techniques_required) for r in answered)
    covered = sum(len(set(r.techniques_required) & set(r.techniques_found)) for r in answered)
    per_technique: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in answered:
        for t in r.techniques_required:
            per_technique[t][1] += 1
            per_technique[t][0] += t in r.techniques_found
    by_language: dict[str, dict[str, Any]] = {}
    for language in sorted({r.language for r in results}):
        subset = [r for r in results if r.language == language]
        by_language[language] = {
            "cases": len(subset),
            "pass_rate": _ratio(sum(r.passed for r in subset), len(subset)),
            "guard_pass_rate": _ratio(sum(r.guard_passed for r in subset), len(subset)),
            "chrf": round(statistics.fmean(r.chrf for r in subset), 2) if subset else None,
        }
    judged = [r.judge for r in answered if r.judge is not None]
    latencies = [r.elapsed_ms for r in answered]
    return {
        "cases": len(results),
        "errors": len(results) - len(answered),
        "pass_rate": _ratio(sum(r.passed for r in results), len(results)),
        "guard_pass_rate": _ratio(sum(r.guard_passed for r in answered), len(results)),
        "technique_coverage": _ratio(covered, required),
        "language_correct": _ratio(sum(r.language_ok for r in answered), len(results)),
        "new_facts_rate": _ratio(sum(bool(r.new_facts) for r in answered), len(results)),
        "chrf": round(statistics.fmean(r.chrf for r in answered), 2) if answered else None,
        "judge": round(statistics.fmean(judged), 4) if judged else None,
        "degraded_rate": _ratio(sum(r.degraded for r in answered), len(results)),
        "latency_ms_p50": round(statistics.median(latencies), 2) if latencies else None,
        "rules": rules_scores(results),
        "techniques": {
            t: {"required": n, "shown": k, "rate": _ratio(k, n)}
            for t, (k, n) in sorted(per_technique.items())
        },
        "by_language": by_language,
    }
