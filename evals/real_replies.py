"""Run the rules over real agent replies (IBM Twitter customer-care test split).

    python -m evals.real_replies [PATH] [--json] [--show N]

Prints how many replies were blocked or warned, by rule, with examples, so a
rule change can be judged on real traffic: most of these replies are fine,
so every block is a candidate false positive to look at.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from coach.checker import check
from evals.datasets import TWITTER_CUSTOMER_CARE

DEFAULT_PATH = TWITTER_CUSTOMER_CARE


@dataclass
class ScanReport:
    total: int = 0
    blocked: int = 0
    warned_only: int = 0
    languages: Counter[str] = field(default_factory=Counter)
    blocks_by_rule: Counter[str] = field(default_factory=Counter)
    warns_by_rule: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "total": self.total,
            "blocked": self.blocked,
            "warned_only": self.warned_only,
            "languages": dict(self.languages),
            "blocks_by_rule": dict(self.blocks_by_rule.most_common()),
            "warns_by_rule": dict(self.warns_by_rule.most_common()),
            "examples": self.examples,
        }


def agent_replies(path: Path) -> list[str]:
    items = json.loads(path.read_text(encoding="utf-8"))
    return [item["agentURL"]["url_utterance"] for item in items]


def scan(
    replies: list[str], examples_per_rule: int = 3, detectors: Sequence[str] | None = None
) -> ScanReport:
    """Check every reply (``detectors``: COACH_DETECTORS when None)."""
    report = ScanReport(total=len(replies))
    for reply in replies:
        result = check(reply, detectors=detectors)
        report.languages[result.language] += 1
        blocks = [v for v in result.violations if v.severity == "block"]
        warns = [v for v in result.violations if v.severity == "warn"]
        if blocks:
            report.blocked += 1
        elif warns:
            report.warned_only += 1
        for v in blocks:
            report.blocks_by_rule[v.rule] += 1
        for v in warns:
            report.warns_by_rule[v.rule] += 1
        for v in blocks + warns:
            shown = report.examples.setdefault(v.rule, [])
            if len(shown) < examples_per_rule:
                shown.append(f"[{v.text}] {reply[:160]}")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--show", type=int, default=3, help="examples per rule")
    args = parser.parse_args(argv)
    report = scan(agent_replies(args.path), args.show)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
        return 0
    print(f"replies: {report.total}  blocked: {report.blocked}  warned only: {report.warned_only}")
    print(f"languages: {dict(report.languages)}")
    for title, counter in (("blocking", report.blocks_by_rule), ("warning", report.warns_by_rule)):
        print(f"\n{title} rules:")
        for rule, count in counter.most_common():
            print(f"  {count:4d}  {rule}")
            for example in report.examples.get(rule, []):
                print(f"          {example}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
