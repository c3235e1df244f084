"""Step 1 of a coaching request: what the service finds out before anyone writes a reply.

The conversation's language (given, detected, or the draft's when the customer mixes in
English), the rules' check of the agent's draft, the customer analysis (emotion,
escalation risk, triggers) and the facts any reply may use. The result is a :class:`Run`,
which every later step reads and adds its attempts and coaching notes to.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field

from coach.analysis import analyze
from coach.checker import LanguageChoice, check, choose_language, default_commitments
from coach.facts import FactSource
from coach.langdetect import detect
from coach.schemas import Attempt, CheckResult, CoachRequest, CustomerState
from rules import RuleSet


@dataclass
class Run:
    """What one request has found out so far."""

    request: CoachRequest
    language: str
    state: CustomerState
    draft_check: CheckResult | None
    facts: FactSource
    ruleset: RuleSet
    detectors: tuple[str, ...]
    started: float
    request_id: str
    attempts: list[Attempt] = field(default_factory=list)
    coaching: list[str] = field(default_factory=list)

    def check(self, text: str, *, draft: bool = False) -> CheckResult:
        """``text`` checked in the run's language and context with the configured detectors.

        A reply the service wrote (not the agent's ``draft``) never makes a commitment
        outside ``allowed_commitments``, even when the request left the list out. The
        meaning encoder (``semantic``) reads the draft only: its findings are warnings,
        which never decide whether a reply the service wrote is accepted, and each reading
        costs tens of milliseconds.
        """
        detectors = self.detectors
        if not draft and "semantic" in detectors:
            detectors = tuple(d for d in detectors if d != "semantic")
        return check(
            text,
            self.language,
            self.request.context,
            ruleset=self.ruleset,
            detectors=detectors,
            strict_commitments=not draft,
            server_commitments=None,  # prepare() applied the server's list
        )


def prepare(
    request: CoachRequest,
    ruleset: RuleSet,
    detectors: Collection[str],
    request_id: str | None = None,
    *,
    server_commitments: Collection[str] | None = None,
) -> Run:
    """The run of ``request``; a context that says nothing of commitments gets
    ``server_commitments`` (the Coach's COACH_ALLOWED_COMMITMENTS) here, once."""
    context = default_commitments(request.context, server_commitments)
    if context is not request.context:
        request = request.model_copy(update={"context": context})
    # A message too short to tell ("??", "Unde e comanda?!") takes the draft's language.
    choice = choose_language(
        request.customer_message, request.language, ruleset, customer_message=request.draft
    )
    choice = code_switched(choice, request, ruleset)
    run = Run(
        request=request,
        language=choice.language,
        state=analyze(request.customer_message, choice.language, request.history),
        draft_check=None,
        facts=FactSource.of_request(request),
        ruleset=ruleset,
        detectors=tuple(detectors),
        started=time.monotonic(),
        request_id=request_id or uuid.uuid4().hex,
    )
    draft = (request.draft or "").strip()
    run.draft_check = run.check(draft, draft=True) if draft else None
    run.coaching.extend(choice.notes)
    if run.draft_check:
        for v in run.draft_check.violations:
            verb = "Removed" if v.severity.value == "block" else "Consider rewording"
            run.coaching.append(f"{verb} “{v.text}” ({v.category.value}): {v.message}")
    return run


def code_switched(choice: LanguageChoice, request: CoachRequest, rs: RuleSet) -> LanguageChoice:
    """A customer who mixes English into their own language ("comanda mea still hasn't
    arrived") reads as English; when the agent's draft is plainly in that other language,
    the conversation is in the draft's language."""
    draft = (request.draft or "").strip()
    if request.language or not draft or choice.source != "detected" or choice.language != "en":
        return choice
    seen = detect(draft, rs.language_codes)
    if seen.source != "detected" or seen.unsure or seen.language == choice.language:
        return choice
    if detect(request.customer_message, rs.language_codes).scores.get(seen.language, 0.0) <= 0.0:
        return choice
    note = (
        f"the customer mixes English into {seen.language}, the language of the draft: "
        f"the reply is in {seen.language}"
    )
    return LanguageChoice(seen.language, "detected", seen.detected, [*choice.notes, note])
