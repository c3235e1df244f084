"""A scriptable fake OpenAI-compatible server on loopback, for tests and benchmarks.

Test code, not part of the product (nothing under coach/ imports it): tests import it as
``fake_openai_server`` (pytest puts tests/ on the path), bench/ scripts put tests/ on
``sys.path`` first.

It speaks just enough of the Chat Completions API (``POST /v1/chat/completions``,
streaming and not, and ``GET /v1/models``) for litellm's real HTTP path and
the official ``openai`` SDK. Each model name has a queue of scripted answers
(content, HTTP status, delay, headers, raw body); when a queue is empty the
server uses a responder function, so a test can play a model that misbehaves
in exactly one way. Every request is recorded for assertions.

    with FakeLLM() as llm:
        llm.script("junk", [Answer(status=429, headers={"Retry-After": "0"}), Answer('{"reply": "Hi"}')])
        ... COACH_MODEL="openai/junk", COACH_API_BASE=llm.base_url ...

Standard library only; nothing here reaches beyond 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Answer:
    """One scripted answer: a message content, or an error status, after ``delay`` seconds."""

    content: str = ""
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    raw_body: str | None = None  # sent as-is (for broken JSON bodies)

    @staticmethod
    def reply(text: str, techniques: Iterable[str] = (), notes: Iterable[str] = ()) -> Answer:
        """A well-formed coaching answer (the JSON the prompt asks for)."""
        body = {"reply": text, "techniques": list(techniques), "notes": list(notes)}
        return Answer(json.dumps(body, ensure_ascii=False))


@dataclass(frozen=True)
class Recorded:
    path: str
    model: str
    body: dict[str, Any]
    headers: dict[str, str]
    at: float

    @property
    def messages(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self.body.get("messages", [])
        return messages


Responder = Callable[[Recorded], Answer]


def _default_responder(request: Recorded) -> Answer:
    return Answer.reply("Thank you for your message. I am looking into it now.")


class FakeLLM:
    """The server; use as a context manager or call ``start()``/``stop()``."""

    def __init__(self, responder: Responder = _default_responder, latency: float = 0.0) -> None:
        self.responder = responder
        self.latency = latency
        self.requests: list[Recorded] = []
        self._queues: dict[str, deque[Answer]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- scripting --------------------------------------------------------
    def script(self, model: str, answers: Iterable[Answer]) -> None:
        with self._lock:
            self._queues[model].extend(answers)

    def requests_for(self, model: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.model == model]

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._queues.clear()

    def _next(self, request: Recorded) -> Answer:
        with self._lock:
            self.requests.append(request)
            queue = self._queues.get(request.model)
            if queue:
                return queue.popleft()
        return self.responder(request)

    # --- lifecycle --------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeLLM:
        handler = _make_handler(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _completion(model: str, content: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-fake-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }


def _chunks(model: str, content: str) -> Iterable[dict[str, Any]]:
    base = {"id": "chatcmpl-fake-stream", "object": "chat.completion.chunk", "model": model}
    yield {**base, "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]}
    words = content.split(" ")
    for i, word in enumerate(words):
        piece = word if i == len(words) - 1 else word + " "
        yield {
            **base,
            "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
        }
    yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}


def _make_handler(fake: FakeLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # One write per response and no Nagle: otherwise headers and body go out as
        # two segments and keep-alive clients stall on delayed ACKs (~40 ms).
        wbufsize = 1 << 16
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def _send(self, status: int, body: bytes, headers: dict[str, str], ctype: str) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test): nothing to answer

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                body = {"object": "list", "data": [{"id": "fake", "object": "model"}]}
                self._send(200, json.dumps(body).encode(), {}, "application/json")
            else:
                self._send(404, b'{"error": {"message": "not found"}}', {}, "application/json")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                self._send(400, b'{"error": {"message": "bad json"}}', {}, "application/json")
                return
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send(404, b'{"error": {"message": "not found"}}', {}, "application/json")
                return
            request = Recorded(
                path=self.path,
                model=str(body.get("model", "")),
                body=body,
                headers={k.lower(): v for k, v in self.headers.items()},
                at=time.monotonic(),
            )
            answer = fake._next(request)
            delay = fake.latency + answer.delay
            if delay:
                time.sleep(delay)
            if answer.status != 200:
                error = {
                    "error": {
                        "message": f"fake error {answer.status}",
                        "type": "fake",
                        "code": answer.status,
                    }
                }
                payload = answer.raw_body if answer.raw_body is not None else json.dumps(error)
                self._send(answer.status, payload.encode(), answer.headers, "application/json")
                return
            if answer.raw_body is not None:
                self._send(200, answer.raw_body.encode(), answer.headers, "application/json")
                return
            if body.get("stream"):
                events = b"".join(
                    b"data: " + json.dumps(c).encode() + b"\n\n"
                    for c in _chunks(request.model, answer.content)
                )
                self._send(200, events + b"data: [DONE]\n\n", answer.headers, "text/event-stream")
                return
            completion = json.dumps(_completion(request.model, answer.content)).encode()
            self._send(200, completion, answer.headers, "application/json")

    return Handler
