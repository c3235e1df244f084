"""POST /v1/check and GET /v1/rules: the rules layer over HTTP."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import Scope

from api.deps import AuthorizedDep, Services, log_fields
from api.errors import ApiError
from api.schemas import CheckRequest, RulesPublic
from coach.checker import check as check_text
from coach.redact import redact
from coach.schemas import CheckResult

router = APIRouter(prefix="/v1", tags=["rules"])


def answer(svc: Services, body: CheckRequest, scope: Scope) -> bytes:
    """The check of a validated body, counted in the metrics and the access log; the
    response's JSON. Shared by this route and the plain-ASGI one (api/hot.py)."""
    return _respond(svc, body, scope, _checked(svc, body))


async def answer_reviewed(svc: Services, body: CheckRequest, scope: Scope) -> bytes:
    """``answer`` plus, with ``review``, the model's review (never failing the check).
    With the meaning encoder on (``COACH_DETECTORS`` names ``semantic``) the check takes
    tens of milliseconds in C, with the GIL released: it runs in the thread pool, not on
    the event loop."""
    if "semantic" in svc.settings.detectors:
        result = await run_in_threadpool(_checked, svc, body)
    else:
        result = _checked(svc, body)
    if body.review:
        result = await svc.coach.reviewer.add_to(body.text, result, svc.settings.timeout_s)
    return _respond(svc, body, scope, result)


def _checked(svc: Services, body: CheckRequest) -> CheckResult:
    # About 0.1 ms of CPU: run it on the event loop, not in the thread pool that
    # database writes occupy under load.
    try:
        return check_text(
            body.text,
            body.language,
            body.context,
            ruleset=svc.coach.ruleset,
            hint_language=body.hint_language,
            customer_message=body.customer_message,
            detectors=svc.settings.detectors,
            server_commitments=svc.settings.allowed_commitments,
        )
    except ValueError as exc:  # a language that is not a language code
        raise ApiError(422, f"language: {exc}") from exc


def _respond(svc: Services, body: CheckRequest, scope: Scope, result: CheckResult) -> bytes:
    svc.metrics.record_check(result, "check")
    fields: dict[str, object] = {
        "language": result.language,
        "passed": result.passed,
        "violations": len(result.violations),
    }
    if svc.settings.log_text == "redacted":
        fields["text"] = redact(body.text)
    log_fields(scope, **fields)
    return _RESULT.to_json(result, by_alias=True)


_RESULT = CheckResult.__pydantic_serializer__


@router.post(
    "/check",
    response_model=CheckResult,
    summary="Check a reply against the rules of its language (and, with review, COACH_MODEL)",
    responses={401: {"description": "no or bad API key"}, 429: {"description": "rate limited"}},
)
async def check(body: CheckRequest, request: Request, svc: AuthorizedDep) -> Response:
    # `coach serve` answers this path in api/hot.py before FastAPI's routing; this route
    # documents it (OpenAPI) and is what tests/test_hot_path.py compares the hot path with.
    return Response(await answer_reviewed(svc, body, request.scope), media_type="application/json")


@router.get("/rules", response_model=RulesPublic, summary="The loaded rules")
async def rules(
    svc: AuthorizedDep,
    language: Annotated[
        str | None, Query(max_length=35, description="only this language (and the neutral rules)")
    ] = None,
) -> RulesPublic:
    ruleset = svc.coach.ruleset
    languages = list(ruleset.languages)
    if language is not None:
        code = language.strip().lower()
        if code not in languages:
            raise ApiError(
                404, f"no rules for language {language!r}; loaded: {', '.join(languages)}"
            )
        languages = [code]
    found = [rule.public() for lang in languages for rule in ruleset.rules_for(lang)]
    unique = list({r.id: r for r in found}.values())
    return RulesPublic(languages=languages, count=len(unique), rules=unique)
