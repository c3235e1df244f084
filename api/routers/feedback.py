"""POST /v1/feedback: what the agent did with a suggestion, stored durably."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from api.deps import CallerDep, ServicesDep, log_fields
from api.errors import ApiError
from api.schemas import FeedbackCreate, FeedbackPublic
from coach.store import UnknownRequest

router = APIRouter(prefix="/v1", tags=["feedback"])


@router.post(
    "/feedback",
    status_code=201,
    response_model=FeedbackPublic,
    summary="Record accepted / edited / rejected for a suggestion",
    description="Stored (committed) before the 201 is sent, with the request id, model, "
    "prompt version and suggestion of the original /v1/coach call.",
    responses={404: {"description": "unknown request_id"}, 401: {}, 429: {}},
)
async def feedback(
    body: FeedbackCreate, request: Request, svc: ServicesDep, caller: CallerDep
) -> FeedbackPublic:
    try:
        row = await run_in_threadpool(
            svc.store.add_feedback, body.request_id, body.action, body.final_text, caller
        )
    except UnknownRequest as exc:
        raise ApiError(404, f"no suggestion with request_id {body.request_id!r}") from exc
    svc.metrics.feedback.labels(body.action).inc()
    log_fields(request, action=body.action, feedback_id=row.id)
    return FeedbackPublic(
        id=row.id, request_id=row.request_id, action=body.action, created_at=row.created_at
    )
