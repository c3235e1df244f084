"""POST /v1/chat/completions: the coach behind an OpenAI-compatible door.

Helpdesks that let an admin point an "OpenAI-compatible" AI provider at any
base URL (Zammad's "Custom (OpenAI Compatible)", self-hosted Chatwoot's
``CAPTAIN_OPEN_AI_ENDPOINT``) use the coach unchanged:

* any ``model`` name is accepted;
* the last ``user`` message is the text to improve (the agent's draft); when
  it is the only one (Zammad's text tools), the rules coach returns the draft
  repaired and adds nothing;
* earlier ``user`` messages are the customer's turns, ``assistant`` ones the
  agent's; the latest customer turn is the message being answered;
* ``system``/``developer`` messages (the admin's instruction) are not
  followed: the coach's own prompt decides, so no instruction can switch the
  guard off;
* ``choices[0].message.content`` is the guarded reply; ``stream: true``
  sends it as ``chat.completion.chunk`` events after the guard has passed
  the whole text (the OpenAI stream format has no way to take text back).
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

from api.deps import AuthorizedDep, log_fields
from api.errors import ApiError
from coach.pipeline import NoModelAnswered, sentences_with_spacing
from coach.schemas import CoachRequest, CoachResult, HistoryTurn

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


def to_coach_request(body: ChatCompletionRequest) -> tuple[CoachRequest, bool]:
    """The coaching request, and whether only the draft is known (no customer turn)."""
    turns = [m for m in body.messages if m.role in ("user", "assistant") and m.text().strip()]
    if not turns or turns[-1].role != "user":
        raise ApiError(
            422, "messages: the last message must be a user message with the text to improve"
        )
    draft = turns[-1].text()
    conversation = [
        HistoryTurn(role="customer" if m.role == "user" else "agent", text=m.text()[:8000])
        for m in turns[:-1]
    ]
    customer_turns = [i for i, t in enumerate(conversation) if t.role == "customer"]
    if customer_turns:
        last = customer_turns[-1]
        customer_message = conversation[last].text
        history = conversation[:last] + conversation[last + 1 :]
    else:
        # Only the draft (Zammad's text tools): the draft stands in for the message
        # for language detection; there is no customer text to analyse.
        customer_message, history = draft, conversation
    request = CoachRequest(
        customer_message=customer_message[:8000], draft=draft[:8000], history=history[-50:]
    )
    return request, not customer_turns


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)  # an estimate; the coach does not tokenize


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    summary="OpenAI-compatible chat completion: the guarded improvement of the last user message",
    responses={200: {"content": {"text/event-stream": {}}}, 401: {}, 422: {}, 429: {}, 503: {}},
)
async def chat_completions(
    body: ChatCompletionRequest, request: Request, svc: AuthorizedDep
) -> ChatCompletion | StreamingResponse:
    coach_request, draft_only = to_coach_request(body)
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
    completion = _completion(body, coach_request, result)
    if body.stream:
        return StreamingResponse(_chunks(completion, result), media_type="text/event-stream")
    return completion


def _completion(
    body: ChatCompletionRequest, request: CoachRequest, result: CoachResult
) -> ChatCompletion:
    prompt = _tokens(request.customer_message + (request.draft or ""))
    answer = _tokens(result.suggestion)
    return ChatCompletion(
        id=f"chatcmpl-{result.request_id}",
        created=int(time.time()),
        model=body.model,
        choices=[ChatChoice(message=ChatChoiceMessage(content=result.suggestion))],
        usage=Usage(prompt_tokens=prompt, completion_tokens=answer, total_tokens=prompt + answer),
        coach=CoachInfo(
            request_id=result.request_id,
            model=result.model,
            degraded=result.degraded,
            language=result.language,
            draft_passed=result.draft_check.passed if result.draft_check else None,
        ),
    )


async def _chunks(completion: ChatCompletion, result: CoachResult) -> AsyncIterator[bytes]:
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
    for piece in sentences_with_spacing(result.suggestion):
        yield event({"content": piece})
    yield event({}, "stop")
    yield b"data: [DONE]\n\n"
