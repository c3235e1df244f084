"""Findings of the learned layer (``rules/learned.py``) for a checked text: ``source: "model"``.

Each sentence is scored for the nine categories; a score above the language's
threshold for a category gives one finding spanning that sentence, unless a rule
already flags that category there. Quoted words, URLs and addresses are blanked
out first, as the rules ignore them. The finding says it is statistical, carries
the score, and borrows the suggestion of a rule of the same language and category.

The scores also temper the rules (``doubted``): a rule's block on a sentence that
the model scores below ``DOUBT`` for the rule's category is kept as a warning. A
rule matches words; the model has read thousands of fine replies that use the same
words with the agent's own step or a stated fact around them, and a false block
costs the agent more than a warning does. It never applies to commitments (what
makes one wrong is its authorisation, which no text shows), to sentences too short
to score, or to a text the service wrote itself (``check_with`` leaves those alone).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from coach.checker import reported
from coach.schemas import Violation
from rules import Category, RuleSet
from rules.engine import Finding, ignored_spans, sentence_spans
from rules.learned import CATEGORIES, load_model, scorable
from rules.model import RuleKind, Severity

# Below this score for its category, a rule's block on a sentence becomes a warning.
# Chosen on blind train and dev lines, scored by packs and a model that had not seen
# them (the eleventh and twelfth batches; README "The learned layer doubts a block").
DOUBT = 0.1

WHAT: dict[Category, str] = {
    Category.DISMISSIVE: "it plays down the customer's problem or feelings",
    Category.POLICY_SHIELD: "it hides behind a rule or policy as a refusal",
    Category.HELPLESS: "it says nothing can be done",
    Category.BLAME: "it blames the customer",
    Category.BRUSH_OFF: "it brushes the customer off (busy, not my department, ending the chat)",
    Category.RUNAROUND: "it sends the customer elsewhere instead of helping",
    Category.OVER_PROMISE: "it promises more than an agent can guarantee",
    Category.FALSE_APOLOGY: "it apologises for the customer's feeling instead of the problem",
    Category.HOSTILE: "it sounds sarcastic, condescending or hostile",
}


def _blank(text: str) -> str:
    """``text`` with quotations, URLs and addresses replaced by spaces (same offsets)."""
    spans = ignored_spans(text)
    if not spans:
        return text
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


@lru_cache(maxsize=64)
def _suggestion(ruleset: RuleSet, language: str, category: Category) -> str | None:
    for rule in ruleset.rules_for(language):
        if rule.category is category and rule.spec.suggestion:
            return rule.spec.suggestion
    return None


@dataclass(frozen=True)
class Scored:
    """The sentences of a text the model can score, and their scores (one row each)."""

    language: str
    limits: tuple[np.ndarray, np.ndarray]  # the language's warn and block thresholds
    spans: list[tuple[int, int]]
    scores: np.ndarray

    def around(self, start: int, end: int, category: Category) -> float | None:
        """The highest score for ``category`` of a scored sentence overlapping [start, end)."""
        j = CATEGORIES.index(category)
        hits = [
            row[j]
            for (a, b), row in zip(self.spans, self.scores, strict=True)
            if a < end and start < b
        ]
        return float(max(hits)) if hits else None


def scored(text: str, language: str) -> Scored | None:
    """``text``'s sentences scored by the learned layer; None when no model ships for
    ``language``. Quotations, URLs and addresses are blanked first (same offsets)."""
    model = load_model()
    limits = model.thresholds(language) if model else None
    if model is None or limits is None:
        return None
    blank = _blank(text)
    spans = [(a, b) for a, b in sentence_spans(blank) if scorable(blank[a:b])]
    scores = (
        model.scores([blank[a:b] for a, b in spans]) if spans else np.zeros((0, len(CATEGORIES)))
    )
    return Scored(language, limits, spans, scores)


def doubted(
    findings: Sequence[Finding], scores: Scored | None, limit: float | None = None
) -> list[Finding]:
    """``findings`` with each blocking rule finding the model reads as fine (its category
    scoring below ``limit``, default ``DOUBT``, on every scored sentence it touches) kept
    as a warning."""
    if scores is None:
        return list(findings)
    limit = DOUBT if limit is None else limit
    out: list[Finding] = []
    for f in findings:
        if f.blocking and f.rule.spec.kind is not RuleKind.COMMITMENT:
            score = scores.around(f.start, f.end, f.rule.category)
            if score is not None and score < limit:
                f = replace(f, doubt=score)
        out.append(f)
    return out


def model_violations(
    text: str,
    ruleset: RuleSet,
    scores: Scored | None,
    found: Collection[Violation] = (),
    categories: Collection[Category] | None = None,
    allowed: Collection[str] = (),
) -> list[Violation]:
    """The learned layer's findings in ``text`` from its sentences' ``scores`` (``scored``);
    none when no model ships for the language.

    With ``allowed`` commitments (``context.allowed_commitments``) the model says nothing
    about over-promising: what makes an offer wrong is its authorisation, which the rules
    check against that list and a text model cannot see."""
    if scores is None:
        return []
    language = scores.language
    warn, block = scores.limits
    out: list[Violation] = []
    for (start, end), row in zip(scores.spans, scores.scores, strict=True):
        for j in (row > warn).nonzero()[0]:
            category = CATEGORIES[j]
            if categories is not None and category not in categories:
                continue
            if allowed and category is Category.OVER_PROMISE:
                continue
            if reported(found, category, start, end):
                continue  # a rule already says so here
            score = float(row[j])
            severity = Severity.BLOCK if score > block[j] else Severity.WARN
            out.append(
                statistical(text, (start, end), language, category, score, severity, ruleset)
            )
    return out


def statistical(
    text: str,
    span: tuple[int, int],
    language: str,
    category: Category,
    score: float,
    severity: Severity,
    ruleset: RuleSet,
    layer: str = "learned layer",
) -> Violation:
    """A finding of the learned layer (``layer`` names the part that scored it)."""
    start, end = span
    return Violation(
        rule=f"{language}.{category.value}.model",
        category=category,
        severity=severity,
        start=start,
        end=end,
        text=text[start:end],
        message=(
            f"A statistical finding of the {layer} (score {score:.2f}), not "
            f"a rule: {WHAT[category]}. Reread the sentence with that in mind."
        ),
        suggestion=_suggestion(ruleset, language, category),
        source="model",
    )
