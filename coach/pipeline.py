"""The coaching pipeline: analyse, ask the model, guard the answer, fall back.

    request -> language, draft check, customer analysis
            -> rules coach            (COACH_MODEL unset or "rules")
            -> model 1, 2, ... (fallbacks in order), each:
                 ask (JSON, one re-ask on junk, retries on transient errors)
                 guard: the rules + the no-new-facts check + the reply language
                 blocking problem -> re-ask naming it (up to max_reasks)
                 still failing    -> deterministic repair (rules' fixes, drop invented facts)
                 still failing    -> the rules coach
            -> the rules coach when every model failed (or 503 if that is not allowed)

Whatever path is taken, the returned suggestion passes the rules
(``suggestion_check.passed``), and ``model``, ``degraded`` and ``attempts``
say what happened. One :class:`~coach.gateway.Deadline` covers the request.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from coach.analysis import analyze
from coach.checker import LanguageChoice, check, choose_language, default_ruleset
from coach.draft_filter import filter_draft
from coach.facts import (
    FactSource,
    NewFact,
    customer_echoes,
    customer_references,
    drop_new_facts,
    new_facts,
)
from coach.gateway import (
    Answered,
    Deadline,
    Gateway,
    InvalidOutput,
    Message,
    ModelFailure,
    ModelReply,
    ReplyStream,
    close_clients,
    litellm,
    parse_reply,
    stream_completion,
)
from coach.langdetect import detect
from coach.prompting import (
    CATEGORY_HINTS,
    LANGUAGE_NAMES,
    PromptError,
    PromptTemplate,
    fence,
    load_template,
    phrasebook,
    phrasebook_languages,
    techniques,
)
from coach.review import Reviewer, merge
from coach.rules_coach import apologises, rules_reply
from coach.schemas import (
    Attempt,
    CheckResult,
    CoachRequest,
    CoachResult,
    CustomerState,
    Technique,
)
from coach.settings import CoachSettings, get_settings
from rules import RuleSet
from rules.engine import drop_sentences

RULES_MODEL = "rules"
# Draft categories that turn the customer down, or promise what may not hold: the rules
# coach then offers to look for an alternative.
_REFUSALS = ("policy_shield", "helpless", "brush_off", "runaround", "over_promise")

_CHANNEL_STYLE = {
    "chat": "Chat: two to five short sentences in one paragraph, no subject line, no signature.",
    "social": "Public social media reply: at most 280 characters, no personal data, offer to continue in a private message.",
    "email": "E-mail: a greeting line, short paragraphs (acknowledge and apologise; the solution; next steps), a closing question and a sign-off with the agent's name.",
    "phone": "Phone: a script the agent reads aloud, one short sentence per line, no lists, no links.",
}


class NoModelAnswered(RuntimeError):
    """Every model failed and the rules coach may not stand in (HTTP 503)."""

    def __init__(self, attempts: list[Attempt]) -> None:
        self.attempts = attempts
        detail = "; ".join(f"{a.model}: {a.outcome} {a.detail}".strip() for a in attempts)
        super().__init__(f"no model answered ({detail or 'no model configured'})")


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


@dataclass
class _Run:
    """What one request has found out so far."""

    request: CoachRequest
    language: str
    state: CustomerState
    draft_check: CheckResult | None
    facts: FactSource
    ruleset: RuleSet
    started: float
    request_id: str
    attempts: list[Attempt] = field(default_factory=list)
    coaching: list[str] = field(default_factory=list)


class Coach:
    """The pipeline with its settings, gateway and rules; reuse one per process."""

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
        self.template: PromptTemplate | None = None
        if self.models:
            self.template = load_template(self.settings.prompt_version, self.settings.prompts_dir)
            litellm()  # import now (about 3 s), not inside the first request's deadline

    @property
    def reviewer(self) -> Reviewer:
        """The LLM review of a text (``review: true``), sharing this coach's gateway."""
        if self._reviewer is None:
            from coach.review_cache import ReviewCache

            cache = ReviewCache(self.settings.redis_url, ttl=self.settings.review_cache_ttl_s)
            self._reviewer = Reviewer(self.gateway, self.models, cache=cache)
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
                temperature=self.template.temperature if self.template else 0.3,
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
        run = self._prepare(request, request_id)
        deadline = deadline or Deadline(self.settings.timeout_s)
        if not self.models:
            return self._rules_result(run, degraded=False)
        await self._review_draft(run, deadline)
        try:
            result = await asyncio.wait_for(
                self._with_models(run, deadline), timeout=deadline.remaining() + 0.5
            )
        except TimeoutError:
            run.attempts.append(Attempt(model="*", outcome="deadline", detail="request deadline"))
            result = None
        if result is not None:
            return result
        if not self.settings.allow_rules_fallback:
            raise NoModelAnswered(run.attempts)
        run.coaching.append(
            "No model gave a usable reply in time: this is the rules coach's suggestion."
        )
        return self._rules_result(run, degraded=True)

    async def stream(
        self, request: CoachRequest, *, request_id: str | None = None
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """The suggestion as it is written: ``delta`` events of guarded sentences, then ``result``.

        No text that breaks a blocking rule (or invents a fact) is ever sent:
        the model's reply is cut into sentences and each one is checked, with
        everything sent before it, before it goes out. If a sentence fails,
        the stream stops, a ``reset`` event tells the client to drop what it
        showed, and the full pipeline (re-asks, repair, fallbacks) answers.
        The ``result`` event always carries the final CoachResult, whose
        suggestion is what the client should keep.
        """
        if not self.models:
            result = await self.coach(request, request_id=request_id)
            for sentence in sentences_with_spacing(result.suggestion):
                yield "delta", {"text": sentence}
            yield "result", result.model_dump(mode="json")
            return
        run = self._prepare(request, request_id)
        deadline = Deadline(self.settings.timeout_s)
        model = self.models[0]
        messages = self._messages(run)
        extractor = ReplyStream()
        sent = ""
        pending = ""
        failure: str | None = None
        try:
            async for chunk in stream_completion(self.gateway, model, messages, deadline):
                pending += extractor.feed(chunk)
                ready, pending = _split_complete(pending, final=extractor.done)
                if ready:
                    guarded = self._guard(sent + ready, run)
                    if not guarded.ok:
                        failure = ", ".join(guarded.problems())
                        break
                    sent += ready
                    yield "delta", {"text": ready}
                if extractor.done:
                    break
        except Exception as exc:  # any stream failure: the full pipeline answers instead
            failure = failure or f"stream failed: {type(exc).__name__}"
        if failure is None:
            tail = pending
            if tail.strip():
                guarded = self._guard(sent + tail, run)
                if guarded.ok:
                    sent += tail
                    yield "delta", {"text": tail}
                else:
                    failure = ", ".join(guarded.problems())
        if failure is None:
            try:
                parsed = parse_reply(extractor.raw)
            except InvalidOutput:
                parsed = ModelReply(reply=sent)
            parsed.reply = sent
            guarded = self._guard(sent, run)
            if guarded.ok and sent.strip():
                run.attempts.append(Attempt(model=model, outcome="accepted", detail="streamed"))
                answered = Answered(model, parsed, extractor.raw, messages, 1)
                result = self._model_result(run, model, answered, guarded, degraded=False)
                yield "result", result.model_dump(mode="json")
                return
            failure = "the streamed reply did not pass as a whole"
        if sent:
            yield "reset", {"reason": failure}
        try:
            # The same deadline: streaming first and falling back stay within one budget.
            result = await self.coach(request, request_id=request_id, deadline=deadline)
        except NoModelAnswered as exc:
            yield "error", {"code": "unavailable", "message": str(exc)}
            return
        result.coaching.insert(
            0, f"Streaming stopped ({failure}); this is the guarded full answer."
        )
        for sentence in sentences_with_spacing(result.suggestion):
            yield "delta", {"text": sentence}
        yield "result", result.model_dump(mode="json")

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
        run = self._prepare(request, request_id)
        run.state = CustomerState(
            emotion="neutral", escalation_risk=0.0, triggers=[], abusive=False
        )
        repaired = (self._kept_draft(run, run.language, keep_neutral=True)[0] or "").strip()
        guarded = self._guard(repaired, run) if repaired else None
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
    def _check(self, text: str, run: _Run) -> CheckResult:
        """``text`` checked in the run's language and context with this coach's detectors."""
        return check(
            text,
            run.language,
            run.request.context,
            ruleset=run.ruleset,
            detectors=self.settings.detectors,
        )

    async def _review_draft(self, run: _Run, deadline: Deadline) -> None:
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

    def _prepare(self, request: CoachRequest, request_id: str | None = None) -> _Run:
        rs = self.ruleset
        # A message too short to tell ("??", "Unde e comanda?!") takes the draft's language.
        choice = choose_language(
            request.customer_message, request.language, rs, customer_message=request.draft
        )
        choice = _code_switched(choice, request, rs)
        language = choice.language
        context = request.context
        draft = (request.draft or "").strip()
        draft_check = (
            check(draft, language, context, ruleset=rs, detectors=self.settings.detectors)
            if draft
            else None
        )
        run = _Run(
            request=request,
            language=language,
            state=analyze(request.customer_message, language, request.history),
            draft_check=draft_check,
            facts=FactSource.of_request(request),
            ruleset=rs,
            started=time.monotonic(),
            request_id=request_id or uuid.uuid4().hex,
        )
        run.coaching.extend(choice.notes)
        if draft_check:
            for v in draft_check.violations:
                verb = "Removed" if v.severity.value == "block" else "Consider rewording"
                run.coaching.append(f"{verb} “{v.text}” ({v.category.value}): {v.message}")
        return run

    def _guard(self, text: str, run: _Run) -> Guarded:
        result = self._check(text, run)
        wrong = None
        if len(text) >= 40:
            seen = detect(text, run.ruleset.language_codes)
            if seen.source == "detected" and not seen.allows(run.language):
                wrong = seen.language
        return Guarded(result, new_facts(text, run.facts), wrong, self._echoes(text, run))

    @staticmethod
    def _echoes(text: str, run: _Run) -> list[tuple[int, int]]:
        request = run.request
        theirs = [
            request.customer_message,
            *(t.text for t in request.history if t.role == "customer"),
        ]
        return customer_echoes(text, theirs)

    def _messages(self, run: _Run) -> list[Message]:
        assert self.template is not None
        request = run.request
        context = request.context
        try:
            book = phrasebook(run.language)
            name, style = book.name, book.style
        except PromptError:
            name, style = LANGUAGE_NAMES.get(run.language, run.language), ""
        values: dict[str, Any] = {
            "language_code": run.language,
            "language_name": name,
            "language_style": style,
            "channel": request.channel,
            "channel_style": _CHANNEL_STYLE[request.channel],
            "techniques": [t.model_dump() for t in techniques()],
            "categories": [{"id": c.value, "what": what} for c, what in CATEGORY_HINTS.items()],
            "allowed_commitments": context.allowed_commitments,
            "facts": [fence(f) for f in context.facts],
            "customer_name": fence(context.customer_name or ""),
            "agent_name": fence(context.agent_name or ""),
            "company": fence(context.company or ""),
            "customer_message": fence(request.customer_message),
            "draft": fence(request.draft or ""),
            "history": [{"role": t.role, "text": fence(t.text)} for t in request.history],
            "customer_state": run.state.model_dump(mode="json"),
        }
        system, user = self.template.render(**values)
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def _reask(self, answered: Answered, guarded: Guarded, run: _Run) -> list[Message]:
        assert self.template is not None
        blocking = [v for v in guarded.check.violations if v.severity.value == "block"]
        reasons = []
        if blocking:
            reasons.append("It breaks these rules:")
        if guarded.wrong_language:
            reasons.append(f"It is written in {guarded.wrong_language}, not in {run.language}.")
        if guarded.echoes:
            reasons.append(
                "It repeats the customer's own words; answer them in the agent's words instead."
            )
        content = self.template.render_reask(
            " ".join(reasons) or "It has problems:",
            [v.model_dump(mode="json") for v in blocking],
            [f.text for f in guarded.facts],
        )
        return [
            *answered.messages,
            {"role": "assistant", "content": answered.raw},
            {"role": "user", "content": content},
        ]

    async def _with_models(self, run: _Run, deadline: Deadline) -> CoachResult | None:
        first = self._messages(run)
        for model in self.models:
            if deadline.expired:
                run.attempts.append(Attempt(model=model, outcome="deadline", detail="not tried"))
                continue
            messages = first
            for round_ in range(self.settings.max_reasks + 1):
                try:
                    answered = await self.gateway.ask(model, messages, deadline)
                except ModelFailure as exc:
                    outcome = "invalid_output" if exc.kind == "invalid_output" else "error"
                    if exc.kind == "deadline":
                        outcome = "deadline"
                    run.attempts.append(Attempt(model=model, outcome=outcome, detail=exc.detail))
                    break
                guarded = self._guard(answered.reply.reply, run)
                if guarded.ok:
                    run.attempts.append(Attempt(model=model, outcome="accepted"))
                    return self._model_result(run, model, answered, guarded, degraded=False)
                problems = guarded.problems()
                if round_ < self.settings.max_reasks and not deadline.expired:
                    run.attempts.append(Attempt(model=model, outcome="reask", violations=problems))
                    run.coaching.append(f"The model's reply was re-asked: {', '.join(problems)}.")
                    messages = self._reask(answered, guarded, run)
                    continue
                repaired = self._repair(answered.reply.reply, guarded, run)
                if repaired is not None:
                    run.attempts.append(
                        Attempt(model=model, outcome="repaired", violations=problems)
                    )
                    run.coaching.append(
                        f"The model's reply still broke rules after re-asking; the failing sentences were taken out ({', '.join(problems)})."
                    )
                    answered.reply.reply = repaired[0]
                    return self._model_result(run, model, answered, repaired[1], degraded=True)
                run.attempts.append(Attempt(model=model, outcome="rejected", violations=problems))
                return None  # the rules coach takes over
        return None

    def _repair(self, text: str, guarded: Guarded, run: _Run) -> tuple[str, Guarded] | None:
        if guarded.wrong_language:
            return None
        fixed = drop_sentences(text, guarded.echoes) if guarded.echoes else text
        fixed = drop_new_facts(fixed, new_facts(fixed, run.facts)) if guarded.facts else fixed
        fixed = run.ruleset.repair(
            fixed, run.language, run.request.context.allowed_commitments, max_rounds=3
        )
        if len(fixed.strip()) < 20 or len(fixed) < 0.4 * len(text):
            return None  # too little left to be a reply
        again = self._guard(fixed, run)
        return (fixed, again) if again.ok else None

    # --- results -------------------------------------------------------------
    def _finish(
        self,
        run: _Run,
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

    def _model_result(
        self, run: _Run, model: str, answered: Answered, guarded: Guarded, *, degraded: bool
    ) -> CoachResult:
        known = {t.value for t in Technique}
        used = [Technique(t) for t in answered.reply.techniques if t in known]
        run.coaching.extend(n.strip() for n in answered.reply.notes if n.strip())
        return self._finish(
            run,
            suggestion=answered.reply.reply.strip(),
            suggestion_check=guarded.check,
            used=used,
            model=model,
            degraded=degraded,
            prompt_version=self.template.id if self.template else None,
        )

    def _rules_result(self, run: _Run, *, degraded: bool) -> CoachResult:
        request = run.request
        language = run.language
        book_language = language if language in phrasebook_languages() else "en"
        if book_language != language:
            run.coaching.append(f"The rules coach has no {language} wording; it wrote in English.")
        kept, refused, apologised = self._kept_draft(run, book_language)
        reply = rules_reply(
            language=book_language,
            customer_message=request.customer_message,
            repaired_draft=kept,
            context=request.context,
            state=run.state,
            channel=request.channel,
            refused=refused,
            upset=apologised or None,
            customer_facts=(
                customer_references(
                    [
                        *(t.text for t in request.history if t.role == "customer"),
                        request.customer_message,
                    ],
                    language,
                )
                if request.customer_message != request.draft
                else ()
            ),
        )
        run.coaching.extend(reply.notes)
        text = reply.text
        if request.draft != request.customer_message and (echoes := self._echoes(text, run)):
            # A draft that quoted the customer at length: their words are not the reply.
            text = drop_sentences(text, echoes)
            run.coaching.append("Left out the customer's own words that the draft repeated.")
        text, result = self._ensure_passes(text, run, book_language)
        return self._finish(
            run,
            suggestion=text,
            suggestion_check=result,
            used=reply.techniques,
            model=RULES_MODEL,
            degraded=degraded,
            prompt_version=None,
        )

    def _kept_draft(
        self, run: _Run, book_language: str, *, keep_neutral: bool = False
    ) -> tuple[str | None, bool, bool]:
        """Default-deny over the draft (``coach/draft_filter.py``): the sentences that may
        stay, whether the draft refused something (so an alternative is offered), and
        whether it apologises at all (the agent saw an upset customer, so the coach
        acknowledges and apologises in its own words). Each sentence left out is named in
        the coaching notes with the reason."""
        draft = (run.request.draft or "").strip()
        if not draft or run.draft_check is None:
            return None, False, False
        context = run.request.context
        filtered = filter_draft(
            draft,
            run.language,
            run.draft_check.violations,
            run.ruleset,
            facts=context.facts,
            allowed_commitments=context.allowed_commitments,
            keep_neutral=keep_neutral,
        )
        for sentence in filtered.left_out:
            run.coaching.append(f"Left out “{sentence.text}”: {sentence.reason}.")
        refused = any(v.category.value in _REFUSALS for v in run.draft_check.violations) or any(
            s.reason.startswith(tuple("close to " + c.replace("_", " ") for c in _REFUSALS))
            for s in filtered.left_out
        )
        # Any apology, sincere or not, says the agent saw an upset customer.
        apologised = any(apologises(book_language, s.text) for s in filtered.sentences)
        return filtered.text or None, refused, apologised

    def _ensure_passes(self, text: str, run: _Run, book_language: str) -> tuple[str, CheckResult]:
        """The last line of defence: a reply that passes, whatever a custom pack bans."""
        result = self._check(text, run)
        if result.passed:
            return text, result
        fixed = run.ruleset.repair(
            text, run.language, run.request.context.allowed_commitments, max_rounds=3
        )
        result = self._check(fixed, run)
        if result.passed and fixed.strip():
            return fixed, result
        phrases = phrasebook(book_language).coach
        for candidate in (f"{phrases.thanks} {phrases.further_concerns}", phrases.thanks, "…"):
            result = self._check(candidate, run)
            if result.passed:
                return candidate, result
        raise AssertionError("even the minimal reply breaks a rule: the rule packs ban everything")


def _code_switched(choice: LanguageChoice, request: CoachRequest, rs: RuleSet) -> LanguageChoice:
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


_SENTENCE_END = re.compile(r"[.!?…]+[\"')\]]*(?:\s+|$)|\n+")


def _split_complete(text: str, *, final: bool) -> tuple[str, str]:
    """(complete sentences with their trailing space, the unfinished rest)."""
    if final:
        return text, ""
    end = 0
    for match in _SENTENCE_END.finditer(text):
        if match.end() < len(text):  # a boundary followed by more text is certain
            end = match.end()
    return text[:end], text[end:]


def sentences_with_spacing(text: str) -> list[str]:
    parts: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        parts.append(text[start : match.end()])
        start = match.end()
    if start < len(text):
        parts.append(text[start:])
    return [p for p in parts if p]


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
