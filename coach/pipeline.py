"""The coaching pipeline: analyse, ask the model, guard the answer, fall back.

Each step is a module of its own:

    request -> coach/prepare.py     language, draft check, customer analysis, facts
            -> coach/review.py      the model's review of the draft (when a model is set)
            -> coach/fallback.py    the rules coach (COACH_MODEL unset or "rules")
            -> coach/model_loop.py  model 1, 2, ... (fallbacks in order), each:
                 ask (JSON, one re-ask on junk, retries on transient errors)
                 coach/guard.py: the rules + the no-new-facts check + the reply language
                                 + no echo of the customer's words
                 blocking problem -> re-ask naming it (up to max_reasks)
                 still failing    -> deterministic repair (rules' fixes, drop invented facts)
                 still failing    -> the rules coach
            -> coach/fallback.py    when every model failed (or 503 if that is not allowed)
    streaming: coach/streaming.py   the same, sentence by sentence

Whatever path is taken, the returned suggestion passes the rules
(``suggestion_check.passed``), and ``model``, ``degraded`` and ``attempts``
say what happened. One :class:`~coach.gateway.Deadline` covers the request.
Every word a model reads comes from the prompt version (``prompts/<version>/``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from coach.checker import default_ruleset
from coach.fallback import kept_draft, rules_suggestion
from coach.gateway import Deadline, Gateway, close_clients, litellm
from coach.guard import guard
from coach.model_loop import Accepted, ask_models
from coach.prepare import Run, prepare
from coach.prompting import PromptSet, load_prompt_set
from coach.review import Reviewer, merge
from coach.schemas import (
    Attempt,
    CheckResult,
    CoachRequest,
    CoachResult,
    CustomerState,
    Technique,
)
from coach.settings import CoachSettings, get_settings
from coach.streaming import sentences_with_spacing, stream
from rules import RuleSet

RULES_MODEL = "rules"

__all__ = ["RULES_MODEL", "Coach", "NoModelAnswered", "coach", "sentences_with_spacing", "suggest"]


class NoModelAnswered(RuntimeError):
    """Every model failed and the rules coach may not stand in (HTTP 503)."""

    def __init__(self, attempts: list[Attempt]) -> None:
        self.attempts = attempts
        detail = "; ".join(f"{a.model}: {a.outcome} {a.detail}".strip() for a in attempts)
        super().__init__(f"no model answered ({detail or 'no model configured'})")


class Coach:
    """The pipeline with its settings, gateway, rules and prompt version; reuse one per
    process."""

    def __init__(
        self,
        settings: CoachSettings | None = None,
        *,
        gateway: Gateway | None = None,
        ruleset: RuleSet | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.ruleset = ruleset or default_ruleset()
        self.models = [
            m for m in [self.settings.model, *self.settings.fallback_models] if m != RULES_MODEL
        ]
        self._gateway = gateway
        self._reviewer: Reviewer | None = None
        self.prompts: PromptSet | None = None
        if self.models:
            self.prompts = load_prompt_set(self.settings.prompt_version, self.settings.prompts_dir)
            litellm()  # import now (about 3 s), not inside the first request's deadline

    @property
    def prompt_version(self) -> str | None:
        return self.prompts.version if self.prompts else None

    @property
    def reviewer(self) -> Reviewer:
        """The LLM review of a text (``review: true``), sharing this coach's gateway and
        prompt version."""
        if self._reviewer is None:
            from coach.review_cache import ReviewCache

            cache = ReviewCache(self.settings.redis_url, ttl=self.settings.review_cache_ttl_s)
            prompts = self.prompts or load_prompt_set(
                self.settings.prompt_version, self.settings.prompts_dir
            )
            self._reviewer = Reviewer(self.gateway, self.models, prompts, cache=cache)
        return self._reviewer

    async def close(self) -> None:
        """Close what this coach opened beyond the shared HTTP clients (the review cache's
        Redis pool)."""
        if self._reviewer is not None:
            await self._reviewer.cache.close()

    @property
    def gateway(self) -> Gateway:
        if self._gateway is None:
            self._gateway = Gateway(
                api_base=self.settings.api_base,
                api_key=self.settings.api_key,
                max_retries=self.settings.max_retries,
                temperature=self.prompts.coach.temperature if self.prompts else 0.3,
            )
        return self._gateway

    # --- the public entry points ------------------------------------------
    async def coach(
        self,
        request: CoachRequest,
        *,
        request_id: str | None = None,
        deadline: Deadline | None = None,
    ) -> CoachResult:
        """One coaching round trip; ``deadline`` lets a caller share its own time budget."""
        run = await self.prepared(request, request_id)
        deadline = deadline or Deadline(self.settings.timeout_s)
        if not self.models or self.prompts is None:
            return self._rules_result(run, degraded=False)
        await self._review_draft(run, deadline)
        try:
            accepted = await asyncio.wait_for(
                ask_models(
                    self.gateway,
                    self.models,
                    self.prompts,
                    run,
                    deadline,
                    self.settings.max_reasks,
                ),
                timeout=deadline.remaining() + 0.5,
            )
        except TimeoutError:
            run.attempts.append(Attempt(model="*", outcome="deadline", detail="request deadline"))
            accepted = None
        if accepted is not None:
            return self.model_result(run, accepted)
        if not self.settings.allow_rules_fallback:
            raise NoModelAnswered(run.attempts)
        run.coaching.append(
            "No model gave a usable reply in time: this is the rules coach's suggestion."
        )
        return self._rules_result(run, degraded=True)

    def stream(
        self, request: CoachRequest, *, request_id: str | None = None
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """The suggestion as it is written: ``delta`` events of guarded sentences, then
        ``result`` (``coach/streaming.py``). No text that breaks a blocking rule (or
        invents a fact) is ever sent; a ``reset`` event withdraws what was shown when the
        full pipeline has to answer instead."""
        return stream(self, request, request_id)

    async def improve_draft(
        self, request: CoachRequest, *, request_id: str | None = None
    ) -> CoachResult:
        """Only the draft is known (no customer message): with the rules coach, return the
        draft without the sentences a detector flags (any severity, or a learned-layer
        score over ``MODEL_FLOOR``), capitals fixed, and nothing added, as a text tool
        should. With a model, or when nothing of the draft survives, the full pipeline
        answers."""
        draft = (request.draft or "").strip()
        if self.models or not draft:
            return await self.coach(request, request_id=request_id)
        run = await self.prepared(request, request_id)
        run.state = CustomerState(
            emotion="neutral", escalation_risk=0.0, triggers=[], abusive=False
        )
        repaired = (kept_draft(run, run.language, keep_neutral=True)[0] or "").strip()
        guarded = guard(repaired, run) if repaired else None
        if guarded is None or not guarded.check.passed:
            return await self.coach(request, request_id=request_id)
        return self._finish(
            run,
            suggestion=repaired,
            suggestion_check=guarded.check,
            used=[Technique.STAY_CALM],
            model=RULES_MODEL,
            degraded=False,
            prompt_version=None,
        )

    def coach_sync(self, request: CoachRequest) -> CoachResult:
        """For synchronous callers (the CLI): runs and closes its own event loop."""

        async def once() -> CoachResult:
            try:
                return await self.coach(request)
            finally:
                await close_clients()

        return asyncio.run(once())

    # --- steps -------------------------------------------------------------
    def prepare(self, request: CoachRequest, request_id: str | None = None) -> Run:
        return prepare(
            request,
            self.ruleset,
            self.settings.detectors,
            request_id,
            server_commitments=self.settings.allowed_commitments,
        )

    async def prepared(self, request: CoachRequest, request_id: str | None = None) -> Run:
        """``prepare``, in a worker thread when the meaning encoder reads the draft (tens
        of milliseconds of C with the GIL released), so the event loop stays free."""
        if "semantic" in self.settings.detectors and request.draft:
            return await asyncio.to_thread(self.prepare, request, request_id)
        return self.prepare(request, request_id)

    async def _review_draft(self, run: Run, deadline: Deadline) -> None:
        """The model reviews the draft (a third of the time left at most): what the rules
        missed joins ``draft_check`` and the coaching notes; a failure only adds a note."""
        if not self.settings.review_drafts or run.draft_check is None or not run.request.draft:
            return
        share = Deadline(max(0.5, min(deadline.remaining() / 3, deadline.remaining() - 1.0)))
        reviewed = await self.reviewer.review(run.request.draft.strip(), run.language, share)
        run.draft_check = merge(run.draft_check, reviewed)
        run.coaching.extend(reviewed.notes)
        for v in run.draft_check.violations:
            if v.source == "llm":
                run.coaching.append(
                    f"Consider rewording “{v.text}” ({v.category.value}): {v.message}"
                )

    # --- results -------------------------------------------------------------
    def _finish(
        self,
        run: Run,
        *,
        suggestion: str,
        suggestion_check: CheckResult,
        used: Sequence[Technique],
        model: str,
        degraded: bool,
        prompt_version: str | None,
    ) -> CoachResult:
        return CoachResult(
            request_id=run.request_id,
            language=run.language,
            suggestion=suggestion,
            draft_check=run.draft_check,
            suggestion_check=suggestion_check,
            techniques=list(dict.fromkeys(used)),
            customer_state=run.state,
            coaching=list(dict.fromkeys(run.coaching)),
            model=model,
            degraded=degraded,
            prompt_version=prompt_version,
            attempts=run.attempts,
            elapsed_ms=round((time.monotonic() - run.started) * 1000, 2),
        )

    def model_result(self, run: Run, accepted: Accepted) -> CoachResult:
        answered = accepted.answered
        known = {t.value for t in Technique}
        used = [Technique(t) for t in answered.reply.techniques if t in known]
        run.coaching.extend(n.strip() for n in answered.reply.notes if n.strip())
        return self._finish(
            run,
            suggestion=answered.reply.reply.strip(),
            suggestion_check=accepted.guarded.check,
            used=used,
            model=accepted.model,
            degraded=accepted.degraded,
            prompt_version=self.prompt_version,
        )

    def _rules_result(self, run: Run, *, degraded: bool) -> CoachResult:
        fallback = rules_suggestion(run)
        return self._finish(
            run,
            suggestion=fallback.text,
            suggestion_check=fallback.check,
            used=fallback.techniques,
            model=RULES_MODEL,
            degraded=degraded,
            prompt_version=None,
        )


async def coach(request: CoachRequest, settings: CoachSettings | None = None) -> CoachResult:
    """One coaching round trip (async; for FastAPI handlers)."""
    return await Coach(settings).coach(request)


def suggest(
    customer_message: str,
    draft: str | None = None,
    *,
    language: str | None = None,
    settings: CoachSettings | None = None,
    **fields: Any,
) -> CoachResult:
    """One coaching round trip from synchronous code (the CLI, scripts).

    >>> suggest("You charged me twice!", "Calm down, it's our policy.", language="en").model
    'rules'
    """
    request = CoachRequest(
        customer_message=customer_message, draft=draft, language=language, **fields
    )
    return Coach(settings).coach_sync(request)
