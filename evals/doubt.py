"""What the learned layer's doubt costs and saves, for choosing ``DOUBT``.

    python -m evals.doubt [--corpus DIR] [--split train --split dev] [--ids 9401-9580]

A rule's block on a sentence the model scores below ``DOUBT`` for the rule's category is
kept as a warning (``coach/learned_layer.py``). For each candidate limit this prints how
many clean lines and how many violating lines stay blocked with the rules and the learned
layer together. Category recall does not move with the limit: a doubted block is still a
finding of its category. Choose on lines that neither the packs nor the model have seen
(a new blind batch, before it is trained on), never on the test split.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial

from coach.checker import choose_language, find_all, to_violation
from coach.learned_layer import DOUBT, doubted, model_violations, scored
from evals.corpus import CORPUS_DIR, SPLITS, CorpusLine, Split, load_corpus
from rules import RuleSet, load_rules

LIMITS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)


@dataclass(frozen=True)
class Row:
    limit: float
    clean: int
    clean_blocked: int
    violating: int
    violating_blocked: int


def blocks(line: CorpusLine, ruleset: RuleSet, limits: Sequence[float]) -> list[bool]:
    """Whether ``line`` is blocked by the rules and the learned layer at each limit (as
    ``check`` does on an agent's draft, with no list of allowed commitments)."""
    choice = choose_language(line.text, line.language, ruleset)
    scores = scored(line.text, choice.language)
    out = []
    for limit in limits:
        found = find_all(
            line.text,
            choice,
            ruleset,
            unconfirmed=True,
            doubt=partial(doubted, scores=scores, limit=limit),
        )
        violations = [to_violation(f) for f in found]
        violations += model_violations(line.text, ruleset, scores, violations)
        out.append(any(v.severity == "block" for v in violations))
    return out


def table(lines: Iterable[CorpusLine], limits: Sequence[float] = LIMITS) -> list[Row]:
    ruleset = load_rules()
    counts = [[0, 0, 0, 0] for _ in limits]
    for line in lines:
        for i, blocked in enumerate(blocks(line, ruleset, limits)):
            k = 0 if line.clean else 2
            counts[i][k] += 1
            counts[i][k + 1] += blocked
    return [Row(limit, *c) for limit, c in zip(limits, counts, strict=True)]


def _ids(spec: str) -> tuple[int, int]:
    lo, _, hi = spec.partition("-")
    return int(lo), int(hi or lo)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.doubt", description=__doc__)
    parser.add_argument("--corpus", default=str(CORPUS_DIR), help="corpus directory")
    parser.add_argument(
        "--split", action="append", choices=SPLITS, help="splits to use (default train, dev)"
    )
    parser.add_argument(
        "--ids", type=_ids, help="only line numbers LO-HI (a batch), e.g. 9401-9580"
    )
    args = parser.parse_args(argv)
    splits: tuple[Split, ...] = tuple(args.split or ("train", "dev"))
    lines = [
        line
        for line in load_corpus(args.corpus)
        if line.split in splits
        and (args.ids is None or args.ids[0] <= int(line.id.rsplit("-", 1)[1]) <= args.ids[1])
    ]
    print(f"{len(lines)} lines ({', '.join(splits)}); shipped DOUBT = {DOUBT}")
    print("| limit | clean blocked | violating blocked |")
    print("| --- | --- | --- |")
    for row in table(lines):
        print(
            f"| {row.limit:g} | {row.clean_blocked}/{row.clean} "
            f"({100 * row.clean_blocked / max(row.clean, 1):.1f}%) "
            f"| {row.violating_blocked}/{row.violating} "
            f"({100 * row.violating_blocked / max(row.violating, 1):.1f}%) |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
