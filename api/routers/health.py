"""Liveness, readiness and Prometheus metrics (no API key: for the platform, not for users)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from api.deps import ServicesDep
from api.errors import ApiError
from api.metrics import CONTENT_TYPE
from api.schemas import Health, Ready

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="The process is up")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Ready,
    summary="Rules are loaded and the store answers",
    responses={503: {"description": "not ready"}},
)
async def readyz(svc: ServicesDep) -> Ready:
    ruleset = svc.coach.ruleset
    try:
        await run_in_threadpool(svc.store.ping)
    except Exception as exc:
        raise ApiError(503, f"the store does not answer: {type(exc).__name__}") from exc
    if not ruleset.languages:
        raise ApiError(503, "no rules loaded")
    return Ready(
        status="ready",
        languages=list(ruleset.languages),
        rules=len(ruleset.rules),
        model=svc.settings.model,
        store=svc.store.backend,
        redis=await svc.limiter.ping(),
    )


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(svc: ServicesDep) -> Response:
    return Response(svc.metrics.render(), media_type=CONTENT_TYPE)
