"""Findings of the learned layer (``rules/learned.py``) for a checked text: ``source: "model"``.

Each sentence is scored for the nine categories; a score above the language's
threshold for a category gives one finding spanning that sentence, unless a rule
already flags that category there. Quoted words, URLs and addresses are blanked
out first, as the rules ignore them. The finding says it is statistical, carries
the score, and borrows the suggestion of a rule of the same language and category.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache

from coach.checker import reported
from coach.schemas import Violation
from rules import Category, RuleSet
from rules.engine import ignored_spans, sentence_spans
from rules.learned import CATEGORIES, load_model, scorable
from rules.model import Severity

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


def model_violations(
    text: str,
    language: str,
    ruleset: RuleSet,
    found: Collection[Violation] = (),
    categories: Collection[Category] | None = None,
    allowed: Collection[str] = (),
) -> list[Violation]:
    """The learned layer's findings in ``text``; none when no model ships for ``language``.

    With ``allowed`` commitments (``context.allowed_commitments``) the model says nothing
    about over-promising: what makes an offer wrong is its authorisation, which the rules
    check against that list and a text model cannot see."""
    model = load_model()
    limits = model.thresholds(language) if model else None
    if model is None or limits is None:
        return []
    warn, block = limits
    blank = _blank(text)
    spans = [(a, b) for a, b in sentence_spans(blank) if scorable(blank[a:b])]
    if not spans:
        return []
    scores = model.scores([blank[a:b] for a, b in spans])
    out: list[Violation] = []
    for (start, end), row in zip(spans, scores, strict=True):
        for j in (row > warn).nonzero()[0]:
            category = CATEGORIES[j]
            if categories is not None and category not in categories:
                continue
            if allowed and category is Category.OVER_PROMISE:
                continue
            if reported(found, category, start, end):
                continue  # a rule already says so here
            score = float(row[j])
            out.append(
                Violation(
                    rule=f"{language}.{category.value}.model",
                    category=category,
                    severity=Severity.BLOCK if score > block[j] else Severity.WARN,
                    start=start,
                    end=end,
                    text=text[start:end],
                    message=(
                        f"A statistical finding of the learned layer (score {score:.2f}), not "
                        f"a rule: {WHAT[category]}. Reread the sentence with that in mind."
                    ),
                    suggestion=_suggestion(ruleset, language, category),
                    source="model",
                )
            )
    return out
