"""POST /v1/coach: one coaching round trip, as JSON or as a guarded SSE stream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.deps import AuthorizedDep, Services, log_fields
from api.errors import ApiError
from coach.pipeline import NoModelAnswered
from coach.prompting import PromptError
from coach.redact import redact
from coach.schemas import CoachRequest, CoachResult

router = APIRouter(prefix="/v1", tags=["coaching"])

_STREAM_DOC = (
    "With `Accept: text/event-stream` the reply streams as Server-Sent Events: `delta` "
    "events carry guarded text (every sentence is checked, with all text sent before it, "
    "before it goes out), `reset` tells the client to drop the text shown so far (a "
    "sentence failed; the full pipeline answers instead), and the last event, `result`, "
    "carries the complete CoachResult (or `error` with the error envelope)."
)


def _log(request: Request, svc: Services, body: CoachRequest, result: CoachResult) -> None:
    fields: dict[str, Any] = {
        "language": result.language,
        "model": result.model,
        "degraded": result.degraded,
        "channel": body.channel,
        "emotion": result.customer_state.emotion,
        "risk": result.customer_state.escalation_risk,
    }
    if svc.settings.log_text == "redacted":
        fields["customer_message"] = redact(body.customer_message)
        fields["draft"] = redact(body.draft or "")
    log_fields(request, **fields)


async def _store(svc: Services, body: CoachRequest, result: CoachResult) -> None:
    await run_in_threadpool(
        svc.store.save_suggestion, body.model_dump(mode="json"), result.model_dump(mode="json")
    )
    svc.metrics.record_coach(result)


@router.post(
    "/coach",
    response_model=CoachResult,
    summary="Suggest a better reply to an upset customer",
    description="The suggestion always passes the rules. " + _STREAM_DOC,
    responses={
        200: {"content": {"text/event-stream": {}}},
        401: {"description": "no or bad API key"},
        429: {"description": "rate limited"},
        503: {"description": "no model answered and the rules fallback is off"},
    },
)
async def coach(
    body: CoachRequest, request: Request, svc: AuthorizedDep
) -> CoachResult | StreamingResponse:
    if "text/event-stream" in request.headers.get("accept", ""):
        return StreamingResponse(
            _events(body, request, svc),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    try:
        result = await svc.coach.coach(body, request_id=request.state.request_id)
    except NoModelAnswered as exc:
        raise ApiError(503, str(exc)) from exc
    except (PromptError, ValueError) as exc:
        raise ApiError(422, str(exc)) from exc
    await _store(svc, body, result)
    _log(request, svc, body, result)
    return result


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


async def _events(body: CoachRequest, request: Request, svc: Services) -> AsyncIterator[bytes]:
    try:
        async for event, data in svc.coach.stream(body, request_id=request.state.request_id):
            if event == "result":
                result = CoachResult.model_validate(data)
                await _store(svc, body, result)
                _log(request, svc, body, result)
            elif event == "error":
                data = {"error": data}
            yield _sse(event, data)
    except (PromptError, ValueError) as exc:
        yield _sse("error", {"error": {"code": "invalid_input", "message": str(exc)}})
