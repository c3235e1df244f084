"""The guard: what every reply must pass before the service returns or streams it.

A reply (the model's, a repaired one, or a streamed prefix) is held back when

* a rule (or the learned layer, at ``block``) blocks it, in the conversation's language
  and with the request's allowed commitments;
* it states a fact found in none of the inputs (an order number, an amount, a link...);
* it is written in another language than the conversation (texts of 40 characters or
  more, where detection is reliable);
* it repeats the customer's own words as if they were the agent's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from coach.facts import NewFact, customer_echoes, new_facts
from coach.langdetect import detect
from coach.prepare import Run
from coach.schemas import CheckResult


@dataclass
class Guarded:
    check: CheckResult
    facts: list[NewFact]
    wrong_language: str | None = None
    # Sentences that repeat the customer's own words (never part of the agent's reply).
    echoes: list[tuple[int, int]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.check.passed and not self.facts and self.wrong_language is None and not self.echoes
        )

    def problems(self) -> list[str]:
        items = [v.rule for v in self.check.violations if v.severity.value == "block"]
        items += [f"new fact {f.text!r}" for f in self.facts]
        items += ["the customer's own words repeated"] * bool(self.echoes)
        if self.wrong_language:
            items.append(f"language {self.wrong_language}")
        return items


def guard(text: str, run: Run) -> Guarded:
    result = run.check(text)
    wrong = None
    if len(text) >= 40:
        seen = detect(text, run.ruleset.language_codes)
        if seen.source == "detected" and not seen.allows(run.language):
            wrong = seen.language
    return Guarded(result, new_facts(text, run.facts), wrong, echoes(text, run))


def echoes(text: str, run: Run) -> list[tuple[int, int]]:
    """Spans of ``text`` that repeat what the customer wrote (message and history)."""
    request = run.request
    theirs = [
        request.customer_message,
        *(t.text for t in request.history if t.role == "customer"),
    ]
    return customer_echoes(text, theirs)
