"""POST /v1/chat/completions: the coach behind an OpenAI-compatible door.

Helpdesks that let an admin point an "OpenAI-compatible" AI provider at any
base URL (Zammad's "Custom (OpenAI Compatible)", self-hosted Chatwoot's
``CAPTAIN_OPEN_AI_ENDPOINT``) use the coach unchanged, and send it *every* AI
feature. Each request is read by its structure (``api/helpdesk.py``):

* **reply** (Chatwoot's reply suggestion, as one transcript message or as roles):
  the guarded coach writes the agent's next reply to the customer's last message;
* **improve** (Chatwoot's improve with ``<conversation_context>`` /
  ``<draft_message>``, rewrites and tone changes, Zammad's text tools): the draft
  is coached, with the conversation when there is one; a draft alone comes back
  with its flagged sentences taken out and nothing added;
* **other** (summaries, label suggestions): with ``COACH_MODEL`` set and
  ``COACH_PASSTHROUGH`` on, passed to the model unchanged and its answer checked
  (a blocking finding is repaired, or the answer refused with 502); otherwise a
  422 that says what the coach does.

Any ``model`` name is accepted. ``system``/``developer`` messages are not followed
for replies and drafts: the coach's own prompt decides, so no instruction can switch
the guard off. ``choices[0].message.content`` is the guarded text; ``stream: true``
sends it as ``chat.completion.chunk`` events after the guard has passed the whole
text (the OpenAI stream format has no way to take text back).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api import helpdesk
from api.deps import AuthorizedDep, Services, log_fields
from api.errors import ApiError
from api.helpdesk import Message, Reading
from coach.analysis import analyze
from coach.checker import check
from coach.draft_filter import carries_content
from coach.gateway import Deadline, ModelFailure
from coach.pipeline import NoModelAnswered
from coach.schemas import CoachRequest, HistoryTurn
from coach.streaming import sentences_with_spacing
from rules import RuleSet

router = APIRouter(prefix="/v1", tags=["openai-compatible"])


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        if isinstance(self.content, list):
            return "\n".join(p.text for p in self.content if p.type == "text" and p.text)
        return ""


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(
        extra="allow"
    )  # temperature, max_tokens, ... are accepted and ignored
    model: str = Field(min_length=1, max_length=200)
    messages: list[ChatMessage] = Field(min_length=1, max_length=200)
    stream: bool = False


class ChatChoiceMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class ChatChoice(BaseModel):
    index: int = 0
    message: ChatChoiceMessage
    finish_reason: Literal["stop"] = "stop"


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class CoachInfo(BaseModel):
    request_id: str
    model: str
    degraded: bool
    language: str
    draft_passed: bool | None


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage
    coach: CoachInfo


# Categories only an agent's text falls into (a customer can be hostile too).
_AGENT_CATEGORIES = frozenset(
    {
        "dismissive",
        "policy_shield",
        "helpless",
        "blame",
        "brush_off",
        "runaround",
        "over_promise",
        "false_apology",
    }
)


def agent_wrote(text: str, ruleset: RuleSet | None = None) -> bool:
    """Whether ``text`` reads as an agent's reply, not a customer's message: a rule finding
    of an agent's kind, or an action an agent takes ("I have refunded") in a text with no
    complaint in it (a customer's "I paid twice!" is a complaint)."""
    result = check(text, None, ruleset=ruleset, detectors=["rules"])
    if any(v.category.value in _AGENT_CATEGORIES for v in result.violations):
        return True
    state = analyze(text, result.language)
    complaint = (
        "!" in text
        or "?" in text
        or state.abusive
        or any(s.startswith(("problem", "insult", "threat", "escalation")) for s in state.signals)
        or any(t.value not in ("billing", "own_priority") for t in state.triggers)
    )
    return not complaint and carries_content(text, result.language) == "an action"


def to_coach_request(
    body: ChatCompletionRequest, ruleset: RuleSet | None = None
) -> tuple[Reading, CoachRequest | None]:
    """What the request is, and the coaching request for a reply or a draft (None for other)."""
    reading = helpdesk.read(
        [Message(m.role, m.text()) for m in body.messages],
        lambda text: agent_wrote(text, ruleset),
    )
    if reading.kind == "other":
        return reading, None
    turns = [(who, text[:8000]) for who, text in reading.turns if text.strip()]
    customer = [i for i, (who, _) in enumerate(turns) if who == "customer"]
    draft = (reading.draft or "")[:8000] or None
    if reading.kind == "improve" and not draft:
        raise ApiError(422, "messages: there is no text to improve")
    if customer:
        last = customer[-1]
        message = turns[last][1]
        history = [HistoryTurn(role=who, text=text) for who, text in turns[:last]]
    else:
        # A draft alone (text tools): it stands in for the message for language
        # detection; there is no customer text to analyse.
        message, history = draft or "", [HistoryTurn(role=w, text=t) for w, t in turns]
    request = CoachRequest(
        customer_message=message,
        draft=draft,
        history=history[-50:],
        channel=reading.channel or "chat",
    )
    return reading, request


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)  # an estimate; the coach does not tokenize


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    summary=(
        "OpenAI-compatible chat completion: the guarded reply or improved draft a helpdesk "
        "asked for (other requests pass to COACH_MODEL, checked)"
    ),
    responses={
        200: {"content": {"text/event-stream": {}}},
        401: {},
        422: {},
        429: {},
        502: {},
        503: {},
    },
)
async def chat_completions(
    body: ChatCompletionRequest, request: Request, svc: AuthorizedDep
) -> ChatCompletion | StreamingResponse:
    reading, coach_request = await run_in_threadpool(to_coach_request, body, svc.coach.ruleset)
    log_fields(request, door=f"{reading.kind}/{reading.layout}")
    if coach_request is None:
        return await _pass_through(body, reading, request, svc)
    draft_only = reading.kind == "improve" and not reading.customer_turns
    run = svc.coach.improve_draft if draft_only else svc.coach.coach
    try:
        result = await run(coach_request, request_id=request.state.request_id)
    except NoModelAnswered as exc:
        raise ApiError(503, str(exc)) from exc
    await run_in_threadpool(
        svc.store.save_suggestion,
        coach_request.model_dump(mode="json"),
        result.model_dump(mode="json"),
    )
    svc.metrics.record_coach(result)
    log_fields(request, language=result.language, model=result.model, degraded=result.degraded)
    completion = _completion(
        body,
        coach_request.customer_message + (coach_request.draft or ""),
        result.suggestion,
        CoachInfo(
            request_id=result.request_id,
            model=result.model,
            degraded=result.degraded,
            language=result.language,
            draft_passed=result.draft_check.passed if result.draft_check else None,
        ),
    )
    return _respond(body, completion)


async def _pass_through(
    body: ChatCompletionRequest, reading: Reading, request: Request, svc: Services
) -> ChatCompletion | StreamingResponse:
    """A request that is neither a reply nor a draft: the model answers it unchanged when
    one is configured and passthrough is on, and its answer is still checked."""
    what = reading.why or reading.layout
    if not svc.settings.passthrough or not svc.coach.models:
        reason = "COACH_PASSTHROUGH is off" if svc.coach.models else "no COACH_MODEL is set"
        raise ApiError(
            422,
            "the coach writes and improves agents' replies to customers; this request is "
            f"neither ({what}), and it cannot be passed to a model: {reason}",
            code="unsupported_request",
        )
    model = svc.coach.models[0]
    messages = [{"role": m.role, "content": m.text()} for m in body.messages if m.text()]
    try:
        answer = await svc.coach.gateway.complete(
            model, messages, Deadline(svc.settings.timeout_s), json_mode=False
        )
    except ModelFailure as exc:
        raise ApiError(503, f"the model did not answer: {exc}") from exc
    server = svc.settings.allowed_commitments
    checked = check(answer, None, ruleset=svc.coach.ruleset, server_commitments=server)
    repaired = False
    if not checked.passed:
        answer = svc.coach.ruleset.repair(answer, checked.language, max_rounds=3).strip()
        checked = check(
            answer, checked.language, ruleset=svc.coach.ruleset, server_commitments=server
        )
        repaired = True
        if not answer or not checked.passed:
            raise ApiError(
                502,
                "the model's answer broke a blocking rule and could not be repaired",
                code="answer_refused",
            )
    log_fields(request, model=model, degraded=repaired)
    completion = _completion(
        body,
        "".join(m.text() for m in body.messages),
        answer,
        CoachInfo(
            request_id=request.state.request_id,
            model=model,
            degraded=repaired,
            language=checked.language,
            draft_passed=None,
        ),
    )
    return _respond(body, completion)


def _respond(
    body: ChatCompletionRequest, completion: ChatCompletion
) -> ChatCompletion | StreamingResponse:
    if body.stream:
        return StreamingResponse(_chunks(completion), media_type="text/event-stream")
    return completion


def _completion(
    body: ChatCompletionRequest, prompt_text: str, text: str, info: CoachInfo
) -> ChatCompletion:
    prompt, answer = _tokens(prompt_text), _tokens(text)
    return ChatCompletion(
        id=f"chatcmpl-{info.request_id}",
        created=int(time.time()),
        model=body.model,
        choices=[ChatChoice(message=ChatChoiceMessage(content=text))],
        usage=Usage(prompt_tokens=prompt, completion_tokens=answer, total_tokens=prompt + answer),
        coach=info,
    )


async def _chunks(completion: ChatCompletion) -> AsyncIterator[bytes]:
    base: dict[str, Any] = {
        "id": completion.id,
        "object": "chat.completion.chunk",
        "created": completion.created,
        "model": completion.model,
    }

    def event(delta: dict[str, str], finish: str | None = None) -> bytes:
        chunk = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode()

    yield event({"role": "assistant", "content": ""})
    for piece in sentences_with_spacing(completion.choices[0].message.content):
        yield event({"content": piece})
    yield event({}, "stop")
    yield b"data: [DONE]\n\n"
