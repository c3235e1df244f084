"""One ASGI middleware for what every request needs: an id, a body limit, a log line, metrics.

Pure ASGI (not BaseHTTPMiddleware) so streaming responses pass through
untouched. A body over the limit is refused from its Content-Length before it
is read, or, when it is sent without one (chunked), as soon as it passes the
limit while arriving.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body
from api.metrics import Metrics

log = logging.getLogger("coach.api.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_INFO = logging.INFO
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class BodyTooLarge(Exception):
    pass


def _replay(messages: list[Message], receive: Receive) -> Receive:
    queue = list(messages)

    async def replay() -> Message:
        if queue:
            return queue.pop(0)
        return await receive()

    return replay


class RequestContext:
    def __init__(self, app: ASGIApp, *, max_body: int, metrics: Metrics) -> None:
        self.app = app
        self.max_body = max_body
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # Only two headers matter here: one pass over the raw list, nothing decoded but them.
        given = ""
        declared: bytes | None = None
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                given = value.decode("latin-1")
            elif key == b"content-length":
                declared = value
        request_id = given if given and _REQUEST_ID.match(given) else secrets.token_hex(16)
        scope.setdefault("state", {})["request_id"] = request_id
        id_header = (b"x-request-id", request_id.encode())
        status_holder = {"status": 500, "started": False}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = True
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            await self._too_large(send_with_id)
            self._finish(scope, status_holder, started, request_id)
            return

        app_receive = receive
        if declared is None and scope["method"] in _BODY_METHODS:
            # No Content-Length (chunked): read the body here, within the limit,
            # and hand the app a replay of it.
            try:
                messages = await self._read_limited(receive)
            except BodyTooLarge:
                await self._too_large(send_with_id)
                self._finish(scope, status_holder, started, request_id)
                return
            app_receive = _replay(messages, receive)
        try:
            await self.app(scope, app_receive, send_with_id)
        finally:
            self._finish(scope, status_holder, started, request_id)

    async def _read_limited(self, receive: Receive) -> list[Message]:
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages
            size += len(message.get("body", b""))
            if size > self.max_body:
                raise BodyTooLarge
            if not message.get("more_body", False):
                return messages

    async def _too_large(self, send: Send) -> None:
        body = json.dumps(
            error_body("body_too_large", f"the request body is larger than {self.max_body} bytes")
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _finish(
        self, scope: Scope, holder: dict[str, Any], started: float, request_id: str
    ) -> None:
        elapsed = time.perf_counter() - started
        route = scope.get("route")
        path = getattr(route, "path", None) or "unmatched"
        status = int(holder["status"])
        self.metrics.observe_request(scope["method"], path, status, elapsed)
        if not log.isEnabledFor(_INFO):
            return
        state = scope.get("state", {})
        fields = {
            "request_id": request_id,
            "method": scope["method"],
            "route": path,
            "status": status,
            "ms": round(elapsed * 1000, 2),
            "key": state.get("key_id"),
            **state.get("log_fields", {}),
        }
        # What log.info("request", extra=fields) does, less the search of the call stack for
        # the caller's file and line (the JSON lines do not carry them).
        log.handle(
            log.makeRecord(log.name, _INFO, __file__, 0, "request", (), None, "_finish", fields)
        )
