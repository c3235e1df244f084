"""What handlers depend on, as ``Annotated`` aliases (one place, one name each)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.types import Scope

from api.errors import ApiError
from api.metrics import Metrics
from api.security import (
    KeyRing,
    Limiter,
    digest,
    key_id,
    presented_key,
    retry_after_header,
)
from coach.pipeline import Coach
from coach.settings import CoachSettings
from coach.store import Store


@dataclass
class Services:
    """Everything built once at start-up (``create_app``) and shared by requests."""

    settings: CoachSettings
    coach: Coach
    store: Store
    metrics: Metrics
    keys: KeyRing
    limiter: Limiter


# Dependencies are ``async def`` and take only the request: a sync one would hop to the
# thread pool on every request, and every parameter FastAPI solves (a header, a
# sub-dependency) costs several microseconds per request.
async def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of a header (ASGI servers give names in lower case)."""
    for key, value in scope["headers"]:
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None


async def authorize(scope: Scope, svc: Services) -> str:
    """The caller's id (a key id, or the client address when the API is open); 401 / 429.

    The key comes from ``Authorization: Bearer <key>`` or ``X-API-Key``. Takes the
    ASGI scope, not a Request, so the plain-ASGI ``POST /v1/check`` (api/hot.py) and
    FastAPI's dependencies share it.
    """
    if svc.keys.open:
        # Addresses are personal data: logs and limits see a digest only.
        client = scope.get("client")
        address = client[0] if client else "unknown"
        who = "addr:" + key_id(digest(address))
    else:
        presented = presented_key(header(scope, b"authorization"), header(scope, b"x-api-key"))
        matched = svc.keys.match(presented)
        if matched is None:
            raise ApiError(
                401,
                "missing or unknown API key: send Authorization: Bearer <key> or X-API-Key",
                headers={"WWW-Authenticate": "Bearer"},
            )
        who = key_id(matched)
    scope.setdefault("state", {})["key_id"] = who
    wait = await svc.limiter.acquire(who)
    if wait is not None:
        raise ApiError(
            429,
            f"rate limit of {svc.limiter.per_minute} requests per minute exceeded",
            headers={"Retry-After": retry_after_header(wait)},
        )
    return who


async def caller(request: Request) -> str:
    """The caller's id, for handlers that record it (feedback); 401 / 429."""
    return await authorize(request.scope, request.app.state.services)


CallerDep = Annotated[str, Depends(caller)]


async def authorized(request: Request) -> Services:
    """The services, once the caller is let in (401 / 429): one dependency, not two."""
    svc: Services = request.app.state.services
    await authorize(request.scope, svc)
    return svc


AuthorizedDep = Annotated[Services, Depends(authorized)]


def log_fields(request: Request | Scope, **fields: object) -> None:
    """Extra fields for this request's access-log line (never raw text: see coach.redact)."""
    scope = request.scope if isinstance(request, Request) else request
    scope.setdefault("state", {}).setdefault("log_fields", {}).update(fields)
