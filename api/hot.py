"""``POST /v1/check`` answered as plain ASGI, ahead of FastAPI's own stack.

The widget checks the draft while the agent types, so this is the busiest
route, and its work (the rules: ~60 µs for a 300-character reply) is smaller
than what FastAPI's layers cost around it: two exception middlewares, the
telemetry and exit-stack middlewares, routing, dependency solving, body
parsing through ``email.message``. Measured in process (``bench/bench_api.py``
gives the HTTP figures): the route through FastAPI cost ~270 µs of CPU per
request against ~60 µs for the checks it runs.

``HotCheck`` does the same steps as the FastAPI route in
``api/routers/check.py``, in the same order and with the same answers: read the
body; parse it as JSON when the Content-Type says JSON (``invalid_json``, or
400 for bytes that are no text); authorize (401 / 429); validate it as
``CheckRequest`` (422 with the field); check (``answer``, shared with the
route); every error is the usual ``{"error": {...}}``; an unexpected exception
is logged and answered 500 without its trace. The FastAPI route stays
registered: it documents the endpoint in the OpenAPI schema, and
``tests/test_hot_path.py`` sends the same requests to both and compares
status, headers and bodies.

It sits inside ``RequestContext`` (request id, body limit, access log,
metrics) and CORS, which ``CoachAPI`` puts outermost for every route.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api.deps import Services, authorize, header
from api.errors import ApiError, error_response, unexpected_response, validation_response
from api.routers.check import answer, answer_reviewed
from api.schemas import CheckRequest

PATH = "/v1/check"
_JSON_HEADERS = b"application/json"


def is_json(content_type: str | None) -> bool:
    """FastAPI's rule for a JSON body: ``application/json`` or ``application/*+json``
    (parameters ignored); no Content-Type at all is not JSON (FastAPI's strict default)."""
    if not content_type:
        return False
    maintype, _, subtype = content_type.partition(";")[0].strip().lower().partition("/")
    return maintype == "application" and (subtype == "json" or subtype.endswith("+json"))


def _route_path(scope: Scope) -> str:
    """The path as the app's routes see it: less ``root_path`` when the server puts that in
    front (as Starlette's router does)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] == "/":
        return path[len(root) :]
    return path


class _Invalid(Exception):
    """A body FastAPI would refuse before pydantic sees it, as its error entry."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error)
        self.errors = [error]


class HotCheck:
    """ASGI: ``POST /v1/check`` here, every other request to ``app`` (FastAPI's stack)."""

    def __init__(self, app: ASGIApp, owner: Any, route: APIRoute) -> None:
        self.app = app
        self.owner = owner  # the FastAPI app: its state holds the Services after start-up
        self.route = route  # what the metrics and the access log name the request by

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and _route_path(scope) == PATH:
            await self.check(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def check(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = self.route
        try:
            raw = await _read_body(receive)
            if raw is None:  # the client went away
                return
            body = await self._answer(scope, raw)
            if not isinstance(body, bytes):  # a review or the meaning encoder (async)
                body = await answer_reviewed(*body, scope)
        except ApiError as exc:
            response: Response = error_response(exc.status, exc.message, exc.code, exc.headers)
        except ValidationError as exc:
            response = validation_response(exc.errors(include_url=False))
        except _Invalid as exc:
            response = validation_response(exc.errors)
        except Exception:
            response = unexpected_response(scope.get("state", {}).get("request_id", "-"))
        else:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-length", str(len(body)).encode()),
                        (b"content-type", _JSON_HEADERS),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await response(scope, receive, send)

    async def _answer(self, scope: Scope, raw: bytes) -> bytes | tuple[Services, CheckRequest]:
        data: Any = raw
        if raw and is_json(header(scope, b"content-type")):
            try:
                data = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise _Invalid({"type": "json_invalid", "loc": ("body", exc.pos)}) from None
            except (UnicodeDecodeError, ValueError) as exc:
                raise ApiError(400, "There was an error parsing the body") from exc
        svc: Services = self.owner.state.services
        await authorize(scope, svc)
        if raw == b"":
            # FastAPI: an empty body is a missing one.
            raise _Invalid({"type": "missing", "loc": ("body",), "msg": "Field required"})
        # from_attributes: what FastAPI passes, so the messages are the same for bytes or a list.
        request = CheckRequest.model_validate(data, from_attributes=True)
        if request.review or "semantic" in svc.settings.detectors:
            return svc, request  # awaited: a model's review, or the encoder off the loop
        return answer(svc, request, scope)


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body; None when the client disconnects first."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks) if len(chunks) > 1 else chunks[0]
