"""The blind detection corpus: agent replies labelled by category, written by helpers who never
saw the rule packs, split for good into train / dev / test.

Rules are written and tuned on ``train`` and ``dev`` only. The ``test`` split is read by the
report alone: :func:`misses` refuses it, so no tool of this project shows a test line to a
rule writer. Numbers worth quoting are the test split's.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from evals.gold import read_jsonl
from rules import Category

if TYPE_CHECKING:
    from coach.review import Reviewer
    from coach.schemas import CheckResult

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
SCHEMA_PATH = CORPUS_DIR / "schema.json"
Split = Literal["train", "dev", "test"]
SPLITS: tuple[Split, ...] = ("train", "dev", "test")
# Shares of the hash space: 60% train, 20% dev, 20% test.
_BOUNDS: tuple[tuple[int, Split], ...] = ((60, "train"), (80, "dev"), (100, "test"))


class CorpusError(ValueError):
    """A corpus file that cannot be used; the message names the file and line."""


class CorpusLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str
    language: str
    text: str
    categories: tuple[Category, ...]
    address: Literal["formal", "informal", "neutral"] = Field(alias="register")
    spelling: Literal["standard", "chat"]
    situation: str
    tricky: bool

    @property
    def clean(self) -> bool:
        return not self.categories

    @property
    def split(self) -> Split:
        return split_of(self.id)


def split_of(line_id: str) -> Split:
    """The split of a line, fixed by a hash of its id (never by position or content)."""
    bucket = int.from_bytes(hashlib.sha256(line_id.encode()).digest()[:8], "big") % 100
    return next(name for bound, name in _BOUNDS if bucket < bound)


def load_corpus(path: Path | str = CORPUS_DIR) -> list[CorpusLine]:
    return [
        CorpusLine.model_validate(data)
        for _, data in read_jsonl(path, SCHEMA_PATH, CorpusError, "corpus")
    ]


# What a detector says of one line: the categories it found, and whether it blocks.
Verdict = tuple[frozenset[Category], bool]
Detector = Callable[[CorpusLine], Verdict]


# The detector combinations a corpus run can measure: name -> COACH_DETECTORS values.
DETECTORS: dict[str, tuple[str, ...]] = {
    "rules": ("rules",),
    "model": ("model",),
    "rules+model": ("rules", "model"),
    "rules+model+semantic": ("rules", "model", "semantic"),
}


def detector(name: str) -> Detector:
    """The rules and/or the learned layer, with the line's language given."""
    from coach.checker import check

    use = DETECTORS[name]

    def run(line: CorpusLine) -> Verdict:
        return verdict(check(line.text, line.language, detectors=use))

    return run


def verdict(result: CheckResult) -> Verdict:
    """The categories a check found, and whether it blocks."""
    return frozenset(v.category for v in result.violations), not result.passed


# The LLM review on top of the rules and the learned layer (needs a model).
WITH_REVIEW = "rules+model+llm"


def review_detector(
    lines: Iterable[CorpusLine],
    splits: Iterable[Split],
    reviewer: Reviewer,
    concurrency: int = 8,
    seconds: float = 60.0,
) -> Detector:
    """Rules + learned layer + the LLM review (``coach/review.py``) of every line of
    ``splits``, asked ``concurrency`` at a time; answers come from the reviewer's cache
    when it has them. A review that fails leaves the line with the other detectors'
    verdict (the result's notes say so, as in ``POST /v1/check``)."""
    import asyncio

    from coach.checker import check

    use = DETECTORS["rules+model"]
    wanted = [line for line in lines if line.split in tuple(splits)]

    # One review per distinct text (a corpus may repeat one), asked once even when two
    # lines with it are in flight together.
    texts = sorted({(line.language, line.text) for line in wanted})

    async def all_texts() -> dict[tuple[str, str], Verdict]:
        gate = asyncio.Semaphore(max(1, concurrency))

        async def one(language: str, text: str) -> tuple[tuple[str, str], Verdict]:
            result = check(text, language, detectors=use)
            async with gate:
                merged = await reviewer.add_to(text, result, seconds)
            return (language, text), verdict(merged)

        return dict(await asyncio.gather(*(one(lang, text) for lang, text in texts)))

    verdicts = asyncio.run(all_texts())

    def run(line: CorpusLine) -> Verdict:
        return verdicts[(line.language, line.text)]

    return run


def rules_detector(line: CorpusLine) -> Verdict:
    """The rules alone (the packs' own recall)."""
    return detector("rules")(line)


@dataclass
class Cell:
    """Counts for one language (or all), one split."""

    labelled: Counter[Category] = field(default_factory=Counter)
    found: Counter[Category] = field(default_factory=Counter)
    clean: int = 0
    clean_blocked: int = 0
    clean_flagged: int = 0
    violating: int = 0
    violating_flagged: int = 0

    def add(self, line: CorpusLine, verdict: Verdict) -> None:
        categories, blocks = verdict
        if line.clean:
            self.clean += 1
            self.clean_blocked += blocks
            self.clean_flagged += bool(categories)
            return
        self.violating += 1
        self.violating_flagged += bool(categories)
        for category in line.categories:
            self.labelled[category] += 1
            self.found[category] += category in categories

    def as_dict(self) -> dict[str, Any]:
        labelled, found = sum(self.labelled.values()), sum(self.found.values())
        return {
            "category_recall": _rate(found, labelled),
            "line_recall": _rate(self.violating_flagged, self.violating),
            "clean_blocked": _rate(self.clean_blocked, self.clean),
            "clean_flagged": _rate(self.clean_flagged, self.clean),
            "violating": self.violating,
            "clean": self.clean,
            "by_category": {
                c.value: {
                    "labelled": self.labelled[c],
                    "found": self.found[c],
                    "recall": _rate(self.found[c], self.labelled[c]),
                }
                for c in Category
                if self.labelled[c]
            },
        }


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def measure(
    lines: Iterable[CorpusLine],
    detector: Detector = rules_detector,
    splits: Iterable[Split] = ("dev", "test"),
) -> dict[str, Any]:
    """Recall per language x category, and blocks / findings on clean lines, per split.

    Category recall counts a labelled category as found when the detector reports a finding
    of that category anywhere in the line (block or warn)."""
    wanted = tuple(splits)
    cells: dict[tuple[str, str], Cell] = {}
    for line in lines:
        if line.split not in wanted:
            continue
        verdict = detector(line)
        for language in (line.language, "all"):
            cells.setdefault((line.split, language), Cell()).add(line, verdict)
    result: dict[str, Any] = {}
    for split in wanted:
        languages = sorted(lang for s, lang in cells if s == split and lang != "all")
        result[split] = {
            lang: cells[(split, lang)].as_dict()
            for lang in [*languages, "all"]
            if (split, lang) in cells
        }
    return result


def misses(
    lines: Iterable[CorpusLine],
    split: Split,
    detector: Detector = rules_detector,
) -> list[tuple[CorpusLine, str]]:
    """The lines a detector gets wrong in ``train`` or ``dev``, for a rule writer to study:
    each with what went wrong. The test split is never shown."""
    if split == "test":
        raise ValueError("the test split is read by the report alone: study train or dev")
    wrong: list[tuple[CorpusLine, str]] = []
    for line in lines:
        if line.split != split:
            continue
        categories, blocks = detector(line)
        if line.clean and (blocks or categories):
            kind = "blocked" if blocks else "flagged"
            wrong.append((line, f"clean line {kind} as {', '.join(sorted(categories))}"))
        missed = [c for c in line.categories if c not in categories]
        if missed:
            wrong.append((line, f"missed {', '.join(missed)}"))
    return wrong
