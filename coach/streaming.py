"""Streaming a suggestion (``"stream": true``) without ever sending a blocked word.

The model's reply is cut into sentences as it arrives; each complete sentence is guarded
(``coach/guard.py``) together with everything sent before it, and only then sent as a
``delta`` event. When a sentence fails, the stream stops, a ``reset`` event tells the
client to drop what it showed, and the full pipeline (re-asks, repair, fallbacks) answers
within the same deadline. The ``result`` event always carries the final CoachResult.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from coach.gateway import (
    Answered,
    Deadline,
    InvalidOutput,
    Message,
    ModelReply,
    ReplyStream,
    parse_reply,
    stream_completion,
)
from coach.guard import guard
from coach.model_loop import Accepted, coach_messages
from coach.prepare import Run
from coach.schemas import Attempt, CoachRequest

if TYPE_CHECKING:
    from coach.pipeline import Coach

Event = tuple[str, dict[str, Any]]


async def _guarded_deltas(
    coach: Coach,
    run: Run,
    model: str,
    messages: list[Message],
    deadline: Deadline,
    extractor: ReplyStream,
) -> AsyncIterator[tuple[str, str | None]]:
    """``("delta", text)`` for each guarded piece; ``("failed", why)`` when one fails."""
    sent = ""
    pending = ""
    try:
        async for chunk in stream_completion(coach.gateway, model, messages, deadline):
            pending += extractor.feed(chunk)
            ready, pending = split_complete(pending, final=extractor.done)
            if ready:
                guarded = guard(sent + ready, run)
                if not guarded.ok:
                    yield "failed", ", ".join(guarded.problems())
                    return
                sent += ready
                yield "delta", ready
            if extractor.done:
                break
    except Exception as exc:  # any stream failure: the full pipeline answers instead
        yield "failed", f"stream failed: {type(exc).__name__}"
        return
    if pending.strip():
        guarded = guard(sent + pending, run)
        if not guarded.ok:
            yield "failed", ", ".join(guarded.problems())
            return
        yield "delta", pending
    yield "done", None


async def stream(
    coach: Coach, request: CoachRequest, request_id: str | None = None
) -> AsyncIterator[Event]:
    if not coach.models:
        result = await coach.coach(request, request_id=request_id)
        for sentence in sentences_with_spacing(result.suggestion):
            yield "delta", {"text": sentence}
        yield "result", result.model_dump(mode="json")
        return
    run = await coach.prepared(request, request_id)
    deadline = Deadline(coach.settings.timeout_s)
    model = coach.models[0]
    assert coach.prompts is not None
    messages = coach_messages(coach.prompts, run)
    extractor = ReplyStream()
    sent = ""
    failure: str | None = None
    async for kind, text in _guarded_deltas(coach, run, model, messages, deadline, extractor):
        if kind == "delta" and text is not None:
            sent += text
            yield "delta", {"text": text}
        elif kind == "failed":
            failure = text
    if failure is None:
        try:
            parsed = parse_reply(extractor.raw)
        except InvalidOutput:
            parsed = ModelReply(reply=sent)
        parsed.reply = sent
        guarded = guard(sent, run)
        if guarded.ok and sent.strip():
            run.attempts.append(Attempt(model=model, outcome="accepted", detail="streamed"))
            answered = Answered(model, parsed, extractor.raw, messages, 1)
            accepted = Accepted(model, answered, guarded, degraded=False)
            yield "result", coach.model_result(run, accepted).model_dump(mode="json")
            return
        failure = "the streamed reply did not pass as a whole"
    if sent:
        yield "reset", {"reason": failure}
    from coach.pipeline import NoModelAnswered

    try:
        # The same deadline: streaming first and falling back stay within one budget.
        result = await coach.coach(request, request_id=request_id, deadline=deadline)
    except NoModelAnswered as exc:
        yield "error", {"code": "unavailable", "message": str(exc)}
        return
    result.coaching.insert(0, f"Streaming stopped ({failure}); this is the guarded full answer.")
    for sentence in sentences_with_spacing(result.suggestion):
        yield "delta", {"text": sentence}
    yield "result", result.model_dump(mode="json")


_SENTENCE_END = re.compile(r"[.!?…]+[\"')\]]*(?:\s+|$)|\n+")


def split_complete(text: str, *, final: bool) -> tuple[str, str]:
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
