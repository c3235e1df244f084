"""The FastAPI application: ``create_app(settings)`` wires services, middleware and routers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from api import errors
from api.deps import Services
from api.hot import HotCheck
from api.metrics import Metrics
from api.middleware import RequestContext
from api.routers import check, feedback, health, note, openai_compat, widget
from api.routers import coach as coach_routes
from api.security import KeyRing, Limiter, RateLimiter
from coach import __version__
from coach.gateway import close_clients
from coach.pipeline import Coach
from coach.settings import CoachSettings, get_settings
from coach.store import Store

log = logging.getLogger("coach.api")

DESCRIPTION = """
Checks and improves customer-service replies to upset customers.

* `POST /v1/check`: the deterministic rules (en, tr, ro, fi, ms, es, de, fr, pt + language-neutral).
* `POST /v1/coach`: a guarded suggestion (JSON, or SSE with `Accept: text/event-stream`).
* `POST /v1/feedback`: accepted / edited / rejected, stored durably.
* `POST /v1/note`: an incident note from a conversation.
* `POST /v1/chat/completions`: OpenAI-compatible, for helpdesks with a custom AI provider.

Send the API key as `Authorization: Bearer <key>` or `X-API-Key` when `COACH_API_KEYS` is set.
Every error is `{"error": {"code": str, "message": str}}`.
"""


class CoachAPI(FastAPI):
    """FastAPI with the layers every request needs outermost (request id, body limit, access
    log and metrics; CORS when configured), then ``POST /v1/check`` answered as plain ASGI
    (api/hot.py) and everything else by FastAPI's own stack. ``create_app`` builds it."""

    outer: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.outer(scope, receive, send)

    async def fastapi(self, scope: Scope, receive: Receive, send: Send) -> None:
        """FastAPI's stack alone: exception handlers, routing, dependencies."""
        await super().__call__(scope, receive, send)


def _limiter(config: CoachSettings, metrics: Metrics) -> Limiter:
    """Rate limits in Redis when ``COACH_REDIS_URL`` is set (shared by every replica), else
    this process's own."""
    if config.redis_url:
        from api.shared_limits import SharedRateLimiter
        from coach.redis_client import redacted_url

        log.info("rate limits are shared through redis at %s", redacted_url(config.redis_url))
        return SharedRateLimiter(config.redis_url, config.rate_limit_per_minute, metrics)
    return RateLimiter(config.rate_limit_per_minute)


def create_app(settings: CoachSettings | None = None, *, coach: Coach | None = None) -> CoachAPI:
    given = settings or get_settings()
    # Keys are reduced to digests here; the app keeps no plain key in its own objects.
    keys = KeyRing(given.api_keys)
    open_api = not given.api_keys
    config = given.model_copy(update={"api_keys": []})
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = Store(config.database_url)
        log.info("feedback and audit records go to %s", store.location)
        app.state.services = Services(
            settings=config,
            coach=coach or Coach(config),
            store=store,
            metrics=metrics,
            keys=keys,
            limiter=_limiter(config, metrics),
        )
        # Compile every pack and load the language detector now, not in the first request.
        app.state.services.coach.ruleset.compile_all()
        app.state.services.coach.ruleset.check("warm up", "en")
        from coach.langdetect import detect

        detect("warm up the detector", tuple(app.state.services.coach.ruleset.languages))
        if open_api:
            log.warning("COACH_API_KEYS is not set: the API is open to every caller (development)")
        try:
            yield
        finally:
            await close_clients()
            await app.state.services.limiter.close()
            await app.state.services.coach.close()
            metrics.close()
            store.close()

    app = CoachAPI(
        title="The reply coach",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    errors.install(app)
    # The routers' routes go straight onto the app's router (as include_router did before
    # FastAPI 0.16x, which now wraps each router in a lazily resolved branch matched twice
    # per request: more than the bare echo's whole routing, see bench/bench_api.py).
    # Routes are tried in order, each miss costs a regex match and some bookkeeping: the
    # busiest first, before FastAPI's own /openapi.json and /docs. The routes carry
    # their paths, tags and responses; these routers have no dependencies or lifespans
    # of their own, and app.dependency_overrides (unused) would not reach them.
    modules = (check, coach_routes, feedback, note, openai_compat, health, widget)
    app.router.routes[:0] = [route for module in modules for route in module.router.routes]
    stack: ASGIApp = HotCheck(app.fastapi, app, _route(app, "/v1/check", "POST"))
    if config.cors_origins:
        stack = CORSMiddleware(
            stack,
            allow_origins=config.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Request-ID", "Accept"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    app.outer = RequestContext(stack, max_body=config.max_body_bytes, metrics=metrics)
    return app


def _route(app: FastAPI, path: str, method: str) -> APIRoute:
    for route in app.router.routes:
        if isinstance(route, APIRoute) and route.path == path and method in (route.methods or ()):
            return route
    raise LookupError(f"no route {method} {path}")
