"""An LLM review of a text for what the rules and the learned layer miss (``source: "llm"``).

With ``COACH_MODEL`` set, ``POST /v1/check`` with ``"review": true`` (``coach check
--review``) asks the model, with the prompt version's ``review.yaml``, for
``{"findings": [{"category", "quote", "reason"}]}``. The service trusts none of it:

* a finding is kept only when its ``category`` is one of the nine and its ``quote``
  occurs verbatim in the text; the offsets are the service's own (the first
  occurrence not already used);
* a kept finding is a ``warn`` with rule ``<lang>.<category>.llm``, unless a rule or the
  learned layer already reports that category there;
* what was dropped is counted in a note; a junk answer is asked again once, then the
  next fallback model is tried;
* the review runs under the request's deadline with the gateway's retries; a failing or
  slow model never fails the check: the result without the review comes back with a
  note saying the review failed.

Answers are cached (same model, prompt version, language and text: no second call) in
process, and in Redis for every replica when ``COACH_REDIS_URL`` is set
(``coach/review_cache.py``), as the eval cache does on disk.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from coach.checker import reported
from coach.gateway import (
    Deadline,
    Gateway,
    InvalidOutput,
    Message,
    ModelFailure,
    parse_json_object,
)
from coach.prompting import PromptSet, fence
from coach.review_cache import ReviewCache
from coach.schemas import CheckResult, Violation
from rules import Category
from rules.model import Severity


@dataclass
class Reviewed:
    """What a review adds to a check: findings, and notes for the result."""

    violations: list[Violation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    model: str | None = None
    cached: bool = False


def parse_findings(raw: str) -> list[Any]:
    """The ``findings`` list of an answer, or InvalidOutput."""
    findings = parse_json_object(raw).get("findings")
    if not isinstance(findings, list):
        raise InvalidOutput('no "findings" list in the answer')
    return findings


def grounded(
    text: str, language: str, findings: list[Any], model: str
) -> tuple[list[Violation], dict[str, int]]:
    """Findings whose quote occurs verbatim in ``text`` and whose category is known."""
    kept: list[Violation] = []
    dropped = {"quote not in the text": 0, "unknown category": 0, "malformed": 0}
    used: set[tuple[int, int]] = set()
    for item in findings:
        if not isinstance(item, dict):
            dropped["malformed"] += 1
            continue
        category, quote, reason = item.get("category"), item.get("quote"), item.get("reason")
        if category not in {c.value for c in Category}:
            dropped["unknown category"] += 1
            continue
        if not isinstance(quote, str) or not quote.strip():
            dropped["malformed"] += 1
            continue
        quote = quote.strip()
        start = text.find(quote)
        while start >= 0 and (start, start + len(quote)) in used:
            start = text.find(quote, start + 1)
        if start < 0:
            dropped["quote not in the text"] += 1
            continue
        end = start + len(quote)
        used.add((start, end))
        why = reason.strip() if isinstance(reason, str) and reason.strip() else "no reason given"
        kept.append(
            Violation(
                rule=f"{language}.{category}.llm",
                category=Category(category),
                severity=Severity.WARN,
                start=start,
                end=end,
                text=text[start:end],
                message=f"The model's review ({model}): {why[:300]}",
                suggestion=None,
                source="llm",
            )
        )
    return kept, {k: v for k, v in dropped.items() if v}


def review_messages(prompts: PromptSet, text: str, language: str) -> list[Message]:
    """The version's review prompt for ``text``."""
    system, user = prompts.review.render(
        language_code=language,
        language_name=prompts.language(language).name,
        categories=prompts.categories(),
        text=fence(text),
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


class Reviewer:
    """Asks the configured models for findings; one per process (its cache is shared)."""

    def __init__(
        self,
        gateway: Gateway,
        models: Sequence[str],
        prompts: PromptSet,
        cache: ReviewCache | None = None,
    ) -> None:
        self.gateway = gateway
        self.models = list(models)
        self.prompts = prompts
        self.template = prompts.review
        self.cache = cache or ReviewCache()

    def messages(self, text: str, language: str) -> list[Message]:
        return review_messages(self.prompts, text, language)

    def _key(self, model: str, language: str, text: str) -> str:
        blob = json.dumps([model, self.template.id, language, text], ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()

    async def _ask(self, model: str, messages: list[Message], deadline: Deadline) -> list[Any]:
        def reask(exc: InvalidOutput) -> str:
            return self.template.render_invalid(str(exc))

        findings, _, _, _ = await self.gateway.ask_parsed(
            model, messages, deadline, parse_findings, reask
        )
        return findings

    async def add_to(self, text: str, result: CheckResult, seconds: float) -> CheckResult:
        """``result`` (the other detectors' check of ``text``) with this review merged in,
        within ``seconds``."""
        return merge(result, await self.review(text, result.language, Deadline(seconds)))

    async def review(self, text: str, language: str, deadline: Deadline) -> Reviewed:
        out = Reviewed()
        if not self.models:
            out.notes.append("review: no model is configured (COACH_MODEL), so none was asked")
            return out
        failures: list[str] = []
        for model in self.models:
            key = self._key(model, language, text)
            findings = await self.cache.get(key)
            if findings is not None:
                out.cached = True
            else:
                try:
                    findings = await self._ask(model, self.messages(text, language), deadline)
                except ModelFailure as exc:
                    failures.append(f"{model}: {exc.kind}")
                    if deadline.expired:
                        break
                    continue
                await self.cache.set(key, findings)
            out.model = model
            out.violations, dropped = grounded(text, language, findings, model)
            if dropped:
                what = ", ".join(f"{n} ({why})" for why, n in dropped.items())
                out.notes.append(f"review by {model}: dropped {what}")
            return out
        out.notes.append(
            f"review failed ({'; '.join(failures) or 'no time left'}): "
            "the result is the rules' and the learned layer's alone"
        )
        return out


def merge(result: CheckResult, reviewed: Reviewed) -> CheckResult:
    """``result`` with the review's findings (where no other detector reports that category
    on an overlapping span) and its notes."""
    added = [
        v
        for v in reviewed.violations
        if not reported(result.violations, v.category, v.start, v.end)
    ]
    violations = sorted([*result.violations, *added], key=lambda v: (v.start, v.end))
    return result.model_copy(
        update={"violations": violations, "notes": [*result.notes, *reviewed.notes]}
    )
