"""Run the gold set through the coach and judge every case with its typed assertions."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, Field

from coach.checker import check, default_ruleset
from coach.facts import FactSource, new_facts
from coach.langdetect import detect
from coach.pipeline import Coach, NoModelAnswered
from coach.schemas import Context
from evals.chrf import chrf
from evals.gold import GoldCase
from evals.signals import techniques_in


class Check(BaseModel):
    name: str
    passed: bool
    detail: str = ""


class CaseResult(BaseModel):
    id: str
    language: str
    tags: list[str]
    system: str = Field(description="the model (or 'rules') that answered this run")
    passed: bool
    checks: list[Check]
    draft_categories: list[str] | None = None
    draft_flags: list[str] = Field(default_factory=list)
    draft_not_flags: list[str] = Field(default_factory=list)
    reply: str = ""
    reference_reply: str = ""
    model: str = ""
    degraded: bool = False
    guard_passed: bool = False
    techniques_required: list[str] = Field(default_factory=list)
    techniques_found: list[str] = Field(default_factory=list)
    reply_language: str | None = None
    language_ok: bool = False
    new_facts: list[str] = Field(default_factory=list)
    chrf: float = Field(default=0.0, description="chrF++ against the reference reply, 0..100")
    judge: float | None = None
    elapsed_ms: float = 0.0
    error: str | None = None


Judge = Callable[[GoldCase, str], Any]


def smart_search(pattern: str, text: str) -> re.Match[str] | None:
    """``re.search`` with smart case: case-insensitive unless the pattern has a capital
    letter (outside escapes), so ``[A-ZÄÖ]{6,}`` can look for shouting."""
    unescaped = re.sub(r"\\.", "", pattern)
    flags = 0 if any(c.isupper() for c in unescaped) else re.I
    return re.search(pattern, text, flags)


def judge_case(case: GoldCase, system: str, result: Any, elapsed_ms: float) -> CaseResult:
    """Apply the case's assertions to a CoachResult."""
    a = case.assert_
    checks: list[Check] = []
    reply = result.suggestion
    language = case.language
    context = case.input.get("context") or {}

    draft_categories: list[str] | None = None
    if result.draft_check is not None:
        draft_categories = sorted({v.category.value for v in result.draft_check.violations})
        for category in a.draft_flags:
            checks.append(
                Check(
                    name=f"draft flagged {category}",
                    passed=category in draft_categories,
                    detail=f"found {draft_categories or 'nothing'}",
                )
            )
        for category in a.draft_not_flags:
            found = [v for v in result.draft_check.violations if v.category.value == category]
            checks.append(
                Check(
                    name=f"draft not flagged {category}",
                    passed=not found,
                    detail="; ".join(f"{v.rule} on {v.text!r}" for v in found),
                )
            )
        if a.draft_passes is not None:
            checks.append(
                Check(
                    name="draft passes" if a.draft_passes else "draft blocked",
                    passed=result.draft_check.passed == a.draft_passes,
                    detail=f"passed={result.draft_check.passed}",
                )
            )
    # The same context as the request: an allowed commitment is not a violation.
    recheck = check(reply, result.language, Context.model_validate(context))
    blocking = [v.rule for v in recheck.violations if v.severity.value == "block"]
    checks.append(
        Check(name="reply passes the rules", passed=recheck.passed, detail=", ".join(blocking))
    )
    invented = [f.text for f in new_facts(reply, FactSource.of_request(case.request()))]
    checks.append(Check(name="no new facts", passed=not invented, detail=", ".join(invented)))

    shown = techniques_in(reply, language, context.get("customer_name"))
    # Staying calm is the absence of hostility (capitals, insults, sarcasm), not a phrase.
    if not any(v.category.value == "hostile" for v in recheck.violations):
        shown.add("stay_calm")
    for technique in a.techniques:
        checks.append(Check(name=f"technique {technique}", passed=technique in shown))
    folded = reply.casefold()
    for text in a.reply_contains:
        checks.append(Check(name=f"contains {text!r}", passed=text.casefold() in folded))
    for text in a.reply_not_contains:
        checks.append(
            Check(name=f"does not contain {text!r}", passed=text.casefold() not in folded)
        )
    for pattern in a.reply_matches:
        checks.append(Check(name=f"matches /{pattern}/", passed=bool(smart_search(pattern, reply))))
    for pattern in a.reply_not_matches:
        checks.append(
            Check(name=f"does not match /{pattern}/", passed=not smart_search(pattern, reply))
        )
    seen = detect(reply, default_ruleset().language_codes)
    expected_language = a.reply_language or language
    language_ok = seen.allows(expected_language)
    checks.append(
        Check(
            name=f"reply in {expected_language}",
            passed=language_ok,
            detail=f"detected {seen.detected}",
        )
    )
    state = result.customer_state
    if a.abusive is not None:
        checks.append(Check(name=f"abusive={a.abusive}", passed=state.abusive == a.abusive))
    for trigger in a.triggers:
        checks.append(
            Check(
                name=f"trigger {trigger.value}",
                passed=trigger in state.triggers,
                detail=f"found {[t.value for t in state.triggers]}",
            )
        )
    return CaseResult(
        id=case.id,
        language=language,
        tags=case.tags,
        system=system,
        passed=all(c.passed for c in checks),
        checks=checks,
        draft_categories=draft_categories,
        draft_flags=a.draft_flags,
        draft_not_flags=a.draft_not_flags,
        reply=reply,
        reference_reply=case.reference_reply,
        model=result.model,
        degraded=result.degraded,
        guard_passed=recheck.passed,
        techniques_required=a.techniques,
        techniques_found=sorted(shown),
        reply_language=seen.detected,
        language_ok=language_ok,
        new_facts=invented,
        chrf=chrf(reply, case.reference_reply),
        elapsed_ms=round(elapsed_ms, 2),
    )


async def run_cases(
    cases: Sequence[GoldCase],
    coach: Coach,
    system: str,
    *,
    concurrency: int = 8,
    on_done: Callable[[CaseResult], None] | None = None,
    judge: Any = None,
) -> list[CaseResult]:
    """All cases through one coach, ``concurrency`` at a time; results in case order."""
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(case: GoldCase) -> CaseResult:
        async with gate:
            started = time.perf_counter()
            try:
                result = await coach.coach(case.request())
            except (NoModelAnswered, ValueError) as exc:
                outcome = CaseResult(
                    id=case.id,
                    language=case.language,
                    tags=case.tags,
                    system=system,
                    passed=False,
                    checks=[Check(name="coach answered", passed=False, detail=str(exc))],
                    reference_reply=case.reference_reply,
                    error=str(exc),
                )
            else:
                elapsed = (time.perf_counter() - started) * 1000
                outcome = await asyncio.to_thread(judge_case, case, system, result, elapsed)
                if judge is not None:
                    outcome.judge = await judge.score(case, outcome.reply)
            if on_done is not None:
                on_done(outcome)
            return outcome

    return list(await asyncio.gather(*(one(case) for case in cases)))
